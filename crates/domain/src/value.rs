//! Field values parsed from what a person typed: phone numbers, email addresses, money,
//! dates, tags, locations and bounded text.
//!
//! Parse, don't validate: each constructor takes raw input and either returns a value that
//! is known to be good or says why not. Stored values deserialize through the same parsers
//! (`serde(try_from = "String")`), so bad data in storage or from the network is refused
//! at the same boundary as bad typing.
//!
//! Chinese input methods readily produce full-width characters (`１３８`, `＋`, `，`), so
//! the parsers accept those where a person would reasonably type them.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::Invalid;

/// Maps a full-width form (U+FF01..=U+FF5E) to its ASCII twin and the ideographic space to
/// a plain space; other characters pass through.
pub(crate) fn half_width(ch: char) -> char {
    match ch {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(ch) - 0xFEE0).unwrap_or(ch),
        '\u{3000}' => ' ',
        _ => ch,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `keep`.
pub(crate) fn percent_encode(text: &str, keep: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

macro_rules! string_serde {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = Invalid;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.to_string()
            }
        }

        impl FromStr for $name {
            type Err = Invalid;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }
    };
}

/// A phone number as the person typed it (trimmed), holding 5 to 15 digits (the E.164
/// maximum) with an optional `+` before them: shown as typed, dialled as
/// [`Phone::dialable`] makes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Reads a number as people write it: `+86 138-0013-8000`, `(010) 6552.9988`,
    /// `１３８００１３８０００`.
    ///
    /// Spaces, `-`, `.`, and parentheses are dropped (also their full-width forms); a `+`
    /// may come once, before the first digit.
    pub fn parse(raw: &str) -> Result<Phone, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::Required);
        }
        let mut number = String::with_capacity(16);
        let mut digits = 0usize;
        for ch in trimmed.chars().map(half_width) {
            match ch {
                '0'..='9' => {
                    digits += 1;
                    number.push(ch);
                }
                '+' if number.is_empty() => number.push('+'),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(Invalid::Phone),
            }
        }
        if (5..=15).contains(&digits) {
            Ok(Phone(trimmed.to_string()))
        } else {
            Err(Invalid::Phone)
        }
    }

    /// The number as typed, e.g. `+86 138-0013-8000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with only its digits and a leading `+`, as typed (`+8613800138000`,
    /// `01065529988`): what search matches and what tells two numbers apart.
    pub fn digits(&self) -> String {
        self.0
            .chars()
            .map(half_width)
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }

    /// The number ready for the dialler (`+86` added to a Chinese mobile, separators
    /// dropped), and whether it is a mobile.
    pub fn dialable(&self) -> crate::Dialable {
        crate::dialable(&self.0).unwrap_or_else(|| crate::Dialable {
            number: self.digits(),
            extension: None,
            kind: crate::PhoneKind::Landline,
        })
    }

    /// A link that starts a call: `tel:+8613800138000`.
    pub fn tel_uri(&self) -> String {
        self.dialable().tel_uri()
    }

    /// A link that starts a text message, for a mobile: `sms:+8613800138000`.
    pub fn sms_uri(&self) -> Option<String> {
        self.dialable().sms_uri()
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(Phone);

/// An email address with its domain in lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The longest address SMTP can carry.
    pub const MAX_LEN: usize = 254;

    /// Reads an address: one `@`, a local part without spaces, and a domain of at least
    /// two dot-separated labels made of letters (any script), digits and inner hyphens.
    ///
    /// This deliberately accepts less than RFC 5322 allows (no quoted local parts) and more
    /// than ASCII (internationalised domains), which matches what people actually type.
    pub fn parse(raw: &str) -> Result<Email, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::Required);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(Invalid::Email);
        }
        let (local, domain) = trimmed.split_once('@').ok_or(Invalid::Email)?;
        let local_ok = !local.is_empty()
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@');
        let label_ok = |label: &str| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let domain_ok = domain.contains('.') && domain.split('.').all(label_ok);
        if local_ok && domain_ok {
            Ok(Email(format!("{local}@{}", domain.to_lowercase())))
        } else {
            Err(Invalid::Email)
        }
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A link that opens a new mail: `mailto:li.lei@example.cn`.
    pub fn mailto_uri(&self) -> String {
        // Characters such as `?`, `#` and `%` would otherwise be read as URI syntax.
        format!("mailto:{}", percent_encode(&self.0, b"@+"))
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(Email);

/// An ISO 4217 style currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Chinese yuan (人民币), the default.
    pub const CNY: Currency = Currency(*b"CNY");
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");

    /// Reads a three-letter code in any case, e.g. `usd`.
    pub fn parse(raw: &str) -> Result<Currency, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::Required);
        }
        match trimmed.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_alphabetic) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(Invalid::Currency),
        }
    }

    /// The code, e.g. `"CNY"`.
    pub fn as_str(&self) -> &str {
        // Only `parse` and the constants build a Currency, and both hold ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::CNY
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

string_serde!(Currency);

/// An amount in minor units (hundredths) of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Money {
    /// Hundredths of the currency's major unit: 1234.50 is 123450.
    pub minor: i64,
    /// Which currency.
    pub currency: Currency,
}

