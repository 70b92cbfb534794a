//! The server's integration tests: the real router, in-process, against real databases.
//!
//! Every test runs once per backend from [`backends`]: SQLite (a fresh file in a temp dir)
//! always, and PostgreSQL (a fresh schema) when `FIELDBOOK_TEST_POSTGRES_URL` is set, e.g.
//! `postgres://fieldbook@127.0.0.1:55432/postgres`. The line `backend: …` in a failing test's
//! output says which one failed.
//!
//! The `sync_*` tests drive push and pull as devices would: users made with the account
//! functions, signed in through `/api/login`, each device a client id with its own
//! mutation numbers (see `Device`).

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
use fieldbook_server::storage::{PoolSize, PushOutcome, Role, Storage};
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

    /// The data directory (the SQLite file's folder too, on SQLite).
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A server's settings: this test's `dist/` and data directory.
    fn settings(&self) -> HttpSettings {
        HttpSettings::new(self.dist(), self.data_dir())
    }

    /// A storage with a pool of `size`, and that pool, so a test can take its connections.
    async fn open_sized(&self, size: PoolSize) -> (Arc<dyn Storage>, TestPool) {
        match &self.target {
            Target::Sqlite(dir) => {
                let storage = SqliteStorage::open_with(dir, size).await.unwrap();
                let pool = TestPool::Sqlite(storage.pool().clone());
                (Arc::new(storage), pool)
            }
            Target::Postgres { url, schema } => {
                let storage = PostgresStorage::connect_in_schema_with(url, schema, size)
                    .await
                    .unwrap();
                let pool = TestPool::Postgres(storage.pool().clone());
                (Arc::new(storage), pool)
            }
        }
    }
}

/// The pool behind a storage from [`TestDb::open_sized`].
enum TestPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A connection taken from a [`TestPool`]; dropping it gives it back.
#[allow(dead_code)]
enum Held {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl TestPool {
    async fn take(&self) -> Held {
        match self {
            TestPool::Sqlite(pool) => Held::Sqlite(pool.acquire().await.unwrap()),
            TestPool::Postgres(pool) => Held::Postgres(pool.acquire().await.unwrap()),
        }
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
    start_with(db, db.settings()).await
}

async fn start_with(db: &TestDb, settings: HttpSettings) -> Server {
    start_on(db, settings, ManualClock::new(Utc::now())).await
}

/// A server on `clock`; a second server shares the first one's clock.
async fn start_on(db: &TestDb, settings: HttpSettings, clock: ManualClock) -> Server {
    serve(db.open().await, settings, clock)
}

/// A server on `storage`.
fn serve(storage: Arc<dyn Storage>, settings: HttpSettings, clock: ManualClock) -> Server {
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
    /// The body as `T`, after checking the answer was a 200.
    fn json_as<T: serde::de::DeserializeOwned>(&self) -> T {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body).unwrap()
    }

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

    /// A new account that has already replaced its one-time password (as its owner does on
    /// the first sign-in); returns the password it signs in with.
    async fn add_user(&self, login: &str, role: Role, team: Option<&str>) -> String {
        let (user, one_time) = self.add_user_one_time(login, role, team).await;
        let chosen = format!("{one_time} chosen");
        accounts::change_password(
            self.storage.as_ref(),
            &user,
            &one_time,
            &chosen,
            self.clock_now(),
        )
        .await
        .unwrap();
        chosen
    }

    /// The first sign-in with a one-time password, through the API: sign in, choose a new
    /// password; returns it.
    async fn first_sign_in(&self, login: &str, one_time: &str) -> String {
        let cookie = self.login(login, one_time).await.session_cookie();
        let chosen = format!("{one_time} chosen");
        let body = json!({ "current_password": one_time, "new_password": chosen });
        let answer = self
            .post_raw("/api/password", body.to_string(), Some(&cookie))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{login}");
        chosen
    }

    /// A new account and its one-time password, as `user add` prints it.
    async fn add_user_one_time(
        &self,
        login: &str,
        role: Role,
        team: Option<&str>,
    ) -> (fieldbook_server::storage::User, String) {
        let new = NewUser {
            login: login.to_string(),
            display_name: format!("{login} display"),
            role,
            team: team.map(str::to_string),
        };
        accounts::add_user(self.storage.as_ref(), new, self.clock_now())
            .await
            .unwrap()
    }

    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use fieldbook_server::clock::Clock as _;
        self.clock.now()
    }

    async fn failures(&self, login: &str) -> u32 {
        let key = accounts::login_throttle_key(login);
        self.storage.throttle(&key).await.unwrap().failures
    }

    /// A sign-in from the address `from` (as the listener would report the peer).
    async fn login_from(&self, from: &str, login: &str, password: &str) -> Answer {
        let body = json!({ "login": login, "password": password }).to_string();
        let mut request = Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let peer: std::net::SocketAddr = format!("{from}:40000").parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        self.send(request).await
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
            json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
                "database": db.name,
                "max_push_bytes": 1024 * 1024,
                "max_push_mutations": 500,
                "max_attachment_bytes": 10 * 1024 * 1024,
            })
        );
    }
}

#[tokio::test]
async fn sqlite_commits_reach_the_disk_before_a_push_is_answered() {
    // An acknowledged push must survive a power loss (SYNC.md): synchronous = FULL (2) on
    // every connection of the pool, not NORMAL (1), which may drop the last commits.
    let db = backends().remove(0);
    let Target::Sqlite(dir) = &db.target else {
        panic!("the first backend is SQLite");
    };
    let storage = SqliteStorage::open(dir).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = storage.pool().acquire().await.unwrap();
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(level, 2, "PRAGMA synchronous");
        held.push(conn);
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

        let mut settings = db.settings();
        settings.secure_cookies = true;
        let secure = start_with(&db, settings).await;
        let answer = secure.login("li", &password).await;
        assert!(answer.header("set-cookie").unwrap().ends_with("; Secure"));
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_hsts_only_behind_https() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        // The app's page, an API answer, an API refusal and a file that does not exist.
        for path in [
            "/",
            "/leads",
            "/api/health",
            "/api/me",
            "/api/nothing",
            "/no-such.js",
        ] {
            let answer = server.get(path, None).await;
            let csp = answer.header("content-security-policy").unwrap_or_default();
            for directive in [
                "script-src 'self' 'wasm-unsafe-eval'",
                "connect-src 'self'",
                "frame-ancestors 'none'",
                "object-src 'none'",
            ] {
                assert!(csp.contains(directive), "{path}: {csp}");
            }
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(
                answer.header("x-content-type-options"),
                Some("nosniff"),
                "{path}"
            );
            assert_eq!(
                answer.header("referrer-policy"),
                Some("same-origin"),
                "{path}"
            );
            assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{path}");
            let permissions = answer.header("permissions-policy").unwrap_or_default();
            assert!(
                permissions.starts_with("geolocation=(self)"),
                "{path}: {permissions}"
            );
            assert!(permissions.contains("camera=()"), "{path}: {permissions}");
            assert_eq!(answer.header("strict-transport-security"), None, "{path}");
        }
        let mut settings = db.settings();
        settings.secure_cookies = true;
        let secure = start_with(&db, settings).await;
        for path in ["/", "/api/health"] {
            let answer = secure.get(path, None).await;
            assert_eq!(
                answer.header("strict-transport-security"),
                Some("max-age=31536000"),
                "{path}"
            );
        }
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
        let other = start_on(&db, db.settings(), server.clock.clone()).await;
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
async fn a_slow_stranger_cannot_keep_the_owner_out() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let password = server.add_user("qian", Role::Rep, None).await;
        // A stranger guesses every three minutes, all day.
        for _ in 0..40 {
            let answer = server.login("qian", "guess").await;
            assert_ne!(answer.status, StatusCode::OK);
            server.clock.advance(TimeDelta::minutes(3));
        }
        let answer = server.login("qian", "guess").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        // The owner, right after the stranger's last guess, waits a minute at most.
        let owner = server.login("qian", &password).await;
        if owner.status == StatusCode::TOO_MANY_REQUESTS {
            let wait: i64 = owner.header("retry-after").unwrap().parse().unwrap();
            assert!(wait <= 60, "locked out for {wait} s");
            server.clock.advance(TimeDelta::seconds(wait));
            assert_eq!(server.login("qian", &password).await.status, StatusCode::OK);
        } else {
            assert_eq!(owner.status, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn unknown_logins_are_throttled_exactly_like_known_ones() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        server.add_user("sun", Role::Rep, None).await;
        // Seven wrong guesses at an account that exists and at one that does not: answer for
        // answer the same status, body and Retry-After, so guessing tells nobody which is which.
        for attempt in 1..=7 {
            let known = server.login("sun", "guess").await;
            let unknown = server.login("sun-nobody", "guess").await;
            assert_eq!(known.status, unknown.status, "attempt {attempt}");
            assert_eq!(known.body, unknown.body, "attempt {attempt}");
            assert_eq!(
                known.header("retry-after"),
                unknown.header("retry-after"),
                "attempt {attempt}"
            );
            if attempt > 5 {
                assert_eq!(
                    known.status,
                    StatusCode::TOO_MANY_REQUESTS,
                    "attempt {attempt}"
                );
            }
        }
    }
}

#[tokio::test]
async fn one_address_guessing_many_logins_is_slowed_others_are_not() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let password = server.add_user("zhao", Role::Rep, None).await;
        // One address sprays one guess at each of many logins: no account reaches its limit,
        // the address does.
        let mut throttled = None;
        for n in 0..40 {
            let answer = server
                .login_from("203.0.113.9", &format!("user{n}"), "guess")
                .await;
            if answer.status == StatusCode::TOO_MANY_REQUESTS {
                throttled = Some(n);
                break;
            }
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        }
        let at = throttled.expect("the address was never slowed");
        assert!(at >= 20, "slowed after only {at} guesses");
        // Another address is not slowed, and its owner signs in.
        assert_eq!(
            server
                .login_from("198.51.100.7", "zhao", &password)
                .await
                .status,
            StatusCode::OK
        );
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
async fn a_one_time_password_opens_nothing_but_the_password_change() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let now = server.clock_now();
        accounts::add_team(server.storage.as_ref(), "east", now)
            .await
            .unwrap();
        let (_, one_time) = server
            .add_user_one_time("wang", Role::Rep, Some("east"))
            .await;
        let answer = server.login("wang", &one_time).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json()["must_change_password"], true);
        let cookie = answer.session_cookie();
        // Who they are, yes; anything else, no.
        assert_eq!(
            server.get("/api/me", Some(&cookie)).await.json()["must_change_password"],
            true
        );
        for (path, body) in [
            (
                "/api/sync/pull",
                Some(json!({ "client_id": test_id(1), "cursor": null, "limit": 10 })),
            ),
            ("/api/team", None),
        ] {
            let answer = match body {
                Some(body) => server.post_raw(path, body.to_string(), Some(&cookie)).await,
                None => server.get(path, Some(&cookie)).await,
            };
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(answer.json()["error"], "password_change_required", "{path}");
        }
        let change = |current: &str, new: &str| {
            json!({ "current_password": current, "new_password": new }).to_string()
        };
        // A weak choice is refused with its reason, and changes nothing.
        for (new, key) in [
            ("short", "password_too_short"),
            ("password1234", "password_too_common"),
            ("wang-is-here-2026", "password_personal"),
        ] {
            let answer = server
                .post_raw("/api/password", change(&one_time, new), Some(&cookie))
                .await;
            assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{new}");
            assert_eq!(answer.json()["error"], key, "{new}");
        }
        let answer = server
            .post_raw(
                "/api/password",
                change("not the password", "a walk by the West Lake"),
                Some(&cookie),
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.json()["error"], "wrong_password");
        assert_eq!(
            server.failures("wang").await,
            1,
            "counted like a failed sign-in"
        );

        let answer = server
            .post_raw(
                "/api/password",
                change(&one_time, "a walk by the West Lake"),
                Some(&cookie),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json()["must_change_password"], false);
        // The session rotates: the old cookie is dead, the new one opens everything.
        let fresh = answer.session_cookie();
        assert_ne!(fresh, cookie);
        assert_eq!(
            server.get("/api/me", Some(&cookie)).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            server.get("/api/team", Some(&fresh)).await.status,
            StatusCode::OK
        );
        // The one-time password is spent; the new one works and asks for nothing more.
        assert_eq!(
            server.login("wang", &one_time).await.status,
            StatusCode::UNAUTHORIZED
        );
        let again = server.login("wang", "a walk by the West Lake").await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.json()["must_change_password"], false);
        assert_eq!(server.failures("wang").await, 0);
    }
}

#[tokio::test]
async fn a_manager_resets_only_their_own_reps_passwords() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let passwords = sync_team(&server).await;
        let cookie = |login: &'static str| {
            let server = &server;
            let password = passwords[login].clone();
            async move { server.login(login, &password).await.session_cookie() }
        };
        let boss = cookie("boss").await;
        let rep_a = cookie("rep_a").await;
        let reset = |id: String, cookie: String| {
            let server = &server;
            async move {
                server
                    .post_raw(&format!("/api/team/{id}/password"), "", Some(&cookie))
                    .await
            }
        };
        // Another team's rep, another manager's… and no one at all: the same 404; a rep
        // asking, too.
        let west = user_id(&server, "rep_w").await;
        let root = user_id(&server, "root").await;
        let ghost = uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0042).to_string();
        for target in [west, root, ghost, "not-an-id".to_string()] {
            let answer = reset(target.clone(), boss.clone()).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{target}");
            assert_eq!(answer.json()["error"], "not_found");
        }
        let b = user_id(&server, "rep_b").await;
        assert_eq!(
            reset(b.clone(), rep_a.clone()).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            server.login("rep_b", &passwords["rep_b"]).await.status,
            StatusCode::OK
        );

        let rep_b = cookie("rep_b").await;
        let answer = reset(b, boss.clone()).await;
        assert_eq!(answer.status, StatusCode::OK);
        let one_time = answer.json()["one_time_password"]
            .as_str()
            .unwrap()
            .to_string();
        // The rep's sessions end; the old password is gone; the one-time one must be changed.
        assert_eq!(
            server.get("/api/me", Some(&rep_b)).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            server.login("rep_b", &passwords["rep_b"]).await.status,
            StatusCode::UNAUTHORIZED
        );
        let answer = server.login("rep_b", &one_time).await;
        assert_eq!(answer.json()["must_change_password"], true);
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
        "/api/sync/push",
        "/api/sync/pull",
        "/api/sync/conflicts/{id}/resolve",
        "/api/team",
        "/api/attachments/{sha256}",
        "/api/attachments/{sha256}/upload",
        "/api/openapi.json",
        "/api/password",
        "/api/team/{id}/password",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    // Every operation lists the answers any request may get; those behind a session name
    // the cookie; every answer has a description.
    let open = [
        "/api/health",
        "/api/login",
        "/api/logout",
        "/api/openapi.json",
    ];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let mut wanted = Vec::new();
            if operation.get("requestBody").is_some() {
                wanted.extend(["400", "413", "415", "422"]);
            }
            if !open.contains(&path.as_str()) {
                wanted.extend(["401", "403", "429"]);
                assert_eq!(
                    operation["security"][0]["session"],
                    json!([]),
                    "{method} {path}"
                );
            }
            for status in wanted {
                assert!(
                    responses.contains_key(status),
                    "{method} {path}: no {status}"
                );
            }
            for (status, response) in responses {
                let text = response["description"].as_str().unwrap_or("");
                assert!(!text.is_empty(), "{method} {path} {status}: no description");
            }
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["session"],
        json!({ "type": "apiKey", "in": "cookie", "name": "fieldbook_session",
                "description": "The session `POST /api/login` sets (HttpOnly, SameSite=Strict)" })
    );
    let attachment = &doc["paths"]["/api/attachments/{sha256}"];
    assert!(attachment["get"].is_object() && attachment["put"].is_object());
    for schema in [
        "Health",
        "LoginRequest",
        "UserView",
        "Role",
        "ErrorBody",
        "SyncGapBody",
        "PushTooLargeBody",
        "PushRequest",
        "PushResponse",
        "PullRequest",
        "PullResponse",
        "TeamMember",
        "UploadState",
        "AttachmentTooLargeBody",
        "OffsetMismatchBody",
    ] {
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

// ---------------------------------------------------------------------------------------
// Sync: push and pull.
// ---------------------------------------------------------------------------------------

use domain::{
    changed_fields, Cursor, DealDraft, FieldWrite, Id, Invalid, ItemDraft, ItemKind, Lead,
    LeadDraft, Metric, Period, PullResponse, PushLimits, PushMutation, PushRequest, PushResponse,
    QuizAttempt, RecordChange, RecordKind, RecordMeta, RejectReason, SessionDraft, SessionMethod,
    Stage, StageChange, StageReason, Stamp, TargetDraft, TeamMember, TrainingRecord, VersionMark,
    VisitDraft, PROTOCOL_VERSION,
};

const YEAR_MS: i64 = 365 * 86_400_000;

/// A made-up id; `n` tells ids apart.
fn test_id(n: u8) -> Id {
    Id::from_parts(1_700_000_000_000 + u64::from(n), [n; 10])
}

/// One device of one signed-in user: its cookie, client id and mutation counter.
struct Device {
    cookie: String,
    client: Id,
    seq: u64,
}

impl Device {
    /// Builds the device's next mutation of a lead (numbered, stamped by this device at
    /// `wall_ms`).
    fn mutation(
        &mut self,
        record: Id,
        wall_ms: i64,
        fields: &[(&str, Value, Option<u64>)],
    ) -> PushMutation {
        self.mutation_of(RecordKind::Lead, record, wall_ms, fields)
    }

    /// [`Device::mutation`] for a record of any kind.
    fn mutation_of(
        &mut self,
        kind: RecordKind,
        record: Id,
        wall_ms: i64,
        fields: &[(&str, Value, Option<u64>)],
    ) -> PushMutation {
        self.seq += 1;
        PushMutation {
            seq: self.seq,
            kind,
            record_id: record,
            stamp: Stamp::new(wall_ms, 0, self.client),
            fields: fields
                .iter()
                .map(|(field, value, base)| {
                    let write = FieldWrite {
                        value: value.clone(),
                        base: *base,
                    };
                    (field.to_string(), write)
                })
                .collect(),
        }
    }

    fn request(&self, mutations: Vec<PushMutation>) -> String {
        self.resuming(mutations, None)
    }

    /// A push body with `resume_after`.
    fn resuming(&self, mutations: Vec<PushMutation>, resume_after: Option<u64>) -> String {
        self.knowing(mutations, resume_after, 0)
    }

    /// A push body with `resume_after` and the `last_applied` the device was last told.
    fn knowing(
        &self,
        mutations: Vec<PushMutation>,
        resume_after: Option<u64>,
        known_applied: u64,
    ) -> String {
        serde_json::to_string(&PushRequest {
            client_id: self.client,
            protocol: PROTOCOL_VERSION,
            mutations,
            resume_after,
            known_applied,
        })
        .unwrap()
    }
}

impl Server {
    fn now_ms(&self) -> i64 {
        self.clock_now().timestamp_millis()
    }

    /// A device of `login` (signed in now) with a client id made from `n`.
    async fn device(&self, login: &str, password: &str, n: u8) -> Device {
        let answer = self.login(login, password).await;
        assert_eq!(answer.status, StatusCode::OK, "login {login}");
        Device {
            cookie: answer.session_cookie(),
            client: Id::from_parts(1_600_000_000_000, [n; 10]),
            seq: 0,
        }
    }

    async fn push_raw(&self, device: &Device, body: impl Into<Body>) -> Answer {
        self.post_raw("/api/sync/push", body, Some(&device.cookie))
            .await
    }

    /// Pushes and expects a 200.
    async fn push(&self, device: &Device, mutations: Vec<PushMutation>) -> PushResponse {
        let answer = self.push_raw(device, device.request(mutations)).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        serde_json::from_slice(&answer.body).unwrap()
    }

    async fn pull_raw(&self, device: &Device, cursor: Option<Cursor>, limit: u32) -> Answer {
        let body = json!({ "client_id": device.client, "cursor": cursor, "limit": limit });
        self.post_raw("/api/sync/pull", body.to_string(), Some(&device.cookie))
            .await
    }

    /// Makes the device's next mutation and pushes it alone; expects a 200.
    async fn apply(
        &self,
        device: &mut Device,
        record: Id,
        wall_ms: i64,
        fields: &[(&str, Value, Option<u64>)],
    ) -> PushResponse {
        let mutation = device.mutation(record, wall_ms, fields);
        self.push(device, vec![mutation]).await
    }

    /// One page of changes; expects a 200.
    async fn pull(&self, device: &Device, cursor: Option<Cursor>) -> PullResponse {
        let answer = self.pull_raw(device, cursor, 500).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        serde_json::from_slice(&answer.body).unwrap()
    }
}

/// The change for `record` in a pull, if any.
fn change_of(pull: &PullResponse, record: Id) -> Option<&RecordChange> {
    pull.changes.iter().find(|change| change.id == record)
}

/// A team `east` with manager `boss` and reps `rep_a`, `rep_b`; a team `west` with rep
/// `rep_w`; and an admin. Returns the passwords by login.
async fn sync_team(server: &Server) -> std::collections::HashMap<&'static str, String> {
    let now = server.clock_now();
    accounts::add_team(server.storage.as_ref(), "east", now)
        .await
        .unwrap();
    accounts::add_team(server.storage.as_ref(), "west", now)
        .await
        .unwrap();
    let mut passwords = std::collections::HashMap::new();
    for (login, role, team) in [
        ("boss", Role::Manager, Some("east")),
        ("rep_a", Role::Rep, Some("east")),
        ("rep_b", Role::Rep, Some("east")),
        ("rep_w", Role::Rep, Some("west")),
        ("root", Role::Admin, None),
    ] {
        passwords.insert(login, server.add_user(login, role, team).await);
    }
    passwords
}

