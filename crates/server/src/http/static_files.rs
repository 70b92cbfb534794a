//! The built app (trunk's `dist/`), served from the same origin as the API.
//!
//! - Files whose names carry trunk's content hash (`main-f4abdc3a819e61e6.css`) never change
//!   under that name: cached for a year, `immutable`.
//! - `index.html`, the service worker `sw.js` and every other unhashed file: `no-cache`, so a
//!   deploy reaches devices on their next online start.
//! - A path without an extension (`/leads/0190…`) is a client-side route: it gets
//!   `index.html` and the app's router takes over.
//! - `.br` / `.gz` siblings are sent when present and the browser accepts them.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use super::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// The router's fallback: everything outside `/api`.
pub async fn serve(State(state): State<AppState>, mut request: Request) -> Response {
    let path = request.uri().path();
    let file_name = path.rsplit('/').next().unwrap_or_default();
    if !file_name.contains('.') {
        *request.uri_mut() = Uri::from_static("/index.html");
    }
    let file_name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();

    let service = ServeDir::new(&state.settings.dist)
        .precompressed_br()
        .precompressed_gzip();
    let response = match service.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        // ServeDir's error type is `Infallible`: IO failures already are responses.
        Err(never) => match never {},
    };
    with_cache_policy(response, &file_name)
}

fn with_cache_policy(mut response: Response, file_name: &str) -> Response {
    let cacheable = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if cacheable {
        let policy = if is_hashed(file_name) {
            IMMUTABLE
        } else {
            NO_CACHE
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Whether a file name carries trunk's content hash: a `-` followed by the lowercase hex of a
/// 64-bit hash, then the extension or `_` (as in `app-0123456789abcdef_bg.wasm`). Trunk
/// writes the hash without leading zeros, so it has up to 16 digits: 15 one time in 16, 14
/// one time in 256; fewer than 12 are taken for something else.
fn is_hashed(file_name: &str) -> bool {
    file_name.split('-').skip(1).any(|part| {
        let hex = part
            .bytes()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        (12..=16).contains(&hex)
            && matches!(part.as_bytes().get(hex), None | Some(b'.') | Some(b'_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_trunk_hashes() {
        assert!(is_hashed("main-f4abdc3a819e61e6.css"));
        assert!(is_hashed("fieldbook-bd8eec31cd74fd59_bg.wasm"));
        assert!(is_hashed("fieldbook-ce43f09c97ae74f0.js"));
        // A hash with a leading zero, as trunk writes it: 15 digits.
        assert!(is_hashed("fieldbook-11a7b454e53e199_bg.wasm"));
        assert!(!is_hashed("icon-192.png"));
        assert!(!is_hashed("photo-2024.jpg"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("sw.js"));
        assert!(!is_hashed("manifest.webmanifest"));
        assert!(!is_hashed("icon-192.png"));
        assert!(!is_hashed("x-f4abdc3a819e61e6f.css"));
    }
}
