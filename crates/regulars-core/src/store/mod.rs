//! The SQLite store: opening a file safely, the schema and its migrations,
//! and the outbox that records every user write for sync.
//!
//! Owns: connection setup (WAL, foreign keys, busy timeout, per
//! connection), detecting files that are locked, damaged or not ours,
//! applying the embedded append-only migrations atomically, and the rule that
//! a user write and its outbox row commit in the same transaction.
//! Does not own: ranking or any other decision (pure functions elsewhere),
//! the in-memory search index (see [`crate::search`]), shipping the outbox.

pub(crate) mod audit;
pub mod backup;
mod customers;
pub(crate) mod erase;
pub(crate) mod manage;
pub(crate) use customers::card_serial;
mod profile;
mod sales;
pub(crate) mod staff;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction};
use rusqlite_migration::{Migrations, M};
use serde::Serialize;

use crate::ids::{ChangeId, DeviceId};
use crate::{Error, Result};

pub(crate) use customers::validate_new as customers_validate_new;
pub use customers::{display_name, phone_digits, CustomerRow, NOTE_MAX_CHARS};
pub use sales::receipt_html;

/// `PRAGMA application_id` of a Regulars store ("REGU"): lets us refuse to
/// open, and so never modify, some other program's SQLite file.
pub(crate) const APPLICATION_ID: i64 = 0x5245_4755;

/// The schema's history, oldest first; a store's `user_version` is how many
/// of these it has applied. Append only: never edit or reorder a file that
/// has shipped.
const MIGRATION_SQL: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_import.sql"),
    include_str!("../../migrations/0003_suggestions.sql"),
    include_str!("../../migrations/0004_visit_index.sql"),
    include_str!("../../migrations/0005_staff_audit.sql"),
    include_str!("../../migrations/0006_review.sql"),
    include_str!("../../migrations/0007_manage.sql"),
    include_str!("../../migrations/0008_sync.sql"),
];

static MIGRATIONS: LazyLock<Migrations<'static>> =
    LazyLock::new(|| Migrations::new(MIGRATION_SQL.iter().map(|sql| M::up(sql)).collect()));

/// Number of migrations this build knows (the newest schema version).
pub fn schema_version() -> i64 {
    MIGRATION_SQL.len() as i64
}

/// An open store. One connection; callers serialise access (the app keeps it
/// behind a mutex, the CLI is single-threaded).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    device: DeviceId,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema
    /// up to date. A file that is locked, damaged, not SQLite, not a Regulars
    /// store or from a newer version is refused with a clear error and left
    /// untouched.
    pub fn open(path: &Path) -> Result<Self> {
        let existed = path.exists()
            && std::fs::metadata(path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify_open_error(path, e))?;
        Self::setup(conn, path.to_path_buf(), existed)
    }

    /// A private in-memory store, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        Self::setup(conn, PathBuf::from(":memory:"), false)
    }

    fn setup(mut conn: Connection, path: PathBuf, existed: bool) -> Result<Self> {
        let classify = |e: rusqlite::Error| classify_open_error(&path, e);
        conn.busy_timeout(Duration::from_secs(3))
            .map_err(classify)?;
        // Reading the application id is the first real read of the file: a
        // non-database or damaged header fails here, before we write.
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(classify)?;
        let user_version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(classify)?;
        if existed && app_id != APPLICATION_ID && (app_id != 0 || user_version != 0) {
            return Err(Error::Corrupt {
                path: path.display().to_string(),
                detail: "it is an SQLite file of some other program".into(),
            });
        }
        if existed && app_id == 0 && user_version == 0 {
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
                .map_err(classify)?;
            if tables > 0 {
                return Err(Error::Corrupt {
                    path: path.display().to_string(),
                    detail: "it is an SQLite file of some other program".into(),
                });
            }
        }
        if user_version > schema_version() {
            return Err(Error::TooNew {
                found: user_version,
                known: schema_version(),
            });
        }
        if path.as_os_str() != ":memory:" {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(classify)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Busy);
            }
        }
        // NORMAL is durable across application crashes in WAL mode and only
        // risks the last transactions on power loss; FULL for a till that may
        // lose power anytime is worth its small cost.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
        )
        .map_err(classify)?;
        MIGRATIONS.to_latest(&mut conn).map_err(|e| match e {
            rusqlite_migration::Error::RusqliteError { err, .. } => classify(err),
            other => Error::Migration(other),
        })?;
        if app_id != APPLICATION_ID {
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        let device = match get_setting(&conn, "device_id")? {
            Some(d) => d.parse()?,
            None => {
                let d = DeviceId::new();
                set_setting(&conn, "device_id", &d.to_string())?;
                d
            }
        };
        Ok(Store { conn, path, device })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn device(&self) -> DeviceId {
        self.device
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A write transaction that takes the write lock up front, so a busy
    /// store fails at the start instead of half-way.
    pub fn write(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// Grows with every user write on any connection (the outbox's newest
    /// change): equal marks mean nothing was written in between.
    pub fn change_mark(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row(
                "SELECT coalesce((SELECT max(seq) FROM outbox), 0)
                      + coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'remote_changes'), 0)",
                [],
                |r| r.get(0),
            )?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        get_setting(&self.conn, key)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        set_setting(&self.conn, key, value)
    }

    /// Changes recorded but not yet shipped to a server.
    pub fn pending_changes(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND rejected IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// `PRAGMA integrity_check`, for support and tests: Ok when the file is sound.
    pub fn integrity_check(&self) -> Result<()> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if res == "ok" {
            Ok(())
        } else {
            Err(Error::Corrupt {
                path: self.path.display().to_string(),
                detail: res,
            })
        }
    }
}

fn get_setting(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Writes one setting on `conn` (a transaction too, so it commits with the
/// change it belongs to).
pub(crate) fn set_setting(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

fn classify_open_error(path: &Path, e: rusqlite::Error) -> Error {
    if crate::error::is_busy(&e) {
        return Error::Busy;
    }
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::Corrupt {
                path: path.display().to_string(),
                detail: e.to_string(),
            }
        }
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly) => Error::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        },
        _ => e.into(),
    }
}

/// Records one change in the outbox, inside the caller's transaction: the
/// change commits or rolls back together with the write it describes.
pub(crate) fn record_change<T: Serialize>(
    tx: &Connection,
    entity: &str,
    entity_id: &str,
    op: &str,
    payload: &T,
    now: &str,
) -> Result<()> {
    let bad = |e: serde_json::Error| Error::invalid("change", e.to_string());
    let hlc = crate::sync::clock::tick(tx)?;
    // Only an edit's payload is looked into (for its field stamps); the
    // rest is serialised straight to text.
    let json = if crate::sync::stamps_fields(entity, op) {
        let value = serde_json::to_value(payload).map_err(bad)?;
        crate::sync::stamp_local_fields(tx, entity, entity_id, op, &value, hlc)?;
        value.to_string()
    } else {
        serde_json::to_string(payload).map_err(bad)?
    };
    tx.prepare_cached(
        "INSERT INTO outbox(change_id, entity, entity_id, op, payload, created_at, hlc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![
        ChangeId::new(),
        entity,
        entity_id,
        op,
        json,
        now,
        hlc.to_string()
    ])?;
    Ok(())
}

/// The current time as the store writes it.
pub fn now_iso() -> String {
    iso(chrono::Utc::now())
}

pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn parse_iso(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests;
