//! Storage: the one seam between the server and its database.
//!
//! [`Storage`] is an object-safe trait (`Arc<dyn Storage>`) with one implementation per
//! backend, each with its own migrations folder: [`sqlite::SqliteStorage`] (the default, a
//! file in the data directory) and [`postgres::PostgresStorage`] (several server processes may
//! share one database). The backend is picked once at start-up; nothing above this module
//! knows which one it talks to, and the integration tests run the same suite against both.
//!
//! The rows here are domain-level: ids are [`Uuid`]s and times are UTC [`DateTime`]s, whatever
//! the column types of a backend are. Every method that must be atomic (a failed login that
//! bumps a counter and sets a lock, a password reset that also ends sessions) is one method,
//! so each backend can run it in one transaction.
//!
//! Sync: [`Storage::push`] applies a batch in one transaction that bumps the
//! `server_version` row first (so pushes serialize and pull cursors never skip a late
//! commit); [`Storage::pull`] reads, in one snapshot, everything above a cursor that the user
//! may see. The rules (exactly-once numbering, authorization, merge, validation, visibility,
//! the purge after the horizon) live once in [`sync`]; each backend only supplies the SQL
//! behind [`sync::SyncTx`].
//!
//! Attachments: the database holds what is known about them (which are stored, who
//! uploaded them, which records name them); their bytes are files in the data directory
//! ([`crate::attachments`]). Who may read one is [`sync::may_read_attachment`]'s rule, over
//! the facts [`Storage::attachment_access`] reads.

pub mod postgres;
pub mod sqlite;
pub mod sync;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use domain::{Id, PullRequest, PullResponse, PushRequest, PushResponse, Reach, Sha256};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which database a [`Storage`] talks to; reported by `/api/health`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The name used in `/api/health` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How many connections a backend keeps, and how long a request waits for one (or, for
/// a push, for its turn to write) before it is answered "busy" (503, retry later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSize {
    /// Connections in the pool.
    pub max_connections: u32,
    /// The longest wait for a connection.
    pub acquire_timeout: Duration,
}

impl PoolSize {
    /// How long a request waits for a connection by default.
    pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

    /// `max_connections` connections, waited for at most [`PoolSize::ACQUIRE_TIMEOUT`].
    pub const fn new(max_connections: u32) -> PoolSize {
        PoolSize {
            max_connections,
            acquire_timeout: PoolSize::ACQUIRE_TIMEOUT,
        }
    }

    /// How many writes (pushes, conflict resolutions) may hold a connection at once. Writes
    /// serialize on the version row (or SQLite's write lock) anyway, so more of them would
    /// only hold connections while they wait; a quarter of the pool (at least one) leaves
    /// the rest to pulls, logins and session checks.
    pub fn writers(&self) -> usize {
        usize::try_from((self.max_connections / 4).max(1)).unwrap_or(1)
    }
}

/// Waits for the turn to write under a [`PoolSize::writers`] gate; waiting longer than
/// `timeout` is [`StorageError::Busy`].
pub(crate) async fn writer_turn(
    gate: &tokio::sync::Semaphore,
    timeout: Duration,
) -> Result<tokio::sync::SemaphorePermit<'_>, StorageError> {
    match tokio::time::timeout(timeout, gate.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_closed)) => Err(StorageError::Busy("the write gate is closed".to_string())),
        Err(_elapsed) => Err(StorageError::Busy(
            "too many pushes waiting for their turn".to_string(),
        )),
    }
}

/// What a user may do. Stored as the lowercase name; the database checks the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A sales rep: sees their own leads, visits and deals.
    Rep,
    /// A sales manager: sees and reassigns the team's records.
    Manager,
    /// Creates teams and accounts.
    Admin,
}

