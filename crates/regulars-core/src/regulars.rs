//! [`Regulars`]: the one object the app and the CLI talk to. It pairs the
//! store with the in-memory search index and keeps the two consistent: every
//! write that changes what search sees re-indexes that customer.
//!
//! Owns: orchestration of a use case (validate, write, re-index, read back).
//! Does not own: SQL (the store), ranking (search), presentation.

use std::path::Path;

use crate::card::CardNumber;
use crate::checkout::{self, Code};
use crate::ids::{CustomerId, ProductId, SaleId};
use crate::model::{
    DuplicateCandidate, FoundCustomer, NewCustomer, NewNote, Note, PaymentMethod, Product,
    ProductDraft, Profile, Sale, SaleDraft, ScanResult, StoreInfo,
};
use crate::search::{SearchDoc, SearchIndex};
use crate::store::{now_iso, Store};
use crate::{Error, Result};

/// Most results a search returns, whatever the caller asks.
pub const MAX_RESULTS: usize = 50;

#[derive(Debug)]
pub struct Regulars {
    store: Store,
    index: SearchIndex,
    /// The suggestions engine, built on first use and kept current by sales.
    suggest: Option<crate::suggest::engine::Engine>,
}

impl Regulars {
    /// Opens the store at `path` and builds the search index from it.
    pub fn open(path: &Path) -> Result<Self> {
        Self::with_store(Store::open(path)?)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::with_store(Store::open_in_memory()?)
    }

    fn with_store(store: Store) -> Result<Self> {
        let mut r = Regulars {
            store,
            index: SearchIndex::new(),
            suggest: None,
        };
        r.rebuild_index()?;
        Ok(r)
    }

