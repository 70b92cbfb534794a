//! Installs the tools the tasks need, each only when it is missing or at the wrong version.
//!
//! Everything comes from the registries this project can reach: rustup targets, crates.io
//! (`cargo install`), npm and Debian's apt. Nothing downloads release binaries, and trunk
//! runs with `offline = true` so it never fetches its own copies either (see TOOLCHAIN.md in
//! the shared notes for why each version is what it is).

use std::path::{Path, PathBuf};

use crate::lockfile;
use crate::process::{Cmd, Workspace};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const TRUNK_VERSION: &str = "0.22.1";
/// npm's binaryen; Debian's binaryen 108 writes modules that fail in the browser.
pub const BINARYEN_VERSION: &str = "132.0.0";
pub const WASM_OPT_VERSION: &str = "132";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Which tools a task needs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Needs {
    pub wasm_target: bool,
    pub wasm_bindgen: bool,
    pub wasm_opt: bool,
    pub trunk: bool,
    pub browser: bool,
}

impl Needs {
    /// What `trunk build --release` needs.
    pub fn build() -> Needs {
        Needs {
            wasm_target: true,
            wasm_bindgen: true,
            wasm_opt: true,
            trunk: true,
            browser: false,
        }
    }
}

pub fn ensure_build_tools(workspace: &Workspace) -> Result<(), String> {
    ensure(workspace, Needs::build())
}

/// Checks each needed tool and installs the missing ones, quickest first.
pub fn ensure(workspace: &Workspace, needs: Needs) -> Result<(), String> {
    if needs.wasm_target {
        ensure_wasm_target(workspace)?;
    }
    if needs.browser {
        ensure_browser(workspace)?;
    }
    if needs.wasm_opt {
        ensure_wasm_opt(workspace)?;
    }
    if needs.wasm_bindgen {
        ensure_wasm_bindgen(workspace)?;
    }
    if needs.trunk {
        ensure_trunk(workspace)?;
    }
    Ok(())
}

fn ensure_wasm_target(workspace: &Workspace) -> Result<(), String> {
    let installed = workspace
        .probe(&Cmd::new("rustup").args(["target", "list", "--installed"]))
        .ok_or("cannot run `rustup target list --installed`: is rustup installed?")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("tools: rust target {WASM_TARGET} present");
        return Ok(());
    }
    println!("tools: adding rust target {WASM_TARGET}");
    workspace.run(&Cmd::new("rustup").args(["target", "add", WASM_TARGET]))
}

fn ensure_trunk(workspace: &Workspace) -> Result<(), String> {
    let found = workspace.probe(&Cmd::new("trunk").arg("--version"));
    if found_version(found.as_deref(), "trunk", TRUNK_VERSION) {
        return Ok(());
    }
    println!("tools: installing trunk {TRUNK_VERSION} from crates.io (about 10 minutes)");
    // trunk 0.22.1 declares a newer rustc than ours but builds with it; its fat-LTO release
    // profile would more than double the build time for no difference in use.
    workspace.run(
        &Cmd::new("cargo")
            .args(["install", "--locked", "--force", "--ignore-rust-version"])
            .args(["trunk", "--version", TRUNK_VERSION])
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    )?;
    verify(
        workspace,
        &Cmd::new("trunk").arg("--version"),
        TRUNK_VERSION,
    )
}

/// The wasm-bindgen CLI (and its test runner) must match the library in Cargo.lock exactly.
fn ensure_wasm_bindgen(workspace: &Workspace) -> Result<(), String> {
    let version = locked_wasm_bindgen(workspace.root())?;
    let bindgen = workspace.probe(&Cmd::new("wasm-bindgen").arg("--version"));
    let runner = workspace.probe(&Cmd::new("wasm-bindgen-test-runner").arg("--version"));
    if found_version(bindgen.as_deref(), "wasm-bindgen", &version)
        && found_version(runner.as_deref(), "wasm-bindgen-test-runner", &version)
    {
        return Ok(());
    }
    println!("tools: installing wasm-bindgen-cli {version} from crates.io (about 3 minutes)");
    // Not `--locked`: the CLI's own lock file names a webpki-roots version the registry no
    // longer serves.
    workspace.run(
        &Cmd::new("cargo")
            .args(["install", "--force", "wasm-bindgen-cli", "--version"])
            .arg(&version),
    )?;
    verify(
        workspace,
        &Cmd::new("wasm-bindgen").arg("--version"),
        &version,
    )
}

