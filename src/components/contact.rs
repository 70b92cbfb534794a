//! The lead screen's contact actions: a labelled call button per number (mobile or landline),
//! a text button for mobiles only, mail, the WeChat id to copy (and WeChat to open on a
//! phone), a map link that opens the device's own maps app; and, back from a call made here,
//! the offer to log it.
//!
//! What a number is and how it is dialled, and which map link fits the device, are the
//! domain's pure functions (`domain::contact`); this is their view.

use domain::{Id, Lead, PhoneKind};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::i18n::{fill, use_i18n, Locale};
use crate::platform;
use crate::state::use_app;

/// Where the last call tapped on a lead screen is kept (`<lead id> <unix ms>`): the page may be
/// gone from memory by the time the person comes back from the phone app.
const CALL_KEY: &str = "fieldbook.call";

/// How long after tapping a call the lead screen still offers to log it.
const OFFER_FOR_MS: i64 = 2 * 60 * 60 * 1000;

/// The moment of the call tapped on `lead` that is still worth logging at `now_ms`, read from
/// the kept `<lead id> <unix ms>`; `None` for another lead, a call too long ago or garbage.
pub fn pending_call(kept: &str, lead: Id, now_ms: i64) -> Option<i64> {
    let (id, at) = kept.trim().split_once(' ')?;
    let at: i64 = at.parse().ok()?;
    let fresh = (0..=OFFER_FOR_MS).contains(&(now_ms - at));
    (Id::parse(id).ok()? == lead && fresh).then_some(at)
}

/// The quick log of a phone call with `lead` made at `at_ms`: the visit form reads `kind`
/// and `at` from the query.
pub fn log_call_href(lead: Id, at_ms: i64) -> String {
    format!("/new/visit?lead={lead}&kind=phone_call&at={at_ms}")
}

