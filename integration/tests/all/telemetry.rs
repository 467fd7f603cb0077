//! Telemetry end to end through the real binaries: a fake agent, spawned
//! through a profile, sends OTLP/HTTP JSON with `curl` to the endpoint and
//! resource attribute the daemon injected into its environment; the daemon
//! attributes and aggregates it, and the totals appear on the session in the
//! hub's REST API, exactly.

use std::path::Path;

use flotilla_integration::{Stack, Workspace, wait_until};
use flotilla_protocol::usage::{CostSource, SessionUsage};
use serde_json::{Value, json};

/// A profile whose "agent" is a bash script, with a telemetry mapping shaped
/// like Claude Code's (delta token and cost counters, a request event).
fn profile(script: &Path) -> String {
    format!(
        r##"name: fakeagent
display_name: Fake agent
color: "#888888"
binary: bash
always_available: true
commands:
  new: ["bash", "{script}"]
env:
  OTEL_EXPORTER_OTLP_ENDPOINT: "{{otlp_endpoint}}"
  OTEL_RESOURCE_ATTRIBUTES: "flotilla.session_id={{session_id}}"
  FAKE_SESSION_ENDPOINT: "{{otlp_session_endpoint}}"
telemetry:
  token_metrics:
    - name: fake.token.usage
      type_attribute: type
      types:
        input: input
        output: output
        cacheRead: cache_read
  model_attribute: model
  cost_metric: fake.cost.usage
  events:
    api_request:
      name: fake.api_request
      model: model
      input_tokens: input_tokens
      output_tokens: output_tokens
      cache_read_tokens: cache_read_tokens
  pricing:
    - match: {{ prefix: fake-priced }}
      input: 3
      output: 15
      cache_read: 0.3
      context_window: 200000
"##,
        script = script.display()
    )
}

fn attr(key: &str, value: Value) -> Value {
    let value = match value {
        Value::String(s) => json!({"stringValue": s}),
        Value::Number(n) if n.is_f64() => json!({"doubleValue": n}),
        Value::Number(n) => json!({"intValue": n.to_string()}),
        other => panic!("unsupported attribute {other}"),
    };
    json!({"key": key, "value": value})
}

/// One delta data point of a counter over the interval `[start, end]` (ns).
fn point(model: &str, kind: Option<&str>, value: Value, start: u64, end: u64) -> Value {
    let mut attributes = vec![attr("model", json!(model))];
    if let Some(kind) = kind {
        attributes.push(attr("type", json!(kind)));
    }
    let mut point = json!({
        "attributes": attributes,
        "startTimeUnixNano": start.to_string(),
        "timeUnixNano": end.to_string(),
    });
    if value.is_f64() {
        point["asDouble"] = value;
    } else {
        point["asInt"] = json!(value.to_string());
    }
    point
}

fn metrics(resource: Vec<Value>, name: &str, points: Vec<Value>) -> Value {
    json!({"resourceMetrics": [{
        "resource": {"attributes": resource},
        "scopeMetrics": [{"scope": {"name": "fake"}, "metrics": [{
            "name": name,
            "sum": {"aggregationTemporality": 1, "isMonotonic": true, "dataPoints": points}
        }]}]
    }]})
}

