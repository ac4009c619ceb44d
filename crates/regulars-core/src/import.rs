//! Importing customers from a CSV file (the shop's list from an old system).
//!
//! Columns, by header name, in any order: `external_ref, given_name,
//! family_name, phone, email, card` (only a name is required). The file may
//! be gzip-compressed. Every bad row is reported with its line, column and
//! reason; valid rows are imported in one transaction, so a failure half-way
//! leaves the store as it was. Rows whose `external_ref` is already in the
//! store are skipped, which makes re-importing the same file a no-op.
//!
//! Owns: the customer list import. Sales history import (Complete Journey,
//! mapping profiles) is a later, separate module.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use crate::card::CardNumber;
use crate::model::NewCustomer;
use crate::store::{customers_validate_new, now_iso, Store};
use crate::{Error, Result};

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: u64,
    pub imported: u64,
    pub skipped_existing: u64,
    pub errors: Vec<RowError>,
}

fn open_maybe_gz(path: &Path) -> Result<Box<dyn Read>> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = BufReader::new(file);
    let magic = reader.fill_buf().map_err(io)?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

const COLUMNS: &[&str] = &["external_ref", "given_name", "family_name", "phone", "email", "card"];

/// Imports customers from `path` into `store`. Returns what happened; the
/// caller rebuilds the search index afterwards.
pub fn customers_csv(store: &mut Store, path: &Path) -> Result<ImportReport> {
    let file = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(open_maybe_gz(path)?);
    let headers = rdr
        .headers()
        .map_err(|e| Error::Import {
            file: file.clone(),
            line: 1,
            reason: format!("cannot read the header row ({e}); is it a UTF-8 CSV file?"),
        })?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let idx: Vec<Option<usize>> = COLUMNS.iter().map(|c| col(c)).collect();
    if idx[1].is_none() && idx[2].is_none() {
        return Err(Error::Import {
            file,
            line: 1,
            reason: format!(
                "no given_name or family_name column; the header must name some of: {}",
                COLUMNS.join(", ")
            ),
        });
    }
    let mut report = ImportReport::default();
    let now = now_iso();
    let mut tx = store.write()?;
    let mut record = csv::StringRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A broken row (bad UTF-8, truncated gzip) ends the file: we
                // cannot know where the next row starts. Nothing is committed.
                return Err(Error::Import {
                    file,
                    line: e.position().map(|p| p.line()).unwrap_or(line),
                    reason: format!("{e}; fix the file and import again (nothing was imported)"),
                });
            }
        }
        report.rows += 1;
        let get = |i: usize| idx[i].and_then(|j| record.get(j)).unwrap_or("").to_string();
        let external_ref = Some(get(0)).filter(|s| !s.is_empty());
        if let Some(r) = &external_ref {
            let exists: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM customers WHERE external_ref = ?1)",
                [r],
                |row| row.get(0),
            )?;
            if exists {
                report.skipped_existing += 1;
                continue;
            }
        }
        let draft = NewCustomer {
            external_ref,
            given_name: get(1),
            family_name: get(2),
            phones: vec![get(3)],
            email: Some(get(4)),
            card: Some(get(5)).filter(|s| !s.is_empty()),
            ..Default::default()
        };
        let row_error = |column: &str, e: Error| RowError {
            line: record.position().map(|p| p.line()).unwrap_or(line),
            column: column.to_string(),
            reason: e.to_string(),
        };
        let row = match customers_validate_new(&draft) {
            Ok(r) => r,
            Err(e) => {
                let column = match &e {
                    Error::Invalid { field, .. } if field.contains("phone") => "phone",
                    Error::Invalid { field, .. } if field.contains("email") => "email",
                    Error::Invalid { field, .. } if field.contains("family") => "family_name",
                    _ => "given_name",
                };
                report.errors.push(row_error(column, e));
                continue;
            }
        };
        let card = match draft.card.as_deref().map(CardNumber::parse).transpose() {
            Ok(c) => c,
            Err(e) => {
                report.errors.push(row_error("card", e));
                continue;
            }
        };
        // A savepoint per row: a row that fails half-way (card taken) is
        // undone alone and reported; the batch goes on.
        let sp = tx.savepoint()?;
        let res = Store::insert_customer(&sp, &row).and_then(|()| match &card {
            Some(c) => Store::insert_card(&sp, row.id, c, &now),
            None => Ok(()),
        });
        match res {
            Ok(()) => {
                sp.commit()?;
                report.imported += 1;
            }
            Err(e) => {
                drop(sp);
                let column = if matches!(e, Error::CardTaken { .. }) { "card" } else { "external_ref" };
                report.errors.push(row_error(column, e));
            }
        }
    }
    tx.commit()?;
    Ok(report)
}

/// Writes the row errors as a CSV report (line, column, reason).
pub fn write_error_report(errors: &[RowError], path: &Path) -> Result<()> {
    let io = |e: csv::Error| Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut w = csv::Writer::from_path(path).map_err(io)?;
    for e in errors {
        w.serialize(e).map_err(io)?;
    }
    w.flush().map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}
