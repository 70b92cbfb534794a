//! The app shell: routes, navigation (bottom tabs on phones, a side bar on laptops), the network
//! and outbox indicator, and the toast.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes, A};
use leptos_router::path;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::components::focus::{announce_screen, focus_screen_heading};
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
    settings::Settings,
    sign_in::SignIn,
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

#[component]
pub fn App() -> impl IntoView {
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
                    <Show when=move || signed_in.get()><StatusBar/><SyncNoticeBanner/></Show>
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
                <span class="icon" aria-hidden="true">"◎"</span>
                <span>{move || i.t("nav.today")}</span>
            </A>
            <A href="/leads" attr:class="tab" attr:data-testid="nav-leads">
                <span class="icon" aria-hidden="true">"☰"</span>
                <span>{move || i.t("nav.leads")}</span>
            </A>
            <A href="/new/visit" attr:class="tab primary" attr:data-testid="nav-visit">
                <span class="icon" aria-hidden="true">"+"</span>
                <span>{move || i.t("nav.visit")}</span>
            </A>
            <A href="/training" attr:class="tab" attr:data-testid="nav-training">
                <span class="icon" aria-hidden="true">"❏"</span>
                <span>{move || i.t("nav.training")}</span>
            </A>
            <A href="/settings" attr:class="tab" attr:data-testid="nav-settings">
                <span class="icon" aria-hidden="true">"⚙"</span>
                <span>{move || i.t("nav.settings")}</span>
            </A>
        </nav>
    }
}

/// The sync indicator, always visible: offline, syncing, signed out, an error, the changes
/// waiting, or when the last sync finished; with "Sync now".
#[component]
fn StatusBar() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let phase = move || {
        if !state.online.get() {
            return "offline";
        }
        match state.sync.get() {
            SyncStatus::Syncing => "syncing",
            SyncStatus::Offline => "unreachable",
            SyncStatus::SignInNeeded => "signed-out",
            SyncStatus::Error(_) => "error",
            SyncStatus::Idle if state.waiting.get() > 0 => "waiting",
            SyncStatus::Idle => "synced",
        }
    };
    let text = move || {
        let waiting = state.waiting.get();
        let mut parts: Vec<String> = Vec::new();
        match (state.online.get(), state.sync.get()) {
            (false, _) => parts.push(i.t("net.offline").into()),
            (true, SyncStatus::Syncing) => parts.push(i.t("sync.syncing").into()),
            (true, SyncStatus::Offline) => parts.push(i.t("sync.unreachable").into()),
            (true, SyncStatus::SignInNeeded) => parts.push(i.t("sync.signed_out").into()),
            (true, SyncStatus::Error(key)) => parts.push(i.t(key).into()),
            (true, SyncStatus::Idle) => {}
        }
        if waiting > 0 {
            parts.push(count(i.locale(), "net.waiting", waiting));
        } else if let Some(at) = state.last_synced.get() {
            let when = platform::format_time(at, i.locale());
            parts.push(crate::i18n::fill(i.t("sync.synced_at"), when));
        } else if parts.is_empty() {
            parts.push(i.t("net.all_saved").into());
        }
        parts.join(" · ")
    };
    view! {
        <div class="status" data-testid="sync-status" data-state=phase
            data-synced-at=move || state.last_synced.get().unwrap_or(0).to_string()
            class:offline=move || matches!(phase(), "offline" | "unreachable" | "error" | "signed-out")>
            <span role="status" aria-live="polite" data-testid="sync-text">{text}</span>
            {move || if phase() == "signed-out" {
                view! {
                    <A href="/signin" attr:class="button small" attr:data-testid="sign-in-again">{move || i.t("sync.sign_in")}</A>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="button small" data-testid="sync-now"
                        disabled=move || !state.online.get() || phase() == "syncing"
                        on:click=move |_| sync::sync_now(state)>
                        {move || i.t("sync.now")}
                    </button>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn ToastView() -> impl IntoView {
    let state = use_app();
    let i = use_i18n();
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
