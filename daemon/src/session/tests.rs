//! Tests for `crate::session`: real PTYs running small shell programs, plus
//! the pure ring and environment helpers. The actor's own behaviour (order
//! of events, queueing while starting, stop timing) is tested with a fake
//! PTY under paused time in [`actor`].

mod actor;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use flotilla_protocol::daemon_to_hub::SessionExited;
use flotilla_protocol::{ErrorCode, SessionId, TermSize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ring::OutputRing;
use super::*;

const DEADLINE: Duration = Duration::from_secs(10);

struct Running {
    handle: SessionHandle,
    events: mpsc::Receiver<SessionEvent>,
    output: Vec<u8>,
    next_offset: u64,
    started: bool,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

fn spec(script: &str, grace: Duration) -> SessionSpec {
    let env: BTreeMap<String, String> = [
        ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
        ("TERM".to_owned(), "xterm-256color".to_owned()),
    ]
    .into();
    SessionSpec {
        id: SessionId::new(),
        argv: vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        cwd: std::env::temp_dir(),
        env,
        size: TermSize { cols: 80, rows: 24 },
        stop_grace: grace,
        ring_bytes: ring::DEFAULT_RING_BYTES,
        scrollback_lines: screen::DEFAULT_SCROLLBACK_LINES,
    }
}

fn start(spec: SessionSpec) -> Running {
    let (events_tx, events) = mpsc::channel(64);
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let handle = spawn(spec, events_tx, &tracker, cancel.clone()).unwrap();
    Running {
        handle,
        events,
        output: Vec::new(),
        next_offset: 0,
        started: false,
        tracker,
        cancel,
    }
}

impl Running {
    /// Receives one event, checking that the session's start comes first
    /// and that output offsets are contiguous.
    async fn next(&mut self) -> Option<SessionExited> {
        let event = tokio::time::timeout(DEADLINE, self.events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no event within {DEADLINE:?}; output so far: {:?}",
                    String::from_utf8_lossy(&self.output)
                )
            })
            .expect("events channel closed");
        match event {
            SessionEvent::Started(started) => {
                assert_eq!(started.session_id, self.handle.id());
                assert!(!self.started, "started twice");
                assert_eq!(started.pid, self.handle.pid());
                self.started = true;
                None
            }
            SessionEvent::SpawnFailed(failed) => panic!("spawn failed: {failed:?}"),
            SessionEvent::Answer(answer) => panic!("a session sent a worktree answer: {answer:?}"),
            SessionEvent::Output {
                session_id,
                offset,
                data,
            } => {
                assert!(self.started, "output before the session started");
                assert_eq!(session_id, self.handle.id());
                assert_eq!(offset, self.next_offset, "offsets must be contiguous");
                assert!(data.len() <= flotilla_protocol::frame::MAX_FRAME_DATA);
                self.next_offset += data.len() as u64;
                self.output.extend_from_slice(&data);
                None
            }
            SessionEvent::Snapshot {
                session_id, offset, ..
            } => {
                assert_eq!(session_id, self.handle.id());
                assert_eq!(
                    offset, self.next_offset,
                    "a snapshot stands for what was sent"
                );
                None
            }
            SessionEvent::Exited(exited) => {
                assert!(self.started, "exit before the session started");
                Some(exited)
            }
        }
    }

    async fn until_exit(&mut self) -> SessionExited {
        loop {
            if let Some(exited) = self.next().await {
                assert_eq!(exited.output_offset, self.next_offset);
                return exited;
            }
        }
    }

    async fn until_output(&mut self, needle: &str) {
        while !String::from_utf8_lossy(&self.output).contains(needle) {
            if let Some(exited) = self.next().await {
                panic!(
                    "exited {exited:?} before {needle:?}; output: {:?}",
                    String::from_utf8_lossy(&self.output)
                );
            }
        }
    }

    async fn finish(self) {
        self.tracker.close();
        tokio::time::timeout(DEADLINE, self.tracker.wait())
            .await
            .expect("session tasks did not end");
    }
}

