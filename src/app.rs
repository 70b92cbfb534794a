//! The app shell: routes, navigation (bottom tabs on phones, a side bar on laptops), the sync
//! pill in the header, the toast, and the language and colour theme chosen on this device.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes, A};
use leptos_router::path;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::components::app_bar::provide_nav_history;
use crate::components::focus::{announce_screen, focus_screen_heading, focus_when_drawn};
use crate::components::icons::{Icon, IconName};
use crate::components::pwa::UpdateBanner;
use crate::components::sync_notes::SyncNoticeBanner;
use crate::i18n::{count, use_i18n, Locale};
use crate::platform;
use crate::routes::{
    deal_form::DealFormPage,
    lead_detail::LeadDetail,
    lead_form::LeadFormPage,
    leads::Leads,
    not_found::NotFound,
    pipeline::Pipeline,
    reports::Reports,
    settings::Settings,
    sign_in::SignIn,
    targets::Targets,
    today::Today,
    training::Library,
    training_archive::Archive,
    training_editor::ItemEditorPage,
    training_item::ItemReader,
    training_session::{SessionEditorPage, SessionPage},
    visit_form::VisitFormPage,
};
use crate::state::{use_app, AppState, LoadState};
use crate::sync::{self, SyncStatus};

/// Key of the language preference in `localStorage`.
pub const LOCALE_PREF: &str = "fieldbook.locale";

/// The language to start in: the saved choice, else the browser's.
pub fn initial_locale() -> Locale {
    platform::pref(LOCALE_PREF)
        .and_then(|tag| Locale::from_tag(&tag))
        .unwrap_or_else(|| Locale::negotiate(&platform::browser_languages()))
}

/// Key of the colour theme in `localStorage`: `light`, `dark`, else the system's.
pub const THEME_PREF: &str = "fieldbook.theme";

/// The colour theme: the system's (the default), or always light or always dark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// Anything but `light` or `dark` (nothing saved, an old value) follows the system.
    pub fn parse(raw: &str) -> Theme {
        match raw {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Theme::System => "theme.system",
            Theme::Light => "theme.light",
            Theme::Dark => "theme.dark",
        }
    }

    /// The theme saved on this device.
    pub fn saved() -> Theme {
        platform::pref(THEME_PREF)
            .map(|raw| Theme::parse(&raw))
            .unwrap_or(Theme::System)
    }

    /// Draws the app in this theme: `<html data-theme>`, which the stylesheet's palettes
    /// follow (without it, the system's `prefers-color-scheme` decides).
    pub fn apply(self) {
        if let Some(root) = document().document_element() {
            let _ = match self {
                Theme::System => root.remove_attribute("data-theme"),
                theme => root.set_attribute("data-theme", theme.as_str()),
            };
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    // Before anything is drawn, so the first screen already has its colours.
    Theme::saved().apply();
    let state = AppState::new(initial_locale());
    provide_context(state);
    spawn_local(state.open());
    watch_network(state);
    state.pwa.start();

    // Mirror the language into <html lang> so screen readers and fonts pick the right one.
    Effect::new(move |_| {
        let tag = state.locale.get().tag();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", tag);
        }
    });

    let signed_in = Memo::new(move |_| state.account.with(|a| a.is_some()));
    view! {
        <Router>
            <div class="shell" class:signed-out=move || !signed_in.get()>
                <Show when=move || signed_in.get()><SkipLink/><NavBar/></Show>
                <div class="content">
                    <UpdateBanner/>
                    <Show when=move || signed_in.get()>
                        <header class="topbar"><SyncPill/></header>
                        <SyncNoticeBanner/>
                    </Show>
                    <main id="main" tabindex="-1">
                        {move || match state.load.get() {
                            LoadState::Loading => view! { <Loading/> }.into_any(),
                            LoadState::Failed(err) => view! { <OpenFailed key=err.key()/> }.into_any(),
                            LoadState::Ready if signed_in.get() => view! { <Pages/> }.into_any(),
                            LoadState::Ready => view! { <SignIn/> }.into_any(),
                        }}
                    </main>
                </div>
                <ToastView/>
            </div>
        </Router>
    }
}

