import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { WebLinksAddon } from '@xterm/addon-web-links';
import type { HostSummary, SessionSummary } from '../protocol/generated/protocol';
import { MAX_INPUT_BYTES, MAX_TERMINAL_DIMENSION } from '../protocol/generated/constants';
import { errorMessage } from '../api';
import { AckCoalescer } from '../flowControl';
import type { HubConnection } from '../hub';
import { InputQueue } from '../input';
import { projectName } from '../lists';
import { openOverview } from '../route';
import { store } from '../store';
import { fitGeometry, sizeNote, terminalLayout, touchScrollStep, unscalePoint, type LayoutMode, type TouchScroll } from '../terminalFit';
import { swallowTerminalQueries } from '../terminalQueries';
import { TerminalStream } from '../terminalStream';
import { keyAction } from '../terminalKeys';
import { isArchived } from '../sessionFilter';
import { registerTerminal } from '../testHook';
import { ProfileChip, copyText, findProfile, useNow } from './common';
import { ArchiveButton, ArchiveError, useArchive } from './SessionArchive';
import { SessionStateBadge, StopButton, isLive } from './SessionsList';
import { SessionUsageDetail } from './SessionUsage';
import { WorktreeDetail } from './SessionWorktree';

const THEME = {
  background: '#0b0f14',
  foreground: '#d1d7e0',
  cursor: '#58a6ff',
  cursorAccent: '#0b0f14',
  selectionBackground: '#264f78',
  black: '#484f58',
  red: '#ff7b72',
  green: '#3fb950',
  yellow: '#d29922',
  blue: '#58a6ff',
  magenta: '#bc8cff',
  cyan: '#39c5cf',
  white: '#b1bac4',
  brightBlack: '#6e7681',
  brightRed: '#ffa198',
  brightGreen: '#56d364',
  brightYellow: '#e3b341',
  brightBlue: '#79c0ff',
  brightMagenta: '#d2a8ff',
  brightCyan: '#56d4dd',
  brightWhite: '#f0f6fc',
};

/** xterm 6's vertical scrollbar width when no overview ruler is configured (`DEFAULT_SCROLL_BAR_WIDTH`). */
const XTERM_SCROLLBAR_WIDTH = 14;

/** The rendered cell size. xterm has no public API for it; FitAddon reads the same private field. */
function cellSize(term: Terminal): { width: number; height: number } {
  const core = (term as unknown as { _core?: { _renderService?: { dimensions?: { css?: { cell?: { width: number; height: number } } } } } })
    ._core;
  const cell = core?._renderService?.dimensions?.css?.cell;
  return cell ?? { width: 0, height: 0 };
}

function px(style: CSSStyleDeclaration, prop: string): number {
  return parseFloat(style.getPropertyValue(prop)) || 0;
}

/** The container's content box and the terminal's cell and scrollbar sizes, in CSS pixels. */
interface Measured {
  width: number;
  height: number;
  cellWidth: number;
  cellHeight: number;
  scrollbarWidth: number;
}

/**
 * Measures what the fit and the layout need. Unlike FitAddon it subtracts the
 * container's padding (the addon reads the border-box width, which hid the
 * last column under the scrollbar and cut the bottom row) and uses the
 * scrollbar's real width. Null while detached.
 */
function measure(term: Terminal, container: HTMLElement): Measured | null {
  const el = term.element;
  if (!el || !container.isConnected) return null;
  const box = container.getBoundingClientRect();
  const cs = window.getComputedStyle(container);
  const horizontal = ['padding-left', 'padding-right', 'border-left-width', 'border-right-width'];
  const vertical = ['padding-top', 'padding-bottom', 'border-top-width', 'border-bottom-width'];
  const width = box.width - horizontal.reduce((n, p) => n + px(cs, p), 0);
  const height = box.height - vertical.reduce((n, p) => n + px(cs, p), 0);
  const bar = el.querySelector<HTMLElement>('.xterm-scrollable-element > .scrollbar.vertical');
  const scrollbarWidth = Math.max(bar?.offsetWidth ?? 0, term.options.overviewRuler?.width ?? XTERM_SCROLLBAR_WIDTH);
  const cell = cellSize(term);
  return { width, height, cellWidth: cell.width, cellHeight: cell.height, scrollbarWidth };
}

