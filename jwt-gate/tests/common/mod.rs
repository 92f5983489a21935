//! The test application shared by every flow: the contract's two users, a [`FixedClock`], a
//! router with protected, optional and claims routes, and tokens crafted by hand with an HMAC
//! that is independent of the library's.

// Each file under `tests/` is its own crate and uses only part of these helpers.
#![allow(
    dead_code,
    reason = "each test crate uses a different subset of the helpers"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::{Json, middleware};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body::Frame;
use jwt_gate::test_kit::{self, TestKit};
use jwt_gate::{
    Claims, Credentials, CurrentClaims, CurrentIdentity, FixedClock, Identity, Jwt, JwtBuilder,
    JwtConfig, Keys,
};
use serde_json::{Value, json};

/// The HMAC secret of the test app (32 bytes, the minimum).
pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// Another valid secret, for "signed with another key".
pub(crate) const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
/// The fixed "now" of every test, in Unix seconds.
pub(crate) const NOW: i64 = 1_700_000_000;
/// Flask-JWT's default challenge.
pub(crate) const CHALLENGE: &str = r#"JWT realm="Login Required""#;

/// The contract's user: `identity` is the id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) id: i64,
    pub(crate) username: String,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
}

/// id 1 `user1` / `abcxyz`, id 2 `user2` / `xyzabc`.
const USERS: [(i64, &str, &str); 2] = [(1, "user1", "abcxyz"), (2, "user2", "xyzabc")];

pub(crate) fn user(id: i64) -> User {
    let (id, username, _) = USERS
        .iter()
        .find(|(uid, ..)| *uid == id)
        .copied()
        .expect("a fixed user");
    User {
        id,
        username: username.to_owned(),
    }
}

/// The tutorial's `authenticate`: username and password compared exactly.
pub(crate) async fn authenticate(credentials: Credentials) -> Result<Option<User>, Infallible> {
    Ok(USERS
        .iter()
        .find(|(_, name, password)| {
            *name == credentials.username && *password == credentials.password
        })
        .map(|(id, ..)| user(*id)))
}

/// The tutorial's `identity`: the user whose id is the `identity` claim.
pub(crate) async fn identity(claims: Claims<i64>) -> Result<Option<User>, Infallible> {
    Ok(USERS
        .iter()
        .any(|(id, ..)| *id == claims.identity)
        .then(|| user(claims.identity)))
}

/// A builder with the test secret, the two callbacks and `clock`.
pub(crate) fn builder(clock: &Arc<FixedClock>) -> JwtBuilder<User> {
    builder_with_keys(Keys::hs256(SECRET).expect("a valid secret"), clock)
}

/// A builder with `keys`, the two callbacks and `clock`.
pub(crate) fn builder_with_keys(keys: Keys, clock: &Arc<FixedClock>) -> JwtBuilder<User> {
    Jwt::builder(keys)
        .clock(Arc::clone(clock))
        .authenticate(authenticate)
        .identity(identity)
}

pub(crate) fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::at_unix_seconds(NOW))
}

async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn optional(user: Option<CurrentIdentity<User>>) -> Json<Value> {
    Json(json!({"user": user.map(|CurrentIdentity(u)| u.username)}))
}

async fn claims(CurrentClaims(claims): CurrentClaims<User>) -> Json<Value> {
    Json(json!({
        "identity": claims.identity,
        "iat": claims.iat,
        "nbf": claims.nbf,
        "exp": claims.exp,
        "extra": claims.extra,
    }))
}

async fn public() -> Json<Value> {
    Json(json!({"ok": true}))
}

/// The app: `GET /protected` (`{"id", "username"}`), `GET /optional` (`{"user": name|null}`),
/// `GET /claims` (the verified claims), `GET /public`, a group `GET /group/a` guarded by a
/// `from_extractor_with_state` layer, the login from `routes()`, and `json_errors` over all.
pub(crate) fn router(jwt: &Jwt<User>) -> Router {
    let group = Router::new()
        .route("/group/a", get(|| async { Json(json!({"group": "a"})) }))
        .route_layer(middleware::from_extractor_with_state::<
            CurrentIdentity<User>,
            Jwt<User>,
        >(jwt.clone()));
    let app = Router::new()
        .route("/protected", get(protected))
        .route("/optional", get(optional))
        .route("/claims", get(claims))
        .route("/public", get(public))
        .merge(group)
        .merge(jwt.routes());
    jwt.json_errors(app).with_state(jwt.clone())
}

/// A built app with a handle on its clock.
pub(crate) struct TestApp {
    pub(crate) jwt: Jwt<User>,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) router: Router,
}

impl TestApp {
    /// Every Flask-JWT default.
    pub(crate) fn new() -> Self {
        Self::with(|b| b)
    }

