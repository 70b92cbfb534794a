//! Running external programs: each command is echoed before it runs, gets the PATH that
//! holds our installed tools, and turns a non-zero exit into an error naming the command.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository and the PATH under which every task runs its tools.
pub struct Workspace {
    root: PathBuf,
    path: OsString,
}

impl Workspace {
    pub fn new(root: PathBuf) -> Workspace {
        // Tools installed by `cargo install` and the repo-local npm tools must be found even
        // when the user's shell PATH does not list them yet (a fresh machine).
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![root.join("target/tools/node_modules/.bin"), cargo_bin_dir()];
        dirs.extend(std::env::split_paths(&inherited));
        // Joining fails only for a folder name containing `:`; then the PATH stays as it was.
        let path = std::env::join_paths(dedup(dirs)).unwrap_or(inherited);
        Workspace { root, path }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Cargo's output folder: `CARGO_TARGET_DIR` when set (a relative one is taken from the
    /// repository), else `target/`.
    pub fn cargo_target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => self.root.join(dir),
            None => self.root.join("target"),
        }
    }

    /// Folder for repo-local tools (wasm-opt from npm); inside `target/`, so `cargo clean`
    /// resets it and git ignores it.
    pub fn tools_dir(&self) -> PathBuf {
        self.root.join("target/tools")
    }

    /// Runs `cmd` with inherited output; a failure names the command and its exit status.
    pub fn run(&self, cmd: &Cmd) -> Result<(), String> {
        println!("$ {cmd}");
        let status = self
            .command(cmd)
            .status()
            .map_err(|error| format!("cannot start `{}`: {error}", cmd.program_name()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{cmd}` failed ({status})"))
        }
    }

    /// Runs `cmd` quietly and returns its trimmed stdout, or `None` when the program is
    /// missing or fails: used to probe installed tool versions.
    pub fn probe(&self, cmd: &Cmd) -> Option<String> {
        let output = self
            .command(cmd)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    fn command(&self, cmd: &Cmd) -> Command {
        let mut command = Command::new(&cmd.program);
        command
            .args(&cmd.args)
            .current_dir(cmd.cwd.as_deref().unwrap_or(&self.root))
            .env("PATH", &self.path);
        for (key, value) in &cmd.envs {
            command.env(key, value);
        }
        command
    }
}

/// A command line to run, printable exactly as it will run.
#[derive(Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            envs: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.envs
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Runs in `dir` instead of the repository root.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.cwd = Some(dir.into());
        self
    }

    /// The command with this process's environment, for cleanup paths (`Drop`) that run
    /// without a `Workspace` at hand.
    pub fn to_command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        command
    }

    fn program_name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(dir) = &self.cwd {
            write!(f, "(cd {} && ", dir.display())?;
        }
        for (key, value) in &self.envs {
            write!(f, "{}={} ", key.to_string_lossy(), value.to_string_lossy())?;
        }
        write!(f, "{}", self.program.to_string_lossy())?;
        for arg in &self.args {
            write!(f, " {}", arg.to_string_lossy())?;
        }
        if self.cwd.is_some() {
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, by default `~/.cargo/bin`.
pub fn cargo_bin_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home).join("bin");
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cargo/bin")
}

fn dedup(dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = Vec::new();
    for dir in dirs {
        if !seen.contains(&dir) {
            seen.push(dir);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_prints_as_it_runs() {
        let cmd = Cmd::new("trunk")
            .args(["build", "--release"])
            .env("TRUNK_SKIP_VERSION_CHECK", "true")
            .cwd("/repo/app");
        assert_eq!(
            cmd.to_string(),
            "(cd /repo/app && TRUNK_SKIP_VERSION_CHECK=true trunk build --release)"
        );
    }
}
