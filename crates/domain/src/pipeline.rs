//! The pipeline (销售漏斗): where every open lead stands, what it is expected to bring,
//! how leads move between the six stages of the seed's marketing system, and why sales
//! were won or lost.
//!
//! A lead's stage is one field; a change of it is also kept as a [`StageChange`] record
//! (who, when, from, to, and for a sale won or lost, why) saved in the same transaction as
//! the lead. These records are the lead's history like its visits and deals (they follow
//! the lead to a new owner, and the server records who logged them), and the funnel and
//! the win/loss report are computed from them on the device.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{Currency, Id, Invalid, Lead, RecordMeta, Stage, ValidationErrors, VisitKind};

choice_enum! {
    /// Why a sale was won or lost (赢单/丢单原因).
    pub enum StageReason in "stage_reason" {
        /// 价格.
        Price => "price",
        /// 产品.
        Product => "product",
        /// 服务.
        Service => "service",
        /// 客户关系.
        Relationship => "relationship",
        /// 竞争对手.
        Competitor => "competitor",
        /// 预算.
        Budget => "budget",
        /// 时机.
        Timing => "timing",
        /// 无需求.
        NoNeed => "no_need",
        /// 其他.
        Other => "other",
    }
}

/// A lead's move from one stage to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange {
    /// The record id.
    pub id: Id,
    /// The lead that moved.
    pub lead_id: Id,
    /// The stage before; `None` when the lead was created in `to`.
    #[serde(default)]
    pub from: Option<Stage>,
    /// The stage after.
    pub to: Stage,
    /// When, unix ms.
    pub at: i64,
    /// Why a sale was won or lost (only for moves to those stages).
    #[serde(default)]
    pub reason: Option<StageReason>,
    /// The lead's owner (the lead's history follows the lead).
    #[serde(default)]
    pub owner: Option<Id>,
    /// The team.
    #[serde(default)]
    pub team: Option<Id>,
    /// Who moved it (server-managed, set when the record is created).
    #[serde(default)]
    pub logged_by: Option<Id>,
    /// Creation time, unix ms.
    #[serde(default)]
    pub created_at: i64,
    /// Last edit time, unix ms.
    #[serde(default)]
    pub updated_at: i64,
    /// Tombstone.
    #[serde(default)]
    pub deleted: bool,
}

impl StageChange {
    /// The change record for a lead saved as `after` when it was `before` (`None`: new), or
    /// `None` when its stage did not move (a new lead in the first stage is no move).
    pub fn between(
        meta: RecordMeta,
        before: Option<&Lead>,
        after: &Lead,
        reason: Option<StageReason>,
        now_ms: i64,
    ) -> Option<StageChange> {
        let from = before.map(|lead| lead.stage);
        let moved = match from {
            Some(stage) => stage != after.stage,
            None => after.stage != Stage::default(),
        };
        moved.then(|| StageChange {
            id: meta.id,
            lead_id: after.id,
            from,
            to: after.stage,
            at: now_ms,
            reason: reason.filter(|_| takes_reason(after.stage)),
            owner: meta.owner,
            team: meta.team,
            logged_by: None,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        })
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

    /// Checks the move: a real change, at a time that can be read, with a reason only for
    /// a sale won or lost.
    pub fn check(&self) -> Result<StageChange, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.from == Some(self.to) {
            errors.push("to", Invalid::UnknownOption);
        }
        if !(0..=crate::MAX_WALL_MS).contains(&self.at) {
            errors.push("at", Invalid::DateTime);
        }
        if self.reason.is_some() && !takes_reason(self.to) {
            errors.push("reason", Invalid::UnknownOption);
        }
        if errors.is_empty() {
            Ok(self.clone())
        } else {
            Err(errors)
        }
    }
}

/// Whether a move to `stage` asks why: a sale won or lost.
pub fn takes_reason(stage: Stage) -> bool {
    matches!(stage, Stage::Won | Stage::Lost)
}

pub(crate) fn reparse_stage_change(change: &StageChange) -> Result<StageChange, ValidationErrors> {
    change.check()
}

// ---------------------------------------------------------------------------------------
// Stage probabilities and the pipeline.

/// The stages a lead is sold through, in order: the pipeline's columns.
pub const OPEN_STAGES: [Stage; 4] = [
    Stage::Prospecting,
    Stage::NeedsAnalysis,
    Stage::Presentation,
    Stage::Negotiation,
];

