//! `sbwctl logs ingest|etl [--since 1h] [--request-id ID] [--errors]`.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use sbw_deploy::logs::{self, Function, LogQuery};

use super::shell::{block_on, help_with, since, Environment, Output, OutputArg};

#[derive(Args)]
#[command(after_help = help_with(
    "Text: one line each, `<time> <LEVEL> <request id> <message> key=value …`; Lambda's own \
START/END/REPORT lines have their kind as the level. JSON: the functions' lines as they wrote \
them, Lambda's as {\"timestamp\", \"message\"}. Runbooks: every alarm's first checks."
))]
pub struct LogsArgs {
    /// Whose logs.
    #[arg(value_enum)]
    function: FunctionArg,
    #[command(flatten)]
    environment: Environment,
    /// From when: a duration back from now (30m, 1h, 2d, 1h30m) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", default_value = "1h", value_parser = since)]
    since: DateTime<Utc>,
    /// Only the lines of this invocation (the id `etl invoke` and the REPORT lines print).
    #[arg(long, value_name = "ID")]
    request_id: Option<String>,
    /// Only errors: ERROR lines, crashed and timed-out invocations.
    #[arg(long)]
    errors: bool,
    #[command(flatten)]
    output: OutputArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum FunctionArg {
    /// The ingest function (the API's requests).
    Ingest,
    /// The ETL function (its runs).
    Etl,
}

pub fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let function = match args.function {
        FunctionArg::Ingest => Function::Ingest,
        FunctionArg::Etl => Function::Etl,
    };
    let query = LogQuery {
        since: args.since,
        request_id: args.request_id,
        errors_only: args.errors,
    };
    let lines = block_on(async {
        let deployed = args.environment.connect().await?;
        logs::read(&deployed.aws, &deployed.manifest, function, &query)
            .await
            .map_err(anyhow::Error::from)
    })??;
    for line in &lines {
        match args.output.output {
            Output::Text => println!("{}", line.to_text()),
            Output::Json => println!("{}", line.to_json()),
        }
    }
    if lines.is_empty() && args.output.output == Output::Text {
        eprintln!("no log lines match");
    }
    Ok(ExitCode::SUCCESS)
}
