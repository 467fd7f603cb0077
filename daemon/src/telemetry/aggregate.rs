//! The pure aggregation core of the OTLP receiver: one [`SessionTelemetry`]
//! per session turns the agent's OTLP metrics and log events into exact
//! running totals ([`SessionUsage`]), using only the session's profile
//! mapping (no metric name is known to the code).
//!
//! Metrics: each series (resource attributes, scope, metric name and
//! data-point attributes) keeps its own total by its aggregation temporality
//! ([`series`]): deltas are summed, cumulative values replace each other with
//! resets banked, gauges keep their latest value. Totals are sums over
//! series, by model and canonical token type; histograms count their `sum`.
//!
//! Events: the latest main-model request gives the context-window figure.
//! Event tokens are added to the totals only when the profile maps no token
//! metric (they count the same tokens as the metrics).
//!
//! Cost per model: the agent's cost metric when it has data for the model,
//! else (events as token source) the events' cost, else tokens × the
//! profile's price table, else unpriced — never guessed. All amounts are
//! integers (tokens, nano-USD, milliseconds), each reported number rounded
//! once ([`units`]).
//!
//! Everything is bounded: [`MAX_SERIES`] series and [`MAX_SERIES_KEY_BYTES`]
//! of series keys, [`MAX_MODELS`] models per session; data beyond a bound is
//! rejected with a message, and no input panics.

mod attributes;
mod events;
mod series;
#[cfg(test)]
mod tests;
mod units;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use flotilla_protocol::usage::{
    Activity, ContextUsage, CostSource, ModelUsage, SessionUsage, TokenCounts,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, DataPointFlags, Metric, ResourceMetrics,
};

use self::attributes::{clip, encode_set, encode_text, text, truncate};
use self::events::EventMatchers;
use self::series::{Counter, Outcome, Temporality};
use self::units::{Amount, NANO_USD, count_mut, priced_cost, to_units};
use crate::profile::telemetry::{
    Includes, Price, Telemetry, TimeUnit, TokenType, TokenTypeMapping,
};

/// Series one session may hold. Data points of further series are rejected.
pub const MAX_SERIES: usize = 10_000;
/// Bytes of series keys (encoded attribute sets) one session may hold.
pub const MAX_SERIES_KEY_BYTES: usize = 16 * 1024 * 1024;
/// Models one session may count. Data of further models is rejected.
pub const MAX_MODELS: usize = 64;
/// Longest model name accepted; activity names are cut to this length.
pub const MAX_NAME_BYTES: usize = 256;
/// Event records remembered to drop a re-sent copy.
const RECENT_EVENTS: usize = 4096;

/// What one call did with the data it was given, counted in data points
/// (metrics) or log records (logs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// Used for the totals.
    pub accepted: u64,
    /// Not needed: unmapped or excluded metrics, other events, filtered-out
    /// records, ignored token types, and repeated or older points.
    pub ignored: u64,
    /// Malformed (no temporality, no value, negative, non-finite or too
    /// large numbers) or beyond a limit.
    pub rejected: u64,
    /// Why the first rejected item was rejected.
    pub first_error: Option<String>,
}

impl Ingested {
    /// Adds `other`'s counts; the earlier first error is kept.
    pub fn add(&mut self, other: Ingested) {
        self.accepted += other.accepted;
        self.ignored += other.ignored;
        self.rejected += other.rejected;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn reject(&mut self, count: u64, message: impl FnOnce() -> String) {
        self.rejected += count;
        if self.first_error.is_none() && count > 0 {
            self.first_error = Some(message());
        }
    }
}

/// The running telemetry of one session.
#[derive(Debug)]
pub struct SessionTelemetry {
    mapping: Arc<Telemetry>,
    /// `events.api_request`'s matchers, compiled once.
    event_matchers: EventMatchers,
    series: HashMap<String, Series>,
    series_key_bytes: usize,
    models: BTreeMap<String, ModelState>,
    activity: Option<Activity>,
    /// The latest main-model request: its time (Unix ns) and figures.
    context: Option<(u64, ContextUsage)>,
    recent_events: HashSet<u64>,
    recent_event_order: VecDeque<u64>,
    requests: u64,
    updated_at_unix_ms: u64,
    changed: bool,
    /// Reused to build series keys without an allocation per point.
    key: String,
}

#[derive(Debug)]
struct Series {
    role: Role,
    counter: Counter,
}

/// What a series counts, fixed when it is first seen (its attributes, and
/// so its model and type, are part of its key).
#[derive(Debug)]
enum Role {
    Tokens {
        model: String,
        /// Index into the profile's `token_metrics`.
        metric: usize,
        /// Never `Ignore`: such points are not stored.
        mapping: TokenTypeMapping,
    },
    Cost {
        model: String,
    },
    Runtime,
    Activity {
        name: String,
    },
}

/// What a metric is, by its name.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Tokens(usize),
    Cost,
    Runtime,
    Activity(usize),
}

