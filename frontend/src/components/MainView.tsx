import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Health, Me } from '../protocol/generated/protocol';
import { ApiError, api, errorMessage } from '../api';
import { HubConnection } from '../hub';
import { openOverview, overviewHash, useRoute } from '../route';
import { pageTitle } from '../sessionStatus';
import { store, useAppState } from '../store';
import { visibleHostIds } from '../watch';
import { HostsPanel } from './HostsPanel';
import { SessionsList } from './SessionsList';
import { SpawnDialog } from './SpawnDialog';
import { TerminalView } from './TerminalView';
import { Toasts } from './Toasts';
import { UsageView } from './UsageView';

export function MainView({ me, onLoggedOut }: { me: Me; onLoggedOut: (notice?: string) => void }) {
  const state = useAppState();
  const route = useRoute();
  const [hub, setHub] = useState<HubConnection | null>(null);
  const [spawnOpen, setSpawnOpen] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const [hosts, sessions] = await Promise.all([api.hosts(), api.sessions()]);
      store.setSnapshot(hosts, sessions);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onLoggedOut('Your session has expired. Sign in again.');
      else store.toast(`Could not load hosts and sessions: ${errorMessage(e)}`);
    }
  }, [onLoggedOut]);

  useEffect(() => {
    let closed = false;
    const conn = new HubConnection({
      onStatus: (status, detail) => {
        store.setConnection(status, detail);
        // Events missed while disconnected are recovered from a fresh snapshot.
        if (status === 'connected') void refresh();
      },
      onConnectError: () => {
        void api.me().catch((e: unknown) => {
          if (!closed && e instanceof ApiError && e.status === 401) {
            onLoggedOut('Your session has expired. Sign in again.');
          }
        });
      },
      onSessionUpdated: (e) => store.upsertSession(e.session),
      onHostUpdated: (e) => {
        const wasOnline = store.get().hosts.find((h) => h.id === e.host.id)?.online ?? false;
        store.hostEvent(e.host);
        // Watching is idempotent; re-sending it when a daemon comes back costs one small message.
        if (e.host.online && !wasOnline) conn.watches.rewatch(e.host.id);
      },
      onHostRemoved: (e) => store.removeHost(e.hostId),
      onUsage: (e) => store.usageEvent(e),
      onHubError: (e) => store.toast(`${e.event}: ${e.error.message}`),
    });
    setHub(conn);
    void refresh();
    return () => {
      closed = true;
      conn.close();
      setHub(null);
    };
  }, [refresh, onLoggedOut]);

  async function logout() {
    try {
      await api.logout();
    } catch (e) {
      store.toast(`Logout failed: ${errorMessage(e)}`);
      return;
    }
    openOverview();
    onLoggedOut();
  }

  const openId = route.view === 'session' ? route.sessionId : null;
  const openSession = useMemo(
    () => (openId ? state.sessions.find((s) => s.id.toLowerCase() === openId) : undefined),
    [openId, state.sessions],
  );
  const openHost = openSession ? state.hosts.find((h) => h.id === openSession.hostId) : undefined;

  const title = pageTitle(openSession ? { session: openSession, host: openHost } : null);
  useEffect(() => {
    document.title = title;
  }, [title]);
  useEffect(
    () => () => {
      // Logged out: no session is open.
      document.title = 'Flotilla';
    },
    [],
  );

  // The hub's own version, for the footer; `/healthz` is public and cheap.
  const [health, setHealth] = useState<Health | null>(null);
  useEffect(() => {
    let cancelled = false;
    api
      .health()
      .then((h) => {
        if (!cancelled) setHealth(h);
      })
      .catch(() => {
        // Only the footer misses it; every other request reports its own failure.
      });
    return () => {
      cancelled = true;
    };
  }, []);

  // Usage updates arrive for the hosts whose sessions are listed; the key
  // keeps the effect from running on every usage event.
  const watchKey = visibleHostIds(state.sessions, state.hosts).join(' ');
  useEffect(() => {
    hub?.watches.setDesired(watchKey ? watchKey.split(' ') : []);
  }, [hub, watchKey]);

  return (
    <div className={`app ${openId ? 'has-session' : ''}`}>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">Flotilla</span>
        </div>
        <ConnectionBadge status={state.connection} detail={state.connectionDetail} />
        <nav className="tabs" aria-label="Views">
          <a
            href={(route.view === 'usage' ? '' : overviewHash(route.list)) || '#/'}
            className="tab"
            aria-current={route.view !== 'usage' ? 'page' : undefined}
            data-testid="nav-sessions"
          >
            Sessions
          </a>
          <a href="#/usage" className="tab" aria-current={route.view === 'usage' ? 'page' : undefined} data-testid="nav-usage">
            Usage
          </a>
        </nav>
        <div className="topbar-spacer" />
        <button className="btn primary" onClick={() => setSpawnOpen(true)} aria-label="New session" data-testid="open-spawn">
          <span aria-hidden="true">+</span> <span className="hide-narrow">New session</span>
        </button>
        <span className="user" title="Signed in" data-testid="current-user">
          {me.username}
        </span>
        <button className="btn ghost" onClick={() => void logout()} data-testid="logout">
          Log out
        </button>
      </header>
      {route.view === 'usage' ? (
        <UsageView query={route.query} />
      ) : (
        <main className="layout">
          <aside className="sidebar">
            <SessionsList
              sessions={state.sessions}
              hosts={state.hosts}
              loaded={state.loaded}
              selectedId={openId}
              filter={route.list}
            />
            <HostsPanel hosts={state.hosts} loaded={state.loaded} />
            <footer className="app-footer muted small">
              <span data-testid="hub-version" data-version={health?.version ?? ''}>
                {health ? `Flotilla hub ${health.version} · protocol ${health.protocolVersion}` : 'Flotilla hub'}
              </span>
            </footer>
          </aside>
          <section className="content">
            {openId && hub ? (
              <TerminalView
                key={openId}
                hub={hub}
                sessionId={openId}
                session={openSession}
                host={openHost}
                connected={state.connection === 'connected'}
                hostEpoch={openSession ? (state.hostEpochs[openSession.hostId] ?? 0) : 0}
              />
            ) : (
              <EmptyState onSpawn={() => setSpawnOpen(true)} hostCount={state.hosts.length} />
            )}
          </section>
        </main>
      )}
      {spawnOpen && <SpawnDialog hosts={state.hosts} sessions={state.sessions} onClose={() => setSpawnOpen(false)} />}
      <Toasts toasts={state.toasts} />
    </div>
  );
}

function ConnectionBadge({ status, detail }: { status: string; detail: string | undefined }) {
  const label = status === 'connected' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span
      className={`conn conn-${status}`}
      title={detail ? `${label} (${detail})` : label}
      data-testid="connection-status"
      data-status={status}
    >
      <span className="dot" aria-hidden="true" />
      <span className="conn-label">{label}</span>
    </span>
  );
}

function EmptyState({ onSpawn, hostCount }: { onSpawn: () => void; hostCount: number }) {
  return (
    <div className="empty-state">
      <h2>No session open</h2>
      {hostCount === 0 ? (
        <p className="muted">Add a host in the Hosts panel, run its daemon, then start a session.</p>
      ) : (
        <p className="muted">Pick a session from the list, or start a new one.</p>
      )}
      <button className="btn primary" onClick={onSpawn}>
        Start a session
      </button>
    </div>
  );
}
