//! The test kit (feature `test-kit`): tokens of every kind in one line, a clock that tests move,
//! and requests sent to a [`Router`] without a server.
//!
//! For tests only: enable it for your tests alone,
//!
//! ```toml
//! [dev-dependencies]
//! jwt-gate = { version = "0.1", features = ["test-kit"] }
//! ```
//!
//! and nothing of it is compiled into the service. The kit uses the library's public API (it
//! signs through [`Jwt::issue`] with the service's own keys and settings), so the tokens it
//! mints have exactly the claims the service issues: `identity`, `iat`, `nbf`, `exp`, the
//! `payload` hook's extras, the lifecycle claims with a revocation store, the `csrf` claim with
//! tokens in cookies, and the `headers` hook's fields.
//!
//! | token | how | the service answers |
//! |---|---|---|
//! | [`valid`](TestKit::valid) | [`Jwt::issue`] now | 200 |
//! | [`expired`](TestKit::expired) | issued `expiration_delta` + `leeway` + 1 s ago | 401 `Signature has expired` |
//! | [`not_yet_valid`](TestKit::not_yet_valid) | `nbf` = now + `leeway` + 1 s | 401 `The token is not yet valid (nbf)` |
//! | [`wrong_key`](TestKit::wrong_key) | signed with a random key of the same algorithm | 401 `Signature verification failed` |
//! | [`wrong_algorithm`](TestKit::wrong_algorithm) | `alg` HS512 for an HS256 or HS384 key, HS256 for HS512 | 401 `The specified alg value is not allowed` |
//! | [`alg_none`](TestKit::alg_none) | `alg: none`, no signature | 401 `The specified alg value is not allowed` |
//! | [`tampered`](TestKit::tampered) | a valid token with one byte of its payload changed | 401 `Signature verification failed` |
//!
//! ```
//! use std::time::Duration;
//! use axum::{Json, Router, http::StatusCode, routing::get};
//! use jwt_gate::{Claims, Credentials, CurrentIdentity, Identity, Jwt, Keys};
//! use jwt_gate::test_kit::{TestClock, TestKit};
//! use serde_json::{Value, json};
//!
//! #[derive(Clone)]
//! struct User { id: i64 }
//! impl Identity for User {
//!     type Id = i64;
//!     fn id(&self) -> i64 { self.id }
//! }
//! async fn me(CurrentIdentity(user): CurrentIdentity<User>) -> Json<Value> {
//!     Json(json!({"id": user.id}))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let clock = TestClock::at_unix_seconds(1_700_000_000);
//! let jwt = Jwt::builder(Keys::hs256("a secret of at least thirty-two bytes!!").unwrap())
//!     .clock(clock.clone())
//!     .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(None) })
//!     .identity(|c: Claims<i64>| async move { Ok::<_, std::io::Error>(Some(User { id: c.identity })) })
//!     .build()
//!     .unwrap();
//! let app = Router::new().route("/me", get(me)).with_state(jwt.clone());
//! let kit = TestKit::new(&jwt);
//!
//! let token = kit.valid(&User { id: 7 });
//! let response = kit.get_with_token(&app, "/me", &token).await;
//! assert_eq!(response.status, StatusCode::OK);
//! assert_eq!(response.json(), json!({"id": 7}));
//!
//! // Five minutes and the ten seconds of leeway later, the same token has expired.
//! clock.advance(Duration::from_secs(311));
//! let response = kit.get_with_token(&app, "/me", &token).await;
//! assert_eq!(response.status, StatusCode::UNAUTHORIZED);
//! assert_eq!(response.json()["description"], "Signature has expired");
//!
//! let response = kit.get_with_token(&app, "/me", &kit.tampered(&User { id: 7 })).await;
//! assert_eq!(response.json()["description"], "Signature verification failed");
//! # }
//! ```
//!
//! Everything here panics instead of returning errors (a failing test is a panic), with a
//! message that says what went wrong.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use cookie::Cookie;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Map, Value};
use tower::ServiceExt as _;

