//! Tests of the usage counting rule, query validation and sorting (pure),
//! and of ingest, batched flushes, restarts and reports against a real
//! SQLite file.

use flotilla_protocol::usage::TokenCounts;

use super::*;
use crate::test_app::{app_in, host, session, user};

fn tokens(input: u64, output: u64, cache_read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_read,
        ..TokenCounts::default()
    }
}

fn snap(input: u64, output: u64, cache_read: u64, cost: u64) -> SessionUsage {
    SessionUsage {
        tokens: tokens(input, output, cache_read),
        cost_nano_usd: cost,
        requests: input / 100,
        updated_at_unix_ms: 1_700_000_000_000,
        ..SessionUsage::default()
    }
}

fn totals(input: u64, output: u64, cache_read: u64, cost: u64) -> UsageTotals {
    UsageTotals {
        tokens: tokens(input, output, cache_read),
        cost_nano_usd: cost,
    }
}

#[test]
fn increase_is_the_growth_per_type_never_negative() {
    let counted = totals(100, 50, 0, 1_000);
    assert_eq!(
        increase(&counted, &snap(150, 50, 7, 1_500)),
        totals(50, 0, 7, 500)
    );
    // A lower (stale or reset) report adds nothing, type by type.
    assert_eq!(
        increase(&counted, &snap(90, 60, 0, 900)),
        totals(0, 10, 0, 0)
    );
    assert!(increase(&counted, &snap(100, 50, 0, 1_000)).is_zero());
}

#[test]
fn days_are_utc_dates() {
    assert_eq!(utc_day(0), "1970-01-01");
    // 2026-03-01T23:59:59.999Z and one millisecond later.
    assert_eq!(utc_day(1_772_409_599_999), "2026-03-01");
    assert_eq!(utc_day(1_772_409_600_000), "2026-03-02");
}

#[test]
fn reports_above_two_to_the_53_are_refused() {
    assert!(check_report(&snap(1, 2, 3, 4)).is_ok());
    let mut big = snap(0, 0, 0, 0);
    big.tokens.reasoning = MAX_REPORTED_VALUE + 1;
    assert!(check_report(&big).unwrap_err().contains("tokens.reasoning"));
    let mut sum = snap(MAX_REPORTED_VALUE, 1, 0, 0);
    sum.requests = 0;
    assert!(check_report(&sum).unwrap_err().contains("tokens total"));
}

#[test]
fn an_unwritten_batch_folds_into_newer_pending_usage() {
    let day = |d: &str, n: u64| (d.to_owned(), totals(n, 0, 0, n));
    let mut newer = Pending {
        usage: Arc::new(snap(30, 0, 0, 30)),
        received_at: 2,
        days: [day("2026-01-02", 10)].into_iter().collect(),
    };
    newer.absorb_older(Pending {
        usage: Arc::new(snap(20, 0, 0, 20)),
        received_at: 1,
        days: [day("2026-01-01", 5), day("2026-01-02", 15)]
            .into_iter()
            .collect(),
    });
    assert_eq!(newer.usage.tokens.input, 30, "the newer snapshot stays");
    assert_eq!(newer.received_at, 2);
    assert_eq!(
        newer.days,
        [day("2026-01-01", 5), day("2026-01-02", 25)]
            .into_iter()
            .collect()
    );
}

#[test]
fn query_parameters_are_validated() {
    let ok = parse_query(Some("agent"), Some("2026-01-31"), Some("2026-02-28")).unwrap();
    assert_eq!(ok.group_by, UsageGroupBy::Agent);
    assert_eq!(ok.range.from.as_deref(), Some("2026-01-31"));
    assert_eq!(
        parse_query(Some("day"), None, None).unwrap().range,
        DayRange::default()
    );
    for (group_by, from, to, needle) in [
        (None, None, None, "groupBy is required"),
        (
            Some("Host"),
            None,
            None,
            "not one of host, project, agent, day",
        ),
        (Some("day"), Some("2026-02-30"), None, "no such day"),
        (Some("day"), Some("2026-2-01"), None, "4, 2 and 2 digits"),
        (Some("day"), None, Some("2026/02/01"), "three parts"),
        (Some("day"), None, Some("+202-02-01"), "4, 2 and 2 digits"),
        (Some("day"), Some("2026-03-01"), Some("2026-02-01"), "after"),
    ] {
        let error = parse_query(group_by, from, to).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput);
        assert!(
            error.message.contains(needle),
            "{needle}: {}",
            error.message
        );
    }
}

#[test]
fn rows_sort_by_cost_and_days_by_date() {
    let row = |key: &str, cost: u64, input: u64| UsageRow {
        key: key.into(),
        label: key.into(),
        sessions: 1,
        tokens: tokens(input, 0, 0),
        cost_nano_usd: cost,
        unpriced_sessions: 0,
    };
    let mut rows = vec![
        row("a", 5, 1),
        row("b", 9, 1),
        row("c", 5, 3),
        row("d", 5, 3),
    ];
    sort_rows(UsageGroupBy::Host, &mut rows);
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["b", "c", "d", "a"]);
    let mut days = vec![row("2026-01-02", 9, 0), row("2026-01-01", 1, 0)];
    sort_rows(UsageGroupBy::Day, &mut days);
    assert_eq!(days[0].key, "2026-01-01");
}

