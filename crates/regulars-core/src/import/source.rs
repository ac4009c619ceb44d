//! Opening one input file as a stream of CSV rows: gzip or plain, the
//! delimiter (given or sniffed from the header), the header itself, and
//! turning what can go wrong while reading into an error that names the
//! file, the line and what to do.
//!
//! Owns: bytes to records, and counting compressed bytes for progress.
//! Does not own: what the columns mean (mappings) or writing.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use crate::{Error, Result};

/// Which character separates columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimiter {
    /// Guess from the header row: the most frequent of `,` `;` tab `|`.
    Auto,
    Char(u8),
}

impl Delimiter {
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Delimiter::Auto),
            "tab" | "\t" | "\\t" => Ok(Delimiter::Char(b'\t')),
            s if s.len() == 1 && s.is_ascii() => Ok(Delimiter::Char(s.as_bytes()[0])),
            _ => Err(format!(
                "delimiter '{s}' must be one character, \"tab\" or \"auto\""
            )),
        }
    }
}

const CANDIDATES: &[u8] = b",;\t|";

fn show(d: u8) -> String {
    match d {
        b'\t' => "a tab".into(),
        d => format!("'{}'", d as char),
    }
}

/// Counts the bytes pulled from the file (compressed, for .gz): the share
/// of the file read so far is what progress estimates from.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path`, decompressing gzip (recognised by its magic bytes, not its
/// name) on the fly.
pub(crate) fn open_maybe_gz(path: &Path) -> Result<(Box<dyn Read + Send>, Arc<AtomicU64>, u64)> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let count = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        count: count.clone(),
    };
    let mut reader = BufReader::with_capacity(256 * 1024, counting);
    let magic = reader.fill_buf().map_err(io)?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok((
            Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
            count,
            size,
        ))
    } else {
        Ok((Box::new(reader), count, size))
    }
}

/// Records read ahead by the reader thread, with the line each starts on.
type Chunk = Vec<(u64, csv::StringRecord)>;

/// What the reader thread sends: a chunk, or the reading error that ended
/// the file (file, line, reason).
type Msg = std::result::Result<Chunk, (u64, String)>;

const CHUNK: usize = 2048;

/// One open CSV file. Decompressing and splitting rows runs on a thread of
/// its own, a few chunks ahead (bounded, so memory stays flat): on two
/// cores it overlaps with checking and writing.
pub(crate) struct Source {
    /// The path as the user gave it, for messages.
    pub name: String,
    pub header: Vec<String>,
    /// Bytes of the file read so far, and its size.
    pub bytes_read: Arc<AtomicU64>,
    pub size: u64,
    rx: Receiver<Msg>,
    recycle: SyncSender<Chunk>,
    chunk: std::vec::IntoIter<(u64, csv::StringRecord)>,
    /// Records already handed out, going back to the reader thread to be
    /// filled again (no allocation per row, no freeing across threads).
    spent: Chunk,
    done: bool,
}

impl Source {
    pub fn open(path: &Path, delimiter: Delimiter) -> Result<Self> {
        let name = path.display().to_string();
        let (raw, bytes_read, size) = open_maybe_gz(path)?;
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let first_line: Vec<u8> = {
            let buf = buffered.fill_buf().map_err(|e| read_error(&name, 1, e))?;
            let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
            buf[..end].to_vec()
        };
        if first_line.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::Import {
                file: name,
                line: 1,
                reason: "the file is empty; a header row naming the columns is needed".into(),
            });
        }
        let sniffed = CANDIDATES
            .iter()
            .copied()
            .max_by_key(|d| (first_line.iter().filter(|b| *b == d).count(), *d == b','))
            .unwrap_or(b',');
        let delim = match delimiter {
            Delimiter::Auto => sniffed,
            Delimiter::Char(d) => d,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delim)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(Box::new(buffered) as Box<dyn Read + Send>);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(&name, 1, e))?
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = if i == 0 {
                    h.trim_start_matches('\u{feff}')
                } else {
                    h
                };
                h.trim().to_string()
            })
            .collect();
        if header.len() == 1 && delim != sniffed {
            let count = first_line.iter().filter(|b| **b == sniffed).count();
            if count > 0 {
                return Err(Error::Import {
                    file: name,
                    line: 1,
                    reason: format!(
                        "the header is one single column; this file separates columns with {}, not {}. \
                         Export it again with {} between columns, or set delimiter = \"{}\" in the mapping",
                        show(sniffed),
                        show(delim),
                        show(delim),
                        if sniffed == b'\t' { "tab".to_string() } else { (sniffed as char).to_string() }
                    ),
                });
            }
        }
        let (tx, rx) = sync_channel::<Msg>(4);
        let (recycle, recycled) = sync_channel::<Chunk>(8);
        let thread_name = name.clone();
        std::thread::Builder::new()
            .name("import-reader".into())
            .spawn(move || read_ahead(reader, tx, recycled, &thread_name))
            .map_err(|source| Error::Io {
                path: name.clone(),
                source,
            })?;
        Ok(Source {
            name,
            header,
            bytes_read,
            size,
            rx,
            recycle,
            chunk: Vec::new().into_iter(),
            spent: Vec::with_capacity(CHUNK),
            done: false,
        })
    }

    /// Reads the next record into `rec`; Ok(None) at the end. Returns the
    /// line the record starts on.
    pub fn next(&mut self, rec: &mut csv::StringRecord) -> Result<Option<u64>> {
        loop {
            if let Some((line, mut r)) = self.chunk.next() {
                std::mem::swap(rec, &mut r);
                self.spent.push((0, r));
                return Ok(Some(line));
            }
            if self.done {
                return Ok(None);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    self.chunk = chunk.into_iter();
                    let spent = std::mem::replace(&mut self.spent, Vec::with_capacity(CHUNK));
                    let _ = self.recycle.try_send(spent);
                }
                Ok(Err((line, reason))) => {
                    self.done = true;
                    return Err(Error::Import {
                        file: self.name.clone(),
                        line,
                        reason,
                    });
                }
                Err(_) => self.done = true,
            }
        }
    }

    /// Index of a column by name (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    /// Indices of required columns, or an error naming what is missing.
    pub fn require(&self, names: &[&str]) -> Result<Vec<usize>> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.column(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(missing_columns(&self.name, &missing, &self.header));
        }
        Ok(names.iter().filter_map(|n| self.column(n)).collect())
    }
}

