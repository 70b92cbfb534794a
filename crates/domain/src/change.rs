//! Changes to records as the outbox stores them and the sync protocol will carry them:
//! which fields of which record changed, stamped by the hybrid logical clock.
//!
//! Changes are field-level so that two people editing different fields of the same lead
//! both keep their edits; a conflict only exists when they touch the same field.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::training::{QuizAttempt, TrainingItem, TrainingRecord, TrainingSession};
use crate::{Deal, Id, Lead, StageChange, Stamp, Target, TeamSettings, Visit};

choice_enum! {
    /// The kinds of record that sync.
    pub enum RecordKind in "record_kind" {
        /// A [`Lead`].
        Lead => "lead",
        /// A [`Visit`].
        Visit => "visit",
        /// A [`Deal`].
        Deal => "deal",
        /// A [`TrainingItem`].
        TrainingItem => "training_item",
        /// A [`TrainingSession`].
        TrainingSession => "training_session",
        /// A [`TrainingRecord`].
        TrainingRecord => "training_record",
        /// A [`QuizAttempt`].
        QuizAttempt => "quiz_attempt",
        /// A team's [`TeamSettings`].
        TeamSettings => "team_settings",
        /// A sales [`Target`](crate::Target).
        Target => "target",
        /// A lead's [`StageChange`](crate::StageChange).
        StageChange => "stage_change",
    }
}

/// Who sees a record, decided by the record itself ([`Record::reach`]); the server keeps it
/// beside the record and pulls by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Its owner and the managers of its team.
    Owner,
    /// Everyone in its team.
    Team,
    /// Every user.
    Everyone,
}

impl Reach {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Owner => "owner",
            Reach::Team => "team",
            Reach::Everyone => "everyone",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(raw: &str) -> Option<Reach> {
        [Reach::Owner, Reach::Team, Reach::Everyone]
            .into_iter()
            .find(|reach| reach.as_str() == raw)
    }
}

/// Who may create and change records of a kind (besides seeing them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writers {
    /// Anyone creates; the owner and the managers of its team change it (and a manager
    /// may hand it to a rep of the team): leads, visits, deals.
    OwnerAndManagers,
    /// Only managers create, and only the managers of its team change it: what a manager
    /// publishes to others (training items, sessions).
    Managers,
    /// Anyone creates, for themselves; only its owner changes it (a manager reads but never
    /// rewrites a rep's training record or quiz score).
    OwnerOnly,
}

impl RecordKind {
    /// Runs `work` with this kind's record type: the one place that turns a kind known
    /// only at run time into its type. Everything else per kind is read from the type's
    /// [`Record`] implementation (ARCHITECTURE.md, "Adding a record kind").
    pub fn with_type<W: ForKind>(self, work: W) -> W::Output {
        match self {
            RecordKind::Lead => work.run::<Lead>(),
            RecordKind::Visit => work.run::<Visit>(),
            RecordKind::Deal => work.run::<Deal>(),
            RecordKind::TrainingItem => work.run::<TrainingItem>(),
            RecordKind::TrainingSession => work.run::<TrainingSession>(),
            RecordKind::TrainingRecord => work.run::<TrainingRecord>(),
            RecordKind::QuizAttempt => work.run::<QuizAttempt>(),
            RecordKind::TeamSettings => work.run::<TeamSettings>(),
            RecordKind::Target => work.run::<Target>(),
            RecordKind::StageChange => work.run::<StageChange>(),
        }
    }

    /// Where a device keeps records of this kind ([`Record::COLLECTION`]).
    pub fn collection(self) -> &'static str {
        struct Collection;
        impl ForKind for Collection {
            type Output = &'static str;
            fn run<T: Record>(self) -> &'static str {
                T::COLLECTION
            }
        }
        self.with_type(Collection)
    }

    /// Who may create and change records of this kind ([`Record::WRITERS`]).
    pub fn writers(self) -> Writers {
        struct W;
        impl ForKind for W {
            type Output = Writers;
            fn run<T: Record>(self) -> Writers {
                T::WRITERS
            }
        }
        self.with_type(W)
    }

    /// Whether records of this kind are part of a lead's history: visits and deals, which
    /// name their lead in `lead_id`, record who logged them in `logged_by`, and move to the
    /// lead's new owner when a manager reassigns the lead.
    pub fn is_lead_history(self) -> bool {
        matches!(
            self,
            RecordKind::Visit | RecordKind::Deal | RecordKind::StageChange
        )
    }

    /// The field naming whom a record a manager creates belongs to, for kinds a manager
    /// writes *for* someone: a rep's target is the rep's (they see it; their teammates do
    /// not). The server gives a new record to the team member it names there (refusing
    /// anyone else), and to its creator when it names nobody.
    pub fn owner_field(self) -> Option<&'static str> {
        match self {
            RecordKind::Target => Some("rep"),
            _ => None,
        }
    }
}

