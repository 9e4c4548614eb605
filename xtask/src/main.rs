//! `cargo xtask`: the benchmarks, as Rust runners on `sbw-testkit`'s peers
//! that measure what ships (the `bootstrap.zip` of `sbwctl build`, the
//! release `sbwctl`). The `scripts/bench-*.sh` wrappers install what they
//! need and call these.

use clap::{Parser, Subcommand};

mod bench_etl;
mod bench_lambda;
mod cargo;
mod measure;

#[derive(Parser)]
#[command(about = "SBW's benchmark runners", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cold start of the shipped ingest package against a local Lambda Runtime API, and its size.
    BenchLambda(bench_lambda::Options),
    /// `sbwctl etl run` against a COPY of the same rows, for each number of events.
    BenchEtl(bench_etl::Options),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::BenchLambda(options) => bench_lambda::run(options).await,
        Command::BenchEtl(options) => bench_etl::run(options).await,
    }
}
