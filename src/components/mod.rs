//! Pieces several screens share.

pub mod app_bar;
pub mod files;
pub mod focus;
pub mod form;
pub mod icons;
pub mod lead_picker;
pub mod markdown;
pub mod menu;
pub mod people;
pub mod photos;
pub mod pwa;
pub mod reassign;
pub mod sync_notes;

use domain::Lead;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::{fill, use_i18n};
use crate::platform;

/// One line of a lead list: name, company, stage, grade and next follow-up, dense enough to scan
/// in a car park.
#[component]
pub fn LeadRow(lead: Lead) -> impl IntoView {
    let i = use_i18n();
    let href = format!("/leads/{}", lead.id);
    let today = platform::today();
    let overdue = lead.is_overdue(today);
    let due = lead.is_due(today);
    let grade = lead.grade;
    let stage = lead.stage;
    let follow_up = lead.next_follow_up;
    let company = lead.company.clone();
    view! {
        <li class="lead-row" data-testid="lead-row">
            <A href=href attr:class="row-link">
                <span class="row-main">
                    <span class="lead-name">{lead.name.clone()}</span>
                    <span class=format!("grade grade-{}", grade.as_str())
                        title=move || i.t("field.grade")>{move || i.t(grade.key())}</span>
                </span>
                <span class="row-sub">
                    {(!company.is_empty()).then(|| view! { <span class="company">{company.clone()}</span> })}
                    <span class=format!("stage stage-{}", stage.as_str())>{move || i.t(stage.key())}</span>
                    {follow_up.map(|date| view! {
                        <span class="follow-up" class:overdue=overdue class:due=due>
                            {move || fill(i.t("leads.follow_up"), platform::format_date(date, i.locale()))}
                        </span>
                    })}
                </span>
            </A>
        </li>
    }
}
