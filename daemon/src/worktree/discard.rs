//! A session's worktree after the fact: its git state (what the session
//! view shows, and what a discard would lose) and the discard itself,
//! which runs only when the state is still exactly the one the user
//! confirmed. Only a Flotilla worktree under a project root is touched:
//! the path must be `<top>/.flotilla/worktrees/<name>` of a repository
//! under a root, registered with git, for the branch `flotilla/<name>`.
//! Blocking (runs on a blocking thread).

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use flotilla_protocol::worktree::{
    CommitSummary, FileChange, MAX_LISTED, WORKTREES_DIR, WorktreeInfo, WorktreeOutcome,
    WorktreeStatus,
};
use flotilla_protocol::{ErrorBody, ErrorCode};
use sha2::{Digest as _, Sha256};

use super::{branch_dir_name, git, git_line, internal, invalid};

/// Where a recorded worktree is, checked.
struct Located {
    /// The repository's top level (canonical).
    top: PathBuf,
    /// The worktree's directory, `<top>/.flotilla/worktrees/<name>`.
    path: PathBuf,
    /// `refs/heads/flotilla/<name>`.
    branch_ref: String,
    /// `flotilla/<name>`.
    branch: String,
}

/// What `git worktree list` says of one worktree.
#[derive(Default)]
struct Registered {
    head: Option<String>,
    locked: bool,
}

/// The worktree's state now.
pub fn inspect(info: &WorktreeInfo, roots: &[PathBuf]) -> Result<WorktreeStatus, ErrorBody> {
    let located = locate(info, roots)?;
    Ok(read_state(&located, info)?.status)
}

