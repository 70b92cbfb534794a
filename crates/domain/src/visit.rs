//! Visits (拜访/洽谈记录): each contact with a lead, from a phone call to a demo, the form
//! that logs one, and how logging a visit moves the lead along.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::lead::limits::{LONG, NOTES};
use crate::value::{format_date, half_width};
use crate::{
    local_datetime, local_to_unix_ms, optional_text, parse_date, parse_optional_date, GeoPoint, Id,
    Invalid, Lead, RecordMeta, Stage, ValidationErrors,
};

choice_enum! {
    /// How the rep was in touch.
    #[derive(Default)]
    pub enum VisitKind in "visit_kind" {
        /// 上门拜访: met in person.
        #[default]
        InPerson => "in_person",
        /// 电话: a phone call.
        PhoneCall => "phone_call",
        /// A message, WeChat or otherwise.
        Message => "message",
        /// A video meeting.
        VideoMeeting => "video_meeting",
        /// A product demonstration (产品演示).
        Demo => "demo",
        /// An event such as a conference sale (会销).
        Event => "event",
    }
}

/// Proof of presence from the Geolocation API.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    /// Where the device was.
    pub point: GeoPoint,
    /// The reported accuracy radius in metres.
    pub accuracy_m: f64,
    /// When the position was taken, unix ms.
    pub at: i64,
}

// The point cannot hold NaN (see GeoPoint) and `CheckIn::new` refuses a NaN accuracy, so
// equality is reflexive for check-ins built the intended way.
impl Eq for CheckIn {}

impl CheckIn {
    /// A check-in, if the accuracy is a finite, non-negative radius.
    pub fn new(point: GeoPoint, accuracy_m: f64, at: i64) -> Result<CheckIn, Invalid> {
        let check_in = CheckIn {
            point,
            accuracy_m,
            at,
        };
        if check_in.is_valid() {
            Ok(check_in)
        } else {
            Err(Invalid::LatLng)
        }
    }

    fn is_valid(&self) -> bool {
        self.accuracy_m.is_finite()
            && self.accuracy_m >= 0.0
            && GeoPoint::new(self.point.lat, self.point.lng).is_ok()
    }
}

/// One contact with a lead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// The record id.
    pub id: Id,
    /// The lead visited.
    pub lead_id: Id,
    /// How the rep was in touch.
    #[serde(default)]
    pub kind: VisitKind,
    /// When it started, unix ms.
    pub started_at: i64,
    /// How long it took, in minutes.
    #[serde(default)]
    pub duration_min: Option<u32>,
    /// GPS check-in, if taken.
    #[serde(default)]
    pub check_in: Option<CheckIn>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Needs discovered (客户需求).
    #[serde(default)]
    pub needs_discovered: String,
    /// Objections raised (异议).
    #[serde(default)]
    pub objections: String,
    /// Outcome.
    #[serde(default)]
    pub outcome: String,
    /// The lead's stage after the visit, when it moved.
    #[serde(default)]
    pub stage_after: Option<Stage>,
    /// Agreed next step.
    #[serde(default)]
    pub next_step: String,
    /// When to follow up next.
    #[serde(default)]
    pub next_follow_up: Option<NaiveDate>,
    /// Training items shown (洽谈资料).
    #[serde(default)]
    pub materials: Vec<Id>,
    /// Photos taken on the visit (images only), their bytes moved like any attachment.
    #[serde(default)]
    pub photos: Vec<crate::Attachment>,
    /// The user it belongs to: whoever logged it, and after a manager reassigns its lead,
    /// the lead's new owner (the lead's history follows the lead).
    #[serde(default)]
    pub owner: Option<Id>,
    /// The team it belongs to.
    #[serde(default)]
    pub team: Option<Id>,
    /// Who logged it, kept when the lead (and with it this visit) moves to another rep.
    /// Server-managed: the server sets it to the pushing user when the visit is created, and
    /// no device ever writes it. `None` for visits created before the server recorded it.
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

