//! Convergence under random sync (issue 6, "Proof"): 2 to 5 real till
//! stores (SQLite) do random enrolments, edits, notes, sales, point
//! redemptions, merges and erasures, and sync at random through a relay with
//! the server's semantics (dedupe by change id, commit-order cursor, no echo
//! of a device's own changes), losing and repeating responses at random,
//! and in the file-backed cases closing and reopening tills (a crash between
//! commits). After everyone syncs to quiescence:
//! - every till holds the same data (a canonical dump of every synced table);
//! - every change is in the log exactly once and nothing is left unsent;
//! - every balance equals the sum of the ledger entries the log holds for
//!   that person;
//! - nothing of an erased customer remains in any till's tables.
//!
//! The relay is in-process so thousands of cases run in CI; the real server
//! and the real HTTP client are exercised by the server crate's tests and
//! the process-level tests.
//!
//! `REGULARS_SYNC_CASES` sets the number of cases (default 1,000 in memory +
//! 62 file-backed), `REGULARS_SYNC_FIRST` the first seed. To study a failing
//! seed: `REGULARS_SYNC_TRACE=a,b` prints the log entries mentioning a or b
//! (and everything about the customers they concern); `REGULARS_SYNC_WATCH=CARD`
//! prints, step by step, which tills hold that card and their customer counts.

use std::collections::{BTreeMap, HashSet};

use regulars_core::ids::CustomerId;
use regulars_core::model::{
    Address, CustomerEdit, DraftLine, NewCustomer, NewNote, PaymentMethod, ProductDraft, SaleDraft,
    Visibility,
};
use regulars_core::regulars::Regulars;
use regulars_core::rng::Rng;
use regulars_sync::protocol::{ChangeResult, ChangeStatus, PullResponse, PulledChange};
use regulars_sync::{Change, Replica};

/// The server's contract, in memory.
#[derive(Default)]
struct Relay {
    log: Vec<Change>,
    ids: HashSet<uuid::Uuid>,
}

impl Relay {
    fn push(&mut self, device: uuid::Uuid, changes: Vec<Change>) -> Vec<ChangeResult> {
        changes
            .into_iter()
            .map(|c| {
                let id = c.id;
                let status = if c.device != device || regulars_sync::rules::validate(&c).is_err() {
                    ChangeStatus::Rejected
                } else if self.ids.insert(c.id) {
                    self.log.push(c);
                    ChangeStatus::Applied
                } else {
                    ChangeStatus::Duplicate
                };
                ChangeResult {
                    id,
                    status,
                    reason: (status == ChangeStatus::Rejected).then(|| "refused".into()),
                }
            })
            .collect()
    }

    fn pull(&self, device: uuid::Uuid, after: i64, limit: usize) -> PullResponse {
        let mut changes = Vec::new();
        let mut next = after;
        let mut more = false;
        for (i, c) in self.log.iter().enumerate().skip(after.max(0) as usize) {
            if changes.len() == limit {
                more = true;
                break;
            }
            next = i as i64 + 1;
            if c.device != device {
                changes.push(PulledChange {
                    cursor: next,
                    change: c.clone(),
                });
            }
        }
        PullResponse {
            changes,
            next_cursor: next,
            more,
            server_ms: 0,
        }
    }
}

struct Till {
    r: Regulars,
    path: Option<std::path::PathBuf>,
}

impl Till {
    fn device(&self) -> uuid::Uuid {
        self.r.store().device().as_uuid()
    }
    fn reopen(&mut self) {
        if let Some(p) = &self.path {
            // Dropping the facade is what a crash leaves: only what committed.
            let fresh = Regulars::open(p).expect("reopen after a crash");
            self.r = fresh;
        }
    }
}

fn customers(r: &Regulars) -> Vec<CustomerId> {
    let conn = r.store().conn();
    let mut st = conn
        .prepare("SELECT id FROM customers ORDER BY id")
        .unwrap();
    st.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|s| s.unwrap().parse().unwrap())
        .collect()
}

fn products(r: &Regulars) -> Vec<regulars_core::ids::ProductId> {
    let conn = r.store().conn();
    let mut st = conn.prepare("SELECT id FROM products ORDER BY id").unwrap();
    st.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|s| s.unwrap().parse().unwrap())
        .collect()
}

fn name(rng: &mut Rng) -> String {
    const SYL: [&str; 8] = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi"];
    let mut s = String::from("Q");
    for _ in 0..3 {
        s.push_str(SYL[rng.index(SYL.len())]);
    }
    s
}

