//! Worktrees made with the real git CLI in temporary repositories.

use std::path::Path;
use std::process::Command;

use flotilla_protocol::ErrorCode;
use flotilla_protocol::worktree::WorktreeRequest;

use super::create;

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A repository on `main` with two commits, a `.gitignore` and a
/// `.worktreeinclude`.
fn repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().canonicalize().unwrap().join("app");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join("README"), "one\n").unwrap();
    std::fs::write(repo.join(".gitignore"), ".env\nsecrets/\nbuild/\n").unwrap();
    std::fs::write(repo.join(".worktreeinclude"), ".env\nsecrets/\n").unwrap();
    std::fs::write(repo.join("src/lib.rs"), "// lib\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "one"]);
    std::fs::write(repo.join("README"), "two\n").unwrap();
    git(&repo, &["commit", "--quiet", "-am", "two"]);
    (dir, repo)
}

fn request(branch: &str, base: Option<&str>) -> WorktreeRequest {
    WorktreeRequest {
        branch: branch.into(),
        base: base.map(Into::into),
        optional: false,
    }
}

fn make(project: &Path, request: &WorktreeRequest) -> super::Made {
    create(project, request).unwrap().expect("a worktree")
}

#[test]
fn a_worktree_starts_at_the_current_branch_and_is_hidden_from_git() {
    let (_dir, repo) = repo();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let made = make(&repo, &request("flotilla/abcd1234-fix", None));
    assert_eq!(made.info.base_ref, "main");
    assert_eq!(made.info.base_commit, head);
    assert_eq!(made.info.branch, "flotilla/abcd1234-fix");
    let path = repo.join(".flotilla/worktrees/abcd1234-fix");
    assert_eq!(made.info.path, path.display().to_string());
    assert_eq!(made.cwd, path);
    assert_eq!(
        git(&path, &["rev-parse", "--abbrev-ref", "HEAD"]),
        "flotilla/abcd1234-fix"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("README")).unwrap(),
        "two\n"
    );
    // The worktree does not show in the main checkout, and the exclude
    // line is written once however many worktrees are made.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    make(&repo, &request("flotilla/abcd1235-other", None));
    let exclude = std::fs::read_to_string(repo.join(".git/info/exclude")).unwrap();
    assert_eq!(exclude.matches("/.flotilla/").count(), 1, "{exclude}");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
}

#[test]
fn a_pinned_base_is_resolved_to_its_commit() {
    let (_dir, repo) = repo();
    let first = git(&repo, &["rev-parse", "HEAD~1"]);
    git(&repo, &["tag", "v1", &first]);
    let made = make(&repo, &request("flotilla/abcd1234-old", Some("v1")));
    assert_eq!(made.info.base_ref, "v1");
    assert_eq!(made.info.base_commit, first);
    assert_eq!(
        std::fs::read_to_string(Path::new(&made.info.path).join("README")).unwrap(),
        "one\n"
    );
}

#[test]
fn worktreeinclude_copies_the_ignored_files_it_names_only() {
    let (_dir, repo) = repo();
    std::fs::write(repo.join(".env"), "TOKEN=local\n").unwrap();
    std::fs::create_dir_all(repo.join("secrets/deep")).unwrap();
    std::fs::write(repo.join("secrets/deep/key"), "k\n").unwrap();
    std::fs::create_dir_all(repo.join("build")).unwrap();
    std::fs::write(repo.join("build/out.o"), "o\n").unwrap();
    // Untracked but not ignored: not copied even when named.
    std::fs::write(repo.join("notes.txt"), "n\n").unwrap();
    std::fs::write(repo.join(".worktreeinclude"), ".env\nsecrets/\nnotes.txt\n").unwrap();
    let made = make(&repo, &request("flotilla/abcd1234-env", None));
    let path = Path::new(&made.info.path);
    assert_eq!(
        std::fs::read_to_string(path.join(".env")).unwrap(),
        "TOKEN=local\n"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("secrets/deep/key")).unwrap(),
        "k\n"
    );
    assert!(!path.join("build").exists());
    assert!(!path.join("notes.txt").exists());
    let included: Vec<String> = made
        .included
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(included, [".env", "secrets/deep/key"]);
}

#[test]
fn a_project_below_the_top_level_starts_in_its_place_in_the_worktree() {
    let (_dir, repo) = repo();
    let made = make(&repo.join("src"), &request("flotilla/abcd1234-sub", None));
    assert_eq!(made.cwd, repo.join(".flotilla/worktrees/abcd1234-sub/src"));
    assert!(made.cwd.join("lib.rs").is_file());
}

