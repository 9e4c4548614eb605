//! One module per command group.

pub mod cost;
pub mod dev;
pub mod etl;
pub mod render;
mod target;
pub mod validate;
