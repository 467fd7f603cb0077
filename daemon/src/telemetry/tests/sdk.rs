//! The receiver against a real OpenTelemetry SDK exporter
//! (opentelemetry-otlp, the same release family as opentelemetry-proto):
//! counters added over several exports, over http/protobuf and http/json,
//! with delta and cumulative temporality, with and without gzip, must give
//! exactly the totals that were added.
//!
//! The SDK's periodic reader exports on its own thread with reqwest's
//! blocking client, so these are plain tests that run the receiver on a
//! runtime of their own.

use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};

use super::{Server, model_tokens, shipped, tokens};
use crate::telemetry::SESSION_ATTRIBUTE;
use crate::telemetry::registry::Registry;

const SONNET: &str = "claude-sonnet-4-5";
const HAIKU: &str = "claude-haiku-4-5";

/// One exporter configuration.
struct Setup {
    protocol: Protocol,
    temporality: Temporality,
    gzip: bool,
}

/// Sends three rounds of Claude-shaped counters for a fresh session
/// through the SDK, flushing after each (and once more with nothing new),
/// and checks the session's totals.
fn send_and_check(setup: Setup) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let session = flotilla_protocol::SessionId::new();
    let registry = Registry::default();
    registry.register(session, shipped("claude"));
    let server = runtime.block_on(Server::start(registry));

    let mut exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(setup.protocol)
        .with_endpoint(format!("http://{}/v1/metrics", server.addr))
        .with_temporality(setup.temporality);
    if setup.gzip {
        exporter = exporter.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    let exporter = exporter.build().unwrap();
    let resource = Resource::builder_empty()
        .with_service_name("claude-code")
        .with_attribute(KeyValue::new(SESSION_ATTRIBUTE, session.to_string()))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_periodic_exporter(exporter)
        .build();
    let meter = provider.meter("com.anthropic.claude_code");
    let tokens_counter = meter
        .u64_counter("claude_code.token.usage")
        .with_unit("tokens")
        .build();
    let cost_counter = meter
        .f64_counter("claude_code.cost.usage")
        .with_unit("USD")
        .build();
    let token = |kind: &'static str, model: &'static str, value: u64| {
        tokens_counter.add(
            value,
            &[
                KeyValue::new("type", kind),
                KeyValue::new("model", model),
                KeyValue::new("session.id", "sdk"),
            ],
        );
    };
    let cost = |model: &'static str, usd: f64| {
        cost_counter.add(usd, &[KeyValue::new("model", model)]);
    };

    token("input", SONNET, 1000);
    token("output", SONNET, 200);
    token("input", HAIKU, 30);
    cost(SONNET, 0.5);
    provider.force_flush().unwrap();

    token("input", SONNET, 500);
    token("cacheRead", SONNET, 4000);
    token("output", HAIKU, 7);
    cost(SONNET, 0.25);
    cost(HAIKU, 0.125);
    provider.force_flush().unwrap();

    token("output", SONNET, 50);
    provider.force_flush().unwrap();
    // Nothing new: a cumulative exporter repeats its totals, which must
    // not count twice.
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();

    let usage = server.registry.snapshot(session).unwrap().usage;
    assert_eq!(
        model_tokens(&usage, SONNET),
        tokens(1500, 250, 4000, 0),
        "{usage:#?}"
    );
    assert_eq!(model_tokens(&usage, HAIKU), tokens(30, 7, 0, 0));
    assert_eq!(usage.tokens, tokens(1530, 257, 4000, 0));
    assert_eq!(usage.cost_nano_usd, 875_000_000, "{usage:#?}");
    assert!(usage.requests >= 3, "{usage:#?}");
    let counters = server.registry.counters();
    assert_eq!(counters.unattributed_items, 0);
    drop(server);
    runtime.shutdown_background();
}

#[test]
fn sdk_http_protobuf_delta() {
    send_and_check(Setup {
        protocol: Protocol::HttpBinary,
        temporality: Temporality::Delta,
        gzip: false,
    });
}

#[test]
fn sdk_http_protobuf_cumulative_gzip() {
    send_and_check(Setup {
        protocol: Protocol::HttpBinary,
        temporality: Temporality::Cumulative,
        gzip: true,
    });
}

#[test]
fn sdk_http_json_delta_gzip() {
    send_and_check(Setup {
        protocol: Protocol::HttpJson,
        temporality: Temporality::Delta,
        gzip: true,
    });
}

#[test]
fn sdk_http_json_cumulative() {
    send_and_check(Setup {
        protocol: Protocol::HttpJson,
        temporality: Temporality::Cumulative,
        gzip: false,
    });
}
