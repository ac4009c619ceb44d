//! Thin loaders: read the plain rows the review rules need from SQLite,
//! and the one write here (a contact's outcome, with its outbox change).
//! No decisions: those are in the sibling modules.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::contacts::{ContactFacts, NoteFollowUp, PastOutcome, Person};
use super::dashboard::SaleRow;
use super::results::OfferEventRow;
use super::segments::DayVisit;
use super::{day_number, unix_of, DAY};
use crate::ids::CustomerId;
use crate::model::{ContactOutcome, OfferKind, OfferOutcome, PromptKind, PromptVerdict};
use crate::store::{display_name, iso, record_change, Store};
use crate::{Error, Result};

/// A text column without copying it.
fn text<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> Result<&'a str> {
    Ok(r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
}

/// ISO time of the first second of a day number.
pub fn day_start_iso(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * DAY, 0)
        .map(iso)
        .unwrap_or_default()
}

/// Every customer's visits (sales that are not refunds), by customer, each
/// sorted by time. Rules that look at a past day use only the visits up to
/// it (see `segments::rfm`, `overdue::overdue`).
#[derive(Debug, Default)]
pub struct Activity {
    pub ids: Vec<CustomerId>,
    pub index: HashMap<CustomerId, u32>,
    /// Per customer: (UTC day, total cents), oldest first.
    pub visits: Vec<Vec<DayVisit>>,
    /// Per customer: unix seconds of the first visit.
    pub first_at: Vec<i64>,
}

/// Reads [`Activity`] from the visit index (never the sales table itself).
pub fn activity(store: &Store) -> Result<Activity> {
    let mut a = Activity::default();
    let mut st = store.conn().prepare_cached(
        "SELECT customer_id, completed_at, total_cents FROM sales
         WHERE customer_id IS NOT NULL AND refund_of IS NULL
         ORDER BY customer_id",
    )?;
    let mut rows = st.query([])?;
    let mut last_id: Vec<u8> = Vec::new();
    while let Some(r) = rows.next()? {
        let id = r.get_ref(0)?.as_bytes().map_err(rusqlite::Error::from)?;
        if id != last_id.as_slice() {
            // Parsed once per customer, not per visit.
            let c: CustomerId = r.get(0)?;
            last_id.clear();
            last_id.extend_from_slice(id);
            a.index.insert(c, a.ids.len() as u32);
            a.ids.push(c);
            a.visits.push(Vec::new());
            a.first_at.push(i64::MAX);
        }
        let Some(at) = unix_of(text(r, 1)?) else {
            continue;
        };
        let i = a.ids.len() - 1;
        a.first_at[i] = a.first_at[i].min(at);
        a.visits[i].push(DayVisit {
            day: at.div_euclid(DAY),
            cents: r.get(2)?,
        });
    }
    // The index yields each customer's visits in time order already (an
    // ORDER BY on the time would add a sort); make sure, at linear cost.
    for v in &mut a.visits {
        v.sort_by_key(|x| x.day);
    }
    Ok(a)
}

/// Every sale and refund from `from` (inclusive) to `to` (exclusive), ISO
/// times, with customers as indices into `a` (None: anonymous, or not in it).
pub fn sale_rows(store: &Store, from: &str, to: &str, a: &Activity) -> Result<Vec<SaleRow>> {
    let mut st = store.conn().prepare_cached(
        "SELECT completed_at, total_cents, customer_id, refund_of IS NOT NULL FROM sales
         WHERE completed_at >= ?1 AND completed_at < ?2",
    )?;
    let mut rows = st.query([from, to])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let Some(at) = unix_of(text(r, 0)?) else {
            continue;
        };
        let customer: Option<CustomerId> = r.get(2)?;
        out.push(SaleRow {
            at,
            cents: r.get(1)?,
            customer: customer.and_then(|c| a.index.get(&c).copied()),
            refund: r.get(3)?,
        });
    }
    Ok(out)
}

/// Names for display, by id.
pub fn display_names(store: &Store, ids: &[CustomerId]) -> Result<Vec<String>> {
    let mut st = store.conn().prepare_cached(
        "SELECT given_name, family_name, preferred_name FROM customers WHERE id = ?1",
    )?;
    ids.iter()
        .map(|id| {
            Ok(st
                .query_row([id], |r| {
                    Ok(display_name(
                        &r.get::<_, String>(0)?,
                        &r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?.as_deref(),
                    ))
                })
                .optional()?
                .unwrap_or_default())
        })
        .collect()
}

