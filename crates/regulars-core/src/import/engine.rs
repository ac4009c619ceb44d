//! The import engine: reads rows through a mapping section, checks them,
//! resolves source ids against in-memory maps (no per-row SELECT) and writes
//! batches in one transaction each, with their outbox changes.
//!
//! Owns: batching, idempotency by source id, row errors, progress ticks,
//! cancellation between batches, the import run record.
//! Does not own: parsing values (see `values`), templates, file formats.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

use super::mapping::{Kind, Mapping, Options, Section};
use super::progress::{Meter, Progress};
use super::source::{missing_columns, Source};
use super::template::Bound;
use super::values::{self, Formats};
use super::{FileReport, ImportOptions, ImportReport, RowError, MAX_KEPT_ERRORS};
use crate::card::CardNumber;
use crate::checkout;
use crate::ids::{CustomerId, ProductId, SaleId};
use crate::model::NewCustomer;
use crate::store::{customers_validate_new, iso, now_iso, record_change, CustomerRow, Store};
use crate::{Error, Result};

/// The report file: every rejected row (and every row imported without a
/// value), written as found so memory stays flat however bad the file.
pub(crate) struct ReportWriter {
    w: csv::Writer<std::fs::File>,
    path: PathBuf,
}

impl ReportWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let io = |e: csv::Error| Error::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        };
        let mut w = csv::Writer::from_path(path).map_err(io)?;
        w.write_record(["file", "line", "column", "outcome", "reason"])
            .map_err(io)?;
        Ok(ReportWriter {
            w,
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, e: &RowError, outcome: &str) -> Result<()> {
        self.w
            .write_record([
                e.file.as_str(),
                &e.line.to_string(),
                &e.column,
                outcome,
                &e.reason,
            ])
            .map_err(|e| Error::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })
    }

    pub fn flush(&mut self) -> Result<()> {
        self.w.flush().map_err(|source| Error::Io {
            path: self.path.display().to_string(),
            source,
        })
    }
}

/// The maps hash millions of short ids; SipHash's protection against
/// crafted keys buys nothing for a shop's own export, and costs ~5% of an
/// import. This is the multiply-rotate hash rustc uses (FxHash).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// A product as the maps know it: ids pre-formatted once, since a line
/// binds them a million times.
#[derive(Clone, Debug)]
pub(crate) struct Prod {
    pub id: ProductId,
    pub id_str: Arc<str>,
    pub name: Arc<str>,
}

#[derive(Clone, Copy, Debug)]
enum SaleSeen {
    /// In the store before this run: its lines are skipped.
    Before,
    /// Written by this run; lines found later (a sale split in the file)
    /// are appended from this position.
    ThisRun { id: SaleId, next_pos: u32 },
}

/// Source id -> store id, loaded once per run (one SELECT per table).
#[derive(Default)]
pub(crate) struct Maps {
    pub customers: Option<FxMap<String, CustomerId>>,
    pub cards: FxMap<String, CustomerId>,
    pub products: Option<FxMap<String, Prod>>,
    pub barcodes: FxMap<String, ProductId>,
    sales: Option<FxMap<String, SaleSeen>>,
}

/// A customer to insert.
pub(crate) struct NewCust {
    pub row: CustomerRow,
    pub card: Option<CardNumber>,
    pub attrs: Vec<(String, String)>,
}

/// A product to insert.
pub(crate) struct NewProd {
    pub prod: Prod,
    pub external_ref: Option<String>,
    pub barcode: Option<String>,
    pub department: Option<String>,
    pub category: Option<String>,
    pub price_cents: i64,
}

struct Line {
    product: Option<Arc<str>>,
    description: Arc<str>,
    quantity: f64,
    unit_price_cents: i64,
    discount_cents: i64,
    amount_cents: i64,
}

struct PendingSale {
    key: String,
    id: SaleId,
    customer: Option<CustomerId>,
    completed_at: DateTime<Utc>,
    payment: &'static str,
    lines: Vec<Line>,
    /// Some(first position) when appending to a sale an earlier batch wrote.
    append_from: Option<u32>,
}

#[derive(Default)]
struct SalesBatch {
    customers: Vec<NewCust>,
    products: Vec<NewProd>,
    sales: Vec<PendingSale>,
    index: FxMap<String, usize>,
    lines: usize,
}

/// The fields of one section, bound to one file's header.
struct Fields {
    map: HashMap<&'static str, Vec<Bound>>,
    cols: HashMap<&'static str, String>,
    attrs: Vec<(String, Bound)>,
}

