//! The demo store: a rural general store with a few thousand customers and a
//! year of trade, generated deterministically from a seed so every first run,
//! screenshot and benchmark sees the same shop.
//!
//! Customers follow their own rhythm (weekly regulars, fortnightly, monthly,
//! occasional, lapsed), buy their usual items plus a few others, now and
//! then a considered purchase (a generator, a chainsaw), and some have notes
//! with follow-up dates. Demo rows are seed data, not user writes, so they
//! are not put in the outbox.
//!
//! At 100,000 customers the generator writes about 5 million sale lines,
//! which is the scale the recognition benchmarks are stated at.

use chrono::{DateTime, Duration, Utc};
use rusqlite::params;
use uuid::Uuid;

use crate::card::CardNumber;
use crate::ids::{CustomerId, HouseholdId, NoteId, PointsEntryId, ProductId, SaleId};
use crate::people;
use crate::rng::Rng;
use crate::store::{iso, phone_digits, Store};
use crate::Result;

/// (name, department, category, price in cents, considered purchase)
const CATALOGUE: &[(&str, &str, &str, i64, bool)] = &[
    ("Whole milk 1 gal", "Grocery", "Dairy", 429, false),
    ("Large eggs, dozen", "Grocery", "Dairy", 389, false),
    ("Butter 1 lb", "Grocery", "Dairy", 499, false),
    ("Cheddar block 8 oz", "Grocery", "Dairy", 379, false),
    ("Sourdough loaf", "Grocery", "Bakery", 549, false),
    ("Sandwich bread", "Grocery", "Bakery", 299, false),
    ("Cinnamon rolls 4 pk", "Grocery", "Bakery", 599, false),
    ("Ground coffee 12 oz", "Grocery", "Coffee & tea", 899, false),
    ("Coffee, cup to go", "Grocery", "Coffee & tea", 225, false),
    ("Black tea 100 bags", "Grocery", "Coffee & tea", 649, false),
    ("Bananas per lb", "Grocery", "Produce", 69, false),
    ("Apples 3 lb bag", "Grocery", "Produce", 499, false),
    ("Potatoes 5 lb", "Grocery", "Produce", 449, false),
    ("Onions 3 lb", "Grocery", "Produce", 349, false),
    ("Bacon 1 lb", "Grocery", "Meat", 699, false),
    ("Chicken thighs 2 lb", "Grocery", "Meat", 749, false),
    ("Ground beef 1 lb", "Grocery", "Meat", 599, false),
    ("Canned tomatoes", "Grocery", "Pantry", 149, false),
    ("Spaghetti 1 lb", "Grocery", "Pantry", 179, false),
    ("Peanut butter", "Grocery", "Pantry", 429, false),
    ("Maple syrup 12 oz", "Grocery", "Pantry", 1199, false),
    ("Oatmeal 42 oz", "Grocery", "Pantry", 549, false),
    ("Local honey 1 lb", "Grocery", "Pantry", 999, false),
    ("Newspaper", "Grocery", "News", 250, false),
    ("Lottery ticket", "Grocery", "News", 200, false),
    ("Chocolate bar", "Grocery", "Snacks", 199, false),
    ("Potato chips", "Grocery", "Snacks", 399, false),
    ("Soda 12 pk", "Grocery", "Drinks", 799, false),
    ("Spring water 24 pk", "Grocery", "Drinks", 599, false),
    ("Beer 6 pk", "Grocery", "Drinks", 1099, false),
    ("Dog food 30 lb", "Farm & pet", "Pet", 4299, false),
    ("Cat litter 25 lb", "Farm & pet", "Pet", 1599, false),
    ("Dog treats", "Farm & pet", "Pet", 699, false),
    ("Bird seed 20 lb", "Farm & pet", "Wild birds", 2199, false),
    ("Suet cakes 4 pk", "Farm & pet", "Wild birds", 899, false),
    ("Layer feed 50 lb", "Farm & pet", "Livestock", 2399, false),
    ("Horse treats", "Farm & pet", "Livestock", 899, false),
    ("Hay bale", "Farm & pet", "Livestock", 1299, false),
    ("Deck screws 1 lb", "Hardware", "Fasteners", 899, false),
    ("Common nails 5 lb", "Hardware", "Fasteners", 1299, false),
    ("Duct tape", "Hardware", "Tape & glue", 799, false),
    ("Wood glue", "Hardware", "Tape & glue", 549, false),
    ("AA batteries 8 pk", "Hardware", "Electrical", 999, false),
    ("LED bulb 4 pk", "Hardware", "Electrical", 1299, false),
    (
        "Extension cord 25 ft",
        "Hardware",
        "Electrical",
        2499,
        false,
    ),
    ("Work gloves", "Hardware", "Safety", 1499, false),
    ("Sandpaper assortment", "Hardware", "Paint", 699, false),
    ("Paint brush 2 in", "Hardware", "Paint", 899, false),
    ("Exterior paint 1 gal", "Hardware", "Paint", 4499, false),
    ("Propane refill", "Hardware", "Fuel", 2299, false),
    ("2-stroke oil", "Hardware", "Fuel", 699, false),
    ("Bar & chain oil 1 gal", "Hardware", "Fuel", 1699, false),
    ("Firewood bundle", "Hardware", "Fuel", 799, false),
    ("Fire starters", "Hardware", "Fuel", 599, false),
    ("Ice melt 20 lb", "Hardware", "Seasonal", 1499, false),
    ("Potting soil 1 cu ft", "Garden", "Soil", 1099, false),
    ("Tomato plants 4 pk", "Garden", "Plants", 799, false),
    ("Seed packets", "Garden", "Seeds", 299, false),
    ("Garden hose 50 ft", "Garden", "Watering", 3499, false),
    ("Lawn fertilizer", "Garden", "Lawn", 2999, false),
    ("Printer ink, black", "Household", "Office", 2999, false),
    ("Dish soap", "Household", "Cleaning", 349, false),
    ("Paper towels 6 pk", "Household", "Paper", 999, false),
    (
        "Portable generator 3500 W",
        "Hardware",
        "Power equipment",
        59900,
        true,
    ),
    ("Chainsaw 18 in", "Hardware", "Power equipment", 32900, true),
    ("Push lawn mower", "Garden", "Power equipment", 34900, true),
    ("Snow blower", "Hardware", "Power equipment", 79900, true),
    ("Wheelbarrow", "Garden", "Tools", 12900, true),
    ("Cordless drill kit", "Hardware", "Tools", 14900, true),
    ("Inkjet printer", "Household", "Office", 12900, true),
    ("Cast-iron wood stove", "Hardware", "Heating", 109900, true),
];