impl Visit {
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

/// What the visit form holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitDraft {
    /// The lead (required).
    pub lead_id: Option<Id>,
    /// Kind of contact.
    pub kind: VisitKind,
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// Local time, `HH:MM` (or `HH:MM:SS`).
    pub time: String,
    /// Minutes, may be empty.
    pub duration_min: String,
    /// GPS check-in.
    pub check_in: Option<CheckIn>,
    /// Notes.
    pub notes: String,
    /// Needs discovered.
    pub needs_discovered: String,
    /// Objections.
    pub objections: String,
    /// Outcome.
    pub outcome: String,
    /// Stage after the visit.
    pub stage_after: Option<Stage>,
    /// Next step.
    pub next_step: String,
    /// Next follow-up date, `YYYY-MM-DD` or empty.
    pub next_follow_up: String,
    /// Training items shown; not typed, carried through so editing keeps them.
    pub materials: Vec<Id>,
    /// Photo attachments; not typed, carried through so editing keeps them.
    pub photos: Vec<crate::Attachment>,
    /// Who logged the visit (server-managed); not typed, carried through so editing keeps it.
    pub logged_by: Option<Id>,
}

/// The longest visit, in minutes: a day.
pub const MAX_DURATION_MIN: u32 = 1440;

fn parse_time(raw: &str) -> Result<NaiveTime, Invalid> {
    let text: String = raw.trim().chars().map(half_width).collect();
    if text.is_empty() {
        return Err(Invalid::Required);
    }
    let number = |part: &str| -> Option<u32> {
        let digits =
            !part.is_empty() && part.len() <= 2 && part.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| part.parse().ok()).flatten()
    };
    let numbers: Option<Vec<u32>> = text.split(':').map(number).collect();
    let time = match numbers.as_deref() {
        Some(&[hour, minute]) => NaiveTime::from_hms_opt(hour, minute, 0),
        Some(&[hour, minute, second]) => NaiveTime::from_hms_opt(hour, minute, second),
        _ => None,
    };
    time.ok_or(Invalid::DateTime)
}

pub(crate) fn parse_duration(raw: &str) -> Result<Option<u32>, Invalid> {
    let text: String = raw.trim().chars().map(half_width).collect();
    if text.is_empty() {
        return Ok(None);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Duration);
    }
    match text.parse::<u32>() {
        Ok(minutes) if (1..=MAX_DURATION_MIN).contains(&minutes) => Ok(Some(minutes)),
        _ => Err(Invalid::Duration),
    }
}

fn format_time(time: NaiveTime) -> String {
    // Whole minutes are what `<input type=time>` shows; seconds appear only when a visit
    // was stamped to the second, so editing it does not silently move it.
    if time.second() == 0 {
        format!("{:02}:{:02}", time.hour(), time.minute())
    } else {
        format!(
            "{:02}:{:02}:{:02}",
            time.hour(),
            time.minute(),
            time.second()
        )
    }
}

impl VisitDraft {
    /// The form for editing `visit`, showing its time in the zone `utc_offset_minutes`
    /// east of UTC.
    pub fn from_visit(visit: &Visit, utc_offset_minutes: i32) -> VisitDraft {
        let local = local_datetime(visit.started_at, utc_offset_minutes);
        VisitDraft {
            lead_id: Some(visit.lead_id),
            kind: visit.kind,
            date: format_date(local.date()),
            time: format_time(local.time()),
            duration_min: visit
                .duration_min
                .map(|m| m.to_string())
                .unwrap_or_default(),
            check_in: visit.check_in,
            notes: visit.notes.clone(),
            needs_discovered: visit.needs_discovered.clone(),
            objections: visit.objections.clone(),
            outcome: visit.outcome.clone(),
            stage_after: visit.stage_after,
            next_step: visit.next_step.clone(),
            next_follow_up: visit.next_follow_up.map(format_date).unwrap_or_default(),
            materials: visit.materials.clone(),
            photos: visit.photos.clone(),
            logged_by: visit.logged_by,
        }
    }

