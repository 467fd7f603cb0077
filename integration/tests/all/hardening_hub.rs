//! Hardening of the hub against the real binary: logins that end cut their
//! browser sockets, bad daemon frames, oversized and unauthenticated
//! Socket.IO traffic, login throttling, file modes, start-up races, host
//! "last seen" and the memory of ended sessions.

use flotilla_integration::process::HubProcess;
use flotilla_integration::socket::ConnectOptions;
use flotilla_integration::{Api, Database, FakeDaemon, LogTail, UiSocket, Workspace, wait_until};
use flotilla_protocol::UI_NAMESPACE;
use flotilla_protocol::ui_to_hub::AttachSession;
use flotilla_protocol::{Event, SessionId};
use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

async fn viewer(hub: &HubProcess, api: &Api) -> UiSocket {
    UiSocket::viewer(hub, api).await
}

/// Waits until every socket in `sockets` was closed by the hub.
async fn wait_closed(hub: &HubProcess, what: &str, sockets: &[&UiSocket]) {
    wait_until(what, &[hub as &dyn LogTail], || {
        let open = sockets.iter().filter(|socket| !socket.is_closed()).count();
        async move {
            if open == 0 {
                Ok(())
            } else {
                Err(format!("{open} still open"))
            }
        }
    })
    .await;
}

/// Attaching an unknown session answers `not_found` on a live login: the
/// socket is open and authorised.
async fn assert_authorised(socket: &UiSocket) {
    let ack = socket
        .emit_with_ack(AttachSession::NAME, &json!({"sessionId": SessionId::new()}))
        .await;
    assert_eq!(ack["error"]["code"], "not_found", "{ack}");
}

