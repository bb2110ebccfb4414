//! Options of the Elle checkers, with Elle's defaults and elle-cli's option names.

use super::model;
use super::rw_register::VersionOptions;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Default [`ElleOptions::cycle_search_budget`]. Measured by `cargo bench -p checkers --bench
/// budget` on this project's 2-core machine: about 0.8 s of CPU for one component that exhausts it,
/// close to Elle's default one-second `cycle-search-timeout` (see the README's checker figures).
pub const DEFAULT_CYCLE_SEARCH_BUDGET: u64 = 100_000_000;

/// What to check and how to infer version orders.
///
/// Invariant: `models` and `anomalies` use Elle's names; unknown model names are rejected by
/// [`ElleOptions::from_json`] (and contribute nothing if set directly).
#[derive(Debug, Clone, PartialEq)]
pub struct ElleOptions {
    /// Consistency models the history must satisfy (Elle's `:consistency-models`).
    pub models: Vec<String>,
    /// Extra anomalies to prohibit (Elle's `:anomalies`; elle-cli passes `[G0]`).
    pub anomalies: Vec<String>,
    /// rw-register: each key is sequentially consistent (process order gives version order).
    pub sequential_keys: bool,
    /// rw-register: each key is linearizable (real-time order gives version order).
    pub linearizable_keys: bool,
    /// rw-register: within a txn, writes follow reads.
    pub wfr_keys: bool,
    /// rw-register: an assumed total order of txns, as op `:index` -> rank.
    pub transaction_order: Option<BTreeMap<usize, i64>>,
    /// Deterministic work budget of the typed cycle search in one strongly connected component
    /// ([`crate::budget`]); when it runs out the verdict carries `cycle-search-timeout` naming it.
    pub cycle_search_budget: u64,
    /// A wall-clock limit for the cycle search in one SCC, as an explicit user choice (elle-cli's
    /// `cycle-search-timeout`, `--time-limit`). `None` by default: with it set, results may depend
    /// on machine speed.
    pub cycle_search_timeout: Option<Duration>,
}

impl Default for ElleOptions {
    fn default() -> Self {
        ElleOptions {
            models: vec!["strict-serializable".into()],
            anomalies: Vec::new(),
            sequential_keys: false,
            linearizable_keys: false,
            wfr_keys: false,
            transaction_order: None,
            cycle_search_budget: DEFAULT_CYCLE_SEARCH_BUDGET,
            cycle_search_timeout: None,
        }
    }
}

impl ElleOptions {
    /// Options for the given models, other fields default.
    pub fn with_models(models: &[&str]) -> Self {
        ElleOptions {
            models: models.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Reads elle-cli style options: `consistency-models`, `anomalies`, `sequential-keys?`,
    /// `linearizable-keys?`, `wfr-keys?`, `transaction-order` (a JSON object, or an EDN map text
    /// such as `"{1 0, 3 1}"`), `cycle-search-timeout` (ms, an explicit wall-clock limit),
    /// `cycle-search-budget` (work units). Other keys are ignored.
    pub fn from_json(j: &serde_json::Value) -> Result<ElleOptions, String> {
        let mut o = ElleOptions::default();
        let names = |v: &serde_json::Value| -> Result<Vec<String>, String> {
            v.as_array()
                .ok_or("expected a list of names")?
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(|s| s.trim_start_matches(':').to_string())
                        .ok_or_else(|| "expected a name".to_string())
                })
                .collect()
        };
        if let Some(m) = j.get("consistency-models") {
            o.models = names(m)?;
            if let Some(bad) = o.models.iter().find(|m| !model::is_known_model(m)) {
                return Err(format!("unknown consistency model {bad}"));
            }
        }
        if let Some(a) = j.get("anomalies") {
            o.anomalies = names(a)?;
        }
        let flag = |k: &str| j.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        o.sequential_keys = flag("sequential-keys?");
        o.linearizable_keys = flag("linearizable-keys?");
        o.wfr_keys = flag("wfr-keys?");
        if let Some(ms) = j.get("cycle-search-timeout").and_then(|v| v.as_u64()) {
            o.cycle_search_timeout = Some(Duration::from_millis(ms));
        }
        if let Some(units) = j.get("cycle-search-budget").and_then(|v| v.as_u64()) {
            o.cycle_search_budget = units;
        }
        match j.get("transaction-order") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Object(m)) => {
                let mut order = BTreeMap::new();
                for (k, v) in m {
                    let k: usize = k
                        .parse()
                        .map_err(|_| format!("transaction-order key {k} is not an op index"))?;
                    order.insert(
                        k,
                        v.as_i64()
                            .ok_or("transaction-order rank must be an integer")?,
                    );
                }
                o.transaction_order = Some(order);
            }
            Some(serde_json::Value::String(s)) => o.transaction_order = Some(parse_edn_int_map(s)?),
            Some(other) => return Err(format!("transaction-order: unexpected {other}")),
        }
        Ok(o)
    }

    /// Anomalies that make a history invalid (Elle's `prohibited-anomaly-types`).
    pub fn prohibited(&self) -> BTreeSet<String> {
        let mut p = model::all_anomalies_implying(self.anomalies.iter().map(String::as_str));
        p.extend(model::anomalies_prohibited_by(&self.models));
        p
    }

    pub(crate) fn version_options(&self) -> VersionOptions {
        VersionOptions {
            wfr_keys: self.wfr_keys,
            sequential_keys: self.sequential_keys,
            linearizable_keys: self.linearizable_keys,
            transaction_order: self.transaction_order.clone(),
        }
    }
}

