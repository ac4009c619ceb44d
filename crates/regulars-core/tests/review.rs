//! The owner's review and "reach out" through `Regulars`, on a real store
//! file: history written as sales rows, then dashboard, segments, overdue,
//! offer results and the contact list read back; outcomes recorded (with
//! their outbox change) change the list.

use chrono::{Days, NaiveDate, Utc};
use regulars_core::ids::{CustomerId, SaleId};
use regulars_core::model::*;
use regulars_core::{ErrorCode, Regulars};

fn customer(r: &mut Regulars, given: &str, consent: bool, birthday: Option<String>) -> CustomerId {
    r.enrol(&NewCustomer {
        given_name: given.into(),
        family_name: "Tester".into(),
        phones: vec!["0123 456 789".into()],
        marketing_consent: consent,
        birthday,
        ..Default::default()
    })
    .unwrap()
    .summary
    .id
}

fn sale(r: &Regulars, c: Option<CustomerId>, day: NaiveDate, hour: u32, cents: i64) -> SaleId {
    let id = SaleId::new();
    let at = format!("{day}T{hour:02}:15:00Z");
    r.store()
        .conn()
        .execute(
            "INSERT INTO sales(id, customer_id, device_id, completed_at, total_cents)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![id, c, r.store().device(), at, cents],
        )
        .unwrap();
    id
}

fn weekly(r: &Regulars, c: CustomerId, last: NaiveDate, weeks: u64, cents: i64) {
    for w in 0..weeks {
        sale(r, Some(c), last - Days::new(7 * w), 10, cents);
    }
}

