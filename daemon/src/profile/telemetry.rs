//! The `telemetry` section: which OTLP metrics and events of this agent mean
//! tokens, cost, activity and run time, how the agent's token types map onto
//! the canonical ones, and the price table used when the agent reports no
//! cost of its own. The mapping is per profile: one agent's metric names
//! never affect another's sessions, and no metric name is known to the code.
//!
//! Token source rule: when a profile maps any token metric, metrics are the
//! only source of token totals, and the per-request event only gives the
//! context-window figure (adding both would count every token twice). A
//! profile without token metrics but with an `api_request` event sums the
//! events instead.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// How to read an agent's OTLP telemetry.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// Counters (or histograms, whose `sum` is used) of tokens. When any is
    /// listed, metrics are the token source and `events.api_request` only
    /// gives the context-window figure.
    #[serde(default)]
    pub token_metrics: Vec<TokenMetric>,
    /// The data-point attribute naming the model on token and cost metrics.
    /// Data points without it count for the model `""`.
    #[serde(default = "default_model_attribute")]
    pub model_attribute: String,
    /// A counter of cost in USD, per model (by `model_attribute`). When a
    /// model has data points of it, they are its cost; otherwise the model is
    /// priced from `pricing`.
    #[serde(default)]
    pub cost_metric: Option<String>,
    /// Metrics whose data points name what the agent is doing (a tool, a
    /// decision). The latest data point that counted up is the session's
    /// activity.
    #[serde(default)]
    pub activity_metrics: Vec<ActivityMetric>,
    /// A counter (or histogram, whose `sum` is used) of active run time. Its
    /// series are summed.
    #[serde(default)]
    pub runtime_metric: Option<RuntimeMetric>,
    /// Metric names never counted, even when they look like token metrics
    /// (e.g. generic GenAI metrics that would count the same tokens twice).
    #[serde(default)]
    pub excluded_metrics: Vec<String>,
    /// Log events that carry per-request usage.
    #[serde(default)]
    pub events: TelemetryEvents,
    /// Prices per model, used when the agent reports no cost.
    #[serde(default)]
    pub pricing: Vec<Price>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            token_metrics: Vec::new(),
            model_attribute: default_model_attribute(),
            cost_metric: None,
            activity_metrics: Vec::new(),
            runtime_metric: None,
            excluded_metrics: Vec::new(),
            events: TelemetryEvents::default(),
            pricing: Vec::new(),
        }
    }
}

fn default_model_attribute() -> String {
    "model".to_owned()
}

/// A token metric: the data-point attribute that names the token type, and
/// what each of the agent's type names means.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenMetric {
    /// The metric name, e.g. `claude_code.token.usage`.
    pub name: String,
    /// The attribute naming the token type, e.g. `type` or `token_type`.
    pub type_attribute: String,
    /// The agent's values of `type_attribute` and the canonical type each one
    /// counts as (`input`, `output`, `cache_read`, `cache_write`,
    /// `reasoning`, `tool`), or `ignore` for values that would count tokens
    /// twice (such as a `total`). Values not listed count as `other`.
    #[serde(default)]
    pub types: BTreeMap<String, TokenTypeMapping>,
    /// Canonical types whose count, as this agent reports it, already
    /// contains other types: e.g. `input: [cache_read]` when the agent's
    /// input count includes the cached tokens it also reports apart. The
    /// included counts are subtracted so every token is counted once.
    #[serde(default)]
    pub includes: Includes,
}

/// Canonical types whose reported count already contains other canonical
/// types' counts.
pub type Includes = BTreeMap<TokenType, Vec<TokenType>>;

/// A canonical token type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// Prompt tokens not served from a cache.
    Input,
    /// Generated tokens.
    Output,
    /// Prompt tokens read from a cache.
    CacheRead,
    /// Prompt tokens written to a cache (cache creation).
    CacheWrite,
    /// Reasoning ("thinking") tokens reported apart from output.
    Reasoning,
    /// Tool tokens reported apart.
    Tool,
}

