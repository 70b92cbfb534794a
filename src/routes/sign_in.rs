//! Sign in 登录: the first screen on a new device, and again when a session ends.
//!
//! Signing in needs the server; after that the app opens offline as the last user. When a
//! session ends, the outbox stays: the person signs in again (as the same user) and sync
//! carries on. Another user cannot sign in over unsynced data: they must sign out first,
//! which warns and then deletes the local database.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::LOCALE_PREF;
use crate::components::focus::announce_screen;
use crate::components::icons::{Icon, IconName};
use crate::components::password::ChangePassword;
use crate::i18n::{fill, tr, use_i18n, Locale};
use crate::platform;
use crate::state::use_app;
use crate::store::Account;
use crate::sync::api::{self, ApiError};

#[component]
pub fn SignIn() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let previous = state.account.get_untracked();
    let again = previous.is_some();
    let login = RwSignal::new(
        previous
            .as_ref()
            .map(|a| a.login.clone())
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    // The password in plain text, while the person checks what they typed.
    let shown = RwSignal::new(false);
    // Shown in place of the app (no route change): name it in the tab's title, again when
    // the language changes.
    Effect::new(move |_| {
        i.locale();
        announce_screen(false);
    });
    let error = RwSignal::new(None::<String>);
    let working = RwSignal::new(false);
    // Signed in with a one-time password (kept to change it): the new-password step shows.
    let one_time = RwSignal::new(None::<String>);
    let navigate = leptos_router::hooks::use_navigate();
    // Signed in for good: remember the account, sync, and open the app.
    let finish = {
        let navigate = navigate.clone();
        move |account: Account| {
            let navigate = navigate.clone();
            spawn_local(async move {
                match state.signed_in(account).await {
                    Ok(()) => {
                        password.set(String::new());
                        shown.set(false);
                        one_time.set(None);
                        if again {
                            navigate("/", Default::default());
                        } else {
                            // The app replaces this screen without a route change.
                            announce_screen(true);
                        }
                    }
                    Err(err) => error.set(Some(i.now(err.key()).to_string())),
                }
            });
        }
    };
    let finish_changed = {
        let finish = finish.clone();
        Callback::new(move |account: Account| finish(account))
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if working.get_untracked() {
            return;
        }
        let name = login.get_untracked().trim().to_string();
        let secret = password.get_untracked();
        if name.is_empty() || secret.is_empty() {
            error.set(Some(i.now("login.required").to_string()));
            return;
        }
        working.set(true);
        error.set(None);
        let finish = finish.clone();
        spawn_local(async move {
            let outcome = api::login(&name, &secret).await;
            working.set(false);
            let message = match outcome {
                Ok(account) => {
                    let holder = state.account.get_untracked();
                    match holder {
                        // Someone else's unsynced data is on this device: never mix the two.
                        Some(holder) if holder.id != account.id => {
                            let _ = api::logout().await;
                            fill(tr(i.locale(), "login.other_user"), holder.display_name)
                        }
                        // A one-time password opens nothing but choosing a new one.
                        _ if account.must_change_password => {
                            one_time.set(Some(secret));
                            return;
                        }
                        _ => {
                            finish(account);
                            return;
                        }
                    }
                }
                Err(ApiError::BadCredentials) => i.now("login.bad_credentials").to_string(),
                Err(ApiError::Locked { .. }) => i.now("login.locked").to_string(),
                Err(ApiError::Offline) => i.now("login.offline").to_string(),
                Err(_) => i.now("login.failed").to_string(),
            };
            error.set(Some(message));
        });
    };

    view! {
        <section class="page sign-in" data-testid="sign-in">
            <header class="page-head">
                <h1>{move || i.t("login.title")}</h1>
                <LanguageSwitch/>
            </header>
            <Show when=move || one_time.with(Option::is_some)
                fallback=move || view! {
            <p class="hint">{move || if again { i.t("login.again") } else { i.t("login.intro") }}</p>
            <form on:submit=submit.clone() novalidate>
                <div class="field">
                    <label for="login-name">{move || i.t("login.login")}</label>
                    <input id="login-name" name="username" autocomplete="username" autocapitalize="none"
                        spellcheck="false" data-testid="login-name" required
                        prop:value=move || login.get()
                        on:input=move |ev| login.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="login-password">{move || i.t("login.password")}</label>
                    <div class="password-field">
                        <input id="login-password" name="password" autocomplete="current-password"
                            type=move || if shown.get() { "text" } else { "password" }
                            autocapitalize="none" spellcheck="false"
                            data-testid="login-password" required
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))/>
                        <button type="button" class="icon-button reveal" data-testid="show-password"
                            aria-controls="login-password" aria-pressed=move || shown.get().to_string()
                            aria-label=move || i.t("login.show_password")
                            on:click=move |_| shown.update(|s| *s = !*s)>
                            {move || view! { <Icon name=if shown.get() { IconName::EyeOff } else { IconName::Eye }/> }}
                        </button>
                    </div>
                </div>
                {move || error.get().map(|text| view! {
                    <p class="banner error" role="alert" data-testid="login-error">{text}</p>
                })}
                <div class="actions">
                    <button type="submit" class="button primary" data-testid="login-submit" disabled=move || working.get()>
                        {move || if working.get() { i.t("login.working") } else { i.t("login.submit") }}
                    </button>
                </div>
            </form>
                }>
                <h2 class="section-title" data-testid="choose-password">{move || i.t("password.title")}</h2>
                <p class="hint">{move || i.t("password.first_time")}</p>
                <ChangePassword current=one_time.get_untracked().unwrap_or_default() on_changed=finish_changed/>
            </Show>
        </section>
    }
}

/// 中文 / English, before anyone has signed in: the same preference as Settings' language.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    view! {
        <div class="language-switch" role="group" aria-label=move || i.t("settings.language")>
            {Locale::ALL.iter().map(|locale| {
                let locale = *locale;
                view! {
                    <button type="button" class="button small" lang=locale.tag()
                        data-testid=format!("language-{}", locale.tag())
                        aria-pressed=move || (state.locale.get() == locale).to_string()
                        on:click=move |_| {
                            platform::set_pref(LOCALE_PREF, locale.tag());
                            state.locale.set(locale);
                        }>
                        {locale.native_name()}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}
