//! Faults on a `redis-server` that each test starts itself, on a free port, without
//! persistence (never the shared server): calls fail within a bounded time instead of hanging,
//! and the store recovers by itself once the server is back.
//!
//! `redis-server` must be on `PATH` (it is wherever the suite runs); without it these tests fail
//! and say so.

// Tests: a failed call is a failed test, and panicking says so best.
#![allow(clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Server, free_port};

use jwt_gate::revocation::{Rotation, TokenRecord};
use jwt_gate::{RevocationStore, StoreError};
use jwt_gate_redis_store::RedisStore;

/// The bound on any one call while the server is down or hung.
const CALL_BOUND: Duration = Duration::from_secs(5);
/// How long recovery may take once the server is back.
const RECOVERY: Duration = Duration::from_secs(10);

fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

/// Which error a call must fail with.
type Expected = fn(&StoreError) -> bool;

fn unavailable(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable(_))
}

fn timeout(error: &StoreError) -> bool {
    matches!(error, StoreError::Timeout)
}

/// Asserts that `call` finishes within [`CALL_BOUND`] with the `expected` error.
async fn fails_in_bounded_time<T: std::fmt::Debug>(
    what: &str,
    expected: Expected,
    call: impl Future<Output = Result<T, StoreError>>,
) {
    let started = Instant::now();
    match tokio::time::timeout(CALL_BOUND, call).await {
        Ok(Err(error)) => assert!(expected(&error), "{what}: unexpected error {error:?}"),
        Ok(Ok(value)) => panic!("{what} succeeded ({value:?}) with the server down"),
        Err(_) => panic!("{what} hung: no answer within {CALL_BOUND:?}"),
    }
    eprintln!("{what}: failed after {:?}", started.elapsed());
}

/// Polls until the store answers again (recovery, not a timing assertion).
async fn wait_for_recovery(store: &RedisStore) {
    let deadline = Instant::now() + RECOVERY;
    let probe = TokenRecord::new("probe", "probe", "probe", 0);
    loop {
        let attempt = tokio::time::timeout(CALL_BOUND, store.is_revoked(probe, now())).await;
        if matches!(attempt, Ok(Ok(_))) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the store did not recover within {RECOVERY:?} of the server's return: {attempt:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every store operation while the server is unavailable: each must fail, none may hang.
async fn every_call_fails(store: &RedisStore, expected: Expected) {
    let now = now();
    let record = TokenRecord::new("j1", "f1", "1", 0);
    fails_in_bounded_time("is_revoked", expected, store.is_revoked(record, now)).await;
    fails_in_bounded_time(
        "revoke_token",
        expected,
        store.revoke_token("j2", now + 600),
    )
    .await;
    fails_in_bounded_time(
        "create_family",
        expected,
        store.create_family("f2", "r1", now + 600, now),
    )
    .await;
    fails_in_bounded_time(
        "rotate",
        expected,
        store.rotate("f1", "r2", "r3", now + 600, now),
    )
    .await;
    fails_in_bounded_time(
        "revoke_family",
        expected,
        store.revoke_family("f3", now + 600),
    )
    .await;
    fails_in_bounded_time(
        "revoke_identity",
        expected,
        store.revoke_identity("1", now * 1000, now + 600),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_fails_calls_then_the_store_recovers_empty() {
    let server = Server::start(free_port());
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let now = now();
    let record = TokenRecord::new("j1", "f1", "1", 0);

    store.revoke_token("j1", now + 600).await.unwrap();
    store
        .create_family("f1", "r1", now + 600, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate("f1", "r1", "r2", now + 600, now)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert!(store.is_revoked(record, now).await.unwrap());

    // Connections refused: errors at once, `Unavailable`.
    let port = server.kill();
    every_call_fails(&store, unavailable).await;

    let _server = Server::start(port);
    wait_for_recovery(&store).await;

    // The server kept nothing (no RDB, no AOF): the revocation and the family are gone. This is
    // why production Redis needs persistence.
    let now = self::now();
    assert!(!store.is_revoked(record, now).await.unwrap());
    assert_eq!(
        store
            .rotate("f1", "r2", "r3", now + 600, now)
            .await
            .unwrap(),
        Rotation::Revoked
    );
    // Everything works again, the scripts included (reloaded on `NOSCRIPT`).
    store.revoke_token("j1", now + 600).await.unwrap();
    assert!(store.is_revoked(record, now).await.unwrap());
    store
        .create_family("f4", "r1", now + 600, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate("f4", "r1", "r2", now + 600, now)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        store
            .rotate("f4", "r1", "r5", now + 600, now)
            .await
            .unwrap(),
        Rotation::ReuseDetected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_server_times_out_calls_then_the_store_recovers_intact() {
    let server = Server::start(free_port());
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let now = now();
    let record = TokenRecord::new("j1", "f1", "1", 0);
    store.revoke_token("j1", now + 600).await.unwrap();
    assert!(store.is_revoked(record, now).await.unwrap());

    // A server that stops answering, connections open: only timeouts can end these calls.
    server.signal("STOP");
    every_call_fails(&store, timeout).await;
    server.signal("CONT");
    wait_for_recovery(&store).await;

    // Same server process, same data: the revocation is still there.
    let now = self::now();
    assert!(store.is_revoked(record, now).await.unwrap());
    store
        .create_family("f1", "r1", now + 600, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate("f1", "r1", "r2", now + 600, now)
            .await
            .unwrap(),
        Rotation::Rotated
    );
}
