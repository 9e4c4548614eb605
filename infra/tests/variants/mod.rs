//! The rendered environments the template tests cover: each example
//! configuration with its profile overrides. infra's tests and runbooks'
//! alarm test read this one list; both crates sit one level below the
//! workspace root, so the paths resolve from either.

// Each test binary that includes this reads only part of it.
#![allow(dead_code)]

use sbw_infra::config::Profile;

pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");
pub const VARIANTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../infra/tests/fixtures/variants.yaml"
);

/// (case and golden directory, config file, environment, profile override)
pub const CASES: &[(&str, &str, &str, Option<Profile>)] = &[
    ("dev-minimal", EXAMPLE, "dev", None),
    ("dev-hardened", EXAMPLE, "dev", Some(Profile::Hardened)),
    ("prod-hardened", EXAMPLE, "prod", None),
    ("prod-minimal", EXAMPLE, "prod", Some(Profile::Minimal)),
    ("variants-bare", VARIANTS, "bare", None),
    ("variants-loaded", VARIANTS, "loaded", None),
    ("variants-fortress", VARIANTS, "fortress", None),
];
