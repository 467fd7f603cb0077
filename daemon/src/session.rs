//! PTY sessions. Each session is an actor: one task owns the session's
//! process (behind the [`pty::Pty`] trait), its output ring, its screen
//! model ([`screen::Screen`], fed every output byte before it is reported,
//! answering the program's terminal queries and rendering snapshots) and
//! its telemetry aggregate; callers hold a cheap-clone [`SessionHandle`].
//! The state engine will live here too.
//!
//! A session is started with [`start`], which returns at once: the actor
//! runs the slow part (config merges, fork and exec) on a blocking thread
//! and reports [`SessionEvent::Started`] or [`SessionEvent::SpawnFailed`] as
//! the session's first event, so nobody waits for a spawn. Input and resizes
//! sent meanwhile are queued; a stop is carried out right after the start.
//!
//! The actor stops its child only on [`SessionHandle::stop`] or when its
//! cancellation token fires; nothing else ties the child's life to the
//! daemon's, so a later version can hand sessions over instead of stopping them.

pub mod env;
pub mod pty;
pub mod ring;
pub mod screen;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use flotilla_protocol::daemon_to_hub::{
    SessionExited, SessionSpawnFailed, SessionStarted, WorktreeAnswer,
};
use flotilla_protocol::frame::{MAX_FRAME_DATA, MAX_SNAPSHOT_DATA};
use flotilla_protocol::worktree::WorktreeInfo;
use flotilla_protocol::{ErrorBody, ErrorCode, SessionId, TermSize};
use nix::sys::signal::Signal;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

use self::pty::{ExitInfo, NativePty, Pty, PtyCommand, PtyIo, PtySystem};
use self::ring::OutputRing;
use self::screen::Screen;
use crate::telemetry::registry::Entry as TelemetryEntry;

pub use self::pty::signal_name;

/// Coalesce at most this many already-read bytes into one frame.
///
/// Output is flushed as soon as no further read is already queued, so a
/// keystroke's echo goes out at once; under a flood the reader thread queues
/// reads while the previous frame is being sent (the event channel is
/// bounded), and those are drained into frames of up to this size. Batching
/// thus follows the real bottleneck instead of a timer.
pub const FLUSH_BYTES: usize = 64 * 1024;

/// How long to wait for end-of-output after the child exited (a grandchild
/// may still hold the terminal) before giving up on the rest.
pub const EOF_WAIT: Duration = Duration::from_secs(2);

/// How many inputs and resizes a session keeps while it is still starting;
/// more are dropped with a warning (the hub's typing would otherwise stall
/// the link behind a slow spawn).
pub const QUEUED_WHILE_STARTING: usize = 64;

/// How long a stopping session has to end on SIGHUP before it also gets
/// SIGTERM (at most half the grace period).
const HANG_UP_WAIT: Duration = Duration::from_millis(500);

/// What sessions report to the link, in the order it must be sent.
///
/// Per session, the first event is `Started` or `SpawnFailed`; after
/// `Started` come its `Output`s, then exactly one `Exited`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The process runs; nothing of the session was reported before this.
    Started(SessionStarted),
    /// Nothing was started (the session's only event).
    SpawnFailed(SessionSpawnFailed),
    /// A coalesced chunk of output (at most [`MAX_FRAME_DATA`] bytes).
    Output {
        /// The session.
        session_id: SessionId,
        /// Offset of `data[0]` in the session's stream.
        offset: u64,
        /// The bytes.
        data: Bytes,
    },
    /// The screen at `offset`: asked for with [`SessionHandle::snapshot`],
    /// and sent once unasked after the final output, before `Exited`.
    /// Every `Output` before it ends at or before `offset`, every one after
    /// it starts at or after.
    Snapshot {
        /// The session.
        session_id: SessionId,
        /// The output offset the screen stands for.
        offset: u64,
        /// The PTY's size.
        size: TermSize,
        /// Bytes reproducing the screen on a reset terminal of `size`
        /// (at most [`flotilla_protocol::frame::MAX_SNAPSHOT_DATA`]).
        data: Bytes,
    },
    /// The child exited and its final output was reported before this.
    Exited(SessionExited),
    /// The answer to a worktree command (about a worktree, not a process;
    /// it shares the channel so the link stays the one emitter).
    Answer(WorktreeAnswer),
}

