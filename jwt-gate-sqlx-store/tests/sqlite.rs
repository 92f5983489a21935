//! The conformance suite against `SqliteStore`, each test on its own database file.
#![cfg(feature = "sqlite")]
// Test set-up: a failed step is a failed test, and panicking says so best.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jwt_gate_sqlx_store::SqliteStore;
use jwt_gate_sqlx_store::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions,
};

/// A migrated store on a new database file, opened as the crate docs advise (WAL, a busy
/// timeout) with several connections, so that concurrent rotations really contend for
/// SQLite's write lock.
async fn fresh_store() -> SqliteStore {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("revocations.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    // The store outlives this function (the macro hands it to the test), and the pool opens
    // connections lazily, so the directory must stay: leak the guard. The OS temp dir gets
    // one small file per test run.
    let _dir: &'static tempfile::TempDir = Box::leak(Box::new(dir));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .unwrap();
    let store = SqliteStore::new(pool);
    store.migrate().await.unwrap();
    store
}

store_tests::revocation_store_tests!(fresh_store());