/// The bookkeeping every record carries and a form does not edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordMeta {
    /// The record id.
    pub id: Id,
    /// The owning user.
    pub owner: Option<Id>,
    /// The owning team.
    pub team: Option<Id>,
    /// Creation time, unix ms.
    pub created_at: i64,
}

impl RecordMeta {
    /// Bookkeeping for a record created now, not yet assigned to anyone.
    pub fn new(id: Id, now_ms: i64) -> Self {
        RecordMeta {
            id,
            owner: None,
            team: None,
            created_at: now_ms,
        }
    }
}

/// Work to do with the record type of a [`RecordKind`] known only at run time; see
/// [`RecordKind::with_type`].
pub trait ForKind {
    /// What the work gives back.
    type Output;
    /// Does the work with record type `T`.
    fn run<T: Record>(self) -> Self::Output;
}

/// What the outbox, sync, validation and the device's store need from every record type.
pub trait Record: Serialize + DeserializeOwned + Clone + PartialEq {
    /// Which kind this is.
    const KIND: RecordKind;
    /// Where a device keeps records of this kind: the name of its IndexedDB store.
    const COLLECTION: &'static str;
    /// Who may create and change records of this kind (the server enforces it).
    const WRITERS: Writers;
    /// Who sees this record. It may widen (a draft item published to its team, then to
    /// everyone) but never narrow: the server refuses an edit that would, since the
    /// readers' devices would keep a copy no removal reaches (withdrawing is the trash).
    fn reach(&self) -> Reach;
    /// The record id.
    fn id(&self) -> Id;
    /// Last edit time, unix ms.
    fn updated_at(&self) -> i64;
    /// Whether the record is in the trash.
    fn is_deleted(&self) -> bool;
    /// Moves the record to the trash; deletion is an edit like any other so it syncs.
    fn mark_deleted(&mut self, now_ms: i64);
    /// Takes the record out of the trash; also an edit that syncs.
    fn restore(&mut self, now_ms: i64);
    /// The id, owner, team and creation time.
    fn meta(&self) -> RecordMeta;
    /// A minimal valid record as a JSON object, for validation to tell which field a
    /// malformed value is in.
    fn template() -> Map<String, Value>;
    /// The record read again through its form's parser: validation's round trip (see
    /// [`crate::validate_record`]).
    fn reparse(&self) -> Result<Self, crate::ValidationErrors>;
    /// Values the device stores beside the record for its indices only (derived from the
    /// record, never synced, ignored when the record is read back).
    fn index_keys(&self) -> Vec<(&'static str, String)>;
    /// The attachments (files moved in their own requests, by digest) the record names.
    fn attachments(&self) -> Vec<&crate::Sha256> {
        Vec::new()
    }
}

macro_rules! impl_record {
    (
        $type:ident, $collection:literal, $template:path, $reparse:path, $index_keys:expr,
        $writers:expr, $reach:expr
    ) => {
        impl_record!(
            $type,
            $collection,
            $template,
            $reparse,
            $index_keys,
            $writers,
            $reach,
            |_| Vec::new()
        );
    };
    (
        $type:ident, $collection:literal, $template:path, $reparse:path, $index_keys:expr,
        $writers:expr, $reach:expr, $attachments:expr
    ) => {
        impl Record for $type {
            const KIND: RecordKind = RecordKind::$type;
            const COLLECTION: &'static str = $collection;
            const WRITERS: Writers = $writers;

            fn reach(&self) -> Reach {
                let reach: fn(&$type) -> Reach = $reach;
                reach(self)
            }

            fn attachments(&self) -> Vec<&crate::Sha256> {
                let attachments: fn(&$type) -> Vec<&crate::Sha256> = $attachments;
                attachments(self)
            }

            fn id(&self) -> Id {
                self.id
            }

            fn updated_at(&self) -> i64 {
                self.updated_at
            }

            fn is_deleted(&self) -> bool {
                self.deleted
            }

            fn mark_deleted(&mut self, now_ms: i64) {
                self.deleted = true;
                self.updated_at = now_ms;
            }

            fn restore(&mut self, now_ms: i64) {
                self.deleted = false;
                self.updated_at = now_ms;
            }

            fn meta(&self) -> RecordMeta {
                $type::meta(self)
            }

            fn template() -> Map<String, Value> {
                $template()
            }

            fn reparse(&self) -> Result<Self, crate::ValidationErrors> {
                $reparse(self)
            }

            fn index_keys(&self) -> Vec<(&'static str, String)> {
                let keys: fn(&$type) -> Vec<(&'static str, String)> = $index_keys;
                keys(self)
            }
        }
    };
}

impl_record!(
    Lead,
    "leads",
    crate::sync::lead_template,
    crate::sync::reparse_lead,
    |lead| {
        // Today's index: only the leads it may list have the key.
        lead.agenda_on()
            .map(|day| vec![("agenda_on", day.to_string())])
            .unwrap_or_default()
    },
    Writers::OwnerAndManagers,
    |_| Reach::Owner
);
impl_record!(
    Visit,
    "visits",
    crate::sync::visit_template,
    crate::sync::reparse_visit,
    |_| Vec::new(),
    Writers::OwnerAndManagers,
    |_| Reach::Owner,
    |visit| visit.photos.iter().map(|photo| &photo.sha256).collect()
);
impl_record!(
    Deal,
    "deals",
    crate::sync::deal_template,
    crate::sync::reparse_deal,
    |_| Vec::new(),
    Writers::OwnerAndManagers,
    |_| Reach::Owner
);
impl_record!(
    Target,
    "targets",
    crate::sync::target_template,
    crate::target::reparse_target,
    |_| Vec::new(),
    Writers::Managers,
    |target| if target.rep.is_some() {
        Reach::Owner
    } else {
        Reach::Team
    }
);
impl_record!(
    StageChange,
    "stage_changes",
    crate::sync::stage_change_template,
    crate::pipeline::reparse_stage_change,
    |_| Vec::new(),
    Writers::OwnerAndManagers,
    |_| Reach::Owner
);
impl_record!(
    TrainingItem,
    "training_items",
    crate::sync::training_item_template,
    crate::training::reparse_item,
    |_| Vec::new(),
    Writers::Managers,
    |item| match (item.published, item.audience) {
        (false, _) => Reach::Owner,
        (true, crate::training::Audience::Team) => Reach::Team,
        (true, crate::training::Audience::Everyone) => Reach::Everyone,
    },
    |item| item.attachments.iter().map(|a| &a.sha256).collect()
);
impl_record!(
    TrainingSession,
    "training_sessions",
    crate::sync::training_session_template,
    crate::training::reparse_session,
    |_| Vec::new(),
    Writers::Managers,
    |_| Reach::Team
);
impl_record!(
    TrainingRecord,
    "training_records",
    crate::sync::training_record_template,
    crate::training::reparse_record,
    // The reader finds its own record of an item (or session) through this index.
    |record| {
        record
            .item_id
            .or(record.session_id)
            .map(|subject| vec![("subject", subject.to_string())])
            .unwrap_or_default()
    },
    Writers::OwnerOnly,
    |_| Reach::Owner
);
impl_record!(
    QuizAttempt,
    "quiz_attempts",
    crate::sync::quiz_attempt_template,
    crate::training::reparse_attempt,
    |attempt| vec![("subject", attempt.item_id.to_string())],
    Writers::OwnerOnly,
    |_| Reach::Owner
);
impl_record!(
    TeamSettings,
    "team_settings",
    crate::sync::team_settings_template,
    crate::team::reparse_settings,
    |_| Vec::new(),
    Writers::Managers,
    |_| Reach::Team
);

/// Fields that are never part of a change: the id names the record, and `updated_at` is
/// bookkeeping rather than something a person edited.
const NOT_CHANGES: [&str; 2] = ["id", "updated_at"];

/// The record as a JSON object; sync reuses it to compare a record field by field.
pub fn to_object<T: Serialize>(value: &T) -> Result<Map<String, Value>, serde_json::Error> {
    match serde_json::to_value(value)? {
        Value::Object(map) => Ok(map),
        _ => Err(serde::ser::Error::custom(
            "a record must serialize to a JSON object",
        )),
    }
}

/// The top-level fields of `new` that differ from `old` (every field when `old` is `None`),
/// as JSON values, leaving out `id` and `updated_at`.
///
/// A field that `old` had and `new` lacks is reported as `null`.
pub fn changed_fields<T: Serialize>(
    old: Option<&T>,
    new: &T,
) -> Result<BTreeMap<String, Value>, serde_json::Error> {
    let new = to_object(new)?;
    let old = old.map(to_object).transpose()?.unwrap_or_default();
    let mut changed = BTreeMap::new();
    for (field, value) in &new {
        if old.get(field) != Some(value) {
            changed.insert(field.clone(), value.clone());
        }
    }
    for field in old.keys() {
        if !new.contains_key(field) {
            changed.insert(field.clone(), Value::Null);
        }
    }
    changed.retain(|field, _| !NOT_CHANGES.contains(&field.as_str()));
    Ok(changed)
}

/// `base` with `fields` written over it, checked by deserializing the result, so a change
/// with a malformed value (a bad phone, an unknown stage) is refused whole.
pub fn apply_fields<T: Serialize + DeserializeOwned>(
    base: &T,
    fields: &BTreeMap<String, Value>,
) -> Result<T, serde_json::Error> {
    let mut object = to_object(base)?;
    for (field, value) in fields {
        object.insert(field.clone(), value.clone());
    }
    serde_json::from_value(Value::Object(object))
}

/// One numbered, field-level change made on a device, waiting in its outbox.
///
/// `seq` counts a device's mutations without gaps, so the server can tell that it has
/// seen all of them and the device can drop exactly those the server acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mutation {
    /// The device's sequence number for this change, gap-free.
    pub seq: u64,
    /// Which kind of record changed.
    pub kind: RecordKind,
    /// Which record changed.
    pub record_id: Id,
    /// The changed fields and their new values.
    pub fields: BTreeMap<String, Value>,
    /// When, by the hybrid logical clock; later stamps win per field.
    pub stamp: Stamp,
}

/// How many records the mutations change: the outbox holds one mutation per save, and a
/// record saved three times before a sync is still one record waiting.
pub fn records_changed(mutations: &[Mutation]) -> usize {
    mutations
        .iter()
        .map(|m| (m.kind, m.record_id))
        .collect::<std::collections::HashSet<_>>()
        .len()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::lead::tests::{id, lead};
    use crate::{Grade, LeadDraft, Stage};
    use proptest::prelude::*;

    #[test]
    fn every_kind_runs_with_its_own_type() {
        struct KindOf;
        impl ForKind for KindOf {
            type Output = (RecordKind, &'static str, bool);
            fn run<T: Record>(self) -> Self::Output {
                // The template is a record of the type that validation accepts the shape of.
                let template: Result<T, _> = serde_json::from_value(Value::Object(T::template()));
                (T::KIND, T::COLLECTION, template.is_ok())
            }
        }
        let mut collections = std::collections::BTreeSet::new();
        for kind in RecordKind::ALL {
            let (found, collection, template_reads) = kind.with_type(KindOf);
            assert_eq!(found, kind);
            assert_eq!(kind.collection(), collection);
            assert!(template_reads, "{kind:?}'s template is not a record");
            assert!(collections.insert(collection), "{collection} used twice");
        }
        assert_eq!(RecordKind::Lead.collection(), "leads");
    }

    #[test]
    fn records_changed_counts_each_record_once() {
        let mutation = |kind, n| Mutation {
            seq: 0,
            kind,
            record_id: id(n),
            fields: BTreeMap::new(),
            stamp: Stamp {
                wall_ms: 1,
                counter: 0,
                client: id(9),
            },
        };
        assert_eq!(records_changed(&[]), 0);
        let saves = [
            mutation(RecordKind::Lead, 1),
            mutation(RecordKind::Visit, 2),
            mutation(RecordKind::Lead, 1),
            mutation(RecordKind::Visit, 3),
            mutation(RecordKind::Lead, 1),
        ];
        assert_eq!(records_changed(&saves), 3);
    }

    #[test]
    fn kinds_follow_conventions() {
        assert_choice_enum!(RecordKind, "record_kind");
        assert_eq!(<Lead as Record>::KIND, RecordKind::Lead);
        assert_eq!(<Visit as Record>::KIND, RecordKind::Visit);
        assert_eq!(<Deal as Record>::KIND, RecordKind::Deal);
    }

    #[test]
    fn new_record_reports_every_field_but_id_and_updated_at() {
        let lead = lead(1, "Li");
        let fields = changed_fields(None, &lead).unwrap();
        assert!(!fields.contains_key("id") && !fields.contains_key("updated_at"));
        assert_eq!(fields["name"], Value::from("Li"));
        assert!(fields.contains_key("created_at") && fields.contains_key("email"));
        assert_eq!(fields.len(), to_object(&lead).unwrap().len() - 2);
    }

    #[test]
    fn edit_reports_only_what_changed() {
        let old = lead(1, "Li");
        let mut new = old.clone();
        new.grade = Grade::A;
        new.tags = vec!["VIP".into()];
        new.updated_at += 5;
        let fields = changed_fields(Some(&old), &new).unwrap();
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["grade", "tags"]);
        assert_eq!(fields["grade"], Value::from("a"));
        assert_eq!(apply_fields(&old, &fields).unwrap().grade, Grade::A);
    }

    #[test]
    fn deletion_is_a_change() {
        let old = lead(1, "Li");
        let mut new = old.clone();
        new.mark_deleted(42);
        assert!(new.is_deleted());
        assert_eq!(new.updated_at(), 42);
        assert_eq!(new.id(), old.id);
        let fields = changed_fields(Some(&old), &new).unwrap();
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["deleted"]);
    }

