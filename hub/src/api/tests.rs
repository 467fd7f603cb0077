//! In-process tests of the REST API: real router, real SQLite file.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use flotilla_protocol::daemon_to_hub::{HostInventory, ProfileInfo};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::*;
use crate::auth::OriginPolicy;
use crate::config::HubConfig;

struct TestHub {
    app: Arc<App>,
    router: Router,
    cookie: Option<String>,
    _dir: tempfile::TempDir,
}

async fn hub() -> TestHub {
    let dir = tempfile::tempdir().unwrap();
    let config = HubConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        database_url: format!("sqlite://{}?mode=rwc", dir.path().join("hub.db").display()),
        origin: OriginPolicy::SameHost,
        secure_cookies: false,
        static_dir: dir.path().join("static"),
        admin_password: Some(Secret::new("admin-password")),
        spawn_timeout: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(1),
        usage_flush_interval: Duration::from_secs(1),
        login_ttl: Duration::from_secs(3600),
        handshake_timeout: crate::admission::CONNECT_TIMEOUT,
        metrics_token: None,
        metrics_listen: None,
    };
    let (app, router) = crate::build(config, CancellationToken::new())
        .await
        .unwrap();
    TestHub {
        app,
        router,
        cookie: None,
        _dir: dir,
    }
}

