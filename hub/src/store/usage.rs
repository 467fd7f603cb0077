//! Usage persistence: the latest snapshot per session (`session_usage`), the
//! usage per session and UTC day (`usage_daily`), and the aggregate queries
//! behind `GET /api/usage` and the Prometheus counters.
//!
//! Plain SQL that SQLite and Postgres both accept (upserts with
//! `ON CONFLICT`, sums cast back to `BIGINT`), written with `?` placeholders
//! that [`statement`] numbers for Postgres. Counts are `u64` on the wire and
//! `BIGINT` here; the usage module rejects reports above 2^53, so nothing
//! stored is clamped in practice.

use std::collections::HashMap;

use anyhow::Context;
use flotilla_protocol::rest::SessionState;
use flotilla_protocol::usage::{SessionUsage, TokenCounts, UsageGroupBy, UsageRow};
use flotilla_protocol::{HostId, SessionId};
use sea_orm::{
    ConnectionTrait, DbBackend, QueryResult, Statement, TransactionTrait, Value as DbValue,
};

use super::Store;

/// Tokens and known cost, the part of a session's usage that is summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// Tokens by type.
    pub tokens: TokenCounts,
    /// Known cost in nano-USD.
    pub cost_nano_usd: u64,
}

impl UsageTotals {
    /// The totals of a report.
    pub fn of(usage: &SessionUsage) -> UsageTotals {
        UsageTotals {
            tokens: usage.tokens,
            cost_nano_usd: usage.cost_nano_usd,
        }
    }

    /// Adds `other`, saturating.
    pub fn add(&mut self, other: &UsageTotals) {
        self.tokens.add(&other.tokens);
        self.cost_nano_usd = self.cost_nano_usd.saturating_add(other.cost_nano_usd);
    }

    /// Whether nothing is counted.
    pub fn is_zero(&self) -> bool {
        self.tokens.total() == 0 && self.cost_nano_usd == 0
    }
}

/// One session's pending usage as a flush writes it.
#[derive(Debug, Clone)]
pub struct UsageWrite {
    /// The session.
    pub session_id: SessionId,
    /// Its latest snapshot, replacing the stored one.
    pub usage: SessionUsage,
    /// When the hub received it, ms.
    pub received_at: i64,
    /// Usage to add per UTC day (`YYYY-MM-DD`).
    pub days: Vec<(String, UsageTotals)>,
}

/// What is already counted for a session: the base its next report is
/// compared with.
#[derive(Debug, Clone, Default)]
pub struct UsageBaseline {
    /// The stored snapshot, if any.
    pub latest: Option<SessionUsage>,
    /// The sum of its daily rows.
    pub counted: UsageTotals,
    /// The requests of the stored snapshot.
    pub requests: u64,
}

/// Counted usage of one agent on one host, for the Prometheus counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentHostUsage {
    /// The profile name.
    pub agent: String,
    /// The host's name.
    pub host: String,
    /// The sum of the daily rows.
    pub totals: UsageTotals,
    /// OTLP requests of the stored snapshots.
    pub requests: u64,
}

/// The inclusive day range of a report; `None` is unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayRange {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
}

