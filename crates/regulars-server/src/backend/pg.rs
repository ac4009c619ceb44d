//! The PostgreSQL backend for larger deployments (`--database postgres://...`).
//! The same tables as SQLite (migrations/postgres, embedded, append-only,
//! applied under an advisory lock so two servers starting together do not
//! race).
//!
//! Cursor = commit order: every push transaction first takes one
//! transaction-level advisory lock, then numbers its changes from
//! `max(seq) + 1`; the lock is released only after the commit is visible,
//! so a cursor is never committed after a larger one and there are no gaps
//! (not even from rolled-back pushes, which a sequence would leave). That
//! holds across several server processes sharing one database, too.
//!
//! It uses the synchronous `postgres` client (tokio-postgres underneath),
//! called from `spawn_blocking` like SQLite, so both share [`crate::push`].
//! One writer connection behind a mutex (pushes are serialised by the lock
//! anyway), with group commit like SQLite (`backend::group`: pushes queued
//! behind the writer share one transaction and one lock, a savepoint each),
//! and a small pool of readers for pulls and authentication. Round trips
//! are what cost here, so a batch's look-ups are read up front in three
//! queries (`LogTx::prefetch`) and its inserts go in one statement: a push
//! is about 7 round trips whatever its size.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use postgres::{Client, NoTls, Statement, Transaction};
use regulars_sync::protocol::{Change, ChangeResult};
use uuid::Uuid;

use super::group::{all_failed, Answer, PushJob, Queue};
use super::{iso, page, parse_uuid, Backend, Device, Enrolled, LogRow, Page};
use crate::error::{Error, Result};
use crate::push::{apply_batch, LogTx, StoredRow};

const MIGRATION_SQL: &[&str] = &[include_str!("../../migrations/postgres/0001_init.sql")];

/// Advisory lock keys (arbitrary, fixed): pushes and migrations.
const PUSH_LOCK: i64 = 0x5245_4755_0001;
const MIGRATE_LOCK: i64 = 0x5245_4755_0002;

const READERS_KEPT: usize = 8;

struct Conn {
    client: Client,
    /// Prepared once per connection: a push runs the same few statements
    /// many times, and preparing costs a round trip.
    stmts: HashMap<&'static str, Statement>,
}

impl Conn {
    fn connect(url: &str) -> Result<Conn> {
        Ok(Conn {
            client: Client::connect(url, NoTls)?,
            stmts: HashMap::new(),
        })
    }
}

pub struct PgBackend {
    url: String,
    writer: Mutex<Conn>,
    readers: Mutex<Vec<Conn>>,
    /// Pushes waiting for the writer (group commit).
    queue: Queue,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("PgBackend").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PgBackend {
    /// Connects and migrates. Must not be called on an async runtime's
    /// worker thread (use `spawn_blocking`), like every method here.
    pub fn connect(url: &str) -> Result<PgBackend> {
        let mut writer = Conn::connect(url)?;
        migrate(&mut writer.client)?;
        Ok(PgBackend {
            url: url.to_string(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            queue: Queue::default(),
        })
    }

    fn with_reader<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let conn = lock(&self.readers).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => Conn::connect(&self.url)?,
        };
        let out = f(&mut conn);
        // A broken connection is dropped rather than pooled.
        if !conn.client.is_closed() {
            let mut pool = lock(&self.readers);
            if pool.len() < READERS_KEPT {
                pool.push(conn);
            }
        }
        out
    }

    fn write<T>(&self, f: impl FnOnce(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.writer);
        if guard.client.is_closed() {
            *guard = Conn::connect(&self.url)?;
        }
        let Conn { client, stmts } = &mut *guard;
        let tx = client.transaction()?;
        let mut t = PgTx {
            tx,
            stmts,
            next_seq: None,
            cache: Cache::default(),
            pending: Pending::default(),
        };
        let out = f(&mut t)?;
        t.flush()?;
        t.tx.commit()?;
        Ok(out)
    }
}

