import { describe, expect, it } from 'vitest';
import type { HostSummary, SessionState, SessionSummary } from './protocol/generated/protocol';
import {
  DEFAULT_FILTER,
  agentOptions,
  filterSearch,
  filterSessions,
  matchesSearch,
  parseFilter,
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
