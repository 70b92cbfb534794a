//! The PostgreSQL backend, for teams that run several server processes behind a load
//! balancer: every piece of state that correctness depends on (sessions, failed logins, and
//! next the sync version row) lives in the database, never in one process's memory.
//!
//! Ids are native `uuid` and times `timestamptz`. sqlx's migrator takes an advisory lock, so
//! servers starting together do not run the same migration twice.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Row, SqlSafeStr};
use uuid::Uuid;

use super::{
    lock_end, parse_role, Backend, LockPolicy, LoginThrottle, Session, Storage, StorageError, Team,
    User, UserCredentials,
};

/// The migrations in `migrations/postgres`, embedded at build time (see the SQLite list for
/// why they are listed by hand).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "accounts and sync",
    include_str!("../../migrations/postgres/0001_accounts_and_sync.sql"),
)];

/// Storage in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStorage {
    pool: PgPool,
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://…`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        let options = PgConnectOptions::from_str(url)?;
        PostgresStorage::connect_with(options).await
    }

    /// Connects to `url` with every connection's `search_path` set to `schema`, creating the
    /// schema when missing. Tests use it to give each test a fresh, empty database.
    pub async fn connect_in_schema(
        url: &str,
        schema: &str,
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
        PostgresStorage::connect_with(base.options([("search_path", schema)])).await
    }

    async fn connect_with(options: PgConnectOptions) -> Result<PostgresStorage, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        Ok(PostgresStorage { pool })
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
        "u.id, u.login, u.display_name, u.role, u.team_id, u.created_at"
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
            "INSERT INTO users (id, login, display_name, role, team_id, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id)
        .bind(&user.login)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(user.team_id)
        .bind(password_hash)
        .bind(user.created_at)
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
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StorageError::NotFound("user"));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM login_throttle WHERE user_id = $1")
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

    async fn login_throttle(&self, user_id: Uuid) -> Result<LoginThrottle, StorageError> {
        let row =
            sqlx::query("SELECT failures, locked_until FROM login_throttle WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row
            .as_ref()
            .map(throttle_from_row)
            .transpose()?
            .unwrap_or_default())
    }

    async fn record_login_failure(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
        policy: LockPolicy,
    ) -> Result<LoginThrottle, StorageError> {
        let mut tx = self.pool.begin().await?;
        // The upsert locks the account's row until commit, so concurrent failures on other
        // servers count one after the other.
        let row = sqlx::query(
            "INSERT INTO login_throttle (user_id, failures, locked_until) VALUES ($1, 1, NULL)
             ON CONFLICT (user_id) DO UPDATE SET failures = login_throttle.failures + 1
             RETURNING failures, locked_until",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        let mut throttle = throttle_from_row(&row)?;
        if let Some(until) = lock_end(policy, throttle.failures, now) {
            if throttle.locked_until.is_none_or(|current| current < until) {
                sqlx::query("UPDATE login_throttle SET locked_until = $2 WHERE user_id = $1")
                    .bind(user_id)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                throttle.locked_until = Some(until);
            }
        }
        tx.commit().await?;
        Ok(throttle)
    }

    async fn clear_login_failures(&self, user_id: Uuid) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM login_throttle WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
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
