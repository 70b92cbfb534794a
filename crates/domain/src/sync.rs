//! The sync protocol (what a device pushes and pulls) and the per-field merge rules the
//! server applies, as pure functions so the server and the deterministic simulation run the
//! same code.
//!
//! The design is in `SYNC.md`. In short:
//! - A device numbers its mutations without gaps ([`PushMutation::seq`]); the server applies
//!   each number once and reports the last one applied ([`PushResponse::last_applied`]).
//! - The server keeps every field of every record as a [`FieldState`]: its value, the
//!   [`Stamp`] of the edit that wrote it and the server-wide version at which it was written.
//! - A pushed field carries the field version the device last saw ([`FieldWrite::base`]).
//!   When the stored field is newer than that, two people edited without seeing each other,
//!   the later edit (by stamp) wins, and the losing value goes to the conflict log
//!   ([`LostWrite`], then [`Conflict`]).
//! - Pulls page through records ordered by `(version, kind, id)` with an opaque [`Cursor`].
//!
//! What the server does with one pushed mutation, using this module:
//! 1. Refuse the push unless [`is_supported_protocol`]; refuse a mutation whose stamp's
//!    client is not the pushing device (as [`RejectReason::Malformed`]), because
//!    [`merge_field`] trusts the stamp's client to recognise a device's own earlier writes.
//! 2. For a new record, authorize the create and start its fields with [`meta_fields`]
//!    (id, owner, team and creation time are the server's to decide); for an existing one,
//!    check the kind and that the user may write it.
//! 3. `let merge = merge_record(&stored, &mutation, now_ms, new_version);`
//! 4. Validate the result: `validate_record(kind, &field_values(&merge.merged(&stored)))`,
//!    and reject the mutation (still advancing `last_applied`) when it fails.
//! 5. Store `merge.writes`, and log every `merge.lost` with [`Conflict::from_lost`].
//!
//! Pulls send [`RecordChange::build`] for every visible record past the cursor.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::change::{to_object, ForKind};
use crate::{
    Currency, Deal, DealDraft, Id, Invalid, Lead, LeadDraft, Money, Mutation, Record, RecordKind,
    RecordMeta, Stamp, ValidationErrors, Visit, VisitDraft,
};

/// The protocol version this build speaks.
///
/// The server accepts this version and the one before it (see [`is_supported_protocol`]),
/// so a phone that has not updated the app yet still syncs.
pub const PROTOCOL_VERSION: u32 = 1;

/// Whether the server accepts a push or pull that speaks `protocol`: the current version
/// or the previous one.
pub fn is_supported_protocol(protocol: u32) -> bool {
    protocol == PROTOCOL_VERSION || protocol.checked_add(1) == Some(PROTOCOL_VERSION)
}

/// One field of one record as the server stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldState {
    /// The value, as the record type serializes the field.
    pub value: Value,
    /// When the edit that wrote this value was made (clamped, see [`clamp_stamp`]).
    pub stamp: Stamp,
    /// The server-wide version at which this field was last written.
    pub version: u64,
}

// ---------------------------------------------------------------------------------------
// Push: device to server.
// ---------------------------------------------------------------------------------------

/// A batch of outbox mutations from one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// The device (the `client` of its stamps).
    pub client_id: Id,
    /// The protocol version the device speaks, [`PROTOCOL_VERSION`] when it is up to date;
    /// the server takes it and the one before.
    #[serde(deserialize_with = "crate::wire::u32_whole")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1))]
    pub protocol: u32,
    /// The mutations in `seq` order, without gaps; at most `max_push_mutations` (the
    /// server's `/api/health`; 500 by default).
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub mutations: Vec<PushMutation>,
    /// The device holds no unapplied mutation numbered at or below this: numbers up to it
    /// that the server has not applied were lost with the server's own state (a restored
    /// backup) or refused on the device, and will never come. The server moves the device's
    /// `last_applied` up to it (never down) before applying the batch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::option_u64_whole"
    )]
    // The databases' integers: a larger one is refused (422).
    #[cfg_attr(feature = "openapi", schema(maximum = 9_223_372_036_854_775_807_u64))]
    pub resume_after: Option<u64>,
    /// The `last_applied` the server last answered this device with. A server that has
    /// applied less went back in time (a restored backup): it answers a gap from what it
    /// has and applies nothing, `resume_after` included, so the device notices and resends
    /// instead of having numbers it still holds skipped. 0 (the default) checks nothing.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "crate::wire::u64_whole"
    )]
    #[cfg_attr(feature = "openapi", schema(maximum = 18_446_744_073_709_551_615_u64))]
    pub known_applied: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One mutation as pushed: the outbox [`Mutation`] plus, per field, the version the device
/// edited on top of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushMutation {
    /// The device's gap-free sequence number, from 1.
    #[serde(deserialize_with = "crate::wire::u64_whole")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 18_446_744_073_709_551_615_u64)
    )]
    pub seq: u64,
    /// Which kind of record changed.
    pub kind: RecordKind,
    /// Which record changed.
    pub record_id: Id,
    /// When the person made the edit, by the device's hybrid logical clock.
    pub stamp: Stamp,
    /// The changed fields.
    pub fields: BTreeMap<String, FieldWrite>,
}

/// A new value for one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldWrite {
    /// The new value, as the record type serializes the field.
    pub value: Value,
    /// The field version this device last saw; `None` means it never saw this field from
    /// the server (a record it created, or one it has not pulled yet).
    #[serde(default, deserialize_with = "crate::wire::option_u64_whole")]
    #[cfg_attr(feature = "openapi", schema(maximum = 18_446_744_073_709_551_615_u64))]
    pub base: Option<u64>,
}

impl Mutation {
    /// This outbox entry as pushed, with each field's base taken from `base`: the field
    /// versions of the record as the device last pulled it ([`RecordChange::field_versions`]).
    pub fn to_push(&self, base: &BTreeMap<String, u64>) -> PushMutation {
        PushMutation {
            seq: self.seq,
            kind: self.kind,
            record_id: self.record_id,
            stamp: self.stamp,
            fields: self
                .fields
                .iter()
                .map(|(field, value)| {
                    let write = FieldWrite {
                        value: value.clone(),
                        base: base.get(field).copied(),
                    };
                    (field.clone(), write)
                })
                .collect(),
        }
    }
}

/// The server's answer to a push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// The highest `seq` of this device the server has applied (rejected ones included);
    /// the device drops outbox entries up to it.
    pub last_applied: u64,
    /// The mutations of this push that were refused, and why.
    pub rejected: Vec<Rejection>,
}

/// The limits the server enforces on a push, which a device must batch under: a batch over
/// either is refused whole (413) and nothing of it is written.
///
/// `/api/health` carries them as `max_push_bytes` and `max_push_mutations`; the body of a 413
/// answer to a push as `max_bytes` and `max_mutations` (next to `"error": "push_too_large"`).
/// This struct reads both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushLimits {
    /// The largest request body the server reads, in bytes.
    #[serde(alias = "max_bytes")]
    pub max_push_bytes: u64,
    /// The most mutations one push may carry.
    #[serde(alias = "max_mutations")]
    pub max_push_mutations: u32,
}

/// The largest attachment the server takes, which a device checks before it uploads: an
/// upload whose declared size is over it is refused whole (413) and nothing is stored.
///
/// `/api/health` carries it as `max_attachment_bytes`; the body of a 413 answer to an upload
/// as `max_bytes` (next to `"error": "attachment_too_large"`). This struct reads both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentLimits {
    /// The largest attachment the server takes, in bytes, at most
    /// [`crate::training::limits::MAX_ATTACHMENT_BYTES`]. `None` when the server does not
    /// say: it predates attachments and takes none, so the device keeps its files.
    #[serde(default, alias = "max_bytes")]
    pub max_attachment_bytes: Option<u64>,
}

/// A mutation the server refused. It still counts as applied, or the device would be stuck
/// resending it; the device shows the reason on the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rejection {
    /// The refused mutation's `seq`.
    pub seq: u64,
    /// The record it would have changed.
    pub record_id: Id,
    /// Why it was refused.
    pub reason: RejectReason,
}

/// Why a mutation was refused.
///
/// Read through [`RejectReasonWire`], a flat struct: the same JSON as the internally tagged
/// derive accepts, with a fraction of its code (the derive buffers every value first; it was
/// 19 KB of the app's wasm).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "RejectReasonWire")]
pub enum RejectReason {
    /// The record would break a rule the forms enforce.
    Invalid {
        /// The serde name of the offending field (empty for the record as a whole).
        field: String,
        /// The message key the app translates, e.g. `"error.phone"`.
        key: String,
    },
    /// The user may not write this record.
    Forbidden,
    /// The record does not exist (or no longer does) and the mutation cannot create it.
    UnknownRecord,
    /// The mutation could not be understood at all.
    Malformed {
        /// What was wrong, for logs; not shown to users.
        detail: String,
    },
    /// The change is larger than any push the server accepts; decided on the device, which
    /// never sends it.
    TooLarge {
        /// The server's limit for one push, in bytes.
        max_bytes: u64,
    },
}

/// The tag of a [`RejectReason`].
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RejectKind {
    Invalid,
    Forbidden,
    UnknownRecord,
    Malformed,
    TooLarge,
}

/// A [`RejectReason`] as read: the tag and every variant's fields; the fields the tag needs
/// must be there (fields of other variants are ignored, as the derive ignores unknown ones).
#[derive(Deserialize)]
struct RejectReasonWire {
    kind: RejectKind,
    field: Option<String>,
    key: Option<String>,
    detail: Option<String>,
    max_bytes: Option<u64>,
}

impl TryFrom<RejectReasonWire> for RejectReason {
    type Error = &'static str;

    fn try_from(wire: RejectReasonWire) -> Result<RejectReason, &'static str> {
        Ok(match wire.kind {
            RejectKind::Invalid => RejectReason::Invalid {
                field: wire.field.ok_or("missing field `field`")?,
                key: wire.key.ok_or("missing field `key`")?,
            },
            RejectKind::Forbidden => RejectReason::Forbidden,
            RejectKind::UnknownRecord => RejectReason::UnknownRecord,
            RejectKind::Malformed => RejectReason::Malformed {
                detail: wire.detail.ok_or("missing field `detail`")?,
            },
            RejectKind::TooLarge => RejectReason::TooLarge {
                max_bytes: wire.max_bytes.ok_or("missing field `max_bytes`")?,
            },
        })
    }
}

