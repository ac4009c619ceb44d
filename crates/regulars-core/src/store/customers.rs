//! Customers, their phones, cards and notes: validated writes (each with its
//! outbox change) and the reads the search index is built from.
//!
//! Validation of what a person typed lives here, at the edge of the store, so
//! nothing unchecked is ever written: names, phones, emails, dates, notes.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{now_iso, record_change, Store};
use crate::card::{CardKind, CardNumber};
use crate::error::clip;
use crate::ids::{CustomerId, HouseholdId, NoteId};
use crate::model::{NewCustomer, NewNote, Note, Viewer, Visibility};
use crate::search::SearchDoc;
use crate::{Error, Result};

/// Longest note a cashier can save: a paragraph, not a file.
pub const NOTE_MAX_CHARS: usize = 2_000;
const NAME_MAX_CHARS: usize = 80;

/// A customer as stored, validated and normalised.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CustomerRow {
    pub id: CustomerId,
    pub external_ref: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub birthday: Option<String>,
    pub marketing_consent: bool,
    pub household_id: Option<HouseholdId>,
    pub created_at: String,
}

impl CustomerRow {
    pub fn display_name(&self) -> String {
        display_name(
            &self.given_name,
            &self.family_name,
            self.preferred_name.as_deref(),
        )
    }
}

pub fn display_name(given: &str, family: &str, preferred: Option<&str>) -> String {
    let first = preferred.filter(|p| !p.is_empty()).unwrap_or(given);
    match (first.is_empty(), family.is_empty()) {
        (false, false) => format!("{first} {family}"),
        (false, true) => first.to_string(),
        (true, _) => family.to_string(),
    }
}

/// Strips control characters (keeping newlines and tabs where allowed) and
/// surrounding whitespace: pasted text often carries invisible junk.
pub(super) fn clean_text(s: &str, keep_newlines: bool) -> String {
    s.chars()
        .filter(|c| !c.is_control() || (keep_newlines && (*c == '\n' || *c == '\t')))
        .collect::<String>()
        .trim()
        .to_string()
}

pub(super) fn clean_name(field: &'static str, s: &str) -> Result<String> {
    let s = clean_text(s, false);
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > NAME_MAX_CHARS {
        return Err(Error::invalid(
            field,
            format!("is longer than {NAME_MAX_CHARS} characters; shorten it"),
        ));
    }
    Ok(s)
}

pub(super) fn opt(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

pub(super) fn clean_phone(s: &str) -> Result<Option<String>> {
    let s = clean_text(s, false);
    if s.is_empty() {
        return Ok(None);
    }
    let digits = phone_digits(&s);
    if digits.len() < 4 || digits.len() > 20 {
        return Err(Error::invalid(
            "phone",
            format!(
                "'{}' does not look like a phone number; type its digits",
                clip(&s)
            ),
        ));
    }
    if s.chars()
        .any(|c| !(c.is_ascii_digit() || " +-().x/".contains(c)))
    {
        return Err(Error::invalid(
            "phone",
            format!("'{}' has characters a phone number cannot have", clip(&s)),
        ));
    }
    Ok(Some(s))
}

pub(super) fn clean_email(s: Option<&str>) -> Result<Option<String>> {
    let Some(s) = s.map(|s| clean_text(s, false)).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let valid = s.len() <= 254
        && !s.contains(char::is_whitespace)
        && s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    if !valid {
        return Err(Error::invalid(
            "email",
            format!(
                "'{}' is not an email address (like name@example.com)",
                clip(&s)
            ),
        ));
    }
    Ok(Some(s.to_lowercase()))
}

pub(super) fn clean_date(field: &'static str, s: Option<&str>) -> Result<Option<String>> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        Error::invalid(
            field,
            format!("'{}' is not a date like 1980-04-23", clip(s)),
        )
    })?;
    Ok(Some(d.format("%Y-%m-%d").to_string()))
}

