//! `/api/attachments/{sha256}`: attachments' bytes (training material's images and PDFs),
//! named by their SHA-256 and moved in requests of their own, never inside a push.
//!
//! - `GET /api/attachments/{sha256}/upload`: how much of the signed-in user's upload the
//!   server holds, so an interrupted upload resumes; `complete` once they have uploaded it.
//! - `PUT /api/attachments/{sha256}?offset=N&size=TOTAL&mime=TYPE`: one chunk (at most
//!   [`MAX_CHUNK_BYTES`]) appended to the user's partial upload; the chunk that completes it
//!   has the whole file checked against the digest before it is stored.
//! - `GET /api/attachments/{sha256}`: the bytes, to whoever may read them
//!   ([`may_read_attachment`]): the user uploaded them, or a record they may see names them
//!   and its owner uploaded them.
//!
//! Every route needs a session (401 without one). A digest that is not 64 lowercase hex
//! digits answers 404, like a digest nobody may read: the path names nothing. Uploads are
//! refused to admins (403), who write no records. Refusals of an upload are checked before
//! its body is read and store nothing: a declared size over the limit 413
//! `attachment_too_large` (with `max_bytes`), a size of 0 or a missing parameter 400
//! `invalid_query`, a type outside `domain::training::ATTACHMENT_TYPES` 415
//! `unsupported_attachment_type` (the media type itself is what is refused, and 415 is the
//! status for that), a chunk over 1 MiB 413 `payload_too_large`, a chunk running past `size`
//! 422 `invalid_body`, a chunk not starting where the upload ends 409 `offset_mismatch`
//! (with the `offset` to resume from), and a complete file of another digest 422
//! `hash_mismatch`, which also deletes the partial upload.
//!
//! Served files are `inline` whatever their type: images are shown in the page, and the
//! app opens a PDF in a new tab to read, which `attachment` would turn into a download.
//! That is safe because the type comes from an allow-list without HTML or SVG and
//! `nosniff` keeps browsers from guessing another; a browser's PDF viewer runs any script
//! a PDF holds in its own sandbox, away from this origin's cookies and storage.

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest as _, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::training::ATTACHMENT_TYPES;
use domain::Sha256;
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use super::{ApiError, AppState, CurrentUser};
use crate::attachments::{Appended, AttachmentFiles, Chunk};
use crate::storage::sync::may_read_attachment;
use crate::storage::{Role, StoredAttachment, User};

/// The largest chunk one upload request may carry (the app sends 512 KiB).
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// Served files never change under their digest, so a device keeps them for a year; only
/// the device's own cache may hold them, since they are not for everyone.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/attachments/{sha256}",
            get(download)
                .put(upload)
                // A chunk is a body of its own size, whatever the push limit is.
                .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES)),
        )
        .route("/attachments/{sha256}/upload", get(upload_state))
}

/// How far an upload has come.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadState {
    /// How many bytes of the upload the server holds: send the next chunk from here. The
    /// attachment's size once `complete`.
    pub offset: u64,
    /// The user has uploaded the whole file and it is stored: nothing is left to send.
    pub complete: bool,
}

/// The query of an upload chunk.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// Where the chunk starts in the file.
    pub offset: u64,
    /// The whole file's length in bytes.
    pub size: u64,
    /// The file's type, one of `domain::training::ATTACHMENT_TYPES`.
    pub mime: String,
}

