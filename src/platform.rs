//! What the app asks of the browser beyond the DOM: the clock, randomness, the time zone and the
//! `Intl` formatters. `SystemTime::now()` panics in the browser, so time comes only from here.

use chrono::NaiveDate;

use crate::i18n::Locale;
use domain::{Clock, Id};
use wasm_bindgen::{JsCast, JsValue};

/// The browser's wall clock (`Date.now()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserClock;

impl Clock for BrowserClock {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
}

/// Milliseconds since the Unix epoch, now.
/// Loads the page again from the start (after signing out).
pub fn reload_page() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

pub fn now_ms() -> i64 {
    BrowserClock.now_ms()
}

/// A User Timing mark (`performance.mark(name)`), which `cargo xtask bench` reads:
/// `fb:start`, `fb:loaded`, `fb:today`, `fb:saved`, `fb:sync-applied`.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Minutes east of UTC in the device's time zone right now (China: +480).
pub fn utc_offset_minutes() -> i32 {
    // `getTimezoneOffset` is minutes *west* of UTC.
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// Today's date in the device's time zone.
pub fn today() -> NaiveDate {
    domain::today_in_offset(now_ms(), utc_offset_minutes())
}

/// Ten bytes from the browser's cryptographic generator; falls back to the clock's fraction and
/// `Math.random` when `crypto` is unavailable, which only loses unpredictability, not uniqueness.
fn random_bytes() -> [u8; 10] {
    let mut bytes = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok())
        .unwrap_or(false);
    if !filled {
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

/// A new UUIDv7 for a record made on this device.
pub fn new_id(now_ms: i64) -> Id {
    Id::from_parts(now_ms.max(0) as u64, random_bytes())
}

/// The browser's preferred languages, most preferred first.
pub fn browser_languages() -> Vec<String> {
    let Some(nav) = web_sys::window().map(|w| w.navigator()) else {
        return Vec::new();
    };
    let list: Vec<String> = nav
        .languages()
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    if list.is_empty() {
        nav.language().into_iter().collect()
    } else {
        list
    }
}

/// Reads a value from `localStorage` (used only for UI preferences, never for records).
pub fn pref(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

/// Writes a UI preference to `localStorage`; failure only loses the preference.
pub fn set_pref(key: &str, value: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

fn intl_options(pairs: &[(&str, &str)]) -> js_sys::Object {
    let options = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    options
}

fn locales(tag: &str) -> js_sys::Array {
    js_sys::Array::of1(&JsValue::from_str(tag))
}

thread_local! {
    /// `Intl` number formatters by locale and currency, made once each (making one costs
    /// ~0.5 ms, more for the first of a locale).
    static FORMATS: std::cell::RefCell<Vec<(String, js_sys::Function)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The `format` function of the formatter named `key`, made by `make` the first time.
fn formatter(key: String, make: impl FnOnce() -> js_sys::Function) -> js_sys::Function {
    FORMATS.with(|formats| {
        if let Some((_, format)) = formats.borrow().iter().find(|(k, _)| *k == key) {
            return format.clone();
        }
        let format = make();
        formats.borrow_mut().push((key, format.clone()));
        format
    })
}

/// A date as the locale writes it (`2026年11月26日周四` / `Thu, Nov 26, 2026`).
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    locale.date(date)
}

/// The device's wall clock at `ms` (the offset of that moment, so summer time is right).
fn local_time(ms: i64) -> chrono::NaiveDateTime {
    let west = js_sys::Date::new(&JsValue::from_f64(ms as f64)).get_timezone_offset();
    let local = ms - (west as i64) * 60_000;
    chrono::DateTime::from_timestamp_millis(local)
        .unwrap_or_default()
        .naive_utc()
}

/// A moment in the device's time zone, as the locale writes it (day and time).
pub fn format_date_time(ms: i64, locale: Locale) -> String {
    locale.date_time(local_time(ms))
}

/// A time of day in the device's time zone (`14:30` / `2:30 PM`).
pub fn format_time(ms: i64, locale: Locale) -> String {
    locale.time(local_time(ms).time())
}

/// Money as the locale writes it (`¥12,345.00`, `US$1,200.00`).
pub fn format_money(money: &domain::Money, locale_tag: &str) -> String {
    let currency = money.currency.as_str();
    let format = formatter(format!("money {locale_tag} {currency}"), || {
        js_sys::Intl::NumberFormat::new(
            &locales(locale_tag),
            &intl_options(&[("style", "currency"), ("currency", currency)]),
        )
        .format()
    });
    let value = JsValue::from_f64(money.minor as f64 / 100.0);
    format
        .call1(&JsValue::NULL, &value)
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| {
            format!(
                "{} {}",
                money.currency.as_str(),
                domain::format_plain(money.minor)
            )
        })
}

/// A large amount as a list shows it: in 万 or 亿 for Chinese (`¥12.8万`), else in full as
/// [`format_money`] writes it. Forms and a lead's details show the exact amount.
pub fn format_money_short(money: &domain::Money, locale: Locale) -> String {
    match locale {
        Locale::Zh => domain::wan(money).unwrap_or_else(|| format_money(money, locale.tag())),
        _ => format_money(money, locale.tag()),
    }
}

/// What kind of device this is (Android, iPhone/iPad, else a laptop), from the user agent:
/// which maps app a link can open, and whether `weixin://` can open WeChat.
pub fn device_platform() -> domain::DevicePlatform {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return domain::DevicePlatform::Desktop;
    };
    let agent = navigator.user_agent().unwrap_or_default();
    let touch = js_sys::Reflect::get(&navigator, &JsValue::from_str("maxTouchPoints"))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    domain::DevicePlatform::from_user_agent(&agent, touch as u32)
}

/// Copies `text` to the clipboard (`navigator.clipboard.writeText`); `false` when the
/// browser refused or has no clipboard (an insecure origin).
pub async fn copy_text(text: &str) -> bool {
    let write = || -> Option<js_sys::Promise> {
        let navigator = web_sys::window()?.navigator();
        let clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard")).ok()?;
        let write: js_sys::Function =
            js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText"))
                .ok()?
                .dyn_into()
                .ok()?;
        write
            .call1(&clipboard, &JsValue::from_str(text))
            .ok()?
            .dyn_into()
            .ok()
    };
    match write() {
        Some(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.is_ok(),
        None => false,
    }
}

/// Whether the page is showing (`document.visibilityState == "visible"`).
pub fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| js_sys::Reflect::get(&d, &JsValue::from_str("visibilityState")).ok())
        .and_then(|v| v.as_string())
        .is_none_or(|state| state == "visible")
}

/// Orders two characters the way Chinese dictionaries do (by pinyin), through
/// `Intl.Collator('zh-CN')`: the browser carries the tables, so the download does not.
pub struct PinyinCollator {
    compare: js_sys::Function,
    /// Each ideograph's initial once found: a book's names share their characters, and the
    /// collator is a call into JavaScript.
    known: std::cell::RefCell<std::collections::HashMap<char, Option<char>>>,
}

impl PinyinCollator {
    pub fn new() -> PinyinCollator {
        let collator =
            js_sys::Intl::Collator::new(&locales("zh-CN-u-co-pinyin"), &js_sys::Object::new());
        PinyinCollator {
            compare: collator.compare(),
            known: Default::default(),
        }
    }

    pub fn compare(&self, a: char, b: char) -> std::cmp::Ordering {
        let result = self
            .compare
            .call2(
                &JsValue::NULL,
                &JsValue::from_str(a.encode_utf8(&mut [0; 4])),
                &JsValue::from_str(b.encode_utf8(&mut [0; 4])),
            )
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        result
            .partial_cmp(&0.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }

    /// `chars` in the collator's order, sorted inside JavaScript (`Array.prototype.sort`
    /// with the collator's `compare`): one call for a whole book's characters instead of
    /// one per comparison. Left as given if the browser refuses.
    pub fn sort_chars(&self, chars: Vec<char>) -> Vec<char> {
        let array: js_sys::Array = chars
            .iter()
            .map(|c| JsValue::from_str(c.encode_utf8(&mut [0; 4])))
            .collect();
        let sort = js_sys::Reflect::get(&array, &JsValue::from_str("sort"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let sorted = sort.and_then(|sort| sort.call1(&array, &self.compare).ok());
        if sorted.is_none() {
            return chars;
        }
        let sorted: Vec<char> = array
            .iter()
            .filter_map(|v| v.as_string().and_then(|s| s.chars().next()))
            .collect();
        if sorted.len() == chars.len() {
            sorted
        } else {
            chars
        }
    }

    /// The pinyin initials of a Chinese name (王小明 → wxm).
    pub fn initials(&self, name: &str) -> String {
        domain::initials_with(name, |ch| {
            if let Some(known) = self.known.borrow().get(&ch) {
                return *known;
            }
            let initial = domain::pinyin_initial(ch, |a, b| self.compare(a, b));
            self.known.borrow_mut().insert(ch, initial);
            initial
        })
    }
}

impl Default for PinyinCollator {
    fn default() -> Self {
        PinyinCollator::new()
    }
}

/// Why the device's position could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeoError {
    /// The user (or the browser's policy) refused location access.
    Denied,
    /// No fix: no GPS signal, or it took too long.
    Unavailable,
    /// This browser has no Geolocation API.
    Unsupported,
}

impl GeoError {
    pub fn key(self) -> &'static str {
        match self {
            GeoError::Denied => "checkin.denied",
            GeoError::Unavailable => "checkin.unavailable",
            GeoError::Unsupported => "checkin.unsupported",
        }
    }
}

/// The device's position now, for a visit check-in: `(lat, lng, accuracy in metres)`.
pub async fn current_position() -> Result<(f64, f64, f64), GeoError> {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let geolocation = web_sys::window()
        .and_then(|w| w.navigator().geolocation().ok())
        .ok_or(GeoError::Unsupported)?;
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let on_ok = Closure::once_into_js(move |pos: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &pos);
        });
        let on_err = Closure::once_into_js(move |err: JsValue| {
            let _ = reject.call1(&JsValue::NULL, &err);
        });
        let options = web_sys::PositionOptions::new();
        options.set_enable_high_accuracy(true);
        options.set_timeout(20_000);
        options.set_maximum_age(60_000);
        let _ = geolocation.get_current_position_with_error_callback_and_options(
            on_ok.unchecked_ref(),
            Some(on_err.unchecked_ref()),
            &options,
        );
    });
    let number = |obj: &JsValue, key: &str| {
        js_sys::Reflect::get(obj, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
    };
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(position) => {
            let coords = js_sys::Reflect::get(&position, &JsValue::from_str("coords"))
                .map_err(|_| GeoError::Unavailable)?;
            match (
                number(&coords, "latitude"),
                number(&coords, "longitude"),
                number(&coords, "accuracy"),
            ) {
                (Some(lat), Some(lng), Some(acc)) => Ok((lat, lng, acc)),
                _ => Err(GeoError::Unavailable),
            }
        }
        // GeolocationPositionError.PERMISSION_DENIED is 1.
        Err(err) if number(&err, "code") == Some(1.0) => Err(GeoError::Denied),
        Err(_) => Err(GeoError::Unavailable),
    }
}