/// How likely a lead in each open stage is to be won, in per cent (the manager sets them in
/// team settings; won counts 100, lost 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probabilities {
    /// 潜在客户开发.
    pub prospecting: u8,
    /// 客户需求分析.
    pub needs_analysis: u8,
    /// 产品介绍和演示.
    pub presentation: u8,
    /// 价格谈判.
    pub negotiation: u8,
}

impl Default for Probabilities {
    fn default() -> Self {
        Probabilities {
            prospecting: 10,
            needs_analysis: 25,
            presentation: 50,
            negotiation: 75,
        }
    }
}

impl Probabilities {
    /// The chance of a lead in `stage`, in per cent.
    pub fn of(&self, stage: Stage) -> u8 {
        match stage {
            Stage::Prospecting => self.prospecting,
            Stage::NeedsAnalysis => self.needs_analysis,
            Stage::Presentation => self.presentation,
            Stage::Negotiation => self.negotiation,
            Stage::Won | Stage::AfterSales => 100,
            Stage::Lost => 0,
        }
    }
}

/// `minor` weighted by `percent`, rounded half up.
pub fn weighted(minor: i64, percent: u8) -> i64 {
    let product = i128::from(minor) * i128::from(percent);
    i64::try_from((product + 50).div_euclid(100)).unwrap_or(i64::MAX)
}

/// One stage of the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSummary {
    /// The stage.
    pub stage: Stage,
    /// Live leads in it.
    pub count: usize,
    /// Their expected values added up, per currency.
    pub amount: BTreeMap<Currency, i64>,
    /// The same weighted by the stage's probability.
    pub expected: BTreeMap<Currency, i64>,
}

/// Every stage in order, with its live leads counted and their expected values summed and
/// weighted.
pub fn pipeline<'a>(
    leads: impl IntoIterator<Item = &'a Lead>,
    probabilities: &Probabilities,
) -> Vec<StageSummary> {
    let mut stages: Vec<StageSummary> = Stage::ALL
        .iter()
        .map(|&stage| StageSummary {
            stage,
            count: 0,
            amount: BTreeMap::new(),
            expected: BTreeMap::new(),
        })
        .collect();
    for lead in leads.into_iter().filter(|lead| !lead.deleted) {
        let Some(summary) = stages.iter_mut().find(|s| s.stage == lead.stage) else {
            continue;
        };
        summary.count += 1;
        if let Some(value) = lead.expected_value {
            let amount = summary.amount.entry(value.currency).or_insert(0);
            *amount = amount.saturating_add(value.minor);
            let chance = probabilities.of(lead.stage);
            let expected = summary.expected.entry(value.currency).or_insert(0);
            *expected = expected.saturating_add(weighted(value.minor, chance));
        }
    }
    stages
}

/// The weighted value of the open stages together, per currency (the forecast).
pub fn forecast(stages: &[StageSummary]) -> BTreeMap<Currency, i64> {
    let mut total = BTreeMap::new();
    for summary in stages.iter().filter(|s| s.stage.is_open()) {
        for (&currency, &minor) in &summary.expected {
            let sum: &mut i64 = total.entry(currency).or_insert(0);
            *sum = sum.saturating_add(minor);
        }
    }
    total
}

// ---------------------------------------------------------------------------------------
// The funnel.

/// The funnel's steps, in order: the four open stages, then the sale.
pub const FUNNEL: [Stage; 5] = [
    Stage::Prospecting,
    Stage::NeedsAnalysis,
    Stage::Presentation,
    Stage::Negotiation,
    Stage::Won,
];

/// A stage's step in the funnel: after-sales is a sale made; lost is no step.
fn rank(stage: Stage) -> Option<usize> {
    match stage {
        Stage::AfterSales => Some(4),
        Stage::Lost => None,
        stage => FUNNEL.iter().position(|&s| s == stage),
    }
}

/// One step of the funnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunnelStep {
    /// The stage.
    pub stage: Stage,
    /// Leads that reached it (or went further).
    pub reached: usize,
    /// Per cent of the previous step's leads that reached this one, rounded down; `None`
    /// for the first step and when the previous step had none.
    pub conversion: Option<u32>,
}