use crate::claims::{Claims, RESERVED_CLAIMS};
use crate::clock::{Clock, FixedClock};
use crate::config::JwtConfig;
use crate::cookies::{ACCESS_COOKIE, CSRF_HEADER, REFRESH_COOKIE};
use crate::handlers::Credentials;
use crate::identity::Identity;
use crate::jwt::Jwt;
use crate::keys::{Algorithm, Key, Keys};

// ---------------------------------------------------------------------------------------------
// The clock.

/// A clock for tests: frozen until moved ([`advance`](Self::advance),
/// [`rewind`](Self::rewind), [`set_unix_seconds`](Self::set_unix_seconds)), or running with
/// the wall clock after [`resume`](Self::resume) until [`freeze`](Self::freeze) stops it again.
///
/// Clones share one time: give a clone to [`JwtBuilder::clock`](crate::JwtBuilder::clock) and
/// keep the other to move it.
///
/// ```
/// use std::time::Duration;
/// use jwt_gate::test_kit::TestClock;
///
/// let clock = TestClock::at_unix_seconds(1_700_000_000);
/// let jwt_clock = clock.clone(); // for `Jwt::builder(keys).clock(jwt_clock)`
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(jwt_gate::unix_seconds(&jwt_clock), 1_700_000_060);
/// clock.rewind(Duration::from_millis(500));
/// assert_eq!(clock.unix_millis(), 1_700_000_059_500);
///
/// clock.resume(); // runs with the wall clock from where it stood
/// clock.freeze(); // and stands still again
/// assert!(clock.is_frozen() && clock.unix_millis() >= 1_700_000_059_500);
/// ```
#[derive(Clone, Debug)]
pub struct TestClock {
    state: Arc<Mutex<ClockState>>,
}

#[derive(Clone, Copy, Debug)]
enum ClockState {
    /// Reads `millis`.
    Frozen { millis: i64 },
    /// Read `millis` at `since`, and runs with the wall clock.
    Running { millis: i64, since: Instant },
}

impl ClockState {
    fn millis(self) -> i64 {
        match self {
            Self::Frozen { millis } => millis,
            Self::Running { millis, since } => {
                let elapsed = i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX);
                millis.saturating_add(elapsed)
            }
        }
    }
}

impl TestClock {
    /// A frozen clock reading `seconds` after the Unix epoch.
    #[must_use]
    pub fn at_unix_seconds(seconds: i64) -> Self {
        Self::frozen_at_millis(seconds.saturating_mul(1000))
    }

    /// A frozen clock reading the current system time, truncated to whole seconds (so that
    /// `iat_ms` is `iat × 1000`).
    #[must_use]
    pub fn new() -> Self {
        Self::at_unix_seconds(crate::clock::unix_seconds(&crate::clock::SystemClock))
    }

    fn frozen_at_millis(millis: i64) -> Self {
        Self {
            state: Arc::new(Mutex::new(ClockState::Frozen { millis })),
        }
    }

