//! The OTLP/HTTP receiver: `POST /v1/{metrics,logs,traces}` and the same
//! under `/s/{session_id}/`, plus `GET /v1/status`.
//!
//! Each resource of a request is attributed to exactly one session: the
//! session in the path if there is one, else the resource attribute
//! [`SESSION_ATTRIBUTE`]. Either must name a session of the [`Registry`];
//! data that names none is counted, dropped and reported back through
//! `partial_success`, never guessed. Traces are attributed and counted but
//! not stored.
//!
//! Bodies are capped before and after decompression ([`decode`]); small
//! bodies are decoded on the worker that received them, large ones on a
//! blocking thread, at most [`HEAVY_DECODES`] at a time. Decoding never holds
//! a lock; aggregation holds one session's lock.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use flotilla_protocol::SessionId;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, metric};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::aggregate::{Ingested, SessionTelemetry};
use super::decode::{
    self, Body, Compression, DecodeError, Format, MAX_BODY_BYTES, OtlpMessage, clip,
};
use super::registry::Registry;

/// The resource attribute that names the Flotilla session (profiles set it
/// through `OTEL_RESOURCE_ATTRIBUTES`).
pub const SESSION_ATTRIBUTE: &str = "flotilla.session_id";

/// How many large bodies are inflated and decoded at once; more wait. Each
/// may hold up to [`decode::MAX_DECODED_BYTES`].
pub const HEAVY_DECODES: usize = 4;

/// Serves the receiver on `listener` until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(registry))
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await
}

/// The receiver's routes over `registry`.
pub fn router(registry: Registry) -> Router {
    let state = Receiver {
        registry,
        heavy: Arc::new(Semaphore::new(HEAVY_DECODES)),
    };
    Router::new()
        .route("/v1/metrics", post(export_unscoped::<Metrics>))
        .route("/v1/logs", post(export_unscoped::<Logs>))
        .route("/v1/traces", post(export_unscoped::<Traces>))
        .route("/s/{session_id}/v1/metrics", post(export_scoped::<Metrics>))
        .route("/s/{session_id}/v1/logs", post(export_scoped::<Logs>))
        .route("/s/{session_id}/v1/traces", post(export_scoped::<Traces>))
        .route("/v1/status", get(status))
        .fallback(not_found)
        // One more byte than the cap, so a body of exactly the cap passes
        // and anything larger is reported by `Body::start` or here.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
        .with_state(state)
}

#[derive(Clone)]
struct Receiver {
    registry: Registry,
    heavy: Arc<Semaphore>,
}

/// What the receiver answers: a status and a body in `format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The body's format.
    pub format: Format,
    /// The encoded response message.
    pub body: Vec<u8>,
}

impl Reply {
    /// An error reply: a `google.rpc.Status` with `message`, encoded in
    /// `format`, as the OTLP/HTTP specification asks for failures.
    pub fn error(status: u16, format: Format, message: &str) -> Reply {
        // gRPC codes: NOT_FOUND for a missing route, INVALID_ARGUMENT for
        // everything the client must change, UNAVAILABLE otherwise.
        let code = match status {
            404 => 5,
            400..=499 => 3,
            _ => 14,
        };
        let body = match format {
            Format::Protobuf => prost::Message::encode_to_vec(&RpcStatus {
                code,
                message: message.to_owned(),
            }),
            Format::Json => serde_json::json!({ "code": code, "message": message })
                .to_string()
                .into_bytes(),
        };
        Reply {
            status,
            format,
            body,
        }
    }

    fn from_decode_error(error: &DecodeError, format: Format) -> Reply {
        Reply::error(error.status(), format, &error.to_string())
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.format.content_type()),
            )],
            self.body,
        )
            .into_response()
    }
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error response.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// One OTLP signal: its request and response messages and how to count,
/// attribute and ingest its resources.
pub trait Signal: Send + 'static {
    /// The export request.
    type Request: OtlpMessage + Send;
    /// The export response.
    type Response: OtlpMessage;
    /// One resource's data.
    type Resource;
    /// What the items are called in messages, e.g. `data points`.
    const ITEMS: &'static str;
    /// The request's resources.
    fn resources(request: &Self::Request) -> &[Self::Resource];
    /// A resource's `Resource` (attributes).
    fn resource(resource: &Self::Resource) -> Option<&Resource>;
    /// How many items (data points, log records, spans) a resource holds.
    fn items(resource: &Self::Resource) -> u64;
    /// Adds a resource's data to a session's aggregate.
    fn ingest(
        telemetry: &mut SessionTelemetry,
        resource: &Self::Resource,
        now_unix_ms: u64,
    ) -> Ingested;
    /// The response, with a partial success when anything was rejected or
    /// there is something to say.
    fn response(rejected: u64, message: String) -> Self::Response;
}

/// `/v1/metrics`.
pub enum Metrics {}
/// `/v1/logs`.
pub enum Logs {}
/// `/v1/traces`.
pub enum Traces {}

impl Signal for Metrics {
    type Request = ExportMetricsServiceRequest;
    type Response = ExportMetricsServiceResponse;
    type Resource = ResourceMetrics;
    const ITEMS: &'static str = "data points";

