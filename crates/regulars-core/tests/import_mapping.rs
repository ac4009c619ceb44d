//! History import through the built-in `generic` profile, on fixture files:
//! what lands, what is rejected (file, line, column, reason), idempotent
//! re-import, dry run, progress, cancel between batches, outbox changes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::TimeZone;
use regulars_core::import::{with_mapping, ImportOptions, ImportReport, Mapping, Progress};
use regulars_core::Regulars;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn count(r: &Regulars, sql: &str) -> i64 {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

fn import(r: &mut Regulars, files: &[&str], opts: &ImportOptions) -> ImportReport {
    let files: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
    with_mapping(
        r.store_mut(),
        &Mapping::builtin("generic"),
        &files,
        opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

/// The generic profile reads times in this computer's zone.
fn local(s: &str) -> String {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    let t = chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .unwrap();
    t.with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

const ALL: &[&str] = &[
    "generic_sales.csv",
    "generic_products.csv",
    "generic_customers.csv",
];

#[test]
fn customers_products_and_sales_land_and_bad_rows_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Regulars::open(&dir.path().join("s.db")).unwrap();
    let report_path = dir.path().join("errors.csv");
    let opts = ImportOptions {
        error_report: Some(report_path.clone()),
        ..Default::default()
    };
    let rep = import(&mut r, ALL, &opts);

    // Files are read customers, products, sales whatever the order given.
    let kinds: Vec<&str> = rep.files.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["customers", "products", "sales"]);

    let bad: Vec<(String, u64, &str)> = rep
        .errors
        .iter()
        .map(|e| {
            let f = Path::new(&e.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (f, e.line, e.column.as_str())
        })
        .collect();
    let want: Vec<(String, u64, &str)> = [
        ("generic_customers.csv", 4, "given_name"),
        ("generic_customers.csv", 5, "email"),
        ("generic_customers.csv", 6, "card"),
        ("generic_products.csv", 5, "price"),
        ("generic_products.csv", 7, "name"),
        ("generic_sales.csv", 8, "amount"),
        ("generic_sales.csv", 10, "quantity"),
        ("generic_sales.csv", 11, "time"),
        ("generic_sales.csv", 12, "sale_ref"),
        ("generic_sales.csv", 13, "product_ref"),
    ]
    .iter()
    .map(|(f, l, c)| (f.to_string(), *l, *c))
    .collect();
    assert_eq!(bad, want, "{:#?}", rep.errors);
    assert!(
        rep.errors[2].reason.contains("already belongs"),
        "{}",
        rep.errors[2].reason
    );
    assert!(rep.errors.iter().all(|e| !e.reason.is_empty()));
    assert_eq!(rep.rejected, 10);
    // Imported without a value: a birthday without a year, a card-range barcode.
    let warned: Vec<&str> = rep.warnings.iter().map(|w| w.column.as_str()).collect();
    assert_eq!(warned, ["birthday", "barcode"], "{:#?}", rep.warnings);

    // The report file lists every rejected row and every warning.
    let text = std::fs::read_to_string(&report_path).unwrap();
    assert_eq!(text.lines().count(), 1 + 10 + 2, "{text}");
    assert!(text.starts_with("file,line,column,outcome,reason"));

    assert_eq!(
        rep.customers_created, 4,
        "3 from the list, 1 placeholder from a sale"
    );
    assert_eq!(
        rep.products_created, 5,
        "4 from the list, 1 placeholder from a sale"
    );
    assert_eq!(rep.sales_created, 4);
    assert_eq!(rep.lines_imported, 7);
    assert_eq!(rep.rows, 6 + 7 + 12);
    assert_eq!(rep.imported, 3 + 4 + 7);
    assert_eq!(rep.skipped_existing, 1, "P1 twice in the product file");

    // S1: two lines, discount stored non-negative, earliest line's time.
    let id: String = r
        .store()
        .conn()
        .query_row("SELECT id FROM sales WHERE external_ref = 'S1'", [], |x| {
            x.get(0)
        })
        .unwrap();
    let sale = r.store().sale(id.parse().unwrap()).unwrap();
    assert_eq!(sale.total_cents, 758 + 549);
    assert_eq!(sale.completed_at, local("2024-03-05 10:14:30"));
    assert_eq!(sale.lines.len(), 2);
    assert_eq!(sale.lines[0].description, "Whole milk 1 gal");
    assert_eq!(sale.lines[0].discount_cents, 100);
    assert_eq!(sale.lines[0].unit_price_cents, 429, "(7.58 + 1.00) / 2");
    assert_eq!(sale.points_earned, 0, "history earns no points");
    assert_eq!(sale.customer_name.as_deref(), Some("Margaret Thornton"));

    // S2 is split in the file (lines 4 and 9): one sale, both lines.
    let (n, total, at): (i64, i64, String) = r
        .store()
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM sale_lines WHERE sale_id = s.id), total_cents, completed_at
             FROM sales s WHERE external_ref = 'S2'",
            [],
            |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (n, total, at),
        (2, 29_900 + 549, local("2024-03-06 08:59:00"))
    );

    // Fuel-sized and zero quantities are accepted; an unknown product
    // becomes a catalogue entry named by the line.
    let (q, name): (f64, String) = r
        .store()
        .conn()
        .query_row(
            "SELECT l.quantity, p.name FROM sale_lines l JOIN products p ON p.id = l.product_id
             JOIN sales s ON s.id = l.sale_id WHERE s.external_ref = 'S4' ORDER BY l.position LIMIT 1",
            [],
            |x| Ok((x.get(0)?, x.get(1)?)),
        )
        .unwrap();
    assert_eq!((q, name.as_str()), (10087.0, "Fuel"));
    assert_eq!(
        count(&r, "SELECT count(*) FROM sale_lines WHERE quantity = 0"),
        1
    );

    // A sale for a customer the list does not have: a findable placeholder.
    r.rebuild_index().unwrap();
    let c99 = r.resolve("C99").unwrap();
    assert_eq!(
        r.profile(c99).unwrap().summary.display_name,
        "Customer #C99"
    );
    assert_eq!(
        r.lookup_card("old-7781").unwrap().summary.display_name,
        "Robert Smith"
    );
    let peggy = r.profile(r.resolve("C1").unwrap()).unwrap();
    assert_eq!(peggy.birthday.as_deref(), Some("1958-04-23"));
    assert!(peggy.marketing_consent);
    assert_eq!(peggy.summary.visits, 1);
    assert_eq!(
        r.find("jose nunez", 3).unwrap()[0]
            .customer
            .external_ref
            .as_deref(),
        Some("C6")
    );

    // One outbox change per imported sale, carrying its lines.
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM outbox WHERE entity = 'sale' AND op = 'import'"
        ),
        4
    );
    let payload: String = r
        .store()
        .conn()
        .query_row(
            "SELECT payload FROM outbox WHERE entity = 'sale' AND payload LIKE '%\"S1\"%'",
            [],
            |x| x.get(0),
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["external_ref"], "S1");
    assert_eq!(v["lines"].as_array().unwrap().len(), 2);
    assert_eq!(v["total_cents"], 1307);
    assert_eq!(
        count(&r, "SELECT count(*) FROM outbox WHERE entity = 'product'"),
        5
    );
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM import_runs WHERE status = 'completed'"
        ),
        1
    );
}

