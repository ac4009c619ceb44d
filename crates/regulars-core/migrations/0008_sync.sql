-- Sync with a central server (issue 6). See docs/sync.md.

-- The till's hybrid logical clock: advanced inside every write transaction
-- that records a change, so stamps follow commit order on this till.
-- `offset_ms` is the server's time minus this machine's, learnt at sync.
CREATE TABLE sync_clock (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    ms        INTEGER NOT NULL,
    counter   INTEGER NOT NULL,
    offset_ms INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO sync_clock(id, ms, counter) VALUES (1, 0, 0);

-- The clock stamp of each change ("0001764000000000.00007"). Changes queued
-- before this migration have none; they are stamped when first pushed.
ALTER TABLE outbox ADD COLUMN hlc TEXT;
-- Why the server refused a change (it stays here for the owner to see and
-- no longer blocks the queue).
ALTER TABLE outbox ADD COLUMN rejected TEXT;
-- "Waiting" now means unsent and not refused: the push queue and the
-- status counts read these (a till with a long backlog counts them under
-- the till's lock, so they must not scan the table).
DROP INDEX outbox_unsent;
CREATE INDEX outbox_waiting ON outbox(seq) WHERE sent_at IS NULL AND rejected IS NULL;
CREATE INDEX outbox_refused ON outbox(seq) WHERE rejected IS NOT NULL AND sent_at IS NULL;

-- The server this till is enrolled with. One row at most.
CREATE TABLE sync_server (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    url            TEXT NOT NULL,
    token          TEXT NOT NULL,
    device_number  INTEGER NOT NULL,
    organisation   TEXT NOT NULL,
    store_name     TEXT NOT NULL,
    enrolled_at    TEXT NOT NULL,
    cursor         INTEGER NOT NULL DEFAULT 0,
    last_push_at   TEXT,
    last_pull_at   TEXT,
    last_error     TEXT
) STRICT;

-- Changes from other devices already applied here: a page replayed after a
-- crash or a duplicated response changes nothing.
CREATE TABLE sync_applied (
    change_id TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- Per-field last-writer-wins stamps for editable records. A field with no
-- row was last written when its record was created, which every later edit
-- anywhere follows (the clock saw the creation first).
CREATE TABLE field_stamps (
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field     TEXT NOT NULL,
    hlc       TEXT NOT NULL,
    device    TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, field)
) STRICT, WITHOUT ROWID;

-- Values that lost a last-writer-wins race, for the owner to review.
CREATE TABLE sync_conflicts (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    field      TEXT NOT NULL,
    kept       TEXT,
    lost       TEXT,
    lost_hlc   TEXT NOT NULL,
    lost_device TEXT NOT NULL,
    noted_at   TEXT NOT NULL
) STRICT;

-- Customers erased anywhere (ids only): changes about them that arrive
-- later are dropped.
CREATE TABLE erased_customers (
    customer_id TEXT PRIMARY KEY,
    erased_at   TEXT NOT NULL
) STRICT, WITHOUT ROWID;
