//! From pulldown-cmark's events to the [`Node`] tree.
//!
//! The parser reports `Start(tag)` … `End(tag)` pairs. Each pair becomes a frame that opens
//! zero, one or two elements (a code block is `pre` > `code`, a table head `thead` > `tr`);
//! its `End` closes as many. A frame that opens none is transparent: what it holds goes into
//! the element around it. That is how a refused link keeps its text, and how the depth cap
//! flattens deep content: once [`MAX_DEPTH`] elements are open, no further element opens.
//! Building runs on explicit stacks, never recursion, so no input can overflow the stack.

use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag as Md, TagEnd};

use crate::url::{self, Href};
use crate::{Attr, Element, Image, Node, Tag, MAX_DEPTH};

/// Builds the tree for `markdown`.
pub(crate) fn build(markdown: &str) -> Vec<Node> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH;
    let mut builder = Builder::default();
    for event in Parser::new_ext(markdown, options) {
        builder.event(event);
    }
    builder.finish()
}

#[derive(Default)]
struct Builder {
    /// The top-level nodes built so far.
    root: Vec<Node>,
    /// The elements open now, innermost last; never more than `MAX_DEPTH`.
    open: Vec<Element>,
    /// One frame per `Start` not yet ended, innermost last.
    frames: Vec<Frame>,
    /// The tables being read, innermost last.
    tables: Vec<TableState>,
    /// The image being read: its alt text is collected as plain text until its `End`.
    image: Option<ImageState>,
    /// Whether the raw HTML block being read has ended a line, so its next line starts
    /// after a line break.
    html_line_ended: bool,
}

struct Frame {
    /// How many elements this frame opened (0 to 2).
    opened: usize,
    /// Whether it is a block, which must stay apart from its neighbours when flattened.
    block: bool,
}

struct TableState {
    alignments: Vec<Alignment>,
    in_head: bool,
    body_opened: bool,
    column: usize,
}

