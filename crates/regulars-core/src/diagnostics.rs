//! "Copy diagnostics": what support needs to know about a till, gathered
//! from the store and the log folder, rendered as plain text.
//!
//! Owns: choosing what goes in (versions, health, sizes, counts, settings
//! that are not secret, recent log lines) and the text layout ([`render`],
//! pure). Does not own: the clipboard (the UI), the log format (`logging`).
//! Nothing personal goes in: counts, never rows; the store's file name,
//! never its folder; setting values only for keys that are not secret.

use std::path::Path;

use crate::model::{Diagnostics, SettingValue, TableCount};
use crate::store::Store;
use crate::Result;

/// Log lines included at the end.
pub const LOG_LINES: usize = 200;

/// Settings whose values never leave the till (PINs, tokens, keys...).
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "pin", "pass", "secret", "token", "key", "hash", "salt", "auth",
    ]
    .iter()
    .any(|w| k.contains(w))
}

pub fn gather(store: &Store, log_dir: Option<&Path>) -> Result<Diagnostics> {
    let conn = store.conn();
    let one_str = |sql: &str| -> Result<String> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let tables = tables
        .into_iter()
        .map(|t| {
            // Table names come from sqlite_schema, not from input; quoted anyway.
            let n: i64 = conn.query_row(
                &format!("SELECT count(*) FROM \"{}\"", t.replace('"', "\"\"")),
                [],
                |r| r.get(0),
            )?;
            Ok(TableCount {
                table: t,
                rows: n.max(0) as u64,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let settings = conn
        .prepare("SELECT key, value FROM settings ORDER BY key")?
        .query_map([], |r| {
            Ok(SettingValue {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|s| !is_secret(&s.key))
        .map(|mut s| {
            s.value = crate::error::clip(&s.value);
            s
        })
        .collect();
    let path = store.path();
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    // quick_check reports up to 100 problems; the first says enough.
    let quick_check = one_str("PRAGMA quick_check")?;
    let mut d = Diagnostics {
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        schema_known: crate::store::schema_version(),
        sqlite_version: rusqlite::version().to_string(),
        os: os_description(),
        store_file: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        store_bytes: size(path),
        wal_bytes: size(Path::new(&wal)),
        quick_check,
        journal_mode: one_str("PRAGMA journal_mode")?,
        pending_changes: store.pending_changes()?,
        tables,
        settings,
        log_lines: log_dir
            .map(|d| crate::logging::tail(d, LOG_LINES))
            .unwrap_or_default(),
        text: String::new(),
    };
    d.text = render(&d);
    Ok(d)
}

/// OS and architecture, with the distribution's name where the OS says it
/// (Linux `/etc/os-release`); no host or user names.
fn os_description() -> String {
    let mut s = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    if let Ok(text) = std::fs::read_to_string("/etc/os-release") {
        if let Some(name) = text
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"'))
        {
            s = format!("{s} ({})", crate::error::clip(name));
        }
    }
    s
}

/// The plain-text form support reads.
pub fn render(d: &Diagnostics) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "Regulars diagnostics");
    let _ = writeln!(s, "app version:     {}", d.app_version);
    let _ = writeln!(
        s,
        "schema:          {} (this build knows {})",
        d.schema_version, d.schema_known
    );
    let _ = writeln!(s, "SQLite:          {}", d.sqlite_version);
    let _ = writeln!(s, "OS:              {}", d.os);
    let _ = writeln!(s, "store file:      {}", d.store_file);
    let _ = writeln!(s, "store size:      {} bytes", d.store_bytes);
    let _ = writeln!(s, "WAL size:        {} bytes", d.wal_bytes);
    let _ = writeln!(s, "journal mode:    {}", d.journal_mode);
    let _ = writeln!(s, "quick check:     {}", d.quick_check);
    let _ = writeln!(s, "outbox backlog:  {} changes", d.pending_changes);
    let _ = writeln!(s, "rows per table:");
    for t in &d.tables {
        let _ = writeln!(s, "  {:<22} {}", t.table, t.rows);
    }
    let _ = writeln!(s, "settings:");
    for kv in &d.settings {
        let _ = writeln!(s, "  {} = {}", kv.key, kv.value);
    }
    let _ = writeln!(s, "last {} log lines:", d.log_lines.len());
    for l in &d.log_lines {
        let _ = writeln!(s, "  {l}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_settings_are_recognised() {
        for (key, secret) in [
            ("store_name", false),
            ("device_id", false),
            ("points_per_unit", false),
            ("next_card_serial", false),
            ("owner_pin_hash", true),
            ("sync_token", true),
            ("api_key", true),
            ("Password", true),
        ] {
            assert_eq!(is_secret(key), secret, "{key}");
        }
    }

    #[test]
    fn a_store_is_described_without_its_folder_or_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("shop.db")).unwrap();
        store.set_setting("owner_pin_hash", "argon2-XYZ").unwrap();
        let d = gather(&store, None).unwrap();
        assert_eq!(d.quick_check, "ok");
        assert_eq!(d.journal_mode, "wal");
        assert_eq!(d.schema_version, d.schema_known);
        assert_eq!(d.store_file, "shop.db");
        assert!(d.store_bytes > 0);
        assert!(d
            .tables
            .iter()
            .any(|t| t.table == "customers" && t.rows == 0));
        assert!(d.settings.iter().any(|s| s.key == "device_id"));
        assert!(!d.text.contains("argon2-XYZ"), "{}", d.text);
        assert!(!d.text.contains(&*dir.path().to_string_lossy()));
        assert!(d.text.contains("quick check:     ok"));
    }
}
