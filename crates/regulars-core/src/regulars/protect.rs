//! The "protect" use cases on [`Regulars`]: staff and PINs, the owner's
//! session, the audit log, per-customer export and erasure, backups and
//! restore.
//!
//! Owns: orchestration and the owner-only checks (every owner action takes
//! a [`Session`] and refuses with `owner_only` unless it is the owner's),
//! keeping the search index and suggestion engine consistent after an
//! erasure, and what goes into the audit log.
//! Does not own: SQL (store/staff.rs, store/audit.rs, store/erase.rs,
//! store/backup.rs), the PIN and lock-out rules (`crate::staff`).
//!
//! Unlock is by (staff member, PIN): the till shows the names, the person
//! taps theirs and types the PIN. Unlocking by PIN alone would need PINs to
//! be unique per shop, and refusing a new PIN as "taken" would tell a
//! cashier someone else's PIN; it would also cost one Argon2 hash per staff
//! member per unlock, and make a lock-out hit everyone at once. Per person,
//! a lock-out only stops the person being guessed.

use std::path::{Path, PathBuf};

use super::Regulars;
use crate::ids::{CustomerId, StaffId};
use crate::model::{AuditEntry, BackupReport, ErasureReport, Role, Session, StaffMember};
use crate::staff::{hash_pin, lockout, tries_left, verify_pin, Pin, PinCost};
use crate::store::audit::audit;
use crate::store::backup::{backup_file_name, backup_plan};
use crate::store::staff::{clean_name, insert_staff, owner_exists, set_attempts, set_pin_hash};
use crate::store::{iso, parse_iso, Store};
use crate::{Error, Result};

/// Automatic backups kept when the caller does not say.
pub const DEFAULT_BACKUPS_KEPT: usize = 14;
const BACKUP_FOLDER_SETTING: &str = "backup_folder";

impl Regulars {
    /// Uses `cost` for PIN hashes made from now on (tests pass
    /// [`PinCost::FAST_FOR_TESTS`]). Existing hashes keep their own cost.
    pub fn with_pin_cost(mut self, cost: PinCost) -> Self {
        self.pin_cost = cost;
        self
    }

    /// True on first run: nobody can unlock yet, so the app asks for the
    /// owner's name and PIN ([`Regulars::set_up_owner`]).
    pub fn needs_owner_setup(&self) -> Result<bool> {
        Ok(!owner_exists(self.store.conn())?)
    }

    /// First run: creates the owner and returns their session. Refused once
    /// an owner exists.
    pub fn set_up_owner(&mut self, name: &str, pin: &str) -> Result<Session> {
        let name = clean_name(name)?;
        let pin = Pin::parse(pin)?;
        if owner_exists(self.store.conn())? {
            return Err(Error::invalid(
                "owner",
                "this store already has an owner; unlock as the owner to add or change staff",
            ));
        }
        let hash = hash_pin(&pin, self.pin_cost)?;
        let id = StaffId::new();
        let tx = self.store.write()?;
        // Checked again inside the write lock: two windows cannot both win.
        if owner_exists(&tx)? {
            return Err(Error::invalid(
                "owner",
                "this store already has an owner; unlock as the owner to add or change staff",
            ));
        }
        insert_staff(&tx, id, &name, Role::Owner, &hash)?;
        audit(
            &tx,
            Some(id),
            "owner_setup",
            Some(&id.to_string()),
            "role=owner",
        )?;
        tx.commit()?;
        Ok(Session {
            staff_id: id,
            name,
            role: Role::Owner,
        })
    }

    /// The people on the unlock screen.
    pub fn staff(&self) -> Result<Vec<StaffMember>> {
        self.store.staff_members()
    }

    /// Unlocks the till for `staff` with their PIN. Five wrong PINs in a row
    /// lock that person out for 30 s, doubling with each further wrong PIN
    /// up to 15 minutes; the lock survives a restart. While locked, PINs are
    /// not even checked.
    pub fn unlock(&mut self, staff: StaffId, pin: &str) -> Result<Session> {
        let pin = Pin::parse(pin)?;
        let row = self.store.staff_row(staff)?;
        let now = chrono::Utc::now();
        if let Some(until) = row.locked_until.as_deref().and_then(parse_iso) {
            if until > now {
                return Err(Error::LockedOut {
                    until: iso(until),
                    seconds: (until - now).num_seconds().max(1) as u64,
                });
            }
        }
        // The slow hash runs before the write lock is taken.
        let ok = verify_pin(&pin, &row.pin_hash);
        let tx = self.store.write()?;
        if ok {
            set_attempts(&tx, staff, 0, None)?;
            audit(
                &tx,
                Some(staff),
                "unlock",
                Some(&staff.to_string()),
                &format!("role={}", row.role.as_str()),
            )?;
            tx.commit()?;
            return Ok(Session {
                staff_id: row.id,
                name: row.name,
                role: row.role,
            });
        }
        let failures = row.failed_attempts.saturating_add(1);
        match lockout(failures) {
            None => {
                set_attempts(&tx, staff, failures, None)?;
                tx.commit()?;
                Err(Error::WrongPin {
                    attempts_left: tries_left(failures),
                })
            }
            Some(wait) => {
                let until = iso(now + chrono::Duration::from_std(wait).unwrap_or_default());
                set_attempts(&tx, staff, failures, Some(&until))?;
                audit(
                    &tx,
                    Some(staff),
                    "locked_out",
                    Some(&staff.to_string()),
                    &format!("failures={failures} seconds={}", wait.as_secs()),
                )?;
                tx.commit()?;
                Err(Error::LockedOut {
                    until,
                    seconds: wait.as_secs(),
                })
            }
        }
    }

