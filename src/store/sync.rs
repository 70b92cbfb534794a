//! The local side of sync: what the device knows about the server's copy of each record, the
//! pushed and acknowledged outbox entries, refusals, and the signed-in account.
//!
//! The rules are the domain's (`domain::replica`); each method here is one IndexedDB
//! transaction (readwrite ones with strict durability) that runs one rule over
//! [`IdbTx`], so a crash mid-sync leaves the device either before or after a whole step:
//! - [`Store::record_push`]: the push answer (acknowledged number, refusals). It does not drop
//!   outbox entries: their effect is not on the device until a pull brings it.
//! - [`Store::apply_pull`]: one page of a pull: the records the server sent, records the user
//!   lost, the cursor, the clock, and (on the last page) the outbox entries the server applied
//!   and a push answer acknowledged, with every affected record rebuilt as "server copy +
//!   still-pending edits".

use std::collections::BTreeMap;

use domain::replica::{
    self, EditSession, NextPush, PullApplied, PushApplied, RejectionNote, SyncState,
};
use domain::{
    Conflict, Cursor, Id, PullResponse, PushLimits, PushResponse, RecordKind, TeamMember,
};
use indexed_db_futures::prelude::*;
use indexed_db_futures::KeyRange;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use super::local::{IdbTx, SyncedRow};
use super::{
    commit, decode_rows, get_json, put_json_at, read_all, OutboxEntry, Result, Store, META, OUTBOX,
    REJECTIONS, SYNCED,
};

const ACCOUNT_KEY: &str = "account";
const TEAM_KEY: &str = "team";

/// The signed-in user, kept so the app opens offline as them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: Id,
    pub login: String,
    pub display_name: String,
    /// `rep`, `manager` or `admin`.
    pub role: String,
    pub team_id: Option<Id>,
    /// Signed in with a one-time password: nothing but choosing a new one is allowed.
    #[serde(default)]
    pub must_change_password: bool,
}

impl Store {
    /// The sync state (default before the first sync).
    pub async fn sync_state(&self) -> Result<SyncState> {
        let tx = self.db.transaction(META).build()?;
        replica::LocalTx::sync_state(&mut IdbTx { tx: &tx }).await
    }

    /// The account the device was last signed in as.
    pub async fn account(&self) -> Result<Option<Account>> {
        let tx = self.db.transaction(META).build()?;
        get_json(&tx.object_store(META)?, ACCOUNT_KEY).await
    }

    /// Remembers who signed in.
    pub async fn set_account(&self, account: &Account) -> Result<()> {
        let tx = self.strict_readwrite(&[META])?;
        put_meta(&tx.object_store(META)?, ACCOUNT_KEY, account).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The team as last listed by the server (empty before the first sync).
    pub async fn team(&self) -> Result<Vec<TeamMember>> {
        let tx = self.db.transaction(META).build()?;
        let found: Option<Vec<TeamMember>> = get_json(&tx.object_store(META)?, TEAM_KEY).await?;
        Ok(found.unwrap_or_default())
    }

    /// Keeps the team as the server listed it.
    pub async fn set_team(&self, team: &[TeamMember]) -> Result<()> {
        let tx = self.strict_readwrite(&[META])?;
        put_meta(&tx.object_store(META)?, TEAM_KEY, &team).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The outbox entries after `after`, in number order, at most `limit`.
    pub async fn outbox_after(&self, after: u64, limit: usize) -> Result<Vec<OutboxEntry>> {
        let tx = self.db.transaction(OUTBOX).build()?;
        replica::LocalTx::outbox_after(&mut IdbTx { tx: &tx }, after, limit).await
    }

    /// What a person sees of a record as they open it to edit: kept by the form, so its save
    /// writes only what they changed, on top of the versions they saw.
    pub async fn edit_session(&self, kind: RecordKind, id: Id) -> Result<EditSession> {
        let tx = self
            .db
            .transaction(Self::record_stores(&[OUTBOX, META, SYNCED]))
            .build()?;
        replica::open_session(&mut IdbTx { tx: &tx }, kind, id).await
    }

    /// The next push under `limits` (see `domain::replica::next_batch`).
    pub async fn next_push(&self, limits: PushLimits) -> Result<NextPush> {
        let tx = self.db.transaction([META, OUTBOX]).build()?;
        replica::next_batch(&mut IdbTx { tx: &tx }, limits).await
    }

    /// Refuses on the device an entry too large for any push, with a note on its record.
    pub async fn refuse_too_large(
        &self,
        entry: &OutboxEntry,
        limits: PushLimits,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self.strict_readwrite(&[META, REJECTIONS])?;
        replica::refuse_too_large(&mut IdbTx { tx: &tx }, entry, limits, now_ms).await?;
        commit(tx).await
    }

    /// Records a push answer: the server applied (or refused) everything up to
    /// `response.last_applied`; refusals become notes on their records.
    pub async fn record_push(
        &self,
        sent: &[OutboxEntry],
        response: &PushResponse,
        now_ms: i64,
    ) -> Result<PushApplied> {
        let tx = self.strict_readwrite(&[META, OUTBOX, REJECTIONS])?;
        let outcome = replica::record_push(&mut IdbTx { tx: &tx }, sent, response, now_ms).await?;
        commit(tx).await?;
        Ok(outcome)
    }

    /// The server expects mutation `expected` next (a 409 gap answer): resend from there, or
    /// recover when that shows the server went back.
    pub async fn record_gap(&self, expected: u64) -> Result<PushApplied> {
        let tx = self.strict_readwrite(&[META, OUTBOX])?;
        let outcome = replica::record_gap(&mut IdbTx { tx: &tx }, expected).await?;
        commit(tx).await?;
        Ok(outcome)
    }

    /// Applies one page of a pull asked from `asked_from` in one transaction; see
    /// `domain::replica::apply_pull`.
    pub async fn apply_pull(
        &self,
        asked_from: Option<Cursor>,
        page: &PullResponse,
        now_ms: i64,
    ) -> Result<PullApplied> {
        let tx =
            self.relaxed_readwrite(&Self::record_stores(&[SYNCED, OUTBOX, META, REJECTIONS]))?;
        let applied = replica::apply_pull(&mut IdbTx { tx: &tx }, asked_from, page, now_ms).await?;
        commit(tx).await?;
        Ok(applied)
    }

    /// Forgets the notice shown about sync (the person read it).
    pub async fn dismiss_notice(&self) -> Result<()> {
        self.update_sync_state(|state| state.notice = None).await
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
        let row: Option<SyncedRow> = get_json(&tx.object_store(SYNCED)?, &id.to_string()).await?;
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
        use replica::LocalTx as _;
        let tx = self.strict_readwrite(&[META])?;
        let mut local = IdbTx { tx: &tx };
        let mut state = local.sync_state().await?;
        change(&mut state);
        local.put_sync_state(&state).await?;
        commit(tx).await?;
        Ok(())
    }
}

async fn put_meta<T: Serialize>(
    meta: &indexed_db_futures::object_store::ObjectStore<'_>,
    key: &str,
    value: &T,
) -> Result<()> {
    put_json_at(meta, key, value).await
}