#[test]
fn reimporting_the_same_files_changes_nothing() {
    let mut r = Regulars::open_in_memory().unwrap();
    import(&mut r, ALL, &ImportOptions::default());
    let tables = [
        "customers",
        "cards",
        "products",
        "sales",
        "sale_lines",
        "outbox",
    ];
    let before: Vec<i64> = tables
        .iter()
        .map(|t| count(&r, &format!("SELECT count(*) FROM {t}")))
        .collect();
    let again = import(&mut r, ALL, &ImportOptions::default());
    let after: Vec<i64> = tables
        .iter()
        .map(|t| count(&r, &format!("SELECT count(*) FROM {t}")))
        .collect();
    assert_eq!(before, after);
    assert_eq!(again.imported, 0, "{again:#?}");
    assert_eq!(again.skipped_existing, 3 + 5 + 7);
    assert_eq!(again.rejected, 10, "bad rows are still reported");
}

#[test]
fn a_dry_run_reports_the_same_and_writes_nothing() {
    let mut r = Regulars::open_in_memory().unwrap();
    let dry = import(
        &mut r,
        ALL,
        &ImportOptions {
            dry_run: true,
            ..Default::default()
        },
    );
    for t in [
        "customers",
        "products",
        "sales",
        "sale_lines",
        "outbox",
        "import_runs",
    ] {
        assert_eq!(count(&r, &format!("SELECT count(*) FROM {t}")), 0, "{t}");
    }
    assert!(dry.dry_run);
    let real = import(&mut r, ALL, &ImportOptions::default());
    assert_eq!(
        (
            dry.rows,
            dry.imported,
            dry.rejected,
            dry.sales_created,
            dry.lines_imported
        ),
        (
            real.rows,
            real.imported,
            real.rejected,
            real.sales_created,
            real.lines_imported
        )
    );
}

