//! `cargo xtask bench [--quick]`: the performance figures of the issue "a manager's 10,000
//! leads feel like 100", as one table (figure, measured, same-run baseline, ratio, budget,
//! met?) printed and written to `bench/latest.md`.
//!
//! The figures never fail the run: machines are noisy. The run fails only when a figure
//! cannot be measured, so `cargo xtask test` runs the quick size to keep the bench working.
//!
//! One run: the release build served by the e2e sync server (`sync_server.rs`: SQLite, the
//! demo team, a pool of reps); `fieldbook-bench` (crates/bench) seeds a rep with a generated
//! book through the real push and times it against a raw batched INSERT, reads the server's
//! RSS, and later drives the load; Playwright (`tests/e2e/bench/`) measures the browser
//! figures on fresh devices of that rep; `fieldbook-bench report` makes the table from the
//! samples (medians of the runs).

use std::path::{Path, PathBuf};

use crate::process::{Cmd, Workspace};
use crate::sync_server::SyncServer;
use crate::tools::{self, Needs};

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub name: &'static str,
    pub leads: usize,
    pub visits: usize,
    /// Runs whose medians the table shows.
    pub runs: usize,
    /// The rep with this many leads (and no visits) for the search figure; 0: none.
    pub big_leads: usize,
    pub devices: usize,
    pub load_seconds: usize,
    /// The server's cargo profile (`None`: the dev build the e2e tests use).
    pub server_profile: Option<&'static str>,
}

pub const FULL: Size = Size {
    name: "full",
    leads: 10_000,
    visits: 50_000,
    runs: 3,
    big_leads: 50_000,
    devices: 500,
    load_seconds: 60,
    server_profile: Some("server"),
};

pub const QUICK: Size = Size {
    name: "quick",
    leads: 1_000,
    visits: 5_000,
    runs: 1,
    big_leads: 0,
    devices: 50,
    load_seconds: 15,
    server_profile: None,
};

/// Pool reps (see `sync_server.rs`): the seeded book, the 50,000 leads, the extra seeding
/// runs of the push figure, and the load's users from `LOAD_FROM` on.
const BOOK_REP: usize = 0;
const BIG_REP: usize = 1;
const EXTRA_SEED_REPS: [usize; 2] = [2, 3];
const LOAD_FROM: usize = 4;

// Distinct reps for each role, and one seeding per run of the full size.
const _: () = assert!(LOAD_FROM > BIG_REP && LOAD_FROM > EXTRA_SEED_REPS[1] && BIG_REP > BOOK_REP);
const _: () = assert!(EXTRA_SEED_REPS.len() + 1 >= FULL.runs);

/// What every run of that size must measure.
fn required(size: &Size) -> Vec<&'static str> {
    let mut keys = vec![
        "shell_br",
        "cold_start",
        "search",
        "first_sync",
        "push_throughput",
        "save_durable",
        "keystroke_visit",
        "keystroke_lead",
        "open_visit_form",
        "open_reports",
        "reports_year",
        "longtask_save",
        "longtask_sync",
        "scroll_frame",
        "memory",
        "rss_idle",
        "rss_seeded",
        "load_pull_p99",
        "load_push_p99",
        "load_errors",
        "load_rss",
    ];
    if size.big_leads > 0 {
        keys.push("search_50k");
    }
    keys
}

/// `cargo xtask bench`: installs the tools, builds the app, runs the bench and writes
/// `bench/latest.md`.
pub fn standalone(workspace: &Workspace, size: Size) -> Result<(), String> {
    tools::ensure(
        workspace,
        Needs {
            wasm_target: true,
            wasm_bindgen: true,
            wasm_opt: true,
            trunk: true,
            browser: true,
        },
    )?;
    crate::app_build::release_build(workspace)?;
    tools::ensure_e2e_packages(workspace)?;
    let md = workspace.root().join("bench/latest.md");
    run(workspace, size, &md)
}

