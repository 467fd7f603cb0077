//! A REST client for the hub that keeps the login cookie, as a browser would.

use flotilla_protocol::rest::{HostSummary, HostWithToken, SessionSummary};
use flotilla_protocol::{HostId, SESSION_COOKIE, SessionId};
use reqwest::StatusCode;
use serde_json::Value;

/// The hub's REST API at one base URL.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Api {
    /// A client with no login.
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            cookie: None,
        }
    }

    /// Logs in as the admin the harness's hubs are started with.
    pub async fn login(base: &str) -> Api {
        Api::login_as(base, "admin", crate::process::ADMIN_PASSWORD).await
    }

    /// Logs in as `username` and keeps the cookie.
    pub async fn login_as(base: &str, username: &str, password: &str) -> Api {
        let mut api = Api::new(base);
        let response = api
            .http
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login failed");
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(SESSION_COOKIE))
            .expect("login sets the session cookie")
            .split(';')
            .next()
            .expect("cookie pair")
            .to_owned();
        api.cookie = Some(cookie);
        api
    }

    /// The `Cookie` header value of the login.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Sends a request and returns the status and JSON body (`Null` if empty).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("http request");
        let status = response.status();
        let text = response.text().await.expect("response body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a host and returns it with its token.
    pub async fn create_host(&self, name: &str) -> HostWithToken {
        let (status, body) = self
            .request(
                "POST",
                "/api/hosts",
                Some(serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        serde_json::from_value(body).expect("HostWithToken")
    }

    /// One host as listed.
    pub async fn host(&self, id: HostId) -> Option<HostSummary> {
        let (status, body) = self.request("GET", "/api/hosts", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let hosts: Vec<HostSummary> = serde_json::from_value(body).expect("hosts");
        hosts.into_iter().find(|h| h.id == id)
    }

    /// Spawns a session; returns the status and body.
    pub async fn spawn(
        &self,
        host: HostId,
        profile: &str,
        project: &str,
        size: Option<(u16, u16)>,
    ) -> (StatusCode, Value) {
        let mut body = serde_json::json!({"hostId": host, "profile": profile, "project": project});
        if let Some((cols, rows)) = size {
            body["size"] = serde_json::json!({"cols": cols, "rows": rows});
        }
        self.request("POST", "/api/sessions", Some(body)).await
    }

    /// Spawns a session that must succeed.
    pub async fn spawn_ok(&self, host: HostId, profile: &str, project: &str) -> SessionSummary {
        let (status, body) = self.spawn(host, profile, project, Some((80, 24))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        serde_json::from_value(body).expect("SessionSummary")
    }

    /// Rotates a host's token; returns the new one.
    pub async fn rotate_token(&self, host: HostId) -> String {
        let (status, body) = self
            .request("POST", &format!("/api/hosts/{host}/rotate-token"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// One session.
    pub async fn session(&self, id: SessionId) -> SessionSummary {
        let (status, body) = self
            .request("GET", &format!("/api/sessions/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("SessionSummary")
    }
}
