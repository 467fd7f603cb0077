//! The session actor against a fake PTY under paused time: the order of
//! its events, what it queues while starting, and when a stop escalates.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use flotilla_protocol::{ErrorBody, ErrorCode, SessionId, TermSize};
use nix::sys::signal::Signal;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::session::pty::fake::{Call, FakeProcess, FakePtySystem, Gate};
use crate::session::pty::{ExitInfo, PtyCommand, PtySystem};
use crate::session::{
    Launch, Launched, QUEUED_WHILE_STARTING, SessionEvent, SessionHandle, ring, start,
};

struct Fixture {
    handle: SessionHandle,
    events: mpsc::Receiver<SessionEvent>,
    processes: mpsc::UnboundedReceiver<FakeProcess>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    /// The snapshots `event` passed over: (offset, rendered bytes).
    snapshots: Vec<(u64, Bytes)>,
}

/// A session on a fake process that ends on `ends_on`, whose start waits
/// for `gate` when one is given.
fn fixture(ends_on: &[Signal], grace: Duration, gate: Option<Gate>) -> Fixture {
    let (system, processes) = FakePtySystem::new(ends_on);
    let launch: Launch = Box::new(move || {
        if let Some(gate) = gate {
            gate.wait();
        }
        let (pty, io) = system.spawn(PtyCommand {
            program: "agent".into(),
            args: Vec::new(),
            cwd: std::env::temp_dir(),
            env: BTreeMap::new(),
            size: TermSize { cols: 80, rows: 24 },
        })?;
        Ok(Launched {
            pty,
            io,
            stop_grace: grace,
            first_input: vec![Bytes::from_static(b"prompt"), Bytes::from_static(b"\r")],
            telemetry: None,
            size: TermSize { cols: 80, rows: 24 },
            scrollback_lines: 100,
            worktree: None,
        })
    });
    start_with(launch, processes)
}

fn start_with(launch: Launch, processes: mpsc::UnboundedReceiver<FakeProcess>) -> Fixture {
    let (events_tx, events) = mpsc::channel(64);
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let handle = start(
        SessionId::new(),
        ring::DEFAULT_RING_BYTES,
        launch,
        events_tx,
        &tracker,
        cancel.clone(),
    );
    Fixture {
        handle,
        events,
        processes,
        tracker,
        cancel,
        snapshots: Vec::new(),
    }
}

impl Fixture {
    /// The next event other than a snapshot (those are kept in
    /// `snapshots`).
    async fn event(&mut self) -> SessionEvent {
        loop {
            match self.events.recv().await.expect("events channel closed") {
                SessionEvent::Snapshot { offset, data, .. } => self.snapshots.push((offset, data)),
                event => return event,
            }
        }
    }

    async fn process(&mut self) -> FakeProcess {
        self.processes.recv().await.expect("nothing was spawned")
    }

