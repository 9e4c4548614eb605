//! The EC2 instance types the warehouse may use, with their on-demand prices,
//! the profiles' defaults and the instance's root disk: the one list that the
//! config (what it accepts), the templates and the cost estimate read.

use serde::{Deserialize, Serialize};

/// A CPU architecture of the warehouse instance or the Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    Arm64,
    X86_64,
}

/// The regions [`InstanceType::hourly_usd`] has a price for, in its order.
pub const PRICE_REGIONS: [&str; 2] = ["us-east-1", "ap-southeast-1"];

/// One instance type the warehouse may use.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    pub name: &'static str,
    /// On-demand USD per hour (Linux), in each of [`PRICE_REGIONS`].
    pub hourly_usd: [f64; PRICE_REGIONS.len()],
}

impl InstanceType {
    const fn new(name: &'static str, hourly_usd: [f64; PRICE_REGIONS.len()]) -> Self {
        InstanceType { name, hourly_usd }
    }

    /// The on-demand price per hour in `region`, if the catalogue has one.
    pub fn hourly_usd_in(&self, region: &str) -> Option<f64> {
        let column = PRICE_REGIONS.iter().position(|r| *r == region)?;
        Some(self.hourly_usd[column])
    }
}

/// Every instance type the config accepts, with its prices in [`PRICE_REGIONS`].
pub const INSTANCE_TYPES: &[InstanceType] = &[
    InstanceType::new("t4g.micro", [0.0084, 0.0106]),
    InstanceType::new("t4g.small", [0.0168, 0.0212]),
    InstanceType::new("t4g.medium", [0.0336, 0.0424]),
    InstanceType::new("t4g.large", [0.0672, 0.0848]),
    InstanceType::new("t3.micro", [0.0104, 0.0132]),
    InstanceType::new("t3.small", [0.0208, 0.0264]),
    InstanceType::new("t3.medium", [0.0416, 0.0528]),
    InstanceType::new("m7g.medium", [0.0408, 0.0502]),
    InstanceType::new("m7g.large", [0.0816, 0.1004]),
];

/// The warehouse instance type of the minimal profile when `sbw.yaml` names none.
pub const MINIMAL_DEFAULT: &str = "t4g.micro";
/// The same for the hardened profile.
pub const HARDENED_DEFAULT: &str = "t4g.small";

/// Root disk of the warehouse instance (the Ubuntu AMI's size); data has its own volume.
pub const ROOT_VOLUME_GB: u64 = 8;

/// The catalogue's entry for `name`.
pub fn instance_type(name: &str) -> Option<&'static InstanceType> {
    INSTANCE_TYPES.iter().find(|t| t.name == name)
}

/// EC2 instances of a Graviton family (`t4g`, `m7g`, ...) are arm64.
pub fn architecture(instance_type: &str) -> Architecture {
    let family = instance_type.split('.').next().unwrap_or_default();
    if family
        .trim_end_matches(|c: char| c.is_ascii_alphabetic() && c != 'g')
        .ends_with('g')
        || family.contains("gd")
    {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graviton_families_are_arm64() {
        assert_eq!(architecture("t4g.micro"), Architecture::Arm64);
        assert_eq!(architecture("m7g.large"), Architecture::Arm64);
        assert_eq!(architecture("t3.small"), Architecture::X86_64);
        assert_eq!(architecture("m7i.large"), Architecture::X86_64);
    }

    /// `examples/sbw.yaml` lists the types as `family.{size,size}, ...`.
    #[test]
    fn the_example_config_lists_the_catalogue() {
        let example = include_str!("../../examples/sbw.yaml");
        let (_, after) = example.split_once("# instance_type: ").unwrap();
        let (defaults, after) = after.split_once('\n').unwrap();
        let listed_line = after.lines().next().unwrap();
        let listed = listed_line.trim_start_matches([' ', '#']);
        let mut names = Vec::new();
        for group in listed.split("}, ") {
            let (family, sizes) = group.split_once(".{").unwrap();
            for size in sizes.trim_end_matches('}').split(',') {
                names.push(format!("{family}.{size}"));
            }
        }
        let catalogue: Vec<&str> = INSTANCE_TYPES.iter().map(|t| t.name).collect();
        assert_eq!(names, catalogue, "{listed_line}");
        let expected =
            format!("default: {MINIMAL_DEFAULT} (minimal), {HARDENED_DEFAULT} (hardened)");
        assert!(defaults.contains(&expected), "{defaults}");
    }

    #[test]
    fn the_defaults_are_in_the_catalogue() {
        for default in [MINIMAL_DEFAULT, HARDENED_DEFAULT] {
            assert!(instance_type(default).is_some(), "{default}");
        }
    }
}
