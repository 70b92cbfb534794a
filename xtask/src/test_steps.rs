//! `cargo xtask test`: every check CI runs, in order from quickest to slowest, stopping at
//! the first failure with the step's name. Each step is timed and a summary closes the run.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::app_build;
use crate::cli::TestOptions;
use crate::postgres;
use crate::process::{Cmd, Workspace};
use crate::sync_server::SyncServer;
use crate::tools::{self, Needs, CHROMEDRIVER, CHROMIUM, WASM_TARGET};

pub fn run_all(workspace: &Workspace, options: TestOptions) -> Result<(), String> {
    let mut steps = Steps::default();
    let result = run_steps(workspace, options, &mut steps);
    steps.print_summary();
    result
}

fn run_steps(workspace: &Workspace, options: TestOptions, steps: &mut Steps) -> Result<(), String> {
    let browser = !options.skip_browser;
    let e2e = !options.skip_e2e;
    let needs = Needs {
        wasm_target: true,
        wasm_bindgen: browser || e2e,
        wasm_opt: e2e,
        trunk: e2e,
        browser: browser || e2e,
    };
    steps.run("install tools", || tools::ensure(workspace, needs))?;
    steps.run("rustfmt", || {
        workspace.run(&Cmd::new("cargo").args(["fmt", "--all", "--check"]))
    })?;
    steps.run("clippy (host)", || {
        workspace.run(
            &Cmd::new("cargo")
                .args(["clippy", "--workspace", "--all-targets"])
                .args(["--", "-D", "warnings"]),
        )
    })?;
    steps.run("clippy (wasm32)", || {
        workspace.run(
            &Cmd::new("cargo")
                .args(["clippy", "-p", "fieldbook", "-p", "fieldbook-domain"])
                .args(["-p", "fieldbook-markdown"])
                .args(["--target", WASM_TARGET, "--all-targets"])
                .args(["--", "-D", "warnings"]),
        )
    })?;
    let host = if options.full {
        "host tests, full: 10,000 simulation seeds, 20,000 fuzz cases (SQLite and PostgreSQL)"
    } else {
        "host tests (server on SQLite and PostgreSQL)"
    };
    steps.run(host, || host_tests(workspace, options.full))?;
    steps.run(
        "schemathesis (the OpenAPI document: examples, coverage, fuzzing, stateful)",
        || crate::schemathesis::run(workspace),
    )?;
    if browser {
        steps.run("browser tests (wasm-bindgen, headless Chromium)", || {
            workspace.run(&browser_tests())
        })?;
    } else {
        steps.skip("browser tests", "--skip-browser");
    }
    if e2e {
        e2e_steps(workspace, steps, None)?;
        // The figures never fail the run (machines are noisy); a figure that cannot be
        // measured does, so the bench cannot rot. Its table goes under target/.
        steps.run(
            "bench --quick (fails only if a figure cannot be measured)",
            || {
                crate::bench::run(
                    workspace,
                    crate::bench::QUICK,
                    &crate::bench::test_table(workspace),
                )
            },
        )?;
    } else {
        steps.skip("release build, e2e tests and bench --quick", "--skip-e2e");
    }
    Ok(())
}

/// `cargo test --workspace`, with a throwaway PostgreSQL so the server's suite runs on both
/// backends. A URL already in the environment is used as it is (a developer's own cluster).
fn host_tests(workspace: &Workspace, full: bool) -> Result<(), String> {
    let mut tests = Cmd::new("cargo").args(["test", "--workspace"]);
    if full {
        // The long runs: many more simulation seeds and fuzz cases, in release (the
        // simulation's 10,000 seeds take a few minutes there, an hour in debug).
        tests = tests
            .arg("--release")
            .env("FIELDBOOK_SIM_SEEDS", "10000")
            .env("FIELDBOOK_FUZZ_CASES", "20000");
    }
    if std::env::var_os(postgres::TEST_URL_VAR).is_some() {
        return workspace.run(&tests);
    }
    let cluster = postgres::Postgres::start(workspace)?;
    println!("test PostgreSQL at {}", cluster.url());
    let result = workspace.run(&tests.env(postgres::TEST_URL_VAR, cluster.url()));
    drop(cluster);
    result
}

