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

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::model::{Value, ValueRef};

/// The key ETags are computed under; its clones share it.
#[derive(Clone)]
pub struct EtagKey(Arc<KeyState>);

struct KeyState {
    mac: Hmac<Sha256>,
    /// The two evaluation points of a page's polynomial hash.
    points: [Point; 2],
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
        let points = mac
            .clone()
            .chain_update(b"\xffpage polynomial points\0")
            .finalize()
            .into_bytes();
        let point = |at: usize| {
            let mut word = [0u8; 8];
            if let Some(bytes) = points.get(at..at + 8) {
                word.copy_from_slice(bytes);
            }
            Point::new(u64::from_le_bytes(word))
        };
        EtagKey(Arc::new(KeyState {
            mac,
            points: [point(0), point(8)],
        }))
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
    etag_of(key, values.iter().map(Value::view))
}

/// [`etag`] of a row given as borrowed values, as a driver hands them
/// over.
pub(crate) fn etag_of<'v>(key: &EtagKey, values: impl IntoIterator<Item = ValueRef<'v>>) -> String {
    SCRATCH.with(|cell| {
        let Ok(mut canonical) = cell.try_borrow_mut() else {
            let mut canonical = Vec::new();
            canonical_into(&mut canonical, values);
            return row_tag(key, &canonical);
        };
        canonical.clear();
        canonical_into(&mut canonical, values);
        let tag = row_tag(key, &canonical);
        if canonical.capacity() > SCRATCH_KEPT_BYTES {
            *canonical = Vec::new();
        }
        tag
    })
}

/// A thread's scratch buffer for canonical forms keeps at most this much
/// room between rows.
const SCRATCH_KEPT_BYTES: usize = 4096;

