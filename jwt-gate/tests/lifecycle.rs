//! The token lifecycle (CONTRACT.md "Lifecycle extension", DESIGN.md §4 and §5): refresh
//! tokens, fresh tokens, rotation with reuse detection, logout, logout-all, optional auth, and
//! the store failing closed. Every time rule runs on a [`FixedClock`]; nothing sleeps.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::AUTHORIZATION;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use common::{
    NOW, OTHER_SECRET, Reply, TestApp, User, assert_error, assert_invalid_token, assert_user,
    claims_for, segment_json, token,
};
use jwt_gate::revocation::{Rotation, StoreFuture, TokenRecord};
use jwt_gate::{
    ConfigError, CurrentClaims, CurrentIdentity, FreshIdentity, Jwt, JwtConfig, MemoryStore,
    RefreshClaims, RevocationStore, StoreError, TokenType, Tokens,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The app.

const REFRESH_LIFETIME: i64 = 30 * 24 * 60 * 60;
const REVOKED: &str = "Token has been revoked";
const REUSED: &str = "Refresh token reuse detected; the session has been revoked";

async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn fresh(FreshIdentity(user): FreshIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn optional(user: Option<CurrentIdentity<User>>) -> Json<Value> {
    Json(json!({"user": user.map(|CurrentIdentity(u)| u.username)}))
}

fn lifecycle_json(claims: &jwt_gate::Claims<i64>) -> Value {
    json!({
        "identity": claims.identity,
        "jti": claims.jti,
        "type": claims.token_type.map(TokenType::as_str),
        "fresh": claims.fresh,
        "fam": claims.family,
        "iat_ms": claims.issued_at_ms,
    })
}

async fn claims(CurrentClaims(claims): CurrentClaims<User>) -> Json<Value> {
    Json(lifecycle_json(&claims))
}

async fn refresh_claims(RefreshClaims(claims): RefreshClaims<User>) -> Json<Value> {
    Json(lifecycle_json(&claims))
}

/// `GET /protected`, `/fresh`, `/optional`, `/claims` (access-token claims),
/// `/refresh-claims` (refresh-token claims), the routes of `routes()`, `json_errors` over all.
fn lifecycle_router(jwt: &Jwt<User>) -> Router {
    let app = Router::new()
        .route("/protected", get(protected))
        .route("/fresh", get(fresh))
        .route("/optional", get(optional))
        .route("/claims", get(claims))
        .route("/refresh-claims", get(refresh_claims))
        .merge(jwt.routes());
    jwt.json_errors(app).with_state(jwt.clone())
}

/// An app with `store` and the settings changed by `change`.
fn app_with(
    store: Arc<dyn RevocationStore>,
    change: impl FnOnce(&mut JwtConfig),
    customize: impl FnOnce(jwt_gate::JwtBuilder<User>) -> jwt_gate::JwtBuilder<User>,
) -> TestApp {
    let clock = common::clock();
    let mut config = JwtConfig::default();
    change(&mut config);
    let jwt = customize(
        common::builder(&clock)
            .config(config)
            .revocation_store(store),
    )
    .build()
    .expect("a valid app");
    let router = lifecycle_router(&jwt);
    TestApp { jwt, clock, router }
}

/// The lifecycle on a fresh `MemoryStore`, every other setting the default.
fn lifecycle() -> TestApp {
    app_with(Arc::new(MemoryStore::new()), |_| {}, |b| b)
}

/// A login's (or a refresh's) two tokens.
#[derive(Clone, Debug)]
struct Pair {
    access: String,
    refresh: String,
}

/// Asserts a 200 token answer: exactly `{"access_token", "refresh_token"}`, not cached.
#[track_caller]
fn assert_pair(reply: &Reply) -> Pair {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    let keys: HashSet<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["access_token", "refresh_token"]));
    Pair {
        access: body["access_token"].as_str().expect("a token").to_owned(),
        refresh: body["refresh_token"].as_str().expect("a token").to_owned(),
    }
}

async fn try_login(app: &TestApp, username: &str, password: &str) -> Reply {
    let body = json!({"username": username, "password": password}).to_string();
    app.post_json("/auth", &body).await
}

async fn login(app: &TestApp, username: &str, password: &str) -> Pair {
    assert_pair(&try_login(app, username, password).await)
}

async fn login1(app: &TestApp) -> Pair {
    login(app, "user1", "abcxyz").await
}

async fn login2(app: &TestApp) -> Pair {
    login(app, "user2", "xyzabc").await
}

/// `POST <path>` with `Authorization: JWT <token>` and no body.
fn post_with(path: &str, token: &str) -> Request<Body> {
    Request::post(path)
        .header(AUTHORIZATION, format!("JWT {token}"))
        .body(Body::empty())
        .expect("a request")
}

