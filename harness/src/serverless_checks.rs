//! Checks of Serverless v2 scaling (claim C21) and of the published metrics (claim C22), and
//! the parsing of their CLI flags.
//!
//! Vantage points, so no figure trusts the component it measures:
//! - C21's load is what the clients sent (requests per 100 ms, counted in the client
//!   adapter); capacity is what the writer instance published (its list of changes). The
//!   level the load needs is computed here from the client-observed load and the model's
//!   stated constants, not taken from the scaler. Errors are the client history's.
//! - C22 compares the writer's published `CommitThroughput` with the commits clients saw
//!   acknowledged, and the published `VolumeWriteIOPs` with what storage nodes counted
//!   receiving.

use crate::checks::{figure, CheckResult};
use crate::config::{RunConfig, ServerlessKnobs};
use crate::sim::SimOutput;
use checkers::{OpType, Process};
use reference::net::published::PERIOD_MS;
use reference::serverless::ServerlessConfig;
use std::collections::BTreeMap;

/// C21's bound: capacity reaches the level the spike's load needs within this long.
pub const REACTION_BOUND_S: f64 = 1.0;
/// A tier 0-1 replica must be at the writer's capacity within this long of it.
pub const FOLLOW_LAG_MS: u64 = 1_000;

/// `--serverless MIN:MAX` (ACUs).
pub fn parse_serverless(s: &str) -> Result<ServerlessKnobs, String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("--serverless: expected MIN:MAX in ACUs, got `{s}`"))?;
    let num = |x: &str| {
        x.trim()
            .parse::<f64>()
            .map_err(|_| format!("--serverless: `{x}` is not a number"))
    };
    let k = ServerlessKnobs {
        min_acu: num(a)?,
        max_acu: num(b)?,
    };
    ServerlessConfig {
        min_acu: k.min_acu,
        max_acu: k.max_acu,
        ..Default::default()
    }
    .validate()
    .map_err(|e| format!("--serverless: {e}"))?;
    Ok(k)
}

/// `--rate-schedule MS:RATE,...` (strictly increasing times, positive rates).
pub fn parse_rate_schedule(s: &str) -> Result<Vec<(u64, f64)>, String> {
    let mut v: Vec<(u64, f64)> = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (t, r) = part
            .split_once(':')
            .ok_or_else(|| format!("--rate-schedule: expected MS:OPS_PER_SEC, got `{part}`"))?;
        let t: u64 = t
            .trim()
            .parse()
            .map_err(|_| format!("--rate-schedule: `{t}` is not a time in ms"))?;
        let r: f64 = r
            .trim()
            .parse()
            .map_err(|_| format!("--rate-schedule: `{r}` is not a rate"))?;
        if !(r.is_finite() && r > 0.0) {
            return Err(format!("--rate-schedule: rate must be positive, got {r}"));
        }
        if v.last().is_some_and(|(p, _)| *p >= t) {
            return Err(format!("--rate-schedule: times must increase (at {t} ms)"));
        }
        v.push((t, r));
    }
    Ok(v)
}

/// The model constants the scenario states (the reference's defaults for the knobs' bounds).
fn model(k: &ServerlessKnobs) -> ServerlessConfig {
    ServerlessConfig {
        min_acu: k.min_acu,
        max_acu: k.max_acu,
        ..Default::default()
    }
}

/// The spike of a run's load schedule: (start ms, end ms), the first step that at least
/// doubles the rate before it.
pub fn spike(cfg: &RunConfig) -> Option<(u64, u64)> {
    let mut prev = cfg.rate;
    for (i, (t, r)) in cfg.rate_schedule.iter().enumerate() {
        if *r >= 2.0 * prev {
            let end = cfg
                .rate_schedule
                .get(i + 1)
                .map_or(cfg.time_limit_s * 1000, |x| x.0);
            return Some((*t, end));
        }
        prev = *r;
    }
    None
}

/// Capacity (half-ACUs) of `host` at `t` from its published changes.
fn cap_at(changes: &[(u64, u32)], t: u64) -> u32 {
    changes
        .iter()
        .rev()
        .find(|(c, _)| *c <= t)
        .map_or(0, |c| c.1)
}

fn changes_of(out: &SimOutput, host: &str) -> Vec<(u64, u32)> {
    out.series
        .capacity_changes
        .get(host)
        .cloned()
        .unwrap_or_default()
}

