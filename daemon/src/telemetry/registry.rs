//! The sessions the receiver may attribute telemetry to, shared by the
//! receiver, the host (which registers a session at spawn) and the link
//! (which marks exits and sends the coalesced totals).
//!
//! Concurrency: the map sits behind a `RwLock` taken only to look up, add
//! or remove an entry (never while decoding or aggregating); each session's
//! aggregate has its own `Mutex`, held for one `ingest` call. So requests
//! for different sessions never wait for each other, and requests for one
//! session wait only for each other's aggregation, not their decoding.
//!
//! A session stays attributable for [`EXIT_GRACE`] after it exits, so an
//! agent's final flush on exit still counts, and is forgotten after that
//! once its last change has been taken for the hub.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use flotilla_protocol::SessionId;
use flotilla_protocol::usage::SessionUsageReport;
use tracing::debug;

use super::aggregate::SessionTelemetry;
use crate::profile::telemetry::Telemetry;

/// How long an exited session still accepts telemetry.
pub const EXIT_GRACE: Duration = Duration::from_secs(120);

/// At most one debug line about unattributed data per this interval.
const UNATTRIBUTED_LOG_EVERY: Duration = Duration::from_secs(10);

/// The attributable sessions and the receiver's counters. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    grace: Duration,
    sessions: RwLock<HashMap<SessionId, Arc<Entry>>>,
    /// Requests with at least one resource that named no known session.
    unattributed_requests: AtomicU64,
    /// Data points, log records or spans dropped for that reason.
    unattributed_items: AtomicU64,
    /// Every OTLP export request that reached a handler.
    requests: AtomicU64,
    /// When unattributed data was last logged (rate limit).
    last_unattributed_log: Mutex<Option<Instant>>,
}

/// One registered session.
pub struct Entry {
    telemetry: Mutex<SessionTelemetry>,
    /// When the session exited; `None` while it runs.
    exited_at: Mutex<Option<Instant>>,
}

impl Entry {
    /// Locks the session's aggregate. Std mutex: every critical section is
    /// one synchronous `ingest` or `snapshot` call, never an await.
    pub fn telemetry(&self) -> MutexGuard<'_, SessionTelemetry> {
        lock(&self.telemetry)
    }

    fn is_attributable(&self, now: Instant, grace: Duration) -> bool {
        lock(&self.exited_at).is_none_or(|exited| now.saturating_duration_since(exited) <= grace)
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(EXIT_GRACE)
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("sessions", &read(&self.inner.sessions).len())
            .finish_non_exhaustive()
    }
}

/// The receiver's counters, for `/v1/status` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Registered sessions (running or within the exit grace period).
    pub sessions: u64,
    /// Export requests received.
    pub requests: u64,
    /// Requests with data that named no known session.
    pub unattributed_requests: u64,
    /// Items dropped because they named no known session.
    pub unattributed_items: u64,
}

impl Registry {
    /// An empty registry whose exited sessions stay attributable for `grace`.
    pub fn new(grace: Duration) -> Self {
        Registry {
            inner: Arc::new(Inner {
                grace,
                sessions: RwLock::new(HashMap::new()),
                unattributed_requests: AtomicU64::new(0),
                unattributed_items: AtomicU64::new(0),
                requests: AtomicU64::new(0),
                last_unattributed_log: Mutex::new(None),
            }),
        }
    }

    /// Makes `id` attributable with its profile's telemetry mapping. A
    /// session registered again (spawned again with the same id) keeps its
    /// totals and is running again. Returns whether it was new.
    pub fn register(&self, id: SessionId, mapping: Arc<Telemetry>) -> bool {
        let mut sessions = write(&self.inner.sessions);
        if let Some(entry) = sessions.get(&id) {
            *lock(&entry.exited_at) = None;
            return false;
        }
        sessions.insert(
            id,
            Arc::new(Entry {
                telemetry: Mutex::new(SessionTelemetry::new(mapping)),
                exited_at: Mutex::new(None),
            }),
        );
        true
    }

    /// Forgets a session at once (its spawn failed).
    pub fn unregister(&self, id: SessionId) {
        write(&self.inner.sessions).remove(&id);
    }

    /// Starts the exit grace period of `id`.
    pub fn mark_exited(&self, id: SessionId, now: Instant) {
        if let Some(entry) = read(&self.inner.sessions).get(&id) {
            lock(&entry.exited_at).get_or_insert(now);
        }
    }

