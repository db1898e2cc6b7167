//! The request's preconditions and identifiers: the `{id}` path parameter,
//! `If-Match` and `If-None-Match`.

use crate::crud::ops::Precondition;
use crate::error::ApiError;
use crate::http::Request;

/// The `{id}` parameter: a positive integer in canonical form, else `404`.
pub(super) fn path_id(req: &Request) -> Result<i64, ApiError> {
    let raw = req.param("id").unwrap_or("");
    let canonical = !raw.is_empty()
        && raw.len() <= 19
        && raw.bytes().all(|b| b.is_ascii_digit())
        && !raw.starts_with('0');
    canonical
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("`{raw}` is not the id of a row")))
}

pub(super) fn precondition(req: &Request) -> Precondition {
    let tags: Vec<String> = req
        .headers()
        .get_all("if-match")
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if req.headers().contains("if-match") {
        Precondition::IfMatch(tags)
    } else {
        Precondition::None
    }
}

/// Weak comparison for `If-None-Match` (RFC 9110 §13.1.2): a list of
/// entity tags, or `*`; the opaque tags compared, weak or not on either
/// side.
pub(crate) fn none_match_hits(header: &str, etag: &str) -> bool {
    fn opaque(t: &str) -> &str {
        t.strip_prefix("W/").unwrap_or(t)
    }
    let current = opaque(etag.trim());
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || opaque(t) == current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn ids_must_be_canonical_positive_integers() {
        let ok = |s: &str| path_id(&Request::new(Method::Get, "/x").with_param("id", s)).ok();
        assert_eq!(ok("1"), Some(1));
        assert_eq!(ok("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "0",
            "-1",
            "1e3",
            "01",
            "+1",
            "99999999999999999999",
            "",
            "1.0",
            " 1",
            "abc",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert!(none_match_hits("\"a\"", "\"a\""));
        assert!(none_match_hits("W/\"a\", \"b\"", "\"a\""));
        assert!(none_match_hits("*", "\"a\""));
        assert!(!none_match_hits("\"b\"", "\"a\""));
        // A weak current tag (a page's) matches its opaque part.
        assert!(none_match_hits("W/\"p\"", "W/\"p\""));
        assert!(none_match_hits("\"x\", \"p\"", "W/\"p\""));
        assert!(none_match_hits(" * ", "W/\"p\""));
        assert!(!none_match_hits("W/\"q\"", "W/\"p\""));
        assert!(!none_match_hits("", "W/\"p\""));
    }
}
