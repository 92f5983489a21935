//! [`ApiError`]: every error answer, as `{"message": "<text>", "code": <status>}`.

use std::borrow::Cow;
use std::fmt;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jwt_gate::JwtError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer: a status and the message the client sees.
///
/// Server failures become 500 `Internal server error`; their cause goes to the log only.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: &'static str) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A failure of the server itself: logged with its cause, answered without it.
    pub(crate) fn internal(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    /// The status of this answer.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message of this answer.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// The body of every error answer (status 400 and above).
#[derive(Serialize, ToSchema)]
#[schema(as = Error, example = json!({"message": "Item not found", "code": 404}))]
pub(crate) struct ErrorBody<'a> {
    /// What went wrong; never empty.
    #[schema(min_length = 1)]
    message: &'a str,
    /// The HTTP status, as an integer.
    #[schema(minimum = 400, maximum = 599)]
    code: u16,
}

/// The body of every error answer, for [`ApiError`] and for jwt-gate's error handler alike.
pub(crate) fn error_body(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody {
        message,
        code: status.as_u16(),
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_body(self.status, &self.message)
    }
}

/// jwt-gate's body rules (415, 413, 400) and any other `JwtError`, in the demo's shape.
impl From<JwtError> for ApiError {
    fn from(error: JwtError) -> Self {
        match error {
            JwtError::Internal(cause) => Self::internal(&cause),
            other => Self::new(other.status(), other.to_string()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(&error)
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::internal(&error)
    }
}