fn enum_from<T: serde::de::DeserializeOwned>(s: String) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s)).ok()
}

/// Offer events in [from, to) with the sale each accepted one was linked
/// to; campaign offers carry their campaign's name.
pub fn offer_events(store: &Store, from: &str, to: &str) -> Result<Vec<OfferEventRow>> {
    let conn = store.conn();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut st = conn.prepare_cached("SELECT id, rule FROM offer_campaigns")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let rule: String = r.get(1)?;
        let name = serde_json::from_str::<serde_json::Value>(&rule)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
            .unwrap_or_else(|| id.clone());
        names.insert(id, name);
    }
    let mut st = conn.prepare_cached(
        "SELECT e.kind, e.offer_key, e.outcome, e.sale_id, s.total_cents
         FROM offer_events e LEFT JOIN sales s ON s.id = e.sale_id
         WHERE e.created_at >= ?1 AND e.created_at < ?2",
    )?;
    let mut rows = st.query([from, to])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (Some(kind), Some(outcome)) = (
            enum_from::<OfferKind>(r.get(0)?),
            enum_from::<OfferOutcome>(r.get(2)?),
        ) else {
            continue;
        };
        let key: String = r.get(1)?;
        let campaign = (kind == OfferKind::Campaign).then(|| {
            let id = key.strip_prefix("campaign:").unwrap_or(&key);
            names.get(id).cloned().unwrap_or_else(|| id.to_string())
        });
        let sale: Option<String> = r.get(3)?;
        let total: Option<i64> = r.get(4)?;
        out.push(OfferEventRow {
            kind,
            campaign,
            outcome,
            sale: sale.zip(total),
        });
    }
    Ok(out)
}

/// Prompt verdicts in [from, to).
pub fn prompt_verdicts(
    store: &Store,
    from: &str,
    to: &str,
) -> Result<Vec<(PromptKind, PromptVerdict)>> {
    let mut st = store.conn().prepare_cached(
        "SELECT kind, verdict FROM prompt_feedback WHERE created_at >= ?1 AND created_at < ?2",
    )?;
    let rows = st.query_map([from, to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (k, v) = r?;
        if let (Some(k), Some(v)) = (enum_from(k), enum_from(v)) {
            out.push((k, v));
        }
    }
    Ok(out)
}

/// Who to reach and how, by id (None: no such customer).
pub fn person(store: &Store, id: CustomerId) -> Result<Option<Person>> {
    let mut st = store.conn().prepare_cached(
        "SELECT given_name, family_name, preferred_name, email, birthday, marketing_consent,
                (SELECT phone FROM customer_phones p WHERE p.customer_id = c.id
                 ORDER BY position LIMIT 1)
         FROM customers c WHERE id = ?1",
    )?;
    Ok(st
        .query_row([id], |r| {
            let given: String = r.get(0)?;
            let family: String = r.get(1)?;
            let preferred: Option<String> = r.get(2)?;
            let birthday: Option<String> = r.get(4)?;
            Ok(Person {
                id,
                display_name: display_name(&given, &family, preferred.as_deref()),
                first_name: preferred
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| given.clone()),
                given_name: given,
                family_name: family,
                email: r.get::<_, Option<String>>(3)?.filter(|e| !e.is_empty()),
                birthday: birthday.and_then(|b| NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok()),
                marketing_consent: r.get(5)?,
                phone: r.get::<_, Option<String>>(6)?.filter(|p| !p.is_empty()),
            })
        })
        .optional()?)
}