/**
 * Copies the terminal's selection. `execCommand('copy')` fires a copy event
 * on the focused xterm textarea, whose handler puts the selection on the
 * clipboard; that works on plain http too. The Clipboard API is the fallback.
 */
function copySelection(term: Terminal): void {
  const text = term.getSelection();
  if (!text) return;
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  if (!copied) {
    void copyText(text).then((ok) => {
      if (!ok) store.toast('Could not copy: the browser refused clipboard access', 'info');
      term.focus();
    });
  }
  term.clearSelection();
}

/** Pastes the clipboard as typed input (bracketed when the program asks for it). */
function pasteClipboard(term: Terminal): void {
  if (!navigator.clipboard?.readText) {
    store.toast('Paste with the browser menu: clipboard access needs https', 'info');
    return;
  }
  navigator.clipboard
    .readText()
    .then((text) => {
      if (text) term.paste(text);
    })
    .catch(() => store.toast('Could not read the clipboard: allow clipboard access for this site', 'info'));
}

/** Which renderer each terminal ended up with (for the test hook). */
const rendererOf = new WeakMap<Terminal, 'webgl' | 'dom'>();

/** Loads the WebGL renderer, which draws box-drawing and block glyphs itself; the DOM renderer stays where WebGL fails. */
function loadWebgl(term: Terminal, isDisposed: () => boolean, onChange: () => void): void {
  import('@xterm/addon-webgl')
    .then(({ WebglAddon }) => {
      if (isDisposed()) return;
      try {
        const webgl = new WebglAddon();
        webgl.onContextLoss(() => {
          webgl.dispose();
          rendererOf.set(term, 'dom');
          onChange();
        });
        term.loadAddon(webgl);
        rendererOf.set(term, 'webgl');
      } catch (e) {
        console.info('flotilla: WebGL unavailable, using the DOM renderer:', errorMessage(e));
      }
      onChange();
    })
    .catch((e: unknown) => console.info('flotilla: WebGL renderer not loaded:', errorMessage(e)));
}

/** What the effects share: the terminal, its stream, and how to push the preferred size to the hub. */
interface Live {
  term: Terminal;
  stream: TerminalStream;
  acks: AckCoalescer;
  /** Measures the box, recomputes the preferred size and places the terminal in it. */
  layout: () => void;
  /** Sends the preferred size unless it was already sent; `force` resends it. */
  sendSize: (force?: boolean) => void;
}

/** The session's PTY size as the hub last announced it to this viewer. */
interface PtySize {
  cols: number;
  rows: number;
  /** Whether this viewer's preferred size is the one in force. */
  driver: boolean;
}

