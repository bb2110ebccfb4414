//! Line plots of a run's CloudWatch-style metrics (capacity, load, latency, …) for the run page.
//!
//! Contract: pure; equal inputs give byte-identical SVG (no `xmlns`, as the other plots).
//! Fault windows are shaded behind the lines, as on the other time plots, so a change in a
//! metric can be read against the fault that caused it.

use crate::model::FaultBand;
use crate::plots::draw_bands;
use crate::text::fmt_num;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 240;
const COLOURS: [(u8, u8, u8); 6] = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (127, 127, 127),
];

/// One plot: a metric and its unit, one line per dimension (instance or region).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPlot {
    pub title: String,
    pub unit: String,
    /// (label, points as (time s, value)).
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
}

/// The SVG of one plot with `faults` shaded, or plotters' drawing error as text.
pub fn metric_svg(p: &MetricPlot, faults: &[FaultBand]) -> Result<String, String> {
    let pts = p.lines.iter().flat_map(|l| l.1.iter());
    let (mut x_hi, mut y_hi) = (1.0f64, 0.0f64);
    for (x, y) in pts {
        if x.is_finite() {
            x_hi = x_hi.max(*x);
        }
        if y.is_finite() {
            y_hi = y_hi.max(*y);
        }
    }
    let y_hi = if y_hi <= 0.0 { 1.0 } else { y_hi * 1.1 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_hi, 0f64..y_hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(p.unit.as_str())
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_bands(&mut chart, faults, 0.0..y_hi).map_err(|e| e.to_string())?;
        for (i, (label, points)) in p.lines.iter().enumerate() {
            let (r, g, b) = COLOURS[i % COLOURS.len()];
            let c = RGBColor(r, g, b);
            let pts: Vec<(f64, f64)> = points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replace(" opacity=\"1\"", ""))
}