async fn post_token(app: &TestApp, path: &str, token: &str) -> Reply {
    app.send(post_with(path, token)).await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Reply {
    post_token(app, "/refresh", refresh_token).await
}

async fn get_token(app: &TestApp, path: &str, token: &str) -> Reply {
    app.get(path, Some(&format!("JWT {token}"))).await
}

fn claims_of(token: &str) -> Value {
    segment_json(token, 1)
}

fn claim_str(token: &str, claim: &str) -> String {
    claims_of(token)[claim]
        .as_str()
        .unwrap_or_else(|| panic!("no string {claim}"))
        .to_owned()
}

#[track_caller]
fn assert_revoked(reply: &Reply) {
    assert_error(reply, 401, "Revoked token", REVOKED);
}

#[track_caller]
fn assert_reused(reply: &Reply) {
    assert_error(reply, 401, "Revoked token", REUSED);
}

#[track_caller]
fn assert_access_required(reply: &Reply) {
    assert_invalid_token(reply, "Access token required");
}

#[track_caller]
fn assert_refresh_required(reply: &Reply) {
    assert_invalid_token(reply, "Refresh token required");
}

#[track_caller]
fn assert_unavailable(reply: &Reply) {
    assert_error(reply, 503, "Service Unavailable", "Token store unavailable");
}

/// Asserts that the access token of `pair` is refused as revoked wherever an access token is
/// read, and its refresh token at `/refresh`.
async fn assert_pair_revoked(app: &TestApp, pair: &Pair) {
    for path in ["/protected", "/fresh", "/optional", "/claims"] {
        assert_revoked(&get_token(app, path, &pair.access).await);
    }
    assert_revoked(&refresh(app, &pair.refresh).await);
}

/// `seconds` as a duration, to move the clock by.
fn secs(seconds: i64) -> Duration {
    Duration::from_secs(seconds.try_into().expect("a positive number of seconds"))
}

// ---------------------------------------------------------------------------------------------
// Login.

#[tokio::test]
async fn login_issues_a_fresh_access_token_and_a_refresh_token_of_one_family() {
    let app = lifecycle();
    let pair = login1(&app).await;

    let access = claims_of(&pair.access);
    let keys: HashSet<&str> = access
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "identity", "iat", "nbf", "exp", "jti", "type", "fresh", "fam", "iat_ms"
        ])
    );
    assert_eq!(access["identity"], 1);
    assert_eq!(access["iat"], NOW);
    assert_eq!(access["nbf"], NOW);
    assert_eq!(access["exp"], NOW + 300);
    assert_eq!(access["type"], "access");
    assert_eq!(access["fresh"], true);
    assert_eq!(access["iat_ms"], NOW * 1000);
    assert!(!access["jti"].as_str().unwrap().is_empty());
    assert!(!access["fam"].as_str().unwrap().is_empty());

    let refresh_claims = claims_of(&pair.refresh);
    let keys: HashSet<&str> = refresh_claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "identity", "iat", "nbf", "exp", "jti", "type", "fam", "iat_ms"
        ])
    );
    assert_eq!(refresh_claims["identity"], 1);
    assert_eq!(refresh_claims["iat"], NOW);
    assert_eq!(refresh_claims["nbf"], NOW);
    assert_eq!(refresh_claims["exp"], NOW + REFRESH_LIFETIME);
    assert_eq!(refresh_claims["type"], "refresh");
    assert_eq!(refresh_claims["iat_ms"], NOW * 1000);
    assert_eq!(refresh_claims["fam"], access["fam"]);
    assert_ne!(refresh_claims["jti"], access["jti"]);

    // Both work where they belong.
    assert_user(&get_token(&app, "/protected", &pair.access).await, 1);
    assert_user(&get_token(&app, "/fresh", &pair.access).await, 1);
    let claims = get_token(&app, "/claims", &pair.access).await;
    assert_eq!(claims.status, StatusCode::OK);
    assert_eq!(
        claims.json(),
        json!({"identity": 1, "jti": access["jti"], "type": "access", "fresh": true,
               "fam": access["fam"], "iat_ms": NOW * 1000})
    );
    let claims = get_token(&app, "/refresh-claims", &pair.refresh).await;
    assert_eq!(claims.status, StatusCode::OK);
    assert_eq!(
        claims.json(),
        json!({"identity": 1, "jti": refresh_claims["jti"], "type": "refresh", "fresh": null,
               "fam": access["fam"], "iat_ms": NOW * 1000})
    );
}

#[tokio::test]
async fn every_jti_and_every_family_is_new() {
    let app = lifecycle();
    let mut jtis = HashSet::new();
    let mut families = HashSet::new();
    for _ in 0..5 {
        for pair in [login1(&app).await, login2(&app).await] {
            assert!(jtis.insert(claim_str(&pair.access, "jti")));
            assert!(jtis.insert(claim_str(&pair.refresh, "jti")));
            assert!(families.insert(claim_str(&pair.access, "fam")));
            let next = assert_pair(&refresh(&app, &pair.refresh).await);
            assert!(jtis.insert(claim_str(&next.access, "jti")));
            assert!(jtis.insert(claim_str(&next.refresh, "jti")));
        }
    }
    assert_eq!(jtis.len(), 40);
    assert_eq!(families.len(), 10);
}

#[tokio::test]
async fn the_refresh_lifetime_is_a_setting_and_live() {
    let app = app_with(
        Arc::new(MemoryStore::new()),
        |c| c.refresh_expiration_delta = Duration::from_secs(3600),
        |b| b,
    );
    let pair = login1(&app).await;
    assert_eq!(claims_of(&pair.refresh)["exp"], NOW + 3600);
    assert_eq!(claims_of(&pair.access)["exp"], NOW + 300);

    app.jwt
        .update_config(|c| c.refresh_expiration_delta = Duration::from_secs(60))
        .unwrap();
    let pair = login1(&app).await;
    assert_eq!(claims_of(&pair.refresh)["exp"], NOW + 60);
    let next = assert_pair(&refresh(&app, &pair.refresh).await);
    assert_eq!(claims_of(&next.refresh)["exp"], NOW + 60);
    assert_eq!(claims_of(&next.access)["exp"], NOW + 300);
}

