//! Leads (客户): a customer or prospect, the form that edits one, the contact links on its
//! detail page, and the follow-up agenda built from all of them.
//!
//! The pipeline follows the sales guide: 潜在客户开发 → 需求分析 → 产品介绍和演示 →
//! 价格谈判 → 成交 / 流失 → 售后服务.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::value::{format_date, join_tags, percent_encode};
use crate::{
    format_plain, optional_text, parse_amount, parse_optional_date, parse_tags, required_text,
    Currency, Email, GeoPoint, Id, Invalid, Money, Phone, RecordMeta, ValidationErrors,
};

choice_enum! {
    /// Where a lead is in the sales pipeline.
    #[derive(Default)]
    pub enum Stage in "stage" {
        /// 潜在客户开发: found, not yet qualified.
        #[default]
        Prospecting => "prospecting",
        /// 客户需求分析: learning what they need.
        NeedsAnalysis => "needs_analysis",
        /// 产品介绍和演示: presenting and demonstrating.
        Presentation => "presentation",
        /// 价格谈判: negotiating price and terms.
        Negotiation => "negotiation",
        /// 成交: the sale closed.
        Won => "won",
        /// 流失: the sale was lost.
        Lost => "lost",
        /// 售后服务: a customer being looked after after the sale.
        AfterSales => "after_sales",
    }
}

impl Stage {
    /// Whether the lead is still being sold to (not won, lost or in after-sales).
    pub fn is_open(&self) -> bool {
        !matches!(self, Stage::Won | Stage::Lost | Stage::AfterSales)
    }
}

choice_enum! {
    /// 客户分级: how valuable the customer is, A highest.
    #[derive(Default)]
    pub enum Grade in "grade" {
        /// The most valuable customers.
        A => "a",
        /// Valuable customers.
        B => "b",
        /// Ordinary customers.
        #[default]
        C => "c",
        /// Customers not worth much effort.
        D => "d",
    }
}

choice_enum! {
    /// The channel the lead came from (客户信息的获取).
    #[derive(Default)]
    pub enum Source in "source" {
        /// The company website.
        Website => "website",
        /// An inbound phone inquiry.
        PhoneInquiry => "phone_inquiry",
        /// WeChat.
        WeChat => "wechat",
        /// A QQ group.
        QqGroup => "qq_group",
        /// A trade show.
        TradeShow => "trade_show",
        /// 转介绍: introduced by another customer.
        Referral => "referral",
        /// 陌生拜访: a cold visit.
        ColdVisit => "cold_visit",
        /// 会销: a conference sale event.
        ConferenceSale => "conference_sale",
        /// Anything else.
        #[default]
        Other => "other",
    }
}

choice_enum! {
    /// 购买意向: how keen the lead is to buy.
    pub enum Intent in "intent" {
        /// Ready to buy.
        High => "high",
        /// Interested.
        Medium => "medium",
        /// Barely interested.
        Low => "low",
    }
}

/// A customer or prospect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// The record id.
    pub id: Id,
    /// The person's name (required).
    pub name: String,
    /// Their company.
    #[serde(default)]
    pub company: String,
    /// Their job title.
    #[serde(default)]
    pub title: String,
    /// Phone numbers, first is the main one.
    #[serde(default)]
    pub phones: Vec<Phone>,
    /// WeChat id.
    #[serde(default)]
    pub wechat: String,
    /// Email address.
    #[serde(default)]
    pub email: Option<Email>,
    /// Postal or street address.
    #[serde(default)]
    pub address: String,
    /// Where they are, when known.
    #[serde(default)]
    pub location: Option<GeoPoint>,
    /// Where the lead came from.
    #[serde(default)]
    pub source: Source,
    /// The lead who referred this one (转介绍).
    #[serde(default)]
    pub referred_by: Option<Id>,
    /// 客户分级.
    #[serde(default)]
    pub grade: Grade,
    /// Pipeline stage.
    #[serde(default)]
    pub stage: Stage,
    /// What they need (需求).
    #[serde(default)]
    pub needs: String,
    /// Purchase intent, if assessed.
    #[serde(default)]
    pub intent: Option<Intent>,
    /// The expected deal value.
    #[serde(default)]
    pub expected_value: Option<Money>,
    /// When the deal is expected to close.
    #[serde(default)]
    pub expected_close: Option<NaiveDate>,
    /// When to follow up next.
    #[serde(default)]
    pub next_follow_up: Option<NaiveDate>,
    /// 跟进策略: how to follow up.
    #[serde(default)]
    pub strategy: String,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// The user who owns the lead.
    #[serde(default)]
    pub owner: Option<Id>,
    /// The team the lead belongs to.
    #[serde(default)]
    pub team: Option<Id>,
    /// Creation time, unix ms.
    #[serde(default)]
    pub created_at: i64,
    /// Last edit time, unix ms.
    #[serde(default)]
    pub updated_at: i64,
    /// Tombstone: the lead is in the trash.
    #[serde(default)]
    pub deleted: bool,
}