pub fn locked_wasm_bindgen(root: &Path) -> Result<String, String> {
    let path = root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    lockfile::single_version(&lock, "wasm-bindgen")
}

/// wasm-opt from npm's binaryen, in `target/tools` so it never mixes with a system copy.
fn ensure_wasm_opt(workspace: &Workspace) -> Result<(), String> {
    let tools = workspace.tools_dir();
    let wasm_opt = wasm_opt_path(workspace);
    let found = workspace.probe(&Cmd::new(&wasm_opt).arg("--version"));
    if found_version(found.as_deref(), "wasm-opt", WASM_OPT_VERSION) {
        return Ok(());
    }
    require_npm(workspace)?;
    println!(
        "tools: installing wasm-opt (npm binaryen@{BINARYEN_VERSION}) into {}",
        tools.display()
    );
    std::fs::create_dir_all(&tools)
        .map_err(|error| format!("cannot create {}: {error}", tools.display()))?;
    // A package.json of its own keeps npm from walking up to another project's.
    let manifest = format!(
        "{{\n  \"private\": true,\n  \"description\": \"Tools for cargo xtask; written by xtask\",\n  \"dependencies\": {{ \"binaryen\": \"{BINARYEN_VERSION}\" }}\n}}\n"
    );
    let manifest_path = tools.join("package.json");
    std::fs::write(&manifest_path, manifest)
        .map_err(|error| format!("cannot write {}: {error}", manifest_path.display()))?;
    workspace.run(
        &Cmd::new("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .cwd(&tools),
    )?;
    verify(
        workspace,
        &Cmd::new(&wasm_opt).arg("--version"),
        WASM_OPT_VERSION,
    )
}

pub fn wasm_opt_path(workspace: &Workspace) -> PathBuf {
    workspace.tools_dir().join("node_modules/.bin/wasm-opt")
}

/// Noto Sans CJK (Debian's fonts-noto-cjk): the screenshot tests render Chinese with it, so
/// their references match on every machine that runs them.
const CJK_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// Debian's Chromium and its matching chromedriver, for browser unit tests and Playwright,
/// and the CJK font the screenshot tests draw Chinese with.
fn ensure_browser(workspace: &Workspace) -> Result<(), String> {
    if !Path::new(CJK_FONT).exists() {
        println!("tools: installing fonts-noto-cjk with apt ({CJK_FONT} missing)");
        apt_install(workspace, &["fonts-noto-cjk"])?;
        if !Path::new(CJK_FONT).exists() {
            return Err(format!("apt-get finished but {CJK_FONT} is still missing"));
        }
    }
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        let version = workspace
            .probe(&Cmd::new(CHROMEDRIVER).arg("--version"))
            .unwrap_or_else(|| "version unknown".into());
        println!("tools: chromium and chromedriver present ({version})");
        return Ok(());
    }
    println!(
        "tools: installing chromium and chromium-driver with apt ({} missing)",
        missing.join(", ")
    );
    apt_install(workspace, &["chromium", "chromium-driver"])?;
    match [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .find(|path| !Path::new(path).exists())
    {
        Some(path) => Err(format!("apt-get finished but {path} is still missing")),
        None => Ok(()),
    }
}

/// Installs Debian packages with apt-get, as root or through passwordless sudo; otherwise
/// fails with the exact command for the user to run.
pub fn apt_install(workspace: &Workspace, packages: &[&str]) -> Result<(), String> {
    let sudo = match workspace.probe(&Cmd::new("id").arg("-u")).as_deref() {
        Some("0") => false,
        _ if workspace
            .probe(&Cmd::new("sudo").args(["-n", "true"]))
            .is_some() =>
        {
            true
        }
        _ => {
            return Err(format!(
                "not running as root; run this, then try again:\n  \
                 sudo apt-get update && sudo apt-get install -y {}",
                packages.join(" ")
            ))
        }
    };
    let apt = |args: &[&str]| {
        let cmd = if sudo {
            Cmd::new("sudo").args(["-n", "apt-get"])
        } else {
            Cmd::new("apt-get")
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive")
    };
    workspace.run(&apt(&["update"]))?;
    workspace.run(&apt(&[&["install", "-y"][..], packages].concat()))
}

/// `npm ci` in `tests/e2e` when `node_modules` is missing or older than the lock file.
pub fn ensure_e2e_packages(workspace: &Workspace) -> Result<(), String> {
    let e2e = workspace.root().join("tests/e2e");
    let lock_path = e2e.join("package-lock.json");
    let lock = std::fs::read(&lock_path)
        .map_err(|error| format!("cannot read {}: {error}", lock_path.display()))?;
    let manifest = std::fs::read(e2e.join("package.json")).unwrap_or_default();
    let wanted = format!("{:016x}", fnv1a(&[&manifest, &lock]));
    let stamp_path = e2e.join("node_modules/.xtask-lock-hash");
    let stamp = std::fs::read_to_string(&stamp_path).unwrap_or_default();
    if stamp.trim() == wanted {
        println!("tools: tests/e2e/node_modules matches package-lock.json");
        return Ok(());
    }
    require_npm(workspace)?;
    println!("tools: installing tests/e2e packages from package-lock.json");
    workspace.run(
        &Cmd::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .cwd(&e2e),
    )?;
    std::fs::write(&stamp_path, wanted)
        .map_err(|error| format!("cannot write {}: {error}", stamp_path.display()))
}

fn require_npm(workspace: &Workspace) -> Result<(), String> {
    match workspace.probe(&Cmd::new("npm").arg("--version")) {
        Some(_) => Ok(()),
        None => Err("npm is not on PATH: install Node.js 20 or newer with npm".into()),
    }
}

/// Prints and returns whether a probed `--version` output names `want`.
fn found_version(output: Option<&str>, tool: &str, want: &str) -> bool {
    match output {
        Some(text) if reports_version(text, want) => {
            println!("tools: {tool} {want} present");
            true
        }
        Some(text) => {
            println!("tools: {tool} is `{text}`, need {want}");
            false
        }
        None => {
            println!("tools: {tool} not found");
            false
        }
    }
}

fn verify(workspace: &Workspace, cmd: &Cmd, want: &str) -> Result<(), String> {
    match workspace.probe(cmd) {
        Some(text) if reports_version(&text, want) => Ok(()),
        Some(text) => Err(format!(
            "after installing, `{cmd}` says `{text}`, not {want}"
        )),
        None => Err(format!("after installing, `{cmd}` does not run")),
    }
}

/// Whether a tool's `--version` output (`trunk 0.22.1`, `wasm-opt version 132
/// (version_132)`) names exactly `want` as one of its words.
pub fn reports_version(output: &str, want: &str) -> bool {
    output
        .split_whitespace()
        .map(|word| word.trim_matches(|c| c == '(' || c == ')' || c == ','))
        .map(|word| word.strip_prefix('v').unwrap_or(word))
        .any(|word| word == want)
}

/// FNV-1a over several byte strings: enough to notice a changed lock file.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_outputs_are_matched_by_whole_words() {
        assert!(reports_version("trunk 0.22.1", "0.22.1"));
        assert!(reports_version("wasm-bindgen 0.2.130", "0.2.130"));
        assert!(reports_version("wasm-opt version 132 (version_132)", "132"));
        assert!(!reports_version("wasm-opt version 108", "132"));
        assert!(!reports_version("wasm-bindgen 0.2.1301", "0.2.130"));
        assert!(!reports_version("trunk 0.22.10", "0.22.1"));
    }

    #[test]
    fn the_lock_hash_changes_with_either_file() {
        let base = fnv1a(&[b"manifest", b"lock"]);
        assert_eq!(base, fnv1a(&[b"manifest", b"lock"]));
        assert_ne!(base, fnv1a(&[b"manifest", b"lock2"]));
        assert_ne!(base, fnv1a(&[b"manifes", b"tlock"]));
    }
}
