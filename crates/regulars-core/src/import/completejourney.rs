//! The Complete Journey profile (dunnhumby's grocer loyalty data set): a
//! folder of gzipped CSV files. Products, transactions and demographics go
//! through the built-in `completejourney` mapping; the campaign files
//! (campaign_descriptions, campaigns, coupons, coupon_redemptions) have no
//! counterpart in a till's own data and are read here into the campaign
//! tables, for later offer logic.
//!
//! Households have no names. Each becomes a customer "Household #<id>"
//! whose `external_ref` is the household_id (so `regulars customer 1234`
//! finds it) and who holds the legacy card `CJ-<id>` (so a scan finds it).
//!
//! Owns: the file list of the data set and the campaign files.
//! Does not own: batching, maps and writes (the engine).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::engine::{insert_customers, insert_products, NewCust, NewProd, Placeholder, Run};
use super::mapping::{Kind, Mapping};
use super::source::{Delimiter, Source};
use super::values::Formats;
use super::{ImportOptions, ImportReport, Progress};
use crate::ids::{CustomerId, ProductId};
use crate::store::{record_change, Store};
use crate::{Error, Result};

/// Households' legacy loyalty cards are `CJ-<household_id>`.
pub const CJ_CARD_PREFIX: &str = "CJ-";

const PROFILE: &str = "completejourney";

/// Imports the Complete Journey folder `dir`. transactions and products are
/// required; the other files are read when present (a note says which were
/// not there).
pub fn complete_journey(
    store: &mut Store,
    dir: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<ImportReport> {
    let find = |stem: &str| -> Option<PathBuf> {
        [format!("{stem}.csv.gz"), format!("{stem}.csv")]
            .into_iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    };
    let mut notes = Vec::new();
    let mut need = |stem: &str, required: bool| -> Result<Option<PathBuf>> {
        match find(stem) {
            Some(p) => Ok(Some(p)),
            None if required => Err(Error::Import {
                file: dir.display().to_string(),
                line: 0,
                reason: format!(
                    "there is no {stem}.csv.gz (or {stem}.csv) here; point at the folder that holds \
                     the Complete Journey files (transactions, products, demographics, campaigns...)"
                ),
            }),
            None => {
                notes.push(format!("{stem}.csv.gz is not in {}; skipped", dir.display()));
                Ok(None)
            }
        }
    };
    let products = need("products", true)?;
    let transactions = need("transactions", true)?;
    let demographics = need("demographics", false)?;
    let descriptions = need("campaign_descriptions", false)?;
    let campaigns = need("campaigns", false)?;
    let coupons = need("coupons", false)?;
    let redemptions = need("coupon_redemptions", false)?;

    let mapped: Vec<PathBuf> = [products, transactions, demographics]
        .into_iter()
        .flatten()
        .collect();
    let extra: Vec<PathBuf> = [
        descriptions.clone(),
        campaigns.clone(),
        coupons.clone(),
        redemptions.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let all: Vec<PathBuf> = mapped.iter().chain(extra.iter()).cloned().collect();
    let mapping = Mapping::builtin(PROFILE);
    let mut run = Run::new(store, opts, progress, cancel, PROFILE, &all)?;
    run.report.notes.extend(notes);
    run.mapping_files(&mapping, &mapped)?;

    let sales = mapping
        .sections
        .iter()
        .find(|s| s.kind == Kind::Sales)
        .expect("the completejourney profile has a sales section");
    let header = vec!["household_id".to_string()];
    let bind = |f: &str| sales.field(f).map(|t| t.bind(&header).0);
    let household = Placeholder {
        given: bind("customer_given_name"),
        family: bind("customer_family_name"),
        card: bind("customer_card"),
    };
    let mut formats = mapping.options.formats.clone();
    let mut cj = Extras::load(&run, household)?;
    for (path, kind) in [
        (descriptions, ExtraKind::Descriptions),
        (campaigns, ExtraKind::Members),
        (coupons, ExtraKind::Coupons),
        (redemptions, ExtraKind::Redemptions),
    ] {
        let Some(path) = path else { continue };
        if run.cancelled() {
            break;
        }
        let mut src = Source::open(&path, Delimiter::Char(b','))?;
        cj.file(&mut run, &mut src, kind, &mut formats)?;
        run.end_file(&src);
    }
    run.finish()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExtraKind {
    Descriptions,
    Members,
    Coupons,
    Redemptions,
}

#[derive(Serialize, Clone)]
struct NewCampaign {
    id: String,
    external_ref: String,
    name: String,
    kind: Option<String>,
    starts_on: Option<String>,
    ends_on: Option<String>,
}

#[derive(Serialize)]
struct Member<'a> {
    campaign_id: &'a str,
    customer_id: CustomerId,
}

#[derive(Serialize)]
struct Coupon<'a> {
    campaign_id: &'a str,
    code: &'a str,
    product_id: ProductId,
}

#[derive(Serialize)]
struct Redemption<'a> {
    customer_id: CustomerId,
    campaign_id: &'a str,
    code: &'a str,
    redeemed_on: &'a str,
}

