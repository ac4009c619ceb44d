//! The merge rules, as pure functions both the till and the server use.
//!
//! Every change has a [`Kind`] (entity + op) and each kind a [`Class`] that
//! says how it merges with what is already there:
//!
//! - [`Class::Insert`]: notes, sales, sale lines, points entries, feedback:
//!   written once under their own id and never changed, so applying one twice
//!   is a no-op and two tills inserting concurrently simply both land. A
//!   balance is the sum of its ledger, so it stays exact.
//! - [`Class::Fields`]: editable records (customer fields, household names,
//!   products, campaigns, staff): last writer wins *per field* by
//!   [`Stamp`] (clock, then device); the losing value goes to the conflict
//!   log, not to oblivion.
//! - [`Class::Redirect`] / [`Class::Unredirect`]: a customer merge records
//!   "merged-away id -> survivor"; every later change about the merged-away
//!   id lands on the survivor ([`Redirects::resolve`]).
//! - [`Class::Tombstone`]: an erasure always wins: it removes the person's
//!   data everywhere, and any change about them that arrives later is
//!   dropped ([`Verdict::Drop`]).
//!
//! What a change *does* to a table is the store's business (regulars-core);
//! which changes win is decided here.

use std::collections::HashMap;

use crate::hlc::Stamp;
use crate::protocol::{Change, MAX_PAYLOAD_BYTES, SCHEMA_VERSION};
use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Insert,
    Fields,
    Redirect,
    Unredirect,
    Tombstone,
}

/// Every change kind a till can send, with its class. A kind not listed is
/// rejected, so a newer till cannot slip data past an older server unseen.
pub const KINDS: &[(&str, &str, Class)] = &[
    ("customer", "insert", Class::Fields),
    ("customer", "update", Class::Fields),
    ("customer", "merge", Class::Redirect),
    ("customer", "unmerge", Class::Unredirect),
    ("customer", "erase", Class::Tombstone),
    ("customer_attributes", "import", Class::Fields),
    ("household", "insert", Class::Fields),
    ("household", "update", Class::Fields),
    ("card", "insert", Class::Insert),
    ("card", "retire", Class::Fields),
    ("note", "insert", Class::Insert),
    ("note", "update", Class::Fields),
    ("note", "retire", Class::Fields),
    ("product", "upsert", Class::Fields),
    ("product", "import", Class::Fields),
    ("sale", "insert", Class::Insert),
    ("sale", "import", Class::Insert),
    ("sale", "import_lines", Class::Insert),
    ("sale", "attach_customer", Class::Fields),
    ("points", "insert", Class::Insert),
    ("prompt_feedback", "insert", Class::Insert),
    ("offer_event", "insert", Class::Insert),
    ("offer_event", "update", Class::Fields),
    ("offer_campaign", "upsert", Class::Fields),
    ("contact_outcome", "insert", Class::Insert),
    ("staff", "insert", Class::Fields),
    ("staff", "set_pin", Class::Fields),
    ("campaign", "import", Class::Insert),
    ("campaign_members", "import", Class::Insert),
    ("coupons", "import", Class::Insert),
    ("coupon_redemptions", "import", Class::Insert),
];

/// The class of a kind, or `None` when this build does not know it.
pub fn class_of(entity: &str, op: &str) -> Option<Class> {
    KINDS
        .iter()
        .find(|(e, o, _)| *e == entity && *o == op)
        .map(|(_, _, c)| *c)
}