#[tokio::test]
async fn the_auth_response_hook_still_decides_the_login_body() {
    let app = app_with(
        Arc::new(MemoryStore::new()),
        |_| {},
        |b| {
            b.auth_response(|tokens: Tokens, user: &User| {
                Json(json!({
                    "access": tokens.access_token,
                    "refresh": tokens.refresh_token,
                    "user_id": user.id,
                }))
            })
        },
    );
    let reply = try_login(&app, "user2", "xyzabc").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    assert_eq!(body["user_id"], 2);
    let access = body["access"].as_str().unwrap();
    let refresh_token = body["refresh"]
        .as_str()
        .expect("the hook sees the refresh token");
    assert_eq!(claims_of(refresh_token)["type"], "refresh");
    assert_user(&get_token(&app, "/protected", access).await, 2);
    // The refresh route keeps its own body: the hook is the login's.
    assert_pair(&refresh(&app, refresh_token).await);
}

#[tokio::test]
async fn issue_mints_a_fresh_access_token_of_a_family_of_its_own() {
    let app = lifecycle();
    let issued = app.jwt.issue(&common::user(1)).unwrap();
    let claims = claims_of(&issued);
    assert_eq!(claims["type"], "access");
    assert_eq!(claims["fresh"], true);
    assert!(claims["fam"].is_string() && claims["jti"].is_string());
    assert_user(&get_token(&app, "/protected", &issued).await, 1);
    assert_user(&get_token(&app, "/fresh", &issued).await, 1);
    // Logout revokes it like any access token.
    assert_eq!(
        post_token(&app, "/logout", &issued).await.status,
        StatusCode::OK
    );
    assert_revoked(&get_token(&app, "/protected", &issued).await);
}

// ---------------------------------------------------------------------------------------------
// Refresh and rotation.

#[tokio::test]
async fn refresh_rotates_the_pair_within_the_family() {
    let app = lifecycle();
    let first = login1(&app).await;
    app.clock.advance(Duration::from_millis(1500));

    let reply = refresh(&app, &first.refresh).await;
    let second = assert_pair(&reply);
    let access = claims_of(&second.access);
    assert_eq!(access["type"], "access");
    assert_eq!(access["fresh"], false);
    assert_eq!(access["identity"], 1);
    assert_eq!(access["iat"], NOW + 1);
    assert_eq!(access["exp"], NOW + 1 + 300);
    assert_eq!(access["iat_ms"], NOW * 1000 + 1500);
    assert_eq!(access["fam"], claims_of(&first.access)["fam"]);
    let refreshed = claims_of(&second.refresh);
    assert_eq!(refreshed["type"], "refresh");
    assert_eq!(refreshed.get("fresh"), None);
    assert_eq!(refreshed["exp"], NOW + 1 + REFRESH_LIFETIME);
    assert_eq!(refreshed["fam"], claims_of(&first.access)["fam"]);
    let jtis: HashSet<String> = [
        &first.access,
        &first.refresh,
        &second.access,
        &second.refresh,
    ]
    .into_iter()
    .map(|t| claim_str(t, "jti"))
    .collect();
    assert_eq!(jtis.len(), 4);

    // The new access token works; the login's access token too (rotation revokes nothing).
    assert_user(&get_token(&app, "/protected", &second.access).await, 1);
    assert_user(&get_token(&app, "/protected", &first.access).await, 1);
    // The new refresh token rotates again, and again.
    let third = assert_pair(&refresh(&app, &second.refresh).await);
    let fourth = assert_pair(&refresh(&app, &third.refresh).await);
    assert_eq!(
        claims_of(&fourth.access)["fam"],
        claims_of(&first.access)["fam"]
    );
    assert_user(&get_token(&app, "/protected", &fourth.access).await, 1);
}

#[tokio::test]
async fn a_spent_refresh_token_presented_again_revokes_its_whole_family() {
    let app = lifecycle();
    let first = login1(&app).await;
    let other_login = login1(&app).await;
    let other_user = login2(&app).await;
    let second = assert_pair(&refresh(&app, &first.refresh).await);
    let third = assert_pair(&refresh(&app, &second.refresh).await);

    // The spent token again: a reuse.
    assert_reused(&refresh(&app, &first.refresh).await);

    // Every token of the family is now refused: the newest refresh token, the access tokens
    // issued by refreshes, the login's access token.
    assert_revoked(&refresh(&app, &third.refresh).await);
    for access in [&first.access, &second.access, &third.access] {
        assert_revoked(&get_token(&app, "/protected", access).await);
        assert_revoked(&get_token(&app, "/optional", access).await);
        assert_revoked(&post_token(&app, "/logout", access).await);
    }
    // Presented once more, the spent token finds its family revoked.
    assert_revoked(&refresh(&app, &first.refresh).await);
    assert_revoked(&refresh(&app, &second.refresh).await);

    // Another login of the same user, and another user, are untouched.
    assert_user(&get_token(&app, "/protected", &other_login.access).await, 1);
    let next = assert_pair(&refresh(&app, &other_login.refresh).await);
    assert_user(&get_token(&app, "/protected", &next.access).await, 1);
    assert_user(&get_token(&app, "/protected", &other_user.access).await, 2);
    assert_pair(&refresh(&app, &other_user.refresh).await);
}

