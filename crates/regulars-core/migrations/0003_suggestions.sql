-- Regulars store: what the suggestions engine remembers. Append-only like
-- 0001: never edit this file once shipped; add a new one.

-- The cashier's verdict on a conversation prompt ("used", "not relevant"),
-- per customer and prompt key; later prompts are suppressed or re-ranked.
CREATE TABLE prompt_feedback (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    prompt_key  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('used', 'not_relevant')),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX prompt_feedback_customer ON prompt_feedback(customer_id, created_at);

-- Offers shown, accepted and declined, per customer (for resting declined
-- offers, campaign caps and the owner's review).
CREATE TABLE offer_events (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    offer_key   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('shown', 'accepted', 'declined')),
    sale_id     TEXT REFERENCES sales(id),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX offer_events_customer ON offer_events(customer_id, created_at);
CREATE INDEX offer_events_key ON offer_events(offer_key, outcome);

-- The owner's offer campaigns: the rule (who, what, when, caps) as JSON,
-- see `suggest::facts::Campaign`.
CREATE TABLE offer_campaigns (
    id         TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
