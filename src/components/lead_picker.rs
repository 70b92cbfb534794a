//! Choosing a lead in a form: a search box over the lead book (name, company, phone, WeChat,
//! tags, pinyin initials — the Leads list's search) with a short list of matches, soonest
//! follow-up first, instead of a `<select>` of every lead.
//!
//! It renders at most [`SHOWN`] options, and only its own signals drive them: typing in
//! the form's other fields, or a book of 10,000 leads, costs it nothing.

use domain::{Id, Lead, LeadQuery};
use leptos::prelude::*;

use crate::components::form::FieldErrorText;
use crate::i18n::use_i18n;
use crate::state::use_app;

/// Matches listed at once.
const SHOWN: usize = 8;

/// "name · company", how a lead is named in a picker.
pub fn lead_label(lead: &Lead) -> String {
    if lead.company.is_empty() {
        lead.name.clone()
    } else {
        format!("{} · {}", lead.name, lead.company)
    }
}

/// One choice of the list.
#[derive(Clone, Debug, PartialEq)]
enum Choice {
    Lead(Id, String),
    /// The form's inline new lead.
    New,
    /// No lead (an optional field).
    Nothing,
}

/// A labelled lead picker. `value` is the chosen lead; `on_pick` is called with the lead
/// picked (`None`: cleared). With `on_new`, the list ends with "+ New lead", which calls it.
#[component]
pub fn LeadPicker(
    #[prop(into)] value: Signal<Option<Id>>,
    on_pick: Callback<Option<Id>>,
    /// The input's id, e.g. `v-lead_id`.
    id: &'static str,
    label: &'static str,
    errors: RwSignal<domain::ValidationErrors>,
    field: &'static str,
    #[prop(optional)] required: bool,
    /// A lead that cannot be chosen (a lead cannot refer itself).
    #[prop(optional)]
    except: Option<Id>,
    #[prop(optional)] on_new: Option<Callback<()>>,
    /// Whether the inline new lead is chosen (the box then says so).
    #[prop(optional, into)]
    creating: Option<Signal<bool>>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let typed = RwSignal::new(String::new());
    let open = RwSignal::new(false);
    let active = RwSignal::new(0usize);
    let listbox = format!("{id}-list");
    let error_id = format!("{id}-error");
    let creating = creating.unwrap_or_else(|| Signal::stored(false));

    // The chosen lead's name, from the book (it may change under the form: a pull).
    let chosen = Memo::new(move |_| {
        value
            .get()
            .and_then(|id| state.book.with(|b| b.get(id).map(lead_label)))
    });
    let choices = Memo::new(move |_| {
        if !open.get() {
            return Vec::new();
        }
        let query = LeadQuery {
            text: typed.get(),
            ..LeadQuery::default()
        };
        let mut list: Vec<Choice> = state.book.with(|book| {
            book.query(&query, SHOWN + usize::from(except.is_some()))
                .leads
                .into_iter()
                .filter(|l| Some(l.id) != except)
                .take(SHOWN)
                .map(|l| Choice::Lead(l.id, lead_label(l)))
                .collect()
        });
        if !required {
            list.insert(0, Choice::Nothing);
        }
        if on_new.is_some() {
            list.push(Choice::New);
        }
        list
    });
    let pick = move |choice: &Choice| {
        match choice {
            Choice::Lead(id, _) => on_pick.run(Some(*id)),
            Choice::Nothing => on_pick.run(None),
            Choice::New => {
                if let Some(on_new) = on_new {
                    on_new.run(());
                }
            }
        }
        typed.set(String::new());
        open.set(false);
    };
    let option_id = move |n: usize| format!("{id}-opt-{n}");
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        let len = choices.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                if !open.get_untracked() {
                    open.set(true);
                    active.set(0);
                } else if len > 0 {
                    active.update(|a| *a = (*a + 1) % len);
                }
            }
            "ArrowUp" => {
                ev.prevent_default();
                if len > 0 {
                    active.update(|a| *a = (*a + len - 1) % len);
                }
            }
            "Enter" if open.get_untracked() => {
                // Picks the highlighted choice instead of sending the form.
                ev.prevent_default();
                let at = active.get_untracked();
                if let Some(choice) = choices.with_untracked(|c| c.get(at).cloned()) {
                    pick(&choice);
                }
            }
            "Escape" if open.get_untracked() => {
                ev.prevent_default();
                typed.set(String::new());
                open.set(false);
            }
            _ => {}
        }
    };
    let shown_text = move || {
        if open.get() {
            typed.get()
        } else if creating.get() {
            i.t("field.new_lead_inline").to_string()
        } else {
            chosen.get().unwrap_or_default()
        }
    };
    let invalid = move || errors.with(|e| e.get(field).is_some());
    let listbox_id = listbox.clone();

    view! {
        <div class="field lead-picker" class:has-error=invalid>
            <label for=id>
                {move || i.t(label)}
                {required.then(|| view! { <span class="required" aria-hidden="true">" *"</span> })}
            </label>
            <input id=id name=field type="text" role="combobox" autocomplete="off"
                data-testid=testid
                aria-autocomplete="list" aria-controls=listbox.clone()
                aria-expanded=move || open.get().to_string()
                aria-activedescendant=move || (open.get() && choices.with(|c| !c.is_empty())).then(|| option_id(active.get()))
                aria-invalid=move || invalid().to_string()
                aria-describedby=move || invalid().then(|| error_id.clone())
                placeholder=move || i.t("picker.search")
                prop:value=shown_text
                on:focus=move |_| {
                    typed.set(String::new());
                    active.set(0);
                    open.set(true);
                }
                on:blur=move |_| open.set(false)
                on:input=move |ev| {
                    typed.set(event_target_value(&ev));
                    active.set(0);
                    open.set(true);
                }
                on:keydown=on_keydown/>
            // Always in the page (hidden while closed), so `aria-controls` names an element.
            <ul class="picker-list" role="listbox" id=listbox_id aria-label=move || i.t(label)
                hidden=move || !open.get()>
                    {move || choices.get().into_iter().enumerate().map(|(n, choice)| {
                        let text = match &choice {
                            Choice::Lead(_, label) => label.clone(),
                            Choice::New => i.t("field.new_lead_inline").to_string(),
                            Choice::Nothing => i.t("field.none").to_string(),
                        };
                        let is_new = choice == Choice::New;
                        view! {
                            <li role="option" id=option_id(n) class="picker-option" class:new-lead=is_new
                                aria-selected=move || (active.get() == n).to_string()
                                // Keeps the focus in the box, so the tap is not lost to its blur.
                                on:mousedown=|ev| ev.prevent_default()
                                on:click=move |_| pick(&choice)>
                                {text}
                            </li>
                        }
                    }).collect_view()}
            </ul>
            <Show when=move || open.get() && choices.with(|c| !c.iter().any(|c| matches!(c, Choice::Lead(..))))>
                <p class="hint" role="status">{move || i.t("leads.no_match")}</p>
            </Show>
            <FieldErrorText errors field id=format!("{id}-error")/>
        </div>
    }
}
