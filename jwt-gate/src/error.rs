//! Errors: one table decides the status, the title (Flask-JWT's `error`) and the description
//! (Flask-JWT's `description`, PyJWT's wording) of every failure.

use http::StatusCode;

/// A boxed error from a user callback (`authenticate`, `identity`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request was refused. `Display` is the description that the client sees.
///
/// The default error handler answers
/// `{"status_code": <status>, "error": <title>, "description": <Display>}`, as Flask-JWT's
/// `jwt_error_handler` does.
#[doc(alias = "JWTError")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// No token in the request (no `Authorization` header, or a blank one).
    #[error("Request does not contain an access token")]
    MissingToken,
    /// The `Authorization` header is not `<prefix> <token>`.
    #[error(transparent)]
    BadHeader(#[from] HeaderError),
    /// The token failed decoding or validation.
    #[error(transparent)]
    InvalidToken(#[from] TokenError),
    /// The token is valid but its `identity` names no user (or is not of the id type).
    #[error("User does not exist")]
    UnknownIdentity,
    /// The login body does not hold exactly the two credential keys as non-empty strings, or
    /// `authenticate` found no user for them.
    #[error("Invalid credentials")]
    BadCredentials,
    /// A login body without a JSON content type.
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// A login body over the configured limit.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// A login body that is not valid JSON (duplicate keys included).
    #[error("Request body is not valid JSON")]
    InvalidJson,
    /// A login body that is JSON but not an object.
    #[error("Request body must be a JSON object")]
    NotAnObject,
    /// No route for this path (answered by [`Jwt::json_errors`](crate::Jwt::json_errors)).
    #[error("Not found")]
    NotFound,
    /// The path exists, the method does not (answered by
    /// [`Jwt::json_errors`](crate::Jwt::json_errors)).
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// The request headers exceed the limit (answered by
    /// [`Jwt::json_errors`](crate::Jwt::json_errors)).
    #[error("Request headers too large")]
    HeadersTooLarge,
    /// The token was revoked: its `jti`, its family, or a logout-all of its identity.
    #[error("Token has been revoked")]
    Revoked,
    /// A spent refresh token was presented again; its whole family is now revoked.
    #[error("Refresh token reuse detected; the session has been revoked")]
    RefreshTokenReused,
    /// A fresh-only route got an access token issued by a refresh.
    #[error("Fresh token required")]
    FreshTokenRequired,
    /// A cookie-authenticated state-changing request without an `X-CSRF-TOKEN` header.
    #[error("Missing CSRF token")]
    MissingCsrfToken,
    /// The `X-CSRF-TOKEN` header is not the token's `csrf` claim.
    #[error("CSRF double submit tokens do not match")]
    CsrfMismatch,
    /// Too many failed logins for this username or client IP within the throttle's window.
    /// The response carries `Retry-After`.
    #[error("Too many failed login attempts; retry later")]
    Throttled {
        /// Whole seconds until a failure leaves the window (at least 1).
        retry_after: u64,
    },
    /// The revocation store failed or timed out: the request fails closed. The cause goes to
    /// the log only.
    #[error("Token store unavailable")]
    StoreUnavailable(#[source] crate::revocation::StoreError),
    /// A user callback returned `Err`, or signing failed. The cause goes to the log only.
    #[error("Internal server error")]
    Internal(#[source] BoxError),
}

impl JwtError {
    /// The HTTP status of this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::BadHeader(_)
            | Self::InvalidToken(_)
            | Self::UnknownIdentity
            | Self::BadCredentials
            | Self::Revoked
            | Self::RefreshTokenReused
            | Self::FreshTokenRequired
            | Self::MissingCsrfToken
            | Self::CsrfMismatch => StatusCode::UNAUTHORIZED,
            Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidJson | Self::NotAnObject => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The short title, Flask-JWT's `error` field.
    ///
    /// Bad credentials keep Flask-JWT's title `Bad Request` on a 401, as its tests assert.
    #[must_use]
    pub fn title(&self) -> &'static str {
        match self {
            Self::MissingToken => "Authorization Required",
            Self::BadHeader(_) => "Invalid JWT header",
            Self::InvalidToken(_) => "Invalid token",
            Self::UnknownIdentity => "Invalid JWT",
            Self::BadCredentials | Self::InvalidJson | Self::NotAnObject => "Bad Request",
            Self::UnsupportedMediaType => "Unsupported Media Type",
            Self::PayloadTooLarge => "Payload Too Large",
            Self::NotFound => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
            Self::HeadersTooLarge => "Request Header Fields Too Large",
            Self::Revoked | Self::RefreshTokenReused => "Revoked token",
            Self::FreshTokenRequired => "Fresh token required",
            Self::MissingCsrfToken | Self::CsrfMismatch => "Invalid CSRF token",
            Self::StoreUnavailable(_) => "Service Unavailable",
            Self::Throttled { .. } => "Too Many Requests",
            Self::Internal(_) => "Internal Server Error",
        }
    }

    /// The description, Flask-JWT's `description` field (the same text as `Display`).
    #[must_use]
    pub fn description(&self) -> String {
        self.to_string()
    }

    pub(crate) fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }
}

/// What is wrong with the `Authorization` header (title `Invalid JWT header`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The scheme is not the configured prefix (compared case-insensitively).
    #[error("Unsupported authorization type")]
    UnsupportedType,
    /// The prefix alone, without a token.
    #[error("Token missing")]
    TokenMissing,
    /// More than two whitespace-separated parts.
    #[error("Token contains spaces")]
    TokenContainsSpaces,
    /// More than one `Authorization` header.
    #[error("Multiple authorization headers")]
    MultipleHeaders,
}