thread_local! {
    /// The thread's scratch buffer for the canonical form of the row
    /// being tagged.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Appends the canonical form of a row to `out`: each value tagged with
/// its type, texts with their length.
fn canonical_into<'v>(out: &mut Vec<u8>, values: impl IntoIterator<Item = ValueRef<'v>>) {
    for v in values {
        match v {
            ValueRef::Null => out.push(0),
            ValueRef::Integer(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
            ValueRef::Float(f) => {
                out.push(2);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            ValueRef::Text(s) => {
                out.push(3);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            ValueRef::Boolean(b) => out.extend_from_slice(&[4, u8::from(b)]),
            ValueRef::DateTime(us) => {
                out.push(5);
                out.extend_from_slice(&us.to_be_bytes());
            }
            ValueRef::Json(j) => {
                let s = j.to_string();
                out.push(6);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// The tag of a canonical form: the keyed digest, computed.
fn row_tag(key: &EtagKey, canonical: &[u8]) -> String {
    let digest = key
        .0
        .mac
        .clone()
        .chain_update(canonical)
        .finalize()
        .into_bytes();
    let mut out = String::with_capacity(34);
    out.push('"');
    crate::hex::encode_into(&mut out, digest.get(..16).unwrap_or_default());
    out.push('"');
    out
}

/// The weak ETag (`W/"…"`) of a serialised representation, such as a page
/// of rows: the hex of the first 16 bytes of HMAC-SHA256 under `key` over
/// two polynomial hashes of the bytes sent (each at a secret point of the
/// field of integers modulo 2^61 − 1), kept apart from
/// row ETags by a prefix. Two different bodies of up to n words get the
/// same tag with probability at most ((n + 1) / (2^61 − 1))², below 2^-80
/// for bodies up to 1 MB, whatever the bodies are: the points are secret,
/// and the tag, a keyed digest of the two hashes, says nothing about
/// them. A fraction of the cost of a digest over the whole body. Weak, because it stands for what the page
/// says, not for stored state a write could be conditional on.
///
/// ```
/// use lightapi::__private::crud::etag::{weak_etag, EtagKey};
/// let key = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
/// let a = weak_etag(&key, br#"{"results":[]}"#);
/// assert!(a.starts_with("W/\"") && a.len() == 36);
/// assert_ne!(a, weak_etag(&key, br#"{"results":[{}]}"#));
/// ```
pub fn weak_etag(key: &EtagKey, body: &[u8]) -> String {
    let [a, b] = poly_hash(&key.0.points, body);
    let mut h = key.0.mac.clone();
    h.update(b"\xffrepresentation\0");
    h.update(&a.to_le_bytes());
    h.update(&b.to_le_bytes());
    let digest = h.finalize().into_bytes();
    let mut out = String::with_capacity(36);
    out.push_str("W/\"");
    crate::hex::encode_into(&mut out, digest.get(..16).unwrap_or_default());
    out.push('"');
    out
}

/// The prime 2^61 − 1.
const P: u64 = (1 << 61) - 1;

/// A secret point and its powers up to the fourth, modulo [`P`].
#[derive(Clone, Copy)]
struct Point([u64; 4]);

impl Point {
    /// The point `seed` reduced modulo [`P`] (never 0, which would hash
    /// every body alike).
    fn new(seed: u64) -> Point {
        let r = reduce(u128::from(seed & P)).max(1);
        let r2 = mul(r, r);
        let r3 = mul(r2, r);
        let r4 = mul(r3, r);
        Point([r, r2, r3, r4])
    }
}

/// A number congruent to `x` modulo [`P`] and below P + 2^5, for `x`
/// below 2^125: 2^61 ≡ 1 (mod P), so the high bits fold onto the low
/// ones, twice.
fn fold(x: u128) -> u64 {
    let once = (x & u128::from(P)) + (x >> 61);
    let twice = (once & u128::from(P)) + (once >> 61);
    u64::try_from(twice).unwrap_or(u64::MAX)
}

/// `x` modulo [`P`], for `x` below 2^125.
fn reduce(x: u128) -> u64 {
    let folded = fold(x);
    // Below P + 2^5: one subtraction is enough.
    if folded >= P {
        folded - P
    } else {
        folded
    }
}

fn mul(a: u64, b: u64) -> u64 {
    reduce(u128::from(a) * u128::from(b))
}

/// Two polynomial hashes of `bytes`, at the two `points`: the bytes read
/// as little-endian 7-byte words `w1 … wn` (the last one zero-padded),
/// followed by one word holding the byte length, and each hash
/// `(…((w1)·r + w2)·r + … + len)·r mod P`. The length word makes the
/// word sequences of two different byte strings differ, so the
/// difference of their polynomials is not zero and has at most n + 1
/// roots: the two collide at a uniformly secret point with probability at
/// most (n + 1) / P. Four words are taken per step, with the point's
/// powers, so the multiplications of a step do not wait for each other.
fn poly_hash(points: &[Point; 2], bytes: &[u8]) -> [u64; 2] {
    /// Bytes per word: below 2^56, so every word is below P.
    const WORD: usize = 7;
    let word = |chunk: &[u8]| {
        let mut w = [0u8; 8];
        if let Some(slot) = w.get_mut(..chunk.len()) {
            slot.copy_from_slice(chunk);
        }
        u64::from_le_bytes(w)
    };
    // The word at `at`, read as 8 bytes of which the last is dropped;
    // `None` where fewer than 8 bytes are left.
    let load = |at: usize| {
        let eight: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(u64::from_le_bytes(eight) & ((1 << 56) - 1))
    };
    let mut h = [0u64; 2];
    let mut at = 0;
    while let (Some(w0), Some(w1), Some(w2), Some(w3)) = (
        load(at),
        load(at + WORD),
        load(at + 2 * WORD),
        load(at + 3 * WORD),
    ) {
        for (h, Point([r, r2, r3, r4])) in h.iter_mut().zip(points) {
            // `h` is below P + 2^5 (folded, not reduced: the last step
            // below reduces it), each product below 2^62 · 2^61, their
            // sum below 2^125.
            let sum = u128::from(*h + w0) * u128::from(*r4)
                + u128::from(w1) * u128::from(*r3)
                + u128::from(w2) * u128::from(*r2)
                + u128::from(w3) * u128::from(*r);
            *h = fold(sum);
        }
        at += 4 * WORD;
    }
    let tail = bytes
        .get(at..)
        .unwrap_or_default()
        .chunks(WORD)
        .map(word)
        // No body reaches 2^56 bytes: the length is a word like the others.
        .chain(std::iter::once(
            u64::try_from(bytes.len()).unwrap_or(u64::MAX) & ((1 << 56) - 1),
        ));
    for w in tail {
        for (h, Point([r, ..])) in h.iter_mut().zip(points) {
            *h = mul(*h + w, *r);
        }
    }
    h
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

    /// The tag as the HMAC over the values, fed one piece at a time.
    fn by_updates(key: &EtagKey, values: &[Value]) -> String {
        let mut h = key.0.mac.clone();
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
        let mut out = String::from("\"");
        crate::hex::encode_into(&mut out, &h.finalize().into_bytes()[..16]);
        out.push('"');
        out
    }

    #[test]
    fn scratch_built_tags_are_the_computed_ones() {
        let key = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
        let other = EtagKey::derive(b"other secret other secret other!");
        let long = "x".repeat(SCRATCH_KEPT_BYTES + 1);
        let rows: Vec<Vec<Value>> = vec![
            vec![],
            vec![Value::Integer(1)],
            vec![Value::Integer(1), Value::Text("Ada".into()), Value::Null],
            vec![Value::Integer(1), Value::Text("Bob".into()), Value::Null],
            vec![Value::Integer(1025), Value::Float(1.5)],
            vec![
                Value::Text("k".into()),
                Value::DateTime(-7),
                Value::Boolean(true),
            ],
            vec![Value::Integer(2), Value::Json(json!({"a": [1, "b"]}))],
            vec![Value::Integer(3), Value::Text(long)],
        ];
        // Twice over, so the scratch buffer is reused (and let go after
        // the long row); every row under two keys, alternately.
        for _ in 0..2 {
            for row in &rows {
                for k in [&key, &other] {
                    assert_eq!(super::etag(k, row), by_updates(k, row), "{row:?}");
                }
            }
        }
        // A row changed behind the same id is tagged anew.
        let before = [Value::Integer(9), Value::Text("x".into())];
        let after = [Value::Integer(9), Value::Text("y".into())];
        assert_eq!(super::etag(&key, &before), by_updates(&key, &before));
        assert_eq!(super::etag(&key, &after), by_updates(&key, &after));
        assert_ne!(super::etag(&key, &before), super::etag(&key, &after));
        // The key's clone is the same key; a key derived again from the
        // same secret gives the same tags.
        let again = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
        assert_eq!(
            super::etag(&key.clone(), &after),
            super::etag(&again, &after)
        );
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

    /// The hash as its definition reads: one word at a time.
    fn poly_by_words(r: u64, bytes: &[u8]) -> u64 {
        let mut h = 0u64;
        let words = bytes.chunks(7).map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        });
        for w in words.chain(std::iter::once(bytes.len() as u64)) {
            h = ((u128::from(h + w) * u128::from(r)) % u128::from(P)) as u64;
        }
        h
    }

    #[test]
    fn reduction_is_exact_at_the_edges() {
        for x in [
            0u128,
            1,
            u128::from(P) - 1,
            u128::from(P),
            u128::from(P) + 1,
            u128::from(P) * u128::from(P),
            (1u128 << 125) - 1,
            u128::from(u64::MAX) * u128::from(P - 1),
        ] {
            assert_eq!(u128::from(reduce(x)), x % u128::from(P), "{x}");
        }
    }

    #[test]
    fn poly_hash_is_the_polynomial_at_every_length() {
        let key = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 37 % 256) as u8).collect();
        let [Point([r0, ..]), Point([r1, ..])] = key.0.points;
        assert_ne!(r0, r1);
        for len in 0..bytes.len() {
            let body = &bytes[..len];
            assert_eq!(
                poly_hash(&key.0.points, body),
                [poly_by_words(r0, body), poly_by_words(r1, body)],
                "{len} bytes"
            );
        }
        // All-ones words, the largest there are, through every step.
        let ones = vec![0xffu8; 100];
        assert_eq!(poly_hash(&key.0.points, &ones)[0], poly_by_words(r0, &ones));
    }

    #[test]
    fn weak_etags_tell_apart_what_a_plain_sum_would_not() {
        let key = EtagKey::derive(b"0123456789abcdef0123456789abcdef");
        let bodies: [&[u8]; 7] = [
            b"",
            b"\0",
            b"\0\0\0\0\0\0\0",
            b"\0\0\0\0\0\0\0\0",
            b"ab",
            b"ba",
            b"abcdefghabcdefgh",
        ];
        let tags: Vec<String> = bodies.iter().map(|b| weak_etag(&key, b)).collect();
        for (i, a) in tags.iter().enumerate() {
            for b in &tags[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The same rows in another order, one byte changed, one added.
        let page = br#"[{"id":1,"name":"Ada"},{"id":2,"name":"Bob"}]"#;
        let swapped = br#"[{"id":2,"name":"Bob"},{"id":1,"name":"Ada"}]"#;
        assert_ne!(weak_etag(&key, page), weak_etag(&key, swapped));
        let mut changed = page.to_vec();
        changed[30] ^= 1;
        assert_ne!(weak_etag(&key, page), weak_etag(&key, &changed));
        let mut longer = page.to_vec();
        longer.push(b' ');
        assert_ne!(weak_etag(&key, page), weak_etag(&key, &longer));
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