    fn update(&self, change: impl FnOnce(i64) -> i64) {
        // Each update replaces the whole state: a poisoned lock still holds a consistent one.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = match *state {
            ClockState::Frozen { millis } => ClockState::Frozen {
                millis: change(millis),
            },
            running @ ClockState::Running { .. } => ClockState::Running {
                millis: change(running.millis()),
                since: Instant::now(),
            },
        };
    }

    fn state(&self) -> ClockState {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the clock at its current reading (a frozen clock stays as it is).
    pub fn freeze(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = ClockState::Frozen {
            millis: state.millis(),
        };
    }

    /// Lets the clock run with the wall clock from its current reading (a running clock runs
    /// on).
    pub fn resume(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let ClockState::Frozen { millis } = *state {
            *state = ClockState::Running {
                millis,
                since: Instant::now(),
            };
        }
    }

    /// Whether the clock stands still.
    #[must_use]
    pub fn is_frozen(&self) -> bool {
        matches!(self.state(), ClockState::Frozen { .. })
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.update(|millis| millis.saturating_add(by));
    }

    /// Moves the clock backward by `by`.
    pub fn rewind(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.update(|millis| millis.saturating_sub(by));
    }

    /// Moves the clock to `seconds` after the Unix epoch (it keeps running if it was).
    pub fn set_unix_seconds(&self, seconds: i64) {
        self.update(|_| seconds.saturating_mul(1000));
    }

    /// Whole seconds since the Unix epoch, as jwt-gate reads them.
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        self.unix_millis().div_euclid(1000)
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub fn unix_millis(&self) -> i64 {
        self.state().millis()
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        let millis = self.unix_millis();
        let offset = Duration::from_millis(millis.unsigned_abs());
        if millis >= 0 {
            UNIX_EPOCH + offset
        } else {
            UNIX_EPOCH - offset
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens.

/// Mints tokens for a [`Jwt`] and sends requests carrying them: see the [module](self).
///
/// Cheap to clone. The time of a token is the `Jwt`'s clock (any [`Clock`]; a [`TestClock`]
/// lets the test move it), and its lifetime, leeway and not-before delta are the `Jwt`'s
/// settings at the time of minting.
pub struct TestKit<I: Identity> {
    jwt: Jwt<I>,
}

impl<I: Identity> fmt::Debug for TestKit<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKit").field("jwt", &self.jwt).finish()
    }
}

impl<I: Identity> Clone for TestKit<I> {
    fn clone(&self) -> Self {
        Self {
            jwt: self.jwt.clone(),
        }
    }
}

impl<I: Identity> TestKit<I> {
    /// A kit for `jwt` (the `Jwt` the router under test holds).
    #[must_use]
    pub fn new(jwt: &Jwt<I>) -> Self {
        Self { jwt: jwt.clone() }
    }

    /// The `Jwt` the kit mints for.
    #[must_use]
    pub fn jwt(&self) -> &Jwt<I> {
        &self.jwt
    }

    /// A valid access token for `user`, issued now: [`Jwt::issue`].
    ///
    /// # Panics
    /// When [`Jwt::issue`] fails (the id or an extra claim does not serialize).
    #[must_use]
    pub fn valid(&self, user: &I) -> String {
        self.jwt
            .issue(user)
            .unwrap_or_else(|error| panic!("test kit: issuing a token failed: {error}"))
    }

    /// A token for `user` with the claims the service issued `ago` before now (its `iat`,
    /// `nbf`, `exp` and `iat_ms` all moved back), signed with the service's key: for the
    /// boundaries of the lifetime and the leeway.
    ///
    /// # Panics
    /// As [`valid`](Self::valid).
    #[must_use]
    pub fn issued_ago(&self, user: &I, ago: Duration) -> String {
        let at = self.now().checked_sub(ago).unwrap_or(UNIX_EPOCH);
        self.mint(user, self.jwt.keys(), at, |_| {})
    }

    /// A token for `user` that expired one second beyond the leeway: issued
    /// `expiration_delta` + `leeway` + 1 s ago. 401 `Signature has expired`.
    ///
    /// # Panics
    /// As [`valid`](Self::valid).
    #[must_use]
    pub fn expired(&self, user: &I) -> String {
        let config = self.jwt.config();
        let ago = config.expiration_delta + config.leeway + Duration::from_secs(1);
        self.issued_ago(user, ago)
    }

    /// A token for `user` issued now whose `nbf` is one second beyond the leeway (its
    /// `not_before_delta` raised to `leeway` + 1 s). 401 `The token is not yet valid (nbf)`.
    ///
    /// # Panics
    /// As [`valid`](Self::valid).
    #[must_use]
    pub fn not_yet_valid(&self, user: &I) -> String {
        self.mint(user, self.jwt.keys(), self.now(), |config| {
            let beyond_leeway = config.leeway + Duration::from_secs(1);
            config.not_before_delta = config.not_before_delta.max(beyond_leeway);
        })
    }

    /// A token for `user` with the service's claims, algorithm and `kid`, signed with another
    /// key (a random 64-byte secret, or a new key pair). 401 `Signature verification failed`.
    ///
    /// # Panics
    /// As [`valid`](Self::valid).
    #[must_use]
    pub fn wrong_key(&self, user: &I) -> String {
        let service = self.jwt.keys();
        let keys = random_keys(service.algorithm(), service_kid(&service));
        self.mint(user, keys, self.now(), |_| {})
    }

    /// A token for `user` with the service's claims and `kid` whose header names another
    /// algorithm (HS512 for an HS256 or HS384 key, HS256 for an HS512 key or a key pair),
    /// signed with a random secret of that algorithm: the algorithm-confusion attempt. jwt-gate
    /// checks `alg` before the signature, so the answer is 401
    /// `The specified alg value is not allowed` whatever the key.
    ///
    /// # Panics
    /// As [`valid`](Self::valid).
    #[must_use]
    pub fn wrong_algorithm(&self, user: &I) -> String {
        let service = self.jwt.keys();
        let other = match service.algorithm() {
            Algorithm::HS256 | Algorithm::HS384 => Algorithm::HS512,
            _ => Algorithm::HS256,
        };
        let keys = random_keys(other, service_kid(&service));
        self.mint(user, keys, self.now(), |_| {})
    }

    /// A valid token for `user` turned into an unsecured JWT: header `alg` `none` (the other
    /// header fields kept), the same payload, an empty signature (`<header>.<payload>.`).
    /// 401 `The specified alg value is not allowed`.
    ///
    /// # Panics
    /// As [`valid`](Self::valid).
    #[must_use]
    pub fn alg_none(&self, user: &I) -> String {
        let valid = self.valid(user);
        let (header, payload, _) = segments(&valid);
        let mut header = json_object(header, "header");
        header.insert("alg".to_owned(), Value::from("none"));
        let header = serde_json::to_vec(&header)
            .unwrap_or_else(|error| panic!("test kit: serializing a header failed: {error}"));
        format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header))
    }

    /// A valid token for `user` with one byte of its payload changed and its signature kept:
    /// the last digit of `exp` moves by one, so the payload is still canonical base64url and
    /// valid JSON, and only the signature gives the change away. 401
    /// `Signature verification failed`.
    ///
    /// # Panics
    /// As [`valid`](Self::valid).
    #[must_use]
    pub fn tampered(&self, user: &I) -> String {
        let valid = self.valid(user);
        let (header, payload, signature) = segments(&valid);
        let mut bytes = decode(payload, "payload");
        let index = exp_last_digit(&bytes).unwrap_or(bytes.len() / 2);
        bytes[index] = match bytes[index] {
            b'9' => b'8',
            digit @ b'0'..=b'8' => digit + 1,
            other => other ^ 1,
        };
        format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The time on the `Jwt`'s clock.
    fn now(&self) -> SystemTime {
        self.jwt.clock().now()
    }

    /// A token for `user` as the service would issue it at `at` with its settings changed by
    /// `change`, signed with `keys`: issued by a `Jwt` with the service's settings, token
    /// location and revocation store, whose `payload` and `headers` hooks give the extra
    /// claims and header fields of a token the service issues now.
    fn mint(
        &self,
        user: &I,
        keys: Keys,
        at: SystemTime,
        change: impl FnOnce(&mut JwtConfig),
    ) -> String {
        let template = self.valid(user);
        let (header, payload, _) = segments(&template);
        let mut extra_header = json_object(header, "header");
        extra_header.remove("alg");
        if extra_header.get("typ").and_then(Value::as_str) == Some("JWT") {
            extra_header.remove("typ");
        }
        let mut extra_claims = json_object(payload, "payload");
        for claim in RESERVED_CLAIMS {
            extra_claims.remove(claim);
        }

        let mut config = JwtConfig::clone(&self.jwt.config());
        change(&mut config);
        let clock = FixedClock::at_unix_seconds(0);
        clock.set(at);
        let mut builder = Jwt::<I>::builder(keys)
            .config(config)
            .clock(clock)
            .authenticate(|_: Credentials| async { Ok::<Option<I>, Infallible>(None) })
            .identity(|_: Claims<I::Id>| async { Ok::<Option<I>, Infallible>(None) })
            .token_location(self.jwt.token_location())
            .payload(move |_| extra_claims.clone());
        if !extra_header.is_empty() {
            builder = builder.headers(move |_| extra_header.clone());
        }
        if let Some(store) = self.jwt.revocation_store() {
            builder = builder.revocation_store(Arc::clone(store));
        }
        let minter = builder
            .build()
            .unwrap_or_else(|error| panic!("test kit: these settings cannot mint: {error}"));
        minter
            .issue(user)
            .unwrap_or_else(|error| panic!("test kit: issuing a token failed: {error}"))
    }

    // -----------------------------------------------------------------------------------------
    // Requests.

    /// The `Authorization` value for `token`: `<auth_header_prefix> <token>`, with the prefix
    /// configured now (`JWT` by default).
    ///
    /// # Panics
    /// When `token` cannot be a header value (control characters).
    #[must_use]
    pub fn authorization(&self, token: &str) -> HeaderValue {
        let value = format!("{} {token}", self.jwt.config().auth_header_prefix);
        HeaderValue::try_from(value)
            .unwrap_or_else(|error| panic!("test kit: not a header value: {error}"))
    }

    /// `request` with `Authorization: <prefix> <token>` (replacing any `Authorization`).
    ///
    /// # Panics
    /// As [`authorization`](Self::authorization).
    #[must_use]
    pub fn with_token(&self, mut request: Request<Body>, token: &str) -> Request<Body> {
        let value = self.authorization(token);
        request.headers_mut().insert(AUTHORIZATION, value);
        request
    }

    /// `request` with `token` in its cookie, as a browser sends it in cookie mode: a refresh
    /// token (`type` `refresh`) in `refresh_token_cookie`, any other in
    /// `access_token_cookie`, and the token's `csrf` claim, if it has one, in `X-CSRF-TOKEN`.
    ///
    /// # Panics
    /// When `token` is not a JWT with a JSON payload, or cannot be a cookie value.
    #[must_use]
    pub fn with_cookie(&self, mut request: Request<Body>, token: &str) -> Request<Body> {
        let claims = peek_claims(token);
        let name = if claims["type"] == "refresh" {
            REFRESH_COOKIE
        } else {
            ACCESS_COOKIE
        };
        let cookie = HeaderValue::try_from(format!("{name}={token}"))
            .unwrap_or_else(|error| panic!("test kit: not a cookie value: {error}"));
        request.headers_mut().append(COOKIE, cookie);
        if let Some(csrf) = claims["csrf"].as_str() {
            let csrf = HeaderValue::try_from(csrf)
                .unwrap_or_else(|error| panic!("test kit: not a header value: {error}"));
            request.headers_mut().insert(CSRF_HEADER, csrf);
        }
        request
    }

    /// Sends `request` with `Authorization: <prefix> <token>` to `router`.
    ///
    /// # Panics
    /// As [`authorization`](Self::authorization) and [`send`].
    pub async fn send_with_token(
        &self,
        router: &Router,
        request: Request<Body>,
        token: &str,
    ) -> TestResponse {
        send(router, self.with_token(request, token)).await
    }

    /// `GET <path>` with `Authorization: <prefix> <token>`, sent to `router`.
    ///
    /// # Panics
    /// As [`send_with_token`](Self::send_with_token), or for a path that is not a URI.
    pub async fn get_with_token(&self, router: &Router, path: &str, token: &str) -> TestResponse {
        let request = Request::get(path)
            .body(Body::empty())
            .unwrap_or_else(|error| panic!("test kit: not a request to {path:?}: {error}"));
        self.send_with_token(router, request, token).await
    }

    /// A login: `POST` to the login route (`auth_url_rule`) with the configured username and
    /// password keys, `{"<username key>": username, "<password key>": password}`.
    ///
    /// # Panics
    /// As [`send`].
    pub async fn login(&self, router: &Router, username: &str, password: &str) -> TestResponse {
        let config = self.jwt.config();
        let mut body = Map::new();
        body.insert(config.auth_username_key.clone(), Value::from(username));
        body.insert(config.auth_password_key.clone(), Value::from(password));
        send(
            router,
            post_json(&config.auth_url_rule, &Value::Object(body)),
        )
        .await
    }
}

