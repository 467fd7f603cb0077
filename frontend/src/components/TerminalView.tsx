import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import type { HostSummary, SessionSummary } from '../protocol/generated/protocol';
import { MAX_INPUT_BYTES, MAX_TERMINAL_DIMENSION } from '../protocol/generated/constants';
import { errorMessage } from '../api';
import { OutputCursor } from '../frames';
import type { HubConnection } from '../hub';
import { InputQueue } from '../input';
import { projectName } from '../lists';
import { openOverview } from '../route';
import { store } from '../store';
import { registerTerminal } from '../testHook';
import { ProfileChip, findProfile } from './common';
import { StopButton, isLive, stateLabel } from './SessionsList';
import { SessionUsageDetail } from './SessionUsage';

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

/** What the effects share: the terminal and how to push its size to the hub. */
interface Live {
  term: Terminal;
  fit: FitAddon;
  /** Sends the current size unless it was already sent; `force` resends it. */
  sendSize: (force?: boolean) => void;
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
  const running = session ? isLive(session) : true;
  const runningRef = useRef(running);

  // The terminal lives as long as the view; it is not recreated on reconnects.
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const term = new Terminal({
      theme: THEME,
      fontFamily: '"JetBrains Mono", "Fira Code", "Cascadia Code", Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: window.innerWidth < 600 ? 12 : 13,
      lineHeight: 1.15,
      scrollback: 10_000,
      cursorBlink: true,
      allowProposedApi: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new WebLinksAddon());
    term.open(container);
    const safeFit = () => {
      try {
        fit.fit();
      } catch {
        // The container can be detached or zero-sized mid-layout; the next resize fixes it.
      }
    };
    safeFit();

    const cursor = new OutputCursor();
    const unsubscribe = hub.onOutput(sessionId, (frame) => {
      const a = cursor.accept(frame.offset, frame.data);
      if (a.kind === 'duplicate') return;
      if (a.gap > 0) setGaps(cursor.gaps);
      term.write(a.data);
    });

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

    let sent = '';
    const sendSize = (force = false) => {
      if (!hub.connected || !runningRef.current) return;
      const cols = Math.min(term.cols, MAX_TERMINAL_DIMENSION);
      const rows = Math.min(term.rows, MAX_TERMINAL_DIMENSION);
      const key = `${cols}x${rows}`;
      if (!force && key === sent) return;
      sent = key;
      hub.resize(sessionId, { cols, rows }).catch((e: unknown) => {
        // Typically the host is away; the next attach sends the size again.
        sent = '';
        console.warn('flotilla: resize not applied:', errorMessage(e));
      });
    };
    liveRef.current = { term, fit, sendSize };

    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new ResizeObserver(() => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        safeFit();
        sendSize();
      }, 120);
    });
    observer.observe(container);
    const unregister = registerTerminal(sessionId, term);
    term.focus();

    return () => {
      clearTimeout(timer);
      observer.disconnect();
      unregister();
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

  // Attach whenever the socket is (re)connected or the host comes back; the
  // output cursor drops whatever the hub resends that this view already shows.
  useEffect(() => {
    if (!connected) return;
    let cancelled = false;
    hub
      .attach(sessionId)
      .then((s) => {
        if (cancelled) return;
        store.upsertSession(s);
        runningRef.current = isLive(s);
        setAttach({ state: 'attached' });
        const live = liveRef.current;
        if (live) {
          try {
            live.fit.fit();
          } catch {
            // See safeFit above.
          }
          live.sendSize(true);
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
            <span className={`state state-${session.state}`} data-testid="terminal-state">
              {stateLabel(session)}
            </span>
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
        {connected && host && !host.online && session && isLive(session) && (
          <span className="badge warn" title="Output resumes when its daemon reconnects" data-testid="host-offline">
            host offline
          </span>
        )}
        {session && <StopButton session={session} />}
      </div>
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
      <div className="terminal-host" ref={containerRef} data-testid="terminal" />
    </div>
  );
}
