//! Sync throughput on a file-backed SQLite database in a temporary folder, against a raw
//! baseline measured in the same run.
//!
//! `cargo run --release -p fieldbook-server --example sync_bench -- [LEADS]` (default 2,000):
//! - push: LEADS leads (~20 fields each) and 5 visits per lead, in batches of 200 mutations,
//!   through the real `Storage::push` (and so `storage::sync::push`); one transaction per
//!   batch, as a device's pushes.
//! - raw push: the very rows that push stored (`records` and `fields`), read back and
//!   inserted into a fresh database with one multi-row INSERT per table per batch of 200
//!   records, one transaction per batch.
//! - pull: a fresh device pulls everything through `Storage::pull`, pages of 200.
//! - raw pull: the same records and fields read with one keyset query per page of 200
//!   records and one query for the page's fields.
//!
//! Prints one `key=value` line per measurement (for `cargo xtask bench`) and a summary.
//! `FIELDBOOK_BENCH_DIR=DIR` keeps the databases in DIR (the pushed one in `DIR/push`, its
//! rep's login `rep`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use domain::{
    changed_fields, Grade, Hlc, Id, Intent, LeadDraft, Mutation, PullRequest, PushRequest,
    RecordMeta, Source, Stage, VisitDraft, VisitKind, PROTOCOL_VERSION,
};
use fieldbook_server::storage::sqlite::SqliteStorage;
use fieldbook_server::storage::{PushOutcome, Role, Storage, Team, User};
use sqlx::Row;
use uuid::Uuid;

const BATCH: usize = 200;

/// A `fields` row's field, value_json, stamp and version.
type FieldColumns = (String, String, String, i64);

fn new_id() -> Uuid {
    fieldbook_server::secrets::new_id(Utc::now()).unwrap()
}
const VISITS_PER_LEAD: usize = 5;

/// The figures of one run.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// Mutations pushed.
    pub mutations: usize,
    /// Mutations per second through `Storage::push`.
    pub push_per_s: f64,
    /// `records` + `fields` rows the push stored.
    pub rows: usize,
    /// Rows per second of the raw batched insert of those rows.
    pub raw_rows_per_s: f64,
    /// Records (= mutations) per second of the raw insert.
    pub raw_records_per_s: f64,
    /// Records per second of a fresh device's full pull.
    pub pull_per_s: f64,
    /// Records per second of the team's manager's full pull (a fresh device).
    pub manager_pull_per_s: f64,
    /// Records per second of the raw paged read.
    pub raw_pull_per_s: f64,
}

fn user() -> (Team, User) {
    let team = Team {
        id: new_id(),
        name: "bench".into(),
        created_at: Utc::now(),
    };
    let user = User {
        id: new_id(),
        login: "rep".into(),
        display_name: "Rep".into(),
        role: Role::Rep,
        team_id: Some(team.id),
        created_at: Utc::now(),
        must_change_password: false,
    };
    (team, user)
}

/// LEADS leads, each followed by its visits, as one device's numbered mutations.
fn mutations(leads: usize, now_ms: i64) -> (Id, Vec<domain::PushMutation>) {
    let client = Id::from_uuid(new_id());
    let mut hlc = Hlc::new(client);
    let mut out = Vec::new();
    let mut push = |kind, record_id, fields, hlc: &mut Hlc| {
        let seq = out.len() as u64 + 1;
        out.push(
            Mutation {
                seq,
                kind,
                record_id,
                fields,
                stamp: hlc.tick(now_ms),
            }
            .to_push(&BTreeMap::new()),
        );
    };
    for n in 0..leads {
        let lead_id = Id::from_uuid(new_id());
        let draft = LeadDraft {
            name: format!("Lead {n} 客户"),
            company: format!("Company {n} 有限公司"),
            title: "Purchasing manager".into(),
            phones: format!("138{n:08}"),
            wechat: format!("wx{n}"),
            email: format!("lead{n}@example.com"),
            address: format!("{n} Nanjing Road, Shanghai"),
            source: Source::default(),
            grade: Grade::default(),
            stage: Stage::default(),
            needs: "Forklifts for the new warehouse, delivery before spring".into(),
            intent: Some(Intent::Medium),
            expected_value: "120000".into(),
            currency: "CNY".into(),
            expected_close: "2027-03-01".into(),
            next_follow_up: "2026-12-10".into(),
            strategy: "Demo at their site, then a quote".into(),
            tags: "warehouse, spring".into(),
            ..LeadDraft::default()
        };
        let lead = draft
            .parse(&RecordMeta::new(lead_id, now_ms), now_ms)
            .unwrap();
        let fields = changed_fields(None, &lead).unwrap();
        push(domain::RecordKind::Lead, lead_id, fields, &mut hlc);
        for v in 0..VISITS_PER_LEAD {
            let visit_id = Id::from_uuid(new_id());
            let draft = VisitDraft {
                lead_id: Some(lead_id),
                kind: VisitKind::default(),
                date: format!("2026-11-{:02}", v + 1),
                time: "10:00".into(),
                duration_min: "45".into(),
                notes: format!("Visit {v}: walked the site, met the buyer"),
                outcome: "Asked for a quote".into(),
                ..VisitDraft::default()
            };
            let visit = draft
                .parse(&RecordMeta::new(visit_id, now_ms), now_ms, 480)
                .unwrap();
            let fields = changed_fields(None, &visit).unwrap();
            push(domain::RecordKind::Visit, visit_id, fields, &mut hlc);
        }
    }
    (client, out)
}