#[tokio::test]
async fn logout_disconnects_that_logins_sockets_at_once() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let leaving = Api::login(&hub.url()).await;
    let staying = Api::login(&hub.url()).await;
    let first = viewer(&hub, &leaving).await;
    let second = viewer(&hub, &leaving).await;
    let other = viewer(&hub, &staying).await;
    assert_authorised(&first).await;

    let (status, _) = leaving.request("POST", "/api/logout", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    wait_closed(
        &hub,
        "the logged-out login's sockets close",
        &[&first, &second],
    )
    .await;
    assert!(!other.is_closed(), "another login's socket was closed");
    assert_authorised(&other).await;

    // The revoked cookie opens no new socket, and logging out again (or
    // without any login) is a 401 like every other route.
    let origin = hub.url();
    let refused = UiSocket::connect(
        &hub.addr,
        UI_NAMESPACE,
        ConnectOptions {
            cookie: leaving.cookie(),
            origin: Some(&origin),
            auth: None,
        },
    )
    .await;
    assert!(refused.is_err(), "a revoked login opened a socket");
    let (status, _) = leaving.request("POST", "/api/logout", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = Api::new(&hub.url())
        .request("POST", "/api/logout", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_login_disconnects_its_sockets() {
    let workspace = Workspace::new();
    let hub = HubProcess::start_with(&workspace, "127.0.0.1:0", &["--login-ttl-ms", "1500"]);
    let api = Api::login(&hub.url()).await;
    let socket = viewer(&hub, &api).await;
    assert_authorised(&socket).await;
    wait_closed(&hub, "the expired login's socket closes", &[&socket]).await;
    let (status, _) = api.request("GET", "/api/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_frame_at_an_offset_near_2_pow_64_is_refused_and_the_daemon_stays_served() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let host = api.create_host("edge").await;
    let daemon = FakeDaemon::connect(&hub.addr, &host, &[])
        .await
        .expect("fake daemon connects");
    let session = daemon.spawn(&api, host.host.id).await.id;
    let browser = viewer(&hub, &api).await;
    let ack = browser
        .emit_with_ack(AttachSession::NAME, &json!({"sessionId": session}))
        .await;
    assert_eq!(ack["type"], "ok", "{ack}");
    daemon.output(session, 0, b"before ").await;
    daemon.output(session, u64::MAX - 2, b"overflowing").await;
    daemon.output(session, 7, b"after").await;
    wait_until("output around the bad frame", &[&hub], || {
        let text = browser.stream(session).text();
        async move {
            if text == "before after" {
                Ok(())
            } else {
                Err(text)
            }
        }
    })
    .await;
    // The connection still answers, and so does every other.
    let ack = daemon.hello(&[session]).await;
    assert_eq!(ack["type"], "ok", "{ack}");
    assert_eq!(ack["value"]["resume"][0]["offset"], 12, "{ack}");
    assert!(hub.process.log_contains("output frame from daemon refused"));
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", hub.url()))
        .header("cookie", api.cookie().expect("logged in"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics body");
    assert!(
        metrics.contains("flotilla_output_frames_refused_total 1"),
        "{metrics}"
    );
}

/// The hub's resident set and its peak so far, in KiB, from /proc.
fn memory_kib(hub: &HubProcess) -> (u64, u64) {
    let pid = hub.process.pid().expect("hub pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading /proc");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A raw WebSocket to the hub's Engine.IO endpoint that never connects to
/// a namespace (so never authenticates).
type RawSocket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn raw_engine_io(hub: &HubProcess) -> Result<RawSocket, String> {
    raw_engine_io_from(hub, std::net::Ipv4Addr::LOCALHOST).await
}

/// An Engine.IO WebSocket that never joins a namespace, from `source` (any
/// 127.x.y.z address: the whole block is loopback), so the hub sees distinct
/// client addresses.
async fn raw_engine_io_from(
    hub: &HubProcess,
    source: std::net::Ipv4Addr,
) -> Result<RawSocket, String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|error| error.to_string())?;
    socket
        .bind((source, 0).into())
        .map_err(|error| format!("binding {source}: {error}"))?;
    let stream = socket
        .connect(hub.addr.parse().map_err(|error| format!("{error}"))?)
        .await
        .map_err(|error| error.to_string())?;
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", hub.addr);
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|error| error.to_string())?;
    match ws.next().await {
        Some(Ok(Message::Text(open))) if open.starts_with('0') => Ok(ws),
        other => Err(format!("no engine.io open packet: {other:?}")),
    }
}

/// Reads until the server closes the connection; false if it stays open
/// for the whole test timeout.
async fn closed_by_server<S>(ws: &mut S) -> bool
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let read_to_end = async {
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    tokio::time::timeout(flotilla_integration::timeout(), read_to_end)
        .await
        .is_ok()
}

#[tokio::test]
async fn oversized_websocket_messages_before_login_close_the_socket_and_memory_stays_bounded() {
    const SOCKETS: usize = 6;
    const MESSAGE_BYTES: usize = 12 * 1024 * 1024;
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let (rss_before, peak_before) = memory_kib(&hub);
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        sockets.push(raw_engine_io(&hub).await.expect("engine.io handshake"));
    }
    // An Engine.IO message packet of 12 MiB each, all at once.
    let payload = format!("4{}", "x".repeat(MESSAGE_BYTES));
    let sends = sockets.iter_mut().map(|ws| {
        let payload = payload.clone();
        async move {
            // The server may close mid-send; that is the point.
            let _ = ws.send(Message::text(payload)).await;
        }
    });
    futures_util::future::join_all(sends).await;
    for (n, ws) in sockets.iter_mut().enumerate() {
        assert!(
            closed_by_server(ws).await,
            "socket {n} stayed open\n{}",
            hub.tail(40)
        );
    }
    let (rss_after, peak_after) = memory_kib(&hub);
    println!(
        "hub memory under a flood of {SOCKETS} x {} MiB unauthenticated messages: \
         RSS {rss_before} -> {rss_after} KiB, peak {peak_before} -> {peak_after} KiB",
        MESSAGE_BYTES >> 20
    );
    let grown_mib = peak_after.saturating_sub(peak_before) / 1024;
    assert!(
        grown_mib < 32,
        "the hub's peak RSS grew by {grown_mib} MiB under the flood"
    );
    // The hub still serves logged-in users.
    let socket = viewer(&hub, &api).await;
    assert_authorised(&socket).await;
}

#[tokio::test]
async fn unauthenticated_connections_are_bounded_per_address() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let mut idle = Vec::new();
    for _ in 0..16 {
        idle.push(raw_engine_io(&hub).await.expect("engine.io handshake"));
    }
    let refused = raw_engine_io(&hub).await;
    assert!(
        refused.as_ref().is_err_and(|error| error.contains("503")),
        "the 17th pending connection was not refused: {:?}",
        refused.map(|_| ())
    );
    drop(idle);
    // Closed connections free their slots: a login connects again.
    let origin = hub.url();
    let socket = wait_until("a slot frees up", &[&hub], || {
        let origin = origin.clone();
        let hub_addr = hub.addr.clone();
        let cookie = api.cookie().map(str::to_owned);
        async move {
            UiSocket::connect(
                &hub_addr,
                UI_NAMESPACE,
                ConnectOptions {
                    cookie: cookie.as_deref(),
                    origin: Some(&origin),
                    auth: None,
                },
            )
            .await
            .map_err(|error| format!("{error:?}"))
        }
    })
    .await;
    assert_authorised(&socket).await;
}

#[tokio::test]
async fn twenty_wrong_passwords_in_a_row_are_throttled() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for n in 0..20 {
        // Half of them spray other accounts from the same address.
        let username = if n % 2 == 0 {
            "admin".to_owned()
        } else {
            format!("guess{n}")
        };
        let response = http
            .post(format!("{}/api/login", hub.url()))
            .json(&json!({"username": username, "password": "wrong-password"}))
            .send()
            .await
            .expect("login request");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
        }
        statuses.push(response.status().as_u16());
    }
    // Ten free failures per address, the eleventh starts the backoff (and
    // the refused attempts are answered at once, well within its second).
    assert!(statuses[..11].iter().all(|s| *s == 401), "{statuses:?}");
    let throttled = statuses[11..].iter().filter(|s| **s == 429).count();
    assert!(throttled >= 5, "{statuses:?}");
}

