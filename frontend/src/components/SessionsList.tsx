import { useState } from 'react';
import { createPortal } from 'react-dom';
import type { HostSummary, SessionSummary } from '../protocol/generated/protocol';
import { api, errorMessage } from '../api';
import { projectName, relativeTime } from '../lists';
import { openSession, setListFilter } from '../route';
import {
  DEFAULT_FILTER,
  STATE_FILTERS,
  agentOptions,
  filterSessions,
  isArchived,
  isDefaultFilter,
  type SessionFilter,
  type StateFilter,
} from '../sessionFilter';
import { sessionStatus } from '../sessionStatus';
import { store } from '../store';
import { ConfirmDialog } from './Modal';
import { ProfileChip, findProfile, useNow } from './common';
import { ArchiveAllButton, ArchiveButton, ArchiveError, useArchive } from './SessionArchive';
import { SessionUsageSummary } from './SessionUsage';
import { WorktreeMarker } from './SessionWorktree';

const STATE_LABELS: Record<StateFilter, string> = { running: 'Running', ended: 'Ended', all: 'All', archived: 'Archived' };

export function isLive(s: SessionSummary): boolean {
  return s.state === 'running' || s.state === 'starting';
}

/** The state badge: the session's state, or "host offline since …" for a live session on an offline host. */
export function SessionStateBadge({
  session,
  host,
  now,
  testId,
}: {
  session: SessionSummary;
  host: HostSummary | undefined;
  now: number;
  testId: string;
}) {
  const st = sessionStatus(session, host, now);
  // "host offline since 10:20 PM" may wrap, but only before "since".
  const since = st.hostOffline ? st.label.indexOf(' since ') : -1;
  return (
    <span className={`state state-${st.tone}`} title={st.title} data-testid={testId} data-host-offline={st.hostOffline}>
      {since === -1 ? (
        st.label
      ) : (
        <>
          {st.label.slice(0, since + 1)}
          <span className="nowrap">{st.label.slice(since + 1)}</span>
        </>
      )}
    </span>
  );
}

/**
 * Stops a live session after a confirmation naming it, since stopping kills
 * the agent. The dialog is portalled out of the session row and its events
 * stop at its wrapper: React bubbles portal events through the component
 * tree, and the row would otherwise take a click or Enter as "open".
 */
export function StopButton({ session, host, className = '' }: { session: SessionSummary; host: HostSummary | undefined; className?: string }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!isLive(session)) return null;
  const agent = findProfile(host, session.profile)?.displayName || session.profile;
  const name = `${agent} · ${projectName(host, session.project)}`;
  const close = () => {
    setConfirming(false);
    setError(null);
  };
  const stop = () => {
    setBusy(true);
    setError(null);
    api
      .stop(session.id)
      .then((s) => {
        store.upsertSession(s);
        setConfirming(false);
      })
      .catch((err: unknown) => setError(`Could not stop the session: ${errorMessage(err)}`))
      .finally(() => setBusy(false));
  };
  const swallow = (e: { stopPropagation: () => void }) => e.stopPropagation();
  return (
    <>
      <button
        className={`btn tiny danger ${className}`}
        disabled={busy}
        onClick={(e) => {
          e.stopPropagation();
          setConfirming(true);
        }}
        onKeyDown={swallow}
        data-testid="stop-session"
      >
        {busy ? 'Stopping…' : 'Stop'}
      </button>
      {confirming &&
        createPortal(
          <div
            onClick={swallow}
            onMouseDown={swallow}
            onKeyDown={(e) => {
              // Escape must reach the dialog's window listener; React's stopPropagation stops the native event too.
              if (e.key !== 'Escape') e.stopPropagation();
            }}
          >
            <ConfirmDialog
              title={`Stop ${name}?`}
              message={
                <p data-testid="confirm-message">
                  This ends the agent{host ? ` on ${host.name}` : ''} (its process gets SIGTERM, then SIGKILL). Work it has not
                  saved is lost; the output so far stays readable.
                </p>
              }
              confirmLabel="Stop session"
              busy={busy}
              error={error}
              onConfirm={stop}
              onClose={close}
            />
          </div>,
          document.body,
        )}
    </>
  );
}

