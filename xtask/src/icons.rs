//! The app's icons for the web manifest and iOS, drawn at build time from the same geometry as
//! `public/favicon.svg` (a white "F" on the brand blue, in a 64-unit square), so there are no
//! binary files to keep in step with the SVG by hand.
//!
//! - `icon-192.png`, `icon-512.png`: rounded square on a transparent ground (`purpose: any`).
//! - `icon-maskable-512.png`: full-bleed square; the "F" already sits inside the maskable safe
//!   zone (a circle of 40 % of the size around the centre), so launchers may crop it to any
//!   shape.
//! - `apple-touch-icon.png` (180): full-bleed too, since iOS rounds the corners itself and
//!   fills transparency with black.

use std::fs;
use std::io::Write;
use std::path::Path;

/// The folder under `dist/` the icons go to, as the manifest and `index.html` name them.
pub const DIR: &str = "icons";

const BRAND: [u8; 3] = [0x0f, 0x5c, 0x8c];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];
/// The corner radius of the rounded square, in the 64-unit design grid.
const RADIUS: f64 = 14.0;
/// The "F" as rectangles of the design grid: (left, top, right, bottom).
const LETTER: [(f64, f64, f64, f64); 3] = [
    (18.0, 16.0, 26.0, 48.0),
    (26.0, 16.0, 44.0, 23.0),
    (26.0, 30.0, 41.0, 37.0),
];
/// Samples per pixel along each axis, for anti-aliased edges.
const SUPERSAMPLE: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ground {
    Rounded,
    FullBleed,
}

/// Every icon: file name, size in pixels, ground.
const ICONS: [(&str, u32, Ground); 4] = [
    ("icon-192.png", 192, Ground::Rounded),
    ("icon-512.png", 512, Ground::Rounded),
    ("icon-maskable-512.png", 512, Ground::FullBleed),
    ("apple-touch-icon.png", 180, Ground::FullBleed),
];

/// Draws every icon into `dist/icons/`.
pub fn write_all(dist: &Path) -> Result<(), String> {
    let dir = dist.join(DIR);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, size, ground) in ICONS {
        let png = encode_png(size, size, &draw(size, ground))?;
        let path = dir.join(name);
        fs::write(&path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// RGBA pixels, row by row.
fn draw(size: u32, ground: Ground) -> Vec<u8> {
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    let unit = 64.0 / f64::from(size);
    let samples = f64::from(SUPERSAMPLE * SUPERSAMPLE);
    for py in 0..size {
        for px in 0..size {
            // Premultiplied sums over the samples of this pixel.
            let (mut r, mut g, mut b, mut a) = (0.0, 0.0, 0.0, 0.0);
            for sy in 0..SUPERSAMPLE {
                for sx in 0..SUPERSAMPLE {
                    let step = 1.0 / f64::from(SUPERSAMPLE);
                    let x = (f64::from(px) + (f64::from(sx) + 0.5) * step) * unit;
                    let y = (f64::from(py) + (f64::from(sy) + 0.5) * step) * unit;
                    let colour = if in_letter(x, y) {
                        Some(WHITE)
                    } else if ground == Ground::FullBleed || in_rounded_square(x, y) {
                        Some(BRAND)
                    } else {
                        None
                    };
                    if let Some([cr, cg, cb]) = colour {
                        r += f64::from(cr);
                        g += f64::from(cg);
                        b += f64::from(cb);
                        a += 1.0;
                    }
                }
            }
            if a == 0.0 {
                pixels.extend_from_slice(&[0, 0, 0, 0]);
            } else {
                let channel = |sum: f64| (sum / a).round().clamp(0.0, 255.0) as u8;
                let alpha = (a / samples * 255.0).round().clamp(0.0, 255.0) as u8;
                pixels.extend_from_slice(&[channel(r), channel(g), channel(b), alpha]);
            }
        }
    }
    pixels
}

fn in_letter(x: f64, y: f64) -> bool {
    LETTER
        .iter()
        .any(|&(left, top, right, bottom)| x >= left && x < right && y >= top && y < bottom)
}

fn in_rounded_square(x: f64, y: f64) -> bool {
    // Distance into the corner region, per axis; zero along the straight edges.
    let dx = (RADIUS - x).max(x - (64.0 - RADIUS)).max(0.0);
    let dy = (RADIUS - y).max(y - (64.0 - RADIUS)).max(0.0);
    (0.0..64.0).contains(&x) && (0.0..64.0).contains(&y) && dx * dx + dy * dy <= RADIUS * RADIUS
}

/// A minimal PNG: 8-bit RGBA, no interlace, filter "none" on every row, one IDAT chunk.
fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, String> {
    let row = width as usize * 4;
    if rgba.len() != row * height as usize {
        return Err(format!(
            "{} bytes are not a {width}×{height} RGBA image",
            rgba.len()
        ));
    }
    let mut raw = Vec::with_capacity(rgba.len() + height as usize);
    for line in rgba.chunks(row) {
        raw.push(0);
        raw.extend_from_slice(line);
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&raw)
        .map_err(|e| format!("cannot compress the icon: {e}"))?;
    let data = zlib
        .finish()
        .map_err(|e| format!("cannot compress the icon: {e}"))?;

    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 6 (RGBA), compression 0, filter 0, no interlace.
    header.extend_from_slice(&[8, 6, 0, 0, 0]);

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &data);
    chunk(&mut png, b"IEND", &[]);
    Ok(png)
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    png.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn pixel(pixels: &[u8], size: u32, x: u32, y: u32) -> [u8; 4] {
        let at = ((y * size + x) * 4) as usize;
        [pixels[at], pixels[at + 1], pixels[at + 2], pixels[at + 3]]
    }

    #[test]
    fn rounded_icon_has_clear_corners_a_blue_ground_and_a_white_letter() {
        let pixels = draw(192, Ground::Rounded);
        assert_eq!(pixel(&pixels, 192, 0, 0)[3], 0, "corner is transparent");
        // (6, 96) in the grid is blue ground; (22, 30) is inside the stem of the F.
        assert_eq!(pixel(&pixels, 192, 18, 288 / 3), [0x0f, 0x5c, 0x8c, 255]);
        assert_eq!(pixel(&pixels, 192, 66, 90), [255, 255, 255, 255]);
    }

    #[test]
    fn full_bleed_icon_is_opaque_to_the_corner() {
        let pixels = draw(180, Ground::FullBleed);
        assert_eq!(pixel(&pixels, 180, 0, 0), [0x0f, 0x5c, 0x8c, 255]);
        assert!(pixels.chunks(4).all(|p| p[3] == 255));
    }

    #[test]
    fn png_has_the_signature_header_and_the_pixels_back() {
        let pixels = draw(32, Ground::Rounded);
        let png = encode_png(32, 32, &pixels).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 32);
        assert_eq!(png[24..26], [8, 6]);
        // The IDAT chunk holds the rows, each after a filter byte of 0.
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw.len(), 32 * (32 * 4 + 1));
        assert_eq!(&raw[1..129], &pixels[..128]);
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND's CRC");
        assert!(encode_png(3, 3, &[0; 5]).is_err());
    }
}
