//! Reaching a lead from its screen: which numbers are mobiles (they get a text button), how
//! a number as typed becomes one a phone can dial, and which map link opens the device's own
//! maps app.
//!
//! Everything here is a pure function of what the lead holds and what the app knows about the
//! device ([`DevicePlatform`]); the lead screen only renders the answers.

use crate::value::{half_width, percent_encode};
use crate::GeoPoint;

/// What kind of line a number is, as far as its digits tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneKind {
    /// A mobile: it can also take a text message.
    Mobile,
    /// A fixed line, or a number whose kind the digits do not tell (no text button).
    Landline,
}

/// A number made ready for the dialler: what `tel:` and `sms:` links carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialable {
    /// Digits with an optional leading `+`: `+8613800138000`, `01065529988`.
    pub number: String,
    /// The extension's digits (`转 8001`, `ext. 8001`, `x8001`, `#8001`), dialled after a
    /// pause.
    pub extension: Option<String>,
    /// Mobile or landline.
    pub kind: PhoneKind,
}

impl Dialable {
    /// A link that starts a call; an extension follows a pause (`,`), which Android and iOS
    /// diallers wait on before sending its digits.
    pub fn tel_uri(&self) -> String {
        match &self.extension {
            Some(ext) => format!("tel:{},{ext}", self.number),
            None => format!("tel:{}", self.number),
        }
    }

    /// A link that starts a text message, for mobiles only.
    pub fn sms_uri(&self) -> Option<String> {
        (self.kind == PhoneKind::Mobile).then(|| format!("sms:{}", self.number))
    }
}

/// Mobile prefixes of countries whose mobiles can be told from their digits: the country
/// code and the first digits of the national number. Numbers of other countries (the
/// United States and Canada mix both kinds in one plan) count as landlines.
const MOBILE_PREFIXES: &[(&str, &[&str])] = &[
    ("44", &["7"]),                // United Kingdom
    ("852", &["5", "6", "9"]),     // Hong Kong
    ("853", &["6"]),               // Macau
    ("886", &["9"]),               // Taiwan
    ("65", &["8", "9"]),           // Singapore
    ("61", &["4"]),                // Australia
    ("49", &["15", "16", "17"]),   // Germany
    ("33", &["6", "7"]),           // France
    ("39", &["3"]),                // Italy
    ("34", &["6", "7"]),           // Spain
    ("81", &["70", "80", "90"]),   // Japan
    ("82", &["10"]),               // South Korea
    ("91", &["6", "7", "8", "9"]), // India
    ("60", &["1"]),                // Malaysia
    ("7", &["9"]),                 // Russia, Kazakhstan
    ("971", &["5"]),               // United Arab Emirates
];

/// Whether `national` (digits after +86 or without a country) is a Chinese mobile number:
/// eleven digits, `1` then `3`–`9`.
fn is_chinese_mobile(national: &str) -> bool {
    let bytes = national.as_bytes();
    bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1])
}

/// Splits what was typed into the number and the extension's text, at the first character
/// that cannot be part of a number (`转`, `ext`, `x`, `#`, `,`, `;`…).
fn split_extension(typed: &str) -> (&str, Option<&str>) {
    let mut seen_digit = false;
    for (at, ch) in typed.char_indices() {
        let ch = half_width(ch);
        match ch {
            '0'..='9' => seen_digit = true,
            '+' | ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
            _ if seen_digit => return (&typed[..at], Some(&typed[at..])),
            _ => {}
        }
    }
    (typed, None)
}

