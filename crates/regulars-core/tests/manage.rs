//! Managing customers through the facade over real store files: edits with
//! field-level changes, households, notes with visibility and expiry, the
//! duplicate finder, merge and an exact undo (every row of every table
//! compared), and pair scoring as a data table.

use std::collections::HashSet;

use regulars_core::ids::{CustomerId, HouseholdId};
use regulars_core::manage::duplicates::{blocking_keys, rank_pairs, score_pair, DupRecord};
use regulars_core::model::{
    Address, CustomerEdit, NewCustomer, NewNote, NoteEdit, Viewer, Visibility,
};
use regulars_core::{demo, ErrorCode, Regulars};

fn open() -> (tempfile::TempDir, Regulars) {
    let dir = tempfile::tempdir().unwrap();
    let r = Regulars::open(&dir.path().join("s.db"))
        .unwrap()
        .with_pin_cost(regulars_core::staff::PinCost::FAST_FOR_TESTS);
    (dir, r)
}

/// The owner's session (merges need it); cheap PIN hashing for tests.
fn boss(r: &mut Regulars) -> regulars_core::model::Session {
    r.set_up_owner("Olive", "2468").unwrap()
}

fn draft(given: &str, family: &str, phone: &str) -> NewCustomer {
    NewCustomer {
        given_name: given.into(),
        family_name: family.into(),
        phones: vec![phone.into()],
        marketing_consent: true,
        ..Default::default()
    }
}

fn edit_of(r: &Regulars, id: CustomerId) -> CustomerEdit {
    let p = r.profile_for(id, Viewer::Owner).unwrap();
    CustomerEdit {
        given_name: p.summary.given_name,
        family_name: p.summary.family_name,
        preferred_name: p.summary.preferred_name,
        phones: p.phones,
        email: p.summary.email,
        birthday: p.birthday,
        marketing_consent: p.marketing_consent,
        external_ref: p.summary.external_ref,
        address: p.address,
    }
}

fn last_change(r: &Regulars) -> (String, String, serde_json::Value) {
    r.store()
        .conn()
        .query_row(
            "SELECT entity, op, payload FROM outbox ORDER BY seq DESC LIMIT 1",
            [],
            |x| {
                Ok((
                    x.get(0)?,
                    x.get(1)?,
                    serde_json::from_str(&x.get::<_, String>(2)?).unwrap(),
                ))
            },
        )
        .unwrap()
}

