//! The app's shared state: the open local store and the records loaded from it.
//!
//! Records live in IndexedDB; these signals are a read cache of them for the screens. A save goes
//! to IndexedDB first and updates the signals only after its transaction committed, so the UI
//! never shows as saved what is not on disk.

use std::rc::Rc;

use domain::{Conflict, Id, Lead, LeadIndex, LeadQuery, RecordKind, StageChange};
use leptos::prelude::*;

use crate::i18n::Locale;
use crate::platform::{self, PinyinCollator};
use crate::pwa::{AppUpdate, Pwa};
use crate::store::{
    Account, Change, Edit, RejectionNote, Store, StoreError, SyncNotice, TeamMember, DB_NAME,
};
use crate::sync::{self, SyncStatus};
use domain::replica::EditSession;

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
    /// When it was raised (device clock, ms; one more than the toast before when that is
    /// later): tells two toasts with the same text apart so the newer one gets its own timer,
    /// and a route change tells a toast about the screen left from one about the new screen.
    pub serial: u64,
}

/// Handles to everything the screens share. `Copy`, so closures can capture it freely.
#[derive(Clone, Copy)]
pub struct AppState {
    pub locale: RwSignal<Locale>,
    pub load: RwSignal<LoadState>,
    /// Every lead on the device (tombstones included) with its search index. Read from
    /// IndexedDB in chunks after the first screen is up ([`AppState::book_ready`]), then kept
    /// up to date lead by lead by saves and pulls. Visits and deals are not held in memory:
    /// screens ask IndexedDB's indices for the few they show.
    pub book: RwSignal<LeadIndex>,
    /// Whether the book has been read; the screens that list or pick leads wait for it.
    pub book_ready: RwSignal<bool>,
    /// Moves on every change of a record (a save, a pull, another tab): screens that query
    /// IndexedDB for visits or deals ask again.
    pub revision: RwSignal<u64>,
    /// Mutations in the outbox, waiting for the sync server.
    pub waiting: RwSignal<u32>,
    /// Records those mutations change (each counted once): the number the person is told.
    pub records_waiting: RwSignal<u32>,
    pub online: RwSignal<bool>,
    pub toast: RwSignal<Option<Toast>>,
    pub device_id: RwSignal<Option<Id>>,
    /// The lead list's search, filters and sort, kept while the rep opens a lead and comes back.
    pub lead_query: RwSignal<LeadQuery>,
    /// Who is signed in on this device (kept offline); `None` shows the sign-in screen.
    pub account: RwSignal<Option<Account>>,
    pub sync: RwSignal<SyncStatus>,
    /// When the last complete sync finished (device clock, ms).
    pub last_synced: RwSignal<Option<i64>>,
    /// Same-field races lost by someone, not yet dealt with.
    pub conflicts: RwSignal<Vec<Conflict>>,
    /// Edits the server refused, until dismissed.
    pub rejections: RwSignal<Vec<RejectionNote>>,
    /// What sync has to tell the person (the server went back), until dismissed.
    pub notice: RwSignal<Option<SyncNotice>>,
    /// The signed-in user's team as the server last listed it (a manager reassigns leads
    /// to these reps, offline too).
    pub team: RwSignal<Vec<TeamMember>>,
    /// The installed app: service worker updates, install offer, storage.
    pub pwa: Pwa,
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
    collator: StoredValue<Option<Rc<PinyinCollator>>, LocalStorage>,
}