impl TestHub {
    async fn send(
        &self,
        method: &str,
        uri: &str,
        body: Option<serde_json::Value>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, serde_json::Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "127.0.0.1:8080");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }

    async fn login(&mut self) {
        let (status, headers, body) = self
            .send(
                "POST",
                "/api/login",
                Some(serde_json::json!({"username": "admin", "password": "admin-password"})),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = headers[SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    }

    async fn host_with_inventory(&self) -> HostId {
        let (status, _, body) = self
            .send(
                "POST",
                "/api/hosts",
                Some(serde_json::json!({"name": "box"})),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id: HostId = body["host"]["id"].as_str().unwrap().parse().unwrap();
        let inventory = HostInventory {
            hostname: "box".into(),
            daemon_version: "test".into(),
            project_roots: vec!["/srv/src".into()],
            profiles: vec![ProfileInfo {
                name: "bash".into(),
                display_name: "Bash".into(),
                color: "#fff".into(),
                supports_resume: false,
                problems: vec![],
                mcp_configs: vec![],
            }],
            projects: vec![],
            profile_errors: vec![],
        };
        self.app
            .store
            .record_host_seen(id, Some(&inventory))
            .await
            .unwrap();
        id
    }
}

#[tokio::test]
async fn healthz_is_public_and_everything_else_needs_a_login() {
    let hub = hub().await;
    let (status, _, body) = hub.send("GET", "/healthz", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["protocolVersion"], PROTOCOL_VERSION);
    for (method, uri) in [
        ("GET", "/api/hosts"),
        ("GET", "/api/sessions"),
        ("GET", "/api/me"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/usage?groupBy=day"),
        ("GET", "/metrics"),
        ("POST", "/api/hosts"),
    ] {
        let body = (method == "POST").then(|| serde_json::json!({"name": "x"}));
        let (status, _, error) = hub.send(method, uri, body, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert_eq!(error["code"], "unauthorized");
    }
}

#[tokio::test]
async fn login_logout_cycle() {
    let mut hub = hub().await;
    let (status, _, body) = hub
        .send(
            "POST",
            "/api/login",
            Some(serde_json::json!({"username": "admin", "password": "nope"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "wrong user name or password");
    hub.login().await;
    let (status, _, me) = hub.send("GET", "/api/me", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "admin");
    let (status, headers, _) = hub.send("POST", "/api/logout", None, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let (status, _, _) = hub.send("GET", "/api/me", None, &[]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old cookie is revoked"
    );
    let (status, _, body) = hub.send("POST", "/api/logout", None, &[]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "logging out twice: {body}"
    );
    hub.cookie = None;
    let (status, _, _) = hub.send("POST", "/api/logout", None, &[]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "logging out without a login"
    );
}

#[tokio::test]
async fn repeated_wrong_passwords_are_answered_429_with_retry_after() {
    let mut hub = hub().await;
    let wrong = || Some(serde_json::json!({"username": "admin", "password": "wrong"}));
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let (status, headers, body) = hub.send("POST", "/api/login", wrong(), &[]).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 = headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=900).contains(&retry_after), "{retry_after}");
            assert!(
                body["message"].as_str().unwrap().contains("try again"),
                "{body}"
            );
            assert_eq!(body["code"], "rate_limited", "{body}");
        }
        statuses.push(status.as_u16());
    }
    let free = crate::throttle::FREE_ACCOUNT_FAILURES as usize + 1;
    assert!(statuses[..free].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[free..].iter().all(|s| *s == 429), "{statuses:?}");
    // While the account waits, even the right password is not checked.
    let (status, _, _) = hub
        .send(
            "POST",
            "/api/login",
            Some(serde_json::json!({"username": "admin", "password": "admin-password"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another account is not affected (no client address in-process).
    let (status, _, _) = hub
        .send(
            "POST",
            "/api/login",
            Some(serde_json::json!({"username": "nobody", "password": "x"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    hub.app.throttle.succeeded("admin");
    hub.login().await;
}

#[tokio::test]
async fn host_tokens_are_shown_once_and_stored_hashed() {
    let mut hub = hub().await;
    hub.login().await;
    let (status, _, created) = hub
        .send(
            "POST",
            "/api/hosts",
            Some(serde_json::json!({"name": "laptop"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["token"].as_str().unwrap().to_owned();
    let id: HostId = created["host"]["id"].as_str().unwrap().parse().unwrap();
    // Only the token's hash is stored: the host is found by the hash, not
    // by the token itself.
    let store = &hub.app.store;
    assert!(store.find_host_by_token(&token).await.unwrap().is_none());
    let found = store.find_host_by_token(&auth::token_hash(&token)).await;
    assert_eq!(found.unwrap().unwrap().id, id);
    let (_, _, list) = hub.send("GET", "/api/hosts", None, &[]).await;
    assert!(
        !list.to_string().contains(&token),
        "listing never shows the token"
    );
    assert_eq!(list[0]["online"], false);

    let (status, _, duplicate) = hub
        .send(
            "POST",
            "/api/hosts",
            Some(serde_json::json!({"name": "laptop"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{duplicate}");
    let (status, _, bad) = hub
        .send(
            "POST",
            "/api/hosts",
            Some(serde_json::json!({"name": "no spaces"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let (status, _, rotated) = hub
        .send("POST", &format!("/api/hosts/{id}/rotate-token"), None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(rotated["token"], created["token"]);
    assert!(
        hub.app
            .store
            .find_host_by_token(&auth::token_hash(&token))
            .await
            .unwrap()
            .is_none()
    );

    let (status, _, _) = hub
        .send("DELETE", &format!("/api/hosts/{id}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = hub
        .send("DELETE", &format!("/api/hosts/{id}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn foreign_origins_cannot_write() {
    let mut hub = hub().await;
    hub.login().await;
    let (status, _, body) = hub
        .send(
            "POST",
            "/api/hosts",
            Some(serde_json::json!({"name": "x"})),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");
    let (status, _, _) = hub
        .send(
            "POST",
            "/api/hosts",
            Some(serde_json::json!({"name": "x"})),
            &[("origin", "http://127.0.0.1:8080")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_bodies_get_specific_errors() {
    let mut hub = hub().await;
    hub.login().await;
    let (status, _, body) = hub
        .send(
            "POST",
            "/api/hosts",
            Some(serde_json::json!({"nom": "x"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
    let big = "x".repeat(MAX_BODY_BYTES + 1);
    let (status, _, body) = hub
        .send(
            "POST",
            "/api/hosts",
            Some(serde_json::json!({"name": big})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "too_large");
    let (status, _, body) = hub.send("GET", "/api/sessions/not-a-uuid", None, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = hub.send("GET", "/api/nothing-here", None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn spawn_validates_host_profile_project_and_presence() {
    let mut hub = hub().await;
    hub.login().await;
    let host = hub.host_with_inventory().await;
    let spawn = |host: String, profile: &str, project: &str| serde_json::json!({"hostId": host, "profile": profile, "project": project});

    let (status, _, body) = hub
        .send(
            "POST",
            "/api/sessions",
            Some(spawn(HostId::new().to_string(), "bash", "/srv/src/a")),
            &[],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{body}"
    );
    let (status, _, body) = hub
        .send(
            "POST",
            "/api/sessions",
            Some(spawn(host.to_string(), "nope", "/srv/src/a")),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("available: bash"),
        "{body}"
    );
    let (status, _, body) = hub
        .send(
            "POST",
            "/api/sessions",
            Some(spawn(host.to_string(), "bash", "/etc")),
            &[],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("outside_project_root")),
        "{body}"
    );
    let (status, _, body) = hub
        .send(
            "POST",
            "/api/sessions",
            Some(spawn(host.to_string(), "bash", "/srv/src/a")),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "offline host: {body}");
    assert!(body["message"].as_str().unwrap().contains("offline"));
    let mut sized = spawn(host.to_string(), "bash", "/srv/src/a");
    sized["size"] = serde_json::json!({"cols": 0, "rows": 10});
    let (status, _, _) = hub.send("POST", "/api/sessions", Some(sized), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Nothing was recorded for refused spawns.
    let (_, _, sessions) = hub.send("GET", "/api/sessions", None, &[]).await;
    assert_eq!(sessions, serde_json::json!([]));
}

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let mut hub = hub().await;
    hub.login().await;
    let (status, _, doc) = hub.send("GET", "/api/openapi.json", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/login",
        "/api/hosts",
        "/api/hosts/{id}/rotate-token",
        "/api/sessions",
        "/api/sessions/{id}/stop",
        "/api/usage",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(doc["components"]["schemas"].get("SpawnRequest").is_some());
    assert!(doc["components"]["schemas"].get("UsageReport").is_some());
    let params: Vec<&str> = doc["paths"]["/api/usage"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["groupBy", "from", "to"]);
}

/// Every answer the router can give is in the document: the shared ones by
/// route kind, ids as UUIDs, the `groupBy` enum, sizes and host names with
/// their ranges. (`scripts/api-fuzz` checks the same against the live hub.)
#[test]
fn openapi_document_names_every_shared_answer_and_range() {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let has = |status: &str| op["responses"].get(status).is_some();
            let public = doc::PUBLIC.contains(&path.as_str());
            // A public route has no login to lack (login's own 401 is a wrong password).
            assert!(public || has("401"), "{method} {path}: 401");
            assert_eq!(
                public,
                op["security"] == serde_json::json!([]),
                "{method} {path}"
            );
            assert_eq!(method != "get", has("403"), "{method} {path}: 403");
            let body = op.get("requestBody").is_some();
            for status in ["413", "415"] {
                assert_eq!(body, has(status), "{method} {path}: {status}");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            assert_eq!(
                body || !params.is_empty(),
                has("400"),
                "{method} {path}: 400"
            );
            assert!(has("500"), "{method} {path}: 500");
            for param in params.iter().filter(|p| p["in"] == "path") {
                assert_eq!(
                    param["schema"]["format"], "uuid",
                    "{method} {path}: {param}"
                );
                assert_eq!(param["required"], true, "{method} {path}");
            }
        }
    }
    assert_eq!(operations, 20);
    let metrics = &doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(
        metrics
            .get(crate::metrics::CONTENT_TYPE_OPENMETRICS)
            .is_some(),
        "{metrics}"
    );
    let login_429 = &doc["paths"]["/api/login"]["post"]["responses"]["429"];
    assert!(
        login_429["headers"].get("Retry-After").is_some(),
        "{login_429}"
    );
    let usage = doc["paths"]["/api/usage"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert_eq!(usage[0]["required"], true);
    assert_eq!(
        usage[0]["schema"]["$ref"],
        "#/components/schemas/UsageGroupBy"
    );
    assert_eq!(usage[1]["schema"]["format"], "date");
    let groups = &doc["components"]["schemas"]["UsageGroupBy"]["enum"];
    assert_eq!(
        groups,
        &serde_json::json!(["host", "project", "agent", "day"])
    );
    let size = &doc["components"]["schemas"]["TermSizeSchema"]["properties"];
    for dimension in ["cols", "rows"] {
        assert_eq!(size[dimension]["minimum"], 1);
        assert_eq!(
            size[dimension]["maximum"],
            flotilla_protocol::MAX_TERMINAL_DIMENSION
        );
    }
    let name = &doc["components"]["schemas"]["CreateHostRequest"]["properties"]["name"];
    assert_eq!(name["pattern"], "^[A-Za-z0-9._-]{1,64}$");
    for (candidate, valid) in [
        ("a", true),
        ("web-1.prod_2", true),
        ("", false),
        ("a b", false),
    ] {
        assert_eq!(
            crate::hosts::validate_name(candidate).is_ok(),
            valid,
            "{candidate:?}"
        );
    }
    assert!(crate::hosts::validate_name(&"x".repeat(64)).is_ok());
    assert!(crate::hosts::validate_name(&"x".repeat(65)).is_err());
    for id in ["Me", "HostSummary", "SessionSummary"] {
        let schema = &doc["components"]["schemas"][id]["properties"]["id"];
        assert_eq!(schema["format"], "uuid", "{id}");
    }
}

#[tokio::test]
async fn usage_report_parameters_get_specific_errors() {
    let mut hub = hub().await;
    hub.login().await;
    for (query, needle) in [
        ("", "groupBy is required"),
        ("?groupBy=model", "groupBy \"model\" is not one of"),
        (
            "?groupBy=day&from=2026-13-01",
            "from \"2026-13-01\" is not a date",
        ),
        ("?groupBy=day&to=26-01-01", "to \"26-01-01\" is not a date"),
        ("?groupBy=day&from=2026-02-02&to=2026-02-01", "is after"),
    ] {
        let (status, _, body) = hub
            .send("GET", &format!("/api/usage{query}"), None, &[])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], "invalid_input", "{query}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{query}: {body}"
        );
    }
    let (status, _, body) = hub
        .send(
            "GET",
            "/api/usage?groupBy=host&from=2026-01-01&to=2026-01-01",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["groupBy"], "host");
    assert_eq!(body["rows"], serde_json::json!([]));
    assert_eq!(body["total"]["sessions"], 0);
}

/// Records a session on a new host and, unless `live`, ends it.
async fn recorded_session(hub: &TestHub, host_name: &str, live: bool) -> (HostId, SessionId) {
    let host = hub
        .app
        .store
        .create_host(host_name, &format!("hash-{host_name}"))
        .await
        .unwrap()
        .unwrap();
    let host_id: HostId = host.id;
    let id = SessionId::new();
    hub.app
        .store
        .insert_session(crate::store::NewSession {
            id,
            host_id,
            profile: "bash".into(),
            project: "/srv/app".into(),
            size: flotilla_protocol::TermSize::default(),
            created_by: "admin".into(),
        })
        .await
        .unwrap();
    hub.app.store.mark_running(id).await.unwrap();
    if !live {
        let end = crate::store::SessionEnd {
            state: flotilla_protocol::rest::SessionState::Exited,
            exit_code: Some(0),
            exit_signal: None,
            error: None,
        };
        hub.app.store.mark_ended(id, end).await.unwrap();
    }
    (host_id, id)
}

#[tokio::test]
async fn ended_sessions_are_archived_and_restored_on_the_server() {
    let mut hub = hub().await;
    hub.login().await;
    let (host, ended) = recorded_session(&hub, "one", false).await;
    let (_, live) = recorded_session(&hub, "two", true).await;
    let (status, _, body) = hub
        .send("POST", &format!("/api/sessions/{ended}/archive"), None, &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["archivedAt"].is_string(), "{body}");
    // The list still holds it, marked, for every browser.
    let (_, _, list) = hub.send("GET", "/api/sessions", None, &[]).await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == ended.to_string());
    assert!(listed.unwrap()["archivedAt"].is_string(), "{list}");
    // A live session cannot be archived.
    let (status, _, body) = hub
        .send("POST", &format!("/api/sessions/{live}/archive"), None, &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("stop it first"),
        "{body}"
    );
    // Restoring takes it out of the archive.
    let (status, _, body) = hub
        .send(
            "DELETE",
            &format!("/api/sessions/{ended}/archive"),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["archivedAt"].is_null(), "{body}");
    let unknown = SessionId::new();
    let (status, _, _) = hub
        .send(
            "POST",
            &format!("/api/sessions/{unknown}/archive"),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Archive everything ended: only the ended one, and only once.
    let all = Some(serde_json::json!({}));
    let (status, _, body) = hub
        .send("POST", "/api/sessions/archive", all.clone(), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessionIds"], serde_json::json!([ended.to_string()]));
    let (_, _, body) = hub.send("POST", "/api/sessions/archive", all, &[]).await;
    assert_eq!(body["sessionIds"], serde_json::json!([]));
    let (_, _, one) = hub
        .send("GET", &format!("/api/sessions/{live}"), None, &[])
        .await;
    assert!(one["archivedAt"].is_null(), "{one}");
    // Per host; an unknown host is a 404.
    let (status, _, _) = hub
        .send(
            "POST",
            "/api/sessions/archive",
            Some(serde_json::json!({"hostId": HostId::new()})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = hub
        .send(
            "POST",
            "/api/sessions/archive",
            Some(serde_json::json!({"hostId": host})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_refused() {
    let mut hub = hub().await;
    hub.login().await;
    for (path, body) in [
        ("/api/hosts", serde_json::json!(["web-1"])),
        ("/api/sessions/archive", serde_json::json!([])),
        ("/api/login", serde_json::json!(["admin", "admin-password"])),
        ("/api/hosts", serde_json::json!("web-1")),
    ] {
        let (status, _, reply) = hub.send("POST", path, Some(body.clone()), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {reply}");
        assert_eq!(reply["code"], "invalid_input");
        assert!(
            reply["message"].as_str().unwrap().contains("JSON object"),
            "{reply}"
        );
    }
    let (_, _, hosts) = hub.send("GET", "/api/hosts", None, &[]).await;
    assert_eq!(hosts, serde_json::json!([]), "nothing was created");
}
