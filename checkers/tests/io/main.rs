//! Readers and writers: formats, conventions, line numbers, errors, round trips, and robustness
//! against arbitrary bytes and truncated corpus files.

use checkers::io::{
    detect_format, read_history_as, read_history_file, read_history_str, write_edn, write_jsonl,
    Format, ReadErrorKind,
};
use checkers::{History, OpType, Process, Value};
use proptest::prelude::*;
use std::path::PathBuf;

const FORMATS: [Format; 5] = [
    Format::EdnStream,
    Format::EdnCollection,
    Format::JsonArray,
    Format::JsonLines,
    Format::Log4j,
];

fn corpus() -> PathBuf {
    std::env::var_os("AURORA_CHAOS_HISTORIES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/histories"
            ))
        })
}

fn kw(s: &str) -> Value {
    Value::kw(s)
}

#[test]
fn edn_op_stream_with_positions_and_lines() {
    let h = read_history_str(
        "{:type :invoke, :f :read, :process 0}\n\n{:type :ok, :f :read, :value 3, :process 0}\n",
        "t.edn",
    )
    .expect("read");
    assert_eq!(h.len(), 2);
    assert_eq!((h.ops[0].index, h.ops[1].index), (0, 1));
    assert_eq!((h.ops[0].line, h.ops[1].line), (1, 3));
    assert_eq!(h.ops[1].kind, OpType::Ok);
    assert_eq!(h.ops[1].value, Value::Int(3));
    assert_eq!(h.ops[0].value, Value::Nil);
}

#[test]
fn edn_vector_list_comments_sets_and_multiline_maps() {
    let text = "; a comment\n[{:type :invoke,\n  :f :read ; inline\n  :process 1}\n {:type :ok :f :read :process 1 :value #{1 2} :index 7 :extra \"x\"}]\n";
    let h = read_history_str(text, "v.edn").expect("read");
    assert_eq!(detect_format(text), Format::EdnCollection);
    assert_eq!(h.ops[1].line, 5);
    assert_eq!(h.ops[1].index, 7);
    assert!(matches!(&h.ops[1].value, Value::Set(s) if s.len() == 2));
    assert_eq!(
        h.ops[1].extra.get(&kw("extra")),
        Some(&Value::Str("x".into()))
    );
    let l = read_history_str(
        "(\n{:type :invoke :f :write :value 1 :process :nemesis})",
        "l.edn",
    )
    .expect("list");
    assert_eq!(l.ops[0].process, Some(Process::Nemesis));
    assert_eq!(l.ops[0].line, 2);
}

