//! The one integration test binary: live-loop scenarios against the real
//! binaries, and the repository's tidy checks.

/// Turns each named `async fn(Database)` of the calling module into two
/// tests, `sqlite::NAME` and `postgres::NAME`: the hub on its default SQLite
/// and on this process's throwaway Postgres cluster.
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(flotilla_integration::Database::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(flotilla_integration::Database::Postgres).await;
                }
            )+
        }
    };
}

mod hardening_hub;
mod live_loop;
mod profiles;
mod secrets;
mod structure;
mod telemetry;
mod terminal;
mod tidy;
mod usage;
mod worktree;
