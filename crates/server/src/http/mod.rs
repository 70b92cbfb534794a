//! The HTTP server: one router with the API under `/api` and the built app everywhere else.
//!
//! [`app`] builds the whole router from an [`AppState`], so tests drive it in-process with
//! `tower::ServiceExt::oneshot` and the binary serves the very same router. Each submodule
//! owns its routes; this module joins them, adds the body limit, the request time limit
//! ([`limits`]) and the OpenAPI document.

pub mod attachments;
pub mod auth;
pub mod error;
pub mod headers;
pub mod health;
pub mod limits;
pub mod static_files;
pub mod sync;
pub mod team;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use utoipa::OpenApi;

use crate::clock::{Clock, SystemClock};
use crate::config::HttpSettings;
use crate::secrets;
use crate::storage::Storage;

pub use auth::CurrentUser;
pub use error::{
    ApiError, AttachmentTooLargeBody, ErrorBody, OffsetMismatchBody, PushTooLargeBody, SyncGapBody,
};

/// What every handler can reach. Cheap to clone: all shared behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub storage: Arc<dyn Storage>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Cookie, session, static-file and attachment settings.
    pub settings: Arc<HttpSettings>,
    /// An argon2 hash of a random password, verified against for unknown logins so they take
    /// as long as wrong passwords. Made on first use, once per process.
    decoy_hash: Arc<OnceCell<String>>,
    /// Each session's request rate.
    pub(crate) rates: Arc<limits::SessionRates>,
}

impl AppState {
    /// State on the system clock.
    pub fn new(storage: Arc<dyn Storage>, settings: HttpSettings) -> AppState {
        AppState::with_clock(storage, settings, Arc::new(SystemClock))
    }

    /// State on a given clock (tests move time forward with a manual one).
    pub fn with_clock(
        storage: Arc<dyn Storage>,
        settings: HttpSettings,
        clock: Arc<dyn Clock>,
    ) -> AppState {
        AppState {
            storage,
            clock,
            settings: Arc::new(settings),
            decoy_hash: Arc::new(OnceCell::new()),
            rates: Arc::new(limits::SessionRates::default()),
        }
    }

    /// The decoy hash (see the field).
    async fn decoy_hash(&self) -> Result<&str, ApiError> {
        let hash = self
            .decoy_hash
            .get_or_try_init(|| async {
                let password = secrets::one_time_password()?;
                secrets::hash_password(password).await
            })
            .await?;
        Ok(hash.as_str())
    }
}

/// The whole server: `/api/*` and the static app.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(sync::router())
        .merge(team::router())
        .merge(attachments::router())
        .route("/openapi.json", get(openapi))
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(state.settings.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::time_limit,
        ));
    let hsts = state.settings.secure_cookies;
    Router::new()
        .nest("/api", api)
        .fallback(static_files::serve)
        .layer(axum::middleware::map_response(move |response| async move {
            headers::secure(response, hsts)
        }))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

/// A JSON body whose refusals are [`ApiError`]s (so they carry the JSON error body) instead
/// of axum's plain-text rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// The OpenAPI description of `/api`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fieldbook sync server",
        description = "Accounts, sessions, and sync: push a device's numbered mutations, \
                       pull the changes its user may see; upload and fetch attachments \
                       by SHA-256. The types are `domain::sync`'s; ARCHITECTURE.md \
                       explains the protocol."
    ),
    paths(
        health::health,
        auth::login,
        auth::logout,
        auth::me,
        auth::change_password,
        sync::push,
        sync::pull,
        sync::resolve_conflict,
        team::team,
        team::reset_password,
        attachments::upload_state,
        attachments::upload,
        attachments::download,
        openapi
    ),
    components(schemas(
        health::Health,
        auth::LoginRequest,
        auth::UserView,
        auth::ChangePasswordRequest,
        team::OneTimePassword,
        crate::storage::Role,
        crate::storage::Backend,
        ErrorBody,
        SyncGapBody,
        PushTooLargeBody,
        AttachmentTooLargeBody,
        OffsetMismatchBody,
        attachments::UploadState,
        sync::PushRequestDoc,
        sync::PushMutationDoc,
        sync::PushResponseDoc,
        sync::PullRequestDoc,
        sync::PullResponseDoc,
        team::TeamMemberDoc
    ))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API"))
)]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