/// How much of the signed-in user's upload of an attachment the server holds.
#[utoipa::path(
    get,
    path = "/api/attachments/{sha256}/upload",
    params(("sha256" = String, Path, description = "The file's SHA-256, 64 lowercase hex digits")),
    responses(
        (status = 200, body = UploadState, description = "`offset` bytes are held (0: none); `complete` when this user has uploaded the whole file"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 403, body = super::ErrorBody, description = "An admin, who uploads nothing"),
        (status = 404, body = super::ErrorBody, description = "Not a digest"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; retry after `Retry-After` seconds")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id, sha256 = %raw))]
pub async fn upload_state(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
) -> Result<Json<UploadState>, ApiError> {
    refuse_admin(&user)?;
    let sha256 = digest(raw)?;
    if let Some(stored) = state.storage.uploaded_attachment(&sha256, user.id).await? {
        return Ok(Json(UploadState {
            offset: stored.size,
            complete: true,
        }));
    }
    let files = AttachmentFiles::new(&state.settings.data_dir);
    let offset = blocking(move || files.partial_len(&sha256, user.id)).await?;
    Ok(Json(UploadState {
        offset,
        complete: false,
    }))
}

/// Appends one chunk to the signed-in user's upload of an attachment.
#[utoipa::path(
    put,
    path = "/api/attachments/{sha256}",
    params(
        ("sha256" = String, Path, description = "The file's SHA-256, 64 lowercase hex digits"),
        ("offset" = u64, Query, description = "Where the chunk starts: the `offset` the server last answered"),
        ("size" = u64, Query, description = "The whole file's length in bytes, at most `max_attachment_bytes` of /api/health"),
        ("mime" = String, Query, description = "The file's type: image/png, image/jpeg, image/webp, image/gif or application/pdf")
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The chunk: at most 1 MiB, never past `size`"),
    responses(
        (status = 200, body = UploadState, description = "Appended (`complete: false`, send on from `offset`), or this user had already uploaded the file (`complete: true`, nothing written)"),
        (status = 201, body = UploadState, description = "This chunk completed the file, whose bytes match the digest: stored (once, however many people upload it)"),
        (status = 400, body = super::ErrorBody, description = "`offset`, `size` or `mime` missing or malformed, or `size` 0"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 403, body = super::ErrorBody, description = "An admin, who uploads nothing"),
        (status = 404, body = super::ErrorBody, description = "Not a digest"),
        (status = 409, body = super::OffsetMismatchBody, description = "The chunk does not start where the upload ends; resume from `offset`"),
        (status = 413, body = super::AttachmentTooLargeBody, description = "`size` over the limit (`attachment_too_large`, with `max_bytes`; nothing stored), or a chunk over 1 MiB (`payload_too_large`)"),
        (status = 415, body = super::ErrorBody, description = "A type attachments may not have"),
        (status = 422, body = super::ErrorBody, description = "The chunk runs past `size` (`invalid_body`), or the complete file has another SHA-256 (`hash_mismatch`: the upload is dropped, resend from 0)"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; retry after `Retry-After` seconds")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id, sha256 = %raw))]
pub async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    refuse_admin(&user)?;
    let sha256 = digest(raw)?;
    let Query(query) = query.map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))?;
    let max_bytes = state.settings.attachment_limit();
    if query.size > max_bytes {
        return Err(ApiError::AttachmentTooLarge { max_bytes });
    }
    if query.size == 0 {
        return Err(ApiError::InvalidQuery(
            "size must be at least 1".to_string(),
        ));
    }
    if !ATTACHMENT_TYPES.contains(&query.mime.as_str()) {
        return Err(ApiError::UnsupportedAttachmentType);
    }
    // A retry whose first answer was lost finds the work done.
    if let Some(stored) = state.storage.uploaded_attachment(&sha256, user.id).await? {
        return Ok(Json(UploadState {
            offset: stored.size,
            complete: true,
        })
        .into_response());
    }
    let bytes = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidBody(rejection.body_text())
            }
        })?;
    let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if query
        .offset
        .checked_add(length)
        .is_none_or(|end| end > query.size)
    {
        return Err(ApiError::InvalidBody(
            "the chunk runs past the file's size".to_string(),
        ));
    }

    let files = AttachmentFiles::new(&state.settings.data_dir);
    let (size, user_id) = (query.size, user.id);
    let appended = {
        let sha256 = sha256.clone();
        blocking(move || {
            files.append(Chunk {
                sha256: &sha256,
                user: user_id,
                offset: query.offset,
                size,
                bytes: &bytes,
            })
        })
        .await?
    };
    match appended {
        Appended::OffsetMismatch { offset } => Err(ApiError::OffsetMismatch { offset }),
        Appended::Partial { offset } => Ok(Json(UploadState {
            offset,
            complete: false,
        })
        .into_response()),
        Appended::HashMismatch => {
            tracing::info!(size, "upload dropped: its bytes have another digest");
            Err(ApiError::HashMismatch)
        }
        Appended::Stored => {
            let attachment = StoredAttachment {
                sha256,
                size,
                mime: query.mime,
            };
            let now = state.clock.now();
            state
                .storage
                .add_attachment_owner(&attachment, user.id, now)
                .await?;
            tracing::info!(size, mime = %attachment.mime, "attachment stored");
            Ok((
                StatusCode::CREATED,
                Json(UploadState {
                    offset: size,
                    complete: true,
                }),
            )
                .into_response())
        }
    }
}