impl RejectReason {
    /// An [`RejectReason::Invalid`] for `field`, from a validation result such as
    /// [`validate_record`]'s.
    pub fn invalid(field: impl Into<String>, reason: Invalid) -> RejectReason {
        RejectReason::Invalid {
            field: field.into(),
            key: reason.key().to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pull: server to device.
// ---------------------------------------------------------------------------------------

/// A device asking for what changed since its cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullRequest {
    /// The device asking.
    pub client_id: Id,
    /// Where the previous pull stopped; `None` for a full sync.
    pub cursor: Option<Cursor>,
    /// At most this many records per answer (the server clamps it to 1..=500).
    #[serde(deserialize_with = "crate::wire::u32_whole")]
    #[cfg_attr(feature = "openapi", schema(format = Int64, maximum = 4_294_967_295_u64))]
    pub limit: u32,
    /// The server version this device last pulled at, and when the server committed it.
    /// A server whose log says otherwise (or that has not reached that version) went back
    /// in time — a restored backup — and answers `went_back`, even once it has passed the
    /// device's cursor again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<VersionMark>,
}

/// A server version and when the server committed it: two servers that agree on both share
/// the history up to it (a restored server that reaches the same version again commits it
/// later).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionMark {
    /// The server version.
    #[serde(deserialize_with = "crate::wire::u64_whole")]
    #[cfg_attr(feature = "openapi", schema(maximum = 18_446_744_073_709_551_615_u64))]
    pub version: u64,
    /// When the server committed it (server clock, ms).
    #[serde(deserialize_with = "crate::wire::i64_whole")]
    pub committed_at: i64,
}

// Requests read only from JSON objects (`wire::ObjectsOnly`): an array of a struct's fields
// in order, which serde's derive also reads, is refused like any other wrong shape.
crate::objects_only!(
    PushRequest,
    PushMutation,
    FieldWrite,
    PullRequest,
    VersionMark
);

/// A position in the server's change feed: just after the record `(kind, record_id)` at
/// `version`.
///
/// Devices treat it as an opaque string, `v{version:020}-{kind}-{id}`. Cursors order by
/// `(version, kind name, id)`, which is also the order of their strings (the version is
/// padded to the 20 digits of `u64::MAX`), so the server may compare either. Kinds compare
/// by name (`deal < lead < visit`) rather than by [`RecordKind`]'s own order, so that a
/// database sorting a text `kind` column agrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cursor {
    /// The version of the last record sent.
    pub version: u64,
    /// The kind of the last record sent.
    pub kind: RecordKind,
    /// The id of the last record sent.
    pub record_id: Id,
}

/// A string that is not a [`Cursor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a sync cursor")]
pub struct CursorError;

const VERSION_DIGITS: usize = 20;

/// The highest record version a server hands out: databases keep versions as signed 64-bit
/// integers. A cursor naming a higher one was made up, and is refused like any malformed one
/// (before, it reached the database and failed there: a 500).
pub const MAX_VERSION: u64 = i64::MAX as u64;

impl Cursor {
    /// Reads the form written by `Display`.
    pub fn parse(raw: &str) -> Result<Cursor, CursorError> {
        let rest = raw.strip_prefix('v').ok_or(CursorError)?;
        let (version, rest) = rest.split_once('-').ok_or(CursorError)?;
        let (kind, record_id) = rest.split_once('-').ok_or(CursorError)?;
        // Exactly one spelling per cursor, so that string order stays cursor order.
        if version.len() != VERSION_DIGITS || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CursorError);
        }
        let version: u64 = version.parse().map_err(|_| CursorError)?;
        if version > MAX_VERSION {
            return Err(CursorError);
        }
        Ok(Cursor {
            version,
            kind: kind.parse().map_err(|_| CursorError)?,
            record_id: Id::parse(record_id).map_err(|_| CursorError)?,
        })
    }

    fn key(&self) -> (u64, &'static str, Id) {
        (self.version, self.kind.as_str(), self.record_id)
    }
}

impl Ord for Cursor {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v{:0w$}-{}-{}",
            self.version,
            self.kind,
            self.record_id,
            w = VERSION_DIGITS
        )
    }
}

impl FromStr for Cursor {
    type Err = CursorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cursor::parse(s)
    }
}

impl TryFrom<String> for Cursor {
    type Error = CursorError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Cursor::parse(&value)
    }
}

impl From<Cursor> for String {
    fn from(cursor: Cursor) -> String {
        cursor.to_string()
    }
}

/// The server's answer to a pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Records that changed (or whose conflicts changed) past the cursor, in cursor order.
    pub changes: Vec<RecordChange>,
    /// Records the device must forget: no longer visible to this user (reassigned, or
    /// purged after the tombstone horizon).
    pub removed: Vec<RecordRef>,
    /// Where to continue from; `None` when there was nothing at all to send.
    pub cursor: Option<Cursor>,
    /// Whether more changes are waiting: pull again right away.
    pub more: bool,
    /// The highest `seq` of this device applied so far, so it can drop acknowledged
    /// outbox entries in the same transaction as the changes.
    pub last_applied: u64,
    /// A stamp at or after every stamp the server holds; the device passes it to
    /// [`crate::Hlc::observe`] so its next edits sort after everything it has seen.
    pub server_stamp: Stamp,
    /// The highest committed server version this pull read (at or above every cursor the
    /// server has handed out since). A device whose cursor is past it talks to a server that
    /// went back in time (a backup restore). 0 from a server older than this field.
    #[serde(default)]
    pub server_version: u64,
    /// The cursor is older than what the server still remembers (tombstones and removals
    /// past it were purged after the horizon); the device must pull again from no cursor,
    /// keeping its unsent edits, and forget the copies that full pull does not send. Such an
    /// answer carries no changes, no removals and no cursor. Never set on a pull from no
    /// cursor; `false` from a server older than this field.
    #[serde(default)]
    pub full_resync: bool,
    /// The mark of `server_version`, for the device's next [`PullRequest::seen`] (`None`
    /// when the server keeps none for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<VersionMark>,
    /// The device's [`PullRequest::seen`] is not in this server's history: it went back in
    /// time. Nothing else is in the answer; the device recovers as from any sign of that.
    #[serde(default)]
    pub went_back: bool,
}

/// A member of the signed-in user's team, as `GET /api/team` lists them (for example to
/// pick the rep a lead is reassigned to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    /// The user's id (what a lead's `owner` holds).
    pub id: Id,
    /// The sign-in name.
    pub login: String,
    /// The name shown to colleagues.
    pub display_name: String,
    /// `rep` or `manager`.
    pub role: String,
}

/// Names a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordRef {
    /// Which kind of record.
    pub kind: RecordKind,
    /// Its id.
    pub id: Id,
}

/// A record as it now stands on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordChange {
    /// Which kind of record.
    pub kind: RecordKind,
    /// Its id.
    pub id: Id,
    /// The highest version of any of its fields: its place in the change feed.
    pub version: u64,
    /// The whole record as the domain type serializes it.
    pub record: Value,
    /// The version of each field, which the device sends back as [`FieldWrite::base`].
    pub field_versions: BTreeMap<String, u64>,
    /// The record's conflict log entries, resolved ones included so devices see the
    /// resolution.
    pub conflicts: Vec<Conflict>,
}

impl RecordChange {
    /// The change for the record stored as `fields`: the typed record (so it is sent in
    /// the domain's normal form), its field versions and its version.
    pub fn build(
        kind: RecordKind,
        id: Id,
        fields: &BTreeMap<String, FieldState>,
        conflicts: Vec<Conflict>,
    ) -> Result<RecordChange, serde_json::Error> {
        Ok(RecordChange {
            kind,
            id,
            version: fields.values().map(|f| f.version).max().unwrap_or(0),
            record: materialize_kind(kind, fields)?,
            field_versions: fields
                .iter()
                .map(|(field, state)| (field.clone(), state.version))
                .collect(),
            conflicts,
        })
    }
}

/// A value that lost a same-field race, kept so either person can see and restore it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// The conflict's own id (made by the server).
    pub id: Id,
    /// The kind of the record.
    pub kind: RecordKind,
    /// The record.
    pub record_id: Id,
    /// The field both edited.
    pub field: String,
    /// The value that was not kept.
    pub lost_value: Value,
    /// When the losing edit was made.
    pub lost_stamp: Stamp,
    /// The user whose edit lost, when known.
    pub lost_by: Option<Id>,
    /// The value that was kept.
    pub kept_value: Value,
    /// When the winning edit was made.
    pub kept_stamp: Stamp,
    /// The server version at which the conflict was detected.
    pub at_version: u64,
    /// Whether someone has dealt with it (restored the lost value or dismissed it).
    pub resolved: bool,
}

impl Conflict {
    /// The log entry for `lost`, detected on `record_id` at `at_version`; `id` is a fresh
    /// id from the server, `lost_by` the user who made the losing edit.
    pub fn from_lost(
        id: Id,
        kind: RecordKind,
        record_id: Id,
        lost: LostWrite,
        lost_by: Option<Id>,
        at_version: u64,
    ) -> Conflict {
        Conflict {
            id,
            kind,
            record_id,
            field: lost.field,
            lost_value: lost.lost_value,
            lost_stamp: lost.lost_stamp,
            lost_by,
            kept_value: lost.kept_value,
            kept_stamp: lost.kept_stamp,
            at_version,
            resolved: false,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Merge rules.
// ---------------------------------------------------------------------------------------

/// How far ahead of the server's clock an edit's stamp may be, in milliseconds.
pub const MAX_CLOCK_AHEAD_MS: i64 = 60_000;

/// `incoming` with its wall time pulled back to `server_now_ms + MAX_CLOCK_AHEAD_MS` when
/// it is further ahead than that; counter and client are kept.
///
/// A phone whose clock is set a year ahead would otherwise win every same-field race for a
/// year. The result is never later than `incoming`, so clamping cannot make an edit win.
pub fn clamp_stamp(incoming: Stamp, server_now_ms: i64) -> Stamp {
    let limit = server_now_ms
        .saturating_add(MAX_CLOCK_AHEAD_MS)
        .clamp(0, crate::MAX_WALL_MS);
    if incoming.wall_ms > limit {
        Stamp {
            // `min` only matters for stamps built by hand with a negative wall time.
            wall_ms: limit.min(incoming.wall_ms),
            ..incoming
        }
    } else {
        incoming
    }
}

/// The fields a push never sets.
///
/// `id`, `created_at` and `updated_at` are bookkeeping: the server sets the first two when
/// the record is created ([`meta_fields`]) and `updated_at` whenever a field is written
/// ([`merge_record`]). `owner` and `team` decide who may see and write the record, so only
/// the server changes them, after its own authorization; [`merge_field`] is never called
/// for them. `logged_by` (visits and deals, see [`RecordKind::is_lead_history`]) is who
/// created the record, set by the server to the pushing user when it is created and never
/// changed afterwards, even when the record moves to another owner with its lead.
pub const SERVER_MANAGED: [&str; 6] = [
    "id",
    "owner",
    "team",
    "logged_by",
    "created_at",
    "updated_at",
];

/// Whether `field` is one of [`SERVER_MANAGED`], which [`merge_record`] skips.
pub fn is_server_managed(field: &str) -> bool {
    SERVER_MANAGED.contains(&field)
}

/// What to do with one pushed field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldOutcome {
    /// Store the incoming value.
    Write,
    /// Keep the stored value.
    Keep,
}

/// A value that lost a same-field race, before the server turns it into a [`Conflict`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostWrite {
    /// The field.
    pub field: String,
    /// The value that was not kept.
    pub lost_value: Value,
    /// The stamp of the losing edit.
    pub lost_stamp: Stamp,
    /// `true` when the incoming write lost; `false` when the stored value was overwritten.
    pub lost_by_incoming: bool,
    /// The value that was kept.
    pub kept_value: Value,
    /// The stamp of the winning edit.
    pub kept_stamp: Stamp,
}

/// The outcome for one pushed field, and what was lost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMerge {
    /// Write or keep.
    pub outcome: FieldOutcome,
    /// The losing value, when two edits raced and their values differ.
    pub conflict: Option<LostWrite>,
}

