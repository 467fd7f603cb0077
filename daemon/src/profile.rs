//! Agent profiles: the YAML files in `profiles/` that say how to run an agent
//! CLI, how to read its telemetry and what its image needs. The core is pure
//! ([`parse`], [`validate::validate`], [`Profile::command`]); [`load_dir`]
//! and [`catalog::Catalog::reload`] are the thin file-loading edge.
//!
//! Sections live in submodules named after them; [`diagnostic`] maps every
//! problem to file, line, column and field path, and [`schema`] generates the
//! committed JSON Schema (`profiles/profile.schema.json`).

pub mod auth;
pub mod catalog;
pub mod check;
pub mod diagnostic;
pub mod mcp;
pub mod placeholder;
pub mod provisioning;
pub mod schema;
pub mod sidecar;
pub mod spawn_settings;
pub mod status;
pub mod telemetry;
#[cfg(test)]
mod tests;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flotilla_protocol::daemon_to_hub::ProfileInfo;
use schemars::JsonSchema;
use serde::Deserialize;
use thiserror::Error;

pub use self::diagnostic::Diagnostic;
use self::diagnostic::Positions;
use self::placeholder::{Placeholder, Values};

/// One agent profile as written in `profiles/<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Flotilla agent profile")]
pub struct Profile {
    /// The unique name; must equal the file name without `.yaml`.
    pub name: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// A CSS colour for the UI, e.g. `"#d97757"`.
    pub color: String,
    /// The executable whose presence on `PATH` makes the profile available.
    pub binary: String,
    /// Advertise the profile even when `binary` is not on `PATH`.
    #[serde(default)]
    pub always_available: bool,
    /// An argv that prints the agent's version, e.g. `["claude", "--version"]`.
    #[serde(default)]
    pub version_command: Option<Vec<String>>,
    /// The argv templates and how the initial prompt is passed.
    pub commands: ProfileCommands,
    /// Extra environment for the agent process. Values may contain
    /// `{otlp_endpoint}`, `{otlp_session_endpoint}`, `{session_id}` and
    /// `{agent_id}`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How to tell whether the agent can authenticate on this host.
    #[serde(default)]
    pub auth: auth::Auth,
    /// Where the agent keeps MCP server configuration.
    #[serde(default)]
    pub mcp: mcp::Mcp,
    /// How to read the agent's OTLP telemetry.
    #[serde(default)]
    pub telemetry: telemetry::Telemetry,
    /// Screen patterns for this profile's sessions.
    #[serde(default)]
    pub status: status::StatusPatterns,
    /// PROMPT_COMMAND-style telemetry, for shells.
    #[serde(default)]
    pub sidecar: Option<sidecar::Sidecar>,
    /// Keys merged into the agent's config files before it starts.
    #[serde(default)]
    pub spawn_settings: Vec<spawn_settings::SpawnSetting>,
    /// What the daemon's image and container need for this agent.
    #[serde(default)]
    pub provisioning: provisioning::Provisioning,
}

/// The argv templates of a profile. Arguments may contain the placeholders
/// `{prompt}`, `{session_id}`, `{project_dir}`, `{model}` and
/// `{otlp_session_endpoint}`; an argument whose placeholder has no value is
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileCommands {
    /// Starts a new session.
    pub new: Vec<String>,
    /// Resumes an earlier session, when the agent supports it.
    #[serde(default)]
    pub resume: Option<Vec<String>>,
    /// How an initial prompt reaches the agent.
    #[serde(default)]
    pub prompt: PromptConfig,
}

/// How an initial prompt reaches the agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptConfig {
    /// `argument` (the default) or `typed`.
    #[serde(default)]
    pub mode: PromptMode,
}

/// How an initial prompt reaches the agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PromptMode {
    /// Through the `{prompt}` placeholder of the command.
    #[default]
    Argument,
    /// Typed into the terminal after start, followed by Enter.
    Typed,
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
    /// The model, if any.
    pub model: Option<&'a str>,
    /// The session's own OTLP endpoint ([`session_endpoint`]), if any.
    pub otlp_session_endpoint: Option<&'a str>,
}