impl TokenType {
    /// Every canonical type.
    pub const ALL: [TokenType; 6] = [
        TokenType::Input,
        TokenType::Output,
        TokenType::CacheRead,
        TokenType::CacheWrite,
        TokenType::Reasoning,
        TokenType::Tool,
    ];

    /// The name used in profiles.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Input => "input",
            TokenType::Output => "output",
            TokenType::CacheRead => "cache_read",
            TokenType::CacheWrite => "cache_write",
            TokenType::Reasoning => "reasoning",
            TokenType::Tool => "tool",
        }
    }
}

/// What one of the agent's token type names counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeMapping {
    /// Prompt tokens not served from a cache.
    Input,
    /// Generated tokens.
    Output,
    /// Prompt tokens read from a cache.
    CacheRead,
    /// Prompt tokens written to a cache (cache creation).
    CacheWrite,
    /// Reasoning ("thinking") tokens reported apart from output.
    Reasoning,
    /// Tool tokens reported apart.
    Tool,
    /// Tokens of a type without a canonical name (the default for values not
    /// listed).
    Other,
    /// Not counted: the value duplicates others (e.g. a `total`).
    Ignore,
}

impl TokenTypeMapping {
    /// The canonical type, when this is one.
    pub fn canonical(self) -> Option<TokenType> {
        match self {
            TokenTypeMapping::Input => Some(TokenType::Input),
            TokenTypeMapping::Output => Some(TokenType::Output),
            TokenTypeMapping::CacheRead => Some(TokenType::CacheRead),
            TokenTypeMapping::CacheWrite => Some(TokenType::CacheWrite),
            TokenTypeMapping::Reasoning => Some(TokenType::Reasoning),
            TokenTypeMapping::Tool => Some(TokenType::Tool),
            TokenTypeMapping::Other | TokenTypeMapping::Ignore => None,
        }
    }
}

/// A metric whose data points name an activity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityMetric {
    /// The metric name, e.g. `claude_code.code_edit_tool.decision`.
    pub name: String,
    /// Data-point attributes whose values, joined by spaces, name the
    /// activity: `[tool_name, decision]` gives e.g. `Edit accept`. Missing
    /// attributes are skipped; with none present the metric name is used.
    #[serde(default)]
    pub attributes: Vec<String>,
}

/// A run-time metric and its unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeMetric {
    /// The metric name, e.g. `claude_code.active_time.total`.
    pub name: String,
    /// The unit of its values.
    #[serde(default)]
    pub unit: TimeUnit,
}

/// A unit of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Seconds (the default).
    #[default]
    Seconds,
    /// Milliseconds.
    Milliseconds,
}

/// Log events with usage data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetryEvents {
    /// The event emitted once per model request.
    #[serde(default)]
    pub api_request: Option<ApiRequestEvent>,
}

/// A per-request event and the names of its attributes. An attribute left
/// out is not reported by this agent. The latest main-model request gives
/// the context-window figure (input + cache read + cache write tokens); the
/// events are the token source only when the profile maps no token metric.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiRequestEvent {
    /// The event name, e.g. `claude_code.api_request`: matched against the
    /// record's event name, its `event.name` attribute and its body.
    pub name: String,
    /// Only records whose attributes all match count: attribute name →
    /// regular expression matched against the whole value, e.g.
    /// `event.kind: response.completed`. A record without the attribute does
    /// not count.
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
    /// Which records are requests of the main model, for the context figure:
    /// attribute name → regular expression matched against the whole value,
    /// e.g. `query_source: main|sdk|repl_main_thread.*`. A record without
    /// the attribute counts as a main request (agents that do not tag
    /// requests). Empty: every request.
    #[serde(default)]
    pub main_request: BTreeMap<String, String>,
    /// The attribute with the model name.
    #[serde(default)]
    pub model: Option<String>,
    /// The attribute with input tokens.
    #[serde(default)]
    pub input_tokens: Option<String>,
    /// The attribute with output tokens.
    #[serde(default)]
    pub output_tokens: Option<String>,
    /// The attribute with cache-read tokens.
    #[serde(default)]
    pub cache_read_tokens: Option<String>,
    /// The attribute with cache-creation (cache write) tokens.
    #[serde(default)]
    pub cache_creation_tokens: Option<String>,
    /// The attribute with reasoning tokens.
    #[serde(default)]
    pub reasoning_tokens: Option<String>,
    /// The attribute with tool tokens.
    #[serde(default)]
    pub tool_tokens: Option<String>,
    /// As for token metrics: canonical types whose attribute already
    /// contains other types' counts (e.g. `input: [cache_read]`).
    #[serde(default)]
    pub includes: Includes,
    /// The attribute with the request's cost in USD.
    #[serde(default)]
    pub cost: Option<String>,
}

