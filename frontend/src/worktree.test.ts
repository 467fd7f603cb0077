import { describe, expect, it } from 'vitest';
import { testSession as session } from './testSession';
import { MAX_BASE_REF_BYTES, baseLabel, checkBaseRef, defaultIsolate, shortCommit } from './worktree';

describe('defaultIsolate', () => {
  it('is on when another live session on the host uses the project', () => {
    expect(defaultIsolate([session('running')], 'h1', '/srv/projects/app')).toBe(true);
    expect(defaultIsolate([session('starting')], 'h1', '/srv/projects/app')).toBe(true);
  });

  it('is off for ended sessions, other hosts and other projects', () => {
    for (const state of ['exited', 'failed', 'lost'] as const) {
      expect(defaultIsolate([session(state)], 'h1', '/srv/projects/app'), state).toBe(false);
    }
    expect(defaultIsolate([session('running', { hostId: 'h2' })], 'h1', '/srv/projects/app')).toBe(false);
    expect(defaultIsolate([session('running', { project: '/srv/projects/web' })], 'h1', '/srv/projects/app')).toBe(false);
    expect(defaultIsolate([], 'h1', '/srv/projects/app')).toBe(false);
  });

  it('counts a live session that itself runs in a worktree', () => {
    const isolated = session('running', {
      worktree: { path: '/srv/projects/app/.flotilla/worktrees/x', branch: 'flotilla/x', baseRef: 'main', baseCommit: 'abc' },
    });
    expect(defaultIsolate([isolated], 'h1', '/srv/projects/app')).toBe(true);
  });

  it('is off while no host or project is chosen', () => {
    expect(defaultIsolate([session('running', { hostId: '', project: '' })], '', '')).toBe(false);
  });
});

describe('checkBaseRef', () => {
  it.each(['main', 'origin/release-1.2', 'HEAD~2', 'v1.0.0', 'a1b2c3d', 'feature/ünïcode', 'm'.repeat(MAX_BASE_REF_BYTES)])(
    'accepts %s',
    (base) => {
      expect(checkBaseRef(base)).toBeNull();
    },
  );

  it.each([
    ['', 'The base is empty'],
    ['-b', "The base must not start with '-'"],
    ['--exec=x', "The base must not start with '-'"],
    ['a b', 'The base must not contain spaces or control characters'],
    ['a\nb', 'The base must not contain spaces or control characters'],
    ['a\tb', 'The base must not contain spaces or control characters'],
    ['a\u00a0b', 'The base must not contain spaces or control characters'],
    ['a\u0085b', 'The base must not contain spaces or control characters'],
    ['a\u0000b', 'The base must not contain spaces or control characters'],
    ['m'.repeat(201), 'The base is 201 bytes; at most 200'],
  ])('refuses %j', (base, message) => {
    expect(checkBaseRef(base)).toBe(message);
  });

  it('counts bytes, not characters, as the hub does', () => {
    // 'é' is two bytes in UTF-8: 101 of them are 202 bytes.
    expect(checkBaseRef('é'.repeat(100))).toBeNull();
    expect(checkBaseRef('é'.repeat(101))).toBe('The base is 202 bytes; at most 200');
  });
});

describe('shortCommit', () => {
  it('keeps the first 7 hex digits', () => {
    expect(shortCommit('0123456789abcdef0123456789abcdef01234567')).toBe('0123456');
    expect(shortCommit('abc')).toBe('abc');
    expect(shortCommit('')).toBe('');
  });
});

describe('baseLabel', () => {
  const sha = '0123456789abcdef0123456789abcdef01234567';
  it('names the ref and its short commit', () => {
    expect(baseLabel({ baseRef: 'main', baseCommit: sha })).toBe('from main @ 0123456');
    expect(baseLabel({ baseRef: 'origin/release-1.2', baseCommit: sha })).toBe('from origin/release-1.2 @ 0123456');
  });

  it('names the commit once when the base was the commit', () => {
    expect(baseLabel({ baseRef: sha, baseCommit: sha })).toBe('from 0123456');
    expect(baseLabel({ baseRef: '0123456789AB', baseCommit: sha })).toBe('from 0123456');
    expect(baseLabel({ baseRef: '', baseCommit: sha })).toBe('from 0123456');
  });

  it('keeps a hex-looking ref that is not the commit', () => {
    expect(baseLabel({ baseRef: 'beef', baseCommit: sha })).toBe('from beef @ 0123456');
  });
});
