//! 销售目标: what a manager expects of each rep and of the team in a month, quarter,
//! half-year or year, the "actuals" it is measured against (computed on the device from the
//! records it holds, in the person's time zone) and the 计划分解 helper that proposes each
//! rep's figure from the team's.
//!
//! A target is one record per (person or team, period, metric); its id is derived from the
//! three ([`Target::id_for`]), so two managers who set the same target offline edit one
//! record field by field instead of making two. A rep's target belongs to the rep (the
//! server gives it to the person its `rep` names, [`crate::Record::OWNER_FIELD`]): the rep
//! and the team's managers see it; the team's target reaches the whole team; only managers
//! write either.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::clock::day_bounds_ms;
use crate::{Currency, Deal, DealStatus, Id, Invalid, RecordMeta, ValidationErrors};

choice_enum! {
    /// How long a target runs.
    pub enum PeriodKind in "period" {
        /// 月度.
        Month => "month",
        /// 季度.
        Quarter => "quarter",
        /// 半年度.
        Half => "half",
        /// 年度.
        Year => "year",
    }
}

impl PeriodKind {
    /// How many months the period covers.
    pub fn months(self) -> u32 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Half => 6,
            PeriodKind::Year => 12,
        }
    }
}

/// One calendar period: a month, quarter, half-year or year of the local calendar.
///
/// Written `2026-11`, `2026-Q4`, `2026-H2` or `2026`, which is also how it is stored and
/// how it sorts within a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    /// Month, quarter, half or year.
    pub kind: PeriodKind,
    /// The calendar year.
    pub year: i32,
    /// Which month (1–12), quarter (1–4) or half (1–2) of the year; 1 for a year.
    pub index: u32,
}

impl Period {
    /// The period of `kind` that holds `date`.
    pub fn containing(kind: PeriodKind, date: NaiveDate) -> Period {
        Period {
            kind,
            year: date.year(),
            index: date.month0() / kind.months() + 1,
        }
    }

    /// Its first day.
    pub fn first_day(&self) -> NaiveDate {
        let month = (self.index - 1) * self.kind.months() + 1;
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The first day after it.
    pub fn end(&self) -> NaiveDate {
        self.next().first_day()
    }

    /// Its last day.
    pub fn last_day(&self) -> NaiveDate {
        self.end().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    /// How many days it has.
    pub fn days(&self) -> i64 {
        (self.end() - self.first_day()).num_days()
    }

    /// Whether `date` falls in it.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first_day() <= date && date < self.end()
    }

    /// The unix-millisecond range `[start, end)` it covers for someone `utc_offset_minutes`
    /// east of UTC: from local midnight of its first day to local midnight after its last.
    pub fn bounds_ms(&self, utc_offset_minutes: i32) -> (i64, i64) {
        let (start, _) = day_bounds_ms(self.first_day(), utc_offset_minutes);
        let (end, _) = day_bounds_ms(self.end(), utc_offset_minutes);
        (start, end)
    }

    /// The period `n` steps later (earlier when negative), of the same kind.
    pub fn shift(&self, n: i32) -> Period {
        let per_year = 12 / self.kind.months() as i32;
        let absolute = self.year * per_year + (self.index as i32 - 1) + n;
        Period {
            kind: self.kind,
            year: absolute.div_euclid(per_year),
            index: absolute.rem_euclid(per_year) as u32 + 1,
        }
    }

    /// The next period of the same kind.
    pub fn next(&self) -> Period {
        self.shift(1)
    }

    /// The previous period of the same kind.
    pub fn previous(&self) -> Period {
        self.shift(-1)
    }

    /// The same period a year earlier (同期).
    pub fn last_year(&self) -> Period {
        Period {
            year: self.year - 1,
            ..*self
        }
    }

    /// The months it covers, in order.
    pub fn months(&self) -> Vec<Period> {
        let first = Period::containing(PeriodKind::Month, self.first_day());
        (0..self.kind.months() as i32)
            .map(|n| first.shift(n))
            .collect()
    }

    /// Reads `2026-11`, `2026-Q4`, `2026-H2` or `2026`.
    pub fn parse(raw: &str) -> Result<Period, Invalid> {
        let raw = raw.trim();
        let (year, rest) = match raw.split_once('-') {
            Some((year, rest)) => (year, Some(rest)),
            None => (raw, None),
        };
        let year: i32 = match year.len() {
            4 if year.bytes().all(|b| b.is_ascii_digit()) => {
                year.parse().map_err(|_| Invalid::Date)?
            }
            _ => return Err(Invalid::Date),
        };
        if !(crate::MIN_YEAR..=crate::MAX_YEAR).contains(&year) {
            return Err(Invalid::DateOutOfRange);
        }
        let number = |digits: &str, max: u32| -> Result<u32, Invalid> {
            let n: u32 = match digits.len() {
                1 | 2 if digits.bytes().all(|b| b.is_ascii_digit()) => {
                    digits.parse().map_err(|_| Invalid::Date)?
                }
                _ => return Err(Invalid::Date),
            };
            if (1..=max).contains(&n) {
                Ok(n)
            } else {
                Err(Invalid::Date)
            }
        };
        let (kind, index) = match rest {
            None => (PeriodKind::Year, 1),
            Some(rest) => {
                if let Some(q) = rest.strip_prefix('Q') {
                    (PeriodKind::Quarter, number(q, 4)?)
                } else if let Some(h) = rest.strip_prefix('H') {
                    (PeriodKind::Half, number(h, 2)?)
                } else if rest.len() == 2 {
                    (PeriodKind::Month, number(rest, 12)?)
                } else {
                    return Err(Invalid::Date);
                }
            }
        };
        Ok(Period { kind, year, index })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Month => write!(f, "{:04}-{:02}", self.year, self.index),
            PeriodKind::Quarter => write!(f, "{:04}-Q{}", self.year, self.index),
            PeriodKind::Half => write!(f, "{:04}-H{}", self.year, self.index),
            PeriodKind::Year => write!(f, "{:04}", self.year),
        }
    }
}

