import { describe, expect, it } from 'vitest';
import type { HostSummary, SessionSummary } from './protocol/generated/protocol';
import { basename, markArchived, projectName, relativeTime, relativeTimeMs, removeHost, upsertHost, upsertSession } from './lists';

function session(id: string, createdAt: string, state: SessionSummary['state'] = 'running'): SessionSummary {
  return {
    id,
    hostId: 'h1',
    profile: 'bash',
    project: '/p/x',
    state,
    exitCode: null,
    exitSignal: null,
    error: null,
    size: { cols: 80, rows: 24 },
    createdBy: 'admin',
    createdAt,
    endedAt: null,
    archivedAt: null,
    usage: null,
    worktree: null,
  };
}

function host(id: string, name: string): HostSummary {
  return { id, name, online: true, lastSeenAt: null, createdAt: '2026-01-01T00:00:00Z', inventory: null };
}

describe('sessions', () => {
  it('inserts newest first and replaces in place', () => {
    let l: SessionSummary[] = [];
    l = upsertSession(l, session('a', '2026-01-01T00:00:00Z'));
    l = upsertSession(l, session('b', '2026-01-02T00:00:00Z'));
    l = upsertSession(l, session('c', '2025-12-31T00:00:00Z'));
    expect(l.map((s) => s.id)).toEqual(['b', 'a', 'c']);
    l = upsertSession(l, session('a', '2026-01-01T00:00:00Z', 'exited'));
    expect(l.map((s) => `${s.id}:${s.state}`)).toEqual(['b:running', 'a:exited', 'c:running']);
  });

  it('keeps an ended session when a stale live snapshot arrives after its exit', () => {
    // A stop's REST answer (taken while it was running) after the live exit event.
    let l = upsertSession([], session('a', '2026-01-01T00:00:00Z', 'exited'));
    l = upsertSession(l, session('a', '2026-01-01T00:00:00Z', 'running'));
    expect(l.map((s) => s.state)).toEqual(['exited']);
    l = upsertSession(l, session('a', '2026-01-01T00:00:00Z', 'lost'));
    expect(l.map((s) => s.state)).toEqual(['lost']);
  });
});

describe('archive', () => {
  const T1 = '2026-01-03T00:00:00Z';
  const T2 = '2026-01-04T00:00:00Z';

  it('applies archiving and restoring to an ended session (ended to ended)', () => {
    const ended = session('a', '2026-01-01T00:00:00Z', 'exited');
    let l = upsertSession([session('b', '2026-01-02T00:00:00Z'), ended], { ...ended, archivedAt: T1 });
    expect(l.map((s) => `${s.id}:${s.archivedAt}`)).toEqual(['b:null', `a:${T1}`]);
    l = upsertSession(l, { ...ended, archivedAt: null });
    expect(l.map((s) => `${s.id}:${s.archivedAt}`)).toEqual(['b:null', 'a:null']);
    // Failed and lost sessions are ended too.
    const lost = session('c', '2025-12-31T00:00:00Z', 'lost');
    l = upsertSession(upsertSession(l, lost), { ...lost, archivedAt: T2 });
    expect(l.find((s) => s.id === 'c')?.archivedAt).toBe(T2);
  });

  it('keeps an archived session archived when a stale live snapshot arrives', () => {
    const archived = { ...session('a', '2026-01-01T00:00:00Z', 'exited'), archivedAt: T1 };
    const l = upsertSession([archived], session('a', '2026-01-01T00:00:00Z', 'running'));
    expect(l[0]).toBe(archived);
  });

  it('marks the sessions "archive all" named, keeping archive times the hub already sent', () => {
    const a = session('A', '2026-01-01T00:00:00Z', 'exited');
    const b = { ...session('b', '2026-01-02T00:00:00Z', 'failed'), archivedAt: T1 };
    const c = session('c', '2026-01-03T00:00:00Z', 'exited');
    const l = markArchived([c, b, a], ['a', 'b'], T2);
    expect(l.map((s) => `${s.id}:${s.archivedAt}`)).toEqual(['c:null', `b:${T1}`, `A:${T2}`]);
    expect(l[1]).toBe(b);
    // Nothing to change: the same list.
    expect(markArchived(l, ['b', 'missing'], T2)).toBe(l);
  });
});

describe('hosts', () => {
  it('upserts sorted by name and removes', () => {
    let l: HostSummary[] = [];
    l = upsertHost(l, host('1', 'zeta'));
    l = upsertHost(l, host('2', 'alpha'));
    expect(l.map((h) => h.name)).toEqual(['alpha', 'zeta']);
    l = upsertHost(l, { ...host('1', 'zeta'), online: false });
    expect(l[1]?.online).toBe(false);
    expect(removeHost(l, '2').map((h) => h.id)).toEqual(['1']);
  });
});

describe('names and times', () => {
  it('derives project names', () => {
    expect(basename('/home/me/src/app/')).toBe('app');
    expect(basename('/')).toBe('/');
    const h: HostSummary = {
      ...host('1', 'x'),
      inventory: {
        hostname: 'x',
        daemonVersion: '0.1.0',
        projectRoots: ['/p'],
        profiles: [],
        projects: [{ path: '/p/team/app', name: 'team/app' }],
        profileErrors: [],
      },
    };
    expect(projectName(h, '/p/team/app')).toBe('team/app');
    expect(projectName(h, '/p/other')).toBe('other');
    expect(projectName(undefined, '/p/other')).toBe('other');
  });

  it('formats relative times', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(relativeTime(null, now)).toBe('never');
    expect(relativeTime('2026-01-01T12:00:00Z', now)).toBe('just now');
    expect(relativeTime('2026-01-01T11:59:30Z', now)).toBe('30s ago');
    expect(relativeTime('2026-01-01T11:00:00Z', now)).toBe('1h ago');
    expect(relativeTime('2025-12-30T12:00:00Z', now)).toBe('2d ago');
    expect(relativeTimeMs(now - 42_000, now)).toBe('42s ago');
    expect(relativeTimeMs(now + 3_000, now)).toBe('just now');
    expect(relativeTimeMs(Number.NaN, now)).toBe('unknown');
  });
});
