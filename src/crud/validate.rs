//! Client JSON → a [`Row`] of typed column values, collecting every bad field.
//!
//! Rules, for every mode:
//! - the body must be a JSON object, else [`ValidationErrors::NotObject`]
//!   (HTTP 400); every other problem is listed in
//!   [`ValidationErrors::Invalid`] (HTTP 422), one [`FieldError`] per field;
//! - unknown fields, read-only fields (including `id` and the scope column)
//!   and fields of the wrong type are errors;
//! - integers must fit in an `i64` (never wrapped); `1.5` is not an integer
//!   (`2.0` is); floats must be finite; texts count `max_length` in Unicode
//!   scalar values; datetimes are RFC 3339 (see [`crate::model::datetime`]);
//!   text is stored literally (NUL, emoji, SQL-looking text are just data);
//!   UUIDs, dates and decimals are stored as their canonical text;
//! - a field's constraints (choices, `min`/`max`, `min_length`, `pattern`)
//!   are checked on every value sent, each failure one field error;
//! - `null` is accepted only by nullable fields (for a JSON field too);
//! - `version` is accepted on PUT/PATCH of a versioned model, as the version
//!   the client last saw ([`Row::expected_version`]).

use std::fmt;

use super::ops::ReferenceCheck;
use crate::backend::Backend;
use crate::model::{json_kind, FieldType, Model, Value, MAX_TEXT_KEY_BYTES, VERSION_COLUMN};

/// Validated column values, ready for [`crate::crud::ops`].
///
/// The server may add values the client cannot send (a read-only
/// `created_by`, …) with [`Row::set`] before calling `ops`.
///
/// ```
/// use lightapi::backend::Value;
/// use lightapi::__private::crud::validate::Row;
/// let mut row = Row::default();
/// row.set("created_by", Value::Text("alice".into()));
/// assert_eq!(row.get("created_by"), Some(&Value::Text("alice".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    values: Vec<(String, Value)>,
    expected_version: Option<i64>,
    references: Vec<ReferenceCheck>,
}

impl Row {
    /// Sets a column, replacing any earlier value.
    pub fn set(&mut self, column: &str, value: Value) {
        if let Some(slot) = self.values.iter_mut().find(|(c, _)| c == column) {
            slot.1 = value;
        } else {
            self.values.push((column.to_owned(), value));
        }
    }

    /// The value of a column, if set.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v)
    }

    /// Takes a column's value out of the row.
    pub(crate) fn remove(&mut self, column: &str) -> Option<Value> {
        let at = self.values.iter().position(|(c, _)| c == column)?;
        Some(self.values.remove(at).1)
    }

    /// The columns set, in model order.
    pub fn values(&self) -> &[(String, Value)] {
        &self.values
    }

    /// Consumes the row into its column values.
    #[cfg_attr(not(feature = "__private"), allow(dead_code))]
    pub fn into_values(self) -> Vec<(String, Value)> {
        self.values
    }

    /// The `version` the client sent (versioned models, PUT/PATCH).
    pub fn expected_version(&self) -> Option<i64> {
        self.expected_version
    }

    /// Requires a referenced row to exist when the row is written: checked
    /// in the write's transaction, before anything is written.
    pub(crate) fn require_reference(&mut self, check: ReferenceCheck) {
        self.references.push(check);
    }

    /// The row's values and the references it requires.
    pub(crate) fn into_parts(self) -> (Vec<(String, Value)>, Vec<ReferenceCheck>) {
        (self.values, self.references)
    }
}

/// One bad field: its name and a lowercase, client-facing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field name as sent (or declared, for a missing one).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The most bad fields a `422` answer lists, so a body of thousands of
/// unknown keys gets a small answer. Past it, the problem document lists
/// the first `MAX_LISTED_FIELD_ERRORS` in its `errors` array (each bad field
/// once, declared fields first), says in a top-level `"truncated"` how many
/// more were left out, and its `detail` gives the total; the `Display` of
/// [`ValidationErrors`] stops at the same number, with "and N more".
pub const MAX_LISTED_FIELD_ERRORS: usize = 100;

/// Why a body was rejected.
///
/// ```
/// use lightapi::__private::crud::validate::{validate_create, ValidationErrors};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::integer());
/// let e = validate_create(&m, &serde_json::json!([1])).unwrap_err();
/// assert!(matches!(e, ValidationErrors::NotObject { .. }));
/// assert!(e.errors().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationErrors {
    /// The body is not a JSON object (HTTP 400).
    NotObject {
        /// What it is instead (`"an array"`, `"null"`, …).
        found: &'static str,
    },
    /// Fields are missing, unknown, read-only or invalid (HTTP 422).
    Invalid {
        /// Every bad field, declared fields first, in declaration order.
        errors: Vec<FieldError>,
    },
    /// Items of an array body (a bulk write) are bad (HTTP 422).
    Items {
        /// Every bad field of every bad item, by item.
        errors: Vec<ItemError>,
    },
}

