//! Prometheus metrics of the hub at `/metrics`, in the OpenMetrics text
//! format (the `prometheus-client` crate, maintained by the Prometheus
//! project, encodes it).
//!
//! Gauges (sessions by state, hosts online) are read when scraped. Counters
//! (tokens, cost, OTLP requests by agent and host) start from what the
//! database has counted and grow with every report's increase (see
//! `crate::usage`), so they equal the sums of `usage_daily` across hub
//! restarts.
//!
//! Access: on the main listener `/metrics` needs a login cookie or
//! `Authorization: Bearer <token>` with the token from
//! `--metrics-token-file`; `--metrics-listen` serves it without
//! authentication on a separate listener meant for loopback or a private
//! network.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flotilla_protocol::ErrorCode;
use flotilla_protocol::rest::SessionState;
use flotilla_protocol::usage::NANO_USD_PER_USD;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

use crate::App;
use crate::auth::{self, Secret};
use crate::error::ApiError;
use crate::store::{AgentHostUsage, Store};
use crate::usage::{Increase, UsageLabels};

/// The content type of the OpenMetrics text format.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

const STATES: [SessionState; 5] = [
    SessionState::Starting,
    SessionState::Running,
    SessionState::Exited,
    SessionState::Failed,
    SessionState::Lost,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AgentHostLabels {
    agent: String,
    host: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    agent: String,
    host: String,
    r#type: String,
}

/// A counter of USD kept as integer nano-USD, so sums stay exact and the
/// exposed value is the nearest double to the exact amount.
#[derive(Debug, Clone, Default)]
struct UsdCounter(Arc<AtomicU64>);

impl UsdCounter {
    fn add_nano(&self, nano: u64) {
        self.0.fetch_add(nano, Ordering::Relaxed);
    }
}

impl TypedMetric for UsdCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for UsdCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let usd = self.0.load(Ordering::Relaxed) as f64 / NANO_USD_PER_USD as f64;
        encoder.encode_counter::<NoLabelSet, _, f64>(&usd, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// The hub's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sessions: Family<StateLabels, Gauge>,
    hosts_online: Gauge,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<AgentHostLabels, UsdCounter>,
    requests: Family<AgentHostLabels, Counter>,
    frames_refused: Counter,
    handler_panics: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let sessions = Family::<StateLabels, Gauge>::default();
        let hosts_online = Gauge::default();
        let tokens = Family::<TokenLabels, Counter>::default();
        let cost = Family::<AgentHostLabels, UsdCounter>::default();
        let requests = Family::<AgentHostLabels, Counter>::default();
        registry.register("flotilla_sessions", "Sessions by state", sessions.clone());
        registry.register(
            "flotilla_hosts_online",
            "Hosts whose daemon is connected",
            hosts_online.clone(),
        );
        registry.register(
            "flotilla_tokens",
            "Tokens used by agent, host and token type",
            tokens.clone(),
        );
        registry.register(
            "flotilla_cost_usd",
            "Known cost in USD by agent and host (unpriced models excluded)",
            cost.clone(),
        );
        registry.register(
            "flotilla_otlp_requests",
            "OTLP requests attributed to sessions, by agent and host",
            requests.clone(),
        );
        let frames_refused = Counter::default();
        registry.register(
            "flotilla_output_frames_refused",
            "Output frames from daemons refused as invalid (offset past 2^64)",
            frames_refused.clone(),
        );
        let handler_panics = Counter::default();
        registry.register(
            "flotilla_handler_panics",
            "Messages dropped because their handler panicked (a bug; see the log)",
            handler_panics.clone(),
        );
        Metrics {
            registry,
            sessions,
            hosts_online,
            tokens,
            cost,
            requests,
            frames_refused,
            handler_panics,
        }
    }
}

impl Metrics {
    /// Metrics whose counters start from what the database has counted.
    pub async fn load(store: &Store) -> anyhow::Result<Metrics> {
        let metrics = Metrics::default();
        for AgentHostUsage {
            agent,
            host,
            totals,
            requests,
        } in store.usage_by_agent_and_host().await?
        {
            metrics.add_usage(&UsageLabels { agent, host }, &Increase { totals, requests });
        }
        Ok(metrics)
    }

    /// Counts a report's increase.
    pub fn add_usage(&self, labels: &UsageLabels, added: &Increase) {
        let tokens = &added.totals.tokens;
        for (kind, n) in [
            ("input", tokens.input),
            ("output", tokens.output),
            ("cache_read", tokens.cache_read),
            ("cache_write", tokens.cache_write),
            ("reasoning", tokens.reasoning),
            ("tool", tokens.tool),
            ("other", tokens.other),
        ] {
            if n > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        agent: labels.agent.clone(),
                        host: labels.host.clone(),
                        r#type: kind.to_owned(),
                    })
                    .inc_by(n);
            }
        }
        let agent_host = AgentHostLabels {
            agent: labels.agent.clone(),
            host: labels.host.clone(),
        };
        if added.totals.cost_nano_usd > 0 {
            self.cost
                .get_or_create(&agent_host)
                .add_nano(added.totals.cost_nano_usd);
        }
        if added.requests > 0 {
            self.requests
                .get_or_create(&agent_host)
                .inc_by(added.requests);
        }
    }

    /// Counts an output frame the relay refused.
    pub fn frame_refused(&self) {
        self.frames_refused.inc();
    }

    /// Counts a message whose handler panicked.
    pub fn handler_panicked(&self) {
        self.handler_panics.inc();
    }

    /// Reads the gauges and encodes everything.
    pub async fn render(&self, app: &App) -> anyhow::Result<String> {
        let counts = app.store.session_counts_by_state().await?;
        for state in STATES {
            let n = counts
                .iter()
                .find(|(counted, _)| *counted == state)
                .map_or(0, |(_, n)| *n);
            self.sessions
                .get_or_create(&StateLabels {
                    state: state.as_str().to_owned(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.hosts_online
            .set(i64::try_from(app.daemons.online_count()).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// `Bearer <token>` from the `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Compares a presented token with the configured one in constant time:
/// both are hashed first, so the comparison's duration says nothing about
/// the token, and the digests are compared without an early exit.
pub fn token_matches(presented: &str, expected: &Secret) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.expose().as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn respond(app: &App) -> Result<Response, ApiError> {
    let text = app.metrics.render(app).await?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_OPENMETRICS),
    );
    Ok(response)
}

/// `/metrics` on the main listener: a login cookie or the metrics bearer token.
pub async fn authenticated(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let by_token = match (bearer(&headers), &app.config.metrics_token) {
        (Some(presented), Some(expected)) => token_matches(presented, expected),
        _ => false,
    };
    if !by_token && auth::user_from_headers(&app, &headers).await?.is_none() {
        let mut response = ApiError::new(
            ErrorCode::Unauthorized,
            "log in, or send Authorization: Bearer with the token from --metrics-token-file",
        )
        .into_response();
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(response);
    }
    respond(&app).await
}

/// The router of the separate, unauthenticated metrics listener.
pub fn open_router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(app): State<Arc<App>>| async move { respond(&app).await }),
        )
        .with_state(app)
}

#[cfg(test)]
mod tests;
