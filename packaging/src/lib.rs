//! `sbwctl build`: every Lambda function cross-built for `provided.al2023`
//! (glibc 2.34) with cargo-zigbuild, packaged as a deterministic zip holding
//! `bootstrap`, and the dashboard app as a deterministic tarball; each named
//! by its content hash so an unchanged one is neither uploaded nor redeployed.
//! Nothing here calls AWS.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sbw_infra::config::Architecture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A Lambda function of the workspace: its artifact name (what the templates'
/// `Artifact` parameters ask for), cargo package and binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    pub package: &'static str,
    pub bin: &'static str,
}

/// Every function `sbwctl build` packages.
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "ingest",
        package: "sbw-ingest",
        bin: "ingest",
    },
    Function {
        name: "etl",
        package: "sbw-etl",
        bin: "etl",
    },
];

/// `provided.al2023` ships glibc 2.34: no symbol may need a newer one.
pub const GLIBC_MAX: GlibcVersion = GlibcVersion([2, 34, 0]);

/// The build description written beside the zips; `sbwctl deploy` reads it.
pub const BUILD_FILE: &str = "build.json";

/// Hex digits of an artifact's SHA-256 in its name.
const HASH_PREFIX_LEN: usize = 16;

/// The Shiny app's directory in the repository, and its artifact name.
pub const DASHBOARD: &str = "dashboard";

/// What of `dashboard/` ships: the app, its modules and its static files
/// (tests, screenshots and anything else stay behind).
const DASHBOARD_CONTENT: &[&str] = &["app.R", "R", "www"];

/// The time in every tarball header (tar's own deterministic choice, 2006-07-24):
/// a fixed time keeps the bytes stable, a non-zero one keeps `tar` quiet.
const TAR_MTIME: u64 = 1_153_704_088;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("sbwctl build runs inside the SBW repository (cargo locate-project failed: {0})")]
    NotInRepository(String),
    #[error("cargo-zigbuild is not installed: run `bash scripts/setup-build.sh` (it installs cargo-zigbuild and zig into ~/.cache/sbw/venv-build, or $SBW_BUILD_VENV, and the Rust targets)")]
    ZigbuildMissing,
    #[error("`{command}` failed ({status}); its output is above")]
    Cargo { command: String, status: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{path}: not an ELF executable this build can read: {message}")]
    NotElf { path: String, message: String },
    #[error("{function} needs glibc {found}, newer than the {GLIBC_MAX} of provided.al2023")]
    GlibcTooNew {
        function: String,
        found: GlibcVersion,
    },
    #[error("{dir}/{BUILD_FILE} is missing or unreadable ({message}): run `sbwctl build --out {dir}` first")]
    NoBuild { dir: String, message: String },
    #[error("{path}: {message}")]
    Dashboard { path: String, message: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let what = what.into();
    move |source| BuildError::Io { what, source }
}

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

/// One packaged function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub function: String,
    /// `<function>-<sha256 prefix>.zip`, also its key under `lambda/` in S3.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    /// The newest glibc symbol version the binary needs, when it was checked.
    pub glibc: Option<GlibcVersion>,
}

impl Package {
    /// The S3 key in the artifacts bucket.
    pub fn key(&self) -> String {
        format!("lambda/{}", self.file)
    }
}

/// An artifact an instance fetches itself (the manifest's `fetches`): the
/// dashboard app as a gzip tarball.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub artifact: String,
    /// `<artifact>-<sha256 prefix>.tar.gz`, also its key under `<artifact>/` in S3.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

impl Bundle {
    /// The S3 key in the artifacts bucket.
    pub fn key(&self) -> String {
        format!("{}/{}", self.artifact, self.file)
    }
}

/// What a build produced: `build.json` in the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildOutput {
    pub architecture: Architecture,
    pub packages: Vec<Package>,
    /// Absent in builds made before bundles existed.
    #[serde(default)]
    pub bundles: Vec<Bundle>,
}

impl BuildOutput {
    pub fn read(dir: &Path) -> Result<BuildOutput, BuildError> {
        let no_build = |message: String| BuildError::NoBuild {
            dir: dir.display().to_string(),
            message,
        };
        let text =
            std::fs::read_to_string(dir.join(BUILD_FILE)).map_err(|e| no_build(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| no_build(e.to_string()))
    }

    pub fn write(&self, dir: &Path) -> Result<(), BuildError> {
        let text = serde_json::to_string_pretty(self).expect("a build output serializes");
        std::fs::write(dir.join(BUILD_FILE), text + "\n")
            .map_err(io(format!("writing {}", dir.join(BUILD_FILE).display())))
    }

    pub fn package(&self, function: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.function == function)
    }

    pub fn bundle(&self, artifact: &str) -> Option<&Bundle> {
        self.bundles.iter().find(|b| b.artifact == artifact)
    }
}

pub fn architecture_name(arch: Architecture) -> &'static str {
    match arch {
        Architecture::Arm64 => "arm64",
        Architecture::X86_64 => "x86_64",
    }
}

/// The Rust target triple of a Lambda architecture.
pub fn target_triple(arch: Architecture) -> &'static str {
    match arch {
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
    }
}

