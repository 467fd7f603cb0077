import { describe, expect, it } from 'vitest';
import type { OutputFrame, SnapshotFrame } from './frames';
import { TerminalStream, type TerminalSink } from './terminalStream';

const SID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const frame = (offset: number, text: string): OutputFrame => ({ sessionId: SID, offset, data: enc(text) });
const snap = (offset: number, cols: number, rows: number, text: string): SnapshotFrame => ({
  sessionId: SID,
  offset,
  cols,
  rows,
  data: enc(text),
});

/**
 * A terminal whose parsing the test drives: `parse()` completes the oldest
 * queued write, as xterm.js would later. `log` is what the terminal did, in order.
 */
class FakeTerminal implements TerminalSink {
  log: string[] = [];
  screen = '';
  size = { cols: 80, rows: 24 };
  private queued: Array<{ text: string; done: () => void }> = [];
  write(data: Uint8Array, parsed: () => void): void {
    this.queued.push({ text: dec(data), done: parsed });
  }
  reset(): void {
    this.log.push('reset');
    this.screen = '';
  }
  resize(cols: number, rows: number): void {
    this.log.push(`resize ${cols}x${rows}`);
    this.size = { cols, rows };
  }
  /** Parses queued writes (all of them by default). */
  parse(n = Infinity): void {
    for (let i = 0; i < n; i++) {
      const w = this.queued.shift();
      if (!w) return;
      this.log.push(`parsed ${w.text}`);
      this.screen += w.text;
      w.done();
    }
  }
  get pending(): string[] {
    return this.queued.map((w) => w.text);
  }
}

function setup() {
  const term = new FakeTerminal();
  const acks: Array<[string, number, boolean]> = [];
  const gaps: number[] = [];
  const stream = new TerminalStream(
    term,
    { parsed: (end, bytes, immediate = false) => acks.push([end.toString(), bytes, immediate]) },
    (g) => gaps.push(g),
  );
  return { term, acks, gaps, stream };
}

describe('TerminalStream', () => {
  it('pipelines frames and reports each parsed end offset', () => {
    const { term, acks, stream } = setup();
    stream.output(frame(0, 'ab'));
    stream.output(frame(2, 'cd'));
    // Both handed to the terminal before either is parsed.
    expect(term.pending).toEqual(['ab', 'cd']);
    expect(acks).toEqual([]);
    term.parse();
    expect(term.screen).toBe('abcd');
    expect(acks).toEqual([
      ['2', 2, false],
      ['4', 2, false],
    ]);
    expect(stream.since).toBe('4');
  });

  it('drops duplicates and writes only the new part of an overlap', () => {
    const { term, stream } = setup();
    stream.output(frame(0, 'abcd'));
    stream.output(frame(0, 'ab'));
    stream.output(frame(2, 'cdef'));
    term.parse();
    expect(term.screen).toBe('abcdef');
  });

  it('applies a snapshot only after earlier writes are parsed, then writes what follows it', () => {
    const { term, acks, stream } = setup();
    stream.output(frame(0, 'old'));
    stream.snapshot(snap(100, 120, 40, '[screen]'));
    stream.output(frame(100, 'new'));
    // The snapshot waits for "old"; "new" waits behind the snapshot.
    expect(term.log).toEqual([]);
    expect(term.pending).toEqual(['old']);
    term.parse(1);
    expect(term.log).toEqual(['parsed old', 'reset', 'resize 120x40']);
    expect(term.pending).toEqual(['[screen]', 'new']);
    term.parse();
    expect(term.screen).toBe('[screen]new');
    expect(acks).toEqual([
      ['3', 3, false],
      ['100', 8, true],
      ['103', 3, false],
    ]);
    expect(stream.snapshots).toBe(1);
    expect(stream.sessionSize).toEqual({ cols: 120, rows: 40 });
  });

  it('after a resync snapshot, frames from before its offset are duplicates', () => {
    const { term, gaps, stream } = setup();
    stream.output(frame(0, 'aaaa'));
    term.parse();
    stream.snapshot(snap(1000, 80, 24, 'S'));
    // The backlog the hub had already sent, then the live stream.
    stream.output(frame(4, 'bbbb'));
    stream.output(frame(996, 'cccc'));
    stream.output(frame(998, 'ccdd'));
    term.parse();
    expect(term.screen).toBe('Sdd');
    expect(gaps).toEqual([]);
    expect(stream.since).toBe('1002');
  });

  it('a snapshot on attach (nothing written yet) applies at once', () => {
    const { term, acks, stream } = setup();
    expect(stream.since).toBeUndefined();
    stream.resized({ cols: 100, rows: 30 });
    stream.snapshot(snap(5000, 100, 30, 'final screen'));
    expect(term.log).toEqual(['resize 100x30', 'reset', 'resize 100x30']);
    term.parse();
    expect(acks).toEqual([['5000', 12, true]]);
    expect(stream.since).toBe('5000');
  });

  it('an empty snapshot is acked at once', () => {
    const { term, acks, stream } = setup();
    stream.snapshot(snap(7, 10, 5, ''));
    expect(term.log).toEqual(['reset', 'resize 10x5']);
    expect(acks).toEqual([['7', 0, true]]);
  });

  it('orders a PTY resize between the output before and after it', () => {
    const { term, stream } = setup();
    stream.output(frame(0, 'wide'));
    stream.resized({ cols: 40, rows: 10 });
    stream.output(frame(4, 'narrow'));
    expect(term.pending).toEqual(['wide']);
    term.parse();
    expect(term.log).toEqual(['parsed wide', 'resize 40x10', 'parsed narrow']);
  });

  it('resumes after a reconnect: frames from `since` continue, resent ones are dropped', () => {
    const { term, stream } = setup();
    stream.output(frame(10, 'tail'));
    term.parse();
    expect(stream.since).toBe('14');
    // The hub resends from `since` (and, racing, a little before it).
    stream.output(frame(12, 'ilmore'));
    term.parse();
    expect(term.screen).toBe('tailmore');
  });

  it('counts gaps', () => {
    const { gaps, stream } = setup();
    stream.output(frame(0, 'a'));
    stream.output(frame(5, 'b'));
    expect(gaps).toEqual([1]);
  });

  it('stops after dispose', () => {
    const { term, acks, stream } = setup();
    stream.output(frame(0, 'a'));
    stream.dispose();
    term.parse();
    stream.output(frame(1, 'b'));
    expect(acks).toEqual([]);
    expect(term.pending).toEqual([]);
  });
});
