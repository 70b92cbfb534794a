//! The installed app: the service worker (registration and updates), the offer to install, and
//! the browser's storage (persistence, usage and quota).
//!
//! - The service worker (`src/sw.js`, written to `dist/sw.js` by the build with its precache
//!   list) serves the app shell from its cache. A new build's worker installs in the background
//!   and then waits; [`Pwa::update`] becomes [`AppUpdate::Ready`] and the shell shows "Reload to
//!   update". Taking it tells the waiting worker to activate; when it controls the page, the
//!   page reloads into the new version. Nothing in IndexedDB is touched: the outbox and every
//!   record stay, and a new schema version upgrades the database when the new code opens it.
//!   Another tab that sees the new worker take over gets [`AppUpdate::Activated`]: its code is
//!   old, so it offers a plain reload.
//! - Install: Chromium's `beforeinstallprompt` is kept and replayed from a button; iOS has no
//!   prompt, so there the button opens a sheet with the Share → Add to Home Screen steps.
//! - Storage: after sign-in or the first save the app asks `navigator.storage.persist()`, so
//!   the browser does not evict the book to free space; Settings shows usage and quota and
//!   warns when persistence was refused.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerRegistration, ServiceWorkerState};

/// Where a new version of the app stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppUpdate {
    /// Running the newest version the browser knows of.
    Current,
    /// A new version is cached and waiting for the word.
    Ready,
    /// The word was given; the page reloads once the new version controls it.
    Applying,
    /// Another tab switched to a new version; this page still runs the old code.
    Activated,
}

/// What installing looks like here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Install {
    /// Not offered by this browser (or not yet: Chromium decides when to offer it).
    Unavailable,
    /// Chromium offered it: a button replays its prompt.
    Prompt,
    /// iOS: no prompt exists, a sheet shows the steps.
    IosSteps,
    /// Running as the installed app.
    Installed,
}

/// The browser's storage for this site, in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StorageUse {
    pub usage: f64,
    pub quota: f64,
}

/// The path of the service worker (at the root, so its scope is the whole app).
const WORKER: &str = "/sw.js";
/// How often a long-open app looks for a new version (the browser also looks on navigation).
const UPDATE_CHECK_MS: i32 = 60 * 60 * 1000;

/// Handles to the installed app's state. `Copy`, like `AppState`, which holds it.
#[derive(Clone, Copy)]
pub struct Pwa {
    pub update: RwSignal<AppUpdate>,
    pub install: RwSignal<Install>,
    /// Whether the browser keeps this site's data under storage pressure: `None` when
    /// unknown or unsupported.
    pub persisted: RwSignal<Option<bool>>,
    pub storage: RwSignal<Option<StorageUse>>,
    /// The version of the shell the service worker serves (a hash of its files), asked of
    /// the worker itself: what support asks "which version is on your phone?" for.
    pub version: RwSignal<Option<String>>,
    registration: StoredValue<Option<ServiceWorkerRegistration>, LocalStorage>,
    install_event: StoredValue<Option<JsValue>, LocalStorage>,
    asked_persist: StoredValue<bool>,
}

impl Default for Pwa {
    fn default() -> Self {
        Pwa::new()
    }
}

impl Pwa {
    pub fn new() -> Pwa {
        Pwa {
            update: RwSignal::new(AppUpdate::Current),
            install: RwSignal::new(Install::Unavailable),
            persisted: RwSignal::new(None),
            storage: RwSignal::new(None),
            version: RwSignal::new(None),
            registration: StoredValue::new_local(None),
            install_event: StoredValue::new_local(None),
            asked_persist: StoredValue::new(false),
        }
    }

    /// Registers the service worker and listens for updates and the install offer.
    pub fn start(self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        self.watch_install(&window);
        if has(&window.navigator(), "serviceWorker") {
            spawn_local(async move {
                // No worker (an old browser, a private window that refuses it): the app
                // still runs, it just needs the network to start.
                let _ = self.register().await;
            });
        }
    }

