//! Tidy checks over the repository's own files: module docs, no skipped or
//! panicking-by-design tests, no debugging leftovers, no `mod.rs`, no huge
//! files.

use std::path::{Path, PathBuf};
use std::process::Command;

use flotilla_integration::process::repo_root;

/// Files tracked by git or new and not ignored.
fn repo_files() -> Vec<PathBuf> {
    let root = repo_root();
    let output = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .expect("running git ls-files");
    assert!(output.status.success(), "git ls-files failed");
    String::from_utf8(output.stdout)
        .expect("utf-8 file names")
        .lines()
        .map(|line| root.join(line))
        .filter(|path| path.exists())
        .collect()
}

fn rust_sources() -> Vec<PathBuf> {
    repo_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let missing: Vec<String> = rust_sources()
        .into_iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).expect("readable source");
            !text.trim_start().starts_with("//!")
        })
        .map(|p| relative(&p))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` module doc: {missing:?}"
    );
}

#[test]
fn no_ignored_or_should_panic_tests_and_no_debug_leftovers() {
    // Built from parts so this file does not match itself.
    let banned = [
        ["#[", "ignore"].concat(),
        ["#[", "should_panic"].concat(),
        ["dbg", "!("].concat(),
        ["todo", "!("].concat(),
        ["unimplemented", "!("].concat(),
    ];
    let mut found = Vec::new();
    for path in rust_sources() {
        let text = std::fs::read_to_string(&path).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            for pattern in &banned {
                if line.contains(pattern.as_str()) {
                    found.push(format!("{}:{}: {pattern}", relative(&path), number + 1));
                }
            }
        }
    }
    let focused = [
        ["it", ".only("].concat(),
        ["test", ".only("].concat(),
        ["describe", ".only("].concat(),
        ["it", ".skip("].concat(),
        ["test", ".skip("].concat(),
    ];
    for path in repo_files().into_iter().filter(|p| {
        let name = p.to_string_lossy();
        (name.ends_with(".ts") || name.ends_with(".tsx") || name.ends_with(".mjs"))
            && !name.contains("/generated/")
    }) {
        let text = std::fs::read_to_string(&path).expect("readable source");
        for pattern in &focused {
            if text.contains(pattern.as_str()) {
                found.push(format!("{}: {pattern}", relative(&path)));
            }
        }
    }
    assert!(found.is_empty(), "banned constructs: {found:#?}");
}

#[test]
fn no_mod_rs_files() {
    let found: Vec<String> = rust_sources()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "mod.rs"))
        .map(|p| relative(&p))
        .collect();
    assert!(
        found.is_empty(),
        "use foo.rs next to foo/ instead of: {found:?}"
    );
}

#[test]
fn no_file_over_one_mebibyte() {
    let found: Vec<String> = repo_files()
        .into_iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 1024 * 1024))
        .map(|p| relative(&p))
        .collect();
    assert!(found.is_empty(), "files over 1 MiB: {found:?}");
}
