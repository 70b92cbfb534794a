//! The lead form, for a new lead (`/new/lead`) and an existing one (`/leads/:id/edit`).

use domain::{Grade, Id, Intent, Lead, LeadDraft, RecordMeta, Source, Stage, ValidationErrors};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::components::app_bar::AppBar;
use crate::components::form::{focus_first_error, ChoiceField, FormActions, FormBanner, TextField};
use crate::components::lead_picker::LeadPicker;
use crate::components::stage_reason::{stage_change_edit, ReasonField};
use crate::i18n::use_i18n;
use crate::platform;
use crate::routes::lead_detail::BookLoading;
use crate::routes::route_id;
use crate::state::use_app;
use crate::store::{Change, Edit};

#[component]
pub fn LeadFormPage() -> impl IntoView {
    let state = use_app();
    match route_id().get_untracked() {
        None => view! { <LeadForm existing=None/> }.into_any(),
        // Drawn once the book is read, then kept: a pull does not redraw the form.
        Some(id) => (move || {
            if state.book_ready.get() {
                let existing = state.lead_untracked(id);
                view! { <LeadForm existing/> }.into_any()
            } else {
                view! { <BookLoading/> }.into_any()
            }
        })
        .into_any(),
    }
}

/// The record bookkeeping a save keeps: the existing lead's, or a fresh id for a new one (made
/// once, so a retried save after an error is still the same lead).
pub fn lead_meta(existing: Option<&Lead>, now_ms: i64) -> RecordMeta {
    match existing {
        Some(l) => RecordMeta {
            id: l.id,
            owner: l.owner,
            team: l.team,
            created_at: l.created_at,
        },
        None => RecordMeta::new(platform::new_id(now_ms), now_ms),
    }
}

/// A draft that starts the way a rep most often fills it in.
pub fn new_lead_draft() -> LeadDraft {
    LeadDraft {
        currency: "CNY".into(),
        ..LeadDraft::default()
    }
}

