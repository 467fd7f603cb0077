//! Versioned schema migrations. Each migration is plain SQL that both SQLite
//! and Postgres accept; applied ones are recorded by sea-orm-migration, so a
//! restart against an existing database applies only what is new.

use sea_orm_migration::prelude::*;

/// The list of migrations, oldest first. Never edit a released one: add a new one.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Initial),
            Box::new(UsageTables),
            Box::new(SessionArchive),
            Box::new(SessionWorktree),
        ]
    }
}

/// Users, logins, hosts and sessions.
struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m0001_initial"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in [
            "CREATE TABLE users (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )",
            "CREATE TABLE logins (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )",
            "CREATE TABLE hosts (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                token_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT,
                inventory TEXT
            )",
            "CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
                profile TEXT NOT NULL,
                project TEXT NOT NULL,
                state TEXT NOT NULL,
                exit_code INTEGER,
                exit_signal TEXT,
                error TEXT,
                cols INTEGER NOT NULL,
                rows INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                ended_at BIGINT
            )",
            "CREATE INDEX sessions_host_state ON sessions (host_id, state)",
            "CREATE INDEX sessions_created_at ON sessions (created_at)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["sessions", "hosts", "logins", "users"] {
            db.execute_unprepared(&format!("DROP TABLE {table}"))
                .await?;
        }
        Ok(())
    }
}

/// Session usage: the latest totals per session and the usage per UTC day.
///
/// `session_usage` holds the last report of each session (the whole
/// `SessionUsage` as JSON plus the columns queries need). `usage_daily` holds,
/// per session and UTC day, the tokens and cost that arrived that day: each
/// report adds its increase over what was already counted (see
/// `crate::usage`), so a session's daily rows add up to its totals.
struct UsageTables;

impl MigrationName for UsageTables {
    fn name(&self) -> &str {
        "m0002_usage"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for UsageTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in [
            "CREATE TABLE session_usage (
                session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
                usage_json TEXT NOT NULL,
                tokens_total BIGINT NOT NULL,
                cost_nano_usd BIGINT NOT NULL,
                unpriced INTEGER NOT NULL,
                requests BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )",
            "CREATE TABLE usage_daily (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                day TEXT NOT NULL,
                input BIGINT NOT NULL,
                output BIGINT NOT NULL,
                cache_read BIGINT NOT NULL,
                cache_write BIGINT NOT NULL,
                reasoning BIGINT NOT NULL,
                tool BIGINT NOT NULL,
                other BIGINT NOT NULL,
                cost_nano_usd BIGINT NOT NULL,
                PRIMARY KEY (session_id, day)
            )",
            "CREATE INDEX usage_daily_day ON usage_daily (day)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["usage_daily", "session_usage"] {
            db.execute_unprepared(&format!("DROP TABLE {table}"))
                .await?;
        }
        Ok(())
    }
}

/// Archived sessions: an ended session someone put away (listed apart,
/// kept with its usage).
struct SessionArchive;

impl MigrationName for SessionArchive {
    fn name(&self) -> &str {
        "m0003_session_archive"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SessionArchive {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE sessions ADD COLUMN archived_at BIGINT")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE sessions DROP COLUMN archived_at")
            .await?;
        Ok(())
    }
}

/// The git worktree a session was isolated in (JSON of a `WorktreeInfo`),
/// kept for as long as the session's record.
struct SessionWorktree;

impl MigrationName for SessionWorktree {
    fn name(&self) -> &str {
        "m0004_session_worktree"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SessionWorktree {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE sessions ADD COLUMN worktree TEXT")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE sessions DROP COLUMN worktree")
            .await?;
        Ok(())
    }
}
