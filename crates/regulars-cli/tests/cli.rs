//! The `regulars` binary as a user runs it: a real process on a real file.

use std::path::Path;
use std::process::{Command, Output};

fn regulars(db: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_regulars"))
        .arg("--db")
        .arg(db)
        .args(args)
        // The owner's PIN, for commands run `--as` the owner.
        .env("REGULARS_PIN", "2468")
        .env("REGULARS_NEW_PIN", "2468")
        .output()
        .unwrap();
    out
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = regulars(db, args);
    assert!(
        out.status.success(),
        "regulars {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn import_find_card_and_customer_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "external_ref,given_name,family_name,phone,email,card\n\
         H-1,Robert,Smith,802-555-0101,bob@example.com,2900000000018\n\
         H-2,Margaret,Thornton,802-555-0102,,\n\
         H-3,,,,,\n",
    )
    .unwrap();
    let out = regulars(&db, &["customers", "import", csv.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2 imported") && text.contains("1 rejected"),
        "{text}"
    );

    let hits = json_lines(&ok(&db, &["find", "bob smyth", "--json"]));
    assert_eq!(hits[0]["external_ref"], "H-1");
    assert_eq!(hits[0]["display_name"], "Robert Smith");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);
    assert!(hits[0]["id"].as_str().unwrap().len() == 36);

    let card = json_lines(&ok(&db, &["card", "2900000000018", "--json"]));
    assert_eq!(card.len(), 1);
    assert_eq!(card[0]["external_ref"], "H-1");

    let by_ref = json_lines(&ok(&db, &["customer", "H-2", "--json"]));
    assert_eq!(by_ref[0]["display_name"], "Margaret Thornton");
    let id = by_ref[0]["id"].as_str().unwrap().to_string();
    let by_id = json_lines(&ok(&db, &["customer", &id, "--json"]));
    assert_eq!(by_id[0]["external_ref"], "H-2");
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let out = regulars(&db, &["card", "2900000000017"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("check digit"), "{err}");

    let out = regulars(&db, &["customer", "nobody", "--json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no customer matches"));

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 4096]).unwrap();
    let out = regulars(&junk, &["info"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    assert_eq!(std::fs::read(&junk).unwrap(), vec![0x42u8; 4096]);
}

#[test]
fn demo_then_find_by_card_of_a_demo_customer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let text = ok(&db, &["demo", "--customers", "200"]);
    assert!(text.contains("200 customers"), "{text}");
    // Card serials start at 1: the first demo customer holds the first card.
    let card = json_lines(&ok(&db, &["card", "2900000000018", "--json"]));
    let name = card[0]["display_name"].as_str().unwrap().to_string();
    let family = name.rsplit(' ').next().unwrap();
    let hits = json_lines(&ok(&db, &["find", &name, "--json", "--limit", "50"]));
    assert!(
        hits.iter().any(|h| h["id"] == card[0]["id"]),
        "searching '{name}' ({family}) should find the card holder"
    );
    let info = ok(&db, &["info"]);
    assert!(
        info.contains("200 customers") && info.contains("demo store"),
        "{info}"
    );
}

#[test]
fn review_and_contacts_on_a_demo_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    ok(&db, &["demo", "--customers", "300"]);
    let today = chrono::Utc::now().date_naive();
    let month_ago = (today - chrono::Days::new(30)).to_string();
    let today = today.to_string();

    let d = json_lines(&ok(
        &db,
        &["dashboard", "--from", &month_ago, "--to", &today, "--json"],
    ));
    let cur = &d[0]["current"];
    assert!(cur["visits"].as_u64().unwrap() > 0, "{cur}");
    assert_eq!(d[0]["visits_by_hour"].as_array().unwrap().len(), 7);
    let csv = ok(
        &db,
        &[
            "dashboard",
            "--from",
            &month_ago,
            "--to",
            &today,
            "--chart",
            "revenue-by-segment",
        ],
    );
    assert_eq!(csv.lines().next(), Some("segment,customers,visits,revenue"));
    assert_eq!(csv.lines().count(), 8);

    let s = json_lines(&ok(&db, &["segments", "--json", "--months", "6"]));
    assert_eq!(s[0]["history"].as_array().unwrap().len(), 6);
    let counted: u64 = s[0]["current"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, s[0]["customers"].as_u64().unwrap());

    let overdue = json_lines(&ok(&db, &["overdue", "--json", "--limit", "5"]));
    assert!(overdue.len() <= 5);
    for o in &overdue {
        assert!(
            o["days_since"].as_u64() > o["threshold_days"].as_u64(),
            "{o}"
        );
    }

    let out = dir.path().join("contacts.csv");
    let text = ok(&db, &["contacts", "--csv", out.to_str().unwrap()]);
    assert!(text.contains("contacts written to"), "{text}");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with("customer_id,first_name,family_name"));
    let items = json_lines(&ok(&db, &["contacts", "--json"]));
    assert_eq!(items.len() + 1, csv.lines().count());
    if let Some(first) = items.first() {
        let (id, key) = (
            first["customer_id"].as_str().unwrap(),
            first["reason_key"].as_str().unwrap(),
        );
        ok(
            &db,
            &[
                "contact-outcome",
                "--customer",
                id,
                "--key",
                key,
                "--outcome",
                "called",
            ],
        );
        let after = json_lines(&ok(&db, &["contacts", "--json"]));
        assert!(!after
            .iter()
            .any(|i| i["customer_id"] == first["customer_id"]
                && i["reason_key"] == first["reason_key"]));
    }

    let bad = regulars(&db, &["dashboard", "--from", "yesterday", "--to", &today]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
}

