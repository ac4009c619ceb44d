//! The Complete Journey profile: on a hand-made miniature of the data set
//! (every file, every rule), and on the real copy in shared/datasets (a
//! bounded subset, so the debug test stays quick; skipped with a message
//! when the data is absent).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use regulars_core::import::{complete_journey, ImportOptions, ImportReport};
use regulars_core::Regulars;

fn count(r: &Regulars, sql: &str) -> i64 {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

fn text(r: &Regulars, sql: &str) -> String {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

fn import(r: &mut Regulars, dir: &Path) -> ImportReport {
    complete_journey(
        r.store_mut(),
        dir,
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

#[test]
fn miniature_data_set_every_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/completejourney");
    let mut r = Regulars::open_in_memory().unwrap();
    let rep = import(&mut r, &dir);
    assert_eq!(rep.rejected, 0, "{:#?}", rep.errors);

    // Households: from demographics (7, 40), a sale (12), a campaign (55).
    assert_eq!(count(&r, "SELECT count(*) FROM customers"), 4);
    r.rebuild_index().unwrap();
    let h7 = r.lookup_card("CJ-7").unwrap();
    assert_eq!(h7.summary.display_name, "Household #7");
    assert_eq!(h7.summary.external_ref.as_deref(), Some("7"));
    assert_eq!(
        r.resolve("12").unwrap(),
        r.lookup_card("cj-12").unwrap().summary.id
    );
    assert_eq!(
        r.lookup_card("CJ-55").unwrap().summary.display_name,
        "Household #55"
    );
    assert_eq!(h7.summary.visits, 2);

    // Product names from type / category / department, size and brand.
    let names: HashMap<String, String> = r
        .store()
        .conn()
        .prepare("SELECT external_ref, name FROM products")
        .unwrap()
        .query_map([], |x| Ok((x.get(0)?, x.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names["1001"], "Fluid milk white only, 1 ga (National)");
    assert_eq!(names["1002"], "Bread:italian/french (Private)");
    assert_eq!(names["1003"], "Miscellaneous (National)");
    assert_eq!(
        names["9999"], "Item 9999",
        "a sold product missing from products.csv"
    );
    assert_eq!(
        names["8888"], "Item 8888",
        "a couponed product missing from products.csv"
    );
    assert_eq!(
        text(
            &r,
            "SELECT department FROM products WHERE external_ref = '1001'"
        ),
        "Grocery"
    );

    // A basket is one sale: earliest line time, discounts summed and kept
    // non-negative, quantity 0 and fuel-sized quantities accepted.
    let (total, at): (i64, String) = r
        .store()
        .conn()
        .query_row(
            "SELECT total_cents, completed_at FROM sales WHERE external_ref = '5001'",
            [],
            |x| Ok((x.get(0)?, x.get(1)?)),
        )
        .unwrap();
    assert_eq!((total, at.as_str()), (699, "2017-01-01T11:53:20Z"));
    assert_eq!(
        count(
            &r,
            "SELECT discount_cents FROM sale_lines l JOIN sales s ON s.id = l.sale_id
                   WHERE s.external_ref = '5001' AND l.position = 1"
        ),
        125
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM sale_lines WHERE quantity = 10087"),
        1
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM sale_lines WHERE quantity = 0"),
        1
    );
    assert_eq!(count(&r, "SELECT count(*) FROM sales"), 3);

    // Demographics as attributes (empty values are not stored).
    assert_eq!(
        count(
            &r,
            &format!(
                "SELECT count(*) FROM customer_attributes WHERE customer_id = '{}'",
                h7.summary.id
            )
        ),
        7
    );
    assert_eq!(
        text(&r, &format!("SELECT value FROM customer_attributes WHERE customer_id = '{}' AND name = 'income'", h7.summary.id)),
        "50-74K"
    );
    assert_eq!(count(&r, "SELECT count(*) FROM customer_attributes"), 7 + 6);

    // Campaigns (3 is only in campaigns.csv), members, coupons (a duplicate
    // row counts once), redemptions.
    assert_eq!(count(&r, "SELECT count(*) FROM campaigns"), 3);
    assert_eq!(
        text(&r, "SELECT kind FROM campaigns WHERE external_ref = '2'"),
        "Type C"
    );
    assert_eq!(
        text(
            &r,
            "SELECT starts_on FROM campaigns WHERE external_ref = '1'"
        ),
        "2017-03-03"
    );
    assert_eq!(count(&r, "SELECT count(*) FROM campaign_members"), 4);
    assert_eq!(count(&r, "SELECT count(*) FROM coupons"), 2);
    assert_eq!(count(&r, "SELECT count(*) FROM coupon_redemptions"), 1);
    assert_eq!(
        text(&r, "SELECT redeemed_on FROM coupon_redemptions r JOIN customers c ON c.id = r.customer_id WHERE c.external_ref = '7'"),
        "2017-03-05"
    );
    assert_eq!(rep.skipped_existing, 1, "the duplicate coupon row");

    // Everything is in the outbox for sync; the sales one change each.
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM outbox WHERE entity = 'sale' AND op = 'import'"
        ),
        3
    );
    for entity in [
        "customer",
        "card",
        "product",
        "customer_attributes",
        "campaign",
        "campaign_members",
        "coupons",
        "coupon_redemptions",
    ] {
        assert!(
            count(
                &r,
                &format!("SELECT count(*) FROM outbox WHERE entity = '{entity}'")
            ) > 0,
            "{entity}"
        );
    }

    // Again: nothing changes.
    let outbox = count(&r, "SELECT count(*) FROM outbox");
    let again = import(&mut r, &dir);
    assert_eq!(again.imported, 0, "{again:#?}");
    assert_eq!(again.skipped_existing, again.rows);
    assert_eq!(count(&r, "SELECT count(*) FROM outbox"), outbox);
}

#[test]
fn a_folder_without_the_data_set_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Regulars::open_in_memory().unwrap();
    let e = complete_journey(
        r.store_mut(),
        dir.path(),
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("products.csv.gz") && e.contains("folder"), "{e}");
}

/// The real copy: `shared/datasets/completejourney` beside the repository
/// (this clone's parent, or /work/shared when running in the main clone).
fn real_data() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../../../shared/datasets/completejourney"),
        PathBuf::from("/work/shared/datasets/completejourney"),
    ]
    .into_iter()
    .find(|p| p.join("transactions.csv.gz").is_file())
}

