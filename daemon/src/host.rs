//! The host: what this daemon offers (profiles, projects) and the sessions it
//! runs. It turns hub commands into session actions; the link only moves
//! messages.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use flotilla_protocol::daemon_to_hub::{
    HostInventory, RunningSession, SessionSpawnFailed, SessionStarted,
};
use flotilla_protocol::hub_to_daemon::{ResizePty, SpawnSession, StopSession, WriteInput};
use flotilla_protocol::{ErrorBody, ErrorCode, MAX_INPUT_BYTES, SessionId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::profile::{Placeholders, Profile};
use crate::session::{self, SessionEvent, SessionHandle, SessionSpec};

/// A command from the hub, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubCommand {
    /// Start a session.
    Spawn(SpawnSession),
    /// Stop a session.
    Stop(StopSession),
    /// Type into a session.
    Input(WriteInput),
    /// Resize a session's terminal.
    Resize(ResizePty),
}

/// The answer to a spawn, to be sent to the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnOutcome {
    /// The session runs (or already ran).
    Started(SessionStarted),
    /// Nothing was started.
    Failed(SessionSpawnFailed),
}

/// Static settings of a [`Host`].
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Canonical project roots.
    pub projects_roots: Vec<PathBuf>,
    /// Time between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    /// The daemon's environment, already read once at startup.
    pub base_env: Vec<(String, String)>,
}

/// The profiles, inventory and sessions of this host. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    config: Arc<HostConfig>,
    profiles: Arc<Vec<Profile>>,
    inventory: Arc<Mutex<HostInventory>>,
    sessions: Arc<Mutex<HashMap<SessionId, SessionHandle>>>,
    /// Shared by every session; see [`session::spawn`].
    events: mpsc::Sender<SessionEvent>,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Host {
    /// A host with no sessions. Sessions report to `events`, run on
    /// `tracker` and are stopped when `cancel` fires.
    pub fn new(
        config: HostConfig,
        profiles: Vec<Profile>,
        inventory: HostInventory,
        events: mpsc::Sender<SessionEvent>,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        Host {
            config: Arc::new(config),
            profiles: Arc::new(profiles),
            inventory: Arc::new(Mutex::new(inventory)),
            sessions: Arc::new(Mutex::new(HashMap::new())),
            events,
            tracker,
            cancel,
        }
    }

    /// The current inventory.
    pub fn inventory(&self) -> HostInventory {
        lock(&self.inventory).clone()
    }

    /// Replaces the inventory; returns whether it changed.
    pub fn set_inventory(&self, inventory: HostInventory) -> bool {
        let mut current = lock(&self.inventory);
        if *current == inventory {
            return false;
        }
        *current = inventory;
        true
    }

    /// The canonical project roots.
    pub fn projects_roots(&self) -> &[PathBuf] {
        &self.config.projects_roots
    }

    /// The sessions that have not been forgotten yet, with their offsets.
    pub fn running(&self) -> Vec<RunningSession> {
        let mut running: Vec<RunningSession> = lock(&self.sessions)
            .values()
            .map(|handle| RunningSession {
                session_id: handle.id(),
                pid: handle.pid(),
                output_offset: handle.output_offset(),
            })
            .collect();
        running.sort_by_key(|session| session.session_id);
        running
    }

    /// The handle of a known session.
    pub fn session(&self, id: SessionId) -> Option<SessionHandle> {
        lock(&self.sessions).get(&id).cloned()
    }

    /// Forgets a session whose exit has been reported.
    pub fn forget(&self, id: SessionId) {
        lock(&self.sessions).remove(&id);
    }

    /// Carries out a hub command. Only spawns produce an answer.
    pub async fn handle(&self, command: HubCommand) -> Option<SpawnOutcome> {
        match command {
            HubCommand::Spawn(spawn) => Some(self.spawn(spawn)),
            HubCommand::Stop(stop) => {
                match self.session(stop.session_id) {
                    Some(handle) => handle.stop().await,
                    None => warn!(session_id = %stop.session_id, "stop for an unknown session"),
                }
                None
            }
            HubCommand::Input(input) => {
                if input.data.len() > MAX_INPUT_BYTES {
                    warn!(session_id = %input.session_id, len = input.data.len(), "input too large; dropped");
                    return None;
                }
                match self.session(input.session_id) {
                    Some(handle) => handle.write(Bytes::from(input.data.into_bytes())).await,
                    None => warn!(session_id = %input.session_id, "input for an unknown session"),
                }
                None
            }
            HubCommand::Resize(resize) => {
                if let Err(error) = resize.size.validate() {
                    warn!(session_id = %resize.session_id, %error, "bad resize; ignored");
                    return None;
                }
                match self.session(resize.session_id) {
                    Some(handle) => handle.resize(resize.size).await,
                    None => warn!(session_id = %resize.session_id, "resize for an unknown session"),
                }
                None
            }
        }
    }

    /// Starts a session, or re-reports one that already runs.
    pub fn spawn(&self, request: SpawnSession) -> SpawnOutcome {
        let session_id = request.session_id;
        if let Some(handle) = self.session(session_id) {
            return SpawnOutcome::Started(SessionStarted {
                session_id,
                pid: handle.pid(),
            });
        }
        match self.try_spawn(&request) {
            Ok(handle) => {
                let pid = handle.pid();
                lock(&self.sessions).insert(session_id, handle);
                SpawnOutcome::Started(SessionStarted { session_id, pid })
            }
            Err(error) => {
                info!(%session_id, %error, "spawn failed");
                SpawnOutcome::Failed(SessionSpawnFailed { session_id, error })
            }
        }
    }

    fn try_spawn(&self, request: &SpawnSession) -> Result<SessionHandle, ErrorBody> {
        let profile = self
            .profiles
            .iter()
            .find(|profile| profile.name == request.profile)
            .ok_or_else(|| {
                ErrorBody::new(
                    ErrorCode::NotFound,
                    format!(
                        "profile {:?} is not available on this host",
                        request.profile
                    ),
                )
            })?;
        request.size.validate()?;
        let cwd = crate::project::confine(&self.config.projects_roots, &request.project)?;
        let session_text = request.session_id.to_string();
        let cwd_text = cwd.display().to_string();
        let argv = profile.command(
            &Placeholders {
                prompt: request
                    .prompt
                    .as_deref()
                    .filter(|prompt| !prompt.is_empty()),
                session_id: Some(&session_text),
                project_dir: Some(&cwd_text),
            },
            false,
        );
        let env = session::env::child_env(
            self.config.base_env.iter().cloned(),
            &profile.env,
            request.session_id,
        );
        session::spawn(
            SessionSpec {
                id: request.session_id,
                argv,
                cwd,
                env,
                size: request.size,
                stop_grace: self.config.stop_grace,
                ring_bytes: session::ring::DEFAULT_RING_BYTES,
            },
            self.events.clone(),
            &self.tracker,
            self.cancel.child_token(),
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Std mutexes: every critical section is a short map or clone operation
    // with no await inside. Poisoning cannot leave these maps inconsistent.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
