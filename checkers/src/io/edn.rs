//! EDN histories, read with the `clojure-reader` crate.
//!
//! `clojure-reader` parses one form at a time and returns the unread rest, but its public `Edn` tree
//! carries no source positions (spans need its `unstable` feature). To give each op its line we
//! therefore walk the top level ourselves: skip whitespace, commas and `;` comments, open the outer
//! `[`/`(` if there is one, and hand each op map to `clojure_reader::edn::read`. Everything inside a
//! map is parsed by the crate.
//!
//! Guard: nesting deeper than [`MAX_DEPTH`] is rejected before parsing, so that no input can overflow
//! the stack (the crate parses recursively).

use super::op::op_from_value;
use super::{ReadError, ReadErrorKind};
use crate::history::Op;
use crate::value::Value;
use clojure_reader::edn::{self as cedn, Edn};
use std::collections::{BTreeMap, BTreeSet};

/// Deepest bracket nesting accepted.
pub const MAX_DEPTH: usize = 200;

/// Converts a parsed EDN form into a [`Value`]. Lists become vectors; tagged literals (`#inst`,
/// `#uuid`, records such as `#jepsen.history.Op{…}`) keep only their value; characters become
/// one-char strings; rationals become floats.
///
/// Forms that are not EDN but Clojure reader syntax, which `clojure-reader` accepts as symbols or
/// tags (`'x`, `` `x ``, `~x`, `@x`, namespaced maps `#:ns{…}`), and any form this model has no
/// place for (e.g. big numbers) are errors naming the form, never silently `nil`.
pub fn from_edn(e: &Edn<'_>) -> Result<Value, String> {
    Ok(match e {
        Edn::Vector(v) | Edn::List(v) => {
            Value::Vector(v.iter().map(from_edn).collect::<Result<_, _>>()?)
        }
        Edn::Set(s) => Value::Set(s.iter().map(from_edn).collect::<Result<BTreeSet<_>, _>>()?),
        Edn::Map(m) => Value::Map(
            m.iter()
                .map(|(k, v)| Ok((from_edn(k)?, from_edn(v)?)))
                .collect::<Result<BTreeMap<_, _>, String>>()?,
        ),
        Edn::Key(k) => Value::Keyword(k.trim_start_matches(':').to_string()),
        Edn::Symbol(s) => {
            if let Some(c) = s
                .chars()
                .next()
                .filter(|c| matches!(c, '\'' | '`' | '~' | '@'))
            {
                return Err(format!(
                    "unsupported reader syntax `{c}` in `{s}` (Clojure reader macros are not EDN)"
                ));
            }
            Value::Symbol(s.to_string())
        }
        Edn::Str(s) => Value::Str(s.to_string()),
        Edn::Int(i) => Value::Int(*i),
        Edn::Double(d) => Value::Float(d.into_inner()),
        Edn::Rational((n, d)) => Value::Float(*n as f64 / *d as f64),
        Edn::Tagged(tag, _) if tag.starts_with(':') => {
            return Err(format!(
                "unsupported namespaced map `#{tag}{{…}}` (Clojure syntax, not EDN)"
            ))
        }
        Edn::Tagged(_, inner) => from_edn(inner)?,
        Edn::Char(c) => Value::Str(c.to_string()),
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Nil => Value::Nil,
        #[allow(unreachable_patterns)]
        other => return Err(format!("unsupported EDN form {other:?}")),
    })
}

/// Parses exactly one EDN form (used for log values and `--initial-value`).
pub fn parse_one(text: &str) -> Result<Value, String> {
    if let Some(line) = too_deep(text) {
        return Err(format!("nesting deeper than {MAX_DEPTH} at line {line}"));
    }
    let (e, rest) = cedn::read(text).map_err(|e| e.to_string())?;
    let mut s = Scan {
        text,
        pos: text.len() - rest.len(),
        line: 1,
    };
    s.skip_blank();
    if s.pos < text.len() {
        return Err(format!(
            "unexpected text after the value: {:?}",
            s.rest().chars().take(20).collect::<String>()
        ));
    }
    from_edn(&e)
}