/// Resolves on a later turn of the event loop (a zero timeout), so the browser can paint and
/// handle input between chunks of long work.
pub async fn next_tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The SHA-256 of `blob`'s bytes, by the browser's `crypto.subtle` (no hashing code in the
/// download). `None` where the browser offers no digest (an insecure origin).
pub async fn sha256_of(blob: &web_sys::Blob) -> Option<domain::Sha256> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer())
        .await
        .ok()?;
    let buffer: js_sys::ArrayBuffer = buffer.dyn_into().ok()?;
    let digest = subtle
        .digest_with_str_and_buffer_source("SHA-256", &buffer)
        .ok()?;
    let digest = wasm_bindgen_futures::JsFuture::from(digest).await.ok()?;
    let bytes = js_sys::Uint8Array::new(&digest).to_vec();
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    Some(domain::Sha256::from_bytes(&bytes))
}

/// A `blob:` URL for showing `blob` in the page (an image, a PDF opened in a new tab).
/// The page keeps it until it unloads: a reader opens a few attachments, not thousands.
pub fn object_url(blob: &web_sys::Blob) -> Option<String> {
    web_sys::Url::create_object_url_with_blob(blob).ok()
}

/// Saves `text` as a file named `file_name` through the browser's download (a `Blob`, its
/// object URL and a temporary `<a download>` clicked): the data never leaves the device.
/// `false` when the browser refused.
pub fn download_text(file_name: &str, mime: &str, text: &str) -> bool {
    let save = || -> Option<()> {
        let parts = js_sys::Array::of1(&JsValue::from_str(text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
        let document = web_sys::window()?.document()?;
        let link: web_sys::HtmlAnchorElement =
            document.create_element("a").ok()?.dyn_into().ok()?;
        link.set_href(&url);
        link.set_download(file_name);
        link.set_hidden(true);
        let body = document.body()?;
        let _ = body.append_child(&link);
        link.click();
        link.remove();
        // The click has handed the file to the browser; a later revoke keeps it from
        // being cut short in browsers that read the URL asynchronously.
        let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        });
        let _ = web_sys::window()?
            .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
        Some(())
    };
    save().is_some()
}

/// A file name from `parts` joined with `-`: characters that file systems refuse are
/// left out (names and titles go into it).
pub fn file_name(parts: &[&str], extension: &str) -> String {
    let joined: String = parts
        .iter()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let clean: String = joined
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        })
        .collect();
    format!("{}.{extension}", clean.trim())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn file_names_leave_out_what_file_systems_refuse() {
        assert_eq!(
            super::file_name(&["培训档案", " 王小明 ", "", "2026-12-10"], "csv"),
            "培训档案-王小明-2026-12-10.csv"
        );
        assert_eq!(
            super::file_name(&["a/b:c*?\"<>|d", "x\ny"], "csv"),
            "abcd-xy.csv"
        );
    }
}
