//! Training 培训: the library (search with pinyin like leads; filters by kind, tag, assigned
//! to me, not done), the sessions ahead, and the way to the archive. Managers also find
//! their drafts here and the buttons to write an item or schedule a session.

use std::collections::BTreeSet;

use domain::{ItemKind, LibraryQuery, Reader, Sha256, TrainingItem, TrainingSession};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::{count, use_i18n};
use crate::platform;
use crate::routes::reading;
use crate::state::{use_app, AppState};
use crate::store::TrainingBook;

/// The training records on the device, read again whenever a save or a sync changes data
/// (`revision`); `None` until the first read answers.
pub fn training_book() -> RwSignal<Option<TrainingBook>> {
    let state = use_app();
    reading(move || {
        state.revision.track();
        async move {
            match state.store() {
                Ok(store) => store.training().await.unwrap_or_default(),
                Err(_) => TrainingBook::default(),
            }
        }
    })
}

/// The bookkeeping of a record the signed-in person creates now (the server sets owner and
/// team again from the session; the device shows them meanwhile).
pub fn my_new_meta(state: &AppState, now_ms: i64) -> domain::RecordMeta {
    let (owner, team) = state
        .account
        .with_untracked(|a| a.as_ref().map_or((None, None), |a| (Some(a.id), a.team_id)));
    domain::RecordMeta {
        id: platform::new_id(now_ms),
        owner,
        team,
        created_at: now_ms,
    }
}

/// The signed-in person as a reader of training material.
pub fn reader(state: &AppState) -> Option<Reader> {
    state.account.with(|account| {
        account.as_ref().map(|a| Reader {
            id: a.id,
            team: a.team_id,
        })
    })
}

/// The attachments of `items` this device holds, read again with the book: an item is
/// available offline once its body (always, with the record) and every attachment are here.
pub fn held_attachments(
    items: impl Fn() -> Vec<Sha256> + 'static,
) -> RwSignal<Option<BTreeSet<Sha256>>> {
    let state = use_app();
    reading(move || {
        state.revision.track();
        let wanted = items();
        async move {
            let Ok(store) = state.store() else {
                return BTreeSet::new();
            };
            let held = store.blobs_held(&wanted).await.unwrap_or_default();
            wanted
                .into_iter()
                .zip(held)
                .filter(|(_, held)| *held)
                .map(|(sha, _)| sha)
                .collect()
        }
    })
}

/// Each item's folded search text (title, tags, body, the title's pinyin initials), made
/// once per read of the book rather than per keystroke: folding the bodies and asking the
/// collator for initials is the expensive part of a search.
pub fn search_texts(
    book: RwSignal<Option<TrainingBook>>,
) -> Memo<std::collections::HashMap<domain::Id, String>> {
    let state = use_app();
    Memo::new(move |_| {
        let collator = state.collator();
        book.with(|b| {
            b.iter()
                .flat_map(|b| b.items.iter())
                .filter(|item| !item.deleted)
                .map(|item| {
                    let initials = collator.initials(&item.title);
                    (item.id, domain::item_search_text(item, &initials))
                })
                .collect()
        })
    })
}

/// Whether every attachment of `item` is in `held`.
pub fn is_offline(item: &TrainingItem, held: &BTreeSet<Sha256>) -> bool {
    item.attachments.iter().all(|a| held.contains(&a.sha256))
}

