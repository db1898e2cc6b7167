//! Strong ETags derived from a stored row, and `If-Match` decisions.
//!
//! The ETag is `"` + the hex of the first 16 bytes of SHA-256 over a
//! canonical serialisation of the row (its `id` and every column value, in
//! stored column order, each tagged with its type and length) + `"`. It
//! therefore changes with any column, including write-only ones, and is the
//! same on every backend for the same stored values.

use sha2::{Digest, Sha256};

use crate::model::Value;

/// The strong ETag of a stored row (values in `sql::select_columns` order,
/// `id` first).
///
/// ```
/// use lightapi::backend::Value;
/// use lightapi::__private::crud::etag::etag;
/// let a = etag(&[Value::Integer(1), Value::Text("x".into())]);
/// assert_eq!(a.len(), 34);
/// assert_ne!(a, etag(&[Value::Integer(1), Value::Text("y".into())]));
/// ```
pub fn etag(values: &[Value]) -> String {
    let mut h = Sha256::new();
    for v in values {
        match v {
            Value::Null => h.update([0u8]),
            Value::Integer(i) => {
                h.update([1u8]);
                h.update(i.to_be_bytes());
            }
            Value::Float(f) => {
                h.update([2u8]);
                h.update(f.to_bits().to_be_bytes());
            }
            Value::Text(s) => {
                h.update([3u8]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            Value::Boolean(b) => h.update([4u8, u8::from(*b)]),
            Value::DateTime(us) => {
                h.update([5u8]);
                h.update(us.to_be_bytes());
            }
            Value::Json(j) => {
                let s = j.to_string();
                h.update([6u8]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(34);
    out.push('"');
    crate::hex::encode_into(&mut out, digest.get(..16).unwrap_or_default());
    out.push('"');
    out
}

/// Whether an `If-Match` list (entity tags with their quotes, or `*`)
/// matches `current` by strong comparison (RFC 9110 §13.1.1): `*` matches
/// any existing row; weak tags (`W/"…"`) never match.
///
/// ```
/// use lightapi::__private::crud::etag::if_match;
/// assert!(if_match(&["\"abc\"".to_owned()], "\"abc\""));
/// assert!(if_match(&["*".to_owned()], "\"abc\""));
/// assert!(!if_match(&["W/\"abc\"".to_owned()], "\"abc\""));
/// ```
pub fn if_match(tags: &[String], current: &str) -> bool {
    tags.iter()
        .map(|t| t.trim())
        .any(|t| t == "*" || t == current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn etag_is_stable_and_known() {
        let row = [
            Value::Integer(1),
            Value::Text("Ada".into()),
            Value::Boolean(false),
        ];
        // Pinned so that a change of the canonical form is noticed.
        assert_eq!(etag(&row), etag(&row.clone()));
        assert_eq!(etag(&row), "\"a0ca213d6ece0674d21666122ba2e7b9\"");
        assert!(etag(&row).starts_with('"') && etag(&row).ends_with('"'));
    }

    #[test]
    fn etag_distinguishes_types_and_boundaries() {
        let a = etag(&[Value::Text("ab".into()), Value::Text("c".into())]);
        let b = etag(&[Value::Text("a".into()), Value::Text("bc".into())]);
        assert_ne!(a, b);
        assert_ne!(etag(&[Value::Integer(1)]), etag(&[Value::DateTime(1)]));
        assert_ne!(etag(&[Value::Null]), etag(&[Value::Text(String::new())]));
        assert_ne!(
            etag(&[Value::Json(json!({"a": 1}))]),
            etag(&[Value::Json(json!({"a": 2}))])
        );
    }

    #[test]
    fn if_match_rules() {
        let cur = "\"0123\"";
        assert!(if_match(&[" \"0123\" ".into()], cur));
        assert!(if_match(&["\"x\"".into(), "\"0123\"".into()], cur));
        assert!(!if_match(&["\"x\"".into()], cur));
        assert!(!if_match(&[], cur));
    }
}
