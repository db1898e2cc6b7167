//! Client values to stored ones: JSON body values and query-string text,
//! checked against a field's declaration.

use super::datetime;
use super::decimal_text::canonical_decimal;
use super::field::{Field, FieldType};
use super::text_formats::{canonical_date, canonical_uuid};
use super::value::Value;

impl Field {
    /// Parses a query-string value (e.g. `?age=42`) for this field: integers
    /// and finite floats in decimal, `true`/`false`/`1`/`0`, RFC 3339
    /// datetimes, JSON text for JSON fields, text as is (no length check).
    ///
    /// # Errors
    ///
    /// A lowercase, client-facing message saying why the text does not fit.
    ///
    /// ```
    /// use lightapi::backend::Value;
    /// use lightapi::model::Field;
    /// assert_eq!(Field::integer().parse_text("-7"), Ok(Value::Integer(-7)));
    /// assert_eq!(Field::boolean().parse_text("true"), Ok(Value::Boolean(true)));
    /// assert!(Field::integer().parse_text("99999999999999999999").is_err());
    /// // The number syntax JSON (and so the OpenAPI document) allows.
    /// assert_eq!(Field::integer().parse_text("2.0"), Ok(Value::Integer(2)));
    /// assert_eq!(Field::integer().parse_text("1e3"), Ok(Value::Integer(1000)));
    /// assert!(Field::integer().parse_text("2.5").is_err());
    /// assert!(Field::integer().parse_text(" 2").is_err());
    /// ```
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        match self.kind {
            FieldType::Integer => integer_text(text).map(Value::Integer),
            FieldType::Float => match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                _ => Err("expected a finite number".to_owned()),
            },
            FieldType::Text => Ok(Value::Text(text.to_owned())),
            FieldType::Boolean => match text {
                "true" | "1" => Ok(Value::Boolean(true)),
                "false" | "0" => Ok(Value::Boolean(false)),
                _ => Err("expected true or false".to_owned()),
            },
            FieldType::DateTime => datetime::parse_rfc3339(text)
                .map(Value::DateTime)
                .map_err(|e| format!("expected an RFC 3339 datetime: {e}")),
            FieldType::Json => serde_json::from_str(text)
                .map(Value::Json)
                .map_err(|_| "expected JSON".to_owned()),
            FieldType::Uuid => canonical_uuid(text).map(Value::Text),
            FieldType::Date => canonical_date(text).map(Value::Text),
            FieldType::Decimal => {
                let (precision, scale) = self.digits.unwrap_or_default();
                canonical_decimal(text, precision, scale).map(Value::Text)
            }
        }
    }

    /// Converts a JSON value to the stored [`Value`] for this field, with
    /// the same rules as body validation (`null` only if nullable, integers
    /// within `i64`, `max_length`, RFC 3339 datetimes, canonical UUIDs,
    /// dates and decimals) and the field's constraints ([`Field::choices`],
    /// [`Field::min`], …).
    ///
    /// # Errors
    ///
    /// A lowercase, client-facing message saying why the value does not fit.
    ///
    /// ```
    /// use lightapi::backend::Value;
    /// use lightapi::model::Field;
    /// assert_eq!(Field::float().to_value(&serde_json::json!(2)), Ok(Value::Float(2.0)));
    /// assert!(Field::integer().to_value(&serde_json::json!(1.5)).is_err());
    /// ```
    pub fn to_value(&self, json: &serde_json::Value) -> Result<Value, String> {
        let v = self.convert(json)?;
        self.check_constraints(&v)?;
        Ok(v)
    }

    /// [`Field::to_value`] without the constraints: the type alone.
    pub(super) fn convert(&self, json: &serde_json::Value) -> Result<Value, String> {
        use serde_json::Value as J;
        if json.is_null() {
            return if self.nullable {
                Ok(Value::Null)
            } else {
                Err("must not be null".to_owned())
            };
        }
        match (self.kind, json) {
            (FieldType::Integer, J::Number(n)) => exact_integer(n).map(Value::Integer),
            (FieldType::Float, J::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Value::Float(f)),
                _ => Err("expected a finite number".to_owned()),
            },
            (FieldType::Text, J::String(s)) => match self.max_length {
                Some(max) if s.chars().count() > max => {
                    Err(format!("text longer than {max} characters"))
                }
                _ => Ok(Value::Text(s.clone())),
            },
            (FieldType::Boolean, J::Bool(b)) => Ok(Value::Boolean(*b)),
            (FieldType::DateTime, J::String(s)) => datetime::parse_rfc3339(s)
                .map(Value::DateTime)
                .map_err(|e| format!("expected an RFC 3339 datetime: {e}")),
            (FieldType::Json, j) if has_non_finite_number(j) => {
                Err("number out of the 64-bit floating-point range".to_owned())
            }
            (FieldType::Json, j) => Ok(Value::Json(j.clone())),
            (FieldType::Uuid, J::String(s)) => canonical_uuid(s).map(Value::Text),
            (FieldType::Date, J::String(s)) => canonical_date(s).map(Value::Text),
            (FieldType::Decimal, J::String(s)) => {
                let (precision, scale) = self.digits.unwrap_or_default();
                canonical_decimal(s, precision, scale).map(Value::Text)
            }
            (kind, other) => Err(format!(
                "expected {}, got {}",
                article(kind),
                json_kind(other)
            )),
        }
    }
}

