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
use crate::{Id, Invalid, RecordMeta, ValidationErrors};

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
        if errors.is_empty() {
            Ok(self.clone())
        } else {
            Err(errors)
        }
    }
}

/// The settings form: the four intervals as typed.
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
}

impl TeamSettingsDraft {
    /// The form showing `days`.
    pub fn from_days(days: FollowUpDays) -> TeamSettingsDraft {
        TeamSettingsDraft {
            follow_up_a: days.a.to_string(),
            follow_up_b: days.b.to_string(),
            follow_up_c: days.c.to_string(),
            follow_up_d: days.d.to_string(),
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
        let settings = TeamSettings {
            id: meta.id,
            follow_up_a: day("follow_up_a", &self.follow_up_a),
            follow_up_b: day("follow_up_b", &self.follow_up_b),
            follow_up_c: day("follow_up_c", &self.follow_up_c),
            follow_up_d: day("follow_up_d", &self.follow_up_d),
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
        };
        let settings = draft.parse(&meta, 9).unwrap();
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
        let back = TeamSettingsDraft::from_days(settings.follow_up_days());
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
        };
        let errors = draft.parse(&meta, 9).unwrap_err();
        for field in ["follow_up_a", "follow_up_b", "follow_up_c", "follow_up_d"] {
            assert_eq!(errors.get(field), Some(Invalid::FollowUpDays), "{field}");
        }
        let mut stored = TeamSettingsDraft::from_days(FollowUpDays::default())
            .parse(&meta, 9)
            .unwrap();
        stored.follow_up_c = 0;
        assert_eq!(
            stored.check().unwrap_err().get("follow_up_c"),
            Some(Invalid::FollowUpDays)
        );
    }

    #[test]
    fn a_record_without_the_fields_reads_as_the_defaults() {
        let raw = serde_json::json!({ "id": TeamSettings::id_for(id(3)).to_string() });
        let settings: TeamSettings = serde_json::from_value(raw).unwrap();
        assert_eq!(settings.follow_up_days(), FollowUpDays::default());
    }
}
