//! Terminal benchmark: what the daemon's screen model and the hub's
//! per-viewer flow control cost, measured against the real binaries on
//! 127.0.0.1 in one run, so every ratio compares like with like.
//!
//! 1. Throughput: a session `cat`s a file of coloured build-log lines;
//!    (a) the raw PTY read rate of the same `cat` in a local PTY (no hub, the
//!    baseline), (b) one viewer's delivered rate, (c) the slowest of many
//!    viewers' delivered rate. "Delivered" is printed with the table.
//! 2. Keystroke echo: one byte typed into a `cat` in raw mode (so the echo is
//!    `cat`'s own write, a full round trip through a process, not the line
//!    discipline's), timed until it reaches the viewer; with no other
//!    session on the daemon and with many idle ones.
//! 3. Attach: a fresh viewer attaches to the session whose history is the
//!    whole file; time until its snapshot arrived, the snapshot's size, and
//!    whether its screen shows the file's last lines.
//! 4. Memory: hub and daemon RSS idle, with idle sessions that each printed
//!    a screenful, and during and after the flood.
//!
//! `cargo bench -p flotilla-integration --bench terminal`;
//! `TERMINAL_BENCH_QUICK=1` shrinks every size for a smoke run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flotilla_daemon::session::screen::Screen;
use flotilla_integration::{LogTail, Stack, UiSocket, Workspace};
use flotilla_protocol::{SessionId, TermSize};
use futures_util::future::join_all;
use serde_json::json;

/// The last line of the flood file; its end is the offset every viewer must
/// reach.
const END_MARKER: &str = "FLOTILLA-TERMINAL-BENCH-END";
/// What an idle session prints last, once its screenful is out.
const IDLE_MARKER: &str = "IDLE-READY";
/// The sessions' size (what `Api::spawn_ok` asks for); the raw PTY uses it too.
const COLS: u16 = 80;
const ROWS: u16 = 24;
/// How long one flood may take before the run fails.
const FLOOD_DEADLINE: Duration = Duration::from_secs(300);

/// Sizes of one run.
struct Sizes {
    megabytes: usize,
    viewers: usize,
    idle_sessions: usize,
    echo_samples: usize,
    echo_warmup: usize,
    single_runs: usize,
    many_runs: usize,
    attaches: usize,
}

impl Sizes {
    fn from_env() -> Sizes {
        if std::env::var("TERMINAL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0") {
            Sizes {
                megabytes: 4,
                viewers: 5,
                idle_sessions: 5,
                echo_samples: 50,
                echo_warmup: 10,
                single_runs: 1,
                many_runs: 1,
                attaches: 2,
            }
        } else {
            Sizes {
                megabytes: 50,
                viewers: 50,
                idle_sessions: 50,
                echo_samples: 500,
                echo_warmup: 50,
                single_runs: 3,
                many_runs: 3,
                attaches: 5,
            }
        }
    }
}

/// One line of the final table.
struct Row {
    figure: String,
    value: String,
    goal: String,
    met: Option<bool>,
}

fn row(figure: &str, value: String, goal: &str, met: Option<bool>) -> Row {
    Row {
        figure: figure.to_owned(),
        value,
        goal: goal.to_owned(),
        met,
    }
}

/// The flood file, what the PTY turns it into (`\n` → `\r\n`), and the last
/// lines as a screen shows them (no colours).
struct Flood {
    pty_bytes: usize,
    last_lines: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    flotilla_integration::block_on_bench(run())
}

fn colour_line(line: u64) -> (String, String) {
    let module = format!("module_{:05}", line % 99_991);
    let bar = "=".repeat((line % 30) as usize);
    let coloured = format!(
        "\x1b[2m{line:08}\x1b[0m \x1b[1;3{}mcompiling\x1b[0m {module} [\x1b[3{}m{bar}\x1b[0m] \x1b[32mok\x1b[0m\n",
        1 + line % 6,
        1 + (line / 7) % 6,
    );
    let plain = format!("{line:08} compiling {module} [{bar}] ok");
    (coloured, plain)
}

