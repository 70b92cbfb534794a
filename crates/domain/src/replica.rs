//! The device's side of sync, written once and without IO: what a save writes, what a push
//! answer and a pull page change, when an outbox entry may go, and what the person is told.
//!
//! The app runs these rules over IndexedDB (`src/store`, one transaction per call) and the
//! sync simulation runs the very same functions over memory ([`MemoryReplica`]). Both hand
//! the rules a [`LocalTx`]: the device's durable state, read and written inside one atomic
//! step. Nothing here knows about the browser, a network or a clock.
//!
//! The rules (the reasons are in `SYNC.md`):
//! - **A field's base is the version the person saw.** An edit starts with an
//!   [`EditSession`] taken when the form opened: the record as shown and, per field, the
//!   server version of the value shown. A save writes only the fields the person changed in
//!   that session, each with the session's base, on top of the record as it is *now* (a pull
//!   may have changed other fields meanwhile: those are kept).
//! - **The view is the server's copy with the pending edits laid over it** in number order
//!   ([`rebuild`]); an entry whose number the copy already reflects is not laid again.
//! - **An outbox entry leaves only when its effect and its answer are both on the device**:
//!   with the last page of a pull whose `last_applied` covers it, and only up to the number
//!   a push answer acknowledged (that answer carried its refusals, kept as notes). A pull
//!   alone never acknowledges, so a refusal whose first answer was lost is asked for again.
//! - **The server can go back** (a restored backup): a push or pull answer whose
//!   `last_applied` is below what this device was told, or a pull whose server version is
//!   below the cursor, starts a recovery: the device resends what it still holds (skipping
//!   numbers it no longer has with `resume_after`), pulls everything again, drops the copies
//!   the server no longer has, keeps its unsent edits and tells the person.
//! - **Pushes fit the server's limits** ([`next_batch`]): batches by count and bytes, and a
//!   single entry too large for any push is refused on the device with a note.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    Conflict, Cursor, Hlc, Id, Mutation, PullResponse, PushLimits, PushMutation, PushRequest,
    PushResponse, RecordChange, RecordKind, RejectReason, Stamp, VersionMark, PROTOCOL_VERSION,
};

/// Fields that are never written as a change: the id names the record and `updated_at` is
/// bookkeeping (the same list as [`crate::changed_fields`] leaves out).
const NOT_CHANGES: [&str; 2] = ["id", "updated_at"];

/// An outbox entry: the mutation and, per field, the server version of the value the person
/// saw when editing (the base the server merges against).
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// The numbered change.
    pub mutation: Mutation,
    /// Per changed field, the version the person edited on top of (absent: never synced).
    pub base: BTreeMap<String, u64>,
}

impl OutboxEntry {
    /// The entry as a push carries it.
    pub fn to_push(&self) -> PushMutation {
        self.mutation.to_push(&self.base)
    }
}

/// This device's identity and counters, changed only inside save transactions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceState {
    /// The client id that numbers this device's mutations.
    pub client_id: Id,
    /// The number the next mutation gets: gap-free, starting at 1.
    pub next_seq: u64,
    /// The last stamp handed out or observed, so the clock never goes backwards.
    pub last_stamp: Option<Stamp>,
}

impl DeviceState {
    /// A device that has made no change yet.
    pub fn new(client_id: Id) -> DeviceState {
        DeviceState {
            client_id,
            next_seq: 1,
            last_stamp: None,
        }
    }
}

/// Something the person should be told about sync, shown until dismissed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncNotice {
    /// The server went back in time (restored from a backup): this device resent the
    /// changes it still held and is reloading everything from the server.
    ServerWentBack {
        /// How many unsent changes this device still held and resent.
        resent: u64,
    },
}

/// Where this device's sync stands.
/// Every field defaults, so a state written by an older version of the app reads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncState {
    /// The last pull's cursor (`None`: pull everything).
    pub cursor: Option<Cursor>,
    /// The highest mutation number that needs no push: confirmed by a push answer (applied
    /// or refused by the server) or refused on the device ([`refuse_too_large`]).
    pub acked: u64,
    /// The highest `last_applied` the server itself answered a push with: an answer below it
    /// means the server went back.
    pub server_acked: u64,
    /// When the last complete pull finished (device clock, ms).
    pub last_synced_ms: Option<i64>,
    /// Conflicts the person dealt with on this device that the server has not heard of yet.
    pub resolved: Vec<Id>,
    /// Counts full pulls: copies written during a full pull carry it, so its last page can
    /// drop the copies the server no longer sent.
    pub generation: u64,
    /// A full pull is under way (after the server went back): its last page drops the copies
    /// of older generations.
    pub resyncing: bool,
    /// Sent with the next push: this device holds no unsent number up to it (they were
    /// dropped after a server that later went back had applied them).
    pub resume_after: Option<u64>,
    /// What to tell the person, if anything.
    pub notice: Option<SyncNotice>,
    /// The server version of the last pull and when the server committed it, sent with the
    /// next pull: a server that does not share that history went back in time.
    pub seen: Option<VersionMark>,
}

/// A record as the server last sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerCopy {
    /// Its kind.
    pub kind: RecordKind,
    /// Its id.
    pub id: Id,
    /// The version of its last change.
    pub version: u64,
    /// The record as the server has it.
    pub record: Map<String, Value>,
    /// Per field, the version that wrote it.
    pub versions: BTreeMap<String, u64>,
    /// Its conflict log.
    pub conflicts: Vec<Conflict>,
    /// The device's `last_applied` in the pull answer that brought this copy: the server read
    /// both at once, so every outbox entry up to it is in the copy already.
    pub reflects: u64,
    /// The [`SyncState::generation`] of the pull that brought it.
    pub generation: u64,
}

impl ServerCopy {
    /// The copy of a pulled change.
    pub fn from_change(
        change: &RecordChange,
        reflects: u64,
        generation: u64,
    ) -> Result<ServerCopy, serde_json::Error> {
        let record = match &change.record {
            Value::Object(map) => map.clone(),
            _ => return Err(not_an_object(change.id)),
        };
        Ok(ServerCopy {
            kind: change.kind,
            id: change.id,
            version: change.version,
            record,
            versions: change.field_versions.clone(),
            conflicts: change.conflicts.clone(),
            reflects,
            generation,
        })
    }
}

fn not_an_object(id: Id) -> serde_json::Error {
    serde::de::Error::custom(format!("record {id} is not a JSON object"))
}

/// A refused mutation, shown on its record until the person dismisses it: the reason and
/// the values it tried, so nothing typed is lost even though the server did not take it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectionNote {
    /// The refused mutation's number.
    pub seq: u64,
    /// Its record's kind.
    pub kind: RecordKind,
    /// Its record.
    pub record_id: Id,
    /// Why it was refused.
    pub reason: RejectReason,
    /// The fields it changed and the values it tried, as JSON text.
    pub fields: String,
    /// When the device learnt of it (device clock, ms).
    pub at_ms: i64,
}

/// The device's durable state inside one atomic step (an IndexedDB transaction, or memory).
///
/// Every method reads or writes that step's view of the data; the step commits as a whole
/// after the rule that used it returns, or not at all.
#[allow(async_fn_in_trait)] // the app and the simulation each drive it on one thread
pub trait LocalTx {
    /// Why a read or write failed.
    type Error: From<serde_json::Error>;

