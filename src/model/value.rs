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
}