impl Role {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(raw: &str) -> Result<Role, UnknownRole> {
        match raw {
            "rep" => Ok(Role::Rep),
            "manager" => Ok(Role::Manager),
            "admin" => Ok(Role::Admin),
            _ => Err(UnknownRole(raw.to_string())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not `rep`, `manager` or `admin`.
#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}` (expected rep, manager or admin)")]
pub struct UnknownRole(pub String);

/// A team: the unit a manager sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    /// Made by the server (UUIDv7).
    pub id: Uuid,
    /// Unique, as typed by the admin (trimmed).
    pub name: String,
    /// When the team was created.
    pub created_at: DateTime<Utc>,
}

/// An account, without its password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Made by the server (UUIDv7).
    pub id: Uuid,
    /// Unique sign-in name, stored lowercase.
    pub login: String,
    /// The name shown to colleagues.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The user's team; admins may have none.
    pub team_id: Option<Uuid>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// The password is a one-time password the server made (a new account or a reset): the
    /// user may only read who they are, sign out and choose a new one.
    pub must_change_password: bool,
}

/// A user together with the argon2id PHC string that checks their password.
#[derive(Clone, Debug)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// `$argon2id$v=19$...`.
    pub password_hash: String,
}

/// A signed-in session. The cookie carries the token; only its SHA-256 is stored.
#[derive(Clone, Debug)]
pub struct Session {
    /// Lowercase hex SHA-256 of the cookie token.
    pub token_hash: String,
    /// Whose session it is.
    pub user_id: Uuid,
    /// When the user signed in.
    pub created_at: DateTime<Utc>,
    /// After this the cookie no longer signs anyone in.
    pub expires_at: DateTime<Utc>,
}

/// Failed sign-ins counted under one key: a login name (whether or not an account has it)
/// or a source address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failed attempts in the current window (since the last success, for a login).
    pub failures: u32,
    /// Until when a login attempt is refused without checking the password.
    pub locked_until: Option<DateTime<Utc>>,
}

/// How long an account is locked after its `failures`-th failed attempt, or `None` for not at
/// all. A plain function pointer, so the policy stays out of the backends and the trait stays
/// object-safe.
pub type LockPolicy = fn(u32) -> Option<TimeDelta>;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique column already has this value (a second team or login of the same name).
    #[error("a {0} with this name already exists")]
    Duplicate(&'static str),
    /// A row that must exist is missing.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// A stored value cannot be read back (a role or id the code does not know).
    #[error("unreadable stored value: {0}")]
    Corrupt(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database is too busy to answer in time: no connection free within the acquire
    /// timeout, a lock not granted within the lock timeout, a statement over the statement
    /// timeout, SQLite still locked after its busy timeout. Nothing was written; the HTTP
    /// layer answers 503 with `Retry-After`.
    #[error("database busy: {0}")]
    Busy(String),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The data directory could not be prepared.
    #[error("cannot prepare the data directory: {0}")]
    Io(#[from] std::io::Error),
    /// A push or pull named a device (client id) that belongs to another user. Nothing was
    /// read or written; the HTTP layer answers 403.
    #[error("this client id belongs to another user")]
    ForeignClient,
}

/// An attachment whose full bytes are stored and verified against its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    /// The bytes' SHA-256, which names them.
    pub sha256: Sha256,
    /// Their length.
    pub size: u64,
    /// The type its first uploader declared, one of `domain::training::ATTACHMENT_TYPES`.
    pub mime: String,
}

/// A live record naming an attachment, with what decides who sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamingRecord {
    /// The record's owner.
    pub owner: Uuid,
    /// Its team.
    pub team: Option<Uuid>,
    /// Who else sees it.
    pub reach: Reach,
}

/// What [`sync::may_read_attachment`] decides from: the stored attachment, whether the
/// asking user uploaded its bytes, and the records naming it that can lend access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentAccess {
    /// The attachment.
    pub attachment: StoredAttachment,
    /// The user has uploaded the full, verified bytes themselves.
    pub uploaded: bool,
    /// The records (not deleted) naming the attachment whose owner has uploaded its bytes;
    /// empty when `uploaded`, which settles the question without them. A record whose
    /// owner never had the bytes lends nothing: knowing a digest is not having the file.
    pub naming: Vec<NamingRecord>,
}