/// The fields of a new lead called `name`.
fn new_lead(name: &str) -> Vec<(&'static str, Value, Option<u64>)> {
    vec![
        ("name", json!(name), None),
        ("phones", json!(["13800138000"]), None),
        ("company", json!("华东机械"), None),
    ]
}

async fn user_id(server: &Server, login: &str) -> String {
    let user = server.storage.user_by_login(login).await.unwrap().unwrap();
    user.user.id.to_string()
}

#[tokio::test]
async fn sync_push_then_pull_round_trips_to_every_device_of_the_rep() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let laptop = server.device("rep_a", &pw["rep_a"], 2).await;
        let lead = test_id(1);

        // Without a session neither endpoint answers.
        let anonymous = server
            .post_raw("/api/sync/push", phone.request(vec![]), None)
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        let anonymous = server.post_raw("/api/sync/pull", "{}", None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

        let create = phone.mutation(lead, server.now_ms(), &new_lead("李伟"));
        let pushed = server.push(&phone, vec![create]).await;
        assert_eq!(pushed.last_applied, 1);
        assert!(pushed.rejected.is_empty());

        let pulled = server.pull(&phone, None).await;
        assert_eq!(pulled.last_applied, 1);
        assert_eq!(pulled.changes.len(), 1);
        assert!(!pulled.more);
        let change = &pulled.changes[0];
        assert_eq!(change.kind, RecordKind::Lead);
        assert_eq!(change.record["name"], "李伟");
        assert_eq!(change.record["phones"], json!(["13800138000"]));
        // The server decides the owner and team, whatever the client sent.
        assert_eq!(change.record["owner"], user_id(&server, "rep_a").await);
        assert!(change.record["team"].is_string());
        assert_eq!(change.field_versions["name"], change.version);
        assert!(change.conflicts.is_empty());
        let cursor = pulled.cursor.unwrap();
        assert_eq!(cursor.version, change.version);
        assert!(pulled.server_stamp.wall_ms >= server.now_ms());

        // The same rep's other device gets it too, with its own (zero) last_applied.
        let other = server.pull(&laptop, None).await;
        assert_eq!(other.last_applied, 0);
        assert_eq!(other.changes, pulled.changes);

        // Nothing new: same cursor, nothing sent.
        let again = server.pull(&phone, Some(cursor)).await;
        assert!(again.changes.is_empty() && again.removed.is_empty());
        assert_eq!(again.cursor, Some(cursor));

        // Paging: three more leads, two per page.
        let batch = (2..=4)
            .map(|n| phone.mutation(test_id(n), server.now_ms(), &new_lead("王芳")))
            .collect();
        assert_eq!(server.push(&phone, batch).await.last_applied, 4);
        let page = server.pull_raw(&laptop, Some(cursor), 2).await.json();
        let page: PullResponse = serde_json::from_value(page).unwrap();
        assert_eq!(page.changes.len(), 2);
        assert!(page.more);
        let rest = server.pull(&laptop, page.cursor).await;
        assert_eq!(rest.changes.len(), 1);
        assert!(!rest.more);
        assert!(rest.cursor > page.cursor && page.cursor > Some(cursor));
    }
}

#[tokio::test]
async fn sync_the_same_batch_twice_applies_once() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let lead = test_id(1);
        let now = server.now_ms();
        let batch = vec![
            phone.mutation(lead, now, &new_lead("李伟")),
            phone.mutation(lead, now + 1, &[("notes", json!("call back"), None)]),
        ];
        let first = server.push(&phone, batch.clone()).await;
        assert_eq!(first.last_applied, 2);
        let before = server.pull(&phone, None).await;

        // The answer was lost; the device sends the very same batch again.
        server.clock.advance(TimeDelta::seconds(5));
        let second = server.push(&phone, batch).await;
        assert_eq!(second, first);
        let after = server.pull(&phone, None).await;
        assert_eq!(after.changes, before.changes);
        assert_eq!(after.changes[0].version, before.changes[0].version);
        assert_eq!(after.last_applied, 2);
        assert!(after.changes[0].conflicts.is_empty());
    }
}

#[tokio::test]
async fn sync_a_retried_push_gets_its_refusals_again() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut other = server.device("rep_b", &pw["rep_b"], 2).await;
        let theirs = test_id(9);
        let now = server.now_ms();
        server
            .apply(&mut other, theirs, now, &new_lead("王芳"))
            .await;

        // A good create, an invalid value, a write to another rep's lead and a stamp of
        // another device: three refusals.
        let lead = test_id(1);
        let mut batch = vec![
            phone.mutation(lead, now + 1, &new_lead("李伟")),
            phone.mutation(lead, now + 2, &[("phones", json!(["12"]), None)]),
            phone.mutation(theirs, now + 3, &[("notes", json!("mine"), None)]),
        ];
        let mut stranger = phone.mutation(lead, now + 4, &[("notes", json!("x"), None)]);
        stranger.stamp = Stamp::new(now + 4, 0, test_id(77));
        batch.push(stranger);
        let first = server.push(&phone, batch.clone()).await;
        assert_eq!(first.last_applied, 4);
        let seqs: Vec<u64> = first.rejected.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [2, 3, 4]);
        assert_eq!(first.rejected[1].reason, RejectReason::Forbidden);
        assert_eq!(first.rejected[1].record_id, theirs);

        // The answer was lost: the same batch again gets the same answer, refusals and all,
        // and applies nothing twice.
        let before = server.pull(&phone, None).await;
        server.clock.advance(TimeDelta::seconds(5));
        let second = server.push(&phone, batch.clone()).await;
        assert_eq!(second, first);
        assert_eq!(server.pull(&phone, None).await.changes, before.changes);

        // A retry that overlaps new numbers lists the old refusals it covers, then the new.
        let new_bad = phone.mutation(lead, now + 5, &[("email", json!("not-mail"), None)]);
        let mut overlap = batch[2..].to_vec();
        overlap.push(new_bad);
        let third = server.push(&phone, overlap).await;
        assert_eq!(third.last_applied, 5);
        let seqs: Vec<u64> = third.rejected.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(third.rejected[..2], first.rejected[1..]);
        assert_eq!(
            third.rejected[2].reason,
            RejectReason::invalid("email", Invalid::Email)
        );

        // Another device of the same user has refusals of its own, not these.
        let mut laptop = server.device("rep_a", &pw["rep_a"], 3).await;
        let fine = laptop.mutation(lead, now + 6, &[("notes", json!("ok"), None)]);
        assert!(server
            .push(&laptop, vec![fine.clone()])
            .await
            .rejected
            .is_empty());
        assert!(server.push(&laptop, vec![fine]).await.rejected.is_empty());
    }
}

#[tokio::test]
async fn sync_a_gap_in_numbers_is_refused_and_changes_nothing() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let first = phone.mutation(test_id(1), server.now_ms(), &new_lead("李伟"));
        server.push(&phone, vec![first]).await;
        let before = server.pull(&phone, None).await;

        // Number 2 was lost on the way; 3 and 4 arrive. The batch that starts right (2)
        // but skips (4) is refused whole too: 2's record must not appear.
        let two = phone.mutation(test_id(2), server.now_ms(), &new_lead("王芳"));
        let three = phone.mutation(test_id(3), server.now_ms(), &new_lead("张三"));
        let four = phone.mutation(test_id(4), server.now_ms(), &new_lead("赵四"));
        for batch in [vec![three.clone(), four.clone()], vec![two.clone(), four]] {
            let answer = server.push_raw(&phone, phone.request(batch)).await;
            assert_eq!(answer.status, StatusCode::CONFLICT);
            let body = answer.json();
            assert_eq!(body["error"], "sync.gap");
            assert_eq!(body["expected"], 2);
        }
        let after = server.pull(&phone, None).await;
        assert_eq!(after.changes, before.changes);
        assert_eq!(after.last_applied, 1);

        // Resending from the gap works.
        assert_eq!(server.push(&phone, vec![two, three]).await.last_applied, 3);
    }
}

#[tokio::test]
async fn sync_merges_per_field_and_logs_the_loser_for_both_people() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut rep = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut boss = server.device("boss", &pw["boss"], 2).await;
        let lead = test_id(1);
        let now = server.now_ms();
        server.apply(&mut rep, lead, now, &new_lead("李伟")).await;
        let seen = server.pull(&boss, None).await;
        let base = change_of(&seen, lead).unwrap().field_versions.clone();

        // Offline, both edit on top of the same version: different fields...
        let by_rep = rep.mutation(
            lead,
            now + 10,
            &[("title", json!("厂长"), Some(base["name"]))],
        );
        let by_boss = boss.mutation(lead, now + 20, &[("wechat", json!("li_wei"), None)]);
        server.push(&rep, vec![by_rep]).await;
        server.push(&boss, vec![by_boss]).await;
        let merged = server.pull(&rep, None).await;
        let record = &change_of(&merged, lead).unwrap().record;
        assert_eq!(record["title"], "厂长");
        assert_eq!(record["wechat"], "li_wei");
        assert!(change_of(&merged, lead).unwrap().conflicts.is_empty());

        // ...and the same field. The manager's edit is later, but the rep's arrives last:
        // the edit time decides, not the upload time.
        let cursor = merged.cursor;
        let by_boss = boss.mutation(
            lead,
            now + 40,
            &[("name", json!("李伟 (老李)"), Some(base["name"]))],
        );
        let by_rep = rep.mutation(
            lead,
            now + 30,
            &[("name", json!("李维"), Some(base["name"]))],
        );
        server.push(&boss, vec![by_boss]).await;
        let answer = server.push(&rep, vec![by_rep]).await;
        assert!(answer.rejected.is_empty());

        let rep_id = user_id(&server, "rep_a").await;
        for device in [&rep, &boss] {
            let pulled = server.pull(device, cursor).await;
            let change = change_of(&pulled, lead).expect("the conflict moves the record");
            assert_eq!(change.record["name"], "李伟 (老李)");
            assert_eq!(change.conflicts.len(), 1, "{:?}", change.conflicts);
            let conflict = &change.conflicts[0];
            assert_eq!(conflict.field, "name");
            assert_eq!(conflict.lost_value, json!("李维"));
            assert_eq!(conflict.kept_value, json!("李伟 (老李)"));
            assert_eq!(conflict.lost_by.unwrap().to_string(), rep_id);
            assert!(!conflict.resolved);
            assert_eq!(pulled.cursor.unwrap().version, change.version);
        }

        // Someone who may not write the lead cannot resolve its conflict (nor learn it
        // exists); the rep can, once, and both people's devices see it resolved.
        let conflict = change_of(&server.pull(&rep, None).await, lead)
            .unwrap()
            .conflicts[0]
            .id;
        let path = format!("/api/sync/conflicts/{conflict}/resolve");
        let other = server.device("rep_b", &pw["rep_b"], 9).await;
        let refused = server.post_raw(&path, "", Some(&other.cookie)).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        assert_eq!(
            server.post_raw(&path, "", None).await.status,
            StatusCode::UNAUTHORIZED
        );
        let before = server.pull(&boss, None).await.cursor;
        for _ in 0..2 {
            let answer = server.post_raw(&path, "", Some(&rep.cookie)).await;
            assert_eq!(answer.status, StatusCode::NO_CONTENT);
        }
        for device in [&rep, &boss] {
            let pulled = server.pull(device, before).await;
            let change = change_of(&pulled, lead).expect("resolving moves the record");
            assert!(change.conflicts[0].resolved);
        }
        let unknown = format!("/api/sync/conflicts/{}/resolve", test_id(200));
        let answer = server.post_raw(&unknown, "", Some(&rep.cookie)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn sync_clamps_a_clock_a_year_ahead_so_a_real_later_edit_wins() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut rep = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut boss = server.device("boss", &pw["boss"], 2).await;
        let lead = test_id(1);
        let now = server.now_ms();
        server.apply(&mut rep, lead, now, &new_lead("李伟")).await;
        let base = server.pull(&boss, None).await.changes[0].field_versions["name"];

        // The rep's phone thinks it is next year.
        let skewed = rep.mutation(lead, now + YEAR_MS, &[("name", json!("未来"), Some(base))]);
        server.push(&rep, vec![skewed]).await;
        let pulled = server.pull(&rep, None).await;
        let updated_at = pulled.changes[0].record["updated_at"].as_i64().unwrap();
        assert!(
            updated_at <= now + domain::MAX_CLOCK_AHEAD_MS,
            "not clamped"
        );

        // Five minutes later the manager, who had not seen it, renames the lead.
        server.clock.advance(TimeDelta::minutes(5));
        let later = boss.mutation(
            lead,
            server.now_ms(),
            &[("name", json!("现在"), Some(base))],
        );
        server.push(&boss, vec![later]).await;
        let pulled = server.pull(&rep, None).await;
        let change = &pulled.changes[0];
        assert_eq!(change.record["name"], "现在");
        assert_eq!(change.conflicts.len(), 1);
        assert_eq!(change.conflicts[0].lost_value, json!("未来"));
        // The device's clock is pulled past everything stored: its next edit sorts after.
        let mut clock = domain::Hlc::restore(rep.client, None);
        clock.observe(pulled.server_stamp, server.now_ms());
        assert!(clock.tick(server.now_ms()) > change.conflicts[0].kept_stamp);
    }
}

#[tokio::test]
async fn sync_reps_can_neither_read_nor_write_each_others_records() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut b = server.device("rep_b", &pw["rep_b"], 2).await;
        let mut admin = server.device("root", &pw["root"], 3).await;
        let lead = test_id(1);
        let now = server.now_ms();
        server.apply(&mut a, lead, now, &new_lead("李伟")).await;
        let before = server.pull(&a, None).await;

        // B does not see it, and cannot write it, not even by claiming to own it.
        assert!(server.pull(&b, None).await.changes.is_empty());
        let rep_b = user_id(&server, "rep_b").await;
        let writes = vec![
            b.mutation(lead, now + 1, &[("name", json!("偷"), None)]),
            b.mutation(lead, now + 2, &[("owner", json!(rep_b), None)]),
        ];
        let answer = server.push(&b, writes).await;
        assert_eq!(answer.last_applied, 2);
        let reasons: Vec<_> = answer.rejected.iter().map(|r| r.reason.clone()).collect();
        assert_eq!(reasons, [RejectReason::Forbidden, RejectReason::Forbidden]);

        // A device id is its first user's: B cannot push or pull as A's phone.
        let as_a = Device {
            cookie: b.cookie.clone(),
            client: a.client,
            seq: 1,
        };
        let mut forged = as_a.request(vec![]);
        forged = forged.replace(
            "\"mutations\":[]",
            &format!(
                "\"mutations\":[{}]",
                serde_json::to_string(&PushMutation {
                    seq: 2,
                    kind: RecordKind::Lead,
                    record_id: lead,
                    stamp: Stamp::new(now + 3, 0, a.client),
                    fields: [(
                        "name".to_string(),
                        FieldWrite {
                            value: json!("偷"),
                            base: None
                        }
                    )]
                    .into(),
                })
                .unwrap()
            ),
        );
        let answer = server.push_raw(&as_a, forged).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.json()["error"], "forbidden");
        assert_eq!(
            server.pull_raw(&as_a, None, 10).await.status,
            StatusCode::FORBIDDEN
        );

        // A rep cannot reassign even their own lead.
        let give = a.mutation(
            lead,
            now + 4,
            &[("owner", json!(rep_b), None), ("notes", json!("x"), None)],
        );
        let answer = server.push(&a, vec![give]).await;
        assert_eq!(answer.rejected[0].reason, RejectReason::Forbidden);

        // Admins manage accounts, not customers: they see and write no records.
        assert!(server.pull(&admin, None).await.changes.is_empty());
        let answer = server
            .apply(&mut admin, lead, now + 5, &[("name", json!("管理"), None)])
            .await;
        assert_eq!(answer.rejected[0].reason, RejectReason::Forbidden);
        let answer = server
            .apply(&mut admin, test_id(9), now + 5, &new_lead("新"))
            .await;
        assert_eq!(answer.rejected[0].reason, RejectReason::Forbidden);

        // Nothing changed for A, and nothing leaked to B.
        let after = server.pull(&a, None).await;
        assert_eq!(after.changes, before.changes);
        assert!(server.pull(&b, None).await.changes.is_empty());
    }
}

#[tokio::test]
async fn sync_a_manager_sees_the_team_and_reassigns_and_the_old_owner_drops_it() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let b = server.device("rep_b", &pw["rep_b"], 2).await;
        let mut w = server.device("rep_w", &pw["rep_w"], 3).await;
        let mut boss = server.device("boss", &pw["boss"], 4).await;
        let (lead, kept, western) = (test_id(1), test_id(2), test_id(3));
        let now = server.now_ms();
        let creates = vec![
            a.mutation(lead, now, &new_lead("李伟")),
            a.mutation(kept, now, &new_lead("王芳")),
        ];
        server.push(&a, creates).await;
        server.apply(&mut w, western, now, &new_lead("西")).await;

        // The manager sees the team's leads, not another team's.
        let team_view = server.pull(&boss, None).await;
        assert!(change_of(&team_view, lead).is_some() && change_of(&team_view, kept).is_some());
        assert!(change_of(&team_view, western).is_none());
        let a_cursor = server.pull(&a, None).await.cursor;

        // Not to a rep of another team, nor a record of another team.
        let rep_w = user_id(&server, "rep_w").await;
        let rep_b = user_id(&server, "rep_b").await;
        let refused = vec![
            boss.mutation(lead, now + 1, &[("owner", json!(rep_w), None)]),
            boss.mutation(western, now + 1, &[("owner", json!(rep_b), None)]),
        ];
        let answer = server.push(&boss, refused).await;
        assert_eq!(answer.rejected.len(), 2);
        assert!(answer
            .rejected
            .iter()
            .all(|r| r.reason == RejectReason::Forbidden));

        let reassign = boss.mutation(lead, now + 2, &[("owner", json!(rep_b), None)]);
        let answer = server.push(&boss, vec![reassign]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // A's devices drop it; B's get it; the manager still sees it.
        let a_pull = server.pull(&a, a_cursor).await;
        assert_eq!(a_pull.removed.len(), 1);
        assert_eq!(a_pull.removed[0].id, lead);
        assert!(change_of(&a_pull, lead).is_none());
        let a_full = server.pull(&a, None).await;
        assert!(change_of(&a_full, lead).is_none());
        assert!(change_of(&a_full, kept).is_some());
        let b_pull = server.pull(&b, None).await;
        assert_eq!(change_of(&b_pull, lead).unwrap().record["owner"], rep_b);
        assert!(change_of(&server.pull(&boss, None).await, lead).is_some());

        // A's offline edit to the lead it lost is refused, and changes nothing.
        let late = a.mutation(lead, now + 3, &[("notes", json!("mine"), None)]);
        let answer = server.push(&a, vec![late]).await;
        assert_eq!(answer.rejected[0].reason, RejectReason::Forbidden);
        let b_again = server.pull(&b, None).await;
        assert_eq!(b_again.changes, b_pull.changes);
    }
}

