//! Explanations of cycles: data first ([`CycleExplanation`], serde), then prose in Elle's style
//! ("Let T1 = … Then T1 < T2, because … However, T2 < T1, because …: a contradiction!"), and a
//! Graphviz DOT rendering.
//!
//! Transactions are named `T1, T2, …` in cycle order; each is shown by its op `:index`, process and
//! micro-ops, so a reader can find it in the history.

use super::graph::{rel_name, PROCESS, REALTIME};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// A transaction as shown in an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnRef {
    /// `:index` of the completion op (or of the invocation when there is no completion).
    pub index: usize,
    pub process: i64,
    /// `ok`, `info` or `fail`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The micro-ops, as EDN.
    pub value: String,
    /// `:index` of the invocation.
    #[serde(rename = "invoke-index", default)]
    pub invoke_index: usize,
}

/// Why `from` precedes `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepExplanation {
    /// `ww`, `wr`, `rw`, `process` or `realtime`.
    #[serde(rename = "type")]
    pub rel: String,
    /// Position of the source in `cycle` (T1 is 0).
    pub from: usize,
    pub to: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<String>,
    #[serde(rename = "value'", skip_serializing_if = "Option::is_none", default)]
    pub value2: Option<String>,
    /// The reason as a clause, with `{a}` / `{b}` standing for the two transactions' names.
    pub reason: String,
}

/// One cycle anomaly: the transactions in order (the first is not repeated) and one step per edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleExplanation {
    #[serde(rename = "type")]
    pub kind: String,
    pub cycle: Vec<TxnRef>,
    pub steps: Vec<StepExplanation>,
}

/// Workload-specific knowledge of why one transaction precedes another.
pub trait Explainer {
    /// The transaction as shown to users.
    fn txn_ref(&self, t: u32) -> TxnRef;
    /// Why `a -> b` by relationship `rel` (data relationships only; process and realtime are
    /// explained by [`order_step`]).
    fn data_step(&self, a: u32, b: u32, rel: u8) -> StepExplanation;
}

/// Explains a process or realtime step from the transactions themselves.
pub fn order_step(a: &TxnRef, b: &TxnRef, rel: u8) -> StepExplanation {
    let reason = if rel == PROCESS {
        format!("process {} executed {{a}} before {{b}}", a.process)
    } else {
        format!(
            "{{a}} completed at index {}, before the invocation of {{b}}, at index {}",
            a.index, b.invoke_index
        )
    };
    StepExplanation {
        rel: rel_name(rel).into(),
        from: 0,
        to: 0,
        key: None,
        value: None,
        value2: None,
        reason,
    }
}

/// Builds the explanation of a cycle given as `(from, to, rel)` transaction steps.
pub fn explain_cycle(kind: &str, steps: &[(u32, u32, u8)], ex: &dyn Explainer) -> CycleExplanation {
    let cycle: Vec<TxnRef> = steps.iter().map(|s| ex.txn_ref(s.0)).collect();
    let n = steps.len();
    let steps = steps
        .iter()
        .enumerate()
        .map(|(i, &(a, b, rel))| {
            let mut s = if rel == PROCESS || rel == REALTIME {
                order_step(&cycle[i], &cycle[(i + 1) % n], rel)
            } else {
                ex.data_step(a, b, rel)
            };
            s.from = i;
            s.to = (i + 1) % n;
            s
        })
        .collect();
    CycleExplanation {
        kind: kind.into(),
        cycle,
        steps,
    }
}

fn name(i: usize) -> String {
    format!("T{}", i + 1)
}

/// Elle-style prose for one cycle.
pub fn render(c: &CycleExplanation) -> String {
    let mut out = String::from("Let:\n");
    for (i, t) in c.cycle.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {} = {{:index {}, :type :{}, :process {}, :value {}}}",
            name(i),
            t.index,
            t.kind,
            t.process,
            t.value
        );
    }
    out.push_str("\nThen:\n");
    let last = c.steps.len().saturating_sub(1);
    for (i, s) in c.steps.iter().enumerate() {
        let reason = s
            .reason
            .replace("{a}", &name(s.from))
            .replace("{b}", &name(s.to));
        let lead = if i == last && i > 0 { "However, " } else { "" };
        let end = if i == last { ": a contradiction!" } else { "." };
        let _ = writeln!(
            out,
            "  - {lead}{} < {}, because {reason}{end}",
            name(s.from),
            name(s.to)
        );
    }
    out
}

/// Escapes text for a double-quoted DOT string: backslash, quote and line breaks, so no value (a
/// key such as `"a\\"` or one with a newline) can end the label early or inject attributes.
pub fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A Graphviz DOT rendering of one cycle: transactions as boxes, edges labelled with their
/// relationship and key. Every label is escaped with [`dot_escape`].
pub fn dot(c: &CycleExplanation) -> String {
    let mut out = String::from(
        "digraph cycle {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, t) in c.cycle.iter().enumerate() {
        let label = format!(
            "{}\\n{}",
            dot_escape(&format!("{} (op {}, p{})", name(i), t.index, t.process)),
            dot_escape(&t.value)
        );
        let _ = writeln!(out, "  t{i} [label=\"{label}\"];");
    }
    for s in &c.steps {
        let color = match s.rel.as_str() {
            "ww" => "red",
            "wr" => "blue",
            "rw" => "darkorange",
            "process" => "darkgreen",
            _ => "gray40",
        };
        let key = s
            .key
            .as_ref()
            .map(|k| format!(" {}", dot_escape(k)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  t{} -> t{} [label=\"{}{}\", color={color}, fontcolor={color}];",
            s.from, s.to, s.rel, key
        );
    }
    out.push_str("}\n");
    out
}
