//! The seed tutorial's configuration end to end: `JWT_AUTH_URL_RULE = '/login'`,
//! `JWT_EXPIRATION_DELTA = timedelta(seconds=1800)`, `JWT_AUTH_USERNAME_KEY = 'email'`, an
//! `auth_response_handler` answering `{access_token, user_id}` and an `error_handler` answering
//! `{message, code}`. Driven through the test kit (`jwt_gate::test_kit`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::AUTHORIZATION;
use axum::http::{Request, StatusCode};
use common::{CHALLENGE, NOW, TestApp, User, claims_for, token, user};
use jwt_gate::test_kit::{TestResponse, peek_claims, peek_header, post_json, send};
use jwt_gate::{Credentials, JwtError, Tokens};
use serde_json::{Value, json};

/// The tutorial's `authenticate`, looking users up by email: `Credentials::username` holds the
/// value of the configured username key, here `email`.
async fn authenticate_by_email(credentials: Credentials) -> Result<Option<User>, Infallible> {
    let found = [
        (1, "user1@example.com", "abcxyz"),
        (2, "user2@example.com", "xyzabc"),
    ]
    .into_iter()
    .find(|(_, email, password)| {
        *email == credentials.username && *password == credentials.password
    })
    .map(|(id, ..)| user(id));
    Ok(found)
}

fn seed() -> TestApp {
    TestApp::with(|b| {
        let mut config = jwt_gate::JwtConfig::default();
        config.auth_url_rule = "/login".to_owned();
        config.expiration_delta = Duration::from_secs(1800);
        config.auth_username_key = "email".to_owned();
        b.config(config)
            .authenticate(authenticate_by_email)
            .auth_response(|tokens: Tokens, user: &User| {
                axum::Json(json!({"access_token": tokens.access_token, "user_id": user.id}))
            })
            .error_handler(|error: &JwtError| {
                (
                    error.status(),
                    axum::Json(
                        json!({"message": error.to_string(), "code": error.status().as_u16()}),
                    ),
                )
            })
    })
}

#[track_caller]
fn assert_seed_error(reply: &TestResponse, code: u16, message: &str) {
    assert_eq!(reply.status.as_u16(), code, "{}", reply.text());
    assert_eq!(reply.json(), json!({"message": message, "code": code}));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    if code == 401 {
        assert_eq!(reply.header("www-authenticate"), Some(CHALLENGE));
    } else {
        assert_eq!(reply.header("www-authenticate"), None);
    }
}

#[track_caller]
fn assert_user(reply: &TestResponse, id: i64) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let user = user(id);
    assert_eq!(
        reply.json(),
        json!({"id": user.id, "username": user.username})
    );
}

/// `GET <path>` with `Authorization: <value>` when given, exactly as given.
async fn get(app: &TestApp, path: &str, authorization: Option<&str>) -> TestResponse {
    send(&app.router, common::get_request(path, authorization)).await
}

/// A successful login's access token.
async fn login_token(app: &TestApp, email: &str, password: &str) -> String {
    let reply = app.kit().login(&app.router, email, password).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn login_answers_access_token_and_user_id() {
    let app = seed();
    let kit = app.kit();
    let reply = kit.login(&app.router, "user2@example.com", "xyzabc").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "{body}");
    assert_eq!(body["user_id"], 2);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(peek_header(token), json!({"typ": "JWT", "alg": "HS256"}));
    assert_eq!(
        peek_claims(token),
        json!({"identity": 2, "iat": NOW, "nbf": NOW, "exp": NOW + 1800})
    );
    assert_user(
        &kit.get_with_token(&app.router, "/protected", token).await,
        2,
    );
}

#[tokio::test]
async fn tokens_live_1800_seconds_plus_the_leeway() {
    let app = seed();
    let kit = app.kit();
    let token = login_token(&app, "user1@example.com", "abcxyz").await;
    // Minted tokens have the same lifetime: 1800 s + 10 s of leeway, then one second more.
    let last = kit.issued_ago(&user(1), Duration::from_secs(1810));
    assert_user(
        &kit.get_with_token(&app.router, "/protected", &last).await,
        1,
    );
    let expired = kit.expired(&user(1));
    assert_eq!(peek_claims(&expired)["exp"], json!(NOW - 11));
    assert_seed_error(
        &kit.get_with_token(&app.router, "/protected", &expired)
            .await,
        401,
        "Signature has expired",
    );
    app.clock.advance(Duration::from_secs(1810));
    assert_user(
        &kit.get_with_token(&app.router, "/protected", &token).await,
        1,
    );
    app.clock.advance(Duration::from_secs(1));
    assert_seed_error(
        &kit.get_with_token(&app.router, "/protected", &token).await,
        401,
        "Signature has expired",
    );
}

