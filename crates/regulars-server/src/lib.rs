//! The Regulars central sync server: tills enroll with a one-time code,
//! push their outbox in batches and pull the other tills' changes in the
//! server's commit order. See docs/sync.md for the design and
//! docs/openapi.json for the API.
//!
//! Owns: the device registry and enrolment codes (tokens and codes stored
//! as SHA-256 hashes), the change log with its cursor, server-side erasure
//! (scrubbing stored changes about an erased customer), the HTTP API and
//! listening (TLS). Storage is behind [`backend::Backend`] with two
//! implementations: SQLite (embedded, default) and PostgreSQL.
//!
//! Does not own: what a change means or which one wins (regulars-sync's
//! `rules`, shared with the tills), nor applying changes to a till's store
//! (regulars-core). The server never interprets payloads beyond the
//! customer a change is about.

pub mod backend;
pub mod error;
pub mod http;
pub mod push;
pub mod secrets;
pub mod serve;
pub mod service;

pub use backend::{Backend, Device, PgBackend, SqliteBackend};
pub use error::{Error, Result};
