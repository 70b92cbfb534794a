//! The product's icon set: small line drawings on a 24 × 24 grid with a 2 px round stroke,
//! drawn for Fieldbook and inlined as SVG paths (no icon font, no emoji, no text glyphs,
//! nothing to download). Icons are decoration: the control around one always has its own
//! label, so every icon is hidden from screen readers.
//!
//! ```ignore
//! <Icon name=IconName::Phone/>
//! <Icon name=IconName::Back class="small"/>
//! ```

use leptos::prelude::*;

/// Which icon to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IconName {
    Today,
    Leads,
    Add,
    Visit,
    Training,
    Settings,
    Back,
    More,
    Close,
    Check,
    Sync,
    Offline,
    Alert,
    Phone,
    Message,
    Wechat,
    Mail,
    Copy,
    MapPin,
    Filter,
    Search,
    ChevronRight,
    Sun,
    Moon,
    Eye,
    EyeOff,
    Trash,
    Restore,
    Calendar,
    Person,
    Star,
    Share,
    Chart,
    Download,
    Edit,
    Board,
}

impl IconName {
    /// Every icon, for tests and the screenshot sheet.
    pub const ALL: [IconName; 32] = [
        IconName::Today,
        IconName::Leads,
        IconName::Add,
        IconName::Visit,
        IconName::Training,
        IconName::Settings,
        IconName::Back,
        IconName::More,
        IconName::Close,
        IconName::Check,
        IconName::Sync,
        IconName::Offline,
        IconName::Alert,
        IconName::Phone,
        IconName::Message,
        IconName::Wechat,
        IconName::Mail,
        IconName::Copy,
        IconName::MapPin,
        IconName::Filter,
        IconName::Search,
        IconName::ChevronRight,
        IconName::Sun,
        IconName::Moon,
        IconName::Eye,
        IconName::EyeOff,
        IconName::Trash,
        IconName::Restore,
        IconName::Calendar,
        IconName::Person,
        IconName::Star,
        IconName::Share,
    ];

