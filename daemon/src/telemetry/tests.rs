//! Tests for `crate::telemetry`: golden OTLP fixtures (`fixtures/`) driven
//! through the real receiver on 127.0.0.1:0, attributed to sessions that
//! use the shipped profiles' mappings, plus the registry's lifecycle.
//! [`sdk`] sends through a real OpenTelemetry SDK exporter; [`smoke`] feeds
//! the decoders seeded mutations of the fixtures.

mod sdk;
mod smoke;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flotilla_protocol::SessionId;
use flotilla_protocol::usage::{SessionUsage, TokenCounts};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tokio_util::sync::CancellationToken;

use super::decode::{Format, OtlpMessage, decode_message, encode_message};
use super::registry::Registry;
use crate::profile::telemetry::Telemetry;

/// The session the fixtures name in `flotilla.session_id`.
pub(super) const SESSION_A: &str = "0b6d9e5c-8c1e-4d7a-9f3b-2a1c5e7d9f01";
/// A session reached through its `/s/{session_id}/` path.
pub(super) const SESSION_B: &str = "5a0f3c2e-1d4b-4e6f-8a9c-7b2d1e0f3a42";
/// The session `mixed_sessions.json` names that no daemon runs.
const SESSION_UNKNOWN: &str = "9e8d7c6b-5a49-4382-9170-fedcba987654";

pub(super) const JSON: &str = "application/json";
pub(super) const PROTOBUF: &str = "application/x-protobuf";

pub(super) fn id(text: &str) -> SessionId {
    text.parse().unwrap()
}

/// A shipped profile (`profiles/<name>.yaml`).
fn shipped_profile(name: &str) -> crate::profile::Profile {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../profiles")
        .join(format!("{name}.yaml"));
    crate::profile::load_file(&file).unwrap()
}

/// The telemetry mapping of a shipped profile.
pub(super) fn shipped(name: &str) -> Arc<Telemetry> {
    Arc::new(shipped_profile(name).telemetry)
}

pub(super) fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/telemetry/fixtures")
        .join(name)
}

pub(super) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|error| panic!("fixture {name}: {error}"))
}

