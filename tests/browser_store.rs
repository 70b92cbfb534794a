//! Browser tests of the local store against Chromium's real IndexedDB: round trips, the index
//! queries the screens use, the schema upgrade, and that a record and its outbox entry are
//! written together or not at all. Run with `cargo test --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use domain::{
    Deal, DealDraft, DealStatus, Grade, Id, Lead, LeadDraft, Record, RecordKind, RecordMeta, Stage,
    Visit, VisitDraft, VisitKind,
};
use fieldbook::platform::{new_id, PinyinCollator};
use fieldbook::store::{open_at_version, Change, DeviceState, Edit, Store, SCHEMA_VERSION};
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const T0: i64 = 1_764_000_000_000; // 2025-11-24, a fixed moment so tests do not depend on today.
const CHINA: i32 = 480;

fn unique_db() -> String {
    format!("fieldbook-test-{}", new_id(js_sys::Date::now() as i64))
}

fn meta(now: i64) -> RecordMeta {
    RecordMeta::new(new_id(now), now)
}

fn lead(name: &str, stage: Stage, grade: Grade, follow_up: &str) -> Lead {
    LeadDraft {
        name: name.into(),
        company: "华东机械".into(),
        phones: "138 0013 8000".into(),
        stage,
        grade,
        next_follow_up: follow_up.into(),
        currency: "CNY".into(),
        expected_value: "12,800.50".into(),
        ..LeadDraft::default()
    }
    .parse(&meta(T0), T0)
    .unwrap()
}

fn visit(lead: &Lead, date: &str, time: &str) -> Visit {
    VisitDraft {
        lead_id: Some(lead.id),
        kind: VisitKind::InPerson,
        date: date.into(),
        time: time.into(),
        notes: "带了样品".into(),
        ..VisitDraft::default()
    }
    .parse(&meta(T0), T0, CHINA)
    .unwrap()
}

