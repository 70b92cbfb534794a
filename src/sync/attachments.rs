//! Attachments' bytes move in their own requests, never inside a push: before each push the
//! files this device added are sent in chunks that resume where the server's copy ends
//! (after a lost connection only the rest travels), and after each pull the files of the
//! training items on the device that it does not hold yet are fetched, so an item is
//! readable offline once its body and every file are here. Files are named by SHA-256:
//! the same bytes are sent and kept once.

use std::collections::BTreeSet;

use domain::Sha256;

use super::api::{self, ApiError};
use crate::store::{Store, StoreError};

/// The size of one upload request: well under the server's body limit.
const CHUNK: u64 = 512 * 1024;

/// Why an attachment did not move.
#[derive(Debug)]
pub enum AttachmentError {
    Api(ApiError),
    Store(StoreError),
}

impl From<ApiError> for AttachmentError {
    fn from(err: ApiError) -> Self {
        AttachmentError::Api(err)
    }
}

impl From<StoreError> for AttachmentError {
    fn from(err: StoreError) -> Self {
        AttachmentError::Store(err)
    }
}

/// Sends every file this device still has to send. A file the server refuses (too large,
/// a type it does not take) is skipped and tried again on the next run; no answer at all
/// stops the run (the network is gone).
pub async fn send_pending(store: &Store) -> Result<(), AttachmentError> {
    for blob in store.pending_blobs().await? {
        match send_one(store, &blob.sha256, &blob.mime, blob.size).await {
            Ok(()) => store.blob_sent(&blob.sha256).await?,
            Err(AttachmentError::Api(
                err @ (ApiError::Offline | ApiError::SignedOut | ApiError::Busy { .. }),
            )) => return Err(err.into()),
            Err(AttachmentError::Api(_)) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

async fn send_one(
    store: &Store,
    sha256: &Sha256,
    mime: &str,
    size: u64,
) -> Result<(), AttachmentError> {
    let Some(bytes) = store.blob(sha256).await? else {
        return Ok(());
    };
    let state = api::upload_state(sha256.as_str()).await?;
    if state.complete {
        return Ok(());
    }
    let mut offset = state.offset.min(size);
    // A bounded number of requests: every answer moves the offset forward or says where
    // the server's copy ends.
    for _ in 0..(size / CHUNK + 8) {
        let end = (offset + CHUNK).min(size);
        let chunk = bytes
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|_| StoreError::Data("the file could not be read".into()))?;
        match api::upload_chunk(sha256.as_str(), offset, size, mime, &chunk).await {
            Ok(answer) if answer.complete => return Ok(()),
            Ok(answer) => offset = answer.offset.min(size),
            Err(ApiError::Gap { expected }) => offset = expected.min(size),
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::Refused {
        status: 0,
        key: "upload did not finish".into(),
    }
    .into())
}

/// Fetches the files of live training items the device does not hold. A file the server
/// does not have yet (its author's device has not sent it) is asked for again next run.
pub async fn fetch_missing(store: &Store) -> Result<bool, AttachmentError> {
    let book = store.training().await?;
    let mut wanted: Vec<(Sha256, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for item in book.items.iter().filter(|item| !item.deleted) {
        for attachment in &item.attachments {
            if seen.insert(attachment.sha256.clone()) {
                wanted.push((attachment.sha256.clone(), attachment.mime.clone()));
            }
        }
    }
    let shas: Vec<Sha256> = wanted.iter().map(|(sha, _)| sha.clone()).collect();
    let held = store.blobs_held(&shas).await?;
    let mut fetched = false;
    for ((sha, mime), held) in wanted.into_iter().zip(held) {
        if held {
            continue;
        }
        match api::download(sha.as_str()).await {
            Ok(bytes) => {
                store.put_blob(&sha, &mime, &bytes, false).await?;
                fetched = true;
            }
            Err(ApiError::NotFound) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Ok(fetched)
}
