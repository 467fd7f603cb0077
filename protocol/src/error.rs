//! Errors that cross the wire: the REST/ack error body and the typed reasons
//! a daemon connection is refused.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use ts_rs::TS;

/// What kind of failure an [`ErrorBody`] reports, for clients that branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    /// The request was malformed or a value was out of range.
    InvalidInput,
    /// No valid login, or wrong credentials.
    Unauthorized,
    /// Logged in, but not allowed (e.g. a foreign `Origin`).
    Forbidden,
    /// The named host, session or profile does not exist.
    NotFound,
    /// The request conflicts with current state (e.g. the host is offline).
    Conflict,
    /// The body or message was larger than allowed.
    TooLarge,
    /// The path lies outside the host's project roots.
    OutsideProjectRoot,
    /// The daemon could not start the process.
    SpawnFailed,
    /// The daemon did not answer in time.
    Timeout,
    /// Too many attempts; wait as long as `Retry-After` says.
    RateLimited,
    /// The hub is at a capacity limit right now; try again shortly.
    Unavailable,
    /// Something failed inside the server; the body carries a request id.
    Internal,
}

/// The body of every error response and error acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Error)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{code:?}: {message}")]
pub struct ErrorBody {
    /// The kind of failure.
    pub code: ErrorCode,
    /// A specific, human-readable explanation.
    pub message: String,
    /// Correlates a 5xx with the server log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub request_id: Option<String>,
}

impl ErrorBody {
    /// An error with a code and message and no request id.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code,
            message: message.into(),
            request_id: None,
        }
    }
}

/// Why the hub refused a daemon's connection. Sent as the JSON text of the
/// Socket.IO `connect_error` message so the daemon can branch on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectRefusal {
    /// The token is unknown, malformed or was rotated away.
    #[error("host token refused")]
    BadToken,
    /// The daemon speaks another protocol version.
    #[error("protocol version mismatch: hub speaks {hub}, daemon speaks {daemon}")]
    VersionMismatch {
        /// The hub's [`crate::PROTOCOL_VERSION`].
        hub: u32,
        /// The version the daemon sent.
        daemon: u32,
    },
    /// The handshake payload could not be parsed.
    #[error("malformed handshake: {message}")]
    MalformedHandshake {
        /// What was wrong.
        message: String,
    },
}

impl ConnectRefusal {
    /// The text sent as the `connect_error` message.
    pub fn to_wire(&self) -> String {
        serde_json::to_string(self).expect("a refusal always serializes")
    }

    /// Parses a `connect_error` message; `None` when it is not a refusal.
    pub fn from_wire(message: &str) -> Option<Self> {
        serde_json::from_str(message).ok()
    }
}