/// A way to reach a lead, as a link for its detail page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactLink {
    /// A `tel:` link.
    Call(String),
    /// An `sms:` link.
    Sms(String),
    /// A `mailto:` link.
    Mail(String),
    /// A map link (OpenStreetMap).
    Map(String),
}

impl ContactLink {
    /// The link target.
    pub fn uri(&self) -> &str {
        match self {
            ContactLink::Call(uri)
            | ContactLink::Sms(uri)
            | ContactLink::Mail(uri)
            | ContactLink::Map(uri) => uri,
        }
    }
}

impl Lead {
    /// Links to call, text, mail and find the lead: a call and a text link per phone, then
    /// mail, then a map (the exact location when known, else a search for the address).
    pub fn contact_links(&self) -> Vec<ContactLink> {
        let mut links = Vec::new();
        for phone in &self.phones {
            links.push(ContactLink::Call(phone.tel_uri()));
            if let Some(sms) = phone.sms_uri() {
                links.push(ContactLink::Sms(sms));
            }
        }
        if let Some(email) = &self.email {
            links.push(ContactLink::Mail(email.mailto_uri()));
        }
        if let Some(point) = &self.location {
            links.push(ContactLink::Map(point.map_url()));
        } else if !self.address.trim().is_empty() {
            links.push(ContactLink::Map(format!(
                "https://www.openstreetmap.org/search?query={}",
                percent_encode(self.address.trim(), b"")
            )));
        }
        links
    }

    /// Whether the lead still gets follow-ups: not deleted, not won or lost. After-sales
    /// customers are followed up too (售后服务).
    fn follows_up(&self) -> bool {
        !self.deleted && !matches!(self.stage, Stage::Won | Stage::Lost)
    }

    /// The follow-up date Today lists the lead under: the next follow-up of a lead that
    /// still gets follow-ups, else none. Overdue is `agenda_on < today`, due is
    /// `agenda_on == today`; the device stores it beside the lead (see
    /// [`crate::Record::index_keys`]) so one index holds only the leads Today may list.
    pub fn agenda_on(&self) -> Option<NaiveDate> {
        self.next_follow_up.filter(|_| self.follows_up())
    }

    /// Whether the next follow-up was due before `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.follows_up() && self.next_follow_up.is_some_and(|d| d < today)
    }

    /// Whether the next follow-up is `today`.
    pub fn is_due(&self, today: NaiveDate) -> bool {
        self.follows_up() && self.next_follow_up == Some(today)
    }

    /// The id, owner, team and creation time, for re-parsing an edited draft.
    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id,
            owner: self.owner,
            team: self.team,
            created_at: self.created_at,
        }
    }
}

/// The follow-ups for the Today screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Agenda<'a> {
    /// Leads whose follow-up date has passed, the longest overdue first.
    pub overdue: Vec<&'a Lead>,
    /// Leads to follow up today, by name.
    pub due_today: Vec<&'a Lead>,
}

/// Sorts overdue and due follow-ups out of `leads` for `today`.
pub fn agenda(leads: &[Lead], today: NaiveDate) -> Agenda<'_> {
    let mut overdue: Vec<&Lead> = leads.iter().filter(|l| l.is_overdue(today)).collect();
    overdue
        .sort_by(|a, b| (a.next_follow_up, &a.name, a.id).cmp(&(b.next_follow_up, &b.name, b.id)));
    let mut due_today: Vec<&Lead> = leads.iter().filter(|l| l.is_due(today)).collect();
    due_today.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Agenda { overdue, due_today }
}

/// Limits shared by the record forms, in characters.
pub(crate) mod limits {
    pub const NAME: usize = 100;
    pub const SHORT: usize = 100;
    pub const ADDRESS: usize = 300;
    pub const LONG: usize = 2000;
    pub const NOTES: usize = 10_000;
}