fn make_flood(path: &Path, megabytes: usize) -> anyhow::Result<Flood> {
    let mut file = String::with_capacity((megabytes << 20) + 4096);
    let mut plains = Vec::new();
    let mut line = 0u64;
    while file.len() < megabytes << 20 {
        let (coloured, plain) = colour_line(line);
        file.push_str(&coloured);
        plains.push(plain);
        if plains.len() > 8 {
            plains.remove(0);
        }
        line += 1;
    }
    let end = format!("{END_MARKER} after {line} lines");
    file.push_str(&end);
    file.push('\n');
    plains.push(end);
    std::fs::write(path, &file)?;
    let newlines = file.bytes().filter(|&b| b == b'\n').count();
    Ok(Flood {
        pty_bytes: file.len() + newlines,
        last_lines: plains[plains.len() - 5..].to_vec(),
    })
}

/// Writes the three session scripts and their profiles.
fn write_profiles(dir: &Path, scripts: &Path, data: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::create_dir_all(scripts)?;
    // `ready` is printed once echo is off, so the Enter that starts the cat
    // is not echoed and the stream is exactly the file.
    std::fs::write(
        scripts.join("flood.sh"),
        "stty -echo\nprintf ready\nread go\ncat \"$FLOTILLA_BENCH_FILE\"\nread done\n",
    )?;
    // Raw mode: no line discipline echo, `cat` reads each byte as typed and
    // writes it back itself.
    std::fs::write(
        scripts.join("echo.sh"),
        "stty raw -echo\nprintf ready\nexec cat\n",
    )?;
    std::fs::write(
        scripts.join("idle.sh"),
        format!(
            "stty -echo\ni=0\nwhile [ $i -lt {} ]; do\n  printf '\\033[3%dm%03d idle session, a screenful of coloured text \\033[1mbold\\033[0m tail\\n' $((i % 7 + 1)) $i\n  i=$((i + 1))\ndone\nprintf {IDLE_MARKER}\nread x\n",
            ROWS * 2
        ),
    )?;
    for name in ["flood", "echo", "idle"] {
        let mut profile = format!(
            "name: bench-{name}\ndisplay_name: Bench {name}\ncolor: \"#888888\"\nbinary: sh\nalways_available: true\ncommands:\n  new: [\"sh\", \"{}\"]\n",
            scripts.join(format!("{name}.sh")).display()
        );
        if name == "flood" {
            profile.push_str(&format!(
                "env:\n  FLOTILLA_BENCH_FILE: \"{}\"\n",
                data.display()
            ));
        }
        std::fs::write(dir.join(format!("bench-{name}.yaml")), profile)?;
    }
    Ok(())
}

async fn attach(viewer: &UiSocket, session: SessionId) -> anyhow::Result<()> {
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session}))
        .await;
    anyhow::ensure!(reply["type"] == "ok", "attach refused: {reply}");
    Ok(())
}

async fn input(viewer: &UiSocket, session: SessionId, data: &str) -> anyhow::Result<()> {
    let reply = viewer
        .emit_with_ack(
            "session:input",
            &json!({"sessionId": session, "data": data}),
        )
        .await;
    anyhow::ensure!(reply["type"] == "ok", "input refused: {reply}");
    Ok(())
}

/// Resident and peak resident set of a process, in bytes, from
/// `/proc/<pid>/status` (`VmRSS`, `VmHWM`).
fn rss(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|line| line.starts_with(name))
            .ok_or_else(|| anyhow::anyhow!("no {name} in /proc/{pid}/status"))?;
        let kib: u64 = line
            .trim_start_matches(name)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// How many threads a process has (`Threads` in `/proc/<pid>/status`).
fn threads(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("Threads:"))
        .ok_or_else(|| anyhow::anyhow!("no Threads in /proc/{pid}/status"))?;
    Ok(line.trim_start_matches("Threads:").trim().parse()?)
}

/// User plus system CPU time of a process so far, in seconds, from
/// `/proc/<pid>/stat` (Linux's `USER_HZ` is 100 on every architecture we
/// run on).
fn cpu_secs(pid: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |index: usize| -> anyhow::Result<f64> {
        let field = fields
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("short /proc/{pid}/stat"))?;
        Ok(field.parse::<f64>()?)
    };
    // After the name: state is field 3, utime 14, stime 15.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// CPU seconds of the daemon, the hub and this process.
