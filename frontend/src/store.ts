/** App-wide state (hosts, sessions, connection, toasts) as a tiny external store. */
import { useSyncExternalStore } from 'react';
import type { HostSummary, SessionSummary } from './protocol/generated/protocol';
import type { ConnectionStatus } from './hub';
import { removeHost, sortHosts, sortSessions, upsertHost, upsertSession } from './lists';

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
  toasts: Toast[];
}

const initial: AppState = {
  hosts: [],
  sessions: [],
  loaded: false,
  connection: 'connecting',
  connectionDetail: undefined,
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
  setSnapshot(hosts: HostSummary[], sessions: SessionSummary[]): void {
    set({ ...state, hosts: sortHosts(hosts), sessions: sortSessions(sessions), loaded: true });
  },
  upsertSession(s: SessionSummary): void {
    set({ ...state, sessions: upsertSession(state.sessions, s) });
  },
  upsertHost(h: HostSummary): void {
    set({ ...state, hosts: upsertHost(state.hosts, h) });
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
