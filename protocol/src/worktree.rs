//! Git worktrees a session can be isolated in: what a spawn asks for and
//! what the daemon made. A worktree and its branch belong to the user; no
//! part of Flotilla removes them on its own.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

/// Longest base ref a spawn may name, in bytes.
pub const MAX_BASE_REF_BYTES: usize = 200;

/// Where branches for isolated sessions live: `flotilla/<short-id>-<slug>`.
pub const BRANCH_PREFIX: &str = "flotilla/";

/// Where, under the repository's top level, the worktrees are made; the
/// daemon adds `/.flotilla/` to the repository's `info/exclude`.
pub const WORKTREES_DIR: &str = ".flotilla/worktrees";

/// Isolate a new session in a worktree (hub to daemon, in the spawn).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeRequest {
    /// The new branch, `flotilla/<short-id>-<slug>`; its last part names
    /// the worktree's directory.
    pub branch: String,
    /// What to branch from (a branch, tag or commit); the repository's
    /// current branch when absent.
    pub base: Option<String>,
    /// The hub's default rather than the user's ask: made only when the
    /// project is in a git repository with a commit, otherwise the session
    /// runs in the project itself.
    #[serde(default)]
    pub optional: bool,
}

/// The worktree a session runs in, as the daemon made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorktreeInfo {
    /// The worktree's directory on the host.
    pub path: String,
    /// The branch made for it.
    pub branch: String,
    /// The base as asked for (or the branch that was current).
    pub base_ref: String,
    /// The commit the base resolved to when the worktree was made.
    pub base_commit: String,
    /// Set once a user discarded the worktree (and perhaps its branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub removed: Option<WorktreeRemoved>,
}

/// A discard a user confirmed: the worktree's directory is gone, and the
/// branch too unless it was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorktreeRemoved {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    /// Who confirmed it.
    pub by: String,
    /// Whether the branch was kept.
    pub branch_kept: bool,
}

/// Most paths or commits one list of a [`WorktreeStatus`] carries; the
/// count beside it is always whole.
pub const MAX_LISTED: usize = 200;

/// A worktree's git state as the daemon read it just now, and what a
/// discard would lose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorktreeStatus {
    /// Whether the directory is still a worktree of the repository.
    pub exists: bool,
    /// Whether the branch still exists.
    pub branch_exists: bool,
    /// The commit checked out in the worktree.
    pub head: Option<String>,
    /// Commits on the branch that the base commit does not have.
    pub ahead: u32,
    /// Commits of the base ref (as it is now) that the branch does not have.
    pub behind: u32,
    /// Tracked files with uncommitted changes, and untracked files (never
    /// ignored ones), as `git status` shows them; at most [`MAX_LISTED`].
    pub changes: Vec<FileChange>,
    /// How many entries `changes` would have without the limit.
    pub change_count: u32,
    /// Ignored files and directories in the worktree (a directory that is
    /// ignored as a whole is one entry); removing the worktree deletes them.
    pub ignored: Vec<String>,
    /// How many entries `ignored` would have without the limit.
    pub ignored_count: u32,
    /// Commits on the branch (or checked out) that no other branch, tag or
    /// remote-tracking branch has: deleting the branch loses them. Newest
    /// first; at most [`MAX_LISTED`].
    pub unique_commits: Vec<CommitSummary>,
    /// How many entries `unique_commits` would have without the limit.
    pub unique_commit_count: u32,
    /// Names exactly this state: a discard must quote it, so nothing
    /// changed since the user looked is lost unseen.
    pub fingerprint: String,
}

/// One path `git status` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileChange {
    /// Relative to the worktree.
    pub path: String,
    /// `git status --porcelain`'s two letters, e.g. ` M`, `A `, `??`.
    pub status: String,
}

/// One commit, short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitSummary {
    /// The full commit id.
    pub commit: String,
    /// Its subject line.
    pub summary: String,
}

