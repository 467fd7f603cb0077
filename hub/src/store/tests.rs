//! Store tests against real databases: each test runs twice, on a SQLite
//! file and on a fresh database of the test process's throwaway Postgres
//! cluster (`flotilla_integration::postgres`).

use super::*;

/// A database for one test; reopening it sees what earlier stores wrote.
struct TestDatabase {
    url: String,
    /// Holds the SQLite file.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        TestDatabase {
            url,
            _dir: Some(dir),
        }
    }

    fn postgres() -> TestDatabase {
        TestDatabase {
            url: flotilla_integration::postgres::fresh_database_url(),
            _dir: None,
        }
    }
}

async fn store(database: &TestDatabase) -> Store {
    Store::connect(&database.url).await.unwrap()
}

/// Turns each named `async fn(TestDatabase)` into the tests `sqlite::NAME`
/// and `postgres::NAME`.
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::TestDatabase::sqlite()).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::TestDatabase::postgres()).await;
                }
            )+
        }
    };
}

async fn migrations_apply_once_and_data_survives_reopening(database: TestDatabase) {
    let first = store(&database).await;
    first.create_user("admin", "hash").await.unwrap();
    let host = first.create_host("laptop", "th").await.unwrap().unwrap();
    drop(first);
    let second = store(&database).await;
    assert_eq!(second.user_count().await.unwrap(), 1);
    assert_eq!(
        second.find_host_by_token("th").await.unwrap().unwrap().id,
        host.id
    );
}

async fn host_names_are_unique_and_tokens_rotate(database: TestDatabase) {
    let store = store(&database).await;
    let host = store.create_host("laptop", "t1").await.unwrap().unwrap();
    assert!(store.create_host("laptop", "t2").await.unwrap().is_none());
    let id: HostId = host.id;
    assert!(store.set_host_token(id, "t3").await.unwrap());
    assert!(store.find_host_by_token("t1").await.unwrap().is_none());
    assert!(store.find_host_by_token("t3").await.unwrap().is_some());
    assert!(store.delete_host(id).await.unwrap());
    assert!(!store.delete_host(id).await.unwrap());
}

async fn logins_expire(database: TestDatabase) {
    let store = store(&database).await;
    let user = store.create_user("admin", "hash").await.unwrap();
    let user_id: UserId = user.id;
    store
        .create_login("live", user_id, now_ms() + 60_000)
        .await
        .unwrap();
    store
        .create_login("dead", user_id, now_ms() - 1)
        .await
        .unwrap();
    assert_eq!(
        store.find_login("live").await.unwrap().unwrap().username,
        "admin"
    );
    assert!(store.find_login("dead").await.unwrap().is_none());
    store.delete_login("live").await.unwrap();
    assert!(store.find_login("live").await.unwrap().is_none());
}

