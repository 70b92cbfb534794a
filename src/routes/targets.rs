//! 销售目标 (`/targets`, managers): the team's figure and each rep's for a period and a
//! metric. "Split" (计划分解) proposes the reps' figures from the team's, weighted by each
//! rep's actual in the same period last year, else in the month before (else equally);
//! the proposal is only typed into the fields, to be edited before Save. Every figure is a
//! [`domain::Target`] under its derived id, saved in one transaction and synced like any
//! record; an emptied field moves that target to the trash.

use std::collections::BTreeMap;

use domain::{Id, Metric, Period, PeriodKind, RecordMeta, SplitBasis, Target, TargetDraft};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::app_bar::AppBar;
use crate::components::form::FormBanner;
use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::routes::reading;
use crate::routes::reports::{facts_of, load, my_team, team_reps, PeriodPicker, REPORT_CURRENCY};
use crate::routes::training_editor::ManagersOnly;
use crate::state::{use_app, AppState};
use crate::store::{Change, Edit, ReportData, StoreError};

#[component]
pub fn Targets() -> impl IntoView {
    let state = use_app();
    if !state.is_manager() {
        return view! { <ManagersOnly text_key="targets.managers_only"/> }.into_any();
    }
    view! { <TargetsEditor/> }.into_any()
}

/// What the weights of a split are read from.
#[derive(Clone, PartialEq)]
struct History {
    targets: Vec<Target>,
    last_year: ReportData,
    last_month: ReportData,
}

async fn history(state: AppState, period: Period) -> Result<History, StoreError> {
    let month_before = Period::containing(PeriodKind::Month, period.first_day()).previous();
    let (now, last_year, last_month) = futures::future::join3(
        load(state, period),
        load(state, period.last_year()),
        load(state, month_before),
    )
    .await;
    Ok(History {
        targets: now?.targets,
        last_year: last_year?,
        last_month: last_month?,
    })
}

/// The field of the team (`None`) or of a rep.
fn field_id(subject: Option<Id>) -> String {
    subject.map_or_else(|| "target-team".to_string(), |id| format!("target-{id}"))
}

