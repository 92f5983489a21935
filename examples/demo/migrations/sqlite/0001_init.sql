-- Ids are AUTOINCREMENT so that they are never reused, even after a deletion.
-- TEXT columns compare with SQLite's BINARY collation: names are matched exactly.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    -- The email as registered, and its ASCII-lowercased form (computed by the application),
    -- which is what makes emails unique ignoring ASCII case only.
    email         TEXT    NOT NULL,
    email_key     TEXT    NOT NULL UNIQUE,
    -- An argon2id PHC string, never the password.
    password_hash TEXT    NOT NULL
);

CREATE TABLE stores (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT    NOT NULL UNIQUE
);

-- No ON DELETE action: a store with items cannot be deleted (enforced with
-- `PRAGMA foreign_keys = ON`, set on every connection).
CREATE TABLE items (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT    NOT NULL UNIQUE,
    price    REAL    NOT NULL,
    store_id INTEGER NOT NULL REFERENCES stores (id)
);

CREATE INDEX items_store_id ON items (store_id);