/// Client requests per second over `[from, to)` ms.
fn client_load(out: &SimOutput, from: u64, to: u64) -> f64 {
    let n: u64 = out
        .client_requests
        .range(from / 100..to / 100)
        .map(|(_, n)| n)
        .sum();
    n as f64 * 1000.0 / (to.saturating_sub(from)).max(1) as f64
}

/// C21: reaction time to the spike, client errors, and tier 0-1 replicas following.
pub fn checks(cfg: &RunConfig, out: &SimOutput) -> Vec<CheckResult> {
    let mut v = Vec::new();
    let Some(k) = &cfg.cluster.serverless else {
        return v;
    };
    let m = model(k);
    let writer = out
        .instance_specs
        .first()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    let wc = changes_of(out, &writer);
    // Reaction: the level the clients' spike load needs, and when the writer published it.
    let (reaction_s, summary) = match spike(cfg) {
        None => (f64::NAN, "no load spike in the rate schedule".to_string()),
        Some((t0, t1)) => {
            let base = client_load(out, t0.saturating_sub(2_000), t0);
            let load = client_load(out, (t0 + 1_000).min(t1), t1);
            let need_acu = load / (m.requests_per_acu_s * m.target_utilization);
            let need = ((need_acu * 2.0).ceil() as u32).clamp(1, (m.max_acu * 2.0) as u32);
            let reached = wc.iter().find(|(t, h)| *t >= t0 && *h >= need).map(|x| x.0);
            let peak = wc.iter().map(|x| x.1).max().unwrap_or(0);
            let end = cap_at(&wc, out.sim_ms);
            match reached {
                _ if load < 2.0 * base.max(1.0) || need <= cap_at(&wc, t0) => (
                    f64::NAN,
                    format!("the spike did not raise the need (load {base:.0} → {load:.0} req/s)"),
                ),
                Some(t) => (
                    (t - t0) as f64 / 1e3,
                    format!(
                        "client load {base:.0} → {load:.0} req/s at {t0} ms needs {:.1} ACU; the writer published it at {t} ms ({} ms); peak {:.1} ACU, {:.1} ACU at the end",
                        need as f64 / 2.0, t - t0, peak as f64 / 2.0, end as f64 / 2.0
                    ),
                ),
                // Never reached: counted to the end of the run (a finite, censored figure, as
                // C13 counts a failure never followed by a write).
                None => (
                    out.sim_ms.saturating_sub(t0) as f64 / 1e3,
                    format!(
                        "client load {load:.0} req/s needs {:.1} ACU; the writer never reached it within the run (counted to its end; peak {:.1} ACU)",
                        need as f64 / 2.0, peak as f64 / 2.0
                    ),
                ),
            }
        }
    };
    v.push(figure(
        "serverless capacity reaches the spike's need within 1 s",
        &["C21"],
        reaction_s,
        REACTION_BOUND_S,
        "s",
        false,
        reaction_s <= REACTION_BOUND_S,
        summary,
    ));
    // No client errors: every op of a client process, from the first successful op on (the
    // cluster starting up is not scaling), that failed or ended unknown, other than the
    // workload's own outcomes: a serialization conflict or a compare-and-set that found another
    // value (the database working, not scaling).
    let h = &out.history;
    let started = h
        .ops
        .iter()
        .find(|o| o.kind == OpType::Ok && matches!(o.process, Some(Process::Client(_))))
        .and_then(|o| o.time)
        .unwrap_or(i64::MAX);
    let bad: Vec<String> = h
        .ops
        .iter()
        .filter(|o| matches!(o.process, Some(Process::Client(_))))
        .filter(|o| matches!(o.kind, OpType::Fail | OpType::Info))
        .filter(|o| o.time.unwrap_or(0) > started)
        .filter(|o| {
            !o.error.as_ref().is_some_and(|e| {
                let e = format!("{e}").to_lowercase();
                e.contains("conflict") || e.contains("cas-mismatch")
            })
        })
        .map(|o| {
            format!(
                "{} {} at {} ms: {:?}",
                o.f(),
                o.value,
                o.time.unwrap_or(0) / 1_000_000,
                o.error
            )
        })
        .collect();
    v.push(figure(
        "serverless scaling causes no client errors",
        &["C21"],
        bad.len() as f64,
        0.0,
        "ops",
        false,
        bad.is_empty(),
        match bad.first() {
            None => "no op failed or ended unknown except conflicts".into(),
            Some(b) => format!("{} ops failed or ended unknown; first: {b}", bad.len()),
        },
    ));
    v.push(follow(out, &writer, &wc));
    v
}

