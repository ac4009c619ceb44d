//! The audit log: who did what, when, for exports, erasures, merges, PIN
//! changes, role switches, backups and restores.
//!
//! Owns: appending an entry inside the caller's transaction ([`audit`]) and
//! reading the newest entries. Does not own: deciding what is audited (the
//! use cases call [`audit`]) or who may read the log (the facade checks the
//! owner's session). `detail` must carry ids and counts only, never a name,
//! phone, email or note text, so the log survives an erasure unchanged.

use rusqlite::{params, Connection};

use super::{now_iso, Store};
use crate::ids::{AuditId, StaffId};
use crate::model::AuditEntry;
use crate::Result;

/// Appends one audit entry inside `tx` (any connection or transaction): the
/// entry commits or rolls back with the action it describes. For other
/// modules (merges, ...) as much as for this one.
pub(crate) fn audit(
    tx: &Connection,
    staff: Option<StaffId>,
    action: &str,
    subject: Option<&str>,
    detail: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit_log(id, at, staff_id, action, subject_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        AuditId::new(),
        now_iso(),
        staff,
        action,
        subject,
        detail
    ])?;
    Ok(())
}

impl Store {
    /// The newest `limit` entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn().prepare_cached(
            "SELECT a.at, a.staff_id, s.name, a.action, a.subject_id, a.detail
             FROM audit_log a LEFT JOIN staff s ON s.id = a.staff_id
             ORDER BY a.at DESC, a.id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit.min(10_000) as i64], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                staff_id: r.get(1)?,
                staff_name: r.get(2)?,
                action: r.get(3)?,
                subject_id: r.get(4)?,
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