/// The JSON fixture `name` re-encoded as protobuf.
pub(super) fn as_protobuf<T: OtlpMessage>(name: &str) -> Vec<u8> {
    let message: T = decode_message(&fixture(name), Format::Json).unwrap();
    encode_message(&message, Format::Protobuf)
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The receiver on 127.0.0.1:0 and a client for it.
pub(super) struct Server {
    pub addr: SocketAddr,
    pub registry: Registry,
    client: reqwest::Client,
    cancel: CancellationToken,
}

impl Server {
    pub async fn start(registry: Registry) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cancel = CancellationToken::new();
        tokio::spawn(super::receiver::serve(
            listener,
            registry.clone(),
            cancel.clone(),
        ));
        Server {
            addr,
            registry,
            client: reqwest::Client::new(),
            cancel,
        }
    }

    /// POSTs `body` to `path` with the given headers.
    pub async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        encoding: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self.client.post(format!("http://{}{path}", self.addr));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        let response = request.body(body).send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.bytes().await.unwrap().to_vec();
        Answer {
            status,
            content_type,
            body,
        }
    }

    pub fn usage(&self, session: &str) -> SessionUsage {
        self.registry.snapshot(id(session)).unwrap().usage
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A response.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as an OTLP response message of the answer's format.
    fn message<T: OtlpMessage>(&self) -> T {
        let format = Format::from_content_type(Some(&self.content_type)).unwrap();
        decode_message(&self.body, format)
            .unwrap_or_else(|error| panic!("{error}: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The message of an error answer (`google.rpc.Status`).
    fn error_message(&self) -> String {
        if self.content_type == PROTOBUF {
            #[derive(Clone, PartialEq, prost::Message)]
            struct Status {
                #[prost(int32, tag = "1")]
                code: i32,
                #[prost(string, tag = "2")]
                message: String,
            }
            <Status as prost::Message>::decode(self.body.as_slice())
                .unwrap()
                .message
        } else {
            assert_eq!(self.content_type, JSON, "{self:?}");
            let value: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
            value["message"].as_str().unwrap().to_owned()
        }
    }

    /// The `partial_success` of a metrics answer: (rejected, message).
    fn metrics_partial(&self) -> Option<(i64, String)> {
        assert_eq!(self.status, 200, "{self:?}");
        self.message::<ExportMetricsServiceResponse>()
            .partial_success
            .map(|partial| (partial.rejected_data_points, partial.error_message))
    }
}

fn registry_with(sessions: &[(&str, &str)]) -> Registry {
    let registry = Registry::default();
    for (session, profile) in sessions {
        assert!(registry.register(id(session), shipped(profile)));
    }
    registry
}

fn model_tokens(usage: &SessionUsage, model: &str) -> TokenCounts {
    usage
        .models
        .iter()
        .find(|entry| entry.model == model)
        .unwrap_or_else(|| panic!("no model {model} in {usage:#?}"))
        .tokens
}

fn tokens(input: u64, output: u64, cache_read: u64, cache_write: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_read,
        cache_write,
        ..TokenCounts::default()
    }
}

#[tokio::test]
async fn claude_deltas_over_json_and_protobuf_sum_to_exact_totals() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;
    let first = server
        .post(
            "/v1/metrics",
            Some(JSON),
            None,
            fixture("claude_delta_1.json"),
        )
        .await;
    assert_eq!(first.content_type, JSON);
    assert_eq!(first.body, b"{}");
    assert_eq!(first.metrics_partial(), None);
    let second = server
        .post(
            "/v1/metrics",
            Some(PROTOBUF),
            None,
            as_protobuf::<ExportMetricsServiceRequest>("claude_delta_2.json"),
        )
        .await;
    assert_eq!(second.content_type, PROTOBUF);
    assert_eq!(second.metrics_partial(), None);

    let usage = server.usage(SESSION_A);
    assert_eq!(usage.tokens, tokens(1550, 315, 3000, 400), "{usage:#?}");
    assert_eq!(
        model_tokens(&usage, "claude-sonnet-4-5"),
        tokens(1500, 300, 3000, 400)
    );
    assert_eq!(
        model_tokens(&usage, "claude-haiku-4-5"),
        tokens(50, 15, 0, 0)
    );
    // Claude's own cost metric: 0.5 + 0.25 + 0.125 USD.
    assert_eq!(usage.cost_nano_usd, 875_000_000, "{usage:#?}");
    assert_eq!(usage.requests, 2);
    let names: Vec<&str> = usage.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(names, ["claude-haiku-4-5", "claude-sonnet-4-5"]);
}

#[tokio::test]
async fn committed_protobuf_and_gzip_fixtures_match_their_json() {
    // Regenerate with FLOTILLA_UPDATE_GENERATED=1.
    let update = std::env::var_os("FLOTILLA_UPDATE_GENERATED").is_some();
    let protobuf = as_protobuf::<ExportMetricsServiceRequest>("claude_delta_1.json");
    let gzipped = gzip(&fixture("claude_delta_2.json"));
    if update {
        std::fs::write(fixture_path("claude_delta_1.pb"), &protobuf).unwrap();
        std::fs::write(fixture_path("claude_delta_2.json.gz"), &gzipped).unwrap();
    }
    let committed: ExportMetricsServiceRequest =
        decode_message(&fixture("claude_delta_1.pb"), Format::Protobuf).unwrap();
    let json: ExportMetricsServiceRequest =
        decode_message(&fixture("claude_delta_1.json"), Format::Json).unwrap();
    assert_eq!(committed, json, "claude_delta_1.pb is stale");
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(fixture("claude_delta_2.json.gz").as_slice()),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(
        inflated,
        fixture("claude_delta_2.json"),
        "claude_delta_2.json.gz is stale"
    );
}

#[tokio::test]
async fn committed_binary_and_gzip_fixtures_are_ingested() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;
    let binary = server
        .post(
            "/v1/metrics",
            Some("application/x-protobuf"),
            None,
            fixture("claude_delta_1.pb"),
        )
        .await;
    assert_eq!(binary.metrics_partial(), None);
    let gzipped = server
        .post(
            "/v1/metrics",
            Some("application/json; charset=utf-8"),
            Some("gzip"),
            fixture("claude_delta_2.json.gz"),
        )
        .await;
    assert_eq!(gzipped.metrics_partial(), None);
    let usage = server.usage(SESSION_A);
    assert_eq!(usage.tokens, tokens(1550, 315, 3000, 400), "{usage:#?}");
    assert_eq!(usage.cost_nano_usd, 875_000_000);
}

