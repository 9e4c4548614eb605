//! What the on-call commands (`etl invoke`, `logs`, `snapshot`) share: their
//! library errors surfaced so that a failed AWS call exits with its own code.

use sbw_deploy::deployed::FailedCall;

/// `error`, or the failed AWS call under it, which `shell::exit_code_of` maps
/// to the AWS exit code (the message is the same either way).
pub fn surfaced<E>(error: E) -> anyhow::Error
where
    E: FailedCall + std::error::Error + Send + Sync + 'static,
{
    match error.failed_call() {
        Some(call) => anyhow::Error::new(call.clone()),
        None => anyhow::Error::new(error),
    }
}