impl TryFrom<String> for Period {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Period::parse(&value)
    }
}

impl From<Period> for String {
    fn from(value: Period) -> String {
        value.to_string()
    }
}

choice_enum! {
    /// What a target counts.
    pub enum Metric in "metric" {
        /// 成交金额: won deals minus refunds, in the target's currency.
        DealAmount => "deal_amount",
        /// 成交单数: won deals minus refunds, counted.
        DealCount => "deal_count",
        /// 拜访次数: visits logged.
        Visits => "visits",
        /// 新增客户: leads created.
        NewLeads => "new_leads",
    }
}

impl Metric {
    /// Whether the figure is money (minor units of a currency) rather than a count.
    pub fn is_amount(self) -> bool {
        self == Metric::DealAmount
    }
}

/// The largest count a target may ask for.
pub const MAX_TARGET_COUNT: i64 = 1_000_000;

/// A sales target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The record id: [`Target::id_for`] its rep (or team), period and metric.
    pub id: Id,
    /// The rep it is for; `None` for the team's own target.
    #[serde(default)]
    pub rep: Option<Id>,
    /// When it runs.
    pub period: Period,
    /// What it counts.
    pub metric: Metric,
    /// The figure: minor units of `currency` for amounts, else a count.
    pub value: i64,
    /// The currency of an amount.
    #[serde(default)]
    pub currency: Currency,
    /// The rep it is for, or the manager who first set a team target (server-managed).
    #[serde(default)]
    pub owner: Option<Id>,
    /// The team.
    #[serde(default)]
    pub team: Option<Id>,
    /// Creation time, unix ms.
    #[serde(default)]
    pub created_at: i64,
    /// Last edit time, unix ms.
    #[serde(default)]
    pub updated_at: i64,
    /// In the trash: no target any more.
    #[serde(default)]
    pub deleted: bool,
}

impl Target {
    /// The id of the target of `subject` (a rep's id, or the team's for its own target) for
    /// `period` and `metric`: the same on every device. A timestamp of 1 ms keeps these ids
    /// apart from every id a device makes and from [`crate::TeamSettings::id_for`]'s.
    pub fn id_for(subject: Id, period: Period, metric: Metric) -> Id {
        let mut bytes = subject.as_uuid().as_bytes().to_vec();
        bytes.extend_from_slice(period.to_string().as_bytes());
        bytes.push(b'/');
        bytes.extend_from_slice(metric.as_str().as_bytes());
        let a = fnv1a(&bytes, 0xcbf2_9ce4_8422_2325).to_be_bytes();
        let b = fnv1a(&bytes, 0x6c62_272e_07bb_0142).to_be_bytes();
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&a);
        random[8..].copy_from_slice(&b[..2]);
        Id::from_parts(1, random)
    }

    /// Who the target is about: its rep, else its team.
    pub fn subject(&self) -> Option<Id> {
        self.rep.or(self.team)
    }

    /// The id, owner, team and creation time.
    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id,
            owner: self.owner,
            team: self.team,
            created_at: self.created_at,
        }
    }
}

/// FNV-1a over `bytes` from `basis`: a stable mix for derived ids (not a secret).
fn fnv1a(bytes: &[u8], basis: u64) -> u64 {
    bytes.iter().fold(basis, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Reads a target figure as typed: an amount (with `万`/`亿` accepted, as managers write
/// them) in minor units, or a whole count.
pub fn parse_figure(metric: Metric, raw: &str) -> Result<i64, Invalid> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::Required);
    }
    if metric.is_amount() {
        let (number, factor) = if let Some(n) = trimmed.strip_suffix('万') {
            (n, 10_000)
        } else if let Some(n) = trimmed.strip_suffix('亿') {
            (n, 100_000_000)
        } else {
            (trimmed, 1)
        };
        let minor = crate::parse_amount(number)?;
        let minor = minor.checked_mul(factor).ok_or(Invalid::AmountTooLarge)?;
        let max = i64::try_from(crate::MAX_AMOUNT_MAJOR)
            .unwrap_or(i64::MAX)
            .saturating_mul(100);
        if minor > max {
            return Err(Invalid::AmountTooLarge);
        }
        Ok(minor)
    } else {
        let digits: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ',' | '，' | ' '))
            .map(crate::value::half_width)
            .collect();
        if digits.starts_with(['-', '−']) {
            return Err(Invalid::Count);
        }
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 7 {
            return Err(Invalid::Count);
        }
        let n: i64 = digits.parse().map_err(|_| Invalid::Count)?;
        if n > MAX_TARGET_COUNT {
            return Err(Invalid::Count);
        }
        Ok(n)
    }
}