#[derive(Debug, Default)]
struct ModelState {
    /// `price_for(model)`, looked up once.
    price: Option<Price>,
    /// Summed event tokens (used when events are the token source).
    event_tokens: TokenCounts,
    /// Summed event cost in nano-USD, when any event reported one.
    event_cost_nano: Option<u64>,
}

/// One data point, whatever its metric type.
struct Point<'a> {
    attributes: &'a [KeyValue],
    start: u64,
    time: u64,
    flags: u32,
    /// `None` when the point carries no value (or a histogram no sum).
    amount: Option<Amount>,
}

impl SessionTelemetry {
    /// `mapping` is the session's profile telemetry section, fixed at spawn.
    pub fn new(mapping: Arc<Telemetry>) -> Self {
        let event_matchers = EventMatchers::new(mapping.events.api_request.as_ref());
        SessionTelemetry {
            mapping,
            event_matchers,
            series: HashMap::new(),
            series_key_bytes: 0,
            models: BTreeMap::new(),
            activity: None,
            context: None,
            recent_events: HashSet::new(),
            recent_event_order: VecDeque::new(),
            requests: 0,
            updated_at_unix_ms: 0,
            changed: false,
            key: String::new(),
        }
    }

    /// Applies one ResourceMetrics of an OTLP export request. Returns how
    /// many data points were used, ignored (excluded or unmapped metrics,
    /// ignored token types, repeated or older points) and rejected
    /// (malformed, e.g. a sum with no temporality, a NaN or negative value;
    /// or beyond a limit), with a message for the first rejection.
    pub fn ingest_metrics(&mut self, metrics: &ResourceMetrics, now_unix_ms: u64) -> Ingested {
        let mut ingested = Ingested::default();
        let mut resource_key = String::from("R");
        if let Some(resource) = &metrics.resource {
            encode_set(&mut resource_key, &resource.attributes);
        } else {
            encode_set(&mut resource_key, &[]);
        }
        for scope_metrics in &metrics.scope_metrics {
            let mut prefix = resource_key.clone();
            prefix.push('S');
            match &scope_metrics.scope {
                Some(scope) => {
                    encode_text(&mut prefix, &scope.name);
                    encode_text(&mut prefix, &scope.version);
                    encode_set(&mut prefix, &scope.attributes);
                }
                None => prefix.push('n'),
            }
            for metric in &scope_metrics.metrics {
                self.ingest_metric(&prefix, metric, now_unix_ms, &mut ingested);
            }
        }
        ingested
    }

    /// Applies one ResourceLogs of an OTLP export request: records of the
    /// profile's `api_request` event update the context figure (and the
    /// token totals when events are the token source); other records are
    /// ignored.
    pub fn ingest_logs(&mut self, logs: &ResourceLogs, now_unix_ms: u64) -> Ingested {
        let mut ingested = Ingested::default();
        let mapping = Arc::clone(&self.mapping);
        for scope_logs in &logs.scope_logs {
            for record in &scope_logs.log_records {
                match &mapping.events.api_request {
                    Some(event) => self.ingest_record(event, record, now_unix_ms, &mut ingested),
                    None => ingested.ignored += 1,
                }
            }
        }
        ingested
    }

    /// Counts one OTLP request attributed to this session.
    pub fn count_request(&mut self) {
        self.requests = self.requests.saturating_add(1);
        self.changed = true;
    }

