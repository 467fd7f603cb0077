/**
 * Terminal output frames: decoding the binary `session:output` payload and
 * the `session:snapshot` payload, and deduplicating output against what a
 * viewer has already written (the stream cursor rule of `protocol::cursor`,
 * as `advanceCursor`).
 *
 * Pure: no I/O, no timers. An output frame is
 * `[version u8][session uuid 16 bytes][offset u64 BE][data …]`; a snapshot
 * frame is `[0x81][session uuid 16][offset u64 BE][cols u16 BE][rows u16 BE][data …]`
 * (`protocol::frame::SnapshotFrame`).
 */
import { FRAME_HEADER_LEN, FRAME_VERSION, SNAPSHOT_FRAME_VERSION, SNAPSHOT_HEADER_LEN } from './protocol/generated/constants';

/** A decoded output frame. */
export interface OutputFrame {
  /** The session's id, as a lowercase hyphenated UUID. */
  sessionId: string;
  /** The offset of `data[0]` in the session's output stream. */
  offset: number;
  /** Raw terminal bytes (a view into the received buffer). */
  data: Uint8Array;
}

/** Why a payload could not be decoded. */
export type FrameDecodeError =
  | { kind: 'not_binary' }
  | { kind: 'too_short'; length: number }
  | { kind: 'bad_version'; version: number }
  | { kind: 'offset_too_large' };

export type DecodeResult = { ok: true; frame: OutputFrame } | { ok: false; error: FrameDecodeError };

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Formats 16 raw bytes in standard (big-endian) UUID order. */
export function uuidFromBytes(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[bytes[i] ?? 0];
  }
  return s;
}

/** Parses a hyphenated UUID into its 16 raw bytes (for tests and tools). */
export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Views whatever Socket.IO handed us as bytes, without copying. Browsers give
 * an ArrayBuffer; Node gives a Buffer (a Uint8Array).
 */
export function asBytes(payload: unknown): Uint8Array | null {
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) {
    return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  }
  return null;
}

/** Decodes one `session:output` payload. */
export function decodeFrame(payload: unknown): DecodeResult {
  const bytes = asBytes(payload);
  if (!bytes) return { ok: false, error: { kind: 'not_binary' } };
  if (bytes.length < FRAME_HEADER_LEN) {
    return { ok: false, error: { kind: 'too_short', length: bytes.length } };
  }
  const version = bytes[0] ?? 0;
  if (version !== FRAME_VERSION) return { ok: false, error: { kind: 'bad_version', version } };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = readOffset(view);
  if (offset === null) return { ok: false, error: { kind: 'offset_too_large' } };
  return {
    ok: true,
    frame: {
      sessionId: uuidFromBytes(bytes.subarray(1, 17)),
      offset,
      data: bytes.subarray(FRAME_HEADER_LEN),
    },
  };
}

/** Reads the u64 big-endian offset at byte 17; null past 2^53 (not exactly representable). */
function readOffset(view: DataView): number | null {
  const hi = view.getUint32(17, false);
  const lo = view.getUint32(21, false);
  // Offsets past 2^53 cannot be represented exactly; no real session gets there.
  if (hi >= 0x200000) return null;
  return hi * 0x1_0000_0000 + lo;
}

function writeOffset(view: DataView, offset: number): void {
  view.setUint32(17, Math.floor(offset / 0x1_0000_0000), false);
  view.setUint32(21, offset >>> 0, false);
}

/**
 * A decoded `session:snapshot` frame: bytes that, written to a freshly reset
 * terminal of `cols` × `rows`, reproduce the session's screen at `offset`;
 * the live stream continues at `offset`.
 */
export interface SnapshotFrame {
  /** The session's id, as a lowercase hyphenated UUID. */
  sessionId: string;
  /** The output offset the snapshot stands for. */
  offset: number;
  /** The PTY's size, which the terminal takes before the data is written. */
  cols: number;
  rows: number;
  /** Escape sequences and text (a view into the received buffer). */
  data: Uint8Array;
}

export type SnapshotDecodeResult = { ok: true; snapshot: SnapshotFrame } | { ok: false; error: FrameDecodeError };

/**
 * Decodes one `session:snapshot` payload. An output frame is never taken for
 * a snapshot (their version bytes differ), nor the reverse.
 */
export function decodeSnapshot(payload: unknown): SnapshotDecodeResult {
  const bytes = asBytes(payload);
  if (!bytes) return { ok: false, error: { kind: 'not_binary' } };
  if (bytes.length < SNAPSHOT_HEADER_LEN) {
    return { ok: false, error: { kind: 'too_short', length: bytes.length } };
  }
  const version = bytes[0] ?? 0;
  if (version !== SNAPSHOT_FRAME_VERSION) return { ok: false, error: { kind: 'bad_version', version } };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = readOffset(view);
  if (offset === null) return { ok: false, error: { kind: 'offset_too_large' } };
  return {
    ok: true,
    snapshot: {
      sessionId: uuidFromBytes(bytes.subarray(1, 17)),
      offset,
      cols: view.getUint16(25, false),
      rows: view.getUint16(27, false),
      data: bytes.subarray(SNAPSHOT_HEADER_LEN),
    },
  };
}

