//! Nothing personal reaches the log files or the diagnostics: the facade is
//! driven with distinctive names, phones, emails, a note, search text and a
//! failing import row, with logging on at debug level, then every log file
//! and the diagnostics text are searched for those strings. One test in this
//! binary because logging is set up once per process.

use std::sync::atomic::AtomicBool;

use regulars_core::import::ImportOptions;
use regulars_core::model::*;
use regulars_core::Regulars;

const SECRETS: &[&str] = &[
    "Zebedee",
    "Quackenbush",
    "Zebby",
    "8025557319",
    "555-7319",
    "zq.private@example.org",
    "pistachio",
    "Xylophonia",
    "Ophelia",
    "Wrongdate",
    "1999-13-45",
    "2900000000995",
];

#[test]
fn logs_and_diagnostics_hold_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    // Debug level too: search events are debug.
    std::env::set_var("REGULARS_LOG", "debug");
    let _guard = regulars_core::logging::init_logging(&logs).unwrap();
    assert!(
        regulars_core::logging::init_logging(&logs).is_err(),
        "a second set-up is refused"
    );

    let mut r = Regulars::open(&dir.path().join("shop.db")).unwrap();
    let p = r
        .enrol(&NewCustomer {
            given_name: "Zebedee".into(),
            family_name: "Quackenbush".into(),
            preferred_name: Some("Zebby".into()),
            phones: vec!["(802) 555-7319".into()],
            email: Some("zq.private@example.org".into()),
            ..Default::default()
        })
        .unwrap();
    let id = p.summary.id;
    // A refused enrolment (bad email) echoes the input in its message.
    assert!(r
        .enrol(&NewCustomer {
            given_name: "Ophelia".into(),
            family_name: "Wrongdate".into(),
            email: Some("Ophelia at nowhere".into()),
            ..Default::default()
        })
        .is_err());
    assert_eq!(r.find("Quackenbush", 5).unwrap().len(), 1);
    assert_eq!(r.find("zq.private@example.org", 5).unwrap().len(), 1);
    assert_eq!(r.find("8025557319", 5).unwrap().len(), 1);
    let _ = r.find("Xylophonia", 5).unwrap();
    assert!(r.resolve("Xylophonia").is_err());
    assert!(r.lookup_card("2900000000995").is_err());
    r.add_note(
        id,
        &NewNote {
            body: "Allergic to pistachio; ask about her daughter Ophelia".into(),
            author: "Sam".into(),
            visibility: Visibility::Staff,
            follow_up_on: None,
            expires_on: None,
        },
    )
    .unwrap();
    assert!(r
        .add_note(
            id,
            &NewNote {
                body: "pistachio ".repeat(500),
                author: "Sam".into(),
                visibility: Visibility::Staff,
                follow_up_on: None,
                expires_on: None,
            },
        )
        .is_err());
    let sale = r
        .complete_sale(&SaleDraft {
            customer_id: Some(id),
            lines: vec![DraftLine {
                product_id: None,
                description: "Pistachio gelato".into(),
                quantity: 1.0,
                unit_price_cents: 450,
                discount_cents: 0,
                offer_key: None,
            }],
            payment_method: PaymentMethod::Cash,
        })
        .unwrap();
    // An import with a failing row that names someone.
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "customer_ref,given_name,family_name,birthday,email\n\
         OK1,Ada,Lovelace,1815-12-10,\n\
         BAD1,Ophelia,Wrongdate,1999-13-45,ophelia@nowhere\n\
         BAD2,,,,\n",
    )
    .unwrap();
    let rep = r
        .import_with(
            &[csv],
            "generic",
            &ImportOptions::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert!(rep.rejected + rep.warnings.len() as u64 >= 1, "{rep:?}");

    let diag = r.diagnostics(Some(&logs)).unwrap();
    let mut text = diag.text.clone();
    for e in std::fs::read_dir(&logs).unwrap() {
        text.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    // The log is there and useful: ids, counts, codes.
    assert!(text.contains("sale completed"), "{text}");
    assert!(text.contains(&sale.id.to_string()), "{text}");
    assert!(text.contains("note added"), "{text}");
    assert!(text.contains("customer enrolled"), "{text}");
    assert!(text.contains("import finished"), "{text}");
    assert!(text.contains("code=InvalidInput"), "{text}");
    assert!(text.contains("code=UnknownCard"), "{text}");
    assert!(text.contains("search"), "{text}");
    assert!(diag.log_lines.len() >= 5, "{:?}", diag.log_lines);
    let lower = text.to_lowercase();
    for s in SECRETS {
        assert!(
            !lower.contains(&s.to_lowercase()),
            "{s:?} leaked into the logs or diagnostics:\n{text}"
        );
    }
    // And the folder of the store (often the login name) is not in diagnostics.
    assert!(!diag.text.contains(&*dir.path().to_string_lossy()));
}
