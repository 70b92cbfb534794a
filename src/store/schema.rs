//! The local database's schema and its upgrade path.
//!
//! Each version is a step applied in order inside the browser's `versionchange` transaction, so a
//! device that skipped versions runs every step it missed, and an upgrade that fails rolls back
//! to the old database with its data intact. Steps only ever add: a store or index that shipped
//! is never dropped, because an old tab may still be reading it.

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::KeyPath;

use domain::Lead;
use wasm_bindgen::JsValue;

use domain::{
    QuizAttempt, Record, StageChange, Target, TeamSettings, TrainingItem, TrainingRecord,
    TrainingSession,
};

use super::{StoreError, BLOBS, DEALS, LEADS, META, OUTBOX, REJECTIONS, SYNCED, VISITS};

/// A store that exists only inside version 4's upgrade (see [`version_4`]).
const UPGRADE_SCRATCH: &str = "upgrade_scratch";

/// The schema version this build of the app writes.
///
/// 1. leads (by stage, grade, next follow-up), visits (by lead and time, by time), outbox, meta.
/// 2. deals (by lead and close date, by close date); leads by updated time and by source.
/// 3. sync: `synced` (each record as the server last sent it, with field versions and
///    conflicts; sparse index of those with open conflicts), `rejections` (mutations the
///    server refused), outbox by record.
/// 4. leads by agenda date (`by_agenda` over `agenda_on`, which only leads that still get
///    follow-ups carry: Today reads the few it lists and counts the rest); the leads that
///    gain the key are rewritten in the upgrade.
/// 5. training: items (by update time), sessions (by start), a person's training records
///    and quiz attempts (both by `subject`: the item or session), and `blobs` (attachments'
///    bytes by SHA-256, with a sparse index of those still to upload).
/// 6. team settings (团队设置: one record per team, read by id).
/// 7. targets (销售目标, by period) and stage changes (by lead and time, by time).
pub const SCHEMA_VERSION: u32 = 7;

