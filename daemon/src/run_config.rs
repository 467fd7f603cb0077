//! Renders how to run the daemon's container on a host: a `podman run`
//! command, a systemd quadlet `.container` unit, or a compose service.
//!
//! [`render`] is pure. It emits exactly the mounts and passthrough
//! environment that the profiles declare, the projects root mounted at the
//! same path, and the host token as a read-only file (a bind-mounted file, or
//! a podman secret when no file is given), never as a value.
//!
//! Paths starting with `~/` on the host side stay symbolic in the output
//! (`"$HOME"` for podman, `%h` for quadlet, `${HOME}` for compose) so the
//! result works for whoever runs it. An `optional` mount whose host path
//! does not exist on the machine that generates the configuration is written
//! as a comment (the caller passes which optional host paths exist).
//! [`print`] is the thin edge behind `flotilla-daemon run-config`.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::containerfile::{container_path, shell_quote};
use crate::profile::Profile;
use crate::profile::provisioning::MountMode;

/// Where the token file appears inside the container.
pub const CONTAINER_TOKEN_PATH: &str = "/run/secrets/flotilla-host-token";

/// The podman secret used when no token file is given.
pub const TOKEN_SECRET: &str = "flotilla-host-token";

/// The image used when none is given (built locally from the Containerfile).
pub const DEFAULT_IMAGE: &str = "localhost/flotilla-daemon:latest";

/// The projects root used when none is given.
pub const DEFAULT_PROJECTS_ROOT: &str = "~/src";

/// The container's name in every format.
pub const CONTAINER_NAME: &str = "flotilla-daemon";

/// Which kind of run configuration to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A `podman run` shell command.
    Podman,
    /// A systemd quadlet `.container` unit.
    Quadlet,
    /// A compose file with one service.
    Compose,
}

/// What the run configuration is built from (besides the profiles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfigInput {
    /// The hub's base URL as the container sees it.
    pub hub_url: String,
    /// Host path of the token file; `None` uses the podman secret [`TOKEN_SECRET`].
    pub token_file: Option<String>,
    /// Host path of the projects root, mounted at the same path. `~/` allowed.
    pub projects_root: String,
    /// The daemon image.
    pub image: String,
    /// The container network (e.g. `host`); the runtime's default when `None`.
    pub network: Option<String>,
    /// Optional host paths (as written in the profiles) that exist; other
    /// optional mounts are written as comments.
    pub present_optional: BTreeSet<String>,
}

/// One mount after merging all profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlannedMount {
    host: String,
    container: String,
    writable: bool,
    /// Optional and absent on the generating machine.
    commented: bool,
    profiles: Vec<String>,
}

/// The arguments of `flotilla-daemon run-config`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunConfigArgs {
    /// What to print.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The directory of profile YAML files.
    #[arg(long, default_value = "profiles")]
    pub profiles: std::path::PathBuf,
    /// The hub's base URL as the container sees it.
    #[arg(long)]
    pub hub_url: String,
    /// Host file holding the host token, bind-mounted read-only; without it
    /// the podman secret `flotilla-host-token` is used.
    #[arg(long)]
    pub token_file: Option<String>,
    /// Host directory of the projects, mounted at the same path (`~/` allowed).
    #[arg(long, default_value = DEFAULT_PROJECTS_ROOT)]
    pub projects_root: String,
    /// The daemon image.
    #[arg(long, default_value = DEFAULT_IMAGE)]
    pub image: String,
    /// The container network, e.g. `host`.
    #[arg(long)]
    pub network: Option<String>,
}

/// Runs `flotilla-daemon run-config` and returns the exit status.
pub fn main(args: RunConfigArgs) -> u8 {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let input = RunConfigInput {
        hub_url: args.hub_url,
        token_file: args.token_file,
        projects_root: args.projects_root,
        image: args.image,
        network: args.network,
        present_optional: BTreeSet::new(),
    };
    match print(args.format, &args.profiles, home.as_deref(), input) {
        Ok(()) => crate::EXIT_OK,
        Err(error) => {
            eprintln!("flotilla-daemon: {error:#}");
            crate::EXIT_CONFIG
        }
    }
}

