//! Store tests against real SQLite files in a temporary folder.

use super::*;
use crate::model::{NewCustomer, NewNote, Visibility};
use crate::{ErrorCode, Regulars};

fn draft(given: &str, family: &str) -> NewCustomer {
    NewCustomer {
        given_name: given.into(),
        family_name: family.into(),
        phones: vec!["(802) 555-0142".into()],
        email: Some(format!(
            "{}.{}@example.com",
            given.to_lowercase(),
            family.to_lowercase()
        )),
        marketing_consent: true,
        ..Default::default()
    }
}

fn note(body: &str) -> NewNote {
    NewNote {
        body: body.into(),
        author: "Sam".into(),
        visibility: Visibility::Staff,
        follow_up_on: None,
        expires_on: None,
    }
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn new_store_is_wal_with_foreign_keys_and_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let mode: String = store
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(count(&store, "PRAGMA foreign_keys"), 1);
    assert_eq!(count(&store, "PRAGMA user_version"), schema_version());
    assert_eq!(count(&store, "PRAGMA application_id"), APPLICATION_ID);
    store.integrity_check().unwrap();
}

#[test]
fn migrations_are_valid() {
    MIGRATIONS.validate().unwrap();
}

#[test]
fn data_survives_reopen_and_device_id_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let (id, device) = {
        let mut r = Regulars::open(&path).unwrap();
        let p = r.enrol(&draft("Margaret", "Thornton")).unwrap();
        r.add_note(p.summary.id, &note("Daughter started college"))
            .unwrap();
        (p.summary.id, r.store().device())
    };
    let r = Regulars::open(&path).unwrap();
    assert_eq!(r.store().device(), device);
    let p = r.profile(id).unwrap();
    assert_eq!(p.summary.display_name, "Margaret Thornton");
    assert_eq!(p.notes.len(), 1);
    assert_eq!(r.find("thornton", 5).unwrap()[0].customer.id, id);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    let junk: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &junk).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Corrupt, "{e}");
    assert!(
        e.to_string().contains("backup"),
        "message says what to do: {e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn another_programs_sqlite_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE invoices(id INTEGER); INSERT INTO invoices VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Corrupt, "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(Store::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, Error::TooNew { found: 99, .. }), "{e}");
}

#[test]
fn a_locked_store_is_reported_busy_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut r = Regulars::open(&path).unwrap();
    let locker = rusqlite::Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    r.store_mut()
        .conn
        .busy_timeout(std::time::Duration::from_millis(50))
        .unwrap();
    let e = r.enrol(&draft("Ann", "Lee")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Busy, "{e}");
    locker.execute_batch("ROLLBACK").unwrap();
    assert_eq!(count(r.store(), "SELECT count(*) FROM customers"), 0);
    assert_eq!(count(r.store(), "SELECT count(*) FROM outbox"), 0);
}

#[test]
fn enrolment_writes_customer_card_and_outbox_together() {
    let mut r = Regulars::open_in_memory().unwrap();
    let p = r.enrol(&draft("John", "Smith")).unwrap();
    let card = p.summary.card.clone().unwrap();
    assert_eq!(card, crate::card::CardNumber::issue(1).unwrap());
    assert_eq!(
        count(
            r.store(),
            "SELECT count(*) FROM outbox WHERE entity = 'customer'"
        ),
        1
    );
    assert_eq!(
        count(
            r.store(),
            "SELECT count(*) FROM outbox WHERE entity = 'card'"
        ),
        1
    );
    // The next enrolment gets the next card.
    let q = r.enrol(&draft("Jane", "Smith")).unwrap();
    assert_eq!(
        q.summary.card.unwrap(),
        crate::card::CardNumber::issue(2).unwrap()
    );
    assert_eq!(
        r.lookup_card(card.as_str()).unwrap().summary.id,
        p.summary.id
    );
}

#[test]
fn a_failed_enrolment_leaves_nothing_behind() {
    let mut r = Regulars::open_in_memory().unwrap();
    let p = r.enrol(&draft("John", "Smith")).unwrap();
    let mut d = draft("Johnny", "Smithers");
    d.card = Some(p.summary.card.unwrap().to_string());
    let e = r.enrol(&d).unwrap_err();
    assert_eq!(e.code(), ErrorCode::CardTaken, "{e}");
    assert_eq!(count(r.store(), "SELECT count(*) FROM customers"), 1);
    assert_eq!(count(r.store(), "SELECT count(*) FROM outbox"), 2);
    assert!(r.find("smithers", 5).unwrap().is_empty());
}