#[test]
fn progress_is_reported_and_cancel_stops_between_whole_batches() {
    let mut r = Regulars::open_in_memory().unwrap();
    let cancel = AtomicBool::new(false);
    let mut seen: Vec<Progress> = Vec::new();
    let opts = ImportOptions {
        batch_rows: 100,
        ..Default::default()
    };
    let rep = with_mapping(
        r.store_mut(),
        &Mapping::builtin("generic"),
        &[fixture("whole_sales.csv.gz")],
        &opts,
        &mut |p| {
            seen.push(p.clone());
            if seen.len() == 3 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap();
    assert!(rep.cancelled);
    // Three batches, then one last report as the file is closed.
    assert_eq!(seen.len(), 4);
    let last = &seen[2];
    assert!(last.rows_done > 0 && last.rows_done < 1200, "{last:?}");
    assert!(last.bytes_done > 0 && last.bytes_done <= last.bytes_total);
    assert!(
        last.rows_total_estimate.is_some() && last.eta_secs.is_some(),
        "{last:?}"
    );
    // Whole sales only: every sale has its three lines.
    let sales = count(&r, "SELECT count(*) FROM sales");
    assert!(sales > 0 && sales < 400, "{sales}");
    assert_eq!(count(&r, "SELECT count(*) FROM sale_lines"), sales * 3);
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM import_runs WHERE status = 'cancelled'"
        ),
        1
    );

    // Importing again continues where the cancelled run stopped.
    let rest = with_mapping(
        r.store_mut(),
        &Mapping::builtin("generic"),
        &[fixture("whole_sales.csv.gz")],
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(count(&r, "SELECT count(*) FROM sales"), 400);
    assert_eq!(count(&r, "SELECT count(*) FROM sale_lines"), 1200);
    assert_eq!(rest.skipped_existing as i64, sales * 3);
}

#[test]
fn a_file_that_breaks_off_keeps_only_whole_batches() {
    let mut r = Regulars::open_in_memory().unwrap();
    let cache_before = count(&r, "PRAGMA cache_size");
    let opts = ImportOptions {
        batch_rows: 100,
        ..Default::default()
    };
    let e = with_mapping(
        r.store_mut(),
        &Mapping::builtin("generic"),
        &[fixture("truncated_sales.csv.gz")],
        &opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("truncated_sales.csv.gz") && e.contains("line "),
        "{e}"
    );
    assert!(e.contains("truncated or damaged"), "{e}");
    let sales = count(&r, "SELECT count(*) FROM sales");
    assert!(sales > 0, "batches before the break stay");
    assert_eq!(
        count(&r, "SELECT count(*) FROM sale_lines"),
        sales * 3,
        "no half sale"
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM outbox WHERE entity = 'sale'"),
        sales,
        "each written sale has its change, and only those"
    );
    assert_eq!(
        count(&r, "PRAGMA cache_size"),
        cache_before,
        "the import's big cache is given back"
    );
}