impl ApiRequestEvent {
    /// The attribute named for each canonical type, if any.
    pub fn token_attributes(&self) -> [(TokenType, Option<&str>); 6] {
        [
            (TokenType::Input, self.input_tokens.as_deref()),
            (TokenType::Output, self.output_tokens.as_deref()),
            (TokenType::CacheRead, self.cache_read_tokens.as_deref()),
            (TokenType::CacheWrite, self.cache_creation_tokens.as_deref()),
            (TokenType::Reasoning, self.reasoning_tokens.as_deref()),
            (TokenType::Tool, self.tool_tokens.as_deref()),
        ]
    }
}

/// Prices of the models a rule matches, in USD per million tokens. A model
/// with tokens of a type that has no price here (cache reads without
/// `cache_read`, cache writes without `cache_write`, or tokens of an
/// unmapped type) is unpriced rather than guessed.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Which model names this price applies to.
    #[serde(rename = "match")]
    pub matcher: PriceMatch,
    /// Input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Cache-read tokens.
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Cache-write (cache creation) tokens.
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Reasoning tokens; the output price when left out (providers bill
    /// reasoning as output).
    #[serde(default)]
    pub reasoning: Option<f64>,
    /// Tool tokens; the input price when left out (they are prompt tokens).
    #[serde(default)]
    pub tool: Option<f64>,
    /// The model's context window, in tokens.
    #[serde(default)]
    pub context_window: Option<u64>,
}

impl Price {
    /// The price of one canonical type in USD per million tokens, `None`
    /// when this rule has none.
    pub fn per_million(&self, token_type: TokenType) -> Option<f64> {
        match token_type {
            TokenType::Input => Some(self.input),
            TokenType::Output => Some(self.output),
            TokenType::CacheRead => self.cache_read,
            TokenType::CacheWrite => self.cache_write,
            TokenType::Reasoning => Some(self.reasoning.unwrap_or(self.output)),
            TokenType::Tool => Some(self.tool.unwrap_or(self.input)),
        }
    }
}

/// How a price rule matches a model name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PriceMatch {
    /// The model name starts with this text; the longest matching prefix wins.
    Prefix(String),
    /// The model name matches this regular expression (Rust `regex` syntax);
    /// consulted in file order when no prefix matches.
    Regex(String),
}

impl Telemetry {
    /// The price for `model`: the rule with the longest matching prefix, else
    /// the first rule whose regex matches. Invalid regexes never match (they
    /// are reported by validation).
    pub fn price_for(&self, model: &str) -> Option<&Price> {
        let by_prefix = self
            .pricing
            .iter()
            .filter_map(|price| match &price.matcher {
                PriceMatch::Prefix(prefix) if model.starts_with(prefix.as_str()) => {
                    Some((prefix.len(), price))
                }
                _ => None,
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, price)| price);
        by_prefix.or_else(|| {
            self.pricing.iter().find(|price| match &price.matcher {
                PriceMatch::Regex(pattern) => {
                    regex::Regex::new(pattern).is_ok_and(|regex| regex.is_match(model))
                }
                PriceMatch::Prefix(_) => false,
            })
        })
    }
}
