//! One module per command group.

mod aws;
pub mod build;
pub mod cost;
pub mod deploy;
pub mod dev;
pub mod etl;
pub mod render;
mod target;
pub mod validate;
