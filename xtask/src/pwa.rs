//! The installable app's build step, after trunk: the icons, then the service worker
//! `dist/sw.js` made from `src/sw.js` with the list of files it precaches and a version.
//!
//! The precache list is read from what the build produced, never kept by hand: `index.html`
//! and every file it references, and every file the web manifest references, followed from
//! file to file (HTML, manifest and CSS are read; paths without an extension are routes, not
//! files). Each referenced file must exist in `dist/`, and every file in `dist/` must be on the
//! list (except `sw.js` itself and the `.br`/`.gz` siblings of the precompression step): a
//! file the shell does not reference is an error of the build, not something to cache blindly.
//!
//! The version is a hash of the listed files' contents, so the service worker changes (and
//! devices update) exactly when something the shell serves changed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::Digest as _;

/// The service worker's source, with the two slots below that the build fills in.
pub const SW_SOURCE: &str = "src/sw.js";
const VERSION_SLOT: &str = "\"%VERSION%\"";
const SHELL_SLOT: &str = "[/* %SHELL% */]";
/// Files of `dist/` that are not part of the shell the service worker caches.
const NOT_SHELL: [&str; 1] = ["sw.js"];
const SIBLINGS: [&str; 2] = ["br", "gz"];
/// Files whose text is followed for further references.
const FOLLOWED: [&str; 3] = ["html", "webmanifest", "css"];

/// What the service worker precaches: absolute paths (`/index.html`, `/main-….css`), sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    pub files: Vec<String>,
    pub version: String,
}

/// Draws the icons, lists the shell and writes `dist/sw.js`.
pub fn finish(root: &Path, dist: &Path) -> Result<Shell, String> {
    external_boot(dist)?;
    crate::icons::write_all(dist)?;
    let shell = shell(dist)?;
    write_worker(root, dist, &shell)?;
    Ok(shell)
}

/// Moves the module script trunk writes inline into `index.html` (it imports the wasm-bindgen
/// glue and starts the app) into its own file, `/boot-<hash>.js`, so the page runs under a
/// Content-Security-Policy that allows no inline script (`script-src 'self'`). The file is
/// named by its content like trunk's, so the service worker treats it like the other hashed
/// files.
pub fn external_boot(dist: &Path) -> Result<(), String> {
    let index_path = dist.join("index.html");
    let index = fs::read_to_string(&index_path)
        .map_err(|e| format!("cannot read {}: {e}", index_path.display()))?;
    let open = "<script type=\"module\">";
    let Some(start) = index.find(open) else {
        // Already external (a second run over the same dist/).
        return Ok(());
    };
    let body_start = start + open.len();
    let body_len = index[body_start..]
        .find("</script>")
        .ok_or("index.html: the inline module script is not closed")?;
    let body = index[body_start..body_start + body_len].trim().to_string();
    let after = body_start + body_len + "</script>".len();
    if index[after..].contains("<script>") || index[after..].contains(open) {
        return Err("index.html has more than one inline script: only trunk's is expected".into());
    }
    let text = format!("{body}\n");
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("/boot-{hash}.js");
    fs::write(in_dist(dist, &name), &text).map_err(|e| format!("cannot write {name}: {e}"))?;
    let integrity = format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(text.as_bytes()))
    );
    let tag = format!("<script type=\"module\" src=\"{name}\" integrity=\"{integrity}\"></script>");
    let new_index = format!("{}{tag}{}", &index[..start], &index[after..]);
    fs::write(&index_path, new_index)
        .map_err(|e| format!("cannot write {}: {e}", index_path.display()))?;
    remove_siblings(&index_path)
}

/// Writes `dir/sw.js` for `shell` (dropping compressed copies of an older one).
fn write_worker(root: &Path, dir: &Path, shell: &Shell) -> Result<(), String> {
    let source_path = root.join(SW_SOURCE);
    let source = fs::read_to_string(&source_path)
        .map_err(|e| format!("cannot read {}: {e}", source_path.display()))?;
    let out = dir.join("sw.js");
    fs::write(&out, render(&source, shell)?)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    remove_siblings(&out)
}

