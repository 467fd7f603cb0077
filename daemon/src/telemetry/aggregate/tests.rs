//! Tests for the aggregation core: OTLP structs built by hand (with the real
//! agents' metric and event names where it matters), fed through
//! [`SessionTelemetry`], and the totals checked exactly. The shipped profiles
//! run a short realistic scenario each.

use std::sync::Arc;

use flotilla_protocol::usage::{CostSource, SessionUsage, TokenCounts};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::*;
use crate::profile::telemetry::Telemetry;

const DELTA: AggregationTemporality = AggregationTemporality::Delta;
const CUMULATIVE: AggregationTemporality = AggregationTemporality::Cumulative;
/// A fixed "now" after every point time used here (in ms).
const NOW_MS: u64 = 1_800_000_000_000;
/// Seconds → Unix nanoseconds, from a base well before `NOW_MS`.
fn ns(seconds: u64) -> u64 {
    (1_700_000_000 + seconds) * 1_000_000_000
}

fn text_value(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(value.to_owned())),
    })
}

fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: text_value(value),
        ..KeyValue::default()
    }
}

fn int_attr(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

fn attrs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(key, value)| attr(key, value)).collect()
}

/// A session whose profile's telemetry section is `yaml` (indented by two
/// spaces), parsed and validated like a real profile.
fn session(yaml: &str) -> SessionTelemetry {
    SessionTelemetry::new(Arc::new(mapping(yaml)))
}

fn mapping(yaml: &str) -> Telemetry {
    let text = format!(
        "name: t\ndisplay_name: T\ncolor: red\nbinary: t\ncommands:\n  new: [t]\ntelemetry:\n{yaml}"
    );
    match crate::profile::parse("t.yaml", &text) {
        Ok(profile) => profile.telemetry,
        Err(diagnostics) => panic!("invalid test mapping: {diagnostics:?}"),
    }
}

fn shipped(name: &str) -> SessionTelemetry {
    let profile = crate::generated::shipped_profiles()
        .into_iter()
        .find(|profile| profile.name == name)
        .unwrap();
    SessionTelemetry::new(Arc::new(profile.telemetry))
}

fn resource(metrics: Vec<Metric>) -> ResourceMetrics {
    resource_with(&[("service.name", "agent")], metrics)
}

fn resource_with(resource_attributes: &[(&str, &str)], metrics: Vec<Metric>) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(Resource {
            attributes: attrs(resource_attributes),
            ..Resource::default()
        }),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: "meter".to_owned(),
                ..InstrumentationScope::default()
            }),
            metrics,
            ..ScopeMetrics::default()
        }],
        ..ResourceMetrics::default()
    }
}

fn sum(name: &str, temporality: AggregationTemporality, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: true,
        })),
        ..Metric::default()
    }
}

fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Metric::default()
    }
}

fn histogram(
    name: &str,
    temporality: AggregationTemporality,
    points: Vec<HistogramDataPoint>,
) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: temporality as i32,
        })),
        ..Metric::default()
    }
}

fn point(
    attributes: &[(&str, &str)],
    (start, time): (u64, u64),
    value: number_data_point::Value,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs(attributes),
        start_time_unix_nano: ns(start),
        time_unix_nano: ns(time),
        value: Some(value),
        ..NumberDataPoint::default()
    }
}

fn int(attributes: &[(&str, &str)], interval: (u64, u64), value: i64) -> NumberDataPoint {
    point(attributes, interval, number_data_point::Value::AsInt(value))
}

fn double(attributes: &[(&str, &str)], interval: (u64, u64), value: f64) -> NumberDataPoint {
    point(
        attributes,
        interval,
        number_data_point::Value::AsDouble(value),
    )
}

fn hist(
    attributes: &[(&str, &str)],
    (start, time): (u64, u64),
    count: u64,
    sum: Option<f64>,
) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: attrs(attributes),
        start_time_unix_nano: ns(start),
        time_unix_nano: ns(time),
        count,
        sum,
        ..HistogramDataPoint::default()
    }
}

fn logs(records: Vec<LogRecord>) -> ResourceLogs {
    ResourceLogs {
        resource: Some(Resource {
            attributes: attrs(&[("service.name", "agent")]),
            ..Resource::default()
        }),
        scope_logs: vec![ScopeLogs {
            log_records: records,
            ..ScopeLogs::default()
        }],
        ..ResourceLogs::default()
    }
}

fn record(time: u64, body: Option<&str>, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: if time == 0 { 0 } else { ns(time) },
        body: body.and_then(text_value),
        attributes,
        ..LogRecord::default()
    }
}

fn model<'a>(usage: &'a SessionUsage, name: &str) -> &'a flotilla_protocol::usage::ModelUsage {
    usage
        .models
        .iter()
        .find(|model| model.model == name)
        .unwrap_or_else(|| panic!("no model {name:?} in {usage:#?}"))
}

fn ok(accepted: u64) -> Ingested {
    Ingested {
        accepted,
        ..Ingested::default()
    }
}

/// A mapping like Claude Code's, with a price table for one model.
const CLAUDE_LIKE: &str = r#"
  token_metrics:
    - name: claude_code.token.usage
      type_attribute: type
      types: { input: input, output: output, cacheRead: cache_read, cacheCreation: cache_write }
  cost_metric: claude_code.cost.usage
  activity_metrics:
    - name: claude_code.code_edit_tool.decision
      attributes: [tool_name, decision]
  runtime_metric: { name: claude_code.active_time.total, unit: seconds }
  excluded_metrics: [gen_ai.client.token.usage]
  events:
    api_request:
      name: claude_code.api_request
      main_request: { query_source: 'main|repl_main_thread.*' }
      model: model
      input_tokens: input_tokens
      output_tokens: output_tokens
      cache_read_tokens: cache_read_tokens
      cache_creation_tokens: cache_creation_tokens
      cost: cost_usd
  pricing:
    - { match: { prefix: claude-sonnet-4 }, input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, context_window: 200000 }
    - { match: { prefix: claude-haiku-4 }, input: 1, output: 5, cache_read: 0.1, cache_write: 1.25, context_window: 200000 }
    - { match: { prefix: cacheless }, input: 1, output: 5 }
