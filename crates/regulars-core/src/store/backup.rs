//! Backups and restore of the store file.
//!
//! Owns: copying the open store with SQLite's online backup API (safe while
//! the till is in use) into one self-contained file; choosing when an
//! automatic backup is due and which old ones to drop ([`backup_plan`], pure);
//! restoring a backup only after verifying it (integrity check, ours, not
//! from a newer version) and only when nothing else has the store open, by
//! an atomic rename that keeps the replaced file as `<name>.before-restore`.
//! Does not own: where the folder is configured or who may restore (the
//! facade), scheduling (the app calls `Regulars::auto_backup` at start-up
//! and daily).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{Connection, OpenFlags};

use super::{classify_open_error, schema_version, Store, APPLICATION_ID};
use crate::model::BackupReport;
use crate::{Error, Result};

/// Automatic backups are named `regulars-YYYYMMDDTHHMMSSZ.db`.
const PREFIX: &str = "regulars-";
const SUFFIX: &str = ".db";

pub fn backup_file_name(at: DateTime<Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", at.format("%Y%m%dT%H%M%SZ"))
}

/// When the backup named `name` was made, if it is one of ours.
pub fn backup_time(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// What an automatic backup run should do: whether a new backup is due (none
/// in the last 24 hours) and which existing ones to delete so that, with the
/// new one, at most `keep` remain (oldest go first). Files that are not ours
/// are never touched.
pub fn backup_plan(names: &[String], now: DateTime<Utc>, keep: usize) -> (bool, Vec<String>) {
    let mut ours: Vec<(DateTime<Utc>, &String)> = names
        .iter()
        .filter_map(|n| backup_time(n).map(|t| (t, n)))
        .collect();
    ours.sort();
    let due = ours
        .last()
        .is_none_or(|(t, _)| now.signed_duration_since(*t) >= chrono::Duration::hours(24));
    let keep = keep.max(1);
    let will_have = ours.len() + usize::from(due);
    let drop = will_have.saturating_sub(keep).min(ours.len());
    (
        due,
        ours[..drop].iter().map(|(_, n)| (*n).clone()).collect(),
    )
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn remove_with_sidecars(path: &Path) {
    for p in [
        path.to_path_buf(),
        sidecar(path, "-wal"),
        sidecar(path, "-shm"),
        sidecar(path, "-journal"),
    ] {
        let _ = std::fs::remove_file(p);
    }
}

fn counts(conn: &Connection) -> Result<(u64, u64)> {
    let c: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
    let s: i64 = conn.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))?;
    Ok((c.max(0) as u64, s.max(0) as u64))
}

