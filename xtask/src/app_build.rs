//! The release build of the app: `trunk build --release` into `dist/`, configured by
//! `Trunk.toml` (offline, pinned wasm-bindgen and wasm-opt versions); then the icons and the
//! service worker with its precache list (`pwa`), then brotli and gzip siblings of the files
//! for the server to send as they are.

use std::path::PathBuf;

use crate::process::{Cmd, Workspace};

/// Builds the app and returns the `dist` folder. The tools must already be installed.
pub fn release_build(workspace: &Workspace) -> Result<PathBuf, String> {
    let root = workspace.root();
    for needed in ["Trunk.toml", "index.html"] {
        if !root.join(needed).is_file() {
            return Err(format!(
                "{needed} is missing in {}: trunk cannot build the app without it",
                root.display()
            ));
        }
    }
    workspace.run(
        &Cmd::new("trunk")
            .args(["build", "--release"])
            .env("TRUNK_SKIP_VERSION_CHECK", "true"),
    )?;
    let dist = root.join("dist");
    if !dist.join("index.html").is_file() {
        return Err(format!(
            "trunk finished but {} has no index.html",
            dist.display()
        ));
    }
    let shell = crate::pwa::finish(root, &dist)?;
    println!(
        "xtask: service worker {} precaches {} files: {}",
        shell.version,
        shell.files.len(),
        shell.files.join(" ")
    );
    for (path, raw, br, gz) in crate::precompress::precompress(&dist)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!("xtask: {name}: {raw} bytes, brotli {br}, gzip {gz}");
    }
    Ok(dist)
}
