//! The test kit (`jwt_gate::test_kit`, feature `test-kit`) against real routers: every kind of
//! token it mints, with its exact claims and the service's exact answer, in the default setup,
//! with other keys and settings, with the lifecycle and hooks, and with tokens in cookies; the
//! test clock; the request helpers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::{Json, Router};
use common::{CHALLENGE, NOW, SECRET, User, error_body, user};
use jwt_gate::test_kit::{
    TestClock, TestKit, TestResponse, peek_claims, peek_header, post_json, send,
};
use jwt_gate::{
    ACCESS_COOKIE, ACCESS_CSRF_COOKIE, Clock, Jwt, JwtBuilder, JwtConfig, JwtError, Keys,
    MemoryStore, REFRESH_COOKIE, TokenLocation, unix_seconds,
};
use serde_json::{Map, json};

/// An app with the test users, `common::router`'s routes and a [`TestClock`] at NOW.
struct App {
    jwt: Jwt<User>,
    clock: TestClock,
    router: Router,
    kit: TestKit<User>,
}

fn app(keys: Keys, customize: impl FnOnce(JwtBuilder<User>) -> JwtBuilder<User>) -> App {
    let clock = TestClock::at_unix_seconds(NOW);
    let builder = Jwt::builder(keys)
        .clock(clock.clone())
        .authenticate(common::authenticate)
        .identity(common::identity);
    let jwt = customize(builder).build().unwrap();
    let router = common::router(&jwt);
    let kit = TestKit::new(&jwt);
    App {
        jwt,
        clock,
        router,
        kit,
    }
}

fn default_app() -> App {
    app(Keys::hs256(SECRET).unwrap(), |b| b)
}

/// Asserts a 401 `Invalid token` with `description` in the default shape, with the challenge.
#[track_caller]
fn assert_invalid_token(response: &TestResponse, description: &str) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.text()
    );
    assert_eq!(
        response.json(),
        error_body(401, "Invalid token", description)
    );
    assert_eq!(response.header("www-authenticate"), Some(CHALLENGE));
}

#[track_caller]
fn assert_user(response: &TestResponse, id: i64) {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let user = user(id);
    assert_eq!(
        response.json(),
        json!({"id": user.id, "username": user.username})
    );
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

// ---------------------------------------------------------------------------------------------
// Every kind of token, Flask-JWT's defaults.

#[tokio::test]
async fn every_kind_of_token_gets_its_answer() {
    let app = default_app();
    let (kit, router, one) = (&app.kit, &app.router, &user(1));
    let valid = kit.valid(one);
    assert_user(&kit.get_with_token(router, "/protected", &valid).await, 1);
    for (token, description) in [
        (kit.expired(one), "Signature has expired"),
        (kit.not_yet_valid(one), "The token is not yet valid (nbf)"),
        (kit.wrong_key(one), "Signature verification failed"),
        (
            kit.wrong_algorithm(one),
            "The specified alg value is not allowed",
        ),
        (kit.alg_none(one), "The specified alg value is not allowed"),
        (kit.tampered(one), "Signature verification failed"),
    ] {
        let response = kit.get_with_token(router, "/protected", &token).await;
        assert_invalid_token(&response, description);
    }
}

#[tokio::test]
async fn minted_tokens_carry_the_services_claims_moved_as_named() {
    let app = default_app();
    let (kit, one) = (&app.kit, &user(1));
    let claims =
        |iat: i64, nbf: i64, exp: i64| json!({"identity": 1, "iat": iat, "nbf": nbf, "exp": exp});
    let hs256 = json!({"typ": "JWT", "alg": "HS256"});

    let valid = kit.valid(one);
    assert_eq!(peek_header(&valid), hs256);
    assert_eq!(peek_claims(&valid), claims(NOW, NOW, NOW + 300));
    // Issued 300 + 10 + 1 seconds ago: `exp` one second beyond the leeway.
    let expired = kit.expired(one);
    assert_eq!(peek_header(&expired), hs256);
    assert_eq!(
        peek_claims(&expired),
        claims(NOW - 311, NOW - 311, NOW - 11)
    );
    // `nbf` one second beyond the leeway, `iat` now.
    assert_eq!(
        peek_claims(&kit.not_yet_valid(one)),
        claims(NOW, NOW + 11, NOW + 300)
    );
    let wrong_key = kit.wrong_key(one);
    assert_eq!(peek_header(&wrong_key), hs256);
    assert_eq!(peek_claims(&wrong_key), claims(NOW, NOW, NOW + 300));
    assert_ne!(segments(&wrong_key)[2], segments(&valid)[2]);
    let wrong_algorithm = kit.wrong_algorithm(one);
    assert_eq!(
        peek_header(&wrong_algorithm),
        json!({"typ": "JWT", "alg": "HS512"})
    );
    assert_eq!(peek_claims(&wrong_algorithm), claims(NOW, NOW, NOW + 300));
    // An HS512 signature is 64 bytes: 86 base64url characters.
    assert_eq!(segments(&wrong_algorithm)[2].len(), 86);
    let none = kit.alg_none(one);
    assert_eq!(peek_header(&none), json!({"typ": "JWT", "alg": "none"}));
    assert_eq!(peek_claims(&none), claims(NOW, NOW, NOW + 300));
    assert_eq!(segments(&none)[2], "");
    // One byte of the payload: the last digit of `exp`, with the header and signature kept.
    let tampered = kit.tampered(one);
    assert_eq!(peek_claims(&tampered), claims(NOW, NOW, NOW + 301));
    let (tampered, valid) = (segments(&tampered), segments(&valid));
    assert_eq!((tampered[0], tampered[2]), (valid[0], valid[2]));
    assert_eq!(tampered[1].len(), valid[1].len());
    let differing = tampered[1]
        .bytes()
        .zip(valid[1].bytes())
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        (1..=2).contains(&differing),
        "{differing} characters differ"
    );
}

