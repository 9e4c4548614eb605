//! Which glibc a Lambda binary needs: `provided.al2023` ships 2.34.

use serde::{Deserialize, Serialize};

/// `provided.al2023` ships glibc 2.34: no symbol may need a newer one.
pub const GLIBC_MAX: GlibcVersion = GlibcVersion([2, 34, 0]);

/// A glibc symbol version: `GLIBC_2.2.5` is [2, 2, 5], `GLIBC_2.34` [2, 34, 0].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GlibcVersion(pub [u32; 3]);

impl GlibcVersion {
    /// Parses `2.34` or `2.2.5`.
    pub fn parse(text: &str) -> Option<GlibcVersion> {
        let mut parts = [0; 3];
        let mut count = 0;
        for part in text.split('.') {
            *parts.get_mut(count)? = part.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(GlibcVersion(parts))
    }
}

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [major, minor, patch] = self.0;
        write!(f, "{major}.{minor}")?;
        if patch != 0 {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

/// The newest `GLIBC_x.y` version an ELF executable needs (from its
/// `.gnu.version_r` section); `None` for a binary that needs no glibc symbol
/// versions (a static one).
pub fn max_glibc_version(elf: &[u8]) -> Result<Option<GlibcVersion>, String> {
    use object::read::elf::{ElfFile64, FileHeader};
    let file = ElfFile64::<object::Endianness>::parse(elf).map_err(|e| e.to_string())?;
    let endian = file.endian();
    let sections = file
        .elf_header()
        .sections(endian, elf)
        .map_err(|e| e.to_string())?;
    let Some((mut needs, link)) = sections
        .gnu_verneed(endian, elf)
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let strings = sections
        .strings(endian, elf, link)
        .map_err(|e| e.to_string())?;
    let mut newest: Option<GlibcVersion> = None;
    while let Some((_, mut versions)) = needs.next().map_err(|e| e.to_string())? {
        while let Some(version) = versions.next().map_err(|e| e.to_string())? {
            let name = version.name(endian, strings).map_err(|e| e.to_string())?;
            // Other libraries' versions and GLIBC_PRIVATE are not glibc releases.
            let Some(version) = std::str::from_utf8(name)
                .ok()
                .and_then(|n| n.strip_prefix("GLIBC_"))
                .and_then(GlibcVersion::parse)
            else {
                continue;
            };
            if newest.is_none_or(|n| version > n) {
                newest = Some(version);
            }
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_are_read_from_the_elf_version_needs() {
        // This test binary is linked against the host's glibc.
        let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let newest = max_glibc_version(&own).unwrap().expect("a dynamic binary");
        assert!(newest >= GlibcVersion([2, 2, 5]), "{newest}");
        assert!(newest.0[0] == 2 && newest.0[1] < 100, "{newest}");
        assert!(max_glibc_version(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn glibc_versions_compare_numerically() {
        let parse = |text| GlibcVersion::parse(text).unwrap();
        assert!(parse("2.34") > parse("2.4"));
        assert!(parse("2.2.5") < parse("2.17"));
        assert_eq!(parse("2.2.5").to_string(), "2.2.5");
        assert_eq!(GLIBC_MAX.to_string(), "2.34");
        assert_eq!(GlibcVersion::parse("PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("2"), None);
    }
}
