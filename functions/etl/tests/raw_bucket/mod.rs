//! A raw bucket of the ETL's own in the test binary's moto: raw objects put
//! the way the ingest function writes them, and the run summary read back.

#![allow(dead_code)] // each suite uses its own subset

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sbw_contract::rawkey::{object_key, ObjectKind};
use sbw_contract::StoredEvent;
use sbw_etl::{RawStore, RunSummary, LAST_RUN_KEY};
use sbw_testkit::Moto;

/// An S3 client for the shared moto (path-style, as the functions use it).
pub async fn s3_client() -> aws_sdk_s3::Client {
    sbw_aws::s3_client(&Moto::shared().sdk_config().await)
}

pub struct RawBucket {
    pub s3: aws_sdk_s3::Client,
    pub name: String,
}

impl RawBucket {
    /// A new, empty bucket named after `what`.
    pub async fn create(what: &str) -> RawBucket {
        let s3 = s3_client().await;
        let name = sbw_testkit::unique_name(what);
        s3.create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket");
        RawBucket { s3, name }
    }

    /// The bucket as the ETL's source.
    pub fn source(&self) -> RawStore {
        RawStore::S3 {
            client: self.s3.clone(),
            bucket: self.name.clone(),
        }
    }

    /// Puts `body` under `key`; returns the etag S3 gave it (without quotes).
    pub async fn put(&self, key: &str, body: Vec<u8>) -> String {
        let put = self
            .s3
            .put_object()
            .bucket(&self.name)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put s3://{}/{key}: {e:?}", self.name));
        put.e_tag()
            .expect("S3 returns an etag")
            .trim_matches('"')
            .to_owned()
    }

    /// Puts each `(hour, events)` as a new raw object of that receive hour,
    /// a few at a time; returns every key with its etag.
    pub async fn put_events(
        &self,
        objects: Vec<(DateTime<Utc>, Vec<StoredEvent>)>,
    ) -> HashMap<String, String> {
        futures_util::stream::iter(objects)
            .map(|(hour, events)| async move {
                let key = object_key(ObjectKind::Events, hour, uuid::Uuid::new_v4());
                let etag = self
                    .put(&key, sbw_testkit::ndjson::stored_object(&events))
                    .await;
                (key, etag)
            })
            .buffer_unordered(16)
            .collect()
            .await
    }

    /// `_etl/last-run.json` as written by the latest run.
    pub async fn last_run(&self) -> RunSummary {
        let object = self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(LAST_RUN_KEY)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get s3://{}/{LAST_RUN_KEY}: {e:?}", self.name));
        let body = object.body.collect().await.expect("read body").into_bytes();
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "{LAST_RUN_KEY} is not a run summary ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        })
    }
}
