//! [`Regulars`]: the one object the app and the CLI talk to. It pairs the
//! store with the in-memory search index and keeps the two consistent: every
//! write that changes what search sees re-indexes that customer.
//!
//! Owns: orchestration of a use case (validate, write, re-index, read back).
//! Does not own: SQL (the store), ranking (search), presentation.
//!
//! The use cases that write log one event each (ids, counts, durations) and
//! failures by error code; see [`crate::logging`] for what is never logged.

use std::path::Path;
use std::time::Instant;

use crate::card::CardNumber;
use crate::checkout::{self, Code};
use crate::ids::{CustomerId, HouseholdId, MergeId, NoteId, ProductId, SaleId};
use crate::model::{
    CampaignDraft, CampaignInfo, CampaignMatch, CampaignPreview, CustomerEdit, DuplicateCandidate,
    DuplicatePair, FoundCustomer, Household, MergeReceipt, NewCustomer, NewNote, Note, NoteEdit,
    PaymentMethod, Product, ProductDraft, Profile, Sale, SaleDraft, ScanResult, StoreInfo, Viewer,
};
use crate::search::{SearchDoc, SearchIndex};
use crate::store::{now_iso, Store};
use crate::{Error, Result};

mod owner;
mod shop;
mod sync;
pub use shop::validate as validate_store_settings;
mod protect;
pub use protect::DEFAULT_BACKUPS_KEPT;

/// Most results a search returns, whatever the caller asks.
pub const MAX_RESULTS: usize = 50;

/// A suggestions engine built off the till's lock, with the store's change
/// mark when its build began (see [`Regulars::build_suggestions`]).
#[derive(Debug)]
pub struct PreparedSuggestions {
    engine: crate::suggest::engine::Engine,
    mark: i64,
}

#[derive(Debug)]
pub struct Regulars {
    store: Store,
    index: SearchIndex,
    /// The suggestions engine, built on first use and kept current by sales.
    suggest: Option<crate::suggest::engine::Engine>,
    /// Visits kept for the owner's review (see `review::Cache`).
    pub(crate) review_cache: crate::review::Cache,
    /// Argon2 cost for new PIN hashes (tests use a cheap one).
    pin_cost: crate::staff::PinCost,
}

impl Regulars {
    /// Opens the store at `path` and builds the search index from it.
    pub fn open(path: &Path) -> Result<Self> {
        let t = Instant::now();
        let r = Store::open(path).and_then(Self::with_store);
        match &r {
            Ok(r) => tracing::info!(
                customers = r.index.len(),
                ms = t.elapsed().as_millis() as u64,
                "store opened"
            ),
            Err(e) => crate::logging::log_error("open", e),
        }
        r
    }

    /// Opens the store without building the search index: for background
    /// jobs on their own connection (the daily backup) that never search,
    /// so they cost nothing to start and never hold up the till's connection.
    pub fn open_for_maintenance(path: &Path) -> Result<Self> {
        Ok(Self::without_index(Store::open(path)?))
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::with_store(Store::open_in_memory()?)
    }

    fn with_store(store: Store) -> Result<Self> {
        let mut r = Self::without_index(store);
        r.rebuild_index()?;
        Ok(r)
    }

    /// The store with an empty search index and nothing built yet.
    fn without_index(store: Store) -> Self {
        Regulars {
            store,
            index: SearchIndex::new(),
            suggest: None,
            review_cache: Default::default(),
            pin_cost: crate::staff::PinCost::DEFAULT,
        }
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
        let t = Instant::now();
        let hits = self.index.search(query, now, limit);
        // The length of the query, never its text.
        tracing::debug!(
            query_chars = query.chars().count(),
            hits = hits.len(),
            us = t.elapsed().as_micros() as u64,
            "search"
        );
        hits.into_iter()
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
        let r = CardNumber::parse(raw)
            .and_then(|card| self.store.card_holder(&card))
            .and_then(|id| self.store.profile(id, Viewer::Staff));
        // The card number is not logged: it identifies a person.
        if let Err(e) = &r {
            crate::logging::log_error("lookup_card", e);
        }
        r
    }