impl Money {
    /// Reads an amount and a currency code as typed into a form; the amount's error comes
    /// first when both are wrong.
    pub fn parse(amount: &str, currency: &str) -> Result<Money, Invalid> {
        let minor = parse_amount(amount)?;
        let currency = Currency::parse(currency)?;
        Ok(Money { minor, currency })
    }

    /// The amount as a form shows it for editing, e.g. `"1234.50"`.
    pub fn format_plain(&self) -> String {
        format_plain(self.minor)
    }
}

/// The largest amount accepted, in major units: a trillion of anything is a typo.
pub const MAX_AMOUNT_MAJOR: u64 = 1_000_000_000_000;

const CURRENCY_SYMBOLS: [char; 5] = ['¥', '￥', '$', '€', '£'];

/// Reads a non-negative amount with at most two decimals into minor units.
///
/// Accepts `1234.5`, `1,234.50`, `¥ 1，234`, `￥１２３４` and `.5`; refuses negatives
/// (any minus sign), more than two decimals, and more than [`MAX_AMOUNT_MAJOR`].
pub fn parse_amount(raw: &str) -> Result<i64, Invalid> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::Required);
    }
    if trimmed.chars().any(|c| matches!(c, '-' | '－' | '−')) {
        return Err(Invalid::AmountNegative);
    }
    let compact: String = trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ',' | '，'))
        .map(half_width)
        .collect();
    let number = compact
        .strip_prefix(CURRENCY_SYMBOLS)
        .unwrap_or(compact.as_str());
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > 2
    {
        return Err(Invalid::Amount);
    }
    let whole = whole.trim_start_matches('0');
    // More digits than the limit has cannot fit; checking first also keeps u64 from
    // overflowing on absurdly long input.
    if whole.len() > 13 {
        return Err(Invalid::AmountTooLarge);
    }
    let major: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| Invalid::Amount)?
    };
    let cents: u64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<u64>().map_err(|_| Invalid::Amount)? * 10,
        _ => fraction.parse().map_err(|_| Invalid::Amount)?,
    };
    if major > MAX_AMOUNT_MAJOR || (major == MAX_AMOUNT_MAJOR && cents > 0) {
        return Err(Invalid::AmountTooLarge);
    }
    i64::try_from(major * 100 + cents).map_err(|_| Invalid::AmountTooLarge)
}

/// Writes minor units as a plain decimal with two places and no grouping, e.g. `"1234.50"`,
/// which [`parse_amount`] reads back.
pub fn format_plain(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The earliest year a date field accepts.
pub const MIN_YEAR: i32 = 1900;
/// The latest year a date field accepts.
pub const MAX_YEAR: i32 = 2200;

/// Reads a date as `<input type=date>` gives it (`2024-03-05`), or as typed:
/// `2024/3/5`, `2024年3月5日`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, Invalid> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::Required);
    }
    let text: String = trimmed.chars().map(half_width).collect();
    let parts = if let Some(rest) = text.strip_suffix('日') {
        rest.split_once('年')
            .and_then(|(y, md)| md.split_once('月').map(|(m, d)| (y, m, d)))
    } else {
        let separator = if text.contains('/') { '/' } else { '-' };
        let mut it = text.split(separator);
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(y), Some(m), Some(d), None) => Some((y, m, d)),
            _ => None,
        }
    };
    let (year, month, day) = parts.ok_or(Invalid::Date)?;
    let number = |s: &str, max_len: usize| -> Result<u32, Invalid> {
        if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::Date);
        }
        s.parse().map_err(|_| Invalid::Date)
    };
    let (year, month, day) = (number(year, 6)?, number(month, 2)?, number(day, 2)?);
    let year = i32::try_from(year).map_err(|_| Invalid::Date)?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(Invalid::DateOutOfRange);
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or(Invalid::Date)
}

