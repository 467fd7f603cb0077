/**
 * Archiving ended sessions: what the buttons say while a request runs and
 * what a failure tells the user to do. Archiving destroys nothing (output
 * and usage stay) and is undone by restoring, so it asks no confirmation.
 */
import { ApiError, errorMessage } from './api';

/** One of the three archive requests. */
export type ArchiveAction = 'archive' | 'restore' | 'archiveAll';

/** The button's label while its request runs. */
export function busyLabel(action: ArchiveAction): string {
  return action === 'restore' ? 'Restoring…' : 'Archiving…';
}

/** The label of "Archive all ended": how many, and "all" when some are not shown. */
export function archiveAllLabel(count: number, notShown: number): string {
  return notShown > 0 ? `Archive all ${count} ended` : `Archive ${count} ended`;
}

/** A sentence saying what failed, why (the hub's message) and what to do next. */
export function archiveFailure(action: ArchiveAction, err: unknown): string {
  const what =
    action === 'archive'
      ? 'Could not archive the session'
      : action === 'restore'
        ? 'Could not restore the session'
        : 'Could not archive the ended sessions';
  const why = sentence(errorMessage(err));
  const code = err instanceof ApiError ? err.code : 'unknown';
  const status = err instanceof ApiError ? err.status : 0;
  let next: string;
  if (code === 'network') next = 'Check your connection to the hub, then try again.';
  else if (code === 'unauthorized') next = 'Your login has expired: reload the page and sign in again.';
  else if (code === 'not_found')
    next =
      action === 'archiveAll'
        ? 'The host is gone: pick another host or "All hosts", then try again.'
        : 'It was deleted: reload the page to refresh the list.';
  else if (code === 'conflict') next = 'Reload the page to see its current state.';
  else if (code === 'rate_limited' || code === 'unavailable' || code === 'timeout' || status >= 500)
    next = 'Try again in a moment.';
  else next = 'Try again; reload the page if it keeps failing.';
  return `${what}: ${why} ${next}`;
}

function sentence(s: string): string {
  const t = s.trim() || 'no reason given';
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