#[test]
fn edit_records_only_changed_fields_and_search_follows() {
    let (_d, mut r) = open();
    let id = r
        .enrol(&draft("Margaret", "Olson", "312 555 0101"))
        .unwrap()
        .summary
        .id;
    let mut e = edit_of(&r, id);
    e.family_name = "Thornton".into();
    e.address = Address {
        line1: Some(" 14  Elm Street ".into()),
        postcode: Some("60614".into()),
        city: None,
    };
    let p = r.update_customer(id, &e).unwrap();
    assert_eq!(p.summary.family_name, "Thornton");
    assert_eq!(p.address.line1.as_deref(), Some("14 Elm Street"));
    let (entity, op, payload) = last_change(&r);
    assert_eq!((entity.as_str(), op.as_str()), ("customer", "update"));
    let fields: HashSet<&str> = payload["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        HashSet::from(["family_name", "address_line1", "postcode"])
    );
    assert_eq!(r.find("thornton", 5).unwrap()[0].customer.id, id);
    assert!(r
        .find("olson", 5)
        .unwrap()
        .iter()
        .all(|f| f.customer.id != id));
    // Saving the same form again changes nothing and records nothing.
    let before = r.store().pending_changes().unwrap();
    r.update_customer(id, &e).unwrap();
    assert_eq!(r.store().pending_changes().unwrap(), before);
    // Enrolment's rules apply.
    e.email = Some("not an email".into());
    assert_eq!(
        r.update_customer(id, &e).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
}

#[test]
fn households_and_notes_with_visibility_and_expiry() {
    let (_d, mut r) = open();
    let a = r
        .enrol(&draft("Ann", "Lee", "312 555 0102"))
        .unwrap()
        .summary
        .id;
    let b = r
        .enrol(&draft("Ben", "Lee", "312 555 0103"))
        .unwrap()
        .summary
        .id;
    let h = r.create_household("Lee family", &[a, b]).unwrap();
    assert_eq!(h.members.len(), 2);
    r.rename_household(h.id, "The Lees").unwrap();
    let p = r.profile(a).unwrap();
    assert_eq!(p.summary.household.as_deref(), Some("The Lees"));
    assert_eq!(p.household_members[0].id, b);
    r.set_household(b, None).unwrap();
    assert_eq!(r.household(h.id).unwrap().members.len(), 1);
    assert_eq!(
        r.set_household(b, Some(HouseholdId::new()))
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );

    let note = |body: &str, vis, expires: Option<&str>| NewNote {
        body: body.into(),
        author: "Sam".into(),
        visibility: vis,
        follow_up_on: None,
        expires_on: expires.map(String::from),
    };
    r.add_note(a, &note("likes decaf", Visibility::Staff, None))
        .unwrap();
    r.add_note(a, &note("owes us 5", Visibility::Owner, None))
        .unwrap();
    let old = r
        .add_note(
            a,
            &note("away in June", Visibility::Staff, Some("2020-07-01")),
        )
        .unwrap();
    let staff: Vec<String> = r
        .profile(a)
        .unwrap()
        .notes
        .into_iter()
        .map(|n| n.body)
        .collect();
    assert_eq!(staff, ["likes decaf"]);
    let owner = r.profile_for(a, Viewer::Owner).unwrap().notes;
    assert_eq!(owner.len(), 3);
    let edited = r
        .edit_note(
            old.id,
            &NoteEdit {
                body: "away until 2999".into(),
                visibility: Visibility::Staff,
                follow_up_on: None,
                expires_on: Some("2999-01-01".into()),
            },
        )
        .unwrap();
    assert_eq!(edited.author, "Sam");
    assert_eq!(r.profile(a).unwrap().notes.len(), 2);
    r.retire_note(old.id).unwrap();
    assert_eq!(r.profile(a).unwrap().notes.len(), 1);
    assert_eq!(r.profile_for(a, Viewer::Owner).unwrap().notes.len(), 2);
    assert_eq!(
        r.retire_note(old.id).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

/// Every row of every table (but the outbox, the audit log and the sync clock and field stamps, which gain
/// the merge and undo by design, and the merge journal itself), in a canonical order.
fn dump(r: &Regulars) -> Vec<(String, Vec<String>)> {
    let conn = r.store().conn();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table'
             AND name NOT IN ('outbox', 'sqlite_sequence', 'customer_merges', 'audit_log', 'sync_clock', 'field_stamps') ORDER BY name",
        )
        .unwrap()
        .query_map([], |x| x.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let mut st = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
            let n = st.column_count();
            let mut rows: Vec<String> = st
                .query_map([], |x| {
                    let mut s = String::new();
                    for i in 0..n {
                        s.push_str(&format!("{:?}|", x.get_ref(i)?));
                    }
                    Ok(s)
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            (t, rows)
        })
        .collect()
}

#[test]
fn merge_moves_everything_and_undo_restores_every_row() {
    let (_d, mut r) = open();
    let owner = boss(&mut r);
    demo::generate(r.store_mut(), &demo::DemoConfig::new(40)).unwrap();
    r.rebuild_index().unwrap();
    let conn = r.store().conn();
    // The two customers with the most sales: both have rich histories.
    let ids: Vec<CustomerId> = conn
        .prepare(
            "SELECT customer_id FROM sales WHERE customer_id IS NOT NULL
             GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 2",
        )
        .unwrap()
        .query_map([], |x| x.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (survivor, merged) = (ids[0], ids[1]);
    // Everything else a customer can have, with overlaps (same attribute
    // name, same campaign, same phone) to exercise "survivor's value wins".
    let now = "2026-01-01T00:00:00Z";
    let sql = format!(
        "INSERT INTO customer_attributes VALUES ('{survivor}', 'age', '45-54', 'import', '{now}');
         INSERT INTO customer_attributes VALUES ('{merged}', 'age', '35-44', 'import', '{now}');
         INSERT INTO customer_attributes VALUES ('{merged}', 'income', '50-74K', 'import', '{now}');
         INSERT INTO campaigns VALUES ('c1', 'C1', 'Spring', 'TypeA', NULL, NULL, 'import', '{now}');
         INSERT INTO campaigns VALUES ('c2', 'C2', 'Summer', 'TypeA', NULL, NULL, 'import', '{now}');
         INSERT INTO campaign_members VALUES ('c1', '{survivor}'), ('c1', '{merged}'), ('c2', '{merged}');
         INSERT INTO coupon_redemptions VALUES ('{merged}', 'c2', 'X1', '2025-05-01');
         INSERT INTO prompt_feedback VALUES ('pf1', '{merged}', 'usual:x', 'usual', 'used', '{now}');
         INSERT INTO offer_events VALUES ('oe1', '{merged}', 'campaign:x', 'campaign', 'shown', NULL, '{now}');
         INSERT INTO points_ledger VALUES ('pl1', '{merged}', NULL, 'adjust', 70, 'welcome', '{now}');
         INSERT INTO customer_phones SELECT '{merged}', 7, phone, digits FROM customer_phones
             WHERE customer_id = '{survivor}' AND position = 0;
         UPDATE customers SET email = NULL, birthday = NULL WHERE id = '{survivor}';
         UPDATE customers SET email = 'merged@example.com', postcode = '60614' WHERE id = '{merged}';"
    );
    conn.execute_batch(&sql).unwrap();
    r.add_note(
        merged,
        &NewNote {
            body: "prefers paper bags".into(),
            author: "Sam".into(),
            visibility: Visibility::Owner,
            follow_up_on: None,
            expires_on: None,
        },
    )
    .unwrap();
    let before = dump(&r);
    let survivor_before = r.profile_for(survivor, Viewer::Owner).unwrap();
    let merged_before = r.profile_for(merged, Viewer::Owner).unwrap();

    let receipt = r.merge_customers(&owner, survivor, merged).unwrap();
    let after = r.profile_for(survivor, Viewer::Owner).unwrap();
    assert_eq!(
        after.summary.visits,
        survivor_before.summary.visits + merged_before.summary.visits
    );
    assert_eq!(
        after.points_balance,
        survivor_before.points_balance + merged_before.points_balance
    );
    assert_eq!(
        after.cards.len(),
        survivor_before.cards.len() + merged_before.cards.len()
    );
    assert_eq!(
        after.notes.len(),
        survivor_before.notes.len() + merged_before.notes.len()
    );
    assert_eq!(after.summary.email.as_deref(), Some("merged@example.com"));
    assert!(
        receipt.filled.contains(&"email".to_string()),
        "{:?}",
        receipt.filled
    );
    let count = |sql: &str| -> i64 { r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap() };
    assert_eq!(
        count(&format!(
            "SELECT count(*) FROM customers WHERE id = '{merged}'"
        )),
        0
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) FROM customer_attributes WHERE customer_id = '{survivor}' AND name = 'age' AND value = '45-54'"
        )),
        1,
        "the survivor's own value wins"
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) FROM campaign_members WHERE customer_id = '{survivor}'"
        )),
        2
    );
    assert_eq!(r.merged_into(merged).unwrap(), Some(survivor));
    assert_eq!(r.profile(merged).unwrap_err().code(), ErrorCode::NotFound);
    assert!(r
        .find(&merged_before.summary.display_name, 50)
        .unwrap()
        .iter()
        .all(|f| f.customer.id != merged));
    let (_, op, _) = last_change(&r);
    assert_eq!(op, "merge");

    let restored = r.undo_merge(&owner, receipt.merge_id).unwrap();
    assert_eq!(restored.summary.id, merged);
    let undone = dump(&r);
    assert_eq!(before.len(), undone.len());
    for ((t, a), (_, b)) in before.iter().zip(&undone) {
        assert_eq!(a, b, "table {t} differs after undo");
    }
    assert_eq!(r.merged_into(merged).unwrap(), None);
    assert_eq!(r.profile_for(merged, Viewer::Owner).unwrap(), merged_before);
    // Once only.
    assert_eq!(
        r.undo_merge(&owner, receipt.merge_id).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
}

