//! Test doubles for [`PtySystem`]: [`FakePtySystem`] starts no process (the
//! test plays the process through a [`FakeProcess`]: it writes output,
//! reads what was typed, sees resizes and signals, and exits when told or
//! on a signal it ends on), so session tests run without processes and
//! under paused time; [`HeldSpawns`] wraps any system and holds the spawns
//! of chosen commands until a [`Gate`] opens, as a slow start would.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;
use flotilla_protocol::{ErrorBody, TermSize};
use nix::sys::signal::Signal;
use tokio::sync::{mpsc, oneshot};

use super::{ExitInfo, Pty, PtyCommand, PtyIo, PtySystem};

/// What a session did to a fake process, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// A terminal resize.
    Resize(TermSize),
    /// A signal to the process group.
    Signal(Signal),
    /// A kill.
    Kill,
}

/// Starts fake processes; each spawn hands its [`FakeProcess`] to the test.
pub struct FakePtySystem {
    /// Signals that end a fake process (SIGKILL always does).
    ends_on: Vec<Signal>,
    /// Unbounded: test-only, one message per spawn.
    spawned: mpsc::UnboundedSender<FakeProcess>,
}

impl FakePtySystem {
    /// A system whose processes end on the signals in `ends_on` (and on
    /// SIGKILL), and the receiver of each spawned process.
    pub fn new(ends_on: &[Signal]) -> (Self, mpsc::UnboundedReceiver<FakeProcess>) {
        let (spawned, processes) = mpsc::unbounded_channel();
        let system = FakePtySystem {
            ends_on: ends_on.to_vec(),
            spawned,
        };
        (system, processes)
    }
}

impl PtySystem for FakePtySystem {
    fn spawn(&self, command: PtyCommand) -> Result<(Box<dyn Pty>, PtyIo), ErrorBody> {
        let (output_tx, output) = mpsc::channel(16);
        let (input, input_rx) = mpsc::channel(256);
        let (exit_tx, exit) = oneshot::channel();
        let shared = Arc::new(Shared {
            output: Mutex::new(Some(output_tx)),
            exit: Mutex::new(Some(exit_tx)),
            calls: Mutex::new(Vec::new()),
            ends_on: self.ends_on.clone(),
        });
        let process = FakeProcess {
            command,
            input: input_rx,
            shared: Arc::clone(&shared),
        };
        let _ = self.spawned.send(process);
        Ok((
            Box::new(FakeHandle { shared }),
            PtyIo {
                output,
                input,
                exit,
            },
        ))
    }
}

/// The test's side of a fake process.
pub struct FakeProcess {
    /// What was started.
    pub command: PtyCommand,
    /// What the session typed into the terminal.
    pub input: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
}

impl FakeProcess {
    /// Writes `data` to the terminal as the process would; a no-op after
    /// the process ended.
    pub async fn output(&self, data: &[u8]) {
        let sender = lock(&self.shared.output).clone();
        if let Some(sender) = sender {
            let _ = sender.send(data.to_vec()).await;
        }
    }

    /// Ends the process: output ends, then the exit is reported.
    pub fn exit(&self, info: ExitInfo) {
        self.shared.end(info);
    }

    /// Reports the exit but keeps the output open, as when a grandchild
    /// still holds the terminal. Returns whether the exit was news.
    pub fn exit_without_eof(&self, info: ExitInfo) -> bool {
        lock(&self.shared.exit)
            .take()
            .is_some_and(|exit| exit.send(info).is_ok())
    }

    /// What the session did to the process so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.shared.calls).clone()
    }

    /// Receives the next input, as one string.
    pub async fn typed(&mut self) -> Option<String> {
        let data = self.input.recv().await?;
        Some(String::from_utf8_lossy(&data).into_owned())
    }
}

struct Shared {
    output: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    exit: Mutex<Option<oneshot::Sender<ExitInfo>>>,
    calls: Mutex<Vec<Call>>,
    ends_on: Vec<Signal>,
}

impl Shared {
    fn end(&self, info: ExitInfo) {
        lock(&self.output).take();
        if let Some(exit) = lock(&self.exit).take() {
            let _ = exit.send(info);
        }
    }
}

struct FakeHandle {
    shared: Arc<Shared>,
}

impl Pty for FakeHandle {
    fn pid(&self) -> Option<u32> {
        Some(4242)
    }

    fn resize(&mut self, size: TermSize) -> std::io::Result<()> {
        lock(&self.shared.calls).push(Call::Resize(size));
        Ok(())
    }

    fn signal_group(&mut self, signal: Signal) -> std::io::Result<()> {
        lock(&self.shared.calls).push(Call::Signal(signal));
        if signal == Signal::SIGKILL || self.shared.ends_on.contains(&signal) {
            self.shared.end(ExitInfo {
                exit_code: None,
                signal: Some(signal.as_str().to_owned()),
            });
        }
        Ok(())
    }

    fn kill(&mut self) {
        lock(&self.shared.calls).push(Call::Kill);
        self.shared.end(ExitInfo {
            exit_code: None,
            signal: Some("SIGKILL".to_owned()),
        });
    }
}

/// A gate that held spawns wait on until it opens. Cheap to clone.
#[derive(Clone, Default)]
pub struct Gate {
    open: Arc<(Mutex<bool>, Condvar)>,
}

impl Gate {
    /// Lets every held spawn (and later ones) through.
    pub fn open(&self) {
        *lock(&self.open.0) = true;
        self.open.1.notify_all();
    }

    /// Blocks the calling thread until the gate opens.
    pub fn wait(&self) {
        let mut open = lock(&self.open.0);
        while !*open {
            open = self
                .open
                .1
                .wait(open)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Holds the spawns of commands with `marker` among their arguments until
/// the gate opens, then spawns them with `inner`.
pub struct HeldSpawns<S> {
    /// The system that really spawns.
    pub inner: S,
    /// The argument that marks a command to hold.
    pub marker: String,
    /// Opens the hold.
    pub gate: Gate,
}

impl<S: PtySystem> PtySystem for HeldSpawns<S> {
    fn spawn(&self, command: PtyCommand) -> Result<(Box<dyn Pty>, PtyIo), ErrorBody> {
        if command.args.contains(&self.marker) {
            // Blocking on purpose: spawns run on a blocking thread.
            self.gate.wait();
        }
        self.inner.spawn(command)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Test-only std mutexes with short critical sections.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
