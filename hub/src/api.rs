//! The REST API under `/api`, `/healthz`, the OpenAPI document and the
//! static frontend. A transport: each handler parses, calls a use case
//! (`sessions`, `hosts`, `usage`) as the request's user, and renders; the
//! error type is `error::ApiError`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flotilla_protocol::rest::{
    ArchiveEndedRequest, ArchivedSessions, CreateHostRequest, DiscardWorktreeRequest, Health,
    HostSummary, HostWithToken, LoginRequest, Me, SessionSummary, SpawnRequest,
};
use flotilla_protocol::usage::{UsageGroupBy, UsageReport};
use flotilla_protocol::worktree::WorktreeStatus;
use flotilla_protocol::{
    ErrorBody, ErrorCode, HostId, PROTOCOL_VERSION, SESSION_COOKIE, SessionId,
};
use serde::Deserialize;
use tower_http::services::{ServeDir, ServeFile};
use utoipa::OpenApi;

pub use doc::ApiDoc;

use crate::actor::Actor;
use crate::auth::{self, CurrentUser, Secret};
use crate::error::ApiError;
use crate::{App, hosts, sessions, worktrees};

/// Largest request body the API accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `Json` whose rejections become [`ApiError`]s with a specific message.
/// Every request body is a JSON object: serde would also read a struct from
/// an array of its fields, which no client means and the document forbids.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let value = match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::TooLarge
                } else {
                    ErrorCode::InvalidInput
                };
                return Err(ApiError {
                    status: if status == StatusCode::UNPROCESSABLE_ENTITY {
                        StatusCode::BAD_REQUEST
                    } else {
                        status
                    },
                    body: ErrorBody::new(code, rejection.body_text()),
                });
            }
        };
        if !value.is_object() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "the request body must be a JSON object",
            ));
        }
        serde_json::from_value(value).map(ApiJson).map_err(|error| {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!("invalid request body: {error}"),
            )
        })
    }
}

/// The whole HTTP surface except Socket.IO.
pub fn router(app: Arc<App>) -> Router {
    let index = app.config.static_dir.join("index.html");
    if !index.exists() {
        tracing::warn!(path = %index.display(), "frontend not built; the UI will not load");
    }
    let statics = ServeDir::new(&app.config.static_dir).fallback(ServeFile::new(index));
    let api = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/hosts", get(list_hosts).post(create_host))
        .route("/hosts/{id}", axum::routing::delete(delete_host))
        .route("/hosts/{id}/rotate-token", post(rotate_host_token))
        .route("/sessions", get(list_sessions).post(spawn_session))
        .route("/sessions/{id}", get(get_session))
        .route("/sessions/{id}/stop", post(stop_session))
        .route("/sessions/{id}/worktree", get(worktree_status))
        .route("/sessions/{id}/worktree/discard", post(discard_worktree))
        .route(
            "/sessions/{id}/archive",
            post(archive_session).delete(restore_session),
        )
        .route("/sessions/archive", post(archive_ended_sessions))
        .route("/usage", get(usage_report))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such API route") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(app.clone(), check_origin));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .nest("/api", api)
        .fallback_service(statics)
        .with_state(app)
}

/// Refuses state-changing API requests from a foreign browser origin.
async fn check_origin(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !app.config.origin.allows(request.headers()) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "cross-origin request refused: the Origin header does not match the hub's public URL",
        ));
    }
    Ok(next.run(request).await)
}

fn parse_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidInput,
            format!("{what} id {raw:?} is not a UUID"),
        )
    })
}

/// Liveness; public.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: PROTOCOL_VERSION,
    })
}

fn login_cookie(app: &App, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if app.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&cookie).expect("cookie is built from URL-safe characters")
}

