//! Push and pull, written once for both backends.
//!
//! Each backend opens its transaction (see [`super::sqlite`] and [`super::postgres`] for how
//! each makes pushes serialize), wraps it in a [`SyncTx`] and calls [`push`] or [`pull`]; it
//! commits only when [`push`] answers [`PushOutcome::Applied`]. [`SyncTx`] is nothing but
//! the SQL: every rule lives here, so the two backends cannot disagree about who may see or
//! write what.
//!
//! The rules, in the order [`push`] applies them to a batch (after the domain's recipe in
//! `domain::sync`):
//! - The batch gets one new server-wide version; every field it writes carries it.
//! - A client id belongs to the first user who pushed with it; another user's push or pull
//!   with it is refused whole ([`StorageError::ForeignClient`]).
//! - A device that was told more (`known_applied`) than the server has applied finds a
//!   server that went back in time: the push is answered as a gap from what it has and
//!   nothing is applied.
//! - A device that says it will never send the numbers up to `resume_after` (the server went
//!   back in time) has its `last_applied` moved up to that first, never down.
//! - Numbers at or below the device's `last_applied` are retries and are skipped; a number
//!   past `last_applied + 1` is a gap and refuses the batch; every other mutation advances
//!   `last_applied`, whether it was applied or rejected, in the same transaction.
//! - Every refusal is kept per (device, number) in the same transaction. A retry is answered
//!   with the kept refusals of the numbers it repeats, identical to the first answer, so a
//!   device whose answer was lost after the commit still learns what was refused. Refusals
//!   are kept until the horizon [`purge`].
//! - Authorization is against the stored owner and team ([`can_write`]), never against what
//!   the client sends. A new record belongs to the pushing user and their team, except
//!   that a kind a manager writes *for* someone ([`RecordKind::owner_field`]: a target's
//!   `rep`) belongs to the member of the manager's team that field names (anyone else is
//!   refused as forbidden); a later write changing that field is refused as forbidden,
//!   since the stored owner would not follow it. Admins manage accounts, not customers:
//!   they neither see nor write records.
//! - A new record of a lead's history (visits, deals, stage changes:
//!   [`RecordKind::is_lead_history`]) records who logged it (`logged_by`, server-managed
//!   like `owner`).
//! - Only a manager may change `owner`, to a rep of their own team; the old owner gets a
//!   `visibility_changes` row so their devices drop the record. A lead's history (found by
//!   `lead_id`) moves with it in the same transaction: new owner and team in the `records`
//!   row and in their `owner`/`team` fields, the push's version, and a
//!   `visibility_changes` row for each one's old owner ([`move_history`]).
//! - Then `merge_record`, `validate_record` on the merged record, the writes, and a
//!   conflict row per lost value.
//! - A record of a lead's history may only name (by creating it, or by moving it) a lead
//!   the user may write; otherwise it is refused as forbidden, the same answer whether the
//!   lead is someone else's or does not exist.
//! - Every saved record whose set of named attachments (`domain::attachments_of`) changed
//!   has its `attachment_refs` rows replaced. The bytes need not be uploaded first: a
//!   device pushes records and uploads files in the same run, and a failed upload must not
//!   hold back the record. Who may then read an attachment is [`may_read_attachment`].
//!
//! [`purge`] forgets, after a horizon, tombstones, resolved conflicts, removals and kept
//! refusals; [`pull`] tells a device whose cursor may have missed a purged tombstone or
//! removal to pull everything again (`full_resync`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::{
    attachments_of, field_values, merge_record, meta_fields, reach_of, validate_record, Conflict,
    Cursor, FieldState, Id, Invalid, PullRequest, PullResponse, PushMutation, PushRequest,
    PushResponse, Reach, RecordChange, RecordKind, RecordMeta, RecordRef, RejectReason, Rejection,
    Stamp, VersionMark, Writers,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{AttachmentAccess, PushOutcome, Role, StorageError, User};

/// The most records one pull answers with; a request asks for `1..=MAX_PULL_LIMIT`.
pub const MAX_PULL_LIMIT: u32 = 500;

/// A record as stored: who owns it, who else sees it, and its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// The owning user.
    pub owner: Uuid,
    /// The owning team.
    pub team: Option<Uuid>,
    /// Who else sees it.
    pub reach: Reach,
    /// Every field with its value, stamp and version.
    pub fields: BTreeMap<String, FieldState>,
}

/// A `records` row as a push writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRow {
    /// The record.
    pub record: RecordRef,
    /// The owning user.
    pub owner: Uuid,
    /// The owning team.
    pub team: Option<Uuid>,
    /// Who else sees it.
    pub reach: Reach,
    /// The version of its last change.
    pub version: u64,
    /// Whether it is a tombstone.
    pub deleted: bool,
}

/// A `fields` row as a push writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldRow<'a> {
    /// The record.
    pub record: RecordRef,
    /// The field's name.
    pub field: &'a str,
    /// Its value, stamp and version.
    pub state: &'a FieldState,
}

/// One row of the change feed: a record and its place in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedRow {
    /// Which kind of record.
    pub kind: RecordKind,
    /// Its id.
    pub id: Id,
    /// The version of its last change (a field written or a conflict logged).
    pub version: u64,
}

/// A record the user was removed from (`visibility_changes`), with its current owner and
/// team so [`pull`] can check it is still invisible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removal {
    /// The record.
    pub record: RecordRef,
    /// Its owner now.
    pub owner: Uuid,
    /// Its team now.
    pub team: Option<Uuid>,
    /// Who else sees it now.
    pub reach: Reach,
}

/// The SQL behind push and pull, on one open transaction. Implemented by each backend.
#[async_trait]
pub trait SyncTx: Send {
    /// Bumps the `server_version` row and returns the new version. Called first in a push,
    /// so it is also the lock that serializes pushes.
    async fn bump_version(&mut self) -> Result<u64, StorageError>;

    /// The last version a push (or resolution) committed, as this transaction sees it.
    async fn current_version(&mut self) -> Result<u64, StorageError>;

    /// The user owning a device and its `last_applied`, when the device has pushed before.
    async fn client(&mut self, client: Id) -> Result<Option<(Uuid, u64)>, StorageError>;

    /// Stores a device's `last_applied` (inserting the device for `user` when new).
    async fn save_client(
        &mut self,
        client: Id,
        user: Uuid,
        last_applied: u64,
    ) -> Result<(), StorageError>;

    /// Keeps refusals of `client`'s mutations, made by the push at `version` (replacing a
    /// kept refusal of the same number, which only a restored backup can leave behind).
    async fn insert_rejections(
        &mut self,
        client: Id,
        version: u64,
        rejections: &[Rejection],
    ) -> Result<(), StorageError>;

    /// The kept refusals of `client`'s mutations numbered `from..=to`, in number order.
    async fn rejections(
        &mut self,
        client: Id,
        from: u64,
        to: u64,
    ) -> Result<Vec<Rejection>, StorageError>;

    /// The stored records among `records` (those not stored are left out), each with all
    /// its fields: one query for the `records` rows and one for their fields, whatever the
    /// number of records.
    async fn records(
        &mut self,
        records: &[RecordRef],
    ) -> Result<Vec<(RecordRef, StoredRecord)>, StorageError>;

    /// The kinds under which each of `ids` names a stored record: an id names one record,
    /// whatever its kind (a second record under another kind's id is refused).
    async fn kinds_of(&mut self, ids: &[Id]) -> Result<Vec<(Id, RecordKind)>, StorageError>;

    /// How many records `owner` owns (deleted ones too: a tombstone is a row).
    async fn owned_records(&mut self, owner: Uuid) -> Result<u64, StorageError>;

    /// A record with all its fields.
    async fn record(
        &mut self,
        kind: RecordKind,
        id: Id,
    ) -> Result<Option<StoredRecord>, StorageError> {
        let found = self.records(&[RecordRef { kind, id }]).await?;
        Ok(found.into_iter().next().map(|(_, stored)| stored))
    }

