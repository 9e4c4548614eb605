//! Where raw objects come from: the S3 raw bucket in Lambda, a local
//! directory with the same keys in dev (what `sbwctl dev ingest` writes).

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sbw_aws::CallTimeouts;

/// The ETL's AWS calls end well within the function's timeout (60 s at the
/// least): a stalled S3 fails the run, which records its failure, instead of
/// Lambda killing it with the run unrecorded.
pub const AWS_CALLS: CallTimeouts = CallTimeouts {
    connect: Duration::from_secs(3),
    attempt: Duration::from_secs(5),
    operation: Duration::from_secs(15),
};

/// Reading an object's body, which the call timeouts (they end at the
/// response's headers) leave open.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("listing s3://{bucket}/{prefix} failed: {message}")]
    List {
        bucket: String,
        prefix: String,
        message: String,
    },
    #[error("reading s3://{bucket}/{key} failed: {message}")]
    Get {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("writing s3://{bucket}/{key} failed: {message}")]
    Put {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One listed object. Keys are immutable in practice (a UUID per request),
/// but an object rewritten under the same key has a new etag and is loaded again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    pub key: String,
    pub etag: String,
    pub size: i64,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub enum RawSource {
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
    },
    Directory(PathBuf),
}

impl RawSource {
    /// Every object under `prefix`, following continuation tokens to the end.
    pub async fn list(&self, prefix: &str) -> Result<Vec<RawObject>, SourceError> {
        match self {
            RawSource::S3 { client, bucket } => {
                let mut objects = Vec::new();
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| SourceError::List {
                        bucket: bucket.clone(),
                        prefix: prefix.to_owned(),
                        message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
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
            RawSource::Directory(root) => {
                let root = root.clone();
                let prefix = prefix.to_owned();
                blocking(move || list_directory(&root, &prefix)).await
            }
        }
    }

    /// The first key below `prefix` in key order, if any.
    pub async fn first_key(&self, prefix: &str) -> Result<Option<String>, SourceError> {
        match self {
            RawSource::S3 { client, bucket } => client
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
                .map_err(|e| SourceError::List {
                    bucket: bucket.clone(),
                    prefix: prefix.to_owned(),
                    message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                }),
            RawSource::Directory(_) => Ok(self
                .list(prefix)
                .await?
                .into_iter()
                .map(|object| object.key)
                .next()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, SourceError> {
        self.get_if_exists(key).await?.ok_or_else(|| match self {
            RawSource::S3 { bucket, .. } => SourceError::Get {
                bucket: bucket.clone(),
                key: key.to_owned(),
                message: "no such key".to_owned(),
            },
            RawSource::Directory(root) => SourceError::Directory {
                path: root.join(key),
                source: std::io::ErrorKind::NotFound.into(),
            },
        })
    }

    /// The object's content, or `None` when there is no object at `key`.
    pub async fn get_if_exists(&self, key: &str) -> Result<Option<Bytes>, SourceError> {
        match self {
            RawSource::S3 { client, bucket } => {
                let get_error = |message: String| SourceError::Get {
                    bucket: bucket.clone(),
                    key: key.to_owned(),
                    message,
                };
                let object = match client.get_object().bucket(bucket).key(key).send().await {
                    Ok(object) => object,
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                        return Ok(None)
                    }
                    Err(e) => {
                        return Err(get_error(
                            aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                        ))
                    }
                };
                let body = tokio::time::timeout(BODY_TIMEOUT, object.body.collect())
                    .await
                    .map_err(|_| get_error(format!("the body took over {BODY_TIMEOUT:?}")))?
                    .map_err(|e| get_error(e.to_string()))?;
                Ok(Some(body.into_bytes()))
            }
            RawSource::Directory(root) => {
                let path = root.join(key);
                blocking(move || match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(SourceError::Directory { path, source }),
                })
                .await
            }
        }
    }

    /// Writes a small object (the run summary), replacing any previous one.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), SourceError> {
        match self {
            RawSource::S3 { client, bucket } => client
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type("application/json")
                .body(ByteStream::from(body))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| SourceError::Put {
                    bucket: bucket.clone(),
                    key: key.to_owned(),
                    message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                }),
            RawSource::Directory(root) => {
                let path = root.join(key);
                blocking(move || write_replacing(&path, &body)).await
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join_error| {
            Err(SourceError::Directory {
                path: PathBuf::new(),
                source: std::io::Error::other(join_error),
            })
        })
}

/// Objects below `root/prefix`, sorted by key. Hidden files are the ingest
/// server's writes in progress and are skipped. A local object's etag is its
/// size and modification time: enough to notice a rewrite.
fn list_directory(root: &Path, prefix: &str) -> Result<Vec<RawObject>, SourceError> {
    let (dir, name_prefix) = match prefix.rsplit_once('/') {
        Some((dir, rest)) => (root.join(dir), rest),
        None => (root.to_owned(), prefix),
    };
    let mut objects = Vec::new();
    let mut pending = vec![dir.clone()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(SourceError::Directory {
                    path: current,
                    source,
                })
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| SourceError::Directory {
                path: current.clone(),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || (current == dir && !name.starts_with(name_prefix)) {
                continue;
            }
            let metadata = entry.metadata().map_err(|source| SourceError::Directory {
                path: path.clone(),
                source,
            })?;
            if metadata.is_dir() {
                pending.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let modified: DateTime<Utc> =
                metadata.modified().map(DateTime::from).unwrap_or_default();
            objects.push(RawObject {
                key: relative.to_string_lossy().replace('\\', "/"),
                etag: format!(
                    "{}-{}",
                    metadata.len(),
                    modified.timestamp_nanos_opt().unwrap_or_default()
                ),
                size: metadata.len() as i64,
                last_modified: modified,
            });
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(objects)
}

fn write_replacing(path: &Path, body: &[u8]) -> Result<(), SourceError> {
    let io_error = |source| SourceError::Directory {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error)?;
    let temporary = dir.join(format!(".summary-{}.tmp", uuid::Uuid::new_v4()));
    std::fs::write(&temporary, body).map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)
}
