//! Fieldbook, the app: a Leptos single-page app that keeps a field salesperson's whole book of
//! customers in IndexedDB and works with no signal.
//!
//! `domain` (crates/domain) holds the records and their validation; this crate holds the
//! browser side: the local store (`store`), the browser services (`platform`), the shared
//! state (`state`), the installed app (`pwa`: service worker, install, storage), the strings
//! (`i18n`) and the screens (`routes`, `components`).

pub mod app;
pub mod components;
pub mod i18n;
pub mod platform;
pub mod pwa;
pub mod routes;
pub mod state;
pub mod store;
pub mod sync;

/// Mounts the app on `<body>`.
pub fn start() {
    platform::mark("fb:start");
    leptos::mount::mount_to_body(app::App);
}

/// The size of the wasm linear memory in bytes, for `cargo xtask bench`
/// (`window.wasmBindings.fb_wasm_memory_bytes()`).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn fb_wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}