    async fn finish(self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[tokio::test(start_paused = true)]
async fn started_comes_first_then_first_input_output_and_exit() {
    let mut fixture = fixture(&[], Duration::from_secs(1), None);
    let id = fixture.handle.id();
    let mut process = fixture.process().await;
    process.output(b"early").await;
    let SessionEvent::Started(started) = fixture.event().await else {
        panic!("the first event must be Started");
    };
    assert_eq!((started.session_id, started.pid), (id, Some(4242)));
    assert!(fixture.handle.is_started());
    assert_eq!(process.typed().await.as_deref(), Some("prompt"));
    assert_eq!(process.typed().await.as_deref(), Some("\r"));
    assert_eq!(
        fixture.event().await,
        SessionEvent::Output {
            session_id: id,
            offset: 0,
            data: Bytes::from_static(b"early"),
        }
    );
    process.output(b"more").await;
    process.exit(ExitInfo {
        exit_code: Some(3),
        signal: None,
    });
    let mut output = Vec::new();
    let exited = loop {
        match fixture.event().await {
            SessionEvent::Output { offset, data, .. } => {
                assert_eq!(offset, 5 + output.len() as u64);
                output.extend_from_slice(&data);
            }
            SessionEvent::Exited(exited) => break exited,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(output, b"more");
    assert_eq!((exited.exit_code, exited.output_offset), (Some(3), 9));
    // The final screen came just before the exit, standing for all output.
    let (offset, screen) = fixture.snapshots.last().expect("a final snapshot");
    assert_eq!(*offset, 9);
    let mut replayed = crate::session::screen::Screen::new(TermSize { cols: 80, rows: 24 }, 10);
    replayed.feed(screen);
    assert_eq!(replayed.text()[0], "earlymore");
    assert_eq!(
        fixture.handle.read_retained(0, 100),
        Some((0, b"earlymore".to_vec()))
    );
    fixture.finish().await;
}

#[tokio::test(start_paused = true)]
async fn input_and_resizes_while_starting_are_delivered_after_the_first_input() {
    let gate = Gate::default();
    let mut fixture = fixture(
        &[Signal::SIGHUP],
        Duration::from_secs(1),
        Some(gate.clone()),
    );
    fixture
        .handle
        .write(Bytes::from_static(b"typed early"))
        .await;
    let size = TermSize {
        cols: 100,
        rows: 30,
    };
    fixture.handle.resize(size).await;
    // More than the queue holds: the rest is dropped, and nobody waits.
    for _ in 0..QUEUED_WHILE_STARTING + 10 {
        fixture.handle.write(Bytes::from_static(b".")).await;
    }
    assert!(!fixture.handle.is_started());
    assert_eq!(fixture.handle.pid(), None);
    // Every command reached the starting actor (queued or dropped) before
    // the start completes; otherwise the last ones would be carried out
    // after it, which is a different case.
    while fixture.handle.commands.capacity() < fixture.handle.commands.max_capacity() {
        tokio::task::yield_now().await;
    }
    gate.open();
    let mut process = fixture.process().await;
    assert!(matches!(fixture.event().await, SessionEvent::Started(_)));
    assert_eq!(process.typed().await.as_deref(), Some("prompt"));
    assert_eq!(process.typed().await.as_deref(), Some("\r"));
    assert_eq!(process.typed().await.as_deref(), Some("typed early"));
    let mut dots = 0;
    while let Ok(data) = process.input.try_recv() {
        assert_eq!(&data[..], b".");
        dots += 1;
    }
    assert_eq!(dots, QUEUED_WHILE_STARTING - 2);
    assert_eq!(process.calls(), [Call::Resize(size)]);
    fixture.handle.stop().await;
    assert!(matches!(fixture.event().await, SessionEvent::Exited(_)));
    fixture.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_while_starting_stops_right_after_the_start() {
    let gate = Gate::default();
    let mut fixture = fixture(
        &[Signal::SIGHUP],
        Duration::from_secs(1),
        Some(gate.clone()),
    );
    fixture.handle.stop().await;
    gate.open();
    let process = fixture.process().await;
    assert!(matches!(fixture.event().await, SessionEvent::Started(_)));
    let SessionEvent::Exited(exited) = fixture.event().await else {
        panic!("expected the exit");
    };
    assert_eq!(exited.signal.as_deref(), Some("SIGHUP"));
    assert_eq!(process.calls()[0], Call::Signal(Signal::SIGHUP));
    fixture.finish().await;
}

#[tokio::test(start_paused = true)]
async fn cancellation_while_starting_still_reports_start_and_exit() {
    let gate = Gate::default();
    let mut fixture = fixture(
        &[Signal::SIGHUP],
        Duration::from_secs(1),
        Some(gate.clone()),
    );
    fixture.cancel.cancel();
    gate.open();
    assert!(matches!(fixture.event().await, SessionEvent::Started(_)));
    let SessionEvent::Exited(exited) = fixture.event().await else {
        panic!("expected the exit");
    };
    assert_eq!(exited.signal.as_deref(), Some("SIGHUP"));
    fixture.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_is_the_only_event() {
    let (_system, processes) = FakePtySystem::new(&[]);
    let launch: Launch = Box::new(|| {
        Err(ErrorBody::new(
            ErrorCode::SpawnFailed,
            "cannot start \"agent\"",
        ))
    });
    let mut fixture = start_with(launch, processes);
    fixture.handle.write(Bytes::from_static(b"lost")).await;
    let SessionEvent::SpawnFailed(failed) = fixture.event().await else {
        panic!("expected SpawnFailed");
    };
    assert_eq!(failed.session_id, fixture.handle.id());
    assert_eq!(failed.error.code, ErrorCode::SpawnFailed);
    assert!(!fixture.handle.is_started());
    let Fixture {
        handle,
        mut events,
        tracker,
        ..
    } = fixture;
    tracker.close();
    tracker.wait().await;
    drop(handle);
    assert!(events.recv().await.is_none(), "nothing after SpawnFailed");
}

/// What ignores SIGHUP and SIGTERM gets SIGTERM after half the grace period
/// (at most 500 ms) and SIGKILL once the grace period is over.
#[tokio::test(start_paused = true)]
async fn stop_escalates_to_sigkill_after_grace() {
    let mut fixture = fixture(&[], Duration::from_millis(300), None);
    let process = fixture.process().await;
    assert!(matches!(fixture.event().await, SessionEvent::Started(_)));
    let started = Instant::now();
    fixture.handle.stop().await;
    let SessionEvent::Exited(exited) = fixture.event().await else {
        panic!("expected the exit");
    };
    assert_eq!(exited.signal.as_deref(), Some("SIGKILL"), "{exited:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    assert_eq!(
        process.calls(),
        [
            Call::Signal(Signal::SIGHUP),
            Call::Signal(Signal::SIGCONT),
            Call::Signal(Signal::SIGTERM),
            Call::Kill,
        ]
    );
    fixture.finish().await;
}

/// A program that ignores hang-ups gets SIGTERM 500 ms after the stop, long
/// before SIGKILL.
#[tokio::test(start_paused = true)]
async fn stop_sends_sigterm_after_half_a_second_to_what_ignores_sighup() {
    let mut fixture = fixture(&[Signal::SIGTERM], Duration::from_secs(60), None);
    let process = fixture.process().await;
    assert!(matches!(fixture.event().await, SessionEvent::Started(_)));
    let started = Instant::now();
    fixture.handle.stop().await;
    let SessionEvent::Exited(exited) = fixture.event().await else {
        panic!("expected the exit");
    };
    assert_eq!(exited.signal.as_deref(), Some("SIGTERM"));
    assert_eq!(started.elapsed(), Duration::from_millis(500));
    assert_eq!(process.calls().last(), Some(&Call::Signal(Signal::SIGTERM)));
    fixture.finish().await;
}

/// Output that does not end after the exit (a grandchild holds the
/// terminal) is given up on after [`crate::session::EOF_WAIT`].
#[tokio::test(start_paused = true)]
async fn output_that_outlives_the_exit_is_cut_off_after_eof_wait() {
    let mut fixture = fixture(&[], Duration::from_secs(1), None);
    let process = fixture.process().await;
    assert!(matches!(fixture.event().await, SessionEvent::Started(_)));
    // Keep the output open: exit without ending it, as a held terminal would.
    let exit_only = process.exit_without_eof(ExitInfo {
        exit_code: Some(0),
        signal: None,
    });
    assert!(exit_only);
    let started = Instant::now();
    let SessionEvent::Exited(exited) = fixture.event().await else {
        panic!("expected the exit");
    };
    assert_eq!(exited.exit_code, Some(0));
    assert_eq!(started.elapsed(), crate::session::EOF_WAIT);
    assert_eq!(process.calls(), [Call::Kill]);
    fixture.finish().await;
}

#[tokio::test(start_paused = true)]
async fn the_model_answers_queries_and_snapshots_come_in_order_with_output() {
    let mut fixture = fixture(&[], Duration::from_secs(1), None);
    let id = fixture.handle.id();
    let mut process = fixture.process().await;
    assert!(matches!(fixture.event().await, SessionEvent::Started(_)));
    assert_eq!(process.typed().await.as_deref(), Some("prompt"));
    assert_eq!(process.typed().await.as_deref(), Some("\r"));
    // A cursor position query after five characters, with no viewer at all.
    process.output(b"hello\x1b[6n").await;
    assert_eq!(process.typed().await.as_deref(), Some("\x1b[1;6R"));
    fixture.handle.snapshot().await;
    let mut offset_seen = 0;
    let snapshot = loop {
        match fixture.events.recv().await.expect("events") {
            SessionEvent::Output { offset, data, .. } => offset_seen = offset + data.len() as u64,
            SessionEvent::Snapshot {
                session_id,
                offset,
                size,
                data,
            } => {
                assert_eq!(session_id, id);
                assert_eq!(
                    offset, offset_seen,
                    "a snapshot follows the output it stands for"
                );
                assert_eq!(size, TermSize { cols: 80, rows: 24 });
                break data;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let mut replayed = crate::session::screen::Screen::new(TermSize { cols: 80, rows: 24 }, 10);
    assert!(
        replayed.feed(&snapshot).is_empty(),
        "a snapshot holds no queries"
    );
    assert_eq!(replayed.text()[0], "hello");
    fixture.handle.resize(TermSize { cols: 40, rows: 10 }).await;
    fixture.handle.snapshot().await;
    let SessionEvent::Snapshot { size, .. } = fixture.events.recv().await.expect("events") else {
        panic!("expected a snapshot");
    };
    assert_eq!(size, TermSize { cols: 40, rows: 10 });
    fixture.cancel.cancel();
    fixture.finish().await;
}
