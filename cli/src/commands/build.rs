//! `sbwctl build [--out DIR] [--arch arm64|x86_64]`: the Lambda packages and
//! the dashboard bundle.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sbw_infra::config::Architecture;
use sbw_packaging as build;

#[derive(Args)]
#[command(
    after_help = "Needs cargo-zigbuild and zig: `bash scripts/setup-build.sh` installs them into ~/.cache/sbw/venv-build ($SBW_BUILD_VENV).\n\
Exit codes: 0 built; 1 the build failed."
)]
pub struct BuildArgs {
    /// Where the zips, the dashboard tarball and build.json go (sbwctl deploy reads them there).
    #[arg(long, value_name = "DIR", default_value = ".sbw/build")]
    pub out: PathBuf,
    /// The Lambda architecture; it must match the environment's `ingest.architecture`.
    #[arg(long, value_enum, default_value = "arm64")]
    pub arch: ArchArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ArchArg {
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

pub fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let arch = match args.arch {
        ArchArg::Arm64 => Architecture::Arm64,
        ArchArg::X86_64 => Architecture::X86_64,
    };
    let output = build::build(&args.out, arch)?;
    println!(
        "{} packages for provided.al2023 on {} in {}:",
        output.packages.len(),
        build::architecture_name(arch),
        args.out.display()
    );
    for package in &output.packages {
        let glibc = package
            .glibc
            .map_or_else(|| "none".to_owned(), |v| v.to_string());
        println!(
            "  {:<32} {:>10} bytes  needs glibc {glibc} (limit {})",
            package.file,
            package.bytes,
            build::GLIBC_MAX
        );
    }
    for bundle in &output.bundles {
        println!(
            "  {:<32} {:>10} bytes  the {} app, installed by the warehouse instance",
            bundle.file, bundle.bytes, bundle.artifact
        );
    }
    if output.bundle(build::DASHBOARD).is_none() {
        println!(
            "  (no {}/ directory: no dashboard bundle)",
            build::DASHBOARD
        );
    }
    Ok(ExitCode::SUCCESS)
}