/// `cargo test` for the browser; the target's runner (`.cargo/config.toml`) is
/// wasm-bindgen-test-runner, which drives headless Chromium through chromedriver.
fn browser_tests() -> Cmd {
    let mut cmd = Cmd::new("cargo").args(["test", "-p", "fieldbook", "--target", WASM_TARGET]);
    // Explicit driver, so a geckodriver elsewhere on PATH is never picked instead.
    if std::env::var_os("CHROMEDRIVER").is_none() && Path::new(CHROMEDRIVER).exists() {
        cmd = cmd.env("CHROMEDRIVER", CHROMEDRIVER);
    }
    // The runner's defaults (20 s for a whole test binary, 5 s for the driver to start)
    // are too tight for a cold Chromium on a 2-core CI machine.
    for (key, value) in [
        ("WASM_BINDGEN_TEST_TIMEOUT", "180"),
        ("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "30"),
    ] {
        if std::env::var_os(key).is_none() {
            cmd = cmd.env(key, value);
        }
    }
    cmd
}

/// `cargo xtask e2e`: the release build and the Playwright tests (matching `grep`), nothing
/// else; for iterating on end-to-end tests. CI runs them within `cargo xtask test`.
pub fn e2e_only(workspace: &Workspace, grep: Option<&str>) -> Result<(), String> {
    let mut steps = Steps::default();
    let needs = Needs {
        wasm_target: true,
        wasm_bindgen: true,
        wasm_opt: true,
        trunk: true,
        browser: true,
    };
    let result = steps
        .run("install tools", || tools::ensure(workspace, needs))
        .and_then(|()| e2e_steps(workspace, &mut steps, grep));
    steps.print_summary();
    result
}

/// The release build, the npm packages and the Playwright tests.
fn e2e_steps(workspace: &Workspace, steps: &mut Steps, grep: Option<&str>) -> Result<(), String> {
    steps.run("release build (trunk)", || {
        app_build::release_build(workspace).map(|_| ())
    })?;
    steps.run("e2e packages (npm ci)", || {
        tools::ensure_e2e_packages(workspace)
    })?;
    e2e_against_server(workspace, steps, grep)
}

/// Starts the sync server on the fresh `dist/` (SQLite in a throwaway folder, the demo team
/// and a pool of reps), then runs Playwright (the tests matching `grep`, else all) and, for
/// a whole run, Lighthouse against it; the server stops when they end, pass or fail.
fn e2e_against_server(
    workspace: &Workspace,
    steps: &mut Steps,
    grep: Option<&str>,
) -> Result<(), String> {
    let dist = workspace.root().join("dist");
    // The update test's "build B": this build with a changed stylesheet and its own worker.
    let dist_b = workspace.root().join("target/e2e-dist-b");
    let mut started = None;
    steps.run("sync server for the e2e tests", || {
        let b = crate::pwa::variant(workspace.root(), &dist, &dist_b)?;
        println!(
            "build B for the update test in {} (worker {})",
            dist_b.display(),
            b.version
        );
        let server = SyncServer::start(workspace, &dist)?;
        println!("sync server with {} at {}", dist.display(), server.url());
        started = Some(server);
        Ok(())
    })?;
    let server = started.ok_or_else(|| "the sync server did not start".to_string())?;
    let logins = server.logins_file()?;
    let e2e_dir = workspace.root().join("tests/e2e");
    steps.run("e2e tests (Playwright)", || {
        workspace.run(
            &Cmd::new("npx")
                .args(["--no-install", "playwright", "test"])
                .args(grep.map(|g| ["--grep", g]).into_iter().flatten())
                .env("FIELDBOOK_URL", server.url())
                .env("FIELDBOOK_LOGINS_FILE", &logins)
                .env("FIELDBOOK_DIST", &dist)
                .env("FIELDBOOK_DIST_B", &dist_b)
                .env("FIELDBOOK_SERVER_BIN", server.binary())
                .cwd(&e2e_dir),
        )
    })?;
    if grep.is_some() {
        steps.skip("Lighthouse", "--grep");
        return Ok(());
    }
    steps.run(
        "Lighthouse (accessibility 100, best practices ≥ 95)",
        || {
            let chrome = std::env::var_os("CHROME_PATH").unwrap_or_else(|| CHROMIUM.into());
            workspace.run(
                &Cmd::new("node")
                    .arg("lighthouse.mjs")
                    .env("FIELDBOOK_URL", server.url())
                    .env("FIELDBOOK_LOGINS_FILE", &logins)
                    .env("CHROME_PATH", chrome)
                    .cwd(&e2e_dir),
            )
        },
    )
}

#[derive(Default)]
struct Steps {
    started: Option<Instant>,
    done: Vec<(String, Outcome)>,
}

enum Outcome {
    Passed(Duration),
    Failed(Duration),
    Skipped(&'static str),
}

impl Steps {
    fn run(&mut self, name: &str, step: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
        self.started.get_or_insert_with(Instant::now);
        println!("\n==> {name}");
        let start = Instant::now();
        let result = step();
        let elapsed = start.elapsed();
        match result {
            Ok(()) => {
                println!("<== {name}: ok in {}", format_duration(elapsed));
                self.done.push((name.to_string(), Outcome::Passed(elapsed)));
                Ok(())
            }
            Err(message) => {
                self.done.push((name.to_string(), Outcome::Failed(elapsed)));
                Err(format!("step `{name}` failed: {message}"))
            }
        }
    }

    fn skip(&mut self, name: &str, reason: &'static str) {
        println!("\n==> {name}: skipped ({reason})");
        self.done.push((name.to_string(), Outcome::Skipped(reason)));
    }

    fn print_summary(&self) {
        let width = self
            .done
            .iter()
            .map(|(name, _)| name.chars().count())
            .max()
            .unwrap_or(0);
        println!("\nxtask test: summary");
        for (name, outcome) in &self.done {
            let line = match outcome {
                Outcome::Passed(time) => format!("{:>9}  ok", format_duration(*time)),
                Outcome::Failed(time) => format!("{:>9}  FAILED", format_duration(*time)),
                Outcome::Skipped(reason) => format!("{:>9}  skipped ({reason})", "-"),
            };
            println!("  {name:<width$}  {line}");
        }
        let total = self
            .started
            .map(|start| start.elapsed())
            .unwrap_or_default();
        println!("  {:<width$}  {:>9}", "total", format_duration(total));
    }
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let minutes = (seconds / 60.0).floor();
        format!("{minutes:.0}m{:04.1}s", seconds - minutes * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_or_minutes() {
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(format_duration(Duration::from_millis(62_500)), "1m02.5s");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m00.0s");
    }

    #[test]
    fn a_failing_step_is_named_and_stops_the_run() {
        let mut steps = Steps::default();
        let result = steps
            .run("first", || Ok(()))
            .and_then(|()| steps.run("second", || Err("boom".into())));
        assert_eq!(result, Err("step `second` failed: boom".into()));
        assert!(
            matches!(steps.done.as_slice(), [(_, Outcome::Passed(_)), (name, Outcome::Failed(_))] if name == "second")
        );
    }
}
