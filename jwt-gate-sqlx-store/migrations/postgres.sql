-- jwt-gate-sqlx-store: the revocation tables on PostgreSQL, run by `PostgresStore::migrate`
-- in one transaction under an advisory lock (and after `CREATE SCHEMA IF NOT EXISTS` when
-- the store has a schema). Idempotent. The `{..}` names are filled in with the store's
-- validated, quoted table and index names. Times: `expires_at` in Unix seconds, `cutoff_ms`
-- in Unix milliseconds, both from jwt-gate's clock.

-- Revoked tokens (logout): `jti` -> latest expiry.
CREATE TABLE IF NOT EXISTS {revoked_tokens} (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {revoked_tokens_expiry} ON {revoked_tokens} (expires_at);

-- Refresh-token families: the one live refresh `jti`, and whether the family is revoked.
CREATE TABLE IF NOT EXISTS {families} (
    family TEXT PRIMARY KEY,
    live_refresh TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {families_expiry} ON {families} (expires_at);

-- Logout-all cut-offs: identity (the JSON text of the claim) -> latest cut-off.
CREATE TABLE IF NOT EXISTS {identity_cutoffs} (
    identity TEXT PRIMARY KEY,
    cutoff_ms BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {identity_cutoffs_expiry} ON {identity_cutoffs} (expires_at);
