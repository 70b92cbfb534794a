//! Schemathesis against the server's own OpenAPI document, inside `cargo xtask test`.
//!
//! Schemathesis (PyPI, pinned) goes into a virtual environment under `target/`, installed
//! once. It runs against a sync server of its own (fresh SQLite, the e2e accounts), signed
//! in as the e2e manager through the document's cookie security scheme, through all four
//! phases: the documented examples, the coverage of every schema's boundaries, fuzzing,
//! and the stateful phase that follows the document's links (push → pull → next page →
//! conflict; team → password reset; upload → state and download). Every check is on: no
//! 5xx, answers and status codes as documented, schema-valid requests accepted, invalid
//! ones refused, and no operation that ignores the missing session. Signing out and the
//! password change are left out (they end the session the run uses); the API tests cover
//! both.

use std::path::Path;

use crate::process::{Cmd, Workspace};
use crate::sync_server::SyncServer;

/// The schemathesis release the checks are pinned to.
const VERSION: &str = "4.32.5";

/// The e2e manager (`sync_server`), whose team has one rep a reset may reach.
const LOGIN: &str = "e2e-lead";

pub fn run(workspace: &Workspace) -> Result<(), String> {
    let target = workspace.root().join("target");
    let venv = target.join("schemathesis-venv");
    let st = venv.join("bin").join("st");
    if !installed(&st) {
        workspace.run(&Cmd::new("python3").args(["-m", "venv"]).arg(&venv))?;
        workspace.run(
            &Cmd::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("schemathesis=={VERSION}")),
        )?;
    }
    let server = SyncServer::start(workspace, &workspace.root().join("dist"))?;
    let token = server.session_token(LOGIN)?;
    // The token goes into the config file (under target/, removed after the run), not the
    // command line or the environment, which the step's log line shows.
    let dir = target.join("schemathesis");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let config = dir.join("schemathesis.toml");
    std::fs::write(
        &config,
        format!("[auth.openapi.session]\napi_key = \"{token}\"\n"),
    )
    .map_err(|e| format!("cannot write the schemathesis config: {e}"))?;
    let result = workspace.run(
        &Cmd::new(&st)
            .arg("run")
            .arg(format!("{}/api/openapi.json", server.url()))
            .args(["--checks", "all"])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-examples", "100"])
            .args(["--exclude-path", "/api/logout"])
            .args(["--exclude-path", "/api/password"])
            .args(["--seed", "20261201"])
            .args(["--workers", "1"])
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .cwd(dir),
    );
    let _ = std::fs::remove_file(&config);
    result
}

/// Whether the pinned release is in the virtual environment.
fn installed(st: &Path) -> bool {
    std::process::Command::new(st)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(VERSION))
}