    async fn register(self) -> Result<(), JsValue> {
        let window = web_sys::window().ok_or(JsValue::NULL)?;
        let container = window.navigator().service_worker();
        let had_controller = container.controller().is_some();
        let on_controller_change = Closure::<dyn Fn()>::new(move || {
            match self.update.get_untracked() {
                AppUpdate::Applying => crate::platform::reload_page(),
                // The first install taking control is no update.
                _ if had_controller => self.update.set(AppUpdate::Activated),
                _ => {}
            }
        });
        container.set_oncontrollerchange(Some(on_controller_change.as_ref().unchecked_ref()));
        on_controller_change.forget();

        let registration = match JsFuture::from(container.register(WORKER)).await {
            Ok(registration) => registration,
            // Offline the worker script cannot be fetched, and register() fails even though
            // the registration from an earlier visit is in force: watch that one instead.
            Err(err) => {
                let existing = JsFuture::from(container.get_registration()).await?;
                if existing.is_undefined() {
                    return Err(err);
                }
                existing
            }
        };
        let registration: ServiceWorkerRegistration = registration.dyn_into()?;
        if registration.waiting().is_some() && container.controller().is_some() {
            self.update.set(AppUpdate::Ready);
        }
        let on_found = {
            let registration = registration.clone();
            Closure::<dyn Fn()>::new(move || {
                if let Some(worker) = registration.installing() {
                    let watched = worker.clone();
                    let on_state = Closure::<dyn Fn()>::new(move || {
                        let controlled = web_sys::window()
                            .is_some_and(|w| w.navigator().service_worker().controller().is_some());
                        if watched.state() == ServiceWorkerState::Installed && controlled {
                            self.update.set(AppUpdate::Ready);
                        }
                    });
                    worker.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
                    on_state.forget();
                }
            })
        };
        registration.set_onupdatefound(Some(on_found.as_ref().unchecked_ref()));
        on_found.forget();
        self.registration.set_value(Some(registration));

        // Look for a new version when the network returns and every hour while open.
        let check = Closure::<dyn Fn()>::new(move || self.check_for_update());
        let _ = window.add_event_listener_with_callback("online", check.as_ref().unchecked_ref());
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            check.as_ref().unchecked_ref(),
            UPDATE_CHECK_MS,
        );
        check.forget();
        Ok(())
    }

    /// Asks the browser to look for a new version now.
    pub fn check_for_update(self) {
        if let Some(Ok(promise)) = self
            .registration
            .with_value(|r| r.as_ref().map(|r| r.update()))
        {
            // A failed check (offline) is no error: the current version keeps running.
            spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
    }

    /// "Reload to update": lets the waiting version take over, then reloads into it.
    pub fn apply_update(self) {
        let waiting = self
            .registration
            .with_value(|r| r.as_ref().and_then(|r| r.waiting()));
        match (self.update.get_untracked(), waiting) {
            (AppUpdate::Ready, Some(worker)) => {
                self.update.set(AppUpdate::Applying);
                let message = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&message, &"type".into(), &"skip-waiting".into());
                if worker.post_message(&message).is_err() {
                    crate::platform::reload_page();
                }
            }
            _ => crate::platform::reload_page(),
        }
    }

    fn watch_install(self, window: &web_sys::Window) {
        if is_standalone(window) {
            self.install.set(Install::Installed);
            return;
        }
        if is_ios(window) {
            self.install.set(Install::IosSteps);
        }
        let on_offer = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
            // Keep the offer for our own button instead of the browser's mini bar.
            event.prevent_default();
            self.install_event.set_value(Some(event.into()));
            self.install.set(Install::Prompt);
        });
        let on_installed = Closure::<dyn Fn()>::new(move || {
            self.install_event.set_value(None);
            self.install.set(Install::Installed);
        });
        let _ = window.add_event_listener_with_callback(
            "beforeinstallprompt",
            on_offer.as_ref().unchecked_ref(),
        );
        let _ = window.add_event_listener_with_callback(
            "appinstalled",
            on_installed.as_ref().unchecked_ref(),
        );
        on_offer.forget();
        on_installed.forget();
    }

    /// Shows the browser's install prompt kept from `beforeinstallprompt`. An offer can be
    /// used once: a dismissed one waits for the browser to offer again.
    pub async fn prompt_install(self) {
        let Some(event) = self.install_event.get_value() else {
            return;
        };
        self.install_event.set_value(None);
        self.install.set(Install::Unavailable);
        let Ok(prompt) = js_sys::Reflect::get(&event, &"prompt".into()) else {
            return;
        };
        let Ok(prompt) = prompt.dyn_into::<js_sys::Function>() else {
            return;
        };
        if let Ok(shown) = prompt.call0(&event) {
            if let Ok(shown) = shown.dyn_into::<js_sys::Promise>() {
                let _ = JsFuture::from(shown).await;
            }
        }
        let outcome = match js_sys::Reflect::get(&event, &"userChoice".into())
            .ok()
            .and_then(|c| c.dyn_into::<js_sys::Promise>().ok())
        {
            Some(choice) => JsFuture::from(choice).await.ok(),
            None => None,
        };
        let accepted = outcome
            .and_then(|o| js_sys::Reflect::get(&o, &"outcome".into()).ok())
            .and_then(|o| o.as_string())
            .is_some_and(|o| o == "accepted");
        if accepted {
            self.install.set(Install::Installed);
        }
    }

    /// After sign-in or a save: asks once per page load that the browser keep this site's
    /// data (granted silently by Chromium for installed or often used sites, asked by Firefox).
    pub fn keep_data(self) {
        if self.asked_persist.get_value() {
            return;
        }
        self.asked_persist.set_value(true);
        spawn_local(async move {
            let kept = match storage_call("persisted").await {
                Some(true) => Some(true),
                _ => storage_call("persist").await,
            };
            self.persisted.set(kept);
        });
    }

    /// "Ask again" in Settings (a tap, which Firefox needs to show its question).
    pub async fn ask_to_keep(self) {
        self.persisted.set(storage_call("persist").await);
        self.refresh_storage().await;
    }

    /// Reads persistence, usage and quota again (Settings shows them).
    pub async fn refresh_storage(self) {
        self.persisted.set(storage_call("persisted").await);
        self.storage.set(estimate().await);
    }

    /// Asks the worker that controls this page which version it serves (Settings shows it).
    /// No worker (first visit, unsupported browser): stays `None`.
    pub async fn refresh_version(self) {
        if let Some(version) = worker_version().await {
            self.version.set(Some(version));
        }
    }
}