/// Opens `name` at `version`, running the upgrade steps from whatever version it had.
///
/// The app always passes [`SCHEMA_VERSION`]; tests pass older versions to build a database the
/// way an older app would have left it.
pub async fn open_at_version(name: &str, version: u32) -> Result<Database, StoreError> {
    Database::open(name)
        .with_version(version)
        .with_on_upgrade_needed_fut(move |event, db| async move {
            // Versions are small integers that IndexedDB stores as doubles.
            let old = event.old_version() as u32;
            upgrade(&db, old, version)?;
            if old < 4 && version >= 4 {
                version_4(&db).await?;
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Open(e.to_string()))
}

fn upgrade(db: &Database, old: u32, new: u32) -> indexed_db_futures::Result<()> {
    if old < 1 && new >= 1 {
        version_1(db)?;
    }
    if old < 2 && new >= 2 {
        version_2(db)?;
    }
    if old < 3 && new >= 3 {
        version_3(db)?;
    }
    if old < 5 && new >= 5 {
        version_5(db)?;
    }
    if old < 6 && new >= 6 {
        version_6(db)?;
    }
    if old < 7 && new >= 7 {
        version_7(db)?;
    }
    Ok(())
}

fn version_1(db: &Database) -> indexed_db_futures::Result<()> {
    let leads = db
        .create_object_store(LEADS)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    leads
        .create_index("by_stage", KeyPath::from("stage"))
        .build()?;
    leads
        .create_index("by_grade", KeyPath::from("grade"))
        .build()?;
    // Leads without a follow-up date have no key here and so are simply not in this index.
    leads
        .create_index("by_next_follow_up", KeyPath::from("next_follow_up"))
        .build()?;

    let visits = db
        .create_object_store(VISITS)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    visits
        .create_index("by_lead_time", KeyPath::from(["lead_id", "started_at"]))
        .build()?;
    visits
        .create_index("by_time", KeyPath::from("started_at"))
        .build()?;

    db.create_object_store(OUTBOX)
        .with_key_path(KeyPath::from("seq"))
        .build()?;
    db.create_object_store(META).build()?;
    Ok(())
}

fn version_2(db: &Database) -> indexed_db_futures::Result<()> {
    let deals = db
        .create_object_store(DEALS)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    deals
        .create_index("by_lead_close", KeyPath::from(["lead_id", "closed_on"]))
        .build()?;
    deals
        .create_index("by_close", KeyPath::from("closed_on"))
        .build()?;

    // New indices on an existing store are built from the records already in it, inside this
    // same versionchange transaction.
    let leads = deals.transaction().object_store(LEADS)?;
    leads
        .create_index("by_updated", KeyPath::from("updated_at"))
        .build()?;
    leads
        .create_index("by_source", KeyPath::from("source"))
        .build()?;
    Ok(())
}

fn version_3(db: &Database) -> indexed_db_futures::Result<()> {
    let synced = db
        .create_object_store(SYNCED)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    // Only rows that have the property are indexed: the records with open conflicts.
    synced
        .create_index("by_open_conflicts", KeyPath::from("open_conflicts"))
        .build()?;
    db.create_object_store(REJECTIONS)
        .with_key_path(KeyPath::from("seq"))
        .build()?;
    // The pending edits of one record: a save reads them for the bases of its fields, a pull
    // lays them over the record the server sent.
    let outbox = synced.transaction().object_store(OUTBOX)?;
    outbox
        .create_index("by_record", KeyPath::from("record_id"))
        .build()?;
    Ok(())
}

async fn version_4(db: &Database) -> indexed_db_futures::Result<()> {
    // indexed_db_futures hands out the upgrade's transaction only through a store created
    // in it: a scratch store, deleted again at the end of this step, so it never ships.
    let scratch = db.create_object_store(UPGRADE_SCRATCH).build()?;
    let leads = scratch.transaction().object_store(LEADS)?;
    // Only leads with the key are in the index: those Today may list.
    leads
        .create_index("by_agenda", KeyPath::from("agenda_on"))
        .build()?;
    let rows = leads.get_all::<JsValue>().primitive()?.await?;
    for row in rows {
        // A row this version cannot read stays as it is (off Today's list) rather than
        // failing the upgrade, which would keep the app from opening its data.
        let Some(lead) = row.ok().and_then(|row| super::from_js::<Lead>(&row).ok()) else {
            continue;
        };
        if lead.agenda_on().is_none() {
            continue;
        }
        if let Ok(stored) = super::stored_row(&lead) {
            // Sent without awaiting each answer: a failed put aborts the upgrade.
            drop(leads.put(stored).primitive()?);
        }
    }
    db.delete_object_store(UPGRADE_SCRATCH)?;
    Ok(())
}

fn version_5(db: &Database) -> indexed_db_futures::Result<()> {
    let items = db
        .create_object_store(TrainingItem::COLLECTION)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    items
        .create_index("by_updated", KeyPath::from("updated_at"))
        .build()?;
    let sessions = db
        .create_object_store(TrainingSession::COLLECTION)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    sessions
        .create_index("by_start", KeyPath::from("starts_at"))
        .build()?;
    // `subject` is stored beside each row (`Record::index_keys`): the item or session.
    for collection in [TrainingRecord::COLLECTION, QuizAttempt::COLLECTION] {
        let store = db
            .create_object_store(collection)
            .with_key_path(KeyPath::from("id"))
            .build()?;
        store
            .create_index("by_subject", KeyPath::from("subject"))
            .build()?;
    }
    let blobs = db
        .create_object_store(BLOBS)
        .with_key_path(KeyPath::from("sha256"))
        .build()?;
    // Only blobs still to send carry `pending`.
    blobs
        .create_index("by_pending", KeyPath::from("pending"))
        .build()?;
    Ok(())
}

fn version_6(db: &Database) -> indexed_db_futures::Result<()> {
    db.create_object_store(TeamSettings::COLLECTION)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    Ok(())
}

fn version_7(db: &Database) -> indexed_db_futures::Result<()> {
    let targets = db
        .create_object_store(Target::COLLECTION)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    targets
        .create_index("by_period", KeyPath::from("period"))
        .build()?;
    let changes = db
        .create_object_store(StageChange::COLLECTION)
        .with_key_path(KeyPath::from("id"))
        .build()?;
    changes
        .create_index("by_lead_time", KeyPath::from(["lead_id", "at"]))
        .build()?;
    changes
        .create_index("by_time", KeyPath::from("at"))
        .build()?;
    Ok(())
}
