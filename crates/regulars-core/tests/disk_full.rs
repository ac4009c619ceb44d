//! Disk full while saving: the person gets a clear `disk_full` error, the
//! change is not stored at all, nothing stored before is lost, and once space
//! is freed the same store works on. A full disk is simulated portably with
//! `PRAGMA max_page_count` (SQLite answers SQLITE_FULL exactly as it does
//! when the OS says ENOSPC).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use regulars_core::import::ImportOptions;
use regulars_core::model::*;
use regulars_core::{Error, ErrorCode, Regulars};

fn count(r: &Regulars, sql: &str) -> i64 {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

/// Caps the file at its current size (SQLite clamps a smaller cap up to it).
fn fill_disk(r: &Regulars) {
    r.store()
        .conn()
        .query_row("PRAGMA max_page_count = 1", [], |x| x.get::<_, i64>(0))
        .unwrap();
}

fn free_space(r: &Regulars) {
    r.store()
        .conn()
        .query_row("PRAGMA max_page_count = 1073741823", [], |x| {
            x.get::<_, i64>(0)
        })
        .unwrap();
}

fn assert_disk_full(e: &Error) {
    assert_eq!(e.code(), ErrorCode::DiskFull, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("disk is full"), "{msg}");
    assert!(
        msg.contains("not saved") && msg.contains("try again"),
        "{msg}"
    );
    assert_eq!(ApiError::from(e).code, ErrorCode::DiskFull);
}

/// Calls `f` until the disk is full (at most `max` times): the successes and
/// the error.
fn until_full<T>(
    max: usize,
    mut f: impl FnMut(usize) -> regulars_core::Result<T>,
) -> (Vec<T>, Error) {
    let mut ok = Vec::new();
    for i in 0..max {
        match f(i) {
            Ok(v) => ok.push(v),
            Err(e) => return (ok, e),
        }
    }
    panic!("{max} writes never filled the capped file");
}

fn shop(dir: &Path) -> (Regulars, CustomerId, ProductId) {
    let mut r = Regulars::open(&dir.join("shop.db")).unwrap();
    let c = r
        .enrol(&NewCustomer {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            ..Default::default()
        })
        .unwrap()
        .summary
        .id;
    let p = r
        .save_product(
            None,
            &ProductDraft {
                name: "Milk".into(),
                barcode: None,
                department: None,
                category: None,
                price_cents: 250,
                considered: false,
            },
        )
        .unwrap();
    (r, c, p.id)
}

use regulars_core::ids::{CustomerId, ProductId};

fn sale(c: CustomerId, p: ProductId, n: usize) -> SaleDraft {
    SaleDraft {
        customer_id: Some(c),
        lines: (0..n)
            .map(|_| DraftLine {
                product_id: Some(p),
                description: String::new(),
                quantity: 2.0,
                unit_price_cents: 0,
                discount_cents: 0,
                offer_key: None,
            })
            .collect(),
        payment_method: PaymentMethod::Card,
    }
}

fn sound(r: &Regulars) {
    r.store().integrity_check().unwrap();
    // Every sale whole: lines sum to the total, one outbox row each.
    assert_eq!(
        count(
            r,
            "SELECT count(*) FROM sales s WHERE total_cents !=
               (SELECT coalesce(sum(amount_cents), 0) FROM sale_lines l WHERE l.sale_id = s.id)
             OR NOT EXISTS (SELECT 1 FROM sale_lines l WHERE l.sale_id = s.id)"
        ),
        0
    );
    assert_eq!(
        count(
            r,
            "SELECT count(*) FROM sales s WHERE (SELECT count(*) FROM outbox o
               WHERE o.entity = 'sale' AND o.entity_id = s.id) != 1"
        ),
        0
    );
}

#[test]
fn a_sale_on_a_full_disk_is_refused_whole_and_the_store_works_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut r, c, p) = shop(dir.path());
    let before = r.complete_sale(&sale(c, p, 3)).unwrap();
    fill_disk(&r);
    let (saved, e) = until_full(5_000, |_| r.complete_sale(&sale(c, p, 30)));
    assert_disk_full(&e);
    let stored = |r: &Regulars| count(r, "SELECT count(*) FROM sales");
    assert_eq!(
        stored(&r),
        1 + saved.len() as i64,
        "the refused sale left nothing"
    );
    let outbox = count(&r, "SELECT count(*) FROM outbox");
    // Still full: refused again, still nothing half written.
    assert_disk_full(&r.complete_sale(&sale(c, p, 30)).unwrap_err());
    assert_eq!(count(&r, "SELECT count(*) FROM outbox"), outbox);
    sound(&r);

    free_space(&r);
    let after = r.complete_sale(&sale(c, p, 30)).unwrap();
    sound(&r);
    drop(r);
    let r = Regulars::open(&dir.path().join("shop.db")).unwrap();
    sound(&r);
    for s in saved.iter().chain([&before, &after]) {
        assert_eq!(
            count(
                &r,
                &format!("SELECT count(*) FROM sales WHERE id = '{}'", s.id)
            ),
            1
        );
    }
    assert!(r.profile(c).unwrap().points_balance > 0);
}

