//! The reader of one training item: its body (Markdown, built into DOM nodes) with its
//! images and PDFs from the device, "mark as done", the evaluation (培训评估: rating and
//! comment), and the quiz, scored on the device, with explanations after submitting and
//! every attempt kept. Opening an item records it in the reader's training record.

use std::collections::HashMap;

use domain::{Id, Progress, QuestionKind, Quiz, QuizAttempt, Sha256, TrainingItem, TrainingRecord};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::components::app_bar::AppBar;
use crate::components::markdown::{ImageUrl, Markdown};
use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::routes::not_found::NotFound;
use crate::routes::route_id;
use crate::routes::training::{my_new_meta, reader, training_book};
use crate::state::{use_app, AppState};
use crate::store::{Change, StoreError, TrainingBook};

#[component]
pub fn ItemReader() -> impl IntoView {
    let i = use_i18n();
    let id = route_id();
    let book = training_book();
    let found = Memo::new(move |_| {
        let id = id.get()?;
        book.with(|b| b.as_ref().map(|b| b.item(id).is_some()))
    });
    move || match (found.get(), id.get()) {
        (None, Some(_)) => {
            view! { <p class="empty" role="status">{move || i.t("app.loading")}</p> }.into_any()
        }
        (Some(true), Some(id)) => view! { <ItemView id book/> }.into_any(),
        _ => view! { <NotFound/> }.into_any(),
    }
}

/// Writes `change` into the signed-in person's own record of `subject` on this device
/// (creating it), read fresh from the store so two quick taps never write over each other.
pub async fn update_my_record(
    state: AppState,
    item: Option<Id>,
    session: Option<Id>,
    change: impl FnOnce(&mut TrainingRecord),
) -> Result<(), StoreError> {
    let Some(me) = reader(&state) else {
        return Ok(());
    };
    let store = state.store()?;
    let book = store.training().await?;
    let now = platform::now_ms();
    let existing = match (item, session) {
        (Some(item), _) => book.record_of_item(me.id, item).cloned(),
        (None, Some(session)) => book.record_of_session(me.id, session).cloned(),
        (None, None) => None,
    };
    let mut record = existing.unwrap_or_else(|| {
        let meta = my_new_meta(&state, now);
        match item {
            Some(item) => TrainingRecord::for_item(&meta, item),
            None => TrainingRecord::for_session(&meta, session.unwrap_or(meta.id)),
        }
    });
    let before = record.clone();
    change(&mut record);
    if record == before {
        return Ok(());
    }
    record.updated_at = now;
    let record = record
        .check()
        .map_err(|errors| StoreError::Data(errors.to_string()))?;
    state.save(vec![Change::TrainingRecord(record)]).await
}

/// The object URLs of the attachments `wanted` names that this device holds, kept per page
/// (a URL per blob, made once); asked again when `wanted` or the data changes.
pub fn attachment_urls(
    wanted: impl Fn() -> Vec<Sha256> + 'static,
) -> RwSignal<HashMap<Sha256, String>> {
    let state = use_app();
    let urls = RwSignal::new(HashMap::new());
    Effect::new(move |_| {
        state.revision.track();
        let wanted = wanted();
        spawn_local(async move {
            let Ok(store) = state.store() else {
                return;
            };
            for sha in wanted {
                if urls.with_untracked(|u: &HashMap<Sha256, String>| u.contains_key(&sha)) {
                    continue;
                }
                if let Ok(Some(blob)) = store.blob(&sha).await {
                    if let Some(url) = platform::object_url(&blob) {
                        urls.try_update(|u| u.insert(sha, url));
                    }
                }
            }
        });
    });
    urls
}

