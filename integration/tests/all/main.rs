//! The one integration test binary: live-loop scenarios against the real
//! binaries, and the repository's tidy checks.

mod hardening_hub;
mod live_loop;
mod profiles;
mod secrets;
mod telemetry;
mod tidy;
mod usage;