/// Returns the line where bracket nesting first exceeds [`MAX_DEPTH`], ignoring strings, comments
/// and character literals. It never counts less nesting than the parser will see.
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line, mut in_str, mut esc, mut in_comment) =
        (0usize, 1usize, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            in_comment = false;
        }
        if in_comment {
            continue;
        }
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if esc {
            // The character of a `\c` literal (`\[`, `\"`, `\;`) is not syntax.
            esc = false;
            continue;
        }
        match c {
            '\\' => esc = true,
            '"' => in_str = true,
            ';' => in_comment = true,
            '[' | '(' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(line);
                }
            }
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// A cursor over the top level of the text that keeps the current 1-based line.
struct Scan<'t> {
    text: &'t str,
    pos: usize,
    line: usize,
}

impl<'t> Scan<'t> {
    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    /// Moves to `new_pos`, counting the newlines passed.
    fn advance_to(&mut self, new_pos: usize) {
        self.line += self.text[self.pos..new_pos]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        self.pos = new_pos;
    }

    /// Skips whitespace, commas, `;` comments and a byte-order mark.
    fn skip_blank(&mut self) {
        loop {
            let r = self.rest();
            let t =
                r.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '\u{feff}');
            let mut new = self.pos + (r.len() - t.len());
            if t.starts_with(';') {
                new += t.find('\n').unwrap_or(t.len());
                self.advance_to(new);
                continue;
            }
            self.advance_to(new);
            return;
        }
    }

    /// Reads one form with `clojure-reader`.
    fn form(&mut self, file: &str) -> Result<Value, ReadError> {
        let start_line = self.line;
        match cedn::read(self.rest()) {
            Ok((e, rest)) => {
                let new = self.text.len() - rest.len();
                self.advance_to(new);
                from_edn(&e)
                    .map_err(|m| ReadError::new(file, start_line, ReadErrorKind::MalformedEdn(m)))
            }
            Err(e) if e.code == clojure_reader::error::Code::UnexpectedEOF => Err(ReadError::new(
                file,
                start_line,
                ReadErrorKind::MalformedEdn(
                    "end of file inside the form that starts on this line".into(),
                ),
            )),
            Err(e) => {
                let line = e
                    .line
                    .map(|l| start_line + l.saturating_sub(1))
                    .unwrap_or(start_line);
                let col = e
                    .column
                    .map(|c| format!(" (column {c} of the form)"))
                    .unwrap_or_default();
                Err(ReadError::new(
                    file,
                    line,
                    ReadErrorKind::MalformedEdn(format!("{:?}{col}", e.code)),
                ))
            }
        }
    }
}

/// Reads an EDN history: an op stream, or one vector/list of ops. Each op's line is where its map
/// starts.
pub fn read_ops(text: &str, file: &str) -> Result<Vec<Op>, ReadError> {
    if let Some(line) = too_deep(text) {
        return Err(ReadError::new(
            file,
            line,
            ReadErrorKind::MalformedEdn(format!("nesting deeper than {MAX_DEPTH}")),
        ));
    }
    let mut s = Scan {
        text,
        pos: 0,
        line: 1,
    };
    s.skip_blank();
    let close = match s.rest().chars().next() {
        Some('[') => Some(']'),
        Some('(') => Some(')'),
        _ => None,
    };
    if close.is_some() {
        s.advance_to(s.pos + 1);
    }
    let mut ops = Vec::new();
    loop {
        s.skip_blank();
        let next = s.rest().chars().next();
        match (next, close) {
            (None, None) => break,
            (None, Some(c)) => {
                return Err(ReadError::new(
                    file,
                    s.line,
                    ReadErrorKind::MalformedEdn(format!("end of file before the closing {c:?}")),
                ))
            }
            (Some(n), Some(c)) if n == c => {
                s.advance_to(s.pos + 1);
                s.skip_blank();
                if !s.rest().is_empty() {
                    return Err(ReadError::new(
                        file,
                        s.line,
                        ReadErrorKind::MalformedEdn(format!(
                            "unexpected text after the closing {c:?}"
                        )),
                    ));
                }
                break;
            }
            _ => {}
        }
        let line = s.line;
        let v = s.form(file)?;
        ops.push(op_from_value(v, ops.len(), line, file)?);
    }
    Ok(ops)
}