/// Removes the worktree's directory (with everything in it), and its
/// branch unless `keep_branch`, when its state still has the fingerprint
/// `confirm`; otherwise touches nothing and answers with the state now.
/// A branch git refuses to delete (e.g. it is checked out elsewhere) is
/// kept, and the answer says so.
pub fn remove(
    info: &WorktreeInfo,
    roots: &[PathBuf],
    keep_branch: bool,
    confirm: &str,
) -> WorktreeOutcome {
    let failed = |error| WorktreeOutcome::Failed { error };
    let located = match locate(info, roots) {
        Ok(located) => located,
        Err(error) => return failed(error),
    };
    let state = match read_state(&located, info) {
        Ok(state) => state,
        Err(error) => return failed(error),
    };
    if state.status.fingerprint != confirm {
        return WorktreeOutcome::Changed {
            status: state.status,
        };
    }
    if state.registered.as_ref().is_some_and(|entry| entry.locked) {
        return failed(ErrorBody::new(
            ErrorCode::Conflict,
            format!(
                "{} is locked (git worktree lock); unlock it with `git worktree unlock` first",
                located.path.display()
            ),
        ));
    }
    if state.status.exists {
        let removed = git(
            &located.top,
            [
                OsStr::new("worktree"),
                OsStr::new("remove"),
                OsStr::new("--force"),
                located.path.as_os_str(),
            ],
        );
        match removed {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                return failed(internal(format!(
                    "git worktree remove failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
            Err(error) => return failed(error),
        }
    } else if state.registered.is_some() {
        // The directory is gone already; forget its registration.
        let _ = git_line(&located.top, &["worktree", "prune"]);
    }
    let mut branch_kept = true;
    if !keep_branch && state.status.branch_exists {
        match git_line(&located.top, &["branch", "-D", "--", &located.branch]) {
            Ok(_) => branch_kept = false,
            Err(error) => tracing::warn!(
                branch = %located.branch,
                %error,
                "the worktree was removed; git refused to delete its branch, which is kept"
            ),
        }
    } else if !state.status.branch_exists {
        branch_kept = false;
    }
    WorktreeOutcome::Removed { branch_kept }
}

/// Checks that `info` names a Flotilla worktree of a repository under one
/// of `roots`.
fn locate(info: &WorktreeInfo, roots: &[PathBuf]) -> Result<Located, ErrorBody> {
    let name = branch_dir_name(&info.branch)?;
    let path = Path::new(&info.path);
    let top = path
        .parent()
        .filter(|parent| parent.ends_with(WORKTREES_DIR))
        .and_then(|parent| parent.parent()?.parent())
        .filter(|_| path.file_name() == Some(OsStr::new(name)))
        .ok_or_else(|| {
            invalid(format!(
                "{} is not a Flotilla worktree of {}",
                info.path, info.branch
            ))
        })?;
    let top = crate::project::confine(roots, &top.display().to_string())?;
    let toplevel = git_line(&top, &["rev-parse", "--show-toplevel"]).map_err(|error| {
        ErrorBody::new(
            ErrorCode::NotFound,
            format!(
                "{} is no longer a git repository ({error}); nothing was touched",
                top.display()
            ),
        )
    })?;
    if Path::new(&toplevel) != top {
        return Err(invalid(format!(
            "{} is not the top level of its repository",
            top.display()
        )));
    }
    Ok(Located {
        path: top.join(WORKTREES_DIR).join(name),
        top,
        branch_ref: format!("refs/heads/{}", info.branch),
        branch: info.branch.clone(),
    })
}

struct State {
    status: WorktreeStatus,
    registered: Option<Registered>,
}

fn read_state(located: &Located, info: &WorktreeInfo) -> Result<State, ErrorBody> {
    let registered = registered(located)?;
    let exists = registered.is_some() && located.path.is_dir();
    let branch_tip = git_line(
        &located.top,
        &["rev-parse", "--verify", "--quiet", &located.branch_ref],
    )
    .ok();
    let head = registered.as_ref().and_then(|entry| entry.head.clone());
    // What the fingerprint covers beyond the status: the raw outputs, in
    // full, and the size and change time of every listed path, so an edit
    // to a file that was already modified changes it too.
    let mut hasher = Sha256::new();
    let mut feed = |part: &[u8]| {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    };

    let (changes, change_count) = if exists {
        let raw = git_bytes(
            &located.path,
            &[
                "--no-optional-locks",
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--ignore-submodules=none",
            ],
        )?;
        feed(&raw);
        let all = parse_status(&raw);
        for change in &all {
            feed(&stat_of(&located.path.join(&change.path)));
        }
        truncate(all)
    } else {
        (Vec::new(), 0)
    };
    let (ignored, ignored_count) = if exists {
        let raw = git_bytes(
            &located.path,
            &[
                "ls-files",
                "-z",
                "--others",
                "--ignored",
                "--exclude-standard",
                "--directory",
            ],
        )?;
        feed(&raw);
        let all: Vec<String> = split_z(&raw)
            .map(|path| path.trim_end_matches('/').to_owned())
            .collect();
        for path in &all {
            feed(&stat_of(&located.path.join(path)));
        }
        truncate(all)
    } else {
        (Vec::new(), 0)
    };

    let tips: Vec<&str> = branch_tip
        .iter()
        .chain(head.iter())
        .map(String::as_str)
        .collect();
    let (unique_commits, unique_commit_count) = if tips.is_empty() {
        (Vec::new(), 0)
    } else {
        let exclude = format!("--exclude={}", located.branch);
        let mut args = vec!["log", "--format=%H%x09%s", "-z"];
        args.extend(&tips);
        args.extend(["--not", &exclude, "--branches", "--tags", "--remotes", "--"]);
        let raw = git_bytes(&located.top, &args)?;
        feed(&raw);
        let all: Vec<CommitSummary> = split_z(&raw)
            .map(|line| {
                let (commit, summary) = line.split_once('\t').unwrap_or((line, ""));
                CommitSummary {
                    commit: commit.trim().to_owned(),
                    summary: summary.to_owned(),
                }
            })
            .collect();
        truncate(all)
    };

    let (ahead, behind) = match branch_tip.as_deref().or(head.as_deref()) {
        Some(tip) => {
            let base_now = git_line(
                &located.top,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    &format!("{}^{{commit}}", info.base_ref),
                ],
            )
            .unwrap_or_else(|_| info.base_commit.clone());
            let ahead = count(&located.top, &format!("{}..{tip}", info.base_commit))?;
            let behind = count(&located.top, &format!("{tip}..{base_now}"))?;
            (ahead, behind)
        }
        None => (0, 0),
    };

    let mut status = WorktreeStatus {
        exists,
        branch_exists: branch_tip.is_some(),
        head,
        ahead,
        behind,
        changes,
        change_count,
        ignored,
        ignored_count,
        unique_commits,
        unique_commit_count,
        fingerprint: String::new(),
    };
    let summary = serde_json::to_vec(&status).map_err(|error| internal(error.to_string()))?;
    feed(&summary);
    feed(branch_tip.as_deref().unwrap_or_default().as_bytes());
    status.fingerprint = hex(&hasher.finalize());
    Ok(State { status, registered })
}

/// The entry of `git worktree list --porcelain` for the worktree.
fn registered(located: &Located) -> Result<Option<Registered>, ErrorBody> {
    let raw = git_bytes(&located.top, &["worktree", "list", "--porcelain", "-z"])?;
    let mut current: Option<(PathBuf, Registered)> = None;
    let mut found = None;
    for field in raw.split(|byte| *byte == 0) {
        let field = String::from_utf8_lossy(field);
        if field.is_empty() {
            if let Some((path, entry)) = current.take()
                && path == located.path
            {
                found = Some(entry);
            }
            continue;
        }
        if let Some(path) = field.strip_prefix("worktree ") {
            current = Some((PathBuf::from(path), Registered::default()));
        } else if let Some((_, entry)) = current.as_mut() {
            if let Some(head) = field.strip_prefix("HEAD ") {
                entry.head = Some(head.to_owned());
            } else if field == "locked" || field.starts_with("locked ") {
                entry.locked = true;
            }
        }
    }
    if let Some((path, entry)) = current
        && path == located.path
    {
        found = Some(entry);
    }
    Ok(found)
}

/// `git status --porcelain=v1 -z` entries; a rename's or copy's source
/// path (the entry after it) is not listed on its own.
fn parse_status(raw: &[u8]) -> Vec<FileChange> {
    let mut changes = Vec::new();
    let mut entries = split_z(raw);
    while let Some(entry) = entries.next() {
        if entry.len() < 4 {
            continue;
        }
        let (status, path) = entry.split_at(2);
        if status.contains('R') || status.contains('C') {
            entries.next();
        }
        changes.push(FileChange {
            path: path[1..].to_owned(),
            status: status.to_owned(),
        });
    }
    changes
}

fn split_z(raw: &[u8]) -> impl Iterator<Item = &str> {
    raw.split(|byte| *byte == 0)
        .filter(|part| !part.is_empty())
        .map(|part| std::str::from_utf8(part).unwrap_or("\u{fffd}"))
}

fn truncate<T>(mut all: Vec<T>) -> (Vec<T>, u32) {
    let count = u32::try_from(all.len()).unwrap_or(u32::MAX);
    all.truncate(MAX_LISTED);
    (all, count)
}

fn count(top: &Path, range: &str) -> Result<u32, ErrorBody> {
    let line = git_line(top, &["rev-list", "--count", range, "--"])
        .map_err(|error| internal(format!("git rev-list --count {range}: {error}")))?;
    line.trim()
        .parse()
        .map_err(|_| internal(format!("git rev-list --count printed {line:?}")))
}

/// Size, modification and change times of a path (empty when it is gone).
fn stat_of(path: &Path) -> Vec<u8> {
    std::fs::symlink_metadata(path)
        .map(|meta| {
            format!(
                "{} {}.{} {}.{}",
                meta.size(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ctime(),
                meta.ctime_nsec()
            )
            .into_bytes()
        })
        .unwrap_or_default()
}

fn git_bytes(dir: &Path, args: &[&str]) -> Result<Vec<u8>, ErrorBody> {
    let output = git(dir, args.iter().map(OsStr::new))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(internal(format!(
            "git {} failed: {}",
            args.iter()
                .find(|arg| !arg.starts_with('-'))
                .unwrap_or(&"?"),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}
