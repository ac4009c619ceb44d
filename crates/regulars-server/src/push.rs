//! What a pushed batch does to the change log, written once for both
//! backends: each backend hands `apply_batch` its open transaction through
//! the small `LogTx` trait (a handful of indexed look-ups and writes), so
//! SQLite and PostgreSQL cannot drift apart on the rules.
//!
//! Per change, in order: a change whose `device` is not the authenticated
//! device is rejected ("forged device"); an id already stored is a
//! duplicate (nothing changes); an envelope `rules::validate` refuses is
//! rejected with its message; anything else is stored and gets the next
//! cursor. Erasure is enforced here too: a `customer/erase` scrubs every
//! stored change about that customer and about every customer merged into
//! them ([`redact`]), and a later change about an erased customer is stored
//! already scrubbed (and answered `applied`, so the till moves on).
//!
//! Owning the transaction, its commit, and the serialisation that makes the
//! cursor follow commit order is the backend's job, not this module's.

use std::collections::HashSet;

use regulars_sync::protocol::{Change, ChangeResult, ChangeStatus};
use regulars_sync::rules::{self, Class};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A stored change as the scrubber needs it.
pub(crate) struct StoredRow {
    pub seq: i64,
    pub entity: String,
    pub op: String,
    pub payload: String,
}

/// The look-ups and writes the batch rules need, inside one open
/// transaction of a backend.
pub(crate) trait LogTx {
    /// Called once per batch before anything else: a backend whose look-ups
    /// are round trips may read what the batch will ask about in a few
    /// queries (it must then keep its answers current as the batch writes).
    fn prefetch(&mut self, _changes: &[Change]) -> Result<()> {
        Ok(())
    }
    fn has_change(&mut self, id: Uuid) -> Result<bool>;
    /// Stores a change (with `payload` in place of its own, serialised) and
    /// returns its cursor.
    fn insert_change(
        &mut self,
        c: &Change,
        payload: &str,
        subject: Option<&str>,
        now: &str,
    ) -> Result<i64>;
    fn is_erased(&mut self, customer: &str) -> Result<bool>;
    fn mark_erased(&mut self, customer: &str, now: &str) -> Result<()>;
    fn survivor_of(&mut self, merged: &str) -> Result<Option<String>>;
    fn set_redirect(&mut self, merged: &str, survivor: &str) -> Result<()>;
    fn remove_redirect(&mut self, merged: &str) -> Result<()>;
    /// Customers merged directly into `survivor`.
    fn merged_into(&mut self, survivor: &str) -> Result<Vec<String>>;
    /// Every stored change whose subject is `customer`.
    fn changes_about(&mut self, customer: &str) -> Result<Vec<StoredRow>>;
    fn set_payload(&mut self, seq: i64, payload: &str) -> Result<()>;
}

/// Applies one pushed batch inside `tx` and answers per change, in order.
pub(crate) fn apply_batch(
    tx: &mut impl LogTx,
    device: Uuid,
    changes: &[Change],
    now: &str,
) -> Result<Vec<ChangeResult>> {
    tx.prefetch(changes)?;
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        let result = |status, reason: Option<String>| ChangeResult {
            id: c.id,
            status,
            reason,
        };
        if c.device != device {
            out.push(result(
                ChangeStatus::Rejected,
                Some("forged device: a till may only push its own changes".into()),
            ));
            continue;
        }
        if tx.has_change(c.id)? {
            out.push(result(ChangeStatus::Duplicate, None));
            continue;
        }
        let class = match rules::validate(c) {
            Ok(class) => class,
            Err(e) => {
                out.push(result(ChangeStatus::Rejected, Some(e.to_string())));
                continue;
            }
        };
        let subject = rules::subject(c);
        let about_erased = match (class, subject) {
            (Class::Tombstone, _) | (_, None) => false,
            (_, Some(s)) => chain_erased(tx, s)?,
        };
        let payload = if about_erased {
            redact(&c.entity, &c.op, &c.payload)
        } else {
            c.payload.clone()
        };
        let text = serde_json::to_string(&payload).map_err(Error::corrupt)?;
        tx.insert_change(c, &text, subject, now)?;
        match class {
            Class::Tombstone => {
                // The person and the records merged into them on the
                // erasing till (their own changes never left it).
                for id in rules::erased_ids(c) {
                    tx.mark_erased(id, now)?;
                    scrub(tx, id)?;
                }
            }
            Class::Redirect => {
                if let Some((merged, survivor)) = rules::redirect_of(c) {
                    if merged != survivor {
                        tx.set_redirect(merged, survivor)?;
                        // Merged into someone already erased: the merged-away
                        // record is the same person, so it goes too.
                        if chain_erased(tx, survivor)? {
                            scrub(tx, merged)?;
                        }
                    }
                }
            }
            Class::Unredirect => {
                if let Some((merged, _)) = rules::redirect_of(c) {
                    tx.remove_redirect(merged)?;
                }
            }
            Class::Insert | Class::Fields => {}
        }
        out.push(result(ChangeStatus::Applied, None));
    }
    Ok(out)
}

