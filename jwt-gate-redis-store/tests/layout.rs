//! What the conformance suite cannot see: the keys, values and TTLs this store writes, prefix
//! isolation, and failing closed on foreign data. Against the Redis at `TEST_REDIS_URL`, each
//! test under its own random prefix; unset, each test prints a skip line.

// Tests: a failed call is a failed test, and panicking says so best.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use jwt_gate::revocation::{Rotation, TokenRecord};
use jwt_gate::{RevocationStore, StoreError};
use jwt_gate_redis_store::RedisStore;
use jwt_gate_redis_store::redis::AsyncCommands;
use jwt_gate_redis_store::redis::aio::ConnectionManager;

/// The grace the store adds to every key's `EXPIREAT`.
const GRACE: i64 = 60;

fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let random = RandomState::new().hash_one((nanos, std::process::id()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("layout-{random:016x}-{n}")
}

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

/// Asserts that `key`'s TTL matches an `EXPIREAT` of `expire_at` (allowing for the seconds
/// the test itself takes).
async fn assert_expires_at(redis: &mut ConnectionManager, key: &str, expire_at: i64) {
    let ttl: i64 = redis.ttl(key).await.unwrap();
    let expected = expire_at - now();
    assert!(
        (expected - 5..=expected + 1).contains(&ttl),
        "{key}: TTL {ttl}, expected about {expected}"
    );
}

#[tokio::test]
async fn keys_values_and_ttls_follow_the_documented_layout() {
    let Some(store) = store("keys_values_and_ttls_follow_the_documented_layout").await else {
        return;
    };
    let p = store.prefix().to_owned();
    let mut redis = store.manager().clone();
    let now = now();

    store.revoke_token("j1", now + 100).await.unwrap();
    store
        .create_family("f1", "r1", now + 200, now)
        .await
        .unwrap();
    store
        .revoke_identity("\"u\"", now * 1000 + 7, now + 300)
        .await
        .unwrap();

    let token_key = format!("{{{p}:jti:j1}}");
    let value: String = redis.get(&token_key).await.unwrap();
    assert_eq!(value, (now + 100).to_string());
    assert_expires_at(&mut redis, &token_key, now + 100 + GRACE).await;

    let family_key = format!("{{{p}:fam:f1}}");
    let family: HashMap<String, String> = redis.hgetall(&family_key).await.unwrap();
    let expected: HashMap<String, String> = [
        ("live", "r1".to_owned()),
        ("revoked", "0".to_owned()),
        ("exp", (now + 200).to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(family, expected);
    assert_expires_at(&mut redis, &family_key, now + 200 + GRACE).await;

    assert_eq!(
        store
            .rotate("f1", "r1", "r2", now + 400, now)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    let live: String = redis.hget(&family_key, "live").await.unwrap();
    assert_eq!(live, "r2");
    assert_expires_at(&mut redis, &family_key, now + 400 + GRACE).await;

    let identity_key = format!("{{{p}:id:\"u\"}}");
    let identity: HashMap<String, String> = redis.hgetall(&identity_key).await.unwrap();
    assert_eq!(identity["cutoff"], (now * 1000 + 7).to_string());
    assert_eq!(identity["exp"], (now + 300).to_string());
    assert_expires_at(&mut redis, &identity_key, now + 300 + GRACE).await;

    // Nothing else was written under the prefix.
    let mut written: Vec<String> = redis.keys(format!("{{{p}:*")).await.unwrap();
    written.sort();
    let mut expected = vec![token_key, family_key, identity_key];
    expected.sort();
    assert_eq!(written, expected);
}

#[tokio::test]
async fn later_expiries_win_and_earlier_ones_never_shorten() {
    let Some(store) = store("later_expiries_win_and_earlier_ones_never_shorten").await else {
        return;
    };
    let p = store.prefix().to_owned();
    let mut redis = store.manager().clone();
    let now = now();

    store.revoke_token("j", now + 500).await.unwrap();
    store.revoke_token("j", now + 100).await.unwrap();
    let token_key = format!("{{{p}:jti:j}}");
    let value: String = redis.get(&token_key).await.unwrap();
    assert_eq!(value, (now + 500).to_string());
    assert_expires_at(&mut redis, &token_key, now + 500 + GRACE).await;

    store
        .create_family("f", "r1", now + 100, now)
        .await
        .unwrap();
    store.revoke_family("f", now + 500).await.unwrap();
    store.revoke_family("f", now + 200).await.unwrap();
    let family_key = format!("{{{p}:fam:f}}");
    let exp: String = redis.hget(&family_key, "exp").await.unwrap();
    assert_eq!(exp, (now + 500).to_string());
    assert_expires_at(&mut redis, &family_key, now + 500 + GRACE).await;
    let record = TokenRecord::new("a", "f", "1", 0);
    assert!(store.is_revoked(record, now + 500).await.unwrap());
    assert!(!store.is_revoked(record, now + 501).await.unwrap());

    // A family revoked before it was ever created is revoked all the same.
    store.revoke_family("g", now + 100).await.unwrap();
    assert_eq!(
        store.rotate("g", "", "r", now + 100, now).await.unwrap(),
        Rotation::Revoked
    );

    store.revoke_identity("7", 2_000, now + 500).await.unwrap();
    store.revoke_identity("7", 1_000, now + 100).await.unwrap();
    let identity_key = format!("{{{p}:id:7}}");
    let (cutoff, exp): (String, String) = redis
        .hmget(&identity_key, &["cutoff", "exp"])
        .await
        .unwrap();
    assert_eq!((cutoff.as_str(), exp), ("2000", (now + 500).to_string()));
    assert_expires_at(&mut redis, &identity_key, now + 500 + GRACE).await;
}

#[tokio::test]
async fn prefixes_keep_stores_apart() {
    let Some(a) = store("prefixes_keep_stores_apart").await else {
        return;
    };
    // Same connection, another prefix.
    let b = a.clone().with_prefix(unique_prefix()).unwrap();
    let now = now();
    let record = TokenRecord::new("j", "f", "1", 0);
    a.revoke_token("j", now + 100).await.unwrap();
    a.revoke_family("f", now + 100).await.unwrap();
    a.revoke_identity("1", 0, now + 100).await.unwrap();
    b.create_family("f", "r1", now + 100, now).await.unwrap();
    assert!(a.is_revoked(record, now).await.unwrap());
    assert!(!b.is_revoked(record, now).await.unwrap());
    assert_eq!(
        b.rotate("f", "r1", "r2", now + 100, now).await.unwrap(),
        Rotation::Rotated
    );
}

#[tokio::test]
async fn foreign_data_fails_closed() {
    let Some(store) = store("foreign_data_fails_closed").await else {
        return;
    };
    let p = store.prefix().to_owned();
    let mut redis = store.manager().clone();
    let now = now();

    // A family key of the wrong type: every family operation is an error, never "not revoked".
    let family_key = format!("{{{p}:fam:f}}");
    let () = redis.set_ex(&family_key, "garbage", 60).await.unwrap();
    let record = TokenRecord::new("j", "f", "1", 0);
    assert!(matches!(
        store.is_revoked(record, now).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.rotate("f", "r1", "r2", now + 100, now).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(store.revoke_family("f", now + 100).await.is_err());

    // A token entry that is not a number.
    let token_key = format!("{{{p}:jti:j}}");
    let () = redis.set_ex(&token_key, "soon", 60).await.unwrap();
    let other = TokenRecord::new("j", "other", "1", 0);
    assert!(matches!(
        store.is_revoked(other, now).await,
        Err(StoreError::Unavailable(_))
    ));
}
