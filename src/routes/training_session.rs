//! Training sessions (培训计划): the session as invitees and the manager see it, and the form
//! that schedules one.
//!
//! An invited rep confirms they will attend and, once it is over, answers the questionnaire
//! (培训评估), both in their own training record. The manager sees who confirmed, marks who
//! came, reads the evaluations and writes the 总结复盘 note on the session.

use domain::{
    Id, Invalid, SessionDraft, SessionMethod, SessionResponse, TrainingItem, TrainingSession,
    ValidationErrors,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::components::app_bar::AppBar;
use crate::components::focus::focus_when_drawn;
use crate::components::form::{
    focus_first_error, ChoiceField, FieldErrorText, FormActions, FormBanner, TextField,
};
use crate::components::markdown::{ImageUrl, Markdown};
use crate::components::people::{team_reps, toggle, RepChecks};
use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::routes::not_found::NotFound;
use crate::routes::training::{reader, training_book};
use crate::routes::training_editor::ManagersOnly;
use crate::routes::training_item::{save_evaluation, update_my_record, RatingField};
use crate::routes::{route_id, stored_record};
use crate::state::{use_app, AppState};
use crate::store::{Change, Edit, StoreError, TrainingBook};

#[component]
pub fn SessionPage() -> impl IntoView {
    let i = use_i18n();
    let id = route_id();
    let book = training_book();
    let found = Memo::new(move |_| {
        let id = id.get()?;
        book.with(|b| b.as_ref().map(|b| b.session(id).is_some()))
    });
    move || match (found.get(), id.get()) {
        (None, Some(_)) => {
            view! { <p class="empty" role="status">{move || i.t("app.loading")}</p> }.into_any()
        }
        (Some(true), Some(id)) => view! { <SessionView id book/> }.into_any(),
        _ => view! { <NotFound/> }.into_any(),
    }
}

/// A colleague's name from the team list (or the signed-in person's own).
pub fn person_name(state: &AppState, person: Id) -> String {
    let from_team = state.team.with(|team| {
        team.iter()
            .find(|m| m.id == person)
            .map(|m| m.display_name.clone())
    });
    from_team
        .or_else(|| {
            state.account.with(|a| {
                a.as_ref()
                    .filter(|a| a.id == person)
                    .map(|a| a.display_name.clone())
            })
        })
        .unwrap_or_else(|| "—".to_string())
}

/// When a session is, as the person's language writes it: the day and start, and the end
/// time when it has a duration.
fn when_text(session: &TrainingSession, locale: crate::i18n::Locale) -> String {
    let start = platform::format_date_time(session.starts_at, locale);
    if session.duration_min.is_some() {
        format!(
            "{start}–{}",
            platform::format_time(session.ends_at(), locale)
        )
    } else {
        start
    }
}

/// Why a change to the session was not saved.
enum SessionSaveError {
    Invalid(Invalid),
    Store(StoreError),
}

impl SessionSaveError {
    fn key(&self) -> &'static str {
        match self {
            SessionSaveError::Invalid(reason) => reason.key(),
            SessionSaveError::Store(err) => err.key(),
        }
    }
}

/// Writes `change` into the session as the device holds it now (read fresh, so two quick
/// taps never write over each other), through an edit session on that record: only what
/// `change` changed is written.
async fn update_session(
    state: AppState,
    id: Id,
    change: impl FnOnce(&TrainingSession) -> Result<TrainingSession, Invalid>,
) -> Result<(), SessionSaveError> {
    let store = state.store().map_err(SessionSaveError::Store)?;
    let Some(current) = store
        .record::<TrainingSession>(id)
        .await
        .map_err(SessionSaveError::Store)?
    else {
        return Ok(());
    };
    let next = change(&current).map_err(SessionSaveError::Invalid)?;
    if next == current {
        return Ok(());
    }
    let session = state.edit_session(Some(&current)).get_value();
    let edit = Edit {
        change: Change::TrainingSession(next),
        session,
    };
    state
        .save_edits(vec![edit])
        .await
        .map_err(SessionSaveError::Store)
}

