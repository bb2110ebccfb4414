//! The strict EDN subset of the streaming reader ([`super::stream`]): one line of Jepsen's
//! `history.edn` into compact ops, with no [`crate::Value`] trees.
//!
//! Invariant: whatever this parser accepts, `clojure-reader` (the generic reader) reads to the same
//! op; where the two could disagree (see the grammar in [`super::stream`]), it returns an error,
//! which means "use the generic reader", never "bad input".

use super::txn::Workload;
use super::txn::{APPEND, READ, WRITE};
use crate::history::OpType;
use smallvec::SmallVec;

/// Deepest nesting this parser follows (the generic reader allows more; beyond this it decides).
const MAX_DEPTH: usize = 32;

/// `:process` of a client or of the nemesis (any other process is a fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ProcKey {
    Client(i64),
    Nemesis,
}

/// A micro-op value: `nil`, an integer, or `elems[start .. start + len]` of the op's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawVal {
    Nil,
    Int(i64),
    List(u32, u32),
}

/// One micro-op with an integer key; `f` is `APPEND`, `READ` or `WRITE`, already valid for the
/// workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawMop {
    pub f: u8,
    pub key: i64,
    pub val: RawVal,
}

/// An op's `:value`, classified as `Txns::from_history` needs it: a vector (or list) of
/// well-formed micro-ops, another vector or list, `nil`, or anything else.
// `Mops` is the common variant (boxing it would cost an allocation per op).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawValue {
    Mops {
        mops: SmallVec<[RawMop; 6]>,
        elems: Vec<i64>,
    },
    BadVector,
    Nil,
    NotVector,
}

/// One op map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawOp {
    pub index: Option<usize>,
    pub kind: OpType,
    pub process: ProcKey,
    pub value: RawValue,
}

/// A scalar or the start of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Int(i64),
    Kw(&'a [u8]),
    Str,
    Nil,
    Bool,
    Open(u8),
}

type R<T> = Result<T, &'static str>;

/// A cursor over one line.
pub(crate) struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    workload: Workload,
}

fn is_delim(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}' | b')')
}