impl FieldMerge {
    const WRITE: FieldMerge = FieldMerge {
        outcome: FieldOutcome::Write,
        conflict: None,
    };
    const KEEP: FieldMerge = FieldMerge {
        outcome: FieldOutcome::Keep,
        conflict: None,
    };
}

/// Merges one pushed field into what is stored; `incoming_stamp` is the mutation's stamp
/// after [`clamp_stamp`].
///
/// - Nothing stored: write.
/// - Same value as stored: keep, unless the incoming stamp is later, then write. Nothing is
///   lost either way; taking the later stamp keeps a field's stamp the largest one applied,
///   so concurrent pushes give the same result in any order.
/// - The device had seen the stored write (`base` at or past the stored version), or the
///   stored write is the same device's own earlier edit (same stamp client, which it always
///   saw even before pulling the version): write without conflict, whatever the stamps say,
///   because the person edited on top of the stored value.
/// - Otherwise the edits were concurrent: the later stamp wins (wall time, counter, then
///   client id) and the other value is reported as lost.
///
/// The tombstone field `deleted` follows the same rule: a concurrent "restore" undoes a
/// delete only if it was made later. Edits to other fields of a deleted record do not touch
/// `deleted`, so they never bring the record back.
pub fn merge_field(
    field: &str,
    stored: Option<&FieldState>,
    incoming: &FieldWrite,
    incoming_stamp: Stamp,
) -> FieldMerge {
    let Some(stored) = stored else {
        return FieldMerge::WRITE;
    };
    if stored.value == incoming.value {
        return if incoming_stamp > stored.stamp {
            FieldMerge::WRITE
        } else {
            FieldMerge::KEEP
        };
    }
    let saw_stored = incoming.base.is_some_and(|base| base >= stored.version)
        || stored.stamp.client == incoming_stamp.client;
    if saw_stored {
        return FieldMerge::WRITE;
    }
    if incoming_stamp > stored.stamp {
        FieldMerge {
            outcome: FieldOutcome::Write,
            conflict: Some(LostWrite {
                field: field.to_string(),
                lost_value: stored.value.clone(),
                lost_stamp: stored.stamp,
                lost_by_incoming: false,
                kept_value: incoming.value.clone(),
                kept_stamp: incoming_stamp,
            }),
        }
    } else {
        FieldMerge {
            outcome: FieldOutcome::Keep,
            conflict: Some(LostWrite {
                field: field.to_string(),
                lost_value: incoming.value.clone(),
                lost_stamp: incoming_stamp,
                lost_by_incoming: true,
                kept_value: stored.value.clone(),
                kept_stamp: stored.stamp,
            }),
        }
    }
}

/// What one pushed mutation does to a stored record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMerge {
    /// The fields to store, stamped with the clamped stamp and the new version; includes
    /// `updated_at` whenever any other field is written.
    pub writes: BTreeMap<String, FieldState>,
    /// The values that lost a same-field race, for the conflict log.
    pub lost: Vec<LostWrite>,
}

impl RecordMerge {
    /// `stored` with the writes applied: the record as it will be stored, for validation.
    pub fn merged(&self, stored: &BTreeMap<String, FieldState>) -> BTreeMap<String, FieldState> {
        let mut fields = stored.clone();
        fields.extend(self.writes.clone());
        fields
    }
}

/// Merges `mutation` into the record stored as `stored`, field by field with
/// [`merge_field`], skipping [`SERVER_MANAGED`] fields.
///
/// The mutation's stamp is clamped to `server_now_ms` first. Written fields get
/// `new_version`, the version of the push being applied. When anything is written,
/// `updated_at` becomes the edit's wall time, or stays where it was if that is later, so it
/// never moves backwards when an edit made offline arrives late.
pub fn merge_record(
    stored: &BTreeMap<String, FieldState>,
    mutation: &PushMutation,
    server_now_ms: i64,
    new_version: u64,
) -> RecordMerge {
    let stamp = clamp_stamp(mutation.stamp, server_now_ms);
    let mut merge = RecordMerge::default();
    for (field, write) in &mutation.fields {
        if is_server_managed(field) {
            continue;
        }
        let FieldMerge { outcome, conflict } = merge_field(field, stored.get(field), write, stamp);
        if outcome == FieldOutcome::Write {
            let state = FieldState {
                value: write.value.clone(),
                stamp,
                version: new_version,
            };
            merge.writes.insert(field.clone(), state);
        }
        merge.lost.extend(conflict);
    }
    if !merge.writes.is_empty() {
        let previous = stored
            .get("updated_at")
            .and_then(|state| state.value.as_i64())
            .unwrap_or(i64::MIN);
        let state = FieldState {
            value: Value::from(previous.max(stamp.wall_ms)),
            stamp,
            version: new_version,
        };
        merge.writes.insert("updated_at".to_string(), state);
    }
    merge
}

/// The server-managed fields of a record being created (or reassigned): `id`, `owner`,
/// `team` and `created_at` from `meta`, stamped with `stamp` at `version`.
///
/// The server builds `meta` itself: the pushed id, the pushing user (or whoever it assigns)
/// and team, and the creation time it trusts (for example the clamped stamp's wall time).
pub fn meta_fields(meta: &RecordMeta, stamp: Stamp, version: u64) -> BTreeMap<String, FieldState> {
    let id = |id: Option<Id>| id.map_or(Value::Null, |id| Value::String(id.to_string()));
    [
        ("id", id(Some(meta.id))),
        ("owner", id(meta.owner)),
        ("team", id(meta.team)),
        ("created_at", Value::from(meta.created_at)),
    ]
    .into_iter()
    .map(|(field, value)| {
        let state = FieldState {
            value,
            stamp,
            version,
        };
        (field.to_string(), state)
    })
    .collect()
}

/// The stored fields' values as one JSON object, as [`validate_record`] takes it.
pub fn field_values(fields: &BTreeMap<String, FieldState>) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(field, state)| (field.clone(), state.value.clone()))
            .collect(),
    )
}

/// The typed record from its stored fields; fields it lacks take the type's defaults, and
/// a malformed value fails the whole record.
pub fn materialize<T: Record>(
    fields: &BTreeMap<String, FieldState>,
) -> Result<T, serde_json::Error> {
    serde_json::from_value(field_values(fields))
}

/// [`materialize`] for a kind known only at run time, serialized back to JSON: the
/// record in the domain's normal form, as [`RecordChange::record`] carries it.
pub fn materialize_kind(
    kind: RecordKind,
    fields: &BTreeMap<String, FieldState>,
) -> Result<Value, serde_json::Error> {
    struct Materialize<'a>(&'a BTreeMap<String, FieldState>);
    impl ForKind for Materialize<'_> {
        type Output = Result<Value, serde_json::Error>;
        fn run<T: Record>(self) -> Self::Output {
            serde_json::to_value(materialize::<T>(self.0)?)
        }
    }
    kind.with_type(Materialize(fields))
}

/// Who sees a record of `kind` whose fields are `object` ([`Record::reach`]), for the
/// server, which holds records as fields.
pub fn reach_of(kind: RecordKind, object: &Value) -> Result<crate::Reach, serde_json::Error> {
    struct ReachOf<'a>(&'a Value);
    impl ForKind for ReachOf<'_> {
        type Output = Result<crate::Reach, serde_json::Error>;
        fn run<T: Record>(self) -> Self::Output {
            Ok(T::deserialize(self.0)?.reach())
        }
    }
    kind.with_type(ReachOf(object))
}

/// The attachments a record of `kind` whose fields are `object` names
/// ([`Record::attachments`]), for the server, which holds records as fields.
pub fn attachments_of(
    kind: RecordKind,
    object: &Value,
) -> Result<Vec<crate::Sha256>, serde_json::Error> {
    struct AttachmentsOf<'a>(&'a Value);
    impl ForKind for AttachmentsOf<'_> {
        type Output = Result<Vec<crate::Sha256>, serde_json::Error>;
        fn run<T: Record>(self) -> Self::Output {
            let record = T::deserialize(self.0)?;
            Ok(record.attachments().into_iter().cloned().collect())
        }
    }
    kind.with_type(AttachmentsOf(object))
}

// ---------------------------------------------------------------------------------------
// Validation on the server.
// ---------------------------------------------------------------------------------------

/// The zone in which the server checks visit dates: UTC−12, the earliest local date
/// anywhere. The form checks "follow-up not before the visit's day" in the user's zone,
/// which the server does not know; in the earliest zone the visit's day is earliest, so
/// the server never refuses a visit the form accepted.
const LENIENT_OFFSET_MINUTES: i32 = -720;

/// Checks a whole record (`object`, e.g. [`field_values`] of the merged fields) against
/// the rules the forms enforce, naming the first offending field.
///
/// There is one validation code path: the object is read as the typed record (phones,
/// emails, amounts and the like refuse bad values while deserializing), turned back into
/// the form's draft (`LeadDraft::from_lead` and friends) and parsed again with the form's
/// own parser, which adds what types alone do not enforce (a required, at most 100
/// character name, text limits, non-negative amounts, date ranges). That round trip is
/// exact for every record a form produces, so the result must equal the record; a
/// difference means a value the form could not have produced.
///
/// Also refused: fields the record type does not have, and values not in the form the
/// record type writes them (an email with an upper-case domain, a phone with spaces), so
/// that every device holds, and compares, the same spelling.
///
/// A value of the right type that no form produces and no message key describes (such as
/// text with surrounding spaces, or a field the type lacks) is reported as
/// [`Invalid::UnknownOption`]; only a client other than the app can send one. An `object`
/// that is not a JSON object is reported with an empty field name.
pub fn validate_record(kind: RecordKind, object: &Value) -> Result<(), (String, Invalid)> {
    struct Validate<'a>(&'a Value);
    impl ForKind for Validate<'_> {
        type Output = Result<(), (String, Invalid)>;
        fn run<T: Record>(self) -> Self::Output {
            check_round_trip::<T>(self.0, &T::template(), T::reparse)
        }
    }
    kind.with_type(Validate(object))
}