#[component]
fn SessionView(id: Id, book: RwSignal<Option<TrainingBook>>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let me = reader(&state).map(|r| r.id);
    let is_manager = state.is_manager();
    let session =
        Memo::new(move |_| book.with(|b| b.as_ref().and_then(|b| b.session(id).cloned())));
    let records = Memo::new(move |_| {
        book.with(|b| {
            b.as_ref()
                .map(|b| {
                    b.records
                        .iter()
                        .filter(|r| r.session_id == Some(id))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let responses = Memo::new(move |_| {
        session.with(|s| {
            s.as_ref()
                .map(|s| records.with(|r| domain::session_responses(s, r)))
                .unwrap_or_default()
        })
    });
    let mine = Memo::new(move |_| {
        let me = me?;
        session.with(|s| {
            s.as_ref()
                .map(|s| records.with(|r| domain::session_response(s, me, r)))
        })
    });
    let ended = Memo::new(move |_| {
        session.with(|s| s.as_ref().is_some_and(|s| s.has_ended(platform::now_ms())))
    });
    let items = Memo::new(move |_| {
        let wanted = session.with(|s| s.as_ref().map(|s| s.items.clone()).unwrap_or_default());
        book.with(|b| {
            wanted
                .into_iter()
                .map(|item| {
                    let title = b
                        .as_ref()
                        .and_then(|b| b.item(item))
                        .map(|found: &TrainingItem| found.title.clone());
                    (item, title)
                })
                .collect::<Vec<_>>()
        })
    });
    let agenda = Memo::new(move |_| {
        session.with(|s| s.as_ref().map(|s| s.agenda.clone()).unwrap_or_default())
    });
    // A session's agenda has no attachments of its own.
    let no_images: ImageUrl = Callback::new(|_: String| None);
    let invited_here = move || mine.with(|m| m.as_ref().is_some_and(|m| m.invited || m.attended));
    let edit_href = format!("/sessions/{id}/edit");

    view! {
        <section class="page session" data-testid="session-page">
            <AppBar parent={"/training".to_string()}>
                <h1 data-testid="session-title">{move || session.with(|s| s.as_ref().map(|s| s.title.clone()))}</h1>
                <Show when=move || is_manager>
                    <A href=edit_href.clone() attr:class="button" attr:data-testid="edit-session">{move || i.t("training.edit")}</A>
                </Show>
            </AppBar>
            <dl class="facts" data-testid="session-facts">
                <div class="fact">
                    <dt>{move || i.t("session.when")}</dt>
                    <dd data-testid="session-when">{move || session.with(|s| s.as_ref().map(|s| when_text(s, i.locale())))}</dd>
                </div>
                {move || session.with(|s| s.as_ref().filter(|s| !s.place.trim().is_empty()).map(|s| {
                    let place = s.place.clone();
                    let link = s.online_link().map(str::to_string);
                    view! {
                        <div class="fact">
                            <dt>{move || i.t("session.where")}</dt>
                            <dd data-testid="session-where">
                                {match link {
                                    Some(url) => view! {
                                        <a href=url.clone() target="_blank" rel="noopener noreferrer" data-testid="session-link">{url.clone()}</a>
                                    }.into_any(),
                                    None => view! { <span>{place}</span> }.into_any(),
                                }}
                            </dd>
                        </div>
                    }
                }))}
                <div class="fact">
                    <dt>{move || i.t("session.method")}</dt>
                    <dd data-testid="session-method">{move || session.with(|s| s.as_ref().map(|s| i.t(s.method.key())))}</dd>
                </div>
            </dl>
            <Show when=move || !agenda.with(|a| a.trim().is_empty())>
                <h2>{move || i.t("session.agenda")}</h2>
                <div data-testid="session-agenda">
                    {move || {
                        let doc = fieldbook_markdown::parse(&agenda.get());
                        view! { <Markdown doc image_url=no_images/> }
                    }}
                </div>
            </Show>
            <Show when=move || items.with(|i| !i.is_empty())>
                <h2>{move || i.t("session.items")}</h2>
                <ul class="plain-list" data-testid="session-items">
                    {move || items.get().into_iter().map(|(item, title)| match title {
                        Some(title) => view! {
                            <li><A href=format!("/training/{item}") attr:data-testid="session-item">{title}</A></li>
                        }.into_any(),
                        None => view! {
                            <li class="muted" data-testid="session-item-missing">{move || i.t("session.item_missing")}</li>
                        }.into_any(),
                    }).collect_view()}
                </ul>
            </Show>
            <Show when=invited_here>
                <Attendance id mine ended/>
            </Show>
            <Show when=move || invited_here() && ended.get()>
                <SessionEvaluation id mine/>
            </Show>
            <Show when=move || is_manager>
                <ManagerPanel id session responses/>
            </Show>
        </section>
    }
}

/// The invited person's part: "Confirm I will attend" before the session, what they said,
/// and whether the manager marked them present.
#[component]
fn Attendance(id: Id, mine: Memo<Option<SessionResponse>>, ended: Memo<bool>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let error = RwSignal::new(None::<&'static str>);
    let confirm = move |_| {
        spawn_local(async move {
            let now = platform::now_ms();
            match update_my_record(state, None, Some(id), |record| {
                record.confirmed_at.get_or_insert(now);
            })
            .await
            {
                Ok(()) => {
                    error.set(None);
                    state.notify(i.now("session.confirmed"), false, None);
                }
                Err(err) => error.set(Some(err.key())),
            }
        });
    };
    let confirmed_at = move || mine.with(|m| m.as_ref().and_then(|m| m.confirmed_at));
    let attended = move || mine.with(|m| m.as_ref().is_some_and(|m| m.attended));
    view! {
        <section class="attend-box" aria-labelledby="attend-heading" data-testid="attendance">
            <h2 id="attend-heading">{move || i.t("session.your_attendance")}</h2>
            {move || match confirmed_at() {
                Some(at) => view! {
                    <p data-testid="confirmed-note">{move || fill(i.t("session.confirmed_on"), platform::format_date_time(at, i.locale()))}</p>
                }.into_any(),
                None if !ended.get() => view! {
                    <button type="button" class="button primary" data-testid="confirm-attend" on:click=confirm>
                        {move || i.t("session.confirm")}
                    </button>
                }.into_any(),
                None => view! { <p class="muted" data-testid="not-confirmed-note">{move || i.t("session.not_confirmed")}</p> }.into_any(),
            }}
            <Show when=attended>
                <p data-testid="attended-note">{move || i.t("session.marked_present")}</p>
            </Show>
            {move || error.get().map(|key| view! { <p class="banner error" role="alert">{move || i.t(key)}</p> })}
        </section>
    }
}

/// 培训评估 after the session: the overall rating, how useful it was, and a comment, kept in
/// the person's own record of the session.
#[component]
fn SessionEvaluation(id: Id, mine: Memo<Option<SessionResponse>>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let shown = mine.get_untracked().unwrap_or_default();
    let rating = RwSignal::new(shown.rating);
    let usefulness = RwSignal::new(shown.usefulness);
    let comment = RwSignal::new(shown.comment);
    let error = RwSignal::new(None::<&'static str>);
    let save = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let Some(overall) = rating.get_untracked() else {
            error.set(Some("training.rating_required"));
            focus_when_drawn("#session-rating-1");
            return;
        };
        let useful = usefulness.get_untracked();
        let text = comment.get_untracked().trim().to_string();
        spawn_local(save_evaluation(
            state,
            i,
            error,
            None,
            Some(id),
            move |record| {
                record.rating = Some(overall);
                record.usefulness = useful;
                record.comment = text;
            },
        ));
    };
    view! {
        <section class="evaluation" aria-labelledby="session-evaluation-heading">
            <h2 id="session-evaluation-heading">{move || i.t("training.evaluation")}</h2>
            <form novalidate on:submit=save data-testid="session-evaluation-form">
                <RatingField rating label="session.rating" name="session-rating"/>
                <RatingField rating=usefulness label="session.usefulness" name="session-usefulness"/>
                <div class="field">
                    <label for="session-comment">{move || i.t("training.comment")}</label>
                    <textarea id="session-comment" data-testid="session-comment" maxlength="2000"
                        prop:value=move || comment.get()
                        on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                </div>
                {move || error.get().map(|key| view! { <p class="banner error" role="alert">{move || i.t(key)}</p> })}
                <button type="submit" class="button" data-testid="session-evaluation-save">{move || i.t("training.evaluation_save")}</button>
            </form>
        </section>
    }
}

/// The manager's side: who confirmed, attendance, the evaluations and the 总结复盘 note.
#[component]
fn ManagerPanel(
    id: Id,
    session: Memo<Option<TrainingSession>>,
    responses: Memo<Vec<SessionResponse>>,
) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let error = RwSignal::new(None::<&'static str>);
    let summary = Memo::new(move |_| responses.with(|r| domain::evaluation_summary(r)));
    let counts = move || {
        responses.with(|r| {
            let invited = r.iter().filter(|r| r.invited).count();
            let confirmed = r
                .iter()
                .filter(|r| r.invited && r.confirmed_at.is_some())
                .count();
            let present = r.iter().filter(|r| r.attended).count();
            (invited, confirmed, present)
        })
    };
    let mark = move |person: Id, present: bool| {
        spawn_local(async move {
            let now = platform::now_ms();
            match update_session(state, id, |s| Ok(s.with_attendance(person, present, now))).await {
                Ok(()) => error.set(None),
                Err(err) => error.set(Some(err.key())),
            }
        });
    };
    let review = RwSignal::new(
        session.with_untracked(|s| s.as_ref().map(|s| s.review.clone()).unwrap_or_default()),
    );
    let review_error = RwSignal::new(None::<&'static str>);
    let save_review = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let text = review.get_untracked();
        spawn_local(async move {
            let now = platform::now_ms();
            match update_session(state, id, |s| s.with_review(&text, now)).await {
                Ok(()) => {
                    review_error.set(None);
                    state.notify(i.now("session.review_saved"), false, None);
                }
                Err(err) => {
                    review_error.set(Some(err.key()));
                    focus_when_drawn("#s-review");
                }
            }
        });
    };
    let evaluated = move || {
        responses.with(|r| {
            r.iter()
                .filter(|r| r.evaluated())
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let mean = |value: Option<f64>| value.map_or_else(|| "—".to_string(), |v| format!("{v:.1}"));
    view! {
        <section class="invitees" aria-labelledby="invitees-heading" data-testid="invitees">
            <h2 id="invitees-heading">{move || i.t("session.invitees")}</h2>
            <p class="count" data-testid="invitee-summary">
                {move || {
                    let (invited, confirmed, present) = counts();
                    i.t("session.invitee_summary")
                        .replacen("{}", &confirmed.to_string(), 1)
                        .replacen("{}", &invited.to_string(), 1)
                        .replacen("{}", &present.to_string(), 1)
                }}
            </p>
            <Show when=move || responses.with(|r| !r.is_empty())
                fallback=move || view! { <p class="empty">{move || i.t("session.nobody_invited")}</p> }>
                <ul class="list invitee-list">
                    <For each=move || responses.with(|r| r.iter().filter_map(|r| r.person).collect::<Vec<_>>())
                        key=|person| *person let:person>
                        <InviteeRow person responses on_mark=Callback::new(move |(person, present)| mark(person, present))/>
                    </For>
                </ul>
            </Show>
            {move || error.get().map(|key| view! { <p class="banner error" role="alert">{move || i.t(key)}</p> })}
        </section>
        <section class="evaluations" aria-labelledby="evaluations-heading" data-testid="evaluations">
            <h2 id="evaluations-heading">{move || i.t("session.evaluations")}</h2>
            <p class="count" data-testid="evaluation-summary">
                {move || summary.with(|s| {
                    i.t("session.evaluation_summary")
                        .replacen("{}", &s.count.to_string(), 1)
                        .replacen("{}", &mean(s.rating), 1)
                        .replacen("{}", &mean(s.usefulness), 1)
                })}
            </p>
            <Show when=move || { summary.with(|s| s.count > 0) }
                fallback=move || view! { <p class="empty">{move || i.t("session.no_evaluations")}</p> }>
                <ul class="list evaluation-list">
                    {move || evaluated().into_iter().map(|r| {
                        let name = r.person.map(|p| person_name(&state, p)).unwrap_or_default();
                        let rating = r.rating;
                        let usefulness = r.usefulness;
                        let comment = r.comment.clone();
                        view! {
                            <li class="evaluation-row" data-testid="evaluation">
                                <span class="row-title">{name}</span>
                                <span class="row-sub">
                                    {move || {
                                        let mut parts = Vec::new();
                                        if let Some(r) = rating {
                                            parts.push(fill(i.t("session.rating_of"), r));
                                        }
                                        if let Some(u) = usefulness {
                                            parts.push(fill(i.t("session.usefulness_of"), u));
                                        }
                                        parts.join(" · ")
                                    }}
                                </span>
                                {(!comment.is_empty()).then(|| view! { <p class="entry-text">{comment.clone()}</p> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
        </section>
        <section class="review" aria-labelledby="review-heading">
            <h2 id="review-heading">{move || i.t("session.review")}</h2>
            <form novalidate on:submit=save_review data-testid="review-form">
                <div class="field" class:has-error=move || review_error.get().is_some()>
                    <label for="s-review">{move || i.t("session.review_label")}</label>
                    <textarea id="s-review" rows="6" data-testid="review"
                        aria-invalid=move || review_error.get().is_some().to_string()
                        aria-describedby=move || review_error.get().map(|_| "s-review-error")
                        prop:value=move || review.get()
                        on:input=move |ev| review.set(event_target_value(&ev))></textarea>
                    {move || review_error.get().map(|key| view! {
                        <p class="field-error" id="s-review-error" data-testid="error-review">{move || i.t(key)}</p>
                    })}
                </div>
                <button type="submit" class="button" data-testid="review-save">{move || i.t("session.review_save")}</button>
            </form>
        </section>
    }
}

/// One invitee (or someone who came uninvited) for the manager: their confirmation and a
/// "present" checkbox. Keyed by person and reading their state reactively, so marking them
/// present keeps the focus on the checkbox.
#[component]
fn InviteeRow(
    person: Id,
    responses: Memo<Vec<SessionResponse>>,
    on_mark: Callback<(Id, bool)>,
) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let name = person_name(&state, person);
    let response = move || {
        responses.with(|all| {
            all.iter()
                .find(|r| r.person == Some(person))
                .cloned()
                .unwrap_or_default()
        })
    };
    let confirmed = move || response().confirmed_at;
    let attended = move || response().attended;
    let check_id = format!("present-{person}");
    view! {
        <li class="invitee-row" data-testid="invitee"
            data-confirmed=move || confirmed().is_some().to_string() data-attended=move || attended().to_string()>
            <span class="row-main">
                <span class="row-title">{name.clone()}</span>
                <span class="row-sub" data-testid="invitee-state">
                    {move || match confirmed() {
                        Some(at) => fill(i.t("session.confirmed_on"), platform::format_date_time(at, i.locale())),
                        None => i.t("session.not_confirmed").to_string(),
                    }}
                    {move || (!response().invited).then(|| format!(" · {}", i.t("session.not_invited")))}
                </span>
            </span>
            <label class="check">
                <input type="checkbox" id=check_id data-testid="attended"
                    prop:checked=attended
                    on:change=move |ev| on_mark.run((person, event_target_checked(&ev)))/>
                {move || i.t("session.present")}
                <span class="visually-hidden">" "{name.clone()}</span>
            </label>
        </li>
    }
}

#[component]
pub fn SessionEditorPage() -> impl IntoView {
    let state = use_app();
    let is_manager = Memo::new(move |_| state.is_manager());
    let id = route_id().get_untracked();
    move || {
        if !is_manager.get() {
            return view! { <ManagersOnly text_key="session.managers_only"/> }.into_any();
        }
        match id {
            None => view! { <SessionEditor existing=None/> }.into_any(),
            Some(id) => view! { <StoredSessionEditor id/> }.into_any(),
        }
    }
}

#[component]
fn StoredSessionEditor(id: Id) -> impl IntoView {
    let i = use_i18n();
    let found = stored_record::<TrainingSession>(id);
    move || match found.get() {
        None => {
            view! { <p class="empty" role="status">{move || i.t("app.loading")}</p> }.into_any()
        }
        Some(Some(session)) if !session.deleted => {
            view! { <SessionEditor existing=Some(session)/> }.into_any()
        }
        Some(_) => view! { <NotFound/> }.into_any(),
    }
}

/// The form as it opens: an existing session in the device's zone (a time without
/// seconds, as a time input writes it), or a new one for today.
fn session_draft(existing: Option<&TrainingSession>, utc_offset_minutes: i32) -> SessionDraft {
    match existing {
        Some(session) => {
            let mut draft = SessionDraft::from_session(session, utc_offset_minutes);
            if let Some(minutes) = draft.time.strip_suffix(":00").filter(|t| t.len() == 5) {
                draft.time = minutes.to_string();
            }
            draft
        }
        None => SessionDraft {
            date: platform::today().to_string(),
            time: "09:00".into(),
            duration_min: "60".into(),
            ..SessionDraft::default()
        },
    }
}

#[component]
fn SessionEditor(existing: Option<TrainingSession>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let navigate = use_navigate();
    let now = platform::now_ms();
    let offset = platform::utc_offset_minutes();
    let meta = match &existing {
        Some(session) => session.meta(),
        None => crate::routes::training::my_new_meta(&state, now),
    };
    let session_id = meta.id;
    let is_new = existing.is_none();
    let draft = RwSignal::new(session_draft(existing.as_ref(), offset));
    let errors = RwSignal::new(ValidationErrors::default());
    let banner = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    let session = state.edit_session(existing.as_ref());
    let on_delete = existing.as_ref().map(|_| {
        let navigate = navigate.clone();
        Callback::new(move |()| {
            let navigate = navigate.clone();
            spawn_local(async move {
                let current = match state.store() {
                    Ok(store) => store
                        .record::<TrainingSession>(session_id)
                        .await
                        .ok()
                        .flatten(),
                    Err(_) => None,
                };
                if let Some(current) = current {
                    if let Err(err) = state
                        .trash(current, Change::TrainingSession, i.now("session.trashed"))
                        .await
                    {
                        banner.set(Some(err.key()));
                        return;
                    }
                }
                navigate("/training", Default::default());
            });
        })
    });

    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let now = platform::now_ms();
        match draft.with_untracked(|d| d.parse(&meta, now, platform::utc_offset_minutes())) {
            Err(found) => {
                errors.set(found);
                banner.set(Some("form.fix_errors"));
                focus_first_error();
            }
            Ok(saved) => {
                errors.set(ValidationErrors::default());
                banner.set(None);
                saving.set(true);
                let navigate = navigate.clone();
                spawn_local(async move {
                    let edit = Edit {
                        change: Change::TrainingSession(saved),
                        session: session.get_value(),
                    };
                    match state.save_edits(vec![edit]).await {
                        Ok(()) => {
                            state.notify(i.now("session.saved"), false, None);
                            navigate(&format!("/sessions/{session_id}"), Default::default());
                        }
                        Err(err) => banner.set(Some(err.key())),
                    }
                    saving.set(false);
                });
            }
        }
    };

    view! {
        <section class="page form-page session-editor">
            <AppBar parent={if is_new { "/training".to_string() } else { format!("/sessions/{session_id}") }}>
                <h1>{move || i.t(if is_new { "session.new_title" } else { "session.edit_title" })}</h1>
            </AppBar>
            <form novalidate on:submit=on_submit data-testid="session-form">
                <FormBanner message=banner/>
                <TextField draft get=|d| &d.title set=|d| &mut d.title label="editor.field_title"
                    field="title" errors prefix="s" required=true testid="session-title-input"/>
                <div class="field-row">
                    <TextField draft get=|d| &d.date set=|d| &mut d.date label="field.date"
                        field="starts_at" errors prefix="s" kind="date" required=true testid="session-date"/>
                    <TextField draft get=|d| &d.time set=|d| &mut d.time label="field.time"
                        field="time" errors prefix="s" kind="time" required=true testid="session-time"/>
                    <TextField draft get=|d| &d.duration_min set=|d| &mut d.duration_min
                        label="field.duration" field="duration_min" errors prefix="s" inputmode="numeric"
                        testid="session-duration"/>
                </div>
                <TextField draft get=|d| &d.place set=|d| &mut d.place label="session.place"
                    field="place" errors prefix="s" hint="session.place_hint" testid="session-place"/>
                <ChoiceField draft get=|d| Some(d.method) set=|d, v| if let Some(v) = v { d.method = v }
                    options=&SessionMethod::ALL label="session.method" field="method" errors prefix="s"
                    testid="session-method-input"/>
                <ItemsCovered draft errors/>
                <Invitees draft errors/>
                <TextField draft get=|d| &d.agenda set=|d| &mut d.agenda label="session.agenda"
                    field="agenda" errors prefix="s" multiline=true rows=8 hint="session.agenda_hint"
                    testid="session-agenda-input"/>
                <FormActions saving on_delete/>
            </form>
        </section>
    }
}

/// The published items the session covers, as checkboxes with a filter over their titles.
#[component]
fn ItemsCovered(
    draft: RwSignal<SessionDraft>,
    errors: RwSignal<ValidationErrors>,
) -> impl IntoView {
    let i = use_i18n();
    let book = training_book();
    let filter = RwSignal::new(String::new());
    let items = Memo::new(move |_| {
        let words = domain::fold(&filter.get());
        let mut found: Vec<(Id, String)> = book.with(|b| {
            b.iter()
                .flat_map(|b| b.items.iter())
                .filter(|item| !item.deleted && item.published)
                .filter(|item| words.is_empty() || domain::fold(&item.title).contains(&words))
                .map(|item| (item.id, item.title.clone()))
                .collect()
        });
        found.sort_by(|a, b| a.1.cmp(&b.1));
        found
    });
    view! {
        <fieldset class="picks" data-testid="session-items-picker">
            <legend>{move || i.t("session.items")}</legend>
            <div class="field">
                <label for="s-items-filter">{move || i.t("session.items_filter")}</label>
                <input id="s-items-filter" type="search" autocomplete="off" data-testid="session-items-filter"
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
            </div>
            <Show when=move || items.with(|i| !i.is_empty())
                fallback=move || view! { <p class="hint">{move || i.t("session.no_items")}</p> }>
                <div class="checks">
                    <For each=move || items.get() key=|(id, title)| (*id, title.clone()) let:item>
                        {
                            let (id, title) = item;
                            view! {
                                <label class="check">
                                    <input type="checkbox" data-testid="session-item-check" value=id.to_string()
                                        prop:checked=move || draft.with(|d| d.items.contains(&id))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            draft.update(|d| {
                                                d.items.retain(|x| *x != id);
                                                if on {
                                                    d.items.push(id);
                                                }
                                            });
                                        }/>
                                    {title}
                                </label>
                            }
                        }
                    </For>
                </div>
            </Show>
            <FieldErrorText errors field="items" id="s-items-error".to_string()/>
        </fieldset>
    }
}

/// Who is invited: the reps of the team, one by one or all at once.
#[component]
fn Invitees(draft: RwSignal<SessionDraft>, errors: RwSignal<ValidationErrors>) -> impl IntoView {
    let i = use_i18n();
    let reps = team_reps();
    let everyone = move || {
        reps.with(|reps| {
            !reps.is_empty() && draft.with(|d| reps.iter().all(|r| d.invited.contains(&r.id)))
        })
    };
    view! {
        <fieldset class="picks" data-testid="session-invitees-picker">
            <legend>{move || i.t("session.invited")}</legend>
            <Show when=move || reps.with(|r| !r.is_empty())
                fallback=move || view! { <p class="hint" data-testid="no-team">{move || i.t("training.no_team")}</p> }>
                <label class="check">
                    <input type="checkbox" data-testid="invite-team" prop:checked=everyone
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let all: Vec<Id> = reps.with_untracked(|r| r.iter().map(|m| m.id).collect());
                            draft.update(|d| {
                                d.invited.retain(|p| !all.contains(p));
                                if on {
                                    d.invited.extend(all);
                                }
                            });
                        }/>
                    {move || i.t("session.invite_team")}
                </label>
                <RepChecks reps testid="invite-person"
                    chosen=Signal::derive(move || draft.with(|d| d.invited.clone()))
                    on_toggle=Callback::new(move |(id, on): (Id, bool)| {
                        draft.update(|d| toggle(&mut d.invited, id, on));
                    })/>
            </Show>
            <FieldErrorText errors field="invited" id="s-invited-error".to_string()/>
        </fieldset>
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use domain::{Id, RecordMeta, SessionDraft};

    /// An existing session opens with its time as a time input writes it (no seconds), and
    /// saving it unchanged gives the same moment back.
    #[test]
    fn an_existing_session_opens_without_seconds() {
        let meta = RecordMeta::new(Id::from_parts(1, [1; 10]), 0);
        let draft = SessionDraft {
            title: "话术演练".into(),
            date: "2026-12-10".into(),
            time: "14:30".into(),
            ..SessionDraft::default()
        };
        let session = draft.parse(&meta, 0, 480).unwrap();
        let shown = super::session_draft(Some(&session), 480);
        assert_eq!(shown.time, "14:30");
        assert_eq!(
            shown.parse(&meta, 0, 480).unwrap().starts_at,
            session.starts_at
        );
    }
}
