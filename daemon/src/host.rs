//! The host: what this daemon offers (profiles, projects) and the sessions it
//! runs. It turns hub commands into session actions; the link only moves
//! messages. [`reload`] keeps the profiles in step with the profiles
//! directory; [`settings`] undoes spawn settings when their sessions end.

pub mod reload;
pub mod settings;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use flotilla_protocol::daemon_to_hub::{
    HostInventory, ProjectInfo, RunningSession, SessionSpawnFailed, SessionStarted,
};
use flotilla_protocol::hub_to_daemon::{ResizePty, SpawnSession, StopSession, WriteInput};
use flotilla_protocol::{ErrorBody, ErrorCode, MAX_INPUT_BYTES, SessionId};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::profile::spawn_settings::{self, SpawnSetting};
use crate::profile::{EnvPlaceholders, HostFacts, Placeholders, Profile};
use crate::session::{self, SessionEvent, SessionHandle, SessionSpec};
use crate::telemetry::Registry;

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
    /// The daemon's environment, already read once at startup. Agents get
    /// only the allow-listed part of it (`session::env`).
    pub base_env: Vec<(String, String)>,
    /// Variables of `base_env` the operator passes to every agent
    /// (`--pass-env`), beside those each profile names.
    pub pass_env: Vec<String>,
    /// The OTLP receiver URL agents export to (`{otlp_endpoint}`).
    pub otlp_endpoint: String,
}

