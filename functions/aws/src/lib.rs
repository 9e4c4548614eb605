//! AWS client construction shared by the functions and `sbwctl`, so the
//! conventions (the standard configuration chain, `AWS_ENDPOINT_URL` for
//! emulators and S3-compatible stores) are decided in one place, with the
//! functions' JSON logging and metrics.

pub mod emf;
pub mod logging;

/// An S3 client; with a custom endpoint (S3-compatible stores, emulators) it
/// addresses buckets by path, since such endpoints rarely serve bucket subdomains.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config);
    let builder = match config.endpoint_url() {
        Some(_) => builder.force_path_style(true),
        None => builder,
    };
    aws_sdk_s3::Client::from_conf(builder.build())
}
