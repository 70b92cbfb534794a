//! The device's sync rules (`domain::replica`) over one IndexedDB transaction.
//!
//! [`IdbTx`] is nothing but the reads and writes: every rule (what a save writes, what a
//! push answer or a pull page changes, when an outbox entry goes) lives in the domain crate,
//! where the sync simulation runs the same code over memory.

use std::collections::BTreeMap;

use domain::replica::{DeviceState, LocalTx, OutboxEntry, RejectionNote, ServerCopy, SyncState};
use domain::{ForKind, Id, Record, RecordKind};
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::Transaction;
use indexed_db_futures::KeyRange;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

use super::{
    decode_rows, store_name, OutboxRow, StoreError, DEVICE_KEY, META, OUTBOX, REJECTIONS, SYNCED,
};

pub(crate) const SYNC_KEY: &str = "sync";

/// One open readwrite (or readonly, for reads) transaction, as the domain's rules see it.
pub(crate) struct IdbTx<'a> {
    pub(crate) tx: &'a Transaction<'a>,
}

/// A record as the server last sent it. JSON as text, so numbers come back exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SyncedRow {
    pub(crate) id: Id,
    kind: RecordKind,
    version: u64,
    record: String,
    versions: String,
    conflicts: String,
    #[serde(default)]
    reflects: u64,
    /// The full pull that brought it (see `SyncState::generation`).
    #[serde(default)]
    generation: u64,
    /// How many conflicts are unresolved; absent when none, so the sparse index
    /// `by_open_conflicts` lists exactly the records with something to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open_conflicts: Option<u32>,
}

impl SyncedRow {
    fn from_copy(copy: &ServerCopy) -> Result<SyncedRow, StoreError> {
        Ok(SyncedRow {
            id: copy.id,
            kind: copy.kind,
            version: copy.version,
            record: serde_json::to_string(&copy.record)?,
            versions: serde_json::to_string(&copy.versions)?,
            conflicts: serde_json::to_string(&copy.conflicts)?,
            reflects: copy.reflects,
            generation: copy.generation,
            open_conflicts: match copy.conflicts.iter().filter(|c| !c.resolved).count() {
                0 => None,
                n => Some(n as u32),
            },
        })
    }

    pub(crate) fn to_copy(&self) -> Result<ServerCopy, StoreError> {
        let record = match serde_json::from_str(&self.record)? {
            Value::Object(map) => map,
            _ => {
                return Err(StoreError::Data(format!(
                    "record {} is not an object",
                    self.id
                )))
            }
        };
        Ok(ServerCopy {
            kind: self.kind,
            id: self.id,
            version: self.version,
            record,
            versions: serde_json::from_str(&self.versions)?,
            conflicts: serde_json::from_str(&self.conflicts)?,
            reflects: self.reflects,
            generation: self.generation,
        })
    }

    pub(crate) fn conflicts(&self) -> Result<Vec<domain::Conflict>, StoreError> {
        Ok(serde_json::from_str(&self.conflicts)?)
    }

    pub(crate) fn versions(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        Ok(serde_json::from_str(&self.versions)?)
    }
}

/// The outbox rows of one record, in number order.
fn pending_entries(
    rows: impl Iterator<Item = Result<JsValue, indexed_db_futures::error::Error>>,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut entries = decode_rows::<OutboxRow>(rows)?
        .into_iter()
        .map(OutboxEntry::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.mutation.seq);
    Ok(entries)
}

fn id_key(id: Id) -> KeyRange<JsValue> {
    KeyRange::Only(JsValue::from_str(&id.to_string()))
}

fn seq_key(seq: u64) -> JsValue {
    JsValue::from_f64(seq as f64)
}

/// Writes in these transactions are sent without waiting for each answer: IndexedDB runs
/// the requests of one transaction in the order they were made (a later read sees an earlier
/// write), and a request that fails aborts the whole transaction, which its commit reports.
/// Waiting for every answer cost a turn of the event loop per record on the pull path.
fn sent<F>(request: F) {
    drop(request);
}

async fn put_meta<T: Serialize>(
    tx: &Transaction<'_>,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    sent(
        tx.object_store(META)?
            .put(super::to_js(value)?)
            .with_key(JsValue::from_str(key))
            .primitive()?,
    );
    Ok(())
}