fn deal(lead: &Lead, closed_on: &str, amount: &str) -> Deal {
    DealDraft {
        lead_id: Some(lead.id),
        product: "数控机床".into(),
        amount: amount.into(),
        currency: "CNY".into(),
        closed_on: closed_on.into(),
        status: DealStatus::Won,
        after_sales: String::new(),
        logged_by: None,
    }
    .parse(&meta(T0), T0)
    .unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn ids<T: Record>(records: &[T]) -> Vec<Id> {
    records.iter().map(Record::id).collect()
}

#[wasm_bindgen_test]
async fn records_round_trip_through_a_reopened_database() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    assert_eq!(store.version(), SCHEMA_VERSION);
    let l = lead("王小明", Stage::Negotiation, Grade::A, "2025-11-20");
    let v = visit(&l, "2025-11-24", "09:30");
    let d = deal(&l, "2025-11-24", "99800");
    store
        .save(
            &[
                Change::Lead(l.clone()),
                Change::Visit(v.clone()),
                Change::Deal(d.clone()),
            ],
            T0,
        )
        .await
        .unwrap();
    store.close();

    let store = Store::open(&name).await.unwrap();
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.leads, vec![l.clone()]);
    assert_eq!(snapshot.visits, vec![v.clone()]);
    assert_eq!(snapshot.deals, vec![d.clone()]);
    assert_eq!(store.lead(l.id).await.unwrap(), Some(l));
    assert_eq!(store.record::<Visit>(v.id).await.unwrap(), Some(v));
    assert_eq!(store.record::<Deal>(d.id).await.unwrap(), Some(d));
    assert_eq!(store.lead(new_id(T0)).await.unwrap(), None);
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn every_save_numbers_its_outbox_entries_without_gaps() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let mut l = lead("Anna Schmidt", Stage::Prospecting, Grade::B, "");
    let first = store.save(&[Change::Lead(l.clone())], T0).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].seq, 1);
    assert_eq!(first[0].kind, RecordKind::Lead);
    assert!(first[0].fields.contains_key("name"));

    // Saving the same record unchanged writes no mutation.
    let none = store
        .save(&[Change::Lead(l.clone())], T0 + 1)
        .await
        .unwrap();
    assert!(none.is_empty());

    // An edit carries only the fields that changed.
    l.stage = Stage::NeedsAnalysis;
    l.updated_at = T0 + 2;
    let edit = store
        .save(&[Change::Lead(l.clone())], T0 + 2)
        .await
        .unwrap();
    assert_eq!(edit[0].seq, 2);
    assert_eq!(
        edit[0].fields.keys().cloned().collect::<Vec<_>>(),
        vec!["stage".to_string()]
    );
    assert_eq!(edit[0].fields["stage"], serde_json::json!("needs_analysis"));

    // A delete is a tombstone that travels as a field.
    l.mark_deleted(T0 + 3);
    let delete = store
        .save(&[Change::Lead(l.clone())], T0 + 3)
        .await
        .unwrap();
    assert_eq!(delete[0].seq, 3);
    assert_eq!(delete[0].fields["deleted"], serde_json::json!(true));
    assert!(store.lead(l.id).await.unwrap().unwrap().deleted);

    let outbox = store.outbox().await.unwrap();
    assert_eq!(
        outbox.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(outbox.windows(2).all(|w| w[0].stamp < w[1].stamp));
    assert_eq!(outbox, [first, edit, delete].concat());
    assert_eq!(store.outbox_len().await.unwrap(), 3);
    // Three saves of one lead: one record waiting.
    assert_eq!(store.outbox_records().await.unwrap(), 1);

    // The counter survives a reopen.
    store.close();
    let store = Store::open(&name).await.unwrap();
    let v = visit(&l, "2025-11-24", "10:00");
    let next = store.save(&[Change::Visit(v)], T0 + 4).await.unwrap();
    assert_eq!(next[0].seq, 4);
    assert_eq!(store.outbox_len().await.unwrap(), 4);
    assert_eq!(store.outbox_records().await.unwrap(), 2);
    let device = store.device(T0).await.unwrap();
    assert_eq!(device.next_seq, 5);
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_record_and_its_outbox_entry_are_written_together_or_not_at_all() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let kept = lead("李娜", Stage::Prospecting, Grade::C, "");
    store.save(&[Change::Lead(kept.clone())], T0).await.unwrap();
    let device = store.device(T0).await.unwrap();
    assert_eq!(device.next_seq, 2);

    // Put the counter back onto a number the outbox already holds: the outbox write of the next
    // save must then fail, and with it the whole save.
    store
        .put_device_for_test(&DeviceState {
            next_seq: 1,
            ..device.clone()
        })
        .await
        .unwrap();
    let lost = lead("张伟", Stage::Prospecting, Grade::C, "");
    let mut edited = kept.clone();
    edited.notes = "改过的备注".into();
    let result = store
        .save(&[Change::Lead(edited), Change::Lead(lost.clone())], T0 + 1)
        .await;
    assert!(result.is_err(), "the save should have failed");

    assert_eq!(
        store.lead(lost.id).await.unwrap(),
        None,
        "record without outbox entry"
    );
    assert_eq!(
        store.lead(kept.id).await.unwrap(),
        Some(kept),
        "an edit in a failed save must roll back"
    );
    assert_eq!(store.outbox().await.unwrap().len(), 1);
    assert_eq!(
        store.device(T0).await.unwrap().next_seq,
        1,
        "counter rolled back too"
    );
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn index_queries_answer_what_the_screens_ask() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let a = lead("Alice", Stage::Negotiation, Grade::A, "2025-11-20");
    let b = lead("Bob", Stage::Prospecting, Grade::A, "2025-11-24");
    let c = lead("Chen", Stage::Negotiation, Grade::D, "2025-12-01");
    let d = lead("Dora", Stage::Prospecting, Grade::B, "");
    let v1 = visit(&a, "2025-11-24", "15:00");
    let v2 = visit(&a, "2025-11-23", "09:00");
    let v3 = visit(&b, "2025-11-24", "11:00");
    let d1 = deal(&a, "2025-11-24", "100");
    let d2 = deal(&a, "2025-10-01", "200");
    let d3 = deal(&c, "2025-11-01", "300");
    let changes: Vec<Change> = [&a, &b, &c, &d]
        .into_iter()
        .map(|l| Change::Lead(l.clone()))
        .chain(
            [&v1, &v2, &v3]
                .into_iter()
                .map(|v| Change::Visit(v.clone())),
        )
        .chain([&d1, &d2, &d3].into_iter().map(|d| Change::Deal(d.clone())))
        .collect();
    store.save(&changes, T0).await.unwrap();

    let mut negotiating = ids(&store.leads_in_stage(Stage::Negotiation).await.unwrap());
    negotiating.sort();
    let mut expected = vec![a.id, c.id];
    expected.sort();
    assert_eq!(negotiating, expected);

    let grade_a = store.leads_of_grade(Grade::A).await.unwrap();
    assert_eq!(grade_a.len(), 2);
    assert!(grade_a.iter().all(|l| l.grade == Grade::A));

    // Today's agenda on the 24th: Alice overdue (20th), Bob due; Chen later, Dora no date.
    let agenda = store.agenda(date("2025-11-24"), 30).await.unwrap();
    assert_eq!(ids(&agenda.overdue), vec![a.id]);
    assert_eq!(agenda.overdue_total, 1);
    assert_eq!(ids(&agenda.due), vec![b.id]);

    // A lead's visits come oldest first, and only that lead's.
    assert_eq!(
        ids(&store.visits_of_lead(a.id).await.unwrap()),
        vec![v2.id, v1.id]
    );
    assert_eq!(ids(&store.visits_of_lead(b.id).await.unwrap()), vec![v3.id]);
    assert!(store.visits_of_lead(d.id).await.unwrap().is_empty());

    // The 24th in China: 11:00 then 15:00.
    let (start, end) = domain::day_bounds_ms(date("2025-11-24"), CHINA);
    assert_eq!(
        ids(&store.visits_between(start, end).await.unwrap()),
        vec![v3.id, v1.id]
    );

    assert_eq!(
        ids(&store.deals_of_lead(a.id).await.unwrap()),
        vec![d2.id, d1.id]
    );
    assert_eq!(ids(&store.deals_of_lead(c.id).await.unwrap()), vec![d3.id]);

    let mut newer = b.clone();
    newer.notes = "约了下周二".into();
    newer.updated_at = T0 + 10_000;
    store
        .save(&[Change::Lead(newer)], T0 + 10_000)
        .await
        .unwrap();
    assert_eq!(
        ids(&store.leads_updated_since(T0 + 1).await.unwrap()),
        vec![b.id]
    );
    store.close();
    Store::delete(&name).await.unwrap();
}

