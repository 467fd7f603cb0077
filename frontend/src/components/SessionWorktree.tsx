/**
 * The git worktree a session runs in: a small branch marker for the sessions
 * list and a strip (branch, base, path, git state) for the open session's
 * header, with a way to discard the worktree of an ended session. Both render
 * nothing for a session that is not isolated.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { SessionState, WorktreeInfo, WorktreeStatus } from '../protocol/generated/protocol';
import { api } from '../api';
import { store } from '../store';
import {
  baseLabel,
  gitStateLabel,
  isChangedSince,
  lossSummary,
  moreLabel,
  nothingLost,
  removedLabel,
  shortCommit,
  worktreeFailure,
} from '../worktree';
import { Modal } from './Modal';
import { useNow } from './common';

/** A git-branch glyph; drawn rather than a character, which phone fonts may lack. */
function BranchIcon() {
  return (
    <svg className="branch-icon" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
      <circle cx="4.5" cy="3.5" r="1.75" />
      <circle cx="4.5" cy="12.5" r="1.75" />
      <circle cx="11.5" cy="4.5" r="1.75" />
      <path d="M4.5 5.25v5.5M11.5 6.25c0 3-7 2.5-7 4.5" />
    </svg>
  );
}

function tooltip(w: WorktreeInfo): string {
  return `Worktree on ${w.branch}, ${baseLabel(w)}\n${w.path}\nKept after the session ends.`;
}

/** The list's marker: the branch, cut short; the tooltip has the rest. */
export function WorktreeMarker({ worktree }: { worktree: WorktreeInfo | null | undefined }) {
  // A hub older than worktrees omits the field.
  if (!worktree) return null;
  return (
    <span className="worktree-mark mono" title={tooltip(worktree)} data-testid="session-worktree-mark">
      <BranchIcon />
      <span className="worktree-branch">{worktree.branch}</span>
    </span>
  );
}

/** One read of the worktree's status: the last one that worked, whether another runs, and how the last failed. */
interface StatusRead {
  status: WorktreeStatus | null;
  loading: boolean;
  error: string | null;
}

/**
 * Reads the worktree's status when mounted, whenever `trigger` changes and on
 * `refresh()`; never on a timer, since each read runs git on the host.
 * Nothing is read while `active` is false. `onStatus` hears of each status read.
 */
function useWorktreeStatus(
  sessionId: string,
  active: boolean,
  trigger: unknown,
  onStatus?: (status: WorktreeStatus) => void,
): StatusRead & { refresh: () => void } {
  const [read, setRead] = useState<StatusRead>({ status: null, loading: active, error: null });
  const [nonce, setNonce] = useState(0);
  // A notification, not a reason to read again: kept current without being a dependency.
  const onStatusRef = useRef(onStatus);
  useEffect(() => {
    onStatusRef.current = onStatus;
  }, [onStatus]);
  useEffect(() => {
    if (!active) return;
    // A read that a newer one (or unmounting) overtook must not overwrite it.
    let current = true;
    setRead((r) => ({ ...r, loading: true, error: null }));
    api
      .worktreeStatus(sessionId)
      .then((status) => {
        if (!current) return;
        setRead({ status, loading: false, error: null });
        onStatusRef.current?.(status);
      })
      .catch((err: unknown) => {
        if (current) setRead((r) => ({ ...r, loading: false, error: worktreeFailure('read', err) }));
      });
    return () => {
      current = false;
    };
  }, [sessionId, active, trigger, nonce]);
  const refresh = useCallback(() => setNonce((n) => n + 1), []);
  return { ...read, refresh };
}

/**
 * The header strip: branch, "from <base> @ <commit>", the worktree's path and
 * its git state (read on the host when the session opens or changes state, and
 * on Refresh). An ended session's worktree can be discarded from here.
 */
