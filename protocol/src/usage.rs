//! Token, cost and activity telemetry of a session, as the daemon computes it
//! from the agent's OpenTelemetry data and the hub stores, aggregates and
//! pushes it.
//!
//! Every figure is a running total for the whole session, so an update
//! replaces the previous one: a lost or repeated update never skews a total.
//! Costs are integers in nano-USD (10⁻⁹ USD) so sums are exact; the UI
//! divides for display.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Event, HostId, Reply, SessionId};

/// Nano-USD in one USD.
pub const NANO_USD_PER_USD: u64 = 1_000_000_000;

/// Token counts by canonical type. Profiles map each agent's own type names
/// (`cacheRead`, `cached_input`, `cache`, ...) onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenCounts {
    /// Prompt tokens not served from a cache.
    #[ts(type = "number")]
    pub input: u64,
    /// Generated tokens.
    #[ts(type = "number")]
    pub output: u64,
    /// Prompt tokens read from a cache.
    #[ts(type = "number")]
    pub cache_read: u64,
    /// Prompt tokens written to a cache (cache creation).
    #[ts(type = "number")]
    pub cache_write: u64,
    /// Reasoning ("thinking") tokens reported apart from output.
    #[ts(type = "number")]
    pub reasoning: u64,
    /// Tokens of tool definitions or results reported apart.
    #[ts(type = "number")]
    pub tool: u64,
    /// Tokens of a type the profile does not map.
    #[ts(type = "number")]
    pub other: u64,
}

impl TokenCounts {
    /// All tokens.
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
            .saturating_add(self.reasoning)
            .saturating_add(self.tool)
            .saturating_add(self.other)
    }

    /// Adds `other` type by type.
    pub fn add(&mut self, other: &TokenCounts) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
        self.reasoning = self.reasoning.saturating_add(other.reasoning);
        self.tool = self.tool.saturating_add(other.tool);
        self.other = self.other.saturating_add(other.other);
    }

    /// `self - earlier`, type by type, never below zero.
    pub fn since(&self, earlier: &TokenCounts) -> TokenCounts {
        TokenCounts {
            input: self.input.saturating_sub(earlier.input),
            output: self.output.saturating_sub(earlier.output),
            cache_read: self.cache_read.saturating_sub(earlier.cache_read),
            cache_write: self.cache_write.saturating_sub(earlier.cache_write),
            reasoning: self.reasoning.saturating_sub(earlier.reasoning),
            tool: self.tool.saturating_sub(earlier.tool),
            other: self.other.saturating_sub(earlier.other),
        }
    }
}

/// Where a model's cost figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CostSource {
    /// The agent's own cost metric.
    Reported,
    /// Tokens × the profile's price table.
    Priced,
    /// Neither: the model has no price in the profile. Shown as "unpriced",
    /// never guessed.
    Unpriced,
}

/// One model's share of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelUsage {
    /// The model name as the agent reports it (`""` when it names none).
    pub model: String,
    /// Its tokens.
    pub tokens: TokenCounts,
    /// Its cost in nano-USD; `None` when unpriced.
    #[ts(type = "number | null")]
    pub cost_nano_usd: Option<u64>,
    /// Where the cost comes from.
    pub cost_source: CostSource,
}

/// How full the model's context window is, from the latest main-model
/// request: input + cache read + cache creation tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextUsage {
    /// The model of that request.
    pub model: String,
    /// Tokens in the context.
    #[ts(type = "number")]
    pub used_tokens: u64,
    /// The model's window from the profile's price table, when known.
    #[ts(type = "number | null")]
    pub window_tokens: Option<u64>,
}

/// What the agent did last, from the profile's activity metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    /// A short description, e.g. `Edit accept`.
    pub name: String,
    /// When, in milliseconds since the Unix epoch.
    #[ts(type = "number")]
    pub at_unix_ms: u64,
}

/// A session's telemetry totals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionUsage {
    /// Tokens over all models.
    pub tokens: TokenCounts,
    /// Known cost over all models, in nano-USD.
    #[ts(type = "number")]
    pub cost_nano_usd: u64,
    /// Models with tokens but no cost: their cost is not in
    /// `cost_nano_usd`.
    pub unpriced_models: Vec<String>,
    /// Per-model breakdown, sorted by model name.
    pub models: Vec<ModelUsage>,
    /// Context-window use, once a request event arrived.
    pub context: Option<ContextUsage>,
    /// The latest activity.
    pub activity: Option<Activity>,
    /// Active time the agent reported, in milliseconds.
    #[ts(type = "number")]
    pub active_ms: u64,
    /// OTLP requests attributed to this session.
    #[ts(type = "number")]
    pub requests: u64,
    /// When the daemon last changed these figures, in milliseconds since the
    /// Unix epoch.
    #[ts(type = "number")]
    pub updated_at_unix_ms: u64,
}

/// Daemon → hub: a session's totals changed. Sent at most about once per
/// second per session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionUsageReport {
    /// The session.
    pub session_id: SessionId,
    /// Its totals, replacing earlier ones.
    pub usage: SessionUsage,
}

impl Event for SessionUsageReport {
    const NAME: &'static str = "session:usage";
    type Ack = ();
}

/// Hub → UI: a watched session's totals changed. Sent to viewers attached to
/// the session and to UIs watching its host ([`WatchHost`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionUsageUpdated {
    /// The session.
    pub session_id: SessionId,
    /// Its host.
    pub host_id: HostId,
    /// Its totals.
    pub usage: SessionUsage,
}

impl Event for SessionUsageUpdated {
    const NAME: &'static str = "session:usage";
    type Ack = ();
}

/// UI → hub: send this UI the usage updates of every session on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WatchHost {
    /// The host.
    pub host_id: HostId,
}

impl Event for WatchHost {
    const NAME: &'static str = "host:watch";
    type Ack = Reply<()>;
}

/// UI → hub: stop [`WatchHost`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UnwatchHost {
    /// The host.
    pub host_id: HostId,
}

impl Event for UnwatchHost {
    const NAME: &'static str = "host:unwatch";
    type Ack = Reply<()>;
}

/// What `GET /api/usage` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UsageGroupBy {
    /// The host a session ran on.
    Host,
    /// The project directory.
    Project,
    /// The agent profile.
    Agent,
    /// The UTC day the tokens were used on.
    Day,
}

/// One group of `GET /api/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageRow {
    /// The group's key: a host id, project path, profile name or `YYYY-MM-DD`.
    pub key: String,
    /// A name to show (the host's name for hosts; else the key).
    pub label: String,
    /// Sessions with usage in this group.
    #[ts(type = "number")]
    pub sessions: u64,
    /// Their tokens.
    pub tokens: TokenCounts,
    /// Their known cost in nano-USD.
    #[ts(type = "number")]
    pub cost_nano_usd: u64,
    /// Sessions in this group with an unpriced model.
    #[ts(type = "number")]
    pub unpriced_sessions: u64,
}

/// `GET /api/usage`: cost and tokens grouped one way, largest cost first
/// (by date for days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    /// The grouping.
    pub group_by: UsageGroupBy,
    /// The groups.
    pub rows: Vec<UsageRow>,
    /// The sum of all rows.
    pub total: UsageRow,
}