    /// The till's view of a customer (what any cashier may see).
    pub fn profile(&self, id: CustomerId) -> Result<Profile> {
        self.store.profile(id, Viewer::Staff)
    }

    /// A customer as `viewer` may see them: the owner also sees owner-only
    /// and expired notes.
    pub fn profile_for(&self, id: CustomerId, viewer: Viewer) -> Result<Profile> {
        self.store.profile(id, viewer)
    }

    pub fn add_note(&mut self, id: CustomerId, note: &NewNote) -> Result<Note> {
        let r = self.store.add_note(id, note);
        match &r {
            Ok(n) => {
                tracing::info!(note = %n.id, customer = %id, chars = n.body.chars().count(), "note added")
            }
            Err(e) => crate::logging::log_error("add_note", e),
        }
        r
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
        let r = self.enrol_inner(draft);
        match &r {
            Ok(p) => tracing::info!(customer = %p.summary.id, "customer enrolled"),
            Err(e) => crate::logging::log_error("enrol", e),
        }
        r
    }

    fn enrol_inner(&mut self, draft: &NewCustomer) -> Result<Profile> {
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
        self.store.profile(row.id, Viewer::Staff)
    }

    /// Gives an existing customer a card (an unknown card scanned at the till).
    pub fn attach_card(&mut self, id: CustomerId, raw: &str) -> Result<Profile> {
        let r = (|| {
            let card = CardNumber::parse(raw)?;
            self.store.customer(id)?;
            let now = now_iso();
            let tx = self.store.write()?;
            Store::insert_card(&tx, id, &card, &now)?;
            tx.commit()?;
            self.store.profile(id, Viewer::Staff)
        })();
        match &r {
            // The card number is not logged: it identifies a person.
            Ok(_) => tracing::info!(customer = %id, "card attached"),
            Err(e) => crate::logging::log_error("attach_card", e),
        }
        r
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
            currency: self
                .store
                .setting(shop::CURRENCY_SETTING)?
                .unwrap_or_else(|| shop::DEFAULT_CURRENCY.into()),
            locale: self
                .store
                .setting(shop::LOCALE_SETTING)?
                .unwrap_or_else(|| shop::DEFAULT_LOCALE.into()),
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
        let r = self.scan_inner(raw);
        if let Err(e) = &r {
            crate::logging::log_error("scan", e);
        }
        r
    }

