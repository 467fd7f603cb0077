//! Tests for `crate::link`: the backoff schedule and the decoding of what
//! the hub sends.

use std::time::Duration;

use flotilla_protocol::ConnectRefusal;
use rust_socketio::Payload;
use serde_json::json;

use super::backoff::backoff_delay;
use super::socket::{Incoming, command, error_to_incoming, parse_refusal};
use crate::host::HubCommand;

#[test]
fn backoff_doubles_from_one_second_and_caps_at_sixty() {
    let full: Vec<u64> = (0..9).map(|n| backoff_delay(n, 1.0).as_secs()).collect();
    assert_eq!(full, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(backoff_delay(0, 0.0), Duration::from_millis(500));
    assert_eq!(backoff_delay(3, 0.5), Duration::from_secs(6));
    assert_eq!(backoff_delay(u32::MAX, 1.0), Duration::from_secs(60));
    assert_eq!(backoff_delay(2, f64::NAN), Duration::from_secs(2));
    assert_eq!(backoff_delay(2, 7.0), Duration::from_secs(4));
}

#[test]
fn connect_error_becomes_typed_refusal() {
    let wire = ConnectRefusal::BadToken.to_wire();
    let data = json!({ "message": wire }).to_string();
    let payload = Payload::from(format!("Received an ConnectError frame: {data}"));
    assert_eq!(
        error_to_incoming(payload),
        Incoming::Refused(ConnectRefusal::BadToken)
    );

    let mismatch = ConnectRefusal::VersionMismatch { hub: 2, daemon: 1 };
    assert_eq!(parse_refusal(&mismatch.to_wire()), Some(mismatch));
    assert_eq!(parse_refusal(r#"{"message":"nope"}"#), None);

    let other = error_to_incoming(Payload::from("Network error"));
    assert_eq!(other, Incoming::Error("Network error".to_owned()));
}

#[test]
fn hub_commands_decode_and_malformed_ones_are_reported() {
    let id = flotilla_protocol::SessionId::new();
    let payload = Payload::Text(vec![json!({"sessionId": id, "data": "ls\r"})]);
    match command("session:input", payload, HubCommand::Input) {
        Incoming::Command(HubCommand::Input(input)) => assert_eq!(input.data, "ls\r"),
        other => panic!("unexpected {other:?}"),
    }
    let payload = Payload::Text(vec![json!({"sessionId": "not-a-uuid"})]);
    assert!(matches!(
        command("session:stop", payload, HubCommand::Stop),
        Incoming::Malformed { .. }
    ));
    let payload = Payload::Binary(vec![1u8, 2].into());
    assert!(matches!(
        command("session:stop", payload, HubCommand::Stop),
        Incoming::Malformed { .. }
    ));
}

mod against_socketioxide {
    //! The link against an in-process socketioxide hub on 127.0.0.1:0.

    use std::time::Duration;

    use flotilla_protocol::daemon_to_hub::{
        DaemonAuth, Hello, HelloAck, SessionOffset, SessionOutputText,
    };
    use flotilla_protocol::frame::OutputFrame;
    use flotilla_protocol::hub_to_daemon::SpawnSession;
    use flotilla_protocol::{
        ConnectRefusal, Event as _, HostId, PROTOCOL_VERSION, Reply, SessionId, TermSize,
    };
    use socketioxide::SocketIo;
    use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use crate::host::{Host, HostConfig};
    use crate::link::{LinkConfig, LinkExit};

    #[derive(Debug)]
    enum Seen {
        Json(String, serde_json::Value),
        Output(SessionId, u64, Vec<u8>),
    }

    #[derive(Debug)]
    struct Refused(String);
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    /// Records the daemon's messages named `names` (as JSON) and its
    /// output (text and binary) on `seen`.
    fn record(socket: &SocketRef, seen: &mpsc::UnboundedSender<Seen>, names: &[&'static str]) {
        for &name in names {
            let seen = seen.clone();
            socket.on(name, async move |Data(value): Data<serde_json::Value>| {
                let _ = seen.send(Seen::Json(name.to_owned(), value));
            });
        }
        let text_tx = seen.clone();
        socket.on(
            SessionOutputText::NAME,
            async move |Data(text): Data<SessionOutputText>| {
                use base64::Engine as _;
                let data = base64::engine::general_purpose::STANDARD
                    .decode(text.data)
                    .unwrap();
                let _ = text_tx.send(Seen::Output(text.session_id, text.offset, data));
            },
        );
        let output_tx = seen.clone();
        socket.on(
            "session:output",
            async move |Data(bytes): Data<bytes::Bytes>| {
                let frame = OutputFrame::decode(&bytes).unwrap();
                let _ = output_tx.send(Seen::Output(
                    frame.session_id,
                    frame.offset,
                    frame.data.to_vec(),
                ));
            },
        );
    }

    /// The acknowledgement of any Hello: a new host, nothing to resume.
    fn hello_ack() -> Reply<HelloAck> {
        Reply::Ok {
            value: HelloAck {
                host_id: HostId::new(),
                host_name: "test".to_owned(),
                resume: Vec::<SessionOffset>::new(),
            },
        }
    }

    /// Serves `layer` on a free loopback port; returns its URL.
    async fn serve(layer: socketioxide::layer::SocketIoLayer) -> String {
        let app = axum::Router::new().layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    async fn hub(
        session_id: SessionId,
        project: String,
    ) -> (String, mpsc::UnboundedReceiver<Seen>) {
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let (layer, io) = SocketIo::new_layer();
        let handler = async move |socket: SocketRef| {
            let seen_tx = seen_tx.clone();
            let project = project.clone();
            record(
                &socket,
                &seen_tx,
                &[
                    "session:started",
                    "session:spawn_failed",
                    "session:exited",
                    "host:inventory",
                    "session:usage",
                ],
            );
            socket.on(
                Hello::NAME,
                async move |socket: SocketRef, TryData(hello): TryData<Hello>, ack: AckSender| {
                    let hello = hello.unwrap();
                    let _ = seen_tx.send(Seen::Json(
                        Hello::NAME.to_owned(),
                        serde_json::to_value(&hello).unwrap(),
                    ));
                    ack.send(&hello_ack()).unwrap();
                    socket
                        .emit(
                            SpawnSession::NAME,
                            &SpawnSession {
                                session_id,
                                profile: "printer".to_owned(),
                                project: project.clone(),
                                prompt: Some("hello-from-prompt".to_owned()),
                                size: TermSize::default(),
                                worktree: None,
                            },
                        )
                        .unwrap();
                },
            );
        };
        let middleware = async |Data(auth): Data<DaemonAuth>| -> Result<(), Refused> {
            if auth.token == "good" {
                Ok(())
            } else {
                Err(Refused(ConnectRefusal::BadToken.to_wire()))
            }
        };
        use socketioxide::handler::ConnectHandler as _;
        io.ns(
            flotilla_protocol::DAEMON_NAMESPACE,
            handler.with(middleware),
        );
        (serve(layer).await, seen)
    }

    type Setup = (
        LinkConfig,
        Host,
        mpsc::Receiver<crate::session::SessionEvent>,
        TaskTracker,
        CancellationToken,
    );

    fn setup(hub_url: String, token: &str, root: std::path::PathBuf) -> Setup {
        let profile = crate::profile::parse(
            "printer.yaml",
            "name: printer\ndisplay_name: P\ncolor: red\nbinary: sh\ncommands:\n  new: [sh, -c, \"printf 'out:%s' \\\"$0\\\"\", \"{prompt}\"]\n",
        )
        .unwrap();
        setup_with(hub_url, token, root, vec![profile])
    }

    fn setup_with(
        hub_url: String,
        token: &str,
        root: std::path::PathBuf,
        profiles: Vec<crate::profile::Profile>,
    ) -> Setup {
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (events_tx, events) = mpsc::channel(64);
        let host = Host::new(
            HostConfig {
                projects_roots: vec![root],
                stop_grace: Duration::from_millis(500),
                pass_env: Vec::new(),
                base_env: vec![("PATH".to_owned(), "/usr/bin:/bin".to_owned())],
                otlp_endpoint: crate::config::DEFAULT_OTLP_ENDPOINT.to_owned(),
                scrollback_lines: 100,
            },
            profiles,
            Default::default(),
            events_tx,
            tracker.clone(),
            cancel.clone(),
        );
        let config = LinkConfig {
            hub_url,
            auth: DaemonAuth {
                token: token.to_owned(),
                protocol_version: PROTOCOL_VERSION,
                daemon_version: "test".to_owned(),
            },
            token_file: None,
            connect_timeout: Duration::from_secs(5),
            hello_timeout: Duration::from_secs(5),
            rescan_every: None,
            scan_depth: 1,
            drain_timeout: Duration::from_secs(5),
        };
        (config, host, events, tracker, cancel)
    }

    #[tokio::test]
    async fn bad_token_is_a_typed_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let (url, _seen) = hub(SessionId::new(), String::new()).await;
        let (config, host, events, _tracker, cancel) =
            setup(url, "bad", dir.path().canonicalize().unwrap());
        let exit = tokio::time::timeout(
            Duration::from_secs(10),
            crate::link::run(config, host, events, cancel),
        )
        .await
        .expect("link did not give up")
        .unwrap();
        assert_eq!(exit, LinkExit::Refused(ConnectRefusal::BadToken));
    }

    #[tokio::test]
    async fn hello_spawn_output_and_exit_flow_to_the_hub() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let session_id = SessionId::new();
        let (url, mut seen) = hub(session_id, root.display().to_string()).await;
        let (config, host, events, tracker, cancel) = setup(url, "good", root);
        let link = tokio::spawn(crate::link::run(config, host, events, cancel.clone()));
        let mut names = Vec::new();
        let mut output = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !names.iter().any(|name| name == "session:exited") {
            let seen = tokio::time::timeout_at(deadline, seen.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out; saw {names:?}"))
                .unwrap();
            match seen {
                Seen::Json(name, value) => {
                    if name == "session:exited" {
                        assert_eq!(value["exitCode"], 0, "{value}");
                        assert_eq!(value["outputOffset"], output.len() as u64, "{value}");
                    }
                    names.push(name);
                }
                Seen::Output(id, offset, data) => {
                    assert_eq!(id, session_id);
                    assert_eq!(offset, output.len() as u64);
                    output.extend_from_slice(&data);
                }
            }
        }
        assert_eq!(names, ["daemon:hello", "session:started", "session:exited"]);
        assert_eq!(String::from_utf8_lossy(&output), "out:hello-from-prompt");
        cancel.cancel();
        assert_eq!(link.await.unwrap().unwrap(), LinkExit::Shutdown);
        tracker.close();
        tracker.wait().await;
    }

    /// Feeds one fixture export into `session`'s aggregate, as the
    /// receiver would.
    fn ingest(host: &Host, session: SessionId, fixture: &str) {
        use crate::telemetry::decode::{Format, decode_message};
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/telemetry/fixtures")
            .join(fixture);
        let request: ExportMetricsServiceRequest =
            decode_message(&std::fs::read(path).unwrap(), Format::Json).unwrap();
        let entry = host
            .telemetry()
            .lookup(session, std::time::Instant::now())
            .unwrap();
        let mut telemetry = entry.telemetry();
        telemetry.count_request();
        telemetry.ingest_metrics(&request.resource_metrics[0], 1);
    }

    #[tokio::test]
    async fn usage_totals_follow_hello_and_then_each_change() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (url, mut seen) = hub(SessionId::new(), root.display().to_string()).await;
        let (config, host, events, tracker, cancel) = setup(url, "good", root);
        let claude =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/claude.yaml");
        let mapping = std::sync::Arc::new(crate::profile::load_file(&claude).unwrap().telemetry);
        // A session with telemetry before the hub connection, one without.
        let (busy, idle) = (SessionId::new(), SessionId::new());
        host.telemetry().register(busy, mapping.clone());
        host.telemetry().register(idle, mapping);
        ingest(&host, busy, "claude_delta_1.json");
        let link = tokio::spawn(crate::link::run(
            config,
            host.clone(),
            events,
            cancel.clone(),
        ));

        let mut next_usage = async || loop {
            let seen = tokio::time::timeout(Duration::from_secs(10), seen.recv())
                .await
                .expect("no usage report")
                .unwrap();
            if let Seen::Json(name, value) = seen
                && name == "session:usage"
            {
                return value;
            }
        };
        // After Hello: the full totals of every session with telemetry.
        let first = next_usage().await;
        assert_eq!(first["sessionId"], busy.to_string());
        assert_eq!(first["usage"]["tokens"]["input"], 1050, "{first}");
        assert_eq!(first["usage"]["costNanoUsd"], 625_000_000, "{first}");
        // A change is sent on the next tick, with the new totals.
        ingest(&host, busy, "claude_delta_2.json");
        let started = tokio::time::Instant::now();
        let second = next_usage().await;
        assert!(started.elapsed() <= crate::link::USAGE_EVERY * 3);
        assert_eq!(second["sessionId"], busy.to_string());
        assert_eq!(second["usage"]["tokens"]["input"], 1550, "{second}");
        assert_eq!(second["usage"]["requests"], 2, "{second}");
        // Nothing changed: nothing more is sent.
        tokio::time::sleep(crate::link::USAGE_EVERY * 2).await;
        while let Ok(seen) = seen.try_recv() {
            assert!(
                !matches!(&seen, Seen::Json(name, _) if name == "session:usage"),
                "{seen:?}"
            );
        }
        cancel.cancel();
        assert_eq!(link.await.unwrap().unwrap(), LinkExit::Shutdown);
        tracker.close();
        tracker.wait().await;
    }

    /// A hub that acks Hello and hands the test the daemon's socket, so the
    /// test sends the commands.
    async fn scripted_hub() -> (
        String,
        mpsc::UnboundedReceiver<Seen>,
        mpsc::UnboundedReceiver<SocketRef>,
    ) {
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let (socket_tx, sockets) = mpsc::unbounded_channel();
        let (layer, io) = SocketIo::new_layer();
        let handler = async move |socket: SocketRef| {
            record(
                &socket,
                &seen_tx,
                &["session:started", "session:spawn_failed", "session:exited"],
            );
            let socket_tx = socket_tx.clone();
            socket.on(
                Hello::NAME,
                async move |socket: SocketRef, ack: AckSender| {
                    ack.send(&hello_ack()).unwrap();
                    let _ = socket_tx.send(socket);
                },
            );
        };
        io.ns(flotilla_protocol::DAEMON_NAMESPACE, handler);
        (serve(layer).await, seen, sockets)
    }

    /// Item 6 of issue 9: while one session's spawn is held (as a slow
    /// start would hold it), another session's keystrokes are echoed and its
    /// output keeps flowing; the held session reports its start when it
    /// comes, as its first event.
    #[tokio::test]
    async fn a_held_spawn_does_not_stall_other_sessions() {
        use flotilla_protocol::hub_to_daemon::WriteInput;

        use crate::session::pty::NativePty;
        use crate::session::pty::fake::{Gate, HeldSpawns};

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (url, seen, mut sockets) = scripted_hub().await;
        let profile = |name: &str, command: &str| {
            let text = format!(
                "name: {name}\ndisplay_name: P\ncolor: red\nbinary: sh\ncommands:\n  new: {command}\n"
            );
            crate::profile::parse(&format!("{name}.yaml"), &text).unwrap()
        };
        let profiles = vec![
            profile("slow", "[sh, -c, \"echo slow-output\", hold-me]"),
            profile("echo", "[sh, -c, \"exec cat\"]"),
        ];
        let (config, host, events, tracker, cancel) =
            setup_with(url, "good", root.clone(), profiles);
        let gate = Gate::default();
        let host = host.with_pty_system(std::sync::Arc::new(HeldSpawns {
            inner: NativePty,
            marker: "hold-me".to_owned(),
            gate: gate.clone(),
        }));
        let link = tokio::spawn(crate::link::run(config, host, events, cancel.clone()));
        let socket = tokio::time::timeout(Duration::from_secs(10), sockets.recv())
            .await
            .expect("no hello")
            .unwrap();
        let (slow, echo) = (SessionId::new(), SessionId::new());
        let spawn = |session_id, profile: &str| SpawnSession {
            session_id,
            profile: profile.to_owned(),
            project: root.display().to_string(),
            prompt: None,
            size: TermSize::default(),
            worktree: None,
        };
        socket
            .emit(SpawnSession::NAME, &spawn(slow, "slow"))
            .unwrap();
        socket
            .emit(SpawnSession::NAME, &spawn(echo, "echo"))
            .unwrap();

        let mut watch = Watch {
            seen,
            deadline: tokio::time::Instant::now() + Duration::from_secs(10),
            order: Vec::new(),
            outputs: std::collections::HashMap::new(),
        };
        watch
            .until("the echo session's start", |watch| {
                watch.saw("session:started", echo)
            })
            .await;
        // Keystrokes to the running session are echoed while the other
        // spawn is still held.
        for n in 0..5 {
            let line = format!("ping-{n}");
            let input = WriteInput {
                session_id: echo,
                data: format!("{line}\n"),
            };
            socket.emit(WriteInput::NAME, &input).unwrap();
            let expect = format!("{line}\r\n{line}\r\n");
            watch
                .until("the echo", |watch| watch.output(echo).contains(&expect))
                .await;
        }
        assert!(
            !watch.order.iter().any(|(_, id)| *id == slow),
            "the held session reported before its spawn was released: {:?}",
            watch.order
        );
        gate.open();
        watch
            .until("the held session's output", |watch| {
                watch.output(slow).contains("slow-output")
            })
            .await;
        let slow_events: Vec<&str> = watch
            .order
            .iter()
            .filter(|(_, id)| *id == slow)
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            slow_events[..2],
            ["session:started", "output"],
            "{:?}",
            watch.order
        );
        cancel.cancel();
        assert_eq!(link.await.unwrap().unwrap(), LinkExit::Shutdown);
        tracker.close();
        tracker.wait().await;
    }

    /// What the scripted hub saw: event names (and "output" for a
    /// session's first output) in order, and each session's output.
    struct Watch {
        seen: mpsc::UnboundedReceiver<Seen>,
        deadline: tokio::time::Instant,
        order: Vec<(String, SessionId)>,
        outputs: std::collections::HashMap<SessionId, Vec<u8>>,
    }

    impl Watch {
        fn saw(&self, name: &str, id: SessionId) -> bool {
            self.order
                .iter()
                .any(|(seen, seen_id)| seen == name && *seen_id == id)
        }

        fn output(&self, id: SessionId) -> String {
            self.outputs
                .get(&id)
                .map(|output| String::from_utf8_lossy(output).into_owned())
                .unwrap_or_default()
        }

        async fn until(&mut self, what: &str, done: impl Fn(&Watch) -> bool) {
            while !done(self) {
                let next = tokio::time::timeout_at(self.deadline, self.seen.recv())
                    .await
                    .unwrap_or_else(|_| {
                        panic!("timed out waiting for {what}; saw {:?}", self.order)
                    })
                    .unwrap();
                match next {
                    Seen::Json(name, value) => {
                        let id: SessionId =
                            serde_json::from_value(value["sessionId"].clone()).unwrap();
                        self.order.push((name, id));
                    }
                    Seen::Output(id, offset, data) => {
                        let output = self.outputs.entry(id).or_default();
                        assert_eq!(offset, output.len() as u64);
                        if output.is_empty() {
                            self.order.push(("output".to_owned(), id));
                        }
                        output.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}
