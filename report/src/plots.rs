//! Latency and throughput plots (plotters, SVG backend), with a shaded band per fault window, as
//! Jepsen's `latency-raw.png` and `rate.png`.
//!
//! Contract: each function is pure; equal timelines give byte-identical SVG. Point clouds above
//! [`MAX_POINTS`] ops are thinned with [`downsample`], which is deterministic and keeps the
//! invocation order. The returned SVG has no `xmlns` attribute (it is meant to be inlined in
//! HTML5, where it is not needed), so the page holds no URL at all.

use crate::model::{FaultBand, OpKind, Timeline, TimelineOp};
use crate::text::fmt_num;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

/// Most points drawn per plot; above it ops are thinned deterministically.
pub const MAX_POINTS: usize = 3000;

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 320;

/// Fill colour of an outcome: ok green, fail red, info orange.
pub fn kind_rgb(kind: OpKind) -> (u8, u8, u8) {
    match kind {
        OpKind::Ok => (44, 160, 44),
        OpKind::Fail => (214, 39, 40),
        OpKind::Info => (255, 127, 14),
    }
}

/// Band colours, assigned to fault names in order of first appearance.
const BAND_PALETTE: [(u8, u8, u8); 6] = [
    (90, 110, 200),
    (150, 90, 180),
    (60, 160, 170),
    (180, 140, 60),
    (120, 120, 120),
    (200, 90, 140),
];

/// The colour of each band: the same fault name always gets the same colour within a timeline.
pub fn band_rgb(faults: &[FaultBand]) -> Vec<(u8, u8, u8)> {
    let mut names: Vec<&str> = Vec::new();
    faults
        .iter()
        .map(|f| {
            let i = match names.iter().position(|n| *n == f.name) {
                Some(i) => i,
                None => {
                    names.push(&f.name);
                    names.len() - 1
                }
            };
            BAND_PALETTE[i % BAND_PALETTE.len()]
        })
        .collect()
}

/// Longest time axis drawn (about 115 days of simulated time). Larger times are clamped to it:
/// plotters' tick computation does not terminate in reasonable time on ranges near `f64::MAX`.
pub const TIME_MAX_MS: f64 = 1e10;

/// End of the time axis in ms: the largest of `end_ms`, any op's end and any fault's end, ignoring
/// non-finite values; at least 1, at most [`TIME_MAX_MS`].
pub fn time_end_ms(tl: &Timeline) -> f64 {
    let ops = tl.ops.iter().map(|o| o.end_ms.max(o.start_ms));
    let faults = tl.faults.iter().map(|f| f.end_ms.max(f.start_ms));
    ops.chain(faults)
        .chain(std::iter::once(tl.end_ms))
        .filter(|x| x.is_finite())
        .fold(1.0_f64, f64::max)
        .min(TIME_MAX_MS)
}

/// Keeps at most `max` ops, deterministically: every fail and info op if they fit in half the
/// budget (else an even stride over them), the rest of the budget an even stride over ok ops.
/// The result keeps the input order.
pub fn downsample(ops: &[TimelineOp], max: usize) -> Vec<&TimelineOp> {
    if ops.len() <= max {
        return ops.iter().collect();
    }
    let rare: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].kind != OpKind::Ok)
        .collect();
    let common: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].kind == OpKind::Ok)
        .collect();
    let rare_keep = stride(&rare, rare.len().min(max / 2));
    let common_keep = stride(&common, max - rare_keep.len());
    let mut keep: Vec<usize> = rare_keep.into_iter().chain(common_keep).collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &ops[i]).collect()
}

/// `n` evenly spaced elements of `xs` (all of them when `n >= xs.len()`).
fn stride(xs: &[usize], n: usize) -> Vec<usize> {
    if n >= xs.len() {
        return xs.to_vec();
    }
    (0..n).map(|k| xs[k * xs.len() / n]).collect()
}

/// Renders the latency scatter of client ops (process ≥ 0; nemesis ops are left out): x = invoke time (s), y = latency (ms, log scale), one colour per
/// outcome, fault windows shaded and labelled. Errors are plotters' drawing errors as text.
pub fn latency_svg(tl: &Timeline) -> Result<String, String> {
    let t_end_s = time_end_ms(tl) / 1000.0;
    let client: Vec<TimelineOp> = tl.ops.iter().filter(|o| o.process >= 0).cloned().collect();
    let ops = downsample(&client, MAX_POINTS);
    let floor_ms = 0.1;
    let lat = |o: &TimelineOp| o.latency_ms().clamp(floor_ms, TIME_MAX_MS);
    let max_ms = ops.iter().map(|o| lat(o)).fold(1.0_f64, f64::max);
    let min_ms = ops.iter().map(|o| lat(o)).fold(max_ms, f64::min);
    let y_lo = 10f64.powf(min_ms.log10().floor()).max(floor_ms);
    let y_hi = 10f64.powf(max_ms.log10().ceil()).max(y_lo * 10.0);

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
        for kind in OpKind::ALL {
            let (r, g, b) = kind_rgb(kind);
            let color = RGBColor(r, g, b);
            let points: Vec<(f64, f64)> = ops
                .iter()
                .filter(|o| o.kind == kind && o.start_ms.is_finite())
                .map(|o| (o.start_ms.clamp(0.0, TIME_MAX_MS) / 1000.0, lat(o)))
                .collect();
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 2, color.mix(0.8).filled())),
                )
                .map_err(|e| e.to_string())?
                .label(kind.as_str())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        legend(&mut chart).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(strip_xmlns(svg))
}

