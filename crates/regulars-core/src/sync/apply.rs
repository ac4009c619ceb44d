//! What a change from another till does to this till's tables. The merge
//! *decisions* (which write wins, what an erasure drops, where a merged
//! customer now lives) are `regulars_sync::rules`; this module turns them
//! into SQL, one handler per change kind, always inside the caller's page
//! transaction.
//!
//! Rules of thumb every handler follows:
//! - inserts are idempotent (`INSERT OR IGNORE` by the record's own id);
//! - a reference to something this till does not hold (a product never
//!   pulled, a sale refunded elsewhere) becomes NULL rather than failing the
//!   page: the row still lands, and the totals stay exact;
//! - customer ids go through the redirect table first (a late change about a
//!   merged-away customer lands on the survivor), and changes about an erased
//!   customer are dropped.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use regulars_sync::rules::{self, lww_wins, Class, Verdict};
use regulars_sync::{Change, Hlc, Stamp};

use crate::ids::{CustomerId, MergeId};
use crate::store::manage::{follow_redirects, merge_in_tx, to_sql, undo_merge_in_tx};
use crate::store::phone_digits;
use crate::{Error, Result};

/// Customer columns a change may write (the rest are the store's own).
pub const CUSTOMER_FIELDS: [&str; 13] = [
    "external_ref",
    "given_name",
    "family_name",
    "preferred_name",
    "email",
    "birthday",
    "marketing_consent",
    "household_id",
    "address_line1",
    "postcode",
    "city",
    "phones",
    "created_at",
];
const NOTE_FIELDS: [&str; 5] = [
    "body",
    "visibility",
    "follow_up_on",
    "expires_on",
    "retired_at",
];
pub(crate) const PRODUCT_FIELDS: [&str; 7] = [
    "external_ref",
    "barcode",
    "name",
    "department",
    "category",
    "price_cents",
    "considered",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Applied,
    /// An erasure: the caller compacts the file after commit.
    Erased,
    /// Nothing kept (about an erased customer, or a reference that cannot
    /// be honoured); the change still counts as seen.
    Dropped,
}

fn is_erased(tx: &Connection, id: &str) -> bool {
    tx.prepare_cached("SELECT 1 FROM erased_customers WHERE customer_id = ?1")
        .and_then(|mut st| st.exists([id]))
        .unwrap_or(false)
}

fn exists(tx: &Connection, sql: &str, key: &str) -> Result<bool> {
    Ok(tx.prepare_cached(sql)?.exists([key])?)
}

fn customer_exists(tx: &Connection, id: &str) -> Result<bool> {
    exists(tx, "SELECT 1 FROM customers WHERE id = ?1", id)
}

fn str_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn need<'a>(c: &Change, v: &'a Value, k: &str) -> Result<&'a str> {
    str_of(v, k).ok_or_else(|| {
        Error::invalid(
            "sync change",
            format!(
                "{}/{} is missing {k}; upgrade the till that sent it",
                c.entity, c.op
            ),
        )
    })
}

/// The time a change was made, from its clock (ISO-8601 UTC).
fn at_of(c: &Change) -> String {
    chrono::DateTime::from_timestamp_millis(c.hlc.ms as i64)
        .map(crate::store::iso)
        .unwrap_or_else(crate::store::now_iso)
}