/// One bad field of one item of an array body: the item's index (from 0)
/// and the field (empty for an item that is not a JSON object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// The item's position in the array, from 0.
    pub index: usize,
    /// The bad field.
    pub error: FieldError,
}

/// The items of an array body, each checked by `check` (given its index),
/// or every bad field of every bad item: a problem of one item does not
/// hide those of the others.
///
/// # Errors
///
/// [`ValidationErrors::Items`] listing each bad field with its item's
/// index; an item that is not an object is listed once, with no field.
///
/// ```
/// use lightapi::__private::crud::validate::{validate_create, validate_items, ValidationErrors};
/// use lightapi::model::{Field, Model};
/// use serde_json::json;
/// let m = Model::new("t").field("a", Field::integer());
/// let items = [json!({"a": 1}), json!({"a": "x"}), json!(3)];
/// let e = validate_items(&items, |_, item| validate_create(&m, item)).unwrap_err();
/// let ValidationErrors::Items { errors } = e else { panic!() };
/// let listed: Vec<(usize, &str)> = errors.iter().map(|e| (e.index, e.error.field.as_str())).collect();
/// assert_eq!(listed, [(1, "a"), (2, "")]);
/// ```
pub fn validate_items<T>(
    items: &[serde_json::Value],
    mut check: impl FnMut(usize, &serde_json::Value) -> Result<T, ValidationErrors>,
) -> Result<Vec<T>, ValidationErrors> {
    let mut out = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match check(index, item) {
            Ok(t) => out.push(t),
            Err(ValidationErrors::NotObject { found }) => errors.push(ItemError {
                index,
                error: FieldError {
                    field: String::new(),
                    message: format!("each item must be a JSON object, got {found}"),
                },
            }),
            Err(ValidationErrors::Invalid { errors: bad }) => {
                errors.extend(bad.into_iter().map(|error| ItemError { index, error }));
            }
            Err(ValidationErrors::Items { errors: bad }) => errors.extend(bad),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ValidationErrors::Items { errors })
    }
}