/// Tier 0-1 replicas hold at least the writer's capacity of `FOLLOW_LAG_MS` ago.
fn follow(out: &SimOutput, writer: &str, wc: &[(u64, u32)]) -> CheckResult {
    let followers: Vec<&String> = out
        .instance_specs
        .iter()
        .filter(|s| s.0 != writer && s.1 <= 1)
        .map(|s| &s.0)
        .collect();
    let mut bad = Vec::new();
    let mut checked = 0u64;
    for f in &followers {
        let fc = changes_of(out, f);
        let mut t = FOLLOW_LAG_MS;
        while t < out.sim_ms {
            let want = (t - FOLLOW_LAG_MS..=t)
                .step_by(50)
                .map(|x| cap_at(wc, x))
                .min()
                .unwrap_or(0);
            checked += 1;
            if cap_at(&fc, t) < want {
                bad.push(format!(
                    "{f} at {t} ms: {} < writer's {}",
                    cap_at(&fc, t),
                    want
                ));
            }
            t += 100;
        }
    }
    let n = if followers.is_empty() || checked == 0 {
        f64::NAN
    } else {
        bad.len() as f64
    };
    figure(
        "tier 0-1 replicas follow the writer's capacity",
        &["C21"],
        n,
        0.0,
        "samples",
        false,
        n == 0.0,
        match bad.first() {
            None if n.is_nan() => "no tier 0-1 replica".into(),
            None => format!("{checked} samples of {} replica(s): none below the writer's capacity of 1 s before", followers.len()),
            Some(b) => format!("{} samples below the writer's capacity; first: {b}", bad.len()),
        },
    )
}

/// Counts by period of events at `times` (ms), and how many fall within `slack_ms` after each
/// period boundary (those may have been sent in the previous period).
fn buckets(
    times: impl Iterator<Item = u64>,
    slack_ms: u64,
) -> (BTreeMap<u64, u64>, BTreeMap<u64, u64>) {
    let (mut by, mut near) = (BTreeMap::new(), BTreeMap::new());
    for t in times {
        *by.entry(t / PERIOD_MS).or_default() += 1;
        if t % PERIOD_MS <= slack_ms {
            *near.entry(t / PERIOD_MS).or_default() += 1;
        }
    }
    (by, near)
}

/// |Σ published − Σ observed| plus, per period, the part of |published − observed| that the
/// acknowledgements in flight across its two boundaries cannot explain. 0 when they agree.
fn disagreement(
    published: &BTreeMap<u64, u64>,
    observed: &BTreeMap<u64, u64>,
    near: &BTreeMap<u64, u64>,
    periods: u64,
) -> (f64, String) {
    let g = |m: &BTreeMap<u64, u64>, p: u64| m.get(&p).copied().unwrap_or(0) as i64;
    let total = (0..periods)
        .map(|p| g(published, p) - g(observed, p))
        .sum::<i64>()
        .unsigned_abs();
    let mut excess = 0u64;
    let mut first = None;
    for p in 0..periods {
        let d = (g(published, p) - g(observed, p)).unsigned_abs();
        let slack = (g(near, p) + g(near, p + 1)) as u64;
        if d > slack {
            excess += d - slack;
            first.get_or_insert(format!(
                "period {p}: published {}, observed {}",
                g(published, p),
                g(observed, p)
            ));
        }
    }
    let sum_p: i64 = (0..periods).map(|p| g(published, p)).sum();
    let sum_o: i64 = (0..periods).map(|p| g(observed, p)).sum();
    (
        (total + excess) as f64,
        match first {
            None if total == 0 => {
                format!("{sum_p} published = {sum_o} observed over {periods} periods")
            }
            None => format!("totals differ: {sum_p} published, {sum_o} observed"),
            Some(f) => format!("{sum_p} published, {sum_o} observed; {f}"),
        },
    )
}

