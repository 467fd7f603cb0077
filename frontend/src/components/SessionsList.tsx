import { useState } from 'react';
import type { HostSummary, SessionSummary } from '../protocol/generated/protocol';
import { api, errorMessage } from '../api';
import { projectName, relativeTime } from '../lists';
import { openSession } from '../route';
import { store } from '../store';
import { ProfileChip, findProfile, useNow } from './common';
import { SessionUsageSummary } from './SessionUsage';

export function stateLabel(s: SessionSummary): string {
  switch (s.state) {
    case 'exited':
      if (s.exitSignal) return `exited (${s.exitSignal})`;
      return s.exitCode === null ? 'exited' : `exited (${s.exitCode})`;
    case 'failed':
      return 'failed';
    default:
      return s.state;
  }
}

export function isLive(s: SessionSummary): boolean {
  return s.state === 'running' || s.state === 'starting';
}

export function StopButton({ session, className = '' }: { session: SessionSummary; className?: string }) {
  const [busy, setBusy] = useState(false);
  if (!isLive(session)) return null;
  return (
    <button
      className={`btn tiny danger ${className}`}
      disabled={busy}
      onClick={(e) => {
        e.stopPropagation();
        setBusy(true);
        api
          .stop(session.id)
          .then((s) => store.upsertSession(s))
          .catch((err: unknown) => store.toast(`Could not stop the session: ${errorMessage(err)}`))
          .finally(() => setBusy(false));
      }}
      data-testid="stop-session"
    >
      {busy ? 'Stopping…' : 'Stop'}
    </button>
  );
}

export function SessionsList({
  sessions,
  hosts,
  loaded,
  selectedId,
}: {
  sessions: SessionSummary[];
  hosts: HostSummary[];
  loaded: boolean;
  selectedId: string | null;
}) {
  const now = useNow();
  const live = sessions.filter(isLive).length;
  return (
    <section className="panel" aria-labelledby="sessions-title" data-testid="sessions-panel">
      <div className="panel-head">
        <h2 id="sessions-title">
          Sessions <span className="count">{loaded ? `${live} running` : ''}</span>
        </h2>
      </div>
      {loaded && sessions.length === 0 && <p className="muted pad">No sessions yet.</p>}
      <ul className="session-list">
        {sessions.map((s) => {
          const host = hosts.find((h) => h.id === s.hostId);
          const selected = selectedId === s.id.toLowerCase();
          return (
            <li key={s.id}>
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
              >
                <div className="session-main">
                  <ProfileChip name={s.profile} profile={findProfile(host, s.profile)} />
                  <span className="session-project" title={s.project}>
                    {projectName(host, s.project)}
                  </span>
                  <span className="spacer" />
                  <StopButton session={s} />
                </div>
                <div className="session-meta muted small">
                  <span className={`state state-${s.state}`} data-testid="session-state">
                    {stateLabel(s)}
                  </span>
                  <span>{host?.name ?? 'unknown host'}</span>
                  <span title={s.createdAt}>{relativeTime(s.createdAt, now)}</span>
                </div>
                {s.usage && <SessionUsageSummary sessionId={s.id} usage={s.usage} now={now} />}
                {s.state === 'failed' && s.error && <div className="session-error small">{s.error}</div>}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
