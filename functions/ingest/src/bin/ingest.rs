//! The ingest Lambda: a thin adapter over [`sbw_ingest::lambda`].

use sbw_ingest::lambda::{IngestFunction, LambdaSettings};

/// The handler makes many small short-lived allocations per event, where
/// glibc's malloc spends a quarter of the request's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    sbw_aws::logging::init_json();
    let settings =
        LambdaSettings::from_vars(|name| std::env::var(name).ok()).map_err(|e| format!("{e:#}"))?;
    // Compiling the user-agent parser takes ~0.1 s: do it beside the first
    // poll rather than before it, or inside the first request.
    tokio::task::spawn_blocking(sbw_contract::enrich::warm_up_user_agent_parser);
    let function = IngestFunction::new(settings);
    lambda_http::run(lambda_http::service_fn(move |event| {
        let function = function.clone();
        async move { Ok::<_, std::convert::Infallible>(function.handle(event).await) }
    }))
    .await
}
