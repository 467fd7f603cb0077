//! Renders the daemon's Containerfile from the agent profiles.
//!
//! [`render`] is pure: it plans the image from the profiles' `provisioning`
//! sections (dedupes and sorts packages, refuses conflicting pins, shell-quotes
//! every value, base64-encodes seeded config files) and hands the result to
//! the minijinja template in `containerfiles/daemon.Containerfile.j2`, which
//! only loops and branches. [`write_or_print`] is the thin edge behind
//! `flotilla-daemon containerfile`.

#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use serde::Serialize;
use thiserror::Error;

use crate::profile::Profile;
use crate::profile::provisioning::Package;

/// The agent user's home directory in the daemon image; profile paths that
/// start with `~/` are resolved against it.
pub const AGENT_HOME: &str = "/home/flotilla";

/// The template the daemon Containerfile is rendered from, compiled in.
pub const DAEMON_TEMPLATE: &str = include_str!("../../containerfiles/daemon.Containerfile.j2");

/// The templates [`render`] uses. Tests and callers with their own templates
/// build it directly; [`Templates::builtin`] is the shipped one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    /// The minijinja source of the daemon Containerfile.
    pub daemon: String,
}

impl Templates {
    /// The template shipped in `containerfiles/daemon.Containerfile.j2`.
    pub fn builtin() -> Self {
        Templates {
            daemon: DAEMON_TEMPLATE.to_owned(),
        }
    }
}

/// Why the profiles cannot be turned into one image.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RenderError {
    /// Two profiles pin the same package to different versions.
    #[error(
        "{package} is pinned to {first_version:?} by profile `{first_profile}` \
         and to {second_version:?} by profile `{second_profile}`; one image can hold only one version"
    )]
    VersionConflict {
        /// The manager and name, e.g. ``npm package `tool` ``.
        package: String,
        /// The profile seen first.
        first_profile: String,
        /// Its version.
        first_version: String,
        /// The profile seen second.
        second_profile: String,
        /// Its version.
        second_version: String,
    },
    /// Two profiles seed the same file with different contents or modes.
    #[error(
        "config file {path:?} is seeded differently by profiles `{first_profile}` and `{second_profile}`"
    )]
    ConfigFileConflict {
        /// The resolved path in the image.
        path: String,
        /// The profile seen first.
        first_profile: String,
        /// The profile seen second.
        second_profile: String,
    },
    /// A value cannot be placed in a Containerfile as given.
    #[error("profile `{profile}`: at `{field}`: {message}")]
    InvalidValue {
        /// The profile.
        profile: String,
        /// The field path, e.g. `provisioning.npm[0].version`.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The template failed (syntax error or an undefined value).
    #[error("template: {0}")]
    Template(String),
}

/// Renders the daemon Containerfile for `profiles` (in any order; the output
/// depends only on their content).
pub fn render(profiles: &[Profile], templates: &Templates) -> Result<String, RenderError> {
    let plan = plan(profiles)?;
    render_template(&templates.daemon, &plan)
        .map_err(|error| RenderError::Template(format!("{error:#}")))
}

/// Renders a minijinja `template` with strict undefined values, no
/// auto-escaping and the trailing newline kept: the settings every generated
/// file of this crate uses.
pub(crate) fn render_template(
    template: &str,
    context: &impl Serialize,
) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_template("template", template)?;
    env.get_template("template")?
        .render(minijinja::value::Serde(context))
}

/// Loads the profiles in `profiles_dir`, renders the Containerfile and
/// writes it to `output`, or prints it when `output` is `None`. Any broken
/// profile is an error: an image must not silently lose an agent.
pub fn write_or_print(profiles_dir: &Path, output: Option<&Path>) -> anyhow::Result<()> {
    let loaded = crate::profile::load_dir(profiles_dir)
        .with_context(|| format!("reading profiles from {}", profiles_dir.display()))?;
    if !loaded.errors.is_empty() {
        let problems: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        anyhow::bail!("invalid profiles:\n{}", problems.join("\n"));
    }
    let text = render(&loaded.profiles, &Templates::builtin())?;
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(text.as_bytes())
                .context("writing to stdout")
        }
    }
}

