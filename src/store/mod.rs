//! The device's local store: IndexedDB through `indexed_db_futures`.
//!
//! One object store per record kind, an `outbox` of numbered field-level mutations for the sync
//! engine, and a `meta` store with this device's identity and counters. Every save is one
//! readwrite transaction with strict durability that writes the records *and* their outbox
//! entries, so a crash leaves either both or neither. Deletes are tombstones (`deleted: true`),
//! which sync like any other field.

mod blobs;
mod local;
mod reports;
mod schema;
mod sync;
mod training;

use std::collections::BTreeMap;

use domain::replica::{self, EditSession};
use domain::{Deal, Id, Lead, Mutation, Record, RecordKind, Stamp, Visit};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};
use indexed_db_futures::KeyRange;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

pub use blobs::BlobInfo;
pub use domain::replica::{
    DeviceState, NextPush, OutboxEntry, PullApplied, PushApplied, RejectionNote, SyncNotice,
    SyncState,
};
pub use domain::PushLimits;
pub use domain::TeamMember;
pub use reports::ReportData;
pub use schema::{open_at_version, SCHEMA_VERSION};
pub use sync::Account;
pub use training::TrainingBook;

/// The database every signed-in device uses.
pub const DB_NAME: &str = "fieldbook";

pub(crate) const LEADS: &str = <Lead as Record>::COLLECTION;
pub(crate) const VISITS: &str = <Visit as Record>::COLLECTION;
pub(crate) const DEALS: &str = <Deal as Record>::COLLECTION;
pub(crate) const OUTBOX: &str = "outbox";
pub(crate) const META: &str = "meta";
pub(crate) const SYNCED: &str = "synced";
pub(crate) const REJECTIONS: &str = "rejections";
pub(crate) const BLOBS: &str = "blobs";

/// Key of the device record in the `meta` store.
const DEVICE_KEY: &str = "device";

/// Why a read or write of the local store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The device has no room left: nothing of this save was written.
    #[error("storage quota exceeded")]
    QuotaExceeded,
    /// IndexedDB is missing or refused to open (private mode in some browsers, blocked upgrade).
    #[error("could not open the local database: {0}")]
    Open(String),
    /// Any other failure of the browser's database; the transaction was rolled back.
    #[error("local database error: {0}")]
    Db(String),
    /// A stored value did not have the expected shape.
    #[error("stored data could not be read: {0}")]
    Data(String),
}

impl StoreError {
    /// The message key the UI translates.
    pub fn key(&self) -> &'static str {
        match self {
            StoreError::QuotaExceeded => "error.storage_full",
            StoreError::Open(_) => "error.storage_open",
            StoreError::Db(_) | StoreError::Data(_) => "error.storage",
        }
    }

    fn from_db(err: indexed_db_futures::error::Error) -> StoreError {
        let text = err.to_string();
        if is_quota_error(&err) || text.contains("Quota") {
            StoreError::QuotaExceeded
        } else if matches!(
            err,
            indexed_db_futures::error::Error::Serialisation(_)
                | indexed_db_futures::error::Error::MissingData(_)
        ) {
            StoreError::Data(text)
        } else {
            StoreError::Db(text)
        }
    }
}

fn is_quota_error(err: &indexed_db_futures::error::Error) -> bool {
    match err {
        indexed_db_futures::error::Error::DomException(dom) => {
            let value: &JsValue = dom.as_ref();
            value
                .dyn_ref::<web_sys::DomException>()
                .is_some_and(|e| e.name() == "QuotaExceededError")
        }
        _ => false,
    }
}

/// Commits `tx`. When the browser aborts it instead, the reason is on the transaction itself
/// (`QuotaExceededError` when the device is full), which the library's "transaction aborted"
/// does not carry: read it there, so a full device is reported as such.
pub(crate) async fn commit(tx: indexed_db_futures::transaction::Transaction<'_>) -> Result<()> {
    use indexed_db_futures::internals::SystemRepr as _;
    let raw: web_sys::IdbTransaction = tx.as_sys().clone().into();
    match tx.commit().await {
        Ok(()) => Ok(()),
        Err(_)
            if raw
                .error()
                .is_some_and(|e| e.name() == "QuotaExceededError") =>
        {
            Err(StoreError::QuotaExceeded)
        }
        Err(err) => Err(err.into()),
    }
}