// ---- in-process, real SQLite file ----

async fn send(app: &App, host: HostId, session: SessionId, usage: SessionUsage) {
    ingest(
        app,
        &Actor::Daemon(host),
        SessionUsageReport {
            session_id: session,
            usage,
        },
    )
    .await
    .unwrap();
}

async fn day_rows(app: &App) -> Vec<UsageRow> {
    let query = parse_query(Some("day"), None, None).unwrap();
    report(app, &user(), &query).await.unwrap().rows
}

#[tokio::test]
async fn reports_are_written_in_batches_counted_per_day_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let today = utc_day(store::now_ms());
    let (laptop, id) = {
        let app = app_in(dir.path()).await;
        let laptop = host(&app, "laptop").await;
        let id = session(&app, laptop, "claude", "/src/app").await;
        send(&app, laptop, id, snap(100, 10, 0, 1_000)).await;
        send(&app, laptop, id, snap(250, 40, 5, 2_500)).await;
        // Nothing reached the database yet, but the session shows the latest.
        assert_eq!(app.store.session_usage(id).await.unwrap(), None);
        let shown = crate::sessions::get(&app, &user(), id)
            .await
            .unwrap()
            .usage
            .unwrap();
        assert_eq!(shown.tokens, tokens(250, 40, 5));
        app.usage.flush(&app.store).await.unwrap();
        assert_eq!(
            app.store.session_usage(id).await.unwrap().unwrap().tokens,
            tokens(250, 40, 5)
        );
        // A stale, lower report is shown but counts nothing; growth past the
        // high mark counts again.
        send(&app, laptop, id, snap(200, 40, 5, 2_000)).await;
        send(&app, laptop, id, snap(300, 40, 5, 3_000)).await;
        app.usage.flush(&app.store).await.unwrap();
        let rows = day_rows(&app).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, today);
        assert_eq!(rows[0].tokens, tokens(300, 40, 5));
        assert_eq!(rows[0].cost_nano_usd, 3_000);
        app.shutdown.cancel();
        (laptop, id)
    };

    // A new hub on the same file: the usage is there, the counters resume
    // from it and the next report adds only its growth.
    let app = app_in(dir.path()).await;
    let listed = crate::sessions::list(&app, &user(), None).await.unwrap();
    assert_eq!(listed[0].usage.as_ref().unwrap().tokens, tokens(300, 40, 5));
    let metrics = app.metrics.render(&app).await.unwrap();
    assert!(
        metrics.contains(
            "flotilla_tokens_total{agent=\"claude\",host=\"laptop\",type=\"input\"} 300\n"
        ),
        "{metrics}"
    );
    send(&app, laptop, id, snap(320, 40, 5, 3_200)).await;
    app.usage.flush(&app.store).await.unwrap();
    let rows = day_rows(&app).await;
    assert_eq!(rows[0].tokens, tokens(320, 40, 5));
    assert_eq!(rows[0].cost_nano_usd, 3_200);
    let metrics = app.metrics.render(&app).await.unwrap();
    assert!(
        metrics.contains(
            "flotilla_tokens_total{agent=\"claude\",host=\"laptop\",type=\"input\"} 320\n"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("flotilla_cost_usd_total{agent=\"claude\",host=\"laptop\"} 0.0000032\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn foreign_unknown_and_oversized_reports_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path()).await;
    let mine = host(&app, "mine").await;
    let other = host(&app, "other").await;
    let id = session(&app, mine, "bash", "/src/a").await;
    send(&app, other, id, snap(10, 0, 0, 10)).await;
    send(&app, mine, SessionId::new(), snap(10, 0, 0, 10)).await;
    send(&app, mine, id, snap(MAX_REPORTED_VALUE + 1, 0, 0, 10)).await;
    app.usage.flush(&app.store).await.unwrap();
    assert_eq!(app.store.session_usage(id).await.unwrap(), None);
    assert!(day_rows(&app).await.is_empty());
    // Once the owner has reported, the other host is still refused.
    send(&app, mine, id, snap(5, 0, 0, 5)).await;
    send(&app, other, id, snap(50, 0, 0, 50)).await;
    app.usage.flush(&app.store).await.unwrap();
    assert_eq!(day_rows(&app).await[0].tokens, tokens(5, 0, 0));
}

#[tokio::test]
async fn a_deleted_session_does_not_block_the_flush_of_others() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path()).await;
    let doomed_host = host(&app, "doomed").await;
    let kept_host = host(&app, "kept").await;
    let doomed = session(&app, doomed_host, "bash", "/src/a").await;
    let kept = session(&app, kept_host, "bash", "/src/b").await;
    send(&app, doomed_host, doomed, snap(10, 0, 0, 10)).await;
    send(&app, kept_host, kept, snap(20, 0, 0, 20)).await;
    // Deleted in the database while its usage waits in memory.
    assert!(app.store.delete_host(doomed_host).await.unwrap());
    app.usage.flush(&app.store).await.unwrap();
    assert_eq!(
        app.store.session_usage(kept).await.unwrap().unwrap().tokens,
        tokens(20, 0, 0)
    );
    assert_eq!(app.store.session_usage(doomed).await.unwrap(), None);
    assert_eq!(day_rows(&app).await[0].tokens, tokens(20, 0, 0));
}

