//! Ringing up sales through the public API, on a real store file.

use regulars_core::card::ean13_check_digit;
use regulars_core::model::{
    DraftLine, NewCustomer, PaymentMethod, ProductDraft, SaleDraft, ScanResult,
};
use regulars_core::{ErrorCode, Regulars};

struct Shop {
    _dir: tempfile::TempDir,
    r: Regulars,
}

fn shop() -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Regulars::open(&dir.path().join("shop.db")).unwrap();
    for (barcode, name, price, considered) in [
        ("4006381333931", "Portable generator", 59_900, true),
        ("036000291452", "Ground coffee", 899, false),
        ("2101234", "Cheddar by weight", 1_299, false),
    ] {
        r.save_product(
            None,
            &ProductDraft {
                barcode: Some(barcode.into()),
                name: name.into(),
                price_cents: price,
                considered,
                ..Default::default()
            },
        )
        .unwrap();
    }
    Shop { _dir: dir, r }
}

fn enrol(r: &mut Regulars, given: &str, family: &str) -> regulars_core::model::Profile {
    r.enrol(&NewCustomer {
        given_name: given.into(),
        family_name: family.into(),
        ..Default::default()
    })
    .unwrap()
}

fn line_of(r: &Regulars, code: &str) -> DraftLine {
    match r.scan(code).unwrap() {
        ScanResult::Product { line } => line,
        other => panic!("{code} scanned as {other:?}"),
    }
}

