//! The value of one column, as stored, read back and bound to statements.

use super::datetime::format_rfc3339;

/// A value as stored in (or read from) a column, and as bound to a parameter.
///
/// ```
/// use lightapi::model::Value;
/// assert_eq!(Value::DateTime(0).to_json(), serde_json::json!("1970-01-01T00:00:00.000000Z"));
/// assert_eq!(Value::Boolean(true).to_json(), serde_json::json!(true));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A 64-bit float.
    Float(f64),
    /// UTF-8 text (may contain NUL).
    Text(String),
    /// A boolean (stored as 0/1 where the database has no boolean type).
    Boolean(bool),
    /// An instant in microseconds since the epoch, UTC.
    DateTime(i64),
    /// A JSON document.
    Json(serde_json::Value),
}

impl Value {
    /// The JSON a client sees for this value: datetimes as normalised RFC
    /// 3339 text, non-finite floats (never stored by lightapi) as `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Integer(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Boolean(b) => (*b).into(),
            Value::DateTime(us) => serde_json::Value::String(format_rfc3339(*us)),
            Value::Json(j) => j.clone(),
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value borrowed, as [`Conn::query_each`](crate::backend::Conn::query_each)
    /// hands rows over.
    ///
    /// ```
    /// use lightapi::model::{Value, ValueRef};
    /// let v = Value::Text("Ada".into());
    /// assert_eq!(v.view(), ValueRef::Text("Ada"));
    /// assert_eq!(v.view().to_value(), v);
    /// ```
    pub fn view(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Text(s) => ValueRef::Text(s),
            Value::Boolean(b) => ValueRef::Boolean(*b),
            Value::DateTime(us) => ValueRef::DateTime(*us),
            Value::Json(j) => ValueRef::Json(j),
        }
    }
}

/// A column value borrowed from the row it was read in: a [`Value`]
/// without its own copy of text or JSON.
///
/// ```
/// use lightapi::model::{Value, ValueRef};
/// assert_eq!(ValueRef::Integer(7).to_value(), Value::Integer(7));
/// assert_eq!(ValueRef::Text("x").to_value(), Value::Text("x".into()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A 64-bit float.
    Float(f64),
    /// UTF-8 text.
    Text(&'a str),
    /// A boolean.
    Boolean(bool),
    /// An instant in microseconds since the epoch, UTC.
    DateTime(i64),
    /// A JSON document.
    Json(&'a serde_json::Value),
}

impl ValueRef<'_> {
    /// The value with its own copy of what it borrows.
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Text(s) => Value::Text(s.to_owned()),
            ValueRef::Boolean(b) => Value::Boolean(b),
            ValueRef::DateTime(us) => Value::DateTime(us),
            ValueRef::Json(j) => Value::Json(j.clone()),
        }
    }

    /// Appends the JSON [`Value::to_json`] gives for the owned value,
    /// without building it.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match *self {
            ValueRef::Null => out.extend_from_slice(b"null"),
            ValueRef::Integer(i) => write_integer(out, i),
            ValueRef::Float(f) if f.is_finite() => {
                if serde_json::to_writer(&mut *out, &f).is_err() {
                    out.extend_from_slice(b"null");
                }
            }
            ValueRef::Float(_) => out.extend_from_slice(b"null"),
            ValueRef::Text(s) => {
                if serde_json::to_writer(&mut *out, s).is_err() {
                    out.extend_from_slice(b"null");
                }
            }
            ValueRef::Boolean(true) => out.extend_from_slice(b"true"),
            ValueRef::Boolean(false) => out.extend_from_slice(b"false"),
            ValueRef::DateTime(us) => {
                out.push(b'"');
                out.extend_from_slice(format_rfc3339(us).as_bytes());
                out.push(b'"');
            }
            ValueRef::Json(j) => {
                if serde_json::to_writer(&mut *out, j).is_err() {
                    out.extend_from_slice(b"null");
                }
            }
        }
    }
}

/// Appends `i` in decimal.
pub(crate) fn write_integer(out: &mut Vec<u8>, i: i64) {
    let mut buf = [0u8; 20];
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(decimal(i.unsigned_abs(), &mut buf));
}

/// The decimal digits of `n`, written at the end of `buf`.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(d) = buf.get_mut(at) {
            // `n % 10` is a single digit.
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_to_json() {
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::Value::Null);
        assert_eq!(
            Value::Integer(i64::MIN).to_json(),
            serde_json::json!(i64::MIN)
        );
        assert_eq!(
            Value::Text("\u{0}".into()).to_json(),
            serde_json::json!("\u{0}")
        );
    }

    #[test]
    fn written_json_is_what_to_json_gives() {
        let values = [
            Value::Null,
            Value::Integer(0),
            Value::Integer(-7),
            Value::Integer(i64::MIN),
            Value::Integer(i64::MAX),
            Value::Float(-0.5),
            Value::Float(1e300),
            Value::Float(f64::INFINITY),
            Value::Text("a \"quoted\" \\ line\n\u{0} é 😀".into()),
            Value::Boolean(true),
            Value::Boolean(false),
            Value::DateTime(-1),
            Value::Json(serde_json::json!({"a": [1, null, "x"]})),
        ];
        for v in values {
            let mut out = Vec::new();
            v.view().write_json(&mut out);
            assert_eq!(v.view().to_value(), v);
            let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, v.to_json(), "{v:?}");
        }
    }
}
