//! Pieces several screens share.

pub mod app_bar;
pub mod charts;
pub mod contact;
pub mod files;
pub mod focus;
pub mod form;
pub mod icons;
pub mod lead_picker;
pub mod markdown;
pub mod menu;
pub mod password;
pub mod people;
pub mod photos;
pub mod pwa;
pub mod reassign;
pub mod stage_reason;
pub mod sync_notes;
pub mod team_settings;

use domain::Lead;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::{due_day, use_i18n};
use crate::platform;
use crate::state::use_app;

/// One row of a lead list, dense enough to scan in a car park: the name, grade, the rep's name
/// (a manager's view of someone else's lead) and the expected value on the first line;
/// company, stage and the next follow-up said against today ("逾期 2 天", "明天") on the
/// second, overdue in the warning colour.
#[component]
pub fn LeadRow(lead: Lead) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let href = format!("/leads/{}", lead.id);
    let today = platform::today();
    let overdue = lead.is_overdue(today);
    let due = lead.is_due(today);
    let grade = lead.grade;
    let stage = lead.stage;
    let follow_up = lead.next_follow_up;
    let value = lead.expected_value;
    let company = lead.company.clone();
    let owner = lead.owner;
    // Whose lead it is, for a manager looking at a rep's lead (never on their own).
    let owner_name = move || {
        if !state.is_manager() {
            return None;
        }
        let me = state.account.with(|a| a.as_ref().map(|a| a.id));
        let owner = owner.filter(|o| Some(*o) != me)?;
        state.team.with(|team| {
            team.iter()
                .find(|m| m.id == owner)
                .map(|m| m.display_name.clone())
        })
    };
    view! {
        <li class="lead-row" data-testid="lead-row">
            <A href=href attr:class="row-link">
                <span class="row-main">
                    <span class="lead-name">{lead.name.clone()}</span>
                    <span class=format!("grade grade-{}", grade.as_str())
                        title=move || i.t("field.grade")>{move || i.t(grade.key())}</span>
                    {move || owner_name().map(|name| view! {
                        <span class="owner-chip" data-testid="owner-chip">
                            <span class="visually-hidden">{move || i.t("lead.owner")}": "</span>{name}
                        </span>
                    })}
                    {value.map(|m| view! {
                        <span class="row-value" data-testid="row-value">{move || platform::format_money_short(&m, i.locale())}</span>
                    })}
                </span>
                <span class="row-sub">
                    {(!company.is_empty()).then(|| view! { <span class="company">{company.clone()}</span> })}
                    <span class=format!("stage stage-{}", stage.as_str())>{move || i.t(stage.key())}</span>
                    {follow_up.map(|date| view! {
                        <span class="follow-up" class:overdue=overdue class:due=due data-testid="row-follow-up">
                            <span class="visually-hidden">{move || i.t("leads.follow_up")}</span>
                            {move || due_day(i.locale(), date, today)}
                        </span>
                    })}
                </span>
            </A>
        </li>
    }
}
