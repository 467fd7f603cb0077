//! Sessions isolated in git worktrees, through the real hub, daemon, PTY
//! and git: a pinned base, `.worktreeinclude`, the default rule, clear
//! refusals, and a stop that keeps the worktree, its branch and the
//! uncommitted work in it. On SQLite and on Postgres.

use std::path::{Path, PathBuf};
use std::process::Command;

use flotilla_integration::{Database, Stack};
use flotilla_protocol::rest::SessionSummary;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::live_loop::{attach, type_text};

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
        .expect("running git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// `<projects>/repo` on `main` with two commits; returns it and the first
/// commit. `.env` is ignored, present, and named by `.worktreeinclude`.
fn make_repo(stack: &Stack) -> (PathBuf, String) {
    let repo = stack.workspace.projects_root().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join(".gitignore"), ".env\n").unwrap();
    std::fs::write(repo.join(".worktreeinclude"), ".env\n").unwrap();
    std::fs::write(repo.join("README"), "one\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "one"]);
    let first = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("README"), "two\n").unwrap();
    git(&repo, &["commit", "--quiet", "-am", "two"]);
    std::fs::write(repo.join(".env"), "TOKEN=local-only\n").unwrap();
    (repo, first)
}

async fn spawn(stack: &Stack, project: &Path, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({
        "hostId": stack.host_id(),
        "profile": "bash",
        "project": project.display().to_string(),
        "size": {"cols": 100, "rows": 30},
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    stack.api.request("POST", "/api/sessions", Some(body)).await
}

async fn spawn_ok(stack: &Stack, project: &Path, extra: Value) -> SessionSummary {
    let (status, body) = spawn(stack, project, extra).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn a_worktree_session_runs_on_its_branch_and_keeps_its_work(database: Database) {
    let stack = Stack::start_on(database).await;
    let (repo, first) = make_repo(&stack);

    let summary = spawn_ok(&stack, &repo, json!({"worktree": true, "base": first})).await;
    let worktree = summary.worktree.clone().expect("a worktree on the session");
    let short: String = summary
        .id
        .to_string()
        .chars()
        .filter(|c| *c != '-')
        .take(8)
        .collect();
    assert_eq!(worktree.branch, format!("flotilla/{short}-bash"));
    let path = repo.join(format!(".flotilla/worktrees/{short}-bash"));
    assert_eq!(worktree.path, path.display().to_string());
    assert_eq!(
        (worktree.base_ref.as_str(), worktree.base_commit.as_str()),
        (first.as_str(), first.as_str())
    );
    // The record, read back from the database, says the same.
    assert_eq!(
        stack.api.session(summary.id).await.worktree,
        Some(worktree.clone())
    );

    // The shell runs in the worktree, at the pinned base, with the
    // ignored file `.worktreeinclude` names.
    let viewer = stack.viewer().await;
    attach(&viewer, summary.id).await;
    type_text(
        &viewer,
        summary.id,
        "echo \"at=$(pwd) readme=$(cat README) env=$(cat .env) branch=$(git rev-parse --abbrev-ref HEAD)\"\r",
    )
    .await;
    stack
        .wait_output(
            &viewer,
            summary.id,
            &format!(
                "at={} readme=one env=TOKEN=local-only branch={}",
                path.display(),
                worktree.branch
            ),
        )
        .await;
    // Work nobody committed, then a stop.
    type_text(
        &viewer,
        summary.id,
        "echo wip > work.txt; echo edit >> README; echo saved-$((2+3))\r",
    )
    .await;
    stack.wait_output(&viewer, summary.id, "saved-5").await;
    stack.stop(summary.id).await;

    // Worktree, branch and the uncommitted work are all still there, and
    // the main checkout does not see the worktree.
    assert_eq!(
        std::fs::read_to_string(path.join("work.txt")).unwrap(),
        "wip\n"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("README")).unwrap(),
        "one\nedit\n"
    );
    assert_eq!(git(&repo, &["rev-parse", &worktree.branch]), first);
    assert!(git(&repo, &["worktree", "list"]).contains(&worktree.path));
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    let ended = stack.api.session(summary.id).await;
    assert_eq!(ended.worktree, Some(worktree));
}

async fn isolation_defaults_on_for_a_second_live_session_in_a_project(database: Database) {
    let stack = Stack::start_on(database).await;
    let (repo, _) = make_repo(&stack);
    let head = git(&repo, &["rev-parse", "HEAD"]);

    let alone = spawn_ok(&stack, &repo, json!({})).await;
    assert_eq!(
        alone.worktree, None,
        "the only session works in the checkout"
    );
    let second = spawn_ok(&stack, &repo, json!({})).await;
    let worktree = second.worktree.clone().expect("isolated by default");
    assert_eq!(
        (worktree.base_ref.as_str(), worktree.base_commit.as_str()),
        ("main", head.as_str())
    );
    // Asked explicitly, a second session may share the checkout.
    let shared = spawn_ok(&stack, &repo, json!({"worktree": false})).await;
    assert_eq!(shared.worktree, None);
    // A prompt names the branch.
    let named = spawn_ok(
        &stack,
        &repo,
        json!({"worktree": true, "prompt": "Fix the login bug"}),
    )
    .await;
    assert!(
        named
            .worktree
            .unwrap()
            .branch
            .ends_with("-fix-the-login-bug"),
        "{:?}",
        second.worktree
    );
    // Where there is no repository the default isolates nothing and the
    // spawn still works (the workspace's `app` only has a `.git` directory).
    let app = stack.workspace.project();
    let plain = [
        spawn_ok(&stack, &app, json!({})).await,
        spawn_ok(&stack, &app, json!({})).await,
    ];
    assert!(plain.iter().all(|session| session.worktree.is_none()));
    for session in [
        alone.id,
        second.id,
        shared.id,
        named.id,
        plain[0].id,
        plain[1].id,
    ] {
        stack.stop(session).await;
    }
}

async fn bad_worktree_requests_are_refused_with_what_to_do(database: Database) {
    let stack = Stack::start_on(database).await;
    let (repo, _) = make_repo(&stack);
    let before = git(&repo, &["branch", "--list"]);

    for (extra, needle) in [
        (
            json!({"worktree": false, "base": "main"}),
            "only used with a worktree",
        ),
        (json!({"base": "--orphan"}), "starts with '-'"),
        (json!({"base": "a b"}), "whitespace"),
    ] {
        let (status, body) = spawn(&stack, &repo, extra.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{extra}: {body}"
        );
    }
    let (status, body) = spawn(&stack, &repo, json!({"base": "no-such-branch"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not a commit"),
        "{body}"
    );
    // The workspace's `app` has a `.git` directory but is no repository.
    let (status, body) = spawn(
        &stack,
        &stack.workspace.project(),
        json!({"worktree": true}),
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not in a git repository"),
        "{body}"
    );
    assert_eq!(
        git(&repo, &["branch", "--list"]),
        before,
        "no branch was made"
    );
    assert!(!repo.join(".flotilla/worktrees").exists());
    // The daemon stayed up and still spawns.
    let fine = spawn_ok(&stack, &repo, json!({"worktree": true})).await;
    assert!(fine.worktree.is_some());
    stack.stop(fine.id).await;
}

/// `(status, path)` of every change, the ignored entries and the subjects
/// of the commits no other branch has, from `GET .../worktree`.
fn would_lose(status: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let strings = |key: &str, field: Option<&str>| -> Vec<String> {
        status[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {status}"))
            .iter()
            .map(|item| match field {
                Some(field) => item[field].as_str().unwrap().to_owned(),
                None => item.as_str().unwrap().to_owned(),
            })
            .collect()
    };
    let changes = status["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            format!(
                "{}{}",
                change["status"].as_str().unwrap(),
                change["path"].as_str().unwrap()
            )
        })
        .collect();
    (
        changes,
        strings("ignored", None),
        strings("uniqueCommits", Some("summary")),
    )
}

async fn discard_shows_what_would_be_lost_and_needs_its_confirmation(database: Database) {
    let stack = Stack::start_on(database).await;
    let (repo, _) = make_repo(&stack);
    let summary = spawn_ok(&stack, &repo, json!({"worktree": true})).await;
    let worktree = summary.worktree.clone().unwrap();
    let path = PathBuf::from(&worktree.path);
    let status_url = format!("/api/sessions/{}/worktree", summary.id);
    let discard_url = format!("{status_url}/discard");

    // Work in the session: a commit of its own, an edit, a new file.
    let viewer = stack.viewer().await;
    attach(&viewer, summary.id).await;
    type_text(
        &viewer,
        summary.id,
        "echo n > notes.md && git add notes.md && git -c user.name=t -c user.email=t@example.com commit -qm 'wip notes' && echo edit >> README && echo new > new.txt && echo did-$((3*3))\r",
    )
    .await;
    stack.wait_output(&viewer, summary.id, "did-9").await;

    // The state reads while the session runs; a discard does not.
    let (code, live) = stack.api.request("GET", &status_url, None).await;
    assert_eq!(code, StatusCode::OK, "{live}");
    assert_eq!(
        (live["ahead"].as_u64(), live["behind"].as_u64()),
        (Some(1), Some(0))
    );
    let (code, body) = stack
        .api
        .request(
            "POST",
            &discard_url,
            Some(json!({"confirm": live["fingerprint"]})),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("stop it"),
        "{body}"
    );
    stack.stop(summary.id).await;

    // Without a confirmation nothing happens.
    for body in [json!({}), json!({"confirm": ""}), json!({"confirm": "  "})] {
        let (code, answer) = stack
            .api
            .request("POST", &discard_url, Some(body.clone()))
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
    assert!(path.join("new.txt").is_file());

    // Exactly what would be lost.
    let (code, seen) = stack.api.request("GET", &status_url, None).await;
    assert_eq!(code, StatusCode::OK, "{seen}");
    assert_eq!(
        would_lose(&seen),
        (
            vec![" MREADME".to_owned(), "??new.txt".to_owned()],
            vec![".env".to_owned()],
            vec!["wip notes".to_owned()],
        )
    );
    assert_eq!(seen["exists"], json!(true));
    assert_eq!(seen["branchExists"], json!(true));

    // A change after it was shown: refused, nothing touched.
    std::fs::write(
        path.join("later.txt"),
        "later
",
    )
    .unwrap();
    let (code, body) = stack
        .api
        .request(
            "POST",
            &discard_url,
            Some(json!({"confirm": seen["fingerprint"]})),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("changed since"),
        "{body}"
    );
    assert!(path.join("new.txt").is_file() && path.join("later.txt").is_file());
    assert!(!git(&repo, &["branch", "--list", &worktree.branch]).is_empty());

    // Confirmed: the directory goes, the branch and its commit stay.
    let (_, seen) = stack.api.request("GET", &status_url, None).await;
    let tip = git(&repo, &["rev-parse", &worktree.branch]);
    let (code, body) = stack
        .api
        .request(
            "POST",
            &discard_url,
            Some(json!({"confirm": seen["fingerprint"], "keepBranch": true})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let after: SessionSummary = serde_json::from_value(body).unwrap();
    let removed = after
        .worktree
        .unwrap()
        .removed
        .expect("recorded as removed");
    assert!(removed.branch_kept);
    assert_eq!(removed.by, "admin");
    assert!(!path.exists());
    assert_eq!(git(&repo, &["rev-parse", &worktree.branch]), tip);
    assert_eq!(
        stack
            .api
            .session(summary.id)
            .await
            .worktree
            .unwrap()
            .removed,
        Some(removed),
        "the record says so, read back"
    );
    let (code, body) = stack.api.request("GET", &status_url, None).await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already discarded")
    );

    // A clean worktree loses nothing; its branch goes too when asked.
    let clean = spawn_ok(&stack, &repo, json!({"worktree": true})).await;
    let clean_tree = clean.worktree.clone().unwrap();
    stack.stop(clean.id).await;
    let clean_url = format!("/api/sessions/{}/worktree", clean.id);
    let (_, seen) = stack.api.request("GET", &clean_url, None).await;
    assert_eq!(would_lose(&seen), (vec![], vec![".env".to_owned()], vec![]));
    let (code, body) = stack
        .api
        .request(
            "POST",
            &format!("{clean_url}/discard"),
            Some(json!({"confirm": seen["fingerprint"]})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(git(&repo, &["branch", "--list", &clean_tree.branch]).is_empty());
    assert!(!Path::new(&clean_tree.path).exists());
    assert_eq!(
        git(&repo, &["status", "--porcelain"]),
        "",
        "the main checkout is untouched"
    );
}

on_both_databases!(
    discard_shows_what_would_be_lost_and_needs_its_confirmation,
    a_worktree_session_runs_on_its_branch_and_keeps_its_work,
    isolation_defaults_on_for_a_second_live_session_in_a_project,
    bad_worktree_requests_are_refused_with_what_to_do,
);
