//! The reconnect schedule: exponential backoff with jitter, as a pure
//! function of the attempt number.

use std::time::Duration;

/// The first delay.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// The longest delay.
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);

/// The delay before reconnect attempt `attempt` (0-based): 1 s doubling per
/// attempt, capped at 60 s, then scaled into `[50 %, 100 %]` of that by
/// `jitter` (clamped to `0.0..=1.0`) so many daemons do not reconnect in step.
pub fn backoff_delay(attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.min(16);
    let nominal = BACKOFF_BASE
        .saturating_mul(1u32 << exponent)
        .min(BACKOFF_CAP);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    nominal.mul_f64(0.5 + 0.5 * jitter)
}