export function WorktreeDetail({
  sessionId,
  state,
  worktree,
}: {
  sessionId: string;
  state: SessionState;
  worktree: WorktreeInfo | null | undefined;
}) {
  if (!worktree) return null;
  // A new session starts with a fresh read rather than the last one's status.
  return <WorktreeStrip key={sessionId} sessionId={sessionId} state={state} worktree={worktree} />;
}

function WorktreeStrip({ sessionId, state, worktree }: { sessionId: string; state: SessionState; worktree: WorktreeInfo }) {
  const removed = worktree.removed;
  const live = state === 'starting' || state === 'running';
  // The newest status read, by the strip or by the discard dialog.
  const [status, setStatus] = useState<WorktreeStatus | null>(null);
  const read = useWorktreeStatus(sessionId, !removed, state, setStatus);
  const [discarding, setDiscarding] = useState(false);
  const now = useNow();
  return (
    <>
      <div className="worktree-strip small" data-testid="session-worktree">
        {/* The tooltip sits on the description only, not on the buttons and the error. */}
        <span className="worktree-where" title={tooltip(worktree)}>
          <span className="worktree-mark mono" data-testid="session-worktree-branch">
            <BranchIcon />
            <span className="worktree-branch">{worktree.branch}</span>
          </span>
          <span className="worktree-base" title={worktree.baseCommit} data-testid="session-worktree-base">
            {baseLabel(worktree)}
          </span>
          <span className="worktree-path mono" title={worktree.path} data-testid="session-worktree-path">
            {worktree.path}
          </span>
        </span>
        {removed ? (
          <span className="worktree-removed" title={removed.at} data-testid="session-worktree-removed">
            {removedLabel(removed, now)}
          </span>
        ) : (
          <span className="worktree-git">
            {status && (
              <span
                className="worktree-state"
                title={status.head ? `HEAD at ${shortCommit(status.head)}` : undefined}
                data-testid="session-worktree-state"
              >
                {gitStateLabel(status)}
              </span>
            )}
            {read.loading && (
              <span className="muted" data-testid="session-worktree-loading">
                reading git…
              </span>
            )}
            <button
              type="button"
              className="btn tiny ghost"
              onClick={read.refresh}
              disabled={read.loading}
              title="Read the worktree's git state on the host again"
              data-testid="worktree-refresh"
            >
              Refresh
            </button>
            {!live && (
              <button
                type="button"
                className="btn tiny danger-text"
                onClick={() => setDiscarding(true)}
                title="Remove the worktree's directory (and perhaps its branch) after showing what would be lost"
                data-testid="worktree-discard"
              >
                Discard…
              </button>
            )}
          </span>
        )}
        {!removed && read.error && (
          <span className="worktree-error" role="alert" data-testid="session-worktree-error">
            {read.error}
          </span>
        )}
      </div>
      {/* Outside the strip, which would lend it its small muted text. */}
      {discarding && !removed && !live && (
        <DiscardDialog sessionId={sessionId} worktree={worktree} onStatus={setStatus} onClose={() => setDiscarding(false)} />
      )}
    </>
  );
}

/**
 * Asks before discarding: reads the status afresh, lists what would be lost
 * (which depends on keeping the branch), and wants that acknowledged before
 * it sends the status's fingerprint. If the worktree changed meanwhile the
 * hub removes nothing, and the dialog shows the new state to confirm again.
 */
