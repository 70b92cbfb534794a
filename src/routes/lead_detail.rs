//! Lead detail: contact buttons, the lead's facts, and a timeline of its visits and deals.

use domain::{Deal, Id, Lead, Record, StageChange, Visit};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::components::app_bar::AppBar;
use crate::components::contact::ContactActions;
use crate::components::focus::focus_when_drawn;
use crate::components::icons::{Icon, IconName};
use crate::components::menu::TrashMenu;
use crate::components::photos::PhotoStrip;
use crate::components::reassign::Owner;
use crate::components::sync_notes::RecordNotices;
use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::routes::not_found::LeadNotFound;
use crate::routes::{reading, route_id};
use crate::state::use_app;
use crate::store::Change;

#[component]
pub fn LeadDetail() -> impl IntoView {
    let state = use_app();
    let id = route_id();
    let lead = Memo::new(move |_| id.get().and_then(|id| state.lead(id)));
    move || match lead.get() {
        Some(lead) => view! { <LeadView lead/> }.into_any(),
        None if !state.book_ready.get() => view! { <BookLoading/> }.into_any(),
        None => view! { <LeadNotFound/> }.into_any(),
    }
}

/// Shown for the moment the lead book is still being read after start-up.
#[component]
pub fn BookLoading() -> impl IntoView {
    let i = crate::i18n::use_i18n();
    view! { <p class="empty" role="status">{move || i.t("book.loading")}</p> }
}

/// A lead's visits and deals, tombstones included (sync notices may concern them).
async fn records_of(
    state: crate::state::AppState,
    lead_id: domain::Id,
) -> Result<(Vec<Visit>, Vec<Deal>, Vec<StageChange>), crate::store::StoreError> {
    let store = state.store()?;
    let (visits, deals, changes) = futures::future::join3(
        store.visits_of_lead(lead_id),
        store.deals_of_lead(lead_id),
        store.stage_changes_of_lead(lead_id),
    )
    .await;
    Ok((visits?, deals?, changes?))
}

/// One entry of the timeline, newest first.
#[derive(Clone, PartialEq)]
enum Entry {
    Visit(Visit),
    Deal(Deal),
    Stage(StageChange),
}

impl Entry {
    fn at(&self, offset: i32) -> i64 {
        match self {
            Entry::Visit(v) => v.started_at,
            Entry::Deal(d) => domain::day_bounds_ms(d.closed_on, offset).0,
            Entry::Stage(c) => c.at,
        }
    }
}