    /// The owner adds a cashier (or another owner).
    pub fn add_staff(
        &mut self,
        session: &Session,
        name: &str,
        role: Role,
        pin: &str,
    ) -> Result<StaffMember> {
        session.require_owner("add staff")?;
        let name = clean_name(name)?;
        let hash = hash_pin(&Pin::parse(pin)?, self.pin_cost)?;
        let id = StaffId::new();
        let tx = self.store.write()?;
        insert_staff(&tx, id, &name, role, &hash)?;
        audit(
            &tx,
            Some(session.staff_id),
            "staff_add",
            Some(&id.to_string()),
            &format!("role={}", role.as_str()),
        )?;
        tx.commit()?;
        Ok(StaffMember {
            id,
            name,
            role,
            locked_until: None,
        })
    }

    /// Sets `staff`'s PIN and lifts any lock-out. Anyone may change their
    /// own PIN; only the owner may reset someone else's.
    pub fn set_pin(&mut self, session: &Session, staff: StaffId, pin: &str) -> Result<()> {
        let own = staff == session.staff_id;
        if !own {
            session.require_owner("reset someone else's PIN")?;
        }
        let hash = hash_pin(&Pin::parse(pin)?, self.pin_cost)?;
        let row = self.store.staff_row(staff)?;
        let tx = self.store.write()?;
        set_pin_hash(&tx, &row, &hash)?;
        audit(
            &tx,
            Some(session.staff_id),
            if own { "pin_set" } else { "pin_reset" },
            Some(&staff.to_string()),
            "",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The newest `limit` audit entries, for the owner's screen.
    pub fn audit_log(&self, session: &Session, limit: usize) -> Result<Vec<AuditEntry>> {
        session.require_owner("read the audit log")?;
        self.store.audit_log(limit)
    }

    /// Everything held about one customer, as pretty JSON, for a person's
    /// request to see their data. Owner only; the export is audited.
    pub fn export_customer(&mut self, session: &Session, id: CustomerId) -> Result<String> {
        session.require_owner("export a customer's data")?;
        let doc = self.store.export_customer(id)?;
        let rows: usize = doc["related"]
            .as_object()
            .map(|o| o.values().filter_map(|v| v.as_array()).map(Vec::len).sum())
            .unwrap_or(0);
        let sales = doc["sales"].as_array().map_or(0, Vec::len);
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::invalid("export", e.to_string()))?;
        let tx = self.store.write()?;
        audit(
            &tx,
            Some(session.staff_id),
            "export",
            Some(&id.to_string()),
            &format!("sales={sales} related_rows={rows} bytes={}", text.len()),
        )?;
        tx.commit()?;
        Ok(text)
    }

    /// Erases a customer on their request: personal data removed from every
    /// table, the outbox and the search index; sales kept as anonymous
    /// totals; the bytes gone from the store file. Owner only; the erasure is
    /// audited with counts, never the person's data.
    pub fn erase_customer(&mut self, session: &Session, id: CustomerId) -> Result<ErasureReport> {
        session.require_owner("erase a customer")?;
        let report = self.store.erase_customer(id, Some(session.staff_id))?;
        self.index.remove(id);
        // The engine holds the person's history; it rebuilds on next use.
        self.suggest = None;
        Ok(report)
    }

    /// Where automatic backups go: the folder the owner chose, else
    /// `backups/` beside the store. None for an in-memory store.
    pub fn backup_folder(&self) -> Result<Option<PathBuf>> {
        if let Some(f) = self.store.setting(BACKUP_FOLDER_SETTING)? {
            return Ok(Some(PathBuf::from(f)));
        }
        let path = self.store.path();
        if path.as_os_str() == ":memory:" {
            return Ok(None);
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        Ok(Some(dir.join("backups")))
    }

    /// The owner chooses the backup folder (created if needed).
    pub fn set_backup_folder(&mut self, session: &Session, folder: &Path) -> Result<()> {
        session.require_owner("choose the backup folder")?;
        std::fs::create_dir_all(folder).map_err(|source| Error::Io {
            path: folder.display().to_string(),
            source,
        })?;
        let text = folder.to_str().ok_or_else(|| {
            Error::invalid(
                "backup folder",
                "use a folder path without unusual characters",
            )
        })?;
        self.store.set_setting(BACKUP_FOLDER_SETTING, text)
    }

    /// Backs the store up now into `dest`: a file, or a folder (then named
    /// `regulars-<UTC time>.db`). Works while the till is in use. Audited;
    /// `by` is None for the CLI and the automatic backup.
    pub fn backup_to(&mut self, by: Option<&Session>, dest: &Path) -> Result<BackupReport> {
        // A folder that exists, or a path ending in a separator ("backups/"),
        // gets a time-stamped file inside; anything else is the file itself.
        let folder = dest.is_dir() || dest.as_os_str().to_string_lossy().ends_with(['/', '\\']);
        let file = if folder {
            dest.join(backup_file_name(chrono::Utc::now()))
        } else {
            dest.to_path_buf()
        };
        let report = self.store.backup_to(&file)?;
        self.audit_backup(by, "backup", &report)?;
        Ok(report)
    }

    /// The owner's "back up now": into the backup folder, at once.
    pub fn backup_now(&mut self, session: &Session) -> Result<BackupReport> {
        session.require_owner("back up the store")?;
        let folder = self.backup_folder()?.ok_or_else(|| {
            Error::invalid(
                "backup",
                "an in-memory store cannot be backed up".to_string(),
            )
        })?;
        std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
            path: folder.display().to_string(),
            source,
        })?;
        self.backup_to(Some(session), &folder)
    }

