//! Signing in and out, and [`CurrentUser`], the extractor every later handler uses to know
//! who is asking.
//!
//! The session is a random token in an `HttpOnly; SameSite=Strict` cookie: scripts cannot
//! read it, and other sites cannot make the browser send it. The database keeps only the
//! token's SHA-256, so nothing stored can be replayed as a cookie.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ApiError, ApiJson, AppState};
use crate::accounts;
use crate::secrets;
use crate::storage::{Role, Session, User};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "fieldbook_session";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/password", post(change_password))
}

/// `POST /api/login` body.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// The sign-in name (case does not matter).
    pub login: String,
    /// The password.
    pub password: String,
}

// Written by hand so a logged request never shows the password.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// A user as the app sees them.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UserView {
    /// The user's id.
    pub id: Uuid,
    /// The sign-in name.
    pub login: String,
    /// The name shown to colleagues.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The user's team, if any.
    pub team_id: Option<Uuid>,
    /// Signed in with a one-time password: every other endpoint answers 403
    /// `password_change_required` until `POST /api/password` sets a new one.
    pub must_change_password: bool,
}

impl From<&User> for UserView {
    fn from(user: &User) -> UserView {
        UserView {
            id: user.id,
            login: user.login.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            team_id: user.team_id,
            must_change_password: user.must_change_password,
        }
    }
}

/// Signs in and sets the session cookie.
#[utoipa::path(
    post,
    path = "/api/login",
    request_body = LoginRequest,
    responses(
        (status = 200, body = UserView, description = "Signed in; `Set-Cookie: fieldbook_session=…`"),
        (status = 401, body = super::ErrorBody, description = "Wrong login or password (the same answer for both)"),
        (status = 429, body = super::ErrorBody, description = "Too many failed sign-ins; see `Retry-After`"),
        (status = 400, body = super::ErrorBody, description = "Malformed JSON"),
        (status = 413, body = super::ErrorBody, description = "Body over 1 MiB"),
        (status = 422, body = super::ErrorBody, description = "JSON of the wrong shape")
    )
)]
#[tracing::instrument(skip_all, fields(login = %request.login))]
pub async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let decoy = state.decoy_hash().await?;
    let from = peer.map(|axum::Extension(ConnectInfo(peer))| source_address(peer, &headers));
    let user = accounts::sign_in(
        state.storage.as_ref(),
        &request.login,
        &request.password,
        from,
        now,
        decoy,
    )
    .await?;
    let response = start_session(&state, &user, &headers).await?;
    tracing::info!(user = %user.id, "signed in");
    Ok(response)
}

/// A new session for `user`: stored (as its token's hash), set as the cookie, and answered
/// with the user.
async fn start_session(
    state: &AppState,
    user: &User,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let token = secrets::session_token()?;
    let ttl = state.settings.session_ttl;
    state
        .storage
        .insert_session(&Session {
            token_hash: secrets::token_hash(&token),
            user_id: user.id,
            created_at: now,
            expires_at: now + ttl,
        })
        .await?;
    // Sweeping here keeps the table small without a background task that every one of
    // several servers would run.
    state.storage.delete_expired_sessions(now).await?;
    let cookie = session_cookie(&token, ttl.num_seconds(), is_secure(state, headers));
    Ok(([(header::SET_COOKIE, cookie)], Json(UserView::from(user))).into_response())
}

/// `POST /api/password` body.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct ChangePasswordRequest {
    /// The password signed in with (the one-time password, the first time).
    pub current_password: String,
    /// The new password: 12–128 characters, not the current one, without the login or the
    /// name, and not common in breaches or built on an easily guessed pattern.
    pub new_password: String,
}

// Written by hand so a logged request never shows a password.
impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePasswordRequest")
            .finish_non_exhaustive()
    }
}

