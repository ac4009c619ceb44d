//! The crate's one error type, and the closed set of codes it maps to when it
//! crosses into the UI. Messages are written for the person at the till or
//! the owner reading a CLI error: they say what went wrong *and what to do*.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "'{value}' is not a valid {what}; copy the id exactly as shown in the app or CLI output"
    )]
    InvalidId { what: &'static str, value: String },

    #[error("'{value}' is not a card number: {reason}. Scan the card again or type the number printed under the barcode")]
    InvalidCard { value: String, reason: &'static str },

    #[error("card {value} has a wrong check digit (the last digit should be {expected}); it was probably mis-typed or mis-scanned, so scan it again")]
    BadCheckDigit { value: String, expected: u8 },

    #[error("no customer holds card {code}; enrol a new customer with it or attach it to an existing customer")]
    UnknownCard { code: String },

    #[error("card {code} already belongs to another customer; retire it there first or use a different card")]
    CardTaken { code: String },

    #[error("card {code} was retired ({reason}); the customer should use their current card, or the owner can reissue one")]
    CardRetired { code: String, reason: String },

    #[error("no {what} matches '{key}'; search by name, phone or card instead")]
    NotFound { what: &'static str, key: String },

    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },

    #[error("the store file is busy (another Regulars window or program has it open); close the other one and try again")]
    Busy,

    #[error("the store file {path} is damaged or is not a Regulars store ({detail}); nothing was changed. Restore the latest backup, or open a different file")]
    Corrupt { path: String, detail: String },

    #[error("the store file was made by a newer version of Regulars (schema {found}, this build knows {known}); update Regulars before opening it")]
    TooNew { found: i64, known: i64 },

    #[error("could not read or write {path}: {source}; check the path exists and is writable")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}, line {line}: {reason}")]
    Import {
        file: String,
        line: u64,
        reason: String,
    },

    /// SQLite could not grow the file (SQLITE_FULL): the write was rolled
    /// back whole, so nothing of it is stored and nothing before it is lost.
    #[error("the disk is full: this change was not saved (everything saved before it is safe). Free some space on the disk (empty the bin, delete old downloads or backups), then try again")]
    DiskFull,

    /// The disk refused a read or write (SQLITE_IOERR): failing hardware,
    /// a removed USB drive, a network share that went away.
    #[error("the disk could not read or write the store file ({detail}); this change was not saved. Check the drive is connected and healthy, then try again; if it keeps happening, copy the diagnostics for support")]
    DiskIo { detail: String },

    // Built through `From<rusqlite::Error>` below, which sorts out the disk
    // errors first so they never reach the person as a bare SQLite message.
    /// An action that cannot be done now, with why and what to do instead
    /// (an undo whose rows changed since, a merge of a customer with itself).
    #[error("{action} refused: {reason}")]
    Refused {
        action: &'static str,
        reason: String,
    },
    #[error("wrong PIN; {attempts_left} more wrong tries lock this person out for a while. Check the PIN and try again")]
    WrongPin { attempts_left: u32 },

    #[error("too many wrong PINs: locked until {until} (about {seconds} s); wait, or ask the owner to reset the PIN")]
    LockedOut { until: String, seconds: u64 },

    #[error("only the owner can {what}; ask the owner to unlock the till")]
    OwnerOnly { what: &'static str },

    #[error("store error: {0}")]
    Sqlite(rusqlite::Error),

    // The migration error quotes whole SQL scripts; a person needs the gist.
    #[error("could not upgrade the store schema ({}); nothing was changed: restore a backup or report this", first_line(.0))]
    Migration(#[from] rusqlite_migration::Error),
}

/// The closed set of error codes the UI switches on. New variants of
/// [`Error`] must map onto one of these; the UI never parses messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    BadCheckDigit,
    UnknownCard,
    CardTaken,
    CardRetired,
    NotFound,
    Busy,
    Corrupt,
    /// A PIN did not match; the message says how many tries are left.
    WrongPin,
    /// Too many wrong PINs; the message says when to try again.
    LockedOut,
    /// The action needs the owner's session.
    OwnerOnly,
    /// The disk is full: nothing of the failed change was saved; free space
    /// and retry.
    DiskFull,
    Internal,
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidId { .. } | Error::InvalidCard { .. } | Error::Invalid { .. } => {
                ErrorCode::InvalidInput
            }
            Error::Import { .. } | Error::Refused { .. } => ErrorCode::InvalidInput,
            Error::BadCheckDigit { .. } => ErrorCode::BadCheckDigit,
            Error::UnknownCard { .. } => ErrorCode::UnknownCard,
            Error::CardTaken { .. } => ErrorCode::CardTaken,
            Error::CardRetired { .. } => ErrorCode::CardRetired,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Busy => ErrorCode::Busy,
            Error::WrongPin { .. } => ErrorCode::WrongPin,
            Error::LockedOut { .. } => ErrorCode::LockedOut,
            Error::OwnerOnly { .. } => ErrorCode::OwnerOnly,
            Error::Corrupt { .. } | Error::TooNew { .. } => ErrorCode::Corrupt,
            Error::Sqlite(e) if is_busy(e) => ErrorCode::Busy,
            Error::DiskFull => ErrorCode::DiskFull,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                ErrorCode::DiskFull
            }
            Error::DiskIo { .. } | Error::Io { .. } | Error::Sqlite(_) | Error::Migration(_) => {
                ErrorCode::Internal
            }
        }
    }

    /// An error about what was being written (a bad value, a broken
    /// reference, a constraint) rather than about the store itself (busy,
    /// disk full, damaged): retrying the same data will not help, but other
    /// data may still go in.
    pub fn is_about_the_data(&self) -> bool {
        match self {
            Error::Sqlite(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
                    || matches!(
                        e,
                        rusqlite::Error::InvalidColumnType(..)
                            | rusqlite::Error::FromSqlConversionFailure(..)
                            | rusqlite::Error::IntegralValueOutOfRange(..)
                    )
            }
            _ => matches!(
                self.code(),
                ErrorCode::InvalidInput
                    | ErrorCode::NotFound
                    | ErrorCode::UnknownCard
                    | ErrorCode::CardTaken
                    | ErrorCode::CardRetired
                    | ErrorCode::BadCheckDigit
            ),
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// The one place SQLite errors become [`Error`]s: a full disk and disk I/O
/// failures get messages a person can act on; the rest stay `Sqlite`.
/// (SQLite's unix layer already reports a write that hit ENOSPC as
/// SQLITE_FULL, so a really full disk and `max_page_count` look the same.)
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::DiskFull,
            Some(rusqlite::ErrorCode::SystemIoFailure) => {
                // The extended code names the failing operation (write,
                // fsync, truncate...), which is what support needs.
                let ext = match &e {
                    rusqlite::Error::SqliteFailure(f, _) => f.extended_code,
                    _ => 0,
                };
                Error::DiskIo {
                    detail: format!("SQLite I/O error {ext}"),
                }
            }
            _ => Error::Sqlite(e),
        }
    }
}

