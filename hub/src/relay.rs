//! The terminal-output relay: one bounded buffer per live session, fed by
//! its daemon, read by any number of viewers at their own pace.
//!
//! The daemon's frames are appended in arrival order (the Socket.IO handler
//! runs synchronously, see `daemons`). Each viewer is a task (`ui::Viewer`)
//! that pulls from the buffer from its own offset and emits to its own
//! socket only, so a slow viewer falls behind without slowing the daemon or
//! any other viewer; one too far behind is resynced with the session's
//! latest snapshot, which the relay keeps beside the buffer.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use flotilla_protocol::cursor::{Advance, StreamCursor};
use flotilla_protocol::{HostId, SessionId};
use tokio::sync::watch;

use crate::lock;

/// How much recent output each session keeps, in bytes.
pub const RETAINED_BYTES: usize = 1024 * 1024;

/// How much output an ended session keeps: what a late viewer needs to see
/// its final screen. The rest is freed when the session ends.
pub const ENDED_RETAINED_BYTES: usize = 64 * 1024;

/// How many ended sessions keep their final output; older ones are
/// forgotten (a viewer then sees the session's record without output), so
/// ended sessions hold at most this many × [`ENDED_RETAINED_BYTES`].
pub const MAX_ENDED_SESSIONS: usize = 256;

/// How much of the retained output a viewer is sent when no screen snapshot
/// can be had (the daemon is away and the session has none yet).
pub const REPLAY_BYTES: usize = 256 * 1024;

/// A session's screen at one offset, as its daemon rendered it, encoded
/// as the frame viewers are sent.
#[derive(Debug)]
pub struct Snapshot {
    /// The output offset the screen stands for.
    pub offset: u64,
    /// The PTY's size.
    pub size: flotilla_protocol::TermSize,
    /// The encoded [`flotilla_protocol::frame::SnapshotFrame`].
    pub frame: bytes::Bytes,
}

/// What a viewer needs a snapshot for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotNeed {
    /// Its first screen: one newer than all output when it asked, so the
    /// screen is exact with the fewest bytes.
    Attach,
    /// It fell too far behind: a recent one will do (see
    /// [`FRESH_SNAPSHOT_BYTES`]), so the viewers behind together share one.
    Resync,
}

/// A snapshot this close to the newest output serves a resync: it is sent,
/// and the rest follows from the buffer. So the viewers that resync at
/// about the same moment share one snapshot instead of each asking the
/// daemon to render its own.
pub const FRESH_SNAPSHOT_BYTES: u64 = 256 * 1024;

/// What happened to a pushed frame (the buffer's view of a
/// [`flotilla_protocol::cursor::Advance`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// New bytes were appended.
    Appended,
    /// Everything in the frame was already here.
    Duplicate,
    /// The frame started past the end: output between was lost.
    Gap {
        /// How many bytes are missing.
        missing: u64,
    },
}

/// Why a frame was refused. The buffer is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame would end past the largest offset a stream can have.
    #[error("frame at offset {offset} with {len} bytes ends past 2^64")]
    OffsetOverflow {
        /// The frame's offset.
        offset: u64,
        /// Its length.
        len: usize,
    },
}

/// The retained output of one session: contiguous bytes from `start`.
///
/// **Invariant:** `start + bytes.len()` is the cursor's offset, which never
/// exceeds `u64::MAX`: a frame that would end past it is refused
/// ([`Advance::OffsetOverflow`]) before anything changes, so every offset
/// computed from the buffer fits.
#[derive(Debug, Default)]
pub struct OutputBuffer {
    start: u64,
    bytes: VecDeque<u8>,
    capacity: usize,
    /// `None` until the first frame: after a hub restart the stream is
    /// picked up wherever the daemon's retained output begins.
    cursor: Option<StreamCursor>,
}