/// The fields of a new visit `id` to `lead`, as the app's form makes them (the server
/// ignores the null owner, team and logged_by it carries).
fn new_visit(id: Id, lead: Id, notes: &str) -> Vec<(String, Value)> {
    let visit = VisitDraft {
        lead_id: Some(lead),
        date: "2025-03-05".into(),
        time: "10:00".into(),
        notes: notes.into(),
        ..VisitDraft::default()
    }
    .parse(
        &RecordMeta::new(id, 1_741_000_000_000),
        1_741_000_000_000,
        480,
    )
    .unwrap();
    changed_fields(None, &visit).unwrap().into_iter().collect()
}

/// The fields of a new deal `id` with `lead`.
fn new_deal(id: Id, lead: Id) -> Vec<(String, Value)> {
    let deal = DealDraft {
        lead_id: Some(lead),
        product: "X200 叉车".into(),
        amount: "12000".into(),
        closed_on: "2025-03-05".into(),
        ..DealDraft::default()
    }
    .parse(&RecordMeta::new(id, 1_741_000_000_000), 1_741_000_000_000)
    .unwrap();
    changed_fields(None, &deal).unwrap().into_iter().collect()
}

/// `(field, value)` pairs as [`Device::mutation`] takes them, with no bases.
fn unseen(fields: &[(String, Value)]) -> Vec<(&str, Value, Option<u64>)> {
    fields
        .iter()
        .map(|(field, value)| (field.as_str(), value.clone(), None))
        .collect()
}

/// The fields of a new draft training item `id` titled `title`.
fn new_item(id: Id, title: &str) -> Vec<(String, Value)> {
    let item = ItemDraft {
        title: title.into(),
        kind: ItemKind::Script,
        body: "## 开场\n\n先问需求，再谈价格。".into(),
        tags: "谈判".into(),
        ..ItemDraft::default()
    }
    .parse(&RecordMeta::new(id, 1_741_000_000_000), 1_741_000_000_000)
    .unwrap();
    changed_fields(None, &item).unwrap().into_iter().collect()
}

/// The ids of the records in a pull.
fn ids_in(pull: &PullResponse) -> Vec<Id> {
    pull.changes.iter().map(|change| change.id).collect()
}

/// The base a device would send for `field` of `record`, as `pull` delivered it.
fn base_in(pull: &PullResponse, record: Id, field: &str) -> Option<u64> {
    change_of(pull, record).and_then(|change| change.field_versions.get(field).copied())
}

#[tokio::test]
async fn sync_an_id_names_one_record_whatever_its_kind() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut b = server.device("rep_b", &pw["rep_b"], 2).await;
        let boss = server.device("boss", &pw["boss"], 3).await;
        let now = server.now_ms();
        let (theirs, mine) = (test_id(1), test_id(2));
        let lead_a = a.mutation_of(RecordKind::Lead, theirs, now, &new_lead("王芳"));
        let answer = server.push(&a, vec![lead_a]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let lead_b = b.mutation_of(RecordKind::Lead, mine, now, &new_lead("李娜"));
        let answer = server.push(&b, vec![lead_b]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // Rep B sends a visit (on their own lead) under the id of rep A's lead, and a deal
        // under the id of their own: each id already names a record of another kind.
        let visit = b.mutation_of(
            RecordKind::Visit,
            theirs,
            now + 1,
            &unseen(&new_visit(theirs, mine, "同一个编号")),
        );
        let own = b.mutation_of(
            RecordKind::Visit,
            mine,
            now + 2,
            &unseen(&new_visit(mine, mine, "自己的编号")),
        );
        let answer = server.push(&b, vec![visit, own]).await;
        let reasons: Vec<_> = answer.rejected.iter().map(|r| r.reason.clone()).collect();
        assert_eq!(reasons, [RejectReason::Forbidden, RejectReason::Forbidden]);

        // The manager's pull names each id once: rep A's lead is there, as a lead.
        let pull = server.pull(&boss, None).await;
        let of_theirs: Vec<RecordKind> = pull
            .changes
            .iter()
            .filter(|c| c.id == theirs)
            .map(|c| c.kind)
            .collect();
        assert_eq!(of_theirs, [RecordKind::Lead]);
        assert_eq!(pull.changes.iter().filter(|c| c.id == mine).count(), 1);
    }
}

#[tokio::test]
async fn sync_the_server_stamp_names_no_device_and_no_time_of_another_team() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut w = server.device("rep_w", &pw["rep_w"], 1).await;
        let a = server.device("rep_a", &pw["rep_a"], 2).await;
        let now = server.now_ms();
        // Another team's device edits with its clock 30 s ahead (within what the server
        // accepts as is).
        let ahead = now + 30_000;
        let edit = w.mutation_of(RecordKind::Lead, test_id(7), ahead, &new_lead("西区客户"));
        assert!(server.push(&w, vec![edit]).await.rejected.is_empty());

        let pulled = server.pull(&a, None).await;
        assert!(pulled.changes.is_empty());
        // Nothing in it names that device …
        assert_ne!(pulled.server_stamp.client, w.client);
        assert_eq!(pulled.server_stamp.client, Id::from_uuid(uuid::Uuid::nil()));
        // … nor the time of its edit: the limit of what the server lets a clock be ahead.
        assert_eq!(
            pulled.server_stamp.wall_ms,
            now + domain::MAX_CLOCK_AHEAD_MS
        );
        // … and it still sorts after every stamp the server holds, so the puller's next
        // edit wins over an older one anywhere (the reason the stamp is sent).
        let stored = Stamp::new(ahead, 0, w.client);
        let mut hlc = domain::Hlc::restore(a.client, None);
        hlc.observe(pulled.server_stamp, now);
        assert!(hlc.tick(now) > stored);
    }
}

#[tokio::test]
async fn sync_team_settings_reach_the_team_and_only_its_managers_write_them() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut boss = server.device("boss", &pw["boss"], 1).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 2).await;
        let b = server.device("rep_b", &pw["rep_b"], 3).await;
        let w = server.device("rep_w", &pw["rep_w"], 4).await;
        let boss_user = server.storage.user_by_login("boss").await.unwrap().unwrap();
        let team = boss_user.user.team_id.unwrap();
        let id = domain::TeamSettings::id_for(Id::from_uuid(team));
        let now = server.now_ms();
        let settings = |a_days: &str| {
            let draft = domain::TeamSettingsDraft {
                follow_up_a: a_days.into(),
                ..domain::TeamSettingsDraft::from_days(domain::FollowUpDays::default())
            };
            let settings = draft.parse(&RecordMeta::new(id, now), now).unwrap();
            changed_fields(None, &settings)
                .unwrap()
                .into_iter()
                .collect::<Vec<(String, Value)>>()
        };

        // A rep cannot set the team's rhythm, not even first.
        let forged = a.mutation_of(RecordKind::TeamSettings, id, now, &unseen(&settings("1")));
        assert_eq!(
            server.push(&a, vec![forged]).await.rejected[0].reason,
            RejectReason::Forbidden
        );

        // The manager sets it; every rep of the team pulls it, the other team does not.
        let set = boss.mutation_of(RecordKind::TeamSettings, id, now, &unseen(&settings("2")));
        let answer = server.push(&boss, vec![set]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let a_pull = server.pull(&a, None).await;
        assert_eq!(change_of(&a_pull, id).unwrap().record["follow_up_a"], 2);
        assert_eq!(change_of(&a_pull, id).unwrap().record["follow_up_d"], 30);
        assert!(ids_in(&server.pull(&b, None).await).contains(&id));
        assert!(!ids_in(&server.pull(&w, None).await).contains(&id));

        // Nor can a rep change it by knowing its id.
        let edit = a.mutation_of(
            RecordKind::TeamSettings,
            id,
            now + 1,
            &[("follow_up_a", json!(1), base_in(&a_pull, id, "follow_up_a"))],
        );
        assert_eq!(
            server.push(&a, vec![edit]).await.rejected[0].reason,
            RejectReason::Forbidden
        );

        // An interval out of bounds is refused by name, whoever sends it.
        let at_boss = server.pull(&boss, None).await;
        let bad = boss.mutation_of(
            RecordKind::TeamSettings,
            id,
            now + 2,
            &[(
                "follow_up_d",
                json!(0),
                base_in(&at_boss, id, "follow_up_d"),
            )],
        );
        assert_eq!(
            server.push(&boss, vec![bad]).await.rejected[0].reason,
            RejectReason::invalid("follow_up_d", Invalid::FollowUpDays)
        );
    }
}

/// The fields of a target as the manager's form makes it: `rep`'s (`None`: the team's own)
/// in `team`, under its derived id, which it returns.
fn new_target(
    team: Id,
    rep: Option<Id>,
    period: &str,
    metric: Metric,
    value: &str,
) -> (Id, Vec<(String, Value)>) {
    let period = Period::parse(period).unwrap();
    let id = domain::Target::id_for(rep.unwrap_or(team), period, metric);
    let meta = RecordMeta {
        team: Some(team),
        ..RecordMeta::new(id, 1_741_000_000_000)
    };
    let target = TargetDraft {
        rep,
        period,
        metric,
        value: value.into(),
        currency: domain::Currency::CNY,
    }
    .parse(&meta, 1_741_000_000_000)
    .unwrap();
    (
        id,
        changed_fields(None, &target).unwrap().into_iter().collect(),
    )
}

/// The reasons of a push's refusals, in number order.
fn reasons(answer: &PushResponse) -> Vec<RejectReason> {
    answer.rejected.iter().map(|r| r.reason.clone()).collect()
}

/// A user's id, as an [`Id`].
async fn id_of(server: &Server, login: &str) -> Id {
    Id::parse(&user_id(server, login).await).unwrap()
}

#[tokio::test]
async fn sync_targets_are_set_by_the_teams_managers_and_reach_whom_they_are_for() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let boss2_password = server.add_user("boss2", Role::Manager, Some("east")).await;
        let boss_w_password = server.add_user("boss_w", Role::Manager, Some("west")).await;
        let mut boss = server.device("boss", &pw["boss"], 1).await;
        let mut boss2 = server.device("boss2", &boss2_password, 2).await;
        let mut boss_w = server.device("boss_w", &boss_w_password, 3).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 4).await;
        let b = server.device("rep_b", &pw["rep_b"], 5).await;
        let w = server.device("rep_w", &pw["rep_w"], 6).await;
        let (rep_a, rep_b, rep_w) = (
            id_of(&server, "rep_a").await,
            id_of(&server, "rep_b").await,
            id_of(&server, "rep_w").await,
        );
        let (boss_id, boss2_id, boss_w_id, root) = (
            id_of(&server, "boss").await,
            id_of(&server, "boss2").await,
            id_of(&server, "boss_w").await,
            id_of(&server, "root").await,
        );
        let team_of = |login: &'static str| {
            let storage = server.storage.clone();
            async move {
                let user = storage.user_by_login(login).await.unwrap().unwrap();
                Id::from_uuid(user.user.team_id.unwrap())
            }
        };
        let (east, west) = (team_of("boss").await, team_of("boss_w").await);
        let now = server.now_ms();
        let target = RecordKind::Target;
        let (a_target, a_fields) =
            new_target(east, Some(rep_a), "2026-11", Metric::DealAmount, "5000");
        let (team_target, team_fields) = new_target(east, None, "2026-Q4", Metric::Visits, "120");

        // A rep sets no target: not their own, not the team's.
        let tries = vec![
            a.mutation_of(target, a_target, now, &unseen(&a_fields)),
            a.mutation_of(target, team_target, now, &unseen(&team_fields)),
        ];
        let answer = server.push(&a, tries).await;
        assert_eq!(reasons(&answer), vec![RejectReason::Forbidden; 2]);
        assert!(server.pull(&boss, None).await.changes.is_empty());

        // The manager sets A's target and the team's: A's belongs to A, the team's to the
        // manager who set it.
        let set = vec![
            boss.mutation_of(target, a_target, now, &unseen(&a_fields)),
            boss.mutation_of(target, team_target, now, &unseen(&team_fields)),
        ];
        let answer = server.push(&boss, set).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let at_boss = server.pull(&boss, None).await;
        let record = |pull: &PullResponse, id: Id| change_of(pull, id).unwrap().record.clone();
        assert_eq!(record(&at_boss, a_target)["owner"], rep_a.to_string());
        assert_eq!(record(&at_boss, a_target)["rep"], rep_a.to_string());
        assert_eq!(record(&at_boss, a_target)["team"], east.to_string());
        assert_eq!(record(&at_boss, a_target)["value"], 500_000);
        assert_eq!(record(&at_boss, team_target)["owner"], boss_id.to_string());
        assert_eq!(record(&at_boss, team_target)["rep"], Value::Null);

        // A's target reaches A and the team's managers; the team's, everyone in the team;
        // neither reaches the other team.
        for (who, device, sees_a, sees_team) in [
            ("rep_a", &a, true, true),
            ("rep_b", &b, false, true),
            ("boss2", &boss2, true, true),
            ("rep_w", &w, false, false),
            ("boss_w", &boss_w, false, false),
        ] {
            let pulled = ids_in(&server.pull(device, None).await);
            assert_eq!(pulled.contains(&a_target), sees_a, "{who}");
            assert_eq!(pulled.contains(&team_target), sees_team, "{who}");
        }

        // A can neither change nor trash their target or the team's.
        let a_pull = server.pull(&a, None).await;
        for id in [a_target, team_target] {
            let edit = a.mutation_of(
                target,
                id,
                now + 1,
                &[("value", json!(1), base_in(&a_pull, id, "value"))],
            );
            let trash = a.mutation_of(
                target,
                id,
                now + 1,
                &[("deleted", json!(true), base_in(&a_pull, id, "deleted"))],
            );
            let answer = server.push(&a, vec![edit, trash]).await;
            assert_eq!(reasons(&answer), vec![RejectReason::Forbidden; 2], "{id}");
        }

        // The team's other manager changes A's target, and A's devices get it.
        let at_boss2 = server.pull(&boss2, None).await;
        let edit = boss2.mutation_of(
            target,
            a_target,
            now + 2,
            &[(
                "value",
                json!(800_000),
                base_in(&at_boss2, a_target, "value"),
            )],
        );
        let answer = server.push(&boss2, vec![edit]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let a_pull = server.pull(&a, None).await;
        assert_eq!(record(&a_pull, a_target)["value"], 800_000);
        assert_eq!(record(&a_pull, a_target)["owner"], rep_a.to_string());

        // Both managers set B's target at once, under its one derived id: both apply, it is
        // B's, and the value that lost is in the conflict log.
        let (b_target, b_first) = new_target(east, Some(rep_b), "2026-11", Metric::DealCount, "12");
        let (_, b_second) = new_target(east, Some(rep_b), "2026-11", Metric::DealCount, "15");
        let first = boss.mutation_of(target, b_target, now + 3, &unseen(&b_first));
        assert!(server.push(&boss, vec![first]).await.rejected.is_empty());
        let second = boss2.mutation_of(target, b_target, now + 4, &unseen(&b_second));
        assert!(server.push(&boss2, vec![second]).await.rejected.is_empty());
        let b_pull = server.pull(&b, None).await;
        let set_for_b = change_of(&b_pull, b_target).unwrap();
        assert_eq!(set_for_b.record["owner"], rep_b.to_string());
        assert_eq!(set_for_b.record["value"], 15);
        assert_eq!(set_for_b.conflicts.len(), 1, "{:?}", set_for_b.conflicts);
        assert_eq!(set_for_b.conflicts[0].field, "value");
        assert_eq!(set_for_b.conflicts[0].lost_value, json!(12));

        // A manager may set a target for a manager of the team too.
        let (boss2_target, boss2_fields) =
            new_target(east, Some(boss2_id), "2026", Metric::NewLeads, "40");
        let set = boss.mutation_of(target, boss2_target, now + 5, &unseen(&boss2_fields));
        assert!(server.push(&boss, vec![set]).await.rejected.is_empty());
        let at_boss2 = server.pull(&boss2, None).await;
        assert_eq!(
            record(&at_boss2, boss2_target)["owner"],
            boss2_id.to_string()
        );
        assert!(!ids_in(&server.pull(&a, None).await).contains(&boss2_target));

        // Nobody outside the team: a rep or a manager of another team, an admin, or an id
        // that names no one, each refused the same way, and nothing stored.
        let outsiders = [rep_w, boss_w_id, root, test_id(90)];
        let tries: Vec<PushMutation> = outsiders
            .iter()
            .map(|&outsider| {
                let (id, fields) =
                    new_target(east, Some(outsider), "2026-11", Metric::Visits, "30");
                boss.mutation_of(target, id, now + 6, &unseen(&fields))
            })
            .collect();
        let tried: Vec<Id> = tries.iter().map(|m| m.record_id).collect();
        let answer = server.push(&boss, tries).await;
        assert_eq!(reasons(&answer), vec![RejectReason::Forbidden; 4]);

        // Another team's manager can neither set a target for our rep nor touch ours, even
        // by recreating it.
        let (poached, poached_fields) =
            new_target(west, Some(rep_a), "2026-12", Metric::Visits, "10");
        let tries = vec![
            boss_w.mutation_of(target, poached, now + 7, &unseen(&poached_fields)),
            boss_w.mutation_of(target, a_target, now + 7, &[("value", json!(1), None)]),
            boss_w.mutation_of(
                target,
                team_target,
                now + 7,
                &[("deleted", json!(true), None)],
            ),
            boss_w.mutation_of(target, a_target, now + 7, &unseen(&a_fields)),
        ];
        let answer = server.push(&boss_w, tries).await;
        assert_eq!(reasons(&answer), vec![RejectReason::Forbidden; 4]);

        // A target stays with whom it was set for: its rep cannot be changed or cleared (the
        // owner would not follow); a rep that is not an id is invalid.
        let at_boss = server.pull(&boss, None).await;
        let rep_base = base_in(&at_boss, a_target, "rep");
        let tries = vec![
            boss.mutation_of(
                target,
                a_target,
                now + 8,
                &[("rep", json!(rep_b), rep_base)],
            ),
            boss.mutation_of(target, a_target, now + 8, &[("rep", Value::Null, rep_base)]),
            boss.mutation_of(target, team_target, now + 8, &[("rep", json!(rep_a), None)]),
            boss.mutation_of(
                target,
                a_target,
                now + 8,
                &[("rep", json!("a-rep"), rep_base)],
            ),
        ];
        let answer = server.push(&boss, tries).await;
        assert_eq!(
            reasons(&answer),
            vec![
                RejectReason::Forbidden,
                RejectReason::Forbidden,
                RejectReason::Forbidden,
                RejectReason::invalid("rep", Invalid::Id),
            ]
        );
        // Naming the same rep again is no change (a second device creating it).
        let same = boss.mutation_of(
            target,
            a_target,
            now + 9,
            &[
                ("rep", json!(rep_a), rep_base),
                (
                    "value",
                    json!(900_000),
                    base_in(&at_boss, a_target, "value"),
                ),
            ],
        );
        assert!(server.push(&boss, vec![same]).await.rejected.is_empty());

        // What each one ends with.
        let mut expected_a = vec![a_target, team_target];
        expected_a.sort();
        let mut pulled = ids_in(&server.pull(&a, None).await);
        pulled.sort();
        assert_eq!(pulled, expected_a);
        let mut expected_b = vec![b_target, team_target];
        expected_b.sort();
        let mut pulled = ids_in(&server.pull(&b, None).await);
        pulled.sort();
        assert_eq!(pulled, expected_b);
        assert!(server.pull(&w, None).await.changes.is_empty());
        assert!(server.pull(&boss_w, None).await.changes.is_empty());
        let at_boss = server.pull(&boss, None).await;
        for id in tried.into_iter().chain([poached]) {
            assert!(change_of(&at_boss, id).is_none(), "{id}");
        }
        let kept = record(&at_boss, a_target);
        assert_eq!(kept["rep"], rep_a.to_string());
        assert_eq!(kept["owner"], rep_a.to_string());
        assert_eq!(kept["value"], 900_000);
        assert_eq!(kept["deleted"], false);
        assert_eq!(record(&at_boss, team_target)["deleted"], false);
    }
}