const PHONE_SEPARATORS: [char; 8] = [',', '，', ';', '；', '、', '/', '\n', '\r'];

fn parse_phones(raw: &str) -> Result<Vec<Phone>, Invalid> {
    let mut phones: Vec<Phone> = Vec::new();
    for part in raw.split(PHONE_SEPARATORS).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let phone = Phone::parse(part)?;
        // The same number typed twice, however its digits were grouped, is kept once.
        if !phones.iter().any(|p| p.digits() == phone.digits()) {
            phones.push(phone);
        }
    }
    Ok(phones)
}

fn parse_optional_email(raw: &str) -> Result<Option<Email>, Invalid> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        Email::parse(raw).map(Some)
    }
}

/// An empty currency means the default, because a form may not have touched its select.
pub(crate) fn parse_currency(raw: &str) -> Result<Currency, Invalid> {
    if raw.trim().is_empty() {
        Ok(Currency::default())
    } else {
        Currency::parse(raw)
    }
}

fn parse_optional_money(amount: &str, currency: &str) -> Result<Option<Money>, Invalid> {
    if amount.trim().is_empty() {
        return Ok(None);
    }
    let minor = parse_amount(amount)?;
    let currency = parse_currency(currency)?;
    Ok(Some(Money { minor, currency }))
}

/// What the lead form holds: text inputs as typed, selects as their typed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadDraft {
    /// Name (required).
    pub name: String,
    /// Company.
    pub company: String,
    /// Job title.
    pub title: String,
    /// One or more numbers separated by `,` `，` `;` `/` or new lines.
    pub phones: String,
    /// WeChat id.
    pub wechat: String,
    /// Email address, may be empty.
    pub email: String,
    /// Address.
    pub address: String,
    /// Location picked on a map or from GPS.
    pub location: Option<GeoPoint>,
    /// Source channel.
    pub source: Source,
    /// The referring lead.
    pub referred_by: Option<Id>,
    /// Grade.
    pub grade: Grade,
    /// Stage.
    pub stage: Stage,
    /// Needs.
    pub needs: String,
    /// Purchase intent.
    pub intent: Option<Intent>,
    /// Expected value, may be empty.
    pub expected_value: String,
    /// Currency code of the expected value; empty means CNY.
    pub currency: String,
    /// Expected close date, `YYYY-MM-DD` or empty.
    pub expected_close: String,
    /// Next follow-up date, `YYYY-MM-DD` or empty.
    pub next_follow_up: String,
    /// Follow-up strategy.
    pub strategy: String,
    /// Tags separated by commas or semicolons.
    pub tags: String,
    /// Notes.
    pub notes: String,
}

impl Default for LeadDraft {
    fn default() -> Self {
        LeadDraft {
            name: String::new(),
            company: String::new(),
            title: String::new(),
            phones: String::new(),
            wechat: String::new(),
            email: String::new(),
            address: String::new(),
            location: None,
            source: Source::default(),
            referred_by: None,
            grade: Grade::default(),
            stage: Stage::default(),
            needs: String::new(),
            intent: None,
            expected_value: String::new(),
            currency: Currency::default().to_string(),
            expected_close: String::new(),
            next_follow_up: String::new(),
            strategy: String::new(),
            tags: String::new(),
            notes: String::new(),
        }
    }
}

impl LeadDraft {
    /// The form for editing `lead`; parsing it unchanged gives the lead back.
    pub fn from_lead(lead: &Lead) -> LeadDraft {
        let phones: Vec<&str> = lead.phones.iter().map(Phone::as_str).collect();
        LeadDraft {
            name: lead.name.clone(),
            company: lead.company.clone(),
            title: lead.title.clone(),
            phones: phones.join(", "),
            wechat: lead.wechat.clone(),
            email: lead
                .email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
            address: lead.address.clone(),
            location: lead.location,
            source: lead.source,
            referred_by: lead.referred_by,
            grade: lead.grade,
            stage: lead.stage,
            needs: lead.needs.clone(),
            intent: lead.intent,
            expected_value: lead
                .expected_value
                .map(|m| format_plain(m.minor))
                .unwrap_or_default(),
            currency: lead
                .expected_value
                .map(|m| m.currency)
                .unwrap_or_default()
                .to_string(),
            expected_close: lead.expected_close.map(format_date).unwrap_or_default(),
            next_follow_up: lead.next_follow_up.map(format_date).unwrap_or_default(),
            strategy: lead.strategy.clone(),
            tags: join_tags(&lead.tags),
            notes: lead.notes.clone(),
        }
    }