/// The integer a query value denotes: decimal digits, or any JSON number
/// that is exactly an integer (`2.0`, `1e3`), as the JSON Schema `integer`
/// type the OpenAPI document gives such parameters allows.
pub(crate) fn integer_text(text: &str) -> Result<i64, String> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(i);
    }
    let expected = || "expected a 64-bit integer".to_owned();
    // The JSON number grammar, and nothing around it.
    if text.trim() != text {
        return Err(expected());
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Number(n)) => exact_integer(&n),
        _ => Err(expected()),
    }
}

/// The integer a JSON number denotes exactly, if it is one and fits in an
/// `i64`. Decided on the number's decimal text (kept as sent, see the
/// `arbitrary_precision` feature of serde_json), so `1e3` and `2.0` are
/// integers while `-9223372036854775809` or `1.0000000000000000001` are
/// not rounded into one.
fn exact_integer(n: &serde_json::Number) -> Result<i64, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    decimal_integer(&n.to_string())
}

fn decimal_integer(text: &str) -> Result<i64, String> {
    let out_of_range = || "integer out of the 64-bit range".to_owned();
    let fractional = || "expected an integer, got a fractional number".to_owned();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = rest.split_once(['e', 'E']).unwrap_or((rest, "0"));
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let exponent: i64 = exponent.parse().unwrap_or(if exponent.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    });
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    let significant = digits.trim_end_matches('0');
    let trailing_zeros = i64::try_from(digits.len() - significant.len()).unwrap_or(i64::MAX);
    let frac_len = i64::try_from(frac_part.len()).unwrap_or(i64::MAX);
    // value = significant × 10^scale
    let scale = exponent
        .saturating_sub(frac_len)
        .saturating_add(trailing_zeros);
    if scale < 0 {
        return Err(fractional());
    }
    let len = i64::try_from(significant.len()).unwrap_or(i64::MAX);
    if len.saturating_add(scale) > 19 {
        // At least 10^19, beyond i64::MAX.
        return Err(out_of_range());
    }
    let mut value: i128 = significant.parse().map_err(|_| out_of_range())?;
    for _ in 0..scale {
        value *= 10;
    }
    if negative {
        value = -value;
    }
    i64::try_from(value).map_err(|_| out_of_range())
}

/// Whether a JSON document holds a number no `f64` can hold (such as
/// `1e400`): refused in JSON fields, which not every database can store.
fn has_non_finite_number(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.as_f64().is_none_or(|f| !f.is_finite()),
        serde_json::Value::Array(items) => items.iter().any(has_non_finite_number),
        serde_json::Value::Object(map) => map.values().any(has_non_finite_number),
        _ => false,
    }
}

fn article(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Integer => "an integer",
        FieldType::Float => "a number",
        FieldType::Text => "a string",
        FieldType::Boolean => "a boolean",
        FieldType::DateTime => "an RFC 3339 datetime string",
        FieldType::Json => "a JSON value",
        FieldType::Uuid => "a UUID string",
        FieldType::Date => "a date string YYYY-MM-DD",
        FieldType::Decimal => "a decimal string such as \"12.50\"",
    }
}

pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_converted_exactly() {
        let int = |text: &str| {
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            Field::integer().to_value(&json)
        };
        for (text, want) in [
            ("0", 0),
            ("-0", 0),
            ("1e3", 1000),
            ("2.0", 2),
            ("1.5e1", 15),
            ("-9223372036854775808", i64::MIN),
            ("-9.223372036854775808e18", i64::MIN),
            ("9223372036854775807", i64::MAX),
            ("922337203685477580.7e1", i64::MAX),
            ("0.00e5", 0),
            ("1000e-3", 1),
        ] {
            assert_eq!(int(text), Ok(Value::Integer(want)), "{text}");
        }
        for text in [
            "-9223372036854775809",
            "9223372036854775808",
            "99999999999999999999",
            "1e19",
            "1e400",
            "-1e400",
            "1e99999999999999999999",
        ] {
            assert_eq!(
                int(text),
                Err("integer out of the 64-bit range".to_owned()),
                "{text}"
            );
        }
        for text in [
            "1.5",
            "1.0000000000000000001",
            "1e-400",
            "9223372036854775807.5",
        ] {
            assert_eq!(
                int(text),
                Err("expected an integer, got a fractional number".to_owned()),
                "{text}"
            );
        }
        let float = |text: &str| Field::float().to_value(&serde_json::from_str(text).unwrap());
        assert!(float("1e400").is_err());
        assert_eq!(float("-1e308"), Ok(Value::Float(-1e308)));
        let doc = |text: &str| Field::json().to_value(&serde_json::from_str(text).unwrap());
        assert!(doc(r#"{"a": [1, 1e400]}"#).is_err());
        assert!(doc(r#"{"a": [1, 1e300]}"#).is_ok());
    }
}
