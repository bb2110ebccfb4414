//! The figure set of a page that has a timeline, as Jepsen's `timeline.html`, `latency-raw.png`,
//! `latency-quantiles.png` and `rate.png`: the ops timeline (with a nemesis lane when the timeline
//! has nemesis ops), latency of every op by outcome, latency p50 / p95 / p99 per `:f`, and
//! throughput per `:f`, fault windows shaded on each.

use crate::model::Timeline;
use crate::plots::{latency_svg, MAX_POINTS};
use crate::plots_f::{latency_quantiles_svg, rate_by_f_svg};
use crate::text::escape_html as esc;
use crate::timeline::timeline_svg;
use std::fmt::Write;

/// The four figures as HTML, each under an `<h3>` and inside a `<div class="fig" id=…>` with ids
/// `fig-timeline`, `fig-latency-raw`, `fig-latency-quantiles`, `fig-rate`. Exactly four `<svg`
/// elements when every plot draws (five for a global run, whose timeline carries lag series:
/// `fig-global-lag`); a plot that fails says so in place of its SVG.
pub fn figures_html(tl: &Timeline) -> String {
    let mut out = String::new();
    let client_ops = tl.ops.iter().filter(|o| o.process >= 0).count();
    if client_ops > MAX_POINTS {
        let _ = writeln!(
            out,
            "<p class=\"note\">{client_ops} ops; the timeline and latency plots show {MAX_POINTS} \
             of them (every fail and info op kept where possible); quantiles and throughput count \
             all.</p>"
        );
    }
    out.push_str(
        "<h3>Timeline of ops by process</h3>\n<p class=\"note\">Hover an op for its invocation and \
         completion values, error and latency.</p>\n<div class=\"fig\" id=\"fig-timeline\">\n",
    );
    out.push_str(&timeline_svg(tl));
    out.push_str("</div>\n<h3>Latency of every op (latency-raw)</h3>\n<div class=\"fig\" id=\"fig-latency-raw\">\n");
    plot(&mut out, latency_svg(tl));
    out.push_str("</div>\n<h3>Latency quantiles per :f (p50, p95, p99)</h3>\n<div class=\"fig\" id=\"fig-latency-quantiles\">\n");
    plot(&mut out, latency_quantiles_svg(tl));
    out.push_str(
        "</div>\n<h3>Throughput per :f (rate)</h3>\n<div class=\"fig\" id=\"fig-rate\">\n",
    );
    plot(&mut out, rate_by_f_svg(tl));
    out.push_str("</div>\n");
    if !tl.lags.is_empty() {
        out.push_str(
            "<h3>Global database: replication lag and RPO lag per secondary \
             (AuroraGlobalDBReplicationLag, AuroraGlobalDBRPOLag)</h3>\n<p class=\"note\">Measured \
             from what each secondary's storage acknowledged against when the primary knew each \
             commit durable; a region's line stops while it is not a secondary.</p>\n\
             <div class=\"fig\" id=\"fig-global-lag\">\n",
        );
        plot(
            &mut out,
            crate::lag::lag_svg(&tl.lags, &tl.faults, tl.end_ms),
        );
        out.push_str("</div>\n");
    }
    out
}

fn plot(out: &mut String, svg: Result<String, String>) {
    match svg {
        Ok(svg) => out.push_str(&svg),
        Err(e) => {
            let _ = writeln!(out, "<p class=\"error\">plot failed: {}</p>", esc(&e));
        }
    }
}