impl Fields {
    fn bind(sec: &Section, src: &Source, notes: &mut Vec<String>) -> Result<Fields> {
        let mut map = HashMap::new();
        let mut cols = HashMap::new();
        let mut missing_required: Vec<String> = Vec::new();
        let required: &[&str] = match sec.kind {
            Kind::Customers => &[],
            Kind::Products => &["name"],
            Kind::Sales => &["sale_ref", "time"],
        };
        for (name, templates) in &sec.fields {
            let mut bound = Vec::new();
            for t in templates {
                let (b, missing) = t.bind(&src.header);
                let columns = t.columns();
                let all_missing = !columns.is_empty() && missing.len() == columns.len();
                if all_missing {
                    if required.contains(name) {
                        missing_required.extend(missing);
                    } else if sec.kind != Kind::Customers
                        || !["given_name", "family_name", "name"].contains(name)
                    {
                        notes.push(format!(
                            "{}: no column {} for {} (left empty)",
                            src.name,
                            missing
                                .iter()
                                .map(|m| format!("'{m}'"))
                                .collect::<Vec<_>>()
                                .join(" or "),
                            name
                        ));
                    }
                    continue;
                }
                bound.push(b);
            }
            cols.insert(
                *name,
                templates
                    .first()
                    .and_then(|t| {
                        t.columns()
                            .into_iter()
                            .find(|c| src.column(c).is_some())
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| name.to_string()),
            );
            if !bound.is_empty() {
                map.insert(*name, bound);
            }
        }
        if sec.kind == Kind::Sales && !map.contains_key("amount") && !map.contains_key("unit_price")
        {
            for f in ["amount", "unit_price"] {
                if let Some(t) = sec.field(f) {
                    missing_required.extend(t.columns().into_iter().map(str::to_string));
                }
            }
        }
        if sec.kind == Kind::Customers
            && !["given_name", "family_name", "name"]
                .iter()
                .any(|n| map.contains_key(n))
        {
            let names: Vec<String> = ["given_name", "family_name", "name"]
                .iter()
                .filter_map(|n| sec.field(n))
                .flat_map(|t| t.columns().into_iter().map(str::to_string))
                .collect();
            missing_required.push(names.join("' or '"));
        }
        if !missing_required.is_empty() {
            let m: Vec<&str> = missing_required.iter().map(String::as_str).collect();
            return Err(missing_columns(&src.name, &m, &src.header));
        }
        let attrs = sec
            .attributes
            .iter()
            .map(|(k, t)| (k.clone(), t.bind(&src.header).0))
            .collect();
        Ok(Fields { map, cols, attrs })
    }

    fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    fn eval<'r>(&'r self, name: &str, rec: &'r csv::StringRecord) -> Cow<'r, str> {
        match self.map.get(name).and_then(|v| v.first()) {
            Some(b) => b.eval(rec),
            None => Cow::Borrowed(""),
        }
    }

    fn all<'r>(&'r self, name: &str, rec: &'r csv::StringRecord) -> Vec<Cow<'r, str>> {
        self.map
            .get(name)
            .map(|v| v.iter().map(|b| b.eval(rec)).collect())
            .unwrap_or_default()
    }

    fn col(&self, name: &str) -> String {
        self.cols
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }
}

/// Templates that make a customer from a bare source id (a loyalty
/// household seen only in sales), bound to the sales file's header.
pub(crate) struct Placeholder {
    pub given: Option<Bound>,
    pub family: Option<Bound>,
    pub card: Option<Bound>,
}

/// One import run over one or more files.
pub(crate) struct Run<'a> {
    /// None while a sales file's writer thread holds it.
    store: Option<&'a mut Store>,
    dry: bool,
    batch_rows: usize,
    progress: &'a mut dyn FnMut(&Progress),
    cancel: &'a AtomicBool,
    pub report: ImportReport,
    report_file: Option<ReportWriter>,
    pub meter: Meter,
    pub maps: Maps,
    pub device: String,
    pub now: String,
    pub run_id: String,
    pub profile: String,
    started: String,
    file_names: Vec<String>,
    cur_file: usize,
    cache_size: i64,
}

impl<'a> Run<'a> {
    pub fn new(
        store: &'a mut Store,
        opts: &ImportOptions,
        progress: &'a mut dyn FnMut(&Progress),
        cancel: &'a AtomicBool,
        profile: &str,
        files: &[PathBuf],
    ) -> Result<Self> {
        let bytes_total = files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum();
        let report_file = opts
            .error_report
            .as_deref()
            .map(ReportWriter::create)
            .transpose()?;
        // A batch touches ~10 MB of pages: with SQLite's default 2 MB cache
        // it would spill pages to the WAL and write them again. Restored in
        // `finish`.
        let cache_size: i64 = store
            .conn()
            .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        store.conn().execute_batch("PRAGMA cache_size = -65536")?;
        let now = now_iso();
        Ok(Run {
            device: store.device().to_string(),
            store: Some(store),
            dry: opts.dry_run,
            batch_rows: opts.batch_rows.max(1),
            progress,
            cancel,
            report: ImportReport {
                dry_run: opts.dry_run,
                error_report: opts.error_report.as_ref().map(|p| p.display().to_string()),
                ..Default::default()
            },
            report_file,
            meter: Meter::new(bytes_total),
            maps: Maps::default(),
            started: now.clone(),
            now,
            run_id: uuid::Uuid::now_v7().to_string(),
            profile: profile.to_string(),
            file_names: files.iter().map(|f| f.display().to_string()).collect(),
            cur_file: 0,
            cache_size,
        })
    }

    pub fn store(&self) -> &Store {
        self.store
            .as_deref()
            .expect("the store is handed back when a writer thread ends")
    }

    fn store_mut(&mut self) -> &mut Store {
        self.store
            .as_deref_mut()
            .expect("the store is handed back when a writer thread ends")
    }

    pub fn cancelled(&mut self) -> bool {
        if self.cancel.load(Ordering::Relaxed) {
            self.report.cancelled = true;
        }
        self.report.cancelled
    }

    /// Runs `f` in one write transaction (nothing, in a dry run).
    pub fn write(&mut self, f: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
        if self.dry {
            return Ok(());
        }
        let tx = self.store_mut().write()?;
        f(&tx)?;
        tx.commit()?;
        Ok(())
    }

    pub fn start_file(&mut self, src: &Source, kind: &str) {
        self.report.files.push(FileReport {
            file: src.name.clone(),
            kind: kind.to_string(),
            ..Default::default()
        });
        self.cur_file = self.report.files.len() - 1;
    }

    pub fn end_file(&mut self, src: &Source) {
        self.tick(src);
        self.meter.bytes_finished += src.size;
    }

    pub fn tick(&mut self, src: &Source) {
        let p = self.meter.snapshot(
            &src.name,
            src.bytes_read
                .load(std::sync::atomic::Ordering::Relaxed)
                .min(src.size),
        );
        (self.progress)(&p);
    }

    pub fn row(&mut self) {
        self.report.rows += 1;
        self.meter.rows += 1;
        self.report.files[self.cur_file].rows += 1;
    }

    pub fn imported(&mut self, n: u64) {
        self.report.imported += n;
        self.report.files[self.cur_file].imported += n;
    }

    pub fn skipped(&mut self, n: u64) {
        self.report.skipped_existing += n;
        self.report.files[self.cur_file].skipped_existing += n;
    }

    pub fn reject(
        &mut self,
        file: &str,
        line: u64,
        column: &str,
        reason: impl Into<String>,
    ) -> Result<()> {
        let e = RowError {
            file: file.to_string(),
            line,
            column: column.to_string(),
            reason: reason.into(),
        };
        self.report.rejected += 1;
        self.report.files[self.cur_file].rejected += 1;
        if let Some(w) = &mut self.report_file {
            w.write(&e, "rejected")?;
        }
        if self.report.errors.len() < MAX_KEPT_ERRORS {
            self.report.errors.push(e);
        }
        Ok(())
    }

