//! The Regulars desktop shell. The only crate that knows Tauri.
//!
//! Owns: choosing the store file, opening it (with the demo shop on first
//! run), and one thin command per UI action: take the state, call one
//! function of [`regulars_core::Regulars`], map the error to
//! `{code, message}`. No business logic lives here.
//!
//! Store file: `--db PATH` or `REGULARS_DB`, else `regulars.db` in the app
//! data folder. A new, empty store gets the demo shop unless `--empty` is
//! given or `REGULARS_EMPTY=1` is set.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use regulars_core::ids::{CustomerId, ProductId, SaleId};
use regulars_core::import::{ImportReport, Progress};
use regulars_core::model::{
    ApiError, Diagnostics, DuplicateCandidate, FoundCustomer, NewCustomer, NewNote, Note,
    OfferKind, OfferOutcome, PaymentMethod, Product, ProductDraft, Profile, PromptKind,
    PromptVerdict, Sale, SaleDraft, ScanResult, StoreInfo, Suggestions,
};
use regulars_core::{demo, Regulars};
use tauri::Manager;

mod owner;
use owner::SessionState;
mod sync;
use sync::SyncState;

type Wake<'a> = tauri::State<'a, SyncState>;

/// Customers in the demo shop a first run creates.
const DEMO_CUSTOMERS: usize = 2_000;

/// The open store, or why it could not be opened (shown by the UI instead of
/// crashing, so a locked or damaged file gets a clear message).
struct AppState(Result<Mutex<Regulars>, ApiError>);

type CmdResult<T> = Result<T, ApiError>;

impl AppState {
    fn get(&self) -> CmdResult<MutexGuard<'_, Regulars>> {
        match &self.0 {
            // A panic while holding the lock cannot leave the store half
            // written (SQLite transactions roll back), so keep going.
            Ok(m) => Ok(m.lock().unwrap_or_else(|e| e.into_inner())),
            Err(e) => Err(e.clone()),
        }
    }
}

fn parse_id<T: std::str::FromStr<Err = regulars_core::Error>>(id: &str) -> CmdResult<T> {
    id.parse::<T>().map_err(ApiError::from)
}

#[tauri::command]
async fn store_info(state: tauri::State<'_, AppState>) -> CmdResult<StoreInfo> {
    Ok(state.get()?.info()?)
}

#[tauri::command]
async fn find_customers(
    state: tauri::State<'_, AppState>,
    query: String,
    limit: usize,
) -> CmdResult<Vec<FoundCustomer>> {
    Ok(state.get()?.find(&query, limit)?)
}

#[tauri::command]
async fn lookup_card(state: tauri::State<'_, AppState>, code: String) -> CmdResult<Profile> {
    Ok(state.get()?.lookup_card(&code)?)
}

#[tauri::command]
async fn customer_profile(
    state: tauri::State<'_, AppState>,
    session: tauri::State<'_, SessionState>,
    id: String,
) -> CmdResult<Profile> {
    // The owner also sees owner-only notes (and expired ones, to tidy up).
    Ok(state
        .get()?
        .profile_for(parse_id::<CustomerId>(&id)?, session.viewer())?)
}

#[tauri::command]
async fn add_note(
    state: tauri::State<'_, AppState>,
    sync: Wake<'_>,
    customer_id: String,
    note: NewNote,
) -> CmdResult<Note> {
    let note = state
        .get()?
        .add_note(parse_id::<CustomerId>(&customer_id)?, &note)?;
    sync.changed();
    Ok(note)
}

#[tauri::command]
async fn check_duplicates(
    state: tauri::State<'_, AppState>,
    draft: NewCustomer,
) -> CmdResult<Vec<DuplicateCandidate>> {
    Ok(state.get()?.check_duplicates(&draft)?)
}

#[tauri::command]
async fn enrol_customer(
    state: tauri::State<'_, AppState>,
    sync: Wake<'_>,
    draft: NewCustomer,
) -> CmdResult<Profile> {
    let p = state.get()?.enrol(&draft)?;
    sync.changed();
    Ok(p)
}

#[tauri::command]
async fn attach_card(
    state: tauri::State<'_, AppState>,
    sync: Wake<'_>,
    customer_id: String,
    code: String,
) -> CmdResult<Profile> {
    let p = state
        .get()?
        .attach_card(parse_id::<CustomerId>(&customer_id)?, &code)?;
    sync.changed();
    Ok(p)
}

#[tauri::command]
async fn card_svg(state: tauri::State<'_, AppState>, code: String) -> CmdResult<String> {
    Ok(state.get()?.card_svg(&code)?)
}

