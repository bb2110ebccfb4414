//! Plots per `:f`, as Jepsen's `latency-quantiles.png` and `rate.png`: latency p50 / p95 / p99
//! over time and completions per second, one colour per `:f`, fault windows shaded.
//!
//! Contract: pure, byte-identical SVG for equal timelines; only client ops (process ≥ 0) count;
//! every op counts (no thinning); at most [`MAX_FS`] `:f` values get their own series (the rest are
//! merged into `other`), so a hostile timeline cannot make the legend unbounded.

use crate::model::{OpKind, Timeline, TimelineOp};
use crate::plots::{bin_width_s, draw_bands, legend, strip_xmlns, time_end_ms, TIME_MAX_MS};
use crate::text::{fmt_num, shorten};
use plotters::prelude::*;

/// Most `:f` values drawn as their own series.
pub const MAX_FS: usize = 6;
const WIDTH: u32 = 1100;
const HEIGHT: u32 = 320;

const F_PALETTE: [(u8, u8, u8); 7] = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (140, 86, 75),
    (127, 127, 127),
];

/// The `:f` values of client ops, by first appearance, cut to [`MAX_FS`] (then `"other"`), and
/// for each op the index of its group.
pub fn f_groups(ops: &[&TimelineOp]) -> (Vec<String>, Vec<usize>) {
    let mut names: Vec<String> = Vec::new();
    let mut idx = Vec::with_capacity(ops.len());
    for op in ops {
        let name = shorten(&op.f, 24);
        let i = match names.iter().position(|n| *n == name) {
            Some(i) => i,
            None if names.len() < MAX_FS => {
                names.push(name);
                names.len() - 1
            }
            None => MAX_FS,
        };
        idx.push(i);
    }
    if idx.contains(&MAX_FS) {
        names.push("other".into());
    }
    (names, idx)
}

/// The `q` quantile (0..=1) of sorted `xs` by the nearest-rank method; `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Per `:f` group and time bin (by invoke time), the p50 / p95 / p99 latency of the ops invoked in
/// that bin; `None` for an empty bin. Returns (group names, bin width s, per group per bin).
#[allow(clippy::type_complexity)]
pub fn latency_quantiles(tl: &Timeline) -> (Vec<String>, f64, Vec<Vec<Option<[f64; 3]>>>) {
    let t_end_s = time_end_ms(tl) / 1000.0;
    let w = bin_width_s(t_end_s);
    let bins = ((t_end_s / w).ceil() as usize).clamp(1, 1000);
    let ops: Vec<&TimelineOp> = tl
        .ops
        .iter()
        .filter(|o| o.process >= 0 && o.start_ms.is_finite() && o.end_ms.is_finite())
        .collect();
    let (names, idx) = f_groups(&ops);
    let mut lat = vec![vec![Vec::<f64>::new(); bins]; names.len()];
    for (op, g) in ops.iter().zip(idx) {
        let b = ((op.start_ms.max(0.0) / 1000.0 / w) as usize).min(bins - 1);
        lat[g][b].push(op.latency_ms().min(TIME_MAX_MS));
    }
    let q = lat
        .into_iter()
        .map(|per_bin| {
            per_bin
                .into_iter()
                .map(|mut xs| {
                    xs.sort_by(f64::total_cmp);
                    Some([
                        quantile(&xs, 0.5)?,
                        quantile(&xs, 0.95)?,
                        quantile(&xs, 0.99)?,
                    ])
                })
                .collect()
        })
        .collect();
    (names, w, q)
}

