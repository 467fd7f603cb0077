//! The environment of an agent process: the daemon's own minus its secrets,
//! plus the profile's variables and the session's identity.

use std::collections::BTreeMap;

use flotilla_protocol::SessionId;

use crate::config::TOKEN_ENV;

/// Variables of the daemon's environment that must never reach an agent:
/// the host token and every `DAEMON_*` setting.
pub fn is_secret(key: &str) -> bool {
    key == TOKEN_ENV || key.starts_with("DAEMON_")
}

/// Builds a child's environment from the daemon's (`base`), the profile's
/// `extra` variables and the session id. Later sources win.
pub fn child_env(
    base: impl IntoIterator<Item = (String, String)>,
    extra: &BTreeMap<String, String>,
    session_id: SessionId,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = base
        .into_iter()
        .filter(|(key, _)| !is_secret(key))
        .collect();
    env.extend(
        extra
            .iter()
            .filter(|(key, _)| !is_secret(key))
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    env.insert("FLOTILLA_SESSION_ID".to_owned(), session_id.to_string());
    env.insert("TERM".to_owned(), "xterm-256color".to_owned());
    env
}