/// Today's index holds exactly the leads the domain's agenda rules list, stays right when a
/// lead is won, trashed or moved, and reads only the rows Today shows.
#[wasm_bindgen_test]
async fn todays_agenda_index_follows_the_rules() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let today = date("2025-11-24");
    let mut leads = vec![
        lead(
            "甲 overdue oldest",
            Stage::Prospecting,
            Grade::A,
            "2025-11-01",
        ),
        lead("乙 overdue", Stage::Negotiation, Grade::B, "2025-11-10"),
        lead(
            "丙 overdue newest",
            Stage::AfterSales,
            Grade::C,
            "2025-11-23",
        ),
        lead("丁 due", Stage::Presentation, Grade::B, "2025-11-24"),
        lead("戊 later", Stage::Prospecting, Grade::B, "2025-12-01"),
        lead("己 no date", Stage::Prospecting, Grade::B, ""),
        lead("庚 won", Stage::Won, Grade::A, "2025-11-02"),
        lead("辛 lost today", Stage::Lost, Grade::D, "2025-11-24"),
    ];
    let mut trashed = lead("壬 trashed", Stage::Prospecting, Grade::C, "2025-11-03");
    trashed.mark_deleted(T0);
    leads.push(trashed);
    let changes: Vec<Change> = leads.iter().cloned().map(Change::Lead).collect();
    store.save(&changes, T0).await.unwrap();

    let expected = domain::agenda(&leads, today);
    let found = store.agenda(today, 2).await.unwrap();
    assert_eq!(found.overdue_total, expected.overdue.len());
    assert_eq!(found.overdue_total, 3);
    // The two oldest, as the rules order them.
    assert_eq!(
        ids(&found.overdue),
        ids(&expected
            .overdue
            .iter()
            .take(2)
            .map(|l| (*l).clone())
            .collect::<Vec<_>>())
    );
    assert_eq!(ids(&found.due), vec![leads[3].id]);
    // Read back as the records they are (the index key is not part of the lead).
    assert_eq!(found.due[0], leads[3]);
    assert_eq!(
        store.lead(leads[3].id).await.unwrap(),
        Some(leads[3].clone())
    );

    // The overdue lead is won, the due one trashed, the later one moved to today.
    let mut won = leads[0].clone();
    won.stage = Stage::Won;
    let mut gone = leads[3].clone();
    gone.mark_deleted(T0 + 1);
    let mut moved = leads[4].clone();
    moved.next_follow_up = Some(today);
    let changes = [won, gone, moved.clone()].map(Change::Lead);
    store.save(&changes, T0 + 1).await.unwrap();
    let found = store.agenda(today, 30).await.unwrap();
    assert_eq!(found.overdue_total, 2);
    assert_eq!(ids(&found.overdue), vec![leads[1].id, leads[2].id]);
    assert_eq!(ids(&found.due), vec![moved.id]);
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_version_1_database_upgrades_without_losing_data() {
    let name = unique_db();
    // Build the database the way the version-1 app left it: leads, visits and an outbox entry.
    let old_lead = lead("欧阳娜娜", Stage::Presentation, Grade::B, "2025-11-30");
    let old_visit = visit(&old_lead, "2025-11-22", "14:00");
    {
        let db = open_at_version(&name, 1).await.unwrap();
        assert_eq!(db.version() as u32, 1);
        let names: Vec<String> = db.object_store_names().collect();
        assert!(
            !names.contains(&"deals".to_string()),
            "v1 has no deals: {names:?}"
        );
        let tx = db
            .transaction(["leads", "visits", "outbox"])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .unwrap();
        tx.object_store("leads")
            .unwrap()
            .put(as_earlier_versions_wrote(&old_lead))
            .primitive()
            .unwrap()
            .await
            .unwrap();
        tx.object_store("visits")
            .unwrap()
            .put(as_earlier_versions_wrote(&old_visit))
            .primitive()
            .unwrap()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        db.close();
    }

    let store = Store::open(&name).await.unwrap();
    assert_eq!(store.version(), SCHEMA_VERSION);
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.leads, vec![old_lead.clone()]);
    // Version 4 put the old lead on Today's index (due on the 30th) and left no scratch.
    let agenda = store.agenda(date("2025-11-30"), 30).await.unwrap();
    assert_eq!(ids(&agenda.due), vec![old_lead.id]);
    assert_eq!(
        store
            .agenda(date("2025-12-01"), 30)
            .await
            .unwrap()
            .overdue_total,
        1
    );
    assert!(!store.store_names().contains(&"upgrade_scratch".to_string()));
    assert_eq!(snapshot.visits, vec![old_visit.clone()]);
    assert!(snapshot.deals.is_empty());
    // The version-2 indices were built over the records already there.
    assert_eq!(
        ids(&store.leads_updated_since(0).await.unwrap()),
        vec![old_lead.id]
    );
    assert_eq!(
        ids(&store.visits_of_lead(old_lead.id).await.unwrap()),
        vec![old_visit.id]
    );
    // And the new deals store works.
    let d = deal(&old_lead, "2025-11-25", "5000");
    let written = store.save(&[Change::Deal(d.clone())], T0).await.unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(
        ids(&store.deals_of_lead(old_lead.id).await.unwrap()),
        vec![d.id]
    );
    // Version 5's training stores work on the upgraded database too.
    assert!(store.store_names().contains(&"training_items".to_string()));
    assert!(store.training().await.unwrap().items.is_empty());
    store.close();
    Store::delete(&name).await.unwrap();
}

