import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_LEN, FRAME_VERSION, SNAPSHOT_FRAME_VERSION, SNAPSHOT_HEADER_LEN } from './protocol/generated/constants';
import vectors from '../../protocol/tests/vectors/stream_cursor.json';
import {
  type Advance,
  OutputCursor,
  advanceCursor,
  decodeFrame,
  decodeSnapshot,
  encodeFrame,
  encodeSnapshot,
  uuidFromBytes,
  uuidToBytes,
} from './frames';

const SID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('decodeFrame', () => {
  it('decodes a hand-built frame byte by byte', () => {
    const bytes = new Uint8Array(FRAME_HEADER_LEN + 3);
    bytes[0] = FRAME_VERSION;
    bytes.set(uuidToBytes(SID), 1);
    // offset = 0x00000001_00000002 = 4294967298
    bytes.set([0, 0, 0, 1, 0, 0, 0, 2], 17);
    bytes.set(enc('abc'), FRAME_HEADER_LEN);
    const r = decodeFrame(bytes.buffer);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.frame.sessionId).toBe(SID);
    expect(r.frame.offset).toBe(4294967298);
    expect(dec(r.frame.data)).toBe('abc');
  });

  it('accepts ArrayBuffer, Uint8Array and offset views into a larger buffer', () => {
    const frame = encodeFrame(SID, 42, enc('hi'));
    const big = new Uint8Array(frame.length + 10);
    big.set(frame, 7);
    for (const payload of [frame.buffer, frame, big.subarray(7, 7 + frame.length)]) {
      const r = decodeFrame(payload);
      expect(r).toMatchObject({ ok: true, frame: { sessionId: SID, offset: 42 } });
      if (r.ok) expect(dec(r.frame.data)).toBe('hi');
    }
  });

  it('accepts a frame with no data', () => {
    const r = decodeFrame(encodeFrame(SID, 7, new Uint8Array()));
    expect(r).toMatchObject({ ok: true, frame: { offset: 7 } });
    if (r.ok) expect(r.frame.data.length).toBe(0);
  });

  it('rejects non-binary, short and wrong-version payloads', () => {
    expect(decodeFrame('text')).toEqual({ ok: false, error: { kind: 'not_binary' } });
    expect(decodeFrame({ data: 1 })).toEqual({ ok: false, error: { kind: 'not_binary' } });
    expect(decodeFrame(new Uint8Array(24))).toEqual({
      ok: false,
      error: { kind: 'too_short', length: 24 },
    });
    const bad = encodeFrame(SID, 0, enc('x'));
    bad[0] = 2;
    expect(decodeFrame(bad)).toEqual({ ok: false, error: { kind: 'bad_version', version: 2 } });
  });

  it('rejects offsets beyond 2^53', () => {
    const f = encodeFrame(SID, 0, enc('x'));
    f.set([0xff, 0, 0, 0, 0, 0, 0, 0], 17);
    expect(decodeFrame(f)).toEqual({ ok: false, error: { kind: 'offset_too_large' } });
  });

  it('round-trips UUID bytes in big-endian order', () => {
    const b = uuidToBytes(SID);
    expect(b[0]).toBe(0x0f);
    expect(b[15]).toBe(0x0e);
    expect(uuidFromBytes(b)).toBe(SID);
    expect(uuidFromBytes(uuidToBytes(SID.toUpperCase()))).toBe(SID);
    expect(() => uuidToBytes('nope')).toThrow();
  });

  it('round-trips large offsets', () => {
    for (const off of [0, 1, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER]) {
      const r = decodeFrame(encodeFrame(SID, off, enc('z')));
      expect(r).toMatchObject({ ok: true, frame: { offset: off } });
    }
  });
});