#[test]
fn bad_requests_fail_clearly_and_touch_nothing() {
    let (dir, repo) = repo();
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let error = create(&plain, &request("flotilla/abcd1234-x", None)).unwrap_err();
    assert_eq!(error.code, ErrorCode::SpawnFailed);
    assert!(
        error.message.contains("not in a git repository"),
        "{}",
        error.message
    );

    let error = create(&repo, &request("flotilla/abcd1234-x", Some("no-such-ref"))).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidInput);
    assert!(
        error.message.contains("\"no-such-ref\" is not a commit"),
        "{}",
        error.message
    );

    for branch in ["main", "flotilla/", "flotilla/../x", "flotilla/a b"] {
        let error = create(&repo, &request(branch, None)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput, "{branch}");
    }
    let error = create(&repo, &request("flotilla/abcd1234-x", Some("--orphan"))).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidInput);

    // An existing branch is never reset; an existing directory never reused.
    git(&repo, &["branch", "flotilla/abcd1234-taken", "HEAD~1"]);
    let taken = git(&repo, &["rev-parse", "flotilla/abcd1234-taken"]);
    let error = create(&repo, &request("flotilla/abcd1234-taken", None)).unwrap_err();
    assert_eq!(error.code, ErrorCode::SpawnFailed);
    assert!(
        error.message.contains("already exists"),
        "{}",
        error.message
    );
    assert_eq!(git(&repo, &["rev-parse", "flotilla/abcd1234-taken"]), taken);
    let dir_taken = repo.join(".flotilla/worktrees/abcd1234-dir");
    std::fs::create_dir_all(&dir_taken).unwrap();
    std::fs::write(dir_taken.join("mine"), "keep\n").unwrap();
    let error = create(&repo, &request("flotilla/abcd1234-dir", None)).unwrap_err();
    assert_eq!(error.code, ErrorCode::Conflict);
    assert_eq!(
        std::fs::read_to_string(dir_taken.join("mine")).unwrap(),
        "keep\n"
    );
}

#[test]
fn the_hubs_default_makes_nothing_where_there_is_no_repository_or_commit() {
    let (dir, repo) = repo();
    let optional = |branch: &str| WorktreeRequest {
        optional: true,
        ..request(branch, None)
    };
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(plain.join(".git")).unwrap();
    assert_eq!(
        create(&plain, &optional("flotilla/abcd1234-a")).unwrap(),
        None
    );
    let unborn = dir.path().join("unborn");
    std::fs::create_dir_all(&unborn).unwrap();
    git(&unborn, &["init", "--quiet"]);
    assert_eq!(
        create(&unborn, &optional("flotilla/abcd1234-b")).unwrap(),
        None
    );
    assert!(!unborn.join(".flotilla").exists());
    // Where there is a repository, the default isolates like an ask.
    let isolated = create(&repo, &optional("flotilla/abcd1234-c")).unwrap();
    assert!(isolated.is_some_and(|made| made.cwd.join("README").is_file()));
}

mod discard {
    use std::path::{Path, PathBuf};

    use flotilla_protocol::ErrorCode;
    use flotilla_protocol::worktree::{WorktreeInfo, WorktreeOutcome, WorktreeStatus};

    use super::{git, make, repo, request};
    use crate::worktree::discard::{inspect, remove};

    fn listed(status: &WorktreeStatus) -> (Vec<String>, Vec<String>, Vec<String>) {
        (
            status
                .changes
                .iter()
                .map(|change| format!("{}{}", change.status, change.path))
                .collect(),
            status.ignored.clone(),
            status
                .unique_commits
                .iter()
                .map(|commit| commit.summary.clone())
                .collect(),
        )
    }

    /// A worktree with a commit of its own, a modified tracked file, an
    /// untracked file, and ignored files (one copied in, one a directory).
    fn busy_worktree(repo: &Path) -> (WorktreeInfo, PathBuf) {
        std::fs::write(repo.join(".env"), "A=1\n").unwrap();
        let made = make(repo, &request("flotilla/abcd1234-busy", None));
        let path = PathBuf::from(&made.info.path);
        std::fs::write(path.join("notes.md"), "n\n").unwrap();
        git(&path, &["add", "notes.md"]);
        git(&path, &["commit", "--quiet", "-m", "wip notes"]);
        std::fs::write(path.join("README"), "edited\n").unwrap();
        std::fs::write(path.join("new.txt"), "new\n").unwrap();
        std::fs::create_dir_all(path.join("build/deep")).unwrap();
        std::fs::write(path.join("build/deep/out.o"), "o").unwrap();
        (made.info, path)
    }

