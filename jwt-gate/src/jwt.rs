//! [`Jwt`] and [`JwtBuilder`]: the wiring of keys, settings, clock and callbacks.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use axum::response::{IntoResponse, Response};
use http::header::WWW_AUTHENTICATE;
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};
use tracing::Instrument as _;

use crate::claims::{Claims, IssuedClaims, LifecycleClaims, RESERVED_CLAIMS, TokenType};
use crate::clock::{Clock, SystemClock, unix_millis, unix_seconds};
use crate::config::JwtConfig;
use crate::cookies::{
    CookieJar, Origin, TokenLocation, check_csrf, cookie_value, has_authorization, token_cookie,
};
use crate::error::{BoxError, ConfigError, JwtError, JwtRejection, TokenError};
use crate::handlers::{
    AuthResponseFn, AuthenticateFn, ClaimsFn, Credentials, ErrorHandlerFn, IdentityFn, Tokens,
    boxed_lookup, default_auth_response, default_error_handler,
};
use crate::identity::Identity;
use crate::keys::{Key, KeySource, Keys};
use crate::request::{AuthorizationHeader, TokenSource};
use crate::revocation::RevocationStore;
use crate::throttle::LoginThrottle;
use crate::token;
use crate::verify_cache::VerifyCache;

mod lifecycle;

/// JWT authentication for an axum service: Flask-JWT's `JWT(app, authenticate, identity)`.
///
/// Cheap to clone (one `Arc`); put it in the router state, or in your own state with
/// `Jwt<User>: FromRef<AppState>`, and the extractors find it.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use jwt_gate::{Claims, Credentials, CurrentIdentity, Identity, Jwt, Keys};
///
/// #[derive(Clone)]
/// struct User { id: i64, name: String }
/// impl Identity for User {
///     type Id = i64;
///     fn id(&self) -> i64 { self.id }
/// }
///
/// async fn authenticate(c: Credentials) -> Result<Option<User>, std::convert::Infallible> {
///     Ok((c.username == "joe" && c.password == "pass").then(|| User { id: 1, name: "joe".into() }))
/// }
/// async fn identity(claims: Claims<i64>) -> Result<Option<User>, std::convert::Infallible> {
///     Ok((claims.identity == 1).then(|| User { id: 1, name: "joe".into() }))
/// }
/// async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> String {
///     format!("hello {}", user.name)
/// }
///
/// let jwt = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!")?)
///     .authenticate(authenticate)
///     .identity(identity)
///     .build()?;
/// let app: Router = Router::new()
///     .route("/protected", get(protected))
///     .merge(jwt.routes())
///     .with_state(jwt);
/// # Ok::<(), jwt_gate::ConfigError>(())
/// ```
#[doc(alias = "JWT")]
pub struct Jwt<I: Identity> {
    inner: Arc<Inner<I>>,
}

/// Where a [`Jwt`]'s keys live: its own ring, replaced whole on rotation, or a source that
/// changes outside it.
enum KeyHolder {
    Local(ArcSwap<Keys>),
    Source(Arc<dyn KeySource>),
}

impl KeyHolder {
    /// The ring now. For a local ring a guard, not a clone: no reference count shared by every
    /// request on the hot path.
    fn current(&self) -> CurrentKeys {
        match self {
            Self::Local(keys) => CurrentKeys::Local(keys.load()),
            Self::Source(source) => CurrentKeys::Source(source.keys()),
        }
    }
}

/// The key ring a request verifies with, as [`KeyHolder::current`] hands it out.
enum CurrentKeys {
    Local(arc_swap::Guard<Arc<Keys>>),
    Source(Keys),
}

impl std::ops::Deref for CurrentKeys {
    type Target = Keys;

    fn deref(&self) -> &Keys {
        match self {
            Self::Local(keys) => keys,
            Self::Source(keys) => keys,
        }
    }
}

impl fmt::Debug for KeyHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(keys) => fmt::Debug::fmt(&**keys.load(), f),
            Self::Source(source) => fmt::Debug::fmt(source, f),
        }
    }
}

struct Inner<I: Identity> {
    keys: KeyHolder,
    config: ArcSwap<JwtConfig>,
    clock: Arc<dyn Clock>,
    authenticate: AuthenticateFn<I>,
    identity: IdentityFn<I>,
    auth_response: AuthResponseFn<I>,
    error_handler: ErrorHandlerFn,
    payload: Option<ClaimsFn<I>>,
    headers: Option<ClaimsFn<I>>,
    token_source: Arc<dyn TokenSource>,
    store: Option<Arc<dyn RevocationStore>>,
    throttle: Option<LoginThrottle>,
    location: TokenLocation,
    secure_cookies: bool,
    verify_cache: VerifyCache<I::Id>,
    logins: std::sync::atomic::AtomicU64,
    login_mounted: AtomicBool,
}