/// Is `customer`, or anyone they were merged into (following the chain),
/// erased? A cycle of merges stops the walk.
fn chain_erased(tx: &mut impl LogTx, customer: &str) -> Result<bool> {
    let mut seen = HashSet::new();
    let mut cur = customer.to_string();
    loop {
        if tx.is_erased(&cur)? {
            return Ok(true);
        }
        if !seen.insert(cur.clone()) {
            return Ok(false);
        }
        match tx.survivor_of(&cur)? {
            Some(next) => cur = next,
            None => return Ok(false),
        }
    }
}

/// Redacts every stored change about `root` and about every customer merged
/// into `root` (directly or through a chain).
fn scrub(tx: &mut impl LogTx, root: &str) -> Result<()> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut todo = vec![root.to_string()];
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        for row in tx.changes_about(&id)? {
            let old: Value = serde_json::from_str(&row.payload).map_err(Error::corrupt)?;
            let new = redact(&row.entity, &row.op, &old);
            if new != old {
                let text = serde_json::to_string(&new).map_err(Error::corrupt)?;
                tx.set_payload(row.seq, &text)?;
            }
        }
        todo.extend(tx.merged_into(&id)?);
    }
    Ok(())
}

/// What is left of a change about an erased customer. Pure.
///
/// - the erasure itself is kept whole: it is what tells every till to erase;
/// - a sale keeps its lines and totals (the shop's books must still add up)
///   with `customer_id` (and the printed `customer_name`) nulled;
/// - a merge or unmerge keeps only `survivor_id`, so tills can still follow
///   the redirect (ids are not personal data; names, notes and contacts are);
/// - everything else becomes `{"redacted": true}`.
pub fn redact(entity: &str, op: &str, payload: &Value) -> Value {
    match rules::class_of(entity, op) {
        Some(Class::Tombstone) => payload.clone(),
        Some(Class::Redirect | Class::Unredirect) => match payload.get("survivor_id") {
            Some(s) => json!({"redacted": true, "survivor_id": s}),
            None => json!({"redacted": true}),
        },
        _ if entity == "sale" && payload.is_object() => {
            let mut p = payload.clone();
            if let Some(map) = p.as_object_mut() {
                map.insert("customer_id".into(), Value::Null);
                if map.contains_key("customer_name") {
                    map.insert("customer_name".into(), Value::Null);
                }
            }
            p
        }
        _ => json!({"redacted": true}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_table() {
        let c = "0190a8f0-0000-7000-8000-000000000001";
        let cases = [
            (
                "note",
                "insert",
                json!({"customer_id": c, "body": "likes dogs"}),
                json!({"redacted": true}),
            ),
            (
                "customer",
                "update",
                json!({"fields": {"phone": "0400"}}),
                json!({"redacted": true}),
            ),
            (
                "sale",
                "insert",
                json!({"customer_id": c, "customer_name": "Ann", "total_cents": 1250, "lines": [1, 2]}),
                json!({"customer_id": null, "customer_name": null, "total_cents": 1250, "lines": [1, 2]}),
            ),
            (
                "sale",
                "attach_customer",
                json!({"customer_id": c}),
                json!({"customer_id": null}),
            ),
            (
                "customer",
                "merge",
                json!({"survivor_id": c, "reason": "same phone"}),
                json!({"redacted": true, "survivor_id": c}),
            ),
            (
                "customer",
                "erase",
                json!({"at": "2026-01-01"}),
                json!({"at": "2026-01-01"}),
            ),
        ];
        for (entity, op, before, after) in cases {
            assert_eq!(redact(entity, op, &before), after, "{entity}/{op}");
            // Idempotent: scrubbing twice changes nothing more.
            assert_eq!(redact(entity, op, &after), after, "{entity}/{op} twice");
        }
    }
}
