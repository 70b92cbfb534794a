//! Passwords 密码: choosing a new one (after signing in with a one-time password, or from
//! Settings) and, for a manager, giving a rep of the team a new one-time password.
//!
//! The server decides what a good password is (length, not the current one, free of the
//! login and name, not common in breaches); the form checks only what needs no server —
//! the length and that both copies agree — and shows the server's reason in the person's
//! language otherwise.

use domain::Id;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{fill, tr, use_i18n};
use crate::state::use_app;
use crate::store::{Account, TeamMember};
use crate::sync::api::{self, ApiError};

/// The fewest characters the server takes (`accounts::MIN_PASSWORD_CHARS`).
const MIN_CHARS: usize = 12;

/// The message key for a refused password change.
fn refusal_key(err: &ApiError) -> &'static str {
    match err {
        ApiError::Refused { key, .. } => match key.as_str() {
            "wrong_password" => "password.wrong_current",
            "password_too_short" => "password.too_short",
            "password_too_long" => "password.too_long",
            "password_unchanged" => "password.unchanged",
            "password_personal" => "password.personal",
            "password_too_common" => "password.too_common",
            _ => "login.failed",
        },
        ApiError::Locked { .. } => "login.locked",
        ApiError::Offline | ApiError::Busy { .. } => "login.offline",
        ApiError::SignedOut => "sync.signed_out",
        _ => "login.failed",
    }
}

/// The form that sets a new password. `current`: the password the person has just signed in
/// with (a one-time password), so it is not asked again; otherwise the form asks for it.
/// `on_changed` gets the account the server answered with (its session is new).
#[component]
pub fn ChangePassword(
    #[prop(optional)] current: Option<String>,
    on_changed: Callback<Account>,
) -> impl IntoView {
    let i = use_i18n();
    let asks_current = current.is_none();
    let current_typed = RwSignal::new(current.unwrap_or_default());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<&'static str>);
    let working = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if working.get_untracked() {
            return;
        }
        let (current, chosen) = (current_typed.get_untracked(), new.get_untracked());
        let problem = if current.is_empty() {
            Some("login.required")
        } else if chosen.chars().count() < MIN_CHARS {
            Some("password.too_short")
        } else if chosen != again.get_untracked() {
            Some("password.mismatch")
        } else {
            None
        };
        if problem.is_some() {
            error.set(problem);
            return;
        }
        error.set(None);
        working.set(true);
        spawn_local(async move {
            let outcome = api::change_password(&current, &chosen).await;
            working.set(false);
            match outcome {
                Ok(account) => {
                    new.set(String::new());
                    again.set(String::new());
                    if asks_current {
                        current_typed.set(String::new());
                    }
                    on_changed.run(account);
                }
                Err(err) => error.set(Some(refusal_key(&err))),
            }
        });
    };

    view! {
        <form class="password-form" data-testid="change-password" on:submit=submit novalidate>
            {asks_current.then(|| view! {
                <div class="field">
                    <label for="password-current">{move || i.t("password.current")}</label>
                    <input id="password-current" type="password" autocomplete="current-password"
                        autocapitalize="none" spellcheck="false" data-testid="password-current"
                        prop:value=move || current_typed.get()
                        on:input=move |ev| current_typed.set(event_target_value(&ev))/>
                </div>
            })}
            <div class="field">
                <label for="password-new">{move || i.t("password.new")}</label>
                <input id="password-new" type="password" autocomplete="new-password"
                    autocapitalize="none" spellcheck="false" data-testid="password-new"
                    aria-describedby="password-hint" minlength=MIN_CHARS.to_string()
                    prop:value=move || new.get()
                    on:input=move |ev| new.set(event_target_value(&ev))/>
                <p class="hint" id="password-hint">{move || i.t("password.hint")}</p>
            </div>
            <div class="field">
                <label for="password-again">{move || i.t("password.confirm")}</label>
                <input id="password-again" type="password" autocomplete="new-password"
                    autocapitalize="none" spellcheck="false" data-testid="password-again"
                    prop:value=move || again.get()
                    on:input=move |ev| again.set(event_target_value(&ev))/>
            </div>
            {move || error.get().map(|key| view! {
                <p class="banner error" role="alert" data-testid="password-error">{move || i.t(key)}</p>
            })}
            <div class="actions">
                <button type="submit" class="button primary" data-testid="password-save"
                    disabled=move || working.get()>
                    {move || if working.get() { i.t("password.saving") } else { i.t("password.save") }}
                </button>
            </div>
        </form>
    }
}

