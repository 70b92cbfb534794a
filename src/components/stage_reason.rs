//! Why a sale was won or lost (赢单/丢单原因): the choice the lead form and the pipeline
//! offer when a lead moves to 成交 or 流失, kept on the lead's [`StageChange`].

use domain::{Lead, RecordMeta, StageChange, StageReason};
use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::platform;
use crate::store::{Change, Edit};

/// A labelled `<select>` of [`StageReason`]s, "not given" first.
#[component]
pub fn ReasonField(reason: RwSignal<Option<StageReason>>, id: &'static str) -> impl IntoView {
    let i = use_i18n();
    let on_change = move |ev: leptos::ev::Event| {
        let raw = event_target_value(&ev);
        reason.set(raw.parse::<StageReason>().ok());
    };
    view! {
        <div class="field">
            <label for=id>{move || i.t("pipeline.reason")}</label>
            <select id=id data-testid="stage-reason" on:change=on_change>
                <option value="" selected=move || reason.get().is_none()>{move || i.t("pipeline.reason_none")}</option>
                {StageReason::ALL.iter().map(|&r| view! {
                    <option value=r.as_str() selected=move || reason.get() == Some(r)>{move || i.t(r.key())}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// The stage change of a lead saved as `after` when it was `before`, with `reason`, as an
/// edit to save with the lead (`None` when the stage did not move).
pub fn stage_change_edit(
    before: Option<&Lead>,
    after: &Lead,
    reason: Option<StageReason>,
) -> Option<Edit> {
    let now = platform::now_ms();
    let meta = RecordMeta {
        owner: after.owner,
        team: after.team,
        ..RecordMeta::new(platform::new_id(now), now)
    };
    StageChange::between(meta, before, after, reason, now)
        .map(|c| Edit::from(Change::StageChange(c)))
}
