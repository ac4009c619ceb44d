//! The owner's customer management writes: editing a customer (field-level
//! outbox changes), addresses, households, editing and retiring notes,
//! dismissed duplicate pairs, and merging two customers with an exact undo.
//!
//! Owns: the SQL of these writes and the merge's undo journal.
//! Does not own: which pairs look alike (`manage::duplicates`, pure) or the
//! search index (the `Regulars` facade re-indexes after each write).
//!
//! The merge journal is generic over rows (column name -> value, as JSON):
//! rows that carry their own id (sales, cards, notes, points entries,
//! feedback, offer events) are moved by updating `customer_id` and their
//! keys journaled; rows keyed by the customer (phones, attributes, campaign
//! membership, coupon redemptions) are copied to the survivor where the
//! survivor has none alike, and the merged customer's originals journaled.
//! Undo reverses exactly that. Tables other branches add that reference
//! customers must be listed in [`MOVED`] or [`COPIED`].

use std::collections::HashSet;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::customers::{clean_text, validate_new};
use super::{now_iso, record_change, Store};
use crate::error::clip;
use crate::ids::{CustomerId, HouseholdId, MergeId, NoteId};
use crate::manage::duplicates::DupRecord;
use crate::model::{
    Address, CustomerEdit, Household, HouseholdMember, MergeReceipt, MovedRows, NewCustomer, Note,
    NoteEdit,
};
use crate::{Error, Result};

const ADDRESS_MAX_CHARS: usize = 120;
const HOUSEHOLD_NAME_MAX_CHARS: usize = 80;

/// Tables whose rows carry their own key and a `customer_id`: a merge moves
/// them (key column, what the receipt calls them).
pub const MOVED: &[(&str, &str, &str)] = &[
    ("sales", "id", "sales"),
    ("cards", "code", "cards"),
    ("notes", "id", "notes"),
    // The ledger stays append-only in amount: entries are re-attributed to
    // the surviving identity, never changed or removed, and the undo
    // journal restores their owner.
    ("points_ledger", "id", "points entries"),
    ("prompt_feedback", "id", "prompt feedback"),
    ("offer_events", "id", "offer events"),
    ("contact_outcomes", "id", "contact outcomes"),
];

/// Tables keyed by the customer: a merge copies the merged customer's rows
/// to the survivor unless the survivor has the same key already (its own
/// value wins), and deletes the originals with the merged customer.
pub const COPIED: &[(&str, &[&str], &str)] = &[
    ("customer_phones", &["customer_id", "position"], "phones"),
    (
        "customer_attributes",
        &["customer_id", "name"],
        "attributes",
    ),
    (
        "campaign_members",
        &["campaign_id", "customer_id"],
        "campaign memberships",
    ),
    (
        "coupon_redemptions",
        &["customer_id", "campaign_id", "code", "redeemed_on"],
        "coupon redemptions",
    ),
];

/// Survivor fields a merge fills when empty, from the merged customer.
const FILLABLE: &[&str] = &[
    "given_name",
    "family_name",
    "preferred_name",
    "email",
    "birthday",
    "external_ref",
    "household_id",
    "address_line1",
    "postcode",
    "city",
];

type Row = Map<String, Value>;

fn to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
        // No table a merge touches has blobs; keep them visible if one comes.
        ValueRef::Blob(b) => Value::from(format!("blob:{}", b.len())),
    }
}

pub(crate) fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

fn select_rows(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Row>> {
    let mut st = conn.prepare_cached(sql)?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut m = Map::new();
        for (i, n) in names.iter().enumerate() {
            m.insert(n.clone(), to_json(r.get_ref(i)?));
        }
        out.push(m);
    }
    Ok(out)
}

/// Inserts `row` into `table`; with `or_ignore`, returns whether it went in.
pub(crate) fn insert_row(
    conn: &Connection,
    table: &str,
    row: &Row,
    or_ignore: bool,
) -> Result<bool> {
    let cols: Vec<&str> = row.keys().map(String::as_str).collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT {}INTO {table}({}) VALUES ({})",
        if or_ignore { "OR IGNORE " } else { "" },
        cols.join(", "),
        marks.join(", ")
    );
    let n = conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(row.values().map(to_sql)))?;
    Ok(n == 1)
}

