-- Regulars store, schema 1. Migrations are append-only: never edit a file
-- that has shipped; add a new one.
--
-- Ids are UUIDv7 text (time-ordered, unique across tills without
-- coordination). Times are ISO-8601 UTC text ("2026-11-25T09:12:00Z"), dates
-- are "YYYY-MM-DD". Money is integer cents. Every user write also appends a
-- row to `outbox` in the same transaction, so sync only has to ship it.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE households (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE customers (
    id                TEXT PRIMARY KEY,
    external_ref      TEXT UNIQUE,
    given_name        TEXT NOT NULL,
    family_name       TEXT NOT NULL,
    preferred_name    TEXT,
    email             TEXT,
    birthday          TEXT,
    marketing_consent INTEGER NOT NULL DEFAULT 0 CHECK (marketing_consent IN (0, 1)),
    household_id      TEXT REFERENCES households(id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX customers_household ON customers(household_id) WHERE household_id IS NOT NULL;

-- A customer may have several phones; `digits` is the number with formatting
-- stripped, which is what matching uses.
CREATE TABLE customer_phones (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    phone       TEXT NOT NULL,
    digits      TEXT NOT NULL,
    PRIMARY KEY (customer_id, position)
) STRICT;
CREATE INDEX customer_phones_digits ON customer_phones(digits);

CREATE TABLE cards (
    code           TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('ean13', 'legacy')),
    issued_at      TEXT NOT NULL,
    retired_at     TEXT,
    retired_reason TEXT
) STRICT;
CREATE INDEX cards_customer ON cards(customer_id);

CREATE TABLE notes (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    body         TEXT NOT NULL,
    author       TEXT NOT NULL,
    visibility   TEXT NOT NULL CHECK (visibility IN ('staff', 'owner')),
    follow_up_on TEXT,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX notes_customer ON notes(customer_id, created_at);

CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    external_ref TEXT UNIQUE,
    barcode      TEXT UNIQUE,
    name         TEXT NOT NULL,
    department   TEXT,
    category     TEXT,
    price_cents  INTEGER NOT NULL DEFAULT 0,
    considered   INTEGER NOT NULL DEFAULT 0 CHECK (considered IN (0, 1)),
    created_at   TEXT NOT NULL
) STRICT;

CREATE TABLE sales (
    id             TEXT PRIMARY KEY,
    external_ref   TEXT UNIQUE,
    customer_id    TEXT REFERENCES customers(id),
    device_id      TEXT NOT NULL,
    completed_at   TEXT NOT NULL,
    total_cents    INTEGER NOT NULL,
    payment_method TEXT NOT NULL DEFAULT 'other',
    refund_of      TEXT REFERENCES sales(id)
) STRICT;
CREATE INDEX sales_customer ON sales(customer_id, completed_at) WHERE customer_id IS NOT NULL;

-- Lines are written once, with their sale, and travel inside the sale's
-- change; (sale_id, position) is their identity, which keeps this, the
-- largest table, compact.
CREATE TABLE sale_lines (
    sale_id          TEXT NOT NULL REFERENCES sales(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    product_id       TEXT REFERENCES products(id),
    description      TEXT NOT NULL,
    quantity         REAL NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    discount_cents   INTEGER NOT NULL DEFAULT 0,
    amount_cents     INTEGER NOT NULL,
    PRIMARY KEY (sale_id, position)
) STRICT, WITHOUT ROWID;

-- Append-only: the balance is the sum. Never UPDATE or DELETE rows here.
CREATE TABLE points_ledger (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    sale_id     TEXT REFERENCES sales(id),
    kind        TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'reversal')),
    points      INTEGER NOT NULL,
    reason      TEXT,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX points_customer ON points_ledger(customer_id);

-- Changes made on this till, waiting to be shipped to the server. `seq` is
-- the local commit order; `change_id` is globally unique so a replayed push
-- is recognised as a duplicate by the receiver.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id  TEXT NOT NULL UNIQUE,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT
) STRICT;
CREATE INDEX outbox_unsent ON outbox(seq) WHERE sent_at IS NULL;
