//! [`Jwt::routes`], [`Jwt::jwks_route`] and [`Jwt::json_errors`]: the axum side of the login,
//! of the published keys and of the HTTP errors.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use http::HeaderValue;
use http::header::{ALLOW, CACHE_CONTROL};
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::clock::system_time_seconds;
use crate::error::JwtError;
use crate::handlers::Tokens;
use crate::identity::Identity;
use crate::jwt::Jwt;
use crate::login;

/// Request headers larger than this in all (names, values and their separators) are answered
/// 431 in the error handler's shape.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

impl<I: Identity> Jwt<I> {
    /// The login route: `POST` at [`JwtConfig::auth_url_rule`](crate::JwtConfig) (default
    /// `/auth`), Flask-JWT's auth resource. Other methods on that path get a 405 through the
    /// error handler.
    ///
    /// The rule is read now; afterwards [`update_config`](Self::update_config) refuses to
    /// change it, so a login can never be mounted at a stale path. With keys that only verify
    /// (no signing key) no route is mounted: a login there answers 404.
    ///
    /// ```
    /// # use jwt_gate::{Claims, Credentials, Identity, Jwt, Keys};
    /// # #[derive(Clone)] struct User;
    /// # impl Identity for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// # let jwt: Jwt<User> = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!")?)
    /// #     .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(Some(User)) })
    /// #     .identity(|_: Claims<i64>| async { Ok::<_, std::io::Error>(Some(User)) })
    /// #     .build()?;
    /// let app: axum::Router = axum::Router::new().merge(jwt.routes()).with_state(jwt);
    /// # Ok::<(), jwt_gate::ConfigError>(())
    /// ```
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.mark_login_mounted();
        if self.keys().signing_key().is_none() {
            // Keys that only verify: nothing to log in, refresh or log out with.
            return Router::new();
        }
        let config = self.config();
        let router = Router::new().route(
            &config.auth_url_rule,
            self.post_only(|jwt, request: Request| async move {
                let span = tracing::debug_span!(
                    "jwt_gate.login",
                    outcome = tracing::field::Empty,
                    identity = tracing::field::Empty,
                );
                let result = login::login(&jwt, request).instrument(span.clone()).await;
                crate::metrics::login(result.is_ok());
                match result {
                    Ok((tokens, user)) => {
                        span.record("outcome", "success");
                        span.record("identity", tracing::field::debug(user.id()));
                        jwt.auth_response(tokens, &user)
                    }
                    Err(error) => {
                        span.record("outcome", "failure");
                        jwt.error_response(&error)
                    }
                }
            }),
        );
        let lifecycle = self.revocation_store().is_some();
        let cookies = self.token_location().uses_cookies();
        let mut router = router;
        if lifecycle || cookies {
            router = router.route(
                &config.logout_url_rule,
                self.post_only(|jwt, request: Request| async move {
                    let (parts, _body) = request.into_parts();
                    match login::logout(&jwt, &parts).await {
                        Ok(()) => jwt.logged_out("Successfully logged out"),
                        Err(error) => jwt.error_response(&error),
                    }
                }),
            );
        }
        if !lifecycle {
            return router;
        }
        router
            .route(
                &config.refresh_url_rule,
                self.post_only(|jwt, request: Request| async move {
                    let (parts, _body) = request.into_parts();
                    match login::refresh(&jwt, &parts).await {
                        Ok(tokens) => jwt.refreshed(&tokens),
                        Err(error) => jwt.error_response(&error),
                    }
                }),
            )
            .route(
                &config.logout_all_url_rule,
                self.post_only(|jwt, request: Request| async move {
                    let (parts, _body) = request.into_parts();
                    match login::logout_all(&jwt, &parts).await {
                        Ok(()) => jwt.logged_out("Logged out everywhere"),
                        Err(error) => jwt.error_response(&error),
                    }
                }),
            )
    }

    /// The refresh route's 200: the new pair in the body (`{"refresh": true}` with tokens in
    /// cookies only), and in the cookies when they are on.
    fn refreshed(&self, tokens: &Tokens) -> Response {
        let body = if tokens.cookies_only {
            json!({"refresh": true})
        } else {
            Value::Object(tokens.body())
        };
        let mut response = Json(body).into_response();
        self.set_cookies(&mut response, tokens);
        no_store(response)
    }

    /// A logout's 200: `{"message": ..}`, clearing the cookies when they are on.
    fn logged_out(&self, message: &str) -> Response {
        let mut response = Json(json!({ "message": message })).into_response();
        self.clear_cookies(&mut response);
        response
    }

    /// A `POST` route running `handler` with this `Jwt`; other methods get a JSON 405.
    fn post_only<S, F, Fut>(&self, handler: F) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        F: Fn(Self, Request) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let jwt = self.clone();
        self.other_methods_405(
            post(move |request: Request| handler(jwt.clone(), request)),
            "POST",
        )
    }

    /// `route` with the error handler's 405 (and `Allow: allow`) for the methods it lacks.
    fn other_methods_405<S>(&self, route: MethodRouter<S>, allow: &'static str) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let jwt = self.clone();
        route.fallback(move || async move {
            let mut response = jwt.error_response(&JwtError::MethodNotAllowed);
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            response
        })
    }

    /// Makes the HTTP layer's errors speak the error handler's JSON: unknown paths (404), known
    /// paths with another method (405) and request headers over [`MAX_HEADER_BYTES`] (431).
    ///
    /// Call it last, on the finished router: axum applies the 405 rule to the routes present.
    pub fn json_errors<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let not_found = self.clone();
        let not_allowed = self.clone();
        let limit = self.clone();
        router
            .fallback(move || async move { not_found.error_response(&JwtError::NotFound) })
            .method_not_allowed_fallback(move || async move {
                not_allowed.error_response(&JwtError::MethodNotAllowed)
            })
            .layer(HeaderLimitLayer { jwt: limit })
    }
}

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
        let jwks = get(move || {
            let jwt = jwt.clone();
            async move { jwt.jwks_response() }
        });
        Router::new().route(JWKS_PATH, self.other_methods_405(jwks, "GET, HEAD"))
    }

    /// The JWKS response of [`jwks_route`](Self::jwks_route), for mounting it elsewhere.
    #[must_use]
    pub fn jwks_response(&self) -> Response {
        let time = self.clock().now();
        let now = system_time_seconds(time);
        let keys = self.keys();
        let max_age = i64::try_from(self.config().jwks_max_age.as_secs()).unwrap_or(i64::MAX);
        let max_age = keys
            .next_retirement(now)
            .map_or(max_age, |until| until.min(max_age));
        let mut response = axum::Json(keys.jwks(time)).into_response();
        if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
            response.headers_mut().insert(CACHE_CONTROL, value);
        }
        response
    }
}