    /// A user by id.
    async fn user(&mut self, id: Uuid) -> Result<Option<User>, StorageError>;

    /// Inserts or updates `records` rows, in one statement (per chunk, when a backend has
    /// to split). No record appears twice.
    async fn save_records(&mut self, rows: &[RecordRow]) -> Result<(), StorageError>;

    /// Inserts or replaces fields of records whose `records` rows exist, in one statement
    /// (per chunk). No (record, field) appears twice.
    async fn save_fields(&mut self, fields: &[FieldRow<'_>]) -> Result<(), StorageError>;

    /// Adds conflict log entries, each with the user whose value lost.
    async fn insert_conflicts(
        &mut self,
        conflicts: &[(Conflict, Uuid)],
    ) -> Result<(), StorageError>;

    /// Records that each user stopped seeing each record at each version (a row already
    /// there is kept).
    async fn insert_visibility_changes(
        &mut self,
        changes: &[(u64, RecordRef, Uuid)],
    ) -> Result<(), StorageError>;

    /// Deletes every `attachment_refs` row of `records`, in one statement.
    async fn delete_attachment_refs(&mut self, records: &[RecordRef]) -> Result<(), StorageError>;

    /// Adds `attachment_refs` rows (record, digest) for records whose `records` rows exist,
    /// in one statement. No pair appears twice.
    async fn insert_attachment_refs(
        &mut self,
        refs: &[(RecordRef, &domain::Sha256)],
    ) -> Result<(), StorageError>;

    /// Up to `limit` records past `after` (all when `None`) that `user` may see by
    /// [`can_see`], in `(version, kind, id)` order. Never called for admins.
    async fn feed(
        &mut self,
        user: &User,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<FeedRow>, StorageError>;

    /// Every conflict logged on `records`, by record and oldest first.
    async fn conflicts(&mut self, records: &[RecordRef]) -> Result<Vec<Conflict>, StorageError>;

    /// The records `user` was removed from after `version`, each once.
    async fn removals(&mut self, user: Uuid, version: u64) -> Result<Vec<Removal>, StorageError>;

    /// The largest stamp of any stored field.
    async fn max_stamp(&mut self) -> Result<Option<Stamp>, StorageError>;

    /// The record a conflict was logged on, and whether it is resolved.
    async fn conflict_record(&mut self, id: Id) -> Result<Option<(RecordRef, bool)>, StorageError>;

    /// Marks a conflict resolved.
    async fn mark_resolved(&mut self, id: Id) -> Result<(), StorageError>;

    /// Moves a record to `version` in the change feed without touching its fields.
    async fn touch_record(&mut self, record: RecordRef, version: u64) -> Result<(), StorageError>;

    /// Notes that `version` commits at the server's time `now_ms` (the purge's clock).
    async fn log_version(&mut self, version: u64, now_ms: i64) -> Result<(), StorageError>;

    /// When `version` was committed, by `version_log` (`None`: not logged, or purged).
    async fn version_committed_at(&mut self, version: u64) -> Result<Option<i64>, StorageError>;

    /// The records of a lead's history ([`RecordKind::is_lead_history`]) whose `lead_id` is
    /// `lead` (deleted ones included).
    async fn lead_history(&mut self, lead: Id) -> Result<Vec<RecordRef>, StorageError>;

    /// The highest version of a tombstone or removal purged so far (0: none).
    async fn purged_through(&mut self) -> Result<u64, StorageError>;

    /// The `purged_through` in force when `client` last pulled from no cursor (0: never).
    async fn resynced_through(&mut self, client: Id) -> Result<u64, StorageError>;

    /// Raises `client`'s `resynced_through` to `purged_through` (never lowers it), adding
    /// the device for `user` when new; a device of another user is left alone.
    async fn mark_resynced(
        &mut self,
        client: Id,
        user: Uuid,
        purged_through: u64,
    ) -> Result<(), StorageError>;

    /// Takes the lock pushes take (so a purge and a push never interleave) without taking
    /// a version, and returns `purged_through`.
    async fn lock_for_purge(&mut self) -> Result<u64, StorageError>;

    /// The last logged version committed before `ms`.
    async fn last_version_before(&mut self, ms: i64) -> Result<Option<u64>, StorageError>;

    /// The first logged version committed at or after `ms`.
    async fn first_version_since(&mut self, ms: i64) -> Result<Option<u64>, StorageError>;

    /// The highest version of a tombstone at or below `through`.
    async fn last_tombstone(&mut self, through: u64) -> Result<Option<u64>, StorageError>;

    /// The highest version of a `visibility_changes` row at or below `through`.
    async fn last_removal(&mut self, through: u64) -> Result<Option<u64>, StorageError>;

    /// Deletes tombstones whose last change is at or below `through`, with their fields and
    /// conflicts; returns how many records.
    async fn delete_tombstones(&mut self, through: u64) -> Result<u64, StorageError>;

    /// Deletes resolved conflicts logged at or below `through`.
    async fn delete_resolved_conflicts(&mut self, through: u64) -> Result<u64, StorageError>;

    /// Deletes `visibility_changes` rows at or below `through`.
    async fn delete_removals(&mut self, through: u64) -> Result<u64, StorageError>;

    /// Deletes kept refusals made at or below `through`.
    async fn delete_rejections(&mut self, through: u64) -> Result<u64, StorageError>;

    /// Deletes `version_log` rows at or below `through`.
    async fn delete_version_log(&mut self, through: u64) -> Result<(), StorageError>;

    /// Stores `purged_through`.
    async fn set_purged_through(&mut self, purged_through: u64) -> Result<(), StorageError>;
}

/// What [`resolve_conflict`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveOutcome {
    /// The conflict is now resolved, and its record moved in the feed so every device that
    /// sees the record learns it.
    Resolved,
    /// It already was; nothing changed.
    AlreadyResolved,
    /// No such conflict, or one on a record the user may not write (the same answer, so
    /// ids of others' conflicts reveal nothing).
    NotFound,
}

/// Marks a conflict resolved for `user`, who must be allowed to write its record. The
/// caller commits only on [`ResolveOutcome::Resolved`].
///
/// Restoring the lost value is not done here: the device pushes that value as a normal
/// edit, so it merges, validates and syncs like any other.
pub async fn resolve_conflict<T: SyncTx + ?Sized>(
    tx: &mut T,
    user: &User,
    conflict: Id,
) -> Result<ResolveOutcome, StorageError> {
    // The version row first, as in a push: the same lock keeps the feed in commit order.
    let version = tx.bump_version().await?;
    let Some((record, resolved)) = tx.conflict_record(conflict).await? else {
        return Ok(ResolveOutcome::NotFound);
    };
    let writable = tx
        .record(record.kind, record.id)
        .await?
        .is_some_and(|stored| can_write(user, record.kind, stored.owner, stored.team));
    if !writable {
        return Ok(ResolveOutcome::NotFound);
    }
    if resolved {
        return Ok(ResolveOutcome::AlreadyResolved);
    }
    tx.mark_resolved(conflict).await?;
    tx.touch_record(record, version).await?;
    Ok(ResolveOutcome::Resolved)
}

/// Whether `user` may see (pull) a record owned by `owner` in `team` that reaches `reach`:
/// their own records, for a manager the team's, a team's shared records to its members and
/// everyone's to all. Admins see no records.
pub fn can_see(user: &User, owner: Uuid, team: Option<Uuid>, reach: Reach) -> bool {
    let in_team = team.is_some() && team == user.team_id;
    match user.role {
        Role::Admin => false,
        Role::Rep | Role::Manager if owner == user.id => true,
        Role::Manager if in_team => true,
        Role::Rep | Role::Manager => match reach {
            Reach::Owner => false,
            Reach::Team => in_team,
            Reach::Everyone => true,
        },
    }
}

/// Whether `user` may change a stored record of `kind` owned by `owner` in `team`, as the
/// kind's [`Writers`] say. Seeing is not enough: a rep reads a published item and never
/// edits it, and a manager reads a rep's quiz scores and never rewrites them.
pub fn can_write(user: &User, kind: RecordKind, owner: Uuid, team: Option<Uuid>) -> bool {
    let manages = user.role == Role::Manager && team.is_some() && team == user.team_id;
    match user.role {
        Role::Admin => false,
        Role::Rep | Role::Manager => match kind.writers() {
            Writers::OwnerAndManagers => owner == user.id || manages,
            Writers::Managers => user.role == Role::Manager && (owner == user.id || manages),
            Writers::OwnerOnly => owner == user.id,
        },
    }
}

/// Whether `user` may read an attachment: they uploaded its bytes themselves, or a live
/// record naming it that they may see ([`can_see`]) belongs to someone who uploaded them.
/// A reference alone lends nothing (a record may name any digest, and knowing a digest is
/// not having the file), and admins, who see no records, read no attachments.
pub fn may_read_attachment(user: &User, access: &AttachmentAccess) -> bool {
    if user.role == Role::Admin {
        return false;
    }
    access.uploaded
        || access
            .naming
            .iter()
            .any(|record| can_see(user, record.owner, record.team, record.reach))
}

/// Whether `user` may create a record of `kind`.
pub fn can_create(user: &User, kind: RecordKind) -> bool {
    match user.role {
        Role::Admin => false,
        Role::Rep => kind.writers() != Writers::Managers,
        Role::Manager => true,
    }
}

/// The message key of a create refused because its user owns
/// [`HttpSettings::max_records_per_user`](crate::config::HttpSettings::max_records_per_user)
/// records already.
pub const QUOTA_KEY: &str = "error.quota";

/// Applies `request` for `user` on `tx` (see the module docs). The caller commits only on
/// [`PushOutcome::Applied`]; on `Gap` or an error it rolls back, so nothing is written.
pub async fn push<T: SyncTx + ?Sized>(
    tx: &mut T,
    user: &User,
    request: &PushRequest,
    now_ms: i64,
    max_records: u64,
) -> Result<PushOutcome, StorageError> {
    let version = tx.bump_version().await?;
    tx.log_version(version, now_ms).await?;
    let client = request.client_id;
    let mut stored_last_applied = match tx.client(client).await? {
        Some((owner, _)) if owner != user.id => return Err(StorageError::ForeignClient),
        Some((_, last_applied)) => last_applied,
        None => 0,
    };
    // The device was told more than this server has applied: the server went back in time
    // (a restored backup). Answer the gap from what it has and apply nothing, so the device
    // notices, resends what it holds and pulls everything again — skipping numbers on its
    // `resume_after` could skip ones it still holds.
    if stored_last_applied < request.known_applied {
        return Ok(PushOutcome::Gap {
            expected: stored_last_applied.saturating_add(1),
        });
    }
    // The server went back in time (a restored backup) and the device says the numbers up
    // to `resume_after` will never come: skip them, so its next number is not a gap.
    if let Some(resume_after) = request.resume_after {
        stored_last_applied = stored_last_applied.max(resume_after);
    }
    let mut last_applied = stored_last_applied;
    let mut rejected = Vec::new();
    // Every record the batch names (and every lead its lead history names), read at once.
    let mut batch = Batch {
        max_records,
        ..Batch::default()
    };
    let named = request
        .mutations
        .iter()
        .filter(|mutation| mutation.seq > stored_last_applied)
        .flat_map(|mutation| {
            let record = RecordRef {
                kind: mutation.kind,
                id: mutation.record_id,
            };
            let lead = mutation
                .kind
                .is_lead_history()
                .then(|| mutation.fields.get("lead_id"))
                .flatten()
                .and_then(|write| write.value.as_str())
                .and_then(|raw| Id::parse(raw).ok())
                .map(|id| RecordRef {
                    kind: RecordKind::Lead,
                    id,
                });
            std::iter::once(record).chain(lead)
        })
        .collect();
    batch.read(tx, named).await?;
    // Numbers applied by an earlier push: their refusals are answered again. (A number
    // repeated within this batch is skipped without a second mention.)
    let mut retried = Vec::new();
    for mutation in &request.mutations {
        if mutation.seq <= stored_last_applied {
            retried.push(mutation.seq);
            continue;
        }
        if mutation.seq <= last_applied {
            continue;
        }
        if mutation.seq != last_applied.saturating_add(1) {
            // The whole batch rolls back, so the device resends from what is stored, not
            // from where this batch got to.
            return Ok(PushOutcome::Gap {
                expected: stored_last_applied.saturating_add(1),
            });
        }
        let step = Step {
            user,
            client,
            mutation,
            now_ms,
            version,
        };
        if let Err(reason) = step.apply(tx, &mut batch).await? {
            rejected.push(Rejection {
                seq: mutation.seq,
                record_id: mutation.record_id,
                reason,
            });
        }
        last_applied = mutation.seq;
    }
    batch.flush(tx).await?;
    tx.save_client(client, user.id, last_applied).await?;
    tx.insert_rejections(client, version, &rejected).await?;
    let mut answer = repeated_rejections(tx, client, &retried).await?;
    answer.extend(rejected);
    answer.sort_by_key(|rejection| rejection.seq);
    Ok(PushOutcome::Applied(PushResponse {
        last_applied,
        rejected: answer,
    }))
}

/// The kept refusals among the `retried` numbers of `client`.
async fn repeated_rejections<T: SyncTx + ?Sized>(
    tx: &mut T,
    client: Id,
    retried: &[u64],
) -> Result<Vec<Rejection>, StorageError> {
    let (Some(&from), Some(&to)) = (retried.iter().min(), retried.iter().max()) else {
        return Ok(Vec::new());
    };
    let mut kept = tx.rejections(client, from, to).await?;
    kept.retain(|rejection| retried.contains(&rejection.seq));
    Ok(kept)
}

/// One mutation being applied.
struct Step<'a> {
    user: &'a User,
    client: Id,
    mutation: &'a PushMutation,
    now_ms: i64,
    version: u64,
}

impl Step<'_> {
    /// Applies the mutation; `Ok(Err(reason))` when it is refused (nothing written).
    async fn apply<T: SyncTx + ?Sized>(
        &self,
        tx: &mut T,
        batch: &mut Batch,
    ) -> Result<Result<(), RejectReason>, StorageError> {
        let Step {
            user,
            client,
            mutation,
            now_ms,
            version,
        } = *self;
        // merge_field recognises a device's own earlier writes by the stamp's client, so a
        // stamp claiming another device could overwrite that device's values silently.
        if mutation.stamp.client != client {
            return Ok(Err(RejectReason::Malformed {
                detail: "the stamp's client is not the pushing device".to_string(),
            }));
        }
        let stamp = domain::clamp_stamp(mutation.stamp, now_ms);
        let record = RecordRef {
            kind: mutation.kind,
            id: mutation.record_id,
        };
        // `server_writes` are the server-managed fields this mutation sets (all of them for
        // a new record, `owner` for a reassignment); `base` is what the merge starts from.
        let stored = batch.record(tx, record).await?;
        let is_new = stored.is_none();
        let (base, owner, team, reach_before, mut server_writes) = match stored {
            Some(stored) => {
                if !can_write(user, record.kind, stored.owner, stored.team) {
                    return Ok(Err(RejectReason::Forbidden));
                }
                let StoredRecord {
                    owner,
                    team,
                    reach,
                    fields,
                } = stored;
                (fields, owner, team, reach, BTreeMap::new())
            }
            None => {
                // An id names one record: a device keys its records by id, and a second
                // record under a lead's id would take the lead's place there.
                if !can_create(user, record.kind) || batch.id_taken(record) {
                    return Ok(Err(RejectReason::Forbidden));
                }
                // The client cannot choose who owns what it creates, except a manager
                // naming a member of their team in the kind's owner field (a rep's target).
                let owner = match self.new_owner(tx).await? {
                    Ok(owner) => owner,
                    Err(reason) => return Ok(Err(reason)),
                };
                if !batch.take_create(tx, user.id).await? {
                    return Ok(Err(RejectReason::Invalid {
                        field: String::new(),
                        key: QUOTA_KEY.to_string(),
                    }));
                }
                let meta = RecordMeta {
                    id: record.id,
                    owner: Some(Id::from_uuid(owner)),
                    team: user.team_id.map(Id::from_uuid),
                    created_at: stamp.wall_ms,
                };
                let mut fields = meta_fields(&meta, stamp, version);
                if record.kind.is_lead_history() {
                    let state = FieldState {
                        value: id_value(Some(user.id)),
                        stamp,
                        version,
                    };
                    fields.insert("logged_by".to_string(), state);
                }
                (fields.clone(), owner, user.team_id, Reach::Owner, fields)
            }
        };
        // Who a record is for stays as it was created: its stored owner would not follow.
        if !is_new {
            if let Some(field) = record.kind.owner_field() {
                let written = match owner_field_write(mutation, field) {
                    Ok(written) => written,
                    Err(reason) => return Ok(Err(reason)),
                };
                if let Some(named) = written {
                    let stored = base
                        .get(field)
                        .and_then(|state| state.value.as_str())
                        .and_then(|raw| Id::parse(raw).ok())
                        .map(|id| *id.as_uuid());
                    if named != stored {
                        return Ok(Err(RejectReason::Forbidden));
                    }
                }
            }
        }

        let mut new_owner = owner;
        if !is_new {
            match self.reassignment(tx, owner, team).await? {
                Ok(Some(target)) => {
                    new_owner = target;
                    let state = FieldState {
                        value: id_value(Some(target)),
                        stamp,
                        version,
                    };
                    server_writes.insert("owner".to_string(), state);
                }
                Ok(None) => {}
                Err(reason) => return Ok(Err(reason)),
            }
        }

        let merge = merge_record(&base, mutation, now_ms, version);
        let mut writes = server_writes;
        writes.extend(merge.writes.clone());
        let mut merged = base.clone();
        merged.extend(writes.clone());
        let values = field_values(&merged);
        if let Err((field, reason)) = validate_record(record.kind, &values) {
            return Ok(Err(RejectReason::invalid(field, reason)));
        }
        // Validation has read the record as its type, so this cannot fail on good data.
        let reach = reach_of(record.kind, &values)
            .map_err(|error| StorageError::Corrupt(format!("{record:?}: {error}")))?;
        if reach < reach_before {
            let field = if writes.contains_key("published") {
                "published"
            } else {
                "audience"
            };
            return Ok(Err(RejectReason::invalid(field, Invalid::Narrowed)));
        }
        let mut team = team;
        if let Some(lead) = named_lead(record.kind, &base, &writes, is_new) {
            let lead = RecordRef {
                kind: RecordKind::Lead,
                id: lead,
            };
            let Some(lead) = batch
                .record(tx, lead)
                .await?
                .filter(|lead| can_write(user, RecordKind::Lead, lead.owner, lead.team))
            else {
                return Ok(Err(RejectReason::Forbidden));
            };
            // A lead's history is its owner's, whoever logs it (a manager along on a visit):
            // a visit, deal or stage change takes the lead's owner and team; `logged_by`
            // says who.
            if (lead.owner, lead.team) != (new_owner, team) {
                for (field, value) in [
                    ("owner", id_value(Some(lead.owner))),
                    ("team", id_value(lead.team)),
                ] {
                    let state = FieldState {
                        value,
                        stamp,
                        version,
                    };
                    writes.insert(field.to_string(), state);
                }
                if !is_new && new_owner != lead.owner {
                    batch.removal(version, record, new_owner);
                }
                new_owner = lead.owner;
                team = lead.team;
            }
        }
        if writes.is_empty() && merge.lost.is_empty() {
            return Ok(Ok(()));
        }
        if !writes.is_empty() {
            // Which attachments the record names, compared with before this mutation, so
            // the rows are written only when the set changes (most saves leave it alone).
            let named: BTreeSet<domain::Sha256> = attachments_of(record.kind, &values)
                .map_err(|error| StorageError::Corrupt(format!("{record:?}: {error}")))?
                .into_iter()
                .collect();
            // A stored record that no longer reads as its type gets its rows written anew.
            let named_before: Option<BTreeSet<domain::Sha256>> = if is_new {
                Some(BTreeSet::new())
            } else {
                attachments_of(record.kind, &field_values(&base))
                    .ok()
                    .map(|named| named.into_iter().collect())
            };
            if named_before.as_ref() != Some(&named) {
                batch.attachments.insert(record, named);
            }
        }

        let deleted = merged
            .get("deleted")
            .and_then(|state| state.value.as_bool())
            .unwrap_or(false);
        // A logged conflict alone also moves the record in the feed, so the other person's
        // devices pull the conflict.
        let row = RecordRow {
            record,
            owner: new_owner,
            team,
            reach,
            version,
            deleted,
        };
        batch.save(row, &writes);
        for lost in merge.lost {
            let lost_by = if lost.lost_by_incoming {
                user.id
            } else {
                // The stored value's device is known: it pushed that value. The owner is a
                // fallback for data written before clients were recorded.
                tx.client(lost.lost_stamp.client)
                    .await?
                    .map_or(owner, |(user, _)| user)
            };
            let id = conflict_id(client, mutation.seq, &lost.field, now_ms);
            let conflict = Conflict::from_lost(
                id,
                record.kind,
                record.id,
                lost,
                Some(Id::from_uuid(lost_by)),
                version,
            );
            batch.conflicts.push((conflict, lost_by));
        }
        if new_owner != owner {
            batch.removal(version, record, owner);
            if record.kind == RecordKind::Lead {
                move_history(tx, batch, record.id, new_owner, team, stamp, version).await?;
            }
        }
        Ok(Ok(()))
    }