/// Everything needed to start a session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The session's id.
    pub id: SessionId,
    /// The program and its arguments; the program is looked up on the
    /// child's `PATH`.
    pub argv: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The complete environment of the child.
    pub env: BTreeMap<String, String>,
    /// The initial terminal size.
    pub size: TermSize,
    /// Time between SIGTERM and SIGKILL when stopping.
    pub stop_grace: Duration,
    /// Capacity of the output ring.
    pub ring_bytes: usize,
    /// Lines of scrollback the screen model keeps.
    pub scrollback_lines: usize,
}

/// A started process and what its session needs to run it.
pub struct Launched {
    /// The process.
    pub pty: Box<dyn Pty>,
    /// Its streams.
    pub io: PtyIo,
    /// Time between SIGTERM and SIGKILL when stopping.
    pub stop_grace: Duration,
    /// Written to the terminal first, before anything queued meanwhile
    /// (a `typed` prompt and its Enter).
    pub first_input: Vec<Bytes>,
    /// The session's telemetry aggregate (also reachable by the OTLP
    /// receiver through the registry), owned with the rest of the session.
    pub telemetry: Option<Arc<TelemetryEntry>>,
    /// The terminal's size at start, for the screen model.
    pub size: TermSize,
    /// Lines of scrollback the screen model keeps.
    pub scrollback_lines: usize,
    /// The git worktree made for the session, if any.
    pub worktree: Option<WorktreeInfo>,
}

/// How a session comes to life: blocking work (config merges, fork and
/// exec) that the actor runs on a blocking thread.
pub type Launch = Box<dyn FnOnce() -> Result<Launched, ErrorBody> + Send>;

/// Commands a [`SessionHandle`] sends to its actor.
#[derive(Debug)]
enum SessionCommand {
    Write(Bytes),
    Resize(TermSize),
    Snapshot,
    Stop,
}

/// A cheap-clone handle to a session actor.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    id: SessionId,
    /// Bounded; senders await when it is full, which only happens while the
    /// actor is busy flushing output (while starting it queues or drops).
    commands: mpsc::Sender<SessionCommand>,
    shared: Arc<Shared>,
}

/// What a session's actor shares with its handles.
#[derive(Debug)]
struct Shared {
    ring: Mutex<OutputRing>,
    /// Set once, when the process started: what the hub is told.
    started: OnceLock<SessionStarted>,
}

impl SessionHandle {
    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The child's process id (`None` while starting).
    pub fn pid(&self) -> Option<u32> {
        self.shared.started.get().and_then(|started| started.pid)
    }

    /// What the session reported when it started (`None` while starting).
    pub fn started(&self) -> Option<SessionStarted> {
        self.shared.started.get().cloned()
    }

    /// Whether the process has started ([`SessionEvent::Started`] is sent
    /// or on its way).
    pub fn is_started(&self) -> bool {
        self.shared.started.get().is_some()
    }

    /// Writes bytes to the terminal. Dropped (with a warning from the actor)
    /// when the input queue is full; a no-op once the session ended.
    pub async fn write(&self, data: Bytes) {
        let _ = self.commands.send(SessionCommand::Write(data)).await;
    }

    /// Resizes the terminal; a no-op once the session ended.
    pub async fn resize(&self, size: TermSize) {
        let _ = self.commands.send(SessionCommand::Resize(size)).await;
    }

    /// Starts stopping the child: SIGHUP to its process group (as closing
    /// its terminal would), SIGTERM shortly after, SIGKILL after the grace
    /// period. The exit is reported as a [`SessionEvent::Exited`]. A session
    /// still starting is stopped as soon as it started.
    pub async fn stop(&self) {
        let _ = self.commands.send(SessionCommand::Stop).await;
    }