/// Applies one change from another device.
pub(crate) fn apply(tx: &Connection, c: &Change) -> Result<Outcome> {
    let class = rules::class_of(&c.entity, &c.op).ok_or_else(|| {
        Error::invalid(
            "sync change",
            format!(
                "{}/{} is unknown to this version: upgrade this till",
                c.entity, c.op
            ),
        )
    })?;
    // Erasure first: it always wins, and nothing about the person is kept
    // afterwards. The redirect is followed so a change about a customer
    // merged into an erased one is dropped too.
    // What the server keeps of a change about an erased customer: nothing
    // to apply (the erasure itself travels whole and does the work).
    if c.payload.get("redacted").and_then(Value::as_bool) == Some(true) && class != Class::Redirect
    {
        return Ok(Outcome::Dropped);
    }
    let mut c = c.clone();
    if matches!(class, Class::Insert | Class::Fields) {
        if let Some(s) = rules::subject(&c) {
            let now_at = follow_redirects(tx, s)?;
            if rules::verdict(&c, |id| is_erased(tx, id) || is_erased(tx, &now_at)) == Verdict::Drop
            {
                if c.entity == "sale" && matches!(c.op.as_str(), "insert" | "import") {
                    // The sale stays, anonymous, as it did where the
                    // person was erased: the shop's totals must not change.
                    c.payload["customer_id"] = Value::Null;
                } else {
                    return Ok(Outcome::Dropped);
                }
            }
        }
    }
    if class != Class::Redirect && class != Class::Unredirect && class != Class::Tombstone {
        redirect_customer_ids(tx, &mut c)?;
    }
    let stamp = c.stamp();
    let p = &c.payload;
    let id = c.entity_id.as_str();
    match (c.entity.as_str(), c.op.as_str()) {
        ("customer", "insert") => customer_insert(tx, &c, stamp),
        ("customer", "update") => {
            if !customer_exists(tx, id)? {
                return Ok(Outcome::Dropped);
            }
            write_fields(tx, &c, "customers", "id", &CUSTOMER_FIELDS, stamp)?;
            tx.execute(
                "UPDATE customers SET updated_at = max(updated_at, ?2) WHERE id = ?1",
                params![id, at_of(&c)],
            )?;
            Ok(Outcome::Applied)
        }
        ("customer", "merge") => merge(tx, &c),
        ("customer", "unmerge") => unmerge(tx, &c),
        ("customer", "erase") => erase(tx, &c),
        ("customer_attributes", "import") => {
            let cust = follow_redirects(tx, id)?;
            if !customer_exists(tx, &cust)? {
                return Ok(Outcome::Dropped);
            }
            let source = str_of(p, "source").unwrap_or("sync");
            let mut st = tx.prepare_cached(
                "INSERT INTO customer_attributes(customer_id, name, value, source, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(customer_id, name) DO UPDATE SET value = excluded.value,
                    source = excluded.source, updated_at = excluded.updated_at",
            )?;
            for (name, v) in p
                .get("attributes")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(v) = v.as_str() {
                    if field_wins(tx, &c, &format!("attr:{name}"), stamp)? {
                        st.execute(params![cust, name, v, source, at_of(&c)])?;
                    }
                }
            }
            Ok(Outcome::Applied)
        }
        ("household", "insert") => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO households(id, name, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                id,
                need(&c, p, "name")?,
                str_of(p, "created_at").map_or_else(|| at_of(&c), str::to_string)
            ])?;
            Ok(Outcome::Applied)
        }
        ("household", "update") => {
            write_fields(tx, &c, "households", "id", &["name"], stamp)?;
            Ok(Outcome::Applied)
        }
        ("card", "insert") => card_insert(tx, &c),
        ("card", "retire") => {
            write_fields(
                tx,
                &c,
                "cards",
                "code",
                &["retired_at", "retired_reason"],
                stamp,
            )?;
            Ok(Outcome::Applied)
        }
        ("note", "insert") => {
            let cust = need(&c, p, "customer_id")?;
            if !customer_exists(tx, cust)? {
                return Ok(Outcome::Dropped);
            }
            tx.prepare_cached(
                "INSERT OR IGNORE INTO notes(id, customer_id, body, author, visibility, follow_up_on,
                    created_at, expires_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                id,
                cust,
                need(&c, p, "body")?,
                str_of(p, "author").unwrap_or("staff"),
                str_of(p, "visibility").unwrap_or("staff"),
                str_of(p, "follow_up_on"),
                str_of(p, "created_at").map_or_else(|| at_of(&c), str::to_string),
                str_of(p, "expires_on"),
            ])?;
            Ok(Outcome::Applied)
        }
        ("note", "update") | ("note", "retire") => {
            write_fields(tx, &c, "notes", "id", &NOTE_FIELDS, stamp)?;
            tx.execute(
                "UPDATE notes SET updated_at = ?2 WHERE id = ?1",
                params![id, at_of(&c)],
            )?;
            Ok(Outcome::Applied)
        }
        ("product", _) => product(tx, &c, stamp),
        ("sale", "insert") => sale_insert(tx, &c),
        ("sale", "import") | ("sale", "import_lines") => sale_import(tx, &c),
        ("sale", "attach_customer") => {
            let cust = need(&c, p, "customer_id")?;
            if !customer_exists(tx, cust)? {
                return Ok(Outcome::Dropped);
            }
            // A sale gets its customer once; a second attach elsewhere is a
            // conflict the clock settles like any field.
            write_fields(tx, &c, "sales", "id", &["customer_id"], stamp)?;
            Ok(Outcome::Applied)
        }
        ("points", "insert") => points(tx, &c),
        ("prompt_feedback", "insert") => {
            insert_for_customer(
                tx,
                &c,
                "INSERT OR IGNORE INTO prompt_feedback(id, customer_id, prompt_key, kind, verdict, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &["key", "kind", "verdict"],
            )
        }
        ("offer_event", "insert") => {
            let cust = need(&c, p, "customer_id")?;
            if !customer_exists(tx, cust)? {
                return Ok(Outcome::Dropped);
            }
            let sale = known_sale(tx, str_of(p, "sale_id"))?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO offer_events(id, customer_id, offer_key, kind, outcome, sale_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                cust,
                need(&c, p, "key")?,
                need(&c, p, "kind")?,
                need(&c, p, "outcome")?,
                sale,
                at_of(&c)
            ])?;
            Ok(Outcome::Applied)
        }
        ("offer_event", "update") => {
            if known_sale(tx, str_of(p, "sale_id"))?.is_none() {
                return Ok(Outcome::Dropped);
            }
            write_fields(tx, &c, "offer_events", "id", &["sale_id"], stamp)?;
            Ok(Outcome::Applied)
        }
        ("offer_campaign", "upsert") => {
            let rule = p.get("rule").cloned().unwrap_or_else(|| p.clone());
            let active = p.get("active").and_then(Value::as_bool).unwrap_or(true);
            let n = tx.execute(
                "INSERT OR IGNORE INTO offer_campaigns(id, rule, active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![id, rule.to_string(), active, at_of(&c)],
            )?;
            if n == 0 {
                write_fields(tx, &c, "offer_campaigns", "id", &["rule", "active"], stamp)?;
            }
            Ok(Outcome::Applied)
        }
        ("contact_outcome", "insert") => insert_for_customer(
            tx,
            &c,
            "INSERT OR IGNORE INTO contact_outcomes(id, customer_id, reason_key, outcome, staff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &["reason_key", "outcome", "staff"],
        ),
        ("staff", _) => {
            let n = tx.execute(
                "INSERT OR IGNORE INTO staff(id, name, role, pin_hash, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![
                    id,
                    need(&c, p, "name")?,
                    need(&c, p, "role")?,
                    need(&c, p, "pin_hash")?,
                    at_of(&c)
                ],
            )?;
            if n == 0 {
                write_fields(tx, &c, "staff", "id", &["name", "role", "pin_hash"], stamp)?;
            }
            Ok(Outcome::Applied)
        }
        ("campaign", "import") => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO campaigns(id, external_ref, name, kind, starts_on, ends_on, source, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'sync', ?7)",
            )?
            .execute(params![
                id,
                need(&c, p, "external_ref")?,
                need(&c, p, "name")?,
                str_of(p, "kind"),
                str_of(p, "starts_on"),
                str_of(p, "ends_on"),
                at_of(&c)
            ])?;
            Ok(Outcome::Applied)
        }
        ("campaign_members", "import")
        | ("coupons", "import")
        | ("coupon_redemptions", "import") => bulk_rows(tx, &c),
        _ => Err(Error::invalid(
            "sync change",
            format!("{}/{} has no handler: upgrade this till", c.entity, c.op),
        )),
    }
}

