//! Server settings that are not command-line syntax: which database to open, where the built
//! app and the attachments are, and the HTTP policy (cookies, session length, body limit,
//! the largest attachment).
//!
//! `cli` turns flags and environment variables into these types; tests build them directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::TimeDelta;
use domain::training::limits::MAX_ATTACHMENT_BYTES;
use domain::{AttachmentLimits, PushLimits};

use crate::storage::postgres::PostgresStorage;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{Storage, StorageError};

/// Which database to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// `fieldbook.sqlite3` inside this directory (created when missing).
    Sqlite {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// `postgres://…` or `postgresql://…`.
        url: String,
    },
}

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The database URL is not a PostgreSQL URL.
    #[error("--database-url must start with postgres:// or postgresql:// (SQLite is the default and needs no URL)")]
    NotPostgres,
}

impl Database {
    /// PostgreSQL when a URL is given, otherwise SQLite in `data_dir`.
    pub fn choose(data_dir: &Path, database_url: Option<&str>) -> Result<Database, ConfigError> {
        match database_url.map(str::trim).filter(|url| !url.is_empty()) {
            None => Ok(Database::Sqlite {
                data_dir: data_dir.to_path_buf(),
            }),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres {
                    url: url.to_string(),
                })
            }
            Some(_) => Err(ConfigError::NotPostgres),
        }
    }

    /// Opens the database and brings its schema up to date.
    pub async fn open(&self) -> Result<Arc<dyn Storage>, StorageError> {
        Ok(match self {
            Database::Sqlite { data_dir } => Arc::new(SqliteStorage::open(data_dir).await?),
            Database::Postgres { url } => Arc::new(PostgresStorage::connect(url).await?),
        })
    }

    /// Where the data is, for the start-up log line (never the URL: it may hold a password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite { data_dir } => format!(
                "SQLite at {}",
                data_dir.join(crate::storage::sqlite::FILE_NAME).display()
            ),
            Database::Postgres { .. } => "PostgreSQL".to_string(),
        }
    }
}

/// How the HTTP side behaves.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// The built app (`trunk build` output) served outside `/api`.
    pub dist: PathBuf,
    /// The data directory (`--data-dir`): attachments' bytes live in its `attachments`
    /// folder, whichever database holds the rest.
    pub data_dir: PathBuf,
    /// Always mark the session cookie `Secure` (also done per request behind an https proxy).
    pub secure_cookies: bool,
    /// How long a sign-in lasts. Long, because reps work offline for days and an expired
    /// session only means signing in again once back online.
    pub session_ttl: TimeDelta,
    /// The largest request body the API reads; a push over it is answered 413 with the
    /// limits ([`HttpSettings::push_limits`]).
    pub body_limit: usize,
    /// The most mutations one push may carry; more is answered 413 with the limits.
    pub max_push_mutations: u32,
    /// The largest attachment an upload may declare, in bytes; more is answered 413 and
    /// nothing is stored. Read through [`HttpSettings::attachment_limit`], which caps it.
    pub max_attachment_bytes: u64,
    /// How long one API request may take, body included; past it the request is dropped
    /// (a push's transaction rolls back) and answered 503 `busy` with `Retry-After`.
    pub request_timeout: std::time::Duration,
    /// Requests one session may make at once before it is slowed down (a full sync of a
    /// big book is a few dozen).
    pub session_burst: u32,
    /// Requests per second one session may make in the long run; past the burst, more are
    /// answered 429 `rate_limited` with `Retry-After`.
    pub session_rate: u32,
    /// The most records one user may own; a push creating more has those creates refused
    /// (`error.quota`, kept as notes on the device, nothing lost).
    pub max_records_per_user: u64,
}

impl HttpSettings {
    /// Defaults for serving `dist`, keeping attachments under `data_dir`.
    pub fn new(dist: PathBuf, data_dir: PathBuf) -> HttpSettings {
        HttpSettings {
            dist,
            data_dir,
            secure_cookies: false,
            session_ttl: TimeDelta::days(30),
            body_limit: 1024 * 1024,
            max_push_mutations: DEFAULT_MAX_PUSH_MUTATIONS,
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            session_burst: DEFAULT_SESSION_BURST,
            session_rate: DEFAULT_SESSION_RATE,
            max_records_per_user: DEFAULT_MAX_RECORDS_PER_USER,
        }
    }