    /// The running totals, as sent to the hub.
    pub fn snapshot(&self) -> SessionUsage {
        // Raw counts per (model, token metric), by mapping slot; `includes`
        // applies to one metric's totals.
        let mut raw: BTreeMap<(&str, usize), [u128; SLOTS]> = BTreeMap::new();
        let mut reported: BTreeMap<&str, u128> = BTreeMap::new();
        let mut active_ms: u128 = 0;
        for series in self.series.values() {
            let total = u128::from(series.counter.total());
            match &series.role {
                Role::Tokens {
                    model,
                    metric,
                    mapping,
                } => {
                    let counts = raw.entry((model.as_str(), *metric)).or_default();
                    counts[slot(*mapping)] += total;
                }
                Role::Cost { model } => *reported.entry(model.as_str()).or_default() += total,
                Role::Runtime => active_ms += total,
                Role::Activity { .. } => {}
            }
        }
        let mut per_model: BTreeMap<&str, TokenCounts> = BTreeMap::new();
        for ((model, metric), counts) in &raw {
            let includes = &self.mapping.token_metrics[*metric].includes;
            per_model
                .entry(model)
                .or_default()
                .add(&resolve(counts, includes));
        }
        let events_are_source = self.events_are_token_source();
        if events_are_source {
            for (model, state) in &self.models {
                per_model
                    .entry(model.as_str())
                    .or_default()
                    .add(&state.event_tokens);
            }
        }
        for model in reported.keys() {
            per_model.entry(model).or_default();
        }

        let mut usage = SessionUsage::default();
        for (model, tokens) in per_model {
            let state = self.models.get(model);
            let event_cost = state
                .and_then(|state| state.event_cost_nano)
                .filter(|_| events_are_source);
            let (cost_nano_usd, cost_source) = if let Some(nano) = reported.get(model) {
                (Some(saturate(*nano)), CostSource::Reported)
            } else if let Some(nano) = event_cost {
                (Some(nano), CostSource::Reported)
            } else if tokens.total() == 0 {
                // Nothing counted for this model (zero-valued points only).
                continue;
            } else {
                match state
                    .and_then(|state| state.price.as_ref())
                    .and_then(|price| priced_cost(&tokens, price))
                {
                    Some(nano) => (Some(nano), CostSource::Priced),
                    None => (None, CostSource::Unpriced),
                }
            };
            usage.tokens.add(&tokens);
            match cost_nano_usd {
                Some(nano) => usage.cost_nano_usd = usage.cost_nano_usd.saturating_add(nano),
                None => usage.unpriced_models.push(model.to_owned()),
            }
            usage.models.push(ModelUsage {
                model: model.to_owned(),
                tokens,
                cost_nano_usd,
                cost_source,
            });
        }
        usage.context = self.context.as_ref().map(|(_, context)| context.clone());
        usage.activity = self.activity.clone();
        usage.active_ms = saturate(active_ms);
        usage.requests = self.requests;
        usage.updated_at_unix_ms = self.updated_at_unix_ms;
        usage
    }

    /// Whether anything changed since the last call (then clears the flag).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Events are the token source only when no token metric is mapped.
    fn events_are_token_source(&self) -> bool {
        self.mapping.token_metrics.is_empty() && self.mapping.events.api_request.is_some()
    }

    fn classify(&self, name: &str) -> Option<Kind> {
        let mapping = &self.mapping;
        if mapping
            .excluded_metrics
            .iter()
            .any(|excluded| excluded == name)
        {
            return None;
        }
        if let Some(index) = mapping
            .token_metrics
            .iter()
            .position(|metric| metric.name == name)
        {
            return Some(Kind::Tokens(index));
        }
        if mapping.cost_metric.as_deref() == Some(name) {
            return Some(Kind::Cost);
        }
        if mapping
            .runtime_metric
            .as_ref()
            .is_some_and(|runtime| runtime.name == name)
        {
            return Some(Kind::Runtime);
        }
        mapping
            .activity_metrics
            .iter()
            .position(|metric| metric.name == name)
            .map(Kind::Activity)
    }

