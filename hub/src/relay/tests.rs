//! Tests of the output buffer's offset arithmetic.

use super::*;

fn check(pushes: &[(u64, &str)], capacity: usize, expect_range: (u64, u64), expect_text: &str) {
    let mut buffer = OutputBuffer::new(capacity);
    for (offset, data) in pushes {
        buffer.push(*offset, data.as_bytes()).unwrap();
    }
    assert_eq!((buffer.start(), buffer.end()), expect_range);
    let (from, bytes) = buffer.read(0, usize::MAX);
    assert_eq!(from, expect_range.0);
    assert_eq!(String::from_utf8(bytes).unwrap(), expect_text);
}

#[test]
fn contiguous_frames_append() {
    check(&[(0, "abc"), (3, "def")], 100, (0, 6), "abcdef");
}

#[test]
fn duplicates_and_overlaps_are_dropped() {
    check(&[(0, "abc"), (0, "abc"), (1, "bcde")], 100, (0, 5), "abcde");
}

#[test]
fn first_frame_sets_the_start_after_a_hub_restart() {
    check(&[(1000, "xyz")], 100, (1000, 1003), "xyz");
}

#[test]
fn gaps_restart_the_buffer_and_are_reported() {
    let mut buffer = OutputBuffer::new(100);
    assert_eq!(buffer.push(0, b"ab"), Ok(PushOutcome::Appended));
    assert_eq!(buffer.push(5, b"cd"), Ok(PushOutcome::Gap { missing: 3 }));
    assert_eq!(buffer.push(5, b"cd"), Ok(PushOutcome::Duplicate));
    assert_eq!((buffer.start(), buffer.end()), (5, 7));
}

#[test]
fn empty_frames_at_or_before_the_end_are_duplicates() {
    // An empty frame before the end used to panic slicing past its data.
    let mut buffer = OutputBuffer::new(100);
    assert_eq!(buffer.push(0, b"abc"), Ok(PushOutcome::Appended));
    assert_eq!(buffer.push(1, b""), Ok(PushOutcome::Duplicate));
    assert_eq!(buffer.push(3, b""), Ok(PushOutcome::Duplicate));
    assert_eq!((buffer.start(), buffer.end()), (0, 3));
    assert_eq!(buffer.push(3, b"d"), Ok(PushOutcome::Appended));
    assert_eq!(buffer.read(0, 10), (0, b"abcd".to_vec()));
}

#[test]
fn an_empty_first_frame_sets_the_start() {
    let mut buffer = OutputBuffer::new(100);
    assert_eq!(buffer.push(1000, b""), Ok(PushOutcome::Duplicate));
    assert_eq!((buffer.start(), buffer.end()), (1000, 1000));
    assert_eq!(buffer.push(1000, b"xyz"), Ok(PushOutcome::Appended));
    assert_eq!((buffer.start(), buffer.end()), (1000, 1003));
}

#[test]
fn a_refused_first_frame_does_not_start_the_stream() {
    let mut buffer = OutputBuffer::new(100);
    assert!(buffer.push(u64::MAX, b"x").is_err());
    assert_eq!(buffer.push(5, b"ab"), Ok(PushOutcome::Appended));
    assert_eq!((buffer.start(), buffer.end()), (5, 7));
}

#[test]
fn capacity_trims_the_oldest_bytes() {
    check(&[(0, "abcdef"), (6, "ghij")], 4, (6, 10), "ghij");
    check(&[(0, "abc"), (3, "de")], 4, (1, 5), "bcde");
}

#[test]
fn reads_clamp_to_the_retained_range_and_span_the_ring_seam() {
    let mut buffer = OutputBuffer::new(4);
    buffer.push(0, b"abcd").unwrap();
    buffer.push(4, b"ef").unwrap(); // the deque now wraps around
    assert_eq!(buffer.read(0, 10), (2, b"cdef".to_vec()));
    assert_eq!(buffer.read(3, 2), (3, b"de".to_vec()));
    assert_eq!(buffer.read(6, 10), (6, Vec::new()));
    assert_eq!(buffer.read(99, 10), (99, Vec::new()));
}

#[test]
fn a_session_is_relayed_for_one_host_only() {
    let relay = Relay::default();
    let session = SessionId::new();
    let (owner, other) = (HostId::new(), HostId::new());
    assert!(relay.open(session, owner).is_some());
    assert!(relay.open(session, other).is_none());
    assert!(relay.open(session, owner).is_some());
}

#[test]
fn frames_ending_past_2_pow_64_are_refused_and_change_nothing() {
    let mut buffer = OutputBuffer::new(100);
    buffer.push(0, b"abc").unwrap();
    for offset in [u64::MAX - 1, u64::MAX] {
        assert_eq!(
            buffer.push(offset, b"xyz"),
            Err(FrameError::OffsetOverflow { offset, len: 3 })
        );
    }
    assert_eq!((buffer.start(), buffer.end()), (0, 3));
    assert_eq!(buffer.push(3, b"def"), Ok(PushOutcome::Appended));
    // A frame that ends exactly at 2^64 - 1 fits, and nothing after it does.
    assert_eq!(
        buffer.push(u64::MAX - 3, b"end"),
        Ok(PushOutcome::Gap {
            missing: u64::MAX - 3 - 6
        })
    );
    assert_eq!(buffer.end(), u64::MAX);
    assert_eq!(
        buffer.read(u64::MAX - 3, 10),
        (u64::MAX - 3, b"end".to_vec())
    );
    assert!(buffer.push(u64::MAX, b"!").is_err());
}

