//! The backend suite, run on both implementations: each case is a generic
//! function over `Backend`; `suite!` runs every case on a fresh SQLite
//! store (one test each) and on a fresh database of a throwaway PostgreSQL
//! cluster (one test running them all, so the cluster starts once).

mod common;

use std::collections::{HashMap, HashSet};

use chrono::{Duration, Utc};
use regulars_server::backend::{Backend, Device, PgBackend, SqliteBackend};
use regulars_server::{service, Error};
use regulars_sync::protocol::{Change, ChangeStatus, EnrollRequest, PulledChange, SCHEMA_VERSION};
use regulars_sync::Hlc;
use serde_json::{json, Value};
use uuid::Uuid;

use common::enroll;

fn change(device: &Device, entity: &str, op: &str, entity_id: &str, payload: Value) -> Change {
    Change {
        id: Uuid::now_v7(),
        device: device.id,
        hlc: Hlc::new(1_764_000_000_000, 0),
        schema: SCHEMA_VERSION,
        entity: entity.into(),
        entity_id: entity_id.into(),
        op: op.into(),
        payload,
    }
}

fn note(device: &Device, customer: &str, body: &str) -> Change {
    change(
        device,
        "note",
        "insert",
        &Uuid::now_v7().to_string(),
        json!({"customer_id": customer, "body": body}),
    )
}

fn statuses(b: &impl Backend, device: &Device, changes: &[Change]) -> Vec<ChangeStatus> {
    b.push(device.id, changes, Utc::now())
        .unwrap()
        .into_iter()
        .map(|r| r.status)
        .collect()
}

/// Everything `device` can pull, in pages of `limit`, checking the paging.
fn pull_all(b: &impl Backend, device: &Device, limit: usize) -> Vec<PulledChange> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = b.pull(device.id, after, limit).unwrap();
        assert!(page.changes.len() <= limit);
        assert_eq!(page.floor, 0);
        if page.more {
            assert_eq!(
                page.changes.len(),
                limit,
                "a page with more behind it is full"
            );
        }
        for c in &page.changes {
            assert!(c.cursor > after, "cursor {} not after {after}", c.cursor);
            after = c.cursor;
        }
        out.extend(page.changes.iter().map(|c| c.to_pulled().unwrap()));
        if !page.more {
            return out;
        }
    }
}

fn req(code: &str, device_id: Uuid) -> EnrollRequest {
    EnrollRequest {
        code: code.into(),
        device_name: "Till".into(),
        device_id,
    }
}

fn enroll_once<B: Backend>(b: &B) {
    let now = Utc::now();
    let code = service::create_enroll_code(b, "Main St", Duration::hours(24), now).unwrap();
    let first = Uuid::now_v7();
    let a = service::enroll(b, &req(&code, first), now).unwrap();
    assert_eq!(a.device_number, 1);
    assert_eq!(a.store_name, "Main St");
    assert_eq!(a.device_id, first);
    let again = service::enroll(b, &req(&code, Uuid::now_v7()), now);
    assert!(matches!(again, Err(Error::BadEnrollCode)), "{again:?}");
    // Typed with other case and spaces: still the same code, still used.
    let typed = code.to_lowercase().replace('-', " ");
    assert!(matches!(
        service::enroll(b, &req(&typed, Uuid::now_v7()), now),
        Err(Error::BadEnrollCode)
    ));

    let code2 = service::create_enroll_code(b, "High St", Duration::hours(24), now).unwrap();
    let typed2 = code2.to_lowercase().replace('-', " ");
    let second = service::enroll(b, &req(&typed2, Uuid::now_v7()), now).unwrap();
    assert_eq!(second.device_number, 2);
    assert_eq!(second.store_name, "High St");

    // The first till enrolls again (lost its token): same number, new
    // token, the old one is dead.
    let code3 = service::create_enroll_code(b, "Main St", Duration::hours(24), now).unwrap();
    let again = service::enroll(b, &req(&code3, first), now).unwrap();
    assert_eq!(again.device_number, 1);
    assert_ne!(again.token, a.token);
    assert!(matches!(
        service::authenticate(b, Some(&format!("Bearer {}", a.token))),
        Err(Error::Unauthorized)
    ));
    assert_eq!(
        service::authenticate(b, Some(&format!("Bearer {}", again.token)))
            .unwrap()
            .number,
        1
    );
    assert_eq!(b.devices().unwrap().len(), 2);
}

