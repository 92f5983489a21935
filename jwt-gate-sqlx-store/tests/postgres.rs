//! The conformance suite against `PostgresStore` on the server at `TEST_POSTGRES_URL`, each
//! test in its own fresh schema so that they run in parallel.
//!
//! Unset, every test prints a skip line and passes; set, an unreachable server fails them.
//! Locally: `TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test`.
#![cfg(feature = "postgres")]
// Test set-up: a failed step is a failed test, and panicking says so best.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jwt_gate::RevocationStore;
use jwt_gate::revocation::{Rotation, TokenRecord};
use jwt_gate_sqlx_store::PostgresStore;
use jwt_gate_sqlx_store::sqlx::postgres::PgPoolOptions;
use jwt_gate_sqlx_store::sqlx::{self, PgPool};

const URL_VAR: &str = "TEST_POSTGRES_URL";

/// Test schemas are named `jwtgate_test_<unix seconds>_<pid>_<counter>`.
const SCHEMA_PREFIX: &str = "jwtgate_test_";

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A schema name no other test, in this process or another, uses.
fn unique_schema() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{SCHEMA_PREFIX}{}_{}_{}",
        unix_seconds(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A small pool on the test server; panics (fails the test) when it cannot connect, within
/// seconds rather than sqlx's default 30 s of retries.
async fn pool() -> PgPool {
    let url = std::env::var(URL_VAR).unwrap();
    PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|error| panic!("{URL_VAR} is set but unreachable: {error}"))
}

/// Drops the test schemas of earlier runs (older than an hour, so never a running test's):
/// the suite cannot drop its own, as the macro owns each store until the test ends. Best
/// effort: two tests may race to drop the same schema.
async fn drop_stale_schemas(pool: &PgPool) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)")
            .bind(SCHEMA_PREFIX)
            .fetch_all(pool)
            .await
            .unwrap();
    let an_hour_ago = unix_seconds().saturating_sub(3600);
    for name in names {
        let created = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        let is_identifier = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if is_identifier && created.is_some_and(|secs| secs < an_hour_ago) {
            let drop = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(pool).await;
        }
    }
}

/// A migrated store in a new schema of the test server.
async fn fresh_store() -> PostgresStore {
    let pool = pool().await;
    drop_stale_schemas(&pool).await;
    let store = PostgresStore::new(pool)
        .with_schema(unique_schema())
        .unwrap();
    store.migrate().await.unwrap();
    store
}

store_tests::revocation_store_tests!(skip_unless_env = "TEST_POSTGRES_URL", fresh_store());

/// Whether the test should run; prints the skip line when not.
fn server_configured(test: &str) -> bool {
    let set = std::env::var_os(URL_VAR).is_some();
    if !set {
        eprintln!("{test}: skipped: {URL_VAR} unset");
    }
    set
}

#[tokio::test]
async fn migrate_is_idempotent_and_concurrent_safe() {
    if !server_configured("migrate_is_idempotent_and_concurrent_safe") {
        return;
    }
    let store = PostgresStore::new(pool().await)
        .with_schema(unique_schema())
        .unwrap();
    // Several instances starting at once, then a restart.
    let (a, b, c) = tokio::join!(store.migrate(), store.migrate(), store.migrate());
    a.unwrap();
    b.unwrap();
    c.unwrap();
    store.migrate().await.unwrap();
    store.revoke_token("j", i64::MAX).await.unwrap();
    store.migrate().await.unwrap();
    assert!(
        store
            .is_revoked(TokenRecord::new("j", "f", "1", 0), 0)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn prefixes_and_schemas_keep_stores_apart() {
    if !server_configured("prefixes_and_schemas_keep_stores_apart") {
        return;
    }
    let pool = pool().await;
    let schema = unique_schema();
    let first = PostgresStore::new(pool.clone())
        .with_schema(schema.clone())
        .unwrap();
    let second = PostgresStore::new(pool.clone())
        .with_schema(schema.clone())
        .unwrap()
        .with_table_prefix("other_")
        .unwrap();
    // An empty prefix, and a mixed-case schema: quoted, so taken as written.
    let third = PostgresStore::new(pool)
        .with_table_prefix("")
        .unwrap()
        .with_schema(format!("{schema}_Mixed"))
        .unwrap();
    for store in [&first, &second, &third] {
        store.migrate().await.unwrap();
    }
    first.revoke_token("j", i64::MAX).await.unwrap();
    second
        .create_family("fam", "r1", i64::MAX, 0)
        .await
        .unwrap();
    let token = TokenRecord::new("j", "f", "1", 0);
    assert!(first.is_revoked(token, 0).await.unwrap());
    assert!(!second.is_revoked(token, 0).await.unwrap());
    assert!(!third.is_revoked(token, 0).await.unwrap());
    assert_eq!(
        first.rotate("fam", "r1", "r2", i64::MAX, 0).await.unwrap(),
        Rotation::Revoked
    );
    assert_eq!(
        second.rotate("fam", "r1", "r2", i64::MAX, 0).await.unwrap(),
        Rotation::Rotated
    );
    assert_eq!(second.schema(), Some(schema.as_str()));
    assert_eq!(third.table_prefix(), "");
}

#[tokio::test]
async fn purge_counts_every_table() {
    if !server_configured("purge_counts_every_table") {
        return;
    }
    let store = PostgresStore::new(pool().await)
        .with_schema(unique_schema())
        .unwrap();
    store.migrate().await.unwrap();
    store.revoke_token("old", 10).await.unwrap();
    store.revoke_token("live", 30).await.unwrap();
    store.create_family("fam", "r1", 10, 0).await.unwrap();
    store.revoke_family("gone", 19).await.unwrap();
    store.revoke_identity("7", 5_000, 10).await.unwrap();
    // An upsert keeps the later expiry: this identity now lives until 30.
    store.revoke_identity("8", 5_000, 30).await.unwrap();
    store.revoke_identity("8", 1_000, 10).await.unwrap();
    assert_eq!(store.purge_expired(20).await.unwrap(), 4);
    assert_eq!(store.purge_expired(20).await.unwrap(), 0);
    assert!(
        store
            .is_revoked(TokenRecord::new("x", "f", "8", 5_000), 20)
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(TokenRecord::new("live", "f", "1", 0), 30)
            .await
            .unwrap()
    );
    assert_eq!(store.purge_expired(31).await.unwrap(), 2);
}