    /// Whom a new record belongs to: the team member named in its kind's owner field
    /// ([`RecordKind::owner_field`]: a manager setting a rep's target), else the pushing
    /// user. The one named must be the pusher or, for a manager, anyone of their team
    /// (rep or manager); anyone else, or no one, is refused as forbidden, the same answer
    /// whether the account exists or not.
    async fn new_owner<T: SyncTx + ?Sized>(
        &self,
        tx: &mut T,
    ) -> Result<Result<Uuid, RejectReason>, StorageError> {
        let user = self.user;
        let Some(field) = self.mutation.kind.owner_field() else {
            return Ok(Ok(user.id));
        };
        let named = match owner_field_write(self.mutation, field) {
            Ok(Some(Some(named))) => named,
            Ok(Some(None) | None) => return Ok(Ok(user.id)),
            Err(reason) => return Ok(Err(reason)),
        };
        if named != user.id && user.role != Role::Manager {
            return Ok(Err(RejectReason::Forbidden));
        }
        let member = user.team_id.is_some()
            && tx
                .user(named)
                .await?
                .is_some_and(|member| member.role != Role::Admin && member.team_id == user.team_id);
        if !member {
            return Ok(Err(RejectReason::Forbidden));
        }
        Ok(Ok(named))
    }

    /// The new owner when the mutation reassigns an existing record, checked: only a
    /// manager, only a record of their team, only to a rep of their team.
    ///
    /// `owner: null` is ignored (a record always has an owner, and the app's create
    /// mutation carries it as null); the current owner again is no change.
    async fn reassignment<T: SyncTx + ?Sized>(
        &self,
        tx: &mut T,
        owner: Uuid,
        team: Option<Uuid>,
    ) -> Result<Result<Option<Uuid>, RejectReason>, StorageError> {
        let Some(write) = self.mutation.fields.get("owner") else {
            return Ok(Ok(None));
        };
        if write.value.is_null() {
            return Ok(Ok(None));
        }
        let Some(target) = write.value.as_str().and_then(|raw| Id::parse(raw).ok()) else {
            return Ok(Err(RejectReason::invalid("owner", Invalid::Id)));
        };
        let target = *target.as_uuid();
        if target == owner {
            return Ok(Ok(None));
        }
        // Only what a rep owns and a manager oversees changes hands; an item or session
        // stays its author's, and a training record is its person's.
        if self.mutation.kind.writers() != Writers::OwnerAndManagers {
            return Ok(Err(RejectReason::Forbidden));
        }
        let user = self.user;
        let manages = user.role == Role::Manager && user.team_id.is_some() && team == user.team_id;
        if !manages {
            return Ok(Err(RejectReason::Forbidden));
        }
        let to_team_rep = tx
            .user(target)
            .await?
            .is_some_and(|rep| rep.role == Role::Rep && rep.team_id == user.team_id);
        if !to_team_rep {
            return Ok(Err(RejectReason::Forbidden));
        }
        Ok(Ok(Some(target)))
    }
}