fn delete_row(conn: &Connection, table: &str, key: &[&str], row: &Row) -> Result<()> {
    let cond: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ?{}", i + 1))
        .collect();
    let sql = format!("DELETE FROM {table} WHERE {}", cond.join(" AND "));
    conn.prepare_cached(&sql)?.execute(params_from_iter(
        key.iter()
            .map(|k| to_sql(row.get(*k).unwrap_or(&Value::Null))),
    ))?;
    Ok(())
}

fn customer_row(conn: &Connection, id: CustomerId) -> Result<Row> {
    select_rows(conn, "SELECT * FROM customers WHERE id = ?1", &[&id])?
        .pop()
        .ok_or_else(|| Error::NotFound {
            what: "customer",
            key: id.to_string(),
        })
}

/// Sets every column of the customer row `row` (matched by its id).
fn restore_customer(conn: &Connection, row: &Row) -> Result<()> {
    let cols: Vec<&str> = row
        .keys()
        .map(String::as_str)
        .filter(|c| *c != "id")
        .collect();
    let sets: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 2))
        .collect();
    let sql = format!("UPDATE customers SET {} WHERE id = ?1", sets.join(", "));
    let mut vals = vec![to_sql(&row["id"])];
    vals.extend(cols.iter().map(|c| to_sql(&row[*c])));
    conn.prepare_cached(&sql)?.execute(params_from_iter(vals))?;
    Ok(())
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Everything needed to undo one merge exactly.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    survivor_before: Row,
    survivor_after: Row,
    merged: Row,
    /// (table, keys moved from the merged customer to the survivor).
    moved: Vec<(String, Vec<Value>)>,
    /// (table, the merged customer's original rows, rows inserted for the survivor).
    copied: Vec<(String, Vec<Row>, Vec<Row>)>,
    /// Earlier merges that pointed at the merged customer and now point at
    /// the survivor.
    redirects: Vec<String>,
}

fn clean_address(a: &Address) -> Result<Address> {
    let part = |field: &'static str, s: &Option<String>| -> Result<Option<String>> {
        let Some(s) = s.as_deref().map(|s| clean_text(s, false)) else {
            return Ok(None);
        };
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.chars().count() > ADDRESS_MAX_CHARS {
            return Err(Error::invalid(
                field,
                format!("is longer than {ADDRESS_MAX_CHARS} characters; shorten it"),
            ));
        }
        Ok(Some(s).filter(|s| !s.is_empty()))
    };
    Ok(Address {
        line1: part("address", &a.line1)?,
        postcode: part("postcode", &a.postcode)?.map(|p| p.to_uppercase()),
        city: part("city", &a.city)?,
    })
}

/// The edit form as the values stored (the same rules as enrolment).
fn edit_values(edit: &CustomerEdit) -> Result<Vec<(&'static str, Value)>> {
    let row = validate_new(&NewCustomer {
        given_name: edit.given_name.clone(),
        family_name: edit.family_name.clone(),
        preferred_name: edit.preferred_name.clone(),
        phones: edit.phones.clone(),
        email: edit.email.clone(),
        birthday: edit.birthday.clone(),
        marketing_consent: edit.marketing_consent,
        external_ref: edit.external_ref.clone(),
        card: None,
    })?;
    let a = clean_address(&edit.address)?;
    Ok(vec![
        ("given_name", Value::from(row.given_name)),
        ("family_name", Value::from(row.family_name)),
        ("preferred_name", row.preferred_name.into()),
        ("email", row.email.into()),
        ("birthday", row.birthday.into()),
        (
            "marketing_consent",
            Value::from(i64::from(row.marketing_consent)),
        ),
        ("external_ref", row.external_ref.into()),
        ("address_line1", a.line1.into()),
        ("postcode", a.postcode.into()),
        ("city", a.city.into()),
        ("phones", Value::from(row.phones)),
    ])
}

