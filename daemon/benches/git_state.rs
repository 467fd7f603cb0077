//! What reading the git state of 50 sessions' worktrees costs. The daemon
//! reads a worktree's state only when a user asks (the session view opens,
//! or the session's state changes, or Refresh); nothing polls, so 50 idle
//! sessions cost nothing. This measures the asking: one
//! `worktree::discard::inspect` of each of 50 worktrees (each with edits,
//! an untracked file and a commit of its own) in a repository of
//! `GIT_BENCH_FILES` (default 2000) files, against a bare `git status` of
//! the same worktrees in the same run, and prints wall and CPU time (this
//! process and the git processes it ran) and their ratio.
//!
//! Run with `cargo bench -p flotilla-daemon --bench git_state`. Bounded:
//! 50 worktrees, three rounds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use flotilla_daemon::worktree::{create, discard};
use flotilla_protocol::worktree::{WorktreeInfo, WorktreeRequest};
use nix::sys::resource::{UsageWho, getrusage};

const SESSIONS: usize = 50;
const ROUNDS: usize = 3;

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .output()
        .expect("running git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// CPU time of this process and of its waited-for children so far.
fn cpu() -> Duration {
    let total = |who| {
        let usage = getrusage(who).expect("getrusage");
        let time = |t: nix::sys::time::TimeVal| {
            Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000)
        };
        time(usage.user_time()) + time(usage.system_time())
    };
    total(UsageWho::RUSAGE_SELF) + total(UsageWho::RUSAGE_CHILDREN)
}

/// Runs `round` `ROUNDS` times; the best round's wall and CPU time.
fn measure(mut round: impl FnMut()) -> (Duration, Duration) {
    let mut best: Option<(Duration, Duration)> = None;
    for _ in 0..ROUNDS {
        let (wall, cpu_before) = (Instant::now(), cpu());
        round();
        let sample = (wall.elapsed(), cpu() - cpu_before);
        best = Some(best.map_or(sample, |b| if sample.0 < b.0 { sample } else { b }));
    }
    best.expect("at least one round")
}

fn main() {
    let files: usize = std::env::var("GIT_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
        .min(20_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().canonicalize().unwrap();
    let repo = root.join("repo");
    for i in 0..files {
        let path = repo.join(format!("src/m{}/f{i}.rs", i % 40));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("// file {i}\npub fn f{i}() {{}}\n")).unwrap();
    }
    std::fs::write(repo.join(".gitignore"), "target/\n").unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "start"]);

    let made_at = Instant::now();
    let worktrees: Vec<WorktreeInfo> = (0..SESSIONS)
        .map(|n| {
            let request = WorktreeRequest {
                branch: format!("flotilla/{n:08x}-bench"),
                base: None,
                optional: false,
            };
            let made = create(&repo, &request).expect("a worktree").expect("made");
            let path = PathBuf::from(&made.info.path);
            std::fs::write(path.join("notes.md"), format!("{n}\n")).unwrap();
            git(&path, &["add", "notes.md"]);
            git(&path, &["commit", "--quiet", "-m", "own commit"]);
            std::fs::write(path.join("src/m0/f0.rs"), "// edited\n").unwrap();
            std::fs::write(path.join("new.txt"), "new\n").unwrap();
            std::fs::create_dir_all(path.join("target")).unwrap();
            std::fs::write(path.join("target/out.o"), "o").unwrap();
            made.info
        })
        .collect();
    let made_in = made_at.elapsed();
    let roots = vec![root.clone()];

    let (plain_wall, plain_cpu) = measure(|| {
        for worktree in &worktrees {
            git(Path::new(&worktree.path), &["status", "--porcelain"]);
        }
    });
    let (state_wall, state_cpu) = measure(|| {
        for worktree in &worktrees {
            let status = discard::inspect(worktree, &roots).expect("a status");
            assert_eq!((status.change_count, status.unique_commit_count), (2, 1));
        }
    });
    println!(
        "git state of {SESSIONS} worktrees of a {files}-file repository (best of {ROUNDS} rounds; made in {:.1} s)",
        made_in.as_secs_f64()
    );
    for (label, (wall, cpu)) in [
        ("git status only:", (plain_wall, plain_cpu)),
        ("full state:", (state_wall, state_cpu)),
    ] {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  {label:<18} {:7.1} ms wall, {:7.1} ms CPU  ({:.2} ms wall, {:.2} ms CPU per session)",
            ms(wall),
            ms(cpu),
            ms(wall) / SESSIONS as f64,
            ms(cpu) / SESSIONS as f64
        );
    }
    println!(
        "  ratio full state / git status: {:.2} wall, {:.2} CPU",
        state_wall.as_secs_f64() / plain_wall.as_secs_f64(),
        state_cpu.as_secs_f64() / plain_cpu.as_secs_f64().max(1e-9)
    );
    println!("  idle sessions: no reads at all (the state is read only when a user asks)");
}
