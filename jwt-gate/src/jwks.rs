//! [`Jwt::jwks_route`]: the public half of the key ring, as a JWKS document.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::HeaderValue;
use http::header::{ALLOW, CACHE_CONTROL};

use crate::clock::unix_seconds;
use crate::error::JwtError;
use crate::identity::Identity;
use crate::jwt::Jwt;

/// Where [`Jwt::jwks_route`] serves the key set (RFC 8414 / OpenID Connect's usual path).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

impl<I: Identity> Jwt<I> {
    /// `GET /.well-known/jwks.json`: the public keys of the ring as a JWKS (RFC 7517), each
    /// with `kty`, `use: "sig"`, `alg` and `kid` (by default its RFC 7638 thumbprint), so that
    /// services that only verify can fetch them. Keys whose grace period has ended are left
    /// out; private keys and HMAC secrets never appear (an HMAC ring answers `{"keys": []}`).
    ///
    /// `Cache-Control: public, max-age=N` follows the rotation schedule: `N` is
    /// [`jwks_max_age`](crate::JwtConfig::jwks_max_age), or the time until the next key
    /// retires if that is sooner. Other methods get the error handler's 405.
    ///
    /// ```
    /// # use jwt_gate::{Claims, Credentials, Identity, Jwt, Keys};
    /// # #[derive(Clone)] struct User;
    /// # impl Identity for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// # let jwt: Jwt<User> = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!")?)
    /// #     .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(Some(User)) })
    /// #     .identity(|_: Claims<i64>| async { Ok::<_, std::io::Error>(Some(User)) })
    /// #     .build()?;
    /// let app: axum::Router = axum::Router::new()
    ///     .merge(jwt.routes())
    ///     .merge(jwt.jwks_route())
    ///     .with_state(jwt);
    /// # Ok::<(), jwt_gate::ConfigError>(())
    /// ```
    pub fn jwks_route<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let jwt = self.clone();
        let method_jwt = self.clone();
        Router::new().route(
            JWKS_PATH,
            get(move || {
                let jwt = jwt.clone();
                async move { jwt.jwks_response() }
            })
            .fallback(move || async move {
                let mut response = method_jwt.error_response(&JwtError::MethodNotAllowed);
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                response
            }),
        )
    }

    /// The JWKS response of [`jwks_route`](Self::jwks_route), for mounting it elsewhere.
    #[must_use]
    pub fn jwks_response(&self) -> Response {
        let now = unix_seconds(self.clock());
        let keys = self.keys();
        let max_age = i64::try_from(self.config().jwks_max_age.as_secs()).unwrap_or(i64::MAX);
        let max_age = keys
            .next_retirement(now)
            .map_or(max_age, |until| until.min(max_age));
        let at =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(now).unwrap_or(0));
        let mut response = axum::Json(keys.jwks(at)).into_response();
        if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
            response.headers_mut().insert(CACHE_CONTROL, value);
        }
        response
    }
}