impl ValidationErrors {
    /// The bad fields (empty for [`ValidationErrors::NotObject`]).
    ///
    /// The bad fields of items of an array body are in
    /// [`ValidationErrors::Items`], not here.
    pub fn errors(&self) -> &[FieldError] {
        match self {
            ValidationErrors::NotObject { .. } | ValidationErrors::Items { .. } => &[],
            ValidationErrors::Invalid { errors } => errors,
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationErrors::NotObject { found } => {
                write!(f, "the body must be a JSON object, got {found}")
            }
            ValidationErrors::Invalid { errors } => {
                f.write_str("invalid fields: ")?;
                for (i, e) in errors.iter().take(MAX_LISTED_FIELD_ERRORS).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", e.field, e.message)?;
                }
                let left_out = errors.len().saturating_sub(MAX_LISTED_FIELD_ERRORS);
                if left_out > 0 {
                    write!(f, ", and {left_out} more")?;
                }
                Ok(())
            }
            ValidationErrors::Items { errors } => {
                f.write_str("invalid items: ")?;
                for (i, e) in errors.iter().take(MAX_LISTED_FIELD_ERRORS).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}.{}: {}", e.index, e.error.field, e.error.message)?;
                }
                let left_out = errors.len().saturating_sub(MAX_LISTED_FIELD_ERRORS);
                if left_out > 0 {
                    write!(f, ", and {left_out} more")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Replace,
    Patch,
}

fn validate(model: &Model, body: &serde_json::Value, mode: Mode) -> Result<Row, ValidationErrors> {
    let Some(obj) = body.as_object() else {
        return Err(ValidationErrors::NotObject {
            found: json_kind(body),
        });
    };
    let mut errors = Vec::new();
    let mut row = Row::default();
    let mut error = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.to_owned(),
            message,
        });
    };
    if let Some(field) = model.key_field() {
        // A declared key: an integer one is the database's; a text key is
        // required on create; a uuid key is generated when absent. On a
        // replace or a patch the key sent must be the row's (checked by
        // the caller, who knows the row).
        let name = model.key_column();
        match obj.get(name) {
            Some(_) if model.has_generated_key() => error(name, "read-only field".to_owned()),
            Some(json) => match field.to_value(json) {
                // A key must be able to name its row in a path.
                Ok(Value::Text(s)) if model.path_key(&s).is_none() => error(
                    name,
                    format!("a key must be 1 to {MAX_TEXT_KEY_BYTES} bytes long"),
                ),
                Ok(v) => row.values.push((name.to_owned(), v)),
                Err(message) => error(name, message),
            },
            None if mode == Mode::Create && field.field_type() == FieldType::Text => {
                error(name, "required".to_owned());
            }
            None => {}
        }
    }
    for (name, field) in model.fields() {
        match obj.get(name) {
            Some(_) if field.is_read_only() => error(name, "read-only field".to_owned()),
            Some(json) => match field.to_value(json) {
                Ok(v) => row.values.push((name.clone(), v)),
                Err(message) => error(name, message),
            },
            None if mode == Mode::Patch => {}
            // PUT leaves read-only fields as they are; create gives them
            // their default (or null), or leaves them to the server.
            None if field.is_read_only() && mode == Mode::Replace => {}
            // The database fills the column on create; PUT keeps it.
            None if field.has_database_default() => {}
            None => match field.default_value() {
                Some(default) => match field.to_value(default) {
                    Ok(v) => row.values.push((name.clone(), v)),
                    Err(message) => error(name, format!("the model default is invalid: {message}")),
                },
                None if field.is_nullable() => row.values.push((name.clone(), Value::Null)),
                None if field.is_read_only() => {}
                None => error(name, "required".to_owned()),
            },
        }
    }
    for (key, json) in obj {
        if model.field_named(key).is_some() {
            continue;
        }
        if key == VERSION_COLUMN && model.is_versioned() && mode != Mode::Create {
            match json.as_i64() {
                Some(v) => row.expected_version = Some(v),
                None => error(key, "expected an integer version".to_owned()),
            }
        } else if key == model.key_column() || (key == VERSION_COLUMN && model.is_versioned()) {
            error(key, "read-only field".to_owned());
        } else {
            error(key, "unknown field".to_owned());
        }
    }
    if errors.is_empty() {
        Ok(row)
    } else {
        Err(ValidationErrors::Invalid { errors })
    }
}

/// Validates a create (POST) body: every required field present; absent
/// optional fields get their default, or `null`.
///
/// # Errors
///
/// [`ValidationErrors`] listing every bad field.
///
/// ```
/// use lightapi::backend::Value;
/// use lightapi::__private::crud::validate::validate_create;
/// use lightapi::model::{Field, Model};
/// use serde_json::json;
///
/// let m = Model::new("person")
///     .field("name", Field::text())
///     .field("verified", Field::boolean().default(false));
/// let row = validate_create(&m, &json!({"name": "Ada"}))?;
/// assert_eq!(row.get("verified"), Some(&Value::Boolean(false)));
///
/// let err = validate_create(&m, &json!({"verified": "yes", "extra": 1})).unwrap_err();
/// let fields: Vec<&str> = err.errors().iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["name", "verified", "extra"]);
/// # Ok::<(), lightapi::error::ValidationErrors>(())
/// ```
pub fn validate_create(model: &Model, body: &serde_json::Value) -> Result<Row, ValidationErrors> {
    validate(model, body, Mode::Create)
}

/// Validates a full replace (PUT) body: every required field present;
/// absent optional fields are reset to their default, or `null`; read-only
/// fields keep their stored value.
///
/// # Errors
///
/// [`ValidationErrors`] listing every bad field.
///
/// ```
/// use lightapi::backend::Value;
/// use lightapi::__private::crud::validate::validate_replace;
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::text()).field("b", Field::integer().nullable());
/// let row = validate_replace(&m, &serde_json::json!({"a": "x"}))?;
/// assert_eq!(row.get("b"), Some(&Value::Null));
/// # Ok::<(), lightapi::error::ValidationErrors>(())
/// ```
pub fn validate_replace(model: &Model, body: &serde_json::Value) -> Result<Row, ValidationErrors> {
    validate(model, body, Mode::Replace)
}

/// Validates a partial update (PATCH) body: only the fields present change;
/// an explicit `null` clears a nullable field and is an error on a
/// non-null one.
///
/// # Errors
///
/// [`ValidationErrors`] listing every bad field.
///
/// ```
/// use lightapi::__private::crud::validate::validate_patch;
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::text()).field("b", Field::integer().nullable());
/// let row = validate_patch(&m, &serde_json::json!({"b": null}))?;
/// assert_eq!(row.values().len(), 1);
/// assert!(validate_patch(&m, &serde_json::json!({"a": null})).is_err());
/// # Ok::<(), lightapi::error::ValidationErrors>(())
/// ```
pub fn validate_patch(model: &Model, body: &serde_json::Value) -> Result<Row, ValidationErrors> {
    validate(model, body, Mode::Patch)
}

