//! Training (培训): the material managers publish, the quizzes in it, the sessions they
//! schedule (培训计划) and what each person did with them (培训档案).
//!
//! Four record kinds, each syncing like a lead (outbox, push/pull, per-field merge):
//! - [`TrainingItem`] (培训资料): a manual, product sheet, case study, sales script (话术),
//!   checklist or quiz, written in Markdown by a manager, with its attachments, audience,
//!   assignment and — once published — a version that grows with each republication.
//! - [`TrainingSession`] (培训计划): a scheduled session with its invitees, attendance and
//!   the manager's 总结复盘 note.
//! - [`TrainingRecord`]: one person's progress on one item or session — opened, done,
//!   confirmed, and their evaluation (培训评估). Written only by that person; a device
//!   keeps one per item or session, and a person with two devices may hold two, which
//!   [`progress`] folds together (so two devices never conflict over "opened").
//! - [`QuizAttempt`]: one submitted quiz, never edited, so every attempt is kept.
//!
//! Who may see and write them is part of each kind ([`crate::Record::reach`],
//! [`crate::Record::WRITERS`]); the server enforces it.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::lead::limits::{LONG, NOTES};
use crate::value::{format_date, half_width};
use crate::{
    join_tags, local_datetime, local_to_unix_ms, optional_text, parse_date, parse_optional_date,
    parse_tags, required_text, Id, Invalid, RecordMeta, ValidationErrors,
};

choice_enum! {
    /// What a training item is.
    #[derive(Default)]
    pub enum ItemKind in "item_kind" {
        /// 培训手册: a manual.
        #[default]
        Manual => "manual",
        /// 产品资料: a product sheet.
        ProductSheet => "product_sheet",
        /// 案例分析: a case study.
        CaseStudy => "case_study",
        /// 话术: a sales script.
        Script => "script",
        /// 检查清单: a checklist.
        Checklist => "checklist",
        /// 测验: a quiz (its body introduces the questions).
        Quiz => "quiz",
    }
}

choice_enum! {
    /// Who a published item reaches.
    #[derive(Default)]
    pub enum Audience in "audience" {
        /// The author's team.
        #[default]
        Team => "team",
        /// Every user of the server.
        Everyone => "everyone",
    }
}

choice_enum! {
    /// How a quiz question is answered.
    #[derive(Default)]
    pub enum QuestionKind in "question_kind" {
        /// 单选题: exactly one option is right.
        #[default]
        Single => "single",
        /// 多选题: one or more options are right; partial answers earn partial credit.
        Multiple => "multiple",
        /// 判断题: true or false (the options are "true" then "false").
        TrueFalse => "true_false",
    }
}

choice_enum! {
    /// How a session teaches (培训方法).
    #[derive(Default)]
    pub enum SessionMethod in "session_method" {
        /// 课堂讲授: classroom.
        #[default]
        Classroom => "classroom",
        /// 案例研讨: case study.
        CaseStudy => "case_study",
        /// 角色扮演: role play.
        RolePlay => "role_play",
        /// 线上培训: online.
        Online => "online",
    }
}

/// Limits of training records, in characters unless said otherwise.
pub mod limits {
    /// A title.
    pub const TITLE: usize = 200;
    /// An item's Markdown body.
    pub const BODY: usize = 60_000;
    /// A quiz's questions.
    pub const QUESTIONS: usize = 50;
    /// A question's options.
    pub const OPTIONS: usize = 8;
    /// A question's prompt.
    pub const PROMPT: usize = 1_000;
    /// An option's text.
    pub const OPTION: usize = 300;
    /// An item's attachments.
    pub const ATTACHMENTS: usize = 20;
    /// An attachment's file name.
    pub const FILE_NAME: usize = 200;
    /// The largest attachment any server may accept, in bytes; a server states its own
    /// (smaller or equal) limit in `/api/health`.
    pub const MAX_ATTACHMENT_BYTES: u64 = 50 * 1024 * 1024;
    /// People an item is assigned to, or a session invites.
    pub const PEOPLE: usize = 500;
    /// Items a session covers.
    pub const SESSION_ITEMS: usize = 50;
}

/// The file types an attachment may have: images a browser shows and PDFs.
pub const ATTACHMENT_TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "application/pdf",
];

/// A SHA-256 digest as 64 lowercase hex digits: how an attachment's bytes are named, so the
/// same bytes travel and are stored once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256(String);

impl Sha256 {
    /// Reads a digest, accepting upper-case hex and writing it lower-case.
    pub fn parse(raw: &str) -> Result<Sha256, Invalid> {
        let hex = raw.trim();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256(hex.to_ascii_lowercase()))
        } else {
            Err(Invalid::Attachment)
        }
    }

    /// The digest from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Sha256 {
        use std::fmt::Write as _;
        let mut hex = String::with_capacity(64);
        for byte in bytes {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
        }
        Sha256(hex)
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256 {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        let parsed = Sha256::parse(&raw)?;
        // Only the normal spelling is stored, so every device compares the same text.
        if parsed.0 == raw {
            Ok(parsed)
        } else {
            Err(Invalid::Attachment)
        }
    }
}

impl From<Sha256> for String {
    fn from(sha: Sha256) -> String {
        sha.0
    }
}

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file attached to an item: its bytes travel in their own requests, named by digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The bytes' SHA-256.
    pub sha256: Sha256,
    /// The file name as the author's device had it.
    pub name: String,
    /// One of [`ATTACHMENT_TYPES`].
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
}

impl Attachment {
    /// Checks the name, type and size.
    pub fn check(&self) -> Result<(), Invalid> {
        let name_ok = !self.name.trim().is_empty()
            && self.name.trim() == self.name
            && self.name.chars().count() <= limits::FILE_NAME
            && !self.name.chars().any(char::is_control);
        let type_ok = ATTACHMENT_TYPES.contains(&self.mime.as_str());
        let size_ok = (1..=limits::MAX_ATTACHMENT_BYTES).contains(&self.size);
        if name_ok && type_ok && size_ok {
            Ok(())
        } else {
            Err(Invalid::Attachment)
        }
    }

    /// Whether the browser shows it as an image (else it is a PDF).
    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }
}

/// One quiz question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// How it is answered.
    #[serde(default)]
    pub kind: QuestionKind,
    /// The question.
    pub prompt: String,
    /// The options, in the order shown.
    pub options: Vec<String>,
    /// The indices of the right options, ascending.
    pub correct: Vec<u8>,
    /// Shown after submitting: why the answer is what it is.
    #[serde(default)]
    pub explanation: String,
}

impl Question {
    fn check(&self) -> Result<(), Invalid> {
        let text_ok = |text: &str, max: usize| {
            !text.trim().is_empty() && text.trim() == text && text.chars().count() <= max
        };
        let prompt_ok = text_ok(&self.prompt, limits::PROMPT);
        let explanation_ok =
            self.explanation.trim() == self.explanation && self.explanation.chars().count() <= LONG;
        let options_ok = (2..=limits::OPTIONS).contains(&self.options.len())
            && self.options.iter().all(|o| text_ok(o, limits::OPTION));
        let ascending = self.correct.windows(2).all(|pair| pair[0] < pair[1]);
        let in_range = self
            .correct
            .iter()
            .all(|&index| usize::from(index) < self.options.len());
        let count_ok = match self.kind {
            QuestionKind::Single => self.correct.len() == 1,
            QuestionKind::TrueFalse => self.correct.len() == 1 && self.options.len() == 2,
            QuestionKind::Multiple => !self.correct.is_empty(),
        };
        if prompt_ok && explanation_ok && options_ok && ascending && in_range && count_ok {
            Ok(())
        } else {
            Err(Invalid::Quiz)
        }
    }

    /// The credit, between 0 and 1, for choosing `chosen` (option indices, any order).
    ///
    /// Single choice and true/false: 1 for the right option alone, else 0. Multiple
    /// choice gives partial credit: each right option chosen counts +1, each wrong option
    /// chosen −1, divided by the number of right options and never below 0 — so choosing
    /// everything earns nothing, and half the right options with no wrong one earn half.
    pub fn credit(&self, chosen: &[u8]) -> f64 {
        let chosen: BTreeSet<u8> = chosen
            .iter()
            .copied()
            .filter(|&index| usize::from(index) < self.options.len())
            .collect();
        let correct: BTreeSet<u8> = self.correct.iter().copied().collect();
        match self.kind {
            QuestionKind::Single | QuestionKind::TrueFalse => {
                if chosen == correct {
                    1.0
                } else {
                    0.0
                }
            }
            QuestionKind::Multiple => {
                if correct.is_empty() {
                    return 0.0;
                }
                let right = chosen.intersection(&correct).count() as f64;
                let wrong = chosen.difference(&correct).count() as f64;
                ((right - wrong) / correct.len() as f64).max(0.0)
            }
        }
    }
}

/// A quiz: questions and the score needed to pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quiz {
    /// The percentage needed to pass, 0–100.
    pub pass_mark: u8,
    /// The questions, in order.
    pub questions: Vec<Question>,
}

/// How a set of answers scored.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// Percentage, 0–100, rounded to the nearest whole number.
    pub percent: u8,
    /// Whether `percent` reaches the pass mark.
    pub passed: bool,
    /// Per question, the credit earned (0 to 1).
    pub credits: Vec<f64>,
}

impl Quiz {
    /// Checks the pass mark and every question.
    pub fn check(&self) -> Result<(), Invalid> {
        if self.pass_mark > 100
            || self.questions.is_empty()
            || self.questions.len() > limits::QUESTIONS
        {
            return Err(Invalid::Quiz);
        }
        self.questions.iter().try_for_each(Question::check)
    }

    /// Scores `answers` (per question, the chosen option indices; missing answers count
    /// as unanswered). The percentage is the mean credit, rounded half up.
    pub fn score(&self, answers: &[Vec<u8>]) -> Score {
        let credits: Vec<f64> = self
            .questions
            .iter()
            .enumerate()
            .map(|(n, question)| question.credit(answers.get(n).map_or(&[][..], Vec::as_slice)))
            .collect();
        let percent = if credits.is_empty() {
            0
        } else {
            let mean = credits.iter().sum::<f64>() / credits.len() as f64;
            // In 0..=100 by construction.
            (mean * 100.0 + 0.5).floor().clamp(0.0, 100.0) as u8
        };
        Score {
            percent,
            passed: percent >= self.pass_mark,
            credits,
        }
    }
}

/// Who an item is assigned to (besides being readable by its whole audience).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Everyone in the author's team.
    #[serde(default)]
    pub whole_team: bool,
    /// Chosen people, by user id.
    #[serde(default)]
    pub people: Vec<Id>,
    /// By when.
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
}

impl Assignment {
    /// Whether `user` (a member of the item's team when `in_team`) is assigned.
    pub fn includes(&self, user: Id, in_team: bool) -> bool {
        (self.whole_team && in_team) || self.people.contains(&user)
    }

    /// Whether anyone is assigned.
    pub fn is_empty(&self) -> bool {
        !self.whole_team && self.people.is_empty()
    }
}

/// Training material (培训资料).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingItem {
    /// The record id.
    pub id: Id,
    /// The title.
    pub title: String,
    /// What it is.
    #[serde(default)]
    pub kind: ItemKind,
    /// The text, in Markdown (rendered without raw HTML; images name attachments).
    #[serde(default)]
    pub body: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who it reaches once published.
    #[serde(default)]
    pub audience: Audience,
    /// Whether it has been published; a published item stays published (withdrawing it
    /// is moving it to the trash, which reaches every reader).
    #[serde(default)]
    pub published: bool,
    /// 0 while a draft; 1 when first published, one more at each republication that
    /// readers should notice ("updated since you read it").
    #[serde(default)]
    pub version: u32,
    /// When the current version was published, unix ms.
    #[serde(default)]
    pub published_at: Option<i64>,
    /// The questions, for a quiz (and optionally any other kind).
    #[serde(default)]
    pub quiz: Option<Quiz>,
    /// Images and PDFs.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Who must read it, and by when.
    #[serde(default)]
    pub assigned: Assignment,
    /// The author.
    #[serde(default)]
    pub owner: Option<Id>,
    /// The author's team.
    #[serde(default)]
    pub team: Option<Id>,
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

impl TrainingItem {
    /// The id, owner, team and creation time.
    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id,
            owner: self.owner,
            team: self.team,
            created_at: self.created_at,
        }
    }

    /// The item published now: first publication, or a new version readers are told of.
    pub fn publish(&self, now_ms: i64) -> TrainingItem {
        let mut next = self.clone();
        next.published = true;
        next.version = self.version.saturating_add(1);
        next.published_at = Some(now_ms);
        next.updated_at = now_ms;
        next
    }

    /// Whether the item is past its due date for someone who has not finished it.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.assigned.due_on.is_some_and(|due| due < today)
    }
}

/// What the item editor holds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ItemDraft {
    /// Title (required).
    pub title: String,
    /// Kind.
    pub kind: ItemKind,
    /// Markdown body.
    pub body: String,
    /// Tags as typed.
    pub tags: String,
    /// Audience.
    pub audience: Audience,
    /// The quiz, edited as structure (questions are added and removed, not typed as text).
    pub quiz: Option<Quiz>,
    /// Attachments, added by picking files.
    pub attachments: Vec<Attachment>,
    /// Assigned to the whole team.
    pub assign_team: bool,
    /// Assigned to these people.
    pub assign_people: Vec<Id>,
    /// Due date, `YYYY-MM-DD` or empty.
    pub due_on: String,
    /// Publication state, carried through (publishing is [`TrainingItem::publish`]).
    pub published: bool,
    /// Version, carried through.
    pub version: u32,
    /// Publication time, carried through.
    pub published_at: Option<i64>,
}

