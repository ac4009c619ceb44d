//! The till's side of sync, rule by rule, on real stores: field-level
//! last-writer-wins with the loser in the conflict log, a bad change that
//! does not block the page, redacted changes, a replayed page, and the
//! clock that moves past what it sees.

use regulars_core::model::{Address, CustomerEdit, NewCustomer, NewNote, Visibility};
use regulars_core::regulars::Regulars;
use regulars_sync::protocol::{PullResponse, PulledChange};
use regulars_sync::{Change, Replica};

fn enrol(r: &mut Regulars, given: &str) -> regulars_core::ids::CustomerId {
    r.enrol(&NewCustomer {
        given_name: given.into(),
        family_name: "Smith".into(),
        preferred_name: None,
        phones: vec!["0700 000 001".into()],
        email: None,
        birthday: None,
        marketing_consent: true,
        external_ref: None,
        card: None,
    })
    .unwrap()
    .summary
    .id
}

fn edit(r: &mut Regulars, id: regulars_core::ids::CustomerId, f: impl FnOnce(&mut CustomerEdit)) {
    let c = r.store().customer(id).unwrap();
    let mut e = CustomerEdit {
        given_name: c.given_name,
        family_name: c.family_name,
        preferred_name: c.preferred_name,
        phones: c.phones,
        email: c.email,
        birthday: c.birthday,
        marketing_consent: c.marketing_consent,
        external_ref: c.external_ref,
        address: Address::default(),
    };
    f(&mut e);
    r.update_customer(id, &e).unwrap();
}

fn page(changes: Vec<Change>, from: i64) -> PullResponse {
    let n = changes.len() as i64;
    PullResponse {
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, change)| PulledChange {
                cursor: from + i as i64 + 1,
                change,
            })
            .collect(),
        next_cursor: from + n,
        more: false,
        server_ms: 0,
    }
}

/// Moves everything `from` has queued to `to`, as a pull would.
fn ship(from: &mut Regulars, to: &mut Regulars) {
    let batch = from.push_batch(10_000).unwrap();
    let results: Vec<_> = batch
        .iter()
        .map(|c| regulars_sync::ChangeResult {
            id: c.id,
            status: regulars_sync::ChangeStatus::Applied,
            reason: None,
        })
        .collect();
    from.record_push(&results, 0).unwrap();
    let after = to.cursor().unwrap();
    to.apply_page(&page(batch, after)).unwrap();
}

/// Enrolled with a made-up server (these tests pass pages by hand).
fn enrolled(n: u32) -> Regulars {
    let mut r = Regulars::open_in_memory().unwrap();
    let e = regulars_sync::protocol::EnrollResponse {
        device_id: r.store().device().as_uuid(),
        token: "t".into(),
        organisation: "o".into(),
        store_name: "s".into(),
        device_number: n,
        server_ms: 0,
    };
    r.save_enrolment("http://127.0.0.1:9", &e).unwrap();
    r
}

fn count(r: &Regulars, sql: &str) -> i64 {
    r.store().conn().query_row(sql, [], |x| x.get(0)).unwrap()
}

#[test]
fn concurrent_edits_merge_per_field_and_the_loser_is_kept() {
    let mut a = enrolled(1);
    let mut b = enrolled(2);
    let id = enrol(&mut a, "Robert");
    ship(&mut a, &mut b);
    // Offline on both tills: A changes the email, B the phone (different
    // fields), then both the given name (same field; B's is later).
    edit(&mut a, id, |e| e.email = Some("bob@example.org".into()));
    edit(&mut b, id, |e| e.phones = vec!["0700 999 999".into()]);
    edit(&mut a, id, |e| e.given_name = "Bob".into());
    std::thread::sleep(std::time::Duration::from_millis(5));
    edit(&mut b, id, |e| e.given_name = "Bobby".into());
    ship(&mut a, &mut b);
    ship(&mut b, &mut a);
    for r in [&a, &b] {
        let c = r.store().customer(id).unwrap();
        assert_eq!(c.email.as_deref(), Some("bob@example.org"));
        assert_eq!(c.phones, vec!["0700 999 999".to_string()]);
        assert_eq!(c.given_name, "Bobby", "the later write wins");
    }
    // A received the later "Bobby" over its own "Bob"; B refused A's older
    // "Bob": each kept the losing value in its conflict log.
    assert_eq!(
        count(
            &b,
            "SELECT count(*) FROM sync_conflicts WHERE field = 'given_name' AND lost = '\"Bob\"'"
        ),
        1
    );
}

#[test]
fn a_bad_change_is_set_aside_and_the_rest_of_the_page_lands() {
    let mut a = enrolled(1);
    let mut b = enrolled(2);
    let id = enrol(&mut a, "Ada");
    a.add_note(
        id,
        &NewNote {
            body: "wants the blue one".into(),
            author: "till".into(),
            visibility: Visibility::Staff,
            follow_up_on: None,
            expires_on: None,
        },
    )
    .unwrap();
    let mut batch = a.push_batch(100).unwrap();
    // A note change missing its body, in the middle of the page.
    let mut broken = batch.last().unwrap().clone();
    broken.id = uuid::Uuid::now_v7();
    broken.entity_id = uuid::Uuid::now_v7().to_string();
    broken.payload.as_object_mut().unwrap().remove("body");
    batch.insert(1, broken);
    // And one the server redacted (about someone erased elsewhere).
    let mut redacted = batch.last().unwrap().clone();
    redacted.id = uuid::Uuid::now_v7();
    redacted.payload = serde_json::json!({ "redacted": true });
    batch.push(redacted);
    let p = page(batch, 0);
    b.apply_page(&p).unwrap();
    assert_eq!(count(&b, "SELECT count(*) FROM customers"), 1);
    assert_eq!(
        count(&b, "SELECT count(*) FROM notes"),
        1,
        "the good note landed"
    );
    assert_eq!(
        count(
            &b,
            "SELECT count(*) FROM sync_conflicts WHERE field = '(not applied)'"
        ),
        1,
        "the broken one is noted for the owner"
    );
    assert_eq!(b.cursor().unwrap(), p.next_cursor, "the queue moved on");
    // The same page again changes nothing.
    let before = count(&b, "SELECT count(*) FROM sync_conflicts");
    b.apply_page(&p).unwrap();
    assert_eq!(count(&b, "SELECT count(*) FROM notes"), 1);
    assert_eq!(count(&b, "SELECT count(*) FROM sync_conflicts"), before);
}

#[test]
fn the_clock_moves_past_a_far_future_stamp_and_never_back() {
    let mut a = enrolled(1);
    let mut b = enrolled(2);
    enrol(&mut a, "Zed");
    let mut batch = a.push_batch(100).unwrap();
    // A till whose clock ran three days ahead.
    for c in &mut batch {
        c.hlc = regulars_sync::Hlc::new(c.hlc.ms + 3 * 86_400_000, c.hlc.counter);
    }
    let far = batch.iter().map(|c| c.hlc).max().unwrap();
    b.apply_page(&page(batch, 0)).unwrap();
    let id = enrol(&mut b, "Yan");
    let mine = b.push_batch(100).unwrap();
    assert!(
        mine.iter().all(|c| c.hlc > far),
        "B's next writes order after what it saw"
    );
    let _ = id;
}