    /// The daily backup: when the newest backup in `folder` (default
    /// [`Regulars::backup_folder`]) is 24 hours old or more, or there is
    /// none, makes one and deletes the oldest so that `keep` remain. Returns
    /// the new backup, or None when none was due. The app calls this at
    /// start-up and then hourly.
    pub fn auto_backup(
        &mut self,
        folder: Option<&Path>,
        keep: usize,
    ) -> Result<Option<BackupReport>> {
        let folder = match folder {
            Some(f) => f.to_path_buf(),
            None => match self.backup_folder()? {
                Some(f) => f,
                None => return Ok(None),
            },
        };
        std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
            path: folder.display().to_string(),
            source,
        })?;
        let names: Vec<String> = std::fs::read_dir(&folder)
            .map_err(|source| Error::Io {
                path: folder.display().to_string(),
                source,
            })?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        let now = chrono::Utc::now();
        let (due, drop) = backup_plan(&names, now, keep);
        if !due {
            for n in drop {
                let _ = std::fs::remove_file(folder.join(n));
            }
            return Ok(None);
        }
        let report = self.store.backup_to(&folder.join(backup_file_name(now)))?;
        // Old backups go only once the new one is safely written.
        for n in drop {
            let _ = std::fs::remove_file(folder.join(n));
        }
        self.audit_backup(None, "backup", &report)?;
        Ok(Some(report))
    }

    fn audit_backup(&mut self, by: Option<&Session>, action: &str, r: &BackupReport) -> Result<()> {
        let tx = self.store.write()?;
        audit(
            &tx,
            by.map(|s| s.staff_id),
            action,
            None,
            &format!(
                "customers={} sales={} bytes={}",
                r.customers, r.sales, r.bytes
            ),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the store file `dest_db` with the backup `src` after
    /// verifying it; the old file is kept as `<dest>.before-restore`. The
    /// store must be closed first (drop the `Regulars` that has it open):
    /// while anything has it open the restore is refused and nothing
    /// changes. `by`, when given, must be the owner. The restore is audited
    /// in the restored store.
    pub fn restore(by: Option<&Session>, src: &Path, dest_db: &Path) -> Result<BackupReport> {
        if let Some(s) = by {
            s.require_owner("restore a backup")?;
        }
        let report = crate::store::backup::restore(src, dest_db)?;
        let mut store = Store::open(dest_db)?;
        let tx = store.write()?;
        // An older backup may predate the person restoring it.
        let known = match by {
            Some(s) => tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM staff WHERE id = ?1)",
                [s.staff_id],
                |r| r.get::<_, bool>(0),
            )?,
            None => false,
        };
        let mut detail = format!(
            "customers={} sales={} bytes={}",
            report.customers, report.sales, report.bytes
        );
        if let (Some(s), false) = (by, known) {
            detail.push_str(&format!(" by_staff={}", s.staff_id));
        }
        audit(
            &tx,
            by.filter(|_| known).map(|s| s.staff_id),
            "restore",
            None,
            &detail,
        )?;
        tx.commit()?;
        Ok(report)
    }
}
