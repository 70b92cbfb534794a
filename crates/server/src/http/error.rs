//! The API's one error type and its one `IntoResponse`.
//!
//! Every refusal is JSON: `{ "error": "<message key>", "message": "<English text>" }`; the app
//! translates the key and may show the English text as a fallback. Internal failures answer a
//! fixed sentence and are logged here, once, with their cause; the cause never reaches the
//! client. A busy database is no failure: 503 `busy` with `Retry-After`, logged as a warning.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::PushLimits;
use serde::Serialize;

use crate::accounts::{AccountError, ChangeError, LoginError, WeakPassword};
use crate::secrets::SecretError;
use crate::storage::StorageError;

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable message key, e.g. `invalid_credentials`.
    pub error: String,
    /// The same in English.
    pub message: String,
}

/// The body of a 409 answer to a push with a gap in its mutation numbers.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SyncGapBody {
    /// `sync.gap`.
    pub error: String,
    /// The same in English.
    pub message: String,
    /// The next mutation number the server can apply: resend from here.
    pub expected: u64,
}

/// The body of a 413 answer to a push: over the byte limit or the mutation cap. The app
/// reads the limits with `domain::PushLimits` and splits its batch.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PushTooLargeBody {
    /// `push_too_large`.
    pub error: String,
    /// The same in English.
    pub message: String,
    /// The largest push body the server reads, in bytes.
    pub max_bytes: u64,
    /// The most mutations one push may carry.
    pub max_mutations: u32,
}

/// The body of a 413 answer to an upload declaring a file over the attachment limit.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AttachmentTooLargeBody {
    /// `attachment_too_large`.
    pub error: String,
    /// The same in English.
    pub message: String,
    /// The largest attachment the server takes, in bytes (also `max_attachment_bytes` in
    /// /api/health).
    pub max_bytes: u64,
}

/// The body of a 409 answer to an upload chunk that does not start where the server's
/// partial upload ends.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OffsetMismatchBody {
    /// `offset_mismatch`.
    pub error: String,
    /// The same in English.
    pub message: String,
    /// How many bytes of the upload the server holds: resume from here.
    pub offset: u64,
}

/// Why an API request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Unknown login or wrong password.
    #[error("wrong login or password")]
    InvalidCredentials,
    /// No valid session cookie.
    #[error("not signed in")]
    Unauthenticated,
    /// Too many failed logins; retry after this many seconds.
    #[error("account locked")]
    AccountLocked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// The session made requests faster than its rate; retry after this many seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a request is allowed again.
        retry_after: u64,
    },
    /// The body is not JSON.
    #[error("malformed JSON")]
    MalformedJson,
    /// The body is JSON of the wrong shape; the text names the field.
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// The query string is missing a parameter or has one of the wrong form.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The body is not declared as JSON.
    #[error("expected application/json")]
    UnsupportedMediaType,
    /// The body is over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// A push over the byte limit or the mutation cap; the answer carries both.
    #[error("push too large")]
    PushTooLarge(PushLimits),
    /// An upload declares a file over the attachment limit; the answer carries the limit.
    #[error("attachment too large")]
    AttachmentTooLarge {
        /// The largest attachment the server takes, in bytes.
        max_bytes: u64,
    },
    /// An upload declares a type attachments may not have.
    #[error("unsupported attachment type")]
    UnsupportedAttachmentType,
    /// An upload chunk does not start where the partial upload ends; the client resumes
    /// from `offset`.
    #[error("upload offset mismatch")]
    OffsetMismatch {
        /// How many bytes the server holds.
        offset: u64,
    },
    /// A complete upload's bytes do not have the digest it was sent under; nothing was
    /// stored.
    #[error("attachment hash mismatch")]
    HashMismatch,
    /// No such API route, or nothing under it the user may see: the same answer, so a 404
    /// tells nobody whether something exists.
    #[error("not found")]
    NotFound,
    /// Signed in, but not allowed (a sync client id that belongs to another user).
    #[error("forbidden")]
    Forbidden,
    /// Signed in with a one-time password: only `/api/me`, `/api/logout` and
    /// `/api/password` answer until a new password is chosen.
    #[error("password change required")]
    PasswordChangeRequired,
    /// The current password given to change it is wrong.
    #[error("wrong password")]
    WrongPassword,
    /// The new password is refused; the key says why.
    #[error("weak password: {0}")]
    WeakPassword(WeakPassword),
    /// A push skipped mutation numbers; the device must resend from `expected`.
    #[error("mutation numbers have a gap")]
    SyncGap {
        /// The next number the server can apply.
        expected: u64,
    },
    /// The database is too busy to answer in time (no free connection, a lock or statement
    /// timeout): 503 with `Retry-After`. Nothing was written; the client tries again later.
    #[error("server busy: {0}")]
    Busy(String),
    /// Anything the client cannot fix: logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The `Retry-After` of a busy answer, in seconds: the load that made it busy is usually
