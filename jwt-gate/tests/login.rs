//! The login flow: `POST /auth` (Flask-JWT's auth resource) with its body rules, credentials
//! rules and the token it issues.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{
    CHALLENGE, Chunked, HS256_HEADER, NOW, SECRET, TestApp, assert_error, assert_user, b64,
    hmac_b64, post, segment_json, unb64,
};
use serde_json::json;

const GOOD: &str = r#"{"username": "user1", "password": "abcxyz"}"#;

fn assert_invalid_credentials(reply: &common::Reply) {
    assert_error(reply, 401, "Bad Request", "Invalid credentials");
}

#[tokio::test]
async fn login_answers_only_the_access_token() {
    let app = TestApp::new();
    let reply = app.post_json("/auth", GOOD).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    let object = body.as_object().expect("an object");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["access_token"]);
    assert!(body["access_token"].is_string());
    assert_eq!(reply.challenge(), None);
}

#[tokio::test]
async fn login_response_is_not_cached() {
    let app = TestApp::new();
    let reply = app.post_json("/auth", GOOD).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn token_header_is_pyjwts_byte_for_byte() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    let header = token.split('.').next().expect("a header");
    assert_eq!(unb64(header), HS256_HEADER.as_bytes());
    assert_eq!(
        segment_json(&token, 0),
        json!({"typ": "JWT", "alg": "HS256"})
    );
}

#[tokio::test]
async fn token_claims_are_exactly_identity_iat_nbf_exp() {
    let app = TestApp::new();
    for (username, password, id) in [("user1", "abcxyz", 1), ("user2", "xyzabc", 2)] {
        let token = app.login(username, password).await;
        let claims = segment_json(&token, 1);
        assert_eq!(
            claims,
            json!({"identity": id, "iat": NOW, "nbf": NOW, "exp": NOW + 300})
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
        assert_eq!(claims["nbf"], claims["iat"]);
    }
}

#[tokio::test]
async fn time_claims_are_whole_seconds_truncated() {
    let app = TestApp::new();
    app.clock.advance(Duration::from_millis(999));
    let token = app.login("user1", "abcxyz").await;
    let claims = segment_json(&token, 1);
    assert_eq!(claims["iat"], json!(NOW));
    assert_eq!(claims["nbf"], json!(NOW));
    assert_eq!(claims["exp"], json!(NOW + 300));
    // Integers on the wire, never `1700000000.999` or `1700000000.0`.
    let payload = String::from_utf8(unb64(token.split('.').nth(1).unwrap())).unwrap();
    assert!(!payload.contains('.'), "{payload}");
}

#[tokio::test]
async fn token_is_hs256_over_the_secret() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    let (input, signature) = token.rsplit_once('.').expect("three segments");
    assert_eq!(signature, hmac_b64("HS256", SECRET, input));
}

#[tokio::test]
async fn issued_token_opens_the_protected_resource() {
    let app = TestApp::new();
    let token = app.login("user2", "xyzabc").await;
    assert_user(&app.protected(&token).await, 2);
}

#[tokio::test]
async fn every_credentials_problem_is_invalid_credentials() {
    let app = TestApp::new();
    for body in [
        // Missing keys.
        json!({}),
        json!({"username": "user1"}),
        json!({"password": "abcxyz"}),
        json!({"user": "user1", "password": "abcxyz"}),
        json!({"username": "user1", "pass": "abcxyz"}),
        // Any extra key, even a harmless one.
        json!({"username": "user1", "password": "abcxyz", "extra": 1}),
        json!({"username": "user1", "password": "abcxyz", "remember": true}),
        // Falsy values.
        json!({"username": "", "password": "abcxyz"}),
        json!({"username": "user1", "password": ""}),
        json!({"username": null, "password": "abcxyz"}),
        json!({"username": "user1", "password": null}),
        json!({"username": 0, "password": "abcxyz"}),
        json!({"username": "user1", "password": 0}),
        json!({"username": false, "password": "abcxyz"}),
        json!({"username": "user1", "password": false}),
        // Non-strings (a 500 in the tutorial's `authenticate`, §10 fix 2).
        json!({"username": "user1", "password": 12345}),
        json!({"username": 1, "password": "abcxyz"}),
        json!({"username": 1.5, "password": "abcxyz"}),
        json!({"username": ["user1"], "password": "abcxyz"}),
        json!({"username": "user1", "password": ["abcxyz"]}),
        json!({"username": [], "password": []}),
        json!({"username": {"name": "user1"}, "password": "abcxyz"}),
        json!({"username": true, "password": true}),
        // Wrong secrets.
        json!({"username": "user1", "password": "wrong"}),
        json!({"username": "user1", "password": "xyzabc"}),
        json!({"username": "nobody", "password": "abcxyz"}),
        json!({"username": "USER1", "password": "abcxyz"}),
        json!({"username": " user1", "password": "abcxyz"}),
        json!({"username": "user1", "password": "abcxyz "}),
    ] {
        let reply = app.post_json("/auth", &body.to_string()).await;
        assert_invalid_credentials(&reply);
        assert_eq!(reply.header("cache-control"), None, "{body}");
    }
}

