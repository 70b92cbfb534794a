//! Brotli and gzip siblings of the built app's text and wasm files, made once at build time at
//! the highest levels, so the server sends `main-….css.br` as it is instead of compressing
//! each request (`fieldbook-server` serves them when the browser accepts them).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Files worth compressing; images such as PNG are compressed already.
const COMPRESSIBLE: [&str; 7] = ["wasm", "js", "css", "html", "svg", "webmanifest", "json"];

/// Writes `<file>.br` and `<file>.gz` next to every compressible file in `dist` (recursively),
/// replacing older ones. Returns the files compressed, with their sizes: raw, brotli, gzip.
pub fn precompress(dist: &Path) -> Result<Vec<(PathBuf, usize, usize, usize)>, String> {
    let mut done = Vec::new();
    for path in files(dist)? {
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        let raw = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let br = brotli(&raw)?;
        let gz = gzip(&raw)?;
        write(&sibling(&path, "br"), &br)?;
        write(&sibling(&path, "gz"), &gz)?;
        done.push((path, raw.len(), br.len(), gz.len()));
    }
    Ok(done)
}

/// Every file under `dir`, recursively, sorted.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// `path` with `.extension` appended: `main.css` → `main.css.br`.
pub fn sibling(path: &Path, extension: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn brotli(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        // Quality 11 (the best), window 2^22.
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer
            .write_all(raw)
            .map_err(|e| format!("brotli failed: {e}"))?;
        writer.flush().map_err(|e| format!("brotli failed: {e}"))?;
    }
    Ok(out)
}

fn gzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(raw)
        .map_err(|e| format!("gzip failed: {e}"))?;
    encoder.finish().map_err(|e| format!("gzip failed: {e}"))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compressible_files_get_siblings_that_decompress_to_the_original() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("assets")).unwrap();
        let css = "body { color: red; } ".repeat(200);
        fs::write(dir.join("main-0123456789abcdef.css"), &css).unwrap();
        fs::write(dir.join("assets").join("app.js"), "console.log(1);").unwrap();
        fs::write(dir.join("icon.png"), [0x89, b'P', b'N', b'G']).unwrap();

        let done = precompress(&dir).unwrap();
        let names: Vec<_> = done
            .iter()
            .map(|(p, ..)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["app.js", "main-0123456789abcdef.css"]);
        assert!(!dir.join("icon.png.br").exists());

        let css_path = dir.join("main-0123456789abcdef.css");
        let mut unbr = String::new();
        brotli::Decompressor::new(&fs::read(sibling(&css_path, "br")).unwrap()[..], 4096)
            .read_to_string(&mut unbr)
            .unwrap();
        assert_eq!(unbr, css);
        let mut ungz = String::new();
        flate2::read::GzDecoder::new(&fs::read(sibling(&css_path, "gz")).unwrap()[..])
            .read_to_string(&mut ungz)
            .unwrap();
        assert_eq!(ungz, css);
        let (_, raw, br, gz) = done[1];
        assert!(br < raw / 10 && gz < raw / 10, "{raw} {br} {gz}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