/// Reads a number as typed (`+86 138-0013-8000`, `0086 13800138000`, `(010) 6552 9988 转
/// 8001`, `+44 (0)20 7946 0958`) into what a dialler wants: separators dropped, `00` before a
/// country code written `+`, the trunk `0` after a country code dropped, Chinese mobiles
/// written with `+86`. `None` when it holds fewer than five digits.
pub fn dialable(typed: &str) -> Option<Dialable> {
    let (main, extension) = split_extension(typed.trim());
    let mut number = String::with_capacity(16);
    let mut plus = false;
    // A `(0)` after the country code is the trunk prefix people write for callers at home.
    let international = main.trim_start().starts_with(['+', '＋', '(', '（'])
        || main.trim_start().starts_with("00");
    let main = if international {
        main.replace("(0)", "").replace("（0）", "")
    } else {
        main.to_string()
    };
    for ch in main.chars().map(half_width) {
        match ch {
            '0'..='9' => number.push(ch),
            '+' if number.is_empty() => plus = true,
            _ => {}
        }
    }
    if !plus {
        if let Some(rest) = number.strip_prefix("00") {
            // The international prefix most of the world (China included) dials.
            number = rest.to_string();
            plus = true;
        } else if number.len() == 13 && number.starts_with("86") && is_chinese_mobile(&number[2..])
        {
            // `86 138 0013 8000`: the country code without its `+`.
            number = number[2..].to_string();
            return finish(format!("+86{number}"), PhoneKind::Mobile, extension);
        }
    }
    if number.len() < 5 {
        return None;
    }
    if !plus {
        if is_chinese_mobile(&number) {
            return finish(format!("+86{number}"), PhoneKind::Mobile, extension);
        }
        return finish(number, PhoneKind::Landline, extension);
    }
    if let Some(national) = number.strip_prefix("86") {
        // `+86 010 …`: the trunk 0 is not dialled from abroad.
        let national = national.strip_prefix('0').unwrap_or(national);
        let kind = if is_chinese_mobile(national) {
            PhoneKind::Mobile
        } else {
            PhoneKind::Landline
        };
        return finish(format!("+86{national}"), kind, extension);
    }
    let kind = MOBILE_PREFIXES
        .iter()
        .find_map(|(country, mobiles)| {
            let national = number.strip_prefix(country)?;
            Some(mobiles.iter().any(|m| national.starts_with(m)))
        })
        .map_or(PhoneKind::Landline, |mobile| {
            if mobile {
                PhoneKind::Mobile
            } else {
                PhoneKind::Landline
            }
        });
    finish(format!("+{number}"), kind, extension)
}

fn finish(number: String, kind: PhoneKind, extension: Option<&str>) -> Option<Dialable> {
    let extension = extension
        .map(|text| {
            text.chars()
                .map(half_width)
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .filter(|digits| !digits.is_empty());
    Some(Dialable {
        number,
        extension,
        kind,
    })
}

/// What kind of device the app runs on, for links that open its own apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePlatform {
    /// Android: `geo:` opens the maps app the person chose.
    Android,
    /// iPhone and iPad: Apple Maps links open Maps.
    Ios,
    /// A laptop or anything else: web maps in a new tab.
    Desktop,
}

impl DevicePlatform {
    /// Reads the platform from the browser's user agent and touch points (an iPad asks for
    /// desktop pages and says `Macintosh`, but has touch).
    pub fn from_user_agent(user_agent: &str, max_touch_points: u32) -> DevicePlatform {
        if user_agent.contains("Android") {
            DevicePlatform::Android
        } else if ["iPhone", "iPad", "iPod"]
            .iter()
            .any(|d| user_agent.contains(d))
            || (user_agent.contains("Macintosh") && max_touch_points > 1)
        {
            DevicePlatform::Ios
        } else {
            DevicePlatform::Desktop
        }
    }

    /// Whether it is a phone or tablet, where `weixin://` can open WeChat.
    pub fn is_mobile(self) -> bool {
        self != DevicePlatform::Desktop
    }
}

/// A link that shows a lead on a map in the device's maps app: `geo:` on Android, Apple Maps
/// on iOS, elsewhere 高德 (Amap) for Chinese and OpenStreetMap for English. The exact
/// `point` is used when known, else a search for `address`; `label` (the lead's name or
/// company) names the marker. `None` when there is neither.
pub fn map_link(
    platform: DevicePlatform,
    chinese: bool,
    point: Option<GeoPoint>,
    address: &str,
    label: &str,
) -> Option<String> {
    let address = address.trim();
    let label = label.trim();
    let enc = |text: &str| percent_encode(text, b"");
    match point {
        Some(GeoPoint { lat, lng }) => Some(match platform {
            DevicePlatform::Android if label.is_empty() => format!("geo:{lat},{lng}?q={lat},{lng}"),
            DevicePlatform::Android => format!("geo:{lat},{lng}?q={lat},{lng}({})", enc(label)),
            DevicePlatform::Ios => {
                let name = if label.is_empty() { address } else { label };
                format!("https://maps.apple.com/?q={}&ll={lat},{lng}", enc(name))
            }
            // Amap reads GPS (WGS-84) coordinates when told so; its own are GCJ-02.
            DevicePlatform::Desktop if chinese => format!(
                "https://uri.amap.com/marker?position={lng},{lat}&name={}&coordinate=wgs84",
                enc(label)
            ),
            DevicePlatform::Desktop => {
                format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lng}#map=17/{lat}/{lng}")
            }
        }),
        None if address.is_empty() => None,
        None => Some(match platform {
            DevicePlatform::Android => format!("geo:0,0?q={}", enc(address)),
            DevicePlatform::Ios => format!("https://maps.apple.com/?q={}", enc(address)),
            DevicePlatform::Desktop if chinese => {
                format!("https://uri.amap.com/search?keyword={}", enc(address))
            }
            DevicePlatform::Desktop => format!(
                "https://www.openstreetmap.org/search?query={}",
                enc(address)
            ),
        }),
    }
}

