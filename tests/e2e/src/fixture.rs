//! Stores for the tests, made with the core: a small demo shop (whose random
//! names no test relies on) plus people the tests know by heart.

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use regulars_core::ids::SaleId;
use regulars_core::model::{NewCustomer, Profile};
use regulars_core::{demo, Regulars};

/// Demo customers around the known people (enough for realistic ranking,
/// few enough to build in well under a second).
pub const DEMO_CUSTOMERS: usize = 300;

/// Someone the tests enrolled themselves.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    /// The card they were issued (canonical, 13 digits).
    pub card: String,
    pub given: String,
    pub family: String,
    pub phone: String,
    pub email: Option<String>,
    pub visits: u32,
}

impl Person {
    pub fn name(&self) -> String {
        format!("{} {}", self.given, self.family)
    }
}

/// A temporary store: demo shop plus the known people.
#[derive(Debug)]
pub struct Fixture {
    /// Deleted when the fixture drops.
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    /// Margaret Thornton, a weekly regular with a phone and an email.
    pub margaret: Person,
    /// John Smith who comes in every few days.
    pub john_regular: Person,
    /// Another John Smith, who has never bought anything.
    pub john_other: Person,
}

fn person(p: &Profile, phone: &str, visits: u32) -> Result<Person> {
    let s = &p.summary;
    Ok(Person {
        id: s.id.to_string(),
        card: s
            .card
            .as_ref()
            .context("enrolled without a card")?
            .to_string(),
        given: s.given_name.clone(),
        family: s.family_name.clone(),
        phone: phone.to_string(),
        email: s.email.clone(),
        visits,
    })
}

fn enrol(
    r: &mut Regulars,
    given: &str,
    family: &str,
    phone: &str,
    email: Option<&str>,
) -> Result<Profile> {
    Ok(r.enrol(&NewCustomer {
        given_name: given.into(),
        family_name: family.into(),
        phones: vec![phone.into()],
        email: email.map(str::to_string),
        marketing_consent: true,
        ..NewCustomer::default()
    })?)
}

/// Gives `customer` `n` past visits, one every `every_days` days up to two
/// days ago, each with a few of the shop's products.
fn add_visits(r: &Regulars, customer: &str, n: u32, every_days: u32) -> Result<()> {
    let conn = r.store().conn();
    let device = r.store().device().to_string();
    let products: Vec<(String, String, i64)> = conn
        .prepare("SELECT id, name, price_cents FROM products WHERE considered = 0 ORDER BY name LIMIT 12")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<std::result::Result<_, _>>()?;
    ensure!(!products.is_empty(), "the demo shop has no products");
    // They joined before their first visit.
    conn.execute(
        "UPDATE customers SET created_at = strftime('%Y-%m-%dT09:00:00Z', 'now', ?2),
                              updated_at = strftime('%Y-%m-%dT09:00:00Z', 'now', ?2)
          WHERE id = ?1",
        (customer, format!("-{} days", 3 + n * every_days)),
    )?;
    for i in 0..n {
        let sale = SaleId::new().to_string();
        let ago = format!("-{} days", 2 + i * every_days);
        let lines: Vec<&(String, String, i64)> = (0..3)
            .map(|k| &products[((i as usize) + k * 5) % products.len()])
            .collect();
        let total: i64 = lines.iter().map(|l| l.2).sum();
        conn.execute(
            "INSERT INTO sales(id, customer_id, device_id, completed_at, total_cents, payment_method)
             VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT10:%M:%SZ', 'now', ?4), ?5, 'card')",
            (&sale, customer, &device, &ago, total),
        )?;
        for (pos, (pid, name, price)) in lines.into_iter().enumerate() {
            conn.execute(
                "INSERT INTO sale_lines(sale_id, position, product_id, description, quantity, unit_price_cents, amount_cents)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
                (&sale, pos as i64, pid, name, price),
            )?;
        }
    }
    Ok(())
}

impl Fixture {
    /// Builds a fresh store in a new temporary directory.
    pub fn build() -> Result<Fixture> {
        let dir = tempfile::Builder::new().prefix("regulars-e2e-").tempdir()?;
        let db = dir.path().join("till.db");
        let mut r = Regulars::open(&db)?;
        demo::generate(r.store_mut(), &demo::DemoConfig::new(DEMO_CUSTOMERS))?;
        r.rebuild_index()?;

        let m = enrol(
            &mut r,
            "Margaret",
            "Thornton",
            "(802) 555-0142",
            Some("margaret.thornton@example.org"),
        )?;
        let jr = enrol(
            &mut r,
            "John",
            "Smith",
            "(802) 555-0178",
            Some("jsmith.farm@example.org"),
        )?;
        let jo = enrol(&mut r, "John", "Smith", "(802) 555-0163", None)?;
        add_visits(&r, &m.summary.id.to_string(), 40, 7)?;
        add_visits(&r, &jr.summary.id.to_string(), 60, 4)?;
        r.rebuild_index()?;
        r.store().set_setting("initialised", "1")?;

        let f = Fixture {
            margaret: person(&m, "(802) 555-0142", 40)?,
            john_regular: person(&jr, "(802) 555-0178", 60)?,
            john_other: person(&jo, "(802) 555-0163", 0)?,
            dir,
            db,
        };
        // The tests' expectations only hold if the demo did not happen to
        // make exact namesakes (it has a Marlene Thornton, which makes the
        // misspelt-name test sharper); the demo is seeded, so this is stable.
        let count = |sql: &str| -> Result<i64> {
            Ok(r.store().conn().query_row(sql, [], |row| row.get(0))?)
        };
        ensure!(
            count("SELECT count(*) FROM customers WHERE given_name = 'Margaret' AND family_name = 'Thornton'")? == 1,
            "the demo shop now has a Margaret Thornton of its own: pick another fixture name"
        );
        ensure!(
            count("SELECT count(*) FROM customers WHERE given_name = 'John' AND family_name = 'Smith'")? == 2,
            "the demo shop now has a John Smith of its own: adjust the fixture"
        );
        drop(r);
        Ok(f)
    }

    /// Opens the fixture's store with the core (the app must be closed, or
    /// only reads done).
    pub fn open(&self) -> Result<Regulars> {
        Ok(Regulars::open(&self.db)?)
    }
}
