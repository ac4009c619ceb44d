//! `regulars stress checkout|notes|import` (hidden): drives the same
//! `Regulars` methods the app's commands call, in a loop, printing each
//! committed id to stdout as soon as the call returns, like a printed
//! receipt. `tests/crash.rs` kills it with SIGKILL at random moments and
//! then checks that every acknowledged write is there and nothing is half
//! written. Not for users: it fills the store with made-up trade.
//!
//! Output lines (flushed one by one):
//! - `sale <id> <total_cents> <lines> <points>`
//! - `note <id>`
//! - `import-start <i> <ncustomers> <nsales> <file>...` then `import-done <i>`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use regulars_core::ids::{CustomerId, ProductId};
use regulars_core::model::{
    DraftLine, NewCustomer, NewNote, PaymentMethod, ProductDraft, SaleDraft, Visibility,
};
use regulars_core::rng::Rng;
use regulars_core::Regulars;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Mode {
    Checkout,
    Notes,
    Import,
}

/// Customers and products the loops pick from.
const CUSTOMERS: usize = 20;
const PRODUCTS: usize = 20;
/// Per import file set: customers, products and sales (1 to 4 lines each).
pub const IMPORT_CUSTOMERS: usize = 300;
pub const IMPORT_PRODUCTS: usize = 20;
pub const IMPORT_SALES: usize = 400;

pub fn run(db: &Path, mode: Mode, seed: u64, iterations: u64, batch_rows: usize) -> Result<()> {
    let mut r = Regulars::open(db)?;
    let mut rng = Rng::new(seed);
    let (customers, products) = ensure_basics(&mut r)?;
    let out = std::io::stdout();
    let ack = |line: String| -> Result<()> {
        let mut o = out.lock();
        writeln!(o, "{line}")?;
        o.flush()?;
        Ok(())
    };
    for i in 0..iterations {
        match mode {
            Mode::Checkout => {
                let n = rng.range(1, 8) as usize;
                let lines = (0..n)
                    .map(|_| {
                        if rng.chance(0.7) {
                            DraftLine {
                                product_id: Some(*rng.pick(&products)),
                                description: String::new(),
                                quantity: rng.range(1, 3) as f64,
                                unit_price_cents: 0,
                                discount_cents: 0,
                                offer_key: None,
                            }
                        } else {
                            DraftLine {
                                product_id: None,
                                description: "Misc item".into(),
                                quantity: 1.0,
                                unit_price_cents: rng.range(50, 2_000) as i64,
                                discount_cents: if rng.chance(0.2) { 25 } else { 0 },
                                offer_key: None,
                            }
                        }
                    })
                    .collect();
                let draft = SaleDraft {
                    customer_id: rng.chance(0.7).then(|| *rng.pick(&customers)),
                    lines,
                    payment_method: *rng.pick(&[
                        PaymentMethod::Cash,
                        PaymentMethod::Card,
                        PaymentMethod::Other,
                    ]),
                };
                let s = r.complete_sale(&draft)?;
                ack(format!(
                    "sale {} {} {} {}",
                    s.id,
                    s.total_cents,
                    s.lines.len(),
                    s.points_earned
                ))?;
            }
            Mode::Notes => {
                let note = NewNote {
                    body: format!("stress note {seed}-{i}: asked about the delivery days"),
                    author: "stress".into(),
                    visibility: if rng.chance(0.8) {
                        Visibility::Staff
                    } else {
                        Visibility::Owner
                    },
                    follow_up_on: None,
                    expires_on: None,
                };
                let n = r.add_note(*rng.pick(&customers), &note)?;
                ack(format!("note {}", n.id))?;
            }
            Mode::Import => {
                let dir = db
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .join("stress-import");
                let files = write_import_files(&dir, &format!("S{seed}I{i}"), &mut rng)?;
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                ack(format!(
                    "import-start {i} {IMPORT_CUSTOMERS} {IMPORT_SALES} {}",
                    names.join(" ")
                ))?;
                let opts = regulars_core::import::ImportOptions {
                    batch_rows,
                    ..Default::default()
                };
                let rep = r.import_with(
                    &files,
                    "generic",
                    &opts,
                    &mut |_| {},
                    &AtomicBool::new(false),
                )?;
                anyhow::ensure!(
                    rep.rejected == 0,
                    "stress import rejected rows: {:?}",
                    rep.errors
                );
                ack(format!("import-done {i}"))?;
            }
        }
    }
    Ok(())
}

