//! `regulars import`: history from an old POS, with a progress line on
//! stderr (rows/s and time left), Ctrl-C as a clean cancel (the batch in
//! progress is dropped, committed batches stay; run again to continue) and
//! a summary at the end.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Subcommand;
use regulars_core::import::{self, ImportOptions, ImportReport, Mapping, Progress};
use regulars_core::Regulars;

#[derive(Subcommand)]
pub enum ImportCmd {
    /// dunnhumby's Complete Journey: a folder with transactions.csv.gz,
    /// products.csv.gz and (optionally) demographics, campaigns, coupons.
    Completejourney {
        dir: PathBuf,
        /// Read and check everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write every rejected row (file, line, column, reason) to this CSV.
        #[arg(long)]
        errors: Option<PathBuf>,
    },
    /// CSV exports (customers, products, sales lines) read through a mapping.
    Csv {
        /// A built-in profile (generic, customers, completejourney) or a
        /// mapping file (TOML; examples in assets/mappings/).
        #[arg(long)]
        mapping: String,
        /// The files; each goes to the mapping section that fits it.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        errors: Option<PathBuf>,
    },
}

pub fn run(db: &Path, cmd: ImportCmd) -> Result<()> {
    let (dry_run, errors) = match &cmd {
        ImportCmd::Completejourney {
            dry_run, errors, ..
        }
        | ImportCmd::Csv {
            dry_run, errors, ..
        } => (*dry_run, errors.clone()),
    };
    let opts = ImportOptions {
        dry_run,
        error_report: errors.clone(),
        ..Default::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        // First Ctrl-C: stop after the current batch; second: stop now.
        let _ = ctrlc::set_handler(move || {
            if cancel.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nstopping after the current batch (Ctrl-C again to quit at once)...");
        });
    }
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let mut line = ProgressLine::new();
    let mut on_progress = |p: &Progress| line.show(p);
    let (what, rep) = match cmd {
        ImportCmd::Completejourney { dir, .. } => (
            dir.display().to_string(),
            import::complete_journey(r.store_mut(), &dir, &opts, &mut on_progress, &cancel)?,
        ),
        ImportCmd::Csv { mapping, files, .. } => {
            let m = Mapping::load(&mapping)?;
            (
                format!(
                    "{} ({} file{})",
                    m.name,
                    files.len(),
                    if files.len() == 1 { "" } else { "s" }
                ),
                import::with_mapping(r.store_mut(), &m, &files, &opts, &mut on_progress, &cancel)?,
            )
        }
    };
    line.clear();
    if !rep.dry_run {
        // Search must see the imported customers.
        r.rebuild_index()?;
    }
    summary(&what, &rep, errors.as_deref());
    Ok(())
}

fn summary(what: &str, rep: &ImportReport, errors: Option<&Path>) {
    println!(
        "{}{what}: {} rows, {} imported, {} skipped as already present, {} rejected in {:.1} s ({:.0} rows/s)",
        if rep.dry_run { "dry run, nothing written: " } else { "" },
        rep.rows,
        rep.imported,
        rep.skipped_existing,
        rep.rejected,
        rep.seconds,
        rep.rows_per_sec()
    );
    println!(
        "  {} customers, {} products, {} sales with {} lines, {} customer attributes, {} campaign rows {}",
        rep.customers_created,
        rep.products_created,
        rep.sales_created,
        rep.lines_imported,
        rep.attributes_set,
        rep.campaign_rows,
        if rep.dry_run { "would be added" } else { "added" }
    );
    for f in &rep.files {
        println!(
            "  {} ({}): {} rows, {} imported, {} already present, {} rejected",
            f.file, f.kind, f.rows, f.imported, f.skipped_existing, f.rejected
        );
    }
    for n in &rep.notes {
        println!("  note: {n}");
    }
    for e in rep.errors.iter().take(20) {
        eprintln!(
            "  {}, line {}, column {}: {}",
            e.file, e.line, e.column, e.reason
        );
    }
    if rep.rejected > 20 {
        eprintln!("  ... and {} more rejected rows", rep.rejected - 20);
    }
    if !rep.warnings.is_empty() {
        eprintln!(
            "  {} rows were imported without a value that could not be used",
            rep.warnings.len()
        );
    }
    if let Some(p) = errors {
        println!("  every rejected row is listed in {}", p.display());
    } else if rep.rejected > 0 {
        println!("  (add --errors REPORT.csv to get every rejected row in a file)");
    }
    if rep.cancelled {
        println!(
            "  cancelled: the batches written so far stay; run the same import again to continue"
        );
    }
}

/// The status line on stderr: redrawn in place on a terminal, a line every
/// few seconds otherwise (logs).
struct ProgressLine {
    tty: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressLine {
    fn new() -> Self {
        ProgressLine {
            tty: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    fn show(&mut self, p: &Progress) {
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let total = p
            .rows_total_estimate
            .map(|t| format!(" of ~{t}"))
            .unwrap_or_default();
        let eta = p
            .eta_secs
            .map(|s| format!(", ETA {s:.0} s"))
            .unwrap_or_default();
        let file = Path::new(&p.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = format!(
            "{file}: {} rows{total}, {:.0} rows/s{eta}",
            p.rows_done, p.rows_per_sec
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{text}");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{text}");
        }
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
