//! Session usage on the hub: daemons' `session:usage` reports are checked,
//! kept in memory, pushed to the browsers watching, counted per UTC day and
//! flushed to the database in batches.
//!
//! **Counting rule.** Reports carry running totals that replace earlier
//! ones. For the per-day table each report adds, type by type, its increase
//! over what was already counted for the session (`TokenCounts::since`;
//! cost likewise, saturating) to the row of the UTC day the hub received it.
//! So a session's daily rows always add up to the highest total any report
//! named for each type. Totals only grow during a session; a report that is
//! lower (a stale one, or a daemon that restarted its telemetry, after which
//! the session is `lost` anyway) adds nothing and counting resumes once the
//! totals pass the earlier high mark. The latest snapshot, as reported, is
//! what sessions show.
//!
//! **Writes.** Nothing is written per report: the latest snapshot per
//! session and the day increases wait in memory and are flushed every
//! `--usage-flush-ms` (default 1 s) in one transaction, and once more when
//! the hub shuts down. A failed flush keeps its data for the next one.
//!
//! **Pushes.** [`SessionUsageUpdated`] goes only to the sockets in the
//! session's room (viewers attached to it) and its host's room (`host:watch`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flotilla_protocol::usage::{
    SessionUsage, SessionUsageReport, SessionUsageUpdated, UsageGroupBy, UsageReport, UsageRow,
};
use flotilla_protocol::{ErrorBody, ErrorCode, HostId, SessionId};
use tracing::Instrument;

use crate::actor::Actor;
use crate::error::ApiError;
use crate::store::{self, DayRange, Store, UsageTotals, UsageWrite};
use crate::{App, lock};

/// Largest figure a report may carry: the browser reads numbers as IEEE
/// doubles, exact up to 2^53.
pub const MAX_REPORTED_VALUE: u64 = (1 << 53) - 1;

/// How often a repeated warning about a daemon's usage reports is logged.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// The room of a session's attached viewers.
pub fn session_room(id: SessionId) -> String {
    format!("usage:session:{id}")
}

/// The room of the browsers watching a host's usage.
pub fn host_room(id: HostId) -> String {
    format!("usage:host:{id}")
}

/// The Prometheus labels a session's usage is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageLabels {
    /// The profile name.
    pub agent: String,
    /// The host's name.
    pub host: String,
}

/// What one report added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Increase {
    /// Tokens and cost not counted before.
    pub totals: UsageTotals,
    /// OTLP requests not counted before.
    pub requests: u64,
}

/// The part of `report` not yet in `counted`, type by type, never negative.
pub fn increase(counted: &UsageTotals, report: &SessionUsage) -> UsageTotals {
    UsageTotals {
        tokens: report.tokens.since(&counted.tokens),
        cost_nano_usd: report.cost_nano_usd.saturating_sub(counted.cost_nano_usd),
    }
}

/// `YYYY-MM-DD` of the UTC day of `unix_ms`.
pub fn utc_day(unix_ms: i64) -> String {
    let date = store::from_ms(unix_ms).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Why a report is refused before it touches any state.
pub fn check_report(usage: &SessionUsage) -> Result<(), String> {
    let tokens = &usage.tokens;
    let figures = [
        ("tokens.input", tokens.input),
        ("tokens.output", tokens.output),
        ("tokens.cacheRead", tokens.cache_read),
        ("tokens.cacheWrite", tokens.cache_write),
        ("tokens.reasoning", tokens.reasoning),
        ("tokens.tool", tokens.tool),
        ("tokens.other", tokens.other),
        ("tokens total", tokens.total()),
        ("costNanoUsd", usage.cost_nano_usd),
        ("requests", usage.requests),
        ("activeMs", usage.active_ms),
    ];
    match figures
        .iter()
        .find(|(_, value)| *value > MAX_REPORTED_VALUE)
    {
        Some((name, value)) => Err(format!(
            "{name} = {value} exceeds the largest accepted figure ({MAX_REPORTED_VALUE})"
        )),
        None => Ok(()),
    }
}

/// A session whose reports are accepted, with what was counted for it.
struct Tracked {
    host_id: HostId,
    labels: UsageLabels,
    latest: Option<Arc<SessionUsage>>,
    /// The sum of its daily rows, stored and pending.
    counted: UsageTotals,
    /// Requests counted for the Prometheus counter.
    requests: u64,
    /// The session ended: once flushed, memory lets it go (a late report
    /// reloads it from the database).
    ended: bool,
}

/// A session's changes since the last flush.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The latest snapshot.
    pub usage: Arc<SessionUsage>,
    /// When it arrived, ms.
    pub received_at: i64,
    /// Increases per UTC day.
    pub days: BTreeMap<String, UsageTotals>,
}

