//! Test peers for SBW's own tests, real enough to run the shipped code
//! against: a table of good and bad events shared by the contract and ingest
//! suites ([`events`]), a local Lambda Runtime API ([`runtime_api`]) that
//! runs a function binary as Lambda would, a launcher for moto's AWS API
//! emulator ([`moto`]), API Gateway HTTP API events ([`http_api`]), throwaway
//! warehouse databases ([`postgres`]), realistic raw stores for the
//! benchmarks ([`raw_events`]), a PostgreSQL server of a test's own
//! ([`pg_server`]), an endpoint that never answers ([`stall`]), proxies
//! that inject faults between the functions and their peers (HTTP for the
//! AWS endpoint, [`fault_proxy`]; TCP for PostgreSQL, [`tcp_proxy`]) and the
//! simulated shoppers of crate `sbw-shoppers` ([`shoppers`]).

mod connections;
pub mod events;
pub mod fault_proxy;
pub mod http_api;
pub mod moto;
pub mod ndjson;
pub mod pg_server;
pub mod postgres;
pub mod raw_events;
pub mod runtime_api;
pub mod stall;
pub mod tcp_proxy;
pub use sbw_shoppers as shoppers;

pub use http_api::{HttpApiRequest, HttpApiResponse};
pub use moto::Moto;
pub use runtime_api::{FunctionProcess, InvocationOutcome, RuntimeApi};

/// The region of every test peer.
pub const AWS_REGION: &str = "us-east-1";
/// Credentials moto accepts; they open nothing anywhere else.
pub const FAKE_ACCESS_KEY_ID: &str = "testing";
pub const FAKE_SECRET_ACCESS_KEY: &str = "testing";

/// A name no other test uses (`sbw-test-<what>-<12 hex>`), valid for
/// buckets, queues, parameters and functions in the shared moto.
pub fn unique_name(what: &str) -> String {
    format!(
        "sbw-test-{what}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}
