//! Reading and writing histories.
//!
//! Formats (auto-detected by [`read_history_str`] from content, by [`read_history_file`] from the
//! extension first):
//! - EDN op stream (Jepsen's `history.edn`: top-level maps, usually one per line);
//! - EDN vector `[...]` or list `(...)` of op maps (Knossos data; maps may span lines, `;` comments);
//! - JSON array of op objects (elle-cli conventions, see [`json`]);
//! - JSON Lines (one op object per line);
//! - the Jepsen log4j text of Porcupine's `etcd_*.log` (see [`log`]).
//!
//! Contracts: readers never panic, whatever the bytes; every op keeps its 1-based source line in
//! [`Op::line`]; an op without `:index` gets its 0-based position; every error names the file, the
//! line and the problem. Writers produce text that the readers read back to an equal [`History`].

pub mod edn;
pub mod json;
pub mod log;
mod op;

pub use op::op_from_value;
pub(crate) use op::short as edn_short;

use crate::history::{History, Op, Process};
use crate::value::Value;
use std::fmt::Write as _;
use std::path::Path;

/// What went wrong while reading a history. `line` is 1-based (0 when not known, e.g. I/O errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct ReadError {
    pub file: String,
    pub line: usize,
    pub kind: ReadErrorKind,
}

/// The problem behind a [`ReadError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadErrorKind {
    #[error("cannot read file: {0}")]
    Io(String),
    #[error("file is not UTF-8 text")]
    NotUtf8,
    #[error("malformed EDN: {0}")]
    MalformedEdn(String),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("malformed log line: {0}")]
    MalformedLog(String),
    #[error("an op must be a map, found {0}")]
    NotAMap(String),
    #[error("bad :type {0} (expected :invoke, :ok, :fail or :info)")]
    BadType(String),
    #[error("bad shape: {0}")]
    BadShape(String),
}

impl ReadError {
    pub fn new(file: &str, line: usize, kind: ReadErrorKind) -> ReadError {
        ReadError {
            file: file.to_string(),
            line,
            kind,
        }
    }
}

/// The formats the readers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    EdnStream,
    EdnCollection,
    JsonArray,
    JsonLines,
    Log4j,
}

/// Guesses the format from the text: the first significant characters decide.
pub fn detect_format(text: &str) -> Format {
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let after = |s: &str| {
        s.trim_start_matches(|c: char| c.is_whitespace() || c == ',')
            .chars()
            .next()
    };
    match t.chars().next() {
        Some('(') | Some(';') | Some('#') => Format::EdnCollection,
        Some('[') => match after(&t[1..]) {
            Some('{') => {
                let rest = t[1..].trim_start_matches(|c: char| c.is_whitespace() || c == ',');
                match after(&rest[1..]) {
                    Some('"') | Some('}') => Format::JsonArray,
                    _ => Format::EdnCollection,
                }
            }
            Some(']') => Format::JsonArray,
            _ => Format::EdnCollection,
        },
        Some('{') => match after(&t[1..]) {
            Some('"') => Format::JsonLines,
            _ => Format::EdnStream,
        },
        Some(_)
            if t.starts_with("INFO")
                || t.lines().next().is_some_and(|l| l.contains("jepsen.util")) =>
        {
            Format::Log4j
        }
        _ => Format::EdnStream,
    }
}

/// Reads a history from text in any supported format (detected from the content).
/// `name` is used in error messages only.
pub fn read_history_str(text: &str, name: &str) -> Result<History, ReadError> {
    read_history_as(text, name, detect_format(text))
}

/// Reads a history from text in the given format.
pub fn read_history_as(text: &str, name: &str, format: Format) -> Result<History, ReadError> {
    let ops = match format {
        Format::EdnStream | Format::EdnCollection => edn::read_ops(text, name)?,
        Format::JsonArray | Format::JsonLines => json::read_ops(text, name, format)?,
        Format::Log4j => log::read_ops(text, name)?,
    };
    Ok(History::new(ops))
}

/// Reads a history file; the extension (`.edn`, `.json`, `.jsonl`, `.log`) guides the format, the
/// content decides within it.
pub fn read_history_file(path: &Path) -> Result<History, ReadError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| ReadError::new(&name, 0, ReadErrorKind::Io(e.to_string())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + upto.iter().filter(|&&b| b == b'\n').count();
        ReadError::new(&name, line, ReadErrorKind::NotUtf8)
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let detected = detect_format(&text);
    let format = match ext.as_str() {
        "log" | "txt" if detected == Format::EdnStream => Format::Log4j,
        "jsonl" | "ndjson" => Format::JsonLines,
        "json" if detected == Format::EdnStream => Format::JsonLines,
        _ => detected,
    };
    read_history_as(&text, &name, format)
}

/// Writes a key and value as EDN into `out`.
fn put(out: &mut String, first: &mut bool, key: &str, value: &dyn std::fmt::Display) {
    if !*first {
        out.push_str(", ");
    }
    *first = false;
    let _ = write!(out, ":{key} {value}");
}

