//! Bank, counter, set, set-full, long-fork and comments checkers on hand-written histories.

use checkers::bank::{BankChecker, BankOptions};
use checkers::comments::CommentsChecker;
use checkers::counter::CounterChecker;
use checkers::io::read_history_str;
use checkers::long_fork::{LongForkChecker, LongForkOptions};
use checkers::set::{SetChecker, SetFullChecker, SetFullOptions};
use checkers::{Checker, History, Validity, Value, Verdict};

fn h(text: &str) -> History {
    read_history_str(text, "test.edn").expect("history")
}

fn reads(values: &[&str]) -> History {
    let mut s = String::new();
    for v in values {
        s.push_str("{:type :invoke, :f :read, :process 0}\n");
        s.push_str(&format!(
            "{{:type :ok, :f :read, :process 0, :value {v}}}\n"
        ));
    }
    h(&s)
}

fn bank(values: &[&str], o: BankOptions) -> Verdict {
    BankChecker::new(o).check(&reads(values))
}

#[test]
fn bank_valid_reads() {
    let v = bank(&["{0 50, 1 50}", "{0 20, 1 80}"], BankOptions::default());
    assert_eq!(v.valid, Validity::Valid);
    assert_eq!(v.stats["read-count"], 2);
    assert_eq!(v.stats["error-count"], 0);
}

#[test]
fn bank_each_error_kind_first_match_wins() {
    let v = bank(
        &[
            "{0 50, 1 50}",
            "{0 50, 2 50}",
            "{0 nil, 1 100}",
            "{0 60, 1 50}",
            "{0 -10, 1 110}",
            "{0 70, 1 50}",
        ],
        BankOptions::default(),
    );
    assert_eq!(v.valid, Validity::Invalid);
    assert_eq!(
        v.anomaly_types,
        vec![
            "negative-value",
            "nil-balance",
            "unexpected-key",
            "wrong-total"
        ]
    );
    assert_eq!(v.stats["error-count"], 5);
    let wt = &v.anomalies["wrong-total"];
    assert_eq!(wt["count"], 2);
    assert_eq!(wt["first"]["total"], 110);
    assert_eq!(wt["worst"]["total"], 120);
    assert_eq!(wt["last"]["total"], 120);
    assert_eq!(wt["lowest"]["total"], 110);
    assert_eq!(v.stats["first-error"]["type"], "unexpected-key");
    assert_eq!(
        v.anomalies["negative-value"]["first"]["negative"],
        serde_json::json!([-10])
    );
}

#[test]
fn bank_options_override_first_read() {
    let o = BankOptions {
        accounts: Some(vec![Value::Int(0), Value::Int(1), Value::Int(2)]),
        total: Some(90),
        negative_balances: true,
    };
    // The first read sums to 100, not 90; the second sums to 90 and its negative balance is allowed.
    let v = bank(&["{0 50, 1 50}", "{0 -10, 2 100}"], o);
    assert_eq!(v.anomaly_types, vec!["wrong-total"]);
    assert_eq!(v.anomalies["wrong-total"]["count"], 1);
    assert_eq!(v.anomalies["wrong-total"]["first"]["total"], 100);
}

#[test]
fn bank_negative_balances_allowed() {
    let o = BankOptions {
        negative_balances: true,
        ..BankOptions::default()
    };
    assert_eq!(
        bank(&["{0 50, 1 50}", "{0 -1, 1 101}"], o).valid,
        Validity::Valid
    );
    assert_eq!(
        bank(&["{0 50, 1 50}", "{0 -1, 1 101}"], BankOptions::default()).valid,
        Validity::Invalid
    );
}