/// Latency quantiles over time: per `:f` one colour, p50 thin, p95 medium, p99 thick and pale;
/// log-scale latency axis; fault windows shaded.
pub fn latency_quantiles_svg(tl: &Timeline) -> Result<String, String> {
    let t_end_s = time_end_ms(tl) / 1000.0;
    let (names, w, q) = latency_quantiles(tl);
    let all = q.iter().flatten().flatten().flat_map(|a| a.iter().copied());
    let (mut lo, mut hi) = (f64::INFINITY, 1.0_f64);
    for x in all {
        lo = lo.min(x.max(0.1));
        hi = hi.max(x);
    }
    let lo = if lo.is_finite() { lo } else { 0.1 };
    let y_lo = 10f64.powf(lo.log10().floor()).max(0.1);
    let y_hi = 10f64.powf(hi.log10().ceil()).max(y_lo * 10.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..t_end_s, (y_lo..y_hi).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("latency (ms)")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_bands(&mut chart, &tl.faults, y_lo..y_hi).map_err(|e| e.to_string())?;
        for (g, name) in names.iter().enumerate() {
            let (r, gg, b) = F_PALETTE[g % F_PALETTE.len()];
            let color = RGBColor(r, gg, b);
            for (k, (label, width, alpha)) in
                [("p50", 1u32, 1.0), ("p95", 2, 0.75), ("p99", 3, 0.45)]
                    .into_iter()
                    .enumerate()
            {
                // One line per run of consecutive non-empty bins: no line across empty bins.
                let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
                let mut prev: Option<usize> = None;
                for (i, v) in q[g].iter().enumerate() {
                    let Some(v) = v else { continue };
                    if prev.is_none_or(|p| p + 1 != i) {
                        segments.push(Vec::new());
                    }
                    if let Some(seg) = segments.last_mut() {
                        seg.push(((i as f64 + 0.5) * w, v[k].clamp(y_lo, y_hi)));
                    }
                    prev = Some(i);
                }
                let style = color.mix(alpha).stroke_width(width);
                for (n, seg) in segments.into_iter().enumerate() {
                    let drawn = if seg.len() == 1 {
                        chart.draw_series(
                            seg.into_iter()
                                .map(|p| Circle::new(p, width + 1, style.filled())),
                        )
                    } else {
                        chart.draw_series(LineSeries::new(seg, style))
                    }
                    .map_err(|e| e.to_string())?;
                    if n == 0 {
                        drawn
                            .label(format!("{name} {label}"))
                            .legend(move |(x, y)| {
                                PathElement::new(vec![(x, y), (x + 16, y)], style)
                            });
                    }
                }
            }
        }
        legend(&mut chart).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(strip_xmlns(svg))
}

/// Completions per second per `:f` (ok ops solid, fail and info ops as thinner, paler lines of
/// the same colour), in bins of [`bin_width_s`]; fault windows shaded.
pub fn rate_by_f_svg(tl: &Timeline) -> Result<String, String> {
    let t_end_s = time_end_ms(tl) / 1000.0;
    let w = bin_width_s(t_end_s);
    let bins = ((t_end_s / w).ceil() as usize).clamp(1, 1000);
    let ops: Vec<&TimelineOp> = tl
        .ops
        .iter()
        .filter(|o| o.process >= 0 && o.end_ms.is_finite())
        .collect();
    let (names, idx) = f_groups(&ops);
    let mut counts = vec![vec![vec![0u64; bins]; OpKind::ALL.len()]; names.len()];
    for (op, g) in ops.iter().zip(idx) {
        let b = ((op.end_ms.max(0.0) / 1000.0 / w) as usize).min(bins - 1);
        let k = OpKind::ALL.iter().position(|k| *k == op.kind).unwrap_or(0);
        counts[g][k][b] += 1;
    }
    let y_hi = counts
        .iter()
        .flatten()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0) as f64
        / w;
    let y_hi = y_hi.max(1.0) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..t_end_s, 0f64..y_hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("ops/s")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_bands(&mut chart, &tl.faults, 0.0..y_hi).map_err(|e| e.to_string())?;
        for (g, name) in names.iter().enumerate() {
            let (r, gg, b) = F_PALETTE[g % F_PALETTE.len()];
            let color = RGBColor(r, gg, b);
            for (k, kind) in OpKind::ALL.into_iter().enumerate() {
                let series = &counts[g][k];
                if series.iter().all(|c| *c == 0) {
                    continue;
                }
                let style = match kind {
                    OpKind::Ok => color.stroke_width(2),
                    _ => color.mix(0.5).stroke_width(1),
                };
                let points = series
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (((i as f64) + 0.5) * w, *c as f64 / w));
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(|e| e.to_string())?
                    .label(format!("{name} {}", kind.as_str()))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
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
    fn nearest_rank_quantiles() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&xs, 0.5), Some(50.0));
        assert_eq!(quantile(&xs, 0.95), Some(95.0));
        assert_eq!(quantile(&xs, 0.99), Some(99.0));
        assert_eq!(quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn quantiles_are_per_f_and_skip_the_nemesis() {
        let op = |p: i64, f: &str, t: f64, lat: f64| TimelineOp {
            process: p,
            start_ms: t,
            end_ms: t + lat,
            kind: OpKind::Ok,
            f: f.into(),
            label: String::new(),
        };
        let tl = Timeline {
            lags: Vec::new(),
            ops: vec![
                op(0, "read", 10.0, 2.0),
                op(1, "write", 20.0, 8.0),
                op(-1, "nemesis", 5.0, 500.0),
            ],
            faults: vec![],
            end_ms: 1000.0,
        };
        let (names, _, q) = latency_quantiles(&tl);
        assert_eq!(names, ["read", "write"]);
        // 10 ms bins over one second: the read falls in bin 1, the write in bin 2.
        assert_eq!(q[0][1], Some([2.0, 2.0, 2.0]));
        assert_eq!(q[1][2], Some([8.0, 8.0, 8.0]));
        assert_eq!(
            q[0].iter().flatten().count() + q[1].iter().flatten().count(),
            2
        );
    }
}
