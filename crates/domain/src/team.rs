//! 团队设置: what a team's managers decide for everyone in it, synced like every record. Today
//! that is the follow-up rhythm by grade ([`FollowUpDays`]): how soon the quick log proposes
//! the next follow-up after a visit to a due lead.
//!
//! One record per team, its id derived from the team's ([`TeamSettings::id_for`]), so two
//! managers who change it on two devices change the same record, field by field, like any
//! other edit; reps read it (reach: the team), only managers write it (the server enforces
//! both through [`crate::Record::WRITERS`] and [`crate::Record::reach`]).

use serde::{Deserialize, Serialize};

use crate::followup::{FollowUpDays, MAX_FOLLOW_UP_DAYS};
use crate::value::half_width;
use crate::{Id, Invalid, Probabilities, RecordMeta, ValidationErrors};

fn days_a() -> u16 {
    FollowUpDays::default().a
}
fn days_b() -> u16 {
    FollowUpDays::default().b
}
fn days_c() -> u16 {
    FollowUpDays::default().c
}
fn days_d() -> u16 {
    FollowUpDays::default().d
}

fn prob_prospecting() -> u8 {
    Probabilities::default().prospecting
}
fn prob_needs_analysis() -> u8 {
    Probabilities::default().needs_analysis
}
fn prob_presentation() -> u8 {
    Probabilities::default().presentation
}
fn prob_negotiation() -> u8 {
    Probabilities::default().negotiation
}

/// A team's settings. Each interval is its own field, so one manager's change to A and
/// another's to D made offline at the same time both stand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamSettings {
    /// The record id: [`TeamSettings::id_for`] the team.
    pub id: Id,
    /// Days from a visit to the next follow-up of an A customer.
    #[serde(default = "days_a")]
    pub follow_up_a: u16,
    /// … of a B customer.
    #[serde(default = "days_b")]
    pub follow_up_b: u16,
    /// … of a C customer.
    #[serde(default = "days_c")]
    pub follow_up_c: u16,
    /// … of a D customer.
    #[serde(default = "days_d")]
    pub follow_up_d: u16,
    /// Per cent chance of winning a lead in 潜在客户开发 (the pipeline's expected value).
    #[serde(default = "prob_prospecting")]
    pub prob_prospecting: u8,
    /// … in 客户需求分析.
    #[serde(default = "prob_needs_analysis")]
    pub prob_needs_analysis: u8,
    /// … in 产品介绍和演示.
    #[serde(default = "prob_presentation")]
    pub prob_presentation: u8,
    /// … in 价格谈判.
    #[serde(default = "prob_negotiation")]
    pub prob_negotiation: u8,
    /// The manager who first saved it.
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
    /// In the trash (the defaults apply again).
    #[serde(default)]
    pub deleted: bool,
}

impl TeamSettings {
    /// The settings record's id for `team`: the same on every device, made from the team id's
    /// random bytes with a timestamp of 0, which no record created by a device has.
    pub fn id_for(team: Id) -> Id {
        let bytes = team.as_uuid().as_bytes();
        let mut random = [0u8; 10];
        random.copy_from_slice(&bytes[6..16]);
        Id::from_parts(0, random)
    }

    /// The follow-up rhythm these settings hold.
    pub fn follow_up_days(&self) -> FollowUpDays {
        FollowUpDays {
            a: self.follow_up_a,
            b: self.follow_up_b,
            c: self.follow_up_c,
            d: self.follow_up_d,
        }
    }

    /// The stage probabilities these settings hold.
    pub fn probabilities(&self) -> Probabilities {
        Probabilities {
            prospecting: self.prob_prospecting,
            needs_analysis: self.prob_needs_analysis,
            presentation: self.prob_presentation,
            negotiation: self.prob_negotiation,
        }
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

    /// Checks every interval (1 to [`MAX_FOLLOW_UP_DAYS`] days), naming each bad field.
    pub fn check(&self) -> Result<TeamSettings, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for (field, days) in [
            ("follow_up_a", self.follow_up_a),
            ("follow_up_b", self.follow_up_b),
            ("follow_up_c", self.follow_up_c),
            ("follow_up_d", self.follow_up_d),
        ] {
            if !(1..=MAX_FOLLOW_UP_DAYS).contains(&days) {
                errors.push(field, Invalid::FollowUpDays);
            }
        }
        for (field, percent) in self.probability_fields() {
            if percent > 100 {
                errors.push(field, Invalid::Percent);
            }
        }
        if errors.is_empty() {
            Ok(self.clone())
        } else {
            Err(errors)
        }
    }
}