    /// Rebuilds the whole index (after a bulk import or demo generation).
    pub fn rebuild_index(&mut self) -> Result<()> {
        let mut index = SearchIndex::new();
        for doc in self.store.search_docs()? {
            index.upsert(doc);
        }
        self.index = index;
        // A bulk change (import, demo): the engine rebuilds on next use.
        self.suggest = None;
        Ok(())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// Search as you type: name (typos, nicknames, sound-alikes, initials),
    /// phone digits or email. Ranked; regulars first among equals.
    pub fn find(&self, query: &str, limit: usize) -> Result<Vec<FoundCustomer>> {
        let limit = limit.clamp(1, MAX_RESULTS);
        let now = chrono::Utc::now().timestamp();
        self.index
            .search(query, now, limit)
            .into_iter()
            .map(|hit| {
                Ok(FoundCustomer {
                    customer: self.store.summary(hit.id)?,
                    score: hit.score,
                    why: hit.why,
                })
            })
            .collect()
    }

    /// What a card scan shows: the holder's profile.
    pub fn lookup_card(&self, raw: &str) -> Result<Profile> {
        let card = CardNumber::parse(raw)?;
        let id = self.store.card_holder(&card)?;
        self.store.profile(id)
    }

    pub fn profile(&self, id: CustomerId) -> Result<Profile> {
        self.store.profile(id)
    }

    pub fn add_note(&mut self, id: CustomerId, note: &NewNote) -> Result<Note> {
        self.store.add_note(id, note)
    }

    /// Customers who may already be the person being enrolled.
    pub fn check_duplicates(&self, draft: &NewCustomer) -> Result<Vec<DuplicateCandidate>> {
        // A half-typed form is normal here: check what is valid so far.
        let doc = SearchDoc {
            id: CustomerId::new(),
            given_name: draft.given_name.trim().to_string(),
            family_name: draft.family_name.trim().to_string(),
            preferred_name: draft.preferred_name.clone(),
            phones: draft.phones.clone(),
            email: draft.email.clone(),
            visits: 0,
            last_visit_unix: None,
        };
        let mut out = self
            .index
            .likely_duplicates(&doc, 5)
            .into_iter()
            .map(|(id, reasons)| {
                Ok(DuplicateCandidate {
                    customer: self.store.summary(id)?,
                    reasons,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(card) = draft
            .card
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .and_then(|c| CardNumber::parse(c).ok())
        {
            if let Ok(holder) = self.store.card_holder(&card) {
                if !out.iter().any(|d| d.customer.id == holder) {
                    out.insert(
                        0,
                        DuplicateCandidate {
                            customer: self.store.summary(holder)?,
                            reasons: vec![format!("already holds card {card}")],
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    /// Creates a customer and gives them a card (the one on the form, or the
    /// next store card), all in one transaction.
    pub fn enrol(&mut self, draft: &NewCustomer) -> Result<Profile> {
        let row = crate::store::customers_validate_new(draft)?;
        let card = match draft
            .card
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) => Some(CardNumber::parse(c)?),
            None => None,
        };
        let now = now_iso();
        let tx = self.store.write()?;
        Store::insert_customer(&tx, &row)?;
        let card = match card {
            Some(c) => c,
            None => Store::next_card(&tx)?,
        };
        Store::insert_card(&tx, row.id, &card, &now)?;
        tx.commit()?;
        self.index.upsert(self.store.search_doc(row.id)?);
        self.store.profile(row.id)
    }

    /// Gives an existing customer a card (an unknown card scanned at the till).
    pub fn attach_card(&mut self, id: CustomerId, raw: &str) -> Result<Profile> {
        let card = CardNumber::parse(raw)?;
        self.store.customer(id)?;
        let now = now_iso();
        let tx = self.store.write()?;
        Store::insert_card(&tx, id, &card, &now)?;
        tx.commit()?;
        self.store.profile(id)
    }

    pub fn info(&self) -> Result<StoreInfo> {
        let conn = self.store.conn();
        let count = |sql: &str| -> Result<u64> {
            Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
        };
        Ok(StoreInfo {
            name: self
                .store
                .setting("store_name")?
                .unwrap_or_else(|| "My shop".into()),
            path: self.store.path().display().to_string(),
            customers: count("SELECT count(*) FROM customers")?,
            sales: count("SELECT count(*) FROM sales")?,
            demo: self.store.setting("demo")?.as_deref() == Some("1"),
            pending_changes: self.store.pending_changes()?,
        })
    }

    /// Resolves a customer id or external reference typed on the CLI.
    pub fn resolve(&self, id_or_ref: &str) -> Result<CustomerId> {
        self.store.resolve_customer(id_or_ref)
    }

    /// An SVG barcode of a card, for printing.
    pub fn card_svg(&self, raw: &str) -> Result<String> {
        crate::barcode::card_svg(&CardNumber::parse(raw)?)
    }

    /// Whatever was scanned or typed at the till: a loyalty card opens the
    /// customer, a product code gives a line for the sale.
    pub fn scan(&self, raw: &str) -> Result<ScanResult> {
        let code = checkout::classify(raw)?;
        let customer = |id: CustomerId| -> Result<ScanResult> {
            Ok(ScanResult::Customer {
                profile: Box::new(self.store.profile(id)?),
            })
        };
        match &code {
            Code::Card(card) => customer(self.store.card_holder(card)?),
            Code::Either(s) => match self.store.card_holder(&CardNumber::parse(s)?) {
                Ok(id) => customer(id),
                Err(Error::UnknownCard { code: c }) => match self.store.product_line(&code)? {
                    Some(line) => Ok(ScanResult::Product { line }),
                    None => Err(Error::UnknownCard { code: c }),
                },
                Err(e) => Err(e),
            },
            Code::Product(s) | Code::Weighed { key: s, .. } => {
                if let Some(line) = self.store.product_line(&code)? {
                    return Ok(ScanResult::Product { line });
                }
                // Old systems printed cards with plain digit codes too.
                if let Ok(id) = CardNumber::parse(s).and_then(|c| self.store.card_holder(&c)) {
                    return customer(id);
                }
                Err(Error::NotFound {
                    what: "product with barcode",
                    key: s.clone(),
                })
            }
        }
    }

    pub fn find_products(&self, query: &str, limit: usize) -> Result<Vec<Product>> {
        self.store.find_products(query, limit)
    }

    pub fn save_product(&mut self, id: Option<ProductId>, draft: &ProductDraft) -> Result<Product> {
        let p = self.store.save_product(id, draft)?;
        if let Some(e) = self.suggest.as_mut() {
            e.upsert_product(&p);
        }
        Ok(p)
    }

    /// Completes a sale and refreshes the customer's standing in search
    /// (one more visit, seen today), so regulars keep ranking first.
    pub fn complete_sale(&mut self, draft: &SaleDraft) -> Result<Sale> {
        let sale = self.store.complete_sale(draft)?;
        self.refresh_activity(sale.customer_id)?;
        if let Some(e) = self.suggest.as_mut() {
            e.record_sale(&self.store, &sale)?;
        }
        Ok(sale)
    }

    pub fn attach_sale_customer(&mut self, sale: SaleId, customer: CustomerId) -> Result<Sale> {
        let sale = self.store.attach_sale_customer(sale, customer)?;
        self.refresh_activity(Some(customer))?;
        if let Some(e) = self.suggest.as_mut() {
            e.record_sale(&self.store, &sale)?;
        }
        Ok(sale)
    }

    pub fn refund_sale(
        &mut self,
        sale: SaleId,
        positions: &[u32],
        payment: PaymentMethod,
    ) -> Result<Sale> {
        let refund = self.store.refund_sale(sale, positions, payment)?;
        self.refresh_activity(refund.customer_id)?;
        Ok(refund)
    }

    pub fn recent_sales(&self, limit: usize) -> Result<Vec<Sale>> {
        self.store.recent_sales(limit)
    }

    pub fn receipt_html(&self, sale: SaleId) -> Result<String> {
        let name = self.info()?.name;
        Ok(crate::store::receipt_html(&name, &self.store.sale(sale)?))
    }

    fn refresh_activity(&mut self, customer: Option<CustomerId>) -> Result<()> {
        if let Some(c) = customer {
            let doc = self.store.search_doc(c)?;
            self.index.set_activity(c, doc.visits, doc.last_visit_unix);
        }
        Ok(())
    }

    /// Builds the suggestions engine now (else the first suggestion does).
    pub fn warm_suggestions(&mut self) -> Result<&crate::suggest::engine::Engine> {
        if self.suggest.is_none() {
            let e = crate::suggest::engine::Engine::build(
                &self.store,
                crate::suggest::rank::Params::default(),
                None,
            )?;
            self.suggest = Some(e);
        }
        Ok(self.suggest.as_ref().expect("built above"))
    }

    /// What to say and what to offer to `customer` now (or at `at`, using
    /// only history before it), with `basket` already rung up: at most three
    /// prompts and two offers, each with text, reason and priority.
    pub fn suggestions(
        &mut self,
        customer: CustomerId,
        basket: &[ProductId],
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<crate::model::Suggestions> {
        self.warm_suggestions()?;
        let e = self.suggest.as_ref().expect("warmed");
        e.suggestions(
            &self.store,
            customer,
            basket,
            at.unwrap_or_else(chrono::Utc::now),
        )
    }

    /// The cashier marked a prompt used or not relevant.
    pub fn prompt_feedback(
        &mut self,
        customer: CustomerId,
        key: &str,
        kind: crate::model::PromptKind,
        verdict: crate::model::PromptVerdict,
    ) -> Result<()> {
        crate::suggest::record::prompt_feedback(
            &mut self.store,
            customer,
            key,
            kind,
            verdict,
            chrono::Utc::now(),
        )
    }

    /// An offer was shown, accepted (on `sale`, if known) or declined. An
    /// accepted points reward spends its points (refused, and nothing
    /// recorded, when the balance this till knows is short). `event` is
    /// chosen by the till once per tap and sent again on every retry: a
    /// replay (double tap, retry after a timeout) records nothing new and
    /// never spends twice. The event and the spend commit together.
    pub fn offer_feedback(
        &mut self,
        event: crate::ids::OfferEventId,
        customer: CustomerId,
        key: &str,
        kind: crate::model::OfferKind,
        outcome: crate::model::OfferOutcome,
        sale: Option<SaleId>,
    ) -> Result<()> {
        self.store.customer(customer)?;
        let program =
            if outcome == crate::model::OfferOutcome::Accepted && key.starts_with("reward:") {
                Some(crate::loyalty::Program::load(&self.store)?)
            } else {
                None
            };
        let now = crate::store::iso(chrono::Utc::now());
        let tx = self.store.write()?;
        if let (Some(program), Some(id)) = (&program, key.strip_prefix("reward:")) {
            if let Some(r) = program.rewards.iter().find(|r| r.id == id) {
                // The ledger entry shares the event's id: idempotent together.
                crate::loyalty::redeem_in(
                    &tx,
                    crate::ids::PointsEntryId::from_uuid(event.as_uuid()),
                    customer,
                    r.points,
                    &format!("reward: {}", r.name),
                )?;
            }
        }
        crate::suggest::record::offer_event_in(
            &tx, event, customer, key, kind, outcome, sale, &now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Imports history files through `mapping` (a built-in profile name or
    /// a TOML mapping file; "completejourney" takes the data set's folder as
    /// the one path). Rejected rows go to a CSV report in `import-reports/`
    /// beside the store, named in the result. Search sees the imported
    /// customers as soon as this returns.
    pub fn import_files(
        &mut self,
        files: &[std::path::PathBuf],
        mapping: &str,
        dry_run: bool,
        progress: &mut dyn FnMut(&crate::import::Progress),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<crate::import::ImportReport> {
        use crate::import;
        let reports = self
            .store
            .path()
            .parent()
            .map(|d| d.join("import-reports"))
            .unwrap_or_else(|| "import-reports".into());
        std::fs::create_dir_all(&reports).map_err(|source| Error::Io {
            path: reports.display().to_string(),
            source,
        })?;
        let stamp: String = now_iso().chars().filter(char::is_ascii_digit).collect();
        let opts = import::ImportOptions {
            dry_run,
            error_report: Some(reports.join(format!("errors-{stamp}.csv"))),
            ..Default::default()
        };
        let report = if mapping == "completejourney" {
            let dir = files.first().cloned().unwrap_or_default();
            import::complete_journey(self.store_mut(), &dir, &opts, progress, cancel)?
        } else {
            let m = import::Mapping::load(mapping)?;
            import::with_mapping(self.store_mut(), &m, files, &opts, progress, cancel)?
        };
        if !dry_run {
            self.rebuild_index()?;
        }
        Ok(report)
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.info()?.customers == 0)
    }
}

impl From<Error> for crate::model::ApiError {
    fn from(e: Error) -> Self {
        (&e).into()
    }
}