/// One bench run on the `dist/` already built; writes the table to `md`.
pub fn run(workspace: &Workspace, size: Size, md: &Path) -> Result<(), String> {
    // The same profile as the server's, so the raw SQLite baseline (SQLite's C code too) is
    // built as optimized as the server it is compared with.
    let mut build = Cmd::new("cargo").args(["build", "-p", "fieldbook-bench"]);
    if let Some(profile) = size.server_profile {
        build = build.args(["--profile", profile]);
    }
    workspace.run(&build)?;
    let bench = workspace
        .cargo_target_dir()
        .join(size.server_profile.unwrap_or("debug"))
        .join("fieldbook-bench");
    let dist = workspace.root().join("dist");
    let scratch = workspace.root().join("target/bench");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let samples = scratch.join(format!("samples-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&samples);

    let server = SyncServer::start_profile(workspace, &dist, size.server_profile)?;
    println!(
        "bench: sync server at {} (pid {})",
        server.url(),
        server.pid()
    );
    let logins = server.logins_file()?;
    let url = server.url();
    let pid = server.pid().to_string();
    let out = samples.to_string_lossy().into_owned();
    let tool = |command: &str| Cmd::new(&bench).arg(command);

    workspace.run(
        &tool("shell-size")
            .arg("--dist")
            .arg(&dist)
            .args(["--out", &out]),
    )?;
    workspace.run(&tool("rss").args(["--pid", &pid, "--key", "rss_idle", "--out", &out]))?;
    let seed = |rep: usize, leads: usize, visits: usize, seed: u64, raw: bool| {
        let mut cmd = tool("seed")
            .args(["--url", &url, "--logins"])
            .arg(&logins)
            .args(["--pool-index", &rep.to_string()])
            .args([
                "--leads",
                &leads.to_string(),
                "--visits",
                &visits.to_string(),
            ])
            .args(["--seed", &seed.to_string(), "--out", &out]);
        if raw {
            cmd = cmd.arg("--scratch").arg(scratch.join("raw.sqlite3"));
        } else {
            cmd = cmd.args(["--key-suffix", "_big"]);
        }
        workspace.run(&cmd)
    };
    seed(BOOK_REP, size.leads, size.visits, 1, true)?;
    for (run, rep) in EXTRA_SEED_REPS
        .iter()
        .take(size.runs.saturating_sub(1))
        .enumerate()
    {
        seed(*rep, size.leads, size.visits, 2 + run as u64, true)?;
    }
    if size.big_leads > 0 {
        seed(BIG_REP, size.big_leads, 0, 50, false)?;
    }
    workspace.run(&tool("rss").args(["--pid", &pid, "--key", "rss_seeded", "--out", &out]))?;

    let mut playwright = Cmd::new("npx")
        .args([
            "--no-install",
            "playwright",
            "test",
            "--config",
            "bench/playwright.config.ts",
        ])
        .env("FIELDBOOK_URL", &url)
        .env("FIELDBOOK_LOGINS_FILE", &logins)
        .env("BENCH_OUT", &out)
        .env("BENCH_RUNS", size.runs.to_string())
        .env("BENCH_POOL_INDEX", BOOK_REP.to_string())
        .env("BENCH_LEADS", size.leads.to_string())
        .env("BENCH_VISITS", size.visits.to_string())
        .cwd(workspace.root().join("tests/e2e"));
    if size.big_leads > 0 {
        playwright = playwright
            .env("BENCH_BIG_POOL_INDEX", BIG_REP.to_string())
            .env("BENCH_BIG_LEADS", size.big_leads.to_string());
    }
    workspace.run(&playwright)?;

    workspace.run(
        &tool("load")
            .args(["--url", &url, "--logins"])
            .arg(&logins)
            .args(["--skip", &LOAD_FROM.to_string()])
            .args(["--devices", &size.devices.to_string()])
            .args(["--seconds", &size.load_seconds.to_string()])
            .args(["--out", &out, "--server-pid", &pid]),
    )?;
    drop(server);

    let server_build = match size.server_profile {
        Some(profile) => format!("the `{profile}` profile"),
        None => "the dev profile (unoptimized, as the e2e tests use it)".to_string(),
    };
    let mut report = tool("report")
        .args(["--in", &out, "--md"])
        .arg(md)
        .args(["--title", &format!("Fieldbook benchmark ({} size)", size.name)])
        .args(["--size", &describe(&size)])
        .args(["--commit", &commit(workspace.root())])
        .args(["--note", &format!(
            "server: fieldbook-server built with {server_build}, SQLite, on the same machine as the browser and the load generator (fieldbook-bench, same profile)"
        )])
        .args(["--note", "browser: Debian's Chromium, headless, a 390×844 phone viewport, zh-CN; every browser run is a new device (fresh profile)"])
        .args(["--note", "input → paint: `performance.now()` before dispatching the input event, then `requestAnimationFrame` → `setTimeout(0)`; so a figure includes the wait for the next frame (up to 16.7 ms)"])
        .args(["--var", &format!("leads={}", thousands(size.leads))])
        .args(["--var", &format!("rows={}", thousands(size.leads + size.visits))])
        .args(["--var", &format!("devices={}", size.devices)])
        .args(["--var", &format!("seconds={}", size.load_seconds)])
        .args(["--require", &required(&size).join(",")]);
    if size.runs > 1 {
        report = report.args([
            "--note",
            &format!(
                "each figure is the median of {} runs unless it says otherwise",
                size.runs
            ),
        ]);
    }
    workspace.run(&report)?;
    println!("bench: table written to {}", md.display());
    Ok(())
}

fn describe(size: &Size) -> String {
    let mut text = format!(
        "{} — a rep with {} leads and {} visits; {} run(s); load {} devices for {} s",
        size.name,
        thousands(size.leads),
        thousands(size.visits),
        size.runs,
        size.devices,
        size.load_seconds
    );
    if size.big_leads > 0 {
        text.push_str(&format!(
            "; search also over {} leads",
            thousands(size.big_leads)
        ));
    }
    text
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The commit measured, `-dirty` when the work tree has changes.
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let hash = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{hash}-dirty")
    } else {
        hash
    }
}

/// Where `cargo xtask test` writes its quick table: under `target/`, so a test run never
/// overwrites the committed `bench/latest.md`.
pub fn test_table(workspace: &Workspace) -> PathBuf {
    workspace.root().join("target/bench/quick.md")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_numbers() {
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(999), "999");
        assert!(required(&FULL).contains(&"search_50k"));
        assert!(!required(&QUICK).contains(&"search_50k"));
    }
}
