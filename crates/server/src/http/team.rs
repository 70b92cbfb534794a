//! `GET /api/team`: the signed-in user's colleagues, e.g. for the picker a manager
//! reassigns a lead with. The answer's items are `domain::TeamMember`, so the app reads
//! them with the type it already has; who is listed is [`crate::accounts::team_for`]'s rule.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::{Id, TeamMember};
use serde::Serialize;
use uuid::Uuid;

use super::{ApiError, AppState, CurrentUser};
use crate::accounts;
use crate::storage::User;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/team", get(team))
        .route("/team/{id}/password", post(reset_password))
}

/// The signed-in user's team: for a manager, the team's reps and themselves; for a rep,
/// themselves and the team's managers; sorted by display name. Admins are refused (403):
/// they manage accounts and belong to no team's sales work.
#[utoipa::path(
    get,
    path = "/api/team",
    responses(
        (status = 200, body = Vec<domain::TeamMember>, description = "The colleagues, sorted by display name"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 403, body = super::ErrorBody, description = "An admin, who has no team to pick from"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; retry after `Retry-After` seconds")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn team(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<TeamMember>>, ApiError> {
    let members = accounts::team_for(state.storage.as_ref(), &user)
        .await?
        .ok_or(ApiError::Forbidden)?;
    Ok(Json(members.iter().map(member).collect()))
}

/// The answer to a password reset: the rep's new one-time password, shown once to the
/// manager, who hands it over in person.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OneTimePassword {
    /// The one-time password (four groups of four letters and digits).
    pub one_time_password: String,
}

/// A manager gives a rep of their team a new one-time password. The rep's sessions end on
/// every device; their next sign-in must choose a new password. The outbox on the rep's
/// device stays and is sent once they sign in again.
#[utoipa::path(
    post,
    path = "/api/team/{id}/password",
    params(("id" = Uuid, Path, description = "The rep's id")),
    responses(
        (status = 200, body = OneTimePassword, description = "The new one-time password"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 403, body = super::ErrorBody, description = "`password_change_required`: the manager must first choose a password of their own"),
        (status = 404, body = super::ErrorBody, description = "Not a rep of the manager's team, no such account, or the caller is not a manager (one answer for all)")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn reset_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OneTimePassword>, ApiError> {
    // A malformed id names no rep: the same answer as someone else's.
    let rep = Uuid::try_parse(&id).map_err(|_| ApiError::NotFound)?;
    let password = accounts::reset_rep_password(state.storage.as_ref(), &user, rep).await?;
    tracing::info!(rep = %rep, "one-time password issued");
    Ok(Json(OneTimePassword {
        one_time_password: password,
    }))
}

fn member(user: &User) -> TeamMember {
    TeamMember {
        id: Id::from_uuid(user.id),
        login: user.login.clone(),
        display_name: user.display_name.clone(),
        role: user.role.as_str().to_string(),
    }
}