#[test]
fn duplicates_merge_and_undo_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "external_ref,given_name,family_name,phone,email,card\n\
         H-1,Robert,Smith,802-555-0101,bob@example.com,\n\
         H-2,Bob,Smyth,(802) 555 0101,,\n\
         H-3,Margaret,Thornton,802-555-0102,,\n",
    )
    .unwrap();
    ok(&db, &["customers", "import", csv.to_str().unwrap()]);
    let pairs = json_lines(&ok(&db, &["duplicates", "--json"]));
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let refs: Vec<&str> = ["a", "b"]
        .iter()
        .map(|s| pairs[0][s]["summary"]["external_ref"].as_str().unwrap())
        .collect();
    assert!(refs.contains(&"H-1") && refs.contains(&"H-2"), "{refs:?}");

    // Merging needs the owner.
    let refused = regulars(&db, &["merge", "H-1", "H-2", "--as", "Olive"]);
    assert!(!refused.status.success());
    ok(&db, &["staff", "setup-owner", "--name", "Olive"]);
    let text = ok(&db, &["merge", "H-1", "H-2", "--as", "Olive"]);
    let merge_id = text.split_whitespace().last().unwrap().to_string();
    assert!(text.contains("undo-merge"), "{text}");
    let gone = regulars(&db, &["customer", "H-2"]);
    assert!(!gone.status.success());
    assert!(ok(&db, &["duplicates", "--json"]).trim().is_empty());

    ok(&db, &["undo-merge", &merge_id, "--as", "Olive"]);
    assert!(ok(&db, &["customer", "H-2"]).contains("Bob Smyth"));
    let again = regulars(&db, &["undo-merge", &merge_id, "--as", "Olive"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already undone"));
}

#[test]
fn logs_go_beside_the_store_and_diagnostics_show_them_without_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "external_ref,given_name,family_name,phone,email\n\
         H-1,Winifred,Quimby,802-555-0199,wq@example.com\n",
    )
    .unwrap();
    ok(&db, &["customers", "import", csv.to_str().unwrap()]);
    ok(&db, &["find", "Quimby"]);
    let text = ok(&db, &["diagnostics"]);
    assert!(text.contains("quick check:     ok"), "{text}");
    assert!(text.contains("customers              1"), "{text}");
    assert!(text.contains("import finished"), "{text}");
    assert!(text.contains("store opened"), "{text}");
    let log = std::fs::read_to_string(dir.path().join("logs/regulars.log")).unwrap();
    for s in ["Winifred", "Quimby", "555-0199", "wq@example.com"] {
        assert!(
            !text.contains(s) && !log.contains(s),
            "{s} leaked:\n{text}\n{log}"
        );
    }
    let d: serde_json::Value =
        serde_json::from_str(ok(&db, &["diagnostics", "--json"]).trim()).unwrap();
    assert_eq!(d["quick_check"], "ok");
    // --log-dir moves the files.
    let elsewhere = dir.path().join("elsewhere");
    ok(&db, &["--log-dir", elsewhere.to_str().unwrap(), "info"]);
    assert!(elsewhere.join("regulars.log").exists());
}
