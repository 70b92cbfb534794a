//! Large amounts the way Chinese lists write them: ¥128,000 is ¥12.8万, ¥250,000,000 is
//! ¥2.5亿. Lists only: forms and a lead's details show the exact amount.

use crate::{Currency, Money};

/// One 万 (ten thousand) of the major unit, in minor units.
const WAN_MINOR: u64 = 10_000 * 100;
/// One 亿 (a hundred million) of the major unit, in minor units.
const YI_MINOR: u64 = 100_000_000 * 100;

/// The symbol a Chinese list writes before an amount (as `Intl.NumberFormat('zh-CN')` does
/// for the common ones), else the currency's code and a space.
fn symbol(currency: Currency) -> String {
    match currency.as_str() {
        "CNY" => "¥".into(),
        "USD" => "US$".into(),
        "EUR" => "€".into(),
        "GBP" => "£".into(),
        "HKD" => "HK$".into(),
        "JPY" => "JP¥".into(),
        code => format!("{code} "),
    }
}

/// `money` in 万 or 亿 with at most one decimal (rounded half away from zero; `.0` left
/// out): `¥12.8万`, `-¥1.5万`, `US$3亿`. `None` under one 万, which is written in full.
pub fn wan(money: &Money) -> Option<String> {
    let abs = money.minor.unsigned_abs();
    if abs < WAN_MINOR {
        return None;
    }
    // Tenths of the unit, rounded; an amount that rounds up to 10,000万 is 1亿.
    let tenths = |unit: u64| (u128::from(abs) * 10 + u128::from(unit) / 2) / u128::from(unit);
    let (tenths, unit) = match tenths(WAN_MINOR) {
        t if abs < YI_MINOR && t < 100_000 => (t, "万"),
        _ => (tenths(YI_MINOR), "亿"),
    };
    let sign = if money.minor < 0 { "-" } else { "" };
    let number = if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    };
    Some(format!("{sign}{}{number}{unit}", symbol(money.currency)))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    fn cny(minor: i64) -> Money {
        Money {
            minor,
            currency: Currency::CNY,
        }
    }

    /// Minor units.
    fn w(minor: i64) -> Option<String> {
        wan(&cny(minor))
    }

    /// Whole yuan.
    fn y(yuan: i64) -> Option<String> {
        w(yuan * 100)
    }

    #[test]
    fn large_amounts_in_wan_and_yi() {
        assert_eq!(y(128_000).as_deref(), Some("¥12.8万"));
        assert_eq!(y(10_000).as_deref(), Some("¥1万"));
        assert_eq!(y(15_000).as_deref(), Some("¥1.5万"));
        assert_eq!(w(123_456_789).as_deref(), Some("¥123.5万"));
        assert_eq!(y(250_000_000).as_deref(), Some("¥2.5亿"));
        assert_eq!(y(100_000_000).as_deref(), Some("¥1亿"));
    }

    #[test]
    fn boundaries() {
        // Under one 万: written in full by the caller.
        assert_eq!(w(999_999), None);
        assert_eq!(w(0), None);
        assert_eq!(y(10_000).as_deref(), Some("¥1万"));
        // 9,999.95万 rounds to 10,000万: that is 1亿.
        assert_eq!(y(99_999_500).as_deref(), Some("¥1亿"));
        assert_eq!(y(99_999_499).as_deref(), Some("¥9999.9万"));
        assert_eq!(w(9_999_999_999).as_deref(), Some("¥1亿"));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(y(12_350).as_deref(), Some("¥1.2万"));
        assert_eq!(w(1_234_999).as_deref(), Some("¥1.2万"));
        assert_eq!(y(12_450).as_deref(), Some("¥1.2万"));
        assert_eq!(y(12_500).as_deref(), Some("¥1.3万"));
        assert_eq!(y(19_950).as_deref(), Some("¥2万"));
        assert_eq!(y(-12_500).as_deref(), Some("-¥1.3万"));
    }

    #[test]
    fn negatives_and_other_currencies() {
        assert_eq!(y(-128_000).as_deref(), Some("-¥12.8万"));
        assert_eq!(w(-999_999), None);
        let min = w(i64::MIN).unwrap();
        assert!(min.starts_with("-¥") && min.ends_with('亿'), "{min}");
        let usd = Money {
            minor: 3_000_000_000 * 100,
            currency: Currency::parse("USD").unwrap(),
        };
        assert_eq!(wan(&usd).as_deref(), Some("US$30亿"));
        let chf = Money {
            minor: 50_000 * 100,
            currency: Currency::parse("CHF").unwrap(),
        };
        assert_eq!(wan(&chf).as_deref(), Some("CHF 5万"));
    }

    proptest! {
        /// The short form is within half a tenth of its unit of the exact amount, and keeps
        /// the sign.
        #[test]
        fn close_to_the_amount(minor in -1_000_000_000_000_000i64..1_000_000_000_000_000) {
            match w(minor) {
                None => prop_assert!(minor.unsigned_abs() < WAN_MINOR),
                Some(text) => {
                    prop_assert_eq!(text.starts_with('-'), minor < 0);
                    let unit = if text.ends_with('万') { WAN_MINOR } else { YI_MINOR };
                    let digits: String = text.chars().filter(|c| c.is_ascii_digit() || *c == '.').collect();
                    let shown: f64 = digits.parse().unwrap();
                    let exact = minor.unsigned_abs() as f64 / unit as f64;
                    prop_assert!((shown - exact).abs() <= 0.05 + 1e-9, "{} for {}", text, minor);
                }
            }
        }
    }
}
