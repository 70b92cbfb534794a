//! The training item editor (managers): title, kind, tags, audience, the Markdown body with a
//! live preview, attachments, the quiz, the assignment; save as draft, publish, republish.

use leptos::prelude::*;

use crate::i18n::use_i18n;

#[component]
pub fn ItemEditorPage() -> impl IntoView {
    let i = use_i18n();
    view! { <section class="page"><header class="page-head"><h1>{move || i.t("nav.training")}</h1></header></section> }
}
