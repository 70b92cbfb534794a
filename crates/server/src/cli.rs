//! The command line: `serve` (the default), `team add`, `user add`, `user reset-password`,
//! `purge`.
//!
//! Parsing is clap's; every command then calls the same library functions the tests call
//! ([`crate::accounts`], [`crate::http::app`]), so this module holds only wiring and output.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::accounts::{self, NewUser};
use crate::clock::{Clock, SystemClock};
use crate::config::{
    default_dist, Database, HttpSettings, DEFAULT_MAX_ATTACHMENT_BYTES, DEFAULT_MAX_PUSH_MUTATIONS,
    DEFAULT_PURGE_AFTER_DAYS, PURGE_EVERY,
};
use crate::http::{app, AppState};
use crate::storage::sync::PurgeReport;
use crate::storage::{Role, Storage, StorageError};

/// Fieldbook's sync server.
#[derive(Debug, Parser)]
#[command(
    name = "fieldbook-server",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s options, also accepted without the word `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the built app (the default).
    Serve(ServeArgs),
    /// Manage teams.
    Team {
        /// The team command.
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Manage users.
    User {
        /// The user command.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Forget tombstones, resolved conflicts, removals and kept refusals older than the
    /// horizon, once (`serve` does it at start and every hour).
    Purge {
        /// The horizon.
        #[command(flatten)]
        purge: PurgeArgs,
        /// Where the data is.
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// The purge horizon; shared by `serve` and `purge`.
#[derive(Debug, Clone, Args)]
pub struct PurgeArgs {
    /// Forget tombstones (deleted records), resolved conflicts, removals and kept refusals
    /// after this many days; a device offline longer pulls everything again.
    #[arg(
        long,
        env = "FIELDBOOK_PURGE_AFTER_DAYS",
        default_value_t = DEFAULT_PURGE_AFTER_DAYS,
        value_parser = clap::value_parser!(u32).range(1..=36_500)
    )]
    pub purge_after_days: u32,
}

/// `team …`.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team.
    Add {
        /// The team's name (unique).
        name: String,
        /// Where the data is.
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// `user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print a one-time password.
    Add {
        /// The sign-in name (unique, case-insensitive).
        login: String,
        /// The name colleagues see.
        #[arg(long)]
        name: String,
        /// rep, manager or admin.
        #[arg(long)]
        role: Role,
        /// The team's name.
        #[arg(long)]
        team: Option<String>,
        /// Where the data is.
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print a new one-time password for a user; their sessions end.
    ResetPassword {
        /// The sign-in name.
        login: String,
        /// Where the data is.
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Where the data is; shared by every command.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Folder for the SQLite database (used when no --database-url is given) and, with
    /// either database, for the attachments' bytes.
    #[arg(long, env = "FIELDBOOK_DATA_DIR", default_value = ".fieldbook-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL instead of SQLite: postgres://user:password@host:port/database.
    #[arg(long, env = "FIELDBOOK_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// `serve`'s options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// TCP port.
    #[arg(long, env = "FIELDBOOK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; 127.0.0.1 keeps the server behind a local reverse proxy.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Where the data is.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The built app; defaults to the repository's dist/ or ./dist.
    #[arg(long)]
    pub dist: Option<PathBuf>,
    /// Always mark the session cookie Secure (behind https).
    #[arg(long)]
    pub secure_cookies: bool,
    /// The most mutations one push may carry; more is refused (413) with the limits, and
    /// /api/health tells devices.
    #[arg(
        long,
        env = "FIELDBOOK_MAX_PUSH_MUTATIONS",
        default_value_t = DEFAULT_MAX_PUSH_MUTATIONS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_push_mutations: u32,
    /// The largest attachment (image or PDF) the server takes, in bytes; an upload declaring
    /// more is refused (413) with the limit, and /api/health tells devices. At most 50 MiB.
    #[arg(
        long,
        env = "FIELDBOOK_MAX_ATTACHMENT_BYTES",
        default_value_t = DEFAULT_MAX_ATTACHMENT_BYTES,
        value_parser = clap::value_parser!(u64)
            .range(1..=domain::training::limits::MAX_ATTACHMENT_BYTES)
    )]
    pub max_attachment_bytes: u64,
    /// The purge horizon.
    #[command(flatten)]
    pub purge: PurgeArgs,
    /// Seed a demo team (a manager, two reps, sample customers in Chinese and English, a
    /// training library) unless it exists, and print its logins.
    #[arg(long)]
    pub demo: bool,
}

/// glibc's malloc settings the server runs with (see [`tune_malloc`]).
pub const MALLOC_TUNABLES: &str = "glibc.malloc.mmap_threshold=1048576:glibc.malloc.arena_max=2";