    /// Turns the form into a lead, reporting every invalid field at once.
    pub fn parse(&self, meta: &RecordMeta, now_ms: i64) -> Result<Lead, ValidationErrors> {
        use limits::{ADDRESS, LONG, NAME, NOTES, SHORT};
        let mut errors = ValidationErrors::default();
        let name = errors.check("name", required_text(&self.name, NAME));
        let company = errors.check("company", optional_text(&self.company, SHORT));
        let title = errors.check("title", optional_text(&self.title, SHORT));
        let phones = errors.check("phones", parse_phones(&self.phones));
        let wechat = errors.check("wechat", optional_text(&self.wechat, SHORT));
        let email = errors.check("email", parse_optional_email(&self.email));
        let address = errors.check("address", optional_text(&self.address, ADDRESS));
        if self.referred_by == Some(meta.id) {
            // A lead cannot have introduced itself.
            errors.push("referred_by", Invalid::Id);
        }
        let needs = errors.check("needs", optional_text(&self.needs, LONG));
        let expected_value = errors.check(
            "expected_value",
            parse_optional_money(&self.expected_value, &self.currency),
        );
        let expected_close =
            errors.check("expected_close", parse_optional_date(&self.expected_close));
        let next_follow_up =
            errors.check("next_follow_up", parse_optional_date(&self.next_follow_up));
        let strategy = errors.check("strategy", optional_text(&self.strategy, LONG));
        let tags = errors.check("tags", parse_tags(&self.tags));
        let notes = errors.check("notes", optional_text(&self.notes, NOTES));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Lead {
            id: meta.id,
            name,
            company,
            title,
            phones,
            wechat,
            email,
            address,
            location: self.location,
            source: self.source,
            referred_by: self.referred_by,
            grade: self.grade,
            stage: self.stage,
            needs,
            intent: self.intent,
            expected_value,
            expected_close,
            next_follow_up,
            strategy,
            tags,
            notes,
            owner: meta.owner,
            team: meta.team,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    pub(crate) fn id(n: u8) -> Id {
        Id::from_parts(1_700_000_000_000 + u64::from(n), [n; 10])
    }

    pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A minimal valid lead for other modules' tests.
    pub(crate) fn lead(n: u8, name: &str) -> Lead {
        LeadDraft {
            name: name.to_string(),
            ..LeadDraft::default()
        }
        .parse(&RecordMeta::new(id(n), 1_000), 1_000)
        .unwrap()
    }

    fn full_draft() -> LeadDraft {
        LeadDraft {
            name: " 王小明 ".into(),
            company: "上海明远贸易有限公司".into(),
            title: "采购经理".into(),
            phones: "138 0013 8000，+86 (21) 6555-0100\n138-0013-8000".into(),
            wechat: "wxm_1988".into(),
            email: "Wang.XM@MingYuan.CN".into(),
            address: "上海市黄浦区南京东路 100 号".into(),
            location: Some(GeoPoint::new(31.2304, 121.4737).unwrap()),
            source: Source::TradeShow,
            referred_by: Some(id(9)),
            grade: Grade::A,
            stage: Stage::Negotiation,
            needs: "需要 200 台设备".into(),
            intent: Some(Intent::High),
            expected_value: "¥1,200,000.5".into(),
            currency: "cny".into(),
            expected_close: "2024/6/30".into(),
            next_follow_up: "2024年3月5日".into(),
            strategy: "先送样品".into(),
            tags: "VIP，华东、vip".into(),
            notes: "喜欢喝茶".into(),
        }
    }

    #[test]
    fn choice_enums_follow_conventions() {
        assert_choice_enum!(Stage, "stage");
        assert_choice_enum!(Grade, "grade");
        assert_choice_enum!(Source, "source");
        assert_choice_enum!(Intent, "intent");
        assert_eq!(Source::WeChat.as_str(), "wechat");
        assert_eq!(Grade::A.key(), "grade.a");
        assert_eq!(Stage::default(), Stage::Prospecting);
        assert_eq!(Grade::default(), Grade::C);
        assert_eq!(Source::default(), Source::Other);
        let open: Vec<Stage> = Stage::ALL.into_iter().filter(Stage::is_open).collect();
        assert_eq!(
            open,
            [
                Stage::Prospecting,
                Stage::NeedsAnalysis,
                Stage::Presentation,
                Stage::Negotiation
            ]
        );
    }

    #[test]
    fn parses_a_full_draft() {
        let mut meta = RecordMeta::new(id(1), 1_000);
        meta.owner = Some(id(2));
        let lead = full_draft().parse(&meta, 2_000).unwrap();
        assert_eq!(lead.id, id(1));
        assert_eq!(lead.name, "王小明");
        // Kept as typed; the same number typed again with other separators is left out.
        let phones: Vec<&str> = lead.phones.iter().map(Phone::as_str).collect();
        assert_eq!(phones, ["138 0013 8000", "+86 (21) 6555-0100"]);
        assert_eq!(lead.email.as_ref().unwrap().as_str(), "Wang.XM@mingyuan.cn");
        assert_eq!(
            lead.expected_value,
            Some(Money {
                minor: 120_000_050,
                currency: Currency::CNY
            })
        );
        assert_eq!(lead.expected_close, Some(date(2024, 6, 30)));
        assert_eq!(lead.next_follow_up, Some(date(2024, 3, 5)));
        assert_eq!(lead.tags, ["VIP", "华东"]);
        assert_eq!(lead.owner, Some(id(2)));
        assert_eq!((lead.created_at, lead.updated_at), (1_000, 2_000));
        assert!(!lead.deleted);
    }

    #[test]
    fn collects_every_error() {
        let draft = LeadDraft {
            name: "   ".into(),
            company: "c".repeat(101),
            phones: "13800138000, 12".into(),
            email: "nope".into(),
            expected_value: "-5".into(),
            expected_close: "2024-02-30".into(),
            next_follow_up: "1800-01-01".into(),
            tags: "x".repeat(33),
            notes: "n".repeat(10_001),
            referred_by: Some(id(1)),
            ..LeadDraft::default()
        };
        let errors = draft.parse(&RecordMeta::new(id(1), 0), 0).unwrap_err();
        assert_eq!(errors.get("name"), Some(Invalid::Required));
        assert_eq!(errors.get("company"), Some(Invalid::TooLong { max: 100 }));
        assert_eq!(errors.get("phones"), Some(Invalid::Phone));
        assert_eq!(errors.get("email"), Some(Invalid::Email));
        assert_eq!(errors.get("expected_value"), Some(Invalid::AmountNegative));
        assert_eq!(errors.get("expected_close"), Some(Invalid::Date));
        assert_eq!(errors.get("next_follow_up"), Some(Invalid::DateOutOfRange));
        assert_eq!(errors.get("tags"), Some(Invalid::Tag));
        assert_eq!(errors.get("notes"), Some(Invalid::TooLong { max: 10_000 }));
        assert_eq!(errors.get("referred_by"), Some(Invalid::Id));
        assert_eq!(errors.len(), 10);

        let bad_currency = LeadDraft {
            name: "a".into(),
            expected_value: "5".into(),
            currency: "yuan".into(),
            ..LeadDraft::default()
        };
        let errors = bad_currency
            .parse(&RecordMeta::new(id(1), 0), 0)
            .unwrap_err();
        assert_eq!(errors.get("expected_value"), Some(Invalid::Currency));
    }

    #[test]
    fn empty_optional_fields_are_none() {
        let lead = LeadDraft {
            name: "Li".into(),
            currency: String::new(),
            expected_value: " ".into(),
            ..LeadDraft::default()
        }
        .parse(&RecordMeta::new(id(1), 0), 0)
        .unwrap();
        assert_eq!(lead.email, None);
        assert_eq!(lead.expected_value, None);
        assert!(lead.phones.is_empty() && lead.tags.is_empty());
        assert_eq!(LeadDraft::default().currency, "CNY");
    }

    #[test]
    fn draft_round_trips() {
        let meta = RecordMeta::new(id(1), 1_000);
        let lead = full_draft().parse(&meta, 2_000).unwrap();
        let draft = LeadDraft::from_lead(&lead);
        assert_eq!(draft.expected_value, "1200000.50");
        assert_eq!(draft.next_follow_up, "2024-03-05");
        assert_eq!(draft.parse(&lead.meta(), lead.updated_at), Ok(lead.clone()));
        assert_eq!(LeadDraft::from_lead(&lead), draft);

        let plain = super::tests::lead(3, "Li");
        let again = LeadDraft::from_lead(&plain)
            .parse(&plain.meta(), plain.updated_at)
            .unwrap();
        assert_eq!(again, plain);
    }

    #[test]
    fn serde_loads_old_records_missing_fields() {
        let json = format!(r#"{{"id":"{}","name":"Li"}}"#, id(1));
        let lead: Lead = serde_json::from_str(&json).unwrap();
        assert_eq!(lead.grade, Grade::C);
        assert!(lead.phones.is_empty() && !lead.deleted);
        let full = full_draft().parse(&RecordMeta::new(id(1), 0), 0).unwrap();
        let text = serde_json::to_string(&full).unwrap();
        assert_eq!(serde_json::from_str::<Lead>(&text).unwrap(), full);
        let bad = text.replace("138 0013 8000", "12");
        assert!(serde_json::from_str::<Lead>(&bad).is_err());
    }

    #[test]
    fn contact_links() {
        let lead = full_draft().parse(&RecordMeta::new(id(1), 0), 0).unwrap();
        let links = lead.contact_links();
        assert_eq!(
            links,
            [
                ContactLink::Call("tel:+8613800138000".into()),
                ContactLink::Sms("sms:+8613800138000".into()),
                // A landline: no text link.
                ContactLink::Call("tel:+862165550100".into()),
                ContactLink::Mail("mailto:Wang.XM@mingyuan.cn".into()),
                ContactLink::Map(
                    "https://www.openstreetmap.org/?mlat=31.2304&mlon=121.4737#map=17/31.2304/121.4737"
                        .into()
                ),
            ]
        );
        let without_location = Lead {
            location: None,
            phones: vec![],
            email: None,
            address: "南京路 1 号".into(),
            ..lead
        };
        assert_eq!(
            without_location.contact_links(),
            [ContactLink::Map(
                "https://www.openstreetmap.org/search?query=%E5%8D%97%E4%BA%AC%E8%B7%AF%201%20%E5%8F%B7".into()
            )]
        );
        assert!(without_location.contact_links()[0]
            .uri()
            .ends_with("%20%E5%8F%B7"));
        let nothing = Lead {
            address: " ".into(),
            ..without_location
        };
        assert!(nothing.contact_links().is_empty());
    }

    #[test]
    fn agenda_sorts_follow_ups() {
        let today = date(2024, 3, 5);
        let with = |n: u8, name: &str, day: Option<NaiveDate>, stage: Stage, deleted: bool| Lead {
            next_follow_up: day,
            stage,
            deleted,
            ..lead(n, name)
        };
        let leads = vec![
            with(1, "Zhao", Some(date(2024, 3, 4)), Stage::Prospecting, false),
            with(2, "Qian", Some(date(2024, 3, 1)), Stage::AfterSales, false),
            with(3, "Sun", Some(today), Stage::Negotiation, false),
            with(4, "Li", Some(today), Stage::Presentation, false),
            with(5, "Won", Some(date(2024, 3, 1)), Stage::Won, false),
            with(6, "Lost", Some(today), Stage::Lost, false),
            with(7, "Gone", Some(date(2024, 3, 1)), Stage::Prospecting, true),
            with(
                8,
                "Later",
                Some(date(2024, 3, 6)),
                Stage::Prospecting,
                false,
            ),
            with(9, "Never", None, Stage::Prospecting, false),
        ];
        let agenda = agenda(&leads, today);
        let names = |v: &[&Lead]| v.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&agenda.overdue), ["Qian", "Zhao"]);
        assert_eq!(names(&agenda.due_today), ["Li", "Sun"]);
        assert!(leads[1].is_overdue(today) && !leads[1].is_due(today));
        assert!(leads[2].is_due(today) && !leads[2].is_overdue(today));
        assert!(!leads[4].is_overdue(today) && !leads[6].is_overdue(today));
        // The stored agenda date says the same as the rules, for every lead and day.
        for lead in &leads {
            for day in [date(2024, 2, 1), date(2024, 3, 1), today, date(2024, 4, 1)] {
                assert_eq!(
                    lead.is_overdue(day),
                    lead.agenda_on().is_some_and(|d| d < day)
                );
                assert_eq!(lead.is_due(day), lead.agenda_on() == Some(day));
            }
        }
        // Won, lost, in the trash, without a date: not on the agenda.
        for n in [4, 5, 6, 8] {
            assert_eq!(leads[n].agenda_on(), None, "{}", leads[n].name);
        }
        assert_eq!(
            crate::Record::index_keys(&leads[0]),
            vec![("agenda_on", "2024-03-04".to_string())]
        );
        assert!(crate::Record::index_keys(&leads[4]).is_empty());
    }
}
