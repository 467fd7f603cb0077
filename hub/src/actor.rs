//! Who acts: every use case takes an [`Actor`], so authorisation and
//! auditing have one place to go (the use case), whatever transport (REST,
//! `/ui`, `/daemon`) the request came through.

use flotilla_protocol::{ErrorCode, HostId, SessionId};

use crate::auth::CurrentUser;
use crate::error::ApiError;

/// The principal behind a request.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A logged-in user (a browser, or a REST client with a login cookie).
    User(CurrentUser),
    /// A daemon, acting for the host its token names and nothing else.
    Daemon(HostId),
}

impl Actor {
    /// The user, or 403 for a daemon: user operations (spawn, stop, hosts)
    /// are never a daemon's to ask for.
    pub fn user(&self) -> Result<&CurrentUser, ApiError> {
        match self {
            Actor::User(user) => Ok(user),
            Actor::Daemon(host) => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("daemon of host {host} may not do this"),
            )),
        }
    }

    /// The daemon's host, or 403 for a user: only a daemon reports what its
    /// sessions do.
    pub fn daemon(&self) -> Result<HostId, ApiError> {
        match self {
            Actor::Daemon(host) => Ok(*host),
            Actor::User(user) => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("user {} may not report for a daemon", user.username),
            )),
        }
    }

    /// Whether this actor may report for `session`, recorded on `owner`:
    /// a daemon only for its own host's sessions (a mismatch is logged).
    pub fn reports_for(&self, session: SessionId, owner: HostId) -> bool {
        match self {
            Actor::Daemon(host) if *host == owner => true,
            Actor::Daemon(host) => {
                tracing::warn!(session_id = %session, host_id = %host, "daemon reported another host's session; ignored");
                false
            }
            Actor::User(_) => false,
        }
    }
}

impl std::fmt::Display for Actor {
    /// The name the log and (later) the audit record show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(user) => write!(f, "user:{}", user.username),
            Actor::Daemon(host) => write!(f, "daemon:{host}"),
        }
    }
}