#[tokio::test]
async fn invalid_credentials_carry_the_challenge() {
    let app = TestApp::new();
    let reply = app
        .post_json("/auth", r#"{"username": "user1", "password": "nope"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(CHALLENGE));
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_415() {
    let app = TestApp::new();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("text/json"),
        Some("application/jsonx"),
        Some("json"),
        Some(""),
    ] {
        let reply = app.send(post("/auth", content_type, GOOD.to_owned())).await;
        assert_error(
            &reply,
            415,
            "Unsupported Media Type",
            "Content-Type must be application/json",
        );
    }
    let form = app
        .send(post(
            "/auth",
            Some("application/x-www-form-urlencoded"),
            "username=user1&password=abcxyz",
        ))
        .await;
    assert_error(
        &form,
        415,
        "Unsupported Media Type",
        "Content-Type must be application/json",
    );
}

#[tokio::test]
async fn the_content_type_is_checked_before_size_and_syntax() {
    let app = TestApp::new();
    let huge = "x".repeat(100 * 1024);
    let reply = app.send(post("/auth", Some("text/plain"), huge)).await;
    assert_error(
        &reply,
        415,
        "Unsupported Media Type",
        "Content-Type must be application/json",
    );
}

#[tokio::test]
async fn json_content_type_variants_are_accepted() {
    let app = TestApp::new();
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
        "application/vnd.x+json",
        "application/vnd.api+json; charset=utf-8",
    ] {
        let reply = app
            .send(post("/auth", Some(content_type), GOOD.to_owned()))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{content_type}");
        assert!(reply.json()["access_token"].is_string());
    }
}

/// `{"username":"user1","password":"abcxyz"}` padded with whitespace to `len` bytes.
fn padded_login(len: usize) -> String {
    let mut body = String::from(r#"{"username":"user1","password":"abcxyz"}"#);
    body.push_str(&" ".repeat(len - body.len()));
    body
}

#[tokio::test]
async fn a_body_of_exactly_64_kib_is_read() {
    let app = TestApp::new();
    let reply = app.post_json("/auth", &padded_login(64 * 1024)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = TestApp::new();
    let reply = app.post_json("/auth", &padded_login(64 * 1024 + 1)).await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
    let reply = app.post_json("/auth", &"[".repeat(1024 * 1024)).await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
}

#[tokio::test]
async fn a_streamed_body_without_length_is_limited() {
    let app = TestApp::new();
    let request = Request::post("/auth")
        .header("content-type", "application/json")
        .body(Body::new(Chunked::new(20, 4096, b' ')))
        .unwrap();
    let reply = app.send(request).await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
}

#[tokio::test]
async fn a_lying_content_length_does_not_lift_the_limit() {
    let app = TestApp::new();
    let request = Request::post("/auth")
        .header("content-type", "application/json")
        .header("content-length", "40")
        .body(Body::new(Chunked::new(20, 4096, b' ')))
        .unwrap();
    let reply = app.send(request).await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
}

#[tokio::test]
async fn a_declared_oversize_body_is_413() {
    let app = TestApp::new();
    let request = Request::post("/auth")
        .header("content-type", "application/json")
        .header("content-length", (64 * 1024 + 1).to_string())
        .body(Body::new(Chunked::new(17, 4096, b' ')))
        .unwrap();
    let reply = app.send(request).await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let app = TestApp::new();
    for body in [
        &b""[..],
        b" ",
        b"{",
        b"{\"username\": \"user1\", \"password\": \"abcxyz\"",
        b"nope",
        b"{'username': 'user1', 'password': 'abcxyz'}",
        b"{\"username\": \"user1\", \"password\": \"abcxyz\",}",
        b"{} {}",
        b"{\"username\": \"user1\", \"password\": \"abc\xff\"}",
        // Duplicate member names: never "last one wins".
        b"{\"username\": \"user1\", \"username\": \"user1\", \"password\": \"abcxyz\"}",
        b"{\"username\": \"user2\", \"password\": \"abcxyz\", \"username\": \"user1\"}",
        b"{\"a\": 1, \"a\": 1}",
        b"{\"username\": \"user1\", \"user\\u006eame\": \"user1\", \"password\": \"abcxyz\"}",
        // Python's `json` reads these; JSON has no such numbers.
        b"{\"username\": \"user1\", \"password\": NaN}",
        b"{\"username\": \"user1\", \"password\": Infinity}",
    ] {
        let reply = app
            .send(post("/auth", Some("application/json"), body.to_vec()))
            .await;
        assert_error(&reply, 400, "Bad Request", "Request body is not valid JSON");
    }
}

#[tokio::test]
async fn deeply_nested_bodies_are_400_not_a_crash() {
    let app = TestApp::new();
    let body = format!(r#"{{"username": {}"#, "[".repeat(60_000));
    let reply = app.post_json("/auth", &body).await;
    assert_error(&reply, 400, "Bad Request", "Request body is not valid JSON");
    let body = format!(r#"{{"username": {}"#, "{\"a\":".repeat(10_000));
    let reply = app.post_json("/auth", &body).await;
    assert_error(&reply, 400, "Bad Request", "Request body is not valid JSON");
}

#[tokio::test]
async fn a_body_broken_off_is_400() {
    let app = TestApp::new();
    let request = Request::post("/auth")
        .header("content-type", "application/json")
        .body(Body::new(Broken::default()))
        .unwrap();
    let reply = app.send(request).await;
    assert_error(&reply, 400, "Bad Request", "Request body is not valid JSON");
}

/// A body that sends `{"username"` and then fails, like a dropped connection.
#[derive(Default)]
struct Broken {
    sent: bool,
}

impl http_body::Body for Broken {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        if self.sent {
            return std::task::Poll::Ready(Some(Err(std::io::Error::other("connection reset"))));
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
            b"{\"username\"",
        )))))
    }
}