#[component]
pub fn Library() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let book = training_book();
    let query = RwSignal::new(LibraryQuery::default());
    let is_manager = state.is_manager();
    let today = platform::today();
    let every_attachment = move || {
        book.with(|b| {
            b.as_ref()
                .map(|b| {
                    b.items
                        .iter()
                        .filter(|item| !item.deleted)
                        .flat_map(|item| item.attachments.iter().map(|a| a.sha256.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    };
    let held = held_attachments(every_attachment);
    let texts = search_texts(book);

    let rows = Memo::new(move |_| {
        let Some(me) = reader(&state) else {
            return Vec::new();
        };
        book.with(|b| {
            let Some(b) = b else {
                return Vec::new();
            };
            query.with(|q| {
                let haystack = |item: &TrainingItem| {
                    texts.with(|t| t.get(&item.id).cloned().unwrap_or_default())
                };
                domain::library(&b.items, &b.records, &b.attempts, me, today, q, haystack)
                    .into_iter()
                    .map(|entry| {
                        let done = entry.done();
                        let updated = entry.progress.updated_since_read(entry.item);
                        LibraryRow {
                            item: entry.item.clone(),
                            assigned: entry.assigned,
                            overdue: entry.overdue,
                            done,
                            updated,
                            best: entry.progress.best_percent,
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
    });
    let tags = Memo::new(move |_| {
        let mut tags: Vec<String> = book.with(|b| {
            b.iter()
                .flat_map(|b| b.items.iter())
                .filter(|item| !item.deleted)
                .flat_map(|item| item.tags.iter().cloned())
                .collect()
        });
        tags.sort_by_key(|t| t.to_lowercase());
        tags.dedup_by_key(|t| t.to_lowercase());
        tags
    });
    let sessions = Memo::new(move |_| {
        let me = reader(&state);
        let now = platform::now_ms();
        let mut ahead: Vec<TrainingSession> = book.with(|b| {
            b.iter()
                .flat_map(|b| b.sessions.iter())
                .filter(|s| !s.deleted && s.ends_at() >= now - 86_400_000)
                .filter(|s| is_manager || me.is_some_and(|me| s.invited.contains(&me.id)))
                .cloned()
                .collect()
        });
        ahead.sort_by_key(|s| s.starts_at);
        ahead
    });

    view! {
        <section class="page training">
            <header class="page-head">
                <h1>{move || i.t("training.title")}</h1>
                <Show when=move || is_manager>
                    <A href="/new/training" attr:class="button primary" attr:data-testid="new-item">{move || i.t("training.new_item")}</A>
                    <A href="/new/session" attr:class="button" attr:data-testid="new-session">{move || i.t("training.new_session")}</A>
                </Show>
            </header>
            <p class="page-links">
                <A href="/archive" attr:data-testid="open-archive">
                    {move || i.t(if is_manager { "training.team_progress" } else { "training.my_archive" })}
                </A>
            </p>
            <Show when=move || sessions.with(|s| !s.is_empty())>
                <h2>{move || i.t("training.sessions")}</h2>
                <ul class="list" data-testid="session-list">
                    <For each=move || sessions.get() key=|s| (s.id, s.updated_at) let:session>
                        <SessionRow session/>
                    </For>
                </ul>
            </Show>
            <h2>{move || i.t("training.library")}</h2>
            <div class="search">
                <label for="training-search" class="visually-hidden">{move || i.t("training.search_label")}</label>
                <input id="training-search" type="search" data-testid="training-search" autocomplete="off"
                    placeholder=move || i.t("training.search")
                    prop:value=move || query.with(|q| q.text.clone())
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        query.update(|q| q.text = text);
                    }/>
            </div>
            <div class="filters">
                <div class="filter">
                    <label for="filter-item-kind">{move || i.t("training.filter_kind")}</label>
                    <select id="filter-item-kind" data-testid="filter-item-kind" on:change=move |ev| {
                        let kind = event_target_value(&ev).parse::<ItemKind>().ok();
                        query.update(|q| q.kind = kind);
                    }>
                        <option value="" selected=move || query.with(|q| q.kind.is_none())>{move || i.t("leads.any")}</option>
                        {ItemKind::ALL.iter().map(|kind| {
                            let kind = *kind;
                            view! {
                                <option value=kind.as_str() selected=move || query.with(|q| q.kind == Some(kind))>
                                    {move || i.t(kind.key())}
                                </option>
                            }
                        }).collect_view()}
                    </select>
                </div>
                <div class="filter">
                    <label for="filter-item-tag">{move || i.t("leads.filter_tag")}</label>
                    <select id="filter-item-tag" data-testid="filter-item-tag" on:change=move |ev| {
                        let raw = event_target_value(&ev);
                        query.update(|q| q.tag = (!raw.is_empty()).then_some(raw));
                    }>
                        <option value="" selected=move || query.with(|q| q.tag.is_none())>{move || i.t("leads.any")}</option>
                        <For each=move || tags.get() key=|t| t.clone() let:tag>
                            <option value=tag.clone() selected={
                                let tag = tag.clone();
                                move || query.with(|q| q.tag.as_deref() == Some(tag.as_str()))
                            }>{tag.clone()}</option>
                        </For>
                    </select>
                </div>
                <label class="check">
                    <input type="checkbox" data-testid="filter-assigned"
                        prop:checked=move || query.with(|q| q.assigned_to_me)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            query.update(|q| q.assigned_to_me = on);
                        }/>
                    {move || i.t("training.filter_assigned")}
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="filter-not-done"
                        prop:checked=move || query.with(|q| q.not_done)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            query.update(|q| q.not_done = on);
                        }/>
                    {move || i.t("training.filter_not_done")}
                </label>
            </div>
            <Show when=move || book.with(|b| b.is_some())
                fallback=move || view! { <p class="empty" role="status">{move || i.t("app.loading")}</p> }>
                <p class="count" data-testid="item-count">{move || count(i.locale(), "training.count", rows.with(|r| r.len()) as u64)}</p>
                <Show when=move || rows.with(|r| !r.is_empty())
                    fallback=move || view! { <p class="empty" data-testid="training-empty">{move || i.t("training.empty")}</p> }>
                    <ul class="list" data-testid="training-list">
                        <For each=move || rows.get() key=|r| (r.item.id, r.item.updated_at, r.done, r.updated, r.best) let:row>
                            <ItemRow row held/>
                        </For>
                    </ul>
                </Show>
            </Show>
        </section>
    }
}

/// What a library row shows of an item and the reader's progress on it.
#[derive(Clone, Debug, PartialEq)]
struct LibraryRow {
    item: TrainingItem,
    assigned: bool,
    overdue: bool,
    done: bool,
    updated: bool,
    best: Option<u8>,
}

#[component]
fn ItemRow(row: LibraryRow, held: RwSignal<Option<BTreeSet<Sha256>>>) -> impl IntoView {
    let i = use_i18n();
    let href = format!("/training/{}", row.item.id);
    let kind = row.item.kind;
    let tags = row.item.tags.join(" · ");
    let due = row.item.assigned.due_on;
    let draft = !row.item.published;
    let item = row.item.clone();
    let offline =
        move || held.with(|held| held.as_ref().is_some_and(|held| is_offline(&item, held)));
    view! {
        <li class="row" data-testid="item-row" data-done=row.done.to_string()>
            <A href=href attr:class="row-link">
                <span class="row-main">
                    <span class="row-title">{row.item.title.clone()}</span>
                    <span class="row-sub">{move || i.t(kind.key())}{(!tags.is_empty()).then(|| format!(" · {tags}"))}</span>
                </span>
                <span class="row-badges">
                    {draft.then(|| view! { <span class="badge" data-testid="badge-draft">{move || i.t("training.draft")}</span> })}
                    {row.overdue.then(|| view! { <span class="badge overdue" data-testid="badge-overdue">{move || i.t("training.overdue")}</span> })}
                    {(row.assigned && !row.done && !row.overdue).then(|| view! {
                        <span class="badge" data-testid="badge-assigned">
                            {move || match due {
                                Some(due) => crate::i18n::fill(i.t("training.due_on"), i.locale().date(due)),
                                None => i.t("training.assigned").to_string(),
                            }}
                        </span>
                    })}
                    {row.done.then(|| view! { <span class="badge done" data-testid="badge-done">{move || i.t("training.done")}</span> })}
                    {row.updated.then(|| view! { <span class="badge" data-testid="badge-updated">{move || i.t("training.updated")}</span> })}
                    {row.best.map(|best| view! { <span class="badge" data-testid="badge-score">{format!("{best}%")}</span> })}
                    {move || if offline() {
                        view! { <span class="badge offline-ready" data-testid="badge-offline">{move || i.t("training.offline")}</span> }.into_any()
                    } else {
                        view! { <span class="badge" data-testid="badge-downloading">{move || i.t("training.downloading")}</span> }.into_any()
                    }}
                </span>
            </A>
        </li>
    }
}

#[component]
fn SessionRow(session: TrainingSession) -> impl IntoView {
    let i = use_i18n();
    let href = format!("/sessions/{}", session.id);
    let starts = session.starts_at;
    let method = session.method;
    view! {
        <li class="row" data-testid="session-row">
            <A href=href attr:class="row-link">
                <span class="row-main">
                    <span class="row-title">{session.title.clone()}</span>
                    <span class="row-sub">
                        {move || platform::format_date_time(starts, i.locale())}" · "{move || i.t(method.key())}
                        {(!session.place.is_empty()).then(|| format!(" · {}", session.place))}
                    </span>
                </span>
            </A>
        </li>
    }
}

/// Training on Today: the reader's assigned items not yet done (overdue flagged) and the
/// sessions they are invited to. Shows nothing when there is nothing to do.
#[component]
pub fn TrainingToday() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let book = training_book();
    let today = platform::today();
    let lists = Memo::new(move |_| {
        let me = reader(&state)?;
        let now = platform::now_ms();
        book.with(|b| {
            let b = b.as_ref()?;
            let (work, sessions) = domain::training_today(
                &b.items,
                &b.sessions,
                &b.records,
                &b.attempts,
                me,
                today,
                now,
            );
            let work: Vec<(TrainingItem, bool)> = work
                .into_iter()
                .map(|entry| (entry.item.clone(), entry.overdue))
                .collect();
            let sessions: Vec<(TrainingSession, bool)> = sessions
                .into_iter()
                .map(|s| {
                    let confirmed = b
                        .record_of_session(me.id, s.id)
                        .is_some_and(|r| r.confirmed_at.is_some());
                    (s.clone(), confirmed)
                })
                .collect();
            Some((work, sessions))
        })
    });
    let work = move || lists.with(|l| l.as_ref().map(|l| l.0.clone()).unwrap_or_default());
    let sessions = move || lists.with(|l| l.as_ref().map(|l| l.1.clone()).unwrap_or_default());
    view! {
        <Show when=move || !work().is_empty() || !sessions().is_empty()>
            <h2 class="section-title">{move || i.t("today.training")}</h2>
            <ul class="list" data-testid="today-training">
                <For each=work key=|(item, overdue)| (item.id, item.updated_at, *overdue) let:entry>
                    {
                        let (item, overdue) = entry;
                        let href = format!("/training/{}", item.id);
                        let due = item.assigned.due_on;
                        let kind = item.kind;
                        view! {
                            <li class="row" data-testid="today-item">
                                <A href=href attr:class="row-link">
                                    <span class="row-main">
                                        <span class="row-title">{item.title.clone()}</span>
                                        <span class="row-sub">{move || i.t(kind.key())}</span>
                                    </span>
                                    <span class="row-badges">
                                        {overdue.then(|| view! { <span class="badge overdue">{move || i.t("training.overdue")}</span> })}
                                        {due.map(|due| view! {
                                            <span class="badge">{move || crate::i18n::fill(i.t("training.due_on"), i.locale().date(due))}</span>
                                        })}
                                    </span>
                                </A>
                            </li>
                        }
                    }
                </For>
                <For each=sessions key=|(s, confirmed)| (s.id, s.updated_at, *confirmed) let:entry>
                    {
                        let (session, confirmed) = entry;
                        let href = format!("/sessions/{}", session.id);
                        let starts = session.starts_at;
                        view! {
                            <li class="row" data-testid="today-session">
                                <A href=href attr:class="row-link">
                                    <span class="row-main">
                                        <span class="row-title">{session.title.clone()}</span>
                                        <span class="row-sub">{move || platform::format_date_time(starts, i.locale())}
                                            {(!session.place.is_empty()).then(|| format!(" · {}", session.place))}</span>
                                    </span>
                                    <span class="row-badges">
                                        <span class="badge">{move || i.t(if confirmed { "today.session_confirmed" } else { "today.session_invited" })}</span>
                                    </span>
                                </A>
                            </li>
                        }
                    }
                </For>
            </ul>
        </Show>
    }
}

/// 洽谈资料: the training items shown on a visit, picked from the published library (a
/// search box narrows the list; the picked ones stay listed first).
#[component]
pub fn MaterialsPicker(
    selected: Signal<Vec<domain::Id>>,
    on_toggle: Callback<domain::Id>,
) -> impl IntoView {
    let i = use_i18n();
    let book = training_book();
    let filter = RwSignal::new(String::new());
    let texts = search_texts(book);
    let choices = Memo::new(move |_| {
        let words: Vec<String> = filter.with(|f| f.split_whitespace().map(domain::fold).collect());
        let picked = selected.get();
        let mut items: Vec<(domain::Id, String, bool)> = book.with(|b| {
            b.iter()
                .flat_map(|b| b.items.iter())
                .filter(|item| !item.deleted && item.published)
                .filter(|item| {
                    picked.contains(&item.id)
                        || texts.with(|t| {
                            let text = t.get(&item.id).map_or("", String::as_str);
                            words.iter().all(|w| text.contains(w.as_str()))
                        })
                })
                .map(|item| (item.id, item.title.clone(), picked.contains(&item.id)))
                .collect()
        });
        items.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        items.truncate(30);
        items
    });
    view! {
        <fieldset class="materials" data-testid="materials">
            <legend>{move || i.t("visit.materials")}</legend>
            <Show when=move || book.with(|b| b.as_ref().is_some_and(|b| b.items.iter().any(|i| i.published && !i.deleted)))
                fallback=move || view! { <p class="hint">{move || i.t("visit.no_materials")}</p> }>
                <label for="materials-search" class="visually-hidden">{move || i.t("visit.materials_search")}</label>
                <input id="materials-search" type="search" autocomplete="off" data-testid="materials-search"
                    placeholder=move || i.t("visit.materials_search")
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
                <For each=move || choices.get() key=|c| c.clone() let:choice>
                    {
                        let (id, title, picked) = choice;
                        view! {
                            <label class="option">
                                <input type="checkbox" data-testid="material-option"
                                    prop:checked=picked on:change=move |_| on_toggle.run(id)/>
                                <span>{title}</span>
                            </label>
                        }
                    }
                </For>
            </Show>
        </fieldset>
    }
}

/// The titles of every training item on the device by id (a visit's materials name them).
pub fn item_titles() -> Memo<std::collections::HashMap<domain::Id, String>> {
    let book = training_book();
    Memo::new(move |_| {
        book.with(|b| {
            b.iter()
                .flat_map(|b| b.items.iter())
                .map(|item| (item.id, item.title.clone()))
                .collect()
        })
    })
}