impl TeamSettings {
    fn probability_fields(&self) -> [(&'static str, u8); 4] {
        [
            ("prob_prospecting", self.prob_prospecting),
            ("prob_needs_analysis", self.prob_needs_analysis),
            ("prob_presentation", self.prob_presentation),
            ("prob_negotiation", self.prob_negotiation),
        ]
    }
}

/// The settings form: the four intervals and the four stage probabilities as typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TeamSettingsDraft {
    /// Days for A customers.
    pub follow_up_a: String,
    /// Days for B customers.
    pub follow_up_b: String,
    /// Days for C customers.
    pub follow_up_c: String,
    /// Days for D customers.
    pub follow_up_d: String,
    /// Per cent for 潜在客户开发.
    pub prob_prospecting: String,
    /// Per cent for 客户需求分析.
    pub prob_needs_analysis: String,
    /// Per cent for 产品介绍和演示.
    pub prob_presentation: String,
    /// Per cent for 价格谈判.
    pub prob_negotiation: String,
}

impl TeamSettingsDraft {
    /// The form showing `days` and the default probabilities.
    pub fn from_days(days: FollowUpDays) -> TeamSettingsDraft {
        TeamSettingsDraft::from_parts(days, Probabilities::default())
    }

    /// The form showing `days` and `chances`.
    pub fn from_parts(days: FollowUpDays, chances: Probabilities) -> TeamSettingsDraft {
        TeamSettingsDraft {
            follow_up_a: days.a.to_string(),
            follow_up_b: days.b.to_string(),
            follow_up_c: days.c.to_string(),
            follow_up_d: days.d.to_string(),
            prob_prospecting: chances.prospecting.to_string(),
            prob_needs_analysis: chances.needs_analysis.to_string(),
            prob_presentation: chances.presentation.to_string(),
            prob_negotiation: chances.negotiation.to_string(),
        }
    }

    /// The settings record for the team of `meta`, or every field's error at once.
    pub fn parse(&self, meta: &RecordMeta, now_ms: i64) -> Result<TeamSettings, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut day = |field: &'static str, raw: &str| {
            let text: String = raw.trim().chars().map(half_width).collect();
            match text.parse::<u16>() {
                Ok(days) if (1..=MAX_FOLLOW_UP_DAYS).contains(&days) => days,
                _ => {
                    errors.push(field, Invalid::FollowUpDays);
                    0
                }
            }
        };
        let follow_up_a = day("follow_up_a", &self.follow_up_a);
        let follow_up_b = day("follow_up_b", &self.follow_up_b);
        let follow_up_c = day("follow_up_c", &self.follow_up_c);
        let follow_up_d = day("follow_up_d", &self.follow_up_d);
        let mut percent = |field: &'static str, raw: &str| {
            let text: String = raw
                .trim()
                .trim_end_matches(['%', '％'])
                .trim()
                .chars()
                .map(half_width)
                .collect();
            match text.parse::<u8>() {
                Ok(p) if p <= 100 => p,
                _ => {
                    errors.push(field, Invalid::Percent);
                    0
                }
            }
        };
        let settings = TeamSettings {
            id: meta.id,
            follow_up_a,
            follow_up_b,
            follow_up_c,
            follow_up_d,
            prob_prospecting: percent("prob_prospecting", &self.prob_prospecting),
            prob_needs_analysis: percent("prob_needs_analysis", &self.prob_needs_analysis),
            prob_presentation: percent("prob_presentation", &self.prob_presentation),
            prob_negotiation: percent("prob_negotiation", &self.prob_negotiation),
            owner: meta.owner,
            team: meta.team,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        };
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }
}

