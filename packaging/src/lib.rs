//! `sbwctl build`: every Lambda function cross-built for `provided.al2023`
//! (glibc 2.34) with cargo-zigbuild, packaged as a deterministic zip holding
//! `bootstrap`, and the dashboard app as a deterministic tarball; each named
//! by its content hash so an unchanged one is neither uploaded nor redeployed.
//! Nothing here calls AWS.

use std::path::{Path, PathBuf};
use std::process::Command;

use sbw_infra::config::Architecture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod dashboard;
mod glibc;
mod package;

pub use dashboard::{pack_dashboard, DASHBOARD};
pub use glibc::{max_glibc_version, GlibcVersion, GLIBC_MAX};
pub use package::{bootstrap_zip, write_package};

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

/// The build description written beside the zips; `sbwctl deploy` reads it.
pub const BUILD_FILE: &str = "build.json";

/// Hex digits of an artifact's SHA-256 in its name.
const HASH_PREFIX_LEN: usize = 16;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
