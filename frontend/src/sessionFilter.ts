/**
 * Which sessions the list shows: by state (running, ended, all or archived),
 * host, agent and a search text. Pure, and kept in the URL (see `route.ts`)
 * so a filtered view survives a reload and can be shared.
 */
import type { HostSummary, SessionSummary } from './protocol/generated/protocol';

/**
 * `running` counts starting sessions too; `ended` is exited, failed and lost;
 * `all` is both. Archived sessions appear only in `archived`.
 */
export type StateFilter = 'running' | 'ended' | 'all' | 'archived';

export const STATE_FILTERS: readonly StateFilter[] = ['running', 'ended', 'all', 'archived'];

export interface SessionFilter {
  state: StateFilter;
  /** A host id, or `''` for every host. */
  host: string;
  /** A profile name, or `''` for every agent. */
  agent: string;
  /** Free text; every word must match (see {@link matchesSearch}). */
  q: string;
}

/** Ended sessions are hidden until asked for. */
export const DEFAULT_FILTER: SessionFilter = { state: 'running', host: '', agent: '', q: '' };

/** Whether a session counts as running for the filter (it has not ended). */
export function isRunning(s: SessionSummary): boolean {
  return s.state === 'running' || s.state === 'starting';
}

/**
 * Whether a session is archived. Only ended sessions can be; a hub older than
 * the archive omits the field, which counts as not archived.
 */
export function isArchived(s: SessionSummary): boolean {
  return typeof s.archivedAt === 'string';
}

/** Whether a session shows in a state view. */
export function matchesState(s: SessionSummary, state: StateFilter): boolean {
  if (isArchived(s)) return state === 'archived';
  switch (state) {
    case 'running':
      return isRunning(s);
    case 'ended':
      return !isRunning(s);
    case 'all':
      return true;
    case 'archived':
      return false;
  }
}

/** The filter in a hash's query string; unknown or missing values take their default. */
export function parseFilter(params: URLSearchParams): SessionFilter {
  const state = params.get('state');
  return {
    state: STATE_FILTERS.find((s) => s === state) ?? DEFAULT_FILTER.state,
    host: params.get('host') ?? '',
    agent: params.get('agent') ?? '',
    q: params.get('q') ?? '',
  };
}

/** The query string of a filter, without `?`; only what differs from the default is written. */
export function filterSearch(f: SessionFilter): string {
  const params = new URLSearchParams();
  if (f.state !== DEFAULT_FILTER.state) params.set('state', f.state);
  if (f.host) params.set('host', f.host);
  if (f.agent) params.set('agent', f.agent);
  if (f.q) params.set('q', f.q);
  return params.toString();
}

export function isDefaultFilter(f: SessionFilter): boolean {
  return filterSearch(f) === '';
}

/**
 * Whether every word of `q` (case-insensitive) occurs in the session's project
 * path, its agent's name or display name, or its host's name, or starts its id.
 */
export function matchesSearch(s: SessionSummary, host: HostSummary | undefined, q: string): boolean {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const profile = host?.inventory?.profiles.find((p) => p.name === s.profile);
  const haystack = [s.project, s.profile, profile?.displayName ?? '', host?.name ?? '', host?.inventory?.hostname ?? '']
    .join('\n')
    .toLowerCase();
  const id = s.id.toLowerCase();
  return words.every((w) => haystack.includes(w) || id.startsWith(w));
}

export interface FilteredSessions {
  /** The sessions to list, in the order given. */
  shown: SessionSummary[];
  /**
   * Ended, unarchived sessions that match everything but the state filter
   * and are hidden by it: what "12 ended hidden" counts.
   */
  hiddenEnded: number;
  /** Archived sessions that match everything but the state filter and are hidden by it. */
  hiddenArchived: number;
  /** Sessions hidden by the host, agent or search filters. */
  hiddenOther: number;
}

/**
 * Applies a filter. `keepId`, the open session, is always listed, so the
 * selection never vanishes from the list it was picked from.
 */
export function filterSessions(
  sessions: SessionSummary[],
  hosts: HostSummary[],
  f: SessionFilter,
  keepId: string | null = null,
): FilteredSessions {
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const shown: SessionSummary[] = [];
  let hiddenEnded = 0;
  let hiddenArchived = 0;
  let hiddenOther = 0;
  for (const s of sessions) {
    const keep = keepId !== null && s.id.toLowerCase() === keepId.toLowerCase();
    const others =
      (!f.host || s.hostId === f.host) && (!f.agent || s.profile === f.agent) && matchesSearch(s, byId.get(s.hostId), f.q);
    if (keep || (others && matchesState(s, f.state))) shown.push(s);
    else if (!others) hiddenOther++;
    else if (isArchived(s)) hiddenArchived++;
    else if (!isRunning(s)) hiddenEnded++;
  }
  return { shown, hiddenEnded, hiddenArchived, hiddenOther };
}

/**
 * What "Archive all ended" archives: the hub archives every ended session not
 * archived yet, of the selected host or of all hosts, whatever the agent and
 * search filters say. `count` is how many that is; `notShown` how many of
 * them the agent or search filter hides (the button says so).
 */
export interface ArchiveAllScope {
  /** The host to pass as `hostId`, or `null` for every host. */
  hostId: string | null;
  count: number;
  notShown: number;
}

export function archiveAllScope(sessions: SessionSummary[], hosts: HostSummary[], f: SessionFilter): ArchiveAllScope {
  const byId = new Map(hosts.map((h) => [h.id, h]));
  let count = 0;
  let notShown = 0;
  for (const s of sessions) {
    if (isRunning(s) || isArchived(s) || (f.host && s.hostId !== f.host)) continue;
    count++;
    if ((f.agent && s.profile !== f.agent) || !matchesSearch(s, byId.get(s.hostId), f.q)) notShown++;
  }
  return { hostId: f.host || null, count, notShown };
}

/** The agents to offer in the filter: every profile some session ran, sorted. */
export function agentOptions(sessions: SessionSummary[]): string[] {
  return [...new Set(sessions.map((s) => s.profile))].sort((a, b) => a.localeCompare(b));
}
