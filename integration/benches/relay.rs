//! Relay benchmark: how much of the PTY's own throughput reaches a browser
//! viewer through daemon and hub, and how long a keystroke takes to echo.
//!
//! Everything is measured in one run on this machine, so the printed ratio
//! compares like with like:
//! - raw: `cat` of a file in a PTY, read directly from the PTY master;
//! - relay: the same `cat` in a session of the real daemon, relayed through
//!   the real hub to a Socket.IO viewer; every byte is checked;
//! - echo: single keystrokes sent by the viewer, timed until their echo
//!   comes back to the same viewer.
//!
//! `cargo bench -p flotilla-integration --bench relay`; `FLOTILLA_BENCH_MB`
//! sets the file size (default 50), `FLOTILLA_BENCH_ECHO` the samples (500).

use std::path::Path;
use std::time::{Duration, Instant};

use flotilla_integration::{Stack, UiSocket, Workspace};
use flotilla_protocol::SessionId;
use serde_json::json;

const RUNS: usize = 5;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    flotilla_integration::block_on_bench(run())
}

/// Text lines like a build log, and what a PTY turns them into (`\n` → `\r\n`).
fn make_data(path: &Path, megabytes: usize) -> anyhow::Result<Vec<u8>> {
    let mut file = Vec::with_capacity(megabytes << 20);
    let mut line = 0u64;
    while file.len() < megabytes << 20 {
        let text = format!(
            "{line:08} compiling module_{:05} [{}] ok\n",
            line % 99_991,
            "=".repeat((line % 40) as usize)
        );
        file.extend_from_slice(text.as_bytes());
        line += 1;
    }
    std::fs::write(path, &file)?;
    let mut expected = Vec::with_capacity(file.len() + line as usize);
    for &byte in &file {
        if byte == b'\n' {
            expected.push(b'\r');
        }
        expected.push(byte);
    }
    Ok(expected)
}

fn write_profiles(dir: &Path, data: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("bench-cat.yaml"),
        format!(
            "name: bench-cat\ndisplay_name: Bench cat\ncolor: \"#888888\"\nbinary: sh\nalways_available: true\ncommands:\n  new: [\"sh\", \"-c\", \"stty -echo; printf ready; read go; cat \\\"$FLOTILLA_BENCH_FILE\\\"; read done\"]\nenv:\n  FLOTILLA_BENCH_FILE: \"{}\"\n",
            data.display()
        ),
    )?;
    std::fs::write(
        dir.join("bench-echo.yaml"),
        "name: bench-echo\ndisplay_name: Bench echo\ncolor: \"#888888\"\nbinary: cat\nalways_available: true\ncommands:\n  new: [\"cat\"]\n",
    )?;
    Ok(())
}