impl Store {
    /// Copies the store into `dest` (a file path; replaced if it exists)
    /// with the online backup API, so the till keeps working meanwhile. The
    /// copy is written beside `dest` and renamed into place only when
    /// complete, and is a single file (no WAL) that opens on its own.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupReport> {
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = sidecar(dest, ".partial");
        remove_with_sidecars(&tmp);
        let result = (|| -> Result<(u64, u64)> {
            let mut out = Connection::open(&tmp).map_err(|e| classify_open_error(&tmp, e))?;
            {
                let b = rusqlite::backup::Backup::new(&self.conn, &mut out)?;
                // Large steps: the source is WAL, so readers never block the
                // till's writes; no pause between steps.
                b.run_to_completion(4096, Duration::ZERO, None)?;
            }
            let mode: String = out.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
            debug_assert_eq!(mode, "delete");
            counts(&out)
        })();
        let (customers, sales) = match result {
            Ok(c) => c,
            Err(e) => {
                remove_with_sidecars(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(&tmp, dest).map_err(io(dest))?;
        let bytes = std::fs::metadata(dest).map_err(io(dest))?.len();
        Ok(BackupReport {
            path: dest.display().to_string(),
            bytes,
            customers,
            sales,
        })
    }
}

/// Checks that `path` is a sound Regulars store this build can open, folding
/// any WAL into the file. Returns its counts.
fn verify(path: &Path) -> Result<(u64, u64)> {
    let corrupt = |detail: String| Error::Corrupt {
        path: path.display().to_string(),
        detail,
    };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| classify_open_error(path, e))?;
    let check = || -> rusqlite::Result<(i64, i64, String)> {
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok((app, version, ok))
    };
    let (app, version, ok) = check().map_err(|e| match classify_open_error(path, e) {
        Error::Sqlite(e) => corrupt(e.to_string()),
        other => other,
    })?;
    if app != APPLICATION_ID {
        return Err(corrupt("it is not a Regulars store".into()));
    }
    if version > schema_version() {
        return Err(Error::TooNew {
            found: version,
            known: schema_version(),
        });
    }
    if ok != "ok" {
        return Err(corrupt(format!("integrity check: {ok}")));
    }
    let _: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    counts(&conn)
}

/// Replaces the store at `dest` with the backup `src`, after verifying a
/// copy of it. Refuses, changing nothing, when the backup is damaged, not
/// ours or too new, or when the store is open elsewhere (close Regulars
/// first). The replaced file is kept as `<dest>.before-restore`.
pub fn restore(src: &Path, dest: &Path) -> Result<BackupReport> {
    if !src.is_file() {
        return Err(Error::Io {
            path: src.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such backup file"),
        });
    }
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "regulars.db".into());
    // The backup itself is never opened for writing: a copy is verified.
    let tmp = dir.join(format!(".{name}.restoring"));
    remove_with_sidecars(&tmp);
    let staged = (|| -> Result<(u64, u64)> {
        std::fs::copy(src, &tmp).map_err(io(src))?;
        let src_wal = sidecar(src, "-wal");
        if std::fs::metadata(&src_wal).is_ok_and(|m| m.len() > 0) {
            std::fs::copy(&src_wal, sidecar(&tmp, "-wal")).map_err(io(&src_wal))?;
        }
        let counts = verify(&tmp)?;
        if dest.exists() {
            ensure_not_open(dest)?;
        }
        Ok(counts)
    })();
    let (customers, sales) = match staged {
        Ok(c) => c,
        Err(e) => {
            remove_with_sidecars(&tmp);
            return Err(e);
        }
    };
    if dest.exists() {
        let before = dir.join(format!("{name}.before-restore"));
        remove_with_sidecars(&before);
        std::fs::rename(dest, &before).map_err(io(dest))?;
    }
    for stale in [sidecar(dest, "-wal"), sidecar(dest, "-shm")] {
        let _ = std::fs::remove_file(stale);
    }
    std::fs::rename(&tmp, dest).map_err(io(dest))?;
    let bytes = std::fs::metadata(dest).map_err(io(dest))?.len();
    Ok(BackupReport {
        path: dest.display().to_string(),
        bytes,
        customers,
        sales,
    })
}

/// Fails with `Busy` when another connection has `path` open. Leaving WAL
/// mode needs the only connection to the file, so it doubles as the test;
/// it also folds the WAL into the file, so renaming the file loses nothing.
fn ensure_not_open(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| classify_open_error(path, e))?;
    conn.busy_timeout(Duration::from_millis(200))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(|e| classify_open_error(path, e))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(Error::Busy);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::store::parse_iso(s).unwrap()
    }

    #[test]
    fn names_round_trip() {
        let t = at("2026-11-25T09:05:07Z");
        assert_eq!(backup_file_name(t), "regulars-20261125T090507Z.db");
        assert_eq!(backup_time(&backup_file_name(t)), Some(t));
        assert_eq!(backup_time("regulars-2026.db"), None);
        assert_eq!(backup_time("notes.txt"), None);
    }

    #[test]
    fn plan_table() {
        let now = at("2026-11-25T12:00:00Z");
        let n = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases: Vec<(Vec<String>, usize, bool, Vec<String>)> = vec![
            (n(&[]), 14, true, n(&[])),
            // Made 23 h ago: not due yet.
            (n(&["regulars-20261124T130000Z.db"]), 14, false, n(&[])),
            // 24 h ago: due.
            (n(&["regulars-20261124T120000Z.db"]), 14, true, n(&[])),
            // Keep 2: the new one plus the newest existing; foreign files stay.
            (
                n(&[
                    "regulars-20261120T120000Z.db",
                    "holiday.jpg",
                    "regulars-20261122T120000Z.db",
                    "regulars-20261121T120000Z.db",
                ]),
                2,
                true,
                n(&[
                    "regulars-20261120T120000Z.db",
                    "regulars-20261121T120000Z.db",
                ]),
            ),
            // Not due, but over the limit: trims to keep.
            (
                n(&[
                    "regulars-20261125T110000Z.db",
                    "regulars-20261124T110000Z.db",
                ]),
                1,
                false,
                n(&["regulars-20261124T110000Z.db"]),
            ),
            // keep 0 means keep 1 (the one just made).
            (
                n(&["regulars-20261101T000000Z.db"]),
                0,
                true,
                n(&["regulars-20261101T000000Z.db"]),
            ),
        ];
        for (names, keep, due, drop) in cases {
            assert_eq!(
                backup_plan(&names, now, keep),
                (due, drop),
                "{names:?} keep {keep}"
            );
        }
    }
}