/// Milliseconds since the epoch, as the hub stores times.
fn now_ms() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i128
}

#[tokio::test]
async fn a_hosts_last_seen_is_when_its_daemon_disconnected() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let host = api.create_host("roamer").await;
    let daemon = FakeDaemon::connect(&hub.addr, &host, &[])
        .await
        .expect("fake daemon connects");
    let seen_at_hello = api
        .host(host.host.id)
        .await
        .and_then(|summary| summary.last_seen_at)
        .map(|at| at.unix_timestamp_nanos() / 1_000_000)
        .expect("last seen after hello");
    let before_leaving = wait_until("the clock to pass the hello", &[&hub], || async move {
        let now = now_ms();
        if now > seen_at_hello + 1 {
            Ok(now)
        } else {
            Err(format!("{now} vs {seen_at_hello}"))
        }
    })
    .await;
    daemon.socket.disconnect().await;
    let api = &api;
    let id = host.host.id;
    wait_until(
        "the host offline, last seen when it left",
        &[&hub],
        || async move {
            let summary = api.host(id).await;
            let seen = summary
                .as_ref()
                .and_then(|summary| summary.last_seen_at)
                .map(|at| at.unix_timestamp_nanos() / 1_000_000);
            match (&summary, seen) {
                (Some(summary), Some(seen)) if !summary.online && seen >= before_leaving => Ok(()),
                _ => Err(format!("{summary:?} (left after {before_leaving})")),
            }
        },
    )
    .await;
}

async fn the_hub_and_issue_host_token_start_together_on_a_fresh_database(database: Database) {
    for round in 0..4 {
        let workspace = Workspace::on(database);
        let token_file = workspace.path().join("host-token");
        let issue = workspace
            .hub_command()
            .args(["issue-host-token", "box", "--token-file"])
            .arg(&token_file)
            .env("HUB_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting issue-host-token");
        let hub = HubProcess::start(&workspace);
        let issued = issue.wait_with_output().expect("issue-host-token exits");
        assert!(
            issued.status.success(),
            "round {round}: issue-host-token failed: {}\n{}",
            String::from_utf8_lossy(&issued.stderr),
            hub.tail(40)
        );
        // `listening` came after the migrations: the API answers at once.
        let api = Api::login(&hub.url()).await;
        let (status, hosts) = api.request("GET", "/api/hosts", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(hosts[0]["name"], "box", "round {round}: {hosts}");
        assert!(
            std::fs::read_to_string(&token_file)
                .unwrap()
                .starts_with("flt_")
        );
    }
}

#[tokio::test]
async fn the_hubs_data_dir_and_database_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let workspace = Workspace::new();
    let data = workspace.data_dir();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hub = HubProcess::start(&workspace);
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("flotilla.db")), 0o600);
    assert!(hub.process.log_contains("restricted permissions"));
}

#[tokio::test]
async fn unauthenticated_connections_are_bounded_in_all_across_addresses() {
    let workspace = Workspace::new();
    let hub = HubProcess::start(&workspace);
    let mut idle = Vec::new();
    // 16 addresses x 16 connections: the global cap of 256, no address over its own.
    for client in 1..=16u8 {
        for _ in 0..16 {
            let source = std::net::Ipv4Addr::new(127, 0, 0, client);
            idle.push(
                raw_engine_io_from(&hub, source)
                    .await
                    .expect("engine.io handshake"),
            );
        }
    }
    let fresh = std::net::Ipv4Addr::new(127, 0, 0, 17);
    let refused = raw_engine_io_from(&hub, fresh).await;
    assert!(
        refused.as_ref().is_err_and(|error| error.contains("503")),
        "the 257th pending connection (from a fresh address) was not refused: {:?}",
        refused.map(|_| ())
    );
    drop(idle);
    let hub = &hub;
    wait_until("slots free up", &[hub], || async move {
        raw_engine_io_from(hub, fresh).await.map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_never_authenticates_is_closed_after_the_handshake_timeout() {
    let workspace = Workspace::new();
    let hub = HubProcess::start_with(
        &workspace,
        "127.0.0.1:0",
        &["--handshake-timeout-ms", "1000"],
    );
    let mut sockets = Vec::new();
    for _ in 0..16 {
        sockets.push(raw_engine_io(&hub).await.expect("engine.io handshake"));
    }
    assert!(
        raw_engine_io(&hub).await.is_err(),
        "the address is at its cap"
    );
    for socket in &mut sockets {
        assert!(
            closed_by_server(socket).await,
            "an unauthenticated connection outlived the handshake timeout"
        );
    }
    // Their slots are free again: the address gets 16 new ones.
    for _ in 0..16 {
        raw_engine_io(&hub)
            .await
            .expect("a slot freed by the timeout");
    }
}

on_both_databases!(the_hub_and_issue_host_token_start_together_on_a_fresh_database,);
