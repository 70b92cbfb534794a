//! Today 今日: overdue and due follow-ups, today's visits (done and planned), and the two
//! quick actions. Each follow-up row says when in words ("逾期 2 天", "今天") and carries its
//! actions: call, and log the visit (the quick log with the lead chosen, back here after
//! Save, where the lead has left the list). A manager sees the team's rows grouped by rep.
//!
//! Read from IndexedDB's indices (follow-up date, visit time), not from the whole book, so
//! Today is the first screen up at start-up however large the book is.

use chrono::NaiveDate;
use domain::{Id, Lead, Visit};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::icons::{Icon, IconName};
use crate::components::pwa::InstallHint;
use crate::i18n::{count, due_day, use_i18n};
use crate::platform;
use crate::routes::reading;
use crate::routes::reports::TargetProgress;
use crate::routes::training::TrainingToday;
use crate::state::{use_app, AppState};
use crate::store::StoreError;

/// Overdue leads listed on Today; the rest are a tap away in Leads (sorted by follow-up).
const OVERDUE_SHOWN: usize = 30;

/// What Today shows.
#[derive(Clone, Debug, Default, PartialEq)]
struct Agenda {
    overdue: Vec<Lead>,
    /// Overdue leads not listed.
    more_overdue: usize,
    due: Vec<Lead>,
    /// Today's visits with the name of their lead.
    visits: Vec<(Visit, String)>,
}

async fn read_agenda(state: AppState, today: NaiveDate) -> Result<Agenda, StoreError> {
    let store = state.store()?;
    // The oldest overdue leads and the count of the rest, from an index that holds only
    // the leads Today may list: the read does not grow with the book or the backlog.
    // Both reads are asked before either answer is awaited (one wait instead of two
    // while the book's chunks are read at start-up).
    let (start, end) = domain::day_bounds_ms(today, platform::utc_offset_minutes());
    let (found, visits) = futures::future::join(
        store.agenda(today, OVERDUE_SHOWN as u32),
        store.visits_between(start, end),
    )
    .await;
    let found = found?;
    let more_overdue = found.overdue_total.saturating_sub(found.overdue.len());
    let mut overdue = found.overdue;
    overdue
        .sort_by(|a, b| (a.next_follow_up, &a.name, a.id).cmp(&(b.next_follow_up, &b.name, b.id)));
    let mut due = found.due;
    due.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let mut visits: Vec<Visit> = visits?.into_iter().filter(|v| !v.deleted).collect();
    visits.sort_by_key(|v| v.started_at);
    let mut lead_ids: Vec<Id> = visits.iter().map(|v| v.lead_id).collect();
    lead_ids.sort();
    lead_ids.dedup();
    let names: std::collections::HashMap<Id, String> = store
        .leads_by_id(&lead_ids)
        .await?
        .into_iter()
        .filter_map(|(id, lead)| lead.map(|l| (id, l.name)))
        .collect();
    let visits = visits
        .into_iter()
        .map(|v| {
            let name = names.get(&v.lead_id).cloned().unwrap_or_default();
            (v, name)
        })
        .collect();
    Ok(Agenda {
        overdue,
        more_overdue,
        due,
        visits,
    })
}

