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
mod tests {
    use super::*;

    fn patch() -> serde_json::Value {
        serde_json::json!({"otel": {"exporter": "otlp", "endpoint": "http://h:1"}})
    }

    #[test]
    fn the_last_session_to_end_undoes_the_merge_and_a_created_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent/config.json");
        let leases = Leases::open(Some(dir.path().join("journal.json")));
        let (one, two) = (SessionId::new(), SessionId::new());
        leases.merge(one, &path, SettingsFormat::Json, &patch());
        leases.merge(two, &path, SettingsFormat::Json, &patch());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("http://h:1")
        );
        leases.release(one);
        assert!(path.exists(), "another session still uses the keys");
        leases.release(two);
        assert!(
            !path.exists(),
            "the merge created the file and nothing else is in it"
        );
        assert!(leases.files().is_empty());
        assert!(!dir.path().join("journal.json").exists());
    }

    #[test]
    fn the_users_own_keys_and_changes_survive_the_undo() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "model = \"mine\"\n[otel]\nexporter = \"none\"\n").unwrap();
        let leases = Leases::open(None);
        let session = SessionId::new();
        leases.merge(session, &path, SettingsFormat::Toml, &patch());
        let merged: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        assert_eq!(merged["otel"]["endpoint"].as_str(), Some("http://h:1"));
        assert_eq!(merged["otel"]["exporter"].as_str(), Some("none"));
        leases.release(session);
        let after: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let before: toml::Table = "model = \"mine\"\n[otel]\nexporter = \"none\"\n"
            .parse()
            .unwrap();
        assert_eq!(after, before);
    }

    #[test]
    fn a_key_the_user_changed_meanwhile_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{\"theme\": \"dark\"}").unwrap();
        let leases = Leases::open(None);
        let session = SessionId::new();
        leases.merge(session, &path, SettingsFormat::Json, &patch());
        let mut edited: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edited["otel"]["endpoint"] = "http://elsewhere".into();
        edited["otel"]["mine"] = true.into();
        std::fs::write(&path, edited.to_string()).unwrap();
        leases.release(session);
        let after: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            after,
            serde_json::json!({"theme": "dark", "otel": {"endpoint": "http://elsewhere", "mine": true}})
        );
    }

    #[test]
    fn a_killed_daemons_leftovers_are_undone_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("state/journal.json");
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{\"theme\": \"dark\"}\n").unwrap();
        let killed = Leases::open(Some(journal.clone()));
        killed.merge(SessionId::new(), &path, SettingsFormat::Json, &patch());
        assert!(journal.exists());
        drop(killed); // as if SIGKILLed: nothing released
        let next = Leases::open(Some(journal.clone()));
        let after: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(after, serde_json::json!({"theme": "dark"}));
        assert!(!journal.exists());
        assert!(next.files().is_empty());
    }

    #[test]
    fn a_file_with_every_key_already_set_gets_no_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let text = "{\"otel\": {\"exporter\": \"x\", \"endpoint\": \"y\"}}";
        std::fs::write(&path, text).unwrap();
        let leases = Leases::open(None);
        let session = SessionId::new();
        leases.merge(session, &path, SettingsFormat::Json, &patch());
        assert!(leases.files().is_empty());
        leases.release(session);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
