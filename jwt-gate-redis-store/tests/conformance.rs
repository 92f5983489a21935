//! The store conformance suite against the Redis at `TEST_REDIS_URL` (e.g.
//! `redis://127.0.0.1:6379/`), each test under its own random key prefix so that the tests run
//! in parallel on one server. Unset, every test prints a skip line; set, an unreachable server
//! fails them.

// Tests: a failed call is a failed test, and panicking says so best.
#![allow(clippy::unwrap_used)]

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use jwt_gate_redis_store::RedisStore;

/// A prefix no other test, run or process uses.
fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let random = RandomState::new().hash_one((nanos, std::process::id()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("test-{random:016x}-{n}")
}

store_tests::revocation_store_tests!(skip_unless_env = "TEST_REDIS_URL", async {
    let url = std::env::var("TEST_REDIS_URL").unwrap();
    RedisStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("TEST_REDIS_URL={url} is set but unreachable: {e}"))
        .with_prefix(unique_prefix())
        .unwrap()
});