/// The funnel of `leads` (the cohort: e.g. the leads created in a period): how many reached
/// each step, counting the furthest stage each lead has been in, now or by its
/// `changes` (a lost lead counts up to where it was lost). Every lead is in the first step.
pub fn funnel<'a>(
    leads: impl IntoIterator<Item = &'a Lead>,
    changes: &[StageChange],
) -> Vec<FunnelStep> {
    let mut furthest: BTreeMap<Id, usize> = BTreeMap::new();
    for change in changes.iter().filter(|c| !c.deleted) {
        let step = [change.from, Some(change.to)]
            .into_iter()
            .flatten()
            .filter_map(rank)
            .max();
        if let Some(step) = step {
            let best = furthest.entry(change.lead_id).or_insert(0);
            *best = (*best).max(step);
        }
    }
    let mut reached = [0usize; FUNNEL.len()];
    for lead in leads.into_iter().filter(|lead| !lead.deleted) {
        let now = rank(lead.stage).unwrap_or(0);
        let step = furthest.get(&lead.id).copied().unwrap_or(0).max(now);
        for count in reached.iter_mut().take(step + 1) {
            *count += 1;
        }
    }
    FUNNEL
        .iter()
        .enumerate()
        .map(|(i, &stage)| FunnelStep {
            stage,
            reached: reached[i],
            conversion: i
                .checked_sub(1)
                .filter(|&before| reached[before] > 0)
                .map(|before| (reached[i] * 100 / reached[before]) as u32),
        })
        .collect()
}

/// Why sales were won and lost: for each lead whose last move in `changes` (those already
/// chosen, e.g. of a period) went to won or lost, its reason, counted (`None`: no reason
/// given), most frequent first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Reasons of sales won.
    pub won: Vec<(Option<StageReason>, usize)>,
    /// Reasons of sales lost.
    pub lost: Vec<(Option<StageReason>, usize)>,
}

/// See [`Outcomes`].
pub fn outcomes(changes: &[StageChange]) -> Outcomes {
    let mut last: BTreeMap<Id, &StageChange> = BTreeMap::new();
    for change in changes.iter().filter(|c| !c.deleted) {
        let entry = last.entry(change.lead_id).or_insert(change);
        if (change.at, change.id) > (entry.at, entry.id) {
            *entry = change;
        }
    }
    let mut won: BTreeMap<Option<StageReason>, usize> = BTreeMap::new();
    let mut lost: BTreeMap<Option<StageReason>, usize> = BTreeMap::new();
    for change in last.values() {
        match change.to {
            Stage::Won => *won.entry(change.reason).or_insert(0) += 1,
            Stage::Lost => *lost.entry(change.reason).or_insert(0) += 1,
            _ => {}
        }
    }
    let ranked = |counts: BTreeMap<Option<StageReason>, usize>| {
        let mut rows: Vec<_> = counts.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        rows
    };
    Outcomes {
        won: ranked(won),
        lost: ranked(lost),
    }
}

// ---------------------------------------------------------------------------------------
// Reports' small tallies.

/// The Monday of `day`'s week (ISO weeks).
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Visits counted per week (Monday first) and kind, for every week that overlaps
/// `[from, to)`, oldest first; visits outside the range are ignored.
pub fn visits_by_week(
    visits: impl IntoIterator<Item = (NaiveDate, VisitKind)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, [usize; VisitKind::ALL.len()])> {
    let mut weeks: BTreeMap<NaiveDate, [usize; VisitKind::ALL.len()]> = BTreeMap::new();
    let mut week = week_start(from);
    while week < to {
        weeks.insert(week, [0; VisitKind::ALL.len()]);
        week += chrono::Duration::days(7);
    }
    for (day, kind) in visits {
        if day < from || day >= to {
            continue;
        }
        let Some(slot) = VisitKind::ALL.iter().position(|&k| k == kind) else {
            continue;
        };
        if let Some(counts) = weeks.get_mut(&week_start(day)) {
            counts[slot] += 1;
        }
    }
    weeks.into_iter().collect()
}

/// Counts and sums per key, largest sum first (then most, then key order): deals by
/// source channel.
pub fn tally<K: Ord + Copy>(items: impl IntoIterator<Item = (K, i64)>) -> Vec<(K, usize, i64)> {
    let mut all: BTreeMap<K, (usize, i64)> = BTreeMap::new();
    for (key, amount) in items {
        let entry = all.entry(key).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(amount);
    }
    let mut rows: Vec<(K, usize, i64)> = all.into_iter().map(|(k, (n, s))| (k, n, s)).collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    rows
}