/// Builds every function for `arch` in one cargo invocation (dependencies
/// compile once, in the workspace's target directory) and packages them
/// into `out`, with the dashboard app when the repository has one.
pub fn build(out: &Path, arch: Architecture) -> Result<BuildOutput, BuildError> {
    let root = workspace_root()?;
    std::fs::create_dir_all(out).map_err(io(format!("creating {}", out.display())))?;
    // Packed first: a broken dashboard/ fails the build before minutes of compiling.
    let dashboard = root.join(DASHBOARD);
    let bundles = if dashboard.is_dir() {
        vec![pack_dashboard(&dashboard, out)?]
    } else {
        Vec::new()
    };
    let triple = target_triple(arch);
    let mut command = Command::new("cargo");
    command
        .current_dir(&root)
        .args(["zigbuild", "--release", "--locked", "--target"])
        .arg(format!("{triple}.{GLIBC_MAX}"));
    for function in FUNCTIONS {
        command.args(["-p", function.package, "--bin", function.bin]);
    }
    // cargo-zigbuild runs zig as `python3 -m ziglang` when no `zig` is on PATH.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let venv_bin = build_venv().map(|venv| venv.join("bin"));
    let path = std::env::join_paths(venv_bin.into_iter().chain(std::env::split_paths(&path)))
        .map_err(|e| BuildError::Io {
            what: "building PATH".to_owned(),
            source: std::io::Error::other(e),
        })?;
    command.env("PATH", &path);
    if !has_zigbuild(&path) {
        return Err(BuildError::ZigbuildMissing);
    }
    let status = command.status().map_err(io("running cargo zigbuild"))?;
    if !status.success() {
        return Err(BuildError::Cargo {
            command: format!("{command:?}"),
            status: status.to_string(),
        });
    }
    let release = target_dir(&root).join(triple).join("release");
    let mut packages = Vec::with_capacity(FUNCTIONS.len());
    for function in FUNCTIONS {
        let binary_path = release.join(function.bin);
        let binary = std::fs::read(&binary_path)
            .map_err(io(format!("reading {}", binary_path.display())))?;
        let glibc = max_glibc_version(&binary).map_err(|message| BuildError::NotElf {
            path: binary_path.display().to_string(),
            message,
        })?;
        if let Some(found) = glibc.filter(|found| *found > GLIBC_MAX) {
            return Err(BuildError::GlibcTooNew {
                function: function.name.to_owned(),
                found,
            });
        }
        let mut package = write_package(out, function.name, &binary)?;
        package.glibc = glibc;
        packages.push(package);
    }
    let output = BuildOutput {
        architecture: arch,
        packages,
        bundles,
    };
    output.write(out)?;
    Ok(output)
}

/// Where `scripts/setup-build.sh` installs cargo-zigbuild and zig: one venv
/// per machine, so every checkout hands cargo the same linker wrapper (its
/// path names the zig it runs, and it is part of every build fingerprint).
fn build_venv() -> Option<PathBuf> {
    if let Some(venv) = std::env::var_os("SBW_BUILD_VENV") {
        return Some(venv.into());
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(cache) => PathBuf::from(cache),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(cache.join("sbw/venv-build"))
}

fn has_zigbuild(path: &std::ffi::OsStr) -> bool {
    std::env::split_paths(path).any(|dir| dir.join("cargo-zigbuild").is_file())
}

fn workspace_root() -> Result<PathBuf, BuildError> {
    let output = Command::new("cargo")
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .map_err(|e| BuildError::NotInRepository(e.to_string()))?;
    if !output.status.success() {
        return Err(BuildError::NotInRepository(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    Ok(manifest.parent().map(Path::to_path_buf).unwrap_or_default())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

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

/// Writes `bytes` into `out` as `<name>-<hash prefix><extension>` and removes
/// older files of that name and shape; returns the file name and the SHA-256.
fn write_named_by_hash(
    out: &Path,
    name: &str,
    extension: &str,
    bytes: &[u8],
) -> Result<(String, String), BuildError> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let file = format!("{name}-{}{extension}", &sha256[..HASH_PREFIX_LEN]);
    let stale_prefix = format!("{name}-");
    let entries = std::fs::read_dir(out).map_err(io(format!("listing {}", out.display())))?;
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let is_older = entry_name
            .strip_prefix(&stale_prefix)
            .and_then(|rest| rest.strip_suffix(extension))
            .is_some_and(|hash| hash.len() == HASH_PREFIX_LEN);
        if is_older && entry_name != file {
            std::fs::remove_file(entry.path()).map_err(io(format!("removing {entry_name}")))?;
        }
    }
    std::fs::write(out.join(&file), bytes).map_err(io(format!("writing {file}")))?;
    Ok((file, sha256))
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

    #[test]
    fn builds_from_before_bundles_still_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(BUILD_FILE),
            r#"{"architecture": "arm64", "packages": []}"#,
        )
        .unwrap();
        let build = BuildOutput::read(dir.path()).unwrap();
        assert!(build.bundles.is_empty() && build.bundle(DASHBOARD).is_none());
    }

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