/// The shell of the build in `dist`, checked against the folder's contents both ways.
pub fn shell(dist: &Path) -> Result<Shell, String> {
    let mut listed = BTreeSet::new();
    let mut queue = vec!["/index.html".to_string()];
    while let Some(path) = queue.pop() {
        if !listed.insert(path.clone()) {
            continue;
        }
        let file = in_dist(dist, &path);
        if !file.is_file() {
            return Err(format!(
                "{path} is referenced by the app shell but is not in {}",
                dist.display()
            ));
        }
        if FOLLOWED.contains(&extension(&path)) {
            let text = fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            queue.extend(
                references(&text)
                    .into_iter()
                    .filter(|r| !listed.contains(r)),
            );
        }
    }

    let mut unlisted = Vec::new();
    for file in files(dist)? {
        // Trunk leaves its `.trunk-lock` behind; dot files are never part of the app.
        let hidden = file.rsplit('/').next().is_some_and(|n| n.starts_with('.'));
        let skipped = hidden
            || NOT_SHELL.contains(&file.trim_start_matches('/'))
            || SIBLINGS.contains(&extension(&file));
        if !skipped && !listed.contains(&file) {
            unlisted.push(file);
        }
    }
    if !unlisted.is_empty() {
        return Err(format!(
            "{} in {} not referenced by index.html or the manifest, so the service worker \
             would not cache it: {}",
            if unlisted.len() == 1 {
                "a file is"
            } else {
                "files are"
            },
            dist.display(),
            unlisted.join(", ")
        ));
    }

    let files: Vec<String> = listed.into_iter().collect();
    let mut hasher = sha2::Sha256::new();
    for path in &files {
        let bytes = fs::read(in_dist(dist, path))
            .map_err(|e| format!("cannot read {path} in {}: {e}", dist.display()))?;
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let digest = hasher.finalize();
    let version = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(Shell { files, version })
}

/// The service worker's source with the version and the list filled in.
pub fn render(source: &str, shell: &Shell) -> Result<String, String> {
    for slot in [VERSION_SLOT, SHELL_SLOT] {
        if source.matches(slot).count() != 1 {
            return Err(format!("{SW_SOURCE} must contain {slot} exactly once"));
        }
    }
    let list = shell
        .files
        .iter()
        .map(|f| js_string(f))
        .collect::<Vec<_>>()
        .join(",\n  ");
    Ok(source
        .replace(VERSION_SLOT, &js_string(&shell.version))
        .replace(SHELL_SLOT, &format!("[\n  {list},\n]")))
}

/// Absolute same-origin paths of files named in `text`: quoted strings and CSS `url(…)` that
/// start with one `/` and whose last segment has an extension; query and fragment dropped.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut candidates: Vec<&str> = Vec::new();
    // Every piece between quotes, on both sides of each quote: an apostrophe in prose must not
    // shift which pieces count as "inside". The rules below drop what is not a path.
    for quote in ['"', '\''] {
        candidates.extend(text.split(quote));
    }
    candidates.extend(text.split("url(").skip(1).filter_map(|rest| {
        rest.split(')')
            .next()
            .map(|inner| inner.trim().trim_matches(['"', '\'']))
    }));
    for candidate in candidates {
        let path = candidate.split(['?', '#']).next().unwrap_or_default();
        let absolute = path.starts_with('/') && !path.starts_with("//");
        let file_like = path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
        let plain = !path.contains(char::is_whitespace) && !path.contains("..");
        if absolute && file_like && plain {
            found.push(path.to_string());
        }
    }
    found
}

fn in_dist(dist: &Path, path: &str) -> PathBuf {
    dist.join(path.trim_start_matches('/'))
}

fn extension(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once('.'))
        .map_or("", |(_, ext)| ext)
}

/// Every file under `dist`, as an absolute path of the site (`/icons/icon-192.png`).
fn files(dist: &Path) -> Result<Vec<String>, String> {
    Ok(crate::precompress::files(dist)?
        .iter()
        .filter_map(|path| path.strip_prefix(dist).ok())
        .map(|relative| {
            let parts: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            format!("/{}", parts.join("/"))
        })
        .collect())
}

