//! `serve --demo`: a team to try Fieldbook with — a sales manager and two reps, each rep with
//! a book of leads (Chinese and English), visits and deals dated around today, and the
//! manager's training library ([`training`]): material in both languages published to the
//! team, a quiz, and a role-play session.
//!
//! The records go in through the real sync push, as a device of each rep (and one of the
//! manager for the library), so they are exactly what a phone would have sent: validated by
//! the forms' parsers, stamped, versioned, visible to whom they reach. Seeding runs once: a
//! database that already has the demo team is left alone.

mod training;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use domain::{
    changed_fields, DealDraft, DealStatus, Grade, Hlc, Id, Intent, LeadDraft, Mutation,
    PushRequest, Record, RecordKind, RecordMeta, Source, Stage, ValidationErrors, VisitDraft,
    VisitKind, PROTOCOL_VERSION,
};

use crate::accounts::{self, AccountError, NewUser};
use crate::secrets;
use crate::storage::{PushOutcome, Role, Storage, StorageError, User};

/// The demo team's name.
pub const TEAM: &str = "Demo team 演示团队";

/// China Standard Time: the demo's dates are local to it.
const OFFSET_MIN: i32 = 480;

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Creating the team or a user failed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// No randomness for ids.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    /// A sample record does not pass the forms' validation (a bug in this file).
    #[error("demo record is invalid: {0:?}")]
    Invalid(ValidationErrors),
    /// A sample record could not be turned into fields.
    #[error("demo record: {0}")]
    Json(#[from] serde_json::Error),
    /// The push of the sample records was refused.
    #[error("the server refused the demo data")]
    Refused,
    /// A file of the training library does not read (a bug in `demo/training/`).
    #[error("demo training content {file} is malformed: {detail}")]
    Content {
        /// The file.
        file: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

/// A created login and its one-time password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// The sign-in name.
    pub login: String,
    /// The name colleagues see.
    pub display_name: String,
    /// Manager or rep.
    pub role: Role,
    /// The one-time password, shown once.
    pub password: String,
}

/// One lead of the demo book, with what happened with it.
struct DemoLead {
    name: &'static str,
    company: &'static str,
    title: &'static str,
    phones: &'static str,
    source: Source,
    grade: Grade,
    stage: Stage,
    intent: Option<Intent>,
    value: &'static str,
    currency: &'static str,
    /// Days from today to the next follow-up (negative: overdue).
    follow_up_in: Option<i64>,
    tags: &'static str,
    needs: &'static str,
    /// Days ago and notes of visits.
    visits: &'static [(i64, VisitKind, &'static str)],
    /// A deal: product, amount, days ago.
    deal: Option<(&'static str, &'static str, i64)>,
}

const BOOK_ONE: &[DemoLead] = &[
    DemoLead {
        name: "王建国",
        company: "华东机械制造有限公司",
        title: "采购部经理",
        phones: "13812345678",
        source: Source::TradeShow,
        grade: Grade::A,
        stage: Stage::Negotiation,
        intent: Some(Intent::High),
        value: "280000",
        currency: "CNY",
        follow_up_in: Some(-1),
        tags: "重点客户, 华东",
        needs: "三条产线的设备维护管理",
        visits: &[
            (12, VisitKind::InPerson, "参观工厂，了解现有设备情况"),
            (3, VisitKind::Demo, "产品演示，对报表功能很感兴趣"),
        ],
        deal: None,
    },
    DemoLead {
        name: "李娜",
        company: "星辰连锁超市",
        title: "运营总监",
        phones: "13987654321",
        source: Source::Referral,
        grade: Grade::B,
        stage: Stage::NeedsAnalysis,
        intent: Some(Intent::Medium),
        value: "96000",
        currency: "CNY",
        follow_up_in: Some(0),
        tags: "零售",
        needs: "门店巡检",
        visits: &[(5, VisitKind::PhoneCall, "电话沟通需求，约下周上门")],
        deal: None,
    },
    DemoLead {
        name: "Emily Carter",
        company: "Harbor Logistics",
        title: "Operations Lead",
        phones: "+1 415 555 0142",
        source: Source::Website,
        grade: Grade::B,
        stage: Stage::Presentation,
        intent: Some(Intent::Medium),
        value: "18000",
        currency: "USD",
        follow_up_in: Some(2),
        tags: "logistics",
        needs: "Offline visit logs for drivers",
        visits: &[(8, VisitKind::VideoMeeting, "Walked through the mobile app")],
        deal: None,
    },
    DemoLead {
        name: "陈伟",
        company: "蓝海餐饮集团",
        title: "总经理",
        phones: "13700001111",
        source: Source::ColdVisit,
        grade: Grade::A,
        stage: Stage::Won,
        intent: Some(Intent::High),
        value: "150000",
        currency: "CNY",
        follow_up_in: Some(14),
        tags: "餐饮, 老客户",
        needs: "",
        visits: &[(30, VisitKind::InPerson, "签约前最后一次拜访")],
        deal: Some(("年度服务套餐", "150000", 20)),
    },
    DemoLead {
        name: "赵敏",
        company: "",
        title: "",
        phones: "15011112222",
        source: Source::WeChat,
        grade: Grade::C,
        stage: Stage::Prospecting,
        intent: None,
        value: "",
        currency: "CNY",
        follow_up_in: Some(5),
        tags: "",
        needs: "",
        visits: &[],
        deal: None,
    },
];

