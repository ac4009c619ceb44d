//! The embedded backend: one SQLite file, `DIR/server.db`, nothing to
//! install. WAL, a busy timeout, foreign keys on, `synchronous=FULL` (a
//! push answered `applied` must survive a power cut: the till deletes its
//! copy). Embedded append-only migrations (migrations/sqlite).
//!
//! One writer connection behind a mutex does every write, so pushes are
//! serialised and the cursor (`INTEGER PRIMARY KEY`) is commit order; pushes
//! that queue up while it is busy are committed together (group commit, a
//! savepoint per batch: see `backend::group`), so 50 tills share
//! fsyncs instead of waiting for one each. Pulls and authentication read on
//! a small pool of reader connections, which WAL lets run beside the writer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use regulars_sync::protocol::{Change, ChangeResult};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use uuid::Uuid;

use super::group::{all_failed, Answer, PushJob, Queue};
use super::{iso, page, parse_uuid, Backend, Device, Enrolled, LogRow, Page};
use crate::error::{Error, Result};
use crate::push::{apply_batch, LogTx, StoredRow};

const MIGRATION_SQL: &[&str] = &[include_str!("../../migrations/sqlite/0001_init.sql")];

static MIGRATIONS: LazyLock<Migrations<'static>> =
    LazyLock::new(|| Migrations::new(MIGRATION_SQL.iter().map(|sql| M::up(sql)).collect()));

/// Readers kept open between requests; more are opened under load.
const READERS_KEPT: usize = 16;

pub struct SqliteBackend {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Pushes waiting for the writer (group commit).
    queue: Queue,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.path)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock left no transaction open (rusqlite
    // rolls back on drop), so the connection is still good.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteBackend {
    /// Opens (creating and migrating) `dir/server.db`.
    pub fn open_dir(dir: &Path) -> Result<SqliteBackend> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            what: format!("creating the data directory {}", dir.display()),
            source,
        })?;
        SqliteBackend::open(&dir.join("server.db"))
    }

    pub fn open(path: &Path) -> Result<SqliteBackend> {
        let mut writer = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        MIGRATIONS.to_latest(&mut writer)?;
        Ok(SqliteBackend {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            queue: Queue::default(),
        })
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = lock(&self.readers).pop();
        let conn = match conn {
            Some(c) => c,
            None => connect(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?,
        };
        let out = f(&conn);
        let mut pool = lock(&self.readers);
        if pool.len() < READERS_KEPT {
            pool.push(conn);
        }
        out
    }

    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

const DEVICE_COLUMNS: &str =
    "id, device_number, name, store_name, enrolled_at, revoked_at, last_seen_at";

/// A devices row as read, before its id and number are checked.
type DeviceRow = (
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_device(t: DeviceRow) -> Result<Device> {
    Ok(Device {
        id: parse_uuid(&t.0)?,
        number: u32::try_from(t.1).map_err(Error::corrupt)?,
        name: t.2,
        store_name: t.3,
        enrolled_at: t.4,
        revoked_at: t.5,
        last_seen_at: t.6,
    })
}

fn organisation(conn: &Connection) -> Result<String> {
    Ok(conn.query_row(
        "SELECT value FROM meta WHERE key = 'organisation'",
        [],
        |r| r.get(0),
    )?)
}

fn floor(conn: &Connection) -> Result<i64> {
    let v: String = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'floor'")?
        .query_row([], |r| r.get(0))?;
    v.parse().map_err(Error::corrupt)
}

impl Backend for SqliteBackend {
    fn organisation(&self) -> Result<String> {
        self.with_reader(organisation)
    }

    fn set_organisation(&self, name: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'organisation'",
                [name],
            )?;
            Ok(())
        })
    }

    fn add_enroll_code(
        &self,
        code_hash: &str,
        store_name: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO enroll_codes(code_hash, store_name, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![code_hash, store_name, iso(now), iso(expires)],
            )?;
            Ok(())
        })
    }

    fn enroll(
        &self,
        code_hash: &str,
        device_id: Uuid,
        device_name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Enrolled> {
        let now = iso(now);
        let id = device_id.to_string();
        self.write(|tx| {
            let code: Option<(String, String, Option<String>)> = tx
                .query_row(
                    "SELECT store_name, expires_at, used_at FROM enroll_codes WHERE code_hash = ?1",
                    [code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let store = match code {
                Some((store, expires, None)) if expires > now => store,
                _ => return Err(Error::BadEnrollCode),
            };
            let existing: Option<Option<String>> = tx
                .query_row("SELECT revoked_at FROM devices WHERE id = ?1", [&id], |r| r.get(0))
                .optional()?;
            match existing {
                Some(Some(_)) => return Err(Error::Revoked),
                Some(None) => {
                    tx.execute(
                        "UPDATE devices SET token_hash = ?2, name = ?3, store_name = ?4 WHERE id = ?1",
                        params![id, token_hash, device_name, store],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO devices(id, device_number, name, store_name, token_hash, enrolled_at)
                         VALUES (?1, (SELECT coalesce(max(device_number), 0) + 1 FROM devices), ?2, ?3, ?4, ?5)",
                        params![id, device_name, store, token_hash, now],
                    )?;
                }
            }
            tx.execute(
                "UPDATE enroll_codes SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
                params![code_hash, now, id],
            )?;
            let device = to_device(tx.query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                [&id],
                device_row,
            )?)?;
            Ok(Enrolled {
                device,
                organisation: organisation(tx)?,
            })
        })
    }

    fn authenticate(&self, token_hash: &str) -> Result<Device> {
        self.with_reader(|conn| {
            let row = conn
                .prepare_cached(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1"
                ))?
                .query_row([token_hash], device_row)
                .optional()?;
            let device = to_device(row.ok_or(Error::Unauthorized)?)?;
            if device.revoked_at.is_some() {
                return Err(Error::Revoked);
            }
            Ok(device)
        })
    }

    fn revoke(&self, device: Uuid, now: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![device.to_string(), iso(now)],
            )?;
            if n == 0 {
                return Err(Error::UnknownDevice(device.to_string()));
            }
            Ok(())
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY device_number"
            ))?;
            let rows = st
                .query_map([], device_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(to_device).collect()
        })
    }

    /// Group commit (see `backend::group`).
    fn push(
        &self,
        device: Uuid,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<Vec<ChangeResult>> {
        self.queue
            .push(&self.writer, device, changes, iso(now), run_group)
    }

    fn pull(&self, device: Uuid, after: i64, limit: usize) -> Result<Page> {
        self.with_reader(|conn| {
            // One read transaction, so the floor and the page agree; it
            // ends (rolls back, nothing was written) when dropped.
            let tx = conn.unchecked_transaction()?;
            pull_in(&tx, device, after, limit)
        })
    }
}

