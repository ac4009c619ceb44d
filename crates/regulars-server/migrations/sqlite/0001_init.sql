-- The sync server's store (SQLite). Append-only: never edit a shipped file.
-- Times are ISO-8601 UTC text; ids are UUID text.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
INSERT INTO meta(key, value) VALUES ('organisation', 'My shop'), ('floor', '0');

-- One-time enrolment codes, by SHA-256 hash (the code itself is shown once).
CREATE TABLE enroll_codes (
    code_hash  TEXT PRIMARY KEY,
    store_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    TEXT
) STRICT;

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    device_number INTEGER NOT NULL UNIQUE CHECK (device_number >= 1),
    name          TEXT NOT NULL,
    store_name    TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT,
    last_seen_at  TEXT
) STRICT;

-- The change log. seq is the cursor: assigned in commit order (one writer).
-- AUTOINCREMENT so a seq is never reused, even after compaction deletes the top.
CREATE TABLE changes (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
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
) STRICT;
CREATE INDEX changes_subject ON changes(subject) WHERE subject IS NOT NULL;

-- Customer merges: merged-away id -> survivor id.
CREATE TABLE redirects (
    merged   TEXT PRIMARY KEY,
    survivor TEXT NOT NULL
) STRICT;
CREATE INDEX redirects_survivor ON redirects(survivor);

-- Erased customers (tombstones): later changes about them are scrubbed.
CREATE TABLE erased (
    customer_id TEXT PRIMARY KEY,
    erased_at   TEXT NOT NULL
) STRICT;
