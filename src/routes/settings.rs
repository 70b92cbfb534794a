//! Settings 设置: language, this device's outbox, and the trash.

use domain::Record;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::app::LOCALE_PREF;
use crate::i18n::{use_i18n, Locale};
use crate::platform;
use crate::state::use_app;
use crate::store::{Change, SCHEMA_VERSION};

#[component]
pub fn Settings() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let trash = Memo::new(move |_| {
        state.leads.with(|all| {
            all.iter()
                .filter(|l| l.deleted)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let restore = move |lead: domain::Lead| {
        let mut lead = lead;
        lead.restore(platform::now_ms());
        spawn_local(async move {
            match state.save(vec![Change::Lead(lead)]).await {
                Ok(()) => state.notify(i.now("lead.restored"), false, None),
                Err(err) => state.notify(i.now(err.key()), true, None),
            }
        });
    };

    view! {
        <section class="page settings">
            <header class="page-head"><h1>{move || i.t("settings.title")}</h1></header>
            <div class="field">
                <label for="language">{move || i.t("settings.language")}</label>
                <select id="language" data-testid="language" on:change=move |ev| {
                    if let Some(locale) = Locale::from_tag(&event_target_value(&ev)) {
                        platform::set_pref(LOCALE_PREF, locale.tag());
                        state.locale.set(locale);
                    }
                }>
                    {Locale::ALL.iter().map(|l| {
                        let l = *l;
                        view! { <option value=l.tag() selected=move || state.locale.get() == l>{l.native_name()}</option> }
                    }).collect_view()}
                </select>
            </div>

            <h2 class="section-title">{move || i.t("settings.device")}</h2>
            <dl class="facts">
                <div class="fact"><dt>{move || i.t("settings.waiting")}</dt><dd data-testid="outbox-count">{move || state.waiting.get()}</dd></div>
                <div class="fact"><dt>{move || i.t("settings.device_id")}</dt><dd class="mono">{move || state.device_id.get().map(|id| id.to_string()).unwrap_or_default()}</dd></div>
                <div class="fact"><dt>{move || i.t("settings.schema")}</dt><dd>{SCHEMA_VERSION}</dd></div>
            </dl>

            <h2 class="section-title">{move || i.t("settings.trash")}</h2>
            <Show when=move || trash.with(|t| !t.is_empty())
                fallback=move || view! { <p class="empty">{move || i.t("settings.trash_empty")}</p> }>
                <ul class="list" data-testid="trash">
                    <For each=move || trash.get() key=|l| (l.id, l.updated_at) let:lead>
                        {
                            let href = format!("/leads/{}", lead.id);
                            let name = lead.name.clone();
                            view! {
                                <li class="trash-row">
                                    <A href=href>{name}</A>
                                    <button type="button" class="button" on:click=move |_| restore(lead.clone())>
                                        {move || i.t("lead.restore")}
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
        </section>
    }
}