/// The link that opens WeChat (it cannot open a given contact: the person pastes the copied
/// id into its search).
pub const WECHAT_URI: &str = "weixin://";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    fn dial(typed: &str) -> (String, PhoneKind) {
        let d = dialable(typed).unwrap();
        (d.tel_uri(), d.kind)
    }

    #[test]
    fn chinese_mobiles_with_or_without_the_country_code() {
        for typed in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+86-13800138000",
            "0086 138 0013 8000",
            "008613800138000",
            "86 138 0013 8000",
            "(+86) 138 0013 8000",
            "１３８００１３８０００",
            "＋８６ １３８（００１３）８０００",
        ] {
            assert_eq!(
                dial(typed),
                ("tel:+8613800138000".into(), PhoneKind::Mobile),
                "{typed}"
            );
        }
        let mobile = dialable("199 1234 5678").unwrap();
        assert_eq!(mobile.sms_uri().as_deref(), Some("sms:+8619912345678"));
        // 1 then 0–2 is no mobile; neither is a 10- or 12-digit number starting with 13.
        for typed in ["12012345678", "1380013800", "138001380001"] {
            assert_eq!(
                dialable(typed).unwrap().kind,
                PhoneKind::Landline,
                "{typed}"
            );
        }
    }

    #[test]
    fn chinese_landlines_keep_their_area_code() {
        assert_eq!(
            dial("(010) 6552 9988"),
            ("tel:01065529988".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("021-6555-0100"),
            ("tel:02165550100".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("0755 8888 6666"),
            ("tel:075588886666".into(), PhoneKind::Landline)
        );
        // From abroad the area code loses its trunk 0, written or not.
        assert_eq!(
            dial("+86 21 6555 0100"),
            ("tel:+862165550100".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("+86 (0)21 6555 0100"),
            ("tel:+862165550100".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("+86 021 6555 0100"),
            ("tel:+862165550100".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("0086 10 6552 9988"),
            ("tel:+861065529988".into(), PhoneKind::Landline)
        );
        assert_eq!(dialable("010 6552 9988").unwrap().sms_uri(), None);
        // A service number is dialled as it is.
        assert_eq!(dial("95588"), ("tel:95588".into(), PhoneKind::Landline));
    }

    #[test]
    fn extensions_follow_a_pause() {
        for typed in [
            "010-6552 9988 转 8001",
            "010-65529988转8001",
            "010 6552 9988 ext. 8001",
            "010 6552 9988 EXT 8001",
            "010 6552 9988 x8001",
            "010 6552 9988 #8001",
            "010 6552 9988,8001",
            "010 6552 9988 分机 8001",
            "010 6552 9988 轉 ８００１",
        ] {
            let d = dialable(typed).unwrap();
            assert_eq!(d.number, "01065529988", "{typed}");
            assert_eq!(d.extension.as_deref(), Some("8001"), "{typed}");
            assert_eq!(d.tel_uri(), "tel:01065529988,8001", "{typed}");
        }
        // A marker without digits after it is no extension.
        let d = dialable("010 6552 9988 ext").unwrap();
        assert_eq!((d.tel_uri(), d.extension), ("tel:01065529988".into(), None));
        // A mobile with an extension still texts the mobile alone.
        let d = dialable("13800138000 转 1").unwrap();
        assert_eq!(d.tel_uri(), "tel:+8613800138000,1");
        assert_eq!(d.sms_uri().as_deref(), Some("sms:+8613800138000"));
    }

    #[test]
    fn international_numbers() {
        assert_eq!(
            dial("+44 7700 900123"),
            ("tel:+447700900123".into(), PhoneKind::Mobile)
        );
        assert_eq!(
            dial("+44 (0)20 7946 0958"),
            ("tel:+442079460958".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("(+44) 20 7946 0958"),
            ("tel:+442079460958".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("0044 7700 900123"),
            ("tel:+447700900123".into(), PhoneKind::Mobile)
        );
        assert_eq!(
            dial("+852 9123 4567"),
            ("tel:+85291234567".into(), PhoneKind::Mobile)
        );
        assert_eq!(
            dial("+852 2123 4567"),
            ("tel:+85221234567".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("+39 02 1234 5678"),
            ("tel:+390212345678".into(), PhoneKind::Landline)
        );
        assert_eq!(
            dial("+39 347 123 4567"),
            ("tel:+393471234567".into(), PhoneKind::Mobile)
        );
        assert_eq!(
            dial("+49 151 2345 6789"),
            ("tel:+4915123456789".into(), PhoneKind::Mobile)
        );
        // North America mixes mobiles and landlines in one plan: no text button.
        assert_eq!(
            dial("+1 (415) 555-0100"),
            ("tel:+14155550100".into(), PhoneKind::Landline)
        );
        // A national number of another country stays as it is.
        assert_eq!(
            dial("07700 900123"),
            ("tel:07700900123".into(), PhoneKind::Landline)
        );
    }

    #[test]
    fn too_few_digits_are_no_number() {
        assert_eq!(dialable(""), None);
        assert_eq!(dialable("+86"), None);
        assert_eq!(dialable("12 34"), None);
    }

    proptest! {
        /// Separators never change what is dialled, and the link only ever holds digits,
        /// one leading `+` and the pause before an extension.
        #[test]
        fn separators_do_not_matter(
            digits in "[0-9]{5,15}",
            plus in any::<bool>(),
            cuts in prop::collection::vec((0usize..15, prop::sample::select(vec![" ", "-", ".", "(", "\u{3000}"])), 0..6),
        ) {
            let plain = format!("{}{digits}", if plus { "+" } else { "" });
            let mut typed = digits.clone();
            for (at, sep) in cuts {
                let at = at.min(typed.len());
                if typed.is_char_boundary(at) {
                    typed.insert_str(at, sep);
                }
            }
            let typed = format!("{}{typed}", if plus { "+" } else { "" });
            let a = dialable(&plain);
            let b = dialable(&typed);
            prop_assert_eq!(&a, &b);
            if let Some(d) = a {
                let uri = d.tel_uri();
                let body = uri.strip_prefix("tel:").unwrap();
                let body = body.strip_prefix('+').unwrap_or(body);
                prop_assert!(body.chars().all(|c| c.is_ascii_digit()));
                prop_assert_eq!(d.sms_uri().is_some(), d.kind == PhoneKind::Mobile);
            }
        }

        /// Every Chinese mobile, however its country code is written, dials `+86` and texts.
        #[test]
        fn every_chinese_mobile_texts(
            second in 3u8..=9,
            rest in "[0-9]{9}",
            prefix in prop::sample::select(vec!["", "+86", "+86 ", "0086", "0086 ", "86"]),
        ) {
            let national = format!("1{second}{rest}");
            let d = dialable(&format!("{prefix}{national}")).unwrap();
            prop_assert_eq!(d.kind, PhoneKind::Mobile);
            prop_assert_eq!(d.number, format!("+86{national}"));
        }
    }

    #[test]
    fn platforms_from_the_user_agent() {
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131 Mobile Safari/537.36";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15";
        let ipad = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15";
        let linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131 Safari/537.36";
        assert_eq!(
            DevicePlatform::from_user_agent(android, 5),
            DevicePlatform::Android
        );
        assert_eq!(
            DevicePlatform::from_user_agent(iphone, 5),
            DevicePlatform::Ios
        );
        assert_eq!(
            DevicePlatform::from_user_agent(ipad, 5),
            DevicePlatform::Ios
        );
        assert_eq!(
            DevicePlatform::from_user_agent(ipad, 0),
            DevicePlatform::Desktop
        );
        assert_eq!(
            DevicePlatform::from_user_agent(linux, 0),
            DevicePlatform::Desktop
        );
        assert!(DevicePlatform::Android.is_mobile() && DevicePlatform::Ios.is_mobile());
        assert!(!DevicePlatform::Desktop.is_mobile());
    }

    #[test]
    fn map_links_per_platform_and_language() {
        let point = Some(GeoPoint::new(31.2304, 121.4737).unwrap());
        let link = |platform, chinese, point, address| {
            map_link(platform, chinese, point, address, "王小明 (明远)").unwrap()
        };
        assert_eq!(
            link(DevicePlatform::Android, true, point, ""),
            "geo:31.2304,121.4737?q=31.2304,121.4737(%E7%8E%8B%E5%B0%8F%E6%98%8E%20%28%E6%98%8E%E8%BF%9C%29)"
        );
        assert_eq!(
            link(DevicePlatform::Ios, false, point, "南京路 1 号"),
            "https://maps.apple.com/?q=%E7%8E%8B%E5%B0%8F%E6%98%8E%20%28%E6%98%8E%E8%BF%9C%29&ll=31.2304,121.4737"
        );
        assert_eq!(
            link(DevicePlatform::Desktop, true, point, ""),
            "https://uri.amap.com/marker?position=121.4737,31.2304&name=%E7%8E%8B%E5%B0%8F%E6%98%8E%20%28%E6%98%8E%E8%BF%9C%29&coordinate=wgs84"
        );
        assert_eq!(
            link(DevicePlatform::Desktop, false, point, ""),
            "https://www.openstreetmap.org/?mlat=31.2304&mlon=121.4737#map=17/31.2304/121.4737"
        );
        let address = " 南京路 1 号 ";
        let encoded = "%E5%8D%97%E4%BA%AC%E8%B7%AF%201%20%E5%8F%B7";
        assert_eq!(
            link(DevicePlatform::Android, false, None, address),
            format!("geo:0,0?q={encoded}")
        );
        assert_eq!(
            link(DevicePlatform::Ios, true, None, address),
            format!("https://maps.apple.com/?q={encoded}")
        );
        assert_eq!(
            link(DevicePlatform::Desktop, true, None, address),
            format!("https://uri.amap.com/search?keyword={encoded}")
        );
        assert_eq!(
            link(DevicePlatform::Desktop, false, None, address),
            format!("https://www.openstreetmap.org/search?query={encoded}")
        );
        // Characters that mean something in a URL are escaped.
        assert_eq!(
            map_link(DevicePlatform::Ios, false, None, "1 Main St & 2nd?#", "").unwrap(),
            "https://maps.apple.com/?q=1%20Main%20St%20%26%202nd%3F%23"
        );
        // No label: the marker has no name, Apple Maps shows the address.
        assert_eq!(
            map_link(DevicePlatform::Android, true, point, "", " ").unwrap(),
            "geo:31.2304,121.4737?q=31.2304,121.4737"
        );
        assert_eq!(
            map_link(DevicePlatform::Ios, true, point, "Bund", "").unwrap(),
            "https://maps.apple.com/?q=Bund&ll=31.2304,121.4737"
        );
        for platform in [
            DevicePlatform::Android,
            DevicePlatform::Ios,
            DevicePlatform::Desktop,
        ] {
            assert_eq!(map_link(platform, true, None, "  ", "name"), None);
        }
    }
}