pub(crate) fn reparse_lead(lead: &Lead) -> Result<Lead, ValidationErrors> {
    LeadDraft::from_lead(lead).parse(&lead.meta(), lead.updated_at)
}

pub(crate) fn reparse_visit(visit: &Visit) -> Result<Visit, ValidationErrors> {
    VisitDraft::from_visit(visit, LENIENT_OFFSET_MINUTES).parse(
        &visit.meta(),
        visit.updated_at,
        LENIENT_OFFSET_MINUTES,
    )
}

pub(crate) fn reparse_deal(deal: &Deal) -> Result<Deal, ValidationErrors> {
    DealDraft::from_deal(deal).parse(&deal.meta(), deal.updated_at)
}

fn check_round_trip<T: Record + PartialEq>(
    object: &Value,
    template: &Map<String, Value>,
    reparse: impl Fn(&T) -> Result<T, ValidationErrors>,
) -> Result<(), (String, Invalid)> {
    let Value::Object(fields) = object else {
        return Err((String::new(), Invalid::UnknownOption));
    };
    let record: T =
        serde_json::from_value(object.clone()).map_err(|e| locate::<T>(fields, template, &e))?;
    let normal = to_object(&record).map_err(|_| (String::new(), Invalid::UnknownOption))?;
    for (field, value) in fields {
        match normal.get(field) {
            None => return Err((field.clone(), Invalid::UnknownOption)),
            Some(written) if written != value => {
                return Err((field.clone(), field_reason(field)));
            }
            Some(_) => {}
        }
    }
    let mut again = reparse(&record).map_err(|errors| match errors.iter().next() {
        Some(error) => (error.field.to_string(), error.reason),
        None => (String::new(), Invalid::UnknownOption),
    })?;
    // Drafts do not hold the tombstone: a parsed record is never deleted.
    if record.is_deleted() {
        again.mark_deleted(record.updated_at());
    }
    if again == record {
        return Ok(());
    }
    let differs = crate::changed_fields(Some(&record), &again)
        .ok()
        .and_then(|fields| fields.into_keys().next())
        .unwrap_or_default();
    let reason = field_reason(&differs);
    Err((differs, reason))
}

/// Finds which field made the whole record fail to deserialize, by trying each field alone
/// on a minimal valid record of the type.
fn locate<T: DeserializeOwned>(
    fields: &Map<String, Value>,
    template: &Map<String, Value>,
    error: &serde_json::Error,
) -> (String, Invalid) {
    let message = error.to_string();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return (field.to_string(), Invalid::Required);
    }
    for (field, value) in fields {
        let mut probe = template.clone();
        probe.insert(field.clone(), value.clone());
        if let Err(error) = serde_json::from_value::<T>(Value::Object(probe)) {
            return (field.clone(), reason_from(&error.to_string(), field));
        }
    }
    (String::new(), reason_from(&message, ""))
}

/// The reason a value parser gave, when the message is one of [`Invalid`]'s (value types
/// deserialize through their parsers, so their errors carry the parser's reason).
fn reason_from(message: &str, field: &str) -> Invalid {
    Invalid::WITHOUT_DATA
        .into_iter()
        .find(|reason| reason.to_string() == message)
        .unwrap_or_else(|| field_reason(field))
}

/// The closest message key for a bad value in `field` when no parser said why.
fn field_reason(field: &str) -> Invalid {
    match field {
        "phones" => Invalid::Phone,
        "email" => Invalid::Email,
        "tags" => Invalid::Tag,
        "location" | "check_in" => Invalid::LatLng,
        "expected_value" | "amount" => Invalid::Amount,
        "expected_close" | "next_follow_up" | "closed_on" => Invalid::Date,
        "started_at" | "created_at" | "updated_at" => Invalid::DateTime,
        "duration_min" => Invalid::Duration,
        "id" | "lead_id" | "referred_by" | "owner" | "team" | "materials" | "item_id"
        | "session_id" | "items" | "invited" | "attended" | "assigned" | "rep" => Invalid::Id,
        "period" => Invalid::Date,
        "value" => Invalid::Count,
        "at" => Invalid::DateTime,
        "prob_prospecting" | "prob_needs_analysis" | "prob_presentation" | "prob_negotiation" => {
            Invalid::Percent
        }
        "quiz" | "answers" | "percent" => Invalid::Quiz,
        "rating" | "usefulness" => Invalid::Rating,
        "follow_up_a" | "follow_up_b" | "follow_up_c" | "follow_up_d" => Invalid::FollowUpDays,
        "attachments" | "photos" => Invalid::Attachment,
        "starts_at" | "opened_at" | "completed_at" | "confirmed_at" | "published_at"
        | "submitted_at" => Invalid::DateTime,
        _ => Invalid::UnknownOption,
    }
}

/// A minimal valid record of a type, as a JSON object, for [`locate`] to probe with.
fn template(fields: Vec<(&str, Value)>) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("id".to_string(), nil_id());
    for (field, value) in fields {
        map.insert(field.to_string(), value);
    }
    map
}

fn nil_id() -> Value {
    Value::String(Id::from_uuid(uuid::Uuid::nil()).to_string())
}

pub(crate) fn lead_template() -> Map<String, Value> {
    template(vec![("name", Value::from("-"))])
}

pub(crate) fn training_item_template() -> Map<String, Value> {
    template(vec![("title", Value::from("-"))])
}

pub(crate) fn training_session_template() -> Map<String, Value> {
    template(vec![
        ("title", Value::from("-")),
        ("starts_at", Value::from(0)),
    ])
}

pub(crate) fn target_template() -> Map<String, Value> {
    template(vec![
        ("period", Value::from("2026-01")),
        ("metric", Value::from("visits")),
        ("value", Value::from(0)),
    ])
}

pub(crate) fn stage_change_template() -> Map<String, Value> {
    template(vec![
        ("lead_id", nil_id()),
        ("to", Value::from("prospecting")),
        ("at", Value::from(0)),
    ])
}

pub(crate) fn team_settings_template() -> Map<String, Value> {
    template(Vec::new())
}

pub(crate) fn training_record_template() -> Map<String, Value> {
    template(vec![("item_id", nil_id())])
}

pub(crate) fn quiz_attempt_template() -> Map<String, Value> {
    template(vec![("item_id", nil_id())])
}

pub(crate) fn visit_template() -> Map<String, Value> {
    template(vec![("lead_id", nil_id()), ("started_at", Value::from(0))])
}

