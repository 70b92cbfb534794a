//! The local side of sync: what the device knows about the server's copy of each record, the
//! pushed and acknowledged outbox entries, refusals, and the signed-in account.
//!
//! Every method that changes sync state is one readwrite transaction with strict durability,
//! so a crash mid-sync leaves the device either before or after a whole step, never between:
//! - [`Store::record_push`]: the push answer (acknowledged number, refusals). It does not drop
//!   outbox entries: their effect is not on the device until a pull brings it.
//! - [`Store::apply_pull`]: one page of a pull: the records the server sent, records the user
//!   lost, the cursor, the clock, and (on the last page) the outbox entries the server applied,
//!   with every affected record rebuilt as "server copy + still-pending edits".

use std::collections::BTreeMap;

use domain::{
    Conflict, Cursor, Deal, Hlc, Id, Lead, PullResponse, PushResponse, RecordChange, RecordKind,
    RejectReason, Visit,
};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::KeyRange;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

use super::{
    commit, decode_rows, load_or_create_device, read_all, store_name, OutboxEntry, OutboxRow,
    Result, Store, StoreError, DEALS, DEVICE_KEY, LEADS, META, OUTBOX, REJECTIONS, SYNCED, VISITS,
};

const SYNC_KEY: &str = "sync";
const ACCOUNT_KEY: &str = "account";

/// Where this device's sync stands; kept in `meta`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The last pull's cursor (`None`: pull everything).
    pub cursor: Option<String>,
    /// The highest mutation number the server has confirmed applying.
    pub acked: u64,
    /// When the last complete pull finished (device clock, ms).
    pub last_synced_ms: Option<i64>,
    /// Conflicts the person dealt with on this device that the server has not heard of yet.
    #[serde(default)]
    pub resolved: Vec<Id>,
}

/// The signed-in user, kept so the app opens offline as them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: Id,
    pub login: String,
    pub display_name: String,
    /// `rep`, `manager` or `admin`.
    pub role: String,
    pub team_id: Option<Id>,
}

/// A mutation the server refused, shown on its record until the person dismisses it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectionNote {
    pub seq: u64,
    pub kind: RecordKind,
    pub record_id: Id,
    pub reason: RejectReason,
    /// The fields the refused edit changed, and the values it tried (JSON text), so nothing
    /// typed is lost even though the server did not take it.
    pub fields: String,
    pub at_ms: i64,
}

/// A record as the server last sent it. JSON as text, so numbers come back exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SyncedRow {
    id: Id,
    kind: RecordKind,
    version: u64,
    record: String,
    versions: String,
    conflicts: String,
    /// The device's `last_applied` in the pull answer that brought this copy: the server read
    /// both at once, so every outbox entry up to it is already in the copy.
    #[serde(default)]
    reflects: u64,
    /// How many conflicts are unresolved; absent when none, so the sparse index
    /// `by_open_conflicts` lists exactly the records with something to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open_conflicts: Option<u32>,
}

impl SyncedRow {
    fn from_change(change: &RecordChange, reflects: u64) -> Result<SyncedRow> {
        Ok(SyncedRow {
            id: change.id,
            kind: change.kind,
            version: change.version,
            record: serde_json::to_string(&change.record)?,
            versions: serde_json::to_string(&change.field_versions)?,
            conflicts: serde_json::to_string(&change.conflicts)?,
            reflects,
            open_conflicts: match change.conflicts.iter().filter(|c| !c.resolved).count() {
                0 => None,
                n => Some(n as u32),
            },
        })
    }

    fn record(&self) -> Result<Map<String, Value>> {
        match serde_json::from_str(&self.record)? {
            Value::Object(map) => Ok(map),
            _ => Err(StoreError::Data(format!(
                "record {} is not an object",
                self.id
            ))),
        }
    }

    fn versions(&self) -> Result<BTreeMap<String, u64>> {
        Ok(serde_json::from_str(&self.versions)?)
    }

    fn conflicts(&self) -> Result<Vec<Conflict>> {
        Ok(serde_json::from_str(&self.conflicts)?)
    }
}

/// What one pull page changed on the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PullApplied {
    /// Records written or removed.
    pub records: usize,
    /// Outbox entries dropped because the server's copy now carries them.
    pub dropped: usize,
}

