//! Leads 客户: instant search (name, company, phone, tag, pinyin initials), filters, sorts.

use domain::{Grade, Lead, LeadQuery, LeadSort, Source, Stage};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::form::Choice;
use crate::components::LeadRow;
use crate::i18n::{count, use_i18n};
use crate::state::use_app;

/// How many rows the list renders before "Show more": a keystroke re-renders at most these.
const PAGE: usize = 50;

#[component]
pub fn Leads() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let query = state.lead_query;
    let shown = RwSignal::new(PAGE);

    // The book's index answers a keystroke from the leads holding the query's rarest
    // character; only the first `shown` matches are sorted and cloned.
    let results = Memo::new(move |_| {
        let limit = shown.get();
        state.book.with(|book| {
            query.with(|q| {
                let found = book.query(q, limit);
                let leads: Vec<Lead> = found.leads.into_iter().cloned().collect();
                (found.total, leads)
            })
        })
    });
    let matches = Memo::new(move |_| results.with(|(total, _)| *total));
    let total = Memo::new(move |_| state.book.with(|b| b.iter().filter(|l| !l.deleted).count()));
    // Every tag in use, for the tag filter, in the order people would look for them.
    let tags = Memo::new(move |_| {
        let mut tags: Vec<String> = state.book.with(|book| {
            book.iter()
                .filter(|l| !l.deleted)
                .flat_map(|l| l.tags.iter().cloned())
                .collect()
        });
        tags.sort_by_key(|t| t.to_lowercase());
        tags.dedup_by_key(|t| t.to_lowercase());
        tags
    });

    view! {
        <section class="page leads">
            <header class="page-head">
                <h1>{move || i.t("leads.title")}</h1>
                <A href="/new/lead" attr:class="button primary" attr:data-testid="new-lead">{move || i.t("leads.new")}</A>
            </header>
            <div class="search">
                <label for="lead-search" class="visually-hidden">{move || i.t("leads.search_label")}</label>
                <input id="lead-search" type="search" data-testid="lead-search" autocomplete="off"
                    placeholder=move || i.t("leads.search")
                    prop:value=move || query.with(|q| q.text.clone())
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        shown.set(PAGE);
                        query.update(|q| q.text = text);
                    }/>
            </div>
            <div class="filters">
                <FilterSelect label="leads.filter_stage" id="filter-stage" options=&Stage::ALL
                    get=|q| q.stage set=|q, v| q.stage = v/>
                <FilterSelect label="leads.filter_grade" id="filter-grade" options=&Grade::ALL
                    get=|q| q.grade set=|q, v| q.grade = v/>
                <FilterSelect label="leads.filter_source" id="filter-source" options=&Source::ALL
                    get=|q| q.source set=|q, v| q.source = v/>
                <div class="filter">
                    <label for="filter-tag">{move || i.t("leads.filter_tag")}</label>
                    <select id="filter-tag" data-testid="filter-tag" on:change=move |ev| {
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
                <div class="filter">
                    <label for="lead-sort">{move || i.t("leads.sort")}</label>
                    <select id="lead-sort" data-testid="lead-sort"
                        on:change=move |ev| {
                            let raw = event_target_value(&ev);
                            if let Ok(sort) = raw.parse::<LeadSort>() {
                                query.update(|q| q.sort = sort);
                            }
                        }>
                        {LeadSort::ALL.iter().map(|s| {
                            let s = *s;
                            view! {
                                <option value=s.as_str() selected=move || query.with(|q| q.sort == s)>
                                    {move || i.t(s.key())}
                                </option>
                            }
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <Show when=move || state.book_ready.get()
                fallback=move || view! { <p class="empty" role="status">{move || i.t("book.loading")}</p> }>
            <p class="count" data-testid="lead-count">{move || count(i.locale(), "leads.count", matches.get() as u64)}</p>
            <Show when=move || { total.get() > 0 }
                fallback=move || view! { <p class="empty">{move || i.t("leads.empty")}</p> }>
                <Show when=move || { matches.get() > 0 }
                    fallback=move || view! { <p class="empty">{move || i.t("leads.no_match")}</p> }>
                    <ul class="list" data-testid="lead-list">
                        <For each=move || results.with(|(_, leads)| leads.clone())
                            key=|l| (l.id, l.updated_at) let:lead>
                            <LeadRow lead/>
                        </For>
                    </ul>
                    <Show when=move || { matches.get() > shown.get() }>
                        <button type="button" class="button" on:click=move |_| shown.update(|n| *n += PAGE)>
                            {move || i.t("leads.show_more")}
                        </button>
                    </Show>
                </Show>
            </Show>
            </Show>
        </section>
    }
}

/// A filter over one enum of the lead query; the empty choice means "all".
#[component]
fn FilterSelect<E>(
    label: &'static str,
    id: &'static str,
    options: &'static [E],
    get: fn(&LeadQuery) -> Option<E>,
    set: fn(&mut LeadQuery, Option<E>),
) -> impl IntoView
where
    E: Choice,
{
    let i = use_i18n();
    let query = use_app().lead_query;
    view! {
        <div class="filter">
            <label for=id>{move || i.t(label)}</label>
            <select id=id data-testid=id on:change=move |ev| {
                let value = event_target_value(&ev).parse::<E>().ok();
                query.update(|q| set(q, value));
            }>
                <option value="" selected=move || query.with(|q| get(q).is_none())>{move || i.t("leads.any")}</option>
                {options.iter().map(|opt| {
                    let opt = *opt;
                    view! {
                        <option value=opt.value() selected=move || query.with(|q| get(q) == Some(opt))>
                            {move || i.t(opt.label_key())}
                        </option>
                    }
                }).collect_view()}
            </select>
        </div>
    }
}
