//! Durable state: users, logins, hosts and session records, behind sea-orm.
//!
//! SQLite by default (a file in the data dir), Postgres when `DATABASE_URL`
//! names one. Schema changes are versioned migrations in [`migration`].
//! sea-orm's entities never leave this module: every read returns a
//! domain record of [`record`] (typed ids, states and times).

mod entity;
mod migration;
pub mod record;
mod usage;

use anyhow::Context;
use flotilla_protocol::daemon_to_hub::HostInventory;
use flotilla_protocol::rest::SessionState;
use flotilla_protocol::worktree::WorktreeInfo;
use flotilla_protocol::{HostId, SessionId, TermSize, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use time::OffsetDateTime;
use uuid::Uuid;

use entity::{host, login, session, user};
pub use record::{Host, Session, User};
pub use usage::{AgentHostUsage, DayRange, UsageBaseline, UsageTotals, UsageWrite};

/// The states a session cannot leave.
const FINAL_STATES: [SessionState; 3] = [
    SessionState::Exited,
    SessionState::Failed,
    SessionState::Lost,
];

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
}

/// Everything needed to record a new session.
pub struct NewSession {
    /// The id chosen by the hub.
    pub id: SessionId,
    /// The host it will run on.
    pub host_id: HostId,
    /// The profile name.
    pub profile: String,
    /// The project directory.
    pub project: String,
    /// The initial terminal size.
    pub size: TermSize,
    /// The user who asked for it.
    pub created_by: String,
}

/// Milliseconds since the Unix epoch, the unit every timestamp is stored in.
pub fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

