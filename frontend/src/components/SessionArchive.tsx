/**
 * Archiving ended sessions from the list and the session view: one session's
 * Archive / Restore button, and "Archive N ended" for the ended view. No
 * confirmation: archiving keeps output and usage and is undone by Restore.
 */
import { useCallback, useState } from 'react';
import type { HostSummary, SessionSummary } from '../protocol/generated/protocol';
import { api } from '../api';
import { archiveAllLabel, archiveFailure, busyLabel, type ArchiveAction } from '../archive';
import { archiveAllScope, isArchived, isRunning, type SessionFilter } from '../sessionFilter';
import { store } from '../store';

/** One session's archive request: what runs, how it failed, and how to start one. */
export interface ArchiveControl {
  busy: ArchiveAction | null;
  error: string | null;
  /** Archives the session, or restores it when it is archived. */
  toggle: (session: SessionSummary) => void;
  dismiss: () => void;
}

/**
 * The state of one session's Archive / Restore button. It lives in the
 * component that shows both the button and its error (a row, the header), so
 * the message can sit under the row rather than squeeze in beside the button.
 */
export function useArchive(): ArchiveControl {
  const [busy, setBusy] = useState<ArchiveAction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const toggle = useCallback((session: SessionSummary) => {
    const action: ArchiveAction = isArchived(session) ? 'restore' : 'archive';
    setBusy(action);
    setError(null);
    (action === 'restore' ? api.restore(session.id) : api.archive(session.id))
      .then((s) => store.upsertSession(s))
      .catch((err: unknown) => setError(archiveFailure(action, err)))
      .finally(() => setBusy(null));
  }, []);
  const dismiss = useCallback(() => setError(null), []);
  return { busy, error, toggle, dismiss };
}

// The buttons sit inside a session row, which opens the session on a click or Enter.
const swallow = (e: { stopPropagation: () => void }) => e.stopPropagation();

/** "Archive" for an ended session, "Restore" for an archived one; nothing for a live one. */
export function ArchiveButton({ session, control }: { session: SessionSummary; control: ArchiveControl }) {
  if (isRunning(session)) return null;
  const archived = isArchived(session);
  return (
    <button
      type="button"
      className="btn tiny"
      disabled={control.busy !== null}
      onClick={(e) => {
        e.stopPropagation();
        control.toggle(session);
      }}
      onKeyDown={swallow}
      title={archived ? 'Back to the ended sessions' : 'Move to the Archived view (output and usage are kept)'}
      data-testid={archived ? 'restore-session' : 'archive-session'}
    >
      {control.busy ? busyLabel(control.busy) : archived ? 'Restore' : 'Archive'}
    </button>
  );
}

/** A failed archive request's message, with a way to dismiss it. */
export function ArchiveError({ control, className }: { control: ArchiveControl; className: string }) {
  if (!control.error) return null;
  return (
    <div className={className} role="alert" onClick={swallow} onKeyDown={swallow} data-testid="archive-error">
      {control.error}{' '}
      <button type="button" className="linklike" onClick={control.dismiss}>
        Dismiss
      </button>
    </div>
  );
}

/**
 * "Archive 12 ended": archives every ended session of the selected host (or
 * of every host), as the hub does, and says so when the agent or search
 * filter hides some of them.
 */
export function ArchiveAllButton({
  sessions,
  hosts,
  filter,
}: {
  sessions: SessionSummary[];
  hosts: HostSummary[];
  filter: SessionFilter;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const scope = archiveAllScope(sessions, hosts, filter);
  if (scope.count === 0 && !busy && !error) return null;
  const hostName = scope.hostId ? (hosts.find((h) => h.id === scope.hostId)?.name ?? 'this host') : null;
  const run = () => {
    setBusy(true);
    setError(null);
    api
      .archiveEnded(scope.hostId)
      .then((r) => {
        store.markArchived(r.sessionIds, new Date().toISOString());
        const n = r.sessionIds.length;
        store.toast(
          n === 0 ? 'No ended sessions were left to archive.' : `Archived ${n} ended session${n === 1 ? '' : 's'}; restore them from the Archived view.`,
          'info',
        );
      })
      .catch((err: unknown) => setError(archiveFailure('archiveAll', err)))
      .finally(() => setBusy(false));
  };
  return (
    <div className="list-actions">
      {scope.count > 0 && (
        <button
          type="button"
          className="btn small"
          disabled={busy}
          onClick={run}
          title={`Moves every ended session ${hostName ? `on ${hostName}` : 'of every host'} to the Archived view; output and usage are kept`}
          data-testid="archive-ended"
          data-count={scope.count}
        >
          {busy ? busyLabel('archiveAll') : archiveAllLabel(scope.count, scope.notShown)}
        </button>
      )}
      {scope.notShown > 0 && (
        <span className="muted small" data-testid="archive-ended-note">
          {hostName ? `on ${hostName}, ` : ''}including {scope.notShown} your filters hide
        </span>
      )}
      {error && (
        <div className="session-error small" role="alert" data-testid="archive-ended-error">
          {error}{' '}
          <button type="button" className="linklike" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}