impl ItemDraft {
    /// The form for editing `item`; parsing it unchanged gives the item back.
    pub fn from_item(item: &TrainingItem) -> ItemDraft {
        ItemDraft {
            title: item.title.clone(),
            kind: item.kind,
            body: item.body.clone(),
            tags: join_tags(&item.tags),
            audience: item.audience,
            quiz: item.quiz.clone(),
            attachments: item.attachments.clone(),
            assign_team: item.assigned.whole_team,
            assign_people: item.assigned.people.clone(),
            due_on: item.assigned.due_on.map(format_date).unwrap_or_default(),
            published: item.published,
            version: item.version,
            published_at: item.published_at,
        }
    }

    /// Turns the form into an item, reporting every invalid field at once.
    pub fn parse(&self, meta: &RecordMeta, now_ms: i64) -> Result<TrainingItem, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = errors.check("title", required_text(&self.title, limits::TITLE));
        let body = errors.check("body", optional_text(&self.body, limits::BODY));
        let tags = errors.check("tags", parse_tags(&self.tags));
        let due_on = errors.check("assigned", parse_optional_date(&self.due_on));
        match &self.quiz {
            Some(quiz) => {
                if let Err(reason) = quiz.check() {
                    errors.push("quiz", reason);
                }
            }
            None if self.kind == ItemKind::Quiz => errors.push("quiz", Invalid::Quiz),
            None => {}
        }
        let attachments_ok = self.attachments.len() <= limits::ATTACHMENTS
            && self.attachments.iter().all(|a| a.check().is_ok())
            && distinct(self.attachments.iter().map(|a| &a.sha256));
        if !attachments_ok {
            errors.push("attachments", Invalid::Attachment);
        }
        if self.assign_people.len() > limits::PEOPLE || !distinct(self.assign_people.iter()) {
            errors.push("assigned", Invalid::Id);
        }
        // Published exactly when it has a version and a publication time.
        let consistent =
            self.published == (self.version > 0) && self.published == self.published_at.is_some();
        if !consistent {
            errors.push("published", Invalid::UnknownOption);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TrainingItem {
            id: meta.id,
            title,
            kind: self.kind,
            body,
            tags,
            audience: self.audience,
            published: self.published,
            version: self.version,
            published_at: self.published_at,
            quiz: self.quiz.clone(),
            attachments: self.attachments.clone(),
            assigned: Assignment {
                whole_team: self.assign_team,
                people: self.assign_people.clone(),
                due_on,
            },
            owner: meta.owner,
            team: meta.team,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        })
    }
}

fn distinct<T: Ord>(values: impl Iterator<Item = T>) -> bool {
    let mut seen = BTreeSet::new();
    values.into_iter().all(|value| seen.insert(value))
}

/// A scheduled training session (培训计划).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingSession {
    /// The record id.
    pub id: Id,
    /// The title.
    pub title: String,
    /// When it starts, unix ms.
    pub starts_at: i64,
    /// How long, in minutes.
    #[serde(default)]
    pub duration_min: Option<u32>,
    /// Where (a room, an address) or the online meeting's link.
    #[serde(default)]
    pub place: String,
    /// How it teaches.
    #[serde(default)]
    pub method: SessionMethod,
    /// The training items it covers.
    #[serde(default)]
    pub items: Vec<Id>,
    /// Who is invited.
    #[serde(default)]
    pub invited: Vec<Id>,
    /// Who attended, marked by the manager.
    #[serde(default)]
    pub attended: Vec<Id>,
    /// The agenda, in Markdown.
    #[serde(default)]
    pub agenda: String,
    /// The manager's 总结复盘 (review) after the session.
    #[serde(default)]
    pub review: String,
    /// The organiser.
    #[serde(default)]
    pub owner: Option<Id>,
    /// The organiser's team (every member sees the session).
    #[serde(default)]
    pub team: Option<Id>,
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

impl TrainingSession {
    /// The id, owner, team and creation time.
    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id,
            owner: self.owner,
            team: self.team,
            created_at: self.created_at,
        }
    }

    /// When it ends (start + duration, or the start when no duration is given), unix ms.
    pub fn ends_at(&self) -> i64 {
        let minutes = i64::from(self.duration_min.unwrap_or(0));
        self.starts_at
            .saturating_add(minutes.saturating_mul(60_000))
    }
}

/// What the session form holds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SessionDraft {
    /// Title (required).
    pub title: String,
    /// Date, `YYYY-MM-DD` (required).
    pub date: String,
    /// Time, `HH:MM` (required).
    pub time: String,
    /// Duration in minutes, or empty.
    pub duration_min: String,
    /// Place or link.
    pub place: String,
    /// Method.
    pub method: SessionMethod,
    /// Items covered.
    pub items: Vec<Id>,
    /// Invited people.
    pub invited: Vec<Id>,
    /// Attendance.
    pub attended: Vec<Id>,
    /// Agenda.
    pub agenda: String,
    /// Review.
    pub review: String,
}

impl SessionDraft {
    /// The form for editing `session`, its time shown in the zone `utc_offset_minutes`
    /// east of UTC.
    pub fn from_session(session: &TrainingSession, utc_offset_minutes: i32) -> SessionDraft {
        let local = local_datetime(session.starts_at, utc_offset_minutes);
        SessionDraft {
            title: session.title.clone(),
            date: format_date(local.date()),
            time: local.time().format("%H:%M:%S").to_string(),
            duration_min: session
                .duration_min
                .map(|m| m.to_string())
                .unwrap_or_default(),
            place: session.place.clone(),
            method: session.method,
            items: session.items.clone(),
            invited: session.invited.clone(),
            attended: session.attended.clone(),
            agenda: session.agenda.clone(),
            review: session.review.clone(),
        }
    }

    /// Turns the form into a session, reporting every invalid field at once.
    pub fn parse(
        &self,
        meta: &RecordMeta,
        now_ms: i64,
        utc_offset_minutes: i32,
    ) -> Result<TrainingSession, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = errors.check("title", required_text(&self.title, limits::TITLE));
        let starts = match (parse_date(&self.date), parse_clock(&self.time)) {
            (Ok(date), Ok(time)) => Some(NaiveDateTime::new(date, time)),
            (Err(reason), _) | (_, Err(reason)) => {
                errors.push("starts_at", reason);
                None
            }
        };
        let duration_min = errors.check(
            "duration_min",
            crate::visit::parse_duration(&self.duration_min),
        );
        let place = errors.check(
            "place",
            optional_text(&self.place, crate::lead::limits::ADDRESS),
        );
        let agenda = errors.check("agenda", optional_text(&self.agenda, NOTES));
        let review = errors.check("review", optional_text(&self.review, NOTES));
        if self.items.len() > limits::SESSION_ITEMS || !distinct(self.items.iter()) {
            errors.push("items", Invalid::Id);
        }
        for (field, people) in [("invited", &self.invited), ("attended", &self.attended)] {
            if people.len() > limits::PEOPLE || !distinct(people.iter()) {
                errors.push(field, Invalid::Id);
            }
        }
        let (Some(starts), true) = (starts, errors.is_empty()) else {
            return Err(errors);
        };
        Ok(TrainingSession {
            id: meta.id,
            title,
            starts_at: local_to_unix_ms(starts, utc_offset_minutes),
            duration_min,
            place,
            method: self.method,
            items: self.items.clone(),
            invited: self.invited.clone(),
            attended: self.attended.clone(),
            agenda,
            review,
            owner: meta.owner,
            team: meta.team,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        })
    }
}

fn parse_clock(raw: &str) -> Result<chrono::NaiveTime, Invalid> {
    let text: String = raw.trim().chars().map(half_width).collect();
    if text.is_empty() {
        return Err(Invalid::Required);
    }
    chrono::NaiveTime::parse_from_str(&text, "%H:%M:%S")
        .or_else(|_| chrono::NaiveTime::parse_from_str(&text, "%H:%M"))
        .map_err(|_| Invalid::DateTime)
}

/// One person's progress on one item or one session (培训档案), and their evaluation of it
/// (培训评估). Exactly one of `item_id` and `session_id` is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The record id.
    pub id: Id,
    /// The item, for reading progress.
    #[serde(default)]
    pub item_id: Option<Id>,
    /// The session, for confirmation and evaluation.
    #[serde(default)]
    pub session_id: Option<Id>,
    /// When the item was first opened, unix ms.
    #[serde(default)]
    pub opened_at: Option<i64>,
    /// The item version last read (0: never opened).
    #[serde(default)]
    pub read_version: u32,
    /// When marked as done, unix ms.
    #[serde(default)]
    pub completed_at: Option<i64>,
    /// When the person confirmed they will attend the session, unix ms.
    #[serde(default)]
    pub confirmed_at: Option<i64>,
    /// Overall rating, 1–5.
    #[serde(default)]
    pub rating: Option<u8>,
    /// How useful for the job, 1–5 (a session's questionnaire).
    #[serde(default)]
    pub usefulness: Option<u8>,
    /// Comment.
    #[serde(default)]
    pub comment: String,
    /// The person.
    #[serde(default)]
    pub owner: Option<Id>,
    /// Their team.
    #[serde(default)]
    pub team: Option<Id>,
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

impl TrainingRecord {
    /// The id, owner, team and creation time.
    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id,
            owner: self.owner,
            team: self.team,
            created_at: self.created_at,
        }
    }

    /// A new record of progress on an item.
    pub fn for_item(meta: &RecordMeta, item: Id) -> TrainingRecord {
        TrainingRecord::new(meta, Some(item), None)
    }

    /// A new record of attendance at a session.
    pub fn for_session(meta: &RecordMeta, session: Id) -> TrainingRecord {
        TrainingRecord::new(meta, None, Some(session))
    }

    fn new(meta: &RecordMeta, item_id: Option<Id>, session_id: Option<Id>) -> TrainingRecord {
        TrainingRecord {
            id: meta.id,
            item_id,
            session_id,
            opened_at: None,
            read_version: 0,
            completed_at: None,
            confirmed_at: None,
            rating: None,
            usefulness: None,
            comment: String::new(),
            owner: meta.owner,
            team: meta.team,
            created_at: meta.created_at,
            updated_at: meta.created_at,
            deleted: false,
        }
    }

    /// Checks what no form types: one subject, ratings 1–5, the comment's length.
    pub fn check(&self) -> Result<TrainingRecord, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.item_id.is_some() == self.session_id.is_some() {
            errors.push("item_id", Invalid::Required);
        }
        for (field, rating) in [("rating", self.rating), ("usefulness", self.usefulness)] {
            if rating.is_some_and(|r| !(1..=5).contains(&r)) {
                errors.push(field, Invalid::Rating);
            }
        }
        if let Err(reason) = optional_text(&self.comment, LONG) {
            errors.push("comment", reason);
        } else if self.comment.trim() != self.comment {
            errors.push("comment", Invalid::UnknownOption);
        }
        if errors.is_empty() {
            Ok(self.clone())
        } else {
            Err(errors)
        }
    }
}

/// One submitted quiz. Never edited: each attempt is its own record, so every attempt is
/// kept and two devices never conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizAttempt {
    /// The record id.
    pub id: Id,
    /// The quiz's item.
    pub item_id: Id,
    /// The item's version when taken.
    #[serde(default)]
    pub item_version: u32,
    /// Per question, the chosen option indices.
    #[serde(default)]
    pub answers: Vec<Vec<u8>>,
    /// The score, 0–100, computed on the device ([`Quiz::score`]).
    #[serde(default)]
    pub percent: u8,
    /// Whether it reached the pass mark.
    #[serde(default)]
    pub passed: bool,
    /// When submitted, unix ms.
    #[serde(default)]
    pub submitted_at: i64,
    /// The person.
    #[serde(default)]
    pub owner: Option<Id>,
    /// Their team.
    #[serde(default)]
    pub team: Option<Id>,
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

impl QuizAttempt {
    /// The id, owner, team and creation time.
    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id,
            owner: self.owner,
            team: self.team,
            created_at: self.created_at,
        }
    }

    /// Scores `answers` to `item`'s quiz and records the attempt; `None` when the item has
    /// no quiz.
    pub fn take(
        meta: &RecordMeta,
        item: &TrainingItem,
        answers: Vec<Vec<u8>>,
        now_ms: i64,
    ) -> Option<QuizAttempt> {
        let quiz = item.quiz.as_ref()?;
        Some(QuizAttempt::of_quiz(
            meta,
            item.id,
            item.version,
            quiz,
            answers,
            now_ms,
        ))
    }

    /// Scores `answers` to `quiz` (of item `item_id` at `item_version`) and records the
    /// attempt.
    pub fn of_quiz(
        meta: &RecordMeta,
        item_id: Id,
        item_version: u32,
        quiz: &Quiz,
        answers: Vec<Vec<u8>>,
        now_ms: i64,
    ) -> QuizAttempt {
        // One spelling of each answer: the indices ascending, each once.
        let answers: Vec<Vec<u8>> = answers
            .into_iter()
            .map(|chosen| {
                chosen
                    .into_iter()
                    .collect::<BTreeSet<u8>>()
                    .into_iter()
                    .collect()
            })
            .collect();
        let score = quiz.score(&answers);
        QuizAttempt {
            id: meta.id,
            item_id,
            item_version,
            answers,
            percent: score.percent,
            passed: score.passed,
            submitted_at: now_ms,
            owner: meta.owner,
            team: meta.team,
            created_at: meta.created_at,
            updated_at: now_ms,
            deleted: false,
        }
    }

    /// Checks the bounds (the score itself is the device's: the server does not hold the
    /// quiz's answers in the same transaction, and a person could only cheat themselves).
    pub fn check(&self) -> Result<QuizAttempt, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.percent > 100 {
            errors.push("percent", Invalid::Quiz);
        }
        let answers_ok = self.answers.len() <= limits::QUESTIONS
            && self.answers.iter().all(|chosen| {
                chosen.len() <= limits::OPTIONS
                    && chosen.iter().all(|&i| usize::from(i) < limits::OPTIONS)
                    && chosen.windows(2).all(|pair| pair[0] < pair[1])
            });
        if !answers_ok {
            errors.push("answers", Invalid::Quiz);
        }
        if errors.is_empty() {
            Ok(self.clone())
        } else {
            Err(errors)
        }
    }
}