#[tokio::test]
async fn gemini_cumulative_counters_with_a_reset_through_the_session_path() {
    let server = Server::start(registry_with(&[(SESSION_B, "gemini")])).await;
    let path = format!("/s/{SESSION_B}/v1/metrics");
    for name in [
        "gemini_cumulative_1.json",
        "gemini_cumulative_2.json",
        // Repeated: cumulative values are totals, not increments.
        "gemini_cumulative_2.json",
        "gemini_cumulative_reset.json",
    ] {
        let answer = server.post(&path, Some(JSON), None, fixture(name)).await;
        assert_eq!(answer.metrics_partial(), None, "{name}");
    }
    let usage = server.usage(SESSION_B);
    // Pro: 1200 + 100 input and 200 + 20 output across the reset.
    assert_eq!(
        model_tokens(&usage, "gemini-2.5-pro"),
        tokens(1300, 220, 0, 0),
        "{usage:#?}"
    );
    assert_eq!(
        model_tokens(&usage, "gemini-2.5-flash"),
        tokens(4000, 340, 0, 0)
    );
    assert_eq!(usage.tokens, tokens(5300, 560, 0, 0));
    assert_eq!(usage.requests, 4);
}

#[tokio::test]
async fn the_path_session_wins_over_the_resource_attribute() {
    let server = Server::start(registry_with(&[
        (SESSION_A, "claude"),
        (SESSION_B, "claude"),
    ]))
    .await;
    let answer = server
        .post(
            &format!("/s/{SESSION_B}/v1/metrics"),
            Some(JSON),
            None,
            fixture("claude_delta_1.json"),
        )
        .await;
    assert_eq!(answer.metrics_partial(), None);
    assert_eq!(server.usage(SESSION_B).tokens, tokens(1050, 210, 3000, 400));
    assert_eq!(server.usage(SESSION_A), SessionUsage::default());
}

#[tokio::test]
async fn data_for_no_known_session_is_counted_dropped_and_reported() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;

    // One resource names a session this daemon does not run (3 points),
    // the other names session A (1 point).
    let mixed = server
        .post(
            "/v1/metrics",
            Some(JSON),
            None,
            fixture("mixed_sessions.json"),
        )
        .await;
    let (rejected, message) = mixed.metrics_partial().unwrap();
    assert_eq!(rejected, 3);
    assert!(message.contains(SESSION_UNKNOWN), "{message}");
    assert!(message.contains("3 data points dropped"), "{message}");
    assert_eq!(server.usage(SESSION_A).tokens, tokens(11, 0, 0, 0));

    // No attribute and no path: nothing is guessed.
    let anonymous = server
        .post(
            "/v1/metrics",
            Some(PROTOBUF),
            None,
            as_protobuf::<ExportMetricsServiceRequest>("gemini_cumulative_1.json"),
        )
        .await;
    assert_eq!(anonymous.content_type, PROTOBUF);
    let (rejected, message) = anonymous.metrics_partial().unwrap();
    assert_eq!(rejected, 4);
    assert!(message.contains("no flotilla.session_id"), "{message}");

    // A well-formed but unknown session in the path.
    let unknown_path = server
        .post(
            &format!("/s/{SESSION_UNKNOWN}/v1/metrics"),
            Some(JSON),
            None,
            fixture("claude_delta_1.json"),
        )
        .await;
    assert_eq!(unknown_path.metrics_partial().unwrap().0, 8);

    // Logs and traces report their own item kinds.
    let logs = server
        .post(
            &format!("/s/{SESSION_UNKNOWN}/v1/logs"),
            Some(JSON),
            None,
            fixture("claude_logs.json"),
        )
        .await;
    assert_eq!(logs.status, 200);
    let partial = logs
        .message::<ExportLogsServiceResponse>()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_log_records, 2);
    assert!(partial.error_message.contains("2 log records dropped"));

    // A path segment that is not a session id is not a route.
    let bad_path = server
        .post(
            "/s/not-a-session/v1/metrics",
            Some(JSON),
            None,
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(bad_path.status, 404);
    assert!(bad_path.error_message().contains("not a session id"));

    assert_eq!(server.usage(SESSION_A).tokens, tokens(11, 0, 0, 0));
    let counters = server.registry.counters();
    assert_eq!(counters.unattributed_requests, 4);
    assert_eq!(counters.unattributed_items, 3 + 4 + 8 + 2);
    assert_eq!(counters.requests, 4);
}

