//! SBW infrastructure as code: the deployment config (`sbw.yaml`), the
//! CloudFormation templates rendered from `templates/`, the checks run on
//! them, the monthly cost estimate, and the catalogue of instance types the
//! three share. `sbwctl render|validate|cost` are thin wrappers over this crate.

pub mod catalogue;
pub mod checks;
pub mod config;
pub mod cost;
pub mod iam;
pub mod names;
pub mod render;