export function SessionsList({
  sessions,
  hosts,
  loaded,
  selectedId,
  filter,
}: {
  sessions: SessionSummary[];
  hosts: HostSummary[];
  loaded: boolean;
  selectedId: string | null;
  filter: SessionFilter;
}) {
  const now = useNow();
  const live = sessions.filter(isLive).length;
  const { shown, hiddenEnded, hiddenArchived, hiddenOther } = filterSessions(sessions, hosts, filter, selectedId);
  // The archived view has its own way back (the state buttons); "N ended hidden" is for the running view.
  const showHiddenEnded = hiddenEnded > 0 && filter.state !== 'archived';
  const set = (patch: Partial<SessionFilter>) => setListFilter({ ...filter, ...patch });
  const agents = agentOptions(sessions);
  if (filter.agent && !agents.includes(filter.agent)) agents.push(filter.agent);
  const knownHost = !filter.host || hosts.some((h) => h.id === filter.host);
  return (
    <section className="panel" aria-labelledby="sessions-title" data-testid="sessions-panel">
      <div className="panel-head">
        <h2 id="sessions-title">
          Sessions <span className="count">{loaded ? `${live} running` : ''}</span>
        </h2>
      </div>
      {sessions.length > 0 && (
        <div className="list-filter" data-testid="session-filter">
          <div className="seg" role="group" aria-label="Show sessions">
            {STATE_FILTERS.map((st) => (
              <button
                key={st}
                type="button"
                className={`seg-btn ${filter.state === st ? 'active' : ''}`}
                aria-pressed={filter.state === st}
                onClick={() => set({ state: st })}
                data-testid={`filter-state-${st}`}
              >
                {STATE_LABELS[st]}
              </button>
            ))}
          </div>
          <div className="filter-row">
            <select
              aria-label="Host"
              value={filter.host}
              onChange={(e) => set({ host: e.target.value })}
              data-testid="filter-host"
            >
              <option value="">All hosts</option>
              {hosts.map((h) => (
                <option key={h.id} value={h.id}>
                  {h.name}
                </option>
              ))}
              {!knownHost && <option value={filter.host}>unknown host</option>}
            </select>
            <select
              aria-label="Agent"
              value={filter.agent}
              onChange={(e) => set({ agent: e.target.value })}
              data-testid="filter-agent"
            >
              <option value="">All agents</option>
              {agents.map((a) => (
                <option key={a} value={a}>
                  {hosts.map((h) => findProfile(h, a)?.displayName).find(Boolean) ?? a}
                </option>
              ))}
            </select>
          </div>
          <input
            type="search"
            aria-label="Search sessions"
            placeholder="Search project, agent, host or id"
            value={filter.q}
            onChange={(e) => set({ q: e.target.value })}
            spellCheck={false}
            autoCapitalize="off"
            data-testid="filter-search"
          />
        </div>
      )}
      {filter.state === 'ended' && <ArchiveAllButton sessions={sessions} hosts={hosts} filter={filter} />}
      {loaded && sessions.length === 0 && <p className="muted pad">No sessions yet.</p>}
      {sessions.length > 0 && shown.length === 0 && (
        <p className="muted pad" data-testid="filter-empty">
          No {filter.state === 'all' ? '' : `${filter.state} `}sessions match.
        </p>
      )}
      <ul className="session-list">
        {shown.map((s) => (
          <SessionRow
            key={s.id}
            session={s}
            host={hosts.find((h) => h.id === s.hostId)}
            selected={selectedId === s.id.toLowerCase()}
            now={now}
          />
        ))}
      </ul>
      {(showHiddenEnded || hiddenArchived > 0 || (hiddenOther > 0 && !isDefaultFilter(filter))) && (
        <div className="filter-hidden muted small">
          {showHiddenEnded && (
            <button type="button" className="linklike" onClick={() => set({ state: 'all' })} data-testid="show-ended">
              <span data-testid="hidden-ended" data-count={hiddenEnded}>
                {hiddenEnded} ended hidden
              </span>{' '}
              · show
            </button>
          )}
          {hiddenArchived > 0 && (
            <button type="button" className="linklike" onClick={() => set({ state: 'archived' })} data-testid="show-archived">
              <span data-testid="hidden-archived" data-count={hiddenArchived}>
                {hiddenArchived} archived
              </span>{' '}
              · show
            </button>
          )}
          {hiddenOther > 0 && !isDefaultFilter(filter) && (
            <button type="button" className="linklike" onClick={() => setListFilter(DEFAULT_FILTER)} data-testid="clear-filter">
              {hiddenOther} filtered out · clear filters
            </button>
          )}
        </div>
      )}
    </section>
  );
}

/** One session in the list: opens it on a click or Enter; Stop, or Archive / Restore once it has ended. */
function SessionRow({
  session: s,
  host,
  selected,
  now,
}: {
  session: SessionSummary;
  host: HostSummary | undefined;
  selected: boolean;
  now: number;
}) {
  const archive = useArchive();
  const archived = isArchived(s);
  return (
    <li>
      <div
        className={`session-row ${selected ? 'selected' : ''}`}
        role="button"
        tabIndex={0}
        aria-current={selected ? 'true' : undefined}
        onClick={() => openSession(s.id)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            openSession(s.id);
          }
        }}
        data-testid="session-item"
        data-session-id={s.id}
        data-state={s.state}
        data-archived={archived}
      >
        <div className="session-main">
          <ProfileChip name={s.profile} profile={findProfile(host, s.profile)} />
          <span className="session-project" title={s.project}>
            {projectName(host, s.project)}
          </span>
          <span className="spacer" />
          <StopButton session={s} host={host} />
          <ArchiveButton session={s} control={archive} />
        </div>
        <div className="session-meta muted small">
          <SessionStateBadge session={s} host={host} now={now} testId="session-state" />
          <span>{host?.name ?? 'unknown host'}</span>
          <span title={s.createdAt}>{relativeTime(s.createdAt, now)}</span>
          <WorktreeMarker worktree={s.worktree} />
          {archived && s.archivedAt && (
            <span title={s.archivedAt} data-testid="session-archived">
              archived {relativeTime(s.archivedAt, now)}
            </span>
          )}
        </div>
        {s.usage && <SessionUsageSummary sessionId={s.id} usage={s.usage} now={now} />}
        {s.state === 'failed' && s.error && <div className="session-error small">{s.error}</div>}
        <ArchiveError control={archive} className="session-error small" />
      </div>
    </li>
  );
}