    fn ingest_metric(
        &mut self,
        prefix: &str,
        metric: &Metric,
        now_unix_ms: u64,
        ingested: &mut Ingested,
    ) {
        let name = metric.name.as_str();
        let Some(kind) = self.classify(name) else {
            ingested.ignored += point_count(metric);
            return;
        };
        let Some(data) = &metric.data else {
            ingested.reject(1, || format!("metric {:?} has no data", clip(name)));
            return;
        };
        // Activity counts occurrences: a histogram's count, not its sum.
        let counts_occurrences = matches!(kind, Kind::Activity(_));
        let histogram_amount = |count: u64, sum: Option<f64>| {
            if counts_occurrences {
                Some(Amount::Count(count))
            } else {
                sum.map(Amount::Double)
            }
        };
        let mut reject_all = |what: &str| {
            ingested.reject(point_count(metric), || {
                format!("{what} {:?} has no aggregation temporality", clip(name))
            });
        };
        let target = |temporality| (prefix, name, kind, temporality);
        match data {
            Data::Sum(sum) => {
                let Some(temporality) = temporality(sum.aggregation_temporality) else {
                    return reject_all("sum");
                };
                // A non-monotonic cumulative sum is a current value, so a
                // decrease is not a reset.
                let temporality = if !sum.is_monotonic && temporality == Temporality::Cumulative {
                    Temporality::Gauge
                } else {
                    temporality
                };
                let points = sum.data_points.iter().map(|point| Point {
                    attributes: &point.attributes,
                    start: point.start_time_unix_nano,
                    time: point.time_unix_nano,
                    flags: point.flags,
                    amount: number_amount(point.value.as_ref()),
                });
                self.ingest_points(target(temporality), points, now_unix_ms, ingested);
            }
            Data::Gauge(gauge) => {
                let points = gauge.data_points.iter().map(|point| Point {
                    attributes: &point.attributes,
                    start: point.start_time_unix_nano,
                    time: point.time_unix_nano,
                    flags: point.flags,
                    amount: number_amount(point.value.as_ref()),
                });
                self.ingest_points(target(Temporality::Gauge), points, now_unix_ms, ingested);
            }
            Data::Histogram(histogram) => {
                let Some(temporality) = temporality(histogram.aggregation_temporality) else {
                    return reject_all("histogram");
                };
                let points = histogram.data_points.iter().map(|point| Point {
                    attributes: &point.attributes,
                    start: point.start_time_unix_nano,
                    time: point.time_unix_nano,
                    flags: point.flags,
                    amount: histogram_amount(point.count, point.sum),
                });
                self.ingest_points(target(temporality), points, now_unix_ms, ingested);
            }
            Data::ExponentialHistogram(histogram) => {
                let Some(temporality) = temporality(histogram.aggregation_temporality) else {
                    return reject_all("histogram");
                };
                let points = histogram.data_points.iter().map(|point| Point {
                    attributes: &point.attributes,
                    start: point.start_time_unix_nano,
                    time: point.time_unix_nano,
                    flags: point.flags,
                    amount: histogram_amount(point.count, point.sum),
                });
                self.ingest_points(target(temporality), points, now_unix_ms, ingested);
            }
            // Summaries are cumulative by definition.
            Data::Summary(summary) => {
                let points = summary.data_points.iter().map(|point| Point {
                    attributes: &point.attributes,
                    start: point.start_time_unix_nano,
                    time: point.time_unix_nano,
                    flags: point.flags,
                    amount: histogram_amount(point.count, Some(point.sum)),
                });
                self.ingest_points(
                    target(Temporality::Cumulative),
                    points,
                    now_unix_ms,
                    ingested,
                );
            }
        }
    }