impl Pending {
    /// Folds an older, unwritten `Pending` (a failed flush) back in: the newer
    /// snapshot stays, the day increases add up.
    pub fn absorb_older(&mut self, older: Pending) {
        for (day, totals) in older.days {
            self.days.entry(day).or_default().add(&totals);
        }
    }
}

/// Logs a repeated warning at most once per [`WARN_EVERY`], with how many
/// were suppressed in between.
#[derive(Default)]
struct WarnLimiter {
    /// Short critical section only.
    state: Mutex<(Option<Instant>, u64)>,
}

impl WarnLimiter {
    /// `Some(suppressed)` when this occurrence should be logged.
    fn allow(&self) -> Option<u64> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        match state.0 {
            Some(last) if now.duration_since(last) < WARN_EVERY => {
                state.1 += 1;
                None
            }
            _ => {
                let suppressed = state.1;
                *state = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<SessionId, Tracked>,
    pending: HashMap<SessionId, Pending>,
}

/// The usage state of the hub. Memory holds the live sessions that reported
/// since the hub started (their latest snapshot and counted totals) and
/// what awaits the next flush; ended sessions leave it once flushed, and
/// everything else is read from the database.
#[derive(Default)]
pub struct Usage {
    /// Short lookups and updates only; never held across an `.await`.
    inner: Mutex<Inner>,
    /// Serializes flushes so an older batch never lands after a newer one.
    flushing: tokio::sync::Mutex<()>,
    refused: WarnLimiter,
    malformed: WarnLimiter,
    flush_failed: WarnLimiter,
}

impl Usage {
    /// Logs a malformed `session:usage` payload, rate-limited.
    pub fn warn_malformed(&self, host_id: HostId, error: &dyn std::fmt::Display) {
        if let Some(suppressed) = self.malformed.allow() {
            tracing::warn!(%host_id, %error, suppressed, "malformed usage report from daemon ignored");
        }
    }

    fn warn_refused(&self, host_id: HostId, session_id: SessionId, why: &str) {
        if let Some(suppressed) = self.refused.allow() {
            tracing::warn!(%host_id, %session_id, suppressed, "usage report ignored: {why}");
        }
    }

    /// Whether `host_id` may report for the session; loads what is counted
    /// for it on first sight. Unknown and foreign sessions are refused with a
    /// rate-limited warning.
    async fn admit(
        &self,
        store: &Store,
        host_id: HostId,
        session_id: SessionId,
    ) -> anyhow::Result<bool> {
        let known = lock(&self.inner)
            .sessions
            .get(&session_id)
            .map(|tracked| tracked.host_id);
        let owner = match known {
            Some(owner) => owner,
            None => {
                let Some(row) = store.get_session(session_id).await? else {
                    self.warn_refused(host_id, session_id, "unknown session");
                    return Ok(false);
                };
                let owner = row.host_id;
                if owner != host_id {
                    self.warn_refused(host_id, session_id, "the session belongs to another host");
                    return Ok(false);
                }
                let host_name = store
                    .get_host(owner)
                    .await?
                    .map_or_else(|| owner.to_string(), |host| host.name);
                let baseline = store.usage_baseline(session_id).await?;
                let mut inner = lock(&self.inner);
                // Another connection of the same host may have loaded it meanwhile.
                inner.sessions.entry(session_id).or_insert_with(|| Tracked {
                    host_id: owner,
                    labels: UsageLabels {
                        agent: row.profile,
                        host: host_name,
                    },
                    latest: baseline.latest.map(Arc::new),
                    counted: baseline.counted,
                    requests: baseline.requests,
                    ended: false,
                });
                owner
            }
        };
        if owner != host_id {
            self.warn_refused(host_id, session_id, "the session belongs to another host");
            return Ok(false);
        }
        Ok(true)
    }

    /// Records an admitted report received at `now_ms`: it becomes the
    /// session's snapshot, and its increase is added to the day's pending
    /// usage. `None` if the session was forgotten meanwhile.
    fn record(
        &self,
        session_id: SessionId,
        usage: Arc<SessionUsage>,
        now_ms: i64,
    ) -> Option<(UsageLabels, Increase)> {
        let mut inner = lock(&self.inner);
        let tracked = inner.sessions.get_mut(&session_id)?;
        let added = increase(&tracked.counted, &usage);
        tracked.counted.add(&added);
        let requests = usage.requests.saturating_sub(tracked.requests);
        tracked.requests = tracked.requests.max(usage.requests);
        tracked.latest = Some(usage.clone());
        let labels = tracked.labels.clone();
        let pending = inner.pending.entry(session_id).or_insert_with(|| Pending {
            usage: usage.clone(),
            received_at: now_ms,
            days: BTreeMap::new(),
        });
        pending.usage = usage;
        pending.received_at = now_ms;
        if !added.is_zero() {
            pending.days.entry(utc_day(now_ms)).or_default().add(&added);
        }
        Some((
            labels,
            Increase {
                totals: added,
                requests,
            },
        ))
    }

    /// Lets memory drop the session after its next flush: memory then holds
    /// only sessions that are live or have unwritten usage.
    pub fn session_ended(&self, id: SessionId) {
        if let Some(tracked) = lock(&self.inner).sessions.get_mut(&id) {
            tracked.ended = true;
        }
    }

    /// Drops what memory holds for these sessions (their host was deleted).
    pub fn forget(&self, sessions: &[SessionId]) {
        let mut inner = lock(&self.inner);
        for id in sessions {
            inner.sessions.remove(id);
            inner.pending.remove(id);
        }
    }

    /// Writes what changed since the last flush in one transaction. On
    /// failure the batch is kept for the next flush.
    pub async fn flush(&self, store: &Store) -> anyhow::Result<()> {
        let _serial = self.flushing.lock().await;
        let batch = std::mem::take(&mut lock(&self.inner).pending);
        if batch.is_empty() {
            return Ok(());
        }
        let writes: Vec<UsageWrite> = batch
            .iter()
            .map(|(id, pending)| UsageWrite {
                session_id: *id,
                usage: (*pending.usage).clone(),
                received_at: pending.received_at,
                days: pending
                    .days
                    .iter()
                    .map(|(day, totals)| (day.clone(), *totals))
                    .collect(),
            })
            .collect();
        if let Err(error) = store.write_usage(&writes).await {
            let mut inner = lock(&self.inner);
            for (id, older) in batch {
                if !inner.sessions.contains_key(&id) {
                    continue;
                }
                match inner.pending.get_mut(&id) {
                    Some(newer) => newer.absorb_older(older),
                    None => {
                        inner.pending.insert(id, older);
                    }
                }
            }
            return Err(error);
        }
        let mut inner = lock(&self.inner);
        let Inner { sessions, pending } = &mut *inner;
        sessions.retain(|id, tracked| !tracked.ended || pending.contains_key(id));
        Ok(())
    }

    /// Logs a failed flush, rate-limited (the database may be down for a while).
    fn report_flush_error(&self, error: &anyhow::Error) {
        if let Some(suppressed) = self.flush_failed.allow() {
            tracing::error!(
                suppressed,
                "writing session usage failed, will retry: {error:#}"
            );
        }
    }

    /// A session's latest usage: memory first (it may be newer than the
    /// database), then the database.
    pub async fn of_session(
        &self,
        store: &Store,
        id: SessionId,
    ) -> anyhow::Result<Option<SessionUsage>> {
        if let Some(latest) = self.latest(id) {
            return Ok(Some((*latest).clone()));
        }
        store.session_usage(id).await
    }

    /// The latest usage of every session (optionally of one host): one query,
    /// overlaid with what memory holds.
    pub async fn of_sessions(
        &self,
        store: &Store,
        host: Option<HostId>,
    ) -> anyhow::Result<HashMap<SessionId, SessionUsage>> {
        let mut all = store.sessions_usage(host).await?;
        let inner = lock(&self.inner);
        for (id, tracked) in &inner.sessions {
            if host.is_some_and(|host| host != tracked.host_id) {
                continue;
            }
            if let Some(latest) = &tracked.latest {
                all.insert(*id, (**latest).clone());
            }
        }
        Ok(all)
    }

    fn latest(&self, id: SessionId) -> Option<Arc<SessionUsage>> {
        lock(&self.inner)
            .sessions
            .get(&id)
            .and_then(|tracked| tracked.latest.clone())
    }
}

/// Handles one `session:usage` report from a daemon, in the connection's
/// order: check, record, count, push.
pub async fn ingest(app: &App, actor: &Actor, report: SessionUsageReport) -> Result<(), ApiError> {
    let host_id = actor.daemon()?;
    let session_id = report.session_id;
    if let Err(why) = check_report(&report.usage) {
        app.usage.warn_refused(host_id, session_id, &why);
        return Ok(());
    }
    if !app.usage.admit(&app.store, host_id, session_id).await? {
        return Ok(());
    }
    let usage = Arc::new(report.usage);
    let Some((labels, added)) = app.usage.record(session_id, usage.clone(), store::now_ms()) else {
        return Ok(());
    };
    app.metrics.add_usage(&labels, &added);
    push(app, host_id, session_id, &usage).await;
    Ok(())
}

/// Sends the update to the session's viewers and its host's watchers. A
/// full socket buffer drops it; the next report replaces it anyway.
async fn push(app: &App, host_id: HostId, session_id: SessionId, usage: &SessionUsage) {
    let update = SessionUsageUpdated {
        session_id,
        host_id,
        usage: usage.clone(),
    };
    app.emit_to_rooms(vec![session_room(session_id), host_room(host_id)], &update)
        .await;
}

/// Starts the task that flushes usage every `interval` until shutdown. The
/// final flush happens in `run` after every other task has stopped.
pub fn spawn_flusher(app: &Arc<App>, interval: Duration) {
    let task_app = app.clone();
    let task = async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Cancel-safe: a tick not taken is simply taken later, and a
            // flush, once started, runs to completion.
            tokio::select! {
                _ = tick.tick() => {}
                () = task_app.shutdown.cancelled() => return,
            }
            if let Err(error) = task_app.usage.flush(&task_app.store).await {
                task_app.usage.report_flush_error(&error);
            }
        }
    };
    app.tracker
        .spawn(task.instrument(tracing::info_span!("usage_flush")));
}

