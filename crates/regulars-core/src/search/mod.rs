//! Customer recognition: find a returning customer from a few typed letters,
//! a misspelt or nicknamed name, a sound-alike spelling, part of a phone
//! number or an email, as the cashier types.
//!
//! Owns: the in-memory [`SearchIndex`] over customers, its ranking
//! (`rank.rs`, a pure function documented there), duplicate detection for
//! enrolment, and the recognition benchmark (`eval.rs`).
//! Does not own: persistence (the store feeds [`SearchIndex::upsert`],
//! [`SearchIndex::remove`] and [`SearchIndex::set_activity`] on every
//! change and rebuilds it at start), or display.
//!
//! Submodules: `normalize` (folding and tokenising), `phonetic` (sound-alike
//! key), `nicknames` (the shipped table), `query` (parsing, hostile-input
//! caps), `index` (structures and matching), `rank` (scoring), `eval`
//! (accuracy and latency benchmark).

pub mod eval;
pub mod index;
pub mod nicknames;
pub mod normalize;
pub mod phonetic;
pub mod query;
pub mod rank;

pub use index::SearchIndex;

use crate::ids::CustomerId;

/// What the index knows about one customer.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchDoc {
    pub id: CustomerId,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    /// Lifetime visit count.
    pub visits: u32,
    /// Seconds since the Unix epoch.
    pub last_visit_unix: Option<i64>,
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: CustomerId,
    pub score: f32,
    /// Short human reason: "name", "nickname of Robert", "sounds like
    /// Smith", "spelled Smith", "goes by Bob", "phone ends 1234", "email".
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const NOW: i64 = 1_750_000_000;
    const DAY: i64 = 86_400;

    fn doc(given: &str, family: &str) -> SearchDoc {
        SearchDoc {
            id: CustomerId::new(),
            given_name: given.into(),
            family_name: family.into(),
            preferred_name: None,
            phones: Vec::new(),
            email: None,
            visits: 1,
            last_visit_unix: Some(NOW - 400 * DAY),
        }
    }

    struct Fixture {
        idx: SearchIndex,
        names: Vec<(&'static str, CustomerId)>,
    }

    impl Fixture {
        fn id(&self, key: &str) -> CustomerId {
            self.names.iter().find(|n| n.0 == key).unwrap().1
        }
        fn key(&self, id: CustomerId) -> &'static str {
            self.names.iter().find(|n| n.1 == id).map_or("?", |n| n.0)
        }
    }

    fn fixture() -> Fixture {
        let mut idx = SearchIndex::new();
        let mut names = Vec::new();
        let mut add = |key: &'static str, mut d: SearchDoc, f: &dyn Fn(&mut SearchDoc)| {
            f(&mut d);
            names.push((key, d.id));
            idx.upsert(d);
        };
        add("robert smith", doc("Robert", "Smith"), &|d| {
            d.phones = vec!["(555) 304-1234".into()];
            d.email = Some("Rob.Smith@gmail.com".into());
        });
        add("john smith", doc("John", "Smith"), &|_| {});
        add("mary smith", doc("Mary", "Smith"), &|_| {});
        add("margaret smith", doc("Margaret", "Smith"), &|_| {});
        add("margaret johnson", doc("Margaret", "Johnson"), &|d| {
            d.phones = vec!["555-867-5309".into(), "312 555 0000".into()];
            d.email = Some("peggy.j@yahoo.com".into());
        });
        add("jose nunez", doc("José", "Núñez"), &|d| {
            d.phones = vec!["773-555-0188".into()];
        });
        add("catherine obrien", doc("Catherine", "O'Brien"), &|_| {});
        add("william thompson", doc("William", "Thompson"), &|d| {
            d.preferred_name = Some("Bill".into());
        });
        add("elizabeth anderson", doc("Elizabeth", "Anderson"), &|_| {});
        add("christopher wright", doc("Christopher", "Wright"), &|_| {});
        add("stephen miller", doc("Stephen", "Miller"), &|_| {});
        add("bob garcia", doc("Bob", "Garcia"), &|_| {});
        add("anne-marie lee", doc("Anne-Marie", "Lee"), &|_| {});
        add("zoe muller", doc("Zoë", "Müller"), &|d| {
            d.email = Some("zoe@muller.de".into());
        });
        Fixture { idx, names }
    }

    /// (query, expected top hit, expected words in `why`)
    const TABLE: &[(&str, &str, &str)] = &[
        // exact, any order, any case, accents folded
        ("Robert Smith", "robert smith", "name"),
        ("robert smith", "robert smith", "name"),
        ("SMITH ROBERT", "robert smith", "name"),
        ("José Núñez", "jose nunez", "name"),
        ("jose nunez", "jose nunez", "name"),
        ("NUNEZ", "jose nunez", "name"),
        ("zoe muller", "zoe muller", "name"),
        ("o'brien", "catherine obrien", "name"),
        ("obrien catherine", "catherine obrien", "name"),
        ("anne marie lee", "anne-marie lee", "name"),
        // nicknames, both directions
        ("Bob Smith", "robert smith", "nickname of Robert"),
        ("Peggy Johnson", "margaret johnson", "nickname of Margaret"),
        ("robert garcia", "bob garcia", "goes by Bob"),
        ("Bill Thompson", "william thompson", "goes by Bill"),
        ("chris wright", "christopher wright", "name"),
        (
            "kit wright",
            "christopher wright",
            "nickname of Christopher",
        ),
        ("steve miller", "stephen miller", "nickname of Stephen"),
        (
            "liz anderson",
            "elizabeth anderson",
            "nickname of Elizabeth",
        ),
        // sound-alike
        ("Jon Smyth", "john smith", "sounds like"),
        (
            "Katherine O'Brien",
            "catherine obrien",
            "sounds like Catherine",
        ),
        (
            "william thomson",
            "william thompson",
            "sounds like Thompson",
        ),
        ("steven miller", "stephen miller", "sounds like Stephen"),
        // typos: dropped, transposed, doubled, adjacent key
        ("Rbert Smith", "robert smith", ""),
        ("Rovert Smith", "robert smith", "spelled Robert"),
        ("Robret Smith", "robert smith", ""),
        ("Robbert Smith", "robert smith", ""),
        ("margarwt johnson", "margaret johnson", ""),
        ("mragaret johnsen", "margaret johnson", ""),
        ("elizabteh andersen", "elizabeth anderson", ""),
        ("chrsitopher wrihgt", "christopher wright", ""),
        // initials and prefixes (search as you type)
        ("j smith", "john smith", "name"),
        ("smith j", "john smith", "name"),
        ("marg smi", "margaret smith", "name"),
        ("marg john", "margaret johnson", "name"),
        ("christ", "christopher wright", "name"),
        ("eliz and", "elizabeth anderson", "name"),
        // phones, any format, any 4+ digits
        ("1234", "robert smith", "phone ends 1234"),
        ("304-1234", "robert smith", "phone ends 3041234"),
        ("(555) 304-1234", "robert smith", "phone ends 5553041234"),
        ("+1 555 304 1234", "robert smith", "phone ends"),
        ("8675309", "margaret johnson", "phone ends"),
        ("555 867", "margaret johnson", "phone has 555867"),
        ("0188", "jose nunez", "phone ends 0188"),
        ("smith 1234", "robert smith", "phone ends 1234"),
        // email, full or prefix of the local part, any case
        ("rob.smith@gmail.com", "robert smith", "email"),
        ("ROB.SMITH@GMAIL.COM", "robert smith", "email"),
        ("rob.sm", "robert smith", ""),
        ("peggy.j", "margaret johnson", "email"),
        ("zoe@", "zoe muller", ""),
    ];

    #[test]
    fn query_table() {
        let f = fixture();
        let mut failures = Vec::new();
        for &(query, want, why) in TABLE {
            let hits = f.idx.search(query, NOW, 5);
            let got = hits.first().map(|h| (f.key(h.id), h.why.clone()));
            match got {
                Some((k, w)) if k == want && w.contains(why) => {}
                other => failures.push(format!(
                    "{query:?}: want {want} ({why}), got {other:?}; all: {:?}",
                    hits.iter()
                        .map(|h| (f.key(h.id), h.score, &h.why))
                        .collect::<Vec<_>>()
                )),
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn nothing_found_for_unrelated_text() {
        let f = fixture();
        for q in ["xyzzy", "qqqq wwww", "9999999", "zzz@nowhere"] {
            assert!(f.idx.search(q, NOW, 5).is_empty(), "{q}");
        }
    }

    #[test]
    fn regular_beats_one_time_visitor_with_the_same_name() {
        for regular_first in [true, false] {
            let mut idx = SearchIndex::new();
            let mut once = doc("John", "Doe");
            once.visits = 1;
            once.last_visit_unix = Some(NOW - 300 * DAY);
            let mut regular = doc("John", "Doe");
            regular.visits = 40;
            regular.last_visit_unix = Some(NOW - 2 * DAY);
            let rid = regular.id;
            if regular_first {
                idx.upsert(regular);
                idx.upsert(once);
            } else {
                idx.upsert(once);
                idx.upsert(regular);
            }
            for q in ["john doe", "jo", "doe", "j doe", "jon doe", "jhon doe"] {
                let hits = idx.search(q, NOW, 5);
                assert_eq!(hits.len(), 2, "{q}");
                assert_eq!(hits[0].id, rid, "{q}");
                assert!(hits[0].score > hits[1].score, "{q}");
            }
        }
    }

    #[test]
    fn recency_alone_breaks_ties() {
        let mut idx = SearchIndex::new();
        let mut old = doc("Ann", "Lee");
        old.visits = 10;
        old.last_visit_unix = Some(NOW - 500 * DAY);
        let mut recent = doc("Ann", "Lee");
        recent.visits = 10;
        recent.last_visit_unix = Some(NOW - DAY);
        let rid = recent.id;
        idx.upsert(old);
        idx.upsert(recent);
        assert_eq!(idx.search("ann lee", NOW, 5)[0].id, rid);
    }

    #[test]
    fn better_name_match_beats_a_regular() {
        // (query, the customer who matches it better, the regular)
        let cases = [
            ("jon doe", ("Jon", "Doe"), ("John", "Doe")),
            ("john doe", ("John", "Doe"), ("Jon", "Doe")),
            ("bob doe", ("Robert", "Doe"), ("Bo", "Doe")),
            ("jan doe", ("Janice", "Doe"), ("Jane", "Doe")),
            ("smith", ("Ann", "Smith"), ("Ann", "Smyth")),
            ("marg smith", ("Margaret", "Smith"), ("Mary", "Smith")),
            ("mary ann smith", ("Mary Ann", "Smith"), ("Mary", "Smith")),
            ("steven king", ("Steven", "King"), ("Stephen", "King")),
        ];
        for (q, (bg, bf), (rg, rf)) in cases {
            let mut idx = SearchIndex::new();
            let mut better = doc(bg, bf);
            better.visits = 1;
            better.last_visit_unix = Some(NOW - 700 * DAY);
            let bid = better.id;
            let mut regular = doc(rg, rf);
            regular.visits = 500;
            regular.last_visit_unix = Some(NOW);
            idx.upsert(regular);
            idx.upsert(better);
            let hits = idx.search(q, NOW, 5);
            assert_eq!(hits[0].id, bid, "{q}: {hits:?}");
        }
    }

    #[test]
    fn two_first_names_do_not_beat_first_and_last() {
        let mut idx = SearchIndex::new();
        let mut regular = doc("Ann", "Cho");
        regular.preferred_name = Some("Lee".into());
        regular.visits = 300;
        regular.last_visit_unix = Some(NOW);
        let plain = doc("Ann", "Lee");
        let pid = plain.id;
        idx.upsert(regular);
        idx.upsert(plain);
        assert_eq!(idx.search("lee ann", NOW, 2)[0].id, pid);
        assert_eq!(idx.search("ann lee", NOW, 2)[0].id, pid);
    }

    #[test]
    fn hostile_input_is_harmless() {
        let f = fixture();
        let long = "a".repeat(10_000);
        let long_words = "robert smith ".repeat(1_000);
        let digits = "1234567890".repeat(1_000);
        let hostile = [
            "",
            " ",
            "\t\n\r",
            "\"",
            "'",
            "''",
            "\"robert\"",
            "'; DROP TABLE customers; --",
            "robert' OR '1'='1",
            "smith* OR name:robert NEAR/3 \"bob\"",
            "%",
            "_",
            "%%__",
            "\\",
            "😀",
            "😀 smith 😀",
            "مرحبا بالعالم",
            "שלום עולם",
            "\u{202E}htims\u{202C}",
            "\u{0}",
            "\u{FEFF}robert",
            "a\u{0301}\u{0301}\u{0301}\u{0301}",
            "@",
            "@@@@",
            "...",
            "-",
            long.as_str(),
            long_words.as_str(),
            digits.as_str(),
        ];
        for q in hostile {
            let t = Instant::now();
            let hits = f.idx.search(q, NOW, 10);
            assert!(hits.len() <= 10);
            assert!(
                t.elapsed() < Duration::from_millis(500),
                "slow on {:?}",
                &q[..q.len().min(20)]
            );
        }
        for q in ["", "   ", "\n", "\"", "😀", "%", "@"] {
            assert!(f.idx.search(q, NOW, 10).is_empty(), "{q:?}");
        }
        assert!(f.idx.search("robert", NOW, 0).is_empty());
        assert!(!f.idx.search("robert", NOW, usize::MAX).is_empty());
        let normal = f.idx.search("robert", NOW, 5).len();
        assert_eq!(f.idx.search("robert", i64::MIN, 5).len(), normal);
        assert_eq!(f.idx.search("robert", i64::MAX, 5).len(), normal);
        // Hostile stored data too.
        let mut idx = SearchIndex::new();
        let mut d = doc(&"x".repeat(5_000), &"y ".repeat(500));
        d.phones = vec!["1".into(), "😀".into(), "9".repeat(500)];
        d.email = Some("   ".into());
        idx.upsert(d);
        let _ = idx.search("xxx", NOW, 5);
        let _ = idx.search("9999", NOW, 5);
        idx.check_consistency();
    }

    #[test]
    fn upsert_replaces_and_remove_forgets() {
        let mut f = fixture();
        let id = f.id("robert smith");
        let mut changed = f.idx.get(id).unwrap().clone();
        changed.given_name = "Richard".into();
        changed.phones = vec!["312-555-7777".into()];
        changed.email = Some("rich@example.com".into());
        let before = f.idx.len();
        f.idx.upsert(changed);
        f.idx.check_consistency();
        assert_eq!(f.idx.len(), before);
        assert_eq!(f.idx.search("richard smith", NOW, 1)[0].id, id);
        assert!(f.idx.search("robert", NOW, 5).iter().all(|h| h.id != id));
        assert!(f.idx.search("1234", NOW, 5).iter().all(|h| h.id != id));
        let by_email = f.idx.search("rob.smith@gmail.com", NOW, 5);
        assert!(by_email.iter().all(|h| h.id != id || h.why != "email"));
        assert_eq!(f.idx.search("7777", NOW, 1)[0].id, id);
        assert!(f.idx.search("rbert", NOW, 5).iter().all(|h| h.id != id));

        f.idx.remove(id);
        f.idx.check_consistency();
        assert_eq!(f.idx.len(), before - 1);
        assert!(f.idx.search("richard", NOW, 5).is_empty());
        assert!(f.idx.search("7777", NOW, 5).is_empty());
        f.idx.remove(id); // twice is harmless
        f.idx.remove(CustomerId::new());
        assert_eq!(f.idx.len(), before - 1);

        // Removing the only holder of a name forgets the word entirely.
        let nunez = f.id("jose nunez");
        f.idx.remove(nunez);
        f.idx.check_consistency();
        assert!(f.idx.search("nunez", NOW, 5).is_empty());
        assert!(f.idx.search("nunes", NOW, 5).is_empty());
    }

    #[test]
    fn set_activity_reorders_ties() {
        let mut idx = SearchIndex::new();
        let a = doc("Kim", "Park");
        let b = doc("Kim", "Park");
        let (aid, bid) = (a.id, b.id);
        idx.upsert(a);
        idx.upsert(b);
        idx.set_activity(aid, 30, Some(NOW));
        assert_eq!(idx.search("kim park", NOW, 2)[0].id, aid);
        idx.set_activity(aid, 1, Some(NOW - 900 * DAY));
        idx.set_activity(bid, 30, Some(NOW));
        assert_eq!(idx.search("kim park", NOW, 2)[0].id, bid);
        idx.set_activity(CustomerId::new(), 3, None);
    }

    /// Random upserts and removes must leave the index exactly as if it had
    /// been built from the surviving documents.
    #[test]
    fn incremental_equals_rebuild() {
        let people = crate::people::generate(3_000, 11);
        let mut rng = crate::rng::Rng::new(5);
        let to_doc = |p: &crate::people::Person, id: CustomerId, visits: u32| SearchDoc {
            id,
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            preferred_name: p.preferred_name.clone(),
            phones: p.phones.clone(),
            email: p.email.clone(),
            visits,
            last_visit_unix: Some(NOW - i64::from(visits) * DAY),
        };
        let mut idx = SearchIndex::new();
        let mut live: Vec<SearchDoc> = Vec::new();
        for (i, p) in people.iter().enumerate().take(2_000) {
            let d = to_doc(p, CustomerId::new(), (i % 17) as u32);
            live.push(d.clone());
            idx.upsert(d);
        }
        for step in 0..3_000 {
            match rng.below(3) {
                0 if !live.is_empty() => {
                    let i = rng.index(live.len());
                    let d = live.swap_remove(i);
                    idx.remove(d.id);
                }
                1 if !live.is_empty() => {
                    let i = rng.index(live.len());
                    let p = &people[rng.index(people.len())];
                    let d = to_doc(p, live[i].id, (step % 23) as u32);
                    live[i] = d.clone();
                    idx.upsert(d);
                }
                _ => {
                    let p = &people[rng.index(people.len())];
                    let d = to_doc(p, CustomerId::new(), (step % 5) as u32);
                    live.push(d.clone());
                    idx.upsert(d);
                }
            }
        }
        idx.check_consistency();
        assert_eq!(idx.len(), live.len());
        let fresh = SearchIndex::from_docs(live.iter().cloned());
        for p in people.iter().step_by(50) {
            for q in [
                format!("{} {}", p.given_name, p.family_name),
                p.family_name[..p.family_name.len().min(3)].to_string(),
                p.phones
                    .first()
                    .map_or("0000".into(), |x| x[x.len() - 4..].to_string()),
            ] {
                let a = idx.search(&q, NOW, 10);
                let b = fresh.search(&q, NOW, 10);
                assert_eq!(a, b, "{q}");
            }
        }
    }

    #[test]
    fn likely_duplicates_find_phone_email_and_similar_names() {
        let f = fixture();
        let mut new = doc("Bobby", "Smyth");
        new.phones = vec!["555.304.1234".into()];
        let dups = f.idx.likely_duplicates(&new, 5);
        assert_eq!(dups[0].0, f.id("robert smith"));
        assert!(dups[0].1.contains(&"same phone".to_string()), "{dups:?}");

        let mut new = doc("Peg", "Jonson");
        new.email = Some(" PEGGY.J@Yahoo.com ".into());
        let dups = f.idx.likely_duplicates(&new, 5);
        assert_eq!(dups[0].0, f.id("margaret johnson"));
        assert_eq!(dups[0].1[0], "same email");

        let new = doc("Bob", "Smith");
        let dups = f.idx.likely_duplicates(&new, 5);
        let (id, reasons) = &dups[0];
        assert_eq!(*id, f.id("robert smith"), "{dups:?}");
        assert_eq!(reasons, &["similar name: Robert Smith".to_string()]);

        let new = doc("Jon", "Smyth");
        let dups = f.idx.likely_duplicates(&new, 5);
        assert_eq!(dups[0].0, f.id("john smith"), "{dups:?}");

        let new = doc("Wiliam", "Tompson");
        let dups = f.idx.likely_duplicates(&new, 5);
        assert_eq!(dups[0].0, f.id("william thompson"), "{dups:?}");
        assert_eq!(dups[0].1, ["similar name: Bill Thompson".to_string()]);

        // Someone unrelated, and a customer checked against itself.
        assert!(f
            .idx
            .likely_duplicates(&doc("Xavier", "Quint"), 5)
            .is_empty());
        let me = f.idx.get(f.id("jose nunez")).unwrap().clone();
        assert!(f.idx.likely_duplicates(&me, 5).iter().all(|d| d.0 != me.id));
        // Same name, different person: still worth a look.
        let dups = f.idx.likely_duplicates(&doc("Mary", "Smith"), 5);
        assert_eq!(dups[0].1, ["same name: Mary Smith".to_string()]);
    }
}
