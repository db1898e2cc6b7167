//! The request's preconditions and identifiers: the `{id}` path parameter,
//! `If-Match` and `If-None-Match`.

use crate::crud::ops::Precondition;
use crate::error::ApiError;
use crate::http::Request;
use crate::model::{Key, Model};

/// The `{id}` parameter as a key of `model` (see [`Model::path_key`]): for
/// an integer key a positive integer in canonical form, for a text key any
/// non-empty segment within its length, for a uuid key a UUID; else `404`.
pub(super) fn path_id(req: &Request, model: &Model) -> Result<Key, ApiError> {
    let raw = req.param("id").unwrap_or("");
    model.path_key(raw).ok_or_else(|| {
        ApiError::not_found(format!(
            "`{raw}` is not the {} of a row",
            model.key_column()
        ))
    })
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
        let m = Model::new("x");
        let ok = |s: &str| {
            path_id(&Request::new(Method::Get, "/x").with_param("id", s), &m)
                .ok()
                .and_then(|k| k.as_int())
        };
        assert_eq!(ok("1"), Some(1));
        assert_eq!(ok("9223372036854775807"), Some(i64::MAX));
        for bad in crate::model::BAD_INTEGER_KEYS {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_and_uuid_keys_are_parsed_by_the_models_key() {
        use crate::model::Field;
        let get = |m: &Model, s: &str| {
            path_id(&Request::new(Method::Get, "/x").with_param("id", s), m).ok()
        };
        let text = Model::new("t")
            .field("code", Field::text().max_length(3))
            .primary_key("code");
        assert_eq!(get(&text, "a b"), Some(Key::from("a b")));
        assert_eq!(get(&text, "äöü"), Some(Key::from("äöü")));
        assert_eq!(get(&text, "abcd"), None);
        assert_eq!(get(&text, ""), None);
        let open = Model::new("t")
            .field("code", Field::text())
            .primary_key("code");
        assert_eq!(
            get(&open, &"x".repeat(255)),
            Some(Key::from("x".repeat(255).as_str()))
        );
        assert_eq!(get(&open, &"x".repeat(256)), None);
        let uuid = Model::new("t").field("u", Field::uuid()).primary_key("u");
        assert_eq!(
            get(&uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            Some(Key::from("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))
        );
        assert_eq!(get(&uuid, "7"), None);
        let num = Model::new("t")
            .field("n", Field::integer())
            .primary_key("n");
        assert_eq!(get(&num, "7"), Some(Key::Int(7)));
        assert_eq!(get(&num, "07"), None);
        let e = path_id(
            &Request::new(Method::Get, "/x").with_param("id", "x"),
            &uuid,
        )
        .unwrap_err();
        assert_eq!(e.status_code(), crate::http::StatusCode::NOT_FOUND);
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