/// A tab still running the old version must not block the new version's upgrade: told by
/// `versionchange`, it closes its connection, the upgrade runs, and the outbox it wrote is
/// still there for the new version to send.
#[wasm_bindgen_test]
async fn an_open_old_tab_gives_way_to_the_next_versions_upgrade_and_the_outbox_survives() {
    use std::cell::Cell;
    use std::rc::Rc;

    let name = unique_db();
    let old_tab = Rc::new(Store::open(&name).await.unwrap());
    let l = lead("钱磊", Stage::Prospecting, Grade::C, "2025-12-01");
    old_tab.save(&[Change::Lead(l.clone())], T0).await.unwrap();
    let asked = Rc::new(Cell::new(false));
    {
        let (tab, asked) = (old_tab.clone(), asked.clone());
        old_tab.on_version_change(move || {
            asked.set(true);
            tab.close();
        });
    }

    // The next build's code opens the database at a higher version.
    let db = open_at_version(&name, SCHEMA_VERSION + 1).await.unwrap();
    assert!(asked.get(), "the old tab was told");
    assert_eq!(db.version() as u32, SCHEMA_VERSION + 1);
    let newer = Store::from_database(db);
    assert_eq!(newer.snapshot().await.unwrap().leads, vec![l]);
    assert_eq!(newer.outbox_len().await.unwrap(), 1);
    newer.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
fn pinyin_initials_come_from_the_browser_collator() {
    let collator = PinyinCollator::new();
    assert_eq!(collator.initials("王小明"), "wxm");
    assert_eq!(collator.initials("欧阳娜娜"), "oynn");
    assert_eq!(collator.initials("诸葛亮"), "zgl");
    assert_eq!(collator.initials("李 Lee"), "llee");
}

/// The browser's pinyin collation orders a book's characters in one sort, and a lead book
/// ranked with it lists Chinese names by pinyin (Han before Latin, as zh collation has them).
#[wasm_bindgen_test]
fn names_sort_by_the_browsers_pinyin() {
    let collator = PinyinCollator::new();
    assert_eq!(
        collator.sort_chars(vec!['张', '安', '李', '王', '陈', 'b', 'A']),
        ['安', '陈', '李', '王', '张', 'A', 'b']
    );
    let mut book = domain::LeadIndex::new();
    for name in ["张伟", "Amy", "安娜", "李娜", "王芳", "陈静"] {
        let lead = lead(name, Stage::Prospecting, Grade::C, "");
        book.upsert(lead, &collator.initials(name));
    }
    book.order_names(|chars| collator.sort_chars(chars));
    let query = domain::LeadQuery {
        sort: domain::LeadSort::Name,
        ..Default::default()
    };
    let names: Vec<&str> = book
        .query(&query, 10)
        .leads
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["安娜", "陈静", "李娜", "王芳", "张伟", "Amy"]);
}

fn stamp(ms: i64) -> domain::Stamp {
    domain::Stamp::new(ms, 0, new_id(T0))
}

/// The server's copy of `lead` at `version`, with `company` changed there.
fn server_copy(lead: &Lead, company: &str, version: u64) -> domain::RecordChange {
    let mut record = serde_json::to_value(lead).unwrap();
    record["company"] = serde_json::json!(company);
    let field_versions = record
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (k.clone(), if k == "company" { version } else { 3 }))
        .collect();
    domain::RecordChange {
        kind: RecordKind::Lead,
        id: lead.id,
        version,
        record,
        field_versions,
        conflicts: Vec::new(),
    }
}

fn page(
    changes: Vec<domain::RecordChange>,
    removed: Vec<domain::RecordRef>,
    more: bool,
    last_applied: u64,
    version: u64,
) -> domain::PullResponse {
    let cursor = changes.last().map(|c| domain::Cursor {
        version,
        kind: c.kind,
        record_id: c.id,
    });
    domain::PullResponse {
        changes,
        removed,
        cursor,
        more,
        last_applied,
        server_stamp: stamp(T0 + 60_000),
        server_version: 0,
        full_resync: false,
        mark: None,
        went_back: false,
    }
}

