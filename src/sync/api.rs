//! The sync server's HTTP API, through the browser's `fetch`, on the app's own origin.
//!
//! Every call carries the session cookie (`credentials: same-origin`), gives up after
//! [`TIMEOUT`], and turns the answer into an [`ApiError`] the engine can act on: offline
//! (try later), signed out (ask to sign in, keep the outbox), a gap (resend), or a refusal
//! with the server's message key.

use std::time::Duration;

use domain::{Id, PullRequest, PullResponse, PushRequest, PushResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, Request, RequestCredentials, RequestInit, Response};

use crate::store::{Account, PushLimits, TeamMember};

/// How long a request may take before the engine treats the network as gone.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to the server did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// No answer: no network, the server is down, or it took too long.
    Offline,
    /// The session is missing or expired (401).
    SignedOut,
    /// Wrong login or password.
    BadCredentials,
    /// Too many failed sign-ins; try again after this many seconds.
    Locked { retry_after: u64 },
    /// A push skipped mutation numbers; resend from `expected`.
    Gap { expected: u64 },
    /// No such thing (404).
    NotFound,
    /// The push was larger than the server (or a proxy before it) takes (413), with the
    /// limits the server stated in its answer, if it did.
    TooLarge { stated: Option<PushLimits> },
    /// The server is too busy (503): try again after this many seconds.
    Busy { retry_after: u64 },
    /// Any other refusal, with the server's message key.
    Refused { status: u16, key: String },
}

impl ApiError {
    /// The message key the UI shows.
    pub fn key(&self) -> &'static str {
        match self {
            ApiError::Offline | ApiError::Busy { .. } => "sync.unreachable",
            ApiError::SignedOut => "sync.signed_out",
            ApiError::BadCredentials => "login.bad_credentials",
            ApiError::Locked { .. } => "login.locked",
            ApiError::Gap { .. }
            | ApiError::NotFound
            | ApiError::TooLarge { .. }
            | ApiError::Refused { .. } => "sync.refused",
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    expected: Option<u64>,
}

thread_local! {
    static LIMITS: std::cell::Cell<Option<PushLimits>> = const { std::cell::Cell::new(None) };
}

/// The push limits the server states, asked once per page load; until it answers, the
/// limits every server accepts.
pub async fn push_limits() -> PushLimits {
    if let Some(known) = LIMITS.with(|l| l.get()) {
        return known;
    }
    let fallback = PushLimits::default();
    let Ok((200, text, _)) = send("GET", "/api/health", None).await else {
        return fallback;
    };
    // A server older than the limits says nothing of them: the fallback.
    let Ok(stated) = serde_json::from_str::<PushLimits>(&text) else {
        return fallback;
    };
    let limits = PushLimits {
        max_push_bytes: stated.max_push_bytes,
        max_push_mutations: stated.max_push_mutations.min(fallback.max_push_mutations),
    };
    LIMITS.with(|l| l.set(Some(limits)));
    limits
}

thread_local! {
    static ATTACHMENT_LIMIT: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

#[derive(Deserialize)]
struct AttachmentLimit {
    max_attachment_bytes: u64,
}

/// The attachment size the server states in `/api/health` (`max_attachment_bytes`), once
/// it has answered during this page load; `None` before that, offline, or from a server
/// that states none (`domain::attachment_limit` then falls back).
pub fn attachment_limit_stated() -> Option<u64> {
    ATTACHMENT_LIMIT.with(|l| l.get())
}

/// Asks `/api/health` for the attachment limit, unless it is known already; a failure
/// leaves it unknown.
pub async fn ask_attachment_limit() {
    if attachment_limit_stated().is_some() {
        return;
    }
    let Ok((200, text, _)) = send("GET", "/api/health", None).await else {
        return;
    };
    if let Ok(stated) = serde_json::from_str::<AttachmentLimit>(&text) {
        ATTACHMENT_LIMIT.with(|l| l.set(Some(stated.max_attachment_bytes)));
    }
}

#[derive(Serialize)]
struct LoginBody<'a> {
    login: &'a str,
    password: &'a str,
}

/// Signs in; the server sets the session cookie.
pub async fn login(login: &str, password: &str) -> Result<Account, ApiError> {
    let body = serde_json::to_string(&LoginBody { login, password }).map_err(bad_body)?;
    let (status, text, retry_after) = send("POST", "/api/login", Some(body)).await?;
    match status {
        401 => Err(ApiError::BadCredentials),
        429 => Err(ApiError::Locked {
            retry_after: retry_after.unwrap_or(60),
        }),
        _ => decode(status, &text),
    }
}

#[derive(Serialize)]
struct PasswordBody<'a> {
    current_password: &'a str,
    new_password: &'a str,
}