/// What `mutation` writes in the owner field `field`: `None` when it leaves the field alone,
/// `Some(None)` for `null` (nobody: a team's own target), else the user it names. A value
/// that is not an id is refused as invalid.
fn owner_field_write(
    mutation: &PushMutation,
    field: &str,
) -> Result<Option<Option<Uuid>>, RejectReason> {
    let Some(write) = mutation.fields.get(field) else {
        return Ok(None);
    };
    if write.value.is_null() {
        return Ok(Some(None));
    }
    write
        .value
        .as_str()
        .and_then(|raw| Id::parse(raw).ok())
        .map(|id| Some(Some(*id.as_uuid())))
        .ok_or_else(|| RejectReason::invalid(field, Invalid::Id))
}

/// A user id (or none) as a stored field value.
fn id_value(id: Option<Uuid>) -> Value {
    id.map_or(Value::Null, |id| {
        Value::String(Id::from_uuid(id).to_string())
    })
}

/// The lead a record of a lead's history comes to name with this mutation: on create, and
/// when its `lead_id` changes. `None` for other kinds and for writes that keep the same lead.
fn named_lead(
    kind: RecordKind,
    base: &BTreeMap<String, FieldState>,
    writes: &BTreeMap<String, FieldState>,
    is_new: bool,
) -> Option<Id> {
    if !kind.is_lead_history() {
        return None;
    }
    let written = writes.get("lead_id")?;
    let moved = is_new || base.get("lead_id").map(|state| &state.value) != Some(&written.value);
    // Validation has accepted the merged record, so the value is an id.
    moved
        .then(|| written.value.as_str().and_then(|raw| Id::parse(raw).ok()))
        .flatten()
}

