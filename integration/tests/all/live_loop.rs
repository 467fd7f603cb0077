//! The live loop, end to end through the real binaries: browser-like client
//! ⇄ hub ⇄ daemon ⇄ PTY, with authentication, bad input and restarts; each
//! scenario runs with the hub on SQLite and on Postgres.

use flotilla_integration::process::{DaemonOptions, TEST_RC_MARKER};
use flotilla_integration::socket::{ConnectError, ConnectOptions};
use flotilla_integration::{
    Api, DaemonProcess, Database, HubProcess, LogTail, Stack, UiSocket, Workspace, wait_until,
};
use flotilla_protocol::rest::SessionState;
use flotilla_protocol::{PROTOCOL_VERSION, SessionId, UI_NAMESPACE};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) async fn attach(viewer: &UiSocket, session: SessionId) -> Value {
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session}))
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    reply["value"].clone()
}

pub(crate) async fn type_text(viewer: &UiSocket, session: SessionId, text: &str) {
    let reply = viewer
        .emit_with_ack(
            "session:input",
            &json!({"sessionId": session, "data": text}),
        )
        .await;
    assert_eq!(reply, json!({"type": "ok", "value": null}));
}

// SQLite only. FIXME(#9): the `session:updated` push can arrive after the
// REST answer already says `exited` (the hub publishes after its commit and
// one more read), so the check right after `wait_state` below is
// timing-dependent: on Postgres it failed in 1 of 4 full runs, and on SQLite
// once in 10 while a build loaded both cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_type_resize_share_and_stop() {
    let stack = Stack::start().await;
    let session = stack.spawn_bash().await;
    let first = stack.viewer().await;
    let second = stack.viewer().await;
    let summary = attach(&first, session).await;
    assert_eq!(summary["profile"], "bash");
    attach(&second, session).await;

    // The arithmetic only appears in the output, never in the echoed input.
    let marker = uuid::Uuid::new_v4().simple().to_string();
    type_text(&first, session, &format!("echo {marker}-$((6*7))\r")).await;
    stack
        .wait_output(&first, session, &format!("{marker}-42"))
        .await;
    stack
        .wait_output(&second, session, &format!("{marker}-42"))
        .await;

    // The second viewer types; both see it.
    type_text(&second, session, "echo second-$((2+3))\r").await;
    stack.wait_output(&first, session, "second-5").await;

    // UTF-8 survives the relay.
    type_text(
        &first,
        session,
        "printf '\\xe2\\x9c\\x93 h\\xc3\\xa9llo\\n'\r",
    )
    .await;
    stack.wait_output(&second, session, "✓ héllo").await;

    let reply = first
        .emit_with_ack(
            "session:resize",
            &json!({"sessionId": session, "size": {"cols": 101, "rows": 31}}),
        )
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    type_text(&first, session, "stty size\r").await;
    stack.wait_output(&first, session, "31 101").await;

    // Neither viewer saw a gap or needed to drop a duplicate.
    for viewer in [&first, &second] {
        let stream = viewer.stream(session);
        assert_eq!(stream.gaps, 0, "gaps");
    }

    // Interactive bash ignores SIGTERM; the stop hangs it up (SIGHUP) first.
    let (status, body) = stack
        .api
        .request("POST", &format!("/api/sessions/{session}/stop"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let ended = stack.wait_state(session, SessionState::Exited).await;
    assert!(
        ended.exit_code.is_some() || ended.exit_signal.is_some(),
        "{ended:?}"
    );
    assert!(ended.ended_at.is_some());
    let updates = first.events("session:updated");
    assert!(
        updates
            .iter()
            .any(|u| u["session"]["id"] == json!(session) && u["session"]["state"] == "exited"),
        "{updates:?}"
    );

    // Input to an ended session is refused with a clear error.
    let reply = first
        .emit_with_ack("session:input", &json!({"sessionId": session, "data": "x"}))
        .await;
    assert_eq!(reply["type"], "error");
    let (status, _) = stack
        .api
        .request("POST", &format!("/api/sessions/{session}/stop"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

/// Tests never run the user's shell start-up files: a session's login bash
/// sees the workspace's HOME and read its `.bashrc`, so a slow or unusual
/// `~/.bashrc` on a developer's machine cannot change any test.
async fn sessions_run_with_the_workspaces_own_home_and_rc_files(database: Database) {
    let stack = Stack::start_on(database).await;
    let session = stack.spawn_bash().await;
    let viewer = stack.viewer().await;
    attach(&viewer, session).await;
    let (key, value) = TEST_RC_MARKER;
    // The expanded values only appear in the output, never in the echoed input.
    type_text(&viewer, session, &format!("echo \"rc=${key}\"\"@$HOME\"\r")).await;
    let home = stack.workspace.home();
    stack
        .wait_output(&viewer, session, &format!("rc={value}@{}", home.display()))
        .await;
}

/// The processes whose parent is `pid`, read from `/proc`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let after = &stat[stat.rfind(')').unwrap() + 1..];
        let ppid: u32 = after.split_whitespace().nth(1).unwrap().parse().unwrap();
        if ppid == pid {
            children.push(child);
        }
    }
    children
}

async fn a_retried_spawn_never_starts_a_second_agent(database: Database) {
    let stack = Stack::start_on(database).await;
    let daemon = stack.daemon.process.pid().unwrap();
    let id = SessionId::new();
    let body = json!({
        "id": id,
        "hostId": stack.host_id(),
        "profile": "bash",
        "project": stack.workspace.project().display().to_string(),
    });
    let spawn = |body: Value| {
        let api = &stack.api;
        async move { api.request("POST", "/api/sessions", Some(body)).await }
    };
    // Three tries of one spawn at once, as a client retrying on a flaky
    // network would send them.
    let (a, b, c) = tokio::join!(
        spawn(body.clone()),
        spawn(body.clone()),
        spawn(body.clone())
    );
    let mut statuses: Vec<u16> = [&a, &b, &c].iter().map(|(code, _)| code.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 201], "{a:?} {b:?} {c:?}");
    for (_, answer) in [&a, &b, &c] {
        assert_eq!(answer["id"], json!(id), "{answer}");
    }
    let (_, list) = stack.api.request("GET", "/api/sessions", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(children_of(daemon).len(), 1, "one agent process");

    // The same id for a different spawn is refused; nothing starts.
    for (key, value) in [
        ("profile", json!("other")),
        ("project", json!("/elsewhere")),
    ] {
        let mut other = body.clone();
        other[key] = value;
        let (code, answer) = spawn(other).await;
        assert_eq!(code, StatusCode::CONFLICT, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains("already used"),
            "{answer}"
        );
    }
    stack.stop(id).await;
    // A late retry answers with the ended session and starts nothing.
    let (code, answer) = spawn(body).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["state"], "exited", "{answer}");
    assert!(children_of(daemon).is_empty(), "{:?}", children_of(daemon));
}

async fn exit_code_is_recorded(database: Database) {
    let stack = Stack::start_on(database).await;
    let session = stack.spawn_bash().await;
    let viewer = stack.viewer().await;
    attach(&viewer, session).await;
    type_text(&viewer, session, "exit 7\r").await;
    let ended = stack.wait_state(session, SessionState::Exited).await;
    assert_eq!(ended.exit_code, Some(7), "{ended:?}");
}

async fn late_joiner_gets_recent_output_once(database: Database) {
    let stack = Stack::start_on(database).await;
    let session = stack.spawn_bash().await;
    let early = stack.viewer().await;
    attach(&early, session).await;
    type_text(&early, session, "echo before-$((1+1))\r").await;
    stack.wait_output(&early, session, "before-2").await;
    let late = stack.viewer().await;
    attach(&late, session).await;
    stack.wait_output(&late, session, "before-2").await;
    type_text(&late, session, "echo after-$((3+3))\r").await;
    stack.wait_output(&late, session, "after-6").await;
    stack.wait_output(&early, session, "after-6").await;
    let text = late.stream(session).text();
    assert_eq!(
        text.matches("before-2").count(),
        1,
        "replayed exactly once: {text}"
    );
}

async fn wrong_host_token_is_refused_with_a_distinct_exit_code(database: Database) {
    let workspace = Workspace::on(database);
    let hub = HubProcess::start(&workspace);
    let mut daemon = DaemonProcess::spawn(
        &workspace,
        DaemonOptions {
            hub_url: &hub.url(),
            token: "flt_not-a-real-token",
            extra_args: &[],
            profiles_dir: None,
        },
    );
    let status = daemon.process.wait_exit();
    assert_eq!(status.code(), Some(77), "{}", daemon.tail(40));
    assert!(daemon.process.log_contains("token"), "{}", daemon.tail(40));
    assert!(
        !daemon.process.log_contains("flt_not-a-real-token"),
        "the token is never logged"
    );
}

async fn daemon_handshake_refusals_are_typed(database: Database) {
    let workspace = Workspace::on(database);
    let hub = HubProcess::start(&workspace);
    let api = Api::login(&hub.url()).await;
    let host = api.create_host("box").await;
    let refusal = |auth: Value| {
        let addr = hub.addr.clone();
        async move {
            match UiSocket::connect(
                &addr,
                "/daemon",
                ConnectOptions {
                    auth: Some(auth),
                    ..Default::default()
                },
            )
            .await
            {
                Err(ConnectError::Refused(message)) => {
                    serde_json::from_str::<Value>(message["message"].as_str().unwrap()).unwrap()
                }
                Err(other) => panic!("unexpected {other:?}"),
                Ok(_) => panic!("connection was accepted"),
            }
        }
    };
    let mismatch =
        refusal(json!({"token": host.token, "protocolVersion": 999, "daemonVersion": "x"})).await;
    assert_eq!(
        mismatch,
        json!({"type": "version_mismatch", "hub": PROTOCOL_VERSION, "daemon": 999})
    );
    let bad = refusal(
        json!({"token": "nope", "protocolVersion": PROTOCOL_VERSION, "daemonVersion": "x"}),
    )
    .await;
    assert_eq!(bad, json!({"type": "bad_token"}));
    let malformed = refusal(json!({"tokn": 1})).await;
    assert_eq!(malformed["type"], "malformed_handshake");
}

async fn ui_socket_requires_a_login_and_the_right_origin(database: Database) {
    let stack = Stack::start_on(database).await;
    let origin = stack.hub.url();
    let no_cookie = UiSocket::connect(
        &stack.hub.addr,
        UI_NAMESPACE,
        ConnectOptions {
            origin: Some(&origin),
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(no_cookie, Err(ConnectError::Refused(_))),
        "no cookie must be refused"
    );
    let forged = UiSocket::connect(
        &stack.hub.addr,
        UI_NAMESPACE,
        ConnectOptions {
            cookie: Some("flotilla_session=forged"),
            origin: Some(&origin),
            auth: None,
        },
    )
    .await;
    assert!(
        matches!(forged, Err(ConnectError::Refused(_))),
        "a forged cookie must be refused"
    );
    let foreign = UiSocket::connect(
        &stack.hub.addr,
        UI_NAMESPACE,
        ConnectOptions {
            cookie: stack.api.cookie(),
            origin: Some("http://evil.example"),
            auth: None,
        },
    )
    .await;
    match foreign {
        Err(ConnectError::Refused(message)) => {
            assert!(message.to_string().contains("Origin"), "{message}")
        }
        other => panic!("a foreign origin must be refused, got {:?}", other.err()),
    }
    stack.viewer().await;
}

async fn malformed_and_oversized_messages_get_errors_and_the_connection_stays_up(
    database: Database,
) {
    let stack = Stack::start_on(database).await;
    let session = stack.spawn_bash().await;
    let viewer = stack.viewer().await;
    let reply = viewer
        .emit_with_ack("session:input", &json!({"sessionId": 5}))
        .await;
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["error"]["code"], "invalid_input");
    let reply = viewer
        .emit_with_ack("session:attach", &json!("garbage"))
        .await;
    assert_eq!(reply["error"]["code"], "invalid_input");
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": SessionId::new()}))
        .await;
    assert_eq!(reply["error"]["code"], "not_found");
    let big = "x".repeat(flotilla_protocol::MAX_INPUT_BYTES + 1);
    let reply = viewer
        .emit_with_ack("session:input", &json!({"sessionId": session, "data": big}))
        .await;
    assert_eq!(reply["error"]["code"], "too_large");
    let reply = viewer
        .emit_with_ack(
            "session:resize",
            &json!({"sessionId": session, "size": {"cols": 0, "rows": 5}}),
        )
        .await;
    assert_eq!(reply["error"]["code"], "invalid_input");
    // Without an ack, the error arrives as an event.
    viewer.emit("session:input", &json!({"nope": true})).await;
    let errors = wait_until("hub:error event", &stack.logs(), || {
        let events = viewer.events("hub:error");
        async move {
            if events.is_empty() {
                Err("none".into())
            } else {
                Ok(events)
            }
        }
    })
    .await;
    assert_eq!(errors[0]["event"], "session:input");
    assert_eq!(errors[0]["error"]["code"], "invalid_input");
    // Still connected and working.
    attach(&viewer, session).await;
    type_text(&viewer, session, "echo alive-$((4*4))\r").await;
    stack.wait_output(&viewer, session, "alive-16").await;
    assert!(!viewer.is_closed());

    // A frame that is not Socket.IO at all is a transport violation: the
    // hub closes that one connection (socketioxide's behaviour) and stays up.
    viewer.send_raw("42/ui,[\"session:input\",{".into()).await;
    let fresh = stack.viewer().await;
    attach(&fresh, session).await;
    type_text(&fresh, session, "echo still-$((8*8))\r").await;
    stack.wait_output(&fresh, session, "still-64").await;
}

async fn projects_outside_the_root_are_refused(database: Database) {
    let stack = Stack::start_on(database).await;
    let outside = tempfile::tempdir().unwrap();
    // Refused by the hub: not under the advertised roots.
    let (status, body) = stack
        .api
        .spawn(
            stack.host_id(),
            "bash",
            outside.path().to_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "outside_project_root");
    // Refused by the daemon: textually inside the root, a symlink resolves outside.
    let link = stack.workspace.projects_root().join("escape");
    std::os::unix::fs::symlink(outside.path(), &link).unwrap();
    let (status, body) = stack
        .api
        .spawn(stack.host_id(), "bash", link.to_str().unwrap(), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "outside_project_root");
    assert!(
        body["message"].as_str().unwrap().contains("outside"),
        "{body}"
    );
    let (status, body) = stack
        .api
        .spawn(
            stack.host_id(),
            "nonexistent-agent",
            stack.workspace.project().to_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // The refused spawn by the daemon is recorded as failed, with its reason.
    let (_, sessions) = stack.api.request("GET", "/api/sessions", None).await;
    let failed: Vec<&Value> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{sessions}");
    assert!(failed[0]["error"].as_str().unwrap().contains("outside"));
}

async fn hub_restart_keeps_records_and_the_running_session(database: Database) {
    let mut stack = Stack::start_on(database).await;
    let session = stack.spawn_bash().await;
    let viewer = stack.viewer().await;
    attach(&viewer, session).await;
    type_text(&viewer, session, "echo before-restart-$((5*5))\r").await;
    stack
        .wait_output(&viewer, session, "before-restart-25")
        .await;

    let status = stack.hub.process.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "hub exits 0 on SIGTERM\n{}",
        stack.hub.tail(30)
    );
    assert!(
        !stack
            .hub
            .process
            .log_contains("did not finish within the grace period"),
        "{}",
        stack.hub.tail(30)
    );
    let restarted = HubProcess::start_at(&stack.workspace, &stack.hub.addr);
    stack.hub = restarted;
    stack.api = Api::login(&stack.hub.url()).await;

    // Users, hosts and session records survived; the daemon reconnects by itself.
    stack.wait_online(true).await;
    let summary = stack.api.session(session).await;
    assert_eq!(
        summary.state,
        SessionState::Running,
        "the session outlived the hub restart"
    );
    let viewer = stack.viewer().await;
    attach(&viewer, session).await;
    stack
        .wait_output(&viewer, session, "before-restart-25")
        .await;
    type_text(&viewer, session, "echo after-restart-$((7*7))\r").await;
    stack
        .wait_output(&viewer, session, "after-restart-49")
        .await;
    assert_eq!(viewer.stream(session).gaps, 0);
}

// SQLite only. FIXME(#9): the daemon cannot know when the hub *recorded* the
// exit (`session:exited` has no ack; the hub's inbox writes it after the
// daemon may have gone), so reading it right after the daemon exits is
// timing-dependent, and on Postgres the read wins the race now and then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_exits_zero_on_sigterm_after_reporting_its_sessions_exits() {
    let mut stack = Stack::start().await;
    let session = stack.spawn_bash().await;
    // A shell still reading its startup files handles SIGHUP only once it
    // reaches its prompt; under load that can be past the grace period, and
    // the stop rightly escalates to SIGKILL. Stop a shell that is ready.
    let viewer = stack.viewer().await;
    attach(&viewer, session).await;
    type_text(&viewer, session, "echo ready-$((6*7))\r").await;
    stack.wait_output(&viewer, session, "ready-42").await;
    let status = stack.daemon.process.terminate();
    assert_eq!(status.code(), Some(0), "{}", stack.daemon.tail(30));
    // The daemon stayed connected until the hub had the session's exit:
    // it is recorded, not left running on an offline host.
    let summary = stack.api.session(session).await;
    assert_eq!(
        summary.state,
        SessionState::Exited,
        "{summary:?}\n{}",
        stack.daemon.tail(30)
    );
    assert_eq!(
        summary.exit_signal.as_deref(),
        Some("SIGHUP"),
        "{summary:?}"
    );
    stack.wait_online(false).await;
    let (status, body) = stack
        .api
        .spawn(
            stack.host_id(),
            "bash",
            stack.workspace.project().to_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

/// A rotated token does not take the host's agents with it: the refused
/// daemon keeps its sessions, picks the new token up from its token file,
/// and the hub adopts them again with their output. With no session left,
/// a refused token still ends the daemon with 77.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_never_ends_the_agents_and_a_new_token_file_brings_them_back() {
    let mut stack = Stack::start().await;
    let token_file = stack.workspace.path().join("host-token");
    std::fs::write(&token_file, &stack.host.token).unwrap();
    let token_arg = token_file.to_string_lossy().into_owned();
    let hub_url = stack.hub.url();
    stack.daemon.process.terminate();
    stack.daemon = DaemonProcess::start(
        &stack.workspace,
        DaemonOptions {
            hub_url: &hub_url,
            token: "",
            extra_args: &["--token-file", &token_arg],
            profiles_dir: None,
        },
    );
    stack.wait_online(true).await;
    let session = stack.spawn_bash().await;
    let viewer = stack.viewer().await;
    attach(&viewer, session).await;
    type_text(&viewer, session, "echo before-$((3*3))\r").await;
    stack.wait_output(&viewer, session, "before-9").await;

    let new_token = stack.api.rotate_token(stack.host_id()).await;
    stack.wait_online(false).await;
    // Refused, the daemon stays, and so does the agent, still producing.
    wait_until("the daemon to be refused", &stack.logs(), || {
        let refused = stack
            .daemon
            .process
            .log_contains("the sessions keep running");
        async move {
            if refused {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        }
    })
    .await;
    assert!(
        stack.daemon.process.try_exit().is_none(),
        "{}",
        stack.daemon.tail(30)
    );
    let summary = stack.api.session(session).await;
    assert_eq!(summary.state, SessionState::Running, "{summary:?}");

    std::fs::write(&token_file, &new_token).unwrap();
    stack.wait_online(true).await;
    assert_eq!(
        stack.api.session(session).await.state,
        SessionState::Running
    );
    let again = stack.viewer().await;
    attach(&again, session).await;
    type_text(&again, session, "echo after-$((4*4))\r").await;
    stack.wait_output(&again, session, "after-16").await;
    stack.wait_output(&again, session, "before-9").await;

    // With nothing running, a refused token ends the daemon as before.
    stack.stop(session).await;
    stack.api.rotate_token(stack.host_id()).await;
    assert_eq!(stack.daemon.process.wait_exit().code(), Some(77));
}

async fn sessions_of_a_daemon_that_vanished_are_lost_when_it_comes_back(database: Database) {
    let mut stack = Stack::start_on(database).await;
    let session = stack.spawn_bash().await;
    let pid = stack.daemon.process.pid().expect("daemon pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    stack.daemon.process.wait_exit();
    stack.wait_online(false).await;
    // A daemon that comes back without the session reports it, and the hub marks it lost.
    stack.daemon = DaemonProcess::start(
        &stack.workspace,
        DaemonOptions {
            hub_url: &stack.hub.url(),
            token: &stack.host.token,
            extra_args: &[],
            profiles_dir: None,
        },
    );
    stack.wait_online(true).await;
    let summary = stack.wait_state(session, SessionState::Lost).await;
    assert!(summary.error.unwrap().contains("without this session"));
}

async fn issued_host_token_file_bootstraps_a_local_daemon(database: Database) {
    use std::os::unix::fs::PermissionsExt as _;
    let workspace = Workspace::on(database);
    let token_file = workspace.path().join("host-token");
    let issue = || {
        workspace
            .hub_command()
            .args(["issue-host-token", "local"])
            .arg("--token-file")
            .arg(&token_file)
            .output()
            .expect("running issue-host-token")
    };
    let output = issue();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let first = std::fs::read_to_string(&token_file).unwrap();
    assert!(first.starts_with("flt_"));
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains(&first),
        "the token is never logged"
    );
    // Issuing again rotates: the old token stops working.
    assert!(issue().status.success());
    let second = std::fs::read_to_string(&token_file).unwrap();
    assert_ne!(first, second);

    let hub = HubProcess::start(&workspace);
    let token_arg = token_file.to_string_lossy().into_owned();
    let daemon = DaemonProcess::start(
        &workspace,
        DaemonOptions {
            hub_url: &hub.url(),
            token: "",
            extra_args: &["--token-file", &token_arg],
            profiles_dir: None,
        },
    );
    let api = Api::login(&hub.url()).await;
    let (_, hosts) = api.request("GET", "/api/hosts", None).await;
    assert_eq!(hosts.as_array().unwrap().len(), 1, "{hosts}");
    assert_eq!(hosts[0]["name"], "local");
    let mut stale = DaemonProcess::spawn(
        &workspace,
        DaemonOptions {
            hub_url: &hub.url(),
            token: &first,
            extra_args: &[],
            profiles_dir: None,
        },
    );
    assert_eq!(stale.process.wait_exit().code(), Some(77));
    drop(daemon);
}

on_both_databases!(
    a_retried_spawn_never_starts_a_second_agent,
    sessions_run_with_the_workspaces_own_home_and_rc_files,
    exit_code_is_recorded,
    late_joiner_gets_recent_output_once,
    wrong_host_token_is_refused_with_a_distinct_exit_code,
    daemon_handshake_refusals_are_typed,
    ui_socket_requires_a_login_and_the_right_origin,
    malformed_and_oversized_messages_get_errors_and_the_connection_stays_up,
    projects_outside_the_root_are_refused,
    hub_restart_keeps_records_and_the_running_session,
    sessions_of_a_daemon_that_vanished_are_lost_when_it_comes_back,
    issued_host_token_file_bootstraps_a_local_daemon,
);