/// Converts a timestamp to stored milliseconds.
pub fn to_ms(when: OffsetDateTime) -> i64 {
    (when.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Converts stored milliseconds back to a timestamp.
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Store {
    /// Connects and applies pending migrations (on Postgres under an advisory
    /// lock; SQLite callers hold `files::open_store`'s lock file).
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        let mut options = ConnectOptions::new(url.to_owned());
        // sea-orm logs every statement at INFO; keep them out of the log.
        options.sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .context("connecting to the database")?;
        if url.starts_with("sqlite:") {
            // WAL lets readers proceed while a write is in flight and makes
            // commits cheaper; busy_timeout rides over short write contention.
            // busy_timeout first: switching to WAL needs a write lock.
            for pragma in ["PRAGMA busy_timeout=5000", "PRAGMA journal_mode=WAL"] {
                sea_orm::ConnectionTrait::execute_unprepared(&db, pragma)
                    .await
                    .context("configuring sqlite")?;
            }
        }
        if db.get_database_backend() == DbBackend::Postgres {
            migrate_under_advisory_lock(&db).await?;
        } else {
            // SQLite: `files::open_store` holds the lock file around this.
            migration::Migrator::up(&db, None)
                .await
                .context("applying database migrations")?;
        }
        Ok(Store { db })
    }

    // ---- users and logins ----

    /// How many users exist.
    pub async fn user_count(&self) -> anyhow::Result<u64> {
        Ok(user::Entity::find().count(&self.db).await?)
    }

    /// Creates a user with an already hashed password.
    pub async fn create_user(&self, username: &str, password_hash: &str) -> anyhow::Result<User> {
        let row = user::ActiveModel {
            id: Set(Uuid::new_v4().to_string()),
            username: Set(username.to_owned()),
            password_hash: Set(password_hash.to_owned()),
            created_at: Set(now_ms()),
        };
        row.insert(&self.db).await?.try_into()
    }

    /// Finds a user by name.
    pub async fn find_user(&self, username: &str) -> anyhow::Result<Option<User>> {
        record::one(
            user::Entity::find()
                .filter(user::Column::Username.eq(username))
                .one(&self.db)
                .await?,
        )
    }

    /// Records a login whose cookie hashes to `token_hash`.
    pub async fn create_login(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        let row = login::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            user_id: Set(user_id.to_string()),
            created_at: Set(now_ms()),
            expires_at: Set(expires_at),
        };
        row.insert(&self.db).await?;
        Ok(())
    }

    /// The user behind an unexpired login.
    pub async fn find_login(&self, token_hash: &str) -> anyhow::Result<Option<User>> {
        Ok(self
            .find_login_with_expiry(token_hash)
            .await?
            .map(|(user, _)| user))
    }

    /// The user behind an unexpired login and when the login expires (epoch
    /// milliseconds). An expired login is deleted on the way.
    pub async fn find_login_with_expiry(
        &self,
        token_hash: &str,
    ) -> anyhow::Result<Option<(User, i64)>> {
        let Some(login) = login::Entity::find_by_id(token_hash.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if login.expires_at <= now_ms() {
            login::Entity::delete_by_id(token_hash.to_owned())
                .exec(&self.db)
                .await?;
            return Ok(None);
        }
        let user: Option<User> = record::one(
            user::Entity::find_by_id(login.user_id)
                .one(&self.db)
                .await?,
        )?;
        Ok(user.map(|user| (user, login.expires_at)))
    }

    /// Revokes a login; `false` when there was none.
    pub async fn delete_login(&self, token_hash: &str) -> anyhow::Result<bool> {
        let res = login::Entity::delete_by_id(token_hash.to_owned())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    // ---- hosts ----

    /// Creates a host; `Ok(None)` when the name is taken.
    pub async fn create_host(&self, name: &str, token_hash: &str) -> anyhow::Result<Option<Host>> {
        if host::Entity::find()
            .filter(host::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let row = host::ActiveModel {
            id: Set(Uuid::new_v4().to_string()),
            name: Set(name.to_owned()),
            token_hash: Set(token_hash.to_owned()),
            created_at: Set(now_ms()),
            last_seen_at: Set(None),
            inventory: Set(None),
        };
        Ok(Some(row.insert(&self.db).await?.try_into()?))
    }

    /// Every host, by name (bytewise, so `Zulu` sorts before `alpha`).
    pub async fn list_hosts(&self) -> anyhow::Result<Vec<Host>> {
        // Sorted here, not by `ORDER BY`: SQLite compares bytes, while
        // Postgres uses the database's collation (often linguistic, where
        // `alpha` sorts before `Zulu`), and the order must not depend on it.
        let mut hosts: Vec<Host> = record::all(host::Entity::find().all(&self.db).await?)?;
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(hosts)
    }

    /// One host.
    pub async fn get_host(&self, id: HostId) -> anyhow::Result<Option<Host>> {
        record::one(
            host::Entity::find_by_id(id.to_string())
                .one(&self.db)
                .await?,
        )
    }

    /// The host whose token hashes to `token_hash`.
    pub async fn find_host_by_token(&self, token_hash: &str) -> anyhow::Result<Option<Host>> {
        record::one(
            host::Entity::find()
                .filter(host::Column::TokenHash.eq(token_hash))
                .one(&self.db)
                .await?,
        )
    }

    /// Replaces a host's token hash; `false` when the host does not exist.
    pub async fn set_host_token(&self, id: HostId, token_hash: &str) -> anyhow::Result<bool> {
        let res = host::Entity::update_many()
            .col_expr(host::Column::TokenHash, Expr::value(token_hash.to_owned()))
            .filter(host::Column::Id.eq(id.to_string()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Deletes a host and its session records (with their usage); `false`
    /// when it did not exist.
    pub async fn delete_host(&self, id: HostId) -> anyhow::Result<bool> {
        // Explicit rather than relying on the connection enabling foreign keys.
        for table in ["usage_daily", "session_usage"] {
            let sql = format!(
                "DELETE FROM {table} WHERE session_id IN (SELECT id FROM sessions WHERE host_id = ?)"
            );
            self.db
                .execute_raw(usage::statement(
                    self.db.get_database_backend(),
                    &sql,
                    vec![id.to_string().into()],
                ))
                .await?;
        }
        session::Entity::delete_many()
            .filter(session::Column::HostId.eq(id.to_string()))
            .exec(&self.db)
            .await?;
        let res = host::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records that the host's daemon was seen now, with its inventory.
    pub async fn record_host_seen(
        &self,
        id: HostId,
        inventory: Option<&HostInventory>,
    ) -> anyhow::Result<()> {
        let mut update = host::Entity::update_many()
            .col_expr(host::Column::LastSeenAt, Expr::value(Some(now_ms())))
            .filter(host::Column::Id.eq(id.to_string()));
        if let Some(inventory) = inventory {
            let json = serde_json::to_string(inventory).context("encoding an inventory")?;
            update = update.col_expr(host::Column::Inventory, Expr::value(Some(json)));
        }
        update.exec(&self.db).await?;
        Ok(())
    }

    // ---- sessions ----

    /// Records a new session in state `starting`.
    pub async fn insert_session(&self, new: NewSession) -> anyhow::Result<Session> {
        let row = session::ActiveModel {
            id: Set(new.id.to_string()),
            host_id: Set(new.host_id.to_string()),
            profile: Set(new.profile),
            project: Set(new.project),
            state: Set(SessionState::Starting.as_str().to_owned()),
            exit_code: Set(None),
            exit_signal: Set(None),
            error: Set(None),
            cols: Set(i32::from(new.size.cols)),
            rows: Set(i32::from(new.size.rows)),
            created_by: Set(new.created_by),
            created_at: Set(now_ms()),
            ended_at: Set(None),
            archived_at: Set(None),
            worktree: Set(None),
        };
        row.insert(&self.db).await?.try_into()
    }

    /// One session.
    pub async fn get_session(&self, id: SessionId) -> anyhow::Result<Option<Session>> {
        record::one(
            session::Entity::find_by_id(id.to_string())
                .one(&self.db)
                .await?,
        )
    }

    /// Sessions, newest first, optionally of one host.
    pub async fn list_sessions(&self, host: Option<HostId>) -> anyhow::Result<Vec<Session>> {
        let mut query = session::Entity::find().order_by_desc(session::Column::CreatedAt);
        if let Some(host) = host {
            query = query.filter(session::Column::HostId.eq(host.to_string()));
        }
        record::all(query.all(&self.db).await?)
    }

    /// Sessions of a host that are not final (starting or running).
    pub async fn live_sessions_of_host(&self, host: HostId) -> anyhow::Result<Vec<Session>> {
        record::all(
            session::Entity::find()
                .filter(session::Column::HostId.eq(host.to_string()))
                .filter(session::Column::State.is_in([
                    SessionState::Starting.as_str(),
                    SessionState::Running.as_str(),
                ]))
                .all(&self.db)
                .await?,
        )
    }

    /// Moves a session from `starting` to `running`; a session that already
    /// moved on (it exited first) is left alone.
    pub async fn mark_running(&self, id: SessionId) -> anyhow::Result<()> {
        session::Entity::update_many()
            .col_expr(
                session::Column::State,
                Expr::value(SessionState::Running.as_str()),
            )
            .filter(session::Column::Id.eq(id.to_string()))
            .filter(session::Column::State.eq(SessionState::Starting.as_str()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Records the worktree the daemon made for a session.
    pub async fn set_worktree(&self, id: SessionId, worktree: &WorktreeInfo) -> anyhow::Result<()> {
        session::Entity::update_many()
            .col_expr(
                session::Column::Worktree,
                Expr::value(Some(serde_json::to_string(worktree)?)),
            )
            .filter(session::Column::Id.eq(id.to_string()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Moves a live session to a final state.
    pub async fn mark_ended(&self, id: SessionId, end: SessionEnd) -> anyhow::Result<()> {
        session::Entity::update_many()
            .col_expr(session::Column::State, Expr::value(end.state.as_str()))
            .col_expr(session::Column::ExitCode, Expr::value(end.exit_code))
            .col_expr(session::Column::ExitSignal, Expr::value(end.exit_signal))
            .col_expr(session::Column::Error, Expr::value(end.error))
            .col_expr(session::Column::EndedAt, Expr::value(Some(now_ms())))
            .filter(session::Column::Id.eq(id.to_string()))
            .filter(session::Column::State.is_in([
                SessionState::Starting.as_str(),
                SessionState::Running.as_str(),
            ]))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Archives (`Some(time)`) or restores (`None`) an ended session.
    /// Returns whether an ended session with this id exists; live sessions
    /// are never archived.
    pub async fn set_session_archived(
        &self,
        id: SessionId,
        archived_at: Option<OffsetDateTime>,
    ) -> anyhow::Result<bool> {
        let result = session::Entity::update_many()
            .col_expr(
                session::Column::ArchivedAt,
                Expr::value(archived_at.map(to_ms)),
            )
            .filter(session::Column::Id.eq(id.to_string()))
            .filter(session::Column::State.is_in(FINAL_STATES.map(SessionState::as_str)))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Archives every ended, unarchived session (of one host, if given);
    /// returns their ids.
    pub async fn archive_ended_sessions(
        &self,
        host: Option<HostId>,
        archived_at: OffsetDateTime,
    ) -> anyhow::Result<Vec<SessionId>> {
        let mut query = session::Entity::find()
            .filter(session::Column::State.is_in(FINAL_STATES.map(SessionState::as_str)))
            .filter(session::Column::ArchivedAt.is_null())
            .order_by_desc(session::Column::CreatedAt);
        if let Some(host) = host {
            query = query.filter(session::Column::HostId.eq(host.to_string()));
        }
        let ids: Vec<String> = query
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| row.id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        session::Entity::update_many()
            .col_expr(
                session::Column::ArchivedAt,
                Expr::value(Some(to_ms(archived_at))),
            )
            .filter(session::Column::Id.is_in(ids.clone()))
            .filter(session::Column::ArchivedAt.is_null())
            .exec(&self.db)
            .await?;
        ids.iter()
            .map(|id| id.parse().context("stored session id is not a UUID"))
            .collect()
    }

    /// Records a session's terminal size.
    pub async fn set_session_size(&self, id: SessionId, size: TermSize) -> anyhow::Result<()> {
        session::Entity::update_many()
            .col_expr(session::Column::Cols, Expr::value(i32::from(size.cols)))
            .col_expr(session::Column::Rows, Expr::value(i32::from(size.rows)))
            .filter(session::Column::Id.eq(id.to_string()))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// The key of the Postgres advisory lock that serialises migrations
/// (`flotilla` in ASCII), shared by every hub process on the database.
const MIGRATION_LOCK_KEY: i64 = 0x666c_6f74_696c_6c61;

/// Applies pending migrations while holding [`MIGRATION_LOCK_KEY`], so hubs
/// and `flotilla-hub issue-host-token` starting together on a fresh
/// database never both create the schema (the second would fail on
/// "relation already exists"); the later ones find it applied.
///
/// The lock is transaction-scoped and taken on a transaction of its own:
/// the transaction pins one pooled connection (a session lock taken through
/// the pool could be released on another connection), the migrations run on
/// other connections of the pool, and commit, rollback or a dropped
/// connection (the process died) all release it.
async fn migrate_under_advisory_lock(db: &DatabaseConnection) -> anyhow::Result<()> {
    let lock = db.begin().await.context("starting the migration lock")?;
    lock.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
    ))
    .await
    .context("waiting for the migration lock")?;
    let migrated = migration::Migrator::up(db, None)
        .await
        .context("applying database migrations");
    lock.commit()
        .await
        .context("releasing the migration lock")?;
    migrated
}

/// How a session ended.
pub struct SessionEnd {
    /// `exited`, `failed` or `lost`.
    pub state: SessionState,
    /// The exit status, for `exited`.
    pub exit_code: Option<i32>,
    /// The killing signal, for `exited`.
    pub exit_signal: Option<String>,
    /// Why, for `failed` and `lost`.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests;
