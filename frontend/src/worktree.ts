/**
 * Git worktree isolation as the UI sees it: the spawn dialog's default (the
 * hub's rule when a spawn does not say), the hub's check of a typed base ref,
 * how a worktree's commit and git state are shown, and what discarding it
 * would lose.
 */
import { ApiError, errorMessage } from './api';
import { relativeTime } from './lists';
import type { SessionSummary, WorktreeInfo, WorktreeRemoved, WorktreeStatus } from './protocol/generated/protocol';

/** Longest base ref the hub accepts, in UTF-8 bytes (`MAX_BASE_REF_BYTES`). */
export const MAX_BASE_REF_BYTES = 200;

/**
 * Whether a spawn on `hostId` in `project` is isolated by default: exactly
 * when another live (starting or running) session on that host uses the same
 * project, as the hub decides when `worktree` is absent.
 */
export function defaultIsolate(sessions: readonly SessionSummary[], hostId: string, project: string): boolean {
  if (!hostId || !project) return false;
  return sessions.some(
    (s) => s.hostId === hostId && s.project === project && (s.state === 'starting' || s.state === 'running'),
  );
}

const encoder = new TextEncoder();

/**
 * Why the hub would refuse `base` (its `check_base_ref`), or null when it
 * would pass it to git. Whether it names a commit only git can say.
 */
export function checkBaseRef(base: string): string | null {
  if (base === '') return 'The base is empty';
  const bytes = encoder.encode(base).length;
  if (bytes > MAX_BASE_REF_BYTES) return `The base is ${bytes} bytes; at most ${MAX_BASE_REF_BYTES}`;
  if (base.startsWith('-')) return "The base must not start with '-'";
  // Rust's `char::is_whitespace` is Unicode White_Space and `is_control` is Cc; JS `\s` differs from both.
  if (/[\p{White_Space}\p{Cc}]/u.test(base)) return 'The base must not contain spaces or control characters';
  return null;
}

/** A commit as git abbreviates it by default: its first 7 hex digits. */
export function shortCommit(sha: string): string {
  return sha.slice(0, 7);
}

/**
 * Where a worktree's branch started: `from main @ 0123456`, or just
 * `from 0123456` when the base was (a prefix of) the commit itself.
 */