pub(crate) fn deal_template() -> Map<String, Value> {
    let amount = Money {
        minor: 0,
        currency: Currency::default(),
    };
    let mut money = Map::new();
    money.insert("minor".to_string(), Value::from(amount.minor));
    money.insert(
        "currency".to_string(),
        Value::from(amount.currency.to_string()),
    );
    template(vec![
        ("lead_id", nil_id()),
        ("product", Value::from("-")),
        ("amount", Value::Object(money)),
        ("closed_on", Value::from("2000-01-01")),
    ])
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::{date, id, lead};
    use crate::{changed_fields, DealStatus, Phone, Stage};
    use proptest::prelude::*;

    const NOW: i64 = 1_709_600_000_000;
    const YEAR_MS: i64 = 365 * 86_400_000;

    fn client(n: u8) -> Id {
        Id::from_parts(1_600_000_000_000, [n; 10])
    }

    fn stamp(wall_ms: i64, counter: u32, device: u8) -> Stamp {
        Stamp::new(wall_ms, counter, client(device))
    }

    fn state(value: impl Into<Value>, stamp: Stamp, version: u64) -> FieldState {
        FieldState {
            value: value.into(),
            stamp,
            version,
        }
    }

    fn write(value: impl Into<Value>, base: Option<u64>) -> FieldWrite {
        FieldWrite {
            value: value.into(),
            base,
        }
    }

    fn push(seq: u64, stamp: Stamp, fields: Vec<(&str, FieldWrite)>) -> PushMutation {
        PushMutation {
            seq,
            kind: RecordKind::Lead,
            record_id: id(1),
            stamp,
            fields: fields
                .into_iter()
                .map(|(f, w)| (f.to_string(), w))
                .collect(),
        }
    }

    /// The stored fields of `record`, all written at `stamp` and `version`.
    fn stored_fields<T: Record>(
        record: &T,
        stamp: Stamp,
        version: u64,
    ) -> BTreeMap<String, FieldState> {
        to_object(record)
            .unwrap()
            .into_iter()
            .map(|(field, value)| (field, state(value, stamp, version)))
            .collect()
    }

    #[test]
    fn protocol_versions() {
        assert!(is_supported_protocol(PROTOCOL_VERSION));
        assert!(is_supported_protocol(PROTOCOL_VERSION - 1));
        assert!(!is_supported_protocol(PROTOCOL_VERSION + 1));
        assert!(!is_supported_protocol(u32::MAX));
    }

    #[test]
    fn nothing_stored_is_written() {
        let merge = merge_field("name", None, &write("Li", None), stamp(NOW, 0, 1));
        assert_eq!(merge, FieldMerge::WRITE);
    }

    #[test]
    fn same_value_is_kept_unless_newer() {
        let stored = state("Li", stamp(NOW, 0, 1), 5);
        let older = merge_field(
            "name",
            Some(&stored),
            &write("Li", None),
            stamp(NOW - 1, 0, 2),
        );
        assert_eq!(older, FieldMerge::KEEP);
        let newer = merge_field(
            "name",
            Some(&stored),
            &write("Li", None),
            stamp(NOW + 1, 0, 2),
        );
        assert_eq!(newer, FieldMerge::WRITE);
    }

    #[test]
    fn causal_edit_with_an_older_clock_still_wins() {
        // The device saw version 5 and edited on top of it; its clock merely lags.
        let stored = state("Li", stamp(NOW, 0, 1), 5);
        let incoming = write("Li Wei", Some(5));
        let merge = merge_field(
            "name",
            Some(&stored),
            &incoming,
            stamp(NOW - 3_600_000, 0, 2),
        );
        assert_eq!(merge, FieldMerge::WRITE);
        // A base past the stored version (never sent by a well-behaved device) is causal too.
        let ahead = write("Li Wei", Some(9));
        let merge = merge_field("name", Some(&stored), &ahead, stamp(NOW - 1, 0, 2));
        assert_eq!(merge, FieldMerge::WRITE);
    }

    #[test]
    fn concurrent_later_edit_wins_and_logs_the_stored_value() {
        let stored = state("Li", stamp(NOW, 0, 1), 5);
        for base in [None, Some(4)] {
            let incoming = write("Wang", base);
            let merge = merge_field("name", Some(&stored), &incoming, stamp(NOW + 10, 0, 2));
            assert_eq!(merge.outcome, FieldOutcome::Write);
            assert_eq!(
                merge.conflict,
                Some(LostWrite {
                    field: "name".into(),
                    lost_value: "Li".into(),
                    lost_stamp: stored.stamp,
                    lost_by_incoming: false,
                    kept_value: "Wang".into(),
                    kept_stamp: stamp(NOW + 10, 0, 2),
                })
            );
        }
    }

    #[test]
    fn concurrent_earlier_edit_loses_and_is_logged() {
        let stored = state("Li", stamp(NOW, 0, 1), 5);
        let merge = merge_field(
            "name",
            Some(&stored),
            &write("Wang", Some(3)),
            stamp(NOW - 10, 0, 2),
        );
        assert_eq!(merge.outcome, FieldOutcome::Keep);
        let lost = merge.conflict.unwrap();
        assert!(lost.lost_by_incoming);
        assert_eq!(
            (lost.lost_value, lost.lost_stamp),
            ("Wang".into(), stamp(NOW - 10, 0, 2))
        );
        assert_eq!(
            (lost.kept_value, lost.kept_stamp),
            ("Li".into(), stored.stamp)
        );
    }

    #[test]
    fn ties_are_broken_by_client_id() {
        let stored = state("Li", stamp(NOW, 3, 5), 5);
        let lower = merge_field("name", Some(&stored), &write("A", None), stamp(NOW, 3, 4));
        assert_eq!(lower.outcome, FieldOutcome::Keep);
        assert!(lower.conflict.unwrap().lost_by_incoming);
        let higher = merge_field("name", Some(&stored), &write("B", None), stamp(NOW, 3, 6));
        assert_eq!(higher.outcome, FieldOutcome::Write);
        assert!(!higher.conflict.unwrap().lost_by_incoming);
    }

    #[test]
    fn a_device_never_conflicts_with_itself() {
        // Two edits from one device before it pulled: the second has no base for the field,
        // but the device saw its own first edit.
        let stored = state("first", stamp(NOW, 0, 1), 5);
        let merge = merge_field(
            "notes",
            Some(&stored),
            &write("second", None),
            stamp(NOW + 5, 0, 1),
        );
        assert_eq!(merge, FieldMerge::WRITE);
    }

    #[test]
    fn clamp_limits_clocks_ahead() {
        let fine = stamp(NOW + MAX_CLOCK_AHEAD_MS, 4, 1);
        assert_eq!(clamp_stamp(fine, NOW), fine);
        let behind = stamp(NOW - YEAR_MS, 4, 1);
        assert_eq!(clamp_stamp(behind, NOW), behind);
        let ahead = stamp(NOW + YEAR_MS, 4, 1);
        assert_eq!(
            clamp_stamp(ahead, NOW),
            stamp(NOW + MAX_CLOCK_AHEAD_MS, 4, 1)
        );
        let hand_made = Stamp {
            wall_ms: -5,
            ..ahead
        };
        assert_eq!(clamp_stamp(hand_made, -MAX_CLOCK_AHEAD_MS - 100), hand_made);
    }

    #[test]
    fn a_clock_a_year_ahead_loses_to_a_later_real_edit() {
        let created = state("prospecting", stamp(NOW - 1_000, 0, 1), 1);
        let stored: BTreeMap<String, FieldState> = [("stage".to_string(), created)].into();

        // Device 2's clock is a year ahead; it edits the stage without having pulled.
        let wrong_clock = push(
            1,
            stamp(NOW + YEAR_MS, 0, 2),
            vec![("stage", write("won", Some(1)))],
        );
        let first = merge_record(&stored, &wrong_clock, NOW, 2);
        assert_eq!(
            first.writes["stage"].stamp,
            stamp(NOW + MAX_CLOCK_AHEAD_MS, 0, 2)
        );
        let stored = first.merged(&stored);

        // Two minutes later, device 3 (right clock, also based on version 1) edits it too.
        let later = NOW + 120_000;
        let real = push(
            1,
            stamp(later, 0, 3),
            vec![("stage", write("lost", Some(1)))],
        );
        let second = merge_record(&stored, &real, later, 3);
        assert_eq!(second.writes["stage"].value, Value::from("lost"));
        assert_eq!(second.lost.len(), 1);
        assert_eq!(second.lost[0].lost_value, Value::from("won"));
        assert!(!second.lost[0].lost_by_incoming);

        // Unclamped, the wrong clock would have won for a year.
        let unclamped = merge_field(
            "stage",
            Some(&state("won", stamp(NOW + YEAR_MS, 0, 2), 2)),
            &write("lost", Some(1)),
            stamp(later, 0, 3),
        );
        assert_eq!(unclamped.outcome, FieldOutcome::Keep);
    }

    #[test]
    fn deletes_follow_the_later_stamp_and_edits_do_not_resurrect() {
        let li = lead(1, "Li");
        let mut stored = stored_fields(&li, stamp(NOW, 0, 1), 1);
        let delete = push(
            1,
            stamp(NOW + 100, 0, 2),
            vec![("deleted", write(true, Some(1)))],
        );
        stored = merge_record(&stored, &delete, NOW + 100, 2).merged(&stored);

        // A concurrent restore made before the delete loses.
        let restore = push(
            1,
            stamp(NOW + 50, 0, 3),
            vec![("deleted", write(false, Some(1)))],
        );
        let merge = merge_record(&stored, &restore, NOW + 200, 3);
        assert!(merge.writes.is_empty());
        assert_eq!(merge.lost[0].lost_value, Value::from(false));

        // A concurrent edit of another field is kept, but the lead stays in the trash.
        let edit = push(
            2,
            stamp(NOW + 60, 0, 3),
            vec![("notes", write("call back", Some(1)))],
        );
        stored = merge_record(&stored, &edit, NOW + 200, 3).merged(&stored);
        let lead: Lead = materialize(&stored).unwrap();
        assert!(lead.deleted);
        assert_eq!(lead.notes, "call back");

        // A restore made after the delete wins.
        let restore = push(
            2,
            stamp(NOW + 300, 0, 3),
            vec![("deleted", write(false, Some(1)))],
        );
        stored = merge_record(&stored, &restore, NOW + 300, 4).merged(&stored);
        assert!(!materialize::<Lead>(&stored).unwrap().deleted);
    }

    #[test]
    fn server_managed_fields() {
        for field in [
            "id",
            "owner",
            "team",
            "logged_by",
            "created_at",
            "updated_at",
        ] {
            assert!(is_server_managed(field), "{field}");
        }
        for field in ["name", "deleted", "stage", "lead_id"] {
            assert!(!is_server_managed(field), "{field}");
        }
    }

    #[test]
    fn logged_by_survives_the_forms_and_no_device_writes_it() {
        let visit = Visit {
            logged_by: Some(id(7)),
            ..visit()
        };
        let again = VisitDraft::from_visit(&visit, 480).parse(&visit.meta(), visit.updated_at, 480);
        assert_eq!(again, Ok(visit.clone()));
        let object = serde_json::to_value(&visit).unwrap();
        assert_eq!(object["logged_by"], Value::String(id(7).to_string()));
        assert_eq!(validate_record(RecordKind::Visit, &object), Ok(()));
        let deal = Deal {
            logged_by: Some(id(7)),
            ..deal()
        };
        assert_eq!(
            DealDraft::from_deal(&deal).parse(&deal.meta(), deal.updated_at),
            Ok(deal.clone())
        );
        let object = serde_json::to_value(&deal).unwrap();
        assert_eq!(validate_record(RecordKind::Deal, &object), Ok(()));
        // Records stored before the field existed read as "not known".
        let mut old = serde_json::to_value(&deal).unwrap();
        old.as_object_mut().unwrap().remove("logged_by");
        assert_eq!(serde_json::from_value::<Deal>(old).unwrap().logged_by, None);
        // Leads have no such field.
        assert_eq!(
            validate_record(
                RecordKind::Lead,
                &lead_with("logged_by", Value::String(id(7).to_string()))
            ),
            Err(("logged_by".to_string(), Invalid::UnknownOption))
        );

        // A device's write of it is skipped like the owner's.
        let stored = stored_fields(&visit, stamp(NOW, 0, 1), 4);
        let forged = PushMutation {
            kind: RecordKind::Visit,
            record_id: visit.id,
            ..push(
                1,
                stamp(NOW + 5, 0, 2),
                vec![("logged_by", write(id(8).to_string(), Some(4)))],
            )
        };
        assert_eq!(
            merge_record(&stored, &forged, NOW, 5),
            RecordMerge::default()
        );
        assert!(RecordKind::Visit.is_lead_history() && RecordKind::Deal.is_lead_history());
        assert!(!RecordKind::Lead.is_lead_history());
    }

    #[test]
    fn merge_record_skips_server_fields_and_stamps_writes() {
        let li = lead(1, "Li");
        let stored = stored_fields(&li, stamp(NOW, 0, 1), 4);
        let owner = Value::String(id(9).to_string());
        let mutation = push(
            7,
            stamp(NOW + YEAR_MS, 2, 2),
            vec![
                ("owner", write(owner, Some(4))),
                ("id", write(id(8).to_string(), Some(4))),
                ("created_at", write(0, Some(4))),
                ("updated_at", write(0, Some(4))),
                ("grade", write("a", Some(4))),
                ("name", write("Li", None)),
            ],
        );
        let merge = merge_record(&stored, &mutation, NOW, 5);
        let clamped = stamp(NOW + MAX_CLOCK_AHEAD_MS, 2, 2);
        // The unchanged name is restamped (a later stamp for the same value), not logged.
        assert_eq!(
            merge.writes.keys().collect::<Vec<_>>(),
            ["grade", "name", "updated_at"]
        );
        assert_eq!(merge.writes["name"], state("Li", clamped, 5));
        assert_eq!(merge.writes["grade"], state("a", clamped, 5));
        assert_eq!(
            merge.writes["updated_at"],
            state(NOW + MAX_CLOCK_AHEAD_MS, clamped, 5)
        );
        assert!(merge.lost.is_empty());
        let merged: Lead = materialize(&merge.merged(&stored)).unwrap();
        assert_eq!((merged.id, merged.owner), (li.id, li.owner));

        // updated_at never goes backwards when an old offline edit arrives.
        let late = push(8, stamp(1_000, 0, 2), vec![("grade", write("b", Some(5)))]);
        let merge = merge_record(&merge.merged(&stored), &late, NOW, 6);
        assert_eq!(merge.writes["grade"].value, Value::from("b"));
        assert_eq!(
            merge.writes["updated_at"].value,
            Value::from(NOW + MAX_CLOCK_AHEAD_MS)
        );

        let nothing = push(
            9,
            stamp(NOW - 1, 0, 2),
            vec![("name", write("Li", Some(4)))],
        );
        assert_eq!(
            merge_record(&stored, &nothing, NOW, 7),
            RecordMerge::default()
        );
    }

    #[test]
    fn creating_a_record_from_a_push() {
        // The device's create: every field but id and updated_at, as the outbox holds it.
        let li = lead(1, "Li");
        let mutation = Mutation {
            seq: 1,
            kind: RecordKind::Lead,
            record_id: li.id,
            fields: changed_fields(None, &li).unwrap(),
            stamp: stamp(NOW, 0, 2),
        };
        let pushed = mutation.to_push(&BTreeMap::new());
        assert!(pushed.fields.values().all(|w| w.base.is_none()));
        let meta = RecordMeta {
            owner: Some(id(7)),
            ..RecordMeta::new(li.id, NOW)
        };
        let stored = meta_fields(&meta, pushed.stamp, 1);
        let merge = merge_record(&stored, &pushed, NOW, 1);
        let fields = merge.merged(&stored);
        assert_eq!(
            validate_record(RecordKind::Lead, &field_values(&fields)),
            Ok(())
        );
        let created: Lead = materialize(&fields).unwrap();
        assert_eq!(
            created,
            Lead {
                owner: Some(id(7)),
                created_at: NOW,
                updated_at: NOW,
                ..li
            }
        );

        let change = RecordChange::build(RecordKind::Lead, li.id, &fields, vec![]).unwrap();
        assert_eq!(change.version, 1);
        assert_eq!(change.record, serde_json::to_value(&created).unwrap());
        assert_eq!(change.field_versions.len(), fields.len());
        assert!(RecordChange::build(RecordKind::Deal, li.id, &fields, vec![]).is_err());
    }

    #[test]
    fn to_push_takes_bases_from_the_last_pull() {
        let mutation = Mutation {
            seq: 3,
            kind: RecordKind::Visit,
            record_id: id(2),
            fields: [
                ("notes".to_string(), Value::from("ok")),
                ("outcome".to_string(), Value::from("won")),
            ]
            .into(),
            stamp: stamp(NOW, 1, 1),
        };
        let base = [("notes".to_string(), 12), ("photos".to_string(), 3)].into();
        let pushed = mutation.to_push(&base);
        assert_eq!(
            (pushed.seq, pushed.kind, pushed.record_id),
            (3, RecordKind::Visit, id(2))
        );
        assert_eq!(pushed.stamp, mutation.stamp);
        assert_eq!(pushed.fields["notes"], write("ok", Some(12)));
        assert_eq!(pushed.fields["outcome"], write("won", None));
        assert_eq!(pushed.fields.len(), 2);
    }

    #[test]
    fn conflicts_from_lost_writes() {
        let lost = LostWrite {
            field: "name".into(),
            lost_value: "Li".into(),
            lost_stamp: stamp(NOW, 0, 1),
            lost_by_incoming: true,
            kept_value: "Wang".into(),
            kept_stamp: stamp(NOW + 1, 0, 2),
        };
        let conflict = Conflict::from_lost(id(5), RecordKind::Lead, id(1), lost, Some(id(6)), 42);
        assert_eq!(conflict.field, "name");
        assert_eq!(
            (conflict.lost_value, conflict.kept_value),
            ("Li".into(), "Wang".into())
        );
        assert_eq!(
            (conflict.lost_by, conflict.at_version, conflict.resolved),
            (Some(id(6)), 42, false)
        );
    }

    #[test]
    fn reject_reasons_are_tagged() {
        let reason = RejectReason::invalid("phones", Invalid::Phone);
        assert_eq!(
            serde_json::to_value(&reason).unwrap(),
            serde_json::json!({"kind": "invalid", "field": "phones", "key": "error.phone"})
        );
        assert_eq!(
            serde_json::to_value(RejectReason::UnknownRecord).unwrap(),
            serde_json::json!({"kind": "unknown_record"})
        );
        assert_eq!(
            serde_json::to_value(RejectReason::Malformed { detail: "x".into() }).unwrap(),
            serde_json::json!({"kind": "malformed", "detail": "x"})
        );
    }

    #[test]
    fn reject_reasons_read_back_and_need_their_fields() {
        let all = [
            RejectReason::invalid("phones", Invalid::Phone),
            RejectReason::Forbidden,
            RejectReason::UnknownRecord,
            RejectReason::Malformed { detail: "x".into() },
            RejectReason::TooLarge { max_bytes: 1 << 40 },
        ];
        for reason in all {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(serde_json::from_str::<RejectReason>(&json).unwrap(), reason);
        }
        let read = |json: serde_json::Value| serde_json::from_value::<RejectReason>(json);
        // Fields of other variants and unknown fields are ignored, as by the tagged derive.
        assert_eq!(
            read(serde_json::json!({"kind": "forbidden", "detail": "x", "extra": 1})).unwrap(),
            RejectReason::Forbidden
        );
        for refused in [
            serde_json::json!({"kind": "invalid", "field": "phones"}),
            serde_json::json!({"kind": "invalid", "field": "phones", "key": null}),
            serde_json::json!({"kind": "malformed"}),
            serde_json::json!({"kind": "too_large", "max_bytes": -1}),
            serde_json::json!({"kind": "gone"}),
            serde_json::json!({"field": "phones", "key": "error.phone"}),
            serde_json::json!("forbidden"),
        ] {
            assert!(read(refused.clone()).is_err(), "{refused} was read");
        }
    }

    #[test]
    fn cursor_text() {
        let cursor = Cursor {
            version: 42,
            kind: RecordKind::Lead,
            record_id: id(1),
        };
        let text = cursor.to_string();
        assert_eq!(text, format!("v00000000000000000042-lead-{}", id(1)));
        assert_eq!(text.parse::<Cursor>(), Ok(cursor));
        assert_eq!(
            serde_json::to_value(cursor).unwrap(),
            Value::String(text.clone())
        );
        let max = Cursor {
            version: MAX_VERSION,
            ..cursor
        };
        assert_eq!(Cursor::parse(&max.to_string()), Ok(max));
        for beyond in [MAX_VERSION + 1, u64::MAX] {
            let made_up = Cursor {
                version: beyond,
                ..cursor
            };
            assert_eq!(Cursor::parse(&made_up.to_string()), Err(CursorError));
        }
        for bad in [
            String::new(),
            "garbage".to_string(),
            text.replacen('v', "x", 1),
            text.replacen("00000000000000000042", "42", 1),
            text.replacen("00000000000000000042", "9999999999999999999a", 1),
            text.replacen("00000000000000000042", "99999999999999999999", 1),
            text.replacen("lead", "note", 1),
            text.replacen("lead", "Lead", 1),
            text.to_uppercase(),
            format!("{text}-"),
        ] {
            assert_eq!(Cursor::parse(&bad), Err(CursorError), "{bad}");
        }
        assert!(serde_json::from_str::<Cursor>("\"v1-lead-x\"").is_err());
    }

    #[test]
    fn valid_records_pass() {
        let li = lead(1, "Li");
        let object = serde_json::to_value(&li).unwrap();
        assert_eq!(validate_record(RecordKind::Lead, &object), Ok(()));
        let deleted = Lead {
            deleted: true,
            ..li.clone()
        };
        let object = serde_json::to_value(&deleted).unwrap();
        assert_eq!(validate_record(RecordKind::Lead, &object), Ok(()));
        // Old records may lack fields that have defaults.
        let sparse = serde_json::json!({"id": li.id.to_string(), "name": "Li"});
        assert_eq!(validate_record(RecordKind::Lead, &sparse), Ok(()));

        assert_eq!(
            validate_record(RecordKind::Visit, &serde_json::to_value(visit()).unwrap()),
            Ok(())
        );
        assert_eq!(
            validate_record(RecordKind::Deal, &serde_json::to_value(deal()).unwrap()),
            Ok(())
        );
    }

    fn visit() -> Visit {
        VisitDraft {
            lead_id: Some(id(1)),
            date: "2024-03-05".into(),
            time: "07:30".into(),
            next_follow_up: "2024-03-05".into(),
            notes: "演示顺利".into(),
            ..VisitDraft::default()
        }
        .parse(&RecordMeta::new(id(2), NOW), NOW, 480)
        .unwrap()
    }

    fn deal() -> Deal {
        DealDraft {
            lead_id: Some(id(1)),
            product: "X200".into(),
            amount: "1200".into(),
            closed_on: "2024-03-05".into(),
            status: DealStatus::Won,
            ..DealDraft::default()
        }
        .parse(&RecordMeta::new(id(3), NOW), NOW)
        .unwrap()
    }

    fn lead_with(field: &str, value: Value) -> Value {
        let mut object = serde_json::to_value(lead(1, "Li")).unwrap();
        object[field] = value;
        object
    }

    #[test]
    fn invalid_leads_name_the_field() {
        let check =
            |field: &str, value: Value| validate_record(RecordKind::Lead, &lead_with(field, value));
        let err = |field: &str, reason| Err((field.to_string(), reason));
        assert_eq!(
            check("phones", serde_json::json!(["12"])),
            err("phones", Invalid::Phone)
        );
        assert_eq!(check("email", "nope".into()), err("email", Invalid::Email));
        assert_eq!(
            check("stage", "closed".into()),
            err("stage", Invalid::UnknownOption)
        );
        assert_eq!(check("id", "x".into()), err("id", Invalid::Id));
        assert_eq!(check("name", "".into()), err("name", Invalid::Required));
        assert_eq!(check("name", "   ".into()), err("name", Invalid::Required));
        assert_eq!(
            check("name", "n".repeat(101).into()),
            err("name", Invalid::TooLong { max: 100 })
        );
        assert_eq!(check("name", "n".repeat(100).into()), Ok(()));
        assert_eq!(check("name", 5.into()), err("name", Invalid::UnknownOption));
        assert_eq!(
            check("notes", "n".repeat(10_001).into()),
            err("notes", Invalid::TooLong { max: 10_000 })
        );
        assert_eq!(
            check(
                "expected_value",
                serde_json::json!({"minor": -1, "currency": "CNY"})
            ),
            err("expected_value", Invalid::AmountNegative)
        );
        assert_eq!(
            check(
                "expected_value",
                serde_json::json!({"minor": 1, "currency": "yuan"})
            ),
            err("expected_value", Invalid::Currency)
        );
        assert_eq!(
            check("next_follow_up", "1800-01-01".into()),
            err("next_follow_up", Invalid::DateOutOfRange)
        );
        assert_eq!(
            check("next_follow_up", "2024-02-30".into()),
            err("next_follow_up", Invalid::Date)
        );
        assert_eq!(
            check("referred_by", id(1).to_string().into()),
            err("referred_by", Invalid::Id)
        );
        assert_eq!(
            check("location", serde_json::json!({"lat": 91.0, "lng": 0.0})),
            err("location", Invalid::LatLng)
        );
        assert_eq!(
            check("tags", serde_json::json!(["x".repeat(33)])),
            err("tags", Invalid::Tag)
        );

        // Values the types accept but the form would have written differently.
        assert_eq!(
            check("name", " Li ".into()),
            err("name", Invalid::UnknownOption)
        );
        assert_eq!(
            check("phones", serde_json::json!(["13800138000", "13800138000"])),
            err("phones", Invalid::Phone)
        );
        assert_eq!(
            check("phones", serde_json::json!([" 138 0013 8000"])),
            err("phones", Invalid::Phone)
        );
        assert_eq!(
            check("email", "a@B.cn".into()),
            err("email", Invalid::Email)
        );
        assert_eq!(
            check("tags", serde_json::json!(["a", "A"])),
            err("tags", Invalid::Tag)
        );
        assert_eq!(
            check("shoe_size", 42.into()),
            err("shoe_size", Invalid::UnknownOption)
        );

        let mut missing = lead_with("name", Value::Null);
        missing.as_object_mut().unwrap().remove("name");
        assert_eq!(
            validate_record(RecordKind::Lead, &missing),
            err("name", Invalid::Required)
        );
        assert_eq!(
            validate_record(RecordKind::Lead, &Value::from(3)),
            err("", Invalid::UnknownOption)
        );
        // A lead is not a deal.
        assert_eq!(
            validate_record(RecordKind::Deal, &lead_with("name", "Li".into())),
            err("lead_id", Invalid::Required)
        );
    }

    #[test]
    fn team_settings_are_validated_field_by_field() {
        let settings = crate::TeamSettingsDraft::from_days(crate::FollowUpDays::default())
            .parse(&RecordMeta::new(crate::TeamSettings::id_for(id(1)), 5), 5)
            .unwrap();
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(validate_record(RecordKind::TeamSettings, &json), Ok(()));
        for (field, value) in [
            ("follow_up_a", Value::from(0)),
            ("follow_up_d", Value::from(367)),
            ("follow_up_b", Value::from("weekly")),
            ("follow_up_c", Value::from(-3)),
        ] {
            let mut bad = json.clone();
            bad[field] = value;
            assert_eq!(
                validate_record(RecordKind::TeamSettings, &bad),
                Err((field.to_string(), Invalid::FollowUpDays)),
                "{field}"
            );
        }
    }

    #[test]
    fn probabilities_targets_and_stage_changes_are_validated_field_by_field() {
        let settings = crate::TeamSettingsDraft::from_days(crate::FollowUpDays::default())
            .parse(&RecordMeta::new(crate::TeamSettings::id_for(id(1)), 5), 5)
            .unwrap();
        let json = serde_json::to_value(&settings).unwrap();
        for (field, value) in [
            ("prob_prospecting", Value::from(101)),
            ("prob_negotiation", Value::from(-1)),
            ("prob_presentation", Value::from("half")),
        ] {
            let mut bad = json.clone();
            bad[field] = value;
            assert_eq!(
                validate_record(RecordKind::TeamSettings, &bad),
                Err((field.to_string(), Invalid::Percent)),
                "{field}"
            );
        }

        let period = crate::Period::parse("2026-11").unwrap();
        let meta = RecordMeta {
            owner: Some(id(3)),
            team: Some(id(9)),
            ..RecordMeta::new(
                crate::Target::id_for(id(3), period, crate::Metric::DealAmount),
                5,
            )
        };
        let target = crate::TargetDraft {
            rep: Some(id(3)),
            period,
            metric: crate::Metric::DealAmount,
            value: "5000".into(),
            currency: Currency::CNY,
        }
        .parse(&meta, 5)
        .unwrap();
        let json = serde_json::to_value(&target).unwrap();
        assert_eq!(validate_record(RecordKind::Target, &json), Ok(()));
        for (field, value, reason) in [
            ("value", Value::from(-1), Invalid::AmountNegative),
            ("value", Value::from("many"), Invalid::Count),
            ("period", Value::from("2026-13"), Invalid::Date),
            ("metric", Value::from("calls"), Invalid::UnknownOption),
            // Moving a target to another period, person or metric would break its id.
            ("period", Value::from("2026-12"), Invalid::Id),
            ("rep", Value::from(id(4).to_string()), Invalid::Id),
            ("metric", Value::from("visits"), Invalid::Id),
        ] {
            let mut bad = json.clone();
            bad[field] = value;
            let refused = validate_record(RecordKind::Target, &bad).unwrap_err();
            assert_eq!(refused.1, reason, "{field}: {refused:?}");
        }

        let change = crate::StageChange {
            id: id(20),
            lead_id: id(1),
            from: Some(crate::Stage::Negotiation),
            to: crate::Stage::Lost,
            at: 5,
            reason: Some(crate::StageReason::Price),
            owner: None,
            team: None,
            logged_by: None,
            created_at: 5,
            updated_at: 5,
            deleted: false,
        };
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(validate_record(RecordKind::StageChange, &json), Ok(()));
        for (field, value, reason) in [
            ("to", Value::from("negotiation"), Invalid::UnknownOption),
            ("to", Value::from("closed"), Invalid::UnknownOption),
            ("at", Value::from("noon"), Invalid::DateTime),
            ("reason", Value::from("luck"), Invalid::UnknownOption),
            ("lead_id", Value::from("x"), Invalid::Id),
        ] {
            let mut bad = json.clone();
            bad[field] = value;
            let refused = validate_record(RecordKind::StageChange, &bad).unwrap_err();
            assert_eq!(refused.1, reason, "{field}: {refused:?}");
        }
    }

    #[test]
    fn invalid_visits_and_deals_name_the_field() {
        let with = |record: Value, field: &str, value: Value| {
            let mut record = record;
            record[field] = value;
            record
        };
        let visit_json = serde_json::to_value(visit()).unwrap();
        let check = |field: &str, value: Value| {
            validate_record(RecordKind::Visit, &with(visit_json.clone(), field, value))
        };
        let err = |field: &str, reason| Err((field.to_string(), reason));
        assert_eq!(
            check("duration_min", 0.into()),
            err("duration_min", Invalid::Duration)
        );
        assert_eq!(
            check("duration_min", 1_441.into()),
            err("duration_min", Invalid::Duration)
        );
        assert_eq!(check("duration_min", 90.into()), Ok(()));
        assert_eq!(
            check("outcome", "o".repeat(2_001).into()),
            err("outcome", Invalid::TooLong { max: 2_000 })
        );
        assert_eq!(
            check("started_at", (visit().started_at + 1).into()),
            err("started_at", Invalid::DateTime)
        );
        assert_eq!(
            check("started_at", (-3_000_000_000_000i64).into()),
            err("started_at", Invalid::DateOutOfRange)
        );
        assert_eq!(
            check("next_follow_up", "2024-03-01".into()),
            err("next_follow_up", Invalid::BeforeVisit)
        );
        assert_eq!(
            check(
                "check_in",
                serde_json::json!({"point": {"lat": 1.0, "lng": 2.0}, "accuracy_m": -1.0, "at": 0})
            ),
            err("check_in", Invalid::LatLng)
        );
        // 21:00 on 5 March in New York (UTC-5) is already 6 March in UTC. The form there
        // accepted a follow-up on the 5th, so the server, which does not know the zone,
        // must too.
        let new_york = VisitDraft {
            date: "2024-03-05".into(),
            time: "21:00".into(),
            ..VisitDraft::from_visit(&visit(), -300)
        }
        .parse(&RecordMeta::new(id(2), NOW), NOW, -300)
        .unwrap();
        assert_eq!(new_york.next_follow_up, Some(date(2024, 3, 5)));
        assert_eq!(
            crate::today_in_offset(new_york.started_at, 0),
            date(2024, 3, 6)
        );
        let object = serde_json::to_value(&new_york).unwrap();
        assert_eq!(validate_record(RecordKind::Visit, &object), Ok(()));

        let deal_json = serde_json::to_value(deal()).unwrap();
        let check = |field: &str, value: Value| {
            validate_record(RecordKind::Deal, &with(deal_json.clone(), field, value))
        };
        assert_eq!(
            check(
                "amount",
                serde_json::json!({"minor": -100, "currency": "CNY"})
            ),
            err("amount", Invalid::AmountNegative)
        );
        assert_eq!(
            check(
                "amount",
                serde_json::json!({"minor": i64::MAX, "currency": "CNY"})
            ),
            err("amount", Invalid::AmountTooLarge)
        );
        assert_eq!(
            check("product", "".into()),
            err("product", Invalid::Required)
        );
        assert_eq!(
            check("product", "p".repeat(201).into()),
            err("product", Invalid::TooLong { max: 200 })
        );
        assert_eq!(
            check("closed_on", "2300-01-01".into()),
            err("closed_on", Invalid::DateOutOfRange)
        );
        assert_eq!(
            check("closed_on", "yesterday".into()),
            err("closed_on", Invalid::Date)
        );
        assert_eq!(check("status", "refunded".into()), Ok(()));
        assert_eq!(check("lead_id", Value::Null), err("lead_id", Invalid::Id));
    }

    #[test]
    fn materialize_builds_the_typed_record() {
        let li = Lead {
            phones: vec![Phone::parse("13800138000").unwrap()],
            stage: Stage::Won,
            ..lead(1, "Li")
        };
        let fields = stored_fields(&li, stamp(NOW, 0, 1), 3);
        assert_eq!(materialize::<Lead>(&fields).unwrap(), li);
        assert_eq!(
            materialize_kind(RecordKind::Lead, &fields).unwrap(),
            serde_json::to_value(&li).unwrap()
        );
        assert!(materialize::<Deal>(&fields).is_err());
        let mut bad = fields.clone();
        bad.insert(
            "phones".into(),
            state(serde_json::json!(["12"]), stamp(NOW, 0, 1), 4),
        );
        assert!(materialize::<Lead>(&bad).is_err());
        assert!(materialize::<Lead>(&BTreeMap::new()).is_err());
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(value: &T) {
        let json = serde_json::to_string(value).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    }

    #[test]
    fn push_limits_read_from_the_health_answer_and_from_a_413() {
        let limits = PushLimits {
            max_push_bytes: 1_048_576,
            max_push_mutations: 500,
        };
        round_trip(&limits);
        let health = serde_json::json!({
            "status": "ok",
            "version": "0.1.0",
            "database": "sqlite",
            "max_push_bytes": 1_048_576,
            "max_push_mutations": 500,
        });
        assert_eq!(
            serde_json::from_value::<PushLimits>(health).unwrap(),
            limits
        );
        let refusal = serde_json::json!({
            "error": "push_too_large",
            "message": "Too much in one push.",
            "max_bytes": 1_048_576,
            "max_mutations": 500,
        });
        assert_eq!(
            serde_json::from_value::<PushLimits>(refusal).unwrap(),
            limits
        );
    }

    #[test]
    fn attachment_limits_read_from_the_health_answer_a_413_and_an_older_server() {
        let limits = AttachmentLimits {
            max_attachment_bytes: Some(10_485_760),
        };
        round_trip(&limits);
        let health = serde_json::json!({
            "status": "ok",
            "max_push_bytes": 1_048_576,
            "max_push_mutations": 500,
            "max_attachment_bytes": 10_485_760,
        });
        assert_eq!(
            serde_json::from_value::<AttachmentLimits>(health).unwrap(),
            limits
        );
        let refusal = serde_json::json!({
            "error": "attachment_too_large",
            "message": "The file is too large.",
            "max_bytes": 10_485_760,
        });
        assert_eq!(
            serde_json::from_value::<AttachmentLimits>(refusal).unwrap(),
            limits
        );
        // A server from before attachments states no limit, and its health still parses.
        let older = serde_json::json!({
            "status": "ok",
            "max_push_bytes": 1_048_576,
            "max_push_mutations": 500,
        });
        assert_eq!(
            serde_json::from_value::<AttachmentLimits>(older).unwrap(),
            AttachmentLimits::default()
        );
    }

    #[test]
    fn every_protocol_type_round_trips() {
        let s = stamp(NOW, 1, 1);
        let mutation = push(
            1,
            s,
            vec![
                ("name", write("Li", Some(3))),
                ("tags", write(serde_json::json!(["a"]), None)),
            ],
        );
        round_trip(&PushRequest {
            client_id: client(1),
            protocol: PROTOCOL_VERSION,
            mutations: vec![mutation.clone()],
            resume_after: None,
            known_applied: 0,
        });
        round_trip(&PushRequest {
            client_id: client(1),
            protocol: PROTOCOL_VERSION,
            mutations: vec![mutation.clone()],
            resume_after: Some(7),
            known_applied: 4,
        });
        round_trip(&mutation);
        round_trip(&write(Value::Null, None));
        let reasons = [
            RejectReason::invalid("phones", Invalid::Phone),
            RejectReason::Forbidden,
            RejectReason::UnknownRecord,
            RejectReason::TooLarge { max_bytes: 1024 },
            RejectReason::Malformed {
                detail: "seq gap".into(),
            },
        ];
        round_trip(&PushResponse {
            last_applied: 9,
            rejected: reasons
                .into_iter()
                .enumerate()
                .map(|(n, reason)| Rejection {
                    seq: n as u64,
                    record_id: id(1),
                    reason,
                })
                .collect(),
        });
        let cursor = Cursor {
            version: 7,
            kind: RecordKind::Deal,
            record_id: id(3),
        };
        round_trip(&PullRequest {
            client_id: client(1),
            cursor: Some(cursor),
            limit: 500,
            seen: Some(VersionMark {
                version: 7,
                committed_at: 1_741_000_000_000,
            }),
        });
        round_trip(&PullRequest {
            client_id: client(1),
            cursor: None,
            limit: 0,
            seen: None,
        });
        let conflict = Conflict {
            id: id(9),
            kind: RecordKind::Lead,
            record_id: id(1),
            field: "name".into(),
            lost_value: "Li".into(),
            lost_stamp: s,
            lost_by: None,
            kept_value: "Wang".into(),
            kept_stamp: stamp(NOW + 1, 0, 2),
            at_version: 7,
            resolved: true,
        };
        let fields = stored_fields(&lead(1, "Li"), s, 7);
        let change =
            RecordChange::build(RecordKind::Lead, id(1), &fields, vec![conflict.clone()]).unwrap();
        round_trip(&PullResponse {
            changes: vec![change.clone()],
            removed: vec![RecordRef {
                kind: RecordKind::Visit,
                id: id(4),
            }],
            cursor: Some(cursor),
            more: true,
            last_applied: 3,
            server_stamp: s,
            server_version: 9,
            full_resync: false,
            mark: None,
            went_back: false,
        });
        round_trip(&PullResponse {
            changes: vec![],
            removed: vec![],
            cursor: None,
            more: false,
            last_applied: 3,
            server_stamp: s,
            server_version: 9,
            full_resync: true,
            mark: None,
            went_back: false,
        });
        // An answer from a server older than `full_resync` reads as "no resync".
        let mut old = serde_json::to_value(PullResponse {
            changes: vec![],
            removed: vec![],
            cursor: None,
            more: false,
            last_applied: 3,
            server_stamp: s,
            server_version: 9,
            full_resync: false,
            mark: None,
            went_back: false,
        })
        .unwrap();
        old.as_object_mut().unwrap().remove("full_resync");
        assert!(
            !serde_json::from_value::<PullResponse>(old)
                .unwrap()
                .full_resync
        );
        round_trip(&TeamMember {
            id: id(5),
            login: "wang".into(),
            display_name: "王小明".into(),
            role: "rep".into(),
        });
        round_trip(&change);
        round_trip(&conflict);
        round_trip(&cursor);
        round_trip(&state(1.5, s, 2));
        round_trip(&merge_record(
            &fields,
            &push(2, stamp(NOW + 5, 0, 2), vec![("name", write("Wang", None))]),
            NOW,
            8,
        ));
        round_trip(&FieldMerge::KEEP);
    }

    // ---- properties ----

    fn arb_stamp(device: u8) -> impl Strategy<Value = Stamp> {
        (0i64..2_000, 0u32..3).prop_map(move |(wall, counter)| stamp(NOW + wall, counter, device))
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0i64..3).prop_map(Value::from),
            "[ab]{0,2}".prop_map(Value::from),
        ]
    }

    /// A write concurrent with the stored version 5.
    fn arb_concurrent_write() -> impl Strategy<Value = FieldWrite> {
        (arb_value(), prop::option::of(0u64..5))
            .prop_map(|(value, base)| FieldWrite { value, base })
    }

    fn apply(
        current: &FieldState,
        incoming: &FieldWrite,
        stamp: Stamp,
        version: u64,
    ) -> (FieldState, Option<LostWrite>) {
        let merge = merge_field("f", Some(current), incoming, stamp);
        let next = match merge.outcome {
            FieldOutcome::Write => state(incoming.value.clone(), stamp, version),
            FieldOutcome::Keep => current.clone(),
        };
        (next, merge.conflict)
    }

    fn arb_cursor() -> impl Strategy<Value = Cursor> {
        (
            0..=MAX_VERSION,
            prop::sample::select(RecordKind::ALL.to_vec()),
            0u64..(1 << 48),
            any::<[u8; 10]>(),
        )
            .prop_map(|(version, kind, ms, random)| Cursor {
                version,
                kind,
                record_id: Id::from_parts(ms, random),
            })
    }

    proptest! {
        #[test]
        fn concurrent_writes_converge_in_any_order(
            stored_value in arb_value(),
            s0 in arb_stamp(0),
            a in arb_concurrent_write(),
            sa in arb_stamp(1),
            b in arb_concurrent_write(),
            sb in arb_stamp(2),
        ) {
            let stored = state(stored_value.clone(), s0, 5);
            let (after_a, _) = apply(&stored, &a, sa, 6);
            let (ab, _) = apply(&after_a, &b, sb, 7);
            let (after_b, _) = apply(&stored, &b, sb, 6);
            let (ba, _) = apply(&after_b, &a, sa, 7);
            prop_assert_eq!(&ab.value, &ba.value);
            prop_assert_eq!(ab.stamp, ba.stamp);
            let newest = [(s0, &stored_value), (sa, &a.value), (sb, &b.value)]
                .into_iter()
                .max_by_key(|(s, _)| *s)
                .map(|(_, v)| v.clone())
                .unwrap();
            prop_assert_eq!(&ab.value, &newest);
        }

        #[test]
        fn exactly_one_of_two_racing_values_is_lost(
            stored_value in arb_value(),
            a in arb_concurrent_write(),
            sa in arb_stamp(1),
            b in arb_concurrent_write(),
            sb in arb_stamp(2),
        ) {
            // Both devices edited after the stored write.
            let stored = state(stored_value, stamp(NOW - 1, 0, 0), 5);
            let (loser_stamp, loser_value) = if sa < sb { (sa, &a.value) } else { (sb, &b.value) };
            for (first, s1, second, s2) in [(&a, sa, &b, sb), (&b, sb, &a, sa)] {
                let (middle, lost1) = apply(&stored, first, s1, 6);
                let (_, lost2) = apply(&middle, second, s2, 7);
                let racing: Vec<LostWrite> = lost1
                    .into_iter()
                    .chain(lost2)
                    .filter(|l| l.lost_stamp == sa || l.lost_stamp == sb)
                    .collect();
                if a.value == b.value {
                    prop_assert!(racing.is_empty());
                } else {
                    prop_assert_eq!(racing.len(), 1);
                    prop_assert_eq!(racing[0].lost_stamp, loser_stamp);
                    prop_assert_eq!(&racing[0].lost_value, loser_value);
                }
            }
        }

        #[test]
        fn clamp_never_moves_forward_nor_past_the_limit(
            wall in 0i64..=crate::MAX_WALL_MS,
            counter in any::<u32>(),
            now in 0i64..=crate::MAX_WALL_MS,
        ) {
            let incoming = stamp(wall, counter, 1);
            let clamped = clamp_stamp(incoming, now);
            prop_assert!(clamped <= incoming);
            prop_assert!(clamped.wall_ms <= now + MAX_CLOCK_AHEAD_MS);
            prop_assert_eq!((clamped.counter, clamped.client), (counter, incoming.client));
            if wall <= now + MAX_CLOCK_AHEAD_MS {
                prop_assert_eq!(clamped, incoming);
            }
        }

        #[test]
        fn cursor_text_round_trips_and_sorts(a in arb_cursor(), b in arb_cursor()) {
            prop_assert_eq!(Cursor::parse(&a.to_string()), Ok(a));
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
            let json = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), a);
        }

        #[test]
        fn pushes_and_pulls_round_trip(
            seq in any::<u64>(),
            fields in prop::collection::btree_map("[a-z_]{1,8}", (arb_value(), prop::option::of(any::<u64>())), 0..5),
            s in arb_stamp(3),
            cursor in prop::option::of(arb_cursor()),
            more in any::<bool>(),
        ) {
            let mutation = PushMutation {
                seq,
                kind: RecordKind::Visit,
                record_id: id(2),
                stamp: s,
                fields: fields.into_iter().map(|(f, (value, base))| (f, FieldWrite { value, base })).collect(),
            };
            let request = PushRequest { client_id: client(3), protocol: PROTOCOL_VERSION, mutations: vec![mutation], resume_after: None, known_applied: seq };
            let json = serde_json::to_string(&request).unwrap();
            prop_assert_eq!(serde_json::from_str::<PushRequest>(&json).unwrap(), request);

            let response = PullResponse {
                changes: vec![],
                removed: vec![],
                cursor,
                more,
                last_applied: seq,
                server_stamp: s,
                server_version: seq,
                full_resync: more,
                mark: None,
                went_back: false,
            };
            let json = serde_json::to_string(&response).unwrap();
            prop_assert_eq!(serde_json::from_str::<PullResponse>(&json).unwrap(), response);
        }
    }
}
