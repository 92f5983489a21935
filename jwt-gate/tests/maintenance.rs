//! Upkeep that keeps the lifecycle bounded: background purges of the revocation store, and the
//! verified-token cache never serving what it must re-check.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{TestApp, assert_error};
use jwt_gate::revocation::{Rotation, StoreFuture, TokenRecord};
use jwt_gate::{MemoryStore, RevocationStore};

/// A `MemoryStore` that counts purges.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemoryStore,
    purges: AtomicU64,
}

impl RevocationStore for CountingStore {
    fn is_revoked<'a>(&'a self, token: TokenRecord<'a>, now: i64) -> StoreFuture<'a, bool> {
        self.inner.is_revoked(token, now)
    }
    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        self.inner.revoke_token(jti, expires_at)
    }
    fn create_family<'a>(
        &'a self,
        family: &'a str,
        refresh_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        self.inner
            .create_family(family, refresh_jti, expires_at, now)
    }
    fn rotate<'a>(
        &'a self,
        family: &'a str,
        presented_jti: &'a str,
        next_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Rotation> {
        self.inner
            .rotate(family, presented_jti, next_jti, expires_at, now)
    }
    fn revoke_family<'a>(&'a self, family: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        self.inner.revoke_family(family, expires_at)
    }
    fn revoke_identity<'a>(
        &'a self,
        identity: &'a str,
        cutoff_ms: i64,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        self.inner.revoke_identity(identity, cutoff_ms, expires_at)
    }
    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        self.purges.fetch_add(1, Ordering::SeqCst);
        self.inner.purge_expired(now)
    }
}

#[tokio::test]
async fn logins_purge_the_store_now_and_then() {
    let store = Arc::new(CountingStore::default());
    let app = TestApp::with(|b| b.revocation_store(store.clone()));
    for _ in 0..255 {
        app.login("user1", "abcxyz").await;
    }
    // No purge is even spawned before the 256th login.
    assert_eq!(store.purges.load(Ordering::SeqCst), 0);
    app.login("user1", "abcxyz").await;
    // The purge runs in a spawned task: wait for it (bounded), not for a fixed time.
    for _ in 0..200 {
        if store.purges.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(store.purges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_cache_never_serves_a_revoked_token() {
    let app = TestApp::with(|b| b.revocation_store(Arc::new(MemoryStore::new())));
    let token = app.login("user1", "abcxyz").await;
    // Verified once: now in the cache.
    assert_eq!(app.protected(&token).await.status, 200);
    let logout = app
        .send(
            axum::http::Request::post("/logout")
                .header("authorization", format!("JWT {token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(logout.status, 200);
    assert_error(
        &app.protected(&token).await,
        401,
        "Revoked token",
        "Token has been revoked",
    );
}

#[tokio::test]
async fn the_cache_never_serves_an_expired_token() {
    let app = TestApp::new();
    let token = app.login("user1", "abcxyz").await;
    assert_eq!(app.protected(&token).await.status, 200);
    app.clock.advance(Duration::from_secs(300 + 11));
    common::assert_invalid_token(&app.protected(&token).await, "Signature has expired");
}

#[tokio::test]
async fn a_settings_change_flushes_the_cache() {
    let app = TestApp::with_config(|c| c.required_claims = vec!["exp".into(), "iat".into()]);
    let token = common::token(&common::without_claim("nbf"));
    // Accepted, and so cached, while `nbf` is not required.
    assert_eq!(app.protected(&token).await.status, 200);
    app.jwt
        .update_config(|c| c.required_claims = vec!["exp".into(), "iat".into(), "nbf".into()])
        .unwrap();
    common::assert_invalid_token(
        &app.protected(&token).await,
        "Token is missing the \"nbf\" claim",
    );
}
