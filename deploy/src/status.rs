//! status placeholder