"#;

/// Claude-like without a cost metric, so costs come from the price table.
fn priced_claude_like() -> SessionTelemetry {
    session(&CLAUDE_LIKE.replace("  cost_metric: claude_code.cost.usage\n", ""))
}

const SONNET: &str = "claude-sonnet-4-5";
const HAIKU: &str = "claude-haiku-4-5";

fn tokens(model: &str, kind: &str) -> [(&'static str, String); 2] {
    [("model", model.to_owned()), ("type", kind.to_owned())]
}

fn token_point(model: &str, kind: &str, interval: (u64, u64), value: i64) -> NumberDataPoint {
    let pairs = tokens(model, kind);
    int(
        &[(pairs[0].0, &pairs[0].1), (pairs[1].0, &pairs[1].1)],
        interval,
        value,
    )
}

#[test]
fn delta_counters_are_summed_across_many_exports() {
    let mut telemetry = session(CLAUDE_LIKE);
    for export in 0..50 {
        let interval = (export * 10, export * 10 + 10);
        let metrics = resource(vec![sum(
            "claude_code.token.usage",
            DELTA,
            vec![
                token_point(SONNET, "input", interval, 100),
                token_point(SONNET, "output", interval, 7),
            ],
        )]);
        assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(2));
    }
    let usage = telemetry.snapshot();
    // The sum of all deltas, not the largest one (100 / 7).
    assert_eq!(usage.tokens.input, 5000);
    assert_eq!(usage.tokens.output, 350);
    assert_eq!(usage.tokens.total(), 5350);
    assert_eq!(model(&usage, SONNET).tokens, usage.tokens);
}

#[test]
fn cumulative_sums_take_the_latest_value() {
    let mut telemetry = session(CLAUDE_LIKE);
    for (time, value) in [(10, 100), (20, 250), (30, 400)] {
        let metrics = resource(vec![sum(
            "claude_code.token.usage",
            CUMULATIVE,
            vec![token_point(SONNET, "input", (0, time), value)],
        )]);
        assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(1));
    }
    assert_eq!(telemetry.snapshot().tokens.input, 400);
}

#[test]
fn cumulative_reset_by_a_new_start_time_banks_the_earlier_run() {
    let mut telemetry = session(CLAUDE_LIKE);
    for (start, time, value) in [(0, 10, 100), (0, 20, 300), (25, 30, 50), (25, 40, 80)] {
        let metrics = resource(vec![sum(
            "claude_code.token.usage",
            CUMULATIVE,
            vec![token_point(SONNET, "input", (start, time), value)],
        )]);
        telemetry.ingest_metrics(&metrics, NOW_MS);
    }
    // 300 from the first run, 80 from the second.
    assert_eq!(telemetry.snapshot().tokens.input, 380);
}

#[test]
fn cumulative_reset_by_a_decrease_banks_the_earlier_run() {
    let mut telemetry = session(CLAUDE_LIKE);
    for (time, value) in [(10, 300), (20, 20), (30, 70)] {
        let metrics = resource(vec![sum(
            "claude_code.token.usage",
            CUMULATIVE,
            vec![token_point(SONNET, "input", (0, time), value)],
        )]);
        telemetry.ingest_metrics(&metrics, NOW_MS);
    }
    assert_eq!(telemetry.snapshot().tokens.input, 370);
}

#[test]
fn duplicate_and_out_of_order_cumulative_points_never_regress_totals() {
    let mut telemetry = session(CLAUDE_LIKE);
    let send = |telemetry: &mut SessionTelemetry, time: u64, value: i64| {
        let metrics = resource(vec![sum(
            "claude_code.token.usage",
            CUMULATIVE,
            vec![token_point(SONNET, "input", (0, time), value)],
        )]);
        telemetry.ingest_metrics(&metrics, NOW_MS)
    };
    assert_eq!(send(&mut telemetry, 20, 500), ok(1));
    // An older point arriving late (a retried export) is not a reset.
    let late = send(&mut telemetry, 10, 200);
    assert_eq!((late.accepted, late.ignored, late.rejected), (0, 1, 0));
    // The same point again.
    let repeated = send(&mut telemetry, 20, 500);
    assert_eq!((repeated.accepted, repeated.ignored), (0, 1));
    assert_eq!(telemetry.snapshot().tokens.input, 500);
    assert_eq!(send(&mut telemetry, 30, 650), ok(1));
    assert_eq!(telemetry.snapshot().tokens.input, 650);
}

#[test]
fn a_retried_delta_export_is_not_counted_twice_but_a_late_one_is_counted() {
    let mut telemetry = session(CLAUDE_LIKE);
    let export = |interval| {
        resource(vec![sum(
            "claude_code.token.usage",
            DELTA,
            vec![token_point(SONNET, "input", interval, 40)],
        )])
    };
    assert_eq!(telemetry.ingest_metrics(&export((10, 20)), NOW_MS), ok(1));
    assert_eq!(telemetry.ingest_metrics(&export((20, 30)), NOW_MS), ok(1));
    let retried = telemetry.ingest_metrics(&export((10, 20)), NOW_MS);
    assert_eq!((retried.accepted, retried.ignored), (0, 1));
    // An interval not seen yet counts even when it arrives out of order.
    assert_eq!(telemetry.ingest_metrics(&export((0, 10)), NOW_MS), ok(1));
    assert_eq!(telemetry.snapshot().tokens.input, 120);
}

#[test]
fn series_of_different_resources_are_summed() {
    let mut telemetry = session(CLAUDE_LIKE);
    for instance in ["a", "b"] {
        let metrics = resource_with(
            &[("service.name", "agent"), ("service.instance.id", instance)],
            vec![sum(
                "claude_code.token.usage",
                CUMULATIVE,
                vec![token_point(SONNET, "input", (0, 10), 100)],
            )],
        );
        assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(1));
    }
    assert_eq!(telemetry.snapshot().tokens.input, 200);
}