/// Notes a shopkeeper would jot down, and how many days from "now" a
/// follow-up is due (None: no follow-up).
const NOTE_TEMPLATES: &[(&str, Option<i64>)] = &[
    ("Daughter just started college in Burlington.", Some(21)),
    ("Prefers paper receipts.", None),
    (
        "Building a chicken coop this spring; ask how it's going.",
        Some(10),
    ),
    ("Allergic to peanuts: mention when suggesting snacks.", None),
    ("Son's wedding is next Saturday.", Some(2)),
    ("Retired teacher; likes to chat about the garden.", None),
    (
        "Had hip surgery, back on her feet soon. Ask how she's doing.",
        Some(5),
    ),
    ("Runs the farm stand on Route 7.", None),
    ("Wants a call when the wood stoves come in.", Some(14)),
    ("New puppy (a lab called Maple).", Some(30)),
];

#[derive(Clone, Debug)]
pub struct DemoConfig {
    pub customers: usize,
    pub seed: u64,
    /// The demo's "today": history runs for a year up to here.
    pub now: DateTime<Utc>,
    /// Visits per customer relative to the default rhythms (1.0 gives about
    /// 71 lines per customer; 1.4 gives the 10 M lines of a chain-size
    /// store at 100,000 customers).
    pub visit_rate: f64,
}

