//! Leads 客户: instant search (name, company, phone, tag, pinyin initials), filters as a row of
//! chips whose values are chosen in a bottom sheet, and sorts.
//!
//! The screen is compact on purpose: title and new-lead button on one line, the search, one
//! row of chips, then the rows, so a phone shows the first seven leads without scrolling.

use domain::{Grade, Id, Lead, LeadQuery, LeadSort, Source, Stage};
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::form::Choice;
use crate::components::icons::{Icon, IconName};
use crate::components::people::team_reps;
use crate::components::LeadRow;
use crate::i18n::{count, use_i18n, I18n};
use crate::state::use_app;

/// How many rows the list renders before "Show more": a keystroke re-renders at most these.
const PAGE: usize = 50;

/// What a chip of the filter row chooses; the open bottom sheet lists its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Facet {
    Stage,
    Grade,
    Source,
    Tag,
    Owner,
    Sort,
}

impl Facet {
    /// Managers see the owner chip too.
    const ALL: [Facet; 6] = [
        Facet::Stage,
        Facet::Grade,
        Facet::Source,
        Facet::Tag,
        Facet::Owner,
        Facet::Sort,
    ];

    fn label_key(self) -> &'static str {
        match self {
            Facet::Stage => "leads.filter_stage",
            Facet::Grade => "leads.filter_grade",
            Facet::Source => "leads.filter_source",
            Facet::Tag => "leads.filter_tag",
            Facet::Owner => "leads.filter_owner",
            Facet::Sort => "leads.sort",
        }
    }

    /// The chip's test id (the specs' names from the `<select>` filters it replaced).
    fn testid(self) -> &'static str {
        match self {
            Facet::Stage => "filter-stage",
            Facet::Grade => "filter-grade",
            Facet::Source => "filter-source",
            Facet::Tag => "filter-tag",
            Facet::Owner => "filter-owner",
            Facet::Sort => "lead-sort",
        }
    }

    /// The chip's element id, where the focus returns when its sheet closes.
    fn chip_id(self) -> &'static str {
        match self {
            Facet::Stage => "chip-stage",
            Facet::Grade => "chip-grade",
            Facet::Source => "chip-source",
            Facet::Tag => "chip-tag",
            Facet::Owner => "chip-owner",
            Facet::Sort => "chip-sort",
        }
    }
}

/// One value a sheet offers: what the query becomes when it is chosen.
#[derive(Clone, Debug, PartialEq)]
struct SheetChoice {
    /// `data-value` (empty: "all").
    value: String,
    label: String,
    chosen: bool,
    apply: Apply,
}

#[derive(Clone, Debug, PartialEq)]
enum Apply {
    Stage(Option<Stage>),
    Grade(Option<Grade>),
    Source(Option<Source>),
    Tag(Option<String>),
    Owner(Option<Id>),
    Sort(LeadSort),
}

impl Apply {
    fn to(&self, q: &mut LeadQuery) {
        match self.clone() {
            Apply::Stage(v) => q.stage = v,
            Apply::Grade(v) => q.grade = v,
            Apply::Source(v) => q.source = v,
            Apply::Tag(v) => q.tag = v,
            Apply::Owner(v) => q.owner = v,
            Apply::Sort(v) => q.sort = v,
        }
    }
}

