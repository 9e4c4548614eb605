//! The ETL Lambda: a thin adapter over [`sbw_etl::lambda`].

use lambda_runtime::{service_fn, LambdaEvent};
use sbw_etl::lambda::{EtlFunction, LambdaSettings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sbw_aws::logging::init_json();
    let settings =
        LambdaSettings::from_vars(|name| std::env::var(name).ok()).map_err(|e| format!("{e:#}"))?;
    let function = &*Box::leak(Box::new(EtlFunction::new(settings).await));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            function
                .handle(event.payload)
                .await
                .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
        },
    ))
    .await
}