/// Logs in and sets the session cookie. After repeated failures an account
/// or a client address must wait (429 with `Retry-After`; see `throttle`).
#[utoipa::path(post, path = "/api/login", request_body = LoginRequest,
    responses((status = 200, body = Me),
        (status = 401, body = ErrorBody, description = "Wrong user name or password."),
        (status = 429, body = ErrorBody, description = "Too many failed logins for this account or address.",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt.")))))]
async fn login(
    State(app): State<Arc<App>>,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if let Err(wait) = app.throttle.check(&request.username, address) {
        return Ok(too_many_attempts(wait));
    }
    let refused = || ApiError::new(ErrorCode::Unauthorized, "wrong user name or password");
    let password = Secret::new(request.password);
    let Some(user) = app.store.find_user(&request.username).await? else {
        // Spend the same time as a real check so user names cannot be probed.
        auth::hash_password(password).await?;
        app.throttle.failed(&request.username, address);
        return Err(refused());
    };
    if !auth::verify_password(password, user.password_hash.clone()).await? {
        app.throttle.failed(&request.username, address);
        tracing::info!(user = %request.username, ?address, "login failed: wrong password");
        return Err(refused());
    }
    app.throttle.succeeded(&request.username);
    let user = CurrentUser::from(user);
    let token = auth::new_token("");
    let ttl_ms = i64::try_from(app.config.login_ttl.as_millis()).unwrap_or(i64::MAX);
    app.store
        .create_login(
            &auth::token_hash(&token),
            user.id,
            crate::store::now_ms().saturating_add(ttl_ms),
        )
        .await?;
    tracing::info!(user = %user.username, "logged in");
    let mut response = Json(Me {
        id: user.id,
        username: user.username,
    })
    .into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, login_cookie(&app, &token, ttl_ms / 1000));
    Ok(response)
}

/// The client's IP address, when the server was started with connect info
/// (in-process tests using `oneshot` have none).
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// The 429 answer to a throttled login, with `Retry-After` in whole seconds.
fn too_many_attempts(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let body = ErrorBody::new(
        ErrorCode::RateLimited,
        format!("too many failed logins; try again in {seconds} s"),
    );
    let mut response = ApiError::from(body).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Revokes the current login and disconnects its browser sockets; 401
/// without a valid login, like every other route.
#[utoipa::path(post, path = "/api/logout", responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let unauthorized = || ApiError::new(ErrorCode::Unauthorized, "log in first");
    let hash = auth::session_cookie(&headers)
        .map(|cookie| auth::token_hash(&cookie))
        .ok_or_else(unauthorized)?;
    if app.store.find_login(&hash).await?.is_none() || !app.store.delete_login(&hash).await? {
        return Err(unauthorized());
    }
    auth::revoke_login(&app, &hash).await;
    tracing::info!("logged out");
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, login_cookie(&app, "", 0));
    Ok(response)
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(user: CurrentUser) -> Json<Me> {
    Json(Me {
        id: user.id,
        username: user.username,
    })
}

/// Every host with its status and inventory.
#[utoipa::path(get, path = "/api/hosts", responses((status = 200, body = Vec<HostSummary>)))]
async fn list_hosts(
    State(app): State<Arc<App>>,
    user: CurrentUser,
) -> Result<Json<Vec<HostSummary>>, ApiError> {
    Ok(Json(hosts::list(&app, &Actor::User(user)).await?))
}

/// Creates a host and returns its token once.
#[utoipa::path(post, path = "/api/hosts", request_body = CreateHostRequest,
    responses((status = 201, body = HostWithToken), (status = 409, body = ErrorBody)))]
async fn create_host(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    ApiJson(request): ApiJson<CreateHostRequest>,
) -> Result<(StatusCode, Json<HostWithToken>), ApiError> {
    let created = hosts::create(&app, &Actor::User(user), &request.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Issues a new token; the old one stops working and its daemon is disconnected.
#[utoipa::path(post, path = "/api/hosts/{id}/rotate-token", params(("id" = String, Path, format = Uuid, description = "The host's id.")),
    responses((status = 200, body = HostWithToken), (status = 404, body = ErrorBody)))]
async fn rotate_host_token(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<HostWithToken>, ApiError> {
    let id: HostId = parse_id(&id, "host")?;
    Ok(Json(
        hosts::rotate_token(&app, &Actor::User(user), id).await?,
    ))
}

/// Deletes a host and its session records, disconnecting its daemon.
#[utoipa::path(delete, path = "/api/hosts/{id}", params(("id" = String, Path, format = Uuid, description = "The host's id.")), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_host(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: HostId = parse_id(&id, "host")?;
    hosts::delete(&app, &Actor::User(user), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters for listing sessions.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
struct SessionFilter {
    /// Only sessions of this host.
    #[param(value_type = Option<String>, format = Uuid)]
    host_id: Option<String>,
}

/// Sessions, newest first.
#[utoipa::path(get, path = "/api/sessions", params(SessionFilter),
    responses((status = 200, body = Vec<SessionSummary>)))]
