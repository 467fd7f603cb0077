//! Tests for `crate::project`: discovery and confinement on a temp tree.

use std::path::PathBuf;

use flotilla_protocol::ErrorCode;

use super::*;

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let root = base.join("root");
    let outside = base.join("outside");
    for path in [
        "root/alpha/.git",
        "root/alpha/sub/.git",
        "root/group/beta/.git",
        "root/.hidden/gamma/.git",
        "root/a/b/c/d/deep/.git",
        "root/plain/dir",
        "outside/repo/.git",
    ] {
        std::fs::create_dir_all(base.join(path)).unwrap();
    }
    std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
    Tree {
        _dir: dir,
        root,
        outside,
    }
}

#[test]
fn discovery_finds_repos_up_to_depth_without_descending() {
    let tree = tree();
    let found = discover(std::slice::from_ref(&tree.root), 3);
    let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alpha", "group/beta"]);
    assert_eq!(found[0].path, tree.root.join("alpha").display().to_string());
    let deeper = discover(std::slice::from_ref(&tree.root), 5);
    assert!(deeper.iter().any(|p| p.name == "a/b/c/d/deep"));
}

#[test]
fn confine_accepts_any_dir_inside_a_root() {
    let tree = tree();
    let roots = [tree.root.clone()];
    let dir = tree.root.join("plain/dir");
    assert_eq!(confine(&roots, dir.to_str().unwrap()).unwrap(), dir);
    let dotted = format!("{}/plain/../alpha", tree.root.display());
    assert_eq!(confine(&roots, &dotted).unwrap(), tree.root.join("alpha"));
}

#[test]
fn confine_refuses_symlink_and_dotdot_escapes() {
    let tree = tree();
    let roots = [tree.root.clone()];
    let via_link = tree.root.join("escape/repo");
    let error = confine(&roots, via_link.to_str().unwrap()).unwrap_err();
    assert_eq!(error.code, ErrorCode::OutsideProjectRoot);
    assert!(
        error.message.contains(&tree.root.display().to_string()),
        "{}",
        error.message
    );
    assert!(error.message.contains("escape/repo"), "{}", error.message);
    let dotdot = format!("{}/../outside", tree.root.display());
    assert_eq!(
        confine(&roots, &dotdot).unwrap_err().code,
        ErrorCode::OutsideProjectRoot
    );
    assert!(tree.outside.exists());
}

#[test]
fn confine_reports_missing_and_relative_paths() {
    let tree = tree();
    let roots = [tree.root.clone()];
    let missing = tree.root.join("nope");
    assert_eq!(
        confine(&roots, missing.to_str().unwrap()).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        confine(&roots, "alpha").unwrap_err().code,
        ErrorCode::InvalidInput
    );
}