/// Validates an enrolment form into a row (without id and timestamps set).
pub(crate) fn validate_new(draft: &NewCustomer) -> Result<CustomerRow> {
    let given_name = clean_name("given name", &draft.given_name)?;
    let family_name = clean_name("family name", &draft.family_name)?;
    if given_name.is_empty() && family_name.is_empty() {
        return Err(Error::invalid(
            "name",
            "type at least a given name or a family name",
        ));
    }
    let preferred_name = opt(draft
        .preferred_name
        .as_deref()
        .map(|p| clean_name("preferred name", p))
        .transpose()?);
    let mut phones = Vec::new();
    for p in &draft.phones {
        if let Some(p) = clean_phone(p)? {
            if !phones
                .iter()
                .any(|q: &String| phone_digits(q) == phone_digits(&p))
            {
                phones.push(p);
            }
        }
    }
    let birthday = clean_date("birthday", draft.birthday.as_deref())?;
    if let Some(b) = &birthday {
        if b.as_str() > chrono::Utc::now().format("%Y-%m-%d").to_string().as_str() {
            return Err(Error::invalid(
                "birthday",
                "is in the future; check the year",
            ));
        }
    }
    Ok(CustomerRow {
        id: CustomerId::new(),
        external_ref: opt(draft.external_ref.as_deref().map(|s| clean_text(s, false))),
        given_name,
        family_name,
        preferred_name,
        phones,
        email: clean_email(draft.email.as_deref())?,
        birthday,
        marketing_consent: draft.marketing_consent,
        household_id: None,
        created_at: now_iso(),
    })
}

pub(crate) fn validate_note(note: &NewNote) -> Result<NewNote> {
    let body = clean_text(&note.body, true);
    if body.is_empty() {
        return Err(Error::invalid(
            "note",
            "is empty; type what you want to remember",
        ));
    }
    let n = body.chars().count();
    if n > NOTE_MAX_CHARS {
        return Err(Error::invalid(
            "note",
            format!("is {n} characters long; keep notes under {NOTE_MAX_CHARS} (split it in two)"),
        ));
    }
    let author = clean_name("author", &note.author)?;
    Ok(NewNote {
        body,
        author: if author.is_empty() {
            "staff".into()
        } else {
            author
        },
        visibility: note.visibility,
        follow_up_on: clean_date("follow-up date", note.follow_up_on.as_deref())?,
        expires_on: clean_date("expiry date", note.expires_on.as_deref())?,
    })
}