/// Refuses values `backend` cannot store as sent (PostgreSQL text holding
/// U+0000), naming each such field, rather than letting them be altered.
///
/// # Errors
///
/// [`ValidationErrors::Invalid`] with one [`FieldError`] per such field.
pub fn check_storable(backend: &dyn Backend, row: &Row) -> Result<(), ValidationErrors> {
    let errors: Vec<FieldError> = row
        .values()
        .iter()
        .filter_map(|(name, v)| {
            backend.refusal(v).map(|reason| FieldError {
                field: name.clone(),
                message: reason.to_owned(),
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors::Invalid { errors })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::Field;
    use serde_json::json;

    #[test]
    fn display_stops_at_the_listing_cap() {
        let errors: Vec<FieldError> = (0..MAX_LISTED_FIELD_ERRORS + 50)
            .map(|i| FieldError {
                field: format!("k{i}"),
                message: "unknown field".into(),
            })
            .collect();
        let shown = ValidationErrors::Invalid { errors }.to_string();
        assert!(shown.ends_with(", and 50 more"), "{shown}");
        assert!(shown.contains(&format!("k{}: ", MAX_LISTED_FIELD_ERRORS - 1)));
        assert!(!shown.contains(&format!("k{}: ", MAX_LISTED_FIELD_ERRORS)));
    }

    fn model() -> Model {
        Model::new("t")
            .field("i", Field::integer())
            .field("f", Field::float().nullable())
            .field("s", Field::text().max_length(5).nullable())
            .field("b", Field::boolean().default(true))
            .field("d", Field::datetime().nullable())
            .field("j", Field::json().nullable())
            .field("ro", Field::text().nullable().read_only())
            .field("wo", Field::text().nullable().write_only())
    }

    fn messages(r: Result<Row, ValidationErrors>) -> Vec<(String, String)> {
        r.unwrap_err()
            .errors()
            .iter()
            .map(|e| (e.field.clone(), e.message.clone()))
            .collect()
    }

    fn field_names(r: Result<Row, ValidationErrors>) -> Vec<String> {
        messages(r).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn non_objects_are_a_distinct_error() {
        for body in [json!(null), json!([]), json!("x"), json!(1), json!(true)] {
            for r in [
                validate_create(&model(), &body),
                validate_replace(&model(), &body),
                validate_patch(&model(), &body),
            ] {
                assert!(matches!(r, Err(ValidationErrors::NotObject { .. })));
            }
        }
    }

    #[test]
    fn create_fills_defaults_and_nulls() {
        let row = validate_create(&model(), &json!({"i": 1})).unwrap();
        assert_eq!(
            row.values(),
            &[
                ("i".to_owned(), Value::Integer(1)),
                ("f".to_owned(), Value::Null),
                ("s".to_owned(), Value::Null),
                ("b".to_owned(), Value::Boolean(true)),
                ("d".to_owned(), Value::Null),
                ("j".to_owned(), Value::Null),
                ("ro".to_owned(), Value::Null),
                ("wo".to_owned(), Value::Null),
            ]
        );
    }

    #[test]
    fn collects_every_bad_field() {
        let body = json!({
            "f": "x",
            "s": "toolong",
            "b": 1,
            "d": "2024-02-30T00:00:00Z",
            "ro": "x",
            "id": 3,
            "zzz": 1,
        });
        let got = messages(validate_create(&model(), &body));
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["i", "f", "s", "b", "d", "ro", "id", "zzz"]);
        assert_eq!(got[0].1, "required");
        assert_eq!(got[1].1, "expected a number, got a string");
        assert_eq!(got[2].1, "text longer than 5 characters");
        assert_eq!(got[3].1, "expected a boolean, got a number");
        assert!(got[4].1.starts_with("expected an RFC 3339 datetime"));
        assert_eq!(got[5].1, "read-only field");
        assert_eq!(got[6].1, "read-only field");
        assert_eq!(got[7].1, "unknown field");
        for (_, m) in &got {
            assert!(m.starts_with(char::is_lowercase) && !m.ends_with('.'));
        }
    }

    #[test]
    fn integers_never_wrap() {
        let m = Model::new("t").field("i", Field::integer());
        let parse = |text: &str| {
            let body: serde_json::Value = serde_json::from_str(text).unwrap();
            validate_create(&m, &body).map(|r| r.get("i").cloned())
        };
        assert_eq!(
            parse(r#"{"i": 9223372036854775807}"#).unwrap(),
            Some(Value::Integer(i64::MAX))
        );
        assert_eq!(
            parse(r#"{"i": -9223372036854775808}"#).unwrap(),
            Some(Value::Integer(i64::MIN))
        );
        assert_eq!(parse(r#"{"i": 2.0}"#).unwrap(), Some(Value::Integer(2)));
        for bad in [
            r#"{"i": 9223372036854775808}"#,
            r#"{"i": 18446744073709551615}"#,
            r#"{"i": 99999999999999999999}"#,
            r#"{"i": -99999999999999999999}"#,
            r#"{"i": 1e300}"#,
            r#"{"i": 1.5}"#,
            r#"{"i": "1"}"#,
            r#"{"i": true}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let msg = messages(parse(r#"{"i": 99999999999999999999}"#).map(|_| Row::default()));
        assert_eq!(msg[0].1, "integer out of the 64-bit range");
        let msg = messages(parse(r#"{"i": 1.5}"#).map(|_| Row::default()));
        assert_eq!(msg[0].1, "expected an integer, got a fractional number");
    }

    #[test]
    fn floats_text_datetime_json() {
        let m = model();
        let row = validate_patch(
            &m,
            &json!({"f": 3, "s": "😀😀😀😀😀", "d": "2024-02-29T01:00:00+01:00", "j": {"k": [1, null]}}),
        )
        .unwrap();
        assert_eq!(row.get("f"), Some(&Value::Float(3.0)));
        assert_eq!(row.get("s"), Some(&Value::Text("😀😀😀😀😀".into())));
        assert_eq!(
            row.get("d"),
            Some(&Value::DateTime(
                crate::model::datetime::parse_rfc3339("2024-02-29T00:00:00Z").unwrap()
            ))
        );
        assert_eq!(row.get("j"), Some(&Value::Json(json!({"k": [1, null]}))));
        let row = validate_patch(&m, &json!({"s": "\u{0}';--"})).unwrap();
        assert_eq!(row.get("s"), Some(&Value::Text("\u{0}';--".into())));
        assert_eq!(
            field_names(validate_patch(&m, &json!({"j": null, "d": 5, "s": 1}))),
            ["s", "d"]
        );
        let strict = Model::new("t").field("j", Field::json());
        assert!(validate_patch(&strict, &json!({"j": null})).is_err());
        assert!(validate_patch(&strict, &json!({"j": false})).is_ok());
    }

    #[test]
    fn replace_resets_optional_fields_and_keeps_read_only() {
        let row = validate_replace(&model(), &json!({"i": 1, "s": "x"})).unwrap();
        assert_eq!(row.get("b"), Some(&Value::Boolean(true)));
        assert_eq!(row.get("f"), Some(&Value::Null));
        assert_eq!(row.get("ro"), None);
        assert_eq!(field_names(validate_replace(&model(), &json!({}))), ["i"]);
    }

    #[test]
    fn patch_only_sets_present_fields() {
        let row = validate_patch(&model(), &json!({})).unwrap();
        assert!(row.values().is_empty());
        let row = validate_patch(&model(), &json!({"f": null})).unwrap();
        assert_eq!(row.values(), &[("f".to_owned(), Value::Null)]);
        assert_eq!(
            messages(validate_patch(&model(), &json!({"i": null}))),
            [("i".to_owned(), "must not be null".to_owned())]
        );
    }

    #[test]
    fn version_and_scope_columns() {
        let m = Model::new("t")
            .field("a", Field::text())
            .versioned()
            .scope("owner", "sub");
        let row = validate_patch(&m, &json!({"version": 3})).unwrap();
        assert_eq!(row.expected_version(), Some(3));
        assert_eq!(
            field_names(validate_create(&m, &json!({"a": "x", "version": 1}))),
            ["version"]
        );
        assert_eq!(
            field_names(validate_patch(&m, &json!({"version": "3"}))),
            ["version"]
        );
        assert_eq!(
            field_names(validate_create(&m, &json!({"a": "x", "owner": "eve"}))),
            ["owner"]
        );
        let row = validate_create(&m, &json!({"a": "x"})).unwrap();
        assert_eq!(row.get("owner"), None);
        let plain = Model::new("t");
        assert_eq!(
            field_names(validate_patch(&plain, &json!({"version": 1}))),
            ["version"]
        );
    }
}
