//! Store tests against a real SQLite database file.

use super::*;

async fn store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    Store::connect(&url).await.unwrap()
}

#[tokio::test]
async fn migrations_apply_once_and_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let first = store(&dir).await;
    first.create_user("admin", "hash").await.unwrap();
    let host = first.create_host("laptop", "th").await.unwrap().unwrap();
    drop(first);
    let second = store(&dir).await;
    assert_eq!(second.user_count().await.unwrap(), 1);
    assert_eq!(
        second.find_host_by_token("th").await.unwrap().unwrap().id,
        host.id
    );
}

#[tokio::test]
async fn host_names_are_unique_and_tokens_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let host = store.create_host("laptop", "t1").await.unwrap().unwrap();
    assert!(store.create_host("laptop", "t2").await.unwrap().is_none());
    let id: HostId = host.id.parse().unwrap();
    assert!(store.set_host_token(id, "t3").await.unwrap());
    assert!(store.find_host_by_token("t1").await.unwrap().is_none());
    assert!(store.find_host_by_token("t3").await.unwrap().is_some());
    assert!(store.delete_host(id).await.unwrap());
    assert!(!store.delete_host(id).await.unwrap());
}

#[tokio::test]
async fn logins_expire() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let user = store.create_user("admin", "hash").await.unwrap();
    let user_id: UserId = user.id.parse().unwrap();
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

#[tokio::test]
async fn session_states_only_move_forward() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let host = store.create_host("laptop", "t").await.unwrap().unwrap();
    let host_id: HostId = host.id.parse().unwrap();
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
    assert_eq!(row.state, "exited");
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