#[test]
fn two_models_are_both_kept_with_their_own_costs() {
    let mut telemetry = priced_claude_like();
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![
            token_point(SONNET, "input", (0, 10), 1000),
            token_point(SONNET, "output", (0, 10), 500),
            token_point(SONNET, "cacheRead", (0, 10), 20_000),
            token_point(SONNET, "cacheCreation", (0, 10), 4000),
            token_point(HAIKU, "input", (0, 10), 3000),
            token_point(HAIKU, "output", (0, 10), 100),
        ],
    )]);
    assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(6));
    let usage = telemetry.snapshot();
    assert_eq!(
        usage
            .models
            .iter()
            .map(|model| model.model.as_str())
            .collect::<Vec<_>>(),
        [HAIKU, SONNET]
    );
    let sonnet = model(&usage, SONNET);
    // 1000×$3 + 500×$15 + 20000×$0.30 + 4000×$3.75 per million tokens.
    assert_eq!(
        sonnet.cost_nano_usd,
        Some(3_000_000 + 7_500_000 + 6_000_000 + 15_000_000)
    );
    assert_eq!(sonnet.cost_source, CostSource::Priced);
    let haiku = model(&usage, HAIKU);
    // 3000×$1 + 100×$5 per million tokens.
    assert_eq!(haiku.cost_nano_usd, Some(3_000_000 + 500_000));
    assert_eq!(usage.cost_nano_usd, 31_500_000 + 3_500_000);
    assert_eq!(usage.tokens.input, 4000);
    assert_eq!(
        usage.tokens.total(),
        1000 + 500 + 20_000 + 4000 + 3000 + 100
    );
    assert!(usage.unpriced_models.is_empty());
}

#[test]
fn cost_from_the_agents_metric_is_reported_per_model_and_summed_exactly() {
    let mut telemetry = session(CLAUDE_LIKE);
    for export in 0..1000u64 {
        let interval = (export, export + 1);
        let metrics = resource(vec![
            sum(
                "claude_code.cost.usage",
                DELTA,
                vec![
                    double(&[("model", SONNET)], interval, 0.000_123_456_7),
                    double(&[("model", HAIKU)], interval, 0.1),
                ],
            ),
            sum(
                "claude_code.token.usage",
                DELTA,
                vec![token_point(SONNET, "input", interval, 10)],
            ),
        ]);
        assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(3));
    }
    let usage = telemetry.snapshot();
    let sonnet = model(&usage, SONNET);
    assert_eq!(sonnet.cost_source, CostSource::Reported);
    // Each delta rounded once to 123 457 nano-USD.
    assert_eq!(sonnet.cost_nano_usd, Some(123_457_000));
    // Floating-point summing of 0.1 a thousand times would drift.
    let haiku = model(&usage, HAIKU);
    assert_eq!(haiku.cost_nano_usd, Some(100_000_000_000));
    assert_eq!(haiku.tokens.total(), 0);
    assert_eq!(usage.cost_nano_usd, 123_457_000 + 100_000_000_000);
}

#[test]
fn a_model_without_a_price_is_unpriced_never_guessed() {
    let mut telemetry = priced_claude_like();
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![
            token_point("mystery-model", "input", (0, 10), 1000),
            token_point(HAIKU, "input", (0, 10), 1000),
        ],
    )]);
    telemetry.ingest_metrics(&metrics, NOW_MS);
    let usage = telemetry.snapshot();
    let mystery = model(&usage, "mystery-model");
    assert_eq!(mystery.cost_nano_usd, None);
    assert_eq!(mystery.cost_source, CostSource::Unpriced);
    assert_eq!(usage.unpriced_models, ["mystery-model"]);
    // Only the priced model's cost, but every model's tokens.
    assert_eq!(usage.cost_nano_usd, 1_000_000);
    assert_eq!(usage.tokens.input, 2000);
}

#[test]
fn tokens_of_a_type_without_a_price_make_the_model_unpriced() {
    let mut telemetry = priced_claude_like();
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![
            token_point("cacheless-1", "input", (0, 10), 1000),
            token_point("cacheless-2", "input", (0, 10), 1000),
            token_point("cacheless-2", "cacheRead", (0, 10), 1000),
        ],
    )]);
    telemetry.ingest_metrics(&metrics, NOW_MS);
    let usage = telemetry.snapshot();
    assert_eq!(model(&usage, "cacheless-1").cost_nano_usd, Some(1_000_000));
    assert_eq!(
        model(&usage, "cacheless-2").cost_source,
        CostSource::Unpriced
    );
    assert_eq!(usage.unpriced_models, ["cacheless-2"]);
}

#[test]
fn unmapped_types_count_as_other_and_are_not_priced() {
    let mut telemetry = priced_claude_like();
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![
            token_point(HAIKU, "input", (0, 10), 100),
            token_point(HAIKU, "brandNewType", (0, 10), 30),
            // No type attribute at all.
            int(&[("model", HAIKU)], (0, 10), 5),
        ],
    )]);
    assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(3));
    let usage = telemetry.snapshot();
    assert_eq!(usage.tokens.other, 35);
    assert_eq!(usage.tokens.input, 100);
    assert_eq!(model(&usage, HAIKU).cost_source, CostSource::Unpriced);
}

#[test]
fn points_without_a_model_count_for_the_empty_model() {
    let mut telemetry = priced_claude_like();
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![int(&[("type", "input")], (0, 10), 9)],
    )]);
    telemetry.ingest_metrics(&metrics, NOW_MS);
    let usage = telemetry.snapshot();
    assert_eq!(model(&usage, "").tokens.input, 9);
    assert_eq!(usage.unpriced_models, [""]);
}

#[test]
fn int_and_double_points_mix_in_one_series() {
    let mut telemetry = session(CLAUDE_LIKE);
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![
            int(&[("model", SONNET), ("type", "input")], (0, 10), 100),
            double(&[("model", SONNET), ("type", "input")], (10, 20), 50.0),
            double(&[("model", SONNET), ("type", "output")], (10, 20), 2.0),
        ],
    )]);
    assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(3));
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![int(&[("model", SONNET), ("type", "output")], (20, 30), 3)],
    )]);
    telemetry.ingest_metrics(&metrics, NOW_MS);
    let usage = telemetry.snapshot();
    assert_eq!((usage.tokens.input, usage.tokens.output), (150, 5));
}

