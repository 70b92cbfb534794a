//! Form controls bound to one field of a draft held in a signal.
//!
//! A draft holds exactly what was typed; it is parsed only on save, and a failed parse leaves it
//! as it was, so nothing typed is ever lost. Errors appear under their field in the user's
//! language and are linked to the control for screen readers.

use std::str::FromStr;

use domain::ValidationErrors;
use leptos::prelude::*;

use crate::components::menu::TrashMenu;
use crate::i18n::use_i18n;

/// An option of a select: the domain enums.
pub trait Choice: Copy + PartialEq + FromStr + Send + Sync + 'static {
    fn value(&self) -> &'static str;
    fn label_key(&self) -> &'static str;
}

macro_rules! choice {
    ($($ty:ty),*) => {$(
        impl Choice for $ty {
            fn value(&self) -> &'static str {
                self.as_str()
            }
            fn label_key(&self) -> &'static str {
                self.key()
            }
        }
    )*};
}

choice!(
    domain::Stage,
    domain::Grade,
    domain::Source,
    domain::Intent,
    domain::VisitKind,
    domain::DealStatus,
    domain::LeadSort,
    domain::ItemKind,
    domain::Audience,
    domain::QuestionKind,
    domain::SessionMethod
);

fn control_id(prefix: &str, field: &str) -> String {
    format!("{prefix}-{field}")
}

/// The error line under a field, when it has one.
#[component]
pub fn FieldErrorText(
    errors: RwSignal<ValidationErrors>,
    field: &'static str,
    id: String,
) -> impl IntoView {
    let i = use_i18n();
    move || {
        errors.with(|e| e.get(field)).map(|reason| {
            view! {
                <p class="field-error" id=id.clone() data-testid=format!("error-{field}")>
                    {i.t(reason.key())}
                </p>
            }
        })
    }
}

/// A labelled text input (or textarea) bound to one string of a draft.
#[component]
pub fn TextField<D>(
    draft: RwSignal<D>,
    get: fn(&D) -> &String,
    set: fn(&mut D) -> &mut String,
    label: &'static str,
    field: &'static str,
    errors: RwSignal<ValidationErrors>,
    #[prop(default = "f")] prefix: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(default = 3)] rows: u32,
) -> impl IntoView
where
    D: Send + Sync + 'static,
{
    let i = use_i18n();
    let id = control_id(prefix, field);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let invalid = move || errors.with(|e| e.get(field).is_some());
    let described = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if invalid() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let value = move || draft.with(|d| get(d).clone());
    let on_input = move |ev: web_sys::Event| {
        let text = event_target_value(&ev);
        draft.update(|d| *set(d) = text);
    };
    let control = if multiline {
        view! {
            <textarea id=id.clone() name=field rows=rows required=required data-testid=testid
                aria-invalid=move || invalid().to_string() aria-describedby=described
                prop:value=value on:input=on_input></textarea>
        }
        .into_any()
    } else {
        view! {
            <input id=id.clone() name=field type=kind required=required inputmode=inputmode
                autocomplete=autocomplete data-testid=testid
                aria-invalid=move || invalid().to_string() aria-describedby=described
                prop:value=value on:input=on_input />
        }
        .into_any()
    };
    view! {
        <div class="field" class:has-error=invalid>
            <label for=id.clone()>
                {move || i.t(label)}
                {required.then(|| view! { <span class="required" aria-hidden="true">" *"</span> })}
            </label>
            {control}
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{move || i.t(h)}</p> })}
            <FieldErrorText errors field id=error_id.clone()/>
        </div>
    }
}

/// A labelled select over a domain enum, bound to an optional value of a draft. `none_key`
/// adds an empty choice with that label; without it the value is always set.
#[component]
pub fn ChoiceField<D, E>(
    draft: RwSignal<D>,
    get: fn(&D) -> Option<E>,
    set: fn(&mut D, Option<E>),
    options: &'static [E],
    label: &'static str,
    field: &'static str,
    errors: RwSignal<ValidationErrors>,
    #[prop(default = "f")] prefix: &'static str,
    #[prop(optional)] none_key: Option<&'static str>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView
where
    D: Send + Sync + 'static,
    E: Choice,
{
    let i = use_i18n();
    let id = control_id(prefix, field);
    let error_id = format!("{id}-error");
    let invalid = move || errors.with(|e| e.get(field).is_some());
    let described = {
        let error_id = error_id.clone();
        move || invalid().then(|| error_id.clone())
    };
    let on_change = move |ev: web_sys::Event| {
        let raw = event_target_value(&ev);
        let value = E::from_str(&raw).ok();
        draft.update(|d| set(d, value));
    };
    view! {
        <div class="field" class:has-error=invalid>
            <label for=id.clone()>{move || i.t(label)}</label>
            <select id=id.clone() name=field on:change=on_change data-testid=testid
                aria-invalid=move || invalid().to_string() aria-describedby=described
                prop:value=move || draft.with(|d| get(d).map(|v| v.value()).unwrap_or(""))>
                {none_key.map(|k| view! { <option value="">{move || i.t(k)}</option> })}
                {options.iter().map(|opt| {
                    let opt = *opt;
                    view! {
                        <option value=opt.value()
                            selected=move || draft.with(|d| get(d) == Some(opt))>
                            {move || i.t(opt.label_key())}
                        </option>
                    }
                }).collect_view()}
            </select>
            <FieldErrorText errors field id=error_id/>
        </div>
    }
}

/// The banner above a form after a failed save: what went wrong, and that nothing was lost.
#[component]
pub fn FormBanner(message: RwSignal<Option<&'static str>>) -> impl IntoView {
    let i = use_i18n();
    move || {
        message.get().map(|key| {
            view! { <p class="banner error" role="alert" data-testid="form-error">{i.t(key)}</p> }
        })
    }
}

/// Save and cancel, and for an existing record a "…" menu whose "Move to trash" asks first.
#[component]
pub fn FormActions(
    saving: RwSignal<bool>,
    #[prop(default = None)] on_delete: Option<Callback<()>>,
    #[prop(default = "form.trash_confirm")] trash_question: &'static str,
) -> impl IntoView {
    let i = use_i18n();
    view! {
        <div class="form-actions">
            <button type="submit" class="button primary" data-testid="save" disabled=move || saving.get()>
                {move || i.t(if saving.get() { "form.saving" } else { "form.save" })}
            </button>
            <button type="button" class="button" on:click=move |_| go_back()>{move || i.t("form.cancel")}</button>
            {on_delete.map(|on_delete| view! {
                <TrashMenu on_confirm=on_delete question=trash_question upward=true/>
            })}
        </div>
    }
}

/// Moves focus to the first field with an error, so keyboard and screen-reader users land on it.
pub fn focus_first_error() {
    // The error attributes render in the same tick; the focus moves once they are drawn.
    super::focus::focus_when_drawn("[aria-invalid=\"true\"]");
}

/// Leaves a form without saving: to the screen it was opened from, else to its parent.
pub fn go_back() {
    super::app_bar::back();
}
