//! The `telemetry` section: which OTLP metrics and events of this agent mean
//! tokens, cost, activity and run time, and the price table used when the
//! agent reports no cost of its own. The mapping is per profile: one agent's
//! metric names never affect another's sessions.

use schemars::JsonSchema;
use serde::Deserialize;

/// How to read an agent's OTLP telemetry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// Counters (or histograms) of tokens.
    #[serde(default)]
    pub token_metrics: Vec<TokenMetric>,
    /// A counter of cost in USD.
    #[serde(default)]
    pub cost_metric: Option<String>,
    /// Metrics whose data points name the current tool or function.
    #[serde(default)]
    pub activity_metrics: Vec<String>,
    /// A counter of active run time.
    #[serde(default)]
    pub runtime_metric: Option<RuntimeMetric>,
    /// Metric names to ignore even when they look like token metrics (e.g.
    /// generic GenAI metrics that would count the same tokens twice).
    #[serde(default)]
    pub excluded_metrics: Vec<String>,
    /// Log events that carry per-request usage.
    #[serde(default)]
    pub events: TelemetryEvents,
    /// Prices per model, used when the agent reports no cost.
    #[serde(default)]
    pub pricing: Vec<Price>,
}

/// A token metric and the data-point attribute that names the token type
/// (input, output, cache read, ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenMetric {
    /// The metric name, e.g. `claude_code.token.usage`.
    pub name: String,
    /// The attribute naming the token type, e.g. `type` or `token_type`.
    pub type_attribute: String,
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
/// out is not reported by this agent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiRequestEvent {
    /// The event name, e.g. `claude_code.api_request`.
    pub name: String,
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
    /// The attribute with the request's cost in USD.
    #[serde(default)]
    pub cost: Option<String>,
}

/// Prices of the models a rule matches, in USD per million tokens.
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
    /// The model's context window, in tokens.
    #[serde(default)]
    pub context_window: Option<u64>,
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
