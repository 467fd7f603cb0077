//! A bounded ring of a session's most recent output, indexed by stream
//! offset, so output can be resent after the hub reconnects.

use std::collections::VecDeque;

/// Default ring capacity per session.
pub const DEFAULT_RING_BYTES: usize = 2 * 1024 * 1024;

/// The last `capacity` bytes of a stream plus the offset of the first one.
#[derive(Debug, Clone)]
pub struct OutputRing {
    start: u64,
    bytes: VecDeque<u8>,
    capacity: usize,
}

impl OutputRing {
    /// An empty ring at offset 0.
    pub fn new(capacity: usize) -> Self {
        OutputRing {
            start: 0,
            bytes: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Appends `data`, evicting the oldest bytes beyond the capacity, and
    /// returns the stream offset of `data[0]`.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        let offset = self.end();
        self.bytes.extend(data);
        let excess = self.bytes.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.start += excess as u64;
        }
        offset
    }

    /// The offset of the oldest retained byte.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The offset just past the newest byte: the total bytes ever pushed.
    pub fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    /// Up to `max` retained bytes from `offset` (clamped to [`Self::start`]),
    /// with the offset they actually start at; `None` when nothing is left.
    pub fn read_from(&self, offset: u64, max: usize) -> Option<(u64, Vec<u8>)> {
        let from = offset.max(self.start);
        if from >= self.end() {
            return None;
        }
        let skip = usize::try_from(from - self.start).ok()?;
        let data: Vec<u8> = self.bytes.iter().skip(skip).take(max).copied().collect();
        Some((from, data))
    }
}
