//! Route patterns such as `/person/{id}`.

use std::fmt;

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this text.
    Static(String),
    /// Matches any non-empty segment and captures it.
    Param(String),
}

/// A pattern that cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// The pattern.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route pattern {:?}: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for PatternError {}

/// Parses a pattern into segments. A trailing slash is ignored (both forms
/// are always served).
///
/// # Errors
/// A pattern that does not start with `/`, has an empty segment, a brace
/// that is not a whole `{name}` segment, a parameter name that is not an
/// identifier, or the same parameter twice.
///
/// ```
/// use lightapi::__private::router::{parse_pattern, Segment};
/// let segs = parse_pattern("/person/{id}/").unwrap();
/// assert_eq!(segs, vec![Segment::Static("person".into()), Segment::Param("id".into())]);
/// assert!(parse_pattern("person").is_err());
/// ```
pub fn parse_pattern(pattern: &str) -> Result<Vec<Segment>, PatternError> {
    let err = |reason| PatternError {
        pattern: pattern.to_string(),
        reason,
    };
    let rest = pattern
        .strip_prefix('/')
        .ok_or_else(|| err("must start with /"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut out: Vec<Segment> = Vec::new();
    for seg in rest.split('/') {
        if seg.is_empty() {
            return Err(err("empty segment"));
        }
        if let Some(inner) = seg.strip_prefix('{') {
            let name = inner.strip_suffix('}').ok_or_else(|| err("unclosed {"))?;
            let mut chars = name.chars();
            let ok_start = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if !ok_start || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(err("parameter names must be identifiers"));
            }
            if out
                .iter()
                .any(|s| matches!(s, Segment::Param(p) if p == name))
            {
                return Err(err("repeated parameter name"));
            }
            out.push(Segment::Param(name.to_string()));
        } else if seg.contains(['{', '}', '?', '#', ' ']) {
            return Err(err(
                "braces must enclose a whole segment; no ?, # or spaces",
            ));
        } else {
            out.push(Segment::Static(seg.to_string()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_patterns() {
        for bad in [
            "", "x", "/a//b", "/{", "/{1x}", "/a{b}", "/{a}/{a}", "/a?b", "/{}",
        ] {
            assert!(parse_pattern(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_pattern("/").unwrap(), vec![]);
    }
}