#[component]
fn Pages() -> impl IntoView {
    // Every screen names itself in the tab's title; after a route change its heading also
    // takes the focus. The first screen after start-up leaves the focus at the page's top,
    // where the skip link is the first stop.
    let location = leptos_router::hooks::use_location();
    provide_nav_history();
    // A language change renames the screen too (without moving the focus).
    let state = use_app();
    Effect::new(move |previous: Option<(String, Locale)>| {
        let path = location.pathname.get();
        let locale = state.locale.get();
        announce_screen(previous.is_some_and(|(p, _)| p != path));
        (path, locale)
    });
    view! {
        <Routes fallback=NotFound>
            <Route path=path!("/") view=Today/>
            <ParentRoute path=path!("/leads") view=LeadsSplit>
                <Route path=path!("") view=NoLeadSelected/>
                <Route path=path!(":id") view=LeadDetail/>
            </ParentRoute>
            <Route path=path!("/leads/:id/edit") view=LeadFormPage/>
            <Route path=path!("/new/lead") view=LeadFormPage/>
            <Route path=path!("/new/visit") view=VisitFormPage/>
            <Route path=path!("/visits/:id/edit") view=VisitFormPage/>
            <Route path=path!("/new/deal") view=DealFormPage/>
            <Route path=path!("/deals/:id/edit") view=DealFormPage/>
            <Route path=path!("/training") view=Library/>
            <Route path=path!("/training/:id") view=ItemReader/>
            <Route path=path!("/training/:id/edit") view=ItemEditorPage/>
            <Route path=path!("/new/training") view=ItemEditorPage/>
            <Route path=path!("/sessions/:id") view=SessionPage/>
            <Route path=path!("/sessions/:id/edit") view=SessionEditorPage/>
            <Route path=path!("/new/session") view=SessionEditorPage/>
            <Route path=path!("/archive") view=Archive/>
            <Route path=path!("/archive/:id") view=Archive/>
            <Route path=path!("/reports") view=Reports/>
            <Route path=path!("/pipeline") view=Pipeline/>
            <Route path=path!("/targets") view=Targets/>
            <Route path=path!("/settings") view=Settings/>
            <Route path=path!("/signin") view=SignIn/>
        </Routes>
    }
}

/// The lead list and the open lead: side by side where there is room (a laptop), one at a
/// time on a phone, where the list hides while a lead is open. The list stays mounted while
/// leads open and close, so its search and scroll position survive.
#[component]
fn LeadsSplit() -> impl IntoView {
    // The child route's `:id` is not among the parent's params, so read it off the path.
    let location = leptos_router::hooks::use_location();
    let has_detail = move || {
        location
            .pathname
            .with(|path| path.trim_end_matches('/').len() > "/leads".len())
    };
    view! {
        <div class="split" class:has-detail=has_detail>
            <div class="split-list"><Leads/></div>
            <div class="split-detail"><Outlet/></div>
        </div>
    }
}

/// The detail pane before a lead is chosen; only shown on wide screens.
#[component]
fn NoLeadSelected() -> impl IntoView {
    let i = use_i18n();
    view! { <p class="empty no-selection">{move || i.t("leads.pick_one")}</p> }
}

#[component]
fn Loading() -> impl IntoView {
    let i = use_i18n();
    view! {
        <div class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            {move || i.t("app.loading")}
        </div>
    }
}

#[component]
fn OpenFailed(key: &'static str) -> impl IntoView {
    let i = use_i18n();
    view! { <p class="banner error" role="alert">{move || i.t(key)}</p> }
}

/// The first stop of the Tab key: straight to the screen, past the navigation.
#[component]
fn SkipLink() -> impl IntoView {
    let i = use_i18n();
    // The router would treat `#main` as a navigation; the link only moves the focus.
    let skip = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        focus_screen_heading();
    };
    view! {
        <a class="skip-link" href="#main" data-testid="skip-link" on:click=skip>{move || i.t("nav.skip")}</a>
    }
}

#[component]
fn NavBar() -> impl IntoView {
    let i = use_i18n();
    view! {
        <nav class="nav" aria-label=move || i.t("nav.main")>
            <span class="brand">"Fieldbook"</span>
            <A href="/" exact=true attr:class="tab" attr:data-testid="nav-today">
                <Icon name=IconName::Today/>
                <span>{move || i.t("nav.today")}</span>
            </A>
            <A href="/leads" attr:class="tab" attr:data-testid="nav-leads">
                <Icon name=IconName::Leads/>
                <span>{move || i.t("nav.leads")}</span>
            </A>
            <A href="/new/visit" attr:class="tab primary" attr:data-testid="nav-visit">
                <Icon name=IconName::Add/>
                <span>{move || i.t("nav.visit")}</span>
            </A>
            <A href="/reports" attr:class="tab" attr:data-testid="nav-reports">
                <Icon name=IconName::Chart/>
                <span>{move || i.t("nav.reports")}</span>
            </A>
            <A href="/training" attr:class="tab" attr:data-testid="nav-training">
                <Icon name=IconName::Training/>
                <span>{move || i.t("nav.training")}</span>
            </A>
            <A href="/settings" attr:class="tab" attr:data-testid="nav-settings">
                <Icon name=IconName::Settings/>
                <span>{move || i.t("nav.settings")}</span>
            </A>
        </nav>
    }
}

