//! `RedisStore` as a `ThrottleStore`: the throttle conformance suite and the key layout against
//! the Redis at `TEST_REDIS_URL` (each test under its own random prefix; unset, each test prints
//! a skip line), and failures on a `redis-server` that a test starts itself (on a free port,
//! without persistence; `redis-server` must be on `PATH`).

// Tests: a failed call is a failed test, and panicking says so best.
#![allow(clippy::unwrap_used)]

mod common;

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Server, free_port};
use jwt_gate::{LoginThrottle, StoreError, ThrottleStore};
use jwt_gate_redis_store::RedisStore;
use jwt_gate_redis_store::redis::AsyncCommands;

/// A prefix no other test, run or process uses.
fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let random = RandomState::new().hash_one((nanos, std::process::id()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("throttle-{random:016x}-{n}")
}

store_tests::throttle_store_tests!(skip_unless_env = "TEST_REDIS_URL", async {
    let url = std::env::var("TEST_REDIS_URL").unwrap();
    RedisStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("TEST_REDIS_URL={url} is set but unreachable: {e}"))
        .with_prefix(unique_prefix())
        .unwrap()
});

/// A store under a fresh prefix, or `None` (with a printed skip line) when `TEST_REDIS_URL` is
/// unset.
async fn store(test: &str) -> Option<RedisStore> {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else {
        eprintln!("{test}: skipped: TEST_REDIS_URL unset");
        return None;
    };
    let store = RedisStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("TEST_REDIS_URL={url} is set but unreachable: {e}"));
    Some(store.with_prefix(unique_prefix()).unwrap())
}

/// A fixed clock far from the server's: the store counts with the caller's times only.
const T0: i64 = 1_000_000;
const WINDOW: i64 = 60_000;

