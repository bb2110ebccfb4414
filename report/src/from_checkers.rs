//! Conversions from the `checkers` crate (feature `checkers`): a checker's verdict becomes a
//! report row, its validity a report [`Verdict`].

use crate::model::{CheckRow, Verdict};
use checkers::verdict::{Validity, Verdict as CheckerVerdict};

impl From<Validity> for Verdict {
    fn from(v: Validity) -> Verdict {
        match v {
            Validity::Valid => Verdict::Valid,
            Validity::Unknown => Verdict::Unknown,
            Validity::Invalid => Verdict::Invalid,
        }
    }
}

impl CheckRow {
    /// One row for checker `name`'s verdict. The summary lists the anomaly kinds found and the
    /// models ruled out (`"G1c, G-single; not serializable, snapshot-isolation"`), or says none
    /// were found. The verdict's prose `explanation` is not included: put it in
    /// `ScenarioResult::explanations`.
    pub fn from_verdict(name: &str, verdict: &CheckerVerdict, advisory: bool) -> CheckRow {
        let mut summary = if verdict.anomaly_types.is_empty() {
            "no anomalies".to_string()
        } else {
            verdict.anomaly_types.join(", ")
        };
        if !verdict.not.is_empty() {
            summary.push_str(&format!("; not {}", verdict.not.join(", ")));
        }
        CheckRow {
            name: name.to_string(),
            verdict: verdict.valid.into(),
            advisory,
            summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_becomes_row() {
        let mut v = CheckerVerdict::valid();
        assert_eq!(
            CheckRow::from_verdict("bank", &v, false).summary,
            "no anomalies"
        );
        v.valid = Validity::Invalid;
        v.anomaly_types = vec!["G1c".into(), "G-single".into()];
        v.not = vec!["serializable".into()];
        let row = CheckRow::from_verdict("elle", &v, true);
        assert_eq!(row.verdict, Verdict::Invalid);
        assert!(row.advisory);
        assert_eq!(row.summary, "G1c, G-single; not serializable");
    }
}
