//! The ETL Lambda: a thin adapter over [`sbw_etl::lambda`]. The same binary
//! is the ops snapshot collector when `SBW_ETL_TASK=ops-snapshot`; each task
//! builds only its own clients before the first Runtime API poll.

use std::future::Future;
use std::time::SystemTime;

use lambda_runtime::{service_fn, LambdaEvent};
use sbw_etl::lambda::{EtlFunction, LambdaSettings, Task};
use sbw_etl::ops_snapshot::{CollectorSettings, OpsCollector};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sbw_aws::logging::init_json();
    let var = |name: &str| std::env::var(name).ok();
    match Task::from_vars(var).map_err(|e| format!("{e:#}"))? {
        Task::Etl => {
            let settings = LambdaSettings::from_vars(var).map_err(|e| format!("{e:#}"))?;
            let function = &*Box::leak(Box::new(EtlFunction::new(settings).await));
            serve(move |payload, deadline| function.handle(payload, deadline)).await
        }
        Task::OpsSnapshot => {
            let settings = CollectorSettings::from_vars(var).map_err(|e| format!("{e:#}"))?;
            let collector = &*Box::leak(Box::new(OpsCollector::from_env(settings).await));
            // The payload (the schedule's event) carries nothing the collector needs.
            serve(move |_, _| async move { Ok(collector.handle().await?) }).await
        }
    }
}

/// Answers each invocation with `handler`'s value for its payload and
/// deadline, or its error as the invocation error.
async fn serve<Handler, Answer, Value>(handler: Handler) -> Result<(), lambda_runtime::Error>
where
    Handler: Fn(serde_json::Value, SystemTime) -> Answer,
    Answer: Future<Output = anyhow::Result<Value>>,
    Value: serde::Serialize,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handler(event.payload, event.context.deadline())
                .await
                .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
        },
    ))
    .await
}
