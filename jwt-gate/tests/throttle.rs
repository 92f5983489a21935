//! Login throttling: failed logins per username and per client IP in a rolling window.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use common::{Reply, TestApp, assert_error, post};
use jwt_gate::revocation::{StoreError, StoreFuture};
use jwt_gate::{LoginThrottle, ThrottleStore};
use serde_json::json;

fn throttled(n: u32) -> TestApp {
    TestApp::with(|b| b.login_throttle(LoginThrottle::new(n)))
}

/// `POST /auth` from `ip` with `body` as JSON.
async fn login_from(app: &TestApp, ip: &str, body: &str) -> Reply {
    let mut request = post("/auth", Some("application/json"), body.to_owned());
    let peer: SocketAddr = format!("{ip}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send(request).await
}

async fn attempt(app: &TestApp, ip: &str, username: &str, password: &str) -> Reply {
    let body = json!({"username": username, "password": password}).to_string();
    login_from(app, ip, &body).await
}

fn assert_throttled(reply: &Reply, retry_after: u64) {
    assert_error(
        reply,
        429,
        "Too Many Requests",
        "Too many failed login attempts; retry later",
    );
    assert_eq!(
        reply.header("retry-after"),
        Some(retry_after.to_string().as_str())
    );
}

#[tokio::test]
async fn a_username_is_throttled_after_n_failures_whatever_the_password() {
    let app = throttled(3);
    for _ in 0..3 {
        let reply = attempt(&app, "10.0.0.1", "user1", "wrong").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_throttled(&attempt(&app, "10.0.0.1", "user1", "wrong").await, 60);
    // The right password from another address is refused too: the username is throttled.
    assert_throttled(&attempt(&app, "10.0.0.2", "user1", "abcxyz").await, 60);
    // Another username is not.
    assert_eq!(
        attempt(&app, "10.0.0.1", "user2", "xyzabc").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn retry_after_counts_down_to_the_oldest_failure_leaving_the_window() {
    let app = throttled(2);
    attempt(&app, "10.0.0.1", "user1", "wrong").await;
    app.clock.advance(Duration::from_secs(20));
    attempt(&app, "10.0.0.1", "user1", "wrong").await;
    app.clock.advance(Duration::from_millis(10_500));
    // The first failure leaves the window 60 s after it: 29.5 s from now, rounded up.
    assert_throttled(&attempt(&app, "10.0.0.1", "user1", "abcxyz").await, 30);
    app.clock.advance(Duration::from_millis(29_500));
    assert_eq!(
        attempt(&app, "10.0.0.1", "user1", "abcxyz").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn retry_after_is_at_least_one_second() {
    let app = throttled(1);
    attempt(&app, "10.0.0.1", "user1", "wrong").await;
    app.clock.advance(Duration::from_millis(59_999));
    assert_throttled(&attempt(&app, "10.0.0.1", "user1", "abcxyz").await, 1);
}

#[tokio::test]
async fn a_success_clears_the_username_window() {
    let app = throttled(2);
    attempt(&app, "10.0.0.1", "user1", "wrong").await;
    assert_eq!(
        attempt(&app, "10.0.0.1", "user1", "abcxyz").await.status,
        StatusCode::OK
    );
    attempt(&app, "10.0.0.1", "user1", "wrong").await;
    // One failure since the success: still allowed.
    assert_eq!(
        attempt(&app, "10.0.0.1", "user1", "wrong").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_throttled(&attempt(&app, "10.0.0.1", "user1", "abcxyz").await, 60);
}

#[tokio::test]
async fn an_ip_is_throttled_after_5n_failures_over_any_usernames() {
    let app = throttled(1);
    for i in 0..5 {
        let reply = attempt(&app, "10.0.0.7", &format!("nobody{i}"), "x").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_throttled(&attempt(&app, "10.0.0.7", "user2", "xyzabc").await, 60);
    assert_eq!(
        attempt(&app, "10.0.0.8", "user2", "xyzabc").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_bodies_count_for_the_ip_only() {
    let app = throttled(1);
    let mut statuses = Vec::new();
    for body in [
        "{",
        "[]",
        r#"{"username":"user1"}"#,
        r#"{"username":"user1","password":5}"#,
    ] {
        statuses.push(login_from(&app, "10.0.0.3", body).await.status.as_u16());
    }
    let mut request = post("/auth", Some("text/plain"), "x");
    request
        .extensions_mut()
        .insert(ConnectInfo("10.0.0.3:1".parse::<SocketAddr>().unwrap()));
    statuses.push(app.send(request).await.status.as_u16());
    assert_eq!(statuses, [400, 400, 401, 401, 415]);
    // Five failures from this IP: it is throttled; user1 itself was never charged.
    assert_throttled(&login_from(&app, "10.0.0.3", "{").await, 60);
    assert_eq!(
        attempt(&app, "10.0.0.4", "user1", "abcxyz").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_a_throttle_failures_are_never_refused() {
    let app = TestApp::new();
    for _ in 0..50 {
        assert_eq!(
            attempt(&app, "10.0.0.1", "user1", "wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt(&app, "10.0.0.1", "user1", "abcxyz").await.status,
        StatusCode::OK
    );
}

/// A throttle store that is down.
#[derive(Debug)]
struct DownStore;

impl ThrottleStore for DownStore {
    fn record_failure<'a>(&'a self, _: &'a str, _: i64, _: i64) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::unavailable("down")) })
    }
    fn failures<'a>(&'a self, _: &'a str, _: i64, _: i64) -> StoreFuture<'a, (u64, Option<i64>)> {
        Box::pin(async { Err(StoreError::unavailable("down")) })
    }
    fn clear<'a>(&'a self, _: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::unavailable("down")) })
    }
}

#[tokio::test]
async fn a_throttle_store_that_is_down_fails_closed() {
    let app =
        TestApp::with(|b| b.login_throttle(LoginThrottle::new(3).with_store(Arc::new(DownStore))));
    let reply = attempt(&app, "10.0.0.1", "user1", "abcxyz").await;
    assert_error(
        &reply,
        503,
        "Service Unavailable",
        "Token store unavailable",
    );
}