#[test]
fn a_refused_frame_leaves_the_session_usable() {
    let relay = Relay::default();
    let session = SessionId::new();
    let host = HostId::new();
    let relay = relay.open(session, host).unwrap();
    relay.push(0, b"ok").unwrap();
    assert!(relay.push(u64::MAX - 1, b"boom").is_err());
    assert_eq!(relay.push(2, b"!"), Ok(PushOutcome::Appended));
    assert_eq!(relay.read(0, 10), (0, b"ok!".to_vec()));
}

/// The resident set of this test process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn ended_sessions_keep_only_their_final_output_within_a_bound() {
    const SESSIONS: usize = 500;
    let relay = Relay::default();
    let host = HostId::new();
    let chunk = vec![b'x'; 64 * 1024];
    let rss_before = rss_kib();
    let mut last = None;
    for _ in 0..SESSIONS {
        let session = SessionId::new();
        let live = relay.open(session, host).unwrap();
        // A full buffer's worth of output, ending in a recognisable tail.
        for n in 0..RETAINED_BYTES / chunk.len() {
            live.push((n * chunk.len()) as u64, &chunk).unwrap();
        }
        live.push(RETAINED_BYTES as u64, b"final screen").unwrap();
        relay.end(session);
        assert!(live.is_ended());
        last = Some((session, live));
    }
    let allocated = relay.allocated();
    let rss_after = rss_kib();
    println!(
        "{SESSIONS} ended sessions of 1 MiB output each: relay holds {} KiB in {} sessions; \
         process RSS {rss_before} -> {rss_after} KiB",
        allocated / 1024,
        relay.len()
    );
    assert_eq!(relay.len(), MAX_ENDED_SESSIONS);
    assert!(
        allocated <= MAX_ENDED_SESSIONS * (ENDED_RETAINED_BYTES + 4096),
        "{allocated} bytes retained"
    );
    // A late viewer of the newest ended session still gets its final output.
    let (session, live) = last.unwrap();
    let kept = relay.get(session).unwrap();
    assert!(Arc::ptr_eq(&kept, &live));
    let (start, end) = kept.range();
    assert_eq!(end - start, ENDED_RETAINED_BYTES as u64);
    let (_, tail) = kept.read(end - 12, 100);
    assert_eq!(tail, b"final screen");
}

fn snapshot_at(offset: u64, cols: u16) -> Snapshot {
    Snapshot {
        offset,
        size: flotilla_protocol::TermSize { cols, rows: 24 },
        frame: bytes::Bytes::new(),
    }
}

#[test]
fn an_attach_needs_a_snapshot_past_its_request_and_a_resync_shares_a_recent_one() {
    let relay = Relay::default();
    let relay = relay.open(SessionId::new(), HostId::new()).unwrap();
    let end = 4 * FRESH_SNAPSHOT_BYTES;
    relay.push(0, &vec![b'x'; end as usize]).unwrap();
    relay.set_snapshot(snapshot_at(end - FRESH_SNAPSHOT_BYTES, 80));
    let recent = snapshot_at(end - FRESH_SNAPSHOT_BYTES, 80);
    let stale = snapshot_at(end - FRESH_SNAPSHOT_BYTES - 1, 80);
    let other_size = snapshot_at(end - 10, 100);
    let newer = snapshot_at(end, 80);
    // An attach: only one at or past what the output was when it asked.
    assert!(!relay.serves(&recent, SnapshotNeed::Attach, end));
    assert!(relay.serves(&newer, SnapshotNeed::Attach, end));
    // A resync: also a recent one at the size in force.
    assert!(relay.serves(&recent, SnapshotNeed::Resync, end));
    assert!(!relay.serves(&stale, SnapshotNeed::Resync, end));
    assert!(!relay.serves(&other_size, SnapshotNeed::Resync, end));
    // An ended session's final snapshot serves everyone.
    relay.mark_ended();
    assert!(relay.serves(&stale, SnapshotNeed::Attach, end));
}

#[test]
fn one_snapshot_request_at_a_time_until_a_snapshot_comes() {
    let relay = Relay::default();
    let relay = relay.open(SessionId::new(), HostId::new()).unwrap();
    let patience = std::time::Duration::from_secs(60);
    assert!(relay.claim_snapshot_request(patience));
    assert!(
        !relay.claim_snapshot_request(patience),
        "a request is on its way"
    );
    relay.set_snapshot(snapshot_at(0, 80));
    assert!(
        relay.claim_snapshot_request(patience),
        "answered: ask again"
    );
    relay.forget_snapshot_request();
    assert!(
        relay.claim_snapshot_request(patience),
        "a request that was not sent"
    );
    // A request unanswered for longer than the patience is asked again.
    assert!(relay.claim_snapshot_request(std::time::Duration::ZERO));
}
