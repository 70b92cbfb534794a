//! Choosing reps of the team: who an item is assigned to, who a session invites.

use domain::{Id, TeamMember};
use leptos::prelude::*;

use crate::state::use_app;

/// The reps of the signed-in person's team (from the list kept for offline use).
pub fn team_reps() -> Memo<Vec<TeamMember>> {
    let state = use_app();
    Memo::new(move |_| {
        state.team.with(|team| {
            team.iter()
                .filter(|member| member.role == "rep")
                .cloned()
                .collect::<Vec<_>>()
        })
    })
}

/// One checkbox per rep, each inside its label (the 44 px target); `chosen` says who is
/// ticked and `on_toggle` hears `(rep, ticked)`.
#[component]
pub fn RepChecks(
    reps: Memo<Vec<TeamMember>>,
    chosen: Signal<Vec<Id>>,
    on_toggle: Callback<(Id, bool)>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="checks">
            <For each=move || reps.get() key=|m| m.id let:member>
                {
                    let id = member.id;
                    view! {
                        <label class="check">
                            <input type="checkbox" data-testid=testid value=id.to_string()
                                prop:checked=move || chosen.with(|c| c.contains(&id))
                                on:change=move |ev| on_toggle.run((id, event_target_checked(&ev)))/>
                            {member.display_name.clone()}
                        </label>
                    }
                }
            </For>
        </div>
    }
}

/// `list` with `id` in it exactly when `on`.
pub fn toggle(list: &mut Vec<Id>, id: Id, on: bool) {
    list.retain(|p| *p != id);
    if on {
        list.push(id);
    }
}