fn manager(team: &Team) -> User {
    User {
        id: new_id(),
        login: "manager".into(),
        display_name: "Manager".into(),
        role: Role::Manager,
        team_id: Some(team.id),
        created_at: Utc::now(),
        must_change_password: false,
    }
}

async fn storage(dir: &std::path::Path, team: &Team, users: &[&User]) -> SqliteStorage {
    let storage = SqliteStorage::open(dir).await.unwrap();
    storage.insert_team(team).await.unwrap();
    for user in users {
        storage.insert_user(user, "x").await.unwrap();
    }
    storage
}

/// A fresh device's full pull for `user`, pages of 200: records per second.
async fn full_pull(storage: &SqliteStorage, user: &User, now_ms: i64, expected: usize) -> f64 {
    let started = Instant::now();
    let mut request = PullRequest {
        client_id: Id::from_uuid(new_id()),
        cursor: None,
        limit: BATCH as u32,
        seen: None,
    };
    let mut pulled = 0;
    loop {
        let answer = storage.pull(user, &request, now_ms).await.unwrap();
        pulled += answer.changes.len();
        request.cursor = answer.cursor;
        if !answer.more {
            break;
        }
    }
    assert_eq!(pulled, expected);
    expected as f64 / started.elapsed().as_secs_f64()
}

