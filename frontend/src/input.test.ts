import { describe, expect, it } from 'vitest';
import { InputQueue, chunkUtf8, utf8ByteLength } from './input';
import { MAX_INPUT_BYTES } from './protocol/generated/constants';

describe('utf8ByteLength', () => {
  it('matches TextEncoder', () => {
    for (const s of ['', 'abc', 'é', '✓', '🚀', 'a🚀é✓\r\n', '\ud800']) {
      expect(utf8ByteLength(s)).toBe(new TextEncoder().encode(s).length);
    }
  });
});

describe('chunkUtf8', () => {
  it('leaves small input alone', () => {
    expect(chunkUtf8('hello', 16)).toEqual(['hello']);
    expect(chunkUtf8('', 16)).toEqual([]);
  });

  it('splits on code-point boundaries within the byte limit', () => {
    const s = 'a🚀b✓cé'.repeat(50);
    for (const max of [4, 5, 6, 7, 10, 64]) {
      const chunks = chunkUtf8(s, max);
      expect(chunks.join('')).toBe(s);
      for (const c of chunks) {
        expect(utf8ByteLength(c)).toBeLessThanOrEqual(max);
        expect(c.length).toBeGreaterThan(0);
        // No chunk starts or ends inside a surrogate pair.
        expect(/^[\udc00-\udfff]/.test(c)).toBe(false);
        expect(/[\ud800-\udbff]$/.test(c)).toBe(false);
      }
    }
  });

  it('fills chunks to the limit with ASCII', () => {
    const s = 'x'.repeat(MAX_INPUT_BYTES * 2 + 5);
    expect(chunkUtf8(s, MAX_INPUT_BYTES).map((c) => c.length)).toEqual([
      MAX_INPUT_BYTES,
      MAX_INPUT_BYTES,
      5,
    ]);
  });

  it('rejects a limit smaller than one code point', () => {
    expect(() => chunkUtf8('x', 3)).toThrow();
  });
});

/** A send function whose acks the test releases by hand. */
function manualSender() {
  const sent: string[] = [];
  const acks: Array<() => void> = [];
  const send = (data: string) =>
    new Promise<void>((resolve) => {
      sent.push(data);
      acks.push(resolve);
    });
  const ackNext = async () => {
    acks.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { sent, send, ackNext };
}

describe('InputQueue', () => {
  it('sends one message at a time and coalesces input typed meanwhile', async () => {
    const s = manualSender();
    const q = new InputQueue(s.send, 8);
    q.push('a');
    q.push('b');
    q.push('c');
    expect(s.sent).toEqual(['a']);
    await s.ackNext();
    expect(s.sent).toEqual(['a', 'bc']);
    await s.ackNext();
    expect(q.idle).toBe(true);
  });

  it('splits large pastes into ordered chunks', async () => {
    const s = manualSender();
    const q = new InputQueue(s.send, 4);
    q.push('abcdefghij');
    expect(s.sent).toEqual(['abcd']);
    await s.ackNext();
    q.push('XY');
    await s.ackNext();
    await s.ackNext();
    await s.ackNext();
    expect(s.sent).toEqual(['abcd', 'efgh', 'ijXY']);
    expect(q.idle).toBe(true);
  });

  it('reports send failures and keeps going', async () => {
    const errors: unknown[] = [];
    const sent: string[] = [];
    let fail = true;
    const q = new InputQueue(
      async (d) => {
        sent.push(d);
        if (fail) {
          fail = false;
          throw new Error('nope');
        }
      },
      16,
      (e) => errors.push(e),
    );
    q.push('one');
    await new Promise((r) => setTimeout(r, 0));
    q.push('two');
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual(['one', 'two']);
    expect(errors).toHaveLength(1);
  });

  it('drops pending input after close', async () => {
    const s = manualSender();
    const q = new InputQueue(s.send, 8);
    q.push('a');
    q.push('b');
    q.close();
    await s.ackNext();
    q.push('c');
    expect(s.sent).toEqual(['a']);
  });
});
