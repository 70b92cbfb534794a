//! 销售漏斗 (`/pipeline`): the open leads by stage with their counts and expected value
//! (amount × the stage's probability, which the team's managers set in Settings). On a
//! laptop a board: drag a card to another column; on a phone the columns stack into a list.
//! Everywhere each card has a stage menu, the keyboard's (and the thumb's) way to move it.
//! A move to 成交 or 流失 asks why. Every move is saved with its [`domain::StageChange`],
//! so it shows on the lead's timeline and in the funnel.

use domain::{Currency, Id, Lead, Money, Probabilities, Stage, StageReason, OPEN_STAGES};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::components::app_bar::AppBar;
use crate::components::stage_reason::{stage_change_edit, ReasonField};
use crate::components::team_settings::team_settings;
use crate::i18n::{count, fill, use_i18n};
use crate::platform;
use crate::routes::lead_detail::BookLoading;
use crate::routes::reading;
use crate::routes::reports::team_reps;
use crate::state::{use_app, AppState};
use crate::store::{Change, Edit};

/// Cards drawn per column (the largest expected values first); the rest are counted, and a
/// tap away in the lead list filtered by the stage.
const CARDS_SHOWN: usize = 24;

/// The board's columns: the open stages, then won and lost (a drop target each).
const COLUMNS: [Stage; 6] = [
    OPEN_STAGES[0],
    OPEN_STAGES[1],
    OPEN_STAGES[2],
    OPEN_STAGES[3],
    Stage::Won,
    Stage::Lost,
];

/// Moves `lead` to `stage` with `reason`, saved with its stage change.
async fn move_lead(state: AppState, lead: Lead, stage: Stage, reason: Option<StageReason>) -> bool {
    let i = crate::i18n::I18n(state.locale);
    let mut moved = lead.clone();
    moved.stage = stage;
    moved.updated_at = platform::now_ms();
    let change = stage_change_edit(Some(&lead), &moved, reason);
    let edits: Vec<Edit> = std::iter::once(Edit::from(Change::Lead(moved)))
        .chain(change)
        .collect();
    match state.save_edits(edits).await {
        Ok(()) => {
            state.notify(
                fill(i.now("pipeline.moved"), i.now(stage.key())),
                false,
                None,
            );
            true
        }
        Err(err) => {
            state.notify(i.now(err.key()), true, None);
            false
        }
    }
}

#[component]
pub fn Pipeline() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let manager = state.is_manager();
    let owner = RwSignal::new(None::<Id>);
    let settings = reading(move || {
        state.revision.track();
        team_settings(state)
    });
    let chances = Memo::new(move |_| {
        settings
            .get()
            .flatten()
            .map(|s| s.probabilities())
            .unwrap_or_default()
    });
    // A move to won or lost waits here for its reason.
    let pending = RwSignal::new(None::<(Lead, Stage)>);
    let request_move = Callback::new(move |(id, stage): (Id, Stage)| {
        let Some(lead) = state.lead_untracked(id) else {
            return;
        };
        if lead.stage == stage {
            return;
        }
        if domain::takes_reason(stage) {
            pending.set(Some((lead, stage)));
        } else {
            spawn_local(async move {
                move_lead(state, lead, stage, None).await;
            });
        }
    });
    let summary = Memo::new(move |_| {
        let owner = owner.get();
        let chances = chances.get();
        state.book.with(|book| {
            let leads = book.iter().filter(|l| owner.is_none() || l.owner == owner);
            domain::pipeline(leads, &chances)
        })
    });
    let forecast = Memo::new(move |_| summary.with(|s| domain::forecast(s)));
    let on_owner = move |ev: leptos::ev::Event| {
        owner.set(Id::parse(&event_target_value(&ev)).ok());
    };

    view! {
        <section class="page pipeline" data-testid="pipeline">
            <AppBar parent={"/reports".to_string()}>
                <h1>{move || i.t("pipeline.title")}</h1>
            </AppBar>
            <p class="subtitle" data-testid="forecast">
                {move || {
                    let total = forecast.with(|f| f.get(&Currency::CNY).copied().unwrap_or(0));
                    fill(i.t("pipeline.forecast"), platform::format_money_short(&Money { minor: total, currency: Currency::CNY }, i.locale()))
                }}
            </p>
            {manager.then(|| view! {
                <div class="field owner-filter">
                    <label for="pipeline-owner">{move || i.t("reports.subject")}</label>
                    <select id="pipeline-owner" data-testid="pipeline-owner" on:change=on_owner>
                        <option value="">{move || i.t("reports.whole_team")}</option>
                        {move || team_reps(state).into_iter().map(|(id, name)| view! {
                            <option value=id.to_string()>{name}</option>
                        }).collect_view()}
                    </select>
                </div>
            })}
            <Show when=move || state.book_ready.get() fallback=|| view! { <BookLoading/> }>
                <div class="board" data-testid="board">
                    {COLUMNS.iter().map(|&stage| view! {
                        <Column stage owner chances summary request_move/>
                    }).collect_view()}
                </div>
            </Show>
            <ReasonSheet pending/>
        </section>
    }
}

