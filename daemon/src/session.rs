//! PTY sessions. Each session is an actor: one task owns the `MasterPty`, the
//! child's killer and the output ring; callers hold a cheap-clone
//! [`SessionHandle`]. Blocking PTY I/O runs on dedicated threads that talk to
//! the actor over bounded channels.
//!
//! The actor stops its child only on [`SessionHandle::stop`] or when its
//! cancellation token fires; nothing else ties the child's life to the
//! daemon's, so a later version can hand sessions over instead of stopping them.

pub mod env;
pub mod ring;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use flotilla_protocol::daemon_to_hub::SessionExited;
use flotilla_protocol::frame::MAX_FRAME_DATA;
use flotilla_protocol::{ErrorBody, ErrorCode, SessionId, TermSize};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use portable_pty::{ChildKiller, CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

use self::ring::OutputRing;

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

/// Size of one blocking PTY read.
const READ_CHUNK: usize = 16 * 1024;

/// How long a stopping session has to end on SIGHUP before it also gets
/// SIGTERM (at most half the grace period).
const HANG_UP_WAIT: Duration = Duration::from_millis(500);

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
}

/// What sessions report to the link, in the order it must be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A coalesced chunk of output (at most [`MAX_FRAME_DATA`] bytes).
    Output {
        /// The session.
        session_id: SessionId,
        /// Offset of `data[0]` in the session's stream.
        offset: u64,
        /// The bytes.
        data: Bytes,
    },
    /// The child exited and its final output was reported before this.
    Exited(SessionExited),
}

/// Commands a [`SessionHandle`] sends to its actor.
#[derive(Debug)]
enum SessionCommand {
    Write(Bytes),
    Resize(TermSize),
    Stop,
}

/// A cheap-clone handle to a session actor.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    id: SessionId,
    pid: Option<u32>,
    /// Bounded; senders await when it is full, which only happens while the
    /// actor is busy flushing output.
    commands: mpsc::Sender<SessionCommand>,
    ring: Arc<Mutex<OutputRing>>,
}

impl SessionHandle {
    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
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
    /// period. The exit is reported as a [`SessionEvent::Exited`].
    pub async fn stop(&self) {
        let _ = self.commands.send(SessionCommand::Stop).await;
    }

    /// The total output so far.
    pub fn output_offset(&self) -> u64 {
        lock_ring(&self.ring).end()
    }

    /// Up to `max` retained output bytes from `offset` (or from the oldest
    /// retained byte if `offset` was evicted).
    pub fn read_retained(&self, offset: u64, max: usize) -> Option<(u64, Vec<u8>)> {
        lock_ring(&self.ring).read_from(offset, max)
    }
}

/// Starts a session: opens a PTY, spawns the child in it and starts the
/// actor on `tracker`. The actor reports to `events` and stops the child
/// when `cancel` fires. On error nothing is left running.
pub fn spawn(
    spec: SessionSpec,
    events: mpsc::Sender<SessionEvent>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) -> Result<SessionHandle, ErrorBody> {
    let spawn_failed = |what: &str, error: &dyn std::fmt::Display| {
        ErrorBody::new(ErrorCode::SpawnFailed, format!("{what}: {error}"))
    };
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

    let pty = native_pty_system()
        .openpty(pty_size(spec.size))
        .map_err(|error| spawn_failed("cannot open a pty", &error))?;
    let mut command = CommandBuilder::new(&program_path);
    command.args(&spec.argv[1..]);
    command.cwd(&spec.cwd);
    command.env_clear();
    for (key, value) in &spec.env {
        command.env(key, value);
    }
    let mut child = pty
        .slave
        .spawn_command(command)
        .map_err(|error| spawn_failed(&format!("cannot start {program:?}"), &error))?;
    // The slave must be closed in this process, or end-of-output never comes.
    drop(pty.slave);
    let master = pty.master;
    let pid = child.process_id();
    let mut killer = child.clone_killer();

    let io = master
        .try_clone_reader()
        .and_then(|reader| master.take_writer().map(|writer| (reader, writer)));
    let (reader, writer) = match io {
        Ok(io) => io,
        Err(error) => {
            let _ = killer.kill();
            let _ = child.wait();
            return Err(spawn_failed("cannot open the pty streams", &error));
        }
    };

    // Bounded: the reader thread blocks when the actor falls behind, which
    // in turn blocks the child's writes (natural back-pressure).
    let (output_tx, output_rx) = mpsc::channel::<Vec<u8>>(16);
    // Bounded: the actor uses `try_send` and drops input with a warning when
    // the child does not read its terminal.
    let (input_tx, input_rx) = mpsc::channel::<Bytes>(256);
    let (exit_tx, exit_rx) = oneshot::channel();
    let id = spec.id;
    let threads = std::thread::Builder::new()
        .name(format!("pty-read-{id}"))
        .spawn(move || read_pty(reader, output_tx))
        .and_then(|_| {
            std::thread::Builder::new()
                .name(format!("pty-write-{id}"))
                .spawn(move || write_pty(writer, input_rx))
        })
        .and_then(|_| {
            std::thread::Builder::new()
                .name(format!("pty-wait-{id}"))
                .spawn(move || {
                    let _ = exit_tx.send(child.wait());
                })
        });
    if let Err(error) = threads {
        let _ = killer.kill();
        return Err(spawn_failed("cannot start the pty threads", &error));
    }

    let ring = Arc::new(Mutex::new(OutputRing::new(spec.ring_bytes)));
    // Bounded: handle methods await when full.
    let (command_tx, command_rx) = mpsc::channel(64);
    let actor = Actor {
        id,
        pid,
        master,
        killer,
        stop_grace: spec.stop_grace,
        commands: command_rx,
        output: output_rx,
        input: input_tx,
        exit: exit_rx,
        ring: Arc::clone(&ring),
        events: events.clone(),
        cancel,
    };
    let span = info_span!("session", session_id = %id, pid = ?pid);
    let actor_task = tracker.spawn(actor.run().instrument(span.clone()));
    let supervisor_ring = Arc::clone(&ring);
    tracker.spawn(
        async move {
            if let Err(join_error) = actor_task.await {
                error!(%join_error, "session task failed; killing its process group");
                if let Some(pid) = pid {
                    let _ = killpg(to_pid(pid), Signal::SIGKILL);
                }
                let output_offset = lock_ring(&supervisor_ring).end();
                let _ = events
                    .send(SessionEvent::Exited(SessionExited {
                        session_id: id,
                        exit_code: None,
                        signal: None,
                        output_offset,
                    }))
                    .await;
            }
        }
        .instrument(span),
    );
    info!(session_id = %id, pid = ?pid, argv0 = %program, "session started");
    Ok(SessionHandle {
        id,
        pid,
        commands: command_tx,
        ring,
    })
}