#[tokio::test]
async fn sync_stage_changes_are_lead_history_logged_by_their_mover_and_move_with_the_lead() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut b = server.device("rep_b", &pw["rep_b"], 2).await;
        let mut boss = server.device("boss", &pw["boss"], 3).await;
        let mut w = server.device("rep_w", &pw["rep_w"], 4).await;
        let rep_a = user_id(&server, "rep_a").await;
        let rep_b = user_id(&server, "rep_b").await;
        let boss_id = user_id(&server, "boss").await;
        let now = server.now_ms();
        let kind = RecordKind::StageChange;
        let (lead, to_negotiation, to_won, kept_lead, kept_change) =
            (test_id(1), test_id(2), test_id(3), test_id(4), test_id(5));
        let lead_at = |id: Id, stage: Stage| {
            let draft = LeadDraft {
                name: "李伟".into(),
                phones: "13800138000".into(),
                stage,
                ..LeadDraft::default()
            };
            draft.parse(&RecordMeta::new(id, now), now).unwrap()
        };
        let moved = |id: Id, before: &Lead, after: &Lead, reason: Option<StageReason>| {
            let change =
                StageChange::between(RecordMeta::new(id, now), Some(before), after, reason, now)
                    .unwrap();
            changed_fields(None, &change)
                .unwrap()
                .into_iter()
                .collect::<Vec<(String, Value)>>()
        };
        let new = lead_at(lead, Stage::Prospecting);
        let negotiating = lead_at(lead, Stage::Negotiation);
        let won = lead_at(lead, Stage::Won);

        // A creates a lead, then moves it to negotiation in one save with its stage change
        // (which claims B logged it: the server decides); and a second lead, moved too.
        let mut forged = moved(to_negotiation, &new, &negotiating, None);
        forged.push(("logged_by".to_string(), json!(rep_b)));
        let other = lead_at(kept_lead, Stage::Prospecting);
        let other_moved = lead_at(kept_lead, Stage::Presentation);
        let save = vec![
            a.mutation(lead, now, &new_lead("李伟")),
            a.mutation(lead, now, &[("stage", json!("negotiation"), None)]),
            a.mutation_of(kind, to_negotiation, now, &unseen(&forged)),
            a.mutation(kept_lead, now, &new_lead("王芳")),
            a.mutation_of(
                kind,
                kept_change,
                now,
                &unseen(&moved(kept_change, &other, &other_moved, None)),
            ),
        ];
        let answer = server.push(&a, save).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // The manager, along on the visit that closed it, marks it won and says why.
        let at_boss = server.pull(&boss, None).await;
        let closed = vec![
            boss.mutation(
                lead,
                now + 1,
                &[("stage", json!("won"), base_in(&at_boss, lead, "stage"))],
            ),
            boss.mutation_of(
                kind,
                to_won,
                now + 1,
                &unseen(&moved(to_won, &negotiating, &won, Some(StageReason::Price))),
            ),
        ];
        let answer = server.push(&boss, closed).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // Both are A's, each says who moved the lead.
        let before = server.pull(&a, None).await;
        for (id, logged_by) in [
            (to_negotiation, &rep_a),
            (to_won, &boss_id),
            (kept_change, &rep_a),
        ] {
            let change = change_of(&before, id).unwrap();
            assert_eq!(change.record["owner"], rep_a, "{id}");
            assert_eq!(&change.record["logged_by"], logged_by, "{id}");
        }
        assert_eq!(
            change_of(&before, to_won).unwrap().record["reason"],
            "price"
        );
        assert_eq!(
            change_of(&before, to_won).unwrap().record["from"],
            "negotiation"
        );

        // Neither B nor another team's rep sees them, or may log one on A's lead; nor may
        // anyone on a lead that does not exist (the same answer).
        assert!(!ids_in(&server.pull(&b, None).await).contains(&to_negotiation));
        for (who, device) in [("rep_b", &mut b), ("rep_w", &mut w)] {
            let id = Id::from_parts(1_700_000_000_000, [60; 10]);
            let tries = vec![
                device.mutation_of(kind, id, now + 2, &unseen(&moved(id, &won, &new, None))),
                device.mutation_of(kind, to_won, now + 2, &[("reason", json!("budget"), None)]),
            ];
            let answer = server.push(device, tries).await;
            assert_eq!(reasons(&answer), vec![RejectReason::Forbidden; 2], "{who}");
        }
        let mut nowhere = moved(test_id(61), &new, &won, None);
        for (field, value) in &mut nowhere {
            if field == "lead_id" {
                *value = json!(test_id(99).to_string());
            }
        }
        let on_nothing = a.mutation_of(kind, test_id(61), now + 2, &unseen(&nowhere));
        let answer = server.push(&a, vec![on_nothing]).await;
        assert_eq!(reasons(&answer), vec![RejectReason::Forbidden]);

        // The manager gives the lead to B: its stage changes go with it, each still saying
        // who moved the lead; A's devices drop them with it and keep the other lead's.
        let reassign = boss.mutation(lead, now + 3, &[("owner", json!(rep_b), None)]);
        let answer = server.push(&boss, vec![reassign]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let b_pull = server.pull(&b, None).await;
        let version = change_of(&b_pull, lead).unwrap().version;
        for (id, logged_by) in [(to_negotiation, &rep_a), (to_won, &boss_id)] {
            let change = change_of(&b_pull, id).unwrap();
            assert_eq!(change.record["owner"], rep_b, "{id}");
            assert_eq!(&change.record["logged_by"], logged_by, "{id}");
            assert_eq!(change.version, version, "{id} moved in the same push");
        }
        let a_pull = server.pull(&a, before.cursor).await;
        let mut removed: Vec<Id> = a_pull.removed.iter().map(|r| r.id).collect();
        removed.sort();
        assert_eq!(removed, [lead, to_negotiation, to_won]);
        let mut left = ids_in(&server.pull(&a, None).await);
        left.sort();
        assert_eq!(left, [kept_lead, kept_change]);

        // A can no longer move it or correct its history; B can.
        let late = vec![
            a.mutation_of(kind, to_won, now + 4, &[("reason", json!("service"), None)]),
            a.mutation_of(
                kind,
                test_id(62),
                now + 4,
                &unseen(&moved(test_id(62), &won, &negotiating, None)),
            ),
        ];
        let answer = server.push(&a, late).await;
        assert_eq!(reasons(&answer), vec![RejectReason::Forbidden; 2]);
        let fix = b.mutation_of(
            kind,
            to_won,
            now + 4,
            &[(
                "reason",
                json!("service"),
                base_in(&b_pull, to_won, "reason"),
            )],
        );
        let answer = server.push(&b, vec![fix]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let b_again = server.pull(&b, None).await;
        assert_eq!(
            change_of(&b_again, to_won).unwrap().record["reason"],
            "service"
        );
        assert_eq!(
            change_of(&b_again, to_won).unwrap().record["logged_by"],
            boss_id
        );
    }
}

#[tokio::test]
async fn sync_training_items_reach_their_audience_and_only_their_managers_write_them() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let boss_w_password = server.add_user("boss_w", Role::Manager, Some("west")).await;
        let mut boss = server.device("boss", &pw["boss"], 1).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 2).await;
        let b = server.device("rep_b", &pw["rep_b"], 3).await;
        let w = server.device("rep_w", &pw["rep_w"], 4).await;
        let mut boss_w = server.device("boss_w", &boss_w_password, 5).await;
        let item = test_id(1);
        let now = server.now_ms();

        // A rep cannot create an item.
        let forged = a.mutation_of(
            RecordKind::TrainingItem,
            test_id(2),
            now,
            &unseen(&new_item(test_id(2), "自己写的")),
        );
        let answer = server.push(&a, vec![forged]).await;
        assert_eq!(answer.rejected[0].reason, RejectReason::Forbidden);

        // A manager's draft reaches no rep, not even in the team.
        let draft = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now,
            &unseen(&new_item(item, "报价话术")),
        );
        let answer = server.push(&boss, vec![draft]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let before_publish = server.pull(&a, None).await;
        assert!(ids_in(&before_publish).is_empty());
        let at_boss = server.pull(&boss, None).await;
        assert_eq!(ids_in(&at_boss), [item]);
        // Nor can a rep edit it by knowing its id.
        let edit = a.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 1,
            &[("title", json!("改"), base_in(&at_boss, item, "title"))],
        );
        assert_eq!(
            server.push(&a, vec![edit]).await.rejected[0].reason,
            RejectReason::Forbidden
        );

        // Published to the team: both reps of the team get it (a device that already
        // pulled, from its cursor), the other team does not, not even its manager.
        let publish = [
            (
                "published",
                json!(true),
                base_in(&at_boss, item, "published"),
            ),
            ("version", json!(1), base_in(&at_boss, item, "version")),
            (
                "published_at",
                json!(now + 2),
                base_in(&at_boss, item, "published_at"),
            ),
        ];
        let published = boss.mutation_of(RecordKind::TrainingItem, item, now + 2, &publish);
        let answer = server.push(&boss, vec![published]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let a_pull = server.pull(&a, before_publish.cursor).await;
        assert_eq!(ids_in(&a_pull), [item]);
        assert_eq!(change_of(&a_pull, item).unwrap().record["published"], true);
        assert_eq!(ids_in(&server.pull(&b, None).await), [item]);
        assert!(ids_in(&server.pull(&w, None).await).is_empty());
        assert!(ids_in(&server.pull(&boss_w, None).await).is_empty());

        // Published stays published: a draft again, or a narrower audience, is refused
        // (the readers' devices would keep it); withdrawing is the trash.
        let at_boss = server.pull(&boss, None).await;
        let unpublish = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 3,
            &[
                (
                    "published",
                    json!(false),
                    base_in(&at_boss, item, "published"),
                ),
                ("version", json!(0), base_in(&at_boss, item, "version")),
                (
                    "published_at",
                    Value::Null,
                    base_in(&at_boss, item, "published_at"),
                ),
            ],
        );
        let answer = server.push(&boss, vec![unpublish]).await;
        assert_eq!(
            answer.rejected[0].reason,
            RejectReason::invalid("published", Invalid::Narrowed)
        );
        // A rep still cannot edit it, now that they see it.
        let edit = a.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 3,
            &[("title", json!("改"), base_in(&a_pull, item, "title"))],
        );
        assert_eq!(
            server.push(&a, vec![edit]).await.rejected[0].reason,
            RejectReason::Forbidden
        );

        // To everyone: the other team reads it too, and its manager still cannot edit it.
        let widen = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 4,
            &[(
                "audience",
                json!("everyone"),
                base_in(&at_boss, item, "audience"),
            )],
        );
        assert!(server.push(&boss, vec![widen]).await.rejected.is_empty());
        assert_eq!(ids_in(&server.pull(&w, None).await), [item]);
        let w_pull = server.pull(&boss_w, None).await;
        assert_eq!(ids_in(&w_pull), [item]);
        let edit = boss_w.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 5,
            &[("title", json!("改"), base_in(&w_pull, item, "title"))],
        );
        assert_eq!(
            server.push(&boss_w, vec![edit]).await.rejected[0].reason,
            RejectReason::Forbidden
        );
        let at_boss = server.pull(&boss, None).await;
        let narrow = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 6,
            &[(
                "audience",
                json!("team"),
                base_in(&at_boss, item, "audience"),
            )],
        );
        assert_eq!(
            server.push(&boss, vec![narrow]).await.rejected[0].reason,
            RejectReason::invalid("audience", Invalid::Narrowed)
        );
        // The author's reassigning it to a rep is refused: items stay their author's.
        let rep_a = user_id(&server, "rep_a").await;
        let hand_over = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 7,
            &[("owner", json!(rep_a), base_in(&at_boss, item, "owner"))],
        );
        assert_eq!(
            server.push(&boss, vec![hand_over]).await.rejected[0].reason,
            RejectReason::Forbidden
        );
    }
}

#[tokio::test]
async fn sync_training_records_reach_their_person_and_manager_and_sessions_the_team() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut boss = server.device("boss", &pw["boss"], 1).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 2).await;
        let mut b = server.device("rep_b", &pw["rep_b"], 3).await;
        let w = server.device("rep_w", &pw["rep_w"], 4).await;
        let (item, record, attempt, session) = (test_id(1), test_id(2), test_id(3), test_id(4));
        let now = server.now_ms();

        // A's progress on an item and a quiz attempt: A's own.
        let meta = RecordMeta::new(record, now);
        let mut progress = TrainingRecord::for_item(&meta, item);
        progress.opened_at = Some(now);
        progress.read_version = 1;
        progress.completed_at = Some(now);
        progress.rating = Some(5);
        progress.comment = "很实用".into();
        let progress: Vec<(String, Value)> = changed_fields(None, &progress)
            .unwrap()
            .into_iter()
            .collect();
        let taken = QuizAttempt {
            id: attempt,
            item_id: item,
            item_version: 1,
            answers: vec![vec![0], vec![1, 2]],
            percent: 75,
            passed: true,
            submitted_at: now,
            owner: None,
            team: None,
            created_at: now,
            updated_at: now,
            deleted: false,
        };
        let taken: Vec<(String, Value)> =
            changed_fields(None, &taken).unwrap().into_iter().collect();
        let mine = vec![
            a.mutation_of(RecordKind::TrainingRecord, record, now, &unseen(&progress)),
            a.mutation_of(RecordKind::QuizAttempt, attempt, now, &unseen(&taken)),
        ];
        let answer = server.push(&a, mine).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // The manager sees both; the other rep and the other team see neither.
        let at_boss = server.pull(&boss, None).await;
        assert_eq!(
            ids_in(&at_boss),
            [attempt, record],
            "in (version, kind, id) order"
        );
        assert_eq!(change_of(&at_boss, attempt).unwrap().record["percent"], 75);
        assert!(ids_in(&server.pull(&b, None).await).is_empty());
        assert!(ids_in(&server.pull(&w, None).await).is_empty());
        // The manager reads a score but never rewrites it, nor hands it to someone else.
        let rep_b = user_id(&server, "rep_b").await;
        let rewrites = vec![
            boss.mutation_of(
                RecordKind::QuizAttempt,
                attempt,
                now + 1,
                &[("percent", json!(100), base_in(&at_boss, attempt, "percent"))],
            ),
            boss.mutation_of(
                RecordKind::TrainingRecord,
                record,
                now + 1,
                &[("owner", json!(rep_b), base_in(&at_boss, record, "owner"))],
            ),
        ];
        let answer = server.push(&boss, rewrites).await;
        let reasons: Vec<_> = answer.rejected.iter().map(|r| r.reason.clone()).collect();
        assert_eq!(reasons, [RejectReason::Forbidden, RejectReason::Forbidden]);

        // A session reaches the whole team; reps cannot schedule or change one.
        let scheduled = SessionDraft {
            title: "价格谈判角色扮演".into(),
            date: "2026-12-10".into(),
            time: "14:30".into(),
            place: "3 楼会议室".into(),
            method: SessionMethod::RolePlay,
            items: vec![item],
            invited: vec![Id::parse(&rep_b).unwrap()],
            ..SessionDraft::default()
        }
        .parse(&RecordMeta::new(session, now), now, 480)
        .unwrap();
        let scheduled: Vec<(String, Value)> = changed_fields(None, &scheduled)
            .unwrap()
            .into_iter()
            .collect();
        let by_rep = b.mutation_of(
            RecordKind::TrainingSession,
            test_id(5),
            now,
            &unseen(&scheduled),
        );
        assert_eq!(
            server.push(&b, vec![by_rep]).await.rejected[0].reason,
            RejectReason::Forbidden
        );
        let by_boss = boss.mutation_of(
            RecordKind::TrainingSession,
            session,
            now,
            &unseen(&scheduled),
        );
        assert!(server.push(&boss, vec![by_boss]).await.rejected.is_empty());
        for device in [&a, &b] {
            assert!(ids_in(&server.pull(device, None).await).contains(&session));
        }
        assert!(ids_in(&server.pull(&w, None).await).is_empty());
        let at_b = server.pull(&b, None).await;
        let attend = b.mutation_of(
            RecordKind::TrainingSession,
            session,
            now + 2,
            &[(
                "attended",
                json!([rep_b]),
                base_in(&at_b, session, "attended"),
            )],
        );
        assert_eq!(
            server.push(&b, vec![attend]).await.rejected[0].reason,
            RejectReason::Forbidden
        );
    }
}

#[tokio::test]
async fn sync_a_visit_the_manager_logs_on_a_reps_lead_belongs_to_the_rep() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut boss = server.device("boss", &pw["boss"], 2).await;
        let rep_a = user_id(&server, "rep_a").await;
        let boss_id = user_id(&server, "boss").await;
        let (lead, visit, deal) = (test_id(1), test_id(2), test_id(3));
        let now = server.now_ms();
        let created = vec![a.mutation(lead, now, &new_lead("李伟"))];
        let answer = server.push(&a, created).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // The manager, along on a visit, logs it and a deal on A's lead.
        let logged = vec![
            boss.mutation_of(
                RecordKind::Visit,
                visit,
                now,
                &unseen(&new_visit(visit, lead, "经理陪访")),
            ),
            boss.mutation_of(RecordKind::Deal, deal, now, &unseen(&new_deal(deal, lead))),
        ];
        let answer = server.push(&boss, logged).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // They are part of the lead's history: A's, and A's devices get them; the manager
        // is named as who logged them.
        let a_pull = server.pull(&a, None).await;
        for record in [visit, deal] {
            let change = change_of(&a_pull, record).expect("the rep gets the manager's entry");
            assert_eq!(change.record["owner"], rep_a, "{record}");
            assert_eq!(change.record["logged_by"], boss_id, "{record}");
        }
        // The rep may edit them like the rest of their book.
        let edit = a.mutation_of(
            RecordKind::Visit,
            visit,
            now + 1,
            &[("outcome", json!("约好下周报价"), None)],
        );
        let answer = server.push(&a, vec![edit]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    }
}