impl AppState {
    pub fn new(locale: Locale) -> AppState {
        AppState {
            locale: RwSignal::new(locale),
            load: RwSignal::new(LoadState::Loading),
            book: RwSignal::new(LeadIndex::new()),
            book_ready: RwSignal::new(false),
            revision: RwSignal::new(0),
            waiting: RwSignal::new(0),
            records_waiting: RwSignal::new(0),
            online: RwSignal::new(true),
            toast: RwSignal::new(None),
            device_id: RwSignal::new(None),
            lead_query: RwSignal::new(LeadQuery::default()),
            account: RwSignal::new(None),
            sync: RwSignal::new(SyncStatus::Idle),
            last_synced: RwSignal::new(None),
            conflicts: RwSignal::new(Vec::new()),
            rejections: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            team: RwSignal::new(Vec::new()),
            pwa: Pwa::new(),
            store: StoredValue::new_local(None),
            collator: StoredValue::new_local(None),
        }
    }

    /// Opens the local database and shows the first screen (Today asks IndexedDB's indices
    /// for what it lists); then reads the lead book in the background and, when someone is
    /// signed in on this device, starts syncing.
    pub async fn open(self) {
        match self.try_open().await {
            Ok(()) => {
                self.load.set(LoadState::Ready);
                // The first screen asks IndexedDB for what it shows before the book's
                // chunks queue up behind it.
                platform::next_tick().await;
                if let Err(err) = self.load_book().await {
                    self.load.set(LoadState::Failed(err));
                    return;
                }
                platform::mark("fb:loaded");
                sync::start(self);
            }
            Err(err) => self.load.set(LoadState::Failed(err)),
        }
    }

    async fn try_open(self) -> Result<(), StoreError> {
        let store = Rc::new(Store::open(DB_NAME).await?);
        let device = store.device(platform::now_ms()).await?;
        let account = store.account().await?;
        let team = store.team().await?;
        // A newer version of the app opening the database in another tab (to upgrade it) or
        // deleting it (signing out) needs this connection gone: close it, stop using it, and
        // offer the reload that brings this tab onto the new version.
        store.on_version_change(move || {
            if let Some(store) = self.store.get_value() {
                store.close();
            }
            self.store.set_value(None);
            self.pwa.update.set(AppUpdate::Activated);
        });
        self.store.set_value(Some(store));
        self.device_id.set(Some(device.client_id));
        self.account.set(account);
        self.team.set(team);
        self.reload_status().await
    }

    /// Reads the whole lead book again, in chunks (after the server went back, or when
    /// another tab changed the data), and everything else the screens show.
    pub async fn reload(self) -> Result<(), StoreError> {
        self.load_book().await?;
        self.revision.update(|r| *r += 1);
        self.reload_status().await
    }

    /// Shows again the records a sync run rewrote or removed: the leads among them are read
    /// and replaced in the book one by one (the book is not read again), and the screens
    /// that show visits or deals ask again.
    pub async fn refresh(self, touched: &[(RecordKind, Id)]) -> Result<(), StoreError> {
        let leads: Vec<Id> = touched
            .iter()
            .filter(|(kind, _)| *kind == RecordKind::Lead)
            .map(|(_, id)| *id)
            .collect();
        if !self.book_ready.get_untracked() || leads.len() > REREAD_BOOK_AFTER {
            // A first sync: reading the book in chunks beats thousands of single reads.
            return self.reload().await;
        }
        if !leads.is_empty() {
            let found = self.store()?.leads_by_id(&leads).await?;
            let collator = self.collator();
            self.book.update(|book| {
                for (id, lead) in found {
                    match lead {
                        Some(lead) => {
                            let initials = collator.initials(&lead.name);
                            book.upsert(lead, &initials);
                        }
                        None => {
                            book.remove(id);
                        }
                    }
                }
                book.order_names(|chars| collator.sort_chars(chars));
            });
        }
        self.revision.update(|r| *r += 1);
        self.reload_status().await
    }

    /// The outbox count, conflicts, refusals and sync facts: small reads.
    async fn reload_status(self) -> Result<(), StoreError> {
        let store = self.store()?;
        let waiting = store.outbox_len().await?;
        let records_waiting = store.outbox_records().await?;
        let sync_state = store.sync_state().await?;
        let conflicts = store.conflicts(&sync_state.resolved).await?;
        let rejections = store.rejections().await?;
        self.waiting.set(waiting);
        self.records_waiting.set(records_waiting);
        self.conflicts.set(conflicts);
        self.rejections.set(rejections);
        self.last_synced.set(sync_state.last_synced_ms);
        self.notice.set(sync_state.notice);
        Ok(())
    }

