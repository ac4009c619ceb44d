//! The Regulars core: domain types, the SQLite store and customer
//! recognition. Everything here is Tauri-free and builds and tests without
//! WebKit; the desktop shell (`src-tauri`) and the CLI (`regulars-cli`) are
//! thin layers over [`Regulars`].
//!
//! Owns: identifiers and card numbers (parsed once at the edge), the schema
//! and its migrations, the outbox of changes for sync, the in-memory search
//! index and its ranking, the deterministic demo store.
//! Does not own: how changes travel to a server (a later sync crate), how
//! anything is displayed (the UI), or where the app keeps its data folder.
//! Logging setup lives here ([`logging`]) so the app and the CLI share one
//! policy: nothing personal is ever logged.

pub mod barcode;
pub mod card;
pub mod checkout;
pub mod demo;
pub mod diagnostics;
pub mod error;
pub mod export;
pub mod ids;
pub mod import;
pub mod logging;
pub mod loyalty;
pub mod manage;
pub mod model;
pub mod people;
pub mod regulars;
pub mod review;
pub mod rng;
pub mod search;
pub mod staff;
pub mod store;
pub mod suggest;
pub mod sync;

pub use error::{Error, ErrorCode, Result};
/// Checks the shop's settings as the owner typed them (see `Regulars::save_store_settings`).
pub use regulars::validate_store_settings;
pub use regulars::{PreparedSuggestions, Regulars, DEFAULT_BACKUPS_KEPT};
