//! The environment of an agent process, built from an allow-list: a small
//! base set of the daemon's own variables (where the user is, their locale,
//! proxies and CA bundles), the variables the profile or the operator names
//! for passing through (API keys), the profile's own variables and the
//! session's identity. Everything else the daemon inherited (a hub's admin
//! password in a shared shell, cloud credentials, the host token) stays with
//! the daemon.

use std::collections::{BTreeMap, BTreeSet};

use flotilla_protocol::SessionId;

use crate::secret::is_secret;

/// What an agent's terminal supports, told through `TERM`.
pub const AGENT_TERM: &str = "xterm-256color";

/// Variables of the daemon's environment every agent gets when they are set:
/// who and where the user is, the locale and time zone, temp and XDG
/// directories, the SSH agent socket (for git over SSH), proxies and extra CA
/// bundles (agents behind a TLS-intercepting proxy need them), and the
/// user's editor and pager. `LC_*` variables pass too.
pub const BASE_VARIABLES: &[&str] = &[
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TERMINFO",
    "TERMINFO_DIRS",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
    "SSH_AUTH_SOCK",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "EDITOR",
    "VISUAL",
    "PAGER",
];

/// Whether a variable of the daemon's environment is in the base set.
pub fn is_base(key: &str) -> bool {
    BASE_VARIABLES.contains(&key) || key.starts_with("LC_")
}

/// Builds a child's environment. From the daemon's own environment (`base`)
/// only the base set and the `passthrough` names are taken; then the
/// profile's `extra` variables, then the session's identity and terminal.
/// Later sources win; secrets are dropped from every source.
pub fn child_env(
    base: impl IntoIterator<Item = (String, String)>,
    passthrough: &BTreeSet<String>,
    extra: &BTreeMap<String, String>,
    session_id: SessionId,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = base
        .into_iter()
        .filter(|(key, _)| (is_base(key) || passthrough.contains(key)) && !is_secret(key))
        .collect();
    env.extend(
        extra
            .iter()
            .filter(|(key, _)| !is_secret(key))
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    env.insert("FLOTILLA_SESSION_ID".to_owned(), session_id.to_string());
    env.insert("TERM".to_owned(), AGENT_TERM.to_owned());
    // Agents (Gemini CLI among them) only use 24-bit colour when told; the
    // browser terminal renders it.
    env.insert("COLORTERM".to_owned(), "truecolor".to_owned());
    env
}