#[tokio::test]
async fn reusing_an_older_spent_token_of_the_chain_is_a_reuse_too() {
    let app = lifecycle();
    let first = login1(&app).await;
    let second = assert_pair(&refresh(&app, &first.refresh).await);
    let third = assert_pair(&refresh(&app, &second.refresh).await);
    // The middle one, spent by the third refresh.
    assert_reused(&refresh(&app, &second.refresh).await);
    assert_pair_revoked(&app, &third).await;
    assert_revoked(&get_token(&app, "/protected", &first.access).await);
}

// On a multi-thread runtime so that the requests really race.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_with_one_token_let_exactly_one_win() {
    let app = lifecycle();
    let pair = login1(&app).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let router = app.router.clone();
            let barrier = Arc::clone(&barrier);
            let request = post_with("/refresh", &pair.refresh);
            tokio::spawn(async move {
                barrier.wait().await;
                common::send(&router, request).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut reuses = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        if reply.status == StatusCode::OK {
            winners.push(assert_pair(&reply));
        } else {
            let description = reply.json()["description"].as_str().unwrap().to_owned();
            assert!(
                description == REUSED || description == REVOKED,
                "{description}"
            );
            assert_error(&reply, 401, "Revoked token", &description);
            reuses += usize::from(description == REUSED);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    assert!(reuses >= 1, "the losers are reuses");
    // The losers' reuse revoked the family, the winner's new tokens included.
    assert_pair_revoked(&app, &winners[0]).await;
    assert_revoked(&get_token(&app, "/protected", &pair.access).await);
}

#[tokio::test]
async fn a_refresh_token_is_good_until_exp_plus_leeway_then_signature_has_expired() {
    let app = lifecycle();
    let pair = login1(&app).await;
    let spare = login1(&app).await;
    // At exp + leeway it still rotates.
    app.clock.advance(secs(REFRESH_LIFETIME + 10));
    let next = assert_pair(&refresh(&app, &pair.refresh).await);
    assert_invalid_token(
        &get_token(&app, "/protected", &pair.access).await,
        "Signature has expired",
    );
    // One second later the other login's refresh token has expired.
    app.clock.advance(Duration::from_secs(1));
    assert_invalid_token(
        &refresh(&app, &spare.refresh).await,
        "Signature has expired",
    );
    assert_invalid_token(
        &get_token(&app, "/refresh-claims", &spare.refresh).await,
        "Signature has expired",
    );
    // The rotated one, issued later, lives on until its own exp + leeway.
    let last = assert_pair(&refresh(&app, &next.refresh).await);
    app.clock.advance(secs(REFRESH_LIFETIME + 11));
    assert_invalid_token(&refresh(&app, &last.refresh).await, "Signature has expired");
}

// ---------------------------------------------------------------------------------------------
// Token types.

#[tokio::test]
async fn an_access_token_at_refresh_is_refused() {
    let app = lifecycle();
    let pair = login1(&app).await;
    assert_refresh_required(&refresh(&app, &pair.access).await);
    assert_refresh_required(&get_token(&app, "/refresh-claims", &pair.access).await);
    // The refusal spent nothing: the refresh token still rotates.
    assert_pair(&refresh(&app, &pair.refresh).await);
}

#[tokio::test]
async fn a_refresh_token_where_an_access_token_is_expected_is_refused() {
    let app = lifecycle();
    let pair = login1(&app).await;
    for path in ["/protected", "/fresh", "/optional", "/claims"] {
        assert_access_required(&get_token(&app, path, &pair.refresh).await);
    }
    for path in ["/logout", "/logout-all"] {
        assert_access_required(&post_token(&app, path, &pair.refresh).await);
    }
    // Neither logout revoked anything.
    assert_user(&get_token(&app, "/protected", &pair.access).await, 1);
    assert_pair(&refresh(&app, &pair.refresh).await);
}

#[tokio::test]
async fn a_token_without_lifecycle_claims_is_refused() {
    let app = lifecycle();
    // Validly signed, Flask-JWT's claims only: minted before the lifecycle was on.
    let plain = token(&claims_for(&json!(1)));
    assert_access_required(&get_token(&app, "/protected", &plain).await);
    assert_access_required(&get_token(&app, "/optional", &plain).await);
    assert_refresh_required(&refresh(&app, &plain).await);
    // A `type` but no `jti`, `fam` or `iat_ms`: never accepted unchecked.
    let mut claims = claims_for(&json!(1));
    claims["type"] = json!("access");
    claims["fresh"] = json!(true);
    assert_invalid_token(
        &get_token(&app, "/protected", &token(&claims)).await,
        "Token is missing the \"jti\" claim",
    );
    claims["jti"] = json!("j1");
    assert_invalid_token(
        &get_token(&app, "/protected", &token(&claims)).await,
        "Token is missing the \"fam\" claim",
    );
    claims["fam"] = json!("f1");
    assert_invalid_token(
        &get_token(&app, "/protected", &token(&claims)).await,
        "Token is missing the \"iat_ms\" claim",
    );
    claims["iat_ms"] = json!(NOW * 1000);
    // Complete, it is a valid access token (the store knows nothing against it).
    assert_user(&get_token(&app, "/protected", &token(&claims)).await, 1);
}

#[tokio::test]
async fn refresh_without_a_token_or_with_another_method() {
    let app = lifecycle();
    let reply = app.send(common::post("/refresh", None, "")).await;
    assert_error(
        &reply,
        401,
        "Authorization Required",
        "Request does not contain an access token",
    );
    for path in ["/refresh", "/logout", "/logout-all"] {
        let reply = app.get(path, None).await;
        assert_error(&reply, 405, "Method Not Allowed", "Method not allowed");
        assert_eq!(reply.header("allow"), Some("POST"));
    }
}

// ---------------------------------------------------------------------------------------------
// Fresh and optional routes.

#[tokio::test]
async fn a_fresh_route_takes_only_a_password_login_access_token() {
    let app = lifecycle();
    let pair = login1(&app).await;
    assert_user(&get_token(&app, "/fresh", &pair.access).await, 1);
    let next = assert_pair(&refresh(&app, &pair.refresh).await);
    assert_error(
        &get_token(&app, "/fresh", &next.access).await,
        401,
        "Fresh token required",
        "Fresh token required",
    );
    // The non-fresh token is good elsewhere.
    assert_user(&get_token(&app, "/protected", &next.access).await, 1);
    // A new password login is fresh again.
    let again = login1(&app).await;
    assert_user(&get_token(&app, "/fresh", &again.access).await, 1);
}

#[tokio::test]
async fn optional_auth_is_anonymous_only_without_a_token() {
    let app = lifecycle();
    let pair = login1(&app).await;

    let reply = app.get("/optional", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"user": null}));

    let reply = get_token(&app, "/optional", &pair.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"user": "user1"}));

    // Present but invalid: 401, never anonymous.
    assert_invalid_token(
        &get_token(&app, "/optional", "abc").await,
        "Not enough segments",
    );
    let foreign = common::sign_segments_with(
        "HS256",
        OTHER_SECRET,
        pair.access.split('.').next().unwrap(),
        pair.access.split('.').nth(1).unwrap(),
    );
    assert_invalid_token(
        &get_token(&app, "/optional", &foreign).await,
        "Signature verification failed",
    );
    assert_error(
        &app.get("/optional", Some("Bearer x")).await,
        401,
        "Invalid JWT header",
        "Unsupported authorization type",
    );
    assert_access_required(&get_token(&app, "/optional", &pair.refresh).await);

    // Expired: at exp + leeway still good, one second later 401.
    app.clock.advance(Duration::from_secs(310));
    let reply = get_token(&app, "/optional", &pair.access).await;
    assert_eq!(reply.json(), json!({"user": "user1"}));
    app.clock.advance(Duration::from_secs(1));
    assert_invalid_token(
        &get_token(&app, "/optional", &pair.access).await,
        "Signature has expired",
    );

    // Revoked: 401.
    let pair = login1(&app).await;
    assert_eq!(
        post_token(&app, "/logout", &pair.access).await.status,
        StatusCode::OK
    );
    assert_revoked(&get_token(&app, "/optional", &pair.access).await);
    // Still anonymous without a token.
    assert_eq!(
        app.get("/optional", None).await.json(),
        json!({"user": null})
    );
}

