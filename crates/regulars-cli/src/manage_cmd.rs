//! `regulars duplicates | merge | undo-merge` and `regulars bench
//! duplicates`: the owner's duplicate review from the command line, and the
//! finder's speed and quality on synthetic customers with planted
//! duplicates (typos, nicknames, phones typed differently, shared emails,
//! same address) and planted households (shared phone and address, different
//! people: must not be reported).

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use regulars_core::card::CardNumber;
use regulars_core::ids::{CustomerId, MergeId};
use regulars_core::model::Session;
use regulars_core::people;
use regulars_core::rng::Rng;
use regulars_core::search::nicknames::Nicknames;
use regulars_core::store::{now_iso, phone_digits};
use regulars_core::Regulars;
use rusqlite::params;

fn side(s: &regulars_core::model::DuplicateSide) -> String {
    let c = &s.summary;
    format!(
        "{} (id {}, {} visits, last {}, {} points, cards {})",
        c.display_name,
        c.id,
        c.visits,
        c.last_visit
            .as_deref()
            .map(|d| &d[..10.min(d.len())])
            .unwrap_or("never"),
        s.points_balance,
        s.cards
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    )
}

pub fn duplicates(r: &Regulars, limit: usize, json: bool) -> Result<()> {
    for p in r.duplicate_pairs(limit)? {
        if json {
            println!("{}", serde_json::to_string(&p)?);
        } else {
            println!("{:>5.1}  {}", p.score, p.evidence.join("; "));
            println!("       A {}", side(&p.a));
            println!("       B {}", side(&p.b));
        }
    }
    Ok(())
}

pub fn merge(r: &mut Regulars, owner: &Session, survivor: &str, merged: &str) -> Result<()> {
    let (s, m) = (r.resolve(survivor)?, r.resolve(merged)?);
    let receipt = r.merge_customers(owner, s, m)?;
    let moved: Vec<String> = receipt
        .moved
        .iter()
        .filter(|m| m.rows > 0)
        .map(|m| format!("{} {}", m.rows, m.what))
        .collect();
    println!(
        "merged {} into {}: moved {}; filled {}. Undo with: regulars undo-merge {}",
        receipt.merged_id,
        receipt.survivor_id,
        if moved.is_empty() {
            "nothing".into()
        } else {
            moved.join(", ")
        },
        if receipt.filled.is_empty() {
            "nothing".into()
        } else {
            receipt.filled.join(", ")
        },
        receipt.merge_id
    );
    Ok(())
}

pub fn undo_merge(r: &mut Regulars, owner: &Session, id: &str) -> Result<()> {
    let id: MergeId = id.parse()?;
    let p = r.undo_merge(owner, id)?;
    println!("restored {} (id {})", p.summary.display_name, p.summary.id);
    Ok(())
}

const STREETS: [&str; 12] = [
    "Elm",
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Lake",
    "Hill",
    "Park",
    "Washington",
    "Lincoln",
    "Clark",
    "Halsted",
];

fn typo(rng: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 4 {
        return s.to_string();
    }
    let i = 1 + rng.index(c.len() - 2);
    match rng.below(3) {
        0 => c.swap(i, i + 1),
        1 => {
            c.remove(i);
        }
        _ => c[i] = (b'a' + rng.below(26) as u8) as char,
    }
    c.into_iter().collect()
}

fn reformat(phone: &str) -> String {
    let d = phone_digits(phone);
    let d = d.strip_prefix('1').filter(|_| d.len() == 11).unwrap_or(&d);
    if d.len() == 10 {
        format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
    } else {
        d.to_string()
    }
}

struct Row {
    id: CustomerId,
    given: String,
    family: String,
    preferred: Option<String>,
    phones: Vec<String>,
    email: Option<String>,
    birthday: Option<String>,
    line1: String,
    postcode: String,
}