    /// Asks for a [`SessionEvent::Snapshot`] of the screen as it is once
    /// the output read so far has been reported; a no-op once the session
    /// ended (its final snapshot was sent before its exit).
    pub async fn snapshot(&self) {
        let _ = self.commands.send(SessionCommand::Snapshot).await;
    }

    /// The total output so far.
    pub fn output_offset(&self) -> u64 {
        lock_ring(&self.shared.ring).end()
    }

    /// Up to `max` retained output bytes from `offset` (or from the oldest
    /// retained byte if `offset` was evicted).
    pub fn read_retained(&self, offset: u64, max: usize) -> Option<(u64, Vec<u8>)> {
        lock_ring(&self.shared.ring).read_from(offset, max)
    }
}

/// Resolves `spec`'s program on its `PATH` and starts it with `system`.
/// Blocking (fork and exec): call it on a blocking thread.
pub fn open(spec: SessionSpec, system: &dyn PtySystem) -> Result<Launched, ErrorBody> {
    let Some(program) = spec.argv.first() else {
        return Err(ErrorBody::new(ErrorCode::InvalidInput, "empty command"));
    };
    let path_var = spec.env.get("PATH").map(String::as_str);
    let Some(program_path) = crate::profile::find_on_path(program, path_var) else {
        return Err(ErrorBody::new(
            ErrorCode::NotFound,
            format!("program {program:?} was not found on the session's PATH"),
        ));
    };
    spec.size.validate()?;
    let (pty, io) = system.spawn(PtyCommand {
        program: program_path,
        args: spec.argv[1..].to_vec(),
        cwd: spec.cwd,
        env: spec.env,
        size: spec.size,
    })?;
    info!(session_id = %spec.id, pid = ?pty.pid(), argv0 = %program, "session started");
    Ok(Launched {
        pty,
        io,
        stop_grace: spec.stop_grace,
        first_input: Vec::new(),
        telemetry: None,
        size: spec.size,
        scrollback_lines: spec.scrollback_lines,
        worktree: None,
    })
}

/// Starts a session now, in a real PTY: [`open`] then [`start`]. On error
/// nothing is left running and no event is sent.
pub fn spawn(
    spec: SessionSpec,
    events: mpsc::Sender<SessionEvent>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) -> Result<SessionHandle, ErrorBody> {
    let (id, ring_bytes) = (spec.id, spec.ring_bytes);
    let launched = open(spec, &NativePty)?;
    let launch: Launch = Box::new(move || Ok(launched));
    Ok(start(id, ring_bytes, launch, events, tracker, cancel))
}

/// Starts a session's actor on `tracker` and returns its handle at once.
/// The actor runs `launch` on a blocking thread and reports
/// [`SessionEvent::Started`] or [`SessionEvent::SpawnFailed`] first, then
/// the session's output and exit, to `events`. It stops the child when
/// `cancel` fires (a session still starting stops right after its start).
pub fn start(
    id: SessionId,
    ring_bytes: usize,
    launch: Launch,
    events: mpsc::Sender<SessionEvent>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) -> SessionHandle {
    let shared = Arc::new(Shared {
        ring: Mutex::new(OutputRing::new(ring_bytes)),
        started: OnceLock::new(),
    });
    // Bounded: handle methods await when full.
    let (command_tx, command_rx) = mpsc::channel(64);
    let actor = Actor {
        id,
        shared: Arc::clone(&shared),
        commands: command_rx,
        commands_open: true,
        events: events.clone(),
        cancel,
        tracker: tracker.clone(),
    };
    let span = info_span!("session", session_id = %id);
    let actor_task = tracker.spawn(actor.run(launch).instrument(span.clone()));
    let supervisor = Arc::clone(&shared);
    tracker.spawn(
        async move {
            let Err(join_error) = actor_task.await else {
                return;
            };
            let event = match supervisor.started.get() {
                Some(started) => {
                    error!(%join_error, "session task failed; killing its process group");
                    if let Some(pid) = started.pid {
                        pty::kill_group(pid);
                    }
                    SessionEvent::Exited(SessionExited {
                        session_id: id,
                        exit_code: None,
                        signal: None,
                        output_offset: lock_ring(&supervisor.ring).end(),
                    })
                }
                None => {
                    error!(%join_error, "session task failed while starting");
                    SessionEvent::SpawnFailed(SessionSpawnFailed {
                        session_id: id,
                        error: ErrorBody::new(ErrorCode::Internal, "the session task failed"),
                    })
                }
            };
            let _ = events.send(event).await;
        }
        .instrument(span),
    );
    SessionHandle {
        id,
        commands: command_tx,
        shared,
    }
}

