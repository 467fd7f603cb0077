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
use flotilla_protocol::daemon_to_hub::WorktreeAnswer;
use flotilla_protocol::daemon_to_hub::{
    HostInventory, ProjectInfo, RunningSession, SessionStarted,
};
use flotilla_protocol::hub_to_daemon::{
    RequestSnapshot, ResizePty, SpawnSession, StopSession, WorktreeCommand, WriteInput,
};
use flotilla_protocol::worktree::{WorktreeAction, WorktreeOutcome};
use flotilla_protocol::{ErrorBody, ErrorCode, MAX_INPUT_BYTES, SessionId};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::profile::spawn_settings::{self, SpawnSetting};
use crate::profile::{EnvPlaceholders, HostFacts, Placeholders, Profile};
use crate::session::pty::{NativePty, PtySystem};
use crate::session::{self, Launched, SessionEvent, SessionHandle, SessionSpec};
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
    /// Send a session's screen.
    Snapshot(RequestSnapshot),
    /// Read or remove a session's worktree.
    Worktree(WorktreeCommand),
}

/// How many worktree commands run git at once; more wait their turn.
const GIT_SLOTS: usize = 4;

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
    /// Scrollback lines per session's screen model.
    pub scrollback_lines: usize,
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
    /// Shared by every session; see [`session::start`].
    events: mpsc::Sender<SessionEvent>,
    /// Where sessions' processes run (a fake in tests).
    pty: Arc<dyn PtySystem>,
    /// Bounds the worktree commands running git at once.
    git_slots: Arc<tokio::sync::Semaphore>,
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
            pty: Arc::new(NativePty),
            git_slots: Arc::new(tokio::sync::Semaphore::new(GIT_SLOTS)),
            tracker,
            cancel,
        }
    }

    /// The same host, running sessions with `pty` (a test seam).
    #[cfg(test)]
    pub fn with_pty_system(mut self, pty: Arc<dyn PtySystem>) -> Self {
        self.pty = pty;
        self
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

    /// The sessions that have not been forgotten yet, with their offsets
    /// (a session still starting has no pid yet).
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

    /// Forgets a session whose exit (or failed spawn) has been reported.
    pub fn forget(&self, id: SessionId) {
        lock(&self.sessions).remove(&id);
    }

    /// Carries out a hub command without waiting for anything slow. Only
    /// a spawn of a session that already runs is answered here; a new
    /// session reports its start (or failure) as its first event.
    pub async fn handle(&self, command: HubCommand) -> Option<SessionStarted> {
        match command {
            HubCommand::Spawn(spawn) => self.spawn(spawn),
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
            HubCommand::Snapshot(request) => {
                match self.session(request.session_id) {
                    Some(handle) => handle.snapshot().await,
                    None => {
                        warn!(session_id = %request.session_id, "snapshot of an unknown session")
                    }
                }
                None
            }
            HubCommand::Worktree(command) => {
                self.worktree(command);
                None
            }
        }
    }

    /// Reads or removes a worktree on a blocking thread, at most
    /// [`GIT_SLOTS`] at once; the answer goes out as
    /// [`SessionEvent::Answer`]. A worktree a live session runs in is
    /// never removed.
    fn worktree(&self, command: WorktreeCommand) {
        let live = lock(&self.sessions).values().any(|handle| {
            handle
                .started()
                .and_then(|started| started.worktree)
                .is_some_and(|worktree| worktree.path == command.worktree.path)
        });
        let roots = self.config.projects_roots.clone();
        let slots = self.git_slots.clone();
        let events = self.events.clone();
        self.tracker.spawn(async move {
            let request_id = command.request_id;
            let outcome = match command.action {
                WorktreeAction::Remove { .. } if live => WorktreeOutcome::Failed {
                    error: ErrorBody::new(
                        ErrorCode::Conflict,
                        "a session still runs in this worktree; stop it first",
                    ),
                },
                action => {
                    let _slot = slots.acquire_owned().await;
                    let worktree = command.worktree;
                    let done = tokio::task::spawn_blocking(move || match action {
                        WorktreeAction::Inspect => {
                            match crate::worktree::discard::inspect(&worktree, &roots) {
                                Ok(status) => WorktreeOutcome::Status { status },
                                Err(error) => WorktreeOutcome::Failed { error },
                            }
                        }
                        WorktreeAction::Remove {
                            keep_branch,
                            confirm,
                        } => crate::worktree::discard::remove(
                            &worktree,
                            &roots,
                            keep_branch,
                            &confirm,
                        ),
                    })
                    .await;
                    done.unwrap_or_else(|error| WorktreeOutcome::Failed {
                        error: ErrorBody::new(
                            ErrorCode::Internal,
                            format!("the git task failed: {error}"),
                        ),
                    })
                }
            };
            if let WorktreeOutcome::Removed { branch_kept } = &outcome {
                info!(%request_id, branch_kept, "worktree removed as confirmed");
            }
            // Closed only at shutdown, when nobody waits for the answer.
            let _ = events
                .send(SessionEvent::Answer(WorktreeAnswer {
                    request_id,
                    outcome,
                }))
                .await;
        });
    }

    /// Starts a session: returns at once, and the session reports
    /// [`SessionEvent::Started`] or [`SessionEvent::SpawnFailed`] when its
    /// launch (settings merges, fork and exec, on a blocking thread) is
    /// done. A prompt for a `typed` profile is written to the terminal
    /// first, then Enter. A spawn of a known session starts nothing; it is
    /// answered with the session's start if that was already reported.
    pub fn spawn(&self, request: SpawnSession) -> Option<SessionStarted> {
        let session_id = request.session_id;
        if let Some(handle) = self.session(session_id) {
            return handle.started();
        }
        let host = self.clone();
        let handle = session::start(
            session_id,
            session::ring::DEFAULT_RING_BYTES,
            Box::new(move || host.launch(&request)),
            self.events.clone(),
            &self.tracker,
            self.cancel.child_token(),
        );
        lock(&self.sessions).insert(session_id, handle);
        None
    }

    /// Prepares and starts the session's process. Blocking: it reads and
    /// writes config files and forks; it runs on a blocking thread. On
    /// error nothing is left: telemetry and settings are released.
    fn launch(&self, request: &SpawnSession) -> Result<Launched, ErrorBody> {
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
        let project = crate::project::confine(&self.config.projects_roots, &request.project)?;
        let made = request
            .worktree
            .as_ref()
            .map(|worktree| crate::worktree::create(&project, worktree))
            .transpose()?
            .flatten();
        if let Some(made) = &made {
            info!(
                session_id = %request.session_id,
                path = %made.info.path,
                branch = %made.info.branch,
                base = %made.info.base_commit,
                included = made.included.len(),
                "worktree made"
            );
        }
        let cwd = made.as_ref().map_or(project, |made| made.cwd.clone());
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
        // The PTY buffers the input until the agent reads it.
        let first_input = profile
            .typed_prompt(request.prompt.as_deref())
            .map(|prompt| {
                vec![
                    Bytes::from(prompt.to_owned().into_bytes()),
                    Bytes::from_static(b"\r"),
                ]
            })
            .unwrap_or_default();
        // Registered before the agent starts, so its first export counts.
        let registered = self
            .telemetry
            .register(request.session_id, Arc::new(profile.telemetry.clone()));
        let opened = session::open(
            SessionSpec {
                id: request.session_id,
                argv,
                cwd,
                env,
                size: request.size,
                stop_grace: self.config.stop_grace,
                ring_bytes: session::ring::DEFAULT_RING_BYTES,
                scrollback_lines: self.config.scrollback_lines,
            },
            &*self.pty,
        );
        let mut launched = match opened {
            Ok(launched) => launched,
            Err(error) => {
                if registered {
                    self.telemetry.unregister(request.session_id);
                }
                self.settings.release(request.session_id);
                return Err(match &made {
                    Some(made) => ErrorBody::new(
                        error.code,
                        format!(
                            "{} (the worktree {} and its branch {} were kept)",
                            error.message, made.info.path, made.info.branch
                        ),
                    ),
                    None => error,
                });
            }
        };
        launched.first_input = first_input;
        launched.worktree = made.map(|made| made.info);
        launched.telemetry = self
            .telemetry
            .lookup(request.session_id, std::time::Instant::now());
        Ok(launched)
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
