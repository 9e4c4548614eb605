//! The reader side of loading: fetches the objects `read_ahead` at a time,
//! decodes them in blocking chunks and sends whole-object batches to the
//! loader, one batch ahead of it.

use futures_util::StreamExt;
use sbw_rawstore::decode::{decode_guarded, DecodedObject};
use sbw_rawstore::{RawObject, RawStore, StoreError};
use tokio::sync::mpsc;

use super::RunOptions;
use crate::warehouse::LoadedObject;

/// Objects decoded together in one blocking task, at most this many or
/// this many compressed bytes.
const DECODE_OBJECTS: usize = 64;
const DECODE_BYTES: usize = 8 << 20;

pub(super) type Batch = Result<Vec<LoadedObject>, StoreError>;

pub(super) async fn read_batches(
    source: RawStore,
    objects: Vec<RawObject>,
    options: RunOptions,
    sender: mpsc::Sender<Batch>,
) {
    let stored_limit = options.decode.stored_bytes;
    let mut fetched = futures_util::stream::iter(objects)
        .map(|object| {
            let source = source.clone();
            async move {
                if object.size as u64 > stored_limit {
                    return Ok::<_, StoreError>((object, None));
                }
                let bytes = source.get(&object.key).await?;
                Ok((object, Some(bytes)))
            }
        })
        .buffered(options.read_ahead.max(1));
    let mut undecoded = Vec::new();
    let mut undecoded_bytes = 0;
    let mut batch: Vec<LoadedObject> = Vec::new();
    let mut batch_events = 0;
    loop {
        let next = fetched.next().await;
        let done = next.is_none();
        match next {
            Some(Err(error)) => {
                let _ = sender.send(Err(error)).await;
                return;
            }
            Some(Ok((object, bytes))) => {
                undecoded_bytes += bytes.as_ref().map_or(0, |b| b.len());
                undecoded.push((object, bytes));
            }
            None => {}
        }
        if undecoded.len() >= DECODE_OBJECTS || undecoded_bytes >= DECODE_BYTES || done {
            let chunk = std::mem::take(&mut undecoded);
            undecoded_bytes = 0;
            let limits = options.decode;
            let decoded = tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|(object, bytes)| LoadedObject {
                        decoded: match bytes {
                            Some(bytes) => decode_guarded(&bytes, &limits),
                            None => DecodedObject::quarantined(format!(
                                "the object is {} bytes, over the limit of {}; it was not read",
                                object.size, limits.stored_bytes
                            )),
                        },
                        object,
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .expect("decoding does not panic");
            for loaded in decoded {
                batch_events += loaded.decoded.events.len();
                batch.push(loaded);
            }
        }
        if !batch.is_empty() && (batch_events >= options.batch_events || done) {
            batch_events = 0;
            if sender.send(Ok(std::mem::take(&mut batch))).await.is_err() {
                return;
            }
        }
        if done {
            return;
        }
    }
}