/// The state one session task owns.
struct Actor {
    id: SessionId,
    shared: Arc<Shared>,
    /// Bounded by the handle; see [`SessionHandle`].
    commands: mpsc::Receiver<SessionCommand>,
    commands_open: bool,
    /// Bounded and shared by all sessions; the actor awaits when it is
    /// full, which pauses reading this PTY.
    events: mpsc::Sender<SessionEvent>,
    cancel: CancellationToken,
    /// Runs the blocking start.
    tracker: TaskTracker,
}

/// A running session's process and what the actor keeps beside it.
struct Live {
    pty: Box<dyn Pty>,
    /// Bounded; see [`PtyIo::output`].
    output: mpsc::Receiver<Vec<u8>>,
    /// Bounded; see [`PtyIo::input`].
    input: mpsc::Sender<Bytes>,
    exit: oneshot::Receiver<ExitInfo>,
    stop_grace: Duration,
    /// What a terminal showing the output shows; fed before each report.
    screen: Screen,
    /// Kept for as long as the session lives; the OTLP receiver feeds it.
    _telemetry: Option<Arc<TelemetryEntry>>,
}

impl Actor {
    async fn run(mut self, launch: Launch) {
        let Some((mut live, queued, stop)) = self.launch(launch).await else {
            return;
        };
        for command in queued {
            match command {
                SessionCommand::Snapshot => {
                    let event = self.snapshot(&live.screen);
                    let _ = self.events.send(event).await;
                }
                command => self.apply(&mut live, command),
            }
        }
        let mut stopping = false;
        let (mut term_at, mut kill_at) = (None, None);
        if stop {
            stopping = true;
            (term_at, kill_at) = hang_up(&mut live);
        }

        let mut pending: Vec<u8> = Vec::new();
        let mut output_done = false;
        let mut exit: Option<ExitInfo> = None;
        let mut eof_deadline: Option<Instant> = None;

        while !(output_done && exit.is_some()) {
            // Every branch is cancel-safe: `recv` on mpsc and oneshot keeps
            // unreceived values, and the sleeps are recreated each turn from
            // their stored deadlines.
            tokio::select! {
                chunk = live.output.recv(), if !output_done => match chunk {
                    Some(chunk) => {
                        pending.extend_from_slice(&chunk);
                        // Coalesce what the reader already queued, then send.
                        while pending.len() < FLUSH_BYTES {
                            match live.output.try_recv() {
                                Ok(more) => pending.extend_from_slice(&more),
                                Err(mpsc::error::TryRecvError::Empty) => break,
                                Err(mpsc::error::TryRecvError::Disconnected) => {
                                    output_done = true;
                                    break;
                                }
                            }
                        }
                        self.flush(&mut live, &mut pending).await;
                    }
                    None => output_done = true,
                },
                status = &mut live.exit, if exit.is_none() => {
                    let info = status.unwrap_or_default();
                    debug!(?info, "child exited");
                    exit = Some(info);
                    term_at = None;
                    kill_at = None;
                    eof_deadline = Some(Instant::now() + EOF_WAIT);
                }
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(SessionCommand::Stop) => {
                        if exit.is_none() && !stopping {
                            stopping = true;
                            (term_at, kill_at) = hang_up(&mut live);
                        }
                    }
                    Some(SessionCommand::Snapshot) => { let event = self.snapshot(&live.screen); let _ = self.events.send(event).await; },
                    Some(command) => self.apply(&mut live, command),
                    None => self.commands_open = false,
                },
                () = self.cancel.cancelled(), if !stopping && exit.is_none() => {
                    stopping = true;
                    (term_at, kill_at) = hang_up(&mut live);
                }
                () = sleep_until(term_at) => {
                    term_at = None;
                    signal_group(&mut live, Signal::SIGTERM);
                }
                () = sleep_until(kill_at) => {
                    kill_at = None;
                    warn!("child ignored SIGHUP and SIGTERM; sending SIGKILL");
                    live.pty.kill();
                }
                () = sleep_until(eof_deadline), if !output_done => {
                    warn!("output did not end after the child exited; killing the process group");
                    live.pty.kill();
                    output_done = true;
                }
            }
        }
        self.flush(&mut live, &mut pending).await;
        // The final screen, so it outlives the session.
        {
            let event = self.snapshot(&live.screen);
            let _ = self.events.send(event).await;
        };
        let exit = exit.unwrap_or_default();
        let output_offset = lock_ring(&self.shared.ring).end();
        info!(exit_code = ?exit.exit_code, signal = ?exit.signal, output_offset, "session exited");
        let _ = self
            .events
            .send(SessionEvent::Exited(SessionExited {
                session_id: self.id,
                exit_code: exit.exit_code,
                signal: exit.signal,
                output_offset,
            }))
            .await;
    }

    /// Runs `launch` on a blocking thread while queueing what the handles
    /// send, then reports the outcome as the session's first event. Returns
    /// the running process, the queued commands and whether a stop (or the
    /// cancellation) came meanwhile; `None` when nothing started.
    async fn launch(&mut self, launch: Launch) -> Option<(Live, Vec<SessionCommand>, bool)> {
        let mut task = self.tracker.spawn_blocking(launch);
        let mut queued = VecDeque::new();
        let mut stop = false;
        let result = loop {
            // Cancel-safe: a `JoinHandle` and mpsc `recv` keep their values.
            tokio::select! {
                result = &mut task => break result,
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(SessionCommand::Stop) => stop = true,
                    Some(command) if queued.len() < QUEUED_WHILE_STARTING => queued.push_back(command),
                    Some(_) => warn!("input dropped: the session is still starting"),
                    None => self.commands_open = false,
                },
                () = self.cancel.cancelled(), if !stop => stop = true,
            }
        };
        let launched = match result {
            Ok(Ok(launched)) => launched,
            Ok(Err(error)) => {
                info!(%error, "spawn failed");
                self.spawn_failed(error).await;
                return None;
            }
            Err(join_error) => {
                error!(%join_error, "spawn task failed");
                let error = ErrorBody::new(ErrorCode::Internal, "the spawn task failed");
                self.spawn_failed(error).await;
                return None;
            }
        };
        let pid = launched.pty.pid();
        // Before the event, so a handle reports the session as started no
        // later than the link learns it.
        let started = SessionStarted {
            session_id: self.id,
            pid,
            worktree: launched.worktree.clone(),
        };
        let _ = self.shared.started.set(started.clone());
        // Always the first event of the session: output is read only after.
        let _ = self.events.send(SessionEvent::Started(started)).await;
        let mut queued: Vec<SessionCommand> = queued.into();
        let first = launched.first_input.into_iter().map(SessionCommand::Write);
        queued.splice(0..0, first);
        let live = Live {
            pty: launched.pty,
            output: launched.io.output,
            input: launched.io.input,
            exit: launched.io.exit,
            stop_grace: launched.stop_grace,
            screen: Screen::new(launched.size, launched.scrollback_lines),
            _telemetry: launched.telemetry,
        };
        Some((live, queued, stop))
    }

    async fn spawn_failed(&self, error: ErrorBody) {
        let failed = SessionSpawnFailed {
            session_id: self.id,
            error,
        };
        let _ = self.events.send(SessionEvent::SpawnFailed(failed)).await;
    }

    /// Carries out a write or resize (a stop is handled by the caller).
    fn apply(&self, live: &mut Live, command: SessionCommand) {
        match command {
            SessionCommand::Write(data) => {
                if live.input.try_send(data).is_err() {
                    warn!("input dropped: the terminal is not reading");
                }
            }
            SessionCommand::Resize(size) => match live.pty.resize(size) {
                Ok(()) => live.screen.resize(size),
                Err(error) => warn!(%error, "resize failed"),
            },
            SessionCommand::Snapshot | SessionCommand::Stop => {}
        }
    }

    /// Renders the screen as it is after everything flushed so far and
    /// reports it.
    fn snapshot(&self, screen: &Screen) -> SessionEvent {
        let offset = lock_ring(&self.shared.ring).end();
        let mut data = screen.snapshot(screen::SNAPSHOT_SCROLLBACK_BUDGET);
        if data.len() > MAX_SNAPSHOT_DATA {
            // A screen so large (the biggest sizes, every cell styled) that
            // it and its history exceed the frame: the screen alone.
            data = screen.snapshot(0);
        }
        if data.len() > MAX_SNAPSHOT_DATA {
            warn!(
                len = data.len(),
                "the screen does not fit a snapshot; viewers get its text"
            );
            data = screen.snapshot_text();
        }
        SessionEvent::Snapshot {
            session_id: self.id,
            offset,
            size: screen.size(),
            data: Bytes::from(data),
        }
    }

    /// Feeds the pending bytes to the screen model (writing its answers to
    /// terminal queries back to the program), appends them to the ring and
    /// reports them.
    async fn flush(&mut self, live: &mut Live, pending: &mut Vec<u8>) {
        if pending.is_empty() {
            return;
        }
        let data = std::mem::take(pending);
        let replies = live.screen.feed(&data);
        if !replies.is_empty() && live.input.try_send(Bytes::from(replies)).is_err() {
            warn!("terminal query answer dropped: the terminal is not reading");
        }
        let offset = lock_ring(&self.shared.ring).push(&data);
        let data = Bytes::from(data);
        let mut start = 0;
        while start < data.len() {
            let end = (start + MAX_FRAME_DATA).min(data.len());
            let event = SessionEvent::Output {
                session_id: self.id,
                offset: offset + start as u64,
                data: data.slice(start..end),
            };
            // The receiver is gone only during shutdown; the ring keeps the bytes.
            let _ = self.events.send(event).await;
            start = end;
        }
    }
}

