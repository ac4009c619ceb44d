//! Deterministic synthetic people (PLACEHOLDER: being written).