    fn ingest_points<'a>(
        &mut self,
        (prefix, name, kind, temporality): (&str, &str, Kind, Temporality),
        points: impl Iterator<Item = Point<'a>>,
        now_unix_ms: u64,
        ingested: &mut Ingested,
    ) {
        for point in points {
            self.ingest_point(
                (prefix, name, kind, temporality),
                &point,
                now_unix_ms,
                ingested,
            );
        }
    }

    fn ingest_point(
        &mut self,
        (prefix, name, kind, temporality): (&str, &str, Kind, Temporality),
        point: &Point<'_>,
        now_unix_ms: u64,
        ingested: &mut Ingested,
    ) {
        if point.flags & DataPointFlags::NoRecordedValueMask as u32 != 0 {
            // An explicit "no value" marker (e.g. a series gone stale).
            ingested.ignored += 1;
            return;
        }
        let Some(amount) = point.amount else {
            ingested.reject(1, || {
                format!("{:?}: data point without a value (or sum)", clip(name))
            });
            return;
        };
        if temporality != Temporality::Delta && point.time == 0 {
            ingested.reject(1, || {
                format!("{:?}: data point without time_unix_nano", clip(name))
            });
            return;
        }
        let factor = match kind {
            Kind::Cost => NANO_USD,
            Kind::Runtime => match self
                .mapping
                .runtime_metric
                .as_ref()
                .map(|runtime| runtime.unit)
            {
                Some(TimeUnit::Seconds) => 1000,
                _ => 1,
            },
            Kind::Tokens(_) | Kind::Activity(_) => 1,
        };
        let units = match to_units(amount, factor) {
            Ok(units) => units,
            Err(message) => {
                ingested.reject(1, || format!("{:?}: {message}", clip(name)));
                return;
            }
        };

        let mut key = std::mem::take(&mut self.key);
        key.clear();
        key.push_str(prefix);
        key.push('M');
        encode_text(&mut key, name);
        key.push('P');
        encode_set(&mut key, point.attributes);
        let result = self.apply_to_series(&key, kind, temporality, point, units, now_unix_ms);
        self.key = key;
        match result {
            Ok(true) => ingested.accepted += 1,
            Ok(false) => ingested.ignored += 1,
            Err(message) => ingested.reject(1, || format!("{:?}: {message}", clip(name))),
        }
    }

    /// Applies a point to its series, creating it when new. `Ok(false)` when
    /// the point was ignored.
    fn apply_to_series(
        &mut self,
        key: &str,
        kind: Kind,
        temporality: Temporality,
        point: &Point<'_>,
        units: u64,
        now_unix_ms: u64,
    ) -> Result<bool, String> {
        if !self.series.contains_key(key) {
            let Some(role) = self.role(kind, point.attributes)? else {
                return Ok(false);
            };
            if self.series.len() >= MAX_SERIES {
                return Err(format!(
                    "series limit ({MAX_SERIES}) reached; data point of a new series dropped"
                ));
            }
            if self.series_key_bytes.saturating_add(key.len()) > MAX_SERIES_KEY_BYTES {
                return Err(format!(
                    "series key limit ({MAX_SERIES_KEY_BYTES} bytes of attributes) reached; \
                     data point of a new series dropped"
                ));
            }
            if let Role::Tokens { model, .. } | Role::Cost { model } = &role {
                self.register_model(model)?;
            }
            self.series_key_bytes += key.len();
            self.series.insert(
                key.to_owned(),
                Series {
                    role,
                    counter: Counter::new(temporality),
                },
            );
        }
        let series = self
            .series
            .get_mut(key)
            .expect("the series was found or inserted above");
        match series
            .counter
            .apply(temporality, point.start, point.time, units)
        {
            Outcome::Applied { before, after } => {
                let mut changed = before != after;
                if let Role::Activity { name } = &series.role
                    && (after > before || temporality == Temporality::Gauge)
                {
                    let at_unix_ms = if point.time == 0 {
                        now_unix_ms
                    } else {
                        (point.time / 1_000_000).min(now_unix_ms)
                    };
                    if self
                        .activity
                        .as_ref()
                        .is_none_or(|activity| at_unix_ms >= activity.at_unix_ms)
                    {
                        self.activity = Some(Activity {
                            name: name.clone(),
                            at_unix_ms,
                        });
                        changed = true;
                    }
                }
                if changed {
                    self.mark_changed(now_unix_ms);
                }
                Ok(true)
            }
            Outcome::Duplicate | Outcome::Stale => Ok(false),
            Outcome::Overflow => Err("the series total would overflow".to_owned()),
        }
    }

    /// What a new series counts; `Ok(None)` for points that are not counted
    /// (a token type mapped to `ignore`).
    fn role(&self, kind: Kind, attributes: &[KeyValue]) -> Result<Option<Role>, String> {
        let model = || -> Result<String, String> {
            let model = text(attributes, &self.mapping.model_attribute).unwrap_or_default();
            if model.len() > MAX_NAME_BYTES {
                return Err(format!(
                    "model name longer than {MAX_NAME_BYTES} bytes: {:?}",
                    clip(&model)
                ));
            }
            Ok(model.into_owned())
        };
        Ok(Some(match kind {
            Kind::Tokens(metric) => {
                let token_metric = &self.mapping.token_metrics[metric];
                let mapping = text(attributes, &token_metric.type_attribute)
                    .and_then(|value| token_metric.types.get(value.as_ref()).copied())
                    .unwrap_or(TokenTypeMapping::Other);
                if mapping == TokenTypeMapping::Ignore {
                    return Ok(None);
                }
                Role::Tokens {
                    model: model()?,
                    metric,
                    mapping,
                }
            }
            Kind::Cost => Role::Cost { model: model()? },
            Kind::Runtime => Role::Runtime,
            Kind::Activity(index) => {
                let activity = &self.mapping.activity_metrics[index];
                let parts: Vec<_> = activity
                    .attributes
                    .iter()
                    .filter_map(|attribute| text(attributes, attribute))
                    .filter(|value| !value.is_empty())
                    .collect();
                let name = if parts.is_empty() {
                    activity.name.clone()
                } else {
                    parts.join(" ")
                };
                Role::Activity {
                    name: truncate(&name, MAX_NAME_BYTES).to_owned(),
                }
            }
        }))
    }

    fn register_model(&mut self, model: &str) -> Result<(), String> {
        if self.models.contains_key(model) {
            return Ok(());
        }
        if self.models.len() >= MAX_MODELS {
            return Err(format!(
                "model limit ({MAX_MODELS}) reached; data of model {:?} dropped",
                clip(model)
            ));
        }
        let price = self.mapping.price_for(model).cloned();
        self.models.insert(
            model.to_owned(),
            ModelState {
                price,
                ..ModelState::default()
            },
        );
        Ok(())
    }

    fn mark_changed(&mut self, now_unix_ms: u64) {
        self.changed = true;
        self.updated_at_unix_ms = now_unix_ms;
    }
}

