//! The hub's files on disk: the data directory and the SQLite database are
//! readable by their owner only, and the database is opened (and migrated)
//! under an exclusive lock file, so a hub and `flotilla-hub
//! issue-host-token` starting together on a fresh database never both
//! create the schema. Postgres has no files here: [`Store::connect`]
//! migrates it under an advisory lock instead.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::HubConfig;
use crate::store::Store;

/// The mode of the data directory.
pub const DIR_MODE: u32 = 0o700;

/// The mode of the database and its lock file.
pub const FILE_MODE: u32 = 0o600;

/// The database file of a `sqlite:` URL; `None` for other databases and
/// in-memory SQLite.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Creates the data directory owner-only, or tightens an existing one.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .with_context(|| format!("creating data dir {}", dir.display()))?;
    tighten(dir, DIR_MODE)
}

/// Sets `path` to `mode` if it grants more, and says so.
fn tighten(path: &Path, mode: u32) -> anyhow::Result<()> {
    let current = std::fs::metadata(path)
        .with_context(|| format!("reading the mode of {}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if current & !mode != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(mode))
            .with_context(|| format!("restricting {}", path.display()))?;
        tracing::info!(
            path = %path.display(),
            from = format!("{current:o}"),
            to = format!("{mode:o}"),
            "restricted permissions"
        );
    }
    Ok(())
}

/// Creates the database file owner-only before SQLite opens it (SQLite
/// gives its journal files the database's mode), or tightens it and its
/// journal files when they exist.
fn prepare_database_file(path: &Path) -> anyhow::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
        .with_context(|| format!("creating database file {}", path.display()))?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            tighten(&file, FILE_MODE)?;
        }
    }
    Ok(())
}

/// Prepares the data directory and the database file, then connects and
/// migrates while holding the database's lock file (SQLite); connects and
/// migrates under the advisory lock (Postgres).
pub async fn open_store(config: &HubConfig) -> anyhow::Result<Store> {
    let Some(db_path) = sqlite_path(&config.database_url) else {
        // Postgres (migrated under its advisory lock) or in-memory SQLite.
        return Store::connect(&config.database_url).await;
    };
    if config.database_url.starts_with("sqlite:") {
        prepare_data_dir(&config.data_dir)?;
    }
    if let Some(parent) = db_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        prepare_data_dir(parent)?;
    }
    prepare_database_file(&db_path)?;
    let lock_path = PathBuf::from(format!("{}.lock", db_path.display()));
    let lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(FILE_MODE)
        .open(&lock_path)
        .with_context(|| format!("opening lock file {}", lock_path.display()))?;
    // flock blocks: wait for it off the async workers. The lock is released
    // when the file is closed, after the migrations.
    let lock_file = tokio::task::spawn_blocking(move || lock_file.lock().map(|()| lock_file))
        .await
        .context("waiting for the database lock")?
        .with_context(|| format!("locking {}", lock_path.display()))?;
    let store = Store::connect(&config.database_url).await;
    drop(lock_file);
    store
}

#[cfg(test)]
mod tests;