/// Width of a throughput bin in seconds: the smallest "nice" width giving at most 100 bins.
pub fn bin_width_s(t_end_s: f64) -> f64 {
    const NICE: [f64; 3] = [1.0, 2.0, 5.0];
    let mut scale = 0.001;
    loop {
        for n in NICE {
            let w = n * scale;
            if t_end_s / w <= 100.0 || !t_end_s.is_finite() {
                return w;
            }
        }
        scale *= 10.0;
    }
}

/// Completions per second per outcome in bins of [`bin_width_s`]; every op counts (no thinning).
/// Returns the bin width and, per outcome in [`OpKind::ALL`] order, one rate per bin.
pub fn rates(tl: &Timeline) -> (f64, Vec<Vec<f64>>) {
    let t_end_s = time_end_ms(tl) / 1000.0;
    let w = bin_width_s(t_end_s);
    // At most 100 bins by construction of `w`; the clamp only guards against rounding.
    let bins = ((t_end_s / w).ceil() as usize).clamp(1, 1000);
    let mut counts = vec![vec![0u64; bins]; OpKind::ALL.len()];
    for op in tl.ops.iter().filter(|o| o.process >= 0) {
        if !op.end_ms.is_finite() {
            continue;
        }
        let b = ((op.end_ms.max(0.0) / 1000.0 / w) as usize).min(bins - 1);
        let k = OpKind::ALL.iter().position(|k| *k == op.kind).unwrap_or(0);
        counts[k][b] += 1;
    }
    let rates = counts
        .into_iter()
        .map(|c| c.into_iter().map(|n| n as f64 / w).collect())
        .collect();
    (w, rates)
}

/// Renders throughput: completions per second per outcome over time, fault windows shaded.
pub fn rate_svg(tl: &Timeline) -> Result<String, String> {
    let t_end_s = time_end_ms(tl) / 1000.0;
    let (w, rates) = rates(tl);
    let y_hi = rates.iter().flatten().copied().fold(1.0_f64, f64::max) * 1.1;

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
        for (kind, series) in OpKind::ALL.into_iter().zip(rates) {
            if series.iter().all(|r| *r == 0.0) {
                continue;
            }
            let (r, g, b) = kind_rgb(kind);
            let color = RGBColor(r, g, b);
            let points = series
                .into_iter()
                .enumerate()
                .map(|(i, r)| (((i as f64) + 0.5) * w, r));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(kind.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        legend(&mut chart).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(strip_xmlns(svg))
}

pub(crate) type Chart<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;

/// Shaded rectangle per fault window over the whole y range, its name at the top left.
pub(crate) fn draw_bands<Y>(
    chart: &mut Chart<'_, '_, Y>,
    faults: &[FaultBand],
    y: Range<f64>,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    Y: Ranged<ValueType = f64>,
{
    for (band, (r, g, b)) in faults.iter().zip(band_rgb(faults)) {
        if !(band.start_ms.is_finite() && band.end_ms.is_finite()) {
            continue;
        }
        let clamp = |ms: f64| ms.clamp(0.0, TIME_MAX_MS) / 1000.0;
        let (x0, x1) = (clamp(band.start_ms), clamp(band.end_ms.max(band.start_ms)));
        let color = RGBColor(r, g, b);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x0, y.start), (x1, y.end)],
            color.mix(0.18).filled(),
        )))?;
        let font = ("sans-serif", 12).into_font().color(&color);
        chart.draw_series(std::iter::once(Text::new(
            band.name.clone(),
            (x0, y.end),
            font,
        )))?;
    }
    Ok(())
}

pub(crate) fn legend<'a, 'b: 'a, Y>(
    chart: &mut Chart<'a, 'b, Y>,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
}

/// Removes the SVG namespace URL (inline SVG in HTML5 does not need it) and attributes equal to
/// SVG's defaults (`opacity="1"`, `stroke="none" stroke-width="1"`), which make up a third of
/// each point's markup.
pub(crate) fn strip_xmlns(svg: String) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replace(" stroke=\"none\" stroke-width=\"1\"", "")
        .replace(" opacity=\"1\"", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(i: usize, kind: OpKind) -> TimelineOp {
        TimelineOp {
            process: (i % 3) as i64,
            start_ms: i as f64,
            end_ms: i as f64 + 2.0,
            kind,
            f: "read".into(),
            label: String::new(),
        }
    }

    #[test]
    fn downsample_keeps_failures_and_order() {
        let ops: Vec<TimelineOp> = (0..10_000)
            .map(|i| {
                op(
                    i,
                    if i % 100 == 0 {
                        OpKind::Fail
                    } else {
                        OpKind::Ok
                    },
                )
            })
            .collect();
        let kept = downsample(&ops, 1000);
        assert_eq!(kept.len(), 1000);
        assert_eq!(kept.iter().filter(|o| o.kind == OpKind::Fail).count(), 100);
        assert!(kept.windows(2).all(|w| w[0].start_ms < w[1].start_ms));
        assert_eq!(downsample(&ops[..10], 1000).len(), 10);
    }

    #[test]
    fn rates_count_every_completion() {
        let tl = Timeline {
            lags: Vec::new(),
            ops: (0..500).map(|i| op(i, OpKind::Ok)).collect(),
            faults: vec![],
            end_ms: 1000.0,
        };
        let (w, r) = rates(&tl);
        let total: f64 = r[0].iter().map(|x| x * w).sum();
        assert!((total - 500.0).abs() < 1e-6, "{total}");
    }

    #[test]
    fn bin_width_is_nice() {
        assert_eq!(bin_width_s(1.0), 0.01);
        assert_eq!(bin_width_s(60.0), 1.0);
        assert_eq!(bin_width_s(300.0), 5.0);
    }
}