#[tokio::test]
async fn request_events_give_the_context_without_counting_tokens_twice() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;
    let answer = server
        .post("/v1/logs", Some(JSON), None, fixture("claude_logs.json"))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer
            .message::<ExportLogsServiceResponse>()
            .partial_success,
        None
    );
    // The same records again over protobuf: a retried export.
    let again = server
        .post(
            "/v1/logs",
            Some(PROTOBUF),
            None,
            as_protobuf::<ExportLogsServiceRequest>("claude_logs.json"),
        )
        .await;
    assert_eq!(again.status, 200);
    let usage = server.usage(SESSION_A);
    let context = usage.context.clone().unwrap();
    assert_eq!(context.model, "claude-sonnet-4-5");
    // input + cache read + cache creation of the request.
    assert_eq!(context.used_tokens, 1500 + 3000 + 400);
    assert_eq!(context.window_tokens, Some(200_000));
    // Claude's token metrics are its token source: events add nothing.
    assert_eq!(usage.tokens, TokenCounts::default(), "{usage:#?}");
    assert_eq!(usage.requests, 2);
}

#[tokio::test]
async fn traces_are_accepted_and_counted_but_not_stored() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;
    let answer = server
        .post(
            "/v1/traces",
            Some(JSON),
            None,
            fixture("claude_traces.json"),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer
            .message::<ExportTraceServiceResponse>()
            .partial_success,
        None
    );
    let usage = server.usage(SESSION_A);
    assert_eq!(usage.requests, 1);
    assert_eq!(usage.tokens, TokenCounts::default());
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_message() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;
    let truncated = server
        .post("/v1/metrics", Some(JSON), None, fixture("malformed.json"))
        .await;
    assert_eq!(truncated.status, 400);
    assert_eq!(truncated.content_type, JSON);
    let message = truncated.error_message();
    assert!(
        message.starts_with("invalid JSON ExportMetricsServiceRequest: "),
        "{message}"
    );

    let garbage = server
        .post("/v1/logs", Some(PROTOBUF), None, vec![0xff; 16])
        .await;
    assert_eq!(garbage.status, 400);
    assert_eq!(garbage.content_type, PROTOBUF);
    assert!(
        garbage
            .error_message()
            .starts_with("invalid protobuf ExportLogsServiceRequest: "),
        "{garbage:?}"
    );

    let not_gzip = server
        .post(
            "/v1/metrics",
            Some(JSON),
            Some("gzip"),
            fixture("claude_delta_1.json"),
        )
        .await;
    assert_eq!(not_gzip.status, 400);
    assert!(
        not_gzip.error_message().starts_with("invalid gzip body"),
        "{not_gzip:?}"
    );
    assert_eq!(server.usage(SESSION_A), SessionUsage::default());
}