/// Sets a new password; the server ends every session of the user and answers with a new
/// one for this device (its cookie). A refusal's key says why: `wrong_password`,
/// `password_too_short`, `password_too_common` …
pub async fn change_password(current: &str, new: &str) -> Result<Account, ApiError> {
    let body = serde_json::to_string(&PasswordBody {
        current_password: current,
        new_password: new,
    })
    .map_err(bad_body)?;
    let (status, text, retry_after) = send("POST", "/api/password", Some(body)).await?;
    match status {
        429 => Err(ApiError::Locked {
            retry_after: retry_after.unwrap_or(60),
        }),
        _ => decode(status, &text),
    }
}

#[derive(Deserialize)]
struct OneTimePassword {
    one_time_password: String,
}

/// A manager gives a rep of their team a new one-time password, which is returned.
pub async fn reset_password(rep: Id) -> Result<String, ApiError> {
    let path = format!("/api/team/{rep}/password");
    let (status, text, retry_after) = send("POST", &path, None).await?;
    if !(200..300).contains(&status) {
        return Err(refusal(status, &text, retry_after));
    }
    decode::<OneTimePassword>(status, &text).map(|answer| answer.one_time_password)
}

/// Ends the session on the server (best effort: offline, the cookie simply stays unused).
pub async fn logout() -> Result<(), ApiError> {
    let (status, text, _) = send("POST", "/api/logout", None).await?;
    no_content(status, &text)
}

/// Sends a batch of outbox entries.
pub async fn push(request: &PushRequest) -> Result<PushResponse, ApiError> {
    call("/api/sync/push", request).await
}

/// Asks for the next page of changes.
pub async fn pull(request: &PullRequest) -> Result<PullResponse, ApiError> {
    call("/api/sync/pull", request).await
}

/// The signed-in user's team (a manager's reps and themselves).
pub async fn team() -> Result<Vec<TeamMember>, ApiError> {
    let (status, text, retry_after) = send("GET", "/api/team", None).await?;
    if !(200..300).contains(&status) {
        return Err(refusal(status, &text, retry_after));
    }
    decode(status, &text)
}

/// Tells the server a conflict was dealt with.
pub async fn resolve_conflict(id: Id) -> Result<(), ApiError> {
    let path = format!("/api/sync/conflicts/{id}/resolve");
    let (status, text, _) = send("POST", &path, None).await?;
    no_content(status, &text)
}

/// An answer whose body does not matter when it succeeds.
fn no_content(status: u16, text: &str) -> Result<(), ApiError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(refusal(status, text, None))
    }
}

async fn call<B: Serialize, R: DeserializeOwned>(path: &str, body: &B) -> Result<R, ApiError> {
    let body = serde_json::to_string(body).map_err(bad_body)?;
    let (status, text, retry_after) = send("POST", path, Some(body)).await?;
    if !(200..300).contains(&status) {
        return Err(refusal(status, &text, retry_after));
    }
    decode(status, &text)
}

fn decode<R: DeserializeOwned>(status: u16, text: &str) -> Result<R, ApiError> {
    if !(200..300).contains(&status) {
        return Err(refusal(status, text, None));
    }
    serde_json::from_str(text).map_err(|e| ApiError::Refused {
        status,
        key: format!("unreadable answer: {e}"),
    })
}

fn refusal(status: u16, text: &str, retry_after: Option<u64>) -> ApiError {
    let body: Option<ErrorBody> = serde_json::from_str(text).ok();
    match status {
        401 => ApiError::SignedOut,
        // A session opened with a one-time password: sign in again, which asks for a new one.
        403 if body
            .as_ref()
            .is_some_and(|b| b.error == "password_change_required") =>
        {
            ApiError::SignedOut
        }
        404 => ApiError::NotFound,
        409 => match body.as_ref().and_then(|b| b.expected) {
            Some(expected) => ApiError::Gap { expected },
            None => ApiError::Refused {
                status,
                key: "conflict".into(),
            },
        },
        413 => ApiError::TooLarge {
            stated: serde_json::from_str(text).ok(),
        },
        // Too busy, or this session asked too fast (`rate_limited`): wait as told.
        429 | 503 => ApiError::Busy {
            retry_after: retry_after.unwrap_or(5),
        },
        // A proxy or a restarting server: the same as no answer, try again later.
        502 | 504 => ApiError::Offline,
        _ => ApiError::Refused {
            status,
            key: body.map(|b| b.error).unwrap_or_default(),
        },
    }
}

fn bad_body(err: serde_json::Error) -> ApiError {
    ApiError::Refused {
        status: 0,
        key: err.to_string(),
    }
}

/// Where an attachment's upload stands on the server.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct UploadState {
    /// How many bytes of this user's upload the server holds.
    #[serde(default)]
    pub offset: u64,
    /// Whether the server has the whole file from this user: nothing to send.
    #[serde(default)]
    pub complete: bool,
}