const BOOK_TWO: &[DemoLead] = &[
    DemoLead {
        name: "刘洋",
        company: "金穗农业科技",
        title: "董事长",
        phones: "13566667777",
        source: Source::TradeShow,
        grade: Grade::A,
        stage: Stage::Presentation,
        intent: Some(Intent::High),
        value: "420000",
        currency: "CNY",
        follow_up_in: Some(-3),
        tags: "重点客户",
        needs: "经销商网络的拜访管理",
        visits: &[(10, VisitKind::Event, "会销现场认识，留下联系方式")],
        deal: None,
    },
    DemoLead {
        name: "James Wong",
        company: "Pacific Dental Supplies",
        title: "Regional Manager",
        phones: "+852 5555 0199",
        source: Source::Referral,
        grade: Grade::B,
        stage: Stage::AfterSales,
        intent: Some(Intent::High),
        value: "32000",
        currency: "USD",
        follow_up_in: Some(30),
        tags: "dental, key account",
        needs: "",
        visits: &[(45, VisitKind::InPerson, "Contract signed")],
        deal: Some(("Team licence, 40 seats", "32000", 40)),
    },
    DemoLead {
        name: "孙丽",
        company: "悦家家居",
        title: "店长",
        phones: "18622223333",
        source: Source::PhoneInquiry,
        grade: Grade::D,
        stage: Stage::Lost,
        intent: Some(Intent::Low),
        value: "",
        currency: "CNY",
        follow_up_in: None,
        tags: "",
        needs: "",
        visits: &[(60, VisitKind::PhoneCall, "预算不足，暂不考虑")],
        deal: None,
    },
];

/// Seeds the demo team unless it exists; returns the logins created (empty when it did).
pub async fn seed(storage: &dyn Storage, now: DateTime<Utc>) -> Result<Vec<DemoLogin>, DemoError> {
    if storage.team_by_name(TEAM).await?.is_some() {
        return Ok(Vec::new());
    }
    accounts::add_team(storage, TEAM, now).await?;
    let people = [
        ("demo.manager", "张经理 Manager Zhang", Role::Manager),
        ("demo.rep1", "李明 Li Ming", Role::Rep),
        ("demo.rep2", "Sarah Chen 陈莎", Role::Rep),
    ];
    let mut logins = Vec::new();
    let mut reps = Vec::new();
    let mut managers = Vec::new();
    for (login, name, role) in people {
        let (user, password) = accounts::add_user(
            storage,
            NewUser {
                login: login.into(),
                display_name: name.into(),
                role,
                team: Some(TEAM.into()),
            },
            now,
        )
        .await?;
        logins.push(DemoLogin {
            login: user.login.clone(),
            display_name: user.display_name.clone(),
            role,
            password,
        });
        match role {
            Role::Rep => reps.push(user),
            Role::Manager => managers.push(user),
            Role::Admin => {}
        }
    }
    for (user, book) in reps.iter().zip([BOOK_ONE, BOOK_TWO]) {
        push_book(storage, user, book, now).await?;
    }
    for manager in &managers {
        push_library(storage, manager, &reps, now).await?;
    }
    Ok(logins)
}

/// A new record as one mutation's kind, id and fields.
fn created<T: Record>(
    record: &T,
) -> Result<(RecordKind, Id, BTreeMap<String, serde_json::Value>), DemoError> {
    Ok((T::KIND, record.id(), changed_fields(None, record)?))
}