fn gz_lines(path: &Path) -> impl Iterator<Item = String> {
    let f = std::fs::File::open(path).unwrap();
    BufReader::new(flate2::read::MultiGzDecoder::new(f))
        .lines()
        .map(Result::unwrap)
}

fn write_gz(path: &Path, lines: &[String]) {
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    for l in lines {
        writeln!(enc, "{l}").unwrap();
    }
    enc.finish().unwrap();
}

/// A subset of the real data: the first LINES transaction lines (whole
/// baskets), the products they use, and the small files whole.
const LINES: usize = 40_000;

#[test]
fn real_complete_journey_subset() {
    let Some(data) = real_data() else {
        eprintln!(
            "SKIPPED real_complete_journey_subset: the Complete Journey copy is not at \
             ../shared/datasets/completejourney (nor /work/shared/datasets); the miniature test still ran"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut tx = gz_lines(&data.join("transactions.csv.gz"));
    let header = tx.next().unwrap();
    let mut lines: Vec<String> = Vec::new();
    let mut last_basket = String::new();
    for l in tx {
        let basket = l.split(',').nth(2).unwrap().to_string();
        if lines.len() >= LINES && basket != last_basket {
            break;
        }
        last_basket = basket;
        lines.push(l);
    }
    let products: HashSet<&str> = lines.iter().map(|l| l.split(',').nth(3).unwrap()).collect();
    let baskets: HashSet<&str> = lines.iter().map(|l| l.split(',').nth(2).unwrap()).collect();
    let households: HashSet<&str> = lines.iter().map(|l| l.split(',').next().unwrap()).collect();
    let cents: i64 = lines
        .iter()
        .map(|l| (l.split(',').nth(5).unwrap().parse::<f64>().unwrap() * 100.0).round() as i64)
        .sum();
    let mut out = vec![header];
    out.extend(lines.iter().cloned());
    write_gz(&dir.path().join("transactions.csv.gz"), &out);
    let mut p = gz_lines(&data.join("products.csv.gz"));
    let mut prod = vec![p.next().unwrap()];
    prod.extend(p.filter(|l| products.contains(l.split(',').next().unwrap())));
    write_gz(&dir.path().join("products.csv.gz"), &prod);
    for f in [
        "demographics",
        "campaign_descriptions",
        "campaigns",
        "coupon_redemptions",
    ] {
        std::fs::copy(
            data.join(format!("{f}.csv.gz")),
            dir.path().join(format!("{f}.csv.gz")),
        )
        .unwrap();
    }

    let mut r = Regulars::open(&dir.path().join("cj.db")).unwrap();
    let rep = import(&mut r, dir.path());
    eprintln!(
        "real subset: {} rows ({} transaction lines, {} baskets, {} households) in {:.1} s",
        rep.rows,
        lines.len(),
        baskets.len(),
        households.len(),
        rep.seconds
    );
    assert_eq!(
        rep.rejected,
        0,
        "{:#?}",
        &rep.errors[..rep.errors.len().min(5)]
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM sales") as usize,
        baskets.len()
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM sale_lines") as usize,
        lines.len()
    );
    assert_eq!(count(&r, "SELECT sum(total_cents) FROM sales"), cents);
    assert_eq!(
        count(&r, "SELECT count(*) FROM outbox WHERE entity = 'sale'") as usize,
        baskets.len()
    );
    // Every household that shopped is a customer with its card.
    r.rebuild_index().unwrap();
    for h in households.iter().take(50) {
        let p = r.lookup_card(&format!("CJ-{h}")).unwrap();
        assert_eq!(p.summary.external_ref.as_deref(), Some(*h));
        assert_eq!(p.summary.display_name, format!("Household #{h}"));
        assert!(p.summary.visits > 0);
    }
    assert_eq!(count(&r, "SELECT count(*) FROM campaigns"), 27);
    assert!(count(&r, "SELECT count(*) FROM customer_attributes") > 4_000);
    assert!(count(&r, "SELECT count(*) FROM sales WHERE customer_id IS NULL") == 0);

    let again = import(&mut r, dir.path());
    assert_eq!(again.imported, 0);
    assert_eq!(again.skipped_existing, rep.rows);
}
