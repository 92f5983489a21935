//! Secrets stay out of logs and `Debug`: everything jwt-gate (and what it runs on) emits
//! through `tracing`, at TRACE, during a login, a protected request, failed logins, a refresh,
//! a refresh-token reuse, a failing callback and a logout, holds no secret, no password and no
//! token; nor does the `Debug` text of `Keys`, `Credentials`, `Tokens`, `Jwt` or `JwtBuilder`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use http_body_util::BodyExt;
use jwt_gate::{
    Algorithm, Claims, Credentials, CurrentIdentity, FixedClock, Identity, Jwt, JwtBuilder, Keys,
    MemoryStore, Tokens,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Valid for HS384 but shorter than its hash, so building the keys logs a warning too.
const SECRET: &str = "redaction-secret-7f3a9c1e5b2d8f4a6c0e9b1d";
const PASSWORD: &str = "pw-correct-horse-battery-staple";
const WRONG_PASSWORD: &str = "pw-wrong-tr0ub4dor-and-3";
/// Logging in as this user makes `authenticate` fail (a 500 whose cause is logged).
const FAILING_USER: &str = "db-down";
const FAILING_PASSWORD: &str = "pw-never-logged-9q8w7e6r";
const NOW: i64 = 1_700_000_000;

#[derive(Clone, Debug)]
struct User {
    id: i64,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

async fn authenticate(credentials: Credentials) -> Result<Option<User>, io::Error> {
    if credentials.username == FAILING_USER {
        return Err(io::Error::other("the user database is unavailable"));
    }
    Ok(
        (credentials.username == "alice" && credentials.password == PASSWORD)
            .then_some(User { id: 1 }),
    )
}

async fn identity(claims: Claims<i64>) -> Result<Option<User>, io::Error> {
    Ok((claims.identity == 1).then_some(User { id: 1 }))
}

/// The lifecycle app; the `Debug` text of every `Tokens` it issues goes to `debug_texts`.
fn builder(debug_texts: &Arc<Mutex<Vec<String>>>) -> JwtBuilder<User> {
    let debug_texts = Arc::clone(debug_texts);
    Jwt::builder(Keys::hmac(Algorithm::HS384, SECRET).unwrap())
        .clock(FixedClock::at_unix_seconds(NOW))
        .authenticate(authenticate)
        .identity(identity)
        .revocation_store(Arc::new(MemoryStore::new()))
        .auth_response(move |tokens: Tokens, _: &User| {
            debug_texts.lock().unwrap().push(format!("{tokens:?}"));
            Json(json!({
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
            }))
        })
}

async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id}))
}

fn router(jwt: &Jwt<User>) -> Router {
    let app = Router::new()
        .route("/protected", get(protected))
        .merge(jwt.routes());
    jwt.json_errors(app).with_state(jwt.clone())
}