#[test]
fn review_and_reach_out_on_a_real_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Regulars::open(&dir.path().join("shop.db")).unwrap();
    let today = Utc::now().date_naive();
    let ago = |d: u64| today - Days::new(d);
    let in_days = |d: u64| today + Days::new(d);
    let birthday = format!("1980-{}", in_days(2).format("%m-%d"));

    let ada = customer(&mut r, "Ada", true, None); // weekly, 3 weeks missing
    let bob = customer(&mut r, "Bob", false, None); // the same, no consent
    let cy = customer(&mut r, "Cy", true, Some(birthday)); // regular, birthday
    weekly(&r, ada, ago(21), 20, 3_000);
    weekly(&r, bob, ago(21), 20, 1_000);
    weekly(&r, cy, ago(1), 30, 5_000);
    sale(&r, None, ago(2), 18, 700); // anonymous
    r.add_note(
        bob,
        &NewNote {
            body: "call when the special order arrives".into(),
            author: "Owner".into(),
            visibility: Visibility::Owner,
            follow_up_on: Some(today.to_string()),
            expires_on: None,
        },
    )
    .unwrap();
    let as_of = today.to_string();

    // Overdue: Ada and Bob (late against a weekly rhythm), not Cy.
    let overdue = r.overdue(Some(&as_of), 10).unwrap();
    let names: Vec<&str> = overdue.iter().map(|o| o.display_name.as_str()).collect();
    assert_eq!(
        names,
        vec!["Ada Tester", "Bob Tester"],
        "most usually spent per month first"
    );
    assert_eq!(
        (
            overdue[0].days_since,
            overdue[0].usual_gap_days,
            overdue[0].usual_spend_cents
        ),
        (21, 7, 3_000)
    );
    assert!(overdue[0].reason.contains("usually every 7 days"));

    // Segments: three customers, twelve monthly snapshots.
    let seg = r.segments(Some(&as_of), 12).unwrap();
    assert_eq!(seg.customers, 3);
    assert_eq!(seg.history.len(), 12);
    assert_eq!(seg.history.last(), Some(&seg.current));
    let total: u32 = seg.current.counts.iter().map(|c| c.customers).sum();
    assert_eq!(total, 3);
    let earliest: u32 = seg.history[0].counts.iter().map(|c| c.customers).sum();
    assert!(earliest <= 3);

    // Dashboard for the last 14 days: Cy's two visits and the anonymous one.
    let d = r.dashboard(&ago(13).to_string(), &as_of, 0).unwrap();
    assert_eq!((d.current.visits, d.current.identified_visits), (3, 2));
    assert_eq!(d.current.revenue_cents, 10_700);
    assert_eq!(
        (
            d.current.customers,
            d.current.new_customers,
            d.current.returning_customers
        ),
        (1, 0, 1)
    );
    assert_eq!(
        d.previous.visits, 4,
        "Ada and Bob once, Cy twice, the fortnight before"
    );
    assert_eq!(d.revenue_trend.len(), 14);
    let csv = r
        .dashboard_csv(
            &ago(13).to_string(),
            &as_of,
            0,
            DashboardChart::RevenueTrend,
        )
        .unwrap();
    assert_eq!(csv.lines().count(), 15);
    let err = r.dashboard(&as_of, &ago(1).to_string(), 0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(
        r.dashboard("1 Nov", &as_of, 0).unwrap_err().code(),
        ErrorCode::InvalidInput
    );

    // Offer results: an accepted offer linked to a sale brings its revenue.
    let s = sale(&r, Some(cy), today, 11, 4_200);
    for outcome in [OfferOutcome::Shown, OfferOutcome::Accepted] {
        r.offer_feedback(
            regulars_core::ids::OfferEventId::new(),
            cy,
            "replenish:x",
            OfferKind::Replenish,
            outcome,
            Some(s).filter(|_| outcome == OfferOutcome::Accepted),
        )
        .unwrap();
    }
    let res = r
        .offer_results(&ago(1).to_string(), &in_days(1).to_string())
        .unwrap();
    assert_eq!(res.offers.len(), 1);
    let o = &res.offers[0];
    assert_eq!(
        (o.shown, o.accepted, o.linked_sales, o.revenue_cents),
        (1, 1, 1, 4_200)
    );

    // Contacts: Ada overdue (consent), Bob only for his note (no consent for
    // marketing), Cy's birthday in two days.
    let list = r.contact_list(Some(&as_of)).unwrap();
    let got: Vec<(&str, ContactReason)> = list
        .iter()
        .map(|i| (i.given_name.as_str(), i.reason))
        .collect();
    assert!(got.contains(&("Ada", ContactReason::Overdue)), "{got:?}");
    assert!(got.contains(&("Bob", ContactReason::FollowUp)), "{got:?}");
    assert!(got.contains(&("Cy", ContactReason::Birthday)), "{got:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    let csv = r.contact_list_csv(Some(&as_of)).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("customer_id,first_name"));

    // Outcomes: recorded with their outbox change; done items leave the list.
    let pending = r.info().unwrap().pending_changes;
    let ada_item = list.iter().find(|i| i.customer_id == ada).unwrap();
    r.record_contact_outcome(
        ada,
        &ada_item.reason_key,
        ContactOutcome::Called,
        Some("Sam"),
    )
    .unwrap();
    r.record_contact_outcome(cy, "birthday:1999", ContactOutcome::NotInterested, None)
        .unwrap();
    assert_eq!(r.info().unwrap().pending_changes, pending + 2);
    let list = r.contact_list(Some(&as_of)).unwrap();
    let left: Vec<&str> = list.iter().map(|i| i.given_name.as_str()).collect();
    assert_eq!(
        left,
        vec!["Bob"],
        "Ada done, Cy resting after 'not interested'"
    );

    let err = r
        .record_contact_outcome(ada, "  ", ContactOutcome::Called, None)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    let err = r
        .record_contact_outcome(CustomerId::new(), "overdue:x", ContactOutcome::Called, None)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    // Nothing personal in messages.
    assert!(!err.to_string().contains("Tester"));

    // Visits are kept between calls, but a new sale is seen at once: Ada
    // came back today (this connection), Bob too (another program).
    sale(&r, Some(ada), today, 9, 2_000);
    let names: Vec<String> = r
        .overdue(Some(&as_of), 10)
        .unwrap()
        .into_iter()
        .map(|o| o.display_name)
        .collect();
    assert_eq!(names, vec!["Bob Tester"]);
    let other = rusqlite::Connection::open(dir.path().join("shop.db")).unwrap();
    other
        .execute(
            "INSERT INTO sales(id, customer_id, device_id, completed_at, total_cents)
             VALUES (?1, ?2, ?3, ?4, 100)",
            rusqlite::params![
                SaleId::new(),
                bob,
                r.store().device(),
                format!("{today}T08:00:00Z")
            ],
        )
        .unwrap();
    assert!(r.overdue(Some(&as_of), 10).unwrap().is_empty());
}
