//! Login throttling: exponential backoff per account and per client
//! address after repeated failures.
//!
//! The first [`FREE_ACCOUNT_FAILURES`] failures of an account (and
//! [`FREE_ADDRESS_FAILURES`] of an address, across accounts) cost nothing;
//! each further one blocks the next attempt for [`delay`] of the number of
//! extra failures: 1 s, 2 s, 4 s … up to [`MAX_DELAY`]. While blocked,
//! attempts are refused before the password is checked, with a
//! `Retry-After`. A successful login resets its account. Memory is bounded:
//! each table holds at most [`MAX_ENTRIES`], entries are forgotten
//! [`FORGET_AFTER`] after their last failure, and a full table evicts its
//! stalest entry. Time is `tokio::time`, so tests can pause it.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::lock;

/// Failures of one account before backoff starts.
pub const FREE_ACCOUNT_FAILURES: u32 = 5;

/// Failures from one address (any accounts) before backoff starts.
pub const FREE_ADDRESS_FAILURES: u32 = 10;

/// The delay after the first failure beyond the free ones.
pub const BASE_DELAY: Duration = Duration::from_secs(1);

/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// How long after its last failure an entry is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

/// Most entries per table (accounts, addresses).
pub const MAX_ENTRIES: usize = 10_000;

/// Longest account key kept, in bytes: names beyond it share an entry.
const MAX_ACCOUNT_KEY: usize = 128;

/// The backoff after `extra` failures beyond the free ones: 0 for none,
/// then [`BASE_DELAY`] doubled per failure, capped at [`MAX_DELAY`].
pub fn delay(extra: u32) -> Duration {
    if extra == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(extra - 1).unwrap_or(u32::MAX);
    BASE_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    blocked_until: Instant,
}

struct Table<K> {
    free: u32,
    entries: HashMap<K, Failures>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(free: u32) -> Self {
        Table {
            free,
            entries: HashMap::new(),
        }
    }

    fn blocked(&self, key: &K, now: Instant) -> Option<Duration> {
        let failures = self.entries.get(key)?;
        (failures.blocked_until > now).then(|| failures.blocked_until - now)
    }

    fn fail(&mut self, key: &K, now: Instant) {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            self.entries
                .retain(|_, failures| now.duration_since(failures.last) < FORGET_AFTER);
            if self.entries.len() >= MAX_ENTRIES
                && let Some(stalest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, failures)| failures.last)
                    .map(|(key, _)| key.clone())
            {
                self.entries.remove(&stalest);
            }
        }
        let failures = self.entries.entry(key.clone()).or_insert(Failures {
            count: 0,
            last: now,
            blocked_until: now,
        });
        if now.duration_since(failures.last) >= FORGET_AFTER {
            failures.count = 0;
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
        failures.blocked_until = now + delay(failures.count.saturating_sub(self.free));
    }
}

/// The failure tables.
pub struct LoginThrottle {
    /// Short map operations only; never held across an `.await`.
    tables: Mutex<(Table<String>, Table<IpAddr>)>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            tables: Mutex::new((
                Table::new(FREE_ACCOUNT_FAILURES),
                Table::new(FREE_ADDRESS_FAILURES),
            )),
        }
    }
}

fn account_key(username: &str) -> String {
    let mut end = username.len().min(MAX_ACCOUNT_KEY);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    username[..end].to_lowercase()
}

impl LoginThrottle {
    /// `Err(retry_after)` while the account or the address is blocked.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let tables = lock(&self.tables);
        let account = tables.0.blocked(&account_key(username), now);
        let address = address.and_then(|address| tables.1.blocked(&address, now));
        match account.max(address) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut tables = lock(&self.tables);
        tables.0.fail(&account_key(username), now);
        if let Some(address) = address {
            tables.1.fail(&address, now);
        }
    }

    /// Records a successful login: the account starts afresh.
    pub fn succeeded(&self, username: &str) {
        lock(&self.tables).0.entries.remove(&account_key(username));
    }

    /// How many accounts and addresses are tracked.
    pub fn len(&self) -> (usize, usize) {
        let tables = lock(&self.tables);
        (tables.0.entries.len(), tables.1.entries.len())
    }
}

#[cfg(test)]
mod tests;
