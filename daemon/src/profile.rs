//! Agent profiles: the YAML files in `profiles/` that say how to run an agent
//! CLI. The core is pure ([`parse`], [`Profile::command`]); [`load_dir`] is
//! the thin file-loading edge.

pub mod provisioning;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flotilla_protocol::daemon_to_hub::ProfileInfo;
use serde::Deserialize;
use thiserror::Error;

/// One agent profile as written in `profiles/<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The unique name; must equal the file stem.
    pub name: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// A CSS colour for the UI.
    pub color: String,
    /// The executable whose presence on `PATH` makes the profile available.
    pub binary: String,
    /// Advertise the profile even when `binary` is not on `PATH`.
    #[serde(default)]
    pub always_available: bool,
    /// The argv templates.
    pub commands: ProfileCommands,
    /// Extra environment for the agent process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// What the daemon's image and container need for this agent.
    #[serde(default)]
    pub provisioning: provisioning::Provisioning,
}

/// The argv templates of a profile. Arguments may contain the placeholders
/// `{prompt}`, `{session_id}` and `{project_dir}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileCommands {
    /// Starts a new session.
    pub new: Vec<String>,
    /// Resumes an earlier session, when the agent supports it.
    #[serde(default)]
    pub resume: Option<Vec<String>>,
}

/// Values substituted into a command template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders<'a> {
    /// The initial prompt, if any.
    pub prompt: Option<&'a str>,
    /// The session id, if any.
    pub session_id: Option<&'a str>,
    /// The project directory, if any.
    pub project_dir: Option<&'a str>,
}

/// Why a profile file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProfileError {
    /// The YAML is malformed or does not match the schema.
    #[error("{file}:{line}:{column}: at `{path}`: {message}")]
    Invalid {
        /// The file name.
        file: String,
        /// 1-based line, 0 when unknown.
        line: u64,
        /// 1-based column, 0 when unknown.
        column: u64,
        /// The field path, e.g. `commands.new`.
        path: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The `name` field does not match the file stem.
    #[error("{file}: `name` is {name:?} but must equal the file name stem {stem:?}")]
    NameMismatch {
        /// The file name.
        file: String,
        /// The name in the file.
        name: String,
        /// The file stem.
        stem: String,
    },
    /// A semantic rule was broken.
    #[error("{file}: at `{path}`: {message}")]
    Rule {
        /// The file name.
        file: String,
        /// The field path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// The file path.
        file: String,
        /// The I/O error.
        message: String,
    },
}

/// Profiles loaded from a directory, plus the files that failed.
#[derive(Debug, Default)]
pub struct LoadedProfiles {
    /// Valid profiles, sorted by name.
    pub profiles: Vec<Profile>,
    /// One error per broken file.
    pub errors: Vec<ProfileError>,
}

/// Parses one profile. `file_name` is the file's name (e.g. `claude.yaml`),
/// used for the name check and in errors.
pub fn parse(file_name: &str, text: &str) -> Result<Profile, ProfileError> {
    let mut path = String::new();
    let result = serde_saphyr::with_deserializer_from_str(text, |deserializer| {
        serde_path_to_error::deserialize::<_, Profile>(deserializer).map_err(|error| {
            path = error.path().to_string();
            error.into_inner()
        })
    });
    let profile = result.map_err(|error| {
        let location = error.location();
        ProfileError::Invalid {
            file: file_name.to_owned(),
            line: location.map_or(0, |location| location.line()),
            column: location.map_or(0, |location| location.column()),
            path: if path.is_empty() || path == "." {
                "<root>".to_owned()
            } else {
                path
            },
            message: first_line(&error.to_string()),
        }
    })?;

    let stem = file_name.strip_suffix(".yaml").unwrap_or(file_name);
    if profile.name != stem {
        return Err(ProfileError::NameMismatch {
            file: file_name.to_owned(),
            name: profile.name,
            stem: stem.to_owned(),
        });
    }
    let rule = |path: &str, message: &str| ProfileError::Rule {
        file: file_name.to_owned(),
        path: path.to_owned(),
        message: message.to_owned(),
    };
    if profile
        .commands
        .new
        .first()
        .is_none_or(|program| program.is_empty())
    {
        return Err(rule(
            "commands.new",
            "expected a non-empty argv list whose first item is the program",
        ));
    }
    if let Some(resume) = &profile.commands.resume
        && resume.first().is_none_or(|program| program.is_empty())
    {
        return Err(rule(
            "commands.resume",
            "expected a non-empty argv list whose first item is the program",
        ));
    }
    if profile.binary.is_empty() || profile.binary.contains('/') {
        return Err(rule(
            "binary",
            "expected a program name looked up on PATH (no slashes)",
        ));
    }
    Ok(profile)
}

/// Loads every `*.yaml` in `dir`. A broken file is reported in
/// [`LoadedProfiles::errors`] and the others still load.
pub fn load_dir(dir: &Path) -> std::io::Result<LoadedProfiles> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml") && path.is_file())
        .collect();
    files.sort();
    let mut loaded = LoadedProfiles::default();
    for file in files {
        let file_name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = std::fs::read_to_string(&file)
            .map_err(|error| ProfileError::Io {
                file: file.display().to_string(),
                message: error.to_string(),
            })
            .and_then(|text| parse(&file_name, &text));
        match result {
            Ok(profile) => loaded.profiles.push(profile),
            Err(error) => loaded.errors.push(error),
        }
    }
    loaded.profiles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(loaded)
}

impl Profile {
    /// The argv for a new session (or a resume when `resume` is set and the
    /// profile has a resume command), with placeholders substituted. An
    /// argument whose placeholder has no value is dropped.
    pub fn command(&self, placeholders: &Placeholders<'_>, resume: bool) -> Vec<String> {
        let template = match (&self.commands.resume, resume) {
            (Some(resume), true) => resume,
            _ => &self.commands.new,
        };
        substitute(template, placeholders)
    }

    /// What the hub is told about this profile.
    pub fn info(&self) -> ProfileInfo {
        ProfileInfo {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            color: self.color.clone(),
            supports_resume: self.commands.resume.is_some(),
        }
    }

    /// Whether to advertise the profile, given the `PATH` value to search.
    pub fn is_available(&self, path_var: Option<&str>) -> bool {
        self.always_available || find_on_path(&self.binary, path_var).is_some()
    }
}

/// Substitutes placeholders in an argv template, dropping arguments whose
/// placeholder has no value.
pub fn substitute(template: &[String], placeholders: &Placeholders<'_>) -> Vec<String> {
    let pairs = [
        ("{prompt}", placeholders.prompt),
        ("{session_id}", placeholders.session_id),
        ("{project_dir}", placeholders.project_dir),
    ];
    template
        .iter()
        .filter_map(|arg| {
            let mut out = arg.clone();
            for (key, value) in pairs {
                if out.contains(key) {
                    out = out.replace(key, value?);
                }
            }
            Some(out)
        })
        .collect()
}

/// Finds an executable named `program` in the directories of `path_var`.
pub fn find_on_path(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}