/// The `kid` the service's tokens carry, if they carry one.
fn service_kid(keys: &Keys) -> Option<String> {
    if keys.flask_header() {
        return None;
    }
    keys.signing_key().and_then(Key::kid).map(str::to_owned)
}

/// A ring of one new key of `algorithm` (a random 64-byte secret or a new key pair), known by
/// `kid` if given.
fn random_keys(algorithm: Algorithm, kid: Option<String>) -> Keys {
    let key = if algorithm.is_hmac() {
        let mut secret = [0_u8; 64];
        getrandom::fill(&mut secret)
            .unwrap_or_else(|error| panic!("test kit: no random bytes: {error}"));
        Key::hmac(algorithm, secret)
    } else {
        Key::generate(algorithm)
            .and_then(|pair| Key::from_pem(algorithm, pair.private_pem.as_bytes()))
    }
    .unwrap_or_else(|error| panic!("test kit: no key for {algorithm}: {error}"));
    let key = match kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    };
    Keys::new(key).unwrap_or_else(|error| panic!("test kit: no key ring: {error}"))
}

/// The three segments of a compact JWS.
fn segments(token: &str) -> (&str, &str, &str) {
    let mut parts = token.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature)) => (header, payload, signature),
        _ => panic!("test kit: {token:?} is not a JWT (three dot-separated segments)"),
    }
}

