//! The SQL of both stores. The two dialects share it but for the name of the two-argument
//! maximum (`MAX` on SQLite, `GREATEST` on PostgreSQL) and the migration script; SQLite reads
//! the `$n` parameters as PostgreSQL does, and knows `TRUE` and `FALSE`.
//!
//! Every statement is built once per store (names spliced in), then shared.

use std::sync::Arc;

use sqlx::AssertSqlSafe;

use crate::names::Names;

/// The prepared SQL text of one store.
#[derive(Debug)]
pub(crate) struct Statements {
    /// The migration script (several statements: run through `raw_sql`).
    pub(crate) migrate: Arc<str>,
    /// `$1` jti, `$2` family, `$3` identity, `$4` now, `$5` issued at (ms): one boolean row.
    pub(crate) is_revoked: Arc<str>,
    /// `$1` jti, `$2` expires at.
    pub(crate) revoke_token: Arc<str>,
    /// `$1` family, `$2` refresh jti, `$3` expires at.
    pub(crate) create_family: Arc<str>,
    /// `$1` family, `$2` presented jti, `$3` next jti, `$4` expires at, `$5` now.
    pub(crate) rotate: Arc<str>,
    /// `$1` family, `$2` now: revokes a live family (after a failed `rotate`).
    pub(crate) revoke_on_reuse: Arc<str>,
    /// `$1` family, `$2` expires at.
    pub(crate) revoke_family: Arc<str>,
    /// `$1` identity, `$2` cut-off (ms), `$3` expires at.
    pub(crate) revoke_identity: Arc<str>,
    /// `$1` now: one `DELETE` per table.
    pub(crate) purge: [Arc<str>; 3],
}

impl Statements {
    /// The statements over `names`, with `greatest` the dialect's two-argument maximum.
    pub(crate) fn new(names: &Names, greatest: &str, migrate: String) -> Self {
        let Names {
            revoked_tokens: tokens,
            families,
            identity_cutoffs: identities,
            ..
        } = names;
        let sql = |text: String| Arc::<str>::from(text);
        Self {
            migrate: sql(migrate),
            is_revoked: sql(format!(
                "SELECT EXISTS (SELECT 1 FROM {tokens} \
                        WHERE jti = $1 AND expires_at >= $4) \
                     OR EXISTS (SELECT 1 FROM {families} \
                        WHERE family = $2 AND revoked AND expires_at >= $4) \
                     OR EXISTS (SELECT 1 FROM {identities} \
                        WHERE identity = $3 AND cutoff_ms >= $5 AND expires_at >= $4)"
            )),
            revoke_token: sql(format!(
                "INSERT INTO {tokens} AS cur (jti, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (jti) DO UPDATE \
                 SET expires_at = {greatest}(cur.expires_at, excluded.expires_at)"
            )),
            // Like `MemoryStore`: a family id is fresh at login, so starting one replaces
            // whatever (expired) entry had the id.
            create_family: sql(format!(
                "INSERT INTO {families} AS cur (family, live_refresh, revoked, expires_at) \
                 VALUES ($1, $2, FALSE, $3) \
                 ON CONFLICT (family) DO UPDATE \
                 SET live_refresh = excluded.live_refresh, revoked = FALSE, \
                     expires_at = excluded.expires_at"
            )),
            rotate: sql(format!(
                "UPDATE {families} \
                 SET live_refresh = $3, expires_at = {greatest}(expires_at, $4) \
                 WHERE family = $1 AND live_refresh = $2 AND NOT revoked AND expires_at >= $5"
            )),
            revoke_on_reuse: sql(format!(
                "UPDATE {families} SET revoked = TRUE \
                 WHERE family = $1 AND NOT revoked AND expires_at >= $2"
            )),
            revoke_family: sql(format!(
                "INSERT INTO {families} AS cur (family, live_refresh, revoked, expires_at) \
                 VALUES ($1, '', TRUE, $2) \
                 ON CONFLICT (family) DO UPDATE \
                 SET revoked = TRUE, expires_at = {greatest}(cur.expires_at, excluded.expires_at)"
            )),
            revoke_identity: sql(format!(
                "INSERT INTO {identities} AS cur (identity, cutoff_ms, expires_at) \
                 VALUES ($1, $2, $3) \
                 ON CONFLICT (identity) DO UPDATE \
                 SET cutoff_ms = {greatest}(cur.cutoff_ms, excluded.cutoff_ms), \
                     expires_at = {greatest}(cur.expires_at, excluded.expires_at)"
            )),
            purge: [tokens, families, identities]
                .map(|table| sql(format!("DELETE FROM {table} WHERE expires_at < $1"))),
        }
    }
}

/// Hands a statement to sqlx. Sound: the only dynamic parts of these texts are table and index
/// names, validated by `names` to ASCII letters, digits and `_`, then quoted; every value is a
/// bind parameter.
pub(crate) fn safe(statement: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(Arc::clone(statement))
}