/// The reader thread: parses records in chunks until the end of the file,
/// an error, or the receiver going away (the import stopped).
fn read_ahead(
    mut reader: csv::Reader<Box<dyn Read + Send>>,
    tx: SyncSender<Msg>,
    recycled: Receiver<Chunk>,
    name: &str,
) {
    loop {
        let mut pool = recycled.try_recv().unwrap_or_default();
        let mut chunk = Vec::with_capacity(CHUNK);
        while chunk.len() < CHUNK {
            let line = reader.position().line();
            let mut rec = pool.pop().map(|(_, r)| r).unwrap_or_default();
            match reader.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {
                    let at = rec.position().map(|p| p.line()).unwrap_or(line);
                    chunk.push((at, rec));
                }
                Err(e) => {
                    if !chunk.is_empty() && tx.send(Ok(chunk)).is_err() {
                        return;
                    }
                    let err = csv_error(name, line, e);
                    let (line, reason) = match err {
                        Error::Import { line, reason, .. } => (line, reason),
                        other => (line, other.to_string()),
                    };
                    let _ = tx.send(Err((line, reason)));
                    return;
                }
            }
        }
        let last = chunk.len() < CHUNK;
        if tx.send(Ok(chunk)).is_err() {
            return;
        }
        if last {
            let _ = tx.send(Ok(Vec::new()));
            return;
        }
    }
}

pub(crate) fn missing_columns(file: &str, missing: &[&str], header: &[String]) -> Error {
    Error::Import {
        file: file.to_string(),
        line: 1,
        reason: format!(
            "missing required column{} {}; the header has: {}. Export the file with {} or fix the mapping",
            if missing.len() == 1 { "" } else { "s" },
            missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", "),
            header.join(", "),
            if missing.len() == 1 { "that column" } else { "those columns" }
        ),
    }
}

fn read_error(file: &str, line: u64, e: std::io::Error) -> Error {
    Error::Import {
        file: file.to_string(),
        line,
        reason: format!(
            "the file could not be read past this line ({e}); it is probably truncated or damaged \
             (an interrupted download or copy). Copy the complete file again; rows before this line \
             that were already imported are skipped on the next import"
        ),
    }
}

/// A reading error, with what to do about it.
pub(crate) fn csv_error(file: &str, line: u64, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(line);
    match e.into_kind() {
        csv::ErrorKind::Utf8 { pos, err } => Error::Import {
            file: file.to_string(),
            line: pos.map(|p| p.line()).unwrap_or(line),
            reason: format!(
                "this line is not UTF-8 text (field {}: {err}); save the file as UTF-8 \
                 (in Excel: \"CSV UTF-8\") and import again",
                err.field() + 1
            ),
        },
        csv::ErrorKind::Io(io) => read_error(file, line, io),
        other => Error::Import {
            file: file.to_string(),
            line,
            reason: format!("{:?}; check the file is a CSV export", other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_parse() {
        assert_eq!(Delimiter::parse(";"), Ok(Delimiter::Char(b';')));
        assert_eq!(Delimiter::parse("tab"), Ok(Delimiter::Char(b'\t')));
        assert_eq!(Delimiter::parse("auto"), Ok(Delimiter::Auto));
        assert!(Delimiter::parse(";;").is_err());
    }
}
