//! The sync contract between tills and the central server, shared by both
//! sides so they can never disagree: the wire types ([`protocol`]), the
//! hybrid logical clock that orders every change ([`hlc`]) and the merge
//! rules that decide what a change does to data that already exists
//! ([`rules`]).
//!
//! This crate does no I/O: no SQLite, no HTTP. The till's store applies
//! changes with these rules (regulars-core), the server stores and relays
//! them (regulars-server), and both are tested against the same pure
//! functions here. See `docs/sync.md` for the design.

pub mod hlc;
pub mod protocol;
pub mod rules;

pub use hlc::{Clock, Hlc, Stamp};
pub use protocol::{Change, ChangeResult, ChangeStatus};

/// Why a change or a request cannot be accepted. Each message says what the
/// sender should do about it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("the clock stamp {0:?} is not valid: it must look like 0001764000000000.00000")]
    BadStamp(String),
    #[error("{what} {value:?} is not a valid id: ids are UUIDs; the sending till may be damaged, re-enroll it")]
    BadId { what: &'static str, value: String },
    #[error("change kind {entity}/{op} is unknown to this version: upgrade Regulars on every till and on the server")]
    UnknownKind { entity: String, op: String },
    #[error("change schema {got} is newer than this version understands ({max}): upgrade the server first")]
    SchemaTooNew { got: u32, max: u32 },
    #[error(
        "the change's payload is {size} bytes, more than {max}: split the data or shorten the text"
    )]
    TooLarge { size: usize, max: usize },
    #[error("the change's payload is not what {entity}/{op} carries ({detail}); the till that sent it needs an upgrade")]
    BadPayload {
        entity: String,
        op: String,
        detail: String,
    },
}