// ---------------------------------------------------------------------------------------------
// Logout.

#[tokio::test]
async fn logout_revokes_the_access_token_and_its_login_family() {
    let app = lifecycle();
    let pair = login1(&app).await;
    let refreshed = assert_pair(&refresh(&app, &pair.refresh).await);
    let other_login = login1(&app).await;
    let other_user = login2(&app).await;

    let reply = post_token(&app, "/logout", &pair.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), json!({"message": "Successfully logged out"}));
    assert_eq!(reply.header("content-type"), Some("application/json"));

    // That access token, its family's refresh tokens and the access tokens of its refreshes.
    assert_revoked(&get_token(&app, "/protected", &pair.access).await);
    assert_revoked(&refresh(&app, &pair.refresh).await);
    assert_pair_revoked(&app, &refreshed).await;
    // A second logout with it is refused too.
    assert_revoked(&post_token(&app, "/logout", &pair.access).await);
    assert_revoked(&post_token(&app, "/logout-all", &pair.access).await);

    // The user's other login and the other user are untouched.
    assert_user(&get_token(&app, "/protected", &other_login.access).await, 1);
    assert_pair(&refresh(&app, &other_login.refresh).await);
    assert_user(&get_token(&app, "/protected", &other_user.access).await, 2);
    assert_pair(&refresh(&app, &other_user.refresh).await);
    // And the user can log in again.
    let again = login1(&app).await;
    assert_user(&get_token(&app, "/protected", &again.access).await, 1);
}

