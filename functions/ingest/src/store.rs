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
            RawStore::Directory(root) => write_atomically(&root.join(key), &gzipped_ndjson),
        }
    }
}

/// Writes to a hidden temporary file beside `path`, then renames: readers
/// (the ETL) never see half an object. Runs on the calling task: an object is
/// a few kilobytes written into the page cache (no fsync; this is the dev
/// store), which costs less than a hop to tokio's blocking pool and back.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    write_then_rename(path, contents).map_err(|source| StoreError::Directory {
        path: path.to_owned(),
        source,
    })
}

fn write_then_rename(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "an object path needs a directory and a file name",
        ));
    };
    // Object names are unique (they hold a UUID), and so are these.
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(".tmp");
    let temporary = dir.join(hidden);
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
