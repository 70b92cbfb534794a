//! `GET /api/health`: whether the server and its database answer, for load balancers and
//! the app's sync indicator, the push limits the app batches under and the largest
//! attachment it may upload.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::storage::Backend;

/// The health answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` (a failing database answers 500 instead, a busy one 503).
    pub status: String,
    /// The server's crate version.
    pub version: String,
    /// Which database backs this server.
    pub database: Backend,
    /// The largest push body the server reads, in bytes (`domain::PushLimits`).
    pub max_push_bytes: u64,
    /// The most mutations one push may carry (`domain::PushLimits`).
    pub max_push_mutations: u32,
    /// The largest attachment an upload may declare, in bytes (`domain::AttachmentLimits`).
    pub max_attachment_bytes: u64,
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Reports the version, the backend, the push limits and the attachment limit after a
/// trivial database query.
#[utoipa::path(
    get,
    path = "/api/health",
    responses(
        (status = 200, body = Health, description = "The server and its database answer; the limits devices work to"),
        (status = 500, body = super::ErrorBody, description = "The database does not answer"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; retry after `Retry-After` seconds")
    )
)]
#[tracing::instrument(skip_all)]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.storage.ping().await?;
    let limits = state.settings.push_limits();
    Ok(Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        database: state.storage.backend(),
        max_push_bytes: limits.max_push_bytes,
        max_push_mutations: limits.max_push_mutations,
        max_attachment_bytes: state.settings.attachment_limit(),
    }))
}
