import { useMemo, useRef, useState, type FormEvent } from 'react';
import type { HostSummary, SessionSummary, TermSize } from '../protocol/generated/protocol';
import { api, errorMessage } from '../api';
import { openSession } from '../route';
import { outcomeUnknown, spawnAttemptId, type SpawnAttempt } from '../spawnId';
import { initialSpawnChoice, loadSpawnMemory, saveSpawnMemory } from '../spawnMemory';
import { store } from '../store';
import { checkBaseRef, defaultIsolate } from '../worktree';
import { Modal } from './Modal';

/** The size the terminal pane will roughly have; the view resizes after attaching. */
function sizeGuess(): TermSize {
  const w = window.innerWidth >= 900 ? window.innerWidth - 380 : window.innerWidth;
  const h = window.innerHeight - 110;
  const cols = Math.max(40, Math.min(300, Math.floor((w - 24) / 7.9)));
  const rows = Math.max(10, Math.min(120, Math.floor(h / 17)));
  return Number.isFinite(cols) && Number.isFinite(rows) ? { cols, rows } : { cols: 120, rows: 40 };
}

/** localStorage, or undefined where the browser refuses it (reading the property can throw). */
function browserStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

export function SpawnDialog({
  hosts,
  sessions,
  onClose,
}: {
  hosts: HostSummary[];
  sessions: SessionSummary[];
  onClose: () => void;
}) {
  const online = useMemo(() => hosts.filter((h) => h.online), [hosts]);
  // The last choice, as far as it still exists (see `initialSpawnChoice`).
  const [initial] = useState(() => initialSpawnChoice(online, loadSpawnMemory(browserStorage())));
  const [hostId, setHostId] = useState(initial.hostId);
  const host = online.find((h) => h.id === hostId) ?? online[0];
  const profiles = host?.inventory?.profiles ?? [];
  const projects = host?.inventory?.projects ?? [];
  const [profile, setProfile] = useState(initial.profile);
  const [project, setProject] = useState(initial.project);
  const [customPath, setCustomPath] = useState(initial.customPath);
  const [prompt, setPrompt] = useState('');
  // null until the user touches the box: it follows the hub's rule for the
  // chosen host and project. Deliberately not remembered between spawns.
  const [isolateChoice, setIsolateChoice] = useState<boolean | null>(null);
  const [base, setBase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const lastAttempt = useRef<SpawnAttempt | null>(null);
  // Opened before any host was online (the first snapshot still loading, a
  // daemon connecting): apply the remembered choice once one is.
  const [seeded, setSeeded] = useState(initial.hostId !== '');
  if (!seeded && online.length > 0) {
    const late = initialSpawnChoice(online, loadSpawnMemory(browserStorage()));
    setSeeded(true);
    setHostId(late.hostId);
    setProfile(late.profile);
    setProject(late.project);
    if (!customPath) setCustomPath(late.customPath);
  }

  // Selections fall back to the host's first option when the host changes.
  const effectiveProfile = profiles.some((p) => p.name === profile) ? profile : (profiles[0]?.name ?? '');
  const effectiveProject = projects.some((p) => p.path === project) ? project : (projects[0]?.path ?? '');
  const path = customPath.trim() || effectiveProject;
  const shared = defaultIsolate(sessions, host?.id ?? '', path);
  const isolate = isolateChoice ?? shared;
  const trimmedBase = base.trim();
  const baseError = isolate && trimmedBase ? checkBaseRef(trimmedBase) : null;
  const canStart = !!host && !!effectiveProfile && !!path && !baseError && !busy;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!host || !canStart) return;
    setBusy(true);
    setError(null);
    const trimmed = prompt.trim();
    const request = {
      hostId: host.id,
      profile: effectiveProfile,
      project: path,
      ...(trimmed ? { prompt: trimmed } : {}),
      // Untouched, the box leaves the choice to the hub's default (which
      // also skips a project that is no git repository).
      ...(isolateChoice !== null ? { worktree: isolateChoice } : {}),
      ...(isolate && trimmedBase ? { base: trimmedBase } : {}),
    };
    const key = JSON.stringify(request);
    // A retry of a spawn that may have reached the hub reuses its id, so
    // it can never start a second agent.
    const id = spawnAttemptId(lastAttempt.current, key);
    lastAttempt.current = { id, key, uncertain: false };
    try {
      const s = await api.spawn({ ...request, id, size: sizeGuess() });
      saveSpawnMemory(browserStorage(), { hostId: host.id, profile: effectiveProfile, project: path });
      store.upsertSession(s);
      onClose();
      openSession(s.id);
    } catch (err) {
      lastAttempt.current = { id, key, uncertain: outcomeUnknown(err) };
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Modal title="Start a session" onClose={onClose} testId="spawn-dialog">
      {online.length === 0 ? (
        <>
          <p className="muted" data-testid="spawn-no-hosts">
            No host is online. Add a host and start its daemon first.
          </p>
          <div className="modal-actions">
            <button className="btn ghost" onClick={onClose}>
              Close
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <label className="field">
            <span>Host</span>
            <select value={host?.id ?? ''} onChange={(e) => setHostId(e.target.value)} data-testid="spawn-host">
              {online.map((h) => (
                <option key={h.id} value={h.id}>
                  {h.name}
                  {h.inventory && h.inventory.hostname !== h.name ? ` (${h.inventory.hostname})` : ''}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Agent</span>
            <select
              value={effectiveProfile}
              onChange={(e) => setProfile(e.target.value)}
              disabled={profiles.length === 0}
              data-testid="spawn-profile"
            >
              {profiles.length === 0 && <option value="">No agent available on this host</option>}
              {profiles.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.displayName || p.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Project</span>
            <select
              value={effectiveProject}
              onChange={(e) => setProject(e.target.value)}
              disabled={projects.length === 0 || customPath.trim() !== ''}
              data-testid="spawn-project"
            >
              {projects.length === 0 && <option value="">No git repository found under the project roots</option>}
              {projects.map((p) => (
                <option key={p.path} value={p.path}>
                  {p.name || p.path}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Or a path on the host</span>
            <input
              className="mono"
              value={customPath}
              onChange={(e) => setCustomPath(e.target.value)}
              placeholder={host?.inventory?.projectRoots[0] ? `${host.inventory.projectRoots[0]}/…` : '/absolute/path'}
              spellCheck={false}
              autoCapitalize="off"
              data-testid="spawn-path"
            />
            {host?.inventory && host.inventory.projectRoots.length > 0 && (
              <small className="muted">Must lie under {host.inventory.projectRoots.join(', ')}</small>
            )}
          </label>
          <div className="field">
            <label className="check">
              <input
                type="checkbox"
                checked={isolate}
                onChange={(e) => setIsolateChoice(e.target.checked)}
                data-testid="spawn-worktree"
              />
              Isolate in a git worktree
            </label>
            <small className="muted" data-testid="spawn-worktree-hint" data-shared={shared}>
              {worktreeHint(shared, isolate)}
            </small>
          </div>
          {isolate && (
            <label className="field">
              <span>Base (branch, tag or commit)</span>
              <input
                className="mono"
                value={base}
                onChange={(e) => setBase(e.target.value)}
                placeholder="current branch"
                spellCheck={false}
                autoCapitalize="off"
                autoCorrect="off"
                aria-invalid={baseError ? true : undefined}
                data-testid="spawn-base"
              />
              {baseError && (
                <small className="field-error" role="alert" data-testid="spawn-base-error">
                  {baseError}
                </small>
              )}
            </label>
          )}
          <label className="field">
            <span>Initial prompt (optional)</span>
            <textarea rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} data-testid="spawn-prompt" />
          </label>
          {error && (
            <p className="form-error" role="alert" data-testid="spawn-error">
              {error}
            </p>
          )}
          <div className="modal-actions">
            <button type="button" className="btn ghost" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn primary" disabled={!canStart} data-testid="spawn-submit">
              {busy ? 'Starting…' : 'Start'}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

/** One line under the worktree box: why it is on by default, and that the worktree stays. */
function worktreeHint(shared: boolean, isolate: boolean): string {
  const kept = 'The worktree is kept after the session ends.';
  if (shared) {
    return isolate
      ? `Another live session uses this project, so it gets its own branch if the project is a git repository. ${kept}`
      : 'Another live session uses this project; both would share its checkout.';
  }
  return isolate ? `A new branch in its own checkout. ${kept}` : 'Runs in the project checkout itself.';
}