impl<I: Identity> Clone for Jwt<I> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<I: Identity> fmt::Debug for Jwt<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("keys", &self.keys())
            .field("config", &self.inner.config.load())
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl<I: Identity> Jwt<I> {
    /// Starts a builder that signs and verifies with `keys`.
    #[doc(alias = "init_app")]
    pub fn builder(keys: Keys) -> JwtBuilder<I> {
        Self::builder_with(KeyHolder::Local(ArcSwap::from_pointee(keys)))
    }

    /// Starts a builder that verifies with the keys of `source`, which change outside the
    /// `Jwt` (a JWKS fetched over HTTP, for instance). A token naming a `kid` the source lacks
    /// makes it [refresh](KeySource::refresh) once before the token is refused. Such a `Jwt`
    /// signs with the source's signing key, if it has one; without one,
    /// [`routes`](Self::routes) mounts no login. When the source knows its
    /// [issuer](KeySource::issuer), [`build`](JwtBuilder::build) requires it of every token
    /// (setting [`JwtConfig::issuer`] if unset) and requires an audience.
    pub fn builder_with_key_source(source: impl KeySource) -> JwtBuilder<I> {
        Self::builder_with(KeyHolder::Source(Arc::new(source)))
    }

    fn builder_with(keys: KeyHolder) -> JwtBuilder<I> {
        JwtBuilder {
            keys,
            config: JwtConfig::default(),
            clock: Arc::new(SystemClock),
            authenticate: None,
            identity: None,
            auth_response: default_auth_response(),
            error_handler: default_error_handler(),
            payload: None,
            headers: None,
            token_source: Arc::new(AuthorizationHeader),
            store: None,
            throttle: None,
            location: TokenLocation::Headers,
            secure_cookies: true,
        }
    }

    /// The settings in force now.
    #[must_use]
    pub fn config(&self) -> Arc<JwtConfig> {
        self.inner.config.load_full()
    }

    /// Changes settings on the running service; the next request sees them, as Flask-JWT read
    /// `current_app.config` per request.
    ///
    /// ```
    /// # use jwt_gate::{Claims, Credentials, Identity, Jwt, Keys};
    /// # #[derive(Clone)] struct User;
    /// # impl Identity for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// # let jwt: Jwt<User> = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!")?)
    /// #     .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(None) })
    /// #     .identity(|_: Claims<i64>| async { Ok::<_, std::io::Error>(Some(User)) })
    /// #     .build()?;
    /// use std::time::Duration;
    /// jwt.update_config(|c| c.expiration_delta = Duration::from_secs(60))?;
    /// assert_eq!(jwt.config().expiration_delta, Duration::from_secs(60));
    /// # Ok::<(), jwt_gate::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// The new settings are invalid, or change `auth_url_rule` after
    /// [`routes`](Self::routes) mounted the login (nothing changes then).
    pub fn update_config(&self, change: impl FnOnce(&mut JwtConfig)) -> Result<(), ConfigError> {
        let current = self.config();
        let mut next = JwtConfig::clone(&current);
        change(&mut next);
        if next.auth_url_rule != current.auth_url_rule
            && self.inner.login_mounted.load(Ordering::SeqCst)
        {
            return Err(ConfigError::UrlRuleFixed);
        }
        next.validate(unix_seconds(&*self.inner.clock))?;
        self.inner.config.store(Arc::new(next));
        // Cached outcomes were reached under the old settings.
        self.inner.verify_cache.clear();
        Ok(())
    }

    /// The keys tokens are signed and verified with now (a cheap handle on the ring).
    #[must_use]
    pub fn keys(&self) -> Keys {
        Keys::clone(&self.inner.keys.current())
    }

    /// Replaces the whole key ring, on a running service: tokens are signed and verified with
    /// `keys` from now on, and the verified-token cache is flushed.
    ///
    /// # Errors
    /// [`ConfigError::Key`] when the keys come from a [`KeySource`], which owns them.
    pub fn set_keys(&self, keys: Keys) -> Result<(), ConfigError> {
        match &self.inner.keys {
            KeyHolder::Local(current) => {
                current.store(Arc::new(keys));
                Ok(())
            }
            KeyHolder::Source(_) => Err(ConfigError::Key(
                "the keys come from a key source; rotate them there".into(),
            )),
        }
    }

    /// Rotates the signing key on a running service: `next` signs every token from now on; the
    /// key it replaces still verifies for a grace period of the longest token lifetime
    /// (refresh tokens included) plus the leeway, so that no token issued before the rotation
    /// is refused before it expires, then retires (it leaves the JWKS too). Keys whose grace
    /// period has ended are dropped.
    ///
    /// ```
    /// use jwt_gate::{Algorithm, Claims, Credentials, Identity, Jwt, Key, Keys};
    /// # #[derive(Clone)] struct User;
    /// # impl Identity for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// let first = Key::from_pem(Algorithm::EdDSA, Key::generate(Algorithm::EdDSA)?.private_pem.as_bytes())?;
    /// let jwt: Jwt<User> = Jwt::builder(Keys::new(first)?)
    /// #   .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(Some(User)) })
    /// #   .identity(|_: Claims<i64>| async { Ok::<_, std::io::Error>(Some(User)) })
    ///     .build()?;
    /// let before = jwt.issue(&User).unwrap();
    /// let next = Key::from_pem(Algorithm::EdDSA, Key::generate(Algorithm::EdDSA)?.private_pem.as_bytes())?;
    /// jwt.rotate_keys(next)?;
    /// assert!(jwt.verify(&before).is_ok(), "still within its grace period");
    /// assert_eq!(jwt.keys().jwks(std::time::SystemTime::now())["keys"].as_array().unwrap().len(), 2);
    /// # Ok::<(), jwt_gate::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Keys::rotated`], and when the keys come from a [`KeySource`].
    pub fn rotate_keys(&self, next: Key) -> Result<(), ConfigError> {
        let config = self.config();
        let grace = config
            .expiration_delta
            .max(config.refresh_expiration_delta)
            .saturating_add(config.leeway);
        let rotated = self.keys().rotated(next, self.inner.clock.now(), grace)?;
        self.set_keys(rotated)
    }

    /// The clock every time rule reads.
    #[must_use]
    pub fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    /// Issues an access token for `user`: Flask-JWT's `jwt_encode_handler`, which takes the
    /// identity, not the payload.
    ///
    /// With a revocation store the token also carries `jti`, `type: "access"`, `fresh: true`
    /// and a new family of its own (no refresh token is issued with it; logins do that).
    ///
    /// # Errors
    /// [`JwtError::Internal`] if the id or an extra claim cannot be serialized.
    #[doc(alias = "jwt_encode_handler")]
    #[doc(alias = "encode_token")]
    pub fn issue(&self, user: &I) -> Result<String, JwtError> {
        let now_ms = unix_millis(&*self.inner.clock);
        if self.inner.store.is_none() {
            return self.encode(user, now_ms, None).map(|(token, _)| token);
        }
        let (jti, family) = (new_id()?, new_id()?);
        self.encode_access(user, now_ms, &jti, &family, true)
            .map(|(token, _)| token)
    }

    /// Signs a token for `user` issued at `now_ms`, with the lifecycle claims if any.
    fn encode(
        &self,
        user: &I,
        now_ms: i64,
        lifecycle: Option<LifecycleClaims<'_>>,
    ) -> Result<(String, Option<String>), JwtError> {
        let config = self.config();
        let now = now_ms.div_euclid(1000);
        let lifetime = match lifecycle.as_ref().map(|l| l.token_type) {
            Some("refresh") => config.refresh_expiration_delta,
            _ => config.expiration_delta,
        };
        let mut extra = self
            .inner
            .payload
            .as_ref()
            .map(|payload| payload(user))
            .unwrap_or_default();
        for claim in RESERVED_CLAIMS {
            extra.remove(claim);
        }
        // The configured issuer and audience win over the payload callback's (two members of
        // one name would make the token unreadable).
        if config.issuer.is_some() {
            extra.remove("iss");
        }
        if !config.audience.is_empty() {
            extra.remove("aud");
        }
        let headers = self.inner.headers.as_ref().map(|headers| headers(user));
        let csrf = if self.inner.location.uses_cookies() {
            Some(new_id()?)
        } else {
            None
        };
        let claims = IssuedClaims {
            exp: now.saturating_add(seconds(lifetime)),
            iat: now,
            nbf: now.saturating_add(seconds(config.not_before_delta)),
            identity: &user.id(),
            iss: config.issuer.as_deref(),
            aud: config.audience.first().map(String::as_str),
            lifecycle,
            csrf: csrf.as_deref(),
            extra: &extra,
        };
        let token = token::encode(&self.keys(), headers.as_ref(), &claims)?;
        crate::metrics::issued(claims.lifecycle.as_ref().map_or("access", |l| l.token_type));
        Ok((token, csrf))
    }

    fn encode_access(
        &self,
        user: &I,
        now_ms: i64,
        jti: &str,
        family: &str,
        fresh: bool,
    ) -> Result<(String, Option<String>), JwtError> {
        let lifecycle = LifecycleClaims {
            jti,
            token_type: TokenType::Access.as_str(),
            fresh: Some(fresh),
            fam: family,
            iat_ms: now_ms,
        };
        self.encode(user, now_ms, Some(lifecycle))
    }

    fn encode_refresh(
        &self,
        user: &I,
        now_ms: i64,
        jti: &str,
        family: &str,
    ) -> Result<(String, Option<String>), JwtError> {
        let lifecycle = LifecycleClaims {
            jti,
            token_type: TokenType::Refresh.as_str(),
            fresh: None,
            fam: family,
            iat_ms: now_ms,
        };
        self.encode(user, now_ms, Some(lifecycle))
    }

    /// Decodes and validates `token`: Flask-JWT's `jwt_decode_handler`, plus the `identity`
    /// claim read as the id type.
    ///
    /// # Errors
    /// [`JwtError::InvalidToken`] with PyJWT's description, or [`JwtError::UnknownIdentity`]
    /// when the `identity` claim is missing or not of the id type.
    #[doc(alias = "jwt_decode_handler")]
    pub fn verify(&self, token: &str) -> Result<Claims<I::Id>, JwtError> {
        let started = std::time::Instant::now();
        let verified = self.verify_uncounted(token);
        crate::metrics::verify_duration(started.elapsed());
        verified
    }

    fn verify_uncounted(&self, token: &str) -> Result<Claims<I::Id>, JwtError> {
        let config = self.inner.config.load();
        let now = unix_seconds(&*self.inner.clock);
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        let keys = self.inner.keys.current();
        let cache = &self.inner.verify_cache;
        cache.follow_keys(keys.version());
        if config.verify_cache_capacity > 0
            && let Some(cached) = cache.get(token, now, leeway)
        {
            return Ok(cached?);
        }
        let verified = token::decode(token, &keys, &config, now)?;
        let key_retires_at = verified.key_retires_at;
        let claims = Claims::from_verified(verified)?;
        if config.verify_cache_capacity > 0 {
            cache.insert(
                token,
                claims.clone(),
                key_retires_at,
                config.verify_cache_capacity,
                keys.version(),
            );
        }
        Ok(claims)
    }

    /// The token of a request, from the token source (`Ok(None)`: the request has none).
    ///
    /// # Errors
    /// A malformed carrier, such as a bad `Authorization` header.
    #[doc(alias = "request_handler")]
    pub fn token(&self, request: &Parts) -> Result<Option<String>, JwtError> {
        Ok(self
            .locate(request, TokenType::Access)?
            .map(|(token, _)| token.into_owned()))
    }

    /// The request's token of `kind` and where it came from, by the token location: the
    /// token source (the `Authorization` header by default), the cookie, or — with both — the
    /// header when one is present and not blank, else the cookie.
    fn locate<'r>(
        &self,
        request: &'r Parts,
        kind: TokenType,
    ) -> Result<Option<(Cow<'r, str>, Origin)>, JwtError> {
        let from_header = || {
            self.inner
                .token_source
                .token_in(request, &self.inner.config.load())
                .map(|token| token.map(|t| (t, Origin::Header)))
        };
        let from_cookie =
            || cookie_value(request, token_cookie(kind)).map(|t| (Cow::Owned(t), Origin::Cookie));
        match self.inner.location {
            TokenLocation::Headers => from_header(),
            TokenLocation::Cookies => Ok(from_cookie()),
            TokenLocation::HeadersAndCookies if has_authorization(request) => from_header(),
            TokenLocation::HeadersAndCookies => Ok(from_cookie()),
        }
    }

    /// Runs `authenticate` on `credentials` (Flask-JWT's `authentication_handler`).
    ///
    /// # Errors
    /// [`JwtError::Internal`] when the callback fails.
    pub async fn authenticate(&self, credentials: Credentials) -> Result<Option<I>, JwtError> {
        (self.inner.authenticate)(credentials)
            .await
            .map_err(JwtError::Internal)
    }

    /// Runs `identity` on verified claims (Flask-JWT's `identity_handler`).
    ///
    /// # Errors
    /// [`JwtError::UnknownIdentity`] when it finds no user, [`JwtError::Internal`] when the
    /// callback fails.
    pub async fn identify(&self, claims: Claims<I::Id>) -> Result<I, JwtError> {
        (self.inner.identity)(claims)
            .await
            .map_err(JwtError::Internal)?
            .ok_or(JwtError::UnknownIdentity)
    }

    /// The whole of Flask-JWT's `_jwt_required`: finds the token, verifies it and loads the
    /// user. What [`CurrentIdentity`](crate::CurrentIdentity) runs.
    ///
    /// # Errors
    /// Every 401 of the error table, or a 500 from a failing callback.
    #[doc(alias = "_jwt_required")]
    #[doc(alias = "jwt_required")]
    pub async fn authorize(&self, request: &Parts) -> Result<(Claims<I::Id>, I), JwtError> {
        self.authorize_as(request, TokenType::Access).await
    }

    /// [`authorize`](Self::authorize) for a token of type `expected`: the token checks, then
    /// `identity`, then (for a token read from a cookie) the CSRF double submit, so that a
    /// token that is bad in any way gets its own 401 whatever the CSRF header says.
    pub(crate) async fn authorize_as(
        &self,
        request: &Parts,
        expected: TokenType,
    ) -> Result<(Claims<I::Id>, I), JwtError> {
        let span = tracing::debug_span!(
            "jwt_gate.authorize",
            outcome = tracing::field::Empty,
            reason = tracing::field::Empty,
            identity = tracing::field::Empty,
        );
        let authorized = if span.is_disabled() {
            self.authorize_checks(request, expected).await
        } else {
            // Boxed: tracing at DEBUG is the rare case, and its wrapper would enlarge (and be
            // moved with) every request's future.
            Box::pin(
                self.authorize_checks(request, expected)
                    .instrument(span.clone()),
            )
            .await
        };
        observe(&span, &authorized, |(claims, _)| &claims.identity);
        authorized
    }

    /// The checks of [`authorize_as`](Self::authorize_as), outside its span.
    async fn authorize_checks(
        &self,
        request: &Parts,
        expected: TokenType,
    ) -> Result<(Claims<I::Id>, I), JwtError> {
        let (claims, origin) = self.checked_claims(request, expected).await?;
        let user = self.identify(claims.clone()).await?;
        csrf_if_cookie(request, origin, &claims)?;
        Ok((claims, user))
    }

    /// Finds the request's token and verifies it as a token of type `expected`: signature and
    /// claims, then, with a revocation store, its `type` and whether it was revoked. Does not
    /// run `identity`.
    ///
    /// # Errors
    /// Every 401 of the error table; 503 when the store fails.
    pub async fn authorize_claims(
        &self,
        request: &Parts,
        expected: TokenType,
    ) -> Result<Claims<I::Id>, JwtError> {
        let span = tracing::debug_span!(
            "jwt_gate.authorize_claims",
            outcome = tracing::field::Empty,
            reason = tracing::field::Empty,
            identity = tracing::field::Empty,
        );
        let authorized = async {
            let (claims, origin) = self.checked_claims(request, expected).await?;
            csrf_if_cookie(request, origin, &claims)?;
            Ok(claims)
        };
        let authorized = if span.is_disabled() {
            authorized.await
        } else {
            Box::pin(authorized.instrument(span.clone())).await
        };
        observe(&span, &authorized, |claims| &claims.identity);
        authorized
    }

    /// The request's token, verified and (with a store) checked for type and revocation.
    async fn checked_claims(
        &self,
        request: &Parts,
        expected: TokenType,
    ) -> Result<(Claims<I::Id>, Origin), JwtError> {
        let (token, origin) = self
            .locate(request, expected)?
            .ok_or(JwtError::MissingToken)?;
        let claims = match (self.verify(&token), &self.inner.keys) {
            // A `kid` the source lacks may be a key it has not fetched yet: one refresh (which
            // the source rate-limits), then one more try.
            (Err(JwtError::InvalidToken(TokenError::UnknownKeyId)), KeyHolder::Source(source)) => {
                source.refresh().await;
                self.verify(&token)?
            }
            (verified, _) => verified?,
        };
        // Boxed, and only with a store: its future (a store call under a timer) is many times
        // the size of the rest, and an unboxed one would be moved around on every request.
        if self.inner.store.is_some() {
            Box::pin(self.check_lifecycle(&claims, expected)).await?;
        }
        Ok((claims, origin))
    }

    /// Issued tokens, with their `csrf` claims and the body policy of the token location.
    fn tokens(
        &self,
        (access_token, access_csrf): (String, Option<String>),
        refresh: Option<(String, Option<String>)>,
    ) -> Tokens {
        let (refresh_token, refresh_csrf) = refresh.unzip();
        let mut tokens = Tokens::new(access_token, refresh_token);
        tokens.csrf = (access_csrf, refresh_csrf.flatten());
        tokens.cookies_only = self.inner.location == TokenLocation::Cookies;
        tokens
    }

    /// Sets the cookies of `tokens` on `response`, when tokens travel in cookies.
    pub(crate) fn set_cookies(&self, response: &mut Response, tokens: &Tokens) {
        if !self.inner.location.uses_cookies() {
            return;
        }
        let config = self.config();
        let jar = CookieJar {
            secure: self.inner.secure_cookies,
            config: &config,
        };
        let access_csrf = tokens.csrf.0.clone().unwrap_or_default();
        let refresh_csrf = tokens.csrf.1.clone().unwrap_or_default();
        let refresh = tokens
            .refresh_token
            .as_deref()
            .map(|token| (token, refresh_csrf.as_str()));
        jar.set(
            response.headers_mut(),
            (&tokens.access_token, &access_csrf),
            refresh,
        );
    }

    /// Clears the four cookies on `response`, when tokens travel in cookies.
    pub(crate) fn clear_cookies(&self, response: &mut Response) {
        if !self.inner.location.uses_cookies() {
            return;
        }
        let config = self.config();
        CookieJar {
            secure: self.inner.secure_cookies,
            config: &config,
        }
        .clear(response.headers_mut());
    }

    /// Where requests carry tokens.
    #[must_use]
    pub fn token_location(&self) -> TokenLocation {
        self.inner.location
    }

    pub(crate) fn throttle(&self) -> Option<&LoginThrottle> {
        self.inner.throttle.as_ref()
    }

    pub(crate) fn now_millis(&self) -> i64 {
        unix_millis(&*self.inner.clock)
    }

    /// Renders `error` through the error handler. A 401 gets
    /// `WWW-Authenticate: <prefix> realm="<realm>"` unless the handler set one.
    #[doc(alias = "jwt_error_handler")]
    pub fn error_response(&self, error: &JwtError) -> Response {
        match error {
            JwtError::Internal(cause) => {
                tracing::error!(error = %cause, "jwt-gate: callback failed")
            }
            other => {
                tracing::debug!(status = other.status().as_u16(), description = %other, "jwt-gate: request refused")
            }
        }
        let mut response = (self.inner.error_handler)(error);
        if response.status() == StatusCode::UNAUTHORIZED
            && !response.headers().contains_key(WWW_AUTHENTICATE)
            && let Ok(challenge) = HeaderValue::try_from(self.config().challenge())
        {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        if let JwtError::Throttled { retry_after } = error {
            response
                .headers_mut()
                .entry(http::header::RETRY_AFTER)
                .or_insert_with(|| HeaderValue::from(*retry_after));
        }
        response
    }

    /// `error` as an axum rejection, rendered through the error handler.
    #[must_use]
    pub fn reject(&self, error: JwtError) -> JwtRejection {
        let response = self.error_response(&error);
        JwtRejection::new(error, response)
    }

    /// The login response for `tokens`: the `auth_response` hook, with
    /// `Cache-Control: no-store` added unless the hook set a `Cache-Control`.
    pub(crate) fn auth_response(&self, tokens: Tokens, user: &I) -> Response {
        let for_cookies = self.inner.location.uses_cookies().then(|| tokens.clone());
        let mut response = (self.inner.auth_response)(tokens, user);
        if let Some(tokens) = for_cookies
            && response.status().is_success()
        {
            self.set_cookies(&mut response, &tokens);
        }
        crate::routing::no_store(response)
    }

    pub(crate) fn mark_login_mounted(&self) {
        self.inner.login_mounted.store(true, Ordering::SeqCst);
    }
}

