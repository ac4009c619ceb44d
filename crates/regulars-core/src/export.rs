//! Writes a store out as CSV files in the generic import format (Regulars'
//! own column names), which `regulars import csv --mapping generic` reads
//! back. Used to move a shop's data between systems and, in the benchmarks,
//! to make a chain-size history that goes through the real importer.
//!
//! Owns: the generic export. Does not own: per-customer data export for
//! erasure requests (a later, owner-only feature).

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;

use crate::store::Store;
use crate::{Error, Result};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub customers: u64,
    pub products: u64,
    pub lines: u64,
    pub files: Vec<PathBuf>,
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

struct Out {
    path: PathBuf,
    w: csv::Writer<GzEncoder<std::fs::File>>,
}

impl Out {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Self> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut w = csv::Writer::from_writer(GzEncoder::new(file, flate2::Compression::fast()));
        w.write_record(header).map_err(|e| io_err(&path, e))?;
        Ok(Out { path, w })
    }

    fn row(&mut self, fields: &[&str]) -> Result<()> {
        self.w
            .write_record(fields)
            .map_err(|e| io_err(&self.path, e))
    }

    fn finish(self) -> Result<PathBuf> {
        let path = self.path;
        let gz = self.w.into_inner().map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let mut file = gz.finish().map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        file.flush().map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    }
}

fn io_err(path: &Path, e: csv::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Writes `customers.csv.gz`, `products.csv.gz` and `sales.csv.gz` into `dir`.
/// Source ids are the rows' external references where they have one, else
/// their Regulars id, so a re-import is idempotent either way.
pub fn generic(store: &Store, dir: &Path) -> Result<ExportReport> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let conn = store.conn();
    let mut rep = ExportReport::default();

    let mut out = Out::create(
        dir,
        "customers.csv.gz",
        &[
            "customer_ref",
            "given_name",
            "family_name",
            "preferred_name",
            "phone",
            "phone2",
            "email",
            "card",
            "birthday",
            "marketing_consent",
        ],
    )?;
    let mut st = conn.prepare(
        "SELECT coalesce(c.external_ref, c.id), c.given_name, c.family_name,
                coalesce(c.preferred_name, ''),
                coalesce((SELECT phone FROM customer_phones p WHERE p.customer_id = c.id AND position = 0), ''),
                coalesce((SELECT phone FROM customer_phones p WHERE p.customer_id = c.id AND position = 1), ''),
                coalesce(c.email, ''),
                coalesce((SELECT code FROM cards k WHERE k.customer_id = c.id AND retired_at IS NULL
                          ORDER BY issued_at DESC LIMIT 1), ''),
                coalesce(c.birthday, ''), c.marketing_consent
         FROM customers c",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let f: Vec<String> = (0..9)
            .map(|i| r.get::<_, String>(i))
            .collect::<rusqlite::Result<_>>()?;
        let consent = if r.get::<_, bool>(9)? { "yes" } else { "no" };
        let mut refs: Vec<&str> = f.iter().map(String::as_str).collect();
        refs.push(consent);
        out.row(&refs)?;
        rep.customers += 1;
    }
    rep.files.push(out.finish()?);

    let mut out = Out::create(
        dir,
        "products.csv.gz",
        &[
            "product_ref",
            "name",
            "barcode",
            "department",
            "category",
            "price",
        ],
    )?;
    let mut st = conn.prepare(
        "SELECT coalesce(external_ref, id), name, coalesce(barcode, ''), coalesce(department, ''),
                coalesce(category, ''), price_cents FROM products",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let f: Vec<String> = (0..5)
            .map(|i| r.get::<_, String>(i))
            .collect::<rusqlite::Result<_>>()?;
        let price = money(r.get(5)?);
        out.row(&[&f[0], &f[1], &f[2], &f[3], &f[4], &price])?;
        rep.products += 1;
    }
    rep.files.push(out.finish()?);

    let mut out = Out::create(
        dir,
        "sales.csv.gz",
        &[
            "sale_ref",
            "time",
            "customer_ref",
            "product_ref",
            "description",
            "quantity",
            "amount",
            "discount",
            "unit_price",
            "payment_method",
        ],
    )?;
    // In sale order, so each sale's lines are together (the importer keeps a
    // sale inside one batch).
    let mut st = conn.prepare(
        "SELECT coalesce(s.external_ref, s.id), s.completed_at, coalesce(c.external_ref, c.id, ''),
                coalesce(p.external_ref, p.id, ''), l.description, l.quantity, l.amount_cents,
                l.discount_cents, l.unit_price_cents, s.payment_method
         FROM sales s JOIN sale_lines l ON l.sale_id = s.id
         LEFT JOIN customers c ON c.id = s.customer_id
         LEFT JOIN products p ON p.id = l.product_id
         ORDER BY s.id, l.position",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let f: Vec<String> = (0..5)
            .map(|i| r.get::<_, String>(i))
            .collect::<rusqlite::Result<_>>()?;
        let qty = r.get::<_, f64>(5)?.to_string();
        let amount = money(r.get(6)?);
        let discount = money(r.get(7)?);
        let unit = money(r.get(8)?);
        let pay: String = r.get(9)?;
        out.row(&[
            &f[0], &f[1], &f[2], &f[3], &f[4], &qty, &amount, &discount, &unit, &pay,
        ])?;
        rep.lines += 1;
    }
    rep.files.push(out.finish()?);
    Ok(rep)
}
