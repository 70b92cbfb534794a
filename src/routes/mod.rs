//! One screen per file.

pub mod deal_form;
pub mod lead_detail;
pub mod lead_form;
pub mod leads;
pub mod settings;
pub mod today;
pub mod visit_form;

use domain::Id;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The `:id` of the current route, when it is a valid id.
pub fn route_id() -> Memo<Option<Id>> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("id").and_then(|raw| Id::parse(&raw).ok())))
}

/// The `?lead=` query of the current route, when it is a valid id.
pub fn query_lead() -> Option<Id> {
    use_query_map().with_untracked(|q| q.get("lead").and_then(|raw| Id::parse(&raw).ok()))
}
