//! Cycle pictures as SVG, rendered here (no Graphviz needed), and the files Elle writes into its
//! `:directory`.
//!
//! Layout: the transactions of a cycle sit on a circle in cycle order (T1 at the top, clockwise);
//! each step is an arrow from one box to the next, coloured by relationship (ww red, wr blue, rw
//! orange, process green, realtime grey, as in [`super::explain::dot`]) and labelled with the
//! relationship and key. Every text is XML-escaped. The output is a pure function of the
//! explanation, so the same verdict always gives byte-identical files.

use super::explain::{dot, render, CycleExplanation};
use crate::verdict::Verdict;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Escapes `&`, `<`, `>`, `"` and `'` for XML text and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn colour(rel: &str) -> &'static str {
    match rel {
        "ww" => "#c0392b",
        "wr" => "#2155c4",
        "rw" => "#d4780a",
        "process" => "#1e7b34",
        _ => "#666666",
    }
}

/// Longest shown micro-op text per box (longer values are cut with an ellipsis).
const MAX_LABEL: usize = 48;
const BOX_FILL: &str = "\u{23}f7f7f7";

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX_LABEL - 1).collect();
        t.push('…');
        t
    }
}

/// One cycle as a standalone SVG document.
pub fn cycle_svg(c: &CycleExplanation) -> String {
    let n = c.cycle.len().max(1);
    let box_w = 8.0 * MAX_LABEL as f64 * 0.75 + 20.0;
    let box_h = 44.0;
    let r = if n <= 1 {
        0.0
    } else {
        (box_w * 0.8 * n as f64 / std::f64::consts::TAU).max(130.0)
    };
    let (w, h) = (2.0 * r + box_w + 60.0, 2.0 * r + box_h + 110.0);
    let (cx, cy) = (w / 2.0, h / 2.0 + 15.0);
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="monospace" font-size="12">"#
    );
    out.push_str("<defs>");
    for rel in ["ww", "wr", "rw", "process", "realtime"] {
        let _ = write!(
            out,
            r#"<marker id="arrow-{rel}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>"#,
            colour(rel)
        );
    }
    out.push_str("</defs>\n");
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{:.0}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        w / 2.0,
        xml_escape(&c.kind)
    );
    // Edges first, so boxes sit on top of them.
    for s in &c.steps {
        let (a, b) = (pos[s.from % n], pos[s.to % n]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt();
        let col = colour(&s.rel);
        let label = match &s.key {
            Some(k) => format!("{} {}", s.rel, k),
            None => s.rel.clone(),
        };
        if len < 1.0 {
            // A one-transaction cycle: a loop above the box.
            let _ = writeln!(
                out,
                r#"<path d="M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="none" stroke="{col}" stroke-width="2" marker-end="url(#arrow-{})"/><text x="{:.1}" y="{:.1}" fill="{col}" text-anchor="middle">{}</text>"#,
                a.0 - 30.0,
                a.1 - box_h / 2.0,
                a.0 - 60.0,
                a.1 - box_h * 2.0,
                a.0 + 60.0,
                a.1 - box_h * 2.0,
                a.0 + 30.0,
                a.1 - box_h / 2.0,
                s.rel,
                a.0,
                a.1 - box_h * 1.6,
                xml_escape(&label)
            );
            continue;
        }
        // Clip the segment to the boxes' borders.
        let clip = |ux: f64, uy: f64| {
            let tx = if ux.abs() > 1e-9 {
                (box_w / 2.0) / ux.abs()
            } else {
                f64::INFINITY
            };
            let ty = if uy.abs() > 1e-9 {
                (box_h / 2.0) / uy.abs()
            } else {
                f64::INFINITY
            };
            tx.min(ty)
        };
        let (ux, uy) = (dx / len, dy / len);
        let t = clip(ux, uy) + 2.0;
        let (x1, y1) = (a.0 + ux * t, a.1 + uy * t);
        let (x2, y2) = (b.0 - ux * t, b.1 - uy * t);
        // Bend outwards a little so that a -> b and b -> a do not overlap.
        let (mx, my) = ((x1 + x2) / 2.0 - uy * 24.0, (y1 + y2) / 2.0 + ux * 24.0);
        let _ = writeln!(
            out,
            r#"<path d="M{x1:.1},{y1:.1} Q{mx:.1},{my:.1} {x2:.1},{y2:.1}" fill="none" stroke="{col}" stroke-width="2" marker-end="url(#arrow-{})"/><text x="{:.1}" y="{:.1}" fill="{col}" text-anchor="middle">{}</text>"#,
            s.rel,
            mx,
            my - 4.0,
            xml_escape(&label)
        );
    }
    for (i, t) in c.cycle.iter().enumerate() {
        let (x, y) = pos[i];
        let _ = writeln!(
            out,
            r#"<g><rect x="{:.1}" y="{:.1}" width="{box_w:.0}" height="{box_h:.0}" rx="6" fill="{BOX_FILL}" stroke="black"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{}</text><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"#,
            x - box_w / 2.0,
            y - box_h / 2.0,
            y - 5.0,
            xml_escape(&format!(
                "T{} (op {}, p{}, :{})",
                i + 1,
                t.index,
                t.process,
                t.kind
            )),
            y + 13.0,
            xml_escape(&cut(&t.value))
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Writes what Elle writes into its `:directory` for the cycle anomalies of `v`: per anomaly type
/// `<type>.txt` (each cycle as `"<type> #<i>"` and its "Let … a contradiction!" explanation,
/// separated by two blank lines), and `<type>/<i>.svg` plus `<type>/<i>.dot` per cycle. Returns the
/// files written, in order. Non-cycle anomalies get no files (as in Elle).
pub fn write_directory(dir: &Path, v: &Verdict) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (kind, cases) in &v.anomalies {
        let cycles: Vec<CycleExplanation> = cases
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| serde_json::from_value(c.clone()).ok())
            .collect();
        if cycles.is_empty() {
            continue;
        }
        std::fs::create_dir_all(dir.join(kind))?;
        let text: Vec<String> = cycles
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{kind} #{i}\n{}", render(c)))
            .collect();
        let txt = dir.join(format!("{kind}.txt"));
        std::fs::write(&txt, text.join("\n\n\n"))?;
        written.push(txt);
        for (i, c) in cycles.iter().enumerate() {
            let svg = dir.join(kind).join(format!("{i}.svg"));
            std::fs::write(&svg, cycle_svg(c))?;
            written.push(svg);
            let d = dir.join(kind).join(format!("{i}.dot"));
            std::fs::write(&d, dot(c))?;
            written.push(d);
        }
    }
    Ok(written)
}
