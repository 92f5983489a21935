//! [`SqliteStore`]: revocations and refresh-token families in a SQLite database.

use std::fmt;
use std::sync::Arc;

use jwt_gate::RevocationStore;
use jwt_gate::revocation::{Rotation, StoreError, StoreFuture, TokenRecord};
use sqlx::SqlitePool;

use crate::names::{DEFAULT_TABLE_PREFIX, InvalidIdentifier, Names, check_table_prefix};
use crate::statements::{Statements, safe};

/// The migration script: `CREATE TABLE IF NOT EXISTS` of the three tables, and their indexes.
const MIGRATION: &str = include_str!("../migrations/sqlite.sql");

/// Revocations and refresh-token families in a SQLite database (feature `sqlite`).
///
/// Shared by every process that opens the same database file, and kept across restarts.
/// Create the tables once with [`migrate`](Self::migrate); drop expired rows now and then
/// with [`purge_expired`](RevocationStore::purge_expired).
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use jwt_gate::RevocationStore;
/// use jwt_gate_sqlx_store::SqliteStore;
/// use jwt_gate_sqlx_store::sqlx::sqlite::{
///     SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions,
/// };
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let options = SqliteConnectOptions::new()
///     .filename("revocations.db")
///     .create_if_missing(true)
///     .journal_mode(SqliteJournalMode::Wal)
///     .busy_timeout(Duration::from_secs(5));
/// let pool = SqlitePoolOptions::new().connect_with(options).await?;
///
/// let store = SqliteStore::new(pool).with_table_prefix("auth_")?;
/// store.migrate().await?;
/// let store: Arc<dyn RevocationStore> = Arc::new(store);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
///
/// # Atomicity
///
/// [`rotate`](RevocationStore::rotate) runs in a `BEGIN IMMEDIATE` transaction, which takes
/// SQLite's one database-wide write lock before it reads anything, so rotations are serialized
/// and each sees every earlier one committed. Inside it, a conditional `UPDATE ... SET
/// live_refresh = next WHERE family = f AND live_refresh = presented AND NOT revoked AND
/// expires_at >= now` rotates (one row changed: `Rotated`); otherwise `UPDATE ... SET revoked =
/// TRUE WHERE family = f AND NOT revoked AND expires_at >= now` revokes a live family (one row:
/// `ReuseDetected`, none: `Revoked`). So of concurrent rotations of one token exactly one wins,
/// the first loser detects the reuse and revokes the family, and the others find it revoked.
///
/// A writer that finds the lock taken waits up to the connection's `busy_timeout` (sqlx's
/// default: 5 s) before failing with `SQLITE_BUSY`, which jwt-gate answers with 503. WAL
/// journal mode lets [`is_revoked`](RevocationStore::is_revoked) read while a rotation
/// writes. Every connection of the pool must open the same database: a file, not
/// `sqlite::memory:` (which gives each connection its own database) unless the pool has a
/// single connection.
#[derive(Clone)]
// Not `#[non_exhaustive]`: every field is private already.
pub struct SqliteStore {
    pool: SqlitePool,
    table_prefix: String,
    sql: Arc<Statements>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("pool", &self.pool)
            .field("table_prefix", &self.table_prefix)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// A store over `pool`, with tables named with [`DEFAULT_TABLE_PREFIX`]
    /// (`jwt_gate_revoked_tokens`, `jwt_gate_families`, `jwt_gate_identity_cutoffs`).
    ///
    /// The tables must exist: run [`migrate`](Self::migrate) once at start-up.
    #[must_use]
    pub fn new(pool: SqlitePool) -> Self {
        Self::with_names(pool, DEFAULT_TABLE_PREFIX.to_owned())
    }

    fn with_names(pool: SqlitePool, table_prefix: String) -> Self {
        let names = Names::new(None, &table_prefix);
        let sql = Statements::new(&names, "MAX", names.render(MIGRATION));
        Self {
            pool,
            table_prefix,
            sql: Arc::new(sql),
        }
    }

    /// Names the tables `{prefix}revoked_tokens`, `{prefix}families` and
    /// `{prefix}identity_cutoffs` (and their indexes `{prefix}..._expiry`). Defaults to
    /// [`DEFAULT_TABLE_PREFIX`].
    ///
    /// # Errors
    ///
    /// [`InvalidIdentifier`] unless the prefix is ASCII letters, digits and `_`, not starting
    /// with a digit nor with `sqlite_`, at most 40 bytes. It may be empty.
    pub fn with_table_prefix(self, prefix: impl Into<String>) -> Result<Self, InvalidIdentifier> {
        let prefix = prefix.into();
        check_table_prefix(&prefix, true)?;
        Ok(Self::with_names(self.pool, prefix))
    }

    /// The table prefix.
    #[must_use]
    pub fn table_prefix(&self) -> &str {
        &self.table_prefix
    }