    /// Reads every lead into a new book, a chunk per short transaction with a turn of the
    /// event loop between chunks (no long task while a large book loads), then shows it. A
    /// save or a sync that changed leads meanwhile may have missed chunks already read:
    /// then the book is read again.
    async fn load_book(self) -> Result<(), StoreError> {
        let store = self.store()?;
        let collator = self.collator();
        for attempt in 1..=3 {
            let started = self.revision.get_untracked();
            let mut book = LeadIndex::new();
            let mut after = None;
            loop {
                let chunk = store.leads_after(after, BOOK_CHUNK).await?;
                let full = chunk.len() == BOOK_CHUNK as usize;
                after = chunk.last().map(|l| l.id);
                for lead in chunk {
                    let initials = collator.initials(&lead.name);
                    book.upsert(lead, &initials);
                }
                if !full {
                    break;
                }
                platform::next_tick().await;
            }
            // Names sort by pinyin: the book's characters are ranked by the collator once.
            book.order_names(|chars| collator.sort_chars(chars));
            // Still changing after three reads: show the last one; the next change
            // refreshes what it touches.
            if self.revision.get_untracked() == started || attempt == 3 {
                self.book.set(book);
                self.book_ready.set(true);
                break;
            }
        }
        Ok(())
    }

    /// The pinyin collator, made once per page (it remembers each character's initial).
    pub fn collator(&self) -> Rc<PinyinCollator> {
        if let Some(collator) = self.collator.get_value() {
            return collator;
        }
        let collator = Rc::new(PinyinCollator::new());
        self.collator.set_value(Some(collator.clone()));
        collator
    }

    /// Whether the signed-in user is a manager (who may move leads between reps).
    pub fn is_manager(&self) -> bool {
        self.account
            .with(|a| a.as_ref().is_some_and(|a| a.role == "manager"))
    }

    /// Forgets the sync notice the person read.
    pub async fn dismiss_notice(self) -> Result<(), StoreError> {
        self.store()?.dismiss_notice().await?;
        self.notice.set(None);
        Ok(())
    }

    /// Starts an edit session on `existing` as the form shows it (a new record when `None`):
    /// the form keeps it, so its save writes only what the person changed, each field with
    /// the version of the value they saw — a pull landing while the form is open changes
    /// nothing of that. The bases are read from the device in the background; a save in the
    /// few milliseconds before they arrive takes them from what the device holds then.
    pub fn edit_session<T: domain::Record>(
        self,
        existing: Option<&T>,
    ) -> StoredValue<Option<EditSession>> {
        let Some(record) = existing else {
            return StoredValue::new(Some(EditSession::default()));
        };
        let Ok(opened) = domain::to_object(record) else {
            return StoredValue::new(None);
        };
        let slot = StoredValue::new(Some(EditSession::shown(opened.clone())));
        let id = record.id();
        if let Ok(store) = self.store() {
            leptos::task::spawn_local(async move {
                if let Ok(found) = store.edit_session(T::KIND, id).await {
                    let _ = slot.try_set_value(Some(EditSession::new(Some(opened), found.bases)));
                }
            });
        }
        slot
    }

    /// Remembers who signed in and syncs.
    pub async fn signed_in(self, account: Account) -> Result<(), StoreError> {
        self.store()?.set_account(&account).await?;
        self.account.set(Some(account));
        self.pwa.keep_data();
        self.sync.set(SyncStatus::Idle);
        sync::sync_now(self);
        Ok(())
    }