    pub fn warn(
        &mut self,
        file: &str,
        line: u64,
        column: &str,
        reason: impl Into<String>,
    ) -> Result<()> {
        let e = RowError {
            file: file.to_string(),
            line,
            column: column.to_string(),
            reason: reason.into(),
        };
        if let Some(w) = &mut self.report_file {
            w.write(&e, "imported without this value")?;
        }
        if self.report.warnings.len() < MAX_KEPT_ERRORS {
            self.report.warnings.push(e);
        }
        Ok(())
    }

    /// Ends the run: timing, the run record, the report file.
    pub fn finish(mut self) -> Result<ImportReport> {
        self.report.seconds = self.meter.elapsed();
        if let Some(w) = &mut self.report_file {
            w.flush()?;
        }
        if !self.dry {
            let r = &self.report;
            let files = serde_json::to_string(&self.file_names).unwrap_or_default();
            let row = (
                self.run_id.clone(),
                self.profile.clone(),
                files,
                self.started.clone(),
                now_iso(),
                if r.cancelled {
                    "cancelled"
                } else {
                    "completed"
                },
                [r.rows, r.imported, r.skipped_existing, r.rejected].map(|n| n as i64),
            );
            let tx = self.store_mut().write()?;
            tx.execute(
                "INSERT INTO import_runs(id, profile, files, started_at, finished_at, status,
                    rows, imported, skipped, rejected)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    row.0, row.1, row.2, row.3, row.4, row.5, row.6[0], row.6[1], row.6[2],
                    row.6[3]
                ],
            )?;
            tx.commit()?;
            // A big import changes the tables' shape; without fresh
            // statistics the planner can pick slow plans for the per-customer
            // reads (measured: search p99 7.6 ms before, 3.4 ms after, on a
            // 10 M-line store). `PRAGMA optimize` only analyses what needs it.
            self.store_mut()
                .conn()
                .execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?;
        }
        Ok(std::mem::take(&mut self.report))
    }

    // ---- maps ----------------------------------------------------------

    pub fn load_customers(&mut self) -> Result<()> {
        if self.maps.customers.is_some() {
            return Ok(());
        }
        let conn = self
            .store
            .as_deref()
            .expect("the store is here between files")
            .conn();
        let mut m = FxMap::default();
        let mut st =
            conn.prepare("SELECT external_ref, id FROM customers WHERE external_ref IS NOT NULL")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            m.insert(r.get::<_, String>(0)?, r.get::<_, CustomerId>(1)?);
        }
        let mut st = conn.prepare("SELECT code, customer_id FROM cards")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            self.maps.cards.insert(r.get(0)?, r.get(1)?);
        }
        self.maps.customers = Some(m);
        Ok(())
    }

    pub fn load_products(&mut self) -> Result<()> {
        if self.maps.products.is_some() {
            return Ok(());
        }
        let conn = self
            .store
            .as_deref()
            .expect("the store is here between files")
            .conn();
        let mut m = FxMap::default();
        let mut st = conn.prepare("SELECT id, external_ref, barcode, name FROM products")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: ProductId = r.get(0)?;
            let ext: Option<String> = r.get(1)?;
            let barcode: Option<String> = r.get(2)?;
            let name: String = r.get(3)?;
            if let Some(b) = barcode {
                self.maps.barcodes.insert(b, id);
            }
            if let Some(e) = ext {
                m.insert(
                    e,
                    Prod {
                        id,
                        id_str: id.to_string().into(),
                        name: name.into(),
                    },
                );
            }
        }
        self.maps.products = Some(m);
        Ok(())
    }

    fn load_sales(&mut self) -> Result<()> {
        if self.maps.sales.is_some() {
            return Ok(());
        }
        let mut m = FxMap::default();
        let mut st = self
            .store
            .as_deref()
            .expect("the store is here between files")
            .conn()
            .prepare("SELECT external_ref FROM sales WHERE external_ref IS NOT NULL")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            m.insert(r.get::<_, String>(0)?, SaleSeen::Before);
        }
        self.maps.sales = Some(m);
        Ok(())
    }

    pub fn customer_id(&self, key: &str) -> Option<CustomerId> {
        self.maps
            .customers
            .as_ref()
            .and_then(|m| m.get(key))
            .copied()
    }

    pub fn product(&self, key: &str) -> Option<&Prod> {
        self.maps.products.as_ref().and_then(|m| m.get(key))
    }

    /// A customer known only by a source id: named by the placeholder
    /// templates (or "Customer #id"), with the card they give if it is free.
    pub fn placeholder_customer(
        &mut self,
        key: &str,
        ph: &Placeholder,
        rec: &csv::StringRecord,
        file: &str,
        line: u64,
    ) -> Result<NewCust> {
        let given = ph
            .given
            .as_ref()
            .map(|b| b.eval(rec).into_owned())
            .unwrap_or_default();
        let family = ph
            .family
            .as_ref()
            .map(|b| b.eval(rec).into_owned())
            .unwrap_or_default();
        let (given, family) = if given.is_empty() && family.is_empty() {
            ("Customer".to_string(), format!("#{key}"))
        } else {
            (given, family)
        };
        let draft = NewCustomer {
            given_name: given.chars().take(80).collect(),
            family_name: family.chars().take(80).collect(),
            external_ref: Some(key.to_string()),
            ..Default::default()
        };
        let mut row = customers_validate_new(&draft)?;
        row.created_at = self.now.clone();
        let card_raw = ph
            .card
            .as_ref()
            .map(|b| b.eval(rec).into_owned())
            .unwrap_or_default();
        let card = self.free_card(&card_raw, row.id, file, line, "card")?;
        self.register_customer(key, &row, card.as_ref());
        Ok(NewCust {
            row,
            card,
            attrs: Vec::new(),
        })
    }

    /// Parses a card and checks nobody holds it; a card that cannot be
    /// used is reported and the customer imported without it.
    fn free_card(
        &mut self,
        raw: &str,
        id: CustomerId,
        file: &str,
        line: u64,
        column: &str,
    ) -> Result<Option<CardNumber>> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        match CardNumber::parse(raw) {
            Ok(c) => match self.maps.cards.get(c.as_str()) {
                Some(holder) if *holder != id => {
                    self.warn(
                        file,
                        line,
                        column,
                        Error::CardTaken {
                            code: c.to_string(),
                        }
                        .to_string(),
                    )?;
                    Ok(None)
                }
                _ => Ok(Some(c)),
            },
            Err(e) => {
                self.warn(file, line, column, e.to_string())?;
                Ok(None)
            }
        }
    }

    fn register_customer(&mut self, key: &str, row: &CustomerRow, card: Option<&CardNumber>) {
        if !key.is_empty() {
            if let Some(m) = self.maps.customers.as_mut() {
                m.insert(key.to_string(), row.id);
            }
        }
        if let Some(c) = card {
            self.maps.cards.insert(c.as_str().to_string(), row.id);
        }
        self.report.customers_created += 1;
    }

    /// A product known only by a source id (a sales line or coupon whose
    /// product is not in the product file): "Item <id>" unless a name is known.
    pub fn placeholder_product(
        &mut self,
        key: &str,
        name: &str,
        department: &str,
        category: &str,
    ) -> NewProd {
        let id = ProductId::new();
        let name: String = if name.is_empty() {
            format!("Item {key}")
        } else {
            name.chars().take(120).collect()
        };
        let prod = Prod {
            id,
            id_str: id.to_string().into(),
            name: name.into(),
        };
        if let Some(m) = self.maps.products.as_mut().filter(|_| !key.is_empty()) {
            m.insert(key.to_string(), prod.clone());
        }
        self.report.products_created += 1;
        NewProd {
            prod,
            external_ref: Some(key.to_string()),
            barcode: None,
            department: Some(department.to_string()).filter(|s| !s.is_empty()),
            category: Some(category.to_string()).filter(|s| !s.is_empty()),
            price_cents: 0,
        }
    }

    // ---- files ----------------------------------------------------------

    /// Reads `files` through `mapping`: customers first, then products,
    /// then sales (so sales find both).
    pub fn mapping_files(&mut self, mapping: &Mapping, files: &[PathBuf]) -> Result<()> {
        let mut opened = Vec::new();
        for f in files {
            let src = Source::open(f, mapping.options.delimiter)?;
            let sec = mapping.section_for(&src.name, &src.header)?;
            opened.push((sec.kind, src, sec));
        }
        opened.sort_by_key(|(k, _, _)| *k);
        for (kind, mut src, sec) in opened {
            if self.cancelled() {
                break;
            }
            let mut opts = mapping.options.clone();
            match kind {
                Kind::Customers => self.customers_file(&mut src, sec, &mut opts)?,
                Kind::Products => self.products_file(&mut src, sec, &opts)?,
                Kind::Sales => self.sales_file(&mut src, sec, &mut opts)?,
            }
            self.end_file(&src);
        }
        Ok(())
    }

    fn prefixed<'s>(&self, opts: &Options, raw: Cow<'s, str>) -> Cow<'s, str> {
        if opts.ref_prefix.is_empty() || raw.is_empty() {
            raw
        } else {
            Cow::Owned(format!("{}{}", opts.ref_prefix, raw))
        }
    }

    fn customers_file(
        &mut self,
        src: &mut Source,
        sec: &Section,
        opts: &mut Options,
    ) -> Result<()> {
        self.start_file(src, "customers");
        self.load_customers()?;
        let fields = Fields::bind(sec, src, &mut self.report.notes)?;
        let file = src.name.clone();
        let mut batch: Vec<NewCust> = Vec::new();
        let mut updates: Vec<(CustomerId, Vec<(String, String)>)> = Vec::new();
        let mut rec = csv::StringRecord::new();
        while let Some(line) = src.next(&mut rec)? {
            self.row();
            let key = self.prefixed(opts, fields.eval("ref", &rec)).into_owned();
            let attrs: Vec<(String, String)> = fields
                .attrs
                .iter()
                .map(|(k, b)| (k.clone(), b.eval(&rec).into_owned()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            if let Some(id) = (!key.is_empty()).then(|| self.customer_id(&key)).flatten() {
                let changed = self.changed_attributes(id, attrs)?;
                if changed.is_empty() {
                    self.skipped(1);
                } else {
                    self.imported(1);
                    self.report.attributes_set += changed.len() as u64;
                    updates.push((id, changed));
                }
            } else if let Some(c) =
                self.customer_row(&fields, &rec, &key, attrs, &file, line, opts)?
            {
                self.imported(1);
                self.report.attributes_set += c.attrs.len() as u64;
                batch.push(c);
            }
            if batch.len() + updates.len() >= self.batch_rows {
                self.flush_customers(&mut batch, &mut updates)?;
                self.tick(src);
                if self.cancelled() {
                    return Ok(());
                }
            }
        }
        self.flush_customers(&mut batch, &mut updates)
    }

    /// Attributes that differ from what the store holds for `id`.
    fn changed_attributes(
        &self,
        id: CustomerId,
        attrs: Vec<(String, String)>,
    ) -> Result<Vec<(String, String)>> {
        if attrs.is_empty() {
            return Ok(attrs);
        }
        let mut st = self
            .store
            .as_deref()
            .expect("the store is here between files")
            .conn()
            .prepare_cached("SELECT name, value FROM customer_attributes WHERE customer_id = ?1")?;
        let have: HashMap<String, String> = st
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(attrs
            .into_iter()
            .filter(|(k, v)| have.get(k) != Some(v))
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn customer_row(
        &mut self,
        fields: &Fields,
        rec: &csv::StringRecord,
        key: &str,
        attrs: Vec<(String, String)>,
        file: &str,
        line: u64,
        opts: &mut Options,
    ) -> Result<Option<NewCust>> {
        let mut given = fields.eval("given_name", rec).into_owned();
        let mut family = fields.eval("family_name", rec).into_owned();
        let full = fields.eval("name", rec);
        if given.is_empty() && family.is_empty() && !full.is_empty() {
            // "Mary Ann Smith": the last word is the family name.
            match full.trim().rsplit_once(char::is_whitespace) {
                Some((g, f)) => {
                    given = g.trim().to_string();
                    family = f.trim().to_string();
                }
                None => given = full.trim().to_string(),
            }
        }
        let birthday_raw = fields.eval("birthday", rec);
        let birthday = if birthday_raw.is_empty() {
            None
        } else {
            match opts.formats.date(&birthday_raw) {
                Ok(d) => Some(d.format("%Y-%m-%d").to_string()),
                Err(()) => {
                    self.warn(
                        file,
                        line,
                        &fields.col("birthday"),
                        format!(
                            "'{}' is not a full date this mapping knows (tried {}); the customer is imported without a birthday",
                            values::clip(&birthday_raw),
                            opts.formats.names().join(", ")
                        ),
                    )?;
                    None
                }
            }
        };
        let draft = NewCustomer {
            given_name: given,
            family_name: family,
            preferred_name: Some(fields.eval("preferred_name", rec).into_owned())
                .filter(|s| !s.is_empty()),
            phones: fields
                .all("phone", rec)
                .into_iter()
                .map(Cow::into_owned)
                .collect(),
            email: Some(fields.eval("email", rec).into_owned()),
            birthday,
            marketing_consent: values::yes(&fields.eval("marketing_consent", rec)),
            external_ref: Some(key.to_string()).filter(|s| !s.is_empty()),
            card: None,
        };
        let mut row = match customers_validate_new(&draft) {
            Ok(r) => r,
            Err(e) => {
                let field = match &e {
                    Error::Invalid { field, .. } if field.contains("phone") => "phone",
                    Error::Invalid { field, .. } if field.contains("email") => "email",
                    Error::Invalid { field, .. } if field.contains("family") => "family_name",
                    Error::Invalid { field, .. } if field.contains("preferred") => "preferred_name",
                    Error::Invalid { field, .. } if field.contains("birthday") => "birthday",
                    _ if fields.has("given_name") => "given_name",
                    _ => "name",
                };
                self.reject(file, line, &fields.col(field), e.to_string())?;
                return Ok(None);
            }
        };
        row.created_at = self.now.clone();
        let card_raw = fields.eval("card", rec);
        let card = if card_raw.is_empty() {
            None
        } else {
            match CardNumber::parse(&card_raw) {
                Ok(c) => {
                    if self.maps.cards.contains_key(c.as_str()) {
                        self.reject(
                            file,
                            line,
                            &fields.col("card"),
                            Error::CardTaken {
                                code: c.to_string(),
                            }
                            .to_string(),
                        )?;
                        return Ok(None);
                    }
                    Some(c)
                }
                Err(e) => {
                    self.reject(file, line, &fields.col("card"), e.to_string())?;
                    return Ok(None);
                }
            }
        };
        self.register_customer(key, &row, card.as_ref());
        Ok(Some(NewCust { row, card, attrs }))
    }

    fn flush_customers(
        &mut self,
        batch: &mut Vec<NewCust>,
        updates: &mut Vec<(CustomerId, Vec<(String, String)>)>,
    ) -> Result<()> {
        let now = self.now.clone();
        let source = self.profile.clone();
        self.write(|tx| {
            insert_customers(tx, batch, &now, &source)?;
            for (id, attrs) in updates.iter() {
                insert_attributes(tx, *id, attrs, &now, &source)?;
            }
            Ok(())
        })?;
        batch.clear();
        updates.clear();
        Ok(())
    }

    fn products_file(&mut self, src: &mut Source, sec: &Section, opts: &Options) -> Result<()> {
        self.start_file(src, "products");
        self.load_products()?;
        let fields = Fields::bind(sec, src, &mut self.report.notes)?;
        let file = src.name.clone();
        let mut batch: Vec<NewProd> = Vec::new();
        let mut rec = csv::StringRecord::new();
        while let Some(line) = src.next(&mut rec)? {
            self.row();
            let key = self.prefixed(opts, fields.eval("ref", &rec)).into_owned();
            if !key.is_empty() && self.product(&key).is_some() {
                self.skipped(1);
                continue;
            }
            let name = fields.eval("name", &rec);
            if name.is_empty() {
                self.reject(&file, line, &fields.col("name"), "the product has no name; fill in the column (or fix the mapping's name template)")?;
                continue;
            }
            let price_cents = match values::money(&fields.eval("price", &rec), opts.money) {
                Ok(p) => p.unwrap_or(0),
                Err(e) => {
                    self.reject(
                        &file,
                        line,
                        &fields.col("price"),
                        format!("{e}; write prices like 12.34"),
                    )?;
                    continue;
                }
            };
            if price_cents < 0 {
                self.reject(
                    &file,
                    line,
                    &fields.col("price"),
                    "a price cannot be negative",
                )?;
                continue;
            }
            let barcode = self.usable_barcode(
                &fields.eval("barcode", &rec),
                &file,
                line,
                &fields.col("barcode"),
            )?;
            let mut p = self.placeholder_product(
                &key,
                &name,
                &fields.eval("department", &rec),
                &fields.eval("category", &rec),
            );
            if key.is_empty() {
                p.external_ref = None;
            }
            if let Some(b) = &barcode {
                self.maps.barcodes.insert(b.clone(), p.prod.id);
            }
            p.barcode = barcode;
            p.price_cents = price_cents;
            self.imported(1);
            batch.push(p);
            if batch.len() >= self.batch_rows {
                self.flush_products(&mut batch)?;
                self.tick(src);
                if self.cancelled() {
                    return Ok(());
                }
            }
        }
        self.flush_products(&mut batch)
    }

    /// A barcode the till can scan, or None (reported) when it is a
    /// loyalty-card code or another product has it.
    fn usable_barcode(
        &mut self,
        raw: &str,
        file: &str,
        line: u64,
        column: &str,
    ) -> Result<Option<String>> {
        if raw.is_empty() {
            return Ok(None);
        }
        let code = match checkout::classify(raw) {
            Ok(checkout::Code::Product(p)) | Ok(checkout::Code::Either(p)) => p,
            Ok(checkout::Code::Weighed { key, .. }) => key,
            Ok(checkout::Code::Card(_)) => {
                self.warn(
                    file,
                    line,
                    column,
                    "is in the loyalty-card range (29...); imported without a barcode",
                )?;
                return Ok(None);
            }
            Err(e) => {
                self.warn(
                    file,
                    line,
                    column,
                    format!("{e}; imported without a barcode"),
                )?;
                return Ok(None);
            }
        };
        if self.maps.barcodes.contains_key(&code) {
            self.warn(
                file,
                line,
                column,
                format!("barcode {code} already belongs to another product; imported without it"),
            )?;
            return Ok(None);
        }
        Ok(Some(code))
    }

    fn flush_products(&mut self, batch: &mut Vec<NewProd>) -> Result<()> {
        let now = self.now.clone();
        self.write(|tx| insert_products(tx, batch, &now))?;
        batch.clear();
        Ok(())
    }

    fn sales_file(&mut self, src: &mut Source, sec: &Section, opts: &mut Options) -> Result<()> {
        self.start_file(src, "sales");
        self.load_customers()?;
        self.load_products()?;
        self.load_sales()?;
        let fields = Fields::bind(sec, src, &mut self.report.notes)?;
        let placeholder = Placeholder {
            given: fields
                .map
                .get("customer_given_name")
                .and_then(|v| v.first().cloned()),
            family: fields
                .map
                .get("customer_family_name")
                .and_then(|v| v.first().cloned()),
            card: fields
                .map
                .get("customer_card")
                .and_then(|v| v.first().cloned()),
        };
        if self.dry {
            return self.sales_rows(src, &fields, &placeholder, opts, None);
        }
        // Writing runs on a thread of its own while this one reads and
        // checks the next batch: on two cores that overlaps SQLite's work
        // with parsing. The channel holds one batch, so memory stays flat.
        let store = self.store.take().expect("the store is here between files");
        let (now, source, device) = (self.now.clone(), self.profile.clone(), self.device.clone());
        let (tx, rx) = sync_channel::<SalesBatch>(1);
        let (store, read, written) = std::thread::scope(|scope| {
            let writer = std::thread::Builder::new()
                .name("import-writer".into())
                .spawn_scoped(scope, move || {
                    let store = store;
                    let mut res = Ok(());
                    for b in rx {
                        res = write_sales_batch(store, &b, &now, &source, &device);
                        if res.is_err() {
                            // Dropping the receiver makes the next send fail,
                            // which stops the reading side.
                            break;
                        }
                    }
                    (store, res)
                });
            // Like std::thread::spawn: only an exhausted OS fails here.
            let writer = writer.expect("cannot start the import writer thread");
            let read = self.sales_rows(src, &fields, &placeholder, opts, Some(&tx));
            drop(tx);
            let (store, written) = match writer.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (store, read, written)
        });
        self.store = Some(store);
        // The writer's error first: it explains why sending failed.
        written?;
        read
    }

    fn sales_rows(
        &mut self,
        src: &mut Source,
        fields: &Fields,
        placeholder: &Placeholder,
        opts: &mut Options,
        writer: Option<&SyncSender<SalesBatch>>,
    ) -> Result<()> {
        let file = src.name.clone();
        let mut batch = SalesBatch::default();
        // The sale the previous line belonged to: None for a skipped
        // (already imported) sale, with its key.
        let mut current: Option<(String, Option<usize>)> = None;
        let mut time_cache: (String, Option<DateTime<Utc>>) = (String::new(), None);
        let mut any_time = false;
        let mut rec = csv::StringRecord::new();
        while let Some(line) = src.next(&mut rec)? {
            self.row();
            let key = self.prefixed(opts, fields.eval("sale_ref", &rec));
            if key.is_empty() {
                self.reject(&file, line, &fields.col("sale_ref"), "no sale (receipt or basket) reference; every line needs the sale it belongs to")?;
                continue;
            }
            let slot = match &current {
                Some((k, slot)) if *k == *key => *slot,
                _ => {
                    let key = key.into_owned();
                    // A batch ends only between sales, so a sale whose lines
                    // are together in the file is written whole.
                    if batch.lines >= self.batch_rows {
                        self.flush_sales(&mut batch, writer)?;
                        self.tick(src);
                        if self.cancelled() {
                            return Ok(());
                        }
                    }
                    let slot = self.open_sale(&mut batch, &key);
                    current = Some((key, slot));
                    slot
                }
            };
            let Some(slot) = slot else {
                self.skipped(1);
                continue;
            };
            // One line of the sale: check every value first.
            let raw_time = fields.eval("time", &rec);
            let time = if time_cache.0 == *raw_time {
                time_cache.1
            } else {
                let t = opts.formats.timestamp(&raw_time).ok();
                time_cache = (raw_time.clone().into_owned(), t);
                t
            };
            let Some(time) = time else {
                let why = format!(
                    "'{}' in column '{}' is not a date and time this mapping knows (tried {})",
                    values::clip(&raw_time),
                    fields.col("time"),
                    opts.formats.names().join(", ")
                );
                if !any_time {
                    return Err(Error::Import {
                        file,
                        line,
                        reason: format!(
                            "{why}; add its format to date_formats in the mapping's [options] \
                             (for example \"%d/%m/%Y %H:%M\") and import again"
                        ),
                    });
                }
                self.reject(&file, line, &fields.col("time"), why)?;
                continue;
            };
            any_time = true;
            let mut amount: Option<i64> = None;
            let mut bad = None;
            for part in fields.all("amount", &rec) {
                match values::money(&part, opts.money) {
                    Ok(Some(c)) => amount = Some(amount.unwrap_or(0) + c),
                    Ok(None) => {}
                    Err(e) => bad = Some(e),
                }
            }
            if let Some(e) = bad {
                self.reject(
                    &file,
                    line,
                    &fields.col("amount"),
                    format!("{e}; write amounts like 12.34"),
                )?;
                continue;
            }
            let quantity = match values::quantity(
                &fields.eval("quantity", &rec),
                opts.money == values::MoneyStyle::DecimalComma,
            ) {
                Ok(q) => q.unwrap_or(1.0),
                Err(e) => {
                    self.reject(&file, line, &fields.col("quantity"), e)?;
                    continue;
                }
            };
            let mut discount = 0i64;
            let mut bad = None;
            for part in fields.all("discount", &rec) {
                match values::money(&part, opts.money) {
                    // Sources write discounts as negative or positive
                    // amounts; the store keeps them non-negative.
                    Ok(Some(c)) => discount += c.abs(),
                    Ok(None) => {}
                    Err(e) => bad = Some(e),
                }
            }
            if let Some(e) = bad {
                self.reject(&file, line, &fields.col("discount"), e)?;
                continue;
            }
            let unit_price = match values::money(&fields.eval("unit_price", &rec), opts.money) {
                Ok(p) => p,
                Err(e) => {
                    self.reject(&file, line, &fields.col("unit_price"), e)?;
                    continue;
                }
            };
            // Exports give the line's net amount, or a unit price (then the
            // amount is quantity x price less the discount), or both.
            let (amount, unit_price_cents) = match (amount, unit_price) {
                (Some(a), Some(u)) => (a, u),
                (Some(a), None) if quantity != 0.0 => {
                    (a, ((a + discount) as f64 / quantity).round() as i64)
                }
                (Some(a), None) => (a, a + discount),
                (None, Some(u)) => (checkout::gross_cents(quantity, u) - discount, u),
                (None, None) => {
                    let col = if fields.has("amount") {
                        "amount"
                    } else {
                        "unit_price"
                    };
                    self.reject(&file, line, &fields.col(col), "the line has no amount")?;
                    continue;
                }
            };
            let pref = self.prefixed(opts, fields.eval("product_ref", &rec));
            let line_name = fields.eval("product_name", &rec);
            let (product, description): (Option<Arc<str>>, Arc<str>) = if pref.is_empty() {
                if line_name.is_empty() {
                    self.reject(
                        &file,
                        line,
                        &fields.col("product_ref"),
                        "the line names no product (no product reference or name)",
                    )?;
                    continue;
                }
                (None, line_name.chars().take(120).collect::<String>().into())
            } else {
                let p = match self.product(&pref) {
                    Some(p) => p.clone(),
                    None => {
                        let np = self.placeholder_product(
                            &pref,
                            &line_name,
                            &fields.eval("product_department", &rec),
                            &fields.eval("product_category", &rec),
                        );
                        let p = np.prod.clone();
                        batch.products.push(np);
                        p
                    }
                };
                let d = if line_name.is_empty() || *line_name == *p.name {
                    p.name.clone()
                } else {
                    line_name.chars().take(120).collect::<String>().into()
                };
                (Some(p.id_str.clone()), d)
            };
            // The customer and payment come from the sale's first line.
            if batch.sales[slot].lines.is_empty() && batch.sales[slot].append_from.is_none() {
                let cref = self
                    .prefixed(opts, fields.eval("customer_ref", &rec))
                    .into_owned();
                if !cref.is_empty() {
                    let id = match self.customer_id(&cref) {
                        Some(id) => id,
                        None => {
                            let c =
                                self.placeholder_customer(&cref, placeholder, &rec, &file, line)?;
                            let id = c.row.id;
                            batch.customers.push(c);
                            id
                        }
                    };
                    batch.sales[slot].customer = Some(id);
                }
                batch.sales[slot].payment = payment(&fields.eval("payment_method", &rec));
                batch.sales[slot].completed_at = time;
            }
            let sale = &mut batch.sales[slot];
            if time < sale.completed_at {
                sale.completed_at = time;
            }
            sale.lines.push(Line {
                product,
                description,
                quantity,
                unit_price_cents,
                discount_cents: discount,
                amount_cents: amount,
            });
            batch.lines += 1;
            self.imported(1);
        }
        self.flush_sales(&mut batch, writer)
    }

    /// Where the lines of sale `key` go: None when the sale was imported
    /// before (its lines are skipped), else its slot in the batch.
    fn open_sale(&mut self, batch: &mut SalesBatch, key: &str) -> Option<usize> {
        if let Some(&i) = batch.index.get(key) {
            return Some(i);
        }
        let seen = self.maps.sales.as_ref().and_then(|m| m.get(key)).copied();
        let (id, append_from) = match seen {
            Some(SaleSeen::Before) => return None,
            Some(SaleSeen::ThisRun { id, next_pos }) => (id, Some(next_pos)),
            None => (SaleId::new(), None),
        };
        batch.sales.push(PendingSale {
            key: key.to_string(),
            id,
            customer: None,
            completed_at: DateTime::<Utc>::MAX_UTC,
            payment: "other",
            lines: Vec::new(),
            append_from,
        });
        batch.index.insert(key.to_string(), batch.sales.len() - 1);
        Some(batch.sales.len() - 1)
    }

    fn flush_sales(
        &mut self,
        batch: &mut SalesBatch,
        writer: Option<&SyncSender<SalesBatch>>,
    ) -> Result<()> {
        let b = std::mem::take(batch);
        let written = b
            .sales
            .iter()
            .filter(|s| !s.lines.is_empty() && s.append_from.is_none())
            .count();
        self.report.sales_created += written as u64;
        self.report.lines_imported += b.lines as u64;
        let sales = self.maps.sales.get_or_insert_with(FxMap::default);
        for s in &b.sales {
            if !s.lines.is_empty() {
                let next_pos = s.append_from.unwrap_or(0) + s.lines.len() as u32;
                sales.insert(s.key.clone(), SaleSeen::ThisRun { id: s.id, next_pos });
            }
        }
        match writer {
            Some(tx) => tx
                .send(b)
                .map_err(|_| Error::invalid("import", "the writer stopped; see the error it gave")),
            None => {
                if self.dry {
                    return Ok(());
                }
                let (now, source, device) =
                    (self.now.clone(), self.profile.clone(), self.device.clone());
                write_sales_batch(self.store_mut(), &b, &now, &source, &device)
            }
        }
    }
}

/// Writes one batch of sales (with the customers and products it created)
/// in one transaction.
fn write_sales_batch(
    store: &mut Store,
    b: &SalesBatch,
    now: &str,
    source: &str,
    device: &str,
) -> Result<()> {
    let tx = store.write()?;
    insert_customers(&tx, &b.customers, now, source)?;
    insert_products(&tx, &b.products, now)?;
    insert_sales(&tx, &b.sales, device)?;
    tx.commit()?;
    Ok(())
}

impl Drop for Run<'_> {
    /// Gives the connection its own cache size back, however the run ended.
    fn drop(&mut self) {
        if let Some(store) = self.store.as_deref() {
            let _ = store
                .conn()
                .execute_batch(&format!("PRAGMA cache_size = {}", self.cache_size));
        }
    }
}

fn payment(s: &str) -> &'static str {
    let s = s.trim().to_ascii_lowercase();
    if s.contains("cash") {
        "cash"
    } else if s.contains("card")
        || s.contains("credit")
        || s.contains("debit")
        || s.contains("visa")
        || s.contains("mastercard")
    {
        "card"
    } else {
        "other"
    }
}

// ---- writes ---------------------------------------------------------------

pub(crate) fn insert_customers(
    tx: &Connection,
    batch: &[NewCust],
    now: &str,
    source: &str,
) -> Result<()> {
    for c in batch {
        Store::insert_customer(tx, &c.row)?;
        if let Some(card) = &c.card {
            Store::insert_card(tx, c.row.id, card, now)?;
        }
        insert_attributes(tx, c.row.id, &c.attrs, now, source)?;
    }
    Ok(())
}

fn insert_attributes(
    tx: &Connection,
    id: CustomerId,
    attrs: &[(String, String)],
    now: &str,
    source: &str,
) -> Result<()> {
    if attrs.is_empty() {
        return Ok(());
    }
    let mut st = tx.prepare_cached(
        "INSERT INTO customer_attributes(customer_id, name, value, source, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(customer_id, name) DO UPDATE SET value = excluded.value,
             source = excluded.source, updated_at = excluded.updated_at",
    )?;
    for (k, v) in attrs {
        st.execute(params![id, k, v, source, now])?;
    }
    let map: std::collections::BTreeMap<&str, &str> = attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    record_change(
        tx,
        "customer_attributes",
        &id.to_string(),
        "import",
        &serde_json::json!({ "customer_id": id, "source": source, "attributes": map }),
        now,
    )
}

pub(crate) fn insert_products(tx: &Connection, batch: &[NewProd], now: &str) -> Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO products(id, external_ref, barcode, name, department, category, price_cents, considered, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
    )?;
    for p in batch {
        st.execute(params![
            &*p.prod.id_str,
            p.external_ref,
            p.barcode,
            &*p.prod.name,
            p.department,
            p.category,
            p.price_cents,
            now
        ])?;
        record_change(
            tx,
            "product",
            &p.prod.id_str,
            "import",
            &crate::model::Product {
                id: p.prod.id,
                external_ref: p.external_ref.clone(),
                barcode: p.barcode.clone(),
                name: p.prod.name.to_string(),
                department: p.department.clone(),
                category: p.category.clone(),
                price_cents: p.price_cents,
                considered: false,
            },
            now,
        )?;
    }
    Ok(())
}

