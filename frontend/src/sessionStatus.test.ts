import { describe, expect, it } from 'vitest';
import type { HostSummary } from './protocol/generated/protocol';
import { testSession as session } from './testSession';
import { pageTitle, sessionStatus, sinceTime, stateLabel } from './sessionStatus';

function host(extra: Partial<HostSummary> = {}): HostSummary {
  return { id: 'h1', name: 'laptop', online: true, lastSeenAt: null, createdAt: '2026-01-01T00:00:00Z', inventory: null, ...extra };
}

const NOW = Date.parse('2026-03-15T18:30:00Z');
const UTC = { timeZone: 'UTC', locale: 'en-GB' };

describe('sessionStatus', () => {
  it('a live session on an online host reads as its state', () => {
    expect(sessionStatus(session('running'), host(), NOW, UTC)).toEqual({ label: 'running', tone: 'running', hostOffline: false });
    expect(sessionStatus(session('starting'), host(), NOW, UTC).label).toBe('starting');
  });

  it('a live session on an offline host says since when', () => {
    const st = sessionStatus(session('running'), host({ online: false, lastSeenAt: '2026-03-15T17:05:00Z' }), NOW, UTC);
    expect(st.label).toBe('host offline since 17:05');
    expect(st.tone).toBe('offline');
    expect(st.hostOffline).toBe(true);
    expect(st.title).toContain('laptop is offline');
    // Another day: the date too.
    const old = sessionStatus(session('starting'), host({ online: false, lastSeenAt: '2026-03-13T09:00:00Z' }), NOW, UTC);
    expect(old.label).toBe('host offline since 13 Mar 09:00');
    // Never seen (no time recorded): just offline.
    expect(sessionStatus(session('running'), host({ online: false }), NOW, UTC).label).toBe('host offline');
  });

  it('an ended session reads as ended, whether or not its host is online', () => {
    const offline = host({ online: false, lastSeenAt: '2026-03-15T17:05:00Z' });
    expect(sessionStatus(session('exited', { exitCode: 2 }), offline, NOW, UTC)).toEqual({
      label: 'exited (2)',
      tone: 'exited',
      hostOffline: false,
    });
    expect(sessionStatus(session('lost'), offline, NOW, UTC).label).toBe('lost');
  });

  it('an unknown host (deleted, or not loaded yet) is not called offline', () => {
    expect(sessionStatus(session('running'), undefined, NOW, UTC).hostOffline).toBe(false);
  });
});

describe('stateLabel', () => {
  it('names the exit code or signal', () => {
    expect(stateLabel(session('exited'))).toBe('exited');
    expect(stateLabel(session('exited', { exitCode: 0 }))).toBe('exited (0)');
    expect(stateLabel(session('exited', { exitCode: null, exitSignal: 'SIGTERM' }))).toBe('exited (SIGTERM)');
    expect(stateLabel(session('failed', { error: 'x' }))).toBe('failed');
  });
});

describe('sinceTime', () => {
  it('writes the time of day for today and the date before', () => {
    expect(sinceTime('2026-03-15T00:01:00Z', NOW, UTC)).toBe('00:01');
    expect(sinceTime('2026-03-14T23:59:00Z', NOW, UTC)).toBe('14 Mar 23:59');
    expect(sinceTime('not a time', NOW, UTC)).toBe('not a time');
  });
});

describe('pageTitle', () => {
  it('names the agent and project of the open session', () => {
    expect(pageTitle(null)).toBe('Flotilla');
    expect(pageTitle({ session: session('running'), host: undefined })).toBe('bash · app — Flotilla');
    const withInventory = host({
      inventory: {
        profiles: [{ name: 'bash', displayName: 'Bash' }],
        projects: [{ path: '/srv/projects/app', name: 'My App' }],
      } as unknown as HostSummary['inventory'],
    });
    expect(pageTitle({ session: session('running'), host: withInventory })).toBe('Bash · My App — Flotilla');
  });
});