impl<'a> Parser<'a> {
    pub(crate) fn new(s: &'a [u8], workload: Workload) -> Parser<'a> {
        Parser { s, i: 0, workload }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn blank(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n' | b',') = self.peek() {
            self.i += 1;
        }
    }

    /// The next op map of the line, `None` at its end. Top-level `;` comments end the line.
    pub(crate) fn next_op(&mut self) -> R<Option<RawOp>> {
        self.blank();
        match self.peek() {
            None | Some(b';') => Ok(None),
            Some(b'{') => {
                self.i += 1;
                self.op().map(Some)
            }
            Some(_) => Err("not an op map at the top level"),
        }
    }

    fn op(&mut self) -> R<RawOp> {
        let (mut index, mut kind, mut process, mut value) = (None, None, None, RawValue::Nil);
        let mut seen = 0u8;
        let mut others: SmallVec<[&'a [u8]; 4]> = SmallVec::new();
        loop {
            self.blank();
            if self.peek() == Some(b'}') {
                self.i += 1;
                break;
            }
            let Tok::Kw(k) = self.token()? else {
                return Err("an op map key that is not a keyword");
            };
            let bit = match k {
                b"index" => 1,
                b"time" => 2,
                b"type" => 4,
                b"process" => 8,
                b"f" => 16,
                b"value" => 32,
                _ => 0,
            };
            if bit == 0 {
                if others.contains(&k) {
                    return Err("a duplicate key");
                }
                others.push(k);
            } else if seen & bit != 0 {
                return Err("a duplicate key");
            }
            seen |= bit;
            self.blank();
            match bit {
                1 => match self.token()? {
                    Tok::Int(i) if i >= 0 => index = Some(i as usize),
                    _ => return Err("an :index that is not a non-negative integer"),
                },
                2 => match self.token()? {
                    Tok::Int(_) => {}
                    _ => return Err("a :time that is not an integer"),
                },
                4 => {
                    let t = match self.token()? {
                        Tok::Kw(b"invoke") => OpType::Invoke,
                        Tok::Kw(b"ok") => OpType::Ok,
                        Tok::Kw(b"fail") => OpType::Fail,
                        Tok::Kw(b"info") => OpType::Info,
                        _ => return Err("an unexpected :type"),
                    };
                    kind = Some(t);
                }
                8 => match self.token()? {
                    Tok::Int(p) => process = Some(ProcKey::Client(p)),
                    Tok::Kw(b"nemesis") => process = Some(ProcKey::Nemesis),
                    _ => return Err("a :process that is neither an integer nor :nemesis"),
                },
                16 => match self.token()? {
                    Tok::Kw(_) | Tok::Nil => {}
                    _ => return Err("an :f that is not a keyword"),
                },
                32 => value = self.value()?,
                _ => self.skip(0)?,
            }
        }
        match (kind, process) {
            (Some(kind), Some(process)) => Ok(RawOp {
                index,
                kind,
                process,
                value,
            }),
            _ => Err("an op without :type or :process"),
        }
    }

    /// An op's `:value`.
    fn value(&mut self) -> R<RawValue> {
        let start = self.i;
        match self.peek() {
            Some(b'[') => {
                self.i += 1;
                match self.mops() {
                    Ok(v) => Ok(v),
                    Err(_) => {
                        self.i = start;
                        self.skip(0)?;
                        Ok(RawValue::BadVector)
                    }
                }
            }
            Some(b'(') => {
                self.skip(0)?;
                Ok(RawValue::BadVector)
            }
            _ => match self.token()? {
                Tok::Nil => Ok(RawValue::Nil),
                Tok::Open(_) => {
                    self.i = start;
                    self.skip(0)?;
                    Ok(RawValue::NotVector)
                }
                _ => Ok(RawValue::NotVector),
            },
        }
    }

    /// The micro-ops of a vector whose `[` was consumed; an error means "not this shape".
    fn mops(&mut self) -> R<RawValue> {
        let mut mops = SmallVec::new();
        let mut elems = Vec::new();
        loop {
            self.blank();
            match self.peek() {
                Some(b']') => {
                    self.i += 1;
                    return Ok(RawValue::Mops { mops, elems });
                }
                Some(b'[') => self.i += 1,
                _ => return Err("not a micro-op"),
            }
            let f = match (self.token()?, self.workload) {
                (Tok::Kw(b"append"), Workload::ListAppend) => APPEND,
                (Tok::Kw(b"r" | b"read"), _) => READ,
                (Tok::Kw(b"w" | b"write"), Workload::RwRegister) => WRITE,
                _ => return Err("not a micro-op"),
            };
            self.blank();
            let Tok::Int(key) = self.token()? else {
                return Err("not an integer key");
            };
            self.blank();
            let val = match self.token()? {
                Tok::Nil => RawVal::Nil,
                Tok::Int(x) => RawVal::Int(x),
                Tok::Open(b'[') if f == READ && self.workload == Workload::ListAppend => {
                    let start = elems.len() as u32;
                    loop {
                        self.blank();
                        if self.peek() == Some(b']') {
                            self.i += 1;
                            break;
                        }
                        match self.token()? {
                            Tok::Int(x) => elems.push(x),
                            _ => return Err("a list element that is not an integer"),
                        }
                    }
                    RawVal::List(start, elems.len() as u32 - start)
                }
                _ => return Err("an unexpected micro-op value"),
            };
            self.blank();
            if self.peek() != Some(b']') {
                return Err("a micro-op that is not [f k v]");
            }
            self.i += 1;
            mops.push(RawMop { f, key, val });
        }
    }

    /// One scalar, or the opening of a collection (consumed).
    fn token(&mut self) -> R<Tok<'a>> {
        let s = self.s;
        let start = self.i;
        let c = self.peek().ok_or("end of line inside a form")?;
        let tok = match c {
            b'[' | b'(' | b'{' => {
                self.i += 1;
                return Ok(Tok::Open(c));
            }
            b'#' if s.get(start + 1) == Some(&b'{') => {
                self.i += 2;
                return Ok(Tok::Open(b'#'));
            }
            b'"' => {
                let close = s[start + 1..]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\')
                    .ok_or("an unterminated string")?;
                if s[start + 1 + close] == b'\\' {
                    return Err("a string with an escape");
                }
                self.i = start + close + 2;
                Tok::Str
            }
            b':' => {
                let first = s.get(start + 1).copied().unwrap_or(0);
                if !first.is_ascii_alphabetic() {
                    return Err("an unusual keyword");
                }
                let mut j = start + 1;
                while j < s.len()
                    && (s[j].is_ascii_alphanumeric()
                        || matches!(s[j], b'-' | b'_' | b'?' | b'!' | b'*' | b'+' | b'.'))
                {
                    j += 1;
                }
                self.i = j;
                Tok::Kw(&s[start + 1..j])
            }
            b'-' | b'0'..=b'9' => {
                let digits = if c == b'-' { start + 1 } else { start };
                let (mut j, mut v) = (digits, 0i64);
                // At most 18 digits (no overflow); a 19th makes the delimiter check fail.
                while j < s.len() && s[j].is_ascii_digit() && j - digits < 18 {
                    v = v * 10 + (s[j] - b'0') as i64;
                    j += 1;
                }
                let d = &s[digits..j];
                if d.is_empty() || (d[0] == b'0' && (d.len() > 1 || c == b'-')) {
                    return Err("an unusual integer");
                }
                self.i = j;
                Tok::Int(if c == b'-' { -v } else { v })
            }
            b'n' | b't' | b'f' => {
                let mut j = start;
                while j < s.len() && s[j].is_ascii_alphanumeric() {
                    j += 1;
                }
                self.i = j;
                match &s[start..j] {
                    b"nil" => Tok::Nil,
                    b"true" | b"false" => Tok::Bool,
                    _ => return Err("a symbol"),
                }
            }
            _ => return Err("an unusual form"),
        };
        match self.peek() {
            None => Ok(tok),
            Some(c) if is_delim(c) => Ok(tok),
            Some(_) => Err("a form not followed by a delimiter"),
        }
    }

    /// Skips one form (`depth` enclosing collections). Map keys and set elements must be scalars,
    /// all different as text (for these scalars, equal text is equal value).
    fn skip(&mut self, depth: usize) -> R<()> {
        if depth > MAX_DEPTH {
            return Err("deep nesting");
        }
        let open = match self.token()? {
            Tok::Open(c) => c,
            _ => return Ok(()),
        };
        let close = match open {
            b'[' => b']',
            b'(' => b')',
            _ => b'}',
        };
        let keyed = matches!(open, b'{' | b'#');
        let mut seen: SmallVec<[&'a [u8]; 8]> = SmallVec::new();
        let mut n = 0usize;
        loop {
            self.blank();
            if self.peek() == Some(close) {
                self.i += 1;
                break;
            }
            let is_key = keyed && (open == b'#' || n.is_multiple_of(2));
            if is_key {
                let start = self.i;
                if let Tok::Open(_) = self.token()? {
                    return Err("a collection as a map key or set element");
                }
                let text = &self.s[start..self.i];
                if seen.contains(&text) {
                    return Err("a duplicate map key or set element");
                }
                seen.push(text);
            } else {
                self.skip(depth + 1)?;
            }
            n += 1;
        }
        if open == b'{' && !n.is_multiple_of(2) {
            return Err("a map with an odd number of forms");
        }
        match self.peek() {
            None => Ok(()),
            Some(c) if is_delim(c) => Ok(()),
            Some(_) => Err("a form not followed by a delimiter"),
        }
    }
}
