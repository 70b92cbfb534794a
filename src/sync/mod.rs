//! The sync engine: pushes the outbox, pulls what changed, and keeps the indicator honest.
//!
//! When it runs: at start, on the browser's `online` event, shortly after each save, every
//! [`PERIOD`] while online, and from "Sync now". Failures back off exponentially with jitter.
//! One sync at a time across tabs: a run takes the Web Lock [`LOCK_NAME`] (`ifAvailable`, so
//! a tab that finds another syncing just skips), and every tab reloads its screens when
//! another one announces new data on the BroadcastChannel [`CHANNEL`].
//!
//! A run: push the outbox in number order from the last acknowledged entry (each answer
//! recorded in one transaction; a gap answer rewinds), send the conflict resolutions made
//! here, then pull page by page, each page applied in one IndexedDB transaction that also
//! drops, on the last page, the outbox entries the server applied (see `store::sync`).

pub mod api;
mod attachments;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use domain::{Id, PullRequest, RecordKind};
use js_sys::{Function, Object, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::platform;
use crate::state::AppState;
use crate::store::{NextPush, PushApplied, PushLimits, Store, StoreError};
use api::ApiError;

/// The Web Lock that keeps syncs of several tabs from overlapping.
pub const LOCK_NAME: &str = "fieldbook-sync";
/// The BroadcastChannel on which tabs announce that the local data changed.
pub const CHANNEL: &str = "fieldbook";
/// How often to sync while online and idle.
pub const PERIOD: Duration = Duration::from_secs(60);
/// How long after a save to sync, so a burst of saves goes in one push.
pub const AFTER_SAVE: Duration = Duration::from_millis(800);

const PULL_PAGE: u32 = 200;
const MAX_BACKOFF_MS: f64 = 5.0 * 60.0 * 1000.0;

/// What the indicator shows about sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// Nothing running; the last run (if any) succeeded.
    Idle,
    Syncing,
    /// The server could not be reached.
    Offline,
    /// The session ended: the outbox is kept until the person signs in again.
    SignInNeeded,
    /// The server refused; the message key says why.
    Error(&'static str),
}

/// Why a run stopped.
#[derive(Debug)]
enum RunError {
    Api(ApiError),
    Store(StoreError),
}

impl From<ApiError> for RunError {
    fn from(err: ApiError) -> Self {
        RunError::Api(err)
    }
}

impl From<attachments::AttachmentError> for RunError {
    fn from(err: attachments::AttachmentError) -> Self {
        match err {
            attachments::AttachmentError::Api(err) => RunError::Api(err),
            attachments::AttachmentError::Store(err) => RunError::Store(err),
        }
    }
}

impl From<StoreError> for RunError {
    fn from(err: StoreError) -> Self {
        RunError::Store(err)
    }
}

#[derive(Default)]
struct Scheduler {
    running: bool,
    again: bool,
    failures: u32,
    /// The pending timer and when it fires (ms since the epoch).
    timer: Option<(TimeoutHandle, f64)>,
    channel: Option<web_sys::BroadcastChannel>,
}

thread_local! {
    static SCHEDULER: RefCell<Scheduler> = RefCell::new(Scheduler::default());
}

/// Starts the triggers: the `online` event, the periodic timer, the cross-tab channel; then
/// syncs once.
pub fn start(state: AppState) {
    if let Some(window) = web_sys::window() {
        let on_online = Closure::<dyn Fn()>::new(move || request(state, Duration::ZERO));
        let _ =
            window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        on_online.forget();
    }
    let _ = set_interval_with_handle(
        move || {
            if state.online.get_untracked() {
                request(state, Duration::ZERO);
            }
        },
        PERIOD,
    );
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let on_message =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let message = event.data().as_string().unwrap_or_default();
                if message == SIGNED_OUT {
                    // Another tab is deleting the database: let go of it and start over.
                    state.close_and_restart();
                } else {
                    // The records another tab wrote, or (a plain "changed") everything.
                    let touched: Option<Vec<(RecordKind, Id)>> =
                        serde_json::from_str(&message).ok();
                    spawn_local(async move {
                        let _ = match touched {
                            Some(touched) => state.refresh(&touched).await,
                            None => state.reload().await,
                        };
                    });
                }
            });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        SCHEDULER.with(|s| s.borrow_mut().channel = Some(channel));
    }
    request(state, Duration::ZERO);
}

const CHANGED: &str = "changed";
const SIGNED_OUT: &str = "signed_out";