#[test]
fn excluded_and_unmapped_metrics_are_ignored() {
    let mut telemetry = session(CLAUDE_LIKE);
    let metrics = resource(vec![
        sum(
            "gen_ai.client.token.usage",
            DELTA,
            vec![token_point(SONNET, "input", (0, 10), 1_000_000)],
        ),
        sum(
            "claude_code.lines_of_code.count",
            DELTA,
            vec![int(&[("type", "added")], (0, 10), 12)],
        ),
        sum(
            "claude_code.token.usage",
            DELTA,
            vec![token_point(SONNET, "input", (0, 10), 10)],
        ),
    ]);
    let ingested = telemetry.ingest_metrics(&metrics, NOW_MS);
    assert_eq!(
        (ingested.accepted, ingested.ignored, ingested.rejected),
        (1, 2, 0)
    );
    assert_eq!(telemetry.snapshot().tokens.total(), 10);
}

const CODEX_LIKE: &str = r#"
  token_metrics:
    - name: codex.turn.token_usage
      type_attribute: token_type
      types: { input: input, cached_input: cache_read, output: output, reasoning_output: reasoning, total: ignore }
      includes: { input: [cache_read], output: [reasoning] }
  runtime_metric: { name: codex.turn.e2e_duration_ms, unit: milliseconds }
  events:
    api_request:
      name: codex.sse_event
      filter: { event.kind: 'response\.completed' }
      model: model
      input_tokens: input_token_count
      output_tokens: output_token_count
      cache_read_tokens: cached_token_count
      reasoning_tokens: reasoning_token_count
      includes: { input: [cache_read], output: [reasoning] }
  pricing:
    - { match: { prefix: gpt-5 }, input: 1.25, output: 10, cache_read: 0.125, context_window: 400000 }
"#;

fn codex_turn(
    temporality: AggregationTemporality,
    interval: (u64, u64),
    [input, cached, output, reasoning]: [f64; 4],
) -> ResourceMetrics {
    let point = |kind: &str, value: f64| {
        hist(
            &[("model", "gpt-5-codex"), ("token_type", kind)],
            interval,
            1,
            Some(value),
        )
    };
    resource(vec![histogram(
        "codex.turn.token_usage",
        temporality,
        vec![
            point("input", input),
            point("cached_input", cached),
            point("output", output),
            point("reasoning_output", reasoning),
            point("total", input + output),
        ],
    )])
}

#[test]
fn histogram_sums_count_total_is_ignored_and_included_types_subtracted() {
    let mut telemetry = session(CODEX_LIKE);
    let first = telemetry.ingest_metrics(
        &codex_turn(DELTA, (0, 10), [32_562.0, 1920.0, 35.0, 10.0]),
        NOW_MS,
    );
    assert_eq!((first.accepted, first.ignored, first.rejected), (4, 1, 0));
    telemetry.ingest_metrics(
        &codex_turn(DELTA, (10, 20), [1000.0, 800.0, 100.0, 60.0]),
        NOW_MS,
    );
    let usage = telemetry.snapshot();
    let expected = TokenCounts {
        input: 32_562 - 1920 + 1000 - 800,
        cache_read: 1920 + 800,
        output: 35 - 10 + 100 - 60,
        reasoning: 10 + 60,
        ..TokenCounts::default()
    };
    assert_eq!(usage.tokens, expected);
    // Every token once: the agent's own totals.
    assert_eq!(usage.tokens.total(), 32_562 + 35 + 1000 + 100);
    // Reasoning at the output price; cached input at its own. (The sum
    // divides exactly here.)
    let nano = (expected.input * 1_250_000_000
        + expected.cache_read * 125_000_000
        + (expected.output + expected.reasoning) * 10_000_000_000)
        / 1_000_000;
    assert_eq!(usage.cost_nano_usd, nano);
    assert_eq!(model(&usage, "gpt-5-codex").cost_source, CostSource::Priced);
}

#[test]
fn cumulative_histograms_take_the_latest_sum() {
    let mut telemetry = session(CODEX_LIKE);
    telemetry.ingest_metrics(
        &codex_turn(CUMULATIVE, (0, 10), [100.0, 0.0, 10.0, 0.0]),
        NOW_MS,
    );
    telemetry.ingest_metrics(
        &codex_turn(CUMULATIVE, (0, 20), [300.0, 50.0, 40.0, 5.0]),
        NOW_MS,
    );
    let usage = telemetry.snapshot();
    assert_eq!(
        (
            usage.tokens.input,
            usage.tokens.cache_read,
            usage.tokens.output
        ),
        (250, 50, 35)
    );
}

#[test]
fn gauges_keep_the_latest_value() {
    let mut telemetry = session(
        "  token_metrics:\n    - name: tokens.now\n      type_attribute: kind\n      types: { in: input }\n",
    );
    for (time, value) in [(10, 500), (30, 400), (20, 900)] {
        telemetry.ingest_metrics(
            &resource(vec![gauge(
                "tokens.now",
                vec![int(&[("kind", "in")], (0, time), value)],
            )]),
            NOW_MS,
        );
    }
    // The point at 30 s is the latest; the one at 20 s arrived late.
    assert_eq!(telemetry.snapshot().tokens.input, 400);
}

#[test]
fn runtime_is_summed_over_series_in_milliseconds() {
    let mut telemetry = session(CLAUDE_LIKE);
    let metrics = resource(vec![sum(
        "claude_code.active_time.total",
        DELTA,
        vec![
            double(&[("type", "user")], (0, 10), 1.5),
            double(&[("type", "cli")], (0, 10), 12.25),
        ],
    )]);
    assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(2));
    assert_eq!(telemetry.snapshot().active_ms, 13_750);
    let mut codex = session(CODEX_LIKE);
    codex.ingest_metrics(
        &resource(vec![histogram(
            "codex.turn.e2e_duration_ms",
            DELTA,
            vec![hist(&[], (0, 10), 2, Some(8123.0))],
        )]),
        NOW_MS,
    );
    assert_eq!(codex.snapshot().active_ms, 8123);
}

