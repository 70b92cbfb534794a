//! The installed app's pieces of UI: the "new version" banner of the shell, Settings' section
//! on this device's app (install) and storage (usage, quota, persistence) and the version in
//! its About, and Today's hint to put the app on an iPhone's Home Screen.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::components::icons::{Icon, IconName};
use crate::i18n::use_i18n;
use crate::platform;
use crate::pwa::{format_bytes, AppUpdate, Install};
use crate::state::use_app;

/// "A new version is ready — Reload to update", while one waits (or another tab took it).
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let i = use_i18n();
    let pwa = use_app().pwa;
    let update = pwa.update;
    view! {
        <Show when=move || update.get() != AppUpdate::Current>
            <div class="banner notice update" role="status" data-testid="update-banner">
                <span>{move || if update.get() == AppUpdate::Activated {
                    i.t("update.other_window")
                } else {
                    i.t("update.ready")
                }}</span>
                <button type="button" class="button primary small" data-testid="update-reload"
                    disabled=move || update.get() == AppUpdate::Applying
                    on:click=move |_| pwa.apply_update()>
                    {move || i.t("update.reload")}
                </button>
            </div>
        </Show>
    }
}

/// Settings → "This device's app": install, storage used and whether it is kept.
#[component]
pub fn AppOnDevice() -> impl IntoView {
    let i = use_i18n();
    let pwa = use_app().pwa;
    spawn_local(pwa.refresh_storage());
    spawn_local(pwa.refresh_version());
    let ios_steps_open = RwSignal::new(false);

    let install = move || {
        match pwa.install.get() {
        Install::Installed => view! {
            <p data-testid="install-state" data-state="installed">{move || i.t("install.installed")}</p>
        }
        .into_any(),
        Install::Prompt => view! {
            <p>{move || i.t("install.hint")}</p>
            <button type="button" class="button primary" data-testid="install-app"
                on:click=move |_| spawn_local(pwa.prompt_install())>
                {move || i.t("install.button")}
            </button>
        }
        .into_any(),
        Install::IosSteps => view! {
            <p>{move || i.t("install.hint")}</p>
            <button type="button" class="button primary" data-testid="install-ios"
                aria-expanded=move || ios_steps_open.get().to_string()
                aria-controls="ios-install-steps"
                on:click=move |_| ios_steps_open.update(|open| *open = !*open)>
                {move || i.t("install.ios_button")}
            </button>
            <Show when=move || ios_steps_open.get()>
                <div class="sheet" id="ios-install-steps" role="region"
                    aria-labelledby="ios-install-title" data-testid="ios-install-steps">
                    <h3 id="ios-install-title">{move || i.t("install.ios_title")}</h3>
                    <ol>
                        <li><Icon name=IconName::Share class="share-glyph"/>{move || i.t("install.ios_step1")}</li>
                        <li>{move || i.t("install.ios_step2")}</li>
                        <li>{move || i.t("install.ios_step3")}</li>
                    </ol>
                    <button type="button" class="button" on:click=move |_| ios_steps_open.set(false)>
                        {move || i.t("install.close")}
                    </button>
                </div>
            </Show>
        }
        .into_any(),
        Install::Unavailable => view! {
            <p data-testid="install-state" data-state="menu">{move || i.t("install.from_menu")}</p>
        }
        .into_any(),
    }
    };

    view! {
        <h2 class="section-title">{move || i.t("app_device.title")}</h2>
        <div class="app-device">{install}</div>
        <dl class="facts">
            <div class="fact"><dt>{move || i.t("storage.used")}</dt>
                <dd data-testid="storage-used">{move || match pwa.storage.get() {
                    Some(s) => format!("{} / {}", format_bytes(s.usage), format_bytes(s.quota)),
                    None => i.t("storage.unknown").to_string(),
                }}</dd></div>
            <div class="fact"><dt>{move || i.t("storage.kept_label")}</dt>
                <dd data-testid="storage-persisted"
                    data-state=move || match pwa.persisted.get() {
                        Some(true) => "kept",
                        Some(false) => "not-kept",
                        None => "unknown",
                    }>
                    {move || match pwa.persisted.get() {
                        Some(true) => i.t("storage.kept"),
                        Some(false) => i.t("storage.not_kept_short"),
                        None => i.t("storage.unknown"),
                    }}</dd></div>
        </dl>
        <Show when=move || pwa.persisted.get() == Some(false)>
            <div class="banner warning" role="note" data-testid="storage-warning">
                <p>{move || i.t("storage.not_kept")}</p>
                <div class="actions">
                    <button type="button" class="button" data-testid="storage-ask"
                        on:click=move |_| spawn_local(pwa.ask_to_keep())>
                        {move || i.t("storage.ask_again")}
                    </button>
                </div>
            </div>
        </Show>
    }
}

/// The version of the app running, as its service worker names it (Settings → About).
#[component]
pub fn AppVersion() -> impl IntoView {
    let i = use_i18n();
    let pwa = use_app().pwa;
    view! {
        <div class="fact"><dt>{move || i.t("app_device.version")}</dt>
            <dd class="mono" data-testid="app-version">{move || pwa.version.get()
                .unwrap_or_else(|| i.t("app_device.no_version").to_string())}</dd></div>
    }
}

/// Key of the time (ms) the install hint on Today was last dismissed.
const HINT_DISMISSED: &str = "fieldbook.install_hint_dismissed";
/// A dismissed hint comes back after a week: as long as Safari's clock on the data.
const HINT_QUIET_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// On Today, for iPhone and iPad outside the Home Screen: Safari deletes a site's data after
/// seven days without use, so say it where the rep looks every day, not only in Settings.
#[component]
pub fn InstallHint() -> impl IntoView {
    let i = use_i18n();
    let pwa = use_app().pwa;
    let dismissed_at = platform::pref(HINT_DISMISSED).and_then(|ms| ms.parse::<i64>().ok());
    let quiet =
        RwSignal::new(dismissed_at.is_some_and(|at| platform::now_ms() - at < HINT_QUIET_MS));
    let dismiss = move |_| {
        platform::set_pref(HINT_DISMISSED, &platform::now_ms().to_string());
        quiet.set(true);
    };
    view! {
        <Show when=move || {
            pwa.install.get() == Install::IosSteps && pwa.persisted.get() != Some(true) && !quiet.get()
        }>
            <aside class="banner warning" data-testid="install-hint"
                aria-label=move || i.t("install.ios_title")>
                <p>{move || i.t("install.ios_today")}</p>
                <div class="actions">
                    <A href="/settings" attr:class="button primary" attr:data-testid="install-hint-how">
                        {move || i.t("install.ios_button")}
                    </A>
                    <button type="button" class="button" data-testid="install-hint-dismiss" on:click=dismiss>
                        {move || i.t("install.not_now")}
                    </button>
                </div>
            </aside>
        </Show>
    }
}