/// Rewrites the customer ids a change carries through the redirect table.
fn redirect_customer_ids(tx: &Connection, c: &mut Change) -> Result<()> {
    if matches!(c.entity.as_str(), "customer" | "customer_attributes") {
        c.entity_id = follow_redirects(tx, &c.entity_id)?;
    }
    if let Some(s) = str_of(&c.payload, "customer_id").map(str::to_string) {
        let r = follow_redirects(tx, &s)?;
        if r != s {
            c.payload["customer_id"] = Value::from(r);
        }
    }
    Ok(())
}

fn stamp_of(tx: &Connection, c: &Change, field: &str) -> Result<Option<Stamp>> {
    let row: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT hlc, device FROM field_stamps WHERE entity = ?1 AND entity_id = ?2 AND field = ?3",
        )?
        .query_row(params![c.entity, c.entity_id, field], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(h, d)| Some(Stamp::new(h.parse::<Hlc>().ok()?, d.parse().ok()?))))
}

/// Last-writer-wins for one field: true (and the stamp recorded) when the
/// change's write should land; false (and the losing value logged) when a
/// later write is already here.
fn field_wins(tx: &Connection, c: &Change, field: &str, stamp: Stamp) -> Result<bool> {
    let current = stamp_of(tx, c, field)?;
    if lww_wins(current, stamp) {
        tx.prepare_cached(
            "INSERT INTO field_stamps(entity, entity_id, field, hlc, device) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc, device = excluded.device",
        )?
        .execute(params![
            c.entity,
            c.entity_id,
            field,
            stamp.hlc.to_string(),
            stamp.device.hyphenated().to_string()
        ])?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Notes a change that could not be applied here, for the owner (the
/// message names the problem, never the data).
pub(crate) fn note_unapplied(tx: &Connection, c: &Change, e: &Error) -> Result<()> {
    tracing::warn!(entity = %c.entity, op = %c.op, code = ?e.code(), "a synced change could not be applied");
    log_conflict(
        tx,
        c,
        "(not applied)",
        None,
        &Value::from(e.to_string().chars().take(200).collect::<String>()),
    )
}

fn log_conflict(
    tx: &Connection,
    c: &Change,
    field: &str,
    kept: Option<String>,
    lost: &Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO sync_conflicts(entity, entity_id, field, kept, lost, lost_hlc, lost_device, noted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.entity,
        c.entity_id,
        field,
        kept,
        lost.to_string(),
        c.hlc.to_string(),
        c.device.hyphenated().to_string(),
        crate::store::now_iso()
    ])?;
    Ok(())
}

/// Writes the change's fields that win, into `table` keyed by `key_col` =
/// entity id; fields not in `allowed` are ignored (a newer till's extra
/// field, never a column name from the wire).
fn write_fields(
    tx: &Connection,
    c: &Change,
    table: &str,
    key_col: &str,
    allowed: &[&str],
    stamp: Stamp,
) -> Result<()> {
    for (field, value) in super::fields_of(&c.entity, &c.op, &c.payload) {
        let Some(col) = allowed.iter().find(|a| **a == field) else {
            continue;
        };
        if field_wins(tx, c, col, stamp)? {
            if *col == "phones" {
                set_phones(tx, &c.entity_id, &value)?;
            } else {
                let v = match &value {
                    // Campaign rules and the like are stored as JSON text.
                    Value::Object(_) | Value::Array(_) => {
                        rusqlite::types::Value::Text(value.to_string())
                    }
                    other => to_sql(other),
                };
                let res = tx.execute(
                    &format!("UPDATE {table} SET {col} = ?2 WHERE {key_col} = ?1"),
                    params![c.entity_id, v],
                );
                match res {
                    Ok(_) => {}
                    Err(e)
                        if e.sqlite_error_code()
                            == Some(rusqlite::ErrorCode::ConstraintViolation) =>
                    {
                        // A unique value (a barcode, an external reference)
                        // already taken by another record here: the write
                        // cannot land; keep it for the owner.
                        log_conflict(tx, c, col, None, &value)?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        } else {
            let kept: Option<String> = if *col == "phones" {
                None
            } else {
                tx.query_row(
                    &format!("SELECT CAST({col} AS TEXT) FROM {table} WHERE {key_col} = ?1"),
                    [&c.entity_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten()
            };
            log_conflict(tx, c, col, kept, &value)?;
        }
    }
    Ok(())
}

fn set_phones(tx: &Connection, customer: &str, value: &Value) -> Result<()> {
    tx.execute(
        "DELETE FROM customer_phones WHERE customer_id = ?1",
        [customer],
    )?;
    let mut st = tx.prepare_cached(
        "INSERT INTO customer_phones(customer_id, position, phone, digits) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, p) in value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .enumerate()
    {
        st.execute(params![customer, i as i64, p, phone_digits(p)])?;
    }
    Ok(())
}

fn customer_insert(tx: &Connection, c: &Change, stamp: Stamp) -> Result<Outcome> {
    let id = c.entity_id.as_str();
    let p = &c.payload;
    if customer_exists(tx, id)? {
        write_fields(tx, c, "customers", "id", &CUSTOMER_FIELDS, stamp)?;
        return Ok(Outcome::Applied);
    }
    let household = match str_of(p, "household_id") {
        Some(h) if exists(tx, "SELECT 1 FROM households WHERE id = ?1", h)? => Some(h),
        _ => None,
    };
    let created = str_of(p, "created_at").map_or_else(|| at_of(c), str::to_string);
    let mut external_ref = str_of(p, "external_ref");
    if let Some(r) = external_ref {
        if exists(tx, "SELECT 1 FROM customers WHERE external_ref = ?1", r)? {
            log_conflict(tx, c, "external_ref", None, &Value::from(r))?;
            external_ref = None;
        }
    }
    tx.prepare_cached(
        "INSERT INTO customers(id, external_ref, given_name, family_name, preferred_name, email,
            birthday, marketing_consent, household_id, address_line1, postcode, city, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
    )?
    .execute(params![
        id,
        external_ref,
        str_of(p, "given_name").unwrap_or_default(),
        str_of(p, "family_name").unwrap_or_default(),
        str_of(p, "preferred_name"),
        str_of(p, "email"),
        str_of(p, "birthday"),
        p.get("marketing_consent").and_then(Value::as_bool).unwrap_or(false),
        household,
        str_of(p, "address_line1"),
        str_of(p, "postcode"),
        str_of(p, "city"),
        created,
    ])?;
    if let Some(phones) = p.get("phones") {
        set_phones(tx, id, phones)?;
    }
    Ok(Outcome::Applied)
}

fn card_insert(tx: &Connection, c: &Change) -> Result<Outcome> {
    let p = &c.payload;
    let code = need(c, p, "code")?;
    let cust = need(c, p, "customer_id")?;
    if !customer_exists(tx, cust)? {
        return Ok(Outcome::Dropped);
    }
    let holder: Option<String> = tx
        .prepare_cached("SELECT customer_id FROM cards WHERE code = ?1")?
        .query_row([code], |r| r.get(0))
        .optional()?;
    match holder {
        Some(h) if h == cust => {}
        Some(h) => {
            // Two tills gave the same card to two people (possible only for
            // cards issued before enrolment): the first holder keeps it and
            // the owner sees the clash.
            log_conflict(tx, c, "customer_id", Some(h), &Value::from(cust))?;
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO cards(code, customer_id, kind, issued_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                code,
                cust,
                str_of(p, "kind").unwrap_or("ean13"),
                str_of(p, "issued_at").map_or_else(|| at_of(c), str::to_string)
            ])?;
        }
    }
    Ok(Outcome::Applied)
}

fn product(tx: &Connection, c: &Change, stamp: Stamp) -> Result<Outcome> {
    let id = c.entity_id.as_str();
    if exists(tx, "SELECT 1 FROM products WHERE id = ?1", id)? {
        if c.op == "upsert" {
            write_fields(tx, c, "products", "id", &PRODUCT_FIELDS, stamp)?;
        }
        return Ok(Outcome::Applied);
    }
    let p = &c.payload;
    let unique = |col: &str| -> Result<Option<String>> {
        match str_of(p, col) {
            Some(v) if exists(tx, &format!("SELECT 1 FROM products WHERE {col} = ?1"), v)? => {
                log_conflict(tx, c, col, None, &Value::from(v))?;
                Ok(None)
            }
            other => Ok(other.map(str::to_string)),
        }
    };
    let external_ref = unique("external_ref")?;
    let barcode = unique("barcode")?;
    tx.prepare_cached(
        "INSERT INTO products(id, external_ref, barcode, name, department, category, price_cents, considered, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id,
        external_ref,
        barcode,
        str_of(p, "name").unwrap_or_default(),
        str_of(p, "department"),
        str_of(p, "category"),
        p.get("price_cents").and_then(Value::as_i64).unwrap_or(0),
        p.get("considered").and_then(Value::as_bool).unwrap_or(false),
        at_of(c)
    ])?;
    Ok(Outcome::Applied)
}

fn known(tx: &Connection, sql: &str, id: Option<&str>) -> Result<Option<String>> {
    match id {
        Some(id) if exists(tx, sql, id)? => Ok(Some(id.to_string())),
        _ => Ok(None),
    }
}

fn known_sale(tx: &Connection, id: Option<&str>) -> Result<Option<String>> {
    known(tx, "SELECT 1 FROM sales WHERE id = ?1", id)
}

fn known_customer(tx: &Connection, id: Option<&str>) -> Result<Option<String>> {
    known(tx, "SELECT 1 FROM customers WHERE id = ?1", id)
}

fn known_product(tx: &Connection, id: Option<&str>) -> Result<Option<String>> {
    known(tx, "SELECT 1 FROM products WHERE id = ?1", id)
}

fn sale_insert(tx: &Connection, c: &Change) -> Result<Outcome> {
    let p = &c.payload;
    let id = c.entity_id.as_str();
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO sales(id, customer_id, device_id, completed_at, total_cents, payment_method, refund_of)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id,
            known_customer(tx, str_of(p, "customer_id"))?,
            str_of(p, "device_id").map_or_else(|| c.device.to_string(), str::to_string),
            need(c, p, "completed_at")?,
            p.get("total_cents").and_then(Value::as_i64).unwrap_or(0),
            str_of(p, "payment_method").unwrap_or("other"),
            known_sale(tx, str_of(p, "refund_of"))?,
        ])?;
    if n == 0 {
        return Ok(Outcome::Applied);
    }
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO sale_lines(sale_id, position, product_id, description, quantity,
            unit_price_cents, discount_cents, amount_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (i, l) in p
        .get("lines")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        st.execute(params![
            id,
            l.get("position")
                .and_then(Value::as_i64)
                .unwrap_or(i as i64 + 1),
            known_product(tx, str_of(l, "product_id"))?,
            str_of(l, "description").unwrap_or_default(),
            l.get("quantity").and_then(Value::as_f64).unwrap_or(1.0),
            l.get("unit_price_cents")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            l.get("discount_cents").and_then(Value::as_i64).unwrap_or(0),
            l.get("amount_cents").and_then(Value::as_i64).unwrap_or(0),
        ])?;
    }
    Ok(Outcome::Applied)
}

/// An imported sale: compact lines (see `import::engine::LineImport`).
fn sale_import(tx: &Connection, c: &Change) -> Result<Outcome> {
    let p = &c.payload;
    let id = c.entity_id.as_str();
    if c.op == "import" {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO sales(id, external_ref, customer_id, device_id, completed_at, total_cents, payment_method)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id,
            str_of(p, "external_ref"),
            known_customer(tx, str_of(p, "customer_id"))?,
            str_of(p, "device_id").map_or_else(|| c.device.to_string(), str::to_string),
            need(c, p, "completed_at")?,
            p.get("total_cents").and_then(Value::as_i64).unwrap_or(0),
            str_of(p, "payment_method").unwrap_or("other"),
        ])?;
    } else {
        if !exists(tx, "SELECT 1 FROM sales WHERE id = ?1", id)? {
            return Ok(Outcome::Dropped);
        }
        tx.execute(
            "UPDATE sales SET total_cents = ?2 WHERE id = ?1",
            params![
                id,
                p.get("total_cents").and_then(Value::as_i64).unwrap_or(0)
            ],
        )?;
    }
    let first = p.get("first_position").and_then(Value::as_i64).unwrap_or(1);
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO sale_lines(sale_id, position, product_id, description, quantity,
            unit_price_cents, discount_cents, amount_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut name = tx.prepare_cached("SELECT name FROM products WHERE id = ?1")?;
    for (i, l) in p
        .get("lines")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let product = known_product(tx, str_of(l, "p"))?;
        let description = match (str_of(l, "d"), &product) {
            (Some(d), _) => d.to_string(),
            (None, Some(pid)) => name
                .query_row([pid], |r| r.get::<_, String>(0))
                .optional()?
                .unwrap_or_default(),
            (None, None) => String::new(),
        };
        st.execute(params![
            id,
            first + i as i64,
            product,
            description,
            l.get("q").and_then(Value::as_f64).unwrap_or(1.0),
            l.get("u").and_then(Value::as_i64).unwrap_or(0),
            l.get("x").and_then(Value::as_i64).unwrap_or(0),
            l.get("a").and_then(Value::as_i64).unwrap_or(0),
        ])?;
    }
    Ok(Outcome::Applied)
}

fn points(tx: &Connection, c: &Change) -> Result<Outcome> {
    let p = &c.payload;
    let cust = need(c, p, "customer_id")?;
    if !customer_exists(tx, cust)? {
        return Ok(Outcome::Dropped);
    }
    tx.prepare_cached(
        "INSERT OR IGNORE INTO points_ledger(id, customer_id, sale_id, kind, points, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        c.entity_id,
        cust,
        known_sale(tx, str_of(p, "sale_id"))?,
        need(c, p, "kind")?,
        p.get("points").and_then(Value::as_i64).unwrap_or(0),
        str_of(p, "reason"),
        str_of(p, "created_at").map_or_else(|| at_of(c), str::to_string),
    ])?;
    Ok(Outcome::Applied)
}

/// An insert-only row about a customer: (id, customer_id, the listed
/// payload fields in order, created_at).
fn insert_for_customer(tx: &Connection, c: &Change, sql: &str, fields: &[&str]) -> Result<Outcome> {
    let p = &c.payload;
    let cust = need(c, p, "customer_id")?;
    if !customer_exists(tx, cust)? {
        return Ok(Outcome::Dropped);
    }
    let mut vals: Vec<rusqlite::types::Value> = vec![
        rusqlite::types::Value::Text(c.entity_id.clone()),
        rusqlite::types::Value::Text(cust.to_string()),
    ];
    for f in fields {
        vals.push(p.get(*f).map_or(rusqlite::types::Value::Null, to_sql));
    }
    vals.push(rusqlite::types::Value::Text(at_of(c)));
    tx.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(vals))?;
    Ok(Outcome::Applied)
}

