//! Log a visit 拜访/洽谈记录: pick the lead or create it inline, what happened, and the next
//! follow-up, which also moves the lead's. Reached in one tap from Today and from a lead.

use chrono::Timelike;
use domain::{
    apply_visit_to_lead, CheckIn, GeoPoint, Id, LeadDraft, RecordMeta, Stage, ValidationErrors,
    Visit, VisitDraft, VisitKind,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::components::app_bar::AppBar;
use crate::components::form::{
    focus_first_error, ChoiceField, FieldErrorText, FormActions, FormBanner, TextField,
};
use crate::components::lead_picker::LeadPicker;
use crate::components::photos::PhotosField;
use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::routes::lead_detail::BookLoading;
use crate::routes::lead_form::new_lead_draft;
use crate::routes::training::MaterialsPicker;
use crate::routes::{query_lead, route_id, stored_record, trash_action};
use crate::state::use_app;
use crate::store::{Change, Edit};
use domain::replica::EditSession;

#[component]
pub fn VisitFormPage() -> impl IntoView {
    let preselected = query_lead();
    match route_id().get_untracked() {
        None => view! { <VisitForm existing=None preselected/> }.into_any(),
        // The visit is read from IndexedDB once; the form then keeps what it showed.
        Some(id) => {
            let found = stored_record::<Visit>(id);
            (move || match found.get() {
                None => view! { <BookLoading/> }.into_any(),
                Some(existing) => view! { <VisitForm existing preselected/> }.into_any(),
            })
            .into_any()
        }
    }
}

fn new_visit_draft(lead_id: Option<Id>) -> VisitDraft {
    let now = platform::now_ms();
    let local = domain::local_datetime(now, platform::utc_offset_minutes());
    VisitDraft {
        lead_id,
        kind: VisitKind::InPerson,
        // ISO date and `HH:MM`, what the date and time inputs take (without chrono's
        // format-string machinery in the download).
        date: local.date().to_string(),
        time: format!("{:02}:{:02}", local.hour(), local.minute()),
        ..VisitDraft::default()
    }
}

#[component]
fn VisitForm(existing: Option<Visit>, preselected: Option<Id>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let navigate = use_navigate();
    let offset = platform::utc_offset_minutes();
    let is_new = existing.is_none();
    let now = platform::now_ms();
    let meta = match &existing {
        Some(v) => RecordMeta {
            id: v.id,
            owner: v.owner,
            team: v.team,
            created_at: v.created_at,
        },
        None => RecordMeta::new(platform::new_id(now), now),
    };
    let new_lead_meta = RecordMeta::new(platform::new_id(now), now);
    let draft = RwSignal::new(match &existing {
        Some(v) => VisitDraft::from_visit(v, offset),
        None => new_visit_draft(preselected),
    });
    // The inline new lead: only name, company and phone; the rest can be filled in later.
    let creating_lead = RwSignal::new(false);
    let lead_draft = RwSignal::new(new_lead_draft());
    let errors = RwSignal::new(ValidationErrors::default());
    let lead_errors = RwSignal::new(ValidationErrors::default());
    let banner = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    let on_delete = trash_action(
        existing.clone(),
        |r: &Visit| r.lead_id,
        Change::Visit,
        "visit.deleted",
        banner,
    );

    let lead_id = Memo::new(move |_| draft.with(|d| d.lead_id));
    // What the person sees of the visit now: the save writes only what they change from it.
    // The lead it moves is changed as the device holds it at save time (the form does not
    // show the lead's fields, only the follow-up and stage it sets).
    let session = state.edit_session(existing.as_ref());

    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let now = platform::now_ms();
        let creating = creating_lead.get_untracked();
        let new_lead = if creating {
            match lead_draft.with_untracked(|d| d.parse(&new_lead_meta, now)) {
                Ok(lead) => {
                    lead_errors.set(ValidationErrors::default());
                    Some(lead)
                }
                Err(found) => {
                    lead_errors.set(found);
                    None
                }
            }
        } else {
            None
        };
        let mut visit_draft = draft.get_untracked();
        if creating {
            visit_draft.lead_id = Some(new_lead_meta.id);
        }
        let visit = visit_draft.parse(&meta, now, offset);
        let lead_ok = !creating || new_lead.is_some();
        let visit = match visit {
            Ok(visit) if lead_ok => {
                errors.set(ValidationErrors::default());
                visit
            }
            Ok(_) => {
                errors.set(ValidationErrors::default());
                banner.set(Some("form.fix_errors"));
                focus_first_error();
                return;
            }
            Err(found) => {
                errors.set(found);
                banner.set(Some("form.fix_errors"));
                focus_first_error();
                return;
            }
        };
        banner.set(None);
        saving.set(true);
        let navigate = navigate.clone();
        let visit_session = session.get_value();
        spawn_local(async move {
            let lead_id = visit.lead_id;
            // The lead as it is now (from the book, or from IndexedDB in the moment after
            // start-up before the book is read).
            let stored = match state.lead_untracked(lead_id) {
                Some(lead) => Some(lead),
                None if new_lead.is_none() => match state.store() {
                    Ok(store) => store.lead(lead_id).await.ok().flatten(),
                    Err(_) => None,
                },
                None => None,
            };
            // The lead after this visit: a new one, or the stored one with its follow-up
            // date and stage moved. Written in the same transaction as the visit.
            let Some(lead) = new_lead.clone().or_else(|| stored.clone()) else {
                errors.update(|e| e.push("lead_id", domain::Invalid::Required));
                banner.set(Some("form.fix_errors"));
                saving.set(false);
                return;
            };
            let mut edits = Vec::new();
            let moved = match apply_visit_to_lead(&lead, &visit, now) {
                Some(moved) => Some(moved),
                None if new_lead.is_some() => Some(lead),
                None => None,
            };
            if let Some(moved) = moved {
                // The stored lead as this form read it, so only the fields the visit moves
                // are written.
                let session = stored
                    .and_then(|l| domain::to_object(&l).ok())
                    .map(EditSession::shown);
                edits.push(Edit {
                    change: Change::Lead(moved),
                    session,
                });
            }
            edits.push(Edit {
                change: Change::Visit(visit),
                session: visit_session,
            });
            match state.save_edits(edits).await {
                Ok(()) => {
                    state.notify(i.now("visit.saved"), false, None);
                    navigate(&format!("/leads/{lead_id}"), Default::default());
                }
                Err(err) => banner.set(Some(err.key())),
            }
            saving.set(false);
        });
    };

    view! {
        <section class="page form-page">
            <AppBar parent={Signal::derive(move || draft.with(|d| d.lead_id).map_or("/".to_string(), |id| format!("/leads/{id}")))}>
                <h1>{move || i.t(if is_new { "visit.title" } else { "visit.edit_title" })}</h1>
            </AppBar>
            <form novalidate on:submit=on_submit data-testid="visit-form">
                <FormBanner message=banner/>
                <LeadPicker value=lead_id id="v-lead_id" label="field.lead" field="lead_id" errors
                    required=true testid="visit-lead" creating=creating_lead
                    on_pick=Callback::new(move |id: Option<Id>| {
                        creating_lead.set(false);
                        draft.update(|d| d.lead_id = id);
                    })
                    on_new=Callback::new(move |()| {
                        creating_lead.set(true);
                        draft.update(|d| d.lead_id = None);
                    })/>
                <Show when=move || creating_lead.get()>
                    <fieldset class="inline-lead" data-testid="inline-lead">
                        <legend>{move || i.t("visit.new_lead")}</legend>
                        <TextField draft=lead_draft get=|d: &LeadDraft| &d.name set=|d: &mut LeadDraft| &mut d.name
                            label="field.name" field="name" prefix="nl" errors=lead_errors required=true/>
                        <TextField draft=lead_draft get=|d: &LeadDraft| &d.company set=|d: &mut LeadDraft| &mut d.company
                            label="field.company" field="company" prefix="nl" errors=lead_errors/>
                        <TextField draft=lead_draft get=|d: &LeadDraft| &d.phones set=|d: &mut LeadDraft| &mut d.phones
                            label="field.phones" field="phones" prefix="nl" errors=lead_errors kind="tel" inputmode="tel"/>
                    </fieldset>
                </Show>
                <ChoiceField draft get=|d| Some(d.kind) set=|d, v| if let Some(v) = v { d.kind = v }
                    options=&VisitKind::ALL label="field.kind" field="kind" errors prefix="v"/>
                <div class="field-row">
                    <TextField draft get=|d| &d.date set=|d| &mut d.date label="field.date" field="date"
                        errors kind="date" prefix="v" required=true/>
                    <TextField draft get=|d| &d.time set=|d| &mut d.time label="field.time" field="time"
                        errors kind="time" prefix="v"/>
                </div>
                <FieldErrorText errors field="started_at" id="v-started_at-error".to_string()/>
                <CheckInField draft errors/>
                <TextField draft get=|d| &d.duration_min set=|d| &mut d.duration_min label="field.duration"
                    field="duration_min" errors inputmode="numeric" prefix="v"/>
                <TextField draft get=|d| &d.notes set=|d| &mut d.notes label="field.notes" field="notes"
                    errors multiline=true prefix="v"/>
                <TextField draft get=|d| &d.needs_discovered set=|d| &mut d.needs_discovered
                    label="field.needs_discovered" field="needs_discovered" errors multiline=true prefix="v"/>
                <TextField draft get=|d| &d.objections set=|d| &mut d.objections label="field.objections"
                    field="objections" errors multiline=true prefix="v"/>
                <TextField draft get=|d| &d.outcome set=|d| &mut d.outcome label="field.outcome"
                    field="outcome" errors multiline=true prefix="v"/>
                <ChoiceField draft get=|d| d.stage_after set=|d, v| d.stage_after = v options=&Stage::ALL
                    label="field.stage_after" field="stage_after" errors prefix="v" none_key="field.stage_unchanged"/>
                <TextField draft get=|d| &d.next_step set=|d| &mut d.next_step label="field.next_step"
                    field="next_step" errors prefix="v"/>
                <TextField draft get=|d| &d.next_follow_up set=|d| &mut d.next_follow_up
                    label="field.next_follow_up" field="next_follow_up" errors kind="date" prefix="v"
                    hint="visit.moves_follow_up"/>
                <PhotosField draft errors/>
                <MaterialsPicker selected=Signal::derive(move || draft.with(|d| d.materials.clone()))
                    on_toggle=Callback::new(move |id: Id| draft.update(|d| {
                        if d.materials.contains(&id) {
                            d.materials.retain(|m| *m != id);
                        } else {
                            d.materials.push(id);
                        }
                    }))/>
                <FormActions saving on_delete/>
            </form>
        </section>
    }
}