/// The arguments of `flotilla-daemon containerfile`.
#[derive(Debug, Clone, clap::Args)]
pub struct ContainerfileArgs {
    /// The directory of profile YAML files.
    #[arg(long, default_value = "profiles")]
    pub profiles: std::path::PathBuf,
    /// Write the Containerfile here instead of printing it.
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
}

/// Runs `flotilla-daemon containerfile` and returns the exit status (64 when
/// the profiles cannot be rendered).
pub fn main(args: &ContainerfileArgs) -> u8 {
    match write_or_print(&args.profiles, args.output.as_deref()) {
        Ok(()) => crate::EXIT_OK,
        Err(error) => {
            eprintln!("flotilla-daemon: {error:#}");
            crate::EXIT_CONFIG
        }
    }
}

/// Quotes `value` for a POSIX shell: left as is when it contains only
/// characters no shell treats specially, otherwise single-quoted.
pub fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Resolves a container-side path: `~/x` becomes `/home/flotilla/x`.
pub fn container_path(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("{AGENT_HOME}/{rest}"),
        None if path == "~" => AGENT_HOME.to_owned(),
        None => path.to_owned(),
    }
}

/// Everything the template needs, computed from the profiles.
#[derive(Debug, Serialize)]
struct ImagePlan {
    profiles: Vec<String>,
    home: &'static str,
    needs_node: bool,
    needs_pip: bool,
    apt: Vec<String>,
    npm: Vec<String>,
    pip: Vec<String>,
    system_files: Vec<SeededFile>,
    home_files: Vec<SeededFile>,
    home_dirs: Vec<String>,
    verify: Vec<VerifyStep>,
}

/// A config file, ready for `printf %s BASE64 | base64 -d > PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct SeededFile {
    profile: String,
    path: String,
    dir: String,
    content_base64: String,
    mode: String,
}

#[derive(Debug, Serialize)]
struct VerifyStep {
    profile: String,
    command: String,
}

/// Seeded files keyed by their resolved path.
type SeededFiles = Vec<(String, SeededFile)>;

/// One package manager's pins: name → (version, first profile).
type Pins = BTreeMap<String, (String, String)>;