    /// Creates the store's tables and indexes if they do not exist yet, in one transaction.
    /// Idempotent: run it at every start-up.
    ///
    /// # Errors
    ///
    /// The database's error, when it cannot be reached or refuses the SQL.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::raw_sql(safe(&self.sql.migrate))
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    async fn rotate_now(
        &self,
        family: &str,
        presented_jti: &str,
        next_jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Rotation, sqlx::Error> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rotated = sqlx::query(safe(&self.sql.rotate))
            .bind(family)
            .bind(presented_jti)
            .bind(next_jti)
            .bind(expires_at)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let outcome = if rotated != 0 {
            Rotation::Rotated
        } else {
            let revoked = sqlx::query(safe(&self.sql.revoke_on_reuse))
                .bind(family)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if revoked != 0 {
                Rotation::ReuseDetected
            } else {
                Rotation::Revoked
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn purge_now(&self, now: i64) -> Result<u64, sqlx::Error> {
        let mut purged = 0_u64;
        for statement in &self.sql.purge {
            let deleted = sqlx::query(safe(statement))
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
            purged = purged.saturating_add(deleted);
        }
        Ok(purged)
    }
}

impl RevocationStore for SqliteStore {
    fn is_revoked<'a>(&'a self, token: TokenRecord<'a>, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            sqlx::query_scalar::<_, bool>(safe(&self.sql.is_revoked))
                .bind(token.jti)
                .bind(token.family)
                .bind(token.identity)
                .bind(now)
                .bind(token.issued_at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(safe(&self.sql.revoke_token))
                .bind(jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(StoreError::unavailable)
        })
    }

    fn create_family<'a>(
        &'a self,
        family: &'a str,
        refresh_jti: &'a str,
        expires_at: i64,
        _now: i64,
    ) -> StoreFuture<'a, ()> {
        // `now` serves bounded stores; this one is bounded by `purge_expired` only.
        Box::pin(async move {
            sqlx::query(safe(&self.sql.create_family))
                .bind(family)
                .bind(refresh_jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(StoreError::unavailable)
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
        Box::pin(async move {
            self.rotate_now(family, presented_jti, next_jti, expires_at, now)
                .await
                .map_err(StoreError::unavailable)
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(safe(&self.sql.revoke_family))
                .bind(family)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(StoreError::unavailable)
        })
    }

    fn revoke_identity<'a>(
        &'a self,
        identity: &'a str,
        cutoff_ms: i64,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(safe(&self.sql.revoke_identity))
                .bind(identity)
                .bind(cutoff_ms)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(StoreError::unavailable)
        })
    }

    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move { self.purge_now(now).await.map_err(StoreError::unavailable) })
    }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;

    /// One in-memory database: one connection, as `sqlite::memory:` gives each its own.
    async fn memory_pool() -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn migrate_is_idempotent_and_keeps_rows() {
        let store = SqliteStore::new(memory_pool().await);
        store.migrate().await.unwrap();
        store.revoke_token("j", 100).await.unwrap();
        store.migrate().await.unwrap();
        assert!(
            store
                .is_revoked(TokenRecord::new("j", "f", "1", 0), 50)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn prefixes_keep_stores_apart_in_one_database() {
        let pool = memory_pool().await;
        let first = SqliteStore::new(pool.clone());
        let second = SqliteStore::new(pool).with_table_prefix("").unwrap();
        first.migrate().await.unwrap();
        second.migrate().await.unwrap();
        first.revoke_token("j", 100).await.unwrap();
        second.create_family("fam", "r1", 100, 0).await.unwrap();
        let token = TokenRecord::new("j", "f", "1", 0);
        assert!(first.is_revoked(token, 0).await.unwrap());
        assert!(!second.is_revoked(token, 0).await.unwrap());
        assert_eq!(
            first.rotate("fam", "r1", "r2", 100, 0).await.unwrap(),
            Rotation::Revoked
        );
        assert_eq!(
            second.rotate("fam", "r1", "r2", 100, 0).await.unwrap(),
            Rotation::Rotated
        );
        assert_eq!(first.table_prefix(), DEFAULT_TABLE_PREFIX);
        assert_eq!(second.table_prefix(), "");
    }

    #[tokio::test]
    async fn reserved_prefix_is_refused() {
        let store = SqliteStore::new(memory_pool().await);
        let error = store.with_table_prefix("sqlite_x").unwrap_err();
        assert_eq!(error.value(), "sqlite_x");
    }

    #[tokio::test]
    async fn purge_counts_every_table_and_upserts_keep_the_later_values() {
        let store = SqliteStore::new(memory_pool().await);
        store.migrate().await.unwrap();
        store.revoke_token("old", 10).await.unwrap();
        store.revoke_token("live", 10).await.unwrap();
        store.revoke_token("live", 30).await.unwrap();
        store.revoke_token("live", 20).await.unwrap();
        store.create_family("fam", "r1", 10, 0).await.unwrap();
        store.revoke_family("gone", 19).await.unwrap();
        store.revoke_identity("7", 5_000, 10).await.unwrap();
        store.revoke_identity("8", 5_000, 30).await.unwrap();
        store.revoke_identity("8", 1_000, 10).await.unwrap();
        assert_eq!(store.purge_expired(20).await.unwrap(), 4);
        assert_eq!(store.purge_expired(20).await.unwrap(), 0);
        // Identity 8 kept its later cut-off and expiry, token `live` its later expiry.
        assert!(
            store
                .is_revoked(TokenRecord::new("x", "f", "8", 5_000), 30)
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

    #[tokio::test]
    async fn unreachable_database_is_unavailable() {
        let pool = memory_pool().await;
        let store = SqliteStore::new(pool.clone());
        // No `migrate`: the tables are missing, so every call is an error, never a verdict.
        let token = TokenRecord::new("j", "f", "1", 0);
        assert!(matches!(
            store.is_revoked(token, 0).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            store.rotate("fam", "r1", "r2", 100, 0).await,
            Err(StoreError::Unavailable(_))
        ));
        pool.close().await;
        assert!(matches!(
            store.revoke_token("j", 100).await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