async fn attach(viewer: &UiSocket, session: SessionId) {
    let reply = viewer
        .emit_with_ack("session:attach", &json!({"sessionId": session}))
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn run() -> anyhow::Result<()> {
    let megabytes = env_number("FLOTILLA_BENCH_MB", 50);
    let samples = env_number("FLOTILLA_BENCH_ECHO", 500);
    let workspace = Workspace::new();
    let data = workspace.path().join("data.txt");
    let expected = make_data(&data, megabytes)?;
    let profiles = workspace.path().join("bench-profiles");
    write_profiles(&profiles, &data)?;

    let stack = Stack::start_in(workspace, Some(&profiles)).await;
    let api = &stack.api;
    let host = &stack.host;
    let viewer = stack.viewer().await;
    let project = stack.workspace.project().to_string_lossy().into_owned();

    println!(
        "relay benchmark: {megabytes} MiB file, {} bytes through the PTY, {RUNS} runs",
        expected.len()
    );
    let mut raw_rates = Vec::new();
    let mut relay_rates = Vec::new();
    for run in 1..=RUNS {
        let data = data.clone();
        let (raw_bytes, raw_secs) = tokio::task::spawn_blocking(move || {
            flotilla_integration::raw_pty_cat(&data, (120, 40))
        })
        .await??;
        anyhow::ensure!(
            raw_bytes == expected.len(),
            "raw PTY produced {raw_bytes} bytes, expected {}",
            expected.len()
        );
        let raw_rate = raw_bytes as f64 / raw_secs / 1e6;

        let session = api.spawn_ok(host.host.id, "bench-cat", &project).await.id;
        attach(&viewer, session).await;
        // `ready` is printed once echo is off, so the Enter below is not echoed.
        let ready =
            tokio::time::timeout(Duration::from_secs(10), viewer.wait_offset(session, 5)).await?;
        anyhow::ensure!(
            ready && viewer.stream(session).text() == "ready",
            "session did not get ready"
        );
        let base = viewer.next_offset(session);
        let start = Instant::now();
        let reply = viewer
            .emit_with_ack(
                "session:input",
                &json!({"sessionId": session, "data": "\r"}),
            )
            .await;
        anyhow::ensure!(reply["type"] == "ok", "input refused: {reply}");
        let target = base + expected.len() as u64;
        let reached = tokio::time::timeout(
            Duration::from_secs(300),
            viewer.wait_offset(session, target),
        )
        .await?;
        let relay_secs = start.elapsed().as_secs_f64();
        anyhow::ensure!(reached, "viewer disconnected");
        let stream = viewer.stream(session);
        let skip = (base - stream.start.unwrap_or(0)) as usize;
        let received = &stream.bytes[skip..skip + expected.len()];
        if received != expected.as_slice() {
            let first = received
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            let context = |bytes: &[u8]| {
                String::from_utf8_lossy(
                    &bytes[first.saturating_sub(40)..(first + 40).min(bytes.len())],
                )
                .into_owned()
            };
            anyhow::bail!(
                "relayed bytes differ from the PTY's output at byte {first} (base {base}, start {:?}, frames {}, duplicates {}):\n got: {:?}\nwant: {:?}",
                stream.start,
                stream.frames,
                stream.duplicates,
                context(received),
                context(&expected)
            );
        }
        anyhow::ensure!(stream.gaps == 0, "the viewer saw {} gaps", stream.gaps);
        let relay_rate = expected.len() as f64 / relay_secs / 1e6;
        println!(
            "run {run}: raw PTY {raw_rate:7.1} MB/s ({raw_secs:.3} s) | relay to viewer {relay_rate:7.1} MB/s ({relay_secs:.3} s, {} frames, every byte verified) | ratio {:.2}",
            stream.frames,
            relay_rate / raw_rate
        );
        raw_rates.push(raw_rate);
        relay_rates.push(relay_rate);
        let _ = viewer
            .emit_with_ack(
                "session:input",
                &json!({"sessionId": session, "data": "\r"}),
            )
            .await;
    }
    let mut ratios: Vec<f64> = relay_rates
        .iter()
        .zip(&raw_rates)
        .map(|(relay, raw)| relay / raw)
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median_ratio = ratios[ratios.len() / 2];
    let best_raw = raw_rates.iter().copied().fold(0.0, f64::max);
    let best_relay = relay_rates.iter().copied().fold(0.0, f64::max);
    let ratio = best_relay / best_raw;

    let session = api.spawn_ok(host.host.id, "bench-echo", &project).await.id;
    attach(&viewer, session).await;
    let mut latencies = Vec::with_capacity(samples);
    for index in 0..samples + 50 {
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
        anyhow::ensure!(reached, "viewer disconnected");
        if index >= 50 {
            latencies.push(start.elapsed());
        }
        if index % 100 == 99 {
            // Keep the line short; the newline's echo is waited for too.
            let before = viewer.next_offset(session);
            viewer
                .emit(
                    "session:input",
                    &json!({"sessionId": session, "data": "\r"}),
                )
                .await;
            tokio::time::timeout(
                Duration::from_secs(5),
                viewer.wait_offset(session, before + 2),
            )
            .await?;
        }
    }
    latencies.sort();
    let p50 = percentile(&latencies, 0.50);
    let p99 = percentile(&latencies, 0.99);

    println!();
    println!(
        "throughput: best relay {best_relay:.1} MB/s vs best raw PTY {best_raw:.1} MB/s = {:.0}% of raw; median of per-run ratios {:.0}% (target >= 70%)",
        ratio * 100.0,
        median_ratio * 100.0
    );
    println!(
        "keystroke echo over {samples} samples: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 <= 3 ms)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    let ok = median_ratio >= 0.70 && p99 <= Duration::from_millis(3);
    println!(
        "result: {}",
        if ok { "targets met" } else { "TARGETS MISSED" }
    );
    drop(stack);
    Ok(())
}
