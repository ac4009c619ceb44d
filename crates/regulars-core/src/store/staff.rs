//! The staff table: who can unlock the till, their role, PIN hash and
//! lock-out state.
//!
//! Owns: the SQL for staff rows, including the persisted failure count and
//! lock-out end (so a restart does not reset a lock-out). Does not own: PIN
//! rules, hashing or the lock-out policy (`crate::staff`), or the unlock use
//! case (`Regulars::unlock`). Staff changes go to the outbox so other tills
//! of the shop learn them; the per-till failure count does not (it is state
//! of this till, not a user write).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{now_iso, parse_iso, record_change, Store};
use crate::ids::StaffId;
use crate::model::{Role, StaffMember};
use crate::{Error, Result};

/// A staff row as the unlock use case needs it.
#[derive(Debug, Clone)]
pub(crate) struct StaffRow {
    pub id: StaffId,
    pub name: String,
    pub role: Role,
    pub pin_hash: String,
    pub failed_attempts: u32,
    pub locked_until: Option<String>,
}

#[derive(Serialize)]
struct StaffChange<'a> {
    id: StaffId,
    name: &'a str,
    role: &'a str,
    pin_hash: &'a str,
    updated_at: &'a str,
}

fn role_of(s: String) -> rusqlite::Result<Role> {
    Role::parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown role {s}").into(),
        )
    })
}

/// Staff names are short labels on the unlock screen.
pub(crate) fn clean_name(raw: &str) -> Result<String> {
    let name: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 40 {
        return Err(Error::invalid(
            "name",
            "a staff name is 1 to 40 characters; type the name shown on the unlock screen",
        ));
    }
    Ok(name)
}

pub(crate) fn insert_staff(
    tx: &Connection,
    id: StaffId,
    name: &str,
    role: Role,
    pin_hash: &str,
) -> Result<()> {
    let now = now_iso();
    tx.execute(
        "INSERT INTO staff(id, name, role, pin_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![id, name, role.as_str(), pin_hash, now],
    )?;
    record_change(
        tx,
        "staff",
        &id.to_string(),
        "insert",
        &StaffChange {
            id,
            name,
            role: role.as_str(),
            pin_hash,
            updated_at: &now,
        },
        &now,
    )
}

/// Sets a new PIN hash and clears any lock-out.
pub(crate) fn set_pin_hash(tx: &Connection, row: &StaffRow, pin_hash: &str) -> Result<()> {
    let now = now_iso();
    tx.execute(
        "UPDATE staff SET pin_hash = ?2, failed_attempts = 0, locked_until = NULL, updated_at = ?3
         WHERE id = ?1",
        params![row.id, pin_hash, now],
    )?;
    record_change(
        tx,
        "staff",
        &row.id.to_string(),
        "set_pin",
        &StaffChange {
            id: row.id,
            name: &row.name,
            role: row.role.as_str(),
            pin_hash,
            updated_at: &now,
        },
        &now,
    )
}

/// Persists the outcome of a PIN attempt.
pub(crate) fn set_attempts(
    tx: &Connection,
    id: StaffId,
    failed_attempts: u32,
    locked_until: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE staff SET failed_attempts = ?2, locked_until = ?3 WHERE id = ?1",
        params![id, failed_attempts, locked_until],
    )?;
    Ok(())
}

pub(crate) fn owner_exists(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM staff WHERE role = 'owner')",
        [],
        |r| r.get(0),
    )?)
}

impl Store {
    pub(crate) fn staff_row(&self, id: StaffId) -> Result<StaffRow> {
        self.conn()
            .query_row(
                "SELECT id, name, role, pin_hash, failed_attempts, locked_until
                 FROM staff WHERE id = ?1",
                [id],
                |r| {
                    Ok(StaffRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        role: role_of(r.get(2)?)?,
                        pin_hash: r.get(3)?,
                        failed_attempts: r.get::<_, i64>(4)?.clamp(0, u32::MAX as i64) as u32,
                        locked_until: r.get(5)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| Error::NotFound {
                what: "staff member",
                key: id.to_string(),
            })
    }

    /// Everyone who can unlock the till, owners first, then by name.
    pub fn staff_members(&self) -> Result<Vec<StaffMember>> {
        let now = chrono::Utc::now();
        let mut st = self.conn().prepare_cached(
            "SELECT id, name, role, locked_until FROM staff
             ORDER BY role = 'owner' DESC, name, id",
        )?;
        let rows = st.query_map([], |r| {
            let locked: Option<String> = r.get(3)?;
            Ok(StaffMember {
                id: r.get(0)?,
                name: r.get(1)?,
                role: role_of(r.get(2)?)?,
                locked_until: locked.filter(|t| parse_iso(t).is_some_and(|t| t > now)),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
