//! Hostile input, generated: the real router and storage (SQLite in a temporary folder) fed
//! bodies no client would send, and pushes of any kind, id, field, value and stamp.
//!
//! Two properties:
//! - **Decoding**: whatever the body of a JSON endpoint (any string, any JSON value, or a
//!   valid push with one value swapped for anything), the answer is never a 5xx, and every
//!   refusal is the JSON error body.
//! - **Merge**: whatever a signed-in device pushes (kinds, ids shared across kinds, unknown
//!   and server-managed fields, values of every JSON type, stamps from 1970 to far ahead,
//!   any bases), the push is answered, every number is applied or refused, and every record
//!   a pull then returns is one the domain's validation accepts: the server never stores a
//!   record the app could not read. Valid leads, stage changes of them and targets (under
//!   their derived ids, for the rep, the manager and the team), each with one field given
//!   any value, are generated too, so later mutations merge over stored records of every
//!   kind that has a valid one here.
//!
//! CI runs 64 cases of each; `cargo xtask test --full` sets `FIELDBOOK_FUZZ_CASES` (20,000).
//! A failing case is written under `tests/fuzz-regressions/` and replayed first by every later
//! run: commit it with the fix.

// Test code: a failed step is a failed test. The workspace's clippy.toml
// allow-*-in-tests settings cover `#[test]` functions but not the shared helpers below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use domain::{
    changed_fields, validate_record, Currency, Id, Metric, Period, PullRequest, PullResponse,
    PushMutation, PushRequest, PushResponse, RecordKind, RecordMeta, Stamp, Target, TargetDraft,
    PROTOCOL_VERSION,
};
use fieldbook_server::accounts::{self, NewUser};
use fieldbook_server::config::HttpSettings;
use fieldbook_server::http::{app, AppState};
use fieldbook_server::storage::sqlite::SqliteStorage;
use fieldbook_server::storage::{Role, Storage};
use http_body_util::BodyExt as _;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt as _;

/// Cases per property: 64, or `FIELDBOOK_FUZZ_CASES`.
fn cases() -> u32 {
    std::env::var("FIELDBOOK_FUZZ_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(64)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/fuzz-regressions/fuzz.txt",
        ))),
        ..Config::default()
    })
}

/// A server with a team (a manager and a rep, passwords chosen) and both signed in, and
/// the targets the manager may set there: each one's derived id and its fields.
struct Fixture {
    router: Router,
    _dir: TempDir,
    rep: String,
    boss: String,
    targets: Vec<(Id, Vec<Write>)>,
}

async fn fixture() -> Fixture {
    let dir = TempDir::new().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(dir.path()).await.unwrap());
    let now = Utc::now();
    accounts::add_team(storage.as_ref(), "east", now)
        .await
        .unwrap();
    let mut cookies = Vec::new();
    let mut people = Vec::new();
    for (login, role) in [("rep", Role::Rep), ("boss", Role::Manager)] {
        let new = NewUser {
            login: login.into(),
            display_name: login.into(),
            role,
            team: Some("east".into()),
        };
        let (user, one_time) = accounts::add_user(storage.as_ref(), new, now)
            .await
            .unwrap();
        let chosen = format!("{one_time} chosen");
        accounts::change_password(storage.as_ref(), &user, &one_time, &chosen, now)
            .await
            .unwrap();
        cookies.push((login, chosen));
        people.push(user);
    }
    // The rep's target, the manager's own and the team's.
    let team = people[0].team_id.map(Id::from_uuid).unwrap();
    let subjects = people
        .iter()
        .map(|user| Some(Id::from_uuid(user.id)))
        .chain([None]);
    let targets = subjects
        .map(|rep| {
            let period = Period::parse("2026-11").unwrap();
            let id = Target::id_for(rep.unwrap_or(team), period, Metric::DealAmount);
            let meta = RecordMeta {
                team: Some(team),
                ..RecordMeta::new(id, 1_700_000_000_000)
            };
            let draft = TargetDraft {
                rep,
                period,
                metric: Metric::DealAmount,
                value: "5000".into(),
                currency: Currency::CNY,
            };
            let target = draft.parse(&meta, 1_700_000_000_000).unwrap();
            let fields = changed_fields(None, &target)
                .unwrap()
                .into_iter()
                .map(|(field, value)| (field, value, None))
                .collect();
            (id, fields)
        })
        .collect();
    let mut settings = HttpSettings::new(dir.path().join("dist"), dir.path().to_path_buf());
    // The fuzzer is one very fast client.
    settings.session_burst = u32::MAX;
    let router = app(AppState::new(storage, settings));
    let mut signed_in = Vec::new();
    for (login, password) in cookies {
        let body = json!({ "login": login, "password": password }).to_string();
        let (status, headers, _) = send(&router, "/api/login", body, None).await;
        assert_eq!(status, StatusCode::OK);
        let cookie = headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap()
            .to_string();
        signed_in.push(cookie);
    }
    let boss = signed_in.pop().unwrap();
    let rep = signed_in.pop().unwrap();
    Fixture {
        router,
        _dir: dir,
        rep,
        boss,
        targets,
    }
}