#[test]
fn activity_is_the_latest_point_that_counted_up() {
    let mut telemetry = session(CLAUDE_LIKE);
    let decision = |tool: &str, decision: &str, time: u64, value: i64| {
        resource(vec![sum(
            "claude_code.code_edit_tool.decision",
            CUMULATIVE,
            vec![int(
                &[("tool_name", tool), ("decision", decision)],
                (0, time),
                value,
            )],
        )])
    };
    telemetry.ingest_metrics(&decision("Edit", "accept", 10, 1), NOW_MS);
    telemetry.ingest_metrics(&decision("Write", "reject", 20, 1), NOW_MS);
    let activity = telemetry.snapshot().activity.unwrap();
    assert_eq!(activity.name, "Write reject");
    assert_eq!(activity.at_unix_ms, ns(20) / 1_000_000);
    // A cumulative repeat of the Edit series without an increase is not new
    // activity; an increase is.
    telemetry.ingest_metrics(&decision("Edit", "accept", 30, 1), NOW_MS);
    assert_eq!(telemetry.snapshot().activity.unwrap().name, "Write reject");
    telemetry.ingest_metrics(&decision("Edit", "accept", 40, 2), NOW_MS);
    assert_eq!(telemetry.snapshot().activity.unwrap().name, "Edit accept");
}

fn claude_request(
    time: u64,
    model: &str,
    query_source: &str,
    [input, output, cache_read, cache_write]: [&str; 4],
) -> LogRecord {
    record(
        time,
        Some("claude_code.api_request"),
        attrs(&[
            ("event.name", "api_request"),
            ("model", model),
            ("query_source", query_source),
            ("input_tokens", input),
            ("output_tokens", output),
            ("cache_read_tokens", cache_read),
            ("cache_creation_tokens", cache_write),
            ("cost_usd", "0.25"),
        ]),
    )
}

#[test]
fn the_latest_main_request_event_gives_the_context_and_its_window() {
    let mut telemetry = session(CLAUDE_LIKE);
    let ingested = telemetry.ingest_logs(
        &logs(vec![
            claude_request(
                10,
                SONNET,
                "repl_main_thread",
                ["12", "300", "40000", "2000"],
            ),
            // A subagent's request does not move the context figure.
            claude_request(
                20,
                HAIKU,
                "agent:builtin:general-purpose",
                ["5", "5", "5", "5"],
            ),
            record(
                21,
                Some("claude_code.tool_result"),
                attrs(&[("event.name", "tool_result")]),
            ),
        ]),
        NOW_MS,
    );
    assert_eq!((ingested.accepted, ingested.ignored), (2, 1));
    let usage = telemetry.snapshot();
    let context = usage.context.unwrap();
    assert_eq!(context.model, SONNET);
    assert_eq!(context.used_tokens, 12 + 40_000 + 2000);
    assert_eq!(context.window_tokens, Some(200_000));
    // Token metrics are mapped: event tokens never add to the totals.
    assert_eq!(usage.tokens, TokenCounts::default());
    assert_eq!(usage.cost_nano_usd, 0);
    // An older main request arriving late does not replace a newer one.
    telemetry.ingest_logs(
        &logs(vec![claude_request(5, HAIKU, "main", ["1", "1", "1", "1"])]),
        NOW_MS,
    );
    assert_eq!(telemetry.snapshot().context.unwrap().model, SONNET);
    telemetry.ingest_logs(
        &logs(vec![claude_request(
            30,
            "unknown-model",
            "main",
            ["7", "1", "0", "0"],
        )]),
        NOW_MS,
    );
    let context = telemetry.snapshot().context.unwrap();
    assert_eq!((context.used_tokens, context.window_tokens), (7, None));
}

#[test]
fn the_event_name_may_be_the_attribute_or_the_event_name_field() {
    let mut telemetry = session(CLAUDE_LIKE);
    let mut by_attribute = claude_request(10, SONNET, "main", ["1", "0", "0", "0"]);
    by_attribute.body = None;
    by_attribute.attributes[0] = attr("event.name", "claude_code.api_request");
    let mut by_field = claude_request(20, SONNET, "main", ["2", "0", "0", "0"]);
    by_field.body = None;
    by_field.attributes.remove(0);
    by_field.event_name = "claude_code.api_request".to_owned();
    let ingested = telemetry.ingest_logs(&logs(vec![by_attribute, by_field]), NOW_MS);
    assert_eq!(ingested, ok(2));
    assert_eq!(telemetry.snapshot().context.unwrap().used_tokens, 2);
}

fn codex_event(time: u64, kind: &str, [input, cached, output, reasoning]: [i64; 4]) -> LogRecord {
    let mut attributes = attrs(&[
        ("event.name", "codex.sse_event"),
        ("event.kind", kind),
        ("model", "gpt-5-codex"),
    ]);
    if kind == "response.completed" {
        attributes.extend([
            int_attr("input_token_count", input),
            int_attr("cached_token_count", cached),
            int_attr("output_token_count", output),
            int_attr("reasoning_token_count", reasoning),
        ]);
    }
    record(time, None, attributes)
}

#[test]
fn a_filtered_event_counts_only_its_matching_records() {
    let mut telemetry = session(CODEX_LIKE);
    let ingested = telemetry.ingest_logs(
        &logs(vec![
            codex_event(10, "response.created", [0; 4]),
            codex_event(11, "response.output_text.delta", [0; 4]),
            codex_event(12, "response.completed", [50_000, 48_000, 900, 300]),
            codex_event(13, "response.created", [0; 4]),
        ]),
        NOW_MS,
    );
    assert_eq!(
        (ingested.accepted, ingested.ignored, ingested.rejected),
        (1, 3, 0)
    );
    let context = telemetry.snapshot().context.unwrap();
    // Input already contains the cached tokens: the prompt was 50 000.
    assert_eq!(context.used_tokens, 50_000);
    assert_eq!(context.window_tokens, Some(400_000));
    assert_eq!(telemetry.snapshot().tokens, TokenCounts::default());
}