#[test]
fn bank_json_keyword_accounts_match_integer_options() {
    let hist = read_history_str(r#"[{"type":"invoke","f":"read","process":0},{"type":"ok","f":"read","process":0,"value":{"0":60,"1":40}}]"#, "b.json").expect("json");
    let o = BankOptions {
        accounts: Some(vec![Value::Int(0), Value::Int(1)]),
        total: Some(100),
        negative_balances: false,
    };
    assert_eq!(BankChecker::new(o).check(&hist).valid, Validity::Valid);
}

fn ops(lines: &[(&str, &str, &str, i64)]) -> History {
    let mut s = String::new();
    for (t, f, v, p) in lines {
        s.push_str(&format!(
            "{{:type :{t}, :f :{f}, :value {v}, :process {p}}}\n"
        ));
    }
    h(&s)
}

#[test]
fn counter_bounds() {
    let ok = ops(&[
        ("invoke", "add", "2", 0),
        ("invoke", "read", "nil", 1),
        ("ok", "read", "2", 1),
        ("ok", "add", "2", 0),
        ("invoke", "read", "nil", 1),
        ("ok", "read", "2", 1),
    ]);
    assert_eq!(CounterChecker.check(&ok).valid, Validity::Valid);
    let low = ops(&[
        ("invoke", "add", "2", 0),
        ("ok", "add", "2", 0),
        ("invoke", "read", "nil", 1),
        ("ok", "read", "1", 1),
    ]);
    assert_eq!(CounterChecker.check(&low).valid, Validity::Invalid);
    let failed = ops(&[
        ("invoke", "add", "2", 0),
        ("fail", "add", "2", 0),
        ("invoke", "read", "nil", 1),
        ("ok", "read", "2", 1),
    ]);
    assert_eq!(CounterChecker.check(&failed).valid, Validity::Invalid);
}

#[test]
fn set_lost_unexpected_recovered() {
    let hist = ops(&[
        ("invoke", "add", "1", 0),
        ("ok", "add", "1", 0),
        ("invoke", "add", "2", 0),
        ("info", "add", "2", 0),
        ("invoke", "read", "nil", 1),
        ("ok", "read", "[2]", 1),
    ]);
    let v = SetChecker.check(&hist);
    assert_eq!(v.anomaly_types, vec!["lost"]);
    assert_eq!(v.stats["recovered-count"], 1);
    let v = SetChecker.check(&ops(&[
        ("invoke", "read", "nil", 1),
        ("ok", "read", "[7]", 1),
    ]));
    assert_eq!(v.anomaly_types, vec!["unexpected"]);
    assert_eq!(
        SetChecker.check(&ops(&[("invoke", "add", "1", 0)])).valid,
        Validity::Unknown
    );
}

#[test]
fn set_full_lost_stale_and_never_read() {
    let base = [("invoke", "add", "1", 0), ("ok", "add", "1", 0)];
    let lost = [
        &base[..],
        &[
            ("invoke", "read", "nil", 1),
            ("ok", "read", "[1]", 1),
            ("invoke", "read", "nil", 1),
            ("ok", "read", "[]", 1),
        ],
    ]
    .concat();
    let v = SetFullChecker::default().check(&ops(&lost));
    assert_eq!(v.anomaly_types, vec!["lost"]);
    let stale = [
        &base[..],
        &[
            ("invoke", "read", "nil", 1),
            ("ok", "read", "[]", 1),
            ("invoke", "read", "nil", 1),
            ("ok", "read", "[1]", 1),
        ],
    ]
    .concat();
    assert_eq!(
        SetFullChecker::default().check(&ops(&stale)).valid,
        Validity::Valid
    );
    let lin = SetFullChecker {
        options: SetFullOptions { linearizable: true },
    };
    assert_eq!(lin.check(&ops(&stale)).anomaly_types, vec!["stale"]);
    let never = SetFullChecker::default().check(&ops(&base));
    assert_eq!(never.valid, Validity::Valid);
    assert_eq!(never.stats["never-read-count"], 1);
    let dup = [
        &base[..],
        &[("invoke", "read", "nil", 1), ("ok", "read", "[1 1]", 1)],
    ]
    .concat();
    assert_eq!(
        SetFullChecker::default().check(&ops(&dup)).anomaly_types,
        vec!["duplicated"]
    );
}

#[test]
fn long_fork_detects_conflicting_orders() {
    let fork = h("{:type :ok, :f :read, :value [[:r 0 1] [:r 1 nil]]}\n{:type :ok, :f :read, :value [[:r 0 nil] [:r 1 1]]}\n");
    let c = LongForkChecker {
        options: LongForkOptions { group_size: 2 },
    };
    let v = c.check(&fork);
    assert_eq!(v.anomaly_types, vec!["long-fork"]);
    let fine = h("{:type :ok, :f :read, :value [[:r 0 1] [:r 1 nil]]}\n{:type :ok, :f :read, :value [[:r 0 1] [:r 1 1]]}\n");
    let v = c.check(&fine);
    assert_eq!(v.valid, Validity::Valid);
    assert_eq!(v.stats["late-read-count"], 1);
    let twice = h("{:type :invoke, :f :write, :value [[:w 0 1]], :process 0}\n{:type :invoke, :f :write, :value [[:w 0 2]], :process 1}\n");
    assert_eq!(c.check(&twice).valid, Validity::Unknown);
}

#[test]
fn comments_missing_writes() {
    let hist = h("{:type :invoke :f :write :value 1 :process 0}\n{:type :ok :f :write :value 1 :process 0}\n{:type :invoke :f :write :value 2 :process 0}\n{:type :ok :f :write :value 2 :process 0}\n{:type :ok :f :read :value #{2}}\n{:type :ok :f :read :value #{1 2}}\n");
    let v = CommentsChecker.check(&hist);
    assert_eq!(v.valid, Validity::Invalid);
    assert_eq!(v.anomalies["missing"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        v.anomalies["missing"][0]["missing"],
        serde_json::json!(["1"])
    );
}

mod never_panic {
    use super::*;
    use checkers::linear::{LinearChecker, LinearOptions, ModelKind};
    use checkers::{Op, OpType};
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            (-3i64..5).prop_map(Value::Int),
            "[a-z]{0,3}".prop_map(Value::Keyword),
            "[a-z]{0,3}".prop_map(Value::Str),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Vector),
                proptest::collection::btree_map(inner.clone(), inner.clone(), 0..3)
                    .prop_map(Value::Map),
                proptest::collection::btree_set(inner, 0..3).prop_map(Value::Set),
            ]
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        let kinds = prop_oneof![
            Just(OpType::Invoke),
            Just(OpType::Ok),
            Just(OpType::Fail),
            Just(OpType::Info)
        ];
        let fs = prop_oneof![
            Just("read"),
            Just("write"),
            Just("cas"),
            Just("add"),
            Just("txn"),
            Just("acquire"),
            Just("release"),
            Just("transfer")
        ];
        (kinds, 0i64..4, fs, value()).prop_map(|(k, p, f, v)| Op::new(k, p, f, v))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Every checker returns a verdict (never panics) on arbitrary, even malformed, histories.
        #[test]
        fn checkers_never_panic(ops in proptest::collection::vec(op(), 0..30)) {
            let mut h = History::new(ops);
            h.reindex();
            let mut all: Vec<Box<dyn Checker>> = vec![
                Box::new(BankChecker::default()),
                Box::new(CounterChecker),
                Box::new(SetChecker),
                Box::new(SetFullChecker::default()),
                Box::new(LongForkChecker::default()),
                Box::new(CommentsChecker),
            ];
            for model in [ModelKind::Register, ModelKind::CasRegister, ModelKind::Mutex, ModelKind::MultiRegister] {
                for independent in [false, true] {
                    all.push(Box::new(LinearChecker::new(LinearOptions { independent, ..LinearOptions::knossos(model) })));
                }
            }
            all.push(Box::new(LinearChecker::new(LinearOptions::porcupine())));
            for c in &all {
                let _ = c.check(&h).to_json();
            }
        }
    }
}
