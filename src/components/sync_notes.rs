//! What sync has to say about a record, shown on it: same-field conflicts (with one tap to
//! restore the replaced value) and edits the server refused (with what was typed).

use domain::{Conflict, Id, RejectReason};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use crate::i18n::{fill, tr, use_i18n, I18n};
use crate::state::use_app;
use crate::store::RejectionNote;

/// The notices of a lead and of its visits and deals (`records`: their ids).
#[component]
pub fn RecordNotices(lead_id: Id, #[prop(into)] records: Signal<Vec<Id>>) -> impl IntoView {
    let state = use_app();
    let ids = Memo::new(move |_| {
        let mut ids = vec![lead_id];
        records.with(|records| ids.extend(records.iter().copied()));
        ids
    });
    let conflicts = of_records(state.conflicts, ids, |c| c.record_id);
    let rejections = of_records(state.rejections, ids, |r| r.record_id);
    view! {
        <For each=move || conflicts.get() key=|c| c.id let:conflict>
            <ConflictNotice conflict/>
        </For>
        <For each=move || rejections.get() key=|r| r.seq let:note>
            <RejectionNotice note/>
        </For>
    }
}

/// The items of `all` that belong to one of `ids`.
fn of_records<T: Clone + PartialEq + Send + Sync + 'static>(
    all: RwSignal<Vec<T>>,
    ids: Memo<Vec<Id>>,
    record: fn(&T) -> Id,
) -> Memo<Vec<T>> {
    Memo::new(move |_| {
        ids.with(|ids| {
            all.with(|all| {
                all.iter()
                    .filter(|item| ids.contains(&record(item)))
                    .cloned()
                    .collect()
            })
        })
    })
}

#[component]
fn ConflictNotice(conflict: Conflict) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let label = field_label(i, &conflict.field);
    let kept = show_value(i, &conflict.field, &conflict.kept_value);
    let lost = show_value(i, &conflict.field, &conflict.lost_value);
    let busy = RwSignal::new(false);
    let id = conflict.id;
    let restore = {
        let conflict = conflict.clone();
        move |_| {
            busy.set(true);
            let conflict = conflict.clone();
            spawn_local(async move {
                match state.restore_lost(conflict).await {
                    Ok(()) => state.notify(i.now("conflict.restored"), false, None),
                    Err(err) => state.notify(i.now(err.key()), true, None),
                }
                busy.set(false);
            });
        }
    };
    let keep = move |_| {
        busy.set(true);
        spawn_local(async move {
            if let Err(err) = state.resolve_conflict(id).await {
                state.notify(i.now(err.key()), true, None);
            }
            busy.set(false);
        });
    };
    view! {
        <div class="banner notice conflict" role="note" data-testid="conflict" data-field=conflict.field.clone()>
            <p><strong>{move || i.t("conflict.title")}</strong>" · "{label}</p>
            <p>{move || i.t("conflict.kept")}": "<span data-testid="conflict-kept">{kept.clone()}</span></p>
            <p>{move || i.t("conflict.replaced")}": "<span data-testid="conflict-lost">{lost.clone()}</span></p>
            <div class="actions">
                <button type="button" class="button" data-testid="conflict-restore" disabled=move || busy.get() on:click=restore>
                    {move || i.t("conflict.restore")}
                </button>
                <button type="button" class="button" data-testid="conflict-keep" disabled=move || busy.get() on:click=keep>
                    {move || i.t("conflict.keep")}
                </button>
            </div>
        </div>
    }
}

#[component]
fn RejectionNotice(note: RejectionNote) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let reason = match &note.reason {
        RejectReason::Invalid { field, key } => {
            let label = field_label(i, field);
            let text = tr(i.locale(), key);
            if field.is_empty() {
                text.to_string()
            } else {
                format!("{label}: {text}")
            }
        }
        RejectReason::Forbidden => i.now("rejected.forbidden").to_string(),
        RejectReason::UnknownRecord => i.now("rejected.unknown").to_string(),
        RejectReason::Malformed { .. } => i.now("rejected.malformed").to_string(),
        RejectReason::TooLarge { max_bytes } => {
            fill(i.now("rejected.too_large"), max_bytes.div_ceil(1024))
        }
    };
    let tried: Vec<(String, String)> =
        serde_json::from_str::<serde_json::Map<String, Value>>(&note.fields)
            .map(|fields| {
                fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(f, v)| (field_label(i, f), show_value(i, f, v)))
                    .collect()
            })
            .unwrap_or_default();
    let seq = note.seq;
    let dismiss = move |_| {
        spawn_local(async move {
            if let Err(err) = state.dismiss_rejection(seq).await {
                state.notify(i.now(err.key()), true, None);
            }
        });
    };
    let kind = note.kind.as_str();
    view! {
        <div class="banner error rejection" role="alert" data-testid="rejection" data-kind=kind>
            <p><strong>{move || i.t("rejected.title")}</strong></p>
            <p>{reason}</p>
            <details>
                <summary>{move || i.t("rejected.tried")}</summary>
                <dl class="facts">
                    {tried.into_iter().map(|(f, v)| view! { <div class="fact"><dt>{f}</dt><dd>{v}</dd></div> }).collect_view()}
                </dl>
            </details>
            <div class="actions">
                <button type="button" class="button" data-testid="rejection-dismiss" on:click=dismiss>
                    {move || i.t("rejected.dismiss")}
                </button>
            </div>
        </div>
    }
}

/// The form label of a record field (`field.<name>`), or the name itself.
fn field_label(i: I18n, field: &str) -> String {
    translated(i, &format!("field.{field}")).unwrap_or_else(|| field.to_string())
}

fn translated(i: I18n, key: &str) -> Option<String> {
    let text = tr(i.locale(), key);
    (text != MISSING).then(|| text.to_string())
}

/// What `tr` answers for a key it does not know.
const MISSING: &str = "…";

/// A field value as text: choices by their label (`stage.prospecting` → 潜在客户开发), strings
/// as they are, lists joined, nothing as a dash.
fn show_value(i: I18n, field: &str, value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => translated(i, &format!("{field}.{s}")).unwrap_or_else(|| s.clone()),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|item| show_value(i, field, item))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => value.to_string(),
    }
}

/// What sync has to tell the person about the whole device (the server went back to an
/// earlier backup), shown under the status bar until dismissed.
#[component]
pub fn SyncNoticeBanner() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let dismiss = move |_| {
        spawn_local(async move {
            if let Err(err) = state.dismiss_notice().await {
                state.notify(i.now(err.key()), true, None);
            }
        });
    };
    move || {
        state.notice.get().map(|notice| {
            let text = match notice {
                crate::store::SyncNotice::ServerWentBack { resent } => {
                    fill(i.now("sync.server_went_back"), resent)
                }
            };
            view! {
                <div class="banner notice" role="status" data-testid="sync-notice">
                    <span>{text}</span>
                    <button type="button" class="button small" data-testid="sync-notice-dismiss"
                        on:click=dismiss>
                        {move || i.t("sync.notice_dismiss")}
                    </button>
                </div>
            }
        })
    }
}