/// One person's progress on one item, folded from their records and attempts (a person
/// with two devices may have two records for the item).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// First opened, unix ms.
    pub opened_at: Option<i64>,
    /// The newest version read.
    pub read_version: u32,
    /// First marked done, unix ms.
    pub completed_at: Option<i64>,
    /// The latest rating given.
    pub rating: Option<u8>,
    /// The latest comment given.
    pub comment: String,
    /// Attempts taken.
    pub attempts: usize,
    /// The best score.
    pub best_percent: Option<u8>,
    /// Whether any attempt passed.
    pub passed: bool,
}

impl Progress {
    /// Whether the item was updated since the person last read it.
    pub fn updated_since_read(&self, item: &TrainingItem) -> bool {
        self.opened_at.is_some() && item.version > self.read_version
    }

    /// Whether the person has finished the item: marked done, and passed its quiz if it
    /// has one.
    pub fn is_done(&self, item: &TrainingItem) -> bool {
        self.completed_at.is_some() && (item.quiz.is_none() || self.passed)
    }
}

/// The progress of one person on `item` from their `records` and `attempts` (others'
/// and other items' are ignored; trashed ones too).
pub fn progress<'a>(
    item: Id,
    person: Option<Id>,
    records: impl IntoIterator<Item = &'a TrainingRecord>,
    attempts: impl IntoIterator<Item = &'a QuizAttempt>,
) -> Progress {
    let mut progress = Progress::default();
    let mut latest_evaluation = i64::MIN;
    for record in records {
        if record.deleted || record.item_id != Some(item) || record.owner != person {
            continue;
        }
        progress.opened_at = earliest(progress.opened_at, record.opened_at);
        progress.read_version = progress.read_version.max(record.read_version);
        progress.completed_at = earliest(progress.completed_at, record.completed_at);
        if record.rating.is_some() && record.updated_at >= latest_evaluation {
            latest_evaluation = record.updated_at;
            progress.rating = record.rating;
            progress.comment = record.comment.clone();
        }
    }
    for attempt in attempts {
        if attempt.deleted || attempt.item_id != item || attempt.owner != person {
            continue;
        }
        progress.attempts += 1;
        progress.best_percent = progress.best_percent.max(Some(attempt.percent));
        progress.passed |= attempt.passed;
    }
    progress
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the library shows: the text typed (title, tags, body; pinyin initials of the title
/// through the caller's haystack), and the filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LibraryQuery {
    /// Words that must all occur.
    pub text: String,
    /// Only this kind.
    pub kind: Option<ItemKind>,
    /// Only items with this tag (any case).
    pub tag: Option<String>,
    /// Only items assigned to the reader.
    pub assigned_to_me: bool,
    /// Only items the reader has not finished.
    pub not_done: bool,
}

/// The folded text a library search looks in: title, tags, kind-independent body text, and
/// `initials` (the title's pinyin initials, which need the browser's collator).
pub fn item_search_text(item: &TrainingItem, initials: &str) -> String {
    let mut text = crate::fold(&item.title);
    for tag in &item.tags {
        text.push('\u{1}');
        text.push_str(&crate::fold(tag));
    }
    text.push('\u{1}');
    text.push_str(initials);
    text.push('\u{1}');
    text.push_str(&crate::fold(&item.body));
    text
}

/// One row of the library.
#[derive(Clone, Debug, PartialEq)]
pub struct LibraryEntry<'a> {
    /// The item.
    pub item: &'a TrainingItem,
    /// The reader's progress on it.
    pub progress: Progress,
    /// Whether it is assigned to the reader.
    pub assigned: bool,
    /// Assigned, not finished and past its due date.
    pub overdue: bool,
}

impl LibraryEntry<'_> {
    /// Whether the reader has finished it.
    pub fn done(&self) -> bool {
        self.progress.is_done(self.item)
    }
}

/// Who reads: the person and their team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reader {
    /// The person.
    pub id: Id,
    /// Their team.
    pub team: Option<Id>,
}

impl Reader {
    /// Whether `item` is assigned to this reader.
    pub fn is_assigned(&self, item: &TrainingItem) -> bool {
        let in_team = self.team.is_some() && self.team == item.team;
        item.assigned.includes(self.id, in_team)
    }
}

/// The library for `reader` under `query`: live items (drafts only reach their authors'
/// managers), each with the reader's progress. Assigned and unfinished first (overdue, then
/// by due date), then the newest published; `haystack` gives an item's search text
/// ([`item_search_text`]).
pub fn library<'a>(
    items: &'a [TrainingItem],
    records: &[TrainingRecord],
    attempts: &[QuizAttempt],
    reader: Reader,
    today: NaiveDate,
    query: &LibraryQuery,
    haystack: impl Fn(&TrainingItem) -> String,
) -> Vec<LibraryEntry<'a>> {
    let words: Vec<String> = query
        .text
        .split(|c: char| half_width(c).is_whitespace())
        .map(crate::fold)
        .filter(|w| !w.is_empty())
        .collect();
    let tag = query
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase);
    let mut entries: Vec<LibraryEntry<'a>> = items
        .iter()
        .filter(|item| !item.deleted)
        .filter(|item| query.kind.is_none_or(|kind| item.kind == kind))
        .filter(|item| {
            tag.as_ref()
                .is_none_or(|tag| item.tags.iter().any(|t| t.to_lowercase() == *tag))
        })
        .filter(|item| {
            if words.is_empty() {
                return true;
            }
            let text = haystack(item);
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .map(|item| {
            let progress = progress(item.id, Some(reader.id), records, attempts);
            let assigned = reader.is_assigned(item);
            let overdue = assigned && !progress.is_done(item) && item.is_overdue(today);
            LibraryEntry {
                item,
                progress,
                assigned,
                overdue,
            }
        })
        .filter(|entry| !query.assigned_to_me || entry.assigned)
        .filter(|entry| !query.not_done || !entry.done())
        .collect();
    entries.sort_by(|a, b| {
        // Work still to do (assigned, not finished) sorts first: `false` before `true`.
        let to_do = |e: &LibraryEntry<'_>| !e.assigned || e.done();
        to_do(a)
            .cmp(&to_do(b))
            .then(b.overdue.cmp(&a.overdue))
            .then_with(|| {
                let due = |e: &LibraryEntry<'_>| e.item.assigned.due_on.unwrap_or(NaiveDate::MAX);
                due(a).cmp(&due(b))
            })
            .then(b.item.published_at.cmp(&a.item.published_at))
            .then_with(|| a.item.title.cmp(&b.item.title))
            .then(a.item.id.cmp(&b.item.id))
    });
    entries
}

/// What Today shows of training: the reader's assigned, unfinished items (overdue first,
/// then by due date) and the sessions they are invited to that have not ended, soonest first.
pub fn training_today<'a>(
    items: &'a [TrainingItem],
    sessions: &'a [TrainingSession],
    records: &[TrainingRecord],
    attempts: &[QuizAttempt],
    reader: Reader,
    today: NaiveDate,
    now_ms: i64,
) -> (Vec<LibraryEntry<'a>>, Vec<&'a TrainingSession>) {
    let query = LibraryQuery {
        assigned_to_me: true,
        not_done: true,
        ..LibraryQuery::default()
    };
    let work = library(items, records, attempts, reader, today, &query, |_| {
        String::new()
    })
    .into_iter()
    .filter(|entry| entry.item.published)
    .collect();
    let mut ahead: Vec<&TrainingSession> = sessions
        .iter()
        .filter(|s| !s.deleted && s.invited.contains(&reader.id) && s.ends_at() >= now_ms)
        .collect();
    ahead.sort_by_key(|s| (s.starts_at, s.id));
    (work, ahead)
}

/// One cell of the team matrix: a person's progress on an assigned item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixCell {
    /// Opened at least once.
    pub opened: bool,
    /// Finished ([`Progress::is_done`]).
    pub done: bool,
    /// Best quiz score, if any attempt.
    pub best_percent: Option<u8>,
    /// Passed the quiz (`None` when the item has no quiz).
    pub passed: Option<bool>,
    /// Whether the item is assigned to this person.
    pub assigned: bool,
}

/// The team matrix (people × items): for each person, for each item, the cell.
pub fn team_matrix(
    items: &[&TrainingItem],
    people: &[Reader],
    records: &[TrainingRecord],
    attempts: &[QuizAttempt],
) -> Vec<Vec<MatrixCell>> {
    people
        .iter()
        .map(|person| {
            items
                .iter()
                .map(|item| {
                    let progress = progress(item.id, Some(person.id), records, attempts);
                    MatrixCell {
                        opened: progress.opened_at.is_some(),
                        done: progress.is_done(item),
                        best_percent: progress.best_percent,
                        passed: item.quiz.as_ref().map(|_| progress.passed),
                        assigned: person.is_assigned(item),
                    }
                })
                .collect()
        })
        .collect()
}

