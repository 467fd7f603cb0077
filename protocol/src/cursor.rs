//! Offset arithmetic of an output stream: where a receiver is, and what of
//! a frame at some offset is new to it.
//!
//! Every frame of a session's output names the offset of its first byte
//! (see [`crate::frame`]). Each receiver of those frames (the hub's relay
//! buffer, the daemon's link when it resends retained output, the
//! integration harness's viewer and the browser's terminal view) keeps a
//! [`StreamCursor`] and asks it, per frame, whether to append all of it, the
//! tail of it, nothing, or all of it after a gap. This is the one home of
//! that rule; `tests/vectors/stream_cursor.json` holds golden cases that
//! the frontend's `advanceCursor` (`frontend/src/frames.ts`) is tested
//! against too.

/// The offset just past the last byte a receiver accepted.
///
/// It only moves forward: an accepted frame moves it to the frame's end,
/// a duplicate or a refused frame leaves it where it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StreamCursor {
    offset: u64,
}

/// What [`StreamCursor::advance`] made of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// The frame continues the stream. Its first `skip` bytes were already
    /// accepted (a frame resent after a reconnect overlaps); the rest is
    /// new. The cursor moved to the frame's end.
    Append {
        /// How many leading bytes of the frame to drop; less than its length.
        skip: usize,
    },
    /// Every byte of the frame was already accepted; this includes an empty
    /// frame at or before the cursor. The cursor did not move.
    Duplicate,
    /// The frame starts past the cursor: `missing` bytes between them were
    /// lost. All of the frame is new, and the cursor moved to its end.
    Gap {
        /// How many bytes are missing before the frame.
        missing: u64,
    },
    /// The frame would end past the largest offset a stream can have
    /// (`offset + len > u64::MAX`). It is refused; the cursor did not move.
    OffsetOverflow,
}

impl StreamCursor {
    /// A cursor at the start of a stream (offset 0).
    pub const fn new() -> Self {
        StreamCursor { offset: 0 }
    }

    /// A cursor that has accepted everything before `offset`. A receiver
    /// that joins a stream late (a viewer attaching, the hub after a
    /// restart) starts at its first frame's offset, so what came before is
    /// history it never had, not a gap.
    pub const fn at(offset: u64) -> Self {
        StreamCursor { offset }
    }

    /// The offset of the next byte expected: just past the last accepted
    /// one.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Decides what of a frame of `len` bytes starting at `offset` is new,
    /// and moves the cursor past it unless it is a duplicate or refused.
    pub fn advance(&mut self, offset: u64, len: usize) -> Advance {
        let Some(end) = u64::try_from(len)
            .ok()
            .and_then(|len| offset.checked_add(len))
        else {
            return Advance::OffsetOverflow;
        };
        if end <= self.offset {
            return Advance::Duplicate;
        }
        let advance = if offset > self.offset {
            Advance::Gap {
                missing: offset - self.offset,
            }
        } else {
            // `offset <= self.offset < end`, so the skip is shorter than
            // `len` and fits in a `usize`.
            Advance::Append {
                skip: usize::try_from(self.offset - offset).expect("skip is less than len"),
            }
        };
        self.offset = end;
        advance
    }
}

#[cfg(test)]
mod tests;
