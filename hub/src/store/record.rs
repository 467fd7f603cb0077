//! The domain records the store hands out: typed ids, states and times.
//! sea-orm's models stay behind this module; each is converted once, here,
//! and a stored value the hub cannot read (a malformed id, an unknown
//! state) is an error naming the table and column.

use anyhow::Context;
use flotilla_protocol::daemon_to_hub::HostInventory;
use flotilla_protocol::rest::SessionState;
use flotilla_protocol::worktree::WorktreeInfo;
use flotilla_protocol::{HostId, SessionId, TermSize, UserId};
use time::OffsetDateTime;

use super::entity::{host, session, user};
use super::from_ms;

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The login name.
    pub username: String,
    /// The Argon2id PHC string of its password.
    pub password_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A registered host (a machine a daemon runs on).
#[derive(Debug, Clone)]
pub struct Host {
    /// Its id.
    pub id: HostId,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its daemon was last seen (connected or left).
    pub last_seen_at: Option<OffsetDateTime>,
    /// What its daemon last advertised, if it ever connected.
    pub inventory: Option<HostInventory>,
}

/// A session as recorded.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// The host it runs (or ran) on.
    pub host_id: HostId,
    /// The profile name.
    pub profile: String,
    /// The project directory.
    pub project: String,
    /// Its lifecycle state.
    pub state: SessionState,
    /// The exit status, once exited.
    pub exit_code: Option<i32>,
    /// The killing signal, once exited by one.
    pub exit_signal: Option<String>,
    /// Why it failed or was lost.
    pub error: Option<String>,
    /// Its last recorded terminal size.
    pub size: TermSize,
    /// The user who started it.
    pub created_by: String,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// When it ended.
    pub ended_at: Option<OffsetDateTime>,
    /// When it was archived, if it is.
    pub archived_at: Option<OffsetDateTime>,
    /// The git worktree it was isolated in, if any.
    pub worktree: Option<WorktreeInfo>,
}

impl TryFrom<user::Model> for User {
    type Error = anyhow::Error;

    fn try_from(row: user::Model) -> anyhow::Result<User> {
        Ok(User {
            id: row.id.parse().context("users.id is not a UUID")?,
            username: row.username,
            password_hash: row.password_hash,
            created_at: from_ms(row.created_at),
        })
    }
}

impl TryFrom<host::Model> for Host {
    type Error = anyhow::Error;

    fn try_from(row: host::Model) -> anyhow::Result<Host> {
        Ok(Host {
            id: row.id.parse().context("hosts.id is not a UUID")?,
            inventory: row
                .inventory
                .as_deref()
                .map(serde_json::from_str::<HostInventory>)
                .transpose()
                .with_context(|| format!("hosts.inventory of {} is not valid JSON", row.name))?,
            name: row.name,
            created_at: from_ms(row.created_at),
            last_seen_at: row.last_seen_at.map(from_ms),
        })
    }
}

impl TryFrom<session::Model> for Session {
    type Error = anyhow::Error;

    fn try_from(row: session::Model) -> anyhow::Result<Session> {
        // Sizes are written from a `TermSize`, so they fit.
        let dimension = |n: i32| u16::try_from(n).unwrap_or(u16::MAX);
        Ok(Session {
            host_id: row
                .host_id
                .parse()
                .context("sessions.host_id is not a UUID")?,
            state: SessionState::parse(&row.state)
                .with_context(|| format!("sessions.state {:?} is unknown", row.state))?,
            profile: row.profile,
            project: row.project,
            exit_code: row.exit_code,
            exit_signal: row.exit_signal,
            error: row.error,
            size: TermSize {
                cols: dimension(row.cols),
                rows: dimension(row.rows),
            },
            created_by: row.created_by,
            created_at: from_ms(row.created_at),
            ended_at: row.ended_at.map(from_ms),
            archived_at: row.archived_at.map(from_ms),
            worktree: row
                .worktree
                .as_deref()
                .map(serde_json::from_str::<WorktreeInfo>)
                .transpose()
                .with_context(|| format!("sessions.worktree of {} is not valid JSON", row.id))?,
            id: row.id.parse().context("sessions.id is not a UUID")?,
        })
    }
}

/// Converts every row, failing on the first that cannot be read.
pub(super) fn all<M, R>(rows: Vec<M>) -> anyhow::Result<Vec<R>>
where
    R: TryFrom<M, Error = anyhow::Error>,
{
    rows.into_iter().map(R::try_from).collect()
}

/// Converts an optional row.
pub(super) fn one<M, R>(row: Option<M>) -> anyhow::Result<Option<R>>
where
    R: TryFrom<M, Error = anyhow::Error>,
{
    row.map(R::try_from).transpose()
}