function DiscardDialog({
  sessionId,
  worktree,
  onStatus,
  onClose,
}: {
  sessionId: string;
  worktree: WorktreeInfo;
  onStatus: (status: WorktreeStatus) => void;
  onClose: () => void;
}) {
  const [keepBranch, setKeepBranch] = useState(true);
  const [ack, setAck] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const onRead = useCallback(
    (status: WorktreeStatus) => {
      // What was acknowledged is not what is shown any more.
      setAck(false);
      onStatus(status);
    },
    [onStatus],
  );
  const read = useWorktreeStatus(sessionId, true, null, onRead);
  const status = read.status;
  const sections = status ? lossSummary(status, keepBranch) : [];
  const safe = status ? nothingLost(status, keepBranch) : false;
  const ready = status !== null && !read.loading && !busy && (safe || ack);

  const discard = () => {
    if (!status) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    api
      .discardWorktree(sessionId, { confirm: status.fingerprint, keepBranch })
      .then((summary) => {
        store.upsertSession(summary);
        onClose();
      })
      .catch((err: unknown) => {
        if (isChangedSince(err)) {
          setNotice('The worktree changed since it was shown, so nothing was removed. This is what it holds now: check it again.');
          read.refresh();
        } else {
          setError(worktreeFailure('discard', err));
        }
      })
      .finally(() => setBusy(false));
  };

  return (
    <Modal title="Discard worktree" onClose={onClose} testId="worktree-discard-dialog" wide>
      <div className="modal-body worktree-dialog">
        <p>
          Removes <span className="mono worktree-dialog-path">{worktree.path}</span> and everything in it
          {keepBranch ? '.' : <>, and deletes the branch <span className="mono">{worktree.branch}</span>.</>}
        </p>
        {notice && (
          <p className="notice" role="status" data-testid="worktree-discard-notice">
            {notice}
          </p>
        )}
        <label className="check">
          <input
            type="checkbox"
            checked={keepBranch}
            onChange={(e) => {
              setKeepBranch(e.target.checked);
              setAck(false);
            }}
            disabled={busy}
            data-testid="worktree-keep-branch"
          />
          Keep the branch <span className="mono worktree-branch">{worktree.branch}</span>
        </label>
        <small className="muted worktree-dialog-hint">
          {keepBranch
            ? 'Its commits stay; you can check the branch out again later.'
            : 'Commits that no other branch, tag or remote has are lost with it.'}
        </small>
        {read.loading && !status && <p data-testid="worktree-discard-loading">Reading the worktree on its host…</p>}
        {read.error && (
          <p className="form-error" role="alert" data-testid="worktree-discard-read-error">
            {read.error}{' '}
            <button type="button" className="linklike" onClick={read.refresh}>
              Try again
            </button>
          </p>
        )}
        {status && (
          <div className="worktree-loss" data-testid="worktree-loss" data-nothing-lost={safe} aria-busy={read.loading}>
            {safe ? (
              <p className="worktree-loss-none" data-testid="worktree-nothing-lost">
                Nothing would be lost: no uncommitted changes, no ignored files
                {keepBranch ? '' : ', and every commit is also on another branch, tag or remote'}.
              </p>
            ) : (
              <>
                <p className="worktree-loss-lead">This is deleted for good:</p>
                {sections.map((sec) => (
                  <section key={sec.kind} className="worktree-loss-section" data-kind={sec.kind} data-count={sec.count}>
                    <h3>{sec.title}</h3>
                    <ul>
                      {sec.items.map((item) => (
                        <li key={item.key} data-testid="worktree-loss-item">
                          <span className="mono">{item.label}</span>
                          {item.detail && <span className="muted"> {item.detail}</span>}
                        </li>
                      ))}
                      {sec.more > 0 && <li className="muted worktree-loss-more">{moreLabel(sec.more)}</li>}
                    </ul>
                  </section>
                ))}
              </>
            )}
          </div>
        )}
        {status && !safe && (
          <label className="check worktree-ack">
            <input
              type="checkbox"
              checked={ack}
              onChange={(e) => setAck(e.target.checked)}
              disabled={busy || read.loading}
              data-testid="worktree-discard-ack"
            />
            I understand this is deleted for good
          </label>
        )}
      </div>
      {error && (
        <p className="form-error" role="alert" data-testid="worktree-discard-error">
          {error}
        </p>
      )}
      <div className="modal-actions worktree-actions">
        <button type="button" className="btn ghost" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="btn danger" onClick={discard} disabled={!ready} data-testid="worktree-discard-confirm">
          {busy ? (keepBranch ? 'Removing…' : 'Discarding…') : keepBranch ? 'Remove worktree' : 'Discard worktree and branch'}
        </button>
      </div>
    </Modal>
  );
}
