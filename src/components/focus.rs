//! Where the keyboard focus goes when the view changes under it.
//!
//! A single-page app swaps the screen without a page load, so browsers and screen readers
//! would leave the focus on a link that is gone (or on the page's body) and announce nothing.
//! After a route change the new screen's heading takes the focus, so a screen reader reads
//! where the person landed and the next Tab starts in the screen, not in the navigation; a
//! screen made for typing marks its first field `data-first-stop`, which takes it instead.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The heading of the screen on show, most specific first: on a laptop the open lead beside
/// the list, else the page's own.
const SCREEN_HEADING: [&str; 2] = [".split-detail h1", "main h1"];

/// Names the screen on show in the tab's title and, when `take_focus`, focuses its heading.
/// Runs on the next frame, once the new screen is drawn.
pub fn announce_screen(take_focus: bool) {
    request_animation_frame(move || {
        let Some(heading) = screen_heading() else {
            return;
        };
        let name = heading.text_content().unwrap_or_default();
        let name = name.trim();
        document().set_title(&if name.is_empty() {
            "Fieldbook".to_string()
        } else {
            format!("{name} · Fieldbook")
        });
        if take_focus {
            // A screen that is for typing names its first stop (the quick log's notes box).
            match first_match("main [data-first-stop]") {
                Some(stop) => focus(stop),
                None => focus_heading(heading),
            }
        }
    });
}

/// Focuses the heading of the screen already on show (the skip link).
pub fn focus_screen_heading() {
    if let Some(heading) = screen_heading() {
        focus_heading(heading);
    }
}

fn screen_heading() -> Option<web_sys::Element> {
    SCREEN_HEADING.iter().find_map(|s| first_match(s))
}

fn focus_heading(heading: web_sys::Element) {
    // Focusable by script only: a heading is no stop for the Tab key.
    let _ = heading.set_attribute("tabindex", "-1");
    focus(heading);
}

/// Focuses the first element matching `selector` once the current update is drawn.
pub fn focus_when_drawn(selector: impl AsRef<str> + 'static) {
    request_animation_frame(move || {
        if let Some(el) = first_match(selector.as_ref()) {
            focus(el);
        }
    });
}

fn first_match(selector: &str) -> Option<web_sys::Element> {
    document().query_selector(selector).ok().flatten()
}

fn focus(el: web_sys::Element) {
    if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
        let _ = el.focus();
    }
}

/// Moves the keyboard focus to the element with `id` (the control that opened a sheet,
/// when it closes).
pub fn focus_element(id: &str) {
    use wasm_bindgen::JsCast;
    if let Some(element) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = element.focus();
    }
}