async fn outbox_rows(
    tx: &Transaction<'_>,
    range: KeyRange<JsValue>,
    limit: Option<u32>,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let store = tx.object_store(OUTBOX)?;
    let request = store.get_all::<JsValue>().with_query::<JsValue, _>(range);
    let rows = match limit {
        Some(limit) => request.with_limit(limit).primitive()?.await?,
        None => request.primitive()?.await?,
    };
    decode_rows::<OutboxRow>(rows)?
        .into_iter()
        .map(OutboxEntry::try_from)
        .collect()
}

/// A stored record of a kind known at run time, read through its type (so a row an older
/// version wrote comes back in today's shape) as a JSON object.
pub(super) struct FromStored(pub(super) JsValue);

impl ForKind for FromStored {
    type Output = Result<Map<String, Value>, StoreError>;
    fn run<T: Record>(self) -> Self::Output {
        let record: T = super::from_js(&self.0)?;
        Ok(domain::to_object(&record)?)
    }
}

/// A record of a kind known at run time as it is stored: checked through its type.
struct ToStored(Map<String, Value>);

impl ForKind for ToStored {
    type Output = Result<JsValue, StoreError>;
    fn run<T: Record>(self) -> Self::Output {
        let record: T = serde_json::from_value(Value::Object(self.0))?;
        super::stored_row(&record)
    }
}

