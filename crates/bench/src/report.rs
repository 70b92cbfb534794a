//! The one table `cargo xtask bench` prints and writes to `bench/latest.md`: every figure,
//! the median of its runs, its same-run baseline, the ratio, the budget and whether it is met.
//!
//! Measurements arrive as JSON lines, one per figure per run, from this binary (server
//! figures) and from the Playwright script (browser figures):
//! `{"key": "cold_start", "value": 812.5, "baseline": 61.0}`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// One measurement of one run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    pub key: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
}

/// How a figure is judged.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// measured ≤ limit.
    AtMost(f64),
    /// measured ≤ limit and measured / baseline ≤ ratio.
    AtMostAndRatio(f64, f64),
    /// baseline / measured ≥ ratio (times: the raw way over ours).
    BaselineOverAtLeast(f64),
    /// measured / baseline ≥ ratio (rates: ours over the raw way).
    OverBaselineAtLeast(f64),
    /// Reported only.
    Report,
}

struct Figure {
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    baseline: &'static str,
    rule: Rule,
    budget: &'static str,
}

const FIGURES: &[Figure] = &[
    Figure {
        key: "shell_br",
        label: "app shell, brotli (wasm+js+css+html in dist/)",
        unit: "KB",
        baseline: "",
        rule: Rule::AtMost(250.0),
        budget: "≤ 250 KB",
    },
    Figure {
        key: "cold_start",
        label: "cold start, no network, navigation → `fb:today` with data",
        unit: "ms",
        baseline: "blank page from the same service worker",
        rule: Rule::AtMostAndRatio(500.0, 2.0),
        budget: "≤ 500 ms and ≤ 2×",
    },
    Figure {
        key: "cold_start_wasm",
        label: "… of which navigation → `fb:start` (the page, its script and the wasm from the worker's cache, compiled and instantiated)",
        unit: "ms",
        baseline: "",
        rule: Rule::Report,
        budget: "",
    },
    Figure {
        key: "cold_start_app",
        label: "… of which `fb:start` → `fb:today` (the app: IndexedDB reads, first render)",
        unit: "ms",
        baseline: "",
        rule: Rule::Report,
        budget: "",
    },
    Figure {
        key: "search",
        label: "search keystroke → results painted, {leads} leads (median of 15 keys: 王, 上海华润, smith, 138, wj)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(16.0),
        budget: "≤ 16 ms",
    },
    Figure {
        key: "search_50k",
        label: "search keystroke → results painted, 50,000 leads (same keys)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(16.0),
        budget: "≤ 16 ms",
    },
    Figure {
        key: "first_sync",
        label:
            "first sync of a new device, {rows} rows (sign-in → `fb:sync-applied`, outbox empty)",
        unit: "ms",
        baseline: "raw IndexedDB bulk put of the same rows",
        rule: Rule::BaselineOverAtLeast(0.7),
        budget: "raw/ours ≥ 0.7",
    },
    Figure {
        key: "push_throughput",
        label: "server push throughput, SQLite, seeding {rows} rows",
        unit: "mutations/s",
        baseline: "raw batched INSERT of the same rows (rows/s)",
        rule: Rule::OverBaselineAtLeast(0.5),
        budget: "ours/raw ≥ 0.5",
    },
    Figure {
        key: "save_durable",
        label: "save → durable in IndexedDB (click → `fb:saved`)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(20.0),
        budget: "≤ 20 ms",
    },
    Figure {
        key: "keystroke_visit",
        label: "one keystroke in the visit form (notes) → painted (median of 26 keys)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(16.0),
        budget: "≤ 16 ms",
    },
    Figure {
        key: "keystroke_lead",
        label: "one keystroke in the lead form (name) → painted (median of 12 keys)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(16.0),
        budget: "≤ 16 ms",
    },
    Figure {
        key: "open_visit_form",
        label: "open the visit form (click → form painted)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(100.0),
        budget: "≤ 100 ms",
    },
    Figure {
        key: "open_reports",
        label: "open 业绩 (click → this month's figures painted)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(300.0),
        budget: "≤ 300 ms",
    },
    Figure {
        key: "reports_year",
        label: "业绩 for the whole year (click → a year of visits and deals counted, painted)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(1000.0),
        budget: "≤ 1,000 ms",
    },
    Figure {
        key: "longtask_save",
        label: "longest long task after one save (a visit: click → 0.8 s)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(50.0),
        budget: "none over 50 ms",
    },
    Figure {
        key: "longtask_sync",
        label: "longest long task in the sync that follows the save (0.8 s → `fb:sync-applied` + 1 s)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(50.0),
        budget: "none over 50 ms",
    },
    Figure {
        key: "scroll_frame",
        label: "leads list scroll: longest gap between animation frames, scrolling 400 px a frame through the first 800 rows (“show more” until they show)",
        unit: "ms",
        baseline: "",
        rule: Rule::AtMost(50.0),
        budget: "no frame over 50 ms",
    },
    Figure {
        key: "memory",
        label: "memory at {leads} leads: JS heap + wasm linear memory",
        unit: "MB",
        baseline: "",
        rule: Rule::AtMost(40.0),
        budget: "≤ 40 MB",
    },
    Figure {
        key: "memory_js",
        label: "… of which JS heap (CDP JSHeapUsedSize after a forced GC, on Today after the cold start)",
        unit: "MB",
        baseline: "",
        rule: Rule::Report,
        budget: "",
    },
    Figure {
        key: "memory_wasm",
        label: "… of which wasm linear memory",
        unit: "MB",
        baseline: "",
        rule: Rule::Report,
        budget: "",
    },
    Figure {
        key: "rss_idle",
        label: "server RSS idle after start",
        unit: "MB",
        baseline: "",
        rule: Rule::AtMost(50.0),
        budget: "≤ 50 MB",
    },
    Figure {
        key: "rss_seeded",
        label: "server RSS after seeding",
        unit: "MB",
        baseline: "",
        rule: Rule::AtMost(200.0),
        budget: "≤ 200 MB",
    },
    Figure {
        key: "load_pull_p99",
        label: "{devices} devices syncing for {seconds} s against one server (each round: push 1–2 edits, pull to the end, pause 0.5–1.5 s): p99 pull",
        unit: "ms",
        baseline: "",
        rule: Rule::Report,
        budget: "report",
    },
    Figure {
        key: "load_pull_p50",
        label: "… p50 pull",
        unit: "ms",
        baseline: "",
        rule: Rule::Report,
        budget: "report",
    },
    Figure {
        key: "load_push_p99",
        label: "… p99 push",
        unit: "ms",
        baseline: "",
        rule: Rule::Report,
        budget: "report",
    },
    Figure {
        key: "load_push_p50",
        label: "… p50 push",
        unit: "ms",
        baseline: "",
        rule: Rule::Report,
        budget: "report",
    },
    Figure {
        key: "load_requests",
        label: "… requests answered",
        unit: "",
        baseline: "",
        rule: Rule::Report,
        budget: "report",
    },
    Figure {
        key: "load_errors",
        label: "… errors (non-200 answers and failed requests; 503 busy included)",
        unit: "",
        baseline: "",
        rule: Rule::AtMost(0.0),
        budget: "0",
    },
    Figure {
        key: "load_rss",
        label: "… server RSS at the end",
        unit: "MB",
        baseline: "",
        rule: Rule::Report,
        budget: "report",
    },
];

