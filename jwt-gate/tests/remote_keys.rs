//! `RemoteKeys` against a real HTTP server started by each test: fetching and caching a JWKS,
//! rate-limited refreshes on unknown `kid`s, every way a fetch fails (the keys stay), the
//! stale-if-error window, and OpenID Connect discovery with its issuer rule.
//!
//! The cache reads a `FixedClock` moved by hand, so no test waits for a cache to expire; the
//! tokens read another one (`common::clock`).

#![cfg(feature = "remote-keys")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use common::{TestApp, assert_invalid_token, assert_user, builder_with_keys, user};
use http_body::Frame;
use jwt_gate::keys::remote::{RemoteKeys, RemoteKeysBuilder, RemoteKeysError};
use jwt_gate::{Algorithm, FixedClock, Jwt, JwtConfig, Key, KeySource, Keys};
use serde_json::{Value, json};
use tokio::task::JoinSet;

// ---------------------------------------------------------------------------------------------
// The issuer's server.

/// What the server answers at `/jwks.json`.
#[derive(Clone, Debug)]
enum Answer {
    /// 200 with this JSON, and `Cache-Control` if given.
    Json(Value, Option<&'static str>),
    /// This status, with a JSON body.
    Status(StatusCode),
    /// 200 with this body, as text.
    Raw(&'static str),
    /// The published JSON, after this long.
    Slow(Duration),
    /// 200, then a body that sends one chunk and never ends.
    Stall,
    /// 200, then a body without a length that never ends.
    Endless,
}

#[derive(Debug)]
struct ServerState {
    issuer: String,
    jwks: Mutex<Answer>,
    /// The discovery document; `None`: the issuer's usual one.
    discovery: Mutex<Option<Value>>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
}

struct Server {
    addr: SocketAddr,
    state: Arc<ServerState>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// A server on a port of its own, publishing no key yet.
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ServerState {
            issuer: format!("http://{addr}"),
            jwks: Mutex::new(Answer::Json(json!({"keys": []}), None)),
            discovery: Mutex::new(None),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/jwks.json", get(serve_jwks))
            .route("/.well-known/openid-configuration", get(serve_discovery))
            .route("/hop/{n}", get(serve_hop))
            .with_state(Arc::clone(&state));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            state,
            shutdown,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`: the issuer of the discovery document.
    fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn jwks_url(&self) -> String {
        self.url("/jwks.json")
    }

    fn answer(&self, answer: Answer) {
        *self.state.jwks.lock().unwrap() = answer;
    }

    /// Publishes the public halves of `keys`, without `Cache-Control`.
    fn publish(&self, keys: &[&Key]) {
        self.answer(Answer::Json(jwks(keys), None));
    }

    fn set_discovery(&self, document: Value) {
        *self.state.discovery.lock().unwrap() = Some(document);
    }

    /// Requests for the JWKS so far.
    fn hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }

    /// Closes every connection and the listening socket: the port is dead afterwards.
    async fn stop(self) {
        self.shutdown.send(()).unwrap();
        self.task.await.unwrap();
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        value.to_string(),
    )
        .into_response()
}

async fn serve_jwks(State(state): State<Arc<ServerState>>) -> Response {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let answer = state.jwks.lock().unwrap().clone();
    match answer {
        Answer::Json(value, cache_control) => {
            let mut response = json_response(StatusCode::OK, &value);
            if let Some(cache_control) = cache_control {
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
            }
            response
        }
        Answer::Status(status) => json_response(status, &json!({"error": "unavailable"})),
        Answer::Raw(text) => text.into_response(),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            json_response(StatusCode::OK, &json!({"keys": []}))
        }
        Answer::Stall => Body::new(Stall { sent: false }).into_response(),
        Answer::Endless => Body::new(Endless).into_response(),
    }
}

async fn serve_discovery(State(state): State<Arc<ServerState>>) -> Response {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let document = state.discovery.lock().unwrap().clone().unwrap_or_else(|| {
        json!({
            "issuer": state.issuer,
            "jwks_uri": format!("{}/jwks.json", state.issuer),
            "response_types_supported": ["code"],
        })
    });
    json_response(StatusCode::OK, &document)
}

/// `/hop/n` redirects to `/hop/n-1`, and `/hop/0` to the JWKS: `n + 1` redirects.
async fn serve_hop(Path(n): Path<u32>) -> Response {
    let next = match n {
        0 => "/jwks.json".to_owned(),
        n => format!("/hop/{}", n - 1),
    };
    (StatusCode::FOUND, [(LOCATION, next)]).into_response()
}

/// A body without a length that never ends: one KiB of spaces after another.
struct Endless;

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[b' '; 1024])))))
    }
}

/// A body that sends the start of a JWKS, then nothing more, ever.
struct Stall {
    sent: bool,
}

impl http_body::Body for Stall {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.sent {
            return Poll::Pending;
        }
        self.sent = true;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{\"keys\": [")))))
    }
}

// ---------------------------------------------------------------------------------------------
// Keys, tokens and services.

/// A new ES256 key pair (the private key, which also verifies).
fn key_pair() -> Key {
    let pair = Key::generate(Algorithm::ES256).unwrap();
    Key::from_pem(Algorithm::ES256, pair.private_pem.as_bytes()).unwrap()
}

/// A JWKS of the public halves of `keys`.
fn jwks(keys: &[&Key]) -> Value {
    let keys: Vec<Value> = keys.iter().map(|key| key.public_jwk().unwrap()).collect();
    json!({ "keys": keys })
}

/// A token for user 1 signed by `key`, with the settings of `config`.
fn token(key: &Key, config: JwtConfig) -> String {
    builder_with_keys(Keys::new(key.clone()).unwrap(), &common::clock())
        .config(config)
        .build()
        .unwrap()
        .issue(&user(1))
        .unwrap()
}

/// `iss` and the audience `api`.
fn claims_config(issuer: Option<&str>, audience: &str) -> JwtConfig {
    let mut config = JwtConfig::default();
    config.issuer = issuer.map(str::to_owned);
    config.audience = vec![audience.to_owned()];
    config
}

/// The cache's clock: any time, moved by hand.
fn cache_clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::at_unix_seconds(1_000_000))
}

fn remote(server: &Server, clock: &Arc<FixedClock>) -> RemoteKeysBuilder {
    RemoteKeys::jwks(server.jwks_url()).clock(Arc::clone(clock))
}

/// The kids of the source's keys now.
fn kids(source: &RemoteKeys) -> Vec<String> {
    source
        .keys()
        .iter()
        .map(|(key, _)| key.kid().unwrap().to_owned())
        .collect()
}

fn kid(key: &Key) -> String {
    key.kid().unwrap().to_owned()
}

/// Lets background refreshes run, then checks that the server saw `expected` requests.
async fn assert_hits_stay(server: &Server, expected: usize) {
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.hits(), expected);
}

/// Waits (up to 10 s) until `done`.
async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not done within 10 s");
}

/// Waits for the server to have seen `expected` requests (a background refresh), then lets
/// that refresh store its keys.
async fn wait_for_hits(server: &Server, expected: usize) {
    wait_until(|| server.hits() >= expected).await;
    assert_eq!(server.hits(), expected);
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The cached keys last `lifetime` from the last fetch: read (ten times) a second before, they
/// cause no fetch; read when it ends, one background fetch, the `hits`+1st request.
async fn fetched_again_after(
    source: &RemoteKeys,
    clock: &FixedClock,
    server: &Server,
    lifetime: Duration,
    hits: usize,
) {
    clock.advance(lifetime - Duration::from_secs(1));
    for _ in 0..10 {
        let _ = source.keys();
    }
    assert_hits_stay(server, hits).await;
    clock.advance(Duration::from_secs(1));
    let _ = source.keys();
    wait_for_hits(server, hits + 1).await;
}

// ---------------------------------------------------------------------------------------------
// Fetching and verifying.

#[tokio::test]
async fn fetched_keys_verify_tokens_and_refuse_forgeries() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let clock = cache_clock();
    let source = remote(&server, &clock).build().unwrap();
    assert!(source.issuer().is_none());
    assert!(kids(&source).is_empty(), "empty until fetched");
    source.refresh_now().await.unwrap();
    assert_eq!(server.hits(), 1);
    assert_eq!(kids(&source), [kid(&key)]);
    assert!(source.keys().signing_key().is_none(), "verify only");

    // Without an issuer, no audience is required.
    let app = TestApp::verify_only(source.clone(), &common::clock(), JwtConfig::default());
    assert_user(&app.protected(&token(&key, JwtConfig::default())).await, 1);

    // Another key published under the same kid: a forgery, refused without a fetch.
    let forger = key_pair().with_kid(kid(&key));
    let forged = token(&forger, JwtConfig::default());
    assert_invalid_token(
        &app.protected(&forged).await,
        "Signature verification failed",
    );
    assert_hits_stay(&server, 1).await;
    let debug = format!("{source:?}");
    assert!(
        debug.contains("RemoteKeys") && debug.contains("jwks.json"),
        "{debug}"
    );
}

#[tokio::test]
async fn the_first_token_fetches_the_keys_once() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let app = TestApp::verify_only(
        remote(&server, &cache_clock()).build().unwrap(),
        &common::clock(),
        JwtConfig::default(),
    );
    assert_user(&app.protected(&token(&key, JwtConfig::default())).await, 1);
    assert_hits_stay(&server, 1).await;
    assert_user(&app.protected(&token(&key, JwtConfig::default())).await, 1);
    assert_hits_stay(&server, 1).await;
}

#[tokio::test]
async fn an_unknown_kid_fetches_once_then_accepts_the_rotated_key() {
    let server = Server::start().await;
    let (old, new) = (key_pair(), key_pair());
    server.publish(&[&old]);
    let clock = cache_clock();
    let source = remote(&server, &clock).build().unwrap();
    source.refresh_now().await.unwrap();
    let app = TestApp::verify_only(source.clone(), &common::clock(), JwtConfig::default());
    let new_token = token(&new, JwtConfig::default());

    // Within the interval since the last fetch: refused without a fetch.
    assert_invalid_token(&app.protected(&new_token).await, "Unknown key id (kid)");
    assert_hits_stay(&server, 1).await;

    // The issuer rotates; once the interval has passed, one fetch finds the new key.
    server.publish(&[&new, &old]);
    assert_invalid_token(&app.protected(&new_token).await, "Unknown key id (kid)");
    assert_hits_stay(&server, 1).await;
    clock.advance(Duration::from_secs(10));
    assert_user(&app.protected(&new_token).await, 1);
    assert_hits_stay(&server, 2).await;
    assert_eq!(kids(&source), [kid(&new), kid(&old)]);
    assert_user(&app.protected(&new_token).await, 1);
    assert_user(&app.protected(&token(&old, JwtConfig::default())).await, 1);
    assert_hits_stay(&server, 2).await;

    // The old key withdrawn: its tokens fail once the keys are fetched again.
    server.publish(&[&new]);
    clock.advance(Duration::from_secs(10));
    source.refresh_now().await.unwrap();
    assert_eq!(kids(&source), [kid(&new)]);
    assert_invalid_token(
        &app.protected(&token(&old, JwtConfig::default())).await,
        "Unknown key id (kid)",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_unknown_kids_fetches_at_most_once_per_interval() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let clock = cache_clock();
    let source = remote(&server, &clock).build().unwrap();
    source.refresh_now().await.unwrap();
    let app = TestApp::verify_only(source, &common::clock(), JwtConfig::default());
    let strangers: Vec<String> = (0..20)
        .map(|_| token(&key_pair(), JwtConfig::default()))
        .collect();
    let burst = |tokens: Vec<String>| {
        let mut tasks = JoinSet::new();
        for token in tokens {
            let router = app.router.clone();
            tasks.spawn(async move {
                let request = common::get_request("/protected", Some(&format!("JWT {token}")));
                common::send(&router, request).await.status
            });
        }
        tasks
    };

    for round in 1..=3 {
        let statuses = burst(strangers.clone()).join_all().await;
        assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
        // One fetch per interval, whatever the number of unknown kids.
        assert_hits_stay(&server, round).await;
        let statuses = burst(strangers.clone()).join_all().await;
        assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
        assert_hits_stay(&server, round).await;
        clock.advance(Duration::from_secs(10));
    }
    // Known kids never fetch.
    assert_user(&app.protected(&token(&key, JwtConfig::default())).await, 1);
    assert_hits_stay(&server, 3).await;
}

// ---------------------------------------------------------------------------------------------
// Failures: an error, the keys stay.

#[tokio::test]
async fn a_dead_server_is_an_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let source = RemoteKeys::jwks(format!("http://{addr}/jwks.json"))
        .build()
        .unwrap();
    let error = source.refresh_now().await.unwrap_err();
    assert!(
        matches!(&error, RemoteKeysError::Unreachable { url, .. } if url.contains(&addr.to_string())),
        "{error:?}"
    );
    assert!(error.to_string().contains("unreachable"), "{error}");
    assert!(kids(&source).is_empty());
}

#[tokio::test]
async fn a_server_gone_down_keeps_the_keys() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let clock = cache_clock();
    let source = remote(&server, &clock).build().unwrap();
    source.refresh_now().await.unwrap();
    server.stop().await;
    let error = source.refresh_now().await.unwrap_err();
    assert!(
        matches!(error, RemoteKeysError::Unreachable { .. }),
        "{error:?}"
    );
    assert_eq!(kids(&source), [kid(&key)]);
    let app = TestApp::verify_only(source, &common::clock(), JwtConfig::default());
    assert_user(&app.protected(&token(&key, JwtConfig::default())).await, 1);
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let source = remote(&server, &cache_clock())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    source.refresh_now().await.unwrap();
    for slow in [Answer::Slow(Duration::from_secs(30)), Answer::Stall] {
        server.answer(slow.clone());
        let error = tokio::time::timeout(Duration::from_secs(10), source.refresh_now())
            .await
            .expect("the request timeout ends the fetch")
            .unwrap_err();
        assert!(
            matches!(error, RemoteKeysError::Timeout { timeout, .. } if timeout == Duration::from_millis(300)),
            "{slow:?}: {error:?}"
        );
        assert_eq!(kids(&source), [kid(&key)], "{slow:?}");
    }
}

#[tokio::test]
async fn bad_documents_are_errors_and_keep_the_keys() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let source = remote(&server, &cache_clock()).build().unwrap();
    source.refresh_now().await.unwrap();
    let app = TestApp::verify_only(source.clone(), &common::clock(), JwtConfig::default());
    let good = token(&key, JwtConfig::default());

    let mut encryption_key = key_pair().public_jwk().unwrap();
    encryption_key["use"] = json!("enc");
    let unusable = json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "alg": "HS256", "kid": "hmac"},
        encryption_key,
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "kid": "broken"},
        {"kty": "OKP", "crv": "X25519", "x": "AAAA"},
        "not even an object",
    ]});
    let cases = [
        (Answer::Raw("garbage"), "not JSON"),
        (Answer::Raw("{\"keys\": [tru"), "not JSON"),
        (
            Answer::Json(json!({"keys": "x"}), None),
            "not a usable JWK Set",
        ),
        (Answer::Json(json!([1, 2]), None), "not a usable JWK Set"),
        (
            Answer::Json(json!({"keys": []}), None),
            "not a usable JWK Set",
        ),
        (Answer::Json(unusable, None), "not a usable JWK Set"),
        (
            Answer::Json(jwks(&[&key, &key]), None),
            "not a usable JWK Set",
        ),
        (
            Answer::Status(StatusCode::INTERNAL_SERVER_ERROR),
            "HTTP status 500",
        ),
        (Answer::Status(StatusCode::NOT_FOUND), "HTTP status 404"),
    ];
    for (answer, message) in cases {
        server.answer(answer.clone());
        let error = source.refresh_now().await.unwrap_err();
        assert!(error.to_string().contains(message), "{answer:?}: {error}");
        let matched = match message {
            "not JSON" => matches!(error, RemoteKeysError::NotJson { .. }),
            "not a usable JWK Set" => matches!(error, RemoteKeysError::NotJwks { .. }),
            _ => matches!(error, RemoteKeysError::Status { status, .. } if status >= 404),
        };
        assert!(matched, "{answer:?}: {error:?}");
        assert_eq!(kids(&source), [kid(&key)], "{answer:?}");
        assert_user(&app.protected(&good).await, 1);
    }

    // Unusable keys beside a good one are skipped.
    let other = key_pair();
    let mut mixed = jwks(&[&other]);
    mixed["keys"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}));
    server.answer(Answer::Json(mixed, None));
    source.refresh_now().await.unwrap();
    assert_eq!(kids(&source), [kid(&other)]);
}

#[tokio::test]
async fn an_oversize_body_is_refused() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let source = remote(&server, &cache_clock())
        .max_response_bytes(2048)
        .build()
        .unwrap();
    source.refresh_now().await.unwrap();
    let mut padded = jwks(&[&key_pair()]);
    padded["padding"] = json!("x".repeat(4096));
    for answer in [Answer::Json(padded, None), Answer::Endless] {
        server.answer(answer.clone());
        let error = tokio::time::timeout(Duration::from_secs(10), source.refresh_now())
            .await
            .expect("the limit ends the fetch")
            .unwrap_err();
        assert!(
            matches!(error, RemoteKeysError::TooLarge { limit: 2048, .. }),
            "{answer:?}: {error:?}"
        );
        assert!(
            error.to_string().contains("larger than 2048 bytes"),
            "{error}"
        );
        assert_eq!(kids(&source), [kid(&key)]);
    }
}

#[tokio::test]
async fn redirects_are_followed_three_times_at_most() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let three = RemoteKeys::jwks(server.url("/hop/2")).build().unwrap();
    three.refresh_now().await.unwrap();
    assert_eq!(kids(&three), [kid(&key)]);
    let four = RemoteKeys::jwks(server.url("/hop/3")).build().unwrap();
    let error = four.refresh_now().await.unwrap_err();
    assert!(
        matches!(error, RemoteKeysError::Redirect { .. }),
        "{error:?}"
    );
    assert!(kids(&four).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Caching.

#[tokio::test]
async fn cache_control_max_age_is_honoured() {
    let server = Server::start().await;
    let (first, second) = (key_pair(), key_pair());
    server.answer(Answer::Json(jwks(&[&first]), Some("public, max-age=60")));
    let clock = cache_clock();
    let source = remote(&server, &clock)
        .min_refresh_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    source.refresh_now().await.unwrap();
    server.answer(Answer::Json(jwks(&[&second]), Some("max-age=60")));

    clock.advance(Duration::from_secs(59));
    for _ in 0..10 {
        assert_eq!(kids(&source), [kid(&first)]);
    }
    assert_hits_stay(&server, 1).await;

    // Expired: the cached keys answer while one background fetch revalidates them.
    clock.advance(Duration::from_secs(1));
    for _ in 0..10 {
        assert_eq!(kids(&source), [kid(&first)]);
    }
    wait_for_hits(&server, 2).await;
    wait_until(|| kids(&source) == [kid(&second)]).await;
    clock.advance(Duration::from_secs(59));
    assert_eq!(kids(&source), [kid(&second)]);
    assert_hits_stay(&server, 2).await;
}

#[tokio::test]
async fn without_max_age_the_default_applies_and_no_store_means_the_interval() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let clock = cache_clock();
    let source = remote(&server, &clock)
        .default_max_age(Duration::from_secs(120))
        .min_refresh_interval(Duration::from_secs(10))
        .build()
        .unwrap();
    source.refresh_now().await.unwrap();
    fetched_again_after(&source, &clock, &server, Duration::from_secs(120), 1).await;

    // `no-store` (or `max-age=0`): cached for the minimum interval, not refetched per request.
    let mut hits = 2;
    for cache_control in ["no-store", "max-age=0", "no-cache, max-age=600"] {
        server.answer(Answer::Json(jwks(&[&key]), Some(cache_control)));
        source.refresh_now().await.unwrap();
        hits += 1;
        fetched_again_after(&source, &clock, &server, Duration::from_secs(10), hits).await;
        hits += 1;
    }
}

#[tokio::test]
async fn max_age_is_clamped_to_a_day() {
    let server = Server::start().await;
    let key = key_pair();
    server.answer(Answer::Json(jwks(&[&key]), Some("max-age=31536000")));
    let clock = cache_clock();
    let source = remote(&server, &clock).build().unwrap();
    source.refresh_now().await.unwrap();
    fetched_again_after(
        &source,
        &clock,
        &server,
        Duration::from_secs(24 * 60 * 60),
        1,
    )
    .await;
}

#[tokio::test]
async fn stale_keys_serve_within_the_stale_if_error_window_only() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let clock = cache_clock();
    let source = remote(&server, &clock)
        .default_max_age(Duration::from_secs(60))
        .min_refresh_interval(Duration::from_secs(10))
        .stale_if_error(Duration::from_secs(120))
        .build()
        .unwrap();
    source.refresh_now().await.unwrap();
    let app = TestApp::verify_only(source.clone(), &common::clock(), JwtConfig::default());
    let good = token(&key, JwtConfig::default());

    // Expired, and the issuer fails: the last good keys still verify within the window.
    server.answer(Answer::Status(StatusCode::SERVICE_UNAVAILABLE));
    clock.advance(Duration::from_secs(70));
    assert!(matches!(
        source.refresh_now().await.unwrap_err(),
        RemoteKeysError::Status { status: 503, .. }
    ));
    assert_eq!(kids(&source), [kid(&key)]);
    assert_user(&app.protected(&good).await, 1);
    clock.advance(Duration::from_secs(109)); // 179 s: the last second of the window
    assert_user(&app.protected(&good).await, 1);

    // Past it (60 s fresh + 120 s stale): every token refused.
    clock.advance(Duration::from_secs(1));
    assert!(kids(&source).is_empty());
    assert_invalid_token(&app.protected(&good).await, "Unknown key id (kid)");
    assert!(source.refresh_now().await.is_err());
    assert!(kids(&source).is_empty());

    // Until a fetch succeeds: the next unknown kid after the interval fetches again.
    server.publish(&[&key]);
    clock.advance(Duration::from_secs(10));
    assert_user(&app.protected(&good).await, 1);
    assert_eq!(kids(&source), [kid(&key)]);
}

#[test]
fn keys_outside_a_runtime_never_fetch_nor_panic() {
    let source = RemoteKeys::jwks("http://127.0.0.1:9/jwks.json")
        .build()
        .unwrap();
    assert!(source.keys().iter().next().is_none());
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect discovery.

#[tokio::test]
async fn discovery_finds_the_keys_and_requires_issuer_and_audience() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let issuer = server.issuer();
    let clock = cache_clock();
    let discover = || {
        RemoteKeys::discover(issuer.clone())
            .clock(Arc::clone(&clock))
            .build()
            .unwrap()
    };
    let source = discover();
    assert_eq!(source.issuer(), Some(issuer.as_str()));
    source.refresh_now().await.unwrap();
    assert_eq!((server.discovery_hits(), server.hits()), (1, 1));
    assert_eq!(kids(&source), [kid(&key)]);

    // The Jwt requires an audience, and the issuer.
    let error = Jwt::<common::User>::builder_with_key_source(discover())
        .authenticate(common::authenticate)
        .identity(common::identity)
        .build()
        .unwrap_err();
    assert!(error.to_string().starts_with("JWT_AUDIENCE"), "{error}");
    let app = TestApp::verify_only(source, &common::clock(), claims_config(None, "api"));
    assert_eq!(app.jwt.config().issuer.as_deref(), Some(issuer.as_str()));

    let good = token(&key, claims_config(Some(&issuer), "api"));
    assert_user(&app.protected(&good).await, 1);
    let foreign = token(&key, claims_config(Some("https://other.example"), "api"));
    assert_invalid_token(&app.protected(&foreign).await, "Invalid issuer");
    let elsewhere = token(&key, claims_config(Some(&issuer), "another-app"));
    assert_invalid_token(&app.protected(&elsewhere).await, "Invalid audience");
    let no_issuer = token(&key, JwtConfig::default());
    assert_eq!(
        app.protected(&no_issuer).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn discovery_refuses_another_issuer_and_bad_documents() {
    let server = Server::start().await;
    let key = key_pair();
    server.publish(&[&key]);
    let issuer = server.issuer();

    // Exactly the issuer: another one, or the same with a trailing slash, is refused.
    server.set_discovery(json!({"issuer": "https://evil.example", "jwks_uri": server.jwks_url()}));
    let source = RemoteKeys::discover(issuer.clone()).build().unwrap();
    let error = source.refresh_now().await.unwrap_err();
    match &error {
        RemoteKeysError::IssuerMismatch {
            expected, found, ..
        } => {
            assert_eq!(expected, &issuer);
            assert_eq!(found, "https://evil.example");
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("evil.example"), "{error}");
    server.set_discovery(json!({"issuer": issuer, "jwks_uri": server.jwks_url()}));
    let slash = RemoteKeys::discover(format!("{issuer}/")).build().unwrap();
    assert!(matches!(
        slash.refresh_now().await.unwrap_err(),
        RemoteKeysError::IssuerMismatch { .. }
    ));
    assert_eq!(server.hits(), 0, "no JWKS fetched for a mismatched issuer");
    assert!(kids(&source).is_empty());

    let documents = [
        json!({"jwks_uri": server.jwks_url()}),
        json!({"issuer": issuer}),
        json!({"issuer": issuer, "jwks_uri": "not a url"}),
        json!({"issuer": issuer, "jwks_uri": "file:///etc/passwd"}),
        json!([issuer]),
    ];
    for document in documents {
        server.set_discovery(document.clone());
        let error = source.refresh_now().await.unwrap_err();
        assert!(
            matches!(error, RemoteKeysError::NotDiscovery { .. }),
            "{document}: {error:?}"
        );
    }
    assert_eq!(server.hits(), 0);

    // A good document: the keys come, and a later bad one keeps them.
    server.set_discovery(json!({"issuer": issuer, "jwks_uri": server.jwks_url()}));
    source.refresh_now().await.unwrap();
    assert_eq!(kids(&source), [kid(&key)]);
    server.set_discovery(json!({"issuer": "https://evil.example", "jwks_uri": server.jwks_url()}));
    assert!(source.refresh_now().await.is_err());
    assert_eq!(kids(&source), [kid(&key)]);
}