/// Consistency models of single objects (registers, not transactions) in Elle's lattice. They say
/// nothing about a transactional history, so asking for them is a usage error, not a silent pass.
pub const SINGLE_OBJECT_MODELS: [&str; 8] = [
    "linearizable",
    "sequential",
    "causal",
    "PRAM",
    "writes-follow-reads",
    "monotonic-reads",
    "monotonic-writes",
    "read-your-writes",
];

/// Parses a comma-separated list of consistency models for a transactional checker (elle-cli's
/// `-c`, `--model` of `check`): names may carry a leading `:`; an empty list (e.g. `","`), an
/// unknown name or a single-object model is an error naming it.
pub fn parse_models(text: &str) -> Result<Vec<String>, String> {
    let models = split_names(text);
    if models.is_empty() {
        return Err(format!("no consistency model given in {text:?}"));
    }
    for m in &models {
        if SINGLE_OBJECT_MODELS
            .iter()
            .any(|s| s.eq_ignore_ascii_case(m))
        {
            return Err(format!(
                "`{m}` is a single-object consistency model; list-append and rw-register histories are checked against transactional models (e.g. strict-serializable, serializable, snapshot-isolation)"
            ));
        }
        if !model::is_known_model(m) {
            return Err(format!("unknown consistency model `{m}`"));
        }
    }
    Ok(models)
}

/// Parses a comma-separated list of anomaly names (elle-cli's `-a`); an empty list is allowed (no
/// extra anomalies); an unknown name is an error.
pub fn parse_anomalies(text: &str) -> Result<Vec<String>, String> {
    let names = split_names(text);
    let known = model::all_anomaly_names();
    for a in &names {
        if !known.contains(a.as_str()) {
            return Err(format!("unknown anomaly `{a}`"));
        }
    }
    Ok(names)
}

fn split_names(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().trim_start_matches(':').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses the leading `{a b, c d}` integer map of a string (anything after the `}` is ignored).
fn parse_edn_int_map(s: &str) -> Result<BTreeMap<usize, i64>, String> {
    let body = s
        .trim_start()
        .strip_prefix('{')
        .and_then(|r| r.split('}').next())
        .ok_or("expected an EDN map {k v ...}")?;
    let nums: Vec<i64> = body
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(|x| x.parse::<i64>().map_err(|_| format!("not an integer: {x}")))
        .collect::<Result<_, _>>()?;
    if !nums.len().is_multiple_of(2) {
        return Err("odd number of forms in map".into());
    }
    Ok(nums
        .chunks(2)
        .map(|c| (c[0].max(0) as usize, c[1]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elle_cli_options() {
        let j = serde_json::json!({"consistency-models": ["serializable"], "anomalies": ["G0"],
            "linearizable-keys?": true, "transaction-order": "{1 0, 3 1, 5 2} (EDN map)", "cycle-search-timeout": 1000});
        let o = ElleOptions::from_json(&j).unwrap();
        assert_eq!(o.models, ["serializable"]);
        assert!(o.linearizable_keys && !o.sequential_keys);
        assert_eq!(
            o.transaction_order.unwrap().into_iter().collect::<Vec<_>>(),
            [(1, 0), (3, 1), (5, 2)]
        );
        assert!(
            ElleOptions::from_json(&serde_json::json!({"consistency-models": ["bogus"]})).is_err()
        );
    }
}
