import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import type { WorktreeStatus } from './protocol/generated/protocol';
import { testSession as session } from './testSession';
import {
  MAX_BASE_REF_BYTES,
  baseLabel,
  checkBaseRef,
  defaultIsolate,
  gitStateLabel,
  isChangedSince,
  lossSummary,
  moreLabel,
  nothingLost,
  removedLabel,
  shortCommit,
  statusLetters,
  worktreeFailure,
} from './worktree';

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

/** A worktree with nothing in it but the base commit; `extra` adds the rest. */
function wtStatus(extra: Partial<WorktreeStatus> = {}): WorktreeStatus {
  return {
    exists: true,
    branchExists: true,
    head: '0123456789abcdef0123456789abcdef01234567',
    ahead: 0,
    behind: 0,
    changes: [],
    changeCount: 0,
    ignored: [],
    ignoredCount: 0,
    uniqueCommits: [],
    uniqueCommitCount: 0,
    fingerprint: 'f1',
    ...extra,
  };
}

describe('gitStateLabel', () => {
  it('counts what is ahead, behind and changed', () => {
    expect(gitStateLabel(wtStatus({ ahead: 2, behind: 1, changeCount: 3 }))).toBe('2 ahead · 1 behind · 3 changed');
  });

  it('leaves out the zero parts', () => {
    expect(gitStateLabel(wtStatus({ changeCount: 1 }))).toBe('1 changed');
    expect(gitStateLabel(wtStatus({ behind: 4, changeCount: 1 }))).toBe('4 behind · 1 changed');
  });

  it('says clean when commits differ but nothing is uncommitted', () => {
    expect(gitStateLabel(wtStatus({ ahead: 2 }))).toBe('2 ahead · clean');
  });

  it('says clean, up to date when all is zero', () => {
    expect(gitStateLabel(wtStatus())).toBe('clean, up to date');
  });

  it('ignores ignored files, which most worktrees have', () => {
    expect(gitStateLabel(wtStatus({ ignored: ['node_modules'], ignoredCount: 1 }))).toBe('clean, up to date');
  });

  it('says when the directory or the branch is gone', () => {
    expect(gitStateLabel(wtStatus({ exists: false, ahead: 2 }))).toBe('directory removed');
    expect(gitStateLabel(wtStatus({ exists: false, branchExists: false }))).toBe('directory removed · branch deleted');
    expect(gitStateLabel(wtStatus({ branchExists: false, changeCount: 1 }))).toBe('1 changed · branch deleted');
  });
});

describe('statusLetters', () => {
  it.each([
    [' M', 'modified'],
    ['M ', 'modified'],
    ['MM', 'modified'],
    ['A ', 'added'],
    ['AM', 'added, modified'],
    [' D', 'deleted'],
    ['R ', 'renamed'],
    ['RM', 'renamed, modified'],
    ['C ', 'copied'],
    [' T', 'type changed'],
    ['??', 'untracked'],
    ['!!', 'ignored'],
    ['UU', 'conflicted'],
    ['AA', 'conflicted'],
    ['DU', 'conflicted'],
  ])('reads %j as %s', (xy, words) => {
    expect(statusLetters(xy)).toBe(words);
  });

  it('gives unknown letters back as they are', () => {
    expect(statusLetters(' X')).toBe('X');
    expect(statusLetters('  ')).toBe('changed');
  });
});

describe('lossSummary', () => {
  const full = wtStatus({
    changes: [
      { path: 'work.txt', status: '??' },
      { path: 'src/main.rs', status: ' M' },
    ],
    changeCount: 2,
    ignored: ['.env'],
    ignoredCount: 1,
    uniqueCommits: [{ commit: 'abcdef0123456789abcdef0123456789abcdef01', summary: 'wip: parser' }],
    uniqueCommitCount: 1,
  });

  it('keeping the branch loses the changes and ignored entries, not the commits', () => {
    const sections = lossSummary(full, true);
    expect(sections.map((s) => s.kind)).toEqual(['changes', 'ignored']);
    expect(sections[0]).toEqual({
      kind: 'changes',
      title: '2 uncommitted changes (edited and untracked files)',
      count: 2,
      items: [
        { key: 'work.txt', label: 'work.txt', detail: 'untracked' },
        { key: 'src/main.rs', label: 'src/main.rs', detail: 'modified' },
      ],
      more: 0,
    });
    expect(sections[1]).toMatchObject({ title: '1 ignored file or folder (such as .env or node_modules)', count: 1, more: 0 });
    expect(sections[1]?.items).toEqual([{ key: '.env', label: '.env', detail: null }]);
  });

  it('deleting the branch loses its unique commits too', () => {
    const sections = lossSummary(full, false);
    expect(sections.map((s) => s.kind)).toEqual(['changes', 'ignored', 'commits']);
    expect(sections[2]).toEqual({
      kind: 'commits',
      title: '1 commit on no other branch, tag or remote',
      count: 1,
      items: [{ key: 'abcdef0123456789abcdef0123456789abcdef01', label: 'abcdef0 wip: parser', detail: null }],
      more: 0,
    });
  });

  it('counts what the hub did not list', () => {
    const changes = Array.from({ length: 200 }, (_, i) => ({ path: `f${i}.txt`, status: '??' }));
    const section = lossSummary(wtStatus({ changes, changeCount: 212 }), true)[0]!;
    expect(section.title).toBe('212 uncommitted changes (edited and untracked files)');
    expect(section.items).toHaveLength(200);
    expect(section.more).toBe(12);
    expect(moreLabel(section.more)).toBe('and 12 more');
  });

  it('counts ignored entries and commits beyond the list too', () => {
    const sections = lossSummary(
      wtStatus({ ignored: ['a', 'b'], ignoredCount: 5, uniqueCommits: [{ commit: 'c1', summary: 's' }], uniqueCommitCount: 3 }),
      false,
    );
    expect(sections.map((s) => [s.kind, s.count, s.items.length, s.more])).toEqual([
      ['ignored', 5, 2, 3],
      ['commits', 3, 1, 2],
    ]);
  });

  it('is empty when nothing would be lost', () => {
    expect(lossSummary(wtStatus({ ahead: 3 }), false)).toEqual([]);
  });
});