thread_local! {
    static TODAY_MARKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[component]
pub fn Today() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let today = platform::today();
    // Asked again after every change of a record (a save here, a pull, another tab).
    let read = reading(move || {
        state.revision.track();
        read_agenda(state, today)
    });
    let agenda = Memo::new(move |_| match read.get() {
        Some(Ok(agenda)) => Some(agenda),
        _ => None,
    });
    let failed = move || matches!(read.get(), Some(Err(_)));
    let overdue =
        move || agenda.with(|a| a.as_ref().map(|a| a.overdue.clone()).unwrap_or_default());
    let due = move || agenda.with(|a| a.as_ref().map(|a| a.due.clone()).unwrap_or_default());
    let visits = move || agenda.with(|a| a.as_ref().map(|a| a.visits.clone()).unwrap_or_default());
    let more_overdue = move || agenda.with(|a| a.as_ref().map_or(0, |a| a.more_overdue));
    let any_overdue = move || agenda.with(|a| a.as_ref().is_some_and(|a| !a.overdue.is_empty()));
    let me = state.account.with_untracked(|a| a.as_ref().map(|a| a.id));
    // Another rep's name (a manager's Today shows the team's visits); `None` for mine.
    let owner_name = move |owner: Option<Id>| {
        let owner = owner.filter(|o| Some(*o) != me)?;
        state.team.with_untracked(|team| {
            team.iter()
                .find(|m| m.id == owner)
                .map(|m| m.display_name.clone())
        })
    };

    // `fb:today` for `cargo xtask bench`: once per page load, after the lists first rendered
    // with what IndexedDB holds.
    Effect::new(move |_| {
        if agenda.with(Option::is_some) && !TODAY_MARKED.with(|m| m.replace(true)) {
            platform::mark("fb:today");
        }
    });
    view! {
        <section class="page today">
            <header class="page-head">
                <h1>{move || i.t("today.title")}</h1>
                <p class="subtitle">{move || platform::format_date(today, i.locale())}</p>
            </header>
            <div class="quick-actions">
                <A href="/new/visit" attr:class="button primary" attr:data-testid="quick-visit"><Icon name=IconName::Visit/>{move || i.t("today.add_visit")}</A>
                <A href="/new/lead" attr:class="button" attr:data-testid="quick-lead"><Icon name=IconName::Add/>{move || i.t("today.add_lead")}</A>
            </div>
            <InstallHint/>
            <TargetProgress/>
            <Show when=failed>
                <p class="banner error" role="alert">{move || i.t("error.storage")}</p>
            </Show>

            <Show when=move || agenda.with(|a| a.as_ref().is_some_and(|a| !a.overdue.is_empty()))>
                <h2 class="section-title overdue-title">{move || i.t("today.overdue")}</h2>
                <Grouped leads=Signal::derive(overdue) testid="overdue-list"/>
                <Show when=move || { more_overdue() > 0 }>
                    <p class="more">
                        <A href="/leads" attr:data-testid="more-overdue">
                            {move || count(i.locale(), "today.more_overdue", more_overdue() as u64)}
                        </A>
                    </p>
                </Show>
            </Show>

            <h2 class="section-title">{move || i.t("today.due")}</h2>
            // While the first read is under way nothing is said ("nothing due" would flash).
            <Show when=move || agenda.with(|a| a.as_ref().is_none_or(|a| !a.due.is_empty()))
                fallback=move || view! {
                    <p class="empty" data-testid="nothing-due">{move || if any_overdue() {
                        i.t("today.none_due_today")
                    } else {
                        i.t("today.nothing_due")
                    }}</p>
                }>
                <Grouped leads=Signal::derive(due) testid="due-list"/>
            </Show>

            <h2 class="section-title">{move || i.t("today.visits")}</h2>
            <Show when=move || agenda.with(|a| a.as_ref().is_none_or(|a| !a.visits.is_empty()))
                fallback=move || view! { <p class="empty">{move || i.t("today.no_visits")}</p> }>
                <ul class="list" data-testid="today-visits">
                    <For each=visits key=|(v, name)| (v.id, v.updated_at, name.clone()) let:entry>
                        {
                            let (visit, lead_name) = entry;
                            let href = format!("/leads/{}", visit.lead_id);
                            let kind = visit.kind;
                            let at = visit.started_at;
                            let planned = at > platform::now_ms();
                            let rep = owner_name(visit.owner);
                            view! {
                                <li class="visit-row" class:planned=planned>
                                    <A href=href attr:class="row-link">
                                        <span class="row-main">
                                            <span class="time">{move || platform::format_time(at, i.locale())}</span>
                                            <span class="lead-name">{lead_name.clone()}</span>
                                            {planned.then(|| view! { <span class="badge" data-testid="planned">{move || i.t("today.planned")}</span> })}
                                        </span>
                                        <span class="row-sub">
                                            <span>{move || i.t(kind.key())}</span>
                                            {rep.map(|name| view! { <span class="owner-chip">{name}</span> })}
                                        </span>
                                    </A>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
            <TrainingToday/>
        </section>
    }
}

/// A follow-up list. For a manager whose list holds other reps' leads, one group per rep
/// (their own first), each headed by the rep's name and count; for a rep, one plain list.
#[component]
fn Grouped(leads: Signal<Vec<Lead>>, testid: &'static str) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let me = state.account.with_untracked(|a| a.as_ref().map(|a| a.id));
    // `None` is the signed-in person (a lead saved here before its first sync has no owner).
    let whose = move |lead: &Lead| lead.owner.filter(|o| Some(*o) != me);
    let groups = Memo::new(move |_| {
        let leads = leads.get();
        let mut owners: Vec<Option<Id>> = Vec::new();
        for lead in &leads {
            if !owners.contains(&whose(lead)) {
                owners.push(whose(lead));
            }
        }
        let name = |owner: Option<Id>| {
            owner.map(|owner| {
                state.team.with(|team| {
                    team.iter()
                        .find(|m| m.id == owner)
                        .map(|m| m.display_name.clone())
                        .unwrap_or_default()
                })
            })
        };
        // Mine first, then the reps by name.
        let mut groups: Vec<(Option<Id>, Option<String>, Vec<Lead>)> = owners
            .into_iter()
            .map(|owner| {
                let theirs: Vec<Lead> = leads
                    .iter()
                    .filter(|l| whose(l) == owner)
                    .cloned()
                    .collect();
                (owner, name(owner), theirs)
            })
            .collect();
        groups.sort_by(|a, b| (a.0.is_some(), &a.1).cmp(&(b.0.is_some(), &b.1)));
        groups
    });
    let single = move || groups.with(|g| g.iter().all(|(owner, ..)| owner.is_none()));
    view! {
        <Show when=single fallback=move || view! {
            <div class="rep-groups" data-testid=testid>
                <For each=move || groups.get() key=|(owner, name, leads)| (*owner, name.clone(), leads.iter().map(|l| (l.id, l.updated_at)).collect::<Vec<_>>()) let:group>
                    {
                        let (owner, name, leads) = group;
                        let n = leads.len() as u64;
                        view! {
                            <section class="rep-group" data-testid="rep-group" data-owner=owner.map(|o| o.to_string())>
                                <h3 class="rep-name">
                                    {move || name.clone().unwrap_or_else(|| i.t("today.mine").to_string())}
                                    <span class="rep-count">{move || count(i.locale(), "today.follow_ups", n)}</span>
                                </h3>
                                <ul class="list">
                                    {leads.into_iter().map(|lead| view! { <TodayRow lead/> }).collect_view()}
                                </ul>
                            </section>
                        }
                    }
                </For>
            </div>
        }>
            <ul class="list" data-testid=testid>
                <For each=move || leads.get() key=|l| (l.id, l.updated_at) let:lead>
                    <TodayRow lead/>
                </For>
            </ul>
        </Show>
    }
}

/// A lead to follow up: name, company, when (in words), and the two things a rep does from
/// here: call the main number, and log the visit.
#[component]
fn TodayRow(lead: Lead) -> impl IntoView {
    let i = use_i18n();
    let today = platform::today();
    let href = format!("/leads/{}", lead.id);
    let log = format!("/new/visit?lead={}&return=today", lead.id);
    let overdue = lead.is_overdue(today);
    let when = lead.next_follow_up;
    let company = lead.company.clone();
    let name = lead.name.clone();
    let call = lead.phones.first().map(|p| p.tel_uri());
    let grade = lead.grade;
    let label_name = name.clone();
    view! {
        <li class="lead-row today-row" data-testid="lead-row">
            <A href=href attr:class="row-link">
                <span class="row-main">
                    <span class="lead-name">{name.clone()}</span>
                    <span class=format!("grade grade-{}", grade.as_str())
                        title=move || i.t("field.grade")>{move || i.t(grade.key())}</span>
                </span>
                <span class="row-sub">
                    {(!company.is_empty()).then(|| view! { <span class="company">{company.clone()}</span> })}
                    {when.map(|date| view! {
                        <span class="follow-up" class:overdue=overdue class:due=!overdue data-testid="when">
                            {move || due_day(i.locale(), date, today)}
                        </span>
                    })}
                </span>
            </A>
            <span class="row-actions">
                {call.map(|uri| {
                    let label_name = label_name.clone();
                    view! {
                        <a class="button small" href=uri data-testid="row-call"
                            aria-label=move || crate::i18n::fill(i.t("today.call_named"), &label_name)>
                            <Icon name=IconName::Phone/>{move || i.t("today.call")}
                        </a>
                    }
                })}
                <A href=log attr:class="button small primary" attr:data-testid="row-log"
                    attr:aria-label=move || crate::i18n::fill(i.t("today.log_named"), &label_name)>
                    <Icon name=IconName::Visit/>{move || i.t("today.log")}
                </A>
            </span>
        </li>
    }
}