/// Renders the run configuration in `format`.
pub fn render(format: Format, profiles: &[Profile], input: &RunConfigInput) -> String {
    let (mounts, env) = plan(profiles, input);
    match format {
        Format::Podman => podman(&mounts, &env, input),
        Format::Quadlet => quadlet(&mounts, &env, input),
        Format::Compose => compose(&mounts, &env, input),
    }
}

/// Loads the profiles in `profiles_dir`, checks which optional host paths
/// exist (resolving `~/` against `home`) and prints the configuration.
pub fn print(
    format: Format,
    profiles_dir: &Path,
    home: Option<&Path>,
    mut input: RunConfigInput,
) -> anyhow::Result<()> {
    let loaded = crate::profile::load_dir(profiles_dir)
        .with_context(|| format!("reading profiles from {}", profiles_dir.display()))?;
    if !loaded.errors.is_empty() {
        let problems: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        anyhow::bail!("invalid profiles:\n{}", problems.join("\n"));
    }
    for mount in loaded
        .profiles
        .iter()
        .flat_map(|profile| &profile.provisioning.mounts)
    {
        if !mount.optional {
            continue;
        }
        let host = match (mount.host.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => home.join(rest),
            (Some(_), None) => continue,
            (None, _) => Path::new(&mount.host).to_path_buf(),
        };
        if host.exists() {
            input.present_optional.insert(mount.host.clone());
        }
    }
    let text = render(format, &loaded.profiles, &input);
    use std::io::Write as _;
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}

/// The template of the repository's `compose.yml`, compiled in.
pub const COMPOSE_TEMPLATE: &str = include_str!("../../containerfiles/compose.yml.j2");

/// One profile mount in `compose.yml`.
#[derive(Debug, serde::Serialize)]
struct ComposeMount {
    volume: String,
    optional: bool,
    profiles: Vec<String>,
}

/// Everything `containerfiles/compose.yml.j2` needs.
#[derive(Debug, serde::Serialize)]
struct ComposeFile {
    profiles: Vec<String>,
    mounts: Vec<ComposeMount>,
    env: Vec<String>,
}

/// Renders the repository's `compose.yml` (hub, host-token bootstrap and a
/// daemon for this machine) from `template` and the profiles. Optional
/// mounts are always written as comments: the file is shared by every
/// machine, and a missing bind-mount source stops the container.
pub fn render_compose_file(
    profiles: &[Profile],
    template: &str,
) -> Result<String, crate::containerfile::RenderError> {
    use crate::containerfile::RenderError;
    let input = RunConfigInput {
        hub_url: String::new(),
        token_file: None,
        projects_root: String::new(),
        image: String::new(),
        network: None,
        present_optional: BTreeSet::new(),
    };
    let (mounts, env) = plan(profiles, &input);
    let mut names: Vec<String> = profiles
        .iter()
        .map(|profile| profile.name.clone())
        .collect();
    names.sort();
    let context = ComposeFile {
        profiles: names,
        mounts: mounts
            .into_iter()
            .map(|mount| ComposeMount {
                volume: compose_string(&format!(
                    "{}:{}:{}",
                    compose_host(&mount.host),
                    mount.container.replace('$', "$$"),
                    mount_suffix(mount.writable)
                )),
                optional: mount.commented,
                profiles: mount.profiles,
            })
            .collect(),
        env: env.iter().map(|name| compose_string(name)).collect(),
    };
    crate::containerfile::render_template(template, &context)
        .map_err(|error| RenderError::Template(format!("{error:#}")))
}

/// Merges the profiles' mounts (by container path; read-write wins, required
/// wins over optional) and passthrough env (deduped, sorted).
fn plan(profiles: &[Profile], input: &RunConfigInput) -> (Vec<PlannedMount>, Vec<String>) {
    let mut sorted: Vec<&Profile> = profiles.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut mounts: BTreeMap<String, PlannedMount> = BTreeMap::new();
    let mut env = BTreeSet::new();
    for profile in sorted {
        for mount in &profile.provisioning.mounts {
            let container = container_path(&mount.container);
            let commented = mount.optional && !input.present_optional.contains(&mount.host);
            let planned = mounts
                .entry(container.clone())
                .or_insert_with(|| PlannedMount {
                    host: mount.host.clone(),
                    container,
                    writable: false,
                    commented,
                    profiles: Vec::new(),
                });
            planned.writable |= mount.mode == MountMode::Rw;
            planned.commented &= commented;
            planned.profiles.push(profile.name.clone());
        }
        env.extend(profile.provisioning.passthrough_env.iter().cloned());
    }
    (mounts.into_values().collect(), env.into_iter().collect())
}