#[tokio::test]
async fn the_login_is_at_login_with_the_email_key() {
    let app = seed();
    let reply = send(
        &app.router,
        post_json(
            "/auth",
            &json!({"email": "user1@example.com", "password": "abcxyz"}),
        ),
    )
    .await;
    assert_seed_error(&reply, 404, "Not found");
    let reply = get(&app, "/login", None).await;
    assert_seed_error(&reply, 405, "Method not allowed");
    assert_eq!(reply.header("allow"), Some("POST"));
    for body in [
        json!({"username": "user1", "password": "abcxyz"}),
        json!({"username": "user1@example.com", "password": "abcxyz"}),
        json!({"email": "user1", "password": "abcxyz"}),
        json!({"email": "USER1@example.com", "password": "abcxyz"}),
        json!({"email": "user1@example.com", "password": "xyzabc"}),
        json!({"email": "user1@example.com", "password": "abcxyz", "username": "user1"}),
        json!({"email": "user1@example.com"}),
        json!({"email": "user1@example.com", "password": 12345}),
        json!({"email": ["user1@example.com"], "password": "abcxyz"}),
    ] {
        let reply = send(&app.router, post_json("/login", &body)).await;
        assert_seed_error(&reply, 401, "Invalid credentials");
    }
    // The kit's login speaks the configured keys and route.
    let reply = app.kit().login(&app.router, "user1", "abcxyz").await;
    assert_seed_error(&reply, 401, "Invalid credentials");
}

#[tokio::test]
async fn login_body_errors_are_in_the_seed_shape() {
    let app = seed();
    let login = |content_type: &str, body: String| {
        send(
            &app.router,
            common::post("/login", Some(content_type), body),
        )
    };
    let reply = login(
        "application/x-www-form-urlencoded",
        "email=user1%40example.com&password=abcxyz".to_owned(),
    )
    .await;
    assert_seed_error(&reply, 415, "Content-Type must be application/json");
    let reply = login("application/json", " ".repeat(64 * 1024 + 1)).await;
    assert_seed_error(&reply, 413, "Request body too large");
    let reply = login("application/json", String::new()).await;
    assert_seed_error(&reply, 400, "Request body is not valid JSON");
    let reply = send(&app.router, post_json("/login", &Value::Null)).await;
    assert_seed_error(&reply, 400, "Request body must be a JSON object");
}

#[tokio::test]
async fn protected_errors_are_in_the_seed_shape_with_the_challenge() {
    let app = seed();
    let kit = app.kit();
    assert_seed_error(
        &get(&app, "/protected", None).await,
        401,
        "Request does not contain an access token",
    );
    assert_seed_error(
        &get(&app, "/protected", Some("Bearer x")).await,
        401,
        "Unsupported authorization type",
    );
    assert_seed_error(
        &get(&app, "/protected", Some("JWT")).await,
        401,
        "Token missing",
    );
    assert_seed_error(
        &get(&app, "/protected", Some("JWT a b")).await,
        401,
        "Token contains spaces",
    );
    let one = user(1);
    for (token, message) in [
        (kit.wrong_key(&one), "Signature verification failed"),
        (kit.tampered(&one), "Signature verification failed"),
        (
            kit.wrong_algorithm(&one),
            "The specified alg value is not allowed",
        ),
        (kit.alg_none(&one), "The specified alg value is not allowed"),
        (kit.not_yet_valid(&one), "The token is not yet valid (nbf)"),
    ] {
        let reply = kit.get_with_token(&app.router, "/protected", &token).await;
        assert_seed_error(&reply, 401, message);
    }
    // A valid token for a user the identity callback does not know.
    let ghost = User {
        id: 3,
        username: "ghost".to_owned(),
    };
    assert_seed_error(
        &kit.get_with_token(&app.router, "/protected", &kit.valid(&ghost))
            .await,
        401,
        "User does not exist",
    );
    // `identity: true` cannot come from a `User`: crafted by hand.
    assert_seed_error(
        &kit.get_with_token(&app.router, "/protected", &token(&claims_for(&json!(true))))
            .await,
        401,
        "User does not exist",
    );
}

#[tokio::test]
async fn http_errors_are_in_the_seed_shape() {
    let app = seed();
    assert_seed_error(&get(&app, "/nowhere", None).await, 404, "Not found");
    let request = Request::builder()
        .method("OPTIONS")
        .uri("/protected")
        .body(Body::empty())
        .unwrap();
    assert_seed_error(&send(&app.router, request).await, 405, "Method not allowed");
    let request = Request::get("/protected")
        .header("x-big", "a".repeat(17 * 1024))
        .body(Body::empty())
        .unwrap();
    assert_seed_error(
        &send(&app.router, request).await,
        431,
        "Request headers too large",
    );
}

#[tokio::test]
async fn optional_auth_and_claims_follow_the_seed_config() {
    let app = seed();
    let kit = app.kit();
    let token = login_token(&app, "user1@example.com", "abcxyz").await;
    let reply = kit.get_with_token(&app.router, "/optional", &token).await;
    assert_eq!(reply.json(), json!({"user": "user1"}));
    let reply = kit.get_with_token(&app.router, "/claims", &token).await;
    assert_eq!(reply.json()["exp"], json!(NOW + 1800));
    let request = Request::get("/optional")
        .header(AUTHORIZATION, "JWT abc")
        .body(Body::empty())
        .unwrap();
    assert_seed_error(
        &send(&app.router, request).await,
        401,
        "Not enough segments",
    );
}