fn expired_code<B: Backend>(b: &B) {
    let then = Utc::now() - Duration::hours(25);
    let code = service::create_enroll_code(b, "Main St", Duration::hours(24), then).unwrap();
    let late = service::enroll(b, &req(&code, Uuid::now_v7()), Utc::now());
    assert!(matches!(late, Err(Error::BadEnrollCode)), "{late:?}");
    // Not a code at all, or one never issued.
    for bad in ["", "hello", "0000-0000-0000-0000"] {
        let r = service::enroll(b, &req(bad, Uuid::now_v7()), Utc::now());
        assert!(matches!(r, Err(Error::BadEnrollCode)), "{bad}: {r:?}");
    }
    assert!(b.devices().unwrap().is_empty());
    // A code still in time works.
    let code =
        service::create_enroll_code(b, "Main St", Duration::hours(24), then + Duration::hours(2))
            .unwrap();
    assert!(service::enroll(b, &req(&code, Uuid::now_v7()), Utc::now()).is_ok());
}

fn revoke_blocks_the_device<B: Backend>(b: &B) {
    let (a, token) = enroll(b, "Till 1");
    let (other, other_token) = enroll(b, "Till 2");
    b.revoke(a.id, Utc::now()).unwrap();
    let r = service::authenticate(b, Some(&format!("Bearer {token}")));
    assert!(matches!(r, Err(Error::Revoked)), "{r:?}");
    assert!(service::authenticate(b, Some(&format!("Bearer {other_token}"))).is_ok());
    let listed: HashMap<Uuid, Device> = b
        .devices()
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    assert!(listed[&a.id].revoked_at.is_some());
    assert!(listed[&other.id].revoked_at.is_none());
    // A revoked till cannot come back with a fresh code either.
    let code = service::create_enroll_code(b, "Main St", Duration::hours(24), Utc::now()).unwrap();
    let back = service::enroll(b, &req(&code, a.id), Utc::now());
    assert!(matches!(back, Err(Error::Revoked)), "{back:?}");
    assert!(matches!(
        b.revoke(Uuid::now_v7(), Utc::now()),
        Err(Error::UnknownDevice(_))
    ));
}

fn unknown_token_is_unauthorized<B: Backend>(b: &B) {
    let (_, token) = enroll(b, "Till 1");
    for header in [
        None,
        Some(String::new()),
        Some("Bearer ".into()),
        Some(format!("Basic {token}")),
        Some("Bearer 00000000".into()),
        Some(format!("Bearer {}x", token)),
    ] {
        let r = service::authenticate(b, header.as_deref());
        assert!(matches!(r, Err(Error::Unauthorized)), "{header:?}: {r:?}");
    }
}

fn replayed_push_is_all_duplicate<B: Backend>(b: &B) {
    let (a, _) = enroll(b, "Till 1");
    let (reader, _) = enroll(b, "Till 2");
    let customer = Uuid::now_v7().to_string();
    let batch: Vec<Change> = (0..5)
        .map(|i| note(&a, &customer, &format!("note {i}")))
        .collect();
    assert_eq!(statuses(b, &a, &batch), vec![ChangeStatus::Applied; 5]);
    assert_eq!(statuses(b, &a, &batch), vec![ChangeStatus::Duplicate; 5]);
    // The same change twice in one batch: stored once.
    let twice = vec![
        batch[0].clone(),
        note(&a, &customer, "new"),
        batch[0].clone(),
    ];
    assert_eq!(
        statuses(b, &a, &twice),
        vec![
            ChangeStatus::Duplicate,
            ChangeStatus::Applied,
            ChangeStatus::Duplicate
        ]
    );
    let pulled = pull_all(b, &reader, 100);
    assert_eq!(pulled.len(), 6);
    assert_eq!(
        pulled[0].change, batch[0],
        "stored and served exactly as sent"
    );
}

fn one_bad_change_does_not_block_the_batch<B: Backend>(b: &B) {
    let (a, _) = enroll(b, "Till 1");
    let (reader, _) = enroll(b, "Till 2");
    let customer = Uuid::now_v7().to_string();
    let mut newer = note(&a, &customer, "from the future");
    newer.schema = SCHEMA_VERSION + 1;
    let batch = vec![
        note(&a, &customer, "one"),
        change(&a, "note", "explode", "n1", json!({})),
        note(&a, &customer, "two"),
        change(
            &a,
            "note",
            "insert",
            "n2",
            json!({"customer_id": "not-a-uuid"}),
        ),
        newer,
        note(&a, &customer, "three"),
    ];
    let res = b.push(a.id, &batch, Utc::now()).unwrap();
    let got: Vec<ChangeStatus> = res.iter().map(|r| r.status).collect();
    use ChangeStatus::*;
    assert_eq!(
        got,
        vec![Applied, Rejected, Applied, Rejected, Rejected, Applied]
    );
    assert!(
        res[1].reason.as_deref().unwrap().contains("unknown"),
        "{:?}",
        res[1].reason
    );
    assert!(
        res[4]
            .reason
            .as_deref()
            .unwrap()
            .contains("upgrade the server"),
        "{:?}",
        res[4].reason
    );
    assert!(res[0].reason.is_none());
    let pulled = pull_all(b, &reader, 100);
    let ids: Vec<Uuid> = pulled.iter().map(|p| p.change.id).collect();
    assert_eq!(ids, vec![batch[0].id, batch[2].id, batch[5].id]);
    // A rejected change pushed again is rejected again, not "duplicate".
    assert_eq!(statuses(b, &a, &batch[1..2]), vec![Rejected]);
}