/// Builds a [`Jwt`]. Every hook has Flask-JWT's default; `authenticate` and `identity` are
/// required.
#[must_use]
pub struct JwtBuilder<I: Identity> {
    keys: KeyHolder,
    config: JwtConfig,
    clock: Arc<dyn Clock>,
    authenticate: Option<AuthenticateFn<I>>,
    identity: Option<IdentityFn<I>>,
    auth_response: AuthResponseFn<I>,
    error_handler: ErrorHandlerFn,
    payload: Option<ClaimsFn<I>>,
    headers: Option<ClaimsFn<I>>,
    token_source: Arc<dyn TokenSource>,
    store: Option<Arc<dyn RevocationStore>>,
    throttle: Option<LoginThrottle>,
    location: TokenLocation,
    secure_cookies: bool,
}

impl<I: Identity> fmt::Debug for JwtBuilder<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBuilder")
            .field("keys", &self.keys)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<I: Identity> JwtBuilder<I> {
    /// The settings (default: [`JwtConfig::default`], Flask-JWT's defaults).
    pub fn config(mut self, config: JwtConfig) -> Self {
        self.config = config;
        self
    }

    /// The clock (default: [`SystemClock`]); tests pass a [`FixedClock`](crate::FixedClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Finds the user for login credentials: `Ok(Some(user))` logs in, `Ok(None)` is 401
    /// `Invalid credentials`, `Err` is a 500 (the cause goes to the log only).
    ///
    /// Compare passwords in constant time (argon2's verify, or `subtle`).
    #[doc(alias = "authentication_handler")]
    pub fn authenticate<F, Fut, E>(mut self, authenticate: F) -> Self
    where
        F: Fn(Credentials) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<I>, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.authenticate = Some(boxed_lookup(authenticate));
        self
    }

    /// Finds the user a verified token names: `Ok(Some(user))` is the current identity,
    /// `Ok(None)` is 401 `User does not exist`, `Err` is a 500.
    #[doc(alias = "identity_handler")]
    pub fn identity<F, Fut, E>(mut self, identity: F) -> Self
    where
        F: Fn(Claims<I::Id>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<I>, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.identity = Some(boxed_lookup(identity));
        self
    }

    /// The login response (default: `{"access_token": "<token>"}`). `Cache-Control: no-store`
    /// is added unless the response sets its own `Cache-Control`.
    #[doc(alias = "auth_response_handler")]
    pub fn auth_response<F, R>(mut self, auth_response: F) -> Self
    where
        F: Fn(Tokens, &I) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.auth_response =
            Arc::new(move |tokens, user| auth_response(tokens, user).into_response());
        self
    }

    /// The response for every [`JwtError`] (default: Flask-JWT's
    /// `{"status_code", "error", "description"}`). A 401 gets `WWW-Authenticate` unless the
    /// handler set one.
    #[doc(alias = "jwt_error_handler")]
    pub fn error_handler<F, R>(mut self, error_handler: F) -> Self
    where
        F: Fn(&JwtError) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.error_handler = Arc::new(move |error| error_handler(error).into_response());
        self
    }

    /// Extra claims for a user's tokens. `identity`, `exp`, `iat` and `nbf` are always
    /// jwt-gate's and cannot be overridden here.
    #[doc(alias = "jwt_payload_handler")]
    pub fn payload<F>(mut self, payload: F) -> Self
    where
        F: Fn(&I) -> Map<String, Value> + Send + Sync + 'static,
    {
        self.payload = Some(Arc::new(payload));
        self
    }

    /// Extra JOSE header fields for a user's tokens, such as `kid`. `alg` is always the key's
    /// and `crit` is dropped.
    #[doc(alias = "jwt_headers_handler")]
    pub fn headers<F>(mut self, headers: F) -> Self
    where
        F: Fn(&I) -> Map<String, Value> + Send + Sync + 'static,
    {
        self.headers = Some(Arc::new(headers));
        self
    }

    /// Where requests carry their token (default: [`AuthorizationHeader`]).
    #[doc(alias = "request_handler")]
    pub fn token_source(mut self, token_source: impl TokenSource) -> Self {
        self.token_source = Arc::new(token_source);
        self
    }

    /// Turns the token lifecycle on, with `store` holding revocations and refresh families:
    /// logins also issue refresh tokens, every token carries `jti`, `type`, `fam` and `iat_ms`
    /// (access tokens `fresh`), [`routes`](Jwt::routes) also mounts refresh, logout and
    /// logout-all, and every verification checks revocation (503 when the store fails).
    ///
    /// ```
    /// # use jwt_gate::{Claims, Credentials, Identity, Jwt, Keys, MemoryStore};
    /// # #[derive(Clone)] struct User;
    /// # impl Identity for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// use std::sync::Arc;
    /// let jwt: Jwt<User> = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!")?)
    ///     .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(Some(User)) })
    ///     .identity(|_: Claims<i64>| async { Ok::<_, std::io::Error>(Some(User)) })
    ///     .revocation_store(Arc::new(MemoryStore::new()))
    ///     .build()?;
    /// # Ok::<(), jwt_gate::ConfigError>(())
    /// ```
    pub fn revocation_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Throttles failed logins (recommended in production): see [`LoginThrottle`].
    ///
    /// ```
    /// # use jwt_gate::{Claims, Credentials, Identity, Jwt, Keys, LoginThrottle};
    /// # #[derive(Clone)] struct User;
    /// # impl Identity for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// let jwt: Jwt<User> = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!")?)
    ///     .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(None) })
    ///     .identity(|_: Claims<i64>| async { Ok::<_, std::io::Error>(Some(User)) })
    ///     .login_throttle(LoginThrottle::new(5))
    ///     .build()?;
    /// # Ok::<(), jwt_gate::ConfigError>(())
    /// ```
    pub fn login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Where requests carry tokens (default [`TokenLocation::Headers`], Flask-JWT's). With
    /// cookies, logins, refreshes and logouts set and clear Flask-JWT-Extended's four cookies,
    /// every token carries a `csrf` claim, and cookie-authenticated `POST`, `PUT`, `PATCH` and
    /// `DELETE` requests must send it back in `X-CSRF-TOKEN` (double submit). A `POST /logout`
    /// route is mounted even without a revocation store, to clear the cookies.
    pub fn token_location(mut self, location: TokenLocation) -> Self {
        self.location = location;
        self
    }

    /// Whether cookies carry `Secure` (default `true`; browsers treat `http://localhost` and
    /// `http://127.0.0.1` as secure, any other plain-http origin needs `false`).
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// Checks everything and builds the [`Jwt`].
    ///
    /// # Errors
    /// Invalid settings, or a missing `authenticate` or `identity` callback.
    pub fn build(mut self) -> Result<Jwt<I>, ConfigError> {
        if let KeyHolder::Source(source) = &self.keys
            && let Some(issuer) = source.issuer()
        {
            require_issuer_checks(&mut self.config, issuer)?;
        }
        self.config.validate(unix_seconds(&*self.clock))?;
        if self.store.is_some() || self.location.uses_cookies() {
            validate_distinct_routes(&self.config)?;
        }
        let authenticate = self
            .authenticate
            .ok_or(ConfigError::MissingCallback("authenticate"))?;
        let identity = self
            .identity
            .ok_or(ConfigError::MissingCallback("identity"))?;
        Ok(Jwt {
            inner: Arc::new(Inner {
                keys: self.keys,
                config: ArcSwap::from_pointee(self.config),
                clock: self.clock,
                authenticate,
                identity,
                auth_response: self.auth_response,
                error_handler: self.error_handler,
                payload: self.payload,
                headers: self.headers,
                token_source: self.token_source,
                store: self.store,
                throttle: self.throttle,
                location: self.location,
                secure_cookies: self.secure_cookies,
                verify_cache: VerifyCache::new(),
                logins: std::sync::atomic::AtomicU64::new(0),
                login_mounted: AtomicBool::new(false),
            }),
        })
    }
}

