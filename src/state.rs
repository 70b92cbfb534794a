//! The app's shared state: the open local store and the records loaded from it.
//!
//! Records live in IndexedDB; these signals are a read cache of them for the screens. A save goes
//! to IndexedDB first and updates the signals only after its transaction committed, so the UI
//! never shows as saved what is not on disk.

use std::rc::Rc;

use domain::{Deal, Id, Lead, LeadQuery, Visit};
use leptos::prelude::*;

use crate::i18n::Locale;
use crate::platform;
use crate::store::{Change, Snapshot, Store, StoreError, DB_NAME};

/// Where opening the local database stands.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadState {
    Loading,
    Ready,
    Failed(StoreError),
}

/// A short confirmation or error shown at the bottom of the screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub text: String,
    pub is_error: bool,
    /// A change that undoes the action the toast confirms (a delete's restore).
    pub undo: Option<Change>,
    /// Tells two toasts with the same text apart so the newer one gets its own timer.
    pub serial: u64,
}

/// Handles to everything the screens share. `Copy`, so closures can capture it freely.
#[derive(Clone, Copy)]
pub struct AppState {
    pub locale: RwSignal<Locale>,
    pub load: RwSignal<LoadState>,
    pub leads: RwSignal<Vec<Lead>>,
    pub visits: RwSignal<Vec<Visit>>,
    pub deals: RwSignal<Vec<Deal>>,
    /// Mutations in the outbox, waiting for the sync server.
    pub waiting: RwSignal<u32>,
    pub online: RwSignal<bool>,
    pub toast: RwSignal<Option<Toast>>,
    pub device_id: RwSignal<Option<Id>>,
    /// The lead list's search, filters and sort, kept while the rep opens a lead and comes back.
    pub lead_query: RwSignal<LeadQuery>,
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
}

impl AppState {
    pub fn new(locale: Locale) -> AppState {
        AppState {
            locale: RwSignal::new(locale),
            load: RwSignal::new(LoadState::Loading),
            leads: RwSignal::new(Vec::new()),
            visits: RwSignal::new(Vec::new()),
            deals: RwSignal::new(Vec::new()),
            waiting: RwSignal::new(0),
            online: RwSignal::new(true),
            toast: RwSignal::new(None),
            device_id: RwSignal::new(None),
            lead_query: RwSignal::new(LeadQuery::default()),
            store: StoredValue::new_local(None),
        }
    }

    /// Opens the local database and loads every record into the signals.
    pub async fn open(self) {
        match self.try_open().await {
            Ok(()) => self.load.set(LoadState::Ready),
            Err(err) => self.load.set(LoadState::Failed(err)),
        }
    }

    async fn try_open(self) -> Result<(), StoreError> {
        let store = Rc::new(Store::open(DB_NAME).await?);
        let device = store.device(platform::now_ms()).await?;
        let Snapshot {
            leads,
            visits,
            deals,
        } = store.snapshot().await?;
        let waiting = store.outbox_len().await?;
        self.store.set_value(Some(store));
        self.device_id.set(Some(device.client_id));
        self.leads.set(leads);
        self.visits.set(visits);
        self.deals.set(deals);
        self.waiting.set(waiting);
        Ok(())
    }

    fn store(&self) -> Result<Rc<Store>, StoreError> {
        self.store
            .get_value()
            .ok_or_else(|| StoreError::Open("the local database is not open".into()))
    }

    /// Saves `changes` in one transaction, then shows them. On error nothing was written and
    /// the signals are untouched, so the form that asked still holds what was typed.
    pub async fn save(self, changes: Vec<Change>) -> Result<(), StoreError> {
        let store = self.store()?;
        let written = store.save(&changes, platform::now_ms()).await?;
        for change in changes {
            match change {
                Change::Lead(lead) => self.leads.update(|all| upsert(all, lead, |l| l.id)),
                Change::Visit(visit) => self.visits.update(|all| upsert(all, visit, |v| v.id)),
                Change::Deal(deal) => self.deals.update(|all| upsert(all, deal, |d| d.id)),
            }
        }
        if !written.is_empty() {
            self.waiting.update(|n| *n += written.len() as u32);
        }
        Ok(())
    }

    /// Moves a record to the trash (a tombstone) and offers to undo it. `record` is the
    /// record as it is now; `wrap` makes it a `Change`.
    pub async fn trash<T: domain::Record>(
        self,
        record: T,
        wrap: fn(T) -> Change,
        done_text: &'static str,
    ) -> Result<(), StoreError> {
        let now = platform::now_ms();
        let mut deleted = record.clone();
        deleted.mark_deleted(now);
        self.save(vec![wrap(deleted)]).await?;
        // The undo writes the record back as it was, as a newer edit.
        let mut restored = record;
        restored.restore(platform::now_ms());
        self.notify(done_text, false, Some(wrap(restored)));
        Ok(())
    }

    /// A lead from the cache (tombstones included).
    pub fn lead(&self, id: Id) -> Option<Lead> {
        self.leads
            .with(|all| all.iter().find(|l| l.id == id).cloned())
    }

    pub fn visit(&self, id: Id) -> Option<Visit> {
        self.visits
            .with(|all| all.iter().find(|v| v.id == id).cloned())
    }

    pub fn deal(&self, id: Id) -> Option<Deal> {
        self.deals
            .with(|all| all.iter().find(|d| d.id == id).cloned())
    }

    /// Shows a short message at the bottom of the screen.
    pub fn notify(&self, text: impl Into<String>, is_error: bool, undo: Option<Change>) {
        let serial = self
            .toast
            .with_untracked(|t| t.as_ref().map_or(0, |t| t.serial + 1));
        self.toast.set(Some(Toast {
            text: text.into(),
            is_error,
            undo,
            serial,
        }));
    }
}

fn upsert<T>(all: &mut Vec<T>, item: T, id: impl Fn(&T) -> Id) {
    let key = id(&item);
    match all.iter_mut().find(|x| id(x) == key) {
        Some(slot) => *slot = item,
        None => all.push(item),
    }
}

/// The state handed down by `App`.
pub fn use_app() -> AppState {
    use_context::<AppState>().unwrap_or_else(|| AppState::new(Locale::En))
}
