//! The server's integration tests: the real router, in-process, against real databases.
//!
//! Every test runs once per backend from [`backends`]: SQLite (a fresh file in a temp dir)
//! always, and PostgreSQL (a fresh schema) when `FIELDBOOK_TEST_POSTGRES_URL` is set, e.g.
//! `postgres://fieldbook@127.0.0.1:55432/postgres`. The line `backend: …` in a failing test's
//! output says which one failed.

// This whole file is test code: a failed unwrap is a failed test. clippy's
// allow-*-in-tests settings cover `#[test]` functions but not the shared helpers below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{TimeDelta, Utc};
use fieldbook_server::accounts::{self, AccountError, NewUser};
use fieldbook_server::clock::ManualClock;
use fieldbook_server::config::HttpSettings;
use fieldbook_server::http::{app, AppState};
use fieldbook_server::storage::postgres::PostgresStorage;
use fieldbook_server::storage::sqlite::SqliteStorage;
use fieldbook_server::storage::{Role, Storage};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt as _;

/// One database for one test; [`TestDb::open`] may be called again to get a second,
/// independent connection pool on the same data (a second server).
struct TestDb {
    name: &'static str,
    target: Target,
    /// Holds the SQLite file and the test's `dist/`; removed when the test ends.
    dir: TempDir,
}

enum Target {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl TestDb {
    async fn open(&self) -> Arc<dyn Storage> {
        match &self.target {
            Target::Sqlite(dir) => Arc::new(SqliteStorage::open(dir).await.unwrap()),
            Target::Postgres { url, schema } => Arc::new(
                PostgresStorage::connect_in_schema(url, schema)
                    .await
                    .unwrap(),
            ),
        }
    }

