//! Run outcomes with fixed exit codes, so CI and reports can tell them apart.

use serde::{Deserialize, Serialize};

/// The outcome of a run (or of a check). Ordered by severity for merging: a harness crash outranks a
/// correctness violation, which outranks liveness, unknown and pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every check passed. Exit 0.
    Pass,
    /// A checker could not decide (time limit, empty graph). Exit 3.
    Unknown,
    /// The cluster did not converge after the heal (final reads never completed). Exit 4.
    Liveness,
    /// Bad input or usage. Exit 2.
    BadInput,
    /// A correctness violation: a checker or an invariant failed. Exit 1.
    Violation,
    /// The harness itself failed (panic, simulation error). Exit 5.
    HarnessCrash,
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Pass => 0,
            Outcome::Violation => 1,
            Outcome::BadInput => 2,
            Outcome::Unknown => 3,
            Outcome::Liveness => 4,
            Outcome::HarnessCrash => 5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Violation => "violation",
            Outcome::BadInput => "bad-input",
            Outcome::Unknown => "unknown",
            Outcome::Liveness => "liveness",
            Outcome::HarnessCrash => "harness-crash",
        }
    }

    /// The worse of two outcomes.
    pub fn merge(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

impl From<checkers::Validity> for Outcome {
    fn from(v: checkers::Validity) -> Outcome {
        match v {
            checkers::Validity::Valid => Outcome::Pass,
            checkers::Validity::Unknown => Outcome::Unknown,
            checkers::Validity::Invalid => Outcome::Violation,
        }
    }
}