const EVENTS_ONLY: &str = r#"
  events:
    api_request:
      name: agent.request
      model: model
      input_tokens: in
      output_tokens: out
      cache_read_tokens: cached
      includes: { input: [cache_read] }
      cost: cost_usd
  pricing:
    - { match: { prefix: m- }, input: 2, output: 4, cache_read: 1, context_window: 1000 }
"#;

fn request_event(time: u64, model: &str, values: &[(&str, &str)]) -> LogRecord {
    let mut attributes = attrs(&[("event.name", "agent.request"), ("model", model)]);
    attributes.extend(attrs(values));
    record(time, None, attributes)
}

#[test]
fn without_token_metrics_the_events_are_summed_once_each() {
    let mut telemetry = session(EVENTS_ONLY);
    let first = request_event(10, "m-1", &[("in", "100"), ("out", "10"), ("cached", "60")]);
    let ingested = telemetry.ingest_logs(
        &logs(vec![
            first.clone(),
            request_event(20, "m-1", &[("in", "200"), ("out", "20")]),
            request_event(
                30,
                "m-2",
                &[("in", "1000"), ("out", "1"), ("cost_usd", "0.5")],
            ),
        ]),
        NOW_MS,
    );
    assert_eq!(ingested, ok(3));
    // An exporter's retry of the first record is not counted again.
    let retried = telemetry.ingest_logs(&logs(vec![first]), NOW_MS);
    assert_eq!((retried.accepted, retried.ignored), (0, 1));
    let usage = telemetry.snapshot();
    let one = model(&usage, "m-1");
    assert_eq!(
        one.tokens,
        TokenCounts {
            input: 40 + 200,
            cache_read: 60,
            output: 30,
            ..TokenCounts::default()
        }
    );
    // 240×$2 + 60×$1 + 30×$4 per million tokens.
    assert_eq!(one.cost_nano_usd, Some(480_000 + 60_000 + 120_000));
    assert_eq!(one.cost_source, CostSource::Priced);
    let two = model(&usage, "m-2");
    assert_eq!(two.cost_nano_usd, Some(500_000_000));
    assert_eq!(two.cost_source, CostSource::Reported);
    assert_eq!(usage.tokens.total(), 300 + 30 + 1001);
    assert_eq!(usage.cost_nano_usd, 660_000 + 500_000_000);
}

#[test]
fn malformed_data_is_rejected_with_a_message_and_never_panics() {
    let mut telemetry = session(CLAUDE_LIKE);
    let input = [("model", SONNET), ("type", "input")];
    let mut no_value = int(&input, (0, 1), 1);
    no_value.value = None;
    let mut no_time = int(&input, (0, 1), 1);
    no_time.time_unix_nano = 0;
    let mut unspecified = sum(
        "claude_code.token.usage",
        DELTA,
        vec![int(&input, (0, 1), 1), int(&input, (1, 2), 1)],
    );
    if let Some(Data::Sum(sum)) = &mut unspecified.data {
        sum.aggregation_temporality = AggregationTemporality::Unspecified as i32;
    }
    let mut bogus_temporality = unspecified.clone();
    if let Some(Data::Sum(sum)) = &mut bogus_temporality.data {
        sum.aggregation_temporality = 77;
    }
    let metrics = resource(vec![
        unspecified,
        bogus_temporality,
        sum(
            "claude_code.token.usage",
            DELTA,
            vec![
                double(&input, (0, 1), f64::NAN),
                double(&input, (1, 2), f64::INFINITY),
                double(&input, (2, 3), -1.0),
                int(&input, (3, 4), -5),
                int(&input, (4, 5), i64::MIN),
                double(&input, (5, 6), 1e30),
                no_value,
            ],
        ),
        sum("claude_code.token.usage", CUMULATIVE, vec![no_time]),
        histogram(
            "claude_code.token.usage",
            DELTA,
            vec![hist(&input, (0, 1), 3, None)],
        ),
        Metric {
            name: "claude_code.token.usage".to_owned(),
            ..Metric::default()
        },
        sum(
            "claude_code.cost.usage",
            DELTA,
            vec![double(&[("model", SONNET)], (0, 1), 1e12)],
        ),
    ]);
    let ingested = telemetry.ingest_metrics(&metrics, NOW_MS);
    assert_eq!(ingested.accepted, 0);
    assert_eq!(ingested.rejected, 2 + 2 + 7 + 1 + 1 + 1 + 1);
    assert_eq!(
        ingested.first_error.as_deref(),
        Some("sum \"claude_code.token.usage\" has no aggregation temporality")
    );
    assert_eq!(telemetry.snapshot(), SessionUsage::default());

    let mut overflow = session(CLAUDE_LIKE);
    let big = |interval| int(&input, interval, i64::MAX);
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![big((0, 1)), big((1, 2)), big((2, 3))],
    )]);
    let ingested = overflow.ingest_metrics(&metrics, NOW_MS);
    assert_eq!((ingested.accepted, ingested.rejected), (2, 1));
    assert!(
        ingested.first_error.unwrap().contains("overflow"),
        "the third point overflows u64"
    );
    // The first two points still count.
    assert_eq!(overflow.snapshot().tokens.input, 2 * i64::MAX as u64);

    let mut events = session(CLAUDE_LIKE);
    let ingested = events.ingest_logs(
        &logs(vec![
            claude_request(10, SONNET, "main", ["lots", "1", "1", "1"]),
            claude_request(11, SONNET, "main", ["-3", "1", "1", "1"]),
            claude_request(12, SONNET, "main", ["NaN", "1", "1", "1"]),
            claude_request(
                13,
                &"m".repeat(MAX_NAME_BYTES + 1),
                "main",
                ["1", "1", "1", "1"],
            ),
        ]),
        NOW_MS,
    );
    assert_eq!((ingested.accepted, ingested.rejected), (0, 4));
    assert!(ingested.first_error.unwrap().contains("not a number"));
    assert_eq!(events.snapshot().context, None);
}