impl Store {
    pub fn address(&self, id: CustomerId) -> Result<Address> {
        Ok(self
            .conn
            .prepare_cached("SELECT address_line1, postcode, city FROM customers WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Address {
                    line1: r.get(0)?,
                    postcode: r.get(1)?,
                    city: r.get(2)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    /// Saves the edit form. Only changed fields are written and recorded
    /// (outbox op "update", payload `{fields: {name: new value}}`), so sync
    /// can merge edits from two tills field by field. Returns the names of
    /// the fields that changed (empty: nothing to do).
    pub fn update_customer(&mut self, id: CustomerId, edit: &CustomerEdit) -> Result<Vec<String>> {
        let new = edit_values(edit)?;
        let now = now_iso();
        let tx = self.write()?;
        let mut old = customer_row(&tx, id)?;
        let phones: Vec<String> = tx
            .prepare_cached(
                "SELECT phone FROM customer_phones WHERE customer_id = ?1 ORDER BY position",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        old.insert("phones".into(), Value::from(phones));
        let changed: Vec<(&str, Value)> = new
            .into_iter()
            .filter(|(k, v)| old.get(*k) != Some(v))
            .collect();
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        for (k, v) in &changed {
            if *k == "phones" {
                tx.execute("DELETE FROM customer_phones WHERE customer_id = ?1", [id])?;
                let mut st = tx.prepare_cached(
                    "INSERT INTO customer_phones(customer_id, position, phone, digits) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (i, p) in v.as_array().into_iter().flatten().enumerate() {
                    let p = p.as_str().unwrap_or_default();
                    st.execute(params![id, i as i64, p, super::phone_digits(p)])?;
                }
                continue;
            }
            let res = tx.execute(
                &format!("UPDATE customers SET {k} = ?2 WHERE id = ?1"),
                params![id, to_sql(v)],
            );
            if let Err(e) = res {
                if *k == "external_ref"
                    && e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
                {
                    return Err(Error::invalid(
                        "external reference",
                        "already belongs to another customer; use another or clear it",
                    ));
                }
                return Err(e.into());
            }
        }
        tx.execute(
            "UPDATE customers SET updated_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        let fields: Map<String, Value> = changed
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        record_change(
            &tx,
            "customer",
            &id.to_string(),
            "update",
            &serde_json::json!({ "fields": fields, "updated_at": now }),
            &now,
        )?;
        tx.commit()?;
        Ok(changed.into_iter().map(|(k, _)| k.to_string()).collect())
    }

    fn clean_household_name(name: &str) -> Result<String> {
        let n = clean_text(name, false);
        if n.is_empty() {
            return Err(Error::invalid(
                "household name",
                "is empty; type a name like \"Smith family\"",
            ));
        }
        if n.chars().count() > HOUSEHOLD_NAME_MAX_CHARS {
            return Err(Error::invalid(
                "household name",
                format!("is longer than {HOUSEHOLD_NAME_MAX_CHARS} characters; shorten it"),
            ));
        }
        Ok(n)
    }

    pub fn create_household(&mut self, name: &str) -> Result<HouseholdId> {
        let name = Self::clean_household_name(name)?;
        let id = HouseholdId::new();
        let now = now_iso();
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO households(id, name, created_at) VALUES (?1, ?2, ?3)",
            params![id, name, now],
        )?;
        record_change(
            &tx,
            "household",
            &id.to_string(),
            "insert",
            &serde_json::json!({ "id": id, "name": name, "created_at": now }),
            &now,
        )?;
        tx.commit()?;
        Ok(id)
    }

    pub fn rename_household(&mut self, id: HouseholdId, name: &str) -> Result<()> {
        let name = Self::clean_household_name(name)?;
        let now = now_iso();
        let tx = self.write()?;
        if tx.execute(
            "UPDATE households SET name = ?2 WHERE id = ?1",
            params![id, name],
        )? == 0
        {
            return Err(Error::NotFound {
                what: "household",
                key: id.to_string(),
            });
        }
        record_change(
            &tx,
            "household",
            &id.to_string(),
            "update",
            &serde_json::json!({ "fields": { "name": name } }),
            &now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Puts a customer in a household (`Some`) or takes them out (`None`).
    pub fn set_household(
        &mut self,
        customer: CustomerId,
        household: Option<HouseholdId>,
    ) -> Result<()> {
        let now = now_iso();
        let tx = self.write()?;
        if let Some(h) = household {
            let exists: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM households WHERE id = ?1)",
                [h],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(Error::NotFound {
                    what: "household",
                    key: h.to_string(),
                });
            }
        }
        let n = tx.execute(
            "UPDATE customers SET household_id = ?2, updated_at = ?3 WHERE id = ?1",
            params![customer, household, now],
        )?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "customer",
                key: customer.to_string(),
            });
        }
        record_change(
            &tx,
            "customer",
            &customer.to_string(),
            "update",
            &serde_json::json!({ "fields": { "household_id": household }, "updated_at": now }),
            &now,
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn household(&self, id: HouseholdId) -> Result<Household> {
        let name: String = self
            .conn
            .prepare_cached("SELECT name FROM households WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::NotFound {
                what: "household",
                key: id.to_string(),
            })?;
        let members = self
            .conn
            .prepare_cached(
                "SELECT id, given_name, family_name, preferred_name FROM customers
                 WHERE household_id = ?1 ORDER BY given_name, id",
            )?
            .query_map([id], |r| {
                Ok(HouseholdMember {
                    id: r.get(0)?,
                    display_name: super::display_name(
                        &r.get::<_, String>(1)?,
                        &r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?.as_deref(),
                    ),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Household { id, name, members })
    }

    /// The owner edits a note (body, visibility, dates); the author stays.
    pub fn edit_note(&mut self, id: NoteId, edit: &NoteEdit) -> Result<Note> {
        let checked = super::customers::validate_note(&crate::model::NewNote {
            body: edit.body.clone(),
            author: "owner".into(),
            visibility: edit.visibility,
            follow_up_on: edit.follow_up_on.clone(),
            expires_on: edit.expires_on.clone(),
        })?;
        let now = now_iso();
        let tx = self.write()?;
        let n = tx.execute(
            "UPDATE notes SET body = ?2, visibility = ?3, follow_up_on = ?4, expires_on = ?5,
                    updated_at = ?6
             WHERE id = ?1 AND retired_at IS NULL",
            params![
                id,
                checked.body,
                checked.visibility.as_str(),
                checked.follow_up_on,
                checked.expires_on,
                now
            ],
        )?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "note (or it was retired)",
                key: id.to_string(),
            });
        }
        record_change(
            &tx,
            "note",
            &id.to_string(),
            "update",
            &serde_json::json!({ "customer_id": note_customer(&tx, id)?, "fields": {
                "body": checked.body,
                "visibility": checked.visibility.as_str(),
                "follow_up_on": checked.follow_up_on,
                "expires_on": checked.expires_on,
            }, "updated_at": now }),
            &now,
        )?;
        let note = tx.query_row(
            "SELECT id, body, author, visibility, follow_up_on, created_at, expires_on FROM notes WHERE id = ?1",
            [id],
            |r| {
                Ok(Note {
                    id: r.get(0)?,
                    body: r.get(1)?,
                    author: r.get(2)?,
                    visibility: crate::model::Visibility::parse(&r.get::<_, String>(3)?)
                        .unwrap_or(crate::model::Visibility::Owner),
                    follow_up_on: r.get(4)?,
                    created_at: r.get(5)?,
                    expires_on: r.get(6)?,
                })
            },
        )?;
        tx.commit()?;
        Ok(note)
    }

    /// Retires a note: kept for the record, shown to nobody, prompts nothing.
    pub fn retire_note(&mut self, id: NoteId) -> Result<()> {
        let now = now_iso();
        let tx = self.write()?;
        let n = tx.execute(
            "UPDATE notes SET retired_at = ?2 WHERE id = ?1 AND retired_at IS NULL",
            params![id, now],
        )?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "note (or it was already retired)",
                key: id.to_string(),
            });
        }
        record_change(
            &tx,
            "note",
            &id.to_string(),
            "retire",
            &serde_json::json!({ "customer_id": note_customer(&tx, id)?, "retired_at": now }),
            &now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Which customer a note is about.
    pub fn note_customer(&self, id: NoteId) -> Result<CustomerId> {
        self.conn
            .prepare_cached("SELECT customer_id FROM notes WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::NotFound {
                what: "note",
                key: id.to_string(),
            })
    }

