//! The PostgreSQL backend, for teams that run several server processes behind a load
//! balancer: every piece of state that correctness depends on (sessions, failed logins, and
//! next the sync version row) lives in the database, never in one process's memory.
//!
//! Ids are native `uuid` and times `timestamptz`. sqlx's migrator takes an advisory lock, so
//! servers starting together do not run the same migration twice.

use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row, SqlSafeStr};
use tokio::sync::Semaphore;
use uuid::Uuid;

use domain::{
    Conflict, Cursor, Id, PullRequest, PullResponse, PushRequest, RecordRef, Rejection, Sha256,
    Stamp,
};
use sqlx::{Postgres, Transaction};

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

/// The migrations in `migrations/postgres`, embedded at build time (see the SQLite list for
/// why they are listed by hand).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "accounts and sync",
        include_str!("../../migrations/postgres/0001_accounts_and_sync.sql"),
    ),
    (
        2,
        "sync indexes",
        include_str!("../../migrations/postgres/0002_sync_indexes.sql"),
    ),
    (
        3,
        "kept rejections",
        include_str!("../../migrations/postgres/0003_kept_rejections.sql"),
    ),
    (
        4,
        "lead history and purge",
        include_str!("../../migrations/postgres/0004_lead_history_and_purge.sql"),
    ),
    (
        5,
        "set-based sync",
        include_str!("../../migrations/postgres/0005_set_based_sync.sql"),
    ),
    (
        6,
        "reach",
        include_str!("../../migrations/postgres/0006_reach.sql"),
    ),
    (
        7,
        "attachments",
        include_str!("../../migrations/postgres/0007_attachments.sql"),
    ),
    (
        8,
        "record ids",
        include_str!("../../migrations/postgres/0008_record_ids.sql"),
    ),
    (
        9,
        "login throttles",
        include_str!("../../migrations/postgres/0009_login_throttles.sql"),
    ),
    (
        10,
        "password change",
        include_str!("../../migrations/postgres/0010_password_change.sql"),
    ),
];

/// The pool [`PostgresStorage::connect`] uses: 16 connections, 4 of them for writes.
pub const POOL: PoolSize = PoolSize::new(16);

/// How long a statement of the server waits for a lock (the version row, a record's row)
/// before it gives up; the request is then answered "busy" (503) and nothing is written.
pub const LOCK_TIMEOUT: &str = "5s";

/// The longest any one statement of the server may run.
pub const STATEMENT_TIMEOUT: &str = "15s";

