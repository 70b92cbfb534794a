//! Log a visit 拜访/洽谈记录, the quick way: the lead (preselected from Today, a lead or a
//! "log this call" offer; otherwise a search), the kind as chips, one notes box, the outcome,
//! the next follow-up as chips (明天 / 3 天后 / 下周 / 2 周后 / a date) and a Save that stays in
//! thumb reach. "More details" opens the rest (time, duration, check-in, needs, objections,
//! next step, stage after, photos, materials shown).
//!
//! Follow-ups close: when the lead was due or overdue, the visit *is* that follow-up, so the
//! next date is preselected from the lead's grade (A 3 days … D 30) and the lead leaves Today
//! once it is saved. From a Today row the whole log is three taps and the typing: the row's
//! "log", (the notes box has the focus) the follow-up chip or the preselected one, Save.

use chrono::NaiveDate;
use chrono::Timelike;
use domain::{
    apply_visit_to_lead, default_next_follow_up, CheckIn, FollowUpDays, GeoPoint, Id, LeadDraft,
    RecordMeta, Stage, ValidationErrors, Visit, VisitDraft, VisitKind, QUICK_FOLLOW_UPS,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};

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

/// What the link that opened the log asks for: `?lead=` (preselected), `?kind=` and `?at=`
/// (unix ms; "log this call" after a tap-to-call) and `?return=today` (go back to Today after
/// saving instead of opening the lead).
#[derive(Clone, Copy, Default)]
struct Opened {
    lead: Option<Id>,
    kind: Option<VisitKind>,
    at: Option<i64>,
    to_today: bool,
}

fn opened() -> Opened {
    let query = use_query_map();
    query.with_untracked(|q| Opened {
        lead: query_lead(),
        kind: q.get("kind").and_then(|k| k.parse().ok()),
        // Only a moment from the last day: an old or future link logs "now".
        at: q
            .get("at")
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|at| (0..=86_400_000).contains(&(platform::now_ms() - at))),
        to_today: q.get("return").as_deref() == Some("today"),
    })
}

#[component]
pub fn VisitFormPage() -> impl IntoView {
    let opened = opened();
    let preselected = opened.lead;
    match route_id().get_untracked() {
        None => view! { <VisitForm existing=None preselected opened/> }.into_any(),
        // The visit is read from IndexedDB once; the form then keeps what it showed.
        Some(id) => {
            let found = stored_record::<Visit>(id);
            (move || match found.get() {
                None => view! { <BookLoading/> }.into_any(),
                Some(existing) => view! { <VisitForm existing preselected opened/> }.into_any(),
            })
            .into_any()
        }
    }
}

fn new_visit_draft(lead_id: Option<Id>, opened: Opened) -> VisitDraft {
    let now = opened.at.unwrap_or_else(platform::now_ms);
    let local = domain::local_datetime(now, platform::utc_offset_minutes());
    VisitDraft {
        lead_id,
        kind: opened.kind.unwrap_or(VisitKind::InPerson),
        // ISO date and `HH:MM`, what the date and time inputs take (without chrono's
        // format-string machinery in the download).
        date: local.date().to_string(),
        time: format!("{:02}:{:02}", local.hour(), local.minute()),
        ..VisitDraft::default()
    }
}