/// C22, in runs that ask for it (`cluster.check_metrics`).
pub fn metrics_checks(cfg: &RunConfig, out: &SimOutput) -> Vec<CheckResult> {
    if !cfg.cluster.check_metrics {
        return vec![];
    }
    let writer = out
        .instance_specs
        .first()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    // Complete periods: those that ended before the last refresh of the shared metrics.
    let periods = out.sim_ms.saturating_sub(200) / PERIOD_MS;
    let slack = cfg.max_latency_ms + cfg.tick_ms;
    let published = out
        .series
        .published_commits
        .get(&writer)
        .cloned()
        .unwrap_or_default();
    let (observed, near) = buckets(
        out.commit_acks
            .iter()
            .filter(|a| a.1 == writer)
            .map(|a| a.0),
        slack,
    );
    let (c, cs) = disagreement(&published, &observed, &near, periods);
    let promoted = !out.promotions.is_empty();
    let c = if observed.is_empty() || promoted {
        f64::NAN
    } else {
        c
    };
    let mut v = vec![figure(
        "published CommitThroughput equals the commits clients saw acknowledged",
        &["C22"],
        c,
        0.0,
        "commits",
        false,
        c == 0.0,
        cs,
    )];
    v.push(volume_write_iops(
        &out.series.published_write_ios,
        &out.series.storage_writes_received,
    ));
    v
}

/// VolumeWriteIOPs against storage's own receipts, per period and over the whole run.
///
/// A write the instance counts in period p reaches storage in p or, when it was in flight at
/// the boundary, in p + 1 (a one-way delay is a few ms, a period 1 s). So with P(t) and R(t)
/// the published and received counts summed over periods 0..=t, every t must satisfy
/// P(t - 1) <= R(t) <= P(t), and at the end of a run nothing is in flight: the totals are equal.
/// The figure is the I/Os outside those bounds, summed over the periods, plus the difference of
/// the totals; a publisher that shifts, drops or invents I/Os in any period moves it above 0.
fn volume_write_iops(published: &BTreeMap<u64, u64>, received: &BTreeMap<u64, u64>) -> CheckResult {
    let sp: u64 = published.values().sum();
    let sr: u64 = received.values().sum();
    let last = published
        .keys()
        .chain(received.keys())
        .max()
        .copied()
        .unwrap_or(0);
    let (mut cum_p, mut prev_p, mut cum_r) = (0u64, 0u64, 0u64);
    let (mut excess, mut bad_periods, mut first) = (0u64, 0u64, None);
    for t in 0..=last {
        cum_p += published.get(&t).copied().unwrap_or(0);
        cum_r += received.get(&t).copied().unwrap_or(0);
        let out = if cum_r > cum_p {
            cum_r - cum_p
        } else if cum_r < prev_p {
            prev_p - cum_r
        } else {
            0
        };
        if out > 0 {
            excess += out;
            bad_periods += 1;
            first.get_or_insert(format!(
                "period {t}: {cum_r} received by its end, {prev_p}..={cum_p} allowed"
            ));
        }
        prev_p = cum_p;
    }
    let periods = published.len().max(received.len());
    let d = (sp.abs_diff(sr) + excess) as f64;
    let d = if sp == 0 { f64::NAN } else { d };
    let detail = match first {
        None => format!(
            "{sp} published, {sr} received over {periods} periods; every period within its in-flight bounds"
        ),
        Some(f) => format!(
            "{sp} published, {sr} received over {periods} periods; {bad_periods} periods outside their in-flight bounds, first {f}"
        ),
    };
    figure(
        "published VolumeWriteIOPs equals the write I/Os storage nodes received",
        &["C22"],
        d,
        0.0,
        "I/Os",
        false,
        d == 0.0,
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::volume_write_iops;
    use std::collections::BTreeMap;

    fn m(v: &[u64]) -> BTreeMap<u64, u64> {
        v.iter().enumerate().map(|(i, n)| (i as u64, *n)).collect()
    }

    #[test]
    fn in_flight_writes_at_a_boundary_are_allowed() {
        // 2 of period 0's writes land in period 1, 1 of period 1's in period 2.
        let r = volume_write_iops(&m(&[10, 10, 0]), &m(&[8, 11, 1]));
        assert_eq!(r.figure, Some(0.0), "{}", r.summary);
    }

    #[test]
    fn a_publisher_one_period_late_is_caught_though_totals_agree() {
        // Published shifted by one period: storage received writes before they were published.
        let r = volume_write_iops(&m(&[0, 10, 10, 10]), &m(&[10, 10, 10, 0]));
        assert!(r.figure.unwrap() > 0.0, "{}", r.summary);
        assert!(r.summary.contains("period 0"), "{}", r.summary);
    }

    #[test]
    fn writes_lost_in_a_period_are_caught() {
        let r = volume_write_iops(&m(&[10, 10, 10]), &m(&[10, 4, 10]));
        assert!(r.figure.unwrap() > 0.0, "{}", r.summary);
    }
}