#[component]
fn LeadView(lead: Lead) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let lead_id = lead.id;
    // The lead's visits and deals from IndexedDB's indices, asked again after each change.
    let records = reading(move || {
        state.revision.track();
        records_of(state, lead_id)
    });
    let records = Memo::new(move |_| match records.get() {
        Some(Ok(found)) => found,
        _ => Default::default(),
    });
    let materials = crate::routes::training::item_titles();
    let timeline = Memo::new(move |_| {
        records.with(|(visits, deals, changes)| {
            let mut entries: Vec<Entry> = visits
                .iter()
                .filter(|v| !v.deleted)
                .cloned()
                .map(Entry::Visit)
                .chain(
                    deals
                        .iter()
                        .filter(|d| !d.deleted)
                        .cloned()
                        .map(Entry::Deal),
                )
                .chain(
                    changes
                        .iter()
                        .filter(|c| !c.deleted)
                        .cloned()
                        .map(Entry::Stage),
                )
                .collect();
            let offset = platform::utc_offset_minutes();
            entries.sort_by_key(|e| std::cmp::Reverse(e.at(offset)));
            entries
        })
    });
    let record_ids = Signal::derive(move || {
        records.with(|(visits, deals, _)| {
            visits
                .iter()
                .map(|v| v.id)
                .chain(deals.iter().map(|d| d.id))
                .collect::<Vec<_>>()
        })
    });
    let referrals = Memo::new(move |_| {
        state.book.with(|book| {
            book.iter()
                .filter(|l| !l.deleted && l.referred_by == Some(lead_id))
                .map(|l| (l.id, l.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    let referrer = lead
        .referred_by
        .and_then(|id| state.lead_untracked(id))
        .map(|l| (l.id, l.name));

    let deleted = lead.deleted;
    let trash = {
        let lead = lead.clone();
        Callback::new(move |()| {
            let lead = lead.clone();
            spawn_local(async move {
                match state.trash(lead, Change::Lead, i.now("lead.deleted")).await {
                    // The lead is drawn again as trashed: its one action takes the focus.
                    Ok(()) => focus_when_drawn("[data-testid=restore-lead]"),
                    Err(err) => state.notify(i.now(err.key()), true, None),
                }
            });
        })
    };
    let restore = {
        let lead = lead.clone();
        move |_| {
            let mut restored = lead.clone();
            restored.restore(platform::now_ms());
            spawn_local(async move {
                match state.save(vec![Change::Lead(restored)]).await {
                    Ok(()) => {
                        state.notify(i.now("lead.restored"), false, None);
                        focus_when_drawn("[data-testid=log-visit]");
                    }
                    Err(err) => state.notify(i.now(err.key()), true, None),
                }
            });
        }
    };

    let stage = lead.stage;
    let grade = lead.grade;
    let source = lead.source;
    let intent = lead.intent;
    let follow_up = lead.next_follow_up;
    let expected_close = lead.expected_close;
    let value = lead.expected_value;
    let today = platform::today();
    let overdue = lead.is_overdue(today);
    let name = lead.name.clone();
    let subtitle = [lead.title.clone(), lead.company.clone()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");

    view! {
        <article class="page lead-detail" class:trashed=deleted data-testid="lead-detail">
            <AppBar parent={"/leads".to_string()}>
                <div class="app-bar-title">
                    <h1 data-testid="lead-name">{name}</h1>
                    <p class="subtitle">{subtitle}</p>
                    <p class="chips">
                        <span class=format!("stage stage-{}", stage.as_str())>{move || i.t(stage.key())}</span>
                        <span class=format!("grade grade-{}", grade.as_str())>{move || i.t(grade.key())}</span>
                    </p>
                </div>
                {(!deleted).then(|| view! {
                    <TrashMenu on_confirm=trash question="lead.trash_confirm" testid="delete-lead"/>
                })}
            </AppBar>
            // A trashed lead offers one thing: to restore it (its other actions are hidden).
            {deleted.then(|| view! {
                <div class="banner trashed-note" data-testid="trashed-note">
                    <p>{move || i.t("lead.deleted_note")}</p>
                    <button type="button" class="button primary" data-testid="restore-lead" on:click=restore.clone()>
                        <Icon name=IconName::Restore/>
                        <span>{move || i.t("lead.restore")}</span>
                    </button>
                </div>
            })}
            <RecordNotices lead_id=lead.id records=record_ids/>
            {(!deleted).then(|| view! { <ContactActions lead=lead.clone()/> })}
            {(!deleted).then(|| view! {
                <div class="actions">
                    <A href=format!("/new/visit?lead={lead_id}") attr:class="button primary" attr:data-testid="log-visit">{move || i.t("lead.log_visit")}</A>
                    <A href=format!("/new/deal?lead={lead_id}") attr:class="button" attr:data-testid="add-deal">{move || i.t("lead.add_deal")}</A>
                    <A href=format!("/leads/{lead_id}/edit") attr:class="button" attr:data-testid="edit-lead">{move || i.t("lead.edit")}</A>
                </div>
            })}

            <h2 class="section-title">{move || i.t("lead.details")}</h2>
            <dl class="facts">
                <Fact label="field.next_follow_up" value=follow_up.map(|d| (move || platform::format_date(d, i.locale())).into_any()) highlight=overdue/>
                <Fact label="field.phones" value=(!lead.phones.is_empty()).then(|| lead.phones.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ").into_any())/>
                <Fact label="field.wechat" value=(!lead.wechat.is_empty()).then(|| lead.wechat.clone().into_any())/>
                <Fact label="field.email" value=lead.email.as_ref().map(|e| e.to_string().into_any())/>
                <Fact label="field.address" value=(!lead.address.is_empty()).then(|| lead.address.clone().into_any())/>
                <Fact label="field.source" value=Some((move || i.t(source.key())).into_any())/>
                <Fact label="field.referred_by" value=referrer.map(|(id, name)| view! { <A href=format!("/leads/{id}")>{name}</A> }.into_any())/>
                <Fact label="field.intent" value=intent.map(|v| (move || i.t(v.key())).into_any())/>
                <Fact label="field.expected_value" value=value.map(|m| (move || platform::format_money(&m, i.locale().tag())).into_any())/>
                <Fact label="field.expected_close" value=expected_close.map(|d| (move || platform::format_date(d, i.locale())).into_any())/>
                <Fact label="field.needs" value=(!lead.needs.is_empty()).then(|| lead.needs.clone().into_any())/>
                <Fact label="field.strategy" value=(!lead.strategy.is_empty()).then(|| lead.strategy.clone().into_any())/>
                <Fact label="field.tags" value=(!lead.tags.is_empty()).then(|| lead.tags.join(", ").into_any())/>
                <Fact label="field.notes" value=(!lead.notes.is_empty()).then(|| lead.notes.clone().into_any())/>
            </dl>

            <Owner lead=lead.clone()/>

            <h2 class="section-title">{move || i.t("lead.timeline")}</h2>
            <Show when=move || timeline.with(|t| !t.is_empty())
                fallback=move || view! { <p class="empty">{move || i.t("lead.timeline_empty")}</p> }>
                <ol class="timeline" data-testid="timeline">
                    <For each=move || timeline.get() key=|e| match e {
                        Entry::Visit(v) => (v.id, v.updated_at),
                        Entry::Deal(d) => (d.id, d.updated_at),
                        Entry::Stage(c) => (c.id, c.updated_at),
                    } let:entry>
                        <TimelineEntry entry materials/>
                    </For>
                </ol>
            </Show>

            <Show when=move || referrals.with(|r| !r.is_empty())>
                <h2 class="section-title">{move || i.t("lead.referrals")}</h2>
                <ul class="plain-list">
                    <For each=move || referrals.get() key=|(id, _)| *id let:referral>
                        <li><A href=format!("/leads/{}", referral.0)>{referral.1.clone()}</A></li>
                    </For>
                </ul>
            </Show>
        </article>
    }
}

#[component]
fn Fact(
    label: &'static str,
    value: Option<AnyView>,
    #[prop(optional)] highlight: bool,
) -> impl IntoView {
    let i = use_i18n();
    value.map(|value| {
        view! {
            <div class="fact" class:overdue=highlight>
                <dt>{move || i.t(label)}</dt>
                <dd>{value}</dd>
            </div>
        }
    })
}

/// "Logged by …" for a visit or deal someone else logged (a lead handed over keeps its
/// history with who wrote it), when the team list names them.
fn logged_by(logged_by: Option<domain::Id>) -> Option<impl IntoView> {
    let i = use_i18n();
    let state = use_app();
    let me = state.account.with_untracked(|a| a.as_ref().map(|a| a.id));
    let by = logged_by.filter(|by| Some(*by) != me)?;
    let name = state.team.with_untracked(|team| {
        team.iter()
            .find(|m| m.id == by)
            .map(|m| m.display_name.clone())
    })?;
    Some(view! {
        <span class="muted" data-testid="logged-by">{move || fill(i.t("timeline.logged_by"), &name)}</span>
    })
}

#[component]
fn TimelineEntry(
    entry: Entry,
    materials: Memo<std::collections::HashMap<Id, String>>,
) -> impl IntoView {
    let i = use_i18n();
    match entry {
        Entry::Visit(v) => {
            let by = logged_by(v.logged_by);
            let kind = v.kind;
            let at = v.started_at;
            let stage_after = v.stage_after;
            let duration = v.duration_min;
            let texts: Vec<(&'static str, String)> = [
                ("field.notes", v.notes),
                ("field.needs_discovered", v.needs_discovered),
                ("field.objections", v.objections),
                ("field.outcome", v.outcome),
                ("field.next_step", v.next_step),
            ]
            .into_iter()
            .filter(|(_, text)| !text.is_empty())
            .collect();
            view! {
                <li class="entry visit" data-testid="timeline-visit">
                    <div class="entry-head">
                        <span class="entry-kind">{move || i.t(kind.key())}</span>
                        <time>{move || platform::format_date_time(at, i.locale())}</time>
                        {duration.map(|m| view! { <span class="muted">{move || fill(i.t("visit.minutes"), m)}</span> })}
                        {by}
                        <A href=format!("/visits/{}/edit", v.id) attr:class="link">{move || i.t("lead.edit")}</A>
                    </div>
                    {stage_after.map(|s| view! { <p class=format!("stage stage-{}", s.as_str())>{move || i.t(s.key())}</p> })}
                    {v.check_in.map(|c| view! {
                        <p class="entry-text" data-testid="timeline-checkin">
                            <a href=c.point.map_url() target="_blank" rel="noopener">{move || i.t("checkin.at")}</a>
                            <span class="muted">{format!(" ±{} m", c.accuracy_m.round())}</span>
                        </p>
                    })}
                    {texts.into_iter().map(|(key, text)| view! {
                        <p class="entry-text"><span class="muted">{move || i.t(key)}{move || i.t("punct.colon")}</span>{text}</p>
                    }).collect_view()}
                    {(!v.photos.is_empty()).then(|| view! { <PhotoStrip photos=v.photos.clone()/> })}
                    {(!v.materials.is_empty()).then(|| {
                        let shown = v.materials.clone();
                        view! {
                            <p class="entry-text" data-testid="timeline-materials">
                                <span class="muted">{move || i.t("visit.materials")}{move || i.t("punct.colon")}</span>
                                {shown.into_iter().enumerate().map(|(n, id)| view! {
                                    {(n > 0).then_some("、")}
                                    <A href=format!("/training/{id}")>
                                        {move || materials.with(|m| m.get(&id).cloned()).unwrap_or_else(|| i.t("visit.material_missing").to_string())}
                                    </A>
                                }).collect_view()}
                            </p>
                        }
                    })}
                </li>
            }
            .into_any()
        }
        Entry::Deal(d) => {
            let by = logged_by(d.logged_by);
            let amount = d.amount;
            let status = d.status;
            let closed = d.closed_on;
            view! {
                <li class="entry deal" data-testid="timeline-deal">
                    <div class="entry-head">
                        <span class="entry-kind">{move || i.t(status.key())}</span>
                        <time>{move || platform::format_date(closed, i.locale())}</time>
                        <strong>{move || platform::format_money(&amount, i.locale().tag())}</strong>
                        {by}
                        <A href=format!("/deals/{}/edit", d.id) attr:class="link">{move || i.t("lead.edit")}</A>
                    </div>
                    <p class="entry-text">{d.product.clone()}</p>
                    {(!d.after_sales.is_empty()).then(|| view! {
                        <p class="entry-text"><span class="muted">{move || i.t("field.after_sales")}{move || i.t("punct.colon")}</span>{d.after_sales.clone()}</p>
                    })}
                </li>
            }
            .into_any()
        }
        Entry::Stage(c) => {
            let state = use_app();
            let me = state.account.with_untracked(|a| a.as_ref().map(|a| a.id));
            let who = c.logged_by.filter(|by| Some(*by) != me).map(|by| {
                state.team.with_untracked(|team| {
                    team.iter()
                        .find(|m| m.id == by)
                        .map(|m| m.display_name.clone())
                        .unwrap_or_default()
                })
            });
            let at = c.at;
            let to = c.to;
            let from = c.from;
            let reason = c.reason;
            view! {
                <li class="entry stage-change" data-testid="timeline-stage">
                    <div class="entry-head">
                        <span class="entry-kind">{move || i.t("timeline.stage_change")}</span>
                        <time>{move || platform::format_date_time(at, i.locale())}</time>
                        <span class="muted" data-testid="stage-by">{move || match &who {
                            Some(name) => fill(i.t("timeline.logged_by"), name),
                            None => i.t("timeline.by_me").to_string(),
                        }}</span>
                    </div>
                    <p class="entry-text" data-testid="stage-move">
                        {match from {
                            Some(s) => view! { <span class=format!("stage stage-{}", s.as_str())>{move || i.t(s.key())}</span><span aria-hidden="true">" → "</span><span class="visually-hidden">{move || i.t("timeline.to")}</span> }.into_any(),
                            None => view! { <span class="muted">{move || i.t("timeline.created_in")}</span> }.into_any(),
                        }}
                        <span class=format!("stage stage-{}", to.as_str())>{move || i.t(to.key())}</span>
                    </p>
                    {reason.map(|r| view! {
                        <p class="entry-text"><span class="muted">{move || i.t("pipeline.reason")}{move || i.t("punct.colon")}</span>{move || i.t(r.key())}</p>
                    })}
                </li>
            }
            .into_any()
        }
    }
}
