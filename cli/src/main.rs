//! `sbwctl`: the SBW operator tool; the command line lives in the library.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sbwctl::run(sbwctl::Cli::parse())
}