/// What a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The batch was applied (mutations already applied skipped, refused ones listed).
    Applied(PushResponse),
    /// A mutation number was missing: the batch was refused whole and nothing was written.
    /// The device must resend from `expected`.
    Gap {
        /// The next number the server can apply (`last_applied + 1`).
        expected: u64,
    },
}

impl StorageError {
    /// Turns a unique-constraint violation into [`StorageError::Duplicate`] naming `what`;
    /// every other error stays a database error.
    pub(crate) fn unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
        move |error| match error.as_database_error() {
            Some(db) if db.is_unique_violation() => StorageError::Duplicate(what),
            _ => StorageError::from(error),
        }
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> StorageError {
        if is_busy(&error) {
            StorageError::Busy(error.to_string())
        } else {
            StorageError::Database(error)
        }
    }
}

/// Whether a database error means "too busy now, try again" rather than a failure.
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_code_is_busy(code)
            } else if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                postgres_code_is_busy(code)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// SQLITE_BUSY (5) and its extended codes (the primary code is the low byte): another
/// connection held the lock past the busy timeout.
fn sqlite_code_is_busy(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|code| code & 0xff == 5)
}

/// PostgreSQL's SQLSTATEs for `lock_not_available` (the lock timeout; also `NOWAIT`) and
/// `query_canceled` (the statement timeout).
fn postgres_code_is_busy(code: &str) -> bool {
    matches!(code, "55P03" | "57014")
}

/// Everything the server keeps. One implementation per backend; see the module docs.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Runs a trivial query, so `/api/health` reports a dead database.
    async fn ping(&self) -> Result<(), StorageError>;

    /// Adds a team; a taken name is [`StorageError::Duplicate`].
    async fn insert_team(&self, team: &Team) -> Result<(), StorageError>;

    /// The team with exactly this name.
    async fn team_by_name(&self, name: &str) -> Result<Option<Team>, StorageError>;

    /// Adds an account; a taken login is [`StorageError::Duplicate`].
    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<(), StorageError>;

    /// How many accounts exist (zero on a fresh database).
    async fn count_users(&self) -> Result<u64, StorageError>;

    /// The account with this (lowercase) login and its password hash.
    async fn user_by_login(&self, login: &str) -> Result<Option<UserCredentials>, StorageError>;

    /// Replaces a password hash and, in the same transaction, ends every session of the user
    /// and clears their failed logins: a reset is also how an admin locks a stolen session out.
    /// `one_time`: the server made the password, and the user must choose a new one before
    /// doing anything else ([`User::must_change_password`]).
    async fn set_password_hash(
        &self,
        user_id: Uuid,
        password_hash: &str,
        one_time: bool,
    ) -> Result<(), StorageError>;

    /// Stores a new session.
    async fn insert_session(&self, session: &Session) -> Result<(), StorageError>;

    /// The user of an unexpired session.
    async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StorageError>;

    /// Ends one session (a no-op when it does not exist).
    async fn delete_session(&self, token_hash: &str) -> Result<(), StorageError>;

    /// Removes sessions that expired before `now`.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StorageError>;

    /// The failed sign-ins counted under `key` (the default when none are).
    async fn throttle(&self, key: &str) -> Result<LoginThrottle, StorageError>;

    /// Counts one failed sign-in under `key` and, in the same transaction, extends the delay
    /// to what `policy` says for the new count (never shortens it: servers racing on one key
    /// cannot undo each other's delay). A count whose window began before `now - window`
    /// starts again at one. Keys whose window and delay are both over are swept. Returns
    /// the new state.
    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: LockPolicy,
        window: TimeDelta,
    ) -> Result<LoginThrottle, StorageError>;

    /// Forgets the failures under `key` (a successful sign-in, a password reset).
    async fn clear_throttle(&self, key: &str) -> Result<(), StorageError>;

    /// Applies a device's batch for `user` in one transaction, as [`sync::push`] describes;
    /// `now_ms` is the server's clock, used to clamp stamps that are too far ahead. A device
    /// of another user is [`StorageError::ForeignClient`]; a gap is [`PushOutcome::Gap`];
    /// in both cases nothing is written.
    async fn push(
        &self,
        user: &User,
        request: &PushRequest,
        now_ms: i64,
        max_records: u64,
    ) -> Result<PushOutcome, StorageError>;

    /// The records `user` may see past the request's cursor, read in one snapshot, as
    /// [`sync::pull`] describes; `now_ms` feeds the answer's `server_stamp`.
    async fn pull(
        &self,
        user: &User,
        request: &PullRequest,
        now_ms: i64,
    ) -> Result<PullResponse, StorageError>;

    /// Marks a conflict on a record `user` may write resolved, in one transaction that
    /// takes a new version like a push (see [`sync::resolve_conflict`]).
    async fn resolve_conflict(
        &self,
        user: &User,
        conflict: Id,
    ) -> Result<sync::ResolveOutcome, StorageError>;

    /// Forgets tombstones, resolved conflicts, removals and kept refusals older than
    /// `keep_days` days before `now_ms`, in one transaction that pushes wait for (see
    /// [`sync::purge`]).
    async fn purge(&self, now_ms: i64, keep_days: u32) -> Result<sync::PurgeReport, StorageError>;

    /// Every account of a team.
    async fn team_users(&self, team: Uuid) -> Result<Vec<User>, StorageError>;

    /// The attachment stored under `sha256`, when `user` has uploaded its full, verified
    /// bytes (so has nothing left to send).
    async fn uploaded_attachment(
        &self,
        sha256: &Sha256,
        user: Uuid,
    ) -> Result<Option<StoredAttachment>, StorageError>;

    /// Records that `user` has uploaded the verified bytes of `attachment`, whose file is
    /// already in place: adds the attachment unless it is stored (the first uploader's type
    /// stays) and the user among its owners, in one transaction.
    async fn add_attachment_owner(
        &self,
        attachment: &StoredAttachment,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// What decides whether `user` may read the attachment stored under `sha256`
    /// ([`sync::may_read_attachment`]); `None` when no attachment is stored under it.
    async fn attachment_access(
        &self,
        sha256: &Sha256,
        user: Uuid,
    ) -> Result<Option<AttachmentAccess>, StorageError>;
}