fn mount_suffix(writable: bool) -> &'static str {
    if writable { "rw" } else { "ro" }
}

/// A host path for a shell: `~/x` becomes `"$HOME"/'x'`.
fn shell_host(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", shell_quote(rest)),
        None => shell_quote(path),
    }
}

fn podman(mounts: &[PlannedMount], env: &[String], input: &RunConfigInput) -> String {
    let mut out = String::from("# Generated by `flotilla-daemon run-config --format podman`.\n");
    let mut args: Vec<String> = vec![
        "podman run -d".to_owned(),
        format!("--name {CONTAINER_NAME}"),
        "--restart on-failure".to_owned(),
    ];
    if let Some(network) = &input.network {
        args.push(format!("--network {}", shell_quote(network)));
    }
    let root = shell_host(&input.projects_root);
    args.push(format!("-v {root}:{root}:rw"));
    match &input.token_file {
        Some(file) => args.push(format!(
            "-v {}:{}",
            shell_host(file),
            shell_quote(&format!("{CONTAINER_TOKEN_PATH}:ro"))
        )),
        None => args.push(format!(
            "--secret {TOKEN_SECRET},type=mount,target={CONTAINER_TOKEN_PATH}"
        )),
    }
    for mount in mounts {
        let spec = format!(
            "{}:{}",
            shell_host(&mount.host),
            shell_quote(&format!(
                "{}:{}",
                mount.container,
                mount_suffix(mount.writable)
            ))
        );
        if mount.commented {
            let _ = writeln!(
                out,
                "# optional mount skipped, host path absent when generated ({}): -v {spec}",
                mount.profiles.join(", ")
            );
        } else {
            args.push(format!("-v {spec}"));
        }
    }
    for name in env {
        args.push(format!("-e {}", shell_quote(name)));
    }
    args.push(shell_quote(&input.image));
    args.push(format!("--hub-url {}", shell_quote(&input.hub_url)));
    args.push(format!("--token-file {CONTAINER_TOKEN_PATH}"));
    args.push(format!("--projects-root {root}"));
    out.push_str(&args.join(" \\\n  "));
    out.push('\n');
    out
}

/// A host path for a quadlet unit: `~/x` becomes `%h/x`, `%` is escaped.
fn quadlet_host(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("%h/{}", rest.replace('%', "%%")),
        None => path.replace('%', "%%"),
    }
}

/// Quotes a quadlet/systemd word when it contains spaces or quotes.
fn quadlet_word(word: &str) -> String {
    if word.is_empty()
        || word
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        word.to_owned()
    }
}