/// The OTLP endpoint of one session, `{otlp_session_endpoint}`: the
/// receiver's URL plus `/s/{session_id}`. Data sent there is attributed to
/// the session by its path, for agents that cannot set resource attributes.
pub fn session_endpoint(otlp_endpoint: &str, session_id: &str) -> String {
    format!("{}/s/{session_id}", otlp_endpoint.trim_end_matches('/'))
}

/// Values substituted into the profile's `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvPlaceholders<'a> {
    /// The daemon's OTLP receiver URL.
    pub otlp_endpoint: &'a str,
    /// The session id.
    pub session_id: &'a str,
    /// The agent id (the session id for now).
    pub agent_id: &'a str,
}

/// What the host offers a profile: its environment and home directory.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// The daemon's environment (for `PATH` and auth variables).
    pub env: BTreeMap<String, String>,
    /// The daemon user's home directory.
    pub home: Option<PathBuf>,
}

impl HostFacts {
    /// Facts from an environment: `HOME` names the home directory.
    pub fn from_env(env: impl IntoIterator<Item = (String, String)>) -> Self {
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let home = env
            .get("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from);
        HostFacts { env, home }
    }
}

/// Why a profile file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProfileError {
    /// The file is malformed or breaks a rule; at least one diagnostic.
    #[error("{}", display_all(.diagnostics))]
    Invalid {
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// The file name.
        file: String,
        /// The I/O error.
        message: String,
    },
}

impl ProfileError {
    /// One line per problem, each starting with `file:line:column` (or the
    /// file name for I/O errors).
    pub fn lines(&self) -> Vec<String> {
        match self {
            ProfileError::Invalid { diagnostics } => {
                diagnostics.iter().map(ToString::to_string).collect()
            }
            ProfileError::Io { .. } => vec![self.to_string()],
        }
    }
}

/// Profiles loaded from a directory, plus the files that failed.
#[derive(Debug, Default)]
pub struct LoadedProfiles {
    /// Valid profiles, sorted by name.
    pub profiles: Vec<Profile>,
    /// One error per broken file.
    pub errors: Vec<ProfileError>,
}

/// Parses and validates one profile. `file_name` is the file's name (e.g.
/// `claude.yaml`), used for the name check and in diagnostics. Returns every
/// problem found: a structural error (syntax, unknown field, wrong type)
/// stops deserialization, so it is reported alone; otherwise every broken
/// rule is.
pub fn parse(file_name: &str, text: &str) -> Result<Profile, Vec<Diagnostic>> {
    let mut path = String::new();
    let result = serde_saphyr::with_deserializer_from_str(text, |deserializer| {
        serde_path_to_error::deserialize::<_, Profile>(deserializer).map_err(|error| {
            path = error.path().to_string();
            error.into_inner()
        })
    });
    let profile = result.map_err(|error| vec![structural(file_name, &path, &error)])?;

    let mut diagnostics = validate::validate(&profile);
    let stem = file_name.strip_suffix(".yaml").unwrap_or(file_name);
    if profile.name != stem {
        diagnostics.insert(
            0,
            Diagnostic::at(
                file_name,
                "name",
                format!(
                    "is {:?} but must equal the file name without .yaml ({stem:?})",
                    profile.name
                ),
            ),
        );
    }
    if diagnostics.is_empty() {
        return Ok(profile);
    }
    for diagnostic in &mut diagnostics {
        diagnostic.file = file_name.to_owned();
    }
    Positions::index(text).locate(&mut diagnostics);
    // Stable: problems at one position keep their rule order.
    diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
    Err(diagnostics)
}

/// Reads and parses one file.
pub fn load_file(file: &Path) -> Result<Profile, ProfileError> {
    let file_name = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(file).map_err(|error| ProfileError::Io {
        file: file_name.clone(),
        message: error.to_string(),
    })?;
    parse(&file_name, &text).map_err(|diagnostics| ProfileError::Invalid { diagnostics })
}

