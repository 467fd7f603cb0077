//! Git worktrees for isolated sessions, made at spawn with the `git` CLI:
//! a new branch from a base resolved to a commit, under
//! `<repository>/.flotilla/worktrees/`, hidden from git through the
//! repository's `info/exclude`, with the ignored files `.worktreeinclude`
//! names copied in. Nothing here removes a worktree or a branch on its
//! own: they belong to the user, and only a discard they confirmed
//! ([`discard`]) removes them. Blocking (runs on blocking threads).

pub mod discard;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flotilla_protocol::worktree::{
    BRANCH_PREFIX, WORKTREES_DIR, WorktreeInfo, WorktreeRequest, check_base_ref,
};
use flotilla_protocol::{ErrorBody, ErrorCode};

/// The file at the repository's top level naming ignored files to copy
/// into a new worktree (gitignore syntax).
pub const INCLUDE_FILE: &str = ".worktreeinclude";

/// The line the repository's `info/exclude` gets, so worktrees never show
/// as untracked files.
const EXCLUDE_LINE: &str = "/.flotilla/";

/// A worktree made for a session, and the directory the session starts in
/// (the project's place inside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    /// What the hub records.
    pub info: WorktreeInfo,
    /// Where the agent runs.
    pub cwd: PathBuf,
    /// Files copied in because `.worktreeinclude` named them, relative.
    pub included: Vec<PathBuf>,
}

/// Makes the worktree `request` asks for, for the repository holding
/// `project`. Fails, with what to do, when `project` is not in a git
/// repository, the base is not a commit, or the branch or directory
/// already exist; nothing existing is touched then. An `optional` request
/// makes nothing (`None`) where there is no repository or no commit.
pub fn create(project: &Path, request: &WorktreeRequest) -> Result<Option<Made>, ErrorBody> {
    let name = branch_dir_name(&request.branch)?;
    if let Some(base) = &request.base {
        check_base_ref(base).map_err(invalid)?;
    }
    let Ok(top) = git_line(project, &["rev-parse", "--show-toplevel"]) else {
        if request.optional {
            return Ok(None);
        }
        return Err(ErrorBody::new(
            ErrorCode::SpawnFailed,
            format!(
                "{} is not in a git repository, so it cannot be isolated in a worktree: spawn it without one, or run `git init` there",
                project.display()
            ),
        ));
    };
    let top = PathBuf::from(top);
    let prefix = git_line(project, &["rev-parse", "--show-prefix"]).unwrap_or_default();
    let base_ref = match &request.base {
        Some(base) => base.clone(),
        None => git_line(&top, &["symbolic-ref", "--quiet", "--short", "HEAD"])
            .unwrap_or_else(|_| "HEAD".into()),
    };
    let resolved = git_line(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{base_ref}^{{commit}}"),
        ],
    );
    let base_commit = match resolved {
        Ok(commit) => commit,
        Err(_) if request.optional => return Ok(None),
        Err(_) => {
            return Err(ErrorBody::new(
                ErrorCode::InvalidInput,
                format!(
                    "{base_ref:?} is not a commit in {} (a repository without commits cannot be branched: commit first)",
                    top.display()
                ),
            ));
        }
    };
    let path = top.join(WORKTREES_DIR).join(name);
    if path.exists() {
        return Err(ErrorBody::new(
            ErrorCode::Conflict,
            format!("{} already exists; it was left as it is", path.display()),
        ));
    }
    exclude_worktrees(&top)?;
    let added = git(
        &top,
        [
            OsStr::new("worktree"),
            OsStr::new("add"),
            OsStr::new("--quiet"),
            OsStr::new("-b"),
            OsStr::new(&request.branch),
            path.as_os_str(),
            OsStr::new(&base_commit),
        ],
    )?;
    if !added.status.success() {
        return Err(ErrorBody::new(
            ErrorCode::SpawnFailed,
            format!(
                "git worktree add failed: {}",
                String::from_utf8_lossy(&added.stderr).trim()
            ),
        ));
    }
    let included = copy_included(&top, &path)?;
    let cwd = path.join(prefix.trim_end_matches('/'));
    Ok(Some(Made {
        info: WorktreeInfo {
            path: path.display().to_string(),
            branch: request.branch.clone(),
            base_ref,
            base_commit,
            removed: None,
        },
        cwd,
        included,
    }))
}