/// Where sync stands, in one word or two: what the pill says and its `data-state`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SyncPhase {
    Offline,
    Syncing,
    Unreachable,
    SignedOut,
    Error(&'static str),
    Waiting,
    Synced,
}

impl SyncPhase {
    fn of(online: bool, status: SyncStatus, records_waiting: u32) -> SyncPhase {
        if !online {
            return SyncPhase::Offline;
        }
        match status {
            SyncStatus::Syncing => SyncPhase::Syncing,
            SyncStatus::Offline => SyncPhase::Unreachable,
            SyncStatus::SignInNeeded => SyncPhase::SignedOut,
            SyncStatus::Error(key) => SyncPhase::Error(key),
            SyncStatus::Idle if records_waiting > 0 => SyncPhase::Waiting,
            SyncStatus::Idle => SyncPhase::Synced,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SyncPhase::Offline => "offline",
            SyncPhase::Syncing => "syncing",
            SyncPhase::Unreachable => "unreachable",
            SyncPhase::SignedOut => "signed-out",
            SyncPhase::Error(_) => "error",
            SyncPhase::Waiting => "waiting",
            SyncPhase::Synced => "synced",
        }
    }

    fn icon(self) -> IconName {
        match self {
            SyncPhase::Offline | SyncPhase::Unreachable => IconName::Offline,
            SyncPhase::Syncing | SyncPhase::Waiting => IconName::Sync,
            SyncPhase::SignedOut => IconName::Person,
            SyncPhase::Error(_) => IconName::Alert,
            SyncPhase::Synced => IconName::Check,
        }
    }

    /// Something keeps the records from the server: drawn as a warning.
    fn is_stuck(self) -> bool {
        matches!(
            self,
            SyncPhase::Offline
                | SyncPhase::Unreachable
                | SyncPhase::SignedOut
                | SyncPhase::Error(_)
        )
    }

    /// The pill's word for the state, when it has one besides the waiting count.
    fn short_key(self) -> Option<&'static str> {
        match self {
            SyncPhase::Offline => Some("sync.pill_offline"),
            SyncPhase::Syncing => Some("sync.syncing"),
            SyncPhase::Unreachable => Some("sync.pill_unreachable"),
            SyncPhase::SignedOut => Some("sync.pill_sign_in"),
            SyncPhase::Error(_) => Some("sync.pill_error"),
            SyncPhase::Waiting | SyncPhase::Synced => None,
        }
    }

    /// The whole sentence, in the pill's panel.
    fn detail_key(self) -> &'static str {
        match self {
            SyncPhase::Offline => "net.offline",
            SyncPhase::Syncing => "sync.syncing",
            SyncPhase::Unreachable => "sync.unreachable",
            SyncPhase::SignedOut => "sync.signed_out",
            SyncPhase::Error(key) => key,
            SyncPhase::Waiting => "sync.detail_waiting",
            SyncPhase::Synced => "sync.detail_synced",
        }
    }
}