export function TerminalView({
  hub,
  sessionId,
  session,
  host,
  connected,
  hostEpoch,
}: {
  hub: HubConnection;
  sessionId: string;
  session: SessionSummary | undefined;
  host: HostSummary | undefined;
  connected: boolean;
  /** Changes whenever the session's host comes (back) online. */
  hostEpoch: number;
}) {
  const containerRef = useRef<HTMLDivElement>(null);
  const liveRef = useRef<Live | null>(null);
  const [attach, setAttach] = useState<{ state: 'pending' | 'attached' | 'error'; message?: string }>({ state: 'pending' });
  const [gaps, setGaps] = useState(0);
  const [ptySize, setPtySize] = useState<PtySize | null>(null);
  const [layoutMode, setLayoutMode] = useState<LayoutMode | null>(null);
  const running = session ? isLive(session) : true;
  const runningRef = useRef(running);
  const now = useNow();
  const archive = useArchive();

  // The terminal lives as long as the view; it is not recreated on reconnects.
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const term = new Terminal({
      theme: THEME,
      fontFamily: '"JetBrains Mono", "Fira Code", "Cascadia Code", Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: window.innerWidth < 600 ? 12 : 13,
      // Rows touch, so box drawing and block art have no gaps; customGlyphs
      // (WebGL renderer) draws those characters to fill their cells exactly.
      lineHeight: 1,
      customGlyphs: true,
      rescaleOverlappingGlyphs: true,
      scrollback: 10_000,
      cursorBlink: true,
      allowProposedApi: false,
    });
    rendererOf.set(term, 'dom');
    term.loadAddon(new WebLinksAddon());
    term.open(container);
    // The daemon answers the program's queries; a reply from here would be a second one (typed in as input).
    const queries = swallowTerminalQueries(term.parser);
    let disposed = false;

    // The size this viewer would give the PTY (its box, in whole cells), and
    // how the terminal, which always has the session's size, sits in the box.
    let preferred: { cols: number; rows: number } | null = null;
    let scale = 1;
    let mode: LayoutMode | null = null;
    const layout = () => {
      let m: Measured | null = null;
      try {
        m = measure(term, container);
      } catch {
        // The container can be detached or zero-sized mid-layout; the next resize fixes it.
      }
      if (!m || !term.element) return;
      preferred = fitGeometry(m);
      // Until the hub says the session's size (an older hub never does), the terminal takes the box's.
      if (!stream.sessionSize && preferred && (preferred.cols !== term.cols || preferred.rows !== term.rows)) {
        term.resize(preferred.cols, preferred.rows);
      }
      const placed = terminalLayout({ ...m, cols: term.cols, rows: term.rows });
      if (!placed) return;
      const el = term.element;
      el.style.width = `${placed.width}px`;
      el.style.height = `${placed.height}px`;
      el.style.transformOrigin = '0 0';
      el.style.transform = placed.scale < 1 ? `scale(${placed.scale})` : '';
      scale = placed.scale;
      mode = placed.mode;
      setLayoutMode(placed.mode);
    };

    // Output, snapshots and PTY sizes, in order; every parsed byte is acked.
    const acks = new AckCoalescer((offset) => hub.ack(sessionId, offset));
    const stream = new TerminalStream(
      {
        write: (data, parsed) => term.write(data, parsed),
        reset: () => term.reset(),
        resize: (cols, rows) => {
          if (cols !== term.cols || rows !== term.rows) term.resize(cols, rows);
          layout();
        },
      },
      acks,
      setGaps,
    );
    const unsubscribe = hub.onTerminal(sessionId, {
      output: (frame) => stream.output(frame),
      snapshot: (snapshot) => {
        stream.snapshot(snapshot);
        // The snapshot's size is the session's too (the note shows what is rendered).
        setPtySize((prev) => (prev ? { ...prev, cols: snapshot.cols, rows: snapshot.rows } : prev));
      },
      resized: (e) => {
        stream.resized(e.size);
        setPtySize({ cols: e.size.cols, rows: e.size.rows, driver: e.driver });
      },
    });
    layout();

    // Ctrl+C copies a selection instead of interrupting; Ctrl+Shift+C/V copy and paste.
    term.attachCustomKeyEventHandler((e) => {
      const action = keyAction(e, term.hasSelection());
      if (action === 'pass') return true;
      if (e.type === 'keydown') {
        e.preventDefault();
        if (action === 'copy') copySelection(term);
        else pasteClipboard(term);
      }
      return false;
    });

    // xterm 6.0 does not scroll on touch; a vertical drag scrolls the
    // scrollback here (or scrolls a full-screen program, see below). Capture phase, so the terminal's own handlers cannot
    // swallow it; not passive, so the page does not scroll or bounce instead.
    let touch: TouchScroll | null = null;
    const onTouchStart = (e: TouchEvent) => {
      const t = e.touches[0];
      touch = e.touches.length === 1 && t ? { lastY: t.clientY, restPx: 0 } : null;
    };
    const onTouchMove = (e: TouchEvent) => {
      const t = e.touches[0];
      if (!touch || e.touches.length !== 1 || !t) return;
      // A scaled-down terminal's rows are that much shorter on screen.
      const cellHeight = cellSize(term).height * scale;
      const step = touchScrollStep(touch, t.clientY, cellHeight);
      touch = step.state;
      if (step.lines !== 0) {
        if (term.modes.mouseTrackingMode !== 'none' || term.buffer.active.type === 'alternate') {
          // A full-screen program (vim, less, an agent's TUI) has no scrollback
          // here: hand it wheel events, which xterm turns into mouse reports
          // or arrow keys, as it does for a mouse wheel.
          for (let i = 0; i < Math.abs(step.lines); i++) {
            term.element?.dispatchEvent(
              new WheelEvent('wheel', {
                // One line per event (pixel deltas this small count as a trackpad's, at a third).
                deltaY: Math.sign(step.lines),
                deltaMode: WheelEvent.DOM_DELTA_LINE,
                clientX: t.clientX,
                clientY: t.clientY,
                bubbles: true,
                cancelable: true,
              }),
            );
          }
        } else {
          term.scrollLines(step.lines);
        }
      }
      if (e.cancelable) e.preventDefault();
    };
    const onTouchEnd = () => {
      touch = null;
    };
    // On a scaled-down terminal xterm.js would map the pointer to the wrong
    // cell (it divides by its unscaled cell size): mouse events on it, and
    // those of a drag that started on it, get unscaled coordinates first.
    // Window capture runs before every listener xterm has (element or document).
    let dragging = false;
    const unscaleMouse = (e: MouseEvent) => {
      const el = term.element;
      if (scale >= 1 || !el) {
        dragging = false;
        return;
      }
      const inside = e.target instanceof Node && el.contains(e.target);
      if (e.type === 'mousedown') dragging = inside;
      if (!inside && !dragging) return;
      if (e.type === 'mouseup') dragging = false;
      const p = unscalePoint(e.clientX, e.clientY, el.getBoundingClientRect(), scale);
      Object.defineProperty(e, 'clientX', { value: p.x, configurable: true });
      Object.defineProperty(e, 'clientY', { value: p.y, configurable: true });
    };
    const mouseTypes = ['mousedown', 'mousemove', 'mouseup', 'click', 'dblclick', 'contextmenu', 'wheel'] as const;
    for (const type of mouseTypes) window.addEventListener(type, unscaleMouse, { capture: true });
    const touchOpts: AddEventListenerOptions = { capture: true, passive: false };
    container.addEventListener('touchstart', onTouchStart, touchOpts);
    container.addEventListener('touchmove', onTouchMove, touchOpts);
    container.addEventListener('touchend', onTouchEnd, touchOpts);
    container.addEventListener('touchcancel', onTouchEnd, touchOpts);

    const queue = new InputQueue(
      (data) => hub.input(sessionId, data),
      MAX_INPUT_BYTES,
      (e) => store.toast(`Input not delivered: ${errorMessage(e)}`),
    );
    const onData = term.onData((d) => {
      if (runningRef.current) queue.push(d);
    });
    const onBinary = term.onBinary((d) => {
      if (runningRef.current) queue.push(d);
    });

    // The preferred size goes to the hub whenever it changes (and once per
    // attach); the hub applies it while this viewer drives (typed last).
    let sent = '';
    const sendSize = (force = false) => {
      if (!hub.connected || !runningRef.current || !preferred) return;
      const cols = Math.min(preferred.cols, MAX_TERMINAL_DIMENSION);
      const rows = Math.min(preferred.rows, MAX_TERMINAL_DIMENSION);
      const key = `${cols}x${rows}`;
      if (!force && key === sent) return;
      sent = key;
      hub.resize(sessionId, { cols, rows }).catch((e: unknown) => {
        // Typically the host is away; the next attach sends the size again.
        sent = '';
        console.warn('flotilla: resize not applied:', errorMessage(e));
      });
    };
    liveRef.current = { term, stream, acks, layout, sendSize };

    let timer: ReturnType<typeof setTimeout> | undefined;
    const refit = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        layout();
        sendSize();
      }, 120);
    };
    const observer = new ResizeObserver(refit);
    observer.observe(container);
    // The phone's visible area changes (keyboard, URL bar) without always resizing the layout viewport.
    window.visualViewport?.addEventListener('resize', refit);
    // Cell sizes change when the web font arrives and when the renderer switches.
    void document.fonts?.ready.then(() => {
      if (!disposed) refit();
    });
    loadWebgl(term, () => disposed, refit);
    const unregister = registerTerminal(sessionId, term, () => rendererOf.get(term) ?? 'unknown', () => ({
      layout: mode,
      scale,
      sessionSize: stream.sessionSize,
      preferred,
      snapshots: stream.snapshots,
      since: stream.since ?? null,
      acked: acks.lastSent,
      busy: stream.busy,
      sizeLog: [...stream.sizeLog],
    }));
    term.focus();

    return () => {
      disposed = true;
      clearTimeout(timer);
      observer.disconnect();
      window.visualViewport?.removeEventListener('resize', refit);
      for (const type of mouseTypes) window.removeEventListener(type, unscaleMouse, { capture: true });
      container.removeEventListener('touchstart', onTouchStart, touchOpts);
      container.removeEventListener('touchmove', onTouchMove, touchOpts);
      container.removeEventListener('touchend', onTouchEnd, touchOpts);
      container.removeEventListener('touchcancel', onTouchEnd, touchOpts);
      unregister();
      queries.dispose();
      stream.dispose();
      acks.dispose();
      onData.dispose();
      onBinary.dispose();
      queue.close();
      unsubscribe();
      liveRef.current = null;
      term.dispose();
    };
  }, [hub, sessionId]);

  useEffect(() => {
    runningRef.current = running;
    const live = liveRef.current;
    if (!live) return;
    live.term.options.disableStdin = !running;
    live.term.options.cursorBlink = running;
  }, [running]);

  // Attach whenever the socket is (re)connected or the host comes back, from
  // the end of what the terminal already has (`since`): the hub sends exactly
  // the missing output, or a snapshot; the stream drops what it resends twice.
  useEffect(() => {
    if (!connected) return;
    let cancelled = false;
    const live = liveRef.current;
    // The hub's count of unacknowledged output starts afresh with this attach.
    live?.acks.restart();
    hub
      .attach(sessionId, live?.stream.since)
      .then((s) => {
        if (cancelled) return;
        store.upsertSession(s);
        runningRef.current = isLive(s);
        setAttach({ state: 'attached' });
        const current = liveRef.current;
        if (current) {
          current.layout();
          current.sendSize(true);
        }
      })
      .catch((e: unknown) => {
        if (!cancelled) setAttach({ state: 'error', message: errorMessage(e) });
      });
    return () => {
      cancelled = true;
      if (hub.connected) hub.detach(sessionId).catch(() => {});
    };
  }, [hub, sessionId, connected, hostEpoch]);

  const note = ptySize && running ? sizeNote(ptySize, ptySize.driver) : null;

  return (
    <div className="terminal-view" data-testid="terminal-view" data-session-id={sessionId} data-attach={attach.state}>
      <div className="terminal-head">
        <button className="btn small ghost back" onClick={openOverview} aria-label="Close terminal" data-testid="close-terminal">
          ←
        </button>
        {session ? (
          <>
            <ProfileChip name={session.profile} profile={findProfile(host, session.profile)} />
            <span className="terminal-title" title={session.project}>
              {projectName(host, session.project)}
            </span>
            <span className="muted small hide-narrow">on {host?.name ?? 'unknown host'}</span>
            <SessionStateBadge session={session} host={host} now={now} testId="terminal-state" />
            {isArchived(session) && (
              <span className="badge" title={session.archivedAt ?? undefined} data-testid="terminal-archived">
                archived
              </span>
            )}
          </>
        ) : (
          <span className="terminal-title mono">{sessionId}</span>
        )}
        <span className="spacer" />
        {gaps > 0 && (
          <span className="badge warn" title="Some output was lost between frames">
            {gaps} gap{gaps === 1 ? '' : 's'}
          </span>
        )}
        {!connected && <span className="badge warn">reconnecting</span>}
        {session && <StopButton session={session} host={host} />}
        {session && <ArchiveButton session={session} control={archive} />}
      </div>
      <ArchiveError control={archive} className="terminal-error" />
      {session?.worktree && <WorktreeDetail sessionId={session.id} state={session.state} worktree={session.worktree} />}
      {session?.usage && <SessionUsageDetail sessionId={session.id} usage={session.usage} />}
      {attach.state === 'error' && (
        <div className="terminal-error" role="alert" data-testid="attach-error">
          Could not attach: {attach.message}
        </div>
      )}
      {session?.state === 'failed' && session.error && (
        <div className="terminal-error" role="alert">
          {session.error}
        </div>
      )}
      {/* The note floats over the terminal's box, so whether it shows never changes the size this viewer prefers. */}
      <div className="terminal-stage">
        <div className="terminal-host" ref={containerRef} data-testid="terminal" data-layout={layoutMode ?? undefined} />
        {note && (
          <div className="terminal-note" data-testid="terminal-size-note" title="The session's terminal has the size of the viewer who typed last">
            {note}
          </div>
        )}
      </div>
    </div>
  );
}
