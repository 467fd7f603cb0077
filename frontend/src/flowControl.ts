/**
 * Flow control of a session's output towards one viewer: the viewer tells
 * the hub (`session:ack`) how far its terminal has actually parsed, and the
 * hub stops sending when about 512 KiB are unacknowledged. Acks are
 * coalesced: one when `ACK_BYTES` have been parsed since the last, otherwise
 * one `ACK_INTERVAL_MS` after the first unacknowledged parse, and one at once
 * when asked (after a snapshot). The latest parsed offset is always acked
 * eventually: a lost final ack would freeze the terminal.
 *
 * Pure apart from the timer, which is injected (tests pass a fake clock).
 */

/** The longest an ack waits for more parsed bytes to join it. */
export const ACK_INTERVAL_MS = 16;
/** Parsed bytes that are acked at once rather than waiting for the interval. */
export const ACK_BYTES = 64 * 1024;

/** The timer seam. */
export interface AckTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: AckTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Coalesces "parsed up to" reports into `session:ack` sends (offsets as decimal strings). */
export class AckCoalescer {
  private latest: bigint | null = null;
  private sent: bigint | null = null;
  /** Bytes parsed since the last ack was sent. */
  private pending = 0;
  private timer: unknown = null;
  private disposed = false;

  constructor(
    private readonly send: (offset: string) => void,
    private readonly timers: AckTimers = realTimers,
  ) {}

  /**
   * The terminal has parsed `bytes` more, up to stream offset `end`.
   * `immediate` acks now (a snapshot was just parsed).
   */
  parsed(end: bigint, bytes: number, immediate = false): void {
    if (this.disposed) return;
    this.latest = end;
    this.pending += bytes;
    if (immediate || this.pending >= ACK_BYTES) {
      this.flush();
      return;
    }
    if (this.timer === null) this.timer = this.timers.set(() => this.flush(), ACK_INTERVAL_MS);
  }

  /** Sends the latest parsed offset now unless it was already sent. */
  flush(): void {
    if (this.timer !== null) {
      this.timers.clear(this.timer);
      this.timer = null;
    }
    this.pending = 0;
    if (this.disposed || this.latest === null || this.latest === this.sent) return;
    this.sent = this.latest;
    this.send(this.latest.toString());
  }

  /**
   * A new attach (after a reconnect): the hub's count starts afresh, so the
   * next parsed offset is sent even if it equals the last one sent.
   */
  restart(): void {
    this.sent = null;
  }

  /** The last offset sent, for diagnostics. */
  get lastSent(): string | null {
    return this.sent === null ? null : this.sent.toString();
  }

  dispose(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.disposed = true;
  }
}