#[tokio::test]
async fn sync_a_reassigned_lead_takes_its_visits_and_deals_and_each_keeps_who_logged_it() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut b = server.device("rep_b", &pw["rep_b"], 2).await;
        let mut boss = server.device("boss", &pw["boss"], 3).await;
        let mut w = server.device("rep_w", &pw["rep_w"], 4).await;
        let rep_a = user_id(&server, "rep_a").await;
        let rep_b = user_id(&server, "rep_b").await;
        let boss_id = user_id(&server, "boss").await;
        let (lead, first, second, deal) = (test_id(1), test_id(2), test_id(3), test_id(4));
        let (kept_lead, kept_visit) = (test_id(5), test_id(6));
        let now = server.now_ms();

        // A logs two visits and a deal on their lead (one visit claiming B logged it: the
        // server decides), and a visit on another lead of theirs.
        let mut forged = new_visit(second, lead, "第二次拜访");
        forged.push(("logged_by".to_string(), json!(rep_b)));
        let book = vec![
            a.mutation(lead, now, &new_lead("李伟")),
            a.mutation_of(
                RecordKind::Visit,
                first,
                now,
                &unseen(&new_visit(first, lead, "初次拜访")),
            ),
            a.mutation_of(RecordKind::Visit, second, now, &unseen(&forged)),
            a.mutation_of(RecordKind::Deal, deal, now, &unseen(&new_deal(deal, lead))),
            a.mutation(kept_lead, now, &new_lead("王芳")),
            a.mutation_of(
                RecordKind::Visit,
                kept_visit,
                now,
                &unseen(&new_visit(kept_visit, kept_lead, "留下")),
            ),
        ];
        let answer = server.push(&a, book).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let before = server.pull(&a, None).await;
        assert_eq!(before.changes.len(), 6);
        for record in [first, second, deal, kept_visit] {
            let change = change_of(&before, record).unwrap();
            assert_eq!(change.record["logged_by"], rep_a, "{record}");
            assert_eq!(change.record["owner"], rep_a, "{record}");
        }
        assert!(change_of(&before, lead)
            .unwrap()
            .record
            .get("logged_by")
            .is_none());

        // The manager gives the lead to B.
        let reassign = boss.mutation(lead, now + 1, &[("owner", json!(rep_b), None)]);
        let answer = server.push(&boss, vec![reassign]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // B's devices get the lead and its whole history, now B's, each entry still A's.
        let b_pull = server.pull(&b, None).await;
        let moved = change_of(&b_pull, lead).unwrap().version;
        let team = change_of(&before, lead).unwrap().record["team"].clone();
        for record in [first, second, deal] {
            let change = change_of(&b_pull, record).unwrap();
            assert_eq!(change.record["owner"], rep_b, "{record}");
            assert_eq!(change.record["team"], team, "{record}");
            assert_eq!(change.record["logged_by"], rep_a, "{record}");
            assert_eq!(change.version, moved, "{record} moved in the same push");
            assert_eq!(change.field_versions["owner"], moved);
        }
        assert_eq!(b_pull.changes.len(), 4);
        assert_eq!(
            change_of(&b_pull, first).unwrap().record["notes"],
            "初次拜访"
        );

        // A's devices drop all four, and keep the rest.
        let a_pull = server.pull(&a, before.cursor).await;
        let mut removed: Vec<Id> = a_pull.removed.iter().map(|r| r.id).collect();
        removed.sort();
        assert_eq!(removed, [lead, first, second, deal]);
        assert!(a_pull.changes.is_empty(), "{:?}", a_pull.changes);
        let a_full = server.pull(&a, None).await;
        let mut left: Vec<Id> = a_full.changes.iter().map(|c| c.id).collect();
        left.sort();
        assert_eq!(left, [kept_lead, kept_visit]);

        // A can no longer log a visit or a deal on it, edit its history, or move a visit
        // onto it; nor can a rep of another team, nor anyone on a lead that does not exist.
        let late = vec![
            a.mutation_of(
                RecordKind::Visit,
                test_id(7),
                now + 2,
                &unseen(&new_visit(test_id(7), lead, "我的")),
            ),
            a.mutation_of(
                RecordKind::Deal,
                test_id(8),
                now + 2,
                &unseen(&new_deal(test_id(8), lead)),
            ),
            a.mutation_of(
                RecordKind::Visit,
                first,
                now + 2,
                &[("notes", json!("改"), None)],
            ),
            a.mutation_of(
                RecordKind::Visit,
                kept_visit,
                now + 2,
                &[("lead_id", json!(lead.to_string()), None)],
            ),
            a.mutation_of(
                RecordKind::Visit,
                test_id(9),
                now + 2,
                &unseen(&new_visit(test_id(9), test_id(99), "无")),
            ),
        ];
        let answer = server.push(&a, late).await;
        let reasons: Vec<_> = answer.rejected.iter().map(|r| r.reason.clone()).collect();
        assert_eq!(reasons, vec![RejectReason::Forbidden; 5]);
        let outsider = w.mutation_of(
            RecordKind::Visit,
            test_id(10),
            now + 2,
            &unseen(&new_visit(test_id(10), lead, "外组")),
        );
        let answer = server.push(&w, vec![outsider]).await;
        assert_eq!(answer.rejected[0].reason, RejectReason::Forbidden);
        assert_eq!(server.pull(&a, None).await.changes, a_full.changes);

        // B and the manager may log on it; each entry says who logged it.
        let b_visit = b.mutation_of(
            RecordKind::Visit,
            test_id(11),
            now + 3,
            &unseen(&new_visit(test_id(11), lead, "接手")),
        );
        assert!(server.push(&b, vec![b_visit]).await.rejected.is_empty());
        let boss_visit = boss.mutation_of(
            RecordKind::Visit,
            test_id(12),
            now + 3,
            &unseen(&new_visit(test_id(12), lead, "经理陪访")),
        );
        assert!(server
            .push(&boss, vec![boss_visit])
            .await
            .rejected
            .is_empty());

        // The manager still sees everything, A's lead and visit included.
        let team_view = server.pull(&boss, None).await;
        let mut all: Vec<Id> = team_view.changes.iter().map(|c| c.id).collect();
        all.sort();
        let mut expected = vec![
            lead,
            first,
            second,
            deal,
            kept_lead,
            kept_visit,
            test_id(11),
            test_id(12),
        ];
        expected.sort();
        assert_eq!(all, expected);
        let logged_by =
            |record: Id| change_of(&team_view, record).unwrap().record["logged_by"].clone();
        assert_eq!(logged_by(test_id(11)), rep_b);
        assert_eq!(logged_by(test_id(12)), boss_id);
        assert_eq!(logged_by(first), rep_a);
        let b_view = server.pull(&b, None).await;
        assert!(change_of(&b_view, test_id(11)).is_some());
        assert!(change_of(&b_view, test_id(7)).is_none());
    }
}

#[tokio::test]
async fn team_lists_the_whole_team_to_everyone_in_it() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        server.add_user("adam", Role::Rep, Some("east")).await;
        let team = |answer: Answer| -> Vec<TeamMember> {
            assert_eq!(answer.status, StatusCode::OK);
            serde_json::from_slice(&answer.body).unwrap()
        };
        let names = |members: &[TeamMember]| -> Vec<(String, String)> {
            members
                .iter()
                .map(|m| (m.login.clone(), m.role.clone()))
                .collect()
        };
        let pair = |login: &str, role: &str| (login.to_string(), role.to_string());

        // A manager: the team, themselves included, by display name; not another team's.
        let boss = server.device("boss", &pw["boss"], 1).await;
        let members = team(server.get("/api/team", Some(&boss.cookie)).await);
        assert_eq!(
            names(&members),
            [
                pair("adam", "rep"),
                pair("boss", "manager"),
                pair("rep_a", "rep"),
                pair("rep_b", "rep"),
            ]
        );
        assert_eq!(members[1].display_name, "boss display");
        assert_eq!(members[1].id.to_string(), user_id(&server, "boss").await);

        // A rep: the same team (a handed-over lead shows who logged each visit).
        let rep = server.device("rep_a", &pw["rep_a"], 2).await;
        let members = team(server.get("/api/team", Some(&rep.cookie)).await);
        assert_eq!(
            names(&members),
            [
                pair("adam", "rep"),
                pair("boss", "manager"),
                pair("rep_a", "rep"),
                pair("rep_b", "rep"),
            ]
        );
        let lone = server.device("rep_w", &pw["rep_w"], 3).await;
        let members = team(server.get("/api/team", Some(&lone.cookie)).await);
        assert_eq!(names(&members), [pair("rep_w", "rep")]);

        // An admin has no team to pick from; without a session, nobody is listed.
        let admin = server.device("root", &pw["root"], 4).await;
        let answer = server.get("/api/team", Some(&admin.cookie)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.json()["error"], "forbidden");
        let answer = server.get("/api/team", None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn sync_invalid_malformed_unknown_and_oversized_pushes_change_nothing() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let lead = test_id(1);
        let now = server.now_ms();
        server.apply(&mut phone, lead, now, &new_lead("李伟")).await;
        let before = server.pull(&phone, None).await;

        // Invalid values: refused with the field and message key, but numbered as applied.
        let bad_phone = phone.mutation(lead, now + 1, &[("phones", json!(["12"]), None)]);
        // A stamp that claims another device's clock.
        let mut stranger = phone.mutation(lead, now + 2, &[("notes", json!("x"), None)]);
        stranger.stamp = Stamp::new(now + 2, 0, test_id(77));
        let nameless = phone.mutation(test_id(2), now + 3, &[("company", json!("no name"), None)]);
        let batch = vec![bad_phone, stranger, nameless];
        let answer = server.push(&phone, batch).await;
        assert_eq!(answer.last_applied, 4);
        assert_eq!(answer.rejected.len(), 3);
        assert_eq!(
            answer.rejected[0].reason,
            RejectReason::invalid("phones", Invalid::Phone)
        );
        assert_eq!(
            serde_json::to_value(&answer.rejected[0].reason).unwrap(),
            json!({ "kind": "invalid", "field": "phones", "key": "error.phone" })
        );
        assert!(matches!(
            answer.rejected[1].reason,
            RejectReason::Malformed { .. }
        ));
        assert_eq!(
            answer.rejected[2].reason,
            RejectReason::invalid("name", Invalid::Required)
        );

        // Malformed JSON, an unknown kind, an unsupported protocol, an oversized body.
        let next = phone.mutation(lead, now + 5, &[("notes", json!("changed"), None)]);
        let good = phone.request(vec![next]);
        let malformed = server
            .push_raw(&phone, good[..good.len() - 3].to_string())
            .await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert_eq!(malformed.json()["error"], "malformed_json");
        let unknown = server
            .push_raw(
                &phone,
                good.replace("\"kind\":\"lead\"", "\"kind\":\"invoice\""),
            )
            .await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(unknown.json()["error"], "invalid_body");
        let future = server
            .push_raw(
                &phone,
                good.replace(
                    &format!("\"protocol\":{PROTOCOL_VERSION}"),
                    &format!("\"protocol\":{}", PROTOCOL_VERSION + 1),
                ),
            )
            .await;
        assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
        let huge = phone.mutation(
            lead,
            now + 6,
            &[("notes", json!("x".repeat(1024 * 1024)), None)],
        );
        let oversized = server.push_raw(&phone, phone.request(vec![huge])).await;
        assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);
        let bad_cursor = server
            .post_raw(
                "/api/sync/pull",
                json!({ "client_id": phone.client, "cursor": "v1", "limit": 5 }).to_string(),
                Some(&phone.cookie),
            )
            .await;
        assert_eq!(bad_cursor.status, StatusCode::UNPROCESSABLE_ENTITY);
        // A cursor of the right shape whose version no database integer holds (found by
        // schemathesis: it was a "corrupt storage" 500) is as malformed as any other.
        for version in ["18446744073709551615", "09223372036854775808"] {
            let cursor = format!("v{version}-lead-{}", test_id(1));
            let beyond = server
                .post_raw(
                    "/api/sync/pull",
                    json!({ "client_id": phone.client, "cursor": cursor, "limit": 5 }).to_string(),
                    Some(&phone.cookie),
                )
                .await;
            assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY, "{cursor}");
            assert_eq!(beyond.json()["error"], bad_cursor.json()["error"]);
        }
        for answer in [&malformed, &unknown, &future, &oversized] {
            assert!(answer.json()["message"].is_string());
        }

        let after = server.pull(&phone, None).await;
        assert_eq!(after.changes, before.changes);
        assert_eq!(after.last_applied, 4);
    }
}

#[tokio::test]
async fn sync_a_push_over_either_limit_is_413_with_the_limits_and_changes_nothing() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let mut settings = db.settings();
        settings.body_limit = 8 * 1024;
        settings.max_push_mutations = 3;
        let server = start_with(&db, settings).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let now = server.now_ms();
        let limits = PushLimits {
            max_push_bytes: 8 * 1024,
            max_push_mutations: 3,
        };

        // The device can learn the limits before it pushes.
        let health = server.get("/api/health", None).await.json();
        assert_eq!(
            serde_json::from_value::<PushLimits>(health).unwrap(),
            limits
        );

        // Four small mutations: too many.
        let four: Vec<PushMutation> = (1..=4)
            .map(|n| phone.mutation(test_id(n), now, &new_lead("李伟")))
            .collect();
        let too_many = server.push_raw(&phone, phone.request(four.clone())).await;
        // One mutation, but more bytes than the limit.
        let mut huge = four[0].clone();
        huge.fields.insert(
            "notes".to_string(),
            FieldWrite {
                value: json!("x".repeat(9 * 1024)),
                base: None,
            },
        );
        let too_big = server.push_raw(&phone, phone.request(vec![huge])).await;
        for answer in [&too_many, &too_big] {
            assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
            let body = answer.json();
            assert_eq!(body["error"], "push_too_large");
            assert_eq!(body["max_bytes"], 8 * 1024);
            assert_eq!(body["max_mutations"], 3);
            assert!(body["message"].is_string());
            assert_eq!(serde_json::from_value::<PushLimits>(body).unwrap(), limits);
        }

        // Nothing was written: the first three, resent, are numbers 1 to 3.
        let pulled = server.pull(&phone, None).await;
        assert!(pulled.changes.is_empty());
        assert_eq!(pulled.last_applied, 0);
        let three = server.push(&phone, four[..3].to_vec()).await;
        assert_eq!(three.last_applied, 3);
        assert!(three.rejected.is_empty());
    }
}

/// Puts the database back the way a backup taken at server version `version` had it:
/// later records, refusals and versions gone, and `client`'s `last_applied` at `last_applied`.
async fn restore_backup(db: &TestDb, version: i64, client: Id, last_applied: i64) {
    use sqlx::Connection as _;
    let statements = [
        "DELETE FROM records WHERE version > $1",
        "DELETE FROM rejections WHERE at_version > $1",
        "DELETE FROM version_log WHERE version > $1",
        "UPDATE server_version SET version = $1",
    ];
    match &db.target {
        Target::Sqlite(dir) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.join(fieldbook_server::storage::sqlite::FILE_NAME))
                .foreign_keys(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            for sql in statements {
                sqlx::query(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                    .bind(version)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            sqlx::query("UPDATE clients SET last_applied = ?1 WHERE client_id = ?2")
                .bind(last_applied)
                .bind(client.to_string())
                .execute(&mut conn)
                .await
                .unwrap();
        }
        Target::Postgres { url, schema } => {
            let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
            let options = options.options([("search_path", schema.as_str())]);
            let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
            for sql in statements {
                sqlx::query(sql)
                    .bind(version)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            sqlx::query("UPDATE clients SET last_applied = $1 WHERE client_id = $2")
                .bind(last_applied)
                .bind(client.as_uuid())
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn sync_a_pull_tells_a_device_the_server_went_back_even_once_it_passed_its_cursor() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut other = server.device("rep_b", &pw["rep_b"], 2).await;
        let now = server.now_ms();
        for n in 1..=5 {
            server
                .apply(&mut phone, test_id(n), now, &new_lead("李伟"))
                .await;
        }
        let pulled = server.pull(&phone, None).await;
        let seen = pulled
            .mark
            .expect("the server marks the version it pulled at");
        assert_eq!(seen.version, pulled.server_version);
        let pull_seen = |seen: Option<VersionMark>| {
            let body = json!({
                "client_id": phone.client,
                "cursor": pulled.cursor,
                "limit": 500,
                "seen": seen,
            });
            server.post_raw("/api/sync/pull", body.to_string(), Some(&phone.cookie))
        };
        let same: PullResponse = pull_seen(Some(seen)).await.json_as();
        assert!(!same.went_back, "the same history raises no alarm");

        // Restored from a backup taken after the third push; later, other people write on
        // until the restored server is past the phone's cursor again.
        restore_backup(&db, 3, phone.client, 3).await;
        server.clock.advance(TimeDelta::minutes(5));
        for n in 10..=13 {
            server
                .apply(&mut other, test_id(n), server.now_ms(), &new_lead("王芳"))
                .await;
        }
        let passed = server.pull(&other, None).await;
        assert!(
            passed.server_version >= seen.version,
            "the cursor alone cannot tell"
        );
        let blind: PullResponse = pull_seen(None).await.json_as();
        assert!(!blind.went_back);

        // The mark can: version 5 of this server is not the one the phone saw.
        let told: PullResponse = pull_seen(Some(seen)).await.json_as();
        assert!(told.went_back);
        assert!(told.changes.is_empty() && told.cursor.is_none() && !told.more);
        assert_eq!(told.last_applied, 3);
    }
}

#[tokio::test]
async fn sync_a_device_resumes_after_the_server_went_back_in_time() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let now = server.now_ms();
        for n in 1..=5 {
            let answer = server
                .apply(&mut phone, test_id(n), now, &new_lead("李伟"))
                .await;
            assert_eq!(answer.last_applied, u64::from(n));
        }
        let pulled = server.pull(&phone, None).await;
        assert_eq!(pulled.changes.len(), 5);
        let cursor = pulled.cursor.unwrap();
        assert_eq!(pulled.server_version, cursor.version);

        // The server is restored from a backup taken after the third push: numbers 4 and 5
        // are lost with it, though the device was told they were applied (and pulled them).
        restore_backup(&db, 3, phone.client, 3).await;
        let after = server.pull(&phone, Some(cursor)).await;
        assert_eq!(after.server_version, 3);
        assert!(after.server_version < cursor.version, "the device can tell");
        assert_eq!(after.last_applied, 3);

        // The device's next edit is number 6. Alone it is a gap...
        let six = phone.mutation(test_id(6), now + 1, &new_lead("王芳"));
        let gap = server
            .push_raw(&phone, phone.request(vec![six.clone()]))
            .await;
        assert_eq!(gap.status, StatusCode::CONFLICT);
        assert_eq!(gap.json()["expected"], 4);
        // A device that says it was told 5 learns that the server went back, whatever it
        // asks to skip: nothing is applied, so no number it still holds can be skipped.
        let told = server
            .push_raw(&phone, phone.knowing(vec![six.clone()], Some(5), 5))
            .await;
        assert_eq!(told.status, StatusCode::CONFLICT);
        assert_eq!(told.json()["expected"], 4);
        // ...and with resume_after the server skips what it can never get.
        let resumed = server
            .push_raw(&phone, phone.resuming(vec![six], Some(5)))
            .await;
        assert_eq!(resumed.status, StatusCode::OK);
        let resumed: PushResponse = serde_json::from_slice(&resumed.body).unwrap();
        assert_eq!(resumed.last_applied, 6);
        assert!(resumed.rejected.is_empty());
        let full = server.pull(&phone, None).await;
        assert!(change_of(&full, test_id(6)).is_some());
        assert!(change_of(&full, test_id(4)).is_none());
        assert_eq!(full.last_applied, 6);

        // resume_after never moves last_applied back, with or without mutations.
        let seven = phone.mutation(test_id(7), now + 2, &new_lead("张三"));
        let answer = server
            .push_raw(&phone, phone.resuming(vec![seven], Some(2)))
            .await;
        assert_eq!(answer.json()["last_applied"], 7);
        let answer = server
            .push_raw(&phone, phone.resuming(vec![], Some(4)))
            .await;
        assert_eq!(answer.json()["last_applied"], 7);
        assert_eq!(server.pull(&phone, None).await.last_applied, 7);
        let beyond = server
            .push_raw(&phone, phone.resuming(vec![], Some(u64::MAX)))
            .await;
        assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(server.pull(&phone, None).await.last_applied, 7);

        // A device the restored server never heard of resumes the same way.
        let mut laptop = server.device("rep_a", &pw["rep_a"], 2).await;
        laptop.seq = 10;
        let eleven = laptop.mutation(test_id(11), now + 3, &new_lead("赵四"));
        let answer = server
            .push_raw(&laptop, laptop.resuming(vec![eleven], Some(10)))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json()["last_applied"], 11);
    }
}

