/**
 * What one viewer's terminal does with a session's stream: output frames,
 * snapshots and PTY sizes, in arrival order, each written or applied exactly
 * once, with every parsed byte acknowledged (`flowControl.ts`).
 *
 * xterm.js parses writes asynchronously, while `reset()` and `resize()` act
 * at once. So a reset or resize waits until every earlier write has been
 * parsed (a barrier), and writes that arrive after it wait behind it;
 * otherwise output from before a snapshot would land on the reset screen,
 * or old output would be drawn at the new size. Writes with nothing in front
 * of them go straight to the terminal, so a busy stream stays pipelined.
 *
 * Pure: the terminal is a `TerminalSink` (xterm in the app, a fake in tests).
 */
import type { TermSize } from './protocol/generated/protocol';
import { OutputCursor, type OutputFrame, type SnapshotFrame } from './frames';

/** The terminal, as the stream uses it. */
export interface TerminalSink {
  /** Queues bytes for parsing; `parsed` runs once they have been. */
  write(data: Uint8Array, parsed: () => void): void;
  /** Clears everything (screen, scrollback, modes) before a snapshot. */
  reset(): void;
  /** Gives the terminal the session's PTY size. */
  resize(cols: number, rows: number): void;
}

/** Where parsed offsets go (an `AckCoalescer`). */
export interface ParsedListener {
  parsed(end: bigint, bytes: number, immediate?: boolean): void;
}

type Op =
  | { kind: 'write'; data: Uint8Array; end: bigint; immediate: boolean }
  | { kind: 'resize'; size: TermSize }
  | { kind: 'snapshot'; size: TermSize; data: Uint8Array; offset: bigint };

export class TerminalStream {
  /** What has been accepted for writing: frames before it are duplicates. */
  readonly cursor = new OutputCursor();
  /** The session's PTY size as last announced (resize or snapshot); null until then. */
  sessionSize: TermSize | null = null;
  /** How many snapshots were applied. */
  snapshots = 0;
  /** Writes handed to the sink and not parsed yet. */
  private inflight = 0;
  /** Operations waiting behind a barrier, in arrival order. */
  private readonly queue: Op[] = [];
  private disposed = false;

  constructor(
    private readonly sink: TerminalSink,
    private readonly acks: ParsedListener,
    private readonly onGap: (gaps: number) => void = () => {},
  ) {}

  /** An output frame: the part not written yet is written. */
  output(frame: OutputFrame): void {
    const a = this.cursor.accept(frame.offset, frame.data);
    if (a.kind === 'duplicate') return;
    if (a.gap > 0) this.onGap(this.cursor.gaps);
    this.push({ kind: 'write', data: a.data, end: BigInt(this.cursor.nextOffset ?? 0), immediate: false });
  }

  /**
   * A snapshot: the terminal is reset to its size and shows its data; the
   * stream continues at its offset (earlier frames become duplicates).
   */
  snapshot(s: SnapshotFrame): void {
    this.cursor.restart(s.offset);
    this.sessionSize = { cols: s.cols, rows: s.rows };
    this.push({ kind: 'snapshot', size: { cols: s.cols, rows: s.rows }, data: s.data, offset: BigInt(s.offset) });
  }

  /** The session's PTY size changed (or was announced on attach). */
  resized(size: TermSize): void {
    this.sessionSize = { cols: size.cols, rows: size.rows };
    this.push({ kind: 'resize', size: { cols: size.cols, rows: size.rows } });
  }

  /**
   * `since` for a re-attach: the end of what the terminal shows once every
   * accepted write is parsed (undefined before anything was received).
   */
  get since(): string | undefined {
    return this.cursor.nextOffset === null ? undefined : String(this.cursor.nextOffset);
  }

  /** Whether anything waits to be parsed or applied. */
  get busy(): boolean {
    return this.inflight > 0 || this.queue.length > 0;
  }

  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
  }

  private push(op: Op): void {
    if (this.disposed) return;
    this.queue.push(op);
    this.pump();
  }

  private pump(): void {
    while (!this.disposed && this.queue.length > 0) {
      const op = this.queue[0];
      if (!op) return;
      // A barrier runs only once everything before it has been parsed.
      if (op.kind !== 'write' && this.inflight > 0) return;
      this.queue.shift();
      switch (op.kind) {
        case 'write':
          this.write(op.data, op.end, op.immediate);
          break;
        case 'resize':
          this.sink.resize(op.size.cols, op.size.rows);
          break;
        case 'snapshot':
          this.snapshots += 1;
          this.sink.reset();
          this.sink.resize(op.size.cols, op.size.rows);
          this.write(op.data, op.offset, true);
          break;
      }
    }
  }

  private write(data: Uint8Array, end: bigint, immediate: boolean): void {
    if (data.length === 0) {
      // Nothing to parse (an empty snapshot); everything before it was parsed already.
      this.acks.parsed(end, 0, immediate);
      return;
    }
    this.inflight += 1;
    this.sink.write(data, () => {
      this.inflight -= 1;
      if (this.disposed) return;
      this.acks.parsed(end, data.length, immediate);
      this.pump();
    });
  }
}