/// Tells the other tabs that the local data changed.
pub fn announce(touched: &[(RecordKind, Id)]) {
    match serde_json::to_string(touched) {
        Ok(list) => post(&list),
        Err(_) => post(CHANGED),
    }
}

/// Tells the other tabs that everything may have changed (the server went back).
pub fn announce_all() {
    post(CHANGED);
}

/// Tells the other tabs to close the database, which this tab is about to delete.
pub fn announce_signed_out() {
    post(SIGNED_OUT);
}

fn post(message: &str) {
    SCHEDULER.with(|s| {
        if let Some(channel) = &s.borrow().channel {
            let _ = channel.post_message(&JsValue::from_str(message));
        }
    });
}

/// "Sync now": forgets the backoff and runs at once.
pub fn sync_now(state: AppState) {
    SCHEDULER.with(|s| s.borrow_mut().failures = 0);
    request(state, Duration::ZERO);
}

/// Asks for a run after `delay`, unless one is already due sooner.
pub fn request(state: AppState, delay: Duration) {
    let due = js_sys::Date::now() + delay.as_millis() as f64;
    let replace = SCHEDULER.with(|s| {
        let mut s = s.borrow_mut();
        match &s.timer {
            Some((_, at)) if *at <= due => false,
            _ => {
                if let Some((handle, _)) = s.timer.take() {
                    handle.clear();
                }
                true
            }
        }
    });
    if !replace {
        return;
    }
    if let Ok(handle) = set_timeout_with_handle(
        move || {
            SCHEDULER.with(|s| s.borrow_mut().timer = None);
            spawn_local(run(state));
        },
        delay,
    ) {
        SCHEDULER.with(|s| s.borrow_mut().timer = Some((handle, due)));
    }
}

/// One run, unless one is going on in this tab (then it runs again right after).
async fn run(state: AppState) {
    let busy = SCHEDULER.with(|s| {
        let mut s = s.borrow_mut();
        if s.running {
            s.again = true;
        }
        std::mem::replace(&mut s.running, true)
    });
    if busy {
        return;
    }
    loop {
        let outcome = with_lock(state).await;
        let retry = finish(state, outcome);
        let again = SCHEDULER.with(|s| {
            let mut s = s.borrow_mut();
            let again = std::mem::take(&mut s.again);
            if !again {
                s.running = false;
            }
            again
        });
        if !again {
            if let Some(delay) = retry {
                request(state, delay);
            }
            break;
        }
    }
}

