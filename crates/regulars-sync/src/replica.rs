//! The till's side of a sync round, as the driver in [`crate::client`]
//! needs it. Declared here without the client's dependencies so the store
//! (regulars-core) can implement it for itself.

use crate::protocol::{Change, ChangeResult, PullResponse};

/// The till's side, as the driver needs it. Each call is short: a host
/// that keeps the store behind a lock takes it per call, never across the
/// network wait.
pub trait Replica {
    type Error: std::fmt::Display;
    fn push_batch(&mut self, limit: usize) -> Result<Vec<Change>, Self::Error>;
    fn record_push(&mut self, results: &[ChangeResult], server_ms: u64) -> Result<(), Self::Error>;
    fn cursor(&mut self) -> Result<i64, Self::Error>;
    fn apply_page(&mut self, page: &PullResponse) -> Result<(), Self::Error>;
    fn learn_time(&mut self, server_ms: u64, sent_ms: u64, received_ms: u64);
}