fn js_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A second build of the app for the update test: a copy of `dist` in `out` whose stylesheet
/// changed (it sets `--build: "b"` on `:root`, which the test reads), under a new hashed name
/// with its `integrity` recomputed, and a new service worker. Everything else is as built.
pub fn variant(root: &Path, dist: &Path, out: &Path) -> Result<Shell, String> {
    if out.exists() {
        fs::remove_dir_all(out).map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
    }
    copy_dir(dist, out)?;
    let index_path = out.join("index.html");
    let mut index = fs::read_to_string(&index_path)
        .map_err(|e| format!("cannot read {}: {e}", index_path.display()))?;
    let css = references(&index)
        .into_iter()
        .find(|r| extension(r) == "css")
        .ok_or("index.html names no stylesheet")?;
    let old = in_dist(out, &css);
    let mut text =
        fs::read_to_string(&old).map_err(|e| format!("cannot read {}: {e}", old.display()))?;
    text.push_str("\n:root{--build:\"b\"}\n");

    let digest = sha2::Sha256::digest(text.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let stem = css
        .trim_start_matches('/')
        .split('-')
        .next()
        .unwrap_or("main");
    let new_name = format!("/{stem}-{hash}.css");
    fs::write(in_dist(out, &new_name), &text)
        .map_err(|e| format!("cannot write {new_name}: {e}"))?;
    fs::remove_file(&old).map_err(|e| format!("cannot remove {}: {e}", old.display()))?;
    remove_siblings(&old)?;

    let integrity = format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(text.as_bytes()))
    );
    let link_start = index
        .find(&format!("href=\"{css}\""))
        .ok_or("the stylesheet link is not href=\"…\"")?;
    let link_end = link_start + index[link_start..].find('>').ok_or("unclosed link")?;
    let link = index[link_start..link_end].to_string();
    let mut new_link = link.replace(&css, &new_name);
    if let Some(at) = new_link.find("integrity=\"") {
        let value_start = at + "integrity=\"".len();
        let value_end = value_start
            + new_link[value_start..]
                .find('"')
                .ok_or("unclosed integrity")?;
        new_link.replace_range(value_start..value_end, &integrity);
    }
    index.replace_range(link_start..link_end, &new_link);
    fs::write(&index_path, &index)
        .map_err(|e| format!("cannot write {}: {e}", index_path.display()))?;
    remove_siblings(&index_path)?;

    let shell = shell(out)?;
    write_worker(root, out, &shell)?;
    Ok(shell)
}

