//! Charts drawn by the app as SVG (no chart library, no JavaScript of anyone else's): bars,
//! stacked weekly columns and the progress ring. Every chart is a picture for the eye only
//! (`aria-hidden`); the same figures are in a [`DataTable`] beside it, which a screen reader
//! reads and the CSV export writes. Colours come from the stylesheet's `--series-*` and
//! `--accent` variables, so both colour schemes draw them.

use leptos::prelude::*;

/// A table of figures: what screen readers read instead of a chart, and what the CSV holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// The column headings.
    pub head: Vec<String>,
    /// The rows, first cell the row's heading, as the screen writes them.
    pub rows: Vec<Vec<String>>,
    /// The same rows as the CSV holds them, when they differ (amounts as plain numbers,
    /// which Excel reads as numbers, not `¥12.8万`); empty: the CSV writes `rows`.
    pub raw: Vec<Vec<String>>,
}

impl Table {
    /// The title, the heading and the rows as CSV rows, then an empty row.
    pub fn csv_rows(&self, title: &str) -> Vec<Vec<String>> {
        let mut out = vec![vec![title.to_string()], self.head.clone()];
        let rows = if self.raw.is_empty() {
            &self.rows
        } else {
            &self.raw
        };
        out.extend(rows.iter().cloned());
        out.push(Vec::new());
        out
    }
}

/// A [`Table`] as an HTML table; `hidden` keeps it for screen readers only (a chart shows
/// the same figures).
#[component]
pub fn DataTable(
    #[prop(into)] caption: Signal<String>,
    #[prop(into)] table: Signal<Table>,
    #[prop(optional)] hidden: bool,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    // A table sizes itself to its content whatever its width says, so the hidden one sits in
    // a hidden box (else it widens a phone's page).
    view! {
        <div class:visually-hidden=hidden class="table-box">
        <table class="data-table" data-testid=testid>
            <caption>{move || caption.get()}</caption>
            <thead>
                <tr>{move || table.with(|t| t.head.iter().map(|h| view! { <th scope="col">{h.clone()}</th> }).collect_view())}</tr>
            </thead>
            <tbody>
                {move || table.with(|t| t.rows.iter().map(|row| view! {
                    <tr>{row.iter().enumerate().map(|(n, cell)| if n == 0 {
                        view! { <th scope="row">{cell.clone()}</th> }.into_any()
                    } else {
                        view! { <td>{cell.clone()}</td> }.into_any()
                    }).collect_view()}</tr>
                }).collect_view())}
            </tbody>
        </table>
        </div>
    }
}

/// One bar: its label, its length and the text written at its end; `mark` draws a target
/// line across it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub text: String,
    pub mark: Option<i64>,
}

/// Horizontal bars scaled to the largest value (or mark); negative values draw nothing.
/// Each row is a label, a bar (a small SVG stretched to the row) and its figure, so the
/// text stays at the page's size on a phone.
#[component]
pub fn BarChart(
    #[prop(into)] bars: Signal<Vec<Bar>>,
    #[prop(optional)] series: u8,
) -> impl IntoView {
    let class = format!("bar series-{}", series.max(1));
    view! {
        <ul class="bars" aria-hidden="true">
            {move || bars.with(|bars| {
                let max = bars
                    .iter()
                    .flat_map(|b| [b.value, b.mark.unwrap_or(0)])
                    .max()
                    .unwrap_or(0)
                    .max(1);
                let scale = |v: i64| (v.max(0) as f64 * 100.0 / max as f64).clamp(0.0, 100.0);
                bars.iter().map(|bar| {
                    let width = format!("{:.2}", scale(bar.value));
                    let mark = bar.mark.map(|m| format!("{:.2}", scale(m)));
                    view! {
                        <li class="bar-row">
                            <span class="bar-label">{bar.label.clone()}</span>
                            <svg class="bar-svg" viewBox="0 0 100 10" preserveAspectRatio="none" focusable="false">
                                <rect class="bar-track" x="0" y="0" width="100" height="10"/>
                                <rect class=class.clone() x="0" y="0" width=width height="10"/>
                                {mark.map(|x| view! {
                                    <line class="target-mark" x1=x.clone() x2=x y1="0" y2="10" vector-effect="non-scaling-stroke"/>
                                })}
                            </svg>
                            <span class="bar-value">{bar.text.clone()}</span>
                        </li>
                    }
                }).collect_view()
            })}
        </ul>
    }
}

