//! The crate's one error enum. Each variant maps onto exactly one
//! [`ApiErrorCode`] (and so one HTTP status) in [`Error::code`]; the HTTP
//! layer never invents its own. Messages say what went wrong and what to do,
//! and never carry a payload, a token or an enrolment code.

use regulars_sync::protocol::ApiErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("no valid device token was given: send `Authorization: Bearer TOKEN` with the token from enrolment, or enroll this till again")]
    Unauthorized,
    #[error("this device was revoked by the owner: it can no longer sync; ask the owner to enroll the till again with a new device")]
    Revoked,
    #[error("this enrolment code is unknown, already used or expired: ask the owner for a new one (`regulars-server enroll --store NAME`)")]
    BadEnrollCode,
    #[error("the cursor {after} is older than the oldest change the server keeps ({floor}): bootstrap this till again from a snapshot")]
    ResyncRequired { after: i64, floor: i64 },
    #[error("no device {0} is enrolled: list them with `regulars-server devices`")]
    UnknownDevice(String),
    #[error("the store name must be 1 to 100 characters without control characters")]
    BadStoreName,
    #[error("the server's SQLite store failed: {0}; check the disk and the data directory's permissions")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the server's SQLite store could not be migrated: {0}; restore the data directory from a backup or use a newer server")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("the PostgreSQL database failed: {0}; check that it is running and reachable with the --database URL")]
    Postgres(#[from] postgres::Error),
    #[error("stored data could not be read back ({0}); the database may have been edited by hand")]
    Corrupt(String),
    #[error("{what} failed: {source}; check the path and permissions")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error(
        "the server's store could not commit a push ({0}); the till keeps its changes and retries"
    )]
    Commit(String),
    #[error("the operating system's random source failed; the server cannot make tokens")]
    Random,
    #[error("a server task stopped unexpectedly; retry")]
    Task,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The API's closed error code for this error.
    pub fn code(&self) -> ApiErrorCode {
        match self {
            Error::BadRequest(_) | Error::UnknownDevice(_) | Error::BadStoreName => {
                ApiErrorCode::BadRequest
            }
            Error::TooLarge(_) => ApiErrorCode::TooLarge,
            Error::Unauthorized => ApiErrorCode::Unauthorized,
            Error::Revoked => ApiErrorCode::Revoked,
            Error::BadEnrollCode => ApiErrorCode::BadEnrollCode,
            Error::ResyncRequired { .. } => ApiErrorCode::ResyncRequired,
            Error::Sqlite(_)
            | Error::Migration(_)
            | Error::Postgres(_)
            | Error::Corrupt(_)
            | Error::Io { .. }
            | Error::Config(_)
            | Error::Commit(_)
            | Error::Random
            | Error::Task => ApiErrorCode::Internal,
        }
    }

    /// Whether the message may be shown to the client. Internal failures
    /// are logged on the server and answered with a generic message.
    pub fn is_internal(&self) -> bool {
        self.code() == ApiErrorCode::Internal
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
        Error::Corrupt(what.to_string())
    }
}