/// Why a token was rejected (title `Invalid token`). The texts are PyJWT 1.4.2's, in its order
/// of checks, plus jwt-gate's own for what PyJWT let through.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the limit (8 KiB).
    #[error("Token too large")]
    TooLarge,
    /// The header or payload JSON nests deeper than the limit (32 levels).
    #[error("Token too deeply nested")]
    TooDeeplyNested,
    /// The payload has more claims than the limit (64).
    #[error("Token has too many claims")]
    TooManyClaims,
    /// Fewer than three dot-separated segments.
    #[error("Not enough segments")]
    NotEnoughSegments,
    /// The header segment is not canonical unpadded base64url.
    #[error("Invalid header padding")]
    InvalidHeaderPadding,
    /// The header is not a JSON object (the detail says why).
    #[error("Invalid header string: {0}")]
    InvalidHeaderString(String),
    /// The payload segment is not canonical unpadded base64url.
    #[error("Invalid payload padding")]
    InvalidPayloadPadding,
    /// The signature segment is not canonical unpadded base64url.
    #[error("Invalid crypto padding")]
    InvalidCryptoPadding,
    /// The header's `alg` is not the configured algorithm (`none` included).
    #[error("The specified alg value is not allowed")]
    AlgorithmNotAllowed,
    /// The header has a `crit` member; jwt-gate understands no extension.
    #[error("Unsupported critical header")]
    UnsupportedCriticalHeader,
    /// The ring holds several keys or a key pair, and the header has no `kid`.
    #[error("Token header has no key id (kid)")]
    MissingKeyId,
    /// The header's `kid` names no key of the ring (or one whose grace period has ended).
    #[error("Unknown key id (kid)")]
    UnknownKeyId,
    /// The signature does not match.
    #[error("Signature verification failed")]
    SignatureInvalid,
    /// The payload is not a JSON object (the detail says why).
    #[error("Invalid payload string: {0}")]
    InvalidPayloadString(String),
    /// A required claim is absent or `null`.
    #[error("Token is missing the \"{0}\" claim")]
    MissingClaim(&'static str),
    /// `iat` is not a JSON number.
    #[error("Issued At claim (iat) must be an integer.")]
    IatNotInteger,
    /// `iat` is later than now plus the leeway.
    #[error("Issued At claim (iat) cannot be in the future.")]
    IatInFuture,
    /// `nbf` is not a JSON number.
    #[error("Not Before claim (nbf) must be an integer.")]
    NbfNotInteger,
    /// `nbf` is later than now plus the leeway.
    #[error("The token is not yet valid (nbf)")]
    NotYetValid,
    /// `exp` is not a JSON number.
    #[error("Expiration Time claim (exp) must be an integer.")]
    ExpNotInteger,
    /// `exp` is earlier than now minus the leeway.
    #[error("Signature has expired")]
    Expired,
    /// The token has an `aud` claim and no audience is configured (Flask-JWT's rule), or an
    /// audience is configured and the claim names none of it.
    #[error("Invalid audience")]
    InvalidAudience,
    /// An issuer is configured and the `iss` claim is another one (or not a string).
    #[error("Invalid issuer")]
    InvalidIssuer,
    /// A subject is configured and the `sub` claim is another one (or not a string).
    #[error("Invalid subject")]
    InvalidSubject,
    /// The `aud` claim is neither a string nor a list of strings.
    #[error("Invalid claim format in token")]
    InvalidClaimFormat,
    /// A refresh token (or a token without `type`) where an access token is expected.
    #[error("Access token required")]
    AccessTokenRequired,
    /// An access token (or a token without `type`) at the refresh route.
    #[error("Refresh token required")]
    RefreshTokenRequired,
}