impl OutputBuffer {
    /// An empty buffer retaining at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        OutputBuffer {
            start: 0,
            bytes: VecDeque::new(),
            capacity,
            cursor: None,
        }
    }

    /// The offset just past the last retained byte.
    pub fn end(&self) -> u64 {
        // Cannot overflow: see the type's invariant.
        self.start + self.bytes.len() as u64
    }

    /// The offset of the first retained byte.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Appends the new part of a frame that starts at `offset`; refuses a
    /// frame whose end does not fit in a `u64`.
    pub fn push(&mut self, offset: u64, data: &[u8]) -> Result<PushOutcome, FrameError> {
        let mut cursor = self.cursor.unwrap_or(StreamCursor::at(offset));
        let (outcome, new_part) = match cursor.advance(offset, data.len()) {
            Advance::OffsetOverflow => {
                return Err(FrameError::OffsetOverflow {
                    offset,
                    len: data.len(),
                });
            }
            Advance::Duplicate => (PushOutcome::Duplicate, &data[..0]),
            Advance::Append { skip } => (PushOutcome::Appended, &data[skip..]),
            Advance::Gap { missing } => {
                self.bytes.clear();
                self.start = offset;
                (PushOutcome::Gap { missing }, data)
            }
        };
        if self.cursor.replace(cursor).is_none() {
            // The first frame: the buffer is empty and starts at it.
            self.start = offset;
        }
        self.bytes.extend(new_part);
        if self.bytes.len() > self.capacity {
            let excess = self.bytes.len() - self.capacity;
            self.bytes.drain(..excess);
            self.start += excess as u64;
        }
        debug_assert_eq!(self.end(), cursor.offset());
        Ok(outcome)
    }

    /// Keeps only the last `capacity` bytes, from now on too, and frees the
    /// rest of the allocation.
    pub fn shrink_to(&mut self, capacity: usize) {
        if self.bytes.len() > capacity {
            let excess = self.bytes.len() - capacity;
            self.bytes.drain(..excess);
            self.start += excess as u64;
        }
        self.capacity = capacity;
        self.bytes.shrink_to_fit();
    }

    /// Bytes allocated for the retained output.
    pub fn allocated(&self) -> usize {
        self.bytes.capacity()
    }

    /// Copies up to `max` bytes starting at `from` (or at the buffer's start
    /// when `from` is older). Returns the offset of the first copied byte.
    pub fn read(&self, from: u64, max: usize) -> (u64, Vec<u8>) {
        let from = from.max(self.start);
        let skip = usize::try_from(from - self.start).unwrap_or(usize::MAX);
        if skip >= self.bytes.len() {
            return (from, Vec::new());
        }
        let take = max.min(self.bytes.len() - skip);
        let (a, b) = self.bytes.as_slices();
        let mut out = Vec::with_capacity(take);
        if skip < a.len() {
            let first = &a[skip..a.len().min(skip + take)];
            out.extend_from_slice(first);
            out.extend_from_slice(&b[..take - first.len()]);
        } else {
            out.extend_from_slice(&b[skip - a.len()..skip - a.len() + take]);
        }
        (from, out)
    }
}

/// The relay state of one session.
pub struct SessionRelay {
    /// The host whose daemon alone may publish this session's output.
    pub host_id: HostId,
    /// The session.
    pub session_id: SessionId,
    /// Short critical sections only (append or copy), never held across
    /// an `.await`, so a std mutex is the right tool; a panic while it is
    /// held leaves the buffer consistent, so it is recovered, not poisoned.
    buffer: Mutex<OutputBuffer>,
    /// The end offset, so viewers wake when output arrives.
    end: watch::Sender<u64>,
    /// Set once the process has exited; input is refused from then on.
    ended: AtomicBool,
    /// The latest screen snapshot the daemon sent, so waiting viewers wake
    /// when one arrives; an ended session keeps its final one.
    snapshot: watch::Sender<Option<Arc<Snapshot>>>,
    /// Who drives the PTY's size; see [`crate::terminal`].
    pub sizes: Mutex<crate::sizes::Sizes>,
    /// When the daemon was last asked for a snapshot that has not come
    /// yet, so viewers needing one at the same time ask once.
    snapshot_asked: Mutex<Option<std::time::Instant>>,
}

impl SessionRelay {
    fn new(session_id: SessionId, host_id: HostId) -> Self {
        SessionRelay {
            host_id,
            session_id,
            buffer: Mutex::new(OutputBuffer::new(RETAINED_BYTES)),
            end: watch::Sender::new(0),
            ended: AtomicBool::new(false),
            snapshot: watch::Sender::new(None),
            sizes: Mutex::new(crate::sizes::Sizes::default()),
            snapshot_asked: Mutex::new(None),
        }
    }

    /// Keeps the daemon's latest snapshot and wakes the viewers waiting
    /// for one. Its size becomes the PTY's only when the hub knows none
    /// (after a hub restart): a resize the hub sent may still be on its way,
    /// and the snapshot was rendered before it.
    pub fn set_snapshot(&self, snapshot: Snapshot) {
        lock(&self.sizes).size.get_or_insert(snapshot.size);
        *lock(&self.snapshot_asked) = None;
        self.snapshot.send_replace(Some(Arc::new(snapshot)));
    }

    /// Whether `snapshot` serves a viewer that needs one for `need` and
    /// asked when the output ended at `wanted_from`: an ended session's
    /// final one always does; otherwise one at or past `wanted_from`, or
    /// for a resync one within [`FRESH_SNAPSHOT_BYTES`] of the newest
    /// output, still retained, at the size in force (output after a resize
    /// was written for the new size).
    pub fn serves(&self, snapshot: &Snapshot, need: SnapshotNeed, wanted_from: u64) -> bool {
        if self.is_ended() || snapshot.offset >= wanted_from {
            return true;
        }
        let (start, end) = self.range();
        need == SnapshotNeed::Resync
            && lock(&self.sizes).size == Some(snapshot.size)
            && snapshot.offset >= start
            && end.saturating_sub(snapshot.offset) <= FRESH_SNAPSHOT_BYTES
    }

