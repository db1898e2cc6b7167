//! Percent-decoding of paths and `application/x-www-form-urlencoded` query
//! strings.

use std::borrow::Cow;
use std::fmt;

/// Most parameters a query string may carry.
pub const MAX_QUERY_PARAMS: usize = 256;

/// A query string or path segment that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryError {
    /// A `%` not followed by two hex digits.
    BadEscape {
        /// Byte offset of the `%`.
        at: usize,
    },
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// More than [`MAX_QUERY_PARAMS`] parameters.
    TooManyParams {
        /// The cap.
        limit: usize,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::BadEscape { at } => write!(f, "bad percent-escape at byte {at}"),
            QueryError::NotUtf8 => f.write_str("percent-decoded text is not UTF-8"),
            QueryError::TooManyParams { limit } => {
                write!(f, "more than {limit} query parameters")
            }
        }
    }
}

impl std::error::Error for QueryError {}

/// Percent-decodes `input`; with `plus_as_space`, `+` becomes a space (query
/// strings) rather than staying `+` (paths).
///
/// # Errors
/// A malformed escape or a result that is not UTF-8.
///
/// ```
/// use lightapi::__private::http::decode_component;
/// assert_eq!(decode_component("a%20b+c", true).unwrap(), "a b c");
/// assert_eq!(decode_component("a+b", false).unwrap(), "a+b");
/// assert!(decode_component("%zz", true).is_err());
/// ```
pub fn decode_component(input: &str, plus_as_space: bool) -> Result<Cow<'_, str>, QueryError> {
    let bytes = input.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_as_space && b == b'+'))
    {
        return Ok(Cow::Borrowed(input));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(crate::hex::digit_value);
                let lo = bytes.get(i + 2).copied().and_then(crate::hex::digit_value);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(QueryError::BadEscape { at: i }),
                }
                i += 3;
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| QueryError::NotUtf8)
}

/// Decodes a query string (without the `?`) into `(name, value)` pairs, in
/// order. Empty pieces (`a=1&&b=2`) are skipped; a piece without `=` has an
/// empty value.
///
/// # Errors
/// A malformed escape, non-UTF-8 text, or too many parameters.
///
/// ```
/// use lightapi::__private::http::parse_query;
/// let q = parse_query("name=J%C3%BCrgen&tag=a&tag=b&flag").unwrap();
/// assert_eq!(q[0], ("name".to_string(), "Jürgen".to_string()));
/// assert_eq!(q.len(), 4);
/// assert_eq!(q[3].1, "");
/// ```
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    let mut out = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        if out.len() == MAX_QUERY_PARAMS {
            return Err(QueryError::TooManyParams {
                limit: MAX_QUERY_PARAMS,
            });
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        out.push((
            decode_component(name, true)?.into_owned(),
            decode_component(value, true)?.into_owned(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        let q = parse_query("a=1+2&b=%2B&c=%25&d=%E2%9C%93").unwrap();
        let v: Vec<&str> = q.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(v, ["1 2", "+", "%", "✓"]);
    }

    #[test]
    fn rejects_bad_escapes() {
        for bad in ["a=%", "a=%4", "a=%g0", "%ff=1", "a=%C3"] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn caps_parameter_count() {
        let many = "a=1&".repeat(MAX_QUERY_PARAMS + 1);
        assert_eq!(
            parse_query(&many),
            Err(QueryError::TooManyParams {
                limit: MAX_QUERY_PARAMS
            })
        );
        let ok = "a=1&".repeat(MAX_QUERY_PARAMS);
        assert_eq!(parse_query(&ok).unwrap().len(), MAX_QUERY_PARAMS);
    }

    #[test]
    fn empty_pieces_and_bare_names() {
        let q = parse_query("&&x&y=").unwrap();
        assert_eq!(q, vec![("x".into(), "".into()), ("y".into(), "".into())]);
    }
}
