//! Managing customers: the pure decisions behind the owner's tools. The
//! duplicate finder's blocking and pair scoring ([`duplicates`]) and the
//! campaign editor's validation and preview rule ([`campaigns`]).
//!
//! Owns: decisions over plain values, tested as data tables.
//! Does not own: the writes (edits, households, notes, merges and their undo
//! journal live in `store/manage.rs`) or orchestration (`Regulars`).

pub mod campaigns;
pub mod duplicates;