/// The profile files of `dir`: every `*.yaml` regular file, sorted. Other
/// names (such as `TEMPLATE.yaml.example`) are not profiles.
pub fn profile_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml") && path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every `*.yaml` in `dir`. A broken file is reported in
/// [`LoadedProfiles::errors`] and the others still load.
pub fn load_dir(dir: &Path) -> std::io::Result<LoadedProfiles> {
    let mut loaded = LoadedProfiles::default();
    for file in profile_files(dir)? {
        match load_file(&file) {
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
    /// argument whose placeholder has no value is dropped; with
    /// [`PromptMode::Typed`] the prompt is never put on the command line.
    pub fn command(&self, placeholders: &Placeholders<'_>, resume: bool) -> Vec<String> {
        let template = match (&self.commands.resume, resume) {
            (Some(resume), true) => resume,
            _ => &self.commands.new,
        };
        let mut placeholders = placeholders.clone();
        if self.commands.prompt.mode == PromptMode::Typed {
            placeholders.prompt = None;
        }
        substitute(template, &placeholders)
    }

    /// The profile's `env` with placeholders substituted.
    pub fn env(&self, values: &EnvPlaceholders<'_>) -> BTreeMap<String, String> {
        let session_endpoint = session_endpoint(values.otlp_endpoint, values.session_id);
        let values = Values::new()
            .with(Placeholder::OtlpEndpoint, values.otlp_endpoint)
            .with(Placeholder::OtlpSessionEndpoint, &session_endpoint)
            .with(Placeholder::SessionId, values.session_id)
            .with(Placeholder::AgentId, values.agent_id);
        self.env
            .iter()
            .map(|(key, value)| {
                // Validation admits only placeholders that have a value here.
                let value =
                    placeholder::substitute(value, &values).unwrap_or_else(|_| value.clone());
                (key.clone(), value)
            })
            .collect()
    }

    /// The prompt to type after start, for [`PromptMode::Typed`] profiles.
    pub fn typed_prompt<'a>(&self, prompt: Option<&'a str>) -> Option<&'a str> {
        (self.commands.prompt.mode == PromptMode::Typed)
            .then_some(prompt)
            .flatten()
            .filter(|prompt| !prompt.is_empty())
    }

    /// What the hub is told about this profile on this host: auth problems
    /// and the MCP configurations found (`projects` are the discovered
    /// project directories).
    pub fn info(&self, facts: &HostFacts, projects: &[PathBuf]) -> ProfileInfo {
        let home = facts.home.as_deref();
        ProfileInfo {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            color: self.color.clone(),
            supports_resume: self.commands.resume.is_some(),
            problems: self.auth.problem(&facts.env, home).into_iter().collect(),
            mcp_configs: self.mcp.detect(home, projects),
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
    let mut values = Values::new();
    values.set(Placeholder::Prompt, placeholders.prompt);
    values.set(Placeholder::SessionId, placeholders.session_id);
    values.set(Placeholder::ProjectDir, placeholders.project_dir);
    values.set(Placeholder::Model, placeholders.model);
    values.set(
        Placeholder::OtlpSessionEndpoint,
        placeholders.otlp_session_endpoint,
    );
    template
        .iter()
        .filter_map(|arg| placeholder::substitute(arg, &values).ok())
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

/// The diagnostic for a deserialization error: its own position, the path
/// serde_path_to_error tracked, and the unknown key appended to the path.
fn structural(file_name: &str, path: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let location = error.location();
    let message = clean_message(&error.to_string());
    let mut path = if path.is_empty() || path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    if let Some(field) = unknown_field(&message)
        && !(path == field || path.ends_with(&format!(".{field}")))
    {
        path = diagnostic::join_key(&path, field);
    }
    Diagnostic {
        file: file_name.to_owned(),
        line: location.map_or(0, |location| location.line()),
        column: location.map_or(0, |location| location.column()),
        path: if path.is_empty() {
            "<root>".to_owned()
        } else {
            path
        },
        message,
    }
}

/// The key named by an "unknown field `x`" message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.split_once("unknown field `")?.1;
    Some(rest.split_once('`')?.0)
}

/// The first line of a serde-saphyr message without its `error: line N
/// column M: ` prefix (the diagnostic carries the position).
fn clean_message(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let line = match line.split_once(": ") {
        Some((position, rest))
            if position.starts_with("line ") && position.contains(" column ") =>
        {
            rest
        }
        _ => line,
    };
    line.to_owned()
}

fn display_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
