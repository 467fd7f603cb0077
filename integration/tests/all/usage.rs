//! Session usage through the real hub binary: fake daemons (the Socket.IO
//! client of the harness, authenticated with host tokens) report
//! `session:usage`, and browser-like clients, the REST API and `/metrics`
//! must show exactly what was reported, to exactly who watches, across a
//! hub restart.

use flotilla_integration::process::HubProcess;
use flotilla_integration::{Api, Database, FakeDaemon, LogTail, UiSocket, Workspace, wait_until};
use flotilla_protocol::rest::HostWithToken;
use flotilla_protocol::{HostId, SessionId};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Connects a fake daemon (`bash` and `claude` profiles, root
/// `/srv/<host name>`) that reports `running` sessions.
async fn fake_daemon(hub: &HubProcess, host: &HostWithToken, running: &[SessionId]) -> FakeDaemon {
    FakeDaemon::connect(&hub.addr, host, running)
        .await
        .unwrap_or_else(|error| panic!("daemon connect refused: {error:?}"))
}

/// A report: `input`/`output` tokens, `cost` nano-USD and optionally an
/// unpriced model.
fn usage(input: u64, output: u64, cost: u64, unpriced: Option<&str>) -> Value {
    let tokens = json!({
        "input": input, "output": output, "cacheRead": 0, "cacheWrite": 0,
        "reasoning": 0, "tool": 0, "other": 0
    });
    let unpriced_models: Vec<&str> = unpriced.into_iter().collect();
    json!({
        "tokens": tokens, "costNanoUsd": cost, "unpricedModels": unpriced_models,
        "models": [{"model": "m", "tokens": tokens, "costNanoUsd": cost, "costSource": "priced"}],
        "context": null, "activity": {"name": "Edit accept", "atUnixMs": 1_700_000_000_000u64},
        "activeMs": 1000, "requests": input / 100, "updatedAtUnixMs": 1_700_000_000_000u64 + input
    })
}

async fn viewer(hub: &HubProcess, api: &Api) -> UiSocket {
    UiSocket::viewer(hub, api).await
}

async fn ack(socket: &UiSocket, event: &str, data: Value) -> Value {
    socket.emit_with_ack(event, &data).await
}

/// The `session:usage` events `socket` received for `session`.
fn updates(socket: &UiSocket, session: SessionId) -> Vec<Value> {
    socket
        .events("session:usage")
        .into_iter()
        .filter(|event| event["sessionId"] == json!(session))
        .collect()
}

async fn wait_updates(
    hub: &HubProcess,
    socket: &UiSocket,
    session: SessionId,
    n: usize,
) -> Vec<Value> {
    wait_until(&format!("{n} usage updates of {session}"), &[hub], || {
        let seen = updates(socket, session);
        async move {
            if seen.len() >= n {
                Ok(seen)
            } else {
                Err(format!("{seen:?}"))
            }
        }
    })
    .await
}

/// Waits until the hub shows `expected` as the session's usage.
async fn wait_usage(hub: &HubProcess, api: &Api, session: SessionId, expected: &Value) {
    wait_until(&format!("usage of {session} = {expected}"), &[hub], || {
        let api = api.clone();
        async move {
            let (_, body) = api
                .request("GET", &format!("/api/sessions/{session}"), None)
                .await;
            if &body["usage"] == expected {
                Ok(())
            } else {
                Err(body["usage"].to_string())
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reaches_the_session_its_viewers_and_host_watchers_only() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let laptop = api.create_host("laptop").await;
    let server = api.create_host("server").await;
    let laptop_daemon = fake_daemon(&hub, &laptop, &[]).await;
    let server_daemon = fake_daemon(&hub, &server, &[]).await;
    let watched = laptop_daemon
        .spawn_in(&api, laptop.host.id, "claude", "app")
        .await
        .id;
    let other = laptop_daemon
        .spawn_in(&api, laptop.host.id, "bash", "app")
        .await
        .id;
    let servers = server_daemon
        .spawn_in(&api, server.host.id, "bash", "lib")
        .await
        .id;

    let attached = viewer(&hub, &api).await;
    let reply = ack(&attached, "session:attach", json!({"sessionId": watched})).await;
    assert_eq!(reply["type"], "ok", "{reply}");
    assert_eq!(reply["value"]["usage"], Value::Null, "no usage yet");
    let unrelated = viewer(&hub, &api).await;
    let reply = ack(&unrelated, "session:attach", json!({"sessionId": other})).await;
    assert_eq!(reply["type"], "ok", "{reply}");
    let watcher = viewer(&hub, &api).await;
    let reply = ack(&watcher, "host:watch", json!({"hostId": laptop.host.id})).await;
    assert_eq!(reply, json!({"type": "ok", "value": null}));
    let reply = ack(&watcher, "host:watch", json!({"hostId": HostId::new()})).await;
    assert_eq!(reply["error"]["code"], "not_found", "{reply}");
    let reply = ack(&watcher, "host:watch", json!({"host": 1})).await;
    assert_eq!(reply["error"]["code"], "invalid_input", "{reply}");

    // A malformed report is dropped; the connection stays up.
    laptop_daemon
        .socket
        .emit("session:usage", &json!({"sessionId": "nope"}))
        .await;
    let first = usage(1200, 340, 21_450_000, None);
    laptop_daemon.report(watched, &first).await;
    let expected = json!({"sessionId": watched, "hostId": laptop.host.id, "usage": first});
    for socket in [&attached, &watcher] {
        let seen = wait_updates(&hub, socket, watched, 1).await;
        assert_eq!(seen, std::slice::from_ref(&expected));
    }
    // The unrelated viewer gets its own session's update, and nothing before it.
    let second = usage(500, 5, 1_000, Some("gpt-x"));
    laptop_daemon.report(other, &second).await;
    wait_updates(&hub, &unrelated, other, 1).await;
    assert!(
        updates(&unrelated, watched).is_empty(),
        "unrelated viewer got a foreign update"
    );
    assert!(!laptop_daemon.socket.is_closed());

    // REST and a fresh attach show the latest usage; so does the list.
    wait_usage(&hub, &api, watched, &first).await;
    let late = viewer(&hub, &api).await;
    let reply = ack(&late, "session:attach", json!({"sessionId": watched})).await;
    assert_eq!(reply["value"]["usage"], first);
    let (status, list) = api.request("GET", "/api/sessions", None).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<(Value, Value)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].clone(), s["usage"].clone()))
        .collect();
    assert!(listed.contains(&(json!(watched), first.clone())), "{list}");
    assert!(listed.contains(&(json!(other), second.clone())), "{list}");
    assert!(listed.contains(&(json!(servers), Value::Null)), "{list}");

    // The server's daemon reports for the laptop's session: ignored. Its own
    // report after it, on the same connection, shows the first was handled.
    server_daemon
        .report(watched, &usage(999_999, 0, 999_999, None))
        .await;
    let own = usage(70, 7, 700, None);
    server_daemon.report(servers, &own).await;
    wait_usage(&hub, &api, servers, &own).await;
    wait_usage(&hub, &api, watched, &first).await;
    assert_eq!(updates(&attached, watched).len(), 1);
    assert!(
        hub.process.log_contains("usage report ignored"),
        "{}",
        hub.tail(30)
    );

    // After unwatch and detach, nothing more arrives; the unrelated viewer's
    // next update proves the laptop's later report was pushed already.
    let reply = ack(&watcher, "host:unwatch", json!({"hostId": laptop.host.id})).await;
    assert_eq!(reply, json!({"type": "ok", "value": null}));
    let reply = ack(&attached, "session:detach", json!({"sessionId": watched})).await;
    assert_eq!(reply["type"], "ok", "{reply}");
    for socket in [&attached, &watcher] {
        let reply = ack(socket, "session:attach", json!({"sessionId": other})).await;
        assert_eq!(reply["type"], "ok", "{reply}");
    }
    laptop_daemon
        .report(watched, &usage(1300, 340, 22_000_000, None))
        .await;
    laptop_daemon
        .report(other, &usage(600, 5, 1_000, Some("gpt-x")))
        .await;
    // The watcher saw `other`'s first update through the host watch.
    wait_updates(&hub, &watcher, other, 2).await;
    wait_updates(&hub, &attached, other, 1).await;
    wait_updates(&hub, &unrelated, other, 2).await;
    assert_eq!(
        updates(&watcher, watched).len(),
        1,
        "unwatched host still pushed"
    );
    assert_eq!(
        updates(&attached, watched).len(),
        1,
        "detached viewer still pushed"
    );
}

/// `YYYY-MM-DD` of today in UTC (Howard Hinnant's civil-from-days).
fn utc_today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `(key, label, sessions, input, output, cost, unpriced sessions)`.
type Row = (String, String, u64, u64, u64, u64, u64);

fn row(
    key: &str,
    label: &str,
    sessions: u64,
    input: u64,
    output: u64,
    cost: u64,
    unpriced: u64,
) -> Row {
    (
        key.to_owned(),
        label.to_owned(),
        sessions,
        input,
        output,
        cost,
        unpriced,
    )
}

/// The rows of a report.
fn rows(report: &Value) -> Vec<Row> {
    report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {report}"))
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["label"].as_str().unwrap().to_owned(),
                r["sessions"].as_u64().unwrap(),
                r["tokens"]["input"].as_u64().unwrap(),
                r["tokens"]["output"].as_u64().unwrap(),
                r["costNanoUsd"].as_u64().unwrap(),
                r["unpricedSessions"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn usage_survives_a_hub_restart_and_sums_by_host_project_agent_and_day(database: Database) {
    let workspace = Workspace::on(database);
    let token_file = workspace.path().join("metrics-token");
    let metrics_token = "integration-metrics-token-0123456789";
    std::fs::write(&token_file, metrics_token).unwrap();
    let token_arg = token_file.to_str().unwrap().to_owned();
    let day_before = utc_today();
    // No periodic flush: only the shutdown flush can persist the reports.
    let mut hub = HubProcess::start_with(
        &workspace,
        "127.0.0.1:0",
        &[
            "--usage-flush-ms",
            "3600000",
            "--metrics-token-file",
            &token_arg,
        ],
    );
    let api = Api::login(&hub.url()).await;
    let laptop = api.create_host("laptop").await;
    let server = api.create_host("server").await;
    let laptop_daemon = fake_daemon(&hub, &laptop, &[]).await;
    let server_daemon = fake_daemon(&hub, &server, &[]).await;
    let a = laptop_daemon
        .spawn_in(&api, laptop.host.id, "claude", "app")
        .await
        .id;
    let b = laptop_daemon
        .spawn_in(&api, laptop.host.id, "bash", "app")
        .await
        .id;
    let c = server_daemon
        .spawn_in(&api, server.host.id, "claude", "lib")
        .await
        .id;
    let (ua, ub, uc) = (
        usage(1000, 100, 40_000_000, None),
        usage(300, 30, 0, Some("local-model")),
        usage(2000, 200, 90_000_000, None),
    );
    // Earlier, smaller totals first: only the latest totals count.
    laptop_daemon
        .report(a, &usage(400, 40, 10_000_000, None))
        .await;
    laptop_daemon.report(a, &ua).await;
    laptop_daemon.report(b, &ub).await;
    server_daemon
        .report(c, &usage(1500, 150, 60_000_000, None))
        .await;
    server_daemon.report(c, &uc).await;
    for (session, expected) in [(a, &ua), (b, &ub), (c, &uc)] {
        wait_usage(&hub, &api, session, expected).await;
    }

    let status = hub.process.terminate();
    assert!(status.success(), "hub exit: {status}\n{}", hub.tail(40));
    drop((laptop_daemon, server_daemon));
    let hub = HubProcess::start_with(
        &workspace,
        "127.0.0.1:0",
        &[
            "--metrics-token-file",
            &token_arg,
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    let api = Api::login(&hub.url()).await;
    for (session, expected) in [(a, &ua), (b, &ub), (c, &uc)] {
        assert_eq!(
            api.session(session).await.usage,
            Some(serde_json::from_value(expected.clone()).unwrap())
        );
    }

    let report = |group_by: &'static str| {
        let api = api.clone();
        async move {
            let (status, body) = api
                .request("GET", &format!("/api/usage?groupBy={group_by}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["groupBy"], group_by);
            body
        }
    };
    let by_host = report("host").await;
    let (lid, sid) = (laptop.host.id.to_string(), server.host.id.to_string());
    assert_eq!(
        rows(&by_host),
        [
            row(&sid, "server", 1, 2000, 200, 90_000_000, 0),
            row(&lid, "laptop", 2, 1300, 130, 40_000_000, 1),
        ]
    );
    let total = &by_host["total"];
    assert_eq!(
        (
            total["sessions"].as_u64(),
            total["tokens"]["input"].as_u64(),
            total["costNanoUsd"].as_u64(),
            total["unpricedSessions"].as_u64()
        ),
        (Some(3), Some(3300), Some(130_000_000), Some(1))
    );
    assert_eq!(
        rows(&report("agent").await),
        [
            row("claude", "claude", 2, 3000, 300, 130_000_000, 0),
            row("bash", "bash", 1, 300, 30, 0, 1),
        ]
    );
    assert_eq!(
        rows(&report("project").await),
        [
            row(
                "/srv/server/lib",
                "/srv/server/lib",
                1,
                2000,
                200,
                90_000_000,
                0
            ),
            row(
                "/srv/laptop/app",
                "/srv/laptop/app",
                2,
                1300,
                130,
                40_000_000,
                1
            ),
        ]
    );
    let by_day = rows(&report("day").await);
    assert_eq!(by_day.len(), 1, "{by_day:?}");
    let day = by_day[0].0.clone();
    assert!(day == day_before || day == utc_today(), "{day}");
    assert_eq!(by_day[0], row(&day, &day, 3, 3300, 330, 130_000_000, 1));
    let (status, body) = api
        .request(
            "GET",
            &format!("/api/usage?groupBy=day&from={day}&to={day}"),
            None,
        )
        .await;
    assert_eq!((status, rows(&body).len()), (StatusCode::OK, 1), "{body}");
    let (status, body) = api
        .request("GET", "/api/usage?groupBy=day&to=2000-01-01", None)
        .await;
    assert_eq!((status, rows(&body).len()), (StatusCode::OK, 0), "{body}");
    let (status, body) = api.request("GET", "/api/usage?groupBy=week", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "invalid_input");

    // Metrics: 401 without credentials, exact totals with the token, with
    // the login, and on the open listener.
    let http = reqwest::Client::new();
    let metrics_url = format!("{}/metrics", hub.url());
    let anonymous = http.get(&metrics_url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = http
        .get(&metrics_url)
        .bearer_auth("integration-metrics-token-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let scraped = http
        .get(&metrics_url)
        .bearer_auth(metrics_token)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    let text = scraped.text().await.unwrap();
    for line in [
        "flotilla_tokens_total{agent=\"claude\",host=\"laptop\",type=\"input\"} 1000",
        "flotilla_tokens_total{agent=\"bash\",host=\"laptop\",type=\"output\"} 30",
        "flotilla_tokens_total{agent=\"claude\",host=\"server\",type=\"input\"} 2000",
        "flotilla_cost_usd_total{agent=\"claude\",host=\"laptop\"} 0.04",
        "flotilla_cost_usd_total{agent=\"claude\",host=\"server\"} 0.09",
        "flotilla_otlp_requests_total{agent=\"claude\",host=\"server\"} 20",
        "flotilla_sessions{state=\"running\"} 3",
        "flotilla_hosts_online 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let (status, _) = api.request("GET", "/metrics", None).await;
    assert_eq!(status, StatusCode::OK, "a login cookie is enough");
    let open_addr = hub
        .process
        .announcement("metrics_listening")
        .expect("metrics listener announced")["addr"]
        .as_str()
        .unwrap()
        .to_owned();
    let open = http
        .get(format!("http://{open_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(
        open.text()
            .await
            .unwrap()
            .contains("flotilla_cost_usd_total{agent=\"claude\",host=\"server\"} 0.09")
    );

    // A daemon reconnecting with the sessions keeps counting from the
    // persisted totals: only the growth is added.
    let laptop_daemon = fake_daemon(&hub, &laptop, &[a, b]).await;
    let more = usage(1100, 100, 41_000_000, None);
    laptop_daemon.report(a, &more).await;
    wait_usage(&hub, &api, a, &more).await;
    let by_agent = rows(&report("agent").await);
    assert_eq!(by_agent[0].3, 3100, "{by_agent:?}");
    assert_eq!(by_agent[0].5, 131_000_000, "{by_agent:?}");
}

on_both_databases!(usage_survives_a_hub_restart_and_sums_by_host_project_agent_and_day,);