/// A figure as a form shows it: an amount with its decimals, a count as digits.
pub fn format_figure(metric: Metric, value: i64) -> String {
    if metric.is_amount() {
        crate::format_plain(value)
    } else {
        value.to_string()
    }
}

/// The target form's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetDraft {
    /// The rep, or `None` for the team.
    pub rep: Option<Id>,
    /// The period.
    pub period: Period,
    /// The metric.
    pub metric: Metric,
    /// The figure as typed.
    pub value: String,
    /// The currency of an amount.
    pub currency: Currency,
}

impl TargetDraft {
    /// The form showing `target`.
    pub fn from_target(target: &Target) -> TargetDraft {
        TargetDraft {
            rep: target.rep,
            period: target.period,
            metric: target.metric,
            value: format_figure(target.metric, target.value),
            currency: target.currency,
        }
    }

    /// The target for `meta`'s team (whose id must be [`Target::id_for`] its subject,
    /// period and metric), or every field's error.
    pub fn parse(&self, meta: &RecordMeta, now_ms: i64) -> Result<Target, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let value = errors.check("value", parse_figure(self.metric, &self.value));
        match self.rep.or(meta.team) {
            None => errors.push("team", Invalid::Required),
            Some(subject) if Target::id_for(subject, self.period, self.metric) != meta.id => {
                errors.push("id", Invalid::Id);
            }
            Some(_) => {}
        }
        // A rep's target is the rep's: the server hands it to them when it is created.
        if let (Some(rep), Some(owner)) = (self.rep, meta.owner) {
            if rep != owner {
                errors.push("rep", Invalid::Id);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Target {
            id: meta.id,
            rep: self.rep,
            period: self.period,
            metric: self.metric,
            value,
            currency: self.currency,
            owner: meta.owner,
            team: meta.team,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        })
    }
}

pub(crate) fn reparse_target(target: &Target) -> Result<Target, ValidationErrors> {
    let mut again = TargetDraft::from_target(target).parse(&target.meta(), target.updated_at)?;
    again.deleted = target.deleted;
    Ok(again)
}

/// The live target of `subject` (a rep, or the team when `None`) for `period` and
/// `metric` among `targets`: the one under the derived id, else (a hand-made id) the most
/// recently edited.
pub fn target_for(
    targets: &[Target],
    team: Option<Id>,
    rep: Option<Id>,
    period: Period,
    metric: Metric,
) -> Option<&Target> {
    let derived = rep.or(team).map(|s| Target::id_for(s, period, metric));
    targets
        .iter()
        .filter(|t| !t.deleted && t.rep == rep && t.period == period && t.metric == metric)
        .filter(|t| rep.is_some() || t.team == team)
        .max_by_key(|t| (Some(t.id) == derived, t.updated_at))
}

// ---------------------------------------------------------------------------------------
// Actuals.

/// What a deal counts for: its local close date, amount and who closed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DealFact {
    /// The close date (already a local date).
    pub closed_on: NaiveDate,
    /// Minor units, positive for a sale and for a refund alike.
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
    /// A refund (counts against).
    pub refunded: bool,
    /// Who it is credited to: who logged it, else its owner.
    pub credited: Option<Id>,
}

impl DealFact {
    /// The fact of a live deal (`None` for one in the trash).
    pub fn of(deal: &Deal) -> Option<DealFact> {
        (!deal.deleted).then(|| DealFact {
            closed_on: deal.closed_on,
            minor: deal.amount.minor,
            currency: deal.amount.currency,
            refunded: deal.status == DealStatus::Refunded,
            credited: deal.logged_by.or(deal.owner),
        })
    }
}

/// A dated event credited to someone: a visit (its start in local time) or a new lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The local date it happened on.
    pub day: NaiveDate,
    /// Who it counts for.
    pub credited: Option<Id>,
}

impl Event {
    /// An event at `unix_ms`, dated in the zone `utc_offset_minutes` east of UTC.
    pub fn at(unix_ms: i64, utc_offset_minutes: i32, credited: Option<Id>) -> Event {
        Event {
            day: crate::today_in_offset(unix_ms, utc_offset_minutes),
            credited,
        }
    }
}

/// A period's figures for one person or a whole team.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actuals {
    /// Net amount per currency (won minus refunded).
    pub amount: BTreeMap<Currency, i64>,
    /// Won deals minus refunds.
    pub deals: i64,
    /// Visits.
    pub visits: i64,
    /// New leads.
    pub new_leads: i64,
}

impl Actuals {
    /// The figure a target of `metric` in `currency` is measured against.
    pub fn figure(&self, metric: Metric, currency: Currency) -> i64 {
        match metric {
            Metric::DealAmount => self.amount.get(&currency).copied().unwrap_or(0),
            Metric::DealCount => self.deals,
            Metric::Visits => self.visits,
            Metric::NewLeads => self.new_leads,
        }
    }