/// Sends one rep's book as the first mutations of a seeding device.
async fn push_book(
    storage: &dyn Storage,
    user: &User,
    book: &[DemoLead],
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    let now_ms = now.timestamp_millis();
    let today = domain::today_in_offset(now_ms, OFFSET_MIN);
    let day = |offset: i64| {
        (today + Duration::days(offset))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut pushes = Vec::new();
    for lead in book {
        let lead_id = Id::from_uuid(secrets::new_id(now)?);
        let draft = LeadDraft {
            name: lead.name.into(),
            company: lead.company.into(),
            title: lead.title.into(),
            phones: lead.phones.into(),
            source: lead.source,
            grade: lead.grade,
            stage: lead.stage,
            intent: lead.intent,
            needs: lead.needs.into(),
            expected_value: lead.value.into(),
            currency: lead.currency.into(),
            next_follow_up: lead.follow_up_in.map(day).unwrap_or_default(),
            tags: lead.tags.into(),
            ..LeadDraft::default()
        };
        let record = draft
            .parse(&RecordMeta::new(lead_id, now_ms), now_ms)
            .map_err(DemoError::Invalid)?;
        pushes.push(created(&record)?);
        for (ago, kind, notes) in lead.visits {
            let visit_id = Id::from_uuid(secrets::new_id(now)?);
            let draft = VisitDraft {
                lead_id: Some(lead_id),
                kind: *kind,
                date: day(-ago),
                time: "10:00".into(),
                duration_min: "45".into(),
                notes: (*notes).into(),
                ..VisitDraft::default()
            };
            let record = draft
                .parse(&RecordMeta::new(visit_id, now_ms), now_ms, OFFSET_MIN)
                .map_err(DemoError::Invalid)?;
            pushes.push(created(&record)?);
        }
        if let Some((product, amount, ago)) = lead.deal {
            let deal_id = Id::from_uuid(secrets::new_id(now)?);
            let draft = DealDraft {
                lead_id: Some(lead_id),
                product: product.into(),
                amount: amount.into(),
                currency: lead.currency.into(),
                closed_on: day(-ago),
                status: DealStatus::default(),
                ..DealDraft::default()
            };
            let record = draft
                .parse(&RecordMeta::new(deal_id, now_ms), now_ms)
                .map_err(DemoError::Invalid)?;
            pushes.push(created(&record)?);
        }
    }
    push_as(storage, user, pushes, now).await
}

/// Sends the training library as the first mutations of a manager's seeding device.
async fn push_library(
    storage: &dyn Storage,
    manager: &User,
    reps: &[User],
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    let invited: Vec<Id> = reps.iter().map(|rep| Id::from_uuid(rep.id)).collect();
    let library = training::library(now.timestamp_millis(), &invited, || {
        Ok(Id::from_uuid(secrets::new_id(now)?))
    })?;
    let mut pushes = Vec::new();
    for (_, item) in &library.items {
        pushes.push(created(item)?);
    }
    pushes.push(created(&library.session)?);
    push_as(storage, manager, pushes, now).await
}

/// Pushes `pushes` for `user` as the first mutations of a new device, in one request.
async fn push_as(
    storage: &dyn Storage,
    user: &User,
    pushes: Vec<(RecordKind, Id, BTreeMap<String, serde_json::Value>)>,
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    let now_ms = now.timestamp_millis();
    let client = Id::from_uuid(secrets::new_id(now)?);
    let mut hlc = Hlc::new(client);
    let request = PushRequest {
        client_id: client,
        protocol: PROTOCOL_VERSION,
        mutations: pushes
            .into_iter()
            .enumerate()
            .map(|(i, (kind, record_id, fields))| {
                Mutation {
                    seq: i as u64 + 1,
                    kind,
                    record_id,
                    fields,
                    stamp: hlc.tick(now_ms),
                }
                .to_push(&Default::default())
            })
            .collect(),
        resume_after: None,
        known_applied: 0,
    };
    match storage
        .push(
            user,
            &request,
            now_ms,
            crate::config::DEFAULT_MAX_RECORDS_PER_USER,
        )
        .await?
    {
        PushOutcome::Applied(response) if response.rejected.is_empty() => Ok(()),
        _ => Err(DemoError::Refused),
    }
}