    /// Every customer as the duplicate finder compares them. One pass per table.
    pub fn dup_records(&self) -> Result<Vec<DupRecord>> {
        use std::collections::HashMap;
        let mut phones: HashMap<CustomerId, Vec<String>> = HashMap::new();
        let mut st = self.conn.prepare(
            "SELECT customer_id, digits FROM customer_phones ORDER BY customer_id, position",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            phones.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
        let mut cards: HashMap<CustomerId, Vec<String>> = HashMap::new();
        let mut st = self.conn.prepare("SELECT customer_id, code FROM cards")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            cards.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
        let mut st = self.conn.prepare(
            "SELECT id, given_name, family_name, preferred_name, email, birthday, address_line1,
                    postcode, household_id
             FROM customers",
        )?;
        let out = st
            .query_map([], |r| {
                let id: CustomerId = r.get(0)?;
                Ok(DupRecord {
                    id,
                    given_name: r.get(1)?,
                    family_name: r.get(2)?,
                    preferred_name: r.get(3)?,
                    phones: Vec::new(),
                    email: r.get(4)?,
                    birthday: r.get(5)?,
                    address_line1: r.get(6)?,
                    postcode: r.get(7)?,
                    cards: Vec::new(),
                    household: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(out
            .into_iter()
            .map(|mut d| {
                d.phones = phones.remove(&d.id).unwrap_or_default();
                d.cards = cards.remove(&d.id).unwrap_or_default();
                d
            })
            .collect())
    }

    /// One side of a duplicate pair: summary, phones, address, points, cards.
    pub fn duplicate_side(&self, id: CustomerId) -> Result<crate::model::DuplicateSide> {
        let summary = self.summary(id)?;
        let phones = self.customer(id)?.phones;
        let points_balance: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1",
            )?
            .query_row([id], |r| r.get(0))?;
        let cards = self
            .conn
            .prepare_cached("SELECT code FROM cards WHERE customer_id = ?1 ORDER BY retired_at IS NOT NULL, issued_at DESC")?
            .query_map([id], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter_map(|c| crate::card::CardNumber::parse(&c).ok())
            .collect();
        Ok(crate::model::DuplicateSide {
            summary,
            phones,
            address: self.address(id)?,
            points_balance,
            cards,
        })
    }

    /// Pairs the owner said are different people, smaller id first.
    pub fn dismissed_pairs(&self) -> Result<HashSet<(CustomerId, CustomerId)>> {
        Ok(self
            .conn
            .prepare("SELECT customer_a, customer_b FROM duplicate_dismissals")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// "Not a duplicate": the pair never comes back. (A local review
    /// decision, not customer data: no outbox change.)
    pub fn dismiss_pair(&mut self, a: CustomerId, b: CustomerId) -> Result<()> {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        if a == b {
            return Err(Error::invalid("pair", "names the same customer twice"));
        }
        self.conn.execute(
            "INSERT OR IGNORE INTO duplicate_dismissals(customer_a, customer_b, dismissed_at)
             VALUES (?1, ?2, ?3)",
            params![a, b, now_iso()],
        )?;
        Ok(())
    }

    /// Where a merged-away customer went (following chains), if anywhere.
    pub fn redirect(&self, id: CustomerId) -> Result<Option<CustomerId>> {
        let key = id.to_string();
        let end = follow_redirects(&self.conn, &key)?;
        Ok(if end == key { None } else { Some(end.parse()?) })
    }

    /// Merges `merged` into `survivor` in one transaction: every row of the
    /// merged customer moves to (or is copied onto) the survivor, the
    /// survivor's empty fields are filled, the merged customer row goes, a
    /// redirect and an outbox change are recorded, and an undo journal is
    /// kept.
    pub fn merge_customers(
        &mut self,
        survivor: CustomerId,
        merged: CustomerId,
        by: Option<crate::ids::StaffId>,
    ) -> Result<MergeReceipt> {
        if survivor == merged {
            return Err(Error::Refused {
                action: "merge",
                reason: "both sides are the same customer; pick two different customers".into(),
            });
        }
        let tx = self.write()?;
        let receipt = merge_in_tx(&tx, survivor, merged, MergeId::new(), &now_iso(), by, true)?;
        tx.commit()?;
        Ok(receipt)
    }

    /// Undoes a merge exactly: the merged customer and their rows come back
    /// as they were, the survivor's fields return to their pre-merge values.
    /// Refused (nothing changed) when that is no longer possible: the
    /// survivor was edited or merged away since, or a moved row changed
    /// owner. Sales and other rows the survivor gained after the merge stay
    /// with the survivor. Returns (survivor, restored customer).
    pub fn undo_merge(
        &mut self,
        merge_id: MergeId,
        by: Option<crate::ids::StaffId>,
    ) -> Result<(CustomerId, CustomerId)> {
        let tx = self.write()?;
        let r = undo_merge_in_tx(&tx, merge_id, &now_iso(), by, true)?;
        tx.commit()?;
        Ok(r)
    }
}

/// Where customer `id` lives now: the end of its chain of merge redirects
/// (itself when it was never merged away). Bounded: a chain longer than
/// any real one stops where it is.
pub(crate) fn follow_redirects(conn: &Connection, id: &str) -> Result<String> {
    let mut cur = id.to_string();
    for _ in 0..64 {
        let next: Option<String> = conn
            .prepare_cached("SELECT survivor_id FROM customer_redirects WHERE merged_id = ?1")?
            .query_row([&cur], |r| r.get(0))
            .optional()?;
        match next {
            Some(n) if n != cur => cur = n,
            _ => break,
        }
    }
    Ok(cur)
}

/// The body of a merge inside `tx`. `record` is false when applying a merge
/// made on another till (its change is already in the log).
pub(crate) fn merge_in_tx(
    tx: &Connection,
    survivor: CustomerId,
    merged: CustomerId,
    merge_id: MergeId,
    now: &str,
    by: Option<crate::ids::StaffId>,
    record: bool,
) -> Result<MergeReceipt> {
    let now = now.to_string();
    let survivor_before = customer_row(tx, survivor)?;
    let merged_row = customer_row(tx, merged)?;
    let mut moved_out = Vec::new();
    let mut moved = Vec::new();
    for (table, key, what) in MOVED {
        let keys: Vec<Value> = select_rows(
            tx,
            &format!("SELECT {key} AS k FROM {table} WHERE customer_id = ?1 ORDER BY {key}"),
            &[&merged],
        )?
        .into_iter()
        .filter_map(|mut r| r.remove("k"))
        .collect();
        tx.execute(
            &format!("UPDATE {table} SET customer_id = ?1 WHERE customer_id = ?2"),
            params![survivor, merged],
        )?;
        moved_out.push(MovedRows {
            what: (*what).into(),
            rows: keys.len() as u32,
        });
        moved.push((table.to_string(), keys));
    }
    let mut copied = Vec::new();
    for (table, _key, what) in COPIED {
        let originals = select_rows(
            tx,
            &format!("SELECT * FROM {table} WHERE customer_id = ?1"),
            &[&merged],
        )?;
        let mut inserted = Vec::new();
        if *table == "customer_phones" {
            // Phones are a list: the merged one's new numbers go after
            // the survivor's; a number both have is kept once.
            let (mut next, digits): (i64, Vec<String>) = {
                let rows = select_rows(
                    tx,
                    "SELECT position, digits FROM customer_phones WHERE customer_id = ?1",
                    &[&survivor],
                )?;
                (
                    rows.iter()
                        .filter_map(|r| r["position"].as_i64())
                        .max()
                        .map_or(0, |m| m + 1),
                    rows.iter()
                        .filter_map(|r| r["digits"].as_str().map(String::from))
                        .collect(),
                )
            };
            let mut sorted = originals.clone();
            sorted.sort_by_key(|r| r["position"].as_i64());
            for r in sorted {
                if digits
                    .iter()
                    .any(|d| Some(d.as_str()) == r["digits"].as_str())
                {
                    continue;
                }
                let mut n = r.clone();
                n.insert("customer_id".into(), Value::from(survivor.to_string()));
                n.insert("position".into(), Value::from(next));
                next += 1;
                insert_row(tx, table, &n, false)?;
                inserted.push(n);
            }
        } else {
            for r in &originals {
                let mut n = r.clone();
                n.insert("customer_id".into(), Value::from(survivor.to_string()));
                if insert_row(tx, table, &n, true)? {
                    inserted.push(n);
                }
            }
        }
        moved_out.push(MovedRows {
            what: (*what).into(),
            rows: inserted.len() as u32,
        });
        copied.push((table.to_string(), originals, inserted));
    }
    let redirects: Vec<String> = tx
        .prepare_cached(
            "SELECT merged_id FROM customer_redirects WHERE survivor_id = ?1 ORDER BY merged_id",
        )?
        .query_map([merged], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tx.execute(
        "UPDATE customer_redirects SET survivor_id = ?1 WHERE survivor_id = ?2",
        params![survivor, merged],
    )?;
    // The rest (phones, attributes ... already copied) goes with the row.
    tx.execute("DELETE FROM customers WHERE id = ?1", [merged])?;
    let mut after = survivor_before.clone();
    let mut filled = Map::new();
    for f in FILLABLE {
        if is_empty(after.get(*f)) && !is_empty(merged_row.get(*f)) {
            after.insert((*f).into(), merged_row[*f].clone());
            filled.insert((*f).into(), merged_row[*f].clone());
        }
    }
    // The same person: a member since the earlier enrolment.
    if let (Some(a), Some(b)) = (
        after["created_at"].as_str(),
        merged_row["created_at"].as_str(),
    ) {
        if b < a {
            after.insert("created_at".into(), Value::from(b));
            filled.insert("created_at".into(), Value::from(b));
        }
    }
    after.insert("updated_at".into(), Value::from(now.clone()));
    restore_customer(tx, &after)?;
    let survivor_now = crate::sync::apply::customer_fields(tx, &survivor.to_string())?;
    let journal = Journal {
        survivor_before,
        survivor_after: after,
        merged: merged_row,
        moved,
        copied,
        redirects,
    };
    let journal_json = serde_json::to_string(&journal)
        .map_err(|e| Error::invalid("merge journal", e.to_string()))?;
    tx.execute(
        "INSERT INTO customer_merges(id, survivor_id, merged_id, merged_at, journal)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        params![merge_id, survivor, merged, now, journal_json],
    )?;
    tx.execute(
        "INSERT INTO customer_redirects(merged_id, survivor_id, merge_id, created_at)
             VALUES (?1, ?2, ?3, ?4)",
        params![merged, survivor, merge_id, now],
    )?;
    if record {
        record_change(
            tx,
            "customer",
            &merged.to_string(),
            "merge",
            &serde_json::json!({
                "merge_id": merge_id,
                "survivor_id": survivor,
                "filled": filled,
                // The survivor as the merge left it: other tills apply it
                // as a write stamped with the merge, so every till ends
                // with the same record whatever it held when the merge came.
                "survivor": survivor_now,
                "moved": moved_out,
            }),
            &now,
        )?;
    }
    super::audit::audit(
        tx,
        by,
        "merge",
        Some(&survivor.to_string()),
        &format!("merged {merged} into {survivor} (merge {merge_id})"),
    )?;
    Ok(MergeReceipt {
        merge_id,
        survivor_id: survivor,
        merged_id: merged,
        moved: moved_out,
        filled: filled.keys().cloned().collect(),
        merged_at: now,
    })
}

/// The body of an undo inside `tx`; `record` as for [`merge_in_tx`].
pub(crate) fn undo_merge_in_tx(
    tx: &Connection,
    merge_id: MergeId,
    now: &str,
    by: Option<crate::ids::StaffId>,
    record: bool,
) -> Result<(CustomerId, CustomerId)> {
    let now = now.to_string();
    let (survivor, merged, undone, journal): (CustomerId, CustomerId, Option<String>, String) = tx
        .query_row(
            "SELECT survivor_id, merged_id, undone_at, journal FROM customer_merges WHERE id = ?1",
            [merge_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?
        .ok_or_else(|| Error::NotFound {
            what: "merge",
            key: merge_id.to_string(),
        })?;
    let refuse = |reason: String| Error::Refused {
        action: "undo merge",
        reason,
    };
    if undone.is_some() {
        return Err(refuse(
            "this merge was already undone; nothing to do".into(),
        ));
    }
    let j: Journal = serde_json::from_str(&journal).map_err(|e| {
        refuse(format!(
            "its journal cannot be read ({}); keep the merge and report this",
            clip(&e.to_string())
        ))
    })?;
    let current = select_rows(tx, "SELECT * FROM customers WHERE id = ?1", &[&survivor])?
            .pop()
            .ok_or_else(|| {
                refuse("the surviving customer was merged into another one since; undo that later merge first".into())
            })?;
    if current != j.survivor_after {
        return Err(refuse(
                "the surviving customer was edited after the merge; undoing would lose that edit. Keep the merge and fix the details by hand".into(),
            ));
    }
    for (table, keys) in &j.moved {
        let key = MOVED
            .iter()
            .find(|m| m.0 == table)
            .map(|m| m.1)
            .ok_or_else(|| refuse(format!("it moved rows of an unknown table {table}")))?;
        let mut st =
            tx.prepare_cached(&format!("SELECT customer_id FROM {table} WHERE {key} = ?1"))?;
        for k in keys {
            let owner: Option<CustomerId> = st.query_row([to_sql(k)], |r| r.get(0)).optional()?;
            if owner != Some(survivor) {
                return Err(refuse(format!(
                    "some {table} rows it moved were changed or moved again since; keep the merge"
                )));
            }
        }
    }
    for (table, _, inserted) in &j.copied {
        let key = COPIED
            .iter()
            .find(|c| c.0 == table)
            .map(|c| c.1)
            .ok_or_else(|| refuse(format!("it copied rows of an unknown table {table}")))?;
        let cond: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = ?{}", i + 1))
            .collect();
        let sql = format!("SELECT * FROM {table} WHERE {}", cond.join(" AND "));
        for r in inserted {
            let vals: Vec<SqlValue> = key.iter().map(|k| to_sql(&r[*k])).collect();
            let refs: Vec<&dyn rusqlite::ToSql> =
                vals.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
            let now_row = select_rows(tx, &sql, &refs)?.pop();
            if now_row.as_ref() != Some(r) {
                return Err(refuse(format!(
                    "the survivor's {table} changed since the merge; keep the merge"
                )));
            }
        }
    }
    // Checks passed: restore. Survivor first (it may hold the merged
    // customer's external reference), then the merged customer, then
    // their rows.
    restore_customer(tx, &j.survivor_before)?;
    insert_row(tx, "customers", &j.merged, false)?;
    for (table, keys) in &j.moved {
        let key = MOVED
            .iter()
            .find(|m| m.0 == table)
            .map(|m| m.1)
            .unwrap_or("id");
        let mut st = tx.prepare_cached(&format!(
            "UPDATE {table} SET customer_id = ?1 WHERE {key} = ?2"
        ))?;
        for k in keys {
            st.execute(params![merged, to_sql(k)])?;
        }
    }
    for (table, originals, inserted) in &j.copied {
        let key = COPIED
            .iter()
            .find(|c| c.0 == table)
            .map(|c| c.1)
            .unwrap_or(&[]);
        for r in inserted {
            delete_row(tx, table, key, r)?;
        }
        for r in originals {
            insert_row(tx, table, r, false)?;
        }
    }
    tx.execute(
        "DELETE FROM customer_redirects WHERE merged_id = ?1",
        [merged],
    )?;
    {
        let mut st = tx.prepare_cached(
            "UPDATE customer_redirects SET survivor_id = ?1 WHERE merged_id = ?2",
        )?;
        for r in &j.redirects {
            st.execute(params![merged, r])?;
        }
    }
    tx.execute(
        "UPDATE customer_merges SET undone_at = ?2 WHERE id = ?1",
        params![merge_id, now],
    )?;
    if record {
        record_change(
            tx,
            "customer",
            &merged.to_string(),
            "unmerge",
            &serde_json::json!({ "merge_id": merge_id, "survivor_id": survivor }),
            &now,
        )?;
    }
    super::audit::audit(
        tx,
        by,
        "undo_merge",
        Some(&merged.to_string()),
        &format!("restored {merged} from {survivor} (merge {merge_id})"),
    )?;
    Ok((survivor, merged))
}

/// The customer a note belongs to: note changes name them so sync can
/// follow merges and erasures.
fn note_customer(tx: &Connection, id: NoteId) -> Result<String> {
    Ok(tx
        .prepare_cached("SELECT customer_id FROM notes WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::{COPIED, MOVED};

    /// A table added later that points at customers must say what a merge
    /// does with it, or a merge would leave rows behind on the merged-away
    /// customer (and the delete of that customer would fail or cascade).
    #[test]
    fn every_table_that_references_customers_is_moved_or_copied() {
        let s = crate::store::Store::open_in_memory().unwrap();
        let referencing: Vec<String> = s
            .conn()
            .prepare(
                "SELECT DISTINCT m.name FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
                 WHERE m.type = 'table' AND f.\"table\" = 'customers' ORDER BY m.name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(referencing.len() >= 8, "{referencing:?}");
        let listed: Vec<&str> = MOVED
            .iter()
            .map(|m| m.0)
            .chain(COPIED.iter().map(|c| c.0))
            .collect();
        let missing: Vec<&String> = referencing
            .iter()
            .filter(|t| !listed.contains(&t.as_str()))
            .collect();
        assert!(missing.is_empty(), "add to MOVED or COPIED: {missing:?}");
    }
}