#[test]
fn bad_enrolment_input_is_rejected_with_the_field_named() {
    let mut r = Regulars::open_in_memory().unwrap();
    let cases: Vec<(NewCustomer, &str)> = vec![
        (draft("", ""), "name"),
        (
            NewCustomer {
                email: Some("not-an-email".into()),
                ..draft("A", "B")
            },
            "email",
        ),
        (
            NewCustomer {
                phones: vec!["12".into()],
                ..draft("A", "B")
            },
            "phone",
        ),
        (
            NewCustomer {
                phones: vec!["555-CALL-NOW".into()],
                ..draft("A", "B")
            },
            "phone",
        ),
        (
            NewCustomer {
                birthday: Some("23/04/1980".into()),
                ..draft("A", "B")
            },
            "birthday",
        ),
        (
            NewCustomer {
                birthday: Some("2999-01-01".into()),
                ..draft("A", "B")
            },
            "birthday",
        ),
        (
            NewCustomer {
                given_name: "X".repeat(500),
                ..draft("A", "B")
            },
            "given name",
        ),
        (
            NewCustomer {
                card: Some("2900000000017".into()),
                ..draft("A", "B")
            },
            "check digit",
        ),
    ];
    for (d, field) in cases {
        let e = r.enrol(&d).unwrap_err();
        assert!(e.to_string().contains(field), "expected {field}: {e}");
    }
    assert_eq!(count(r.store(), "SELECT count(*) FROM customers"), 0);
}

#[test]
fn notes_are_validated_and_hostile_text_is_stored_verbatim() {
    let mut r = Regulars::open_in_memory().unwrap();
    let id = r.enrol(&draft("Peggy", "Olson")).unwrap().summary.id;
    let long = "x".repeat(NOTE_MAX_CHARS + 1);
    let e = r.add_note(id, &note(&long)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("2000"), "{e}");
    assert!(r.add_note(id, &note("   \n ")).is_err());
    let hostile = "Robert'); DROP TABLE customers;-- \"quoted\" NEAR(a b) 👩‍👩‍👧 مرحبا";
    r.add_note(id, &note(hostile)).unwrap();
    let notes = r.profile(id).unwrap().notes;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].body, hostile);
    assert_eq!(count(r.store(), "SELECT count(*) FROM customers"), 1);
    let ghost = crate::ids::CustomerId::new();
    assert_eq!(
        r.add_note(ghost, &note("hi")).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn card_lookup_errors_are_distinct() {
    let mut r = Regulars::open_in_memory().unwrap();
    let p = r.enrol(&draft("Bob", "Dylan")).unwrap();
    let card = p.summary.card.unwrap();
    let code = |raw: &str| r.lookup_card(raw).unwrap_err().code();
    assert_eq!(code("2900000000999"), ErrorCode::BadCheckDigit);
    assert_eq!(
        code(crate::card::CardNumber::issue(77).unwrap().as_str()),
        ErrorCode::UnknownCard
    );
    assert_eq!(code("'; DROP TABLE cards; --"), ErrorCode::InvalidInput);
    assert_eq!(code(&"9".repeat(10_000)), ErrorCode::InvalidInput);
    r.store_mut().retire_card(&card, "lost").unwrap();
    let e = r.lookup_card(card.as_str()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::CardRetired);
    assert!(e.to_string().contains("lost"));
    // A replacement card works and the profile shows both.
    let p = r.attach_card(p.summary.id, "LEGACY-42").unwrap();
    assert_eq!(p.cards.len(), 2);
    assert_eq!(r.lookup_card("legacy-42").unwrap().summary.id, p.summary.id);
}

#[test]
fn duplicates_are_found_by_phone_email_and_name() {
    let mut r = Regulars::open_in_memory().unwrap();
    let robert = r.enrol(&draft("Robert", "Smith")).unwrap().summary.id;
    let same_phone = NewCustomer {
        given_name: "Someone".into(),
        family_name: "Else".into(),
        phones: vec!["802.555.0142".into()],
        ..Default::default()
    };
    let d = r.check_duplicates(&same_phone).unwrap();
    assert_eq!(d[0].customer.id, robert);
    let nickname = NewCustomer {
        given_name: "Bob".into(),
        family_name: "Smith".into(),
        ..Default::default()
    };
    let d = r.check_duplicates(&nickname).unwrap();
    assert_eq!(d.first().map(|d| d.customer.id), Some(robert), "{d:?}");
    let stranger = NewCustomer {
        given_name: "Zelda".into(),
        family_name: "Quackenbush".into(),
        ..Default::default()
    };
    assert!(r.check_duplicates(&stranger).unwrap().is_empty());
}

#[test]
fn demo_store_is_deterministic_and_searchable() {
    let cfg = crate::demo::DemoConfig::new(300);
    let mut a = Store::open_in_memory().unwrap();
    let mut b = Store::open_in_memory().unwrap();
    let ra = crate::demo::generate(&mut a, &cfg).unwrap();
    let rb = crate::demo::generate(&mut b, &cfg).unwrap();
    assert_eq!(ra, rb);
    assert_eq!(ra.customers, 300);
    assert!(ra.lines > ra.sales && ra.sales > 300, "{ra:?}");
    let names = |s: &Store| -> Vec<(String, String)> {
        s.conn()
            .prepare("SELECT id, family_name FROM customers ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(names(&a), names(&b));
    // A second run on a non-empty store refuses.
    assert!(crate::demo::generate(&mut a, &cfg).is_err());
    a.integrity_check().unwrap();
}
