//! The host token and how the daemon keeps it from its agents.
//!
//! Agents run as the daemon's user, so everything that user can reach about
//! the daemon is reachable by every agent. The daemon therefore:
//! - never puts the token in an agent's environment ([`is_secret`], used by
//!   `session::env`);
//! - makes itself non-dumpable ([`harden`]), so processes of the same user
//!   can neither read its memory (`/proc/PID/mem`), its environment
//!   (`/proc/PID/environ`) nor attach a debugger;
//! - hands the token over to a fresh image of itself ([`handoff`]): the
//!   first process reads the token from `FLOTILLA_HOST_TOKEN` or
//!   `--token-file`, optionally drops root privileges (`--user`), and
//!   re-executes itself with the token on a pipe as its standard input and
//!   neither the variable nor the file's path in its environment or argv
//!   (`/proc/PID/cmdline` is readable by everyone). With `--user`, the token
//!   file can stay readable by root only, so no agent can read it either.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// The environment variable that carries the host token.
pub const TOKEN_ENV: &str = "FLOTILLA_HOST_TOKEN";

/// The variable through which the token handoff tells the re-executed
/// daemon where its token came from (a path, never the token), so it can
/// read a rotated token there.
pub const TOKEN_FILE_WATCH_ENV: &str = "DAEMON_TOKEN_FILE_WATCH";

/// The largest token accepted on standard input.
const MAX_TOKEN_BYTES: u64 = 4096;

/// A secret string: its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Variables that never reach an agent, whatever a profile or `--pass-env`
/// says: the host token, every `DAEMON_*` setting, the hub's admin password
/// and every `HUB_*` setting (a hub and a daemon started from one shell).
pub fn is_secret(key: &str) -> bool {
    key == TOKEN_ENV
        || key == "FLOTILLA_ADMIN_PASSWORD"
        || key.starts_with("DAEMON_")
        || key.starts_with("HUB_")
}

/// Why the token could not be handed over to a fresh image of the daemon.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    /// `--user` names no user of this machine.
    #[error("--user {0:?}: no such user")]
    NoSuchUser(String),
    /// Looking up the user, dropping privileges, making the pipe or
    /// executing failed.
    #[error("{what}: {source}")]
    Os {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl HandoffError {
    fn os(what: &'static str, source: impl Into<std::io::Error>) -> Self {
        HandoffError::Os {
            what,
            source: source.into(),
        }
    }
}

/// Where `run` was told to take its token from, and whom to run as: the
/// part of its arguments the handoff needs (`config` builds it, so this
/// module does not depend on `config`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenSource<'a> {
    /// `--token-stdin`: the token comes on standard input.
    pub token_stdin: bool,
    /// `--token-file`.
    pub token_file: Option<&'a std::path::Path>,
    /// `--user`.
    pub user: Option<&'a str>,
}

/// Whether `run`'s token still has to be handed over: it came from the
/// environment or a file (a token given on standard input already was).
pub fn needs_handoff(args: &TokenSource<'_>, env: &HashMap<String, String>) -> bool {
    !args.token_stdin && (args.token_file.is_some() || env.contains_key(TOKEN_ENV))
}

/// Reads the token the way `Config::validate` would, drops privileges to
/// `--user` when given, and re-executes this binary with the token on its
/// standard input (`--token-stdin`), without `TOKEN_ENV`, `--token-file` or
/// `--user`. Returns only when it did not re-execute: `Ok(())` when there
/// is no readable token (the caller goes on and validation reports it).
pub fn handoff(args: &TokenSource<'_>, env: &HashMap<String, String>) -> Result<(), HandoffError> {
    let token = match args.token_file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_owned(),
            Err(_) => return Ok(()),
        },
        None => env
            .get(TOKEN_ENV)
            .map(|token| token.trim().to_owned())
            .unwrap_or_default(),
    };
    if token.is_empty() {
        return Ok(());
    }
    let exe =
        std::env::current_exe().map_err(|error| HandoffError::os("finding this binary", error))?;
    let argv = handoff_argv(std::env::args_os().skip(1));
    let mut command = Command::new(exe);
    command
        .args(argv)
        .env_remove(TOKEN_ENV)
        .env_remove("DAEMON_TOKEN_FILE")
        .env_remove("DAEMON_USER");
    // Where the token came from (a path, not the token): read again when a
    // rotated token is refused.
    match args.token_file {
        Some(path) => command.env(TOKEN_FILE_WATCH_ENV, path),
        None => command.env_remove(TOKEN_FILE_WATCH_ENV),
    };
    if let Some(name) = args.user {
        let user = drop_privileges(name)?;
        command
            .env("HOME", &user.dir)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name);
    }
    let (reader, mut writer) =
        std::io::pipe().map_err(|error| HandoffError::os("making the token pipe", error))?;
    // The token is far smaller than a pipe's buffer, so this never blocks.
    writer
        .write_all(token.as_bytes())
        .map_err(|error| HandoffError::os("writing the token pipe", error))?;
    drop(writer);
    let error = command.stdin(reader).exec();
    Err(HandoffError::os("re-executing the daemon", error))
}