/// Checks a change's envelope before anything stores it: a known kind, a
/// schema this build reads, a bounded payload, ids that are ids. Returns
/// its class.
pub fn validate(c: &Change) -> Result<Class, Error> {
    if c.schema > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            got: c.schema,
            max: SCHEMA_VERSION,
        });
    }
    let class = class_of(&c.entity, &c.op).ok_or_else(|| Error::UnknownKind {
        entity: clip(&c.entity),
        op: clip(&c.op),
    })?;
    if c.entity_id.is_empty() || c.entity_id.len() > 64 || c.entity_id.chars().any(char::is_control)
    {
        return Err(Error::BadId {
            what: "entity id",
            value: clip(&c.entity_id),
        });
    }
    let size = c.payload.to_string().len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(Error::TooLarge {
            size,
            max: MAX_PAYLOAD_BYTES,
        });
    }
    if !c.payload.is_object() {
        return Err(bad_payload(c, "not a JSON object"));
    }
    match class {
        Class::Redirect | Class::Unredirect => {
            parse_uuid(&c.entity_id, "merged customer id")?;
            let s = c
                .payload
                .get("survivor_id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| bad_payload(c, "survivor_id missing"))?;
            parse_uuid(s, "survivor id")?;
        }
        Class::Tombstone => {
            parse_uuid(&c.entity_id, "erased customer id")?;
        }
        _ => {}
    }
    if let Some(s) = c.payload.get("customer_id").and_then(|v| v.as_str()) {
        parse_uuid(s, "customer id")?;
    }
    Ok(class)
}

/// The customer a change is about, if any: erasure and merges follow it.
/// Every change that carries a person's data names them: the customer's
/// own changes by their id, the rest by a `customer_id` field.
pub fn subject(c: &Change) -> Option<&str> {
    match c.entity.as_str() {
        "customer" | "customer_attributes" => Some(c.entity_id.as_str()),
        _ => c.payload.get("customer_id").and_then(|v| v.as_str()),
    }
}

/// For an erasure, every customer id it erases: the person, and the records
/// merged into them on the erasing till (whose own changes never left it).
pub fn erased_ids(c: &Change) -> Vec<&str> {
    if class_of(&c.entity, &c.op) != Some(Class::Tombstone) {
        return Vec::new();
    }
    let mut ids = vec![c.entity_id.as_str()];
    if let Some(more) = c.payload.get("merged_ids").and_then(|v| v.as_array()) {
        ids.extend(more.iter().filter_map(|v| v.as_str()));
    }
    ids
}

/// For a redirect change, (merged-away id, survivor id).
pub fn redirect_of(c: &Change) -> Option<(&str, &str)> {
    match class_of(&c.entity, &c.op)? {
        Class::Redirect | Class::Unredirect => Some((
            c.entity_id.as_str(),
            c.payload.get("survivor_id")?.as_str()?,
        )),
        _ => None,
    }
}

/// Last writer wins: does a write stamped `incoming` replace a field last
/// written at `current`? Equal stamps are the same write seen twice.
pub fn lww_wins(current: Option<Stamp>, incoming: Stamp) -> bool {
    match current {
        None => true,
        Some(cur) => incoming > cur,
    }
}

/// What to do with an incoming change given the erasures known so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    /// About a customer who was erased: keep nothing of it.
    Drop,
}

pub fn verdict(c: &Change, erased: impl Fn(&str) -> bool) -> Verdict {
    if class_of(&c.entity, &c.op) == Some(Class::Tombstone) {
        return Verdict::Apply;
    }
    match subject(c) {
        Some(s) if erased(s) => Verdict::Drop,
        _ => Verdict::Apply,
    }
}

/// Merged-away customer id -> survivor id, followed to the end of a chain
/// (A merged into B, then B into C: A resolves to C).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redirects {
    map: HashMap<String, String>,
}

impl Redirects {
    pub fn insert(&mut self, merged: &str, survivor: &str) {
        if merged != survivor {
            self.map.insert(merged.to_string(), survivor.to_string());
        }
    }

    pub fn remove(&mut self, merged: &str) {
        self.map.remove(merged);
    }

    /// The customer `id` now lives as. A cycle (possible only with
    /// concurrent merges in opposite directions) resolves to the smallest id
    /// on it, the same answer on every till.
    pub fn resolve<'a>(&'a self, id: &'a str) -> &'a str {
        let mut cur = id;
        let mut seen: Vec<&str> = Vec::new();
        while let Some(next) = self.map.get(cur) {
            if seen.contains(&next.as_str()) || next == id {
                seen.push(cur);
                return seen.into_iter().min().unwrap_or(cur);
            }
            seen.push(cur);
            cur = next;
        }
        cur
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn parse_uuid(s: &str, what: &'static str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(s).map_err(|_| Error::BadId {
        what,
        value: clip(s),
    })
}