/// At least [`CUSTOMERS`] customers and [`PRODUCTS`] products, created
/// through the facade (a kill during this setup is just another crash).
fn ensure_basics(r: &mut Regulars) -> Result<(Vec<CustomerId>, Vec<ProductId>)> {
    let count = |r: &Regulars, sql: &str| -> Result<usize> {
        Ok(r.store()
            .conn()
            .query_row(sql, [], |row| row.get::<_, i64>(0))? as usize)
    };
    let have = count(
        r,
        "SELECT count(*) FROM customers WHERE external_ref IS NULL",
    )?;
    for k in have..CUSTOMERS {
        r.enrol(&NewCustomer {
            given_name: "Stress".into(),
            family_name: format!("Customer{k}"),
            ..Default::default()
        })?;
    }
    let have = count(
        r,
        "SELECT count(*) FROM products WHERE external_ref IS NULL",
    )?;
    for k in have..PRODUCTS {
        r.save_product(
            None,
            &ProductDraft {
                name: format!("Stress product {k}"),
                barcode: None,
                department: None,
                category: None,
                price_cents: 99 + 37 * k as i64,
                considered: false,
            },
        )?;
    }
    let ids = |sql: &str| -> Result<Vec<String>> {
        let conn = r.store().conn();
        let mut st = conn.prepare(sql)?;
        let v = st
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    };
    let customers = ids("SELECT id FROM customers WHERE external_ref IS NULL ORDER BY id")?
        .iter()
        .map(|s| s.parse())
        .collect::<regulars_core::Result<Vec<CustomerId>>>()?;
    let products = ids("SELECT id FROM products WHERE external_ref IS NULL ORDER BY id")?
        .iter()
        .map(|s| s.parse())
        .collect::<regulars_core::Result<Vec<ProductId>>>()?;
    Ok((customers, products))
}

/// Lines of sale `j` in a stress import: 1 to 4, so a checker can tell a
/// complete sale from a half-imported one.
pub fn import_sale_lines(j: usize) -> usize {
    j % 4 + 1
}

/// Writes one set of generic-format files whose refs all start with `tag`.
fn write_import_files(dir: &Path, tag: &str, rng: &mut Rng) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let cust = dir.join(format!("{tag}-customers.csv"));
    let prod = dir.join(format!("{tag}-products.csv"));
    let sales = dir.join(format!("{tag}-sales.csv"));
    let mut w = String::from("customer_ref,given_name,family_name,phone\n");
    for j in 0..IMPORT_CUSTOMERS {
        w += &format!(
            "{tag}C{j},Imported,Person{j},802-555-{:04}\n",
            rng.below(10_000)
        );
    }
    std::fs::write(&cust, w)?;
    let mut w = String::from("product_ref,name,price\n");
    let mut prices = Vec::new();
    for k in 0..IMPORT_PRODUCTS {
        let cents = rng.range(50, 900);
        prices.push(cents);
        w += &format!(
            "{tag}P{k},Imported product {k},{}.{:02}\n",
            cents / 100,
            cents % 100
        );
    }
    std::fs::write(&prod, w)?;
    let mut w = String::from("sale_ref,time,customer_ref,product_ref,quantity,amount\n");
    for j in 0..IMPORT_SALES {
        let c = rng.index(IMPORT_CUSTOMERS);
        let day = 1 + j % 28;
        for _ in 0..import_sale_lines(j) {
            let k = rng.index(IMPORT_PRODUCTS);
            let q = rng.range(1, 3);
            let amount = prices[k] * q;
            w += &format!(
                "{tag}S{j},2024-02-{day:02} 10:{:02}:00,{tag}C{c},{tag}P{k},{q},{}.{:02}\n",
                j % 60,
                amount / 100,
                amount % 100
            );
        }
    }
    std::fs::write(&sales, w)?;
    Ok(vec![cust, prod, sales])
}