#[component]
fn Column(
    stage: Stage,
    owner: RwSignal<Option<Id>>,
    chances: Memo<Probabilities>,
    summary: Memo<Vec<domain::StageSummary>>,
    request_move: Callback<(Id, Stage)>,
) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let navigate = use_navigate();
    let over = RwSignal::new(false);
    let cards = Memo::new(move |_| {
        let owner = owner.get();
        state.book.with(|book| {
            let mut leads: Vec<Lead> = book
                .iter()
                .filter(|l| !l.deleted && l.stage == stage)
                .filter(|l| owner.is_none() || l.owner == owner)
                .cloned()
                .collect();
            leads.sort_by(|a, b| {
                let value = |l: &Lead| l.expected_value.map_or(0, |m| m.minor);
                value(b)
                    .cmp(&value(a))
                    .then(a.name.cmp(&b.name))
                    .then(a.id.cmp(&b.id))
            });
            leads.truncate(CARDS_SHOWN);
            leads
        })
    });
    let stats = Memo::new(move |_| {
        summary.with(|all| {
            all.iter()
                .find(|s| s.stage == stage)
                .map(|s| {
                    (
                        s.count,
                        s.expected.get(&Currency::CNY).copied().unwrap_or(0),
                    )
                })
                .unwrap_or((0, 0))
        })
    });
    let more = move || stats.get().0.saturating_sub(cards.with(Vec::len));
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        over.set(false);
        let id = ev
            .data_transfer()
            .and_then(|dt| dt.get_data("text/plain").ok())
            .and_then(|raw| Id::parse(&raw).ok());
        if let Some(id) = id {
            request_move.run((id, stage));
        }
    };
    let show_all = move |_| {
        state.lead_query.update(|q| {
            *q = domain::LeadQuery {
                stage: Some(stage),
                owner: owner.get_untracked(),
                ..domain::LeadQuery::default()
            }
        });
        navigate("/leads", Default::default());
    };
    let heading = format!("col-{}", stage.as_str());
    let labelled_by = heading.clone();
    view! {
        <section class=format!("column stage-col-{}", stage.as_str()) class:drop-over=move || over.get()
            data-testid=format!("column-{}", stage.as_str()) aria-labelledby=labelled_by
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); over.set(true); }
            on:dragleave=move |_| over.set(false)
            on:drop=on_drop>
            <header class="column-head">
                <h2 id=heading class=format!("stage stage-{}", stage.as_str())>{move || i.t(stage.key())}</h2>
                <span class="column-count" data-testid="column-count">{move || stats.get().0}</span>
                {stage.is_open().then(|| view! {
                    <span class="muted column-value" data-testid="column-expected">
                        {move || fill(i.t("pipeline.expected"), platform::format_money_short(&Money { minor: stats.get().1, currency: Currency::CNY }, i.locale()))}
                        " · "{move || format!("{}%", chances.get().of(stage))}
                    </span>
                })}
            </header>
            <ul class="cards">
                <For each=move || cards.get() key=|l| (l.id, l.updated_at) let:lead>
                    <Card lead request_move/>
                </For>
            </ul>
            <Show when=move || { more() > 0 }>
                <button type="button" class="link more" data-testid="column-more" on:click=show_all.clone()>
                    {move || count(i.locale(), "pipeline.more", more() as u64)}
                </button>
            </Show>
        </section>
    }
}

