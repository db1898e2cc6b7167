//! Value constraints of a field (choices, inclusive bounds, a minimum
//! length, a pattern): their declaration checks, and the check of every
//! value a client sends (defaults included, at start-up).

use std::cmp::Ordering;
use std::fmt;

use super::datetime::format_rfc3339;
use super::decimal_text::{compare_decimal, MAX_DECIMAL_PRECISION, MAX_DECIMAL_SCALE};
use super::field::{Field, FieldType};
use super::value::Value;

/// The constraints declared on a field; all optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Constraints {
    pub(super) choices: Option<Vec<serde_json::Value>>,
    pub(super) min: Option<serde_json::Value>,
    pub(super) max: Option<serde_json::Value>,
    pub(super) min_length: Option<usize>,
    pub(super) pattern: Option<Pattern>,
}

/// A regular expression a text must match somewhere (as JSON Schema's
/// `pattern`: anchor it with `^…$` to match the whole text), compiled
/// when declared. Without the `pattern` feature it cannot be compiled,
/// which [`Model::check`](super::Model::check) reports.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    source: String,
    #[cfg(feature = "pattern")]
    compiled: Result<regex_lite::Regex, String>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl Pattern {
    pub(super) fn new(source: &str) -> Pattern {
        Pattern {
            source: source.to_owned(),
            #[cfg(feature = "pattern")]
            compiled: regex_lite::Regex::new(source).map_err(|e| e.to_string()),
        }
    }

    pub(super) fn source(&self) -> &str {
        &self.source
    }

    /// Why the pattern cannot be used, if it cannot.
    fn error(&self) -> Option<String> {
        #[cfg(feature = "pattern")]
        {
            self.compiled
                .as_ref()
                .err()
                .map(|e| format!("invalid pattern {:?}: {e}", self.source))
        }
        #[cfg(not(feature = "pattern"))]
        {
            Some("a pattern needs lightapi's `pattern` feature".to_owned())
        }
    }

    fn is_match(&self, text: &str) -> bool {
        #[cfg(feature = "pattern")]
        {
            self.compiled.as_ref().is_ok_and(|re| re.is_match(text))
        }
        #[cfg(not(feature = "pattern"))]
        {
            let _ = text;
            false
        }
    }
}

/// A value as a message shows it: text bare, numbers in decimal.
pub(super) struct Shown<'a>(pub(super) &'a Value);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("null"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::DateTime(us) => f.write_str(&format_rfc3339(*us)),
            Value::Json(j) => write!(f, "{j}"),
        }
    }
}