/// The call buttons, text buttons, mail, WeChat and map of `lead`, and the offer to log a call.
#[component]
pub fn ContactActions(lead: Lead) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let lead_id = lead.id;
    let device = platform::device_platform();

    // Back from a call made from this screen: the tap's time, while the offer stands.
    let offer = RwSignal::new(None::<i64>);
    let check_offer = move || {
        let pending = platform::pref(CALL_KEY)
            .and_then(|kept| pending_call(&kept, lead_id, platform::now_ms()));
        offer.set(pending);
    };
    check_offer();
    let listener = window_event_listener_untyped("visibilitychange", move |_| {
        if platform::page_visible() {
            check_offer();
        }
    });
    on_cleanup(move || listener.remove());
    let forget_call = move || {
        platform::set_pref(CALL_KEY, "");
        offer.set(None);
    };
    let remember_call = move |_| {
        platform::set_pref(CALL_KEY, &format!("{lead_id} {}", platform::now_ms()));
    };

    let phones: Vec<(String, domain::Dialable)> = lead
        .phones
        .iter()
        .map(|p| (p.as_str().to_string(), p.dialable()))
        .collect();
    let email = lead.email.as_ref().map(|e| e.mailto_uri());
    let wechat = lead.wechat.trim().to_string();
    let location = lead.location;
    let address = lead.address.clone();
    let label = lead.name.clone();
    let map = Memo::new(move |_| {
        domain::map_link(device, i.locale() == Locale::Zh, location, &address, &label)
    });
    let copy_wechat = {
        let wechat = wechat.clone();
        move |_| {
            let wechat = wechat.clone();
            spawn_local(async move {
                if platform::copy_text(&wechat).await {
                    state.notify(fill(i.now("contact.wechat_copied"), &wechat), false, None);
                } else {
                    state.notify(fill(i.now("contact.copy_failed"), &wechat), true, None);
                }
            });
        }
    };

    view! {
        <section class="contact" aria-labelledby="contact-title" data-testid="contact">
            <h2 id="contact-title" class="visually-hidden">{move || i.t("contact.title")}</h2>
            <Show when=move || offer.get().is_some()>
                <div class="banner notice call-offer" role="status" data-testid="call-offer">
                    <A href=move || log_call_href(lead_id, offer.get().unwrap_or_default())
                        attr:class="button primary" attr:data-testid="log-call"
                        on:click=move |_| forget_call()>
                        {move || i.t("contact.log_call")}
                    </A>
                    <span class="muted">
                        {move || offer.get().map(|at| fill(i.t("contact.called_at"), platform::format_time(at, i.locale())))}
                    </span>
                    <button type="button" class="link" data-testid="call-offer-dismiss" on:click=move |_| forget_call()>
                        {move || i.t("contact.not_now")}
                    </button>
                </div>
            </Show>
            <ul class="contact-list">
                {phones.into_iter().map(|(typed, dial)| {
                    let mobile = dial.kind == PhoneKind::Mobile;
                    let key = if mobile { "contact.call_mobile" } else { "contact.call_landline" };
                    let kind = if mobile { "mobile" } else { "landline" };
                    let sms = dial.sms_uri();
                    let shown = typed.clone();
                    view! {
                        <li class="contact-line">
                            <a class="button contact call" href=dial.tel_uri() data-testid="contact-call" data-kind=kind
                                on:click=remember_call>
                                {move || fill(i.t(key), &shown)}
                            </a>
                            {sms.map(|href| view! {
                                <a class="button contact sms" href=href data-testid="contact-sms">
                                    {move || i.t("lead.sms")}
                                    <span class="visually-hidden">{format!(" {typed}")}</span>
                                </a>
                            })}
                        </li>
                    }
                }).collect_view()}
                {(!wechat.is_empty()).then(|| {
                    view! {
                        <li class="contact-line">
                            <button type="button" class="button contact wechat" data-testid="copy-wechat" on:click=copy_wechat>
                                {move || i.t("contact.copy_wechat")}
                                <span class="contact-detail">{wechat.clone()}</span>
                            </button>
                            {device.is_mobile().then(|| view! {
                                <a class="button contact" href=domain::WECHAT_URI data-testid="open-wechat">
                                    {move || i.t("contact.open_wechat")}
                                </a>
                            })}
                        </li>
                    }
                })}
                {email.map(|href| view! {
                    <li class="contact-line">
                        <a class="button contact mail" href=href data-testid="contact-mail">{move || i.t("lead.mail")}</a>
                    </li>
                })}
                {move || map.get().map(|href| {
                    // Web maps open beside the app; `geo:` hands over to the maps app.
                    let web = href.starts_with("https:");
                    view! {
                        <li class="contact-line">
                            <a class="button contact map" href=href data-testid="contact-map"
                                target=web.then_some("_blank") rel=web.then_some("noopener")>
                                {move || i.t("lead.map")}
                            </a>
                        </li>
                    }
                })}
            </ul>
        </section>
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn id(n: u8) -> Id {
        Id::from_parts(u64::from(n), [n; 10])
    }

    #[test]
    fn a_call_is_offered_for_two_hours_on_its_lead_only() {
        let lead = id(1);
        let kept = format!("{lead} 1000");
        assert_eq!(pending_call(&kept, lead, 1000), Some(1000));
        assert_eq!(pending_call(&kept, lead, 1000 + OFFER_FOR_MS), Some(1000));
        assert_eq!(pending_call(&kept, lead, 1001 + OFFER_FOR_MS), None);
        // A clock that went back is no call "from the future".
        assert_eq!(pending_call(&kept, lead, 999), None);
        assert_eq!(pending_call(&kept, id(2), 1000), None);
        for garbage in ["", " ", "x 1000", "1000", &format!("{lead} soon")] {
            assert_eq!(pending_call(garbage, lead, 1000), None, "{garbage}");
        }
    }

    #[test]
    fn the_log_link_names_the_lead_kind_and_time() {
        let lead = id(3);
        assert_eq!(
            log_call_href(lead, 1_764_547_200_000),
            format!("/new/visit?lead={lead}&kind=phone_call&at=1764547200000")
        );
    }
}
