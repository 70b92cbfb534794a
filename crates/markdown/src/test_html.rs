//! A test-only HTML writer for the tree, a checker that reads its output the way a browser
//! would look for danger, and the property test that hostile Markdown never gets past both.
//!
//! The app never writes HTML (it builds DOM nodes from the tree); writing it here gives the
//! tests one string to search, and shows what the DOM will hold. The checker's lists of
//! allowed names and schemes are written out again on purpose, not taken from the crate, so
//! a new `Tag` or a loosened URL rule fails here until someone decides it is safe.

use proptest::prelude::*;

use crate::{parse, Document, Node, MAX_DEPTH};

/// The tree as HTML; text and attribute values escaped, images as `attachment:` sources.
pub(crate) fn to_html(document: &Document) -> String {
    let mut out = String::new();
    write_nodes(&document.blocks, &mut out);
    out
}

fn write_nodes(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(&escape(text)),
            Node::Image(image) => {
                out.push_str(&format!(
                    "<img src=\"attachment:{}\" alt=\"{}\"",
                    escape(&image.sha256),
                    escape(&image.alt)
                ));
                if let Some(title) = &image.title {
                    out.push_str(&format!(" title=\"{}\"", escape(title)));
                }
                out.push('>');
            }
            Node::Element(element) => {
                out.push('<');
                out.push_str(element.tag.name());
                for (attr, value) in &element.attrs {
                    out.push_str(&format!(" {}=\"{}\"", attr.name(), escape(value)));
                }
                out.push('>');
                if !element.tag.is_void() {
                    write_nodes(&element.children, out);
                    out.push_str(&format!("</{}>", element.tag.name()));
                }
            }
        }
    }
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

const TAGS: &[&str] = &[
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "input",
    "img",
];
const ATTRS: &[&str] = &[
    "href", "title", "target", "rel", "start", "type", "checked", "disabled", "class", "src", "alt",
];
const LINK_SCHEMES: &[&str] = &["http:", "https:", "mailto:", "tel:", "#"];

/// Why `html` is unsafe, or `Ok` when every tag, attribute and URL in it is allowed.
pub(crate) fn check(html: &str) -> Result<(), String> {
    let lower = html.to_ascii_lowercase();
    for banned in ["<script", "<iframe", "<style", "<object", "<embed", "<svg"] {
        if lower.contains(banned) {
            return Err(format!("{banned} in {html}"));
        }
    }
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        if rest[..lt].contains('>') {
            return Err(format!("an unescaped > in text: {html}"));
        }
        let after = &rest[lt + 1..];
        let gt = after
            .find('>')
            .ok_or_else(|| format!("an unclosed tag: {html}"))?;
        check_tag(&after[..gt])?;
        rest = &after[gt + 1..];
    }
    if rest.contains('>') {
        return Err(format!("an unescaped > in text: {html}"));
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    if let Some(name) = tag.strip_prefix('/') {
        return if TAGS.contains(&name) {
            Ok(())
        } else {
            Err(format!("end tag {name}"))
        };
    }
    let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
    if !TAGS.contains(&name) {
        return Err(format!("tag {name}"));
    }
    while !attrs.is_empty() {
        let (attr, value_and_rest) = attrs
            .split_once("=\"")
            .ok_or_else(|| format!("attribute without a quoted value in <{tag}>"))?;
        let (value, rest) = value_and_rest
            .split_once('"')
            .ok_or_else(|| format!("unterminated attribute in <{tag}>"))?;
        let attr = attr.trim();
        if attr.to_ascii_lowercase().starts_with("on") || !ATTRS.contains(&attr) {
            return Err(format!("attribute {attr} in <{tag}>"));
        }
        // What the browser would see: entities decoded, controls and spaces ignored.
        let url: String = unescape(value)
            .chars()
            .filter(|c| !c.is_ascii_control() && *c != ' ')
            .collect::<String>()
            .to_ascii_lowercase();
        if attr == "href" && !LINK_SCHEMES.iter().any(|s| url.starts_with(s)) {
            return Err(format!("href {value:?}"));
        }
        if attr == "src" {
            let hash = url.strip_prefix("attachment:").unwrap_or_default();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("src {value:?}"));
            }
        }
        attrs = rest.trim_start();
    }
    Ok(())
}