fn forged_device_is_rejected<B: Backend>(b: &B) {
    let (a, _) = enroll(b, "Till 1");
    let (victim, _) = enroll(b, "Till 2");
    let (reader, _) = enroll(b, "Till 3");
    let customer = Uuid::now_v7().to_string();
    let forged = note(&victim, &customer, "I am Till 2");
    let own = note(&a, &customer, "mine");
    let res = b
        .push(a.id, &[forged.clone(), own.clone()], Utc::now())
        .unwrap();
    assert_eq!(res[0].status, ChangeStatus::Rejected);
    assert!(res[0].reason.as_deref().unwrap().contains("forged device"));
    assert_eq!(res[1].status, ChangeStatus::Applied);
    let pulled = pull_all(b, &reader, 100);
    assert_eq!(pulled.len(), 1);
    assert_eq!(pulled[0].change.id, own.id);
    // The real owner can still push it: nothing of it was stored.
    assert_eq!(statuses(b, &victim, &[forged]), vec![ChangeStatus::Applied]);
}

fn pull_excludes_own_changes_and_pages_in_commit_order<B: Backend>(b: &B) {
    let (a, _) = enroll(b, "Till 1");
    let (c, _) = enroll(b, "Till 2");
    let (reader, _) = enroll(b, "Till 3");
    let customer = Uuid::now_v7().to_string();
    let mut order = Vec::new();
    for round in 0..3 {
        for who in [&a, &c] {
            let batch: Vec<Change> = (0..3)
                .map(|i| note(who, &customer, &format!("{round}.{i}")))
                .collect();
            order.extend(batch.iter().map(|x| x.id));
            b.push(who.id, &batch, Utc::now()).unwrap();
        }
    }
    // Everyone else's, in push (= commit) order, paged by 4.
    let all = pull_all(b, &reader, 4);
    assert_eq!(all.iter().map(|p| p.change.id).collect::<Vec<_>>(), order);
    let cursors: Vec<i64> = all.iter().map(|p| p.cursor).collect();
    assert_eq!(
        cursors,
        (1..=18).collect::<Vec<i64>>(),
        "gap-free commit order"
    );
    // A till never gets its own changes back.
    let mine = pull_all(b, &a, 5);
    assert_eq!(mine.len(), 9);
    assert!(mine.iter().all(|p| p.change.device == c.id));
    // Asking after the last cursor: nothing, no more.
    let end = b.pull(reader.id, 18, 10).unwrap();
    assert!(end.changes.is_empty() && !end.more);
    // Resuming mid-way picks up exactly after the cursor.
    let rest = b.pull(reader.id, 10, 100).unwrap();
    assert_eq!(rest.changes.first().unwrap().cursor, 11);
    assert_eq!(rest.changes.len(), 8);
    // The service answers next_cursor, and refuses a negative cursor.
    let page = service::pull(b, &reader, 0, Some(5)).unwrap();
    assert_eq!(page.next_cursor, 5);
    assert!(page.more);
    let empty = service::pull(b, &reader, 18, None).unwrap();
    assert_eq!(empty.next_cursor, 18);
    assert!(matches!(
        service::pull(b, &reader, -1, None),
        Err(Error::BadRequest(_))
    ));
}

