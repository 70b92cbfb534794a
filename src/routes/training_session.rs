//! Training sessions (培训计划): the session as invitees and the manager see it, and the form
//! that schedules one.

use leptos::prelude::*;

use crate::i18n::use_i18n;

#[component]
pub fn SessionPage() -> impl IntoView {
    let i = use_i18n();
    view! { <section class="page"><header class="page-head"><h1>{move || i.t("nav.training")}</h1></header></section> }
}

#[component]
pub fn SessionEditorPage() -> impl IntoView {
    let i = use_i18n();
    view! { <section class="page"><header class="page-head"><h1>{move || i.t("nav.training")}</h1></header></section> }
}
