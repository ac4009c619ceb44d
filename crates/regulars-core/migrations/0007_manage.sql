-- Regulars store: what managing customers needs (edit, households, notes
-- with expiry, duplicates and reversible merges). Append-only like 0001:
-- never edit this file once shipped; add a new one.

-- A postal address, optional, edited with the customer; the duplicate finder
-- compares postcode + house number.
ALTER TABLE customers ADD COLUMN address_line1 TEXT;
ALTER TABLE customers ADD COLUMN postcode TEXT;
ALTER TABLE customers ADD COLUMN city TEXT;

-- A note may stop mattering ("away until March"): from `expires_on` on it is
-- hidden from the till and from prompts. The owner can retire a note (kept
-- for the record, shown to nobody) and edit it (`updated_at`).
ALTER TABLE notes ADD COLUMN expires_on TEXT;
ALTER TABLE notes ADD COLUMN retired_at TEXT;
ALTER TABLE notes ADD COLUMN updated_at TEXT;

-- "These two are not the same person": the pair never comes back in the
-- duplicate finder. Stored with the smaller id first. No foreign keys: a
-- dismissal outlives a later merge or undo harmlessly.
CREATE TABLE duplicate_dismissals (
    customer_a   TEXT NOT NULL,
    customer_b   TEXT NOT NULL,
    dismissed_at TEXT NOT NULL,
    PRIMARY KEY (customer_a, customer_b),
    CHECK (customer_a < customer_b)
) STRICT, WITHOUT ROWID;

-- One row per merge: who survived, who was merged away, and the undo journal
-- (JSON: the merged customer's rows and which rows moved where), enough to
-- restore the prior state exactly.
CREATE TABLE customer_merges (
    id          TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    merged_id   TEXT NOT NULL,
    merged_at   TEXT NOT NULL,
    undone_at   TEXT,
    journal     TEXT NOT NULL
) STRICT;
CREATE INDEX customer_merges_survivor ON customer_merges(survivor_id);

-- Where a merged-away customer went: sync sends late changes to the
-- merged-away id on to the survivor. Removed again by an undo.
CREATE TABLE customer_redirects (
    merged_id   TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    merge_id    TEXT NOT NULL REFERENCES customer_merges(id),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX customer_redirects_survivor ON customer_redirects(survivor_id);