/// Settings' password section: the form, and a note once it worked.
#[component]
pub fn PasswordSection() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let done = RwSignal::new(false);
    let on_changed = Callback::new(move |account: Account| {
        done.set(true);
        let state = state;
        spawn_local(async move {
            if let Ok(store) = state.store() {
                let _ = store.set_account(&account).await;
            }
            state.account.set(Some(account));
        });
    });
    view! {
        <details class="password-section" data-testid="password-section">
            <summary data-testid="password-toggle">{move || i.t("password.change")}</summary>
            <ChangePassword on_changed=on_changed/>
            {move || done.get().then(|| view! {
                <p class="banner" role="status" data-testid="password-changed">{move || i.t("password.changed")}</p>
            })}
        </details>
    }
}

/// A manager's list of the team's reps, each with "Reset password": the new one-time
/// password is shown once, to be handed over in person.
#[component]
pub fn TeamAccounts() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let reps = Memo::new(move |_| {
        state.team.with(|team| {
            team.iter()
                .filter(|m| m.role == "rep")
                .cloned()
                .collect::<Vec<TeamMember>>()
        })
    });
    // The rep asked about, and the one-time password once the server gave one.
    let asking = RwSignal::new(None::<TeamMember>);
    let issued = RwSignal::new(None::<(String, String)>);
    let error = RwSignal::new(None::<&'static str>);
    let working = RwSignal::new(false);
    let reset = move |rep: TeamMember| {
        working.set(true);
        error.set(None);
        spawn_local(async move {
            let outcome = api::reset_password(rep.id).await;
            working.set(false);
            asking.set(None);
            match outcome {
                Ok(password) => issued.set(Some((rep.display_name, password))),
                Err(ApiError::Offline | ApiError::Busy { .. }) => error.set(Some("login.offline")),
                Err(_) => error.set(Some("login.failed")),
            }
        });
    };
    view! {
        <Show when=move || state.is_manager() && reps.with(|r| !r.is_empty())>
            <h2 class="section-title">{move || i.t("team.accounts")}</h2>
            {move || issued.get().map(|(name, password)| view! {
                <div class="banner" role="status" data-testid="one-time-password-shown">
                    <p>{move || fill(tr(i.locale(), "team.one_time_password"), &name)}</p>
                    <p class="mono one-time" data-testid="one-time-password">{password}</p>
                    <p class="hint">{move || i.t("team.one_time_hint")}</p>
                </div>
            })}
            {move || error.get().map(|key| view! {
                <p class="banner error" role="alert">{move || i.t(key)}</p>
            })}
            <ul class="list team-accounts" data-testid="team-accounts">
                <For each=move || reps.get() key=|m| m.id let:rep>
                    {
                        let id: Id = rep.id;
                        let name = rep.display_name.clone();
                        let question = name.clone();
                        let member = rep.clone();
                        view! {
                            <li class="team-account" data-testid="team-account">
                                <span>{name}" "<span class="hint">"("{rep.login.clone()}")"</span></span>
                                <Show when=move || asking.with(|a| a.as_ref().map(|a| a.id) == Some(id))
                                    fallback=move || {
                                        let member = member.clone();
                                        view! {
                                            <button type="button" class="button small" data-testid="reset-password"
                                                on:click=move |_| { issued.set(None); asking.set(Some(member.clone())); }>
                                                {move || i.t("team.reset_password")}
                                            </button>
                                        }
                                    }>
                                    {
                                        let question = question.clone();
                                        view! {
                                            <div class="banner warning" role="alertdialog" data-testid="reset-confirm">
                                                <p>{move || fill(tr(i.locale(), "team.reset_confirm"), &question)}</p>
                                                <div class="actions">
                                                    <button type="button" class="button danger" data-testid="reset-yes"
                                                        disabled=move || working.get()
                                                        on:click=move |_| { if let Some(rep) = asking.get_untracked() { reset(rep); } }>
                                                        {move || i.t("team.reset_yes")}
                                                    </button>
                                                    <button type="button" class="button" on:click=move |_| asking.set(None)>
                                                        {move || i.t("form.cancel")}
                                                    </button>
                                                </div>
                                            </div>
                                        }
                                    }
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
        </Show>
    }
}