impl Store {
    /// Inserts a validated customer (and phones) inside `tx`, with its change.
    pub(crate) fn insert_customer(tx: &Connection, c: &CustomerRow) -> Result<()> {
        let res = tx
            .prepare_cached(
                "INSERT INTO customers(id, external_ref, given_name, family_name, preferred_name,
                    email, birthday, marketing_consent, household_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            )?
            .execute(params![
                c.id,
                c.external_ref,
                c.given_name,
                c.family_name,
                c.preferred_name,
                c.email,
                c.birthday,
                c.marketing_consent,
                c.household_id,
                c.created_at,
            ]);
        if let Err(e) = res {
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
                return Err(Error::invalid(
                    "external reference",
                    format!(
                        "'{}' already belongs to another customer",
                        c.external_ref.as_deref().unwrap_or_default()
                    ),
                ));
            }
            return Err(e.into());
        }
        let mut st = tx.prepare_cached(
            "INSERT INTO customer_phones(customer_id, position, phone, digits) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, p) in c.phones.iter().enumerate() {
            st.execute(params![c.id, i as i64, p, phone_digits(p)])?;
        }
        record_change(
            tx,
            "customer",
            &c.id.to_string(),
            "insert",
            c,
            &c.created_at,
        )
    }

    /// Gives `customer` the card `code`, inside `tx`.
    pub(crate) fn insert_card(
        tx: &Connection,
        customer: CustomerId,
        code: &CardNumber,
        now: &str,
    ) -> Result<()> {
        let holder: Option<(CustomerId, Option<String>)> = tx
            .query_row(
                "SELECT customer_id, retired_at FROM cards WHERE code = ?1",
                [code.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match holder {
            Some((c, None)) if c == customer => return Ok(()),
            Some(_) => {
                return Err(Error::CardTaken {
                    code: code.to_string(),
                })
            }
            None => {}
        }
        let kind = match code.kind() {
            CardKind::Ean13 => "ean13",
            CardKind::Legacy => "legacy",
        };
        tx.prepare_cached(
            "INSERT INTO cards(code, customer_id, kind, issued_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![code.as_str(), customer, kind, now])?;
        #[derive(Serialize)]
        struct CardChange<'a> {
            code: &'a str,
            customer_id: CustomerId,
            kind: &'a str,
            issued_at: &'a str,
        }
        record_change(
            tx,
            "card",
            code.as_str(),
            "insert",
            &CardChange {
                code: code.as_str(),
                customer_id: customer,
                kind,
                issued_at: now,
            },
            now,
        )
    }

    /// The next free store card, advancing the issue counter inside `tx`.
    pub(crate) fn next_card(tx: &Connection) -> Result<CardNumber> {
        let mut serial = card_serial(tx)?;
        loop {
            let card = CardNumber::issue(serial)?;
            serial += 1;
            let taken: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM cards WHERE code = ?1)",
                [card.as_str()],
                |r| r.get(0),
            )?;
            if !taken {
                tx.execute(
                    "INSERT INTO settings(key, value) VALUES ('next_card_serial', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [serial.to_string()],
                )?;
                return Ok(card);
            }
        }
    }

    /// Who holds `code`. Retired cards are reported as such, so the cashier
    /// knows to ask for the current one.
    pub fn card_holder(&self, code: &CardNumber) -> Result<CustomerId> {
        let row: Option<(CustomerId, Option<String>, Option<String>)> = self
            .conn
            .prepare_cached(
                "SELECT customer_id, retired_at, retired_reason FROM cards WHERE code = ?1",
            )?
            .query_row([code.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        match row {
            None => Err(Error::UnknownCard {
                code: code.to_string(),
            }),
            Some((_, Some(_), reason)) => Err(Error::CardRetired {
                code: code.to_string(),
                reason: reason.unwrap_or_else(|| "no reason given".into()),
            }),
            Some((c, None, _)) => Ok(c),
        }
    }

    /// Retires a card (lost, stolen, replaced); history stays with the customer.
    pub fn retire_card(&mut self, code: &CardNumber, reason: &str) -> Result<()> {
        let now = now_iso();
        let reason = clean_text(reason, false);
        let tx = self.write()?;
        let n = tx.execute(
            "UPDATE cards SET retired_at = ?2, retired_reason = ?3 WHERE code = ?1 AND retired_at IS NULL",
            params![code.as_str(), now, reason],
        )?;
        if n == 0 {
            return Err(Error::UnknownCard {
                code: code.to_string(),
            });
        }
        record_change(
            &tx,
            "card",
            code.as_str(),
            "retire",
            &serde_json::json!({ "code": code.as_str(), "retired_at": now, "reason": reason }),
            &now,
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn customer(&self, id: CustomerId) -> Result<CustomerRow> {
        let mut row = self
            .conn
            .prepare_cached(
                "SELECT id, external_ref, given_name, family_name, preferred_name, email, birthday,
                        marketing_consent, household_id, created_at
                 FROM customers WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(CustomerRow {
                    id: r.get(0)?,
                    external_ref: r.get(1)?,
                    given_name: r.get(2)?,
                    family_name: r.get(3)?,
                    preferred_name: r.get(4)?,
                    phones: Vec::new(),
                    email: r.get(5)?,
                    birthday: r.get(6)?,
                    marketing_consent: r.get(7)?,
                    household_id: r.get(8)?,
                    created_at: r.get(9)?,
                })
            })
            .optional()?
            .ok_or_else(|| Error::NotFound {
                what: "customer",
                key: id.to_string(),
            })?;
        row.phones = self
            .conn
            .prepare_cached(
                "SELECT phone FROM customer_phones WHERE customer_id = ?1 ORDER BY position",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(row)
    }

    /// Finds a customer by id or, failing that, by the source system's
    /// reference (e.g. a Complete Journey household id).
    pub fn resolve_customer(&self, id_or_ref: &str) -> Result<CustomerId> {
        let key = id_or_ref.trim();
        if let Ok(id) = key.parse::<CustomerId>() {
            let exists: bool = self.conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM customers WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )?;
            if exists {
                return Ok(id);
            }
        }
        self.conn
            .prepare_cached("SELECT id FROM customers WHERE external_ref = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::NotFound {
                what: "customer",
                key: clip(key),
            })
    }

    pub fn add_note(&mut self, customer: CustomerId, note: &NewNote) -> Result<Note> {
        let note = validate_note(note)?;
        // Fails with NotFound rather than a foreign-key error.
        self.customer(customer)?;
        let stored = Note {
            id: NoteId::new(),
            body: note.body,
            author: note.author,
            visibility: note.visibility,
            follow_up_on: note.follow_up_on,
            created_at: now_iso(),
            expires_on: note.expires_on,
        };
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO notes(id, customer_id, body, author, visibility, follow_up_on, created_at, expires_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                stored.id,
                customer,
                stored.body,
                stored.author,
                stored.visibility.as_str(),
                stored.follow_up_on,
                stored.created_at,
                stored.expires_on
            ],
        )?;
        #[derive(Serialize)]
        struct NoteChange<'a> {
            customer_id: CustomerId,
            #[serde(flatten)]
            note: &'a Note,
        }
        record_change(
            &tx,
            "note",
            &stored.id.to_string(),
            "insert",
            &NoteChange {
                customer_id: customer,
                note: &stored,
            },
            &stored.created_at,
        )?;
        tx.commit()?;
        Ok(stored)
    }

    /// The notes `viewer` may see today: never retired ones; for staff only
    /// staff notes that have not expired.
    pub fn notes(&self, customer: CustomerId, viewer: Viewer) -> Result<Vec<Note>> {
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let mut st = self.conn.prepare_cached(
            "SELECT id, body, author, visibility, follow_up_on, created_at, expires_on
             FROM notes WHERE customer_id = ?1 AND retired_at IS NULL
               AND (?2 = 'owner' OR (visibility = 'staff' AND (expires_on IS NULL OR expires_on > ?3)))
             ORDER BY created_at DESC, id DESC",
        )?;
        let viewer = match viewer {
            Viewer::Staff => "staff",
            Viewer::Owner => "owner",
        };
        let rows = st.query_map(params![customer, viewer, today], |r| {
            let vis: String = r.get(3)?;
            Ok(Note {
                id: r.get(0)?,
                body: r.get(1)?,
                author: r.get(2)?,
                visibility: Visibility::parse(&vis).unwrap_or(Visibility::Owner),
                follow_up_on: r.get(4)?,
                created_at: r.get(5)?,
                expires_on: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every customer as a search document, with visit counts and last visit
    /// (which the ranking uses to put regulars first). One pass per table.
    pub fn search_docs(&self) -> Result<Vec<SearchDoc>> {
        use std::collections::HashMap;
        let mut phones: HashMap<CustomerId, Vec<String>> = HashMap::new();
        let mut st = self.conn.prepare(
            "SELECT customer_id, phone FROM customer_phones ORDER BY customer_id, position",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            phones.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
        let mut activity: HashMap<CustomerId, (u32, Option<i64>)> = HashMap::new();
        let mut st = self.conn.prepare(
            "SELECT customer_id, count(*), max(completed_at) FROM sales
             WHERE customer_id IS NOT NULL AND refund_of IS NULL GROUP BY customer_id",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let last: Option<String> = r.get(2)?;
            activity.insert(
                r.get(0)?,
                (
                    r.get(1)?,
                    last.as_deref()
                        .and_then(super::parse_iso)
                        .map(|t| t.timestamp()),
                ),
            );
        }
        let mut st = self
            .conn
            .prepare("SELECT id, given_name, family_name, preferred_name, email FROM customers")?;
        let docs = st
            .query_map([], |r| {
                let id: CustomerId = r.get(0)?;
                Ok(SearchDoc {
                    id,
                    given_name: r.get(1)?,
                    family_name: r.get(2)?,
                    preferred_name: r.get(3)?,
                    phones: Vec::new(),
                    email: r.get(4)?,
                    visits: 0,
                    last_visit_unix: None,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(docs
            .into_iter()
            .map(|mut d| {
                d.phones = phones.remove(&d.id).unwrap_or_default();
                if let Some((v, l)) = activity.get(&d.id) {
                    d.visits = *v;
                    d.last_visit_unix = *l;
                }
                d
            })
            .collect())
    }

    /// Visits (sales that are not refunds) and the latest one's time: what
    /// summaries show and what ranks regulars first.
    pub fn visits(&self, id: CustomerId) -> Result<(u32, Option<String>)> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*), max(completed_at) FROM sales
                 WHERE customer_id = ?1 AND refund_of IS NULL",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// The search document of one customer (after an edit or a sale).
    pub fn search_doc(&self, id: CustomerId) -> Result<SearchDoc> {
        let c = self.customer(id)?;
        let (visits, last) = self.visits(id)?;
        Ok(SearchDoc {
            id,
            given_name: c.given_name,
            family_name: c.family_name,
            preferred_name: c.preferred_name,
            phones: c.phones,
            email: c.email,
            visits,
            last_visit_unix: last
                .as_deref()
                .and_then(super::parse_iso)
                .map(|t| t.timestamp()),
        })
    }
}

/// The store's card issue counter (the next serial to try).
pub(crate) fn card_serial(tx: &Connection) -> Result<u64> {
    Ok(tx
        .query_row(
            "SELECT value FROM settings WHERE key = 'next_card_serial'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|s| s.parse().ok())
        .unwrap_or(1))
}
