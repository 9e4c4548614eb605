//! Checks on rendered templates.