fn decode(segment: &str, what: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|error| panic!("test kit: the {what} is not base64url: {error}"))
}

fn json_object(segment: &str, what: &str) -> Map<String, Value> {
    match serde_json::from_slice(&decode(segment, what)) {
        Ok(Value::Object(object)) => object,
        Ok(other) => panic!("test kit: the {what} is not a JSON object: {other}"),
        Err(error) => panic!("test kit: the {what} is not JSON: {error}"),
    }
}

/// The index of the last digit of `exp` in a payload jwt-gate issued (it starts with
/// `{"exp":<digits>`).
fn exp_last_digit(payload: &[u8]) -> Option<usize> {
    let start = br#"{"exp":"#.len();
    if !payload.starts_with(br#"{"exp":"#) {
        return None;
    }
    let digits = payload[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    (digits > 0).then(|| start + digits - 1)
}

/// The claims of `token`, decoded without any check: for asserting what a token carries.
///
/// # Panics
/// When `token` is not three segments with a base64url JSON object in the middle.
#[must_use]
pub fn peek_claims(token: &str) -> Value {
    Value::Object(json_object(segments(token).1, "payload"))
}

/// The JOSE header of `token`, decoded without any check.
///
/// # Panics
/// When `token` is not three segments with a base64url JSON object first.
#[must_use]
pub fn peek_header(token: &str) -> Value {
    Value::Object(json_object(segments(token).0, "header"))
}

// ---------------------------------------------------------------------------------------------
// Requests and responses.

/// `POST <path>` with `Content-Type: application/json` and `body`.
///
/// # Panics
/// For a path that is not a URI.
#[must_use]
pub fn post_json(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|error| panic!("test kit: not a request to {path:?}: {error}"))
}

/// Sends `request` to `router` with `oneshot` (no server, no socket) and reads the whole
/// answer.
///
/// # Panics
/// When the response body fails.
pub async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .unwrap_or_else(|error| panic!("test kit: reading the response body failed: {error}"))
        .to_bytes();
    TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A response read to the end by [`send`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TestResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON (the message shows the status and the body).
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "test kit: the {} response is not JSON ({error}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of header `name`, if present and text (the first, if repeated).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The value the response sets for cookie `name` (`Set-Cookie`), if it sets one; `Some("")`
    /// for a cookie it clears.
    #[must_use]
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| Cookie::parse(value).ok())
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value().to_owned())
    }
}
