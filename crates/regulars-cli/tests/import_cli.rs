//! `regulars import` as a user runs it: dry run, summary, error report,
//! a real import that search and card lookup see at once, and re-import.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn regulars(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regulars"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = regulars(db, args);
    assert!(
        out.status.success(),
        "regulars {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../regulars-core/tests/fixtures")
}

#[test]
fn import_csv_with_a_mapping_dry_run_then_for_real() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let f = fixtures().join("import");
    let files = [
        "generic_customers.csv",
        "generic_products.csv",
        "generic_sales.csv",
    ]
    .map(|n| f.join(n));
    let files: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let report = dir.path().join("rejected.csv");

    let mut args = vec!["import", "csv", "--mapping", "generic", "--dry-run"];
    args.extend(&files);
    let out = ok(&db, &args);
    assert!(out.contains("dry run, nothing written"), "{out}");
    assert!(
        out.contains("25 rows") && out.contains("10 rejected"),
        "{out}"
    );
    assert!(
        ok(&db, &["info"]).contains(" 0 customers"),
        "a dry run writes nothing"
    );

    let mut args = vec![
        "import",
        "csv",
        "--mapping",
        "generic",
        "--errors",
        report.to_str().unwrap(),
    ];
    args.extend(&files);
    let out = regulars(&db, &args);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("14 imported, 1 skipped as already present, 10 rejected"),
        "{text}"
    );
    assert!(text.contains("rows/s"), "{text}");
    assert!(
        err.contains("generic_sales.csv, line 8, column amount"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&report).unwrap().lines().count(),
        1 + 10 + 2
    );

    // Search and cards see the imported customers straight away.
    assert!(ok(&db, &["find", "margaret thornton"]).contains("Margaret Thornton"));
    assert!(ok(&db, &["card", "OLD-7781"]).contains("Robert Smith"));

    let mut args = vec!["import", "csv", "--mapping", "generic"];
    args.extend(&files);
    let again = ok(&db, &args);
    assert!(
        again.contains(" 0 imported, 15 skipped as already present"),
        "{again}"
    );
}

#[test]
fn import_completejourney_folder() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cj.db");
    let cj = fixtures().join("completejourney");
    let out = ok(&db, &["import", "completejourney", cj.to_str().unwrap()]);
    assert!(
        out.contains("4 customers") && out.contains("3 sales with 5 lines"),
        "{out}"
    );
    assert!(ok(&db, &["card", "CJ-7"]).contains("Household #7"));
    assert!(ok(&db, &["customer", "12"]).contains("Household #12"));

    let missing = regulars(
        &db,
        &["import", "completejourney", dir.path().to_str().unwrap()],
    );
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("products.csv.gz"), "{err}");
}
