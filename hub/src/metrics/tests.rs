//! Tests of `/metrics`: who may read it and that it shows exact totals,
//! through the real router with a real SQLite file.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use flotilla_protocol::usage::{SessionUsage, SessionUsageReport, TokenCounts};
use flotilla_protocol::{HostId, SessionId, TermSize};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::*;
use crate::config::{HubArgs, HubConfig};
use crate::store::NewSession;

const TOKEN: &str = "metrics-token-0123456789";

#[test]
fn tokens_match_only_exactly() {
    let expected = Secret::new(TOKEN);
    assert!(token_matches(TOKEN, &expected));
    assert!(!token_matches("metrics-token-012345678", &expected));
    assert!(!token_matches("", &expected));
}

async fn get(
    router: &Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder()
        .uri(uri)
        .header(header::HOST, "127.0.0.1:8080");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn metrics_need_a_login_or_the_token_and_show_exact_totals() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("metrics-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let args = HubArgs::try_parse_from([
        "flotilla-hub",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--static-dir",
        dir.path().join("static").to_str().unwrap(),
        "--metrics-token-file",
        token_file.to_str().unwrap(),
    ])
    .unwrap();
    let config = HubConfig::from_args(args, Some("admin-password".into())).unwrap();
    let (app, router) = crate::build(config, CancellationToken::new())
        .await
        .unwrap();

    let host: HostId = app
        .store
        .create_host("box", "hash")
        .await
        .unwrap()
        .unwrap()
        .id;
    let session = SessionId::new();
    app.store
        .insert_session(NewSession {
            id: session,
            host_id: host,
            profile: "claude".into(),
            project: "/src/app".into(),
            size: TermSize { cols: 80, rows: 24 },
            created_by: "admin".into(),
        })
        .await
        .unwrap();
    app.store.mark_running(session).await.unwrap();
    let usage = SessionUsage {
        tokens: TokenCounts {
            input: 1200,
            output: 340,
            cache_read: 5000,
            ..TokenCounts::default()
        },
        cost_nano_usd: 21_450_000,
        requests: 7,
        ..SessionUsage::default()
    };
    crate::usage::ingest(
        &app,
        &crate::actor::Actor::Daemon(host),
        SessionUsageReport {
            session_id: session,
            usage,
        },
    )
    .await
    .unwrap();

    let (status, headers, body) = get(&router, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(headers[WWW_AUTHENTICATE], "Bearer");
    let wrong = format!("Bearer {TOKEN}x");
    let (status, _, _) = get(&router, "/metrics", &[("authorization", &wrong)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let right = format!("Bearer {TOKEN}");
    let (status, headers, text) = get(&router, "/metrics", &[("authorization", &right)]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers[CONTENT_TYPE], CONTENT_TYPE_OPENMETRICS);
    for line in [
        "flotilla_sessions{state=\"running\"} 1",
        "flotilla_sessions{state=\"exited\"} 0",
        "flotilla_hosts_online 0",
        "flotilla_tokens_total{agent=\"claude\",host=\"box\",type=\"input\"} 1200",
        "flotilla_tokens_total{agent=\"claude\",host=\"box\",type=\"output\"} 340",
        "flotilla_tokens_total{agent=\"claude\",host=\"box\",type=\"cache_read\"} 5000",
        "flotilla_cost_usd_total{agent=\"claude\",host=\"box\"} 0.02145",
        "flotilla_otlp_requests_total{agent=\"claude\",host=\"box\"} 7",
        "# EOF",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(
        !text.contains("type=\"reasoning\""),
        "zero types are not invented"
    );

    // The separate listener's router needs nothing.
    let (status, _, open) = get(&open_router(app.clone()), "/metrics", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(open.contains("flotilla_cost_usd_total"));
    app.shutdown.cancel();
}
