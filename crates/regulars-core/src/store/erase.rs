//! Per-customer data export and erasure (a person's request to see, or to
//! remove, everything the shop holds about them).
//!
//! Owns: finding every place a customer is stored — discovered from the
//! schema (every foreign key that points at `customers`), so a table added
//! by a later migration is exported and erased without changing this file —
//! plus the outbox rows that mention them; the JSON export; the erasure
//! transaction; making the bytes really go away (`secure_delete` during the
//! erasure, then a WAL checkpoint that truncates the log).
//! Does not own: who may do it (the facade checks the owner's session), the
//! in-memory search index and suggestion engine (the facade updates them).
//!
//! Cost: the VACUUM rewrites the whole file, so an erasure takes time in
//! proportion to the store's size (see docs/benchmarks.md); it is a rare,
//! owner-only action.
//!
//! Sales are the shop's books: an erased person's sales stay, with the link
//! to the person removed, so totals do not change. Old backups still hold the
//! person until rotation drops them.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use super::audit::audit;
use super::{now_iso, record_change, Store};
use crate::ids::{CustomerId, StaffId};
use crate::model::ErasureReport;
use crate::{Error, Result};

/// (table, column) pairs that hold a customer's id: every column with a
/// foreign key to `customers`, and every column named `customer_id` even
/// without one (a later migration may forget the REFERENCES clause).
pub(crate) fn customer_references(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT m.name, f.\"from\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
         WHERE m.type = 'table' AND f.\"table\" = 'customers'
         UNION
         SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND p.name = 'customer_id' AND m.name NOT LIKE 'sqlite_%'
         ORDER BY 1, 2",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

/// Every row of `sql` (one parameter) as JSON objects keyed by column name.
fn rows_json(conn: &Connection, sql: &str, param: &str) -> Result<Vec<Value>> {
    let mut st = conn.prepare(sql)?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = st.query([param])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        for (i, n) in names.iter().enumerate() {
            obj.insert(n.clone(), value(r.get_ref(i)?));
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

impl Store {
    /// Everything held about `id`, as a JSON document: the customer row, the
    /// household, every row of every table that references the customer
    /// (phones, cards, notes, attributes, campaigns, coupons, points, prompt
    /// feedback, offer events, ...) and their sales with lines.
    pub fn export_customer(&self, id: CustomerId) -> Result<Value> {
        let conn = self.conn();
        let key = id.to_string();
        let customer = rows_json(conn, "SELECT * FROM customers WHERE id = ?1", &key)?
            .pop()
            .ok_or_else(|| Error::NotFound {
                what: "customer",
                key: key.clone(),
            })?;
        let household = rows_json(
            conn,
            "SELECT h.* FROM households h JOIN customers c ON c.household_id = h.id
             WHERE c.id = ?1",
            &key,
        )?
        .pop()
        .unwrap_or(Value::Null);
        let mut tables = Map::new();
        let mut sales = Vec::new();
        for (table, col) in customer_references(conn)? {
            let sql = format!(
                "SELECT * FROM {} WHERE {} = ?1 ORDER BY rowid",
                quote(&table),
                quote(&col)
            );
            // WITHOUT ROWID tables have no rowid to order by.
            let rows = rows_json(conn, &sql, &key).or_else(|_| {
                rows_json(
                    conn,
                    &format!("SELECT * FROM {} WHERE {} = ?1", quote(&table), quote(&col)),
                    &key,
                )
            })?;
            if table == "sales" {
                for mut s in rows {
                    let sid = s["id"].as_str().unwrap_or_default().to_string();
                    s["lines"] = Value::Array(rows_json(
                        conn,
                        "SELECT * FROM sale_lines WHERE sale_id = ?1 ORDER BY position",
                        &sid,
                    )?);
                    sales.push(s);
                }
            } else {
                let name = if col == "customer_id" {
                    table
                } else {
                    format!("{table}.{col}")
                };
                tables.insert(name, Value::Array(rows));
            }
        }
        Ok(json!({
            "format": "regulars-customer-export/1",
            "exported_at": now_iso(),
            "customer": customer,
            "household": household,
            "sales": sales,
            "related": tables,
        }))
    }

    /// Erases `id` everywhere it is stored, in one transaction, then makes
    /// the removed bytes unrecoverable from the store file. `by` is recorded
    /// in the audit log with counts only.
    pub fn erase_customer(&mut self, id: CustomerId, by: Option<StaffId>) -> Result<ErasureReport> {
        let key = id.to_string();
        // Freed pages and cells are overwritten with zeros, so deleted names
        // do not linger in free space of the file.
        self.conn.pragma_update(None, "secure_delete", "ON")?;
        let result = self.erase_in_tx(id, &key, by);
        let reset = self.conn.pragma_update(None, "secure_delete", "OFF");
        let report = result?;
        reset?;
        if self.path().as_os_str() != ":memory:" {
            // secure_delete zeroes what this transaction freed, but copies
            // of the person can survive from before: a page that was a leaf
            // and became an interior page when its table grew keeps old
            // cells in its unused space. VACUUM rewrites every page. Its
            // scratch copy goes to a temporary file rather than memory (a
            // large store would not fit); that copy is made after the
            // erasure committed, so it never holds the person.
            self.conn.pragma_update(None, "temp_store", "DEFAULT")?;
            let vacuum = self.conn.execute_batch("VACUUM");
            self.conn.pragma_update(None, "temp_store", "MEMORY")?;
            vacuum?;
            // The old pages live on in the WAL until a checkpoint; a
            // TRUNCATE checkpoint writes the new ones back and empties it.
            let busy: i64 = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(Error::Busy);
            }
        }
        Ok(report)
    }

    fn erase_in_tx(
        &mut self,
        id: CustomerId,
        key: &str,
        by: Option<StaffId>,
    ) -> Result<ErasureReport> {
        let tx = self.write()?;
        let report = erase_rows(&tx, id, key, by, true)?;
        tx.commit()?;
        Ok(report)
    }
}

/// Removes the person from queued and sent sync changes: a sale's change is
/// kept with the customer link blanked (the sale stays, anonymous); every
/// other change about them (customer, phones, cards, notes, points,
/// feedback, ...) is deleted. Returns the rows touched.
fn scrub_outbox(
    tx: &Connection,
    key: &str,
    cards: &[String],
    household: Option<&str>,
) -> Result<u64> {
    let mut hits: Vec<(i64, String, String, String)> = tx
        .prepare(
            "SELECT seq, entity, op, payload FROM outbox
             WHERE entity_id = ?1 OR instr(payload, ?1) > 0",
        )?
        .query_map([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut by_entity = tx.prepare(
        "SELECT seq, entity, op, payload FROM outbox WHERE entity = ?1 AND entity_id = ?2",
    )?;
    let mut extra = |entity: &str, eid: &str| -> Result<()> {
        let rows = by_entity
            .query_map([entity, eid], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        hits.extend(rows);
        Ok(())
    };
    for code in cards {
        extra("card", code)?;
    }
    if let Some(h) = household {
        extra("household", h)?;
    }
    hits.sort_by_key(|h| h.0);
    hits.dedup_by_key(|h| h.0);
    for (seq, entity, op, payload) in &hits {
        let keep_sale = entity == "sale" && op != "attach_customer";
        match serde_json::from_str::<Value>(payload) {
            Ok(mut v) if keep_sale => {
                if let Some(o) = v.as_object_mut() {
                    for field in ["customer_id", "customer_name"] {
                        if o.contains_key(field) {
                            o.insert(field.into(), Value::Null);
                        }
                    }
                }
                let text = serde_json::to_string(&v)
                    .map_err(|e| Error::invalid("change", e.to_string()))?;
                if text.contains(key) {
                    // The id turns up somewhere we do not understand:
                    // drop the change rather than keep the person.
                    tx.execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
                } else {
                    tx.execute(
                        "UPDATE outbox SET payload = ?2 WHERE seq = ?1",
                        params![seq, text],
                    )?;
                }
            }
            _ => {
                tx.execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
            }
        }
    }
    Ok(hits.len() as u64)
}

/// Erases the person inside `tx` (no VACUUM: the caller compacts after
/// commit). `record` is false when applying an erasure made on another till.
pub(crate) fn erase_rows(
    tx: &Connection,
    id: CustomerId,
    key: &str,
    by: Option<StaffId>,
    record: bool,
) -> Result<ErasureReport> {
    // Order of deletes across tables does not matter: references are
    // checked once, at commit.
    tx.pragma_update(None, "defer_foreign_keys", "ON")?;
    let household: Option<Option<String>> = tx
        .query_row(
            "SELECT household_id FROM customers WHERE id = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?;
    let Some(household) = household else {
        return Err(Error::NotFound {
            what: "customer",
            key: key.to_string(),
        });
    };
    let cards: Vec<String> = tx
        .prepare("SELECT code FROM cards WHERE customer_id = ?1")?
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;

    let mut report = ErasureReport {
        customer_id: id,
        ..Default::default()
    };
    for (table, col) in customer_references(tx)? {
        if table == "sales" {
            report.sales_anonymised += tx.execute(
                &format!("UPDATE sales SET {0} = NULL WHERE {0} = ?1", quote(&col)),
                [key],
            )? as u64;
        } else {
            let n = tx.execute(
                &format!("DELETE FROM {} WHERE {} = ?1", quote(&table), quote(&col)),
                [key],
            )? as u64;
            *report.deleted.entry(table).or_default() += n;
        }
    }
    // Merge journals keep a full copy of a merged-away record (for
    // undo): of this person, whichever side they were on. Redirects and
    // dismissed pairs hold only ids, but nothing is left to point at.
    // Records merged into this person earlier (and into those, ...) are
    // the same person: their journals and queued changes go too.
    let merged_ids: Vec<String> = tx
        .prepare(
            "WITH RECURSIVE m(id) AS (
                     SELECT merged_id FROM customer_merges WHERE survivor_id = ?1
                     UNION
                     SELECT c.merged_id FROM customer_merges c JOIN m ON c.survivor_id = m.id
                 ) SELECT id FROM m",
        )?
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let same_person: Vec<&str> = std::iter::once(key)
        .chain(merged_ids.iter().map(String::as_str))
        .collect();
    for (table, sql) in [
        (
            "customer_redirects",
            "DELETE FROM customer_redirects WHERE survivor_id = ?1 OR merged_id = ?1",
        ),
        (
            "customer_merges",
            "DELETE FROM customer_merges WHERE survivor_id = ?1 OR merged_id = ?1",
        ),
        (
            "duplicate_dismissals",
            "DELETE FROM duplicate_dismissals WHERE customer_a = ?1 OR customer_b = ?1",
        ),
    ] {
        for id in &same_person {
            let n = tx.execute(sql, [id])? as u64;
            if n > 0 {
                *report.deleted.entry(table.into()).or_default() += n;
            }
        }
    }
    tx.execute("DELETE FROM customers WHERE id = ?1", [key])?;
    report.deleted.insert("customers".into(), 1);
    let mut household_gone = None;
    if let Some(h) = household {
        let n = tx.execute(
            "DELETE FROM households WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM customers WHERE household_id = ?1)",
            [&h],
        )?;
        if n > 0 {
            report.deleted.insert("households".into(), 1);
            household_gone = Some(h);
        }
    }
    report.outbox_scrubbed = scrub_outbox(tx, key, &cards, household_gone.as_deref())?;
    for id in &merged_ids {
        report.outbox_scrubbed += scrub_outbox(tx, id, &[], None)?;
    }

    let now = now_iso();
    // Sync turns this into a tombstone that wins over any older copy.
    // Tombstones (ids only): changes about this person that arrive from
    // other tills later are dropped. Sync bookkeeping that could hold
    // their values (field stamps, lost values in the conflict log) goes.
    for id in &same_person {
        tx.execute(
            "INSERT OR IGNORE INTO erased_customers(customer_id, erased_at) VALUES (?1, ?2)",
            params![id, now],
        )?;
        tx.execute(
                "DELETE FROM field_stamps WHERE entity IN ('customer', 'customer_attributes') AND entity_id = ?1",
                [id],
            )?;
        tx.execute(
                "DELETE FROM sync_conflicts WHERE entity IN ('customer', 'customer_attributes') AND entity_id = ?1",
                [id],
            )?;
    }
    if record {
        record_change(
            tx,
            "customer",
            key,
            "erase",
            // Records merged into them here are the same person; their own
            // changes were scrubbed from the queue above, so the tombstone
            // names them for the other tills.
            &json!({ "id": key, "erased_at": now, "merged_ids": merged_ids }),
            &now,
        )?;
    }
    let counts: Vec<String> = report
        .deleted
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t}={n}"))
        .collect();
    audit(
        tx,
        by,
        "erase",
        Some(key),
        &format!(
            "deleted {}; sales_anonymised={}; outbox_scrubbed={}",
            counts.join(" "),
            report.sales_anonymised,
            report.outbox_scrubbed
        ),
    )?;
    Ok(report)
}