/// Moves the history of a reassigned lead (its visits, deals and stage changes) to the
/// lead's new `owner` and `team`, at the reassigning push's `version` and `stamp`: the
/// `records` row that visibility and authorization read, the `owner` and `team` fields
/// devices read, and a `visibility_changes` row for each record's previous owner, whose
/// devices then drop it.
/// `logged_by` stays as it was. Records already with that owner and team are left alone.
async fn move_history<T: SyncTx + ?Sized>(
    tx: &mut T,
    batch: &mut Batch,
    lead: Id,
    owner: Uuid,
    team: Option<Uuid>,
    stamp: Stamp,
    version: u64,
) -> Result<(), StorageError> {
    // The history is found by its stored `lead_id` fields: the batch's writes go first.
    batch.flush(tx).await?;
    let history = tx.lead_history(lead).await?;
    batch.read(tx, history.clone()).await?;
    for entry in history {
        let Some(stored) = batch.record(tx, entry).await? else {
            continue;
        };
        if stored.owner == owner && stored.team == team {
            continue;
        }
        let mut writes = BTreeMap::new();
        for (field, value) in [("owner", id_value(Some(owner))), ("team", id_value(team))] {
            if stored.fields.get(field).map(|state| &state.value) != Some(&value) {
                let state = FieldState {
                    value,
                    stamp,
                    version,
                };
                writes.insert(field.to_string(), state);
            }
        }
        let deleted = stored
            .fields
            .get("deleted")
            .and_then(|state| state.value.as_bool())
            .unwrap_or(false);
        let row = RecordRow {
            record: entry,
            owner,
            team,
            reach: stored.reach,
            version,
            deleted,
        };
        batch.save(row, &writes);
        if stored.owner != owner {
            batch.removal(version, entry, stored.owner);
        }
    }
    Ok(())
}

/// What a push has read and is about to write, so a batch reads each record once and
/// writes each table with one statement ([`Batch::flush`]).
///
/// Reads go through [`Batch::record`], which answers from what the batch has read and
/// written so far: a later mutation of the batch sees an earlier one's writes exactly as if
/// they had been written, so applying the batch here and flushing at the end stores what
/// writing after every mutation would.
#[derive(Default)]
struct Batch {
    /// Every record read, as the batch has left it (`None`: not stored).
    seen: HashMap<RecordRef, Option<StoredRecord>>,
    /// `records` rows to write.
    records: BTreeMap<RecordRef, RecordRow>,
    /// `fields` rows to write.
    fields: BTreeMap<(RecordRef, String), FieldState>,
    /// Conflict log entries to add, each with the user whose value lost.
    conflicts: Vec<(Conflict, Uuid)>,
    /// `visibility_changes` rows to add.
    removals: BTreeSet<(u64, RecordRef, Uuid)>,
    /// Records whose named attachments changed, with the set they name now: their
    /// `attachment_refs` rows are replaced.
    attachments: BTreeMap<RecordRef, BTreeSet<domain::Sha256>>,
    /// For every id read, the kinds it names a record of (stored, or created by the batch).
    kinds: HashMap<Id, BTreeSet<RecordKind>>,
    /// The most records the pushing user may own.
    max_records: u64,
    /// How many more records the user may create, counted on the batch's first create.
    creates_left: Option<u64>,
}