    fn scan_inner(&self, raw: &str) -> Result<ScanResult> {
        let code = checkout::classify(raw)?;
        let customer = |id: CustomerId| -> Result<ScanResult> {
            Ok(ScanResult::Customer {
                profile: Box::new(self.store.profile(id, Viewer::Staff)?),
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
        let p = self
            .store
            .save_product(id, draft)
            .inspect_err(|e| crate::logging::log_error("save_product", e))?;
        tracing::info!(product = %p.id, new = id.is_none(), "product saved");
        if let Some(e) = self.suggest.as_mut() {
            e.upsert_product(&p);
        }
        Ok(p)
    }

    /// Completes a sale and refreshes the customer's standing in search
    /// (one more visit, seen today), so regulars keep ranking first.
    pub fn complete_sale(&mut self, draft: &SaleDraft) -> Result<Sale> {
        let t = Instant::now();
        let sale = self
            .store
            .complete_sale(draft)
            .inspect_err(|e| crate::logging::log_error("complete_sale", e))?;
        tracing::info!(
            sale = %sale.id,
            customer = ?sale.customer_id.map(|c| c.to_string()),
            lines = sale.lines.len(),
            total_cents = sale.total_cents,
            points = sale.points_earned,
            ms = t.elapsed().as_millis() as u64,
            "sale completed"
        );
        self.refresh_activity(sale.customer_id)?;
        if let Some(e) = self.suggest.as_mut() {
            e.record_sale(&self.store, &sale)?;
        }
        Ok(sale)
    }

    pub fn attach_sale_customer(&mut self, sale: SaleId, customer: CustomerId) -> Result<Sale> {
        let sale = self
            .store
            .attach_sale_customer(sale, customer)
            .inspect_err(|e| crate::logging::log_error("attach_sale_customer", e))?;
        tracing::info!(sale = %sale.id, customer = %customer, "customer attached to sale");
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
        let refund = self
            .store
            .refund_sale(sale, positions, payment)
            .inspect_err(|e| crate::logging::log_error("refund_sale", e))?;
        tracing::info!(
            refund = %refund.id,
            of = %sale,
            lines = refund.lines.len(),
            total_cents = refund.total_cents,
            "sale refunded"
        );
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

    /// Builds the suggestions engine on this instance's own connection, for
    /// a caller that holds no lock on the till's `Regulars` meanwhile (the
    /// app at start-up: the build reads every history, ~1-2 s on a big
    /// store, and the till must answer at once). Give the result to
    /// [`Regulars::install_suggestions`] on the till's instance.
    pub fn build_suggestions(&self) -> Result<PreparedSuggestions> {
        let mark = self.store.change_mark()?;
        let engine = crate::suggest::engine::Engine::build(
            &self.store,
            crate::suggest::rank::Params::default(),
            None,
        )?;
        Ok(PreparedSuggestions { engine, mark })
    }

    /// Installs an engine built elsewhere, unless this store changed since
    /// its build began (a sale rung up meanwhile would be missing from it;
    /// the first suggestion then builds a fresh one). True when installed.
    pub fn install_suggestions(&mut self, prepared: PreparedSuggestions) -> Result<bool> {
        if self.suggest.is_some() || self.store.change_mark()? != prepared.mark {
            return Ok(false);
        }
        self.suggest = Some(prepared.engine);
        Ok(true)
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
        self.import_with(files, mapping, &opts, progress, cancel)
    }

    /// [`Self::import_files`] with explicit options (batch size, report
    /// file): for tests and the crash stress, which need small batches.
    pub fn import_with(
        &mut self,
        files: &[std::path::PathBuf],
        mapping: &str,
        opts: &crate::import::ImportOptions,
        progress: &mut dyn FnMut(&crate::import::Progress),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<crate::import::ImportReport> {
        let r = self.import_inner(files, mapping, opts, progress, cancel);
        match &r {
            // Counts only: file names may name people ("jane-smith.csv").
            Ok(rep) => tracing::info!(
                files = files.len(),
                mapping = if mapping == "completejourney"
                    || crate::import::BUILTIN.iter().any(|(n, _)| *n == mapping)
                {
                    mapping
                } else {
                    "custom"
                },
                rows = rep.rows,
                imported = rep.imported,
                skipped = rep.skipped_existing,
                rejected = rep.rejected,
                cancelled = rep.cancelled,
                dry_run = rep.dry_run,
                seconds = rep.seconds,
                "import finished"
            ),
            Err(e) => crate::logging::log_error("import", e),
        }
        r
    }

    fn import_inner(
        &mut self,
        files: &[std::path::PathBuf],
        mapping: &str,
        opts: &crate::import::ImportOptions,
        progress: &mut dyn FnMut(&crate::import::Progress),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<crate::import::ImportReport> {
        use crate::import;
        let dry_run = opts.dry_run;
        let report = if mapping == "completejourney" {
            let dir = files.first().cloned().unwrap_or_default();
            import::complete_journey(self.store_mut(), &dir, opts, progress, cancel)?
        } else {
            let m = import::Mapping::load(mapping)?;
            import::with_mapping(self.store_mut(), &m, files, opts, progress, cancel)?
        };
        if !dry_run {
            self.rebuild_index()?;
        }
        Ok(report)
    }

    /// What "copy diagnostics" copies: versions, store health and size,
    /// row counts, the outbox backlog, settings that are not secret and the
    /// last log lines from `log_dir` (the folder given to
    /// [`crate::logging::init_logging`]). Nothing personal; `.text` is the
    /// clipboard form. Reads the whole file once (`PRAGMA quick_check`):
    /// ~2.5 s on a 530 MB store, so call it off the UI thread.
    pub fn diagnostics(&self, log_dir: Option<&Path>) -> Result<crate::model::Diagnostics> {
        let t = Instant::now();
        let d = crate::diagnostics::gather(&self.store, log_dir);
        match &d {
            Ok(_) => tracing::info!(ms = t.elapsed().as_millis() as u64, "diagnostics gathered"),
            Err(e) => crate::logging::log_error("diagnostics", e),
        }
        d
    }

    /// Saves the customer edit form (same rules as enrolment); only changed
    /// fields are recorded for sync. Search sees the new name at once.
    pub fn update_customer(&mut self, id: CustomerId, edit: &CustomerEdit) -> Result<Profile> {
        let changed = self
            .store
            .update_customer(id, edit)
            .inspect_err(|e| crate::logging::log_error("update_customer", e))?;
        tracing::info!(customer = %id, fields = changed.len(), "customer updated");
        if !changed.is_empty() {
            self.index.upsert(self.store.search_doc(id)?);
        }
        self.store.profile(id, Viewer::Owner)
    }

    /// A new household, with these customers in it (moved from any other).
    pub fn create_household(&mut self, name: &str, members: &[CustomerId]) -> Result<Household> {
        for m in members {
            self.store.customer(*m)?;
        }
        let id = self.store.create_household(name)?;
        for m in members {
            self.store.set_household(*m, Some(id))?;
        }
        self.store.household(id)
    }

    pub fn rename_household(&mut self, id: HouseholdId, name: &str) -> Result<Household> {
        self.store.rename_household(id, name)?;
        self.store.household(id)
    }

    /// Adds a customer to a household (`Some`, moving them out of any
    /// other) or takes them out (`None`). Returns the customer's profile.
    pub fn set_household(
        &mut self,
        customer: CustomerId,
        household: Option<HouseholdId>,
    ) -> Result<Profile> {
        self.store
            .set_household(customer, household)
            .inspect_err(|e| crate::logging::log_error("set_household", e))?;
        tracing::info!(customer = %customer, household = ?household.map(|h| h.to_string()), "household set");
        self.store.profile(customer, Viewer::Owner)
    }

    pub fn household(&self, id: HouseholdId) -> Result<Household> {
        self.store.household(id)
    }

    /// The owner edits a note's text, visibility, follow-up or expiry.
    pub fn edit_note(&mut self, id: NoteId, edit: &NoteEdit) -> Result<Note> {
        let n = self
            .store
            .edit_note(id, edit)
            .inspect_err(|e| crate::logging::log_error("edit_note", e))?;
        tracing::info!(note = %id, "note edited");
        Ok(n)
    }

    /// The owner retires a note: nobody sees it any more.
    pub fn retire_note(&mut self, id: NoteId) -> Result<()> {
        self.store
            .retire_note(id)
            .inspect_err(|e| crate::logging::log_error("retire_note", e))?;
        tracing::info!(note = %id, "note retired");
        Ok(())
    }

    /// Pairs of customers who may be one person, best evidence first, each
    /// side with what the owner needs to compare them. Dismissed pairs
    /// never come back.
    pub fn duplicate_pairs(&self, limit: usize) -> Result<Vec<DuplicatePair>> {
        let records = self.store.dup_records()?;
        let dismissed = self.store.dismissed_pairs()?;
        crate::manage::duplicates::rank_pairs(&records, &dismissed, limit.clamp(1, 10_000))
            .into_iter()
            .map(|p| {
                Ok(DuplicatePair {
                    a: self.store.duplicate_side(records[p.a].id)?,
                    b: self.store.duplicate_side(records[p.b].id)?,
                    score: p.score,
                    evidence: p.evidence,
                })
            })
            .collect()
    }

    /// "Not the same person": the pair is not suggested again.
    pub fn dismiss_duplicate(&mut self, a: CustomerId, b: CustomerId) -> Result<()> {
        self.store.dismiss_pair(a, b)
    }

    /// Merges `merged` into `survivor` (everything moves; see
    /// `Store::merge_customers`). Search forgets the merged customer; the
    /// suggestion engine rebuilds on next use.
    pub fn merge_customers(
        &mut self,
        session: &crate::model::Session,
        survivor: CustomerId,
        merged: CustomerId,
    ) -> Result<MergeReceipt> {
        session.require_owner("merge customers")?;
        let receipt = self
            .store
            .merge_customers(survivor, merged, Some(session.staff_id()))
            .inspect_err(|e| crate::logging::log_error("merge_customers", e))?;
        tracing::info!(survivor = %survivor, merged = %merged, "customers merged");
        self.index.remove(merged);
        self.index.upsert(self.store.search_doc(survivor)?);
        self.suggest = None;
        Ok(receipt)
    }

    /// Undoes a merge exactly, or refuses (nothing changed) when the rows
    /// it moved changed since. Returns the restored customer's profile.
    pub fn undo_merge(
        &mut self,
        session: &crate::model::Session,
        merge: MergeId,
    ) -> Result<Profile> {
        session.require_owner("undo a merge")?;
        let (survivor, merged) = self
            .store
            .undo_merge(merge, Some(session.staff_id()))
            .inspect_err(|e| crate::logging::log_error("undo_merge", e))?;
        tracing::info!(merge = %merge, survivor = %survivor, merged = %merged, "merge undone");
        self.index.upsert(self.store.search_doc(survivor)?);
        self.index.upsert(self.store.search_doc(merged)?);
        self.suggest = None;
        self.store.profile(merged, Viewer::Owner)
    }

    /// Where a merged-away customer went (for late changes and old links).
    pub fn merged_into(&self, id: CustomerId) -> Result<Option<CustomerId>> {
        self.store.redirect(id)
    }

    /// The owner's offer campaigns (active and paused), newest first.
    pub fn list_campaigns(&self) -> Result<Vec<CampaignInfo>> {
        let conn = self.store.conn();
        let rows: Vec<(String, bool)> = conn
            .prepare("SELECT rule, active FROM offer_campaigns ORDER BY created_at DESC, id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (rule, active) in rows {
            // A rule this build cannot read is skipped, as the till skips it.
            let Ok(c) = serde_json::from_str::<crate::suggest::facts::Campaign>(&rule) else {
                continue;
            };
            let accepted_total: u32 = conn
                .prepare_cached(
                    "SELECT count(*) FROM offer_events WHERE offer_key = ?1 AND outcome = 'accepted'",
                )?
                .query_row([format!("campaign:{}", c.id)], |r| r.get(0))?;
            out.push(CampaignInfo {
                campaign: crate::manage::campaigns::to_draft(&c, active),
                accepted_total,
            });
        }
        Ok(out)
    }

    /// Saves the campaign form (validated into the typed rule once; a new
    /// one gets an id from its name). Returns it as stored.
    pub fn save_campaign(&mut self, draft: &CampaignDraft) -> Result<CampaignDraft> {
        let c = crate::manage::campaigns::validate(draft)?;
        crate::suggest::record::save_campaign(&mut self.store, &c, draft.active)?;
        Ok(crate::manage::campaigns::to_draft(&c, draft.active))
    }

    /// Who the campaign form would reach on `as_of` (default now), by the
    /// till's own rule: how many, and a sample with why each qualifies.
    pub fn preview_campaign(
        &mut self,
        draft: &CampaignDraft,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<CampaignPreview> {
        const SAMPLE: usize = 20;
        let c = crate::manage::campaigns::validate(draft)?;
        let now = as_of.unwrap_or_else(chrono::Utc::now);
        self.warm_suggestions()?;
        let e = self.suggest.as_ref().expect("warmed");
        let (reach, considered, without_consent) = e.campaign_reach(&self.store, &c, now)?;
        let sample = reach
            .iter()
            .take(SAMPLE)
            .map(|(id, reason)| {
                Ok(CampaignMatch {
                    customer: self.store.summary(*id)?,
                    reason: reason.clone(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(CampaignPreview {
            count: reach.len() as u32,
            considered,
            without_consent,
            sample,
            as_of: crate::store::iso(now),
        })
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