/// A validated `GET /api/usage` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// The grouping.
    pub group_by: UsageGroupBy,
    /// The day range.
    pub range: DayRange,
}

/// Validates the raw query parameters, naming the first bad one.
pub fn parse_query(
    group_by: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<UsageQuery, ErrorBody> {
    let invalid = |message: String| ErrorBody::new(ErrorCode::InvalidInput, message);
    let group_by = match group_by {
        Some("host") => UsageGroupBy::Host,
        Some("project") => UsageGroupBy::Project,
        Some("agent") => UsageGroupBy::Agent,
        Some("day") => UsageGroupBy::Day,
        Some(other) => {
            return Err(invalid(format!(
                "groupBy {other:?} is not one of host, project, agent, day"
            )));
        }
        None => {
            return Err(invalid(
                "groupBy is required: one of host, project, agent, day".into(),
            ));
        }
    };
    let day = |name: &str, raw: Option<&str>| -> Result<Option<String>, ErrorBody> {
        raw.map(|raw| {
            parse_day(raw)
                .map(|()| raw.to_owned())
                .map_err(|why| invalid(format!("{name} {raw:?} is not a date YYYY-MM-DD: {why}")))
        })
        .transpose()
    };
    let from = day("from", from)?;
    let to = day("to", to)?;
    if let (Some(from), Some(to)) = (&from, &to)
        && from > to
    {
        return Err(invalid(format!("from {from} is after to {to}")));
    }
    Ok(UsageQuery {
        group_by,
        range: DayRange { from, to },
    })
}

/// Checks `YYYY-MM-DD` strictly (four-digit year, real calendar day).
fn parse_day(raw: &str) -> Result<(), String> {
    let parts: Vec<&str> = raw.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err("expected three parts separated by '-'".into());
    };
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return Err("expected 4, 2 and 2 digits".into());
    }
    let year: i32 = year.parse().map_err(|_| "bad year".to_owned())?;
    let month: u8 = month.parse().map_err(|_| "bad month".to_owned())?;
    let day: u8 = day.parse().map_err(|_| "bad day".to_owned())?;
    let month = time::Month::try_from(month).map_err(|_| "no such month".to_owned())?;
    time::Date::from_calendar_date(year, month, day).map_err(|_| "no such day".to_owned())?;
    Ok(())
}

/// Orders rows as the report promises: days by date, everything else by
/// cost (then tokens, then key) descending.
pub fn sort_rows(group_by: UsageGroupBy, rows: &mut [UsageRow]) {
    match group_by {
        UsageGroupBy::Day => rows.sort_by(|a, b| a.key.cmp(&b.key)),
        _ => rows.sort_by(|a, b| {
            b.cost_nano_usd
                .cmp(&a.cost_nano_usd)
                .then_with(|| b.tokens.total().cmp(&a.tokens.total()))
                .then_with(|| a.key.cmp(&b.key))
        }),
    }
}

/// Builds the report. Reads only flushed data, so it first flushes what is
/// pending: a report right after a session's last update includes it.
pub async fn report(app: &App, actor: &Actor, query: &UsageQuery) -> Result<UsageReport, ApiError> {
    actor.user()?;
    if let Err(error) = app.usage.flush(&app.store).await {
        app.usage.report_flush_error(&error);
    }
    let (mut rows, total) = app.store.usage_report(query.group_by, &query.range).await?;
    sort_rows(query.group_by, &mut rows);
    Ok(UsageReport {
        group_by: query.group_by,
        rows,
        total,
    })
}

#[cfg(test)]
mod tests;
