//! The top bar of every screen below the tabs: a back button and the screen's title.
//!
//! An installed iPhone app has no browser back button and a deep link has no history, so
//! "back" cannot simply be `history.back()`: it goes to the previous screen of this visit to
//! the app when there is one, else up to the screen's parent (a lead's list, a form's record).
//! The app keeps its own copy of the screens it showed ([`provide_nav_history`]) to tell the
//! two apart; forms left by a save are skipped, so back from a saved lead returns to the list,
//! not to the form.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::components::icons::{Icon, IconName};
use crate::i18n::use_i18n;

/// The router's `navigate`, kept for [`back`] (called from event handlers, outside any owner).
type Navigate = Rc<dyn Fn(&str, NavigateOptions)>;

/// The screens of this visit to the app, oldest first, as paths; the last is on show.
#[derive(Default)]
struct NavHistory {
    stack: Vec<String>,
    /// The last route change came from the browser's history (back or forward).
    popped: bool,
    /// The parent of the screen on show, as its app bar named it: (screen, parent).
    parent: Option<(String, String)>,
    navigate: Option<Navigate>,
}

thread_local! {
    static HISTORY: RefCell<NavHistory> = RefCell::new(NavHistory::default());
}

/// Starts following the screens shown; call once, inside the router.
pub fn provide_nav_history() {
    let location = use_location();
    let navigate = use_navigate();
    HISTORY.with_borrow_mut(|h| {
        h.navigate = Some(Rc::new(move |path: &str, options| navigate(path, options)));
    });
    if let Some(window) = web_sys::window() {
        let on_pop = Closure::<dyn Fn()>::new(|| HISTORY.with_borrow_mut(|h| h.popped = true));
        let _ =
            window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        on_pop.forget();
    }
    Effect::new(move |_| {
        let path = location.pathname.get();
        HISTORY.with_borrow_mut(|h| {
            let popped = std::mem::take(&mut h.popped);
            visit(&mut h.stack, path, popped);
        });
    });
}

/// Records that `path` is on show. A change through the browser's history unwinds to the
/// screen it returned to (or starts again from it); any other change adds the screen.
fn visit(stack: &mut Vec<String>, path: String, popped: bool) {
    if popped {
        match stack.iter().rposition(|p| *p == path) {
            Some(at) => stack.truncate(at + 1),
            None => {
                stack.clear();
                stack.push(path);
            }
        }
    } else if stack.last() != Some(&path) {
        stack.push(path);
    }
}

/// A screen that only edits something: once left, back never returns to it.
fn is_form(path: &str) -> bool {
    path.starts_with("/new/") || path.ends_with("/edit")
}

/// How many entries of the browser's history back the previous screen worth returning to
/// is: not a form, not the screen on show again. `None` when this visit has none.
fn steps_back(stack: &[String]) -> Option<usize> {
    let (current, earlier) = stack.split_last()?;
    earlier
        .iter()
        .rposition(|p| p != current && !is_form(p))
        .map(|at| earlier.len() - at)
}

/// Goes back: to the previous screen of this visit, else to the parent the screen's app bar
/// names, else to Today. Forms' Cancel uses it too.
pub fn back() {
    let (steps, parent, navigate) = HISTORY.with_borrow(|h| {
        let current = h.stack.last();
        let parent = h
            .parent
            .as_ref()
            .filter(|(screen, _)| Some(screen) == current)
            .map(|(_, parent)| parent.clone());
        (steps_back(&h.stack), parent, h.navigate.clone())
    });
    match (steps, navigate) {
        (Some(steps), _) => {
            if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = history.go_with_delta(-(steps as i32));
            }
        }
        (None, Some(navigate)) => {
            // The parent takes this screen's place in the history: the browser's own back
            // then leaves the app rather than returning here.
            HISTORY.with_borrow_mut(|h| h.stack.pop());
            let options = NavigateOptions {
                replace: true,
                ..Default::default()
            };
            navigate(parent.as_deref().unwrap_or("/"), options);
        }
        (None, None) => {}
    }
}

/// The 44 px back button, labelled "Back" / "返回".
#[component]
pub fn BackButton() -> impl IntoView {
    let i = use_i18n();
    view! {
        <button type="button" class="icon-button back" data-testid="back"
            aria-label=move || i.t("nav.back") on:click=move |_| back()>
            <Icon name=IconName::Back/>
        </button>
    }
}

/// The header of a screen below the tabs: back, then the children (the screen's `<h1>` and
/// any actions). `parent` is where back goes when this visit has no earlier screen.
#[component]
pub fn AppBar(#[prop(into)] parent: Signal<String>, children: Children) -> impl IntoView {
    let location = use_location();
    Effect::new(move |_| {
        let screen = location.pathname.get_untracked();
        let parent = parent.get();
        HISTORY.with_borrow_mut(|h| h.parent = Some((screen, parent)));
    });
    view! {
        <header class="page-head app-bar">
            <BackButton/>
            {children()}
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn back_returns_to_the_previous_screen_and_skips_forms_left_by_a_save() {
        assert_eq!(steps_back(&stack(&["/leads", "/leads/a"])), Some(1));
        // List → lead → edit → saved (the lead again): back goes to the list, three entries up.
        let saved = stack(&["/leads", "/leads/a", "/leads/a/edit", "/leads/a"]);
        assert_eq!(steps_back(&saved), Some(3));
        // Cancel on a form returns to the screen it came from.
        assert_eq!(
            steps_back(&stack(&["/", "/leads/a", "/new/visit"])),
            Some(1)
        );
    }

    #[test]
    fn a_deep_link_has_no_previous_screen() {
        assert_eq!(steps_back(&stack(&["/leads/a"])), None);
        assert_eq!(steps_back(&stack(&["/new/visit", "/leads/a"])), None);
        assert_eq!(steps_back(&[]), None);
    }

    #[test]
    fn the_browser_history_unwinds_the_copy() {
        let mut seen = stack(&["/", "/leads", "/leads/a", "/leads/a/edit", "/leads/a"]);
        visit(&mut seen, "/leads".into(), true);
        assert_eq!(seen, stack(&["/", "/leads"]));
        visit(&mut seen, "/training".into(), false);
        assert_eq!(seen, stack(&["/", "/leads", "/training"]));
        // Forward to a screen the copy no longer holds: start again from it.
        visit(&mut seen, "/settings".into(), true);
        assert_eq!(seen, stack(&["/settings"]));
        // The same screen again (a query change) adds nothing.
        visit(&mut seen, "/settings".into(), false);
        assert_eq!(seen, stack(&["/settings"]));
    }
}