fn cpu_now(pids: (u32, u32)) -> anyhow::Result<[f64; 3]> {
    Ok([
        cpu_secs(&pids.0.to_string())?,
        cpu_secs(&pids.1.to_string())?,
        cpu_secs("self")?,
    ])
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// What one flood through the hub delivered to one viewer.
struct Delivery {
    /// Output-frame bytes plus the bytes resync snapshots stood for.
    delivered: u64,
    /// From the Enter that starts the `cat` until the viewer's offset
    /// reached the end of the file.
    secs: f64,
    /// Stream bytes that resync snapshots stood for.
    by_snapshot: u64,
    /// Snapshots after the attach one.
    resyncs: u64,
}

/// What one flood through the hub delivered to each viewer.
struct FloodRun {
    viewers: Vec<Delivery>,
    peak_daemon_rss: u64,
    peak_hub_rss: u64,
    session: SessionId,
    /// The session's offset once the file is out.
    end: u64,
    /// CPU seconds the daemon, the hub and this process (the viewers) used
    /// from the Enter until the last viewer was done.
    cpu: [f64; 3],
}

/// Whether a flood session is told to exit afterwards.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterFlood {
    End,
    Keep,
}

impl FloodRun {
    fn rates(&self) -> Vec<f64> {
        self.viewers
            .iter()
            .map(|viewer| viewer.delivered as f64 / viewer.secs / 1e6)
            .collect()
    }

    fn slowest_rate(&self) -> f64 {
        self.rates().into_iter().fold(f64::INFINITY, f64::min)
    }

    fn resynced(&self) -> usize {
        self.viewers.iter().filter(|v| v.resyncs > 0).count()
    }

    fn snapshot_bytes(&self) -> u64 {
        self.viewers.iter().map(|v| v.by_snapshot).sum()
    }

    /// Output-frame bytes all viewers received, per second until the last
    /// one was done, in MB/s.
    fn frames_rate(&self) -> f64 {
        let wall = self.viewers.iter().map(|v| v.secs).fold(0.0, f64::max);
        let frames: u64 = self
            .viewers
            .iter()
            .map(|v| v.delivered - v.by_snapshot)
            .sum();
        frames as f64 / wall / 1e6
    }

    /// Cores kept busy by the daemon, the hub and this process, as CPU
    /// time over the time until the last viewer was done.
    fn cores(&self) -> String {
        let wall = self.viewers.iter().map(|v| v.secs).fold(0.0, f64::max);
        let [daemon, hub, client] = self.cpu.map(|secs| secs / wall);
        format!("daemon {daemon:.2}, hub {hub:.2}, viewers {client:.2} cores")
    }
}