#[tokio::test]
async fn issued_ago_reaches_the_leeway_boundary_exactly() {
    let app = default_app();
    let (kit, router, two) = (&app.kit, &app.router, &user(2));
    // exp = NOW - 10: within the leeway.
    let last = kit.issued_ago(two, Duration::from_secs(310));
    assert_eq!(peek_claims(&last)["exp"], json!(NOW - 10));
    assert_user(&kit.get_with_token(router, "/protected", &last).await, 2);
    let first_refused = kit.issued_ago(two, Duration::from_secs(311));
    assert_eq!(first_refused, kit.expired(two));
    assert_invalid_token(
        &kit.get_with_token(router, "/protected", &first_refused)
            .await,
        "Signature has expired",
    );
}

#[tokio::test]
async fn the_kit_follows_the_jwts_clock() {
    let app = default_app();
    let (kit, router, one) = (&app.kit, &app.router, &user(1));
    app.clock.advance(Duration::from_secs(1000));
    let valid = kit.valid(one);
    assert_eq!(peek_claims(&valid)["iat"], json!(NOW + 1000));
    assert_eq!(
        peek_claims(&kit.expired(one))["exp"],
        json!(NOW + 1000 - 11)
    );
    assert_user(&kit.get_with_token(router, "/protected", &valid).await, 1);
    // The token ages with the clock.
    app.clock.advance(Duration::from_secs(311));
    assert_invalid_token(
        &kit.get_with_token(router, "/protected", &valid).await,
        "Signature has expired",
    );
}

#[tokio::test]
async fn minting_reads_the_settings_in_force() {
    let app = default_app();
    let one = &user(1);
    app.jwt
        .update_config(|c| {
            c.expiration_delta = Duration::from_secs(60);
            c.leeway = Duration::ZERO;
        })
        .unwrap();
    assert_eq!(peek_claims(&app.kit.valid(one))["exp"], json!(NOW + 60));
    assert_eq!(
        peek_claims(&app.kit.expired(one)),
        json!({"identity": 1, "iat": NOW - 61, "nbf": NOW - 61, "exp": NOW - 1})
    );
    assert_eq!(
        peek_claims(&app.kit.not_yet_valid(one))["nbf"],
        json!(NOW + 1)
    );
}

// ---------------------------------------------------------------------------------------------
// Other keys and settings.