#[tokio::test]
async fn unsupported_media_types_and_encodings_get_415() {
    let server = Server::start(Registry::default()).await;
    let text = server
        .post("/v1/metrics", Some("text/plain"), None, b"hi".to_vec())
        .await;
    assert_eq!(text.status, 415);
    assert!(text.error_message().contains("\"text/plain\""), "{text:?}");
    let missing = server.post("/v1/metrics", None, None, b"{}".to_vec()).await;
    assert_eq!(missing.status, 415);
    assert!(missing.error_message().contains("missing Content-Type"));
    let brotli = server
        .post("/v1/traces", Some(PROTOBUF), Some("br"), Vec::new())
        .await;
    assert_eq!(brotli.status, 415);
    assert_eq!(brotli.content_type, PROTOBUF);
    assert!(brotli.error_message().contains("Content-Encoding \"br\""));
}

#[tokio::test]
async fn oversized_bodies_get_413_and_large_valid_ones_are_decoded() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;
    let limit = super::decode::MAX_BODY_BYTES;

    let too_big = server
        .post("/v1/metrics", Some(JSON), None, vec![b' '; limit + 1])
        .await;
    assert_eq!(too_big.status, 413);
    assert!(
        too_big
            .error_message()
            .contains("larger than 4194304 bytes")
    );
    let far_too_big = server
        .post("/v1/metrics", Some(PROTOBUF), None, vec![0; limit * 2])
        .await;
    assert_eq!(far_too_big.status, 413);
    assert_eq!(far_too_big.content_type, PROTOBUF);

    // 17 MiB of spaces gzip to about 17 KiB.
    let bomb = gzip(&vec![b' '; super::decode::MAX_DECODED_BYTES + 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let inflated = server
        .post("/v1/metrics", Some(JSON), Some("gzip"), bomb)
        .await;
    assert_eq!(inflated.status, 413);
    assert!(
        inflated
            .error_message()
            .contains("inflates to more than 16777216 bytes"),
        "{inflated:?}"
    );

    // A valid body of 3 MiB, and one that inflates to 3 MiB: both are
    // decoded on a blocking thread and counted.
    let padded = |name: &str| {
        let mut body = fixture(name);
        body.extend(std::iter::repeat_n(b' ', 3 * 1024 * 1024));
        body
    };
    let plain = server
        .post(
            "/v1/metrics",
            Some(JSON),
            None,
            padded("claude_delta_1.json"),
        )
        .await;
    assert_eq!(plain.metrics_partial(), None);
    let compressed = server
        .post(
            "/v1/metrics",
            Some(JSON),
            Some("gzip"),
            gzip(&padded("claude_delta_2.json")),
        )
        .await;
    assert_eq!(compressed.metrics_partial(), None);
    assert_eq!(server.usage(SESSION_A).tokens, tokens(1550, 315, 3000, 400));
}

#[tokio::test]
async fn exited_sessions_still_count_until_the_grace_period_ends() {
    let registry = Registry::new(Duration::from_secs(120));
    registry.register(id(SESSION_A), shipped("claude"));
    let exited = Instant::now();
    registry.mark_exited(id(SESSION_A), exited);
    let server = Server::start(registry.clone()).await;
    let answer = server
        .post(
            "/v1/metrics",
            Some(JSON),
            None,
            fixture("claude_delta_1.json"),
        )
        .await;
    assert_eq!(answer.metrics_partial(), None);

    let grace_end = exited + Duration::from_secs(120);
    assert!(registry.lookup(id(SESSION_A), grace_end).is_some());
    let after = grace_end + Duration::from_millis(1);
    assert!(registry.lookup(id(SESSION_A), after).is_none());
    // The final change is still taken for the hub, then the session is
    // forgotten.
    let reports = registry.take_all_changed(after);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].session_id, id(SESSION_A));
    assert_eq!(reports[0].usage.tokens, tokens(1050, 210, 3000, 400));
    assert_eq!(registry.counters().sessions, 0);
    assert!(registry.snapshot(id(SESSION_A)).is_none());
}

