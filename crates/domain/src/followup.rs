//! Follow-ups that close: after a visit to a lead that was due or overdue, the next date is
//! asked for, with a default from the lead's grade (客户分级: an A customer is seen again
//! sooner than a D), and the quick choices the visit log offers (明天, 3 天后, 下周, 2 周后).
//!
//! Also the window a date typed into a form may lie in the past: a follow-up or an expected
//! close a little in the past is a correction; months back is a typo.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{Grade, Invalid, Lead, ValidationErrors};

/// Days from a visit to the next follow-up, by grade. [`Default`] is the sales guide's rhythm
/// (A every 3 days, B weekly, C fortnightly, D monthly); a manager can set the team's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpDays {
    /// Days after a visit to an A customer.
    pub a: u16,
    /// Days after a visit to a B customer.
    pub b: u16,
    /// Days after a visit to a C customer.
    pub c: u16,
    /// Days after a visit to a D customer.
    pub d: u16,
}

impl Default for FollowUpDays {
    fn default() -> Self {
        FollowUpDays {
            a: 3,
            b: 7,
            c: 14,
            d: 30,
        }
    }
}

/// The longest interval a team may set: a year.
pub const MAX_FOLLOW_UP_DAYS: u16 = 366;

impl FollowUpDays {
    /// The interval for `grade`.
    pub fn for_grade(&self, grade: Grade) -> u16 {
        match grade {
            Grade::A => self.a,
            Grade::B => self.b,
            Grade::C => self.c,
            Grade::D => self.d,
        }
    }

    /// Each interval is 1 to [`MAX_FOLLOW_UP_DAYS`] days.
    pub fn check(&self) -> Result<(), Invalid> {
        let ok = |days: u16| (1..=MAX_FOLLOW_UP_DAYS).contains(&days);
        if [self.a, self.b, self.c, self.d].into_iter().all(ok) {
            Ok(())
        } else {
            Err(Invalid::DateOutOfRange)
        }
    }
}

/// The next follow-up a visit to `lead` on `today` should set when the person picks nothing:
/// `today` + the grade's interval when the lead was due or overdue (the visit is that
/// follow-up, so a new date is needed or the lead would stay on Today), else `None` (the
/// lead's own date stands).
pub fn default_next_follow_up(
    lead: &Lead,
    today: NaiveDate,
    days: &FollowUpDays,
) -> Option<NaiveDate> {
    let needs_one = lead.is_due(today) || lead.is_overdue(today);
    needs_one.then(|| today + Duration::days(i64::from(days.for_grade(lead.grade))))
}

/// The quick choices of the visit log, as (message key, days from today).
pub const QUICK_FOLLOW_UPS: [(&str, i64); 4] = [
    ("followup.tomorrow", 1),
    ("followup.in_3_days", 3),
    ("followup.next_week", 7),
    ("followup.in_2_weeks", 14),
];

/// How far in the past a newly typed follow-up or expected close date may lie (a correction
/// of last week's plan); beyond it the date is refused as a typo.
pub const PAST_WINDOW_DAYS: i64 = 7;

/// Refuses a lead's follow-up or expected-close date that the person *changed* to a day more
/// than [`PAST_WINDOW_DAYS`] before `today`. A date the lead already had is never refused, so
/// editing an old lead's phone number does not fail on its stale follow-up.
pub fn check_lead_dates(
    lead: &Lead,
    before: Option<&Lead>,
    today: NaiveDate,
) -> Result<(), ValidationErrors> {
    let earliest = today - Duration::days(PAST_WINDOW_DAYS);
    let mut errors = ValidationErrors::default();
    let fields = [
        (
            "next_follow_up",
            lead.next_follow_up,
            before.map(|b| b.next_follow_up),
        ),
        (
            "expected_close",
            lead.expected_close,
            before.map(|b| b.expected_close),
        ),
    ];
    for (field, now, was) in fields {
        if was != Some(now) && now.is_some_and(|d| d < earliest) {
            errors.push(field, Invalid::TooFarPast);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::lead;
    use crate::Stage;

    fn date(iso: &str) -> NaiveDate {
        NaiveDate::parse_from_str(iso, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_due_or_overdue_lead_gets_the_grades_interval() {
        let today = date("2026-11-30");
        let days = FollowUpDays::default();
        for (grade, expected) in [
            (Grade::A, "2026-12-03"),
            (Grade::B, "2026-12-07"),
            (Grade::C, "2026-12-14"),
            (Grade::D, "2026-12-30"),
        ] {
            let mut due = lead(1, "张伟");
            due.grade = grade;
            due.next_follow_up = Some(today);
            assert_eq!(
                default_next_follow_up(&due, today, &days),
                Some(date(expected))
            );
            due.next_follow_up = Some(date("2026-11-02"));
            assert_eq!(
                default_next_follow_up(&due, today, &days),
                Some(date(expected))
            );
        }
    }

    #[test]
    fn a_lead_not_due_keeps_its_date() {
        let today = date("2026-11-30");
        let days = FollowUpDays::default();
        let mut later = lead(1, "张伟");
        later.next_follow_up = Some(date("2026-12-10"));
        assert_eq!(default_next_follow_up(&later, today, &days), None);
        later.next_follow_up = None;
        assert_eq!(default_next_follow_up(&later, today, &days), None);
        // A won deal gets no follow-ups, due or not.
        let mut won = lead(1, "张伟");
        won.stage = Stage::Won;
        won.next_follow_up = Some(today);
        assert_eq!(default_next_follow_up(&won, today, &days), None);
    }

    #[test]
    fn a_team_sets_its_own_rhythm_within_bounds() {
        let mine = FollowUpDays {
            a: 2,
            b: 5,
            c: 10,
            d: 60,
        };
        assert!(mine.check().is_ok());
        assert_eq!(mine.for_grade(Grade::D), 60);
        assert!(FollowUpDays { a: 0, ..mine }.check().is_err());
        assert!(FollowUpDays { d: 367, ..mine }.check().is_err());
        let today = date("2026-11-30");
        let mut due = lead(1, "张伟");
        due.grade = Grade::A;
        due.next_follow_up = Some(today);
        assert_eq!(
            default_next_follow_up(&due, today, &mine),
            Some(date("2026-12-02"))
        );
    }

    #[test]
    fn a_changed_date_far_in_the_past_is_refused_a_kept_one_is_not() {
        let today = date("2026-11-30");
        let mut edited = lead(1, "张伟");
        edited.next_follow_up = Some(date("2026-11-23"));
        assert!(
            check_lead_dates(&edited, None, today).is_ok(),
            "7 days back is a correction"
        );
        edited.next_follow_up = Some(date("2026-11-22"));
        let errors = check_lead_dates(&edited, None, today).unwrap_err();
        assert_eq!(errors.get("next_follow_up"), Some(Invalid::TooFarPast));
        edited.expected_close = Some(date("2025-11-30"));
        let errors = check_lead_dates(&edited, None, today).unwrap_err();
        assert_eq!(errors.get("expected_close"), Some(Invalid::TooFarPast));
        // The lead already had both dates: an edit of another field keeps them.
        let before = edited.clone();
        edited.name = "王芳".into();
        assert!(check_lead_dates(&edited, Some(&before), today).is_ok());
        // Future dates are always fine.
        edited.next_follow_up = Some(date("2027-06-01"));
        edited.expected_close = None;
        assert!(check_lead_dates(&edited, Some(&before), today).is_ok());
    }
}