    /// The drawing: one path (several subpaths), stroked, never filled.
    pub fn path(self) -> &'static str {
        match self {
            // Two rings: the day in the middle of the view.
            IconName::Today => "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6z",
            // Two people, one behind the other.
            IconName::Leads => "M9 4a3.5 3.5 0 1 0 0 7a3.5 3.5 0 1 0 0-7zM2 20a7 7 0 0 1 14 0M16 4.5a3.5 3.5 0 0 1 0 6.5M19 14a6.5 6.5 0 0 1 3 6",
            IconName::Add => "M12 5v14M5 12h14",
            // A pen on a line: write down the visit.
            IconName::Visit => "M4 20h4L19 9l-4-4L4 16zM13 7l4 4M13 20h7",
            // An open book.
            IconName::Training => "M12 6C10 4.5 7 4 4 4v14c3 0 6 .5 8 2c2-1.5 5-2 8-2V4c-3 0-6 .5-8 2zM12 6v14",
            // Two sliders.
            IconName::Settings => "M4 7h9M17 7h3M4 17h3M11 17h9M15 5v4M9 15v4",
            IconName::Back => "M19 12H5M11 6l-6 6 6 6",
            IconName::More => "M5 11a1 1 0 1 0 0 2a1 1 0 1 0 0-2zM12 11a1 1 0 1 0 0 2a1 1 0 1 0 0-2zM19 11a1 1 0 1 0 0 2a1 1 0 1 0 0-2z",
            IconName::Close => "M6 6l12 12M18 6L6 18",
            IconName::Check => "M5 12.5l4.5 4.5L19 7",
            // Two arrows chasing each other round a circle.
            IconName::Sync => "M20 11a8 8 0 0 0-14.9-3M4 13a8 8 0 0 0 14.9 3M5 3v5h5M19 21v-5h-5",
            // A cloud, struck through.
            IconName::Offline => "M7 18h10a4 4 0 0 0 .5-8a6 6 0 0 0-11.5.5a3.8 3.8 0 0 0 1 7.5zM3 3l18 18",
            IconName::Alert => "M12 3l10 18H2zM12 10v4M12 17.5v.5",
            // A handset.
            IconName::Phone => "M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z",
            // A square speech bubble: a text message.
            IconName::Message => "M4 5h16v11H10l-6 4zM8 9h8M8 12h5",
            // Two round speech bubbles overlapping: a chat app (Fieldbook's own mark).
            IconName::Wechat => "M15.5 9.5A6.5 5.5 0 1 0 6 13.9L5 17l3.4-1.7M15 10a5 4 0 1 1 1.5 7.8L19 20l-.5-3A4 4 0 0 1 15 10z",
            IconName::Mail => "M3 6h18v12H3zM3 7l9 6 9-6",
            // Two sheets, one over the other.
            IconName::Copy => "M9 9h11v11H9zM15 5V4H4v11h1",
            IconName::MapPin => "M12 21s7-6.5 7-12a7 7 0 0 0-14 0c0 5.5 7 12 7 12zM12 6.5a2.5 2.5 0 1 0 0 5a2.5 2.5 0 1 0 0-5z",
            IconName::Filter => "M3 5h18l-7 8v6l-4 2v-8z",
            IconName::Search => "M11 4a7 7 0 1 0 0 14a7 7 0 1 0 0-14zM20 20l-4-4",
            IconName::ChevronRight => "M9 5l7 7-7 7",
            IconName::Sun => "M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8zM12 2v2M12 20v2M2 12h2M20 12h2M5 5l1.5 1.5M17.5 17.5L19 19M5 19l1.5-1.5M17.5 6.5L19 5",
            IconName::Moon => "M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z",
            IconName::Eye => "M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12zM12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6z",
            IconName::EyeOff => "M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12zM12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6zM3 3l18 18",
            IconName::Trash => "M4 7h16M10 7V4h4v3M6 7l1 13h10l1-13M10 11v5M14 11v5",
            // An arrow turning back round a circle: undo the delete.
            IconName::Restore => "M4 12a8 8 0 1 0 2.3-5.7M6 2.5v4h4",
            IconName::Calendar => "M4 6h16v14H4zM4 10h16M8 3v4M16 3v4",
            IconName::Person => "M12 4a4 4 0 1 0 0 8a4 4 0 1 0 0-8zM4 21a8 8 0 0 1 16 0",
            IconName::Star => "M12 3l2.7 5.6 6.1.8-4.5 4.2 1.1 6L12 16.7 6.6 19.6l1.1-6L3.2 9.4l6.1-.8z",
            // A tray with an arrow leaving it: iOS's share button, described in the install steps.
            IconName::Share => "M12 3v12M8 7l4-4 4 4M8 11H5v10h14V11h-3",
            // Three bars on a baseline: the reports.
            IconName::Chart => "M4 20h16M7 16v-5M12 16V6M17 16v-8",
            // An arrow into a tray: a file saved to the device.
            IconName::Download => "M12 3v12M8 11l4 4 4-4M5 19h14",
            IconName::Edit => "M4 20h4L19 9l-4-4L4 16zM13 7l4 4",
            // Columns of cards: the pipeline board.
            IconName::Board => "M4 4h4v16H4zM10 4h4v10h-4zM16 4h4v6h-4z",
        }
    }
}

/// One icon, as large as the text around it unless a class says otherwise. `currentColor`
/// draws it in the colour of the control it sits in, in light and dark alike.
#[component]
pub fn Icon(name: IconName, #[prop(optional)] class: Option<&'static str>) -> impl IntoView {
    let class = match class {
        Some(extra) => format!("icon {extra}"),
        None => "icon".to_string(),
    };
    view! {
        <svg class=class viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor"
            stroke-width="2" stroke-linecap="round" stroke-linejoin="round"
            aria-hidden="true" focusable="false">
            <path d=name.path()/>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every drawing stays a short path of plain commands inside the 24 × 24 grid, so the
    /// set stays cheap in the download.
    #[test]
    fn paths_are_short_and_plain() {
        for name in IconName::ALL {
            let path = name.path();
            assert!(path.starts_with('M'), "{name:?} starts with a move");
            assert!(path.len() < 160, "{name:?} is {} bytes long", path.len());
            assert!(
                path.chars()
                    .all(|c| c.is_ascii_digit() || " .-,MmLlHhVvCcSsAaZz".contains(c)),
                "{name:?} uses only plain path commands"
            );
        }
    }
}