/// Columns of stacked segments (visits per week by kind): one column per label, one
/// segment per series, with a legend.
#[component]
pub fn StackedColumns(
    #[prop(into)] labels: Signal<Vec<String>>,
    #[prop(into)] series: Signal<Vec<String>>,
    /// `values[column][series]`.
    #[prop(into)]
    values: Signal<Vec<Vec<i64>>>,
) -> impl IntoView {
    const HEIGHT: i64 = 140;
    const AXIS: i64 = 20;
    const WIDTH: i64 = 360;
    view! {
        {move || {
            let labels = labels.get();
            let values = values.get();
            let names = series.get();
            let max = values
                .iter()
                .map(|column| column.iter().map(|v| v.max(&0)).sum::<i64>())
                .max()
                .unwrap_or(0)
                .max(1);
            let columns = labels.len().max(1) as i64;
            let step = (WIDTH / columns).max(6);
            // At most about eight labels under the columns, so they never overlap.
            let every = ((columns + 7) / 8).max(1) as usize;
            let width = (step * 6 / 10).max(8);
            let total_width = step * columns;
            view! {
                <svg class="chart columns" viewBox=format!("0 0 {total_width} {}", HEIGHT + AXIS)
                    preserveAspectRatio="xMinYMin meet" aria-hidden="true" focusable="false">
                    {values.iter().enumerate().map(|(c, column)| {
                        let x = c as i64 * step + (step - width) / 2;
                        let mut top = HEIGHT;
                        let segments = column.iter().enumerate().map(|(s, &v)| {
                            let h = (v.max(0) as f64 * HEIGHT as f64 / max as f64).round() as i64;
                            top -= h;
                            view! { <rect class=format!("bar series-{}", s + 1) x=x y=top width=width height=h/> }
                        }).collect_view();
                        let total: i64 = column.iter().map(|v| v.max(&0)).sum();
                        view! {
                            {segments}
                            <text class="chart-value small" x=x + width / 2 y=(top - 3).max(10) text-anchor="middle">{(total > 0 && columns <= 16).then(|| total.to_string())}</text>
                            <text class="chart-label small" x=x + width / 2 y=HEIGHT + AXIS - 4 text-anchor="middle">{(c % every == 0).then(|| labels.get(c).cloned().unwrap_or_default())}</text>
                        }
                    }).collect_view()}
                </svg>
                <ul class="legend" aria-hidden="true">
                    {names.into_iter().enumerate().map(|(s, name)| view! {
                        <li><span class=format!("swatch series-{}", s + 1)></span>{name}</li>
                    }).collect_view()}
                </ul>
            }
        }}
    }
}

/// A progress ring: `percent` of the circle (capped at a full turn), the percentage in
/// the middle.
#[component]
pub fn Ring(
    #[prop(into)] percent: Signal<i64>,
    #[prop(optional)] on_pace: Option<Signal<bool>>,
) -> impl IntoView {
    const R: f64 = 40.0;
    let circumference = 2.0 * std::f64::consts::PI * R;
    view! {
        <svg class="ring" viewBox="0 0 100 100" aria-hidden="true" focusable="false"
            class:behind=move || on_pace.is_some_and(|p| !p.get())>
            <circle class="ring-track" cx="50" cy="50" r=R/>
            <circle class="ring-fill" cx="50" cy="50" r=R transform="rotate(-90 50 50)"
                stroke-dasharray=move || {
                    let done = percent.get().clamp(0, 100) as f64 / 100.0 * circumference;
                    format!("{done:.1} {circumference:.1}")
                }/>
            <text class="ring-text" x="50" y="57" text-anchor="middle">{move || format!("{}%", percent.get())}</text>
        </svg>
    }
}