impl DemoConfig {
    pub fn new(customers: usize) -> Self {
        DemoConfig {
            customers,
            seed: 2026,
            // Midnight today, so a store generated twice on one day is identical.
            now: Utc::now()
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc())
                .unwrap_or_else(Utc::now),
            visit_rate: 1.0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoReport {
    pub customers: u64,
    pub products: u64,
    pub sales: u64,
    pub lines: u64,
    pub notes: u64,
}

/// A UUIDv7 for a moment in the past, with deterministic random bits.
fn uuid_at(t: DateTime<Utc>, rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(t.timestamp_millis().max(0) as u64, &bytes)
        .into_uuid()
}

/// Visit rhythm: (mean days between visits, share of customers, stopped
/// coming this many days ago).
const RHYTHMS: &[(f64, f64, i64)] = &[
    (6.0, 0.18, 0),
    (13.0, 0.22, 0),
    (30.0, 0.25, 0),
    (75.0, 0.20, 0),
    (12.0, 0.15, 120),
];

/// Fills an empty store with the demo shop. Fails without writing anything
/// if the store already has customers.
pub fn generate(store: &mut Store, cfg: &DemoConfig) -> Result<DemoReport> {
    let mut rng = Rng::new(cfg.seed);
    let now = cfg.now;
    let year_ago = now - Duration::days(365);
    let mut report = DemoReport::default();
    let tx = store.write()?;
    let existing: i64 = tx.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
    if existing > 0 {
        return Err(crate::Error::invalid(
            "demo",
            "the store already has customers; use an empty file for the demo",
        ));
    }

    // Products, with EAN-13 barcodes in the 0-prefixed (US/Canada) range.
    let mut products = Vec::with_capacity(CATALOGUE.len());
    {
        let mut st = tx.prepare(
            "INSERT INTO products(id, barcode, name, department, category, price_cents, considered, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (i, (name, dept, cat, price, considered)) in CATALOGUE.iter().enumerate() {
            let id = ProductId::from_uuid(uuid_at(year_ago, &mut rng));
            let body = format!("0{:011}", 72_345_000_000 + i as u64);
            let barcode = format!("{body}{}", crate::card::ean13_check_digit(&body));
            st.execute(params![
                id,
                barcode,
                name,
                dept,
                cat,
                price,
                considered,
                iso(year_ago)
            ])?;
            products.push((id, *name, *price, *considered));
        }
        report.products = products.len() as u64;
    }
    let everyday: Vec<usize> = (0..products.len()).filter(|&i| !products[i].3).collect();
    let considered: Vec<usize> = (0..products.len()).filter(|&i| products[i].3).collect();

    let people = people::generate(cfg.customers, cfg.seed);
    let mut ins_customer = tx.prepare(
        "INSERT INTO customers(id, given_name, family_name, preferred_name, email, birthday,
            marketing_consent, household_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?;
    let mut ins_phone = tx.prepare(
        "INSERT INTO customer_phones(customer_id, position, phone, digits) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut ins_card = tx
        .prepare("INSERT INTO cards(code, customer_id, kind, issued_at) VALUES (?1, ?2, ?3, ?4)")?;
    let mut ins_household =
        tx.prepare("INSERT INTO households(id, name, created_at) VALUES (?1, ?2, ?3)")?;
    let mut ins_sale = tx.prepare(
        "INSERT INTO sales(id, customer_id, device_id, completed_at, total_cents, payment_method)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut ins_line = tx.prepare(
        "INSERT INTO sale_lines(sale_id, position, product_id, description, quantity, unit_price_cents, amount_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut ins_points = tx.prepare(
        "INSERT INTO points_ledger(id, customer_id, sale_id, kind, points, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut ins_note = tx.prepare(
        "INSERT INTO notes(id, customer_id, body, author, visibility, follow_up_on, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let device = store_device(&tx)?;
    let mut serial: u64 = 1;
    let mut last_household: Option<(HouseholdId, String)> = None;
    let payment = ["card", "card", "cash", "other"];

    for p in &people {
        // Joined up to two years ago; shopping starts when they joined.
        let joined = now - Duration::days(rng.below(730) as i64 + 1);
        let id = CustomerId::from_uuid(uuid_at(joined, &mut rng));
        // About one in ten shares a household with the previous customer of
        // the same family name.
        let household = match &last_household {
            Some((h, fam)) if *fam == p.family_name && rng.chance(0.5) => Some(*h),
            _ if rng.chance(0.08) => {
                let h = HouseholdId::from_uuid(uuid_at(joined, &mut rng));
                ins_household.execute(params![
                    h,
                    format!("{} household", p.family_name),
                    iso(joined)
                ])?;
                last_household = Some((h, p.family_name.clone()));
                Some(h)
            }
            _ => None,
        };
        ins_customer.execute(params![
            id,
            p.given_name,
            p.family_name,
            p.preferred_name,
            p.email,
            p.birthday.map(|b| b.format("%Y-%m-%d").to_string()),
            rng.chance(0.6),
            household,
            iso(joined),
        ])?;
        for (i, ph) in p.phones.iter().enumerate() {
            ins_phone.execute(params![id, i as i64, ph, phone_digits(ph)])?;
        }
        let card = CardNumber::issue(serial)?;
        serial += 1;
        ins_card.execute(params![card.as_str(), id, "ean13", iso(joined)])?;
        report.customers += 1;

        // Their rhythm and their usual items.
        let mut pick = rng.unit();
        let (mean_gap, _, stopped) = *RHYTHMS
            .iter()
            .find(|(_, share, _)| {
                pick -= share;
                pick < 0.0
            })
            .unwrap_or(&RHYTHMS[2]);
        let mean_gap = mean_gap / cfg.visit_rate.max(0.01);
        let usual: Vec<usize> = (0..3 + rng.below(4))
            .map(|_| *rng.pick(&everyday))
            .collect();
        let start = joined.max(year_ago);
        let end = now - Duration::days(stopped);
        let mut t = start + Duration::minutes((rng.exp(mean_gap) * 1440.0) as i64);
        while t < end {
            // Open 7:00-19:00.
            let day = t
                .date_naive()
                .and_hms_opt(7, 0, 0)
                .map(|d| d.and_utc())
                .unwrap_or(t);
            let at = day + Duration::minutes(rng.below(720) as i64);
            let sale = SaleId::from_uuid(uuid_at(at, &mut rng));
            let mut lines: Vec<(usize, f64)> = Vec::new();
            for &u in &usual {
                if rng.chance(0.55) {
                    lines.push((u, 1.0 + rng.below(2) as f64));
                }
            }
            for _ in 0..rng.below(4) {
                lines.push((*rng.pick(&everyday), 1.0));
            }
            if rng.chance(0.012) {
                lines.push((*rng.pick(&considered), 1.0));
            }
            if lines.is_empty() {
                lines.push((usual[0], 1.0));
            }
            let total: i64 = lines
                .iter()
                .map(|(i, q)| (products[*i].2 as f64 * q).round() as i64)
                .sum();
            ins_sale.execute(params![
                sale,
                id,
                device,
                iso(at),
                total,
                rng.pick(&payment)
            ])?;
            for (pos, (i, q)) in lines.iter().enumerate() {
                let (pid, name, price, _) = products[*i];
                ins_line.execute(params![
                    sale,
                    pos as i64,
                    pid,
                    name,
                    q,
                    price,
                    (price as f64 * q).round() as i64
                ])?;
            }
            ins_points.execute(params![
                PointsEntryId::from_uuid(uuid_at(at, &mut rng)),
                id,
                sale,
                "earn",
                total / 100,
                Option::<String>::None,
                iso(at)
            ])?;
            report.sales += 1;
            report.lines += lines.len() as u64;
            let gap = rng.exp(mean_gap).max(0.5);
            t = at + Duration::minutes((gap * 1440.0) as i64);
        }

        if rng.chance(0.15) {
            let (body, follow) = *rng.pick(NOTE_TEMPLATES);
            // Follow-ups fall from a few days ago to ten days ahead, so the
            // demo always has some due this week, as a real shop would.
            let (written, follow_up) = match follow {
                Some(d) => {
                    let due = now + Duration::days(rng.below(14) as i64 - 3);
                    (
                        due - Duration::days(d),
                        Some(due.format("%Y-%m-%d").to_string()),
                    )
                }
                None => (now - Duration::days(rng.below(40) as i64 + 1), None),
            };
            let written = written.min(now - Duration::hours(1));
            ins_note.execute(params![
                NoteId::from_uuid(uuid_at(written, &mut rng)),
                id,
                body,
                "Owner",
                "staff",
                follow_up,
                iso(written)
            ])?;
            report.notes += 1;
        }
    }
    drop((
        ins_customer,
        ins_phone,
        ins_card,
        ins_household,
        ins_sale,
        ins_line,
        ins_points,
        ins_note,
    ));
    // Staff, so the demo unlocks out of the box: the owner's PIN is 1234,
    // the cashier's 0000 (documented in the README; a real shop sets its own).
    if !crate::store::staff::owner_exists(&tx)? {
        use crate::staff::{hash_pin, Pin, PinCost, Role};
        for (name, role, pin) in [
            ("Owner", Role::Owner, "1234"),
            ("Cashier", Role::Cashier, "0000"),
        ] {
            let hash = hash_pin(&Pin::parse(pin)?, PinCost::DEFAULT)?;
            crate::store::staff::insert_staff(&tx, crate::ids::StaffId::new(), name, role, &hash)?;
        }
    }
    for (k, v) in [
        ("store_name", "Millbrook General Store".to_string()),
        ("demo", "1".to_string()),
        ("next_card_serial", serial.to_string()),
    ] {
        tx.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![k, v],
        )?;
    }
    tx.commit()?;
    // Fresh statistics let the planner pick the per-customer indexes.
    store.conn().execute_batch("ANALYZE")?;
    Ok(report)
}

fn store_device(tx: &rusqlite::Transaction<'_>) -> Result<String> {
    Ok(tx.query_row(
        "SELECT value FROM settings WHERE key = 'device_id'",
        [],
        |r| r.get(0),
    )?)
}