/// Restarts the process (same pid, same arguments) with [`MALLOC_TUNABLES`] in
/// `GLIBC_TUNABLES`, unless malloc settings are already there (ours after the restart, or
/// the operator's). Returns only when nothing is to be done or the restart failed, which
/// leaves the server running with glibc's defaults.
///
/// glibc reads its tunables only at start-up, and setting them from inside (`mallopt`)
/// takes unsafe code, which this workspace forbids. They matter for memory at rest:
/// - `mmap_threshold` fixed at 1 MiB: by default glibc raises it to the size of the last
///   large block freed, so after the first password hash (argon2id takes 19 MiB) every
///   later one comes from a thread's arena and stays resident when freed: a few logins
///   left the idle server at 140–300 MB. With it fixed, such blocks are mapped and
///   unmapped, and the idle server stays under 10 MB.
/// - `arena_max=2`: glibc gives up to 8 arenas per core, one per thread that allocates
///   (tokio's workers, its blocking pool, one thread per SQLite connection), each keeping
///   its own free memory; two suffice for a server whose writes take turns anyway.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;

        let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if current.contains("glibc.malloc.") {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let tunables = if current.is_empty() {
            MALLOC_TUNABLES.to_string()
        } else {
            format!("{current}:{MALLOC_TUNABLES}")
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // `exec` returns only on failure.
        let error = command.args(args).env("GLIBC_TUNABLES", tunables).exec();
        eprintln!("warning: running with glibc's malloc defaults ({error})");
    }
}

/// The binary's entry point: parses, runs, and turns every error into a message and exit
/// code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr, so stdout carries only what a command prints for the operator
    // (one-time passwords), which scripts may capture.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs one parsed command. Errors come back as the sentence to print.
pub async fn run(cli: Cli) -> Result<(), String> {
    let clock = SystemClock;
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve(args).await,
        Command::Team {
            command: TeamCommand::Add { name, database },
        } => {
            let storage = open(&database).await?;
            let team = accounts::add_team(storage.as_ref(), &name, clock.now())
                .await
                .map_err(|error| error.to_string())?;
            println!("Created team {:?} ({})", team.name, team.id);
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    login,
                    name,
                    role,
                    team,
                    database,
                },
        } => {
            let storage = open(&database).await?;
            let new = NewUser {
                login,
                display_name: name,
                role,
                team,
            };
            let (user, password) = accounts::add_user(storage.as_ref(), new, clock.now())
                .await
                .map_err(|error| error.to_string())?;
            println!("Created {} {:?} ({})", user.role, user.login, user.id);
            println!("One-time password for {}: {password}", user.login);
            println!("(It opens only the step where they choose their own password.)");
            Ok(())
        }
        Command::User {
            command: UserCommand::ResetPassword { login, database },
        } => {
            let storage = open(&database).await?;
            let password = accounts::reset_password(storage.as_ref(), &login)
                .await
                .map_err(|error| error.to_string())?;
            println!("New one-time password for {}: {password}", login.trim());
            Ok(())
        }
        Command::Purge { purge, database } => {
            let storage = open(&database).await?;
            let report = run_purge(storage.as_ref(), purge.purge_after_days)
                .await
                .map_err(|error| format!("purge failed: {error}"))?;
            println!(
                "Purged {} deleted records, {} resolved conflicts, {} removals and {} kept \
                 refusals older than {} days",
                report.records,
                report.conflicts,
                report.removals,
                report.rejections,
                purge.purge_after_days
            );
            Ok(())
        }
    }
}

/// One purge on the system clock, logged.
async fn run_purge(storage: &dyn Storage, keep_days: u32) -> Result<PurgeReport, StorageError> {
    let now_ms = SystemClock.now().timestamp_millis();
    let report = storage.purge(now_ms, keep_days).await?;
    tracing::info!(
        keep_days,
        through = ?report.through,
        records = report.records,
        conflicts = report.conflicts,
        removals = report.removals,
        rejections = report.rejections,
        purged_through = report.purged_through,
        "purged"
    );
    Ok(report)
}

/// Purges now and then every [`PURGE_EVERY`] for as long as the server runs. A failed purge
/// is logged and tried again at the next tick; nothing depends on it having run.
fn spawn_purges(storage: Arc<dyn Storage>, keep_days: u32) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PURGE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The first tick completes at once: the purge at start.
            ticks.tick().await;
            if let Err(error) = run_purge(storage.as_ref(), keep_days).await {
                tracing::warn!(%error, "purge failed; trying again in an hour");
            }
        }
    });
}

