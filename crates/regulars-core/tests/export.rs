//! A store exported in the generic format and imported into a new store
//! through the real importer keeps every customer, product, sale and cent.

use std::sync::atomic::AtomicBool;

use regulars_core::import::{self, ImportOptions, Mapping};
use regulars_core::store::Store;
use regulars_core::{demo, export, Regulars};

fn scalar(s: &Store, sql: &str) -> i64 {
    s.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn export_then_import_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Store::open(&dir.path().join("a.db")).unwrap();
    demo::generate(&mut a, &demo::DemoConfig::new(150)).unwrap();
    let rep = export::generic(&a, &dir.path().join("out")).unwrap();
    assert_eq!(rep.customers, 150);
    assert_eq!(rep.files.len(), 3);

    let mut b = Regulars::open(&dir.path().join("b.db")).unwrap();
    let files = rep.files.clone();
    let report = import::with_mapping(
        b.store_mut(),
        &Mapping::builtin("generic"),
        &files,
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(report.rejected, 0, "{:?}", report.errors.first());
    b.rebuild_index().unwrap();
    for sql in [
        "SELECT count(*) FROM customers",
        "SELECT count(*) FROM products",
        "SELECT count(*) FROM sales",
        "SELECT count(*) FROM sale_lines",
        "SELECT sum(amount_cents) FROM sale_lines",
        "SELECT count(*) FROM cards",
    ] {
        assert_eq!(scalar(&a, sql), scalar(b.store(), sql), "{sql}");
    }
    // Someone from the export is found by name in the new store.
    let (given, family): (String, String) = a
        .conn()
        .query_row(
            "SELECT given_name, family_name FROM customers LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let hits = b.find(&format!("{given} {family}"), 5).unwrap();
    assert!(hits.iter().any(|h| h.customer.family_name == family));
}