#[tokio::test]
async fn reports_group_by_host_project_agent_and_day_with_exact_sums() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path()).await;
    let laptop = host(&app, "laptop").await;
    let server = host(&app, "server").await;
    let a = session(&app, laptop, "claude", "/src/app").await;
    let b = session(&app, laptop, "codex", "/src/app").await;
    let c = session(&app, server, "claude", "/src/lib").await;
    let _idle = session(&app, server, "claude", "/src/lib").await;
    send(&app, laptop, a, snap(100, 10, 0, 5_000)).await;
    let mut unpriced = snap(200, 20, 0, 0);
    unpriced.unpriced_models = vec!["gpt-x".into()];
    send(&app, laptop, b, unpriced).await;
    send(&app, server, c, snap(300, 30, 0, 7_000)).await;
    let query = |group_by: &str| parse_query(Some(group_by), None, None).unwrap();

    let by_host = report(&app, &user(), &query("host")).await.unwrap();
    let summary: Vec<(String, String, u64, u64, u64, u64)> = by_host
        .rows
        .iter()
        .map(|r| {
            (
                r.key.clone(),
                r.label.clone(),
                r.sessions,
                r.tokens.input,
                r.cost_nano_usd,
                r.unpriced_sessions,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (server.to_string(), "server".into(), 1, 300, 7_000, 0),
            (laptop.to_string(), "laptop".into(), 2, 300, 5_000, 1),
        ]
    );
    assert_eq!(by_host.total.sessions, 3);
    assert_eq!(by_host.total.tokens, tokens(600, 60, 0));
    assert_eq!(by_host.total.cost_nano_usd, 12_000);
    assert_eq!(by_host.total.unpriced_sessions, 1);

    let by_agent = report(&app, &user(), &query("agent")).await.unwrap();
    let agents: Vec<(&str, u64, u64)> = by_agent
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.sessions, r.tokens.input))
        .collect();
    assert_eq!(agents, [("claude", 2, 400), ("codex", 1, 200)]);

    let by_project = report(&app, &user(), &query("project")).await.unwrap();
    let projects: Vec<(&str, u64)> = by_project
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.cost_nano_usd))
        .collect();
    assert_eq!(projects, [("/src/lib", 7_000), ("/src/app", 5_000)]);

    let today = utc_day(store::now_ms());
    let in_range = parse_query(Some("day"), Some(&today), Some(&today)).unwrap();
    let by_day = report(&app, &user(), &in_range).await.unwrap();
    assert_eq!(by_day.rows.len(), 1);
    assert_eq!(by_day.rows[0].sessions, 3);
    assert_eq!(by_day.rows[0].tokens.output, 60);
    let before = parse_query(Some("day"), None, Some("2000-01-01")).unwrap();
    let empty = report(&app, &user(), &before).await.unwrap();
    assert!(empty.rows.is_empty());
    assert_eq!(empty.total.sessions, 0);
}

#[tokio::test]
async fn ended_sessions_leave_memory_after_their_flush_and_keep_counting_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path()).await;
    let laptop = host(&app, "laptop").await;
    let id = session(&app, laptop, "claude", "/src/app").await;
    let in_memory = |app: &App| app.usage.inner.lock().unwrap().sessions.contains_key(&id);
    send(&app, laptop, id, snap(100, 10, 0, 1_000)).await;
    crate::sessions::end_session(
        &app,
        id,
        flotilla_protocol::rest::SessionState::Exited,
        Some(0),
        None,
        None,
    )
    .await
    .unwrap();
    assert!(in_memory(&app), "kept until its usage is written");
    app.usage.flush(&app.store).await.unwrap();
    assert!(!in_memory(&app));
    let shown = crate::sessions::get(&app, &user(), id)
        .await
        .unwrap()
        .usage
        .unwrap();
    assert_eq!(shown.tokens, tokens(100, 10, 0));
    // A final report after the exit still counts only its growth.
    send(&app, laptop, id, snap(120, 10, 0, 1_200)).await;
    app.usage.flush(&app.store).await.unwrap();
    let rows = day_rows(&app).await;
    assert_eq!(rows[0].tokens, tokens(120, 10, 0));
    assert_eq!(rows[0].cost_nano_usd, 1_200);
    app.shutdown.cancel();
}
