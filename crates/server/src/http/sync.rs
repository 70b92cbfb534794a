//! `POST /api/sync/push` and `POST /api/sync/pull`: the HTTP face of
//! [`crate::storage::sync`].
//!
//! Both need a session ([`CurrentUser`], 401 without one) and act for that user only: the
//! body names a device, never a user. The bodies are the domain's protocol types
//! (`domain::sync`); the `*Doc` structs below only describe them in the OpenAPI
//! document, because the domain crate (which also compiles to WebAssembly) does not depend
//! on utoipa.
//!
//! Refusals: malformed JSON 400; JSON of the wrong shape, an unknown record kind or an
//! unsupported protocol version 422; a body over the limit 413 (for a push, also more
//! mutations than the cap, answered with both limits so the device can split its batch); a
//! client id of another user 403; a gap in mutation numbers 409 with the number to resend
//! from. None of them writes.
//!
//! `POST /api/sync/conflicts/{id}/resolve` marks a conflict of a record the user may write
//! resolved (404 otherwise, so others' conflict ids reveal nothing).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use domain::{is_supported_protocol, PullRequest, PullResponse, PushRequest, PushResponse};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{ApiError, ApiJson, AppState, CurrentUser};
use crate::storage::sync::ResolveOutcome;
use crate::storage::{PushOutcome, User};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sync/push", post(push))
        .route("/sync/pull", post(pull))
        .route("/sync/conflicts/{id}/resolve", post(resolve_conflict))
}

/// Applies a batch of a device's mutations.
#[utoipa::path(
    post,
    path = "/api/sync/push",
    request_body = PushRequestDoc,
    responses(
        (status = 200, body = PushResponseDoc, description = "Applied; mutations already applied were skipped (their kept refusals listed again), refused ones are listed"),
        (status = 400, body = super::ErrorBody, description = "Malformed JSON"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 403, body = super::ErrorBody, description = "The client id belongs to another user"),
        (status = 409, body = super::SyncGapBody, description = "A mutation number is missing; resend from `expected`"),
        (status = 413, body = super::PushTooLargeBody, description = "Body over the byte limit (1 MiB by default) or more mutations than the cap (500 by default); both limits are in the body and in /api/health"),
        (status = 422, body = super::ErrorBody, description = "Wrong shape, unknown record kind or unsupported protocol version"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; nothing was written; retry after `Retry-After` seconds")
    )
)]
pub async fn push(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    request: Result<ApiJson<PushRequest>, ApiError>,
) -> Result<Json<PushResponse>, ApiError> {
    let limits = state.settings.push_limits();
    let ApiJson(request) = request.map_err(|error| match error {
        ApiError::PayloadTooLarge => ApiError::PushTooLarge(limits),
        other => other,
    })?;
    if request.mutations.len() > usize::try_from(limits.max_push_mutations).unwrap_or(usize::MAX) {
        return Err(ApiError::PushTooLarge(limits));
    }
    apply_push(&state, &user, &request).await
}

#[tracing::instrument(skip_all, fields(user = %user.id, client = %request.client_id))]
async fn apply_push(
    state: &AppState,
    user: &User,
    request: &PushRequest,
) -> Result<Json<PushResponse>, ApiError> {
    if request.mutations.iter().any(|mutation| mutation.seq == 0) {
        return Err(ApiError::InvalidBody(
            "mutation numbers start at 1".to_string(),
        ));
    }
    if !is_supported_protocol(request.protocol) {
        return Err(ApiError::InvalidBody(format!(
            "unsupported protocol version {}",
            request.protocol
        )));
    }
    // The databases store numbers as signed 64-bit integers.
    if request
        .resume_after
        .is_some_and(|resume_after| i64::try_from(resume_after).is_err())
    {
        return Err(ApiError::InvalidBody(
            "resume_after out of range".to_string(),
        ));
    }
    let now_ms = state.clock.now().timestamp_millis();
    match state
        .storage
        .push(user, request, now_ms, state.settings.max_records_per_user)
        .await?
    {
        PushOutcome::Applied(response) => {
            tracing::info!(
                last_applied = response.last_applied,
                rejected = response.rejected.len(),
                "push applied"
            );
            Ok(Json(response))
        }
        PushOutcome::Gap { expected } => Err(ApiError::SyncGap { expected }),
    }
}

