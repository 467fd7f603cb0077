//! Test harness for Flotilla's integration tests and benchmarks: starts the
//! real `flotilla-hub` and `flotilla-daemon` binaries on 127.0.0.1, talks to
//! them only through the protocol (REST and a browser-like Socket.IO
//! client), and cleans up on drop.
//!
//! Waits never sleep for readiness: they poll a condition against a deadline
//! from `FLOTILLA_TEST_TIMEOUT_MS` (default 10 s) and, on failure, report
//! what they waited for, the last state seen and every child's log tail.

pub mod api;
pub mod fake_agent;
pub mod fake_daemon;
pub mod postgres;
pub mod process;
pub mod socket;
pub mod stack;

use std::future::Future;
use std::time::Duration;

pub use api::Api;
pub use fake_daemon::FakeDaemon;
pub use process::{DaemonProcess, Database, HubProcess, LogTail, Workspace};
pub use socket::UiSocket;
pub use stack::Stack;

/// Runs a benchmark's body on the runtime every benchmark uses: two worker
/// threads, like the 2-core machines the targets are stated for.
pub fn block_on_bench<F: Future<Output = anyhow::Result<()>>>(body: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(body)
}

/// The deadline for each wait.
pub fn timeout() -> Duration {
    let ms = std::env::var("FLOTILLA_TEST_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    Duration::from_millis(ms)
}

/// Polls `check` until it returns `Some`, or fails after [`timeout`] with
/// `what`, the last observed state and the logs of `logs`.
pub async fn wait_until<T, F, Fut>(what: &str, logs: &[&dyn LogTail], mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout();
    loop {
        let last = match check().await {
            Ok(value) => return value,
            Err(state) => state,
        };
        if tokio::time::Instant::now() >= deadline {
            let mut report = format!("timed out waiting for: {what}\nlast state: {last}\n");
            for log in logs {
                report.push_str(&log.tail(40));
            }
            panic!("{report}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The baseline of the throughput benchmarks: runs `cat path` in a local PTY
/// of `size` (columns, rows) and reads its master in this process, without
/// hub or daemon. Returns the bytes read and the seconds from spawn to end of
/// output.
pub fn raw_pty_cat(
    path: &std::path::Path,
    (cols, rows): (u16, u16),
) -> anyhow::Result<(usize, f64)> {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;
    let pair = native_pty_system().openpty(PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    })?;
    let mut command = CommandBuilder::new("cat");
    command.arg(path);
    let start = std::time::Instant::now();
    let mut child = pair.slave.spawn_command(command)?;
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader()?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break, // EIO after the child exits is end of output
            Ok(n) => total += n,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    child.wait()?;
    Ok((total, elapsed))
}