/// The outbox payload of an imported sale: the sale with its lines, as
/// another till needs it to insert the same rows.
#[derive(Serialize)]
struct SaleImport<'a> {
    id: &'a str,
    external_ref: &'a str,
    customer_id: Option<CustomerId>,
    device_id: &'a str,
    completed_at: &'a str,
    total_cents: i64,
    payment_method: &'a str,
    first_position: u32,
    lines: Vec<LineImport<'a>>,
}

/// A line in the outbox, compact: a history import ships millions of
/// them. Positions are implicit (from `first_position`, in order); the
/// description is left out when the product (shipped as its own change)
/// names it.
#[derive(Serialize)]
struct LineImport<'a> {
    #[serde(rename = "p", skip_serializing_if = "Option::is_none")]
    product_id: Option<&'a str>,
    #[serde(rename = "d", skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "q")]
    quantity: f64,
    #[serde(rename = "u")]
    unit_price_cents: i64,
    #[serde(rename = "x", skip_serializing_if = "is_zero")]
    discount_cents: i64,
    #[serde(rename = "a")]
    amount_cents: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn insert_sales(tx: &Connection, sales: &[PendingSale], device: &str) -> Result<()> {
    let mut ins_sale = tx.prepare_cached(
        "INSERT INTO sales(id, external_ref, customer_id, device_id, completed_at, total_cents, payment_method)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut add_to_sale = tx.prepare_cached(
        "UPDATE sales SET total_cents = total_cents + ?2, completed_at = min(completed_at, ?3) WHERE id = ?1",
    )?;
    let mut ins_line = tx.prepare_cached(
        "INSERT INTO sale_lines(sale_id, position, product_id, description, quantity,
            unit_price_cents, discount_cents, amount_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for s in sales {
        if s.lines.is_empty() {
            continue;
        }
        let id = s.id.to_string();
        let at = iso(s.completed_at);
        let total: i64 = s.lines.iter().map(|l| l.amount_cents).sum();
        match s.append_from {
            None => {
                ins_sale.execute(params![id, s.key, s.customer, device, at, total, s.payment])?;
            }
            Some(_) => {
                add_to_sale.execute(params![id, total, at])?;
            }
        }
        let first = s.append_from.unwrap_or(0);
        let mut lines = Vec::with_capacity(s.lines.len());
        for (i, l) in s.lines.iter().enumerate() {
            let position = first + i as u32;
            ins_line.execute(params![
                id,
                position,
                l.product.as_deref(),
                &*l.description,
                l.quantity,
                l.unit_price_cents,
                l.discount_cents,
                l.amount_cents
            ])?;
            lines.push(LineImport {
                product_id: l.product.as_deref(),
                description: l.product.is_none().then_some(&*l.description),
                quantity: l.quantity,
                unit_price_cents: l.unit_price_cents,
                discount_cents: l.discount_cents,
                amount_cents: l.amount_cents,
            });
        }
        record_change(
            tx,
            "sale",
            &id,
            if s.append_from.is_none() {
                "import"
            } else {
                "import_lines"
            },
            &SaleImport {
                id: &id,
                external_ref: &s.key,
                customer_id: s.customer,
                device_id: device,
                completed_at: &at,
                total_cents: total,
                payment_method: s.payment,
                first_position: first,
                lines,
            },
            &at,
        )?;
    }
    Ok(())
}

/// Formats a bare date for the store.
pub(crate) fn date_str(formats: &mut Formats, raw: &str) -> Option<String> {
    formats
        .date(raw)
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}