/// What the header says and the labels fill in.
pub struct Context {
    pub title: String,
    pub size: String,
    pub commit: String,
    pub notes: Vec<String>,
    pub vars: BTreeMap<String, String>,
}

/// The median of `values` (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

fn number(value: f64) -> String {
    let abs = value.abs();
    let text = if abs >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    // Thousands separators for the integer part.
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

fn with_unit(value: f64, unit: &str) -> String {
    if unit.is_empty() {
        number(value)
    } else {
        format!("{} {unit}", number(value))
    }
}

fn fill(label: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = label.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Which figures are missing: the ones every run must measure (`required`) with no sample.
pub fn missing(samples: &[Sample], required: &[&str]) -> Vec<String> {
    required
        .iter()
        .filter(|key| !samples.iter().any(|s| s.key == **key))
        .map(|key| key.to_string())
        .collect()
}

/// The markdown: a header and the table.
pub fn render(samples: &[Sample], context: &Context) -> String {
    let mut by_key: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for sample in samples {
        let entry = by_key.entry(sample.key.as_str()).or_default();
        entry.0.push(sample.value);
        if let Some(baseline) = sample.baseline {
            entry.1.push(baseline);
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", context.title);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|kb| kb.trim().trim_end_matches(" kB").parse::<f64>().ok())
            })
        })
        .map(|kb| format!("{:.0} GB RAM", kb / 1_048_576.0))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "- size: {}; date: {}; commit: {}",
        context.size,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        context.commit
    );
    let _ = writeln!(out, "- machine: {cores} cores ({cpu}), {mem}");
    for note in &context.notes {
        let _ = writeln!(out, "- {note}");
    }
    let _ = writeln!(
        out,
        "\n| figure | measured | same-run baseline | ratio | budget | met? |"
    );
    let _ = writeln!(out, "| --- | ---: | --- | ---: | --- | --- |");
    for figure in FIGURES {
        let Some((values, baselines)) = by_key.get(figure.key) else {
            continue;
        };
        let Some(value) = median(values) else {
            continue;
        };
        let baseline = median(baselines);
        let runs = if values.len() > 1 {
            format!(" (median of {})", values.len())
        } else {
            String::new()
        };
        let baseline_text = match baseline {
            Some(b) => {
                let unit = if figure.key == "push_throughput" {
                    "rows/s"
                } else {
                    figure.unit
                };
                format!("{}: {}", figure.baseline, with_unit(b, unit))
            }
            None => "—".into(),
        };
        let (ratio, met) = judge(figure.rule, value, baseline);
        let ratio_text = ratio.map_or("—".to_string(), |r| format!("{r:.2}×"));
        let met_text = match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {}{runs} | {baseline_text} | {ratio_text} | {} | {met_text} |",
            fill(figure.label, &context.vars),
            with_unit(value, figure.unit),
            figure.budget
        );
    }
    out
}