#[tokio::test]
async fn sync_purge_forgets_old_tombstones_and_sends_devices_with_older_cursors_to_resync() {
    const DAY: TimeDelta = TimeDelta::days(1);
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut boss = server.device("boss", &pw["boss"], 3).await;
        let (old_gone, live, recent_gone, given) = (test_id(1), test_id(2), test_id(3), test_id(4));
        let now = server.now_ms();
        let creates = [old_gone, live, recent_gone, given]
            .iter()
            .map(|&id| phone.mutation(id, now, &new_lead("李伟")))
            .collect();
        server.push(&phone, creates).await;
        let old_cursor = server.pull(&phone, None).await.cursor;

        // Long ago: one lead deleted, one given to B, one refused edit kept.
        server
            .apply(
                &mut phone,
                old_gone,
                now + 1,
                &[("deleted", json!(true), None)],
            )
            .await;
        let answer = server
            .apply(&mut phone, live, now + 2, &[("name", json!(""), None)])
            .await;
        assert_eq!(answer.rejected.len(), 1);
        let rep_b = user_id(&server, "rep_b").await;
        server
            .apply(&mut boss, given, now + 3, &[("owner", json!(rep_b), None)])
            .await;
        let long_ago = server.pull(&boss, None).await;
        let removal_version = change_of(&long_ago, given).unwrap().version;
        assert_eq!(
            change_of(&long_ago, old_gone).unwrap().record["deleted"],
            true
        );

        // 100 days later: another lead deleted, and a second device pulls everything.
        server.clock.advance(DAY * 100);
        let later = server.now_ms();
        // Sessions last 30 days: both sign in again, on the same devices.
        phone.cookie = server.device("rep_a", &pw["rep_a"], 1).await.cookie;
        boss.cookie = server.device("boss", &pw["boss"], 3).await.cookie;
        server
            .apply(
                &mut phone,
                recent_gone,
                later,
                &[("deleted", json!(true), None)],
            )
            .await;
        let laptop = server.device("rep_a", &pw["rep_a"], 2).await;
        let fresh_cursor = server.pull(&laptop, None).await.cursor;

        // Nothing is older than a 365-day horizon.
        let none = server.storage.purge(later, 365).await.unwrap();
        assert_eq!(
            (none.through, none.records, none.purged_through),
            (None, 0, 0)
        );

        let report = server.storage.purge(later, 90).await.unwrap();
        assert_eq!(report.records, 1, "{report:?}");
        assert_eq!(report.removals, 1, "{report:?}");
        assert_eq!(report.rejections, 1, "{report:?}");
        assert_eq!(report.purged_through, removal_version);
        // Purging again finds nothing more.
        let again = server.storage.purge(later, 90).await.unwrap();
        assert_eq!((again.records, again.removals, again.rejections), (0, 0, 0));
        assert_eq!(again.purged_through, removal_version);

        // The old tombstone is gone; the recent one and the old live record are not.
        let everything = server.pull(&boss, None).await;
        assert!(!everything.full_resync);
        assert!(change_of(&everything, old_gone).is_none());
        assert_eq!(
            change_of(&everything, recent_gone).unwrap().record["deleted"],
            true
        );
        assert!(change_of(&everything, live).is_some());
        assert!(change_of(&everything, given).is_some());

        // A cursor from before the purged changes: start over, nothing else in the answer.
        let stale = server.pull(&phone, old_cursor).await;
        assert!(stale.full_resync);
        assert!(stale.changes.is_empty() && stale.removed.is_empty());
        assert_eq!(stale.cursor, None);
        assert!(!stale.more);
        assert_eq!(stale.last_applied, phone.seq);
        // A cursor from after them: an ordinary pull.
        let current = server.pull(&laptop, fresh_cursor).await;
        assert!(!current.full_resync);
        assert_eq!(current.cursor, fresh_cursor);

        // The phone pulls everything still there, one record a page: the cursors of that
        // full pull are below the purge point, yet never send it back to the start.
        let mut cursor = None;
        let mut seen = Vec::new();
        let mut below = 0;
        loop {
            let page: PullResponse =
                serde_json::from_value(server.pull_raw(&phone, cursor, 1).await.json()).unwrap();
            assert!(!page.full_resync, "a full pull was sent back to the start");
            seen.extend(page.changes.iter().map(|c| c.id));
            cursor = page.cursor;
            if cursor.unwrap().version < report.purged_through {
                below += 1;
            }
            if !page.more {
                break;
            }
        }
        assert_eq!(below, 1, "the page with the old live lead");
        seen.sort();
        assert_eq!(seen, [live, recent_gone]);
        assert!(!server.pull(&phone, cursor).await.full_resync);
    }
}

#[tokio::test]
async fn sync_pulls_carry_the_latest_server_version() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let other = server.device("rep_b", &pw["rep_b"], 2).await;
        assert_eq!(server.pull(&phone, None).await.server_version, 0);

        let now = server.now_ms();
        server
            .apply(&mut phone, test_id(1), now, &new_lead("李伟"))
            .await;
        server
            .apply(&mut phone, test_id(2), now, &new_lead("王芳"))
            .await;
        let pulled = server.pull(&phone, None).await;
        let latest = pulled.changes.iter().map(|c| c.version).max().unwrap();
        assert_eq!(pulled.server_version, latest);
        // Someone who sees none of it is told the same version.
        let theirs = server.pull(&other, None).await;
        assert!(theirs.changes.is_empty());
        assert_eq!(theirs.server_version, latest);

        // A push that writes nothing still takes a version; the next pull says so.
        server.push(&phone, vec![]).await;
        let again = server.pull(&phone, pulled.cursor).await;
        assert!(again.changes.is_empty());
        assert_eq!(again.server_version, latest + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_concurrent_pushes_never_let_a_pull_skip_a_write() {
    // Pulls must land between one push taking its version and committing, which is where a
    // sequence-numbered feed (versions committing out of order) loses writes. Checked to
    // fail against such a feed on PostgreSQL.
    const PUSHES: u8 = 6;
    const BIG_PUSH: u8 = 30;
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = Arc::new(start(&db).await);
        let pw = sync_team(&server).await;
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Pulls made while the pushes run, by all pullers together.
        let pulls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        // Every device signs in first (argon2 takes a while), so no push runs before the
        // pullers can.
        let mut pushing = Vec::new();
        for (n, login, per_push) in [(1u8, "rep_a", BIG_PUSH), (2, "rep_b", 1), (3, "boss", 1)] {
            pushing.push((server.device(login, &pw[login], n).await, n, per_push));
        }
        let mut pulling = Vec::new();
        for n in 4..7u8 {
            pulling.push(server.device("boss", &pw["boss"], n).await);
        }

        // Three of the manager's devices pull while everyone pushes, each following its own
        // cursor in small pages (many quick pulls), until the pushes are done and the feed
        // is drained.
        let mut pullers = Vec::new();
        for device in pulling {
            let server = server.clone();
            let done = done.clone();
            let pulls = pulls.clone();
            pullers.push(tokio::spawn(async move {
                let mut seen = std::collections::BTreeSet::new();
                let mut cursor: Option<Cursor> = None;
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                    let answer = server.pull_raw(&device, cursor, 2).await;
                    assert_eq!(answer.status, StatusCode::OK);
                    let pulled: PullResponse = serde_json::from_slice(&answer.body).unwrap();
                    assert!(pulled.cursor >= cursor, "the cursor went backwards");
                    if let Some(last) = pulled.changes.last() {
                        assert_eq!(pulled.cursor.unwrap().version, last.version);
                    }
                    seen.extend(pulled.changes.iter().map(|c| c.id));
                    cursor = pulled.cursor;
                    if !finished {
                        pulls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    } else if !pulled.more {
                        return seen;
                    }
                }
            }));
        }

        // One device sends big batches (long transactions), the others single mutations
        // (short ones): a short push that takes a later version but commits first is the
        // race that makes a sequence-numbered feed skip the long one's writes. Before each
        // push a pusher waits until some puller has pulled since its previous push, so
        // pulls keep landing among the pushes however the machine schedules the tasks.
        let mut pushers = Vec::new();
        let mut expected = std::collections::BTreeSet::new();
        for (mut device, n, per_push) in pushing {
            let batches: Vec<Vec<Id>> = (0..PUSHES)
                .map(|push| {
                    (0..per_push)
                        .map(|i| {
                            Id::from_parts(1_700_000_000_000, [n, push, i, 0, 0, 0, 0, 0, 0, 0])
                        })
                        .collect()
                })
                .collect();
            expected.extend(batches.iter().flatten().copied());
            let server = server.clone();
            let pulls = pulls.clone();
            pushers.push(tokio::spawn(async move {
                let mut pulls_before = 0;
                for ids in batches {
                    loop {
                        let now = pulls.load(std::sync::atomic::Ordering::SeqCst);
                        if now > pulls_before {
                            pulls_before = now;
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                    let now = server.now_ms();
                    let mutations = ids
                        .into_iter()
                        .map(|id| device.mutation(id, now, &new_lead("并发")))
                        .collect();
                    server.push(&device, mutations).await;
                }
            }));
        }
        for pusher in pushers {
            pusher.await.unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let pulls_while_pushing = pulls.load(std::sync::atomic::Ordering::SeqCst);
        eprintln!("{pulls_while_pushing} pulls while pushing");
        // Each pusher saw the count rise before every one of its pushes, so at least one
        // pull per push of the longest-running pusher landed while pushes ran.
        assert!(
            pulls_while_pushing >= u32::from(PUSHES),
            "only {pulls_while_pushing} pulls while pushing: the test no longer races pulls against pushes"
        );
        for puller in pullers {
            let seen = puller.await.unwrap();
            assert_eq!(
                seen.len(),
                expected.len(),
                "a pull skipped a committed write"
            );
            assert_eq!(seen, expected);
        }
    }
}

/// Commits what [`hold_version_row`] holds.
type Commit = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Holds the `server_version` row the way an open push does, on a raw connection of the
/// test database; calling the answer commits and releases it.
async fn hold_version_row(db: &TestDb) -> Box<dyn FnOnce() -> Commit> {
    use sqlx::Connection as _;
    match &db.target {
        Target::Sqlite(dir) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.join(fieldbook_server::storage::sqlite::FILE_NAME));
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::raw_sql("UPDATE server_version SET version = version + 1 WHERE id = 1")
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(move || {
                Box::pin(async move {
                    sqlx::raw_sql("COMMIT").execute(&mut conn).await.unwrap();
                })
            })
        }
        Target::Postgres { url, schema } => {
            let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
            let options = options.options([("search_path", schema.as_str())]);
            let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
            sqlx::raw_sql("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::raw_sql("UPDATE server_version SET version = version + 1 WHERE id = 1")
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(move || {
                Box::pin(async move {
                    sqlx::raw_sql("COMMIT").execute(&mut conn).await.unwrap();
                })
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_a_push_waits_while_another_holds_the_version_so_versions_commit_in_order() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = Arc::new(start(&db).await);
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let boss = server.device("boss", &pw["boss"], 2).await;
        let cursor = server.pull(&boss, None).await.cursor;

        // Another push has taken the next version and not committed yet.
        let commit = hold_version_row(&db).await;
        let lead = test_id(1);
        let mutation = phone.mutation(lead, server.now_ms(), &new_lead("排队"));
        let pushing = {
            let server = server.clone();
            tokio::spawn(async move { server.push(&phone, vec![mutation]).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // This push cannot take a version, let alone commit one above the open push's...
        assert!(
            !pushing.is_finished(),
            "a push did not wait for the open one"
        );
        // ...and pulls are not blocked meanwhile; they simply see nothing new.
        let meanwhile = server.pull(&boss, cursor).await;
        assert!(meanwhile.changes.is_empty());

        commit().await;
        assert_eq!(pushing.await.unwrap().last_applied, 1);
        let after = server.pull(&boss, meanwhile.cursor).await;
        assert_eq!(after.changes.len(), 1);
        assert_eq!(after.changes[0].id, lead);
        // It got the version after the held one.
        assert_eq!(after.changes[0].version, 2);
    }
}

#[tokio::test]
async fn sync_a_full_pool_answers_503_with_retry_after_and_writes_nothing() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let size = PoolSize {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_millis(300),
        };
        let (storage, pool) = db.open_sized(size).await;
        let server = serve(storage, db.settings(), ManualClock::new(Utc::now()));
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let create = phone.mutation(test_id(1), server.now_ms(), &new_lead("李伟"));

        // Something else has the only connection for longer than a request waits.
        let held = pool.take().await;
        let push = server
            .push_raw(&phone, phone.request(vec![create.clone()]))
            .await;
        let pull = server.pull_raw(&phone, None, 10).await;
        let login = server.login("rep_a", &pw["rep_a"]).await;
        for answer in [&push, &pull, &login] {
            assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
            let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry_after), "{retry_after}");
            assert_eq!(answer.json()["error"], "busy");
            assert!(answer.json()["message"].is_string());
        }
        drop(held);

        // Nothing of the refused push was written; sent again, it applies.
        let pulled = server.pull(&phone, None).await;
        assert!(pulled.changes.is_empty());
        assert_eq!(pulled.last_applied, 0);
        assert_eq!(server.push(&phone, vec![create]).await.last_applied, 1);
    }
}

#[tokio::test]
async fn a_request_over_the_time_limit_answers_503_and_writes_nothing() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        // A request would wait ten seconds for the only connection; the time limit is less.
        let size = PoolSize {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(10),
        };
        let (storage, pool) = db.open_sized(size).await;
        let mut settings = db.settings();
        settings.request_timeout = std::time::Duration::from_millis(300);
        let server = serve(storage, settings, ManualClock::new(Utc::now()));
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let create = phone.mutation(test_id(1), server.now_ms(), &new_lead("李伟"));

        let held = pool.take().await;
        let started = std::time::Instant::now();
        let push = server
            .push_raw(&phone, phone.request(vec![create.clone()]))
            .await;
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(push.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(push.json()["error"], "busy");
        assert!(push.header("retry-after").is_some());
        drop(held);

        let pulled = server.pull(&phone, None).await;
        assert!(pulled.changes.is_empty());
        assert_eq!(server.push(&phone, vec![create]).await.last_applied, 1);
    }
}

#[tokio::test]
async fn creates_past_a_users_record_quota_are_refused_and_edits_go_on() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let mut settings = db.settings();
        settings.max_records_per_user = 3;
        let server = start_with(&db, settings).await;
        let pw = sync_team(&server).await;
        let mut phone = server.device("rep_a", &pw["rep_a"], 1).await;
        let now = server.now_ms();
        let creates: Vec<PushMutation> = (1..=5)
            .map(|n| phone.mutation(test_id(n), now, &new_lead(&format!("客户{n}"))))
            .collect();
        let answer = server.push(&phone, creates).await;
        assert_eq!(answer.last_applied, 5);
        let refused: Vec<(u64, &RejectReason)> =
            answer.rejected.iter().map(|r| (r.seq, &r.reason)).collect();
        let quota = RejectReason::Invalid {
            field: String::new(),
            key: "error.quota".to_string(),
        };
        assert_eq!(refused, [(4, &quota), (5, &quota)]);
        // Editing what is owned goes on; another create is refused; a teammate may create.
        let edit = phone.mutation(test_id(1), now + 1, &[("notes", json!("再访"), None)]);
        let another = phone.mutation(test_id(6), now + 1, &new_lead("客户6"));
        let answer = server.push(&phone, vec![edit, another]).await;
        assert_eq!(answer.rejected.len(), 1);
        assert_eq!(answer.rejected[0].seq, 7);
        let mut other = server.device("rep_b", &pw["rep_b"], 2).await;
        let theirs = other.mutation(test_id(7), now, &new_lead("客户7"));
        assert!(server.push(&other, vec![theirs]).await.rejected.is_empty());
        let pulled = server.pull(&phone, None).await;
        assert_eq!(pulled.changes.len(), 3);
    }
}

#[tokio::test]
async fn a_session_past_its_rate_gets_429_and_no_one_else_is_slowed() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let mut settings = db.settings();
        settings.session_burst = 3;
        settings.session_rate = 1;
        let server = start_with(&db, settings).await;
        let pw = sync_team(&server).await;
        let rep = server.login("rep_a", &pw["rep_a"]).await.session_cookie();
        let boss = server.login("boss", &pw["boss"]).await.session_cookie();
        for _ in 0..3 {
            assert_eq!(
                server.get("/api/me", Some(&rep)).await.status,
                StatusCode::OK
            );
        }
        let refused = server.get("/api/team", Some(&rep)).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.json()["error"], "rate_limited");
        assert_eq!(refused.header("retry-after"), Some("1"));
        // Another session (another person) is not slowed.
        assert_eq!(
            server.get("/api/me", Some(&boss)).await.status,
            StatusCode::OK
        );
        // A second later the session may make one more request.
        server.clock.advance(TimeDelta::seconds(1));
        assert_eq!(
            server.get("/api/me", Some(&rep)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            server.get("/api/me", Some(&rep)).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_pushes_waiting_for_their_turn_leave_connections_to_pulls() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let (storage, _pool) = db.open_sized(PoolSize::new(4)).await;
        let server = Arc::new(serve(storage, db.settings(), ManualClock::new(Utc::now())));
        let pw = sync_team(&server).await;
        let boss = server.device("boss", &pw["boss"], 9).await;
        let mut devices = Vec::new();
        for n in 1..=4u8 {
            let login = if n % 2 == 0 { "rep_a" } else { "rep_b" };
            devices.push(server.device(login, &pw[login], n).await);
        }

        // A long push holds the version; as many pushes as the pool has connections queue.
        let commit = hold_version_row(&db).await;
        let mut pushes = Vec::new();
        for (n, mut device) in devices.into_iter().enumerate() {
            let server = server.clone();
            let id = test_id(u8::try_from(n).unwrap() + 1);
            pushes.push(tokio::spawn(async move {
                let mutation = device.mutation(id, server.now_ms(), &new_lead("排队"));
                server.push(&device, vec![mutation]).await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(pushes.iter().all(|push| !push.is_finished()));

        // A pull still gets a connection, at once.
        let started = std::time::Instant::now();
        let pulled = server.pull_raw(&boss, None, 10).await;
        assert_eq!(pulled.status, StatusCode::OK);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));

        commit().await;
        for push in pushes {
            assert_eq!(push.await.unwrap().last_applied, 1);
        }
        assert_eq!(server.pull(&boss, None).await.changes.len(), 4);
    }
}

/// A database error as the server would answer it.
fn answer_to(error: sqlx::Error) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let storage = fieldbook_server::storage::StorageError::from(error);
    assert!(
        matches!(storage, fieldbook_server::storage::StorageError::Busy(_)),
        "{storage:?}"
    );
    fieldbook_server::http::ApiError::from(storage).into_response()
}

#[tokio::test]
async fn busy_database_errors_answer_503_with_retry_after() {
    use sqlx::Connection as _;
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let (_storage, pool) = db.open_sized(PoolSize::new(2)).await;
        let mut errors = Vec::new();
        match (&db.target, &pool) {
            (Target::Sqlite(dir), _) => {
                // A writer holds SQLite's lock; another gives up at once: SQLITE_BUSY.
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(dir.join(fieldbook_server::storage::sqlite::FILE_NAME))
                    .busy_timeout(std::time::Duration::ZERO);
                let mut holder = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut holder)
                    .await
                    .unwrap();
                let mut other = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .unwrap();
                errors.push(
                    sqlx::raw_sql("BEGIN IMMEDIATE")
                        .execute(&mut other)
                        .await
                        .unwrap_err(),
                );
            }
            (Target::Postgres { .. }, TestPool::Postgres(pool)) => {
                // The server's connections carry the lock and statement timeouts.
                let mut conn = pool.acquire().await.unwrap();
                for (setting, value) in [("lock_timeout", "5s"), ("statement_timeout", "15s")] {
                    let shown: String =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                            .fetch_one(&mut *conn)
                            .await
                            .unwrap();
                    assert_eq!(shown, value, "{setting}");
                }
                // A lock not granted in time: 55P03.
                let mut holder = pool.acquire().await.unwrap();
                sqlx::raw_sql("BEGIN; SELECT version FROM server_version FOR UPDATE")
                    .execute(&mut *holder)
                    .await
                    .unwrap();
                sqlx::raw_sql("SET lock_timeout = '50ms'")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                errors.push(
                    sqlx::raw_sql("SELECT version FROM server_version FOR UPDATE")
                        .execute(&mut *conn)
                        .await
                        .unwrap_err(),
                );
                sqlx::raw_sql("ROLLBACK")
                    .execute(&mut *holder)
                    .await
                    .unwrap();
                // A statement over the statement timeout: 57014.
                sqlx::raw_sql("SET statement_timeout = '50ms'")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                errors.push(
                    sqlx::raw_sql("SELECT pg_sleep(2)")
                        .execute(&mut *conn)
                        .await
                        .unwrap_err(),
                );
                conn.detach();
            }
            _ => unreachable!(),
        }
        errors.push(sqlx::Error::PoolTimedOut);
        for error in errors {
            let response = answer_to(error);
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()["retry-after"], "2");
        }
    }
}