/// Runs one flood session watched by `viewers` (already connected): attach
/// all, wait for `ready`, send the Enter, and time each viewer until its
/// cursor reaches the end of the file.
async fn flood(
    stack: &Stack,
    viewers: &[UiSocket],
    flood: &Flood,
    after: AfterFlood,
) -> anyhow::Result<FloodRun> {
    let project = stack.workspace.project().to_string_lossy().into_owned();
    let session = stack
        .api
        .spawn_ok(stack.host_id(), "bench-flood", &project)
        .await
        .id;
    for viewer in viewers {
        attach(viewer, session).await?;
    }
    let mut base = None;
    for viewer in viewers {
        let ready =
            tokio::time::timeout(Duration::from_secs(10), viewer.wait_offset(session, 5)).await?;
        anyhow::ensure!(ready, "viewer disconnected before ready");
        let offset = viewer.next_offset(session);
        anyhow::ensure!(
            *base.get_or_insert(offset) == offset,
            "viewers start at different offsets"
        );
    }
    let base = base.unwrap_or(5);
    let target = base + flood.pty_bytes as u64;
    let pids = (
        stack.daemon.process.pid().unwrap_or(0),
        stack.hub.process.pid().unwrap_or(0),
    );
    let done = Arc::new(AtomicBool::new(false));
    let sampler_done = done.clone();
    let sampler = tokio::spawn(async move {
        let mut peak = (0, 0);
        while !sampler_done.load(Ordering::Relaxed) {
            if let (Ok((daemon, _)), Ok((hub, _))) = (rss(pids.0), rss(pids.1)) {
                peak = (peak.0.max(daemon), peak.1.max(hub));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        peak
    });

    let cpu_before = cpu_now(pids)?;
    let start = Instant::now();
    input(&viewers[0], session, "\r").await?;
    let finished = tokio::time::timeout(
        FLOOD_DEADLINE,
        join_all(viewers.iter().map(|viewer| async move {
            let reached = viewer.wait_offset(session, target).await;
            (reached, start.elapsed())
        })),
    )
    .await;
    let cpu_after = cpu_now(pids)?;
    done.store(true, Ordering::Relaxed);
    let (peak_daemon_rss, peak_hub_rss) = sampler.await?;
    let Ok(finished) = finished else {
        let offsets: Vec<u64> = viewers.iter().map(|v| v.next_offset(session)).collect();
        anyhow::bail!(
            "flood not delivered within {FLOOD_DEADLINE:?}: target {target}, viewers at {offsets:?}"
        );
    };
    let mut results = Vec::with_capacity(viewers.len());
    for (viewer, (reached, elapsed)) in viewers.iter().zip(finished) {
        anyhow::ensure!(reached, "a viewer was disconnected during the flood");
        let stream = viewer.stream(session);
        anyhow::ensure!(stream.gaps == 0, "a viewer saw {} gaps", stream.gaps);
        results.push(Delivery {
            delivered: stream.next_offset() - base,
            secs: elapsed.as_secs_f64(),
            by_snapshot: stream.snapshot_skipped,
            // The attach snapshot is not a resync.
            resyncs: stream.snapshots.saturating_sub(1),
        });
    }
    for viewer in viewers {
        let _ = viewer
            .emit_with_ack("session:detach", &json!({"sessionId": session}))
            .await;
    }
    if after == AfterFlood::End {
        input(&viewers[0], session, "\r").await?;
    }
    Ok(FloodRun {
        viewers: results,
        peak_daemon_rss,
        peak_hub_rss,
        session,
        end: target,
        cpu: [0, 1, 2].map(|index| cpu_after[index] - cpu_before[index]),
    })
}

/// Times `samples` keystrokes (after `warmup` untimed ones) from emit to
/// the echo reaching the viewer.
async fn echo_latencies(
    viewer: &UiSocket,
    session: SessionId,
    samples: usize,
    warmup: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(samples);
    for index in 0..samples + warmup {
        let before = viewer.next_offset(session);
        let start = Instant::now();
        viewer
            .emit("session:input", &json!({"sessionId": session, "data": "x"}))
            .await;
        let reached = tokio::time::timeout(
            Duration::from_secs(5),
            viewer.wait_offset(session, before + 1),
        )
        .await?;
        let elapsed = start.elapsed();
        anyhow::ensure!(reached, "viewer disconnected");
        if index >= warmup {
            latencies.push(elapsed);
        }
    }
    latencies.sort();
    Ok(latencies)
}

fn latency_rows(rows: &mut Vec<Row>, label: &str, latencies: &[Duration]) {
    let p50 = percentile(latencies, 0.50);
    let p99 = percentile(latencies, 0.99);
    let max = latencies.last().copied().unwrap_or_default();
    rows.push(row(
        &format!("2 echo {label} p50"),
        format!("{:.2} ms", ms(p50)),
        "-",
        None,
    ));
    rows.push(row(
        &format!("2 echo {label} p99"),
        format!("{:.2} ms", ms(p99)),
        "<= 3 ms",
        Some(p99 <= Duration::from_millis(3)),
    ));
    rows.push(row(
        &format!("2 echo {label} max"),
        format!("{:.2} ms", ms(max)),
        "<= 10 ms",
        Some(max <= Duration::from_millis(10)),
    ));
}

async fn run() -> anyhow::Result<()> {
    let sizes = Sizes::from_env();
    let workspace = Workspace::new();
    let data = workspace.path().join("flood.txt");
    let flood_file = make_flood(&data, sizes.megabytes)?;
    let profiles = workspace.path().join("bench-profiles");
    write_profiles(&profiles, &workspace.path().join("bench-scripts"), &data)?;

    let stack = Stack::start_in(workspace, Some(&profiles)).await;
    let daemon_pid = stack
        .daemon
        .process
        .pid()
        .ok_or_else(|| anyhow::anyhow!("no daemon pid"))?;
    let hub_pid = stack
        .hub
        .process
        .pid()
        .ok_or_else(|| anyhow::anyhow!("no hub pid"))?;
    let project = stack.workspace.project().to_string_lossy().into_owned();
    let viewer = stack.viewer().await;
    viewer.count_only.store(true, Ordering::Relaxed);
    let mut rows = Vec::new();
    println!(
        "terminal benchmark: {} MiB file ({} bytes through the PTY), {} viewers, {} idle sessions, {} echo samples, sessions {COLS}x{ROWS}",
        sizes.megabytes,
        flood_file.pty_bytes,
        sizes.viewers,
        sizes.idle_sessions,
        sizes.echo_samples
    );

    // 2, with no other session on the daemon.
    let echo = stack
        .api
        .spawn_ok(stack.host_id(), "bench-echo", &project)
        .await
        .id;
    attach(&viewer, echo).await?;
    let ready = tokio::time::timeout(Duration::from_secs(10), viewer.wait_offset(echo, 5)).await?;
    anyhow::ensure!(ready, "echo session did not get ready");
    let alone = echo_latencies(&viewer, echo, sizes.echo_samples, sizes.echo_warmup).await?;
    println!(
        "echo, no other session: p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&alone, 0.5)),
        ms(percentile(&alone, 0.99))
    );

    // 4, idle and with idle sessions.
    let (daemon_idle, _) = rss(daemon_pid)?;
    let daemon_threads_idle = threads(daemon_pid)?;
    let (hub_idle, _) = rss(hub_pid)?;
    let mut idle_sessions = Vec::with_capacity(sizes.idle_sessions);
    for _ in 0..sizes.idle_sessions {
        idle_sessions.push(
            stack
                .api
                .spawn_ok(stack.host_id(), "bench-idle", &project)
                .await
                .id,
        );
    }
    // Their output is kept here, for the marker.
    viewer.count_only.store(false, Ordering::Relaxed);
    for &session in &idle_sessions {
        attach(&viewer, session).await?;
        stack.wait_output(&viewer, session, IDLE_MARKER).await;
        let _ = viewer
            .emit_with_ack("session:detach", &json!({"sessionId": session}))
            .await;
    }
    viewer.count_only.store(true, Ordering::Relaxed);
    let (daemon_with, _) = rss(daemon_pid)?;
    let daemon_threads_with = threads(daemon_pid)?;
    let (hub_with, _) = rss(hub_pid)?;
    let idle_count = sizes.idle_sessions as u64;
    let daemon_per = daemon_with.saturating_sub(daemon_idle) / idle_count;
    let hub_per = hub_with.saturating_sub(hub_idle) / idle_count;
    println!(
        "memory: daemon {} idle, {} with {idle_count} idle sessions ({daemon_threads_idle} threads, then {daemon_threads_with}); hub {} idle, {} with them",
        mib(daemon_idle),
        mib(daemon_with),
        mib(hub_idle),
        mib(hub_with)
    );

    // 2, with the idle sessions.
    let crowded = echo_latencies(&viewer, echo, sizes.echo_samples, sizes.echo_warmup).await?;
    println!(
        "echo, {idle_count} idle sessions: p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&crowded, 0.5)),
        ms(percentile(&crowded, 0.99))
    );
    let _ = viewer
        .emit_with_ack("session:detach", &json!({"sessionId": echo}))
        .await;

    // 1 (a) and (b), alternating so both see the same machine.
    let mut peaks = (0, 0);
    let mut raw_rates = Vec::new();
    let mut single_rates = Vec::new();
    let mut single_resynced = 0;
    let mut single_cores = String::new();
    let single = std::slice::from_ref(&viewer);
    for run in 1..=sizes.single_runs {
        let path = data.clone();
        let (raw_bytes, raw_secs) = tokio::task::spawn_blocking(move || {
            flotilla_integration::raw_pty_cat(&path, (COLS, ROWS))
        })
        .await??;
        anyhow::ensure!(
            raw_bytes == flood_file.pty_bytes,
            "raw PTY produced {raw_bytes} bytes, expected {}",
            flood_file.pty_bytes
        );
        let raw_rate = raw_bytes as f64 / raw_secs / 1e6;
        let result = flood(&stack, single, &flood_file, AfterFlood::End).await?;
        let rate = result.slowest_rate();
        single_resynced += result.resynced();
        println!(
            "run {run}: raw PTY {raw_rate:7.1} MB/s ({raw_secs:.3} s) | 1 viewer {rate:7.1} MB/s ({:.3} s, {} resync snapshots standing for {} bytes; {}) | ratio {:.2}",
            result.viewers[0].secs,
            result.viewers[0].resyncs,
            result.viewers[0].by_snapshot,
            result.cores(),
            rate / raw_rate
        );
        single_cores = result.cores();
        raw_rates.push(raw_rate);
        single_rates.push(rate);
        peaks = (
            peaks.0.max(result.peak_daemon_rss),
            peaks.1.max(result.peak_hub_rss),
        );
    }
    let single_ratio = median(
        &single_rates
            .iter()
            .zip(&raw_rates)
            .map(|(single, raw)| single / raw)
            .collect::<Vec<_>>(),
    );

    // 1 (c).
    let mut many_viewers = Vec::with_capacity(sizes.viewers);
    for _ in 0..sizes.viewers {
        let socket = stack.viewer().await;
        socket.count_only.store(true, Ordering::Relaxed);
        many_viewers.push(socket);
    }
    let mut many_slowest = Vec::new();
    let mut many_median = Vec::new();
    let mut many_resynced = 0;
    let mut many_snapshot_bytes = 0;
    let mut many_cores = String::new();
    let mut history = None;
    for run in 1..=sizes.many_runs {
        let last = run == sizes.many_runs;
        let after = if last {
            AfterFlood::Keep
        } else {
            AfterFlood::End
        };
        let result = flood(&stack, &many_viewers, &flood_file, after).await?;
        let slowest = result.slowest_rate();
        let middle = median(&result.rates());
        println!(
            "run {run}: {} viewers: slowest {slowest:7.1} MB/s, median {middle:7.1} MB/s, {} viewers resynced ({} bytes stood for by snapshots), frames to all viewers {:.1} MB/s; {}; peak RSS daemon {}, hub {}",
            sizes.viewers,
            result.resynced(),
            result.snapshot_bytes(),
            result.frames_rate(),
            result.cores(),
            mib(result.peak_daemon_rss),
            mib(result.peak_hub_rss)
        );
        many_slowest.push(slowest);
        many_median.push(middle);
        many_resynced = many_resynced.max(result.resynced());
        many_snapshot_bytes = many_snapshot_bytes.max(result.snapshot_bytes());
        peaks = (
            peaks.0.max(result.peak_daemon_rss),
            peaks.1.max(result.peak_hub_rss),
        );
        if last {
            history = Some((result.session, result.end));
            many_cores = result.cores();
        }
    }
    for socket in &many_viewers {
        socket.disconnect().await;
    }
    drop(many_viewers);
    let single_rate = median(&single_rates);
    let many_rate = median(&many_slowest);
    let many_ratio = many_rate / single_rate;
    let (daemon_after, daemon_hwm) = rss(daemon_pid)?;
    let (hub_after, hub_hwm) = rss(hub_pid)?;

    // 3: fresh viewers attach to the session whose history is the file.
    let (history, end) = history.ok_or_else(|| anyhow::anyhow!("no flood session"))?;
    let mut attach_times = Vec::new();
    let mut attach_failures = Vec::new();
    let mut snapshot = Vec::new();
    let mut snapshot_size = None;
    for _ in 0..sizes.attaches {
        let fresh = stack.viewer().await;
        let request = json!({"sessionId": history});
        let start = Instant::now();
        let (reply, reached) = tokio::join!(
            fresh.emit_with_ack("session:attach", &request),
            tokio::time::timeout(Duration::from_secs(10), fresh.wait_offset(history, end))
        );
        let elapsed = start.elapsed();
        anyhow::ensure!(reply["type"] == "ok", "attach refused: {reply}");
        let stream = fresh.stream(history);
        let answered = match reached {
            Ok(true) => stream.snapshots == 1 && stream.frames == 0,
            Ok(false) | Err(_) => false,
        };
        if !answered {
            // Reported in the table, with what the viewer got and the logs.
            let state = format!(
                "attach {}: after {:.0} ms the viewer is at offset {} of {end}, {} snapshots (last at {:?}), {} frames, closed {}",
                attach_times.len() + 1,
                ms(elapsed),
                stream.next_offset(),
                stream.snapshots,
                stream.last_snapshot.as_ref().map(|(offset, ..)| *offset),
                stream.frames,
                fresh.is_closed()
            );
            println!("{state}\n{}{}", stack.hub.tail(20), stack.daemon.tail(20));
            attach_failures.push(state);
        }
        if let Some((_, size, bytes)) = stream.last_snapshot {
            snapshot = bytes;
            snapshot_size = Some(size);
        }
        attach_times.push(elapsed);
        fresh.disconnect().await;
    }
    let cold_attach = attach_times[0];
    let worst_attach = attach_times.iter().copied().max().unwrap_or_default();
    // The attached viewer's screen: the snapshot fed into the daemon's own
    // screen model type, as a fresh terminal of the snapshot's size.
    let mut model = Screen::new(
        snapshot_size.unwrap_or(TermSize {
            cols: COLS,
            rows: ROWS,
        }),
        1000,
    );
    let _ = model.feed(&snapshot);
    let screen: Vec<String> = model
        .text()
        .into_iter()
        .map(|row| row.trim_end().to_owned())
        .filter(|row| !row.is_empty())
        .collect();
    let screen_tail = &screen[screen.len().saturating_sub(flood_file.last_lines.len())..];
    let screen_ok = screen_tail == flood_file.last_lines.as_slice();
    let marker_in_snapshot = snapshot
        .windows(END_MARKER.len())
        .any(|window| window == END_MARKER.as_bytes());
    println!(
        "attach to {} bytes of history: {:?} ms (first one cold), snapshot {} bytes; the attached screen's last rows (the snapshot fed into session::screen::Screen):",
        flood_file.pty_bytes,
        attach_times
            .iter()
            .map(|d| (ms(*d) * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
        snapshot.len()
    );
    for line in screen_tail {
        println!("  | {line}");
    }
    drop(stack);

    rows.push(row(
        "1a raw PTY read rate (median)",
        format!("{:.1} MB/s", median(&raw_rates)),
        "-",
        None,
    ));
    rows.push(row(
        "1b 1 viewer delivered (median)",
        format!("{single_rate:.1} MB/s"),
        "-",
        None,
    ));
    rows.push(row(
        "1b/1a (median of per-run ratios)",
        format!("{single_ratio:.2}"),
        ">= 0.70",
        Some(single_ratio >= 0.70),
    ));
    rows.push(row(
        "1b resync snapshots (all runs)",
        format!("{single_resynced}"),
        "-",
        None,
    ));
    rows.push(row("1b CPU during the last run", single_cores, "-", None));
    rows.push(row(
        &format!("1c {} viewers, slowest (median)", sizes.viewers),
        format!("{many_rate:.1} MB/s"),
        "-",
        None,
    ));
    rows.push(row(
        &format!("1c {} viewers, median viewer", sizes.viewers),
        format!("{:.1} MB/s", median(&many_median)),
        "-",
        None,
    ));
    rows.push(row(
        "1c/1b (slowest viewer)",
        format!("{many_ratio:.2}"),
        ">= 0.90",
        Some(many_ratio >= 0.90),
    ));
    rows.push(row(
        "1c viewers resynced (worst run)",
        format!(
            "{many_resynced}/{} ({} bytes by snapshot)",
            sizes.viewers, many_snapshot_bytes
        ),
        "-",
        None,
    ));
    rows.push(row("1c CPU during the last run", many_cores, "-", None));
    latency_rows(&mut rows, "0 idle", &alone);
    latency_rows(&mut rows, &format!("{idle_count} idle"), &crowded);
    rows.push(row(
        "3 attach to snapshot, cold",
        format!("{:.2} ms", ms(cold_attach)),
        "-",
        None,
    ));
    rows.push(row(
        &format!("3 attach to snapshot, worst of {}", sizes.attaches),
        format!("{:.2} ms", ms(worst_attach)),
        "<= 50 ms",
        Some(worst_attach <= Duration::from_millis(50)),
    ));
    rows.push(row(
        "3 attaches answered by one snapshot",
        format!(
            "{}/{}",
            sizes.attaches - attach_failures.len(),
            sizes.attaches
        ),
        "all",
        Some(attach_failures.is_empty()),
    ));
    rows.push(row(
        "3 snapshot size",
        format!("{} bytes", snapshot.len()),
        "<= 256 000 B",
        Some(snapshot.len() <= 256_000),
    ));
    rows.push(row(
        "3 screen shows the file's last 5 lines",
        format!("{screen_ok} (marker in snapshot: {marker_in_snapshot})"),
        "true",
        Some(screen_ok && marker_in_snapshot),
    ));
    rows.push(row("4 daemon RSS idle", mib(daemon_idle), "-", None));
    rows.push(row("4 hub RSS idle", mib(hub_idle), "-", None));
    rows.push(row(
        &format!("4 daemon RSS, {idle_count} idle sessions"),
        mib(daemon_with),
        "-",
        None,
    ));
    rows.push(row(
        &format!("4 hub RSS, {idle_count} idle sessions"),
        mib(hub_with),
        "-",
        None,
    ));
    rows.push(row(
        "4 daemon per idle session",
        format!("{:.2} MB", daemon_per as f64 / 1e6),
        "<= 2 MB",
        Some(daemon_per <= 2_000_000),
    ));
    rows.push(row(
        "4 hub per idle session",
        format!("{:.2} MB", hub_per as f64 / 1e6),
        "<= 2 MB",
        Some(hub_per <= 2_000_000),
    ));
    let flood_bytes = flood_file.pty_bytes as u64;
    for (name, with, peak, after, hwm) in [
        ("daemon", daemon_with, peaks.0, daemon_after, daemon_hwm),
        ("hub", hub_with, peaks.1, hub_after, hub_hwm),
    ] {
        rows.push(row(
            &format!("4 {name} RSS peak during floods (VmHWM)"),
            format!("{} ({})", mib(peak), mib(hwm)),
            "growth < file",
            Some(hwm.saturating_sub(with) < flood_bytes),
        ));
        rows.push(row(
            &format!("4 {name} RSS after floods"),
            mib(after),
            "growth < file",
            Some(after.saturating_sub(with) < flood_bytes),
        ));
    }

    println!();
    println!(
        "delivered = bytes a viewer received in session:output frames (each byte once) + the stream bytes a resync snapshot stood for (how far it moved the viewer's offset); a viewer's rate = delivered / time from the Enter that starts the cat until its offset reached the end of the file's last line ({END_MARKER}). 1c is the slowest viewer of the run (the run ends when all are done). 1a = cat of the same file in a local {COLS}x{ROWS} PTY read by this process. Echo = one byte into `cat` in raw mode, emit until the byte is back at the viewer. Attach = session:attach emit until the snapshot is applied, fresh socket each time. RSS from /proc/<pid>/status; 'growth < file' = above the RSS with idle sessions by less than the {flood_bytes}-byte flood."
    );
    println!();
    let width = rows.iter().map(|r| r.figure.len()).max().unwrap_or(10);
    let value_width = rows.iter().map(|r| r.value.len()).max().unwrap_or(10);
    println!(
        "{:width$}  {:value_width$}  {:14}  result",
        "figure", "value", "goal"
    );
    for r in &rows {
        let met = match r.met {
            Some(true) => "met",
            Some(false) => "not met",
            None => "",
        };
        println!(
            "{:width$}  {:value_width$}  {:14}  {met}",
            r.figure, r.value, r.goal
        );
    }
    Ok(())
}
