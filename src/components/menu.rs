//! The "…" menu that keeps a destructive action out of the thumb's way, and the question
//! asked before it runs.
//!
//! The menu button says it opens a menu (`aria-haspopup`, `aria-expanded`); opening moves the
//! focus into the menu, Escape or a tap outside closes it and the focus returns to the button.
//! Choosing "Move to trash" asks first, in a small dialog by the button whose safe choice
//! (Cancel) takes the focus.

use leptos::prelude::*;

use crate::components::focus::focus_when_drawn;
use crate::components::icons::{Icon, IconName};
use crate::i18n::use_i18n;

/// "…" → "Move to trash" → "Move this … to the trash?" → `on_confirm`.
///
/// `question` is the message key of the question; `testid` names the menu item (the menu
/// button is `more-menu`, the answers `confirm-delete` and `cancel-delete`). `upward` opens
/// the menu above its button (at the bottom of a form).
#[component]
pub fn TrashMenu(
    on_confirm: Callback<()>,
    question: &'static str,
    #[prop(default = "delete")] testid: &'static str,
    #[prop(optional)] upward: bool,
) -> impl IntoView {
    let i = use_i18n();
    let open = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let menu_id = format!("menu-{testid}");
    let question_id = format!("ask-{testid}");
    let button_selector = format!("[aria-controls={menu_id}]");
    let refocus = move || focus_when_drawn(button_selector.clone());
    let close = {
        let refocus = refocus.clone();
        move || {
            open.set(false);
            confirming.set(false);
            refocus();
        }
    };
    let on_keydown = {
        let close = close.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Escape" && (open.get_untracked() || confirming.get_untracked()) {
                ev.prevent_default();
                close();
            }
        }
    };
    // Tabbing out of an open menu closes it (a tap outside lands on the backdrop).
    let on_focusout = move |ev: leptos::ev::FocusEvent| {
        let Some(next) = ev.related_target() else {
            return;
        };
        let inside = ev
            .current_target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Node>(t).ok())
            .is_some_and(|wrapper| wrapper.contains(wasm_bindgen::JsCast::dyn_ref(&next)));
        if !inside {
            open.set(false);
        }
    };
    let toggle = {
        let menu_id = menu_id.clone();
        move |_| {
            let now_open = !open.get_untracked();
            open.set(now_open);
            confirming.set(false);
            if now_open {
                focus_when_drawn(format!("#{menu_id} [role=menuitem]"));
            }
        }
    };
    let ask = move |_| {
        open.set(false);
        confirming.set(true);
        focus_when_drawn("[data-testid=cancel-delete]");
    };
    let confirm = {
        let close = close.clone();
        move |_| {
            close();
            on_confirm.run(());
        }
    };
    let backdrop_close = close.clone();
    let cancel = close;
    view! {
        <div class="more-menu" class:upward=upward on:keydown=on_keydown on:focusout=on_focusout>
            <button type="button" class="icon-button" data-testid="more-menu"
                aria-haspopup="menu" aria-controls=menu_id.clone()
                aria-expanded=move || open.get().to_string()
                aria-label=move || i.t("menu.more") on:click=toggle>
                <Icon name=IconName::More/>
            </button>
            <Show when=move || open.get() || confirming.get()>
                <div class="menu-backdrop" aria-hidden="true" on:click={
                    let close = backdrop_close.clone();
                    move |_| close()
                }></div>
            </Show>
            <Show when=move || open.get()>
                <div class="menu" role="menu" id=menu_id.clone() aria-label=move || i.t("menu.more")>
                    <button type="button" role="menuitem" class="menu-item danger" data-testid=testid on:click=ask>
                        <Icon name=IconName::Trash/>
                        <span>{move || i.t("menu.trash")}</span>
                    </button>
                </div>
            </Show>
            <Show when=move || confirming.get()>
                <div class="menu confirm" role="alertdialog" aria-modal="false"
                    aria-labelledby=question_id.clone() data-testid="confirm-box">
                    <p id=question_id.clone()>{move || i.t(question)}</p>
                    <div class="actions">
                        <button type="button" class="button danger" data-testid="confirm-delete" on:click=confirm.clone()>
                            <Icon name=IconName::Trash/>
                            <span>{move || i.t("menu.trash")}</span>
                        </button>
                        <button type="button" class="button" data-testid="cancel-delete" on:click={
                            let cancel = cancel.clone();
                            move |_| cancel()
                        }>
                            {move || i.t("form.cancel")}
                        </button>
                    </div>
                </div>
            </Show>
        </div>
    }
}
