//! `sbwctl deploy | destroy | status` and the on-call commands: the AWS side
//! of the platform. It deploys what `sbw-packaging` built and never compiles.
//! Everything here talks to AWS through the
//! standard SDK configuration chain; tests point it at an emulator with
//! `AWS_ENDPOINT_URL` (or hand it mocked clients) and nothing else differs.

pub mod alarms;
pub mod alerts;
pub mod aws;
pub mod bootstrap;
pub mod deploy;
pub mod deployed;
pub mod destroy;
pub mod dlq;
pub mod etl_remote;
pub mod logs;
pub mod plan;
pub mod progress;
pub mod protection;
pub mod rotate;
pub mod snapshot;
pub mod stack;
pub mod status;
pub mod warehouse;

pub use aws::{Aws, AwsError};