    /// Whether anything at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.amount.values().all(|&v| v == 0)
            && self.deals == 0
            && self.visits == 0
            && self.new_leads == 0
    }

    fn add_deal(&mut self, deal: &DealFact) {
        let sign = if deal.refunded { -1 } else { 1 };
        let total = self.amount.entry(deal.currency).or_insert(0);
        *total = total.saturating_add(sign * deal.minor);
        self.deals += sign;
    }
}

/// Everything the figures are computed from, as the device reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Live deals.
    pub deals: Vec<DealFact>,
    /// Live visits.
    pub visits: Vec<Event>,
    /// Live leads, on the day they were created.
    pub leads: Vec<Event>,
}

impl Facts {
    /// The figures in `period`: of the person `who`, or of everyone in the facts when
    /// `None` (a manager's team: the device holds the team's records).
    pub fn actuals(&self, period: Period, who: Option<Id>) -> Actuals {
        let counts = |credited: Option<Id>| who.is_none() || credited == who;
        let mut actuals = Actuals::default();
        for deal in &self.deals {
            if period.contains(deal.closed_on) && counts(deal.credited) {
                actuals.add_deal(deal);
            }
        }
        actuals.visits = count_events(&self.visits, period, counts);
        actuals.new_leads = count_events(&self.leads, period, counts);
        actuals
    }

    /// The figures in `period` of every person credited with something, by person.
    pub fn by_person(&self, period: Period) -> BTreeMap<Option<Id>, Actuals> {
        let mut all: BTreeMap<Option<Id>, Actuals> = BTreeMap::new();
        for deal in self.deals.iter().filter(|d| period.contains(d.closed_on)) {
            all.entry(deal.credited).or_default().add_deal(deal);
        }
        for visit in self.visits.iter().filter(|v| period.contains(v.day)) {
            all.entry(visit.credited).or_default().visits += 1;
        }
        for lead in self.leads.iter().filter(|l| period.contains(l.day)) {
            all.entry(lead.credited).or_default().new_leads += 1;
        }
        all
    }
}

fn count_events(events: &[Event], period: Period, counts: impl Fn(Option<Id>) -> bool) -> i64 {
    events
        .iter()
        .filter(|e| period.contains(e.day) && counts(e.credited))
        .count() as i64
}

/// How far a figure has come against its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attainment {
    /// The target.
    pub target: i64,
    /// What was achieved.
    pub actual: i64,
}

impl Attainment {
    /// Per cent of the target reached, rounded down (0 when there is no target); may
    /// exceed 100.
    pub fn percent(&self) -> i64 {
        if self.target <= 0 {
            return 0;
        }
        let p = i128::from(self.actual.max(0)) * 100 / i128::from(self.target);
        i64::try_from(p).unwrap_or(i64::MAX)
    }

    /// How much is still missing (0 once reached).
    pub fn remaining(&self) -> i64 {
        (self.target - self.actual).max(0)
    }

    /// Whether the figure keeps pace with the time gone: at least the share of the target
    /// that the elapsed days of `period` make, as of `today` (a period that is over must be
    /// reached in full; one not begun is on pace).
    pub fn on_pace(&self, period: Period, today: NaiveDate) -> bool {
        let days = period.days().max(1);
        let elapsed = (today - period.first_day()).num_days().clamp(0, days - 1) + 1;
        let elapsed = if today >= period.end() { days } else { elapsed };
        if today < period.first_day() {
            return true;
        }
        i128::from(self.actual) * i128::from(days) >= i128::from(self.target) * i128::from(elapsed)
    }
}

// ---------------------------------------------------------------------------------------
// 计划分解: a team figure split among the reps.

/// Where the proposal's weights came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitBasis {
    /// Each rep's actual in the same period a year earlier.
    LastYear,
    /// Each rep's actual in the month before.
    LastMonth,
    /// Nobody has any history: equal shares.
    Equal,
}

impl SplitBasis {
    /// The message key the UI translates.
    pub fn key(self) -> &'static str {
        match self {
            SplitBasis::LastYear => "targets.basis_last_year",
            SplitBasis::LastMonth => "targets.basis_last_month",
            SplitBasis::Equal => "targets.basis_equal",
        }
    }
}