/// Storage in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStorage {
    pool: PgPool,
    /// Turns to write (see [`PoolSize::writers`]).
    writers: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://…`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        let options = PgConnectOptions::from_str(url)?;
        PostgresStorage::connect_with(options, POOL).await
    }

    /// Connects to `url` with every connection's `search_path` set to `schema`, creating the
    /// schema when missing. Tests use it to give each test a fresh, empty database.
    pub async fn connect_in_schema(
        url: &str,
        schema: &str,
    ) -> Result<PostgresStorage, StorageError> {
        PostgresStorage::connect_in_schema_with(url, schema, POOL).await
    }

    /// [`PostgresStorage::connect_in_schema`] with a pool of another size (tests fill a
    /// small one).
    pub async fn connect_in_schema_with(
        url: &str,
        schema: &str,
        size: PoolSize,
    ) -> Result<PostgresStorage, StorageError> {
        let valid = !schema.is_empty()
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StorageError::Corrupt(format!(
                "schema name must be [a-z0-9_]+: {schema}"
            )));
        }
        let base = PgConnectOptions::from_str(url)?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?;
        // The name was checked above to be a plain identifier, so it is safe to splice.
        let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(create))
            .execute(&admin)
            .await?;
        admin.close().await;
        PostgresStorage::connect_with(base.options([("search_path", schema)]), size).await
    }

    async fn connect_with(
        options: PgConnectOptions,
        size: PoolSize,
    ) -> Result<PostgresStorage, StorageError> {
        // Migrations run on a connection of their own without the timeouts below: a long
        // schema step, or waiting for another server's (the migrator's advisory lock), is no
        // request to give up on.
        let mut migrating = PgConnection::connect_with(&options).await?;
        migrator().run(&mut migrating).await?;
        migrating.close().await?;
        let options = options.options([
            ("lock_timeout", LOCK_TIMEOUT),
            ("statement_timeout", STATEMENT_TIMEOUT),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(size.max_connections)
            .acquire_timeout(size.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(PostgresStorage {
            pool,
            writers: Arc::new(Semaphore::new(size.writers())),
            acquire_timeout: size.acquire_timeout,
        })
    }

    /// The connection pool, for tests that check connection settings or hold connections.
    #[doc(hidden)]
    pub fn pool(&self) -> &PgPool {
        &self.pool
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

/// See the SQLite backend's macro of the same name.
macro_rules! user_columns {
    () => {
        "u.id, u.login, u.display_name, u.role, u.team_id, u.created_at, u.must_change_password"
    };
}

fn user_from_row(row: &PgRow) -> Result<User, StorageError> {
    Ok(User {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        role: parse_role(&row.try_get::<String, _>("role")?)?,
        team_id: row.try_get("team_id")?,
        created_at: row.try_get("created_at")?,
        must_change_password: row.try_get("must_change_password")?,
    })
}

fn throttle_from_row(row: &PgRow) -> Result<LoginThrottle, StorageError> {
    let failures: i32 = row.try_get("failures")?;
    Ok(LoginThrottle {
        failures: u32::try_from(failures).unwrap_or(0),
        locked_until: row.try_get("locked_until")?,
    })
}

#[async_trait]
impl Storage for PostgresStorage {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_team(&self, team: &Team) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(team.id)
            .bind(&team.name)
            .bind(team.created_at)
            .execute(&self.pool)
            .await
            .map_err(StorageError::unique("team"))?;
        Ok(())
    }

    async fn team_by_name(&self, name: &str) -> Result<Option<Team>, StorageError> {
        let row = sqlx::query("SELECT id, name, created_at FROM teams WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Team {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO users (id, login, display_name, role, team_id, password_hash, created_at,
                                must_change_password)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id)
        .bind(&user.login)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(user.team_id)
        .bind(password_hash)
        .bind(user.created_at)
        .bind(user.must_change_password)
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
            ", u.password_hash FROM users u WHERE u.login = $1"
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
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = $3 WHERE id = $1",
        )
        .bind(user_id)
        .bind(password_hash)
        .bind(one_time)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StorageError::NotFound("user"));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // The login's failures go with the old password (keys: accounts::login_throttle_key).
        sqlx::query(
            "DELETE FROM login_throttles
             WHERE key = 'login:' || (SELECT login FROM users WHERE id = $1)",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id)
        .bind(session.created_at)
        .bind(session.expires_at)
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
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        );
        let row = sqlx::query(sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn throttle(&self, key: &str) -> Result<LoginThrottle, StorageError> {
        let row = sqlx::query("SELECT failures, locked_until FROM login_throttles WHERE key = $1")
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
        let expired = now - window;
        let mut tx = self.pool.begin().await?;
        // The upsert locks the key's row until commit, so concurrent failures on other
        // servers count one after the other; a window that began before `expired` starts
        // again at this failure.
        let row = sqlx::query(
            "INSERT INTO login_throttles (key, failures, window_start, locked_until)
                 VALUES ($1, 1, $2, NULL)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_throttles.window_start <= $3 THEN 1
                                 ELSE login_throttles.failures + 1 END,
                 window_start = CASE WHEN login_throttles.window_start <= $3 THEN $2
                                     ELSE login_throttles.window_start END
             RETURNING failures, locked_until",
        )
        .bind(key)
        .bind(now)
        .bind(expired)
        .fetch_one(&mut *tx)
        .await?;
        let mut throttle = throttle_from_row(&row)?;
        if let Some(until) = lock_end(policy, throttle.failures, now) {
            if throttle.locked_until.is_none_or(|current| current < until) {
                sqlx::query("UPDATE login_throttles SET locked_until = $2 WHERE key = $1")
                    .bind(key)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                throttle.locked_until = Some(until);
            }
        }
        sqlx::query(
            "DELETE FROM login_throttles
             WHERE window_start <= $1 AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(expired)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(throttle)
    }

    async fn clear_throttle(&self, key: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM login_throttles WHERE key = $1")
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
        let mut tx = PgSync(self.pool.begin().await?);
        // The first statement locks the server_version row (see `bump_version`) until
        // commit: pushes from every server process run one after the other, so version N is
        // visible before N + 1 can even be assigned, and a pull can never see N + 1 without N.
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
        // One snapshot for all of the pull's statements, so the records, their fields and the
        // removals agree with each other and with the cursor.
        let mut tx = PgSync(
            self.pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?,
        );
        let pulled = sync::pull(&mut tx, user, request, now_ms).await?;
        tx.0.commit().await?;
        if let Some(purged_through) = pulled.full_pull_at {
            let mut tx = PgSync(self.pool.begin().await?);
            sync::record_full_pull(&mut tx, user, request.client_id, purged_through).await?;
            tx.0.commit().await?;
        }
        Ok(pulled.response)
    }

    async fn purge(&self, now_ms: i64, keep_days: u32) -> Result<PurgeReport, StorageError> {
        let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
        let mut tx = PgSync(self.pool.begin().await?);
        // The first statement locks the server_version row, as a push's does.
        let report = sync::purge(&mut tx, now_ms, keep_days).await?;
        tx.0.commit().await?;
        Ok(report)
    }

    async fn team_users(&self, team: Uuid) -> Result<Vec<User>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.team_id = $1"
        );
        let rows = sqlx::query(sql).bind(team).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn resolve_conflict(
        &self,
        user: &User,
        conflict: Id,
    ) -> Result<ResolveOutcome, StorageError> {
        let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
        let mut tx = PgSync(self.pool.begin().await?);
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
                 JOIN attachment_owners o ON o.sha256 = a.sha256 AND o.user_id = $2
             WHERE a.sha256 = $1",
        )
        .bind(sha256.as_str())
        .bind(user)
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
        let size = i64::try_from(attachment.size).map_err(|_| {
            StorageError::Corrupt(format!("size out of range: {}", attachment.size))
        })?;
        let _turn = writer_turn(&self.writers, self.acquire_timeout).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO attachments (sha256, size, mime, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(attachment.sha256.as_str())
        .bind(size)
        .bind(&attachment.mime)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO attachment_owners (sha256, user_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(attachment.sha256.as_str())
        .bind(user)
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
        // One snapshot for both statements.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let row = sqlx::query(
            "SELECT a.size, a.mime, EXISTS (SELECT 1 FROM attachment_owners o
                 WHERE o.sha256 = a.sha256 AND o.user_id = $2) AS uploaded
             FROM attachments a WHERE a.sha256 = $1",
        )
        .bind(sha256.as_str())
        .bind(user)
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
                 WHERE n.sha256 = $1 AND NOT r.deleted",
            )
            .bind(sha256.as_str())
            .fetch_all(&mut *tx)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(NamingRecord {
                        owner: row.try_get("owner_id")?,
                        team: row.try_get("team_id")?,
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
fn attachment_from_row(sha256: &Sha256, row: &PgRow) -> Result<StoredAttachment, StorageError> {
    let size: i64 = row.try_get("size")?;
    Ok(StoredAttachment {
        sha256: sha256.clone(),
        size: u64::try_from(size)
            .map_err(|_| StorageError::Corrupt(format!("negative attachment size: {size}")))?,
        mime: row.try_get("mime")?,
    })
}

/// A PostgreSQL transaction seen as a [`SyncTx`].
struct PgSync(Transaction<'static, Postgres>);

#[async_trait]
impl SyncTx for PgSync {
    async fn bump_version(&mut self) -> Result<u64, StorageError> {
        // Explicitly lock the row first, as the module docs promise; the update would take
        // the same lock, but this states the intent and fails loudly if the row is missing.
        sqlx::query("SELECT version FROM server_version WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *self.0)
            .await?;
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
        let row = sqlx::query("SELECT user_id, last_applied FROM clients WHERE client_id = $1")
            .bind(client.as_uuid())
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|row| {
            Ok((
                row.try_get("user_id")?,
                version_from(row.try_get("last_applied")?)?,
            ))
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
            "INSERT INTO clients (client_id, user_id, last_applied) VALUES ($1, $2, $3)
             ON CONFLICT (client_id) DO UPDATE SET last_applied = excluded.last_applied",
        )
        .bind(client.as_uuid())
        .bind(user)
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
        let mut seqs = Vec::with_capacity(rejections.len());
        let mut records = Vec::with_capacity(rejections.len());
        let mut reasons = Vec::with_capacity(rejections.len());
        for rejection in rejections {
            seqs.push(version_to(rejection.seq)?);
            records.push(*rejection.record_id.as_uuid());
            reasons.push(reason_to(&rejection.reason)?);
        }
        sqlx::query(
            "INSERT INTO rejections (client_id, seq, record_id, reason_json, at_version)
             SELECT $1, w.seq, w.record_id, w.reason_json, $2
             FROM unnest($3::int8[], $4::uuid[], $5::text[]) AS w (seq, record_id, reason_json)
             ON CONFLICT (client_id, seq) DO UPDATE SET record_id = excluded.record_id,
                 reason_json = excluded.reason_json, at_version = excluded.at_version",
        )
        .bind(client.as_uuid())
        .bind(version_to(version)?)
        .bind(seqs)
        .bind(records)
        .bind(reasons)
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
             WHERE client_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
        )
        .bind(client.as_uuid())
        .bind(version_to(from)?)
        .bind(version_to(to)?)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Rejection {
                    seq: version_from(row.try_get("seq")?)?,
                    record_id: Id::from_uuid(row.try_get("record_id")?),
                    reason: reason_from(&row.try_get::<String, _>("reason_json")?)?,
                })
            })
            .collect()
    }

    async fn records(
        &mut self,
        records: &[RecordRef],
    ) -> Result<Vec<(RecordRef, StoredRecord)>, StorageError> {
        let (kinds, ids) = refs_arrays(records);
        // Each record's fields come aggregated into one JSON array, so a record is one row
        // to fetch, not one per field.
        let rows = sqlx::query(
            "SELECT r.kind, r.id, r.owner_id, r.team_id, r.reach,
                 (SELECT COALESCE(json_agg(json_build_array(f.field, f.value_json, f.stamp,
                      f.version)), '[]')::text
                  FROM fields f WHERE f.kind = r.kind AND f.record_id = r.id) AS fields
             FROM unnest($1::text[], $2::uuid[]) AS w (kind, id)
                 JOIN records r ON r.kind = w.kind AND r.id = w.id",
        )
        .bind(&kinds)
        .bind(&ids)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                let record = RecordRef {
                    kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                    id: Id::from_uuid(row.try_get("id")?),
                };
                let stored = StoredRecord {
                    owner: row.try_get("owner_id")?,
                    team: row.try_get("team_id")?,
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
        let ids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        let rows = sqlx::query("SELECT r.id, r.kind FROM records r WHERE r.id = ANY($1::uuid[])")
            .bind(&ids)
            .fetch_all(&mut *self.0)
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    Id::from_uuid(row.try_get("id")?),
                    kind_from(&row.try_get::<String, _>("kind")?)?,
                ))
            })
            .collect()
    }

    async fn owned_records(&mut self, owner: Uuid) -> Result<u64, StorageError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM records WHERE owner_id = $1")
            .bind(owner)
            .fetch_one(&mut *self.0)
            .await?
            .try_get("n")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn user(&mut self, id: Uuid) -> Result<Option<User>, StorageError> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn save_records(&mut self, rows: &[RecordRow]) -> Result<(), StorageError> {
        let mut kinds = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        let mut owners = Vec::with_capacity(rows.len());
        let mut teams = Vec::with_capacity(rows.len());
        let mut versions = Vec::with_capacity(rows.len());
        let mut deleted = Vec::with_capacity(rows.len());
        let mut reaches = Vec::with_capacity(rows.len());
        for row in rows {
            kinds.push(row.record.kind.as_str());
            ids.push(*row.record.id.as_uuid());
            owners.push(row.owner);
            teams.push(row.team);
            versions.push(version_to(row.version)?);
            deleted.push(row.deleted);
            reaches.push(row.reach.as_str());
        }
        // One statement with one array per column, whatever the batch's size.
        sqlx::query(
            "INSERT INTO records (kind, id, owner_id, team_id, version, deleted, reach)
             SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int8[],
                 $6::bool[], $7::text[])
             ON CONFLICT (kind, id) DO UPDATE SET owner_id = excluded.owner_id,
                 team_id = excluded.team_id, version = excluded.version,
                 deleted = excluded.deleted, reach = excluded.reach",
        )
        .bind(kinds)
        .bind(ids)
        .bind(owners)
        .bind(teams)
        .bind(versions)
        .bind(deleted)
        .bind(reaches)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn save_fields(&mut self, fields: &[FieldRow<'_>]) -> Result<(), StorageError> {
        let mut kinds = Vec::with_capacity(fields.len());
        let mut ids = Vec::with_capacity(fields.len());
        let mut names = Vec::with_capacity(fields.len());
        let mut values = Vec::with_capacity(fields.len());
        let mut stamps = Vec::with_capacity(fields.len());
        let mut versions = Vec::with_capacity(fields.len());
        for row in fields {
            kinds.push(row.record.kind.as_str());
            ids.push(*row.record.id.as_uuid());
            names.push(row.field);
            values.push(json_to(&row.state.value));
            stamps.push(row.state.stamp.to_string());
            versions.push(version_to(row.state.version)?);
        }
        sqlx::query(
            "INSERT INTO fields (kind, record_id, field, value_json, stamp, version)
             SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                 $6::int8[])
             ON CONFLICT (kind, record_id, field) DO UPDATE SET
                 value_json = excluded.value_json, stamp = excluded.stamp,
                 version = excluded.version",
        )
        .bind(kinds)
        .bind(ids)
        .bind(names)
        .bind(values)
        .bind(stamps)
        .bind(versions)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_conflicts(
        &mut self,
        conflicts: &[(Conflict, Uuid)],
    ) -> Result<(), StorageError> {
        let mut ids = Vec::with_capacity(conflicts.len());
        let mut kinds = Vec::with_capacity(conflicts.len());
        let mut records = Vec::with_capacity(conflicts.len());
        let mut fields = Vec::with_capacity(conflicts.len());
        let mut lost_values = Vec::with_capacity(conflicts.len());
        let mut lost_stamps = Vec::with_capacity(conflicts.len());
        let mut lost_bys = Vec::with_capacity(conflicts.len());
        let mut kept_values = Vec::with_capacity(conflicts.len());
        let mut kept_stamps = Vec::with_capacity(conflicts.len());
        let mut versions = Vec::with_capacity(conflicts.len());
        let mut resolved = Vec::with_capacity(conflicts.len());
        for (conflict, lost_by) in conflicts {
            ids.push(*conflict.id.as_uuid());
            kinds.push(conflict.kind.as_str());
            records.push(*conflict.record_id.as_uuid());
            fields.push(conflict.field.as_str());
            lost_values.push(json_to(&conflict.lost_value));
            lost_stamps.push(conflict.lost_stamp.to_string());
            lost_bys.push(*lost_by);
            kept_values.push(json_to(&conflict.kept_value));
            kept_stamps.push(conflict.kept_stamp.to_string());
            versions.push(version_to(conflict.at_version)?);
            resolved.push(conflict.resolved);
        }
        sqlx::query(
            "INSERT INTO conflicts (id, kind, record_id, field, lost_value_json, lost_stamp,
                 lost_by, kept_value_json, kept_stamp, at_version, resolved)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                 $6::text[], $7::uuid[], $8::text[], $9::text[], $10::int8[], $11::bool[])",
        )
        .bind(ids)
        .bind(kinds)
        .bind(records)
        .bind(fields)
        .bind(lost_values)
        .bind(lost_stamps)
        .bind(lost_bys)
        .bind(kept_values)
        .bind(kept_stamps)
        .bind(versions)
        .bind(resolved)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_visibility_changes(
        &mut self,
        changes: &[(u64, RecordRef, Uuid)],
    ) -> Result<(), StorageError> {
        let mut versions = Vec::with_capacity(changes.len());
        let mut kinds = Vec::with_capacity(changes.len());
        let mut records = Vec::with_capacity(changes.len());
        let mut users = Vec::with_capacity(changes.len());
        for (version, record, user) in changes {
            versions.push(version_to(*version)?);
            kinds.push(record.kind.as_str());
            records.push(*record.id.as_uuid());
            users.push(*user);
        }
        sqlx::query(
            "INSERT INTO visibility_changes (version, kind, record_id, user_id)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::uuid[], $4::uuid[])
             ON CONFLICT DO NOTHING",
        )
        .bind(versions)
        .bind(kinds)
        .bind(records)
        .bind(users)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn delete_attachment_refs(&mut self, records: &[RecordRef]) -> Result<(), StorageError> {
        let (kinds, ids) = refs_arrays(records);
        sqlx::query(
            "DELETE FROM attachment_refs n USING unnest($1::text[], $2::uuid[]) AS w (kind, id)
             WHERE n.kind = w.kind AND n.record_id = w.id",
        )
        .bind(kinds)
        .bind(ids)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_attachment_refs(
        &mut self,
        refs: &[(RecordRef, &Sha256)],
    ) -> Result<(), StorageError> {
        let mut kinds = Vec::with_capacity(refs.len());
        let mut ids = Vec::with_capacity(refs.len());
        let mut digests = Vec::with_capacity(refs.len());
        for (record, sha256) in refs {
            kinds.push(record.kind.as_str());
            ids.push(*record.id.as_uuid());
            digests.push(sha256.as_str());
        }
        sqlx::query(
            "INSERT INTO attachment_refs (kind, record_id, sha256)
             SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(kinds)
        .bind(ids)
        .bind(digests)
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
        // No record has version 0, so (0, '', nil) is before the first one. `kind` compares
        // byte-wise (COLLATE "C") to match the cursor's order whatever the database locale;
        // uuids compare byte-wise already, like `Id`.
        let (version, kind, id) = match after {
            Some(cursor) => (
                version_to(cursor.version)?,
                cursor.kind.as_str(),
                *cursor.record_id.as_uuid(),
            ),
            None => (0, "", Uuid::nil()),
        };
        let rows = sqlx::query(
            // Four range scans, each on its index from the cursor on and stopped at the
            // limit: own records (records_owner_feed), a manager's team (records_team_feed),
            // the team's shared records (records_team_reach_feed) and everyone's
            // (records_everyone_feed); a record found by two comes once (UNION).
            r#"SELECT kind, id, version FROM (
                 (SELECT kind, id, version FROM records
                  WHERE owner_id = $4
                    AND (version, kind COLLATE "C", id) > ($1, $2 COLLATE "C", $3)
                  ORDER BY version, kind COLLATE "C", id LIMIT $7)
                 UNION
                 (SELECT kind, id, version FROM records
                  WHERE $5 AND team_id = $6
                    AND (version, kind COLLATE "C", id) > ($1, $2 COLLATE "C", $3)
                  ORDER BY version, kind COLLATE "C", id LIMIT $7)
                 UNION
                 (SELECT kind, id, version FROM records
                  WHERE reach = 'team' AND team_id = $6
                    AND (version, kind COLLATE "C", id) > ($1, $2 COLLATE "C", $3)
                  ORDER BY version, kind COLLATE "C", id LIMIT $7)
                 UNION
                 (SELECT kind, id, version FROM records
                  WHERE reach = 'everyone'
                    AND (version, kind COLLATE "C", id) > ($1, $2 COLLATE "C", $3)
                  ORDER BY version, kind COLLATE "C", id LIMIT $7)
             ) AS page
             ORDER BY version, kind COLLATE "C", id
             LIMIT $7"#,
        )
        .bind(version)
        .bind(kind)
        .bind(id)
        .bind(user.id)
        .bind(user.role == Role::Manager)
        .bind(user.team_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FeedRow {
                    kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                    id: Id::from_uuid(row.try_get("id")?),
                    version: version_from(row.try_get("version")?)?,
                })
            })
            .collect()
    }

    async fn conflicts(&mut self, records: &[RecordRef]) -> Result<Vec<Conflict>, StorageError> {
        let (kinds, ids) = refs_arrays(records);
        let rows = sqlx::query(
            "SELECT c.id, c.kind, c.record_id, c.field, c.lost_value_json, c.lost_stamp,
                 c.lost_by, c.kept_value_json, c.kept_stamp, c.at_version, c.resolved
             FROM unnest($1::text[], $2::uuid[]) AS w (kind, id)
                 JOIN conflicts c ON c.kind = w.kind AND c.record_id = w.id
             ORDER BY c.at_version, c.id",
        )
        .bind(kinds)
        .bind(ids)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                ConflictColumns {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    record_id: row.try_get("record_id")?,
                    field: row.try_get("field")?,
                    lost_value_json: row.try_get("lost_value_json")?,
                    lost_stamp: row.try_get("lost_stamp")?,
                    lost_by: row.try_get("lost_by")?,
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
             WHERE v.user_id = $1 AND v.version > $2
             ORDER BY r.kind, r.id",
        )
        .bind(user)
        .bind(version_to(version)?)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Removal {
                    record: RecordRef {
                        kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                        id: Id::from_uuid(row.try_get("id")?),
                    },
                    owner: row.try_get("owner_id")?,
                    team: row.try_get("team_id")?,
                    reach: reach_from(&row.try_get::<String, _>("reach")?)?,
                })
            })
            .collect()
    }

    async fn max_stamp(&mut self) -> Result<Option<Stamp>, StorageError> {
        // The fixed-width text form sorts like the stamps when compared byte-wise.
        let raw: Option<String> =
            sqlx::query(r#"SELECT MAX(stamp COLLATE "C") AS stamp FROM fields"#)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("stamp")?;
        raw.as_deref().map(stamp_from).transpose()
    }

    async fn conflict_record(&mut self, id: Id) -> Result<Option<(RecordRef, bool)>, StorageError> {
        let row = sqlx::query("SELECT kind, record_id, resolved FROM conflicts WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|row| {
            Ok((
                RecordRef {
                    kind: kind_from(&row.try_get::<String, _>("kind")?)?,
                    id: Id::from_uuid(row.try_get("record_id")?),
                },
                row.try_get("resolved")?,
            ))
        })
        .transpose()
    }

    async fn mark_resolved(&mut self, id: Id) -> Result<(), StorageError> {
        sqlx::query("UPDATE conflicts SET resolved = TRUE WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn touch_record(&mut self, record: RecordRef, version: u64) -> Result<(), StorageError> {
        sqlx::query("UPDATE records SET version = $3 WHERE kind = $1 AND id = $2")
            .bind(record.kind.as_str())
            .bind(record.id.as_uuid())
            .bind(version_to(version)?)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn log_version(&mut self, version: u64, now_ms: i64) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO version_log (version, committed_at) VALUES ($1, $2)
             ON CONFLICT (version) DO UPDATE SET committed_at = excluded.committed_at",
        )
        .bind(version_to(version)?)
        .bind(time_of(now_ms)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn version_committed_at(&mut self, version: u64) -> Result<Option<i64>, StorageError> {
        let row = sqlx::query("SELECT committed_at FROM version_log WHERE version = $1")
            .bind(version_to(version)?)
            .fetch_optional(&mut *self.0)
            .await?;
        let at: Option<DateTime<Utc>> = row.map(|row| row.try_get("committed_at")).transpose()?;
        Ok(at.map(|at| at.timestamp_millis()))
    }

    async fn lead_history(&mut self, lead: Id) -> Result<Vec<RecordRef>, StorageError> {
        // `field = 'lead_id'` as a literal, so the planner can use the partial index; the
        // kinds are the lead history's, written into the text once.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT kind, record_id FROM fields
                 WHERE field = 'lead_id' AND value_json = $1 AND kind IN ({})
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
                    id: Id::from_uuid(row.try_get("record_id")?),
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
            sqlx::query("SELECT resynced_through FROM clients WHERE client_id = $1")
                .bind(client.as_uuid())
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
             VALUES ($1, $2, 0, $3)
             ON CONFLICT (client_id) DO UPDATE
                 SET resynced_through =
                     GREATEST(clients.resynced_through, excluded.resynced_through)
                 WHERE clients.user_id = excluded.user_id",
        )
        .bind(client.as_uuid())
        .bind(user)
        .bind(version_to(purged_through)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn lock_for_purge(&mut self) -> Result<u64, StorageError> {
        // The row pushes lock first (see `bump_version`): a purge waits for running pushes
        // and they wait for it.
        let raw: i64 =
            sqlx::query("SELECT purged_through FROM server_version WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *self.0)
                .await?
                .try_get("purged_through")?;
        version_from(raw)
    }

    async fn last_version_before(&mut self, ms: i64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM version_log WHERE committed_at < $1")
                .bind(time_of(ms)?)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn first_version_since(&mut self, ms: i64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT MIN(version) AS v FROM version_log WHERE committed_at >= $1")
                .bind(time_of(ms)?)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn last_tombstone(&mut self, through: u64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM records WHERE deleted AND version <= $1")
                .bind(version_to(through)?)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn last_removal(&mut self, through: u64) -> Result<Option<u64>, StorageError> {
        let raw: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM visibility_changes WHERE version <= $1")
                .bind(version_to(through)?)
                .fetch_one(&mut *self.0)
                .await?
                .try_get("v")?;
        raw.map(version_from).transpose()
    }

    async fn delete_tombstones(&mut self, through: u64) -> Result<u64, StorageError> {
        // Fields and conflicts go with their record (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM records WHERE deleted AND version <= $1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_resolved_conflicts(&mut self, through: u64) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM conflicts WHERE resolved AND at_version <= $1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_removals(&mut self, through: u64) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM visibility_changes WHERE version <= $1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_rejections(&mut self, through: u64) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM rejections WHERE at_version <= $1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_version_log(&mut self, through: u64) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM version_log WHERE version <= $1")
            .bind(version_to(through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn set_purged_through(&mut self, purged_through: u64) -> Result<(), StorageError> {
        sqlx::query("UPDATE server_version SET purged_through = $1 WHERE id = 1")
            .bind(version_to(purged_through)?)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }
}

/// The server's time `ms` (Unix milliseconds) as a `timestamptz` value.
/// Records as two parallel arrays (kinds, ids) for `unnest`.
fn refs_arrays(records: &[RecordRef]) -> (Vec<&'static str>, Vec<Uuid>) {
    records
        .iter()
        .map(|record| (record.kind.as_str(), *record.id.as_uuid()))
        .unzip()
}

fn time_of(ms: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StorageError::Corrupt(format!("time out of range: {ms}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same check as the SQLite backend's: the embedded list is the folder.
    #[test]
    fn embedded_migrations_match_the_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len());
        for (file, (version, _, sql)) in files.iter().zip(MIGRATIONS) {
            assert!(file.starts_with(&format!("{version:04}_")), "{file}");
            assert_eq!(&std::fs::read_to_string(dir.join(file)).unwrap(), sql);
        }
    }
}
