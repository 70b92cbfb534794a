//! 团队设置 in Settings: the team's follow-up rhythm by grade (how soon the quick log
//! proposes the next follow-up after a visit to a due lead). Everyone in the team reads it;
//! managers change it. It is a record like any other (`domain::TeamSettings`): saved to
//! IndexedDB and the outbox, pushed, merged field by field, pulled by the team.

use domain::{
    FollowUpDays, Grade, Id, RecordMeta, Stage, TeamSettings, TeamSettingsDraft, ValidationErrors,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::form::{focus_first_error, FieldErrorText, FormBanner};
use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::state::{use_app, AppState};
use crate::store::{Change, Edit};

/// The signed-in person's team settings record's id (`None` without a team).
fn settings_id(state: AppState) -> Option<Id> {
    state
        .account
        .with_untracked(|a| a.as_ref().and_then(|a| a.team_id))
        .map(TeamSettings::id_for)
}

/// The team's settings as this device holds them (`None`: never set, or in the trash).
pub async fn team_settings(state: AppState) -> Option<TeamSettings> {
    let id = settings_id(state)?;
    let store = state.store().ok()?;
    store
        .record::<TeamSettings>(id)
        .await
        .ok()
        .flatten()
        .filter(|s| !s.deleted)
}

/// The team's follow-up rhythm, or the sales guide's default when the team set none.
pub async fn follow_up_days(state: AppState) -> FollowUpDays {
    team_settings(state)
        .await
        .map(|s| s.follow_up_days())
        .unwrap_or_default()
}

const GRADES: [(Grade, &str); 4] = [
    (Grade::A, "follow_up_a"),
    (Grade::B, "follow_up_b"),
    (Grade::C, "follow_up_c"),
    (Grade::D, "follow_up_d"),
];

/// The open stages and their probability fields (销售漏斗的赢率).
const CHANCES: [(Stage, &str); 4] = [
    (Stage::Prospecting, "prob_prospecting"),
    (Stage::NeedsAnalysis, "prob_needs_analysis"),
    (Stage::Presentation, "prob_presentation"),
    (Stage::Negotiation, "prob_negotiation"),
];

/// The text a settings field holds, by its field name (`None` for a name the form lacks).
fn slot<'a>(draft: &'a mut TeamSettingsDraft, field: &str) -> Option<&'a mut String> {
    Some(match field {
        "follow_up_a" => &mut draft.follow_up_a,
        "follow_up_b" => &mut draft.follow_up_b,
        "follow_up_c" => &mut draft.follow_up_c,
        "follow_up_d" => &mut draft.follow_up_d,
        "prob_prospecting" => &mut draft.prob_prospecting,
        "prob_needs_analysis" => &mut draft.prob_needs_analysis,
        "prob_presentation" => &mut draft.prob_presentation,
        "prob_negotiation" => &mut draft.prob_negotiation,
        _ => return None,
    })
}

/// One number of the settings form: its label, the text as typed, its error.
#[component]
fn SettingField(
    field: &'static str,
    label: Signal<String>,
    draft: RwSignal<TeamSettingsDraft>,
    errors: RwSignal<ValidationErrors>,
) -> impl IntoView {
    let id = format!("t-{field}");
    let error_id = format!("{id}-error");
    let invalid = move || errors.with(|e| e.get(field).is_some());
    let described = {
        let error_id = error_id.clone();
        move || invalid().then(|| error_id.clone())
    };
    view! {
        <div class="field rhythm-field" class:has-error=invalid>
            <label for=id.clone()>{move || label.get()}</label>
            <input id=id.clone() name=field type="text" inputmode="numeric" data-testid=field
                aria-invalid=move || invalid().to_string() aria-describedby=described
                prop:value=move || draft.with(|d| slot(&mut d.clone(), field).map(|v| v.clone()).unwrap_or_default())
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    draft.update(|d| if let Some(slot) = slot(d, field) { *slot = text });
                }/>
            <FieldErrorText errors field id=error_id/>
        </div>
    }
}