/// Applies `page` as the answer to a pull asked from the device's cursor.
async fn pull_page(
    store: &Store,
    page: &domain::PullResponse,
    now_ms: i64,
) -> Result<fieldbook::store::PullApplied, fieldbook::store::StoreError> {
    let asked_from = store.sync_state().await.unwrap().cursor;
    store.apply_pull(asked_from, page, now_ms).await
}

/// The push answer that applied every entry up to `last_applied`.
async fn answered(store: &Store, last_applied: u64) {
    let sent = store.outbox_after(0, 100).await.unwrap();
    let answer = domain::PushResponse {
        last_applied,
        rejected: vec![],
    };
    store.record_push(&sent, &answer, T0).await.unwrap();
}

#[wasm_bindgen_test]
async fn pulled_pages_rebuild_records_and_drop_applied_entries_only_on_the_last_page() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let l = lead("王小明", Stage::Prospecting, Grade::B, "");
    store.save(&[Change::Lead(l.clone())], T0).await.unwrap();
    let created = store.outbox_after(0, 10).await.unwrap();
    assert_eq!(created.len(), 1);
    // Never synced: no bases.
    assert!(created[0].base.is_empty());
    answered(&store, 1).await;

    // Page 1 of 2: the server applied #1 and someone changed the company since. The entry
    // stays until the last page, but the copy (read with `last_applied` = 1) already carries
    // it, so the device shows the server's company.
    let applied = pull_page(
        &store,
        &page(vec![server_copy(&l, "东方集团", 5)], vec![], true, 1, 5),
        T0,
    )
    .await
    .unwrap();
    assert_eq!(applied.dropped, 0);
    assert_eq!(store.outbox().await.unwrap().len(), 1);
    assert_eq!(store.lead(l.id).await.unwrap().unwrap().company, "东方集团");
    let state = store.sync_state().await.unwrap();
    assert_eq!(state.acked, 1);
    assert!(state.cursor.is_some());
    assert_eq!(state.last_synced_ms, None);

    // An edit now is based on the versions the device holds from the server (the pending
    // create is in the copy already, so it is not what the person saw in its place).
    let mut renamed = store.lead(l.id).await.unwrap().unwrap();
    renamed.name = "王大明".into();
    store.save(&[Change::Lead(renamed)], T0 + 1).await.unwrap();
    let pending = store.outbox_after(1, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].mutation.seq, 2);
    assert_eq!(pending[0].base.get("name"), Some(&3));

    // The last page drops #1 (applied) but not #2, and rebuilds the lead: the server's
    // company with the pending rename on top.
    let applied = pull_page(&store, &page(vec![], vec![], false, 1, 5), T0 + 2)
        .await
        .unwrap();
    assert_eq!(applied.dropped, 1);
    let left: Vec<u64> = store
        .outbox()
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(left, [2]);
    let shown = store.lead(l.id).await.unwrap().unwrap();
    assert_eq!(
        (shown.name.as_str(), shown.company.as_str()),
        ("王大明", "东方集团")
    );
    // A pull alone never drops an entry no push answer acknowledged (its refusal, if any,
    // would be lost): #2 is carried by nothing yet.
    assert_eq!(
        store.sync_state().await.unwrap().last_synced_ms,
        Some(T0 + 2)
    );
    // The pulled server stamp moved the device clock forward.
    let device = store.device(T0).await.unwrap();
    assert!(device.last_stamp.unwrap().wall_ms >= T0 + 60_000);

    // The lead is reassigned away: it disappears from the device.
    answered(&store, 2).await;
    let gone = domain::RecordRef {
        kind: RecordKind::Lead,
        id: l.id,
    };
    pull_page(&store, &page(vec![], vec![gone], false, 2, 6), T0 + 3)
        .await
        .unwrap();
    assert_eq!(store.lead(l.id).await.unwrap(), None);
    assert!(store.field_versions(l.id).await.unwrap().is_empty());
    assert!(store.outbox().await.unwrap().is_empty());
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn conflicts_and_refusals_are_kept_until_dealt_with() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let l = lead("李娜", Stage::Prospecting, Grade::B, "");
    store.save(&[Change::Lead(l.clone())], T0).await.unwrap();
    answered(&store, 1).await;

    let mut change = server_copy(&l, "星辰超市", 7);
    let conflict = domain::Conflict {
        id: new_id(T0),
        kind: RecordKind::Lead,
        record_id: l.id,
        field: "company".into(),
        lost_value: serde_json::json!("华东机械"),
        lost_stamp: stamp(T0),
        lost_by: None,
        kept_value: serde_json::json!("星辰超市"),
        kept_stamp: stamp(T0 + 5),
        at_version: 7,
        resolved: false,
    };
    change.conflicts.push(conflict.clone());
    pull_page(&store, &page(vec![change], vec![], false, 1, 7), T0)
        .await
        .unwrap();
    assert_eq!(store.conflicts(&[]).await.unwrap(), vec![conflict.clone()]);
    store.queue_resolution(conflict.id).await.unwrap();
    let resolved = store.sync_state().await.unwrap().resolved;
    assert_eq!(resolved, vec![conflict.id]);
    assert!(store.conflicts(&resolved).await.unwrap().is_empty());
    // Once the server marks it resolved, the record leaves the index of open conflicts.
    let mut settled = server_copy(&l, "星辰超市", 8);
    settled.conflicts.push(domain::Conflict {
        resolved: true,
        ..conflict.clone()
    });
    pull_page(&store, &page(vec![settled], vec![], false, 1, 8), T0)
        .await
        .unwrap();
    assert!(store.conflicts(&[]).await.unwrap().is_empty());
    store.resolution_sent(conflict.id).await.unwrap();
    assert!(store.sync_state().await.unwrap().resolved.is_empty());

    // A refused edit is kept as a note with what was typed.
    let mut edited = store.lead(l.id).await.unwrap().unwrap();
    edited.title = "采购经理".into();
    store.save(&[Change::Lead(edited)], T0 + 1).await.unwrap();
    let sent = store.outbox_after(1, 10).await.unwrap();
    let answer = domain::PushResponse {
        last_applied: 2,
        rejected: vec![domain::Rejection {
            seq: 2,
            record_id: l.id,
            reason: domain::RejectReason::Forbidden,
        }],
    };
    store.record_push(&sent, &answer, T0 + 2).await.unwrap();
    let notes = store.rejections().await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].reason, domain::RejectReason::Forbidden);
    assert!(notes[0].fields.contains("采购经理"));
    assert_eq!(store.sync_state().await.unwrap().acked, 2);
    // The push answer alone drops nothing.
    assert_eq!(store.outbox().await.unwrap().len(), 1);
    store.dismiss_rejection(2).await.unwrap();
    assert!(store.rejections().await.unwrap().is_empty());
    store.close();
    Store::delete(&name).await.unwrap();
}

