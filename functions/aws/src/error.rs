//! Failed AWS calls in one line for logs and dead letters.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What went wrong in a failed AWS call, in one line: the service's error code
/// and message, or the chain of transport causes. Never the raw response
/// (headers, request ids, body), which `DisplayErrorContext` appends.
pub fn reason<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(context) = error {
        if let Some(code) = context.err().code() {
            let message = context.err().message().unwrap_or("no message");
            return format!("{code}: {message}");
        }
    }
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::put_object::PutObjectError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;

    #[test]
    fn a_service_error_is_its_code_and_message_without_the_raw_answer() {
        let raw = HttpResponse::new(
            404.try_into().unwrap(),
            SdkBody::from("<Error><RequestId>REQ-123</RequestId></Error>"),
        );
        let error = SdkError::service_error(
            PutObjectError::generic(
                aws_sdk_s3::error::ErrorMetadata::builder()
                    .code("NoSuchBucket")
                    .message("The specified bucket does not exist")
                    .build(),
            ),
            raw,
        );
        assert_eq!(
            reason(&error),
            "NoSuchBucket: The specified bucket does not exist"
        );
    }

    #[test]
    fn a_transport_failure_is_its_chain_of_causes() {
        let error: SdkError<PutObjectError, HttpResponse> = SdkError::dispatch_failure(
            ConnectorError::io(std::io::Error::other("connection refused").into()),
        );
        let reason = reason(&error);
        assert!(reason.starts_with("dispatch failure"), "{reason}");
        assert!(reason.ends_with("connection refused"), "{reason}");
        assert!(!reason.contains("DispatchFailure"), "{reason}");
    }
}
