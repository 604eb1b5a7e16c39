//! Draws the six LeakGuard logos (a white shield holding an amber drop on a blue-teal gradient,
//! with the "LeakGuard" wordmark where there is room) at the exact sizes amoCRM requires.

use crate::pack::LOGOS;
use anyhow::Result;
use std::path::Path;

/// Where the mark and the wordmark go inside a logo.
#[derive(Clone, Copy)]
enum Layout {
    /// Shield only, centred.
    Mark,
    /// Shield above the wordmark.
    Stacked,
    /// Shield left of the wordmark.
    Inline,
}

fn layout_of(name: &str) -> Layout {
    match name {
        "logo_small.png" | "logo_min.png" => Layout::Mark,
        "logo_medium.png" => Layout::Inline,
        _ => Layout::Stacked,
    }
}

/// Writes every logo into `dir`.
pub fn write_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, w, h) in LOGOS {
        std::fs::write(dir.join(name), encode(w, h, layout_of(name))?)?;
        println!("wrote {name} ({w}x{h})");
    }
    Ok(())
}

/// The PNG bytes of one logo.
fn encode(w: u32, h: u32, layout: Layout) -> Result<Vec<u8>> {
    let pixels = draw(w, h, layout);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut writer = enc.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

const BLUE: [f32; 3] = [0.12, 0.23, 0.37];
const TEAL: [f32; 3] = [0.06, 0.46, 0.43];
const WHITE: [f32; 3] = [1.0, 1.0, 1.0];
const AMBER: [f32; 3] = [0.96, 0.62, 0.04];

/// A box in pixel coordinates: left, top, width, height.
#[derive(Clone, Copy)]
struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl Rect {
    /// Position of a point relative to the box, in 0..1 units.
    fn unit(&self, x: f32, y: f32) -> (f32, f32) {
        ((x - self.x) / self.w, (y - self.y) / self.h)
    }
}

/// The boxes of the shield and the wordmark for a logo size.
fn boxes(w: f32, h: f32, layout: Layout) -> (Rect, Option<Rect>) {
    let text_aspect = WORD_COLS as f32 / 7.0;
    match layout {
        Layout::Mark => {
            let s = h.min(w) * 0.78;
            (Rect { x: (w - s * 0.86) / 2.0, y: (h - s) / 2.0, w: s * 0.86, h: s }, None)
        }
        Layout::Stacked => {
            let s = h * 0.52;
            let shield = Rect { x: (w - s * 0.86) / 2.0, y: h * 0.1, w: s * 0.86, h: s };
            let tw = (w * 0.84).min(h * 0.2 * text_aspect);
            let th = tw / text_aspect;
            (shield, Some(Rect { x: (w - tw) / 2.0, y: h * 0.7, w: tw, h: th }))
        }
        Layout::Inline => {
            let s = h * 0.74;
            let shield = Rect { x: h * 0.16, y: (h - s) / 2.0, w: s * 0.86, h: s };
            let left = shield.x + shield.w + h * 0.16;
            let tw = (w - left - h * 0.16).min(h * 0.36 * text_aspect);
            let th = tw / text_aspect;
            (shield, Some(Rect { x: left, y: (h - th) / 2.0, w: tw, h: th }))
        }
    }
}

fn draw(w: u32, h: u32, layout: Layout) -> Vec<u8> {
    let (shield, word) = boxes(w as f32, h as f32, layout);
    const SS: u32 = 4;
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for py in 0..h {
        for px in 0..w {
            let mut acc = [0.0f32; 3];
            for sy in 0..SS {
                for sx in 0..SS {
                    let x = px as f32 + (sx as f32 + 0.5) / SS as f32;
                    let y = py as f32 + (sy as f32 + 0.5) / SS as f32;
                    let c = scene(x, y, w as f32, h as f32, shield, word);
                    for i in 0..3 {
                        acc[i] += c[i];
                    }
                }
            }
            for value in acc {
                out.push((value / (SS * SS) as f32 * 255.0).round().clamp(0.0, 255.0) as u8);
            }
            out.push(255);
        }
    }
    out
}

/// The colour at a point of the logo.
fn scene(x: f32, y: f32, w: f32, h: f32, shield: Rect, word: Option<Rect>) -> [f32; 3] {
    let t = ((x / w) * 0.6 + (y / h) * 0.4).clamp(0.0, 1.0);
    let background = [0, 1, 2].map(|i| BLUE[i] + (TEAL[i] - BLUE[i]) * t);
    let (u, v) = shield.unit(x, y);
    if in_drop(u, v) {
        return AMBER;
    }
    if in_shield(u, v) {
        return WHITE;
    }
    if let Some(word) = word {
        let (u, v) = word.unit(x, y);
        if in_word(u, v) {
            return WHITE;
        }
    }
    background
}

/// A shield: straight sides down to 55 % of its height, then an elliptic curve to the point.
fn in_shield(u: f32, v: f32) -> bool {
    if !(0.0..=1.0).contains(&v) {
        return false;
    }
    let dip = 0.06 * (1.0 - ((u - 0.5) * 2.0).powi(2)).max(0.0);
    if v < dip {
        return false;
    }
    let half = if v < 0.55 { 0.5 } else { 0.5 * (1.0 - ((v - 0.55) / 0.45).powi(2)).max(0.0).sqrt() };
    (u - 0.5).abs() <= half
}

/// A drop of money inside the shield: a circle with a pointed top.
fn in_drop(u: f32, v: f32) -> bool {
    let (cx, cy, r) = (0.5, 0.56, 0.19);
    let inside_circle = (u - cx).powi(2) + ((v - cy) * 0.86).powi(2) <= r * r;
    let top = 0.2;
    let inside_tip = v >= top && v <= cy && (u - cx).abs() <= r * (v - top) / (cy - top);
    inside_circle || inside_tip
}

/// 5×7 glyphs of the wordmark, one row per string, `#` = ink.
const GLYPHS: [[&str; 7]; 9] = [
    ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
    [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
    [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
    ["#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."],
    [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"],
    [".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"],
    [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
    [".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."],
    ["....#", "....#", ".##.#", "#..##", "#...#", "#..##", ".##.#"],
];

/// Columns of the whole wordmark: nine glyphs of five columns with one column between them.
const WORD_COLS: usize = GLYPHS.len() * 6 - 1;

fn in_word(u: f32, v: f32) -> bool {
    if !(0.0..1.0).contains(&u) || !(0.0..1.0).contains(&v) {
        return false;
    }
    let col = (u * WORD_COLS as f32) as usize;
    let row = (v * 7.0) as usize;
    let (glyph, within) = (col / 6, col % 6);
    within < 5 && GLYPHS[glyph][row].as_bytes()[within] == b'#'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_logos_are_what_the_drawing_code_makes() {
        let dir = crate::root().join("widget/images");
        for (name, w, h) in LOGOS {
            let committed = std::fs::read(dir.join(name)).unwrap_or_default();
            let fresh = encode(w, h, layout_of(name)).unwrap();
            assert!(committed == fresh, "widget/images/{name} is stale: run `cargo xtask logos`");
        }
    }

    #[test]
    fn the_mark_is_visible_in_every_logo() {
        for (name, w, h) in LOGOS {
            let pixels = draw(w, h, layout_of(name));
            let white = pixels.chunks(4).filter(|p| p[0] == 255 && p[1] == 255 && p[2] == 255).count();
            let amber = pixels.chunks(4).filter(|p| p[0] > 200 && p[1] > 120 && p[1] < 190 && p[2] < 40).count();
            let area = (w * h) as usize;
            assert!(white * 20 > area, "{name}: the white shield covers under 5 % ({white} of {area})");
            assert!(amber * 100 > area, "{name}: the amber drop covers under 1 % ({amber} of {area})");
        }
    }
}