#[component]
fn TargetsEditor() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let team = my_team(state);
    let period = RwSignal::new(Period::containing(PeriodKind::Month, platform::today()));
    let metric = RwSignal::new(Metric::DealAmount);
    let read = reading(move || {
        state.revision.track();
        history(state, period.get())
    });
    let history = Memo::new(move |_| match read.get() {
        Some(Ok(h)) => Some(h),
        _ => None,
    });
    // What is typed, per subject (`None`: the team); filled from the stored targets whenever
    // the period or metric changes (not on every pull: a manager may be typing).
    let typed = RwSignal::new(BTreeMap::<Option<Id>, String>::new());
    let errors = RwSignal::new(BTreeMap::<Option<Id>, &'static str>::new());
    let basis = RwSignal::new(None::<SplitBasis>);
    let banner = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    let reps = Memo::new(move |_| team_reps(state));
    let stored = move |subject: Option<Id>| {
        let p = period.get_untracked();
        let m = metric.get_untracked();
        history.with_untracked(|h| {
            h.as_ref()
                .and_then(|h| domain::target_for(&h.targets, team, subject, p, m).cloned())
        })
    };
    let loaded = Memo::new(move |_| history.with(Option::is_some));
    Effect::new(move |_| {
        let _ = (period.get(), metric.get(), loaded.get());
        let m = metric.get_untracked();
        let mut fresh = BTreeMap::new();
        let subjects: Vec<Option<Id>> = std::iter::once(None)
            .chain(reps.get_untracked().iter().map(|r| Some(r.0)))
            .collect();
        for subject in subjects {
            let value = stored(subject)
                .map(|t| domain::format_figure(m, t.value))
                .unwrap_or_default();
            fresh.insert(subject, value);
        }
        typed.set(fresh);
        errors.set(BTreeMap::new());
        basis.set(None);
    });

    let on_split = move |_| {
        let m = metric.get_untracked();
        let p = period.get_untracked();
        let team_text = typed.with_untracked(|t| t.get(&None).cloned().unwrap_or_default());
        let total = match domain::parse_figure(m, &team_text) {
            Ok(total) => total,
            Err(reason) => {
                errors.update(|e| {
                    e.insert(None, reason.key());
                });
                return;
            }
        };
        let Some(h) = history.get_untracked() else {
            return;
        };
        let h = &h;
        let ids: Vec<Id> = reps.get_untracked().iter().map(|r| r.0).collect();
        let weights = |data: &ReportData, of: Period| -> BTreeMap<Id, i64> {
            let people = facts_of(state, data).by_person(of);
            ids.iter()
                .map(|&id| {
                    let figure = people
                        .get(&Some(id))
                        .map_or(0, |a| a.figure(m, REPORT_CURRENCY));
                    (id, figure)
                })
                .collect()
        };
        let month_before = Period::containing(PeriodKind::Month, p.first_day()).previous();
        let (last_year, last_month) = (
            weights(&h.last_year, p.last_year()),
            weights(&h.last_month, month_before),
        );
        // Amounts split in whole yuan; counts in ones.
        let unit = if m.is_amount() { 100 } else { 1 };
        let (found, shares) = domain::split(total, unit, &ids, &last_year, &last_month);
        typed.update(|t| {
            for (id, share) in shares {
                t.insert(Some(id), domain::format_figure(m, share));
            }
        });
        errors.update(|e| e.retain(|k, _| k.is_none()));
        errors.update(|e| {
            e.remove(&None);
        });
        basis.set(Some(found));
    };

    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let Some(team) = team else {
            banner.set(Some("targets.no_team"));
            return;
        };
        let p = period.get_untracked();
        let m = metric.get_untracked();
        let now = platform::now_ms();
        let mut found_errors = BTreeMap::new();
        let mut edits = Vec::new();
        for (subject, text) in typed.get_untracked() {
            let existing = stored(subject);
            if text.trim().is_empty() {
                // An emptied figure: no target any more.
                if let Some(mut old) = existing.filter(|t| !t.deleted) {
                    domain::Record::mark_deleted(&mut old, now);
                    edits.push(Edit::from(Change::Target(old)));
                }
                continue;
            }
            let meta = existing.as_ref().map(Target::meta).unwrap_or(RecordMeta {
                owner: subject,
                team: Some(team),
                ..RecordMeta::new(Target::id_for(subject.unwrap_or(team), p, m), now)
            });
            let draft = TargetDraft {
                rep: subject,
                period: p,
                metric: m,
                value: text,
                currency: existing.as_ref().map_or(REPORT_CURRENCY, |t| t.currency),
            };
            match draft.parse(&meta, now) {
                Ok(target) => {
                    if existing
                        .as_ref()
                        .is_none_or(|old| old.value != target.value || old.deleted)
                    {
                        edits.push(Edit::from(Change::Target(target)));
                    }
                }
                Err(errs) => {
                    let key = errs
                        .get("value")
                        .map_or("error.storage", |reason| reason.key());
                    found_errors.insert(subject, key);
                }
            }
        }
        if !found_errors.is_empty() {
            errors.set(found_errors.clone());
            banner.set(Some("form.fix_errors"));
            crate::components::form::focus_first_error();
            return;
        }
        errors.set(BTreeMap::new());
        banner.set(None);
        if edits.is_empty() {
            state.notify(i.now("targets.unchanged"), false, None);
            return;
        }
        saving.set(true);
        spawn_local(async move {
            match state.save_edits(edits).await {
                Ok(()) => state.notify(i.now("form.saved"), false, None),
                Err(err) => banner.set(Some(err.key())),
            }
            saving.set(false);
        });
    };

    let rep_sum = move || {
        let m = metric.get();
        typed.with(|t| {
            t.iter()
                .filter(|(k, _)| k.is_some())
                .filter_map(|(_, v)| domain::parse_figure(m, v).ok())
                .sum::<i64>()
        })
    };

    view! {
        <section class="page form-page targets" data-testid="targets">
            <AppBar parent={"/reports".to_string()}>
                <h1>{move || i.t("targets.title")}</h1>
            </AppBar>
            <p class="hint">{move || i.t("targets.hint")}</p>
            <PeriodPicker period/>
            <div class="segmented" role="group" aria-label=move || i.t("reports.metric")>
                {Metric::ALL.iter().map(|&m| view! {
                    <button type="button" class="chip" data-testid=format!("metric-{}", m.as_str())
                        aria-pressed=move || (metric.get() == m).to_string()
                        on:click=move |_| metric.set(m)>{move || i.t(m.key())}</button>
                }).collect_view()}
            </div>
            <form novalidate on:submit=on_submit data-testid="targets-form">
                <FormBanner message=banner/>
                <FigureField subject=None label=Signal::derive(move || i.t("targets.team").to_string()) typed errors metric/>
                <div class="split-row">
                    <button type="button" class="button" data-testid="split" on:click=on_split>
                        {move || i.t("targets.split")}
                    </button>
                    <p class="hint" aria-live="polite" data-testid="split-basis">
                        {move || basis.get().map(|b| i.t(b.key()))}
                    </p>
                </div>
                <h2 class="section-title">{move || i.t("targets.reps")}</h2>
                <For each=move || reps.get() key=|r| r.clone() let:rep>
                    <FigureField subject=Some(rep.0) label=Signal::derive(move || rep.1.clone()) typed errors metric/>
                </For>
                <p class="muted" data-testid="rep-sum">
                    {move || fill(i.t("targets.sum"), crate::routes::reports::figure_text(i.locale(), metric.get(), rep_sum(), REPORT_CURRENCY))}
                </p>
                <div class="form-actions sticky">
                    <button type="submit" class="button primary" data-testid="save-targets" disabled=move || saving.get()>
                        {move || i.t(if saving.get() { "form.saving" } else { "form.save" })}
                    </button>
                </div>
            </form>
        </section>
    }
}

/// One figure's field: the team's or a rep's.
#[component]
fn FigureField(
    subject: Option<Id>,
    label: Signal<String>,
    typed: RwSignal<BTreeMap<Option<Id>, String>>,
    errors: RwSignal<BTreeMap<Option<Id>, &'static str>>,
    metric: RwSignal<Metric>,
) -> impl IntoView {
    let i = use_i18n();
    let id = field_id(subject);
    let error_id = format!("{id}-error");
    let error = move || errors.with(|e| e.get(&subject).copied());
    let described = {
        let error_id = error_id.clone();
        move || error().map(|_| error_id.clone())
    };
    let testid = subject.map_or_else(|| "target-team".to_string(), |_| "target-rep".to_string());
    view! {
        <div class="field" class:has-error=move || error().is_some()>
            <label for=id.clone()>{move || label.get()}
                <span class="muted">{move || if metric.get().is_amount() { i.t("targets.unit_amount") } else { i.t("targets.unit_count") }}</span>
            </label>
            <input id=id.clone() type="text" inputmode="decimal" data-testid=testid
                aria-invalid=move || error().is_some().to_string() aria-describedby=described
                prop:value=move || typed.with(|t| t.get(&subject).cloned().unwrap_or_default())
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    typed.update(|t| { t.insert(subject, text); });
                }/>
            {move || error().map(|key| view! { <p class="field-error" id=error_id.clone()>{move || i.t(key)}</p> })}
        </div>
    }
}
