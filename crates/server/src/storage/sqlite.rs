//! The SQLite backend: one file, `fieldbook.sqlite3`, in the data directory.
//!
//! WAL lets readers (pulls, session checks) run while one writer commits; `synchronous=FULL`
//! puts every commit on disk before it returns; foreign keys are enforced per connection
//! (SQLite's default is off); a busy timeout makes a writer wait for another instead of
//! failing at once. Ids are stored as UUID text and times as Unix milliseconds, so every
//! comparison in SQL is an integer comparison.

use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr};
use uuid::Uuid;

use domain::{
    Conflict, Cursor, Id, PullRequest, PullResponse, PushRequest, RecordRef, Rejection, Sha256,
    Stamp,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::Semaphore;

use super::sync::{
    self, fields_from, json_to, kind_from, reach_from, reason_from, reason_to, stamp_from,
    version_from, version_to, ConflictColumns, FeedRow, FieldRow, PurgeReport, RecordRow, Removal,
    ResolveOutcome, StoredRecord, SyncTx,
};
use super::{
    lock_end, parse_role, writer_turn, AttachmentAccess, Backend, LockPolicy, LoginThrottle,
    NamingRecord, PoolSize, PushOutcome, Role, Session, Storage, StorageError, StoredAttachment,
    Team, User, UserCredentials,
};
use serde_json::{json, Value};

/// The database file's name inside `--data-dir`.
pub const FILE_NAME: &str = "fieldbook.sqlite3";

/// The migrations in `migrations/sqlite`, embedded at build time.
///
/// Listed by hand because sqlx's `migrate!` macro needs its `macros` feature, which we keep
/// off; a unit test checks that this list and the folder agree.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "accounts and sync",
        include_str!("../../migrations/sqlite/0001_accounts_and_sync.sql"),
    ),
    (
        2,
        "sync indexes",
        include_str!("../../migrations/sqlite/0002_sync_indexes.sql"),
    ),
    (
        3,
        "kept rejections",
        include_str!("../../migrations/sqlite/0003_kept_rejections.sql"),
    ),
    (
        4,
        "lead history and purge",
        include_str!("../../migrations/sqlite/0004_lead_history_and_purge.sql"),
    ),
    (
        5,
        "set-based sync",
        include_str!("../../migrations/sqlite/0005_set_based_sync.sql"),
    ),
    (
        6,
        "reach",
        include_str!("../../migrations/sqlite/0006_reach.sql"),
    ),
    (
        7,
        "attachments",
        include_str!("../../migrations/sqlite/0007_attachments.sql"),
    ),
    (
        8,
        "record ids",
        include_str!("../../migrations/sqlite/0008_record_ids.sql"),
    ),
    (
        9,
        "login throttles",
        include_str!("../../migrations/sqlite/0009_login_throttles.sql"),
    ),
    (
        10,
        "password change",
        include_str!("../../migrations/sqlite/0010_password_change.sql"),
    ),
];

/// The pool [`SqliteStorage::open`] uses: 8 connections, 2 of them for writes.
pub const POOL: PoolSize = PoolSize::new(8);

/// Storage in a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
    /// Turns to write (see [`PoolSize::writers`]).
    writers: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl SqliteStorage {
    /// Opens (creating when missing) `fieldbook.sqlite3` in `data_dir` and brings its schema
    /// up to date.
    pub async fn open(data_dir: &Path) -> Result<SqliteStorage, StorageError> {
        SqliteStorage::open_with(data_dir, POOL).await
    }

    /// [`SqliteStorage::open`] with a pool of another size (tests fill a small one).
    pub async fn open_with(data_dir: &Path, size: PoolSize) -> Result<SqliteStorage, StorageError> {
        std::fs::create_dir_all(data_dir)?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(FILE_NAME))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the push is answered. NORMAL (WAL) may lose
            // the last commits to a power loss, and a device drops what a pull shows applied,
            // so an acknowledged push must survive it (SYNC.md, durability).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(size.max_connections)
            .acquire_timeout(size.acquire_timeout)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        Ok(SqliteStorage::new(pool, size))
    }

    fn new(pool: SqlitePool, size: PoolSize) -> SqliteStorage {
        SqliteStorage {
            pool,
            writers: Arc::new(Semaphore::new(size.writers())),
            acquire_timeout: size.acquire_timeout,
        }
    }

    /// The connection pool, for tests that check connection settings or hold connections.
    #[doc(hidden)]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A fresh, private database in memory with its schema, for tests and the deterministic
    /// sync simulation. It lives on one connection that the pool never closes (an in-memory
    /// SQLite database disappears with its connection), so calls run one after the other.
    pub async fn open_in_memory() -> Result<SqliteStorage, StorageError> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        Ok(SqliteStorage::new(pool, PoolSize::new(1)))
    }
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StorageError::Corrupt(format!("time out of range: {ms}")))
}