#[component]
fn VisitForm(existing: Option<Visit>, preselected: Option<Id>, opened: Opened) -> impl IntoView {
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
        None => new_visit_draft(preselected, opened),
    });
    // "More details" starts open when an edited visit has any of them.
    let details_open = RwSignal::new(existing.as_ref().is_some_and(has_details));
    let today = platform::today();
    // The follow-up the lead's grade asks for when it was due: filled in while the person has
    // not chosen one (`auto`), and changed with the lead picked.
    let follow_up_auto = RwSignal::new(false);
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
    // The picked lead as the book holds it (`None` while the book is read, or a new lead).
    let lead = Memo::new(move |_| lead_id.get().and_then(|id| state.lead(id)));
    let lead_due = Memo::new(move |_| {
        lead.with(|l| {
            l.as_ref()
                .is_some_and(|l| l.is_due(today) || l.is_overdue(today))
        })
    });
    // The team's rhythm (团队设置), the sales guide's until it is read or if none was set.
    let rhythm =
        crate::routes::reading(move || crate::components::team_settings::follow_up_days(state));
    if is_new {
        Effect::new(move |_| {
            let days: FollowUpDays = rhythm.get().unwrap_or_default();
            let suggested = lead.with(|l| {
                l.as_ref()
                    .and_then(|l| default_next_follow_up(l, today, &days))
            });
            let empty = draft.with_untracked(|d| d.next_follow_up.trim().is_empty());
            if empty || follow_up_auto.get_untracked() {
                draft.update(|d| {
                    d.next_follow_up = suggested.map(|d| d.to_string()).unwrap_or_default()
                });
                follow_up_auto.set(suggested.is_some());
            }
        });
    }
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
                if DETAIL_FIELDS.iter().any(|f| found.get(f).is_some()) {
                    details_open.set(true);
                }
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
                    let to = if opened.to_today {
                        "/".to_string()
                    } else {
                        format!("/leads/{lead_id}")
                    };
                    navigate(&to, Default::default());
                }
                Err(err) => banner.set(Some(err.key())),
            }
            saving.set(false);
        });
    };

    // The notes box takes the focus when the lead is already chosen: the log is typing.
    let notes_first = preselected.is_some() && is_new;
    view! {
        <section class="page form-page quick-log">
            <AppBar parent={Signal::derive(move || draft.with(|d| d.lead_id).map_or("/".to_string(), |id| format!("/leads/{id}")))}>
                <h1>{move || i.t(if is_new { "visit.title" } else { "visit.edit_title" })}</h1>
            </AppBar>
            <form novalidate on:submit=on_submit data-testid="visit-form">
                <FormBanner message=banner/>
                <LeadPicker value=lead_id id="v-lead_id" label="field.lead" field="lead_id" errors
                    required=true testid="visit-lead" creating=creating_lead agenda_first=true
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
                <KindChips draft/>
                <div class="field">
                    <label for="v-notes">{move || i.t("field.notes")}</label>
                    <textarea id="v-notes" name="notes" rows=4 data-first-stop=notes_first.then_some("")
                        aria-invalid=move || errors.with(|e| e.get("notes").is_some()).to_string()
                        prop:value=move || draft.with(|d| d.notes.clone())
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            draft.update(|d| d.notes = text);
                        }></textarea>
                    <FieldErrorText errors field="notes" id="v-notes-error".to_string()/>
                </div>
                <TextField draft get=|d| &d.outcome set=|d| &mut d.outcome label="field.outcome"
                    field="outcome" errors prefix="v"/>
                <FollowUpChips draft errors today due=lead_due auto=follow_up_auto/>
                <details class="more-details" data-testid="more-details" prop:open=move || details_open.get()
                    on:toggle=move |ev| {
                        let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
                        details_open.set(open);
                    }>
                    <summary data-testid="more-details-summary">{move || i.t("visit.more_details")}</summary>
                    <div class="field-row">
                        <TextField draft get=|d| &d.date set=|d| &mut d.date label="field.date" field="date"
                            errors kind="date" prefix="v" required=true/>
                        <TextField draft get=|d| &d.time set=|d| &mut d.time label="field.time" field="time"
                            errors kind="time" prefix="v"/>
                    </div>
                    <FieldErrorText errors field="started_at" id="v-started_at-error".to_string()/>
                    <TextField draft get=|d| &d.duration_min set=|d| &mut d.duration_min label="field.duration"
                        field="duration_min" errors inputmode="numeric" prefix="v"/>
                    <CheckInField draft errors/>
                    <TextField draft get=|d| &d.needs_discovered set=|d| &mut d.needs_discovered
                        label="field.needs_discovered" field="needs_discovered" errors multiline=true prefix="v"/>
                    <TextField draft get=|d| &d.objections set=|d| &mut d.objections label="field.objections"
                        field="objections" errors multiline=true prefix="v"/>
                    <TextField draft get=|d| &d.next_step set=|d| &mut d.next_step label="field.next_step"
                        field="next_step" errors prefix="v"/>
                    <ChoiceField draft get=|d| d.stage_after set=|d, v| d.stage_after = v options=&Stage::ALL
                        label="field.stage_after" field="stage_after" errors prefix="v" none_key="field.stage_unchanged"/>
                    <PhotosField draft errors/>
                    <MaterialsPicker selected=Signal::derive(move || draft.with(|d| d.materials.clone()))
                        on_toggle=Callback::new(move |id: Id| draft.update(|d| {
                            if d.materials.contains(&id) {
                                d.materials.retain(|m| *m != id);
                            } else {
                                d.materials.push(id);
                            }
                        }))/>
                </details>
                <div class="sticky-actions">
                    <FormActions saving on_delete/>
                </div>
            </form>
        </section>
    }
}