    /// Signs out: deletes the local database (the caller has warned about unsynced changes),
    /// ends the session and starts over at the sign-in screen.
    ///
    /// Every connection to the database is closed first (this tab's, and the other tabs' on
    /// the broadcast), because the server's `Clear-Site-Data` answer and the delete below both
    /// wait for open connections to go away.
    pub async fn sign_out(self) -> Result<(), StoreError> {
        sync::announce_signed_out();
        if let Some(store) = self.store.get_value() {
            store.close();
        }
        self.store.set_value(None);
        // The book goes first, while this page is the only one deleting it: the server's
        // answer to the logout clears the site's storage too (Clear-Site-Data), and a delete
        // asked for while the browser was doing that could wait forever (seen once in CI: the
        // page stayed on Settings with the database half gone).
        Store::delete(DB_NAME).await?;
        // Offline the server cannot be told; the session cookie then just expires unused.
        let _ = sync::api::logout().await;
        platform::reload_page();
        Ok(())
    }

    /// The open store, for the sync engine.
    pub fn open_store(&self) -> Option<Rc<Store>> {
        self.store.get_value()
    }

    /// Closes the local database (another tab is deleting it) and starts over.
    pub fn close_and_restart(&self) {
        if let Some(store) = self.store.get_value() {
            store.close();
        }
        self.store.set_value(None);
        platform::reload_page();
    }

    /// Someone dealt with a conflict here: hide it, and tell the server on the next sync.
    pub async fn resolve_conflict(self, conflict: Id) -> Result<(), StoreError> {
        self.store()?.queue_resolution(conflict).await?;
        self.conflicts
            .update(|all| all.retain(|c| c.id != conflict));
        sync::request(self, sync::AFTER_SAVE);
        Ok(())
    }

    /// Writes a conflict's replaced value back as a new edit (made on top of what the device
    /// shows, so it wins), then marks the conflict dealt with.
    pub async fn restore_lost(self, conflict: Conflict) -> Result<(), StoreError> {
        let now = platform::now_ms();
        let fields = [
            (conflict.field.clone(), conflict.lost_value.clone()),
            ("updated_at".to_string(), serde_json::Value::from(now)),
        ];
        let missing = || StoreError::Data(format!("record {} is not here", conflict.record_id));
        let store = self.store()?;
        let id = conflict.record_id;
        let mut record = store
            .record_object(conflict.kind, id)
            .await?
            .ok_or_else(missing)?;
        record.extend(fields);
        let change = Change::from_object(conflict.kind, record)?;
        self.save(vec![change]).await?;
        self.resolve_conflict(conflict.id).await
    }

    /// Forgets a refusal the person has read.
    pub async fn dismiss_rejection(self, seq: u64) -> Result<(), StoreError> {
        self.store()?.dismiss_rejection(seq).await?;
        self.rejections.update(|all| all.retain(|r| r.seq != seq));
        Ok(())
    }

    pub fn store(&self) -> Result<Rc<Store>, StoreError> {
        self.store
            .get_value()
            .ok_or_else(|| StoreError::Open("the local database is not open".into()))
    }

    /// Saves `changes` as actions on the records as the device holds them now.
    pub async fn save(self, changes: Vec<Change>) -> Result<(), StoreError> {
        self.save_edits(changes.into_iter().map(Edit::from).collect())
            .await
    }

