//! Strong ETags derived from a stored row, weak ETags of a page, and
//! `If-Match` decisions.
//!
//! The ETag is `"` + the hex of the first 16 bytes of HMAC-SHA256, under
//! a server key ([`EtagKey`]), over a canonical serialisation of the row
//! (its `id` and every column value, in stored column order, each tagged
//! with its type and length) + `"`. It therefore changes with any column,
//! including write-only ones, is the same on every backend and in every
//! process sharing the key for the same stored values, and without the key
//! says nothing about the values: a low-entropy write-only column cannot be
//! recovered by hashing candidates.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::model::Value;

/// The key ETags are computed under.
#[derive(Clone)]
pub struct EtagKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for EtagKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EtagKey([redacted])")
    }
}

impl EtagKey {
    /// A key derived from an application secret, so processes sharing the
    /// secret give the same ETag for the same row.
    pub fn derive(secret: &[u8]) -> EtagKey {
        let derived = Sha256::new()
            .chain_update(b"lightapi row etag v1\0")
            .chain_update(secret)
            .finalize();
        // An HMAC key shorter than the block is zero-padded to it (RFC 2104).
        let mut block = [0u8; 64];
        for (slot, b) in block.iter_mut().zip(derived.iter()) {
            *slot = *b;
        }
        let mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
        EtagKey { mac }
    }
}

/// The strong ETag of a stored row (values in `sql::select_columns` order,
/// `id` first) under `key`.
///
/// ```
/// use lightapi::backend::Value;
/// use lightapi::__private::crud::etag::{etag, EtagKey};
/// let key = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
/// let a = etag(&key, &[Value::Integer(1), Value::Text("x".into())]);
/// assert_eq!(a.len(), 34);
/// assert_ne!(a, etag(&key, &[Value::Integer(1), Value::Text("y".into())]));
/// ```
pub fn etag(key: &EtagKey, values: &[Value]) -> String {
    let mut h = key.mac.clone();
    for v in values {
        match v {
            Value::Null => h.update(&[0u8]),
            Value::Integer(i) => {
                h.update(&[1u8]);
                h.update(&i.to_be_bytes());
            }
            Value::Float(f) => {
                h.update(&[2u8]);
                h.update(&f.to_bits().to_be_bytes());
            }
            Value::Text(s) => {
                h.update(&[3u8]);
                h.update(&(s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            Value::Boolean(b) => h.update(&[4u8, u8::from(*b)]),
            Value::DateTime(us) => {
                h.update(&[5u8]);
                h.update(&us.to_be_bytes());
            }
            Value::Json(j) => {
                let s = j.to_string();
                h.update(&[6u8]);
                h.update(&(s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    let digest = h.finalize().into_bytes();
    let mut out = String::with_capacity(34);
    out.push('"');
    crate::hex::encode_into(&mut out, digest.get(..16).unwrap_or_default());
    out.push('"');
    out
}

/// The weak ETag (`W/"…"`) of a serialised representation, such as a page
/// of rows: the hex of the first 16 bytes of HMAC-SHA256 under `key` over
/// the bytes sent, kept apart from row ETags by a prefix. Weak, because it
/// stands for what the page says, not for stored state a write could be
/// conditional on.
///
/// ```
/// use lightapi::__private::crud::etag::{weak_etag, EtagKey};
/// let key = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
/// let a = weak_etag(&key, br#"{"results":[]}"#);
/// assert!(a.starts_with("W/\"") && a.len() == 36);
/// assert_ne!(a, weak_etag(&key, br#"{"results":[{}]}"#));
/// ```
pub fn weak_etag(key: &EtagKey, body: &[u8]) -> String {
    let mut h = key.mac.clone();
    h.update(b"\xffrepresentation\0");
    h.update(body);
    let digest = h.finalize().into_bytes();
    let mut out = String::with_capacity(36);
    out.push_str("W/\"");
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

    fn etag(values: &[Value]) -> String {
        super::etag(
            &EtagKey::derive(b"0123456789abcdef0123456789abcdef"),
            values,
        )
    }

    /// The unkeyed digest anyone can compute: SHA-256 over the same
    /// canonical form.
    fn unkeyed(values: &[Value]) -> String {
        let mut h = Sha256::new();
        for v in values {
            match v {
                Value::Integer(i) => {
                    h.update([1u8]);
                    h.update(i.to_be_bytes());
                }
                Value::Text(s) => {
                    h.update([3u8]);
                    h.update((s.len() as u64).to_be_bytes());
                    h.update(s.as_bytes());
                }
                Value::Boolean(b) => h.update([4u8, u8::from(*b)]),
                _ => unreachable!("only integers, text and booleans here"),
            }
        }
        let mut out = String::from("\"");
        crate::hex::encode_into(&mut out, &h.finalize()[..16]);
        out.push('"');
        out
    }

    #[test]
    fn etag_is_keyed() {
        // A row with a write-only 4-digit PIN: without the key its ETag
        // is not the plain digest anyone could compute over candidates.
        let row = [Value::Integer(1), Value::Text("4821".into())];
        assert_eq!(unkeyed(&row).len(), 34);
        assert_ne!(etag(&row), unkeyed(&row));
        let a = EtagKey::derive(b"first secret first secret first!");
        let b = EtagKey::derive(b"other secret other secret other!");
        assert_ne!(super::etag(&a, &row), super::etag(&b, &row));
        let a_again = EtagKey::derive(b"first secret first secret first!");
        assert_eq!(super::etag(&a, &row), super::etag(&a_again, &row));
        assert_eq!(super::etag(&a, &row), super::etag(&a.clone(), &row));
        assert_eq!(format!("{a:?}"), "EtagKey([redacted])");
    }

    #[test]
    fn etag_is_stable_and_known() {
        let row = [
            Value::Integer(1),
            Value::Text("Ada".into()),
            Value::Boolean(false),
        ];
        // Pinned so that a change of the canonical form is noticed.
        assert_eq!(etag(&row), etag(&row.clone()));
        assert_eq!(etag(&row), "\"11f29fbefbfee9c5e7547af13a8812da\"");
        // What the unkeyed digest gave for the same row.
        assert_eq!(unkeyed(&row), "\"a0ca213d6ece0674d21666122ba2e7b9\"");
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
    fn weak_etags_differ_from_row_etags() {
        let key = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
        let page = weak_etag(&key, b"[]");
        assert_eq!(page, weak_etag(&key, b"[]"));
        assert!(page.starts_with("W/\"") && page.ends_with('"'));
        let other = EtagKey::derive(b"other secret other secret other!");
        assert_ne!(page, weak_etag(&other, b"[]"));
        assert_ne!(&page[2..], super::etag(&key, &[Value::Text("[]".into())]));
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
