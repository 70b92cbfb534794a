//! What an address the app does not know shows: a titled screen and the way back, for a
//! mistyped path and for a lead that is not on this device.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::use_i18n;

/// A path no route matches.
#[component]
pub fn NotFound() -> impl IntoView {
    view! { <Missing title_key="notfound.title" text_key="notfound.text" back="/" back_key="notfound.home"/> }
}

/// A lead id this device does not hold (never synced here, or removed).
#[component]
pub fn LeadNotFound() -> impl IntoView {
    view! { <Missing title_key="lead.not_found_title" text_key="lead.not_found" back="/leads"
    back_key="lead.back_to_list"/> }
}

#[component]
fn Missing(
    title_key: &'static str,
    text_key: &'static str,
    back: &'static str,
    back_key: &'static str,
) -> impl IntoView {
    let i = use_i18n();
    view! {
        <section class="page not-found" data-testid="not-found">
            <header class="page-head"><h1>{move || i.t(title_key)}</h1></header>
            <p class="empty">{move || i.t(text_key)}</p>
            <A href=back attr:class="button">{move || i.t(back_key)}</A>
        </section>
    }
}
