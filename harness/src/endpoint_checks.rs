//! Custom endpoints (C24): a custom endpoint never routes to a non-member, nor a READER
//! endpoint to the writer, including after a failover and after instances restart.
//!
//! Measured from the server side: each instance records every session it began for a custom
//! endpoint (`CustomServed`: the endpoint, and whether the instance was in the writer role
//! when it served it). The check compares those records with the endpoint definitions of the
//! run's configuration, evaluated against the run's instance list — not with what the name
//! service or the client believed. A session refused by the instance (`CustomRefused`) was
//! not served and counts for nothing but the summary.

use crate::checks::{figure, CheckResult};
use crate::config::RunConfig;
use crate::sim::SimOutput;
use reference::endpoints::EndpointType;
use reference::EventKind;

/// The check's name (the suite's C24 figure reads it).
pub const CHECK: &str = "custom endpoints serve only their members (READER: never the writer)";

/// What the instances' records show.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EndpointTally {
    /// Sessions served through custom endpoints.
    pub served: u64,
    /// Sessions an instance refused (a READER endpoint's client reached the writer).
    pub refused: u64,
    /// Sessions served through a READER endpoint after the first promotion.
    pub reader_after_failover: u64,
    /// Promotions during the run.
    pub promotions: u64,
    /// Sessions served by a non-member, or by the writer for a READER endpoint.
    pub violations: Vec<String>,
}

/// Tallies the instances' records of a run against its endpoint definitions.
pub fn tally(cfg: &RunConfig, out: &SimOutput) -> EndpointTally {
    let defs = &cfg.cluster.custom_endpoints;
    let instances: Vec<String> = out.instance_specs.iter().map(|s| s.0.clone()).collect();
    let mut t = EndpointTally::default();
    let mut first_promotion: Option<u64> = None;
    for e in &out.endpoint_events {
        match &e.kind {
            EventKind::Promoted { .. } => {
                t.promotions += 1;
                first_promotion.get_or_insert(e.time_ms);
            }
            EventKind::CustomRefused { .. } => t.refused += 1,
            EventKind::CustomServed {
                endpoint, writer, ..
            } => {
                t.served += 1;
                let Some(def) = defs.get(endpoint) else {
                    t.violations.push(format!(
                        "{} served a session of undefined endpoint `{endpoint}` at {} ms",
                        e.host, e.time_ms
                    ));
                    continue;
                };
                let reader = def.kind == EndpointType::Reader;
                if reader && first_promotion.is_some_and(|p| e.time_ms >= p) {
                    t.reader_after_failover += 1;
                }
                if !def.is_member(&e.host, &instances) {
                    t.violations.push(format!(
                        "{} (not a member) served a session of `{endpoint}` at {} ms",
                        e.host, e.time_ms
                    ));
                } else if reader && *writer {
                    t.violations.push(format!(
                        "{} served a session of READER endpoint `{endpoint}` as the writer at {} ms",
                        e.host, e.time_ms
                    ));
                }
            }
            _ => {}
        }
    }
    t
}

/// The C24 check (none when the run configures no custom endpoint).
pub fn checks(cfg: &RunConfig, out: &SimOutput) -> Vec<CheckResult> {
    if cfg.cluster.custom_endpoints.is_empty() {
        return vec![];
    }
    let t = tally(cfg, out);
    let n = t.violations.len();
    let mut summary = format!(
        "{n} of {} custom-endpoint sessions served by a non-member or (READER) the writer; {} refused by the instance reached; {} READER sessions after {} promotion(s)",
        t.served, t.refused, t.reader_after_failover, t.promotions
    );
    if let Some(first) = t.violations.first() {
        summary.push_str(&format!("; first: {first}"));
    }
    vec![figure(
        CHECK,
        &["C24"],
        n as f64,
        0.0,
        "sessions",
        false,
        n == 0,
        summary,
    )]
}

/// Parses `--custom-endpoint NAME=TYPE:MEMBERS`: TYPE is `reader` or `any`; MEMBERS is a
/// comma-separated list of instances (static members), or of `-instance` entries (every
/// instance except those). E.g. `analytics=reader:db-2,db-3`, `batch=any:-db-1`.
pub fn parse_spec(
    spec: &str,
    instances: &[String],
) -> Result<(String, reference::endpoints::CustomEndpoint), String> {
    use reference::endpoints::CustomEndpoint;
    let form = "expected NAME=TYPE:MEMBERS, e.g. analytics=reader:db-2,db-3 or batch=any:-db-1";
    let (name, rest) = spec
        .split_once('=')
        .ok_or_else(|| format!("`{spec}`: {form}"))?;
    let (kind, members) = rest
        .split_once(':')
        .ok_or_else(|| format!("`{spec}`: {form}"))?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "`{spec}`: endpoint name `{name}` must be letters, digits and '-'"
        ));
    }
    let kind = match kind {
        "reader" => EndpointType::Reader,
        "any" => EndpointType::Any,
        k => return Err(format!("`{spec}`: unknown type `{k}` (reader, any)")),
    };
    let list: Vec<&str> = members.split(',').filter(|m| !m.is_empty()).collect();
    if list.is_empty() {
        return Err(format!("`{spec}`: no members given"));
    }
    let excluding = list.iter().all(|m| m.starts_with('-'));
    if !excluding && list.iter().any(|m| m.starts_with('-')) {
        return Err(format!(
            "`{spec}`: mix of static members and exclusions (use one form)"
        ));
    }
    let names: Vec<String> = list
        .iter()
        .map(|m| m.trim_start_matches('-').to_string())
        .collect();
    if let Some(bad) = names.iter().find(|m| !instances.contains(m)) {
        return Err(format!(
            "`{spec}`: `{bad}` is not an instance of the cluster ({})",
            instances.join(", ")
        ));
    }
    let ep = if excluding {
        CustomEndpoint::excluding(kind, names)
    } else {
        CustomEndpoint {
            kind,
            ..CustomEndpoint::any(names)
        }
    };
    Ok((name.to_string(), ep))
}

/// The `--custom-endpoint` form of a definition (for the repro command).
pub fn spec_of(name: &str, ep: &reference::endpoints::CustomEndpoint) -> String {
    let kind = match ep.kind {
        EndpointType::Reader => "reader",
        EndpointType::Any => "any",
    };
    let members = if ep.static_members.is_empty() {
        ep.excluded
            .iter()
            .map(|m| format!("-{m}"))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        ep.static_members.join(",")
    };
    format!("{name}={kind}:{members}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        let inst: Vec<String> = ["db-1", "db-2", "db-3"].map(String::from).to_vec();
        for s in ["analytics=reader:db-2,db-3", "batch=any:-db-1"] {
            let (n, ep) = parse_spec(s, &inst).unwrap();
            assert_eq!(spec_of(&n, &ep), s);
        }
        for bad in [
            "x",
            "x=reader",
            "x=writer:db-1",
            "x=any:db-9",
            "x=any:db-1,-db-2",
            "x=any:",
        ] {
            assert!(parse_spec(bad, &inst).is_err(), "{bad}");
        }
    }
}