impl Batch {
    /// Reads those of `records` the batch has not read yet, with one [`SyncTx::records`].
    async fn read<T: SyncTx + ?Sized>(
        &mut self,
        tx: &mut T,
        records: Vec<RecordRef>,
    ) -> Result<(), StorageError> {
        let wanted: Vec<RecordRef> = records
            .into_iter()
            .filter(|record| !self.seen.contains_key(record))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        for (record, stored) in tx.records(&wanted).await? {
            self.seen.insert(record, Some(stored));
        }
        // Only a record that is not stored may be created here, so only its id needs looking
        // up under the other kinds: a batch of edits costs no extra query.
        let ids: Vec<Id> = wanted
            .iter()
            .filter(|record| !self.seen.contains_key(record))
            .map(|record| record.id)
            .filter(|id| !self.kinds.contains_key(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !ids.is_empty() {
            for id in &ids {
                self.kinds.insert(*id, BTreeSet::new());
            }
            for (id, kind) in tx.kinds_of(&ids).await? {
                self.kinds.entry(id).or_default().insert(kind);
            }
        }
        for record in wanted {
            self.seen.entry(record).or_insert(None);
        }
        Ok(())
    }

    /// Takes one of the records `owner` may still create, or says there is none left.
    /// The count of what they own is asked once per batch, and only of a batch that creates.
    async fn take_create<T: SyncTx + ?Sized>(
        &mut self,
        tx: &mut T,
        owner: Uuid,
    ) -> Result<bool, StorageError> {
        let left = match self.creates_left {
            Some(left) => left,
            None => self
                .max_records
                .saturating_sub(tx.owned_records(owner).await?),
        };
        self.creates_left = Some(left.saturating_sub(1));
        Ok(left > 0)
    }

    /// Whether `record`'s id already names a record of another kind (stored, or created
    /// earlier in the batch). Asked of a record about to be created, which the batch has read.
    fn id_taken(&self, record: RecordRef) -> bool {
        self.kinds
            .get(&record.id)
            .is_some_and(|kinds| kinds.iter().any(|kind| *kind != record.kind))
    }

    /// A record as the batch has left it so far.
    async fn record<T: SyncTx + ?Sized>(
        &mut self,
        tx: &mut T,
        record: RecordRef,
    ) -> Result<Option<StoredRecord>, StorageError> {
        if !self.seen.contains_key(&record) {
            self.read(tx, vec![record]).await?;
        }
        Ok(self.seen.get(&record).cloned().flatten())
    }

    /// Writes a record's `records` row and the fields in `writes`.
    fn save(&mut self, row: RecordRow, writes: &BTreeMap<String, FieldState>) {
        self.kinds
            .entry(row.record.id)
            .or_default()
            .insert(row.record.kind);
        self.records.insert(row.record, row);
        for (field, state) in writes {
            self.fields
                .insert((row.record, field.clone()), state.clone());
        }
        let seen = self.seen.entry(row.record).or_insert(None);
        match seen {
            Some(stored) => {
                stored.owner = row.owner;
                stored.team = row.team;
                stored.reach = row.reach;
                stored.fields.extend(writes.clone());
            }
            None => {
                *seen = Some(StoredRecord {
                    owner: row.owner,
                    team: row.team,
                    reach: row.reach,
                    fields: writes.clone(),
                });
            }
        }
    }

    /// Notes that `user` stopped seeing `record` at `version`.
    fn removal(&mut self, version: u64, record: RecordRef, user: Uuid) {
        self.removals.insert((version, record, user));
    }

    /// Writes what the batch holds, one statement per table (records first: the other
    /// tables name them); what it has read stays.
    async fn flush<T: SyncTx + ?Sized>(&mut self, tx: &mut T) -> Result<(), StorageError> {
        let records: Vec<RecordRow> = std::mem::take(&mut self.records).into_values().collect();
        if !records.is_empty() {
            tx.save_records(&records).await?;
        }
        let fields = std::mem::take(&mut self.fields);
        if !fields.is_empty() {
            let rows: Vec<FieldRow<'_>> = fields
                .iter()
                .map(|((record, field), state)| FieldRow {
                    record: *record,
                    field,
                    state,
                })
                .collect();
            tx.save_fields(&rows).await?;
        }
        let conflicts = std::mem::take(&mut self.conflicts);
        if !conflicts.is_empty() {
            tx.insert_conflicts(&conflicts).await?;
        }
        let removals: Vec<_> = std::mem::take(&mut self.removals).into_iter().collect();
        if !removals.is_empty() {
            tx.insert_visibility_changes(&removals).await?;
        }
        let attachments = std::mem::take(&mut self.attachments);
        if !attachments.is_empty() {
            let records: Vec<RecordRef> = attachments.keys().copied().collect();
            tx.delete_attachment_refs(&records).await?;
            let refs: Vec<(RecordRef, &domain::Sha256)> = attachments
                .iter()
                .flat_map(|(record, named)| named.iter().map(move |sha256| (*record, sha256)))
                .collect();
            if !refs.is_empty() {
                tx.insert_attachment_refs(&refs).await?;
            }
        }
        Ok(())
    }
}

/// A conflict's id: a UUIDv7 at the server's time whose random part is a hash of the
/// mutation (device, number) and field. A mutation is applied once and logs at most one
/// conflict per field, so ids never repeat; being derived rather than random keeps a
/// seeded simulation of the whole system reproducible.
fn conflict_id(client: Id, seq: u64, field: &str, now_ms: i64) -> Id {
    let mut hash = Sha256::new();
    hash.update(client.as_uuid().as_bytes());
    hash.update(seq.to_be_bytes());
    hash.update(field.as_bytes());
    let digest = hash.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    Id::from_parts(u64::try_from(now_ms).unwrap_or(0), random)
}

/// A pull's answer, and what the backend must record after the read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    /// The answer.
    pub response: PullResponse,
    /// Set on a pull from no cursor after a purge: the backend then records, in a write of
    /// its own after the read ([`record_full_pull`]), that this device pulled from no
    /// cursor while `purged_through` was this value, so the cursors of that full pull (which
    /// may well be below it) do not ask for a resync again.
    pub full_pull_at: Option<u64>,
}

/// Answers a pull for `user` from the snapshot `tx` (see the module docs).
///
/// Records come in `(version, kind, id)` order, at most `request.limit` (clamped to
/// `1..=`[`MAX_PULL_LIMIT`]); `removed` lists the records the user was taken off after the
/// cursor's version and still may not see. With no cursor (a full sync) nothing is removed:
/// the device has nothing yet. With nothing new, the cursor stays where it was.
/// `server_version` is the last committed version in the snapshot, so a device whose cursor
/// is past it knows the server went back in time.
///
/// A cursor below `purged_through` may have missed a tombstone or removal that [`purge`]
/// deleted, unless the device has pulled from no cursor since the purge point reached that
/// value (the cursors of such a full pull are below it, and need nothing): such a pull is
/// answered `full_resync` with no changes, no removals and no cursor.
pub async fn pull<T: SyncTx + ?Sized>(
    tx: &mut T,
    user: &User,
    request: &PullRequest,
    now_ms: i64,
) -> Result<Pulled, StorageError> {
    let last_applied = match tx.client(request.client_id).await? {
        Some((owner, _)) if owner != user.id => return Err(StorageError::ForeignClient),
        Some((_, last_applied)) => last_applied,
        None => 0,
    };
    let server_stamp = server_stamp(tx.max_stamp().await?, now_ms);
    let server_version = tx.current_version().await?;
    // An answer that sends the device back to pulling everything: nothing else in it.
    let restart = |full_resync: bool, went_back: bool| Pulled {
        response: PullResponse {
            changes: Vec::new(),
            removed: Vec::new(),
            cursor: None,
            more: false,
            last_applied,
            server_stamp,
            server_version,
            full_resync,
            mark: None,
            went_back,
        },
        full_pull_at: None,
    };
    // The version the device last pulled at is not in this server's history (it has not
    // reached it, or committed it at another time): the server went back in time.
    if let Some(seen) = request.seen {
        let went_back = seen.version > server_version
            || tx
                .version_committed_at(seen.version)
                .await?
                .is_some_and(|at| at != seen.committed_at);
        if went_back {
            return Ok(restart(false, true));
        }
    }
    let mark = tx
        .version_committed_at(server_version)
        .await?
        .map(|committed_at| VersionMark {
            version: server_version,
            committed_at,
        });
    let purged_through = tx.purged_through().await?;
    if let Some(cursor) = request.cursor {
        if cursor.version < purged_through
            && tx.resynced_through(request.client_id).await? < purged_through
        {
            return Ok(restart(true, false));
        }
    }
    let limit = request.limit.clamp(1, MAX_PULL_LIMIT);
    let mut rows = if user.role == Role::Admin {
        Vec::new()
    } else {
        tx.feed(user, request.cursor, limit + 1).await?
    };
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);

    // The page's fields and conflicts, one query each.
    let page: Vec<RecordRef> = rows
        .iter()
        .map(|row| RecordRef {
            kind: row.kind,
            id: row.id,
        })
        .collect();
    let mut stored: HashMap<RecordRef, StoredRecord> = if page.is_empty() {
        HashMap::new()
    } else {
        tx.records(&page).await?.into_iter().collect()
    };
    let mut logged: HashMap<RecordRef, Vec<Conflict>> = HashMap::new();
    if !page.is_empty() {
        for conflict in tx.conflicts(&page).await? {
            let record = RecordRef {
                kind: conflict.kind,
                id: conflict.record_id,
            };
            logged.entry(record).or_default().push(conflict);
        }
    }
    let mut changes = Vec::with_capacity(rows.len());
    for (row, record) in rows.iter().zip(&page) {
        let fields = stored
            .remove(record)
            .ok_or(StorageError::NotFound("record"))?
            .fields;
        let conflicts = logged.remove(record).unwrap_or_default();
        let mut change = RecordChange::build(row.kind, row.id, &fields, conflicts)
            .map_err(|error| StorageError::Corrupt(format!("{} {}: {error}", row.kind, row.id)))?;
        // A record whose only change was a logged conflict sits in the feed at that
        // conflict's version, past its fields' versions.
        change.version = row.version;
        changes.push(change);
    }
    let cursor = rows
        .last()
        .map(|row| Cursor {
            version: row.version,
            kind: row.kind,
            record_id: row.id,
        })
        .or(request.cursor);

