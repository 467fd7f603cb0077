//! Bodies of the hub's REST API under `/api`. The OpenAPI document at
//! `/api/openapi.json` is generated from these types.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

use crate::daemon_to_hub::{ProfileInfo, ProjectInfo};
use crate::{HostId, SessionId, TermSize, UserId};

/// `POST /api/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The logged-in user (`GET /api/me`, and the login response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    /// The user name.
    pub username: String,
}

/// A host as the hub knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostSummary {
    /// The host's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: HostId,
    /// The name given when it was created.
    pub name: String,
    /// Whether its daemon is connected now.
    pub online: bool,
    /// When its daemon was last connected.
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_seen_at: Option<OffsetDateTime>,
    /// When the host was created.
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// The last inventory its daemon reported, kept while it is offline.
    pub inventory: Option<crate::daemon_to_hub::HostInventory>,
}

impl HostSummary {
    /// The profiles the host offers, empty when it never connected.
    pub fn profiles(&self) -> &[ProfileInfo] {
        self.inventory.as_ref().map_or(&[], |it| &it.profiles)
    }

    /// The projects the host offers, empty when it never connected.
    pub fn projects(&self) -> &[ProjectInfo] {
        self.inventory.as_ref().map_or(&[], |it| &it.projects)
    }
}

/// `POST /api/hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateHostRequest {
    /// A unique name, 1 to 64 characters of letters, digits, `.`, `_` or `-`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z0-9._-]{1,64}$", min_length = 1, max_length = 64)
    )]
    pub name: String,
}

/// A host together with its token, returned once on create and on rotate.
/// The hub keeps only a hash of the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostWithToken {
    /// The host.
    pub host: HostSummary,
    /// The token the daemon must present. Shown this once.
    pub token: String,
}

impl std::fmt::Debug for HostWithToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostWithToken")
            .field("host", &self.host)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `POST /api/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpawnRequest {
    /// The host to run on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub host_id: HostId,
    /// The profile name, one the host advertises.
    pub profile: String,
    /// The absolute project directory on the host, under one of its
    /// project roots (400 `outside_project_root` otherwise).
    #[cfg_attr(feature = "openapi", schema(pattern = "^/", min_length = 1))]
    pub project: String,
    /// An optional initial prompt for the agent, at most 32 KiB of UTF-8
    /// (413 beyond).
    #[serde(default)]
    #[ts(optional)]
    pub prompt: Option<String>,
    /// The initial terminal size; 120x40 when absent.
    #[serde(default)]
    #[ts(optional)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TermSizeSchema>))]
    pub size: Option<TermSize>,
    /// Isolate the session in a new git worktree on a new branch
    /// (`flotilla/<short-id>-<slug>`). When absent: isolated exactly when
    /// another live session on the host uses the same project.
    #[serde(default)]
    #[ts(optional)]
    pub worktree: Option<bool>,
    /// What the worktree branches from (a branch, tag or commit); the
    /// repository's current branch when absent. Only with a worktree.
    #[serde(default)]
    #[ts(optional)]
    pub base: Option<String>,
    /// A session id the client chose, so a retried spawn never starts a
    /// second agent: a spawn with the id of an existing session of the
    /// same user, host, profile and project answers with that session
    /// (200) and starts nothing; with anything else different, 409.
    #[serde(default)]
    #[ts(optional)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub id: Option<SessionId>,
}

/// OpenAPI mirror of [`TermSize`].
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TermSizeSchema {
    /// Columns, 1 to [`crate::MAX_TERMINAL_DIMENSION`].
    #[schema(minimum = 1, maximum = 1000)]
    cols: u16,
    /// Rows, 1 to [`crate::MAX_TERMINAL_DIMENSION`].
    #[schema(minimum = 1, maximum = 1000)]
    rows: u16,
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SessionState {
    /// Sent to the daemon, not yet confirmed.
    Starting,
    /// The process is running.
    Running,
    /// The process ended; see the exit code.
    Exited,
    /// The daemon could not start it; see the error.
    Failed,
    /// The daemon reconnected without it: it ended while nobody watched.
    Lost,
}

impl SessionState {
    /// Whether the session can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SessionState::Exited | SessionState::Failed | SessionState::Lost
        )
    }

    /// The lowercase name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Starting => "starting",
            SessionState::Running => "running",
            SessionState::Exited => "exited",
            SessionState::Failed => "failed",
            SessionState::Lost => "lost",
        }
    }

    /// Parses [`SessionState::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "starting" => SessionState::Starting,
            "running" => SessionState::Running,
            "exited" => SessionState::Exited,
            "failed" => SessionState::Failed,
            "lost" => SessionState::Lost,
            _ => return None,
        })
    }
}

/// A session as the hub records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    /// The session's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: SessionId,
    /// The host it runs on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub host_id: HostId,
    /// The profile it runs.
    pub profile: String,
    /// The project directory.
    pub project: String,
    /// Where it is in its life.
    pub state: SessionState,
    /// The exit status, once exited normally.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub exit_signal: Option<String>,
    /// Why it failed, when it failed.
    pub error: Option<String>,
    /// The last known terminal size.
    #[cfg_attr(feature = "openapi", schema(value_type = TermSizeSchema))]
    pub size: TermSize,
    /// Who started it.
    pub created_by: String,
    /// When it was requested.
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub ended_at: Option<OffsetDateTime>,
    /// Token, cost and activity totals, once the agent reported any.
    #[serde(default)]
    pub usage: Option<crate::usage::SessionUsage>,
    /// When someone archived it (ended sessions only); archived sessions
    /// are kept, with their output and usage, but listed apart.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub archived_at: Option<OffsetDateTime>,
    /// The git worktree it runs in, when it was isolated in one. Kept
    /// when the session ends: only an explicit discard removes it.
    #[serde(default)]
    pub worktree: Option<crate::worktree::WorktreeInfo>,
}

/// `POST /api/sessions/{id}/worktree/discard`: removes an ended session's
/// worktree, and its branch unless `keep_branch`. `confirm` is the
/// fingerprint of the [`crate::worktree::WorktreeStatus`] the user was
/// shown (`GET /api/sessions/{id}/worktree`); when the worktree changed
/// since, nothing is removed (409).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscardWorktreeRequest {
    /// Keep the branch and its commits; remove only the directory.
    #[serde(default)]
    #[ts(optional)]
    pub keep_branch: Option<bool>,
    /// The status's fingerprint: what the user saw and agreed to lose.
    pub confirm: String,
}

/// `POST /api/sessions/archive`: archives every ended session, or those of
/// one host.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchiveEndedRequest {
    /// Only the ended sessions of this host.
    #[serde(default)]
    #[ts(optional)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub host_id: Option<HostId>,
}

/// The answer to `POST /api/sessions/archive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchivedSessions {
    /// The sessions archived now, newest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub session_ids: Vec<SessionId>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `"ok"` when the hub answers.
    pub status: String,
    /// The hub's version.
    pub version: String,
    /// The protocol version the hub speaks.
    pub protocol_version: u32,
}
