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

/// Links from answers to the requests that follow them, as a device makes them: a push,
/// then a pull from its device; a pull page, then the next from its cursor, and the
/// resolution of a conflict it carries; the team, then a password reset of a member; an
/// upload, then its state and its download. Tools that follow links (schemathesis'
/// stateful phase) then reach the operations that need ids made by others.
fn add_links(doc: &mut utoipa::openapi::OpenApi) {
    use serde_json::json;
    use utoipa::openapi::link::LinkBuilder;
    use utoipa::openapi::RefOr;

    let pull_after = |cursor: serde_json::Value| json!({ "client_id": "$request.body#/client_id", "cursor": cursor, "limit": 50 });
    let links = [
        (
            "/api/sync/push",
            "200",
            "PullFromThisDevice",
            LinkBuilder::new()
                .operation_id("pull")
                .request_body(Some(pull_after(serde_json::Value::Null))),
        ),
        (
            "/api/sync/pull",
            "200",
            "NextPage",
            LinkBuilder::new()
                .operation_id("pull")
                .request_body(Some(pull_after(json!("$response.body#/cursor")))),
        ),
        (
            "/api/sync/pull",
            "200",
            "ResolveConflict",
            LinkBuilder::new()
                .operation_id("resolve_conflict")
                .parameter("id", "$response.body#/changes/0/conflicts/0/id"),
        ),
        (
            "/api/team",
            "200",
            "ResetPassword",
            LinkBuilder::new()
                .operation_id("reset_password")
                .parameter("id", "$response.body#/0/id"),
        ),
        (
            "/api/attachments/{sha256}",
            "201",
            "Download",
            LinkBuilder::new()
                .operation_id("download")
                .parameter("sha256", "$request.path.sha256"),
        ),
        (
            "/api/attachments/{sha256}",
            "200",
            "UploadState",
            LinkBuilder::new()
                .operation_id("upload_state")
                .parameter("sha256", "$request.path.sha256"),
        ),
    ];
    for (path, status, name, link) in links {
        let Some(item) = doc.paths.paths.get_mut(path) else {
            continue;
        };
        // Only the operation that makes what the link names: a push or pull (POST), the
        // team (GET), an upload (PUT).
        let operation = match path {
            "/api/team" => item.get.as_mut(),
            "/api/attachments/{sha256}" => item.put.as_mut(),
            _ => item.post.as_mut(),
        };
        if let Some(RefOr::T(response)) =
            operation.and_then(|operation| operation.responses.responses.get_mut(status))
        {
            response
                .links
                .insert(name.to_string(), RefOr::T(link.build()));
        }
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
        domain::PushRequest,
        domain::PushMutation,
        domain::FieldWrite,
        domain::PushResponse,
        domain::Rejection,
        domain::RejectReason,
        domain::PullRequest,
        domain::PullResponse,
        domain::RecordChange,
        domain::RecordRef,
        domain::Conflict,
        domain::VersionMark,
        domain::Cursor,
        domain::Stamp,
        domain::Id,
        domain::RecordKind,
        domain::TeamMember
    ))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API"))
)]
async fn openapi() -> Json<&'static utoipa::openapi::OpenApi> {
    // Built once: the document does not change while the server runs.
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(document))
}

/// The OpenAPI document: [`ApiDoc`], plus what every request may be answered, added here in
/// one place so no operation's list forgets one — a JSON body's refusals (400, 413, 415,
/// 422), a session's (401; 403 `password_change_required`; 429 `rate_limited`) and a busy
/// server's (503) — and the session cookie as the security scheme of the operations that
/// need one.
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
    use utoipa::openapi::{Ref, RefOr, Response};

    /// Operations anyone may call.
    const OPEN: [&str; 4] = [
        "/api/health",
        "/api/login",
        "/api/logout",
        "/api/openapi.json",
    ];
    let mut doc = ApiDoc::openapi();
    let error = |description: &str| -> RefOr<Response> {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
            .into()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let open = OPEN.contains(&path.as_str());
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let mut answers: Vec<(&str, &str)> = Vec::new();
            if operation.request_body.is_some() {
                answers.extend([
                    ("400", "Malformed JSON"),
                    ("413", "The body is over the limit"),
                    ("415", "The body is not declared as application/json"),
                    ("422", "JSON of the wrong shape"),
                ]);
            }
            if !open {
                answers.extend([
                    ("401", "No valid session"),
                    (
                        "403",
                        "Not allowed; `password_change_required` while the password is a one-time password",
                    ),
                    ("429", "`rate_limited`: this session asked too fast; see `Retry-After`"),
                ]);
                operation.security = Some(vec![SecurityRequirement::new(
                    "session",
                    Vec::<String>::new(),
                )]);
            }
            if path != "/api/openapi.json" {
                answers.push((
                    "503",
                    "The server is busy; retry after `Retry-After` seconds",
                ));
            }
            for (status, description) in answers {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description));
            }
        }
    }
    add_links(&mut doc);
    let components = doc.components.get_or_insert_with(Default::default);
    let mut cookie = ApiKeyValue::new(auth::SESSION_COOKIE);
    cookie.description =
        Some("The session `POST /api/login` sets (HttpOnly, SameSite=Strict)".to_string());
    components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));
    doc
}
