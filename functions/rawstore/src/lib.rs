//! The raw store, shared by everything that touches the raw bucket: the
//! ingest function writes to it, the ETL lists and reads it, `sbwctl`'s
//! status and dead-letter commands read and write it, the tests fill it.
//!
//! One API ([`RawStore`]) over both places it lives: the S3 raw bucket in
//! AWS, a local directory with the same keys in dev (its writers are in
//! [`directory`]). The objects are gzipped NDJSON ([`ndjson`]), read back
//! within limits by [`decode`]; the keys are `sbw_contract::rawkey`'s.
//! [`dead_letter`] is the form of an object the store refused.

pub mod dead_letter;
pub mod decode;
pub mod directory;
pub mod ndjson;
mod store;

pub use store::{Operation, RawObject, RawStore, StoreError};