    /// The default builder, changed by `customize`.
    pub(crate) fn with(customize: impl FnOnce(JwtBuilder<User>) -> JwtBuilder<User>) -> Self {
        Self::with_keys(Keys::hs256(SECRET).expect("a valid secret"), customize)
    }

    /// Signing with `keys`, the default builder changed by `customize`.
    pub(crate) fn with_keys(
        keys: Keys,
        customize: impl FnOnce(JwtBuilder<User>) -> JwtBuilder<User>,
    ) -> Self {
        let clock = clock();
        let jwt = customize(builder_with_keys(keys, &clock))
            .build()
            .expect("a valid app");
        let router = router(&jwt);
        Self { jwt, clock, router }
    }

    /// A verify-only app: keys from `source`, settings `config`, on `clock`.
    pub(crate) fn verify_only(
        source: impl jwt_gate::KeySource,
        clock: &Arc<FixedClock>,
        config: JwtConfig,
    ) -> Self {
        let jwt = Jwt::builder_with_key_source(source)
            .authenticate(authenticate)
            .identity(identity)
            .clock(Arc::clone(clock))
            .config(config)
            .build()
            .expect("a valid app");
        let router = router(&jwt);
        Self {
            jwt,
            clock: Arc::clone(clock),
            router,
        }
    }

    /// The defaults with the settings changed by `change`.
    pub(crate) fn with_config(change: impl FnOnce(&mut JwtConfig)) -> Self {
        let mut config = JwtConfig::default();
        change(&mut config);
        Self::with(|b| b.config(config))
    }

    /// The test kit for this app's `Jwt`: tokens of every kind, requests with a token.
    pub(crate) fn kit(&self) -> TestKit<User> {
        TestKit::new(&self.jwt)
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        send(&self.router, request).await
    }

    /// `POST <path>` with a JSON body.
    pub(crate) async fn post_json(&self, path: &str, body: &str) -> Reply {
        self.send(post(path, Some("application/json"), body.to_owned()))
            .await
    }

    /// A successful login at `/auth`; returns the token.
    pub(crate) async fn login(&self, username: &str, password: &str) -> String {
        let body = json!({"username": username, "password": password}).to_string();
        let reply = self.post_json("/auth", &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["access_token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }

    /// `GET <path>` with `Authorization: <value>` when given.
    pub(crate) async fn get(&self, path: &str, authorization: Option<&str>) -> Reply {
        self.send(get_request(path, authorization)).await
    }

    /// `GET /protected` with `Authorization: JWT <token>`.
    pub(crate) async fn protected(&self, token: &str) -> Reply {
        self.get("/protected", Some(&format!("JWT {token}"))).await
    }
}

/// A finished response, body read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON; panics when it is not.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text, if present (and only one).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next()?;
        assert!(values.next().is_none(), "several {name} headers");
        Some(value.to_str().expect("a text header"))
    }

    pub(crate) fn challenge(&self) -> Option<&str> {
        self.header(WWW_AUTHENTICATE.as_str())
    }
}

/// Sends `request` with the test kit's `send` (`oneshot`, body read to the end).
pub(crate) async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = test_kit::send(router, request).await;
    Reply {
        status: response.status,
        headers: response.headers,
        body: response.body,
    }
}

/// `POST <path>` with `Content-Type: <content_type>` when given.
pub(crate) fn post(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post(path);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    request.body(body.into()).expect("a request")
}

pub(crate) fn get_request(path: &str, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    request.body(Body::empty()).expect("a request")
}

/// `GET <path>` with one `Authorization` header per value, given as raw bytes.
pub(crate) fn get_with_raw_authorization(path: &str, values: &[&[u8]]) -> Request<Body> {
    let mut request = Request::get(path).body(Body::empty()).expect("a request");
    for value in values {
        request.headers_mut().append(
            AUTHORIZATION,
            HeaderValue::from_bytes(value).expect("a header value"),
        );
    }
    request
}

/// The default error body: `{"status_code", "error", "description"}`.
pub(crate) fn error_body(status: u16, error: &str, description: &str) -> Value {
    json!({"status_code": status, "error": error, "description": description})
}

/// Asserts an error in the default shape, as JSON, with Flask-JWT's default challenge on a 401
/// and no challenge otherwise.
#[track_caller]
pub(crate) fn assert_error(reply: &Reply, status: u16, error: &str, description: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_eq!(reply.json(), error_body(status, error, description));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    if status == 401 {
        assert_eq!(reply.challenge(), Some(CHALLENGE));
    } else {
        assert_eq!(reply.challenge(), None);
    }
}

/// Asserts a 401 `Invalid token` with exactly `description`.
#[track_caller]
pub(crate) fn assert_invalid_token(reply: &Reply, description: &str) {
    assert_error(reply, 401, "Invalid token", description);
}