async fn list_sessions(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Query(filter): Query<SessionFilter>,
) -> Result<Json<Vec<SessionSummary>>, ApiError> {
    let host = filter
        .host_id
        .as_deref()
        .map(|raw| parse_id(raw, "host"))
        .transpose()?;
    Ok(Json(sessions::list(&app, &Actor::User(user), host).await?))
}

/// One session.
#[utoipa::path(get, path = "/api/sessions/{id}", params(("id" = String, Path, format = Uuid, description = "The session's id.")),
    responses((status = 200, body = SessionSummary), (status = 404, body = ErrorBody)))]
async fn get_session(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<SessionSummary>, ApiError> {
    let id: SessionId = parse_id(&id, "session")?;
    Ok(Json(sessions::get(&app, &Actor::User(user), id).await?))
}

/// Starts an agent session on a host and waits for the daemon to confirm it.
#[utoipa::path(post, path = "/api/sessions", request_body = SpawnRequest,
    responses((status = 201, body = SessionSummary),
        (status = 200, body = SessionSummary, description = "A retry: a session with the request's `id` exists for the same user, host, profile and project; nothing was started."),
        (status = 400, body = ErrorBody, description = "Malformed body, a size out of range, or a project outside the host's roots."),
        (status = 404, body = ErrorBody, description = "No such host, or the host does not offer the profile."),
        (status = 409, body = ErrorBody, description = "The host is offline, or the request's `id` belongs to another spawn."),
        (status = 413, body = ErrorBody, description = "The body is over 64 KiB or the prompt over 32 KiB."),
        (status = 422, body = ErrorBody, description = "The daemon could not start the process."),
        (status = 504, body = ErrorBody, description = "The daemon did not answer in time.")))]
async fn spawn_session(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    ApiJson(request): ApiJson<SpawnRequest>,
) -> Result<(StatusCode, Json<SessionSummary>), ApiError> {
    let spawned = sessions::spawn(&app, &Actor::User(user), request).await?;
    let status = if spawned.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(spawned.session)))
}

/// Asks the daemon to stop a session (SIGTERM, then SIGKILL after a grace period).
#[utoipa::path(post, path = "/api/sessions/{id}/stop", params(("id" = String, Path, format = Uuid, description = "The session's id.")),
    responses((status = 202, body = SessionSummary), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn stop_session(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SessionSummary>), ApiError> {
    let id: SessionId = parse_id(&id, "session")?;
    let summary = sessions::stop(&app, &Actor::User(user), id).await?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// The session's worktree as git on its host sees it now: ahead/behind,
/// changed, untracked and ignored files, commits on no other branch, and
/// the fingerprint a discard must quote. Read when asked, never polled.
#[utoipa::path(get, path = "/api/sessions/{id}/worktree",
    params(("id" = String, Path, format = Uuid, description = "The session's id.")),
    responses((status = 200, body = WorktreeStatus),
        (status = 404, body = ErrorBody, description = "No such session, or it has no worktree."),
        (status = 409, body = ErrorBody, description = "The host is offline, or the worktree was discarded."),
        (status = 504, body = ErrorBody, description = "The host did not answer in time.")))]
async fn worktree_status(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<WorktreeStatus>, ApiError> {
    let id: SessionId = parse_id(&id, "session")?;
    Ok(Json(worktrees::status(&app, &Actor::User(user), id).await?))
}

/// Removes an ended session's worktree (everything in its directory) and,
/// unless `keepBranch`, its branch. Only when the worktree is still in the
/// state whose fingerprint `confirm` quotes: show the user
/// `GET /api/sessions/{id}/worktree` first.
#[utoipa::path(post, path = "/api/sessions/{id}/worktree/discard", request_body = DiscardWorktreeRequest,
    params(("id" = String, Path, format = Uuid, description = "The session's id.")),
    responses((status = 200, body = SessionSummary),
        (status = 400, body = ErrorBody, description = "No confirmation, or the worktree is not a Flotilla worktree under a project root."),
        (status = 404, body = ErrorBody, description = "No such session, or it has no worktree."),
        (status = 409, body = ErrorBody, description = "The session still runs, the host is offline, the worktree was already discarded, or it changed since it was shown (nothing removed)."),
        (status = 504, body = ErrorBody, description = "The host did not answer in time.")))]
