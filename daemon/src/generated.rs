//! Test support for files generated from the code and committed (the profile
//! JSON Schema, the daemon Containerfile, `compose.yml`): one freshness check
//! that fails when a committed file is stale, or rewrites it when
//! `FLOTILLA_UPDATE_GENERATED=1`.

use std::path::{Path, PathBuf};

use crate::profile::Profile;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped profiles, which must all be valid.
pub fn shipped_profiles() -> Vec<Profile> {
    let loaded = crate::profile::load_dir(&repo_root().join("profiles")).unwrap();
    assert!(
        loaded.errors.is_empty(),
        "shipped profiles are invalid: {:?}",
        loaded.errors
    );
    loaded.profiles
}

/// Fails unless `path` holds exactly `expected`; rewrites it instead when
/// `FLOTILLA_UPDATE_GENERATED=1`.
pub fn check_fresh(path: &Path, expected: &str) {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == expected {
        return;
    }
    if std::env::var("FLOTILLA_UPDATE_GENERATED").is_ok_and(|v| v == "1") {
        std::fs::write(path, expected).unwrap();
    } else {
        panic!(
            "{} is stale; run `FLOTILLA_UPDATE_GENERATED=1 cargo test -p flotilla-daemon`",
            path.display()
        );
    }
}
