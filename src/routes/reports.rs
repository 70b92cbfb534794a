//! 业绩 (`/reports`): targets against actuals for a month, quarter, half-year or year (and
//! the same period last year), the funnel between stages, visits per week by kind, deals by
//! source channel, why sales were won or lost; for a manager the team leaderboard, overdue
//! follow-ups per rep and, for one rep, that rep's activity in a chosen week.
//!
//! Everything is computed on the device from what IndexedDB holds (`Store::report_data`
//! reads the period's deals, visits and stage changes through their indices; leads come
//! from the book), so the screen works offline and shows a save at once. Charts are SVG
//! drawn here, each with the same figures in a table for screen readers; "Download CSV"
//! writes every table to one file Excel opens in either language.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use domain::{Currency, Facts, Id, Metric, Money, Period, PeriodKind, Source, Stage, VisitKind};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::charts::{Bar, BarChart, DataTable, Ring, StackedColumns, Table};
use crate::components::icons::{Icon, IconName};
use crate::i18n::{fill, use_i18n, Locale};
use crate::platform;
use crate::routes::reading;
use crate::state::{use_app, AppState};
use crate::store::{ReportData, StoreError};

/// The currency targets and reports add up (deals in another currency are counted, and
/// their amounts shown in their own currency in the CSV's deal lines only).
pub const REPORT_CURRENCY: Currency = Currency::CNY;

/// The signed-in person's id.
pub fn me(state: AppState) -> Option<Id> {
    state.account.with_untracked(|a| a.as_ref().map(|a| a.id))
}

/// The signed-in person's team.
pub fn my_team(state: AppState) -> Option<Id> {
    state
        .account
        .with_untracked(|a| a.as_ref().and_then(|a| a.team_id))
}

/// The period's records as [`ReportData`].
pub async fn load(state: AppState, period: Period) -> Result<ReportData, StoreError> {
    let store = state.store()?;
    store
        .report_data(
            (period.first_day(), period.end()),
            period.bounds_ms(platform::utc_offset_minutes()),
        )
        .await
}

/// The figures of `data`, with the book's leads, credited as [`ReportData::facts`] says.
pub fn facts_of(state: AppState, data: &ReportData) -> Facts {
    let offset = platform::utc_offset_minutes();
    state
        .book
        .with(|book| data.facts(book.iter(), me(state), offset))
}

/// A figure as the screens write it: money in the locale's way (万 in Chinese), a count as a
/// number.
pub fn figure_text(locale: Locale, metric: Metric, value: i64, currency: Currency) -> String {
    if metric.is_amount() {
        platform::format_money_short(
            &Money {
                minor: value,
                currency,
            },
            locale,
        )
    } else {
        value.to_string()
    }
}

/// A figure in a CSV cell: an amount in major units with its decimals (a number to Excel),
/// a count as digits.
fn figure_csv(metric: Metric, value: i64) -> String {
    domain::format_figure(metric, value)
}

/// The team's reps, by name.
pub fn team_reps(state: AppState) -> Vec<(Id, String)> {
    let mut reps: Vec<(Id, String)> = state.team.with(|team| {
        team.iter()
            .filter(|m| m.role == "rep")
            .map(|m| (m.id, m.display_name.clone()))
            .collect()
    });
    reps.sort_by(|a, b| a.1.cmp(&b.1));
    reps
}

/// The period picker: month / quarter / half-year / year, and earlier / later.
#[component]
pub fn PeriodPicker(period: RwSignal<Period>) -> impl IntoView {
    let i = use_i18n();
    view! {
        <div class="period-picker" data-testid="period-picker">
            <div class="segmented" role="group" aria-label=move || i.t("reports.period_kind")>
                {PeriodKind::ALL.iter().map(|&kind| view! {
                    <button type="button" class="chip" data-testid=format!("period-{}", kind.as_str())
                        aria-pressed=move || (period.get().kind == kind).to_string()
                        on:click=move |_| period.set(Period::containing(kind, period.get_untracked().first_day()))>
                        {move || i.t(kind.key())}
                    </button>
                }).collect_view()}
            </div>
            <Stepper name="period" label=Signal::derive(move || i.locale().period(period.get()))
                step=Callback::new(move |n: i32| period.update(|p| *p = p.shift(n)))/>
        </div>
    }
}

/// Earlier / the shown period or week / later; `name` makes the test ids (`period-prev`,
/// `period-name`, `period-next`).
#[component]
fn Stepper(name: &'static str, label: Signal<String>, step: Callback<i32>) -> impl IntoView {
    let i = use_i18n();
    view! {
        <div class="period-step">
            <button type="button" class="button small icon-only" data-testid=format!("{name}-prev")
                aria-label=move || i.t("reports.earlier") on:click=move |_| step.run(-1)>
                <Icon name=IconName::Back/>
            </button>
            <strong class="period-name" data-testid=format!("{name}-name") aria-live="polite">{move || label.get()}</strong>
            <button type="button" class="button small icon-only flip" data-testid=format!("{name}-next")
                aria-label=move || i.t("reports.later") on:click=move |_| step.run(1)>
                <Icon name=IconName::Back/>
            </button>
        </div>
    }
}