/// A form opened on a lead, a pull bringing the manager's new grade while it is open, then
/// the rep saving a new phone: only the phone is written (based on the version the form
/// showed), and the device shows both. Saving the grade the form showed over the pulled one
/// is sent with the old base, so the server sees two people and logs a conflict.
#[wasm_bindgen_test]
async fn a_form_open_across_a_pull_keeps_what_the_pull_brought() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let l = lead("张伟", Stage::Prospecting, Grade::C, "");
    store.save(&[Change::Lead(l.clone())], T0).await.unwrap();
    answered(&store, 1).await;
    pull_page(
        &store,
        &page(vec![server_copy(&l, "", 3)], vec![], false, 1, 3),
        T0,
    )
    .await
    .unwrap();
    assert!(store.outbox().await.unwrap().is_empty());

    // The rep opens the form (what the app's forms do: the lead as shown, bases read now).
    let shown = store.lead(l.id).await.unwrap().unwrap();
    let session = store.edit_session(RecordKind::Lead, l.id).await.unwrap();
    assert_eq!(session.bases.get("grade"), Some(&3));

    // The manager's grade A arrives at version 7 while the form is open.
    let mut managers = server_copy(&shown, "", 3);
    managers.record["grade"] = serde_json::json!("a");
    managers.field_versions.insert("grade".into(), 7);
    managers.version = 7;
    pull_page(&store, &page(vec![managers], vec![], false, 1, 7), T0 + 1)
        .await
        .unwrap();

    // The rep saves the form as it was opened, with a phone added.
    let mut typed = shown.clone();
    typed.phones = vec![domain::Phone::parse("13912345678").unwrap()];
    let edit = Edit {
        change: Change::Lead(typed.clone()),
        session: Some(session.clone()),
    };
    store.save_edits(&[edit], T0 + 2).await.unwrap();
    let sent = store.outbox_after(1, 10).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].mutation.fields.keys().collect::<Vec<_>>(),
        ["phones"],
        "the grade the form showed is not written back"
    );
    assert_eq!(sent[0].base.get("phones"), Some(&3));
    let now = store.lead(l.id).await.unwrap().unwrap();
    assert_eq!(now.grade, Grade::A, "the manager's grade stays");
    assert_eq!(now.phones, typed.phones);

    // The same field: the rep's form (still showing C at version 3) sets grade B.
    let mut regraded = shown;
    regraded.grade = Grade::B;
    let edit = Edit {
        change: Change::Lead(regraded),
        session: Some(session),
    };
    store.save_edits(&[edit], T0 + 3).await.unwrap();
    let sent = store.outbox_after(2, 10).await.unwrap();
    assert_eq!(
        sent[0].mutation.fields.keys().collect::<Vec<_>>(),
        ["grade"]
    );
    assert_eq!(
        sent[0].to_push().fields["grade"].base,
        Some(3),
        "based on what the form showed, so the server logs a conflict instead of a silent overwrite"
    );
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn the_lead_book_reads_in_chunks_and_by_id() {
    let store = Store::open(&unique_db()).await.unwrap();
    let leads: Vec<Lead> = ["王小明", "张伟", "陈一", "Maria Rossi", "李四"]
        .iter()
        .map(|name| lead(name, Stage::Prospecting, Grade::B, "2025-11-20"))
        .collect();
    let changes: Vec<Change> = leads.iter().cloned().map(Change::Lead).collect();
    store.save(&changes, T0).await.unwrap();

    // Chunks of two, each after the last id of the one before, give every lead once in id
    // order.
    let mut read = Vec::new();
    let mut after = None;
    loop {
        let chunk = store.leads_after(after, 2).await.unwrap();
        assert!(chunk.len() <= 2);
        after = chunk.last().map(|l| l.id);
        let done = chunk.len() < 2;
        read.extend(chunk);
        if done {
            break;
        }
    }
    let mut expected = leads.clone();
    expected.sort_by_key(|l| l.id);
    assert_eq!(read, expected);

    let unknown = new_id(T0);
    let found = store
        .leads_by_id(&[leads[2].id, unknown, leads[0].id])
        .await
        .unwrap();
    assert_eq!(
        found,
        vec![
            (leads[2].id, Some(leads[2].clone())),
            (unknown, None),
            (leads[0].id, Some(leads[0].clone())),
        ]
    );
}