impl Error {
    /// Whether the failure was the disk (full or failing) rather than the
    /// data: the caller may retry the same change once the disk is fixed.
    pub fn is_disk(&self) -> bool {
        matches!(self, Error::DiskFull | Error::DiskIo { .. }) || self.code() == ErrorCode::DiskFull
    }
}

pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Echoes user input back in a message without flooding it: hostile or
/// accidental 10,000-character pastes are cut to a readable length.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

fn first_line(e: &impl std::fmt::Display) -> String {
    let s = e.to_string();
    let line = s.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(160).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_errors_map_to_what_a_person_can_act_on() {
        use rusqlite::ffi;
        for (code, want) in [
            (ffi::SQLITE_FULL, ErrorCode::DiskFull),
            (ffi::SQLITE_IOERR_WRITE, ErrorCode::Internal),
            (ffi::SQLITE_IOERR_FSYNC, ErrorCode::Internal),
            (ffi::SQLITE_BUSY, ErrorCode::Busy),
            (ffi::SQLITE_CONSTRAINT_UNIQUE, ErrorCode::Internal),
        ] {
            let e = Error::from(sqlite(code));
            assert_eq!(e.code(), want, "{code}: {e}");
        }
        let full = Error::from(sqlite(ffi::SQLITE_FULL));
        assert!(matches!(full, Error::DiskFull) && full.is_disk());
        assert!(full.to_string().contains("Free some space"));
        let io = Error::from(sqlite(ffi::SQLITE_IOERR_WRITE));
        assert!(matches!(io, Error::DiskIo { .. }) && io.is_disk());
        assert!(io.to_string().contains("I/O error 778"), "{io}");
        assert!(!Error::from(sqlite(ffi::SQLITE_CONSTRAINT_UNIQUE)).is_disk());
        let enospc = Error::Io {
            path: "x".into(),
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        assert_eq!(enospc.code(), ErrorCode::DiskFull);
    }
}
