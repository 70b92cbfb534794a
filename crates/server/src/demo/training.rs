//! The demo team's training library: the material in `training/` (see its README.md) turned
//! into the records a manager's device would send — each item in Chinese and in English,
//! published to the team, the quiz in both languages, the stages manual and the quiz
//! assigned, and one role-play session for the two reps.
//!
//! Every record is built through the app's own form drafts (`ItemDraft`, `SessionDraft`), so
//! the demo data passes exactly the validation a manager's typing would. The quiz and the
//! session are JSON written by hand: they are read when the demo is seeded, and a mistake in
//! them is an error, not a panic.

use chrono::{Duration, NaiveDate};
use domain::{
    format_date, Id, ItemDraft, ItemKind, Question, QuestionKind, Quiz, RecordMeta, SessionDraft,
    SessionMethod, TrainingItem, TrainingSession,
};
use serde::Deserialize;

use super::{DemoError, OFFSET_MIN};

/// Days from today to the assigned items' due date.
const DUE_IN_DAYS: i64 = 7;

/// Days from today to the role-play session.
const SESSION_IN_DAYS: i64 = 3;

/// When the session starts, China time ([`OFFSET_MIN`]).
const SESSION_TIME: &str = "09:00";

/// How long the session lasts: its agenda runs three hours.
const SESSION_MINUTES: &str = "180";

/// The two languages every piece of material is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Language {
    Chinese,
    English,
}

impl Language {
    const BOTH: [Language; 2] = [Language::Chinese, Language::English];

    /// A tag that lets a reader of a mixed-language team filter the library by language.
    fn tag(self) -> &'static str {
        match self {
            Language::Chinese => "中文",
            Language::English => "English",
        }
    }
}

/// A text of the JSON files in both languages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bilingual {
    zh: String,
    en: String,
}

impl Bilingual {
    fn get(&self, language: Language) -> &str {
        match language {
            Language::Chinese => &self.zh,
            Language::English => &self.en,
        }
    }
}

/// `quiz.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuizFile {
    pass_mark: u8,
    questions: Vec<QuestionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    kind: QuestionKind,
    prompt: Bilingual,
    options: Vec<Bilingual>,
    correct: Vec<u8>,
    explanation: Bilingual,
}

impl QuizFile {
    /// The quiz in one language.
    fn quiz(&self, language: Language) -> Quiz {
        let questions = self
            .questions
            .iter()
            .map(|question| Question {
                kind: question.kind,
                prompt: question.prompt.get(language).to_string(),
                options: question
                    .options
                    .iter()
                    .map(|option| option.get(language).to_string())
                    .collect(),
                correct: question.correct.clone(),
                explanation: question.explanation.get(language).to_string(),
            })
            .collect();
        Quiz {
            pass_mark: self.pass_mark,
            questions,
        }
    }
}

/// `session.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    title: Bilingual,
    method: SessionMethod,
    place: Bilingual,
    agenda: Bilingual,
    /// The items it covers, by file stem.
    items: Vec<String>,
}