/// Sets a new password for the signed-in user. Every session of the user ends, on every
/// device; this one continues in a new session (the answer sets its cookie).
#[utoipa::path(
    post,
    path = "/api/password",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, body = UserView, description = "Changed; `Set-Cookie: fieldbook_session=…` (a new session)"),
        (status = 401, body = super::ErrorBody, description = "No valid session"),
        (status = 403, body = super::ErrorBody, description = "`wrong_password`: the current password is wrong (counted like a failed sign-in)"),
        (status = 422, body = super::ErrorBody, description = "The new password is refused: `password_too_short`, `password_too_long`, `password_unchanged`, `password_personal` or `password_too_common`; or JSON of the wrong shape"),
        (status = 429, body = super::ErrorBody, description = "Too many wrong passwords, or this session asked too fast; see `Retry-After`"),
        (status = 413, body = super::ErrorBody, description = "Body over 1 MiB")
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn change_password(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    headers: HeaderMap,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<Response, ApiError> {
    accounts::change_password(
        state.storage.as_ref(),
        &user,
        &request.current_password,
        &request.new_password,
        state.clock.now(),
    )
    .await?;
    let changed = User {
        must_change_password: false,
        ..user
    };
    let response = start_session(&state, &changed, &headers).await?;
    tracing::info!(user = %changed.id, "password changed");
    Ok(response)
}

/// Signs out: ends the session, expires the cookie and asks the browser to wipe this
/// origin's cache, cookies and storage (the app's IndexedDB).
#[utoipa::path(
    post,
    path = "/api/logout",
    responses((status = 204, description = "Signed out (also when no session was sent)"))
)]
#[tracing::instrument(skip_all)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        state
            .storage
            .delete_session(&secrets::token_hash(token))
            .await?;
    }
    let cookie = session_cookie("", 0, is_secure(&state, &headers));
    Ok((
        StatusCode::NO_CONTENT,
        [
            (header::SET_COOKIE, cookie),
            (
                header::HeaderName::from_static("clear-site-data"),
                HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
            ),
        ],
    )
        .into_response())
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/me",
    responses(
        (status = 200, body = UserView, description = "The signed-in user (also while the password is a one-time password)"),
        (status = 401, body = super::ErrorBody, description = "No valid session")
    )
)]
#[tracing::instrument(skip_all)]
pub async fn me(SignedIn(user): SignedIn) -> Json<UserView> {
    Json(UserView::from(&user))
}

/// The user of the request's session cookie, also while their password is a one-time
/// password; refuses with 401 when there is none or it expired, and with 429 `rate_limited`
/// past the session's request rate ([`super::limits`]). Only `/api/me` and
/// `/api/password` take it: every other handler takes [`CurrentUser`].
#[derive(Clone, Debug)]
pub struct SignedIn(pub User);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<SignedIn, ApiError> {
        let token = session_token(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let hash = secrets::token_hash(token);
        let now = state.clock.now();
        // Counted before the database is asked: a flood costs no query. A made-up token
        // gets a bucket too, and the 401 after it.
        let settings = &state.settings;
        state
            .rates
            .take(&hash, now, settings.session_burst, settings.session_rate)
            .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
        let user = state
            .storage
            .session_user(&hash, now)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(SignedIn(user))
    }
}

/// The user of the request's session cookie; refuses with 401 when there is none or it
/// expired, and with 403 `password_change_required` while the password is a one-time
/// password. Later handlers authorize against this user, never against ids in the body.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<CurrentUser, ApiError> {
        let SignedIn(user) = SignedIn::from_request_parts(parts, state).await?;
        if user.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(CurrentUser(user))
    }
}

/// The session token from the `Cookie` headers, if any.
fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// Whether the cookie must be `Secure`: always when configured, and per request when a
/// reverse proxy says the browser spoke https.
/// Where a sign-in comes from, for the per-address throttle: the peer, or, when the peer is
/// this machine (a reverse proxy beside the server), the address that proxy appended last to
/// `X-Forwarded-For`. A remote peer's `X-Forwarded-For` is not believed: anyone can write one.
fn source_address(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.ip();
    if !peer.is_loopback() {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .next_back()
        .unwrap_or(peer)
}

fn is_secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

fn session_cookie(token: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    );
    // The token is base64url, so the value is always a valid header; the fallback (an
    // expired empty cookie) is never reached but keeps this path free of panics.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| {
        HeaderValue::from_static("fieldbook_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; lang=zh"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=b; fieldbook_session=tok_en-1; c=d"),
        );
        assert_eq!(session_token(&headers), Some("tok_en-1"));
        assert_eq!(session_token(&HeaderMap::new()), None);
    }

    #[test]
    fn the_source_address_believes_only_a_proxy_on_this_machine() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("10.9.9.9, 203.0.113.9"),
        );
        let remote: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let ip = |raw: &str| raw.parse::<IpAddr>().unwrap();
        // A remote peer's header is anyone's to write: the peer it is.
        assert_eq!(source_address(remote, &headers), ip("198.51.100.7"));
        // Behind a proxy on this machine: the hop that proxy appended.
        assert_eq!(source_address(local, &headers), ip("203.0.113.9"));
        assert_eq!(source_address(local, &HeaderMap::new()), ip("127.0.0.1"));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_on_request() {
        let plain = session_cookie("abc", 60, false);
        assert_eq!(
            plain.to_str().unwrap(),
            "fieldbook_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert!(session_cookie("abc", 60, true)
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }
}