/// What the hub asks of a session's worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorktreeAction {
    /// Read its [`WorktreeStatus`].
    Inspect,
    /// Remove the worktree's directory (and the branch unless
    /// `keep_branch`), only if its state is still the one `confirm` names.
    Remove {
        /// Keep the branch and its commits.
        #[serde(rename = "keepBranch")]
        keep_branch: bool,
        /// The [`WorktreeStatus::fingerprint`] the user confirmed.
        confirm: String,
    },
}

/// The daemon's answer to a [`WorktreeAction`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorktreeOutcome {
    /// The state, as asked.
    Status {
        /// It.
        status: WorktreeStatus,
    },
    /// Removed as asked.
    Removed {
        /// Whether the branch was kept.
        #[serde(rename = "branchKept")]
        branch_kept: bool,
    },
    /// Not removed: the state is no longer the one confirmed. Nothing was
    /// touched; this is the state now.
    Changed {
        /// The state now.
        status: WorktreeStatus,
    },
    /// It could not be done; nothing was touched.
    Failed {
        /// Why, and what to do.
        error: crate::ErrorBody,
    },
}

/// Checks a base ref a user typed: not empty, at most
/// [`MAX_BASE_REF_BYTES`], no whitespace or control characters, and not
/// starting with `-` (it is passed to git as an argument). Whether it
/// names a commit is for git, on the host, to say.
pub fn check_base_ref(base: &str) -> Result<(), String> {
    if base.is_empty() {
        return Err("the base ref is empty".into());
    }
    if base.len() > MAX_BASE_REF_BYTES {
        return Err(format!(
            "the base ref is {} bytes; at most {MAX_BASE_REF_BYTES}",
            base.len()
        ));
    }
    if base.starts_with('-') {
        return Err(format!("the base ref {base:?} starts with '-'"));
    }
    if base.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the base ref {base:?} has whitespace or control characters"
        ));
    }
    Ok(())
}

/// The branch for a session: `flotilla/<first 8 hex of the id>-<slug>`,
/// the slug made of `label`'s first words (lowercase ASCII letters and
/// digits joined by `-`, at most 32 bytes), `session` when nothing is left.
pub fn branch_name(session: crate::SessionId, label: &str) -> String {
    let id = session.to_string();
    let short: String = id.chars().filter(|c| *c != '-').take(8).collect();
    let mut slug = String::new();
    for word in label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let extra = usize::from(!slug.is_empty()) + word.len();
        if slug.len() + extra > 32 {
            if slug.is_empty() {
                slug.push_str(&word[..32]);
            }
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    if slug.is_empty() {
        slug.push_str("session");
    }
    format!("{BRANCH_PREFIX}{short}-{slug}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_short_id_and_slug() {
        let id: crate::SessionId = "c92bd108-1775-42b7-b31b-0573200a38c7".parse().unwrap();
        assert_eq!(
            branch_name(id, "Fix the login bug, please!"),
            "flotilla/c92bd108-fix-the-login-bug-please"
        );
        assert_eq!(branch_name(id, "  ¿¡ "), "flotilla/c92bd108-session");
        assert_eq!(
            branch_name(id, &"x".repeat(50)),
            format!("flotilla/c92bd108-{}", "x".repeat(32))
        );
        let long = branch_name(id, "one two three four five six seven eight nine ten");
        assert_eq!(long, "flotilla/c92bd108-one-two-three-four-five-six");
    }

    #[test]
    fn base_refs_that_could_be_options_or_split_are_refused() {
        assert!(check_base_ref("main").is_ok());
        assert!(check_base_ref("origin/release-1.2").is_ok());
        assert!(check_base_ref("HEAD~2").is_ok());
        for bad in ["", "-b", "--exec=x", "a b", "a\nb", &"m".repeat(201)] {
            assert!(check_base_ref(bad).is_err(), "{bad:?}");
        }
    }
}
