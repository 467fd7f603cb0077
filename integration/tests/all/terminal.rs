//! Exact terminals through the real binaries: viewers get the daemon's
//! screen snapshot on attach and after falling behind, reconnect from their
//! offset, never slow each other, and terminal queries are answered once by
//! the daemon. A viewer's screen is the daemon's screen model type fed what
//! that viewer received (`socket::ViewerScreen`), as xterm.js would be.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flotilla_integration::{LogTail, Stack, UiSocket, wait_until};
use flotilla_protocol::SessionId;
use serde_json::json;

use crate::live_loop::{attach, type_text};

/// A command that prints about `lines` × 78 bytes of coloured, numbered
/// lines and then `marker-42` (the arithmetic keeps the typed command line
/// itself from matching).
fn flood(lines: u64, marker: &str) -> String {
    format!(
        "awk 'BEGIN{{for(i=0;i<{lines};i++)printf \"\\033[3%dmline %07d\\033[0m \\033[1m%s\\033[0m\\n\", i%8, i, \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}'; echo {marker}-$((6*7))\r"
    )
}

/// Waits, up to [`FLOOD_DEADLINE`], until the viewer's terminal shows
/// `needle` on some row.
async fn wait_screen(stack: &Stack, viewer: &UiSocket, session: SessionId, needle: &str) {
    let deadline = Instant::now() + FLOOD_DEADLINE;
    loop {
        let rows = viewer.screen(session).text();
        if rows.iter().any(|row| row.contains(needle)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} on screen in {FLOOD_DEADLINE:?}: {rows:#?}\nhub: {}\ndaemon: {}",
            stack.hub.tail(20),
            stack.daemon.tail(20)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long a flood may take here: debug binaries, two cores shared with
/// the other tests.
const FLOOD_DEADLINE: Duration = Duration::from_secs(240);

/// Waits, up to [`FLOOD_DEADLINE`], until `path` exists.
async fn wait_file(stack: &Stack, path: &Path) {
    let deadline = Instant::now() + FLOOD_DEADLINE;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear in {FLOOD_DEADLINE:?}; hub: {}",
            path.display(),
            stack.hub.tail(20)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_attaching_after_50_mb_of_output_sees_the_exact_screen_at_once() {
    let stack = Stack::start().await;
    let session = stack.spawn_bash().await;
    // Nobody watches the flood; the command leaves a file when done.
    let typist = stack.viewer().await;
    let done = stack.workspace.project().join(".flood-done");
    let lines = 680_000;
    let command = flood(lines, "FLOOD-DONE").replace('\r', "; touch .flood-done\r");
    type_text(&typist, session, &command).await;
    wait_file(&stack, &done).await;

    let late = stack.viewer().await;
    attach(&late, session).await;
    wait_screen(&stack, &late, session, "FLOOD-DONE-42").await;
    let state = late.stream(session);
    assert_eq!(state.snapshots, 1, "one snapshot, no backlog");
    let (offset, size, data) = state.last_snapshot.clone().expect("a snapshot");
    assert!(offset > 50_000_000, "only {offset} bytes of output");
    assert!(
        data.len() <= 256 * 1024,
        "a {}-byte snapshot for 50 MB of history",
        data.len()
    );
    assert_eq!(Some(size), late.screen(session).size());
    // The screen is the end of the flood, exactly: its last lines in
    // order, then the marker.
    let rows = late.screen(session).text();
    let marker = rows
        .iter()
        .position(|row| row == "FLOOD-DONE-42")
        .unwrap_or_else(|| panic!("{rows:#?}"));
    assert!(marker >= 20, "{rows:#?}");
    for back in 1..=20 {
        let expected = format!("line {:07} {}", lines - back, "x".repeat(46));
        assert_eq!(rows[marker - back as usize], expected, "{rows:#?}");
    }
    // At most the prompt came after the snapshot.
    assert!(late.next_offset(session) - offset < 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_reconnects_during_output_ends_with_the_same_screen() {
    let stack = Stack::start().await;
    let session = stack.spawn_bash().await;
    let steady = stack.viewer().await;
    attach(&steady, session).await;
    let flaky = stack.viewer().await;
    attach(&flaky, session).await;
    type_text(&steady, session, &flood(150_000, "RECONNECT-DONE")).await;
    wait_until("output under way", &stack.logs(), || {
        let offset = flaky.next_offset(session);
        async move {
            if offset > 1_000_000 {
                Ok(())
            } else {
                Err(format!("{offset} bytes so far"))
            }
        }
    })
    .await;
    // The tab's connection drops; its terminal stays as it was.
    let kept = flaky.stream(session);
    flaky.disconnect().await;
    let since = kept.next_offset();
    let back = stack.viewer().await;
    back.adopt(session, kept);
    let reply = back
        .emit_with_ack(
            "session:attach",
            &json!({"sessionId": session, "since": since.to_string()}),
        )
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    wait_screen(&stack, &back, session, "RECONNECT-DONE-42").await;
    wait_screen(&stack, &steady, session, "RECONNECT-DONE-42").await;
    let resumed = back.stream(session);
    assert_eq!(resumed.gaps, 0, "never a gap");
    assert_eq!(
        back.screen(session).text(),
        steady.screen(session).text(),
        "the reconnected screen equals the never-disconnected one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_stops_reading_holds_nobody_up_and_recovers_with_a_snapshot() {
    let stack = Stack::start().await;
    let session = stack.spawn_bash().await;
    let stalled = stack.viewer().await;
    attach(&stalled, session).await;
    let reader = stack.viewer().await;
    attach(&reader, session).await;
    wait_until("both viewers attached", &stack.logs(), || {
        let (a, b) = (stalled.snapshots(session), reader.snapshots(session));
        async move {
            if a == 1 && b == 1 {
                Ok(())
            } else {
                Err(format!("snapshots: {a} and {b}"))
            }
        }
    })
    .await;
    // The stalled viewer's terminal stops acknowledging: it is busy.
    stalled.auto_ack.store(false, Ordering::Relaxed);
    let start = stalled.next_offset(session);
    type_text(&reader, session, &flood(130_000, "STALL-DONE")).await;
    wait_screen(&stack, &reader, session, "STALL-DONE-42").await;
    let total = reader.next_offset(session);
    assert!(total - start > 9_000_000, "{} bytes", total - start);
    // It was sent no more than the window (plus one frame in flight).
    let stalled_got = stalled.next_offset(session) - start;
    assert!(
        stalled_got <= 512 * 1024 + 256 * 1024,
        "a stalled viewer was sent {stalled_got} bytes"
    );

    // It catches up on what it was sent and acknowledges: the hub sends a
    // fresh snapshot instead of 9 MB of backlog.
    stalled.auto_ack.store(true, Ordering::Relaxed);
    let offset = stalled.next_offset(session);
    stalled
        .emit(
            "session:ack",
            &json!({"sessionId": session, "offset": offset.to_string()}),
        )
        .await;
    wait_screen(&stack, &stalled, session, "STALL-DONE-42").await;
    assert_eq!(stalled.snapshots(session), 2);
    assert_eq!(
        stalled.screen(session).text(),
        reader.screen(session).text()
    );
}

/// Bash reads the terminal's answers to a DA1 and a CPR query and prints
/// them in a readable form, with whatever else arrived within a second
/// (a second answer would), then `marker-42`.
fn queries(marker: &str) -> String {
    format!(
        "stty -echo; printf '\\033[c'; IFS= read -r -s -d c -t 3 da; printf '\\033[6n'; IFS= read -r -s -d R -t 3 cpr; IFS= read -r -s -t 1 rest; stty echo; echo \"DA=${{da#*[}}c CPR=${{cpr#*[}}R REST=[${{rest}}]\" | tr -d '\\033'; echo {marker}-$((6*7))\r"
    )
}

/// The row the query program printed (not its command line, which holds
/// the same words with `${`).
fn answers(rows: &[String]) -> Option<&String> {
    rows.iter()
        .find(|row| row.contains("DA=") && row.contains(" CPR=") && !row.contains("${"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_answers_terminal_queries_once_with_or_without_viewers() {
    let stack = Stack::start().await;
    let session = stack.spawn_bash().await;
    // No viewer attached: a socket only types.
    let typist = stack.viewer().await;
    type_text(&typist, session, &queries("ALONE")).await;
    let watcher = stack.viewer().await;
    attach(&watcher, session).await;
    wait_screen(&stack, &watcher, session, "ALONE-42").await;
    let rows = watcher.screen(session).text();
    let answer = answers(&rows).unwrap_or_else(|| panic!("no answers on screen: {rows:#?}"));
    assert!(answer.contains("DA=?6c CPR="), "{answer}");
    assert!(
        answer.ends_with("REST=[]"),
        "answered more than once: {answer}"
    );

    // With two viewers attached the program still gets one answer each.
    let second = stack.viewer().await;
    attach(&second, session).await;
    type_text(&typist, session, "clear\r").await;
    type_text(&typist, session, &queries("WATCHED")).await;
    for viewer in [&watcher, &second] {
        wait_screen(&stack, viewer, session, "WATCHED-42").await;
        let rows = viewer.screen(session).text();
        let answer = answers(&rows).unwrap_or_else(|| panic!("no answers on screen: {rows:#?}"));
        assert!(answer.contains("DA=?6c CPR="), "{answer}");
        assert!(
            answer.ends_with("REST=[]"),
            "answered more than once: {answer}"
        );
    }
    // The second viewer's snapshot went to it alone.
    assert_eq!(watcher.snapshots(session), 1);
    assert_eq!(second.snapshots(session), 1);
}

async fn resize(viewer: &UiSocket, session: SessionId, cols: u16, rows: u16) {
    let reply = viewer
        .emit_with_ack(
            "session:resize",
            &json!({"sessionId": session, "size": {"cols": cols, "rows": rows}}),
        )
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
}

/// The last `session:resized` a viewer was told.
async fn told(stack: &Stack, viewer: &UiSocket, cols: u16, rows: u16, driver: bool) {
    let expected = json!({"cols": cols, "rows": rows});
    wait_until("a size announcement", &stack.logs(), || {
        let last = viewer.events("session:resized").last().cloned();
        let expected = expected.clone();
        async move {
            match last {
                Some(event) if event["size"] == expected && event["driver"] == driver => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_who_typed_last_drives_the_size_and_every_viewer_is_told() {
    let stack = Stack::start().await;
    let session = stack.spawn_bash().await;
    let desk = stack.viewer().await;
    attach(&desk, session).await;
    resize(&desk, session, 120, 40).await;
    told(&stack, &desk, 120, 40, true).await;
    type_text(&desk, session, "echo A-$((1+1)) $(stty size)\r").await;
    stack.wait_output(&desk, session, "A-2 40 120").await;

    // A phone attaches with its own size: it is told the desk's, and the
    // PTY keeps it.
    let phone = stack.viewer().await;
    attach(&phone, session).await;
    told(&stack, &phone, 120, 40, false).await;
    resize(&phone, session, 52, 30).await;
    type_text(&desk, session, "echo B-$((1+1)) $(stty size)\r").await;
    stack.wait_output(&desk, session, "B-2 40 120").await;

    // The phone types: its size applies, and both are told.
    type_text(&phone, session, "echo C-$((1+1)) $(stty size)\r").await;
    stack.wait_output(&phone, session, "C-2 30 52").await;
    told(&stack, &phone, 52, 30, true).await;
    told(&stack, &desk, 52, 30, false).await;

    // The phone leaves: the desk's size comes back.
    let reply = phone
        .emit_with_ack("session:detach", &json!({"sessionId": session}))
        .await;
    assert_eq!(reply["type"], "ok", "{reply}");
    told(&stack, &desk, 120, 40, true).await;
    type_text(&desk, session, "echo D-$((1+1)) $(stty size)\r").await;
    stack.wait_output(&desk, session, "D-2 40 120").await;
}