/** Builds a snapshot frame (used by tests). */
export function encodeSnapshot(s: SnapshotFrame): Uint8Array {
  const out = new Uint8Array(SNAPSHOT_HEADER_LEN + s.data.length);
  out[0] = SNAPSHOT_FRAME_VERSION;
  out.set(uuidToBytes(s.sessionId), 1);
  const view = new DataView(out.buffer);
  writeOffset(view, s.offset);
  view.setUint16(25, s.cols, false);
  view.setUint16(27, s.rows, false);
  out.set(s.data, SNAPSHOT_HEADER_LEN);
  return out;
}

/** Builds a frame (used by tests and the e2e harness's fakes). */
export function encodeFrame(sessionId: string, offset: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LEN + data.length);
  out[0] = FRAME_VERSION;
  out.set(uuidToBytes(sessionId), 1);
  writeOffset(new DataView(out.buffer), offset);
  out.set(data, FRAME_HEADER_LEN);
  return out;
}

/** The largest offset a stream can reach: 2^64 - 1. */
export const MAX_STREAM_OFFSET = (1n << 64n) - 1n;

/**
 * What `advanceCursor` made of a frame; the same cases as the Rust
 * `protocol::cursor::Advance` (`kind` is its snake_case variant name).
 */
export type Advance =
  /** New bytes follow the first `skip`, which were already accepted. */
  | { kind: 'append'; skip: bigint }
  /** Every byte was already accepted, including an empty frame at or before the cursor. */
  | { kind: 'duplicate' }
  /** The frame starts past the cursor; `missing` bytes before it were lost. */
  | { kind: 'gap'; missing: bigint }
  /** The frame would end past 2^64 - 1; it is refused. */
  | { kind: 'offset_overflow' };

/**
 * The stream cursor rule, exactly as `StreamCursor::advance` in
 * `protocol/src/cursor.rs` (both run `protocol/tests/vectors/stream_cursor.json`).
 * `cursor` is the offset just past the last accepted byte; returns what to do
 * with a frame of `len` bytes at `offset`, and the cursor afterwards (the
 * frame's end, unless it is a duplicate or refused). BigInt, so u64 offsets
 * are exact.
 */
export function advanceCursor(
  cursor: bigint,
  offset: bigint,
  len: bigint,
): { advance: Advance; cursor: bigint } {
  const end = offset + len;
  if (end > MAX_STREAM_OFFSET) return { advance: { kind: 'offset_overflow' }, cursor };
  if (end <= cursor) return { advance: { kind: 'duplicate' }, cursor };
  if (offset > cursor) return { advance: { kind: 'gap', missing: offset - cursor }, cursor: end };
  return { advance: { kind: 'append', skip: cursor - offset }, cursor: end };
}

/** What to do with one frame. */
export type Accepted =
  /** Nothing new: the viewer already has every byte of it. */
  | { kind: 'duplicate' }
  /** Write `data`; `gap` is how many bytes were missed before it (0 if none). */
  | { kind: 'write'; data: Uint8Array; gap: number };

/**
 * Tracks how far into a session's output stream one viewer has written, so
 * frames resent after a reattach or reconnect are written exactly once.
 */
export class OutputCursor {
  /** The offset of the next byte the viewer expects; null before the first frame. */
  nextOffset: number | null = null;
  /** How many times output was missing between two frames. */
  gaps = 0;
  /** How many bytes were missing in total. */
  missedBytes = 0;

  /**
   * A snapshot stands for the stream up to `offset`: the viewer now shows
   * exactly that, so the cursor moves there (back or forth). Frames before it
   * are then duplicates.
   */
  restart(offset: number): void {
    this.nextOffset = offset;
  }

  /** Decides what part of a frame to write and advances the cursor. */
  accept(offset: number, data: Uint8Array): Accepted {
    // The first frame after attaching is the retained tail of the stream;
    // whatever precedes it is history this viewer never had, not a gap.
    const from = this.nextOffset ?? offset;
    const { advance, cursor } = advanceCursor(BigInt(from), BigInt(offset), BigInt(data.length));
    this.nextOffset = Number(cursor);
    switch (advance.kind) {
      case 'append': {
        const skip = Number(advance.skip);
        return { kind: 'write', data: skip === 0 ? data : data.subarray(skip), gap: 0 };
      }
      case 'gap': {
        const gap = Number(advance.missing);
        this.gaps += 1;
        this.missedBytes += gap;
        return { kind: 'write', data, gap };
      }
      // Decoded offsets stay below 2^53, so no frame overflows; one that did
      // would carry nothing to write.
      case 'duplicate':
      case 'offset_overflow':
        return { kind: 'duplicate' };
    }
  }
}
