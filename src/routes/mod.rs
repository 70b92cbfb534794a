//! One screen per file.

pub mod deal_form;
pub mod lead_detail;
pub mod lead_form;
pub mod leads;
pub mod not_found;
pub mod pipeline;
pub mod reports;
pub mod settings;
pub mod sign_in;
pub mod targets;
pub mod today;
pub mod training;
pub mod training_archive;
pub mod training_editor;
pub mod training_item;
pub mod training_session;
pub mod visit_form;

use domain::{Id, Record};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::i18n::use_i18n;
use crate::state::use_app;
use crate::store::Change;

/// The `:id` of the current route, when it is a valid id.
pub fn route_id() -> Memo<Option<Id>> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("id").and_then(|raw| Id::parse(&raw).ok())))
}

/// The `?lead=` query of the current route, when it is a valid id.
pub fn query_lead() -> Option<Id> {
    use_query_map().with_untracked(|q| q.get("lead").and_then(|raw| Id::parse(&raw).ok()))
}

/// The answer of an IndexedDB read that `read` starts, read again whenever a signal `read`
/// tracks (before its first await) changes; `None` until the first answer. An answer to a
/// read that a newer one superseded is dropped. (A signal and an effect: lighter in the
/// download than leptos' async resources.)
pub fn reading<T, F, Fut>(read: F) -> RwSignal<Option<T>>
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    let answer = RwSignal::new(None);
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        let pending = read();
        let serial = latest.get_value().wrapping_add(1);
        latest.set_value(serial);
        spawn_local(async move {
            let found = pending.await;
            if latest.try_get_value() == Some(serial) {
                answer.try_set(Some(found));
            }
        });
    });
    answer
}

/// The record of kind `T` a form edits, read from IndexedDB once (the form then keeps what
/// it showed): `None` while it is read, then `Some(None)` when the device has no such record.
pub fn stored_record<T>(id: Id) -> RwSignal<Option<Option<T>>>
where
    T: Record + Send + Sync + 'static,
{
    let state = use_app();
    reading(move || async move {
        match state.store() {
            Ok(store) => store.record::<T>(id).await.ok().flatten(),
            Err(_) => None,
        }
    })
}

/// The delete action of a form for a record that belongs to a lead (a visit, a deal): moves it
/// to the trash, then opens the lead, whose page shows the undo. `None` for a new record.
pub fn trash_action<T>(
    existing: Option<T>,
    lead_id: fn(&T) -> Id,
    wrap: fn(T) -> Change,
    done_key: &'static str,
    banner: RwSignal<Option<&'static str>>,
) -> Option<Callback<()>>
where
    T: Record + Send + Sync + 'static,
{
    let state = use_app();
    let i = use_i18n();
    let navigate = use_navigate();
    existing.filter(|r| !r.is_deleted()).map(|record| {
        Callback::new(move |()| {
            let record = record.clone();
            let lead = lead_id(&record);
            let navigate = navigate.clone();
            spawn_local(async move {
                match state.trash(record, wrap, i.now(done_key)).await {
                    Ok(()) => navigate(&format!("/leads/{lead}"), Default::default()),
                    Err(err) => banner.set(Some(err.key())),
                }
            });
        })
    })
}