    /// The device record, if one was made.
    async fn device(&mut self) -> Result<Option<DeviceState>, Self::Error>;
    /// Writes the device record.
    async fn put_device(&mut self, device: &DeviceState) -> Result<(), Self::Error>;
    /// The sync state (default before the first sync).
    async fn sync_state(&mut self) -> Result<SyncState, Self::Error>;
    /// Writes the sync state.
    async fn put_sync_state(&mut self, state: &SyncState) -> Result<(), Self::Error>;

    /// The server's copy of a record.
    async fn copy(&mut self, id: Id) -> Result<Option<ServerCopy>, Self::Error>;
    /// Writes a server copy.
    async fn put_copy(&mut self, copy: &ServerCopy) -> Result<(), Self::Error>;
    /// Forgets a server copy.
    async fn delete_copy(&mut self, id: Id) -> Result<(), Self::Error>;
    /// The kind of the copy held under each of `ids` that has one. A store whose reads each
    /// wait for an answer (IndexedDB) asks for all of them before awaiting any.
    async fn copy_kinds(&mut self, ids: &[Id]) -> Result<BTreeMap<Id, RecordKind>, Self::Error> {
        let mut kinds = BTreeMap::new();
        for &id in ids {
            if let Some(copy) = self.copy(id).await? {
                kinds.insert(id, copy.kind);
            }
        }
        Ok(kinds)
    }
    /// The records whose copies came with a pull older than `generation`.
    async fn copies_before(
        &mut self,
        generation: u64,
    ) -> Result<Vec<(RecordKind, Id)>, Self::Error>;

    /// The record as the screens show it.
    async fn view(
        &mut self,
        kind: RecordKind,
        id: Id,
    ) -> Result<Option<Map<String, Value>>, Self::Error>;
    /// Writes the record the screens show.
    async fn put_view(
        &mut self,
        kind: RecordKind,
        record: Map<String, Value>,
    ) -> Result<(), Self::Error>;
    /// Removes a record from the screens.
    async fn delete_view(&mut self, kind: RecordKind, id: Id) -> Result<(), Self::Error>;

    /// The outbox entries of one record, in number order.
    async fn pending(&mut self, id: Id) -> Result<Vec<OutboxEntry>, Self::Error>;
    /// The outbox entries of each of `ids` that has any, in number order. A store whose
    /// reads each wait for an answer (IndexedDB) asks for all of them before awaiting any.
    async fn pending_of(
        &mut self,
        ids: &[Id],
    ) -> Result<BTreeMap<Id, Vec<OutboxEntry>>, Self::Error> {
        let mut found = BTreeMap::new();
        for &id in ids {
            let entries = self.pending(id).await?;
            if !entries.is_empty() {
                found.insert(id, entries);
            }
        }
        Ok(found)
    }
    /// The outbox entries numbered after `after`, in number order, at most `limit`.
    async fn outbox_after(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, Self::Error>;
    /// The outbox entries numbered up to `seq`, in number order.
    async fn outbox_through(&mut self, seq: u64) -> Result<Vec<OutboxEntry>, Self::Error>;
    /// Adds an entry; one with the same number already there is an error, never replaced.
    async fn add_outbox(&mut self, entry: &OutboxEntry) -> Result<(), Self::Error>;
    /// Removes the entries numbered up to `seq`.
    async fn delete_outbox_through(&mut self, seq: u64) -> Result<(), Self::Error>;

    /// Keeps a refusal note (replacing one with the same number).
    async fn put_rejection(&mut self, note: &RejectionNote) -> Result<(), Self::Error>;
    /// Whether a refusal note of `record` is kept.
    async fn has_rejection(&mut self, record: Id) -> Result<bool, Self::Error>;
}

// ---------------------------------------------------------------------------------------
// Edits.
// ---------------------------------------------------------------------------------------

/// What a person saw when they opened a record to edit it.
#[derive(Clone, Debug, PartialEq)]
pub struct EditSession {
    /// The record as shown (`None`: a new record).
    pub opened: Option<Map<String, Value>>,
    /// Per field, the server version of the value shown.
    pub bases: BTreeMap<String, u64>,
    /// Whether `bases` was read when the record was shown; when not, a save takes the base
    /// of each changed field from what the device holds at save time.
    pub bases_read: bool,
}

impl Default for EditSession {
    /// A new record: nothing shown, no bases.
    fn default() -> Self {
        EditSession {
            opened: None,
            bases: BTreeMap::new(),
            bases_read: true,
        }
    }
}

impl EditSession {
    /// The session for a record shown as `opened`, with the bases the device held for it
    /// then.
    pub fn new(opened: Option<Map<String, Value>>, bases: BTreeMap<String, u64>) -> Self {
        EditSession {
            opened,
            bases,
            bases_read: true,
        }
    }

    /// The session for a record shown as `opened` whose bases are not read yet (a form in
    /// its first milliseconds): its save still writes only what the person changed.
    pub fn shown(opened: Map<String, Value>) -> Self {
        EditSession {
            opened: Some(opened),
            bases: BTreeMap::new(),
            bases_read: false,
        }
    }

    /// The fields of `edited` that differ from what was opened (all of them for a new
    /// record), leaving out the id and `updated_at`. A field that was shown and is missing
    /// now is written as `null`.
    pub fn changes(&self, edited: &Map<String, Value>) -> BTreeMap<String, Value> {
        let empty = Map::new();
        let opened = self.opened.as_ref().unwrap_or(&empty);
        let mut changed: BTreeMap<String, Value> = edited
            .iter()
            .filter(|(field, value)| opened.get(*field) != Some(*value))
            .map(|(field, value)| (field.clone(), value.clone()))
            .collect();
        for field in opened.keys() {
            if !edited.contains_key(field) {
                changed.insert(field.clone(), Value::Null);
            }
        }
        changed.retain(|field, _| !NOT_CHANGES.contains(&field.as_str()));
        changed
    }
}

/// The server version of the value of `field` the view shows: that of the newest pending
/// edit of it the copy does not carry yet (the person saw that instead of the pulled
/// value), else the copy's own. A field never synced has none.
pub fn view_base(copy: Option<&ServerCopy>, pending: &[OutboxEntry], field: &str) -> Option<u64> {
    let reflects = copy.map_or(0, |c| c.reflects);
    let newest = pending
        .iter()
        .rev()
        .find(|e| e.mutation.seq > reflects && e.mutation.fields.contains_key(field));
    match newest {
        Some(entry) => entry.base.get(field).copied(),
        None => copy.and_then(|c| c.versions.get(field).copied()),
    }
}

/// Opens an edit session on a record: what it shows now and the base of every field.
pub async fn open_session<T: LocalTx>(
    tx: &mut T,
    kind: RecordKind,
    id: Id,
) -> Result<EditSession, T::Error> {
    let opened = tx.view(kind, id).await?;
    let copy = tx.copy(id).await?;
    let pending = tx.pending(id).await?;
    let mut fields: BTreeSet<&String> = BTreeSet::new();
    if let Some(view) = &opened {
        fields.extend(view.keys());
    }
    if let Some(copy) = &copy {
        fields.extend(copy.versions.keys());
    }
    let bases = fields
        .into_iter()
        .filter_map(|f| view_base(copy.as_ref(), &pending, f).map(|b| (f.clone(), b)))
        .collect();
    Ok(EditSession::new(opened, bases))
}

/// One record a save writes: the record as the person left it, and the session it was
/// edited in (`None`: an action on the record as it is now, such as "move to trash").
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    /// Which kind of record.
    pub kind: RecordKind,
    /// The record as edited, as a JSON object.
    pub record: Map<String, Value>,
    /// What the person saw.
    pub session: Option<EditSession>,
}

