//! The suggestions facade over a real (in-memory) store, and the points
//! ledger: replayed entries never double, redemption is capped at the
//! balance the till knows.

use chrono::{Duration, Utc};
use regulars_core::ids::{OfferEventId, PointsEntryId};
use regulars_core::loyalty::{self, Entry, EntryKind, Program, Reward};
use regulars_core::model::{
    DraftLine, NewCustomer, OfferKind, OfferOutcome, PaymentMethod, ProductDraft, PromptKind,
    PromptVerdict, SaleDraft,
};
use regulars_core::Regulars;

fn shop() -> (
    Regulars,
    regulars_core::ids::CustomerId,
    regulars_core::model::Product,
) {
    let mut r = Regulars::open_in_memory().unwrap();
    let gen = r
        .save_product(
            None,
            &ProductDraft {
                name: "Generator".into(),
                category: Some("Power".into()),
                price_cents: 79_900,
                considered: true,
                ..ProductDraft::default()
            },
        )
        .unwrap();
    let c = r
        .enrol(&NewCustomer {
            given_name: "Maggie".into(),
            family_name: "Lee".into(),
            marketing_consent: true,
            ..NewCustomer::default()
        })
        .unwrap();
    (r, c.summary.id, gen)
}

fn line(p: &regulars_core::model::Product) -> DraftLine {
    DraftLine {
        product_id: Some(p.id),
        description: p.name.clone(),
        quantity: 1.0,
        unit_price_cents: p.price_cents,
        discount_cents: 0,
        offer_key: None,
    }
}

