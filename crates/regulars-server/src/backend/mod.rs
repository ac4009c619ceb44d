//! Where the server keeps its state: the organisation, enrolment codes,
//! devices and the change log. [`Backend`] is the one trait, with two
//! implementations: [`SqliteBackend`] (embedded, the default, nothing to
//! install) and [`PgBackend`] (PostgreSQL, `--database postgres://...`).
//! The same test suite runs on both (tests/backend.rs).
//!
//! The trait is synchronous: the HTTP layer calls it from
//! `tokio::task::spawn_blocking`, and both implementations serialise pushes
//! on one writer connection, so a cursor is never committed after a larger
//! one. What a batch does to the log is shared code ([`crate::push`]);
//! making codes and tokens and checking them is [`crate::service`].

use chrono::{DateTime, Utc};
use regulars_sync::protocol::{Change, ChangeResult, PulledChange};
use regulars_sync::Hlc;
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::error::{Error, Result};

mod group;
pub mod pg;
pub mod sqlite;

pub use pg::PgBackend;
pub use sqlite::SqliteBackend;

/// An enrolled till.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The till's own device id (its store's), also the author of its changes.
    pub id: Uuid,
    /// Unique within the organisation, from 1; the till's card range.
    pub number: u32,
    pub name: String,
    pub store_name: String,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
    /// When it last pushed.
    pub last_seen_at: Option<String>,
}

/// The answer to a consumed enrolment code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolled {
    pub device: Device,
    pub organisation: String,
}

/// One stored change as pulls serve it: the payload stays the JSON text it
/// was stored as (checked, not rebuilt), which makes bootstrapping a new
/// till several times cheaper than parsing and re-serialising every
/// payload. Serialises exactly as the protocol's [`PulledChange`].
#[derive(Clone, Debug)]
pub struct StoredChange {
    pub cursor: i64,
    pub id: Uuid,
    pub device: Uuid,
    pub hlc: Hlc,
    pub schema: u32,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub payload: Box<RawValue>,
}

#[derive(Serialize)]
struct WireChange<'a> {
    id: &'a Uuid,
    device: &'a Uuid,
    hlc: &'a Hlc,
    schema: u32,
    entity: &'a str,
    entity_id: &'a str,
    op: &'a str,
    payload: &'a RawValue,
}

impl Serialize for StoredChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            cursor: i64,
            change: WireChange<'a>,
        }
        Wire {
            cursor: self.cursor,
            change: WireChange {
                id: &self.id,
                device: &self.device,
                hlc: &self.hlc,
                schema: self.schema,
                entity: &self.entity,
                entity_id: &self.entity_id,
                op: &self.op,
                payload: &self.payload,
            },
        }
        .serialize(s)
    }
}

impl StoredChange {
    /// The protocol's typed form (parses the payload).
    pub fn to_pulled(&self) -> Result<PulledChange> {
        Ok(PulledChange {
            cursor: self.cursor,
            change: Change {
                id: self.id,
                device: self.device,
                hlc: self.hlc,
                schema: self.schema,
                entity: self.entity.clone(),
                entity_id: self.entity_id.clone(),
                op: self.op.clone(),
                payload: serde_json::from_str(self.payload.get()).map_err(Error::corrupt)?,
            },
        })
    }
}

/// One page of the log for a device.
#[derive(Clone, Debug)]
pub struct Page {
    pub changes: Vec<StoredChange>,
    /// More changes wait after this page.
    pub more: bool,
    /// The oldest cursor still served (0 until the log is compacted).
    pub floor: i64,
}

