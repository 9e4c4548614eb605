//! `sbwctl dlq inspect | redrive`: the ingest function's dead-letter queue,
//! where it puts the events of a request when the raw store refuses them
//! ([`sbw_rawstore::dead_letter`]).
//!
//! Reading a message from SQS hides it from every other reader for the
//! visibility timeout given with the receive. [`inspect`] hides what it reads
//! for [`inspect::VISIBILITY_SECONDS`] and makes it visible again as soon as it
//! is done; [`redrive`] stores each message in the raw store and deletes it
//! only once the store took it.

pub mod inspect;
mod letter;
pub mod redrive;

use std::collections::HashSet;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};
use sbw_infra::render::Manifest;
use sbw_rawstore::RawStore;

use crate::aws::{AwsError, AwsErrorKind};
use crate::stack;
use crate::Aws;

pub use letter::Received;

/// SQS hands out at most this many messages per receive and takes as many per batch call.
const SQS_BATCH: usize = 10;
/// How long an empty queue is waited on before it counts as drained: long
/// polling asks every SQS server, where a short poll may miss a few messages.
const DRAIN_WAIT_SECONDS: i32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("the {stack} stack is not deployed or has no output {output}: deploy the environment first (sbwctl deploy)")]
    NotDeployed { stack: String, output: &'static str },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The ingest dead-letter queue of a deployment.
#[derive(Debug, Clone)]
pub struct Queue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

/// A deployment's dead-letter queue and the raw store it is redriven into.
#[derive(Debug, Clone)]
pub struct Located {
    pub queue: Queue,
    pub raw_store: RawStore,
}

/// The dead-letter queue and the raw bucket of a deployment, from the
/// outputs of its ingest and storage stacks.
pub async fn locate(aws: &Aws, manifest: &Manifest) -> Result<Located, DlqError> {
    let clients = aws.region(&manifest.region);
    let output = |stack: &'static str, output: &'static str| async move {
        let stack_name = manifest
            .stack(stack)
            .map_or_else(|| stack.to_owned(), |s| s.stack_name.clone());
        stack::describe(&clients.cloudformation, &stack_name)
            .await?
            .and_then(|state| state.outputs.get(output).cloned())
            .ok_or(DlqError::NotDeployed {
                stack: stack_name,
                output,
            })
    };
    let url = output("ingest", "DeadLetterQueueUrl").await?;
    let bucket = output("storage", "RawBucketName").await?;
    Ok(Located {
        queue: Queue::new(clients.sqs.clone(), url),
        raw_store: RawStore::S3 {
            client: clients.s3.clone(),
            bucket,
        },
    })
}

/// How many messages the queue holds: visible, and received by someone and
/// not yet deleted (in flight).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    pub visible: u64,
    pub in_flight: u64,
}

impl Queue {
    pub fn new(sqs: aws_sdk_sqs::Client, url: String) -> Queue {
        Queue { sqs, url }
    }

    fn failed<E>(
        &self,
        doing: &str,
        error: &aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut described = AwsError::new(format!("{doing} {}", self.url), error);
        let code = error
            .as_service_error()
            .and_then(|e| e.code())
            .unwrap_or_default();
        if code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist") {
            described.reason = "the queue does not exist (deleted outside sbwctl?); `sbwctl deploy` creates it again".to_owned();
            described.kind = AwsErrorKind::Service;
        }
        described
    }

    pub async fn depth(&self) -> Result<Depth, AwsError> {
        let answer = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| self.failed("reading the depth of", &e))?;
        let count = |name| {
            answer
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|n| n.parse().ok())
                .unwrap_or_default()
        };
        Ok(Depth {
            visible: count(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        })
    }

    /// Up to `max` (at most 10) messages, each hidden from other readers for
    /// `visibility_seconds`; none when the queue stays empty for
    /// [`DRAIN_WAIT_SECONDS`].
    async fn receive(
        &self,
        max: usize,
        visibility_seconds: i32,
    ) -> Result<Vec<Received>, AwsError> {
        let answer = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, SQS_BATCH) as i32)
            .visibility_timeout(visibility_seconds)
            .wait_time_seconds(DRAIN_WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| self.failed("receiving messages from", &e))?;
        Ok(answer
            .messages()
            .iter()
            .filter_map(Received::from_message)
            .collect())
    }

    /// Reads up to `limit` distinct messages, hiding each for
    /// `visibility_seconds`, until the queue has nothing more to give.
    /// A message that reappears (its visibility ran out) is not counted twice.
    async fn read(&self, limit: usize, visibility_seconds: i32) -> Result<Vec<Received>, AwsError> {
        let mut seen = HashSet::new();
        let mut read = Vec::new();
        while read.len() < limit {
            let batch = self.receive(limit - read.len(), visibility_seconds).await?;
            let before = read.len();
            read.extend(
                batch
                    .into_iter()
                    .filter(|m| seen.insert(m.message_id.clone())),
            );
            if read.len() == before {
                break;
            }
        }
        Ok(read)
    }

    /// Makes received messages visible again at once; returns how many SQS
    /// did not release (they come back when their visibility runs out).
    async fn release(&self, messages: &[&Received]) -> usize {
        let batches = messages.chunks(SQS_BATCH).map(|chunk| async move {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt_handle)
                        .visibility_timeout(0)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            match self
                .sqs
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(answer) => answer.failed().len(),
                Err(_) => chunk.len(),
            }
        });
        futures_util::future::join_all(batches)
            .await
            .into_iter()
            .sum()
    }

    /// Deletes received messages; returns how many SQS did not delete.
    async fn delete(&self, messages: &[&Received]) -> Result<usize, AwsError> {
        let mut not_deleted = 0;
        for chunk in messages.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt_handle)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let answer = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.failed("deleting redriven messages from", &e))?;
            not_deleted += answer.failed().len();
        }
        Ok(not_deleted)
    }
}