/// Import batches of small rows (campaign members, coupons, redemptions).
fn bulk_rows(tx: &Connection, c: &Change) -> Result<Outcome> {
    let (sql, cols): (&str, &[&str]) = match c.entity.as_str() {
        "campaign_members" => (
            "INSERT OR IGNORE INTO campaign_members(campaign_id, customer_id) VALUES (?1, ?2)",
            &["campaign_id", "customer_id"],
        ),
        "coupons" => (
            "INSERT OR IGNORE INTO coupons(campaign_id, code, product_id) VALUES (?1, ?2, ?3)",
            &["campaign_id", "code", "product_id"],
        ),
        _ => (
            "INSERT OR IGNORE INTO coupon_redemptions(customer_id, campaign_id, code, redeemed_on)
             VALUES (?1, ?2, ?3, ?4)",
            &["customer_id", "campaign_id", "code", "redeemed_on"],
        ),
    };
    let mut st = tx.prepare_cached(sql)?;
    for row in c
        .payload
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut vals = Vec::with_capacity(cols.len());
        let mut keep = true;
        for col in cols {
            let v = str_of(row, col).map(str::to_string);
            let v = match (*col, v) {
                ("customer_id", Some(id)) => {
                    let id = follow_redirects(tx, &id)?;
                    keep &= !is_erased(tx, &id) && customer_exists(tx, &id)?;
                    Some(id)
                }
                ("campaign_id", Some(id)) => {
                    keep &= exists(tx, "SELECT 1 FROM campaigns WHERE id = ?1", &id)?;
                    Some(id)
                }
                ("product_id", Some(id)) => {
                    keep &= exists(tx, "SELECT 1 FROM products WHERE id = ?1", &id)?;
                    Some(id)
                }
                (_, v) => v,
            };
            keep &= v.is_some();
            vals.push(v);
        }
        if keep {
            st.execute(rusqlite::params_from_iter(vals))?;
        }
    }
    Ok(Outcome::Applied)
}