#[test]
fn changed_totals_are_taken_once_and_a_reconnect_gets_everything() {
    let registry = registry_with(&[(SESSION_A, "claude"), (SESSION_B, "claude")]);
    let request: ExportMetricsServiceRequest =
        decode_message(&fixture("claude_delta_1.json"), Format::Json).unwrap();
    let now = Instant::now();
    {
        let entry = registry.lookup(id(SESSION_A), now).unwrap();
        let mut telemetry = entry.telemetry();
        telemetry.count_request();
        telemetry.ingest_metrics(&request.resource_metrics[0], 1);
    }
    let changed = registry.take_all_changed(now);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].session_id, id(SESSION_A));
    assert!(registry.take_all_changed(now).is_empty());
    assert!(registry.take_changed(id(SESSION_A)).is_none());
    // After a reconnect: every session with telemetry, changed or not.
    let all = registry.take_all();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].usage.tokens, tokens(1050, 210, 3000, 400));
    // Registering again (a respawn with the same id) keeps the totals.
    assert!(!registry.register(id(SESSION_A), shipped("claude")));
    assert_eq!(
        registry.snapshot(id(SESSION_A)).unwrap().usage.tokens,
        tokens(1050, 210, 3000, 400)
    );
}

#[tokio::test]
async fn status_reports_the_counters() {
    let server = Server::start(registry_with(&[(SESSION_A, "claude")])).await;
    server
        .post(
            "/v1/metrics",
            Some(JSON),
            None,
            fixture("mixed_sessions.json"),
        )
        .await;
    let response = reqwest::get(format!("http://{}/v1/status", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let status: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(
        status,
        serde_json::json!({
            "sessions": 1,
            "requests": 1,
            "unattributedRequests": 1,
            "unattributedItems": 3,
        })
    );
    let missing = server
        .post("/v2/metrics", Some(JSON), None, b"{}".to_vec())
        .await;
    assert_eq!(missing.status, 404);
    assert!(missing.error_message().contains("not an OTLP route"));
}

#[test]
fn shipped_gemini_and_codex_export_to_their_session_endpoint() {
    let endpoint = "http://127.0.0.1:4318";
    let session = SESSION_B;
    let session_endpoint = format!("{endpoint}/s/{session}");

    let gemini = shipped_profile("gemini").env(&crate::profile::EnvPlaceholders {
        otlp_endpoint: endpoint,
        session_id: session,
        agent_id: session,
    });
    assert_eq!(gemini["GEMINI_TELEMETRY_OTLP_ENDPOINT"], session_endpoint);

    // Codex parses each `-c key=value` value as TOML: both exporters must
    // come out as tables pointing at the session's endpoint.
    let codex = shipped_profile("codex");
    for resume in [false, true] {
        let argv = codex.command(
            &crate::profile::Placeholders {
                prompt: Some("hi"),
                session_id: Some(session),
                otlp_session_endpoint: Some(&session_endpoint),
                ..Default::default()
            },
            resume,
        );
        let overrides: Vec<&str> = argv
            .windows(2)
            .filter(|pair| pair[0] == "-c")
            .map(|pair| pair[1].as_str())
            .collect();
        assert_eq!(overrides.len(), 2, "{argv:?}");
        for (key, signal) in [
            ("otel.exporter", "logs"),
            ("otel.metrics_exporter", "metrics"),
        ] {
            let value = overrides
                .iter()
                .find_map(|text| text.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key} in {argv:?}"));
            let table: toml::Table = toml::from_str(&format!("x = {value}")).unwrap();
            let exporter = &table["x"]["otlp-http"];
            assert_eq!(
                exporter["endpoint"].as_str(),
                Some(format!("{session_endpoint}/v1/{signal}").as_str())
            );
            assert_eq!(exporter["protocol"].as_str(), Some("binary"));
        }
    }
}