    fn resources(request: &Self::Request) -> &[Self::Resource] {
        &request.resource_metrics
    }

    fn resource(resource: &Self::Resource) -> Option<&Resource> {
        resource.resource.as_ref()
    }

    fn items(resource: &Self::Resource) -> u64 {
        let mut items: u64 = 0;
        for scope in &resource.scope_metrics {
            for metric in &scope.metrics {
                let points = match &metric.data {
                    Some(metric::Data::Gauge(data)) => data.data_points.len(),
                    Some(metric::Data::Sum(data)) => data.data_points.len(),
                    Some(metric::Data::Histogram(data)) => data.data_points.len(),
                    Some(metric::Data::ExponentialHistogram(data)) => data.data_points.len(),
                    Some(metric::Data::Summary(data)) => data.data_points.len(),
                    None => 0,
                };
                items = items.saturating_add(points as u64);
            }
        }
        items
    }

    fn ingest(
        telemetry: &mut SessionTelemetry,
        resource: &Self::Resource,
        now_unix_ms: u64,
    ) -> Ingested {
        telemetry.ingest_metrics(resource, now_unix_ms)
    }

    fn response(rejected: u64, message: String) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: (rejected > 0 || !message.is_empty()).then(|| {
                ExportMetricsPartialSuccess {
                    rejected_data_points: to_i64(rejected),
                    error_message: message,
                }
            }),
        }
    }
}

impl Signal for Logs {
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;
    type Resource = ResourceLogs;
    const ITEMS: &'static str = "log records";

    fn resources(request: &Self::Request) -> &[Self::Resource] {
        &request.resource_logs
    }

    fn resource(resource: &Self::Resource) -> Option<&Resource> {
        resource.resource.as_ref()
    }

    fn items(resource: &Self::Resource) -> u64 {
        resource
            .scope_logs
            .iter()
            .map(|scope| scope.log_records.len() as u64)
            .fold(0, u64::saturating_add)
    }

    fn ingest(
        telemetry: &mut SessionTelemetry,
        resource: &Self::Resource,
        now_unix_ms: u64,
    ) -> Ingested {
        telemetry.ingest_logs(resource, now_unix_ms)
    }

    fn response(rejected: u64, message: String) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: (rejected > 0 || !message.is_empty()).then(|| {
                ExportLogsPartialSuccess {
                    rejected_log_records: to_i64(rejected),
                    error_message: message,
                }
            }),
        }
    }
}

impl Signal for Traces {
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;
    type Resource = ResourceSpans;
    const ITEMS: &'static str = "spans";

    fn resources(request: &Self::Request) -> &[Self::Resource] {
        &request.resource_spans
    }

    fn resource(resource: &Self::Resource) -> Option<&Resource> {
        resource.resource.as_ref()
    }

    fn items(resource: &Self::Resource) -> u64 {
        resource
            .scope_spans
            .iter()
            .map(|scope| scope.spans.len() as u64)
            .fold(0, u64::saturating_add)
    }

    fn ingest(
        _telemetry: &mut SessionTelemetry,
        resource: &Self::Resource,
        _now_unix_ms: u64,
    ) -> Ingested {
        // Spans carry no usage: accepted and counted, not stored.
        Ingested {
            accepted: Self::items(resource),
            ignored: 0,
            rejected: 0,
            first_error: None,
        }
    }

    fn response(rejected: u64, message: String) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: (rejected > 0 || !message.is_empty()).then(|| {
                ExportTracePartialSuccess {
                    rejected_spans: to_i64(rejected),
                    error_message: message,
                }
            }),
        }
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Decodes an inflated body and ingests it: the receiver's work after the
/// HTTP layer, as one synchronous call (used inline, on a blocking thread,
/// and by the decoder smoke test).
pub fn process<S: Signal>(
    registry: &Registry,
    path_session: Option<SessionId>,
    format: Format,
    bytes: &[u8],
) -> Reply {
    let request = match decode::decode_message::<S::Request>(bytes, format) {
        Ok(request) => request,
        Err(error) => return Reply::from_decode_error(&error, format),
    };
    let now = Instant::now();
    let now_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        });
    let mut rejected: u64 = 0;
    let mut message = String::new();
    let mut unattributed: u64 = 0;
    let mut unattributed_reason = None;
    // Sessions already counted for this request; a request rarely names
    // more than one.
    let mut counted: Vec<SessionId> = Vec::new();
    for resource in S::resources(&request) {
        let session = match path_session {
            Some(id) => Ok(id),
            None => session_from_resource(S::resource(resource)),
        };
        let entry = session.and_then(|id| {
            registry
                .lookup(id, now)
                .map(|entry| (id, entry))
                .ok_or_else(|| format!("session {id} is not running on this daemon"))
        });
        match entry {
            Ok((id, entry)) => {
                let mut telemetry = entry.telemetry();
                if !counted.contains(&id) {
                    counted.push(id);
                    telemetry.count_request();
                }
                let ingested = S::ingest(&mut telemetry, resource, now_unix_ms);
                drop(telemetry);
                rejected = rejected.saturating_add(ingested.rejected);
                if message.is_empty()
                    && let Some(error) = ingested.first_error
                {
                    message = error;
                }
            }
            Err(reason) => {
                let items = S::items(resource);
                unattributed = unattributed.saturating_add(items);
                rejected = rejected.saturating_add(items);
                if unattributed_reason.is_none() {
                    unattributed_reason = Some(reason);
                }
            }
        }
    }
    if let Some(reason) = unattributed_reason {
        registry.count_unattributed(unattributed, &reason, now);
        let dropped = format!(
            "{unattributed} {} dropped: {reason}; telemetry is accepted only for sessions this daemon runs",
            S::ITEMS
        );
        message = if message.is_empty() {
            dropped
        } else {
            format!("{dropped}; {message}")
        };
    }
    let body = if rejected == 0 && message.is_empty() && format == Format::Json {
        // A full success: `{}` rather than `{"partialSuccess":null}`, which
        // not every OTLP/JSON client parses.
        b"{}".to_vec()
    } else {
        decode::encode_message(&S::response(rejected, message), format)
    };
    Reply {
        status: 200,
        format,
        body,
    }
}