fn merge(tx: &Connection, c: &Change) -> Result<Outcome> {
    let m = c.entity_id.as_str();
    let s = need(c, &c.payload, "survivor_id")?;
    let merge_id: MergeId = str_of(&c.payload, "merge_id")
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let a = follow_redirects(tx, m)?;
    let b = follow_redirects(tx, s)?;
    if is_erased(tx, m) || is_erased(tx, &a) || is_erased(tx, &b) {
        // One side was erased (elsewhere, concurrently): the merge says
        // both records are that one person, so both go, on every till,
        // whichever arrived first.
        for id in [m, a.as_str(), b.as_str()] {
            erase_one(tx, id, c)?;
        }
        return Ok(Outcome::Erased);
    }
    let (keep, gone) = if a == b {
        if a == m && s != m {
            // A cycle: this till merged the survivor into the merged-away
            // one while the sender merged them the other way. Both tills
            // settle on the smaller id, bringing it back if need be.
            let keep = m.min(s).to_string();
            if keep == a || !revive(tx, &keep, &a)? {
                survivor_as_merged(tx, c, &a)?;
                return Ok(Outcome::Applied);
            }
            (keep, a)
        } else {
            survivor_as_merged(tx, c, &a)?;
            return Ok(Outcome::Applied);
        }
    } else if a == m {
        (b, a)
    } else {
        // The merged-away record was already merged into another one here
        // (two tills merged it into different survivors): the two
        // survivors are one person; the smaller id keeps, on every till.
        let keep = a.as_str().min(b.as_str()).to_string();
        let gone = if keep == a { b } else { a };
        (keep, gone)
    };
    if customer_exists(tx, &gone)? && customer_exists(tx, &keep)? {
        merge_lww(tx, &keep, &gone, merge_id, c)?;
    } else {
        // Nothing of one side here yet: remember where it went, so its
        // changes arriving later land on the survivor.
        tx.execute(
            "INSERT OR IGNORE INTO customer_merges(id, survivor_id, merged_id, merged_at, journal)
             VALUES (?1, ?2, ?3, ?4, 'null')",
            params![merge_id, keep, gone, at_of(c)],
        )?;
        tx.execute(
            "INSERT INTO customer_redirects(merged_id, survivor_id, merge_id, created_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(merged_id) DO UPDATE SET survivor_id = excluded.survivor_id,
                merge_id = excluded.merge_id",
            params![gone, keep, merge_id, at_of(c)],
        )?;
    }
    if customer_exists(tx, &keep)? {
        survivor_as_merged(tx, c, &keep)?;
    }
    Ok(Outcome::Applied)
}