struct ImageState {
    sha256: Option<String>,
    title: String,
    alt: String,
    /// `Start`s inside the alt text not yet ended (emphasis, links, nested images).
    nesting: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>) {
        if let Some(image) = &mut self.image {
            match event {
                Event::Start(_) => image.nesting += 1,
                Event::End(_) if image.nesting == 0 => self.end_image(),
                Event::End(_) => image.nesting -= 1,
                Event::Text(text)
                | Event::Code(text)
                | Event::InlineHtml(text)
                | Event::Html(text)
                | Event::InlineMath(text)
                | Event::DisplayMath(text)
                | Event::FootnoteReference(text) => image.alt.push_str(&text),
                Event::SoftBreak | Event::HardBreak => image.alt.push(' '),
                Event::Rule | Event::TaskListMarker(_) => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(text) => {
                if self.open_element(Tag::Code, Vec::new()) {
                    self.text(&text);
                    self.close(1);
                } else {
                    self.text(&text);
                }
            }
            Event::Html(html) => self.html_line(&html),
            Event::InlineHtml(html) => {
                if is_line_break(&html) {
                    self.void(Tag::Br, Vec::new(), "\n");
                } else {
                    self.text(&html);
                }
            }
            // Math and footnotes are not enabled; were they ever, their source shows.
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(&text),
            Event::FootnoteReference(label) => self.text(&format!("[^{label}]")),
            Event::SoftBreak | Event::HardBreak => self.void(Tag::Br, Vec::new(), "\n"),
            Event::Rule => self.void(Tag::Hr, Vec::new(), " "),
            Event::TaskListMarker(checked) => self.task_box(checked),
        }
    }

    fn start(&mut self, tag: Md<'_>) {
        let (opened, block) = match tag {
            Md::Paragraph => (self.open(Tag::P, Vec::new()), true),
            Md::Heading { level, .. } => (self.open(heading(level), Vec::new()), true),
            Md::BlockQuote(_) => (self.open(Tag::Blockquote, Vec::new()), true),
            Md::CodeBlock(_) => {
                let pre = self.open(Tag::Pre, Vec::new());
                (pre + self.open(Tag::Code, Vec::new()), true)
            }
            Md::HtmlBlock => {
                self.html_line_ended = false;
                (self.open(Tag::P, Vec::new()), true)
            }
            Md::List(Some(start)) => {
                let attrs = if start == 1 {
                    Vec::new()
                } else {
                    vec![(Attr::Start, start.to_string())]
                };
                (self.open(Tag::Ol, attrs), true)
            }
            Md::List(None) => (self.open(Tag::Ul, Vec::new()), true),
            Md::Item => (self.open(Tag::Li, Vec::new()), true),
            Md::Table(alignments) => {
                self.tables.push(TableState {
                    alignments,
                    in_head: false,
                    body_opened: false,
                    column: 0,
                });
                (self.open(Tag::Table, Vec::new()), true)
            }
            Md::TableHead => {
                if let Some(table) = self.tables.last_mut() {
                    table.in_head = true;
                    table.column = 0;
                }
                let head = self.open(Tag::Thead, Vec::new());
                (head + self.open(Tag::Tr, Vec::new()), true)
            }
            Md::TableRow => {
                self.open_table_body();
                if let Some(table) = self.tables.last_mut() {
                    table.column = 0;
                }
                (self.open(Tag::Tr, Vec::new()), true)
            }
            Md::TableCell => {
                let (tag, attrs) = self.table_cell();
                (self.open(tag, attrs), true)
            }
            Md::Emphasis => (self.open(Tag::Em, Vec::new()), false),
            Md::Strong => (self.open(Tag::Strong, Vec::new()), false),
            Md::Strikethrough => (self.open(Tag::Del, Vec::new()), false),
            Md::Link {
                link_type,
                dest_url,
                title,
                ..
            } => match url::link_href(link_type, &dest_url) {
                Some(href) => (self.open(Tag::A, link_attrs(href, &title)), false),
                None => (0, false),
            },
            Md::Image {
                dest_url, title, ..
            } => {
                self.image = Some(ImageState {
                    sha256: url::attachment(&dest_url),
                    title: title.to_string(),
                    alt: String::new(),
                    nesting: 0,
                });
                // The image's `End` is consumed by `event`, so it gets no frame.
                return;
            }
            // Not enabled in `build`'s options; should they appear, their content shows
            // inside whatever element holds them.
            Md::Superscript | Md::Subscript => (0, false),
            Md::FootnoteDefinition(_)
            | Md::DefinitionList
            | Md::DefinitionListTitle
            | Md::DefinitionListDefinition
            | Md::MetadataBlock(_) => (0, true),
        };
        if block && opened == 0 {
            self.separate();
        }
        self.frames.push(Frame { opened, block });
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Table => {
                self.tables.pop();
            }
            TagEnd::TableHead => {
                if let Some(table) = self.tables.last_mut() {
                    table.in_head = false;
                }
            }
            TagEnd::HtmlBlock => self.html_line_ended = false,
            _ => {}
        }
        if let Some(frame) = self.frames.pop() {
            self.close(frame.opened);
            if frame.block && frame.opened == 0 {
                self.separate();
            }
        }
    }

    fn finish(mut self) -> Vec<Node> {
        // The parser balances every `Start` with an `End`; this only guards against a
        // future version that does not, so nothing read is ever lost.
        if self.image.is_some() {
            self.end_image();
        }
        while let Some(frame) = self.frames.pop() {
            self.close(frame.opened);
        }
        self.root
    }

    /// Opens an element unless `MAX_DEPTH` are open; returns how many it opened (0 or 1).
    fn open(&mut self, tag: Tag, attrs: Vec<(Attr, String)>) -> usize {
        usize::from(self.open_element(tag, attrs))
    }

    fn open_element(&mut self, tag: Tag, attrs: Vec<(Attr, String)>) -> bool {
        if self.open.len() >= MAX_DEPTH {
            return false;
        }
        self.open.push(Element {
            tag,
            attrs,
            children: Vec::new(),
        });
        true
    }

    /// Closes the `count` innermost elements, each into the one around it.
    fn close(&mut self, count: usize) {
        for _ in 0..count {
            if let Some(element) = self.open.pop() {
                self.children().push(Node::Element(element));
            }
        }
    }

    /// A void element, or `fallback` text where the depth cap leaves no room for one.
    fn void(&mut self, tag: Tag, attrs: Vec<(Attr, String)>, fallback: &str) {
        if self.open_element(tag, attrs) {
            self.close(1);
        } else {
            self.text(fallback);
        }
    }

    /// Where new nodes go: the innermost open element, or the top level.
    fn children(&mut self) -> &mut Vec<Node> {
        match self.open.last_mut() {
            Some(element) => &mut element.children,
            None => &mut self.root,
        }
    }

    /// Adds text, joined to the text before it so the tree holds one node per run of text.
    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let children = self.children();
        if let Some(Node::Text(last)) = children.last_mut() {
            last.push_str(text);
        } else {
            children.push(Node::Text(text.to_string()));
        }
    }

    /// Keeps a flattened block's words apart from its neighbours' with one space.
    fn separate(&mut self) {
        let needed = match self.children().last() {
            None => false,
            Some(Node::Text(text)) => !text.ends_with(char::is_whitespace),
            Some(Node::Element(_) | Node::Image(_)) => true,
        };
        if needed {
            self.text(" ");
        }
    }

    /// A line of a raw HTML block, shown as text; its lines stay lines.
    fn html_line(&mut self, html: &str) {
        for line in html.split_inclusive('\n') {
            if self.html_line_ended {
                self.void(Tag::Br, Vec::new(), "\n");
            }
            let text = line.strip_suffix('\n');
            let ended = text.is_some();
            let text = text.unwrap_or(line);
            let text = text.strip_suffix('\r').unwrap_or(text);
            if is_line_break(text.trim()) {
                self.void(Tag::Br, Vec::new(), "\n");
            } else {
                self.text(text);
            }
            // The break goes in only once another line follows, never after the last.
            self.html_line_ended = ended;
        }
    }

    fn task_box(&mut self, checked: bool) {
        if let Some(item) = self.open.last_mut() {
            if item.tag == Tag::Li && item.attrs.is_empty() {
                item.attrs.push((Attr::Class, "md-task".to_string()));
            }
        }
        let mut attrs = vec![
            (Attr::Type, "checkbox".to_string()),
            (Attr::Disabled, String::new()),
        ];
        if checked {
            attrs.push((Attr::Checked, String::new()));
        }
        self.void(Tag::Input, attrs, if checked { "[x] " } else { "[ ] " });
    }

    /// Opens the table's `tbody` before its first body row, as part of the table's frame,
    /// so the table's `End` closes it.
    fn open_table_body(&mut self) {
        let Some(table) = self.tables.last_mut() else {
            return;
        };
        if table.body_opened {
            return;
        }
        table.body_opened = true;
        let opened = self.open(Tag::Tbody, Vec::new());
        if let Some(frame) = self.frames.last_mut() {
            frame.opened += opened;
        }
    }

    fn table_cell(&mut self) -> (Tag, Vec<(Attr, String)>) {
        let Some(table) = self.tables.last_mut() else {
            return (Tag::Td, Vec::new());
        };
        let tag = if table.in_head { Tag::Th } else { Tag::Td };
        let class = match table.alignments.get(table.column) {
            Some(Alignment::Left) => Some("md-align-left"),
            Some(Alignment::Center) => Some("md-align-center"),
            Some(Alignment::Right) => Some("md-align-right"),
            Some(Alignment::None) | None => None,
        };
        table.column += 1;
        let attrs = class
            .map(|class| vec![(Attr::Class, class.to_string())])
            .unwrap_or_default();
        (tag, attrs)
    }

    fn end_image(&mut self) {
        let Some(image) = self.image.take() else {
            return;
        };
        match image.sha256 {
            Some(sha256) => self.children().push(Node::Image(Image {
                sha256,
                alt: image.alt,
                title: (!image.title.is_empty()).then_some(image.title),
            })),
            None => self.text(&image.alt),
        }
    }
}

