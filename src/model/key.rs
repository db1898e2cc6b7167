//! Primary-key values: what names one row of a model, parsed from a path
//! segment, read from a stored row, bound to a statement and shown in
//! messages.

use std::fmt;

use super::field::FieldType;
use super::text_formats::canonical_uuid;
use super::value::Value;

/// Longest text key accepted in a path when the key field declares no
/// `max_length`, in bytes.
pub const MAX_TEXT_KEY_BYTES: usize = 255;

/// Upper-case hexadecimal digits, for percent-encoding.
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The primary-key value of one row: an integer, or text (a text key, or a
/// UUID key in its canonical lower-case form). An integer key is a plain
/// value: no allocation.
///
/// ```
/// use lightapi::model::{Key, Value};
/// assert_eq!(Key::Int(7).to_string(), "7");
/// assert_eq!(Key::from("abc").to_string(), "\"abc\"");
/// assert_eq!(Key::Int(7).to_value(), Value::Integer(7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// An integer key.
    Int(i64),
    /// A text or UUID key.
    Text(Box<str>),
}

impl Key {
    /// The key as a stored value, to bind to a statement.
    pub fn to_value(&self) -> Value {
        match self {
            Key::Int(i) => Value::Integer(*i),
            Key::Text(s) => Value::Text(s.to_string()),
        }
    }

    /// The key of a stored value; `None` for a value no key can hold.
    pub fn from_value(value: &Value) -> Option<Key> {
        match value {
            Value::Integer(i) => Some(Key::Int(*i)),
            Value::Text(s) => Some(Key::Text(s.as_str().into())),
            _ => None,
        }
    }

    /// The key as JSON, as clients see it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Key::Int(i) => (*i).into(),
            Key::Text(s) => serde_json::Value::String(s.to_string()),
        }
    }

    /// The key of a JSON value as [`Key::to_json`] gives it; `None` for
    /// any other JSON.
    pub fn from_json(json: &serde_json::Value) -> Option<Key> {
        match json {
            serde_json::Value::Number(n) => n.as_i64().map(Key::Int),
            serde_json::Value::String(s) => Some(Key::Text(s.as_str().into())),
            _ => None,
        }
    }

    /// The integer, for an integer key.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Key::Int(i) => Some(*i),
            Key::Text(_) => None,
        }
    }

    /// Appends the key as it appears in a path: an integer in decimal, a
    /// text key percent-encoded (every byte but ASCII letters, digits and
    /// `-._~`).
    ///
    /// ```
    /// use lightapi::model::Key;
    /// let mut out = String::new();
    /// Key::from("a b/é").write_path_segment(&mut out);
    /// assert_eq!(out, "a%20b%2F%C3%A9");
    /// ```
    pub fn write_path_segment(&self, out: &mut String) {
        match self {
            Key::Int(i) => {
                use fmt::Write as _;
                let _ = write!(out, "{i}");
            }
            Key::Text(s) => {
                for b in s.bytes() {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                        out.push(char::from(b));
                    } else {
                        out.push('%');
                        out.push(char::from(UPPER_HEX[usize::from(b >> 4)]));
                        out.push(char::from(UPPER_HEX[usize::from(b & 0xf)]));
                    }
                }
            }
        }
    }
}

