//! A static file server for a built `dist/`, shaped like the production host: exact content
//! types, the single-page-app fallback to `index.html`, and cache headers that let browsers
//! keep hashed assets forever while always revalidating the entry page.
//!
//! The request → file decision is a pure function (`resolve`) so its rules are unit-tested.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

/// Worker threads: enough for a browser's parallel asset requests on a 2-core machine.
const WORKERS: usize = 4;

pub const NO_CACHE: &str = "no-cache";
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// One line per request (interactive `run`/`serve`).
    Requests,
}

/// A running server; dropping it stops the workers.
pub struct StaticServer {
    server: Arc<Server>,
    workers: Vec<JoinHandle<()>>,
    url: String,
}

impl StaticServer {
    /// Serves `dist` on 127.0.0.1:`port`; port 0 picks a free one (see `url`).
    pub fn start(dist: &Path, port: u16, logging: Logging) -> Result<StaticServer, String> {
        let root = dist
            .canonicalize()
            .map_err(|error| format!("cannot serve {}: {error}", dist.display()))?;
        if !root.join("index.html").is_file() {
            return Err(format!(
                "{} has no index.html: build it first with `cargo xtask build`",
                root.display()
            ));
        }
        let server = Server::http(("127.0.0.1", port))
            .map_err(|error| format!("cannot listen on 127.0.0.1:{port}: {error}"))?;
        let url = match server.server_addr().to_ip() {
            Some(addr) => format!("http://{addr}"),
            None => format!("http://127.0.0.1:{port}"),
        };
        let server = Arc::new(server);
        let root = Arc::new(root);
        let workers = (0..WORKERS)
            .map(|_| {
                let server = Arc::clone(&server);
                let root = Arc::clone(&root);
                std::thread::spawn(move || {
                    // `recv` fails only once `unblock` is called: that is the stop signal.
                    while let Ok(request) = server.recv() {
                        handle(&root, request, logging);
                    }
                })
            })
            .collect();
        Ok(StaticServer {
            server,
            workers,
            url,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Blocks until the process is stopped (Ctrl-C).
    pub fn wait(mut self) {
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn handle(root: &Path, request: Request, logging: Logging) {
    let method = request.method().clone();
    let url = request.url().to_string();
    let (status, note, response) = match method {
        Method::Get | Method::Head => respond(root, &url),
        _ => (
            405,
            "method not allowed",
            text_response("method not allowed\n"),
        ),
    };
    let response = response.with_status_code(StatusCode(status));
    if logging == Logging::Requests || status >= 500 {
        println!("{method} {url} -> {status} {note}");
    }
    // A client that went away mid-response is not our error.
    let _ = request.respond(response);
}

type Reply = (u16, &'static str, Response<Box<dyn std::io::Read + Send>>);

fn respond(root: &Path, url: &str) -> Reply {
    let (file, note) = match resolve(url, |relative| root.join(relative).is_file()) {
        Resolved::File(relative) => (root.join(relative), ""),
        Resolved::SpaFallback => (root.join("index.html"), "(index.html)"),
        Resolved::NotFound => return (404, "not found", text_response("not found\n")),
        Resolved::Rejected => return (400, "rejected path", text_response("bad path\n")),
    };
    // Symlinks inside dist must not lead out of it.
    let inside = file
        .canonicalize()
        .map(|real| real.starts_with(root))
        .unwrap_or(false);
    if !inside {
        return (404, "outside dist", text_response("not found\n"));
    }
    let opened = match File::open(&file) {
        Ok(opened) => opened,
        Err(_) => return (500, "unreadable", text_response("cannot read file\n")),
    };
    let name = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Files have a known length: send it rather than chunking large ones (tiny_http's
    // default above 32 KiB), so the browser can show download progress for the wasm.
    let mut response = Response::from_file(opened)
        .with_chunked_threshold(usize::MAX)
        .boxed();
    for (key, value) in [
        ("Content-Type", content_type(&name)),
        ("Cache-Control", cache_control(&name)),
        ("X-Content-Type-Options", "nosniff"),
    ] {
        if let Some(header) = header(key, value) {
            response.add_header(header);
        }
    }
    (200, note, response)
}

fn text_response(body: &str) -> Response<Box<dyn std::io::Read + Send>> {
    let mut response = Response::from_string(body).boxed();
    if let Some(header) = header("Content-Type", "text/plain; charset=utf-8") {
        response.add_header(header);
    }
    response
}

fn header(key: &str, value: &str) -> Option<Header> {
    Header::from_bytes(key.as_bytes(), value.as_bytes()).ok()
}

/// What a request path maps to inside `dist`.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A file, relative to `dist`.
    File(PathBuf),
    /// A client-side route: serve `index.html`.
    SpaFallback,
    /// A missing asset (its name has an extension): a real 404.
    NotFound,
    /// Not a path we will look up at all (`..`, NUL, backslash, bad escapes).
    Rejected,
}

/// Maps a request target to a file. `is_file` answers for paths relative to `dist`.
pub fn resolve(url: &str, is_file: impl Fn(&Path) -> bool) -> Resolved {
    let Some(segments) = sanitize(url) else {
        return Resolved::Rejected;
    };
    if segments.is_empty() {
        return Resolved::SpaFallback;
    }
    let relative: PathBuf = segments.iter().collect();
    if is_file(&relative) {
        return Resolved::File(relative);
    }
    let last = segments.last().map(String::as_str).unwrap_or("");
    if url_path(url).ends_with('/') || !last.contains('.') {
        Resolved::SpaFallback
    } else {
        Resolved::NotFound
    }
}

/// The path part of a request target: no query string, no fragment.
fn url_path(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// Splits a request path into decoded segments, or `None` if any segment could step outside
/// `dist` or is not a plain file name.
pub fn sanitize(url: &str) -> Option<Vec<String>> {
    let path = url_path(url);
    if !path.starts_with('/') {
        return None;
    }
    let mut segments = Vec::new();
    for raw in path.split('/').filter(|segment| !segment.is_empty()) {
        let segment = percent_decode(raw)?;
        let unsafe_segment = segment == "."
            || segment == ".."
            || segment.contains(['/', '\\', '\0'])
            || segment.contains(':');
        if unsafe_segment {
            return None;
        }
        segments.push(segment);
    }
    Some(segments)
}

/// Decodes `%XX` escapes; `None` for malformed escapes or non-UTF-8 results.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The content type for a file name, by extension.
pub fn content_type(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Hashed assets never change under the same name, so browsers may keep them for a year;
/// everything else (index.html, the manifest, a service worker) must be revalidated.
pub fn cache_control(name: &str) -> &'static str {
    if name != "index.html" && is_hashed(name) {
        IMMUTABLE
    } else {
        NO_CACHE
    }
}

/// Whether a file name carries trunk's content hash: `-` then 12 to 16 lowercase hex digits
/// then `.` or `_`, as in `fieldbook-1a2b3c4d5e6f7a8b_bg.wasm` or `main-1a2b3c4d5e6f7a8b.css`.
/// (Trunk prints the Rust module's hash without zero padding, so it can be shorter than 16.)
pub fn is_hashed(name: &str) -> bool {
    name.match_indices('-').any(|(index, _)| {
        let rest = &name[index + 1..];
        let digits = rest
            .bytes()
            .take_while(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(byte))
            .count();
        (12..=16).contains(&digits) && matches!(rest.as_bytes().get(digits), Some(b'.' | b'_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(files: &'static [&'static str]) -> impl Fn(&Path) -> bool {
        move |path| files.iter().any(|file| Path::new(file) == path)
    }

    const DIST: &[&str] = &[
        "index.html",
        "fieldbook-1a2b3c4d5e6f7a8b_bg.wasm",
        "fieldbook-1a2b3c4d5e6f7a8b.js",
        "icons/icon 192.png",
    ];

    #[test]
    fn existing_files_are_served() {
        assert_eq!(
            resolve("/fieldbook-1a2b3c4d5e6f7a8b.js?v=1", only(DIST)),
            Resolved::File("fieldbook-1a2b3c4d5e6f7a8b.js".into())
        );
        assert_eq!(
            resolve("/icons/icon%20192.png", only(DIST)),
            Resolved::File("icons/icon 192.png".into())
        );
    }

    #[test]
    fn routes_fall_back_to_index_but_missing_assets_are_404() {
        assert_eq!(resolve("/", only(DIST)), Resolved::SpaFallback);
        assert_eq!(resolve("/leads/42", only(DIST)), Resolved::SpaFallback);
        assert_eq!(resolve("/leads/?q=a.b", only(DIST)), Resolved::SpaFallback);
        assert_eq!(resolve("/leads/j.doe/", only(DIST)), Resolved::SpaFallback);
        assert_eq!(resolve("/missing.js", only(DIST)), Resolved::NotFound);
        assert_eq!(resolve("/icons/none.png", only(DIST)), Resolved::NotFound);
    }

    #[test]
    fn traversal_and_odd_paths_are_rejected() {
        for url in [
            "/../etc/passwd",
            "/icons/../../secret",
            "/%2e%2e/secret",
            "/%2E%2E%2Fsecret",
            "/a%5c..%5csecret",
            "/a%00.js",
            "/C:/windows",
            "/bad%zz",
            "/half%2",
            "relative/path",
            "/%ff%fe",
        ] {
            assert_eq!(resolve(url, |_| true), Resolved::Rejected, "{url}");
        }
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("x_bg.wasm"), "application/wasm");
        assert_eq!(content_type("x.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("main.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a.json"), "application/json");
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("icon.svg"), "image/svg+xml");
        assert_eq!(content_type("icon.png"), "image/png");
        assert_eq!(content_type("favicon.ico"), "image/x-icon");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }

    #[test]
    fn only_hashed_assets_are_immutable() {
        assert_eq!(cache_control("index.html"), NO_CACHE);
        assert_eq!(
            cache_control("fieldbook-1a2b3c4d5e6f7a8b_bg.wasm"),
            IMMUTABLE
        );
        assert_eq!(cache_control("fieldbook-1a2b3c4d5e6f7a8b.js"), IMMUTABLE);
        assert_eq!(cache_control("main-0123456789abcdef.css"), IMMUTABLE);
        assert_eq!(cache_control("sw.js"), NO_CACHE);
        assert_eq!(cache_control("manifest.webmanifest"), NO_CACHE);
        assert_eq!(cache_control("icon-192.png"), NO_CACHE);
        assert_eq!(cache_control("main-0123456789ABCDEF.css"), NO_CACHE);
        assert_eq!(cache_control("fieldbook-23456789abcdef_bg.wasm"), IMMUTABLE);
        assert_eq!(cache_control("vendor.min-0123456789abcdef.js"), IMMUTABLE);
        assert_eq!(cache_control("photo-2024-01-01.png"), NO_CACHE);
        assert_eq!(cache_control("x-0123456789abcdef0.js"), NO_CACHE);
    }
}