#[tokio::test]
async fn demo_seeds_a_team_once_and_each_person_sees_their_share() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let logins = fieldbook_server::demo::seed(server.storage.as_ref(), server.clock_now())
            .await
            .unwrap();
        let roles: Vec<(&str, Role)> = logins.iter().map(|l| (l.login.as_str(), l.role)).collect();
        assert_eq!(
            roles,
            [
                ("demo.manager", Role::Manager),
                ("demo.rep1", Role::Rep),
                ("demo.rep2", Role::Rep)
            ]
        );
        // A second start leaves the team (and its passwords) alone.
        let again = fieldbook_server::demo::seed(server.storage.as_ref(), server.clock_now())
            .await
            .unwrap();
        assert!(again.is_empty());

        let password = |login: &str| {
            logins
                .iter()
                .find(|l| l.login == login)
                .unwrap()
                .password
                .clone()
        };
        let mut kinds = std::collections::BTreeMap::new();
        let mut users = std::collections::BTreeMap::new();
        let mut sessions = Vec::new();
        let now = server.clock_now().timestamp_millis();
        let due = domain::today_in_offset(now, 480) + TimeDelta::days(7);
        for (n, login) in ["demo.rep1", "demo.rep2", "demo.manager"]
            .iter()
            .enumerate()
        {
            let chosen = server.first_sign_in(login, &password(login)).await;
            let device = server.device(login, &chosen, n as u8 + 1).await;
            let pulled = server.pull(&device, None).await;
            assert!(!pulled.more);
            let count = |kind: RecordKind| pulled.changes.iter().filter(|c| c.kind == kind).count();
            let account = server.storage.user_by_login(login).await.unwrap().unwrap();
            users.insert(*login, Id::from_uuid(account.user.id));
            // Everyone in the team reads the manager's library: ten published items (four
            // pieces of material and a quiz, each in Chinese and in English) and a session.
            let items: Vec<domain::TrainingItem> = pulled
                .changes
                .iter()
                .filter(|c| c.kind == RecordKind::TrainingItem)
                .map(|c| serde_json::from_value(c.record.clone()).unwrap())
                .collect();
            assert_eq!(items.len(), 10, "{login}");
            for item in &items {
                assert!(item.published && item.version == 1, "{}", item.title);
                assert_eq!(item.published_at, Some(now));
                assert_eq!(item.audience, domain::Audience::Team);
            }
            let quizzes: Vec<&domain::Quiz> =
                items.iter().filter_map(|i| i.quiz.as_ref()).collect();
            assert_eq!(quizzes.len(), 2);
            assert!(quizzes.iter().all(|quiz| quiz.check().is_ok()));
            assert!(items
                .iter()
                .filter(|i| i.quiz.is_some())
                .all(|i| i.kind == ItemKind::Quiz));
            let mut assigned: Vec<&str> = items
                .iter()
                .filter(|i| i.assigned.whole_team && i.assigned.due_on == Some(due))
                .map(|i| i.title.as_str())
                .collect();
            assigned.sort();
            assert_eq!(assigned, ["测验：销售流程与价格谈判", "销售流程六阶段"]);
            let session: Vec<domain::TrainingSession> = pulled
                .changes
                .iter()
                .filter(|c| c.kind == RecordKind::TrainingSession)
                .map(|c| serde_json::from_value(c.record.clone()).unwrap())
                .collect();
            assert_eq!(session.len(), 1, "{login}");
            assert!(session[0]
                .items
                .iter()
                .all(|covered| items.iter().any(|i| i.id == *covered)));
            sessions.push(session[0].clone());
            kinds.insert(
                *login,
                (
                    count(RecordKind::Lead),
                    count(RecordKind::Visit),
                    count(RecordKind::Deal),
                ),
            );
            // Both languages are in the sample book of everyone who sees the first rep's.
            if *login != "demo.rep2" {
                let names: Vec<&str> = pulled
                    .changes
                    .iter()
                    .filter_map(|c| c.record["name"].as_str())
                    .collect();
                assert!(names.contains(&"王建国") && names.contains(&"Emily Carter"));
            }
        }
        assert_eq!(kinds["demo.rep1"], (5, 5, 1));
        assert_eq!(kinds["demo.rep2"], (3, 3, 1));
        // The manager sees the whole team.
        assert_eq!(kinds["demo.manager"], (8, 8, 2));
        // One session, the same for everyone, inviting both reps.
        assert!(sessions.windows(2).all(|pair| pair[0] == pair[1]));
        assert_eq!(
            sessions[0].invited,
            [users["demo.rep1"], users["demo.rep2"]]
        );
        assert_eq!(sessions[0].method, SessionMethod::RolePlay);
        assert_eq!(sessions[0].owner, Some(users["demo.manager"]));
    }
}

/// A whole pull from no cursor, page by page.
async fn pull_all(server: &Server, device: &Device, limit: u32) -> Vec<RecordChange> {
    let mut changes = Vec::new();
    let mut cursor = None;
    loop {
        let answer = server.pull_raw(device, cursor, limit).await;
        assert_eq!(answer.status, StatusCode::OK);
        let page: PullResponse = serde_json::from_slice(&answer.body).unwrap();
        changes.extend(page.changes);
        cursor = page.cursor;
        if !page.more {
            return changes;
        }
    }
}

#[tokio::test]
async fn sync_a_batch_that_names_a_record_twice_and_mixes_create_edit_and_trash() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut boss = server.device("boss", &pw["boss"], 2).await;
        let (lead, gone, visit) = (test_id(1), test_id(2), test_id(3));
        let now = server.now_ms();
        // One batch: a lead created then edited twice, another created then trashed, a
        // visit on the first created then edited.
        let batch = vec![
            a.mutation(lead, now, &new_lead("李伟")),
            a.mutation(lead, now + 1, &[("name", json!("李伟伟"), None)]),
            a.mutation(gone, now + 1, &new_lead("王芳")),
            a.mutation_of(
                RecordKind::Visit,
                visit,
                now + 2,
                &unseen(&new_visit(visit, lead, "初次拜访")),
            ),
            a.mutation(gone, now + 3, &[("deleted", json!(true), None)]),
            a.mutation_of(
                RecordKind::Visit,
                visit,
                now + 4,
                &[("notes", json!("改过"), None)],
            ),
            a.mutation(lead, now + 5, &[("company", json!("华南机械"), None)]),
        ];
        let answer = server.push(&a, batch).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        assert_eq!(answer.last_applied, 7);
        let pulled = server.pull(&a, None).await;
        assert_eq!(pulled.changes.len(), 3);
        let version = pulled.changes[0].version;
        for change in &pulled.changes {
            assert_eq!(change.version, version, "one batch, one version");
            assert!(change.field_versions.values().all(|&v| v == version));
        }
        let lead_now = change_of(&pulled, lead).unwrap();
        assert_eq!(lead_now.record["name"], "李伟伟");
        assert_eq!(lead_now.record["company"], "华南机械");
        assert_eq!(lead_now.record["phones"], json!(["13800138000"]));
        assert_eq!(change_of(&pulled, gone).unwrap().record["deleted"], true);
        let visit_now = change_of(&pulled, visit).unwrap();
        assert_eq!(visit_now.record["notes"], "改过");
        assert_eq!(visit_now.record["lead_id"], lead.to_string());

        // The manager edits the name without having seen it (a conflict, logged once) and
        // the company on top of what they saw, in one batch on the same record; a third
        // mutation of the batch is invalid and refused alone.
        let seen = lead_now.field_versions["company"];
        let batch = vec![
            boss.mutation(lead, now - 10, &[("name", json!("老李"), None)]),
            boss.mutation(lead, now + 6, &[("company", json!("华北机械"), Some(seen))]),
            boss.mutation(lead, now + 7, &[("name", json!(""), None)]),
        ];
        let answer = server.push(&boss, batch).await;
        assert_eq!(answer.rejected.len(), 1, "{:?}", answer.rejected);
        assert_eq!(answer.rejected[0].seq, 3);
        let after = server.pull(&a, pulled.cursor).await;
        assert_eq!(after.changes.len(), 1);
        let lead_after = &after.changes[0];
        assert_eq!(lead_after.record["name"], "李伟伟");
        assert_eq!(lead_after.record["company"], "华北机械");
        assert_eq!(lead_after.conflicts.len(), 1, "{:?}", lead_after.conflicts);
        assert_eq!(lead_after.conflicts[0].lost_value, "老李");
        assert_eq!(lead_after.conflicts[0].field, "name");
    }
}

#[tokio::test]
async fn sync_a_batch_larger_than_the_bound_parameter_limit_and_its_reassignment() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let mut a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut boss = server.device("boss", &pw["boss"], 2).await;
        let b = server.device("rep_b", &pw["rep_b"], 3).await;
        let rep_a = server
            .storage
            .user_by_login("rep_a")
            .await
            .unwrap()
            .unwrap();
        let rep_b = user_id(&server, "rep_b").await;
        let now = server.now_ms();
        let lead = Id::from_parts(1_700_000_000_000, [0xee; 10]);
        // 600 visits of ~20 fields: 12,000 field rows, past 32,766 parameters at 6 a row.
        let mut mutations = vec![a.mutation(lead, now, &new_lead("李伟"))];
        let visits: Vec<Id> = (0..600u32)
            .map(|n| {
                let mut random = [0u8; 10];
                random[..4].copy_from_slice(&n.to_be_bytes());
                Id::from_parts(1_700_000_000_001, random)
            })
            .collect();
        for &visit in &visits {
            mutations.push(a.mutation_of(
                RecordKind::Visit,
                visit,
                now,
                &unseen(&new_visit(visit, lead, "拜访")),
            ));
        }
        let request = PushRequest {
            client_id: a.client,
            protocol: PROTOCOL_VERSION,
            mutations,
            resume_after: None,
            known_applied: 0,
        };
        let outcome = server
            .storage
            .push(&rep_a.user, &request, now, u64::MAX)
            .await
            .unwrap();
        let PushOutcome::Applied(answer) = outcome else {
            panic!("{outcome:?}");
        };
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        assert_eq!(answer.last_applied, 601);
        let all = pull_all(&server, &a, 200).await;
        assert_eq!(all.len(), 601);
        assert!(all
            .iter()
            .filter(|change| change.kind == RecordKind::Visit)
            .all(|change| change.record["notes"] == "拜访"));

        // The manager logs one more visit and gives the lead to B in one batch: both the
        // stored visits and the one just written in the batch move with it.
        let late = test_id(50);
        let batch = vec![
            boss.mutation_of(
                RecordKind::Visit,
                late,
                now + 1,
                &unseen(&new_visit(late, lead, "经理陪访")),
            ),
            boss.mutation(lead, now + 2, &[("owner", json!(rep_b), None)]),
            boss.mutation_of(
                RecordKind::Visit,
                late,
                now + 3,
                &[("outcome", json!("报价"), None)],
            ),
        ];
        let answer = server.push(&boss, batch).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        let moved = pull_all(&server, &b, 500).await;
        assert_eq!(moved.len(), 602);
        assert!(moved.iter().all(|change| change.record["owner"] == rep_b));
        let late_now = moved.iter().find(|change| change.id == late).unwrap();
        assert_eq!(late_now.record["outcome"], "报价");
        assert!(pull_all(&server, &a, 500).await.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Attachments: bytes uploaded in chunks, stored once, read by who may see their records.
// ---------------------------------------------------------------------------------------

use domain::{Attachment, Audience, Sha256};
use sha2::Digest as _;

/// A file's digest, as the app computes it.
fn sha_of(bytes: &[u8]) -> Sha256 {
    let digest: [u8; 32] = sha2::Sha256::digest(bytes).into();
    Sha256::from_bytes(&digest)
}

/// `len` bytes that differ from file to file by `seed`.
fn file_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|n| (n % 251) as u8 ^ seed.wrapping_mul(31))
        .collect()
}

/// Every file under `dir`, recursively (none when it does not exist).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

const CHUNK: usize = 512 * 1024;

impl Server {
    /// `PUT /api/attachments/{sha}?offset=…&size=…&mime=…` with `bytes` as the chunk.
    async fn put_chunk(
        &self,
        cookie: &str,
        sha: &Sha256,
        offset: usize,
        size: usize,
        mime: &str,
        bytes: &[u8],
    ) -> Answer {
        let path = format!("/api/attachments/{sha}?offset={offset}&size={size}&mime={mime}");
        let request = Request::put(path)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::COOKIE, cookie)
            .body(Body::from(bytes.to_vec()))
            .unwrap();
        self.send(request).await
    }

    /// Uploads `bytes` whole in chunks of [`CHUNK`]; expects a 201 at the end.
    async fn upload(&self, cookie: &str, bytes: &[u8], mime: &str) -> Sha256 {
        let sha = sha_of(bytes);
        for (n, chunk) in bytes.chunks(CHUNK).enumerate() {
            let answer = self
                .put_chunk(cookie, &sha, n * CHUNK, bytes.len(), mime, chunk)
                .await;
            let last = (n + 1) * CHUNK >= bytes.len();
            let expected = if last {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            assert_eq!(
                answer.status,
                expected,
                "{}",
                String::from_utf8_lossy(&answer.body)
            );
        }
        sha
    }

    /// `GET /api/attachments/{sha}/upload`'s answer, expecting a 200.
    async fn upload_state(&self, cookie: &str, sha: &Sha256) -> Value {
        let answer = self
            .get(&format!("/api/attachments/{sha}/upload"), Some(cookie))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    }

    /// `GET /api/attachments/{sha}` as the holder of `cookie`.
    async fn attachment(&self, cookie: Option<&str>, sha: &Sha256) -> Answer {
        self.get(&format!("/api/attachments/{sha}"), cookie).await
    }
}

/// The stored attachments (not the partial uploads) under a data directory.
fn stored_attachments(db: &TestDb) -> Vec<PathBuf> {
    let root = db.data_dir().join("attachments");
    files_under(&root)
        .into_iter()
        .filter(|path| !path.starts_with(root.join("partial")))
        .collect()
}

#[tokio::test]
async fn attachments_upload_in_chunks_resume_after_an_interruption_and_read_back() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let boss = server.device("boss", &pw["boss"], 1).await;
        let health = server.get("/api/health", None).await.json();
        assert_eq!(health["max_attachment_bytes"], 10 * 1024 * 1024);
        assert_eq!(
            serde_json::from_value::<domain::AttachmentLimits>(health)
                .unwrap()
                .max_attachment_bytes,
            Some(10 * 1024 * 1024)
        );

        // 512 KiB, then 1 MiB (the largest chunk), then the rest.
        let bytes = file_bytes(2 * 1024 * 1024 + 1000, 1);
        let size = bytes.len();
        let sha = sha_of(&bytes);
        let cookie = boss.cookie.as_str();
        assert_eq!(
            server.upload_state(cookie, &sha).await,
            json!({ "offset": 0, "complete": false })
        );
        let first = server
            .put_chunk(cookie, &sha, 0, size, "image/png", &bytes[..CHUNK])
            .await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.json(), json!({ "offset": CHUNK, "complete": false }));

        // The connection drops here; the device asks where to resume.
        assert_eq!(
            server.upload_state(cookie, &sha).await,
            json!({ "offset": CHUNK, "complete": false })
        );
        // A chunk sent again, or one skipping ahead, is told where the upload really ends.
        for wrong in [0, 2 * CHUNK] {
            let answer = server
                .put_chunk(cookie, &sha, wrong, size, "image/png", &bytes[..100])
                .await;
            assert_eq!(answer.status, StatusCode::CONFLICT);
            assert_eq!(answer.json()["error"], "offset_mismatch");
            assert_eq!(answer.json()["offset"], CHUNK);
        }
        // Over 1 MiB in one chunk is refused without being read.
        let too_big = server
            .put_chunk(
                cookie,
                &sha,
                CHUNK,
                size,
                "image/png",
                &bytes[CHUNK..CHUNK + 1024 * 1024 + 1],
            )
            .await;
        assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(too_big.json()["error"], "payload_too_large");
        // A chunk running past the declared size, a type outside the list and a missing
        // parameter store nothing either.
        let past = server
            .put_chunk(
                cookie,
                &sha,
                CHUNK,
                CHUNK + 10,
                "image/png",
                &bytes[CHUNK..CHUNK + 11],
            )
            .await;
        assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = server
            .put_chunk(
                cookie,
                &sha,
                CHUNK,
                size,
                "text/html",
                &bytes[CHUNK..CHUNK + 10],
            )
            .await;
        assert_eq!(html.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(html.json()["error"], "unsupported_attachment_type");
        let request = Request::put(format!("/api/attachments/{sha}?offset={CHUNK}"))
            .header(header::COOKIE, cookie)
            .body(Body::from(bytes[CHUNK..CHUNK + 10].to_vec()))
            .unwrap();
        let missing = server.send(request).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.json()["error"], "invalid_query");
        assert_eq!(server.upload_state(cookie, &sha).await["offset"], CHUNK);

        let second_end = CHUNK + 1024 * 1024;
        let second = server
            .put_chunk(
                cookie,
                &sha,
                CHUNK,
                size,
                "image/png",
                &bytes[CHUNK..second_end],
            )
            .await;
        assert_eq!(
            second.json(),
            json!({ "offset": second_end, "complete": false })
        );
        assert!(stored_attachments(&db).is_empty());
        let last = server
            .put_chunk(
                cookie,
                &sha,
                second_end,
                size,
                "image/png",
                &bytes[second_end..],
            )
            .await;
        assert_eq!(last.status, StatusCode::CREATED);
        assert_eq!(last.json()["complete"], true);
        assert_eq!(
            server.upload_state(cookie, &sha).await,
            json!({ "offset": size, "complete": true })
        );
        // The file sits under its digest, and no partial upload is left.
        let stored = stored_attachments(&db);
        let sha_text = sha.as_str();
        let expected = db
            .data_dir()
            .join("attachments")
            .join(&sha_text[..2])
            .join(sha_text);
        assert_eq!(stored, [expected]);
        assert!(files_under(&db.data_dir().join("attachments/partial")).is_empty());
        // A retried last chunk (its answer lost) finds the work done.
        let retry = server
            .put_chunk(
                cookie,
                &sha,
                second_end,
                size,
                "image/png",
                &bytes[second_end..],
            )
            .await;
        assert_eq!(retry.status, StatusCode::OK);
        assert_eq!(retry.json()["complete"], true);

        let read = server.attachment(Some(cookie), &sha).await;
        assert_eq!(read.status, StatusCode::OK);
        assert!(read.body == bytes, "the bytes read back differ");
        assert_eq!(read.header("content-type"), Some("image/png"));
        assert_eq!(
            read.header("content-length"),
            Some(size.to_string().as_str())
        );
        assert_eq!(
            read.header("cache-control"),
            Some("private, max-age=31536000, immutable")
        );
        assert_eq!(read.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(read.header("content-disposition"), Some("inline"));

        // A path that is not a digest names nothing; an admin uploads nothing.
        let upper = sha_text.to_ascii_uppercase();
        for path in [
            "/api/attachments/not-a-digest".to_string(),
            format!("/api/attachments/{upper}"),
            "/api/attachments/abc/upload".to_string(),
        ] {
            let answer = server.get(&path, Some(cookie)).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(answer.json()["error"], "not_found");
        }
        let root = server.device("root", &pw["root"], 9).await;
        let answer = server
            .put_chunk(&root.cookie, &sha, 0, size, "image/png", &bytes[..10])
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn attachments_over_the_limit_are_refused_and_nothing_is_stored() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let mut settings = db.settings();
        settings.max_attachment_bytes = 1000;
        let server = start_with(&db, settings).await;
        let pw = sync_team(&server).await;
        let boss = server.device("boss", &pw["boss"], 1).await;
        let health = server.get("/api/health", None).await.json();
        assert_eq!(health["max_attachment_bytes"], 1000);

        let bytes = file_bytes(1001, 2);
        let sha = sha_of(&bytes);
        let answer = server
            .put_chunk(
                &boss.cookie,
                &sha,
                0,
                bytes.len(),
                "application/pdf",
                &bytes,
            )
            .await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
        let body = answer.json();
        assert_eq!(body["error"], "attachment_too_large");
        assert_eq!(body["max_bytes"], 1000);
        assert!(body["message"].is_string());
        let limits: domain::AttachmentLimits = serde_json::from_value(body).unwrap();
        assert_eq!(limits.max_attachment_bytes, Some(1000));
        // Not even a first chunk of it is kept.
        let first = server
            .put_chunk(
                &boss.cookie,
                &sha,
                0,
                bytes.len(),
                "application/pdf",
                &bytes[..10],
            )
            .await;
        assert_eq!(first.status, StatusCode::PAYLOAD_TOO_LARGE);

        assert_eq!(
            server.upload_state(&boss.cookie, &sha).await,
            json!({ "offset": 0, "complete": false })
        );
        assert!(files_under(&db.data_dir().join("attachments")).is_empty());
        let read = server.attachment(Some(&boss.cookie), &sha).await;
        assert_eq!(read.status, StatusCode::NOT_FOUND);

        // At the limit it goes through.
        let fits = file_bytes(1000, 2);
        server.upload(&boss.cookie, &fits, "application/pdf").await;
        assert_eq!(stored_attachments(&db).len(), 1);
    }
}