/// A rep's line on the team leaderboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The rep.
    pub rep: Id,
    /// Net deal amount in the leaderboard's currency.
    pub amount: i64,
    /// Net deals.
    pub deals: i64,
    /// Visits.
    pub visits: i64,
    /// The rep's amount target, if set.
    pub target: Option<i64>,
}

impl Standing {
    /// Per cent of the target reached (`None` without a target).
    pub fn percent(&self) -> Option<i64> {
        self.target.map(|target| {
            crate::target::Attainment {
                target,
                actual: self.amount,
            }
            .percent()
        })
    }
}

/// The team's reps ranked by net amount, then deals, then visits (then id, so the order
/// is stable).
pub fn leaderboard(
    reps: &BTreeSet<Id>,
    actuals: &BTreeMap<Option<Id>, crate::target::Actuals>,
    targets: &BTreeMap<Id, i64>,
    currency: Currency,
) -> Vec<Standing> {
    let mut rows: Vec<Standing> = reps
        .iter()
        .map(|&rep| {
            let mine = actuals.get(&Some(rep)).cloned().unwrap_or_default();
            Standing {
                rep,
                amount: mine.amount.get(&currency).copied().unwrap_or(0),
                deals: mine.deals,
                visits: mine.visits,
                target: targets.get(&rep).copied(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.amount
            .cmp(&a.amount)
            .then(b.deals.cmp(&a.deals))
            .then(b.visits.cmp(&a.visits))
            .then(a.rep.cmp(&b.rep))
    });
    rows
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::{date, id, lead};
    use crate::target::Actuals;
    use crate::Money;
    use proptest::prelude::*;

    fn at(n: u8, stage: Stage, value: Option<i64>) -> Lead {
        Lead {
            stage,
            expected_value: value.map(|minor| Money {
                minor,
                currency: Currency::CNY,
            }),
            ..lead(n, "客户")
        }
    }

    fn moved(n: u8, lead: u8, from: Option<Stage>, to: Stage, at: i64) -> StageChange {
        StageChange {
            id: id(n),
            lead_id: id(lead),
            from,
            to,
            at,
            reason: None,
            owner: None,
            team: None,
            logged_by: None,
            created_at: at,
            updated_at: at,
            deleted: false,
        }
    }

    #[test]
    fn reasons_follow_conventions() {
        assert_choice_enum!(StageReason, "stage_reason");
    }

    #[test]
    fn a_change_is_recorded_only_when_the_stage_moves() {
        let before = at(1, Stage::Presentation, None);
        let after = at(1, Stage::Lost, None);
        let meta = RecordMeta::new(id(50), 9);
        let change =
            StageChange::between(meta, Some(&before), &after, Some(StageReason::Price), 9).unwrap();
        assert_eq!(
            (
                change.from,
                change.to,
                change.reason,
                change.lead_id,
                change.at
            ),
            (
                Some(Stage::Presentation),
                Stage::Lost,
                Some(StageReason::Price),
                id(1),
                9
            )
        );
        assert_eq!(change.check(), Ok(change.clone()));
        assert!(StageChange::between(meta, Some(&before), &before, None, 9).is_none());
        // A new lead: only when it starts past the first stage; a reason only for won/lost.
        assert!(
            StageChange::between(meta, None, &at(2, Stage::Prospecting, None), None, 9).is_none()
        );
        let new = StageChange::between(
            meta,
            None,
            &at(2, Stage::Negotiation, None),
            Some(StageReason::Price),
            9,
        )
        .unwrap();
        assert_eq!((new.from, new.reason), (None, None));
    }

    #[test]
    fn checks_refuse_impossible_moves() {
        let same = moved(1, 1, Some(Stage::Won), Stage::Won, 5);
        assert_eq!(
            same.check().unwrap_err().get("to"),
            Some(Invalid::UnknownOption)
        );
        let reason = StageChange {
            reason: Some(StageReason::Price),
            ..moved(1, 1, Some(Stage::Prospecting), Stage::Presentation, 5)
        };
        assert_eq!(
            reason.check().unwrap_err().get("reason"),
            Some(Invalid::UnknownOption)
        );
        let never = moved(1, 1, None, Stage::Won, -1);
        assert_eq!(
            never.check().unwrap_err().get("at"),
            Some(Invalid::DateTime)
        );
    }

    #[test]
    fn the_pipeline_weights_by_stage_probability() {
        let leads = [
            at(1, Stage::Prospecting, Some(100_000)),
            at(2, Stage::Prospecting, None),
            at(3, Stage::Negotiation, Some(200_001)),
            at(4, Stage::Won, Some(50_000)),
            at(5, Stage::Lost, Some(70_000)),
            Lead {
                deleted: true,
                ..at(6, Stage::Negotiation, Some(999))
            },
        ];
        let stages = pipeline(&leads, &Probabilities::default());
        assert_eq!(stages.len(), Stage::ALL.len());
        let get = |stage| stages.iter().find(|s| s.stage == stage).unwrap();
        assert_eq!(get(Stage::Prospecting).count, 2);
        assert_eq!(get(Stage::Prospecting).expected[&Currency::CNY], 10_000);
        assert_eq!(get(Stage::Negotiation).count, 1);
        assert_eq!(get(Stage::Negotiation).amount[&Currency::CNY], 200_001);
        assert_eq!(get(Stage::Negotiation).expected[&Currency::CNY], 150_001);
        assert_eq!(get(Stage::Lost).expected[&Currency::CNY], 0);
        assert_eq!(
            forecast(&stages)[&Currency::CNY],
            160_001,
            "won and lost are no forecast"
        );
        let custom = Probabilities {
            negotiation: 90,
            ..Probabilities::default()
        };
        let stages = pipeline(&leads, &custom);
        assert_eq!(
            stages[3].expected[&Currency::CNY],
            weighted(200_001, 90),
            "{stages:?}"
        );
        assert_eq!(weighted(5, 50), 3, "half up");
        assert_eq!(weighted(-5, 50), -2);
        assert_eq!(weighted(i64::MAX, 100), i64::MAX);
    }

    #[test]
    fn the_funnel_counts_the_furthest_stage_reached() {
        let leads = [
            at(1, Stage::Prospecting, None),
            at(2, Stage::Presentation, None),
            at(3, Stage::Won, None),
            at(4, Stage::Lost, None),
            at(5, Stage::AfterSales, None),
            at(6, Stage::Prospecting, None),
        ];
        let changes = [
            // Lead 4 was lost in negotiation; lead 6 went to presentation and back.
            moved(10, 4, Some(Stage::Negotiation), Stage::Lost, 5),
            moved(11, 6, Some(Stage::Prospecting), Stage::Presentation, 1),
            moved(12, 6, Some(Stage::Presentation), Stage::Prospecting, 2),
            // A change of a lead outside the cohort counts nothing.
            moved(13, 99, Some(Stage::Negotiation), Stage::Won, 3),
        ];
        let steps = funnel(&leads, &changes);
        let reached: Vec<usize> = steps.iter().map(|s| s.reached).collect();
        assert_eq!(reached, [6, 5, 5, 3, 2]);
        let conversion: Vec<Option<u32>> = steps.iter().map(|s| s.conversion).collect();
        assert_eq!(conversion, [None, Some(83), Some(100), Some(60), Some(66)]);
        let empty = funnel(&[], &changes);
        assert!(empty
            .iter()
            .all(|s| s.reached == 0 && s.conversion.is_none()));
    }

    proptest! {
        #[test]
        fn funnel_steps_never_grow(
            stages in prop::collection::vec(0usize..7, 0..40),
            moves in prop::collection::vec((0u8..40, 0usize..7, 0usize..7), 0..40),
        ) {
            let leads: Vec<Lead> = stages
                .iter()
                .enumerate()
                .map(|(i, &s)| at(i as u8, Stage::ALL[s], None))
                .collect();
            let changes: Vec<StageChange> = moves
                .iter()
                .enumerate()
                .map(|(i, &(lead, from, to))| {
                    moved(200u8.wrapping_add(i as u8), lead, Some(Stage::ALL[from]), Stage::ALL[to], i as i64)
                })
                .collect();
            let steps = funnel(&leads, &changes);
            prop_assert_eq!(steps[0].reached, leads.len());
            for pair in steps.windows(2) {
                prop_assert!(pair[1].reached <= pair[0].reached);
                if let Some(c) = pair[1].conversion {
                    prop_assert!(c <= 100);
                }
            }
        }
    }

    #[test]
    fn outcomes_count_each_lead_by_its_last_move() {
        let mut changes = vec![
            StageChange {
                reason: Some(StageReason::Price),
                ..moved(1, 1, Some(Stage::Negotiation), Stage::Lost, 1)
            },
            // Lead 1 was won back later: it counts as won.
            StageChange {
                reason: Some(StageReason::Relationship),
                ..moved(2, 1, Some(Stage::Lost), Stage::Won, 5)
            },
            StageChange {
                reason: Some(StageReason::Price),
                ..moved(3, 2, Some(Stage::Negotiation), Stage::Lost, 2)
            },
            moved(4, 3, Some(Stage::Negotiation), Stage::Lost, 3),
            StageChange {
                reason: Some(StageReason::Competitor),
                ..moved(5, 4, Some(Stage::Negotiation), Stage::Lost, 3)
            },
            StageChange {
                reason: Some(StageReason::Price),
                ..moved(6, 5, Some(Stage::Presentation), Stage::Lost, 3)
            },
            moved(7, 6, Some(Stage::Prospecting), Stage::Presentation, 3),
        ];
        changes.push(StageChange {
            deleted: true,
            ..moved(8, 7, Some(Stage::Negotiation), Stage::Won, 3)
        });
        let out = outcomes(&changes);
        assert_eq!(out.won, [(Some(StageReason::Relationship), 1)]);
        assert_eq!(
            out.lost,
            [
                (Some(StageReason::Price), 2),
                (None, 1),
                (Some(StageReason::Competitor), 1)
            ]
        );
    }

    #[test]
    fn visits_are_counted_per_monday_week() {
        use VisitKind::*;
        let from = date(2026, 11, 1); // a Sunday
        let to = date(2026, 12, 1);
        let rows = visits_by_week(
            [
                (date(2026, 11, 1), PhoneCall),
                (date(2026, 11, 2), PhoneCall),
                (date(2026, 11, 8), InPerson),
                (date(2026, 11, 30), PhoneCall),
                (date(2026, 12, 1), PhoneCall),
                (date(2026, 10, 31), PhoneCall),
            ],
            from,
            to,
        );
        let weeks: Vec<NaiveDate> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            weeks,
            [
                date(2026, 10, 26),
                date(2026, 11, 2),
                date(2026, 11, 9),
                date(2026, 11, 16),
                date(2026, 11, 23),
                date(2026, 11, 30)
            ]
        );
        let calls = VisitKind::ALL.iter().position(|&k| k == PhoneCall).unwrap();
        assert_eq!(rows[0].1[calls], 1, "1 November, the week of 26 October");
        assert_eq!(rows[1].1.iter().sum::<usize>(), 2);
        assert_eq!(rows[5].1[calls], 1, "1 December is outside");
        assert_eq!(week_start(date(2026, 11, 30)), date(2026, 11, 30));
        assert_eq!(week_start(date(2027, 1, 3)), date(2026, 12, 28));
    }

    #[test]
    fn tallies_and_the_leaderboard_rank_by_amount() {
        let rows = tally([("a", 5), ("b", 10), ("a", 7), ("c", 10)]);
        assert_eq!(rows, [("a", 2, 12), ("b", 1, 10), ("c", 1, 10)]);
        let reps: BTreeSet<Id> = [id(1), id(2), id(3)].into();
        let mut actuals: BTreeMap<Option<Id>, Actuals> = BTreeMap::new();
        actuals.insert(
            Some(id(2)),
            Actuals {
                amount: [(Currency::CNY, 500)].into(),
                deals: 2,
                visits: 1,
                new_leads: 0,
            },
        );
        actuals.insert(
            Some(id(3)),
            Actuals {
                visits: 9,
                ..Actuals::default()
            },
        );
        let targets: BTreeMap<Id, i64> = [(id(2), 1000)].into();
        let board = leaderboard(&reps, &actuals, &targets, Currency::CNY);
        let order: Vec<Id> = board.iter().map(|s| s.rep).collect();
        assert_eq!(order, [id(2), id(3), id(1)]);
        assert_eq!(board[0].percent(), Some(50));
        assert_eq!(board[1].percent(), None);
    }
}
