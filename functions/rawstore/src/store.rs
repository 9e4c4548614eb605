//! The raw store's one API over its two places: the S3 raw bucket in AWS, a
//! local directory with the same keys in dev and tests.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::directory;

/// Reading an object's body, which the SDK's call timeouts (they end at the
/// response's headers) leave open.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a failed store call was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Listing,
    Reading,
    Writing,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Listing => "listing",
            Operation::Reading => "reading",
            Operation::Writing => "writing",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `key` is the prefix when listing.
    #[error("{operation} s3://{bucket}/{key} failed: {message}")]
    S3 {
        operation: Operation,
        bucket: String,
        key: String,
        message: String,
    },
    #[error("{operation} {path} failed: {source}")]
    Directory {
        operation: Operation,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One listed object. Keys are immutable in practice (a UUID per request),
/// but an object rewritten under the same key has a new etag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    pub key: String,
    pub etag: String,
    pub size: i64,
    pub last_modified: DateTime<Utc>,
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
    /// Stores a new gzipped NDJSON object under `key`, whole or not at all.
    /// A local write runs on the calling task: an object is a few kilobytes
    /// written into the page cache (no fsync; this is the dev store), which
    /// costs less than a hop to tokio's blocking pool and back.
    pub async fn put(&self, key: &str, gzipped_ndjson: Bytes) -> Result<(), StoreError> {
        match self {
            RawStore::S3 { client, bucket } => {
                let body = ByteStream::from(gzipped_ndjson);
                put_s3(
                    client,
                    bucket,
                    key,
                    body,
                    "application/x-ndjson",
                    Some("gzip"),
                )
                .await
            }
            RawStore::Directory(root) => {
                directory::write_atomically(&root.join(key), &gzipped_ndjson)
            }
        }
    }

    /// Writes a small JSON document (the run summary, the operational
    /// snapshot), replacing any previous one: readers see one or the other whole.
    pub async fn put_json(&self, key: &str, json: Vec<u8>) -> Result<(), StoreError> {
        match self {
            RawStore::S3 { client, bucket } => {
                put_s3(
                    client,
                    bucket,
                    key,
                    ByteStream::from(json),
                    "application/json",
                    None,
                )
                .await
            }
            RawStore::Directory(root) => directory::replace_atomically(&root.join(key), &json),
        }
    }

    /// Every object under `prefix`, sorted by key. Locally, hidden files
    /// (writes in progress) are skipped.
    pub async fn list(&self, prefix: &str) -> Result<Vec<RawObject>, StoreError> {
        match self {
            RawStore::S3 { client, bucket } => {
                let mut objects = Vec::new();
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        s3_error(
                            bucket,
                            Operation::Listing,
                            prefix,
                            sbw_aws::error::reason(&e),
                        )
                    })?;
                    objects.extend(page.contents().iter().filter_map(|o| {
                        Some(RawObject {
                            key: o.key()?.to_owned(),
                            etag: o.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
                            size: o.size().unwrap_or_default(),
                            last_modified: o
                                .last_modified()
                                .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
                                .unwrap_or_default(),
                        })
                    }));
                }
                Ok(objects)
            }
            RawStore::Directory(root) => {
                let root = root.clone();
                let prefix = prefix.to_owned();
                blocking(move || directory::list(&root, &prefix)).await
            }
        }
    }

    /// The first key below `prefix` in key order, if any.
    pub async fn first_key(&self, prefix: &str) -> Result<Option<String>, StoreError> {
        match self {
            RawStore::S3 { client, bucket } => client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .max_keys(1)
                .send()
                .await
                .map(|page| {
                    page.contents()
                        .first()
                        .and_then(|o| o.key().map(str::to_owned))
                })
                .map_err(|e| {
                    s3_error(
                        bucket,
                        Operation::Listing,
                        prefix,
                        sbw_aws::error::reason(&e),
                    )
                }),
            RawStore::Directory(_) => Ok(self
                .list(prefix)
                .await?
                .into_iter()
                .map(|object| object.key)
                .next()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.get_if_exists(key).await?.ok_or_else(|| match self {
            RawStore::S3 { bucket, .. } => {
                s3_error(bucket, Operation::Reading, key, "no such key".into())
            }
            RawStore::Directory(root) => StoreError::Directory {
                operation: Operation::Reading,
                path: root.join(key),
                source: std::io::ErrorKind::NotFound.into(),
            },
        })
    }

    /// The object's content, or `None` when there is no object at `key`.
    pub async fn get_if_exists(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self {
            RawStore::S3 { client, bucket } => {
                let object = match client.get_object().bucket(bucket).key(key).send().await {
                    Ok(object) => object,
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                        return Ok(None)
                    }
                    Err(e) => {
                        return Err(s3_error(
                            bucket,
                            Operation::Reading,
                            key,
                            sbw_aws::error::reason(&e),
                        ))
                    }
                };
                let body = tokio::time::timeout(BODY_TIMEOUT, object.body.collect())
                    .await
                    .map_err(|_| {
                        let message = format!("the body took over {BODY_TIMEOUT:?}");
                        s3_error(bucket, Operation::Reading, key, message)
                    })?
                    .map_err(|e| s3_error(bucket, Operation::Reading, key, e.to_string()))?;
                Ok(Some(body.into_bytes()))
            }
            RawStore::Directory(root) => {
                let path = root.join(key);
                blocking(move || match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(StoreError::Directory {
                        operation: Operation::Reading,
                        path,
                        source,
                    }),
                })
                .await
            }
        }
    }
}

/// One PUT: S3 replaces an object whole, so both of the store's writes are one.
async fn put_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: ByteStream,
    content_type: &str,
    content_encoding: Option<&str>,
) -> Result<(), StoreError> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .set_content_encoding(content_encoding.map(str::to_owned))
        .body(body)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| s3_error(bucket, Operation::Writing, key, sbw_aws::error::reason(&e)))
}

fn s3_error(bucket: &str, operation: Operation, key: &str, message: String) -> StoreError {
    StoreError::S3 {
        operation,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        message,
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join_error| {
            Err(StoreError::Directory {
                operation: Operation::Reading,
                path: PathBuf::new(),
                source: std::io::Error::other(join_error),
            })
        })
}
