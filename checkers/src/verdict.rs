//! The checker contract: one trait, a three-valued verdict, anomalies as data.
//!
//! Validity merges as Jepsen's does: `Invalid` outranks `Unknown` outranks `Valid`.

use crate::history::History;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `:valid?`: true, false, or unknown (e.g. a search that hit its time limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Validity {
    Valid,
    Unknown,
    Invalid,
}

impl Validity {
    /// The worse of two validities (false outranks unknown outranks true).
    pub fn merge(self, other: Validity) -> Validity {
        self.max(other)
    }

    /// JSON form used by Jepsen and elle-cli: `true`, `false` or `"unknown"`.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Validity::Valid => serde_json::Value::Bool(true),
            Validity::Invalid => serde_json::Value::Bool(false),
            Validity::Unknown => serde_json::Value::String("unknown".into()),
        }
    }
}

/// What a checker concluded. `anomalies` maps an anomaly name (Elle's spelling: `"G1a"`,
/// `"G-single-item"`, `"nonlinearizable"`, `"wrong-total"`, …) to its instances as data; `explanation`
/// is prose rendered from that data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: Validity,
    /// Anomaly kinds found, sorted; also those that only make the result unknown
    /// (`"empty-transaction-graph"`, `"cycle-search-timeout"`).
    pub anomaly_types: Vec<String>,
    /// Consistency models ruled out (Elle's `:not`), sorted.
    pub not: Vec<String>,
    /// Details per anomaly kind.
    pub anomalies: BTreeMap<String, serde_json::Value>,
    /// Human-readable explanation (may be empty when valid).
    pub explanation: String,
    /// Checker-specific figures (e.g. `read-count`, `configs-explored`).
    pub stats: BTreeMap<String, serde_json::Value>,
}

impl Verdict {
    pub fn valid() -> Verdict {
        Verdict {
            valid: Validity::Valid,
            anomaly_types: Vec::new(),
            not: Vec::new(),
            anomalies: BTreeMap::new(),
            explanation: String::new(),
            stats: BTreeMap::new(),
        }
    }

    /// The JSON object `aurora-chaos check --json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": self.valid.to_json(),
            "anomaly_types": self.anomaly_types,
            "not": self.not,
            "anomalies": self.anomalies,
            "explanation": self.explanation,
            "stats": self.stats,
        })
    }
}

impl Verdict {
    /// Elle's result map as JSON, with Elle's keys: `valid?` (`true`, `false` or `"unknown"`),
    /// `anomaly-types`, `anomalies`, `not` and `also-not` (the last four only when not valid, as
    /// Elle's `result-map` does).
    pub fn to_elle_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("valid?".into(), self.valid.to_json());
        if self.valid != Validity::Valid {
            m.insert(
                "anomaly-types".into(),
                serde_json::json!(self.anomaly_types),
            );
            m.insert("anomalies".into(), serde_json::json!(self.anomalies));
            m.insert("not".into(), serde_json::json!(self.not));
            let also = self
                .stats
                .get("also-not")
                .cloned()
                .unwrap_or(serde_json::json!([]));
            m.insert("also-not".into(), also);
        }
        serde_json::Value::Object(m)
    }

    /// The same map as EDN: keys and anomaly / model names become keywords, `not` and `also-not`
    /// sets, `valid?` `true`, `false` or `:unknown`; anomaly details keep their JSON structure with
    /// keyword keys.
    pub fn to_elle_edn(&self) -> String {
        let kws = |xs: &[String]| -> String {
            xs.iter()
                .map(|x| format!(":{x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let valid = match self.valid {
            Validity::Valid => "true",
            Validity::Invalid => "false",
            Validity::Unknown => ":unknown",
        };
        if self.valid == Validity::Valid {
            return format!("{{:valid? {valid}}}");
        }
        let also: Vec<String> = self
            .stats
            .get("also-not")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let anomalies: Vec<String> = self
            .anomalies
            .iter()
            .map(|(k, v)| format!(":{k} {}", json_to_edn(v)))
            .collect();
        format!(
            "{{:valid? {valid},\n :anomaly-types [{}],\n :anomalies {{{}}},\n :not #{{{}}},\n :also-not #{{{}}}}}",
            kws(&self.anomaly_types),
            anomalies.join(",\n  "),
            kws(&self.not),
            kws(&also)
        )
    }
}

/// JSON data as EDN: objects become maps with keyword keys, arrays vectors, `null` nil.
pub fn json_to_edn(j: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match j {
        J::Null => "nil".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => crate::io::Edn(&crate::value::Value::Str(s.clone())).to_string(),
        J::Array(xs) => format!(
            "[{}]",
            xs.iter().map(json_to_edn).collect::<Vec<_>>().join(" ")
        ),
        J::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| {
                    let key = if !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_alphanumeric() || "-_?!'*+<>=.".contains(c))
                        && !k.starts_with(|c: char| c.is_ascii_digit())
                    {
                        format!(":{k}")
                    } else {
                        crate::io::Edn(&crate::value::Value::Str(k.clone())).to_string()
                    };
                    format!("{key} {}", json_to_edn(v))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The verdict for a history a checker cannot interpret (unpairable ops, wrong value shapes, ops of
/// another workload): `Unknown` with the single anomaly `malformed-history`, whose data names the
/// first problem and its 1-based line. Callers that read files treat it as bad input.
pub fn malformed_history(first: &str, line: usize, count: usize, examples: Vec<String>) -> Verdict {
    let mut v = Verdict::valid();
    v.valid = Validity::Unknown;
    v.anomaly_types = vec![MALFORMED.into()];
    v.anomalies.insert(
        MALFORMED.into(),
        serde_json::json!({"error": first, "line": line, "count": count, "examples": examples}),
    );
    v.explanation = if count > 1 {
        format!("{first} (and {} more problem(s))", count - 1)
    } else {
        first.to_string()
    };
    v
}

/// The anomaly name of [`malformed_history`].
pub const MALFORMED: &str = "malformed-history";

impl Verdict {
    /// Whether this verdict says the input could not be interpreted ([`MALFORMED`]).
    pub fn is_malformed(&self) -> bool {
        self.anomaly_types.iter().any(|a| a == MALFORMED)
    }
}

/// A checker looks at a whole history and returns a verdict. Checkers hold their options; `check` is
/// a pure function of the history.
pub trait Checker {
    fn name(&self) -> &str;
    fn check(&self, history: &History) -> Verdict;
    /// Reads and checks a history file; returns the number of ops read and the verdict. The
    /// default reads the file with [`crate::io::read_history_file`]; a checker may read it its own
    /// way (Elle's streaming reader) as long as the verdict and every read error are the same.
    fn check_file(&self, path: &std::path::Path) -> Result<(usize, Verdict), crate::io::ReadError> {
        let h = crate::io::read_history_file(path)?;
        Ok((h.len(), self.check(&h)))
    }
}
