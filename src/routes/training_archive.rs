//! The training archive (培训档案): a person's history, and for a manager the team matrix;
//! both exportable as CSV.
//!
//! Everything comes from the device (the training book in IndexedDB), so the archive reads
//! offline; a manager's device holds their reps' records and attempts. What goes in a row
//! and in the CSV is decided in the domain (`person_archive`, `team_matrix`,
//! `archive_csv`, `matrix_csv`); this file lays it out.

use std::collections::BTreeSet;

use domain::{
    Id, ItemHistory, MatrixCell, PersonArchive, Reader, SessionHistory, TeamMember, TrainingItem,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::components::app_bar::AppBar;
use crate::i18n::{fill, use_i18n, I18n};
use crate::platform;
use crate::routes::not_found::NotFound;
use crate::routes::training::{reader, training_book};
use crate::routes::training_editor::ManagersOnly;
use crate::routes::training_session::person_name;
use crate::state::{use_app, AppState};
use crate::store::TrainingBook;

/// What `/archive/:id` names: nobody (the archive's own page), a person, or an address that
/// is no id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    Default,
    Person(Id),
    Bad,
}

#[component]
pub fn Archive() -> impl IntoView {
    let state = use_app();
    let params = use_params_map();
    let subject = Memo::new(move |_| {
        params.with(|p| match p.get("id") {
            None => Subject::Default,
            Some(raw) => Id::parse(&raw).map_or(Subject::Bad, Subject::Person),
        })
    });
    let book = training_book();
    let me = Memo::new(move |_| reader(&state).map(|r| r.id));
    let is_manager = Memo::new(move |_| state.is_manager());
    move || match (subject.get(), me.get()) {
        (Subject::Default, _) if is_manager.get() => view! { <TeamMatrix book/> }.into_any(),
        (Subject::Default, Some(me)) => view! { <PersonView person=me book/> }.into_any(),
        (Subject::Person(person), Some(me)) if person == me || is_manager.get() => {
            view! { <PersonView person book/> }.into_any()
        }
        (Subject::Person(_), Some(_)) => {
            view! { <ManagersOnly text_key="archive.managers_only"/> }.into_any()
        }
        _ => view! { <NotFound/> }.into_any(),
    }
}

/// Message keys to text in the current language, for the domain's CSV rows.
fn translator(i: I18n) -> impl Fn(&str) -> String {
    move |key: &str| i.now(key).to_string()
}

/// Hands `rows` to the browser as a CSV download named from `parts` and today's date.
fn download(state: AppState, i: I18n, parts: &[&str], rows: &[Vec<String>]) {
    let today = platform::today().to_string();
    let mut named: Vec<&str> = parts.to_vec();
    named.push(&today);
    let file = platform::file_name(&named, "csv");
    let text = domain::csv(rows);
    if !platform::download_text(&file, "text/csv;charset=utf-8", &text) {
        state.notify(i.now("archive.download_failed"), true, None);
    }
}

