//! Hardening of the hub against the real binary: logins that end cut their
//! browser sockets, bad daemon frames, oversized and unauthenticated
//! Socket.IO traffic, login throttling, file modes, start-up races, host
//! "last seen" and the memory of ended sessions.

use flotilla_integration::process::HubProcess;
use flotilla_integration::socket::ConnectOptions;
use flotilla_integration::{Api, FakeDaemon, LogTail, UiSocket, Workspace, wait_until};
use flotilla_protocol::UI_NAMESPACE;
use flotilla_protocol::ui_to_hub::AttachSession;
use flotilla_protocol::{Event, SessionId};
use reqwest::StatusCode;
use serde_json::json;

async fn viewer(hub: &HubProcess, api: &Api) -> UiSocket {
    let origin = hub.url();
    UiSocket::connect(
        &hub.addr,
        UI_NAMESPACE,
        ConnectOptions {
            cookie: api.cookie(),
            origin: Some(&origin),
            auth: None,
        },
    )
    .await
    .expect("ui socket connects")
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