/// Merges `gone` into `keep` and then lets each field hold its latest
/// stamped write from either record, so the result does not depend on which
/// record the merge happened to keep.
fn merge_lww(tx: &Connection, keep: &str, gone: &str, merge_id: MergeId, c: &Change) -> Result<()> {
    let fold = |id: &str| -> Result<Vec<(String, Stamp)>> {
        let mut st = tx.prepare_cached(
            "SELECT field, hlc, device FROM field_stamps WHERE entity = 'customer' AND entity_id = ?1",
        )?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(f, h, d)| Some((f, Stamp::new(h.parse().ok()?, d.parse().ok()?))))
            .collect())
    };
    let gone_stamps = fold(gone)?;
    let gone_row = customer_fields(tx, gone)?;
    let keep_stamps = fold(keep)?;
    let keep_row = customer_fields(tx, keep)?;
    merge_in_tx(
        tx,
        keep.parse()?,
        gone.parse()?,
        merge_id,
        &at_of(c),
        None,
        false,
    )?;
    // The merge filled empty fields and appended phones without looking at
    // stamps: put back the survivor's own stamped values first, then let
    // the merged-away record's stamped values compete.
    for (field, _) in &keep_stamps {
        if let Some(value) = keep_row.get(field) {
            set_field(tx, keep, field, value)?;
        }
    }
    for (field, stamp) in gone_stamps {
        let Some(value) = gone_row.get(&field) else {
            continue;
        };
        let write = Change {
            entity: "customer".into(),
            entity_id: keep.to_string(),
            op: "update".into(),
            payload: serde_json::json!({ "fields": { field.clone(): value } }),
            hlc: stamp.hlc,
            device: stamp.device,
            ..c.clone()
        };
        write_fields(tx, &write, "customers", "id", &CUSTOMER_FIELDS, stamp)?;
    }
    Ok(())
}