#[tokio::test]
async fn another_algorithm_prefix_and_error_handler() {
    let app = app(Keys::hs512(SECRET).unwrap(), |b| {
        let mut config = JwtConfig::default();
        config.auth_header_prefix = "Bearer".to_owned();
        config.leeway = Duration::ZERO;
        config.not_before_delta = Duration::from_secs(5);
        b.config(config).error_handler(|error: &JwtError| {
            (
                error.status(),
                Json(json!({"message": error.to_string(), "code": error.status().as_u16()})),
            )
        })
    });
    let (kit, router, one) = (&app.kit, &app.router, &user(1));
    assert_eq!(kit.authorization("abc"), "Bearer abc");
    let valid = kit.valid(one);
    assert_eq!(peek_header(&valid), json!({"typ": "JWT", "alg": "HS512"}));
    // Not yet valid for 5 seconds, by the settings themselves.
    assert_eq!(
        kit.get_with_token(router, "/protected", &valid)
            .await
            .json(),
        json!({"message": "The token is not yet valid (nbf)", "code": 401})
    );
    app.clock.advance(Duration::from_secs(5));
    assert_user(&kit.get_with_token(router, "/protected", &valid).await, 1);
    assert_eq!(
        peek_header(&kit.wrong_algorithm(one)),
        json!({"typ": "JWT", "alg": "HS256"})
    );
    // `not_yet_valid` keeps the larger delta; `expired` counts the lifetime from `iat`.
    let now = NOW + 5;
    assert_eq!(peek_claims(&kit.not_yet_valid(one))["nbf"], json!(now + 5));
    assert_eq!(
        peek_claims(&kit.expired(one)),
        json!({"identity": 1, "iat": now - 301, "nbf": now - 296, "exp": now - 1})
    );
    for (token, message) in [
        (kit.expired(one), "Signature has expired"),
        (kit.wrong_key(one), "Signature verification failed"),
        (
            kit.wrong_algorithm(one),
            "The specified alg value is not allowed",
        ),
        (kit.alg_none(one), "The specified alg value is not allowed"),
        (kit.tampered(one), "Signature verification failed"),
    ] {
        let response = kit.get_with_token(router, "/protected", &token).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.json(), json!({"message": message, "code": 401}));
        assert_eq!(
            response.header("www-authenticate"),
            Some(r#"Bearer realm="Login Required""#)
        );
    }
    // A `JWT` prefix is now another scheme.
    let request = Request::get("/protected")
        .header("authorization", format!("JWT {valid}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(router, request).await.json(),
        json!({"message": "Unsupported authorization type", "code": 401})
    );
}

#[tokio::test]
async fn hs384_is_confused_with_hs512() {
    let app = app(Keys::hs384(SECRET).unwrap(), |b| b);
    let (kit, router, one) = (&app.kit, &app.router, &user(1));
    assert_eq!(
        peek_header(&kit.wrong_algorithm(one)),
        json!({"typ": "JWT", "alg": "HS512"})
    );
    assert_eq!(peek_header(&kit.wrong_key(one))["alg"], "HS384");
    assert_invalid_token(
        &kit.get_with_token(router, "/protected", &kit.wrong_algorithm(one))
            .await,
        "The specified alg value is not allowed",
    );
    assert_user(
        &kit.get_with_token(router, "/protected", &kit.valid(one))
            .await,
        1,
    );
}

#[tokio::test]
async fn the_prefix_is_read_when_the_request_is_built() {
    let app = default_app();
    let token = app.kit.valid(&user(1));
    app.jwt
        .update_config(|c| c.auth_header_prefix = "Token".to_owned())
        .unwrap();
    assert_eq!(app.kit.authorization(&token), format!("Token {token}"));
    assert_user(
        &app.kit
            .get_with_token(&app.router, "/protected", &token)
            .await,
        1,
    );
}

// ---------------------------------------------------------------------------------------------
// The lifecycle and the hooks.

fn lifecycle_app() -> App {
    app(Keys::hs256(SECRET).unwrap(), |b| {
        b.revocation_store(Arc::new(MemoryStore::new()))
            .payload(|user: &User| {
                let mut extra = Map::new();
                extra.insert("username".to_owned(), json!(user.username));
                extra
            })
            .headers(|_: &User| {
                let mut extra = Map::new();
                extra.insert("kid".to_owned(), json!("2024-01"));
                extra
            })
    })
}

/// The claim names of `token`, sorted.
fn claim_names(token: &str) -> Vec<String> {
    let mut names: Vec<String> = peek_claims(token)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn lifecycle_claims_and_hook_output_are_in_every_minted_token() {
    let app = lifecycle_app();
    let (kit, router, one) = (&app.kit, &app.router, &user(1));
    let names = [
        "exp", "fam", "fresh", "iat", "iat_ms", "identity", "jti", "nbf", "type", "username",
    ];
    let valid = kit.valid(one);
    for token in [
        valid.clone(),
        kit.expired(one),
        kit.not_yet_valid(one),
        kit.wrong_key(one),
        kit.wrong_algorithm(one),
        kit.alg_none(one),
        kit.tampered(one),
    ] {
        assert_eq!(claim_names(&token), names, "{}", peek_claims(&token));
        let claims = peek_claims(&token);
        assert_eq!(
            (&claims["type"], &claims["fresh"], &claims["username"]),
            (&json!("access"), &json!(true), &json!("user1"))
        );
        assert_eq!(peek_header(&token)["kid"], "2024-01");
    }
    assert_eq!(
        peek_header(&valid),
        json!({"typ": "JWT", "alg": "HS256", "kid": "2024-01"})
    );
    let expired = peek_claims(&kit.expired(one));
    assert_eq!(expired["iat_ms"], json!((NOW - 311) * 1000));
    assert_eq!(expired["exp"], json!(NOW - 11));
    // Fresh ids for every token.
    assert_ne!(
        peek_claims(&kit.valid(one))["jti"],
        peek_claims(&valid)["jti"]
    );

    assert_user(&kit.get_with_token(router, "/protected", &valid).await, 1);
    assert_invalid_token(
        &kit.get_with_token(router, "/protected", &kit.expired(one))
            .await,
        "Signature has expired",
    );
    assert_invalid_token(
        &kit.get_with_token(router, "/protected", &kit.tampered(one))
            .await,
        "Signature verification failed",
    );
}

#[tokio::test]
async fn login_refresh_and_logout_through_the_helpers() {
    let app = lifecycle_app();
    let (kit, router) = (&app.kit, &app.router);
    let login = kit.login(router, "user2", "xyzabc").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let body = login.json();
    let (access, refresh) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    assert_eq!(peek_claims(refresh)["type"], "refresh");
    assert_user(&kit.get_with_token(router, "/protected", access).await, 2);

    let refreshed = kit
        .send_with_token(
            router,
            Request::post("/refresh").body(Body::empty()).unwrap(),
            refresh,
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    let next = refreshed.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(peek_claims(&next)["fresh"], false);

    let logout = kit
        .send_with_token(
            router,
            Request::post("/logout").body(Body::empty()).unwrap(),
            &next,
        )
        .await;
    assert_eq!(logout.json(), json!({"message": "Successfully logged out"}));
    let response = kit.get_with_token(router, "/protected", &next).await;
    assert_eq!(
        response.json(),
        error_body(401, "Revoked token", "Token has been revoked")
    );

    let refused = kit.login(router, "user2", "wrong").await;
    assert_eq!(
        refused.json(),
        error_body(401, "Bad Request", "Invalid credentials")
    );
}

// ---------------------------------------------------------------------------------------------
// Tokens in cookies.

#[tokio::test]
async fn cookie_mode_tokens_carry_csrf_and_travel_in_cookies() {
    let app = app(Keys::hs256(SECRET).unwrap(), |b| {
        b.token_location(TokenLocation::Cookies)
            .revocation_store(Arc::new(MemoryStore::new()))
    });
    let (kit, router, one) = (&app.kit, &app.router, &user(1));
    let valid = kit.valid(one);
    let csrf = peek_claims(&valid)["csrf"].as_str().unwrap().to_owned();
    assert_eq!(csrf.len(), 22, "{csrf}");
    for token in [kit.expired(one), kit.not_yet_valid(one), kit.tampered(one)] {
        assert!(peek_claims(&token)["csrf"].is_string());
    }

    let get = || Request::get("/protected").body(Body::empty()).unwrap();
    let request = kit.with_cookie(get(), &valid);
    assert_eq!(
        request.headers()["cookie"],
        format!("{ACCESS_COOKIE}={valid}")
    );
    assert_eq!(request.headers()["x-csrf-token"], csrf.as_str());
    assert_user(&send(router, request).await, 1);
    // The Authorization header is not read in cookie mode.
    assert_eq!(
        kit.get_with_token(router, "/protected", &valid)
            .await
            .json(),
        error_body(
            401,
            "Authorization Required",
            "Request does not contain an access token"
        )
    );
    assert_invalid_token(
        &send(router, kit.with_cookie(get(), &kit.expired(one))).await,
        "Signature has expired",
    );

    // A login sets the cookies; the refresh cookie refreshes (CSRF from its own claim).
    let login = kit.login(router, "user1", "abcxyz").await;
    assert_eq!(login.json(), json!({"login": true}));
    let access = login.cookie(ACCESS_COOKIE).unwrap();
    assert_eq!(
        login.cookie(ACCESS_CSRF_COOKIE).unwrap(),
        peek_claims(&access)["csrf"].as_str().unwrap()
    );
    let refresh = login.cookie(REFRESH_COOKIE).unwrap();
    let post = |path: &str| Request::post(path).body(Body::empty()).unwrap();
    let request = kit.with_cookie(post("/refresh"), &refresh);
    assert_eq!(
        request.headers()["cookie"],
        format!("{REFRESH_COOKIE}={refresh}")
    );
    let refreshed = send(router, request).await;
    assert_eq!(refreshed.json(), json!({"refresh": true}));
    let next = refreshed.cookie(ACCESS_COOKIE).unwrap();

    // A logout clears them.
    let logout = send(router, kit.with_cookie(post("/logout"), &next)).await;
    assert_eq!(logout.json(), json!({"message": "Successfully logged out"}));
    assert_eq!(logout.cookie(ACCESS_COOKIE).as_deref(), Some(""));
    assert_eq!(logout.cookie("no_such_cookie"), None);
}

// ---------------------------------------------------------------------------------------------
// The clock.

#[test]
fn the_test_clock_freezes_moves_and_runs() {
    let clock = TestClock::at_unix_seconds(NOW);
    let shared = clock.clone();
    assert!(clock.is_frozen());
    assert_eq!(unix_seconds(&shared), NOW);
    clock.advance(Duration::from_millis(1500));
    assert_eq!(shared.unix_millis(), NOW * 1000 + 1500);
    assert_eq!(shared.unix_seconds(), NOW + 1);
    clock.rewind(Duration::from_secs(2));
    assert_eq!(shared.unix_millis(), NOW * 1000 - 500);
    assert_eq!(shared.unix_seconds(), NOW - 1);
    clock.set_unix_seconds(10);
    assert_eq!(
        shared.now(),
        std::time::UNIX_EPOCH + Duration::from_secs(10)
    );
    clock.set_unix_seconds(-1);
    assert_eq!(shared.now(), std::time::UNIX_EPOCH - Duration::from_secs(1));

    clock.set_unix_seconds(NOW);
    clock.resume();
    assert!(!shared.is_frozen());
    std::thread::sleep(Duration::from_millis(20));
    let ran = shared.unix_millis() - NOW * 1000;
    assert!(ran >= 20, "{ran}");
    // Moving a running clock keeps it running from the new reading.
    clock.advance(Duration::from_secs(100));
    assert!(shared.unix_millis() >= NOW * 1000 + 100_020);
    clock.freeze();
    let frozen = shared.unix_millis();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(shared.unix_millis(), frozen);
    clock.freeze();
    assert_eq!(shared.unix_millis(), frozen);

    let now = TestClock::new();
    assert!(now.is_frozen());
    assert_eq!(now.unix_millis() % 1000, 0);
    assert!((now.unix_seconds() - unix_seconds(&jwt_gate::SystemClock::default())).abs() <= 1);
}

// ---------------------------------------------------------------------------------------------
// Requests and responses.

#[tokio::test]
async fn send_reads_the_whole_answer() {
    let app = default_app();
    let response = send(
        &app.router,
        Request::get("/public").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"ok": true}));
    assert_eq!(response.text(), r#"{"ok":true}"#);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-none"), None);

    let response = send(
        &app.router,
        post_json("/auth", &json!({"username": "user1"})),
    )
    .await;
    assert_eq!(
        response.json(),
        error_body(401, "Bad Request", "Invalid credentials")
    );
    let request = post_json("/x", &json!([1]));
    assert_eq!(request.headers()["content-type"], "application/json");
    assert_eq!(request.method(), "POST");

    let request = app
        .kit
        .with_token(Request::get("/protected").body(Body::empty()).unwrap(), "t");
    assert_eq!(request.headers()["authorization"], "JWT t");
}

#[tokio::test]
#[should_panic(expected = "is not JSON")]
async fn json_of_a_body_that_is_not_json_panics_with_the_body() {
    let app = default_app();
    let response = send(
        &app.router,
        Request::head("/public").body(Body::empty()).unwrap(),
    )
    .await;
    let _ = response.json();
}

#[test]
#[should_panic(expected = "is not a JWT")]
fn peeking_at_a_non_token_panics() {
    let _ = peek_claims("abc");
}