/// A configuration that jwt-gate refuses to run with. `Display` names the setting (by its
/// Flask-JWT / environment variable name) and says how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting has a value that cannot be used.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The Flask-JWT name of the setting, e.g. `JWT_EXPIRATION_DELTA`.
        setting: &'static str,
        /// What is wrong and what would be right.
        reason: String,
    },
    /// A callback that the configuration needs was not given to the builder.
    #[error("the `{0}` callback is missing: call JwtBuilder::{0}(..) before build()")]
    MissingCallback(&'static str),
    /// Key material that cannot be used: not a key, the wrong kind for the algorithm, too
    /// small, or a ring that breaks the `kid` rules. The reason never quotes the material.
    #[error("key: {0}")]
    Key(String),
    /// The login route was already mounted by `routes()`; its path can no longer change.
    #[error(
        "JWT_AUTH_URL_RULE: the login route is already mounted; set the rule before calling routes()"
    )]
    UrlRuleFixed,
}

impl ConfigError {
    pub(crate) fn invalid(setting: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            setting,
            reason: reason.into(),
        }
    }
}

/// The rejection of jwt-gate's extractors: the error, already rendered through the error
/// handler (with its `WWW-Authenticate` challenge on a 401).
pub struct JwtRejection {
    error: JwtError,
    response: axum::response::Response,
}

impl JwtRejection {
    pub(crate) fn new(error: JwtError, response: axum::response::Response) -> Self {
        Self { error, response }
    }

    /// Why the request was refused.
    #[must_use]
    pub fn error(&self) -> &JwtError {
        &self.error
    }

    /// The status of the rendered response.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The error, without the rendered response.
    #[must_use]
    pub fn into_error(self) -> JwtError {
        self.error
    }
}

impl std::fmt::Debug for JwtRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtRejection")
            .field("error", &self.error)
            .field("status", &self.response.status())
            .finish()
    }
}

impl std::fmt::Display for JwtRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for JwtRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl axum::response::IntoResponse for JwtRejection {
    fn into_response(self) -> axum::response::Response {
        self.response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flask_jwt_error_is_a_401_with_its_title() {
        let cases: [(JwtError, &str, &str); 5] = [
            (
                JwtError::MissingToken,
                "Authorization Required",
                "Request does not contain an access token",
            ),
            (
                HeaderError::TokenMissing.into(),
                "Invalid JWT header",
                "Token missing",
            ),
            (
                TokenError::Expired.into(),
                "Invalid token",
                "Signature has expired",
            ),
            (
                JwtError::UnknownIdentity,
                "Invalid JWT",
                "User does not exist",
            ),
            (
                JwtError::BadCredentials,
                "Bad Request",
                "Invalid credentials",
            ),
        ];
        for (error, title, description) in cases {
            assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(error.title(), title);
            assert_eq!(error.description(), description);
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error = JwtError::internal("database password is hunter2");
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.to_string(), "Internal server error");
    }

    #[test]
    fn missing_claim_names_the_claim_in_quotes() {
        assert_eq!(
            TokenError::MissingClaim("exp").to_string(),
            "Token is missing the \"exp\" claim"
        );
    }
}