fn bad_payload(c: &Change, detail: &str) -> Error {
    Error::BadPayload {
        entity: clip(&c.entity),
        op: clip(&c.op),
        detail: detail.to_string(),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use serde_json::json;
    use uuid::Uuid;

    fn change(entity: &str, op: &str, entity_id: &str, payload: serde_json::Value) -> Change {
        Change {
            id: Uuid::now_v7(),
            device: Uuid::now_v7(),
            hlc: Hlc::new(1, 0),
            schema: SCHEMA_VERSION,
            entity: entity.into(),
            entity_id: entity_id.into(),
            op: op.into(),
            payload,
        }
    }

    #[test]
    fn validation_table() {
        let cust = Uuid::now_v7().to_string();
        let cases: Vec<(Change, bool)> = vec![
            (
                change("note", "insert", "n1", json!({"customer_id": cust})),
                true,
            ),
            (change("note", "explode", "n1", json!({})), false),
            (change("note", "insert", "", json!({})), false),
            (change("note", "insert", "n1", json!([1, 2])), false),
            (
                change("note", "insert", "n1", json!({"customer_id": "bob"})),
                false,
            ),
            (
                change("customer", "merge", &cust, json!({"survivor_id": cust})),
                true,
            ),
            (change("customer", "merge", &cust, json!({})), false),
            (change("customer", "erase", "x", json!({})), false),
            (
                change(
                    "note",
                    "insert",
                    "n1",
                    json!({"body": "x".repeat(MAX_PAYLOAD_BYTES)}),
                ),
                false,
            ),
        ];
        for (c, ok) in cases {
            assert_eq!(
                validate(&c).is_ok(),
                ok,
                "{}/{} {}",
                c.entity,
                c.op,
                c.entity_id
            );
        }
        let mut newer = change("note", "insert", "n1", json!({}));
        newer.schema = SCHEMA_VERSION + 1;
        assert!(matches!(validate(&newer), Err(Error::SchemaTooNew { .. })));
    }

    #[test]
    fn erasure_drops_later_changes_about_the_person_but_not_the_erasure() {
        let gone = Uuid::now_v7().to_string();
        let erased = |s: &str| s == gone;
        let note = change("note", "insert", "n", json!({"customer_id": gone}));
        let other = change(
            "note",
            "insert",
            "n",
            json!({"customer_id": Uuid::now_v7().to_string()}),
        );
        let erase = change("customer", "erase", &gone, json!({}));
        let edit = change("customer", "update", &gone, json!({"fields": {}}));
        assert_eq!(verdict(&note, erased), Verdict::Drop);
        assert_eq!(verdict(&edit, erased), Verdict::Drop);
        assert_eq!(verdict(&other, erased), Verdict::Apply);
        assert_eq!(verdict(&erase, erased), Verdict::Apply);
    }

    #[test]
    fn lww_prefers_later_clock_then_device() {
        let d1 = Uuid::from_u128(1);
        let d2 = Uuid::from_u128(2);
        let early = Stamp::new(Hlc::new(10, 0), d2);
        let late = Stamp::new(Hlc::new(10, 1), d1);
        assert!(lww_wins(None, early));
        assert!(lww_wins(Some(early), late));
        assert!(!lww_wins(Some(late), early));
        assert!(
            !lww_wins(Some(late), late),
            "the same write twice changes nothing"
        );
        let tie_a = Stamp::new(Hlc::new(10, 1), d2);
        assert!(
            lww_wins(Some(late), tie_a),
            "same clock: the larger device id wins"
        );
    }

    #[test]
    fn redirects_follow_chains_and_survive_cycles() {
        let mut r = Redirects::default();
        r.insert("a", "b");
        r.insert("b", "c");
        assert_eq!(r.resolve("a"), "c");
        assert_eq!(r.resolve("c"), "c");
        r.insert("c", "a");
        // a -> b -> c -> a: every member resolves to the smallest, "a".
        assert_eq!(r.resolve("a"), "a");
        assert_eq!(r.resolve("b"), "a");
        assert_eq!(r.resolve("c"), "a");
        r.remove("c");
        assert_eq!(r.resolve("a"), "c");
    }
}
