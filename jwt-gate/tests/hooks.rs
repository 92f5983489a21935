//! The hooks: `auth_response`, `error_handler`, `payload`, `headers`, `token_source`, the
//! `issue` / `verify` building blocks, and `json_errors`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{
    CHALLENGE, NOW, TestApp, User, assert_error, assert_invalid_token, assert_user, claims_for,
    segment_json, token, user, with_claim,
};
use jwt_gate::{
    AuthorizationHeader, Credentials, HeaderError, Jwt, JwtConfig, JwtError, TokenError, Tokens,
};
use serde_json::{Map, Value, json};

/// The seed tutorial's `auth_response_handler`.
fn seed_auth_response(tokens: Tokens, user: &User) -> Json<Value> {
    let access_token = Value::String(tokens.access_token);
    Json(json!({"access_token": access_token, "user_id": user.id}))
}

/// The seed tutorial's `error_handler`.
fn seed_error_handler(error: &JwtError) -> (StatusCode, Json<Value>) {
    (
        error.status(),
        Json(json!({"message": error.to_string(), "code": error.status().as_u16()})),
    )
}

fn seed_errors() -> TestApp {
    TestApp::with(|b| b.error_handler(seed_error_handler))
}

#[track_caller]
fn assert_seed_error(reply: &common::Reply, code: u16, message: &str) {
    assert_eq!(reply.status.as_u16(), code, "{}", reply.text());
    assert_eq!(reply.json(), json!({"message": message, "code": code}));
    if code == 401 {
        assert_eq!(reply.challenge(), Some(CHALLENGE));
    } else {
        assert_eq!(reply.challenge(), None);
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// auth_response

#[tokio::test]
async fn auth_response_shapes_the_login_answer() {
    let app = TestApp::with(|b| b.auth_response(seed_auth_response));
    let reply = app
        .post_json("/auth", r#"{"username":"user2","password":"xyzabc"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    assert_eq!(body["user_id"], 2);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(segment_json(token, 1)["identity"], 2);
    assert_user(&app.protected(token).await, 2);
    // The token response is still not cached.
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn auth_response_may_set_its_own_status_and_cache_control() {
    let app = TestApp::with(|b| {
        b.auth_response(|tokens: Tokens, _: &User| {
            (
                StatusCode::CREATED,
                [(CACHE_CONTROL, "private, no-store, max-age=0")],
                tokens.access_token,
            )
        })
    });
    let reply = app
        .post_json("/auth", r#"{"username":"user1","password":"abcxyz"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.header("cache-control"),
        Some("private, no-store, max-age=0")
    );
    assert_user(&app.protected(&reply.text()).await, 1);
}

#[tokio::test]
async fn auth_response_is_not_called_on_failure() {
    let app = TestApp::with(|b| b.auth_response(seed_auth_response));
    let reply = app
        .post_json("/auth", r#"{"username":"user2","password":"nope"}"#)
        .await;
    assert_error(&reply, 401, "Bad Request", "Invalid credentials");
}

// ---------------------------------------------------------------------------------------------
// error_handler

#[tokio::test]
async fn error_handler_reshapes_every_error() {
    let app = seed_errors();
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
    assert_seed_error(&app.protected("abc").await, 401, "Not enough segments");
    let expired = token(&with_claim("exp", json!(NOW - 100)));
    assert_seed_error(&app.protected(&expired).await, 401, "Signature has expired");
    let unknown = token(&claims_for(&json!(3)));
    assert_seed_error(&app.protected(&unknown).await, 401, "User does not exist");
    assert_seed_error(
        &app.post_json("/auth", r#"{"username":"user1","password":"no"}"#)
            .await,
        401,
        "Invalid credentials",
    );
    assert_seed_error(
        &app.send(common::post("/auth", Some("text/plain"), "x"))
            .await,
        415,
        "Content-Type must be application/json",
    );
    assert_seed_error(
        &app.post_json("/auth", &" ".repeat(64 * 1024 + 1)).await,
        413,
        "Request body too large",
    );
    assert_seed_error(
        &app.post_json("/auth", "{").await,
        400,
        "Request body is not valid JSON",
    );
    assert_seed_error(
        &app.post_json("/auth", "[]").await,
        400,
        "Request body must be a JSON object",
    );
    assert_seed_error(&app.get("/nowhere", None).await, 404, "Not found");
    assert_seed_error(&app.get("/auth", None).await, 405, "Method not allowed");
}

#[tokio::test]
async fn error_handler_shapes_internal_errors_without_their_cause() {
    let app = TestApp::with(|b| {
        b.error_handler(seed_error_handler)
            .identity(|_: jwt_gate::Claims<i64>| async {
                Err::<Option<User>, _>(std::io::Error::other("disk on fire"))
            })
    });
    let reply = app.protected(&token(&claims_for(&json!(1)))).await;
    assert_seed_error(&reply, 500, "Internal server error");
    assert!(!reply.text().contains("fire"));
}

#[tokio::test]
async fn error_handler_keeps_its_own_challenge() {
    let app = TestApp::with(|b| {
        b.error_handler(|error: &JwtError| {
            (
                error.status(),
                [(WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)],
                Json(json!({"message": error.to_string()})),
            )
        })
    });
    let reply = app.get("/protected", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer error="invalid_token""#),
        "exactly one challenge, the handler's"
    );
    assert_eq!(
        reply.json(),
        json!({"message": "Request does not contain an access token"})
    );
}

#[tokio::test]
async fn error_handler_sees_the_error_itself() {
    let app = TestApp::with(|b| {
        b.error_handler(|error: &JwtError| {
            let message = match error {
                JwtError::InvalidToken(TokenError::Expired) => "Please log in again".to_owned(),
                JwtError::BadHeader(HeaderError::UnsupportedType) => "Use JWT".to_owned(),
                other => format!("{}: {}", other.title(), other.description()),
            };
            (error.status(), Json(json!({"message": message})))
        })
    });
    let expired = token(&with_claim("exp", json!(NOW - 100)));
    let reply = app.protected(&expired).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json(), json!({"message": "Please log in again"}));
    assert_eq!(reply.challenge(), Some(CHALLENGE));
    let reply = app.get("/protected", Some("Basic x")).await;
    assert_eq!(reply.json(), json!({"message": "Use JWT"}));
    let reply = app.protected("abc").await;
    assert_eq!(
        reply.json(),
        json!({"message": "Invalid token: Not enough segments"})
    );
}

// ---------------------------------------------------------------------------------------------
// payload, headers

#[tokio::test]
async fn payload_adds_claims() {
    let app = TestApp::with(|b| {
        b.payload(|user: &User| {
            object(json!({"role": if user.id == 1 { "admin" } else { "user" }, "tenant": 7}))
        })
    });
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(
        segment_json(&token, 1),
        json!({"identity": 1, "iat": NOW, "nbf": NOW, "exp": NOW + 300, "role": "admin", "tenant": 7})
    );
    let reply = app.get("/claims", Some(&format!("JWT {token}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["extra"], json!({"role": "admin", "tenant": 7}));
    assert_user(&app.protected(&token).await, 1);
    let token = app.login("user2", "xyzabc").await;
    assert_eq!(segment_json(&token, 1)["role"], "user");
}

#[tokio::test]
async fn payload_cannot_override_the_flask_jwt_claims() {
    let app = TestApp::with(|b| {
        b.payload(|_: &User| {
            object(json!({"identity": 2, "exp": NOW + 999_999, "iat": 0, "nbf": 0, "role": "x"}))
        })
    });
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(
        segment_json(&token, 1),
        json!({"identity": 1, "iat": NOW, "nbf": NOW, "exp": NOW + 300, "role": "x"})
    );
    assert_user(&app.protected(&token).await, 1);
    app.clock.advance(Duration::from_secs(311));
    assert_invalid_token(&app.protected(&token).await, "Signature has expired");
}

#[tokio::test]
async fn headers_add_jose_header_fields() {
    let app =
        TestApp::with(|b| b.headers(|user: &User| object(json!({"kid": format!("k{}", user.id)}))));
    let token = app.login("user2", "xyzabc").await;
    assert_eq!(
        segment_json(&token, 0),
        json!({"typ": "JWT", "alg": "HS256", "kid": "k2"})
    );
    assert_user(&app.protected(&token).await, 2);
}

#[tokio::test]
async fn headers_cannot_override_alg_or_add_crit() {
    let app = TestApp::with(|b| {
        b.headers(|_: &User| object(json!({"alg": "none", "kid": "k1", "crit": ["exp"]})))
    });
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(
        segment_json(&token, 0),
        json!({"typ": "JWT", "alg": "HS256", "kid": "k1"})
    );
    let (input, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(signature, common::hmac_b64("HS256", common::SECRET, input));
    assert_user(&app.protected(&token).await, 1);
}

#[tokio::test]
async fn empty_headers_keep_pyjwts_header() {
    let app = TestApp::with(|b| b.headers(|_: &User| Map::new()));
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(
        common::unb64(token.split('.').next().unwrap()),
        common::HS256_HEADER.as_bytes()
    );
}

// ---------------------------------------------------------------------------------------------
// token_source

fn from_custom_header(parts: &Parts, _: &JwtConfig) -> Result<Option<String>, JwtError> {
    match parts.headers.get("x-access-token") {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.to_owned()))
            .map_err(|_| HeaderError::TokenMissing.into()),
    }
}

fn from_query(parts: &Parts, _: &JwtConfig) -> Result<Option<String>, JwtError> {
    let query = parts.uri.query().unwrap_or_default();
    let mut found = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("access_token="));
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(token), None) => Ok(Some(token.to_owned())),
        (Some(_), Some(_)) => Err(HeaderError::TokenContainsSpaces.into()),
    }
}

#[tokio::test]
async fn token_source_reads_a_custom_header() {
    let app = TestApp::with(|b| b.token_source(from_custom_header));
    let good = token(&claims_for(&json!(2)));
    let request = axum::http::Request::get("/protected")
        .header("x-access-token", &good)
        .body(Body::empty())
        .unwrap();
    assert_user(&app.send(request).await, 2);
    // The `Authorization` header is no longer read.
    let reply = app.protected(&good).await;
    assert_error(
        &reply,
        401,
        "Authorization Required",
        "Request does not contain an access token",
    );
    let request = axum::http::Request::get("/protected")
        .header("x-access-token", "abc")
        .body(Body::empty())
        .unwrap();
    assert_invalid_token(&app.send(request).await, "Not enough segments");
    let request = axum::http::Request::get("/protected")
        .header("x-access-token", HeaderValue::from_bytes(b"\xff").unwrap())
        .body(Body::empty())
        .unwrap();
    assert_error(
        &app.send(request).await,
        401,
        "Invalid JWT header",
        "Token missing",
    );
}

#[tokio::test]
async fn token_source_reads_a_query_parameter() {
    let app = TestApp::with(|b| b.token_source(from_query));
    let good = token(&claims_for(&json!(1)));
    assert_user(
        &app.get(&format!("/protected?x=1&access_token={good}"), None)
            .await,
        1,
    );
    let reply = app.get("/protected?x=1", None).await;
    assert_error(
        &reply,
        401,
        "Authorization Required",
        "Request does not contain an access token",
    );
    let reply = app
        .get(
            &format!("/protected?access_token={good}&access_token={good}"),
            None,
        )
        .await;
    assert_error(&reply, 401, "Invalid JWT header", "Token contains spaces");
    // Optional auth follows the source too.
    let reply = app.get("/optional", None).await;
    assert_eq!(reply.json(), json!({"user": null}));
    let reply = app
        .get(&format!("/optional?access_token={good}"), None)
        .await;
    assert_eq!(reply.json(), json!({"user": "user1"}));
}

#[tokio::test]
async fn token_source_default_is_the_authorization_header() {
    let app = TestApp::with(|b| b.token_source(AuthorizationHeader::default()));
    let good = token(&claims_for(&json!(1)));
    assert_user(&app.protected(&good).await, 1);
    let reply = app.get("/protected", Some("JWT")).await;
    assert_error(&reply, 401, "Invalid JWT header", "Token missing");
}

// ---------------------------------------------------------------------------------------------
// issue / verify and hand-written routes

#[tokio::test]
async fn issue_and_verify_are_the_login_and_the_check() {
    let app = TestApp::new();
    let token = app.jwt.issue(&user(2)).unwrap();
    assert_eq!(
        segment_json(&token, 0),
        json!({"typ": "JWT", "alg": "HS256"})
    );
    assert_eq!(
        segment_json(&token, 1),
        json!({"identity": 2, "iat": NOW, "nbf": NOW, "exp": NOW + 300})
    );
    assert_user(&app.protected(&token).await, 2);
    let claims = app.jwt.verify(&token).unwrap();
    assert_eq!(claims.identity, 2);
    assert_eq!(claims.iat, Some(NOW));
    assert_eq!(claims.nbf, Some(NOW));
    assert_eq!(claims.exp, Some(NOW + 300));
    assert!(claims.extra.is_empty());

    app.clock.advance(Duration::from_secs(311));
    assert!(matches!(
        app.jwt.verify(&token),
        Err(JwtError::InvalidToken(TokenError::Expired))
    ));
}

#[tokio::test]
async fn verify_reports_every_failure_as_a_jwt_error() {
    let app = TestApp::new();
    let error = app.jwt.verify("abc").unwrap_err();
    assert!(matches!(
        error,
        JwtError::InvalidToken(TokenError::NotEnoughSegments)
    ));
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error.title(), "Invalid token");
    assert_eq!(error.description(), "Not enough segments");
    let string_id = token(&claims_for(&json!("1")));
    assert!(matches!(
        app.jwt.verify(&string_id),
        Err(JwtError::UnknownIdentity)
    ));
    let crit = common::sign_json(
        r#"{"alg":"HS256","crit":[]}"#,
        &claims_for(&json!(1)).to_string(),
    );
    assert!(matches!(
        app.jwt.verify(&crit),
        Err(JwtError::InvalidToken(
            TokenError::UnsupportedCriticalHeader
        ))
    ));
}

#[tokio::test]
async fn issue_includes_the_payload_and_headers_hooks() {
    let app = TestApp::with(|b| {
        b.payload(|_: &User| object(json!({"scope": "read"})))
            .headers(|_: &User| object(json!({"kid": "main"})))
    });
    let token = app.jwt.issue(&user(1)).unwrap();
    assert_eq!(segment_json(&token, 0)["kid"], "main");
    let claims = app.jwt.verify(&token).unwrap();
    assert_eq!(Value::Object(claims.extra), json!({"scope": "read"}));
}

/// A hand-written login with the building blocks: `read_json_object`, `authenticate`, `issue`
/// and `error_response`.
async fn custom_login(State(jwt): State<Jwt<User>>, request: Request) -> Response {
    let result = async {
        let body = jwt_gate::read_json_object(request, 1024).await?;
        let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
        let pin = body.get("pin").and_then(Value::as_str).unwrap_or_default();
        let user = jwt
            .authenticate(Credentials::new(name, pin))
            .await?
            .ok_or(JwtError::BadCredentials)?;
        let token = jwt.issue(&user)?;
        Ok::<_, JwtError>(Json(json!({"token": token, "name": user.username})))
    }
    .await;
    match result {
        Ok(answer) => answer.into_response(),
        Err(error) => jwt.error_response(&error),
    }
}

/// A hand-written check with `token`, `verify` and `identify`.
async fn custom_check(State(jwt): State<Jwt<User>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let result = async {
        let token = jwt.token(&parts)?.ok_or(JwtError::MissingToken)?;
        let claims = jwt.verify(&token)?;
        jwt.identify(claims).await
    }
    .await;
    match result {
        Ok(user) => Json(json!({"me": user.username})).into_response(),
        Err(error) => jwt.reject(error).into_response(),
    }
}

fn custom_app(app: &TestApp) -> Router {
    Router::new()
        .route("/custom-login", post(custom_login))
        .route("/custom-check", get(custom_check))
        .with_state(app.jwt.clone())
}

#[tokio::test]
async fn building_blocks_make_a_hand_written_login() {
    let app = TestApp::new();
    let router = custom_app(&app);
    let reply = common::send(
        &router,
        common::post(
            "/custom-login",
            Some("application/json"),
            r#"{"name":"user1","pin":"abcxyz"}"#,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["name"], "user1");
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    assert_user(&app.protected(&token).await, 1);

    let reply = common::send(
        &router,
        common::get_request("/custom-check", Some(&format!("JWT {token}"))),
    )
    .await;
    assert_eq!(reply.json(), json!({"me": "user1"}));

    let reply = common::send(
        &router,
        common::post(
            "/custom-login",
            Some("application/json"),
            r#"{"name":"user1","pin":"wrong"}"#,
        ),
    )
    .await;
    assert_error(&reply, 401, "Bad Request", "Invalid credentials");
    let reply = common::send(
        &router,
        common::post("/custom-login", Some("application/json"), "x".repeat(2000)),
    )
    .await;
    assert_error(&reply, 413, "Payload Too Large", "Request body too large");
    let reply = common::send(&router, common::post("/custom-login", None, "{}")).await;
    assert_error(
        &reply,
        415,
        "Unsupported Media Type",
        "Content-Type must be application/json",
    );
    let reply = common::send(&router, common::get_request("/custom-check", None)).await;
    assert_error(
        &reply,
        401,
        "Authorization Required",
        "Request does not contain an access token",
    );
    let unknown = token_for(3);
    let reply = common::send(
        &router,
        common::get_request("/custom-check", Some(&format!("JWT {unknown}"))),
    )
    .await;
    assert_error(&reply, 401, "Invalid JWT", "User does not exist");
}

fn token_for(identity: i64) -> String {
    token(&claims_for(&json!(identity)))
}

#[tokio::test]
async fn error_response_renders_any_error_with_the_challenge() {
    let app = TestApp::new();
    let response = app.jwt.error_response(&JwtError::MissingToken);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], CHALLENGE);
    let response = app.jwt.error_response(&JwtError::UnsupportedMediaType);
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let rejection = app.jwt.reject(TokenError::Expired.into());
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    assert!(matches!(
        rejection.error(),
        JwtError::InvalidToken(TokenError::Expired)
    ));
    let response = rejection.into_response();
    assert_eq!(response.headers()[WWW_AUTHENTICATE], CHALLENGE);
}

// ---------------------------------------------------------------------------------------------
// json_errors

#[tokio::test]
async fn json_errors_answers_unknown_paths_with_404() {
    let app = TestApp::new();
    for path in ["/nowhere", "/protected/x", "/auth/x", "/"] {
        assert_error(&app.get(path, None).await, 404, "Not Found", "Not found");
    }
    let reply = app.post_json("/nowhere", "{}").await;
    assert_error(&reply, 404, "Not Found", "Not found");
}

#[tokio::test]
async fn json_errors_answers_other_methods_with_405() {
    let app = TestApp::new();
    for (method, path) in [
        ("OPTIONS", "/protected"),
        ("POST", "/protected"),
        ("DELETE", "/public"),
        ("OPTIONS", "/public"),
        ("PUT", "/group/a"),
        ("OPTIONS", "/auth"),
    ] {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert_error(&reply, 405, "Method Not Allowed", "Method not allowed");
    }
}

#[tokio::test]
async fn json_errors_answers_oversize_headers_with_431() {
    let app = TestApp::new();
    let big = "a".repeat(17 * 1024);
    let good = token(&claims_for(&json!(1)));
    for path in ["/protected", "/public", "/nowhere"] {
        let request = axum::http::Request::get(path)
            .header(AUTHORIZATION, format!("JWT {good}"))
            .header("x-big", &big)
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert_error(
            &reply,
            431,
            "Request Header Fields Too Large",
            "Request headers too large",
        );
    }
    // Many small headers add up.
    let mut request = axum::http::Request::get("/public")
        .body(Body::empty())
        .unwrap();
    for i in 0..200 {
        request.headers_mut().append(
            "x-many",
            HeaderValue::from_str(&format!("{i:0>100}")).unwrap(),
        );
    }
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // Under the limit is served.
    let request = axum::http::Request::get("/public")
        .header("x-big", "a".repeat(15 * 1024))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn json_errors_use_the_error_handlers_shape() {
    let app = seed_errors();
    assert_seed_error(&app.get("/nowhere", None).await, 404, "Not found");
    let request = axum::http::Request::builder()
        .method("OPTIONS")
        .uri("/protected")
        .body(Body::empty())
        .unwrap();
    assert_seed_error(&app.send(request).await, 405, "Method not allowed");
    let request = axum::http::Request::get("/public")
        .header("x-big", "a".repeat(17 * 1024))
        .body(Body::empty())
        .unwrap();
    assert_seed_error(&app.send(request).await, 431, "Request headers too large");
}