/// One piece of material: a Markdown body per language, named by its file stem.
struct Material {
    stem: &'static str,
    kind: ItemKind,
    title: [&'static str; 2],
    tags: [&'static str; 2],
    body: [&'static str; 2],
    /// Whether the whole team must read it by the due date.
    assigned: bool,
}

/// The material, in the order the library lists it; titles and tags as the README gives
/// them, Chinese first.
const MATERIALS: [Material; 4] = [
    Material {
        stem: "stages",
        kind: ItemKind::Manual,
        title: ["销售流程六阶段", "The six stages of a sale"],
        tags: ["流程、销售阶段、新人必读", "process, stages, onboarding"],
        body: [
            include_str!("training/stages.zh.md"),
            include_str!("training/stages.en.md"),
        ],
        assigned: true,
    },
    Material {
        stem: "visit-checklist",
        kind: ItemKind::Checklist,
        title: ["拜访准备清单", "Visit preparation checklist"],
        tags: ["拜访、清单、跟进", "visits, checklist, follow-up"],
        body: [
            include_str!("training/visit-checklist.zh.md"),
            include_str!("training/visit-checklist.en.md"),
        ],
        assigned: false,
    },
    Material {
        stem: "price-script",
        kind: ItemKind::Script,
        title: ["价格谈判话术", "Price negotiation script"],
        tags: [
            "话术、价格谈判、异议处理",
            "script, price negotiation, objections",
        ],
        body: [
            include_str!("training/price-script.zh.md"),
            include_str!("training/price-script.en.md"),
        ],
        assigned: false,
    },
    Material {
        stem: "case-study",
        kind: ItemKind::CaseStudy,
        title: [
            "案例：从展会名片到四十台订单",
            "Case study: from a trade-show card to a 40-unit order",
        ],
        tags: [
            "案例、经销商、竞争、价格谈判",
            "case study, distributor, competition, price negotiation",
        ],
        body: [
            include_str!("training/case-study.zh.md"),
            include_str!("training/case-study.en.md"),
        ],
        assigned: false,
    },
];

/// The quiz's stem, title and tags (its questions are `quiz.json`).
const QUIZ_STEM: &str = "quiz";
const QUIZ_TITLE: [&str; 2] = [
    "测验：销售流程与价格谈判",
    "Quiz: the sales process and price negotiation",
];
const QUIZ_TAGS: [&str; 2] = ["测验、流程、价格谈判", "quiz, process, price negotiation"];

const QUIZ_JSON: &str = include_str!("training/quiz.json");
const SESSION_JSON: &str = include_str!("training/session.json");

/// The quiz item's body: what the questions cover and how they are marked.
fn quiz_intro(language: Language, questions: usize, pass_mark: u8) -> String {
    match language {
        Language::Chinese => format!(
            "共 {questions} 道题，检验你对《销售流程六阶段》《拜访准备清单》《价格谈判话术》\
             和恒达商贸案例的掌握，有单选题、多选题和判断题；多选题选对一部分也能得分。\
             {pass_mark} 分及格，可以多次作答，每次提交后都能看到每道题的解析。\n"
        ),
        Language::English => format!(
            "{questions} questions on *The six stages of a sale*, the *Visit preparation \
             checklist*, the *Price negotiation script* and the Hengda case study: single \
             choice, multiple choice and true/false, where a partly right multiple-choice \
             answer earns part of the mark. The pass mark is {pass_mark}. You may take it \
             more than once, and each attempt shows the explanation of every question.\n"
        ),
    }
}

/// The library as records, ready to push: the items, then the session that names them.
#[derive(Debug)]
pub(super) struct Library {
    pub items: Vec<(Language, TrainingItem)>,
    pub session: TrainingSession,
}

/// Builds the library at `now_ms` (the server's clock; dates are China's), the session
/// inviting `reps`, each record's id from `new_id`.
pub(super) fn library(
    now_ms: i64,
    reps: &[Id],
    new_id: impl FnMut() -> Result<Id, DemoError>,
) -> Result<Library, DemoError> {
    library_from(QUIZ_JSON, SESSION_JSON, now_ms, reps, new_id)
}

/// [`library`] with the quiz and the session read from the given JSON texts.
fn library_from(
    quiz_json: &str,
    session_json: &str,
    now_ms: i64,
    reps: &[Id],
    mut new_id: impl FnMut() -> Result<Id, DemoError>,
) -> Result<Library, DemoError> {
    let content = |file: &'static str| {
        move |error: serde_json::Error| DemoError::Content {
            file,
            detail: error.to_string(),
        }
    };
    let quiz_file: QuizFile = serde_json::from_str(quiz_json).map_err(content("quiz.json"))?;
    let session_file: SessionFile =
        serde_json::from_str(session_json).map_err(content("session.json"))?;
    let today = domain::today_in_offset(now_ms, OFFSET_MIN);
    let due_on = format_date(today + Duration::days(DUE_IN_DAYS));

    let mut items = Vec::new();
    // The Chinese items by stem: the session covers those (the demo team works in Chinese).
    let mut chinese = Vec::new();
    for (n, language) in Language::BOTH.into_iter().enumerate() {
        // Only the Chinese copies are assigned: assigning both would put every task on
        // each person's list twice, and make them pass the same quiz twice.
        let assign = language == Language::Chinese;
        for material in &MATERIALS {
            let draft = ItemDraft {
                title: material.title[n].into(),
                kind: material.kind,
                body: material.body[n].into(),
                tags: tags(material.tags[n], language),
                assign_team: assign && material.assigned,
                due_on: if assign && material.assigned {
                    due_on.clone()
                } else {
                    String::new()
                },
                ..ItemDraft::default()
            };
            let item = published(&draft, new_id()?, now_ms)?;
            if language == Language::Chinese {
                chinese.push((material.stem, item.id));
            }
            items.push((language, item));
        }
        let quiz = quiz_file.quiz(language);
        let draft = ItemDraft {
            title: QUIZ_TITLE[n].into(),
            kind: ItemKind::Quiz,
            body: quiz_intro(language, quiz.questions.len(), quiz.pass_mark),
            tags: tags(QUIZ_TAGS[n], language),
            quiz: Some(quiz),
            assign_team: assign,
            due_on: if assign {
                due_on.clone()
            } else {
                String::new()
            },
            ..ItemDraft::default()
        };
        let item = published(&draft, new_id()?, now_ms)?;
        if language == Language::Chinese {
            chinese.push((QUIZ_STEM, item.id));
        }
        items.push((language, item));
    }

    let covered = session_file
        .items
        .iter()
        .map(|stem| {
            chinese
                .iter()
                .find(|(known, _)| known == stem)
                .map(|(_, id)| *id)
                .ok_or_else(|| DemoError::Content {
                    file: "session.json",
                    detail: format!("no item has the stem {stem:?}"),
                })
        })
        .collect::<Result<Vec<Id>, DemoError>>()?;
    let session = session(&session_file, covered, reps, today, new_id()?, now_ms)?;
    Ok(Library { items, session })
}

/// The README's tags with the language's own tag.
fn tags(listed: &str, language: Language) -> String {
    format!("{listed}, {}", language.tag())
}

/// The item the draft describes, published now as its first version.
fn published(draft: &ItemDraft, id: Id, now_ms: i64) -> Result<TrainingItem, DemoError> {
    let item = draft
        .parse(&RecordMeta::new(id, now_ms), now_ms)
        .map_err(DemoError::Invalid)?;
    Ok(item.publish(now_ms))
}

/// The role-play session, in Chinese, [`SESSION_IN_DAYS`] from `today` at
/// [`SESSION_TIME`].
fn session(
    file: &SessionFile,
    items: Vec<Id>,
    reps: &[Id],
    today: NaiveDate,
    id: Id,
    now_ms: i64,
) -> Result<TrainingSession, DemoError> {
    let language = Language::Chinese;
    let draft = SessionDraft {
        title: file.title.get(language).into(),
        date: format_date(today + Duration::days(SESSION_IN_DAYS)),
        time: SESSION_TIME.into(),
        duration_min: SESSION_MINUTES.into(),
        place: file.place.get(language).into(),
        method: file.method,
        items,
        invited: reps.to_vec(),
        agenda: file.agenda.get(language).into(),
        ..SessionDraft::default()
    };
    draft
        .parse(&RecordMeta::new(id, now_ms), now_ms, OFFSET_MIN)
        .map_err(DemoError::Invalid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use fieldbook_markdown::{Node, Tag};

    /// 2026-03-02 12:00 in China.
    const NOW_MS: i64 = 1_772_424_000_000;

    fn ids() -> impl FnMut() -> Result<Id, DemoError> {
        let mut n = 0u8;
        move || {
            n += 1;
            Ok(Id::from_parts(1_700_000_000_000, [n; 10]))
        }
    }

    fn has_line_break(nodes: &[Node]) -> bool {
        nodes.iter().any(|node| match node {
            Node::Element(element) => element.tag == Tag::Br || has_line_break(&element.children),
            Node::Text(_) | Node::Image(_) => false,
        })
    }

    #[test]
    fn the_library_is_every_item_in_both_languages_and_a_session() {
        let reps = [Id::from_parts(1, [1; 10]), Id::from_parts(1, [2; 10])];
        let library = library(NOW_MS, &reps, ids()).unwrap();
        assert_eq!(library.items.len(), 10);
        for (language, item) in &library.items {
            assert!(item.published && item.version == 1 && item.published_at == Some(NOW_MS));
            assert!(item.tags.iter().any(|tag| tag == language.tag()));
            assert_eq!(item.quiz.is_some(), item.kind == ItemKind::Quiz);
            if let Some(quiz) = &item.quiz {
                assert_eq!(quiz.check(), Ok(()));
                assert_eq!((quiz.pass_mark, quiz.questions.len()), (70, 8));
            }
            // Published with the app's own parser: the server's validation takes it back.
            let value = serde_json::to_value(item).unwrap();
            assert_eq!(
                domain::validate_record(domain::RecordKind::TrainingItem, &value),
                Ok(())
            );
        }
        let assigned: Vec<&str> = library
            .items
            .iter()
            .filter(|(_, item)| item.assigned.whole_team)
            .map(|(_, item)| item.title.as_str())
            .collect();
        assert_eq!(assigned, ["销售流程六阶段", "测验：销售流程与价格谈判"]);
        let due = NaiveDate::from_ymd_opt(2026, 3, 9);
        for (_, item) in &library.items {
            let expected = if item.assigned.whole_team { due } else { None };
            assert_eq!(item.assigned.due_on, expected, "{}", item.title);
        }

        let session = &library.session;
        assert_eq!(session.title, "价格谈判角色扮演工作坊");
        assert_eq!(session.method, SessionMethod::RolePlay);
        assert_eq!(session.invited, reps);
        let covered: Vec<&str> = session
            .items
            .iter()
            .map(|id| {
                let (_, item) = library.items.iter().find(|(_, i)| i.id == *id).unwrap();
                item.title.as_str()
            })
            .collect();
        assert_eq!(
            covered,
            [
                "销售流程六阶段",
                "价格谈判话术",
                "案例：从展会名片到四十台订单"
            ]
        );
        // 2026-03-05 09:00 in China is 01:00 UTC.
        let starts = chrono::DateTime::from_timestamp_millis(session.starts_at).unwrap();
        assert_eq!(starts.to_rfc3339(), "2026-03-05T01:00:00+00:00");
        assert_eq!(session.duration_min, Some(180));
        let value = serde_json::to_value(session).unwrap();
        assert_eq!(
            domain::validate_record(domain::RecordKind::TrainingSession, &value),
            Ok(())
        );
    }

    #[test]
    fn no_paragraph_breaks_where_its_source_wrapped() {
        // The app's renderer shows a newline inside a paragraph as a line break, so every
        // paragraph and list item of the material is one source line.
        let session: SessionFile = serde_json::from_str(SESSION_JSON).unwrap();
        let mut texts: Vec<&str> = MATERIALS.iter().flat_map(|m| m.body).collect();
        texts.extend([session.agenda.zh.as_str(), session.agenda.en.as_str()]);
        for text in texts {
            let document = fieldbook_markdown::parse(text);
            assert!(!has_line_break(&document.blocks), "{text}");
        }
    }

    #[test]
    fn malformed_content_is_an_error_not_a_panic() {
        let reps = [Id::from_parts(1, [1; 10])];
        let build =
            |quiz: &str, session: &str| match library_from(quiz, session, NOW_MS, &reps, ids()) {
                Err(DemoError::Content { file, .. }) => file,
                other => panic!("{other:?}"),
            };
        let no_questions = r#"{"pass_mark": 70, "questions": [{}]}"#;
        assert_eq!(build(no_questions, SESSION_JSON), "quiz.json");
        let unknown_method = SESSION_JSON.replace("role_play", "lecture");
        assert_eq!(build(QUIZ_JSON, &unknown_method), "session.json");
        let unknown_item = SESSION_JSON.replace("\"case-study\"", "\"case-studies\"");
        assert_eq!(build(QUIZ_JSON, &unknown_item), "session.json");
        // A quiz that reads but breaks the quiz rules is refused by the form's parser.
        let no_answer =
            QUIZ_JSON.replacen("\"correct\": [\n        1\n      ]", "\"correct\": []", 1);
        assert_ne!(no_answer, QUIZ_JSON);
        assert!(matches!(
            library_from(&no_answer, SESSION_JSON, NOW_MS, &reps, ids()),
            Err(DemoError::Invalid(_))
        ));
    }
}