/// Runs the measurement with `leads` leads; prints and returns the figures.
pub async fn run(leads: usize) -> Report {
    // FIELDBOOK_BENCH_DIR keeps the databases (`push/` holds what the push stored, for
    // measuring a server on it); by default they go with a temporary folder.
    let tmp = tempfile::tempdir().unwrap();
    let root = std::env::var_os("FIELDBOOK_BENCH_DIR")
        .map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);
    let (team, user) = user();
    let manager = manager(&team);
    let now_ms = Utc::now().timestamp_millis();
    let (client, all) = mutations(leads, now_ms);
    let pushed = storage(&root.join("push"), &team, &[&user, &manager]).await;

    let started = Instant::now();
    for batch in all.chunks(BATCH) {
        let request = PushRequest {
            client_id: client,
            protocol: PROTOCOL_VERSION,
            mutations: batch.to_vec(),
            resume_after: None,
            known_applied: 0,
        };
        match pushed
            .push(&user, &request, now_ms, u64::MAX)
            .await
            .unwrap()
        {
            PushOutcome::Applied(answer) => assert!(answer.rejected.is_empty(), "{answer:?}"),
            PushOutcome::Gap { expected } => panic!("gap at {expected}"),
        }
    }
    let push_s = started.elapsed().as_secs_f64();

    // The rows the push stored, record by record in push order.
    let records: Vec<(String, String, String, Option<String>, i64, bool)> =
        sqlx::query("SELECT kind, id, owner_id, team_id, version, deleted FROM records")
            .fetch_all(pushed.pool())
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row.get("kind"),
                    row.get("id"),
                    row.get("owner_id"),
                    row.get("team_id"),
                    row.get("version"),
                    row.get("deleted"),
                )
            })
            .collect();
    let mut fields: BTreeMap<(String, String), Vec<FieldColumns>> = BTreeMap::new();
    for row in sqlx::query("SELECT kind, record_id, field, value_json, stamp, version FROM fields")
        .fetch_all(pushed.pool())
        .await
        .unwrap()
    {
        fields
            .entry((row.get("kind"), row.get("record_id")))
            .or_default()
            .push((
                row.get("field"),
                row.get("value_json"),
                row.get("stamp"),
                row.get("version"),
            ));
    }
    let rows = records.len() + fields.values().map(Vec::len).sum::<usize>();
    assert_eq!(records.len(), all.len());

    let raw = storage(&root.join("raw"), &team, &[&user, &manager]).await;
    let started = Instant::now();
    for batch in records.chunks(BATCH) {
        let mut tx = raw.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
        let mut sql = String::from(
            "INSERT INTO records (kind, id, owner_id, team_id, version, deleted) VALUES ",
        );
        sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; batch.len()].join(", "));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (kind, id, owner, team, version, deleted) in batch {
            query = query
                .bind(kind)
                .bind(id)
                .bind(owner)
                .bind(team)
                .bind(version)
                .bind(deleted);
        }
        query.execute(&mut *tx).await.unwrap();
        let batch_fields: Vec<_> = batch
            .iter()
            .flat_map(|(kind, id, ..)| {
                fields
                    .get(&(kind.clone(), id.clone()))
                    .into_iter()
                    .flatten()
                    .map(move |field| (kind, id, field))
            })
            .collect();
        // 6 parameters a row, under SQLite's 32,766.
        for chunk in batch_fields.chunks(5_000) {
            let mut sql = String::from(
                "INSERT INTO fields (kind, record_id, field, value_json, stamp, version) VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (kind, id, (field, value, stamp, version)) in chunk {
                query = query
                    .bind(*kind)
                    .bind(*id)
                    .bind(field)
                    .bind(value)
                    .bind(stamp)
                    .bind(version);
            }
            query.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let raw_s = started.elapsed().as_secs_f64();

    let pull_per_s = full_pull(&pushed, &user, now_ms, all.len()).await;
    let manager_pull_per_s = full_pull(&pushed, &manager, now_ms, all.len()).await;

    let started = Instant::now();
    let mut after = (0i64, String::new(), String::new());
    let mut read = 0;
    loop {
        let mut tx = pushed.pool().begin().await.unwrap();
        let page: Vec<(i64, String, String)> = sqlx::query(
            "SELECT version, kind, id FROM records WHERE (version, kind, id) > (?1, ?2, ?3)
             ORDER BY version, kind, id LIMIT ?4",
        )
        .bind(after.0)
        .bind(&after.1)
        .bind(&after.2)
        .bind(BATCH as i64)
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get("version"), row.get("kind"), row.get("id")))
        .collect();
        let Some(last) = page.last().cloned() else {
            break;
        };
        let ids: Vec<[&str; 2]> = page
            .iter()
            .map(|(_, kind, id)| [kind.as_str(), id.as_str()])
            .collect();
        let json = serde_json::to_string(&ids).unwrap();
        let fields = sqlx::query(
            "SELECT f.kind, f.record_id, f.field, f.value_json, f.stamp, f.version
             FROM json_each(?1) AS w CROSS JOIN fields f
                 ON f.kind = w.value ->> 0 AND f.record_id = w.value ->> 1",
        )
        .bind(json)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        for row in &fields {
            let _: (String, String, String, String, String, i64) = (
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
            );
        }
        tx.commit().await.unwrap();
        read += page.len();
        after = last;
    }
    let raw_pull_s = started.elapsed().as_secs_f64();
    assert_eq!(read, all.len());

    let report = Report {
        mutations: all.len(),
        push_per_s: all.len() as f64 / push_s,
        rows,
        raw_rows_per_s: rows as f64 / raw_s,
        raw_records_per_s: all.len() as f64 / raw_s,
        pull_per_s,
        manager_pull_per_s,
        raw_pull_per_s: all.len() as f64 / raw_pull_s,
    };
    println!("mutations={}", report.mutations);
    println!("stored_rows={}", report.rows);
    println!("push_mutations_per_s={:.0}", report.push_per_s);
    println!("raw_insert_rows_per_s={:.0}", report.raw_rows_per_s);
    println!("raw_insert_records_per_s={:.0}", report.raw_records_per_s);
    println!("pull_records_per_s={:.0}", report.pull_per_s);
    println!(
        "manager_pull_records_per_s={:.0}",
        report.manager_pull_per_s
    );
    println!("raw_pull_records_per_s={:.0}", report.raw_pull_per_s);
    println!(
        "# push: {:.2}x raw (same records), pull: {:.2}x raw",
        report.push_per_s / report.raw_records_per_s,
        report.pull_per_s / report.raw_pull_per_s
    );
    report
}

#[tokio::main]
async fn main() {
    let leads = std::env::args()
        .nth(1)
        .map(|raw| raw.parse().expect("LEADS is a number"))
        .unwrap_or(2_000);
    run(leads).await;
}