/// One person's history: items, quiz attempts and sessions.
#[component]
fn PersonView(person: Id, book: RwSignal<Option<TrainingBook>>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let own = reader(&state).is_some_and(|me| me.id == person);
    let is_manager = state.is_manager();
    // The people a manager sees are in their own team.
    let team = state
        .account
        .with_untracked(|a| a.as_ref().and_then(|a| a.team_id));
    let archive = Memo::new(move |_| {
        let who = Reader { id: person, team };
        book.with(|b| {
            b.as_ref().map(|b| {
                domain::person_archive(who, &b.items, &b.sessions, &b.records, &b.attempts)
            })
        })
    });
    let live = Memo::new(move |_| {
        book.with(|b| {
            b.iter()
                .flat_map(|b| b.items.iter())
                .filter(|item| !item.deleted)
                .map(|item| item.id)
                .collect::<BTreeSet<Id>>()
        })
    });
    let name = person_name(&state, person);
    let csv_name = name.clone();
    let on_download = move |_| {
        let Some(rows) = archive.with_untracked(|a| {
            a.as_ref()
                .map(|a| domain::archive_csv(a, platform::utc_offset_minutes(), &translator(i)))
        }) else {
            return;
        };
        download(state, i, &[i.now("archive.file_person"), &csv_name], &rows);
    };
    view! {
        <section class="page archive" data-testid="person-archive">
            <AppBar parent={if own { "/training".to_string() } else { "/archive".to_string() }}>
                <h1>{move || if own { i.t("training.my_archive").to_string() } else { fill(i.t("archive.person_title"), &name) }}</h1>
                <button type="button" class="button" data-testid="archive-csv" on:click=on_download
                    disabled=move || archive.with(|a| a.is_none())>
                    {move || i.t("archive.download")}
                </button>
            </AppBar>
            <Show when=move || is_manager && !own>
                <p class="page-links"><A href="/archive" attr:data-testid="back-to-matrix">{move || i.t("archive.back_to_team")}</A></p>
            </Show>
            {move || match archive.get() {
                None => view! { <p class="empty" role="status">{move || i.t("app.loading")}</p> }.into_any(),
                Some(archive) => view! { <ArchiveSections archive live/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ArchiveSections(archive: PersonArchive, live: Memo<BTreeSet<Id>>) -> impl IntoView {
    let i = use_i18n();
    let PersonArchive {
        items,
        attempts,
        sessions,
    } = archive;
    let no_items = items.is_empty();
    let no_attempts = attempts.is_empty();
    let no_sessions = sessions.is_empty();
    view! {
        <h2>{move || i.t("archive.items")}</h2>
        {if no_items {
            view! { <p class="empty" data-testid="archive-items-empty">{move || i.t("archive.no_items")}</p> }.into_any()
        } else {
            view! {
                <ul class="list archive-list" data-testid="archive-items">
                    {items.into_iter().map(|row| view! { <ItemRow row live/> }).collect_view()}
                </ul>
            }.into_any()
        }}
        <h2>{move || i.t("archive.attempts")}</h2>
        {if no_attempts {
            view! { <p class="empty" data-testid="archive-attempts-empty">{move || i.t("archive.no_attempts")}</p> }.into_any()
        } else {
            view! {
                <ul class="list archive-list" data-testid="archive-attempts">
                    {attempts.into_iter().map(|attempt| {
                        let title = attempt.title.clone();
                        let at = attempt.submitted_at;
                        let passed = attempt.passed;
                        let percent = attempt.percent;
                        view! {
                            <li class="archive-row" data-testid="archive-attempt" data-passed=passed.to_string()>
                                <span class="row-title">{move || title.clone().unwrap_or_else(|| i.t("archive.unknown_item").to_string())}</span>
                                <span class="row-sub">
                                    <span>{move || platform::format_date_time(at, i.locale())}</span>
                                    <span class="score">{format!("{percent}%")}</span>
                                    <span class=if passed { "passed" } else { "not-passed" }>
                                        {move || i.t(if passed { "archive.passed" } else { "archive.not_passed" })}
                                    </span>
                                </span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        <h2>{move || i.t("archive.sessions")}</h2>
        {if no_sessions {
            view! { <p class="empty" data-testid="archive-sessions-empty">{move || i.t("archive.no_sessions")}</p> }.into_any()
        } else {
            view! {
                <ul class="list archive-list" data-testid="archive-sessions">
                    {sessions.into_iter().map(|row| view! { <SessionRow row/> }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

#[component]
fn ItemRow(row: ItemHistory, live: Memo<BTreeSet<Id>>) -> impl IntoView {
    let i = use_i18n();
    let id = row.item_id;
    let title = row.title.clone();
    let linked = title.is_some() && live.with_untracked(|l| l.contains(&id));
    let kind = row.kind;
    let progress = row.progress.clone();
    let due = row.due_on;
    let assigned = row.assigned;
    let done = row.done;
    let passed = row.passed;
    let facts = move || {
        let locale = i.locale();
        let mut parts: Vec<String> = Vec::new();
        if let Some(kind) = kind {
            parts.push(i.t(kind.key()).to_string());
        }
        match progress.opened_at {
            Some(at) => parts.push(fill(
                i.t("archive.opened_on"),
                platform::format_date_time(at, locale),
            )),
            None => parts.push(i.t("archive.not_opened").to_string()),
        }
        if let Some(at) = progress.completed_at {
            parts.push(fill(
                i.t("archive.done_on"),
                platform::format_date_time(at, locale),
            ));
        }
        if assigned && !done {
            if let Some(due) = due {
                parts.push(fill(i.t("training.due_on"), locale.date(due)));
            }
        }
        if let Some(best) = progress.best_percent {
            parts.push(fill(i.t("archive.best"), best));
            if let Some(passed) = passed {
                parts.push(
                    i.t(if passed {
                        "archive.passed"
                    } else {
                        "archive.not_passed"
                    })
                    .to_string(),
                );
            }
        }
        if let Some(rating) = progress.rating {
            parts.push(fill(i.t("session.rating_of"), rating));
        }
        parts
    };
    let comment = row.progress.comment.clone();
    let title_text = move || {
        title
            .clone()
            .unwrap_or_else(|| i.t("archive.unknown_item").to_string())
    };
    view! {
        <li class="archive-row" data-testid="archive-item" data-done=done.to_string()>
            {if linked {
                view! { <A href=format!("/training/{id}") attr:class="row-title">{title_text}</A> }.into_any()
            } else {
                view! { <span class="row-title">{title_text}</span> }.into_any()
            }}
            <span class="row-sub">
                {move || facts().into_iter().map(|fact| view! { <span>{fact}</span> }).collect_view()}
                {done.then(|| view! { <span class="passed">{move || i.t("archive.done")}</span> })}
            </span>
            {(!comment.is_empty()).then(|| view! { <p class="entry-text">{comment.clone()}</p> })}
        </li>
    }
}

#[component]
fn SessionRow(row: SessionHistory) -> impl IntoView {
    let i = use_i18n();
    let SessionHistory {
        session_id,
        title,
        method,
        starts_at,
        response,
    } = row;
    let attended = response.attended;
    let comment = response.comment.clone();
    let facts = move || {
        let locale = i.locale();
        let mut parts = vec![
            platform::format_date_time(starts_at, locale),
            i.t(method.key()).to_string(),
        ];
        parts.push(match response.confirmed_at {
            Some(at) => fill(
                i.t("session.confirmed_on"),
                platform::format_date_time(at, locale),
            ),
            None => i.t("session.not_confirmed").to_string(),
        });
        parts.push(
            i.t(if response.attended {
                "session.marked_present"
            } else {
                "archive.not_present"
            })
            .to_string(),
        );
        if let Some(rating) = response.rating {
            parts.push(fill(i.t("session.rating_of"), rating));
        }
        if let Some(useful) = response.usefulness {
            parts.push(fill(i.t("session.usefulness_of"), useful));
        }
        parts
    };
    view! {
        <li class="archive-row" data-testid="archive-session" data-attended=attended.to_string()>
            <A href=format!("/sessions/{session_id}") attr:class="row-title">{title}</A>
            <span class="row-sub">
                {move || facts().into_iter().map(|fact| view! { <span>{fact}</span> }).collect_view()}
            </span>
            {(!comment.is_empty()).then(|| view! { <p class="entry-text">{comment.clone()}</p> })}
        </li>
    }
}

/// The team matrix's data: its columns, its rows and the cells.
#[derive(Clone, Debug, PartialEq)]
struct Matrix {
    items: Vec<TrainingItem>,
    people: Vec<TeamMember>,
    cells: Vec<Vec<MatrixCell>>,
}

/// A manager's view of the team: reps × assigned items.
#[component]
fn TeamMatrix(book: RwSignal<Option<TrainingBook>>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let team = state
        .account
        .with_untracked(|a| a.as_ref().and_then(|a| a.team_id));
    let matrix = Memo::new(move |_| {
        let people: Vec<TeamMember> = state.team.with(|members| {
            members
                .iter()
                .filter(|m| m.role == "rep")
                .cloned()
                .collect()
        });
        book.with(|b| {
            b.as_ref().map(|b| {
                let items: Vec<TrainingItem> = domain::matrix_items(&b.items)
                    .into_iter()
                    .cloned()
                    .collect();
                let columns: Vec<&TrainingItem> = items.iter().collect();
                let readers: Vec<Reader> =
                    people.iter().map(|m| Reader { id: m.id, team }).collect();
                let cells = domain::team_matrix(&columns, &readers, &b.records, &b.attempts);
                Matrix {
                    items,
                    people,
                    cells,
                }
            })
        })
    });
    let on_download = move |_| {
        let Some(rows) = matrix.with_untracked(|m| {
            m.as_ref().map(|m| {
                let names: Vec<String> = m.people.iter().map(|p| p.display_name.clone()).collect();
                let columns: Vec<&TrainingItem> = m.items.iter().collect();
                domain::matrix_csv(&names, &columns, &m.cells, &translator(i))
            })
        }) else {
            return;
        };
        download(state, i, &[i.now("archive.file_matrix")], &rows);
    };
    view! {
        <section class="page matrix-page" data-testid="team-matrix">
            <AppBar parent={"/training".to_string()}>
                <h1>{move || i.t("training.team_progress")}</h1>
                <button type="button" class="button" data-testid="matrix-csv" on:click=on_download
                    disabled=move || matrix.with(|m| m.is_none())>
                    {move || i.t("archive.download")}
                </button>
            </AppBar>
            <p class="hint">{move || i.t("archive.matrix_hint")}</p>
            {move || match matrix.get() {
                None => view! { <p class="empty" role="status">{move || i.t("app.loading")}</p> }.into_any(),
                Some(m) if m.people.is_empty() => view! {
                    <p class="empty" data-testid="matrix-no-team">{move || i.t("training.no_team")}</p>
                }.into_any(),
                Some(m) => view! { <MatrixTable matrix=m/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn MatrixTable(matrix: Matrix) -> impl IntoView {
    let i = use_i18n();
    let Matrix {
        items,
        people,
        cells,
    } = matrix;
    let no_items = items.is_empty();
    let headers = items
        .iter()
        .map(|item| {
            let title = item.title.clone();
            let href = format!("/training/{}", item.id);
            let due = item.assigned.due_on;
            view! {
                <th scope="col">
                    <A href=href attr:class="matrix-item">{title}</A>
                    {due.map(|due| view! { <span class="matrix-due">{move || fill(i.t("training.due_on"), i.locale().date(due))}</span> })}
                </th>
            }
        })
        .collect_view();
    let rows = people
        .into_iter()
        .zip(cells)
        .map(|(person, row)| {
            let href = format!("/archive/{}", person.id);
            view! {
                <tr data-testid="matrix-row">
                    <th scope="row">
                        <A href=href attr:data-testid="matrix-person">{person.display_name.clone()}</A>
                    </th>
                    {row.into_iter().map(|cell| view! { <MatrixCellView cell/> }).collect_view()}
                </tr>
            }
        })
        .collect_view();
    view! {
        <Show when=move || no_items>
            <p class="empty" data-testid="matrix-no-items">{move || i.t("archive.nothing_assigned")}</p>
        </Show>
        <div class="matrix-scroll" role="region" aria-labelledby="matrix-caption" tabindex="0" data-testid="matrix-scroll">
            <table class="matrix" data-testid="matrix">
                <caption id="matrix-caption" class="visually-hidden">{move || i.t("training.team_progress")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{move || i.t("archive.col_person")}</th>
                        {headers}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn MatrixCellView(cell: MatrixCell) -> impl IntoView {
    let i = use_i18n();
    let state = if cell.done {
        "done"
    } else if cell.opened {
        "opened"
    } else if cell.assigned {
        "not-opened"
    } else {
        "not-assigned"
    };
    let text = move || cell.describe(&|key: &str| i.t(key).to_string());
    view! {
        <td class=format!("matrix-cell {state}") data-testid="matrix-cell" data-state=state>{text}</td>
    }
}
