//! The baseline for the server's push throughput: the same rows written straight into a
//! scratch SQLite file with sqlx, one multi-row INSERT per batch, all in one transaction,
//! with the server's durability settings (WAL, `synchronous=FULL`).

use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, Result};
use domain::Record;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use crate::gen::Book;

/// Rows per INSERT statement (5 bound values each, well under SQLite's variable limit).
const BATCH: usize = 500;

/// Inserts every record of `book` as a row `(id, kind, version, owner, data)`; returns rows
/// per second.
pub async fn insert(file: &Path, book: &Book) -> Result<(usize, f64)> {
    if file.exists() {
        std::fs::remove_file(file).with_context(|| format!("removing {}", file.display()))?;
    }
    let url = format!("sqlite://{}", file.display());
    let mut conn = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    sqlx::query(
        "CREATE TABLE records (id TEXT PRIMARY KEY, kind TEXT NOT NULL, version INTEGER NOT NULL, \
         owner TEXT, data TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await?;
    let mut rows: Vec<(String, &'static str, String)> = Vec::new();
    for lead in &book.leads {
        rows.push((lead.id().to_string(), "lead", serde_json::to_string(lead)?));
    }
    for visit in &book.visits {
        rows.push((
            visit.id().to_string(),
            "visit",
            serde_json::to_string(visit)?,
        ));
    }
    let start = Instant::now();
    let mut tx = conn.begin().await?;
    let mut version = 0i64;
    for chunk in rows.chunks(BATCH) {
        let placeholders = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        // Only placeholders are formatted in; every value is bound.
        let sql =
            format!("INSERT INTO records (id, kind, version, owner, data) VALUES {placeholders}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, kind, data) in chunk {
            version += 1;
            query = query
                .bind(id.as_str())
                .bind(*kind)
                .bind(version)
                .bind("bench")
                .bind(data.as_str());
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let seconds = start.elapsed().as_secs_f64();
    Ok((rows.len(), rows.len() as f64 / seconds.max(1e-9)))
}
