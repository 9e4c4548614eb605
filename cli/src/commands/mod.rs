//! One module per command group.

mod aws;
pub mod build;
pub mod cost;
pub mod deploy;
pub mod destroy;
pub mod dev;
pub mod etl;
pub mod render;
pub mod status;
mod target;
pub mod validate;
