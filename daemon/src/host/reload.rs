//! Hot reload of the profiles directory: a `notify` watcher wakes a task
//! that waits for the directory to be quiet for [`DEBOUNCE`], re-reads every
//! profile file and hands the result to the [`Host`]. An invalid file keeps
//! the last valid version of its profile in effect and is reported (log and
//! inventory); running sessions are never touched.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use notify::Watcher as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Host;
use crate::profile::catalog::Catalog;

/// How long the directory must be quiet before a reload: editors write a
/// file in several steps (truncate, write, rename).
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Loads `dir` once into a new [`Catalog`], logging every problem.
pub async fn load(dir: PathBuf) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    reload_into(&mut catalog, dir).await?;
    Ok(catalog)
}

/// Watches `dir` until `cancel` fires, reloading `catalog` into `host` after
/// every burst of changes. Returns an error only when the watch cannot be
/// set up.
pub async fn watch(
    dir: PathBuf,
    mut catalog: Catalog,
    host: Host,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    // Capacity 1, and the callback drops a wake-up when one is already
    // queued: every wake-up means "reload everything", so one is enough.
    let (wake_tx, mut wake_rx) = mpsc::channel::<()>(1);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = wake_tx.try_send(());
        }
    })
    .context("creating the profiles watcher")?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    info!(dir = %dir.display(), "watching profiles");
    loop {
        // Both branches are cancel-safe (`recv` and `cancelled`).
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            wake = wake_rx.recv() => if wake.is_none() { return Ok(()) },
        }
        // Debounce: wait until no event arrived for DEBOUNCE.
        loop {
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = tokio::time::sleep(DEBOUNCE) => break,
                wake = wake_rx.recv() => if wake.is_none() { return Ok(()) },
            }
        }
        if let Err(error) = reload_into(&mut catalog, dir.clone()).await {
            warn!(error = format!("{error:#}"), "profiles not reloaded");
            continue;
        }
        let names: Vec<String> = catalog.profiles().into_iter().map(|p| p.name).collect();
        if host.set_profiles(catalog.profiles(), catalog.error_lines()) {
            info!(profiles = ?names, "profiles reloaded");
        }
    }
}

/// Re-reads `dir` into `catalog` on a blocking thread and logs each problem.
async fn reload_into(catalog: &mut Catalog, dir: PathBuf) -> anyhow::Result<()> {
    let mut next = catalog.clone();
    let display = dir.display().to_string();
    let next = tokio::task::spawn_blocking(move || next.reload(&dir).map(|()| next))
        .await
        .context("profile reload task failed")?
        .with_context(|| format!("reading profiles from {display}"))?;
    for line in next.error_lines() {
        warn!(problem = %line, "invalid profile; its last valid version stays in effect");
    }
    *catalog = next;
    Ok(())
}
