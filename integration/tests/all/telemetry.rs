//! Telemetry end to end through the real binaries: the fake agent
//! (`integration/fixtures/fake-agent`, shared with the browser tests),
//! spawned through its profile, sends OTLP/HTTP JSON with `curl` to the
//! endpoint and resource attribute the daemon injected into its environment;
//! the daemon attributes and aggregates it, and the totals appear on the
//! session in the hub's REST API, exactly.

use flotilla_integration::{Stack, Workspace, fake_agent, wait_until};
use flotilla_protocol::usage::{CostSource, SessionUsage};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_agent_telemetry_reaches_the_session_exactly() {
    let workspace = Workspace::new();
    let profiles = workspace.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let profile = fake_agent::install(&profiles);
    let expected = fake_agent::expected();
    let stack = Stack::start_in(workspace, Some(&profiles)).await;
    let session = stack.spawn(&profile).await;
    let viewer = stack.viewer().await;
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session}))
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    stack
        .wait_output(&viewer, session, &expected.sent_line)
        .await;

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
    // The browser tests read the same figures from the fixture.
    assert_eq!(
        expected,
        fake_agent::Expected {
            profile: profile.clone(),
            sent_line: expected.sent_line.clone(),
            tokens: fake_agent::ExpectedTokens {
                input: usage.tokens.input,
                output: usage.tokens.output,
                cache_read: usage.tokens.cache_read,
                total: usage.tokens.total(),
            },
            cost_nano_usd: usage.cost_nano_usd,
            context: fake_agent::ExpectedContext {
                model: context.model.clone(),
                used_tokens: context.used_tokens,
                window_tokens: context.window_tokens.unwrap_or_default(),
            },
        }
    );

    // The hub's usage report (written in batches) sums the same figures.
    let row = wait_until("the agent's row in /api/usage", &stack.logs(), || async {
        let (status, body) = stack
            .api
            .request("GET", "/api/usage?groupBy=agent", None)
            .await;
        let row = body["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["key"] == profile.as_str()))
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
