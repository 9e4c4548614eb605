//! Test peers for SBW's own tests: a table of good and bad events shared by
//! the contract and ingest suites.

pub mod events;