async fn send(
    router: &Router,
    path: &str,
    body: String,
    cookie: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

/// Any JSON value, a few levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        "[0-9a-f-]{36}".prop_map(Value::from),
        Just(Value::from("2026-02-30")),
        Just(Value::from("13800138000")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A well-formed push of one lead, as JSON.
fn valid_push(client: Id) -> Value {
    json!({
        "client_id": client,
        "protocol": PROTOCOL_VERSION,
        "known_applied": 0,
        "mutations": [{
            "seq": 1,
            "kind": "lead",
            "record_id": Id::from_parts(1_700_000_000_000, [7; 10]),
            "stamp": Stamp::new(1_700_000_000_000, 0, client),
            "fields": { "name": { "value": "李伟", "base": null }, "phones": { "value": ["13800138000"], "base": null } }
        }]
    })
}

/// Every JSON pointer into `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{n}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// A body for a JSON endpoint: anything at all, any JSON, or a valid push with one value
/// replaced.
fn arb_body() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,200}",
        arb_json().prop_map(|v| v.to_string()),
        (any::<prop::sample::Index>(), arb_json()).prop_map(|(index, replacement)| {
            let mut push = valid_push(Id::from_parts(1_700_000_000_000, [1; 10]));
            let mut all = Vec::new();
            pointers(&push, String::new(), &mut all);
            let at = &all[index.index(all.len())];
            if at.is_empty() {
                return replacement.to_string();
            }
            if let Some(slot) = push.pointer_mut(at) {
                *slot = replacement;
            }
            push.to_string()
        }),
    ]
}

#[test]
fn no_body_makes_the_server_fail() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let fixture = tokio.block_on(fixture());
    let paths = [
        "/api/sync/push",
        "/api/sync/pull",
        "/api/login",
        "/api/password",
        "/api/sync/conflicts/0190a0a0-0000-7000-8000-000000000001/resolve",
    ];
    let strategy = (
        prop::sample::select(paths.to_vec()),
        arb_body(),
        any::<bool>(),
    );
    runner()
        .run(&strategy, |(path, body, signed_in)| {
            let cookie = signed_in.then_some(fixture.rep.as_str());
            let (status, _, bytes) =
                tokio.block_on(send(&fixture.router, path, body.clone(), cookie));
            prop_assert!(status.as_u16() < 500, "{path} {body:?} answered {status}");
            if !status.is_success() {
                let error: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| TestCaseError::fail(format!("{status}: not JSON: {e}")))?;
                prop_assert!(error["error"].is_string(), "{path}: {error}");
            }
            Ok(())
        })
        .unwrap();
}

/// A field written with its value and base.
type Write = (String, Value, Option<u64>);

/// Which record a generated mutation names.
#[derive(Clone, Copy, Debug)]
enum Record {
    /// One of a few made-up ids, shared across kinds.
    Made(u8),
    /// One of the fixture's targets, by its derived id.
    Target(usize),
}

/// One generated mutation: kind, record, fields, and the stamp's wall time and counter.
type Generated = (RecordKind, Record, Vec<Write>, i64, u32);

/// The made-up id `n`.
fn made_id(n: u8) -> Id {
    Id::from_parts(1_700_000_000_000, [n; 10])
}