#[derive(Default)]
struct Batch {
    customers: Vec<NewCust>,
    products: Vec<NewProd>,
    campaigns: Vec<NewCampaign>,
    members: Vec<(String, CustomerId)>,
    coupons: Vec<(String, String, ProductId)>,
    redemptions: Vec<(CustomerId, String, String, String)>,
}

impl Batch {
    fn len(&self) -> usize {
        self.campaigns.len() + self.members.len() + self.coupons.len() + self.redemptions.len()
    }
}

/// The campaign tables as the run knows them: what the store held before,
/// plus what this run added (so duplicate rows in a file count once).
struct Extras {
    household: Placeholder,
    campaigns: std::collections::HashMap<String, String>,
    members: HashSet<(String, CustomerId)>,
    coupons: HashSet<(String, String, ProductId)>,
    redemptions: HashSet<(CustomerId, String, String, String)>,
}

impl Extras {
    fn load(run: &Run<'_>, household: Placeholder) -> Result<Self> {
        let conn = run.store().conn();
        let campaigns = conn
            .prepare("SELECT external_ref, id FROM campaigns")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let members = conn
            .prepare("SELECT campaign_id, customer_id FROM campaign_members")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let coupons = conn
            .prepare("SELECT campaign_id, code, product_id FROM coupons")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let redemptions = conn
            .prepare("SELECT customer_id, campaign_id, code, redeemed_on FROM coupon_redemptions")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Extras {
            household,
            campaigns,
            members,
            coupons,
            redemptions,
        })
    }

    fn file(
        &mut self,
        run: &mut Run<'_>,
        src: &mut Source,
        kind: ExtraKind,
        formats: &mut Formats,
    ) -> Result<()> {
        let (name, cols): (&str, &[&str]) = match kind {
            ExtraKind::Descriptions => (
                "campaigns",
                &["campaign_id", "campaign_type", "start_date", "end_date"],
            ),
            ExtraKind::Members => ("campaign members", &["campaign_id", "household_id"]),
            ExtraKind::Coupons => ("coupons", &["coupon_upc", "product_id", "campaign_id"]),
            ExtraKind::Redemptions => (
                "coupon redemptions",
                &[
                    "household_id",
                    "coupon_upc",
                    "campaign_id",
                    "redemption_date",
                ],
            ),
        };
        run.start_file(src, name);
        run.load_customers()?;
        run.load_products()?;
        let idx = src.require(cols)?;
        let file = src.name.clone();
        let mut batch = Batch::default();
        let mut rec = csv::StringRecord::new();
        while let Some(line) = src.next(&mut rec)? {
            run.row();
            let get = |i: usize| rec.get(idx[i]).unwrap_or("").trim();
            let empty = (0..cols.len())
                .find(|&i| get(i).is_empty() && !(kind == ExtraKind::Descriptions && i >= 1));
            if let Some(i) = empty {
                run.reject(&file, line, cols[i], "is empty")?;
                continue;
            }
            let new = match kind {
                ExtraKind::Descriptions => {
                    if self.campaigns.contains_key(get(0)) {
                        false
                    } else {
                        let mut date = |i: usize, run: &mut Run<'_>| -> Result<Option<String>> {
                            let raw = get(i);
                            if raw.is_empty() {
                                return Ok(None);
                            }
                            match super::engine::date_str(formats, raw) {
                                Some(d) => Ok(Some(d)),
                                None => {
                                    run.warn(
                                        &file,
                                        line,
                                        cols[i],
                                        format!(
                                            "'{raw}' is not a date like 2017-03-03; left empty"
                                        ),
                                    )?;
                                    Ok(None)
                                }
                            }
                        };
                        let c = NewCampaign {
                            id: uuid::Uuid::now_v7().to_string(),
                            external_ref: get(0).to_string(),
                            name: format!("Campaign {}", get(0)),
                            kind: Some(get(1).to_string()).filter(|s| !s.is_empty()),
                            starts_on: date(2, run)?,
                            ends_on: date(3, run)?,
                        };
                        self.campaigns.insert(c.external_ref.clone(), c.id.clone());
                        batch.campaigns.push(c);
                        true
                    }
                }
                ExtraKind::Members => {
                    let campaign = self.campaign(get(0), &mut batch);
                    let customer = self.customer(run, get(1), &mut batch, &file, line)?;
                    let key = (campaign, customer);
                    let new = self.members.insert(key.clone());
                    if new {
                        batch.members.push(key);
                    }
                    new
                }
                ExtraKind::Coupons => {
                    let campaign = self.campaign(get(2), &mut batch);
                    let product = match run.product(get(1)) {
                        Some(p) => p.id,
                        None => {
                            let p = run.placeholder_product(get(1), "", "", "");
                            let id = p.prod.id;
                            batch.products.push(p);
                            id
                        }
                    };
                    let key = (campaign, get(0).to_string(), product);
                    let new = self.coupons.insert(key.clone());
                    if new {
                        batch.coupons.push(key);
                    }
                    new
                }
                ExtraKind::Redemptions => {
                    let Some(date) = super::engine::date_str(formats, get(3)) else {
                        run.reject(
                            &file,
                            line,
                            cols[3],
                            format!("'{}' is not a date like 2017-03-03", get(3)),
                        )?;
                        continue;
                    };
                    let customer = self.customer(run, get(0), &mut batch, &file, line)?;
                    let campaign = self.campaign(get(2), &mut batch);
                    let key = (customer, campaign, get(1).to_string(), date);
                    let new = self.redemptions.insert(key.clone());
                    if new {
                        batch.redemptions.push(key);
                    }
                    new
                }
            };
            if new {
                run.imported(1);
                run.report.campaign_rows += 1;
            } else {
                run.skipped(1);
            }
            if batch.len() >= 25_000 {
                flush(run, &mut batch)?;
                run.tick(src);
                if run.cancelled() {
                    return Ok(());
                }
            }
        }
        flush(run, &mut batch)
    }

    /// The store id of campaign `key`, creating a bare one when the
    /// descriptions file did not list it.
    fn campaign(&mut self, key: &str, batch: &mut Batch) -> String {
        if let Some(id) = self.campaigns.get(key) {
            return id.clone();
        }
        let c = NewCampaign {
            id: uuid::Uuid::now_v7().to_string(),
            external_ref: key.to_string(),
            name: format!("Campaign {key}"),
            kind: None,
            starts_on: None,
            ends_on: None,
        };
        self.campaigns.insert(key.to_string(), c.id.clone());
        let id = c.id.clone();
        batch.campaigns.push(c);
        id
    }

    fn customer(
        &mut self,
        run: &mut Run<'_>,
        household: &str,
        batch: &mut Batch,
        file: &str,
        line: u64,
    ) -> Result<CustomerId> {
        if let Some(id) = run.customer_id(household) {
            return Ok(id);
        }
        let rec = csv::StringRecord::from(vec![household]);
        let c = run.placeholder_customer(household, &self.household, &rec, file, line)?;
        let id = c.row.id;
        batch.customers.push(c);
        Ok(id)
    }
}