/// The 431 of [`Jwt::json_errors`], as a plain tower layer: it runs on every request, so it
/// avoids `middleware::from_fn`'s boxed service and future.
struct HeaderLimitLayer<I: Identity> {
    jwt: Jwt<I>,
}

impl<I: Identity> Clone for HeaderLimitLayer<I> {
    fn clone(&self) -> Self {
        Self {
            jwt: self.jwt.clone(),
        }
    }
}

impl<I: Identity, S> tower::Layer<S> for HeaderLimitLayer<I> {
    type Service = HeaderLimit<I, S>;

    fn layer(&self, inner: S) -> Self::Service {
        HeaderLimit {
            jwt: self.jwt.clone(),
            inner,
        }
    }
}

struct HeaderLimit<I: Identity, S> {
    jwt: Jwt<I>,
    inner: S,
}

impl<I: Identity, S: Clone> Clone for HeaderLimit<I, S> {
    fn clone(&self) -> Self {
        Self {
            jwt: self.jwt.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<I, S> tower::Service<Request> for HeaderLimit<I, S>
where
    I: Identity,
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = LimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let size: usize = request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        if size > MAX_HEADER_BYTES {
            let refused = self.jwt.error_response(&JwtError::HeadersTooLarge);
            return LimitFuture::Refused {
                response: Some(refused),
            };
        }
        LimitFuture::Inner {
            future: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    #[project = LimitProjection]
    enum LimitFuture<F> {
        Refused { response: Option<Response> },
        Inner { #[pin] future: F },
    }
}

impl<F, E> Future for LimitFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            LimitProjection::Refused { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_default()))
            }
            LimitProjection::Inner { future } => future.poll(cx),
        }
    }
}

/// Token responses must not be cached (RFC 6749 §5.1).
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