#[tokio::test]
async fn attachments_whose_bytes_do_not_match_their_digest_are_dropped() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let boss = server.device("boss", &pw["boss"], 1).await;
        let promised = file_bytes(CHUNK + 500, 3);
        let sent = file_bytes(CHUNK + 500, 4);
        let sha = sha_of(&promised);
        let size = sent.len();

        let first = server
            .put_chunk(&boss.cookie, &sha, 0, size, "image/jpeg", &sent[..CHUNK])
            .await;
        assert_eq!(first.status, StatusCode::OK);
        let last = server
            .put_chunk(
                &boss.cookie,
                &sha,
                CHUNK,
                size,
                "image/jpeg",
                &sent[CHUNK..],
            )
            .await;
        assert_eq!(last.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(last.json()["error"], "hash_mismatch");

        // Nothing is kept: no file, no partial upload, no row.
        assert!(files_under(&db.data_dir().join("attachments")).is_empty());
        assert_eq!(
            server.upload_state(&boss.cookie, &sha).await,
            json!({ "offset": 0, "complete": false })
        );
        assert_eq!(
            server.attachment(Some(&boss.cookie), &sha).await.status,
            StatusCode::NOT_FOUND
        );
        // The right bytes then go through from the start.
        server.upload(&boss.cookie, &promised, "image/jpeg").await;
        let read = server.attachment(Some(&boss.cookie), &sha).await;
        assert!(read.body == promised);
    }
}

#[tokio::test]
async fn attachments_uploaded_by_two_users_are_stored_once() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let boss = server.device("boss", &pw["boss"], 1).await;
        let a = server.device("rep_a", &pw["rep_a"], 2).await;
        let b = server.device("rep_b", &pw["rep_b"], 3).await;
        let bytes = file_bytes(CHUNK + 123, 5);
        let sha = sha_of(&bytes);
        let size = bytes.len();

        // Both start; each upload is their own.
        for (device, end) in [(&boss, CHUNK), (&a, 1000)] {
            let answer = server
                .put_chunk(&device.cookie, &sha, 0, size, "image/webp", &bytes[..end])
                .await;
            assert_eq!(answer.status, StatusCode::OK);
        }
        assert_eq!(
            server.upload_state(&boss.cookie, &sha).await["offset"],
            CHUNK
        );
        assert_eq!(server.upload_state(&a.cookie, &sha).await["offset"], 1000);

        let done = server
            .put_chunk(
                &boss.cookie,
                &sha,
                CHUNK,
                size,
                "image/webp",
                &bytes[CHUNK..],
            )
            .await;
        assert_eq!(done.status, StatusCode::CREATED);
        // The second uploader still sends all of it: the file is theirs only once they
        // have shown they hold it.
        assert_eq!(
            server.upload_state(&a.cookie, &sha).await,
            json!({ "offset": 1000, "complete": false })
        );
        let done = server
            .put_chunk(&a.cookie, &sha, 1000, size, "image/webp", &bytes[1000..])
            .await;
        assert_eq!(done.status, StatusCode::CREATED);

        assert_eq!(stored_attachments(&db).len(), 1);
        assert!(files_under(&db.data_dir().join("attachments/partial")).is_empty());
        for device in [&boss, &a] {
            let read = server.attachment(Some(&device.cookie), &sha).await;
            assert_eq!(read.status, StatusCode::OK);
            assert!(read.body == bytes);
        }
        // A colleague who neither uploaded it nor sees a record naming it cannot read it.
        assert_eq!(
            server.attachment(Some(&b.cookie), &sha).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

/// The fields of a new training item `id` with `attachments`, published to `audience`.
fn new_item_with(
    id: Id,
    title: &str,
    attachments: Vec<Attachment>,
    audience: Audience,
    published_at: Option<i64>,
) -> Vec<(String, Value)> {
    let item = ItemDraft {
        title: title.into(),
        kind: ItemKind::ProductSheet,
        body: "见附件。".into(),
        audience,
        attachments,
        published: published_at.is_some(),
        version: u32::from(published_at.is_some()),
        published_at,
        ..ItemDraft::default()
    }
    .parse(&RecordMeta::new(id, 1_741_000_000_000), 1_741_000_000_000)
    .unwrap();
    changed_fields(None, &item).unwrap().into_iter().collect()
}

#[tokio::test]
async fn attachments_are_read_only_by_who_may_see_a_record_naming_them() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let boss_w_password = server.add_user("boss_w", Role::Manager, Some("west")).await;
        let mut boss = server.device("boss", &pw["boss"], 1).await;
        let a = server.device("rep_a", &pw["rep_a"], 2).await;
        let w = server.device("rep_w", &pw["rep_w"], 4).await;
        let mut boss_w = server.device("boss_w", &boss_w_password, 5).await;
        let root = server.device("root", &pw["root"], 6).await;
        let now = server.now_ms();

        // The manager of east uploads a photo and publishes an item naming it to the team.
        let photo = file_bytes(3000, 6);
        let sha = server.upload(&boss.cookie, &photo, "image/png").await;
        let attachment = Attachment {
            sha256: sha.clone(),
            name: "展台.png".into(),
            mime: "image/png".into(),
            size: 3000,
        };
        let item = test_id(1);
        let create = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now,
            &unseen(&new_item_with(
                item,
                "展台布置",
                vec![attachment.clone()],
                Audience::Team,
                Some(now),
            )),
        );
        let answer = server.push(&boss, vec![create]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);

        // East reads it; west, the admin and an unknown digest get one and the same 404.
        let read = server.attachment(Some(&a.cookie), &sha).await;
        assert_eq!(read.status, StatusCode::OK);
        assert!(read.body == photo);
        let refused = server.attachment(Some(&w.cookie), &sha).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        let unknown = server
            .attachment(Some(&w.cookie), &sha_of(b"never uploaded"))
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(refused.json(), unknown.json());
        assert_eq!(refused.json()["error"], "not_found");
        for device in [&boss_w, &root] {
            let answer = server.attachment(Some(&device.cookie), &sha).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND);
        }
        let anonymous = server.attachment(None, &sha).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            server
                .get(&format!("/api/attachments/{sha}/upload"), None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );

        // The manager of west names the digest in items of their own without ever having
        // had the bytes: a draft, then published to west. Knowing a hash is not having the
        // file, so neither they nor their rep can read it.
        let copy = test_id(2);
        let draft = boss_w.mutation_of(
            RecordKind::TrainingItem,
            copy,
            now,
            &unseen(&new_item_with(
                copy,
                "抄来的",
                vec![attachment.clone()],
                Audience::Team,
                None,
            )),
        );
        let answer = server.push(&boss_w, vec![draft]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        for device in [&boss_w, &w] {
            let answer = server.attachment(Some(&device.cookie), &sha).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND);
        }
        let at_boss_w = server.pull(&boss_w, None).await;
        let publish = boss_w.mutation_of(
            RecordKind::TrainingItem,
            copy,
            now + 1,
            &[
                (
                    "published",
                    json!(true),
                    base_in(&at_boss_w, copy, "published"),
                ),
                ("version", json!(1), base_in(&at_boss_w, copy, "version")),
                (
                    "published_at",
                    json!(now + 1),
                    base_in(&at_boss_w, copy, "published_at"),
                ),
            ],
        );
        let answer = server.push(&boss_w, vec![publish]).await;
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        assert_eq!(ids_in(&server.pull(&w, None).await), [copy]);
        for device in [&boss_w, &w] {
            let answer = server.attachment(Some(&device.cookie), &sha).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND);
        }

        // Published to everyone, the east item lends its photo to west too.
        let at_boss = server.pull(&boss, None).await;
        let widen = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 2,
            &[(
                "audience",
                json!("everyone"),
                base_in(&at_boss, item, "audience"),
            )],
        );
        assert!(server.push(&boss, vec![widen]).await.rejected.is_empty());
        for device in [&w, &boss_w, &a] {
            let answer = server.attachment(Some(&device.cookie), &sha).await;
            assert_eq!(answer.status, StatusCode::OK);
        }
        assert_eq!(
            server.attachment(Some(&root.cookie), &sha).await.status,
            StatusCode::NOT_FOUND
        );

        // Once the item no longer names it, only its uploader reads it; named again, it
        // is readable again; in the trash, it lends nothing.
        let at_boss = server.pull(&boss, None).await;
        let drop = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 3,
            &[(
                "attachments",
                json!([]),
                base_in(&at_boss, item, "attachments"),
            )],
        );
        assert!(server.push(&boss, vec![drop]).await.rejected.is_empty());
        for device in [&w, &a] {
            let answer = server.attachment(Some(&device.cookie), &sha).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND);
        }
        assert_eq!(
            server.attachment(Some(&boss.cookie), &sha).await.status,
            StatusCode::OK
        );
        let at_boss = server.pull(&boss, None).await;
        let again = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 4,
            &[(
                "attachments",
                json!([attachment]),
                base_in(&at_boss, item, "attachments"),
            )],
        );
        assert!(server.push(&boss, vec![again]).await.rejected.is_empty());
        assert_eq!(
            server.attachment(Some(&a.cookie), &sha).await.status,
            StatusCode::OK
        );
        let at_boss = server.pull(&boss, None).await;
        let trash = boss.mutation_of(
            RecordKind::TrainingItem,
            item,
            now + 5,
            &[("deleted", json!(true), base_in(&at_boss, item, "deleted"))],
        );
        assert!(server.push(&boss, vec![trash]).await.rejected.is_empty());
        assert_eq!(
            server.attachment(Some(&a.cookie), &sha).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

/// One refusal as a client sees it: status and body, byte for byte.
fn refusal(answer: &Answer) -> (StatusCode, Vec<u8>) {
    (answer.status, answer.body.clone())
}

/// Issue 13's intruder matrix: every door of the API, tried by another rep of the team,
/// another team's manager and rep, a client with no session and a rep sending another
/// device's id. Each is refused, and where a door could tell "exists but not yours" from
/// "does not exist", both answers are the same bytes.
#[tokio::test]
async fn intruders_are_refused_alike_at_every_door() {
    for db in backends() {
        eprintln!("backend: {}", db.name);
        let server = start(&db).await;
        let pw = sync_team(&server).await;
        let boss_w_password = server.add_user("boss_w", Role::Manager, Some("west")).await;
        let mut rep_a = server.device("rep_a", &pw["rep_a"], 1).await;
        let mut boss = server.device("boss", &pw["boss"], 2).await;
        let rep_b = server.device("rep_b", &pw["rep_b"], 3).await;
        let boss_w = server.device("boss_w", &boss_w_password, 4).await;
        let rep_w = server.device("rep_w", &pw["rep_w"], 5).await;
        let now = server.now_ms();

        // rep_a's book: a lead, a visit, a deal and a stage change on it, and the target
        // the manager set for rep_a; the manager's draft item, a photo published to the
        // east team and the team's target; a conflict on the lead.
        let (lead, visit, deal, item, published, stage_change) = (
            test_id(1),
            test_id(2),
            test_id(3),
            test_id(4),
            test_id(5),
            test_id(6),
        );
        server.apply(&mut rep_a, lead, now, &new_lead("李伟")).await;
        let base = server.pull(&boss, None).await;
        let name_base = base_in(&base, lead, "name");
        let lead_at = |stage: Stage| {
            let draft = LeadDraft {
                name: "李伟".into(),
                stage,
                ..LeadDraft::default()
            };
            draft.parse(&RecordMeta::new(lead, now), now).unwrap()
        };
        let (before, after) = (lead_at(Stage::Prospecting), lead_at(Stage::Presentation));
        let moved = StageChange::between(
            RecordMeta::new(stage_change, now),
            Some(&before),
            &after,
            None,
            now,
        )
        .unwrap();
        let moved: Vec<(String, Value)> =
            changed_fields(None, &moved).unwrap().into_iter().collect();
        let book = vec![
            rep_a.mutation_of(
                RecordKind::Visit,
                visit,
                now,
                &unseen(&new_visit(visit, lead, "初访")),
            ),
            rep_a.mutation_of(RecordKind::Deal, deal, now, &unseen(&new_deal(deal, lead))),
            rep_a.mutation_of(RecordKind::StageChange, stage_change, now, &unseen(&moved)),
        ];
        assert!(server.push(&rep_a, book).await.rejected.is_empty());
        let photo = file_bytes(2000, 9);
        let sha = server.upload(&boss.cookie, &photo, "image/png").await;
        let attachment = Attachment {
            sha256: sha.clone(),
            name: "展台.png".into(),
            mime: "image/png".into(),
            size: 2000,
        };
        let shared = new_item_with(
            published,
            "展台",
            vec![attachment],
            Audience::Team,
            Some(now),
        );
        let east = {
            let user = server.storage.user_by_login("boss").await.unwrap().unwrap();
            Id::from_uuid(user.user.team_id.unwrap())
        };
        let rep_a_id = id_of(&server, "rep_a").await;
        let (target, target_fields) =
            new_target(east, Some(rep_a_id), "2026-11", Metric::DealAmount, "5000");
        let (team_target, team_target_fields) =
            new_target(east, None, "2026-Q4", Metric::NewLeads, "20");
        let managed = vec![
            boss.mutation_of(RecordKind::Target, target, now, &unseen(&target_fields)),
            boss.mutation_of(
                RecordKind::Target,
                team_target,
                now,
                &unseen(&team_target_fields),
            ),
            boss.mutation_of(
                RecordKind::TrainingItem,
                item,
                now,
                &unseen(&new_item(item, "话术")),
            ),
            boss.mutation_of(RecordKind::TrainingItem, published, now, &unseen(&shared)),
            boss.mutation(lead, now + 20, &[("name", json!("李伟 (老李)"), name_base)]),
        ];
        assert!(server.push(&boss, managed).await.rejected.is_empty());
        let lost = rep_a.mutation(lead, now + 10, &[("name", json!("李维"), name_base)]);
        server.push(&rep_a, vec![lost]).await;
        let conflict = change_of(&server.pull(&rep_a, None).await, lead)
            .unwrap()
            .conflicts[0]
            .id;

        let mut refused = 0;
        let intruders = [("rep_b", rep_b), ("boss_w", boss_w), ("rep_w", rep_w)];
        let targets = [
            (RecordKind::Lead, lead, "notes"),
            (RecordKind::Visit, visit, "notes"),
            (RecordKind::Deal, deal, "product"),
            (RecordKind::TrainingItem, item, "title"),
            (RecordKind::TrainingItem, published, "title"),
            (RecordKind::StageChange, stage_change, "reason"),
            (RecordKind::Target, target, "value"),
            (RecordKind::Target, team_target, "value"),
        ];
        for (who, mut intruder) in intruders {
            // Writing someone else's record, of every kind: forbidden, nothing changes.
            for (kind, id, field) in targets {
                let write =
                    intruder.mutation_of(kind, id, now + 50, &[(field, json!("侵入"), None)]);
                let answer = server.push(&intruder, vec![write]).await;
                assert_eq!(answer.rejected.len(), 1, "{who} {kind:?}");
                assert_eq!(
                    answer.rejected[0].reason,
                    RejectReason::Forbidden,
                    "{who} {kind:?}"
                );
                refused += 1;
                // A record of another kind under that id is refused the same way.
                let other = if kind == RecordKind::Lead {
                    RecordKind::Visit
                } else {
                    RecordKind::Lead
                };
                let twin =
                    intruder.mutation_of(other, id, now + 50, &unseen(&new_visit(id, id, "x")));
                let answer = server.push(&intruder, vec![twin]).await;
                assert_eq!(
                    answer.rejected[0].reason,
                    RejectReason::Forbidden,
                    "{who} twin of {kind:?}"
                );
                refused += 1;
            }
            // A visit hung on rep_a's lead: the same refusal as one on a lead that is not.
            let mut hang = |lead_id: Id, n: u8| {
                let id = Id::from_parts(1_700_000_000_000, [n; 10]);
                intruder.mutation_of(
                    RecordKind::Visit,
                    id,
                    now,
                    &unseen(&new_visit(id, lead_id, "x")),
                )
            };
            let on_theirs = hang(lead, 100);
            let on_none = hang(test_id(99), 101);
            let answer = server.push(&intruder, vec![on_theirs, on_none]).await;
            let reasons: Vec<&RejectReason> = answer.rejected.iter().map(|r| &r.reason).collect();
            assert_eq!(reasons.len(), 2, "{who}: {reasons:?}");
            assert_eq!(reasons[0], reasons[1], "{who}");
            refused += 2;
            // Nothing of rep_a's reaches them but what the team shares.
            let pulled = ids_in(&server.pull(&intruder, None).await);
            for (_, id, _) in targets {
                let shared_with_them = who == "rep_b" && (id == published || id == team_target);
                assert_eq!(pulled.contains(&id), shared_with_them, "{who} pulled {id}");
            }
            refused += 1;
            // Resolving rep_a's conflict or resetting rep_a's password, and the same for
            // ids that name nothing: one answer each.
            let a = user_id(&server, "rep_a").await;
            let doors = [
                (
                    format!("/api/sync/conflicts/{conflict}/resolve"),
                    format!("/api/sync/conflicts/{}/resolve", test_id(98)),
                ),
                (
                    format!("/api/team/{a}/password"),
                    format!("/api/team/{}/password", test_id(97)),
                ),
            ];
            for (theirs, none) in doors {
                let theirs = server.post_raw(&theirs, "", Some(&intruder.cookie)).await;
                let none = server.post_raw(&none, "", Some(&intruder.cookie)).await;
                assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{who}");
                assert_eq!(refusal(&theirs), refusal(&none), "{who}");
                refused += 1;
            }
            // The team's photo: read by the team, for others the answer of a digest never
            // uploaded.
            let theirs = server.attachment(Some(&intruder.cookie), &sha).await;
            if who == "rep_b" {
                assert!(theirs.status == StatusCode::OK && theirs.body == photo);
            } else {
                let none = server
                    .attachment(Some(&intruder.cookie), &sha_of(b"none"))
                    .await;
                assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{who}");
                assert_eq!(refusal(&theirs), refusal(&none), "{who}");
                refused += 1;
            }
            // Another device's id: its pushes and pulls are refused, and nothing applies.
            let mut forged = Device {
                cookie: intruder.cookie.clone(),
                client: rep_a.client,
                seq: rep_a.seq,
            };
            let write = forged.mutation(lead, now + 60, &[("notes", json!("冒充"), None)]);
            let push = server.push_raw(&forged, forged.request(vec![write])).await;
            let pull = server.pull_raw(&forged, None, 10).await;
            for answer in [&push, &pull] {
                assert_eq!(answer.status, StatusCode::FORBIDDEN, "{who}");
                assert_eq!(answer.json()["error"], "forbidden");
            }
            refused += 2;
        }

        // No session at every door: one 401.
        let a = user_id(&server, "rep_a").await;
        let doors = [
            ("GET", "/api/me".to_string()),
            ("GET", "/api/team".to_string()),
            ("POST", "/api/sync/push".to_string()),
            ("POST", "/api/sync/pull".to_string()),
            ("POST", format!("/api/sync/conflicts/{conflict}/resolve")),
            ("POST", "/api/password".to_string()),
            ("POST", format!("/api/team/{a}/password")),
            ("GET", format!("/api/attachments/{sha}")),
        ];
        let mut answers = Vec::new();
        for (method, path) in &doors {
            let answer = match *method {
                "GET" => server.get(path, None).await,
                _ => server.post_raw(path, "{}", None).await,
            };
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            answers.push(refusal(&answer));
            refused += 1;
        }
        assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));

        // rep_a's book is as rep_a left it.
        let mine = server.pull(&rep_a, None).await;
        let record = &change_of(&mine, lead).unwrap().record;
        assert_eq!(record["notes"], json!(""));
        assert_eq!(record["name"], "李伟 (老李)");
        assert_eq!(change_of(&mine, target).unwrap().record["value"], 500_000);
        assert_eq!(change_of(&mine, team_target).unwrap().record["value"], 20);
        let moved = &change_of(&mine, stage_change).unwrap().record;
        assert_eq!(moved["reason"], Value::Null);
        assert_eq!(moved["to"], "presentation");
        eprintln!("intrusions refused: {refused}");
    }
}
