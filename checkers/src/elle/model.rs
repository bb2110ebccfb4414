//! The consistency-model lattice and the anomaly table, as Elle (`elle.consistency-model`) has them.
//!
//! Everything here is data: three DAGs given as `(node, [successors])` tables.
//! - [`IMPLIED`]: anomaly `a -> b` means "if `a` is present, so is `b`" (G0 implies G1c, …).
//! - [`MODELS`]: model `a -> b` means "a history satisfying `a` also satisfies `b`".
//! - [`PROSCRIBED`]: model `m -> [anomalies]` that `m` directly rules out (stronger models inherit them
//!   through [`MODELS`]).
//!
//! One deliberate difference from Elle HEAD: the elle-cli corpus was produced by Elle 0.2.x, whose
//! `:not` for a lost update is `#{:cursor-stability :update-atomic}`. We keep that model, `update-atomic`
//! (proscribing `lost-update`), and let `ROLA` imply it instead of proscribing `lost-update` itself.
//!
//! Invariants: every function returns sorted, deduplicated names; model names are canonicalized with
//! [`canonical`] before any lookup and turned back with [`friendly`] for output.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

type Dag = &'static [(&'static str, &'static [&'static str])];

/// Anomaly implications (Elle's `implied-anomalies`, with the `-item` cycle names Elle uses for
/// item-only workloads such as list-append and rw-register).
pub const IMPLIED: Dag = &[
    ("G0", &["G1c", "G0-process"]),
    ("G0-process", &["G1c-process", "G0-realtime"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1a", &["G1"]),
    ("G1b", &["G1"]),
    ("G1c", &["G1", "G1c-process"]),
    ("G1c-process", &["G1c-realtime", "G1-process"]),
    ("G1c-realtime", &["G1-realtime"]),
    ("G1", &["G1-process"]),
    ("G1-process", &["G1-realtime"]),
    (
        "G-single-item",
        &["G-single", "G-single-item-process", "G-nonadjacent-item"],
    ),
    (
        "G-single-item-process",
        &[
            "G-single-process",
            "G-single-item-realtime",
            "G-nonadjacent-item-process",
        ],
    ),
    (
        "G-single-item-realtime",
        &["G-single-realtime", "G-nonadjacent-item-realtime"],
    ),
    ("G-single", &["G-nonadjacent", "GSIb", "G-single-process"]),
    (
        "G-single-process",
        &["G-nonadjacent-process", "G-single-realtime"],
    ),
    ("G-single-realtime", &["G-nonadjacent-realtime"]),
    (
        "G-nonadjacent-item",
        &["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
    ),
    (
        "G-nonadjacent-item-process",
        &[
            "G-nonadjacent-process",
            "G2-item-process",
            "G-nonadjacent-item-realtime",
        ],
    ),
    (
        "G-nonadjacent-item-realtime",
        &["G2-item-realtime", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent", &["G2", "G-nonadjacent-process"]),
    (
        "G-nonadjacent-process",
        &["G2-process", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent-realtime", &["G2-realtime"]),
    ("G2", &["G2-process"]),
    ("G2-item", &["G2", "G2-item-process"]),
    ("G2-item-process", &["G2-process", "G2-item-realtime"]),
    ("G2-item-realtime", &["G2-realtime"]),
    ("G2-process", &["G2-realtime"]),
    ("GSIa", &["GSI"]),
    ("GSIb", &["GSI"]),
    ("incompatible-order", &["G1a"]),
    ("future-read", &["G1c"]),
    ("dirty-update", &["G1a"]),
    ("lost-update", &["write-skew", "G2-item"]),
    ("write-skew", &["G2"]),
];

/// Extra "worse than" edges used only to order the cycle search (Elle's `anomaly-severity-graph`).
const SEVERITY: Dag = &[
    ("G0", &["G1c"]),
    ("G0-process", &["G1c-process"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1c", &["G-single-item", "G2-item"]),
    ("G1c-process", &["G-single-item-process", "G2-item-process"]),
    (
        "G1c-realtime",
        &["G-single-item-realtime", "G2-item-realtime"],
    ),
    ("G2", &["G0-process"]),
    ("G2-process", &["G0-realtime"]),
];

/// Friendly model name -> canonical name (Elle's `canonical-model-names`).
const CANONICAL: &[(&str, &str)] = &[
    ("consistent-view", "PL-2+"),
    ("conflict-serializable", "PL-3"),
    ("cursor-stability", "PL-CS"),
    ("forward-consistent-view", "PL-FCV"),
    ("monotonic-snapshot-read", "PL-MSR"),
    ("monotonic-view", "PL-2L"),
    ("read-committed", "PL-2"),
    ("read-uncommitted", "PL-1"),
    ("repeatable-read", "PL-2.99"),
    ("serializable", "PL-3"),
    ("snapshot-isolation", "PL-SI"),
    ("strict-serializable", "PL-SS"),
    ("strong-serializable", "PL-SS"),
    ("update-serializable", "PL-3U"),
    ("strong-session-read-uncommitted", "strong-session-PL-1"),
    ("strong-session-read-committed", "strong-session-PL-2"),
    ("strong-read-uncommitted", "strong-PL-1"),
    ("strong-read-committed", "strong-PL-2"),
];

/// Model implications, in friendly or canonical names (canonicalized on load).
pub const MODELS: Dag = &[
    ("causal-cerone", &["read-atomic"]),
    ("consistent-view", &["cursor-stability", "monotonic-view"]),
    ("conflict-serializable", &["view-serializable"]),
    ("cursor-stability", &["read-committed", "PL-2"]),
    ("forward-consistent-view", &["consistent-view"]),
    ("PL-2", &["PL-1"]),
    ("PL-3", &["repeatable-read", "update-serializable"]),
    ("update-serializable", &["forward-consistent-view"]),
    ("monotonic-atomic-view", &["read-committed"]),
    ("monotonic-view", &["PL-2"]),
    ("monotonic-snapshot-read", &["PL-2"]),
    ("parallel-snapshot-isolation", &["causal-cerone", "ROLA"]),
    ("prefix", &["causal-cerone"]),
    ("read-atomic", &["monotonic-atomic-view"]),
    ("read-committed", &["read-uncommitted"]),
    (
        "repeatable-read",
        &["cursor-stability", "monotonic-atomic-view"],
    ),
    ("ROLA", &["read-atomic", "update-atomic"]),
    (
        "serializable",
        &["repeatable-read", "snapshot-isolation", "view-serializable"],
    ),
    ("session-serializable", &["1SR"]),
    (
        "snapshot-isolation",
        &[
            "forward-consistent-view",
            "monotonic-atomic-view",
            "monotonic-snapshot-read",
            "parallel-snapshot-isolation",
            "prefix",
        ],
    ),
    (
        "strict-serializable",
        &[
            "PL-3",
            "serializable",
            "linearizable",
            "snapshot-isolation",
            "strong-snapshot-isolation",
            "strong-session-serializable",
        ],
    ),
    ("strong-session-PL-1", &["PL-1"]),
    ("strong-session-PL-2", &["PL-2", "strong-session-PL-1"]),
    ("strong-PL-1", &["strong-session-PL-1"]),
    ("strong-PL-2", &["strong-session-PL-2", "strong-PL-1"]),
    (
        "strong-session-serializable",
        &["serializable", "strong-session-snapshot-isolation"],
    ),
    (
        "strong-session-snapshot-isolation",
        &["snapshot-isolation", "strong-session-PL-2"],
    ),
    ("strong-serializable", &["session-serializable"]),
    (
        "strong-snapshot-isolation",
        &["strong-session-snapshot-isolation", "strong-PL-2"],
    ),
    ("linearizable", &["sequential"]),
    ("sequential", &["causal"]),
    ("causal", &["writes-follow-reads", "PRAM"]),
    (
        "PRAM",
        &["monotonic-reads", "monotonic-writes", "read-your-writes"],
    ),
];

/// Anomalies each model directly rules out (Elle's `direct-proscribed-anomalies`).
pub const PROSCRIBED: Dag = &[
    ("causal-cerone", &["internal", "G1a"]),
    ("cursor-stability", &["G1", "G-cursor", "lost-update"]),
    ("monotonic-view", &["G1", "G-monotonic"]),
    ("monotonic-snapshot-read", &["G1", "G-MSR"]),
    ("consistent-view", &["G1", "G-single"]),
    ("forward-consistent-view", &["G1", "G-SIb"]),
    ("parallel-snapshot-isolation", &["internal", "G1a"]),
    (
        "PL-3",
        &["G1", "G2", "predicate-read-miss", "PL-3-cycle-exists"],
    ),
    ("PL-2", &["G1", "PL-2-cycle-exists"]),
    (
        "PL-1",
        &[
            "G0",
            "duplicate-elements",
            "cyclic-versions",
            "PL-1-cycle-exists",
        ],
    ),
    ("prefix", &["internal", "G1a"]),
    ("serializable", &["internal"]),
    (
        "snapshot-isolation",
        &[
            "internal",
            "G1",
            "G-SI",
            "G-nonadjacent",
            "PL-SI-cycle-exists",
        ],
    ),
    ("read-atomic", &["internal", "G1a", "future-read"]),
    (
        "repeatable-read",
        &["G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"],
    ),
    ("update-atomic", &["lost-update"]),
    (
        "strict-serializable",
        &["G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"],
    ),
    (
        "strong-session-PL-1",
        &["strong-session-PL-1-cycle-exists", "G0-process"],
    ),
    (
        "strong-session-PL-2",
        &["strong-session-PL-2-cycle-exists", "G1c-process"],
    ),
    ("strong-PL-1", &["strong-PL-1-cycle-exists", "G0-realtime"]),
    ("strong-PL-2", &["strong-PL-2-cycle-exists", "G1c-realtime"]),
    (
        "strong-session-snapshot-isolation",
        &[
            "internal",
            "G1-process",
            "G-nonadjacent-process",
            "strong-session-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-snapshot-isolation",
        &[
            "internal",
            "G1-realtime",
            "G-nonadjacent-realtime",
            "strong-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-session-serializable",
        &[
            "G1-process",
            "G2-process",
            "strong-session-serializable-cycle-exists",
        ],
    ),
    ("update-serializable", &["G1", "G-update"]),
];

/// The canonical name of a model (`serializable` -> `PL-3`); unknown names are returned unchanged.
pub fn canonical(model: &str) -> &str {
    CANONICAL
        .iter()
        .find(|(f, _)| *f == model)
        .map(|(_, c)| *c)
        .unwrap_or(model)
}

/// The friendly name of a canonical model (`PL-3` -> `serializable`, `PL-SS` -> `strict-serializable`).
pub fn friendly(model: &str) -> &str {
    match model {
        "PL-3" => "serializable",
        "PL-SS" => "strict-serializable",
        _ => CANONICAL
            .iter()
            .find(|(_, c)| *c == model)
            .map(|(f, _)| *f)
            .unwrap_or(model),
    }
}

/// A DAG as forward and backward adjacency over owned names.
struct Graph {
    out: BTreeMap<String, BTreeSet<String>>,
    inn: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn new(tables: &[Dag], canon: bool) -> Graph {
        let name = |s: &str| {
            if canon {
                canonical(s).to_string()
            } else {
                s.to_string()
            }
        };
        let mut g = Graph {
            out: BTreeMap::new(),
            inn: BTreeMap::new(),
        };
        for table in tables {
            for (a, bs) in table.iter() {
                for b in bs.iter() {
                    g.out.entry(name(a)).or_default().insert(name(b));
                    g.inn.entry(name(b)).or_default().insert(name(a));
                    g.out.entry(name(b)).or_default();
                    g.inn.entry(name(a)).or_default();
                }
            }
        }
        g
    }

    /// Everything reachable from `start` (including `start`) following `out` (or `inn`).
    fn reach<'a>(
        &self,
        start: impl IntoIterator<Item = &'a str>,
        forward: bool,
    ) -> BTreeSet<String> {
        let adj = if forward { &self.out } else { &self.inn };
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<String> = start.into_iter().map(str::to_string).collect();
        while let Some(x) = stack.pop() {
            if seen.insert(x.clone()) {
                if let Some(next) = adj.get(&x) {
                    stack.extend(next.iter().cloned());
                }
            }
        }
        seen
    }
}

struct Tables {
    implied: Graph,
    models: Graph,
    /// Canonical model -> anomalies it directly proscribes.
    proscribed: BTreeMap<String, BTreeSet<String>>,
    /// Anomaly -> canonical models directly proscribing it.
    proscribed_by: BTreeMap<String, BTreeSet<String>>,
    depth: BTreeMap<String, usize>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let implied = Graph::new(&[IMPLIED], false);
        let models = Graph::new(&[MODELS], true);
        let mut proscribed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut proscribed_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, anomalies) in PROSCRIBED {
            for a in anomalies.iter() {
                proscribed
                    .entry(canonical(m).to_string())
                    .or_default()
                    .insert(a.to_string());
                proscribed_by
                    .entry(a.to_string())
                    .or_default()
                    .insert(canonical(m).to_string());
            }
        }
        // Depth: longest path from a root in implied ∪ severity; directly proscribed anomalies are at
        // least depth 0. Computed by relaxation (the graph is a small DAG).
        let sev = Graph::new(&[IMPLIED, SEVERITY], false);
        let mut depth: BTreeMap<String, usize> = sev.out.keys().map(|k| (k.clone(), 0)).collect();
        for a in proscribed_by.keys() {
            depth.entry(a.clone()).or_insert(0);
        }
        let mut changed = true;
        while changed {
            changed = false;
            for (a, bs) in &sev.out {
                let da = depth.get(a).copied().unwrap_or(0);
                for b in bs {
                    let e = depth.entry(b.clone()).or_insert(0);
                    if *e < da + 1 {
                        *e = da + 1;
                        changed = true;
                    }
                }
            }
        }
        Tables {
            implied,
            models,
            proscribed,
            proscribed_by,
            depth,
        }
    })
}

/// Is `model` (friendly or canonical) a model the lattice knows?
pub fn is_known_model(model: &str) -> bool {
    let c = canonical(model);
    let t = tables();
    t.models.out.contains_key(c)
        || t.proscribed.contains_key(c)
        || CANONICAL.iter().any(|(f, _)| *f == model)
}

/// Anomalies implied by any of `anomalies` (including themselves).
pub fn all_implied_anomalies<'a>(anomalies: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    tables().implied.reach(anomalies, true)
}

/// Anomalies that would imply any of `anomalies` (including themselves).
pub fn all_anomalies_implying<'a>(
    anomalies: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<String> {
    tables().implied.reach(anomalies, false)
}

/// Every anomaly that must be absent for all of `models` to hold (Elle's `anomalies-prohibited-by`).
pub fn anomalies_prohibited_by(models: &[String]) -> BTreeSet<String> {
    let t = tables();
    let implied_models = t.models.reach(models.iter().map(|m| canonical(m)), true);
    let direct: Vec<String> = implied_models
        .iter()
        .filter_map(|m| t.proscribed.get(m))
        .flat_map(|s| s.iter().cloned())
        .collect();
    all_anomalies_implying(direct.iter().map(String::as_str))
}

/// Canonical models which are impossible when `model` is (itself and every stronger model).
pub fn all_impossible_models(model: &str) -> BTreeSet<String> {
    tables().models.reach([canonical(model)], false)
}

/// Canonical models ruled out by the presence of `anomalies` (Elle's `anomalies->impossible-models`).
pub fn impossible_models<'a>(anomalies: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let t = tables();
    let implied = all_implied_anomalies(anomalies);
    let direct: Vec<String> = implied
        .iter()
        .filter_map(|a| t.proscribed_by.get(a))
        .flat_map(|s| s.iter().cloned())
        .collect();
    t.models.reach(direct.iter().map(String::as_str), false)
}

/// The weakest ruled-out models, friendly names, sorted (Elle's `:not`), and the rest (`:also-not`).
pub fn boundary<'a>(anomalies: impl IntoIterator<Item = &'a str>) -> (Vec<String>, Vec<String>) {
    let t = tables();
    let impossible = impossible_models(anomalies);
    let mut not = BTreeSet::new();
    let mut also = BTreeSet::new();
    for m in &impossible {
        let weaker = t.models.reach([m.as_str()], true);
        if weaker.iter().any(|w| w != m && impossible.contains(w)) {
            also.insert(friendly(m).to_string());
        } else {
            not.insert(friendly(m).to_string());
        }
    }
    (not.into_iter().collect(), also.into_iter().collect())
}

/// Depth of an anomaly in the implication/severity DAG (0 = implied by nothing); unknown names sort last.
pub fn depth(anomaly: &str) -> usize {
    tables().depth.get(anomaly).copied().unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_single_item_rules_out_consistent_view_and_repeatable_read() {
        assert_eq!(
            boundary(["G-single-item"]).0,
            ["consistent-view", "repeatable-read"]
        );
    }

    #[test]
    fn lost_update_boundary_matches_elle_0_2() {
        assert_eq!(
            boundary(["lost-update"]).0,
            ["cursor-stability", "update-atomic"]
        );
        assert_eq!(
            boundary(["G2-item", "lost-update"]).0,
            ["cursor-stability", "update-atomic"]
        );
    }

    #[test]
    fn strict_serializable_prohibits_realtime_cycles() {
        let p = anomalies_prohibited_by(&["strict-serializable".into()]);
        for a in [
            "G0",
            "G1c-realtime",
            "G-single-item-realtime",
            "G2-item",
            "internal",
            "lost-update",
        ] {
            assert!(p.contains(a), "{a}");
        }
        assert!(!p.contains("G0-process") || p.contains("G0-process"));
        let si = anomalies_prohibited_by(&["snapshot-isolation".into()]);
        assert!(si.contains("G-single-item") && !si.contains("G2-item"));
    }

    #[test]
    fn depths_order_g0_before_g1c_before_g_single() {
        assert!(depth("G0") < depth("G1c"));
        assert!(depth("G1c") < depth("G-single-item"));
        assert!(depth("G2-item") < depth("G0-process"));
    }

    #[test]
    fn known_models() {
        assert!(is_known_model("strict-serializable"));
        assert!(is_known_model("strong-session-snapshot-isolation"));
        assert!(!is_known_model("nonsense"));
    }
}

/// Every anomaly name the tables know ([`IMPLIED`], [`PROSCRIBED`]), plus the anomalies the
/// analyses report that no model table names.
pub fn all_anomaly_names() -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for (a, bs) in IMPLIED.iter() {
        out.insert(a.to_string());
        out.extend(bs.iter().map(|b| b.to_string()));
    }
    for (_, bs) in PROSCRIBED.iter() {
        out.extend(bs.iter().map(|b| b.to_string()));
    }
    for extra in [
        "G1a",
        "G1b",
        "internal",
        "lost-update",
        "dirty-update",
        "future-read",
        "duplicate-elements",
        "duplicate-appends",
        "incompatible-order",
        "cyclic-versions",
        "empty-transaction-graph",
        "cycle-search-timeout",
    ] {
        out.insert(extra.to_string());
    }
    out
}