/// Text as one CSV field: quoted when it holds a comma, quote or line break (quotes
/// doubled), and a leading `=`, `+`, `-` or `@` neutralised with an apostrophe so a
/// spreadsheet never runs it as a formula.
pub fn csv_field(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Rows as a CSV file Excel opens correctly in both languages: a UTF-8 byte order mark
/// (without it Excel reads UTF-8 Chinese as mojibake), CRLF line ends.
pub fn csv(rows: &[Vec<String>]) -> String {
    let mut out = String::from("\u{feff}");
    for row in rows {
        let line: Vec<String> = row.iter().map(|field| csv_field(field)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

// ---------------------------------------------------------------------------------------
// The item editor: what a picked file, a quiz edit and a save button decide.

/// The attachment limit a device uses when the server has not stated one: 10 MiB.
pub const DEFAULT_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

/// The largest file the editor attaches: the server's stated limit when known, else
/// [`DEFAULT_ATTACHMENT_BYTES`], never above [`limits::MAX_ATTACHMENT_BYTES`].
pub fn attachment_limit(stated: Option<u64>) -> u64 {
    stated
        .filter(|&bytes| bytes > 0)
        .unwrap_or(DEFAULT_ATTACHMENT_BYTES)
        .min(limits::MAX_ATTACHMENT_BYTES)
}

/// Why a picked file is not attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileRefusal {
    /// Not one of [`ATTACHMENT_TYPES`].
    Type,
    /// No bytes.
    Empty,
    /// Over the limit.
    TooLarge,
    /// The item already has [`limits::ATTACHMENTS`] files.
    TooMany,
    /// The same bytes are attached already.
    Duplicate,
}

impl FileRefusal {
    /// Every reason, for the translation test.
    pub const ALL: [FileRefusal; 5] = [
        FileRefusal::Type,
        FileRefusal::Empty,
        FileRefusal::TooLarge,
        FileRefusal::TooMany,
        FileRefusal::Duplicate,
    ];

    /// The message key; its text names the file (`{}`), and for `TooLarge` then the limit.
    pub fn key(self) -> &'static str {
        match self {
            FileRefusal::Type => "editor.file_type",
            FileRefusal::Empty => "editor.file_empty",
            FileRefusal::TooLarge => "editor.file_too_large",
            FileRefusal::TooMany => "editor.file_too_many",
            FileRefusal::Duplicate => "editor.file_duplicate",
        }
    }
}

/// Whether a file of `mime` and `size` bytes may join `attached` (before its bytes are
/// hashed; [`accept_digest`] checks the digest after).
pub fn accept_file(
    attached: &[Attachment],
    mime: &str,
    size: u64,
    limit: u64,
) -> Result<(), FileRefusal> {
    if !ATTACHMENT_TYPES.contains(&mime) {
        Err(FileRefusal::Type)
    } else if size == 0 {
        Err(FileRefusal::Empty)
    } else if size > limit {
        Err(FileRefusal::TooLarge)
    } else if attached.len() >= limits::ATTACHMENTS {
        Err(FileRefusal::TooMany)
    } else {
        Ok(())
    }
}

/// Whether bytes with digest `sha256` are new to `attached`.
pub fn accept_digest(attached: &[Attachment], sha256: &Sha256) -> Result<(), FileRefusal> {
    if attached.iter().any(|a| a.sha256 == *sha256) {
        Err(FileRefusal::Duplicate)
    } else {
        Ok(())
    }
}

/// A picked file's name as an attachment may carry it: no control characters, no spaces at
/// either end, at most [`limits::FILE_NAME`] characters (a long name keeps its extension).
pub fn attachment_name(raw: &str) -> String {
    let clean: String = raw.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return "file".to_string();
    }
    if clean.chars().count() <= limits::FILE_NAME {
        return clean.to_string();
    }
    let extension = match clean.rfind('.') {
        Some(dot) if clean[dot..].chars().count() <= 10 => &clean[dot..],
        _ => "",
    };
    let keep = limits::FILE_NAME - extension.chars().count();
    let stem: String = clean.chars().take(keep).collect();
    format!("{}{extension}", stem.trim_end())
}

/// The Markdown that shows attachment `sha256` as an image with `alt` as its text; the
/// characters Markdown would read as syntax are escaped, so the alt text is what was typed.
pub fn image_markdown(alt: &str, sha256: &Sha256) -> String {
    let mut escaped = String::with_capacity(alt.len());
    for c in alt.chars().filter(|c| !c.is_control()) {
        if matches!(
            c,
            '\\' | '[' | ']' | '*' | '_' | '`' | '<' | '>' | '!' | '&'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("![{escaped}](attachment:{sha256})")
}

/// `body` with `block` added as a paragraph of its own at the end.
pub fn append_block(body: &str, block: &str) -> String {
    let kept = body.trim_end();
    if kept.is_empty() {
        block.to_string()
    } else {
        format!("{kept}\n\n{block}")
    }
}

/// `body` without the images that show attachment `sha256` (a removed attachment would
/// otherwise show as missing); a line left empty by it goes too, with the blank line after.
pub fn remove_image_refs(body: &str, sha256: &Sha256) -> String {
    let target = format!("](attachment:{sha256}");
    let mut out = String::with_capacity(body.len());
    let mut drop_blank = false;
    for line in body.split_inclusive('\n') {
        let (text, end) = match line.strip_suffix('\n') {
            Some(text) => (text, "\n"),
            None => (line, ""),
        };
        if drop_blank && text.trim().is_empty() {
            drop_blank = false;
            continue;
        }
        drop_blank = false;
        let mut kept = String::with_capacity(text.len());
        let mut rest = text;
        let mut removed = false;
        // ASCII lowercasing keeps every byte where it was, so positions carry over.
        while let Some(at) = rest.to_ascii_lowercase().find(&target) {
            let tail = &rest[at + target.len()..];
            match (rest[..at].rfind("!["), tail.find(')')) {
                (Some(open), Some(close)) => {
                    kept.push_str(&rest[..open]);
                    rest = &tail[close + 1..];
                    removed = true;
                }
                _ => {
                    kept.push_str(&rest[..at + target.len()]);
                    rest = tail;
                }
            }
        }
        kept.push_str(rest);
        if removed && kept.trim().is_empty() {
            drop_blank = out.is_empty() || out.ends_with("\n\n");
            continue;
        }
        out.push_str(&kept);
        out.push_str(end);
    }
    out
}

impl Question {
    /// A new question of `kind` with nothing typed; a true/false question gets the two
    /// options `true_false` (对/错, True/False: the author's language).
    pub fn blank(kind: QuestionKind, true_false: [&str; 2]) -> Question {
        let mut question = Question {
            kind: QuestionKind::Single,
            prompt: String::new(),
            options: vec![String::new(), String::new()],
            correct: Vec::new(),
            explanation: String::new(),
        };
        question.set_kind(kind, true_false);
        question
    }

    /// Changes how the question is answered: true/false puts its two fixed options in
    /// (and forgets the right answer, which meant another option); single choice keeps at
    /// most one right answer.
    pub fn set_kind(&mut self, kind: QuestionKind, true_false: [&str; 2]) {
        match kind {
            QuestionKind::TrueFalse => {
                if self.kind != QuestionKind::TrueFalse {
                    self.correct.clear();
                }
                self.options = true_false.iter().map(|o| o.to_string()).collect();
            }
            QuestionKind::Single => self.correct.truncate(1),
            QuestionKind::Multiple => {}
        }
        self.kind = kind;
    }

    /// Adds an empty option, unless the question has as many as it may (or is true/false).
    pub fn add_option(&mut self) -> bool {
        let room = self.options.len() < limits::OPTIONS && self.kind != QuestionKind::TrueFalse;
        if room {
            self.options.push(String::new());
        }
        room
    }

    /// Removes option `index` (a question keeps two), renumbering the right answers.
    pub fn remove_option(&mut self, index: usize) {
        if self.kind == QuestionKind::TrueFalse || self.options.len() <= 2 {
            return;
        }
        if index >= self.options.len() {
            return;
        }
        self.options.remove(index);
        self.correct = self
            .correct
            .iter()
            .filter(|&&c| usize::from(c) != index)
            .map(|&c| if usize::from(c) > index { c - 1 } else { c })
            .collect();
    }

    /// Marks option `index` right or not: single choice and true/false have one right
    /// answer (marking another moves it), multiple choice any number.
    pub fn mark(&mut self, index: usize, right: bool) {
        let Ok(option) = u8::try_from(index) else {
            return;
        };
        if index >= self.options.len() {
            return;
        }
        match self.kind {
            QuestionKind::Multiple => {
                self.correct.retain(|&c| c != option);
                if right {
                    self.correct.push(option);
                    self.correct.sort_unstable();
                }
            }
            QuestionKind::Single | QuestionKind::TrueFalse => {
                if right {
                    self.correct = vec![option];
                } else {
                    self.correct.retain(|&c| c != option);
                }
            }
        }
    }

    /// The question with the spaces around what was typed removed, as it is saved.
    pub fn trimmed(&self) -> Question {
        // An option left empty (one added and never typed into) is dropped, and the right
        // answers renumbered, rather than refusing the whole quiz for it.
        let mut options = Vec::new();
        let mut correct = Vec::new();
        for (index, option) in self.options.iter().enumerate() {
            let text = option.trim();
            if text.is_empty() && self.kind != QuestionKind::TrueFalse {
                continue;
            }
            if self.correct.iter().any(|&c| usize::from(c) == index) {
                correct.push(u8::try_from(options.len()).unwrap_or(u8::MAX));
            }
            options.push(text.to_string());
        }
        Question {
            kind: self.kind,
            prompt: self.prompt.trim().to_string(),
            options,
            correct,
            explanation: self.explanation.trim().to_string(),
        }
    }

    /// Whether the question, trimmed, can be saved: a prompt, two to eight options with
    /// text, and its right answers.
    pub fn is_complete(&self) -> bool {
        self.trimmed().check().is_ok()
    }
}

impl Quiz {
    /// A new quiz: pass mark 60 and one empty single-choice question.
    pub fn blank() -> Quiz {
        Quiz {
            pass_mark: 60,
            questions: vec![Question::blank(QuestionKind::Single, ["", ""])],
        }
    }

    /// Moves question `index` one place up or down; the index it has after, if it moved.
    pub fn move_question(&mut self, index: usize, up: bool) -> Option<usize> {
        let to = if up { index.checked_sub(1)? } else { index + 1 };
        if index >= self.questions.len() || to >= self.questions.len() {
            return None;
        }
        self.questions.swap(index, to);
        Some(to)
    }

    /// The quiz as it is saved: every question trimmed.
    pub fn trimmed(&self) -> Quiz {
        Quiz {
            pass_mark: self.pass_mark,
            questions: self.questions.iter().map(Question::trimmed).collect(),
        }
    }

    /// The positions of the questions that cannot be saved yet.
    pub fn incomplete(&self) -> Vec<usize> {
        self.questions
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.is_complete())
            .map(|(n, _)| n)
            .collect()
    }
}

/// A pass mark as typed: a whole percentage 0–100 (full-width digits and a `%` accepted).
pub fn parse_pass_mark(raw: &str) -> Result<u8, Invalid> {
    let text: String = raw.trim().chars().map(half_width).collect();
    let digits = text.trim_end_matches('%').trim();
    if digits.is_empty() {
        return Err(Invalid::Required);
    }
    match digits.parse::<u8>() {
        Ok(mark) if mark <= 100 => Ok(mark),
        _ => Err(Invalid::Quiz),
    }
}

/// Whether saving `after` over `before` would take it from people who have it (a
/// published item's audience made smaller): the server refuses it as
/// [`Invalid::Narrowed`].
pub fn narrows(before: &TrainingItem, after: &TrainingItem) -> bool {
    use crate::Record as _;
    after.reach() < before.reach()
}

/// What a save button of the item editor does to the publication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publication {
    /// Keep it as it is: "Save draft" on a draft, "Save changes" (a correction readers are
    /// not told about) on a published item.
    Keep,
    /// "Publish": the first version, or a new one readers are told about.
    Publish,
}

impl ItemDraft {
    /// The item the editor saves: the draft parsed (quiz texts trimmed), published when
    /// asked, and refused on `audience` when it would narrow `before`, the item as the
    /// editor opened it.
    pub fn save(
        &self,
        meta: &RecordMeta,
        before: Option<&TrainingItem>,
        publication: Publication,
        now_ms: i64,
    ) -> Result<TrainingItem, ValidationErrors> {
        let mut draft = self.clone();
        if let Some(quiz) = &mut draft.quiz {
            *quiz = quiz.trimmed();
        }
        draft.title = draft.title.trim().to_string();
        let item = draft.parse(meta, now_ms)?;
        let item = match publication {
            Publication::Keep => item,
            Publication::Publish => item.publish(now_ms),
        };
        if before.is_some_and(|before| narrows(before, &item)) {
            let mut errors = ValidationErrors::default();
            errors.push("audience", Invalid::Narrowed);
            return Err(errors);
        }
        Ok(item)
    }
}

// ---------------------------------------------------------------------------------------
// Sessions: who answered, who came, what they thought.

impl TrainingSession {
    /// Whether the session is over at `now_ms` (its evaluation opens then).
    pub fn has_ended(&self, now_ms: i64) -> bool {
        now_ms > self.ends_at()
    }

    /// The place when it is an online meeting's link (`http(s)://…`, one word), which the
    /// app shows as a link; `None` for a room or an address.
    pub fn online_link(&self) -> Option<&str> {
        let place = self.place.trim();
        let lower = place.to_ascii_lowercase();
        let is_link = (lower.starts_with("https://") || lower.starts_with("http://"))
            && place.len() > "https://".len()
            && !place.chars().any(char::is_whitespace);
        is_link.then_some(place)
    }

    /// The session with the manager's 总结复盘 note (trimmed), or why it cannot be kept.
    pub fn with_review(&self, review: &str, now_ms: i64) -> Result<TrainingSession, Invalid> {
        let mut next = self.clone();
        next.review = optional_text(review, NOTES)?;
        next.updated_at = now_ms;
        Ok(next)
    }

    /// The session with `person` marked present or absent.
    pub fn with_attendance(&self, person: Id, present: bool, now_ms: i64) -> TrainingSession {
        let mut next = self.clone();
        next.attended.retain(|&p| p != person);
        if present {
            next.attended.push(person);
        }
        next.updated_at = now_ms;
        next
    }
}

/// One person's part in a session: invited, confirmed, present, and their evaluation
/// (培训评估), folded from their records (a person with two devices may have two).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionResponse {
    /// The person.
    pub person: Option<Id>,
    /// Invited to it.
    pub invited: bool,
    /// When they first confirmed they will attend.
    pub confirmed_at: Option<i64>,
    /// Marked present by the manager.
    pub attended: bool,
    /// Overall rating, 1–5, of their latest evaluation.
    pub rating: Option<u8>,
    /// Usefulness, 1–5, of their latest evaluation.
    pub usefulness: Option<u8>,
    /// Comment of their latest evaluation.
    pub comment: String,
    /// When their latest evaluation was written.
    pub evaluated_at: Option<i64>,
}

impl SessionResponse {
    /// Whether they evaluated the session.
    pub fn evaluated(&self) -> bool {
        self.rating.is_some() || self.usefulness.is_some() || !self.comment.is_empty()
    }
}

/// `person`'s part in `session` from `records` (others' and other subjects' ignored).
pub fn session_response(
    session: &TrainingSession,
    person: Id,
    records: &[TrainingRecord],
) -> SessionResponse {
    let mut response = SessionResponse {
        person: Some(person),
        invited: session.invited.contains(&person),
        attended: session.attended.contains(&person),
        ..SessionResponse::default()
    };
    for record in records {
        if record.deleted || record.session_id != Some(session.id) || record.owner != Some(person) {
            continue;
        }
        response.confirmed_at = earliest(response.confirmed_at, record.confirmed_at);
        let evaluated =
            record.rating.is_some() || record.usefulness.is_some() || !record.comment.is_empty();
        if evaluated
            && response
                .evaluated_at
                .is_none_or(|at| record.updated_at >= at)
        {
            response.rating = record.rating;
            response.usefulness = record.usefulness;
            response.comment = record.comment.clone();
            response.evaluated_at = Some(record.updated_at);
        }
    }
    response
}

/// Everyone's part in `session`: the invited in the order they were invited, then anyone
/// else who came or answered (by id).
pub fn session_responses(
    session: &TrainingSession,
    records: &[TrainingRecord],
) -> Vec<SessionResponse> {
    let mut others: BTreeSet<Id> = session.attended.iter().copied().collect();
    others.extend(
        records
            .iter()
            .filter(|r| !r.deleted && r.session_id == Some(session.id))
            .filter_map(|r| r.owner),
    );
    let mut people: Vec<Id> = Vec::new();
    for person in session.invited.iter().chain(others.iter()) {
        if !people.contains(person) {
            people.push(*person);
        }
    }
    people
        .into_iter()
        .map(|person| session_response(session, person, records))
        .collect()
}

