/** App-wide state (hosts, sessions, connection, toasts) as a tiny external store. */
import { useSyncExternalStore } from 'react';
import type { HostSummary, SessionSummary, SessionUsageUpdated } from './protocol/generated/protocol';
import type { ConnectionStatus } from './hub';
import { markArchived, removeHost, sortHosts, sortSessions, upsertHost, upsertSession } from './lists';
import { applyUsageEvent, mergeSessionsUsage, type PendingUsage } from './usage';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  message: string;
}

export interface AppState {
  hosts: HostSummary[];
  sessions: SessionSummary[];
  /** Whether the first REST snapshot arrived. */
  loaded: boolean;
  connection: ConnectionStatus;
  connectionDetail: string | undefined;
  /**
   * Per host, how many `host:updated` events since load said it is online (its
   * daemon connected, or its inventory changed while connected). A viewer
   * re-attaches when it changes: the hub streams a session's output only while
   * its daemon is connected, so an attach made while it was away yields nothing.
   */
  hostEpochs: Record<string, number>;
  /** `session:usage` readings for sessions not in the list yet. */
  pendingUsage: PendingUsage;
  toasts: Toast[];
}

const initial: AppState = {
  hosts: [],
  sessions: [],
  loaded: false,
  connection: 'connecting',
  connectionDetail: undefined,
  hostEpochs: {},
  pendingUsage: {},
  toasts: [],
};

let state: AppState = initial;
const subscribers = new Set<() => void>();
let toastSeq = 0;

function set(next: AppState): void {
  state = next;
  for (const s of subscribers) s();
}

export const store = {
  get: (): AppState => state,
  subscribe(cb: () => void): () => void {
    subscribers.add(cb);
    return () => subscribers.delete(cb);
  },
  reset(): void {
    set(initial);
  },
  /** A REST snapshot; usage readings newer than it (live events that overtook it) are kept. */
  setSnapshot(hosts: HostSummary[], sessions: SessionSummary[]): void {
    const merged = mergeSessionsUsage(sessions, state.sessions, state.pendingUsage);
    set({ ...state, hosts: sortHosts(hosts), sessions: sortSessions(merged.sessions), pendingUsage: merged.pending, loaded: true });
  },
  /** A session from an event or a reply; its usage never replaces a newer reading. */
  upsertSession(s: SessionSummary): void {
    const merged = mergeSessionsUsage([s], state.sessions, state.pendingUsage);
    const session = merged.sessions[0] ?? s;
    set({ ...state, sessions: upsertSession(state.sessions, session), pendingUsage: merged.pending });
  },
  /** Sessions that "archive all" archived; their `session:updated` events may already have done it. */
  markArchived(ids: readonly string[], at: string): void {
    const sessions = markArchived(state.sessions, ids, at);
    if (sessions !== state.sessions) set({ ...state, sessions });
  },
  /** A live `session:usage` event: replaces the session's usage when newer. */
  usageEvent(e: SessionUsageUpdated): void {
    const next = applyUsageEvent({ sessions: state.sessions, pending: state.pendingUsage }, e);
    if (next.sessions === state.sessions && next.pending === state.pendingUsage) return;
    set({ ...state, sessions: next.sessions, pendingUsage: next.pending });
  },
  upsertHost(h: HostSummary): void {
    set({ ...state, hosts: upsertHost(state.hosts, h) });
  },
  /** A live `host:updated` event. */
  hostEvent(h: HostSummary): void {
    const hostEpochs = h.online ? { ...state.hostEpochs, [h.id]: (state.hostEpochs[h.id] ?? 0) + 1 } : state.hostEpochs;
    set({ ...state, hosts: upsertHost(state.hosts, h), hostEpochs });
  },
  removeHost(id: string): void {
    set({ ...state, hosts: removeHost(state.hosts, id) });
  },
  setConnection(connection: ConnectionStatus, detail?: string): void {
    if (state.connection === connection && state.connectionDetail === detail) return;
    set({ ...state, connection, connectionDetail: detail });
  },
  toast(message: string, kind: Toast['kind'] = 'error'): void {
    const id = ++toastSeq;
    // Identical messages in a burst collapse into one.
    if (state.toasts.some((t) => t.message === message)) return;
    set({ ...state, toasts: [...state.toasts.slice(-4), { id, kind, message }] });
    setTimeout(() => store.dismiss(id), kind === 'error' ? 8000 : 4000);
  },
  dismiss(id: number): void {
    if (!state.toasts.some((t) => t.id === id)) return;
    set({ ...state, toasts: state.toasts.filter((t) => t.id !== id) });
  },
};

export function useAppState(): AppState {
  return useSyncExternalStore(store.subscribe, store.get);
}
