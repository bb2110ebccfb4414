//! Soundness of the list-append and rw-register checkers against a brute-force oracle.
//!
//! Tiny arbitrary histories (a few transactions over two keys, some failed or of unknown
//! outcome, reads drawn from plausible and implausible lists) are checked both by Elle and by
//! trying every serial order of the transactions that may have committed. Elle may miss an
//! anomaly (it infers version orders only from what was read), but it must never report one
//! when a serial order exists: for `serializable`, any order of the committed transactions; for
//! `strict-serializable`, one that also respects real time.

use checkers::elle::dsl::history;
use checkers::elle::{ElleOptions, ListAppendChecker};
use checkers::{Checker, Validity};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub(crate) enum Mop {
    Append(char, u8),
    Read(char, Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Outcome {
    Ok,
    Fail,
    Info,
}

#[derive(Clone, Debug)]
pub(crate) struct Txn {
    pub(crate) mops: Vec<Mop>,
    pub(crate) outcome: Outcome,
    /// Index of the group it ran in: groups run one after another.
    pub(crate) group: usize,
}

/// Renders the transactions in the DSL of `checkers::elle::dsl`.
pub(crate) fn dsl(groups: &[Vec<Txn>]) -> String {
    groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|t| {
                    let mut s: Vec<String> = t
                        .mops
                        .iter()
                        .map(|m| match m {
                            Mop::Append(k, v) => format!("a{k}{v}"),
                            Mop::Read(k, l) => {
                                format!(
                                    "r{k}{}",
                                    l.iter().map(|v| v.to_string()).collect::<String>()
                                )
                            }
                        })
                        .collect();
                    match t.outcome {
                        Outcome::Fail => s.push("!".into()),
                        Outcome::Info => s.push("?".into()),
                        Outcome::Ok => {}
                    }
                    s.join(" ")
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// Does some serial order of the transactions that may have committed (every ok one, any subset
/// of those of unknown outcome) satisfy `run`, which replays an order and checks the committed
/// transactions' reads? With `strict`, the order must also put a transaction after every
/// transaction that completed (ok) in an earlier group.
fn exists_serial_order(txns: &[Txn], strict: bool, run: &dyn Fn(&[usize]) -> bool) -> bool {
    let ok: Vec<usize> = (0..txns.len())
        .filter(|&i| txns[i].outcome == Outcome::Ok)
        .collect();
    let info: Vec<usize> = (0..txns.len())
        .filter(|&i| txns[i].outcome == Outcome::Info)
        .collect();
    let respects_real_time = |order: &[usize]| {
        order.iter().enumerate().all(|(a, &i)| {
            order[a + 1..]
                .iter()
                .all(|&j| txns[j].outcome != Outcome::Ok || txns[j].group >= txns[i].group)
        })
    };
    let accept = |order: &[usize]| (!strict || respects_real_time(order)) && run(order);
    (0..(1u32 << info.len())).any(|mask| {
        let mut chosen = ok.clone();
        chosen.extend(
            info.iter()
                .enumerate()
                .filter(|(b, _)| mask & (1 << b) != 0)
                .map(|(_, i)| *i),
        );
        some_permutation(&mut chosen, 0, &accept)
    })
}

fn some_permutation(order: &mut Vec<usize>, k: usize, accept: &dyn Fn(&[usize]) -> bool) -> bool {
    if k == order.len() {
        return accept(order);
    }
    for i in k..order.len() {
        order.swap(k, i);
        if some_permutation(order, k + 1, accept) {
            return true;
        }
        order.swap(k, i);
    }
    false
}

/// List-append: replaying the order, every committed read equals the list at that point.
pub(crate) fn serializable(txns: &[Txn], strict: bool) -> bool {
    exists_serial_order(txns, strict, &|order| {
        let mut state: BTreeMap<char, Vec<u8>> = BTreeMap::new();
        order.iter().all(|&i| {
            txns[i].mops.iter().all(|m| match m {
                Mop::Append(k, v) => {
                    state.entry(*k).or_default().push(*v);
                    true
                }
                // Reads of transactions of unknown outcome were never observed.
                Mop::Read(k, l) if txns[i].outcome == Outcome::Ok => {
                    state.get(k).map(|s| s.as_slice()).unwrap_or(&[]) == l.as_slice()
                }
                Mop::Read(..) => true,
            })
        })
    })
}

/// A random history: up to 3 groups of up to 3 transactions of 1-3 micro-ops over keys x and y.
/// Appended values are unique per key (1-9); a read returns a random arrangement of some values
/// appended to its key anywhere in the history (often a prefix of their order of appearance).
pub(crate) fn arb_history() -> impl Strategy<Value = Vec<Vec<Txn>>> {
    let mop = (any::<bool>(), 0..2usize, any::<u64>());
    let txn = (proptest::collection::vec(mop, 1..4), 0..10u8);
    proptest::collection::vec(proptest::collection::vec(txn, 1..4), 1..4).prop_map(|groups| {
        let mut next = [1u8, 1u8];
        let keys = ['x', 'y'];
        // First pass: appends get unique values; reads are placeholders.
        let mut out: Vec<Vec<Txn>> = vec![];
        for (gi, g) in groups.iter().enumerate() {
            let mut txns = vec![];
            for (mops, outcome) in g {
                let mops = mops
                    .iter()
                    .map(|(append, k, _)| {
                        if *append && next[*k] <= 9 {
                            next[*k] += 1;
                            Mop::Append(keys[*k], next[*k] - 1)
                        } else {
                            Mop::Read(keys[*k], vec![])
                        }
                    })
                    .collect();
                let outcome = match outcome {
                    0 => Outcome::Fail,
                    1 => Outcome::Info,
                    _ => Outcome::Ok,
                };
                txns.push(Txn {
                    mops,
                    outcome,
                    group: gi,
                });
            }
            out.push(txns);
        }
        // Second pass: fill reads from the values appended to the key.
        let mut seeds = groups
            .iter()
            .flatten()
            .flat_map(|(m, _)| m.iter().map(|x| x.2));
        for t in out.iter_mut().flatten() {
            for m in t.mops.iter_mut() {
                if let Mop::Read(k, l) = m {
                    let n = next[if *k == 'x' { 0 } else { 1 }] - 1;
                    let s = seeds.next().unwrap_or(0);
                    let mut vals: Vec<u8> = (1..=n).collect();
                    if s % 4 == 0 {
                        // shuffle a little: swap two
                        if vals.len() >= 2 {
                            let a = (s >> 8) as usize % vals.len();
                            let b = (s >> 16) as usize % vals.len();
                            vals.swap(a, b);
                        }
                    }
                    let take = if n == 0 {
                        0
                    } else {
                        (s >> 24) as usize % (n as usize + 1)
                    };
                    vals.truncate(take);
                    *l = vals;
                }
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn elle_never_reports_an_anomaly_a_serial_order_explains(groups in arb_history()) {
        let text = dsl(&groups);
        let h = history(&text).expect("generated DSL parses");
        let txns: Vec<Txn> = groups.iter().flatten().cloned().collect();
        for (model, strict) in [("serializable", false), ("strict-serializable", true)] {
            let v = ListAppendChecker::new(ElleOptions::with_models(&[model])).check(&h);
            if v.valid == Validity::Invalid {
                prop_assert!(
                    !serializable(&txns, strict),
                    "{model}: Elle reports {:?} but a serial order exists for\n{text}\n{}",
                    v.anomaly_types,
                    v.explanation
                );
            }
        }
    }
}

/// The oracle itself: it accepts what must be accepted and rejects what must be rejected.
#[test]
fn oracle_sanity() {
    let t = |mops: Vec<Mop>, group| Txn {
        mops,
        outcome: Outcome::Ok,
        group,
    };
    // ax1 ; rx1 — serial, strict.
    let h = vec![
        t(vec![Mop::Append('x', 1)], 0),
        t(vec![Mop::Read('x', vec![1])], 1),
    ];
    assert!(serializable(&h, true));
    // ax1 ; rx — serializable (read first) but not strict.
    let h = vec![
        t(vec![Mop::Append('x', 1)], 0),
        t(vec![Mop::Read('x', vec![])], 1),
    ];
    assert!(serializable(&h, false));
    assert!(!serializable(&h, true));
    // rx2 with nothing appended: never.
    let h = vec![t(vec![Mop::Read('x', vec![2])], 0)];
    assert!(!serializable(&h, false));
}

/// The property above is not vacuous: over a fixed sample, Elle reports many anomalies (each
/// confirmed by the oracle), and finds most histories the oracle rejects.
///
/// `BRUTE_SAMPLES=N BRUTE_MODEL=serializable BRUTE_SHOW=1` widens it and prints what Elle misses.
/// Measured over 30,000 histories: strict-serializable, the oracle rejects 20,045 and Elle reports
/// exactly those; serializable, the oracle rejects 18,572 and Elle 18,564 of them. The 8 misses
/// order a transaction's own appends differently inside a single read (e.g. `ay1 ay2` read back
/// as `ry21`), which Elle's inference, like the original's, does not examine.
#[test]
fn elle_finds_most_non_serializable_histories() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_history();
    let (mut n, mut elle_invalid, mut oracle_invalid, mut both) = (0, 0, 0, 0);
    let samples: usize = std::env::var("BRUTE_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    let model = std::env::var("BRUTE_MODEL").unwrap_or("strict-serializable".into());
    let strict = model == "strict-serializable";
    for _ in 0..samples {
        let groups = strategy.new_tree(&mut runner).unwrap().current();
        let h = history(&dsl(&groups)).unwrap();
        let txns: Vec<Txn> = groups.iter().flatten().cloned().collect();
        let v = ListAppendChecker::new(ElleOptions::with_models(&[model.as_str()])).check(&h);
        let e = v.valid == Validity::Invalid;
        let o = !serializable(&txns, strict);
        if o && !e && std::env::var("BRUTE_SHOW").is_ok() {
            eprintln!("missed: {}", dsl(&groups));
        }
        assert!(
            !e || o,
            "unsound on\n{}\n{:?}",
            dsl(&groups),
            v.anomaly_types
        );
        n += 1;
        elle_invalid += e as usize;
        oracle_invalid += o as usize;
        both += (e && o) as usize;
    }
    eprintln!("{n} histories: oracle rejects {oracle_invalid}, Elle reports {elle_invalid}");
    assert!(elle_invalid >= n / 5, "only {elle_invalid} of {n} reported");
    assert!(
        both * 10 >= oracle_invalid * 7,
        "Elle found {both} of {oracle_invalid}"
    );
}

// ---- rw-register: the same oracle over registers (a read sees the last write, nil at first)

/// Register histories reuse `Txn`: `Append(k, v)` is a write of v, `Read(k, [v])` a read of v and
/// `Read(k, [])` a read of nil.
pub(crate) fn register_dsl(groups: &[Vec<Txn>]) -> String {
    dsl(groups).replace('a', "w")
}

pub(crate) fn register_serializable(txns: &[Txn], strict: bool) -> bool {
    exists_serial_order(txns, strict, &|order| {
        let mut state: BTreeMap<char, u8> = BTreeMap::new();
        order.iter().all(|&i| {
            txns[i].mops.iter().all(|m| match m {
                Mop::Append(k, v) => {
                    state.insert(*k, *v);
                    true
                }
                Mop::Read(k, l) if txns[i].outcome == Outcome::Ok => {
                    state.get(k).copied() == l.first().copied()
                }
                Mop::Read(..) => true,
            })
        })
    })
}

/// Register reads return one value (or nil): keep at most the first element of each read.
pub(crate) fn arb_register_history() -> impl Strategy<Value = Vec<Vec<Txn>>> {
    arb_history().prop_map(|mut groups| {
        for t in groups.iter_mut().flatten() {
            for m in t.mops.iter_mut() {
                if let Mop::Read(_, l) = m {
                    if l.len() > 1 {
                        let last = l[l.len() - 1];
                        *l = vec![last];
                    }
                }
            }
        }
        groups
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn rw_register_elle_never_reports_an_anomaly_a_serial_order_explains(groups in arb_register_history()) {
        let text = register_dsl(&groups);
        let h = checkers::elle::dsl::register_history(&text).expect("generated DSL parses");
        let txns: Vec<Txn> = groups.iter().flatten().cloned().collect();
        for (model, strict) in [("serializable", false), ("strict-serializable", true)] {
            let v = checkers::elle::RwRegisterChecker::new(ElleOptions::with_models(&[model])).check(&h);
            if v.valid == Validity::Invalid {
                prop_assert!(
                    !register_serializable(&txns, strict),
                    "{model}: Elle reports {:?} but a serial order exists for\n{text}\n{}",
                    v.anomaly_types,
                    v.explanation
                );
            }
        }
    }
}

/// Not vacuous for registers either: Elle reports anomalies on a good share of the sample, each
/// confirmed by the oracle.
#[test]
fn rw_register_elle_reports_confirmed_anomalies() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_register_history();
    let (n, mut elle_invalid, mut oracle_invalid) = (1500, 0, 0);
    for _ in 0..n {
        let groups = strategy.new_tree(&mut runner).unwrap().current();
        let text = register_dsl(&groups);
        let h = checkers::elle::dsl::register_history(&text).unwrap();
        let txns: Vec<Txn> = groups.iter().flatten().cloned().collect();
        let v = checkers::elle::RwRegisterChecker::new(ElleOptions::with_models(&[
            "strict-serializable",
        ]))
        .check(&h);
        let e = v.valid == Validity::Invalid;
        let o = !register_serializable(&txns, true);
        assert!(!e || o, "unsound on\n{text}\n{:?}", v.anomaly_types);
        elle_invalid += e as usize;
        oracle_invalid += o as usize;
    }
    eprintln!(
        "{n} register histories: oracle rejects {oracle_invalid}, Elle reports {elle_invalid}"
    );
    assert!(elle_invalid >= n / 5, "only {elle_invalid} of {n} reported");
}