    /// Forgets a claimed request that could not be sent.
    pub fn forget_snapshot_request(&self) {
        *lock(&self.snapshot_asked) = None;
    }

    /// Whether the caller should ask the daemon for a snapshot: true unless
    /// a request made less than `patience` ago is still unanswered (then
    /// the caller waits for that one). A true answer counts as the request.
    pub fn claim_snapshot_request(&self, patience: std::time::Duration) -> bool {
        let mut asked = lock(&self.snapshot_asked);
        let now = std::time::Instant::now();
        match *asked {
            Some(at) if now.duration_since(at) < patience => false,
            _ => {
                *asked = Some(now);
                true
            }
        }
    }

    /// The latest snapshot, if any.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshot.borrow().clone()
    }

    /// A receiver that changes whenever a snapshot arrives.
    pub fn subscribe_snapshots(&self) -> watch::Receiver<Option<Arc<Snapshot>>> {
        self.snapshot.subscribe()
    }

    /// Records that the process exited and frees all but the final
    /// [`ENDED_RETAINED_BYTES`] of its output. Returns whether it was live.
    fn mark_ended(&self) -> bool {
        let was_live = !self.ended.swap(true, Ordering::AcqRel);
        lock(&self.buffer).shrink_to(ENDED_RETAINED_BYTES);
        was_live
    }

    /// Bytes allocated for this session's output and its snapshot.
    pub fn allocated(&self) -> usize {
        let snapshot = self.snapshot().map_or(0, |snapshot| snapshot.frame.len());
        lock(&self.buffer).allocated() + snapshot
    }

    /// Whether the process exited.
    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Appends a frame's data and wakes the viewers.
    pub fn push(&self, offset: u64, data: &[u8]) -> Result<PushOutcome, FrameError> {
        let (outcome, end) = {
            let mut buffer = lock(&self.buffer);
            (buffer.push(offset, data)?, buffer.end())
        };
        if outcome != PushOutcome::Duplicate {
            self.end.send_replace(end);
        }
        Ok(outcome)
    }

    /// Copies retained output from `from`; see [`OutputBuffer::read`].
    pub fn read(&self, from: u64, max: usize) -> (u64, Vec<u8>) {
        lock(&self.buffer).read(from, max)
    }

    /// The retained range `(start, end)`.
    pub fn range(&self) -> (u64, u64) {
        let buffer = lock(&self.buffer);
        (buffer.start(), buffer.end())
    }

    /// A receiver that changes whenever output is appended.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.end.subscribe()
    }
}

/// Every session the hub relays, live or recently ended.
#[derive(Default)]
pub struct Relay {
    /// Short map operations only; never held across an `.await`.
    sessions: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    by_id: HashMap<SessionId, Arc<SessionRelay>>,
    /// Ended sessions that still keep output, oldest first.
    ended: VecDeque<SessionId>,
}

impl Relay {
    /// The relay of a session, creating it for `host_id` if needed. Returns
    /// `None` when the session is relayed for another host.
    pub fn open(&self, session_id: SessionId, host_id: HostId) -> Option<Arc<SessionRelay>> {
        let mut sessions = lock(&self.sessions);
        let relay = sessions
            .by_id
            .entry(session_id)
            .or_insert_with(|| Arc::new(SessionRelay::new(session_id, host_id)));
        (relay.host_id == host_id).then(|| relay.clone())
    }

    /// The relay of a session, if the hub has one.
    pub fn get(&self, session_id: SessionId) -> Option<Arc<SessionRelay>> {
        lock(&self.sessions).by_id.get(&session_id).cloned()
    }

    /// Forgets a session's output (its host was deleted).
    pub fn remove(&self, session_id: SessionId) {
        let mut sessions = lock(&self.sessions);
        sessions.by_id.remove(&session_id);
        sessions.ended.retain(|id| *id != session_id);
    }

    /// Marks a session ended: input is refused from now on, its output
    /// shrinks to the final [`ENDED_RETAINED_BYTES`], and beyond
    /// [`MAX_ENDED_SESSIONS`] the oldest ended session is forgotten.
    pub fn end(&self, session_id: SessionId) {
        let Some(relay) = self.get(session_id) else {
            return;
        };
        if !relay.mark_ended() {
            return;
        }
        let mut sessions = lock(&self.sessions);
        sessions.ended.push_back(session_id);
        while sessions.ended.len() > MAX_ENDED_SESSIONS {
            if let Some(oldest) = sessions.ended.pop_front() {
                sessions.by_id.remove(&oldest);
            }
        }
    }

    /// Bytes allocated for all sessions' output.
    pub fn allocated(&self) -> usize {
        let relays: Vec<_> = lock(&self.sessions).by_id.values().cloned().collect();
        relays.iter().map(|relay| relay.allocated()).sum()
    }

    /// How many sessions the relay holds.
    pub fn len(&self) -> usize {
        lock(&self.sessions).by_id.len()
    }

    /// Whether the relay holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