/// The fields "More details" holds: a refusal in one of them opens it.
const DETAIL_FIELDS: [&str; 10] = [
    "started_at",
    "date",
    "time",
    "duration_min",
    "check_in",
    "needs_discovered",
    "objections",
    "next_step",
    "stage_after",
    "photos",
];

/// Whether an edited visit has anything "More details" holds (its time is always set).
fn has_details(visit: &Visit) -> bool {
    visit.duration_min.is_some()
        || visit.check_in.is_some()
        || !visit.needs_discovered.is_empty()
        || !visit.objections.is_empty()
        || !visit.next_step.is_empty()
        || visit.stage_after.is_some()
        || !visit.photos.is_empty()
        || !visit.materials.is_empty()
}

/// The kind of contact as a row of chips (a radio group: arrow keys move between them).
#[component]
fn KindChips(draft: RwSignal<VisitDraft>) -> impl IntoView {
    let i = use_i18n();
    view! {
        <fieldset class="chips-field" data-testid="visit-kind">
            <legend>{move || i.t("field.kind")}</legend>
            <div class="chips">
                {VisitKind::ALL.iter().map(|kind| {
                    let kind = *kind;
                    view! {
                        <label class="chip" class:chosen=move || draft.with(|d| d.kind == kind)>
                            <input type="radio" name="kind" value=kind.as_str()
                                prop:checked=move || draft.with(|d| d.kind == kind)
                                on:change=move |_| draft.update(|d| d.kind = kind)/>
                            <span>{move || i.t(kind.key())}</span>
                        </label>
                    }
                }).collect_view()}
            </div>
        </fieldset>
    }
}

/// The next follow-up: quick chips that fill the date, the date itself, and "none". When the
/// lead was due, a date is asked for (preselected from its grade) and the hint says why.
#[component]
fn FollowUpChips(
    draft: RwSignal<VisitDraft>,
    errors: RwSignal<ValidationErrors>,
    today: NaiveDate,
    #[prop(into)] due: Signal<bool>,
    auto: RwSignal<bool>,
) -> impl IntoView {
    let i = use_i18n();
    let chosen = move || draft.with(|d| d.next_follow_up.trim().to_string());
    let set = move |value: String| {
        auto.set(false);
        draft.update(|d| d.next_follow_up = value);
    };
    let invalid = move || errors.with(|e| e.get("next_follow_up").is_some());
    view! {
        <fieldset class="chips-field follow-up" class:has-error=invalid data-testid="follow-up">
            <legend>{move || i.t("field.next_follow_up")}</legend>
            <Show when=move || due.get()>
                <p class="hint due-hint" data-testid="follow-up-due">{move || i.t("visit.follow_up_due")}</p>
            </Show>
            <div class="chips">
                {QUICK_FOLLOW_UPS.iter().map(|(key, days)| {
                    let key = *key;
                    let day = (today + chrono::Duration::days(*days)).to_string();
                    let value = day.clone();
                    view! {
                        <label class="chip" class:chosen={
                            let day = day.clone();
                            move || chosen() == day
                        }>
                            <input type="radio" name="follow-up-quick" value=day.clone()
                                prop:checked={
                                    let day = day.clone();
                                    move || chosen() == day
                                }
                                on:change=move |_| set(value.clone())/>
                            <span>{move || i.t(key)}</span>
                        </label>
                    }
                }).collect_view()}
                <label class="chip" class:chosen=move || chosen().is_empty()>
                    <input type="radio" name="follow-up-quick" value=""
                        prop:checked=move || chosen().is_empty()
                        on:change=move |_| set(String::new())/>
                    <span>{move || i.t("followup.none")}</span>
                </label>
            </div>
            <div class="field follow-up-date">
                <label for="v-next_follow_up">{move || i.t("followup.pick")}</label>
                <input id="v-next_follow_up" name="next_follow_up" type="date"
                    aria-invalid=move || invalid().to_string()
                    aria-describedby=move || invalid().then_some("v-next_follow_up-error")
                    prop:value=chosen
                    on:input=move |ev| set(event_target_value(&ev))/>
                <p class="hint">{move || i.t("visit.moves_follow_up")}</p>
                <FieldErrorText errors field="next_follow_up" id="v-next_follow_up-error".to_string()/>
            </div>
        </fieldset>
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