#[component]
fn LeadForm(existing: Option<Lead>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let navigate = use_navigate();
    let is_new = existing.is_none();
    let meta = lead_meta(existing.as_ref(), platform::now_ms());
    let draft = RwSignal::new(
        existing
            .as_ref()
            .map_or_else(new_lead_draft, LeadDraft::from_lead),
    );
    let errors = RwSignal::new(ValidationErrors::default());
    let reason = RwSignal::new(None::<domain::StageReason>);
    let banner = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    let submitted = RwSignal::new(false);
    let lead_id = meta.id;
    // What the person sees now: the save writes only what they change from it.
    let session = state.edit_session(existing.as_ref());

    // The lead as the form opened it: a date it already had is never refused as too old.
    let before = StoredValue::new(existing.clone());
    let today = platform::today();
    let parse = move |d: &LeadDraft, now: i64| {
        d.parse(&meta, now).and_then(|lead| {
            before
                .with_value(|b| domain::check_lead_dates(&lead, b.as_ref(), today))
                .map(|()| lead)
        })
    };

    // After a first failed save, errors follow the typing so a fixed field clears at once.
    Effect::new(move |_| {
        let result = draft.with(|d| parse(d, 0));
        if submitted.get_untracked() {
            errors.set(result.err().unwrap_or_default());
        }
    });

    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        submitted.set(true);
        let now = platform::now_ms();
        match draft.with_untracked(|d| parse(d, now)) {
            Err(found) => {
                errors.set(found);
                banner.set(Some("form.fix_errors"));
                focus_first_error();
            }
            Ok(lead) => {
                errors.set(ValidationErrors::default());
                banner.set(None);
                saving.set(true);
                let navigate = navigate.clone();
                spawn_local(async move {
                    // Why a sale was won or lost goes with the stage change it explains.
                    let moved = before.with_value(|b| {
                        stage_change_edit(b.as_ref(), &lead, reason.get_untracked())
                    });
                    let edit = Edit {
                        change: Change::Lead(lead),
                        session: session.get_value(),
                    };
                    let edits: Vec<Edit> = std::iter::once(edit).chain(moved).collect();
                    match state.save_edits(edits).await {
                        Ok(()) => {
                            state.notify(i.now("form.saved"), false, None);
                            navigate(&format!("/leads/{lead_id}"), Default::default());
                        }
                        Err(err) => banner.set(Some(err.key())),
                    }
                    saving.set(false);
                });
            }
        }
    };

    let referred_by = Memo::new(move |_| draft.with(|d| d.referred_by));

    view! {
        <section class="page form-page">
            <AppBar parent={if is_new { "/leads".to_string() } else { format!("/leads/{lead_id}") }}>
                <h1>{move || i.t(if is_new { "lead.new_title" } else { "lead.edit_title" })}</h1>
            </AppBar>
            <form novalidate on:submit=on_submit data-testid="lead-form">
                <FormBanner message=banner/>
                <TextField draft get=|d| &d.name set=|d| &mut d.name label="field.name" field="name"
                    errors required=true autocomplete="name"/>
                <TextField draft get=|d| &d.company set=|d| &mut d.company label="field.company"
                    field="company" errors autocomplete="organization"/>
                <TextField draft get=|d| &d.title set=|d| &mut d.title label="field.title"
                    field="title" errors/>
                <TextField draft get=|d| &d.phones set=|d| &mut d.phones label="field.phones"
                    field="phones" errors kind="tel" inputmode="tel" hint="field.phones_hint"/>
                <TextField draft get=|d| &d.wechat set=|d| &mut d.wechat label="field.wechat"
                    field="wechat" errors/>
                <TextField draft get=|d| &d.email set=|d| &mut d.email label="field.email"
                    field="email" errors kind="email" inputmode="email"/>
                <TextField draft get=|d| &d.address set=|d| &mut d.address label="field.address"
                    field="address" errors/>
                <div class="field-row">
                    <ChoiceField draft get=|d| Some(d.stage) set=|d, v| if let Some(v) = v { d.stage = v }
                        options=&Stage::ALL label="field.stage" field="stage" errors/>
                    <ChoiceField draft get=|d| Some(d.grade) set=|d, v| if let Some(v) = v { d.grade = v }
                        options=&Grade::ALL label="field.grade" field="grade" errors/>
                </div>
                <Show when=move || {
                    let stage = draft.with(|d| d.stage);
                    domain::takes_reason(stage)
                        && before.with_value(|b| b.as_ref().map(|l| l.stage)) != Some(stage)
                }>
                    <ReasonField reason id="f-stage-reason"/>
                </Show>
                <div class="field-row">
                    <ChoiceField draft get=|d| Some(d.source) set=|d, v| if let Some(v) = v { d.source = v }
                        options=&Source::ALL label="field.source" field="source" errors/>
                    <ChoiceField draft get=|d| d.intent set=|d, v| d.intent = v
                        options=&Intent::ALL label="field.intent" field="intent" errors none_key="field.none"/>
                </div>
                <LeadPicker value=referred_by id="f-referred_by" label="field.referred_by"
                    field="referred_by" errors except=lead_id
                    on_pick=Callback::new(move |id: Option<Id>| draft.update(|d| d.referred_by = id))/>
                <TextField draft get=|d| &d.next_follow_up set=|d| &mut d.next_follow_up
                    label="field.next_follow_up" field="next_follow_up" errors kind="date"/>
                <div class="field-row">
                    <TextField draft get=|d| &d.expected_value set=|d| &mut d.expected_value
                        label="field.expected_value" field="expected_value" errors inputmode="decimal"/>
                    <TextField draft get=|d| &d.currency set=|d| &mut d.currency
                        label="field.currency" field="currency" errors/>
                </div>
                <TextField draft get=|d| &d.expected_close set=|d| &mut d.expected_close
                    label="field.expected_close" field="expected_close" errors kind="date"/>
                <TextField draft get=|d| &d.needs set=|d| &mut d.needs label="field.needs"
                    field="needs" errors multiline=true/>
                <TextField draft get=|d| &d.strategy set=|d| &mut d.strategy label="field.strategy"
                    field="strategy" errors multiline=true/>
                <TextField draft get=|d| &d.tags set=|d| &mut d.tags label="field.tags" field="tags"
                    errors hint="field.tags_hint"/>
                <TextField draft get=|d| &d.notes set=|d| &mut d.notes label="field.notes"
                    field="notes" errors multiline=true/>
                <FormActions saving/>
            </form>
        </section>
    }
}