/// Where the check-in button stands.
#[derive(Clone, Copy, PartialEq)]
enum Locating {
    Idle,
    Busy,
    Failed(&'static str),
}

/// Optional GPS check-in: the device's position and its accuracy, taken when the rep taps.
#[component]
fn CheckInField(draft: RwSignal<VisitDraft>, errors: RwSignal<ValidationErrors>) -> impl IntoView {
    let i = use_i18n();
    let locating = RwSignal::new(Locating::Idle);
    let check_in = move |_| {
        locating.set(Locating::Busy);
        spawn_local(async move {
            let reading = platform::current_position().await;
            let now = platform::now_ms();
            let result = reading
                .map_err(|e| e.key())
                .and_then(|(lat, lng, accuracy)| {
                    GeoPoint::new(lat, lng)
                        .and_then(|point| CheckIn::new(point, accuracy, now))
                        .map_err(|reason| reason.key())
                });
            match result {
                Ok(check_in) => {
                    draft.update(|d| d.check_in = Some(check_in));
                    locating.set(Locating::Idle);
                }
                Err(key) => locating.set(Locating::Failed(key)),
            }
        });
    };
    view! {
        <fieldset class="check-in" data-testid="check-in">
            <legend>{move || i.t("checkin.title")}</legend>
            {move || draft.with(|d| d.check_in).map(|c| view! {
                <p class="check-in-done">
                    {move || fill(i.t("checkin.done"), c.accuracy_m.round())}
                    " "
                    <a href=c.point.map_url() target="_blank" rel="noopener">
                        {format!("{:.5}, {:.5}", c.point.lat, c.point.lng)}
                    </a>
                </p>
            })}
            <div class="form-actions">
                <button type="button" class="button" disabled=move || locating.get() == Locating::Busy
                    on:click=check_in>
                    {move || i.t(if locating.get() == Locating::Busy { "checkin.locating" } else { "checkin.button" })}
                </button>
                <Show when=move || draft.with(|d| d.check_in.is_some())>
                    <button type="button" class="button" on:click=move |_| draft.update(|d| d.check_in = None)>
                        {move || i.t("checkin.remove")}
                    </button>
                </Show>
            </div>
            {move || match locating.get() {
                Locating::Failed(key) => Some(view! { <p class="field-error" role="alert">{i.t(key)}</p> }),
                _ => None,
            }}
            <FieldErrorText errors field="check_in" id="v-check_in-error".to_string()/>
        </fieldset>
    }
}