/// The state one session task owns.
struct Actor {
    id: SessionId,
    pid: Option<u32>,
    master: Box<dyn MasterPty + Send>,
    killer: Box<dyn ChildKiller + Send + Sync>,
    stop_grace: Duration,
    /// Bounded by the handle; see [`SessionHandle`].
    commands: mpsc::Receiver<SessionCommand>,
    /// Bounded; see [`spawn`].
    output: mpsc::Receiver<Vec<u8>>,
    /// Bounded; see [`spawn`].
    input: mpsc::Sender<Bytes>,
    exit: oneshot::Receiver<std::io::Result<portable_pty::ExitStatus>>,
    ring: Arc<Mutex<OutputRing>>,
    /// Bounded and shared by all sessions; the actor awaits when it is
    /// full, which pauses reading this PTY.
    events: mpsc::Sender<SessionEvent>,
    cancel: CancellationToken,
}

/// How the child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExitInfo {
    exit_code: Option<i32>,
    signal: Option<String>,
}

impl Actor {
    async fn run(mut self) {
        let mut pending: Vec<u8> = Vec::new();
        let mut output_done = false;
        let mut exit: Option<ExitInfo> = None;
        let mut term_at: Option<Instant> = None;
        let mut kill_at: Option<Instant> = None;
        let mut eof_deadline: Option<Instant> = None;
        let mut commands_open = true;
        let mut stopping = false;

        while !(output_done && exit.is_some()) {
            // Every branch is cancel-safe: `recv` on mpsc and oneshot keeps
            // unreceived values, and the sleeps are recreated each turn from
            // their stored deadlines.
            tokio::select! {
                chunk = self.output.recv(), if !output_done => match chunk {
                    Some(chunk) => {
                        pending.extend_from_slice(&chunk);
                        // Coalesce what the reader already queued, then send.
                        while pending.len() < FLUSH_BYTES {
                            match self.output.try_recv() {
                                Ok(more) => pending.extend_from_slice(&more),
                                Err(mpsc::error::TryRecvError::Empty) => break,
                                Err(mpsc::error::TryRecvError::Disconnected) => {
                                    output_done = true;
                                    break;
                                }
                            }
                        }
                        self.flush(&mut pending).await;
                    }
                    None => output_done = true,
                },
                status = &mut self.exit, if exit.is_none() => {
                    let info = exit_info(status);
                    debug!(?info, "child exited");
                    exit = Some(info);
                    term_at = None;
                    kill_at = None;
                    eof_deadline = Some(Instant::now() + EOF_WAIT);
                }
                command = self.commands.recv(), if commands_open => match command {
                    Some(SessionCommand::Write(data)) => {
                        if self.input.try_send(data).is_err() {
                            warn!("input dropped: the terminal is not reading");
                        }
                    }
                    Some(SessionCommand::Resize(size)) => {
                        if let Err(error) = self.master.resize(pty_size(size)) {
                            warn!(%error, "resize failed");
                        }
                    }
                    Some(SessionCommand::Stop) => {
                        if exit.is_none() && !stopping {
                            stopping = true;
                            (term_at, kill_at) = self.hang_up();
                        }
                    }
                    None => commands_open = false,
                },
                () = self.cancel.cancelled(), if !stopping && exit.is_none() => {
                    stopping = true;
                    (term_at, kill_at) = self.hang_up();
                }
                () = sleep_until(term_at) => {
                    term_at = None;
                    self.signal_group(Signal::SIGTERM);
                }
                () = sleep_until(kill_at) => {
                    kill_at = None;
                    warn!("child ignored SIGHUP and SIGTERM; sending SIGKILL");
                    self.kill_group();
                }
                () = sleep_until(eof_deadline), if !output_done => {
                    warn!("output did not end after the child exited; killing the process group");
                    self.kill_group();
                    output_done = true;
                }
            }
        }
        self.flush(&mut pending).await;
        let exit = exit.unwrap_or(ExitInfo {
            exit_code: None,
            signal: None,
        });
        let output_offset = lock_ring(&self.ring).end();
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

    /// Appends the pending bytes to the ring and reports them.
    async fn flush(&mut self, pending: &mut Vec<u8>) {
        if pending.is_empty() {
            return;
        }
        let data = std::mem::take(pending);
        let offset = lock_ring(&self.ring).push(&data);
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

    /// Starts stopping the child as closing its terminal would: SIGHUP (and
    /// SIGCONT, so a stopped job sees it) to its process group. Interactive
    /// shells ignore SIGTERM but end on SIGHUP. Returns when to send SIGTERM
    /// (for programs that ignore hang-ups) and when to escalate to SIGKILL.
    fn hang_up(&mut self) -> (Option<Instant>, Option<Instant>) {
        info!("stopping session");
        let now = Instant::now();
        if self.pid.is_none() {
            let _ = self.killer.kill();
            return (None, Some(now + self.stop_grace));
        }
        self.signal_group(Signal::SIGHUP);
        self.signal_group(Signal::SIGCONT);
        let term_after = HANG_UP_WAIT.min(self.stop_grace / 2);
        (Some(now + term_after), Some(now + self.stop_grace))
    }

    /// Sends `signal` to the child's process group.
    fn signal_group(&self, signal: Signal) {
        if let Some(pid) = self.pid
            && let Err(error) = killpg(to_pid(pid), signal)
        {
            debug!(%error, ?signal, "signal to the process group failed");
        }
    }

    /// SIGKILL to the whole process group.
    fn kill_group(&mut self) {
        if let Some(pid) = self.pid
            && let Err(error) = killpg(to_pid(pid), Signal::SIGKILL)
        {
            debug!(%error, "SIGKILL to the process group failed");
        }
        let _ = self.killer.kill();
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

fn pty_size(size: TermSize) -> PtySize {
    PtySize {
        rows: size.rows,
        cols: size.cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

fn to_pid(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX))
}

fn exit_info(
    status: Result<std::io::Result<portable_pty::ExitStatus>, oneshot::error::RecvError>,
) -> ExitInfo {
    match status {
        Ok(Ok(status)) => match status.signal() {
            Some(signal) => ExitInfo {
                exit_code: None,
                signal: Some(signal_name(signal)),
            },
            None => ExitInfo {
                exit_code: i32::try_from(status.exit_code()).ok(),
                signal: None,
            },
        },
        Ok(Err(error)) => {
            warn!(%error, "waiting for the child failed");
            ExitInfo {
                exit_code: None,
                signal: None,
            }
        }
        Err(_) => ExitInfo {
            exit_code: None,
            signal: None,
        },
    }
}

/// Maps portable-pty's `strsignal` description back to a signal name.
pub fn signal_name(description: &str) -> String {
    let name = match description {
        "Hangup" => "SIGHUP",
        "Interrupt" => "SIGINT",
        "Quit" => "SIGQUIT",
        "Illegal instruction" => "SIGILL",
        "Trace/breakpoint trap" => "SIGTRAP",
        "Aborted" => "SIGABRT",
        "Bus error" => "SIGBUS",
        "Floating point exception" => "SIGFPE",
        "Killed" => "SIGKILL",
        "User defined signal 1" => "SIGUSR1",
        "Segmentation fault" => "SIGSEGV",
        "User defined signal 2" => "SIGUSR2",
        "Broken pipe" => "SIGPIPE",
        "Alarm clock" => "SIGALRM",
        "Terminated" => "SIGTERM",
        other => return other.to_owned(),
    };
    name.to_owned()
}

/// The reader thread: blocking reads until end-of-output. On Linux the read
/// fails with EIO once the child side is closed; that is the normal end.
fn read_pty(mut reader: Box<dyn Read + Send>, output: mpsc::Sender<Vec<u8>>) {
    let mut buffer = vec![0u8; READ_CHUNK];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if output.blocking_send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// The writer thread: writes queued input until the queue closes or the
/// terminal is gone.
fn write_pty(mut writer: Box<dyn Write + Send>, mut input: mpsc::Receiver<Bytes>) {
    while let Some(data) = input.blocking_recv() {
        if writer
            .write_all(&data)
            .and_then(|()| writer.flush())
            .is_err()
        {
            break;
        }
    }
}