#[component]
fn ItemView(id: Id, book: RwSignal<Option<TrainingBook>>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let me = reader(&state);
    let item = Memo::new(move |_| book.with(|b| b.as_ref().and_then(|b| b.item(id).cloned())));
    let progress = Memo::new(move |_| {
        book.with(|b| {
            b.as_ref()
                .map(|b| domain::progress(id, me.map(|m| m.id), &b.records, &b.attempts))
                .unwrap_or_default()
        })
    });
    // Whether the item changed since this person last read it, as it was when they opened
    // it (opening it records the new version).
    let was_updated = StoredValue::new(item.with_untracked(|item| {
        item.as_ref()
            .is_some_and(|item| progress.with_untracked(|p| p.updated_since_read(item)))
    }));
    // Opening records the first time and the version read.
    Effect::new(move |_| {
        let Some((version, published)) =
            item.with(|i| i.as_ref().map(|i| (i.version, i.published)))
        else {
            return;
        };
        let needs = progress.with(|p| p.opened_at.is_none() || p.read_version < version);
        if !needs || !published {
            return;
        }
        spawn_local(async move {
            let now = platform::now_ms();
            let _ = update_my_record(state, Some(id), None, |record| {
                record.opened_at.get_or_insert(now);
                record.read_version = record.read_version.max(version);
            })
            .await;
        });
    });
    let urls = attachment_urls(move || {
        item.with(|item| {
            item.iter()
                .flat_map(|item| item.attachments.iter().map(|a| a.sha256.clone()))
                .collect()
        })
    });
    let image_url: ImageUrl = Callback::new(move |sha: String| {
        let sha = Sha256::parse(&sha).ok()?;
        urls.with(|u| u.get(&sha).cloned())
    });
    let body = Memo::new(move |_| item.with(|item| item.as_ref().map(|i| i.body.clone())));
    let is_manager = state.is_manager();
    let edit_href = format!("/training/{id}/edit");
    let done_error = RwSignal::new(None::<&'static str>);
    let mark_done = move |_| {
        spawn_local(async move {
            let now = platform::now_ms();
            match update_my_record(state, Some(id), None, |record| {
                record.opened_at.get_or_insert(now);
                record.completed_at.get_or_insert(now);
            })
            .await
            {
                Ok(()) => state.notify(i.now("training.marked_done"), false, None),
                Err(err) => done_error.set(Some(err.key())),
            }
        });
    };

    view! {
        <section class="page reader" data-testid="item-reader">
            <AppBar parent={"/training".to_string()}>
                <h1 data-testid="item-title">{move || item.with(|i| i.as_ref().map(|i| i.title.clone()))}</h1>
                <Show when=move || is_manager>
                    <A href=edit_href.clone() attr:class="button" attr:data-testid="edit-item">{move || i.t("training.edit")}</A>
                </Show>
            </AppBar>
            <p class="meta" data-testid="item-meta">
                {move || item.with(|item| item.as_ref().map(|item| {
                    let mut parts = vec![i.t(item.kind.key()).to_string()];
                    if item.published {
                        parts.push(fill(i.t("training.version"), item.version));
                        if let Some(at) = item.published_at {
                            parts.push(platform::format_date_time(at, i.locale()));
                        }
                    } else {
                        parts.push(i.t("training.draft").to_string());
                    }
                    if let Some(due) = item.assigned.due_on {
                        parts.push(fill(i.t("training.due_on"), i.locale().date(due)));
                    }
                    parts.join(" · ")
                }))}
            </p>
            <Show when=move || was_updated.get_value()>
                <p class="banner" role="status" data-testid="item-updated">{move || i.t("training.updated_since")}</p>
            </Show>
            {move || body.get().map(|body| {
                let doc = fieldbook_markdown::parse(&body);
                view! { <Markdown doc image_url/> }
            })}
            <Attachments item urls/>
            <section class="done-box" aria-labelledby="done-heading">
                <h2 id="done-heading" class="visually-hidden">{move || i.t("training.done")}</h2>
                {move || match progress.with(|p| p.completed_at) {
                    Some(at) => view! {
                        <p class="done-note" data-testid="done-note">
                            {move || fill(i.t("training.done_on"), platform::format_date_time(at, i.locale()))}
                        </p>
                    }.into_any(),
                    None => view! {
                        <button type="button" class="button primary" data-testid="mark-done" on:click=mark_done>
                            {move || i.t("training.mark_done")}
                        </button>
                    }.into_any(),
                }}
                {move || done_error.get().map(|key| view! { <p class="banner error" role="alert">{move || i.t(key)}</p> })}
            </section>
            {move || item.with(|found| found.as_ref().and_then(|found| {
                let version = found.version;
                found.quiz.clone().map(|quiz| view! { <QuizBox id version quiz progress/> })
            }))}
            <Evaluation subject=id progress/>
        </section>
    }
}

#[component]
fn Attachments(
    item: Memo<Option<TrainingItem>>,
    urls: RwSignal<HashMap<Sha256, String>>,
) -> impl IntoView {
    let i = use_i18n();
    let attachments = move || {
        item.with(|i| {
            i.as_ref()
                .map(|i| i.attachments.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <Show when=move || !attachments().is_empty()>
            <h2>{move || i.t("training.attachments")}</h2>
            <ul class="attachments" data-testid="attachments">
                <For each=attachments key=|a| a.sha256.clone() let:attachment>
                    {
                        let sha = attachment.sha256.clone();
                        let name = attachment.name.clone();
                        let size = format_size(attachment.size);
                        view! {
                            <li data-testid="attachment">
                                {move || match urls.with(|u| u.get(&sha).cloned()) {
                                    Some(url) => view! {
                                        <a href=url target="_blank" rel="noopener" data-testid="attachment-link">{name.clone()}</a>
                                    }.into_any(),
                                    None => view! {
                                        <span>{name.clone()}" — "{move || i.t("training.not_downloaded")}</span>
                                    }.into_any(),
                                }}
                                <span class="muted">{format!(" ({size})")}</span>
                            </li>
                        }
                    }
                </For>
            </ul>
        </Show>
    }
}

/// A file size as people read it (KB, MB).
pub fn format_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let bytes = bytes as f64;
    if bytes >= KB * KB {
        format!("{:.1} MB", bytes / (KB * KB))
    } else {
        format!("{:.0} KB", (bytes / KB).max(1.0))
    }
}

/// The quiz: questions to answer, then the score with explanations; every attempt kept.
#[component]
fn QuizBox(id: Id, version: u32, quiz: Quiz, progress: Memo<Progress>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let questions = quiz.questions.clone();
    let count = questions.len();
    let answers = RwSignal::new(vec![Vec::<u8>::new(); count]);
    let result = RwSignal::new(None::<QuizAttempt>);
    let error = RwSignal::new(None::<&'static str>);
    let pass_mark = quiz.pass_mark;
    let item_for_take = StoredValue::new((quiz.clone(), version));
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if reader(&state).is_none() {
            return;
        }
        let now = platform::now_ms();
        let (quiz, version) = item_for_take.get_value();
        let meta = my_new_meta(&state, now);
        let attempt = QuizAttempt::of_quiz(&meta, id, version, &quiz, answers.get_untracked(), now);
        spawn_local(async move {
            match state.save(vec![Change::QuizAttempt(attempt.clone())]).await {
                Ok(()) => {
                    error.set(None);
                    result.set(Some(attempt));
                }
                Err(err) => error.set(Some(err.key())),
            }
        });
    };
    let retry = move |_| {
        answers.set(vec![Vec::new(); count]);
        result.set(None);
    };
    let questions_view = questions.clone();
    view! {
        <section class="quiz" data-testid="quiz" aria-labelledby="quiz-heading">
            <h2 id="quiz-heading">{move || i.t("training.quiz")}</h2>
            <p class="meta" data-testid="quiz-summary">
                {move || fill(i.t("training.pass_mark"), pass_mark)}
                {move || progress.with(|p| (p.attempts > 0).then(|| format!(
                    " · {} · {}",
                    fill(i.t("training.attempts"), p.attempts),
                    fill(i.t("training.best"), p.best_percent.unwrap_or(0)),
                )))}
            </p>
            {move || match result.get() {
                Some(attempt) => {
                    let questions = questions.clone();
                    view! {
                        <div class="quiz-result" data-testid="quiz-result" data-passed=attempt.passed.to_string()>
                            <p class="score" role="status" data-testid="quiz-score">
                                {move || fill(i.t(if attempt.passed { "training.passed" } else { "training.failed" }), attempt.percent)}
                            </p>
                            <ol class="questions">
                                {questions.iter().enumerate().map(|(n, q)| {
                                    let chosen = attempt.answers.get(n).cloned().unwrap_or_default();
                                    let right = q.credit(&chosen) >= 1.0;
                                    let correct: Vec<String> = q.correct.iter()
                                        .filter_map(|&c| q.options.get(usize::from(c)).cloned())
                                        .collect();
                                    let explanation = q.explanation.clone();
                                    view! {
                                        <li data-testid="quiz-review" data-right=right.to_string()>
                                            <p class="prompt">{q.prompt.clone()}</p>
                                            <p class=if right { "right" } else { "wrong" }>
                                                {move || i.t(if right { "training.right" } else { "training.wrong" })}
                                                " "{move || fill(i.t("training.answer_is"), correct.join("、"))}
                                            </p>
                                            {(!explanation.is_empty()).then(|| view! { <p class="explanation">{explanation.clone()}</p> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                            <button type="button" class="button" data-testid="quiz-retry" on:click=retry>{move || i.t("training.retry")}</button>
                        </div>
                    }.into_any()
                }
                None => {
                    let questions = questions_view.clone();
                    view! {
                        <form class="quiz-form" novalidate on:submit=submit data-testid="quiz-form">
                            {questions.iter().enumerate().map(|(n, q)| {
                                let multiple = q.kind == QuestionKind::Multiple;
                                let name = format!("q{n}");
                                view! {
                                    <fieldset class="question" data-testid="question">
                                        <legend>{format!("{}. {}", n + 1, q.prompt)}</legend>
                                        {multiple.then(|| view! { <p class="hint">{move || i.t("training.choose_all")}</p> })}
                                        {q.options.iter().enumerate().map(|(o, option)| {
                                            let o = o as u8;
                                            view! {
                                                <label class="option">
                                                    <input type=if multiple { "checkbox" } else { "radio" }
                                                        name=name.clone() data-testid="option"
                                                        prop:checked=move || answers.with(|a| a.get(n).is_some_and(|c| c.contains(&o)))
                                                        on:change=move |ev| {
                                                            let on = event_target_checked(&ev);
                                                            answers.update(|a| {
                                                                if let Some(chosen) = a.get_mut(n) {
                                                                    if !multiple {
                                                                        chosen.clear();
                                                                    }
                                                                    chosen.retain(|c| *c != o);
                                                                    if on {
                                                                        chosen.push(o);
                                                                    }
                                                                }
                                                            });
                                                        }/>
                                                    <span>{option.clone()}</span>
                                                </label>
                                            }
                                        }).collect_view()}
                                    </fieldset>
                                }
                            }).collect_view()}
                            {move || error.get().map(|key| view! { <p class="banner error" role="alert">{move || i.t(key)}</p> })}
                            <button type="submit" class="button primary" data-testid="quiz-submit">{move || i.t("training.submit")}</button>
                        </form>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// Saves an evaluation (培训评估) into the person's record of an item or a session, and
/// says so; a failure goes to `error`.
pub async fn save_evaluation(
    state: AppState,
    i: crate::i18n::I18n,
    error: RwSignal<Option<&'static str>>,
    item: Option<Id>,
    session: Option<Id>,
    change: impl FnOnce(&mut TrainingRecord),
) {
    match update_my_record(state, item, session, change).await {
        Ok(()) => {
            error.set(None);
            state.notify(i.now("training.evaluation_saved"), false, None);
        }
        Err(err) => error.set(Some(err.key())),
    }
}

/// 培训评估: a rating from 1 to 5 and a comment, kept in the person's training record.
#[component]
pub fn Evaluation(subject: Id, progress: Memo<Progress>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let rating = RwSignal::new(progress.with_untracked(|p| p.rating));
    let comment = RwSignal::new(progress.with_untracked(|p| p.comment.clone()));
    let error = RwSignal::new(None::<&'static str>);
    let save = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let Some(value) = rating.get_untracked() else {
            error.set(Some("training.rating_required"));
            return;
        };
        let text = comment.get_untracked().trim().to_string();
        spawn_local(save_evaluation(
            state,
            i,
            error,
            Some(subject),
            None,
            move |record| {
                record.rating = Some(value);
                record.comment = text;
            },
        ));
    };
    view! {
        <section class="evaluation" aria-labelledby="evaluation-heading">
            <h2 id="evaluation-heading">{move || i.t("training.evaluation")}</h2>
            <form novalidate on:submit=save data-testid="evaluation-form">
                <RatingField rating label="training.rating" name="rating"/>
                <div class="field">
                    <label for="evaluation-comment">{move || i.t("training.comment")}</label>
                    <textarea id="evaluation-comment" data-testid="evaluation-comment" maxlength="2000"
                        prop:value=move || comment.get()
                        on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                </div>
                {move || error.get().map(|key| view! { <p class="banner error" role="alert">{move || i.t(key)}</p> })}
                <button type="submit" class="button" data-testid="evaluation-save">{move || i.t("training.evaluation_save")}</button>
            </form>
        </section>
    }
}

/// Five stars as radio buttons (a fieldset with a legend, so a screen reader says what is
/// rated).
#[component]
pub fn RatingField(
    rating: RwSignal<Option<u8>>,
    label: &'static str,
    name: &'static str,
) -> impl IntoView {
    let i = use_i18n();
    view! {
        <fieldset class="rating" data-testid=name>
            <legend>{move || i.t(label)}</legend>
            {(1..=5u8).map(|n| {
                let id = format!("{name}-{n}");
                // The label wraps its radio, so the whole star is the finger's target.
                view! {
                    <label class="star">
                        <input type="radio" id=id name=name value=n.to_string()
                            data-testid=format!("{name}-{n}")
                            prop:checked=move || rating.get() == Some(n)
                            on:change=move |_| rating.set(Some(n))/>
                        {n.to_string()}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}
