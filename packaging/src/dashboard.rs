//! The dashboard bundle: the Shiny app as a deterministic tarball.

use std::path::{Path, PathBuf};

use crate::{io, write_named_by_hash, BuildError, Bundle};

/// The Shiny app's directory in the repository, and its artifact name.
pub const DASHBOARD: &str = "dashboard";

/// What of `dashboard/` ships: the app, its modules and its static files
/// (tests, screenshots and anything else stay behind).
const DASHBOARD_CONTENT: &[&str] = &["app.R", "R", "www"];

/// The time in every tarball header (tar's own deterministic choice, 2006-07-24):
/// a fixed time keeps the bytes stable, a non-zero one keeps `tar` quiet.
const TAR_MTIME: u64 = 1_153_704_088;

/// Packs the Shiny app in `source` (`app.R`, `R/`, `www/`) into `out` as
/// `dashboard-<hash>.tar.gz`, replacing older bundles there.
pub fn pack_dashboard(source: &Path, out: &Path) -> Result<Bundle, BuildError> {
    let tarball = dashboard_tarball(source)?;
    let (file, sha256) = write_named_by_hash(out, DASHBOARD, ".tar.gz", &tarball)?;
    Ok(Bundle {
        artifact: DASHBOARD.to_owned(),
        file,
        sha256,
        bytes: tarball.len() as u64,
    })
}

/// The shipped files of the app in `source` as a gzip tarball whose bytes
/// depend only on their paths and contents: sorted entries, one fixed time,
/// owner root, mode 0644, no gzip time or name.
fn dashboard_tarball(source: &Path) -> Result<Vec<u8>, BuildError> {
    let app = source.join("app.R");
    if !app.is_file() {
        return Err(BuildError::Dashboard {
            path: app.display().to_string(),
            message: "missing: the dashboard starts from app.R (shiny::runApp)".to_owned(),
        });
    }
    let mut files = Vec::new();
    for top in DASHBOARD_CONTENT {
        collect_shipped(source, Path::new(top), &mut files)?;
    }
    files.sort();
    let gzip = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    let mut archive = tar::Builder::new(gzip);
    for relative in &files {
        let path = source.join(relative);
        let contents = std::fs::read(&path).map_err(io(format!("reading {}", path.display())))?;
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(TAR_MTIME);
        header.set_uid(0);
        header.set_gid(0);
        archive
            .append_data(&mut header, relative, contents.as_slice())
            .map_err(io(format!("packing {}", path.display())))?;
    }
    let tarball = archive
        .into_inner()
        .and_then(|gzip| gzip.finish())
        .map_err(io("packing the dashboard"))?;
    Ok(tarball)
}

/// Adds the regular files at `relative` under `source` (a file, or a
/// directory walked recursively) to `files`. Hidden names (`.Rhistory`,
/// `.DS_Store`) and editor backups (`*~`) are left out; a missing `R/` or
/// `www/` is fine; a link or other special file is an error (the bundle holds
/// what the repository holds, nothing it points to).
fn collect_shipped(
    source: &Path,
    relative: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), BuildError> {
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with('.') || name.ends_with('~') {
        return Ok(());
    }
    let path = source.join(relative);
    let metadata = match std::fs::symlink_metadata(&path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io(format!("reading {}", path.display()))(error)),
    };
    if metadata.is_file() {
        files.push(relative.to_path_buf());
    } else if metadata.is_dir() {
        let entries =
            std::fs::read_dir(&path).map_err(io(format!("listing {}", path.display())))?;
        for entry in entries {
            let entry = entry.map_err(io(format!("listing {}", path.display())))?;
            collect_shipped(source, &relative.join(entry.file_name()), files)?;
        }
    } else {
        return Err(BuildError::Dashboard {
            path: path.display().to_string(),
            message: "is a symbolic link or special file: put the file itself in dashboard/"
                .to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::HASH_PREFIX_LEN;

    /// A small app as the dashboard's author has it, junk included.
    fn write_app(dir: &Path, files: &[(&str, &str)]) {
        for (path, contents) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }

    const APP: &[(&str, &str)] = &[
        ("app.R", "shiny::shinyApp(ui, server)\n"),
        ("R/traffic.R", "traffic_ui <- function(id) NULL\n"),
        ("R/funnels.R", "funnels_ui <- function(id) NULL\n"),
        ("www/plotly-2.35.2.min.js", "/* plotly.js */"),
        ("www/LICENSE.plotly.txt", "MIT"),
    ];

    fn tar_paths(tarball: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let entry = e.unwrap();
                assert_eq!(entry.header().mode().unwrap(), 0o644);
                assert_eq!(entry.header().uid().unwrap(), 0);
                entry.path().unwrap().to_string_lossy().into_owned()
            })
            .collect()
    }

    #[test]
    fn the_dashboard_bundle_ships_the_app_only_and_is_named_by_its_content() {
        let (a, b, out) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        write_app(a.path(), APP);
        write_app(
            a.path(),
            &[
                (".Rhistory", "q()"),
                ("R/.DS_Store", "junk"),
                ("R/traffic.R~", "backup"),
                ("tests/testthat/test-traffic.R", "test_that()"),
                ("tests/screenshots/traffic.png", "png"),
                ("run.R", "shiny::runApp()"),
                ("README.md", "notes"),
            ],
        );
        // The same files written in another order, at other times, one executable.
        let mut reversed = APP.to_vec();
        reversed.reverse();
        write_app(b.path(), &reversed);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            b.path().join("app.R"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();

        let first = pack_dashboard(a.path(), out.path()).unwrap();
        let tarball = std::fs::read(out.path().join(&first.file)).unwrap();
        assert_eq!(
            tar_paths(&tarball),
            [
                "R/funnels.R",
                "R/traffic.R",
                "app.R",
                "www/LICENSE.plotly.txt",
                "www/plotly-2.35.2.min.js"
            ]
        );
        assert_eq!(first.sha256, hex::encode(Sha256::digest(&tarball)));
        assert_eq!(first.bytes, tarball.len() as u64);
        assert_eq!(
            first.file,
            format!("dashboard-{}.tar.gz", &first.sha256[..HASH_PREFIX_LEN])
        );
        assert_eq!(first.key(), format!("dashboard/{}", first.file));
        assert_eq!(pack_dashboard(b.path(), out.path()).unwrap(), first);

        // One changed file: a new name, and the older bundle is gone.
        write_app(
            b.path(),
            &[("R/funnels.R", "funnels_ui <- function(id) 1\n")],
        );
        let second = pack_dashboard(b.path(), out.path()).unwrap();
        assert_ne!(second.sha256, first.sha256);
        let files: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, [second.file]);
    }

    #[test]
    fn a_dashboard_without_app_r_or_with_a_link_is_refused() {
        let (app, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_app(app.path(), &[("R/traffic.R", "x")]);
        let error = pack_dashboard(app.path(), out.path()).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("app.R: missing: the dashboard starts from app.R (shiny::runApp)"),
            "{error}"
        );
        write_app(app.path(), &[("app.R", "x")]);
        std::os::unix::fs::symlink("/etc/passwd", app.path().join("www")).unwrap();
        let error = pack_dashboard(app.path(), out.path()).unwrap_err();
        assert!(
            error.to_string().contains("www: is a symbolic link"),
            "{error}"
        );
    }
}
