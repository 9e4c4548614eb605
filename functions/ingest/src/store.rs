//! Where objects go: S3 in Lambda, a local directory with the same keys in dev.
//! Writes are all-or-nothing: an S3 PUT, or a temporary file renamed into place.

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("writing s3://{bucket}/{key} failed: {message}")]
    S3 {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("writing {path} failed: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The raw event store.
#[derive(Debug, Clone)]
pub enum RawStore {
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
    },
    Directory(PathBuf),
}

impl RawStore {
    /// Stores one gzipped NDJSON object under `key`.
    pub async fn put(&self, key: &str, gzipped_ndjson: Bytes) -> Result<(), StoreError> {
        match self {
            RawStore::S3 { client, bucket } => client
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type("application/x-ndjson")
                .content_encoding("gzip")
                .body(ByteStream::from(gzipped_ndjson))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| StoreError::S3 {
                    bucket: bucket.clone(),
                    key: key.to_owned(),
                    message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                }),
            RawStore::Directory(root) => write_atomically(&root.join(key), gzipped_ndjson).await,
        }
    }
}

/// Writes to a hidden temporary file beside `path`, then renames: readers
/// (the ETL) never see half an object. One blocking task does all three steps.
pub async fn write_atomically(path: &Path, contents: Bytes) -> Result<(), StoreError> {
    let owned_path = path.to_owned();
    let result =
        tokio::task::spawn_blocking(move || write_atomically_blocking(&owned_path, &contents))
            .await
            .unwrap_or_else(|join_error| Err(std::io::Error::other(join_error)));
    result.map_err(|source| StoreError::Directory {
        path: path.to_owned(),
        source,
    })
}

fn write_atomically_blocking(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("object keys have a directory");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let temporary = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
    // The hour's directory exists for all but its first object: create it only then.
    match std::fs::write(&temporary, contents) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            std::fs::write(&temporary, contents)?;
        }
        other => other?,
    }
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