#[test]
fn series_beyond_the_cap_are_rejected_with_a_message() {
    let mut telemetry = session(CLAUDE_LIKE);
    let points: Vec<NumberDataPoint> = (0..=MAX_SERIES)
        .map(|index| {
            let id = index.to_string();
            int(
                &[("model", SONNET), ("type", "input"), ("request", &id)],
                (0, 1),
                1,
            )
        })
        .collect();
    let metrics = resource(vec![sum("claude_code.token.usage", DELTA, points)]);
    let ingested = telemetry.ingest_metrics(&metrics, NOW_MS);
    assert_eq!(
        (ingested.accepted, ingested.rejected),
        (MAX_SERIES as u64, 1)
    );
    assert!(
        ingested
            .first_error
            .unwrap()
            .contains("series limit (10000)")
    );
    // Existing series still count.
    let metrics = resource(vec![sum(
        "claude_code.token.usage",
        DELTA,
        vec![int(
            &[("model", SONNET), ("type", "input"), ("request", "0")],
            (1, 2),
            5,
        )],
    )]);
    assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(1));
    assert_eq!(telemetry.snapshot().tokens.input, MAX_SERIES as u64 + 5);
}

#[test]
fn models_beyond_the_cap_are_rejected() {
    let mut telemetry = session(CLAUDE_LIKE);
    let points: Vec<NumberDataPoint> = (0..=MAX_MODELS)
        .map(|index| token_point(&format!("model-{index}"), "input", (0, 1), 1))
        .collect();
    let metrics = resource(vec![sum("claude_code.token.usage", DELTA, points)]);
    let ingested = telemetry.ingest_metrics(&metrics, NOW_MS);
    assert_eq!(
        (ingested.accepted, ingested.rejected),
        (MAX_MODELS as u64, 1)
    );
    assert!(ingested.first_error.unwrap().contains("model limit"));
    assert_eq!(telemetry.snapshot().models.len(), MAX_MODELS);
}

#[test]
fn changes_are_flagged_once_and_requests_counted() {
    let mut telemetry = session(CLAUDE_LIKE);
    assert!(!telemetry.take_changed());
    telemetry.count_request();
    assert!(telemetry.take_changed());
    assert!(!telemetry.take_changed());
    let metrics = |time, value| {
        resource(vec![sum(
            "claude_code.token.usage",
            CUMULATIVE,
            vec![token_point(SONNET, "input", (0, time), value)],
        )])
    };
    telemetry.ingest_metrics(&metrics(10, 5), NOW_MS);
    assert!(telemetry.take_changed());
    // The same total again (a cumulative re-export) changes nothing.
    telemetry.ingest_metrics(&metrics(20, 5), NOW_MS + 1);
    assert!(!telemetry.take_changed());
    let usage = telemetry.snapshot();
    assert_eq!((usage.requests, usage.updated_at_unix_ms), (1, NOW_MS));
}

#[test]
fn the_canonical_attribute_encoding_ignores_order_and_tells_types_apart() {
    let encode = |attributes: &[KeyValue]| {
        let mut out = String::new();
        attributes::encode_set(&mut out, attributes);
        out
    };
    assert_eq!(
        encode(&attrs(&[("a", "1"), ("b", "2")])),
        encode(&attrs(&[("b", "2"), ("a", "1")]))
    );
    assert_ne!(encode(&[attr("a", "1")]), encode(&[int_attr("a", 1)]));
    assert_ne!(
        encode(&attrs(&[("a", "1:b")])),
        encode(&attrs(&[("a", "1"), ("b", "")]))
    );
}

// --- The shipped profiles, each with a short realistic scenario. ---------

