//! A strict, allocation-free reader for the JOSE header of a token.
//!
//! The header is tiny (the caller caps it at [`MAX_HEADER_BYTES`](super::MAX_HEADER_BYTES)),
//! and all we need from it is the `alg` member and whether a `crit` member is present.
//! Parsing it into a `serde_json::Value` would allocate a map and strings on every
//! request, so this module validates the header against the JSON grammar (RFC 8259)
//! with a cursor over the decoded bytes and borrows the one string it reports.
//!
//! Strictness, beyond plain JSON:
//! - member names of the top-level object must not contain escapes, so that `"\u0061lg"`
//!   cannot smuggle a second `alg` past a reader that compares raw bytes;
//! - `alg` and `crit` may each appear at most once;
//! - the `alg` value is reported raw (without unescaping), so an escaped spelling of
//!   `HS256` is not `HS256` and fails closed.

/// Maximum nesting of arrays and objects inside the header.
const MAX_DEPTH: usize = 16;

/// What the header says about the algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alg<'a> {
    /// No `alg` member.
    Missing,
    /// An `alg` member whose value is not a string.
    NotString,
    /// The raw bytes between the quotes of the `alg` string (escapes not decoded).
    Raw(&'a [u8]),
}

/// The members of a header that verification looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HeaderInfo<'a> {
    /// The `alg` member.
    pub(super) alg: Alg<'a>,
    /// Whether a `crit` member is present (its value is irrelevant: we support no extension).
    pub(super) has_crit: bool,
}

/// Reads `bytes` as a JSON object and reports its `alg` and `crit` members.
///
/// # Errors
///
/// A short reason when `bytes` is not UTF-8, not a single JSON object, nests deeper than
/// [`MAX_DEPTH`], has an escaped member name, or repeats `alg` or `crit`.
pub(super) fn scan(bytes: &[u8]) -> Result<HeaderInfo<'_>, &'static str> {
    if std::str::from_utf8(bytes).is_err() {
        return Err("header is not utf-8");
    }
    let mut cursor = Cursor { bytes, pos: 0 };
    cursor.skip_ws();
    if !cursor.eat(b'{') {
        return Err("header is not a json object");
    }
    let mut alg = Alg::Missing;
    let mut seen_alg = false;
    let mut has_crit = false;
    cursor.skip_ws();
    if !cursor.eat(b'}') {
        loop {
            cursor.skip_ws();
            let name = cursor.string()?;
            if name.contains(&b'\\') {
                return Err("escaped member name in header");
            }
            cursor.skip_ws();
            if !cursor.eat(b':') {
                return Err("invalid json in header");
            }
            cursor.skip_ws();
            match name {
                b"alg" => {
                    if seen_alg {
                        return Err("duplicate alg in header");
                    }
                    seen_alg = true;
                    alg = if cursor.peek() == Some(b'"') {
                        Alg::Raw(cursor.string()?)
                    } else {
                        cursor.value(1)?;
                        Alg::NotString
                    };
                }
                b"crit" => {
                    if has_crit {
                        return Err("duplicate crit in header");
                    }
                    has_crit = true;
                    cursor.value(1)?;
                }
                _ => cursor.value(1)?,
            }
            cursor.skip_ws();
            if cursor.eat(b',') {
                continue;
            }
            if cursor.eat(b'}') {
                break;
            }
            return Err("invalid json in header");
        }
    }
    cursor.skip_ws();
    if cursor.peek().is_some() {
        return Err("trailing bytes after header object");
    }
    Ok(HeaderInfo { alg, has_crit })
}

