//! The ops timeline, as Jepsen's `timeline.html`: one lane per process, time running down, each op a
//! bar from invoke to completion coloured by outcome, fault windows as shaded horizontal bands, and
//! a `nemesis` lane (process < 0) whose bars are the faults.
//!
//! Hand-written SVG rather than plotters, because each bar carries a `<title>` (hover text with the
//! op's `f`, outcome, times and label), which plotters cannot emit. Contract: pure, byte-identical
//! for equal input, every piece of user text escaped, numbers with fixed decimals.

use crate::model::{OpKind, Timeline};
use crate::plots::{band_rgb, downsample, kind_rgb, time_end_ms, MAX_POINTS};
use crate::text::{escape_html, fmt_num, shorten};
use std::fmt::Write;

const PLOT_HEIGHT: f64 = 720.0;
const TOP: f64 = 44.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 140.0;
const LABEL_MAX: usize = 200;

/// Renders the timeline as an inline `<svg>` element (no `xmlns`, no script).
pub fn timeline_svg(tl: &Timeline) -> String {
    let end_ms = time_end_ms(tl);
    let mut procs: Vec<i64> = tl.ops.iter().map(|o| o.process).collect();
    procs.sort_unstable();
    procs.dedup();
    let lanes = procs.len().max(1);
    let lane_w = (1000.0 / lanes as f64).clamp(12.0, 110.0);
    let width = LEFT + lane_w * lanes as f64 + RIGHT;
    let height = TOP + PLOT_HEIGHT + 16.0;
    let y_of = |ms: f64| TOP + (ms.clamp(0.0, end_ms) / end_ms) * PLOT_HEIGHT;

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"timeline\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" \
         font-family=\"sans-serif\" font-size=\"11\">",
        w = width,
        h = height
    );
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#fff\"/>"
    );
    // One class per outcome keeps each bar short.
    s.push_str("<style>");
    for kind in OpKind::ALL {
        let (r, g, b) = kind_rgb(kind);
        let _ = write!(
            s,
            ".{}{{fill:rgb({r},{g},{b});fill-opacity:0.85}}",
            kind.as_str()
        );
    }
    s.push_str(".nem{fill:rgb(120,60,170);fill-opacity:0.8}</style>\n");
    legend(&mut s);

    // Fault bands under the bars.
    let plot_right = LEFT + lane_w * lanes as f64;
    for (i, (band, (r, g, b))) in tl.faults.iter().zip(band_rgb(&tl.faults)).enumerate() {
        if !(band.start_ms.is_finite() && band.end_ms.is_finite()) {
            continue;
        }
        let (y0, y1) = (y_of(band.start_ms), y_of(band.end_ms.max(band.start_ms)));
        let name = escape_html(&band.name);
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
             fill=\"rgb({r},{g},{b})\" fill-opacity=\"0.18\"><title>{name}: {}–{} ms</title></rect>",
            plot_right - LEFT,
            (y1 - y0).max(1.0),
            fmt_num(band.start_ms),
            fmt_num(band.end_ms)
        );
        // Bars hide the shading inside lanes, so each band also gets a solid strip in the right
        // gutter, side by side when windows overlap.
        let x = plot_right + 4.0 + 6.0 * (i % 4) as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y0:.1}\" width=\"4\" height=\"{:.1}\" fill=\"rgb({r},{g},{b})\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"rgb({r},{g},{b})\">{name}</text>",
            (y1 - y0).max(1.0),
            plot_right + 30.0,
            y0 + 11.0 + 12.0 * (i % 4) as f64
        );
    }

    time_axis(&mut s, end_ms, &y_of, plot_right);

    // Lane headers and separators.
    for (i, p) in procs.iter().enumerate() {
        let x = LEFT + lane_w * i as f64;
        let name = if *p < 0 {
            "nemesis".to_string()
        } else {
            p.to_string()
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x + lane_w / 2.0,
            TOP - 6.0,
            escape_html(&name)
        );
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>",
            TOP + PLOT_HEIGHT
        );
    }

    // Bars.
    let pad = (lane_w * 0.1).min(4.0);
    for op in downsample(&tl.ops, MAX_POINTS) {
        let Ok(lane) = procs.binary_search(&op.process) else {
            continue;
        };
        if !(op.start_ms.is_finite() && op.end_ms.is_finite()) {
            continue;
        }
        let (y0, y1) = (y_of(op.start_ms), y_of(op.end_ms.max(op.start_ms)));
        let (class, who) = if op.process < 0 {
            ("nem", "nemesis".to_string())
        } else {
            (op.kind.as_str(), format!("process {}", op.process))
        };
        let _ = writeln!(
            s,
            "<rect class=\"{class}\" x=\"{:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\">\
             <title>{who} {} {} {}–{} ms ({} ms): {}</title></rect>",
            LEFT + lane_w * lane as f64 + pad,
            lane_w - 2.0 * pad,
            (y1 - y0).max(1.5),
            escape_html(&op.f),
            op.kind.as_str(),
            fmt_ms(op.start_ms),
            fmt_ms(op.end_ms),
            fmt_ms(op.latency_ms()),
            escape_html(&shorten(&op.label, LABEL_MAX))
        );
    }
    s.push_str("</svg>\n");
    s
}