    fn dist(&self) -> PathBuf {
        self.dir.path().join("dist")
    }
}

/// The databases every test runs against.
fn backends() -> Vec<TestDb> {
    let sqlite_dir = TempDir::new().unwrap();
    let mut dbs = vec![TestDb {
        name: "sqlite",
        target: Target::Sqlite(sqlite_dir.path().join("data")),
        dir: sqlite_dir,
    }];
    if let Ok(url) = std::env::var("FIELDBOOK_TEST_POSTGRES_URL") {
        if !url.trim().is_empty() {
            dbs.push(TestDb {
                name: "postgres",
                target: Target::Postgres {
                    url,
                    schema: format!(
                        "test_{}",
                        fieldbook_server::secrets::new_id(Utc::now())
                            .unwrap()
                            .simple()
                    ),
                },
                dir: TempDir::new().unwrap(),
            });
        }
    }
    // CI runs through `cargo xtask test`, which always starts a PostgreSQL: a run there that
    // silently tested SQLite alone would hide a broken backend.
    if std::env::var_os("CI").is_some() {
        assert_eq!(
            dbs.len(),
            2,
            "CI must test PostgreSQL too: set FIELDBOOK_TEST_POSTGRES_URL"
        );
    }
    dbs
}

/// A server on a test database with a clock the test controls.
struct Server {
    router: Router,
    storage: Arc<dyn Storage>,
    clock: ManualClock,
}

async fn start(db: &TestDb) -> Server {
    start_with(db, HttpSettings::new(db.dist())).await
}

async fn start_with(db: &TestDb, settings: HttpSettings) -> Server {
    start_on(db, settings, ManualClock::new(Utc::now())).await
}

/// A server on `clock`; a second server shares the first one's clock.
async fn start_on(db: &TestDb, settings: HttpSettings, clock: ManualClock) -> Server {
    let storage = db.open().await;
    let state = AppState::with_clock(storage.clone(), settings, Arc::new(clock.clone()));
    Server {
        router: app(state),
        storage,
        clock,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// `name=value` of the session cookie this answer sets.
    fn session_cookie(&self) -> String {
        let set = self.header("set-cookie").expect("no Set-Cookie");
        set.split(';').next().unwrap().to_string()
    }
}

impl Server {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post_raw(&self, path: &str, body: impl Into<Body>, cookie: Option<&str>) -> Answer {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    async fn login(&self, login: &str, password: &str) -> Answer {
        let body = json!({ "login": login, "password": password }).to_string();
        self.post_raw("/api/login", body, None).await
    }

    async fn add_user(&self, login: &str, role: Role, team: Option<&str>) -> String {
        let new = NewUser {
            login: login.to_string(),
            display_name: format!("{login} display"),
            role,
            team: team.map(str::to_string),
        };
        let (_, password) = accounts::add_user(self.storage.as_ref(), new, self.clock_now())
            .await
            .unwrap();
        password
    }

    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use fieldbook_server::clock::Clock as _;
        self.clock.now()
    }

    async fn failures(&self, login: &str) -> u32 {
        let user = self
            .storage
            .user_by_login(login)
            .await
            .unwrap()
            .unwrap()
            .user;
        self.storage.login_throttle(user.id).await.unwrap().failures
    }
}

#[tokio::test]
async fn health_reports_ok_version_and_backend() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let answer = server.get("/api/health", None).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(
            answer.json(),
            json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "database": db.name })
        );
    }
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_that_me_accepts() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let password = server.add_user("wang", Role::Rep, None).await;

        let answer = server.login("  WANG ", &password).await;
        assert_eq!(answer.status, StatusCode::OK);
        let user = answer.json();
        assert_eq!(user["login"], "wang");
        assert_eq!(user["role"], "rep");
        assert_eq!(user["team_id"], Value::Null);
        let set_cookie = answer.header("set-cookie").unwrap();
        assert!(set_cookie.starts_with("fieldbook_session="), "{set_cookie}");
        for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000"] {
            assert!(set_cookie.contains(part), "{part} missing: {set_cookie}");
        }
        assert!(!set_cookie.contains("Secure"), "{set_cookie}");
        let token = answer.session_cookie();
        assert_eq!(token.len(), "fieldbook_session=".len() + 43);

        let me = server.get("/api/me", Some(&token)).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json(), user);

        // A session ends when it expires.
        server.clock.advance(TimeDelta::days(31));
        let me = server.get("/api/me", Some(&token)).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured_or_behind_an_https_proxy() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let password = server.add_user("li", Role::Manager, None).await;
        let body = json!({ "login": "li", "password": password }).to_string();
        let request = Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-proto", "https")
            .body(Body::from(body))
            .unwrap();
        let answer = server.send(request).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.header("set-cookie").unwrap().ends_with("; Secure"));

        let mut settings = HttpSettings::new(db.dist());
        settings.secure_cookies = true;
        let secure = start_with(&db, settings).await;
        let answer = secure.login("li", &password).await;
        assert!(answer.header("set-cookie").unwrap().ends_with("; Secure"));
    }
}

#[tokio::test]
async fn me_without_a_valid_session_is_401() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let answer = server.get("/api/me", None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.json()["error"], "unauthenticated");
        let answer = server
            .get("/api/me", Some("fieldbook_session=made-up-token"))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_login_get_the_same_401() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        server.add_user("zhao", Role::Rep, None).await;

        let wrong = server.login("zhao", "not-the-password").await;
        let unknown = server.login("nobody", "not-the-password").await;
        let invalid = server.login("has space", "x").await;
        for answer in [&wrong, &unknown, &invalid] {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
            assert!(answer.header("set-cookie").is_none());
        }
        assert_eq!(wrong.json(), unknown.json());
        assert_eq!(wrong.json(), invalid.json());
        assert_eq!(
            wrong.json(),
            json!({ "error": "invalid_credentials", "message": "Wrong login or password." })
        );
    }
}

