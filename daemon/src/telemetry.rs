//! Session telemetry: the agents' OpenTelemetry turned into usage totals.
//!
//! - [`aggregate`]: one session's totals from its profile's mapping (pure).

pub mod aggregate;