#[component]
fn Card(lead: Lead, request_move: Callback<(Id, Stage)>) -> impl IntoView {
    let i = use_i18n();
    let id = lead.id;
    let name = lead.name.clone();
    let label_name = name.clone();
    let on_drag = move |ev: leptos::ev::DragEvent| {
        if let Some(dt) = ev.data_transfer() {
            let _ = dt.set_data("text/plain", &id.to_string());
            dt.set_effect_allowed("move");
        }
    };
    let on_change = move |ev: leptos::ev::Event| {
        if let Ok(stage) = event_target_value(&ev).parse::<Stage>() {
            request_move.run((id, stage));
        }
    };
    let select_id = format!("move-{id}");
    let current = lead.stage;
    view! {
        <li class="card" draggable="true" on:dragstart=on_drag data-testid="card" data-lead=id.to_string()>
            <A href=format!("/leads/{id}") attr:class="card-name">{name.clone()}</A>
            {(!lead.company.is_empty()).then(|| view! { <span class="muted">{lead.company.clone()}</span> })}
            {lead.expected_value.map(|m| view! {
                <span class="row-value">{move || platform::format_money_short(&m, i.locale())}</span>
            })}
            <label class="visually-hidden" for=select_id.clone()>{move || fill(i.t("pipeline.move_named"), &label_name)}</label>
            <select id=select_id class="stage-menu" data-testid="stage-menu" on:change=on_change>
                {Stage::ALL.iter().map(|&s| view! {
                    <option value=s.as_str() selected=s == current>{move || i.t(s.key())}</option>
                }).collect_view()}
            </select>
        </li>
    }
}

/// Why a sale was won or lost, asked in a modal sheet (the native `<dialog>`: Escape
/// closes it, the focus stays inside and goes back to the card's stage menu) before the
/// move is saved.
#[component]
fn ReasonSheet(pending: RwSignal<Option<(Lead, Stage)>>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let reason = RwSignal::new(None::<StageReason>);
    let saving = RwSignal::new(false);
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    // The card whose menu asked: the focus returns there.
    let asked = StoredValue::new(None::<Id>);
    Effect::new(move |_| {
        let open = pending.with(|p| p.as_ref().map(|(lead, _)| lead.id));
        if let (Some(id), Some(dialog)) = (open, dialog.get()) {
            asked.set_value(Some(id));
            reason.set(None);
            if !dialog.open() {
                let _ = dialog.show_modal();
            }
        }
    });
    let close = move || {
        if let Some(dialog) = dialog.get_untracked() {
            dialog.close();
        }
    };
    let on_closed = move |_| {
        pending.set(None);
        if let Some(id) = asked.get_value() {
            crate::components::focus::focus_element(&format!("move-{id}"));
        }
    };
    let save = move |_| {
        if saving.get_untracked() {
            return;
        }
        let Some((lead, stage)) = pending.get_untracked() else {
            return;
        };
        saving.set(true);
        spawn_local(async move {
            if move_lead(state, lead, stage, reason.get_untracked()).await {
                close();
            }
            saving.set(false);
        });
    };
    let title = move || {
        pending.with(|p| {
            p.as_ref()
                .map(|(_, stage)| fill(i.t("pipeline.why"), i.t(stage.key())))
                .unwrap_or_default()
        })
    };
    let name =
        move || pending.with(|p| p.as_ref().map(|(l, _)| l.name.clone()).unwrap_or_default());
    view! {
        <dialog node_ref=dialog class="bottom-sheet" data-testid="reason-sheet" aria-labelledby="reason-title"
            on:close=on_closed
            on:click=move |ev| {
                let on_backdrop = event_target::<web_sys::Element>(&ev).tag_name().eq_ignore_ascii_case("dialog");
                if on_backdrop {
                    close();
                }
            }>
            <div class="sheet-body">
                <div class="sheet-head">
                    <h2 id="reason-title">{title}</h2>
                </div>
                <p class="muted">{name}</p>
                <ReasonField reason id="sheet-reason"/>
                <div class="form-actions">
                    <button type="button" class="button" data-testid="reason-cancel" on:click=move |_| close()>{move || i.t("form.cancel")}</button>
                    <button type="button" class="button primary" data-testid="reason-save" on:click=save disabled=move || saving.get()>
                        {move || i.t("form.save")}
                    </button>
                </div>
            </div>
        </dialog>
    }
}
