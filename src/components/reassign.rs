//! A manager moves a lead to another rep of the team (the lead screen's "Owner" section). The
//! move is an edit of the lead's owner like any other: saved offline, pushed, and the server
//! moves the lead's visits and deals with it; the old owner's devices drop all of them.

use domain::{Id, Lead};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{fill, use_i18n};
use crate::platform;
use crate::state::use_app;
use crate::store::Change;

/// The lead's owner, and for a manager the picker that moves the lead to another rep.
#[component]
pub fn Owner(lead: Lead) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let owner = lead.owner;
    let owner_name = Memo::new(move |_| {
        state.team.with(|team| {
            team.iter()
                .find(|m| Some(m.id) == owner)
                .map(|m| m.display_name.clone())
        })
    });
    // The reps the lead can go to: the team's reps other than its owner.
    let reps = Memo::new(move |_| {
        state.team.with(|team| {
            let mut reps: Vec<(Id, String)> = team
                .iter()
                .filter(|m| m.role == "rep" && Some(m.id) != owner)
                .map(|m| (m.id, m.display_name.clone()))
                .collect();
            reps.sort_by(|a, b| a.1.cmp(&b.1));
            reps
        })
    });
    let chosen = RwSignal::new(None::<Id>);
    let busy = RwSignal::new(false);
    let manager = Memo::new(move |_| state.is_manager());
    let lead = StoredValue::new(lead);
    let move_lead = move |_| {
        let Some(to) = chosen.get_untracked() else {
            return;
        };
        let name = reps.with_untracked(|r| {
            r.iter()
                .find(|(id, _)| *id == to)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        });
        let mut moved = lead.get_value();
        moved.owner = Some(to);
        moved.updated_at = platform::now_ms();
        busy.set(true);
        spawn_local(async move {
            match state.save(vec![Change::Lead(moved)]).await {
                Ok(()) => state.notify(fill(i.now("lead.reassigned"), name), false, None),
                Err(err) => state.notify(i.now(err.key()), true, None),
            }
            busy.set(false);
        });
    };
    view! {
        <Show when=move || manager.get()>
            <section class="owner" data-testid="owner">
                <h2 class="section-title">{move || i.t("lead.owner")}</h2>
                <p data-testid="owner-name">{move || owner_name.get().unwrap_or_else(|| "—".into())}</p>
                <Show when=move || reps.with(|r| !r.is_empty())
                    fallback=move || view! { <p class="empty">{move || i.t("lead.reassign_none")}</p> }>
                    <div class="field">
                        <label for="reassign-to">{move || i.t("lead.reassign_to")}</label>
                        <select id="reassign-to" data-testid="reassign-to"
                            on:change=move |ev| chosen.set(Id::parse(&event_target_value(&ev)).ok())>
                            <option value="">{move || i.t("field.none")}</option>
                            <For each=move || reps.get() key=|(id, _)| *id let:rep>
                                <option value=rep.0.to_string()>{rep.1.clone()}</option>
                            </For>
                        </select>
                    </div>
                    <button type="button" class="button" data-testid="reassign"
                        disabled=move || busy.get() || chosen.get().is_none()
                        on:click=move_lead>
                        {move || i.t("lead.reassign")}
                    </button>
                </Show>
            </section>
        </Show>
    }
}