impl Edit {
    fn id(&self) -> Result<Id, serde_json::Error> {
        let raw = self
            .record
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| serde::de::Error::custom("an edited record has no id"))?;
        Id::parse(raw).map_err(serde::de::Error::custom)
    }
}

/// One record a save wrote: its outbox entry's mutation and the record as the screens now
/// show it (what the person changed over whatever a pull brought meanwhile).
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    /// The outbox entry's mutation.
    pub mutation: Mutation,
    /// The record as written.
    pub record: Map<String, Value>,
}

/// Saves `edits` in the caller's one step: per record, the fields the person changed in its
/// session, written over the record as it is now and added to the outbox with the session's
/// bases. A record with no change gets no entry. `new_device` makes the device record on
/// first use. Returns what it wrote.
pub async fn save<T: LocalTx>(
    tx: &mut T,
    edits: &[Edit],
    now_ms: i64,
    new_device: impl FnOnce() -> DeviceState,
) -> Result<Vec<Saved>, T::Error> {
    let mut device = match tx.device().await? {
        Some(device) => device,
        None => new_device(),
    };
    let mut hlc = Hlc::restore(device.client_id, device.last_stamp);
    let mut written = Vec::with_capacity(edits.len());
    for edit in edits {
        let id = edit.id()?;
        let session = match &edit.session {
            Some(session) if !session.bases_read => {
                let now = open_session(tx, edit.kind, id).await?;
                EditSession::new(session.opened.clone(), now.bases)
            }
            Some(session) => session.clone(),
            None => open_session(tx, edit.kind, id).await?,
        };
        let fields = session.changes(&edit.record);
        if fields.is_empty() {
            continue;
        }
        let mut view = match tx.view(edit.kind, id).await? {
            Some(now) => now,
            // New, or gone from this device since (moved to another rep): the record as
            // edited, so nothing typed disappears; the server decides.
            None => edit.record.clone(),
        };
        for (field, value) in &fields {
            view.insert(field.clone(), value.clone());
        }
        if let Some(updated) = edit.record.get("updated_at") {
            view.insert("updated_at".into(), updated.clone());
        }
        tx.put_view(edit.kind, view.clone()).await?;
        let base = fields
            .keys()
            .filter_map(|f| session.bases.get(f).map(|b| (f.clone(), *b)))
            .collect();
        let entry = OutboxEntry {
            mutation: Mutation {
                seq: device.next_seq,
                kind: edit.kind,
                record_id: id,
                fields,
                stamp: hlc.tick(now_ms),
            },
            base,
        };
        tx.add_outbox(&entry).await?;
        device.next_seq += 1;
        written.push(Saved {
            mutation: entry.mutation,
            record: view,
        });
    }
    device.last_stamp = hlc.last();
    tx.put_device(&device).await?;
    Ok(written)
}

/// Writes the record the screens show: the server's copy with the pending edits it does not
/// carry yet laid over it in number order. A record with neither leaves the screens (it was
/// created here and moved to someone else before this device pulled it), unless the server
/// refused an edit of it: then it stays, with the note that shows what was typed. Returns
/// whether it wrote.
pub async fn rebuild<T: LocalTx>(tx: &mut T, kind: RecordKind, id: Id) -> Result<bool, T::Error> {
    let copy = tx.copy(id).await?;
    let pending = tx.pending(id).await?;
    rebuild_from(tx, kind, id, copy.as_ref(), &pending).await
}

/// [`rebuild`] with the copy and the pending entries already read (a pull page reads them
/// for all its records at once).
async fn rebuild_from<T: LocalTx>(
    tx: &mut T,
    kind: RecordKind,
    id: Id,
    copy: Option<&ServerCopy>,
    pending: &[OutboxEntry],
) -> Result<bool, T::Error> {
    match view_of(copy, pending, id) {
        Some(view) => {
            tx.put_view(kind, view).await?;
            Ok(true)
        }
        None if tx.has_rejection(id).await? => Ok(false),
        None => {
            let shown = tx.view(kind, id).await?.is_some();
            if shown {
                tx.delete_view(kind, id).await?;
            }
            Ok(shown)
        }
    }
}

/// The view of a record from its copy and its pending entries (`None`: no copy, and no
/// create pending).
pub fn view_of(
    copy: Option<&ServerCopy>,
    pending: &[OutboxEntry],
    id: Id,
) -> Option<Map<String, Value>> {
    let reflects = copy.map_or(0, |c| c.reflects);
    let pending: Vec<&OutboxEntry> = pending
        .iter()
        .filter(|e| e.mutation.seq > reflects)
        .collect();
    let mut view = match copy {
        Some(copy) => copy.record.clone(),
        // Without the server's copy only a create made here shows the record (a create
        // writes every field, `created_at` among them; an edit never does): edits of a
        // record that left this device show nothing.
        None if !pending
            .first()
            .is_some_and(|e| e.mutation.fields.contains_key("created_at")) =>
        {
            return None
        }
        None => {
            let mut view = Map::new();
            view.insert("id".into(), Value::String(id.to_string()));
            view
        }
    };
    for entry in pending {
        for (field, value) in &entry.mutation.fields {
            view.insert(field.clone(), value.clone());
        }
    }
    Some(view)
}

// ---------------------------------------------------------------------------------------
// Push.
// ---------------------------------------------------------------------------------------

impl Default for PushLimits {
    /// What every server accepts when it has not said otherwise (the app never sends more
    /// than 200 mutations at once either way).
    fn default() -> Self {
        PushLimits {
            max_push_bytes: 1024 * 1024,
            max_push_mutations: 200,
        }
    }
}

/// The JSON a push body spends on everything but its mutations, with room to spare.
const ENVELOPE_BYTES: u64 = 256;

/// What to do next with the outbox.
#[derive(Clone, Debug, PartialEq)]
pub enum NextPush {
    /// Nothing waits.
    Done,
    /// Send this request; it carries the entries `sent`.
    Send {
        /// The request.
        request: PushRequest,
        /// The entries in it, for [`record_push`].
        sent: Vec<OutboxEntry>,
    },
    /// The first waiting entry is larger than any push may be: refuse it on the device
    /// ([`refuse_too_large`]) and go on.
    TooLarge(OutboxEntry),
}

/// The bytes `entry` adds to a push body.
pub fn push_bytes(entry: &OutboxEntry) -> Result<u64, serde_json::Error> {
    // The comma between array items.
    Ok(serde_json::to_vec(&entry.to_push())?.len() as u64 + 1)
}

/// The next push: the entries after the acknowledged one, in number order, as many as fit
/// `limits` (at least one, unless that one alone is too large).
pub async fn next_batch<T: LocalTx>(tx: &mut T, limits: PushLimits) -> Result<NextPush, T::Error> {
    let state = tx.sync_state().await?;
    let device = tx.device().await?;
    let Some(device) = device else {
        return Ok(NextPush::Done);
    };
    let waiting = tx
        .outbox_after(state.acked, (limits.max_push_mutations as usize).max(1))
        .await?;
    let mut sent = Vec::new();
    let mut bytes = ENVELOPE_BYTES;
    for entry in waiting {
        let size = push_bytes(&entry)?;
        if bytes + size > limits.max_push_bytes {
            if sent.is_empty() {
                return Ok(NextPush::TooLarge(entry));
            }
            break;
        }
        bytes += size;
        sent.push(entry);
    }
    // Numbers refused here must still reach the server (or its `last_applied` would stop
    // below them, and their entries stay): a push with no mutation says to resume after them.
    let must_resume = state.resume_after.is_some_and(|r| r > state.server_acked);
    if sent.is_empty() && !must_resume {
        return Ok(NextPush::Done);
    }
    let request = PushRequest {
        client_id: device.client_id,
        protocol: PROTOCOL_VERSION,
        mutations: sent.iter().map(OutboxEntry::to_push).collect(),
        resume_after: state.resume_after,
        known_applied: state.server_acked,
    };
    Ok(NextPush::Send { request, sent })
}