#[tokio::test]
async fn a_key_is_one_sorted_set_of_failure_times_with_a_relative_ttl() {
    let Some(store) = store("a_key_is_one_sorted_set_of_failure_times_with_a_relative_ttl").await
    else {
        return;
    };
    let p = store.prefix().to_owned();
    let mut redis = store.manager().clone();

    store.record_failure("user:joe", T0, WINDOW).await.unwrap();
    store
        .record_failure("user:joe", T0 + 5, WINDOW)
        .await
        .unwrap();
    store
        .record_failure("user:joe", T0 + 5, WINDOW)
        .await
        .unwrap();
    store
        .record_failure("ip:2001:db8::1", T0, WINDOW)
        .await
        .unwrap();

    let key = format!("{{{p}:throttle:user:joe}}");
    let kind: String = redis::cmd("TYPE")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(kind, "zset");
    let entries: Vec<(String, f64)> = redis.zrange_withscores(&key, 0, -1).await.unwrap();
    let scores: Vec<f64> = entries.iter().map(|(_, score)| *score).collect();
    assert_eq!(scores, [1_000_000.0, 1_000_005.0, 1_000_005.0]);
    for (member, score) in &entries {
        assert!(member.starts_with(&format!("{score}-")), "{member}");
    }
    // The TTL: the window plus the 60 s grace, from the newest failure, on the server's clock
    // (a fixed clock in 1970 does not expire anything early).
    let ttl: i64 = redis.pttl(&key).await.unwrap();
    assert!(
        (WINDOW + 60_000 - 5_000..=WINDOW + 60_000).contains(&ttl),
        "PTTL {ttl}"
    );

    // Nothing else was written under the prefix.
    let mut written: Vec<String> = redis.keys(format!("{{{p}:*")).await.unwrap();
    written.sort();
    assert_eq!(
        written,
        [format!("{{{p}:throttle:ip:2001:db8::1}}"), key.clone()]
    );

    // Counting drops what left the window from Redis too, and an emptied set is gone.
    assert_eq!(
        store
            .failures("user:joe", T0 + WINDOW, WINDOW)
            .await
            .unwrap(),
        (2, Some(T0 + 5))
    );
    assert_eq!(redis.zcard::<_, u64>(&key).await.unwrap(), 2);
    assert_eq!(
        store
            .failures("user:joe", T0 + 5 + WINDOW, WINDOW)
            .await
            .unwrap(),
        (0, None)
    );
    assert!(!redis.exists::<_, bool>(&key).await.unwrap());

    store.clear("ip:2001:db8::1").await.unwrap();
    let left: Vec<String> = redis.keys(format!("{{{p}:*")).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn recording_trims_what_left_the_window_and_caps_the_set() {
    let Some(store) = store("recording_trims_what_left_the_window_and_caps_the_set").await else {
        return;
    };
    let key = format!("{{{}:throttle:ip:10.0.0.1}}", store.prefix());
    let mut redis = store.manager().clone();
    for i in 0..1_100 {
        store
            .record_failure("ip:10.0.0.1", T0 + i, WINDOW)
            .await
            .unwrap();
    }
    assert_eq!(redis.zcard::<_, u64>(&key).await.unwrap(), 1024);
    // A failure a window later: every earlier one left, only the new one is kept.
    store
        .record_failure("ip:10.0.0.1", T0 + 1_099 + WINDOW, WINDOW)
        .await
        .unwrap();
    assert_eq!(redis.zcard::<_, u64>(&key).await.unwrap(), 1);
}

#[tokio::test]
async fn prefixes_keep_throttles_apart() {
    let Some(a) = store("prefixes_keep_throttles_apart").await else {
        return;
    };
    let b = a.clone().with_prefix(unique_prefix()).unwrap();
    a.record_failure("user:joe", T0, WINDOW).await.unwrap();
    assert_eq!(b.failures("user:joe", T0, WINDOW).await.unwrap(), (0, None));
    assert_eq!(
        a.failures("user:joe", T0, WINDOW).await.unwrap(),
        (1, Some(T0))
    );
    // Two handles on one prefix (two instances) share the counts.
    let twin = a.clone();
    twin.record_failure("user:joe", T0 + 1, WINDOW)
        .await
        .unwrap();
    assert_eq!(
        a.failures("user:joe", T0 + 2, WINDOW).await.unwrap(),
        (2, Some(T0))
    );
    // A throttle key never touches a revocation key of the same name.
    a.clear("jti:x").await.unwrap();
}

#[tokio::test]
async fn foreign_data_fails_closed() {
    let Some(store) = store("throttle_foreign_data_fails_closed").await else {
        return;
    };
    let mut redis = store.manager().clone();
    let key = format!("{{{}:throttle:user:joe}}", store.prefix());
    let () = redis.set_ex(&key, "garbage", 60).await.unwrap();
    assert!(matches!(
        store.failures("user:joe", T0, WINDOW).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.record_failure("user:joe", T0, WINDOW).await,
        Err(StoreError::Unavailable(_))
    ));
    // `clear` deletes whatever is there; the key then works.
    store.clear("user:joe").await.unwrap();
    store.record_failure("user:joe", T0, WINDOW).await.unwrap();
    assert_eq!(
        store.failures("user:joe", T0, WINDOW).await.unwrap(),
        (1, Some(T0))
    );
}

#[test]
fn a_store_clone_is_a_login_throttle_store() {
    // Compiles only if `RedisStore` is a `ThrottleStore` that `LoginThrottle` accepts.
    fn with_redis(store: &RedisStore) -> LoginThrottle {
        LoginThrottle::new(5).with_store(Arc::new(store.clone()))
    }
    let _ = with_redis;
}

// --- failures on a server of our own ------------------------------------------------------

/// The bound on any one call while the server is down or hung.
const CALL_BOUND: Duration = Duration::from_secs(5);

/// Every throttle call fails within [`CALL_BOUND`] with an error that `expected` accepts.
async fn every_call_fails(store: &RedisStore, expected: fn(&StoreError) -> bool) {
    let calls: [(&str, jwt_gate::revocation::StoreFuture<'_, ()>); 3] = [
        (
            "record_failure",
            store.record_failure("user:joe", T0, WINDOW),
        ),
        (
            "failures",
            Box::pin(async { store.failures("user:joe", T0, WINDOW).await.map(drop) }),
        ),
        ("clear", store.clear("user:joe")),
    ];
    for (what, call) in calls {
        match tokio::time::timeout(CALL_BOUND, call).await {
            Ok(Err(error)) => assert!(expected(&error), "{what}: unexpected error {error:?}"),
            Ok(Ok(())) => panic!("{what} succeeded with the server unavailable"),
            Err(_) => panic!("{what} hung: no answer within {CALL_BOUND:?}"),
        }
    }
}

/// Polls until the store counts again (recovery, not a timing assertion).
async fn wait_for_recovery(store: &RedisStore) -> (u64, Option<i64>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt =
            tokio::time::timeout(CALL_BOUND, store.failures("user:joe", T0, WINDOW)).await;
        if let Ok(Ok(counts)) = attempt {
            return counts;
        }
        assert!(Instant::now() < deadline, "no recovery: {attempt:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_times_out_and_a_dead_one_is_unavailable() {
    let server = Server::start(free_port());
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{}/", server.port))
        .await
        .unwrap();
    store.record_failure("user:joe", T0, WINDOW).await.unwrap();

    // Stopped, connections open: only the response timeout ends the calls.
    server.signal("STOP");
    every_call_fails(&store, |e| matches!(e, StoreError::Timeout)).await;
    server.signal("CONT");
    // The server runs what it received once it continues (the `DEL` of `clear` included), so
    // `user:joe` holds whatever those calls left; another key shows the store counting again.
    wait_for_recovery(&store).await;
    store.record_failure("user:ann", T0, WINDOW).await.unwrap();
    store
        .record_failure("user:ann", T0 + 1, WINDOW)
        .await
        .unwrap();
    assert_eq!(
        store.failures("user:ann", T0 + 2, WINDOW).await.unwrap(),
        (2, Some(T0))
    );

    // Dead: connections refused.
    let port = server.kill();
    every_call_fails(&store, |e| matches!(e, StoreError::Unavailable(_))).await;
    let _server = Server::start(port);
    // Back, empty (no persistence), and the scripts reload on `NOSCRIPT`.
    assert_eq!(wait_for_recovery(&store).await, (0, None));
    store.record_failure("user:joe", T0, WINDOW).await.unwrap();
    assert_eq!(
        store.failures("user:joe", T0, WINDOW).await.unwrap(),
        (1, Some(T0))
    );
}
