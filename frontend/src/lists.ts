/** Pure updates of the host and session lists from REST snapshots and live events. */
import type { HostSummary, SessionSummary } from './protocol/generated/protocol';

/** Newest first, ties broken by id so the order is stable. */
export function sortSessions(list: SessionSummary[]): SessionSummary[] {
  return [...list].sort((a, b) => {
    const t = Date.parse(b.createdAt) - Date.parse(a.createdAt);
    if (t !== 0 && !Number.isNaN(t)) return t;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/** Whether a session's state is final: an ended session never runs again. */
export function isEnded(state: SessionSummary['state']): boolean {
  return state === 'exited' || state === 'failed' || state === 'lost';
}

/**
 * Inserts or replaces a session, keeping newest-first order. An ended
 * session is never replaced by a live snapshot of it: a REST answer taken
 * before the exit (e.g. a stop's) can arrive after the live exit event.
 */
export function upsertSession(list: SessionSummary[], s: SessionSummary): SessionSummary[] {
  const i = list.findIndex((x) => x.id === s.id);
  if (i === -1) return sortSessions([s, ...list]);
  const current = list[i];
  if (current && isEnded(current.state) && !isEnded(s.state)) return list;
  const next = [...list];
  next[i] = s;
  return next;
}

/**
 * Marks the listed sessions archived at `at` (an RFC 3339 time), e.g. after
 * "archive all" answered with their ids. A session that already has an
 * archive time keeps it: the hub's own `session:updated` event, which
 * usually arrives first, carries the real one.
 */
export function markArchived(list: SessionSummary[], ids: readonly string[], at: string): SessionSummary[] {
  const wanted = new Set(ids.map((id) => id.toLowerCase()));
  let changed = false;
  const next = list.map((s) => {
    if (!wanted.has(s.id.toLowerCase()) || typeof s.archivedAt === 'string') return s;
    changed = true;
    return { ...s, archivedAt: at };
  });
  return changed ? next : list;
}

/** Hosts sorted by name. */
export function sortHosts(list: HostSummary[]): HostSummary[] {
  return [...list].sort((a, b) => a.name.localeCompare(b.name));
}

/** Inserts or replaces a host. */
export function upsertHost(list: HostSummary[], h: HostSummary): HostSummary[] {
  const i = list.findIndex((x) => x.id === h.id);
  if (i === -1) return sortHosts([...list, h]);
  const next = [...list];
  next[i] = h;
  return next;
}

/** Removes a host. */
export function removeHost(list: HostSummary[], id: string): HostSummary[] {
  return list.filter((h) => h.id !== id);
}

/** The last path component, for display when a project is not in the inventory. */
export function basename(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i === -1 ? trimmed || path : trimmed.slice(i + 1) || path;
}

/** A project's display name: its inventory name, else its last path component. */
export function projectName(host: HostSummary | undefined, path: string): string {
  const p = host?.inventory?.projects.find((x) => x.path === path);
  return p ? p.name || basename(path) : basename(path);
}

/** A short relative time like "5s ago", "3m ago", "2h ago", or a date. */
export function relativeTime(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return relativeTimeMs(t, now);
}

/** {@link relativeTime} of an instant in milliseconds since the Unix epoch. */
export function relativeTimeMs(t: number, now: number): string {
  if (!Number.isFinite(t)) return 'unknown';
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ago`;
  const d = Math.floor(h / 24);
  if (d < 7) return `${d}d ago`;
  return new Date(t).toLocaleDateString();
}