#[tokio::test]
async fn logout_with_a_refreshed_access_token_revokes_the_whole_family() {
    let app = lifecycle();
    let pair = login1(&app).await;
    let refreshed = assert_pair(&refresh(&app, &pair.refresh).await);
    let reply = post_token(&app, "/logout", &refreshed.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_pair_revoked(&app, &refreshed).await;
    assert_revoked(&get_token(&app, "/protected", &pair.access).await);
}

#[tokio::test]
async fn logout_needs_a_valid_access_token() {
    let app = lifecycle();
    let reply = app.send(common::post("/logout", None, "")).await;
    assert_error(
        &reply,
        401,
        "Authorization Required",
        "Request does not contain an access token",
    );
    assert_invalid_token(
        &post_token(&app, "/logout", "abc").await,
        "Not enough segments",
    );
    let pair = login1(&app).await;
    app.clock.advance(Duration::from_secs(311));
    assert_invalid_token(
        &post_token(&app, "/logout", &pair.access).await,
        "Signature has expired",
    );
}

// ---------------------------------------------------------------------------------------------
// Logout everywhere.

#[tokio::test]
async fn logout_all_revokes_every_token_of_the_identity_issued_up_to_now() {
    let app = lifecycle();
    // Several logins and refreshes in one second, a few milliseconds apart.
    let first = login1(&app).await;
    app.clock.advance(Duration::from_millis(100));
    let second = login1(&app).await;
    app.clock.advance(Duration::from_millis(100));
    let refreshed = assert_pair(&refresh(&app, &first.refresh).await);
    let other_user = login2(&app).await;
    app.clock.advance(Duration::from_millis(100));

    let reply = post_token(&app, "/logout-all", &second.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), json!({"message": "Logged out everywhere"}));

    assert_pair_revoked(&app, &first).await;
    assert_pair_revoked(&app, &second).await;
    assert_pair_revoked(&app, &refreshed).await;

    // One millisecond later, still within the same second, a new login works.
    app.clock.advance(Duration::from_millis(1));
    let after = login1(&app).await;
    assert_eq!(claims_of(&after.access)["iat"], NOW);
    assert_user(&get_token(&app, "/protected", &after.access).await, 1);
    assert_user(&get_token(&app, "/fresh", &after.access).await, 1);
    let next = assert_pair(&refresh(&app, &after.refresh).await);
    assert_user(&get_token(&app, "/protected", &next.access).await, 1);
    // The old tokens stay refused.
    assert_pair_revoked(&app, &first).await;

    // The other user is untouched.
    assert_user(&get_token(&app, "/protected", &other_user.access).await, 2);
    assert_pair(&refresh(&app, &other_user.refresh).await);
}

#[tokio::test]
async fn logout_all_with_a_refreshed_token_is_logout_all_too() {
    let app = lifecycle();
    let pair = login1(&app).await;
    let refreshed = assert_pair(&refresh(&app, &pair.refresh).await);
    let other_login = login1(&app).await;
    let reply = post_token(&app, "/logout-all", &refreshed.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_pair_revoked(&app, &refreshed).await;
    assert_pair_revoked(&app, &other_login).await;
    assert_revoked(&get_token(&app, "/protected", &pair.access).await);
}

/// A login at the very millisecond of the logout-all (the FixedClock does not move): the
/// cut-off is "issued at or before", so its tokens count as issued up to the logout-all and
/// are refused, though the login itself answers 200.
#[tokio::test]
async fn a_login_in_the_millisecond_of_the_logout_all_is_cut_off() {
    let app = lifecycle();
    let before = login1(&app).await;
    let reply = post_token(&app, "/logout-all", &before.access).await;
    assert_eq!(reply.status, StatusCode::OK);

    let same_ms = login1(&app).await;
    assert_eq!(claims_of(&same_ms.access)["iat_ms"], NOW * 1000);
    assert_pair_revoked(&app, &same_ms).await;

    // The next millisecond is after the cut-off.
    app.clock.advance(Duration::from_millis(1));
    let after = login1(&app).await;
    assert_user(&get_token(&app, "/protected", &after.access).await, 1);
}

#[tokio::test]
async fn an_earlier_cut_off_never_lowers_a_later_one() {
    let app = lifecycle();
    let first = login1(&app).await;
    app.clock.advance(Duration::from_secs(5));
    let second = login1(&app).await;
    app.clock.advance(Duration::from_millis(1));
    let reply = post_token(&app, "/logout-all", &second.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    app.clock.advance(Duration::from_millis(1));
    let third = login1(&app).await;
    assert_user(&get_token(&app, "/protected", &third.access).await, 1);

    // A logout-all from a clock 2 s behind (another instance; within the leeway, so `third`
    // is still valid there): its cut-off is earlier and must not lower the first one.
    app.clock.rewind(Duration::from_secs(2));
    let reply = post_token(&app, "/logout-all", &third.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    app.clock.advance(Duration::from_secs(2));
    assert_pair_revoked(&app, &first).await;
    assert_pair_revoked(&app, &second).await;
}

/// CONTRACT: "every token of that identity issued up to now is revoked". The token that calls
/// logout-all was issued before the call, even when its `iat_ms` is ahead of this instance's
/// clock (a skew within the leeway, which verification accepts).
#[tokio::test]
async fn logout_all_revokes_the_token_it_was_called_with_even_if_issued_ahead_of_the_clock() {
    let app = lifecycle();
    let pair = login1(&app).await;
    // This instance's clock is 2 s behind the one that issued the pair.
    app.clock.rewind(Duration::from_secs(2));
    assert_user(&get_token(&app, "/protected", &pair.access).await, 1);
    let reply = post_token(&app, "/logout-all", &pair.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_pair_revoked(&app, &pair).await;
}

// ---------------------------------------------------------------------------------------------
// The store fails closed.

const UP: u8 = 0;
const DOWN: u8 = 1;
const HANGING: u8 = 2;

/// A [`MemoryStore`] behind a switch: up, down (every call `Err`), or hanging (no call ever
/// completes).
#[derive(Debug, Default)]
struct SwitchStore {
    inner: MemoryStore,
    mode: AtomicU8,
}

impl SwitchStore {
    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn call<'a, T: Send + 'a>(
        &'a self,
        up: impl FnOnce() -> StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        match self.mode.load(Ordering::SeqCst) {
            UP => up(),
            DOWN => Box::pin(std::future::ready(Err(StoreError::unavailable(
                "connection refused",
            )))),
            _ => Box::pin(std::future::pending()),
        }
    }
}

impl RevocationStore for SwitchStore {
    fn is_revoked<'a>(&'a self, token: TokenRecord<'a>, now: i64) -> StoreFuture<'a, bool> {
        self.call(|| self.inner.is_revoked(token, now))
    }

    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        self.call(|| self.inner.revoke_token(jti, expires_at))
    }

    fn create_family<'a>(
        &'a self,
        family: &'a str,
        refresh_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        self.call(|| {
            self.inner
                .create_family(family, refresh_jti, expires_at, now)
        })
    }

    fn rotate<'a>(
        &'a self,
        family: &'a str,
        presented_jti: &'a str,
        next_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Rotation> {
        self.call(|| {
            self.inner
                .rotate(family, presented_jti, next_jti, expires_at, now)
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        self.call(|| self.inner.revoke_family(family, expires_at))
    }

    fn revoke_identity<'a>(
        &'a self,
        identity: &'a str,
        cutoff_ms: i64,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        self.call(|| self.inner.revoke_identity(identity, cutoff_ms, expires_at))
    }

    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        self.call(|| self.inner.purge_expired(now))
    }
}

fn switch_app() -> (TestApp, Arc<SwitchStore>) {
    let store = Arc::new(SwitchStore::default());
    let app = app_with(
        Arc::clone(&store) as Arc<dyn RevocationStore>,
        |c| c.store_timeout = Duration::from_millis(50),
        |b| b,
    );
    (app, store)
}

/// Runs `request`, failing the test if it does not answer within 5 s.
async fn within_5s<T>(request: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), request)
        .await
        .expect("the request answered instead of hanging")
}

