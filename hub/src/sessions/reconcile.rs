//! What a daemon's `Hello` means for the hub's session records: a pure
//! function from the live records of the host and the sessions the daemon
//! says it runs to a plan, which `sessions::hello` carries out.
//!
//! - A live record whose session the daemon runs is adopted; a `starting`
//!   one is confirmed as running (the daemon's answer to the spawn may have
//!   been lost with the old connection).
//! - A live record the daemon does not run is lost: it ended while nobody
//!   listened.
//! - A session the daemon runs without a live record is reported, not
//!   adopted (the hub never spawned it, or already recorded its end).

use std::collections::BTreeSet;

use flotilla_protocol::SessionId;
use flotilla_protocol::daemon_to_hub::RunningSession;
use flotilla_protocol::rest::SessionState;

/// A session the hub records as not ended, on the host that said hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveRecord {
    /// The session.
    pub id: SessionId,
    /// `starting` or `running`.
    pub state: SessionState,
}

/// What to do with each session; every list is sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Records the daemon runs: keep relaying (resume their output).
    pub adopt: Vec<SessionId>,
    /// Of `adopt`, those still `starting`: mark them running.
    pub confirm_started: Vec<SessionId>,
    /// Records the daemon does not run: mark them lost.
    pub lost: Vec<SessionId>,
    /// Sessions the daemon runs that have no live record.
    pub unknown: Vec<SessionId>,
}

/// Reconciles `records` with what the daemon runs. Pure.
pub fn reconcile(records: &[LiveRecord], running: &[RunningSession]) -> Plan {
    let running: BTreeSet<SessionId> = running.iter().map(|s| s.session_id).collect();
    let mut records: Vec<LiveRecord> = records.to_vec();
    records.sort_by_key(|record| record.id);
    records.dedup_by_key(|record| record.id);
    let known: BTreeSet<SessionId> = records.iter().map(|record| record.id).collect();
    let mut plan = Plan::default();
    for record in &records {
        if running.contains(&record.id) {
            plan.adopt.push(record.id);
            if record.state == SessionState::Starting {
                plan.confirm_started.push(record.id);
            }
        } else {
            plan.lost.push(record.id);
        }
    }
    plan.unknown = running.difference(&known).copied().collect();
    plan
}

#[cfg(test)]
mod tests;