/// Refuses on the device an entry too large for any push: a note on its record says so,
/// and the next push starts after it (the server, which never saw the number, is told to
/// resume after it).
pub async fn refuse_too_large<T: LocalTx>(
    tx: &mut T,
    entry: &OutboxEntry,
    limits: PushLimits,
    now_ms: i64,
) -> Result<(), T::Error> {
    let mut state = tx.sync_state().await?;
    let seq = entry.mutation.seq;
    tx.put_rejection(&RejectionNote {
        seq,
        kind: entry.mutation.kind,
        record_id: entry.mutation.record_id,
        reason: RejectReason::TooLarge {
            max_bytes: limits.max_push_bytes,
        },
        fields: serde_json::to_string(&entry.mutation.fields)?,
        at_ms: now_ms,
    })
    .await?;
    state.acked = state.acked.max(seq);
    state.resume_after = Some(state.resume_after.unwrap_or(0).max(seq));
    tx.put_sync_state(&state).await?;
    Ok(())
}

/// What a push answer meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushApplied {
    /// The server moved on to at least the answer's `last_applied`.
    Progress,
    /// The answer was below what this device was told before: the server went back; a
    /// recovery started ([`SyncState::resyncing`]).
    ServerWentBack,
}

/// Records a push answer: the server applied (or refused) everything up to
/// `response.last_applied`; refusals become notes on their records. Entries stay in the
/// outbox until a pull brings their effect.
pub async fn record_push<T: LocalTx>(
    tx: &mut T,
    sent: &[OutboxEntry],
    response: &PushResponse,
    now_ms: i64,
) -> Result<PushApplied, T::Error> {
    let mut state = tx.sync_state().await?;
    for refused in &response.rejected {
        let Some(entry) = sent.iter().find(|e| e.mutation.seq == refused.seq) else {
            continue;
        };
        tx.put_rejection(&RejectionNote {
            seq: refused.seq,
            kind: entry.mutation.kind,
            record_id: refused.record_id,
            reason: refused.reason.clone(),
            fields: serde_json::to_string(&entry.mutation.fields)?,
            at_ms: now_ms,
        })
        .await?;
    }
    let went_back = response.last_applied < state.server_acked;
    // An answer acknowledges the numbers before its batch only when the batch started at
    // the first entry still waiting: a push that overtook an earlier one whose answer was
    // lost carries no refusals of that one's numbers, so they stay unacknowledged and are
    // sent again (the server answers their kept refusals).
    let first_waiting = tx.outbox_after(state.acked, 1).await?;
    let follows_on = match (sent.first(), first_waiting.first()) {
        (Some(entry), Some(waiting)) => entry.mutation.seq <= waiting.mutation.seq,
        // A push of no mutation (only `resume_after`) acknowledges nothing still waiting.
        (None, Some(_)) => false,
        (_, None) => true,
    };
    if went_back {
        server_went_back(tx, &mut state, response.last_applied).await?;
    } else {
        if follows_on {
            // Nor past its own last number: numbers after it that the server had applied
            // came in a push whose answer was lost, and only a push that carries them again
            // is answered with their kept refusals (seed 9555).
            let through = sent.last().map_or(response.last_applied, |last| {
                response.last_applied.min(last.mutation.seq)
            });
            state.acked = state.acked.max(through);
        }
        state.server_acked = response.last_applied;
        if state
            .resume_after
            .is_some_and(|r| r <= response.last_applied)
        {
            state.resume_after = None;
        }
    }
    tx.put_sync_state(&state).await?;
    Ok(if went_back {
        PushApplied::ServerWentBack
    } else {
        PushApplied::Progress
    })
}

/// A push answered "gap: send `expected` next". When that is at or below what this device
/// was told the server applied, the server went back; otherwise a push of this device was
/// lost or overtaken, and the next push starts again after the last acknowledged number
/// (the server answers the numbers it already applied with their kept refusals).
pub async fn record_gap<T: LocalTx>(tx: &mut T, expected: u64) -> Result<PushApplied, T::Error> {
    let mut state = tx.sync_state().await?;
    let server_has = expected.saturating_sub(1);
    if server_has >= state.server_acked {
        // A gap commits nothing and acknowledges nothing. What the server says it expects
        // may count a `resume_after` it did not keep (seed 8947), and the server may later
        // be restored to before the numbers it reported (seed 4092): an entry taken as
        // acknowledged on a gap's word would never be sent to the restored server, which
        // this device was never told had applied it.
        return Ok(PushApplied::Progress);
    }
    server_went_back(tx, &mut state, server_has).await?;
    tx.put_sync_state(&state).await?;
    Ok(PushApplied::ServerWentBack)
}

