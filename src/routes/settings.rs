//! Settings 设置: account, language and theme, this device's app and storage, the trash, and
//! under "About" the details a developer asks for (version, device id, database version).

use domain::Record;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::app::{Theme, LOCALE_PREF, THEME_PREF};
use crate::components::focus::focus_when_drawn;
use crate::components::password::{PasswordSection, TeamAccounts};
use crate::components::pwa::{AppOnDevice, AppVersion};
use crate::components::team_settings::FollowUpRhythm;
use crate::i18n::{count, use_i18n, Locale};
use crate::platform;
use crate::state::use_app;
use crate::store::{Change, SCHEMA_VERSION};

#[component]
pub fn Settings() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let trash = Memo::new(move |_| {
        state.book.with(|book| {
            let mut trash: Vec<domain::Lead> = book.iter().filter(|l| l.deleted).cloned().collect();
            trash.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
            trash
        })
    });
    let restore = move |lead: domain::Lead| {
        let mut lead = lead;
        lead.restore(platform::now_ms());
        spawn_local(async move {
            match state.save(vec![Change::Lead(lead)]).await {
                Ok(()) => {
                    state.notify(i.now("lead.restored"), false, None);
                    // The row and its button are gone: keep the focus in the trash section.
                    focus_when_drawn("#trash-title");
                }
                Err(err) => state.notify(i.now(err.key()), true, None),
            }
        });
    };

    let confirming = RwSignal::new(false);
    let signing_out = RwSignal::new(false);
    let sign_out = move |_| {
        signing_out.set(true);
        spawn_local(async move {
            if let Err(err) = state.sign_out().await {
                signing_out.set(false);
                state.notify(i.now(err.key()), true, None);
            }
        });
    };

    view! {
        <section class="page settings">
            <header class="page-head"><h1>{move || i.t("settings.title")}</h1></header>
            <h2 class="section-title">{move || i.t("account.title")}</h2>
            <dl class="facts">
                <div class="fact"><dt>{move || i.t("account.signed_in_as")}</dt>
                    <dd data-testid="account-name">{move || state.account.get().map(|a| {
                        let role = match a.role.as_str() {
                            "manager" => i.t("role.manager"),
                            "admin" => i.t("role.admin"),
                            _ => i.t("role.rep"),
                        };
                        format!("{} ({}) · {}", a.display_name, a.login, role)
                    })}</dd></div>
                <div class="fact"><dt>{move || i.t("account.last_synced")}</dt>
                    <dd>{move || match state.last_synced.get() {
                        Some(ms) => platform::format_date_time(ms, i.locale()),
                        None => i.t("account.never").to_string(),
                    }}</dd></div>
            </dl>
            <Show when=move || confirming.get()
                fallback=move || view! {
                    <button type="button" class="button" data-testid="sign-out" on:click=move |_| {
                        confirming.set(true);
                        // The button goes away: the focus moves to the safe choice of the question.
                        focus_when_drawn("[data-testid=sign-out-cancel]");
                    }>
                        {move || i.t("account.sign_out")}
                    </button>
                }>
                <div class="banner warning" role="alertdialog" aria-labelledby="sign-out-text" data-testid="sign-out-confirm">
                    <p id="sign-out-text">
                        {move || (state.records_waiting.get() > 0).then(|| view! {
                            <strong data-testid="sign-out-unsynced">{count(i.locale(), "account.sign_out_unsynced", state.records_waiting.get())}</strong>" "
                        })}
                        {move || i.t("account.sign_out_confirm")}
                    </p>
                    <div class="actions">
                        <button type="button" class="button danger" data-testid="sign-out-anyway"
                            disabled=move || signing_out.get() on:click=sign_out>
                            {move || i.t("account.sign_out_anyway")}
                        </button>
                        <button type="button" class="button" data-testid="sign-out-cancel" on:click=move |_| {
                            confirming.set(false);
                            focus_when_drawn("[data-testid=sign-out]");
                        }>
                            {move || i.t("form.cancel")}
                        </button>
                    </div>
                </div>
            </Show>

            <PasswordSection/>

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

            <FollowUpRhythm/>

            <TeamAccounts/>

            <ThemeChoice/>

            <AppOnDevice/>

            <h2 class="section-title" id="trash-title" tabindex="-1">{move || i.t("settings.trash")}</h2>
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

            <details class="about" data-testid="about">
                <summary data-testid="about-toggle">{move || i.t("settings.about")}</summary>
                <dl class="facts">
                    <AppVersion/>
                    <div class="fact"><dt>{move || i.t("settings.waiting")}</dt><dd data-testid="outbox-count">{move || state.waiting.get()}</dd></div>
                    <div class="fact"><dt>{move || i.t("settings.device_id")}</dt><dd class="mono" data-testid="device-id">{move || state.device_id.get().map(|id| id.to_string()).unwrap_or_default()}</dd></div>
                    <div class="fact"><dt>{move || i.t("settings.schema")}</dt><dd>{SCHEMA_VERSION}</dd></div>
                </dl>
            </details>
        </section>
    }
}

/// System, light or dark: saved on this device and applied at once.
#[component]
fn ThemeChoice() -> impl IntoView {
    let i = use_i18n();
    let chosen = RwSignal::new(Theme::saved());
    view! {
        <fieldset class="choice-group" data-testid="theme">
            <legend>{move || i.t("settings.theme")}</legend>
            {Theme::ALL.iter().map(|theme| {
                let theme = *theme;
                view! {
                    <label class="check">
                        <input type="radio" name="theme" value=theme.as_str()
                            data-testid=format!("theme-{}", theme.as_str())
                            prop:checked=move || chosen.get() == theme
                            on:change=move |_| {
                                platform::set_pref(THEME_PREF, theme.as_str());
                                theme.apply();
                                chosen.set(theme);
                            }/>
                        <span>{move || i.t(theme.key())}</span>
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}
