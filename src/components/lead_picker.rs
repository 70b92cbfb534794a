//! Choosing a lead in a form: a search box over the lead book (name, company, phone, WeChat,
//! tags, pinyin initials — the Leads list's search) with a short list of matches, soonest
//! follow-up first, instead of a `<select>` of every lead. With `agenda_first` (the visit
//! log), an empty box lists the leads a rep most likely means: overdue and due today, then
//! the ones visited in the last two weeks.
//!
//! It renders at most [`SHOWN`] options, and only its own signals drive them: typing in
//! the form's other fields, or a book of 10,000 leads, costs it nothing.

use domain::{Id, Lead, LeadQuery};
use leptos::prelude::*;

use crate::components::form::FieldErrorText;
use crate::i18n::{due_day, use_i18n};
use crate::platform;
use crate::state::use_app;

/// Matches listed at once.
const SHOWN: usize = 8;

/// How far back "recently visited" reaches.
const RECENT_MS: i64 = 14 * 86_400_000;

/// "name · company", how a lead is named in a picker.
pub fn lead_label(lead: &Lead) -> String {
    if lead.company.is_empty() {
        lead.name.clone()
    } else {
        format!("{} · {}", lead.name, lead.company)
    }
}

/// Why a lead heads the list while the box is empty.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Why {
    FollowUp(chrono::NaiveDate),
    Recent,
}

/// One choice of the list.
#[derive(Clone, Debug, PartialEq)]
enum Choice {
    /// A lead, its label, and why it is on top (its follow-up, "visited recently").
    Lead(Id, String, Option<Why>),
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
    /// An empty box lists overdue, due and recently visited leads first.
    #[prop(optional)]
    agenda_first: bool,
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
    // The leads visited lately, newest first, read once when the picker is drawn.
    let recent = crate::routes::reading(move || async move {
        if !agenda_first {
            return Vec::new();
        }
        let now = platform::now_ms();
        let Ok(store) = state.store() else {
            return Vec::new();
        };
        let mut visits = store
            .visits_between(now - RECENT_MS, now)
            .await
            .unwrap_or_default();
        visits.retain(|v| !v.deleted);
        visits.sort_by_key(|v| std::cmp::Reverse(v.started_at));
        let mut ids: Vec<Id> = Vec::new();
        for visit in visits {
            if !ids.contains(&visit.lead_id) {
                ids.push(visit.lead_id);
            }
        }
        ids
    });
    let choices = Memo::new(move |_| {
        if !open.get() {
            return Vec::new();
        }
        let text = typed.get();
        let query = LeadQuery {
            text: text.clone(),
            ..LeadQuery::default()
        };
        let allowed = |l: &Lead| Some(l.id) != except && !l.deleted;
        let mut list: Vec<Choice> = state.book.with(|book| {
            let mut list = Vec::new();
            if agenda_first && text.trim().is_empty() {
                let today = platform::today();
                let mut agenda: Vec<&Lead> = book
                    .iter()
                    .filter(|l| allowed(l) && (l.is_overdue(today) || l.is_due(today)))
                    .collect();
                agenda
                    .sort_by(|a, b| (a.next_follow_up, &a.name).cmp(&(b.next_follow_up, &b.name)));
                list.extend(agenda.into_iter().take(SHOWN).map(|l| {
                    Choice::Lead(l.id, lead_label(l), l.next_follow_up.map(Why::FollowUp))
                }));
                recent.with(|ids| {
                    for id in ids.iter().flatten() {
                        if list.len() >= SHOWN {
                            break;
                        }
                        let listed = list
                            .iter()
                            .any(|c| matches!(c, Choice::Lead(l, ..) if l == id));
                        if let Some(lead) = book.get(*id).filter(|l| allowed(l) && !listed) {
                            list.push(Choice::Lead(lead.id, lead_label(lead), Some(Why::Recent)));
                        }
                    }
                });
            }
            let rest = SHOWN.saturating_sub(list.len());
            let found: Vec<Choice> = book
                .query(&query, SHOWN * 2 + usize::from(except.is_some()))
                .leads
                .into_iter()
                .filter(|l| allowed(l))
                .filter(|l| {
                    !list
                        .iter()
                        .any(|c| matches!(c, Choice::Lead(id, ..) if *id == l.id))
                })
                .take(rest)
                .map(|l| Choice::Lead(l.id, lead_label(l), None))
                .collect();
            list.extend(found);
            list
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
            Choice::Lead(id, ..) => on_pick.run(Some(*id)),
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
                            Choice::Lead(_, label, _) => label.clone(),
                            Choice::New => i.t("field.new_lead_inline").to_string(),
                            Choice::Nothing => i.t("field.none").to_string(),
                        };
                        let why = match &choice {
                            Choice::Lead(_, _, Some(Why::FollowUp(day))) => {
                                let day = *day;
                                let today = platform::today();
                                Some((day < today, due_day(i.locale(), day, today)))
                            }
                            Choice::Lead(_, _, Some(Why::Recent)) => {
                                Some((false, i.t("picker.recent").to_string()))
                            }
                            _ => None,
                        };
                        let is_new = choice == Choice::New;
                        view! {
                            <li role="option" id=option_id(n) class="picker-option" class:new-lead=is_new
                                aria-selected=move || (active.get() == n).to_string()
                                // Keeps the focus in the box, so the tap is not lost to its blur.
                                on:mousedown=|ev| ev.prevent_default()
                                on:click=move |_| pick(&choice)>
                                <span class="picker-label">{text}</span>
                                {why.map(|(late, note)| view! {
                                    <span class="picker-note" class:overdue=late>{note}</span>
                                })}
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