/// The profiles, inventory and sessions of this host. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    config: Arc<HostConfig>,
    facts: Arc<HostFacts>,
    /// Profiles and inventory under one lock, so a profile reload and a
    /// project rescan never interleave into a stale inventory.
    state: Arc<Mutex<HostState>>,
    /// Marked changed whenever the inventory changes; the link sends
    /// `InventoryChanged` when it sees that.
    inventory_changed: Arc<watch::Sender<()>>,
    sessions: Arc<Mutex<HashMap<SessionId, SessionHandle>>>,
    /// The sessions the OTLP receiver may attribute telemetry to; a session
    /// is registered before its agent starts.
    telemetry: Registry,
    /// What spawn settings added to config files, and for which sessions.
    settings: Arc<settings::Leases>,
    /// Shared by every session; see [`session::spawn`].
    events: mpsc::Sender<SessionEvent>,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Host {
    /// A host with no sessions, offering `profiles` (already filtered for
    /// availability) and `inventory` as given. Sessions report to `events`,
    /// run on `tracker` and are stopped when `cancel` fires.
    pub fn new(
        config: HostConfig,
        profiles: Vec<Profile>,
        inventory: HostInventory,
        events: mpsc::Sender<SessionEvent>,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        let facts = HostFacts::from_env(config.base_env.iter().cloned());
        let journal = settings_journal(&facts);
        Host {
            settings: Arc::new(settings::Leases::open(journal)),
            config: Arc::new(config),
            facts: Arc::new(facts),
            state: Arc::new(Mutex::new(HostState {
                profiles: Arc::new(profiles),
                inventory,
            })),
            inventory_changed: Arc::new(watch::Sender::new(())),
            sessions: Arc::new(Mutex::new(HashMap::new())),
            telemetry: Registry::default(),
            events,
            tracker,
            cancel,
        }
    }

    /// The current inventory.
    pub fn inventory(&self) -> HostInventory {
        lock(&self.state).inventory.clone()
    }

    /// The profiles new sessions are started from.
    pub fn profiles(&self) -> Arc<Vec<Profile>> {
        lock(&self.state).profiles.clone()
    }

    /// The telemetry registry shared with the OTLP receiver and the link.
    pub fn telemetry(&self) -> &Registry {
        &self.telemetry
    }

    /// A receiver that is marked changed whenever the inventory changes.
    pub fn subscribe_inventory(&self) -> watch::Receiver<()> {
        self.inventory_changed.subscribe()
    }

    /// Replaces the profiles with the available ones of `profiles` and
    /// reports `errors` (one line per problem) in the inventory. Running
    /// sessions are not affected. Returns whether the inventory changed.
    pub fn set_profiles(&self, profiles: Vec<Profile>, errors: Vec<String>) -> bool {
        let path_var = self.facts.env.get("PATH").map(String::as_str);
        let profiles: Vec<Profile> = profiles
            .into_iter()
            .filter(|profile| profile.is_available(path_var))
            .collect();
        self.update(|state| {
            state.profiles = Arc::new(profiles);
            state.inventory.profile_errors = errors;
        })
    }

    /// Replaces the discovered projects. Returns whether the inventory changed.
    pub fn set_projects(&self, projects: Vec<ProjectInfo>) -> bool {
        self.update(|state| state.inventory.projects = projects)
    }

    /// Changes the state, recomputes the advertised profiles and notifies
    /// subscribers when the inventory changed.
    fn update(&self, change: impl FnOnce(&mut HostState)) -> bool {
        let changed = {
            let mut state = lock(&self.state);
            let before = state.inventory.clone();
            change(&mut state);
            let projects: Vec<PathBuf> = state
                .inventory
                .projects
                .iter()
                .map(|project| PathBuf::from(&project.path))
                .collect();
            state.inventory.profiles = state
                .profiles
                .iter()
                .map(|profile| profile.info(&self.facts, &projects))
                .collect();
            state.inventory != before
        };
        if changed {
            self.inventory_changed.send_replace(());
        }
        changed
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

    /// How many sessions have not been forgotten yet (their exit is not
    /// reported).
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// The handle of a known session.
    pub fn session(&self, id: SessionId) -> Option<SessionHandle> {
        lock(&self.sessions).get(&id).cloned()
    }

    /// Marks a session's process as ended (its exit may not be reported
    /// yet): telemetry gets its grace period, and spawn settings only it
    /// still needed are undone.
    pub fn session_exited(&self, id: SessionId) {
        self.telemetry.mark_exited(id, std::time::Instant::now());
        self.settings.release(id);
    }

    /// Forgets a session whose exit has been reported.
    pub fn forget(&self, id: SessionId) {
        lock(&self.sessions).remove(&id);
    }

    /// Carries out a hub command. Only spawns produce an answer.
    pub async fn handle(&self, command: HubCommand) -> Option<SpawnOutcome> {
        match command {
            HubCommand::Spawn(spawn) => Some(self.spawn(spawn).await),
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

    /// Starts a session, or re-reports one that already runs. A prompt for
    /// a `typed` profile is written to the terminal after start, then Enter.
    pub async fn spawn(&self, request: SpawnSession) -> SpawnOutcome {
        let session_id = request.session_id;
        if let Some(handle) = self.session(session_id) {
            return SpawnOutcome::Started(SessionStarted {
                session_id,
                pid: handle.pid(),
            });
        }
        match self.try_spawn(&request) {
            Ok((handle, typed_prompt)) => {
                let pid = handle.pid();
                lock(&self.sessions).insert(session_id, handle.clone());
                if let Some(prompt) = typed_prompt {
                    // The PTY buffers the input until the agent reads it.
                    handle.write(Bytes::from(prompt.into_bytes())).await;
                    handle.write(Bytes::from_static(b"\r")).await;
                }
                SpawnOutcome::Started(SessionStarted { session_id, pid })
            }
            Err(error) => {
                info!(%session_id, %error, "spawn failed");
                SpawnOutcome::Failed(SessionSpawnFailed { session_id, error })
            }
        }
    }

    /// Starts the session; returns its handle and the prompt to type, if any.
    fn try_spawn(
        &self,
        request: &SpawnSession,
    ) -> Result<(SessionHandle, Option<String>), ErrorBody> {
        let profiles = self.profiles();
        let profile = profiles
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
        let session_endpoint =
            crate::profile::session_endpoint(&self.config.otlp_endpoint, &session_text);
        let argv = profile.command(
            &Placeholders {
                prompt: request
                    .prompt
                    .as_deref()
                    .filter(|prompt| !prompt.is_empty()),
                session_id: Some(&session_text),
                project_dir: Some(&cwd_text),
                model: None,
                otlp_session_endpoint: Some(&session_endpoint),
            },
            false,
        );
        let profile_env = profile.env(&EnvPlaceholders {
            otlp_endpoint: &self.config.otlp_endpoint,
            session_id: &session_text,
            // One agent per session for now.
            agent_id: &session_text,
        });
        let passthrough: BTreeSet<String> = profile
            .provisioning
            .passthrough_env
            .iter()
            .chain(&profile.auth.env_any)
            .chain(&profile.auth.env_all)
            .chain(&self.config.pass_env)
            .cloned()
            .collect();
        let env = session::env::child_env(
            self.config.base_env.iter().cloned(),
            &passthrough,
            &profile_env,
            request.session_id,
        );
        for setting in &profile.spawn_settings {
            self.merge_settings(request.session_id, setting, &cwd);
        }
        let typed_prompt = profile
            .typed_prompt(request.prompt.as_deref())
            .map(str::to_owned);
        // Registered before the agent starts, so its first export counts.
        let registered = self
            .telemetry
            .register(request.session_id, Arc::new(profile.telemetry.clone()));
        let spawned = session::spawn(
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
        );
        let handle = match spawned {
            Ok(handle) => handle,
            Err(error) => {
                if registered {
                    self.telemetry.unregister(request.session_id);
                }
                self.settings.release(request.session_id);
                return Err(error);
            }
        };
        Ok((handle, typed_prompt))
    }

    /// Merges one profile spawn setting into the agent's config file, for
    /// as long as `session` runs (see [`settings`]).
    fn merge_settings(
        &self,
        session: SessionId,
        setting: &SpawnSetting,
        project_dir: &std::path::Path,
    ) {
        let path = if let Some(rest) = setting.path.strip_prefix("{project_dir}/") {
            project_dir.join(rest)
        } else if let Some(rest) = setting.path.strip_prefix("~/") {
            let Some(home) = &self.facts.home else {
                warn!(path = %setting.path, "no HOME; spawn setting skipped");
                return;
            };
            home.join(rest)
        } else {
            // Validation only admits the two forms above.
            return;
        };
        let patch = spawn_settings::substitute_value(&setting.merge, &self.config.otlp_endpoint);
        self.settings.merge(session, &path, setting.format, &patch);
    }
}

/// Where the spawn settings journal lives: `$XDG_STATE_HOME/flotilla`, else
/// `~/.local/state/flotilla`; none without a home.
fn settings_journal(facts: &HostFacts) -> Option<PathBuf> {
    let state = facts
        .env
        .get("XDG_STATE_HOME")
        .filter(|dir| dir.starts_with('/'))
        .map(PathBuf::from)
        .or_else(|| facts.home.as_ref().map(|home| home.join(".local/state")))?;
    Some(state.join("flotilla/spawn-settings.json"))
}

/// What [`Host::state`] guards.
struct HostState {
    profiles: Arc<Vec<Profile>>,
    inventory: HostInventory,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Std mutexes: every critical section is a short map or clone operation
    // with no await inside. Poisoning cannot leave these maps inconsistent.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