fn count(r: &Regulars, sql: &str) -> i64 {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

#[test]
fn scanning_tells_cards_from_products() {
    let mut s = shop();
    let p = enrol(&mut s.r, "Margaret", "Thornton");
    let card = p.summary.card.unwrap();
    match s.r.scan(card.as_str()).unwrap() {
        ScanResult::Customer { profile } => assert_eq!(profile.summary.id, p.summary.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(line_of(&s.r, "4006381333931").unit_price_cents, 59_900);
    assert_eq!(line_of(&s.r, "036000291452").description, "Ground coffee");
    // A scale label for item 01234 priced at $4.56.
    let body = "210123400456";
    let label = format!("{body}{}", ean13_check_digit(body));
    let weighed = line_of(&s.r, &label);
    assert_eq!(weighed.description, "Cheddar by weight");
    assert_eq!(weighed.unit_price_cents, 456);

    assert_eq!(
        s.r.scan("4006381333932").unwrap_err().code(),
        ErrorCode::BadCheckDigit
    );
    assert_eq!(
        s.r.scan("5901234123457").unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        s.r.scan("NOPE-42").unwrap_err().code(),
        ErrorCode::UnknownCard
    );
}

#[test]
fn a_sale_lands_on_the_customer_with_points_and_outbox_in_one_go() {
    let mut s = shop();
    let p = enrol(&mut s.r, "Bob", "Dylan");
    let before_outbox = count(&s.r, "SELECT count(*) FROM outbox");
    let mut coffee = line_of(&s.r, "036000291452");
    coffee.quantity = 2.0;
    coffee.unit_price_cents = 1; // the till cannot change the shelf price
    let mut generator = line_of(&s.r, "4006381333931");
    generator.discount_cents = 4_900;
    let sale =
        s.r.complete_sale(&SaleDraft {
            customer_id: Some(p.summary.id),
            lines: vec![coffee, generator],
            payment_method: PaymentMethod::Card,
        })
        .unwrap();
    assert_eq!(sale.total_cents, 2 * 899 + 59_900 - 4_900);
    assert_eq!(sale.points_earned, sale.total_cents / 100);
    assert_eq!(
        count(&s.r, "SELECT count(*) FROM outbox") - before_outbox,
        2,
        "sale + points"
    );

    let profile = s.r.profile(p.summary.id).unwrap();
    assert_eq!(profile.summary.visits, 1);
    assert_eq!(profile.points_balance, sale.points_earned);
    assert_eq!(profile.recent_visits[0].lines.len(), 2);
    let hit = &s.r.find("dylan", 1).unwrap()[0];
    assert_eq!(hit.customer.visits, 1);

    let receipt = s.r.receipt_html(sale.id).unwrap();
    assert!(receipt.contains("Portable generator") && receipt.contains("Thank you, Bob Dylan"));
}

#[test]
fn an_invalid_line_rejects_the_whole_sale() {
    let mut s = shop();
    let good = line_of(&s.r, "036000291452");
    let bad = DraftLine {
        quantity: f64::INFINITY,
        ..good.clone()
    };
    let e =
        s.r.complete_sale(&SaleDraft {
            lines: vec![good, bad],
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(count(&s.r, "SELECT count(*) FROM sales"), 0);
    assert_eq!(count(&s.r, "SELECT count(*) FROM sale_lines"), 0);
    assert!(
        s.r.complete_sale(&SaleDraft::default()).is_err(),
        "empty sale"
    );
}

#[test]
fn anonymous_sale_attached_afterwards_moves_onto_the_history() {
    let mut s = shop();
    let a = enrol(&mut s.r, "Ann", "Lee").summary.id;
    let b = enrol(&mut s.r, "Ben", "Ode").summary.id;
    let sale =
        s.r.complete_sale(&SaleDraft {
            lines: vec![line_of(&s.r, "036000291452")],
            payment_method: PaymentMethod::Cash,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(sale.points_earned, 0);
    let attached = s.r.attach_sale_customer(sale.id, a).unwrap();
    assert_eq!(attached.customer_id, Some(a));
    assert_eq!(attached.points_earned, 8);
    assert_eq!(s.r.profile(a).unwrap().summary.visits, 1);
    // Attaching twice to the same customer is harmless, to someone else refused.
    s.r.attach_sale_customer(sale.id, a).unwrap();
    assert_eq!(s.r.store().points_balance(a).unwrap(), 8);
    assert!(s.r.attach_sale_customer(sale.id, b).is_err());
}

#[test]
fn refunds_are_negative_linked_and_reverse_points_once() {
    let mut s = shop();
    let c = enrol(&mut s.r, "Cy", "Twombly").summary.id;
    let sale =
        s.r.complete_sale(&SaleDraft {
            customer_id: Some(c),
            lines: vec![
                line_of(&s.r, "4006381333931"),
                line_of(&s.r, "036000291452"),
            ],
            payment_method: PaymentMethod::Card,
        })
        .unwrap();
    let earned = sale.points_earned;
    let refund = s.r.refund_sale(sale.id, &[0], PaymentMethod::Card).unwrap();
    assert_eq!(refund.refund_of, Some(sale.id));
    assert_eq!(refund.total_cents, -59_900);
    assert!(refund.points_earned < 0);
    let balance = s.r.store().points_balance(c).unwrap();
    assert_eq!(balance, earned + refund.points_earned);
    assert!(balance >= 0);
    // The same line cannot be refunded twice; the rest can.
    assert!(s.r.refund_sale(sale.id, &[0], PaymentMethod::Card).is_err());
    let rest = s.r.refund_sale(sale.id, &[], PaymentMethod::Card).unwrap();
    assert_eq!(rest.total_cents, -899);
    assert_eq!(s.r.store().points_balance(c).unwrap(), 0);
    assert!(s
        .r
        .refund_sale(refund.id, &[], PaymentMethod::Card)
        .is_err());
    // A refund is not a visit.
    assert_eq!(s.r.profile(c).unwrap().summary.visits, 1);
}

#[test]
fn product_edits_validate() {
    let mut s = shop();
    let e =
        s.r.save_product(
            None,
            &ProductDraft {
                barcode: Some("036000291452".into()),
                name: "Duplicate".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("already belongs"), "{e}");
    let card_range = ProductDraft {
        barcode: Some("2900000000018".into()),
        name: "Sneaky".into(),
        ..Default::default()
    };
    assert!(s.r.save_product(None, &card_range).is_err());
    let found = s.r.find_products("gen", 5).unwrap();
    assert_eq!(found[0].name, "Portable generator");
    assert!(found[0].considered);
    assert!(s.r.find_products("%_\\'\"", 5).unwrap().is_empty());
}