/// Validation's round trip for a settings record.
pub(crate) fn reparse_settings(settings: &TeamSettings) -> Result<TeamSettings, ValidationErrors> {
    settings.check()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::id;

    #[test]
    fn every_device_names_a_teams_settings_alike_and_no_two_teams_share_them() {
        assert_eq!(TeamSettings::id_for(id(1)), TeamSettings::id_for(id(1)));
        assert_ne!(TeamSettings::id_for(id(1)), TeamSettings::id_for(id(2)));
        // No device makes an id at the epoch: it cannot be another record's.
        assert_eq!(TeamSettings::id_for(id(1)).unix_ms(), Some(0));
        assert_ne!(TeamSettings::id_for(id(1)), id(1));
    }

    #[test]
    fn the_form_takes_days_as_people_type_them() {
        let meta = RecordMeta::new(TeamSettings::id_for(id(1)), 5);
        let draft = TeamSettingsDraft {
            follow_up_a: " 2 ".into(),
            follow_up_b: "１０".into(),
            follow_up_c: "14".into(),
            follow_up_d: "60".into(),
            prob_prospecting: "5%".into(),
            prob_needs_analysis: "３０".into(),
            prob_presentation: "50".into(),
            prob_negotiation: " 80 ".into(),
        };
        let settings = draft.parse(&meta, 9).unwrap();
        assert_eq!(
            settings.probabilities(),
            Probabilities {
                prospecting: 5,
                needs_analysis: 30,
                presentation: 50,
                negotiation: 80
            }
        );
        assert_eq!(
            settings.follow_up_days(),
            FollowUpDays {
                a: 2,
                b: 10,
                c: 14,
                d: 60
            }
        );
        assert_eq!(settings.updated_at, 9);
        assert_eq!(reparse_settings(&settings).unwrap(), settings);
        let back =
            TeamSettingsDraft::from_parts(settings.follow_up_days(), settings.probabilities());
        assert_eq!(back.parse(&meta, 9).unwrap(), settings);
    }

    #[test]
    fn every_bad_interval_is_named() {
        let meta = RecordMeta::new(TeamSettings::id_for(id(1)), 5);
        let draft = TeamSettingsDraft {
            follow_up_a: "0".into(),
            follow_up_b: "seven".into(),
            follow_up_c: "".into(),
            follow_up_d: "400".into(),
            prob_prospecting: "101".into(),
            prob_needs_analysis: "-1".into(),
            prob_presentation: "half".into(),
            prob_negotiation: "".into(),
        };
        let errors = draft.parse(&meta, 9).unwrap_err();
        for field in ["follow_up_a", "follow_up_b", "follow_up_c", "follow_up_d"] {
            assert_eq!(errors.get(field), Some(Invalid::FollowUpDays), "{field}");
        }
        for field in [
            "prob_prospecting",
            "prob_needs_analysis",
            "prob_presentation",
            "prob_negotiation",
        ] {
            assert_eq!(errors.get(field), Some(Invalid::Percent), "{field}");
        }
        let mut stored = TeamSettingsDraft::from_days(FollowUpDays::default())
            .parse(&meta, 9)
            .unwrap();
        stored.follow_up_c = 0;
        stored.prob_negotiation = 101;
        let errors = stored.check().unwrap_err();
        assert_eq!(errors.get("follow_up_c"), Some(Invalid::FollowUpDays));
        assert_eq!(errors.get("prob_negotiation"), Some(Invalid::Percent));
    }

    #[test]
    fn a_record_without_the_fields_reads_as_the_defaults() {
        let raw = serde_json::json!({ "id": TeamSettings::id_for(id(3)).to_string() });
        let settings: TeamSettings = serde_json::from_value(raw).unwrap();
        assert_eq!(settings.follow_up_days(), FollowUpDays::default());
        assert_eq!(settings.probabilities(), Probabilities::default());
    }
}