    /// Turns the form into a visit, reporting every invalid field at once. The date and
    /// time are local to a zone `utc_offset_minutes` east of UTC (+480 in China).
    pub fn parse(
        &self,
        meta: &RecordMeta,
        now_ms: i64,
        utc_offset_minutes: i32,
    ) -> Result<Visit, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.lead_id.is_none() {
            errors.push("lead_id", Invalid::Required);
        }
        let started = match parse_date(&self.date) {
            Ok(date) => match parse_time(&self.time) {
                Ok(time) => Some(NaiveDateTime::new(date, time)),
                Err(reason) => {
                    errors.push("started_at", reason);
                    None
                }
            },
            Err(reason) => {
                errors.push("started_at", reason);
                None
            }
        };
        let duration_min = errors.check("duration_min", parse_duration(&self.duration_min));
        if self.check_in.is_some_and(|c| !c.is_valid()) {
            errors.push("check_in", Invalid::LatLng);
        }
        let notes = errors.check("notes", optional_text(&self.notes, NOTES));
        let needs_discovered = errors.check(
            "needs_discovered",
            optional_text(&self.needs_discovered, LONG),
        );
        let objections = errors.check("objections", optional_text(&self.objections, LONG));
        let outcome = errors.check("outcome", optional_text(&self.outcome, LONG));
        let next_step = errors.check("next_step", optional_text(&self.next_step, LONG));
        let next_follow_up =
            errors.check("next_follow_up", parse_optional_date(&self.next_follow_up));
        if let Err(reason) = check_photos(&self.photos) {
            errors.push("photos", reason);
        }
        if let (Some(follow_up), Some(started)) = (next_follow_up, started) {
            // A follow-up planned before the visit happened is a typo, not a plan.
            if follow_up < started.date() {
                errors.push("next_follow_up", Invalid::BeforeVisit);
            }
        }
        let (Some(lead_id), Some(started), true) = (self.lead_id, started, errors.is_empty())
        else {
            return Err(errors);
        };
        Ok(Visit {
            id: meta.id,
            lead_id,
            kind: self.kind,
            started_at: local_to_unix_ms(started, utc_offset_minutes),
            duration_min,
            check_in: self.check_in,
            notes,
            needs_discovered,
            objections,
            outcome,
            stage_after: self.stage_after,
            next_step,
            next_follow_up,
            materials: self.materials.clone(),
            photos: self.photos.clone(),
            owner: meta.owner,
            team: meta.team,
            logged_by: self.logged_by,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        })
    }
}

/// The most photos one visit keeps.
pub const MAX_PHOTOS: usize = 10;

/// Photos are images (not PDFs), each valid as an attachment, each once, at most
/// [`MAX_PHOTOS`].
fn check_photos(photos: &[crate::Attachment]) -> Result<(), Invalid> {
    let mut seen = std::collections::BTreeSet::new();
    let ok = photos.len() <= MAX_PHOTOS
        && photos.iter().all(|photo| {
            photo.is_image() && photo.check().is_ok() && seen.insert(photo.sha256.clone())
        });
    if ok {
        Ok(())
    } else {
        Err(Invalid::Attachment)
    }
}