impl From<indexed_db_futures::error::Error> for StoreError {
    fn from(err: indexed_db_futures::error::Error) -> Self {
        StoreError::from_db(err)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        StoreError::Data(err.to_string())
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// Declares [`Change`] over every record kind: one line per kind, each variant named as
/// its [`RecordKind`] and holding that kind's record type.
macro_rules! changes {
    ($($kind:ident),+ $(,)?) => {
        /// One record to write in a save.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Change {
            $($kind(domain::$kind),)+
        }

        impl Change {
            /// The kind of record.
            pub fn kind(&self) -> RecordKind {
                match self {
                    $(Change::$kind(_) => RecordKind::$kind,)+
                }
            }

            fn to_object(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
                Ok(match self {
                    $(Change::$kind(r) => domain::to_object(r)?,)+
                })
            }

            /// A record of `kind` as a JSON object, typed again.
            pub fn from_object(
                kind: RecordKind,
                record: serde_json::Map<String, serde_json::Value>,
            ) -> Result<Change> {
                let record = serde_json::Value::Object(record);
                Ok(match kind {
                    $(RecordKind::$kind => Change::$kind(serde_json::from_value(record)?),)+
                })
            }
        }
    };
}

changes!(
    Lead,
    Visit,
    Deal,
    TrainingItem,
    TrainingSession,
    TrainingRecord,
    QuizAttempt,
    TeamSettings,
    Target,
    StageChange,
);

/// A record to save and what the person saw when they opened it ([`Store::edit_session`]);
/// without a session the change is made on the record as the device holds it now (an
/// action such as "move to trash", or a record the visit form moves).
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub change: Change,
    pub session: Option<EditSession>,
}

impl From<Change> for Edit {
    fn from(change: Change) -> Self {
        Edit {
            change,
            session: None,
        }
    }
}

/// Today's leads as [`Store::agenda`] reads them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Agenda {
    /// The oldest overdue leads, oldest first.
    pub overdue: Vec<Lead>,
    /// How many leads are overdue in all.
    pub overdue_total: usize,
    /// The leads due today, in id order.
    pub due: Vec<Lead>,
}

/// Everything on the device, as the screens need it at start-up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub leads: Vec<Lead>,
    pub visits: Vec<Visit>,
    pub deals: Vec<Deal>,
}

/// The IndexedDB store of a kind's records ([`domain::Record::COLLECTION`]).
pub(crate) fn store_name(kind: RecordKind) -> &'static str {
    kind.collection()
}