/// Like [`parse_date`], but an empty field means "no date".
pub fn parse_optional_date(raw: &str) -> Result<Option<NaiveDate>, Invalid> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(raw).map(Some)
    }
}

/// Writes a date as `YYYY-MM-DD`, the form `<input type=date>` takes and
/// [`parse_date`] reads.
pub fn format_date(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 32;
/// The most tags one record may carry.
pub const MAX_TAGS: usize = 20;

const TAG_SEPARATORS: [char; 5] = [',', '，', '、', ';', '；'];

/// Reads a tag list typed as `VIP, 华东；展会`: split on commas, enumeration commas and
/// semicolons (ASCII and full-width), trimmed, empties dropped, and duplicates that differ
/// only in case dropped (the first spelling wins).
pub fn parse_tags(raw: &str) -> Result<Vec<String>, Invalid> {
    let mut tags: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for tag in raw.split(TAG_SEPARATORS).map(str::trim) {
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(Invalid::Tag);
        }
        let key = tag.to_lowercase();
        if !seen.contains(&key) {
            seen.push(key);
            tags.push(tag.to_string());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(Invalid::Tag);
    }
    Ok(tags)
}

/// Writes tags back into one form field, which [`parse_tags`] reads unchanged.
pub fn join_tags(tags: &[String]) -> String {
    tags.join(", ")
}

/// A point on the globe in degrees (WGS 84, as the Geolocation API reports).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawGeoPoint")]
pub struct GeoPoint {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lng: f64,
}

// `new` and deserialization refuse NaN, so equality is reflexive for every GeoPoint that
// came through the front door; forms need `Eq` to skip redundant updates.
impl Eq for GeoPoint {}

#[derive(Deserialize)]
struct RawGeoPoint {
    lat: f64,
    lng: f64,
}

impl TryFrom<RawGeoPoint> for GeoPoint {
    type Error = Invalid;

    fn try_from(raw: RawGeoPoint) -> Result<Self, Self::Error> {
        GeoPoint::new(raw.lat, raw.lng)
    }
}

impl GeoPoint {
    /// A point, if both coordinates are finite and on the globe.
    pub fn new(lat: f64, lng: f64) -> Result<GeoPoint, Invalid> {
        if lat.is_finite() && lng.is_finite() && lat.abs() <= 90.0 && lng.abs() <= 180.0 {
            Ok(GeoPoint { lat, lng })
        } else {
            Err(Invalid::LatLng)
        }
    }

    /// An OpenStreetMap link centred on the point with a marker.
    pub fn map_url(&self) -> String {
        let (lat, lng) = (self.lat, self.lng);
        format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lng}#map=17/{lat}/{lng}")
    }
}

/// Trims `raw` and requires between 1 and `max` characters.
pub fn required_text(raw: &str, max: usize) -> Result<String, Invalid> {
    let text = optional_text(raw, max)?;
    if text.is_empty() {
        Err(Invalid::Required)
    } else {
        Ok(text)
    }
}