#[wasm_bindgen_test]
fn remembered_initials_are_the_collators() {
    let collator = PinyinCollator::new();
    for name in ["王小明", "张伟", "王伟", "陈一 Chen", "小明"] {
        let fresh = domain::pinyin_initials(name, |a, b| collator.compare(a, b));
        // Asked twice: the second answer comes from what the collator remembered.
        assert_eq!(collator.initials(name), fresh);
        assert_eq!(collator.initials(name), fresh);
    }
    assert_eq!(collator.initials("王小明"), "wxm");
}

/// A record as earlier versions of the app stored it: through serde-wasm-bindgen, maps as
/// objects (indexed_db_futures' serde path).
fn as_earlier_versions_wrote<T: serde::Serialize>(value: &T) -> wasm_bindgen::JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .unwrap()
}

fn training_item(title: &str) -> domain::TrainingItem {
    domain::ItemDraft {
        title: title.into(),
        kind: domain::ItemKind::Script,
        body: "## 开场\n\n先问需求。".into(),
        assign_team: true,
        ..domain::ItemDraft::default()
    }
    .parse(&meta(T0), T0)
    .unwrap()
    .publish(T0)
}

#[wasm_bindgen_test]
async fn training_records_save_and_read_back_with_their_outbox_entries() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let item = training_item("报价话术");
    let me = RecordMeta {
        owner: Some(new_id(T0)),
        ..meta(T0)
    };
    let mut record = domain::TrainingRecord::for_item(&me, item.id);
    record.opened_at = Some(T0);
    record.read_version = 1;
    let quiz = domain::Quiz {
        pass_mark: 50,
        questions: vec![domain::Question {
            kind: domain::QuestionKind::TrueFalse,
            prompt: "先报价再问需求？".into(),
            options: vec!["对".into(), "错".into()],
            correct: vec![1],
            explanation: "先问需求。".into(),
        }],
    };
    let attempt =
        domain::QuizAttempt::of_quiz(&meta(T0 + 1), item.id, 1, &quiz, vec![vec![1]], T0 + 1);
    assert!(attempt.passed);
    let written = store
        .save(
            &[
                Change::TrainingItem(item.clone()),
                Change::TrainingRecord(record.clone()),
                Change::QuizAttempt(attempt.clone()),
            ],
            T0 + 2,
        )
        .await
        .unwrap();
    let kinds: Vec<RecordKind> = written.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::TrainingItem,
            RecordKind::TrainingRecord,
            RecordKind::QuizAttempt
        ]
    );
    let book = store.training().await.unwrap();
    assert_eq!(book.items, vec![item.clone()]);
    assert_eq!(book.records, vec![record.clone()]);
    assert_eq!(book.attempts, vec![attempt]);
    assert_eq!(
        book.record_of_item(me.owner.unwrap(), item.id),
        Some(&record)
    );
    // The subject index holds the item id beside the record.
    let tx = store_raw(&name).await;
    let count = tx
        .transaction("training_records")
        .build()
        .unwrap()
        .object_store("training_records")
        .unwrap()
        .index("by_subject")
        .unwrap()
        .count()
        .with_query::<wasm_bindgen::JsValue, _>(wasm_bindgen::JsValue::from_str(
            &item.id.to_string(),
        ))
        .primitive()
        .unwrap()
        .await
        .unwrap();
    assert_eq!(count, 1);
    tx.close();
    store.close();
    Store::delete(&name).await.unwrap();
}

async fn store_raw(name: &str) -> indexed_db_futures::database::Database {
    open_at_version(name, SCHEMA_VERSION).await.unwrap()
}

