/**
 * Terminal input: splitting large pastes into protocol-sized chunks and
 * sending them strictly in order.
 */

/** The UTF-8 length of one code point. */
function utf8Len(cp: number): number {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

/** The UTF-8 byte length of a string (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (const ch of s) n += utf8Len(ch.codePointAt(0) ?? 0);
  return n;
}

/**
 * How many UTF-16 code units of `data`, from `start`, fit in `maxBytes` UTF-8
 * bytes without cutting a code point (a surrogate pair stays together).
 * Scans only the prefix it returns, so large pastes stay linear.
 */
export function utf8PrefixLength(data: string, maxBytes: number, start = 0): number {
  let bytes = 0;
  let i = start;
  while (i < data.length) {
    const cp = data.codePointAt(i) ?? 0;
    const len = utf8Len(cp);
    if (bytes + len > maxBytes) break;
    bytes += len;
    i += cp > 0xffff ? 2 : 1;
  }
  return i - start;
}

/**
 * Splits `data` into pieces of at most `maxBytes` UTF-8 bytes each, never
 * inside a code point.
 */
export function chunkUtf8(data: string, maxBytes: number): string[] {
  if (maxBytes < 4) throw new Error('maxBytes must be at least 4');
  const chunks: string[] = [];
  let start = 0;
  while (start < data.length) {
    const n = utf8PrefixLength(data, maxBytes, start);
    chunks.push(data.slice(start, start + n));
    start += n;
  }
  return chunks;
}

/** Sends one chunk; resolves when the hub acknowledged it. */
export type SendChunk = (data: string) => Promise<void>;

/**
 * Queues keystrokes and pastes and sends them one message at a time, each
 * after the previous one was acknowledged, so they reach the PTY in order even
 * if the server handles concurrent messages out of order. Input typed while a
 * message is in flight is coalesced into the next one.
 */
export class InputQueue {
  private pending = '';
  private inFlight = false;
  private closed = false;

  constructor(
    private readonly send: SendChunk,
    private readonly maxBytes: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    if (maxBytes < 4) throw new Error('maxBytes must be at least 4');
  }

  /** Adds text to send. */
  push(data: string): void {
    if (this.closed || data.length === 0) return;
    this.pending += data;
    void this.pump();
  }

  /** Drops anything not yet sent and stops. */
  close(): void {
    this.closed = true;
    this.pending = '';
  }

  /** Whether nothing is queued or in flight. */
  get idle(): boolean {
    return !this.inFlight && this.pending.length === 0;
  }

  private async pump(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      while (!this.closed && this.pending.length > 0) {
        const n = utf8PrefixLength(this.pending, this.maxBytes);
        const chunk = this.pending.slice(0, n);
        this.pending = this.pending.slice(n);
        try {
          await this.send(chunk);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.inFlight = false;
    }
  }
}