/// One random local action on till `t`. Errors that a real cashier could
/// meet (a customer merged away meanwhile, not enough points) are fine; the
/// store must simply refuse cleanly.
fn act(t: &mut Till, rng: &mut Rng, erased_names: &mut Vec<String>) {
    let cs = customers(&t.r);
    let roll = rng.below(100);
    if std::env::var("REGULARS_SYNC_WATCH").is_ok() {
        eprintln!("act roll {roll} with {} customers", cs.len());
    }
    match roll {
        0..=19 => {
            let given = name(rng);
            let _ = t.r.enrol(&NewCustomer {
                given_name: given,
                family_name: name(rng),
                preferred_name: None,
                phones: vec![format!("07{}", rng.range(100_000_000, 999_999_999))],
                email: None,
                birthday: None,
                marketing_consent: rng.chance(0.5),
                external_ref: None,
                card: None,
            });
        }
        20..=34 if !cs.is_empty() => {
            let id = *rng.pick(&cs);
            let Ok(c) = t.r.store().customer(id) else {
                return;
            };
            let mut edit = CustomerEdit {
                given_name: c.given_name.clone(),
                family_name: c.family_name.clone(),
                preferred_name: c.preferred_name.clone(),
                phones: c.phones.clone(),
                email: c.email.clone(),
                birthday: c.birthday.clone(),
                marketing_consent: c.marketing_consent,
                external_ref: None,
                address: Address::default(),
            };
            match rng.below(3) {
                0 => edit.given_name = name(rng),
                1 => edit.email = Some(format!("{}@example.org", name(rng).to_lowercase())),
                _ => edit.phones = vec![format!("07{}", rng.range(100_000_000, 999_999_999))],
            }
            let _ = t.r.update_customer(id, &edit);
        }
        35..=49 if !cs.is_empty() => {
            let id = *rng.pick(&cs);
            let _ = t.r.add_note(
                id,
                &NewNote {
                    body: format!("note {}", name(rng)),
                    author: "till".into(),
                    visibility: Visibility::Staff,
                    follow_up_on: None,
                    expires_on: None,
                },
            );
        }
        50..=79 => {
            let ps = products(&t.r);
            if ps.is_empty() {
                return;
            }
            let customer = if cs.is_empty() || rng.chance(0.2) {
                None
            } else {
                Some(*rng.pick(&cs))
            };
            let lines = (0..rng.range(1, 4))
                .map(|_| DraftLine {
                    product_id: Some(*rng.pick(&ps)),
                    description: "item".into(),
                    quantity: rng.range(1, 3) as f64,
                    unit_price_cents: rng.range(100, 5_000) as i64,
                    discount_cents: 0,
                    offer_key: None,
                })
                .collect();
            let _ = t.r.complete_sale(&SaleDraft {
                customer_id: customer,
                lines,
                payment_method: PaymentMethod::Card,
            });
        }
        80..=87 if !cs.is_empty() => {
            let id = *rng.pick(&cs);
            let balance = t.r.profile(id).map(|p| p.points_balance).unwrap_or(0);
            if balance > 0 {
                let _ = regulars_core::loyalty::redeem(
                    t.r.store_mut(),
                    regulars_core::ids::PointsEntryId::new(),
                    id,
                    rng.range(1, balance as u64 + 1) as i64,
                    "reward",
                );
            }
        }
        88..=94 if cs.len() >= 2 => {
            let a = *rng.pick(&cs);
            let b = *rng.pick(&cs);
            if a != b {
                let _ = t.r.store_mut().merge_customers(a, b, None);
                t.r.rebuild_index().unwrap();
            }
        }
        95..=99 if !cs.is_empty() => {
            let id = *rng.pick(&cs);
            if t.r.profile(id).is_ok() {
                erased_names.push(id.to_string());
                t.r.store_mut().erase_customer(id, None).unwrap();
                t.r.rebuild_index().unwrap();
            }
        }
        _ => {}
    }
}