/// How far this user's upload of `sha256` got (0 when it never started).
pub async fn upload_state(sha256: &str) -> Result<UploadState, ApiError> {
    let path = format!("/api/attachments/{sha256}/upload");
    let (status, text, retry_after) = send("GET", &path, None).await?;
    if !(200..300).contains(&status) {
        return Err(refusal(status, &text, retry_after));
    }
    decode(status, &text)
}

/// Sends one chunk of an attachment at `offset` of its `size` bytes. A 409 says where the
/// server's copy really ends (`ApiError::Gap { expected: offset }`), so the caller resumes
/// from there.
pub async fn upload_chunk(
    sha256: &str,
    offset: u64,
    size: u64,
    mime: &str,
    chunk: &web_sys::Blob,
) -> Result<UploadState, ApiError> {
    let path = format!(
        "/api/attachments/{sha256}?offset={offset}&size={size}&mime={}",
        js_sys::encode_uri_component(mime)
    );
    let (status, text, retry_after) = fetch(
        "PUT",
        &path,
        Some((chunk.as_ref(), "application/octet-stream")),
    )
    .await?;
    if status == 409 {
        let at: Option<UploadState> = serde_json::from_str(&text).ok();
        return Err(ApiError::Gap {
            expected: at.map_or(0, |at| at.offset),
        });
    }
    if !(200..300).contains(&status) {
        return Err(refusal(status, &text, retry_after));
    }
    decode(status, &text)
}

/// An attachment's bytes, when this user may have them.
pub async fn download(sha256: &str) -> Result<web_sys::Blob, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Offline)?;
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_credentials(RequestCredentials::SameOrigin);
    // Like every call, it gives up after a while: a sync run waits for it under the lock.
    let controller = AbortController::new().ok();
    if let Some(controller) = &controller {
        init.set_signal(Some(&controller.signal()));
    }
    let path = format!("/api/attachments/{sha256}");
    let request = Request::new_with_str_and_init(&path, &init).map_err(|_| ApiError::Offline)?;
    let timer = controller.and_then(|controller| {
        leptos::prelude::set_timeout_with_handle(move || controller.abort(), DOWNLOAD_TIMEOUT).ok()
    });
    let result = async {
        let response: Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| ApiError::Offline)?
            .dyn_into()
            .map_err(|_| ApiError::Offline)?;
        let status = response.status();
        if !(200..300).contains(&status) {
            return Err(refusal(status, "", None));
        }
        let blob = JsFuture::from(response.blob().map_err(|_| ApiError::Offline)?)
            .await
            .map_err(|_| ApiError::Offline)?;
        blob.dyn_into().map_err(|_| ApiError::Offline)
    }
    .await;
    if let Some(timer) = timer {
        timer.clear();
    }
    result
}

/// How long one attachment may take to arrive (a file of tens of MB on a slow line).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// One request with a JSON body (or none); returns the status, the body text and any
/// `Retry-After` seconds.
async fn send(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, String, Option<u64>), ApiError> {
    match body {
        Some(body) => {
            let body = JsValue::from_str(&body);
            fetch(method, path, Some((&body, "application/json"))).await
        }
        None => fetch(method, path, None).await,
    }
}

/// One request with a body of the given content type, or none.
async fn fetch(
    method: &str,
    path: &str,
    body: Option<(&JsValue, &str)>,
) -> Result<(u16, String, Option<u64>), ApiError> {
    let window = web_sys::window().ok_or(ApiError::Offline)?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = Headers::new().map_err(|_| ApiError::Offline)?;
    if let Some((body, content_type)) = body {
        headers
            .set("Content-Type", content_type)
            .map_err(|_| ApiError::Offline)?;
        init.set_body(body);
    }
    init.set_headers(&headers);
    let controller = AbortController::new().ok();
    if let Some(controller) = &controller {
        init.set_signal(Some(&controller.signal()));
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(|_| ApiError::Offline)?;
    let timer = controller.and_then(|controller| {
        leptos::prelude::set_timeout_with_handle(move || controller.abort(), TIMEOUT).ok()
    });
    let answer = JsFuture::from(window.fetch_with_request(&request)).await;
    let result = read_answer(answer).await;
    if let Some(timer) = timer {
        timer.clear();
    }
    result
}

async fn read_answer(
    answer: Result<JsValue, JsValue>,
) -> Result<(u16, String, Option<u64>), ApiError> {
    // fetch rejects only when there was no HTTP answer at all.
    let response: Response = answer
        .map_err(|_| ApiError::Offline)?
        .dyn_into()
        .map_err(|_| ApiError::Offline)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse().ok());
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .map_err(|_| ApiError::Offline)?
            .as_string()
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((status, text, retry_after))
}
