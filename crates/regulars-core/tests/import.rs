//! Customer CSV import against real files: good rows land, bad rows are
//! reported with line and column, re-import is a no-op, broken files are
//! refused whole.

use std::io::Write;
use std::path::Path;

use regulars_core::import::{customers_csv, write_error_report};
use regulars_core::Regulars;

fn write(path: &Path, text: &[u8]) {
    std::fs::write(path, text).unwrap();
}

fn customers(r: &Regulars) -> i64 {
    r.store()
        .conn()
        .query_row("SELECT count(*) FROM customers", [], |x| x.get(0))
        .unwrap()
}

const GOOD_AND_BAD: &str = "\
external_ref,given_name,family_name,phone,email,card
A1,Margaret,Thornton,(802) 555-0101,peggy@example.com,2900000000018
A2,Robert,Smith,802-555-0102,,OLD-7781
A3,,,802-555-0103,,
A4,Ann,Lee,12,,
A5,Zoë,Ångström,,not-an-email,
A6,Tom,Jones,,,2900000000017
A7,Jane,Doe,,,OLD-7781
A8,José,Núñez,+1 802 555 0108,jose@example.com,
";

#[test]
fn good_rows_land_bad_rows_are_reported_and_reimport_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("customers.csv");
    write(&csv, GOOD_AND_BAD.as_bytes());
    let mut r = Regulars::open(&dir.path().join("s.db")).unwrap();
    let rep = customers_csv(r.store_mut(), &csv).unwrap();
    assert_eq!(rep.rows, 8);
    assert_eq!(rep.imported, 3, "{rep:?}");
    let bad: Vec<(u64, &str)> = rep
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    assert_eq!(
        bad,
        vec![
            (4, "given_name"),
            (5, "phone"),
            (6, "email"),
            (7, "card"),
            (8, "card")
        ],
        "{rep:?}"
    );
    assert!(rep.errors[3].reason.contains("check digit"));
    assert!(rep.errors[4].reason.contains("already belongs"));
    r.rebuild_index().unwrap();
    assert_eq!(
        r.lookup_card("old-7781").unwrap().summary.display_name,
        "Robert Smith"
    );
    assert_eq!(
        r.find("jose nunez", 3).unwrap()[0]
            .customer
            .external_ref
            .as_deref(),
        Some("A8")
    );

    // The report file lists every bad row.
    let report = dir.path().join("errors.csv");
    write_error_report(&rep.errors, &report).unwrap();
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(text.lines().count(), 1 + rep.errors.len());

    let again = customers_csv(r.store_mut(), &csv).unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.skipped_existing, 3);
    assert_eq!(customers(&r), 3);
}

#[test]
fn gzip_input_is_read_directly() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("customers.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(GOOD_AND_BAD.as_bytes()).unwrap();
    write(&gz, &enc.finish().unwrap());
    let mut r = Regulars::open_in_memory().unwrap();
    assert_eq!(customers_csv(r.store_mut(), &gz).unwrap().imported, 3);
}

#[test]
fn broken_files_are_refused_whole_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Regulars::open_in_memory().unwrap();

    let no_names = dir.path().join("no_names.csv");
    write(&no_names, b"id;name;tel\n1;Ann;555\n");
    let e = customers_csv(r.store_mut(), &no_names).unwrap_err();
    assert!(
        e.to_string().contains("no_names.csv") && e.to_string().contains("given_name"),
        "{e}"
    );

    let latin1 = dir.path().join("latin1.csv");
    let mut bytes = b"given_name,family_name\nAnn,Lee\nJos".to_vec();
    bytes.extend_from_slice(&[0xe9, b',', b'N', b'\n']);
    write(&latin1, &bytes);
    let e = customers_csv(r.store_mut(), &latin1).unwrap_err();
    assert!(e.to_string().contains("line 3"), "{e}");
    assert_eq!(customers(&r), 0, "a broken file imports nothing");

    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    writeln!(enc, "given_name,family_name").unwrap();
    for i in 0..2000 {
        writeln!(enc, "Person{i},Family{i}").unwrap();
    }
    let full = enc.finish().unwrap();
    let truncated = dir.path().join("truncated.csv.gz");
    write(&truncated, &full[..full.len() / 2]);
    let e = customers_csv(r.store_mut(), &truncated).unwrap_err();
    assert!(e.to_string().contains("truncated.csv.gz"), "{e}");
    assert_eq!(customers(&r), 0);

    let missing = dir.path().join("missing.csv");
    let e = customers_csv(r.store_mut(), &missing).unwrap_err();
    assert!(e.to_string().contains("missing.csv"), "{e}");
}