/// The session a resource names through [`SESSION_ATTRIBUTE`].
fn session_from_resource(resource: Option<&Resource>) -> Result<SessionId, String> {
    let value = resource
        .into_iter()
        .flat_map(|resource| &resource.attributes)
        .find(|attribute| attribute.key == SESSION_ATTRIBUTE)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value| value.value.as_ref());
    match value {
        Some(any_value::Value::StringValue(text)) => text.trim().parse().map_err(|_| {
            format!(
                "resource attribute {SESSION_ATTRIBUTE}={:?} is not a session id",
                clip(text)
            )
        }),
        Some(_) => Err(format!(
            "resource attribute {SESSION_ATTRIBUTE} is not a string"
        )),
        None => Err(format!(
            "no {SESSION_ATTRIBUTE} resource attribute and no /s/{{session_id}} path prefix"
        )),
    }
}

async fn export_unscoped<S: Signal>(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    export::<S>(receiver, None, &headers, body).await
}

async fn export_scoped<S: Signal>(
    State(receiver): State<Receiver>,
    Path(session): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    let Ok(session) = session.parse::<SessionId>() else {
        let format = Format::from_content_type(header_text(&headers, header::CONTENT_TYPE))
            .unwrap_or(Format::Json);
        return Reply::error(
            404,
            format,
            &format!(
                "{:?} in /s/{{session_id}}/ is not a session id",
                clip(&session)
            ),
        );
    };
    export::<S>(receiver, Some(session), &headers, body).await
}

async fn export<S: Signal>(
    receiver: Receiver,
    path_session: Option<SessionId>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    receiver.registry.count_request();
    let format = match Format::from_content_type(header_text(headers, header::CONTENT_TYPE)) {
        Ok(format) => format,
        Err(error) => return Reply::from_decode_error(&error, Format::Json),
    };
    let compression =
        match Compression::from_content_encoding(header_text(headers, header::CONTENT_ENCODING)) {
            Ok(compression) => compression,
            Err(error) => return Reply::from_decode_error(&error, format),
        };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Reply::from_decode_error(&DecodeError::TooLarge, format);
        }
        Err(rejection) => {
            return Reply::error(
                400,
                format,
                &format!("cannot read the request body: {}", rejection.body_text()),
            );
        }
    };
    let body = match Body::start(body, compression) {
        Ok(body) => body,
        Err(error) => return Reply::from_decode_error(&error, format),
    };
    if body.is_light() {
        return match body.finish() {
            Ok(bytes) => process::<S>(&receiver.registry, path_session, format, &bytes),
            Err(error) => Reply::from_decode_error(&error, format),
        };
    }
    // The semaphore is never closed, so acquiring only fails if it were.
    let Ok(_permit) = receiver.heavy.clone().acquire_owned().await else {
        return Reply::error(503, format, "the receiver is shutting down");
    };
    let registry = receiver.registry.clone();
    let work = tokio::task::spawn_blocking(move || match body.finish() {
        Ok(bytes) => process::<S>(&registry, path_session, format, &bytes),
        Err(error) => Reply::from_decode_error(&error, format),
    });
    match work.await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(%error, "telemetry decoding task failed");
            Reply::error(500, format, "internal error while decoding the request")
        }
    }
}

/// A header's value as text; a value that is not visible ASCII counts as
/// present but unrecognised.
fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap_or("<not ASCII>"))
}

async fn status(State(receiver): State<Receiver>) -> Response {
    let counters = receiver.registry.counters();
    axum::Json(serde_json::json!({
        "sessions": counters.sessions,
        "requests": counters.requests,
        "unattributedRequests": counters.unattributed_requests,
        "unattributedItems": counters.unattributed_items,
    }))
    .into_response()
}

async fn not_found() -> Reply {
    Reply::error(
        404,
        Format::Json,
        "not an OTLP route: POST /v1/metrics, /v1/logs or /v1/traces, optionally under /s/{session_id}",
    )
}
