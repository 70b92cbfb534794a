//! The security headers every answer carries, the app's pages and the API's alike.
//!
//! - `Content-Security-Policy`: scripts only from this origin (the build moves trunk's
//!   inline boot script into a file: `xtask/src/pwa.rs`, `external_boot`), WebAssembly
//!   compiled from them (`'wasm-unsafe-eval'`, which allows no `eval` of JavaScript), styles
//!   only from the stylesheet, images from here and from the device's own blobs (attachments
//!   kept in IndexedDB are shown through object URLs), requests only to this server, no
//!   plugins, no `<base>`, forms posting only here, and no framing by anyone.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   `X-Frame-Options: DENY` (for browsers without `frame-ancestors`).
//! - `Permissions-Policy`: geolocation for this origin (the visit check-in), every other
//!   powerful feature off.
//! - `Strict-Transport-Security` when the server is told it is reached over HTTPS (the
//!   `--secure-cookies` setting): a browser that saw it never tries plain HTTP again.

use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// The policy the app runs under (the e2e suite checks the app runs with no violation).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' blob: data:; font-src 'self'; connect-src 'self'; \
     media-src 'self' blob:; worker-src 'self'; manifest-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Only geolocation, for this origin.
/// (Only features today's browsers know: an unknown name is logged as an error in the
/// console on every page.)
pub const PERMISSIONS: &str = "geolocation=(self), camera=(), microphone=(), payment=(), \
     usb=(), serial=(), hid=(), midi=(), display-capture=()";

/// A year, with subdomains left alone (the server does not know what else runs there).
pub const HSTS: &str = "max-age=31536000";

/// Adds the headers to `response` (keeping any a handler set itself).
pub fn secure(mut response: Response, hsts: bool) -> Response {
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(CONTENT_SECURITY_POLICY, CSP);
    set(X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(REFERRER_POLICY, "same-origin");
    set(X_FRAME_OPTIONS, "DENY");
    set(HeaderName::from_static("permissions-policy"), PERMISSIONS);
    if hsts {
        set(STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