describe('decodeSnapshot', () => {
  it('decodes a hand-built snapshot byte by byte (the layout of protocol::frame::SnapshotFrame)', () => {
    const data = enc('\x1b[H\x1b[2Jscreen');
    const bytes = new Uint8Array(SNAPSHOT_HEADER_LEN + data.length);
    bytes[0] = 0x81;
    bytes.set(uuidToBytes(SID), 1);
    // offset = 0x00000001_00000002, cols = 0x0102, rows = 0x0304 (as the Rust round-trip test)
    bytes.set([0, 0, 0, 1, 0, 0, 0, 2], 17);
    bytes.set([1, 2, 3, 4], 25);
    bytes.set(data, SNAPSHOT_HEADER_LEN);
    expect(SNAPSHOT_FRAME_VERSION).toBe(0x81);
    expect(SNAPSHOT_HEADER_LEN).toBe(29);
    const r = decodeSnapshot(bytes.buffer);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.snapshot).toMatchObject({ sessionId: SID, offset: 4294967298, cols: 0x0102, rows: 0x0304 });
    expect(dec(r.snapshot.data)).toBe('\x1b[H\x1b[2Jscreen');
  });

  it('round-trips through encodeSnapshot, also from a view into a larger buffer', () => {
    const snap = { sessionId: SID, offset: Number.MAX_SAFE_INTEGER, cols: 80, rows: 24, data: enc('x') };
    const bytes = encodeSnapshot(snap);
    const big = new Uint8Array(bytes.length + 9);
    big.set(bytes, 4);
    for (const payload of [bytes, bytes.buffer, big.subarray(4, 4 + bytes.length)]) {
      const r = decodeSnapshot(payload);
      expect(r).toMatchObject({ ok: true, snapshot: { sessionId: SID, offset: snap.offset, cols: 80, rows: 24 } });
      if (r.ok) expect(dec(r.snapshot.data)).toBe('x');
    }
  });

  it('accepts an empty screen', () => {
    const r = decodeSnapshot(encodeSnapshot({ sessionId: SID, offset: 0, cols: 1, rows: 1, data: new Uint8Array() }));
    expect(r).toMatchObject({ ok: true, snapshot: { offset: 0, cols: 1, rows: 1 } });
  });

  it('never takes an output frame for a snapshot, nor the reverse', () => {
    const output = encodeFrame(SID, 0, enc('0123456789'));
    expect(decodeSnapshot(output)).toEqual({ ok: false, error: { kind: 'bad_version', version: FRAME_VERSION } });
    const snap = encodeSnapshot({ sessionId: SID, offset: 0, cols: 2, rows: 3, data: enc('abc') });
    expect(decodeFrame(snap)).toEqual({ ok: false, error: { kind: 'bad_version', version: SNAPSHOT_FRAME_VERSION } });
  });

  it('rejects non-binary, short and too-large-offset payloads', () => {
    expect(decodeSnapshot('text')).toEqual({ ok: false, error: { kind: 'not_binary' } });
    const snap = encodeSnapshot({ sessionId: SID, offset: 0, cols: 2, rows: 3, data: new Uint8Array() });
    expect(decodeSnapshot(snap.subarray(0, 28))).toEqual({ ok: false, error: { kind: 'too_short', length: 28 } });
    snap.set([0xff, 0, 0, 0, 0, 0, 0, 0], 17);
    expect(decodeSnapshot(snap)).toEqual({ ok: false, error: { kind: 'offset_too_large' } });
  });
});

/** Feeds (offset, text) frames and returns what would be written. */
function check(frames: Array<[number, string]>) {
  const c = new OutputCursor();
  let out = '';
  const results = frames.map(([off, text]) => {
    const a = c.accept(off, enc(text));
    if (a.kind === 'write') out += dec(a.data);
    return a.kind === 'write' ? `write:${dec(a.data)}${a.gap ? `(gap ${a.gap})` : ''}` : 'dup';
  });
  return { out, results, next: c.nextOffset, gaps: c.gaps, missed: c.missedBytes };
}

