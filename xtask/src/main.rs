//! `cargo xtask`: Fieldbook's build, serve and test tasks, written in Rust so that a fresh
//! clone needs nothing but cargo to set itself up (see README.md).
//!
//! Every task installs the tools it needs first and skips those already present at the right
//! version, so the same two commands work on a new machine and on one that ran them before.

mod app_build;
mod bench;
mod cli;
mod icons;
mod lockfile;
mod postgres;
mod precompress;
mod process;
mod pwa;
mod schemathesis;
mod serve;
mod sync_server;
mod test_steps;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cli::Command;
use process::Workspace;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    let command = match cli::parse(&args, &|name| std::env::var(name).ok(), &root) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("xtask: {message}\n\n{}", cli::USAGE);
            return ExitCode::FAILURE;
        }
    };
    let workspace = Workspace::new(root);
    let result = match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Command::Run { port, data_dir } => run(&workspace, port, &data_dir),
        Command::Build => build(&workspace),
        Command::Serve { port, dist } => serve_dist(&dist, port),
        Command::Test(options) => test_steps::run_all(&workspace, options),
        Command::E2e { grep } => test_steps::e2e_only(&workspace, grep.as_deref()),
        Command::Schemathesis => schemathesis::run(&workspace),
        Command::Bench { quick } => {
            bench::standalone(&workspace, if quick { bench::QUICK } else { bench::FULL })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: xtask always lives in `<root>/xtask`.
fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// `cargo xtask build`: the tools, then a release build into `dist/`.
fn build(workspace: &Workspace) -> Result<(), String> {
    tools::ensure_build_tools(workspace)?;
    let dist = app_build::release_build(workspace)?;
    println!("xtask: built {}", dist.display());
    Ok(())
}

/// `cargo xtask run`: build the app, then start the sync server on SQLite in the data folder,
/// serving the app and its API on one port until Ctrl-C, with the demo team (seeded once).
fn run(workspace: &Workspace, port: u16, data_dir: &Path) -> Result<(), String> {
    tools::ensure_build_tools(workspace)?;
    let dist = app_build::release_build(workspace)?;
    std::fs::create_dir_all(data_dir)
        .map_err(|error| format!("cannot create data folder {}: {error}", data_dir.display()))?;
    println!("xtask: data folder {}", data_dir.display());
    println!(
        "\nFieldbook will be served at http://127.0.0.1:{port}  (Ctrl-C stops it)\n\
         (the first start prints the admin's and the demo team's one-time passwords)\n"
    );
    workspace.run(
        &process::Cmd::new("cargo")
            .args([
                "run",
                "--package",
                "fieldbook-server",
                "--profile",
                "server",
                "--",
            ])
            .args(["serve", "--demo", "--port", &port.to_string()])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--dist")
            .arg(&dist),
    )
}

fn serve_dist(dist: &Path, port: u16) -> Result<(), String> {
    let server = serve::StaticServer::start(dist, port, serve::Logging::Requests)?;
    println!(
        "\nFieldbook is being served at {}  (Ctrl-C stops it)\n",
        server.url()
    );
    server.wait();
    Ok(())
}