/// A sync attempt with faults: a lost push response (the server kept the
/// batch, the till did not hear), a lost or repeated page.
fn sync(t: &mut Till, relay: &mut Relay, rng: &mut Rng, faults: bool) {
    let dev = t.device();
    loop {
        let batch = t.r.push_batch(rng.range(1, 20) as usize).unwrap();
        if batch.is_empty() {
            break;
        }
        let results = relay.push(dev, batch);
        if faults && rng.chance(0.2) {
            return; // response lost: the till retries later
        }
        t.r.record_push(&results, 0).unwrap();
        if faults && rng.chance(0.1) {
            t.reopen();
        }
    }
    loop {
        let after = t.r.cursor().unwrap();
        let page = relay.pull(dev, after, rng.range(1, 30) as usize);
        if faults && rng.chance(0.15) {
            return; // page lost
        }
        t.r.apply_page(&page).unwrap();
        if faults && rng.chance(0.15) {
            // The same page again (a retried request whose first answer did
            // arrive): nothing may change twice.
            t.r.apply_page(&page).unwrap();
        }
        if faults && rng.chance(0.1) {
            t.reopen();
        }
        if !page.more {
            break;
        }
    }
}

/// Everything sync carries, in a canonical order, for comparing tills.
fn dump(r: &Regulars) -> BTreeMap<&'static str, Vec<String>> {
    let conn = r.store().conn();
    let q = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |row| {
            let mut parts = Vec::with_capacity(n);
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i)?;
                parts.push(format!("{v:?}"));
            }
            Ok(parts.join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut m = BTreeMap::new();
    m.insert(
        "customers",
        q("SELECT id, given_name, family_name, preferred_name, email, birthday, marketing_consent,
                  household_id FROM customers ORDER BY id"),
    );
    m.insert(
        "phones",
        q("SELECT customer_id, digits FROM customer_phones ORDER BY customer_id, digits"),
    );
    m.insert(
        "cards",
        q("SELECT code, customer_id, retired_at FROM cards ORDER BY code"),
    );
    m.insert(
        "notes",
        q("SELECT id, customer_id, body, visibility, retired_at FROM notes ORDER BY id"),
    );
    m.insert(
        "sales",
        q("SELECT id, customer_id, total_cents, refund_of FROM sales ORDER BY id"),
    );
    m.insert(
        "lines",
        q(
            "SELECT sale_id, position, product_id, quantity, amount_cents FROM sale_lines
           ORDER BY sale_id, position",
        ),
    );
    m.insert(
        "points",
        q("SELECT id, customer_id, sale_id, kind, points FROM points_ledger ORDER BY id"),
    );
    m.insert(
        "redirects",
        q("SELECT merged_id, survivor_id FROM customer_redirects ORDER BY merged_id"),
    );
    m.insert(
        "erased",
        q("SELECT customer_id FROM erased_customers ORDER BY customer_id"),
    );
    m.insert(
        "products",
        q("SELECT id, name, price_cents FROM products ORDER BY id"),
    );
    m
}

fn run_case(seed: u64, files: Option<&std::path::Path>) {
    let mut rng = Rng::new(seed);
    let n_tills = rng.range(2, 6) as usize;
    let mut tills: Vec<Till> = (0..n_tills)
        .map(|i| match files {
            Some(dir) => {
                let path = dir.join(format!("case{seed}-till{i}.db"));
                Till {
                    r: Regulars::open(&path).unwrap(),
                    path: Some(path),
                }
            }
            None => Till {
                r: Regulars::open_in_memory().unwrap(),
                path: None,
            },
        })
        .collect();
    let mut relay = Relay::default();
    // Each till enrolled with its own device number (its card range).
    for (i, t) in tills.iter_mut().enumerate() {
        let e = regulars_sync::protocol::EnrollResponse {
            device_id: t.device(),
            token: "t".into(),
            organisation: "test".into(),
            store_name: "test".into(),
            device_number: i as u32 + 1,
            server_ms: 0,
        };
        t.r.save_enrolment("http://127.0.0.1:9", &e).unwrap();
    }
    // The shop's catalogue starts on the first till and reaches the others.
    for k in 0..3 {
        tills[0]
            .r
            .save_product(
                None,
                &ProductDraft {
                    barcode: None,
                    name: format!("product {k}"),
                    department: None,
                    category: None,
                    price_cents: 250 * (k + 1),
                    considered: false,
                },
            )
            .unwrap();
    }
    let mut erased_names = Vec::new();
    let steps = rng.range(10, 60);
    let watch = std::env::var("REGULARS_SYNC_WATCH").ok();
    for step in 0..steps {
        let i = rng.index(n_tills);
        let syncing = rng.chance(0.25);
        if syncing {
            sync(&mut tills[i], &mut relay, &mut rng, true);
        } else {
            act(&mut tills[i], &mut rng, &mut erased_names);
        }
        if let Some(code) = &watch {
            let have: Vec<bool> = tills
                .iter()
                .map(|t| {
                    t.r.store()
                        .conn()
                        .prepare("SELECT 1 FROM cards WHERE code = ?1")
                        .unwrap()
                        .exists([code])
                        .unwrap()
                })
                .collect();
            let counts: Vec<usize> = tills.iter().map(|t| customers(&t.r).len()).collect();
            eprintln!(
                "step {step} till {i} sync={syncing}: {have:?} customers={counts:?} log={}",
                relay.log.len()
            );
        }
    }
    // Everyone online until nothing moves: each till pushes then pulls, twice
    // round (the second pass delivers what the last pushers sent).
    for _ in 0..3 {
        for t in tills.iter_mut() {
            sync(t, &mut relay, &mut rng, false);
        }
    }

    let ctx = |what: &str| format!("seed {seed}, {n_tills} tills: {what}");
    if let Ok(needle) = std::env::var("REGULARS_SYNC_TRACE") {
        let mut needles: Vec<String> = needle.split(',').map(str::to_string).collect();
        for c in &relay.log {
            let text = format!("{} {} {} {}", c.entity, c.op, c.entity_id, c.payload);
            if needle.split(',').any(|n| text.contains(n)) {
                if let Some(s) = regulars_sync::rules::subject(c) {
                    needles.push(s.to_string());
                }
            }
        }
        for c in &relay.log {
            let text = format!("{} {} {} {}", c.entity, c.op, c.entity_id, c.payload);
            if needles.iter().any(|n| text.contains(n.as_str())) {
                eprintln!("{} {} {}", c.hlc, c.device, &text[..text.len().min(900)]);
            }
        }
    }
    // Exactly once: the log holds each change once, and no till holds
    // anything unsent (or refused).
    let unique: HashSet<_> = relay.log.iter().map(|c| c.id).collect();
    assert_eq!(
        unique.len(),
        relay.log.len(),
        "{}",
        ctx("duplicate in the log")
    );
    for t in &tills {
        let s = t.r.sync_status().unwrap();
        assert_eq!((s.pending, s.rejected), (0, 0), "{}", ctx("unsent changes"));
    }
    // Identical data everywhere.
    let first = dump(&tills[0].r);
    for (i, t) in tills.iter().enumerate().skip(1) {
        let d = dump(&t.r);
        for (table, rows) in &first {
            assert_eq!(
                rows,
                &d[table],
                "{}",
                ctx(&format!("till {i} differs from till 0 in {table}"))
            );
        }
    }
    // Balances: what each till shows equals the ledger the log carries.
    let mut ledger: BTreeMap<String, i64> = BTreeMap::new();
    let r0 = &tills[0].r;
    for c in &relay.log {
        if c.entity == "points" {
            let Some(cust) = c.payload.get("customer_id").and_then(|v| v.as_str()) else {
                continue;
            };
            let id: CustomerId = cust.parse().unwrap();
            let now = r0.merged_into(id).unwrap().unwrap_or(id);
            *ledger.entry(now.to_string()).or_default() += c.payload["points"].as_i64().unwrap();
        }
    }
    for id in customers(r0) {
        let want = ledger.get(&id.to_string()).copied().unwrap_or(0);
        for t in &tills {
            assert_eq!(
                t.r.profile(id).unwrap().points_balance,
                want,
                "{}",
                ctx("balance differs from its ledger")
            );
        }
    }
    // Erased: no row anywhere still names them (sales stay, anonymous).
    for t in &tills {
        let d = dump(&t.r);
        for gone in &erased_names {
            for table in ["customers", "phones", "cards", "notes", "points", "sales"] {
                assert!(
                    !d[table].iter().any(|row| row.contains(gone.as_str())),
                    "{}",
                    ctx(&format!("an erased customer survived in {table}"))
                );
            }
        }
    }
}

fn cases(default: u64) -> u64 {
    std::env::var("REGULARS_SYNC_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_tills_converge_in_memory() {
    let first: u64 = std::env::var("REGULARS_SYNC_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for seed in first..first + cases(1_000) {
        run_case(seed, None);
    }
}

#[test]
fn random_tills_converge_with_crashes_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..(cases(1_000) / 16).max(5) {
        run_case(1_000_000 + seed, Some(dir.path()));
    }
}
