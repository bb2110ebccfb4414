//! The global database's replication-lag plot: AuroraGlobalDBReplicationLag and
//! AuroraGlobalDBRPOLag per secondary region over time, fault windows shaded (issue 11).
//!
//! Contract: pure; equal input gives byte-identical SVG. Each series is drawn as the harness
//! sampled it (the harness measures lag from secondary storage's acknowledgements, not from the
//! replication agent). A region's points are only the moments it was a secondary, so a series
//! stops at a promotion and a new primary's secondaries start where it began.

use crate::model::FaultBand;
use crate::plots::{draw_bands, legend, strip_xmlns, TIME_MAX_MS};
use crate::text::fmt_num;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 320;

/// One secondary's lag samples: `(t ms, replication lag ms, RPO lag ms)`, in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagSeries {
    pub region: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// Region colours, by series order.
const PALETTE: [(u8, u8, u8); 5] = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (140, 86, 75),
];

/// The plot: per region, replication lag as a solid line and RPO lag as a thinner, paler one
/// of the same colour; linear ms axis; fault windows shaded. Gaps in a series (a region not a
/// secondary, or nothing sampled) are not bridged: a jump of more than 3 sample periods starts
/// a new line segment.
pub fn lag_svg(series: &[LagSeries], faults: &[FaultBand], end_ms: f64) -> Result<String, String> {
    let t_end = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(end_ms, f64::max)
        .clamp(1.0, TIME_MAX_MS)
        / 1000.0;
    let y_hi = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1.max(p.2)))
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..t_end, 0f64..y_hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("lag (ms)")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_bands(&mut chart, faults, 0.0..y_hi).map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let (r, g, b) = PALETTE[i % PALETTE.len()];
            let color = RGBColor(r, g, b);
            for (which, style, label) in [
                (1, color.stroke_width(2), "replication lag"),
                (2, color.mix(0.5).stroke_width(1), "RPO lag"),
            ] {
                let segments = segments(&s.points);
                for (k, seg) in segments.iter().enumerate() {
                    let pts = seg.iter().map(|p| {
                        (
                            p.0.clamp(0.0, TIME_MAX_MS) / 1000.0,
                            if which == 1 { p.1 } else { p.2 },
                        )
                    });
                    let drawn = chart
                        .draw_series(LineSeries::new(pts, style))
                        .map_err(|e| e.to_string())?;
                    if k == 0 {
                        drawn
                            .label(format!("{} {label}", s.region))
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

/// Split a series where consecutive samples are more than 3 sample periods apart.
fn segments(points: &[(f64, f64, f64)]) -> Vec<Vec<(f64, f64, f64)>> {
    let period = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    let mut out: Vec<Vec<(f64, f64, f64)>> = vec![];
    for p in points {
        match out.last_mut() {
            Some(seg) if seg.last().is_some_and(|q| p.0 - q.0 <= 3.0 * period) => seg.push(*p),
            _ => out.push(vec![*p]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_region_and_splits_at_gaps() {
        let s = vec![
            LagSeries {
                region: "r1".into(),
                points: vec![(0.0, 70.0, 0.0), (100.0, 80.0, 20.0), (900.0, 75.0, 0.0)],
            },
            LagSeries {
                region: "r2".into(),
                points: vec![(0.0, 120.0, 40.0)],
            },
        ];
        assert_eq!(segments(&s[0].points).len(), 2);
        let svg = lag_svg(&s, &[], 1000.0).unwrap();
        assert!(svg.contains("r1 replication lag") && svg.contains("r2 RPO lag"));
        assert_eq!(svg, lag_svg(&s, &[], 1000.0).unwrap());
    }
}
