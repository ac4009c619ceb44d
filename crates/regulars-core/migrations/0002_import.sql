-- Regulars store, schema 2: what importing a shop's history needs.
-- Append-only like 0001: never edit this file once shipped; add 0003.
--
-- Customer attributes (demographics and the like), campaigns with their
-- members, coupons and redemptions come from an old POS or a loyalty
-- programme's export; later offer logic reads them. Import runs are kept for
-- support: what was imported, when, and with what outcome.

-- Free-form facts about a customer from an import ("age" = "45-54",
-- "income" = "50-74K"). One value per name; a later import replaces it.
CREATE TABLE customer_attributes (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    source      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX customer_attributes_name ON customer_attributes(name, value);

-- A marketing campaign of the old system (Complete Journey: campaign_id with
-- its type and dates).
CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    external_ref TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    kind         TEXT,
    starts_on    TEXT,
    ends_on      TEXT,
    source       TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

-- Who received which campaign.
CREATE TABLE campaign_members (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, customer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX campaign_members_customer ON campaign_members(customer_id);

-- Which products a campaign's coupon applied to.
CREATE TABLE coupons (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    product_id  TEXT NOT NULL REFERENCES products(id),
    PRIMARY KEY (campaign_id, code, product_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX coupons_product ON coupons(product_id);

-- A coupon a customer redeemed, on a date.
CREATE TABLE coupon_redemptions (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    redeemed_on TEXT NOT NULL,
    PRIMARY KEY (customer_id, campaign_id, code, redeemed_on)
) STRICT, WITHOUT ROWID;

-- One row per import run (dry runs are not recorded).
CREATE TABLE import_runs (
    id          TEXT PRIMARY KEY,
    profile     TEXT NOT NULL,
    files       TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('completed', 'cancelled')),
    rows        INTEGER NOT NULL,
    imported    INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,
    rejected    INTEGER NOT NULL
) STRICT;
