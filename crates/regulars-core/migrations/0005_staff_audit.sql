-- Regulars store: who works the till, and what they did that matters for
-- privacy. Append-only like 0001: never edit this file once shipped.

-- Staff unlock the till with a PIN. `pin_hash` is an Argon2id PHC string
-- (salt and parameters inside); the PIN itself is never stored. Failed
-- attempts and the lock-out end are persisted, so restarting the app does not
-- reset a lock-out.
CREATE TABLE staff (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'cashier')),
    pin_hash        TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

-- Who did what, when: exports, erasures, merges, PIN changes, role switches,
-- backups and restores. `detail` holds ids and counts only, never a name,
-- phone, email or note, so the log can be kept after an erasure.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    at         TEXT NOT NULL,
    staff_id   TEXT REFERENCES staff(id),
    action     TEXT NOT NULL,
    subject_id TEXT,
    detail     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);