/// One generated mutation; `targets` are the fixture's (their ids and valid fields).
fn arb_mutation(targets: &[(Id, Vec<Write>)]) -> impl Strategy<Value = Generated> {
    let field = prop_oneof![
        prop::sample::select(vec![
            "name",
            "phones",
            "company",
            "notes",
            "grade",
            "stage",
            "lead_id",
            "owner",
            "team",
            "deleted",
            "created_at",
            "amount",
            "product",
            "status",
            "closed_on",
            "title",
            "body",
            "kind",
            "published",
            "audience",
            "version",
            "assigned",
            "item_id",
            "answers",
            "starts_at",
            "next_follow_up",
            "expected_value",
            "follow_up_days",
            "attachments",
            "rep",
            "period",
            "metric",
            "value",
            "currency",
            "from",
            "to",
            "at",
            "reason",
            "logged_by",
            "prob_negotiation",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,10}",
    ];
    let any_record = prop_oneof![
        (0u8..6).prop_map(Record::Made),
        (0..targets.len()).prop_map(Record::Target),
    ];
    let random = (
        prop::sample::select(RecordKind::ALL.to_vec()),
        any_record,
        prop::collection::vec(
            (field.clone(), arb_json(), prop::option::of(0u64..20)),
            0..8,
        ),
    );
    let one_more = || (field.clone(), arb_json(), prop::option::of(0u64..20));
    // A lead the server accepts, with one field (known or not) given any value: most of
    // these are stored, so later mutations merge over real records.
    let lead = (0u8..4, one_more()).prop_map(|(n, write)| {
        let mut fields = vec![
            ("name".to_string(), json!("李伟"), None),
            ("phones".to_string(), json!(["13800138000"]), None),
        ];
        fields.push(write);
        (RecordKind::Lead, Record::Made(n), fields)
    });
    // Likewise a stage change of one of those leads (under ids of its own), and one of the
    // fixture's targets under its derived id (stored when the manager sends it), each with
    // or without one field more (no field of theirs is as easy to hit as a lead's).
    let stage_change =
        (4u8..6, 0u8..4, prop::option::of(one_more())).prop_map(|(n, lead, write)| {
            let mut fields = vec![
                ("lead_id".to_string(), json!(made_id(lead)), None),
                ("from".to_string(), json!("prospecting"), None),
                ("to".to_string(), json!("negotiation"), None),
                ("at".to_string(), json!(1_700_000_000_000_i64), None),
            ];
            fields.extend(write);
            (RecordKind::StageChange, Record::Made(n), fields)
        });
    let targets = targets.to_vec();
    let target =
        (0..targets.len(), prop::option::of(one_more())).prop_map(move |(index, write)| {
            let mut fields = targets[index].1.clone();
            fields.extend(write);
            (RecordKind::Target, Record::Target(index), fields)
        });
    (
        prop_oneof![random, lead, stage_change, target],
        prop_oneof![0i64..=4_102_444_800_000, Just(i64::MAX), Just(-1)],
        any::<u32>(),
    )
        .prop_map(|((kind, record, fields), wall, counter)| (kind, record, fields, wall, counter))
}

#[test]
fn no_push_stores_a_record_the_app_cannot_read() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    // One server for every case: records of earlier cases stay, so later ones merge over
    // them. Each case pushes from two new devices.
    let fixture = tokio.block_on(fixture());
    let case = std::cell::Cell::new(0u16);
    let strategy = prop::collection::vec((any::<bool>(), arb_mutation(&fixture.targets)), 1..12);
    runner()
        .run(&strategy, |pushes| {
            case.set(case.get().wrapping_add(1));
            let [hi, lo] = case.get().to_be_bytes();
            let device =
                |n: u8| Id::from_parts(1_600_000_000_000, [0, 0, 0, n, hi, lo, 0, 0, 0, 0]);
            tokio.block_on(async {
                let devices = [
                    (fixture.rep.as_str(), device(1)),
                    (fixture.boss.as_str(), device(2)),
                ];
                let mut seqs = [0u64; 2];
                for (by_boss, (kind, record, fields, wall, counter)) in pushes {
                    let who = usize::from(by_boss);
                    let (cookie, client) = devices[who];
                    seqs[who] += 1;
                    let mutation = PushMutation {
                        seq: seqs[who],
                        kind,
                        record_id: match record {
                            Record::Made(n) => made_id(n),
                            Record::Target(index) => fixture.targets[index].0,
                        },
                        // Out-of-range walls are kept as they come: the stamp type refuses
                        // them while decoding, which the decoding fuzz covers.
                        stamp: Stamp::new(wall.clamp(0, 4_102_444_800_000), counter, client),
                        fields: fields
                            .into_iter()
                            .map(|(field, value, base)| (field, domain::FieldWrite { value, base }))
                            .collect(),
                    };
                    let request = PushRequest {
                        client_id: client,
                        protocol: PROTOCOL_VERSION,
                        mutations: vec![mutation],
                        resume_after: None,
                        known_applied: 0,
                    };
                    let body = serde_json::to_string(&request).unwrap();
                    let (status, _, bytes) =
                        send(&fixture.router, "/api/sync/push", body, Some(cookie)).await;
                    prop_assert_eq!(
                        status,
                        StatusCode::OK,
                        "{}",
                        String::from_utf8_lossy(&bytes)
                    );
                    let answer: PushResponse = serde_json::from_slice(&bytes).unwrap();
                    prop_assert_eq!(answer.last_applied, seqs[who]);
                }
                for (cookie, client) in devices {
                    let mut cursor = None;
                    loop {
                        let request = PullRequest {
                            client_id: client,
                            cursor,
                            limit: 50,
                            seen: None,
                        };
                        let body = serde_json::to_string(&request).unwrap();
                        let (status, _, bytes) =
                            send(&fixture.router, "/api/sync/pull", body, Some(cookie)).await;
                        prop_assert_eq!(status, StatusCode::OK);
                        let page: PullResponse = serde_json::from_slice(&bytes).unwrap();
                        for change in &page.changes {
                            let record = &change.record;
                            prop_assert!(
                                validate_record(change.kind, record).is_ok(),
                                "{:?} {}: {:?}",
                                change.kind,
                                record,
                                validate_record(change.kind, record)
                            );
                        }
                        cursor = page.cursor.or(cursor);
                        if !page.more {
                            break;
                        }
                    }
                }
                Ok(())
            })
        })
        .unwrap();
}
