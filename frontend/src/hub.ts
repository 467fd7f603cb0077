/**
 * The app's one Socket.IO connection to the hub's UI namespace, plus typed
 * wrappers for the session events. A session's terminal events (output
 * frames, snapshots, PTY sizes) are dispatched by session id to whichever
 * terminal views are listening.
 */
import { io, type Socket } from 'socket.io-client';
import { UI_NAMESPACE, UiEvents } from './protocol/generated/constants';
import type {
  AckOutput,
  AttachSession,
  HostRemoved,
  HostUpdated,
  HubError,
  Reply,
  SessionResized,
  SessionSummary,
  SessionUpdated,
  SessionUsageUpdated,
  TermSize,
} from './protocol/generated/protocol';
import { decodeFrame, decodeSnapshot, type OutputFrame, type SnapshotFrame } from './frames';
import { isUsageEvent } from './usage';
import { HostWatches } from './watch';

/** How long to wait for an acknowledgement before giving up. */
const ACK_TIMEOUT_MS = 15_000;

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

/** Callbacks for hub-wide events. */
export interface HubHandlers {
  onStatus(status: ConnectionStatus, detail?: string): void;
  onConnectError(message: string): void;
  onSessionUpdated(e: SessionUpdated): void;
  onHostUpdated(e: HostUpdated): void;
  onHostRemoved(e: HostRemoved): void;
  /** A session's usage totals changed (attached sessions and watched hosts only). */
  onUsage(e: SessionUsageUpdated): void;
  onHubError(e: HubError): void;
}

/** A failed acknowledgement: a hub error reply, or a timeout. */
export class AckError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AckError';
  }
}

/** What a terminal view receives for its session, in arrival order. */
export interface TerminalListener {
  output(frame: OutputFrame): void;
  snapshot(snapshot: SnapshotFrame): void;
  resized(e: SessionResized): void;
}

/** Whether a `session:resized` payload has the shape of `SessionResized`. */
export function isSessionResized(e: unknown): e is SessionResized {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Partial<SessionResized>;
  const dim = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n > 0;
  return typeof r.sessionId === 'string' && typeof r.driver === 'boolean' && dim(r.size?.cols) && dim(r.size?.rows);
}

export class HubConnection {
  readonly socket: Socket;
  /** The hosts whose `session:usage` updates this connection receives; re-sent on every reconnect. */
  readonly watches: HostWatches;
  private readonly listeners = new Map<string, Set<TerminalListener>>();
  /** Frames and snapshots that could not be decoded, for diagnostics. */
  badFrames = 0;

  constructor(handlers: HubHandlers) {
    this.socket = io(UI_NAMESPACE, {
      path: '/socket.io',
      transports: ['websocket'],
      withCredentials: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.watches = new HostWatches(
      { watch: (id) => this.watchHost(id), unwatch: (id) => this.unwatchHost(id) },
      (hostId, error) => console.warn(`flotilla: not watching host ${hostId} for usage:`, error instanceof Error ? error.message : error),
    );
    const s = this.socket;
    handlers.onStatus('connecting');
    s.on('connect', () => {
      // The hub keeps watches per connection: a new one starts with none.
      this.watches.setConnected(true);
      handlers.onStatus('connected');
    });
    s.on('disconnect', (reason) => {
      this.watches.setConnected(false);
      handlers.onStatus('disconnected', reason);
    });
    s.on('connect_error', (err) => {
      handlers.onStatus('disconnected', err.message);
      handlers.onConnectError(err.message);
    });
    s.on(UiEvents.sessionUpdated, (e: SessionUpdated) => handlers.onSessionUpdated(e));
    s.on(UiEvents.hostUpdated, (e: HostUpdated) => handlers.onHostUpdated(e));
    s.on(UiEvents.hostRemoved, (e: HostRemoved) => handlers.onHostRemoved(e));
    s.on(UiEvents.usage, (e: unknown) => {
      if (isUsageEvent(e)) handlers.onUsage(e);
      else console.warn('flotilla: malformed session:usage event', e);
    });
    s.on(UiEvents.error, (e: HubError) => handlers.onHubError(e));
    s.on(UiEvents.output, (payload: unknown) => {
      const r = decodeFrame(payload);
      if (!r.ok) {
        this.badFrames += 1;
        console.warn('flotilla: undecodable output frame', r.error);
        return;
      }
      for (const l of this.listenersOf(r.frame.sessionId)) l.output(r.frame);
    });
    s.on(UiEvents.snapshot, (payload: unknown) => {
      const r = decodeSnapshot(payload);
      if (!r.ok) {
        this.badFrames += 1;
        console.warn('flotilla: undecodable snapshot', r.error);
        return;
      }
      for (const l of this.listenersOf(r.snapshot.sessionId)) l.snapshot(r.snapshot);
    });
    s.on(UiEvents.resized, (e: unknown) => {
      if (!isSessionResized(e)) {
        console.warn('flotilla: malformed session:resized event', e);
        return;
      }
      for (const l of this.listenersOf(e.sessionId)) l.resized(e);
    });
  }

  private listenersOf(sessionId: string): Set<TerminalListener> {
    return this.listeners.get(sessionId.toLowerCase()) ?? new Set();
  }

  /** Receives one session's terminal events until the returned function is called. */
  onTerminal(sessionId: string, listener: TerminalListener): () => void {
    const key = sessionId.toLowerCase();
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  private async call<T>(event: string, arg: unknown): Promise<T> {
    let reply: Reply<T>;
    try {
      reply = (await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, arg)) as Reply<T>;
    } catch {
      throw new AckError('timeout', `The hub did not answer ${event} in time`);
    }
    if (reply && reply.type === 'ok') return reply.value;
    if (reply && reply.type === 'error') throw new AckError(reply.error.code, reply.error.message);
    throw new AckError('internal', `Unexpected reply to ${event}`);
  }

  /**
   * Starts watching a session. `since` (a decimal offset: the end of what the
   * terminal already shows) asks for the output after it, or a snapshot when
   * the hub no longer has all of it; without it the hub sends a snapshot.
   */
  attach(sessionId: string, since?: string): Promise<SessionSummary> {
    const arg: AttachSession = since === undefined ? { sessionId } : { sessionId, since };
    return this.call<SessionSummary>(UiEvents.attach, arg);
  }

  /**
   * Flow control: the terminal has parsed the session's output up to
   * `offset` (decimal). Fire and forget; dropped while disconnected, since the
   * re-attach that follows a reconnect starts the hub's count afresh.
   */
  ack(sessionId: string, offset: string): void {
    if (!this.socket.connected) return;
    const arg: AckOutput = { sessionId, offset };
    this.socket.emit(UiEvents.ack, arg);
  }

  async detach(sessionId: string): Promise<void> {
    await this.call<null>(UiEvents.detach, { sessionId });
  }

  async input(sessionId: string, data: string): Promise<void> {
    await this.call<null>(UiEvents.input, { sessionId, data });
  }

  async resize(sessionId: string, size: TermSize): Promise<void> {
    await this.call<null>(UiEvents.resize, { sessionId, size });
  }

  /** Asks the hub for the `session:usage` updates of every session on a host, for this connection. */
  async watchHost(hostId: string): Promise<void> {
    await this.call<null>(UiEvents.watchHost, { hostId });
  }

  async unwatchHost(hostId: string): Promise<void> {
    await this.call<null>(UiEvents.unwatchHost, { hostId });
  }

  close(): void {
    this.socket.removeAllListeners();
    this.socket.disconnect();
    this.listeners.clear();
  }
}
