-- jwt-gate-sqlx-store: the revocation tables on SQLite, run by `SqliteStore::migrate`.
-- Idempotent. The `{..}` names are filled in with the store's validated, quoted table and
-- index names. Times: `expires_at` in Unix seconds, `cutoff_ms` in Unix milliseconds, both
-- from jwt-gate's clock.

-- Revoked tokens (logout): `jti` -> latest expiry.
CREATE TABLE IF NOT EXISTS {revoked_tokens} (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {revoked_tokens_expiry} ON {revoked_tokens} (expires_at);

-- Refresh-token families: the one live refresh `jti`, and whether the family is revoked.
CREATE TABLE IF NOT EXISTS {families} (
    family TEXT PRIMARY KEY NOT NULL,
    live_refresh TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {families_expiry} ON {families} (expires_at);

-- Logout-all cut-offs: identity (the JSON text of the claim) -> latest cut-off.
CREATE TABLE IF NOT EXISTS {identity_cutoffs} (
    identity TEXT PRIMARY KEY NOT NULL,
    cutoff_ms INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {identity_cutoffs_expiry} ON {identity_cutoffs} (expires_at);