/// The server's storage. Times are passed in (not read from the clock) so
/// expiry is testable; they are stored as ISO-8601 UTC text.
pub trait Backend: Send + Sync + 'static {
    /// The organisation's display name.
    fn organisation(&self) -> Result<String>;
    fn set_organisation(&self, name: &str) -> Result<()>;
    /// Stores a new one-time code (by its hash) for a till of `store_name`.
    fn add_enroll_code(
        &self,
        code_hash: &str,
        store_name: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()>;
    /// Consumes a code: the device `device_id` is enrolled (or, when it was
    /// enrolled before and not revoked, gets a new token and keeps its
    /// number). `BadEnrollCode` when the code is unknown, used or expired;
    /// `Revoked` for a revoked device. The code is used up only on success.
    fn enroll(
        &self,
        code_hash: &str,
        device_id: Uuid,
        device_name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Enrolled>;
    /// The device holding this token: `Unauthorized` when none, `Revoked`
    /// when it was revoked.
    fn authenticate(&self, token_hash: &str) -> Result<Device>;
    /// Blocks a device for good. `UnknownDevice` when there is none.
    fn revoke(&self, device: Uuid, now: DateTime<Utc>) -> Result<()>;
    /// Every device ever enrolled, by number.
    fn devices(&self) -> Result<Vec<Device>>;
    /// One batch from an authenticated device, in one transaction; one
    /// result per change, in order (see [`crate::push`]).
    fn push(
        &self,
        device: Uuid,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<Vec<ChangeResult>>;
    /// Changes of other devices with cursor > `after`, in cursor order, at
    /// most `limit`. `ResyncRequired` when `after` is below the floor.
    fn pull(&self, device: Uuid, after: i64, limit: usize) -> Result<Page>;
}

/// How the server writes a time.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| Error::corrupt(format!("stored id {s:?} is not a UUID")))
}

/// The row a backend reads back for one stored change.
pub(crate) struct LogRow {
    pub seq: i64,
    pub id: String,
    pub device: String,
    pub hlc: String,
    pub schema: i64,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub payload: String,
}

impl LogRow {
    pub(crate) fn into_stored(self) -> Result<StoredChange> {
        Ok(StoredChange {
            cursor: self.seq,
            id: parse_uuid(&self.id)?,
            device: parse_uuid(&self.device)?,
            hlc: self.hlc.parse().map_err(Error::corrupt)?,
            schema: u32::try_from(self.schema).map_err(Error::corrupt)?,
            entity: self.entity,
            entity_id: self.entity_id,
            op: self.op,
            payload: RawValue::from_string(self.payload).map_err(Error::corrupt)?,
        })
    }
}

/// Shapes a page from up to `limit + 1` rows read past `after`.
pub(crate) fn page(rows: Vec<LogRow>, limit: usize, floor: i64) -> Result<Page> {
    let more = rows.len() > limit;
    let changes = rows
        .into_iter()
        .take(limit)
        .map(LogRow::into_stored)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        changes,
        more,
        floor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_change_serialises_as_the_protocol_says() {
        let row = LogRow {
            seq: 42,
            id: Uuid::now_v7().to_string(),
            device: Uuid::now_v7().to_string(),
            hlc: "0001764000000000.00007".into(),
            schema: 1,
            entity: "sale".into(),
            entity_id: "s1".into(),
            op: "insert".into(),
            payload: r#"{"customer_id":null,"lines":[{"amount_cents":450}],"total_cents":450}"#
                .into(),
        };
        let stored = row.into_stored().unwrap();
        let typed = stored.to_pulled().unwrap();
        let a: serde_json::Value = serde_json::to_value(&stored).unwrap();
        let b: serde_json::Value = serde_json::to_value(&typed).unwrap();
        assert_eq!(a, b);
        let back: PulledChange = serde_json::from_value(a).unwrap();
        assert_eq!(back, typed);
        assert_eq!(back.cursor, 42);
        // Stored text that is not JSON is refused, not served.
        let bad = LogRow {
            payload: "{not json".into(),
            ..LogRow {
                seq: 1,
                id: Uuid::now_v7().to_string(),
                device: Uuid::now_v7().to_string(),
                hlc: "0001764000000000.00007".into(),
                schema: 1,
                entity: "note".into(),
                entity_id: "n".into(),
                op: "insert".into(),
                payload: String::new(),
            }
        };
        assert!(matches!(bad.into_stored(), Err(Error::Corrupt(_))));
    }
}
