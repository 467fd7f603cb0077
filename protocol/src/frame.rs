//! Binary terminal-output frames.
//!
//! Output is the hot path, so it does not go through JSON: the daemon emits
//! `session:output` with one binary attachment holding an [`OutputFrame`], and
//! the hub forwards frames of the same layout to browsers. Every frame names
//! its session and the byte offset of its first byte in that session's output
//! stream, so a receiver can drop duplicates and see gaps exactly.
//!
//! Layout (all integers big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 0 | [`FRAME_VERSION`] |
//! | 1..17 | session id (UUID bytes) |
//! | 17..25 | offset (u64) |
//! | 25.. | terminal output bytes |

use thiserror::Error;
use uuid::Uuid;

use crate::SessionId;

/// The first byte of every frame; bumped if the layout changes.
pub const FRAME_VERSION: u8 = 1;

/// The size of the header before the data.
pub const FRAME_HEADER_LEN: usize = 25;

/// Largest data part a frame may carry. Daemons flush at 64 KiB
/// (`session::FLUSH_BYTES`), so this
/// leaves room for one read past the threshold.
pub const MAX_FRAME_DATA: usize = 256 * 1024;

/// A chunk of one session's terminal output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFrame<'a> {
    /// The session the output belongs to.
    pub session_id: SessionId,
    /// Offset of `data[0]` in the session's output stream.
    pub offset: u64,
    /// The raw bytes the PTY produced.
    pub data: &'a [u8],
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// Fewer bytes than a header.
    #[error("frame is {len} bytes, shorter than its header")]
    TooShort {
        /// The length received.
        len: usize,
    },
    /// The first byte is not the kind's version ([`FRAME_VERSION`] or
    /// [`SNAPSHOT_FRAME_VERSION`]).
    #[error("frame version {found} is not supported")]
    UnknownVersion {
        /// The version byte received.
        found: u8,
    },
    /// The data part is larger than [`MAX_FRAME_DATA`] (an output frame) or
    /// [`MAX_SNAPSHOT_DATA`] (a snapshot).
    #[error("frame carries {len} bytes of data, more than its kind allows")]
    TooLarge {
        /// The data length received.
        len: usize,
    },
}

impl<'a> OutputFrame<'a> {
    /// Encodes the frame into a fresh buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FRAME_HEADER_LEN + self.data.len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(FRAME_VERSION);
        out.extend_from_slice(self.session_id.0.as_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(self.data);
    }

    /// Decodes a frame, borrowing its data from `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() < FRAME_HEADER_LEN {
            return Err(FrameError::TooShort { len: bytes.len() });
        }
        if bytes[0] != FRAME_VERSION {
            return Err(FrameError::UnknownVersion { found: bytes[0] });
        }
        let data = &bytes[FRAME_HEADER_LEN..];
        if data.len() > MAX_FRAME_DATA {
            return Err(FrameError::TooLarge { len: data.len() });
        }
        let id: [u8; 16] = bytes[1..17].try_into().expect("slice is 16 bytes");
        let offset: [u8; 8] = bytes[17..25].try_into().expect("slice is 8 bytes");
        Ok(OutputFrame {
            session_id: SessionId(Uuid::from_bytes(id)),
            offset: u64::from_be_bytes(offset),
            data,
        })
    }

    /// The offset just past the last byte of this frame.
    pub fn end_offset(&self) -> u64 {
        self.offset + self.data.len() as u64
    }
}

/// The first byte of every snapshot frame; distinct from [`FRAME_VERSION`] so
/// one can never be read as the other.
pub const SNAPSHOT_FRAME_VERSION: u8 = 0x81;

/// The size of a snapshot frame's header before the data.
pub const SNAPSHOT_HEADER_LEN: usize = 29;

/// Largest data part a snapshot may carry: the screen with its attributes
/// plus as much recent scrollback as fits (the daemon drops scrollback
/// first, then attributes, to stay within it). Under the 1 MiB Socket.IO
/// message limit.
pub const MAX_SNAPSHOT_DATA: usize = 768 * 1024;

/// A session's screen at one offset of its output stream: bytes that, written
/// to a freshly reset terminal of `cols` × `rows`, reproduce the daemon's
/// screen model at `offset` (scrollback, screen, cursor, modes, title). The
/// live stream continues at `offset`.
///
/// Layout (all integers big-endian):
///
/// | bytes | field |
/// |---|---|
/// | 0 | [`SNAPSHOT_FRAME_VERSION`] |
/// | 1..17 | session id (UUID bytes) |
/// | 17..25 | offset (u64) |
/// | 25..27 | columns (u16) |
/// | 27..29 | rows (u16) |
/// | 29.. | the bytes to write |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotFrame<'a> {
    /// The session.
    pub session_id: SessionId,
    /// The output offset the snapshot stands for.
    pub offset: u64,
    /// The PTY's size, which the viewer's terminal takes before writing.
    pub size: crate::TermSize,
    /// The escape sequences and text that reproduce the screen.
    pub data: &'a [u8],
}

impl<'a> SnapshotFrame<'a> {
    /// Encodes the snapshot into a fresh buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SNAPSHOT_HEADER_LEN + self.data.len());
        out.push(SNAPSHOT_FRAME_VERSION);
        out.extend_from_slice(self.session_id.0.as_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.size.cols.to_be_bytes());
        out.extend_from_slice(&self.size.rows.to_be_bytes());
        out.extend_from_slice(self.data);
        out
    }

    /// Decodes a snapshot, borrowing its data from `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() < SNAPSHOT_HEADER_LEN {
            return Err(FrameError::TooShort { len: bytes.len() });
        }
        if bytes[0] != SNAPSHOT_FRAME_VERSION {
            return Err(FrameError::UnknownVersion { found: bytes[0] });
        }
        let data = &bytes[SNAPSHOT_HEADER_LEN..];
        if data.len() > MAX_SNAPSHOT_DATA {
            return Err(FrameError::TooLarge { len: data.len() });
        }
        let id: [u8; 16] = bytes[1..17].try_into().expect("slice is 16 bytes");
        let offset: [u8; 8] = bytes[17..25].try_into().expect("slice is 8 bytes");
        let cols: [u8; 2] = bytes[25..27].try_into().expect("slice is 2 bytes");
        let rows: [u8; 2] = bytes[27..29].try_into().expect("slice is 2 bytes");
        Ok(SnapshotFrame {
            session_id: SessionId(Uuid::from_bytes(id)),
            offset: u64::from_be_bytes(offset),
            size: crate::TermSize {
                cols: u16::from_be_bytes(cols),
                rows: u16::from_be_bytes(rows),
            },
            data,
        })
    }
}
