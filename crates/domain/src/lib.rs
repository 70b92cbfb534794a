//! Fieldbook's domain: records, the rules for what may be typed into them, clocks, search
//! and the change format that the outbox (and later the sync protocol) carries.
//!
//! This crate does no IO and never reads the time or a random source itself: it compiles
//! for `wasm32-unknown-unknown` (the app) and the host (tests, the future server), and the
//! same parsers validate a form in the browser and a request on the server.
//!
//! Code map:
//! - [`id`]: UUIDv7 record ids.
//! - [`clock`]: the clock seam, the hybrid logical clock and local-day arithmetic.
//! - [`error`]: why input was refused, as translatable message keys.
//! - [`value`]: phone, email, money, dates, tags, locations, bounded text.
//! - [`lead`], [`visit`], [`deal`]: the records, their form drafts and their rules.
//! - [`target`]: periods, sales targets, actuals and the 计划分解 split.
//! - [`pipeline`]: stage changes, probabilities, the pipeline, the funnel and report
//!   tallies.
//! - [`training`]: training items, quizzes and their scoring, sessions, and each person's
//!   training record and quiz attempts.
//! - [`search`]: folding, pinyin initials and the lead list query.
//! - [`change`]: the record trait, field-level diffs and outbox mutations.
//! - [`sync`]: the push/pull protocol types and the per-field merge rules the server
//!   applies (last writer by stamp wins, losers go to the conflict log).

#![warn(missing_docs)]

/// Declares a closed set of choices (a `<select>`): the enum, its serde names, message
/// keys, `ALL`, `as_str`, `FromStr` and `Display`.
///
/// Serde names are written out once per variant and reused for `as_str` and `FromStr`, so
/// the stored form, the URL form and the parser cannot drift apart.
macro_rules! choice_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $prefix:literal {
            $(
                $(#[$vmeta:meta])*
                $variant:ident => $serde:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $serde)]
                $variant,
            )+
        }

        impl $name {
            /// Every choice, in the order a form lists them.
            pub const ALL: [Self; [$($serde),+].len()] = [$(Self::$variant),+];

            /// The message key the UI translates, e.g. `"stage.prospecting"`.
            pub fn key(&self) -> &'static str {
                match self {
                    $(Self::$variant => concat!($prefix, ".", $serde),)+
                }
            }

            /// The serde name, also used in URLs and `<option value>`s.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $serde,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::Invalid;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($serde => Ok(Self::$variant),)+
                    _ => Err($crate::Invalid::UnknownOption),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Checks the conventions every choice enum promises, for use in each module's tests.
#[cfg(all(test, not(target_arch = "wasm32")))]
macro_rules! assert_choice_enum {
    ($name:ident, $prefix:literal) => {{
        let mut names = std::collections::BTreeSet::new();
        for choice in $name::ALL {
            let name = choice.as_str();
            assert!(names.insert(name), "duplicate name {name}");
            assert_eq!(choice.key(), format!("{}.{}", $prefix, name));
            assert_eq!(name.parse::<$name>(), Ok(choice));
            assert_eq!(choice.to_string(), name);
            let json = serde_json::to_string(&choice).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<$name>(&json).unwrap(), choice);
        }
        assert_eq!(
            "no_such_choice".parse::<$name>(),
            Err($crate::Invalid::UnknownOption)
        );
    }};
}

pub mod change;
pub mod clock;
pub mod contact;
pub mod deal;
pub mod error;
pub mod followup;
pub mod id;
pub mod lead;
pub mod lead_index;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod pipeline;
pub mod replica;
pub mod search;
pub mod sync;
pub mod target;
pub mod team;
pub mod training;
pub mod value;
pub mod visit;
pub mod wan;
pub mod wire;

pub use change::{
    apply_fields, changed_fields, records_changed, to_object, ForKind, Mutation, Reach, Record,
    RecordKind, RecordMeta, Writers,
};
pub use clock::{
    day_bounds_ms, local_datetime, local_to_unix_ms, today_in_offset, Clock, FixedClock, Hlc,
    Stamp, MAX_WALL_MS,
};
pub use contact::{dialable, map_link, DevicePlatform, Dialable, PhoneKind, WECHAT_URI};
pub use deal::{deals_total, Deal, DealDraft, DealStatus};
pub use error::{FieldError, Invalid, ValidationErrors};
pub use followup::{check_lead_dates, default_next_follow_up, FollowUpDays, QUICK_FOLLOW_UPS};
pub use id::Id;
pub use lead::{agenda, Agenda, ContactLink, Grade, Intent, Lead, LeadDraft, Source, Stage};
pub use lead_index::{Found, LeadIndex};
pub use pipeline::{
    forecast, funnel, leaderboard, outcomes, pipeline, takes_reason, tally, visits_by_week,
    week_start, weighted, FunnelStep, Outcomes, Probabilities, StageChange, StageReason,
    StageSummary, Standing, FUNNEL, OPEN_STAGES,
};
pub use search::{
    fold, initials_with, name_char, pinyin_initial, pinyin_initials, run_query, search_text, Keyed,
    LeadQuery, LeadSort, NameOrder, PINYIN_BOUNDARIES,
};
pub use sync::{
    attachments_of, clamp_stamp, field_values, is_server_managed, is_supported_protocol,
    materialize, materialize_kind, merge_field, merge_record, meta_fields, reach_of,
    validate_record, AttachmentLimits, Conflict, Cursor, CursorError, FieldMerge, FieldOutcome,
    FieldState, FieldWrite, LostWrite, PullRequest, PullResponse, PushLimits, PushMutation,
    PushRequest, PushResponse, RecordChange, RecordMerge, RecordRef, RejectReason, Rejection,
    TeamMember, VersionMark, MAX_CLOCK_AHEAD_MS, PROTOCOL_VERSION, SERVER_MANAGED,
};
pub use target::{
    format_figure, parse_figure, split, target_for, Actuals, Attainment, DealFact, Event, Facts,
    Metric, Period, PeriodKind, SplitBasis, Target, TargetDraft, MAX_TARGET_COUNT,
};
pub use team::{TeamSettings, TeamSettingsDraft};
pub use training::training_today;
pub use training::{
    accept_digest, accept_file, append_block, archive_csv, attachment_limit, attachment_name, csv,
    csv_field, csv_time, evaluation_summary, image_markdown, item_search_text, library, matrix_csv,
    matrix_items, narrows, parse_pass_mark, person_archive, progress, remove_image_refs,
    session_response, session_responses, team_matrix, Assignment, Attachment, AttemptHistory,
    Audience, EvaluationSummary, FileRefusal, ItemDraft, ItemHistory, ItemKind, LibraryEntry,
    LibraryQuery, MatrixCell, PersonArchive, Progress, Publication, Question, QuestionKind, Quiz,
    QuizAttempt, Reader, Score, SessionDraft, SessionHistory, SessionMethod, SessionResponse,
    Sha256, TrainingItem, TrainingRecord, TrainingSession, ARCHIVE_KEYS, ATTACHMENT_TYPES,
    DEFAULT_ATTACHMENT_BYTES,
};
pub use value::{
    format_date, format_plain, join_tags, optional_text, parse_amount, parse_date,
    parse_optional_date, parse_tags, required_text, Currency, Email, GeoPoint, Money, Phone,
    MAX_AMOUNT_MAJOR, MAX_TAGS, MAX_TAG_CHARS, MAX_YEAR, MIN_YEAR,
};
pub use visit::{apply_visit_to_lead, CheckIn, Visit, VisitDraft, VisitKind};
pub use wan::wan;