/// Removes the `.br`/`.gz` copies of `path`, which no longer match it.
fn remove_siblings(path: &Path) -> Result<(), String> {
    for ext in SIBLINGS {
        let stale = crate::precompress::sibling(path, ext);
        if stale.exists() {
            fs::remove_file(&stale)
                .map_err(|e| format!("cannot remove {}: {e}", stale.display()))?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("cannot list {}: {e}", from.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", from.display()))?
            .path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            fs::copy(&path, &target).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inline_boot_script_moves_to_its_own_hashed_file() {
        let dir = std::env::temp_dir().join(format!("xtask-boot-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let index = "<html><head>\n<script type=\"module\">\nimport init from '/fieldbook-0123456789abcdef.js';\nawait init();\n</script>\n<link rel=\"modulepreload\" href=\"/fieldbook-0123456789abcdef.js\"></head><body></body></html>";
        fs::write(dir.join("index.html"), index).unwrap();
        external_boot(&dir).unwrap();
        let after = fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(!after.contains("<script type=\"module\">"), "{after}");
        let src = references(&after)
            .into_iter()
            .find(|r| r.starts_with("/boot-"))
            .unwrap();
        let hash = src.trim_start_matches("/boot-").trim_end_matches(".js");
        assert!(
            hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{src}"
        );
        let boot = fs::read_to_string(in_dist(&dir, &src)).unwrap();
        assert!(boot.starts_with("import init from '/fieldbook-0123456789abcdef.js';"));
        assert!(after.contains("integrity=\"sha384-"));
        // A second run leaves it alone.
        external_boot(&dir).unwrap();
        assert_eq!(fs::read_to_string(dir.join("index.html")).unwrap(), after);
        // Two inline scripts are not what trunk writes: refused.
        fs::write(
            dir.join("index.html"),
            format!("{index}<script>alert(1)</script>"),
        )
        .unwrap();
        assert!(external_boot(&dir).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A dist/ laid out the way trunk and the icon step leave it.
    fn fake_dist(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-pwa-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("icons")).unwrap();
        let index = r#"<!doctype html><html><head>
<link rel="stylesheet" href="/main-0123456789abcdef.css" integrity="sha384-x"/>
<link rel="manifest" href="/manifest.webmanifest">
<link rel="apple-touch-icon" href="/icons/apple-touch-icon.png">
<script type="module">
import init from '/app-1111222233334444.js';
await init({ module_or_path: '/app-5555666677778888_bg.wasm' });
</script>
<a href="https://example.com/x.png">elsewhere</a> <a href="//cdn.example/y.js">cdn</a>
</head><body></body></html>"#;
        fs::write(dir.join("index.html"), index).unwrap();
        fs::write(
            dir.join("main-0123456789abcdef.css"),
            "body{background:url(/icons/bg.png)}",
        )
        .unwrap();
        fs::write(
            dir.join("manifest.webmanifest"),
            r#"{"start_url":"/","icons":[{"src":"/icons/icon-192.png"}],
               "shortcuts":[{"url":"/new/visit","icons":[{"src":"/icons/icon-192.png"}]}]}"#,
        )
        .unwrap();
        for f in [
            "app-1111222233334444.js",
            "app-5555666677778888_bg.wasm",
            "icons/apple-touch-icon.png",
            "icons/icon-192.png",
            "icons/bg.png",
            "index.html.br",
            "app-5555666677778888_bg.wasm.gz",
            "sw.js",
            ".trunk-lock",
        ] {
            if !dir.join(f).exists() {
                fs::write(dir.join(f), f).unwrap();
            }
        }
        dir
    }

    #[test]
    fn the_shell_is_every_referenced_file_and_nothing_else() {
        let dist = fake_dist("shell");
        let shell = shell(&dist).unwrap();
        assert_eq!(
            shell.files,
            [
                "/app-1111222233334444.js",
                "/app-5555666677778888_bg.wasm",
                "/icons/apple-touch-icon.png",
                "/icons/bg.png",
                "/icons/icon-192.png",
                "/index.html",
                "/main-0123456789abcdef.css",
                "/manifest.webmanifest",
            ]
        );
        assert_eq!(shell.version.len(), 16);
        // Same files, same version; a changed byte, a new version.
        assert_eq!(super::shell(&dist).unwrap().version, shell.version);
        fs::write(dist.join("icons/bg.png"), "changed").unwrap();
        assert_ne!(super::shell(&dist).unwrap().version, shell.version);
        fs::remove_dir_all(&dist).unwrap();
    }

    #[test]
    fn a_missing_reference_or_an_unreferenced_file_fails_the_build() {
        let dist = fake_dist("missing");
        fs::remove_file(dist.join("icons/icon-192.png")).unwrap();
        let err = shell(&dist).unwrap_err();
        assert!(err.contains("/icons/icon-192.png is referenced"), "{err}");
        fs::write(dist.join("icons/icon-192.png"), "x").unwrap();
        fs::write(dist.join("stray-report.txt"), "x").unwrap();
        let err = shell(&dist).unwrap_err();
        assert!(err.contains("/stray-report.txt"), "{err}");
        fs::remove_dir_all(&dist).unwrap();
    }

    #[test]
    fn the_worker_gets_the_list_and_the_version() {
        let shell = Shell {
            files: vec!["/index.html".into(), "/a\"b.css".into()],
            version: "0011223344556677".into(),
        };
        let out = render(
            "const VERSION = \"%VERSION%\";\nconst SHELL = [/* %SHELL% */];\n",
            &shell,
        )
        .unwrap();
        assert_eq!(
            out,
            "const VERSION = \"0011223344556677\";\nconst SHELL = [\n  \"/index.html\",\n  \"/a\\\"b.css\",\n];\n"
        );
        assert!(render("const SHELL = [/* %SHELL% */];", &shell).is_err());
    }

    #[test]
    fn the_real_worker_source_has_both_slots() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let source = fs::read_to_string(root.join(SW_SOURCE)).unwrap();
        let shell = Shell {
            files: vec!["/index.html".into()],
            version: "v".into(),
        };
        let out = render(&source, &shell).unwrap();
        assert!(out.contains("\"/index.html\""));
        assert!(!out.contains("%SHELL%") && !out.contains("%VERSION%"));
    }

    #[test]
    fn the_variant_changes_the_stylesheet_and_the_worker_only() {
        let dist = fake_dist("variant");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let a = shell(&dist).unwrap();
        let out = dist.with_file_name(format!("xtask-pwa-variant-b-{}", std::process::id()));
        let b = variant(&root, &dist, &out).unwrap();
        assert_ne!(a.version, b.version);
        let css: Vec<_> = b.files.iter().filter(|f| f.ends_with(".css")).collect();
        assert_eq!(css.len(), 1);
        assert_ne!(css[0], "/main-0123456789abcdef.css");
        assert!(fs::read_to_string(in_dist(&out, css[0]))
            .unwrap()
            .contains("--build:\"b\""));
        let index = fs::read_to_string(out.join("index.html")).unwrap();
        assert!(index.contains(css[0].as_str()) && index.contains("integrity=\"sha384-"));
        assert!(!index.contains("sha384-x\""));
        assert!(!out.join("index.html.br").exists());
        assert_eq!(a.files.len(), b.files.len());
        fs::remove_dir_all(&dist).unwrap();
        fs::remove_dir_all(&out).unwrap();
    }
}