fn set_field(tx: &Connection, customer: &str, field: &str, value: &Value) -> Result<()> {
    if field == "phones" {
        return set_phones(tx, customer, value);
    }
    if CUSTOMER_FIELDS.contains(&field) {
        tx.execute(
            &format!("UPDATE customers SET {field} = ?2 WHERE id = ?1"),
            params![customer, to_sql(value)],
        )?;
    }
    Ok(())
}

/// A customer's synced fields as JSON (phones as a list).
pub(crate) fn customer_fields(tx: &Connection, id: &str) -> Result<serde_json::Map<String, Value>> {
    // The synced fields but the phone list, which has its own table.
    let cols: Vec<&str> = CUSTOMER_FIELDS
        .iter()
        .copied()
        .filter(|f| *f != "phones")
        .collect();
    let mut m = serde_json::Map::new();
    let row = tx
        .prepare_cached(&format!(
            "SELECT {} FROM customers WHERE id = ?1",
            cols.join(", ")
        ))?
        .query_row([id], |r| {
            (0..cols.len())
                .map(|i| r.get::<_, rusqlite::types::Value>(i))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
    for (n, v) in cols.iter().zip(row) {
        let j = match v {
            rusqlite::types::Value::Integer(i) if *n == "marketing_consent" => Value::from(i != 0),
            rusqlite::types::Value::Integer(i) => Value::from(i),
            rusqlite::types::Value::Text(t) => Value::from(t),
            _ => Value::Null,
        };
        m.insert((*n).to_string(), j);
    }
    let phones: Vec<String> = tx
        .prepare_cached(
            "SELECT phone FROM customer_phones WHERE customer_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    m.insert("phones".into(), Value::from(phones));
    Ok(m)
}

/// Brings back `id`, merged into `into` on this till, from its merge
/// journal, so a concurrent opposite merge can keep it instead. False when
/// there is nothing to bring it back from.
fn revive(tx: &Connection, id: &str, into: &str) -> Result<bool> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT id, journal FROM customer_merges
             WHERE merged_id = ?1 AND survivor_id = ?2 AND undone_at IS NULL
             ORDER BY merged_at DESC LIMIT 1",
            params![id, into],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((merge_id, journal)) = row else {
        return Ok(false);
    };
    let Some(merged) = serde_json::from_str::<Value>(&journal)
        .ok()
        .and_then(|j| j.get("merged").and_then(Value::as_object).cloned())
    else {
        return Ok(false);
    };
    crate::store::manage::insert_row(tx, "customers", &merged, false)?;
    tx.execute("DELETE FROM customer_redirects WHERE merged_id = ?1", [id])?;
    tx.execute(
        "UPDATE customer_merges SET undone_at = ?2 WHERE id = ?1",
        params![merge_id, crate::store::now_iso()],
    )?;
    Ok(true)
}

/// Writes the survivor's fields as the merging till left them, stamped with
/// the merge (last-writer-wins against edits made before or after it).
fn survivor_as_merged(tx: &Connection, c: &Change, survivor: &str) -> Result<()> {
    let Some(fields) = c.payload.get("survivor") else {
        return Ok(());
    };
    let write = Change {
        entity: "customer".into(),
        entity_id: survivor.to_string(),
        op: "update".into(),
        payload: serde_json::json!({ "fields": fields }),
        ..c.clone()
    };
    write_fields(tx, &write, "customers", "id", &CUSTOMER_FIELDS, c.stamp())
}

fn unmerge(tx: &Connection, c: &Change) -> Result<Outcome> {
    let Some(merge_id) = str_of(&c.payload, "merge_id").and_then(|s| s.parse::<MergeId>().ok())
    else {
        return Ok(Outcome::Dropped);
    };
    let journal: Option<String> = tx
        .query_row(
            "SELECT journal FROM customer_merges WHERE id = ?1 AND undone_at IS NULL",
            [merge_id],
            |r| r.get(0),
        )
        .optional()?;
    match journal.as_deref() {
        None => Ok(Outcome::Dropped),
        Some("null") => {
            tx.execute(
                "DELETE FROM customer_redirects WHERE merge_id = ?1",
                [merge_id],
            )?;
            tx.execute(
                "UPDATE customer_merges SET undone_at = ?2 WHERE id = ?1",
                params![merge_id, at_of(c)],
            )?;
            Ok(Outcome::Applied)
        }
        Some(_) => match undo_merge_in_tx(tx, merge_id, &at_of(c), None, false) {
            Ok(_) => Ok(Outcome::Applied),
            // This till's copy moved on since the merge (an edit after it):
            // the merge stays here; the owner sees it in the conflict log.
            Err(Error::Refused { .. }) => {
                log_conflict(tx, c, "merge", Some("kept".into()), &Value::from("undo"))?;
                Ok(Outcome::Dropped)
            }
            Err(e) => Err(e),
        },
    }
}

fn erase(tx: &Connection, c: &Change) -> Result<Outcome> {
    for id in rules::erased_ids(c) {
        erase_one(tx, id, c)?;
    }
    Ok(Outcome::Erased)
}

/// Tombstones `id` and where it lives now (merges followed), and erases
/// whichever of them this till holds.
fn erase_one(tx: &Connection, id: &str, c: &Change) -> Result<()> {
    let now = follow_redirects(tx, id)?;
    for key in [id, now.as_str()] {
        tx.execute(
            "INSERT OR IGNORE INTO erased_customers(customer_id, erased_at) VALUES (?1, ?2)",
            params![key, at_of(c)],
        )?;
        if customer_exists(tx, key)? {
            let cid: CustomerId = key.parse()?;
            crate::store::erase::erase_rows(tx, cid, key, None, false)?;
        }
    }
    Ok(())
}