/// `{type: "version"}` to the controlling worker over a fresh MessageChannel; its answer is
/// `{version}`. A worker that never answers leaves this pending, which costs nothing.
async fn worker_version() -> Option<String> {
    let navigator = web_sys::window()?.navigator();
    if !has(&navigator, "serviceWorker") {
        return None;
    }
    let controller = navigator.service_worker().controller()?;
    let channel = web_sys::MessageChannel::new().ok()?;
    let port = channel.port1();
    let answer = js_sys::Promise::new(&mut |resolve, _reject| {
        let on_message = Closure::once_into_js(move |event: web_sys::MessageEvent| {
            let _ = resolve.call1(&JsValue::NULL, &event.data());
        });
        port.set_onmessage(Some(on_message.unchecked_ref()));
    });
    let message = js_sys::Object::new();
    js_sys::Reflect::set(&message, &"type".into(), &"version".into()).ok()?;
    controller
        .post_message_with_transferable(&message, &js_sys::Array::of1(&channel.port2()))
        .ok()?;
    let data = JsFuture::from(answer).await.ok()?;
    js_sys::Reflect::get(&data, &"version".into())
        .ok()?
        .as_string()
}

fn has(target: &JsValue, key: &str) -> bool {
    js_sys::Reflect::has(target, &JsValue::from_str(key)).unwrap_or(false)
}

fn storage_manager() -> Option<web_sys::StorageManager> {
    let navigator = web_sys::window()?.navigator();
    // Only secure contexts (https, localhost) have navigator.storage.
    has(&navigator, "storage").then(|| navigator.storage())
}

/// `navigator.storage.persisted()` or `.persist()`: a promise of a boolean.
async fn storage_call(method: &str) -> Option<bool> {
    let manager = storage_manager()?;
    let promise = match method {
        "persist" => manager.persist().ok()?,
        _ => manager.persisted().ok()?,
    };
    JsFuture::from(promise).await.ok()?.as_bool()
}

async fn estimate() -> Option<StorageUse> {
    let manager = storage_manager()?;
    let estimate: web_sys::StorageEstimate = JsFuture::from(manager.estimate().ok()?)
        .await
        .ok()?
        .unchecked_into();
    Some(StorageUse {
        usage: estimate.get_usage().unwrap_or(0.0),
        quota: estimate.get_quota()?,
    })
}

/// Running from the home screen: `display-mode: standalone`, or iOS's own flag.
fn is_standalone(window: &web_sys::Window) -> bool {
    let by_media = window
        .match_media("(display-mode: standalone)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    let by_ios = js_sys::Reflect::get(&window.navigator(), &"standalone".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    by_media || by_ios
}

/// iPhone, iPod or iPad (iPadOS says "Macintosh" but has a touch screen).
fn is_ios(window: &web_sys::Window) -> bool {
    let navigator = window.navigator();
    let agent = navigator.user_agent().unwrap_or_default();
    let ipad_as_mac = agent.contains("Macintosh") && navigator.max_touch_points() > 1;
    agent.contains("iPhone") || agent.contains("iPad") || agent.contains("iPod") || ipad_as_mac
}

/// Bytes for people: "820 KB", "12.5 MB", "2.1 GB".
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes.max(0.0);
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::format_bytes;

    #[test]
    fn bytes_read_as_people_say_them() {
        assert_eq!(format_bytes(0.0), "0 B");
        assert_eq!(format_bytes(820.0), "820 B");
        assert_eq!(format_bytes(820_000.0), "820 KB");
        assert_eq!(format_bytes(12_480_000.0), "12.5 MB");
        assert_eq!(format_bytes(2_100_000_000.0), "2.1 GB");
        assert_eq!(format_bytes(5.0e12), "5000 GB");
    }
}