/// A value as EDN text that `clojure-reader` reads back to an equal value: like `Display`, but
/// strings escape only `"`, `\\`, newline, tab and return (the escapes EDN readers all know).
pub struct Edn<'v>(pub &'v Value);

impl std::fmt::Display for Edn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = |f: &mut std::fmt::Formatter<'_>,
                   open: &str,
                   xs: &mut dyn Iterator<Item = &Value>,
                   close: &str| {
            f.write_str(open)?;
            for (i, x) in xs.enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{}", Edn(x))?;
            }
            f.write_str(close)
        };
        match self.0 {
            Value::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        '\r' => f.write_str("\\r")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Value::Vector(xs) => seq(f, "[", &mut xs.iter(), "]"),
            Value::Set(xs) => seq(f, "#{", &mut xs.iter(), "}"),
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", Edn(k), Edn(v))?;
                }
                f.write_str("}")
            }
            other => write!(f, "{other}"),
        }
    }
}

/// Writes the history as Jepsen does: one EDN map per line, keys in the order
/// `:index :time :type :process :f :value`, then `:error`, then the other keys.
pub fn write_edn(history: &History) -> String {
    let mut out = String::new();
    for op in &history.ops {
        out.push('{');
        let mut first = true;
        put(&mut out, &mut first, "index", &op.index);
        if let Some(t) = op.time {
            put(&mut out, &mut first, "time", &t);
        }
        put(
            &mut out,
            &mut first,
            "type",
            &format!(":{}", op.kind.name()),
        );
        match &op.process {
            Some(Process::Other(v)) => put(&mut out, &mut first, "process", &Edn(v)),
            Some(p) => put(&mut out, &mut first, "process", p),
            None => {}
        }
        if let Some(f) = &op.f {
            put(&mut out, &mut first, "f", &Value::Keyword(f.clone()));
        }
        put(&mut out, &mut first, "value", &Edn(&op.value));
        if let Some(e) = &op.error {
            put(&mut out, &mut first, "error", &Edn(e));
        }
        for (k, v) in &op.extra {
            out.push_str(", ");
            let _ = write!(out, "{} {}", Edn(k), Edn(v));
        }
        out.push_str("}\n");
    }
    out
}

/// Writes the history as JSON Lines, one op object per line. Keywords become strings, as elle-cli
/// expects; map keys become their names.
pub fn write_jsonl(history: &History) -> String {
    let mut out = String::new();
    for op in &history.ops {
        out.push_str(&op_to_json(op).to_string());
        out.push('\n');
    }
    out
}

/// The JSON object for one op (keys in Jepsen order thanks to `serde_json`'s `preserve_order`-free
/// map being sorted is NOT relied on: readers do not care about key order).
pub fn op_to_json(op: &Op) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("index".into(), op.index.into());
    if let Some(t) = op.time {
        m.insert("time".into(), t.into());
    }
    m.insert("type".into(), op.kind.name().into());
    match &op.process {
        Some(Process::Client(p)) => {
            m.insert("process".into(), (*p).into());
        }
        Some(Process::Nemesis) => {
            m.insert("process".into(), "nemesis".into());
        }
        Some(Process::Other(v)) => {
            m.insert("process".into(), json::to_json(v));
        }
        None => {}
    }
    if let Some(f) = &op.f {
        m.insert("f".into(), f.clone().into());
    }
    m.insert("value".into(), json::to_json(&op.value));
    if let Some(e) = &op.error {
        m.insert("error".into(), json::to_json(e));
    }
    for (k, v) in &op.extra {
        let key = k
            .as_name()
            .map(str::to_string)
            .unwrap_or_else(|| k.to_string());
        m.insert(key, json::to_json(v));
    }
    serde_json::Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_from_content() {
        assert_eq!(detect_format("{:type :ok}"), Format::EdnStream);
        assert_eq!(detect_format("  [{:type :ok}]"), Format::EdnCollection);
        assert_eq!(detect_format("; c\n[{:type :ok}]"), Format::EdnCollection);
        assert_eq!(detect_format("(\n{:type :ok})"), Format::EdnCollection);
        assert_eq!(detect_format("[{\"type\":\"ok\"}]"), Format::JsonArray);
        assert_eq!(detect_format("[]"), Format::JsonArray);
        assert_eq!(detect_format("{\"type\":\"ok\"}\n"), Format::JsonLines);
        assert_eq!(
            detect_format("INFO  jepsen.util - 1\t:invoke\t:read\tnil"),
            Format::Log4j
        );
        assert_eq!(detect_format(""), Format::EdnStream);
    }

    #[test]
    fn empty_inputs_are_empty_histories() {
        for t in ["", "  \n", "[]", "()", "; only a comment\n"] {
            assert_eq!(read_history_str(t, "e").map(|h| h.len()), Ok(0), "{t:?}");
        }
    }

    #[test]
    fn edn_strings_escape_only_what_edn_knows() {
        let v = Value::Str("a\"b\\c\nd\u{1}".into());
        assert_eq!(Edn(&v).to_string(), "\"a\\\"b\\\\c\\nd\u{1}\"");
    }
}
