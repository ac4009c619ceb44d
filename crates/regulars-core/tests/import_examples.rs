//! The example mapping files in assets/mappings/ against sample exports in
//! the formats they describe: each parses, reads its files and links sales
//! to customers and products.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use regulars_core::import::{with_mapping, ImportOptions, ImportReport, Mapping};
use regulars_core::Regulars;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(mapping: &str, samples: &str, files: &[&str]) -> (Regulars, ImportReport) {
    let m = Mapping::load(
        root()
            .join("assets/mappings")
            .join(mapping)
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mappings")
        .join(samples);
    let files: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let mut r = Regulars::open_in_memory().unwrap();
    let rep = with_mapping(
        r.store_mut(),
        &m,
        &files,
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    r.rebuild_index().unwrap();
    (r, rep)
}

fn text(r: &Regulars, sql: &str) -> String {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

fn num(r: &Regulars, sql: &str) -> i64 {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

#[test]
fn every_example_mapping_parses() {
    let dir = root().join("assets/mappings");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            Mapping::load(p.to_str().unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    assert!(n >= 3, "{n} mappings in {}", dir.display());
}

#[test]
fn square_exports() {
    let (r, rep) = run(
        "square.toml",
        "square",
        &["items-2024.csv", "items.csv", "customers.csv"],
    );
    let kinds: Vec<&str> = rep.files.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["customers", "products", "sales"]);
    // The instant profile without a name is rejected; a birthday without a
    // year is dropped with a warning.
    assert_eq!(rep.rejected, 1, "{:#?}", rep.errors);
    assert_eq!(rep.errors[0].line, 4);
    assert_eq!(rep.warnings.len(), 1, "{:#?}", rep.warnings);
    let peggy = r.profile(r.resolve("SQ-CUST-1").unwrap()).unwrap();
    assert_eq!(peggy.summary.display_name, "Peggy Thornton");
    assert_eq!(peggy.birthday.as_deref(), Some("1958-04-23"));
    assert!(peggy.marketing_consent);
    assert_eq!(peggy.summary.visits, 1);
    assert_eq!(peggy.total_spent_cents, 549 + 600);
    assert!(
        !r.profile(r.resolve("SQ-CUST-2").unwrap())
            .unwrap()
            .marketing_consent
    );
    assert_eq!(
        text(
            &r,
            "SELECT name FROM products WHERE external_ref = 'SKU-COF-L'"
        ),
        "Coffee (Large)"
    );
    assert_eq!(
        text(
            &r,
            "SELECT barcode FROM products WHERE external_ref = 'SKU-COF-S'"
        ),
        "4006381333931"
    );
    assert_eq!(
        num(
            &r,
            "SELECT price_cents FROM products WHERE external_ref = 'SKU-SOUR'"
        ),
        549
    );
    assert_eq!(num(&r, "SELECT count(*) FROM sales"), 3);
    assert_eq!(
        num(
            &r,
            "SELECT discount_cents FROM sale_lines WHERE description = 'Coffee (Large)'"
        ),
        50
    );
    assert_eq!(
        text(
            &r,
            "SELECT name FROM products WHERE external_ref = 'SKU-MUF'"
        ),
        "Muffin (Regular)"
    );
    assert_eq!(
        r.profile(r.resolve("SQ-CUST-9").unwrap())
            .unwrap()
            .summary
            .display_name,
        "Walk In"
    );
}

#[test]
fn shopify_exports() {
    let (r, rep) = run(
        "shopify.toml",
        "shopify",
        &[
            "orders_export.csv",
            "customers_export.csv",
            "products_export.csv",
        ],
    );
    assert_eq!(rep.rejected, 0, "{:#?}", rep.errors);
    let peggy = r.profile(r.resolve("peggy@example.com").unwrap()).unwrap();
    assert_eq!(peggy.summary.display_name, "Margaret Thornton");
    assert!(peggy.marketing_consent);
    // Order #1001: a loaf and two pairs of gloves at the line price.
    assert_eq!(peggy.total_spent_cents, 549 + 2 * 1499);
    assert_eq!(
        text(
            &r,
            "SELECT completed_at FROM sales WHERE external_ref = '#1001'"
        ),
        "2024-03-05T15:15:00Z",
        "the offset in the export is applied"
    );
    // #1002: a new buyer, the line discount taken off, paid cash on delivery.
    assert_eq!(
        num(
            &r,
            "SELECT total_cents FROM sales WHERE external_ref = '#1002'"
        ),
        1349
    );
    assert_eq!(
        text(
            &r,
            "SELECT payment_method FROM sales WHERE external_ref = '#1002'"
        ),
        "cash"
    );
    assert_eq!(
        r.profile(r.resolve("new@example.com").unwrap())
            .unwrap()
            .summary
            .display_name,
        "Nora Newcomer"
    );
    assert_eq!(
        text(
            &r,
            "SELECT name FROM products WHERE external_ref = 'GLOVE-L'"
        ),
        "work-gloves"
    );
    assert_eq!(
        text(
            &r,
            &format!(
                "SELECT value FROM customer_attributes WHERE customer_id = '{}' AND name = 'tags'",
                peggy.summary.id
            )
        ),
        "regular, bakery"
    );
}

#[test]
fn loyverse_exports() {
    let (r, rep) = run(
        "loyverse.toml",
        "loyverse",
        &["customers.csv", "export_items.csv"],
    );
    assert_eq!(rep.rejected, 1, "the bad email: {:#?}", rep.errors);
    assert_eq!(rep.errors[0].column, "Email");
    let mary = r.lookup_card("LV-0001").unwrap();
    assert_eq!(
        (
            mary.summary.given_name.as_str(),
            mary.summary.family_name.as_str()
        ),
        ("Mary Ann", "Smith")
    );
    assert_eq!(
        r.lookup_card("lv-0002").unwrap().summary.display_name,
        "Tom"
    );
    assert_eq!(
        text(&r, "SELECT name FROM products WHERE external_ref = '10002'"),
        "Latte (Large)"
    );
    assert_eq!(
        num(
            &r,
            "SELECT price_cents FROM products WHERE external_ref = '10002'"
        ),
        420
    );
    // A scale label's barcode is stored as its item key.
    assert_eq!(
        text(
            &r,
            "SELECT barcode FROM products WHERE external_ref = '10003'"
        ),
        "2012345"
    );
    assert_eq!(
        r.find("mary smith", 3).unwrap()[0]
            .customer
            .external_ref
            .as_deref(),
        Some("LV-0001")
    );
}