#[test]
fn shipped_claude_profile_sums_deltas_and_uses_its_cost_metric() {
    let mut telemetry = shipped("claude");
    let common = [
        ("session.id", "4a3c"),
        ("user.account_uuid", "u-1"),
        ("query_source", "main"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = common.to_vec();
        all.extend_from_slice(extra);
        all
    };
    let opus = "claude-opus-4-5-20251101";
    for export in 0..3u64 {
        let interval = (export * 10, export * 10 + 10);
        let metrics = resource_with(
            &[
                ("service.name", "claude-code"),
                ("flotilla.session_id", "s1"),
            ],
            vec![
                sum(
                    "claude_code.token.usage",
                    DELTA,
                    vec![
                        double(&with(&[("model", opus), ("type", "input")]), interval, 20.0),
                        double(
                            &with(&[("model", opus), ("type", "output")]),
                            interval,
                            400.0,
                        ),
                        double(
                            &with(&[("model", opus), ("type", "cacheRead")]),
                            interval,
                            30_000.0,
                        ),
                        double(
                            &with(&[("model", opus), ("type", "cacheCreation")]),
                            interval,
                            1_000.0,
                        ),
                        double(
                            &with(&[("model", "claude-haiku-4-5"), ("type", "input")]),
                            interval,
                            600.0,
                        ),
                    ],
                ),
                sum(
                    "claude_code.cost.usage",
                    DELTA,
                    vec![
                        double(&with(&[("model", opus)]), interval, 0.031_35),
                        double(&with(&[("model", "claude-haiku-4-5")]), interval, 0.0006),
                    ],
                ),
                sum(
                    "claude_code.active_time.total",
                    DELTA,
                    vec![double(&with(&[("type", "cli")]), interval, 4.2)],
                ),
                sum(
                    "claude_code.code_edit_tool.decision",
                    DELTA,
                    vec![int(
                        &with(&[("tool_name", "Edit"), ("decision", "accept")]),
                        interval,
                        1,
                    )],
                ),
            ],
        );
        assert_eq!(telemetry.ingest_metrics(&metrics, NOW_MS), ok(9));
    }
    telemetry.ingest_logs(
        &logs(vec![claude_request(
            25,
            opus,
            "repl_main_thread",
            ["20", "400", "30000", "1000"],
        )]),
        NOW_MS,
    );
    let usage = telemetry.snapshot();
    let opus_usage = model(&usage, opus);
    assert_eq!(
        opus_usage.tokens,
        TokenCounts {
            input: 60,
            output: 1200,
            cache_read: 90_000,
            cache_write: 3000,
            ..TokenCounts::default()
        }
    );
    assert_eq!(opus_usage.cost_source, CostSource::Reported);
    assert_eq!(opus_usage.cost_nano_usd, Some(94_050_000));
    assert_eq!(usage.cost_nano_usd, 94_050_000 + 1_800_000);
    assert_eq!(usage.tokens.total(), 60 + 1200 + 90_000 + 3000 + 1800);
    assert_eq!(usage.active_ms, 12_600);
    assert_eq!(usage.activity.unwrap().name, "Edit accept");
    let context = usage.context.unwrap();
    assert_eq!(
        (context.used_tokens, context.window_tokens),
        (31_020, Some(200_000))
    );
}

#[test]
fn shipped_gemini_profile_takes_cumulative_values_and_prices_them() {
    let mut telemetry = shipped("gemini");
    let flash = "gemini-2.5-flash";
    let export = |time: u64, [input, cache, output, thought]: [i64; 4], calls: i64| {
        let token =
            |kind: &str, value: i64| int(&[("model", flash), ("type", kind)], (0, time), value);
        resource_with(
            &[("service.name", "gemini-cli"), ("session.id", "g1")],
            vec![
                sum(
                    "gemini_cli.token.usage",
                    CUMULATIVE,
                    vec![
                        token("input", input),
                        token("cache", cache),
                        token("output", output),
                        token("thought", thought),
                    ],
                ),
                // The same tokens again under the GenAI convention.
                sum(
                    "gen_ai.client.token.usage",
                    CUMULATIVE,
                    vec![int(&[("gen_ai.token.type", "input")], (0, time), input)],
                ),
                sum(
                    "gemini_cli.tool.call.count",
                    CUMULATIVE,
                    vec![int(
                        &[("function_name", "read_file"), ("decision", "auto_accept")],
                        (0, time),
                        calls,
                    )],
                ),
            ],
        )
    };
    // Gemini re-exports every series every 10 s.
    telemetry.ingest_metrics(&export(10, [8000, 0, 200, 50], 1), NOW_MS);
    telemetry.ingest_metrics(&export(20, [8000, 0, 200, 50], 1), NOW_MS);
    let ingested = telemetry.ingest_metrics(&export(30, [20_000, 7000, 500, 90], 2), NOW_MS);
    assert_eq!((ingested.accepted, ingested.ignored), (5, 1));
    telemetry.ingest_logs(
        &logs(vec![record(
            29,
            Some("API response from gemini-2.5-flash. Status: 200."),
            vec![
                attr("event.name", "gemini_cli.api_response"),
                attr("model", flash),
                attr("role", "main"),
                int_attr("input_token_count", 12_000),
                int_attr("cached_content_token_count", 7000),
                int_attr("output_token_count", 300),
            ],
        )]),
        NOW_MS,
    );
    let usage = telemetry.snapshot();
    let expected = TokenCounts {
        input: 13_000,
        cache_read: 7000,
        output: 500,
        reasoning: 90,
        ..TokenCounts::default()
    };
    assert_eq!(usage.tokens, expected);
    // $0.30 input, $0.075 cache, $2.50 output and thoughts per million.
    let nano = (13_000 * 300_000_000u64 + 7000 * 75_000_000 + 590 * 2_500_000_000) / 1_000_000;
    assert_eq!(usage.cost_nano_usd, nano);
    assert_eq!(model(&usage, flash).cost_source, CostSource::Priced);
    assert_eq!(usage.activity.unwrap().name, "read_file");
    let context = usage.context.unwrap();
    assert_eq!(
        (context.used_tokens, context.window_tokens),
        (12_000, Some(1_048_576))
    );
}

#[test]
fn shipped_codex_profile_reads_histograms_and_completed_responses() {
    let mut telemetry = shipped("codex");
    let ingested = telemetry.ingest_metrics(
        &codex_turn(DELTA, (0, 10), [32_562.0, 1920.0, 35.0, 0.0]),
        NOW_MS,
    );
    assert_eq!((ingested.accepted, ingested.ignored), (4, 1));
    telemetry.ingest_logs(
        &logs(vec![
            codex_event(9, "response.created", [0; 4]),
            codex_event(10, "response.completed", [32_562, 1920, 35, 0]),
        ]),
        NOW_MS,
    );
    let usage = telemetry.snapshot();
    // Codex's own "tokens used": non-cached input + output.
    assert_eq!(usage.tokens.input + usage.tokens.output, 30_677);
    assert_eq!(usage.tokens.total(), 32_562 + 35);
    assert_eq!(model(&usage, "gpt-5-codex").cost_source, CostSource::Priced);
    let context = usage.context.unwrap();
    assert_eq!(
        (context.used_tokens, context.window_tokens),
        (32_562, Some(400_000))
    );
}

#[test]
fn shipped_profiles_without_metrics_ignore_everything() {
    for name in ["bash", "opencode"] {
        let mut telemetry = shipped(name);
        let ingested = telemetry.ingest_metrics(
            &resource(vec![sum(
                "claude_code.token.usage",
                DELTA,
                vec![token_point(SONNET, "input", (0, 1), 5)],
            )]),
            NOW_MS,
        );
        assert_eq!((ingested.accepted, ingested.ignored), (0, 1), "{name}");
        let ingested = telemetry.ingest_logs(
            &logs(vec![claude_request(
                1,
                SONNET,
                "main",
                ["1", "1", "1", "1"],
            )]),
            NOW_MS,
        );
        assert_eq!((ingested.accepted, ingested.ignored), (0, 1), "{name}");
        assert_eq!(telemetry.snapshot(), SessionUsage::default(), "{name}");
    }
}
