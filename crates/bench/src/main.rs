//! `fieldbook-bench`: the server side of `cargo xtask bench`.
//!
//! - `seed`: signs in to a running server and pushes a generated book (N leads, M visits)
//!   through the real `/api/sync/push`, timing it; then writes the same rows into a scratch
//!   SQLite file in one transaction (the raw baseline). With `--server-pid`, the server's
//!   RSS before and after.
//! - `load`: D simulated devices over the pool users push a few edits and pull, in a loop,
//!   for T seconds: p50/p99 push and pull latency, errors, the server's RSS at the end.
//! - `rss`, `shell-size`: one figure each.
//! - `report`: the table of every figure (medians of the runs) as markdown.
//!
//! Figures are appended as JSON lines to `--out` (see `report::Sample`).

mod client;
mod gen;
mod raw;
mod report;
mod sync;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use report::Sample;

const USAGE: &str = "\
Usage: fieldbook-bench <command> [--flag value]…

  seed        --url U (--login L --password P | --logins FILE --pool-index I)
              --leads N --visits M [--seed S] --out FILE
              [--scratch FILE.sqlite] [--server-pid PID] [--key-suffix SUFFIX]
  load        --url U --logins FILE [--skip K] [--users U] --devices D --seconds T
              [--think-ms MS] [--seed S] --out FILE [--server-pid PID]
  rss         --pid PID --key KEY --out FILE
  shell-size  --dist DIR --out FILE
  report      --in FILE --md FILE [--title T] [--size S] [--commit C] [--var name=value]…
              [--note TEXT]… [--require key,key…]
  generate    --leads N --visits M [--seed S]   (prints the first records, for a look)";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("fieldbook-bench: cannot start tokio: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fieldbook-bench: error: {err:#}\n\n{USAGE}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--name value` flags; a flag may repeat.
struct Flags(Vec<(String, String)>);

impl Flags {
    fn parse(args: &[String]) -> Result<Flags> {
        let mut out = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| anyhow!("unexpected argument `{arg}`"))?;
            let value = iter
                .next()
                .ok_or_else(|| anyhow!("--{name} needs a value"))?;
            out.push((name.to_string(), value.clone()));
        }
        Ok(Flags(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn need(&self, name: &str) -> Result<&str> {
        self.get(name)
            .ok_or_else(|| anyhow!("--{name} is required"))
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: Option<T>) -> Result<T> {
        match self.get(name) {
            Some(text) => text
                .parse()
                .map_err(|_| anyhow!("--{name} must be a number, got `{text}`")),
            None => default.ok_or_else(|| anyhow!("--{name} is required")),
        }
    }
}

async fn run(args: Vec<String>) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let flags = Flags::parse(rest)?;
    match command.as_str() {
        "seed" => seed(&flags).await,
        "load" => load(&flags).await,
        "rss" => {
            let pid: u32 = flags.number("pid", None)?;
            let out = PathBuf::from(flags.need("out")?);
            let mb = rss_mb(pid)?;
            println!("server RSS: {mb:.1} MB");
            append(&out, &[sample(flags.need("key")?, mb, None)])
        }
        "shell-size" => shell_size(
            Path::new(flags.need("dist")?),
            Path::new(flags.need("out")?),
        ),
        "report" => report_command(&flags),
        "generate" => {
            let now = chrono::Utc::now().timestamp_millis();
            let book = gen::book(
                flags.number("seed", Some(1))?,
                flags.number("leads", Some(5))?,
                flags.number("visits", Some(5))?,
                now,
            )?;
            for lead in book.leads.iter().take(10) {
                println!("{}", serde_json::to_string(lead)?);
            }
            for visit in book.visits.iter().take(10) {
                println!("{}", serde_json::to_string(visit)?);
            }
            Ok(())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`"),
    }
}

fn sample(key: &str, value: f64, baseline: Option<f64>) -> Sample {
    Sample {
        key: key.to_string(),
        value,
        baseline,
    }
}

/// Appends samples to the JSON-lines file.
fn append(out: &Path, samples: &[Sample]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .with_context(|| format!("opening {}", out.display()))?;
    for sample in samples {
        writeln!(file, "{}", serde_json::to_string(sample)?)?;
    }
    Ok(())
}

/// VmRSS of a process, in MB (10^6 bytes).
fn rss_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS in /proc/{pid}/status"))?;
    Ok(kb * 1024.0 / 1e6)
}

async fn seed(flags: &Flags) -> Result<()> {
    let url = flags.need("url")?;
    let out = PathBuf::from(flags.need("out")?);
    let leads: usize = flags.number("leads", None)?;
    let visits: usize = flags.number("visits", None)?;
    let seed: u64 = flags.number("seed", Some(1))?;
    let suffix = flags.get("key-suffix").unwrap_or("");
    let pid: Option<u32> = flags
        .get("server-pid")
        .map(|_| flags.number("server-pid", None))
        .transpose()?;
    let http = client::http();
    let mut samples = Vec::new();
    if let Some(pid) = pid {
        let mb = rss_mb(pid)?;
        println!("server RSS before seeding: {mb:.1} MB");
        samples.push(sample("rss_idle", mb, None));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let book = gen::book(seed, leads, visits, now)?;
    let limits = sync::limits(&http, url).await?;
    let (login, password) = match flags.get("logins") {
        Some(file) => {
            let logins = read_logins(file)?;
            let index: usize = flags.number("pool-index", Some(0))?;
            let entry = logins
                .pool
                .into_iter()
                .nth(index)
                .ok_or_else(|| anyhow!("no pool login number {index} in {file}"))?;
            (entry.login, entry.password)
        }
        None => (
            flags.need("login")?.to_string(),
            flags.need("password")?.to_string(),
        ),
    };
    let session = client::Session::login(&http, url, &login, &password).await?;
    let mut rng = gen::Rng::new(seed ^ 0xD0D0);
    let seeded = sync::seed(&session, limits, &book, &mut rng, now).await?;
    let rate = seeded.mutations as f64 / seeded.seconds.max(1e-9);
    println!(
        "seeded {} leads + {} visits as {} in {} pushes, {:.1} s: {rate:.0} mutations/s",
        leads, visits, login, seeded.pushes, seeded.seconds
    );
    if let Some(pid) = pid {
        let mb = rss_mb(pid)?;
        println!("server RSS after seeding: {mb:.1} MB");
        samples.push(sample("rss_seeded", mb, None));
    }
    let raw_rate = match flags.get("scratch") {
        Some(file) => {
            let (rows, raw_rate) = raw::insert(Path::new(file), &book).await?;
            let _ = std::fs::remove_file(file);
            for ext in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{ext}"));
            }
            println!("raw batched insert of {rows} rows: {raw_rate:.0} rows/s");
            Some(raw_rate)
        }
        None => None,
    };
    samples.push(sample(&format!("push_throughput{suffix}"), rate, raw_rate));
    append(&out, &samples)
}

#[derive(serde::Deserialize)]
struct LoginEntry {
    login: String,
    password: String,
}

#[derive(serde::Deserialize)]
struct Logins {
    pool: Vec<LoginEntry>,
}

/// The logins file the e2e server writes (`xtask/src/sync_server.rs`).
fn read_logins(file: &str) -> Result<Logins> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    serde_json::from_str(&text).with_context(|| format!("reading the logins in {file}"))
}

async fn load(flags: &Flags) -> Result<()> {
    let url = flags.need("url")?;
    let out = PathBuf::from(flags.need("out")?);
    let logins = read_logins(flags.need("logins")?)?;
    let skip: usize = flags.number("skip", Some(0))?;
    let users: usize = flags.number("users", Some(usize::MAX))?;
    let devices: usize = flags.number("devices", None)?;
    let seconds: f64 = flags.number("seconds", None)?;
    let think = Duration::from_millis(flags.number("think-ms", Some(1000))?);
    let seed: u64 = flags.number("seed", Some(1))?;
    let http = client::http();
    let accounts: Vec<_> = logins.pool.iter().skip(skip).take(users).collect();
    if accounts.is_empty() {
        bail!("no users to load the server with");
    }
    // A session per device, as on real phones: the server bounds each session's rate.
    let mut sessions = Vec::with_capacity(devices);
    for n in 0..devices {
        let entry = accounts[n % accounts.len()];
        sessions.push(client::Session::login(&http, url, &entry.login, &entry.password).await?);
    }
    println!(
        "load: {devices} devices over {} users for {seconds} s (pause {} ms between rounds)",
        accounts.len(),
        think.as_millis()
    );
    let report = sync::load(sessions, devices, seconds, think, seed).await?;
    let requests = report.push_ms.len() + report.pull_ms.len();
    let (pull50, pull99) = (
        sync::percentile(&report.pull_ms, 50.0),
        sync::percentile(&report.pull_ms, 99.0),
    );
    let (push50, push99) = (
        sync::percentile(&report.push_ms, 50.0),
        sync::percentile(&report.push_ms, 99.0),
    );
    println!(
        "load: {requests} requests; pull p50 {pull50:.1} ms p99 {pull99:.1} ms; push p50 {push50:.1} ms p99 {push99:.1} ms; {} errors ({} busy){}",
        report.errors,
        report.busy,
        report
            .first_error
            .as_deref()
            .map(|e| format!("; first: {e}"))
            .unwrap_or_default()
    );
    let mut samples = vec![
        sample("load_pull_p50", pull50, None),
        sample("load_pull_p99", pull99, None),
        sample("load_push_p50", push50, None),
        sample("load_push_p99", push99, None),
        sample("load_requests", requests as f64, None),
        sample("load_errors", report.errors as f64, None),
    ];
    if flags.get("server-pid").is_some() {
        let mb = rss_mb(flags.number("server-pid", None)?)?;
        println!("server RSS after the load: {mb:.1} MB");
        samples.push(sample("load_rss", mb, None));
    }
    append(&out, &samples)
}

/// The shell as the browser downloads it: the brotli siblings the build wrote of the wasm,
/// the JS glue, the CSS and `index.html` (the worker script `sw.js` is not part of the shell).
fn shell_size(dist: &Path, out: &Path) -> Result<()> {
    let mut total = 0u64;
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dist).with_context(|| format!("reading {}", dist.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(base) = name.strip_suffix(".br") else {
            continue;
        };
        let shell = [".wasm", ".js", ".css", ".html"]
            .iter()
            .any(|ext| base.ends_with(ext));
        if !shell || base == "sw.js" {
            continue;
        }
        let size = std::fs::metadata(&path)?.len();
        total += size;
        parts.push(format!("{base} {size} B"));
    }
    if total == 0 {
        bail!(
            "no brotli shell files (*.wasm.br, *.js.br, …) in {}",
            dist.display()
        );
    }
    parts.sort();
    let kb = total as f64 / 1000.0;
    println!("shell, brotli: {kb:.1} KB ({})", parts.join(", "));
    append(out, &[sample("shell_br", kb, None)])
}

fn report_command(flags: &Flags) -> Result<()> {
    let input = flags.need("in")?;
    let text = std::fs::read_to_string(input).with_context(|| format!("reading {input}"))?;
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        samples.push(
            serde_json::from_str::<Sample>(line)
                .with_context(|| format!("{input}:{}: not a sample", n + 1))?,
        );
    }
    let mut vars = BTreeMap::new();
    for pair in flags.all("var") {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--var wants name=value, got `{pair}`"))?;
        vars.insert(name.to_string(), value.to_string());
    }
    let context = report::Context {
        title: flags
            .get("title")
            .unwrap_or("Fieldbook benchmark")
            .to_string(),
        size: flags.get("size").unwrap_or("?").to_string(),
        commit: flags.get("commit").unwrap_or("?").to_string(),
        notes: flags.all("note").into_iter().map(str::to_string).collect(),
        vars,
    };
    let table = report::render(&samples, &context);
    let md = PathBuf::from(flags.need("md")?);
    if let Some(parent) = md.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&md, &table).with_context(|| format!("writing {}", md.display()))?;
    println!("{table}");
    let required: Vec<&str> = flags
        .get("require")
        .map(|list| list.split(',').filter(|k| !k.is_empty()).collect())
        .unwrap_or_default();
    let missing = report::missing(&samples, &required);
    if !missing.is_empty() {
        bail!("figures not measured: {}", missing.join(", "));
    }
    Ok(())
}