    let mut removed = Vec::new();
    if let Some(after) = request.cursor {
        for removal in tx.removals(user.id, after.version).await? {
            if !can_see(user, removal.owner, removal.team, removal.reach) {
                removed.push(removal.record);
            }
        }
    }

    let response = PullResponse {
        changes,
        removed,
        cursor,
        more,
        last_applied,
        server_stamp,
        server_version,
        full_resync: false,
        mark,
        went_back: false,
    };
    let full_pull_at = (request.cursor.is_none() && purged_through > 0).then_some(purged_through);
    Ok(Pulled {
        response,
        full_pull_at,
    })
}

/// Records, after a pull from no cursor, that `client` pulled everything while the purge
/// point was `purged_through` (see [`Pulled::full_pull_at`]).
pub async fn record_full_pull<T: SyncTx + ?Sized>(
    tx: &mut T,
    user: &User,
    client: Id,
    purged_through: u64,
) -> Result<(), StorageError> {
    tx.mark_resynced(client, user.id, purged_through).await
}

/// How long a day is, in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// What a [`purge`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// The last version older than the horizon, when any logged version is: everything it
    /// purged changed at or below it.
    pub through: Option<u64>,
    /// Tombstones deleted (with their fields and conflicts).
    pub records: u64,
    /// Resolved conflicts deleted (on records that stay).
    pub conflicts: u64,
    /// `visibility_changes` rows deleted.
    pub removals: u64,
    /// Kept refusals deleted.
    pub rejections: u64,
    /// The purge point after this purge (see [`pull`]).
    pub purged_through: u64,
}

/// Forgets what is older than `keep_days` days before `now_ms` (the server's clock), in the
/// caller's one transaction: tombstones whose last change is that old (with their fields
/// and conflicts), resolved conflicts logged that long ago, `visibility_changes` rows and
/// kept refusals of that age, and the version log up to there. Live records are never
/// touched. `purged_through` rises to the highest version of a tombstone or removal
/// deleted, so [`pull`] can tell which cursors may have missed one.
///
/// Age comes from `version_log` (each push's version and the server's time at its commit),
/// not from stamps, which devices make: "older than the horizon" is "at or below the last
/// version committed before the horizon", and below the first version committed after it,
/// should the server's clock ever have stepped back. Versions committed before the log
/// existed count as young until a logged version past them is old.
pub async fn purge<T: SyncTx + ?Sized>(
    tx: &mut T,
    now_ms: i64,
    keep_days: u32,
) -> Result<PurgeReport, StorageError> {
    let mut report = PurgeReport {
        purged_through: tx.lock_for_purge().await?,
        ..PurgeReport::default()
    };
    let horizon_ms = now_ms.saturating_sub(i64::from(keep_days).saturating_mul(DAY_MS));
    let Some(old) = tx.last_version_before(horizon_ms).await? else {
        return Ok(report);
    };
    let through = match tx.first_version_since(horizon_ms).await? {
        Some(young) => old.min(young.saturating_sub(1)),
        None => old,
    };
    report.through = Some(through);
    let last_tombstone = tx.last_tombstone(through).await?;
    let last_removal = tx.last_removal(through).await?;
    report.conflicts = tx.delete_resolved_conflicts(through).await?;
    report.records = tx.delete_tombstones(through).await?;
    report.removals = tx.delete_removals(through).await?;
    report.rejections = tx.delete_rejections(through).await?;
    tx.delete_version_log(through).await?;
    let purged_through = [last_tombstone, last_removal]
        .into_iter()
        .flatten()
        .fold(report.purged_through, u64::max);
    if purged_through > report.purged_through {
        tx.set_purged_through(purged_through).await?;
        report.purged_through = purged_through;
    }
    Ok(report)
}

/// The stamp a pull hands the device so its next edits sort after every stamp the server
/// holds, carrying nothing of anyone else's edits: no device (the client is nil) and, in
/// the normal case, no time but the server's own. Only when some stored stamp is ahead of
/// the server's clock (a device clock ahead, within what [`domain::clamp_stamp`] lets
/// through) does it move ahead, and then to the limit of that allowance, not to the stamp's
/// own time; past that limit (the server's clock went back) it takes the stored time, the
/// least it can say and still sort after it.
pub(crate) fn server_stamp(stored_max: Option<Stamp>, now_ms: i64) -> Stamp {
    let nobody = Id::from_uuid(Uuid::nil());
    match stored_max {
        Some(stored) if stored.wall_ms > now_ms => {
            let limit = now_ms.saturating_add(domain::MAX_CLOCK_AHEAD_MS);
            if stored.wall_ms < limit {
                Stamp::new(limit, 0, nobody)
            } else {
                Stamp::new(stored.wall_ms, stored.counter, nobody)
            }
        }
        Some(stored) if stored.wall_ms == now_ms => Stamp::new(now_ms, stored.counter, nobody),
        _ => Stamp::new(now_ms, 0, nobody),
    }
}