export function baseLabel(w: Pick<WorktreeInfo, 'baseRef' | 'baseCommit'>): string {
  const short = shortCommit(w.baseCommit);
  const ref = w.baseRef.toLowerCase();
  if (!ref || (/^[0-9a-f]+$/.test(ref) && w.baseCommit.toLowerCase().startsWith(ref))) return `from ${short}`;
  return `from ${w.baseRef} @ ${short}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The worktree's git state in a few words: "2 ahead · 1 behind · 3 changed",
 * leaving out what is zero; "clean, up to date" when nothing is.
 */
export function gitStateLabel(s: WorktreeStatus): string {
  const parts: string[] = [];
  if (!s.exists) parts.push('directory removed');
  else {
    if (s.ahead > 0) parts.push(`${s.ahead} ahead`);
    if (s.behind > 0) parts.push(`${s.behind} behind`);
    if (s.changeCount > 0) parts.push(`${s.changeCount} changed`);
    // "2 ahead" alone would leave open whether there is uncommitted work too.
    else if (parts.length > 0) parts.push('clean');
    else parts.push('clean, up to date');
  }
  if (!s.branchExists) parts.push('branch deleted');
  return parts.join(' · ');
}

const LETTERS: Record<string, string> = {
  M: 'modified',
  T: 'type changed',
  A: 'added',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
};

// `git status --porcelain`'s two-letter codes of a merge conflict.
const CONFLICTS = new Set(['DD', 'AU', 'UD', 'UA', 'DU', 'AA', 'UU']);

/**
 * `git status --porcelain`'s two letters (index, then work tree) in words:
 * "modified", "untracked", "added, modified". Unknown letters come back as
 * they are.
 */
export function statusLetters(xy: string): string {
  if (xy === '??') return 'untracked';
  if (xy === '!!') return 'ignored';
  if (CONFLICTS.has(xy)) return 'conflicted';
  const words: string[] = [];
  for (const letter of xy) {
    if (letter === ' ') continue;
    const word = LETTERS[letter];
    if (!word) return xy.trim() || 'changed';
    if (!words.includes(word)) words.push(word);
  }
  return words.length > 0 ? words.join(', ') : 'changed';
}

/** One thing a discard deletes: a file, an ignored entry or a commit. */
export interface LossItem {
  /** Unique within its section, for React. */
  key: string;
  /** The path, or the commit's short id and subject. */
  label: string;
  /** What kind of change it is ("modified", "untracked"), or null. */
  detail: string | null;
}

/** One kind of thing a discard deletes, as the dialog lists it. */
export interface LossSection {
  kind: 'changes' | 'ignored' | 'commits';
  /** A heading with the whole count: "3 uncommitted changes". */
  title: string;
  /** How many there are, listed or not. */
  count: number;
  /** The listed ones (the hub lists a limited number). */
  items: LossItem[];
  /** How many are not listed. */
  more: number;
}

function section(kind: LossSection['kind'], title: string, count: number, items: LossItem[]): LossSection {
  return { kind, title, count, items, more: Math.max(0, count - items.length) };
}

/**
 * What discarding the worktree deletes for good: uncommitted changes and
 * ignored entries (the directory), and unless `keepBranch` the commits that
 * only its branch has. Empty when nothing would be lost.
 */
export function lossSummary(s: WorktreeStatus, keepBranch: boolean): LossSection[] {
  const sections: LossSection[] = [];
  if (s.changeCount > 0) {
    sections.push(
      section(
        'changes',
        `${plural(s.changeCount, 'uncommitted change', 'uncommitted changes')} (edited and untracked files)`,
        s.changeCount,
        s.changes.map((c) => ({ key: c.path, label: c.path, detail: statusLetters(c.status) })),
      ),
    );
  }
  if (s.ignoredCount > 0) {
    sections.push(
      section(
        'ignored',
        `${plural(s.ignoredCount, 'ignored file or folder', 'ignored files and folders')} (such as .env or node_modules)`,
        s.ignoredCount,
        s.ignored.map((path) => ({ key: path, label: path, detail: null })),
      ),
    );
  }
  if (!keepBranch && s.uniqueCommitCount > 0) {
    sections.push(
      section(
        'commits',
        `${plural(s.uniqueCommitCount, 'commit', 'commits')} on no other branch, tag or remote`,
        s.uniqueCommitCount,
        s.uniqueCommits.map((c) => ({ key: c.commit, label: `${shortCommit(c.commit)} ${c.summary}`, detail: null })),
      ),
    );
  }
  return sections;
}

/** Whether discarding (keeping the branch or not) deletes nothing that exists only there. */
export function nothingLost(s: WorktreeStatus, keepBranch: boolean): boolean {
  return lossSummary(s, keepBranch).length === 0;
}

/** "and 12 more" under a cut-short list, or '' when it is whole. */
export function moreLabel(more: number): string {
  return more > 0 ? `and ${more} more` : '';
}

/** "Worktree removed by admin 3m ago; branch kept". */
export function removedLabel(r: WorktreeRemoved, now: number): string {
  return `Worktree removed by ${r.by} ${relativeTime(r.at, now)}; branch ${r.branchKept ? 'kept' : 'deleted'}`;
}

/** Whether a discard failed because the worktree changed after its status was shown (nothing was removed). */
export function isChangedSince(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && err.message.includes('changed since');
}

/** A sentence saying what failed, why (the hub's message) and what to do next. */
export function worktreeFailure(action: 'read' | 'discard', err: unknown): string {
  const what = action === 'read' ? 'Could not read the worktree' : 'Could not discard the worktree';
  const why = errorMessage(err).trim() || 'no reason given';
  const code = err instanceof ApiError ? err.code : 'unknown';
  const status = err instanceof ApiError ? err.status : 0;
  let next: string;
  if (code === 'network') next = 'Check your connection to the hub, then try again.';
  else if (code === 'unauthorized') next = 'Your login has expired: reload the page and sign in again.';
  else if (/offline/.test(why)) next = 'Refresh once the host is back online.';
  else if (/stop it first/.test(why)) next = 'Stop the session, then try again.';
  else if (code === 'timeout' || status === 504) next = 'The host took too long: try again in a moment.';
  else if (code === 'conflict' || code === 'not_found') next = 'Reload the page to see its current state.';
  else if (code === 'rate_limited' || code === 'unavailable' || status >= 500) next = 'Try again in a moment.';
  else next = 'Try again; reload the page if it keeps failing.';
  return `${what}: ${/[.!?]$/.test(why) ? why : `${why}.`} ${next}`;
}