/// An open connection to the local database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (creating or upgrading) the database `name` at the current schema version.
    pub async fn open(name: &str) -> Result<Store> {
        let db = schema::open_at_version(name, SCHEMA_VERSION).await?;
        Ok(Store { db })
    }

    /// Wraps an already open database (tests open older versions by hand).
    pub fn from_database(db: Database) -> Store {
        Store { db }
    }

    /// Calls `then` when another connection wants this database upgraded or deleted
    /// (`versionchange`); it should close this connection, or the other side waits.
    pub fn on_version_change(&self, then: impl Fn() + 'static) {
        use indexed_db_futures::internals::SystemRepr as _;
        let handler = wasm_bindgen::closure::Closure::<dyn Fn()>::new(then);
        let raw: &JsValue = self.db.as_sys().unchecked_ref();
        let _ = js_sys::Reflect::set(raw, &"onversionchange".into(), handler.as_ref());
        // The handler lives as long as the page; a connection is opened once per page.
        handler.forget();
    }

    /// Closes the connection so the database can be upgraded or deleted.
    pub fn close(&self) {
        self.db.clone().close();
    }

    /// Deletes the whole local database `name`.
    pub async fn delete(name: &str) -> Result<()> {
        Database::delete_by_name(name)
            .map_err(|e| StoreError::Open(e.to_string()))?
            .await
            .map_err(StoreError::from_db)
    }

    /// The schema version of the open database.
    pub fn version(&self) -> u32 {
        // IndexedDB versions are small integers stored as doubles.
        self.db.version() as u32
    }

    /// The database's object stores, by name.
    pub fn store_names(&self) -> Vec<String> {
        self.db.object_store_names().collect()
    }

    /// A readwrite transaction that completes only once its commit is on disk.
    fn strict_readwrite(
        &self,
        stores: &[&str],
    ) -> Result<indexed_db_futures::transaction::Transaction<'_>> {
        self.readwrite(stores, TransactionDurability::Strict)
    }

    /// A readwrite transaction whose commit need not reach the disk before it completes
    /// (no flush per commit). Only for writes that can be done again: a pull page writes
    /// its records and the cursor after them in one transaction, so a commit lost to a
    /// power cut takes the cursor back with the records, and the next sync pulls that page
    /// again. (The log keeps commit order: a later strict commit flushes this one too.)
    fn relaxed_readwrite(
        &self,
        stores: &[&str],
    ) -> Result<indexed_db_futures::transaction::Transaction<'_>> {
        self.readwrite(stores, TransactionDurability::Relaxed)
    }

    fn readwrite(
        &self,
        stores: &[&str],
        durability: TransactionDurability,
    ) -> Result<indexed_db_futures::transaction::Transaction<'_>> {
        let mut opts = TransactionOptions::new();
        opts.set_durability(durability);
        Ok(self
            .db
            .transaction(stores)
            .with_mode(TransactionMode::Readwrite)
            .with_options(opts)
            .build()?)
    }

    /// The record stores, for transactions that read or rebuild records: every kind's
    /// store, then `extra`.
    pub(crate) fn record_stores(extra: &[&'static str]) -> Vec<&'static str> {
        RecordKind::ALL
            .iter()
            .map(|kind| kind.collection())
            .chain(extra.iter().copied())
            .collect()
    }

    /// Writes `changes` as actions on the records as they are now ([`Store::save_edits`]
    /// without sessions).
    pub async fn save(&self, changes: &[Change], now_ms: i64) -> Result<Vec<Mutation>> {
        let edits: Vec<Edit> = changes.iter().cloned().map(Edit::from).collect();
        let saved = self.save_edits(&edits, now_ms).await?;
        Ok(saved.into_iter().map(|(mutation, _)| mutation).collect())
    }

    /// Writes `edits` and one outbox mutation per changed record in a single transaction.
    ///
    /// Each record gets only the fields the person changed in its edit session, on top of
    /// the record as it is now, each with the base of the value the person saw
    /// (`domain::replica::save`). `now_ms` stamps the mutations (edit time, not upload
    /// time). A record whose fields did not change gets no mutation. Returns each mutation
    /// written with its record as the screens now show it. If anything fails, nothing is
    /// written: the records, the outbox and the device counters roll back together.
    pub async fn save_edits(&self, edits: &[Edit], now_ms: i64) -> Result<Vec<(Mutation, Change)>> {
        let edits = edits
            .iter()
            .map(|e| {
                Ok(replica::Edit {
                    kind: e.change.kind(),
                    record: e.change.to_object()?,
                    session: e.session.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let tx = self.strict_readwrite(&Self::record_stores(&[OUTBOX, META, SYNCED]))?;
        let written = replica::save(&mut local::IdbTx { tx: &tx }, &edits, now_ms, || {
            new_device(now_ms)
        })
        .await?;
        commit(tx).await?;
        written
            .into_iter()
            .map(|saved| {
                let kind = saved.mutation.kind;
                Ok((saved.mutation, Change::from_object(kind, saved.record)?))
            })
            .collect()
    }

    /// This device's identity and counters, creating them on first use.
    ///
    /// Only the first start writes: every later one only reads, so the app still opens (and
    /// shows everything) on a device whose storage is full.
    pub async fn device(&self, now_ms: i64) -> Result<DeviceState> {
        let tx = self.db.transaction([META]).build()?;
        let found: Option<DeviceState> = get_json(&tx.object_store(META)?, DEVICE_KEY).await?;
        drop(tx);
        if let Some(device) = found {
            return Ok(device);
        }
        let tx = self.strict_readwrite(&[META])?;
        let meta = tx.object_store(META)?;
        // Another tab may have created it in between: take theirs.
        let found: Option<DeviceState> = get_json(&meta, DEVICE_KEY).await?;
        let device = found.unwrap_or_else(|| new_device(now_ms));
        put_json_at(&meta, DEVICE_KEY, &device).await?;
        commit(tx).await?;
        Ok(device)
    }

    /// Every lead, visit and deal, tombstones included (the trash shows them).
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let tx = self.db.transaction([LEADS, VISITS, DEALS]).build()?;
        let leads = read_all(&tx.object_store(LEADS)?).await?;
        let visits = read_all(&tx.object_store(VISITS)?).await?;
        let deals = read_all(&tx.object_store(DEALS)?).await?;
        Ok(Snapshot {
            leads,
            visits,
            deals,
        })
    }

    /// Up to `limit` leads in id order after `after` (from the first when `None`),
    /// tombstones included: the lead book is read in such chunks, each its own short
    /// transaction, so the page stays responsive while a large book loads.
    pub async fn leads_after(&self, after: Option<Id>, limit: u32) -> Result<Vec<Lead>> {
        let tx = self.db.transaction(LEADS).build()?;
        let store = tx.object_store(LEADS)?;
        let rows = match after {
            Some(id) => {
                store
                    .get_all::<JsValue>()
                    .with_query::<JsValue, _>(KeyRange::LowerBound(
                        JsValue::from_str(&id.to_string()),
                        true,
                    ))
                    .with_limit(limit)
                    .primitive()?
                    .await?
            }
            None => {
                store
                    .get_all::<JsValue>()
                    .with_limit(limit)
                    .primitive()?
                    .await?
            }
        };
        decode_rows(rows)
    }

    /// The leads with these ids as they are now (`None`: gone from the device), read in one
    /// transaction with every request made before the first answer is awaited.
    pub async fn leads_by_id(&self, ids: &[Id]) -> Result<Vec<(Id, Option<Lead>)>> {
        let tx = self.db.transaction(LEADS).build()?;
        let store = tx.object_store(LEADS)?;
        let requests = ids
            .iter()
            .map(|id| {
                store
                    .get::<JsValue, _, _>(JsValue::from_str(&id.to_string()))
                    .primitive()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut found = Vec::with_capacity(ids.len());
        for (&id, request) in ids.iter().zip(requests) {
            let lead = match request.await? {
                Some(row) if !row.is_undefined() => Some(from_js(&row)?),
                _ => None,
            };
            found.push((id, lead));
        }
        Ok(found)
    }

    /// One record of kind `T` by id, tombstones included.
    pub async fn record<T: Record>(&self, id: Id) -> Result<Option<T>> {
        self.get(store_name(T::KIND), id).await
    }

    /// One record of a kind known at run time, as a JSON object (tombstones included).
    pub async fn record_object(
        &self,
        kind: RecordKind,
        id: Id,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
        let store = store_name(kind);
        let tx = self.db.transaction(store).build()?;
        get_row(&tx.object_store(store)?, &id.to_string())
            .await?
            .map(|row| kind.with_type(local::FromStored(row)))
            .transpose()
    }

    /// One lead by id, tombstones included.
    pub async fn lead(&self, id: Id) -> Result<Option<Lead>> {
        self.get(LEADS, id).await
    }

    async fn get<T: Record>(&self, store: &str, id: Id) -> Result<Option<T>> {
        let tx = self.db.transaction(store).build()?;
        get_json(&tx.object_store(store)?, &id.to_string()).await
    }

    /// Leads in one stage (index `by_stage`).
    pub async fn leads_in_stage(&self, stage: domain::Stage) -> Result<Vec<Lead>> {
        self.by_index(
            LEADS,
            "by_stage",
            KeyRange::Only(JsValue::from_str(stage.as_str())),
        )
        .await
    }

    /// Leads of one grade (index `by_grade`).
    pub async fn leads_of_grade(&self, grade: domain::Grade) -> Result<Vec<Lead>> {
        self.by_index(
            LEADS,
            "by_grade",
            KeyRange::Only(JsValue::from_str(grade.as_str())),
        )
        .await
    }

    /// What Today lists, from the index `by_agenda` (only leads that still get follow-ups
    /// have a key there, [`Lead::agenda_on`]): the `overdue_shown` oldest overdue leads
    /// (index order: date, then id), how many are overdue in all, and the leads due
    /// `today`. Reads as many leads as it shows, however many are overdue.
    pub async fn agenda(&self, today: chrono::NaiveDate, overdue_shown: u32) -> Result<Agenda> {
        let tx = self.db.transaction(LEADS).build()?;
        let object_store = tx.object_store(LEADS)?;
        let index = object_store.index("by_agenda")?;
        let day = || JsValue::from_str(&today.to_string());
        // All three requests are sent before the first answer is awaited.
        let total = index
            .count()
            .with_query::<JsValue, _>(KeyRange::UpperBound(day(), true))
            .primitive()?;
        let overdue = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(KeyRange::UpperBound(day(), true))
            .with_limit(overdue_shown)
            .primitive()?;
        let due = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(KeyRange::Only(day()))
            .primitive()?;
        let overdue_total = total.await? as usize;
        let overdue = decode_rows(overdue.await?)?;
        let due = decode_rows(due.await?)?;
        Ok(Agenda {
            overdue,
            overdue_total,
            due,
        })
    }

    /// Leads changed at or after `since_ms` (index `by_updated`, added in schema version 2).
    pub async fn leads_updated_since(&self, since_ms: i64) -> Result<Vec<Lead>> {
        let lower = JsValue::from_f64(since_ms as f64);
        self.by_index(LEADS, "by_updated", KeyRange::LowerBound(lower, false))
            .await
    }

    /// A lead's visits, oldest first (compound index `by_lead_time`).
    pub async fn visits_of_lead(&self, lead_id: Id) -> Result<Vec<Visit>> {
        self.by_index(VISITS, "by_lead_time", prefix_range(lead_id))
            .await
    }

    /// Visits that started in `[from_ms, to_ms)` (index `by_time`), oldest first.
    pub async fn visits_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Visit>> {
        let range = KeyRange::Bound(
            JsValue::from_f64(from_ms as f64),
            false,
            JsValue::from_f64(to_ms as f64),
            true,
        );
        self.by_index(VISITS, "by_time", range).await
    }

    /// A lead's deals by close date (compound index `by_lead_close`).
    pub async fn deals_of_lead(&self, lead_id: Id) -> Result<Vec<Deal>> {
        self.by_index(DEALS, "by_lead_close", prefix_range(lead_id))
            .await
    }

    async fn by_index<T: Record>(
        &self,
        store: &str,
        index: &str,
        range: KeyRange<JsValue>,
    ) -> Result<Vec<T>> {
        let tx = self.db.transaction(store).build()?;
        let object_store = tx.object_store(store)?;
        let index = object_store.index(index)?;
        // Key ranges over compound keys are built as JS values, so the rows come back as JS
        // values too and are deserialized here.
        let rows = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(range)
            .primitive()?
            .await?;
        decode_rows(rows)
    }

    /// The mutations waiting for the server, in number order.
    pub async fn outbox(&self) -> Result<Vec<Mutation>> {
        Ok(self
            .outbox_after(0, usize::MAX)
            .await?
            .into_iter()
            .map(|e| e.mutation)
            .collect())
    }

    /// How many mutations wait for the server.
    pub async fn outbox_len(&self) -> Result<u32> {
        let tx = self.db.transaction(OUTBOX).build()?;
        let count = tx.object_store(OUTBOX)?.count().await?;
        Ok(count)
    }

    /// How many records have changes waiting for the server (a record saved three times
    /// counts once): what the sync indicator tells the person.
    pub async fn outbox_records(&self) -> Result<u32> {
        let waiting = domain::records_changed(&self.outbox().await?);
        Ok(u32::try_from(waiting).unwrap_or(u32::MAX))
    }

    /// Writes a raw device record: tests use it to put the counter out of step.
    #[doc(hidden)]
    pub async fn put_device_for_test(&self, device: &DeviceState) -> Result<()> {
        let tx = self.strict_readwrite(&[META])?;
        put_json_at(&tx.object_store(META)?, DEVICE_KEY, device).await?;
        commit(tx).await?;
        Ok(())
    }
}

/// `[id]` ≤ key < `[id, []]`: every compound key that starts with `id`, because an array sorts
/// after every number, date and string in IndexedDB's key order.
fn prefix_range(id: Id) -> KeyRange<JsValue> {
    let id = JsValue::from_str(&id.to_string());
    let lower = js_sys::Array::of1(&id);
    let upper = js_sys::Array::of2(&id, &js_sys::Array::new());
    KeyRange::Bound(lower.into(), false, upper.into(), true)
}

/// Rows read as JS values, deserialized through JSON: the browser's `JSON.stringify` of
/// all of them at once, then serde_json. One crossing out of JavaScript per read instead of
/// one per field of every row (serde-wasm-bindgen): for 5,000 leads in a release build,
/// 50–58 ms against 85–99 ms. Every row we store is plain JSON data (strings, numbers,
/// booleans, arrays, objects; absent or null for none), so nothing is lost on the way.
fn decode_rows<T: serde::de::DeserializeOwned>(
    rows: impl Iterator<Item = std::result::Result<JsValue, indexed_db_futures::error::Error>>,
) -> Result<Vec<T>> {
    let all = js_sys::Array::new();
    for row in rows {
        all.push(&row.map_err(StoreError::from_db)?);
    }
    from_js(&all)
}

/// A stored value read back through JSON (see [`decode_rows`]).
pub(crate) fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue) -> Result<T> {
    let text = js_sys::JSON::stringify(value)
        .map_err(|_| StoreError::Data("a stored value is not JSON".into()))?;
    Ok(serde_json::from_str(&String::from(text))?)
}

/// A value to store, built through JSON: serde_json, then the browser's `JSON.parse` (one
/// crossing into JavaScript instead of one per field; 47–59 ms against 86 ms for 5,000
/// leads). `None` becomes `null`, which IndexedDB's indices skip like a missing property.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue> {
    let text = serde_json::to_string(value)?;
    js_sys::JSON::parse(&text).map_err(|_| StoreError::Data("a value did not become JSON".into()))
}

/// A record as its store keeps it: the record through JSON ([`to_js`]) with its
/// [`Record::index_keys`] beside it.
pub(crate) fn stored_row<T: Record>(record: &T) -> Result<JsValue> {
    let row = to_js(record)?;
    for (key, value) in record.index_keys() {
        js_sys::Reflect::set(&row, &JsValue::from_str(key), &JsValue::from_str(&value))
            .map_err(|_| StoreError::Data(format!("{key} could not be stored")))?;
    }
    Ok(row)
}

async fn read_all<T: serde::de::DeserializeOwned>(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
) -> Result<Vec<T>> {
    decode_rows(store.get_all::<JsValue>().primitive()?.await?)
}

/// The value stored under `key` (a record's id, or a `meta` name), read through JSON.
pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
    key: &str,
) -> Result<Option<T>> {
    get_row(store, key)
        .await?
        .map(|value| from_js(&value))
        .transpose()
}

/// The row stored under `key` as the browser holds it (`None` when there is none).
pub(crate) async fn get_row(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
    key: &str,
) -> Result<Option<JsValue>> {
    let found: Option<JsValue> = store
        .get::<JsValue, _, _>(JsValue::from_str(key))
        .primitive()?
        .await?;
    Ok(found.filter(|value| !value.is_undefined()))
}

/// Writes `value` under `key` in a store without a key path (`meta`), through JSON.
pub(crate) async fn put_json_at<T: Serialize>(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
    key: &str,
    value: &T,
) -> Result<()> {
    store
        .put(to_js(value)?)
        .with_key(JsValue::from_str(key))
        .primitive()?
        .await?;
    Ok(())
}

fn new_device(now_ms: i64) -> DeviceState {
    DeviceState::new(crate::platform::new_id(now_ms))
}

/// How an entry sits in the `outbox` store. The changed fields are kept as JSON text so
/// numbers survive exactly (a JS number would turn `1` into `1.0` on the way back).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct OutboxRow {
    seq: u64,
    kind: RecordKind,
    record_id: Id,
    fields: String,
    stamp: Stamp,
    /// JSON of the bases; missing in entries written before schema version 3 (never synced).
    #[serde(default)]
    base: Option<String>,
}

impl TryFrom<&OutboxEntry> for OutboxRow {
    type Error = StoreError;

    fn try_from(entry: &OutboxEntry) -> Result<OutboxRow> {
        let m = &entry.mutation;
        Ok(OutboxRow {
            seq: m.seq,
            kind: m.kind,
            record_id: m.record_id,
            fields: serde_json::to_string(&m.fields)?,
            stamp: m.stamp,
            base: Some(serde_json::to_string(&entry.base)?),
        })
    }
}

impl TryFrom<OutboxRow> for OutboxEntry {
    type Error = StoreError;

    fn try_from(row: OutboxRow) -> Result<OutboxEntry> {
        let base = match &row.base {
            Some(text) => serde_json::from_str(text)?,
            None => BTreeMap::new(),
        };
        Ok(OutboxEntry {
            mutation: Mutation {
                seq: row.seq,
                kind: row.kind,
                record_id: row.record_id,
                fields: serde_json::from_str(&row.fields)?,
                stamp: row.stamp,
            },
            base,
        })
    }
}