/// The sync indicator, always visible: a small pill in the header saying offline, syncing,
/// sign in again, an error, how many records wait, or when the last sync finished. A tap
/// opens the detail and "Sync now"; when the session ended the pill leads to sign-in.
#[component]
fn SyncPill() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let open = RwSignal::new(false);
    let phase = Memo::new(move |_| {
        SyncPhase::of(
            state.online.get(),
            state.sync.get(),
            state.records_waiting.get(),
        )
    });
    let text = move || {
        let waiting = state.records_waiting.get();
        let mut parts: Vec<String> = Vec::new();
        if let Some(key) = phase.get().short_key() {
            parts.push(i.t(key).into());
        }
        if waiting > 0 {
            parts.push(count(i.locale(), "sync.records_waiting", waiting));
        } else if parts.is_empty() {
            match state.last_synced.get() {
                Some(at) => {
                    let when = platform::format_time(at, i.locale());
                    parts.push(crate::i18n::fill(i.t("sync.synced_at"), when));
                }
                None => parts.push(i.t("net.all_saved").into()),
            }
        }
        parts.join(" · ")
    };
    // The panel closes when the screen changes under it.
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        location.pathname.track();
        open.set(false);
    });
    let close = move || {
        open.set(false);
        focus_when_drawn("[data-testid=sync-pill]");
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            ev.prevent_default();
            close();
        }
    };
    let sync_now = move |_| {
        close();
        sync::sync_now(state);
    };
    let pill = move || {
        // The 44 px target is the whole control; the pill drawn inside it is smaller.
        let face = view! {
            <span class="pill-face">
                <Icon name=phase.get().icon()/>
                <span data-testid="sync-text">{text}</span>
            </span>
        };
        if phase.get() == SyncPhase::SignedOut {
            view! {
                <A href="/signin" attr:class="pill" attr:data-testid="sign-in-again">{face}</A>
            }
            .into_any()
        } else {
            view! {
                <button type="button" class="pill" data-testid="sync-pill" aria-controls="sync-panel"
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)>
                    {face}
                </button>
            }
            .into_any()
        }
    };
    view! {
        <div class="sync" data-testid="sync-status" data-state=move || phase.get().name()
            data-synced-at=move || state.last_synced.get().unwrap_or(0).to_string()
            class:stuck=move || phase.get().is_stuck() on:keydown=on_keydown>
            {pill}
            // Read out when it changes; the pill itself is a control, not a live region.
            <span class="visually-hidden" role="status" aria-live="polite">{text}</span>
            <Show when=move || open.get()>
                <div class="menu-backdrop" aria-hidden="true" on:click=move |_| close()></div>
                <div class="menu sync-panel" id="sync-panel" role="region"
                    aria-label=move || i.t("sync.panel") data-testid="sync-panel">
                    <p class="sync-detail">{move || i.t(phase.get().detail_key())}</p>
                    <dl class="facts compact">
                        <div class="fact"><dt>{move || i.t("account.last_synced")}</dt>
                            <dd data-testid="sync-last">{move || match state.last_synced.get() {
                                Some(ms) => platform::format_date_time(ms, i.locale()),
                                None => i.t("account.never").to_string(),
                            }}</dd></div>
                        <div class="fact"><dt>{move || i.t("sync.records_label")}</dt>
                            <dd data-testid="sync-waiting">{move || state.records_waiting.get()}</dd></div>
                    </dl>
                    <button type="button" class="button primary" data-testid="sync-now"
                        disabled=move || !state.online.get() || phase.get() == SyncPhase::Syncing
                        on:click=sync_now>
                        <Icon name=IconName::Sync/>
                        <span>{move || i.t("sync.now")}</span>
                    </button>
                </div>
            </Show>
        </div>
    }
}

/// How long after a toast was raised a route change still belongs to it (the screen a save
/// opens), in ms.
const TOAST_FOLLOWS_MS: u64 = 1500;

#[component]
fn ToastView() -> impl IntoView {
    let state = use_app();
    let i = use_i18n();
    // A route change clears a toast about the screen left behind; one raised just before
    // (a save, or a delete with its undo, that then opened another screen) stays.
    let location = leptos_router::hooks::use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        let now = u64::try_from(platform::now_ms()).unwrap_or(0);
        let stale = state.toast.with_untracked(|t| {
            t.as_ref()
                .is_some_and(|t| now.saturating_sub(t.serial) > TOAST_FOLLOWS_MS)
        });
        if previous.is_some_and(|p| p != path) && stale {
            state.toast.set(None);
        }
        path
    });
    // Each toast hides itself after a few seconds, unless a newer one replaced it.
    Effect::new(move |_| {
        if let Some(serial) = state.toast.with(|t| t.as_ref().map(|t| t.serial)) {
            set_timeout(
                move || {
                    if state.toast.with_untracked(|t| t.as_ref().map(|t| t.serial)) == Some(serial)
                    {
                        state.toast.set(None);
                    }
                },
                std::time::Duration::from_secs(6),
            );
        }
    });
    let undo = move |_| {
        let change = state
            .toast
            .with_untracked(|t| t.as_ref().and_then(|t| t.undo.clone()));
        state.toast.set(None);
        if let Some(change) = change {
            spawn_local(async move {
                if let Err(err) = state.save(vec![change]).await {
                    state.notify(i.now(err.key()), true, None);
                }
            });
        }
    };
    view! {
        <div class="toast-area" aria-live="polite">
            {move || state.toast.get().map(|t| view! {
                <div class="toast" class:error=t.is_error role=if t.is_error { "alert" } else { "status" }
                    data-testid="toast">
                    <span>{t.text.clone()}</span>
                    {t.undo.is_some().then(|| view! {
                        <button type="button" class="link" on:click=undo>{move || i.t("lead.restore")}</button>
                    })}
                </div>
            })}
        </div>
    }
}

/// Follows `navigator.onLine` and the `online`/`offline` events.
fn watch_network(state: AppState) {
    let Some(window) = web_sys::window() else {
        return;
    };
    state.online.set(window.navigator().on_line());
    for (event, online) in [("online", true), ("offline", false)] {
        let handler = Closure::<dyn Fn()>::new(move || state.online.set(online));
        let _ = window.add_event_listener_with_callback(event, handler.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        handler.forget();
    }
}
