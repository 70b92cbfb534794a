//! The deal form 成交/订单: what was sold to a lead, for how much, and after-sales notes.

use domain::{Deal, DealDraft, DealStatus, Id, RecordMeta, ValidationErrors};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::components::app_bar::AppBar;
use crate::components::form::{focus_first_error, ChoiceField, FormActions, FormBanner, TextField};
use crate::components::lead_picker::LeadPicker;
use crate::i18n::use_i18n;
use crate::platform;
use crate::routes::lead_detail::BookLoading;
use crate::routes::{query_lead, route_id, stored_record, trash_action};
use crate::state::use_app;
use crate::store::{Change, Edit};

#[component]
pub fn DealFormPage() -> impl IntoView {
    let preselected = query_lead();
    match route_id().get_untracked() {
        None => view! { <DealForm existing=None preselected/> }.into_any(),
        // The deal is read from IndexedDB once; the form then keeps what it showed.
        Some(id) => {
            let found = stored_record::<Deal>(id);
            (move || match found.get() {
                None => view! { <BookLoading/> }.into_any(),
                Some(existing) => view! { <DealForm existing preselected/> }.into_any(),
            })
            .into_any()
        }
    }
}

#[component]
fn DealForm(existing: Option<Deal>, preselected: Option<Id>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let navigate = use_navigate();
    let is_new = existing.is_none();
    let now = platform::now_ms();
    let meta = match &existing {
        Some(d) => RecordMeta {
            id: d.id,
            owner: d.owner,
            team: d.team,
            created_at: d.created_at,
        },
        None => RecordMeta::new(platform::new_id(now), now),
    };
    let draft = RwSignal::new(match &existing {
        Some(d) => DealDraft::from_deal(d),
        None => DealDraft {
            lead_id: preselected,
            currency: "CNY".into(),
            closed_on: platform::today().to_string(),
            status: DealStatus::Won,
            ..DealDraft::default()
        },
    });
    let errors = RwSignal::new(ValidationErrors::default());
    let banner = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    let on_delete = trash_action(
        existing.clone(),
        |r: &Deal| r.lead_id,
        Change::Deal,
        "deal.deleted",
        banner,
    );
    let lead_id = Memo::new(move |_| draft.with(|d| d.lead_id));
    // What the person sees now: the save writes only what they change from it.
    let session = state.edit_session(existing.as_ref());

    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let now = platform::now_ms();
        match draft.with_untracked(|d| d.parse(&meta, now)) {
            Err(found) => {
                errors.set(found);
                banner.set(Some("form.fix_errors"));
                focus_first_error();
            }
            Ok(deal) => {
                errors.set(ValidationErrors::default());
                banner.set(None);
                saving.set(true);
                let lead_id = deal.lead_id;
                let navigate = navigate.clone();
                spawn_local(async move {
                    let edit = Edit {
                        change: Change::Deal(deal),
                        session: session.get_value(),
                    };
                    match state.save_edits(vec![edit]).await {
                        Ok(()) => {
                            state.notify(i.now("deal.saved"), false, None);
                            navigate(&format!("/leads/{lead_id}"), Default::default());
                        }
                        Err(err) => banner.set(Some(err.key())),
                    }
                    saving.set(false);
                });
            }
        }
    };

    view! {
        <section class="page form-page">
            <AppBar parent={Signal::derive(move || draft.with(|d| d.lead_id).map_or("/leads".to_string(), |id| format!("/leads/{id}")))}>
                <h1>{move || i.t(if is_new { "deal.title" } else { "deal.edit_title" })}</h1>
            </AppBar>
            <form novalidate on:submit=on_submit data-testid="deal-form">
                <FormBanner message=banner/>
                <LeadPicker value=lead_id id="d-lead_id" label="field.lead" field="lead_id" errors
                    required=true testid="deal-lead"
                    on_pick=Callback::new(move |id: Option<Id>| draft.update(|d| d.lead_id = id))/>
                <TextField draft get=|d| &d.product set=|d| &mut d.product label="field.product"
                    field="product" errors prefix="d" required=true/>
                <div class="field-row">
                    <TextField draft get=|d| &d.amount set=|d| &mut d.amount label="field.amount"
                        field="amount" errors prefix="d" inputmode="decimal" required=true/>
                    <TextField draft get=|d| &d.currency set=|d| &mut d.currency label="field.currency"
                        field="currency" errors prefix="d"/>
                </div>
                <div class="field-row">
                    <TextField draft get=|d| &d.closed_on set=|d| &mut d.closed_on label="field.closed_on"
                        field="closed_on" errors prefix="d" kind="date" required=true/>
                    <ChoiceField draft get=|d| Some(d.status) set=|d, v| if let Some(v) = v { d.status = v }
                        options=&DealStatus::ALL label="field.status" field="status" errors prefix="d"/>
                </div>
                <TextField draft get=|d| &d.after_sales set=|d| &mut d.after_sales label="field.after_sales"
                    field="after_sales" errors prefix="d" multiline=true/>
                <FormActions saving on_delete/>
            </form>
        </section>
    }
}