fn quadlet(mounts: &[PlannedMount], env: &[String], input: &RunConfigInput) -> String {
    let mut out = String::from(
        "# Generated by `flotilla-daemon run-config --format quadlet`.\n\
         # Save as ~/.config/containers/systemd/flotilla-daemon.container (or\n\
         # /etc/containers/systemd/), then `systemctl --user daemon-reload` and\n\
         # `systemctl --user start flotilla-daemon`. Passed-through variables are\n\
         # read from ~/.config/flotilla/agent.env (NAME=value lines).\n\
         [Unit]\n\
         Description=Flotilla daemon\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Container]\n",
    );
    let _ = writeln!(out, "ContainerName={CONTAINER_NAME}");
    let _ = writeln!(out, "Image={}", input.image);
    if let Some(network) = &input.network {
        let _ = writeln!(out, "Network={network}");
    }
    let root = quadlet_host(&input.projects_root);
    let _ = writeln!(out, "Volume={}", quadlet_word(&format!("{root}:{root}:rw")));
    match &input.token_file {
        Some(file) => {
            let _ = writeln!(
                out,
                "Volume={}",
                quadlet_word(&format!("{}:{CONTAINER_TOKEN_PATH}:ro", quadlet_host(file)))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Secret={TOKEN_SECRET},type=mount,target={CONTAINER_TOKEN_PATH}"
            );
        }
    }
    for mount in mounts {
        let volume = quadlet_word(&format!(
            "{}:{}:{}",
            quadlet_host(&mount.host),
            mount.container,
            mount_suffix(mount.writable)
        ));
        if mount.commented {
            let _ = writeln!(
                out,
                "# optional mount skipped, host path absent when generated ({}):\n#Volume={volume}",
                mount.profiles.join(", ")
            );
        } else {
            let _ = writeln!(out, "Volume={volume}");
        }
    }
    for name in env {
        let _ = writeln!(out, "PodmanArgs=--env={name}");
    }
    let exec = [
        "--hub-url".to_owned(),
        input.hub_url.replace('%', "%%"),
        "--token-file".to_owned(),
        CONTAINER_TOKEN_PATH.to_owned(),
        "--projects-root".to_owned(),
        root,
    ];
    let exec: Vec<String> = exec.iter().map(|word| quadlet_word(word)).collect();
    let _ = writeln!(out, "Exec={}", exec.join(" "));
    out.push_str(
        "\n[Service]\n\
         EnvironmentFile=-%h/.config/flotilla/agent.env\n\
         Restart=on-failure\n\
         # 64: bad configuration, 76: protocol version mismatch, 77: token refused.\n\
         RestartPreventExitStatus=64 76 77\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
    );
    out
}

/// A compose string: JSON-quoted (valid YAML), `$` escaped except for the
/// `${HOME}` this module inserts.
fn compose_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

fn compose_host(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("${{HOME}}/{}", rest.replace('$', "$$")),
        None => path.replace('$', "$$"),
    }
}

fn compose(mounts: &[PlannedMount], env: &[String], input: &RunConfigInput) -> String {
    let mut out = String::from(
        "# Generated by `flotilla-daemon run-config --format compose`.\n\
         # Passed-through variables come from the environment of `podman-compose up`.\n\
         services:\n",
    );
    let _ = writeln!(out, "  {CONTAINER_NAME}:");
    let _ = writeln!(
        out,
        "    image: {}",
        compose_string(&input.image.replace('$', "$$"))
    );
    let _ = writeln!(out, "    container_name: {CONTAINER_NAME}");
    out.push_str("    restart: on-failure\n");
    if let Some(network) = &input.network {
        let _ = writeln!(out, "    network_mode: {}", compose_string(network));
    }
    let root = compose_host(&input.projects_root);
    out.push_str("    command:\n");
    for word in [
        "--hub-url".to_owned(),
        input.hub_url.replace('$', "$$"),
        "--token-file".to_owned(),
        CONTAINER_TOKEN_PATH.to_owned(),
        "--projects-root".to_owned(),
        root.clone(),
    ] {
        let _ = writeln!(out, "      - {}", compose_string(&word));
    }
    out.push_str("    volumes:\n");
    let _ = writeln!(
        out,
        "      - {}",
        compose_string(&format!("{root}:{root}:rw"))
    );
    if let Some(file) = &input.token_file {
        let _ = writeln!(
            out,
            "      - {}",
            compose_string(&format!("{}:{CONTAINER_TOKEN_PATH}:ro", compose_host(file)))
        );
    }
    for mount in mounts {
        let volume = compose_string(&format!(
            "{}:{}:{}",
            compose_host(&mount.host),
            mount.container.replace('$', "$$"),
            mount_suffix(mount.writable)
        ));
        if mount.commented {
            let _ = writeln!(
                out,
                "      # optional mount skipped, host path absent when generated ({}):\n      # - {volume}",
                mount.profiles.join(", ")
            );
        } else {
            let _ = writeln!(out, "      - {volume}");
        }
    }
    if !env.is_empty() {
        out.push_str("    environment:\n");
        for name in env {
            let _ = writeln!(out, "      - {}", compose_string(name));
        }
    }
    if input.token_file.is_none() {
        let _ = writeln!(out, "    secrets:\n      - {TOKEN_SECRET}");
        let _ = writeln!(out, "secrets:\n  {TOKEN_SECRET}:\n    external: true");
    }
    out
}
