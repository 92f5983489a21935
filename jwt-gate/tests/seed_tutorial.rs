//! The seed tutorial's configuration end to end: `JWT_AUTH_URL_RULE = '/login'`,
//! `JWT_EXPIRATION_DELTA = timedelta(seconds=1800)`, `JWT_AUTH_USERNAME_KEY = 'email'`, an
//! `auth_response_handler` answering `{access_token, user_id}` and an `error_handler` answering
//! `{message, code}`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{CHALLENGE, NOW, TestApp, User, assert_user, claims_for, segment_json, token, user};
use jwt_gate::{Credentials, JwtError, Tokens};
use serde_json::json;

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
fn assert_seed_error(reply: &common::Reply, code: u16, message: &str) {
    assert_eq!(reply.status.as_u16(), code, "{}", reply.text());
    assert_eq!(reply.json(), json!({"message": message, "code": code}));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    if code == 401 {
        assert_eq!(reply.challenge(), Some(CHALLENGE));
    } else {
        assert_eq!(reply.challenge(), None);
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> common::Reply {
    let body = json!({"email": email, "password": password}).to_string();
    app.post_json("/login", &body).await
}

#[tokio::test]
async fn login_answers_access_token_and_user_id() {
    let app = seed();
    let reply = login(&app, "user2@example.com", "xyzabc").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "{body}");
    assert_eq!(body["user_id"], 2);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        segment_json(token, 0),
        json!({"typ": "JWT", "alg": "HS256"})
    );
    assert_eq!(
        segment_json(token, 1),
        json!({"identity": 2, "iat": NOW, "nbf": NOW, "exp": NOW + 1800})
    );
    assert_user(&app.protected(token).await, 2);
}

#[tokio::test]
async fn tokens_live_1800_seconds_plus_the_leeway() {
    let app = seed();
    let reply = login(&app, "user1@example.com", "abcxyz").await;
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::from_secs(1810));
    assert_user(&app.protected(&token).await, 1);
    app.clock.advance(Duration::from_secs(1));
    assert_seed_error(&app.protected(&token).await, 401, "Signature has expired");
}

#[tokio::test]
async fn the_login_is_at_login_with_the_email_key() {
    let app = seed();
    let reply = app
        .post_json(
            "/auth",
            r#"{"email":"user1@example.com","password":"abcxyz"}"#,
        )
        .await;
    assert_seed_error(&reply, 404, "Not found");
    let reply = app.get("/login", None).await;
    assert_seed_error(&reply, 405, "Method not allowed");
    assert_eq!(reply.header("allow"), Some("POST"));
    for body in [
        r#"{"username":"user1","password":"abcxyz"}"#,
        r#"{"username":"user1@example.com","password":"abcxyz"}"#,
        r#"{"email":"user1","password":"abcxyz"}"#,
        r#"{"email":"USER1@example.com","password":"abcxyz"}"#,
        r#"{"email":"user1@example.com","password":"xyzabc"}"#,
        r#"{"email":"user1@example.com","password":"abcxyz","username":"user1"}"#,
        r#"{"email":"user1@example.com"}"#,
        r#"{"email":"user1@example.com","password":12345}"#,
        r#"{"email":["user1@example.com"],"password":"abcxyz"}"#,
    ] {
        let reply = app.post_json("/login", body).await;
        assert_seed_error(&reply, 401, "Invalid credentials");
    }
}

#[tokio::test]
async fn login_body_errors_are_in_the_seed_shape() {
    let app = seed();
    let reply = app
        .send(common::post(
            "/login",
            Some("application/x-www-form-urlencoded"),
            "email=user1%40example.com&password=abcxyz",
        ))
        .await;
    assert_seed_error(&reply, 415, "Content-Type must be application/json");
    let reply = app.post_json("/login", &" ".repeat(64 * 1024 + 1)).await;
    assert_seed_error(&reply, 413, "Request body too large");
    let reply = app.post_json("/login", "").await;
    assert_seed_error(&reply, 400, "Request body is not valid JSON");
    let reply = app.post_json("/login", "null").await;
    assert_seed_error(&reply, 400, "Request body must be a JSON object");
}

#[tokio::test]
async fn protected_errors_are_in_the_seed_shape_with_the_challenge() {
    let app = seed();
    assert_seed_error(
        &app.get("/protected", None).await,
        401,
        "Request does not contain an access token",
    );
    assert_seed_error(
        &app.get("/protected", Some("Bearer x")).await,
        401,
        "Unsupported authorization type",
    );
    assert_seed_error(
        &app.get("/protected", Some("JWT")).await,
        401,
        "Token missing",
    );
    assert_seed_error(
        &app.get("/protected", Some("JWT a b")).await,
        401,
        "Token contains spaces",
    );
    let forged = common::sign_segments_with(
        "HS256",
        common::OTHER_SECRET,
        &common::b64(common::HS256_HEADER),
        &common::b64(claims_for(&json!(1)).to_string()),
    );
    assert_seed_error(
        &app.protected(&forged).await,
        401,
        "Signature verification failed",
    );
    assert_seed_error(
        &app.protected(&token(&claims_for(&json!(3)))).await,
        401,
        "User does not exist",
    );
    assert_seed_error(
        &app.protected(&token(&claims_for(&json!(true)))).await,
        401,
        "User does not exist",
    );
}

#[tokio::test]
async fn http_errors_are_in_the_seed_shape() {
    let app = seed();
    assert_seed_error(&app.get("/nowhere", None).await, 404, "Not found");
    let request = Request::builder()
        .method("OPTIONS")
        .uri("/protected")
        .body(Body::empty())
        .unwrap();
    assert_seed_error(&app.send(request).await, 405, "Method not allowed");
    let request = Request::get("/protected")
        .header("x-big", "a".repeat(17 * 1024))
        .body(Body::empty())
        .unwrap();
    assert_seed_error(&app.send(request).await, 431, "Request headers too large");
}

#[tokio::test]
async fn optional_auth_and_claims_follow_the_seed_config() {
    let app = seed();
    let reply = login(&app, "user1@example.com", "abcxyz").await;
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let reply = app.get("/optional", Some(&format!("JWT {token}"))).await;
    assert_eq!(reply.json(), json!({"user": "user1"}));
    let reply = app.get("/claims", Some(&format!("JWT {token}"))).await;
    assert_eq!(reply.json()["exp"], json!(NOW + 1800));
    let reply = app.get("/optional", Some("JWT abc")).await;
    assert_seed_error(&reply, 401, "Not enough segments");
}