#[test]
fn follow_up_three_weeks_later_and_not_relevant_hides_it() {
    let (mut r, c, gen) = shop();
    // Build the engine first so the sale goes through the incremental path.
    r.warm_suggestions().unwrap();
    r.complete_sale(&SaleDraft {
        customer_id: Some(c),
        lines: vec![line(&gen)],
        payment_method: PaymentMethod::Card,
    })
    .unwrap();
    let later = Utc::now() + Duration::days(21);
    let s = r.suggestions(c, &[], Some(later)).unwrap();
    let p = s
        .prompts
        .iter()
        .find(|p| p.kind == PromptKind::FollowUp)
        .expect("follow-up prompt");
    assert!(p.reason.contains("21 days ago"), "{}", p.reason);
    // Nothing from the future: the same question asked before the sale.
    let before = r
        .suggestions(c, &[], Some(Utc::now() - Duration::days(1)))
        .unwrap();
    assert!(before.prompts.is_empty());
    r.prompt_feedback(c, &p.key, p.kind, PromptVerdict::NotRelevant)
        .unwrap();
    let s = r.suggestions(c, &[], Some(later)).unwrap();
    assert!(s.prompts.iter().all(|q| q.key != p.key), "{:?}", s.prompts);
    // Offer events are recorded for the owner's review.
    r.offer_feedback(
        OfferEventId::new(),
        c,
        "replenish:x",
        OfferKind::Replenish,
        OfferOutcome::Declined,
        None,
    )
    .unwrap();
    let n: i64 = r
        .store()
        .conn()
        .query_row("SELECT count(*) FROM offer_events", [], |x| x.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn accepted_reward_line_goes_on_the_sale_free() {
    let (mut r, c, gen) = shop();
    let coffee = r
        .save_product(
            None,
            &ProductDraft {
                name: "Coffee".into(),
                price_cents: 300,
                ..ProductDraft::default()
            },
        )
        .unwrap();
    Program {
        rewards: vec![Reward {
            id: "coffee".into(),
            name: "A free coffee".into(),
            points: 100,
            product_id: Some(coffee.id),
            discount_cents: 0,
        }],
        ..Program::default()
    }
    .save(r.store())
    .unwrap();
    // 799 points from the generator.
    r.complete_sale(&SaleDraft {
        customer_id: Some(c),
        lines: vec![line(&gen)],
        payment_method: PaymentMethod::Card,
    })
    .unwrap();
    let s = r
        .suggestions(c, &[], Some(Utc::now() + Duration::minutes(1)))
        .unwrap();
    let o = s
        .offers
        .iter()
        .find(|o| o.kind == OfferKind::Reward)
        .expect("reward");
    let sale = r
        .complete_sale(&SaleDraft {
            customer_id: Some(c),
            lines: vec![o.line.clone().expect("line")],
            payment_method: PaymentMethod::Cash,
        })
        .unwrap();
    assert_eq!(sale.total_cents, 0, "the reward is free");
    r.offer_feedback(
        OfferEventId::new(),
        c,
        &o.key,
        o.kind,
        OfferOutcome::Accepted,
        Some(sale.id),
    )
    .unwrap();
    // 799 earned, 100 spent on the reward.
    assert_eq!(r.profile(c).unwrap().points_balance, 699);
}

/// A shop whose program has a 100-point coffee reward, and a customer
/// holding 799 points.
fn shop_with_reward() -> (
    Regulars,
    regulars_core::ids::CustomerId,
    regulars_core::model::Offer,
) {
    let (mut r, c, gen) = shop();
    let coffee = r
        .save_product(
            None,
            &ProductDraft {
                name: "Coffee".into(),
                price_cents: 300,
                ..ProductDraft::default()
            },
        )
        .unwrap();
    Program {
        rewards: vec![Reward {
            id: "coffee".into(),
            name: "A free coffee".into(),
            points: 100,
            product_id: Some(coffee.id),
            discount_cents: 0,
        }],
        ..Program::default()
    }
    .save(r.store())
    .unwrap();
    r.complete_sale(&SaleDraft {
        customer_id: Some(c),
        lines: vec![line(&gen)],
        payment_method: PaymentMethod::Card,
    })
    .unwrap();
    let s = r
        .suggestions(c, &[], Some(Utc::now() + Duration::minutes(1)))
        .unwrap();
    let o = s
        .offers
        .into_iter()
        .find(|o| o.kind == OfferKind::Reward)
        .expect("reward");
    (r, c, o)
}

fn count(r: &Regulars, sql: &str) -> i64 {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

#[test]
fn a_replayed_redemption_never_spends_twice() {
    let (mut r, c, o) = shop_with_reward();
    assert_eq!(r.profile(c).unwrap().points_balance, 799);
    let changes = count(&r, "SELECT count(*) FROM outbox");
    let tap = OfferEventId::new();
    // Double tap, then a retry after a timeout: the same id three times.
    for _ in 0..3 {
        r.offer_feedback(tap, c, &o.key, o.kind, OfferOutcome::Accepted, None)
            .unwrap();
    }
    assert_eq!(r.profile(c).unwrap().points_balance, 699, "spent once");
    assert_eq!(count(&r, "SELECT count(*) FROM offer_events"), 1);
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM points_ledger WHERE kind = 'redeem'"
        ),
        1
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM outbox") - changes,
        2,
        "one change for the event, one for the spend, none for the replays"
    );
    // A second, genuine acceptance (a new tap) does spend again.
    r.offer_feedback(
        OfferEventId::new(),
        c,
        &o.key,
        o.kind,
        OfferOutcome::Accepted,
        None,
    )
    .unwrap();
    assert_eq!(r.profile(c).unwrap().points_balance, 599);
}

#[test]
fn a_refused_redemption_records_no_event() {
    let (mut r, c, o) = shop_with_reward();
    // Spend the balance down below the reward by other taps.
    for _ in 0..7 {
        r.offer_feedback(
            OfferEventId::new(),
            c,
            &o.key,
            o.kind,
            OfferOutcome::Accepted,
            None,
        )
        .unwrap();
    }
    assert_eq!(r.profile(c).unwrap().points_balance, 99);
    let before = count(&r, "SELECT count(*) FROM offer_events");
    let e = r
        .offer_feedback(
            OfferEventId::new(),
            c,
            &o.key,
            o.kind,
            OfferOutcome::Accepted,
            None,
        )
        .unwrap_err();
    assert!(e.to_string().contains("not enough"), "{e}");
    assert_eq!(count(&r, "SELECT count(*) FROM offer_events"), before);
    assert_eq!(r.profile(c).unwrap().points_balance, 99);
}

#[test]
fn an_accepted_offer_is_linked_to_the_sale_that_completes() {
    let (mut r, c, o) = shop_with_reward();
    let line = o.line.clone().expect("line");
    assert_eq!(line.offer_key.as_deref(), Some(o.key.as_str()));
    // Accepted at the till before the sale exists.
    r.offer_feedback(
        OfferEventId::new(),
        c,
        &o.key,
        o.kind,
        OfferOutcome::Accepted,
        None,
    )
    .unwrap();
    // An earlier shown event of the same offer stays unlinked.
    r.offer_feedback(
        OfferEventId::new(),
        c,
        &o.key,
        o.kind,
        OfferOutcome::Shown,
        None,
    )
    .unwrap();
    let sale = r
        .complete_sale(&SaleDraft {
            customer_id: Some(c),
            lines: vec![line],
            payment_method: PaymentMethod::Cash,
        })
        .unwrap();
    let linked: Vec<(String, Option<String>)> = {
        let conn = r.store().conn();
        let mut st = conn
            .prepare("SELECT outcome, sale_id FROM offer_events ORDER BY outcome")
            .unwrap();
        st.query_map([], |x| Ok((x.get(0)?, x.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        linked,
        vec![
            ("accepted".to_string(), Some(sale.id.to_string())),
            ("shown".to_string(), None)
        ]
    );
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM outbox WHERE entity = 'offer_event' AND op = 'update'"
        ),
        1,
        "the link is shipped to other tills"
    );
    // A later sale with the same line links nothing more (already on a sale).
    let again = r
        .complete_sale(&SaleDraft {
            customer_id: Some(c),
            lines: vec![o.line.clone().unwrap()],
            payment_method: PaymentMethod::Cash,
        })
        .unwrap();
    assert_eq!(
        count(
            &r,
            &format!(
                "SELECT count(*) FROM offer_events WHERE sale_id = '{}'",
                again.id
            )
        ),
        0
    );
}

#[test]
fn ledger_replays_never_double_and_redemption_is_capped() {
    let (mut r, c, _) = shop();
    let e = Entry {
        id: PointsEntryId::new(),
        customer_id: c,
        sale_id: None,
        kind: EntryKind::Adjust,
        points: 120,
        reason: Some("welcome bonus".into()),
        created_at: "2025-01-01T10:00:00Z".into(),
    };
    let conn = r.store().conn();
    assert!(loyalty::append(conn, &e).unwrap());
    assert!(!loyalty::append(conn, &e).unwrap(), "a replay is a no-op");
    assert!(!loyalty::append(conn, &e).unwrap());
    assert_eq!(loyalty::balance(conn, c).unwrap(), 120);
    // An adjustment without a reason is refused.
    let mut bad = e.clone();
    bad.id = PointsEntryId::new();
    bad.reason = None;
    assert!(loyalty::append(conn, &bad).is_err());
    // Redeem: idempotent by id, capped at the known balance.
    let tap = PointsEntryId::new();
    assert_eq!(
        loyalty::redeem(r.store_mut(), tap, c, 100, "free coffee").unwrap(),
        20
    );
    assert_eq!(
        loyalty::redeem(r.store_mut(), tap, c, 100, "free coffee").unwrap(),
        20
    );
    assert!(loyalty::redeem(r.store_mut(), PointsEntryId::new(), c, 21, "too much").is_err());
    assert_eq!(loyalty::balance(r.store().conn(), c).unwrap(), 20);
}

#[test]
fn program_rules() {
    let p = Program {
        points_per_unit: 2,
        points_per_visit: 5,
        rewards: vec![
            Reward {
                id: "a".into(),
                name: "small".into(),
                points: 50,
                product_id: None,
                discount_cents: 100,
            },
            Reward {
                id: "b".into(),
                name: "big".into(),
                points: 200,
                product_id: None,
                discount_cents: 500,
            },
        ],
        ..Program::default()
    };
    assert_eq!(p.points_for_sale(1999), 19 * 2 + 5);
    assert_eq!(p.points_for_sale(-500), 0);
    assert_eq!(p.best_reward(120).unwrap().id, "a");
    assert_eq!(p.best_reward(250).unwrap().id, "b");
    assert!(p.best_reward(10).is_none());
    assert_eq!(p.next_reward(180).unwrap().id, "b");
    assert!(
        p.next_reward(100).is_none(),
        "100 short is not within reach"
    );
    assert_eq!(Program::from_json(Some("garbage")), Program::default());
}

/// The app builds the engine on its own connection while the till works;
/// one built before a sale must not be installed after it (it would lack
/// the sale), and one built on a quiet store is installed.
#[test]
fn an_engine_built_elsewhere_is_installed_only_if_nothing_changed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut till = Regulars::open(&path).unwrap();
    let c = till
        .enrol(&regulars_core::model::NewCustomer {
            given_name: "Ada".into(),
            family_name: "Byron".into(),
            ..Default::default()
        })
        .unwrap()
        .summary
        .id;
    let quiet = Regulars::open_for_maintenance(&path)
        .unwrap()
        .build_suggestions()
        .unwrap();
    assert!(till.install_suggestions(quiet).unwrap());

    let mut till = Regulars::open(&path).unwrap();
    let stale = Regulars::open_for_maintenance(&path)
        .unwrap()
        .build_suggestions()
        .unwrap();
    till.add_note(
        c,
        &regulars_core::model::NewNote {
            body: "likes the rye".into(),
            author: "Sam".into(),
            visibility: regulars_core::model::Visibility::Staff,
            follow_up_on: None,
            expires_on: None,
        },
    )
    .unwrap();
    assert!(!till.install_suggestions(stale).unwrap());
    // The till still suggests (building its own engine).
    till.suggestions(c, &[], None).unwrap();
}
