//! A function's package: its binary as `bootstrap` in a deterministic zip.

use std::io::Write;
use std::path::Path;

use crate::{io, write_named_by_hash, BuildError, Package};

/// Zips `binary` as `bootstrap` into `out` as `<function>-<hash>.zip`,
/// replacing older packages of the same function there.
pub fn write_package(out: &Path, function: &str, binary: &[u8]) -> Result<Package, BuildError> {
    let zip = bootstrap_zip(binary).map_err(io(format!("zipping {function}")))?;
    let (file, sha256) = write_named_by_hash(out, function, ".zip", &zip)?;
    Ok(Package {
        function: function.to_owned(),
        file,
        sha256,
        bytes: zip.len() as u64,
        glibc: None,
    })
}

/// A zip holding only `bootstrap` (0755, the zip epoch as its time), so
/// the same binary always gives the same bytes and the same hash.
pub fn bootstrap_zip(binary: &[u8]) -> std::io::Result<Vec<u8>> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HASH_PREFIX_LEN;

    #[test]
    fn the_same_binary_gives_the_same_zip_holding_an_executable_bootstrap() {
        let binary = b"\x7fELF not really, but bytes".repeat(100);
        let zip = bootstrap_zip(&binary).unwrap();
        assert_eq!(zip, bootstrap_zip(&binary).unwrap());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755);
        assert_ne!(zip, bootstrap_zip(b"another binary").unwrap());
    }

    #[test]
    fn packages_are_named_by_content_and_replace_older_ones() {
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("ingest-notahash.zip"), "someone else's").unwrap();
        let first = write_package(out.path(), "ingest", b"version one").unwrap();
        assert!(first.file.starts_with("ingest-") && first.file.ends_with(".zip"));
        assert_eq!(first.key(), format!("lambda/{}", first.file));
        assert_eq!(
            first.sha256[..HASH_PREFIX_LEN],
            first.file[7..7 + HASH_PREFIX_LEN]
        );
        let second = write_package(out.path(), "ingest", b"version two").unwrap();
        assert_ne!(first.file, second.file);
        let mut files: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, vec![second.file, "ingest-notahash.zip".to_owned()]);
    }
}