/// Trims `raw` and allows at most `max` characters (not bytes: a Chinese character is one).
pub fn optional_text(raw: &str, max: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.chars().count() > max {
        Err(Invalid::TooLong { max })
    } else {
        Ok(text.to_string())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones_are_normalised() {
        let cases = [
            ("+86 138-0013-8000", "+8613800138000"),
            ("(010) 6552.9988", "01065529988"),
            ("１３８００１３８０００", "13800138000"),
            ("＋８６ １３８（００１３）８０００", "+8613800138000"),
            ("  12345 ", "12345"),
            ("(+44) 20 7946 0958", "+442079460958"),
        ];
        for (raw, expected) in cases {
            let phone = Phone::parse(raw).unwrap();
            assert_eq!(phone.digits(), expected, "{raw}");
            // Kept as typed, trimmed: what was typed is what the screens show.
            assert_eq!(phone.as_str(), raw.trim(), "{raw}");
            assert_eq!(Phone::parse(phone.as_str()), Ok(phone));
        }
        let phone = Phone::parse("+86 138 0013 8000").unwrap();
        assert_eq!(phone.tel_uri(), "tel:+8613800138000");
        assert_eq!(phone.sms_uri().as_deref(), Some("sms:+8613800138000"));
        assert_eq!(phone.to_string(), "+86 138 0013 8000");
        // A Chinese mobile dials with +86; a landline gets no text link.
        assert_eq!(
            Phone::parse("138 0013 8000").unwrap().tel_uri(),
            "tel:+8613800138000"
        );
        assert_eq!(Phone::parse("(010) 6552.9988").unwrap().sms_uri(), None);
    }

    #[test]
    fn bad_phones_are_refused() {
        assert_eq!(Phone::parse(" "), Err(Invalid::Required));
        for raw in [
            "1234",
            "1234567890123456",
            "138+0013",
            "++8613800138000",
            "call 13800138000",
            "138/0013/8000",
            "+",
        ] {
            assert_eq!(Phone::parse(raw), Err(Invalid::Phone), "{raw}");
        }
        assert!(serde_json::from_str::<Phone>("\"12\"").is_err());
        let stored: Phone = serde_json::from_str("\"+8613800138000\"").unwrap();
        assert_eq!(
            serde_json::to_string(&stored).unwrap(),
            "\"+8613800138000\""
        );
    }

    #[test]
    fn emails() {
        let email = Email::parse("  Li.Lei+crm@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Li.Lei+crm@example.com");
        assert_eq!(email.mailto_uri(), "mailto:Li.Lei+crm@example.com");
        assert_eq!(
            Email::parse("王@例子.中国").unwrap().as_str(),
            "王@例子.中国"
        );
        assert_eq!(
            Email::parse("a?b@x.cn").unwrap().mailto_uri(),
            "mailto:a%3Fb@x.cn"
        );
        assert_eq!(Email::parse(""), Err(Invalid::Required));
        for raw in [
            "plain",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@.b.com",
            "a@b.com.",
            "a@b..com",
            "a@b_c.com",
            "a@-b.com",
        ] {
            assert_eq!(Email::parse(raw), Err(Invalid::Email), "{raw}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(Invalid::Email));
    }

    #[test]
    fn currencies() {
        assert_eq!(Currency::parse(" usd "), Ok(Currency::USD));
        assert_eq!(Currency::parse(""), Err(Invalid::Required));
        assert_eq!(Currency::parse("US"), Err(Invalid::Currency));
        assert_eq!(Currency::parse("U$D"), Err(Invalid::Currency));
        assert_eq!(Currency::parse("人民币"), Err(Invalid::Currency));
        assert_eq!(Currency::default().as_str(), "CNY");
        assert_eq!(format!("{:?}", Currency::EUR), "Currency(EUR)");
        assert_eq!(serde_json::to_string(&Currency::EUR).unwrap(), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"EURO\"").is_err());
        let money = Money::parse("12.5", "eur").unwrap();
        assert_eq!(
            money,
            Money {
                minor: 1250,
                currency: Currency::EUR
            }
        );
        assert_eq!(money.format_plain(), "12.50");
        assert_eq!(Money::parse("x", "?"), Err(Invalid::Amount));
        assert_eq!(Money::parse("1", "?"), Err(Invalid::Currency));
    }

    #[test]
    fn amounts() {
        let cases = [
            ("0", 0),
            ("1234.5", 123_450),
            ("1,234.50", 123_450),
            ("¥ 1，234", 123_400),
            ("￥１２３４．０５", 123_405),
            ("$.5", 50),
            ("7.", 700),
            ("1 000 000", 100_000_000),
            ("1000000000000", 100_000_000_000_000),
            ("0001", 100),
        ];
        for (raw, minor) in cases {
            assert_eq!(parse_amount(raw), Ok(minor), "{raw}");
        }
        assert_eq!(parse_amount("  "), Err(Invalid::Required));
        assert_eq!(parse_amount("-5"), Err(Invalid::AmountNegative));
        assert_eq!(parse_amount("5-"), Err(Invalid::AmountNegative));
        assert_eq!(parse_amount("－5"), Err(Invalid::AmountNegative));
        assert_eq!(
            parse_amount("1000000000000.01"),
            Err(Invalid::AmountTooLarge)
        );
        assert_eq!(
            parse_amount("99999999999999999999999"),
            Err(Invalid::AmountTooLarge)
        );
        for raw in [
            "1.234", "1.2.3", "abc", ".", "¥", "1e5", "¥¥1", "1 元", "$-",
        ] {
            let expected = if raw.contains('-') {
                Invalid::AmountNegative
            } else {
                Invalid::Amount
            };
            assert_eq!(parse_amount(raw), Err(expected), "{raw}");
        }
        assert_eq!(format_plain(123_450), "1234.50");
        assert_eq!(format_plain(5), "0.05");
        assert_eq!(format_plain(-5), "-0.05");
        assert_eq!(format_plain(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
        for raw in [
            "2024-03-05",
            "2024/03/05",
            "2024/3/5",
            "2024年3月5日",
            " 2024年03月05日 ",
            "２０２４－０３－０５",
        ] {
            assert_eq!(parse_date(raw), Ok(d), "{raw}");
        }
        assert_eq!(parse_date(""), Err(Invalid::Required));
        assert_eq!(parse_date("1899-12-31"), Err(Invalid::DateOutOfRange));
        assert_eq!(parse_date("2201-01-01"), Err(Invalid::DateOutOfRange));
        assert_eq!(parse_date("20240-01-01"), Err(Invalid::DateOutOfRange));
        for raw in [
            "2023-02-29",
            "2024-13-01",
            "2024-03",
            "2024-03-05-01",
            "05/03/2024x",
            "2024.03.05",
            "2024-003-05",
            "二〇二四年三月五日",
            "2024/03-05",
        ] {
            assert_eq!(parse_date(raw), Err(Invalid::Date), "{raw}");
        }
        assert_eq!(parse_optional_date("  "), Ok(None));
        assert_eq!(parse_optional_date("2024-03-05"), Ok(Some(d)));
        assert_eq!(format_date(d), "2024-03-05");
    }

    #[test]
    fn tags() {
        assert_eq!(
            parse_tags(" VIP, 华东；展会、vip;;  ,Key account ").unwrap(),
            vec!["VIP", "华东", "展会", "Key account"]
        );
        assert_eq!(parse_tags("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_tags(&"长".repeat(32)).unwrap().len(), 1);
        assert_eq!(parse_tags(&"长".repeat(33)), Err(Invalid::Tag));
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(parse_tags(&many.join(",")), Err(Invalid::Tag));
        assert_eq!(parse_tags(&many[..20].join(",")).unwrap().len(), 20);
    }

    #[test]
    fn geo_points() {
        let p = GeoPoint::new(31.2304, 121.4737).unwrap();
        assert_eq!(
            p.map_url(),
            "https://www.openstreetmap.org/?mlat=31.2304&mlon=121.4737#map=17/31.2304/121.4737"
        );
        assert_eq!(GeoPoint::new(90.1, 0.0), Err(Invalid::LatLng));
        assert_eq!(GeoPoint::new(0.0, -180.5), Err(Invalid::LatLng));
        assert_eq!(GeoPoint::new(f64::NAN, 0.0), Err(Invalid::LatLng));
        assert_eq!(GeoPoint::new(0.0, f64::INFINITY), Err(Invalid::LatLng));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<GeoPoint>(&json).unwrap(), p);
        assert!(serde_json::from_str::<GeoPoint>(r#"{"lat":91,"lng":0}"#).is_err());
    }

    #[test]
    fn texts() {
        assert_eq!(required_text("  王小明 ", 3), Ok("王小明".to_string()));
        assert_eq!(required_text(" \n ", 3), Err(Invalid::Required));
        assert_eq!(
            required_text("王小明明", 3),
            Err(Invalid::TooLong { max: 3 })
        );
        assert_eq!(optional_text("  ", 3), Ok(String::new()));
        assert_eq!(optional_text("abcd", 3), Err(Invalid::TooLong { max: 3 }));
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b/中", b""), "a%20b%2F%E4%B8%AD");
        assert_eq!(percent_encode("A-z_0.9~", b""), "A-z_0.9~");
    }

    fn separator() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", " ", "-", ".", "(", ")", "  ", "　", "－"])
    }

    proptest! {
        #[test]
        fn phone_accepts_separated_digits(
            plus in any::<bool>(),
            digits in prop::collection::vec((0u8..10, separator(), any::<bool>()), 5..=15),
        ) {
            let mut raw = String::from(if plus { "+" } else { "" });
            let mut expected = raw.clone();
            for (digit, sep, wide) in &digits {
                let ascii = char::from(b'0' + digit);
                expected.push(ascii);
                raw.push(if *wide { char::from_u32(u32::from(ascii) + 0xFEE0).unwrap() } else { ascii });
                raw.push_str(sep);
            }
            let phone = Phone::parse(&raw).unwrap();
            prop_assert_eq!(phone.digits(), expected.as_str());
            prop_assert_eq!(phone.as_str(), raw.trim());
            prop_assert_eq!(Phone::parse(phone.as_str()), Ok(phone.clone()));
        }

        #[test]
        fn phone_never_panics(raw in any::<String>()) {
            if let Ok(phone) = Phone::parse(&raw) {
                let digits = phone.digits();
                let digits = digits.trim_start_matches('+');
                prop_assert!((5..=15).contains(&digits.len()));
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn generated_emails_parse(
            local in "[a-zA-Z0-9._%+]{1,20}",
            labels in prop::collection::vec("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", 1..4),
            tld in "[a-zA-Z]{2,6}",
        ) {
            let domain = format!("{}.{tld}", labels.join("."));
            let raw = format!(" {local}@{domain} ");
            let email = Email::parse(&raw).unwrap();
            let expected = format!("{local}@{}", domain.to_lowercase());
            prop_assert_eq!(email.as_str(), expected.as_str());
        }

        #[test]
        fn email_without_at_fails(raw in "[^@]*") {
            prop_assert!(Email::parse(&raw).is_err());
        }

        #[test]
        fn email_never_panics(raw in any::<String>()) {
            let _ = Email::parse(&raw);
        }

        #[test]
        fn amount_round_trips(minor in 0i64..=100_000_000_000_000) {
            let plain = format_plain(minor);
            prop_assert_eq!(parse_amount(&plain), Ok(minor));
            let (whole, cents) = plain.split_once('.').unwrap();
            let mut grouped = String::new();
            for (i, ch) in whole.chars().enumerate() {
                if i > 0 && (whole.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(ch);
            }
            let with_commas = format!("¥{grouped}.{cents}");
            prop_assert_eq!(parse_amount(&with_commas), Ok(minor), "{}", with_commas);
        }

        #[test]
        fn minus_is_negative(rest in any::<String>()) {
            prop_assert_eq!(parse_amount(&format!("-{rest}")), Err(Invalid::AmountNegative));
        }

        #[test]
        fn amount_never_panics(raw in any::<String>()) {
            if let Ok(minor) = parse_amount(&raw) {
                prop_assert!((0..=100_000_000_000_000).contains(&minor));
            }
        }

        #[test]
        fn date_round_trips(days in 0i64..(301 * 366)) {
            let start = NaiveDate::from_ymd_opt(MIN_YEAR, 1, 1).unwrap();
            let date = start + chrono::Days::new(u64::try_from(days).unwrap());
            prop_assume!(date.year() <= MAX_YEAR);
            prop_assert_eq!(parse_date(&date.format("%Y-%m-%d").to_string()), Ok(date));
            prop_assert_eq!(parse_date(&format_date(date)), Ok(date));
            prop_assert_eq!(parse_date(&date.format("%Y/%-m/%-d").to_string()), Ok(date));
            prop_assert_eq!(parse_date(&date.format("%Y年%m月%d日").to_string()), Ok(date));
        }

        #[test]
        fn date_never_panics(raw in any::<String>()) {
            let _ = parse_date(&raw);
        }

        #[test]
        fn tags_are_idempotent(raw in "[a-cA-C 华东,，、;；]{0,60}") {
            if let Ok(tags) = parse_tags(&raw) {
                prop_assert_eq!(parse_tags(&join_tags(&tags)), Ok(tags.clone()));
                prop_assert_eq!(parse_tags(&tags.join(",")), Ok(tags));
            }
        }

        #[test]
        fn tags_never_panic(raw in any::<String>()) {
            if let Ok(tags) = parse_tags(&raw) {
                prop_assert!(tags.len() <= MAX_TAGS);
                prop_assert_eq!(parse_tags(&join_tags(&tags)), Ok(tags));
            }
        }
    }
}
