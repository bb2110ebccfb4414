//! Pictures of anomalies: an Elle cycle as a directed graph, a Porcupine-style view of a
//! linearizability failure, and bank reads against the expected total.
//!
//! Cycles are read from a checker verdict's `anomalies` JSON (Elle's shape: each instance an object
//! with `cycle` = transactions and `steps` = edges with `type`, `from`, `to`, `reason`). The reader is
//! tolerant: instances without that shape are skipped, missing fields get defaults, so a checker
//! that adds fields (or kinds without cycles) never breaks the page. Contract of every function:
//! pure, byte-identical for equal input, user text escaped, no `xmlns`, no `url(`, no script.

use crate::model::FaultBand;
use crate::plots::{draw_bands, legend, strip_xmlns};
use crate::text::{escape_html as esc, fmt_num, shorten};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Most cycles drawn per verdict; the prose still lists every anomaly.
pub const MAX_CYCLES: usize = 6;

/// One cycle anomaly as drawn: transactions `T1…Tn` in cycle order and one edge per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    /// Anomaly kind, e.g. `"G1c"`, `"G-single-item"`.
    pub kind: String,
    pub txns: Vec<CycleTxn>,
    pub steps: Vec<CycleStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleTxn {
    pub process: String,
    /// `:index` of the op in the history.
    pub index: String,
    /// `ok`, `info`, `fail`.
    pub kind: String,
    /// The micro-ops as EDN.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleStep {
    pub from: usize,
    pub to: usize,
    /// `ww`, `wr`, `rw`, `process`, `realtime`.
    pub rel: String,
    /// Why, with `{a}` / `{b}` already replaced by the transactions' names.
    pub reason: String,
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every cycle in a verdict's `anomalies` object (kinds in key order, instances in order), at most
/// [`MAX_CYCLES`]. Steps whose ends are outside the cycle are dropped.
pub fn cycles_from_anomalies(anomalies: &serde_json::Value) -> Vec<Cycle> {
    let mut out = Vec::new();
    let Some(map) = anomalies.as_object() else {
        return out;
    };
    for (kind, list) in map {
        let items: Vec<&serde_json::Value> = match list {
            serde_json::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for item in items {
            if out.len() >= MAX_CYCLES {
                return out;
            }
            let (Some(cycle), Some(steps)) = (item["cycle"].as_array(), item["steps"].as_array())
            else {
                continue;
            };
            let txns: Vec<CycleTxn> = cycle
                .iter()
                .map(|t| CycleTxn {
                    process: text_of(&t["process"]),
                    index: text_of(&t["index"]),
                    kind: text_of(&t["type"]),
                    value: text_of(&t["value"]),
                })
                .collect();
            let name = |i: usize| format!("T{}", i + 1);
            let steps = steps
                .iter()
                .filter_map(|s| {
                    let from = s["from"].as_u64()? as usize;
                    let to = s["to"].as_u64()? as usize;
                    if from >= txns.len() || to >= txns.len() {
                        return None;
                    }
                    let reason = text_of(&s["reason"])
                        .replace("{a}", &name(from))
                        .replace("{b}", &name(to));
                    Some(CycleStep {
                        from,
                        to,
                        rel: text_of(&s["type"]),
                        reason,
                    })
                })
                .collect();
            if txns.is_empty() {
                continue;
            }
            let kind = item["type"].as_str().unwrap_or(kind).to_string();
            out.push(Cycle { kind, txns, steps });
        }
    }
    out
}

/// Edge colour by relationship.
fn rel_rgb(rel: &str) -> &'static str {
    match rel {
        "ww" => "#1f77b4",
        "wr" => "#2ca02c",
        "rw" => "#d62728",
        "realtime" | "rt" => "#7f7f7f",
        "process" => "#9467bd",
        _ => "#444",
    }
}

/// The cycle as an SVG graph: transactions on a circle, each edge an arc with an arrowhead and its
/// relationship as a label (hover: the reason), then a key listing each transaction's ops.
pub fn cycle_svg(c: &Cycle) -> String {
    let n = c.txns.len().max(1);
    let r_node = 24.0;
    // Nodes about 84 px apart along the circle, whatever their number.
    let radius = if n == 1 {
        0.0
    } else {
        (n as f64 * 84.0 / std::f64::consts::TAU).clamp(90.0, 700.0)
    };
    let (w, h) = (2.0 * radius + 140.0, 2.0 * radius + 110.0);
    let (cx, cy) = (w / 2.0, 30.0 + (h - 60.0) / 2.0);
    let pos = |i: usize| {
        let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
        (cx + radius * a.cos(), cy + radius * a.sin())
    };
    let mut s = format!(
        "<svg class=\"cycle\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" \
         font-family=\"sans-serif\" font-size=\"12\"><rect width=\"{w:.0}\" height=\"{h:.0}\" \
         fill=\"#fff\"/><text x=\"8\" y=\"16\" font-weight=\"700\">{} cycle, {} transactions</text>",
        esc(&c.kind),
        c.txns.len()
    );
    for st in &c.steps {
        let ((x0, y0), (x1, y1)) = (pos(st.from), pos(st.to));
        let colour = rel_rgb(&st.rel);
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-6 {
            // A self-loop: a small circle above the node.
            let _ = write!(
                s,
                "<circle cx=\"{x0:.1}\" cy=\"{:.1}\" r=\"14\" fill=\"none\" stroke=\"{colour}\" \
                 stroke-width=\"2\"><title>{}</title></circle>",
                y0 - r_node - 10.0,
                esc(&st.reason)
            );
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        // Bend every edge to its right, so that a→b and b→a do not overlap.
        let bend = 0.18 * len;
        let (mx, my) = ((x0 + x1) / 2.0 - uy * bend, (y0 + y1) / 2.0 + ux * bend);
        let (sx, sy) = (x0 + ux * r_node, y0 + uy * r_node);
        // End where the curve meets the target circle, approximately: along the control-point
        // direction.
        let (tx, ty) = (x1 - mx, y1 - my);
        let tl = (tx * tx + ty * ty).sqrt().max(1e-6);
        let (ex, ey) = (x1 - tx / tl * (r_node + 2.0), y1 - ty / tl * (r_node + 2.0));
        let (ax, ay) = (tx / tl, ty / tl);
        let (p1x, p1y) = (ex - ax * 10.0 - ay * 5.0, ey - ay * 10.0 + ax * 5.0);
        let (p2x, p2y) = (ex - ax * 10.0 + ay * 5.0, ey - ay * 10.0 - ax * 5.0);
        let (lx, ly) = ((sx + 2.0 * mx + ex) / 4.0, (sy + 2.0 * my + ey) / 4.0);
        let _ = write!(
            s,
            "<g class=\"edge\"><title>{reason}</title><path d=\"M{sx:.1},{sy:.1} Q{mx:.1},{my:.1} \
             {ex:.1},{ey:.1}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/><polygon \
             points=\"{ex:.1},{ey:.1} {p1x:.1},{p1y:.1} {p2x:.1},{p2y:.1}\" fill=\"{colour}\"/>\
             <text x=\"{lx:.1}\" y=\"{ly:.1}\" fill=\"{colour}\" font-weight=\"700\" \
             text-anchor=\"middle\">{rel}</text></g>",
            reason = esc(&st.reason),
            rel = esc(match st.rel.as_str() {
                "realtime" => "rt",
                "process" => "proc",
                r => r,
            })
        );
    }
    for (i, t) in c.txns.iter().enumerate() {
        let (x, y) = pos(i);
        let fill = if t.kind == "ok" || t.kind.is_empty() {
            "#e8f1fb"
        } else {
            "#fdebd0"
        };
        let _ = write!(
            s,
            "<g class=\"txn\"><title>T{} = process {}, :index {}, {}: {}</title><circle \
             cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r_node}\" fill=\"{fill}\" stroke=\"#333\"/><text \
             x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"700\">T{}</text><text \
             x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">p{}</text></g>",
            i + 1,
            esc(&t.process),
            esc(&t.index),
            esc(&t.kind),
            esc(&shorten(&t.value, 300)),
            y + 1.0,
            i + 1,
            y + 13.0,
            esc(&shorten(&t.process, 6)),
        );
    }
    s.push_str("</svg>\n");
    s
}

/// A cycle as HTML: the picture, a key of transactions and the steps in words.
pub fn cycle_html(c: &Cycle) -> String {
    let mut s = String::from("<div class=\"anomaly cycle-pic\">\n");
    s.push_str(&cycle_svg(c));
    s.push_str("<ul class=\"key\">");
    for (i, t) in c.txns.iter().enumerate() {
        let _ = write!(
            s,
            "<li><b>T{}</b> = process {}, :index {} ({}): <code>{}</code></li>",
            i + 1,
            esc(&t.process),
            esc(&t.index),
            esc(&t.kind),
            esc(&shorten(&t.value, 400))
        );
    }
    for st in &c.steps {
        let _ = write!(
            s,
            "<li>T{} → T{} (<b>{}</b>): {}</li>",
            st.from + 1,
            st.to + 1,
            esc(&st.rel),
            esc(&st.reason)
        );
    }
    s.push_str("</ul>\n</div>\n");
    s
}

/// A linearizability failure as Porcupine shows it: the last ops of the longest linearizable
/// prefix (numbered in linearization order), the op that cannot be placed, and the ops concurrent
/// with it, on one lane per process with time running right; the possible states after the prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearView {
    pub key: Option<String>,
    /// Length of the whole longest linearizable prefix (only its last ops are in `ops`).
    pub prefix_length: usize,
    /// Model states possible after that prefix.
    pub states: Vec<String>,
    pub ops: Vec<LinearOp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearOp {
    pub process: String,
    pub start_ms: f64,
    pub end_ms: f64,
    /// e.g. `":read nil -> :ok 3"`.
    pub label: String,
    pub role: LinearRole,
    /// Position in the linearization (1-based, over the whole prefix) for prefix ops.
    pub position: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearRole {
    /// Part of the longest linearizable prefix.
    Prefix,
    /// The op that cannot be linearized.
    Blocked,
    /// Concurrent with the blocked op and not in the prefix.
    Concurrent,
}

/// The Porcupine-style picture of `v` (see [`LinearView`]).
pub fn linear_svg(v: &LinearView) -> String {
    let mut procs: Vec<&str> = v.ops.iter().map(|o| o.process.as_str()).collect();
    procs.sort_unstable();
    procs.dedup();
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    // Porcupine's compressed time: every invoke and completion gets the next slot, in time order,
    // so real-time order and overlaps are exact while short ops stay readable.
    let mut ticks: Vec<f64> = v
        .ops
        .iter()
        .flat_map(|o| [finite(o.start_ms), finite(o.end_ms.max(o.start_ms))])
        .collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    let (left, right, lane_h, top) = (90.0, 20.0, 46.0, 40.0);
    let slots = ticks.len().max(2) as f64 - 1.0;
    let w = (left + right + slots * 70.0).clamp(600.0, 1400.0);
    let h = top + lane_h * procs.len().max(1) as f64 + 30.0;
    let x = |t: f64| {
        let rank = ticks.partition_point(|u| *u < finite(t)) as f64;
        left + rank / slots * (w - left - right)
    };
    let mut s = format!(
        "<svg class=\"linear\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" \
         font-family=\"sans-serif\" font-size=\"11\"><rect width=\"{w:.0}\" height=\"{h:.0}\" \
         fill=\"#fff\"/><text x=\"8\" y=\"16\" font-weight=\"700\">{}longest linearizable prefix: \
         {} ops; the red op cannot be placed</text><text x=\"8\" y=\"31\" fill=\"#555\">green: last \
         ops of the prefix, numbered in linearization order; grey: concurrent ops not in it; time is \
         compressed (each invoke or completion one step)</text>",
        v.key.as_ref().map(|k| format!("key {}: ", esc(k))).unwrap_or_default(),
        v.prefix_length
    );
    for (i, p) in procs.iter().enumerate() {
        let y = top + lane_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"8\" y=\"{:.1}\">process {}</text><line x1=\"{left}\" y1=\"{:.1}\" \
             x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>",
            y + 21.0,
            esc(&shorten(p, 8)),
            y + lane_h,
            w - right,
            y + lane_h
        );
    }
    for op in &v.ops {
        let lane = procs.iter().position(|p| *p == op.process).unwrap_or(0);
        let y = top + lane_h * lane as f64 + 6.0;
        let (x0, x1) = (x(op.start_ms), x(op.end_ms.max(op.start_ms)));
        let (fill, stroke, role) = match op.role {
            LinearRole::Prefix => ("#b7e1b0", "#2a9d2a", "prefix"),
            LinearRole::Blocked => ("#f4b4b4", "#c62828", "blocked"),
            LinearRole::Concurrent => ("#e0e0e0", "#888", "concurrent"),
        };
        let num = op.position.map(|p| format!("#{p} ")).unwrap_or_default();
        let width = (x1 - x0).max(6.0);
        let _ = write!(
            s,
            "<g class=\"{role}\"><title>{num}process {} {}–{} ms: {}</title><rect x=\"{x0:.1}\" \
             y=\"{y:.1}\" width=\"{width:.1}\" height=\"20\" rx=\"3\" fill=\"{fill}\" \
             stroke=\"{stroke}\" stroke-width=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" \
             font-weight=\"700\">{}</text><text x=\"{x0:.1}\" y=\"{:.1}\" font-size=\"10\" \
             fill=\"#333\">{}</text></g>",
            esc(&op.process),
            fmt_num(op.start_ms),
            fmt_num(op.end_ms),
            esc(&op.label),
            if op.role == LinearRole::Blocked { 3 } else { 1 },
            x0 + 3.0,
            y + 14.0,
            esc(num.trim_end()),
            y + 31.0,
            esc(&shorten(&op.label, ((width + 110.0) / 5.5) as usize))
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"{:.1}\">possible states after the prefix: {}</text></svg>",
        h - 10.0,
        esc(&shorten(&v.states.join(", "), 200))
    );
    s
}

/// Bank reads against the expected total: every read's total over time (reads through the
/// writer as dots, through the reader endpoint as crosses), wrong totals red, the expected total
/// a line, fault windows shaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BankView {
    pub expected_total: f64,
    pub reads: Vec<BankRead>,
    pub faults: Vec<FaultBand>,
    pub end_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BankRead {
    pub t_ms: f64,
    pub total: f64,
    /// Through the reader endpoint (a replica) rather than the writer.
    pub reader: bool,
}

/// The bank picture (see [`BankView`]); errors are plotters' drawing errors as text.
pub fn bank_svg(v: &BankView) -> Result<String, String> {
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    let end_s = (v
        .reads
        .iter()
        .map(|r| finite(r.t_ms))
        .fold(finite(v.end_ms), f64::max)
        / 1000.0)
        .max(0.001);
    let exp = finite(v.expected_total);
    let (mut lo, mut hi) = (exp, exp);
    for r in &v.reads {
        lo = lo.min(finite(r.total));
        hi = hi.max(finite(r.total));
    }
    let pad = ((hi - lo) * 0.1).max(1.0);
    let (lo, hi) = (lo - pad, hi + pad);
    let bad = v
        .reads
        .iter()
        .filter(|r| r.total != v.expected_total)
        .count();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .caption(
                format!(
                    "{bad} of {} reads with a wrong total (expected {})",
                    v.reads.len(),
                    fmt_num(exp)
                ),
                ("sans-serif", 14),
            )
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..end_s, lo..hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("total of a read")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_bands(&mut chart, &v.faults, lo..hi).map_err(|e| e.to_string())?;
        let black = RGBColor(40, 40, 40);
        chart
            .draw_series(LineSeries::new(
                [(0.0, exp), (end_s, exp)],
                black.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?
            .label("expected total")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], black));
        let green = RGBColor(44, 160, 44);
        let red = RGBColor(214, 39, 40);
        for (reader, wrong) in [(false, false), (true, false), (false, true), (true, true)] {
            let pts: Vec<(f64, f64)> = v
                .reads
                .iter()
                .filter(|r| r.reader == reader && (r.total != v.expected_total) == wrong)
                .map(|r| (finite(r.t_ms) / 1000.0, finite(r.total)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let label = format!(
                "{} through the {}",
                if wrong { "wrong total" } else { "right total" },
                if reader { "reader endpoint" } else { "writer" }
            );
            let c = if wrong { red } else { green };
            if reader {
                chart
                    .draw_series(pts.into_iter().map(|p| Cross::new(p, 3, c.stroke_width(1))))
                    .map_err(|e| e.to_string())?
                    .label(label)
                    .legend(move |(x, y)| Cross::new((x + 8, y), 4, c.stroke_width(1)));
            } else {
                chart
                    .draw_series(pts.into_iter().map(|p| Circle::new(p, 2, c.filled())))
                    .map_err(|e| e.to_string())?
                    .label(label)
                    .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
            }
        }
        legend(&mut chart).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(strip_xmlns(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_read_tolerantly() {
        let a = serde_json::json!({
            "G1c": [{"type": "G1c", "cycle": [{"index": 4, "process": 1, "type": "ok", "value": "[[:append 1 2]]"},
                                             {"index": 9, "process": 2, "type": "ok", "value": "[[:r 1 [2]]]"}],
                     "steps": [{"type": "wr", "from": 0, "to": 1, "reason": "{b} read {a}'s append"},
                               {"type": "ww", "from": 1, "to": 0, "reason": "x"},
                               {"type": "rw", "from": 7, "to": 0, "reason": "out of range"}]},
                    {"no": "cycle here"}],
            "G1a": {"op": 3}
        });
        let cs = cycles_from_anomalies(&a);
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].steps.len(), 2);
        assert_eq!(cs[0].steps[0].reason, "T2 read T1's append");
        let svg = cycle_svg(&cs[0]);
        assert_eq!(svg.matches("<g class=\"edge\">").count(), 2);
        assert_eq!(svg.matches("<g class=\"txn\">").count(), 2);
        assert!(cycles_from_anomalies(&serde_json::json!(null)).is_empty());
    }
}
