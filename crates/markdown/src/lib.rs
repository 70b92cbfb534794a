//! Training material (manuals, sales scripts, checklists, case studies) is written by managers
//! in Markdown and read by reps in the app, offline. This crate turns that Markdown into a
//! [`Document`]: a tree whose element and attribute names come from two closed enums, [`Tag`]
//! and [`Attr`], so the app can build DOM nodes from it one by one and never hands a string to
//! the browser's HTML parser. There is no sanitizer because there is nothing to sanitize:
//! `script`, `style`, `iframe` or an `onclick` attribute cannot be written down in this tree.
//!
//! The rules, each enforced in [`parse`] and nowhere else:
//! - Raw HTML (`<div>`, `<b>`, `<script>` …) is shown as the text it is, not dropped: a
//!   manager who typed it sees it on the page and learns it does nothing, and no word of a
//!   script disappears without a trace. The one exception is an inline `<br>`, which becomes
//!   a line break, since it is the usual way to break a line inside a table cell.
//! - A link is kept only when its URL is `http:`, `https:`, `mailto:`, `tel:` or an in-page
//!   `#fragment` (see `url`); any other link (`javascript:`, `data:`, a relative path …)
//!   becomes its text. Web links open in a new tab, so the app stays where it was.
//! - An image is kept only when it is an attachment of the item, `attachment:<sha256>`, and
//!   the tree carries the hash, not a URL: the app shows the blob it holds on the device.
//!   Any other image becomes its alt text (the app works offline, and a remote image would
//!   tell a third party when a rep opened the page).
//! - `#` becomes `h2` (and `######` stays `h6`): the screen's own title is its only `h1`,
//!   which the app focuses and names the tab after.
//! - A single line break in the source is a line break on the page, as in GitHub comments:
//!   managers write in a plain text box, and scripts are written line by line.
//! - Elements nest at most [`MAX_DEPTH`] deep, so code that walks the tree recursively (the
//!   app's view, [`Document::plain_text`]) has a bounded stack whatever was typed.
//!
//! The crate does no IO and builds for `wasm32-unknown-unknown` and the host.

#![warn(missing_docs)]

mod builder;
mod url;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod test_html;

/// How deep elements may nest. Deeper Markdown (10,000 `>` or list levels) is not refused:
/// what lies below this depth flattens into the deepest element allowed, text and all.
pub const MAX_DEPTH: usize = 32;

/// Parsed Markdown: a tree of safe elements, text and attachment images.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    /// The top-level nodes, in order.
    pub blocks: Vec<Node>,
}

/// One node of a [`Document`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// An element; its children are nested at most [`MAX_DEPTH`] elements deep.
    Element(Element),
    /// Text, to be inserted as a text node (never parsed as HTML).
    Text(String),
    /// An image attached to the item; the app maps its hash to the blob it holds.
    Image(Image),
}

/// An element with attributes and children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// What element it is.
    pub tag: Tag,
    /// Its attributes, each at most once, in the order they are written.
    pub attrs: Vec<(Attr, String)>,
    /// Its content; always empty for [`Tag::is_void`] tags.
    pub children: Vec<Node>,
}

/// An image that is an attachment of the item: `![alt](attachment:<sha256>)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The attachment's SHA-256, 64 lowercase hex digits.
    pub sha256: String,
    /// The image's text alternative (its Markdown alt text, as plain text).
    pub alt: String,
    /// The tooltip, when the Markdown gives one.
    pub title: Option<String>,
}

/// Every element [`parse`] can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the HTML element of the same name.
pub enum Tag {
    P,
    H2,
    H3,
    H4,
    H5,
    H6,
    Strong,
    Em,
    Del,
    Code,
    Pre,
    Blockquote,
    Ul,
    Ol,
    Li,
    A,
    Hr,
    Br,
    Table,
    Thead,
    Tbody,
    Tr,
    Th,
    Td,
    /// Only ever a disabled checkbox: a task list item's box.
    Input,
}

impl Tag {
    /// The HTML element name.
    pub fn name(self) -> &'static str {
        match self {
            Tag::P => "p",
            Tag::H2 => "h2",
            Tag::H3 => "h3",
            Tag::H4 => "h4",
            Tag::H5 => "h5",
            Tag::H6 => "h6",
            Tag::Strong => "strong",
            Tag::Em => "em",
            Tag::Del => "del",
            Tag::Code => "code",
            Tag::Pre => "pre",
            Tag::Blockquote => "blockquote",
            Tag::Ul => "ul",
            Tag::Ol => "ol",
            Tag::Li => "li",
            Tag::A => "a",
            Tag::Hr => "hr",
            Tag::Br => "br",
            Tag::Table => "table",
            Tag::Thead => "thead",
            Tag::Tbody => "tbody",
            Tag::Tr => "tr",
            Tag::Th => "th",
            Tag::Td => "td",
            Tag::Input => "input",
        }
    }

    /// Whether the element never has children (HTML's void elements).
    pub fn is_void(self) -> bool {
        matches!(self, Tag::Hr | Tag::Br | Tag::Input)
    }

    /// Whether the element is a block: its text is a separate word from its neighbours'
    /// (`plain_text`), and when it is flattened by the depth cap a space keeps it apart.
    pub fn is_block(self) -> bool {
        !matches!(
            self,
            Tag::Strong | Tag::Em | Tag::Del | Tag::Code | Tag::A | Tag::Input
        )
    }
}