    /// The largest attachment this server takes, never over what the domain allows any
    /// server (devices validate attachments against that).
    pub fn attachment_limit(&self) -> u64 {
        self.max_attachment_bytes.min(MAX_ATTACHMENT_BYTES)
    }

    /// The attachment limit as devices learn it (`/api/health`, the body of a 413).
    pub fn attachment_limits(&self) -> AttachmentLimits {
        AttachmentLimits {
            max_attachment_bytes: Some(self.attachment_limit()),
        }
    }

    /// The push limits as devices learn them (`/api/health`, the body of a 413).
    pub fn push_limits(&self) -> PushLimits {
        PushLimits {
            max_push_bytes: u64::try_from(self.body_limit).unwrap_or(u64::MAX),
            max_push_mutations: self.max_push_mutations,
        }
    }
}

/// The default `--purge-after-days`: tombstones, resolved conflicts, removals and kept
/// refusals are forgotten after this many days; a device offline longer pulls everything
/// again.
pub const DEFAULT_PURGE_AFTER_DAYS: u32 = 90;

/// How often `serve` purges (it also purges once at start).
pub const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The default `--max-push-mutations`: above the app's batches of 200, low enough that one
/// push stays a short transaction.
pub const DEFAULT_MAX_PUSH_MUTATIONS: u32 = 500;

/// The default `--max-attachment-bytes` (10 MiB): a phone photo or a product sheet, while a
/// slow mobile link still finishes one in a few minutes of 512 KiB chunks.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

/// The default `--dist`: the repository's `dist/` when this binary runs from a checkout
/// (`cargo run` from any folder), else `./dist`.
pub fn default_dist() -> PathBuf {
    let in_repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist");
    if in_repo.is_dir() {
        in_repo
    } else {
        PathBuf::from("dist")
    }
}

/// How long one API request may take by default: a 512 KiB attachment chunk over a slow
/// mobile link, with room to spare.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Requests a session may make at once by default: a first sync of a 10,000-lead,
/// 50,000-visit book is about a hundred pull pages and pushes.
pub const DEFAULT_SESSION_BURST: u32 = 300;

/// Requests per second a session may make in the long run by default.
pub const DEFAULT_SESSION_RATE: u32 = 20;

/// The most records one user may own by default: four times the largest book the app is
/// built for (10,000 leads and 50,000 visits), far past what a person types, well short of
/// what a script filling the server would reach.
pub const DEFAULT_MAX_RECORDS_PER_USER: u64 = 250_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_picks_postgres_and_nothing_picks_sqlite() {
        let dir = Path::new("/data");
        assert_eq!(
            Database::choose(dir, None).unwrap(),
            Database::Sqlite {
                data_dir: dir.to_path_buf()
            }
        );
        assert_eq!(
            Database::choose(dir, Some("  ")).unwrap(),
            Database::Sqlite {
                data_dir: dir.to_path_buf()
            }
        );
        assert!(matches!(
            Database::choose(dir, Some("postgresql://u@h/db")).unwrap(),
            Database::Postgres { .. }
        ));
        assert!(Database::choose(dir, Some("mysql://h/db")).is_err());
    }

    #[test]
    fn the_attachment_limit_never_exceeds_the_domains() {
        let mut settings = HttpSettings::new(PathBuf::from("dist"), PathBuf::from("data"));
        assert_eq!(settings.attachment_limit(), 10_485_760);
        settings.max_attachment_bytes = u64::MAX;
        assert_eq!(settings.attachment_limit(), MAX_ATTACHMENT_BYTES);
        assert_eq!(
            settings.attachment_limits().max_attachment_bytes,
            Some(MAX_ATTACHMENT_BYTES)
        );
    }
}
