//! The till's side of sync (issue 6; design in `docs/sync.md`): the clock
//! that stamps every outbox change, the push batches handed to the HTTP
//! client and the results it brings back, the pulled pages applied with the
//! shared merge rules (`regulars_sync::rules`), enrolment and status.
//!
//! It owns no networking: the CLI and the shell move the bytes (reqwest) and
//! call these functions, so every decision here is testable with a real
//! store and no server. What a change *means* for each table lives in
//! [`apply`].

pub mod apply;
pub mod clock;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use regulars_sync::protocol::{
    Change, ChangeResult, ChangeStatus, EnrollResponse, PullResponse, SCHEMA_VERSION,
};
use regulars_sync::rules::{class_of, Class};
use regulars_sync::Hlc;

use crate::model::SyncStatus;
use crate::store::{now_iso, Store};
use crate::{Error, Result};

/// The fields an editable change writes, as (column, value): what
/// last-writer-wins compares. Creation ops return the record's fields too
/// (applied when the record is new), but are not stamped locally (see the
/// `field_stamps` comment in migration 0008).
pub fn fields_of(entity: &str, op: &str, payload: &Value) -> Vec<(String, Value)> {
    let obj = |v: &Value| -> Vec<(String, Value)> {
        v.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let pick = |keys: &[&str]| -> Vec<(String, Value)> {
        keys.iter()
            .filter_map(|k| payload.get(*k).map(|v| ((*k).to_string(), v.clone())))
            .collect()
    };
    match (entity, op) {
        (_, "update") if payload.get("fields").is_some() => obj(&payload["fields"]),
        ("offer_event", "update") => pick(&["sale_id"]),
        ("card", "retire") => vec![
            (
                "retired_at".into(),
                payload.get("retired_at").cloned().unwrap_or(Value::Null),
            ),
            (
                "retired_reason".into(),
                payload.get("reason").cloned().unwrap_or(Value::Null),
            ),
        ],
        ("note", "retire") => pick(&["retired_at"]),
        ("sale", "attach_customer") => pick(&["customer_id"]),
        ("offer_campaign", "upsert") => pick(&["rule", "active"]),
        ("staff", _) => pick(&["name", "role", "pin_hash"]),
        ("product", _) => pick(&apply::PRODUCT_FIELDS),
        ("household", "insert") => pick(&["name"]),
        ("customer", "insert") => pick(&apply::CUSTOMER_FIELDS),
        ("customer_attributes", "import") => payload
            .get("attributes")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (format!("attr:{k}"), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Creation ops: their fields apply only to a record this till lacks.
fn is_creation(op: &str) -> bool {
    matches!(op, "insert" | "import")
}

fn device_of(tx: &Connection) -> Result<String> {
    Ok(tx
        .prepare_cached("SELECT value FROM settings WHERE key = 'device_id'")?
        .query_row([], |r| r.get(0))?)
}

/// Does a local change of this kind stamp fields (an edit, or a merge's
/// survivor)? Creations and insert-only kinds do not, so their payload
/// need not be looked into (imports write hundreds of thousands of them).
pub(crate) fn stamps_fields(entity: &str, op: &str) -> bool {
    (entity == "customer" && op == "merge")
        || (class_of(entity, op) == Some(Class::Fields) && !is_creation(op))
}

/// Records the stamp of each field a local edit writes, so a remote edit
/// made earlier (by the clock) cannot overwrite it when it arrives later.
pub(crate) fn stamp_local_fields(
    tx: &Connection,
    entity: &str,
    entity_id: &str,
    op: &str,
    payload: &Value,
    hlc: Hlc,
) -> Result<()> {
    if !stamps_fields(entity, op) {
        return Ok(());
    }
    // A merge rewrites the survivor: its fields carry the merge's stamp.
    let (entity_id, fields) = if entity == "customer" && op == "merge" {
        let survivor = payload
            .get("survivor_id")
            .and_then(Value::as_str)
            .unwrap_or(entity_id);
        let fields: Vec<(String, Value)> = payload
            .get("survivor")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        (survivor, fields)
    } else {
        (entity_id, fields_of(entity, op, payload))
    };
    if fields.is_empty() {
        return Ok(());
    }
    let device = device_of(tx)?;
    let mut st = tx.prepare_cached(
        "INSERT INTO field_stamps(entity, entity_id, field, hlc, device) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc, device = excluded.device",
    )?;
    for (f, _) in fields {
        st.execute(params![entity, entity_id, f, hlc.to_string(), device])?;
    }
    Ok(())
}

/// seq, change id, entity, entity id, op, payload, clock stamp.
type OutboxRow = (i64, String, String, String, String, String, Option<String>);

/// What applying a pulled page did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageReport {
    pub applied: u64,
    pub duplicates: u64,
    /// Changes about an erased customer, or otherwise dropped (see the
    /// conflict log for field races).
    pub dropped: u64,
    /// Erasures applied: the caller should compact the file afterwards.
    pub erased: u64,
    /// Sales that arrived (for the suggestion engine to learn them).
    pub sales: Vec<String>,
    /// Customers whose record or history changed (for the search index).
    pub customers: Vec<String>,
}

impl Store {
    /// The next changes to push, oldest first, at most `limit`. Changes
    /// queued before sync existed get their stamp now.
    pub fn push_batch(&mut self, limit: usize) -> Result<Vec<Change>> {
        let device = self.device().as_uuid();
        let tx = self.write()?;
        let rows: Vec<OutboxRow> = tx
            .prepare_cached(
                "SELECT seq, change_id, entity, entity_id, op, payload, hlc FROM outbox
                 WHERE sent_at IS NULL AND rejected IS NULL ORDER BY seq LIMIT ?1",
            )?
            .query_map([limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, id, entity, entity_id, op, payload, hlc) in rows {
            let hlc = match hlc.as_deref().map(str::parse::<Hlc>) {
                Some(Ok(h)) => h,
                _ => {
                    let h = clock::tick(&tx)?;
                    tx.execute(
                        "UPDATE outbox SET hlc = ?2 WHERE seq = ?1",
                        params![seq, h.to_string()],
                    )?;
                    h
                }
            };
            let payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
            out.push(Change {
                id: id
                    .parse()
                    .map_err(|_| Error::invalid("outbox change id", id.clone()))?,
                device,
                hlc,
                schema: SCHEMA_VERSION,
                entity,
                entity_id,
                op,
                payload,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records the server's answer to a push: applied and duplicate changes
    /// are done; a rejected one is set aside with its reason (so it no
    /// longer blocks the queue) and counted in the status.
    pub fn record_push_results(&mut self, results: &[ChangeResult]) -> Result<()> {
        let now = now_iso();
        let tx = self.write()?;
        {
            let mut done =
                tx.prepare_cached("UPDATE outbox SET sent_at = ?2 WHERE change_id = ?1")?;
            let mut refused =
                tx.prepare_cached("UPDATE outbox SET rejected = ?2 WHERE change_id = ?1")?;
            for r in results {
                let id = r.id.hyphenated().to_string();
                match r.status {
                    ChangeStatus::Applied | ChangeStatus::Duplicate => {
                        done.execute(params![id, now])?;
                    }
                    ChangeStatus::Rejected => {
                        let reason: String = r
                            .reason
                            .as_deref()
                            .unwrap_or("refused by the server")
                            .chars()
                            .take(300)
                            .collect();
                        refused.execute(params![id, reason])?;
                    }
                }
            }
        }
        tx.execute(
            "UPDATE sync_server SET last_push_at = ?1, last_error = NULL WHERE id = 1",
            [&now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Applies one pulled page and moves the cursor, in one transaction: a
    /// crash leaves either both or neither.
    pub fn apply_page(&mut self, page: &PullResponse) -> Result<PageReport> {
        let mut report = PageReport::default();
        let me = self.device().as_uuid();
        let tx = self.write()?;
        tx.pragma_update(None, "defer_foreign_keys", "ON")?;
        for p in &page.changes {
            let c = &p.change;
            if c.device == me {
                report.duplicates += 1;
                continue;
            }
            let seen = tx
                .prepare_cached("INSERT OR IGNORE INTO sync_applied(change_id) VALUES (?1)")?
                .execute([c.id.hyphenated().to_string()])?;
            if seen == 0 {
                report.duplicates += 1;
                continue;
            }
            clock::observe(&tx, c.hlc)?;
            // One change that cannot be applied here (a shape this version
            // does not expect, a broken reference) must not block every
            // change after it: it is rolled back alone and noted for the
            // owner; trouble with the store itself still stops the page.
            tx.execute_batch("SAVEPOINT change")?;
            let outcome = match apply::apply(&tx, c) {
                Ok(o) => {
                    tx.execute_batch("RELEASE change")?;
                    o
                }
                Err(e) if e.is_about_the_data() => {
                    tx.execute_batch("ROLLBACK TO change; RELEASE change")?;
                    apply::note_unapplied(&tx, c, &e)?;
                    report.dropped += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if outcome != apply::Outcome::Dropped {
                if c.entity == "sale" && matches!(c.op.as_str(), "insert" | "import") {
                    report.sales.push(c.entity_id.clone());
                }
                if let Some(s) = regulars_sync::rules::subject(c) {
                    report.customers.push(s.to_string());
                }
                if let Some((_, survivor)) = regulars_sync::rules::redirect_of(c) {
                    report.customers.push(survivor.to_string());
                }
            }
            match outcome {
                apply::Outcome::Applied => report.applied += 1,
                apply::Outcome::Erased => {
                    report.applied += 1;
                    report.erased += 1;
                }
                apply::Outcome::Dropped => report.dropped += 1,
            }
        }
        tx.execute(
            "UPDATE sync_server SET cursor = max(cursor, ?1), last_pull_at = ?2, last_error = NULL
             WHERE id = 1",
            params![page.next_cursor, now_iso()],
        )?;
        if report.applied > 0 {
            // Other readers (the suggestion engine's builder) compare change
            // marks: remote writes must move it too.
            tx.execute(
                "INSERT INTO settings(key, value) VALUES ('remote_changes', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?1",
                [report.applied as i64],
            )?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// The cursor to pull after, or `None` when not enrolled.
    pub fn sync_cursor(&self) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT cursor FROM sync_server WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The server URL and token, or `None` when not enrolled.
    pub fn sync_credentials(&self) -> Result<Option<(String, String)>> {
        Ok(self
            .conn()
            .query_row("SELECT url, token FROM sync_server WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    /// Saves a successful enrolment: the server, the token, and the card
    /// range this device issues from from now on.
    pub fn save_enrolment(&mut self, url: &str, e: &EnrollResponse) -> Result<()> {
        if e.device_id != self.device().as_uuid() {
            return Err(Error::invalid(
                "enrolment",
                "the server enrolled a different device id; enroll again with a new code",
            ));
        }
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO sync_server(id, url, token, device_number, organisation, store_name, enrolled_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET url = excluded.url, token = excluded.token,
                device_number = excluded.device_number, organisation = excluded.organisation,
                store_name = excluded.store_name, enrolled_at = excluded.enrolled_at, last_error = NULL",
            params![url, e.token, e.device_number, e.organisation, e.store_name, now_iso()],
        )?;
        // Cards: serial = device number * 1,000,000 + n (see docs/sync.md).
        let start = u64::from(e.device_number) * 1_000_000;
        let current = crate::store::card_serial(&tx)?;
        if current < start || current >= start + 1_000_000 {
            crate::store::set_setting(&tx, "next_card_serial", &start.max(1).to_string())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records what went wrong in the last sync attempt (shown in status).
    pub fn set_sync_error(&self, message: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE sync_server SET last_error = ?1 WHERE id = 1",
            [message.chars().take(300).collect::<String>()],
        )?;
        Ok(())
    }

    /// Learns the offset to the server's clock from a response.
    pub fn learn_server_time(&self, server_ms: u64, sent_ms: u64, received_ms: u64) -> Result<()> {
        let c = regulars_sync::Clock::learn(server_ms, sent_ms, received_ms);
        clock::set_offset(self.conn(), c.offset_ms)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let c = self.conn();
        let pending: i64 = c.query_row(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND rejected IS NULL",
            [],
            |r| r.get(0),
        )?;
        let rejected: i64 = c.query_row(
            "SELECT count(*) FROM outbox WHERE rejected IS NOT NULL AND sent_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        let conflicts: i64 =
            c.query_row("SELECT count(*) FROM sync_conflicts", [], |r| r.get(0))?;
        let row = c
            .query_row(
                "SELECT url, store_name, device_number, last_push_at, last_pull_at, last_error, cursor
                 FROM sync_server WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                },
            )
            .optional()?;
        Ok(match row {
            None => SyncStatus {
                enrolled: false,
                pending: pending as u64,
                rejected: rejected as u64,
                conflicts: conflicts as u64,
                ..SyncStatus::default()
            },
            Some((url, store, number, push, pull, error, cursor)) => SyncStatus {
                enrolled: true,
                server: Some(url),
                store_name: Some(store),
                device_number: Some(number as u32),
                last_push_at: push,
                last_pull_at: pull,
                last_error: error,
                cursor,
                pending: pending as u64,
                rejected: rejected as u64,
                conflicts: conflicts as u64,
            },
        })
    }
}