/// The evaluations of a session in numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvaluationSummary {
    /// How many people evaluated it.
    pub count: usize,
    /// The mean overall rating, of those who gave one.
    pub rating: Option<f64>,
    /// The mean usefulness, of those who gave one.
    pub usefulness: Option<f64>,
}

/// Counts and averages the evaluations among `responses`.
pub fn evaluation_summary(responses: &[SessionResponse]) -> EvaluationSummary {
    let mean = |values: Vec<u8>| {
        (!values.is_empty())
            .then(|| values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64)
    };
    EvaluationSummary {
        count: responses.iter().filter(|r| r.evaluated()).count(),
        rating: mean(responses.iter().filter_map(|r| r.rating).collect()),
        usefulness: mean(responses.iter().filter_map(|r| r.usefulness).collect()),
    }
}

// ---------------------------------------------------------------------------------------
// The archive (培训档案): one person's history, and the team matrix.

/// One item in a person's archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemHistory {
    /// The item.
    pub item_id: Id,
    /// Its title, when the item is on the device.
    pub title: Option<String>,
    /// Its kind, when the item is on the device.
    pub kind: Option<ItemKind>,
    /// Assigned to the person (a live, published item).
    pub assigned: bool,
    /// By when, if assigned with a date.
    pub due_on: Option<NaiveDate>,
    /// The person's progress.
    pub progress: Progress,
    /// Finished ([`Progress::is_done`]; marked done when the item is not on the device).
    pub done: bool,
    /// Passed the quiz (`None` when the item has no quiz or is not on the device).
    pub passed: Option<bool>,
}

/// One quiz attempt in a person's archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptHistory {
    /// The quiz's item.
    pub item_id: Id,
    /// Its title, when the item is on the device.
    pub title: Option<String>,
    /// When submitted.
    pub submitted_at: i64,
    /// The score.
    pub percent: u8,
    /// Whether it passed.
    pub passed: bool,
}

/// One session in a person's archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionHistory {
    /// The session.
    pub session_id: Id,
    /// Its title.
    pub title: String,
    /// How it taught.
    pub method: SessionMethod,
    /// When it started.
    pub starts_at: i64,
    /// The person's part in it.
    pub response: SessionResponse,
}

/// A person's training archive: items (assigned or touched), attempts, sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonArchive {
    /// Items the person is assigned or has opened, finished, rated or tried: most recently
    /// opened first, then the ones not opened yet by due date.
    pub items: Vec<ItemHistory>,
    /// Every quiz attempt, newest first.
    pub attempts: Vec<AttemptHistory>,
    /// Sessions the person was invited to, attended or answered, newest first.
    pub sessions: Vec<SessionHistory>,
}

/// `person`'s archive from what the device holds. Trashed items and sessions stay in it
/// when the person did something with them (history is not withdrawn); a record whose item
/// is not on the device shows without a title.
pub fn person_archive(
    person: Reader,
    items: &[TrainingItem],
    sessions: &[TrainingSession],
    records: &[TrainingRecord],
    attempts: &[QuizAttempt],
) -> PersonArchive {
    let mine = |owner: Option<Id>| owner == Some(person.id);
    let mut item_ids: Vec<Id> = Vec::new();
    let mut note = |id: Id| {
        if !item_ids.contains(&id) {
            item_ids.push(id);
        }
    };
    for item in items {
        if !item.deleted && item.published && person.is_assigned(item) {
            note(item.id);
        }
    }
    for record in records.iter().filter(|r| !r.deleted && mine(r.owner)) {
        if let Some(item) = record.item_id {
            note(item);
        }
    }
    for attempt in attempts.iter().filter(|a| !a.deleted && mine(a.owner)) {
        note(attempt.item_id);
    }
    let find = |id: Id| {
        // A live copy wins over a trashed one (the device may briefly hold both states).
        items
            .iter()
            .filter(|item| item.id == id)
            .min_by_key(|item| item.deleted)
    };
    let mut item_rows: Vec<ItemHistory> = item_ids
        .into_iter()
        .map(|id| {
            let progress = progress(id, Some(person.id), records, attempts);
            let item = find(id);
            ItemHistory {
                item_id: id,
                title: item.map(|i| i.title.clone()),
                kind: item.map(|i| i.kind),
                assigned: item.is_some_and(|i| !i.deleted && person.is_assigned(i)),
                due_on: item.and_then(|i| i.assigned.due_on),
                done: match item {
                    Some(item) => progress.is_done(item),
                    None => progress.completed_at.is_some(),
                },
                passed: item.and_then(|i| i.quiz.as_ref()).map(|_| progress.passed),
                progress,
            }
        })
        .collect();
    item_rows.sort_by(|a, b| {
        b.progress
            .opened_at
            .cmp(&a.progress.opened_at)
            .then_with(|| {
                let due = |h: &ItemHistory| h.due_on.unwrap_or(NaiveDate::MAX);
                due(a).cmp(&due(b))
            })
            .then_with(|| a.title.cmp(&b.title))
            .then(a.item_id.cmp(&b.item_id))
    });

    let mut attempt_rows: Vec<AttemptHistory> = attempts
        .iter()
        .filter(|a| !a.deleted && mine(a.owner))
        .map(|a| AttemptHistory {
            item_id: a.item_id,
            title: find(a.item_id).map(|i| i.title.clone()),
            submitted_at: a.submitted_at,
            percent: a.percent,
            passed: a.passed,
        })
        .collect();
    attempt_rows.sort_by(|a, b| {
        b.submitted_at
            .cmp(&a.submitted_at)
            .then(a.item_id.cmp(&b.item_id))
    });

    let mut session_rows: Vec<SessionHistory> = sessions
        .iter()
        .filter_map(|session| {
            let response = session_response(session, person.id, records);
            let touched =
                response.attended || response.confirmed_at.is_some() || response.evaluated();
            let shown = if session.deleted {
                touched
            } else {
                response.invited || touched
            };
            shown.then(|| SessionHistory {
                session_id: session.id,
                title: session.title.clone(),
                method: session.method,
                starts_at: session.starts_at,
                response,
            })
        })
        .collect();
    session_rows.sort_by(|a, b| {
        b.starts_at
            .cmp(&a.starts_at)
            .then(a.session_id.cmp(&b.session_id))
    });
    PersonArchive {
        items: item_rows,
        attempts: attempt_rows,
        sessions: session_rows,
    }
}

/// The columns of the team matrix: live published items assigned to anyone, soonest due
/// first, then the newest published.
pub fn matrix_items(items: &[TrainingItem]) -> Vec<&TrainingItem> {
    let mut columns: Vec<&TrainingItem> = items
        .iter()
        .filter(|item| !item.deleted && item.published && !item.assigned.is_empty())
        .collect();
    columns.sort_by(|a, b| {
        let due = |item: &TrainingItem| item.assigned.due_on.unwrap_or(NaiveDate::MAX);
        due(a)
            .cmp(&due(b))
            .then(b.published_at.cmp(&a.published_at))
            .then_with(|| a.title.cmp(&b.title))
            .then(a.id.cmp(&b.id))
    });
    columns
}

impl MatrixCell {
    /// The cell in words (so it never depends on colour): the state (not assigned, not
    /// opened, opened, done), then the best score and pass/fail when the quiz was tried.
    /// `tr` turns a message key into text.
    pub fn describe(&self, tr: &dyn Fn(&str) -> String) -> String {
        let state = if self.done {
            "archive.done"
        } else if self.opened {
            "archive.opened"
        } else if self.assigned {
            "archive.not_opened"
        } else {
            "archive.not_assigned"
        };
        let mut words = vec![tr(state)];
        if let Some(best) = self.best_percent {
            words.push(tr("archive.best").replacen("{}", &best.to_string(), 1));
            if let Some(passed) = self.passed {
                words.push(tr(if passed {
                    "archive.passed"
                } else {
                    "archive.not_passed"
                }));
            }
        }
        words.join(" · ")
    }
}

/// Every message key the archive's text and CSV files use (the app's translation test
/// checks each has both languages).
pub const ARCHIVE_KEYS: &[&str] = &[
    "archive.best",
    "archive.col_attended",
    "archive.col_comment",
    "archive.col_confirmed",
    "archive.col_date",
    "archive.col_done",
    "archive.col_kind",
    "archive.col_passed",
    "archive.col_person",
    "archive.col_rating",
    "archive.col_score",
    "archive.col_title",
    "archive.col_type",
    "archive.col_usefulness",
    "archive.done",
    "archive.no",
    "archive.not_assigned",
    "archive.not_opened",
    "archive.not_passed",
    "archive.opened",
    "archive.passed",
    "archive.type_attempt",
    "archive.type_item",
    "archive.type_session",
    "archive.unknown_item",
    "archive.yes",
];

/// A moment as a CSV cell: `YYYY-MM-DD HH:MM` in the zone `utc_offset_minutes` east of UTC
/// (a spreadsheet reads it as a date and time in either language).
pub fn csv_time(unix_ms: i64, utc_offset_minutes: i32) -> String {
    use chrono::Timelike as _;
    let local = local_datetime(unix_ms, utc_offset_minutes);
    format!(
        "{} {:02}:{:02}",
        format_date(local.date()),
        local.hour(),
        local.minute()
    )
}

