//! Which URLs a link or an image may carry.
//!
//! A browser reading an `href` first strips leading and trailing control characters and
//! spaces and removes every tab and newline, so `" java\tscript:"` runs as `javascript:`.
//! The checks here read the URL the same way (removing every ASCII control character, a
//! superset of what browsers remove) and hand back that cleaned URL, so the value checked is
//! exactly the value the page gets.

use pulldown_cmark::LinkType;

/// Where an allowed link goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Href {
    /// `http:` or `https:`: opened in a new tab.
    Web(String),
    /// `mailto:`, `tel:` or a `#fragment`: handled by the device or the page itself.
    Local(String),
}

/// The `href` for a Markdown link, or `None` when the link must show as plain text.
pub(crate) fn link_href(link_type: LinkType, destination: &str) -> Option<Href> {
    let url = clean(destination);
    // An email autolink (`<name@example.com>`) arrives without its scheme.
    let url = if link_type == LinkType::Email {
        format!("mailto:{url}")
    } else {
        url
    };
    if url.starts_with('#') {
        return Some(Href::Local(url));
    }
    // A relative URL has no scheme and is refused: the only places a link may lead are the
    // web, a mail or phone app and the page itself.
    let (scheme, _) = url.split_once(':')?;
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        Some(Href::Web(url))
    } else if scheme.eq_ignore_ascii_case("mailto") || scheme.eq_ignore_ascii_case("tel") {
        Some(Href::Local(url))
    } else {
        None
    }
}

/// The attachment hash of `attachment:<sha256>`, lowercased, or `None` for any other URL.
pub(crate) fn attachment(destination: &str) -> Option<String> {
    let url = clean(destination);
    let (scheme, hash) = url.split_once(':')?;
    let is_hash = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (scheme.eq_ignore_ascii_case("attachment") && is_hash).then(|| hash.to_ascii_lowercase())
}

/// The URL as a browser reads it: no control characters anywhere, no spaces at either end.
fn clean(url: &str) -> String {
    url.chars()
        .filter(|c| !c.is_ascii_control())
        .collect::<String>()
        .trim_matches(' ')
        .to_string()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn href(url: &str) -> Option<Href> {
        link_href(LinkType::Inline, url)
    }

    #[test]
    fn web_mail_phone_and_fragment_links_are_allowed() {
        let web = |s: &str| Some(Href::Web(s.to_string()));
        let local = |s: &str| Some(Href::Local(s.to_string()));
        assert_eq!(
            href("https://example.com/a?b#c"),
            web("https://example.com/a?b#c")
        );
        assert_eq!(href("HTTP://example.com"), web("HTTP://example.com"));
        assert_eq!(
            href(" \thttps://ex\nample.com\u{0} "),
            web("https://example.com")
        );
        assert_eq!(
            href("mailto:li@example.com"),
            local("mailto:li@example.com")
        );
        assert_eq!(
            href("tel:+86 138 0013 8000"),
            local("tel:+86 138 0013 8000")
        );
        assert_eq!(href("#step-2"), local("#step-2"));
        assert_eq!(
            link_href(LinkType::Email, "li@example.com"),
            local("mailto:li@example.com")
        );
    }

    #[test]
    fn every_other_link_is_refused() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{1}javascript:alert(1)",
            " javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "ftp://example.com",
            "/leads/1",
            "page.html",
            "//example.com",
            "",
            "https",
            "\u{a0}https://example.com",
            "ht tp://example.com",
        ] {
            assert_eq!(href(url), None, "{url:?}");
        }
        // Email autolinks get `mailto:` put in front, never a way around the check.
        assert_eq!(
            link_href(LinkType::Email, "javascript:alert(1)"),
            Some(Href::Local("mailto:javascript:alert(1)".to_string()))
        );
    }

    #[test]
    fn attachments_are_64_hex_digits_normalised_to_lowercase() {
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(
            attachment(&format!("attachment:{hash}")),
            Some(hash.to_string())
        );
        assert_eq!(
            attachment(&format!(" Attachment:{}\n", hash.to_uppercase())),
            Some(hash.to_string())
        );
        assert_eq!(attachment(&format!("attachment:{}", &hash[1..])), None);
        assert_eq!(attachment(&format!("attachment:{hash}0")), None);
        assert_eq!(attachment(&format!("attachment:{}g", &hash[1..])), None);
        assert_eq!(attachment(&format!("attachment:/{}", &hash[1..])), None);
        assert_eq!(attachment("https://example.com/a.png"), None);
        assert_eq!(attachment("data:image/png;base64,AAAA"), None);
        assert_eq!(attachment(hash), None);
    }
}