fn plan(profiles: &[Profile]) -> Result<ImagePlan, RenderError> {
    let mut sorted: Vec<&Profile> = profiles.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));

    let mut apt = Pins::new();
    let mut npm = Pins::new();
    let mut pip = Pins::new();
    let mut files: BTreeMap<String, SeededFile> = BTreeMap::new();
    let mut home_dirs = BTreeSet::new();
    let mut verify = Vec::new();
    for profile in &sorted {
        let provisioning = &profile.provisioning;
        pin(&mut apt, "apt", profile, &provisioning.apt)?;
        pin(&mut npm, "npm", profile, &provisioning.npm)?;
        pin(&mut pip, "pip", profile, &provisioning.pip)?;
        for (index, file) in provisioning.config_files.iter().enumerate() {
            let field = format!("provisioning.config_files[{index}]");
            let path = resolved_path(profile, &format!("{field}.path"), &file.path)?;
            let mode = file.mode.clone().unwrap_or_else(|| "0644".to_owned());
            if !(3..=4).contains(&mode.len()) || !mode.chars().all(|c| ('0'..='7').contains(&c)) {
                return Err(invalid(
                    profile,
                    &format!("{field}.mode"),
                    "expected an octal mode such as \"0600\"",
                ));
            }
            let dir = Path::new(&path)
                .parent()
                .map_or_else(|| "/".to_owned(), |dir| dir.display().to_string());
            let seeded = SeededFile {
                profile: profile.name.clone(),
                path: shell_quote(&path),
                dir: shell_quote(&dir),
                content_base64: base64::engine::general_purpose::STANDARD.encode(&file.content),
                mode,
            };
            if let Some(existing) = files.get(&path) {
                if (&existing.content_base64, &existing.mode)
                    != (&seeded.content_base64, &seeded.mode)
                {
                    return Err(RenderError::ConfigFileConflict {
                        path,
                        first_profile: existing.profile.clone(),
                        second_profile: profile.name.clone(),
                    });
                }
                continue;
            }
            files.insert(path, seeded);
        }
        for (index, mount) in provisioning.mounts.iter().enumerate() {
            let field = format!("provisioning.mounts[{index}].container");
            let path = resolved_path(profile, &field, &mount.container)?;
            if let Some(parent) = Path::new(&path).parent()
                && parent.starts_with(AGENT_HOME)
                && parent != Path::new(AGENT_HOME)
            {
                home_dirs.insert(shell_quote(&parent.display().to_string()));
            }
        }
        for (index, command) in provisioning.verify.iter().enumerate() {
            let field = format!("provisioning.verify[{index}]");
            if command.trim().is_empty()
                || command.chars().any(char::is_control)
                || command.trim_end().ends_with('\\')
            {
                return Err(invalid(
                    profile,
                    &field,
                    "expected a non-empty one-line shell command (no control characters, no trailing backslash)",
                ));
            }
            verify.push(VerifyStep {
                profile: profile.name.clone(),
                command: command.trim().to_owned(),
            });
        }
    }

    let home_prefix = format!("{AGENT_HOME}/");
    let (home_files, system_files): (SeededFiles, SeededFiles) = files
        .into_iter()
        .partition(|(path, _)| path.starts_with(&home_prefix));
    let quoted = |pins: &Pins, separator: &str| -> Vec<String> {
        pins.iter()
            .map(|(name, (version, _))| shell_quote(&format!("{name}{separator}{version}")))
            .collect()
    };
    Ok(ImagePlan {
        profiles: sorted.iter().map(|profile| profile.name.clone()).collect(),
        home: AGENT_HOME,
        needs_node: !npm.is_empty(),
        needs_pip: !pip.is_empty(),
        apt: quoted(&apt, "="),
        npm: quoted(&npm, "@"),
        pip: quoted(&pip, "=="),
        system_files: system_files.into_iter().map(|(_, file)| file).collect(),
        home_files: home_files.into_iter().map(|(_, file)| file).collect(),
        home_dirs: home_dirs.into_iter().collect(),
        verify,
    })
}

fn pin(
    pins: &mut Pins,
    manager: &'static str,
    profile: &Profile,
    packages: &[Package],
) -> Result<(), RenderError> {
    for (index, package) in packages.iter().enumerate() {
        for (field, value) in [("name", &package.name), ("version", &package.version)] {
            if value.is_empty() || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(invalid(
                    profile,
                    &format!("provisioning.{manager}[{index}].{field}"),
                    "expected a non-empty value without spaces or control characters",
                ));
            }
        }
        match pins.get(&package.name) {
            Some((version, first)) if *version != package.version => {
                return Err(RenderError::VersionConflict {
                    package: format!("{manager} package `{}`", package.name),
                    first_profile: first.clone(),
                    first_version: version.clone(),
                    second_profile: profile.name.clone(),
                    second_version: package.version.clone(),
                });
            }
            Some(_) => {}
            None => {
                pins.insert(
                    package.name.clone(),
                    (package.version.clone(), profile.name.clone()),
                );
            }
        }
    }
    Ok(())
}

/// Resolves `~/` and checks that the path is absolute, one line and free of
/// `..`, so it can be quoted into a RUN line and stays where it says.
fn resolved_path(profile: &Profile, field: &str, path: &str) -> Result<String, RenderError> {
    let resolved = container_path(path);
    let ok = resolved.starts_with('/')
        && !resolved.chars().any(char::is_control)
        && !Path::new(&resolved)
            .components()
            .any(|part| part == std::path::Component::ParentDir);
    if ok {
        Ok(resolved)
    } else {
        Err(invalid(
            profile,
            field,
            "expected an absolute path or one starting with `~/`, without `..`",
        ))
    }
}

fn invalid(profile: &Profile, field: &str, message: &str) -> RenderError {
    RenderError::InvalidValue {
        profile: profile.name.clone(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}
