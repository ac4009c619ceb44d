//! Importing a shop's history from its old POS: customers, products and
//! sales lines from CSV exports (plain or gzip), through a mapping profile.
//!
//! - [`with_mapping`]: any files, read through a [`Mapping`] (a built-in
//!   profile such as `generic`, or a shop's own TOML mapping file);
//! - [`complete_journey`]: the Complete Journey data set (a folder), which
//!   adds demographics, campaigns, coupons and redemptions;
//! - [`customers_csv`]: the plain customer list (the `customers` profile).
//!
//! Rules every import keeps:
//! - streaming: rows are read, checked and written in batches; memory holds
//!   a couple of batches plus the maps from source ids to store ids. Reading
//!   (gzip, CSV) and writing sales run on threads of their own, so an
//!   import uses both cores of a small till PC;
//! - a batch commits whole or not at all (a crash or a cancel never leaves
//!   half a batch); a sale never spans two batches when its lines are
//!   together in the file;
//! - every bad row is reported (file, line, column, reason) and skipped; the
//!   good rows are imported. A file that cannot be read on (broken gzip, not
//!   UTF-8, unknown date format) stops the import with an error naming the
//!   file and line; batches committed before stay, and importing again
//!   skips them;
//! - re-importing the same files changes nothing: customers, products and
//!   sales are recognised by their source ids (`external_ref`);
//! - each imported customer, product and sale is recorded in the outbox in
//!   its batch's transaction, so sync ships it to the other tills;
//! - imported sales earn no points (history, not new business).
//!
//! Owns: reading exports into the store. Does not own: the search index (the
//! caller runs [`crate::Regulars::rebuild_index`] afterwards), nor how
//! progress is shown. The mapping format is documented in `docs/import.md`.

mod completejourney;
mod engine;
mod mapping;
mod progress;
mod source;
mod template;
mod values;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::Serialize;
use ts_rs::TS;

use crate::store::Store;
use crate::{Error, Result};

pub use completejourney::{complete_journey, CJ_CARD_PREFIX};
pub use mapping::{Kind, Mapping, BUILTIN};
pub use progress::Progress;

/// One row that was not imported (or imported without one of its values,
/// for [`ImportReport::warnings`]).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq, TS)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    /// The source column (as named in the file's header) at fault.
    pub column: String,
    pub reason: String,
}

/// What one file contributed.
#[derive(Clone, Debug, Default, Serialize, PartialEq, TS)]
pub struct FileReport {
    pub file: String,
    /// What the file was read as: customers, products, sales, campaigns...
    pub kind: String,
    pub rows: u64,
    pub imported: u64,
    pub skipped_existing: u64,
    pub rejected: u64,
}

/// What an import did (or, for a dry run, would do).
#[derive(Clone, Debug, Default, Serialize, PartialEq, TS)]
pub struct ImportReport {
    /// Data rows read, all files together.
    pub rows: u64,
    /// Rows that added something to the store.
    pub imported: u64,
    /// Rows already in the store (imported before), left as they were.
    pub skipped_existing: u64,
    /// Rows not imported because something in them is wrong.
    pub rejected: u64,
    /// The rejected rows (the first [`MAX_KEPT_ERRORS`]; the error report
    /// file has all of them).
    pub errors: Vec<RowError>,
    /// Rows imported without a value that could not be used (a birthday
    /// without a year, a barcode another product has).
    pub warnings: Vec<RowError>,
    /// Things worth knowing that concern a whole file (an optional column it
    /// lacks, a file of the data set that was not there).
    pub notes: Vec<String>,
    pub customers_created: u64,
    pub products_created: u64,
    pub sales_created: u64,
    pub lines_imported: u64,
    pub attributes_set: u64,
    /// Campaigns, campaign members, coupons and redemptions added.
    pub campaign_rows: u64,
    pub files: Vec<FileReport>,
    pub seconds: f64,
    pub dry_run: bool,
    /// The caller asked to stop: batches committed so far stay, the rest
    /// was not read. Importing again continues where this one stopped.
    pub cancelled: bool,
    /// Where the rejected rows were written as CSV, when the caller asked.
    pub error_report: Option<String>,
}

impl ImportReport {
    pub fn rows_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Rejected rows kept in memory (the report file gets every one).
pub const MAX_KEPT_ERRORS: usize = 10_000;

/// How to run an import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Read and check everything, write nothing.
    pub dry_run: bool,
    /// Write every rejected row to this CSV file as it is found.
    pub error_report: Option<PathBuf>,
    /// Rows per batch (one transaction each).
    pub batch_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dry_run: false,
            error_report: None,
            // Big enough that commits (each an fsync) cost little, small
            // enough that a batch holds a few MB and progress moves often.
            batch_rows: 100_000,
        }
    }
}

/// Imports `files` through `mapping`. Each file goes to the mapping section
/// that fits it (by name pattern, else by its columns); customers are read
/// first, then products, then sales, so sales find both.
pub fn with_mapping(
    store: &mut Store,
    mapping: &Mapping,
    files: &[PathBuf],
    opts: &ImportOptions,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<ImportReport> {
    if files.is_empty() {
        return Err(Error::invalid("import", "name at least one file to import"));
    }
    let mut run = engine::Run::new(store, opts, progress, cancel, &mapping.name, files)?;
    run.mapping_files(mapping, files)?;
    run.finish()
}

/// Imports a customer list (columns external_ref, given_name, family_name,
/// phone, email, card; only a name is required). Returns what happened; the
/// caller rebuilds the search index afterwards.
pub fn customers_csv(store: &mut Store, path: &Path) -> Result<ImportReport> {
    with_mapping(
        store,
        &Mapping::builtin("customers"),
        &[path.to_path_buf()],
        &ImportOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

/// Writes rows as a CSV report (file, line, column, reason).
pub fn write_error_report(errors: &[RowError], path: &Path) -> Result<()> {
    let mut w = engine::ReportWriter::create(path)?;
    for e in errors {
        w.write(e, "rejected")?;
    }
    w.flush()
}