/// An attachment's bytes, streamed from disk.
#[utoipa::path(
    get,
    path = "/api/attachments/{sha256}",
    params(("sha256" = String, Path, description = "The file's SHA-256, 64 lowercase hex digits")),
    responses(
        (status = 200, body = Vec<u8>, content_type = "application/octet-stream", description = "The bytes, with the type they were uploaded as in `Content-Type`, `Content-Length`, `Cache-Control: private, max-age=31536000, immutable`, `X-Content-Type-Options: nosniff` and `Content-Disposition: inline`; `Range` requests are answered 206"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 404, body = super::ErrorBody, description = "Not stored, not a digest, or not for this user: they did not upload it and no record they may see names it on behalf of an owner who did (one answer for all, so a digest reveals nothing); always for admins"),
        (status = 503, body = super::ErrorBody, description = "The database is busy; retry after `Retry-After` seconds")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id, sha256 = %raw))]
pub async fn download(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let sha256 = digest(raw)?;
    let access = state
        .storage
        .attachment_access(&sha256, user.id)
        .await?
        .filter(|access| may_read_attachment(&user, access))
        .ok_or(ApiError::NotFound)?;
    let path = AttachmentFiles::new(&state.settings.data_dir).stored_path(&sha256);
    // ServeFile streams the file in blocks and answers `Range` and `If-Modified-Since`.
    let mut response = match ServeFile::new(&path).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        // ServeFile's error type is `Infallible`: IO failures already are responses.
        Err(never) => match never {},
    };
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        // A row is written only after its file is in place: the file was lost since.
        return Err(ApiError::Internal(format!(
            "attachment {sha256} is recorded but {} is missing",
            path.display()
        )));
    }
    if status.is_server_error() {
        return Err(ApiError::Internal(format!(
            "cannot read attachment {sha256} from {}",
            path.display()
        )));
    }
    let headers = response.headers_mut();
    if status.is_success() {
        let mime = HeaderValue::from_str(&access.attachment.mime)
            .map_err(|_| ApiError::Internal(format!("attachment {sha256} has an unusable type")))?;
        headers.insert(header::CONTENT_TYPE, mime);
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline"),
        );
    }
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The digest a path names; anything but its normal spelling (64 lowercase hex digits)
/// names nothing.
fn digest(raw: String) -> Result<Sha256, ApiError> {
    Sha256::try_from(raw).map_err(|_| ApiError::NotFound)
}

/// Admins manage accounts and write no records, so they have nothing to attach.
fn refuse_admin(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Err(ApiError::Forbidden)
    } else {
        Ok(())
    }
}

/// Runs file work on tokio's blocking pool; a failure is internal (logged, never shown).
async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ApiError::Internal(format!("attachment files: {error}"))),
        Err(error) => Err(ApiError::Internal(format!("attachment task: {error}"))),
    }
}