#[test]
fn a_note_and_an_enrolment_on_a_full_disk_are_refused_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (mut r, c, _) = shop(dir.path());
    fill_disk(&r);
    let body = "x".repeat(1_500);
    let (notes, e) = until_full(5_000, |i| {
        r.add_note(
            c,
            &NewNote {
                body: format!("{i} {body}"),
                author: "Sam".into(),
                visibility: Visibility::Staff,
                follow_up_on: None,
                expires_on: None,
            },
        )
    });
    assert_disk_full(&e);
    // A new customer fits in a page with room left, so enrol until full too.
    let (enrolled, e) = until_full(5_000, |i| {
        r.enrol(&NewCustomer {
            given_name: "Grace".into(),
            family_name: format!("Hopper{i}"),
            ..Default::default()
        })
    });
    assert_disk_full(&e);
    let refused = format!("Hopper{}", enrolled.len());
    assert!(r
        .find(&refused, 5)
        .unwrap()
        .iter()
        .all(|f| f.customer.family_name != refused));
    assert_eq!(
        r.index().len(),
        1 + enrolled.len(),
        "search holds only stored customers"
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM customers"),
        1 + enrolled.len() as i64
    );
    assert_eq!(count(&r, "SELECT count(*) FROM notes"), notes.len() as i64);
    assert_eq!(
        count(&r, "SELECT count(*) FROM outbox WHERE entity = 'note'"),
        notes.len() as i64
    );
    free_space(&r);
    r.add_note(
        c,
        &NewNote {
            body: "after".into(),
            author: "Sam".into(),
            visibility: Visibility::Staff,
            follow_up_on: None,
            expires_on: None,
        },
    )
    .unwrap();
    assert_eq!(r.profile(c).unwrap().notes.len(), notes.len() + 1);
    r.store().integrity_check().unwrap();
}

fn customers_csv(dir: &Path, n: usize) -> std::path::PathBuf {
    let f = dir.join("customers.csv");
    let mut s = String::from("customer_ref,given_name,family_name,phone\n");
    for i in 0..n {
        s += &format!("R{i},Given{i},Family{i},802-555-{:04}\n", i % 10_000);
    }
    std::fs::write(&f, s).unwrap();
    f
}

#[test]
fn an_import_on_a_full_disk_keeps_whole_batches_and_finishes_after_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut r, _, _) = shop(dir.path());
    let file = customers_csv(dir.path(), 3_000);
    let opts = ImportOptions {
        batch_rows: 250,
        ..Default::default()
    };
    let cancel = AtomicBool::new(false);
    // Room for a few batches but not all of them.
    let pages: i64 = count(&r, "PRAGMA page_count");
    r.store()
        .conn()
        .query_row(
            &format!("PRAGMA max_page_count = {}", pages + 60),
            [],
            |x| x.get::<_, i64>(0),
        )
        .unwrap();
    let e = r
        .import_with(
            std::slice::from_ref(&file),
            "generic",
            &opts,
            &mut |_| {},
            &cancel,
        )
        .unwrap_err();
    assert_disk_full(&e);
    let imported = count(
        &r,
        "SELECT count(*) FROM customers WHERE external_ref LIKE 'R%'",
    );
    assert!(imported < 3_000, "the cap was too loose: {imported}");
    assert_eq!(imported % 250, 0, "a batch was half imported: {imported}");
    r.store().integrity_check().unwrap();

    free_space(&r);
    let rep = r
        .import_with(&[file], "generic", &opts, &mut |_| {}, &cancel)
        .unwrap();
    assert_eq!(rep.skipped_existing as i64, imported);
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM customers WHERE external_ref LIKE 'R%'"
        ),
        3_000
    );
    // One outbox row per imported customer: the rerun duplicated nothing.
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM outbox WHERE entity = 'customer'
               AND entity_id IN (SELECT id FROM customers WHERE external_ref LIKE 'R%')"
        ),
        3_000
    );
    assert_eq!(r.find("Given2999 Family2999", 1).unwrap().len(), 1);
    r.store().integrity_check().unwrap();
}
