-- The sync server's store (PostgreSQL). Append-only: never edit a shipped file.
-- The same tables as migrations/sqlite/0001_init.sql; times ISO-8601 UTC text.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta(key, value) VALUES ('organisation', 'My shop'), ('floor', '0');

CREATE TABLE enroll_codes (
    code_hash  TEXT PRIMARY KEY,
    store_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    TEXT
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    device_number INTEGER NOT NULL UNIQUE CHECK (device_number >= 1),
    name          TEXT NOT NULL,
    store_name    TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT,
    last_seen_at  TEXT
);

-- seq is the cursor: max + 1 taken under a transaction-level advisory lock
-- held until commit, so cursors are gap-free and follow commit order.
CREATE TABLE changes (
    seq            BIGINT PRIMARY KEY,
    change_id      TEXT NOT NULL UNIQUE,
    device         TEXT NOT NULL REFERENCES devices(id),
    hlc            TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    entity         TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    op             TEXT NOT NULL,
    payload        TEXT NOT NULL,
    subject        TEXT,
    received_at    TEXT NOT NULL
);
CREATE INDEX changes_subject ON changes(subject) WHERE subject IS NOT NULL;

CREATE TABLE redirects (
    merged   TEXT PRIMARY KEY,
    survivor TEXT NOT NULL
);
CREATE INDEX redirects_survivor ON redirects(survivor);

CREATE TABLE erased (
    customer_id TEXT PRIMARY KEY,
    erased_at   TEXT NOT NULL
);
