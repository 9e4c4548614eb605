//! `sbwctl alerts test`: a test page through the alarm topic, and who gets it.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sbw_deploy::alerts::{self, AlertTest};
use sbw_deploy::stack;
use sbw_infra::names::output;

use super::shell::{block_on, exit, help_with, Environment, OutputArg};

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// Publish a test notification to the alarm topic and list its subscribers.
    #[command(after_help = help_with(
        "Every subscriber of the alarm topic gets the message (alerts.emails, alerts.sms and \
alerts.webhooks in the config). Exits 4 when a configured one will not get pages: not confirmed \
yet, or not subscribed (deploy first)."
    ))]
    Test(TestArgs),
}

#[derive(Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub environment: Environment,
    #[command(flatten)]
    pub output: OutputArg,
}

pub fn run(command: AlertsCommand) -> anyhow::Result<ExitCode> {
    let AlertsCommand::Test(args) = command;
    let result = block_on(async {
        let deployed = args.environment.connect().await?;
        let d = &deployed.deployment;
        let observability = deployed
            .manifest
            .stack("observability")
            .context("this environment has no observability stack")?;
        let clients = deployed.aws.region(&observability.region);
        let topic_arn = stack::describe(&clients.cloudformation, &observability.stack_name)
            .await?
            .and_then(|s| s.outputs.get(output::ALARM_TOPIC_ARN).cloned())
            .with_context(|| {
                format!(
                    "stack {} is not deployed (or has no {} output): run `sbwctl deploy` first",
                    observability.stack_name,
                    output::ALARM_TOPIC_ARN
                )
            })?;
        let wanted: Vec<alerts::Wanted> = d
            .alert_emails
            .iter()
            .map(|e| ("email", e.to_string()))
            .chain(d.alert_sms.iter().map(|n| ("sms", n.to_string())))
            .chain(d.alert_webhooks.iter().map(|u| ("https", u.to_string())))
            .collect();
        anyhow::Ok(alerts::test(clients, &d.prefix(), &topic_arn, &wanted).await?)
    })??;
    args.output.print(&result, AlertTest::to_text)?;
    Ok(ExitCode::from(if result.unreached().next().is_some() {
        exit::DEGRADED
    } else {
        exit::SUCCESS
    }))
}