#[tauri::command]
async fn scan_code(state: tauri::State<'_, AppState>, code: String) -> CmdResult<ScanResult> {
    Ok(state.get()?.scan(&code)?)
}

#[tauri::command]
async fn find_products(
    state: tauri::State<'_, AppState>,
    query: String,
    limit: usize,
) -> CmdResult<Vec<Product>> {
    Ok(state.get()?.find_products(&query, limit)?)
}

#[tauri::command]
async fn save_product(
    state: tauri::State<'_, AppState>,
    sync: Wake<'_>,
    id: Option<String>,
    draft: ProductDraft,
) -> CmdResult<Product> {
    let id = id.as_deref().map(parse_id::<ProductId>).transpose()?;
    let p = state.get()?.save_product(id, &draft)?;
    sync.changed();
    Ok(p)
}

#[tauri::command]
async fn complete_sale(
    state: tauri::State<'_, AppState>,
    sync: Wake<'_>,
    draft: SaleDraft,
) -> CmdResult<Sale> {
    let sale = state.get()?.complete_sale(&draft)?;
    // Other tills see the sale within a second when the link is up.
    sync.changed();
    Ok(sale)
}

#[tauri::command]
async fn attach_sale_customer(
    state: tauri::State<'_, AppState>,
    sync: Wake<'_>,
    sale_id: String,
    customer_id: String,
) -> CmdResult<Sale> {
    let sale = state
        .get()?
        .attach_sale_customer(parse_id(&sale_id)?, parse_id(&customer_id)?)?;
    sync.changed();
    Ok(sale)
}

#[tauri::command]
async fn refund_sale(
    state: tauri::State<'_, AppState>,
    sync: Wake<'_>,
    sale_id: String,
    positions: Vec<u32>,
    payment_method: PaymentMethod,
) -> CmdResult<Sale> {
    let sale =
        state
            .get()?
            .refund_sale(parse_id::<SaleId>(&sale_id)?, &positions, payment_method)?;
    sync.changed();
    Ok(sale)
}

#[tauri::command]
async fn recent_sales(state: tauri::State<'_, AppState>, limit: usize) -> CmdResult<Vec<Sale>> {
    Ok(state.get()?.recent_sales(limit)?)
}

#[tauri::command]
async fn receipt_html(state: tauri::State<'_, AppState>, sale_id: String) -> CmdResult<String> {
    Ok(state.get()?.receipt_html(parse_id(&sale_id)?)?)
}

/// What to say and what to offer to this customer now, given the basket so far.
#[tauri::command]
async fn suggestions(
    state: tauri::State<'_, AppState>,
    customer_id: String,
    basket: Vec<String>,
) -> CmdResult<Suggestions> {
    let basket = basket
        .iter()
        .map(|p| parse_id::<ProductId>(p))
        .collect::<CmdResult<Vec<_>>>()?;
    Ok(state
        .get()?
        .suggestions(parse_id(&customer_id)?, &basket, None)?)
}

#[tauri::command]
async fn prompt_feedback(
    state: tauri::State<'_, AppState>,
    customer_id: String,
    key: String,
    kind: PromptKind,
    verdict: PromptVerdict,
) -> CmdResult<()> {
    Ok(state
        .get()?
        .prompt_feedback(parse_id(&customer_id)?, &key, kind, verdict)?)
}

#[tauri::command]
async fn offer_feedback(
    state: tauri::State<'_, AppState>,
    event_id: String,
    customer_id: String,
    key: String,
    kind: OfferKind,
    outcome: OfferOutcome,
    sale_id: Option<String>,
) -> CmdResult<()> {
    // `event_id` is chosen once per tap by the UI and resent on a retry, so
    // a retried redemption never spends twice.
    let sale = sale_id.as_deref().map(parse_id::<SaleId>).transpose()?;
    // (Its points move with the sale it is redeemed on: that sale wakes sync.)
    Ok(state.get()?.offer_feedback(
        parse_id(&event_id)?,
        parse_id(&customer_id)?,
        &key,
        kind,
        outcome,
        sale,
    )?)
}

/// Where this run's log files are (for diagnostics).
struct LogDir(PathBuf);

/// What support needs, as text to paste (versions, store health, counts,
/// the last log lines; nothing personal).
#[tauri::command]
async fn diagnostics(
    state: tauri::State<'_, AppState>,
    logs: tauri::State<'_, LogDir>,
) -> CmdResult<Diagnostics> {
    Ok(state.get()?.diagnostics(Some(&logs.0))?)
}