/// The ratio shown and whether the budget is met (`None`: reported only).
fn judge(rule: Rule, value: f64, baseline: Option<f64>) -> (Option<f64>, Option<bool>) {
    match rule {
        Rule::AtMost(limit) => (None, Some(value <= limit)),
        Rule::AtMostAndRatio(limit, ratio) => {
            let r = baseline.filter(|b| *b > 0.0).map(|b| value / b);
            (r, Some(value <= limit && r.is_none_or(|r| r <= ratio)))
        }
        Rule::BaselineOverAtLeast(ratio) => {
            let r = baseline.filter(|_| value > 0.0).map(|b| b / value);
            (r, r.map(|r| r >= ratio))
        }
        Rule::OverBaselineAtLeast(ratio) => {
            let r = baseline.filter(|b| *b > 0.0).map(|b| value / b);
            (r, r.map(|r| r >= ratio))
        }
        Rule::Report => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: &str, value: f64, baseline: Option<f64>) -> Sample {
        Sample {
            key: key.into(),
            value,
            baseline,
        }
    }

    #[test]
    fn medians_and_numbers() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(number(2588.4), "2,588");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.5), "1.50");
        assert_eq!(number(1_234_567.0), "1,234,567");
    }

    #[test]
    fn the_table_judges_each_figure_by_its_rule() {
        let samples = [
            sample("cold_start", 900.0, Some(50.0)),
            sample("cold_start", 800.0, Some(60.0)),
            sample("cold_start", 700.0, Some(55.0)),
            sample("first_sync", 10_000.0, Some(8_000.0)),
            sample("push_throughput", 900.0, Some(80_000.0)),
            sample("save_durable", 12.0, None),
        ];
        let context = Context {
            title: "t".into(),
            size: "quick".into(),
            commit: "abc".into(),
            notes: vec![],
            vars: BTreeMap::from([("rows".to_string(), "6,000".to_string())]),
        };
        let table = render(&samples, &context);
        assert!(table.contains("| 800 ms (median of 3) | blank page from the same service worker: 55 ms | 14.55× | ≤ 500 ms and ≤ 2× | **no** |"), "{table}");
        assert!(
            table.contains("first sync of a new device, 6,000 rows"),
            "{table}"
        );
        assert!(
            table.contains("| 0.80× | raw/ours ≥ 0.7 | yes |"),
            "{table}"
        );
        assert!(
            table.contains("(rows/s): 80,000 rows/s | 0.01× | ours/raw ≥ 0.5 | **no** |"),
            "{table}"
        );
        assert!(
            table.contains("| 12 ms | — | — | ≤ 20 ms | yes |"),
            "{table}"
        );
        assert_eq!(
            missing(&samples, &["cold_start", "memory"]),
            vec!["memory".to_string()]
        );
    }
}