/// Applies queued pushes in one transaction under the push lock, a
/// savepoint each; one answer per job, in order.
fn run_group(conn: &mut Conn, group: &[Arc<PushJob>]) -> Vec<Answer> {
    let Conn { client, stmts } = conn;
    let mut tx = match client.transaction() {
        Ok(tx) => tx,
        Err(e) => return all_failed(group, &e),
    };
    if let Err(e) = tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PUSH_LOCK]) {
        return all_failed(group, &e);
    }
    let mut next_seq = None;
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        let answer = (|| {
            let sp = tx.transaction()?;
            let mut t = PgTx {
                tx: sp,
                stmts: &mut *stmts,
                next_seq,
                cache: Cache::default(),
                pending: Pending::default(),
            };
            let st = t.stmt("UPDATE devices SET last_seen_at = $2 WHERE id = $1")?;
            t.tx.execute(&st, &[&job.device.to_string(), &job.now])?;
            let results = apply_batch(&mut t, job.device, &job.changes, &job.now)?;
            t.flush()?;
            let seq = t.next_seq;
            t.tx.commit()?;
            // Only a batch that stayed moves the numbering on: a rolled
            // back one leaves no gap.
            next_seq = seq;
            Ok(results)
        })();
        answers.push(answer);
    }
    match tx.commit() {
        Ok(()) => answers,
        Err(e) => all_failed(group, &e),
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS server_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )?;
    let done: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM server_migrations",
            &[],
        )?
        .get(0);
    if done as usize > MIGRATION_SQL.len() {
        return Err(Error::Corrupt(format!(
            "the database is at schema {done}, newer than this server ({}); upgrade the server",
            MIGRATION_SQL.len()
        )));
    }
    for (i, sql) in MIGRATION_SQL.iter().enumerate().skip(done as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO server_migrations(version, applied_at) VALUES ($1, $2)",
            &[&(i as i32 + 1), &iso(Utc::now())],
        )?;
    }
    tx.commit()?;
    Ok(())
}

const DEVICE_COLUMNS: &str =
    "id, device_number, name, store_name, enrolled_at, revoked_at, last_seen_at";

fn to_device(r: &postgres::Row) -> Result<Device> {
    let n: i32 = r.try_get(1)?;
    Ok(Device {
        id: parse_uuid(r.try_get(0)?)?,
        number: u32::try_from(n).map_err(Error::corrupt)?,
        name: r.try_get(2)?,
        store_name: r.try_get(3)?,
        enrolled_at: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
        last_seen_at: r.try_get(6)?,
    })
}

/// An open write transaction with the connection's statement cache.
struct PgTx<'a> {
    tx: Transaction<'a>,
    stmts: &'a mut HashMap<&'static str, Statement>,
    /// The next cursor, read once under the push lock.
    next_seq: Option<i64>,
    /// What [`LogTx::prefetch`] read for the batch, kept current by the
    /// batch's own writes (no one else writes: the push lock is held). Each
    /// look-up would otherwise be a round trip per change.
    cache: Cache,
    /// Inserts not yet sent.
    pending: Pending,
}

/// Queued inserts, column by column, for one `INSERT ... SELECT UNNEST`.
#[derive(Default)]
struct Pending {
    seq: Vec<i64>,
    id: Vec<String>,
    device: Vec<String>,
    hlc: Vec<String>,
    schema: Vec<i32>,
    entity: Vec<String>,
    entity_id: Vec<String>,
    op: Vec<String>,
    payload: Vec<String>,
    subject: Vec<Option<String>>,
    received: Vec<String>,
}

#[derive(Default)]
struct Cache {
    /// Every change id of the batch already stored (`Some` once prefetched).
    stored: Option<HashSet<Uuid>>,
    erased: HashMap<String, bool>,
    survivors: HashMap<String, Option<String>>,
}

