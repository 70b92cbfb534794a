//! A throwaway PostgreSQL cluster on loopback, so the server's test suite runs on both of its
//! storage backends in CI and on a developer's machine alike.
//!
//! The cluster lives in a temporary folder with `fsync` off (its data is worth nothing after
//! the run) and is stopped and removed when the handle drops, pass or fail. initdb refuses to
//! run as root, so as root the cluster belongs to Debian's `postgres` user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::process::{Cmd, Workspace};
use crate::tools;

/// The environment variable the server's tests read to add the PostgreSQL backend.
pub const TEST_URL_VAR: &str = "FIELDBOOK_TEST_POSTGRES_URL";

/// A running throwaway cluster; dropping it stops the server and deletes its files.
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl Postgres {
    /// Installs PostgreSQL from apt when it is missing, then starts a fresh cluster.
    pub fn start(workspace: &Workspace) -> Result<Postgres, String> {
        let bin = match find_bin_dir() {
            Some(bin) => bin,
            None => {
                println!("tools: installing postgresql with apt (no initdb found)");
                tools::apt_install(workspace, &["postgresql"])?;
                find_bin_dir().ok_or("apt-get finished but initdb is still missing")?
            }
        };
        let as_postgres_user = workspace.probe(&Cmd::new("id").arg("-u")).as_deref() == Some("0");
        let dir = std::env::temp_dir().join(format!("fieldbook-pg-{}", std::process::id()));
        // A folder left by a crashed run with the same pid would make initdb refuse.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let port = free_port()?;
        let postgres = Postgres {
            dir,
            bin,
            port,
            as_postgres_user,
        };
        if as_postgres_user {
            workspace.run(&Cmd::new("chown").arg("postgres").arg(&postgres.dir))?;
        }
        let data = postgres.dir.join("data");
        workspace.run(&postgres.tool("initdb").arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "fieldbook",
            "--no-sync",
        ]))?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            postgres.dir.display()
        );
        workspace.run(
            &postgres
                .tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(postgres.dir.join("log"))
                .args(["-w", "start"]),
        )?;
        Ok(postgres)
    }

    /// The URL the tests connect with.
    pub fn url(&self) -> String {
        format!("postgres://fieldbook@127.0.0.1:{}/postgres", self.port)
    }

    /// A PostgreSQL program, run as the cluster's owner from a folder that user can read.
    fn tool(&self, name: &str) -> Cmd {
        let program = self.bin.join(name);
        let cmd = if self.as_postgres_user {
            Cmd::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(program)
        } else {
            Cmd::new(program)
        };
        cmd.cwd(std::env::temp_dir())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let stop = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let status = stop.to_command().status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!(
                "xtask: could not stop the test PostgreSQL in {}",
                self.dir.display()
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin` that has initdb (Debian's layout).
fn find_bin_dir() -> Option<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// A port nobody listens on right now (the OS picks it; we release it for PostgreSQL).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
