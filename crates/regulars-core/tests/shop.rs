//! The shop's settings: validated once, kept, shown in the store's info;
//! the owner only; loyalty off means no points and no rewards.

use regulars_core::model::{DraftLine, NewCustomer, PaymentMethod, Role, SaleDraft, StoreSettings};
use regulars_core::staff::PinCost;
use regulars_core::validate_store_settings as validate;
use regulars_core::{ErrorCode, Regulars};

fn settings(name: &str, currency: &str, locale: &str, loyalty: bool) -> StoreSettings {
    StoreSettings {
        name: name.into(),
        currency: currency.into(),
        locale: locale.into(),
        loyalty,
    }
}

#[test]
fn values_are_checked_and_normalised() {
    let ok = validate(&settings("  Corner Shop ", "eur", "es-MX", true)).unwrap();
    assert_eq!(ok, settings("Corner Shop", "EUR", "es-MX", true));
    assert!(validate(&settings("Shop", "USD", "de", false)).is_ok());
    for (bad, field) in [
        (settings("", "USD", "en-US", true), "shop name"),
        (settings(&"x".repeat(81), "USD", "en-US", true), "shop name"),
        (settings("Shop", "US", "en-US", true), "currency"),
        (settings("Shop", "US1", "en-US", true), "currency"),
        (settings("Shop", "USD", "english", true), "locale"),
        (settings("Shop", "USD", "en_US", true), "locale"),
        (settings("Shop", "USD", "en-us", true), "locale"),
        (settings("Shop", "USD", "en-US-x", true), "locale"),
    ] {
        let e = validate(&bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().starts_with(field), "{bad:?}: {e}");
    }
}

fn sale(r: &mut Regulars, c: regulars_core::ids::CustomerId) -> i64 {
    r.complete_sale(&SaleDraft {
        customer_id: Some(c),
        lines: vec![DraftLine {
            product_id: None,
            description: "Bread".into(),
            quantity: 1.0,
            unit_price_cents: 1_000,
            discount_cents: 0,
            offer_key: None,
        }],
        payment_method: PaymentMethod::Cash,
    })
    .unwrap()
    .points_earned
}

#[test]
fn the_owner_sets_them_and_loyalty_off_earns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Regulars::open(&dir.path().join("s.db"))
        .unwrap()
        .with_pin_cost(PinCost::FAST_FOR_TESTS);
    let boss = r.set_up_owner("Olive", "2468").unwrap();
    let info = r.info().unwrap();
    assert_eq!(
        (info.currency.as_str(), info.locale.as_str()),
        ("USD", "en-US")
    );
    let c = r
        .enrol(&NewCustomer {
            given_name: "Ada".into(),
            family_name: "Byron".into(),
            ..Default::default()
        })
        .unwrap()
        .summary
        .id;
    assert_eq!(sale(&mut r, c), 10, "on by default: a point per unit");

    r.save_store_settings(&boss, &settings("Tienda Lupita", "mxn", "es-MX", false))
        .unwrap();
    let info = r.info().unwrap();
    assert_eq!(info.name, "Tienda Lupita");
    assert_eq!(
        (info.currency.as_str(), info.locale.as_str()),
        ("MXN", "es-MX")
    );
    assert!(!r.store_settings().unwrap().loyalty);
    assert_eq!(sale(&mut r, c), 0, "loyalty off: no points");

    r.save_store_settings(&boss, &settings("Tienda Lupita", "MXN", "es-MX", true))
        .unwrap();
    assert_eq!(sale(&mut r, c), 10, "on again");

    let sam = r.add_staff(&boss, "Sam", Role::Cashier, "1357").unwrap();
    let sam = r.unlock(sam.id, "1357").unwrap();
    let e = r
        .save_store_settings(&sam, &settings("Mine now", "USD", "en-US", true))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::OwnerOnly);
    assert_eq!(r.info().unwrap().name, "Tienda Lupita");
}