struct Reply {
    status: StatusCode,
    body: Value,
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn post_json(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn with_token(method: &str, path: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(AUTHORIZATION, format!("JWT {token}"))
        .body(Body::empty())
        .unwrap()
}

fn login_body(username: &str, password: &str) -> String {
    json!({"username": username, "password": password}).to_string()
}

fn token_of(reply: &Reply, name: &str) -> String {
    reply.body[name].as_str().expect("a token").to_owned()
}

/// Asserts that `text` (named `what`) contains none of `secrets`, nor the signature segment of
/// any token among them.
#[track_caller]
fn assert_free_of(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(secret.as_str()),
            "{what} contains {secret:?}:\n{text}"
        );
        if let Some((_, signature)) = secret.rsplit_once('.') {
            assert!(
                !text.contains(signature),
                "{what} contains the signature of {secret:?}:\n{text}"
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_secret_is_logged_at_trace() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    // This thread's default for the whole test: a current-thread runtime polls every future
    // of the test on it.
    let _guard = tracing::subscriber::set_default(subscriber);

    let debug_texts = Arc::new(Mutex::new(Vec::new()));
    let jwt = builder(&debug_texts).build().unwrap();
    let app = router(&jwt);
    let mut tokens = Vec::new();

    // Login.
    let login = send(&app, post_json("/auth", &login_body("alice", PASSWORD))).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let access = token_of(&login, "access_token");
    let refresh = token_of(&login, "refresh_token");
    tokens.extend([access.clone(), refresh.clone()]);

    // A protected request.
    let reply = send(&app, with_token("GET", "/protected", &access)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // Failed logins: a wrong password, a password in a body that is not JSON, and a failing
    // `authenticate`.
    let reply = send(
        &app,
        post_json("/auth", &login_body("alice", WRONG_PASSWORD)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let broken = format!(r#"{{"username": "alice", "password": "{WRONG_PASSWORD}""#);
    let reply = send(&app, post_json("/auth", &broken)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let body = login_body(FAILING_USER, FAILING_PASSWORD);
    let reply = send(&app, post_json("/auth", &body)).await;
    assert_eq!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        reply.body
    );

    // Refresh, then the spent refresh token again (reuse: the family is revoked, with a
    // warning).
    let refreshed = send(&app, with_token("POST", "/refresh", &refresh)).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let new_access = token_of(&refreshed, "access_token");
    tokens.extend([new_access.clone(), token_of(&refreshed, "refresh_token")]);
    let reply = send(&app, with_token("POST", "/refresh", &refresh)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);

    // A tampered token, a revoked one, and a logout.
    let mut tampered = access.clone();
    tampered.insert(tampered.len() - 10, 'A');
    tokens.push(tampered.clone());
    let reply = send(&app, with_token("GET", "/protected", &tampered)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let reply = send(&app, with_token("GET", "/protected", &new_access)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let reply = send(&app, with_token("POST", "/logout", &access)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);

    drop(_guard);
    let log = buffer.text();
    // The capture worked: the refusals, the failing callback, the reuse and the weak-key
    // warning were logged.
    for expected in [
        "jwt-gate: request refused",
        "jwt-gate: callback failed",
        "the user database is unavailable",
        "refresh token reuse",
        "works best with a secret of at least 48 bytes",
    ] {
        assert!(
            log.contains(expected),
            "{expected:?} was not logged:\n{log}"
        );
    }
    let mut secrets = vec![
        SECRET.to_owned(),
        PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
        FAILING_PASSWORD.to_owned(),
    ];
    secrets.extend(tokens.iter().cloned());
    assert_free_of("the log", &log, &secrets);

    let debug_texts = debug_texts.lock().unwrap().clone();
    assert_eq!(debug_texts.len(), 1, "one login through auth_response");
    for text in &debug_texts {
        assert_free_of("Debug of Tokens", text, &secrets);
    }
}

#[test]
fn debug_texts_hold_no_secret() {
    let debug_texts = Arc::new(Mutex::new(Vec::new()));
    let keys = Keys::hmac(Algorithm::HS384, SECRET).unwrap();
    let credentials = Credentials::new("alice", PASSWORD);
    let builder = builder(&debug_texts);
    let builder_debug = format!("{builder:?}");
    let jwt = builder.build().unwrap();
    let token = jwt.issue(&User { id: 1 }).unwrap();
    let secrets = [SECRET.to_owned(), PASSWORD.to_owned(), token];

    for (what, text) in [
        ("Keys", format!("{keys:?}")),
        ("Keys, pretty", format!("{keys:#?}")),
        ("Credentials", format!("{credentials:?}")),
        ("Credentials, pretty", format!("{credentials:#?}")),
        ("Jwt", format!("{jwt:?}")),
        ("Jwt, pretty", format!("{jwt:#?}")),
        ("JwtBuilder", builder_debug),
        ("Keys of the Jwt", format!("{:?}", jwt.keys())),
    ] {
        assert_free_of(what, &text, &secrets);
        assert!(!text.is_empty());
    }
    // The username is not a secret, and stays visible.
    assert!(format!("{credentials:?}").contains("alice"));
}
