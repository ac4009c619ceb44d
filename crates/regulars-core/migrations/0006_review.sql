-- Regulars store: what the owner's review and "reach out" need.
-- Append-only like 0001: never edit this file once shipped; add a new one.

-- What came of contacting a customer from the "who to contact this week"
-- list: one row per attempt. `reason_key` is the list item's key
-- ("overdue:2026-10-01", "note:<id>", "birthday:2026"), so a done item does
-- not come back, and "not_interested" rests the customer for a while.
CREATE TABLE contact_outcomes (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    reason_key  TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('called', 'messaged', 'no_answer', 'not_interested')),
    staff       TEXT,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX contact_outcomes_customer ON contact_outcomes(customer_id, created_at);

-- The dashboard reads a period's sales by time (every sale, with or without
-- a customer): covering, so a month is one range scan of the index.
CREATE INDEX sales_time ON sales(completed_at, total_cents, customer_id, refund_of);

-- Segments and overdue read every customer's visits with their value; with
-- total_cents in 0004's visit index those reads never touch the table.
-- Same name and leading columns, so every earlier use still applies.
DROP INDEX IF EXISTS sales_customer_visits;
CREATE INDEX sales_customer_visits ON sales(customer_id, refund_of, completed_at, total_cents)
    WHERE customer_id IS NOT NULL;
