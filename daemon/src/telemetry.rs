//! Session telemetry: the agents' OpenTelemetry, received over OTLP/HTTP,
//! attributed to exactly one session each, aggregated into usage totals and
//! sent to the hub.
//!
//! - [`receiver`]: the axum OTLP/HTTP server (`/v1/{metrics,logs,traces}`,
//!   also under `/s/{session_id}/`); bounded bodies, both encodings, gzip.
//! - [`decode`]: pure, size-capped body decoding (also the fuzz targets'
//!   entry point).
//! - [`registry`]: the sessions telemetry may be attributed to, shared with
//!   the host (registers at spawn) and the link (marks exits, takes changed
//!   totals once per second and after every Hello).
//! - [`aggregate`]: one session's totals from its profile's mapping.
//!
//! Attribution is never guessed: data that names no session this daemon
//! runs (or ran within the last two minutes) is counted and dropped.

pub mod aggregate;
pub mod decode;
pub mod receiver;
pub mod registry;
#[cfg(test)]
mod tests;

pub use self::receiver::SESSION_ATTRIBUTE;
pub use self::registry::Registry;
