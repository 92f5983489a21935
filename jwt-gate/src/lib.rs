//! Flask-JWT's JSON Web Token authentication for [axum]: one line adds a login endpoint, one
//! extractor gives the current user, every default is Flask-JWT's and every step is
//! replaceable.
//!
//! # Quick start
//!
//! ```
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
//! use jwt_gate::{Claims, Credentials, CurrentIdentity, Identity, Jwt, Keys};
//! use tower::ServiceExt;
//!
//! #[derive(Clone)]
//! struct User { id: i64, username: String }
//! impl Identity for User {
//!     type Id = i64;
//!     fn id(&self) -> i64 { self.id }
//! }
//!
//! async fn authenticate(c: Credentials) -> Result<Option<User>, std::io::Error> {
//!     // Look the user up and verify the password in constant time (argon2, `subtle`).
//!     Ok((c.username == "joe" && c.password == "pass").then(|| User { id: 1, username: c.username }))
//! }
//! async fn identity(claims: Claims<i64>) -> Result<Option<User>, std::io::Error> {
//!     Ok((claims.identity == 1).then(|| User { id: 1, username: "joe".into() }))
//! }
//! async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> String {
//!     format!("hello {}", user.username)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let jwt = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!")?)
//!     .authenticate(authenticate)
//!     .identity(identity)
//!     .build()?;
//! let app = Router::new()
//!     .route("/protected", get(protected))
//!     .merge(jwt.routes()) // POST /auth
//!     .with_state(jwt);
//!
//! let login = Request::post("/auth")
//!     .header("content-type", "application/json")
//!     .body(Body::from(r#"{"username": "joe", "password": "pass"}"#))?;
//! let response = app.clone().oneshot(login).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let anonymous = Request::get("/protected").body(Body::empty())?;
//! let response = app.oneshot(anonymous).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"JWT realm="Login Required""#);
//! # Ok(())
//! # }
//! ```
//!
//! # Flask-JWT → jwt-gate
#![doc = include_str!("docs/flask_migration.md")]
//!
//! # Security defaults
#![doc = include_str!("docs/security_defaults.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod claims;
mod clock;
pub mod codec;
mod config;
mod cookies;
mod error;
mod extract;
pub mod guide;
mod handlers;
mod identity;
mod json;
mod jwt;
pub mod keys;
mod login;
pub mod metrics;
#[cfg(feature = "openapi")]
mod openapi;
mod request;
pub mod revocation;
mod routing;
mod serve;
#[cfg(feature = "test-kit")]
pub mod test_kit;
mod throttle;
mod token;
mod verify_cache;

#[doc(inline)]
pub use claims::{Claims, TokenType};
#[doc(inline)]
pub use clock::{Clock, FixedClock, SystemClock, unix_millis, unix_seconds};
#[doc(inline)]
pub use config::JwtConfig;
#[doc(inline)]
pub use cookies::{
    ACCESS_COOKIE, ACCESS_CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE, REFRESH_CSRF_COOKIE,
    TokenLocation,
};
#[doc(inline)]
pub use error::{BoxError, ConfigError, HeaderError, JwtError, JwtRejection, TokenError};
#[doc(inline)]
pub use extract::{CurrentClaims, CurrentIdentity, FreshIdentity, RefreshClaims};
#[doc(inline)]
pub use handlers::{Credentials, Tokens};
#[doc(inline)]
pub use identity::Identity;

#[doc(inline)]
pub use jwt::{Jwt, JwtBuilder};
#[doc(inline)]
pub use keys::{
    Algorithm, GeneratedKeyPair, Key, KeyMaterial, KeySource, Keys, MIN_RSA_BITS, MIN_SECRET_BYTES,
};
#[doc(inline)]
pub use login::read_json_object;
#[cfg(feature = "openapi")]
#[doc(inline)]
pub use openapi::{JWT_SECURITY, JwtSecurity};
#[doc(inline)]
pub use request::{AuthorizationHeader, TokenSource};
#[doc(inline)]
pub use revocation::{MemoryStore, RevocationStore, StoreError};
#[doc(inline)]
pub use routing::{JWKS_PATH, MAX_HEADER_BYTES};
#[doc(inline)]
pub use serve::{serve, shutdown_signal};
#[doc(inline)]
pub use throttle::{LoginThrottle, MAX_FAILURES_PER_KEY, MemoryThrottleStore, ThrottleStore};
