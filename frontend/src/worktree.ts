/**
 * Git worktree isolation as the UI sees it: the spawn dialog's default (the
 * hub's rule when a spawn does not say), the hub's check of a typed base ref,
 * and how a worktree's commit is shown.
 */
import type { SessionSummary, WorktreeInfo } from './protocol/generated/protocol';

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
