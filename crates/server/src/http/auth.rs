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
}

impl From<&User> for UserView {
    fn from(user: &User) -> UserView {
        UserView {
            id: user.id,
            login: user.login.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            team_id: user.team_id,
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
    tracing::info!(user = %user.id, "signed in");

    let cookie = session_cookie(&token, ttl.num_seconds(), is_secure(&state, &headers));
    Ok(([(header::SET_COOKIE, cookie)], Json(UserView::from(&user))).into_response())
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
        (status = 200, body = UserView),
        (status = 401, body = super::ErrorBody, description = "No valid session")
    )
)]
#[tracing::instrument(skip_all)]
pub async fn me(CurrentUser(user): CurrentUser) -> Json<UserView> {
    Json(UserView::from(&user))
}

/// The user of the request's session cookie; refuses with 401 when there is none or it
/// expired. Later handlers authorize against this user, never against ids in the body.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<CurrentUser, ApiError> {
        let token = session_token(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let user = state
            .storage
            .session_user(&secrets::token_hash(token), state.clock.now())
            .await?
            .ok_or(ApiError::Unauthenticated)?;
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
