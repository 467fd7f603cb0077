//! Projects: git repositories found under the project roots, and the
//! confinement rule that keeps every spawn inside a root.

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use flotilla_protocol::daemon_to_hub::ProjectInfo;
use flotilla_protocol::{ErrorBody, ErrorCode};

/// Finds git repositories (directories containing `.git`) under each root, at
/// most `depth` levels down. It does not descend into a repository or into
/// hidden directories. Roots must already be canonical. Blocking.
pub fn discover(roots: &[PathBuf], depth: usize) -> Vec<ProjectInfo> {
    let mut found = Vec::new();
    for root in roots {
        walk(root, root, depth, &mut found);
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    found
}

fn walk(root: &Path, dir: &Path, depth_left: usize, found: &mut Vec<ProjectInfo>) {
    if dir.join(".git").exists() {
        if let Ok(canonical) = dir.canonicalize() {
            let name = dir
                .strip_prefix(root)
                .ok()
                .filter(|relative| !relative.as_os_str().is_empty())
                .map(|relative| relative.display().to_string())
                .or_else(|| {
                    root.file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| root.display().to_string());
            found.push(ProjectInfo {
                path: canonical.display().to_string(),
                name,
            });
        }
        return;
    }
    if depth_left == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        // `file_type` does not follow symlinks, so a link cannot lead the
        // scan out of the root or into a cycle.
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if is_dir && !hidden {
            walk(root, &entry.path(), depth_left - 1, found);
        }
    }
}

/// Resolves `requested` (symlinks and `..` included) and checks that it is an
/// existing directory inside one of the canonical `roots`.
pub fn confine(roots: &[PathBuf], requested: &str) -> Result<PathBuf, ErrorBody> {
    let roots_text = || {
        roots
            .iter()
            .map(|root| root.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let path = Path::new(requested);
    if !path.is_absolute() {
        return Err(ErrorBody::new(
            ErrorCode::InvalidInput,
            format!("project path {requested:?} is not absolute"),
        ));
    }
    let canonical = match path.canonicalize() {
        Ok(canonical) => canonical,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ErrorBody::new(
                ErrorCode::NotFound,
                format!("project directory {requested:?} does not exist"),
            ));
        }
        Err(error) => {
            return Err(ErrorBody::new(
                ErrorCode::InvalidInput,
                format!("project directory {requested:?} cannot be resolved: {error}"),
            ));
        }
    };
    if !roots.iter().any(|root| canonical.starts_with(root)) {
        return Err(ErrorBody::new(
            ErrorCode::OutsideProjectRoot,
            format!(
                "project directory {requested:?} (resolved to {}) is outside the project roots: {}",
                canonical.display(),
                roots_text()
            ),
        ));
    }
    if !canonical.is_dir() {
        return Err(ErrorBody::new(
            ErrorCode::InvalidInput,
            format!("project path {requested:?} is not a directory"),
        ));
    }
    Ok(canonical)
}
