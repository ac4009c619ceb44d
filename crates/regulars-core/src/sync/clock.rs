//! The till's hybrid logical clock, persisted in `sync_clock` and advanced
//! inside the caller's write transaction, so stamps follow this till's
//! commit order even across processes (the app and the CLI share a store).
//! The arithmetic is `regulars_sync::Hlc`'s; this is only where it lives.

use rusqlite::{params, Connection};

use regulars_sync::Hlc;

use crate::Result;

fn local_ms() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

fn read(tx: &Connection) -> Result<(Hlc, i64)> {
    Ok(tx
        .prepare_cached("SELECT ms, counter, offset_ms FROM sync_clock WHERE id = 1")?
        .query_row([], |r| {
            Ok((
                Hlc::new(
                    r.get::<_, i64>(0)?.max(0) as u64,
                    r.get::<_, i64>(1)?.max(0) as u32,
                ),
                r.get::<_, i64>(2)?,
            ))
        })?)
}

fn write(tx: &Connection, h: Hlc) -> Result<()> {
    tx.prepare_cached("UPDATE sync_clock SET ms = ?1, counter = ?2 WHERE id = 1")?
        .execute(params![h.ms as i64, h.counter as i64])?;
    Ok(())
}

fn corrected_now(offset_ms: i64) -> u64 {
    regulars_sync::Clock { offset_ms }.now_ms(local_ms())
}

/// The stamp for a local change, inside `tx`.
pub(crate) fn tick(tx: &Connection) -> Result<Hlc> {
    let (last, offset) = read(tx)?;
    let next = last.tick(corrected_now(offset));
    write(tx, next)?;
    Ok(next)
}

/// Moves the clock past a stamp received from elsewhere, inside `tx`.
pub(crate) fn observe(tx: &Connection, remote: Hlc) -> Result<()> {
    let (last, offset) = read(tx)?;
    write(tx, last.observe(remote, corrected_now(offset)))
}

/// Records the offset to the server's clock learnt from a response.
pub(crate) fn set_offset(conn: &Connection, offset_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE sync_clock SET offset_ms = ?1 WHERE id = 1",
        [offset_ms],
    )?;
    Ok(())
}

/// The current reading (for status and tests).
pub fn current(conn: &Connection) -> Result<Hlc> {
    Ok(read(conn)?.0)
}
