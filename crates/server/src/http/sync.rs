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

/// `PushRequest`: a batch of one device's mutations.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PushRequest)]
pub struct PushRequestDoc {
    /// The device (the `client` of its stamps).
    pub client_id: Uuid,
    /// The protocol version the device speaks; the server accepts the current and the
    /// previous one.
    pub protocol: u32,
    /// The mutations in `seq` order, without gaps.
    pub mutations: Vec<PushMutationDoc>,
    /// Optional. The device holds no unapplied mutation numbered at or below this: numbers
    /// up to it that the server has not applied were lost with the server's own state (a
    /// backup restore) and will never come. The server moves the device's `last_applied`
    /// up to it before applying the batch, never down.
    pub resume_after: Option<u64>,
    /// Optional (0). The `last_applied` the server last answered this device with; a server
    /// that has applied less went back in time and answers 409 from what it has, applying
    /// nothing.
    pub known_applied: Option<u64>,
}

/// `PushMutation`: one numbered change to one record.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PushMutation)]
pub struct PushMutationDoc {
    /// The device's gap-free number, from 1.
    pub seq: u64,
    /// `lead`, `visit` or `deal`.
    pub kind: String,
    /// The record.
    pub record_id: Uuid,
    /// The hybrid logical clock stamp of the edit, `{wall_ms:015}-{counter:010}-{client}`.
    pub stamp: String,
    /// Changed fields: name → `{ "value": …, "base": field version last seen or null }`.
    #[schema(value_type = Object)]
    pub fields: Value,
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
    pub client_id: Uuid,
    /// The previous answer's cursor (opaque), or null for a full sync.
    pub cursor: Option<String>,
    /// Records per answer, clamped to 1..=500.
    pub limit: u32,
    /// Optional: the previous answer's `mark` (`{ version, committed_at }`). A server whose
    /// history differs answers `went_back`.
    #[schema(value_type = Option<Object>)]
    pub seen: Option<Value>,
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
    /// `{ version, committed_at }` of `server_version`, for the next pull's `seen`; absent
    /// when the server keeps no time for that version.
    #[schema(value_type = Option<Object>)]
    pub mark: Option<Value>,
    /// The request's `seen` is not in this server's history: it went back in time (a
    /// restored backup). Nothing else is in the answer; the device resends what it holds and
    /// pulls everything again.
    pub went_back: bool,
}