/// The lock end for a failure count under `policy`, from `now`.
pub(crate) fn lock_end(
    policy: LockPolicy,
    failures: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    policy(failures).and_then(|delay| now.checked_add_signed(delay))
}

/// Reads a stored role name.
pub(crate) fn parse_role(raw: &str) -> Result<Role, StorageError> {
    raw.parse()
        .map_err(|error: UnknownRole| StorageError::Corrupt(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_timeout_and_the_lock_and_statement_timeouts_are_busy() {
        assert!(matches!(
            StorageError::from(sqlx::Error::PoolTimedOut),
            StorageError::Busy(_)
        ));
        assert!(matches!(
            StorageError::from(sqlx::Error::RowNotFound),
            StorageError::Database(_)
        ));
        assert!(matches!(
            StorageError::from(sqlx::Error::PoolClosed),
            StorageError::Database(_)
        ));
        // SQLITE_BUSY, SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_TIMEOUT.
        for code in ["5", "261", "517", "773"] {
            assert!(sqlite_code_is_busy(code), "{code}");
        }
        // SQLITE_LOCKED, SQLITE_CONSTRAINT_UNIQUE, SQLITE_FULL, not a number.
        for code in ["6", "2067", "13", "", "55P03"] {
            assert!(!sqlite_code_is_busy(code), "{code}");
        }
        assert!(postgres_code_is_busy("55P03"));
        assert!(postgres_code_is_busy("57014"));
        // unique_violation, and a numeric SQLSTATE whose low byte is SQLite's busy code.
        for code in ["23505", "22021", "5", ""] {
            assert!(!postgres_code_is_busy(code), "{code}");
        }
    }

    #[test]
    fn writes_get_a_quarter_of_the_pool_and_at_least_one_connection() {
        assert_eq!(PoolSize::new(16).writers(), 4);
        assert_eq!(PoolSize::new(8).writers(), 2);
        assert_eq!(PoolSize::new(1).writers(), 1);
    }
}
