/**
 * A read-only hook for end-to-end tests and debugging: the text currently in
 * each open terminal's buffer. Exposes nothing a user could not read on screen.
 */
import type { Terminal } from '@xterm/xterm';

const terminals = new Map<string, Terminal>();
const renderers = new WeakMap<Terminal, () => string>();
const streams = new WeakMap<Terminal, () => StreamInfo>();

function bufferText(term: Terminal): string {
  const buf = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
  return lines.join('\n');
}

/** The rows in view when scrolled to the bottom (the screen, without scrollback). */
function screenLines(term: Terminal): string[] {
  const buf = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < term.rows; i++) lines.push(buf.getLine(buf.baseY + i)?.translateToString(true) ?? '');
  return lines;
}

/** Per screen row, the foreground of its first cell: a palette index, `rgb:xxxxxx`, or `default`. */
function screenColors(term: Terminal): string[] {
  const buf = term.buffer.active;
  const out: string[] = [];
  for (let i = 0; i < term.rows; i++) {
    const cell = buf.getLine(buf.baseY + i)?.getCell(0);
    if (!cell || cell.isFgDefault()) out.push('default');
    else if (cell.isFgRGB()) out.push(`rgb:${cell.getFgColor().toString(16).padStart(6, '0')}`);
    else out.push(String(cell.getFgColor()));
  }
  return out;
}

export interface FlotillaTestHook {
  /** Session ids with an open terminal. */
  openSessions(): string[];
  /** The buffer text of one session's terminal (or of every open terminal). */
  readTerminal(sessionId?: string): string;
  /** The screen's rows (what is in view at the bottom, no scrollback), or null when it is not open. */
  readScreen(sessionId: string): string[] | null;
  /** The foreground colour of each screen row's first cell, or null when it is not open. */
  screenColors(sessionId: string): string[] | null;
  /** The terminal's size in cells, or null when it is not open. */
  terminalSize(sessionId: string): { cols: number; rows: number } | null;
  /** How the terminal is drawn and scrolled, or null when it is not open. */
  terminalInfo(sessionId: string): TerminalInfo | null;
}

/** See {@link FlotillaTestHook.terminalInfo}. */
export interface TerminalInfo {
  cols: number;
  rows: number;
  /** The first buffer line in view, and the line it shows when scrolled to the bottom. */
  viewportY: number;
  baseY: number;
  /** `normal`, or `alternate` while a full-screen program runs. */
  buffer: string;
  lineHeight: number;
  customGlyphs: boolean;
  renderer: string;
  hasSelection: boolean;
  /** The stream's state, when the view registered one. */
  stream: StreamInfo | null;
}

/** How the terminal follows the session (see `TerminalStream`, `AckCoalescer`, `terminalLayout`). */
export interface StreamInfo {
  /** `fit`, `letterbox` or `scaled`; null before the first layout. */
  layout: string | null;
  scale: number;
  /** The session's PTY size as the hub announced it; null before that. */
  sessionSize: { cols: number; rows: number } | null;
  /** The size this viewer's box would give the PTY. */
  preferred: { cols: number; rows: number } | null;
  snapshots: number;
  /** The end of what the terminal has accepted (the next attach's `since`). */
  since: string | null;
  /** The last offset acknowledged to the hub. */
  acked: string | null;
  /** Whether writes wait to be parsed. */
  busy: boolean;
}

declare global {
  interface Window {
    __flotilla?: FlotillaTestHook;
  }
}

export function registerTerminal(
  sessionId: string,
  term: Terminal,
  renderer: () => string,
  stream?: () => StreamInfo,
): () => void {
  renderers.set(term, renderer);
  if (stream) streams.set(term, stream);
  terminals.set(sessionId, term);
  if (!window.__flotilla) {
    window.__flotilla = {
      openSessions: () => [...terminals.keys()],
      readTerminal: (id?: string) => {
        if (id !== undefined) {
          const t = terminals.get(id);
          return t ? bufferText(t) : '';
        }
        return [...terminals.values()].map(bufferText).join('\n');
      },
      readScreen: (id: string) => {
        const t = terminals.get(id);
        return t ? screenLines(t) : null;
      },
      screenColors: (id: string) => {
        const t = terminals.get(id);
        return t ? screenColors(t) : null;
      },
      terminalSize: (id: string) => {
        const t = terminals.get(id);
        return t ? { cols: t.cols, rows: t.rows } : null;
      },
      terminalInfo: (id: string) => {
        const t = terminals.get(id);
        if (!t) return null;
        return {
          cols: t.cols,
          rows: t.rows,
          viewportY: t.buffer.active.viewportY,
          baseY: t.buffer.active.baseY,
          buffer: t.buffer.active.type,
          lineHeight: t.options.lineHeight ?? 1,
          customGlyphs: t.options.customGlyphs ?? true,
          renderer: renderers.get(t)?.() ?? 'unknown',
          hasSelection: t.hasSelection(),
          stream: streams.get(t)?.() ?? null,
        };
      },
    };
  }
  return () => {
    if (terminals.get(sessionId) === term) terminals.delete(sessionId);
  };
}
