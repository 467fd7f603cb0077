//! The OpenAPI document of the REST API (`GET /api/openapi.json`).
//!
//! Each handler's `#[utoipa::path]` lists the answers that are its own
//! (e.g. 404 for an unknown host). The answers that every route of a kind
//! shares are added here by one rule each, the same rules the router
//! enforces, so that the document names every status a client can get:
//!
//! | answer | for | from |
//! |---|---|---|
//! | 401 | every route but [`PUBLIC`] | the `CurrentUser` extractor |
//! | 403 | every write | the `Origin` check (`check_origin`) |
//! | 400, 413, 415 | a route with a JSON body | `ApiJson` and the body limit |
//! | 400 | a route with path or query parameters | `parse_id` and query parsing |
//! | 500 | every route | `ApiError` from an internal error |
//!
//! `scripts/api-fuzz` checks the result against the running hub with a
//! schema-driven fuzzer.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, PathItem, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use flotilla_protocol::SESSION_COOKIE;
use flotilla_protocol::{ErrorBody, ErrorCode};

use super::{
    __path_archive_ended_sessions, __path_archive_session, __path_create_host, __path_delete_host,
    __path_discard_worktree, __path_get_session, __path_healthz, __path_list_hosts,
    __path_list_sessions, __path_login, __path_logout, __path_me, __path_metrics, __path_openapi,
    __path_restore_session, __path_rotate_host_token, __path_spawn_session, __path_stop_session,
    __path_usage_report, __path_worktree_status,
};

/// The name of the login security scheme in the document.
pub const LOGIN_SCHEME: &str = "login";

/// The name of the metrics token scheme (`/metrics` only).
pub const METRICS_SCHEME: &str = "metricsToken";

/// Routes that answer without a login.
pub const PUBLIC: &[&str] = &["/healthz", "/api/login"];

/// The OpenAPI description of the REST API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Flotilla hub API",
        description = "Control plane for AI coding agents. Every error is an `ErrorBody`; \
            `code` is stable, `message` is for people."
    ),
    paths(
        healthz,
        metrics,
        login,
        logout,
        me,
        list_hosts,
        create_host,
        rotate_host_token,
        delete_host,
        list_sessions,
        get_session,
        spawn_session,
        stop_session,
        worktree_status,
        discard_worktree,
        archive_session,
        restore_session,
        archive_ended_sessions,
        usage_report,
        openapi
    ),
    components(schemas(ErrorBody, ErrorCode)),
    modifiers(&SharedAnswers)
)]
pub struct ApiDoc;

/// Adds the login scheme and the answers every route of a kind shares.
struct SharedAnswers;

impl Modify for SharedAnswers {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            LOGIN_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The login cookie set by `POST /api/login`.",
            ))),
        );
        components.add_security_scheme(
            METRICS_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The token in the hub's `--metrics-token-file`."))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            for (write, operation) in operations(item) {
                add_shared_answers(operation, public, write);
            }
        }
    }
}

/// The operations of a path, each with whether it changes state.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, item.get.as_mut()),
        (true, item.post.as_mut()),
        (true, item.put.as_mut()),
        (true, item.patch.as_mut()),
        (true, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(write, operation)| operation.map(|operation| (write, operation)))
}

fn add_shared_answers(operation: &mut Operation, public: bool, write: bool) {
    if public {
        operation.security = Some(Vec::new());
    } else {
        // A route that names its own schemes (`/metrics`) keeps them.
        operation.security.get_or_insert_with(|| {
            vec![SecurityRequirement::new(LOGIN_SCHEME, Vec::<String>::new())]
        });
        answer(operation, 401, "No valid login: log in first.");
    }
    if write {
        answer(
            operation,
            403,
            "A browser request from a foreign `Origin` (not the hub's public URL).",
        );
    }
    if operation.request_body.is_some() {
        answer(
            operation,
            400,
            "The body is not valid JSON or does not match the schema, or a value is out of range.",
        );
        answer(operation, 413, "The body is larger than 64 KiB.");
        answer(
            operation,
            415,
            "The body is not sent as `Content-Type: application/json`.",
        );
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    if parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
    {
        answer(
            operation,
            400,
            "A path or query parameter is malformed (e.g. an id that is not a UUID).",
        );
    }
    answer(
        operation,
        500,
        "An internal error; `requestId` finds it in the hub log.",
    );
}

/// Adds an `ErrorBody` answer unless the route documents that status itself.
fn answer(operation: &mut Operation, status: u16, description: &str) {
    let status = status.to_string();
    if operation.responses.responses.contains_key(&status) {
        return;
    }
    let body = ContentBuilder::new()
        .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
        .build();
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .build();
    operation
        .responses
        .responses
        .insert(status, RefOr::T(response));
}
