//! Today 今日: overdue and due follow-ups, today's visits, and the two quick actions.

use domain::agenda;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::pwa::InstallHint;
use crate::components::LeadRow;
use crate::i18n::use_i18n;
use crate::platform;
use crate::state::use_app;

thread_local! {
    static TODAY_MARKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[component]
pub fn Today() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let today = platform::today();
    let due = Memo::new(move |_| {
        state.leads.with(|leads| {
            let agenda = agenda(leads, today);
            (
                agenda.overdue.into_iter().cloned().collect::<Vec<_>>(),
                agenda.due_today.into_iter().cloned().collect::<Vec<_>>(),
            )
        })
    });
    let todays_visits = Memo::new(move |_| {
        let (start, end) = domain::day_bounds_ms(today, platform::utc_offset_minutes());
        let mut visits: Vec<_> = state.visits.with(|all| {
            all.iter()
                .filter(|v| !v.deleted && v.started_at >= start && v.started_at < end)
                .cloned()
                .collect()
        });
        visits.sort_by_key(|v| v.started_at);
        visits
    });

    // `fb:today` for `cargo xtask bench`: once per page load, after the lists first rendered.
    Effect::new(move |_| {
        if state.load.get() == crate::state::LoadState::Ready
            && !TODAY_MARKED.with(|m| m.replace(true))
        {
            platform::mark("fb:today");
        }
    });

    view! {
        <section class="page today">
            <header class="page-head">
                <h1>{move || i.t("today.title")}</h1>
                <p class="subtitle">{move || platform::format_date(today, i.locale().tag())}</p>
            </header>
            <div class="quick-actions">
                <A href="/new/visit" attr:class="button primary" attr:data-testid="quick-visit">{move || i.t("today.add_visit")}</A>
                <A href="/new/lead" attr:class="button" attr:data-testid="quick-lead">{move || i.t("today.add_lead")}</A>
            </div>
            <InstallHint/>

            <Show when=move || due.with(|(o, _)| !o.is_empty())>
                <h2 class="section-title overdue-title">{move || i.t("today.overdue")}</h2>
                <ul class="list" data-testid="overdue-list">
                    <For each=move || due.get().0 key=|l| (l.id, l.updated_at) let:lead>
                        <LeadRow lead/>
                    </For>
                </ul>
            </Show>

            <h2 class="section-title">{move || i.t("today.due")}</h2>
            <Show when=move || due.with(|(o, d)| !o.is_empty() || !d.is_empty())
                fallback=move || view! { <p class="empty">{move || i.t("today.nothing_due")}</p> }>
                <ul class="list" data-testid="due-list">
                    <For each=move || due.get().1 key=|l| (l.id, l.updated_at) let:lead>
                        <LeadRow lead/>
                    </For>
                </ul>
            </Show>

            <h2 class="section-title">{move || i.t("today.visits")}</h2>
            <Show when=move || todays_visits.with(|v| !v.is_empty())
                fallback=move || view! { <p class="empty">{move || i.t("today.no_visits")}</p> }>
                <ul class="list" data-testid="today-visits">
                    <For each=move || todays_visits.get() key=|v| (v.id, v.updated_at) let:visit>
                        {
                            let lead_name = state.lead(visit.lead_id).map(|l| l.name).unwrap_or_default();
                            let href = format!("/leads/{}", visit.lead_id);
                            let kind = visit.kind;
                            let at = visit.started_at;
                            view! {
                                <li class="visit-row">
                                    <A href=href attr:class="row-link">
                                        <span class="row-main">
                                            <span class="time">{move || platform::format_time(at, i.locale().tag())}</span>
                                            <span class="lead-name">{lead_name.clone()}</span>
                                        </span>
                                        <span class="row-sub">{move || i.t(kind.key())}</span>
                                    </A>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
        </section>
    }
}
