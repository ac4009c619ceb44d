//! `regulars bench recognition`: the figures behind the recognition targets,
//! printed at a stated scale (customers, sale lines) on whatever machine runs
//! it. Release builds only give meaningful numbers.
//!
//! - latency on a real store file: card scan to "who is it", search per
//!   keystroke (typing a name letter by letter, results with summaries),
//!   full profile;
//! - accuracy of our search vs plain substring LIKE on generated queries
//!   (misspellings, nicknames, sound-alikes, initials, partial phones).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use regulars_core::card::CardNumber;
use regulars_core::ids::CustomerId;
use regulars_core::rng::Rng;
use regulars_core::{demo, Regulars};

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |p: f64| ms(v[((v.len() as f64 * p) as usize).min(v.len() - 1)]);
    (at(0.50), at(0.99), ms(*v.last().unwrap_or(&Duration::ZERO)))
}

fn row(what: &str, n: usize, v: Vec<Duration>, target: &str) {
    let (p50, p99, max) = percentiles(v);
    println!("{what:<34} {n:>7}  p50 {p50:>7.3} ms  p99 {p99:>7.3} ms  max {max:>7.3} ms  target {target}");
}

pub fn recognition(db: &Path, customers: usize, queries: usize) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    if r.is_empty()? {
        println!(
            "generating a demo store of {customers} customers in {} ...",
            db.display()
        );
        let t = Instant::now();
        let rep = demo::generate(r.store_mut(), &demo::DemoConfig::new(customers))?;
        println!(
            "  {} customers, {} sales, {} lines in {:.1} s",
            rep.customers,
            rep.sales,
            rep.lines,
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    r.rebuild_index()?;
    let index_ms = t.elapsed().as_secs_f64() * 1e3;
    let conn = r.store().conn();
    let n_customers: i64 = conn.query_row("SELECT count(*) FROM customers", [], |x| x.get(0))?;
    let n_lines: i64 = conn.query_row("SELECT count(*) FROM sale_lines", [], |x| x.get(0))?;
    println!(
        "\nLatency at {n_customers} customers and {n_lines} sale lines (index built in {index_ms:.0} ms)"
    );

    // A deterministic sample of customers with their card and name.
    let mut sample: Vec<(CustomerId, String, String, String)> = conn
        .prepare(
            "SELECT c.id, c.given_name, c.family_name, k.code FROM customers c
             JOIN cards k ON k.customer_id = c.id AND k.retired_at IS NULL",
        )?
        .query_map([], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut rng = Rng::new(42);
    for i in (1..sample.len()).rev() {
        sample.swap(i, rng.below(i as u64 + 1) as usize);
    }
    sample.truncate(2_000);

    // Warm the caches the way a till that has been open a while is warm.
    for (id, ..) in sample.iter().take(50) {
        r.profile(*id)?;
    }

    let mut card_times = Vec::new();
    for (id, _, _, code) in &sample {
        let t = Instant::now();
        let card = CardNumber::parse(code)?;
        let holder = r.store().card_holder(&card)?;
        let summary = r.store().summary(holder)?;
        card_times.push(t.elapsed());
        anyhow::ensure!(
            summary.id == *id,
            "card {code} resolved to the wrong customer"
        );
    }
    row(
        "card scan -> customer summary",
        card_times.len(),
        card_times,
        "p99 <= 1 ms",
    );

    let mut key_times = Vec::new();
    for (_, given, family, _) in sample.iter().take(400) {
        let typed = format!("{} {}", given.to_lowercase(), family.to_lowercase());
        for end in typed.char_indices().map(|(i, c)| i + c.len_utf8()) {
            let t = Instant::now();
            let hits = r.find(&typed[..end], 10)?;
            key_times.push(t.elapsed());
            std::hint::black_box(hits);
        }
    }
    row(
        "name search per keystroke (top 10)",
        key_times.len(),
        key_times,
        "p99 <= 5 ms",
    );

    let mut profile_times = Vec::new();
    for (id, ..) in sample.iter().take(500) {
        let t = Instant::now();
        std::hint::black_box(r.profile(*id)?);
        profile_times.push(t.elapsed());
    }
    row(
        "full profile",
        profile_times.len(),
        profile_times,
        "p99 <= 5 ms",
    );

    println!("\nAccuracy at {customers} generated customers, {queries} queries");
    let t = Instant::now();
    let report = regulars_core::search::eval::accuracy(customers, queries, 7);
    println!("{report}");
    println!("(accuracy run took {:.1} s)", t.elapsed().as_secs_f64());
    Ok(())
}

/// `regulars bench checkout`: on an existing store (e.g. Complete Journey
/// imported), the profile of random customers and ringing up 30-line sales.
/// It adds the benchmark's sales to the store: run it on a scratch copy.
pub fn checkout(db: &Path, sales: usize, lines_per_sale: usize) -> Result<()> {
    use regulars_core::model::{DraftLine, PaymentMethod, SaleDraft};
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let conn = r.store().conn();
    let n_customers: i64 = conn.query_row("SELECT count(*) FROM customers", [], |x| x.get(0))?;
    let n_lines: i64 = conn.query_row("SELECT count(*) FROM sale_lines", [], |x| x.get(0))?;
    anyhow::ensure!(
        n_customers > 0,
        "the store is empty: import or generate data first"
    );
    let mut customers: Vec<CustomerId> = conn
        .prepare("SELECT id FROM customers")?
        .query_map([], |x| x.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let products: Vec<(regulars_core::ids::ProductId, String, i64)> = conn
        .prepare("SELECT id, name, price_cents FROM products LIMIT 5000")?
        .query_map([], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    anyhow::ensure!(!products.is_empty(), "the store has no products");
    let mut rng = Rng::new(9);
    for i in (1..customers.len()).rev() {
        customers.swap(i, rng.below(i as u64 + 1) as usize);
    }
    println!("Checkout and profile at {n_customers} customers and {n_lines} sale lines");

    let mut profile_times = Vec::new();
    for id in customers.iter().cycle().take(1_000) {
        let t = Instant::now();
        std::hint::black_box(r.profile(*id)?);
        profile_times.push(t.elapsed());
    }
    row(
        "profile (summary, favourites, 20 visits)",
        profile_times.len(),
        profile_times,
        "p99 <= 5 ms",
    );

    let mut sale_times = Vec::new();
    for i in 0..sales {
        let lines = (0..lines_per_sale)
            .map(|_| {
                let (id, name, price) = rng.pick(&products).clone();
                DraftLine {
                    product_id: Some(id),
                    description: name,
                    quantity: 1.0 + rng.below(3) as f64,
                    unit_price_cents: price,
                    discount_cents: 0,
                    offer_key: None,
                }
            })
            .collect();
        let draft = SaleDraft {
            customer_id: Some(customers[i % customers.len()]),
            lines,
            payment_method: PaymentMethod::Card,
        };
        let t = Instant::now();
        r.complete_sale(&draft)?;
        sale_times.push(t.elapsed());
    }
    row(
        &format!("complete a {lines_per_sale}-line sale (durable commit)"),
        sale_times.len(),
        sale_times,
        "p99 <= 20 ms",
    );
    Ok(())
}
