//! `APP_LOGIN_THROTTLE` on the built server: failed logins per username in this process, or in
//! the Redis of `JWT_REVOCATION_STORE` (then shared by every server on it; needs
//! `TEST_REDIS_URL`, else that test prints a skip line).

// Tests: a failure is a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hash::{BuildHasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{Response, Server};
use jwt_gate::ThrottleStore;
use jwt_gate_redis_store::RedisStore;
use jwt_gate_redis_store::redis::AsyncCommands;
use serde_json::json;

fn attempt(server: &Server, username: &str, password: &str) -> Response {
    server.login(&json!({"username": username, "password": password}).to_string())
}

fn assert_throttled(response: &Response) {
    assert_eq!(response.status, 429, "{:?}", response.body);
    assert_eq!(
        response.json(),
        json!({
            "status_code": 429,
            "error": "Too Many Requests",
            "description": "Too many failed login attempts; retry later",
        })
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    let retry_after: u64 = response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
}

#[test]
fn memory_throttle_refuses_even_the_right_password_then_a_success_clears() {
    let server = Server::start(&[("APP_LOGIN_THROTTLE", "2")]);
    assert_eq!(attempt(&server, "user1", "wrong").status, 401);
    assert_eq!(attempt(&server, "user1", "wrong").status, 401);
    assert_throttled(&attempt(&server, "user1", "abcxyz"));
    assert_throttled(&attempt(&server, "user1", "wrong"));
    // Another username is not throttled.
    assert_eq!(attempt(&server, "user2", "xyzabc").status, 200);

    // A success clears the username's window: after it, two more failures are answered 401
    // (without the clearing, the second would already be a 429).
    assert_eq!(attempt(&server, "user2", "wrong").status, 401);
    assert_eq!(attempt(&server, "user2", "xyzabc").status, 200);
    assert_eq!(attempt(&server, "user2", "wrong").status, 401);
    assert_eq!(attempt(&server, "user2", "wrong").status, 401);
    assert_throttled(&attempt(&server, "user2", "xyzabc"));
}

#[test]
fn memory_throttles_are_per_process() {
    // With the lifecycle on a non-Redis store the counts stay in each process.
    let vars = [("APP_LOGIN_THROTTLE", "1"), ("APP_LIFECYCLE", "1")];
    let one = Server::start(&vars);
    let two = Server::start(&vars);
    assert_eq!(attempt(&one, "user1", "wrong").status, 401);
    assert_throttled(&attempt(&one, "user1", "abcxyz"));
    assert_eq!(attempt(&two, "user1", "abcxyz").status, 200);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A username nobody else uses, so that concurrent runs on one Redis do not meet.
fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let random = RandomState::new().hash_one((nanos, std::process::id()));
    format!("ghost-{random:016x}")
}

#[test]
fn redis_throttle_is_shared_by_two_servers() {
    let url = match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!("redis_throttle_is_shared_by_two_servers: skipped: TEST_REDIS_URL unset");
            return;
        }
    };
    let rt = runtime();
    // The servers' store: the default prefix, as contract-server uses it.
    let redis = rt.block_on(RedisStore::connect(&url)).unwrap();
    // Failures of earlier runs from this address or on user1 may still be in the window.
    rt.block_on(async {
        redis.clear("ip:127.0.0.1").await.unwrap();
        redis.clear("user:user1").await.unwrap();
    });

    let vars = [
        ("APP_LOGIN_THROTTLE", "2"),
        ("APP_LIFECYCLE", "1"),
        ("JWT_REVOCATION_STORE", url.as_str()),
    ];
    let one = Server::start(&vars);
    let two = Server::start(&vars);

    // Failures on one server, 429 on the other.
    let ghost = unique_name();
    assert_eq!(attempt(&one, &ghost, "x").status, 401);
    assert_eq!(attempt(&two, &ghost, "x").status, 401);
    assert_throttled(&attempt(&two, &ghost, "x"));
    assert_throttled(&attempt(&one, &ghost, "x"));
    // The counts are in Redis.
    let key = format!("{{jwt-gate:throttle:user:{ghost}}}");
    let count: u64 = rt
        .block_on(async { redis.manager().clone().zcard(&key).await })
        .unwrap();
    assert_eq!(count, 2);

    // A real user: two failures on one, even the right password refused on two; a success on
    // one clears the window for both.
    assert_eq!(attempt(&one, "user1", "wrong").status, 401);
    assert_eq!(attempt(&one, "user1", "abcxyz").status, 200);
    assert_eq!(attempt(&two, "user1", "wrong").status, 401);
    assert_eq!(attempt(&one, "user1", "wrong").status, 401);
    assert_throttled(&attempt(&two, "user1", "abcxyz"));

    rt.block_on(async {
        for key in [format!("user:{ghost}"), "user:user1".to_owned()] {
            redis.clear(&key).await.unwrap();
        }
        redis.clear("ip:127.0.0.1").await.unwrap();
    });
}