/// `#` is `h2`: the screen's title is the page's only `h1`.
fn heading(level: HeadingLevel) -> Tag {
    match level {
        HeadingLevel::H1 => Tag::H2,
        HeadingLevel::H2 => Tag::H3,
        HeadingLevel::H3 => Tag::H4,
        HeadingLevel::H4 => Tag::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => Tag::H6,
    }
}

fn link_attrs(href: Href, title: &str) -> Vec<(Attr, String)> {
    let mut attrs = Vec::with_capacity(4);
    match href {
        Href::Web(url) => {
            attrs.push((Attr::Href, url));
            attrs.push((Attr::Target, "_blank".to_string()));
            attrs.push((Attr::Rel, "noopener noreferrer".to_string()));
        }
        Href::Local(url) => attrs.push((Attr::Href, url)),
    }
    if !title.is_empty() {
        attrs.push((Attr::Title, title.to_string()));
    }
    attrs
}

/// `<br>`, `<br/>`, `<br />`, in any case.
fn is_line_break(html: &str) -> bool {
    let Some(inner) = html.strip_prefix('<').and_then(|h| h.strip_suffix('>')) else {
        return false;
    };
    let inner = inner.trim_end_matches('/').trim_end();
    inner.eq_ignore_ascii_case("br")
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use crate::test_html::to_html;
    use crate::{parse, Node, MAX_DEPTH};

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn html(markdown: &str) -> String {
        to_html(&parse(markdown))
    }

    #[test]
    fn headings_start_at_h2() {
        assert_eq!(
            html("# 一\n## 二\n### 3\n#### 4\n##### 5\n###### 6"),
            "<h2>一</h2><h3>二</h3><h4>3</h4><h5>4</h5><h6>5</h6><h6>6</h6>"
        );
    }

    #[test]
    fn paragraphs_emphasis_and_line_breaks() {
        assert_eq!(
            html("您好，**王总**，*今天* ~~不~~ `忙`吗？\n第二行  \n第三行\n\n---\n\n下一段"),
            "<p>您好，<strong>王总</strong>，<em>今天</em> <del>不</del> <code>忙</code>吗？<br>第二行<br>第三行</p><hr><p>下一段</p>"
        );
    }

    #[test]
    fn lists_keep_their_start_number() {
        assert_eq!(
            html("1. a\n2. b\n\n- c\n  - d\n\n<!-- -->\n\n3. e\n4. f"),
            "<ol><li>a</li><li>b</li></ol><ul><li>c<ul><li>d</li></ul></li></ul><p>&lt;!-- --&gt;</p><ol start=\"3\"><li>e</li><li>f</li></ol>"
        );
    }

    #[test]
    fn task_list_items_are_disabled_checkboxes() {
        assert_eq!(
            html("- [x] 带名片\n- [ ] 带样品"),
            "<ul><li class=\"md-task\"><input type=\"checkbox\" disabled=\"\" checked=\"\">带名片</li><li class=\"md-task\"><input type=\"checkbox\" disabled=\"\">带样品</li></ul>"
        );
    }

    #[test]
    fn tables_have_a_head_a_body_and_aligned_cells() {
        assert_eq!(
            html("| 产品 | 价格 | 备注 |\n|:--|--:|:-:|\n| A | 12,800 | *新* |\n| B | 9,900 |"),
            "<table><thead><tr><th class=\"md-align-left\">产品</th><th class=\"md-align-right\">价格</th><th class=\"md-align-center\">备注</th></tr></thead>\
             <tbody><tr><td class=\"md-align-left\">A</td><td class=\"md-align-right\">12,800</td><td class=\"md-align-center\"><em>新</em></td></tr>\
             <tr><td class=\"md-align-left\">B</td><td class=\"md-align-right\">9,900</td><td class=\"md-align-center\"></td></tr></tbody></table>"
        );
        assert_eq!(
            html("| a |\n|---|"),
            "<table><thead><tr><th>a</th></tr></thead></table>"
        );
        assert_eq!(
            html("| a |\n|---|\n| x<br>y |"),
            "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>x<br>y</td></tr></tbody></table>"
        );
    }

    #[test]
    fn code_blocks_keep_their_text_verbatim() {
        let code = "<script>alert(1)</script>\n  if a < b && c { **x** }\n";
        let document = parse(&format!("```html\n{code}```\n\n    [x](javascript:1)\n"));
        let Some(Node::Element(pre)) = document.blocks.first() else {
            panic!("{document:?}");
        };
        let Some(Node::Element(inner)) = pre.children.first() else {
            panic!("{pre:?}");
        };
        assert_eq!(inner.children, vec![Node::Text(code.to_string())]);
        assert_eq!(
            to_html(&document),
            "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n  if a &lt; b &amp;&amp; c { **x** }\n</code></pre>\
             <pre><code>[x](javascript:1)\n</code></pre>"
        );
    }

    #[test]
    fn safe_links_are_kept() {
        assert_eq!(
            html("[官网](https://example.com/a?b=1&c=2 \"打开\")"),
            "<p><a href=\"https://example.com/a?b=1&amp;c=2\" target=\"_blank\" rel=\"noopener noreferrer\" title=\"打开\">官网</a></p>"
        );
        assert_eq!(
            html("<li@example.com> [电话](tel:+8613800138000) [下一步](#next) <HTTP://example.com>"),
            "<p><a href=\"mailto:li@example.com\">li@example.com</a> <a href=\"tel:+8613800138000\">电话</a> \
             <a href=\"#next\">下一步</a> <a href=\"HTTP://example.com\" target=\"_blank\" rel=\"noopener noreferrer\">HTTP://example.com</a></p>"
        );
        assert_eq!(
            html("[看 **这里**][r]\n\n[r]: https://example.com"),
            "<p><a href=\"https://example.com\" target=\"_blank\" rel=\"noopener noreferrer\">看 <strong>这里</strong></a></p>"
        );
    }

    #[test]
    fn other_links_become_their_text() {
        for (markdown, expected) in [
            ("[点我](javascript:alert(1))", "<p>点我</p>"),
            ("[点 *我*](JaVaScRiPt:alert(1))", "<p>点 <em>我</em></p>"),
            ("[x](<java\tscript:alert(1)>)", "<p>x</p>"),
            ("[x](&#106;avascript:alert(1))", "<p>x</p>"),
            ("[x](data:text/html,hi)", "<p>x</p>"),
            ("[x](vbscript:msgbox)", "<p>x</p>"),
            ("[x](file:///etc/passwd)", "<p>x</p>"),
            ("[x](/leads/1)", "<p>x</p>"),
            ("[x]()", "<p>x</p>"),
            ("[x][r]\n\n[r]: javascript:alert(1)", "<p>x</p>"),
            ("<javascript:alert(1)>", "<p>javascript:alert(1)</p>"),
        ] {
            assert_eq!(html(markdown), expected, "{markdown:?}");
        }
    }

    #[test]
    fn attachment_images_carry_their_hash() {
        let upper = HASH.to_uppercase();
        let document = parse(&format!(
            "![展台 *照片*](attachment:{upper} \"2026 展会\") ![](attachment:{HASH})"
        ));
        assert_eq!(
            to_html(&document),
            format!(
                "<p><img src=\"attachment:{HASH}\" alt=\"展台 照片\" title=\"2026 展会\"> <img src=\"attachment:{HASH}\" alt=\"\"></p>"
            )
        );
        assert_eq!(
            html(&format!("[![logo](attachment:{HASH})](https://example.com)")),
            format!("<p><a href=\"https://example.com\" target=\"_blank\" rel=\"noopener noreferrer\"><img src=\"attachment:{HASH}\" alt=\"logo\"></a></p>")
        );
    }

    #[test]
    fn other_images_become_their_alt_text() {
        for (markdown, expected) in [
            ("![产品图](https://example.com/p.png)", "<p>产品图</p>"),
            ("![像素](data:image/png;base64,iVBORw0KGgo=)", "<p>像素</p>"),
            ("![x](javascript:alert(1))", "<p>x</p>"),
            (
                "![a **b** <i>c</i>](img.png)",
                "<p>a b &lt;i&gt;c&lt;/i&gt;</p>",
            ),
            ("![](https://tracker.example/p.gif)", "<p></p>"),
            ("![a ![b](x.png) c](y.png)", "<p>a b c</p>"),
        ] {
            assert_eq!(html(markdown), expected, "{markdown:?}");
        }
    }

    #[test]
    fn raw_html_shows_as_text() {
        assert_eq!(
            html("<div class=\"x\">\n<script>alert(1)</script>\n</div>\n\n点 <b>这里</b><br/>换行 <img src=x onerror=alert(1)>"),
            "<p>&lt;div class=&quot;x&quot;&gt;<br>&lt;script&gt;alert(1)&lt;/script&gt;<br>&lt;/div&gt;</p>\
             <p>点 &lt;b&gt;这里&lt;/b&gt;<br>换行 &lt;img src=x onerror=alert(1)&gt;</p>"
        );
        assert_eq!(html("`<br>`"), "<p><code>&lt;br&gt;</code></p>");
        assert_eq!(html("a\n\n<BR />\n\nb"), "<p>a</p><p><br></p><p>b</p>");
    }

    fn depth(nodes: &[Node]) -> usize {
        nodes
            .iter()
            .map(|node| match node {
                Node::Element(element) => 1 + depth(&element.children),
                Node::Text(_) | Node::Image(_) => 0,
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn nesting_is_capped() {
        let quotes = format!("{} 最深处", ">".repeat(10_000));
        let document = parse(&quotes);
        assert_eq!(depth(&document.blocks), MAX_DEPTH);
        assert_eq!(document.plain_text(), "最深处");

        let lists = format!("{}最深处", "- ".repeat(10_000));
        let document = parse(&lists);
        assert_eq!(depth(&document.blocks), MAX_DEPTH);
        assert_eq!(document.plain_text(), "最深处");

        // Items below the cap keep their words apart.
        let lists: String = (0..200)
            .map(|level| format!("{}- 第{level}层\n", "  ".repeat(level)))
            .collect();
        let document = parse(&lists);
        assert_eq!(depth(&document.blocks), MAX_DEPTH);
        let text = document.plain_text();
        assert!(text.starts_with("第0层 第1层 "), "{text}");
        assert!(text.ends_with(" 第198层 第199层"), "{text}");

        // Emphasis, links and tables under the cap flatten to their text, words apart.
        let mixed = format!(
            "{}**粗 [链接](https://example.com) `码`**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
            "> ".repeat(MAX_DEPTH - 1)
        );
        let document = parse(&mixed);
        assert!(depth(&document.blocks) <= MAX_DEPTH);
        assert_eq!(document.plain_text(), "粗 链接 码 a b 1 2");

        let emphasis = format!("{}x{}", "*".repeat(20_000), "*".repeat(20_000));
        assert!(depth(&parse(&emphasis).blocks) <= MAX_DEPTH);
    }
}
