//! `suite --mutations`: every claim's scenario rerun under each bug it names. A claim must FAIL
//! under its bug; one that still passes is reported as vacuous and the suite fails. This is the
//! claim rule: a claim nobody has seen fail is not shown as passing.

use super::{claim_row, run_scenario, Scenario, CLAIMS};
use reference::Bug;
use report::{ClaimRow, MutationOutcome, MutationRow, Status};

/// Runs each scenario in `scenarios` (those whose claim is in `rows`) once per bug and returns
/// the matrix; claims none of whose bugs made them fail become `Status::Vacuous`.
pub fn run_mutations(
    scenarios: &[Scenario],
    rows: &mut [ClaimRow],
    mut progress: impl FnMut(&str),
) -> Vec<MutationRow> {
    let mut matrix = Vec::new();
    for row in rows.iter_mut() {
        let Some(sc) = scenarios.iter().find(|s| s.claim == row.claim) else {
            continue;
        };
        let wording = CLAIMS
            .iter()
            .find(|(c, _)| *c == sc.claim)
            .map(|(_, w)| *w)
            .unwrap_or_default();
        let mut caught_any = false;
        for bug in sc.bugs {
            progress(&format!("{} under {bug}", sc.claim));
            let runs = run_scenario(sc, &[bug]);
            let mutated = claim_row(sc.claim, wording, sc, &runs);
            let outcome = if mutated.status == Status::Fail {
                caught_any = true;
                MutationOutcome::Caught
            } else {
                MutationOutcome::Vacuous
            };
            matrix.push(MutationRow {
                claim: sc.claim.to_string(),
                bug: bug.to_string(),
                bug_description: Bug::from_name(bug)
                    .map(|b| b.description().to_string())
                    .unwrap_or_default(),
                outcome,
                figure: mutated.scenario.and_then(|s| s.figure),
                seeds: sc.seeds.clone(),
            });
        }
        if (sc.bugs.is_empty() || !caught_any) && row.status == Status::Pass {
            row.status = Status::Vacuous {
                reason: if sc.bugs.is_empty() {
                    "no bug is named that must make this claim fail".into()
                } else {
                    format!("still passes under {}", sc.bugs.join(", "))
                },
            };
        }
    }
    matrix
}
