//! `regulars`: the headless command line over the same core as the app, for
//! scripting, support and benchmarks. JSON output is one object per line.

mod bench;
mod import_cmd;
mod manage_cmd;
mod protect_cmd;
mod review;
mod stress;
mod suggest;
mod sync_cmd;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use regulars_core::{demo, import, Regulars};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "regulars",
    version,
    about = "Regulars: the till that remembers (headless CLI)"
)]
struct Cli {
    /// The store file (created if missing).
    #[arg(
        long,
        global = true,
        env = "REGULARS_DB",
        default_value = "regulars.db"
    )]
    db: PathBuf,
    /// Where log files go (rotated, nothing personal in them); default: a
    /// `logs` folder beside the store file.
    #[arg(long, global = true, env = "REGULARS_LOG_DIR")]
    log_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Enrolls this till with a central server, using the one-time code
    /// from `regulars-server enroll --store NAME`.
    Enroll {
        /// The server, e.g. http://127.0.0.1:7878 or https://sync.example.com
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
        /// What the owner calls this till.
        #[arg(long, default_value = "Till")]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Pushes this till's changes and pulls the others' (once, or `--every`
    /// N seconds).
    Sync {
        #[arg(long)]
        every: Option<u64>,
        /// With --every: stop after this many rounds (0 = never).
        #[arg(long, default_value_t = 0)]
        rounds: u64,
        #[arg(long)]
        json: bool,
    },
    /// Values that lost a last-writer-wins race between tills (owner only;
    /// PIN from REGULARS_PIN).
    SyncConflicts {
        #[arg(long = "as")]
        as_name: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Where this till stands with the server.
    SyncStatus {
        #[arg(long)]
        json: bool,
    },
    /// Fill an empty store with the deterministic demo shop.
    Demo {
        #[arg(long, default_value_t = 2_000)]
        customers: usize,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Visits per customer relative to the default rhythms (1.4 makes
        /// ~10 M lines at 100,000 customers).
        #[arg(long, default_value_t = 1.0)]
        visit_rate: f64,
    },
    /// Write the store as CSV files in the generic import format.
    Export { dir: PathBuf },
    /// Customer list operations.
    Customers {
        #[command(subcommand)]
        cmd: CustomersCmd,
    },
    /// Search customers by name, nickname, phone digits or email.
    Find {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Look up the holder of a loyalty card.
    Card {
        code: String,
        #[arg(long)]
        json: bool,
    },
    /// Show one customer's profile, by id or external reference.
    Customer {
        id_or_ref: String,
        #[arg(long)]
        json: bool,
    },
    /// Facts about the store.
    Info {
        #[arg(long)]
        json: bool,
    },
    /// What the till would show a customer: prompts, offers, likely next basket.
    Suggest {
        /// Customer id or external reference.
        #[arg(long)]
        customer: Option<String>,
        /// The moment (ISO time or date); only history strictly before it is used.
        #[arg(long)]
        as_of: Option<String>,
        /// Items of the likely next basket to list.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
        /// A file of `external_ref,as_of` lines: one JSON line per customer.
        #[arg(long)]
        batch: Option<PathBuf>,
    },
    /// Offline evaluations on real data.
    Eval {
        #[command(subcommand)]
        cmd: EvalCmd,
    },
    /// Import history from an old POS: CSV exports (plain or gzip) through a
    /// mapping, or the Complete Journey data set. See docs/import.md.
    Import {
        #[command(subcommand)]
        cmd: import_cmd::ImportCmd,
    },
    /// The owner's review and "reach out": dashboard, segments, overdue,
    /// offer-results, contacts, contact-outcome.
    #[command(flatten)]
    Review(review::ReviewCmd),
    /// Back the store up (online, while the till runs) into DEST: a file,
    /// or a folder where it is named by the time.
    Backup { dest: PathBuf },
    /// Replace the store with the backup SRC after verifying it; the old
    /// file is kept as <db>.before-restore. Close the app first.
    Restore { src: PathBuf },
    /// Staff and PINs (PINs come from REGULARS_PIN / REGULARS_NEW_PIN).
    Staff {
        #[command(subcommand)]
        cmd: protect_cmd::StaffCmd,
    },
    /// The audit log (as the owner: --as NAME, PIN in REGULARS_PIN).
    Audit {
        #[arg(long = "as")]
        as_name: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Everything held about one customer, as JSON (as the owner).
    ExportCustomer {
        /// Customer id or external reference.
        id_or_ref: String,
        #[arg(long = "as")]
        as_name: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Erase one customer on their request (as the owner): personal data
    /// removed everywhere, sales kept as anonymous totals.
    Erase {
        /// Customer id or external reference.
        id_or_ref: String,
        #[arg(long = "as")]
        as_name: String,
    },
    /// Pairs of customers who may be one person, best evidence first.
    Duplicates {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Merge MERGED into SURVIVOR (ids or external references) as the owner
    /// (--as NAME, PIN in REGULARS_PIN); prints the merge id that
    /// undo-merge takes.
    Merge {
        survivor: String,
        merged: String,
        #[arg(long = "as")]
        as_name: String,
    },
    /// Undo a merge exactly, as the owner (refused if the survivor changed since).
    UndoMerge {
        merge_id: String,
        #[arg(long = "as")]
        as_name: String,
    },
    /// What support needs: versions, store health and size, row counts,
    /// the last log lines. Nothing personal; safe to paste in an email.
    Diagnostics {
        #[arg(long)]
        json: bool,
    },
    /// Crash-test driver (tests/crash.rs): loops over one kind of write,
    /// printing each committed id. Fills the store with made-up trade.
    #[command(hide = true)]
    Stress {
        #[arg(value_enum)]
        mode: stress::Mode,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1_000_000)]
        iterations: u64,
        /// Rows per import batch (small, so a kill lands between batches).
        #[arg(long, default_value_t = 100)]
        batch_rows: usize,
    },
    /// Benchmarks that print figures at a stated scale.
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
}

#[derive(Subcommand)]
enum CustomersCmd {
    /// Import customers from CSV (external_ref, given_name, family_name, phone, email, card).
    Import {
        file: PathBuf,
        /// Where to write the per-row error report (CSV).
        #[arg(long)]
        errors: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum EvalCmd {
    /// "What to offer next" on the Complete Journey CSVs (protocol in the datasets README).
    Offers {
        #[arg(long, default_value = "../shared/datasets/completejourney")]
        data: PathBuf,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Use the validation split (target weeks 41-44) instead of the test weeks.
        #[arg(long)]
        validation: bool,
        /// Search parameters on the validation split and print the best.
        #[arg(long)]
        tune: bool,
        /// Measure only this parameter set (JSON, missing fields default).
        #[arg(long)]
        params: Option<String>,
        /// Fit the learned blend on the validation split, then measure it.
        #[arg(long)]
        train: bool,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Recognition accuracy (vs plain LIKE search) and latency.
    Recognition {
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        /// Queries for the accuracy part.
        #[arg(long, default_value_t = 5_000)]
        queries: usize,
    },
    /// Suggestions latency on an existing store (e.g. the imported Complete Journey).
    Suggest {
        #[arg(long, default_value_t = 2_000)]
        customers: usize,
    },
    /// Dashboard, segments, overdue and contact list timings on an existing
    /// store (read only), e.g. the imported Complete Journey.
    Review {
        /// The day (YYYY-MM-DD); default the day of the latest sale.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// The duplicate finder on synthetic customers with planted duplicates
    /// (writes them into --db, which must be a new file).
    Duplicates {
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
    },
    /// Profile reads and 30-line sales on an existing store (adds sales: use a copy).
    Checkout {
        #[arg(long, default_value_t = 300)]
        sales: usize,
        #[arg(long, default_value_t = 30)]
        lines: usize,
    },
    /// Sync with a real server on 127.0.0.1: push of this store's backlog,
    /// bootstrap of a new till, and sale-to-other-till latency (enrolls
    /// --db and adds sales: use a copy).
    Sync {
        #[arg(long, default_value_t = 50)]
        sales: usize,
    },
    /// PIN unlock time with the production Argon2 cost (scratch store).
    Pin {
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
}

fn main() {
    let cli = Cli::parse();
    let log_dir = log_dir(&cli);
    // Logging is for support; a till that cannot write its log still works.
    let _log = match regulars_core::logging::init_logging(&log_dir) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("warning: logging is off: {e}");
            None
        }
    };
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn log_dir(cli: &Cli) -> PathBuf {
    cli.log_dir.clone().unwrap_or_else(|| {
        cli.db
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("logs")
    })
}

fn open(db: &Path) -> Result<Regulars> {
    Regulars::open(db).with_context(|| format!("opening {}", db.display()))
}

fn run(cli: Cli) -> Result<()> {
    let logs = log_dir(&cli);
    match cli.cmd {
        Cmd::Enroll {
            server,
            code,
            name,
            json,
        } => sync_cmd::enroll(&cli.db, &server, &code, &name, json)?,
        Cmd::Sync {
            every,
            rounds,
            json,
        } => sync_cmd::sync(&cli.db, every, rounds, json)?,
        Cmd::SyncStatus { json } => sync_cmd::status(&cli.db, json)?,
        Cmd::SyncConflicts {
            as_name,
            limit,
            json,
        } => protect_cmd::conflicts(&cli.db, &as_name, limit, json)?,
        Cmd::Diagnostics { json } => {
            let r = open(&cli.db)?;
            let d = r.diagnostics(Some(&logs))?;
            if json {
                println!("{}", serde_json::to_string(&d)?);
            } else {
                print!("{}", d.text);
            }
        }
        Cmd::Stress {
            mode,
            seed,
            iterations,
            batch_rows,
        } => stress::run(&cli.db, mode, seed, iterations, batch_rows)?,
        Cmd::Export { dir } => {
            let r = open(&cli.db)?;
            let t = Instant::now();
            let rep = regulars_core::export::generic(r.store(), &dir)?;
            println!(
                "exported {} customers, {} products, {} sale lines to {} in {:.1} s",
                rep.customers,
                rep.products,
                rep.lines,
                dir.display(),
                t.elapsed().as_secs_f64()
            );
        }
        Cmd::Demo {
            customers,
            seed,
            visit_rate,
        } => {
            let mut r = open(&cli.db)?;
            let t = Instant::now();
            let mut cfg = demo::DemoConfig::new(customers);
            cfg.seed = seed;
            cfg.visit_rate = visit_rate;
            let rep = demo::generate(r.store_mut(), &cfg)?;
            println!(
                "demo store {}: {} customers, {} products, {} sales, {} lines, {} notes in {:.1} s",
                cli.db.display(),
                rep.customers,
                rep.products,
                rep.sales,
                rep.lines,
                rep.notes,
                t.elapsed().as_secs_f64()
            );
        }
        Cmd::Customers {
            cmd: CustomersCmd::Import { file, errors },
        } => {
            let mut r = open(&cli.db)?;
            // Through the facade, like the app: logged, and search sees them.
            let rep = r.import_with(
                std::slice::from_ref(&file),
                "customers",
                &import::ImportOptions::default(),
                &mut |_| {},
                &std::sync::atomic::AtomicBool::new(false),
            )?;
            println!(
                "{}: {} rows, {} imported, {} already present, {} rejected",
                file.display(),
                rep.rows,
                rep.imported,
                rep.skipped_existing,
                rep.errors.len()
            );
            for e in rep.errors.iter().take(20) {
                eprintln!("  line {}, column {}: {}", e.line, e.column, e.reason);
            }
            if let Some(path) = errors {
                import::write_error_report(&rep.errors, &path)?;
                println!("error report written to {}", path.display());
            }
        }
        Cmd::Find { query, limit, json } => {
            let r = open(&cli.db)?;
            for hit in r.find(&query, limit)? {
                let c = &hit.customer;
                if json {
                    println!(
                        "{}",
                        json!({
                            "id": c.id, "external_ref": c.external_ref, "display_name": c.display_name,
                            "score": hit.score, "why": hit.why, "card": c.card, "visits": c.visits,
                            "last_visit": c.last_visit, "phone_tail": c.phone_tail, "email": c.email,
                        })
                    );
                } else {
                    println!(
                        "{:>6.2}  {:<28} {:<14} {:>4} visits  {}",
                        hit.score,
                        c.display_name,
                        c.card.as_ref().map(|c| c.to_string()).unwrap_or_default(),
                        c.visits,
                        hit.why
                    );
                }
            }
        }
        Cmd::Card { code, json } => {
            let r = open(&cli.db)?;
            let p = r.lookup_card(&code)?;
            print_profile(&p, json)?;
        }
        Cmd::Customer { id_or_ref, json } => {
            let r = open(&cli.db)?;
            let p = r.profile(r.resolve(&id_or_ref)?)?;
            print_profile(&p, json)?;
        }
        Cmd::Info { json } => {
            let r = open(&cli.db)?;
            let i = r.info()?;
            if json {
                println!("{}", serde_json::to_string(&i)?);
            } else {
                println!(
                    "{} ({}): {} customers, {} sales, {} changes waiting to sync{}",
                    i.name,
                    i.path,
                    i.customers,
                    i.sales,
                    i.pending_changes,
                    if i.demo { ", demo store" } else { "" }
                );
            }
        }
        Cmd::Suggest {
            customer,
            as_of,
            limit,
            json,
            batch,
        } => suggest::suggest_cmd(
            &cli.db,
            customer.as_deref(),
            as_of.as_deref(),
            limit,
            json,
            batch.as_deref(),
        )?,
        Cmd::Bench {
            cmd: BenchCmd::Suggest { customers },
        } => suggest::bench_suggest(&cli.db, customers)?,
        Cmd::Eval {
            cmd:
                EvalCmd::Offers {
                    data,
                    k,
                    validation,
                    tune,
                    params,
                    train,
                },
        } => suggest::eval_offers(&data, k, validation, tune, params.as_deref(), train)?,
        Cmd::Import { cmd } => import_cmd::run(&cli.db, cmd)?,
        Cmd::Review(cmd) => review::run(&cli.db, cmd)?,
        Cmd::Bench {
            cmd: BenchCmd::Review { as_of, runs },
        } => review::bench(&cli.db, as_of, runs)?,
        Cmd::Backup { dest } => protect_cmd::backup(&cli.db, &dest)?,
        Cmd::Restore { src } => protect_cmd::restore(&cli.db, &src)?,
        Cmd::Staff { cmd } => protect_cmd::staff(&cli.db, cmd)?,
        Cmd::Audit {
            as_name,
            limit,
            json,
        } => protect_cmd::audit(&cli.db, &as_name, limit, json)?,
        Cmd::ExportCustomer {
            id_or_ref,
            as_name,
            out,
        } => protect_cmd::export_customer(&cli.db, &as_name, &id_or_ref, out)?,
        Cmd::Erase { id_or_ref, as_name } => protect_cmd::erase(&cli.db, &as_name, &id_or_ref)?,
        Cmd::Bench {
            cmd: BenchCmd::Pin { rounds },
        } => protect_cmd::bench_pin(rounds)?,
        Cmd::Bench {
            cmd: BenchCmd::Recognition { customers, queries },
        } => bench::recognition(&cli.db, customers, queries)?,
        Cmd::Bench {
            cmd: BenchCmd::Checkout { sales, lines },
        } => bench::checkout(&cli.db, sales, lines)?,
        Cmd::Bench {
            cmd: BenchCmd::Sync { sales },
        } => sync_cmd::bench(&cli.db, sales)?,
        Cmd::Bench {
            cmd: BenchCmd::Duplicates { customers },
        } => manage_cmd::bench(&cli.db, customers)?,
        Cmd::Duplicates { limit, json } => manage_cmd::duplicates(&open(&cli.db)?, limit, json)?,
        Cmd::Merge {
            survivor,
            merged,
            as_name,
        } => {
            let mut r = open(&cli.db)?;
            let s = protect_cmd::session(&mut r, &as_name)?;
            manage_cmd::merge(&mut r, &s, &survivor, &merged)?
        }
        Cmd::UndoMerge { merge_id, as_name } => {
            let mut r = open(&cli.db)?;
            let s = protect_cmd::session(&mut r, &as_name)?;
            manage_cmd::undo_merge(&mut r, &s, &merge_id)?
        }
    }
    Ok(())
}

fn print_profile(p: &regulars_core::model::Profile, json: bool) -> Result<()> {
    let s = &p.summary;
    if json {
        // One object per line, with the summary fields at the top level.
        let mut v = serde_json::to_value(p)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("id".into(), json!(s.id));
            o.insert("external_ref".into(), json!(s.external_ref));
            o.insert("display_name".into(), json!(s.display_name));
        }
        println!("{v}");
        return Ok(());
    }
    println!("{}  (id {})", s.display_name, s.id);
    if let Some(c) = &s.card {
        println!("  card {c}");
    }
    println!(
        "  member since {}, {} visits, last {}, average basket {:.2}, points {}",
        s.member_since,
        s.visits,
        s.last_visit.as_deref().unwrap_or("never"),
        p.average_basket_cents as f64 / 100.0,
        p.points_balance
    );
    if !p.favourites.is_empty() {
        let fav: Vec<_> = p
            .favourites
            .iter()
            .map(|f| format!("{} ({}x)", f.product, f.times))
            .collect();
        println!("  favourites: {}", fav.join(", "));
    }
    for n in &p.notes {
        println!("  note: {}", n.body);
    }
    Ok(())
}