/// Every text node's content, escaped, appears in `html`; and no element is deeper than
/// `MAX_DEPTH`.
fn check_tree(nodes: &[Node], html: &str, depth: usize) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(text) if !html.contains(&escape(text)) => {
                return Err(format!("text {text:?} not escaped in {html}"));
            }
            Node::Text(_) | Node::Image(_) => {}
            Node::Element(element) => {
                if depth + 1 > MAX_DEPTH {
                    return Err(format!("an element {} deep", depth + 1));
                }
                check_tree(&element.children, html, depth + 1)?;
            }
        }
    }
    Ok(())
}

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Pieces of Markdown an attacker, or a careless paste, might write.
const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<style>body{display:none}</style>",
    "<object data=x></object>",
    "<embed src=x>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<!-- hidden -->",
    "<br>",
    "<br/>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](<java\tscript:alert(1)>)",
    "[x](<java\nscript:alert(1)>)",
    "[x]( javascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&colon;alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](/relative/path)",
    "[x](\"onmouseover=alert(1))",
    "[x](https://example.com \"a\" onclick=\"x\")",
    "[x](https://example.com \"t\\\" onclick=alert(1)\")",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/p.gif)",
    "![x\" onerror=\"alert(1)](attachment:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08)",
    "![<script>](attachment:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08 \"<t>\")",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<https://example.com/?q=<script>>",
    "<li@example.com>",
    "[x][r]\n\n[r]: javascript:alert(1)\n",
    "[r]\n\n[r]: <javascript:alert(1)> \"t\"\n",
    "[x](https://example.com)",
    "[x](mailto:li@example.com)",
    "[x](tel:+8613800138000)",
    "[x](#step)",
    "***a _b **c** d_ e***",
    "~~del~~",
    "| a | <b>b</b> |\n|:-:|--:|\n| 1 | [y](javascript:1) |\n",
    "```html\n<script>alert(1)</script>\n```\n",
    "    <iframe src=x>\n",
    "`<style>`",
    "&lt;script&gt;",
    "&#60;script&#62;",
    "- [x] done\n",
    "- [ ] todo\n",
    "3. three\n",
    "> ",
    "- ",
    "# ",
    "\n",
    "\n\n",
    "  \n",
    "*",
    "_",
    "`",
    "[",
    "]",
    "(",
    ")",
    "!",
    "<",
    ">",
    "&",
    "\"",
    "'",
    "|",
    "\\",
    " onclick=",
    "=",
];

fn markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => prop::sample::select(HOSTILE).prop_map(str::to_string),
        2 => "[\\[\\]()<>!*_`#|:=\"'&;/\\\\\\- \\n\\ta-zA-Z0-9]{0,12}",
        1 => ".{0,16}",
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..20).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn hostile_markdown_renders_to_safe_html(markdown in markdown()) {
        let document = parse(&markdown);
        let html = to_html(&document);
        if let Err(why) = check(&html) {
            return Err(TestCaseError::fail(format!("{why}\nfrom {markdown:?}")));
        }
        if let Err(why) = check_tree(&document.blocks, &html, 0) {
            return Err(TestCaseError::fail(format!("{why}\nfrom {markdown:?}")));
        }
        // The other two entry points read the same tree and must not fail either.
        let _ = document.plain_text();
        for hash in document.attachments() {
            prop_assert_eq!(hash.len(), 64);
        }
    }
}

#[test]
fn the_checker_catches_what_it_looks_for() {
    for unsafe_html in [
        "<script>x</script>",
        "<p onclick=\"x\">a</p>",
        "<a href=\"javascript:x\">a</a>",
        "<a href=\"java&#9;script:x\">a</a>",
        "<a href=\" JavaScript:x\">a</a>",
        "<img src=\"https://x.example/a.png\">",
        "<img src=\"attachment:abc\">",
        "<p>a > b</p>",
        "<div>x</div>",
        "<p",
    ] {
        assert!(check(unsafe_html).is_err(), "{unsafe_html}");
    }
    let fine = format!(
        "<p><a href=\"https://x.example\" target=\"_blank\">a</a> &lt;script&gt;<img src=\"attachment:{HASH}\" alt=\"\"></p>"
    );
    assert_eq!(check(&fine), Ok(()));
}
