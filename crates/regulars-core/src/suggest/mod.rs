//! Suggestions: what the cashier could say (conversation prompts) and what
//! they could offer (replenishment, discovery, rewards, campaigns), each with
//! a reason that shows its evidence.
//!
//! Decisions are pure, deterministic functions of history (see [`history`],
//! [`rank`]); a thin loader reads what they need from the store.

pub mod engine;
pub mod eval;
pub mod facts;
pub mod gbdt;
pub mod history;
pub mod offers;
pub mod prompts;
pub mod rank;
pub mod record;
pub mod text;