impl Store {
    /// The sync state (default before the first sync).
    pub async fn sync_state(&self) -> Result<SyncState> {
        let tx = self.db.transaction(META).build()?;
        let found: Option<SyncState> = tx.object_store(META)?.get(SYNC_KEY).serde()?.await?;
        Ok(found.unwrap_or_default())
    }

    /// The account the device was last signed in as.
    pub async fn account(&self) -> Result<Option<Account>> {
        let tx = self.db.transaction(META).build()?;
        let found: Option<Account> = tx.object_store(META)?.get(ACCOUNT_KEY).serde()?.await?;
        Ok(found)
    }

    /// Remembers who signed in.
    pub async fn set_account(&self, account: &Account) -> Result<()> {
        let tx = self.strict_readwrite(&[META])?;
        put_meta(&tx.object_store(META)?, ACCOUNT_KEY, account).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The outbox entries after `after`, in number order, at most `limit`.
    pub async fn outbox_after(&self, after: u64, limit: usize) -> Result<Vec<OutboxEntry>> {
        let tx = self.db.transaction(OUTBOX).build()?;
        let range = KeyRange::LowerBound(JsValue::from_f64(after as f64), true);
        let rows = tx
            .object_store(OUTBOX)?
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(range)
            .with_limit(limit as u32)
            .primitive()?
            .await?;
        decode_rows::<OutboxRow>(rows)?
            .into_iter()
            .map(OutboxEntry::try_from)
            .collect()
    }

    /// Records a push answer: the server applied everything up to `response.last_applied`,
    /// and refused the listed mutations (kept as notes on their records).
    pub async fn record_push(
        &self,
        sent: &[OutboxEntry],
        response: &PushResponse,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self.strict_readwrite(&[META, REJECTIONS])?;
        let meta = tx.object_store(META)?;
        let mut state = load_sync_state(&meta).await?;
        state.acked = state.acked.max(response.last_applied);
        put_meta(&meta, SYNC_KEY, &state).await?;
        let rejections = tx.object_store(REJECTIONS)?;
        for refused in &response.rejected {
            let entry = sent.iter().find(|e| e.mutation.seq == refused.seq);
            let fields = match entry {
                Some(e) => serde_json::to_string(&e.mutation.fields)?,
                None => "{}".into(),
            };
            let kind = entry.map_or(RecordKind::Lead, |e| e.mutation.kind);
            let note = RejectionNote {
                seq: refused.seq,
                kind,
                record_id: refused.record_id,
                reason: refused.reason.clone(),
                fields,
                at_ms: now_ms,
            };
            rejections.put(&note).serde()?.await?;
        }
        commit(tx).await?;
        Ok(())
    }

    /// The server expects mutation `expected` next (a 409 gap answer): resend from there.
    pub async fn rewind_acked(&self, expected: u64) -> Result<()> {
        let tx = self.strict_readwrite(&[META])?;
        let meta = tx.object_store(META)?;
        let mut state = load_sync_state(&meta).await?;
        state.acked = expected.saturating_sub(1);
        put_meta(&meta, SYNC_KEY, &state).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Applies one page of a pull in one transaction; see the module notes.
    pub async fn apply_pull(&self, page: &PullResponse, now_ms: i64) -> Result<PullApplied> {
        let tx = self.strict_readwrite(&[LEADS, VISITS, DEALS, SYNCED, OUTBOX, META])?;
        let meta = tx.object_store(META)?;
        let synced = tx.object_store(SYNCED)?;
        let outbox = tx.object_store(OUTBOX)?;
        let mut applied = PullApplied::default();
        let mut touched: BTreeMap<Id, RecordKind> = BTreeMap::new();

        for change in &page.changes {
            synced
                .put(&SyncedRow::from_change(change, page.last_applied)?)
                .serde()?
                .await?;
            touched.insert(change.id, change.kind);
        }
        for gone in &page.removed {
            let key = JsValue::from_str(&gone.id.to_string());
            tx.object_store(store_name(gone.kind))?
                .delete::<JsValue, _>(KeyRange::Only(key.clone()))
                .primitive()?
                .await?;
            synced
                .delete::<JsValue, _>(KeyRange::Only(key))
                .primitive()?
                .await?;
            touched.remove(&gone.id);
            applied.records += 1;
        }

        let mut state = load_sync_state(&meta).await?;
        state.acked = state.acked.max(page.last_applied);
        if !page.more {
            // The last page: every record now carries the edits the server applied, so those
            // outbox entries can go, and their records are rebuilt without them.
            let done = outbox_rows(
                &outbox,
                KeyRange::UpperBound(JsValue::from_f64(page.last_applied as f64), false),
            )
            .await?;
            for row in &done {
                if !page.removed.iter().any(|r| r.id == row.record_id) {
                    touched.entry(row.record_id).or_insert(row.kind);
                }
            }
            if !done.is_empty() {
                outbox
                    .delete::<JsValue, _>(KeyRange::UpperBound(
                        JsValue::from_f64(page.last_applied as f64),
                        false,
                    ))
                    .primitive()?
                    .await?;
            }
            applied.dropped = done.len();
            state.last_synced_ms = Some(now_ms);
        }

        for (id, kind) in touched {
            if rebuild_view(&tx, &synced, &outbox, id, kind).await? {
                applied.records += 1;
            }
        }

        if let Some(cursor) = page.cursor {
            state.cursor = Some(Cursor::to_string(&cursor));
        }
        put_meta(&meta, SYNC_KEY, &state).await?;
        let mut device = load_or_create_device(&meta, now_ms).await?;
        let mut hlc = Hlc::restore(device.client_id, device.last_stamp);
        hlc.observe(page.server_stamp, now_ms);
        device.last_stamp = hlc.last();
        put_meta(&meta, DEVICE_KEY, &device).await?;
        commit(tx).await?;
        Ok(applied)
    }

    /// Unresolved conflicts of every record, except `dealt_with` (resolved on this device,
    /// not yet told to the server: [`SyncState::resolved`]). Reads only the records that have
    /// some, through the sparse index `by_open_conflicts`.
    pub async fn conflicts(&self, dealt_with: &[Id]) -> Result<Vec<Conflict>> {
        let tx = self.db.transaction(SYNCED).build()?;
        let rows = tx
            .object_store(SYNCED)?
            .index("by_open_conflicts")?
            .get_all::<JsValue>()
            .primitive()?
            .await?;
        let mut all = Vec::new();
        for row in decode_rows::<SyncedRow>(rows)? {
            all.extend(
                row.conflicts()?
                    .into_iter()
                    .filter(|c| !c.resolved && !dealt_with.contains(&c.id)),
            );
        }
        Ok(all)
    }

    /// The server's field versions of a record, as last pulled (empty when it never was).
    pub async fn field_versions(&self, id: Id) -> Result<BTreeMap<String, u64>> {
        let tx = self.db.transaction(SYNCED).build()?;
        let row: Option<SyncedRow> = tx
            .object_store(SYNCED)?
            .get(id.to_string())
            .serde()?
            .await?;
        row.map_or_else(|| Ok(BTreeMap::new()), |r| r.versions())
    }

    /// Refusals the person has not dismissed yet.
    pub async fn rejections(&self) -> Result<Vec<RejectionNote>> {
        let tx = self.db.transaction(REJECTIONS).build()?;
        read_all(&tx.object_store(REJECTIONS)?).await
    }

    /// Forgets a refusal the person has read.
    pub async fn dismiss_rejection(&self, seq: u64) -> Result<()> {
        let tx = self.strict_readwrite(&[REJECTIONS])?;
        tx.object_store(REJECTIONS)?
            .delete::<JsValue, _>(KeyRange::Only(JsValue::from_f64(seq as f64)))
            .primitive()?
            .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Notes that the person dealt with a conflict (restored or kept), to tell the server.
    pub async fn queue_resolution(&self, conflict: Id) -> Result<()> {
        self.update_sync_state(|state| {
            if !state.resolved.contains(&conflict) {
                state.resolved.push(conflict);
            }
        })
        .await
    }

    /// The server has heard that `conflict` was dealt with.
    pub async fn resolution_sent(&self, conflict: Id) -> Result<()> {
        self.update_sync_state(|state| state.resolved.retain(|c| *c != conflict))
            .await
    }

    async fn update_sync_state(&self, change: impl FnOnce(&mut SyncState)) -> Result<()> {
        let tx = self.strict_readwrite(&[META])?;
        let meta = tx.object_store(META)?;
        let mut state = load_sync_state(&meta).await?;
        change(&mut state);
        put_meta(&meta, SYNC_KEY, &state).await?;
        commit(tx).await?;
        Ok(())
    }
}

/// Per changed field, the server version of the value the person saw when editing: that of
/// the newest pending edit of the field not yet in the server's copy (it replaced the pulled
/// value on screen), else the pulled one. A field never synced has none.
pub(super) async fn edit_bases(
    synced: &ObjectStore<'_>,
    outbox: &ObjectStore<'_>,
    id: Id,
    fields: impl Iterator<Item = &String>,
) -> Result<BTreeMap<String, u64>> {
    let row: Option<SyncedRow> = synced.get(id.to_string()).serde()?.await?;
    let reflects = row.as_ref().map_or(0, |r| r.reflects);
    let pending = pending_of(outbox, id, reflects).await?;
    let pulled = match row {
        Some(row) => row.versions()?,
        None => BTreeMap::new(),
    };
    let mut bases = BTreeMap::new();
    for field in fields {
        let newest = pending
            .iter()
            .rev()
            .find(|e| e.mutation.fields.contains_key(field));
        let base = match newest {
            Some(entry) => entry.base.get(field).copied(),
            None => pulled.get(field).copied(),
        };
        if let Some(base) = base {
            bases.insert(field.clone(), base);
        }
    }
    Ok(bases)
}

/// The outbox entries of one record after `reflects` (those up to it are in the server's
/// copy already), in number order.
async fn pending_of(outbox: &ObjectStore<'_>, id: Id, reflects: u64) -> Result<Vec<OutboxEntry>> {
    let index = outbox.index("by_record")?;
    let rows = index
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(KeyRange::Only(JsValue::from_str(&id.to_string())))
        .primitive()?
        .await?;
    let mut entries = decode_rows::<OutboxRow>(rows)?
        .into_iter()
        .map(OutboxEntry::try_from)
        .collect::<Result<Vec<_>>>()?;
    entries.retain(|e| e.mutation.seq > reflects);
    entries.sort_by_key(|e| e.mutation.seq);
    Ok(entries)
}

async fn outbox_rows(outbox: &ObjectStore<'_>, range: KeyRange<JsValue>) -> Result<Vec<OutboxRow>> {
    let rows = outbox
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(range)
        .primitive()?
        .await?;
    decode_rows(rows)
}

/// Writes the record the screens show: the server's copy with the pending edits it does not
/// carry yet laid over it in number order. A record with neither (a refused create) is left
/// as it is, so nothing typed disappears. Returns whether it wrote.
async fn rebuild_view(
    tx: &indexed_db_futures::transaction::Transaction<'_>,
    synced: &ObjectStore<'_>,
    outbox: &ObjectStore<'_>,
    id: Id,
    kind: RecordKind,
) -> Result<bool> {
    let row: Option<SyncedRow> = synced.get(id.to_string()).serde()?.await?;
    let pending = pending_of(outbox, id, row.as_ref().map_or(0, |r| r.reflects)).await?;
    let mut object = match &row {
        Some(row) => row.record()?,
        None if pending.is_empty() => return Ok(false),
        None => Map::new(),
    };
    for entry in &pending {
        for (field, value) in &entry.mutation.fields {
            object.insert(field.clone(), value.clone());
        }
    }
    let store = tx.object_store(store_name(kind))?;
    let value = Value::Object(object);
    match kind {
        RecordKind::Lead => put_view::<Lead>(&store, value).await?,
        RecordKind::Visit => put_view::<Visit>(&store, value).await?,
        RecordKind::Deal => put_view::<Deal>(&store, value).await?,
    }
    Ok(true)
}

async fn put_view<T: domain::Record>(store: &ObjectStore<'_>, value: Value) -> Result<()> {
    let record: T = serde_json::from_value(value)?;
    store.put(&record).serde()?.await?;
    Ok(())
}

async fn load_sync_state(meta: &ObjectStore<'_>) -> Result<SyncState> {
    let found: Option<SyncState> = meta.get(SYNC_KEY).serde()?.await?;
    Ok(found.unwrap_or_default())
}

async fn put_meta<T: Serialize>(meta: &ObjectStore<'_>, key: &str, value: &T) -> Result<()> {
    meta.put(value)
        .with_key(key)
        .without_key_type()
        .serde()?
        .await?;
    Ok(())
}
