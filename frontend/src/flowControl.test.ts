import { describe, expect, it } from 'vitest';
import { ACK_BYTES, ACK_INTERVAL_MS, AckCoalescer, type AckTimers } from './flowControl';

/** A manual clock: timers fire only when `advance` passes them. */
class FakeTimers implements AckTimers {
  now = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
  get armed(): number {
    return this.pending.size;
  }
}

function setup() {
  const timers = new FakeTimers();
  const sent: string[] = [];
  const acks = new AckCoalescer((o) => sent.push(o), timers);
  return { timers, sent, acks };
}

describe('AckCoalescer', () => {
  it('acks small parses once, ACK_INTERVAL_MS after the first, with the latest offset', () => {
    const { timers, sent, acks } = setup();
    acks.parsed(10n, 10);
    acks.parsed(25n, 15);
    timers.advance(ACK_INTERVAL_MS - 1);
    expect(sent).toEqual([]);
    acks.parsed(40n, 15);
    timers.advance(1);
    expect(sent).toEqual(['40']);
    expect(timers.armed).toBe(0);
  });

  it('acks at once every ACK_BYTES parsed, before the interval', () => {
    const { timers, sent, acks } = setup();
    let end = 0n;
    for (let i = 0; i < 8; i++) {
      end += 16_384n;
      acks.parsed(end, 16_384);
    }
    // 128 KiB in one go: two acks, no timer left running.
    expect(ACK_BYTES).toBe(65_536);
    expect(sent).toEqual(['65536', '131072']);
    expect(timers.armed).toBe(0);
    acks.parsed(end + 1n, 1);
    timers.advance(ACK_INTERVAL_MS);
    expect(sent).toEqual(['65536', '131072', '131073']);
  });

  it('never loses the final ack: the last parse is always sent', () => {
    const { timers, sent, acks } = setup();
    for (let i = 1; i <= 1000; i++) acks.parsed(BigInt(i * 100), 100);
    timers.advance(ACK_INTERVAL_MS);
    expect(sent.at(-1)).toBe('100000');
    // Sent offsets only grow and none is sent twice.
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent.map(BigInt)).toEqual([...sent.map(BigInt)].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('acks immediately when asked (a parsed snapshot), even a repeated offset after restart', () => {
    const { timers, sent, acks } = setup();
    acks.parsed(500n, 3, true);
    expect(sent).toEqual(['500']);
    acks.parsed(500n, 0, true);
    expect(sent).toEqual(['500']);
    acks.restart();
    acks.parsed(500n, 0, true);
    expect(sent).toEqual(['500', '500']);
    expect(timers.armed).toBe(0);
  });

  it('writes offsets beyond 2^53 exactly', () => {
    const { sent, acks } = setup();
    acks.parsed((1n << 64n) - 1n, 1, true);
    expect(sent).toEqual(['18446744073709551615']);
  });

  it('stops after dispose', () => {
    const { timers, sent, acks } = setup();
    acks.parsed(1n, 1);
    acks.dispose();
    timers.advance(100);
    acks.parsed(2n, 1, true);
    expect(sent).toEqual([]);
    expect(acks.lastSent).toBeNull();
  });
});