/// The agent: posts with `curl` to the injected endpoints, says so, and then
/// idles like an agent waiting for input.
fn script(workspace: &Path) -> std::path::PathBuf {
    let session_attr = || attr("flotilla.session_id", json!("SESSION_ID"));
    let export_1 = metrics(
        vec![session_attr()],
        "fake.token.usage",
        vec![
            point("fake-priced", Some("input"), json!(100), 1_000, 2_000),
            point("fake-priced", Some("output"), json!(20), 1_000, 2_000),
            point("fake-priced", Some("cacheRead"), json!(1000), 1_000, 2_000),
            point("fake-reported", Some("input"), json!(10), 1_000, 2_000),
            point("mystery-1", Some("input"), json!(7), 1_000, 2_000),
        ],
    );
    let export_2 = metrics(
        vec![session_attr()],
        "fake.token.usage",
        vec![
            point("fake-priced", Some("input"), json!(50), 2_000, 3_000),
            point("fake-priced", Some("output"), json!(30), 2_000, 3_000),
        ],
    );
    // Through the per-session endpoint, without the resource attribute.
    let cost = metrics(
        vec![],
        "fake.cost.usage",
        vec![point("fake-reported", None, json!(0.25), 1_000, 2_000)],
    );
    // Names a session that does not exist: counted and dropped.
    let stranger = metrics(
        vec![attr(
            "flotilla.session_id",
            json!("00000000-0000-4000-8000-000000000000"),
        )],
        "fake.token.usage",
        vec![point(
            "fake-priced",
            Some("input"),
            json!(999_999),
            1_000,
            2_000,
        )],
    );
    let logs = json!({"resourceLogs": [{
        "resource": {"attributes": [session_attr()]},
        "scopeLogs": [{"scope": {"name": "fake"}, "logRecords": [{
            "timeUnixNano": "3000",
            "body": {"stringValue": "fake.api_request"},
            "attributes": [
                attr("event.name", json!("api_request")),
                attr("model", json!("fake-priced")),
                attr("input_tokens", json!(50)),
                attr("output_tokens", json!(30)),
                attr("cache_read_tokens", json!(1000)),
            ]
        }]}]
    }]});
    let mut text = String::from(
        "#!/bin/bash\nset -eu\n\
         sid=${OTEL_RESOURCE_ATTRIBUTES#flotilla.session_id=}\n\
         post() { printf '%s' \"${2//SESSION_ID/$sid}\" | curl -fsS -o /dev/null -H 'content-type: application/json' --data-binary @- \"$1\"; }\n",
    );
    for (url, body) in [
        ("$OTEL_EXPORTER_OTLP_ENDPOINT/v1/metrics", &export_1),
        ("$OTEL_EXPORTER_OTLP_ENDPOINT/v1/metrics", &export_2),
        // A retried export (same intervals) must not count twice.
        ("$OTEL_EXPORTER_OTLP_ENDPOINT/v1/metrics", &export_2),
        ("$FAKE_SESSION_ENDPOINT/v1/metrics", &cost),
        ("$OTEL_EXPORTER_OTLP_ENDPOINT/v1/metrics", &stranger),
        ("$OTEL_EXPORTER_OTLP_ENDPOINT/v1/logs", &logs),
    ] {
        text.push_str(&format!("post \"{url}\" '{body}'\n"));
    }
    text.push_str("echo FAKE-AGENT-SENT\nexec sleep 600\n");
    let path = workspace.join("fake-agent.sh");
    std::fs::write(&path, text).expect("write the fake agent");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_agent_telemetry_reaches_the_session_exactly() {
    let workspace = Workspace::new();
    let profiles = workspace.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let agent = script(workspace.path());
    std::fs::write(profiles.join("fakeagent.yaml"), profile(&agent)).unwrap();
    let stack = Stack::start_in(workspace, Some(&profiles)).await;
    let session = stack.spawn("fakeagent").await;
    let viewer = stack.viewer().await;
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session}))
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    stack.wait_output(&viewer, session, "FAKE-AGENT-SENT").await;

    let usage: SessionUsage = wait_until(
        "the session's usage with every export applied",
        &stack.logs(),
        || async {
            let summary = stack.api.session(session).await;
            match summary.usage {
                Some(usage) if usage.context.is_some() && usage.cost_nano_usd > 0 => Ok(usage),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;

    // Tokens: both exports, the retry not counted, the stranger dropped.
    assert_eq!(usage.tokens.input, 100 + 50 + 10 + 7, "{usage:?}");
    assert_eq!(usage.tokens.output, 20 + 30, "{usage:?}");
    assert_eq!(usage.tokens.cache_read, 1000, "{usage:?}");
    assert_eq!(usage.tokens.total(), 167 + 50 + 1000, "{usage:?}");
    let model = |name: &str| {
        usage
            .models
            .iter()
            .find(|m| m.model == name)
            .unwrap_or_else(|| panic!("model {name} missing: {usage:?}"))
            .clone()
    };
    // Priced: (150 × 3 + 50 × 15 + 1000 × 0.3) USD per million tokens.
    let priced = model("fake-priced");
    assert_eq!(priced.cost_source, CostSource::Priced);
    assert_eq!(priced.cost_nano_usd, Some(1_500_000));
    // Reported by the agent's own cost metric, through the session endpoint.
    let reported = model("fake-reported");
    assert_eq!(reported.cost_source, CostSource::Reported);
    assert_eq!(reported.cost_nano_usd, Some(250_000_000));
    // No price and no reported cost: unpriced, never guessed.
    let mystery = model("mystery-1");
    assert_eq!(mystery.cost_source, CostSource::Unpriced);
    assert_eq!(mystery.cost_nano_usd, None);
    assert_eq!(usage.unpriced_models, vec!["mystery-1".to_owned()]);
    assert_eq!(usage.cost_nano_usd, 251_500_000);
    // Context: input + cache read of the latest request, against the window.
    let context = usage.context.clone().unwrap();
    assert_eq!(context.model, "fake-priced");
    assert_eq!(context.used_tokens, 1050);
    assert_eq!(context.window_tokens, Some(200_000));

    // The hub's usage report (written in batches) sums the same figures.
    let row = wait_until("the agent's row in /api/usage", &stack.logs(), || async {
        let (status, body) = stack
            .api
            .request("GET", "/api/usage?groupBy=agent", None)
            .await;
        let row = body["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["key"] == "fakeagent"))
            .cloned();
        match row {
            Some(row) if status.is_success() && row["costNanoUsd"] == 251_500_000 => Ok(row),
            _ => Err(format!("{status} {body}")),
        }
    })
    .await;
    assert_eq!(row["tokens"]["input"], 167, "{row}");
    assert_eq!(row["tokens"]["cacheRead"], 1000, "{row}");
    assert_eq!(row["unpricedSessions"], 1, "{row}");
}
