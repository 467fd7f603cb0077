/**
 * The git worktree a session runs in: a small branch marker for the sessions
 * list and a one-line strip (branch, base, path) for the open session's
 * header. Both render nothing for a session that is not isolated.
 */
import type { WorktreeInfo } from '../protocol/generated/protocol';
import { baseLabel } from '../worktree';

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

/** The header strip: branch, "from <base> @ <commit>", and the worktree's path. */
export function WorktreeDetail({ worktree }: { worktree: WorktreeInfo | null | undefined }) {
  if (!worktree) return null;
  return (
    <div className="worktree-strip small" data-testid="session-worktree" title={tooltip(worktree)}>
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
    </div>
  );
}
