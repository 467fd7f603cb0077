import { describe, expect, it } from 'vitest';
import type { HostSummary, SessionState, SessionSummary } from './protocol/generated/protocol';
import {
  DEFAULT_FILTER,
  agentOptions,
  archiveAllScope,
  filterSearch,
  filterSessions,
  matchesSearch,
  matchesState,
  parseFilter,
  STATE_FILTERS,
  type SessionFilter,
} from './sessionFilter';

function session(id: string, state: SessionState, extra: Partial<SessionSummary> = {}): SessionSummary {
  return {
    id,
    hostId: 'h1',
    profile: 'bash',
    project: '/srv/projects/app',
    state,
    exitCode: null,
    exitSignal: null,
    error: null,
    size: { cols: 80, rows: 24 },
    createdBy: 'admin',
    createdAt: '2026-01-01T00:00:00Z',
    endedAt: null,
    archivedAt: null,
    usage: null,
    worktree: null,
    ...extra,
  };
}

function host(id: string, name: string): HostSummary {
  return {
    id,
    name,
    online: true,
    lastSeenAt: null,
    createdAt: '2026-01-01T00:00:00Z',
    inventory: {
      hostname: `${name}.lan`,
      daemonVersion: '0.1.0',
      profiles: [{ name: 'claude', displayName: 'Claude Code', color: '#d97757', available: true, problems: [] }],
      projects: [],
      projectRoots: [],
    } as unknown as HostSummary['inventory'],
  };
}

const HOSTS = [host('h1', 'laptop'), host('h2', 'build-box')];
const SESSIONS = [
  session('aaaa1111-0000-0000-0000-000000000001', 'running'),
  session('bbbb2222-0000-0000-0000-000000000002', 'starting', { hostId: 'h2', profile: 'claude', project: '/home/me/web' }),
  session('cccc3333-0000-0000-0000-000000000003', 'exited', { exitCode: 0 }),
  session('dddd4444-0000-0000-0000-000000000004', 'failed', { hostId: 'h2', error: 'boom' }),
  session('eeee5555-0000-0000-0000-000000000005', 'lost', { profile: 'claude' }),
];

const ids = (r: { shown: SessionSummary[] }) => r.shown.map((s) => s.id.slice(0, 4));
const f = (over: Partial<SessionFilter>): SessionFilter => ({ ...DEFAULT_FILTER, ...over });

describe('filterSessions', () => {
  it('hides ended sessions by default and counts them', () => {
    const r = filterSessions(SESSIONS, HOSTS, DEFAULT_FILTER);
    expect(ids(r)).toEqual(['aaaa', 'bbbb']);
    expect(r.hiddenEnded).toBe(3);
    expect(r.hiddenOther).toBe(0);
  });

  it('shows only ended sessions, or all of them', () => {
    expect(ids(filterSessions(SESSIONS, HOSTS, f({ state: 'ended' })))).toEqual(['cccc', 'dddd', 'eeee']);
    const all = filterSessions(SESSIONS, HOSTS, f({ state: 'all' }));
    expect(ids(all)).toEqual(['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee']);
    expect(all.hiddenEnded).toBe(0);
  });

  it('filters by host and by agent; the ended count covers only matching sessions', () => {
    const r = filterSessions(SESSIONS, HOSTS, f({ host: 'h2' }));
    expect(ids(r)).toEqual(['bbbb']);
    expect(r.hiddenEnded).toBe(1);
    expect(r.hiddenOther).toBe(3);
    expect(ids(filterSessions(SESSIONS, HOSTS, f({ agent: 'claude', state: 'all' })))).toEqual(['bbbb', 'eeee']);
    expect(ids(filterSessions(SESSIONS, HOSTS, f({ agent: 'claude', host: 'h1', state: 'all' })))).toEqual(['eeee']);
  });

  it('always lists the open session, whatever the filter', () => {
    const r = filterSessions(SESSIONS, HOSTS, f({ host: 'h2' }), 'CCCC3333-0000-0000-0000-000000000003');
    expect(ids(r)).toEqual(['bbbb', 'cccc']);
    expect(r.hiddenEnded).toBe(1);
  });
});

const ARCHIVED_AT = '2026-01-02T00:00:00Z';
// Two more ended sessions, archived: one on each host.
const WITH_ARCHIVE = [
  ...SESSIONS,
  session('ffff6666-0000-0000-0000-000000000006', 'exited', { archivedAt: ARCHIVED_AT }),
  session('99997777-0000-0000-0000-000000000007', 'failed', { hostId: 'h2', profile: 'claude', archivedAt: ARCHIVED_AT }),
];