    /// Saves `edits` in one transaction, then shows the records as saved (what the person
    /// changed, over whatever a pull brought meanwhile). On error nothing was written and
    /// the signals are untouched, so the form that asked still holds what was typed.
    pub async fn save_edits(self, edits: Vec<Edit>) -> Result<(), StoreError> {
        let store = self.store()?;
        let now = platform::now_ms();
        let edits = with_stage_changes(&store, edits, now).await?;
        let written = store.save_edits(&edits, now).await?;
        platform::mark("fb:saved");
        let leads: Vec<Lead> = written
            .iter()
            .filter_map(|(_, saved)| match saved {
                Change::Lead(lead) => Some(lead.clone()),
                _ => None,
            })
            .collect();
        if !leads.is_empty() {
            let collator = self.collator();
            self.book.update(|book| {
                for lead in leads {
                    let initials = collator.initials(&lead.name);
                    book.upsert(lead, &initials);
                }
                book.order_names(|chars| collator.sort_chars(chars));
            });
        }
        if !written.is_empty() {
            self.revision.update(|r| *r += 1);
            self.waiting.update(|n| *n += written.len() as u32);
            // A record already waiting adds no record: count again, off the save's path.
            leptos::task::spawn_local(async move {
                if let Ok(store) = self.store() {
                    if let Ok(records) = store.outbox_records().await {
                        self.records_waiting.set(records);
                    }
                }
            });
            self.pwa.keep_data();
            let touched: Vec<(RecordKind, Id)> =
                written.iter().map(|(m, _)| (m.kind, m.record_id)).collect();
            sync::announce(&touched);
            sync::request(self, sync::AFTER_SAVE);
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

    /// A lead from the book (tombstones included).
    pub fn lead(&self, id: Id) -> Option<Lead> {
        self.book.with(|book| book.get(id).cloned())
    }

    /// A lead from the book without subscribing to it.
    pub fn lead_untracked(&self, id: Id) -> Option<Lead> {
        self.book.with_untracked(|book| book.get(id).cloned())
    }

    /// Shows a short message at the bottom of the screen.
    pub fn notify(&self, text: impl Into<String>, is_error: bool, undo: Option<Change>) {
        let now = u64::try_from(platform::now_ms()).unwrap_or(0);
        let serial = self
            .toast
            .with_untracked(|t| t.as_ref().map_or(now, |t| now.max(t.serial + 1)));
        self.toast.set(Some(Toast {
            text: text.into(),
            is_error,
            undo,
            serial,
        }));
    }
}

/// `edits` with a [`StageChange`] added for every lead whose stage they move (from the
/// lead as IndexedDB holds it now; a new lead only when it starts past the first stage),
/// unless the edits already carry one for that lead (a form that asked why a sale was won
/// or lost): every path that moves a stage — the lead form, the quick log, the pipeline —
/// keeps it on the lead's timeline, in the same transaction as the lead.
async fn with_stage_changes(
    store: &Store,
    mut edits: Vec<Edit>,
    now: i64,
) -> Result<Vec<Edit>, StoreError> {
    let leads: Vec<&Lead> = edits
        .iter()
        .filter_map(|edit| match &edit.change {
            Change::Lead(lead) => Some(lead),
            _ => None,
        })
        .collect();
    if leads.is_empty() {
        return Ok(edits);
    }
    let given: Vec<Id> = edits
        .iter()
        .filter_map(|edit| match &edit.change {
            Change::StageChange(change) => Some(change.lead_id),
            _ => None,
        })
        .collect();
    let ids: Vec<Id> = leads.iter().map(|lead| lead.id).collect();
    let before = store.leads_by_id(&ids).await?;
    let mut added = Vec::new();
    for (lead, (_, held)) in leads.iter().zip(before.iter()) {
        if given.contains(&lead.id) {
            continue;
        }
        let meta = domain::RecordMeta {
            owner: lead.owner,
            team: lead.team,
            ..domain::RecordMeta::new(platform::new_id(now), now)
        };
        if let Some(change) = StageChange::between(meta, held.as_ref(), lead, None, now) {
            added.push(Edit::from(Change::StageChange(change)));
        }
    }
    edits.extend(added);
    Ok(edits)
}

/// Leads read per IndexedDB request while the book loads.
const BOOK_CHUNK: u32 = 500;

/// A sync that rewrote more leads than this reads the whole book again instead of each.
const REREAD_BOOK_AFTER: usize = 2_000;

/// The state handed down by `App`.
pub fn use_app() -> AppState {
    use_context::<AppState>().unwrap_or_else(|| AppState::new(Locale::En))
}