async fn session_states_only_move_forward(database: TestDatabase) {
    let store = store(&database).await;
    let host = store.create_host("laptop", "t").await.unwrap().unwrap();
    let host_id: HostId = host.id;
    let id = SessionId::new();
    store
        .insert_session(NewSession {
            id,
            host_id,
            profile: "bash".into(),
            project: "/p".into(),
            size: TermSize { cols: 80, rows: 24 },
            created_by: "admin".into(),
        })
        .await
        .unwrap();
    assert_eq!(store.live_sessions_of_host(host_id).await.unwrap().len(), 1);
    store
        .mark_ended(
            id,
            SessionEnd {
                state: SessionState::Exited,
                exit_code: Some(3),
                exit_signal: None,
                error: None,
            },
        )
        .await
        .unwrap();
    // A late "started" must not resurrect an exited session.
    store.mark_running(id).await.unwrap();
    let row = store.get_session(id).await.unwrap().unwrap();
    assert_eq!(row.state, SessionState::Exited);
    assert_eq!(row.exit_code, Some(3));
    assert!(row.ended_at.is_some());
    assert!(
        store
            .live_sessions_of_host(host_id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn hosts_list_by_name_bytewise_whatever_the_collation(database: TestDatabase) {
    let store = store(&database).await;
    for name in ["beta", "Zulu", "alpha", "Alpha"] {
        store.create_host(name, &format!("t-{name}")).await.unwrap();
    }
    let names: Vec<String> = store
        .list_hosts()
        .await
        .unwrap()
        .into_iter()
        .map(|host| host.name)
        .collect();
    assert_eq!(names, ["Alpha", "Zulu", "alpha", "beta"]);
}

fn new_session(host_id: HostId, profile: &str) -> NewSession {
    NewSession {
        id: SessionId::new(),
        host_id,
        profile: profile.into(),
        project: "/p".into(),
        size: TermSize { cols: 80, rows: 24 },
        created_by: "admin".into(),
    }
}

fn tokens(input: u64, output: u64) -> UsageTotals {
    UsageTotals {
        tokens: flotilla_protocol::usage::TokenCounts {
            input,
            output,
            ..Default::default()
        },
        cost_nano_usd: input * 10,
    }
}

fn write(session_id: SessionId, totals: UsageTotals, days: &[(&str, UsageTotals)]) -> UsageWrite {
    UsageWrite {
        session_id,
        usage: flotilla_protocol::usage::SessionUsage {
            tokens: totals.tokens,
            cost_nano_usd: totals.cost_nano_usd,
            unpriced_models: vec!["m".into()],
            requests: 3,
            ..Default::default()
        },
        received_at: now_ms(),
        days: days
            .iter()
            .map(|(day, t)| ((*day).to_owned(), *t))
            .collect(),
    }
}

async fn usage_upserts_sum_per_day_and_group(database: TestDatabase) {
    use flotilla_protocol::usage::UsageGroupBy;
    let store = store(&database).await;
    let host = store.create_host("laptop", "t").await.unwrap().unwrap();
    let host_id: HostId = host.id;
    let first = store
        .insert_session(new_session(host_id, "claude"))
        .await
        .unwrap();
    let second = store
        .insert_session(new_session(host_id, "codex"))
        .await
        .unwrap();
    let (first, second): (SessionId, SessionId) = (first.id, second.id);

    // The second write of a day adds to its row; the snapshot is replaced.
    let batch = [
        write(first, tokens(5, 1), &[("2026-01-01", tokens(5, 1))]),
        write(second, tokens(7, 0), &[("2026-01-02", tokens(7, 0))]),
    ];
    store.write_usage(&batch).await.unwrap();
    let later = write(
        first,
        tokens(9, 2),
        &[("2026-01-01", tokens(1, 0)), ("2026-01-02", tokens(3, 1))],
    );
    store.write_usage(&[later]).await.unwrap();
    // A deleted session does not fail the batch.
    store
        .write_usage(&[write(
            SessionId::new(),
            tokens(1, 1),
            &[("2026-01-01", tokens(1, 1))],
        )])
        .await
        .unwrap();

    let baseline = store.usage_baseline(first).await.unwrap();
    assert_eq!(baseline.counted, tokens(9, 2));
    assert_eq!(baseline.latest.unwrap().tokens.input, 9);
    assert_eq!(baseline.requests, 3);
    assert_eq!(store.sessions_usage(Some(host_id)).await.unwrap().len(), 2);

    let (mut rows, total) = store
        .usage_report(UsageGroupBy::Agent, &DayRange::default())
        .await
        .unwrap();
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    let summary: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                row.key.as_str(),
                row.sessions,
                row.tokens.input,
                row.unpriced_sessions,
            )
        })
        .collect();
    assert_eq!(summary, [("claude", 1, 9, 1), ("codex", 1, 7, 1)]);
    assert_eq!(
        (total.sessions, total.tokens.input, total.cost_nano_usd),
        (2, 16, 160)
    );
    let (days, _) = store
        .usage_report(
            UsageGroupBy::Day,
            &DayRange {
                from: Some("2026-01-02".into()),
                to: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].sessions, days[0].tokens.input), (2, 10));

    let by_agent = store.usage_by_agent_and_host().await.unwrap();
    let by_agent: Vec<_> = by_agent
        .iter()
        .map(|it| {
            (
                it.agent.as_str(),
                it.host.as_str(),
                it.totals.tokens.input,
                it.requests,
            )
        })
        .collect();
    assert_eq!(
        by_agent,
        [("claude", "laptop", 9, 3), ("codex", "laptop", 7, 3)]
    );
    assert_eq!(
        store.session_counts_by_state().await.unwrap(),
        [(SessionState::Starting, 2)]
    );

    assert!(store.delete_host(host_id).await.unwrap());
    assert!(store.usage_baseline(first).await.unwrap().latest.is_none());
    let (rows, _) = store
        .usage_report(UsageGroupBy::Host, &DayRange::default())
        .await
        .unwrap();
    assert!(rows.is_empty());
}

async fn only_ended_sessions_are_archived_and_restored(database: TestDatabase) {
    let store = store(&database).await;
    let host = store.create_host("laptop", "t").await.unwrap().unwrap();
    let host_id: HostId = host.id;
    let live = store
        .insert_session(new_session(host_id, "bash"))
        .await
        .unwrap();
    let ended = store
        .insert_session(new_session(host_id, "bash"))
        .await
        .unwrap();
    let (live, ended): (SessionId, SessionId) = (live.id, ended.id);
    let end = || SessionEnd {
        state: SessionState::Lost,
        exit_code: None,
        exit_signal: None,
        error: Some("gone".into()),
    };
    store.mark_ended(ended, end()).await.unwrap();
    assert!(
        !store
            .set_session_archived(live, Some(OffsetDateTime::now_utc()))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_session_archived(ended, Some(from_ms(42)))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_session(ended).await.unwrap().unwrap().archived_at,
        Some(from_ms(42))
    );
    assert!(store.set_session_archived(ended, None).await.unwrap());
    assert_eq!(
        store.get_session(ended).await.unwrap().unwrap().archived_at,
        None
    );
    assert_eq!(
        store
            .archive_ended_sessions(Some(host_id), from_ms(7))
            .await
            .unwrap(),
        [ended]
    );
    assert!(
        store
            .archive_ended_sessions(None, from_ms(8))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_session(live).await.unwrap().unwrap().archived_at,
        None
    );
}

on_both_databases!(
    migrations_apply_once_and_data_survives_reopening,
    host_names_are_unique_and_tokens_rotate,
    logins_expire,
    session_states_only_move_forward,
    hosts_list_by_name_bytewise_whatever_the_collation,
    usage_upserts_sum_per_day_and_group,
    only_ended_sessions_are_archived_and_restored,
);