fn concurrent_pushes_get_a_gap_free_cursor_order<B: Backend>(b: &B) {
    const TILLS: usize = 4;
    const PUSHES: usize = 10;
    const PER: usize = 5;
    let tills: Vec<Device> = (0..TILLS)
        .map(|i| enroll(b, &format!("Till {i}")).0)
        .collect();
    let (reader, _) = enroll(b, "Reader");
    let customer = Uuid::now_v7().to_string();
    let sent: Vec<Vec<Uuid>> = std::thread::scope(|s| {
        let handles: Vec<_> = tills
            .iter()
            .map(|t| {
                let customer = &customer;
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for p in 0..PUSHES {
                        let batch: Vec<Change> = (0..PER)
                            .map(|i| note(t, customer, &format!("{p}.{i}")))
                            .collect();
                        ids.extend(batch.iter().map(|c| c.id));
                        let res = b.push(t.id, &batch, Utc::now()).unwrap();
                        assert!(res.iter().all(|r| r.status == ChangeStatus::Applied));
                    }
                    ids
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all = pull_all(b, &reader, 7);
    let total = TILLS * PUSHES * PER;
    assert_eq!(
        all.iter().map(|p| p.cursor).collect::<Vec<_>>(),
        (1..=total as i64).collect::<Vec<_>>()
    );
    let unique: HashSet<Uuid> = all.iter().map(|p| p.change.id).collect();
    assert_eq!(unique.len(), total, "every change exactly once");
    // Each till's changes appear in the order it pushed them, and each
    // batch is contiguous (one transaction).
    for (t, ids) in tills.iter().zip(&sent) {
        let seen: Vec<Uuid> = all
            .iter()
            .filter(|p| p.change.device == t.id)
            .map(|p| p.change.id)
            .collect();
        assert_eq!(&seen, ids);
        let cursors: Vec<i64> = all
            .iter()
            .filter(|p| p.change.device == t.id)
            .map(|p| p.cursor)
            .collect();
        for chunk in cursors.chunks(PER) {
            assert_eq!(
                chunk[PER - 1] - chunk[0],
                PER as i64 - 1,
                "a batch is committed as one"
            );
        }
    }
}

/// A till retrying while its first attempt is still in flight: the same
/// batches pushed by several threads at once are stored exactly once.
fn concurrent_replays_store_each_change_once<B: Backend>(b: &B) {
    let (a, _) = enroll(b, "Till 1");
    let (reader, _) = enroll(b, "Reader");
    let customer = Uuid::now_v7().to_string();
    let batches: Vec<Vec<Change>> = (0..12)
        .map(|p| {
            (0..4)
                .map(|i| note(&a, &customer, &format!("{p}.{i}")))
                .collect()
        })
        .collect();
    let applied: Vec<HashMap<Uuid, usize>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let (batches, a) = (&batches, &a);
                s.spawn(move || {
                    let mut applied = HashMap::new();
                    for k in 0..batches.len() {
                        // Each thread walks the batches from its own start.
                        let batch = &batches[(k + t * 5) % batches.len()];
                        for r in b.push(a.id, batch, Utc::now()).unwrap() {
                            if r.status == ChangeStatus::Applied {
                                *applied.entry(r.id).or_insert(0) += 1;
                            } else {
                                assert_eq!(r.status, ChangeStatus::Duplicate);
                            }
                        }
                    }
                    applied
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total: HashMap<Uuid, usize> = HashMap::new();
    for m in applied {
        for (id, n) in m {
            *total.entry(id).or_insert(0) += n;
        }
    }
    assert_eq!(total.len(), 48);
    assert!(
        total.values().all(|n| *n == 1),
        "each change applied exactly once"
    );
    let all = pull_all(b, &reader, 1000);
    assert_eq!(all.len(), 48);
    assert_eq!(all.last().unwrap().cursor, 48);
}

fn erasure_scrubs_earlier_and_later_changes<B: Backend>(b: &B) {
    let (a, _) = enroll(b, "Till 1");
    let (c, _) = enroll(b, "Till 2");
    let (reader, _) = enroll(b, "Till 3");
    let x = Uuid::now_v7().to_string(); // erased
    let y = Uuid::now_v7().to_string(); // merged into x, earlier
    let w = Uuid::now_v7().to_string(); // merged into x after the erasure
    let z = Uuid::now_v7().to_string(); // someone else entirely
    let sale = |d: &Device, who: &str| {
        let name = if who == z { "Zed Ng" } else { "Ann Lee" };
        change(
            d,
            "sale",
            "insert",
            &Uuid::now_v7().to_string(),
            json!({"customer_id": who, "customer_name": name, "total_cents": 1250, "lines": [{"amount_cents": 1250}]}),
        )
    };
    let before = vec![
        change(
            &a,
            "customer",
            "insert",
            &x,
            json!({"fields": {"name": "Ann Lee", "phone": "0400 111 222"}}),
        ),
        note(&a, &x, "allergic to nuts"),
        sale(&a, &x),
        note(&a, &y, "Ann's old card"),
        sale(&a, &y),
        note(&a, &w, "Annie at the market"),
        change(&a, "customer", "merge", &y, json!({"survivor_id": x})),
        note(&a, &z, "Zed likes rye"),
        sale(&a, &z),
    ];
    assert!(statuses(b, &a, &before)
        .iter()
        .all(|s| *s == ChangeStatus::Applied));
    let erase = change(&c, "customer", "erase", &x, json!({}));
    assert_eq!(
        statuses(b, &c, std::slice::from_ref(&erase)),
        vec![ChangeStatus::Applied]
    );
    // Later, from a till that had not heard: still "applied", stored scrubbed.
    let after = vec![
        note(&a, &x, "called back about nuts"),
        change(
            &a,
            "customer",
            "update",
            &x,
            json!({"fields": {"email": "ann@example.com"}}),
        ),
        note(&a, &y, "late note on the old card"),
        sale(&a, &y),
        change(&a, "customer", "merge", &w, json!({"survivor_id": x})),
        note(&a, &w, "after the merge"),
    ];
    assert_eq!(statuses(b, &a, &after), vec![ChangeStatus::Applied; 6]);

    let log = pull_all(b, &reader, 100);
    let by_id: HashMap<Uuid, &Value> = log
        .iter()
        .map(|p| (p.change.id, &p.change.payload))
        .collect();
    let redacted = json!({"redacted": true});
    for ch in before.iter().chain(&after) {
        let got = by_id[&ch.id];
        let about = |who: &str| {
            ch.payload.get("customer_id").and_then(Value::as_str) == Some(who)
                || ch.entity_id == who
        };
        if about(&z) {
            assert_eq!(got, &ch.payload, "someone else's change is untouched");
        } else if ch.entity == "sale" {
            assert_eq!(got["customer_id"], Value::Null, "sale keeps no customer");
            assert_eq!(got["customer_name"], Value::Null);
            assert_eq!(got["total_cents"], json!(1250), "sale keeps its total");
            assert_eq!(got["lines"], ch.payload["lines"]);
        } else if ch.op == "merge" {
            assert_eq!(got, &json!({"redacted": true, "survivor_id": x}));
        } else {
            assert_eq!(
                got, &redacted,
                "{}/{} about an erased customer",
                ch.entity, ch.op
            );
        }
    }
    assert_eq!(
        by_id[&erase.id], &erase.payload,
        "the erasure itself travels whole"
    );
    let text = serde_json::to_string(&log).unwrap();
    for personal in ["Ann", "nuts", "0400", "example.com", "Annie", "old card"] {
        assert!(!text.contains(personal), "{personal:?} left in the log");
    }
    assert!(text.contains("Zed likes rye"));
    // Replaying the erasure changes nothing.
    assert_eq!(statuses(b, &c, &[erase]), vec![ChangeStatus::Duplicate]);
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let b = super::SqliteBackend::open_dir(dir.path()).unwrap();
                    super::$case(&b);
                }
            )*
        }

        #[test]
        fn postgres_suite() {
            let Some(pg) = common::PgCluster::start() else { return };
            $(
                let b = PgBackend::connect(&pg.fresh_db()).unwrap();
                $case(&b);
                drop(b);
            )*
        }
    };
}

suite!(
    enroll_once,
    expired_code,
    revoke_blocks_the_device,
    unknown_token_is_unauthorized,
    replayed_push_is_all_duplicate,
    one_bad_change_does_not_block_the_batch,
    forged_device_is_rejected,
    pull_excludes_own_changes_and_pages_in_commit_order,
    concurrent_pushes_get_a_gap_free_cursor_order,
    concurrent_replays_store_each_change_once,
    erasure_scrubs_earlier_and_later_changes,
);

#[test]
fn sqlite_store_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (a, token) = {
        let b = SqliteBackend::open_dir(dir.path()).unwrap();
        b.set_organisation("Corner Bakery").unwrap();
        let (a, token) = enroll(&b, "Till 1");
        b.push(
            a.id,
            &[note(&a, &Uuid::now_v7().to_string(), "kept")],
            Utc::now(),
        )
        .unwrap();
        (a, token)
    };
    let b = SqliteBackend::open_dir(dir.path()).unwrap();
    assert_eq!(b.organisation().unwrap(), "Corner Bakery");
    assert_eq!(
        service::authenticate(&b, Some(&format!("Bearer {token}")))
            .unwrap()
            .id,
        a.id
    );
    let (reader, _) = enroll(&b, "Till 2");
    assert_eq!(reader.number, 2);
    assert_eq!(pull_all(&b, &reader, 10).len(), 1);
}