/// Stored form of a count.
fn to_db(n: u64) -> DbValue {
    DbValue::from(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A count read back; negative (never written) reads as zero.
fn from_db(row: &QueryResult, column: &str) -> anyhow::Result<u64> {
    let value: Option<i64> = row
        .try_get("", column)
        .with_context(|| format!("reading column {column}"))?;
    Ok(value.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
}

/// A statement with `?` placeholders, numbered `$1, $2, …` for Postgres.
/// The SQL here never contains a literal `?`.
pub(super) fn statement(backend: DbBackend, sql: &str, values: Vec<DbValue>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut numbered = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                numbered.push_str(&format!("${n}"));
            } else {
                numbered.push(c);
            }
        }
        numbered
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

const TOKEN_COLUMNS: [&str; 7] = [
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
    "tool",
    "other",
];

fn token_values(tokens: &TokenCounts) -> [u64; 7] {
    [
        tokens.input,
        tokens.output,
        tokens.cache_read,
        tokens.cache_write,
        tokens.reasoning,
        tokens.tool,
        tokens.other,
    ]
}

/// Reads the summed token columns and `cost_nano_usd` of an aggregate row.
fn totals_from(row: &QueryResult) -> anyhow::Result<UsageTotals> {
    let mut n = [0u64; 7];
    for (value, column) in n.iter_mut().zip(TOKEN_COLUMNS) {
        *value = from_db(row, column)?;
    }
    Ok(UsageTotals {
        tokens: TokenCounts {
            input: n[0],
            output: n[1],
            cache_read: n[2],
            cache_write: n[3],
            reasoning: n[4],
            tool: n[5],
            other: n[6],
        },
        cost_nano_usd: from_db(row, "cost_nano_usd")?,
    })
}

/// `COALESCE(CAST(SUM(d.x) AS BIGINT), 0) AS x` for every summed column:
/// Postgres sums `BIGINT` into `NUMERIC`, so the cast keeps one decoder.
fn summed_columns(table: &str) -> String {
    TOKEN_COLUMNS
        .iter()
        .chain(std::iter::once(&"cost_nano_usd"))
        .map(|c| format!("COALESCE(CAST(SUM({table}.{c}) AS BIGINT), 0) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_usage(json: &str, session: &str) -> anyhow::Result<SessionUsage> {
    serde_json::from_str(json)
        .with_context(|| format!("stored usage of session {session} is not valid JSON"))
}

impl Store {
    /// Writes a batch in one transaction: each session's snapshot replaces
    /// the stored one and its per-day usage is added to the daily rows.
    /// Sessions deleted meanwhile are skipped (the `EXISTS` guards), so one
    /// deleted session cannot make every later flush fail.
    pub async fn write_usage(&self, batch: &[UsageWrite]) -> anyhow::Result<()> {
        let backend = self.db.get_database_backend();
        let txn = self.db.begin().await.context("starting a usage flush")?;
        let snapshot_sql = "INSERT INTO session_usage
                (session_id, usage_json, tokens_total, cost_nano_usd, unpriced, requests, updated_at)
            SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)
            ON CONFLICT (session_id) DO UPDATE SET
                usage_json = excluded.usage_json,
                tokens_total = excluded.tokens_total,
                cost_nano_usd = excluded.cost_nano_usd,
                unpriced = excluded.unpriced,
                requests = excluded.requests,
                updated_at = excluded.updated_at";
        let added = TOKEN_COLUMNS
            .iter()
            .chain(std::iter::once(&"cost_nano_usd"))
            .map(|c| format!("{c} = usage_daily.{c} + excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let daily_sql = format!(
            "INSERT INTO usage_daily (session_id, day, {}, cost_nano_usd)
            SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)
            ON CONFLICT (session_id, day) DO UPDATE SET {added}",
            TOKEN_COLUMNS.join(", ")
        );
        for write in batch {
            let id = write.session_id.to_string();
            let usage = &write.usage;
            let json = serde_json::to_string(usage).context("serializing usage")?;
            let values = vec![
                DbValue::from(id.clone()),
                DbValue::from(json),
                to_db(usage.tokens.total()),
                to_db(usage.cost_nano_usd),
                DbValue::from(i64::from(!usage.unpriced_models.is_empty())),
                to_db(usage.requests),
                DbValue::from(write.received_at),
                DbValue::from(id.clone()),
            ];
            txn.execute_raw(statement(backend, snapshot_sql, values))
                .await
                .context("writing a usage snapshot")?;
            for (day, totals) in &write.days {
                let mut values = vec![DbValue::from(id.clone()), DbValue::from(day.clone())];
                values.extend(token_values(&totals.tokens).into_iter().map(to_db));
                values.push(to_db(totals.cost_nano_usd));
                values.push(DbValue::from(id.clone()));
                txn.execute_raw(statement(backend, &daily_sql, values))
                    .await
                    .context("adding daily usage")?;
            }
        }
        txn.commit().await.context("committing a usage flush")?;
        Ok(())
    }

    /// What is stored for a session: its snapshot and the sum of its daily rows.
    pub async fn usage_baseline(&self, id: SessionId) -> anyhow::Result<UsageBaseline> {
        let backend = self.db.get_database_backend();
        let key = id.to_string();
        let stored = self
            .db
            .query_one_raw(statement(
                backend,
                "SELECT usage_json, requests FROM session_usage WHERE session_id = ?",
                vec![DbValue::from(key.clone())],
            ))
            .await?;
        let (latest, requests) = match stored {
            Some(row) => {
                let json: String = row.try_get("", "usage_json")?;
                (Some(parse_usage(&json, &key)?), from_db(&row, "requests")?)
            }
            None => (None, 0),
        };
        let sums = self
            .db
            .query_one_raw(statement(
                backend,
                &format!(
                    "SELECT {} FROM usage_daily d WHERE d.session_id = ?",
                    summed_columns("d")
                ),
                vec![DbValue::from(key)],
            ))
            .await?;
        let counted = match sums {
            Some(row) => totals_from(&row)?,
            None => UsageTotals::default(),
        };
        Ok(UsageBaseline {
            latest,
            counted,
            requests,
        })
    }

    /// One session's stored snapshot.
    pub async fn session_usage(&self, id: SessionId) -> anyhow::Result<Option<SessionUsage>> {
        let key = id.to_string();
        let row = self
            .db
            .query_one_raw(statement(
                self.db.get_database_backend(),
                "SELECT usage_json FROM session_usage WHERE session_id = ?",
                vec![DbValue::from(key.clone())],
            ))
            .await?;
        row.map(|row| {
            let json: String = row.try_get("", "usage_json")?;
            parse_usage(&json, &key)
        })
        .transpose()
    }

    /// The stored snapshots of every session, optionally of one host, in one
    /// query (the session list's companion).
    pub async fn sessions_usage(
        &self,
        host: Option<HostId>,
    ) -> anyhow::Result<HashMap<SessionId, SessionUsage>> {
        let backend = self.db.get_database_backend();
        let stmt = match host {
            Some(host) => statement(
                backend,
                "SELECT u.session_id, u.usage_json FROM session_usage u
                 JOIN sessions s ON s.id = u.session_id WHERE s.host_id = ?",
                vec![DbValue::from(host.to_string())],
            ),
            None => statement(
                backend,
                "SELECT session_id, usage_json FROM session_usage",
                vec![],
            ),
        };
        let mut usage = HashMap::new();
        for row in self.db.query_all_raw(stmt).await? {
            let id: String = row.try_get("", "session_id")?;
            let json: String = row.try_get("", "usage_json")?;
            let parsed = parse_usage(&json, &id)?;
            usage.insert(
                id.parse().context("stored session id is not a UUID")?,
                parsed,
            );
        }
        Ok(usage)
    }

    /// Counted usage per agent and host name, for the Prometheus counters.
    pub async fn usage_by_agent_and_host(&self) -> anyhow::Result<Vec<AgentHostUsage>> {
        let backend = self.db.get_database_backend();
        let daily = self
            .db
            .query_all_raw(statement(
                backend,
                &format!(
                    "SELECT s.profile AS agent, h.name AS host, {}
                     FROM usage_daily d
                     JOIN sessions s ON s.id = d.session_id
                     JOIN hosts h ON h.id = s.host_id
                     GROUP BY s.profile, h.name",
                    summed_columns("d")
                ),
                vec![],
            ))
            .await?;
        let mut by_key: HashMap<(String, String), AgentHostUsage> = HashMap::new();
        for row in daily {
            let agent: String = row.try_get("", "agent")?;
            let host: String = row.try_get("", "host")?;
            let totals = totals_from(&row)?;
            by_key
                .entry((agent.clone(), host.clone()))
                .or_insert_with(|| AgentHostUsage {
                    agent,
                    host,
                    ..AgentHostUsage::default()
                })
                .totals = totals;
        }
        let requests = self
            .db
            .query_all_raw(statement(
                backend,
                "SELECT s.profile AS agent, h.name AS host,
                        COALESCE(CAST(SUM(u.requests) AS BIGINT), 0) AS requests
                 FROM session_usage u
                 JOIN sessions s ON s.id = u.session_id
                 JOIN hosts h ON h.id = s.host_id
                 GROUP BY s.profile, h.name",
                vec![],
            ))
            .await?;
        for row in requests {
            let agent: String = row.try_get("", "agent")?;
            let host: String = row.try_get("", "host")?;
            let count = from_db(&row, "requests")?;
            by_key
                .entry((agent.clone(), host.clone()))
                .or_insert_with(|| AgentHostUsage {
                    agent,
                    host,
                    ..AgentHostUsage::default()
                })
                .requests = count;
        }
        let mut all: Vec<AgentHostUsage> = by_key.into_values().collect();
        all.sort_by(|a, b| (&a.agent, &a.host).cmp(&(&b.agent, &b.host)));
        Ok(all)
    }

    /// Usage in `range` grouped one way (unsorted), and the total row.
    pub async fn usage_report(
        &self,
        group_by: UsageGroupBy,
        range: &DayRange,
    ) -> anyhow::Result<(Vec<UsageRow>, UsageRow)> {
        let backend = self.db.get_database_backend();
        let (key, label) = match group_by {
            UsageGroupBy::Host => ("s.host_id", "h.name"),
            UsageGroupBy::Project => ("s.project", "s.project"),
            UsageGroupBy::Agent => ("s.profile", "s.profile"),
            UsageGroupBy::Day => ("d.day", "d.day"),
        };
        let from = range.from.clone().unwrap_or_else(|| "0000-01-01".into());
        let to = range.to.clone().unwrap_or_else(|| "9999-12-31".into());
        let body = format!(
            "COUNT(DISTINCT d.session_id) AS sessions,
             COUNT(DISTINCT CASE WHEN u.unpriced <> 0 THEN d.session_id END) AS unpriced_sessions,
             {}
             FROM usage_daily d
             JOIN sessions s ON s.id = d.session_id
             JOIN hosts h ON h.id = s.host_id
             LEFT JOIN session_usage u ON u.session_id = d.session_id
             WHERE d.day >= ? AND d.day <= ?",
            summed_columns("d")
        );
        let grouped = self
            .db
            .query_all_raw(statement(
                backend,
                &format!(
                    "SELECT {key} AS group_key, {label} AS group_label, {body}
                     GROUP BY {key}, {label}"
                ),
                vec![DbValue::from(from.clone()), DbValue::from(to.clone())],
            ))
            .await?;
        let mut rows = Vec::with_capacity(grouped.len());
        for row in grouped {
            rows.push(usage_row(
                &row,
                row.try_get("", "group_key")?,
                row.try_get("", "group_label")?,
            )?);
        }
        let total = self
            .db
            .query_one_raw(statement(
                backend,
                &format!("SELECT {body}"),
                vec![DbValue::from(from), DbValue::from(to)],
            ))
            .await?
            .context("an aggregate query returned no row")?;
        let total = usage_row(&total, "total".into(), "Total".into())?;
        Ok((rows, total))
    }

    /// How many sessions are in each state.
    pub async fn session_counts_by_state(&self) -> anyhow::Result<Vec<(SessionState, u64)>> {
        let rows = self
            .db
            .query_all_raw(statement(
                self.db.get_database_backend(),
                "SELECT state, COUNT(*) AS n FROM sessions GROUP BY state",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("", "state")?;
                let state = SessionState::parse(&state)
                    .with_context(|| format!("sessions.state {state:?} is unknown"))?;
                Ok((state, from_db(row, "n")?))
            })
            .collect()
    }
}

fn usage_row(row: &QueryResult, key: String, label: String) -> anyhow::Result<UsageRow> {
    let totals = totals_from(row)?;
    Ok(UsageRow {
        key,
        label,
        sessions: from_db(row, "sessions")?,
        tokens: totals.tokens,
        cost_nano_usd: totals.cost_nano_usd,
        unpriced_sessions: from_db(row, "unpriced_sessions")?,
    })
}
