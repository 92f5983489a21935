//! The callback slots of a [`Jwt`](crate::Jwt), their argument types, and Flask-JWT's defaults.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::claims::Claims;
use crate::error::{BoxError, JwtError};
use crate::identity::Identity;

/// The username and password of a login body, as given to `authenticate`.
///
/// `Debug` shows the username only.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials {
    /// The value of the username key (`JWT_AUTH_USERNAME_KEY`), a non-empty string.
    pub username: String,
    /// The value of the password key (`JWT_AUTH_PASSWORD_KEY`), a non-empty string.
    pub password: String,
}

impl Credentials {
    /// Credentials from a username and a password (for tests and hand-written logins).
    #[must_use]
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// The tokens a successful login issued, as given to the `auth_response` hook.
///
/// `Debug` never shows a token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tokens {
    /// The access token (Flask-JWT's `access_token`).
    pub access_token: String,
    /// The refresh token, when a revocation store turns the lifecycle on.
    pub refresh_token: Option<String>,
    /// The `csrf` claims of the access and refresh tokens, with tokens in cookies.
    pub(crate) csrf: (Option<String>, Option<String>),
    /// Tokens travel in cookies only, never in a body.
    pub(crate) cookies_only: bool,
}

impl Tokens {
    pub(crate) fn new(access_token: String, refresh_token: Option<String>) -> Self {
        Self {
            access_token,
            refresh_token,
            csrf: (None, None),
            cookies_only: false,
        }
    }

    /// The default login body: `{"access_token"}`, plus `refresh_token` when the lifecycle
    /// issued one; with tokens in cookies only, `{"login": true}` and no token.
    #[must_use]
    pub fn body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if self.cookies_only {
            body.insert("login".to_owned(), Value::Bool(true));
            return body;
        }
        body.insert(
            "access_token".to_owned(),
            Value::from(self.access_token.clone()),
        );
        if let Some(refresh_token) = &self.refresh_token {
            body.insert(
                "refresh_token".to_owned(),
                Value::from(refresh_token.clone()),
            );
        }
        body
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type LookupResult<I> = Result<Option<I>, BoxError>;

pub(crate) type AuthenticateFn<I> =
    Arc<dyn Fn(Credentials) -> BoxFuture<LookupResult<I>> + Send + Sync>;
pub(crate) type IdentityFn<I> =
    Arc<dyn Fn(Claims<<I as Identity>::Id>) -> BoxFuture<LookupResult<I>> + Send + Sync>;
pub(crate) type AuthResponseFn<I> = Arc<dyn Fn(Tokens, &I) -> Response + Send + Sync>;
pub(crate) type ErrorHandlerFn = Arc<dyn Fn(&JwtError) -> Response + Send + Sync>;
pub(crate) type ClaimsFn<I> = Arc<dyn Fn(&I) -> Map<String, Value> + Send + Sync>;

/// Boxes an `async fn(A) -> Result<Option<I>, E>` into a callback slot.
pub(crate) fn boxed_lookup<A, I, F, Fut, E>(
    f: F,
) -> Arc<dyn Fn(A) -> BoxFuture<LookupResult<I>> + Send + Sync>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<I>, E>> + Send + 'static,
    E: Into<BoxError>,
    A: 'static,
    I: 'static,
{
    Arc::new(move |arg| {
        let future = f(arg);
        Box::pin(async move { future.await.map_err(Into::into) })
    })
}

/// Flask-JWT's `auth_response_handler` default: [`Tokens::body`].
pub(crate) fn default_auth_response<I>() -> AuthResponseFn<I> {
    Arc::new(|tokens: Tokens, _: &I| Json(tokens.body()).into_response())
}

/// Flask-JWT's `jwt_error_handler` default: `{"status_code", "error", "description"}` with the
/// error's status.
pub(crate) fn default_error_handler() -> ErrorHandlerFn {
    Arc::new(|error: &JwtError| {
        let status = error.status();
        (
            status,
            Json(json!({
                "status_code": status.as_u16(),
                "error": error.title(),
                "description": error.to_string(),
            })),
        )
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords_and_tokens() {
        let credentials = Credentials::new("alice", "hunter2");
        let debug = format!("{credentials:?}");
        assert!(debug.contains("alice") && !debug.contains("hunter2"));
        let tokens = Tokens::new("eyJ.secret.token".into(), Some("eyJ.refresh.token".into()));
        assert!(!format!("{tokens:?}").contains("eyJ"));
    }
}