/// The kinds a lead's history is made of ([`RecordKind::is_lead_history`]: visits, deals,
/// stage changes) as an SQL list of string literals, `'visit', 'deal', …`, for the
/// backends' [`SyncTx::lead_history`] queries to build their text from once. The wire
/// names are constants of lowercase letters and underscores, so nothing needs escaping.
pub(crate) fn lead_history_kinds() -> &'static str {
    static KINDS: LazyLock<String> = LazyLock::new(|| {
        RecordKind::ALL
            .iter()
            .filter(|kind| kind.is_lead_history())
            .map(|kind| format!("'{}'", kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    });
    KINDS.as_str()
}

/// Reads a stored version.
pub(crate) fn version_from(raw: i64) -> Result<u64, StorageError> {
    u64::try_from(raw).map_err(|_| StorageError::Corrupt(format!("negative version: {raw}")))
}

/// A version as the databases store it (signed 64-bit).
pub(crate) fn version_to(version: u64) -> Result<i64, StorageError> {
    i64::try_from(version)
        .map_err(|_| StorageError::Corrupt(format!("version out of range: {version}")))
}

/// Reads a stored record kind.
pub(crate) fn reach_from(raw: &str) -> Result<Reach, StorageError> {
    Reach::parse(raw).ok_or_else(|| StorageError::Corrupt(format!("unknown reach {raw:?}")))
}

pub(crate) fn kind_from(raw: &str) -> Result<RecordKind, StorageError> {
    raw.parse()
        .map_err(|_| StorageError::Corrupt(format!("unknown record kind: {raw}")))
}

/// Reads a stored stamp.
pub(crate) fn stamp_from(raw: &str) -> Result<Stamp, StorageError> {
    Stamp::parse(raw).map_err(|_| StorageError::Corrupt(format!("not a stamp: {raw}")))
}

/// Reads a stored JSON value.
pub(crate) fn json_from(raw: &str) -> Result<Value, StorageError> {
    serde_json::from_str(raw).map_err(|error| StorageError::Corrupt(format!("bad JSON: {error}")))
}

/// A record's fields as the backends aggregate them in SQL: a JSON array of
/// `[field, value_json, stamp, version]`, one per `fields` row.
pub(crate) fn fields_from(raw: &str) -> Result<BTreeMap<String, FieldState>, StorageError> {
    let rows: Vec<(String, String, String, i64)> = serde_json::from_str(raw)
        .map_err(|error| StorageError::Corrupt(format!("bad fields: {error}")))?;
    rows.into_iter()
        .map(|(field, value, stamp, version)| {
            let state = FieldState {
                value: json_from(&value)?,
                stamp: stamp_from(&stamp)?,
                version: version_from(version)?,
            };
            Ok((field, state))
        })
        .collect()
}

/// A JSON value as stored.
pub(crate) fn json_to(value: &Value) -> String {
    value.to_string()
}

/// A refusal's reason as stored: its JSON, exactly as the first answer sent it.
pub(crate) fn reason_to(reason: &RejectReason) -> Result<String, StorageError> {
    serde_json::to_string(reason)
        .map_err(|error| StorageError::Corrupt(format!("unstorable reason: {error}")))
}

/// Reads a stored refusal's reason.
pub(crate) fn reason_from(raw: &str) -> Result<RejectReason, StorageError> {
    serde_json::from_str(raw)
        .map_err(|error| StorageError::Corrupt(format!("bad refusal reason: {error}")))
}

/// The conflict row's columns, read back.
pub(crate) struct ConflictColumns {
    pub id: Uuid,
    pub kind: String,
    pub record_id: Uuid,
    pub field: String,
    pub lost_value_json: String,
    pub lost_stamp: String,
    pub lost_by: Uuid,
    pub kept_value_json: String,
    pub kept_stamp: String,
    pub at_version: i64,
    pub resolved: bool,
}

impl ConflictColumns {
    /// The conflict these columns hold.
    pub(crate) fn into_conflict(self) -> Result<Conflict, StorageError> {
        Ok(Conflict {
            id: Id::from_uuid(self.id),
            kind: kind_from(&self.kind)?,
            record_id: Id::from_uuid(self.record_id),
            field: self.field,
            lost_value: json_from(&self.lost_value_json)?,
            lost_stamp: stamp_from(&self.lost_stamp)?,
            lost_by: Some(Id::from_uuid(self.lost_by)),
            kept_value: json_from(&self.kept_value_json)?,
            kept_stamp: stamp_from(&self.kept_stamp)?,
            at_version: version_from(self.at_version)?,
            resolved: self.resolved,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn the_server_stamp_sorts_after_every_stored_one_and_tells_nothing_else() {
        let device = Id::from_uuid(Uuid::from_u128(7));
        let nobody = Id::from_uuid(Uuid::nil());
        let now = 1_800_000_000_000;
        let cases = [
            (None, Stamp::new(now, 0, nobody)),
            // Behind the server's clock: the server's own time.
            (
                Some(Stamp::new(now - 5, 9, device)),
                Stamp::new(now, 0, nobody),
            ),
            (Some(Stamp::new(now, 3, device)), Stamp::new(now, 3, nobody)),
            // A device clock ahead: the limit, not the edit's time.
            (
                Some(Stamp::new(now + 1_000, 4, device)),
                Stamp::new(now + domain::MAX_CLOCK_AHEAD_MS, 0, nobody),
            ),
            // The server's clock went back: the stored time, still nobody's device.
            (
                Some(Stamp::new(now + 3_600_000, 2, device)),
                Stamp::new(now + 3_600_000, 2, nobody),
            ),
        ];
        for (stored, expected) in cases {
            let sent = server_stamp(stored, now);
            assert_eq!(sent, expected, "{stored:?}");
            if let Some(stored) = stored {
                let mut clock = domain::Hlc::restore(Id::from_uuid(Uuid::from_u128(8)), None);
                clock.observe(sent, now);
                assert!(clock.tick(now) > stored, "{stored:?}");
            }
        }
    }

    fn user(role: Role, team: Option<u128>) -> User {
        User {
            id: Uuid::from_u128(1),
            login: "u".into(),
            display_name: "U".into(),
            role,
            team_id: team.map(Uuid::from_u128),
            created_at: Utc::now(),
            must_change_password: false,
        }
    }

    #[test]
    fn visibility_by_role() {
        let me = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let team = Some(Uuid::from_u128(10));
        let elsewhere = Some(Uuid::from_u128(11));
        let own = Reach::Owner;
        let rep = user(Role::Rep, Some(10));
        assert!(can_see(&rep, me, team, own));
        assert!(!can_see(&rep, other, team, own));
        assert!(can_see(&rep, other, team, Reach::Team));
        assert!(!can_see(&rep, other, elsewhere, Reach::Team));
        assert!(!can_see(&rep, other, None, Reach::Team));
        assert!(can_see(&rep, other, elsewhere, Reach::Everyone));
        let manager = user(Role::Manager, Some(10));
        assert!(can_see(&manager, other, team, own));
        assert!(!can_see(&manager, other, elsewhere, own));
        assert!(!can_see(&manager, other, None, own));
        assert!(can_see(&manager, other, elsewhere, Reach::Everyone));
        let lone_manager = user(Role::Manager, None);
        assert!(!can_see(&lone_manager, other, None, own));
        assert!(!can_see(&lone_manager, other, None, Reach::Team));
        assert!(can_see(&lone_manager, me, None, own));
        let admin = user(Role::Admin, Some(10));
        assert!(!can_see(&admin, me, team, own));
        assert!(!can_see(&admin, me, team, Reach::Everyone));
        assert!(!can_write(&admin, RecordKind::Lead, me, team));
    }

    #[test]
    fn writing_follows_the_kind() {
        let me = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let team = Some(Uuid::from_u128(10));
        let rep = user(Role::Rep, Some(10));
        let manager = user(Role::Manager, Some(10));
        let other_manager = user(Role::Manager, Some(11));
        // Leads: the owner and the team's managers.
        assert!(can_write(&rep, RecordKind::Lead, me, team));
        assert!(can_write(&manager, RecordKind::Lead, other, team));
        assert!(!can_write(&other_manager, RecordKind::Lead, other, team));
        // Items and sessions: managers only, even a rep who owns one somehow.
        for kind in [RecordKind::TrainingItem, RecordKind::TrainingSession] {
            assert!(!can_create(&rep, kind));
            assert!(can_create(&manager, kind));
            assert!(!can_write(&rep, kind, me, team));
            assert!(can_write(&manager, kind, other, team));
            assert!(!can_write(&other_manager, kind, other, team));
        }
        // Targets: managers set them, a rep's included; the rep only reads it.
        assert!(!can_create(&rep, RecordKind::Target));
        assert!(can_create(&manager, RecordKind::Target));
        assert!(!can_write(&rep, RecordKind::Target, me, team));
        assert!(can_write(&manager, RecordKind::Target, other, team));
        assert!(!can_write(&other_manager, RecordKind::Target, other, team));
        // Stage changes: a lead's history, like visits.
        assert!(can_create(&rep, RecordKind::StageChange));
        assert!(can_write(&rep, RecordKind::StageChange, me, team));
        assert!(can_write(&manager, RecordKind::StageChange, other, team));
        assert!(!can_write(
            &other_manager,
            RecordKind::StageChange,
            other,
            team
        ));
        // A person's training records and attempts: only theirs.
        for kind in [RecordKind::TrainingRecord, RecordKind::QuizAttempt] {
            assert!(can_create(&rep, kind));
            assert!(can_write(&rep, kind, me, team));
            assert!(!can_write(&manager, kind, other, team));
        }
        let admin = user(Role::Admin, Some(10));
        assert!(RecordKind::ALL
            .iter()
            .all(|&kind| !can_create(&admin, kind)));
    }

    #[test]
    fn the_lead_history_list_names_every_history_kind_and_nothing_else() {
        let list = lead_history_kinds();
        for kind in RecordKind::ALL {
            let quoted = format!("'{}'", kind.as_str());
            assert_eq!(
                list.split(", ").any(|item| item == quoted),
                kind.is_lead_history(),
                "{kind:?} in {list}"
            );
            // Nothing in a wire name could end the literal.
            assert!(kind
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert!(list.contains("'stage_change'"), "{list}");
    }

    #[test]
    fn conflict_ids_are_stable_and_distinct() {
        let client = Id::from_uuid(Uuid::from_u128(5));
        let a = conflict_id(client, 3, "name", 1_700_000_000_000);
        assert_eq!(a, conflict_id(client, 3, "name", 1_700_000_000_000));
        assert_ne!(a, conflict_id(client, 3, "phones", 1_700_000_000_000));
        assert_ne!(a, conflict_id(client, 4, "name", 1_700_000_000_000));
        assert_eq!(a.unix_ms(), Some(1_700_000_000_000));
    }
}