/// A running import's latest progress and its cancel flag. Kept outside
/// the store's lock, which the import holds, so the UI can poll and cancel.
#[derive(Default)]
struct ImportState {
    progress: Mutex<Option<Progress>>,
    cancel: AtomicBool,
}

/// Imports CSV files (or a Complete Journey folder, with mapping
/// "completejourney") into the store. Rejected rows are written to a CSV
/// report beside the store; its path is in the result.
#[tauri::command]
async fn import_files(
    app: tauri::AppHandle,
    paths: Vec<String>,
    mapping: String,
    dry_run: bool,
) -> CmdResult<ImportReport> {
    // The import is long, blocking work: keep it off the async workers.
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let imports = app.state::<ImportState>();
        let mut r = state.get()?;
        imports.cancel.store(false, Ordering::SeqCst);
        *imports.progress.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let report = run_import(&mut r, &imports, &paths, &mapping, dry_run);
        drop(r);
        app.state::<SyncState>().changed();
        Ok(report?)
    })
    .await
    .map_err(|e| ApiError {
        code: regulars_core::ErrorCode::Internal,
        message: format!("the import stopped unexpectedly ({e}); nothing more was written"),
    })?
}

fn run_import(
    r: &mut Regulars,
    imports: &ImportState,
    paths: &[String],
    mapping: &str,
    dry_run: bool,
) -> regulars_core::Result<ImportReport> {
    let files: Vec<PathBuf> = paths.iter().map(|p| PathBuf::from(p.trim())).collect();
    let mut on_progress = |p: &Progress| {
        *imports.progress.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
    };
    r.import_files(&files, mapping, dry_run, &mut on_progress, &imports.cancel)
}

#[tauri::command]
async fn import_progress(imports: tauri::State<'_, ImportState>) -> CmdResult<Option<Progress>> {
    Ok(imports
        .progress
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone())
}

/// Asks a running import to stop after its current batch (committed
/// batches stay; importing again continues where it stopped).
#[tauri::command]
async fn cancel_import(imports: tauri::State<'_, ImportState>) -> CmdResult<()> {
    imports.cancel.store(true, Ordering::SeqCst);
    Ok(())
}

/// Command-line options of the app (kept tiny on purpose; the CLI crate is
/// the place for real options).
#[derive(Debug, Default)]
struct Options {
    db: Option<PathBuf>,
    empty: bool,
}

fn options() -> Options {
    let mut o = Options {
        db: std::env::var_os("REGULARS_DB").map(PathBuf::from),
        empty: std::env::var("REGULARS_EMPTY").is_ok_and(|v| v == "1"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--db" => o.db = args.next().map(PathBuf::from),
            "--empty" => o.empty = true,
            _ => {}
        }
    }
    o
}

fn open_store(path: &std::path::Path, empty: bool) -> Result<Regulars, ApiError> {
    let mut r = Regulars::open(path)?;
    let fresh = r.store().setting("initialised")?.is_none();
    if fresh {
        if !empty && r.is_empty()? {
            demo::generate(r.store_mut(), &demo::DemoConfig::new(DEMO_CUSTOMERS))?;
            r.rebuild_index()?;
        }
        r.store().set_setting("initialised", "1")?;
    }
    Ok(r)
}

