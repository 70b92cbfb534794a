//! Training material on screen: a parsed [`Document`] built into DOM nodes one by one.
//!
//! Element and attribute names come from `fieldbook_markdown`'s closed enums and text goes
//! in as text nodes, so nothing a manager wrote ever reaches the browser's HTML parser.
//! That is the whole safety argument, which is why this file (and the app) never uses
//! `inner_html`.

use fieldbook_markdown::{Document, Element, Image, Node};
use leptos::attr::any_attribute::{AnyAttribute, IntoAnyAttribute};
use leptos::attr::custom::custom_attribute;
use leptos::prelude::*;

use crate::i18n::use_i18n;

/// The object URL of an attachment's blob, by its SHA-256; `None` while the blob is not on
/// this device.
pub type ImageUrl = Callback<String, Option<String>>;

/// A training item's body.
///
/// `image_url` runs inside a reactive closure: when it reads a signal (the attachments the
/// device holds), an image shows as soon as its blob arrives.
#[component]
pub fn Markdown(
    /// The parsed body, from `fieldbook_markdown::parse`.
    doc: Document,
    /// Where each attached image's blob is; see [`ImageUrl`].
    image_url: ImageUrl,
) -> impl IntoView {
    view! { <div class="markdown">{nodes(doc.blocks, image_url)}</div> }
}

// `nodes` and `element` recurse once per element level, which the parser caps at
// `fieldbook_markdown::MAX_DEPTH`, so whatever was typed the stack stays small.
fn nodes(nodes: Vec<Node>, image_url: ImageUrl) -> Vec<AnyView> {
    nodes
        .into_iter()
        .map(|node| match node {
            Node::Text(text) => text.into_any(),
            Node::Element(el) => element(el, image_url),
            Node::Image(image) => attached_image(image, image_url),
        })
        .collect()
}

/// One element built through `document.createElement` with the name the enum gives, the
/// same code path for every tag.
fn element(el: Element, image_url: ImageUrl) -> AnyView {
    // A task list's box is a mark to read, not a control: drawn (and named for a screen
    // reader) rather than a disabled checkbox, which no finger can use.
    if el.tag == fieldbook_markdown::Tag::Input {
        let checked = el
            .attrs
            .iter()
            .any(|(attr, _)| *attr == fieldbook_markdown::Attr::Checked);
        return task_mark(checked);
    }
    let attrs: Vec<AnyAttribute> = el
        .attrs
        .into_iter()
        .map(|(attr, value)| custom_attribute(attr.name(), value).into_any_attr())
        .collect();
    let children = nodes(el.children, image_url);
    leptos::html::custom(el.tag.name())
        .add_any_attr(attrs)
        .child(children)
        .into_any()
}

fn task_mark(checked: bool) -> AnyView {
    let i = use_i18n();
    let key = if checked {
        "markdown.task_done"
    } else {
        "markdown.task_open"
    };
    view! {
        <span class="md-check" class:done=checked role="img" data-testid="md-check"
            aria-label=move || i.t(key)></span>
    }
    .into_any()
}

/// The image from the device, or while its blob is not here its alt text in a box that
/// says so, so the reader knows something is missing and what it shows.
fn attached_image(image: Image, image_url: ImageUrl) -> AnyView {
    let i = use_i18n();
    let Image { sha256, alt, title } = image;
    let view = move || match image_url.try_run(sha256.clone()).flatten() {
        Some(src) => view! { <img src=src alt=alt.clone() title=title.clone()/> }.into_any(),
        None => view! {
            <span class="md-image-missing" title=title.clone()>
                <span class="md-image-alt">{alt.clone()}</span>
                <span class="md-image-note">{move || i.t("markdown.image_missing")}</span>
            </span>
        }
        .into_any(),
    };
    view.into_any()
}