/// The server has applied only up to `server_has`, less than it said before: resend from
/// there what the outbox still holds (skipping the numbers it no longer holds), pull
/// everything again, and tell the person.
async fn server_went_back<T: LocalTx>(
    tx: &mut T,
    state: &mut SyncState,
    server_has: u64,
) -> Result<(), T::Error> {
    let held = tx.outbox_after(server_has, usize::MAX).await?;
    let first_held = held.first().map(|e| e.mutation.seq);
    let next = match tx.device().await? {
        Some(device) => device.next_seq,
        None => 1,
    };
    // Numbers after `server_has` that the outbox no longer has were dropped after the old
    // server applied them; the server that replaced it will never get them.
    let resume = first_held.unwrap_or(next).saturating_sub(1);
    state.acked = server_has;
    state.server_acked = server_has;
    state.resume_after = (resume > server_has).then_some(resume);
    start_full_pull(state);
    state.notice = Some(SyncNotice::ServerWentBack {
        resent: held.len() as u64,
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Pull.
// ---------------------------------------------------------------------------------------

/// Starts a pull of everything from no cursor; its last page drops the copies it did not
/// bring again ([`SyncState::generation`]).
fn start_full_pull(state: &mut SyncState) {
    state.cursor = None;
    state.seen = None;
    state.resyncing = true;
    state.generation += 1;
}

/// What one pull page changed on the device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullApplied {
    /// Records written or removed.
    pub records: usize,
    /// Every record whose view was rewritten or removed, for the screens to show again.
    pub touched: Vec<(RecordKind, Id)>,
    /// Outbox entries dropped because the server's copy now carries them.
    pub dropped: usize,
    /// The page showed that the server went back, or that it no longer remembers as far
    /// back as the cursor (`full_resync`): nothing of it was applied, the cursor is reset,
    /// and the run pulls everything again (after resending what the server lost).
    pub server_went_back: bool,
    /// The page answered a request made from another cursor: nothing of it was applied.
    pub stale: bool,
    /// Records refused because their id already names a record of another kind here (a
    /// server from before ids were unique across kinds): the record already held stays.
    pub mixed: usize,
}

/// Applies one page of a pull in the caller's one step: the server's copies, the records
/// the user lost, the clock, the cursor, and (on the last page) the outbox entries both
/// acknowledged by a push answer and carried by the copies, with every record touched
/// rebuilt as copy + still-pending edits.
///
/// `asked_from` is the cursor the request carried: an answer to a request made from another
/// cursor than the device's now (a late answer to an earlier request) is stale and changes
/// nothing — a pull from the start sends no removals, so applying it over newer state would
/// keep records the user lost.
pub async fn apply_pull<T: LocalTx>(
    tx: &mut T,
    asked_from: Option<Cursor>,
    page: &PullResponse,
    now_ms: i64,
) -> Result<PullApplied, T::Error> {
    let mut state = tx.sync_state().await?;
    let mut applied = PullApplied::default();
    if state.cursor != asked_from {
        applied.stale = true;
        return Ok(applied);
    }
    let behind_cursor = page.server_version > 0
        && state
            .cursor
            .is_some_and(|c| c.version > page.server_version);
    if page.full_resync {
        // The server no longer remembers as far back as the cursor (it purged tombstones
        // since): pull everything again; unsent edits stay and are laid over what comes.
        start_full_pull(&mut state);
        tx.put_sync_state(&state).await?;
        applied.server_went_back = true;
        return Ok(applied);
    }
    if page.went_back || page.last_applied < state.server_acked || behind_cursor {
        let server_has = page.last_applied.min(state.server_acked);
        server_went_back(tx, &mut state, server_has).await?;
        tx.put_sync_state(&state).await?;
        applied.server_went_back = true;
        return Ok(applied);
    }

    // Copies are keyed by id alone: an id already held under another kind is refused, never
    // overwritten (the record there would leave the screens). One read for the whole page.
    let ids: Vec<Id> = page
        .changes
        .iter()
        .map(|change| change.id)
        .chain(page.removed.iter().map(|gone| gone.id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut held = tx.copy_kinds(&ids).await?;
    let mut touched: BTreeMap<Id, RecordKind> = BTreeMap::new();
    // The copies this page wrote, so rebuilding their views does not read them back.
    let mut written: BTreeMap<Id, ServerCopy> = BTreeMap::new();
    for change in &page.changes {
        if held
            .get(&change.id)
            .is_some_and(|kind| *kind != change.kind)
        {
            applied.mixed += 1;
            continue;
        }
        let copy = ServerCopy::from_change(change, page.last_applied, state.generation)?;
        tx.put_copy(&copy).await?;
        held.insert(change.id, change.kind);
        touched.insert(change.id, change.kind);
        written.insert(change.id, copy);
    }
    let mut removed: BTreeSet<Id> = BTreeSet::new();
    for gone in &page.removed {
        if held.get(&gone.id).is_some_and(|kind| *kind != gone.kind) {
            // The id's copy is another kind's record: only a view of this kind may go.
            tx.delete_view(gone.kind, gone.id).await?;
            continue;
        }
        tx.delete_view(gone.kind, gone.id).await?;
        tx.delete_copy(gone.id).await?;
        held.remove(&gone.id);
        touched.remove(&gone.id);
        written.remove(&gone.id);
        removed.insert(gone.id);
        applied.touched.push((gone.kind, gone.id));
        applied.records += 1;
    }

    if !page.more {
        // Entries both answered (acked) and carried by the copies (last_applied) can go.
        let done_up_to = state.acked.min(page.last_applied);
        let done = tx.outbox_through(done_up_to).await?;
        for entry in &done {
            if !removed.contains(&entry.mutation.record_id) {
                touched
                    .entry(entry.mutation.record_id)
                    .or_insert(entry.mutation.kind);
            }
        }
        if !done.is_empty() {
            tx.delete_outbox_through(done_up_to).await?;
        }
        applied.dropped = done.len();
        if state.resyncing {
            // A full pull ends: what the server did not send again is gone from it.
            for (kind, id) in tx.copies_before(state.generation).await? {
                tx.delete_copy(id).await?;
                if tx.pending(id).await?.is_empty() {
                    tx.delete_view(kind, id).await?;
                    applied.touched.push((kind, id));
                    applied.records += 1;
                } else {
                    touched.insert(id, kind);
                }
            }
            state.resyncing = false;
        }
        state.last_synced_ms = Some(now_ms);
    }

    let ids: Vec<Id> = touched.keys().copied().collect();
    let mut pending = tx.pending_of(&ids).await?;
    for (id, kind) in touched {
        let copy = match written.remove(&id) {
            Some(copy) => Some(copy),
            None => tx.copy(id).await?,
        };
        let entries = pending.remove(&id).unwrap_or_default();
        if rebuild_from(tx, kind, id, copy.as_ref(), &entries).await? {
            applied.touched.push((kind, id));
            applied.records += 1;
        }
    }
    if let Some(cursor) = page.cursor {
        state.cursor = Some(cursor);
    }
    if page.mark.is_some() {
        state.seen = page.mark;
    }
    tx.put_sync_state(&state).await?;
    if let Some(mut device) = tx.device().await? {
        let mut hlc = Hlc::restore(device.client_id, device.last_stamp);
        hlc.observe(page.server_stamp, now_ms);
        device.last_stamp = hlc.last();
        tx.put_device(&device).await?;
    }
    Ok(applied)
}

// ---------------------------------------------------------------------------------------
// Memory.
// ---------------------------------------------------------------------------------------

/// A device's whole durable state in memory, for the simulation and tests: the same rules
/// run over it as over IndexedDB. Every call is one step that cannot fail.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryReplica {
    /// The device record.
    pub device: Option<DeviceState>,
    /// The sync state.
    pub state: SyncState,
    /// The server copies.
    pub copies: BTreeMap<Id, ServerCopy>,
    /// The records the screens show, by kind.
    pub views: BTreeMap<(RecordKind, Id), Map<String, Value>>,
    /// The outbox by number.
    pub outbox: BTreeMap<u64, OutboxEntry>,
    /// Refusal notes by number.
    pub rejections: BTreeMap<u64, RejectionNote>,
}

/// Why a memory step failed: only a malformed record or a reused number.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// A record did not (de)serialize.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// An outbox number was reused.
    #[error("outbox entry {0} exists")]
    Duplicate(u64),
}

impl LocalTx for MemoryReplica {
    type Error = MemoryError;

    async fn device(&mut self) -> Result<Option<DeviceState>, MemoryError> {
        Ok(self.device.clone())
    }
    async fn put_device(&mut self, device: &DeviceState) -> Result<(), MemoryError> {
        self.device = Some(device.clone());
        Ok(())
    }
    async fn sync_state(&mut self) -> Result<SyncState, MemoryError> {
        Ok(self.state.clone())
    }
    async fn put_sync_state(&mut self, state: &SyncState) -> Result<(), MemoryError> {
        self.state = state.clone();
        Ok(())
    }
    async fn copy(&mut self, id: Id) -> Result<Option<ServerCopy>, MemoryError> {
        Ok(self.copies.get(&id).cloned())
    }
    async fn put_copy(&mut self, copy: &ServerCopy) -> Result<(), MemoryError> {
        self.copies.insert(copy.id, copy.clone());
        Ok(())
    }
    async fn delete_copy(&mut self, id: Id) -> Result<(), MemoryError> {
        self.copies.remove(&id);
        Ok(())
    }
    async fn copies_before(
        &mut self,
        generation: u64,
    ) -> Result<Vec<(RecordKind, Id)>, MemoryError> {
        Ok(self
            .copies
            .values()
            .filter(|c| c.generation < generation)
            .map(|c| (c.kind, c.id))
            .collect())
    }
    async fn view(
        &mut self,
        kind: RecordKind,
        id: Id,
    ) -> Result<Option<Map<String, Value>>, MemoryError> {
        Ok(self.views.get(&(kind, id)).cloned())
    }
    async fn put_view(
        &mut self,
        kind: RecordKind,
        record: Map<String, Value>,
    ) -> Result<(), MemoryError> {
        let id = record
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Id::parse(s).ok())
            .ok_or_else(|| serde::de::Error::custom("a record without an id"))
            .map_err(MemoryError::Json)?;
        self.views.insert((kind, id), record);
        Ok(())
    }
    async fn delete_view(&mut self, kind: RecordKind, id: Id) -> Result<(), MemoryError> {
        self.views.remove(&(kind, id));
        Ok(())
    }
    async fn pending(&mut self, id: Id) -> Result<Vec<OutboxEntry>, MemoryError> {
        Ok(self
            .outbox
            .values()
            .filter(|e| e.mutation.record_id == id)
            .cloned()
            .collect())
    }
    async fn outbox_after(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, MemoryError> {
        Ok(self
            .outbox
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }
    async fn outbox_through(&mut self, seq: u64) -> Result<Vec<OutboxEntry>, MemoryError> {
        Ok(self.outbox.range(..=seq).map(|(_, e)| e.clone()).collect())
    }
    async fn add_outbox(&mut self, entry: &OutboxEntry) -> Result<(), MemoryError> {
        let seq = entry.mutation.seq;
        if self.outbox.contains_key(&seq) {
            return Err(MemoryError::Duplicate(seq));
        }
        self.outbox.insert(seq, entry.clone());
        Ok(())
    }
    async fn delete_outbox_through(&mut self, seq: u64) -> Result<(), MemoryError> {
        self.outbox = self.outbox.split_off(&seq.saturating_add(1));
        Ok(())
    }
    async fn put_rejection(&mut self, note: &RejectionNote) -> Result<(), MemoryError> {
        self.rejections.insert(note.seq, note.clone());
        Ok(())
    }
    async fn has_rejection(&mut self, record: Id) -> Result<bool, MemoryError> {
        Ok(self.rejections.values().any(|n| n.record_id == record))
    }
}

/// Runs a future that never waits (every [`MemoryReplica`] step) to its end.
pub fn run_ready<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::change::to_object;
    use crate::lead::tests::{id, lead};
    use crate::{Grade, Rejection};

    fn run<F: std::future::Future>(future: F) -> F::Output {
        run_ready(future).expect("memory steps never wait")
    }

    fn device() -> MemoryReplica {
        MemoryReplica {
            device: Some(DeviceState::new(id(200))),
            ..MemoryReplica::default()
        }
    }

    fn stamp(ms: i64) -> Stamp {
        Stamp::new(ms, 0, id(250))
    }

    /// A pull page carrying `record` with every field at `version`, except those listed.
    fn page_with(
        record: &Map<String, Value>,
        version: u64,
        newer: &[(&str, u64)],
        last_applied: u64,
    ) -> PullResponse {
        let mut versions: BTreeMap<String, u64> =
            record.keys().map(|f| (f.clone(), version)).collect();
        for (field, v) in newer {
            versions.insert((*field).to_string(), *v);
        }
        let id = Id::parse(record["id"].as_str().unwrap()).unwrap();
        PullResponse {
            changes: vec![RecordChange {
                kind: RecordKind::Lead,
                id,
                version: versions.values().copied().max().unwrap_or(0),
                record: Value::Object(record.clone()),
                field_versions: versions,
                conflicts: vec![],
            }],
            removed: vec![],
            cursor: None,
            more: false,
            last_applied,
            server_stamp: stamp(5),
            server_version: 0,
            full_resync: false,
            mark: None,
            went_back: false,
        }
    }

    fn synced_lead(replica: &mut MemoryReplica) -> Map<String, Value> {
        let record = to_object(&lead(1, "Li")).unwrap();
        run(apply_pull(
            replica,
            None,
            &page_with(&record, 3, &[], 0),
            10,
        ))
        .unwrap();
        record
    }

    #[test]
    fn a_form_open_across_a_pull_writes_only_what_the_person_changed() {
        let mut rep = device();
        let opened = synced_lead(&mut rep);
        let lead_id = id(1);
        // The rep opens the form: grade C at version 3.
        let session = run(open_session(&mut rep, RecordKind::Lead, lead_id)).unwrap();
        assert_eq!(session.bases.get("grade"), Some(&3));
        // Meanwhile the manager's new grade arrives.
        let mut managers = opened.clone();
        managers.insert("grade".into(), Value::from("a"));
        run(apply_pull(
            &mut rep,
            None,
            &page_with(&managers, 3, &[("grade", 7)], 0),
            20,
        ))
        .unwrap();
        // The rep saves the form as opened, with a new phone.
        let mut edited = opened.clone();
        edited.insert("phones".into(), serde_json::json!(["13800138000"]));
        let edit = Edit {
            kind: RecordKind::Lead,
            record: edited,
            session: Some(session),
        };
        let written = run(save(&mut rep, &[edit], 30, || unreachable!())).unwrap();
        assert_eq!(written.len(), 1);
        assert_eq!(
            written[0].mutation.fields.keys().collect::<Vec<_>>(),
            ["phones"],
            "only the phone the person typed is written, not the grade they saw"
        );
        let view = &rep.views[&(RecordKind::Lead, lead_id)];
        assert_eq!(view["grade"], Value::from("a"), "the manager's grade stays");
        assert_eq!(view["phones"], serde_json::json!(["13800138000"]));
        assert_eq!(rep.outbox[&1].base.get("phones"), Some(&3));
    }

    #[test]
    fn the_same_field_changed_across_a_pull_keeps_the_base_the_person_saw() {
        let mut rep = device();
        let opened = synced_lead(&mut rep);
        let session = run(open_session(&mut rep, RecordKind::Lead, id(1))).unwrap();
        let mut managers = opened.clone();
        managers.insert("grade".into(), Value::from("a"));
        run(apply_pull(
            &mut rep,
            None,
            &page_with(&managers, 3, &[("grade", 7)], 0),
            20,
        ))
        .unwrap();
        let mut edited = opened;
        edited.insert("grade".into(), Value::from("b"));
        let edit = Edit {
            kind: RecordKind::Lead,
            record: edited,
            session: Some(session),
        };
        run(save(&mut rep, &[edit], 30, || unreachable!())).unwrap();
        // Base 3, not 7: the server sees two people who did not see each other's grade.
        assert_eq!(rep.outbox[&1].to_push().fields["grade"].base, Some(3));
    }

    #[test]
    fn an_edit_without_a_session_is_made_on_what_the_device_shows_now() {
        let mut rep = device();
        let mut record = synced_lead(&mut rep);
        record.insert("grade".into(), Value::from(Grade::A.as_str()));
        let edit = Edit {
            kind: RecordKind::Lead,
            record,
            session: None,
        };
        let written = run(save(
            &mut rep,
            std::slice::from_ref(&edit),
            30,
            || unreachable!(),
        ))
        .unwrap();
        assert_eq!(
            written[0].mutation.fields.keys().collect::<Vec<_>>(),
            ["grade"]
        );
        assert_eq!(rep.outbox[&1].base.get("grade"), Some(&3));
        // The same save again changes nothing.
        assert!(run(save(&mut rep, &[edit], 31, || unreachable!()))
            .unwrap()
            .is_empty());
    }

    fn one_entry(rep: &mut MemoryReplica) -> OutboxEntry {
        let record = to_object(&lead(2, "Wang")).unwrap();
        let edit = Edit {
            kind: RecordKind::Lead,
            record,
            session: Some(EditSession::default()),
        };
        run(save(rep, &[edit], 40, || unreachable!())).unwrap();
        rep.outbox.values().last().unwrap().clone()
    }

    #[test]
    fn a_pull_page_says_which_records_it_rewrote_or_removed() {
        let mut rep = device();
        let record = to_object(&lead(1, "Li")).unwrap();
        let mut page = page_with(&record, 3, &[], 0);
        page.removed.push(crate::RecordRef {
            kind: RecordKind::Visit,
            id: id(9),
        });
        let applied = run(apply_pull(&mut rep, None, &page, 10)).unwrap();
        assert_eq!(
            applied.touched,
            vec![(RecordKind::Visit, id(9)), (RecordKind::Lead, id(1))]
        );
        assert_eq!(applied.records, 2);
        // A page with nothing in it touches nothing.
        let mut empty = page_with(&record, 3, &[], 0);
        empty.changes.clear();
        let applied = run(apply_pull(&mut rep, None, &empty, 20)).unwrap();
        assert!(applied.touched.is_empty());
    }

    #[test]
    fn a_pull_alone_never_drops_an_entry_whose_answer_was_lost() {
        let mut rep = device();
        let entry = one_entry(&mut rep);
        // The push was applied (and refused) but its answer lost: the pull says last_applied 1.
        let mut page = page_with(&to_object(&lead(1, "Li")).unwrap(), 3, &[], 1);
        page.changes.clear();
        run(apply_pull(&mut rep, None, &page, 50)).unwrap();
        assert_eq!(
            rep.outbox.len(),
            1,
            "kept until a push answer says what became of it"
        );
        // The retried push gets the refusal again (the server keeps it), then a pull drops it.
        let answer = PushResponse {
            last_applied: 1,
            rejected: vec![Rejection {
                seq: 1,
                record_id: id(2),
                reason: RejectReason::Forbidden,
            }],
        };
        run(record_push(&mut rep, &[entry], &answer, 60)).unwrap();
        assert_eq!(rep.rejections[&1].reason, RejectReason::Forbidden);
        run(apply_pull(&mut rep, None, &page, 70)).unwrap();
        assert!(rep.outbox.is_empty());
        // The refused create stays on screen, with its note.
        assert!(rep.views.contains_key(&(RecordKind::Lead, id(2))));
    }

    #[test]
    fn batches_fit_the_limits_and_an_entry_too_large_for_any_is_refused_here() {
        let mut rep = device();
        let small = one_entry(&mut rep);
        let mut big = to_object(&lead(3, "Big")).unwrap();
        big.insert("notes".into(), Value::from("长".repeat(4_000)));
        let edit = Edit {
            kind: RecordKind::Lead,
            record: big,
            session: Some(EditSession::default()),
        };
        run(save(&mut rep, &[edit], 41, || unreachable!())).unwrap();
        one_entry(&mut rep);
        let limits = PushLimits {
            max_push_bytes: push_bytes(&small).unwrap() * 2 + ENVELOPE_BYTES,
            max_push_mutations: 10,
        };
        let NextPush::Send { request, sent } = run(next_batch(&mut rep, limits)).unwrap() else {
            panic!("expected a push")
        };
        assert_eq!(
            sent.len(),
            1,
            "the second entry does not fit beside the first"
        );
        assert!(serde_json::to_vec(&request).unwrap().len() as u64 <= limits.max_push_bytes);
        let answer = PushResponse {
            last_applied: 1,
            rejected: vec![],
        };
        run(record_push(&mut rep, &sent, &answer, 42)).unwrap();
        let NextPush::TooLarge(entry) = run(next_batch(&mut rep, limits)).unwrap() else {
            panic!("expected the large entry to be refused")
        };
        assert_eq!(entry.mutation.seq, 2);
        run(refuse_too_large(&mut rep, &entry, limits, 43)).unwrap();
        assert!(matches!(
            rep.rejections[&2].reason,
            RejectReason::TooLarge { .. }
        ));
        let NextPush::Send { request, .. } = run(next_batch(&mut rep, limits)).unwrap() else {
            panic!("the rest goes on")
        };
        assert_eq!(request.mutations[0].seq, 3);
        assert_eq!(request.resume_after, Some(2));
    }

    #[test]
    fn a_server_that_went_back_gets_what_is_still_held_and_a_full_pull() {
        let mut rep = device();
        synced_lead(&mut rep);
        let first = one_entry(&mut rep);
        let answer = PushResponse {
            last_applied: 1,
            rejected: vec![],
        };
        run(record_push(&mut rep, &[first], &answer, 50)).unwrap();
        let mut page = page_with(&to_object(&lead(2, "Wang")).unwrap(), 4, &[], 1);
        page.cursor = Some(Cursor {
            version: 4,
            kind: RecordKind::Lead,
            record_id: id(2),
        });
        run(apply_pull(&mut rep, None, &page, 60)).unwrap();
        assert!(rep.outbox.is_empty());
        let second = one_entry(&mut rep);
        assert_eq!(second.mutation.seq, 2);
        // The server was restored from a backup taken before either: it expects number 1.
        assert_eq!(
            run(record_gap(&mut rep, 1)).unwrap(),
            PushApplied::ServerWentBack
        );
        assert_eq!(
            rep.state.notice,
            Some(SyncNotice::ServerWentBack { resent: 1 })
        );
        assert_eq!(rep.state.cursor, None);
        let NextPush::Send { request, .. } =
            run(next_batch(&mut rep, PushLimits::default())).unwrap()
        else {
            panic!("expected a push")
        };
        assert_eq!(request.mutations.len(), 1);
        assert_eq!(request.resume_after, Some(1), "number 1 is gone for good");
        // The full pull brings only lead 1: lead 2 (created after the backup) leaves.
        let answer = PushResponse {
            last_applied: 2,
            rejected: vec![],
        };
        run(record_push(&mut rep, &[second], &answer, 70)).unwrap();
        let page = page_with(&to_object(&lead(1, "Li")).unwrap(), 3, &[], 2);
        run(apply_pull(&mut rep, None, &page, 80)).unwrap();
        assert!(rep.copies.contains_key(&id(1)) && !rep.copies.contains_key(&id(2)));
        assert!(!rep.state.resyncing);
    }

    #[test]
    fn an_answer_to_a_push_that_overtook_a_lost_one_acknowledges_only_its_own_numbers() {
        let mut rep = device();
        let first = one_entry(&mut rep);
        let second = one_entry(&mut rep);
        // Number 1 was pushed and refused, its answer lost; number 2, pushed after it, is
        // answered: last_applied 2, with no word of number 1's refusal.
        let answer = PushResponse {
            last_applied: 2,
            rejected: vec![],
        };
        run(record_push(&mut rep, &[second], &answer, 50)).unwrap();
        assert_eq!(
            rep.state.acked, 0,
            "number 1's refusal is still to be heard"
        );
        let NextPush::Send { sent, .. } = run(next_batch(&mut rep, PushLimits::default())).unwrap()
        else {
            panic!("number 1 is sent again")
        };
        assert_eq!(sent[0], first);
        let retried = PushResponse {
            last_applied: 2,
            rejected: vec![Rejection {
                seq: 1,
                record_id: id(2),
                reason: RejectReason::Forbidden,
            }],
        };
        run(record_push(&mut rep, &sent, &retried, 60)).unwrap();
        assert_eq!(rep.state.acked, 2);
        assert_eq!(rep.rejections[&1].reason, RejectReason::Forbidden);
    }

    #[test]
    fn a_late_answer_to_an_earlier_pull_changes_nothing() {
        let mut rep = device();
        let mut page = page_with(&to_object(&lead(1, "Li")).unwrap(), 4, &[], 0);
        page.cursor = Some(Cursor {
            version: 4,
            kind: RecordKind::Lead,
            record_id: id(1),
        });
        run(apply_pull(&mut rep, None, &page, 10)).unwrap();
        let before = rep.clone();
        // An answer to a request made from the start, arriving after the device moved on.
        let late = page_with(&to_object(&lead(2, "Wang")).unwrap(), 2, &[], 0);
        let applied = run(apply_pull(&mut rep, None, &late, 20)).unwrap();
        assert!(applied.stale);
        assert_eq!(rep, before);
    }

    #[test]
    fn a_cursor_older_than_the_server_remembers_pulls_everything_and_keeps_unsent_edits() {
        let mut rep = device();
        let mut page = page_with(&to_object(&lead(1, "Li")).unwrap(), 4, &[], 0);
        page.cursor = Some(Cursor {
            version: 4,
            kind: RecordKind::Lead,
            record_id: id(1),
        });
        run(apply_pull(&mut rep, None, &page, 10)).unwrap();
        let unsent = one_entry(&mut rep);
        // Months later: the server purged tombstones past this device's cursor.
        let mut told = page_with(&to_object(&lead(1, "Li")).unwrap(), 4, &[], 0);
        told.changes.clear();
        told.full_resync = true;
        let asked = rep.state.cursor;
        let applied = run(apply_pull(&mut rep, asked, &told, 20)).unwrap();
        assert!(applied.server_went_back);
        assert_eq!(rep.state.cursor, None);
        assert_eq!(rep.state.notice, None, "nothing was lost: nothing to tell");
        // The full pull no longer has lead 1 (purged): it leaves; the unsent lead 2 stays.
        let mut fresh = page_with(&to_object(&lead(3, "Zhao")).unwrap(), 9, &[], 0);
        fresh.cursor = None;
        run(apply_pull(&mut rep, None, &fresh, 30)).unwrap();
        assert!(!rep.copies.contains_key(&id(1)));
        assert!(!rep.views.contains_key(&(RecordKind::Lead, id(1))));
        assert!(rep.views.contains_key(&(RecordKind::Lead, id(3))));
        assert!(rep
            .views
            .contains_key(&(RecordKind::Lead, unsent.mutation.record_id)));
        assert_eq!(rep.outbox.len(), 1);
    }

    #[test]
    fn a_pull_that_says_the_server_went_back_starts_the_recovery() {
        let mut rep = device();
        let mut page = page_with(&to_object(&lead(1, "Li")).unwrap(), 4, &[], 0);
        page.mark = Some(VersionMark {
            version: 4,
            committed_at: 1_000,
        });
        run(apply_pull(&mut rep, None, &page, 10)).unwrap();
        assert_eq!(
            rep.state.seen, page.mark,
            "the next pull says what this one saw"
        );
        let held = one_entry(&mut rep);
        let mut told = page_with(&to_object(&lead(1, "Li")).unwrap(), 4, &[], 0);
        told.changes.clear();
        told.went_back = true;
        let applied = run(apply_pull(&mut rep, None, &told, 20)).unwrap();
        assert!(applied.server_went_back);
        assert_eq!(rep.state.cursor, None);
        assert_eq!(rep.state.seen, None);
        assert_eq!(
            rep.state.notice,
            Some(SyncNotice::ServerWentBack { resent: 1 })
        );
        let NextPush::Send { request, .. } =
            run(next_batch(&mut rep, PushLimits::default())).unwrap()
        else {
            panic!("the held edit is sent again")
        };
        assert_eq!(request.mutations[0].seq, held.mutation.seq);
    }

    #[test]
    fn a_gap_answer_is_no_fact_about_what_the_server_applied() {
        let mut rep = device();
        rep.state.server_acked = 2;
        rep.state.acked = 3;
        rep.state.resume_after = Some(3);
        // A push with `resume_after` 3 and a gap after it: the server says it expects 4,
        // counting the resume it then rolled back with the rest of the push.
        assert_eq!(run(record_gap(&mut rep, 4)).unwrap(), PushApplied::Progress);
        assert_eq!(rep.state.server_acked, 2);
        // The next gap from what it has really applied is no sign it went back.
        assert_eq!(run(record_gap(&mut rep, 3)).unwrap(), PushApplied::Progress);
        assert_eq!(rep.state.notice, None);
    }

    #[test]
    fn a_gap_answer_acknowledges_nothing() {
        let mut rep = device();
        let first = one_entry(&mut rep);
        one_entry(&mut rep);
        one_entry(&mut rep);
        // Number 1 was applied but its answer never came (the device was offline); a push
        // of number 3 sent after it is answered "gap: send 2 next".
        assert_eq!(run(record_gap(&mut rep, 2)).unwrap(), PushApplied::Progress);
        assert_eq!(rep.state.acked, 0, "a gap answer is no acknowledgement");
        // The server is then restored from a backup taken before number 1 (seed 4092): the
        // device, never told that number 1 was applied, still sends it.
        assert_eq!(run(record_gap(&mut rep, 1)).unwrap(), PushApplied::Progress);
        let NextPush::Send { sent, .. } = run(next_batch(&mut rep, PushLimits::default())).unwrap()
        else {
            panic!("number 1 is sent again")
        };
        assert_eq!(sent[0], first);
        assert_eq!(sent.len(), 3);
    }

    #[test]
    fn a_record_of_another_kind_under_a_known_id_is_refused_not_mixed() {
        // The device has lead 1. A pull then brings a visit whose id is the lead's (sent by a
        // server from before ids were unique across kinds): keyed by id alone, its copy would
        // replace the lead's, and the lead would leave the list (issue 13, finding 1).
        let mut rep = device();
        let lead_record = synced_lead(&mut rep);
        let lead_id = id(1);
        let mut page = page_with(&lead_record, 4, &[], 0);
        page.changes[0].kind = RecordKind::Visit;
        let applied = run(apply_pull(&mut rep, None, &page, 20)).unwrap();
        assert_eq!(applied.mixed, 1);
        assert_eq!(rep.copies[&lead_id].kind, RecordKind::Lead);
        assert!(rep.views.contains_key(&(RecordKind::Lead, lead_id)));
        assert!(!rep.views.contains_key(&(RecordKind::Visit, lead_id)));
        // Nor may a removal of "the visit" take the lead's copy with it.
        let mut gone = page_with(&lead_record, 5, &[], 0);
        gone.changes.clear();
        gone.removed = vec![crate::RecordRef {
            kind: RecordKind::Visit,
            id: lead_id,
        }];
        run(apply_pull(&mut rep, None, &gone, 30)).unwrap();
        assert_eq!(rep.copies[&lead_id].kind, RecordKind::Lead);
        assert!(rep.views.contains_key(&(RecordKind::Lead, lead_id)));
        // Two kinds under one id within one page: the first stays, the second is refused.
        let mut rep = device();
        let mut twins = page_with(&lead_record, 3, &[], 0);
        let mut visit = twins.changes[0].clone();
        visit.kind = RecordKind::Visit;
        twins.changes.push(visit);
        let applied = run(apply_pull(&mut rep, None, &twins, 40)).unwrap();
        assert_eq!(applied.mixed, 1);
        assert_eq!(rep.copies[&lead_id].kind, RecordKind::Lead);
        assert!(rep.views.contains_key(&(RecordKind::Lead, lead_id)));
    }
}
