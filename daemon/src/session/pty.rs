//! The operating system under a session: a small trait for starting a
//! process in a new PTY and driving it (spawn, read, write, resize, signal),
//! in the manner of zellij's `ServerOsApi`. [`NativePty`] is the real one
//! (portable-pty plus `killpg`); tests use [`fake`], which runs no process
//! and works under paused time.
//!
//! Reads and writes are channels: the blocking PTY I/O of the real
//! implementation runs on dedicated threads, and a fake feeds the channels
//! directly, so the session actor is the same async code for both.

#[cfg(test)]
pub mod fake;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use bytes::Bytes;
use flotilla_protocol::{ErrorBody, ErrorCode, TermSize};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use portable_pty::{ChildKiller, CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::{mpsc, oneshot};

/// Size of one blocking PTY read.
const READ_CHUNK: usize = 16 * 1024;

/// What to start in a new PTY.
#[derive(Debug, Clone)]
pub struct PtyCommand {
    /// The program, already resolved on the child's `PATH`.
    pub program: PathBuf,
    /// The arguments after the program.
    pub args: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The complete environment of the child.
    pub env: BTreeMap<String, String>,
    /// The initial terminal size.
    pub size: TermSize,
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitInfo {
    /// The exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// The signal's name (`SIGKILL`), when a signal ended it.
    pub signal: Option<String>,
}

/// The streams of a started process.
#[derive(Debug)]
pub struct PtyIo {
    /// What the process wrote to its terminal, in order; closes at
    /// end-of-output. Bounded: the producer waits when the session falls
    /// behind, which in turn blocks the child's writes (back-pressure).
    pub output: mpsc::Receiver<Vec<u8>>,
    /// What to type into the terminal. Bounded: the session uses
    /// `try_send` and drops input with a warning when the child does not
    /// read its terminal.
    pub input: mpsc::Sender<Bytes>,
    /// Fires once with how the process ended (dropped: unknown).
    pub exit: oneshot::Receiver<ExitInfo>,
}

/// A process running in a PTY: the controls besides its streams.
pub trait Pty: Send {
    /// The process id, when the system has one.
    fn pid(&self) -> Option<u32>;
    /// Resizes the terminal.
    fn resize(&mut self, size: TermSize) -> std::io::Result<()>;
    /// Sends `signal` to the process group.
    fn signal_group(&mut self, signal: Signal) -> std::io::Result<()>;
    /// Kills the process (SIGKILL to its group and to the process itself).
    fn kill(&mut self);
}

/// Starts processes in new PTYs.
pub trait PtySystem: Send + Sync {
    /// Starts `command`; blocking (fork and exec), so callers run it on a
    /// blocking thread. On error nothing is left running.
    fn spawn(&self, command: PtyCommand) -> Result<(Box<dyn Pty>, PtyIo), ErrorBody>;
}

/// The real PTYs: portable-pty, signals with `killpg`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativePty;

impl PtySystem for NativePty {
    fn spawn(&self, command: PtyCommand) -> Result<(Box<dyn Pty>, PtyIo), ErrorBody> {
        let spawn_failed = |what: &str, error: &dyn std::fmt::Display| {
            ErrorBody::new(ErrorCode::SpawnFailed, format!("{what}: {error}"))
        };
        let pty = native_pty_system()
            .openpty(pty_size(command.size))
            .map_err(|error| spawn_failed("cannot open a pty", &error))?;
        let mut builder = CommandBuilder::new(&command.program);
        builder.args(&command.args);
        builder.cwd(&command.cwd);
        builder.env_clear();
        for (key, value) in &command.env {
            builder.env(key, value);
        }
        let program = command.program.display();
        let mut child = pty
            .slave
            .spawn_command(builder)
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

        // Bounded: see `PtyIo::output`.
        let (output_tx, output_rx) = mpsc::channel::<Vec<u8>>(16);
        // Bounded: see `PtyIo::input`.
        let (input_tx, input_rx) = mpsc::channel::<Bytes>(256);
        let (exit_tx, exit_rx) = oneshot::channel();
        let name = pid.map_or_else(|| "?".to_owned(), |pid| pid.to_string());
        let threads = std::thread::Builder::new()
            .name(format!("pty-read-{name}"))
            .spawn(move || read_pty(reader, output_tx))
            .and_then(|_| {
                std::thread::Builder::new()
                    .name(format!("pty-write-{name}"))
                    .spawn(move || write_pty(writer, input_rx))
            })
            .and_then(|_| {
                std::thread::Builder::new()
                    .name(format!("pty-wait-{name}"))
                    .spawn(move || {
                        let _ = exit_tx.send(exit_info(child.wait()));
                    })
            });
        if let Err(error) = threads {
            let _ = killer.kill();
            return Err(spawn_failed("cannot start the pty threads", &error));
        }
        let process = NativeProcess {
            pid,
            master,
            killer,
        };
        let io = PtyIo {
            output: output_rx,
            input: input_tx,
            exit: exit_rx,
        };
        Ok((Box::new(process), io))
    }
}

/// A process in a real PTY.
struct NativeProcess {
    pid: Option<u32>,
    master: Box<dyn MasterPty + Send>,
    killer: Box<dyn ChildKiller + Send + Sync>,
}

impl Pty for NativeProcess {
    fn pid(&self) -> Option<u32> {
        self.pid
    }

    fn resize(&mut self, size: TermSize) -> std::io::Result<()> {
        self.master
            .resize(pty_size(size))
            .map_err(std::io::Error::other)
    }

    fn signal_group(&mut self, signal: Signal) -> std::io::Result<()> {
        match self.pid {
            Some(pid) => killpg(to_pid(pid), signal).map_err(std::io::Error::from),
            // Without a process group only a kill is possible.
            None if signal == Signal::SIGKILL => self.killer.kill(),
            None => Ok(()),
        }
    }

    fn kill(&mut self) {
        let _ = self.signal_group(Signal::SIGKILL);
        let _ = self.killer.kill();
    }
}

/// SIGKILL to the process group of `pid` (the last resort of a session
/// task that panicked).
pub fn kill_group(pid: u32) {
    let _ = killpg(to_pid(pid), Signal::SIGKILL);
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

fn exit_info(status: std::io::Result<portable_pty::ExitStatus>) -> ExitInfo {
    match status {
        Ok(status) => match status.signal() {
            Some(signal) => ExitInfo {
                exit_code: None,
                signal: Some(signal_name(signal)),
            },
            None => ExitInfo {
                exit_code: i32::try_from(status.exit_code()).ok(),
                signal: None,
            },
        },
        Err(error) => {
            tracing::warn!(%error, "waiting for the child failed");
            ExitInfo::default()
        }
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