impl LocalTx for IdbTx<'_> {
    type Error = StoreError;

    async fn device(&mut self) -> Result<Option<DeviceState>, StoreError> {
        super::get_json(&self.tx.object_store(META)?, DEVICE_KEY).await
    }

    async fn put_device(&mut self, device: &DeviceState) -> Result<(), StoreError> {
        put_meta(self.tx, DEVICE_KEY, device).await
    }

    async fn sync_state(&mut self) -> Result<SyncState, StoreError> {
        let found: Option<SyncState> =
            super::get_json(&self.tx.object_store(META)?, SYNC_KEY).await?;
        Ok(found.unwrap_or_default())
    }

    async fn put_sync_state(&mut self, state: &SyncState) -> Result<(), StoreError> {
        put_meta(self.tx, SYNC_KEY, state).await
    }

    async fn copy(&mut self, id: Id) -> Result<Option<ServerCopy>, StoreError> {
        let row: Option<SyncedRow> =
            super::get_json(&self.tx.object_store(SYNCED)?, &id.to_string()).await?;
        row.map(|r| r.to_copy()).transpose()
    }

    async fn put_copy(&mut self, copy: &ServerCopy) -> Result<(), StoreError> {
        sent(
            self.tx
                .object_store(SYNCED)?
                .put(super::to_js(&SyncedRow::from_copy(copy)?)?)
                .primitive()?,
        );
        Ok(())
    }

    async fn delete_copy(&mut self, id: Id) -> Result<(), StoreError> {
        sent(
            self.tx
                .object_store(SYNCED)?
                .delete::<JsValue, _>(id_key(id))
                .primitive()?,
        );
        Ok(())
    }

    async fn copy_kinds(&mut self, ids: &[Id]) -> Result<BTreeMap<Id, RecordKind>, StoreError> {
        // Every request is made before the first answer is awaited: one wait for the page.
        // Only each row's `kind` crosses out of JavaScript, not the record it holds.
        let synced = self.tx.object_store(SYNCED)?;
        let requests = ids
            .iter()
            .map(|&id| {
                synced
                    .get::<JsValue, _, _>(JsValue::from_str(&id.to_string()))
                    .primitive()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut kinds = BTreeMap::new();
        for (&id, request) in ids.iter().zip(requests) {
            let Some(row) = request.await?.filter(|row| !row.is_undefined()) else {
                continue;
            };
            let kind = js_sys::Reflect::get(&row, &JsValue::from_str("kind"))
                .ok()
                .and_then(|kind| kind.as_string())
                .and_then(|kind| kind.parse::<RecordKind>().ok())
                .ok_or_else(|| StoreError::Data(format!("the copy of {id} has no kind")))?;
            kinds.insert(id, kind);
        }
        Ok(kinds)
    }

    async fn copies_before(
        &mut self,
        generation: u64,
    ) -> Result<Vec<(RecordKind, Id)>, StoreError> {
        // Only at the end of a full pull after the server went back: a scan is fine.
        let rows = self
            .tx
            .object_store(SYNCED)?
            .get_all::<JsValue>()
            .primitive()?
            .await?;
        Ok(decode_rows::<SyncedRow>(rows)?
            .into_iter()
            .filter(|r| r.generation < generation)
            .map(|r| (r.kind, r.id))
            .collect())
    }

    async fn view(
        &mut self,
        kind: RecordKind,
        id: Id,
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        super::get_row(&self.tx.object_store(store_name(kind))?, &id.to_string())
            .await?
            .map(|row| kind.with_type(FromStored(row)))
            .transpose()
    }

    async fn put_view(
        &mut self,
        kind: RecordKind,
        record: Map<String, Value>,
    ) -> Result<(), StoreError> {
        let row = kind.with_type(ToStored(record))?;
        sent(
            self.tx
                .object_store(store_name(kind))?
                .put(row)
                .primitive()?,
        );
        Ok(())
    }

    async fn delete_view(&mut self, kind: RecordKind, id: Id) -> Result<(), StoreError> {
        sent(
            self.tx
                .object_store(store_name(kind))?
                .delete::<JsValue, _>(id_key(id))
                .primitive()?,
        );
        Ok(())
    }

    async fn pending(&mut self, id: Id) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = self
            .tx
            .object_store(OUTBOX)?
            .index("by_record")?
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(id_key(id))
            .primitive()?
            .await?;
        pending_entries(rows)
    }

    async fn pending_of(
        &mut self,
        ids: &[Id],
    ) -> Result<BTreeMap<Id, Vec<OutboxEntry>>, StoreError> {
        // Every request is made before the first answer is awaited: one wait for the page.
        let outbox = self.tx.object_store(OUTBOX)?;
        let index = outbox.index("by_record")?;
        let requests = ids
            .iter()
            .map(|&id| {
                index
                    .get_all::<JsValue>()
                    .with_query::<JsValue, _>(id_key(id))
                    .primitive()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut found = BTreeMap::new();
        for (&id, request) in ids.iter().zip(requests) {
            let entries = pending_entries(request.await?)?;
            if !entries.is_empty() {
                found.insert(id, entries);
            }
        }
        Ok(found)
    }

    async fn outbox_after(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let limit = u32::try_from(limit).ok();
        outbox_rows(self.tx, KeyRange::LowerBound(seq_key(after), true), limit).await
    }

    async fn outbox_through(&mut self, seq: u64) -> Result<Vec<OutboxEntry>, StoreError> {
        outbox_rows(self.tx, KeyRange::UpperBound(seq_key(seq), false), None).await
    }

    async fn add_outbox(&mut self, entry: &OutboxEntry) -> Result<(), StoreError> {
        // `add`, never `put`: an outbox entry is never overwritten, so a counter that went
        // wrong fails the whole save instead of silently replacing an unsent edit.
        self.tx
            .object_store(OUTBOX)?
            .add(super::to_js(&OutboxRow::try_from(entry)?)?)
            .primitive()?
            .await?;
        Ok(())
    }

    async fn delete_outbox_through(&mut self, seq: u64) -> Result<(), StoreError> {
        sent(
            self.tx
                .object_store(OUTBOX)?
                .delete::<JsValue, _>(KeyRange::UpperBound(seq_key(seq), false))
                .primitive()?,
        );
        Ok(())
    }

    async fn has_rejection(&mut self, record: Id) -> Result<bool, StoreError> {
        // Refusals are few and dismissed once read: a scan is fine.
        let rows = self
            .tx
            .object_store(REJECTIONS)?
            .get_all::<JsValue>()
            .primitive()?
            .await?;
        Ok(decode_rows::<RejectionNote>(rows)?
            .iter()
            .any(|n| n.record_id == record))
    }

    async fn put_rejection(&mut self, note: &RejectionNote) -> Result<(), StoreError> {
        self.tx
            .object_store(REJECTIONS)?
            .put(super::to_js(note)?)
            .primitive()?
            .await?;
        Ok(())
    }
}