/// A person's archive as CSV rows (header first; [`csv`] writes the file): one row per
/// item, quiz attempt and session, in the language `tr` translates message keys into.
pub fn archive_csv(
    archive: &PersonArchive,
    utc_offset_minutes: i32,
    tr: &dyn Fn(&str) -> String,
) -> Vec<Vec<String>> {
    let time = |ms: Option<i64>| {
        ms.map(|ms| csv_time(ms, utc_offset_minutes))
            .unwrap_or_default()
    };
    let yes_no = |yes: bool| tr(if yes { "archive.yes" } else { "archive.no" });
    let title =
        |title: &Option<String>| title.clone().unwrap_or_else(|| tr("archive.unknown_item"));
    let rating = |r: Option<u8>| r.map(|r| r.to_string()).unwrap_or_default();
    let header = [
        "archive.col_type",
        "archive.col_title",
        "archive.col_kind",
        "archive.col_date",
        "archive.col_done",
        "archive.col_score",
        "archive.col_passed",
        "archive.col_confirmed",
        "archive.col_attended",
        "archive.col_rating",
        "archive.col_usefulness",
        "archive.col_comment",
    ];
    let mut rows = vec![header.iter().map(|key| tr(key)).collect::<Vec<String>>()];
    for item in &archive.items {
        rows.push(vec![
            tr("archive.type_item"),
            title(&item.title),
            item.kind.map(|k| tr(k.key())).unwrap_or_default(),
            time(item.progress.opened_at),
            time(item.progress.completed_at),
            item.progress
                .best_percent
                .map(|p| p.to_string())
                .unwrap_or_default(),
            item.passed
                .filter(|_| item.progress.attempts > 0)
                .map(yes_no)
                .unwrap_or_default(),
            String::new(),
            String::new(),
            rating(item.progress.rating),
            String::new(),
            item.progress.comment.clone(),
        ]);
    }
    for attempt in &archive.attempts {
        rows.push(vec![
            tr("archive.type_attempt"),
            title(&attempt.title),
            tr(ItemKind::Quiz.key()),
            time(Some(attempt.submitted_at)),
            String::new(),
            attempt.percent.to_string(),
            yes_no(attempt.passed),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    for session in &archive.sessions {
        let response = &session.response;
        rows.push(vec![
            tr("archive.type_session"),
            session.title.clone(),
            tr(session.method.key()),
            time(Some(session.starts_at)),
            String::new(),
            String::new(),
            String::new(),
            time(response.confirmed_at),
            yes_no(response.attended),
            rating(response.rating),
            rating(response.usefulness),
            response.comment.clone(),
        ]);
    }
    rows
}

/// The team matrix as CSV rows: a header of item titles, then one row per person (named
/// by `names`, in the matrix's order) with each cell in words ([`MatrixCell::describe`]).
pub fn matrix_csv(
    names: &[String],
    items: &[&TrainingItem],
    matrix: &[Vec<MatrixCell>],
    tr: &dyn Fn(&str) -> String,
) -> Vec<Vec<String>> {
    let mut header = vec![tr("archive.col_person")];
    header.extend(items.iter().map(|item| item.title.clone()));
    let mut rows = vec![header];
    for (name, cells) in names.iter().zip(matrix) {
        let mut row = vec![name.clone()];
        row.extend(cells.iter().map(|cell| cell.describe(tr)));
        rows.push(row);
    }
    rows
}

pub(crate) fn reparse_item(item: &TrainingItem) -> Result<TrainingItem, ValidationErrors> {
    ItemDraft::from_item(item).parse(&item.meta(), item.updated_at)
}

/// The zone the server reads session times in: any zone gives the same instant back, as
/// long as the draft is written and read in the same one.
const UTC: i32 = 0;

pub(crate) fn reparse_session(
    session: &TrainingSession,
) -> Result<TrainingSession, ValidationErrors> {
    SessionDraft::from_session(session, UTC).parse(&session.meta(), session.updated_at, UTC)
}

pub(crate) fn reparse_record(record: &TrainingRecord) -> Result<TrainingRecord, ValidationErrors> {
    record.check()
}

pub(crate) fn reparse_attempt(attempt: &QuizAttempt) -> Result<QuizAttempt, ValidationErrors> {
    attempt.check()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::id;
    use proptest::prelude::*;

    fn question(kind: QuestionKind, options: usize, correct: &[u8]) -> Question {
        Question {
            kind,
            prompt: "Which?".into(),
            options: (0..options).map(|n| format!("option {n}")).collect(),
            correct: correct.to_vec(),
            explanation: "Because.".into(),
        }
    }

    fn quiz(pass_mark: u8) -> Quiz {
        Quiz {
            pass_mark,
            questions: vec![
                question(QuestionKind::Single, 4, &[2]),
                question(QuestionKind::Multiple, 4, &[0, 1]),
                question(QuestionKind::TrueFalse, 2, &[1]),
            ],
        }
    }

    #[test]
    fn choices_follow_conventions() {
        assert_choice_enum!(ItemKind, "item_kind");
        assert_choice_enum!(Audience, "audience");
        assert_choice_enum!(QuestionKind, "question_kind");
        assert_choice_enum!(SessionMethod, "session_method");
    }

    #[test]
    fn single_choice_and_true_false_score_all_or_nothing() {
        let single = question(QuestionKind::Single, 4, &[2]);
        assert_eq!(single.credit(&[2]), 1.0);
        assert_eq!(single.credit(&[1]), 0.0);
        assert_eq!(single.credit(&[2, 1]), 0.0, "two options for one answer");
        assert_eq!(single.credit(&[]), 0.0);
        let true_false = question(QuestionKind::TrueFalse, 2, &[1]);
        assert_eq!(true_false.credit(&[1]), 1.0);
        assert_eq!(true_false.credit(&[0]), 0.0);
        assert_eq!(
            true_false.credit(&[9]),
            0.0,
            "an index past the options is ignored"
        );
    }

    #[test]
    fn multiple_choice_earns_partial_credit() {
        let multiple = question(QuestionKind::Multiple, 5, &[0, 2, 4]);
        assert_eq!(multiple.credit(&[0, 2, 4]), 1.0);
        assert_eq!(multiple.credit(&[4, 0, 2]), 1.0, "order does not matter");
        assert!((multiple.credit(&[0, 2]) - 2.0 / 3.0).abs() < 1e-9);
        assert!((multiple.credit(&[0, 2, 4, 1]) - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(multiple.credit(&[0, 1, 2, 3, 4]), 1.0 / 3.0);
        assert_eq!(multiple.credit(&[1, 3]), 0.0, "never below zero");
        assert_eq!(
            multiple.credit(&[0, 0, 0]),
            1.0 / 3.0,
            "a repeated index counts once"
        );
    }

    #[test]
    fn score_rounds_and_applies_the_pass_mark() {
        let quiz = quiz(70);
        let all_right = quiz.score(&[vec![2], vec![0, 1], vec![1]]);
        assert_eq!((all_right.percent, all_right.passed), (100, true));
        // 1 + 0.5 + 1 = 2.5 of 3 = 83.33…%.
        let partial = quiz.score(&[vec![2], vec![0], vec![1]]);
        assert_eq!((partial.percent, partial.passed), (83, true));
        assert_eq!(partial.credits, vec![1.0, 0.5, 1.0]);
        // 2 of 3 = 66.67% rounds to 67, under 70.
        let failed = quiz.score(&[vec![2], vec![3], vec![1]]);
        assert_eq!((failed.percent, failed.passed), (67, false));
        let unanswered = quiz.score(&[]);
        assert_eq!((unanswered.percent, unanswered.passed), (0, false));
        // Exactly at the pass mark passes.
        let at_mark = Quiz {
            pass_mark: 67,
            ..quiz.clone()
        }
        .score(&[vec![2], vec![3], vec![1]]);
        assert!(at_mark.passed);
        assert!(
            Quiz {
                pass_mark: 0,
                ..quiz
            }
            .score(&[])
            .passed
        );
    }

    #[test]
    fn quizzes_are_checked() {
        assert_eq!(quiz(70).check(), Ok(()));
        assert_eq!(quiz(101).check(), Err(Invalid::Quiz));
        let broken = [
            question(QuestionKind::Single, 4, &[0, 1]),
            question(QuestionKind::Single, 4, &[4]),
            question(QuestionKind::Multiple, 4, &[]),
            question(QuestionKind::Multiple, 4, &[2, 1]),
            question(QuestionKind::TrueFalse, 3, &[0]),
            question(QuestionKind::Single, 1, &[0]),
            question(QuestionKind::Single, 9, &[0]),
            Question {
                prompt: " ".into(),
                ..question(QuestionKind::Single, 2, &[0])
            },
        ];
        for question in broken {
            let quiz = Quiz {
                pass_mark: 50,
                questions: vec![question.clone()],
            };
            assert_eq!(quiz.check(), Err(Invalid::Quiz), "{question:?}");
        }
        let empty = Quiz {
            pass_mark: 50,
            questions: vec![],
        };
        assert_eq!(empty.check(), Err(Invalid::Quiz));
    }

    proptest! {
        #[test]
        fn a_score_is_a_percentage_and_right_answers_pass(
            chosen in prop::collection::vec(prop::collection::vec(0u8..6, 0..6), 0..5),
            pass_mark in 0u8..=100,
        ) {
            let quiz = Quiz { pass_mark, ..quiz(0) };
            let score = quiz.score(&chosen);
            prop_assert!(score.percent <= 100);
            prop_assert!(score.credits.iter().all(|c| (0.0..=1.0).contains(c)));
            prop_assert_eq!(score.passed, score.percent >= pass_mark);
            let right: Vec<Vec<u8>> =
                quiz.questions.iter().map(|q| q.correct.clone()).collect();
            prop_assert_eq!(quiz.score(&right).percent, 100);
        }
    }

    fn item() -> TrainingItem {
        let meta = RecordMeta {
            id: id(1),
            owner: Some(id(50)),
            team: Some(id(60)),
            created_at: 1_000,
        };
        let draft = ItemDraft {
            title: "报价话术".into(),
            kind: ItemKind::Script,
            body: "## 开场\n\n先问需求。".into(),
            tags: "谈判, price".into(),
            quiz: Some(quiz(60)),
            attachments: vec![Attachment {
                sha256: Sha256::from_bytes(&[7; 32]),
                name: "chart.png".into(),
                mime: "image/png".into(),
                size: 1_234,
            }],
            assign_team: true,
            due_on: "2026-12-31".into(),
            ..ItemDraft::default()
        };
        draft.parse(&meta, 2_000).unwrap()
    }

    #[test]
    fn an_item_round_trips_through_its_form_and_validation() {
        let item = item();
        assert_eq!(reparse_item(&item), Ok(item.clone()));
        let published = item.publish(5_000).publish(6_000);
        assert_eq!(
            (published.version, published.published_at),
            (2, Some(6_000))
        );
        assert_eq!(reparse_item(&published), Ok(published.clone()));
        let value = serde_json::to_value(&published).unwrap();
        assert_eq!(
            crate::validate_record(crate::RecordKind::TrainingItem, &value),
            Ok(())
        );
        let named = crate::attachments_of(crate::RecordKind::TrainingItem, &value).unwrap();
        assert_eq!(named, vec![Sha256::from_bytes(&[7; 32])]);
        assert_eq!(
            crate::reach_of(crate::RecordKind::TrainingItem, &value).unwrap(),
            crate::Reach::Team
        );
        let draft = serde_json::to_value(item.clone()).unwrap();
        assert_eq!(
            crate::reach_of(crate::RecordKind::TrainingItem, &draft).unwrap(),
            crate::Reach::Owner
        );
    }

    #[test]
    fn an_item_refuses_what_no_editor_writes() {
        let check = |edit: &dyn Fn(&mut TrainingItem)| {
            let mut item = item();
            edit(&mut item);
            let value = serde_json::to_value(&item).unwrap();
            crate::validate_record(crate::RecordKind::TrainingItem, &value).map_err(|e| e.0)
        };
        assert_eq!(check(&|i| i.title.clear()), Err("title".into()));
        assert_eq!(check(&|i| i.published = true), Err("published".into()));
        assert_eq!(check(&|i| i.quiz = None), Ok(()));
        assert_eq!(
            check(&|i| {
                i.kind = ItemKind::Quiz;
                i.quiz = None;
            }),
            Err("quiz".into())
        );
        assert_eq!(
            check(&|i| i.attachments[0].mime = "text/html".into()),
            Err("attachments".into())
        );
        assert_eq!(
            check(&|i| i.attachments.push(i.attachments[0].clone())),
            Err("attachments".into())
        );
        assert_eq!(
            check(&|i| i.assigned.people = vec![id(3), id(3)]),
            Err("assigned".into())
        );
        let upper = serde_json::json!("AB".repeat(32));
        assert!(serde_json::from_value::<Sha256>(upper).is_err());
        assert_eq!(
            Sha256::parse(&"AB".repeat(32)).unwrap().as_str(),
            "ab".repeat(32)
        );
    }

    #[test]
    fn a_session_round_trips_in_any_zone() {
        let meta = RecordMeta::new(id(2), 1_000);
        let draft = SessionDraft {
            title: "价格谈判角色扮演".into(),
            date: "2026-12-10".into(),
            time: "14:30".into(),
            duration_min: "90".into(),
            place: "3 楼会议室".into(),
            method: SessionMethod::RolePlay,
            items: vec![id(1)],
            invited: vec![id(51), id(52)],
            ..SessionDraft::default()
        };
        let session = draft.parse(&meta, 2_000, 480).unwrap();
        assert_eq!(session.ends_at() - session.starts_at, 90 * 60_000);
        assert_eq!(reparse_session(&session), Ok(session.clone()));
        let shown = SessionDraft::from_session(&session, 480);
        assert_eq!(shown.date, "2026-12-10");
        assert!(shown.time.starts_with("14:30"));
        let mut bad = draft.clone();
        bad.time = "25:00".into();
        bad.invited = vec![id(5), id(5)];
        let errors = bad.parse(&meta, 2_000, 480).unwrap_err();
        assert_eq!(errors.get("starts_at"), Some(Invalid::DateTime));
        assert_eq!(errors.get("invited"), Some(Invalid::Id));
    }

    #[test]
    fn progress_folds_two_devices_and_every_attempt() {
        let item = item().publish(3_000);
        let me = Some(id(51));
        let meta = |n: u8| RecordMeta {
            id: id(n),
            owner: me,
            team: Some(id(60)),
            created_at: 0,
        };
        let mut phone = TrainingRecord::for_item(&meta(10), item.id);
        phone.opened_at = Some(4_000);
        phone.read_version = 1;
        let mut laptop = TrainingRecord::for_item(&meta(11), item.id);
        laptop.opened_at = Some(3_500);
        laptop.completed_at = Some(9_000);
        laptop.rating = Some(4);
        laptop.comment = "有用".into();
        laptop.updated_at = 9_000;
        let mut someone_else = laptop.clone();
        someone_else.owner = Some(id(52));
        someone_else.rating = Some(1);
        someone_else.updated_at = 10_000;
        let failed = QuizAttempt::take(&meta(20), &item, vec![vec![0]], 5_000).unwrap();
        let passed =
            QuizAttempt::take(&meta(21), &item, vec![vec![2], vec![0, 1], vec![1]], 6_000).unwrap();
        assert!(!failed.passed && passed.passed);
        let records = [phone, laptop, someone_else];
        let progress = progress(item.id, me, &records, &[failed.clone(), passed]);
        assert_eq!(progress.opened_at, Some(3_500));
        assert_eq!(progress.completed_at, Some(9_000));
        assert_eq!(progress.read_version, 1);
        assert_eq!(
            (progress.rating, progress.comment.as_str()),
            (Some(4), "有用")
        );
        assert_eq!((progress.attempts, progress.best_percent), (2, Some(100)));
        assert!(progress.is_done(&item));
        assert!(!progress.updated_since_read(&item));
        assert!(progress.updated_since_read(&item.publish(20_000)));
        let only_failed = super::progress(item.id, me, &records, &[failed]);
        assert!(!only_failed.is_done(&item), "a quiz item needs a pass");
    }

    #[test]
    fn records_and_attempts_are_checked() {
        let meta = RecordMeta::new(id(3), 0);
        let mut record = TrainingRecord::for_item(&meta, id(1));
        assert!(record.check().is_ok());
        record.rating = Some(6);
        record.session_id = Some(id(2));
        let errors = record.check().unwrap_err();
        assert_eq!(errors.get("rating"), Some(Invalid::Rating));
        assert_eq!(errors.get("item_id"), Some(Invalid::Required));
        let mut attempt = QuizAttempt::take(&meta, &item(), vec![vec![3, 1, 1]], 0).unwrap();
        assert_eq!(attempt.answers, vec![vec![1, 3]]);
        assert!(attempt.check().is_ok());
        attempt.answers = vec![vec![3, 1]];
        assert_eq!(
            attempt.check().unwrap_err().get("answers"),
            Some(Invalid::Quiz)
        );
    }

    #[test]
    fn the_library_filters_searches_and_puts_assigned_work_first() {
        let me = Reader {
            id: id(51),
            team: Some(id(60)),
        };
        let mut assigned = item().publish(5_000);
        assigned.id = id(10);
        assigned.title = "报价话术".into();
        let mut overdue = assigned.clone();
        overdue.id = id(11);
        overdue.title = "拜访清单".into();
        overdue.kind = ItemKind::Checklist;
        overdue.quiz = None;
        overdue.assigned.due_on = Some(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        let mut other = assigned.clone();
        other.id = id(12);
        other.title = "Product sheet X200".into();
        other.kind = ItemKind::ProductSheet;
        other.tags = vec!["X200".into()];
        other.assigned = Assignment::default();
        other.published_at = Some(9_000);
        let mut gone = other.clone();
        gone.id = id(13);
        gone.deleted = true;
        let items = vec![other.clone(), assigned.clone(), overdue.clone(), gone];
        let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let hay = |item: &TrainingItem| item_search_text(item, "");
        let all = library(&items, &[], &[], me, today, &LibraryQuery::default(), hay);
        let order: Vec<Id> = all.iter().map(|e| e.item.id).collect();
        assert_eq!(
            order,
            [id(11), id(10), id(12)],
            "overdue, assigned, the rest"
        );
        assert!(all[0].overdue && all[0].assigned && !all[2].assigned);

        let by = |query: LibraryQuery| -> Vec<Id> {
            library(&items, &[], &[], me, today, &query, hay)
                .iter()
                .map(|e| e.item.id)
                .collect()
        };
        let text = |t: &str| LibraryQuery {
            text: t.into(),
            ..LibraryQuery::default()
        };
        assert_eq!(by(text("x200")), [id(12)]);
        assert_eq!(by(text("ｘ２００")), [id(12)], "full-width folds");
        assert_eq!(
            by(text("先问需求")),
            [id(11), id(10), id(12)],
            "the body is searched"
        );
        let kind = LibraryQuery {
            kind: Some(ItemKind::Checklist),
            ..LibraryQuery::default()
        };
        assert_eq!(by(kind), [id(11)]);
        let tag = LibraryQuery {
            tag: Some(" x200 ".into()),
            ..LibraryQuery::default()
        };
        assert_eq!(by(tag), [id(12)]);
        let mine = LibraryQuery {
            assigned_to_me: true,
            ..LibraryQuery::default()
        };
        assert_eq!(by(mine), [id(11), id(10)]);
        // Done: marked done (and the quiz passed, for an item with one).
        let meta = RecordMeta {
            id: id(30),
            owner: Some(me.id),
            team: me.team,
            created_at: 0,
        };
        let mut read = TrainingRecord::for_item(&meta, id(11));
        read.completed_at = Some(6_000);
        let not_done = LibraryQuery {
            not_done: true,
            ..LibraryQuery::default()
        };
        let left: Vec<Id> = library(&items, &[read], &[], me, today, &not_done, hay)
            .iter()
            .map(|e| e.item.id)
            .collect();
        assert_eq!(left, [id(10), id(12)]);
        // Someone in another team is not assigned by a whole-team assignment.
        let stranger = Reader {
            id: id(70),
            team: Some(id(61)),
        };
        assert!(!stranger.is_assigned(&assigned));
    }

    #[test]
    fn the_team_matrix_shows_each_persons_progress() {
        let item = item().publish(5_000);
        let rep = |n: u8| Reader {
            id: id(n),
            team: Some(id(60)),
        };
        let meta = RecordMeta {
            id: id(40),
            owner: Some(id(51)),
            team: Some(id(60)),
            created_at: 0,
        };
        let mut record = TrainingRecord::for_item(&meta, item.id);
        record.opened_at = Some(1);
        record.completed_at = Some(2);
        let attempt =
            QuizAttempt::take(&meta, &item, vec![vec![2], vec![0, 1], vec![1]], 3).unwrap();
        let matrix = team_matrix(&[&item], &[rep(51), rep(52)], &[record], &[attempt]);
        assert_eq!(
            matrix[0][0],
            MatrixCell {
                opened: true,
                done: true,
                best_percent: Some(100),
                passed: Some(true),
                assigned: true,
            }
        );
        assert_eq!(
            matrix[1][0],
            MatrixCell {
                opened: false,
                done: false,
                best_percent: None,
                passed: Some(false),
                assigned: true,
            }
        );
    }

    #[test]
    fn csv_is_quoted_guarded_and_opens_in_excel() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-1"), "'-1");
        let file = csv(&[
            vec!["姓名".into(), "得分".into()],
            vec!["王小明".into(), "85".into()],
        ]);
        assert_eq!(file, "\u{feff}姓名,得分\r\n王小明,85\r\n");
    }

    const TF: [&str; 2] = ["对", "错"];

    #[test]
    fn picked_files_are_checked_before_and_after_hashing() {
        assert_eq!(attachment_limit(None), 10 * 1024 * 1024);
        assert_eq!(attachment_limit(Some(2_000)), 2_000);
        assert_eq!(attachment_limit(Some(0)), DEFAULT_ATTACHMENT_BYTES);
        assert_eq!(
            attachment_limit(Some(u64::MAX)),
            limits::MAX_ATTACHMENT_BYTES
        );
        let limit = 1_000;
        assert_eq!(accept_file(&[], "image/png", 1_000, limit), Ok(()));
        assert_eq!(accept_file(&[], "application/pdf", 1, limit), Ok(()));
        assert_eq!(
            accept_file(&[], "text/html", 10, limit),
            Err(FileRefusal::Type)
        );
        assert_eq!(accept_file(&[], "", 10, limit), Err(FileRefusal::Type));
        assert_eq!(
            accept_file(&[], "image/png", 0, limit),
            Err(FileRefusal::Empty)
        );
        assert_eq!(
            accept_file(&[], "image/png", 1_001, limit),
            Err(FileRefusal::TooLarge)
        );
        let one = item().attachments;
        let full = vec![one[0].clone(); limits::ATTACHMENTS];
        assert_eq!(
            accept_file(&full, "image/png", 10, limit),
            Err(FileRefusal::TooMany)
        );
        assert_eq!(
            accept_digest(&one, &one[0].sha256),
            Err(FileRefusal::Duplicate)
        );
        assert_eq!(accept_digest(&one, &Sha256::from_bytes(&[8; 32])), Ok(()));
        assert_eq!(FileRefusal::TooLarge.key(), "editor.file_too_large");
    }

    #[test]
    fn attachment_names_pass_the_attachment_check() {
        assert_eq!(attachment_name("  展台.png \n"), "展台.png");
        assert_eq!(attachment_name("a\u{7}b.pdf"), "ab.pdf");
        assert_eq!(attachment_name(" \t"), "file");
        let long = format!("{}.jpeg", "名".repeat(300));
        let named = attachment_name(&long);
        assert_eq!(named.chars().count(), limits::FILE_NAME);
        assert!(named.ends_with(".jpeg"));
        let attachment = Attachment {
            sha256: Sha256::from_bytes(&[1; 32]),
            name: named,
            mime: "image/jpeg".into(),
            size: 10,
        };
        assert_eq!(attachment.check(), Ok(()));
    }

    #[test]
    fn images_are_added_and_removed_in_the_body() {
        let sha = Sha256::from_bytes(&[0xab; 32]);
        let image = image_markdown("图 [1]*.png", &sha);
        assert_eq!(image, format!("![图 \\[1\\]\\*.png](attachment:{sha})"));
        assert_eq!(append_block("", &image), image);
        assert_eq!(append_block("开场\n\n", "x"), "开场\n\nx");
        let body = append_block(&append_block("intro", &image), "more");
        assert_eq!(body, format!("intro\n\n{image}\n\nmore"));
        assert_eq!(remove_image_refs(&body, &sha), "intro\n\nmore");
        assert_eq!(remove_image_refs(&image, &sha), "");
        assert_eq!(
            remove_image_refs(&format!("intro\n\n{image}"), &sha),
            "intro\n\n"
        );
        // Inline, upper-case, with a title: removed; another attachment's image stays.
        let other = image_markdown("other", &Sha256::from_bytes(&[1; 32]));
        let upper = format!(
            "see ![a](attachment:{} \"t\") and {other}\n",
            sha.as_str().to_uppercase()
        );
        assert_eq!(
            remove_image_refs(&upper, &sha),
            format!("see  and {other}\n")
        );
        assert_eq!(remove_image_refs("no images", &sha), "no images");
    }

    #[test]
    fn quiz_questions_are_edited_as_structure() {
        let mut q = Question::blank(QuestionKind::Single, TF);
        assert_eq!((q.options.len(), q.correct.len()), (2, 0));
        assert!(!q.is_complete());
        q.prompt = " 首次拜访先做什么？ ".into();
        q.options = vec!["寒暄".into(), " 了解需求 ".into()];
        q.mark(1, true);
        assert!(q.is_complete(), "text is trimmed before the check");
        q.mark(0, true);
        assert_eq!(q.correct, vec![0], "single choice has one right answer");
        assert!(q.add_option());
        q.options[2] = "报价".into();
        q.set_kind(QuestionKind::Multiple, TF);
        q.mark(2, true);
        assert_eq!(q.correct, vec![0, 2]);
        q.remove_option(0);
        assert_eq!(q.options, vec![" 了解需求 ", "报价"]);
        assert_eq!(q.correct, vec![1], "answers renumbered");
        q.remove_option(0);
        assert_eq!(q.options.len(), 2, "a question keeps two options");
        q.mark(0, true);
        q.set_kind(QuestionKind::Single, TF);
        assert_eq!(q.correct, vec![0]);
        q.set_kind(QuestionKind::TrueFalse, TF);
        assert_eq!(
            (q.options.clone(), q.correct.len()),
            (vec!["对".to_string(), "错".to_string()], 0)
        );
        assert!(!q.add_option());
        q.mark(1, true);
        q.mark(7, true);
        assert_eq!(q.correct, vec![1]);
        assert!(q.is_complete());
        let mut multi = Question::blank(QuestionKind::Multiple, TF);
        while multi.add_option() {}
        assert_eq!(multi.options.len(), limits::OPTIONS);

        let mut quiz = Quiz::blank();
        quiz.questions.push(q.clone());
        assert_eq!(quiz.incomplete(), vec![0]);
        assert_eq!(quiz.move_question(1, true), Some(0));
        assert_eq!(quiz.questions[0], q);
        assert_eq!(quiz.move_question(0, true), None);
        assert_eq!(quiz.move_question(1, false), None);
        assert_eq!(quiz.incomplete(), vec![1]);
        assert_eq!(parse_pass_mark("80"), Ok(80));
        assert_eq!(parse_pass_mark(" ８０％ "), Ok(80));
        assert_eq!(parse_pass_mark("101"), Err(Invalid::Quiz));
        assert_eq!(parse_pass_mark("-1"), Err(Invalid::Quiz));
        assert_eq!(parse_pass_mark(""), Err(Invalid::Required));
    }

    #[test]
    fn the_editor_saves_drafts_publishes_and_corrects() {
        let meta = RecordMeta {
            id: id(1),
            owner: Some(id(50)),
            team: Some(id(60)),
            created_at: 1_000,
        };
        let mut draft = ItemDraft {
            title: " 报价话术 ".into(),
            kind: ItemKind::Quiz,
            quiz: Some(Quiz {
                pass_mark: 50,
                questions: vec![Question {
                    prompt: "价格异议怎么办？ ".into(),
                    options: vec!["先问原因".into(), " 直接降价".into()],
                    correct: vec![0],
                    ..Question::blank(QuestionKind::Single, TF)
                }],
            }),
            ..ItemDraft::default()
        };
        let saved = draft.save(&meta, None, Publication::Keep, 2_000).unwrap();
        assert_eq!((saved.published, saved.version), (false, 0));
        assert_eq!(saved.title, "报价话术");
        assert_eq!(
            saved.quiz.as_ref().unwrap().questions[0].options[1],
            "直接降价"
        );
        let published = ItemDraft::from_item(&saved)
            .save(&meta, Some(&saved), Publication::Publish, 3_000)
            .unwrap();
        assert_eq!(
            (
                published.published,
                published.version,
                published.published_at
            ),
            (true, 1, Some(3_000))
        );
        let mut edit = ItemDraft::from_item(&published);
        edit.body = "改一个错别字".into();
        let corrected = edit
            .save(&meta, Some(&published), Publication::Keep, 4_000)
            .unwrap();
        assert_eq!(
            (corrected.version, corrected.published_at),
            (1, Some(3_000))
        );
        let republished = edit
            .save(&meta, Some(&published), Publication::Publish, 5_000)
            .unwrap();
        assert_eq!(
            (republished.version, republished.published_at),
            (2, Some(5_000))
        );
        // Everyone → team would take it from readers outside the team.
        let mut wide = ItemDraft::from_item(&published);
        wide.audience = Audience::Everyone;
        let everyone = wide
            .save(&meta, Some(&published), Publication::Keep, 6_000)
            .unwrap();
        assert!(!narrows(&published, &everyone));
        let mut narrow = ItemDraft::from_item(&everyone);
        narrow.audience = Audience::Team;
        let errors = narrow
            .save(&meta, Some(&everyone), Publication::Keep, 7_000)
            .unwrap_err();
        assert_eq!(errors.get("audience"), Some(Invalid::Narrowed));
        // A draft may change its audience freely.
        assert!(!narrows(
            &saved,
            &ItemDraft {
                audience: Audience::Everyone,
                ..ItemDraft::from_item(&saved)
            }
            .parse(&meta, 1)
            .unwrap()
        ));
        draft.quiz = None;
        let errors = draft.save(&meta, None, Publication::Keep, 1).unwrap_err();
        assert_eq!(errors.get("quiz"), Some(Invalid::Quiz));
    }

    fn session() -> TrainingSession {
        let meta = RecordMeta {
            id: id(2),
            owner: Some(id(50)),
            team: Some(id(60)),
            created_at: 1_000,
        };
        SessionDraft {
            title: "价格谈判角色扮演".into(),
            date: "2026-12-10".into(),
            time: "14:30".into(),
            duration_min: "90".into(),
            method: SessionMethod::RolePlay,
            invited: vec![id(52), id(51)],
            ..SessionDraft::default()
        }
        .parse(&meta, 2_000, 480)
        .unwrap()
    }

    fn session_record(n: u8, person: u8, session: Id) -> TrainingRecord {
        let meta = RecordMeta {
            id: id(n),
            owner: Some(id(person)),
            team: Some(id(60)),
            created_at: 0,
        };
        TrainingRecord::for_session(&meta, session)
    }

    #[test]
    fn a_session_folds_confirmations_attendance_and_evaluations() {
        let session = session();
        assert!(!session.has_ended(session.ends_at()));
        assert!(session.has_ended(session.ends_at() + 1));
        let session = session
            .with_attendance(id(51), true, 9_000)
            .with_attendance(id(53), true, 9_001)
            .with_attendance(id(53), false, 9_002)
            .with_attendance(id(54), true, 9_003);
        assert_eq!(session.attended, vec![id(51), id(54)]);
        assert_eq!(session.updated_at, 9_003);
        let reviewed = session
            .with_review("  效果好，下次多练报价。 ", 9_500)
            .unwrap();
        assert_eq!(
            (reviewed.review.as_str(), reviewed.updated_at),
            ("效果好，下次多练报价。", 9_500)
        );
        assert_eq!(
            session.with_review(&"长".repeat(10_001), 1),
            Err(Invalid::TooLong { max: 10_000 })
        );
        let at = |place: &str| TrainingSession {
            place: place.into(),
            ..session.clone()
        };
        assert_eq!(
            at(" https://meet.example.com/x ").online_link(),
            Some("https://meet.example.com/x")
        );
        assert_eq!(at("HTTP://a.cn").online_link(), Some("HTTP://a.cn"));
        assert_eq!(at("3 楼会议室").online_link(), None);
        assert_eq!(at("javascript:alert(1)").online_link(), None);
        assert_eq!(at("https://a.cn 3楼").online_link(), None);
        assert_eq!(at("https://").online_link(), None);
        let mut phone = session_record(10, 51, session.id);
        phone.confirmed_at = Some(5_000);
        phone.rating = Some(3);
        phone.updated_at = 6_000;
        let mut laptop = session_record(11, 51, session.id);
        laptop.confirmed_at = Some(4_000);
        laptop.rating = Some(5);
        laptop.usefulness = Some(4);
        laptop.comment = "很实用".into();
        laptop.updated_at = 7_000;
        let mut other_session = session_record(12, 52, id(99));
        other_session.rating = Some(1);
        let mut rated = session_record(13, 55, session.id);
        rated.rating = Some(4);
        rated.usefulness = Some(2);
        rated.updated_at = 8_000;
        let records = [phone, laptop, other_session, rated];
        let responses = session_responses(&session, &records);
        let people: Vec<Option<Id>> = responses.iter().map(|r| r.person).collect();
        assert_eq!(
            people,
            [Some(id(52)), Some(id(51)), Some(id(54)), Some(id(55))],
            "the invited first, then who came or answered"
        );
        let ann = &responses[1];
        assert!(ann.invited && ann.attended);
        assert_eq!(ann.confirmed_at, Some(4_000), "the earliest confirmation");
        assert_eq!(
            (ann.rating, ann.usefulness, ann.comment.as_str()),
            (Some(5), Some(4), "很实用"),
            "the latest evaluation"
        );
        assert!(!responses[0].evaluated() && responses[0].confirmed_at.is_none());
        assert!(!responses[2].invited && responses[2].attended);
        let summary = evaluation_summary(&responses);
        assert_eq!(summary.count, 2);
        assert_eq!(summary.rating, Some(4.5));
        assert_eq!(summary.usefulness, Some(3.0));
        assert_eq!(evaluation_summary(&[]), EvaluationSummary::default());
    }

    #[test]
    fn a_persons_archive_holds_items_attempts_and_sessions() {
        let me = Reader {
            id: id(51),
            team: Some(id(60)),
        };
        let meta = |n: u8| RecordMeta {
            id: id(n),
            owner: Some(me.id),
            team: me.team,
            created_at: 0,
        };
        let quiz_item = item().publish(5_000);
        let mut assigned = quiz_item.clone();
        assigned.id = id(20);
        assigned.title = "拜访清单".into();
        assigned.quiz = None;
        assigned.assigned.due_on = NaiveDate::from_ymd_opt(2026, 1, 1);
        let mut unassigned = assigned.clone();
        unassigned.id = id(21);
        unassigned.assigned = Assignment::default();
        let mut trashed = unassigned.clone();
        trashed.id = id(22);
        trashed.title = "旧资料".into();
        trashed.deleted = true;
        let mut read = TrainingRecord::for_item(&meta(30), quiz_item.id);
        read.opened_at = Some(6_000);
        read.completed_at = Some(7_000);
        read.rating = Some(4);
        read.comment = "有用".into();
        let mut old = TrainingRecord::for_item(&meta(31), trashed.id);
        old.opened_at = Some(1_000);
        let mut gone = TrainingRecord::for_item(&meta(32), id(23));
        gone.opened_at = Some(2_000);
        let mut someone_else = read.clone();
        someone_else.owner = Some(id(52));
        someone_else.item_id = Some(unassigned.id);
        let failed = QuizAttempt::take(&meta(40), &quiz_item, vec![vec![0]], 6_500).unwrap();
        let passed = QuizAttempt::take(
            &meta(41),
            &quiz_item,
            vec![vec![2], vec![0, 1], vec![1]],
            6_800,
        )
        .unwrap();
        let mut session = session();
        session.attended = vec![me.id];
        let mut confirmed = session_record(33, 51, session.id);
        confirmed.confirmed_at = Some(3_000);
        confirmed.rating = Some(5);
        confirmed.usefulness = Some(5);
        let mut not_invited = session.clone();
        not_invited.id = id(3);
        not_invited.invited = vec![id(52)];
        not_invited.attended = vec![];
        let mut trashed_session = session.clone();
        trashed_session.id = id(4);
        trashed_session.attended = vec![];
        trashed_session.deleted = true;

        let items = [quiz_item.clone(), assigned, unassigned, trashed];
        let archive = person_archive(
            me,
            &items,
            &[session.clone(), not_invited, trashed_session],
            &[read, old, gone, someone_else, confirmed],
            &[failed, passed],
        );
        let order: Vec<(Id, Option<&str>)> = archive
            .items
            .iter()
            .map(|h| (h.item_id, h.title.as_deref()))
            .collect();
        assert_eq!(
            order,
            [
                (quiz_item.id, Some("报价话术")),
                (id(23), None),
                (id(22), Some("旧资料")),
                (id(20), Some("拜访清单")),
            ],
            "opened newest first, then not opened; a trashed item stays in the history"
        );
        let first = &archive.items[0];
        assert!(first.done && first.assigned);
        assert_eq!(first.passed, Some(true));
        assert_eq!(
            (first.progress.attempts, first.progress.best_percent),
            (2, Some(100))
        );
        assert!(!archive.items[3].done && archive.items[3].passed.is_none());
        assert_eq!(
            archive
                .attempts
                .iter()
                .map(|a| (a.submitted_at, a.passed))
                .collect::<Vec<_>>(),
            [(6_800, true), (6_500, false)]
        );
        assert_eq!(archive.sessions.len(), 1, "invited or came; not others'");
        let attended = &archive.sessions[0].response;
        assert!(attended.invited && attended.attended);
        assert_eq!(
            (attended.confirmed_at, attended.rating),
            (Some(3_000), Some(5))
        );

        let tr = |key: &str| format!("<{key}>");
        let rows = archive_csv(&archive, 480, &tr);
        assert_eq!(rows.len(), 1 + 4 + 2 + 1);
        assert!(rows.iter().all(|row| row.len() == rows[0].len()));
        assert_eq!(rows[0][0], "<archive.col_type>");
        assert_eq!(
            rows[1][..7],
            [
                "<archive.type_item>".to_string(),
                "报价话术".into(),
                "<item_kind.script>".into(),
                csv_time(6_000, 480),
                csv_time(7_000, 480),
                "100".into(),
                "<archive.yes>".into(),
            ]
        );
        assert_eq!(rows[2][1], "<archive.unknown_item>");
        assert_eq!(rows[5][5], "100");
        assert_eq!(rows[7][8], "<archive.yes>");
        assert_eq!(rows[7][2], "<session_method.role_play>");
        assert_eq!(csv_time(0, 480), "1970-01-01 08:00");
        // Every key the rows use is listed for the translation test.
        for row in &rows {
            for cell in row {
                if let Some(key) = cell.strip_prefix('<').and_then(|c| c.strip_suffix('>')) {
                    let domain_enum =
                        key.starts_with("item_kind.") || key.starts_with("session_method.");
                    assert!(domain_enum || ARCHIVE_KEYS.contains(&key), "{key}");
                }
            }
        }
    }

    #[test]
    fn the_matrix_columns_and_csv() {
        let first = item().publish(5_000);
        let mut later = first.clone();
        later.id = id(5);
        later.title = "Z".into();
        later.assigned.due_on = None;
        let mut draft = first.clone();
        draft.id = id(6);
        draft.published = false;
        let mut nobody = first.clone();
        nobody.id = id(7);
        nobody.assigned = Assignment::default();
        let mut trashed = first.clone();
        trashed.id = id(8);
        trashed.deleted = true;
        let items = [later.clone(), draft, nobody, trashed, first.clone()];
        let columns = matrix_items(&items);
        assert_eq!(
            columns.iter().map(|i| i.id).collect::<Vec<_>>(),
            [first.id, later.id]
        );
        let tr = |key: &str| match key {
            "archive.best" => "best {}%".to_string(),
            other => other.rsplit('.').next().unwrap_or_default().to_string(),
        };
        let cell = |opened, done, best, passed, assigned| MatrixCell {
            opened,
            done,
            best_percent: best,
            passed,
            assigned,
        };
        assert_eq!(
            cell(true, true, Some(90), Some(true), true).describe(&tr),
            "done · best 90% · passed"
        );
        assert_eq!(
            cell(true, false, Some(40), Some(false), true).describe(&tr),
            "opened · best 40% · not_passed"
        );
        assert_eq!(
            cell(false, false, None, Some(false), true).describe(&tr),
            "not_opened"
        );
        assert_eq!(
            cell(false, false, None, None, false).describe(&tr),
            "not_assigned"
        );
        let matrix = vec![vec![
            cell(true, true, None, None, true),
            cell(false, false, None, None, true),
        ]];
        let rows = matrix_csv(&["王小明".into()], &columns, &matrix, &tr);
        assert_eq!(
            rows,
            vec![
                vec!["col_person".to_string(), "报价话术".into(), "Z".into()],
                vec!["王小明".to_string(), "done".into(), "not_opened".into()],
            ]
        );
    }

    #[test]
    fn today_lists_assigned_unfinished_items_and_sessions_ahead() {
        let me = Reader {
            id: id(51),
            team: Some(id(60)),
        };
        let mut assigned = item().publish(5_000);
        assigned.quiz = None;
        let mut draft = item();
        draft.id = id(9);
        let meta = RecordMeta {
            id: id(2),
            owner: Some(id(50)),
            team: Some(id(60)),
            created_at: 0,
        };
        let session = |n: u8, starts_at: i64, invited: Vec<Id>| TrainingSession {
            id: id(n),
            starts_at,
            duration_min: Some(60),
            invited,
            ..SessionDraft {
                title: "培训".into(),
                date: "2026-12-10".into(),
                time: "14:30".into(),
                ..SessionDraft::default()
            }
            .parse(&meta, 0, 0)
            .unwrap()
        };
        let hour = 3_600_000;
        let now = 100 * hour;
        let sessions = vec![
            session(20, now + 5 * hour, vec![me.id]),
            session(21, now + 2 * hour, vec![me.id]),
            session(22, now - 3 * hour, vec![me.id]),
            session(23, now + hour, vec![id(52)]),
            session(24, now - 30 * 60_000, vec![me.id]),
        ];
        let items = vec![assigned.clone(), draft];
        let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let (work, ahead) = training_today(&items, &sessions, &[], &[], me, today, now);
        assert_eq!(work.len(), 1, "drafts never show");
        assert_eq!(work[0].item.id, assigned.id);
        let ids: Vec<Id> = ahead.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [id(24), id(21), id(20)],
            "under way, then soonest; not others'"
        );
        let rec_meta = RecordMeta {
            id: id(3),
            owner: Some(me.id),
            team: me.team,
            created_at: 0,
        };
        let mut done = TrainingRecord::for_item(&rec_meta, assigned.id);
        done.completed_at = Some(1);
        let (work, _) = training_today(&items, &sessions, &[done], &[], me, today, now);
        assert!(work.is_empty(), "finished work leaves Today");
    }

    #[test]
    fn a_question_saved_drops_options_left_empty() {
        let question = Question {
            kind: QuestionKind::Single,
            prompt: " Which? ".into(),
            options: vec!["A".into(), " ".into(), "C ".into(), String::new()],
            correct: vec![2],
            explanation: String::new(),
        };
        let saved = question.trimmed();
        assert_eq!(saved.options, vec!["A".to_string(), "C".to_string()]);
        assert_eq!(
            saved.correct,
            vec![1],
            "the right answer follows its option"
        );
        assert!(question.is_complete());
        let right_one_empty = Question {
            correct: vec![1],
            ..question
        };
        assert!(
            !right_one_empty.is_complete(),
            "its right answer was the empty option"
        );
    }
}
