//! `regulars backup`, `restore`, `staff`, `export-customer`, `erase` and
//! `audit` as a user runs them: a real process on a real file.

use std::path::Path;
use std::process::{Command, Output};

fn run(db: &Path, pin: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regulars"));
    c.arg("--db").arg(db).args(args).env_remove("REGULARS_PIN");
    if let Some(p) = pin {
        c.env("REGULARS_PIN", p);
    }
    c.output().unwrap()
}

fn ok(db: &Path, pin: Option<&str>, args: &[&str]) -> String {
    let out = run(db, pin, args);
    assert!(
        out.status.success(),
        "regulars {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn owner_exports_erases_backs_up_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "external_ref,given_name,family_name,phone,email,card\n\
         H-1,Robert,Smith,802-555-0101,bob@example.com,\n\
         H-2,Margaret,Thornton,802-555-0102,,\n",
    )
    .unwrap();
    ok(&db, None, &["customers", "import", csv.to_str().unwrap()]);

    // No owner yet: nobody can act as one.
    let out = run(&db, Some("2468"), &["erase", "H-1", "--as", "Olive"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("setup-owner"));
    ok(
        &db,
        Some("2468"),
        &["staff", "setup-owner", "--name", "Olive"],
    );
    assert!(ok(&db, None, &["staff", "list"]).contains("Olive"));

    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let text = ok(&db, None, &["backup", backups.to_str().unwrap()]);
    assert!(text.contains("2 customers"), "{text}");
    let backup = std::fs::read_dir(&backups)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();

    let out = run(
        &db,
        Some("1111"),
        &["export-customer", "H-1", "--as", "Olive"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong PIN"));

    let export = ok(
        &db,
        Some("2468"),
        &["export-customer", "H-1", "--as", "olive"],
    );
    let doc: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(doc["customer"]["email"], "bob@example.com");

    let text = ok(&db, Some("2468"), &["erase", "H-1", "--as", "Olive"]);
    assert!(
        text.contains("erased customer") && !text.contains("Robert"),
        "{text}"
    );
    assert!(ok(&db, None, &["find", "robert smith"]).is_empty());

    let log = ok(&db, Some("2468"), &["audit", "--as", "Olive"]);
    for a in ["erase", "export", "backup", "owner_setup"] {
        assert!(log.contains(a), "{a} in {log}");
    }
    assert!(!log.contains("Robert") && !log.contains("bob@"), "{log}");

    let text = ok(&db, None, &["restore", backup.to_str().unwrap()]);
    assert!(text.contains("2 customers"), "{text}");
    assert!(ok(&db, None, &["find", "robert smith"]).contains("Robert Smith"));
}
