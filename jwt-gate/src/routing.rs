//! [`Jwt::routes`] and [`Jwt::json_errors`]: the axum side of the login and of the HTTP errors.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use http::HeaderValue;
use http::header::ALLOW;

use crate::error::JwtError;
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
    /// change it, so a login can never be mounted at a stale path.
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
        let rule = self.config().auth_url_rule.clone();
        let login_jwt = self.clone();
        let method_jwt = self.clone();
        Router::new().route(
            &rule,
            post(move |request: Request| async move {
                match login::login(&login_jwt, request).await {
                    Ok((tokens, user)) => login_jwt.auth_response(tokens, &user),
                    Err(error) => login_jwt.error_response(&error),
                }
            })
            .fallback(move || async move {
                let mut response = method_jwt.error_response(&JwtError::MethodNotAllowed);
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
                response
            }),
        )
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
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                let jwt = limit.clone();
                async move { limit_headers(&jwt, request, next).await }
            }))
    }
}

async fn limit_headers<I: Identity>(jwt: &Jwt<I>, request: Request, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        return jwt.error_response(&JwtError::HeadersTooLarge);
    }
    next.run(request).await
}