/// The worktree directory's name for a Flotilla branch: what follows
/// `flotilla/`, ASCII letters, digits, `-` and `_` only.
fn branch_dir_name(branch: &str) -> Result<&str, ErrorBody> {
    branch
        .strip_prefix(BRANCH_PREFIX)
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .ok_or_else(|| invalid(format!("the branch {branch:?} is not a Flotilla branch")))
}

/// Adds [`EXCLUDE_LINE`] to the repository's `info/exclude` unless it is
/// there.
fn exclude_worktrees(top: &Path) -> Result<(), ErrorBody> {
    let common = git_line(
        top,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )
    .map_err(|error| internal(format!("git rev-parse --git-common-dir: {error}")))?;
    let info = Path::new(&common).join("info");
    let exclude = info.join("exclude");
    let current = std::fs::read_to_string(&exclude).unwrap_or_default();
    if current.lines().any(|line| line.trim() == EXCLUDE_LINE) {
        return Ok(());
    }
    std::fs::create_dir_all(&info)
        .and_then(|()| {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&exclude)?;
            let separator = if current.is_empty() || current.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            writeln!(file, "{separator}{EXCLUDE_LINE}")
        })
        .map_err(|error| internal(format!("could not write {}: {error}", exclude.display())))
}

/// Copies into `worktree` the files of `top` that git ignores and
/// `.worktreeinclude` names (never anything under `.flotilla/`), keeping
/// their relative paths, permissions and symbolic links. Returns them.
fn copy_included(top: &Path, worktree: &Path) -> Result<Vec<PathBuf>, ErrorBody> {
    if !top.join(INCLUDE_FILE).is_file() {
        return Ok(Vec::new());
    }
    let named = ls_files(
        top,
        &["--others", "--ignored", "--exclude-from", INCLUDE_FILE],
    )?;
    let ignored = ls_files(top, &["--others", "--ignored", "--exclude-standard"])?;
    let mut copied = Vec::new();
    for relative in named.intersection(&ignored) {
        if relative.starts_with(".flotilla") {
            continue;
        }
        let from = top.join(relative);
        let to = worktree.join(relative);
        let copy = || -> std::io::Result<()> {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let meta = std::fs::symlink_metadata(&from)?;
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)
            } else {
                std::fs::copy(&from, &to).map(drop)
            }
        };
        copy().map_err(|error| {
            internal(format!(
                "could not copy {} into the worktree: {error}",
                relative.display()
            ))
        })?;
        copied.push(relative.clone());
    }
    Ok(copied)
}

fn ls_files(top: &Path, args: &[&str]) -> Result<BTreeSet<PathBuf>, ErrorBody> {
    let mut all = vec!["ls-files", "-z"];
    all.extend_from_slice(args);
    let output = git(top, all.iter().map(OsStr::new))?;
    if !output.status.success() {
        return Err(internal(format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output
        .stdout
        .split(|byte| *byte == 0)
        .filter(|path| !path.is_empty())
        .map(|path| PathBuf::from(OsStr::from_bytes(path)))
        .collect())
}

/// Runs git in `dir` with no terminal, no inherited repository variables
/// and no prompts.
fn git<'a>(
    dir: &Path,
    args: impl IntoIterator<Item = &'a OsStr>,
) -> Result<std::process::Output, ErrorBody> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_COMMON_DIR")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| {
            ErrorBody::new(
                ErrorCode::SpawnFailed,
                format!(
                    "git could not be run on this host ({error}); install git to use worktrees"
                ),
            )
        })
}

/// The first line git printed, or what it printed on standard error.
fn git_line(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = git(dir, args.iter().map(OsStr::new)).map_err(|error| error.message)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

fn invalid(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::InvalidInput, message)
}

fn internal(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::Internal, message)
}