impl PgTx<'_> {
    /// Writes the queued inserts: one round trip for the whole batch.
    fn flush(&mut self) -> Result<()> {
        if self.pending.seq.is_empty() {
            return Ok(());
        }
        let st = self.stmt(
            "INSERT INTO changes(seq, change_id, device, hlc, schema_version, entity, entity_id, op, payload, subject, received_at)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::text[],
                                  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])",
        )?;
        let p = std::mem::take(&mut self.pending);
        self.tx.execute(
            &st,
            &[
                &p.seq,
                &p.id,
                &p.device,
                &p.hlc,
                &p.schema,
                &p.entity,
                &p.entity_id,
                &p.op,
                &p.payload,
                &p.subject,
                &p.received,
            ],
        )?;
        Ok(())
    }

    fn stmt(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.stmts.insert(sql, s.clone());
        Ok(s)
    }

    fn organisation(&mut self) -> Result<String> {
        let st = self.stmt("SELECT value FROM meta WHERE key = 'organisation'")?;
        Ok(self.tx.query_one(&st, &[])?.get(0))
    }
}

impl LogTx for PgTx<'_> {
    fn prefetch(&mut self, changes: &[Change]) -> Result<()> {
        let ids: Vec<String> = changes.iter().map(|c| c.id.to_string()).collect();
        let st = self.stmt("SELECT change_id FROM changes WHERE change_id = ANY($1)")?;
        let stored = self
            .tx
            .query(&st, &[&ids])?
            .iter()
            .map(|r| parse_uuid(r.get(0)))
            .collect::<Result<HashSet<Uuid>>>()?;
        self.cache.stored = Some(stored);
        let mut subjects: Vec<String> = changes
            .iter()
            .filter_map(|c| regulars_sync::rules::subject(c).map(str::to_owned))
            .collect();
        subjects.sort();
        subjects.dedup();
        if subjects.is_empty() {
            return Ok(());
        }
        let st = self.stmt("SELECT customer_id FROM erased WHERE customer_id = ANY($1)")?;
        let erased: HashSet<String> = self
            .tx
            .query(&st, &[&subjects])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let st = self.stmt("SELECT merged, survivor FROM redirects WHERE merged = ANY($1)")?;
        let mut survivors: HashMap<String, String> = self
            .tx
            .query(&st, &[&subjects])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for s in subjects {
            self.cache.erased.insert(s.clone(), erased.contains(&s));
            let survivor = survivors.remove(&s);
            self.cache.survivors.insert(s, survivor);
        }
        Ok(())
    }

    fn has_change(&mut self, id: Uuid) -> Result<bool> {
        if let Some(stored) = &self.cache.stored {
            return Ok(stored.contains(&id));
        }
        let st = self.stmt("SELECT 1 FROM changes WHERE change_id = $1")?;
        Ok(self.tx.query_opt(&st, &[&id.to_string()])?.is_some())
    }

    fn insert_change(
        &mut self,
        c: &Change,
        payload: &str,
        subject: Option<&str>,
        now: &str,
    ) -> Result<i64> {
        let seq = match self.next_seq {
            Some(s) => s,
            None => {
                let st = self.stmt("SELECT coalesce(max(seq), 0) + 1 FROM changes")?;
                self.tx.query_one(&st, &[])?.get(0)
            }
        };
        // Queued, written by `flush` in one statement (before anything
        // reads the log back, and before the batch's savepoint commits).
        let schema = i32::try_from(c.schema).map_err(Error::corrupt)?;
        let p = &mut self.pending;
        p.seq.push(seq);
        p.id.push(c.id.to_string());
        p.device.push(c.device.to_string());
        p.hlc.push(c.hlc.to_string());
        p.schema.push(schema);
        p.entity.push(c.entity.clone());
        p.entity_id.push(c.entity_id.clone());
        p.op.push(c.op.clone());
        p.payload.push(payload.to_owned());
        p.subject.push(subject.map(str::to_owned));
        p.received.push(now.to_owned());
        self.next_seq = Some(seq + 1);
        if let Some(stored) = &mut self.cache.stored {
            stored.insert(c.id);
        }
        Ok(seq)
    }

    fn is_erased(&mut self, customer: &str) -> Result<bool> {
        if let Some(e) = self.cache.erased.get(customer) {
            return Ok(*e);
        }
        let st = self.stmt("SELECT 1 FROM erased WHERE customer_id = $1")?;
        let e = self.tx.query_opt(&st, &[&customer])?.is_some();
        self.cache.erased.insert(customer.to_owned(), e);
        Ok(e)
    }

    fn mark_erased(&mut self, customer: &str, now: &str) -> Result<()> {
        let st = self.stmt(
            "INSERT INTO erased(customer_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )?;
        self.tx.execute(&st, &[&customer, &now])?;
        self.cache.erased.insert(customer.to_owned(), true);
        Ok(())
    }

    fn survivor_of(&mut self, merged: &str) -> Result<Option<String>> {
        if let Some(s) = self.cache.survivors.get(merged) {
            return Ok(s.clone());
        }
        let st = self.stmt("SELECT survivor FROM redirects WHERE merged = $1")?;
        let s: Option<String> = self.tx.query_opt(&st, &[&merged])?.map(|r| r.get(0));
        self.cache.survivors.insert(merged.to_owned(), s.clone());
        Ok(s)
    }

    fn set_redirect(&mut self, merged: &str, survivor: &str) -> Result<()> {
        let st = self.stmt(
            "INSERT INTO redirects(merged, survivor) VALUES ($1, $2)
             ON CONFLICT (merged) DO UPDATE SET survivor = excluded.survivor",
        )?;
        self.tx.execute(&st, &[&merged, &survivor])?;
        self.cache
            .survivors
            .insert(merged.to_owned(), Some(survivor.to_owned()));
        Ok(())
    }

    fn remove_redirect(&mut self, merged: &str) -> Result<()> {
        let st = self.stmt("DELETE FROM redirects WHERE merged = $1")?;
        self.tx.execute(&st, &[&merged])?;
        self.cache.survivors.insert(merged.to_owned(), None);
        Ok(())
    }

    fn merged_into(&mut self, survivor: &str) -> Result<Vec<String>> {
        let st = self.stmt("SELECT merged FROM redirects WHERE survivor = $1")?;
        Ok(self
            .tx
            .query(&st, &[&survivor])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn changes_about(&mut self, customer: &str) -> Result<Vec<StoredRow>> {
        self.flush()?;
        let st = self.stmt("SELECT seq, entity, op, payload FROM changes WHERE subject = $1")?;
        Ok(self
            .tx
            .query(&st, &[&customer])?
            .iter()
            .map(|r| StoredRow {
                seq: r.get(0),
                entity: r.get(1),
                op: r.get(2),
                payload: r.get(3),
            })
            .collect())
    }

    fn set_payload(&mut self, seq: i64, payload: &str) -> Result<()> {
        self.flush()?;
        let st = self.stmt("UPDATE changes SET payload = $2 WHERE seq = $1")?;
        self.tx.execute(&st, &[&seq, &payload])?;
        Ok(())
    }
}

impl Backend for PgBackend {
    fn organisation(&self) -> Result<String> {
        self.with_reader(|c| {
            Ok(c.client
                .query_one("SELECT value FROM meta WHERE key = 'organisation'", &[])?
                .get(0))
        })
    }

    fn set_organisation(&self, name: &str) -> Result<()> {
        self.write(|t| {
            t.tx.execute(
                "UPDATE meta SET value = $1 WHERE key = 'organisation'",
                &[&name],
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
        self.write(|t| {
            t.tx.execute(
                "INSERT INTO enroll_codes(code_hash, store_name, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&code_hash, &store_name, &iso(now), &iso(expires)],
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
        self.write(|t| {
            // Device numbers are max + 1: take the same lock as pushes so
            // two enrolments never read the same max.
            t.tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PUSH_LOCK])?;
            let code = t.tx.query_opt(
                "SELECT store_name, expires_at, used_at FROM enroll_codes WHERE code_hash = $1 FOR UPDATE",
                &[&code_hash],
            )?;
            let store: String = match code {
                Some(r) => {
                    let expires: String = r.get(1);
                    let used: Option<String> = r.get(2);
                    if used.is_some() || expires <= now {
                        return Err(Error::BadEnrollCode);
                    }
                    r.get(0)
                }
                None => return Err(Error::BadEnrollCode),
            };
            let existing = t
                .tx
                .query_opt("SELECT revoked_at FROM devices WHERE id = $1", &[&id])?
                .map(|r| r.get::<_, Option<String>>(0));
            match existing {
                Some(Some(_)) => return Err(Error::Revoked),
                Some(None) => {
                    t.tx.execute(
                        "UPDATE devices SET token_hash = $2, name = $3, store_name = $4 WHERE id = $1",
                        &[&id, &token_hash, &device_name, &store],
                    )?;
                }
                None => {
                    t.tx.execute(
                        "INSERT INTO devices(id, device_number, name, store_name, token_hash, enrolled_at)
                         VALUES ($1, (SELECT coalesce(max(device_number), 0) + 1 FROM devices), $2, $3, $4, $5)",
                        &[&id, &device_name, &store, &token_hash, &now],
                    )?;
                }
            }
            t.tx.execute(
                "UPDATE enroll_codes SET used_at = $2, used_by = $3 WHERE code_hash = $1",
                &[&code_hash, &now, &id],
            )?;
            let row = t.tx.query_one(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"), &[&id])?;
            Ok(Enrolled {
                device: to_device(&row)?,
                organisation: t.organisation()?,
            })
        })
    }

    fn authenticate(&self, token_hash: &str) -> Result<Device> {
        self.with_reader(|c| {
            let row = c.client.query_opt(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1"),
                &[&token_hash],
            )?;
            let device = to_device(&row.ok_or(Error::Unauthorized)?)?;
            if device.revoked_at.is_some() {
                return Err(Error::Revoked);
            }
            Ok(device)
        })
    }

    fn revoke(&self, device: Uuid, now: DateTime<Utc>) -> Result<()> {
        self.write(|t| {
            let n = t.tx.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                &[&device.to_string(), &iso(now)],
            )?;
            if n == 0 {
                return Err(Error::UnknownDevice(device.to_string()));
            }
            Ok(())
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.with_reader(|c| {
            c.client
                .query(
                    &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY device_number"),
                    &[],
                )?
                .iter()
                .map(to_device)
                .collect()
        })
    }

    /// Group commit (see `backend::group`): one advisory lock and one
    /// commit for every push queued behind the writer.
    fn push(
        &self,
        device: Uuid,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<Vec<ChangeResult>> {
        self.queue
            .push(&self.writer, device, changes, iso(now), |conn, group| {
                if conn.client.is_closed() {
                    match Conn::connect(&self.url) {
                        Ok(c) => *conn = c,
                        Err(e) => return all_failed(group, &e),
                    }
                }
                run_group(conn, group)
            })
    }

    fn pull(&self, device: Uuid, after: i64, limit: usize) -> Result<Page> {
        self.with_reader(|c| {
            let Conn { client, stmts } = c;
            // Repeatable read: the floor and the page come from one snapshot.
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let floor: String = tx
                .query_one("SELECT value FROM meta WHERE key = 'floor'", &[])?
                .get(0);
            let floor: i64 = floor.parse().map_err(Error::corrupt)?;
            if after < floor {
                return Err(Error::ResyncRequired { after, floor });
            }
            const SQL: &str =
                "SELECT seq, change_id, device, hlc, schema_version, entity, entity_id, op, payload
                 FROM changes WHERE seq > $1 AND device <> $2 ORDER BY seq LIMIT $3";
            let st = match stmts.get(SQL) {
                Some(s) => s.clone(),
                None => {
                    let s = tx.prepare(SQL)?;
                    stmts.insert(SQL, s.clone());
                    s
                }
            };
            let rows = tx
                .query(&st, &[&after, &device.to_string(), &(limit as i64 + 1)])?
                .iter()
                .map(|r| {
                    let schema: i32 = r.get(4);
                    LogRow {
                        seq: r.get(0),
                        id: r.get(1),
                        device: r.get(2),
                        hlc: r.get(3),
                        schema: i64::from(schema),
                        entity: r.get(5),
                        entity_id: r.get(6),
                        op: r.get(7),
                        payload: r.get(8),
                    }
                })
                .collect();
            tx.commit()?;
            page(rows, limit, floor)
        })
    }
}
