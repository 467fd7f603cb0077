//! The one error type of every use case and transport: an [`ErrorBody`]
//! with the HTTP status its code belongs to. REST answers it as JSON, the
//! Socket.IO namespaces send its body in a `Reply` or a `hub:error`.
//! Internal failures become an opaque body with a request id, logged once,
//! here, with their whole chain.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flotilla_protocol::{ErrorBody, ErrorCode};

/// An API failure: a status and an [`ErrorBody`]. 5xx bodies are opaque and
/// carry a request id; the full error is logged once, here.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: ErrorBody,
}

impl ApiError {
    /// A client error with the status that belongs to `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: status_of(code),
            body: ErrorBody::new(code, message),
        }
    }

    /// The body, for tests and Socket.IO replies.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

/// The HTTP status for each error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput | ErrorCode::OutsideProjectRoot => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::SpawnFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ErrorBody> for ApiError {
    fn from(body: ErrorBody) -> Self {
        ApiError {
            status: status_of(body.code),
            body,
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        tracing::error!(%request_id, "request failed: {error:#}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: ErrorBody {
                code: ErrorCode::Internal,
                message: "internal error; see the hub log".into(),
                request_id: Some(request_id),
            },
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        anyhow::Error::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl ApiError {
    /// The body, for Socket.IO replies.
    pub fn into_body(self) -> ErrorBody {
        self.body
    }
}