/// The changes visible to the signed-in user past a cursor.
#[utoipa::path(
    post,
    path = "/api/sync/pull",
    request_body = PullRequestDoc,
    responses(
        (status = 200, body = PullResponseDoc, description = "The next page of changes, or `full_resync` when the cursor predates the purge horizon"),
        (status = 400, body = super::ErrorBody, description = "Malformed JSON"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 403, body = super::ErrorBody, description = "The client id belongs to another user"),
        (status = 413, body = super::ErrorBody, description = "Body over the limit"),
        (status = 422, body = super::ErrorBody, description = "Wrong shape or a malformed cursor"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; retry after `Retry-After` seconds")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id, client = %request.client_id))]
pub async fn pull(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(request): ApiJson<PullRequest>,
) -> Result<Json<PullResponse>, ApiError> {
    let now_ms = state.clock.now().timestamp_millis();
    Ok(Json(state.storage.pull(&user, &request, now_ms).await?))
}

/// Marks a conflict resolved (the user dealt with it: restored the lost value by pushing
/// it as a normal edit, or dismissed it). Idempotent.
#[utoipa::path(
    post,
    path = "/api/sync/conflicts/{id}/resolve",
    params(("id" = Uuid, Path, description = "The conflict's id")),
    responses(
        (status = 204, description = "Resolved (also when it already was); the record's devices see it on their next pull"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 404, body = super::ErrorBody, description = "No such conflict on a record this user may write"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; nothing was written; retry after `Retry-After` seconds")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id, conflict = %id))]
pub async fn resolve_conflict(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = domain::Id::parse(&id).map_err(|_| ApiError::NotFound)?;
    match state.storage.resolve_conflict(&user, id).await? {
        ResolveOutcome::Resolved | ResolveOutcome::AlreadyResolved => Ok(StatusCode::NO_CONTENT),
        ResolveOutcome::NotFound => Err(ApiError::NotFound),
    }
}

// The schemas below state what the server accepts, so a request valid under them is one
// the server takes: ids as `domain::Id` spells them (lowercase, hyphenated), stamps and
// cursors in their one text form, counters in their Rust type's range (whole numbers however
// JSON spells them, `domain::wire`), the protocol versions `is_supported_protocol` accepts. `openapi_states_what_the_protocol_accepts` keeps them equal to the domain's.

/// `RecordKind`: the kinds of record that sync (`domain::RecordKind::ALL`; a test keeps
/// the two lists equal).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RecordKind)]
pub enum RecordKindDoc {
    /// A lead (客户).
    Lead,
    /// A visit (拜访记录).
    Visit,
    /// A deal (成交).
    Deal,
    /// Training material or a quiz.
    TrainingItem,
    /// A training session.
    TrainingSession,
    /// A rep's reading and rating of an item.
    TrainingRecord,
    /// A rep's answers to a quiz.
    QuizAttempt,
    /// A team's settings.
    TeamSettings,
}

/// `PushRequest`: a batch of one device's mutations.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PushRequest)]
pub struct PushRequestDoc {
    /// The device (the `client` of its stamps).
    #[schema(value_type = String, pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub client_id: Uuid,
    /// The protocol version the device speaks; the server accepts the current (1) and the
    /// previous one.
    #[schema(minimum = 0, maximum = 1)]
    pub protocol: u32,
    /// The mutations in `seq` order, without gaps; at most `max_push_mutations` (see
    /// `/api/health`; 500 by default).
    #[schema(max_items = 500)]
    pub mutations: Vec<PushMutationDoc>,
    /// Optional. The device holds no unapplied mutation numbered at or below this: numbers
    /// up to it that the server has not applied were lost with the server's own state (a
    /// backup restore) and will never come. The server moves the device's `last_applied`
    /// up to it before applying the batch, never down.
    #[schema(maximum = 9_223_372_036_854_775_807_u64)]
    pub resume_after: Option<u64>,
    /// Optional (0). The `last_applied` the server last answered this device with; a server
    /// that has applied less went back in time and answers 409 from what it has, applying
    /// nothing.
    #[schema(required = false, maximum = 18_446_744_073_709_551_615_u64)]
    pub known_applied: u64,
}

/// `PushMutation`: one numbered change to one record.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PushMutation)]
pub struct PushMutationDoc {
    /// The device's gap-free number, from 1.
    #[schema(minimum = 1, maximum = 18_446_744_073_709_551_615_u64)]
    pub seq: u64,
    /// The record's kind.
    pub kind: RecordKindDoc,
    /// The record.
    #[schema(value_type = String, pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub record_id: Uuid,
    /// The hybrid logical clock stamp of the edit, `{wall_ms:015}-{counter:010}-{client}`
    /// (the counter at most 4294967295); its client must be the pushing device (a mutation
    /// stamped by another is refused).
    #[schema(
        pattern = "^[0-9]{15}-([0-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub stamp: String,
    /// Changed fields: name → the new value and the field version last seen.
    pub fields: std::collections::BTreeMap<String, FieldWriteDoc>,
}

/// `FieldWrite`: one changed field.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FieldWrite)]
pub struct FieldWriteDoc {
    /// The new value (any JSON; the record's validation decides, per mutation).
    pub value: Value,
    /// The field version the device last saw, or null.
    #[schema(maximum = 18_446_744_073_709_551_615_u64)]
    pub base: Option<u64>,
}

/// `PushResponse`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PushResponse)]
pub struct PushResponseDoc {
    /// The device's last applied number (refused mutations included).
    pub last_applied: u64,
    /// `{ seq, record_id, reason: { kind: invalid | forbidden | unknown_record | malformed, … } }`
    /// for the refused mutations of this push, and again, identical, for those a retry
    /// repeats (refusals are kept per device and number).
    #[schema(value_type = Vec<Object>)]
    pub rejected: Value,
}

/// `PullRequest`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PullRequest)]
pub struct PullRequestDoc {
    /// The device asking.
    #[schema(value_type = String, pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub client_id: Uuid,
    /// The previous answer's cursor, `v{version:020}-{kind}-{id}`, or null for a full sync.
    #[schema(
        pattern = "^v0[0-8][0-9]{18}-(lead|visit|deal|training_item|training_session|training_record|quiz_attempt|team_settings)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub cursor: Option<String>,
    /// Records per answer, clamped to 1..=500.
    #[schema(format = Int64, maximum = 4_294_967_295_u64)]
    pub limit: u32,
    /// Optional: the previous answer's `mark`. A server whose history differs answers
    /// `went_back`.
    pub seen: Option<VersionMarkDoc>,
}

/// `VersionMark`: a server version and when the server committed it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = VersionMark)]
pub struct VersionMarkDoc {
    /// The version.
    #[schema(maximum = 18_446_744_073_709_551_615_u64)]
    pub version: u64,
    /// When the server committed it (Unix ms).
    pub committed_at: i64,
}

/// `PullResponse`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PullResponse)]
pub struct PullResponseDoc {
    /// `{ kind, id, version, record, field_versions, conflicts }` in cursor order.
    #[schema(value_type = Vec<Object>)]
    pub changes: Value,
    /// `{ kind, id }` of records the device must forget.
    #[schema(value_type = Vec<Object>)]
    pub removed: Value,
    /// Where to continue from.
    pub cursor: Option<String>,
    /// Whether to pull again right away.
    pub more: bool,
    /// The device's last applied mutation number.
    pub last_applied: u64,
    /// A stamp at or after every stamp stored; the device's clock observes it.
    pub server_stamp: String,
    /// The highest committed server version this pull read; a cursor past it means the
    /// server went back in time (a backup restore).
    pub server_version: u64,
    /// The cursor is older than what the server still remembers (tombstones and removals
    /// past it were purged after the horizon): pull again from no cursor, keeping unsent
    /// edits, and forget the copies that full pull does not send. Such an answer has no
    /// changes, no removals and no cursor. Never set on a pull from no cursor.
    pub full_resync: bool,
    /// The mark of `server_version`, for the next pull's `seen`; absent when the server
    /// keeps no time for that version.
    pub mark: Option<VersionMarkDoc>,
    /// The request's `seen` is not in this server's history: it went back in time (a
    /// restored backup). Nothing else is in the answer; the device resends what it holds and
    /// pulls everything again.
    pub went_back: bool,
}

#[cfg(test)]
mod tests {
    use domain::{is_supported_protocol, RecordKind, PROTOCOL_VERSION};
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(super::super::document()).unwrap()
    }

    #[test]
    fn openapi_states_what_the_protocol_accepts() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let kinds: Vec<&str> = schemas["RecordKind"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kind| kind.as_str().unwrap())
            .collect();
        let domain: Vec<&str> = RecordKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(kinds, domain);
        let cursor = schemas["PullRequest"]["properties"]["cursor"]["pattern"]
            .as_str()
            .unwrap();
        assert!(
            cursor.contains(&format!("({})", domain.join("|"))),
            "{cursor}"
        );
        let protocol = &schemas["PushRequest"]["properties"]["protocol"];
        let (low, high) = (
            protocol["minimum"].as_u64().unwrap() as u32,
            protocol["maximum"].as_u64().unwrap() as u32,
        );
        assert_eq!(high, PROTOCOL_VERSION);
        assert!((low..=high).all(is_supported_protocol));
        assert!(!is_supported_protocol(high + 1));
        // The stamp pattern bounds the counter at u32::MAX (4294967295).
        let stamp = schemas["PushMutation"]["properties"]["stamp"]["pattern"]
            .as_str()
            .unwrap();
        assert!(
            stamp.contains(&format!("{}[0-5]", u32::MAX / 10)),
            "{stamp}"
        );
    }
}