/// Generates `customers` people (2% planted duplicates, 2% planted household
/// members) into an empty store at `db`, then times the finder.
pub fn bench(db: &Path, customers: usize) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    if !r.is_empty()? {
        bail!(
            "{} already has customers; bench duplicates needs a new store file",
            db.display()
        );
    }
    let t = Instant::now();
    let planted = customers / 50;
    let households = customers / 50;
    let base = customers - planted - households;
    let mut rng = Rng::new(7);
    let nick = Nicknames::embedded();
    let mut rows: Vec<Row> = people::generate(base, 2026)
        .into_iter()
        .map(|p| Row {
            id: CustomerId::new(),
            given: p.given_name,
            family: p.family_name,
            preferred: p.preferred_name,
            phones: p.phones,
            email: p.email,
            birthday: p.birthday.map(|b| b.format("%Y-%m-%d").to_string()),
            line1: format!(
                "{} {} {}",
                rng.range(1, 9_999),
                STREETS[rng.index(STREETS.len())],
                if rng.chance(0.5) { "St" } else { "Ave" }
            ),
            postcode: format!("606{:02}", rng.below(60)),
        })
        .collect();
    let mut truth: HashSet<(CustomerId, CustomerId)> = HashSet::new();
    let mut kinds = [0usize; 5];
    // Planted copy -> its original: two copies of one person are a true pair too.
    let mut root: std::collections::HashMap<CustomerId, CustomerId> = Default::default();
    for _ in 0..planted {
        let o = &rows[rng.index(base)];
        let kind = rng.index(5);
        kinds[kind] += 1;
        let mut d = Row {
            id: CustomerId::new(),
            given: o.given.clone(),
            family: o.family.clone(),
            preferred: None,
            phones: Vec::new(),
            email: None,
            // Re-enrolled people rarely give their birthday twice.
            birthday: None,
            line1: o.line1.clone(),
            postcode: o.postcode.clone(),
        };
        match kind {
            // Nickname, phone typed another way.
            0 => {
                let nicks = nick.nicknames_of(&o.given.to_lowercase());
                d.given = match nicks.first() {
                    Some(n) => regulars_core::search::normalize::title_case(n),
                    None => typo(&mut rng, &o.given),
                };
                d.phones = o.phones.iter().take(1).map(|p| reformat(p)).collect();
                if d.phones.is_empty() {
                    d.email = o.email.clone();
                }
            }
            // Same email (upper case), typo in the given name.
            1 => {
                d.given = typo(&mut rng, &o.given);
                d.email = o.email.as_ref().map(|e| e.to_uppercase());
                if d.email.is_none() {
                    d.phones = o.phones.clone();
                }
            }
            // Typo in the family name, same phone.
            2 => {
                d.family = typo(&mut rng, &o.family);
                d.phones = o.phones.iter().take(1).cloned().collect();
                if d.phones.is_empty() {
                    d.email = o.email.clone();
                }
            }
            // Same name, same address written differently, new phone.
            3 => {
                d.line1 = o.line1.replace(" St", " Street").replace(" Ave", " Avenue");
                d.phones = vec![format!("312 555 {:04}", rng.below(10_000))];
            }
            // Phone without the area code, same name.
            _ => {
                d.phones = o
                    .phones
                    .iter()
                    .take(1)
                    .map(|p| {
                        let x = phone_digits(p);
                        x[x.len().saturating_sub(7)..].to_string()
                    })
                    .collect();
                if d.phones.is_empty() {
                    d.email = o.email.clone();
                }
            }
        }
        truth.insert(if o.id < d.id {
            (o.id, d.id)
        } else {
            (d.id, o.id)
        });
        root.insert(d.id, o.id);
        rows.push(d);
    }
    for _ in 0..households {
        let o = &rows[rng.index(base)];
        let other = people::generate(1, rng.next_u64()).remove(0);
        let h = Row {
            id: CustomerId::new(),
            given: other.given_name,
            family: o.family.clone(),
            preferred: None,
            phones: o.phones.iter().take(1).cloned().collect(),
            email: None,
            birthday: other.birthday.map(|b| b.format("%Y-%m-%d").to_string()),
            line1: o.line1.clone(),
            postcode: o.postcode.clone(),
        };
        rows.push(h);
    }
    let now = now_iso();
    {
        let tx = r.store_mut().write()?;
        let mut ins = tx.prepare(
            "INSERT INTO customers(id, given_name, family_name, preferred_name, email, birthday,
                marketing_consent, created_at, updated_at, address_line1, postcode, city)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8, ?9, 'Chicago')",
        )?;
        let mut ph = tx.prepare(
            "INSERT INTO customer_phones(customer_id, position, phone, digits) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut card = tx.prepare(
            "INSERT INTO cards(code, customer_id, kind, issued_at) VALUES (?1, ?2, 'ean13', ?3)",
        )?;
        for (i, c) in rows.iter().enumerate() {
            ins.execute(params![
                c.id,
                c.given,
                c.family,
                c.preferred,
                c.email,
                c.birthday,
                now,
                c.line1,
                c.postcode
            ])?;
            for (k, p) in c.phones.iter().enumerate() {
                ph.execute(params![c.id, k as i64, p, phone_digits(p)])?;
            }
            card.execute(params![
                CardNumber::issue(i as u64 + 1)?.as_str(),
                c.id,
                now
            ])?;
        }
        drop((ins, ph, card));
        tx.commit()?;
    }
    let n = rows.len();
    println!(
        "{n} customers ({} planted duplicates: {} nickname+phone, {} email+typo, {} family typo+phone, {} name+address, {} phone without area code; {households} household members sharing phone and address) written in {:.1} s",
        truth.len(), kinds[0], kinds[1], kinds[2], kinds[3], kinds[4],
        t.elapsed().as_secs_f64()
    );
    drop(rows);
    let r = Regulars::open(db)?;
    let k = truth.len();
    let t = Instant::now();
    let cpu = cpu_secs();
    let pairs = r.duplicate_pairs(k)?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu;
    let hit = |p: &regulars_core::model::DuplicatePair| {
        let (a, b) = (p.a.summary.id, p.b.summary.id);
        let of = |x: CustomerId| root.get(&x).copied().unwrap_or(x);
        truth.contains(&if a < b { (a, b) } else { (b, a) }) || of(a) == of(b)
    };
    let correct = pairs.iter().filter(|p| hit(p)).count();
    let found_truth = pairs
        .iter()
        .filter(|p| {
            let (a, b) = (p.a.summary.id, p.b.summary.id);
            truth.contains(&if a < b { (a, b) } else { (b, a) })
        })
        .count();
    println!(
        "duplicate_pairs({k}) over {n} customers: {secs:.2} s wall, {cpu:.2} s CPU (target <= 10 s), {} pairs; top-{k}: precision {:.3}, recall {:.3}",
        pairs.len(),
        correct as f64 / pairs.len().max(1) as f64,
        found_truth as f64 / k.max(1) as f64
    );
    // Where the time goes: loading, blocking + scoring, then the summaries.
    let t = Instant::now();
    let records = r.store().dup_records()?;
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let ranked = regulars_core::manage::duplicates::rank_pairs(&records, &HashSet::new(), k);
    println!(
        "  of which: load {n} records {load:.2} s, block + score + rank {:.2} s ({} pairs), the rest is both sides' summaries",
        t.elapsed().as_secs_f64(),
        ranked.len()
    );
    drop(records);
    let t = Instant::now();
    let more = r.duplicate_pairs(2 * k)?;
    let correct = more.iter().filter(|p| hit(p)).count();
    let found_truth = more
        .iter()
        .filter(|p| {
            let (a, b) = (p.a.summary.id, p.b.summary.id);
            truth.contains(&if a < b { (a, b) } else { (b, a) })
        })
        .count();
    println!(
        "duplicate_pairs({}): {:.2} s, {} pairs over the threshold, {} of them true (precision {:.3}), recall of planted pairs {:.3}",
        2 * k,
        t.elapsed().as_secs_f64(),
        more.len(),
        correct,
        correct as f64 / more.len().max(1) as f64,
        found_truth as f64 / k.max(1) as f64
    );
    Ok(())
}

/// CPU seconds this process has used (user + system), from /proc: on a
/// shared machine wall time also counts other people's jobs.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the ")" closing the command name; utime and stime
            // are fields 14 and 15 of the whole line.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}