    /// The session `id` if telemetry may be attributed to it at `now`.
    pub fn lookup(&self, id: SessionId, now: Instant) -> Option<Arc<Entry>> {
        let entry = read(&self.inner.sessions).get(&id).cloned()?;
        entry
            .is_attributable(now, self.inner.grace)
            .then_some(entry)
    }

    /// Counts one export request.
    pub fn count_request(&self) {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `items` dropped from one request because they named no known
    /// session, and logs it at debug level at most every 10 seconds.
    pub fn count_unattributed(&self, items: u64, reason: &str, now: Instant) {
        self.inner
            .unattributed_requests
            .fetch_add(1, Ordering::Relaxed);
        let total = self
            .inner
            .unattributed_items
            .fetch_add(items, Ordering::Relaxed)
            .saturating_add(items);
        let mut last = lock(&self.inner.last_unattributed_log);
        if last.is_none_or(|last| now.saturating_duration_since(last) >= UNATTRIBUTED_LOG_EVERY) {
            *last = Some(now);
            drop(last);
            debug!(
                items,
                total_items = total,
                reason,
                "telemetry for no known session dropped"
            );
        }
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        Counters {
            sessions: read(&self.inner.sessions).len() as u64,
            requests: self.inner.requests.load(Ordering::Relaxed),
            unattributed_requests: self.inner.unattributed_requests.load(Ordering::Relaxed),
            unattributed_items: self.inner.unattributed_items.load(Ordering::Relaxed),
        }
    }

    /// The current totals of `id`, whether or not they changed.
    pub fn snapshot(&self, id: SessionId) -> Option<SessionUsageReport> {
        let entry = read(&self.inner.sessions).get(&id).cloned()?;
        let usage = entry.telemetry().snapshot();
        Some(SessionUsageReport {
            session_id: id,
            usage,
        })
    }

    /// A report for `id` if its totals changed since they were last taken.
    pub fn take_changed(&self, id: SessionId) -> Option<SessionUsageReport> {
        let entry = read(&self.inner.sessions).get(&id).cloned()?;
        let mut telemetry = entry.telemetry();
        telemetry.take_changed().then(|| SessionUsageReport {
            session_id: id,
            usage: telemetry.snapshot(),
        })
    }

    /// Reports for every session whose totals changed since they were last
    /// taken, sorted by session id; then forgets sessions whose grace
    /// period ended (their last change is in this batch or an earlier one).
    pub fn take_all_changed(&self, now: Instant) -> Vec<SessionUsageReport> {
        let mut reports = Vec::new();
        let mut expired = Vec::new();
        for (id, entry) in self.entries() {
            {
                let mut telemetry = entry.telemetry();
                if telemetry.take_changed() {
                    reports.push(SessionUsageReport {
                        session_id: id,
                        usage: telemetry.snapshot(),
                    });
                }
            }
            if !entry.is_attributable(now, self.inner.grace) {
                expired.push(id);
            }
        }
        if !expired.is_empty() {
            let mut sessions = write(&self.inner.sessions);
            for id in expired {
                // A session registered again in between is running again.
                if sessions
                    .get(&id)
                    .is_some_and(|entry| !entry.is_attributable(now, self.inner.grace))
                {
                    sessions.remove(&id);
                }
            }
        }
        reports
    }

    /// Reports for every registered session that received any telemetry,
    /// sorted by session id, marking them all unchanged: what a hub that
    /// just (re)connected needs.
    pub fn take_all(&self) -> Vec<SessionUsageReport> {
        self.entries()
            .into_iter()
            .filter_map(|(id, entry)| {
                let mut telemetry = entry.telemetry();
                telemetry.take_changed();
                let usage = telemetry.snapshot();
                (usage.requests > 0).then_some(SessionUsageReport {
                    session_id: id,
                    usage,
                })
            })
            .collect()
    }

    /// The entries, sorted by id, copied out so no aggregate is locked
    /// while the map is.
    fn entries(&self) -> Vec<(SessionId, Arc<Entry>)> {
        let mut entries: Vec<(SessionId, Arc<Entry>)> = read(&self.inner.sessions)
            .iter()
            .map(|(id, entry)| (*id, entry.clone()))
            .collect();
        entries.sort_by_key(|(id, _)| *id);
        entries
    }
}

// Poisoning: a panic inside an aggregate call cannot leave the map or a
// timestamp half-updated, and the aggregate keeps whatever totals it had,
// so the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