#[tokio::test]
async fn json_that_is_not_an_object_is_400() {
    let app = TestApp::new();
    for body in [
        "[]",
        r#"[{"username": "user1", "password": "abcxyz"}]"#,
        r#""s""#,
        "1",
        "-2.5",
        "null",
        "true",
        "false",
    ] {
        let reply = app.post_json("/auth", body).await;
        assert_error(
            &reply,
            400,
            "Bad Request",
            "Request body must be a JSON object",
        );
    }
}

#[tokio::test]
async fn other_methods_on_the_login_are_405_json() {
    let app = TestApp::new();
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let request = Request::builder()
            .method(method)
            .uri("/auth")
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert_error(&reply, 405, "Method Not Allowed", "Method not allowed");
        assert_eq!(reply.header("allow"), Some("POST"), "{method}");
    }
}

#[tokio::test]
async fn the_login_routes_alone_answer_405_in_json() {
    // Without `json_errors`: the 405 of the login path is the login's own.
    let app = TestApp::new();
    let router: Router = Router::new()
        .merge(app.jwt.routes())
        .with_state(app.jwt.clone());
    let reply = common::send(&router, common::get_request("/auth", None)).await;
    assert_error(&reply, 405, "Method Not Allowed", "Method not allowed");
    let reply = common::send(
        &router,
        post("/auth", Some("application/json"), GOOD.to_owned()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_failing_authenticate_is_a_500_without_its_cause() {
    let app = TestApp::with(|b| {
        b.authenticate(|_: jwt_gate::Credentials| async {
            Err::<Option<common::User>, _>(std::io::Error::other("db password is hunter2"))
        })
    });
    let reply = app.post_json("/auth", GOOD).await;
    assert_error(
        &reply,
        500,
        "Internal Server Error",
        "Internal server error",
    );
    assert!(!reply.text().contains("hunter2"));
}

#[tokio::test]
async fn authenticate_gets_the_strings_as_sent() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    let app = TestApp::with(move |b| {
        b.authenticate(move |c: jwt_gate::Credentials| {
            record.lock().unwrap().push((c.username, c.password));
            async { Ok::<Option<common::User>, std::convert::Infallible>(None) }
        })
    });
    let reply = app
        .post_json(
            "/auth",
            r#"{"password": "p\u00e4ss \"x\"", "username": " Ünïcode "}"#,
        )
        .await;
    assert_invalid_credentials(&reply);
    assert_eq!(
        *seen.lock().unwrap(),
        [(" Ünïcode ".to_owned(), "päss \"x\"".to_owned())]
    );
}

#[tokio::test]
async fn authenticate_is_not_called_for_malformed_bodies() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&calls);
    let app = TestApp::with(move |b| {
        b.authenticate(move |c: jwt_gate::Credentials| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            common::authenticate(c)
        })
    });
    for body in [
        r#"{"username": "user1"}"#,
        r#"{"username": "user1", "password": 1}"#,
        r#"{"username": "user1", "password": "abcxyz", "x": 1}"#,
        "[]",
        "{",
    ] {
        let reply = app.post_json("/auth", body).await;
        assert!(reply.status.is_client_error(), "{body}");
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    app.login("user1", "abcxyz").await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_minted_elsewhere_with_the_same_secret_is_accepted() {
    let app = TestApp::new();
    let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64(
        json!({"identity": 1, "iat": NOW, "nbf": NOW, "exp": NOW + 60})
            .to_string()
            .as_bytes(),
    );
    let token = common::sign_segments(&header, &payload);
    assert_user(&app.protected(&token).await, 1);
}