#[tokio::test]
async fn output_arrives_in_order_with_exit_code() {
    let script = "i=0; while [ $i -lt 2000 ]; do printf 'line %05d abcdefghijklmnopqrstuvwxyz\\n' $i; i=$((i+1)); done; exit 7";
    let mut running = start(spec(script, Duration::from_secs(1)));
    let exited = running.until_exit().await;
    assert_eq!(exited.exit_code, Some(7));
    assert_eq!(exited.signal, None);
    let text = String::from_utf8_lossy(&running.output).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2000);
    assert_eq!(text.matches("\r\n").count(), 2000);
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("line {n:05} abcdefghijklmnopqrstuvwxyz"));
    }
    let (start, retained) = running.handle.read_retained(0, usize::MAX).unwrap();
    assert_eq!(start, 0);
    assert_eq!(retained, running.output);
    running.finish().await;
}

#[tokio::test]
async fn input_is_echoed_through_cat() {
    let mut running = start(spec("exec cat", Duration::from_secs(1)));
    running
        .handle
        .write(Bytes::from_static(b"hello pty\n"))
        .await;
    running.until_output("hello pty\r\nhello pty").await;
    running.handle.write(Bytes::from_static(b"\x04")).await;
    let exited = running.until_exit().await;
    assert_eq!(exited.exit_code, Some(0));
    running.finish().await;
}

#[tokio::test]
async fn resize_is_visible_to_stty() {
    let mut running = start(spec(
        "stty size; read line; stty size",
        Duration::from_secs(1),
    ));
    running.until_output("24 80").await;
    running
        .handle
        .resize(TermSize {
            cols: 132,
            rows: 50,
        })
        .await;
    running.handle.write(Bytes::from_static(b"go\n")).await;
    running.until_output("50 132").await;
    running.until_exit().await;
    running.finish().await;
}

/// A real process that ignores SIGHUP and SIGTERM ends on SIGKILL; when
/// (after the grace period) is `actor::stop_escalates_to_sigkill_after_grace`,
/// under paused time.
#[tokio::test]
async fn stop_escalates_to_sigkill_after_grace() {
    let script = "trap 'echo got-hup' HUP; trap 'echo got-term' TERM; echo ready; while :; do sleep 0.05; done";
    let mut running = start(spec(script, Duration::from_millis(300)));
    running.until_output("ready").await;
    running.handle.stop().await;
    let exited = running.until_exit().await;
    assert_eq!(exited.signal.as_deref(), Some("SIGKILL"), "{exited:?}");
    running.finish().await;
}

#[tokio::test]
async fn cancellation_hangs_up_first() {
    let mut running = start(spec("echo ready; exec sleep 30", Duration::from_secs(5)));
    running.until_output("ready").await;
    running.cancel.cancel();
    let exited = running.until_exit().await;
    assert_eq!(exited.signal.as_deref(), Some("SIGHUP"), "{exited:?}");
    running.finish().await;
}

/// A program that ignores hang-ups still gets SIGTERM long before SIGKILL.
#[tokio::test]
async fn stop_sends_sigterm_to_what_ignores_sighup() {
    let script = "trap '' HUP; echo ready; exec sleep 30";
    let mut running = start(spec(script, Duration::from_secs(60)));
    running.until_output("ready").await;
    running.handle.stop().await;
    let exited = running.until_exit().await;
    assert_eq!(exited.signal.as_deref(), Some("SIGTERM"), "{exited:?}");
    running.finish().await;
}

/// Interactive bash ignores SIGTERM; a stop ends it with SIGHUP, as closing
/// its terminal would, instead of a SIGKILL after the grace period (60 s
/// here: the test would time out waiting for it).
#[tokio::test]
async fn stopping_interactive_bash_hangs_it_up() {
    let mut spec = spec("", Duration::from_secs(60));
    spec.argv = ["bash", "--norc", "--noprofile", "-i"]
        .map(str::to_owned)
        .into();
    spec.env.insert("PS1".to_owned(), "ready$ ".to_owned());
    let mut running = start(spec);
    running.until_output("ready$ ").await;
    running.handle.stop().await;
    let exited = running.until_exit().await;
    assert_eq!(exited.signal.as_deref(), Some("SIGHUP"), "{exited:?}");
    running.finish().await;
}

