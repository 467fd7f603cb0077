import { useState, type FormEvent } from 'react';
import type { HostInventory, HostSummary, HostWithToken } from '../protocol/generated/protocol';
import { api, errorMessage } from '../api';
import { relativeTime } from '../lists';
import { store } from '../store';
import { ConfirmDialog, Modal } from './Modal';
import { CopyButton, ProfileChip, useNow } from './common';

type Dialog =
  | { kind: 'none' }
  | { kind: 'add' }
  | { kind: 'token'; result: HostWithToken; rotated: boolean }
  | { kind: 'rotate'; host: HostSummary }
  | { kind: 'delete'; host: HostSummary };

export function HostsPanel({ hosts, loaded }: { hosts: HostSummary[]; loaded: boolean }) {
  const [dialog, setDialog] = useState<Dialog>({ kind: 'none' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();
  const close = () => {
    setDialog({ kind: 'none' });
    setError(null);
    setBusy(false);
  };

  async function rotate(host: HostSummary) {
    setBusy(true);
    setError(null);
    try {
      const result = await api.rotateToken(host.id);
      store.upsertHost(result.host);
      setBusy(false);
      setDialog({ kind: 'token', result, rotated: true });
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  async function remove(host: HostSummary) {
    setBusy(true);
    setError(null);
    try {
      await api.deleteHost(host.id);
      store.removeHost(host.id);
      close();
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  const online = hosts.filter((h) => h.online).length;
  return (
    <section className="panel" aria-labelledby="hosts-title" data-testid="hosts-panel">
      <div className="panel-head">
        <h2 id="hosts-title">
          Hosts <span className="count">{loaded ? `${online}/${hosts.length} online` : ''}</span>
        </h2>
        <button className="btn small" onClick={() => setDialog({ kind: 'add' })} data-testid="add-host">
          Add host
        </button>
      </div>
      {loaded && hosts.length === 0 && <p className="muted pad">No hosts yet. Add one to connect a daemon.</p>}
      <ul className="host-list">
        {hosts.map((h) => (
          <li key={h.id} className="host" data-testid="host-item" data-host-id={h.id} data-online={h.online}>
            <div className="host-top">
              <span role="img" className={`status-dot ${h.online ? 'on' : 'off'}`} aria-label={h.online ? 'online' : 'offline'} />
              <span className="host-name">{h.name}</span>
              {h.inventory && h.inventory.hostname !== h.name && (
                <span className="muted small mono">{h.inventory.hostname}</span>
              )}
              <span className="spacer" />
              <button className="btn tiny ghost" onClick={() => setDialog({ kind: 'rotate', host: h })} data-testid="rotate-token">
                Rotate token
              </button>
              <button className="btn tiny ghost danger-text" onClick={() => setDialog({ kind: 'delete', host: h })} data-testid="delete-host">
                Delete
              </button>
            </div>
            <div className="host-meta muted small">
              <span>{h.online ? 'online' : `last seen ${relativeTime(h.lastSeenAt, now)}`}</span>
              {h.inventory && <span>daemon {h.inventory.daemonVersion}</span>}
              {h.inventory && (
                <span>
                  {h.inventory.projects.length} project{h.inventory.projects.length === 1 ? '' : 's'}
                </span>
              )}
              {!h.inventory && <span>never connected</span>}
            </div>
            {h.inventory && h.inventory.profiles.length > 0 && (
              <div className="chips">
                {h.inventory.profiles.map((p) => (
                  <ProfileChip key={p.name} name={p.name} profile={p} />
                ))}
              </div>
            )}
            {h.inventory && <ProfileWarnings inventory={h.inventory} />}
          </li>
        ))}
      </ul>
      {dialog.kind === 'add' && (
        <AddHostDialog onClose={close} onCreated={(result) => setDialog({ kind: 'token', result, rotated: false })} />
      )}
      {dialog.kind === 'token' && <TokenDialog result={dialog.result} rotated={dialog.rotated} onClose={close} />}
      {dialog.kind === 'rotate' && (
        <ConfirmDialog
          title={`Rotate the token of ${dialog.host.name}?`}
          message={<p>The current token stops working at once and its daemon is disconnected until you restart it with the new token.</p>}
          confirmLabel="Rotate token"
          busy={busy}
          error={error}
          onConfirm={() => void rotate(dialog.host)}
          onClose={close}
        />
      )}
      {dialog.kind === 'delete' && (
        <ConfirmDialog
          title={`Delete host ${dialog.host.name}?`}
          message={<p>Its daemon is disconnected and its token revoked. Sessions on it are no longer reachable from here.</p>}
          confirmLabel="Delete host"
          busy={busy}
          error={error}
          onConfirm={() => void remove(dialog.host)}
          onClose={close}
        />
      )}
    </section>
  );
}

/** Invalid profile files and per-profile problems (e.g. missing credentials), one line each. */
function ProfileWarnings({ inventory }: { inventory: HostInventory }) {
  // `?? []`: hubs and daemons older than these fields send none.
  const lines = [
    ...(inventory.profileErrors ?? []),
    ...inventory.profiles.flatMap((p) => (p.problems ?? []).map((problem) => `${p.displayName}: ${problem}`)),
  ];
  if (lines.length === 0) return null;
  return (
    <ul className="warning small" data-testid="profile-warnings">
      {lines.map((line) => (
        <li key={line} className="mono">
          {line}
        </li>
      ))}
    </ul>
  );
}

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

function AddHostDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (r: HostWithToken) => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const valid = NAME_RE.test(name);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!valid) {
      setError('Use 1 to 64 letters, digits, ".", "_" or "-".');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await api.createHost({ name });
      store.upsertHost(result.host);
      onCreated(result);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Modal title="Add a host" onClose={onClose} testId="add-host-dialog">
      <form onSubmit={(e) => void submit(e)}>
        <label className="field">
          <span>Name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. laptop or build-box-1"
            maxLength={64}
            autoFocus
            required
            aria-invalid={name.length > 0 && !valid}
            data-testid="host-name"
          />
          <small className="muted">Letters, digits, “.”, “_” and “-”.</small>
        </label>
        {error && (
          <p className="form-error" role="alert" data-testid="add-host-error">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy || !valid} data-testid="add-host-submit">
            {busy ? 'Creating…' : 'Create host'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function TokenDialog({ result, rotated, onClose }: { result: HostWithToken; rotated: boolean; onClose: () => void }) {
  const command = `FLOTILLA_HOST_TOKEN=${result.token} flotilla-daemon run --hub-url ${window.location.origin}`;
  return (
    <Modal title={rotated ? `New token for ${result.host.name}` : `Host ${result.host.name} created`} onClose={onClose} testId="token-dialog" wide>
      <p className="warning">
        This token is shown only once. Copy it now; the hub stores only a hash of it.
      </p>
      <label className="field">
        <span>Host token</span>
        <div className="copy-row">
          <input className="mono" readOnly value={result.token} onFocus={(e) => e.target.select()} data-testid="host-token" />
          <CopyButton text={result.token} testId="copy-token" />
        </div>
      </label>
      <label className="field">
        <span>Run the daemon on the host</span>
        <div className="copy-row">
          <textarea className="mono" readOnly rows={3} value={command} onFocus={(e) => e.target.select()} data-testid="daemon-command" />
          <CopyButton text={command} testId="copy-command" />
        </div>
        <small className="muted">The token travels in the environment, never on the command line of a running process.</small>
      </label>
      <div className="modal-actions">
        <button className="btn primary" onClick={onClose} data-testid="token-done">
          Done
        </button>
      </div>
    </Modal>
  );
}