/// Slots of raw token counts: the six canonical types, then `other`.
const SLOTS: usize = 7;
const OTHER_SLOT: usize = 6;

fn slot(mapping: TokenTypeMapping) -> usize {
    match mapping.canonical() {
        Some(token_type) => token_type as usize,
        None => OTHER_SLOT,
    }
}

/// One metric's raw counts with `includes` applied, as [`TokenCounts`].
fn resolve(counts: &[u128; SLOTS], includes: &Includes) -> TokenCounts {
    let mut tokens = TokenCounts {
        other: saturate(counts[OTHER_SLOT]),
        ..TokenCounts::default()
    };
    for token_type in TokenType::ALL {
        *count_mut(&mut tokens, token_type) = saturate(counts[token_type as usize]);
    }
    subtract_included(&tokens, includes)
}

/// `reported` with every type's included types subtracted from it (never
/// below zero), so each token is counted once.
fn subtract_included(reported: &TokenCounts, includes: &Includes) -> TokenCounts {
    let mut tokens = *reported;
    for (outer, inner) in includes {
        let included = inner.iter().fold(0u64, |sum, token_type| {
            sum.saturating_add(units::count_of(reported, *token_type))
        });
        let count = count_mut(&mut tokens, *outer);
        *count = count.saturating_sub(included);
    }
    tokens
}

fn saturate(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

fn temporality(value: i32) -> Option<Temporality> {
    match AggregationTemporality::try_from(value) {
        Ok(AggregationTemporality::Delta) => Some(Temporality::Delta),
        Ok(AggregationTemporality::Cumulative) => Some(Temporality::Cumulative),
        Ok(AggregationTemporality::Unspecified) | Err(_) => None,
    }
}

fn number_amount(value: Option<&number_data_point::Value>) -> Option<Amount> {
    match value? {
        number_data_point::Value::AsInt(number) => Some(Amount::Int(*number)),
        number_data_point::Value::AsDouble(number) => Some(Amount::Double(*number)),
    }
}

fn point_count(metric: &Metric) -> u64 {
    let count = match &metric.data {
        None => 0,
        Some(Data::Sum(sum)) => sum.data_points.len(),
        Some(Data::Gauge(gauge)) => gauge.data_points.len(),
        Some(Data::Histogram(histogram)) => histogram.data_points.len(),
        Some(Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
        Some(Data::Summary(summary)) => summary.data_points.len(),
    };
    count as u64
}