/// The arguments of the fresh image: the current ones without
/// `--token-file` and `--user` (either spelling), with `--token-stdin`.
pub fn handoff_argv(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        let text = arg.to_string_lossy();
        if text == "--token-file" || text == "--user" {
            skip_value = true;
            continue;
        }
        if text.starts_with("--token-file=") || text.starts_with("--user=") {
            continue;
        }
        out.push(arg);
    }
    out.push("--token-stdin".into());
    out
}

/// Reads the token from standard input (at most 4 KiB, trimmed).
pub fn read_stdin_token() -> std::io::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_TOKEN_BYTES)
        .read_to_string(&mut text)?;
    Ok(text.trim().to_owned())
}

/// Drops root privileges to `name` (supplementary groups, group, then
/// user): the process can no longer read what only root can, such as a
/// token file of mode 0600 owned by root. Returns the user.
pub fn drop_privileges(name: &str) -> Result<nix::unistd::User, HandoffError> {
    use nix::unistd::{User, setgid, setgroups, setuid};
    let user = User::from_name(name)
        .map_err(|error| HandoffError::os("looking up --user", error))?
        .ok_or_else(|| HandoffError::NoSuchUser(name.to_owned()))?;
    setgroups(&[user.gid]).map_err(|error| HandoffError::os("setting groups for --user", error))?;
    setgid(user.gid).map_err(|error| HandoffError::os("setting the group for --user", error))?;
    setuid(user.uid).map_err(|error| HandoffError::os("setting the user for --user", error))?;
    Ok(user)
}

/// Makes this process non-dumpable: other processes of the same user (the
/// agents) can no longer read its memory or environment through `/proc` or
/// attach to it with ptrace; only root can. Execed children (the agents
/// themselves) are dumpable again, as usual.
pub fn harden() -> nix::Result<()> {
    nix::sys::prctl::set_dumpable(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_fresh_image_gets_no_token_file_or_user_and_reads_stdin() {
        let argv = handoff_argv(strings(&[
            "run",
            "--hub-url",
            "http://hub",
            "--token-file",
            "/secret/path",
            "--user=agent",
            "--projects-root",
            "/src",
            "--token-file=/other",
            "--user",
            "bob",
        ]));
        assert_eq!(
            argv,
            strings(&[
                "run",
                "--hub-url",
                "http://hub",
                "--projects-root",
                "/src",
                "--token-stdin"
            ])
        );
    }

    #[test]
    fn secrets_are_the_token_daemon_and_hub_settings() {
        for key in [
            TOKEN_ENV,
            "DAEMON_TOKEN_FILE",
            "HUB_METRICS_TOKEN_FILE",
            "FLOTILLA_ADMIN_PASSWORD",
        ] {
            assert!(is_secret(key), "{key}");
        }
        for key in [
            "HOME",
            "GITHUB_TOKEN",
            "ANTHROPIC_API_KEY",
            "FLOTILLA_SESSION_ID",
        ] {
            assert!(!is_secret(key), "{key}");
        }
    }

    #[test]
    fn a_token_is_needed_to_hand_over_only_once() {
        let args = TokenSource::default();
        let with_token: HashMap<String, String> = [(TOKEN_ENV.to_owned(), "t".to_owned())].into();
        assert!(needs_handoff(&args, &with_token));
        assert!(!needs_handoff(&args, &HashMap::new()));
        let from_stdin = TokenSource {
            token_stdin: true,
            ..TokenSource::default()
        };
        assert!(!needs_handoff(&from_stdin, &with_token));
    }
}