#[test]
fn undo_is_refused_when_the_survivor_changed_since() {
    let (_d, mut r) = open();
    let owner = boss(&mut r);
    let a = r
        .enrol(&draft("Robert", "Smith", "312 555 0199"))
        .unwrap()
        .summary
        .id;
    let b = r
        .enrol(&draft("Bob", "Smith", "(312) 555-0199"))
        .unwrap()
        .summary
        .id;
    assert_eq!(
        r.merge_customers(&owner, a, a).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
    let receipt = r.merge_customers(&owner, a, b).unwrap();
    let mut e = edit_of(&r, a);
    e.given_name = "Rob".into();
    r.update_customer(a, &e).unwrap();
    let err = r.undo_merge(&owner, receipt.merge_id).unwrap_err();
    assert!(err.to_string().contains("edited after the merge"), "{err}");
    // Refused means untouched.
    assert_eq!(r.merged_into(b).unwrap(), Some(a));
}

#[test]
fn duplicate_finder_ranks_planted_pair_first_and_remembers_dismissals() {
    let (_d, mut r) = open();
    let a = r
        .enrol(&draft("Robert", "Smith", "312 555 0111"))
        .unwrap()
        .summary
        .id;
    let b = r
        .enrol(&draft("Bob", "Smyth", "(312) 555-0111"))
        .unwrap()
        .summary
        .id;
    r.enrol(&draft("Alice", "Jones", "312 555 0122")).unwrap();
    r.enrol(&draft("Mary", "Smith", "312 555 0133")).unwrap();
    let pairs = r.duplicate_pairs(10).unwrap();
    let top = &pairs[0];
    let ids = HashSet::from([top.a.summary.id, top.b.summary.id]);
    assert_eq!(ids, HashSet::from([a, b]));
    assert!(
        top.evidence.iter().any(|e| e.contains("same phone")),
        "{:?}",
        top.evidence
    );
    assert!(top.a.cards.len() == 1 && top.b.cards.len() == 1);
    r.dismiss_duplicate(b, a).unwrap();
    assert!(r
        .duplicate_pairs(10)
        .unwrap()
        .iter()
        .all(|p| HashSet::from([p.a.summary.id, p.b.summary.id]) != ids));
}

fn rec(given: &str, family: &str, phone: &str, email: &str) -> DupRecord {
    DupRecord {
        id: CustomerId::new(),
        given_name: given.into(),
        family_name: family.into(),
        phones: [phone]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect(),
        email: Some(email.to_string()).filter(|e| !e.is_empty()),
        ..Default::default()
    }
}

#[test]
fn pair_scoring_table() {
    // (a, b, score at least, score below, evidence that must appear)
    type Case = (DupRecord, DupRecord, f32, f32, &'static str);
    let with = |mut r: DupRecord, f: &dyn Fn(&mut DupRecord)| {
        f(&mut r);
        r
    };
    let cases: Vec<Case> = vec![
        // The same phone typed two ways, nickname, sound-alike family name.
        (
            rec("Robert", "Smith", "312-555-0101", ""),
            rec("Bob", "Smyth", "(312) 555 0101", ""),
            60.0,
            101.0,
            "same phone",
        ),
        // Same email, typo in the given name.
        (
            rec("Jennifer", "Kowalski", "", "jen.k@gmail.com"),
            rec("Jenifer", "Kowalski", "", "JEN.K@gmail.com"),
            60.0,
            101.0,
            "same email",
        ),
        // Name only, exact: worth a look but not proof.
        (
            rec("Maria", "Garcia", "", ""),
            rec("Maria", "Garcia", "", ""),
            25.0,
            40.0,
            "same first name",
        ),
        // Household: shared phone and address, different people.
        (
            with(rec("John", "Lee", "312 555 0199", ""), &|r| {
                r.address_line1 = Some("14 Elm St".into());
                r.postcode = Some("60614".into());
            }),
            with(rec("Mary", "Lee", "312 555 0199", ""), &|r| {
                r.address_line1 = Some("14 Elm Street".into());
                r.postcode = Some("60614".into());
            }),
            0.0,
            40.0,
            "same house number and postcode",
        ),
        // Same name, different birthdays: two people.
        (
            with(rec("James", "Brown", "", ""), &|r| {
                r.birthday = Some("1970-01-01".into())
            }),
            with(rec("James", "Brown", "", ""), &|r| {
                r.birthday = Some("1988-05-05".into())
            }),
            0.0,
            20.0,
            "same family name",
        ),
        // Same number without the area code, and an initial-level match.
        (
            rec("Katherine", "Olsen", "773 555 0142", ""),
            rec("Catherine", "Olson", "555 0142", ""),
            40.0,
            101.0,
            "sound or look alike",
        ),
        // A card re-typed with leading zeros.
        (
            with(rec("Ann", "Baker", "", ""), &|r| {
                r.cards = vec!["0004711".into()]
            }),
            with(rec("Anne", "Baker", "", ""), &|r| {
                r.cards = vec!["4711".into()]
            }),
            60.0,
            101.0,
            "same card number",
        ),
        // Nothing in common.
        (
            rec("Alice", "Jones", "312 555 0100", "a@x.com"),
            rec("Peter", "Novak", "773 555 0999", "p@y.com"),
            0.0,
            1.0,
            "",
        ),
    ];
    for (i, (a, b, lo, hi, must)) in cases.iter().enumerate() {
        let (score, ev) = score_pair(a, b);
        assert!(
            (*lo..*hi).contains(&score),
            "case {i}: score {score} not in {lo}..{hi}; evidence {ev:?}"
        );
        assert!(
            must.is_empty() || ev.iter().any(|e| e.contains(must)),
            "case {i}: {ev:?}"
        );
        let (back, _) = score_pair(b, a);
        assert_eq!(score, back, "case {i}: scoring is symmetric");
    }
}

#[test]
fn ranking_needs_a_shared_key_and_skips_dismissed() {
    let recs = vec![
        rec("Robert", "Smith", "312 555 0101", ""),
        rec("Bob", "Smith", "312 555 0101", ""),
        rec("Roberta", "Xu", "", ""),
    ];
    let pairs = rank_pairs(&recs, &HashSet::new(), 10);
    assert_eq!(pairs.len(), 1);
    assert_eq!((pairs[0].a, pairs[0].b), (0, 1));
    let key = if recs[0].id < recs[1].id {
        (recs[0].id, recs[1].id)
    } else {
        (recs[1].id, recs[0].id)
    };
    assert!(rank_pairs(&recs, &HashSet::from([key]), 10).is_empty());
}

#[test]
fn campaign_editor_saves_lists_and_previews_by_the_tills_rule() {
    use regulars_core::model::CampaignDraft;
    let (_d, mut r) = open();
    demo::generate(r.store_mut(), &demo::DemoConfig::new(60)).unwrap();
    r.rebuild_index().unwrap();
    let product: Option<regulars_core::ids::ProductId> = Some(
        r.store()
            .conn()
            .query_row("SELECT id FROM products LIMIT 1", [], |x| x.get(0))
            .unwrap(),
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut d = CampaignDraft {
        name: "Regulars' treat".into(),
        text: "A free coffee on us".into(),
        min_visits: Some(5),
        product_id: product,
        gift: true,
        starts_on: today.clone(),
        ends_on: today,
        max_per_customer: 1,
        active: true,
        ..Default::default()
    };
    let p = r.preview_campaign(&d, None).unwrap();
    let expected: i64 = r
        .store()
        .conn()
        .query_row(
            "SELECT count(*) FROM customers c WHERE c.marketing_consent = 1 AND
               (SELECT count(DISTINCT s.id) FROM sales s JOIN sale_lines l ON l.sale_id = s.id
                WHERE s.customer_id = c.id AND s.refund_of IS NULL AND l.product_id IS NOT NULL
                  AND l.quantity > 0) >= 5",
            [],
            |x| x.get(0),
        )
        .unwrap();
    assert!(expected > 0);
    assert_eq!(i64::from(p.count), expected);
    assert_eq!(p.considered, 60);
    assert!(
        p.sample.iter().all(|m| m.reason.contains("5+ visits")),
        "{:?}",
        p.sample.first()
    );
    // Nobody qualifies for a campaign that has ended.
    d.starts_on = "2020-01-01".into();
    d.ends_on = "2020-01-02".into();
    assert_eq!(r.preview_campaign(&d, None).unwrap().count, 0);
    let saved = r.save_campaign(&d).unwrap();
    assert_eq!(saved.id.as_deref(), Some("regulars-treat"));
    let list = r.list_campaigns().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].campaign, saved);
    d.ends_on = "2019-01-01".into();
    assert_eq!(
        r.save_campaign(&d).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
}

#[test]
fn expired_and_retired_notes_prompt_nobody() {
    use regulars_core::model::PromptKind;
    let (_d, mut r) = open();
    let id = r
        .enrol(&draft("Nora", "Quinn", "312 555 0177"))
        .unwrap()
        .summary
        .id;
    let today = chrono::Utc::now().date_naive();
    let day = |d: i64| {
        (today + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let due = |r: &mut Regulars| {
        // A minute on: only notes written before the moment count.
        let at = chrono::Utc::now() + chrono::Duration::seconds(60);
        r.suggestions(id, &[], Some(at))
            .unwrap()
            .prompts
            .iter()
            .filter(|p| p.kind == PromptKind::NoteDue)
            .count()
    };
    let n = r
        .add_note(
            id,
            &NewNote {
                body: "ask how the move went".into(),
                author: "Sam".into(),
                visibility: Visibility::Staff,
                follow_up_on: Some(day(-1)),
                expires_on: Some(day(30)),
            },
        )
        .unwrap();
    assert_eq!(due(&mut r), 1);
    let mut e = NoteEdit {
        body: n.body.clone(),
        visibility: Visibility::Staff,
        follow_up_on: Some(day(-1)),
        expires_on: Some(day(0)),
    };
    r.edit_note(n.id, &e).unwrap();
    assert_eq!(due(&mut r), 0, "expires today: hidden from today on");
    e.expires_on = None;
    r.edit_note(n.id, &e).unwrap();
    assert_eq!(due(&mut r), 1);
    r.retire_note(n.id).unwrap();
    assert_eq!(due(&mut r), 0);
}

#[test]
fn blocking_keys_meet_for_variants_of_one_person_only() {
    let shared = |a: &DupRecord, b: &DupRecord| {
        let ka: HashSet<String> = blocking_keys(a).into_iter().collect();
        blocking_keys(b).into_iter().any(|k| ka.contains(&k))
    };
    // (a, b, should they be compared?)
    let cases = [
        (
            rec("Robert", "Smith", "", ""),
            rec("Bob", "Smith", "", ""),
            true,
        ),
        (
            rec("John", "Smith", "", ""),
            rec("Jonh", "Smith", "", ""),
            true,
        ),
        (
            rec("Catherine", "Olsen", "", ""),
            rec("Katherine", "Olson", "", ""),
            true,
        ),
        (
            rec("Maria", "Kowalski", "", ""),
            rec("Maria", "Kowalsky", "", ""),
            true,
        ),
        (
            rec("Ann", "Lee", "312 555 0101", ""),
            rec("Zed", "Novak", "+1 (312) 555-0101", ""),
            true,
        ),
        (
            rec("Ann", "Lee", "", "a@x.com"),
            rec("Zed", "Novak", "", "A@X.com"),
            true,
        ),
        (
            rec("Alice", "Jones", "312 555 0100", ""),
            rec("Peter", "Novak", "773 555 0999", ""),
            false,
        ),
        (
            rec("Alice", "Jones", "", ""),
            rec("Alice", "Brown", "", ""),
            false,
        ),
    ];
    for (i, (a, b, want)) in cases.iter().enumerate() {
        assert_eq!(
            shared(a, b),
            *want,
            "case {i}: {:?} / {:?}",
            blocking_keys(a),
            blocking_keys(b)
        );
    }
}

#[test]
fn undo_after_new_sales_gives_back_the_moved_ones_only() {
    use regulars_core::model::{DraftLine, SaleDraft};
    let (_d, mut r) = open();
    let owner = boss(&mut r);
    let a = r
        .enrol(&draft("Robert", "Smith", "312 555 0199"))
        .unwrap()
        .summary
        .id;
    let b = r
        .enrol(&draft("Bob", "Smith", "(312) 555-0199"))
        .unwrap()
        .summary
        .id;
    let sell = |r: &mut Regulars, c: CustomerId| {
        r.complete_sale(&SaleDraft {
            customer_id: Some(c),
            lines: vec![DraftLine {
                product_id: None,
                description: "Coffee".into(),
                quantity: 1.0,
                unit_price_cents: 300,
                discount_cents: 0,
                offer_key: None,
            }],
            ..Default::default()
        })
        .unwrap()
        .id
    };
    let old = sell(&mut r, b);
    let receipt = r.merge_customers(&owner, a, b).unwrap();
    let new = sell(&mut r, a);
    r.undo_merge(&owner, receipt.merge_id).unwrap();
    let owner = |s| -> CustomerId {
        r.store()
            .conn()
            .query_row("SELECT customer_id FROM sales WHERE id = ?1", [s], |x| {
                x.get(0)
            })
            .unwrap()
    };
    assert_eq!(owner(old), b);
    assert_eq!(owner(new), a);
    assert_eq!(r.profile(b).unwrap().summary.visits, 1);
}