/// Runs [`sync_once`] under the cross-tab lock; `None` when another tab holds it.
async fn with_lock(state: AppState) -> Option<Result<bool, RunError>> {
    let locks = web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| Reflect::get(&n, &JsValue::from_str("locks")).ok())
        .filter(|l| !l.is_undefined() && !l.is_null());
    let request = locks.as_ref().and_then(|locks| {
        Reflect::get(locks, &JsValue::from_str("request"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    });
    let (Some(locks), Some(request)) = (locks, request) else {
        // No Web Locks (an old browser): one tab at a time is then not guaranteed, but the
        // server still applies each mutation once.
        return Some(sync_once(state).await);
    };
    let result: Rc<RefCell<Option<Result<bool, RunError>>>> = Rc::new(RefCell::new(None));
    let slot = result.clone();
    let callback = Closure::once_into_js(move |lock: JsValue| -> Promise {
        wasm_bindgen_futures::future_to_promise(async move {
            if !lock.is_null() {
                let outcome = sync_once(state).await;
                *slot.borrow_mut() = Some(outcome);
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let options = Object::new();
    let _ = Reflect::set(&options, &JsValue::from_str("ifAvailable"), &JsValue::TRUE);
    let held = request.call3(&locks, &JsValue::from_str(LOCK_NAME), &options, &callback);
    match held.map(|p| p.dyn_into::<Promise>()) {
        Ok(Ok(promise)) => {
            let _ = JsFuture::from(promise).await;
            result.borrow_mut().take()
        }
        _ => Some(sync_once(state).await),
    }
}

/// Updates the indicator after a run; returns when to retry (backoff), if at all.
fn finish(state: AppState, outcome: Option<Result<bool, RunError>>) -> Option<Duration> {
    let failures = SCHEDULER.with(|s| {
        let mut s = s.borrow_mut();
        match &outcome {
            Some(Ok(_)) | None => s.failures = 0,
            Some(Err(_)) => s.failures = s.failures.saturating_add(1),
        }
        s.failures
    });
    // A busy server says when to come back: not before that.
    let at_least = match &outcome {
        Some(Err(RunError::Api(ApiError::Busy { retry_after }))) => {
            Duration::from_secs(*retry_after)
        }
        _ => Duration::ZERO,
    };
    let status = match outcome {
        // Another tab synced; its broadcast refreshes this one.
        None => return None,
        Some(Ok(_)) => SyncStatus::Idle,
        Some(Err(RunError::Api(ApiError::Offline | ApiError::Busy { .. }))) => SyncStatus::Offline,
        Some(Err(RunError::Api(ApiError::SignedOut))) => {
            state.sync.set(SyncStatus::SignInNeeded);
            return None;
        }
        Some(Err(RunError::Api(err))) => SyncStatus::Error(err.key()),
        Some(Err(RunError::Store(err))) => SyncStatus::Error(err.key()),
    };
    let failed = status != SyncStatus::Idle;
    state.sync.set(status);
    failed.then(|| backoff(failures).max(at_least))
}

/// 2 s, 4 s, 8 s … up to 5 minutes, each scaled by a random factor in [0.5, 1).
fn backoff(failures: u32) -> Duration {
    let exp = 2_000.0 * 2f64.powi(failures.saturating_sub(1).min(16) as i32);
    let jitter = 0.5 + js_sys::Math::random() * 0.5;
    Duration::from_millis((exp.min(MAX_BACKOFF_MS) * jitter) as u64)
}

/// Runs `step` as a state machine of its own behind a pointer. The steps of a run
/// (IndexedDB transactions, HTTP calls, their serde) were all inlined into `sync_once`'s
/// future, some of them several times (53 KB, the largest function of the app); behind `dyn`
/// each is compiled once and called.
fn boxed<'a, T>(step: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(step)
}

/// Push, resolutions, pull. Returns whether local data changed.
async fn sync_once(state: AppState) -> Result<bool, RunError> {
    let Some(store) = state.open_store() else {
        return Ok(false);
    };
    let (Some(_), Some(client_id)) = (
        state.account.get_untracked(),
        state.device_id.get_untracked(),
    ) else {
        return Ok(false);
    };
    state.sync.set(SyncStatus::Syncing);
    let mut changed = false;
    let mut touched = Vec::new();
    let mut recovered = false;
    // Files first, in their own requests: the records naming them follow in the push.
    boxed(attachments::send_pending(&store)).await?;
    for round in 0..=MAX_RECOVERIES {
        boxed(push_all(&store)).await?;
        boxed(send_resolutions(&store)).await?;
        let (pulled, went_back) = boxed(pull_all(&store, client_id, &mut touched)).await?;
        changed |= pulled;
        if !went_back {
            break;
        }
        recovered = true;
        if round == MAX_RECOVERIES {
            return Err(RunError::Api(ApiError::Refused {
                status: 200,
                key: "server keeps going back".into(),
            }));
        }
    }
    // The files of the training items now on the device, so they read offline.
    if boxed(attachments::fetch_missing(&store)).await? {
        changed = true;
    }
    boxed(refresh_team(state, &store)).await?;
    if changed {
        // Only then do the screens show the records again (here and in the other tabs): the
        // ones the pull touched, or everything after the server went back; a quiet periodic
        // run just moves "last synced".
        if recovered {
            boxed(state.reload()).await?;
            announce_all();
        } else {
            boxed(state.refresh(&touched)).await?;
            announce(&touched);
        }
        platform::mark("fb:sync-applied");
    } else {
        state
            .last_synced
            .set(boxed(store.sync_state()).await?.last_synced_ms);
    }
    Ok(changed)
}

/// How many times one run starts over after finding that the server went back.
const MAX_RECOVERIES: u32 = 2;

/// Pushes the outbox in batches that fit the server's limits. A 413 halves the batch (the
/// server or a proxy in front of it takes less than it said); one entry refused alone is
/// refused on the device with a note, and the rest goes on.
async fn push_all(store: &Store) -> Result<(), RunError> {
    let mut limits = boxed(api::push_limits()).await;
    let mut gaps = 0;
    let mut recoveries = 0;
    loop {
        let (request, sent) = match boxed(store.next_push(limits)).await? {
            NextPush::Done => return Ok(()),
            NextPush::TooLarge(entry) => {
                boxed(store.refuse_too_large(&entry, limits, platform::now_ms())).await?;
                continue;
            }
            NextPush::Send { request, sent } => (request, sent),
        };
        let last_sent = sent.last().map_or(0, |e| e.mutation.seq);
        match boxed(api::push(&request)).await {
            Ok(response) => {
                let outcome =
                    boxed(store.record_push(&sent, &response, platform::now_ms())).await?;
                match outcome {
                    PushApplied::ServerWentBack if recoveries < MAX_RECOVERIES => {
                        recoveries += 1;
                    }
                    PushApplied::Progress if response.last_applied >= last_sent => {}
                    // The server did not take the batch: stop instead of sending it forever.
                    _ => {
                        return Err(RunError::Api(ApiError::Refused {
                            status: 200,
                            key: "no progress".into(),
                        }))
                    }
                }
            }
            Err(ApiError::TooLarge { stated }) => {
                if let Some(stated) = stated {
                    limits = PushLimits {
                        max_push_bytes: limits.max_push_bytes.min(stated.max_push_bytes),
                        max_push_mutations: limits
                            .max_push_mutations
                            .min(stated.max_push_mutations),
                    };
                }
                match sent.as_slice() {
                    [one] => boxed(store.refuse_too_large(one, limits, platform::now_ms())).await?,
                    _ => limits.max_push_mutations = (sent.len() as u32 / 2).max(1),
                }
            }
            // The server has applied less than this device thought (or more): resend from
            // where it stands, a few times at most.
            Err(ApiError::Gap { expected }) if gaps < 3 => {
                gaps += 1;
                if boxed(store.record_gap(expected)).await? == PushApplied::ServerWentBack {
                    recoveries += 1;
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
}

thread_local! {
    /// Whether this page load has asked for the team yet.
    static TEAM_ASKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The team, asked once per page load after a sync and kept on the device when it changed
/// (it changes when someone joins or leaves, which a reload picks up). It serves the
/// hand-over picker and names who logged a visit: a server that cannot give it fails
/// nothing, and it is asked again on the next sync.
async fn refresh_team(state: AppState, store: &Store) -> Result<(), RunError> {
    if TEAM_ASKED.with(|asked| asked.get()) {
        return Ok(());
    }
    let Ok(team) = boxed(api::team()).await else {
        return Ok(());
    };
    TEAM_ASKED.with(|asked| asked.set(true));
    if state.team.with_untracked(|known| *known != team) {
        boxed(store.set_team(&team)).await?;
        state.team.set(team);
    }
    Ok(())
}

async fn send_resolutions(store: &Store) -> Result<(), RunError> {
    for id in boxed(store.sync_state()).await?.resolved {
        match boxed(api::resolve_conflict(id)).await {
            Ok(()) | Err(ApiError::NotFound) => boxed(store.resolution_sent(id)).await?,
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Pulls page by page from the stored cursor. Returns whether anything changed, and whether
/// a page showed that the server went back (then the run pushes and pulls again). The
/// records each page rewrote or removed are added to `touched`.
async fn pull_all(
    store: &Store,
    client_id: Id,
    touched: &mut Vec<(RecordKind, Id)>,
) -> Result<(bool, bool), RunError> {
    let mut changed = false;
    let state = boxed(store.sync_state()).await?;
    let (mut cursor, mut seen) = (state.cursor, state.seen);
    let request = |cursor, seen| PullRequest {
        client_id,
        cursor,
        limit: PULL_PAGE,
        seen,
    };
    let mut page = boxed(api::pull(&request(cursor, seen))).await?;
    loop {
        // The next page is asked for while this one is written: the server's answer and
        // IndexedDB's work overlap. The request carries what this page moves the cursor and
        // mark to, which is what a next request would carry after it; when the page is
        // not applied (stale, the server went back) the answer is dropped unused.
        let (next_cursor, next_seen) = (page.cursor.or(cursor), page.mark.or(seen));
        let next = async {
            if page.more {
                Some(boxed(api::pull(&request(next_cursor, next_seen))).await)
            } else {
                None
            }
        };
        let (applied, next) = futures::future::join(
            boxed(store.apply_pull(cursor, &page, platform::now_ms())),
            next,
        )
        .await;
        let applied = applied?;
        changed |= applied.records > 0 || applied.dropped > 0;
        touched.extend(applied.touched);
        if applied.stale {
            // Another tab moved the cursor meanwhile (no Web Locks): its run pulls on.
            return Ok((changed, false));
        }
        if applied.server_went_back {
            return Ok((true, true));
        }
        let Some(next) = next else {
            return Ok((changed, false));
        };
        // What `apply_pull` kept: the page's cursor and mark, where it had them.
        (cursor, seen) = (next_cursor, next_seen);
        page = next?;
    }
}
