//! The Flotilla wire protocol: every type that crosses a process boundary.
//!
//! Three parties talk: the browser UI, the hub and the daemons. Socket.IO
//! events are described by types implementing [`Event`]; REST bodies live in
//! [`rest`]; terminal output travels as binary [`frame::OutputFrame`]s, and
//! every receiver of them decides what is new with a [`cursor::StreamCursor`].
//! The TypeScript mirror of these types is generated into
//! `frontend/src/protocol/generated/` by a test and committed.

pub mod cursor;
pub mod daemon_to_hub;
pub mod error;
pub mod frame;
pub mod hub_to_daemon;
pub mod hub_to_ui;
pub mod ids;
pub mod rest;
pub mod typescript;
pub mod ui_to_hub;
pub mod usage;
pub mod worktree;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use error::{ConnectRefusal, ErrorBody, ErrorCode};
pub use ids::{HostId, RequestId, SessionId, UserId};

/// The version of this protocol. The daemon sends it in its handshake and the
/// hub refuses a mismatch with [`ConnectRefusal::VersionMismatch`]. It is
/// bumped on every breaking change; additive changes keep it.
pub const PROTOCOL_VERSION: u32 = 3;

/// The Socket.IO namespace daemons connect to.
pub const DAEMON_NAMESPACE: &str = "/daemon";

/// The Socket.IO namespace browsers connect to.
pub const UI_NAMESPACE: &str = "/ui";

/// The name of the HttpOnly cookie that carries a browser login.
pub const SESSION_COOKIE: &str = "flotilla_session";

/// Largest terminal input one message may carry, in bytes. Bigger pastes are
/// split by the client; a bigger message gets an error reply.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// Largest terminal dimension accepted for columns or rows.
pub const MAX_TERMINAL_DIMENSION: u16 = 1000;

/// A Socket.IO event: its wire name and what its acknowledgement carries.
///
/// Event names appear only in implementations of this trait, never as
/// literals at call sites.
pub trait Event {
    /// The Socket.IO event name.
    const NAME: &'static str;
    /// The acknowledgement payload, `()` when the event is not acknowledged.
    type Ack;
}

/// The reply to an acknowledged event: the value, or a typed error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply<T> {
    /// The request succeeded.
    Ok {
        /// What the request produced.
        value: T,
    },
    /// The request failed; nothing was changed.
    Error {
        /// Why it failed.
        error: ErrorBody,
    },
}

impl<T> Reply<T> {
    /// Turns the reply into a `Result`.
    pub fn into_result(self) -> Result<T, ErrorBody> {
        match self {
            Reply::Ok { value } => Ok(value),
            Reply::Error { error } => Err(error),
        }
    }
}

impl<T> From<Result<T, ErrorBody>> for Reply<T> {
    fn from(result: Result<T, ErrorBody>) -> Self {
        match result {
            Ok(value) => Reply::Ok { value },
            Err(error) => Reply::Error { error },
        }
    }
}

/// Terminal dimensions in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TermSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

impl<'de> Deserialize<'de> for TermSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(deserialize_with = "whole_u16")]
            cols: u16,
            #[serde(deserialize_with = "whole_u16")]
            rows: u16,
        }
        let Wire { cols, rows } = Wire::deserialize(deserializer)?;
        Ok(TermSize { cols, rows })
    }
}

/// A `u16` that may also arrive as a number with no fraction (`80.0`): JSON
/// Schema, and so the OpenAPI document, counts that as an integer.
fn whole_u16<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = u16;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number from 0 to 65535")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u16, E> {
            u16::try_from(v).map_err(|_| E::custom(format!("{v} is larger than 65535")))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u16, E> {
            u16::try_from(v).map_err(|_| E::custom(format!("{v} is not from 0 to 65535")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u16, E> {
            if v.fract() == 0.0 && (0.0..=65535.0).contains(&v) {
                Ok(v as u16)
            } else {
                Err(E::custom(format!(
                    "{v} is not a whole number from 0 to 65535"
                )))
            }
        }
    }
    deserializer.deserialize_any(Whole)
}

impl TermSize {
    /// Checks that both dimensions are between 1 and [`MAX_TERMINAL_DIMENSION`].
    pub fn validate(&self) -> Result<(), ErrorBody> {
        let in_range = |n: u16| (1..=MAX_TERMINAL_DIMENSION).contains(&n);
        if in_range(self.cols) && in_range(self.rows) {
            Ok(())
        } else {
            Err(ErrorBody::new(
                ErrorCode::InvalidInput,
                format!(
                    "terminal size {}x{} is out of range: cols and rows must be 1..={MAX_TERMINAL_DIMENSION}",
                    self.cols, self.rows
                ),
            ))
        }
    }
}

impl Default for TermSize {
    fn default() -> Self {
        TermSize {
            cols: 120,
            rows: 40,
        }
    }
}

#[cfg(test)]
mod tests;
