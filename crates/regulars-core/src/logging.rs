//! Log files for support: `tracing` events written to size-rotated files in
//! `<data dir>/logs/` (`regulars.log`, then `regulars.log.1` ... `.4`, 1 MB
//! each, so the folder never holds more than ~5 MB).
//!
//! Policy (ARCHITECTURE.md, "Nothing personal is logged"): events carry ids,
//! counts, durations and error codes, never names, phones, emails, note
//! bodies, search text or file contents. Error *messages* are logged only for
//! system failures (disk, SQLite, I/O), whose text holds no customer input;
//! for the rest only the code is logged, because messages echo what was typed.
//!
//! Owns: setting up the process's subscriber ([`init_logging`]), the rolling
//! writer, reading the last lines back for diagnostics ([`tail`]).
//! Does not own: what is logged (each module emits its own events) or where
//! the data folder is (the app and the CLI pass it in).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Error, ErrorCode, Result};

/// The current log file's name; rotated files get `.1` (newest) to `.N`.
pub const LOG_FILE: &str = "regulars.log";
/// Size at which the current file is rotated.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Rotated files kept besides the current one.
pub const KEEP_FILES: usize = 4;

/// Keeps file logging on; hold it for the life of the process. Writes are
/// unbuffered (a `kill -9` or a crash must not lose the last lines, which
/// are the ones support needs), so there is nothing to flush on drop.
#[derive(Debug)]
pub struct LogGuard {
    dir: PathBuf,
}

impl LogGuard {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Sends this process's `tracing` events to rotating files in `dir`
/// (created if missing). Level INFO, or what `REGULARS_LOG` says (`debug`,
/// `warn`...). Call once per process; a second call is refused.
pub fn init_logging(dir: &Path) -> Result<LogGuard> {
    let writer = RollingFile::open(dir, MAX_FILE_BYTES, KEEP_FILES)?;
    let level = std::env::var("REGULARS_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Mutex::new(writer))
        .with_ansi(false)
        .with_max_level(level)
        .with_target(true)
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|_| {
        Error::invalid(
            "logging",
            "is already set up in this process; keep the first LogGuard instead of calling init_logging again",
        )
    })?;
    // A panic is the crash support most needs to hear about. Its location
    // is logged, not its message: messages may quote values being handled.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        tracing::error!(at, thread, "panic");
        previous(info);
    }));
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        os = std::env::consts::OS,
        arch = std::env::consts::ARCH,
        "logging started"
    );
    Ok(LogGuard {
        dir: dir.to_path_buf(),
    })
}

/// The last `n` lines logged in `dir` (oldest first), across rotation.
/// Missing files simply contribute nothing.
pub fn tail(dir: &Path, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    // Newest file first; stop once enough lines are gathered.
    for i in 0..=KEEP_FILES {
        if lines.len() >= n {
            break;
        }
        let Ok(text) = std::fs::read(rotated(dir, i)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        let mut older: Vec<String> = text.lines().map(String::from).collect();
        older.append(&mut lines);
        lines = older;
    }
    let skip = lines.len().saturating_sub(n);
    lines.split_off(skip)
}

/// Logs a failed use case by its code, and by its message only when the
/// message cannot hold customer input (see the module policy).
pub(crate) fn log_error(op: &'static str, e: &Error) {
    let code = e.code();
    let system = matches!(
        e,
        Error::DiskFull
            | Error::DiskIo { .. }
            | Error::Sqlite(_)
            | Error::Migration(_)
            | Error::Busy
            | Error::TooNew { .. }
    ) || code == ErrorCode::DiskFull;
    if system {
        tracing::warn!(op, code = ?code, error = %e, "failed");
    } else {
        tracing::info!(op, code = ?code, "refused");
    }
}

fn rotated(dir: &Path, i: usize) -> PathBuf {
    if i == 0 {
        dir.join(LOG_FILE)
    } else {
        dir.join(format!("{LOG_FILE}.{i}"))
    }
}

/// A file that rotates by size: when the next line would pass `max_bytes`,
/// `.N-1` becomes `.N` (the oldest is dropped), ..., the current file
/// becomes `.1` and a fresh one starts.
#[derive(Debug)]
pub struct RollingFile {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
    /// Whether the last byte written ended a line: files are cut only
    /// between lines, even when a line arrives in several writes.
    at_line_start: bool,
}

impl RollingFile {
    pub fn open(dir: &Path, max_bytes: u64, keep: usize) -> Result<Self> {
        let io = |source| Error::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(rotated(dir, 0))
            .map_err(io)?;
        let written = file.metadata().map_err(io)?.len();
        Ok(RollingFile {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            file,
            written,
            at_line_start: true,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        for i in (1..=self.keep).rev() {
            let from = rotated(&self.dir, i - 1);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.dir, i))?;
            }
        }
        if self.keep == 0 {
            std::fs::remove_file(rotated(&self.dir, 0)).ok();
        }
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(rotated(&self.dir, 0))?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.at_line_start
            && self.written > 0
            && self.written + buf.len() as u64 > self.max_bytes
        {
            // A failed rotation (disk full, permissions) must not stop the
            // till: keep appending to the current file.
            let _ = self.rotate();
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if n > 0 {
            self.at_line_start = buf[n - 1] == b'\n';
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_by_size_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = RollingFile::open(dir.path(), 100, 2).unwrap();
        for i in 0..50 {
            writeln!(w, "line {i:03} .................").unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["regulars.log", "regulars.log.1", "regulars.log.2"]);
        for n in &names {
            let len = std::fs::metadata(dir.path().join(n)).unwrap().len();
            // A file is cut between lines: at most one line over.
            assert!(len <= 100 + 26, "{n} is {len} bytes");
        }
        let last = tail(dir.path(), 5);
        assert_eq!(last.len(), 5);
        assert_eq!(last[4], "line 049 .................");
        assert_eq!(last[0], "line 045 .................");
    }

    #[test]
    fn tail_of_a_missing_folder_is_empty() {
        assert!(tail(Path::new("/nonexistent/regulars/logs"), 10).is_empty());
    }

    #[test]
    fn reopening_appends_and_counts_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut w = RollingFile::open(dir.path(), 1000, 1).unwrap();
            w.write_all(b"first\n").unwrap();
        }
        let mut w = RollingFile::open(dir.path(), 1000, 1).unwrap();
        assert_eq!(w.written, 6);
        w.write_all(b"second\n").unwrap();
        assert_eq!(tail(dir.path(), 10), ["first", "second"]);
    }
}
