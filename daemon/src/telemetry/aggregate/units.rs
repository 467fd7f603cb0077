//! Exact unit arithmetic: each reported amount (tokens, USD, seconds) is
//! converted once to an integer unit (tokens, nano-USD, milliseconds),
//! rounding to the nearest unit, and all sums are integer sums. Prices are
//! applied to token totals in integer nano-USD per million tokens, rounding
//! once per model.

use flotilla_protocol::usage::{NANO_USD_PER_USD, TokenCounts};

use super::attributes::Number;
use crate::profile::telemetry::{Price, TokenType};

/// An amount as reported: a data point's or attribute's number, or a
/// histogram's count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Double(f64),
    /// A count (never negative).
    Count(u64),
}

impl From<Number> for Amount {
    fn from(number: Number) -> Self {
        match number {
            Number::Int(number) => Amount::Int(number),
            Number::Double(number) => Amount::Double(number),
        }
    }
}

/// 2⁶⁴ as a double: doubles at or above it do not fit a `u64`.
const U64_LIMIT: f64 = 18_446_744_073_709_551_616.0;

/// `amount × factor` rounded to an integer unit; an error for negative,
/// non-finite or too large amounts.
pub fn to_units(amount: Amount, factor: u64) -> Result<u64, String> {
    match amount {
        Amount::Int(number) => {
            let number = u64::try_from(number).map_err(|_| format!("negative value {number}"))?;
            number
                .checked_mul(factor)
                .ok_or_else(|| format!("value {number} is too large"))
        }
        Amount::Count(number) => number
            .checked_mul(factor)
            .ok_or_else(|| format!("value {number} is too large")),
        Amount::Double(number) => {
            if !number.is_finite() {
                return Err(format!("value {number} is not a finite number"));
            }
            if number < 0.0 {
                return Err(format!("negative value {number}"));
            }
            let scaled = (number * factor as f64).round();
            if scaled >= U64_LIMIT {
                return Err(format!("value {number} is too large"));
            }
            // In range and integral: the cast is exact.
            Ok(scaled as u64)
        }
    }
}

/// USD → nano-USD.
pub const NANO_USD: u64 = NANO_USD_PER_USD;

/// The count of one canonical type.
pub fn count_of(tokens: &TokenCounts, token_type: TokenType) -> u64 {
    match token_type {
        TokenType::Input => tokens.input,
        TokenType::Output => tokens.output,
        TokenType::CacheRead => tokens.cache_read,
        TokenType::CacheWrite => tokens.cache_write,
        TokenType::Reasoning => tokens.reasoning,
        TokenType::Tool => tokens.tool,
    }
}

/// The count of one canonical type, mutably.
pub fn count_mut(tokens: &mut TokenCounts, token_type: TokenType) -> &mut u64 {
    match token_type {
        TokenType::Input => &mut tokens.input,
        TokenType::Output => &mut tokens.output,
        TokenType::CacheRead => &mut tokens.cache_read,
        TokenType::CacheWrite => &mut tokens.cache_write,
        TokenType::Reasoning => &mut tokens.reasoning,
        TokenType::Tool => &mut tokens.tool,
    }
}

/// The cost of `tokens` at `price` in nano-USD, or `None` when a type with
/// tokens has no price (including tokens of an unmapped type): such a model
/// is unpriced, never guessed.
pub fn priced_cost(tokens: &TokenCounts, price: &Price) -> Option<u64> {
    if tokens.other > 0 {
        return None;
    }
    // Σ tokens × nano-USD per million tokens, then one division: exact up to
    // the final rounding. u128 holds u64 counts × any sane price.
    let mut total: u128 = 0;
    for token_type in TokenType::ALL {
        let count = count_of(tokens, token_type);
        if count == 0 {
            continue;
        }
        let per_million = price.per_million(token_type)?;
        let per_million = to_units(Amount::Double(per_million), NANO_USD).ok()?;
        total = total.checked_add(u128::from(count).checked_mul(u128::from(per_million))?)?;
    }
    let cost = (total + 500_000) / 1_000_000;
    Some(u64::try_from(cost).unwrap_or(u64::MAX))
}