/// Asserts a 401 `Invalid token` whose description starts with `prefix` (Python's JSON error
/// texts are not reproduced, CONTRACT.md).
#[track_caller]
pub(crate) fn assert_invalid_token_prefix(reply: &Reply, prefix: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let body = reply.json();
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(keys.len(), 3, "{body}");
    assert_eq!(body["status_code"], 401);
    assert_eq!(body["error"], "Invalid token");
    let description = body["description"].as_str().expect("a description");
    assert!(
        description.starts_with(prefix) && description.len() > prefix.len(),
        "{description:?} does not start with {prefix:?}"
    );
    assert_eq!(reply.challenge(), Some(CHALLENGE));
}

/// Asserts a 401 `Invalid JWT` / `User does not exist`.
#[track_caller]
pub(crate) fn assert_unknown_identity(reply: &Reply) {
    assert_error(reply, 401, "Invalid JWT", "User does not exist");
}

/// Asserts `GET /protected` answered user `id`.
#[track_caller]
pub(crate) fn assert_user(reply: &Reply, id: i64) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let user = user(id);
    assert_eq!(
        reply.json(),
        json!({"id": user.id, "username": user.username})
    );
}

// ---------------------------------------------------------------------------------------------
// Tokens by hand.

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .expect("canonical base64url")
}

/// The HMAC of `input` under `secret`, base64url, for `alg` HS256, HS384 or HS512.
pub(crate) fn hmac_b64(alg: &str, secret: &str, input: &str) -> String {
    fn mac<M: Mac + hmac::digest::KeyInit>(secret: &str, input: &str) -> Vec<u8> {
        let mut mac = <M as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    let signature = match alg {
        "HS256" => mac::<Hmac<sha2::Sha256>>(secret, input),
        "HS384" => mac::<Hmac<sha2::Sha384>>(secret, input),
        "HS512" => mac::<Hmac<sha2::Sha512>>(secret, input),
        other => panic!("no HMAC for {other}"),
    };
    b64(signature)
}

/// `<header>.<payload>.<HS256 signature under SECRET>`, from encoded segments.
pub(crate) fn sign_segments(header: &str, payload: &str) -> String {
    sign_segments_with("HS256", SECRET, header, payload)
}

pub(crate) fn sign_segments_with(alg: &str, secret: &str, header: &str, payload: &str) -> String {
    let input = format!("{header}.{payload}");
    let signature = hmac_b64(alg, secret, &input);
    format!("{input}.{signature}")
}

/// A token from JSON texts (kept verbatim, so duplicates and odd numbers survive), signed
/// HS256 with SECRET.
pub(crate) fn sign_json(header: &str, payload: &str) -> String {
    sign_segments(&b64(header), &b64(payload))
}

/// PyJWT's default header text.
pub(crate) const HS256_HEADER: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

/// A token with PyJWT's header and `payload`, signed HS256 with SECRET.
pub(crate) fn token(payload: &Value) -> String {
    sign_json(HS256_HEADER, &payload.to_string())
}

/// The claims Flask-JWT issues at NOW for `identity`.
pub(crate) fn claims_for(identity: &Value) -> Value {
    json!({"exp": NOW + 300, "iat": NOW, "nbf": NOW, "identity": identity})
}

/// Flask-JWT's claims for user 1, with `claim` set to `value` (`null` kept as JSON null).
pub(crate) fn with_claim(claim: &str, value: Value) -> Value {
    let mut claims = claims_for(&json!(1));
    claims[claim] = value;
    claims
}

/// Flask-JWT's claims for user 1 without `claim`.
pub(crate) fn without_claim(claim: &str) -> Value {
    let mut claims = claims_for(&json!(1));
    claims.as_object_mut().expect("an object").remove(claim);
    claims
}

/// Segment `index` (0 header, 1 payload) of `token`, decoded as JSON.
pub(crate) fn segment_json(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("a segment");
    serde_json::from_slice(&unb64(segment)).expect("JSON")
}

// ---------------------------------------------------------------------------------------------
// Bodies.

/// A body that arrives in chunks, with no length known in advance.
pub(crate) struct Chunked {
    chunks: VecDeque<Bytes>,
}

impl Chunked {
    /// `count` chunks of `size` bytes of `byte`.
    pub(crate) fn new(count: usize, size: usize, byte: u8) -> Self {
        Self {
            chunks: (0..count).map(|_| Bytes::from(vec![byte; size])).collect(),
        }
    }
}

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }
}

/// The bytes of `tests/fixtures/<path>`.
pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
}

/// The fixture directory of the key pair an asymmetric algorithm signs with.
pub(crate) fn fixture_dir(algorithm: jwt_gate::Algorithm) -> &'static str {
    match algorithm {
        rsa if rsa.is_rsa() => "rsa",
        jwt_gate::Algorithm::ES256 => "p256",
        jwt_gate::Algorithm::ES384 => "p384",
        jwt_gate::Algorithm::EdDSA => "ed25519",
        other => panic!("{other} has no key pair"),
    }
}
