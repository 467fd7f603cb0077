//! Which sessions need the keys that spawn settings merged into a config
//! file, and undoing them when the last of those sessions ends.
//!
//! Each file a merge changed has a lease: what the merges added
//! ([`Added`]), whether they created the file, and the sessions started
//! with it. A session's end releases it from every lease; a lease with no
//! session left is undone ([`spawn_settings::undo`]). The leases are also
//! written to a journal file, so keys a killed daemon left behind are taken
//! out when the next daemon starts (no session outlives its daemon yet).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flotilla_protocol::SessionId;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::profile::spawn_settings::{self, Added, SettingsFormat};

/// One file's lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Lease {
    format: SettingsFormat,
    added: Added,
    created_file: bool,
    /// Not journaled: after a restart no session holds a lease any more.
    #[serde(skip)]
    sessions: BTreeSet<SessionId>,
}

/// The leases of this daemon.
#[derive(Debug)]
pub struct Leases {
    journal: Option<PathBuf>,
    leases: Mutex<BTreeMap<PathBuf, Lease>>,
}

impl Leases {
    /// Leases journaled at `journal` (none when `None`). Whatever an
    /// earlier daemon left in the journal is undone now.
    pub fn open(journal: Option<PathBuf>) -> Self {
        let leases = Leases {
            journal,
            leases: Mutex::new(BTreeMap::new()),
        };
        let leftover = leases.read_journal();
        for (path, lease) in &leftover {
            undo(path, lease);
        }
        if !leftover.is_empty() {
            leases.write_journal(&BTreeMap::new());
        }
        leases
    }

    /// Merges `patch` into the file at `path` for `session` and records what
    /// was added. A file that cannot be merged is left alone (logged) and
    /// the agent still starts: it reports its own config problems.
    pub fn merge(
        &self,
        session: SessionId,
        path: &Path,
        format: SettingsFormat,
        patch: &serde_json::Value,
    ) {
        let mut leases = self.lock();
        let applied = match spawn_settings::apply(path, format, patch) {
            Ok(applied) => applied,
            Err(error) => {
                warn!(%error, "spawn settings not applied");
                return;
            }
        };
        if !applied.added.is_empty() {
            info!(path = %path.display(), "spawn settings merged; undone when the last session using them ends");
        }
        match leases.get_mut(path) {
            Some(lease) => {
                lease.added.extend(applied.added);
                lease.sessions.insert(session);
            }
            None if applied.added.is_empty() => return,
            None => {
                leases.insert(
                    path.to_owned(),
                    Lease {
                        format,
                        added: applied.added,
                        created_file: applied.created_file,
                        sessions: BTreeSet::from([session]),
                    },
                );
            }
        }
        self.write_journal(&leases);
    }

    /// Releases `session` from every lease and undoes those it held last.
    pub fn release(&self, session: SessionId) {
        let mut leases = self.lock();
        let done: Vec<PathBuf> = leases
            .iter_mut()
            .filter_map(|(path, lease)| {
                (lease.sessions.remove(&session) && lease.sessions.is_empty()).then(|| path.clone())
            })
            .collect();
        if done.is_empty() {
            return;
        }
        for path in done {
            if let Some(lease) = leases.remove(&path) {
                undo(&path, &lease);
            }
        }
        self.write_journal(&leases);
    }

    /// The files with a lease now.
    pub fn files(&self) -> Vec<PathBuf> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Lease>> {
        // Every critical section leaves the map consistent.
        self.leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read_journal(&self) -> BTreeMap<PathBuf, Lease> {
        let Some(journal) = &self.journal else {
            return BTreeMap::new();
        };
        let text = match std::fs::read_to_string(journal) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
            Err(error) => {
                warn!(path = %journal.display(), %error, "spawn settings journal unreadable");
                return BTreeMap::new();
            }
        };
        serde_json::from_str(&text).unwrap_or_else(|error| {
            warn!(path = %journal.display(), %error, "spawn settings journal is not valid; ignored");
            BTreeMap::new()
        })
    }

    fn write_journal(&self, leases: &BTreeMap<PathBuf, Lease>) {
        let Some(journal) = &self.journal else {
            return;
        };
        let result = if leases.is_empty() {
            match std::fs::remove_file(journal) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        } else {
            let text = serde_json::to_string_pretty(leases).expect("leases always serialize");
            journal
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(journal, text))
        };
        if let Err(error) = result {
            warn!(path = %journal.display(), %error, "spawn settings journal not written");
        }
    }
}

fn undo(path: &Path, lease: &Lease) {
    match spawn_settings::undo(path, lease.format, &lease.added, lease.created_file) {
        Ok(true) => info!(path = %path.display(), "spawn settings undone"),
        Ok(false) => {}
        Err(error) => warn!(%error, "spawn settings not undone"),
    }
}

#[cfg(test)]
mod tests;