#[wasm_bindgen_test]
async fn attachment_bytes_are_kept_as_blobs_until_sent() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let bytes = js_sys::Uint8Array::from(&b"\x89PNG fake image bytes"[..]);
    let parts = js_sys::Array::of1(&bytes);
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
    let sha = fieldbook::platform::sha256_of(&blob).await.unwrap();
    // The browser's digest, the same for the same bytes, and SHA-256's (the empty input's
    // well-known digest).
    assert_eq!(sha.as_str().len(), 64);
    let again = fieldbook::platform::sha256_of(&blob).await.unwrap();
    assert_eq!(sha, again);
    let empty = web_sys::Blob::new().unwrap();
    assert_eq!(
        fieldbook::platform::sha256_of(&empty)
            .await
            .unwrap()
            .as_str(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );

    store
        .put_blob(&sha, "image/png", &blob, true)
        .await
        .unwrap();
    let pending = store.pending_blobs().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].sha256, sha);
    assert_eq!(pending[0].mime, "image/png");
    assert_eq!(pending[0].size, blob.size() as u64);
    let other = domain::Sha256::from_bytes(&[1; 32]);
    assert_eq!(
        store
            .blobs_held(&[sha.clone(), other.clone()])
            .await
            .unwrap(),
        vec![true, false]
    );
    let back = store.blob(&sha).await.unwrap().unwrap();
    assert_eq!(back.size(), blob.size());
    assert!(store.blob(&other).await.unwrap().is_none());

    store.blob_sent(&sha).await.unwrap();
    assert!(store.pending_blobs().await.unwrap().is_empty());
    assert!(
        store.blob(&sha).await.unwrap().is_some(),
        "sent bytes stay on the device"
    );
    // Bytes that came from the server are never pending.
    store
        .put_blob(&other, "application/pdf", &blob, false)
        .await
        .unwrap();
    assert!(store.pending_blobs().await.unwrap().is_empty());
    store.close();
    Store::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn report_reads_take_one_period_through_the_indices_and_only_the_fields_they_need() {
    let name = unique_db();
    let store = Store::open(&name).await.unwrap();
    let l = lead("周报客户", Stage::Negotiation, Grade::A, "");
    // Visits on the last evening of November and the first morning of December, Shanghai.
    let late = visit(&l, "2025-11-30", "23:30");
    let early = visit(&l, "2025-12-01", "08:00");
    let mut gone = visit(&l, "2025-12-02", "10:00");
    gone.deleted = true;
    let nov_deal = deal(&l, "2025-11-30", "500");
    let dec_deal = deal(&l, "2025-12-01", "700");
    let period = domain::Period::parse("2025-12").unwrap();
    let target = domain::TargetDraft {
        rep: None,
        period,
        metric: domain::Metric::Visits,
        value: "20".into(),
        currency: domain::Currency::CNY,
    }
    .parse(
        &RecordMeta {
            team: Some(l.id),
            ..RecordMeta::new(
                domain::Target::id_for(l.id, period, domain::Metric::Visits),
                T0,
            )
        },
        T0,
    )
    .unwrap();
    let mut moved = l.clone();
    moved.stage = Stage::Won;
    let change = domain::StageChange::between(
        meta(T0),
        Some(&l),
        &moved,
        Some(domain::StageReason::Price),
        early.started_at,
    )
    .unwrap();
    store
        .save(
            &[
                Change::Lead(l.clone()),
                Change::Visit(late.clone()),
                Change::Visit(early.clone()),
                Change::Visit(gone),
                Change::Deal(nov_deal),
                Change::Deal(dec_deal.clone()),
                Change::Target(target.clone()),
                Change::StageChange(change.clone()),
            ],
            T0,
        )
        .await
        .unwrap();

    let data = store
        .report_data((period.first_day(), period.end()), period.bounds_ms(CHINA))
        .await
        .unwrap();
    assert_eq!(data.targets, vec![target]);
    assert_eq!(ids(&data.deals), vec![dec_deal.id], "December's deal only");
    // Only December's live visit; 23:30 on 30 November in Shanghai stays in November.
    let visits: Vec<Id> = data.visits.iter().map(|v| v.id).collect();
    assert_eq!(visits, vec![early.id]);
    let row = &data.visits[0];
    assert_eq!(
        (row.lead_id, row.kind, row.started_at),
        (l.id, VisitKind::InPerson, early.started_at)
    );
    assert_eq!(data.changes, vec![change.clone()]);
    assert_eq!(
        store.stage_changes_of_lead(l.id).await.unwrap(),
        vec![change]
    );
    let facts = data.facts(std::iter::once(&l), Some(l.id), CHINA);
    let actuals = facts.actuals(period, None);
    assert_eq!((actuals.visits, actuals.deals), (1, 1));
    assert_eq!(actuals.amount[&domain::Currency::CNY], 70_000);

    let november = domain::Period::parse("2025-11").unwrap();
    let data = store
        .report_data(
            (november.first_day(), november.end()),
            november.bounds_ms(CHINA),
        )
        .await
        .unwrap();
    assert_eq!(
        data.visits.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![late.id]
    );
    assert_eq!(data.deals.len(), 1);
    assert!(data.changes.is_empty());
    store.close();
    Store::delete(&name).await.unwrap();
}
