//! sea-orm entities, one module per table. Ids are UUID text and timestamps
//! are milliseconds since the epoch, which read the same in SQLite and
//! Postgres.

pub mod user {
    //! People who log in.
    use sea_orm::entity::prelude::*;

    /// A row of `users`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        /// UUID.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Unique login name.
        pub username: String,
        /// Argon2id PHC string.
        pub password_hash: String,
        /// Creation time, ms.
        pub created_at: i64,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod login {
    //! Browser logins; the cookie value is stored only as a hash.
    use sea_orm::entity::prelude::*;

    /// A row of `logins`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "logins")]
    pub struct Model {
        /// SHA-256 hex of the cookie value.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        /// The user's UUID.
        pub user_id: String,
        /// Creation time, ms.
        pub created_at: i64,
        /// Expiry time, ms.
        pub expires_at: i64,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod host {
    //! Machines that run a daemon.
    use sea_orm::entity::prelude::*;

    /// A row of `hosts`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hosts")]
    pub struct Model {
        /// UUID.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Unique display name.
        pub name: String,
        /// SHA-256 hex of the host token.
        pub token_hash: String,
        /// Creation time, ms.
        pub created_at: i64,
        /// Last time its daemon connected or reported, ms.
        pub last_seen_at: Option<i64>,
        /// The last `HostInventory` as JSON.
        pub inventory: Option<String>,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    //! Agent sessions and how they ended.
    use sea_orm::entity::prelude::*;

    /// A row of `sessions`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        /// UUID.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The host's UUID.
        pub host_id: String,
        /// Profile name.
        pub profile: String,
        /// Project directory.
        pub project: String,
        /// `SessionState` as text.
        pub state: String,
        /// Exit status.
        pub exit_code: Option<i32>,
        /// Killing signal.
        pub exit_signal: Option<String>,
        /// Failure reason.
        pub error: Option<String>,
        /// Terminal columns.
        pub cols: i32,
        /// Terminal rows.
        pub rows: i32,
        /// User name of the creator.
        pub created_by: String,
        /// Creation time, ms.
        pub created_at: i64,
        /// End time, ms.
        pub ended_at: Option<i64>,
        /// When it was archived, ms; only ended sessions are.
        pub archived_at: Option<i64>,
        /// The worktree it runs in, JSON of a `WorktreeInfo`.
        pub worktree: Option<String>,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