/// The section: the rhythm in words for a rep, a small form for a manager.
#[component]
pub fn FollowUpRhythm() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let read = crate::routes::reading(move || {
        state.revision.track();
        team_settings(state)
    });
    let manager = state.is_manager();
    // The form is made once, when the first read answers: a pull landing while a manager
    // types must not put a fresh form (and the stored values) under their fingers.
    let loaded = Memo::new(move |_| read.with(Option::is_some));
    view! {
        <section class="team-settings" data-testid="follow-up-rhythm" aria-labelledby="rhythm-title">
            <h2 class="section-title" id="rhythm-title">{move || i.t("team.rhythm_title")}</h2>
            <p class="hint">{move || i.t("team.rhythm_hint")}</p>
            {move || match (loaded.get(), manager) {
                (false, _) => None,
                (true, true) => {
                    let found = read.get_untracked().flatten();
                    Some(view! { <RhythmForm found/> }.into_any())
                }
                (true, false) => Some(view! { <RhythmFacts read/> }.into_any()),
            }}
        </section>
    }
}

/// The rhythm in words, for a rep: follows every pull.
#[component]
fn RhythmFacts(read: RwSignal<Option<Option<TeamSettings>>>) -> impl IntoView {
    let i = use_i18n();
    view! {
        <dl class="facts rhythm">
            {GRADES.iter().map(|(grade, _)| {
                let grade = *grade;
                let days = move || {
                    read.with(|r| r.clone().flatten())
                        .map(|s| s.follow_up_days())
                        .unwrap_or_default()
                        .for_grade(grade)
                };
                view! {
                    <div class="fact">
                        <dt>{move || i.t(grade.key())}</dt>
                        <dd>{move || fill(i.t("team.days"), days())}</dd>
                    </div>
                }
            }).collect_view()}
        </dl>
    }
}

#[component]
fn RhythmForm(found: Option<TeamSettings>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let days = found
        .as_ref()
        .map(|s| s.follow_up_days())
        .unwrap_or_default();
    let chances = found
        .as_ref()
        .map(|s| s.probabilities())
        .unwrap_or_default();
    let draft = RwSignal::new(TeamSettingsDraft::from_parts(days, chances));
    let errors = RwSignal::new(ValidationErrors::default());
    let banner = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    let now = platform::now_ms();
    let meta = match (&found, settings_id(state)) {
        (Some(s), _) => Some(s.meta()),
        (None, Some(id)) => Some(RecordMeta::new(id, now)),
        (None, None) => None,
    };
    // What the manager sees now: the save writes only the intervals they change.
    let session = state.edit_session(found.as_ref());
    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let Some(meta) = meta else {
            return;
        };
        if saving.get_untracked() {
            return;
        }
        let now = platform::now_ms();
        let settings = match draft.with_untracked(|d| d.parse(&meta, now)) {
            Ok(settings) => settings,
            Err(found) => {
                errors.set(found);
                banner.set(Some("form.fix_errors"));
                focus_first_error();
                return;
            }
        };
        errors.set(ValidationErrors::default());
        banner.set(None);
        saving.set(true);
        spawn_local(async move {
            let edit = Edit {
                change: Change::TeamSettings(settings),
                session: session.get_value(),
            };
            match state.save_edits(vec![edit]).await {
                Ok(()) => state.notify(i.now("form.saved"), false, None),
                Err(err) => banner.set(Some(err.key())),
            }
            saving.set(false);
        });
    };
    view! {
        <form novalidate class="rhythm-form" on:submit=on_submit data-testid="rhythm-form">
            <FormBanner message=banner/>
            <div class="field-row">
                {GRADES.iter().map(|&(grade, field)| view! {
                    <SettingField field draft errors
                        label=Signal::derive(move || fill(i.t("team.days_for"), i.t(grade.key())))/>
                }).collect_view()}
            </div>
            <h3 class="subsection-title" id="chances-title">{move || i.t("team.chances_title")}</h3>
            <p class="hint">{move || i.t("team.chances_hint")}</p>
            <div class="field-row" role="group" aria-labelledby="chances-title">
                {CHANCES.iter().map(|&(stage, field)| view! {
                    <SettingField field draft errors
                        label=Signal::derive(move || fill(i.t("team.chance_for"), i.t(stage.key())))/>
                }).collect_view()}
            </div>
            <div class="form-actions">
                <button type="submit" class="button primary" data-testid="save-rhythm"
                    disabled=move || saving.get() || meta.is_none()>
                    {move || i.t(if saving.get() { "form.saving" } else { "form.save" })}
                </button>
            </div>
        </form>
    }
}