    #[test]
    fn missing_and_malformed_fields() {
        #[derive(Serialize)]
        struct Wide {
            a: u8,
            b: u8,
        }
        #[derive(Serialize)]
        struct Narrow {
            a: u8,
        }
        let old = to_object(&Wide { a: 1, b: 2 }).unwrap();
        let new = to_object(&Narrow { a: 1 }).unwrap();
        let fields = changed_fields(Some(&Value::Object(old)), &Value::Object(new)).unwrap();
        assert_eq!(fields.get("b"), Some(&Value::Null));
        assert!(changed_fields(None, &5).is_err());

        let base = lead(1, "Li");
        let mut bad = BTreeMap::new();
        bad.insert("stage".to_string(), Value::from("closed"));
        assert!(apply_fields(&base, &bad).is_err());
        bad.insert("stage".to_string(), Value::from("won"));
        assert_eq!(apply_fields(&base, &bad).unwrap().stage, Stage::Won);
    }

    #[test]
    fn mutation_serializes() {
        let fields = changed_fields(None, &lead(1, "Li")).unwrap();
        let mutation = Mutation {
            seq: 7,
            kind: RecordKind::Lead,
            record_id: id(1),
            fields,
            stamp: Stamp::new(1_000, 0, id(3)),
        };
        let json = serde_json::to_string(&mutation).unwrap();
        assert!(json.contains(r#""kind":"lead""#));
        assert_eq!(serde_json::from_str::<Mutation>(&json).unwrap(), mutation);
    }

    fn arbitrary_lead() -> impl Strategy<Value = Lead> {
        (
            "[a-zA-Z王小明 ]{1,20}",
            "[0-9]{5,11}",
            prop::sample::select(Stage::ALL.to_vec()),
            prop::option::of(0i64..1_000_000),
            any::<bool>(),
        )
            .prop_map(|(name, phone, stage, value, deleted)| {
                let draft = LeadDraft {
                    name: format!("n{name}"),
                    phones: phone,
                    stage,
                    expected_value: value.map(crate::format_plain).unwrap_or_default(),
                    ..LeadDraft::default()
                };
                let mut lead = draft.parse(&RecordMeta::new(id(1), 5), 6).unwrap();
                lead.deleted = deleted;
                lead
            })
    }

    proptest! {
        #[test]
        fn nothing_changed_means_no_fields(lead in arbitrary_lead()) {
            prop_assert!(changed_fields(Some(&lead), &lead).unwrap().is_empty());
        }

        #[test]
        fn applying_the_diff_gives_the_new_record(old in arbitrary_lead(), new in arbitrary_lead()) {
            let fields = changed_fields(Some(&old), &new).unwrap();
            let mut expected = new.clone();
            expected.updated_at = old.updated_at;
            prop_assert_eq!(apply_fields(&old, &fields).unwrap(), expected);
        }
    }
}