/// Customers with a note follow-up between `from` and `to` (dates,
/// inclusive), with those notes.
pub fn note_follow_ups(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<CustomerId, Vec<NoteFollowUp>>> {
    let mut st = store.conn().prepare_cached(
        "SELECT customer_id, id, body, follow_up_on FROM notes
         WHERE follow_up_on >= ?1 AND follow_up_on <= ?2",
    )?;
    let mut rows = st.query([from.to_string(), to.to_string()])?;
    let mut out: HashMap<CustomerId, Vec<NoteFollowUp>> = HashMap::new();
    while let Some(r) = rows.next()? {
        let due: String = r.get(3)?;
        let Ok(due) = NaiveDate::parse_from_str(&due, "%Y-%m-%d") else {
            continue;
        };
        out.entry(r.get(0)?).or_default().push(NoteFollowUp {
            id: r.get(1)?,
            body: r.get(2)?,
            follow_up_on: due,
        });
    }
    Ok(out)
}

/// Consenting customers with a birthday on file.
pub fn birthday_customers(store: &Store) -> Result<Vec<CustomerId>> {
    let mut st = store.conn().prepare_cached(
        "SELECT id FROM customers WHERE marketing_consent = 1 AND birthday IS NOT NULL",
    )?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Contact outcomes recorded on or after `since` (ISO time), by customer.
pub fn outcomes_since(store: &Store, since: &str) -> Result<HashMap<CustomerId, Vec<PastOutcome>>> {
    let mut st = store.conn().prepare_cached(
        "SELECT customer_id, reason_key, outcome, created_at FROM contact_outcomes
         WHERE created_at >= ?1",
    )?;
    let mut rows = st.query([since])?;
    let mut out: HashMap<CustomerId, Vec<PastOutcome>> = HashMap::new();
    while let Some(r) = rows.next()? {
        let (Some(outcome), Some(at)) = (ContactOutcome::parse(text(r, 2)?), unix_of(text(r, 3)?))
        else {
            continue;
        };
        out.entry(r.get(0)?).or_default().push(PastOutcome {
            reason_key: r.get(1)?,
            outcome,
            day: at.div_euclid(DAY),
        });
    }
    Ok(out)
}

/// Gathers [`ContactFacts`] for everyone who may be on the list on `today`:
/// overdue customers (given), notes due around this week, consenting
/// birthdays; with their earlier outcomes.
pub fn contact_facts(
    store: &Store,
    today: NaiveDate,
    overdue: HashMap<CustomerId, super::overdue::Overdue>,
) -> Result<Vec<ContactFacts>> {
    use super::contacts::{NOTE_GRACE_DAYS, NOT_INTERESTED_REST_DAYS, WEEK_AHEAD_DAYS};
    let notes = note_follow_ups(
        store,
        today - chrono::Days::new(NOTE_GRACE_DAYS as u64),
        today + chrono::Days::new(WEEK_AHEAD_DAYS as u64),
    )?;
    // Done items are remembered for good through their dated keys; a year
    // back covers every key that can still come up (birthdays are yearly).
    let since = day_start_iso(day_number(today) - 366.max(NOT_INTERESTED_REST_DAYS));
    let mut outcomes = outcomes_since(store, &since)?;
    let mut ids: Vec<CustomerId> = overdue.keys().copied().collect();
    ids.extend(notes.keys().copied());
    ids.extend(birthday_customers(store)?);
    ids.sort_unstable();
    ids.dedup();
    let mut overdue = overdue;
    let mut notes = notes;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(person) = person(store, id)? else {
            continue;
        };
        let f_notes = notes.remove(&id).unwrap_or_default();
        // Marketing reasons only for consenting customers: skip the rest early.
        if !person.marketing_consent && f_notes.is_empty() {
            continue;
        }
        out.push(ContactFacts {
            person,
            overdue: overdue.remove(&id),
            notes: f_notes,
            outcomes: outcomes.remove(&id).unwrap_or_default(),
        });
    }
    Ok(out)
}

#[derive(Serialize)]
struct OutcomeChange<'a> {
    customer_id: CustomerId,
    reason_key: &'a str,
    outcome: &'static str,
    staff: Option<&'a str>,
}

/// Records what came of contacting a customer.
pub fn record_outcome(
    store: &mut Store,
    customer: CustomerId,
    reason_key: &str,
    outcome: ContactOutcome,
    staff: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let key = reason_key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(Error::invalid(
            "reason_key",
            "send the key exactly as the contact list gave it",
        ));
    }
    let staff = staff.map(str::trim).filter(|s| !s.is_empty());
    if staff.is_some_and(|s| s.chars().count() > 80 || s.chars().any(char::is_control)) {
        return Err(Error::invalid(
            "staff",
            "is not a name; give the staff member's name (at most 80 characters) or leave it out",
        ));
    }
    store.customer(customer)?;
    let now = iso(at);
    let id = uuid::Uuid::now_v7().to_string();
    let tx = store.write()?;
    tx.execute(
        "INSERT INTO contact_outcomes(id, customer_id, reason_key, outcome, staff, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, customer, key, outcome.as_str(), staff, now],
    )?;
    record_change(
        &tx,
        "contact_outcome",
        &id,
        "insert",
        &OutcomeChange {
            customer_id: customer,
            reason_key: key,
            outcome: outcome.as_str(),
            staff,
        },
        &now,
    )?;
    tx.commit()?;
    Ok(())
}