/// Starts stopping the child as closing its terminal would: SIGHUP (and
/// SIGCONT, so a stopped job sees it) to its process group. Interactive
/// shells ignore SIGTERM but end on SIGHUP. Returns when to send SIGTERM
/// (for programs that ignore hang-ups) and when to escalate to SIGKILL.
fn hang_up(live: &mut Live) -> (Option<Instant>, Option<Instant>) {
    info!("stopping session");
    let now = Instant::now();
    if live.pty.pid().is_none() {
        live.pty.kill();
        return (None, Some(now + live.stop_grace));
    }
    signal_group(live, Signal::SIGHUP);
    signal_group(live, Signal::SIGCONT);
    let term_after = HANG_UP_WAIT.min(live.stop_grace / 2);
    (Some(now + term_after), Some(now + live.stop_grace))
}

/// Sends `signal` to the child's process group.
fn signal_group(live: &mut Live, signal: Signal) {
    if let Err(error) = live.pty.signal_group(signal) {
        debug!(%error, ?signal, "signal to the process group failed");
    }
}

/// A sleep until `at`, or forever when `at` is `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn lock_ring(ring: &Mutex<OutputRing>) -> MutexGuard<'_, OutputRing> {
    // A std mutex: the critical sections are short copies and never await.
    // A poisoned ring still holds valid bytes, so keep using it.
    ring.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
