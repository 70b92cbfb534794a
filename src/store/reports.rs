//! What targets, Today's progress ring and the reports are computed from: the targets, and
//! the deals, visits and stage changes of a date range, read through the indices in one
//! transaction (`by_close`, `by_time`), so a report reads the size of its period, not the
//! whole history.
//!
//! Visits are the bulk (50,000 in a large book, with long notes): only the fields the
//! figures need cross out of JavaScript, picked by `JSON.stringify`'s property list.

use chrono::NaiveDate;
use domain::{Deal, Id, StageChange, Target, VisitKind};
use indexed_db_futures::prelude::*;
use indexed_db_futures::KeyRange;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{decode_rows, Result, Store, StoreError, DEALS, VISITS};

const TARGETS: &str = <Target as domain::Record>::COLLECTION;
const STAGE_CHANGES: &str = <StageChange as domain::Record>::COLLECTION;

/// A visit as the figures see it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct VisitRow {
    pub id: Id,
    pub lead_id: Id,
    pub kind: VisitKind,
    pub started_at: i64,
    #[serde(default)]
    pub owner: Option<Id>,
    #[serde(default)]
    pub logged_by: Option<Id>,
    #[serde(default)]
    pub deleted: bool,
}

/// The fields of [`VisitRow`], the property list handed to `JSON.stringify`.
const VISIT_FIELDS: [&str; 7] = [
    "id",
    "lead_id",
    "kind",
    "started_at",
    "owner",
    "logged_by",
    "deleted",
];

/// A date range's records for the figures (tombstones left out).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportData {
    /// Every target on the device (a few per person and period).
    pub targets: Vec<Target>,
    /// Deals that closed in the range.
    pub deals: Vec<Deal>,
    /// Visits that started in the range.
    pub visits: Vec<VisitRow>,
    /// Stage changes made in the range.
    pub changes: Vec<StageChange>,
}

impl Store {
    /// Every target, deals closed on `[from, to)`, and visits and stage changes in
    /// `[from_ms, to_ms)` (the same days in the person's zone), in one transaction with
    /// every request sent before the first answer is awaited.
    pub async fn report_data(
        &self,
        (from, to): (NaiveDate, NaiveDate),
        (from_ms, to_ms): (i64, i64),
    ) -> Result<ReportData> {
        let tx = self
            .db
            .transaction([TARGETS, DEALS, VISITS, STAGE_CHANGES])
            .build()?;
        let targets_store = tx.object_store(TARGETS)?;
        let deals_store = tx.object_store(DEALS)?;
        let visits_store = tx.object_store(VISITS)?;
        let changes_store = tx.object_store(STAGE_CHANGES)?;
        let ms_range = || {
            KeyRange::Bound(
                JsValue::from_f64(from_ms as f64),
                false,
                JsValue::from_f64(to_ms as f64),
                true,
            )
        };
        let targets = targets_store.get_all::<JsValue>().primitive()?;
        // `closed_on` is stored as `YYYY-MM-DD`, whose text order is date order.
        let deals_index = deals_store.index("by_close")?;
        let deals = deals_index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(KeyRange::Bound(
                JsValue::from_str(&from.to_string()),
                false,
                JsValue::from_str(&to.to_string()),
                true,
            ))
            .primitive()?;
        let visits_index = visits_store.index("by_time")?;
        let visits = visits_index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(ms_range())
            .primitive()?;
        let changes_index = changes_store.index("by_time")?;
        let changes = changes_index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(ms_range())
            .primitive()?;

        let targets: Vec<Target> = decode_rows(targets.await?)?;
        let deals: Vec<Deal> = decode_rows(deals.await?)?;
        let visits: Vec<VisitRow> = decode_fields(visits.await?, &VISIT_FIELDS)?;
        let changes: Vec<StageChange> = decode_rows(changes.await?)?;
        Ok(ReportData {
            targets: targets.into_iter().filter(|t| !t.deleted).collect(),
            deals: deals.into_iter().filter(|d| !d.deleted).collect(),
            visits: visits.into_iter().filter(|v| !v.deleted).collect(),
            changes: changes.into_iter().filter(|c| !c.deleted).collect(),
        })
    }

    /// Every target on the device, live ones only.
    pub async fn targets(&self) -> Result<Vec<Target>> {
        let tx = self.db.transaction(TARGETS).build()?;
        let rows = tx
            .object_store(TARGETS)?
            .get_all::<JsValue>()
            .primitive()?
            .await?;
        let targets: Vec<Target> = decode_rows(rows)?;
        Ok(targets.into_iter().filter(|t| !t.deleted).collect())
    }

    /// A lead's stage changes, oldest first (compound index `by_lead_time`).
    pub async fn stage_changes_of_lead(&self, lead_id: Id) -> Result<Vec<StageChange>> {
        self.by_index(STAGE_CHANGES, "by_lead_time", super::prefix_range(lead_id))
            .await
    }
}

/// Rows read as JS values, only `fields` of each crossing out (`JSON.stringify` with a
/// property list), then deserialized.
fn decode_fields<T: serde::de::DeserializeOwned>(
    rows: impl Iterator<Item = std::result::Result<JsValue, indexed_db_futures::error::Error>>,
    fields: &[&str],
) -> Result<Vec<T>> {
    let all = js_sys::Array::new();
    for row in rows {
        all.push(&row.map_err(StoreError::from_db)?);
    }
    let keep: js_sys::Array = fields.iter().map(|f| JsValue::from_str(f)).collect();
    let text = js_sys::JSON::stringify_with_replacer(&all, &keep)
        .map_err(|_| StoreError::Data("stored rows are not JSON".into()))?;
    Ok(serde_json::from_str(&String::from(text))?)
}

impl ReportData {
    /// The figures' inputs: these deals and visits and the `leads` (the book), each
    /// credited to who logged it, else its owner, else `me` (a record saved on this device
    /// before its first sync has neither yet), dated in the zone `utc_offset_minutes` east
    /// of UTC.
    pub fn facts<'a>(
        &self,
        leads: impl Iterator<Item = &'a domain::Lead>,
        me: Option<Id>,
        utc_offset_minutes: i32,
    ) -> domain::Facts {
        domain::Facts {
            deals: self
                .deals
                .iter()
                .filter_map(domain::DealFact::of)
                .map(|fact| domain::DealFact {
                    credited: fact.credited.or(me),
                    ..fact
                })
                .collect(),
            visits: self
                .visits
                .iter()
                .map(|v| {
                    domain::Event::at(
                        v.started_at,
                        utc_offset_minutes,
                        v.logged_by.or(v.owner).or(me),
                    )
                })
                .collect(),
            leads: leads
                .filter(|lead| !lead.deleted)
                .map(|lead| {
                    domain::Event::at(lead.created_at, utc_offset_minutes, lead.owner.or(me))
                })
                .collect(),
        }
    }
}