/// Keys of a discovered issuer verify only that issuer's tokens, and only those meant for this
/// service: without the `aud` check, a token the issuer made for any other application would
/// be accepted here.
fn require_issuer_checks(config: &mut JwtConfig, issuer: &str) -> Result<(), ConfigError> {
    match &config.issuer {
        None => config.issuer = Some(issuer.to_owned()),
        Some(configured) if configured == issuer => {}
        Some(_) => {
            return Err(ConfigError::invalid(
                "JWT_ISSUER",
                "is not the issuer the keys were discovered from",
            ));
        }
    }
    if config.audience.is_empty() {
        return Err(ConfigError::invalid(
            "JWT_AUDIENCE",
            "required with keys discovered from an issuer: name this service's audience",
        ));
    }
    Ok(())
}

fn seconds(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// A new random id (128 bits, base64url): for `jti` and family ids.
pub(crate) fn new_id() -> Result<String, JwtError> {
    use base64::Engine as _;
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| JwtError::internal(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Records the outcome of an authorization on its span (when enabled) and counts a refusal in
/// the metrics; the identity id is logged, never the token.
fn observe<T, Id: fmt::Debug>(
    span: &tracing::Span,
    result: &Result<T, JwtError>,
    identity: impl Fn(&T) -> &Id,
) {
    match result {
        Ok(_) if span.is_disabled() => {}
        Ok(value) => {
            span.record("outcome", "ok");
            span.record("identity", tracing::field::debug(identity(value)));
        }
        Err(error) => {
            span.record("outcome", "refused");
            if let Some(reason) = crate::metrics::failure_reason(error) {
                span.record("reason", reason);
            }
            crate::metrics::auth_failure(error);
        }
    }
}

/// The CSRF double submit, for a token read from a cookie (after every token check).
fn csrf_if_cookie<Id>(
    request: &Parts,
    origin: Origin,
    claims: &Claims<Id>,
) -> Result<(), JwtError> {
    if origin == Origin::Cookie {
        check_csrf(request, claims.csrf.as_deref())?;
    }
    Ok(())
}

/// With the lifecycle on, the login, refresh, logout and logout-all routes need four paths.
fn validate_distinct_routes(config: &JwtConfig) -> Result<(), ConfigError> {
    let rules = [
        ("JWT_AUTH_URL_RULE", &config.auth_url_rule),
        ("refresh_url_rule", &config.refresh_url_rule),
        ("logout_url_rule", &config.logout_url_rule),
        ("logout_all_url_rule", &config.logout_all_url_rule),
    ];
    for (i, (name, rule)) in rules.iter().enumerate() {
        if rules[..i].iter().any(|(_, other)| other == rule) {
            return Err(ConfigError::invalid(
                name,
                format!("{rule:?} is already the path of another jwt-gate route"),
            ));
        }
    }
    Ok(())
}
