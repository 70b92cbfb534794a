//! `POST /api/sync/push` and `POST /api/sync/pull`: the HTTP face of
//! [`crate::storage::sync`].
//!
//! Both need a session ([`CurrentUser`], 401 without one) and act for that user only: the
//! body names a device, never a user. The bodies are the domain's protocol types
//! (`domain::sync`), whose OpenAPI schemas are derived from them (`domain`'s `openapi`
//! feature, which only the server enables: the app's WebAssembly never carries utoipa).
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
    request_body = domain::PushRequest,
    responses(
        (status = 200, body = domain::PushResponse, description = "Applied; mutations already applied were skipped (their kept refusals listed again), refused ones are listed"),
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
    request_body = domain::PullRequest,
    responses(
        (status = 200, body = domain::PullResponse, description = "The next page of changes, or `full_resync` when the cursor predates the purge horizon"),
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
        let cursor = schemas["Cursor"]["pattern"].as_str().unwrap();
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
        let stamp = schemas["Stamp"]["pattern"].as_str().unwrap();
        assert!(
            stamp.contains(&format!("{}[0-5]", u32::MAX / 10)),
            "{stamp}"
        );
    }
}