async fn open(args: &DatabaseArgs) -> Result<Arc<dyn Storage>, String> {
    let database = Database::choose(&args.data_dir, args.database_url.as_deref())
        .map_err(|error| error.to_string())?;
    let storage = database.open().await.map_err(|error| {
        format!(
            "cannot open the database ({}): {error}",
            database.describe()
        )
    })?;
    tracing::info!(database = %database.describe(), "database ready");
    Ok(storage)
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let storage = open(&args.database).await?;
    if let Some(password) = accounts::ensure_first_admin(storage.as_ref(), SystemClock.now())
        .await
        .map_err(|error| error.to_string())?
    {
        println!(
            "First start: created user `{}` with one-time password {password}  (shown only now)",
            accounts::FIRST_ADMIN_LOGIN
        );
    }

    if args.demo {
        let logins = crate::demo::seed(storage.as_ref(), SystemClock.now())
            .await
            .map_err(|error| format!("cannot seed the demo team: {error}"))?;
        if logins.is_empty() {
            println!(
                "Demo team `{}` already exists; `user reset-password LOGIN` gives a new password",
                crate::demo::TEAM
            );
        }
        for login in logins {
            // One line per login, in a fixed shape that scripts (the e2e tests) read.
            println!(
                "Demo login: {} password: {} role: {} name: {}",
                login.login, login.password, login.role, login.display_name
            );
        }
    }

    let mut settings = HttpSettings::new(
        args.dist.unwrap_or_else(default_dist),
        args.database.data_dir.clone(),
    );
    settings.secure_cookies = args.secure_cookies;
    settings.max_push_mutations = args.max_push_mutations;
    settings.max_attachment_bytes = args.max_attachment_bytes;
    if !settings.dist.join("index.html").is_file() {
        tracing::warn!(dist = %settings.dist.display(), "no index.html: build the app first (cargo xtask build)");
    }
    spawn_purges(storage.clone(), args.purge.purge_after_days);
    let router = app(AppState::new(storage, settings));

    let address = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error}"))?;
    tracing::info!("listening on http://{address}");
    // The peer's address reaches the sign-in throttle (per source address).
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|error| format!("server failed: {error}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send), so in-flight
/// requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["fieldbook-server"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(!cli.serve.secure_cookies);
        assert_eq!(cli.serve.max_push_mutations, DEFAULT_MAX_PUSH_MUTATIONS);
        let cli = Cli::try_parse_from(["fieldbook-server", "--port", "9000"]).unwrap();
        assert_eq!(cli.serve.port, 9000);
        let cli = Cli::try_parse_from(["fieldbook-server", "serve", "--max-push-mutations", "50"])
            .unwrap();
        let Some(Command::Serve(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.max_push_mutations, 50);
        assert!(Cli::try_parse_from(["fieldbook-server", "--max-push-mutations", "0"]).is_err());
    }

    #[test]
    fn the_attachment_limit_defaults_to_10_mib_and_stays_under_the_domains() {
        let cli = Cli::try_parse_from(["fieldbook-server"]).unwrap();
        assert_eq!(cli.serve.max_attachment_bytes, 10 * 1024 * 1024);
        let cli =
            Cli::try_parse_from(["fieldbook-server", "--max-attachment-bytes", "1000"]).unwrap();
        assert_eq!(cli.serve.max_attachment_bytes, 1000);
        let over = (domain::training::limits::MAX_ATTACHMENT_BYTES + 1).to_string();
        assert!(
            Cli::try_parse_from(["fieldbook-server", "--max-attachment-bytes", &over]).is_err()
        );
        assert!(Cli::try_parse_from(["fieldbook-server", "--max-attachment-bytes", "0"]).is_err());
    }

    #[test]
    fn user_add_takes_name_role_and_team() {
        let cli = Cli::try_parse_from([
            "fieldbook-server",
            "user",
            "add",
            "wang",
            "--name",
            "王小明",
            "--role",
            "rep",
            "--team",
            "华东",
        ])
        .unwrap();
        let Some(Command::User {
            command: UserCommand::Add {
                login, role, team, ..
            },
        }) = cli.command
        else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(login, "wang");
        assert_eq!(role, Role::Rep);
        assert_eq!(team.as_deref(), Some("华东"));
        assert!(Cli::try_parse_from([
            "fieldbook-server",
            "user",
            "add",
            "x",
            "--name",
            "X",
            "--role",
            "boss"
        ])
        .is_err());
    }

    #[test]
    fn purge_runs_alone_and_serve_takes_the_horizon() {
        let cli = Cli::try_parse_from(["fieldbook-server", "purge"]).unwrap();
        let Some(Command::Purge { purge, .. }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(purge.purge_after_days, DEFAULT_PURGE_AFTER_DAYS);
        let cli =
            Cli::try_parse_from(["fieldbook-server", "purge", "--purge-after-days", "30"]).unwrap();
        let Some(Command::Purge { purge, .. }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(purge.purge_after_days, 30);
        let cli = Cli::try_parse_from(["fieldbook-server", "--purge-after-days", "7"]).unwrap();
        assert_eq!(cli.serve.purge.purge_after_days, 7);
        let cli = Cli::try_parse_from(["fieldbook-server"]).unwrap();
        assert_eq!(cli.serve.purge.purge_after_days, DEFAULT_PURGE_AFTER_DAYS);
        assert!(
            Cli::try_parse_from(["fieldbook-server", "purge", "--purge-after-days", "0"]).is_err()
        );
    }

    #[test]
    fn reset_password_and_team_add_parse() {
        assert!(
            Cli::try_parse_from(["fieldbook-server", "user", "reset-password", "wang"]).is_ok()
        );
        assert!(Cli::try_parse_from(["fieldbook-server", "team", "add", "华东一组"]).is_ok());
        assert!(Cli::try_parse_from(["fieldbook-server", "serve", "--secure-cookies"]).is_ok());
    }
}