describe('nothingLost', () => {
  const commitsOnly = wtStatus({ ahead: 1, uniqueCommits: [{ commit: 'c1', summary: 'wip' }], uniqueCommitCount: 1 });

  it('depends on keeping the branch when only commits are at stake', () => {
    expect(nothingLost(commitsOnly, true)).toBe(true);
    expect(nothingLost(commitsOnly, false)).toBe(false);
  });

  it('is true for a clean worktree either way, and false with changes either way', () => {
    expect(nothingLost(wtStatus(), true)).toBe(true);
    expect(nothingLost(wtStatus(), false)).toBe(true);
    const dirty = wtStatus({ changes: [{ path: 'a', status: ' M' }], changeCount: 1 });
    expect(nothingLost(dirty, true)).toBe(false);
    expect(nothingLost(dirty, false)).toBe(false);
  });

  it('counts ignored entries as lost', () => {
    expect(nothingLost(wtStatus({ ignored: ['node_modules'], ignoredCount: 1 }), true)).toBe(false);
  });
});

describe('moreLabel', () => {
  it('is empty for a whole list', () => {
    expect(moreLabel(0)).toBe('');
    expect(moreLabel(1)).toBe('and 1 more');
  });
});

describe('removedLabel', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('says who removed it, when, and what became of the branch', () => {
    expect(removedLabel({ at: '2026-01-01T11:57:00Z', by: 'admin', branchKept: true }, now)).toBe(
      'Worktree removed by admin 3m ago; branch kept',
    );
    expect(removedLabel({ at: '2026-01-01T12:00:00Z', by: 'ana', branchKept: false }, now)).toBe(
      'Worktree removed by ana just now; branch deleted',
    );
  });
});

describe('isChangedSince', () => {
  it('recognises only the hub\'s "changed since" conflict', () => {
    const changed = 'the worktree changed since it was shown (1 changed files, 0 ignored entries, 0 commits on no other branch now); nothing was removed: look again and confirm what you see';
    expect(isChangedSince(new ApiError(409, 'conflict', changed))).toBe(true);
    expect(isChangedSince(new ApiError(409, 'conflict', 'session x still works in /p; stop it first'))).toBe(false);
    expect(isChangedSince(new ApiError(400, 'invalid_input', 'changed since'))).toBe(false);
    expect(isChangedSince(new Error(changed))).toBe(false);
  });
});

describe('worktreeFailure', () => {
  it('tells what to do when the host is offline', () => {
    const err = new ApiError(409, 'conflict', "the session's host is offline; its worktree can be read when it reconnects");
    expect(worktreeFailure('read', err)).toBe(
      "Could not read the worktree: the session's host is offline; its worktree can be read when it reconnects. Refresh once the host is back online.",
    );
  });

  it('asks to try again after a timeout', () => {
    expect(worktreeFailure('read', new ApiError(504, 'timeout', 'the host did not answer'))).toBe(
      'Could not read the worktree: the host did not answer. The host took too long: try again in a moment.',
    );
  });

  it('says to stop a live session first', () => {
    expect(worktreeFailure('discard', new ApiError(409, 'conflict', 'session x still works in /p; stop it first'))).toBe(
      'Could not discard the worktree: session x still works in /p; stop it first. Stop the session, then try again.',
    );
  });

  it('points at the connection when the hub is unreachable', () => {
    expect(worktreeFailure('discard', new ApiError(0, 'network', 'Cannot reach the hub: Failed to fetch'))).toBe(
      'Could not discard the worktree: Cannot reach the hub: Failed to fetch. Check your connection to the hub, then try again.',
    );
  });
});