fn legend(s: &mut String) {
    let mut x = LEFT;
    for kind in OpKind::ALL {
        let (r, g, b) = kind_rgb(kind);
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"6\" width=\"12\" height=\"12\" fill=\"rgb({r},{g},{b})\"/>\
             <text x=\"{:.1}\" y=\"16\">{}</text>",
            x + 16.0,
            kind.as_str()
        );
        x += 60.0;
    }
    let _ = writeln!(
        s,
        "<rect x=\"{x:.1}\" y=\"6\" width=\"12\" height=\"12\" fill=\"rgb(120,60,170)\"/>\
         <text x=\"{:.1}\" y=\"16\">nemesis</text>",
        x + 16.0
    );
    x += 80.0;
    let _ = writeln!(
        s,
        "<text x=\"{x:.1}\" y=\"16\" fill=\"#666\">process lanes; time runs down; hover an op \
         for its values</text>"
    );
}

/// Left-hand time axis with about ten ticks at a "nice" step.
fn time_axis(s: &mut String, end_ms: f64, y_of: &dyn Fn(f64) -> f64, plot_right: f64) {
    let step = nice_step(end_ms / 10.0);
    let unit_s = end_ms >= 10_000.0;
    let mut k = 0u32;
    loop {
        let t = step * f64::from(k);
        if t > end_ms + 1e-9 || k > 1000 {
            break;
        }
        let y = y_of(t);
        let label = if unit_s {
            format!("{} s", fmt_num(t / 1000.0))
        } else {
            format!("{} ms", fmt_num(t))
        };
        let _ = writeln!(
            s,
            "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{plot_right:.1}\" y2=\"{y:.1}\" stroke=\"#f0f0f0\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444\">{label}</text>",
            LEFT - 4.0,
            LEFT - 6.0,
            y + 4.0
        );
        k += 1;
    }
}

/// Milliseconds with one decimal, for hover text.
fn fmt_ms(ms: f64) -> String {
    fmt_num((ms * 10.0).round() / 10.0)
}

/// Smallest of 1, 2, 5 × 10^k that is ≥ `x` (x > 0).
fn nice_step(x: f64) -> f64 {
    let x = if x.is_finite() && x > 0.0 { x } else { 1.0 };
    let mut scale = 10f64.powf(x.log10().floor());
    loop {
        for n in [1.0, 2.0, 5.0] {
            if n * scale >= x {
                return n * scale;
            }
        }
        scale *= 10.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(1000.0), 1000.0);
        assert_eq!(nice_step(1200.0), 2000.0);
    }
}