    #[test]
    fn inspect_reports_exactly_what_a_discard_would_lose() {
        let (dir, repo) = repo();
        let roots = vec![dir.path().canonicalize().unwrap()];
        let (info, _path) = busy_worktree(&repo);
        let status = inspect(&info, &roots).unwrap();
        assert!(status.exists && status.branch_exists);
        assert_eq!(
            listed(&status),
            (
                vec![" MREADME".into(), "??new.txt".into()],
                vec![".env".into(), "build".into()],
                vec!["wip notes".into()],
            )
        );
        assert_eq!(
            (
                status.change_count,
                status.ignored_count,
                status.unique_commit_count
            ),
            (2, 2, 1)
        );
        assert_eq!((status.ahead, status.behind), (1, 0));
        assert_eq!(status.fingerprint.len(), 64);

        // The base moves on: one behind. Another branch holding the
        // commit means deleting this one loses no commit.
        std::fs::write(repo.join("README"), "three\n").unwrap();
        git(&repo, &["commit", "--quiet", "-am", "three"]);
        git(&repo, &["branch", "keep", &info.branch]);
        let status = inspect(&info, &roots).unwrap();
        assert_eq!((status.ahead, status.behind), (1, 1));
        assert!(status.unique_commits.is_empty(), "{status:?}");
    }

    #[test]
    fn remove_needs_the_fingerprint_of_the_state_now_and_can_keep_the_branch() {
        let (dir, repo) = repo();
        let roots = vec![dir.path().canonicalize().unwrap()];
        let (info, path) = busy_worktree(&repo);
        let seen = inspect(&info, &roots).unwrap();

        // An edit to a file that was already modified is a change too.
        std::fs::write(path.join("README"), "edited again, longer\n").unwrap();
        let WorktreeOutcome::Changed { status } = remove(&info, &roots, false, &seen.fingerprint)
        else {
            panic!("a stale confirmation must not remove anything");
        };
        assert_ne!(status.fingerprint, seen.fingerprint);
        assert!(path.join("new.txt").is_file(), "nothing was touched");
        assert!(matches!(
            remove(&info, &roots, false, ""),
            WorktreeOutcome::Changed { .. }
        ));

        // Keep the branch: the directory goes, the commit stays.
        let tip = git(&repo, &["rev-parse", &info.branch]);
        assert_eq!(
            remove(&info, &roots, true, &status.fingerprint),
            WorktreeOutcome::Removed { branch_kept: true }
        );
        assert!(!path.exists());
        assert_eq!(git(&repo, &["rev-parse", &info.branch]), tip);
        assert!(!git(&repo, &["worktree", "list"]).contains("abcd1234-busy"));
        let after = inspect(&info, &roots).unwrap();
        assert!(!after.exists && after.branch_exists);
        assert!(after.changes.is_empty() && after.ignored.is_empty());
        assert_eq!(listed(&after).2, vec!["wip notes".to_owned()]);

        // Then the branch as well.
        assert_eq!(
            remove(&info, &roots, false, &after.fingerprint),
            WorktreeOutcome::Removed { branch_kept: false }
        );
        assert!(git(&repo, &["branch", "--list", &info.branch]).is_empty());
        assert_eq!(git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    }

    #[test]
    fn only_a_flotilla_worktree_under_a_root_is_touched() {
        let (dir, repo) = repo();
        let roots = vec![dir.path().canonicalize().unwrap()];
        let (info, path) = busy_worktree(&repo);
        let fingerprint = inspect(&info, &roots).unwrap().fingerprint;
        let cases = [
            // The repository itself, claimed as the worktree.
            WorktreeInfo {
                path: repo.display().to_string(),
                ..info.clone()
            },
            // A branch that is not Flotilla's.
            WorktreeInfo {
                branch: "main".into(),
                ..info.clone()
            },
            // A directory that does not match the branch.
            WorktreeInfo {
                branch: "flotilla/abcd1234-other".into(),
                ..info.clone()
            },
        ];
        for case in &cases {
            let WorktreeOutcome::Failed { error } = remove(case, &roots, false, &fingerprint)
            else {
                panic!("{case:?} must be refused");
            };
            assert_eq!(error.code, ErrorCode::InvalidInput, "{case:?}: {error}");
        }
        // Outside every root.
        let elsewhere = tempfile::tempdir().unwrap();
        let WorktreeOutcome::Failed { error } =
            remove(&info, &[elsewhere.path().to_owned()], false, &fingerprint)
        else {
            panic!("outside the roots must be refused");
        };
        assert_eq!(error.code, ErrorCode::OutsideProjectRoot, "{error}");
        assert!(path.join("new.txt").is_file());
        assert!(!git(&repo, &["branch", "--list", &info.branch]).is_empty());
    }
}