impl From<i64> for Key {
    fn from(i: i64) -> Key {
        Key::Int(i)
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key::Text(s.into())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(i) => write!(f, "{i}"),
            Key::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// The key a (percent-decoded) path segment names for a key of type `kind`
/// with at most `max_bytes` bytes of text: a canonical positive integer for
/// an integer key; any non-empty text up to `max_bytes` for a text key; a
/// UUID in any case (kept lower-case) for a UUID key. `None` otherwise.
///
/// ```
/// use lightapi::model::{parse_path_key, FieldType, Key};
/// assert_eq!(parse_path_key(FieldType::Integer, 255, "7"), Some(Key::Int(7)));
/// assert_eq!(parse_path_key(FieldType::Integer, 255, "07"), None);
/// assert_eq!(parse_path_key(FieldType::Text, 255, "a b"), Some(Key::from("a b")));
/// assert_eq!(
///     parse_path_key(FieldType::Uuid, 36, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
///     Some(Key::from("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))
/// );
/// ```
pub fn parse_path_key(kind: FieldType, max_bytes: usize, raw: &str) -> Option<Key> {
    match kind {
        FieldType::Integer => {
            let canonical = !raw.is_empty()
                && raw.len() <= 19
                && raw.bytes().all(|b| b.is_ascii_digit())
                && !raw.starts_with('0');
            canonical
                .then(|| raw.parse::<i64>().ok())
                .flatten()
                .filter(|id| *id > 0)
                .map(Key::Int)
        }
        FieldType::Text => {
            (!raw.is_empty() && raw.len() <= max_bytes).then(|| Key::Text(raw.into()))
        }
        FieldType::Uuid => canonical_uuid(raw).ok().map(|s| Key::Text(s.into())),
        _ => None,
    }
}

/// A random (version 4) UUID in canonical text, from the operating
/// system's random source.
///
/// # Errors
///
/// When `/dev/urandom` cannot be read.
pub(crate) fn random_uuid() -> std::io::Result<String> {
    use std::io::Read as _;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        crate::hex::encode_into(&mut out, std::slice::from_ref(byte));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// Path segments that are not an integer key: not canonical, not
    /// positive, or out of range.
    pub(crate) const BAD_INTEGER_KEYS: [&str; 10] = [
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
    ];

    #[test]
    fn integer_keys_must_be_canonical_positive_integers() {
        let ok = |s: &str| parse_path_key(FieldType::Integer, 255, s);
        assert_eq!(ok("1"), Some(Key::Int(1)));
        assert_eq!(ok("9223372036854775807"), Some(Key::Int(i64::MAX)));
        for bad in BAD_INTEGER_KEYS {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_keys_are_any_non_empty_segment_within_the_length() {
        let ok = |max: usize, s: &str| parse_path_key(FieldType::Text, max, s);
        assert_eq!(ok(255, "abc"), Some(Key::from("abc")));
        assert_eq!(ok(255, "a b/ü"), Some(Key::from("a b/ü")));
        assert_eq!(ok(255, "0"), Some(Key::from("0")));
        assert_eq!(ok(255, ""), None);
        assert_eq!(ok(3, "abc"), Some(Key::from("abc")));
        assert_eq!(ok(3, "abcd"), None);
        // The limit is in bytes: two-byte characters count twice.
        assert_eq!(ok(3, "üü"), None);
    }

    #[test]
    fn uuid_keys_are_canonical_uuids_in_any_case() {
        let ok = |s: &str| parse_path_key(FieldType::Uuid, 36, s);
        let lower = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        assert_eq!(ok(lower), Some(Key::from(lower)));
        assert_eq!(ok(&lower.to_uppercase()), Some(Key::from(lower)));
        for bad in [
            "",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "x",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
        assert_eq!(parse_path_key(FieldType::Float, 36, "1"), None);
    }

    #[test]
    fn random_uuids_are_canonical_version_4() {
        let a = random_uuid().unwrap();
        let b = random_uuid().unwrap();
        assert_ne!(a, b);
        assert_eq!(canonical_uuid(&a).unwrap(), a);
        assert_eq!(a.as_bytes()[14], b'4');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn keys_round_trip_json_and_encode_in_paths() {
        for k in [Key::Int(-3), Key::from("x y")] {
            assert_eq!(Key::from_json(&k.to_json()), Some(k.clone()));
            assert_eq!(Key::from_value(&k.to_value()), Some(k));
        }
        let mut out = String::new();
        Key::Int(42).write_path_segment(&mut out);
        assert_eq!(out, "42");
        out.clear();
        Key::from("AZaz09-._~ %").write_path_segment(&mut out);
        assert_eq!(out, "AZaz09-._~%20%25");
    }
}
