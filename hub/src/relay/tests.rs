//! Tests of the output buffer's offset arithmetic.

use super::*;

fn check(pushes: &[(u64, &str)], capacity: usize, expect_range: (u64, u64), expect_text: &str) {
    let mut buffer = OutputBuffer::new(capacity);
    for (offset, data) in pushes {
        buffer.push(*offset, data.as_bytes());
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
    assert_eq!(buffer.push(0, b"ab"), PushOutcome::Appended);
    assert_eq!(buffer.push(5, b"cd"), PushOutcome::Gap { missing: 3 });
    assert_eq!(buffer.push(5, b"cd"), PushOutcome::Duplicate);
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
    buffer.push(0, b"abcd");
    buffer.push(4, b"ef"); // the deque now wraps around
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