/// The order of two stored values of a field of type `kind`.
fn order(kind: FieldType, a: &Value, b: &Value) -> Option<Ordering> {
    match (kind, a, b) {
        (FieldType::Decimal, Value::Text(a), Value::Text(b)) => compare_decimal(a, b),
        (_, Value::Integer(a), Value::Integer(b)) => Some(a.cmp(b)),
        (_, Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
        (_, Value::DateTime(a), Value::DateTime(b)) => Some(a.cmp(b)),
        // Canonical dates compare as text.
        (_, Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

impl Field {
    /// A declared bound as a stored value (a decimal bound may be a JSON
    /// number or string).
    pub(super) fn bound_value(&self, bound: &serde_json::Value) -> Result<Value, String> {
        match (self.kind, bound) {
            (FieldType::Decimal, serde_json::Value::Number(n)) => {
                self.convert(&serde_json::Value::String(n.to_string()))
            }
            _ => self.convert(bound),
        }
    }

    /// Checks a converted, non-null value against the constraints.
    pub(super) fn check_constraints(&self, v: &Value) -> Result<(), String> {
        let c = &self.constraints;
        if v.is_null() {
            return Ok(());
        }
        if let Some(choices) = &c.choices {
            if !choices.iter().any(|ch| self.convert(ch).as_ref() == Ok(v)) {
                let list: Vec<String> = choices
                    .iter()
                    .filter_map(|ch| self.convert(ch).ok())
                    .map(|ch| Shown(&ch).to_string())
                    .collect();
                return Err(format!("must be one of: {}", list.join(", ")));
            }
        }
        if let Some(min) = c.min.as_ref().and_then(|m| self.bound_value(m).ok()) {
            if order(self.kind, v, &min) == Some(Ordering::Less) {
                return Err(format!("must be at least {}", Shown(&min)));
            }
        }
        if let Some(max) = c.max.as_ref().and_then(|m| self.bound_value(m).ok()) {
            if order(self.kind, v, &max) == Some(Ordering::Greater) {
                return Err(format!("must be at most {}", Shown(&max)));
            }
        }
        if let Value::Text(s) = v {
            if let Some(min) = c.min_length {
                if s.chars().count() < min {
                    return Err(format!("text shorter than {min} characters"));
                }
            }
            if let Some(p) = &c.pattern {
                if !p.is_match(s) {
                    return Err(format!("must match the pattern {}", p.source()));
                }
            }
        }
        Ok(())
    }

    /// The first mistake in the field's type parameters and constraints,
    /// as a reason for [`ModelError::InvalidOption`](super::ModelError).
    pub(super) fn constraint_mistake(&self) -> Option<String> {
        let c = &self.constraints;
        if let Some((precision, scale)) = self.decimal_digits() {
            if !(1..=MAX_DECIMAL_PRECISION).contains(&precision) {
                return Some(format!(
                    "decimal precision must be 1 to {MAX_DECIMAL_PRECISION}"
                ));
            }
            if scale > precision || scale > MAX_DECIMAL_SCALE {
                return Some(format!(
                    "decimal scale must be at most the precision and at most {MAX_DECIMAL_SCALE}"
                ));
            }
        }
        let bounded = matches!(
            self.kind,
            FieldType::Integer
                | FieldType::Float
                | FieldType::Decimal
                | FieldType::Date
                | FieldType::DateTime
        );
        if let Some(choices) = &c.choices {
            if !matches!(self.kind, FieldType::Text | FieldType::Integer) {
                return Some("choices apply to text and integer fields only".to_owned());
            }
            if choices.is_empty() {
                return Some("choices must not be empty".to_owned());
            }
            for ch in choices {
                if ch.as_str().is_some_and(|s| s.contains(['\0', '\\'])) {
                    return Some(format!(
                        "choice {ch} holds a NUL or backslash, which not every database stores in a constraint"
                    ));
                }
                let fits = self.convert(ch).and_then(|v| {
                    let mut plain = self.clone();
                    plain.constraints.choices = None;
                    plain.check_constraints(&v)
                });
                if let Err(reason) = fits {
                    return Some(format!("choice {ch} does not fit the field: {reason}"));
                }
            }
        }
        let mut bounds = Vec::new();
        for (name, bound) in [("min", &c.min), ("max", &c.max)] {
            let Some(bound) = bound else { continue };
            if !bounded {
                return Some(format!(
                    "{name} applies to integer, float, decimal, date and datetime fields only"
                ));
            }
            match self.bound_value(bound) {
                Ok(v) => bounds.push(v),
                Err(reason) => {
                    return Some(format!("{name} {bound} does not fit the field: {reason}"))
                }
            }
        }
        if let [min, max] = bounds.as_slice() {
            if order(self.kind, min, max) == Some(Ordering::Greater) {
                return Some("min is greater than max".to_owned());
            }
        }
        if let Some(min) = c.min_length {
            if self.kind != FieldType::Text {
                return Some("min_length applies to text fields only".to_owned());
            }
            if self.max_length.is_some_and(|max| min > max) {
                return Some("min_length is greater than max_length".to_owned());
            }
        }
        if let Some(p) = &c.pattern {
            if self.kind != FieldType::Text {
                return Some("pattern applies to text fields only".to_owned());
            }
            if let Some(e) = p.error() {
                return Some(e);
            }
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(f: &Field, v: serde_json::Value) -> Result<Value, String> {
        f.to_value(&v)
    }

    #[test]
    fn choices_are_checked() {
        let f = Field::text().choices(&["todo", "doing", "done"]);
        assert_eq!(check(&f, json!("doing")), Ok(Value::Text("doing".into())));
        assert_eq!(
            check(&f, json!("blocked")),
            Err("must be one of: todo, doing, done".to_owned())
        );
        let f = Field::integer().choices(&[1, 2, 3]);
        assert!(check(&f, json!(2)).is_ok());
        assert_eq!(
            check(&f, json!(4)),
            Err("must be one of: 1, 2, 3".to_owned())
        );
        let f = Field::text().nullable().choices(&["a"]);
        assert_eq!(check(&f, json!(null)), Ok(Value::Null));
    }

    #[test]
    fn bounds_are_inclusive() {
        let f = Field::integer().min(0).max(10);
        assert!(check(&f, json!(0)).is_ok());
        assert!(check(&f, json!(10)).is_ok());
        assert_eq!(check(&f, json!(-1)), Err("must be at least 0".to_owned()));
        assert_eq!(check(&f, json!(11)), Err("must be at most 10".to_owned()));
        let f = Field::float().min(0.5);
        assert!(check(&f, json!(0.5)).is_ok());
        assert_eq!(
            check(&f, json!(0.25)),
            Err("must be at least 0.5".to_owned())
        );
        let f = Field::decimal(10, 2).min(0).max("99.99");
        assert!(check(&f, json!("99.99")).is_ok());
        assert_eq!(
            check(&f, json!("-0.01")),
            Err("must be at least 0.00".to_owned())
        );
        assert_eq!(
            check(&f, json!("100")),
            Err("must be at most 99.99".to_owned())
        );
        let f = Field::date().min("2000-01-01");
        assert!(check(&f, json!("2000-01-01")).is_ok());
        assert_eq!(
            check(&f, json!("1999-12-31")),
            Err("must be at least 2000-01-01".to_owned())
        );
    }

    #[test]
    fn lengths_count_characters() {
        let f = Field::text().min_length(2).max_length(3);
        assert!(check(&f, json!("éé")).is_ok());
        assert_eq!(
            check(&f, json!("é")),
            Err("text shorter than 2 characters".to_owned())
        );
        assert!(check(&f, json!("éééé")).is_err());
    }

    #[cfg(feature = "pattern")]
    #[test]
    fn patterns_search_unless_anchored() {
        let f = Field::text().pattern(r"^[A-Z]{3}-\d{4}$");
        assert!(check(&f, json!("ABC-1234")).is_ok());
        assert_eq!(
            check(&f, json!("abc-1234")),
            Err(r"must match the pattern ^[A-Z]{3}-\d{4}$".to_owned())
        );
        let f = Field::text().pattern("b");
        assert!(check(&f, json!("abc")).is_ok());
        assert!(Field::text().pattern("(").constraint_mistake().is_some());
    }

    #[cfg(not(feature = "pattern"))]
    #[test]
    fn patterns_need_the_feature() {
        let m = Field::text().pattern("a").constraint_mistake().unwrap();
        assert!(m.contains("`pattern` feature"), "{m}");
    }

    #[test]
    fn declaration_mistakes_are_found() {
        for (f, want) in [
            (Field::integer().min(5).max(1), "min is greater than max"),
            (
                Field::float().choices(&[1.5]),
                "choices apply to text and integer fields only",
            ),
            (Field::boolean().min(0), "min applies to"),
            (
                Field::text().min_length(5).max_length(2),
                "min_length is greater than max_length",
            ),
            (
                Field::integer().min_length(1),
                "min_length applies to text fields only",
            ),
            (
                Field::integer().pattern("a"),
                "pattern applies to text fields only",
            ),
            (
                Field::text().choices::<&str>(&[]),
                "choices must not be empty",
            ),
            (
                Field::text().max_length(2).choices(&["abc"]),
                "choice \"abc\" does not fit",
            ),
            (
                Field::integer().min(0).choices(&[-1, 1]),
                "choice -1 does not fit",
            ),
            (Field::integer().min(0.5), "min 0.5 does not fit"),
            (Field::text().choices(&["a\\b"]), "backslash"),
            (Field::decimal(0, 0), "decimal precision must be 1 to 65"),
            (Field::decimal(5, 6), "decimal scale must be at most"),
            (
                Field::decimal(4, 2).max("123.4"),
                "max \"123.4\" does not fit",
            ),
        ] {
            let got = f.constraint_mistake().unwrap_or_default();
            assert!(got.contains(want), "{f:?}: {got}");
        }
        assert_eq!(
            Field::decimal(65, 30).min("-1.5").constraint_mistake(),
            None
        );
        assert_eq!(Field::integer().min(1).max(1).constraint_mistake(), None);
    }
}
