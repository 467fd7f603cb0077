//! OTLP ingest benchmark: how many OTLP/HTTP export requests per second the
//! real daemon's receiver takes from 16 concurrent senders, and whether the
//! hub's totals are then exact.
//!
//! A session of a profile with a Claude-like token metric runs in the real
//! daemon; 16 tasks with keep-alive HTTP connections each post protobuf
//! export requests (one delta data point each, a distinct interval and an
//! input token count that varies per request). The printed rate is requests
//! divided by the wall time from the first send to the last response; then
//! the session's input tokens in the hub's REST API must equal the sum sent.
//!
//! `cargo bench -p flotilla-integration --bench otlp_ingest`;
//! `FLOTILLA_BENCH_OTLP_REQUESTS` sets the total (default 64 000). Target:
//! ≥ 20 000 requests/s on a 2-core machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flotilla_integration::{Stack, Workspace};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

const SENDERS: usize = 16;
const TARGET: f64 = 20_000.0;

const PROFILE: &str = r##"name: otlpbench
display_name: OTLP bench
color: "#888888"
binary: bash
always_available: true
commands:
  new: ["bash", "-c", "exec sleep 3600"]
env:
  OTEL_RESOURCE_ATTRIBUTES: "flotilla.session_id={session_id}"
telemetry:
  token_metrics:
    - name: bench.token.usage
      type_attribute: type
      types: { input: input, output: output }
  model_attribute: model
"##;

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// One export request: a delta of `tokens` input tokens over interval `n`.
fn request(session: &str, n: u64, tokens: i64) -> Vec<u8> {
    let point = NumberDataPoint {
        attributes: vec![
            string_attr("type", "input"),
            string_attr("model", "bench-model"),
        ],
        start_time_unix_nano: 1_000_000 + n * 1_000,
        time_unix_nano: 1_000_000 + (n + 1) * 1_000,
        value: Some(number_data_point::Value::AsInt(tokens)),
        ..NumberDataPoint::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![string_attr("flotilla.session_id", session)],
                ..Resource::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "bench.token.usage".to_owned(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: vec![point],
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                        is_monotonic: true,
                    })),
                    ..Metric::default()
                }],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
    .encode_to_vec()
}

fn main() -> anyhow::Result<()> {
    flotilla_integration::block_on_bench(run())
}

async fn run() -> anyhow::Result<()> {
    let total: usize = std::env::var("FLOTILLA_BENCH_OTLP_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64_000);
    let per_sender = total.div_ceil(SENDERS);
    let workspace = Workspace::new();
    let profiles = workspace.path().join("profiles");
    std::fs::create_dir_all(&profiles)?;
    std::fs::write(profiles.join("otlpbench.yaml"), PROFILE)?;
    let stack = Stack::start_in(workspace, Some(&profiles)).await;
    let otlp = stack
        .daemon
        .process
        .announcement("otlp_listening")
        .and_then(|line| line["addr"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("the daemon announced no OTLP address"))?;
    let url = Arc::new(format!("http://{otlp}/v1/metrics"));
    let session = stack.spawn("otlpbench").await;
    let session_text = Arc::new(session.to_string());

    // Bodies are encoded before the clock starts; the receiver's work is
    // what is measured.
    let mut expected: u64 = 0;
    let mut bodies = Vec::with_capacity(SENDERS);
    for sender in 0..SENDERS {
        let mut mine = Vec::with_capacity(per_sender);
        for i in 0..per_sender {
            let n = (sender * per_sender + i) as u64;
            let tokens = 1 + (n % 97) as i64;
            expected += tokens as u64;
            mine.push(bytes::Bytes::from(request(&session_text, n, tokens)));
        }
        bodies.push(mine);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(SENDERS)
        .tcp_nodelay(true)
        .build()?;

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(SENDERS);
    for mine in bodies {
        let client = client.clone();
        let url = Arc::clone(&url);
        tasks.push(tokio::spawn(async move {
            for body in mine {
                let response = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf")
                    .body(body)
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "export refused: {}",
                    response.status()
                );
                response.bytes().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let sent = (per_sender * SENDERS) as f64;
    let rate = sent / elapsed.as_secs_f64();

    // The daemon coalesces to about one update per second; wait for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let input = loop {
        let input = stack
            .api
            .session(session)
            .await
            .usage
            .map_or(0, |usage| usage.tokens.input);
        if input == expected || Instant::now() >= deadline {
            break input;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    println!(
        "otlp ingest: {sent} protobuf export requests from {SENDERS} senders in {:.2} s = {rate:.0} requests/s (target >= {TARGET:.0}): {}",
        elapsed.as_secs_f64(),
        if rate >= TARGET { "met" } else { "NOT met" }
    );
    println!(
        "totals: hub shows {input} input tokens, sent {expected}: {}",
        if input == expected {
            "exact"
        } else {
            "MISMATCH"
        }
    );
    anyhow::ensure!(
        input == expected,
        "the hub's total {input} differs from the {expected} tokens sent"
    );
    Ok(())
}