/// Every attribute [`parse`] can produce. Values are text, set as attribute values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attr {
    /// A link's URL, only ever one of the allowed schemes or a `#fragment`.
    Href,
    /// A link's tooltip.
    Title,
    /// `_blank` on web links, so the app stays open behind them.
    Target,
    /// `noopener noreferrer` on web links.
    Rel,
    /// An ordered list's first number, when it is not 1.
    Start,
    /// `checkbox`, on a task list item's box.
    Type,
    /// On a ticked task list item's box (value empty).
    Checked,
    /// On every task list item's box (value empty): the page shows, it does not edit.
    Disabled,
    /// A fixed class the app's stylesheet knows: `md-align-left|center|right` on table
    /// cells, `md-task` on task list items.
    Class,
}

impl Attr {
    /// The HTML attribute name.
    pub fn name(self) -> &'static str {
        match self {
            Attr::Href => "href",
            Attr::Title => "title",
            Attr::Target => "target",
            Attr::Rel => "rel",
            Attr::Start => "start",
            Attr::Type => "type",
            Attr::Checked => "checked",
            Attr::Disabled => "disabled",
            Attr::Class => "class",
        }
    }
}

/// Parses Markdown (CommonMark with tables, task lists and strikethrough) into a safe tree.
/// Never fails: whatever cannot be shown as Markdown is shown as text.
pub fn parse(markdown: &str) -> Document {
    Document {
        blocks: builder::build(markdown),
    }
}

/// The text a reader sees, whitespace collapsed to single spaces: for search and list
/// previews. Image alt text counts; a task box does not.
pub fn plain_text(markdown: &str) -> String {
    parse(markdown).plain_text()
}

/// The SHA-256 of every attachment the Markdown shows as an image, first use first, each
/// once: what the device must hold to show the item whole.
pub fn attachments(markdown: &str) -> Vec<String> {
    parse(markdown).attachments()
}

impl Document {
    /// See [`plain_text`].
    pub fn plain_text(&self) -> String {
        let mut text = String::new();
        collect_text(&self.blocks, &mut text);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// See [`attachments`].
    pub fn attachments(&self) -> Vec<String> {
        let mut found = Vec::new();
        collect_attachments(&self.blocks, &mut found);
        found
    }
}

// Both walks recurse once per element level, which the depth cap bounds.
fn collect_text(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Image(image) => out.push_str(&image.alt),
            Node::Element(element) => {
                let block = element.tag.is_block();
                if block {
                    out.push(' ');
                }
                collect_text(&element.children, out);
                if block {
                    out.push(' ');
                }
            }
        }
    }
}

fn collect_attachments(nodes: &[Node], found: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Image(image) => {
                if !found.contains(&image.sha256) {
                    found.push(image.sha256.clone());
                }
            }
            Node::Element(element) => collect_attachments(&element.children, found),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const OTHER: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    #[test]
    fn plain_text_collapses_whitespace_and_separates_blocks() {
        let text = plain_text(
            "# 开场白\n\n您好，**王总**！\n我是*小李*。\n\n- 一\n- 二\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![产品图](attachment:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08)\n\n- [x] done",
        );
        assert_eq!(
            text,
            "开场白 您好，王总！ 我是小李。 一 二 a b 1 2 产品图 done"
        );
        assert_eq!(plain_text(""), "");
        assert_eq!(plain_text("<b>x</b>"), "<b>x</b>");
    }

    #[test]
    fn attachments_are_listed_once_in_order() {
        let markdown = format!(
            "![a](attachment:{OTHER}) ![b](attachment:{HASH})\n\n> ![c](ATTACHMENT:{})\n\n![d](https://example.com/x.png)",
            OTHER.to_uppercase()
        );
        assert_eq!(attachments(&markdown), vec![OTHER, HASH]);
        assert!(attachments("no images").is_empty());
    }

    #[test]
    fn names_are_lowercase_html() {
        for tag in [Tag::P, Tag::H6, Tag::Blockquote, Tag::Tbody, Tag::Input] {
            assert!(tag
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        }
        assert_eq!(Attr::Href.name(), "href");
        assert!(Tag::Br.is_void() && !Tag::P.is_void());
    }
}