/// The lead as it should be after logging `visit`: its next follow-up moved to the visit's
/// and its stage set to the visit's `stage_after`, when the visit has them.
///
/// Returns `None` when nothing would change (also when the visit is for another lead or is
/// deleted), so the caller writes and syncs nothing.
pub fn apply_visit_to_lead(lead: &Lead, visit: &Visit, now_ms: i64) -> Option<Lead> {
    if visit.lead_id != lead.id || visit.deleted {
        return None;
    }
    let mut next = lead.clone();
    if let Some(day) = visit.next_follow_up {
        next.next_follow_up = Some(day);
    }
    if let Some(stage) = visit.stage_after {
        next.stage = stage;
    }
    if next == *lead {
        return None;
    }
    next.updated_at = now_ms;
    Some(next)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::{date, id, lead};

    const CHINA: i32 = 480;

    fn draft() -> VisitDraft {
        VisitDraft {
            lead_id: Some(id(1)),
            kind: VisitKind::Demo,
            date: "2024-03-05".into(),
            time: "09:30".into(),
            duration_min: "45".into(),
            check_in: Some(CheckIn::new(GeoPoint::new(31.2, 121.5).unwrap(), 12.5, 5).unwrap()),
            notes: " 演示顺利 ".into(),
            needs_discovered: "要求支持离线".into(),
            objections: "价格偏高".into(),
            outcome: "同意试用".into(),
            stage_after: Some(Stage::Negotiation),
            next_step: "发报价".into(),
            next_follow_up: "2024-03-12".into(),
            materials: vec![id(7)],
            photos: vec![crate::Attachment {
                sha256: crate::Sha256::from_bytes(&[8; 32]),
                name: "展台.jpg".into(),
                mime: "image/jpeg".into(),
                size: 2_048,
            }],
            logged_by: None,
        }
    }

    #[test]
    fn visit_kinds_follow_conventions() {
        assert_choice_enum!(VisitKind, "visit_kind");
        assert_eq!(VisitKind::InPerson.key(), "visit_kind.in_person");
    }

    #[test]
    fn parses_local_time() {
        let visit = draft()
            .parse(&RecordMeta::new(id(2), 100), 200, CHINA)
            .unwrap();
        // 09:30 in China is 01:30 UTC.
        assert_eq!(visit.started_at, 1_709_602_200_000);
        assert_eq!(visit.duration_min, Some(45));
        assert_eq!(visit.notes, "演示顺利");
        assert_eq!((visit.created_at, visit.updated_at), (100, 200));
        let utc = draft().parse(&RecordMeta::new(id(2), 100), 200, 0).unwrap();
        assert_eq!(utc.started_at - visit.started_at, 8 * 3_600_000);
    }

    #[test]
    fn round_trips_through_draft() {
        let visit = draft()
            .parse(&RecordMeta::new(id(2), 100), 200, CHINA)
            .unwrap();
        let again = VisitDraft::from_visit(&visit, CHINA);
        assert_eq!(again.time, "09:30");
        assert_eq!(again.parse(&visit.meta(), 200, CHINA), Ok(visit.clone()));
        let mut expected = draft();
        expected.notes = "演示顺利".into();
        assert_eq!(again, expected);

        let to_the_second = Visit {
            started_at: visit.started_at + 7_000,
            ..visit
        };
        let draft = VisitDraft::from_visit(&to_the_second, CHINA);
        assert_eq!(draft.time, "09:30:07");
        assert_eq!(
            draft
                .parse(&to_the_second.meta(), 200, CHINA)
                .unwrap()
                .started_at,
            to_the_second.started_at
        );
    }

    #[test]
    fn collects_every_error() {
        let bad = VisitDraft {
            lead_id: None,
            time: "25:00".into(),
            duration_min: "0".into(),
            notes: "n".repeat(10_001),
            outcome: "o".repeat(2_001),
            next_follow_up: "2024-03-04".into(),
            check_in: Some(CheckIn {
                point: GeoPoint { lat: 0.0, lng: 0.0 },
                accuracy_m: f64::NAN,
                at: 0,
            }),
            ..draft()
        };
        let errors = bad.parse(&RecordMeta::new(id(2), 0), 0, CHINA).unwrap_err();
        assert_eq!(errors.get("lead_id"), Some(Invalid::Required));
        assert_eq!(errors.get("started_at"), Some(Invalid::DateTime));
        assert_eq!(errors.get("duration_min"), Some(Invalid::Duration));
        assert_eq!(errors.get("notes"), Some(Invalid::TooLong { max: 10_000 }));
        assert_eq!(errors.get("outcome"), Some(Invalid::TooLong { max: 2_000 }));
        assert_eq!(errors.get("check_in"), Some(Invalid::LatLng));
        // The follow-up cannot be checked against a visit time that did not parse.
        assert_eq!(errors.get("next_follow_up"), None);
        assert_eq!(errors.len(), 6);

        let early = VisitDraft {
            next_follow_up: "2024-03-04".into(),
            ..draft()
        };
        let errors = early
            .parse(&RecordMeta::new(id(2), 0), 0, CHINA)
            .unwrap_err();
        assert_eq!(
            errors.0,
            [crate::FieldError {
                field: "next_follow_up",
                reason: Invalid::BeforeVisit
            }]
        );

        let no_date = VisitDraft {
            date: String::new(),
            ..draft()
        };
        let errors = no_date
            .parse(&RecordMeta::new(id(2), 0), 0, CHINA)
            .unwrap_err();
        assert_eq!(errors.get("started_at"), Some(Invalid::Required));
    }

    #[test]
    fn times_and_durations() {
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap();
        assert_eq!(parse_time("9:05"), Ok(t(9, 5, 0)));
        assert_eq!(parse_time("０９：０５"), Ok(t(9, 5, 0)));
        assert_eq!(parse_time("23:59:59"), Ok(t(23, 59, 59)));
        assert_eq!(parse_time(""), Err(Invalid::Required));
        for raw in [
            "24:00",
            "12:60",
            "12",
            "12:",
            ":30",
            "12:30:00:00",
            "12:3a",
            "123:00",
        ] {
            assert_eq!(parse_time(raw), Err(Invalid::DateTime), "{raw}");
        }
        assert_eq!(parse_duration(""), Ok(None));
        assert_eq!(parse_duration("1440"), Ok(Some(1440)));
        assert_eq!(parse_duration("１５"), Ok(Some(15)));
        for raw in ["0", "1441", "-5", "1.5", "abc", "99999999999"] {
            assert_eq!(parse_duration(raw), Err(Invalid::Duration), "{raw}");
        }
    }

    #[test]
    fn applying_a_visit_moves_the_lead() {
        let lead = Lead {
            next_follow_up: Some(date(2024, 3, 5)),
            ..lead(1, "Li")
        };
        let visit = draft().parse(&RecordMeta::new(id(2), 0), 0, CHINA).unwrap();
        let moved = apply_visit_to_lead(&lead, &visit, 9_999).unwrap();
        assert_eq!(moved.next_follow_up, Some(date(2024, 3, 12)));
        assert_eq!(moved.stage, Stage::Negotiation);
        assert_eq!(moved.updated_at, 9_999);
        assert_eq!(apply_visit_to_lead(&moved, &visit, 10_000), None);

        let silent = Visit {
            next_follow_up: None,
            stage_after: None,
            ..visit.clone()
        };
        assert_eq!(apply_visit_to_lead(&lead, &silent, 1), None);

        let stage_only = Visit {
            next_follow_up: None,
            ..visit.clone()
        };
        let staged = apply_visit_to_lead(&lead, &stage_only, 1).unwrap();
        assert_eq!(staged.next_follow_up, lead.next_follow_up);
        assert_eq!(staged.stage, Stage::Negotiation);

        let other_lead = Visit {
            lead_id: id(5),
            ..visit
        };
        assert_eq!(apply_visit_to_lead(&lead, &other_lead, 1), None);
    }

    #[test]
    fn photos_are_images_kept_once_and_named_as_attachments() {
        let meta = RecordMeta::new(id(2), 10);
        let visit = draft().parse(&meta, 10, CHINA).unwrap();
        let value = serde_json::to_value(&visit).unwrap();
        let named = crate::attachments_of(crate::RecordKind::Visit, &value).unwrap();
        assert_eq!(named, vec![crate::Sha256::from_bytes(&[8; 32])]);
        let mut pdf = draft();
        pdf.photos[0].mime = "application/pdf".into();
        assert_eq!(
            pdf.parse(&meta, 10, CHINA).unwrap_err().get("photos"),
            Some(Invalid::Attachment)
        );
        let mut twice = draft();
        twice.photos.push(twice.photos[0].clone());
        assert!(twice.parse(&meta, 10, CHINA).is_err());
        let mut many = draft();
        many.photos = (0..=MAX_PHOTOS as u8)
            .map(|n| crate::Attachment {
                sha256: crate::Sha256::from_bytes(&[n; 32]),
                ..draft().photos[0].clone()
            })
            .collect();
        assert!(many.parse(&meta, 10, CHINA).is_err());
    }
}