describe('OutputCursor', () => {
  it('writes the first frame whatever its offset (late joiner)', () => {
    expect(check([[1000, 'tail']])).toEqual({
      out: 'tail',
      results: ['write:tail'],
      next: 1004,
      gaps: 0,
      missed: 0,
    });
  });

  it('writes contiguous frames in full', () => {
    expect(check([[0, 'ab'], [2, 'cd'], [4, 'e']]).out).toBe('abcde');
  });

  it('drops frames it already has entirely', () => {
    const r = check([[0, 'abcd'], [0, 'ab'], [2, 'cd'], [0, 'abcd'], [4, 'e']]);
    expect(r.results).toEqual(['write:abcd', 'dup', 'dup', 'dup', 'write:e']);
    expect(r.out).toBe('abcde');
  });

  it('slices overlapping frames (resent after a reconnect)', () => {
    const r = check([[0, 'abcd'], [2, 'cdef'], [1, 'bcdefgh']]);
    expect(r.results).toEqual(['write:abcd', 'write:ef', 'write:gh']);
    expect(r.out).toBe('abcdefgh');
    expect(r.gaps).toBe(0);
  });

  it('writes frames after a gap and counts the gap', () => {
    const r = check([[0, 'ab'], [5, 'fg'], [7, 'h'], [10, 'k']]);
    expect(r.results).toEqual(['write:ab', 'write:fg(gap 3)', 'write:h', 'write:k(gap 2)']);
    expect(r.gaps).toBe(2);
    expect(r.missed).toBe(5);
    expect(r.next).toBe(11);
  });

  it('treats empty frames at or before the cursor as duplicates', () => {
    expect(check([[0, 'ab'], [2, ''], [1, '']]).results).toEqual(['write:ab', 'dup', 'dup']);
  });

  it('restarts at a snapshot: earlier frames are duplicates, later ones append', () => {
    const c = new OutputCursor();
    expect(c.accept(0, enc('abcd')).kind).toBe('write');
    // A resync snapshot far ahead, then the stale tail of the backlog and the live stream.
    c.restart(100);
    expect(c.accept(4, enc('efgh')).kind).toBe('duplicate');
    expect(c.accept(96, enc('wxyz')).kind).toBe('duplicate');
    const a = c.accept(98, enc('yz12'));
    expect(a.kind === 'write' ? dec(a.data) : a.kind).toBe('12');
    expect(c.nextOffset).toBe(102);
    expect(c.gaps).toBe(0);
    // A snapshot may also stand for less than was written (the cursor moves back).
    c.restart(50);
    const b = c.accept(50, enc('q'));
    expect(b.kind === 'write' ? dec(b.data) : b.kind).toBe('q');
  });

  it('keeps multi-byte characters split across frames intact end to end', () => {
    const bytes = enc('héllo wörld ✓ 🚀');
    const c = new OutputCursor();
    const parts: Uint8Array[] = [];
    // Split at every 3 bytes (mid-character), then resend everything once more.
    for (let i = 0; i < bytes.length; i += 3) {
      const a = c.accept(i, bytes.subarray(i, i + 3));
      if (a.kind === 'write') parts.push(a.data);
    }
    expect(c.accept(0, bytes).kind).toBe('duplicate');
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    expect(dec(joined)).toBe('héllo wörld ✓ 🚀');
  });
});

/** The golden cases `protocol::cursor` runs too; numbers are decimal strings. */
interface CursorCase {
  name: string;
  cursor: string;
  offset: string;
  len: string;
  expect: { type: Advance['kind']; skip?: string; missing?: string };
  after: string;
}

function expected(c: CursorCase): Advance {
  switch (c.expect.type) {
    case 'append':
      return { kind: 'append', skip: BigInt(c.expect.skip ?? 'missing skip') };
    case 'gap':
      return { kind: 'gap', missing: BigInt(c.expect.missing ?? 'missing count') };
    case 'duplicate':
    case 'offset_overflow':
      return { kind: c.expect.type };
  }
}

describe('advanceCursor', () => {
  const cases = (vectors as { cases: CursorCase[] }).cases;

  it('has the golden vectors', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(advanceCursor(BigInt(c.cursor), BigInt(c.offset), BigInt(c.len))).toEqual({
      advance: expected(c),
      cursor: BigInt(c.after),
    });
  });
});
