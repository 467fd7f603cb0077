//! Versioned schema migrations. Each migration is plain SQL that both SQLite
//! and Postgres accept; applied ones are recorded by sea-orm-migration, so a
//! restart against an existing database applies only what is new.

use sea_orm_migration::prelude::*;

/// The list of migrations, oldest first. Never edit a released one: add a new one.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(Initial)]
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
