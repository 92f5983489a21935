-- Identity columns are backed by sequences, which never hand out an id twice.
-- `text` with the default deterministic collation compares exactly: names are matched exactly.
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    -- The email as registered, and its ASCII-lowercased form (computed by the application:
    -- PostgreSQL's lower() would fold non-ASCII letters too).
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    -- An argon2id PHC string, never the password.
    password_hash TEXT NOT NULL
);

CREATE TABLE stores (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- No ON DELETE action: a store with items cannot be deleted.
CREATE TABLE items (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     TEXT             NOT NULL UNIQUE,
    price    DOUBLE PRECISION NOT NULL,
    store_id BIGINT           NOT NULL REFERENCES stores (id)
);

CREATE INDEX items_store_id ON items (store_id);
