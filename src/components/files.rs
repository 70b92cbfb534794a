//! Picking files: the size limit the server states, and the files an `<input type=file>`
//! was given (the editor's attachments, a visit's photos).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::sync::api;

/// The largest file the server takes: the domain's fallback until `/api/health` has said.
pub fn attachment_limit() -> RwSignal<u64> {
    let limit = RwSignal::new(domain::attachment_limit(api::attachment_limit_stated()));
    spawn_local(async move {
        api::ask_attachment_limit().await;
        limit.try_set(domain::attachment_limit(api::attachment_limit_stated()));
    });
    limit
}

/// The files of the `change` event `ev` of a file input, which is emptied so that picking
/// the same file again (after removing it) fires `change` again.
pub fn picked_files(ev: &web_sys::Event) -> Vec<web_sys::File> {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let files = input
        .files()
        .map(|list| (0..list.length()).filter_map(|n| list.get(n)).collect())
        .unwrap_or_default();
    input.set_value("");
    files
}
