//! [`PostgresStore`]: revocations and refresh-token families in a PostgreSQL database.

use std::fmt;
use std::sync::Arc;

use jwt_gate::RevocationStore;
use jwt_gate::revocation::{Rotation, StoreError, StoreFuture, TokenRecord};
use sqlx::PgPool;

use crate::names::{
    DEFAULT_TABLE_PREFIX, InvalidIdentifier, Names, check_schema, check_table_prefix,
};
use crate::statements::{Statements, safe};

/// The migration script: `CREATE TABLE IF NOT EXISTS` of the three tables, and their indexes.
const MIGRATION: &str = include_str!("../migrations/postgres.sql");

/// The advisory lock that serializes concurrent [`PostgresStore::migrate`] calls (several
/// instances starting at once): `CREATE ... IF NOT EXISTS` alone can still collide.
const MIGRATION_LOCK: i64 = i64::from_be_bytes(*b"jwt-gate");

/// Revocations and refresh-token families in a PostgreSQL database (feature `postgres`).
///
/// Shared by every instance of the application, and kept across restarts. Create the tables
/// once with [`migrate`](Self::migrate); drop expired rows now and then with
/// [`purge_expired`](RevocationStore::purge_expired).
///
/// ```no_run
/// use std::sync::Arc;
///
/// use jwt_gate::RevocationStore;
/// use jwt_gate_sqlx_store::PostgresStore;
/// use jwt_gate_sqlx_store::sqlx::PgPool;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgPool::connect("postgres://app@localhost/app").await?;
///
/// let store = PostgresStore::new(pool).with_schema("auth")?;
/// store.migrate().await?;
/// let store: Arc<dyn RevocationStore> = Arc::new(store);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
///
/// # Atomicity
///
/// [`rotate`](RevocationStore::rotate) is one conditional `UPDATE ... SET live_refresh = next
/// WHERE family = f AND live_refresh = presented AND NOT revoked AND expires_at >= now` (one
/// row changed: `Rotated`); otherwise a second, `UPDATE ... SET revoked = TRUE WHERE family =
/// f AND NOT revoked AND expires_at >= now`, revokes a live family (one row: `ReuseDetected`,
/// none: `Revoked`). Each `UPDATE` locks the family's row: under `READ COMMITTED`, PostgreSQL's
/// default, a concurrent `UPDATE` of that row waits for the first to commit, then evaluates its
/// `WHERE` again on the new row, where `live_refresh = presented` no longer holds. So of
/// concurrent rotations of one token exactly one wins, the first loser detects the reuse and
/// revokes the family, and the others find it revoked.
///
/// Under `REPEATABLE READ` or `SERIALIZABLE` (if the database or role defaults to it), the
/// losers fail with a serialization error instead, which jwt-gate answers with 503: still no
/// second winner.
#[derive(Clone)]
// Not `#[non_exhaustive]`: every field is private already.
pub struct PostgresStore {
    pool: PgPool,
    schema: Option<String>,
    table_prefix: String,
    sql: Arc<Statements>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool)
            .field("schema", &self.schema)
            .field("table_prefix", &self.table_prefix)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// A store over `pool`, with tables named with [`DEFAULT_TABLE_PREFIX`]
    /// (`jwt_gate_revoked_tokens`, `jwt_gate_families`, `jwt_gate_identity_cutoffs`), in no
    /// particular schema: the connection's `search_path` finds them (usually in `public`).
    ///
    /// The tables must exist: run [`migrate`](Self::migrate) once at start-up.
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self::with_names(pool, None, DEFAULT_TABLE_PREFIX.to_owned())
    }

    fn with_names(pool: PgPool, schema: Option<String>, table_prefix: String) -> Self {
        let names = Names::new(schema.as_deref(), &table_prefix);
        let mut migration = String::new();
        if let Some(schema) = &schema {
            // Validated: ASCII letters, digits and `_` only.
            migration = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\";\n");
        }
        migration.push_str(&names.render(MIGRATION));
        let sql = Statements::new(&names, "GREATEST", migration);
        Self {
            pool,
            schema,
            table_prefix,
            sql: Arc::new(sql),
        }
    }

    /// Puts the tables in `schema`, which [`migrate`](Self::migrate) creates if needed.
    /// Defaults to none: the connection's `search_path` decides.
    ///
    /// The name is quoted, so taken as written: `Auth` and `auth` are two schemas.
    ///
    /// # Errors
    ///
    /// [`InvalidIdentifier`] unless the name is ASCII letters, digits and `_`, not empty, not
    /// starting with a digit nor with `pg_`, at most 63 bytes.
    pub fn with_schema(self, schema: impl Into<String>) -> Result<Self, InvalidIdentifier> {
        let schema = schema.into();
        check_schema(&schema)?;
        Ok(Self::with_names(self.pool, Some(schema), self.table_prefix))
    }

    /// Names the tables `{prefix}revoked_tokens`, `{prefix}families` and
    /// `{prefix}identity_cutoffs` (and their indexes `{prefix}..._expiry`). Defaults to
    /// [`DEFAULT_TABLE_PREFIX`].
    ///
    /// # Errors
    ///
    /// [`InvalidIdentifier`] unless the prefix is ASCII letters, digits and `_`, not starting
    /// with a digit, at most 40 bytes. It may be empty.
    pub fn with_table_prefix(self, prefix: impl Into<String>) -> Result<Self, InvalidIdentifier> {
        let prefix = prefix.into();
        check_table_prefix(&prefix, false)?;
        Ok(Self::with_names(self.pool, self.schema, prefix))
    }

    /// The schema of the tables, if one was set.
    #[must_use]
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The table prefix.
    #[must_use]
    pub fn table_prefix(&self) -> &str {
        &self.table_prefix
    }

    /// Creates the store's schema (if it has one), tables and indexes if they do not exist
    /// yet, in one transaction under an advisory lock, so that instances starting together
    /// do not collide. Idempotent: run it at every start-up.
    ///
    /// # Errors
    ///
    /// The database's error, when it cannot be reached or refuses the SQL (for example when
    /// the role may not create the schema or the tables).
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
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
        let rotated = sqlx::query(safe(&self.sql.rotate))
            .bind(family)
            .bind(presented_jti)
            .bind(next_jti)
            .bind(expires_at)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if rotated != 0 {
            return Ok(Rotation::Rotated);
        }
        let revoked = sqlx::query(safe(&self.sql.revoke_on_reuse))
            .bind(family)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(if revoked != 0 {
            Rotation::ReuseDetected
        } else {
            Rotation::Revoked
        })
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

impl RevocationStore for PostgresStore {
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
