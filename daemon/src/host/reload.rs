//! Hot reload of the profiles directory: a `notify` watcher wakes a task
//! that waits for the directory to be quiet for [`DEBOUNCE`], re-reads every
//! profile file and hands the result to the [`Host`]. An invalid file keeps
//! the last valid version of its profile in effect and is reported (log and
//! inventory); running sessions are never touched.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use notify::Watcher as _;
use notify::event::{AccessKind, AccessMode, EventKind, MetadataKind, ModifyKind};
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
    catalog: Catalog,
    host: Host,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    watch_with(dir, catalog, cancel, move |catalog| {
        let names: Vec<String> = catalog.profiles().into_iter().map(|p| p.name).collect();
        if host.set_profiles(catalog.profiles(), catalog.error_lines()) {
            info!(profiles = ?names, "profiles reloaded");
        }
    })
    .await
}

/// The watch loop of [`watch`]: calls `on_reload` with the catalog after
/// each reload caused by a change (never by a mere read).
pub async fn watch_with(
    dir: PathBuf,
    mut catalog: Catalog,
    cancel: CancellationToken,
    mut on_reload: impl FnMut(&Catalog),
) -> anyhow::Result<()> {
    // Capacity 1, and the callback drops a wake-up when one is already
    // queued: every wake-up means "reload everything", so one is enough.
    let (wake_tx, mut wake_rx) = mpsc::channel::<()>(1);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| is_change(&event.kind)) {
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
        on_reload(&catalog);
    }
}

/// Whether a watcher event may have changed the directory's files. Opening,
/// reading and closing a file unwritten (an editor, `grep -r`, the reload
/// itself), and access-time updates, change nothing; a reload on them would
/// wake itself again for ever.
pub fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Any
        | EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Other => true,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use notify::event::{CreateKind, DataChange, RemoveKind};

    use super::*;

    #[test]
    fn only_changes_wake_a_reload() {
        let changes = [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Name(notify::event::RenameMode::To)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
            EventKind::Remove(RemoveKind::File),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ];
        for kind in changes {
            assert!(is_change(&kind), "{kind:?}");
        }
        let reads = [
            EventKind::Access(AccessKind::Open(AccessMode::Read)),
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
        ];
        for kind in reads {
            assert!(!is_change(&kind), "{kind:?}");
        }
    }

    /// Against a real directory and inotify: reading every file (as an
    /// editor or `grep -r` would) reloads nothing; a change reloads once.
    #[tokio::test]
    async fn reading_the_directory_reloads_nothing_and_a_change_reloads_once() {
        let dir = tempfile::tempdir().unwrap();
        let profile = "name: sh\nbinary: sh\ncommands:\n  new: [\"sh\"]\n";
        std::fs::write(dir.path().join("sh.yaml"), profile).unwrap();
        let catalog = load(dir.path().to_path_buf()).await.unwrap();
        let reloads = Arc::new(AtomicUsize::new(0));
        let cancel = CancellationToken::new();
        let counted = reloads.clone();
        let task = tokio::spawn(watch_with(
            dir.path().to_path_buf(),
            catalog,
            cancel.clone(),
            move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
            },
        ));
        // Wait until the watch is set up: a first change must be seen.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut round = 0;
        while reloads.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no reload after a change"
            );
            round += 1;
            std::fs::write(dir.path().join("sh.yaml"), format!("{profile}# {round}\n")).unwrap();
            tokio::time::sleep(DEBOUNCE * 3).await;
        }
        // Let any reload still under way finish before counting.
        tokio::time::sleep(DEBOUNCE * 4).await;
        let settled = reloads.load(Ordering::SeqCst);
        for _ in 0..20 {
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let _ = std::fs::read(entry.unwrap().path()).unwrap();
            }
        }
        tokio::time::sleep(DEBOUNCE * 4).await;
        assert_eq!(
            reloads.load(Ordering::SeqCst),
            settled,
            "reads caused a reload"
        );

        std::fs::write(dir.path().join("sh.yaml"), format!("{profile}# changed\n")).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while reloads.load(Ordering::SeqCst) == settled {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no reload after a change"
            );
            tokio::time::sleep(DEBOUNCE).await;
        }
        // The reload's own reads must not start another one.
        tokio::time::sleep(DEBOUNCE * 4).await;
        assert_eq!(
            reloads.load(Ordering::SeqCst),
            settled + 1,
            "one change, one reload"
        );
        cancel.cancel();
        task.await.unwrap().unwrap();
    }
}
