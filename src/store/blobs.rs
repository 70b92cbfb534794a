//! Attachments' bytes on the device (`blobs`, keyed by SHA-256): kept as the browser's own
//! `Blob`s (structured clone, not JSON), so a photo or a PDF costs its size and nothing
//! more. A blob still to send carries `pending`; the sync engine sends those in their own
//! requests before a push (`sync::attachments`).

use domain::Sha256;
use indexed_db_futures::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use super::{commit, get_row, Result, Store, StoreError, BLOBS};

/// A blob's facts without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub sha256: Sha256,
    pub mime: String,
    pub size: u64,
}

fn set(row: &JsValue, key: &str, value: &JsValue) -> Result<()> {
    js_sys::Reflect::set(row, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|_| StoreError::Data(format!("{key} could not be stored")))
}

fn get(row: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(row, &JsValue::from_str(key))
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
}

impl Store {
    /// Keeps `bytes` under their digest; `pending` when this device must still send them
    /// (a file picked here), not when they came from the server. Keeping bytes already
    /// kept changes nothing, except that bytes now known to be on the server stop being
    /// pending.
    pub async fn put_blob(
        &self,
        sha256: &Sha256,
        mime: &str,
        bytes: &web_sys::Blob,
        pending: bool,
    ) -> Result<()> {
        let tx = self.strict_readwrite(&[BLOBS])?;
        let store = tx.object_store(BLOBS)?;
        let existing = get_row(&store, sha256.as_str()).await?;
        let row = match existing {
            Some(row) => {
                if !pending {
                    js_sys::Reflect::delete_property(
                        row.unchecked_ref::<js_sys::Object>(),
                        &"pending".into(),
                    )
                    .map_err(|_| StoreError::Data("pending".into()))?;
                }
                row
            }
            None => {
                let row: JsValue = js_sys::Object::new().into();
                set(&row, "sha256", &JsValue::from_str(sha256.as_str()))?;
                set(&row, "mime", &JsValue::from_str(mime))?;
                set(&row, "size", &JsValue::from_f64(bytes.size()))?;
                set(&row, "bytes", bytes)?;
                if pending {
                    // Only rows with the property are in `by_pending`.
                    set(&row, "pending", &JsValue::from_f64(1.0))?;
                }
                row
            }
        };
        store.put(row).primitive()?.await?;
        commit(tx).await
    }

    /// The bytes kept under `sha256`, if this device has them.
    pub async fn blob(&self, sha256: &Sha256) -> Result<Option<web_sys::Blob>> {
        let tx = self.db.transaction(BLOBS).build()?;
        let row = get_row(&tx.object_store(BLOBS)?, sha256.as_str()).await?;
        Ok(row
            .and_then(|row| get(&row, "bytes"))
            .and_then(|bytes| bytes.dyn_into::<web_sys::Blob>().ok()))
    }

    /// Which of `wanted` this device holds.
    pub async fn blobs_held(&self, wanted: &[Sha256]) -> Result<Vec<bool>> {
        let tx = self.db.transaction(BLOBS).build()?;
        let store = tx.object_store(BLOBS)?;
        let mut held = Vec::with_capacity(wanted.len());
        for sha in wanted {
            let count = store
                .count()
                .with_query::<JsValue, _>(JsValue::from_str(sha.as_str()))
                .primitive()?
                .await?;
            held.push(count > 0);
        }
        Ok(held)
    }

    /// The blobs this device must still send, oldest first is not tracked: any order.
    pub async fn pending_blobs(&self) -> Result<Vec<BlobInfo>> {
        let tx = self.db.transaction(BLOBS).build()?;
        let store = tx.object_store(BLOBS)?;
        let index = store.index("by_pending")?;
        let rows = index.get_all::<JsValue>().primitive()?.await?;
        let mut found = Vec::new();
        for row in rows {
            let row = row.map_err(StoreError::from_db)?;
            let sha = get(&row, "sha256").and_then(|v| v.as_string());
            let Some(sha256) = sha.and_then(|sha| Sha256::parse(&sha).ok()) else {
                continue;
            };
            found.push(BlobInfo {
                sha256,
                mime: get(&row, "mime")
                    .and_then(|v| v.as_string())
                    .unwrap_or_default(),
                size: get(&row, "size").and_then(|v| v.as_f64()).unwrap_or(0.0) as u64,
            });
        }
        Ok(found)
    }

    /// The server has the bytes of `sha256`: stop sending them.
    pub async fn blob_sent(&self, sha256: &Sha256) -> Result<()> {
        let tx = self.strict_readwrite(&[BLOBS])?;
        let store = tx.object_store(BLOBS)?;
        if let Some(row) = get_row(&store, sha256.as_str()).await? {
            js_sys::Reflect::delete_property(
                row.unchecked_ref::<js_sys::Object>(),
                &"pending".into(),
            )
            .map_err(|_| StoreError::Data("pending".into()))?;
            store.put(row).primitive()?.await?;
        }
        commit(tx).await
    }
}