#[test]
fn json_follows_elle_cli_conventions() {
    let text = r#"[{"type":"invoke","f":"txn","value":[["append",1,2],["r","x",null]],"process":0},
 {"type":"ok","f":"read","value":{"0":100,"1":0},"process":"nemesis"}]"#;
    let h = read_history_str(text, "e.json").expect("read");
    let mops = h.ops[0].value.as_vec().expect("vector");
    assert_eq!(
        mops[0],
        Value::Vector(vec![kw("append"), Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        mops[1],
        Value::Vector(vec![kw("r"), Value::Str("x".into()), Value::Nil])
    );
    let bal = h.ops[1].value.as_map().expect("map");
    assert_eq!(bal.get(&kw("0")), Some(&Value::Int(100)));
    assert_eq!(h.ops[1].process, Some(Process::Nemesis));
    assert_eq!(h.ops[1].line, 2);
}

#[test]
fn json_lines() {
    let text = "{\"type\":\"invoke\",\"f\":\"write\",\"value\":1,\"process\":2}\n{\"type\":\"ok\",\"f\":\"write\",\"value\":1,\"process\":2}\n";
    assert_eq!(detect_format(text), Format::JsonLines);
    let h = read_history_str(text, "x.jsonl").expect("read");
    assert_eq!(h.len(), 2);
    assert_eq!(h.ops[1].line, 2);
}

#[test]
fn log4j_tabs_and_spaces() {
    let text = "INFO  jepsen.util - 4\t:invoke\t:write\t3\nINFO  jepsen.util - 4   :info   :write   :timed-out\nINFO  jepsen.util - 1\t:invoke\t:cas\t[3 0]\n";
    assert_eq!(detect_format(text), Format::Log4j);
    let h = read_history_str(text, "x.log").expect("read");
    assert_eq!(h.ops[1].kind, OpType::Info);
    assert_eq!(
        h.ops[1].value,
        Value::Int(3),
        "timed-out takes the invoked value"
    );
    assert_eq!(h.ops[1].error, Some(kw("timed-out")));
    assert_eq!(
        h.ops[2].value,
        Value::Vector(vec![Value::Int(3), Value::Int(0)])
    );
    assert_eq!(h.ops[2].time, Some(2_000_000));
}

#[test]
fn errors_name_file_line_and_problem() {
    type Case = (&'static str, usize, fn(&ReadErrorKind) -> bool);
    let cases: [Case; 7] = [
        ("{:type :invoke}\n{:type :ok\n", 2, |k| {
            matches!(k, ReadErrorKind::MalformedEdn(_))
        }),
        ("{:type :invoke}\n[1 2]\n", 2, |k| {
            matches!(k, ReadErrorKind::NotAMap(_))
        }),
        ("{:type :invoke}\n{:type :maybe}\n", 2, |k| {
            matches!(k, ReadErrorKind::BadType(_))
        }),
        ("{:type :invoke}\n\n{:f :read}\n", 3, |k| {
            matches!(k, ReadErrorKind::BadType(_))
        }),
        ("[{:type :invoke}\n{:type :ok :index -1}]", 2, |k| {
            matches!(k, ReadErrorKind::BadShape(_))
        }),
        ("[{\"type\":\"invoke\"},\n{\"type\": }]", 2, |k| {
            matches!(k, ReadErrorKind::MalformedJson(_))
        }),
        (
            "INFO  jepsen.util - 4\t:invoke\t:write\t3\nINFO  jepsen.util - x :ok :write 3\n",
            2,
            |k| matches!(k, ReadErrorKind::MalformedLog(_)),
        ),
    ];
    for (text, line, kind) in cases {
        let e = read_history_str(text, "bad.edn").expect_err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(kind(&e.kind), "{text:?}: {e}");
        assert!(
            e.to_string().starts_with(&format!("bad.edn:{line}: ")),
            "{e}"
        );
    }
}

#[test]
fn missing_file_and_deep_nesting_are_errors_not_panics() {
    let e = read_history_file(std::path::Path::new("/nonexistent/h.edn")).expect_err("missing");
    assert!(matches!(e.kind, ReadErrorKind::Io(_)));
    let deep = format!("{{:type :ok :value {}}}", "[".repeat(100_000));
    assert!(read_history_str(&deep, "deep.edn").is_err());
    // Character literals must not fool the depth guard.
    let sneaky = format!("{{:type :ok :value [\\\" {}]}}", "[\\] ".repeat(100_000));
    assert!(read_history_str(&sneaky, "sneaky.edn").is_err());
    let quoted = format!("{{:type :ok :value [\\\" {}]}}", "[".repeat(100_000));
    assert!(read_history_str(&quoted, "quoted.edn").is_err());
}

fn sample() -> History {
    let text = r#"{:index 0, :time 5, :type :invoke, :process 0, :f :txn, :value [[:append 1 2] [:r 5 nil]]}
{:index 1, :time 6, :type :ok, :process 0, :f :txn, :value [[:append 1 2] [:r 5 [1 2]]], :op-index 9}
{:index 2, :time 7, :type :info, :process :nemesis, :f :start, :value "a \"quoted\"\n\\ line", :error :timed-out}
{:index 3, :type :ok, :f :read, :value {0 10, 1 #{2 3}}}
"#;
    read_history_str(text, "sample.edn").expect("sample")
}

fn without_lines(h: &History) -> History {
    let mut h = h.clone();
    for op in &mut h.ops {
        op.line = 0;
    }
    h
}

#[test]
fn edn_round_trip_is_exact_and_keeps_jepsen_key_order() {
    let h = sample();
    let text = write_edn(&h);
    assert!(
        text.starts_with("{:index 0, :time 5, :type :invoke, :process 0, :f :txn, :value "),
        "{text}"
    );
    let back = read_history_str(&text, "rt.edn").expect("read back");
    assert_eq!(without_lines(&back), without_lines(&h));
}

#[test]
fn jsonl_round_trip_keeps_ops() {
    let h = sample();
    let text = write_jsonl(&h);
    let back = read_history_str(&text, "rt.jsonl").expect("read back");
    assert_eq!(back.len(), h.len());
    for (a, b) in h.ops.iter().zip(&back.ops) {
        assert_eq!(
            (a.index, a.time, a.kind, &a.process, &a.f),
            (b.index, b.time, b.kind, &b.process, &b.f)
        );
    }
    assert_eq!(
        back.ops[0].value, h.ops[0].value,
        "micro-op names become keywords again"
    );
}

#[test]
fn corpus_files_round_trip_through_both_writers() {
    let root = corpus();
    let files = [
        "etcd/etcd_000.edn",
        "etcd/etcd_100.log",
        "knossos/multi-register/good/multi-register.edn",
        "elle/elle-cli/histories/jepsen/bank.json",
    ];
    if !root.exists() {
        println!("corpus NOT checked: {} missing", root.display());
        return;
    }
    for f in files {
        let h = read_history_file(&root.join(f)).expect(f);
        let back = read_history_str(&write_edn(&h), f).expect("edn back");
        assert_eq!(without_lines(&back), without_lines(&h), "{f}");
        let j = read_history_str(&write_jsonl(&h), f).expect("jsonl back");
        assert_eq!(j.len(), h.len(), "{f}");
    }
}

/// A few real files, one per format, for truncation tests.
fn corpus_texts() -> Vec<String> {
    let root = corpus();
    [
        "etcd/etcd_001.edn",
        "etcd/etcd_001.log",
        "knossos/cas-register/bad/rethink-fail-minimal.edn",
        "elle/elle-cli/histories/custom/comments.edn",
        "elle/elle-cli/histories/jepsen/bank.json",
    ]
    .iter()
    .filter_map(|f| std::fs::read_to_string(root.join(f)).ok())
    .map(|t| t.chars().take(6000).collect())
    .collect()
}

fn read_all_ways(text: &str) {
    let _ = read_history_str(text, "fuzz");
    for f in FORMATS {
        let _ = read_history_as(text, "fuzz", f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        read_all_ways(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_edn_like_text_never_panics(s in "[\\[\\](){}#:;,\"\\\\ a-z0-9.\\-\n]{0,200}") {
        read_all_ways(&s);
        read_all_ways(&format!("{{:type :ok :value {s}}}"));
    }

    #[test]
    fn truncated_and_mutated_corpus_files_never_panic(which in 0usize..5, cut in 0usize..6000, flip in 0usize..6000, byte in any::<u8>()) {
        let texts = corpus_texts();
        if texts.is_empty() { return Ok(()); }
        let t = &texts[which % texts.len()];
        let chars: Vec<char> = t.chars().collect();
        let truncated: String = chars[..cut.min(chars.len())].iter().collect();
        read_all_ways(&truncated);
        let mut mutated = chars.clone();
        if !mutated.is_empty() {
            let i = flip % mutated.len();
            mutated[i] = byte as char;
        }
        read_all_ways(&mutated.iter().collect::<String>());
    }
}

/// Clojure reader syntax that is not EDN is an error naming the line, never a silent value.
#[test]
fn unsupported_edn_forms_are_errors_naming_the_line() {
    for form in ["'x", "`x", "~x", "@x", "#:a{:b 1}"] {
        let text = format!(
            "{{:type :invoke, :process 0, :f :read, :value nil}}\n{{:type :ok, :process 0, :f :read, :value {form}}}\n"
        );
        let e = read_history_str(&text, "h.edn").expect_err(form);
        assert_eq!(e.line, 2, "{form}: {e}");
        assert!(
            matches!(e.kind, ReadErrorKind::MalformedEdn(_)),
            "{form}: {e}"
        );
    }
    // Tagged literals keep their value.
    let h = read_history_str(
        "{:type :ok, :process 0, :f :read, :value #inst \"2020\"}",
        "h.edn",
    )
    .expect("tagged literal");
    assert_eq!(h.ops[0].value, Value::Str("2020".into()));
}