#[tokio::test]
async fn failed_logins_lock_the_account_in_the_database() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let password = server.add_user("sun", Role::Rep, None).await;

        for attempt in 1..=5 {
            let answer = server.login("sun", "guess").await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        assert_eq!(server.failures("sun").await, 5);

        // Locked for 2^0 = 1 s: even the right password is refused, unchecked and uncounted.
        let locked = server.login("sun", &password).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(locked.header("retry-after"), Some("1"));
        assert_eq!(locked.json()["error"], "account_locked");
        assert!(locked.header("set-cookie").is_none());
        assert_eq!(server.failures("sun").await, 5);

        // A second server on the same database sees the same lock: it is not in memory.
        let other = start_on(&db, HttpSettings::new(db.dist()), server.clock.clone()).await;
        let answer = other.login("sun", &password).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);

        // After the lock, one more failure locks for 2 s.
        server.clock.advance(TimeDelta::seconds(1));
        assert_eq!(
            server.login("sun", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
        let locked = server.login("sun", &password).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(locked.header("retry-after"), Some("2"));

        // Once it ends, the right password signs in and resets the count.
        server.clock.advance(TimeDelta::seconds(2));
        assert_eq!(server.login("sun", &password).await.status, StatusCode::OK);
        assert_eq!(server.failures("sun").await, 0);
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_site_data() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let password = server.add_user("zhou", Role::Rep, None).await;
        let token = server.login("zhou", &password).await.session_cookie();
        assert_eq!(
            server.get("/api/me", Some(&token)).await.status,
            StatusCode::OK
        );

        let answer = server.post_raw("/api/logout", "", Some(&token)).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
        assert_eq!(
            answer.header("clear-site-data"),
            Some("\"cache\", \"cookies\", \"storage\"")
        );
        let expired = answer.header("set-cookie").unwrap();
        assert!(expired.starts_with("fieldbook_session=;"), "{expired}");
        assert!(expired.contains("Max-Age=0"), "{expired}");

        // The old cookie no longer works, even if a client kept it.
        let me = server.get("/api/me", Some(&token)).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn malformed_wrong_shape_and_oversized_bodies_are_refused_and_change_nothing() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        server.add_user("wu", Role::Rep, None).await;

        let malformed = server
            .post_raw("/api/login", r#"{"login": "wu", "password": "#, None)
            .await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert_eq!(malformed.json()["error"], "malformed_json");

        let wrong_shape = server.post_raw("/api/login", r#"{"login": 5}"#, None).await;
        assert_eq!(wrong_shape.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(wrong_shape.json()["error"], "invalid_body");

        let big_password = "x".repeat(1024 * 1024);
        let oversized = json!({ "login": "wu", "password": big_password }).to_string();
        let too_big = server.post_raw("/api/login", oversized, None).await;
        assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(too_big.json()["error"], "payload_too_large");

        let not_json = Request::post("/api/login")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("login=wu"))
            .unwrap();
        let answer = server.send(not_json).await;
        assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        for answer in [&malformed, &wrong_shape, &too_big, &answer] {
            assert!(answer.header("set-cookie").is_none());
            assert!(answer.json()["message"].is_string());
        }
        // No attempt was counted against the account.
        assert_eq!(server.failures("wu").await, 0);
    }
}

#[tokio::test]
async fn cli_functions_add_teams_and_users_and_reset_passwords() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let storage = server.storage.as_ref();
        let now = Utc::now();

        let team = accounts::add_team(storage, " 华东一组 ", now)
            .await
            .unwrap();
        assert_eq!(team.name, "华东一组");
        assert!(matches!(
            accounts::add_team(storage, "华东一组", now).await,
            Err(AccountError::DuplicateTeam(_))
        ));

        let new = |login: &str, team: Option<&str>| NewUser {
            login: login.to_string(),
            display_name: "王小明".to_string(),
            role: Role::Manager,
            team: team.map(str::to_string),
        };
        let (user, password) = accounts::add_user(storage, new("Wang", Some("华东一组")), now)
            .await
            .unwrap();
        assert_eq!(user.login, "wang");
        assert_eq!(user.team_id, Some(team.id));
        assert!(matches!(
            accounts::add_user(storage, new("WANG", None), now).await,
            Err(AccountError::DuplicateLogin(_))
        ));
        assert!(matches!(
            accounts::add_user(storage, new("li", Some("no such team")), now).await,
            Err(AccountError::UnknownTeam(_))
        ));
        assert!(matches!(
            accounts::reset_password(storage, "nobody").await,
            Err(AccountError::UnknownUser(_))
        ));

        let answer = server.login("wang", &password).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json()["team_id"], team.id.to_string());
        assert_eq!(answer.json()["display_name"], "王小明");
        let token = answer.session_cookie();

        // A reset replaces the password and ends existing sessions.
        let fresh = accounts::reset_password(storage, "WANG").await.unwrap();
        assert_ne!(fresh, password);
        assert_eq!(
            server.login("wang", &password).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            server.get("/api/me", Some(&token)).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(server.login("wang", &fresh).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn first_start_creates_exactly_one_admin() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        // Two servers starting together on one database.
        let (first, second) = (db.open().await, db.open().await);
        let now = Utc::now();
        let (a, b) = tokio::join!(
            accounts::ensure_first_admin(first.as_ref(), now),
            accounts::ensure_first_admin(second.as_ref(), now)
        );
        let passwords: Vec<String> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(passwords.len(), 1, "exactly one server creates the admin");
        assert_eq!(first.count_users().await.unwrap(), 1);
        assert_eq!(
            accounts::ensure_first_admin(first.as_ref(), now)
                .await
                .unwrap(),
            None
        );

        let server = start(&db).await;
        let answer = server.login("admin", &passwords[0]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json()["role"], "admin");
    }
}

#[tokio::test]
async fn openapi_lists_the_endpoints_and_schemas() {
    let db = backends().remove(0);
    let server = start(&db).await;
    let answer = server.get("/api/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc = answer.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/health",
        "/api/login",
        "/api/logout",
        "/api/me",
        "/api/openapi.json",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    for schema in ["Health", "LoginRequest", "UserView", "Role", "ErrorBody"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
}

fn write(dir: &Path, name: &str, contents: &[u8]) {
    std::fs::write(dir.join(name), contents).unwrap();
}

#[tokio::test]
async fn static_files_are_cached_by_kind_and_routes_fall_back_to_the_app() {
    let db = backends().remove(0);
    let dist = db.dist();
    std::fs::create_dir_all(&dist).unwrap();
    write(
        &dist,
        "index.html",
        b"<!doctype html><title>Fieldbook</title>",
    );
    write(&dist, "sw.js", b"// service worker");
    write(&dist, "main-f4abdc3a819e61e6.css", b"body{}");
    write(&dist, "main-f4abdc3a819e61e6.css.br", b"brotli bytes");
    let server = start(&db).await;

    let asset = server.get("/main-f4abdc3a819e61e6.css", None).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(
        asset.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(asset.body, b"body{}");

    let request = Request::get("/main-f4abdc3a819e61e6.css")
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .unwrap();
    let compressed = server.send(request).await;
    assert_eq!(compressed.header("content-encoding"), Some("br"));
    assert_eq!(compressed.body, b"brotli bytes");

    for path in [
        "/",
        "/index.html",
        "/leads/0190a3b2-0000-7000-8000-000000000000",
    ] {
        let page = server.get(path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.header("cache-control"), Some("no-cache"), "{path}");
        assert!(
            String::from_utf8_lossy(&page.body).contains("Fieldbook"),
            "{path}"
        );
    }
    let worker = server.get("/sw.js", None).await;
    assert_eq!(worker.header("cache-control"), Some("no-cache"));

    assert_eq!(
        server
            .get("/missing-0123456789abcdef.js", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let api = server.get("/api/no-such-thing", None).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.json()["error"], "not_found");
}
