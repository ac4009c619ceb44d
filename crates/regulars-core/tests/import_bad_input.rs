//! Inputs an import cannot read on: each stops with one clear error that
//! names the file and the line, and says what to do.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use regulars_core::import::{with_mapping, ImportOptions, Mapping};
use regulars_core::Regulars;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn error(mapping: &Mapping, file: &str) -> String {
    let mut r = Regulars::open_in_memory().unwrap();
    let e = with_mapping(
        r.store_mut(),
        mapping,
        &[fixture(file)],
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains(file), "the error names the file: {e}");
    e
}

#[test]
fn truncated_gzip() {
    let e = error(&Mapping::builtin("generic"), "truncated_sales.csv.gz");
    assert!(
        e.contains("line ") && e.contains("truncated or damaged"),
        "{e}"
    );
    assert!(e.contains("Copy the complete file again"), "{e}");
}

#[test]
fn wrong_delimiter() {
    // A mapping that says commas, on a file with semicolons.
    let m = Mapping::parse(
        "name = \"commas\"\n[options]\ndelimiter = \",\"\n[customers.fields]\nref = \"{customer_ref}\"\n\
         given_name = \"{given_name}\"\nfamily_name = \"{family_name}\"\n",
        "commas.toml",
    )
    .unwrap();
    let e = error(&m, "wrong_delimiter.csv");
    assert!(
        e.contains("line 1") && e.contains("';'") && e.contains("delimiter"),
        "{e}"
    );
    // The generic profile sniffs the delimiter and reads the same file.
    let mut r = Regulars::open_in_memory().unwrap();
    let rep = with_mapping(
        r.store_mut(),
        &Mapping::builtin("generic"),
        &[fixture("wrong_delimiter.csv")],
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(rep.customers_created, 1);
}

#[test]
fn missing_required_columns() {
    // Has sale_ref and amount, lacks the time: the sales section cannot read it.
    let m = Mapping::parse(
        "name = \"sales only\"\n[sales.fields]\nsale_ref = \"{sale_ref}\"\ntime = \"{time}\"\namount = \"{amount}\"\n",
        "sales.toml",
    )
    .unwrap();
    let e = error(&m, "missing_columns.csv");
    assert!(
        e.contains("line 1") && e.contains("'time'") && e.contains("sale_ref, quantity, amount"),
        "{e}"
    );
    // Through the generic profile no section fits, and it says what each needs.
    let e = error(&Mapping::builtin("generic"), "missing_columns.csv");
    assert!(
        e.contains("no section") && e.contains("sales needs columns"),
        "{e}"
    );
}

#[test]
fn non_utf8_text() {
    let e = error(&Mapping::builtin("generic"), "latin1.csv");
    assert!(e.contains("line 3") && e.contains("UTF-8"), "{e}");
}

#[test]
fn unknown_date_format() {
    let e = error(&Mapping::builtin("generic"), "unknown_date.csv");
    assert!(
        e.contains("line 2") && e.contains("05/03/2024 10:00") && e.contains("date_formats"),
        "{e}"
    );
    // Naming the format in the mapping reads the file.
    let m = Mapping::parse(
        "name = \"eu\"\n[options]\ndate_formats = [\"%d/%m/%Y %H:%M\"]\ntimezone = \"utc\"\n\
         [sales.fields]\nsale_ref = \"{sale_ref}\"\ntime = \"{time}\"\namount = \"{amount}\"\nproduct_ref = \"{product_ref}\"\n",
        "eu.toml",
    )
    .unwrap();
    let mut r = Regulars::open_in_memory().unwrap();
    let rep = with_mapping(
        r.store_mut(),
        &m,
        &[fixture("unknown_date.csv")],
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(rep.sales_created, 2);
    let at: String = r
        .store()
        .conn()
        .query_row(
            "SELECT completed_at FROM sales WHERE external_ref = 'S1'",
            [],
            |x| x.get(0),
        )
        .unwrap();
    assert_eq!(at, "2024-03-05T10:00:00Z");
}

#[test]
fn missing_file_and_bad_mapping_file() {
    let mut r = Regulars::open_in_memory().unwrap();
    let e = with_mapping(
        r.store_mut(),
        &Mapping::builtin("generic"),
        &[fixture("no_such_file.csv")],
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no_such_file.csv"), "{e}");
    let e = Mapping::load("no/such/mapping.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no/such/mapping.toml") && e.contains("generic"),
        "{e}"
    );
    let e = Mapping::parse("name = \"x\"\n[sales.fields]\nsale_ref = 3\n", "m.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("m.toml") && e.contains("line 3"), "{e}");
}