pub fn run() {
    let opts = options();
    tauri::Builder::default()
        .setup(move |app| {
            let path = match &opts.db {
                Some(p) => p.clone(),
                None => app.path().app_data_dir()?.join("regulars.db"),
            };
            // Logs go beside the store (the app's data folder by default):
            // rotating files, ids and counts only, never personal data.
            let log_dir = path
                .parent()
                .map(|d| d.join("logs"))
                .unwrap_or_else(|| PathBuf::from("logs"));
            match regulars_core::logging::init_logging(&log_dir) {
                // Writes are unbuffered; the guard only has to live on.
                Ok(guard) => std::mem::forget(guard),
                Err(e) => eprintln!("regulars: logging is off ({:?})", e.code()),
            }
            app.manage(LogDir(log_dir));
            let state = open_store(&path, opts.empty).map(Mutex::new);
            if let Err(e) = &state {
                // The code only: messages may quote user data.
                eprintln!("regulars: the store could not be opened ({:?})", e.code);
            }
            app.manage(AppState(state));
            app.manage(ImportState::default());
            app.manage(SessionState::default());
            app.manage(SyncState::default());
            // Sync runs on the async runtime and takes the store's lock per
            // call only, so the till never waits for the network.
            sync::start(app.handle().clone());
            start_daily_backups(path.clone());
            // Build the suggestion engine off the main thread and off the
            // till's lock, on its own connection, so the window paints and
            // the till answers at once; it is swapped in when ready. (Held
            // under the lock, it delayed the first screen by 1-2 s on a big
            // store.) A failure resurfaces on the first suggestions call,
            // which then builds the engine itself.
            let handle = app.handle().clone();
            let db = path.clone();
            std::thread::spawn(move || {
                let Ok(prepared) =
                    Regulars::open_for_maintenance(&db).and_then(|r| r.build_suggestions())
                else {
                    return;
                };
                let state = handle.state::<AppState>();
                if let Ok(mut r) = state.get() {
                    let _ = r.install_suggestions(prepared);
                };
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            store_info,
            find_customers,
            lookup_card,
            customer_profile,
            add_note,
            check_duplicates,
            enrol_customer,
            attach_card,
            card_svg,
            scan_code,
            find_products,
            save_product,
            complete_sale,
            attach_sale_customer,
            refund_sale,
            recent_sales,
            receipt_html,
            suggestions,
            prompt_feedback,
            offer_feedback,
            import_files,
            import_progress,
            cancel_import,
            owner::staff_members,
            owner::unlock,
            owner::lock,
            owner::dashboard,
            owner::export_dashboard_chart,
            owner::offer_results,
            owner::segments,
            owner::overdue,
            owner::contact_list,
            owner::record_contact_outcome,
            owner::export_contacts,
            owner::duplicate_pairs,
            owner::dismiss_duplicate,
            owner::merge_customers,
            owner::undo_merge,
            owner::update_customer,
            owner::create_household,
            owner::set_household,
            owner::retire_note,
            owner::export_customer,
            owner::erase_customer,
            owner::audit_log,
            owner::add_staff,
            owner::set_pin,
            owner::backup_now,
            owner::needs_owner_setup,
            owner::set_up_owner,
            owner::list_campaigns,
            owner::save_campaign,
            owner::preview_campaign,
            diagnostics,
            owner::backup_folder,
            owner::set_backup_folder,
            owner::store_settings,
            owner::save_store_settings,
            sync::sync_status,
            sync::sync_now,
            sync::enroll,
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("regulars: could not start the window: {e}");
            std::process::exit(1);
        });
}

/// The daily backup (SQLite's online backup API, into the backup folder,
/// rotated): checked at start and then every hour, on its own connection so
/// the till never waits for it.
fn start_daily_backups(db: PathBuf) {
    std::thread::spawn(move || loop {
        // Let the window and the suggestion engine start first.
        std::thread::sleep(std::time::Duration::from_secs(60));
        match Regulars::open_for_maintenance(&db)
            .and_then(|mut r| r.auto_backup(None, regulars_core::DEFAULT_BACKUPS_KEPT))
        {
            Ok(Some(b)) => eprintln!("regulars: daily backup written ({} bytes)", b.bytes),
            Ok(None) => {}
            // The code only: paths and messages may name people's folders.
            Err(e) => eprintln!("regulars: daily backup failed ({:?})", e.code()),
        }
        std::thread::sleep(std::time::Duration::from_secs(3600));
    });
}

#[cfg(test)]
mod tests {
    /// The commands build.rs declares, the capability grants and the handler
    /// registers must be the same set: a command the capability forgets is
    /// unusable, one it grants beyond the list is needless privilege. The
    /// only grants from Tauri's core are listening to the app's own events.
    /// What the UI needs from Tauri's core: `listen` for `sync-status`.
    const CORE_GRANTS: [&str; 2] = ["core:event:allow-listen", "core:event:allow-unlisten"];

    #[test]
    fn capability_grants_exactly_the_declared_commands() {
        let build = include_str!("../build.rs");
        let list = &build[build.find("&[").unwrap()..];
        let list = &list[..list.find(']').unwrap()];
        let declared: Vec<String> = list
            .split('"')
            .skip(1)
            .step_by(2)
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
        let all: Vec<String> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        for g in CORE_GRANTS {
            assert!(
                all.iter().any(|p| p == g),
                "{g} missing: the UI cannot listen to sync-status"
            );
        }
        let mut granted: Vec<String> = all
            .into_iter()
            .filter(|p| !CORE_GRANTS.contains(&p.as_str()))
            .collect();
        let mut declared_sorted = declared.clone();
        declared_sorted.sort();
        granted.sort();
        assert_eq!(declared_sorted, granted);
        let lib = include_str!("lib.rs");
        let handler = &lib[lib.find("generate_handler![").unwrap()..];
        let handler = &handler[..handler.find(']').unwrap()];
        for d in &declared {
            let name = d.trim_start_matches("allow-").replace('-', "_");
            assert!(
                handler.contains(&format!("{name},")),
                "{name} not registered"
            );
        }
    }
}