/// Every route that needs the store answers 503; none accepts a token unchecked.
async fn assert_every_store_route_fails_closed(app: &TestApp, pair: &Pair) {
    assert_unavailable(&within_5s(try_login(app, "user1", "abcxyz")).await);
    for path in ["/protected", "/fresh", "/optional", "/claims"] {
        assert_unavailable(&within_5s(get_token(app, path, &pair.access)).await);
    }
    assert_unavailable(&within_5s(get_token(app, "/refresh-claims", &pair.refresh)).await);
    assert_unavailable(&within_5s(refresh(app, &pair.refresh)).await);
    assert_unavailable(&within_5s(post_token(app, "/logout", &pair.access)).await);
    assert_unavailable(&within_5s(post_token(app, "/logout-all", &pair.access)).await);
    // Routes that do not need the store keep working.
    let reply = within_5s(app.get("/optional", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"user": null}));
    assert_error(
        &within_5s(try_login(app, "user1", "wrong")).await,
        401,
        "Bad Request",
        "Invalid credentials",
    );
}

/// After recovery, the same app (no rebuild) serves the tokens issued before the outage.
async fn assert_recovered(app: &TestApp, pair: &Pair) {
    assert_user(&get_token(app, "/protected", &pair.access).await, 1);
    assert_user(&get_token(app, "/fresh", &pair.access).await, 1);
    // The failed refresh and logouts changed nothing: the refresh token is still live.
    let next = assert_pair(&refresh(app, &pair.refresh).await);
    assert_user(&get_token(app, "/protected", &next.access).await, 1);
    let again = login1(app).await;
    let reply = post_token(app, "/logout", &again.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_revoked(&get_token(app, "/protected", &again.access).await);
}

#[tokio::test]
async fn a_failing_store_fails_closed_with_503_and_recovers() {
    let (app, store) = switch_app();
    let pair = login1(&app).await;
    store.set(DOWN);
    assert_every_store_route_fails_closed(&app, &pair).await;
    store.set(UP);
    assert_recovered(&app, &pair).await;
}

#[tokio::test]
async fn a_hanging_store_times_out_with_503_and_recovers() {
    let (app, store) = switch_app();
    let pair = login1(&app).await;
    store.set(HANGING);
    assert_every_store_route_fails_closed(&app, &pair).await;
    store.set(UP);
    assert_recovered(&app, &pair).await;
}

#[tokio::test]
async fn a_revocation_is_never_forgotten_through_an_outage() {
    let (app, store) = switch_app();
    let pair = login1(&app).await;
    assert_eq!(
        post_token(&app, "/logout", &pair.access).await.status,
        StatusCode::OK
    );
    store.set(DOWN);
    assert_unavailable(&get_token(&app, "/protected", &pair.access).await);
    store.set(UP);
    assert_pair_revoked(&app, &pair).await;
}

#[test]
fn the_default_store_timeout_is_one_second() {
    assert_eq!(JwtConfig::default().store_timeout, Duration::from_secs(1));
}

// ---------------------------------------------------------------------------------------------
// A bounded MemoryStore.

#[tokio::test]
async fn a_full_memory_store_refuses_new_logins_but_records_revocations() {
    let store = Arc::new(MemoryStore::with_capacity(2));
    let app = app_with(
        Arc::clone(&store) as Arc<dyn RevocationStore>,
        |_| {},
        |b| b,
    );
    let first = login1(&app).await;
    let second = login2(&app).await;
    assert_eq!(store.len(), 2);

    // Full: a new login fails closed.
    assert_unavailable(&try_login(&app, "user1", "abcxyz").await);
    assert_unavailable(&try_login(&app, "user2", "xyzabc").await);
    // The existing sessions work.
    assert_user(&get_token(&app, "/protected", &first.access).await, 1);

    // Revocations are recorded all the same.
    let reply = post_token(&app, "/logout", &first.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_pair_revoked(&app, &first).await;
    let reply = post_token(&app, "/logout-all", &second.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_pair_revoked(&app, &second).await;
    assert!(store.len() > 2);
    assert_unavailable(&try_login(&app, "user1", "abcxyz").await);

    // Once every entry has expired there is room again.
    app.clock.advance(secs(REFRESH_LIFETIME + 11));
    let pair = login1(&app).await;
    assert_user(&get_token(&app, "/protected", &pair.access).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Without a store, and the routes.

#[tokio::test]
async fn without_a_store_the_base_behaviour_holds() {
    let app = TestApp::new();
    let reply = app
        .post_json("/auth", r#"{"username":"user1","password":"abcxyz"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    assert_eq!(
        claims,
        json!({"identity": 1, "iat": NOW, "nbf": NOW, "exp": NOW + 300})
    );
    assert!(app.jwt.revocation_store().is_none());
    for path in ["/refresh", "/logout-all"] {
        let reply = post_token(&app, path, access).await;
        assert_error(&reply, 404, "Not Found", "Not found");
    }
    // `issue` adds no lifecycle claim either.
    let issued = app.jwt.issue(&common::user(2)).unwrap();
    assert_eq!(
        claims_of(&issued),
        json!({"identity": 2, "iat": NOW, "nbf": NOW, "exp": NOW + 300})
    );
}

#[tokio::test]
async fn without_a_store_every_valid_token_is_fresh_and_typeless_tokens_pass() {
    let clock = common::clock();
    let jwt = common::builder(&clock).build().unwrap();
    let app = TestApp {
        router: lifecycle_router(&jwt),
        jwt,
        clock,
    };
    let access = app.login("user1", "abcxyz").await;
    assert_user(&get_token(&app, "/fresh", &access).await, 1);
    assert_user(&get_token(&app, "/protected", &access).await, 1);
    let reply = get_token(&app, "/claims", &access).await;
    assert_eq!(
        reply.json(),
        json!({"identity": 1, "jti": null, "type": null, "fresh": null, "fam": null,
               "iat_ms": null})
    );
    assert_error(
        &post_token(&app, "/refresh", &access).await,
        404,
        "Not Found",
        "Not found",
    );
}

#[tokio::test]
async fn the_lifecycle_paths_are_settings() {
    let app = app_with(
        Arc::new(MemoryStore::new()),
        |c| {
            c.auth_url_rule = "/api/login".into();
            c.refresh_url_rule = "/api/token/refresh".into();
            c.logout_url_rule = "/api/logout".into();
            c.logout_all_url_rule = "/api/logout/everywhere".into();
        },
        |b| b,
    );
    let body = r#"{"username":"user1","password":"abcxyz"}"#;
    let pair = assert_pair(&app.post_json("/api/login", body).await);
    let next = assert_pair(&post_token(&app, "/api/token/refresh", &pair.refresh).await);
    assert_reused(&post_token(&app, "/api/token/refresh", &pair.refresh).await);
    let pair = assert_pair(&app.post_json("/api/login", body).await);
    let reply = post_token(&app, "/api/logout", &pair.access).await;
    assert_eq!(reply.json(), json!({"message": "Successfully logged out"}));
    assert_revoked(&get_token(&app, "/protected", &pair.access).await);
    let pair = assert_pair(&app.post_json("/api/login", body).await);
    let reply = post_token(&app, "/api/logout/everywhere", &pair.access).await;
    assert_eq!(reply.json(), json!({"message": "Logged out everywhere"}));
    assert_revoked(&get_token(&app, "/protected", &pair.access).await);
    // The default paths are not mounted.
    for path in ["/auth", "/refresh", "/logout", "/logout-all"] {
        assert_error(
            &post_token(&app, path, &next.access).await,
            404,
            "Not Found",
            "Not found",
        );
    }
}

/// A change of the settings.
type ConfigChange = fn(&mut JwtConfig);

#[tokio::test]
async fn two_lifecycle_routes_on_one_path_are_refused() {
    let cases: [(ConfigChange, &str); 4] = [
        (|c| c.refresh_url_rule = "/auth".into(), "refresh_url_rule"),
        (|c| c.logout_url_rule = "/refresh".into(), "logout_url_rule"),
        (
            |c| c.logout_all_url_rule = "/logout".into(),
            "logout_all_url_rule",
        ),
        (
            |c| c.auth_url_rule = "/logout-all".into(),
            "logout_all_url_rule",
        ),
    ];
    for (change, setting) in cases {
        let clock = common::clock();
        let mut config = JwtConfig::default();
        change(&mut config);
        let error = common::builder(&clock)
            .config(config)
            .revocation_store(Arc::new(MemoryStore::new()))
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, ConfigError::Invalid { setting: s, .. } if *s == setting),
            "{error}"
        );
        assert!(error.to_string().contains("already the path"), "{error}");
    }
}