fn flush(run: &mut Run<'_>, batch: &mut Batch) -> Result<()> {
    let now = run.now.clone();
    let run_id = run.run_id.clone();
    let b = std::mem::take(batch);
    run.write(|tx| write_batch(tx, &b, &now, &run_id))
}

/// Writes a batch. Campaigns get one outbox change each; members, coupons
/// and redemptions (many tiny rows that nobody edits at a till) travel as
/// one change per batch, keyed by the import run.
fn write_batch(tx: &Connection, b: &Batch, now: &str, run_id: &str) -> Result<()> {
    insert_customers(tx, &b.customers, now, PROFILE)?;
    insert_products(tx, &b.products, now)?;
    let mut st = tx.prepare_cached(
        "INSERT INTO campaigns(id, external_ref, name, kind, starts_on, ends_on, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for c in &b.campaigns {
        st.execute(params![
            c.id,
            c.external_ref,
            c.name,
            c.kind,
            c.starts_on,
            c.ends_on,
            PROFILE,
            now
        ])?;
        record_change(tx, "campaign", &c.id, "import", c, now)?;
    }
    if !b.members.is_empty() {
        let mut st = tx.prepare_cached(
            "INSERT INTO campaign_members(campaign_id, customer_id) VALUES (?1, ?2)",
        )?;
        for (c, m) in &b.members {
            st.execute(params![c, m])?;
        }
        let rows: Vec<Member> = b
            .members
            .iter()
            .map(|(c, m)| Member {
                campaign_id: c,
                customer_id: *m,
            })
            .collect();
        record_chunks(tx, "campaign_members", run_id, &rows, now)?;
    }
    if !b.coupons.is_empty() {
        let mut st = tx.prepare_cached(
            "INSERT INTO coupons(campaign_id, code, product_id) VALUES (?1, ?2, ?3)",
        )?;
        for (c, code, p) in &b.coupons {
            st.execute(params![c, code, p])?;
        }
        let rows: Vec<Coupon> = b
            .coupons
            .iter()
            .map(|(c, code, p)| Coupon {
                campaign_id: c,
                code,
                product_id: *p,
            })
            .collect();
        record_chunks(tx, "coupons", run_id, &rows, now)?;
    }
    if !b.redemptions.is_empty() {
        let mut st = tx.prepare_cached(
            "INSERT INTO coupon_redemptions(customer_id, campaign_id, code, redeemed_on) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (m, c, code, d) in &b.redemptions {
            st.execute(params![m, c, code, d])?;
        }
        let rows: Vec<Redemption> = b
            .redemptions
            .iter()
            .map(|(m, c, code, d)| Redemption {
                customer_id: *m,
                campaign_id: c,
                code,
                redeemed_on: d,
            })
            .collect();
        record_chunks(tx, "coupon_redemptions", run_id, &rows, now)?;
    }
    Ok(())
}

/// Rows per change for the bulk tables: a change stays far below the sync
/// payload limit (`regulars_sync::protocol::MAX_PAYLOAD_BYTES`).
const ROWS_PER_CHANGE: usize = 1_000;

fn record_chunks<T: serde::Serialize>(
    tx: &Connection,
    entity: &str,
    run_id: &str,
    rows: &[T],
    now: &str,
) -> Result<()> {
    for (i, chunk) in rows.chunks(ROWS_PER_CHANGE).enumerate() {
        record_change(
            tx,
            entity,
            &format!("{run_id}:{i}"),
            "import",
            &serde_json::json!({ "rows": chunk }),
            now,
        )?;
    }
    Ok(())
}