/// Applies queued pushes in one transaction, a savepoint each; one answer
/// per job, in order.
fn run_group(conn: &mut Connection, group: &[Arc<PushJob>]) -> Vec<Answer> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return all_failed(group, &e),
    };
    let answers = group.iter().map(|job| apply_job(&mut tx, job)).collect();
    match tx.commit() {
        Ok(()) => answers,
        Err(e) => all_failed(group, &e),
    }
}

fn apply_job(tx: &mut rusqlite::Transaction<'_>, job: &PushJob) -> Result<Vec<ChangeResult>> {
    let sp = tx.savepoint()?;
    sp.prepare_cached("UPDATE devices SET last_seen_at = ?2 WHERE id = ?1")?
        .execute(params![job.device.to_string(), job.now])?;
    let results = apply_batch(&mut SqliteTx(&sp), job.device, &job.changes, &job.now)?;
    sp.commit()?;
    Ok(results)
}

fn pull_in(conn: &Connection, device: Uuid, after: i64, limit: usize) -> Result<Page> {
    let floor = floor(conn)?;
    if after < floor {
        return Err(Error::ResyncRequired { after, floor });
    }
    let mut st = conn.prepare_cached(
        "SELECT seq, change_id, device, hlc, schema_version, entity, entity_id, op, payload
         FROM changes WHERE seq > ?1 AND device <> ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = st
        .query_map(params![after, device.to_string(), limit as i64 + 1], |r| {
            Ok(LogRow {
                seq: r.get(0)?,
                id: r.get(1)?,
                device: r.get(2)?,
                hlc: r.get(3)?,
                schema: r.get(4)?,
                entity: r.get(5)?,
                entity_id: r.get(6)?,
                op: r.get(7)?,
                payload: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    page(rows, limit, floor)
}

struct SqliteTx<'a>(&'a Connection);

impl LogTx for SqliteTx<'_> {
    fn has_change(&mut self, id: Uuid) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM changes WHERE change_id = ?1")?
            .exists([id.to_string()])?)
    }

    fn insert_change(
        &mut self,
        c: &Change,
        payload: &str,
        subject: Option<&str>,
        now: &str,
    ) -> Result<i64> {
        self.0
            .prepare_cached(
                "INSERT INTO changes(change_id, device, hlc, schema_version, entity, entity_id, op, payload, subject, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                c.id.to_string(),
                c.device.to_string(),
                c.hlc.to_string(),
                c.schema,
                c.entity,
                c.entity_id,
                c.op,
                payload,
                subject,
                now
            ])?;
        Ok(self.0.last_insert_rowid())
    }

    fn is_erased(&mut self, customer: &str) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM erased WHERE customer_id = ?1")?
            .exists([customer])?)
    }

    fn mark_erased(&mut self, customer: &str, now: &str) -> Result<()> {
        self.0
            .prepare_cached("INSERT OR IGNORE INTO erased(customer_id, erased_at) VALUES (?1, ?2)")?
            .execute([customer, now])?;
        Ok(())
    }

    fn survivor_of(&mut self, merged: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT survivor FROM redirects WHERE merged = ?1")?
            .query_row([merged], |r| r.get(0))
            .optional()?)
    }

    fn set_redirect(&mut self, merged: &str, survivor: &str) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO redirects(merged, survivor) VALUES (?1, ?2)
                 ON CONFLICT(merged) DO UPDATE SET survivor = excluded.survivor",
            )?
            .execute([merged, survivor])?;
        Ok(())
    }

    fn remove_redirect(&mut self, merged: &str) -> Result<()> {
        self.0
            .prepare_cached("DELETE FROM redirects WHERE merged = ?1")?
            .execute([merged])?;
        Ok(())
    }

    fn merged_into(&mut self, survivor: &str) -> Result<Vec<String>> {
        let mut st = self
            .0
            .prepare_cached("SELECT merged FROM redirects WHERE survivor = ?1")?;
        let rows = st
            .query_map([survivor], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn changes_about(&mut self, customer: &str) -> Result<Vec<StoredRow>> {
        let mut st = self
            .0
            .prepare_cached("SELECT seq, entity, op, payload FROM changes WHERE subject = ?1")?;
        let rows = st
            .query_map([customer], |r| {
                Ok(StoredRow {
                    seq: r.get(0)?,
                    entity: r.get(1)?,
                    op: r.get(2)?,
                    payload: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_payload(&mut self, seq: i64, payload: &str) -> Result<()> {
        self.0
            .prepare_cached("UPDATE changes SET payload = ?2 WHERE seq = ?1")?
            .execute(params![seq, payload])?;
        Ok(())
    }
}