/// The values of an enum filter, "all" first.
fn enum_options<E: Choice>(
    i: I18n,
    options: &[E],
    current: Option<E>,
    wrap: fn(Option<E>) -> Apply,
) -> Vec<SheetChoice> {
    std::iter::once(SheetChoice {
        value: String::new(),
        label: i.t("leads.any").to_string(),
        chosen: current.is_none(),
        apply: wrap(None),
    })
    .chain(options.iter().map(|opt| SheetChoice {
        value: opt.value().to_string(),
        label: i.t(opt.label_key()).to_string(),
        chosen: current == Some(*opt),
        apply: wrap(Some(*opt)),
    }))
    .collect()
}

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
    let active = Memo::new(move |_| query.with(LeadQuery::active_filters));
    let manager = Memo::new(move |_| state.is_manager());
    let reps = team_reps();
    // Every tag in use, for the tag filter, in the order people would look for them. Asked
    // only while the tag sheet is open: it walks the whole book.
    let open = RwSignal::new(None::<Facet>);
    let tags = Memo::new(move |_| {
        if open.get() != Some(Facet::Tag) {
            return Vec::new();
        }
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

    // What each chip says: its name, and the chosen value when one is.
    let chip_value = move |facet: Facet| -> Option<String> {
        query.with(|q| match facet {
            Facet::Stage => q.stage.map(|v| i.t(v.key()).to_string()),
            Facet::Grade => q.grade.map(|v| i.t(v.key()).to_string()),
            Facet::Source => q.source.map(|v| i.t(v.key()).to_string()),
            Facet::Tag => q.tag.clone(),
            Facet::Owner => q.owner.map(|o| {
                reps.with(|reps| {
                    reps.iter()
                        .find(|m| m.id == o)
                        .map(|m| m.display_name.clone())
                        .unwrap_or_else(|| o.to_string())
                })
            }),
            Facet::Sort => Some(i.t(q.sort.key()).to_string()),
        })
    };
    let sheet_options = Memo::new(move |_| {
        let Some(facet) = open.get() else {
            return Vec::new();
        };
        let q = query.get();
        match facet {
            Facet::Stage => enum_options(i, &Stage::ALL, q.stage, Apply::Stage),
            Facet::Grade => enum_options(i, &Grade::ALL, q.grade, Apply::Grade),
            Facet::Source => enum_options(i, &Source::ALL, q.source, Apply::Source),
            Facet::Tag => {
                let current = q.tag.as_deref().map(str::to_lowercase);
                std::iter::once(SheetChoice {
                    value: String::new(),
                    label: i.t("leads.any").to_string(),
                    chosen: current.is_none(),
                    apply: Apply::Tag(None),
                })
                .chain(tags.get().into_iter().map(|tag| SheetChoice {
                    value: tag.clone(),
                    chosen: current.as_deref() == Some(tag.to_lowercase().as_str()),
                    label: tag.clone(),
                    apply: Apply::Tag(Some(tag)),
                }))
                .collect()
            }
            Facet::Owner => std::iter::once(SheetChoice {
                value: String::new(),
                label: i.t("leads.any").to_string(),
                chosen: q.owner.is_none(),
                apply: Apply::Owner(None),
            })
            .chain(reps.get().into_iter().map(|m| SheetChoice {
                value: m.id.to_string(),
                label: m.display_name.clone(),
                chosen: q.owner == Some(m.id),
                apply: Apply::Owner(Some(m.id)),
            }))
            .collect(),
            Facet::Sort => LeadSort::ALL
                .iter()
                .map(|s| SheetChoice {
                    value: s.as_str().to_string(),
                    label: i.t(s.key()).to_string(),
                    chosen: q.sort == *s,
                    apply: Apply::Sort(*s),
                })
                .collect(),
        }
    });

    let dialog = NodeRef::<html::Dialog>::new();
    let open_sheet = move |facet: Facet| {
        open.set(Some(facet));
        if let Some(dialog) = dialog.get_untracked() {
            if !dialog.open() {
                let _ = dialog.show_modal();
            }
        }
    };
    let close_sheet = move || {
        if let Some(dialog) = dialog.get_untracked() {
            dialog.close();
        }
    };
    // Escape, a choice or the close button all end in the dialog's `close` event: the
    // focus goes back to the chip that opened it.
    let on_closed = move |_| {
        let facet = open.get_untracked();
        open.set(None);
        if let Some(facet) = facet {
            crate::components::focus::focus_element(facet.chip_id());
        }
    };
    let choose = move |apply: Apply| {
        shown.set(PAGE);
        query.update(|q| apply.to(q));
        close_sheet();
    };
    let clear = move |_| {
        shown.set(PAGE);
        query.update(|q| *q = q.without_filters());
    };

    view! {
        <section class="page leads">
            <header class="page-head leads-head">
                <h1>{move || i.t("leads.title")}</h1>
                <A href="/new/lead" attr:class="button primary" attr:data-testid="new-lead"><Icon name=IconName::Add/>{move || i.t("leads.new")}</A>
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
            <div class="filter-chips" role="group" aria-label=move || i.t("leads.filters") data-testid="filter-chips">
                <Show when=move || { active.get() > 0 }>
                    <button type="button" class="chip clear" data-testid="filter-clear" on:click=clear>
                        {move || i.t("leads.filters_clear")}
                        <span class="chip-count" data-testid="filter-count">{move || active.get()}</span>
                    </button>
                </Show>
                {Facet::ALL.into_iter().map(|facet| {
                    let visible = move || facet != Facet::Owner || manager.get();
                    view! {
                        <Show when=visible>
                            <button type="button" class="chip" id=facet.chip_id() data-testid=facet.testid()
                                class:active=move || { facet != Facet::Sort && chip_value(facet).is_some() }
                                aria-haspopup="dialog"
                                aria-expanded=move || if open.get() == Some(facet) { "true" } else { "false" }
                                on:click=move |_| open_sheet(facet)>
                                {move || match chip_value(facet) {
                                    Some(value) => format!("{}{}{}", i.t(facet.label_key()), i.t("leads.chip_separator"), value),
                                    None => i.t(facet.label_key()).to_string(),
                                }}
                            </button>
                        </Show>
                    }
                }).collect_view()}
            </div>
            <dialog node_ref=dialog class="bottom-sheet" data-testid="filter-sheet" aria-labelledby="filter-sheet-title"
                on:close=on_closed
                on:click=move |ev| {
                    // A tap on the backdrop (outside the sheet's box) lands on the dialog itself.
                    let on_backdrop = event_target::<web_sys::Element>(&ev).tag_name().eq_ignore_ascii_case("dialog");
                    if on_backdrop {
                        close_sheet();
                    }
                }>
                <div class="sheet-body">
                    <div class="sheet-head">
                        <h2 id="filter-sheet-title">{move || open.get().map(|f| i.t(f.label_key())).unwrap_or_default()}</h2>
                        <button type="button" class="button" data-testid="sheet-close" on:click=move |_| close_sheet()>
                            {move || i.t("leads.sheet_done")}
                        </button>
                    </div>
                    <ul class="sheet-options">
                        <For each=move || sheet_options.get() key=|o| (o.value.clone(), o.chosen, o.label.clone()) let:option>
                            {
                                let apply = option.apply.clone();
                                view! {
                                    <li>
                                        <button type="button" class="sheet-option" data-testid="filter-option"
                                            data-value=option.value.clone()
                                            aria-pressed=if option.chosen { "true" } else { "false" }
                                            on:click=move |_| choose(apply.clone())>
                                            {option.label.clone()}
                                        </button>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                </div>
            </dialog>
            <Show when=move || state.book_ready.get()
                fallback=move || view! { <p class="empty" role="status">{move || i.t("book.loading")}</p> }>
            <p class="count" data-testid="lead-count">{move || count(i.locale(), "leads.count", matches.get() as u64)}</p>
            <Show when=move || { total.get() > 0 }
                fallback=move || view! { <p class="empty">{move || i.t("leads.empty")}</p> }>
                <Show when=move || { matches.get() > 0 }
                    fallback=move || view! { <p class="empty">{move || i.t("leads.no_match")}</p> }>
                    <ul class="list lead-list" data-testid="lead-list">
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
