//! The artifacts bucket: packages uploaded once by content, bundles an
//! instance fetches itself published through `<artifact>/current.json`.

use std::path::Path;

use sbw_infra::render::current_pointer_key;
use sbw_packaging::Bundle;
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, RegionClients};
use crate::progress::Progress;

pub(super) fn read_artifact(path: &Path) -> Result<Vec<u8>, AwsError> {
    std::fs::read(path).map_err(|e| AwsError {
        action: format!("reading {}", path.display()),
        reason: e.to_string(),
        kind: crate::aws::AwsErrorKind::Service,
    })
}

/// `<artifact>/current.json`: which bundle the instance should run. The
/// instance checks the download against `sha256` before installing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentPointer {
    pub key: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Uploads `bundle` unless there, then points `<artifact>/current.json` at it
/// unless it already does (the instance follows that object, so an unchanged
/// bundle costs two reads and no write).
pub(super) async fn publish_bundle(
    clients: &RegionClients,
    bucket: &str,
    bundle: &Bundle,
    build_dir: &Path,
    progress: &Progress,
) -> Result<(), AwsError> {
    let body = read_artifact(&build_dir.join(&bundle.file))?;
    upload_if_missing(clients, bucket, &bundle.key(), body, progress).await?;
    let pointer_key = current_pointer_key(&bundle.artifact);
    let pointer = CurrentPointer {
        key: bundle.key(),
        sha256: bundle.sha256.clone(),
        bytes: bundle.bytes,
    };
    match clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(&pointer_key)
        .send()
        .await
    {
        Ok(current) => {
            let text = current.body.collect().await.map_err(|e| AwsError {
                action: format!("reading s3://{bucket}/{pointer_key}"),
                reason: e.to_string(),
                kind: crate::aws::AwsErrorKind::Service,
            })?;
            if serde_json::from_slice::<CurrentPointer>(&text.into_bytes()).ok()
                == Some(pointer.clone())
            {
                return Ok(());
            }
        }
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {}
        Err(error) => {
            return Err(AwsError::new(
                format!("reading s3://{bucket}/{pointer_key}"),
                &error,
            ))
        }
    }
    let text = serde_json::to_vec(&pointer).expect("a pointer serializes");
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&pointer_key)
        .content_type("application/json")
        .body(text.into())
        .send()
        .await
        .map_err(|e| AwsError::new(format!("writing s3://{bucket}/{pointer_key}"), &e))?;
    progress.line(format!(
        "s3://{bucket}/{pointer_key} now names {}: the instance installs it within about a minute",
        bundle.file
    ));
    Ok(())
}

/// Puts `body` at `key` unless an object is there: keys are content-hashed,
/// so an existing key holds the same bytes.
pub(super) async fn upload_if_missing(
    clients: &RegionClients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    progress: &Progress,
) -> Result<(), AwsError> {
    match clients
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        Err(error) => {
            return Err(AwsError::new(
                format!("checking s3://{bucket}/{key}"),
                &error,
            ))
        }
    }
    let bytes = body.len();
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| AwsError::new(format!("uploading s3://{bucket}/{key}"), &e))?;
    progress.line(format!("uploaded s3://{bucket}/{key} ({bytes} bytes)"));
    Ok(())
}