async fn discard_worktree(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<DiscardWorktreeRequest>,
) -> Result<Json<SessionSummary>, ApiError> {
    let id: SessionId = parse_id(&id, "session")?;
    Ok(Json(
        worktrees::discard(&app, &Actor::User(user), id, request).await?,
    ))
}

/// Archives an ended session: it is kept, with its output and usage, and
/// listed apart (the session list hides archived sessions by default).
#[utoipa::path(post, path = "/api/sessions/{id}/archive",
    params(("id" = String, Path, format = Uuid, description = "The session's id.")),
    responses((status = 200, body = SessionSummary),
        (status = 404, body = ErrorBody, description = "No such session."),
        (status = 409, body = ErrorBody, description = "The session has not ended; stop it first.")))]
async fn archive_session(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<SessionSummary>, ApiError> {
    let id: SessionId = parse_id(&id, "session")?;
    Ok(Json(
        sessions::set_archived(&app, &Actor::User(user), id, true).await?,
    ))
}

/// Takes a session out of the archive.
#[utoipa::path(delete, path = "/api/sessions/{id}/archive",
    params(("id" = String, Path, format = Uuid, description = "The session's id.")),
    responses((status = 200, body = SessionSummary),
        (status = 404, body = ErrorBody, description = "No such session."),
        (status = 409, body = ErrorBody, description = "The session has not ended.")))]
async fn restore_session(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<SessionSummary>, ApiError> {
    let id: SessionId = parse_id(&id, "session")?;
    Ok(Json(
        sessions::set_archived(&app, &Actor::User(user), id, false).await?,
    ))
}

/// Archives every ended session not archived yet, or those of one host.
#[utoipa::path(post, path = "/api/sessions/archive", request_body = ArchiveEndedRequest,
    responses((status = 200, body = ArchivedSessions),
        (status = 404, body = ErrorBody, description = "No such host.")))]
async fn archive_ended_sessions(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ArchiveEndedRequest>,
) -> Result<Json<ArchivedSessions>, ApiError> {
    let session_ids = sessions::archive_ended(&app, &Actor::User(user), request.host_id).await?;
    Ok(Json(ArchivedSessions { session_ids }))
}

/// Query parameters of `GET /api/usage`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct UsageParams {
    /// What to group by. Parsed by hand, for a specific message when absent
    /// or unknown.
    #[param(required = true, value_type = UsageGroupBy)]
    group_by: Option<String>,
    /// First UTC day included, `YYYY-MM-DD`; unbounded when absent.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// Last UTC day included, `YYYY-MM-DD`, not before `from`; unbounded when
    /// absent.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
}

/// Tokens and cost grouped by host, project, agent or UTC day, over an
/// optional inclusive day range. Rows are sorted by cost, largest first
/// (days by date); `total` sums them.
#[utoipa::path(get, path = "/api/usage", params(UsageParams),
    responses((status = 200, body = UsageReport), (status = 400, body = ErrorBody)))]
async fn usage_report(
    State(app): State<Arc<App>>,
    user: CurrentUser,
    params: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Json<UsageReport>, ApiError> {
    let Query(params) = params
        .map_err(|rejection| ApiError::new(ErrorCode::InvalidInput, rejection.body_text()))?;
    let query = crate::usage::parse_query(
        params.group_by.as_deref(),
        params.from.as_deref(),
        params.to.as_deref(),
    )?;
    Ok(Json(
        crate::usage::report(&app, &Actor::User(user), &query).await?,
    ))
}

/// Prometheus metrics, for a login or the metrics bearer token.
#[utoipa::path(get, path = "/metrics",
    security(("login" = []), ("metricsToken" = [])),
    responses((status = 200,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
        body = String, description = "Metrics in the OpenMetrics text format.")))]
async fn metrics(state: State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    crate::metrics::authenticated(state, headers).await
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json",
    responses((status = 200, body = Object, description = "The OpenAPI 3.1 document.")))]
async fn openapi(_user: CurrentUser) -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

mod doc;

#[cfg(test)]
mod tests;