/// What the report is about: the team (a manager's default), one rep, or the signed-in rep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    Team,
    Person(Id),
}

impl Subject {
    /// Whose records count: `None` for everything on the device (a manager's team).
    fn who(self) -> Option<Id> {
        match self {
            Subject::Team => None,
            Subject::Person(id) => Some(id),
        }
    }
}

/// A section of the report: its title, its chart and its table.
#[derive(Clone, Debug, Default, PartialEq)]
struct Section {
    title_key: &'static str,
    table: Table,
}

#[component]
pub fn Reports() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let manager = state.is_manager();
    let today = platform::today();
    let period = RwSignal::new(Period::containing(PeriodKind::Month, today));
    let subject = RwSignal::new(match (manager, me(state)) {
        (false, Some(me)) => Subject::Person(me),
        _ => Subject::Team,
    });
    // The period and the same period last year, read again after every change of a record.
    let read = reading(move || {
        state.revision.track();
        let period = period.get();
        async move {
            let (now, before) =
                futures::future::join(load(state, period), load(state, period.last_year())).await;
            Ok::<_, StoreError>((period, now?, before?))
        }
    });
    let data = Memo::new(move |_| match read.get() {
        Some(Ok((_, now, before))) => Some((now, before)),
        _ => None,
    });
    // The period whose figures are on screen (the bench waits for it).
    let loaded = move || match read.get() {
        Some(Ok((period, ..))) => Some(period.to_string()),
        _ => None,
    };
    let failed = move || matches!(read.get(), Some(Err(_)));
    let facts = Memo::new(move |_| {
        data.with(|d| {
            d.as_ref()
                .map(|(now, before)| (facts_of(state, now), facts_of(state, before)))
        })
    });

    // 1. Targets against actuals.
    let targets_table = Memo::new(move |_| {
        let locale = i.locale();
        let period = period.get();
        let who = subject.get().who();
        let Some((actual, last)) = facts.with(|f| {
            f.as_ref().map(|(now, before)| {
                (
                    now.actuals(period, who),
                    before.actuals(period.last_year(), who),
                )
            })
        }) else {
            return Table::default();
        };
        let targets = data.with(|d| d.as_ref().map(|d| d.0.targets.clone()).unwrap_or_default());
        let mut rows = Vec::new();
        let mut raw = Vec::new();
        for metric in Metric::ALL {
            let target = domain::target_for(&targets, my_team(state), who, period, metric);
            let currency = target.map_or(REPORT_CURRENCY, |t| t.currency);
            let value = actual.figure(metric, currency);
            let percent = target.map(|t| {
                domain::Attainment {
                    target: t.value,
                    actual: value,
                }
                .percent()
            });
            let last_value = (!last.is_empty()).then(|| last.figure(metric, currency));
            let dash = || "—".to_string();
            rows.push(vec![
                tr(locale, metric.key()),
                target.map_or_else(dash, |t| figure_text(locale, metric, t.value, currency)),
                figure_text(locale, metric, value, currency),
                percent.map_or_else(dash, |p| format!("{p}%")),
                last_value.map_or_else(dash, |v| figure_text(locale, metric, v, currency)),
            ]);
            raw.push(vec![
                tr(locale, metric.key()),
                target.map_or_else(String::new, |t| figure_csv(metric, t.value)),
                figure_csv(metric, value),
                percent.map_or_else(String::new, |p| p.to_string()),
                last_value.map_or_else(String::new, |v| figure_csv(metric, v)),
            ]);
        }
        Table {
            head: [
                "reports.metric",
                "reports.target",
                "reports.actual",
                "reports.percent",
                "reports.last_year",
            ]
            .iter()
            .map(|k| tr(locale, k))
            .collect(),
            rows,
            raw,
        }
    });
    let target_bars = Memo::new(move |_| {
        let period = period.get();
        let who = subject.get().who();
        let Some(actual) = facts.with(|f| f.as_ref().map(|(now, _)| now.actuals(period, who)))
        else {
            return Vec::new();
        };
        let targets = data.with(|d| d.as_ref().map(|d| d.0.targets.clone()).unwrap_or_default());
        let locale = i.locale();
        Metric::ALL
            .iter()
            .filter_map(|&metric| {
                let target = domain::target_for(&targets, my_team(state), who, period, metric)?;
                let value = actual.figure(metric, target.currency);
                let percent = domain::Attainment {
                    target: target.value,
                    actual: value,
                }
                .percent();
                Some(Bar {
                    label: tr(locale, metric.key()),
                    value: percent.min(200),
                    text: format!("{percent}%"),
                    mark: Some(100),
                })
            })
            .collect::<Vec<_>>()
    });

    // 1b. For a rep: the team's own targets (reps see them; the team's actuals are the
    // managers', whose devices hold the team's records).
    let team_targets_table = Memo::new(move |_| {
        let locale = i.locale();
        let period = period.get();
        let targets = data.with(|d| d.as_ref().map(|d| d.0.targets.clone()).unwrap_or_default());
        let found: Vec<(Metric, domain::Target)> = Metric::ALL
            .iter()
            .filter_map(|&metric| {
                domain::target_for(&targets, my_team(state), None, period, metric)
                    .map(|t| (metric, t.clone()))
            })
            .collect();
        Table {
            head: vec![tr(locale, "reports.metric"), tr(locale, "reports.target")],
            rows: found
                .iter()
                .map(|(metric, t)| {
                    vec![
                        tr(locale, metric.key()),
                        figure_text(locale, *metric, t.value, t.currency),
                    ]
                })
                .collect(),
            raw: found
                .iter()
                .map(|(metric, t)| vec![tr(locale, metric.key()), figure_csv(*metric, t.value)])
                .collect(),
        }
    });

    // 2. The funnel of the leads created in the period.
    let funnel_table = Memo::new(move |_| {
        let locale = i.locale();
        let period = period.get();
        let who = subject.get().who();
        let changes = data.with(|d| d.as_ref().map(|d| d.0.changes.clone()).unwrap_or_default());
        let offset = platform::utc_offset_minutes();
        let mine = me(state);
        let steps = state.book.with(|book| {
            let cohort: Vec<&domain::Lead> = book
                .iter()
                .filter(|l| !l.deleted)
                .filter(|l| period.contains(domain::today_in_offset(l.created_at, offset)))
                .filter(|l| who.is_none() || l.owner.or(mine) == who)
                .collect();
            domain::funnel(cohort, &changes)
        });
        Table {
            head: vec![
                tr(locale, "reports.stage"),
                tr(locale, "reports.leads"),
                tr(locale, "reports.conversion"),
            ],
            rows: steps
                .iter()
                .map(|s| {
                    vec![
                        tr(locale, s.stage.key()),
                        s.reached.to_string(),
                        s.conversion.map_or_else(|| "—".into(), |c| format!("{c}%")),
                    ]
                })
                .collect(),
            raw: Vec::new(),
        }
    });
    let funnel_bars = Memo::new(move |_| {
        funnel_table.with(|t| {
            t.rows
                .iter()
                .map(|row| Bar {
                    label: row[0].clone(),
                    value: row[1].parse().unwrap_or(0),
                    text: row[1].clone(),
                    mark: None,
                })
                .collect::<Vec<_>>()
        })
    });

    // 3. Visits per week by kind.
    let weeks = Memo::new(move |_| {
        let period = period.get();
        let who = subject.get().who();
        let offset = platform::utc_offset_minutes();
        let mine = me(state);
        data.with(|d| {
            let Some((now, _)) = d else {
                return Vec::new();
            };
            let visits = now
                .visits
                .iter()
                .filter(|v| who.is_none() || v.logged_by.or(v.owner).or(mine) == who)
                .map(|v| (domain::today_in_offset(v.started_at, offset), v.kind));
            domain::visits_by_week(visits, period.first_day(), period.end())
        })
    });
    let weeks_table = Memo::new(move |_| {
        let locale = i.locale();
        let mut head = vec![tr(locale, "reports.week")];
        head.extend(VisitKind::ALL.iter().map(|k| tr(locale, k.key())));
        head.push(tr(locale, "reports.total"));
        Table {
            head,
            rows: weeks.with(|w| {
                w.iter()
                    .map(|(week, counts)| {
                        let mut row = vec![week_label(locale, *week)];
                        row.extend(counts.iter().map(|c| c.to_string()));
                        row.push(counts.iter().sum::<usize>().to_string());
                        row
                    })
                    .collect()
            }),
            raw: Vec::new(),
        }
    });

    // 4. Deals by source channel.
    let sources_table = Memo::new(move |_| {
        let locale = i.locale();
        let period = period.get();
        let who = subject.get().who();
        let mine = me(state);
        let rows = data.with(|d| {
            let Some((now, _)) = d else {
                return Vec::new();
            };
            let deals: Vec<(Source, i64)> = now
                .deals
                .iter()
                .filter(|deal| period.contains(deal.closed_on))
                .filter(|deal| who.is_none() || deal.logged_by.or(deal.owner).or(mine) == who)
                .map(|deal| {
                    let source = state
                        .book
                        .with(|b| b.get(deal.lead_id).map(|l| l.source))
                        .unwrap_or(Source::Other);
                    let sign = if deal.status == domain::DealStatus::Refunded {
                        -1
                    } else {
                        1
                    };
                    let amount = if deal.amount.currency == REPORT_CURRENCY {
                        sign * deal.amount.minor
                    } else {
                        0
                    };
                    (source, amount)
                })
                .collect();
            domain::tally(deals)
        });
        Table {
            head: vec![
                tr(locale, "field.source"),
                tr(locale, "reports.deals"),
                tr(locale, "reports.amount"),
            ],
            rows: rows
                .iter()
                .map(|(source, n, amount)| {
                    vec![
                        tr(locale, source.key()),
                        n.to_string(),
                        figure_text(locale, Metric::DealAmount, *amount, REPORT_CURRENCY),
                    ]
                })
                .collect(),
            raw: rows
                .iter()
                .map(|(source, n, amount)| {
                    vec![
                        tr(locale, source.key()),
                        n.to_string(),
                        figure_csv(Metric::DealAmount, *amount),
                    ]
                })
                .collect(),
        }
    });
    let source_bars = Memo::new(move |_| {
        sources_table.with(|t| {
            t.rows
                .iter()
                .map(|row| Bar {
                    label: row[0].clone(),
                    value: row[1].parse().unwrap_or(0),
                    text: format!("{} · {}", row[1], row[2]),
                    mark: None,
                })
                .collect::<Vec<_>>()
        })
    });

    // 5. Why sales were won and lost.
    let outcomes_table = Memo::new(move |_| {
        let locale = i.locale();
        let who = subject.get().who();
        let mine = me(state);
        let out = data.with(|d| {
            let changes: Vec<domain::StageChange> = d
                .as_ref()
                .map(|(now, _)| {
                    now.changes
                        .iter()
                        .filter(|c| who.is_none() || c.logged_by.or(c.owner).or(mine) == who)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            domain::outcomes(&changes)
        });
        let reason = |r: Option<domain::StageReason>| {
            r.map_or_else(
                || tr(locale, "pipeline.reason_none"),
                |r| tr(locale, r.key()),
            )
        };
        let mut rows: Vec<Vec<String>> = out
            .won
            .iter()
            .map(|(r, n)| vec![reason(*r), tr(locale, Stage::Won.key()), n.to_string()])
            .collect();
        rows.extend(
            out.lost
                .iter()
                .map(|(r, n)| vec![reason(*r), tr(locale, Stage::Lost.key()), n.to_string()]),
        );
        Table {
            head: vec![
                tr(locale, "pipeline.reason"),
                tr(locale, "reports.outcome"),
                tr(locale, "reports.leads"),
            ],
            rows,
            raw: Vec::new(),
        }
    });
    let outcome_bars = Memo::new(move |_| {
        outcomes_table.with(|t| {
            t.rows
                .iter()
                .map(|row| Bar {
                    label: format!("{} · {}", row[1], row[0]),
                    value: row[2].parse().unwrap_or(0),
                    text: row[2].clone(),
                    mark: None,
                })
                .collect::<Vec<_>>()
        })
    });

    // 6. The team leaderboard (managers, the whole team).
    let board_rows = Memo::new(move |_| {
        let period = period.get();
        let Some(people) = facts.with(|f| f.as_ref().map(|(now, _)| now.by_person(period))) else {
            return Vec::new();
        };
        let reps = team_reps(state);
        let ids: BTreeSet<Id> = reps.iter().map(|r| r.0).collect();
        let targets = data.with(|d| d.as_ref().map(|d| d.0.targets.clone()).unwrap_or_default());
        let rep_targets: BTreeMap<Id, i64> = ids
            .iter()
            .filter_map(|&rep| {
                domain::target_for(
                    &targets,
                    my_team(state),
                    Some(rep),
                    period,
                    Metric::DealAmount,
                )
                .map(|t| (rep, t.value))
            })
            .collect();
        let board = domain::leaderboard(&ids, &people, &rep_targets, REPORT_CURRENCY);
        board
            .into_iter()
            .map(|s| {
                let name = reps
                    .iter()
                    .find(|r| r.0 == s.rep)
                    .map(|r| r.1.clone())
                    .unwrap_or_default();
                (s, name)
            })
            .collect::<Vec<_>>()
    });
    let board_table = Memo::new(move |_| {
        let locale = i.locale();
        Table {
            head: [
                "reports.rep",
                "reports.amount",
                "reports.percent",
                "reports.deals",
                "reports.visits",
            ]
            .iter()
            .map(|k| tr(locale, k))
            .collect(),
            rows: board_rows.with(|rows| {
                rows.iter()
                    .enumerate()
                    .map(|(n, (s, name))| {
                        vec![
                            format!("{}. {name}", n + 1),
                            figure_text(locale, Metric::DealAmount, s.amount, REPORT_CURRENCY),
                            s.percent().map_or_else(|| "—".into(), |p| format!("{p}%")),
                            s.deals.to_string(),
                            s.visits.to_string(),
                        ]
                    })
                    .collect()
            }),
            raw: board_rows.with(|rows| {
                rows.iter()
                    .map(|(s, name)| {
                        vec![
                            name.clone(),
                            figure_csv(Metric::DealAmount, s.amount),
                            s.percent().map_or_else(String::new, |p| p.to_string()),
                            s.deals.to_string(),
                            s.visits.to_string(),
                        ]
                    })
                    .collect()
            }),
        }
    });

    // 7. Overdue follow-ups per rep (managers).
    let overdue_table = Memo::new(move |_| {
        let locale = i.locale();
        let reps = team_reps(state);
        let counts: BTreeMap<Id, usize> = state.book.with(|book| {
            let mut counts = BTreeMap::new();
            for lead in book.iter().filter(|l| !l.deleted && l.is_overdue(today)) {
                if let Some(owner) = lead.owner {
                    *counts.entry(owner).or_insert(0) += 1;
                }
            }
            counts
        });
        Table {
            head: vec![tr(locale, "reports.rep"), tr(locale, "reports.overdue")],
            rows: reps
                .iter()
                .map(|(id, name)| {
                    vec![
                        name.clone(),
                        counts.get(id).copied().unwrap_or(0).to_string(),
                    ]
                })
                .collect(),
            raw: Vec::new(),
        }
    });

    let sections = move || {
        let mut all = vec![
            Section {
                title_key: "reports.targets",
                table: targets_table.get(),
            },
            Section {
                title_key: "reports.funnel",
                table: funnel_table.get(),
            },
            Section {
                title_key: "reports.visits_by_week",
                table: weeks_table.get(),
            },
            Section {
                title_key: "reports.by_source",
                table: sources_table.get(),
            },
            Section {
                title_key: "reports.outcomes",
                table: outcomes_table.get(),
            },
        ];
        if !manager && team_targets_table.with(|t| !t.rows.is_empty()) {
            all.insert(
                1,
                Section {
                    title_key: "reports.team_targets",
                    table: team_targets_table.get(),
                },
            );
        }
        if manager && subject.get() == Subject::Team {
            all.push(Section {
                title_key: "reports.leaderboard",
                table: board_table.get(),
            });
            all.push(Section {
                title_key: "reports.overdue_by_rep",
                table: overdue_table.get(),
            });
        }
        all
    };
    let on_download = move |_| {
        let locale = i.locale();
        let p = period.get_untracked();
        let mut rows = vec![vec![tr(locale, "reports.title"), locale.period(p)]];
        if let Subject::Person(id) = subject.get_untracked() {
            rows.push(vec![person_name(state, id)]);
        }
        rows.push(Vec::new());
        for section in sections() {
            rows.extend(section.table.csv_rows(&tr(locale, section.title_key)));
        }
        let file = platform::file_name(&[i.now("reports.file"), &p.to_string()], "csv");
        if !platform::download_text(&file, "text/csv;charset=utf-8", &domain::csv(&rows)) {
            state.notify(i.now("archive.download_failed"), true, None);
        }
    };

    let week_labels = Signal::derive(move || {
        let locale = i.locale();
        weeks.with(|w| {
            w.iter()
                .map(|(d, _)| week_label(locale, *d))
                .collect::<Vec<_>>()
        })
    });
    let kind_names = Signal::derive(move || {
        let locale = i.locale();
        VisitKind::ALL
            .iter()
            .map(|k| tr(locale, k.key()))
            .collect::<Vec<_>>()
    });
    let week_values = Signal::derive(move || {
        weeks.with(|w| {
            w.iter()
                .map(|(_, counts)| counts.iter().map(|&c| c as i64).collect())
                .collect::<Vec<Vec<i64>>>()
        })
    });
    let caption = move |key: &'static str| Signal::derive(move || i.t(key).to_string());

    view! {
        <section class="page reports" data-testid="reports" data-loaded=loaded>
            <header class="page-head">
                <h1>{move || i.t("reports.title")}</h1>
                <div class="head-actions">
                    <A href="/pipeline" attr:class="button" attr:data-testid="open-pipeline">
                        <Icon name=IconName::Leads/>{move || i.t("pipeline.title")}
                    </A>
                    {manager.then(|| view! {
                        <A href="/targets" attr:class="button" attr:data-testid="open-targets">
                            <Icon name=IconName::Edit/>{move || i.t("targets.title")}
                        </A>
                    })}
                </div>
            </header>
            <PeriodPicker period/>
            {manager.then(|| view! { <SubjectPicker subject/> })}
            <Show when=failed>
                <p class="banner error" role="alert">{move || i.t("error.storage")}</p>
            </Show>
            <div class="report-actions">
                <button type="button" class="button" data-testid="reports-csv" on:click=on_download>
                    <Icon name=IconName::Download/>{move || i.t("reports.download")}
                </button>
            </div>

            <section class="report" data-testid="report-targets">
                <h2 class="section-title">{move || i.t("reports.targets")}</h2>
                <Show when=move || target_bars.with(|b| !b.is_empty())
                    fallback=move || view! { <p class="empty" data-testid="no-targets">{move || i.t("reports.no_targets")}</p> }>
                    <BarChart bars=target_bars series=1/>
                </Show>
                <DataTable caption=caption("reports.targets") table=targets_table testid="targets-table"/>
            </section>

            <Show when=move || !manager && team_targets_table.with(|t| !t.rows.is_empty())>
                <section class="report" data-testid="report-team-targets">
                    <h2 class="section-title">{move || i.t("reports.team_targets")}</h2>
                    <DataTable caption=caption("reports.team_targets") table=team_targets_table testid="team-targets-table"/>
                </section>
            </Show>

            <section class="report" data-testid="report-funnel">
                <h2 class="section-title">{move || i.t("reports.funnel")}</h2>
                <p class="muted">{move || i.t("reports.funnel_hint")}</p>
                <BarChart bars=funnel_bars series=2/>
                <DataTable caption=caption("reports.funnel") table=funnel_table hidden=true testid="funnel-table"/>
            </section>

            <section class="report" data-testid="report-weeks">
                <h2 class="section-title">{move || i.t("reports.visits_by_week")}</h2>
                <Show when=move || weeks.with(|w| w.iter().any(|(_, c)| c.iter().any(|&n| n > 0)))
                    fallback=move || view! { <p class="empty">{move || i.t("reports.no_visits")}</p> }>
                    <StackedColumns labels=week_labels series=kind_names values=week_values/>
                </Show>
                <DataTable caption=caption("reports.visits_by_week") table=weeks_table hidden=true testid="weeks-table"/>
            </section>

            <section class="report" data-testid="report-sources">
                <h2 class="section-title">{move || i.t("reports.by_source")}</h2>
                <Show when=move || source_bars.with(|b| !b.is_empty())
                    fallback=move || view! { <p class="empty">{move || i.t("reports.no_deals")}</p> }>
                    <BarChart bars=source_bars series=3/>
                </Show>
                <DataTable caption=caption("reports.by_source") table=sources_table hidden=true testid="sources-table"/>
            </section>

            <section class="report" data-testid="report-outcomes">
                <h2 class="section-title">{move || i.t("reports.outcomes")}</h2>
                <Show when=move || outcome_bars.with(|b| !b.is_empty())
                    fallback=move || view! { <p class="empty">{move || i.t("reports.no_outcomes")}</p> }>
                    <BarChart bars=outcome_bars series=4/>
                </Show>
                <DataTable caption=caption("reports.outcomes") table=outcomes_table hidden=true testid="outcomes-table"/>
            </section>

            <Show when=move || manager && subject.get() == Subject::Team>
                <section class="report" data-testid="report-leaderboard">
                    <h2 class="section-title">{move || i.t("reports.leaderboard")}</h2>
                    <ol class="leaderboard" data-testid="leaderboard">
                        <For each=move || board_rows.get() key=|(s, name)| (s.rep, s.amount, s.deals, s.visits, name.clone()) let:row>
                            {
                                let (standing, name) = row;
                                let rep = standing.rep;
                                let percent = standing.percent();
                                let amount = standing.amount;
                                view! {
                                    <li class="standing">
                                        <button type="button" class="link" data-testid="drill-down"
                                            on:click=move |_| subject.set(Subject::Person(rep))>{name.clone()}</button>
                                        <span class="standing-amount">{move || figure_text(i.locale(), Metric::DealAmount, amount, REPORT_CURRENCY)}</span>
                                        <span class="muted">{percent.map(|p| format!("{p}%"))}</span>
                                    </li>
                                }
                            }
                        </For>
                    </ol>
                    <DataTable caption=caption("reports.leaderboard") table=board_table hidden=true testid="leaderboard-table"/>
                </section>
                <section class="report" data-testid="report-overdue">
                    <h2 class="section-title">{move || i.t("reports.overdue_by_rep")}</h2>
                    <DataTable caption=caption("reports.overdue_by_rep") table=overdue_table testid="overdue-table"/>
                </section>
            </Show>

            {move || match subject.get() {
                Subject::Person(rep) if manager => view! { <WeekActivity rep/> }.into_any(),
                _ => ().into_any(),
            }}
        </section>
    }
}

fn tr(locale: Locale, key: &str) -> String {
    crate::i18n::tr(locale, key).to_string()
}

/// "Week of 23 Nov" / "11月23日起".
fn week_label(locale: Locale, monday: NaiveDate) -> String {
    use chrono::Datelike;
    match locale {
        Locale::Zh => format!("{}/{}", monday.month(), monday.day()),
        Locale::En => format!("{} {}", monday.day(), locale.short_month(monday)),
    }
}

fn person_name(state: AppState, id: Id) -> String {
    state.team.with_untracked(|team| {
        team.iter()
            .find(|m| m.id == id)
            .map(|m| m.display_name.clone())
            .unwrap_or_default()
    })
}

/// A manager's choice of the whole team or one rep.
#[component]
fn SubjectPicker(subject: RwSignal<Subject>) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let on_change = move |ev: leptos::ev::Event| {
        let raw = event_target_value(&ev);
        subject.set(Id::parse(&raw).map_or(Subject::Team, Subject::Person));
    };
    view! {
        <div class="field subject-picker">
            <label for="report-subject">{move || i.t("reports.subject")}</label>
            <select id="report-subject" data-testid="report-subject" on:change=on_change
                prop:value=move || match subject.get() {
                    Subject::Team => String::new(),
                    Subject::Person(id) => id.to_string(),
                }>
                <option value="">{move || i.t("reports.whole_team")}</option>
                {move || team_reps(state).into_iter().map(|(id, name)| view! {
                    <option value=id.to_string() selected=move || subject.get() == Subject::Person(id)>{name}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// One rep's week for a manager: visits, deals and stage changes, read from what was last
/// synced, a week at a time.
#[component]
fn WeekActivity(rep: Id) -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let week = RwSignal::new(domain::week_start(platform::today()));
    let read = reading(move || {
        state.revision.track();
        let monday = week.get();
        async move {
            let store = state.store()?;
            let end = monday + chrono::Duration::days(7);
            let offset = platform::utc_offset_minutes();
            let (from_ms, _) = domain::day_bounds_ms(monday, offset);
            let (to_ms, _) = domain::day_bounds_ms(end, offset);
            store.report_data((monday, end), (from_ms, to_ms)).await
        }
    });
    let rows = Memo::new(move |_| {
        let locale = i.locale();
        let Some(Ok(data)) = read.get() else {
            return Vec::new();
        };
        let name = |lead: Id| {
            state
                .book
                .with(|b| b.get(lead).map(|l| l.name.clone()))
                .unwrap_or_default()
        };
        let mut rows: Vec<(i64, String, String)> = Vec::new();
        for v in data
            .visits
            .iter()
            .filter(|v| v.logged_by.or(v.owner) == Some(rep))
        {
            rows.push((v.started_at, tr(locale, v.kind.key()), name(v.lead_id)));
        }
        let offset = platform::utc_offset_minutes();
        for d in data
            .deals
            .iter()
            .filter(|d| d.logged_by.or(d.owner) == Some(rep))
        {
            let at = domain::day_bounds_ms(d.closed_on, offset).0;
            let what = format!(
                "{} {}",
                tr(locale, d.status.key()),
                platform::format_money_short(&d.amount, locale)
            );
            rows.push((at, what, name(d.lead_id)));
        }
        for c in data
            .changes
            .iter()
            .filter(|c| c.logged_by.or(c.owner) == Some(rep))
        {
            let what = format!(
                "{} → {}",
                c.from.map_or_else(String::new, |s| tr(locale, s.key())),
                tr(locale, c.to.key())
            );
            rows.push((c.at, what, name(c.lead_id)));
        }
        rows.sort_by_key(|r| r.0);
        rows
    });
    view! {
        <section class="report" data-testid="report-week">
            <h2 class="section-title">{move || fill(i.t("reports.week_of"), person_name(state, rep))}</h2>
            <Stepper name="week"
                label=Signal::derive(move || fill(i.t("reports.week_starting"), i.locale().date(week.get())))
                step=Callback::new(move |n: i32| week.update(|w| *w += chrono::Duration::days(7 * i64::from(n))))/>
            <Show when=move || rows.with(|r| !r.is_empty())
                fallback=move || view! { <p class="empty">{move || i.t("reports.week_empty")}</p> }>
                <ul class="list activity" data-testid="week-activity">
                    <For each=move || rows.get() key=|r| r.clone() let:row>
                        <li class="activity-row">
                            <time>{move || platform::format_date_time(row.0, i.locale())}</time>
                            <span>{row.1.clone()}</span>
                            <span class="lead-name">{row.2.clone()}</span>
                        </li>
                    </For>
                </ul>
            </Show>
        </section>
    }
}

/// Today's progress rings: this month's and this quarter's target (the rep's own, a
/// manager's team's; the first metric that has one, deal amount first) against what the
/// device holds, and the same period last year where there is data. Read again after every
/// save, so a deal saved offline moves the ring at once.
#[component]
pub fn TargetProgress() -> impl IntoView {
    let i = use_i18n();
    let state = use_app();
    let manager = state.is_manager();
    let today = platform::today();
    let quarter = Period::containing(PeriodKind::Quarter, today);
    let month = Period::containing(PeriodKind::Month, today);
    let who = if manager { None } else { me(state) };
    // Nothing before the lead book is read (Today's lists come first at start-up), then the
    // targets alone, and a quarter of records only when this month or quarter has one: a
    // book without targets pays one small read (`cargo xtask bench`'s cold start).
    let read = reading(move || {
        state.revision.track();
        let ready = state.book_ready.get();
        async move {
            if !ready {
                return Ok(None);
            }
            let targets = state.store()?.targets().await?;
            let set = [month, quarter].into_iter().any(|period| {
                Metric::ALL.iter().any(|&metric| {
                    domain::target_for(&targets, my_team(state), who, period, metric).is_some()
                })
            });
            if !set {
                return Ok(Some(None));
            }
            let (now, before) =
                futures::future::join(load(state, quarter), load(state, quarter.last_year())).await;
            Ok::<_, StoreError>(Some(Some((now?, before?))))
        }
    });
    let rings = Memo::new(move |_| {
        let Some(Ok(Some(Some((now, before))))) = read.get() else {
            return Vec::new();
        };
        let facts = facts_of(state, &now);
        let last = facts_of(state, &before);
        [(month, "progress.month"), (quarter, "progress.quarter")]
            .into_iter()
            .filter_map(|(period, key)| {
                let target = Metric::ALL.iter().find_map(|&metric| {
                    domain::target_for(&now.targets, my_team(state), who, period, metric)
                })?;
                let actual = facts
                    .actuals(period, who)
                    .figure(target.metric, target.currency);
                let before = last.actuals(period.last_year(), who);
                let last_year =
                    (!before.is_empty()).then(|| before.figure(target.metric, target.currency));
                let attainment = domain::Attainment {
                    target: target.value,
                    actual,
                };
                Some(RingData {
                    key,
                    period,
                    metric: target.metric,
                    currency: target.currency,
                    target: target.value,
                    actual,
                    percent: attainment.percent(),
                    on_pace: attainment.on_pace(period, today),
                    last_year,
                })
            })
            .collect::<Vec<_>>()
    });
    let loaded = move || matches!(read.get(), Some(Ok(Some(_))));
    view! {
        <Show when=move || rings.with(|r| !r.is_empty())
            fallback=move || (manager && loaded()).then(|| view! {
                <p class="more"><A href="/targets" attr:class="button" attr:data-testid="set-targets">{move || i.t("progress.set_targets")}</A></p>
            })>
            <section class="progress" data-testid="target-progress" aria-labelledby="progress-title">
                <h2 class="section-title" id="progress-title">{move || i.t(if manager { "progress.team_title" } else { "progress.title" })}</h2>
                <div class="rings">
                    <For each=move || rings.get() key=|r| r.clone() let:ring>
                        <RingCard ring/>
                    </For>
                </div>
            </section>
        </Show>
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RingData {
    key: &'static str,
    period: Period,
    metric: Metric,
    currency: Currency,
    target: i64,
    actual: i64,
    percent: i64,
    on_pace: bool,
    last_year: Option<i64>,
}

#[component]
fn RingCard(ring: RingData) -> impl IntoView {
    let i = use_i18n();
    let RingData {
        key,
        period,
        metric,
        currency,
        target,
        actual,
        percent,
        on_pace,
        last_year,
    } = ring;
    let testid = if period.kind == PeriodKind::Month {
        "ring-month"
    } else {
        "ring-quarter"
    };
    view! {
        <A href="/reports" attr:class="ring-card" attr:data-testid=testid attr:data-percent=percent.to_string()>
            <Ring percent=Signal::derive(move || percent) on_pace=Signal::derive(move || on_pace)/>
            <span class="ring-facts">
                <span class="ring-title">{move || i.t(key)}" · "{move || i.t(metric.key())}</span>
                <span class="ring-figures" data-testid="ring-figures">
                    {move || figure_text(i.locale(), metric, actual, currency)}" / "{move || figure_text(i.locale(), metric, target, currency)}
                </span>
                <span class="visually-hidden">{move || fill(i.t("progress.percent"), percent)}</span>
                <span class="muted" class:behind=!on_pace>{move || i.t(if on_pace { "progress.on_pace" } else { "progress.behind" })}</span>
                {last_year.map(|v| view! {
                    <span class="muted" data-testid="ring-last-year">{move || fill(i.t("progress.last_year"), figure_text(i.locale(), metric, v, currency))}</span>
                })}
            </span>
        </A>
    }
}