/// gone by then, and devices add their own backoff.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidCredentials | ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::AccountLocked { .. } | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::MalformedJson | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidBody(_) | ApiError::HashMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedAttachmentType => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::PayloadTooLarge
            | ApiError::PushTooLarge(_)
            | ApiError::AttachmentTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Forbidden | ApiError::PasswordChangeRequired | ApiError::WrongPassword => {
                StatusCode::FORBIDDEN
            }
            ApiError::WeakPassword(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::SyncGap { .. } | ApiError::OffsetMismatch { .. } => StatusCode::CONFLICT,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn key(&self) -> &'static str {
        match self {
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::AccountLocked { .. } => "account_locked",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::MalformedJson => "malformed_json",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::PushTooLarge(_) => "push_too_large",
            ApiError::AttachmentTooLarge { .. } => "attachment_too_large",
            ApiError::UnsupportedAttachmentType => "unsupported_attachment_type",
            ApiError::OffsetMismatch { .. } => "offset_mismatch",
            ApiError::HashMismatch => "hash_mismatch",
            ApiError::NotFound => "not_found",
            ApiError::Forbidden => "forbidden",
            ApiError::PasswordChangeRequired => "password_change_required",
            ApiError::WrongPassword => "wrong_password",
            ApiError::WeakPassword(weak) => weak.key(),
            ApiError::SyncGap { .. } => "sync.gap",
            ApiError::Busy(_) => "busy",
            ApiError::Internal(_) => "internal",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::InvalidCredentials => "Wrong login or password.".to_string(),
            ApiError::Unauthenticated => "Please sign in.".to_string(),
            ApiError::AccountLocked { retry_after } => {
                format!("Too many failed sign-ins. Try again in {retry_after} seconds.")
            }
            ApiError::RateLimited { retry_after } => {
                format!("Too many requests. Try again in {retry_after} seconds.")
            }
            ApiError::MalformedJson => "The request body is not valid JSON.".to_string(),
            ApiError::InvalidBody(detail) => format!("The request body is invalid: {detail}"),
            ApiError::InvalidQuery(detail) => format!("The query string is invalid: {detail}"),
            ApiError::UnsupportedMediaType => {
                "Send the request body as application/json.".to_string()
            }
            ApiError::PayloadTooLarge => "The request body is too large.".to_string(),
            ApiError::PushTooLarge(limits) => format!(
                "Too much in one push: send at most {} mutations and {} bytes.",
                limits.max_push_mutations, limits.max_push_bytes
            ),
            ApiError::AttachmentTooLarge { max_bytes } => {
                format!("The file is too large: attach at most {max_bytes} bytes.")
            }
            ApiError::UnsupportedAttachmentType => format!(
                "Attach only these types: {}.",
                domain::training::ATTACHMENT_TYPES.join(", ")
            ),
            ApiError::OffsetMismatch { offset } => {
                format!("The server holds {offset} bytes of this upload; resume from there.")
            }
            ApiError::HashMismatch => {
                "The file's bytes do not match its SHA-256; nothing was stored.".to_string()
            }
            ApiError::NotFound => "There is nothing here.".to_string(),
            ApiError::Forbidden => "You may not do that.".to_string(),
            ApiError::PasswordChangeRequired => {
                "Choose a new password before anything else.".to_string()
            }
            ApiError::WrongPassword => "The current password is wrong.".to_string(),
            ApiError::WeakPassword(weak) => {
                let mut text = weak.to_string();
                if let Some(first) = text.get(..1) {
                    text.replace_range(..1, &first.to_uppercase());
                }
                format!("{text}.")
            }
            ApiError::SyncGap { expected } => {
                format!("Some changes are missing; resend from number {expected}.")
            }
            ApiError::Busy(_) => {
                format!("The server is busy. Try again in {BUSY_RETRY_AFTER_SECS} seconds.")
            }
            ApiError::Internal(_) => {
                "Something went wrong on the server. Please try again later.".to_string()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            // The one place a server-side failure is logged.
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Busy(cause) => tracing::warn!(%cause, "busy: asked to retry"),
            _ => {}
        }
        let body = ErrorBody {
            error: self.key().to_string(),
            message: self.message(),
        };
        let mut response = match self {
            // The device needs the number to resend from, so this body has one more field.
            ApiError::SyncGap { expected } => (
                status,
                Json(SyncGapBody {
                    error: body.error,
                    message: body.message,
                    expected,
                }),
            )
                .into_response(),
            // The device splits its batch to fit, so it needs the limits.
            ApiError::PushTooLarge(limits) => (
                status,
                Json(PushTooLargeBody {
                    error: body.error,
                    message: body.message,
                    max_bytes: limits.max_push_bytes,
                    max_mutations: limits.max_push_mutations,
                }),
            )
                .into_response(),
            // The device checks its files against the limit before uploading them.
            ApiError::AttachmentTooLarge { max_bytes } => (
                status,
                Json(AttachmentTooLargeBody {
                    error: body.error,
                    message: body.message,
                    max_bytes,
                }),
            )
                .into_response(),
            // The device resumes its upload from the server's offset.
            ApiError::OffsetMismatch { offset } => (
                status,
                Json(OffsetMismatchBody {
                    error: body.error,
                    message: body.message,
                    offset,
                }),
            )
                .into_response(),
            _ => (status, Json(body)).into_response(),
        };
        let retry_after = match self {
            ApiError::AccountLocked { retry_after } | ApiError::RateLimited { retry_after } => {
                Some(retry_after)
            }
            ApiError::Busy(_) => Some(BUSY_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(retry_after) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::JsonSyntaxError(_) => ApiError::MalformedJson,
            JsonRejection::JsonDataError(error) => ApiError::InvalidBody(error.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            // Reading the body failed; over the limit is the one cause a client can fix.
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::InvalidBody(other.body_text()),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> ApiError {
        match error {
            StorageError::ForeignClient => ApiError::Forbidden,
            StorageError::Busy(cause) => ApiError::Busy(cause),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<SecretError> for ApiError {
    fn from(error: SecretError) -> ApiError {
        match error {
            SecretError::Busy => ApiError::Busy(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> ApiError {
        match error {
            AccountError::Storage(error) => error.into(),
            AccountError::Secret(error) => error.into(),
            AccountError::NotYours => ApiError::NotFound,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> ApiError {
        match error {
            LoginError::InvalidCredentials => ApiError::InvalidCredentials,
            LoginError::Locked(retry_after) => ApiError::AccountLocked { retry_after },
            LoginError::Account(error) => error.into(),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(error: ChangeError) -> ApiError {
        match error {
            ChangeError::WrongPassword => ApiError::WrongPassword,
            ChangeError::Weak(weak) => ApiError::WeakPassword(weak),
            ChangeError::Locked(retry_after) => ApiError::AccountLocked { retry_after },
            ChangeError::Account(error) => error.into(),
        }
    }
}