/// Splits `total` among `reps` in proportion to their weights (the first of `last_year`
/// and `last_month` in which anyone has a positive figure; equal shares when neither has),
/// whole units only (hundreds of the currency for amounts: `unit` minor units), the
/// largest remainders rounded up so the shares add up to `total` exactly. Negative
/// weights (a month of refunds) count as 0.
pub fn split(
    total: i64,
    unit: i64,
    reps: &[Id],
    last_year: &BTreeMap<Id, i64>,
    last_month: &BTreeMap<Id, i64>,
) -> (SplitBasis, Vec<(Id, i64)>) {
    if reps.is_empty() {
        return (SplitBasis::Equal, Vec::new());
    }
    let weights_of = |source: &BTreeMap<Id, i64>| -> Vec<i64> {
        reps.iter()
            .map(|rep| source.get(rep).copied().unwrap_or(0).max(0))
            .collect()
    };
    let (basis, weights) = [
        (SplitBasis::LastYear, weights_of(last_year)),
        (SplitBasis::LastMonth, weights_of(last_month)),
    ]
    .into_iter()
    .find(|(_, w)| w.iter().any(|&x| x > 0))
    .unwrap_or((SplitBasis::Equal, vec![1; reps.len()]));
    let unit = unit.max(1);
    let total = total.max(0);
    let units = total / unit;
    let leftover = total - units * unit;
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    let mut shares: Vec<(usize, i64, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let exact = i128::from(units) * i128::from(w);
            let whole = exact / sum;
            (i, i64::try_from(whole).unwrap_or(0), exact % sum)
        })
        .collect();
    let given: i64 = shares.iter().map(|s| s.1).sum();
    let mut missing = units - given;
    // Largest remainder first; ties to the larger weight, then to list order.
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        shares[b]
            .2
            .cmp(&shares[a].2)
            .then(weights[b].cmp(&weights[a]))
            .then(a.cmp(&b))
    });
    for i in order {
        if missing <= 0 {
            break;
        }
        shares[i].1 += 1;
        missing -= 1;
    }
    let mut out: Vec<(Id, i64)> = shares
        .iter()
        .map(|&(i, share, _)| (reps[i], share * unit))
        .collect();
    // What is below one unit goes to the first rep, so the sum is exact.
    if let Some(first) = out.first_mut() {
        first.1 += leftover;
    }
    (basis, out)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::{date, id};
    use crate::Money;
    use proptest::prelude::*;

    fn p(raw: &str) -> Period {
        Period::parse(raw).unwrap()
    }

    #[test]
    fn enums_follow_conventions() {
        assert_choice_enum!(PeriodKind, "period");
        assert_choice_enum!(Metric, "metric");
    }

    #[test]
    fn periods_contain_their_days() {
        let d = date(2026, 11, 30);
        assert_eq!(
            Period::containing(PeriodKind::Month, d).to_string(),
            "2026-11"
        );
        assert_eq!(
            Period::containing(PeriodKind::Quarter, d).to_string(),
            "2026-Q4"
        );
        assert_eq!(
            Period::containing(PeriodKind::Half, d).to_string(),
            "2026-H2"
        );
        assert_eq!(Period::containing(PeriodKind::Year, d).to_string(), "2026");
        // Quarter and half-year boundaries.
        for (day, q, h) in [
            (date(2026, 3, 31), "2026-Q1", "2026-H1"),
            (date(2026, 4, 1), "2026-Q2", "2026-H1"),
            (date(2026, 6, 30), "2026-Q2", "2026-H1"),
            (date(2026, 7, 1), "2026-Q3", "2026-H2"),
            (date(2026, 9, 30), "2026-Q3", "2026-H2"),
            (date(2026, 10, 1), "2026-Q4", "2026-H2"),
            (date(2026, 12, 31), "2026-Q4", "2026-H2"),
            (date(2027, 1, 1), "2027-Q1", "2027-H1"),
        ] {
            assert_eq!(Period::containing(PeriodKind::Quarter, day).to_string(), q);
            assert_eq!(Period::containing(PeriodKind::Half, day).to_string(), h);
        }
        let q1 = p("2024-Q1");
        assert_eq!(
            (q1.first_day(), q1.last_day()),
            (date(2024, 1, 1), date(2024, 3, 31))
        );
        assert_eq!(q1.days(), 91, "2024 is a leap year");
        assert_eq!(p("2026-02").days(), 28);
        assert_eq!(p("2026-H2").first_day(), date(2026, 7, 1));
        assert_eq!(p("2026").last_day(), date(2026, 12, 31));
        assert_eq!(p("2026-12").end(), date(2027, 1, 1));
        assert!(p("2026-Q4").contains(date(2026, 12, 31)));
        assert!(!p("2026-Q4").contains(date(2027, 1, 1)));
        assert!(!p("2026-Q4").contains(date(2026, 9, 30)));
    }

    #[test]
    fn periods_step_across_year_ends() {
        assert_eq!(p("2026-12").next(), p("2027-01"));
        assert_eq!(p("2026-01").previous(), p("2025-12"));
        assert_eq!(p("2026-Q1").previous(), p("2025-Q4"));
        assert_eq!(p("2026-H2").next(), p("2027-H1"));
        assert_eq!(p("2026").shift(-3), p("2023"));
        assert_eq!(p("2026-03").shift(-15), p("2024-12"));
        assert_eq!(p("2026-Q3").last_year(), p("2025-Q3"));
        assert_eq!(
            p("2026-Q4")
                .months()
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>(),
            ["2026-10", "2026-11", "2026-12"]
        );
        assert_eq!(p("2026").months().len(), 12);
    }

    #[test]
    fn periods_parse_and_refuse() {
        for raw in ["2026-11", "2026-01", "2026-Q4", "2026-H1", "2026"] {
            assert_eq!(p(raw).to_string(), raw);
            let json = serde_json::to_string(&p(raw)).unwrap();
            assert_eq!(json, format!("\"{raw}\""));
            assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p(raw));
        }
        for bad in [
            "",
            "2026-13",
            "2026-00",
            "2026-Q5",
            "2026-Q0",
            "2026-H3",
            "26-11",
            "2026-1",
            "2026-",
            "2026-q1",
            "二〇二六",
            "2026-11-01",
            "-2026",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Period::parse("1850"), Err(Invalid::DateOutOfRange));
    }

    #[test]
    fn period_bounds_follow_the_time_zone() {
        // Shanghai (+8): November 2026 starts 2026-10-31T16:00Z.
        let (start, end) = p("2026-11").bounds_ms(480);
        assert_eq!(start, 1_793_462_400_000);
        assert_eq!(end - start, 30 * 86_400_000);
        // New York in winter (−5): it starts at 05:00Z on the 1st.
        let (start_west, _) = p("2026-11").bounds_ms(-300);
        assert_eq!(start_west - start, 13 * 3_600_000);
    }

    proptest! {
        #[test]
        fn every_day_is_in_exactly_one_period_of_each_kind(days in 0i64..109_000) {
            let day = date(1900, 1, 1) + chrono::Duration::days(days);
            for kind in PeriodKind::ALL {
                let period = Period::containing(kind, day);
                prop_assert!(period.contains(day));
                prop_assert!(!period.next().contains(day));
                prop_assert!(!period.previous().contains(day));
                prop_assert_eq!(period.next().previous(), period);
                prop_assert_eq!(period.previous().end(), period.first_day());
                prop_assert_eq!(Period::parse(&period.to_string()), Ok(period));
            }
        }
    }

    #[test]
    fn ids_are_derived_from_subject_period_and_metric() {
        let a = Target::id_for(id(1), p("2026-11"), Metric::DealAmount);
        assert_eq!(a, Target::id_for(id(1), p("2026-11"), Metric::DealAmount));
        assert_ne!(a, Target::id_for(id(2), p("2026-11"), Metric::DealAmount));
        assert_ne!(a, Target::id_for(id(1), p("2026-12"), Metric::DealAmount));
        assert_ne!(a, Target::id_for(id(1), p("2026-11"), Metric::Visits));
        assert_ne!(a, Target::id_for(id(1), p("2026-Q4"), Metric::DealAmount));
        assert_eq!(a.unix_ms(), Some(1));
        assert_ne!(a, crate::TeamSettings::id_for(id(1)));
    }

    fn meta_for(subject: Id, rep: Option<Id>, period: Period, metric: Metric) -> RecordMeta {
        RecordMeta {
            owner: rep,
            team: Some(id(9)),
            ..RecordMeta::new(Target::id_for(subject, period, metric), 5)
        }
    }

    #[test]
    fn drafts_parse_figures_and_check_the_id() {
        let period = p("2026-11");
        let draft = TargetDraft {
            rep: Some(id(3)),
            period,
            metric: Metric::DealAmount,
            value: "120万".into(),
            currency: Currency::CNY,
        };
        let target = draft
            .parse(&meta_for(id(3), Some(id(3)), period, Metric::DealAmount), 7)
            .unwrap();
        assert_eq!(target.value, 1_200_000 * 100);
        assert_eq!(reparse_target(&target), Ok(target.clone()));
        assert_eq!(TargetDraft::from_target(&target).value, "1200000.00");

        // The id must be the derived one; a rep's target is the rep's.
        let moved = TargetDraft {
            period: p("2026-12"),
            ..draft.clone()
        };
        let errors = moved
            .parse(&meta_for(id(3), Some(id(3)), period, Metric::DealAmount), 7)
            .unwrap_err();
        assert_eq!(errors.get("id"), Some(Invalid::Id));
        let errors = draft
            .parse(&meta_for(id(3), Some(id(4)), period, Metric::DealAmount), 7)
            .unwrap_err();
        assert_eq!(errors.get("rep"), Some(Invalid::Id));
        // A team target needs the team.
        let team = TargetDraft {
            rep: None,
            metric: Metric::Visits,
            value: "1,200".into(),
            ..draft.clone()
        };
        let ok = team
            .parse(&meta_for(id(9), None, period, Metric::Visits), 7)
            .unwrap();
        assert_eq!(ok.value, 1200);
        let errors = team
            .parse(
                &RecordMeta::new(Target::id_for(id(9), period, Metric::Visits), 5),
                7,
            )
            .unwrap_err();
        assert_eq!(errors.get("team"), Some(Invalid::Required));
    }

    #[test]
    fn figures_are_amounts_or_counts() {
        assert_eq!(parse_figure(Metric::DealAmount, "¥50,000"), Ok(5_000_000));
        assert_eq!(parse_figure(Metric::DealAmount, "1.5万"), Ok(1_500_000));
        assert_eq!(parse_figure(Metric::DealAmount, "2亿"), Ok(20_000_000_000));
        assert_eq!(
            parse_figure(Metric::DealAmount, "-5"),
            Err(Invalid::AmountNegative)
        );
        assert_eq!(
            parse_figure(Metric::DealAmount, "20000亿"),
            Err(Invalid::AmountTooLarge)
        );
        assert_eq!(parse_figure(Metric::Visits, "８０"), Ok(80));
        assert_eq!(parse_figure(Metric::Visits, "1,000"), Ok(1000));
        assert_eq!(parse_figure(Metric::NewLeads, "2.5"), Err(Invalid::Count));
        assert_eq!(parse_figure(Metric::DealCount, "-1"), Err(Invalid::Count));
        assert_eq!(
            parse_figure(Metric::DealCount, "1000001"),
            Err(Invalid::Count)
        );
        assert_eq!(parse_figure(Metric::DealCount, " "), Err(Invalid::Required));
        assert_eq!(format_figure(Metric::Visits, 80), "80");
    }

    fn target(rep: Option<Id>, value: i64, updated_at: i64, derived: bool) -> Target {
        let period = p("2026-11");
        let subject = rep.unwrap_or(id(9));
        Target {
            id: if derived {
                Target::id_for(subject, period, Metric::Visits)
            } else {
                id(77)
            },
            rep,
            period,
            metric: Metric::Visits,
            value,
            currency: Currency::CNY,
            owner: rep,
            team: Some(id(9)),
            created_at: 0,
            updated_at,
            deleted: false,
        }
    }

    #[test]
    fn the_derived_target_wins_over_a_hand_made_one() {
        let all = [
            target(Some(id(3)), 10, 50, false),
            target(Some(id(3)), 20, 10, true),
            target(None, 30, 10, true),
        ];
        let period = p("2026-11");
        let mine = target_for(&all, Some(id(9)), Some(id(3)), period, Metric::Visits);
        assert_eq!(mine.map(|t| t.value), Some(20));
        let team = target_for(&all, Some(id(9)), None, period, Metric::Visits);
        assert_eq!(team.map(|t| t.value), Some(30));
        assert!(target_for(&all, Some(id(8)), None, period, Metric::Visits).is_none());
        assert!(target_for(&all, Some(id(9)), None, period, Metric::DealCount).is_none());
    }

    fn deal(day: NaiveDate, minor: i64, refunded: bool, who: u8) -> DealFact {
        DealFact {
            closed_on: day,
            minor,
            currency: Currency::CNY,
            refunded,
            credited: Some(id(who)),
        }
    }

    #[test]
    fn actuals_net_refunds_per_person_and_period() {
        let facts = Facts {
            deals: vec![
                deal(date(2026, 11, 3), 100_000, false, 1),
                deal(date(2026, 11, 20), 30_000, true, 1),
                deal(date(2026, 11, 30), 50_000, false, 2),
                deal(date(2026, 12, 1), 70_000, false, 1),
                DealFact {
                    currency: Currency::USD,
                    ..deal(date(2026, 11, 5), 9_000, false, 1)
                },
            ],
            visits: vec![
                Event {
                    day: date(2026, 11, 1),
                    credited: Some(id(1)),
                },
                Event {
                    day: date(2026, 10, 31),
                    credited: Some(id(1)),
                },
            ],
            leads: vec![Event {
                day: date(2026, 11, 15),
                credited: Some(id(2)),
            }],
        };
        let nov = p("2026-11");
        let mine = facts.actuals(nov, Some(id(1)));
        assert_eq!(mine.figure(Metric::DealAmount, Currency::CNY), 70_000);
        assert_eq!(mine.figure(Metric::DealAmount, Currency::USD), 9_000);
        assert_eq!(
            mine.figure(Metric::DealCount, Currency::CNY),
            1,
            "2 won, 1 refund"
        );
        assert_eq!(mine.figure(Metric::Visits, Currency::CNY), 1);
        assert_eq!(mine.figure(Metric::NewLeads, Currency::CNY), 0);
        let team = facts.actuals(nov, None);
        assert_eq!(team.figure(Metric::DealAmount, Currency::CNY), 120_000);
        assert_eq!(team.new_leads, 1);
        let q4 = facts.actuals(p("2026-Q4"), Some(id(1)));
        assert_eq!(q4.figure(Metric::DealAmount, Currency::CNY), 140_000);
        assert_eq!(q4.visits, 2);
        let people = facts.by_person(nov);
        assert_eq!(people[&Some(id(2))].amount[&Currency::CNY], 50_000);
        assert_eq!(people[&Some(id(1))].deals, 1);
        assert!(facts.actuals(p("2025-11"), None).is_empty());
        // A refunded deal alone makes a negative figure; a deal in the trash counts nothing.
        let gone = crate::Deal {
            deleted: true,
            ..crate::DealDraft {
                lead_id: Some(id(5)),
                product: "x".into(),
                amount: "1".into(),
                closed_on: "2026-11-01".into(),
                ..Default::default()
            }
            .parse(&RecordMeta::new(id(6), 0), 0)
            .unwrap()
        };
        assert_eq!(DealFact::of(&gone), None);
        let live = crate::Deal {
            deleted: false,
            amount: Money {
                minor: 5,
                currency: Currency::CNY,
            },
            logged_by: Some(id(4)),
            owner: Some(id(5)),
            ..gone
        };
        assert_eq!(DealFact::of(&live).unwrap().credited, Some(id(4)));
    }

    #[test]
    fn a_late_evening_counts_on_its_local_day() {
        // A visit at 23:30 on 31 March in Shanghai is 15:30Z: March, Q1, H1.
        let shanghai =
            crate::local_to_unix_ms(date(2026, 3, 31).and_hms_opt(23, 30, 0).unwrap(), 480);
        let event = Event::at(shanghai, 480, Some(id(1)));
        assert_eq!(event.day, date(2026, 3, 31));
        // The same instant seen in UTC is still 31 March; but 23:30 on 31 March in New York
        // (−4 in summer time) is 03:30Z on 1 April, and must stay in March there.
        let new_york =
            crate::local_to_unix_ms(date(2026, 3, 31).and_hms_opt(23, 30, 0).unwrap(), -240);
        let west = Event::at(new_york, -240, Some(id(1)));
        assert_eq!(west.day, date(2026, 3, 31));
        assert_eq!(Event::at(new_york, 0, None).day, date(2026, 4, 1));
        let facts = Facts {
            visits: vec![west],
            ..Facts::default()
        };
        assert_eq!(facts.actuals(p("2026-Q1"), None).visits, 1);
        assert_eq!(facts.actuals(p("2026-Q2"), None).visits, 0);
        // 00:30 on 1 January in Shanghai is still 31 December in UTC.
        let new_year =
            crate::local_to_unix_ms(date(2027, 1, 1).and_hms_opt(0, 30, 0).unwrap(), 480);
        assert_eq!(Event::at(new_year, 480, None).day, date(2027, 1, 1));
        assert!(p("2027").contains(Event::at(new_year, 480, None).day));
        assert!(p("2026").contains(Event::at(new_year, 0, None).day));
    }

    #[test]
    fn attainment_and_pace() {
        let a = Attainment {
            target: 300,
            actual: 150,
        };
        assert_eq!((a.percent(), a.remaining()), (50, 150));
        let nov = p("2026-11");
        assert!(
            a.on_pace(nov, date(2026, 11, 15)),
            "15 of 30 days, half done"
        );
        assert!(!a.on_pace(nov, date(2026, 11, 16)));
        assert!(a.on_pace(nov, date(2026, 10, 20)), "not begun");
        assert!(!a.on_pace(nov, date(2026, 12, 5)), "over, not reached");
        let over = Attainment {
            target: 100,
            actual: 250,
        };
        assert_eq!((over.percent(), over.remaining()), (250, 0));
        let none = Attainment {
            target: 0,
            actual: 5,
        };
        assert_eq!(none.percent(), 0);
        let refunds = Attainment {
            target: 100,
            actual: -40,
        };
        assert_eq!((refunds.percent(), refunds.remaining()), (0, 140));
    }

    #[test]
    fn split_weights_by_last_year_then_last_month() {
        let reps = [id(1), id(2), id(3)];
        let last_year: BTreeMap<Id, i64> = [(id(1), 600), (id(2), 300), (id(3), 100)].into();
        let last_month: BTreeMap<Id, i64> = [(id(3), 50)].into();
        let (basis, shares) = split(1_000_000, 1, &reps, &last_year, &last_month);
        assert_eq!(basis, SplitBasis::LastYear);
        assert_eq!(
            shares,
            [(id(1), 600_000), (id(2), 300_000), (id(3), 100_000)]
        );
        // Nobody sold last year: last month decides.
        let (basis, shares) = split(90, 1, &reps, &BTreeMap::new(), &last_month);
        assert_eq!(basis, SplitBasis::LastMonth);
        assert_eq!(shares, [(id(1), 0), (id(2), 0), (id(3), 90)]);
        // No history at all: equal shares, remainders to the first.
        let (basis, shares) = split(100, 1, &reps, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(basis, SplitBasis::Equal);
        assert_eq!(shares, [(id(1), 34), (id(2), 33), (id(3), 33)]);
        // Amounts split in whole yuan (100 minor units), the cents to the first.
        let (_, shares) = split(100_050, 100, &reps, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(shares, [(id(1), 33_450), (id(2), 33_300), (id(3), 33_300)]);
        // A month of refunds weighs nothing.
        let negative: BTreeMap<Id, i64> = [(id(1), -500), (id(2), 10)].into();
        let (_, shares) = split(10, 1, &reps, &negative, &BTreeMap::new());
        assert_eq!(shares, [(id(1), 0), (id(2), 10), (id(3), 0)]);
        assert_eq!(split(10, 1, &[], &last_year, &last_month).1, []);
    }

    proptest! {
        #[test]
        fn split_shares_add_up_and_follow_the_weights(
            total in 0i64..10_000_000_000,
            unit in prop::sample::select(vec![1i64, 100, 10_000]),
            weights in prop::collection::vec(-100i64..1_000_000, 1..12),
        ) {
            let reps: Vec<Id> = (0..weights.len()).map(|i| id(i as u8 + 1)).collect();
            let last_year: BTreeMap<Id, i64> =
                reps.iter().copied().zip(weights.iter().copied()).collect();
            let (basis, shares) = split(total, unit, &reps, &last_year, &BTreeMap::new());
            prop_assert_eq!(shares.iter().map(|s| s.1).sum::<i64>(), total);
            prop_assert!(shares.iter().all(|s| s.1 >= 0));
            if basis == SplitBasis::LastYear {
                // Within one unit (plus the odd cents on the first) of the exact share.
                let sum: i128 = weights.iter().map(|&w| i128::from(w.max(0))).sum();
                for (i, &(_, share)) in shares.iter().enumerate() {
                    let exact = i128::from(total) * i128::from(weights[i].max(0)) / sum;
                    let slack = i128::from(unit) * 2 + if i == 0 { i128::from(unit) } else { 0 };
                    prop_assert!((i128::from(share) - exact).abs() <= slack);
                }
            }
        }
    }
}