describe('archived sessions', () => {
  it('are hidden from the running, ended and all views and counted apart', () => {
    const running = filterSessions(WITH_ARCHIVE, HOSTS, DEFAULT_FILTER);
    expect(ids(running)).toEqual(['aaaa', 'bbbb']);
    expect(running.hiddenEnded).toBe(3);
    expect(running.hiddenArchived).toBe(2);
    const ended = filterSessions(WITH_ARCHIVE, HOSTS, f({ state: 'ended' }));
    expect(ids(ended)).toEqual(['cccc', 'dddd', 'eeee']);
    expect(ended.hiddenEnded).toBe(0);
    expect(ended.hiddenArchived).toBe(2);
    const all = filterSessions(WITH_ARCHIVE, HOSTS, f({ state: 'all' }));
    expect(ids(all)).toEqual(['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee']);
    expect(all.hiddenArchived).toBe(2);
  });

  it('are the only ones in the archived view, which hides nothing as "ended"', () => {
    const r = filterSessions(WITH_ARCHIVE, HOSTS, f({ state: 'archived' }));
    expect(ids(r)).toEqual(['ffff', '9999']);
    expect(r.hiddenArchived).toBe(0);
    // The unarchived ended ones are hidden by the state filter and counted as such.
    expect(r.hiddenEnded).toBe(3);
    expect(r.hiddenOther).toBe(0);
  });

  it('are counted only when they match the other filters', () => {
    const r = filterSessions(WITH_ARCHIVE, HOSTS, f({ host: 'h2', state: 'ended' }));
    expect(ids(r)).toEqual(['dddd']);
    expect(r.hiddenArchived).toBe(1);
    expect(r.hiddenOther).toBe(4);
    expect(ids(filterSessions(WITH_ARCHIVE, HOSTS, f({ state: 'archived', agent: 'claude' })))).toEqual(['9999']);
    expect(ids(filterSessions(WITH_ARCHIVE, HOSTS, f({ state: 'archived', q: 'build-box' })))).toEqual(['9999']);
  });

  it('keep the open session listed in any view', () => {
    const r = filterSessions(WITH_ARCHIVE, HOSTS, f({ state: 'ended' }), 'ffff6666-0000-0000-0000-000000000006');
    expect(ids(r)).toEqual(['cccc', 'dddd', 'eeee', 'ffff']);
    expect(r.hiddenArchived).toBe(1);
    const archived = filterSessions(WITH_ARCHIVE, HOSTS, f({ state: 'archived' }), 'cccc3333-0000-0000-0000-000000000003');
    expect(ids(archived)).toEqual(['cccc', 'ffff', '9999']);
  });

  it('matchesState puts each session in exactly the views it belongs to', () => {
    const views = (s: SessionSummary) => STATE_FILTERS.filter((st) => matchesState(s, st));
    expect(views(SESSIONS[0]!)).toEqual(['running', 'all']);
    expect(views(SESSIONS[2]!)).toEqual(['ended', 'all']);
    expect(views(WITH_ARCHIVE[5]!)).toEqual(['archived']);
    // A hub older than the archive leaves the field out: not archived.
    const old = { ...SESSIONS[2]! } as Partial<SessionSummary>;
    delete old.archivedAt;
    expect(views(old as SessionSummary)).toEqual(['ended', 'all']);
  });
});

describe('archiveAllScope', () => {
  it('counts the ended, unarchived sessions of every host', () => {
    expect(archiveAllScope(WITH_ARCHIVE, HOSTS, f({ state: 'ended' }))).toEqual({ hostId: null, count: 3, notShown: 0 });
  });

  it('follows the host filter, which it passes on as hostId', () => {
    expect(archiveAllScope(WITH_ARCHIVE, HOSTS, f({ state: 'ended', host: 'h2' }))).toEqual({ hostId: 'h2', count: 1, notShown: 0 });
    expect(archiveAllScope(WITH_ARCHIVE, HOSTS, f({ state: 'ended', host: 'nope' }))).toEqual({ hostId: 'nope', count: 0, notShown: 0 });
  });

  it('says how many of them the agent or search filter hides, since the hub archives those too', () => {
    expect(archiveAllScope(WITH_ARCHIVE, HOSTS, f({ state: 'ended', agent: 'claude' }))).toEqual({ hostId: null, count: 3, notShown: 2 });
    expect(archiveAllScope(WITH_ARCHIVE, HOSTS, f({ state: 'ended', q: 'laptop' }))).toEqual({ hostId: null, count: 3, notShown: 1 });
  });
});

describe('matchesSearch', () => {
  const [running, claude] = SESSIONS as [SessionSummary, SessionSummary];
  it('matches project path, agent, host name and id prefix, case-insensitively', () => {
    expect(matchesSearch(running, HOSTS[0], 'APP')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], '/srv/proj')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], 'bash')).toBe(true);
    expect(matchesSearch(claude, HOSTS[1], 'claude code')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], 'laptop')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], 'laptop.lan')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], 'aaaa11')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], '')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], '   ')).toBe(true);
  });

  it('needs every word, and an id only by its prefix', () => {
    expect(matchesSearch(running, HOSTS[0], 'app laptop')).toBe(true);
    expect(matchesSearch(running, HOSTS[0], 'app build-box')).toBe(false);
    expect(matchesSearch(running, HOSTS[0], '0000-000000000001')).toBe(false);
    expect(matchesSearch(running, undefined, 'laptop')).toBe(false);
  });

  it('finds sessions through filterSessions too', () => {
    expect(ids(filterSessions(SESSIONS, HOSTS, f({ q: 'web', state: 'all' })))).toEqual(['bbbb']);
    expect(ids(filterSessions(SESSIONS, HOSTS, f({ q: 'build-box', state: 'all' })))).toEqual(['bbbb', 'dddd']);
  });
});

describe('filter in the URL', () => {
  it('round-trips and writes only what differs from the default', () => {
    expect(filterSearch(DEFAULT_FILTER)).toBe('');
    const custom = f({ state: 'all', host: 'h2', agent: 'claude', q: 'my app' });
    const search = filterSearch(custom);
    expect(search).toBe('state=all&host=h2&agent=claude&q=my+app');
    expect(parseFilter(new URLSearchParams(search))).toEqual(custom);
  });

  it('keeps the archived view', () => {
    expect(filterSearch(f({ state: 'archived' }))).toBe('state=archived');
    expect(parseFilter(new URLSearchParams('state=archived')).state).toBe('archived');
  });

  it('takes the default for missing or unknown values', () => {
    expect(parseFilter(new URLSearchParams(''))).toEqual(DEFAULT_FILTER);
    expect(parseFilter(new URLSearchParams('state=bogus&x=1'))).toEqual(DEFAULT_FILTER);
  });
});

describe('agentOptions', () => {
  it('lists each agent once, sorted', () => {
    expect(agentOptions(SESSIONS)).toEqual(['bash', 'claude']);
  });
});