fn parse_uuid(raw: &str) -> Result<Uuid, StorageError> {
    Uuid::try_parse(raw).map_err(|_| StorageError::Corrupt(format!("not a UUID: {raw}")))
}

/// The columns every user query selects from `users u`; a macro so that `concat!` builds each
/// query as a `&'static str` (sqlx only takes static SQL without an explicit assertion).
macro_rules! user_columns {
    () => {
        "u.id, u.login, u.display_name, u.role, u.team_id, u.created_at, u.must_change_password"
    };
}

fn user_from_row(row: &SqliteRow) -> Result<User, StorageError> {
    let team_id: Option<String> = row.try_get("team_id")?;
    Ok(User {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        role: parse_role(&row.try_get::<String, _>("role")?)?,
        team_id: team_id.as_deref().map(parse_uuid).transpose()?,
        created_at: from_millis(row.try_get("created_at")?)?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
    })
}

fn throttle_from_row(row: &SqliteRow) -> Result<LoginThrottle, StorageError> {
    let failures: i64 = row.try_get("failures")?;
    let locked_until: Option<i64> = row.try_get("locked_until")?;
    Ok(LoginThrottle {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        locked_until: locked_until.map(from_millis).transpose()?,
    })
}

#[async_trait]
impl Storage for SqliteStorage {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_team(&self, team: &Team) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO teams (id, name, created_at) VALUES (?1, ?2, ?3)")
            .bind(team.id.to_string())
            .bind(&team.name)
            .bind(millis(team.created_at))
            .execute(&self.pool)
            .await
            .map_err(StorageError::unique("team"))?;
        Ok(())
    }

    async fn team_by_name(&self, name: &str) -> Result<Option<Team>, StorageError> {
        let row = sqlx::query("SELECT id, name, created_at FROM teams WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Team {
                id: parse_uuid(&row.try_get::<String, _>("id")?)?,
                name: row.try_get("name")?,
                created_at: from_millis(row.try_get("created_at")?)?,
            })
        })
        .transpose()
    }

    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO users (id, login, display_name, role, team_id, password_hash, created_at,
                                must_change_password)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(user.id.to_string())
        .bind(&user.login)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(user.team_id.map(|id| id.to_string()))
        .bind(password_hash)
        .bind(millis(user.created_at))
        .bind(i64::from(user.must_change_password))
        .execute(&self.pool)
        .await
        .map_err(StorageError::unique("user"))?;
        Ok(())
    }

    async fn count_users(&self) -> Result<u64, StorageError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn user_by_login(&self, login: &str) -> Result<Option<UserCredentials>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash FROM users u WHERE u.login = ?1"
        );
        let row = sqlx::query(sql)
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(UserCredentials {
                user: user_from_row(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    async fn set_password_hash(
        &self,
        user_id: Uuid,
        password_hash: &str,
        one_time: bool,
    ) -> Result<(), StorageError> {
        let id = user_id.to_string();
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = ?2, must_change_password = ?3 WHERE id = ?1",
        )
        .bind(&id)
        .bind(password_hash)
        .bind(i64::from(one_time))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StorageError::NotFound("user"));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        // The login's failures go with the old password (keys: accounts::login_throttle_key).
        sqlx::query(
            "DELETE FROM login_throttles
             WHERE key = 'login:' || (SELECT login FROM users WHERE id = ?1)",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id.to_string())
        .bind(millis(session.created_at))
        .bind(millis(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2"
        );
        let row = sqlx::query(sql)
            .bind(token_hash)
            .bind(millis(now))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1")
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn throttle(&self, key: &str) -> Result<LoginThrottle, StorageError> {
        let row = sqlx::query("SELECT failures, locked_until FROM login_throttles WHERE key = ?1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .as_ref()
            .map(throttle_from_row)
            .transpose()?
            .unwrap_or_default())
    }

    async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        policy: LockPolicy,
        window: TimeDelta,
    ) -> Result<LoginThrottle, StorageError> {
        let expired = millis(now - window);
        // IMMEDIATE takes the write lock up front, so two servers counting failures on the
        // same file wait for each other instead of failing with SQLITE_BUSY on upgrade.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // The SET expressions all read the row as it was: a window that began before
        // `expired` starts again at this failure.
        let row = sqlx::query(
            "INSERT INTO login_throttles (key, failures, window_start, locked_until)
                 VALUES (?1, 1, ?2, NULL)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN window_start <= ?3 THEN 1 ELSE failures + 1 END,
                 window_start = CASE WHEN window_start <= ?3 THEN ?2 ELSE window_start END
             RETURNING failures, locked_until",
        )
        .bind(key)
        .bind(millis(now))
        .bind(expired)
        .fetch_one(&mut *tx)
        .await?;
        let mut throttle = throttle_from_row(&row)?;
        if let Some(until) = lock_end(policy, throttle.failures, now) {
            if throttle.locked_until.is_none_or(|current| current < until) {
                sqlx::query("UPDATE login_throttles SET locked_until = ?2 WHERE key = ?1")
                    .bind(key)
                    .bind(millis(until))
                    .execute(&mut *tx)
                    .await?;
                throttle.locked_until = Some(until);
            }
        }
        sqlx::query(
            "DELETE FROM login_throttles
             WHERE window_start <= ?1 AND (locked_until IS NULL OR locked_until <= ?2)",
        )
        .bind(expired)
        .bind(millis(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(throttle)
    }

    async fn clear_throttle(&self, key: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM login_throttles WHERE key = ?1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn push(
        &self,
        user: &User,
        request: &PushRequest,
        now_ms: i64,
        max_records: u64,
    ) -> Result<PushOutcome, StorageError> {
        let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
        // IMMEDIATE takes SQLite's single write lock before the first read, so pushes run one
        // after the other and a version is never committed after a larger one.
        let mut tx = SqliteSync(self.pool.begin_with("BEGIN IMMEDIATE").await?);
        let outcome = sync::push(&mut tx, user, request, now_ms, max_records).await?;
        if matches!(outcome, PushOutcome::Applied(_)) {
            tx.0.commit().await?;
        }
        // Otherwise dropping the transaction rolls it back: a gap writes nothing.
        Ok(outcome)
    }

    async fn pull(
        &self,
        user: &User,
        request: &PullRequest,
        now_ms: i64,
    ) -> Result<PullResponse, StorageError> {
        // A read transaction: in WAL mode every statement sees the snapshot of the first.
        let mut tx = SqliteSync(self.pool.begin().await?);
        let pulled = sync::pull(&mut tx, user, request, now_ms).await?;
        tx.0.commit().await?;
        if let Some(purged_through) = pulled.full_pull_at {
            let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
            let mut tx = SqliteSync(self.pool.begin_with("BEGIN IMMEDIATE").await?);
            sync::record_full_pull(&mut tx, user, request.client_id, purged_through).await?;
            tx.0.commit().await?;
        }
        Ok(pulled.response)
    }

    async fn purge(&self, now_ms: i64, keep_days: u32) -> Result<PurgeReport, StorageError> {
        let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
        let mut tx = SqliteSync(self.pool.begin_with("BEGIN IMMEDIATE").await?);
        let report = sync::purge(&mut tx, now_ms, keep_days).await?;
        tx.0.commit().await?;
        Ok(report)
    }

    async fn team_users(&self, team: Uuid) -> Result<Vec<User>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.team_id = ?1"
        );
        let rows = sqlx::query(sql)
            .bind(team.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn resolve_conflict(
        &self,
        user: &User,
        conflict: Id,
    ) -> Result<ResolveOutcome, StorageError> {
        let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
        let mut tx = SqliteSync(self.pool.begin_with("BEGIN IMMEDIATE").await?);
        let outcome = sync::resolve_conflict(&mut tx, user, conflict).await?;
        if outcome == ResolveOutcome::Resolved {
            tx.0.commit().await?;
        }
        Ok(outcome)
    }

    async fn uploaded_attachment(
        &self,
        sha256: &Sha256,
        user: Uuid,
    ) -> Result<Option<StoredAttachment>, StorageError> {
        let row = sqlx::query(
            "SELECT a.size, a.mime FROM attachments a
                 JOIN attachment_owners o ON o.sha256 = a.sha256 AND o.user_id = ?2
             WHERE a.sha256 = ?1",
        )
        .bind(sha256.as_str())
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| attachment_from_row(sha256, &row)).transpose()
    }

    async fn add_attachment_owner(
        &self,
        attachment: &StoredAttachment,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO attachments (sha256, size, mime, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(attachment.sha256.as_str())
        .bind(size_to(attachment.size)?)
        .bind(&attachment.mime)
        .bind(millis(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO attachment_owners (sha256, user_id) VALUES (?1, ?2)
             ON CONFLICT DO NOTHING",
        )
        .bind(attachment.sha256.as_str())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attachment_access(
        &self,
        sha256: &Sha256,
        user: Uuid,
    ) -> Result<Option<AttachmentAccess>, StorageError> {
        // One read transaction: in WAL mode both statements see the same snapshot.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT a.size, a.mime, EXISTS (SELECT 1 FROM attachment_owners o
                 WHERE o.sha256 = a.sha256 AND o.user_id = ?2) AS uploaded
             FROM attachments a WHERE a.sha256 = ?1",
        )
        .bind(sha256.as_str())
        .bind(user.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attachment = attachment_from_row(sha256, &row)?;
        let uploaded: bool = row.try_get("uploaded")?;
        let naming = if uploaded {
            Vec::new()
        } else {
            let rows = sqlx::query(
                "SELECT DISTINCT r.owner_id, r.team_id, r.reach
                 FROM attachment_refs n
                     JOIN records r ON r.kind = n.kind AND r.id = n.record_id
                     JOIN attachment_owners o ON o.sha256 = n.sha256 AND o.user_id = r.owner_id
                 WHERE n.sha256 = ?1 AND r.deleted = 0",
            )
            .bind(sha256.as_str())
            .fetch_all(&mut *tx)
            .await?;
            rows.iter()
                .map(|row| {
                    let team: Option<String> = row.try_get("team_id")?;
                    Ok(NamingRecord {
                        owner: parse_uuid(&row.try_get::<String, _>("owner_id")?)?,
                        team: team.as_deref().map(parse_uuid).transpose()?,
                        reach: reach_from(&row.try_get::<String, _>("reach")?)?,
                    })
                })
                .collect::<Result<Vec<_>, StorageError>>()?
        };
        tx.commit().await?;
        Ok(Some(AttachmentAccess {
            attachment,
            uploaded,
            naming,
        }))
    }
}

/// An `attachments` row's `size` and `mime`.
fn attachment_from_row(sha256: &Sha256, row: &SqliteRow) -> Result<StoredAttachment, StorageError> {
    let size: i64 = row.try_get("size")?;
    Ok(StoredAttachment {
        sha256: sha256.clone(),
        size: u64::try_from(size)
            .map_err(|_| StorageError::Corrupt(format!("negative attachment size: {size}")))?,
        mime: row.try_get("mime")?,
    })
}

/// A size as SQLite stores it (signed 64-bit).
fn size_to(size: u64) -> Result<i64, StorageError> {
    i64::try_from(size).map_err(|_| StorageError::Corrupt(format!("size out of range: {size}")))
}

/// A SQLite transaction seen as a [`SyncTx`].
struct SqliteSync(Transaction<'static, Sqlite>);

fn parse_id(raw: &str) -> Result<Id, StorageError> {
    Ok(Id::from_uuid(parse_uuid(raw)?))
}

/// Records as one JSON parameter, `[[kind, id], …]`, for `json_each`: a set of any size
/// in one bound parameter.
fn refs_json(records: &[RecordRef]) -> String {
    let pairs = records
        .iter()
        .map(|record| json!([record.kind.as_str(), record.id.to_string()]))
        .collect();
    Value::Array(pairs).to_string()
}

#[async_trait]
impl SyncTx for SqliteSync {
    async fn bump_version(&mut self) -> Result<u64, StorageError> {
        let version: i64 = sqlx::query(
            "UPDATE server_version SET version = version + 1 WHERE id = 1 RETURNING version",
        )
        .fetch_one(&mut *self.0)
        .await?
        .try_get("version")?;
        version_from(version)
    }

    async fn current_version(&mut self) -> Result<u64, StorageError> {
        let version: i64 = sqlx::query("SELECT version FROM server_version WHERE id = 1")
            .fetch_one(&mut *self.0)
            .await?
            .try_get("version")?;
        version_from(version)
    }

    async fn client(&mut self, client: Id) -> Result<Option<(Uuid, u64)>, StorageError> {
        let row = sqlx::query("SELECT user_id, last_applied FROM clients WHERE client_id = ?1")
            .bind(client.to_string())
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|row| {
            let user = parse_uuid(&row.try_get::<String, _>("user_id")?)?;
            Ok((user, version_from(row.try_get("last_applied")?)?))
        })
        .transpose()
    }

    async fn save_client(
        &mut self,
        client: Id,
        user: Uuid,
        last_applied: u64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO clients (client_id, user_id, last_applied) VALUES (?1, ?2, ?3)
             ON CONFLICT (client_id) DO UPDATE SET last_applied = excluded.last_applied",
        )
        .bind(client.to_string())
        .bind(user.to_string())
        .bind(version_to(last_applied)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_rejections(
        &mut self,
        client: Id,
        version: u64,
        rejections: &[Rejection],
    ) -> Result<(), StorageError> {
        if rejections.is_empty() {
            return Ok(());
        }
        let rows = rejections
            .iter()
            .map(|rejection| {
                Ok(json!([
                    version_to(rejection.seq)?,
                    rejection.record_id.to_string(),
                    reason_to(&rejection.reason)?,
                ]))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        sqlx::query(
            "INSERT INTO rejections (client_id, seq, record_id, reason_json, at_version)
             SELECT ?1, value ->> 0, value ->> 1, value ->> 2, ?2 FROM json_each(?3) WHERE true
             ON CONFLICT (client_id, seq) DO UPDATE SET record_id = excluded.record_id,
                 reason_json = excluded.reason_json, at_version = excluded.at_version",
        )
        .bind(client.to_string())
        .bind(version_to(version)?)
        .bind(Value::Array(rows).to_string())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn rejections(
        &mut self,
        client: Id,
        from: u64,
        to: u64,
    ) -> Result<Vec<Rejection>, StorageError> {
        let rows = sqlx::query(
            "SELECT seq, record_id, reason_json FROM rejections
             WHERE client_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
        )
        .bind(client.to_string())
        .bind(version_to(from)?)
        .bind(version_to(to)?)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Rejection {
                    seq: version_from(row.try_get("seq")?)?,
                    record_id: parse_id(&row.try_get::<String, _>("record_id")?)?,
                    reason: reason_from(&row.try_get::<String, _>("reason_json")?)?,
                })
            })
            .collect()
    }

    async fn records(
        &mut self,
        records: &[RecordRef],
    ) -> Result<Vec<(RecordRef, StoredRecord)>, StorageError> {
        // The ids drive the join (CROSS JOIN keeps json_each outside), each one a primary
        // key lookup; each record's fields come aggregated into one JSON array, so a record
        // is one row to fetch, not one per field.
        let rows = sqlx::query(
            "SELECT r.kind, r.id, r.owner_id, r.team_id, r.reach,
                 (SELECT json_group_array(json_array(f.field, f.value_json, f.stamp, f.version))
                  FROM fields f WHERE f.kind = r.kind AND f.record_id = r.id) AS fields
             FROM json_each(?1) AS w CROSS JOIN records r
                 ON r.kind = w.value ->> 0 AND r.id = w.value ->> 1",
        )
        .bind(refs_json(records))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                let record = RecordRef {
                    kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                    id: parse_id(&row.try_get::<String, _>("id")?)?,
                };
                let team: Option<String> = row.try_get("team_id")?;
                let stored = StoredRecord {
                    owner: parse_uuid(&row.try_get::<String, _>("owner_id")?)?,
                    team: team.as_deref().map(parse_uuid).transpose()?,
                    reach: reach_from(&row.try_get::<String, _>("reach")?)?,
                    fields: fields_from(&row.try_get::<String, _>("fields")?)?,
                };
                Ok((record, stored))
            })
            .collect()
    }

    async fn kinds_of(
        &mut self,
        ids: &[Id],
    ) -> Result<Vec<(Id, domain::RecordKind)>, StorageError> {
        let ids: Vec<String> = ids.iter().map(Id::to_string).collect();
        let rows = sqlx::query(
            "SELECT r.id, r.kind FROM json_each(?1) AS w CROSS JOIN records r ON r.id = w.value",
        )
        .bind(Value::from(ids).to_string())
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse_id(&row.try_get::<String, _>("id")?)?,
                    kind_from(&row.try_get::<String, _>("kind")?)?,
                ))
            })
            .collect()
    }

    async fn owned_records(&mut self, owner: Uuid) -> Result<u64, StorageError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM records WHERE owner_id = ?1")
            .bind(owner.to_string())
            .fetch_one(&mut *self.0)
            .await?
            .try_get("n")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn user(&mut self, id: Uuid) -> Result<Option<User>, StorageError> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = ?1");
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.0)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn save_records(&mut self, rows: &[RecordRow]) -> Result<(), StorageError> {
        let rows = rows
            .iter()
            .map(|row| {
                Ok(json!([
                    row.record.kind.as_str(),
                    row.record.id.to_string(),
                    row.owner.to_string(),
                    row.team.map(|team| team.to_string()),
                    version_to(row.version)?,
                    i64::from(row.deleted),
                    row.reach.as_str(),
                ]))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        // One parameter (a JSON array of rows) whatever the batch's size: no chunking under
        // SQLite's bound-parameter limit, and one cached statement.
        sqlx::query(
            "INSERT INTO records (kind, id, owner_id, team_id, version, deleted, reach)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
                 value ->> 6
             FROM json_each(?1) WHERE true
             ON CONFLICT (kind, id) DO UPDATE SET owner_id = excluded.owner_id,
                 team_id = excluded.team_id, version = excluded.version,
                 deleted = excluded.deleted, reach = excluded.reach",
        )
        .bind(Value::Array(rows).to_string())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn save_fields(&mut self, fields: &[FieldRow<'_>]) -> Result<(), StorageError> {
        let rows = fields
            .iter()
            .map(|row| {
                Ok(json!([
                    row.record.kind.as_str(),
                    row.record.id.to_string(),
                    row.field,
                    json_to(&row.state.value),
                    row.state.stamp.to_string(),
                    version_to(row.state.version)?,
                ]))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        sqlx::query(
            "INSERT INTO fields (kind, record_id, field, value_json, stamp, version)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5
             FROM json_each(?1) WHERE true
             ON CONFLICT (kind, record_id, field) DO UPDATE SET
                 value_json = excluded.value_json, stamp = excluded.stamp,
                 version = excluded.version",
        )
        .bind(Value::Array(rows).to_string())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_conflicts(
        &mut self,
        conflicts: &[(Conflict, Uuid)],
    ) -> Result<(), StorageError> {
        let rows = conflicts
            .iter()
            .map(|(conflict, lost_by)| {
                Ok(json!([
                    conflict.id.to_string(),
                    conflict.kind.as_str(),
                    conflict.record_id.to_string(),
                    conflict.field,
                    json_to(&conflict.lost_value),
                    conflict.lost_stamp.to_string(),
                    lost_by.to_string(),
                    json_to(&conflict.kept_value),
                    conflict.kept_stamp.to_string(),
                    version_to(conflict.at_version)?,
                    i64::from(conflict.resolved),
                ]))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        sqlx::query(
            "INSERT INTO conflicts (id, kind, record_id, field, lost_value_json, lost_stamp,
                 lost_by, kept_value_json, kept_stamp, at_version, resolved)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
                 value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10
             FROM json_each(?1)",
        )
        .bind(Value::Array(rows).to_string())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_visibility_changes(
        &mut self,
        changes: &[(u64, RecordRef, Uuid)],
    ) -> Result<(), StorageError> {
        let rows = changes
            .iter()
            .map(|(version, record, user)| {
                Ok(json!([
                    version_to(*version)?,
                    record.kind.as_str(),
                    record.id.to_string(),
                    user.to_string(),
                ]))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        sqlx::query(
            "INSERT INTO visibility_changes (version, kind, record_id, user_id)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1)
             WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(Value::Array(rows).to_string())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn delete_attachment_refs(&mut self, records: &[RecordRef]) -> Result<(), StorageError> {
        sqlx::query(
            "DELETE FROM attachment_refs WHERE (kind, record_id) IN
                 (SELECT value ->> 0, value ->> 1 FROM json_each(?1))",
        )
        .bind(refs_json(records))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_attachment_refs(
        &mut self,
        refs: &[(RecordRef, &Sha256)],
    ) -> Result<(), StorageError> {
        let rows = refs
            .iter()
            .map(|(record, sha256)| {
                json!([record.kind.as_str(), record.id.to_string(), sha256.as_str()])
            })
            .collect();
        sqlx::query(
            "INSERT INTO attachment_refs (kind, record_id, sha256)
             SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE true
             ON CONFLICT DO NOTHING",
        )
        .bind(Value::Array(rows).to_string())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn feed(
        &mut self,
        user: &User,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<FeedRow>, StorageError> {
        // No record has version 0, so (0, '', '') is before the first one. Kinds and ids are
        // ASCII text, so SQLite's binary order is the cursor's order.
        let (version, kind, id) = match after {
            Some(cursor) => (
                version_to(cursor.version)?,
                cursor.kind.as_str(),
                cursor.record_id.to_string(),
            ),
            None => (0, "", String::new()),
        };
        let rows = sqlx::query(
            // Four range scans, each on its index from the cursor on and stopped at the
            // limit: own records (records_owner_feed), a manager's team (records_team_feed),
            // the team's shared records (records_team_reach_feed) and everyone's
            // (records_everyone_feed); a record found by two comes once (UNION).
            "SELECT kind, id, version FROM (
                 SELECT kind, id, version FROM records
                 WHERE owner_id = ?4 AND (version, kind, id) > (?1, ?2, ?3)
                 ORDER BY version, kind, id LIMIT ?7)
             UNION
             SELECT kind, id, version FROM (
                 SELECT kind, id, version FROM records
                 WHERE ?5 AND team_id = ?6 AND (version, kind, id) > (?1, ?2, ?3)
                 ORDER BY version, kind, id LIMIT ?7)
             UNION
             SELECT kind, id, version FROM (
                 SELECT kind, id, version FROM records
                 WHERE reach = 'team' AND team_id = ?6 AND (version, kind, id) > (?1, ?2, ?3)
                 ORDER BY version, kind, id LIMIT ?7)
             UNION
             SELECT kind, id, version FROM (
                 SELECT kind, id, version FROM records
                 WHERE reach = 'everyone' AND (version, kind, id) > (?1, ?2, ?3)
                 ORDER BY version, kind, id LIMIT ?7)
             ORDER BY version, kind, id
             LIMIT ?7",
        )
        .bind(version)
        .bind(kind)
        .bind(id)
        .bind(user.id.to_string())
        .bind(user.role == Role::Manager)
        .bind(user.team_id.map(|team| team.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FeedRow {
                    kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                    id: parse_id(&row.try_get::<String, _>("id")?)?,
                    version: version_from(row.try_get("version")?)?,
                })
            })
            .collect()
    }

    async fn conflicts(&mut self, records: &[RecordRef]) -> Result<Vec<Conflict>, StorageError> {
        let rows = sqlx::query(
            "SELECT c.id, c.kind, c.record_id, c.field, c.lost_value_json, c.lost_stamp,
                 c.lost_by, c.kept_value_json, c.kept_stamp, c.at_version, c.resolved
             FROM json_each(?1) AS w CROSS JOIN conflicts c
                 ON c.kind = w.value ->> 0 AND c.record_id = w.value ->> 1
             ORDER BY c.kind, c.record_id, c.at_version, c.id",
        )
        .bind(refs_json(records))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                ConflictColumns {
                    id: parse_uuid(&row.try_get::<String, _>("id")?)?,
                    kind: row.try_get("kind")?,
                    record_id: parse_uuid(&row.try_get::<String, _>("record_id")?)?,
                    field: row.try_get("field")?,
                    lost_value_json: row.try_get("lost_value_json")?,
                    lost_stamp: row.try_get("lost_stamp")?,
                    lost_by: parse_uuid(&row.try_get::<String, _>("lost_by")?)?,
                    kept_value_json: row.try_get("kept_value_json")?,
                    kept_stamp: row.try_get("kept_stamp")?,
                    at_version: row.try_get("at_version")?,
                    resolved: row.try_get("resolved")?,
                }
                .into_conflict()
            })
            .collect()
    }

    async fn removals(&mut self, user: Uuid, version: u64) -> Result<Vec<Removal>, StorageError> {
        let rows = sqlx::query(
            "SELECT DISTINCT r.kind, r.id, r.owner_id, r.team_id, r.reach
             FROM visibility_changes v JOIN records r ON r.kind = v.kind AND r.id = v.record_id
             WHERE v.user_id = ?1 AND v.version > ?2
             ORDER BY r.kind, r.id",
        )
        .bind(user.to_string())
        .bind(version_to(version)?)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                let team: Option<String> = row.try_get("team_id")?;
                Ok(Removal {
                    record: RecordRef {
                        kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                        id: parse_id(&row.try_get::<String, _>("id")?)?,
                    },
                    owner: parse_uuid(&row.try_get::<String, _>("owner_id")?)?,
                    team: team.as_deref().map(parse_uuid).transpose()?,
                    reach: reach_from(&row.try_get::<String, _>("reach")?)?,
                })
            })
            .collect()
    }

    async fn max_stamp(&mut self) -> Result<Option<Stamp>, StorageError> {
        // Stamps are stored in their fixed-width text form, which sorts like the stamps.
        let raw: Option<String> = sqlx::query("SELECT MAX(stamp) AS stamp FROM fields")
            .fetch_one(&mut *self.0)
            .await?
            .try_get("stamp")?;
        raw.as_deref().map(stamp_from).transpose()
    }

    async fn conflict_record(&mut self, id: Id) -> Result<Option<(RecordRef, bool)>, StorageError> {
        let row = sqlx::query("SELECT kind, record_id, resolved FROM conflicts WHERE id = ?1")
            .bind(id.to_string())
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|row| {
            Ok((
                RecordRef {
                    kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                    id: parse_id(&row.try_get::<String, _>("record_id")?)?,
                },
                row.try_get("resolved")?,
            ))
        })
        .transpose()
    }

    async fn mark_resolved(&mut self, id: Id) -> Result<(), StorageError> {
        sqlx::query("UPDATE conflicts SET resolved = TRUE WHERE id = ?1")
            .bind(id.to_string())
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn touch_record(&mut self, record: RecordRef, version: u64) -> Result<(), StorageError> {
        sqlx::query("UPDATE records SET version = ?3 WHERE kind = ?1 AND id = ?2")
            .bind(record.kind.as_str())
            .bind(record.id.to_string())
            .bind(version_to(version)?)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn log_version(&mut self, version: u64, now_ms: i64) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO version_log (version, committed_at) VALUES (?1, ?2)
             ON CONFLICT (version) DO UPDATE SET committed_at = excluded.committed_at",
        )
        .bind(version_to(version)?)
        .bind(now_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn version_committed_at(&mut self, version: u64) -> Result<Option<i64>, StorageError> {
        let row = sqlx::query("SELECT committed_at FROM version_log WHERE version = ?1")
            .bind(version_to(version)?)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.map(|row| row.try_get("committed_at")).transpose()?)
    }

    async fn lead_history(&mut self, lead: Id) -> Result<Vec<RecordRef>, StorageError> {
        // `field = 'lead_id'` as a literal, so SQLite can use the partial index; the
        // kinds are the lead history's, written into the text once.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT kind, record_id FROM fields
                 WHERE field = 'lead_id' AND value_json = ?1 AND kind IN ({})
                 ORDER BY kind, record_id",
                sync::lead_history_kinds()
            )
        });
        let rows = sqlx::query(SQL.as_str())
            .bind(json_to(&serde_json::Value::String(lead.to_string())))
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RecordRef {
                    kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                    id: parse_id(&row.try_get::<String, _>("record_id")?)?,
                })
            })
            .collect()
    }

    async fn purged_through(&mut self) -> Result<u64, StorageError> {
        let raw: i64 = sqlx::query("SELECT purged_through FROM server_version WHERE id = 1")
            .fetch_one(&mut *self.0)
            .await?
            .try_get("purged_through")?;
        version_from(raw)
    }

    async fn resynced_through(&mut self, client: Id) -> Result<u64, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT resynced_through FROM clients WHERE client_id = ?1")
                .bind(client.to_string())
                .fetch_optional(&mut *self.0)
                .await?
                .map(|row| row.try_get("resynced_through"))
                .transpose()?;
        version_from(raw.unwrap_or(0))
    }

    async fn mark_resynced(
        &mut self,
        client: Id,
        user: Uuid,
        purged_through: u64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO clients (client_id, user_id, last_applied, resynced_through)
             VALUES (?1, ?2, 0, ?3)
             ON CONFLICT (client_id) DO UPDATE
                 SET resynced_through = MAX(resynced_through, excluded.resynced_through)
                 WHERE user_id = excluded.user_id",
        )
        .bind(client.to_string())
        .bind(user.to_string())
        .bind(version_to(purged_through)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn lock_for_purge(&mut self) -> Result<u64, StorageError> {
        // BEGIN IMMEDIATE already holds SQLite's one write lock.
        self.purged_through().await
    }

    async fn last_version_before(&mut self, ms: i64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM version_log WHERE committed_at < ?1")
                .bind(ms)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn first_version_since(&mut self, ms: i64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT MIN(version) AS v FROM version_log WHERE committed_at >= ?1")
                .bind(ms)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn last_tombstone(&mut self, through: u64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> = sqlx::query(
            "SELECT MAX(version) AS v FROM records WHERE deleted = 1 AND version <= ?1",
        )
        .bind(version_to(through)?)
        .fetch_one(&mut *self.0)
        .await?
        .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn last_removal(&mut self, through: u64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM visibility_changes WHERE version <= ?1")
                .bind(version_to(through)?)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn delete_tombstones(&mut self, through: u64) -> Result<u64, StorageError> {
        // Fields and conflicts go with their record (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM records WHERE deleted = 1 AND version <= ?1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_resolved_conflicts(&mut self, through: u64) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM conflicts WHERE resolved = 1 AND at_version <= ?1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_removals(&mut self, through: u64) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM visibility_changes WHERE version <= ?1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_rejections(&mut self, through: u64) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM rejections WHERE at_version <= ?1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_version_log(&mut self, through: u64) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM version_log WHERE version <= ?1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn set_purged_through(&mut self, purged_through: u64) -> Result<(), StorageError> {
        sqlx::query("UPDATE server_version SET purged_through = ?1 WHERE id = 1")
            .bind(version_to(purged_through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `migrations/sqlite` must be embedded, in order, or a fresh database
    /// would silently miss a step.
    #[test]
    fn embedded_migrations_match_the_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len());
        for (file, (version, _, sql)) in files.iter().zip(MIGRATIONS) {
            assert!(file.starts_with(&format!("{version:04}_")), "{file}");
            let on_disk = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations/sqlite")
                    .join(file),
            )
            .unwrap();
            assert_eq!(&on_disk, sql, "{file}");
        }
    }
}