/// A position in the header bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Reads a string and returns the raw bytes between its quotes.
    fn string(&mut self) -> Result<&'a [u8], &'static str> {
        if !self.eat(b'"') {
            return Err("invalid json in header");
        }
        let start = self.pos;
        loop {
            match self.bump() {
                None => return Err("unterminated string in header"),
                Some(b'"') => break,
                Some(b'\\') => match self.bump() {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                    Some(b'u') => {
                        for _ in 0..4 {
                            if !self.bump().is_some_and(|b| b.is_ascii_hexdigit()) {
                                return Err("invalid escape in header");
                            }
                        }
                    }
                    _ => return Err("invalid escape in header"),
                },
                Some(0x00..=0x1f) => return Err("control character in header string"),
                Some(_) => {}
            }
        }
        // `pos - 1` is the closing quote; both bounds are within `bytes`.
        self.bytes
            .get(start..self.pos - 1)
            .ok_or("invalid json in header")
    }

    /// Skips any JSON value; `depth` is the nesting level of the value.
    fn value(&mut self, depth: usize) -> Result<(), &'static str> {
        if depth > MAX_DEPTH {
            return Err("header nests too deeply");
        }
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                self.pos += 1;
                self.skip_ws();
                if self.eat(b'}') {
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.string()?;
                    self.skip_ws();
                    if !self.eat(b':') {
                        return Err("invalid json in header");
                    }
                    self.skip_ws();
                    self.value(depth + 1)?;
                    self.skip_ws();
                    if self.eat(b'}') {
                        return Ok(());
                    }
                    if !self.eat(b',') {
                        return Err("invalid json in header");
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.value(depth + 1)?;
                    self.skip_ws();
                    if self.eat(b']') {
                        return Ok(());
                    }
                    if !self.eat(b',') {
                        return Err("invalid json in header");
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err("invalid json in header"),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), &'static str> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err("invalid json in header")
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), &'static str> {
        self.eat(b'-');
        match self.bump() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err("invalid number in header"),
        }
        if self.eat(b'.') {
            self.one_or_more_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.one_or_more_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Result<(), &'static str> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err("invalid number in header");
        }
        self.digits();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> HeaderInfo<'_> {
        match scan(json.as_bytes()) {
            Ok(info) => info,
            Err(reason) => panic!("{json:?} rejected: {reason}"),
        }
    }

    #[test]
    fn reads_alg_and_crit_from_valid_headers() {
        let cases: &[(&str, Alg<'_>, bool)] = &[
            (r#"{"alg":"HS256","typ":"JWT"}"#, Alg::Raw(b"HS256"), false),
            (
                "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
                Alg::Raw(b"HS256"),
                false,
            ),
            (r#" { "alg" : "none" } "#, Alg::Raw(b"none"), false),
            (r#"{}"#, Alg::Missing, false),
            (r#"{"typ":"JWT"}"#, Alg::Missing, false),
            (r#"{"alg":256}"#, Alg::NotString, false),
            (r#"{"alg":null}"#, Alg::NotString, false),
            (r#"{"alg":["HS256"]}"#, Alg::NotString, false),
            (
                r#"{"alg":"HS\u0032\u0035\u0036"}"#,
                Alg::Raw(br"HS\u0032\u0035\u0036"),
                false,
            ),
            (
                r#"{"alg":"HS256","crit":["exp"]}"#,
                Alg::Raw(b"HS256"),
                true,
            ),
            (r#"{"crit":[],"alg":"HS256"}"#, Alg::Raw(b"HS256"), true),
            (
                r#"{"alg":"HS256","kid":"k\"1\\","x":{"a":[1,-2.5e+3,0.1E-2,true,false,null,{}]}}"#,
                Alg::Raw(b"HS256"),
                false,
            ),
            (
                "{\"alg\":\"HS256\",\"n\":\"\u{e9}\u{1f600}\"}",
                Alg::Raw(b"HS256"),
                false,
            ),
        ];
        for (json, alg, has_crit) in cases {
            let info = ok(json);
            assert_eq!(info.alg, *alg, "{json}");
            assert_eq!(info.has_crit, *has_crit, "{json}");
        }
    }

    #[test]
    fn rejects_invalid_or_ambiguous_headers() {
        let cases: &[&[u8]] = &[
            b"",
            b" ",
            b"[]",
            b"\"HS256\"",
            b"null",
            b"{",
            b"}",
            b"{\"alg\":\"HS256\"",
            b"{\"alg\":\"HS256\"}}",
            b"{\"alg\":\"HS256\"} x",
            b"{\"alg\":\"HS256\",}",
            b"{,\"alg\":\"HS256\"}",
            b"{\"alg\" \"HS256\"}",
            b"{\"alg\":}",
            b"{alg:\"HS256\"}",
            b"{'alg':'HS256'}",
            b"{\"alg\":\"HS256\",\"alg\":\"none\"}",
            b"{\"crit\":[],\"crit\":[]}",
            b"{\"\\u0061lg\":\"none\",\"alg\":\"HS256\"}",
            b"{\"alg\":\"HS256\",\"x\":01}",
            b"{\"alg\":\"HS256\",\"x\":1.}",
            b"{\"alg\":\"HS256\",\"x\":-}",
            b"{\"alg\":\"HS256\",\"x\":1e}",
            b"{\"alg\":\"HS256\",\"x\":+1}",
            b"{\"alg\":\"HS256\",\"x\":tru}",
            b"{\"alg\":\"HS256\",\"x\":[1,]}",
            b"{\"alg\":\"HS256\",\"x\":\"\\x\"}",
            b"{\"alg\":\"HS256\",\"x\":\"\\u12\"}",
            b"{\"alg\":\"HS256\",\"x\":\"a\tb\"}",
            b"{\"alg\":\"HS\xff256\"}",
            b"\xef\xbb\xbf{\"alg\":\"HS256\"}",
            b"{\"alg\":\"HS256\",\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}",
        ];
        for json in cases {
            assert!(
                scan(json).is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(json)
            );
        }
    }
}
