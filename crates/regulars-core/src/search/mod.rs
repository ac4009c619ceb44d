//! Customer recognition by name, phone or email (PLACEHOLDER: being written).