#[tokio::test]
async fn missing_program_fails_without_leftovers() {
    let mut spec = spec("true", Duration::from_secs(1));
    spec.argv = vec!["surely-not-a-program".to_owned()];
    let (events_tx, _events) = mpsc::channel(4);
    let tracker = TaskTracker::new();
    let error = spawn(spec, events_tx, &tracker, CancellationToken::new()).unwrap_err();
    assert_eq!(error.code, ErrorCode::NotFound);
    assert!(error.message.contains("surely-not-a-program"));
    assert!(tracker.is_empty());
}

#[test]
fn child_env_is_an_allow_list_without_secrets_with_identity_and_terminal() {
    let id = SessionId::new();
    let base = [
        ("FLOTILLA_HOST_TOKEN", "secret"),
        ("FLOTILLA_ADMIN_PASSWORD", "hub-admin"),
        ("DAEMON_HUB_URL", "http://hub"),
        ("DAEMON_TOKEN_FILE", "/t"),
        ("HUB_METRICS_TOKEN_FILE", "/m"),
        ("AWS_SECRET_ACCESS_KEY", "cloud"),
        ("ANTHROPIC_API_KEY", "sk-ant"),
        ("OPENAI_API_KEY", "sk-openai"),
        ("HOME", "/home/me"),
        ("PATH", "/usr/bin"),
        ("LC_ALL", "C.UTF-8"),
        ("HTTPS_PROXY", "http://proxy:3128"),
        ("TERM", "dumb"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    // A profile that names the token among its passthrough variables still
    // does not get it.
    let passthrough: BTreeSet<String> = ["ANTHROPIC_API_KEY", "FLOTILLA_HOST_TOKEN"]
        .map(str::to_owned)
        .into();
    let extra: BTreeMap<String, String> = [
        ("AGENT_MODE".to_owned(), "x".to_owned()),
        ("DAEMON_SNEAKY".to_owned(), "y".to_owned()),
    ]
    .into();
    let env = env::child_env(base, &passthrough, &extra, id);
    let keys: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AGENT_MODE",
            "ANTHROPIC_API_KEY",
            "COLORTERM",
            "FLOTILLA_SESSION_ID",
            "HOME",
            "HTTPS_PROXY",
            "LC_ALL",
            "PATH",
            "TERM"
        ]
    );
    assert_eq!(env["HOME"], "/home/me");
    assert_eq!(env["TERM"], "xterm-256color");
    assert_eq!(env["COLORTERM"], "truecolor");
    assert_eq!(env["FLOTILLA_SESSION_ID"], id.to_string());
}

#[tokio::test]
async fn the_child_never_sees_the_token() {
    let base = [
        ("FLOTILLA_HOST_TOKEN".to_owned(), "secret-token".to_owned()),
        ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
    ];
    let mut spec = spec("env", Duration::from_secs(1));
    spec.env = env::child_env(base, &BTreeSet::new(), &BTreeMap::new(), spec.id);
    let mut running = start(spec);
    running.until_exit().await;
    let text = String::from_utf8_lossy(&running.output).into_owned();
    assert!(text.contains("FLOTILLA_SESSION_ID="), "{text}");
    assert!(!text.contains("secret-token"), "{text}");
    running.finish().await;
}

#[test]
fn ring_keeps_the_newest_bytes_with_their_offsets() {
    let mut ring = OutputRing::new(8);
    assert_eq!(ring.push(b"abcdef"), 0);
    assert_eq!(ring.push(b"ghij"), 6);
    assert_eq!((ring.start(), ring.end()), (2, 10));
    assert_eq!(ring.read_from(0, 100), Some((2, b"cdefghij".to_vec())));
    assert_eq!(ring.read_from(7, 2), Some((7, b"hi".to_vec())));
    assert_eq!(ring.read_from(10, 2), None);
}

#[test]
fn signal_descriptions_map_to_names() {
    assert_eq!(signal_name("Killed"), "SIGKILL");
    assert_eq!(signal_name("Terminated"), "SIGTERM");
    assert_eq!(signal_name("Something odd"), "Something odd");
}
