//! `sbwctl render --config F --env E [--out DIR]`: the CloudFormation
//! templates of one environment and their manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::shell::{exit_codes_help, Target};

#[derive(Args)]
#[command(after_help = exit_codes_help())]
pub struct RenderArgs {
    #[command(flatten)]
    pub target: Target,
    /// Where to write `<stack>.yaml` and `manifest.json` (default: .sbw/rendered/<env>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let deployment = args.target.load()?;
    let manifest = sbw_infra::render::render(&deployment)?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(".sbw/rendered").join(&deployment.environment));
    manifest.write_to(&out)?;
    println!(
        "{} stacks of {} ({}) in {}:",
        manifest.stacks.len(),
        deployment.prefix(),
        deployment.profile.as_str(),
        out.display()
    );
    for stack in &manifest.stacks {
        let upload = if stack.requires_s3_upload {
            "  (over 51,200 bytes: deploy uploads it to S3)"
        } else {
            ""
        };
        println!(
            "  {:<28} {:<15} {:>7} bytes{upload}",
            stack.stack_name, stack.region, stack.bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}
