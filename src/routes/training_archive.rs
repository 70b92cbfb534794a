//! The training archive (培训档案): a person's history, and for a manager the team matrix;
//! both exportable as CSV.

use leptos::prelude::*;

use crate::i18n::use_i18n;

#[component]
pub fn Archive() -> impl IntoView {
    let i = use_i18n();
    view! { <section class="page"><header class="page-head"><h1>{move || i.t("nav.training")}</h1></header></section> }
}
