//! Model declaration: the table a REST resource is stored in.
//!
//! A [`Model`] is a table name plus an ordered list of [`Field`]s. The `id`
//! column is implicit (an integer primary key assigned by the database), so a
//! field named `id` is a declaration error. Declaration mistakes are reported
//! by [`Model::check`] (and [`check_models`] for cross-model checks such as
//! foreign keys), never by a panic.
//!
//! ```
//! use lightapi::model::{Field, Model};
//!
//! let person = Model::new("person")
//!     .field("name", Field::text())
//!     .field("email", Field::text().unique())
//!     .field("email_verified", Field::boolean().default(false));
//! assert!(person.check().is_ok());
//! ```

pub mod datetime;

use std::fmt;

use crate::backend::Value;

/// Longest identifier accepted, in bytes (PostgreSQL's limit).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Name of the implicit primary-key column.
pub const ID_COLUMN: &str = "id";

/// Name of the optimistic-locking column of a [`Model::versioned`] model.
pub const VERSION_COLUMN: &str = "version";

/// The storage type of a field (and of a column read back from the database).
///
/// ```
/// use lightapi::model::{Field, FieldType};
///
/// assert_eq!(Field::datetime().field_type(), FieldType::DateTime);
/// assert_eq!(FieldType::Json.name(), "json");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// A 64-bit signed integer.
    Integer,
    /// A finite 64-bit float.
    Float,
    /// UTF-8 text, optionally limited by [`Field::max_length`].
    Text,
    /// `true` or `false`.
    Boolean,
    /// An instant, RFC 3339 text on the wire, microseconds since the epoch (UTC) inside.
    DateTime,
    /// Any JSON value.
    Json,
}

impl FieldType {
    /// The lowercase name used in messages (`"integer"`, `"datetime"`, …).
    ///
    /// ```
    /// assert_eq!(lightapi::model::FieldType::Integer.name(), "integer");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Text => "text",
            FieldType::Boolean => "boolean",
            FieldType::DateTime => "datetime",
            FieldType::Json => "json",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One declared column: its type and options. Built with the constructors
/// ([`Field::text`], …) and chained options.
///
/// Fields are non-null by default; a non-null field without a default is
/// required on create and on full replace (PUT).
///
/// ```
/// use lightapi::model::Field;
///
/// let f = Field::text().max_length(80).nullable();
/// assert!(f.is_nullable());
/// assert_eq!(f.max_length_chars(), Some(80));
/// assert!(!f.is_required());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    kind: FieldType,
    nullable: bool,
    default: Option<serde_json::Value>,
    unique: bool,
    index: bool,
    max_length: Option<usize>,
    references: Option<String>,
    read_only: bool,
    write_only: bool,
}

impl Field {
    fn of(kind: FieldType) -> Field {
        Field {
            kind,
            nullable: false,
            default: None,
            unique: false,
            index: false,
            max_length: None,
            references: None,
            read_only: false,
            write_only: false,
        }
    }

    /// A 64-bit integer field.
    ///
    /// ```
    /// let age = lightapi::model::Field::integer().nullable();
    /// # assert!(age.is_nullable());
    /// ```
    pub fn integer() -> Field {
        Field::of(FieldType::Integer)
    }

    /// A float field (finite values only).
    ///
    /// ```
    /// let score = lightapi::model::Field::float().default(0.5);
    /// # assert!(score.default_value().is_some());
    /// ```
    pub fn float() -> Field {
        Field::of(FieldType::Float)
    }

    /// A text field.
    ///
    /// ```
    /// let name = lightapi::model::Field::text().max_length(100);
    /// # assert_eq!(name.max_length_chars(), Some(100));
    /// ```
    pub fn text() -> Field {
        Field::of(FieldType::Text)
    }

    /// A boolean field.
    ///
    /// ```
    /// let verified = lightapi::model::Field::boolean().default(false);
    /// # assert!(!verified.is_required());
    /// ```
    pub fn boolean() -> Field {
        Field::of(FieldType::Boolean)
    }

    /// A datetime field (RFC 3339 on the wire; see [`datetime`]).
    ///
    /// ```
    /// let at = lightapi::model::Field::datetime().default("2024-01-01T00:00:00Z");
    /// # assert!(at.default_value().is_some());
    /// ```
    pub fn datetime() -> Field {
        Field::of(FieldType::DateTime)
    }

    /// A JSON field holding any JSON value.
    ///
    /// ```
    /// let extra = lightapi::model::Field::json().nullable();
    /// # assert!(extra.is_nullable());
    /// ```
    pub fn json() -> Field {
        Field::of(FieldType::Json)
    }

    /// Allows `null` (stored as SQL `NULL`). A nullable field is never required.
    ///
    /// ```
    /// assert!(lightapi::model::Field::text().nullable().is_nullable());
    /// ```
    pub fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }

    /// The value used when the field is absent on create or PUT. Its type is
    /// checked by [`Model::check`] (a datetime default is an RFC 3339 string).
    ///
    /// ```
    /// let f = lightapi::model::Field::integer().default(7);
    /// assert_eq!(f.default_value(), Some(&serde_json::json!(7)));
    /// ```
    pub fn default(mut self, value: impl Into<serde_json::Value>) -> Field {
        self.default = Some(value.into());
        self
    }

    /// Adds a unique constraint; a duplicate value is a conflict.
    ///
    /// ```
    /// assert!(lightapi::model::Field::text().unique().is_unique());
    /// ```
    pub fn unique(mut self) -> Field {
        self.unique = true;
        self
    }

    /// Adds a (non-unique) index on the column.
    ///
    /// ```
    /// assert!(lightapi::model::Field::integer().index().is_indexed());
    /// ```
    pub fn index(mut self) -> Field {
        self.index = true;
        self
    }

    /// Limits a text field to `chars` Unicode scalar values (not bytes).
    /// Only valid on text fields; `0` is a declaration error.
    ///
    /// ```
    /// assert_eq!(lightapi::model::Field::text().max_length(3).max_length_chars(), Some(3));
    /// ```
    pub fn max_length(mut self, chars: usize) -> Field {
        self.max_length = Some(chars);
        self
    }

    /// Makes the field a foreign key to the `id` of another model's table.
    ///
    /// ```
    /// let author = lightapi::model::Field::integer().references("person");
    /// assert_eq!(author.referenced_table(), Some("person"));
    /// ```
    pub fn references(mut self, table: &str) -> Field {
        self.references = Some(table.to_owned());
        self
    }

    /// Never accepted from clients (sending it is a validation error); still
    /// returned. Its value comes from the default, or from the server.
    ///
    /// ```
    /// assert!(lightapi::model::Field::text().nullable().read_only().is_read_only());
    /// ```
    pub fn read_only(mut self) -> Field {
        self.read_only = true;
        self
    }

    /// Accepted from clients but never returned (e.g. a password hash).
    ///
    /// ```
    /// assert!(lightapi::model::Field::text().write_only().is_write_only());
    /// ```
    pub fn write_only(mut self) -> Field {
        self.write_only = true;
        self
    }

    /// The storage type.
    pub fn field_type(&self) -> FieldType {
        self.kind
    }

    /// Whether `null` is accepted.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// The declared default, if any.
    pub fn default_value(&self) -> Option<&serde_json::Value> {
        self.default.as_ref()
    }

    /// Whether the column carries a unique constraint.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// Whether the column is indexed (unique columns are indexed implicitly).
    pub fn is_indexed(&self) -> bool {
        self.index
    }

    /// The maximum length in characters of a text field.
    pub fn max_length_chars(&self) -> Option<usize> {
        self.max_length
    }

    /// The table this field references, if it is a foreign key.
    pub fn referenced_table(&self) -> Option<&str> {
        self.references.as_deref()
    }

    /// Whether clients may not send the field.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether the field is left out of every response.
    pub fn is_write_only(&self) -> bool {
        self.write_only
    }

    /// Whether a client must send the field on create and PUT: writable,
    /// non-null and without default.
    ///
    /// ```
    /// use lightapi::model::Field;
    /// assert!(Field::text().is_required());
    /// assert!(!Field::text().default("x").is_required());
    /// assert!(!Field::text().nullable().is_required());
    /// ```
    pub fn is_required(&self) -> bool {
        !self.read_only && !self.nullable && self.default.is_none()
    }

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
        }
    }

    /// Converts a JSON value to the stored [`Value`] for this field, with
    /// the same rules as body validation (`null` only if nullable, integers
    /// within `i64`, `max_length`, RFC 3339 datetimes).
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

/// Row scoping rule: the column must equal one claim of the caller's token.
///
/// ```
/// use lightapi::model::Model;
/// let m = Model::new("note").scope("owner_id", "sub");
/// let rule = m.scope_rule().unwrap();
/// assert_eq!((rule.column(), rule.claim()), ("owner_id", "sub"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRule {
    column: String,
    claim: String,
}

impl ScopeRule {
    /// The scoped column.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The claim whose value the column must equal.
    pub fn claim(&self) -> &str {
        &self.claim
    }
}

/// A table declaration: name, fields in declaration order and options.
///
/// Columns are stored in this order: `id`, the fields (including an implicit
/// scope column, see [`Model::scope`]), then `version` for a versioned model.
///
/// ```
/// use lightapi::model::{Field, Model};
///
/// let note = Model::new("note")
///     .field("title", Field::text().max_length(200))
///     .field("body", Field::text().default(""))
///     .versioned()
///     .scope("owner_id", "sub");
/// note.check()?;
/// let names: Vec<&str> = note.fields().iter().map(|(n, _)| n.as_str()).collect();
/// assert_eq!(names, ["title", "body", "owner_id"]);
/// # Ok::<(), lightapi::model::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    name: String,
    fields: Vec<(String, Field)>,
    /// Names declared twice, reported by `check`.
    duplicates: Vec<String>,
    versioned: bool,
    require_if_match: bool,
    scope: Option<ScopeRule>,
    /// The scope column was added implicitly (not declared as a field).
    implicit_scope: bool,
}

impl Model {
    /// Starts a model stored in table `name`.
    ///
    /// ```
    /// let m = lightapi::model::Model::new("person");
    /// assert_eq!(m.name(), "person");
    /// ```
    pub fn new(name: &str) -> Model {
        Model {
            name: name.to_owned(),
            fields: Vec::new(),
            duplicates: Vec::new(),
            versioned: false,
            require_if_match: false,
            scope: None,
            implicit_scope: false,
        }
    }

    /// Adds a field. Declaring a name twice is reported by [`Model::check`].
    ///
    /// ```
    /// use lightapi::model::{Field, Model};
    /// let m = Model::new("t").field("a", Field::integer()).field("a", Field::text());
    /// assert!(m.check().is_err());
    /// ```
    pub fn field(mut self, name: &str, field: Field) -> Model {
        let scope_col = self.scope.as_ref().map(|s| s.column.as_str());
        if let Some(pos) = self.fields.iter().position(|(n, _)| n == name) {
            if self.implicit_scope && scope_col == Some(name) {
                // The declaration replaces the implicit scope column.
                self.implicit_scope = false;
                if let Some(slot) = self.fields.get_mut(pos) {
                    slot.1 = field.read_only();
                }
            } else {
                self.duplicates.push(name.to_owned());
            }
            return self;
        }
        let field = if scope_col == Some(name) {
            field.read_only()
        } else {
            field
        };
        self.fields.push((name.to_owned(), field));
        self
    }

    /// Adds an integer `version` column for optimistic locking: 1 on create,
    /// incremented by every write; a PUT/PATCH body whose `version` is not the
    /// current one is a version conflict.
    ///
    /// ```
    /// assert!(lightapi::model::Model::new("t").versioned().is_versioned());
    /// ```
    pub fn versioned(mut self) -> Model {
        self.versioned = true;
        self
    }

    /// Requires `If-Match` on PUT, PATCH and DELETE (the HTTP layer answers 428).
    ///
    /// ```
    /// assert!(lightapi::model::Model::new("t").require_if_match().requires_if_match());
    /// ```
    pub fn require_if_match(mut self) -> Model {
        self.require_if_match = true;
        self
    }

    /// Scopes rows to their owner: `column` must equal the caller's `claim`.
    /// The column is filled from the claim on create and never accepted from
    /// clients. If `column` is not declared as a field, a non-null indexed
    /// text column is added for it.
    ///
    /// ```
    /// use lightapi::model::{Field, Model};
    /// let m = Model::new("note").field("owner_id", Field::integer()).scope("owner_id", "sub");
    /// let (_, f) = &m.fields()[0];
    /// assert!(f.is_read_only());
    /// ```
    pub fn scope(mut self, column: &str, claim: &str) -> Model {
        if self.implicit_scope {
            if let Some(old) = &self.scope {
                let old = old.column.clone();
                self.fields.retain(|(n, _)| *n != old);
            }
            self.implicit_scope = false;
        }
        self.scope = Some(ScopeRule {
            column: column.to_owned(),
            claim: claim.to_owned(),
        });
        if let Some((_, f)) = self.fields.iter_mut().find(|(n, _)| n == column) {
            f.read_only = true;
        } else {
            self.fields
                .push((column.to_owned(), Field::text().index().read_only()));
            self.implicit_scope = true;
        }
        self
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fields in declaration order (without `id` and `version`).
    pub fn fields(&self) -> &[(String, Field)] {
        &self.fields
    }

    /// Looks a field up by name.
    ///
    /// ```
    /// use lightapi::model::{Field, Model};
    /// let m = Model::new("t").field("a", Field::integer());
    /// assert!(m.field_named("a").is_some());
    /// assert!(m.field_named("id").is_none());
    /// ```
    pub fn field_named(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// Whether the model has a `version` column.
    pub fn is_versioned(&self) -> bool {
        self.versioned
    }

    /// Whether PUT/PATCH/DELETE must carry `If-Match`.
    pub fn requires_if_match(&self) -> bool {
        self.require_if_match
    }

    /// The row scoping rule, if any.
    pub fn scope_rule(&self) -> Option<&ScopeRule> {
        self.scope.as_ref()
    }

    /// Checks the declaration on its own: identifiers, duplicates, reserved
    /// names, option combinations and default types. A foreign key may only
    /// name this model's own table here; use [`check_models`] to check
    /// references between models.
    ///
    /// # Errors
    ///
    /// The first declaration mistake found, as a [`ModelError`].
    ///
    /// ```
    /// use lightapi::model::{Field, Model, ModelError};
    /// let bad = Model::new("person").field("age", Field::integer().default("old"));
    /// assert!(matches!(bad.check(), Err(ModelError::InvalidDefault { .. })));
    /// ```
    pub fn check(&self) -> Result<(), ModelError> {
        self.check_against(&[self.name.as_str()])
    }

    fn check_against(&self, tables: &[&str]) -> Result<(), ModelError> {
        check_identifier(&self.name)?;
        if let Some(dup) = self.duplicates.first() {
            return Err(ModelError::DuplicateField {
                model: self.name.clone(),
                field: dup.clone(),
            });
        }
        for (name, field) in &self.fields {
            check_identifier(name)?;
            let reserved = name.eq_ignore_ascii_case(ID_COLUMN)
                || (self.versioned && name.eq_ignore_ascii_case(VERSION_COLUMN));
            if reserved {
                return Err(ModelError::ReservedField {
                    model: self.name.clone(),
                    field: name.clone(),
                });
            }
            if let Some(other) = self.fields.iter().find(|(n, _)| {
                n != name && n.eq_ignore_ascii_case(name) && n.as_str() > name.as_str()
            }) {
                return Err(ModelError::DuplicateField {
                    model: self.name.clone(),
                    field: other.0.clone(),
                });
            }
            let option_error = |reason: &str| ModelError::InvalidOption {
                model: self.name.clone(),
                field: name.clone(),
                reason: reason.to_owned(),
            };
            match field.max_length {
                Some(_) if field.kind != FieldType::Text => {
                    return Err(option_error("max_length applies to text fields only"))
                }
                Some(0) => return Err(option_error("max_length must be at least 1")),
                _ => {}
            }
            if field.read_only && field.write_only {
                return Err(option_error(
                    "a field cannot be both read-only and write-only",
                ));
            }
            if let Some(table) = &field.references {
                check_identifier(table)?;
                if field.kind != FieldType::Integer {
                    return Err(option_error("a foreign key must be an integer field"));
                }
                if !tables.contains(&table.as_str()) {
                    return Err(ModelError::UnknownReference {
                        model: self.name.clone(),
                        field: name.clone(),
                        table: table.clone(),
                    });
                }
            }
            if let Some(default) = &field.default {
                if let Err(reason) = field.to_value(default) {
                    return Err(ModelError::InvalidDefault {
                        model: self.name.clone(),
                        field: name.clone(),
                        reason,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Checks several models together: each one as by [`Model::check`], table
/// names distinct, and every foreign key naming one of these tables.
///
/// # Errors
///
/// The first declaration mistake found.
///
/// ```
/// use lightapi::model::{check_models, Field, Model};
/// let person = Model::new("person").field("name", Field::text());
/// let post = Model::new("post").field("author", Field::integer().references("person"));
/// assert!(check_models(&[person.clone(), post.clone()]).is_ok());
/// assert!(check_models(&[post]).is_err());
/// ```
pub fn check_models(models: &[Model]) -> Result<(), ModelError> {
    let tables: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    for (i, m) in models.iter().enumerate() {
        if tables
            .iter()
            .take(i)
            .any(|t| t.eq_ignore_ascii_case(&m.name))
        {
            return Err(ModelError::DuplicateModel {
                name: m.name.clone(),
            });
        }
        m.check_against(&tables)?;
    }
    Ok(())
}

/// Checks that `name` is a valid identifier: `[A-Za-z_][A-Za-z0-9_]*`, at
/// most [`MAX_IDENTIFIER_BYTES`] bytes.
///
/// # Errors
///
/// [`ModelError::InvalidIdentifier`] otherwise.
///
/// ```
/// use lightapi::model::check_identifier;
/// assert!(check_identifier("email_verified").is_ok());
/// assert!(check_identifier("1abc").is_err());
/// assert!(check_identifier("a; DROP TABLE x").is_err());
/// ```
pub fn check_identifier(name: &str) -> Result<(), ModelError> {
    let bytes = name.as_bytes();
    let ok = match bytes.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
                && bytes.len() <= MAX_IDENTIFIER_BYTES
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidIdentifier {
            name: name.to_owned(),
        })
    }
}

/// A declaration mistake in a [`Model`].
///
/// ```
/// use lightapi::model::{Field, Model};
/// let err = Model::new("t").field("id", Field::integer()).check().unwrap_err();
/// assert_eq!(err.to_string(), "model `t`: field `id` is reserved");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// A table or field name that is not `[A-Za-z_][A-Za-z0-9_]*` of at most 63 bytes.
    InvalidIdentifier {
        /// The offending name.
        name: String,
    },
    /// A field declared twice (names compare case-insensitively).
    DuplicateField {
        /// The model.
        model: String,
        /// The field.
        field: String,
    },
    /// `id`, or `version` on a versioned model.
    ReservedField {
        /// The model.
        model: String,
        /// The field.
        field: String,
    },
    /// A default that does not fit the field.
    InvalidDefault {
        /// The model.
        model: String,
        /// The field.
        field: String,
        /// Why it does not fit.
        reason: String,
    },
    /// An option that does not apply (e.g. `max_length` on an integer).
    InvalidOption {
        /// The model.
        model: String,
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A foreign key to a table that is not declared.
    UnknownReference {
        /// The model.
        model: String,
        /// The field.
        field: String,
        /// The unknown table.
        table: String,
    },
    /// Two models with the same table name.
    DuplicateModel {
        /// The table name.
        name: String,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::InvalidIdentifier { name } => write!(
                f,
                "invalid identifier {name:?}: expected [A-Za-z_][A-Za-z0-9_]* of at most {MAX_IDENTIFIER_BYTES} bytes"
            ),
            ModelError::DuplicateField { model, field } => {
                write!(f, "model `{model}`: field `{field}` is declared twice")
            }
            ModelError::ReservedField { model, field } => {
                write!(f, "model `{model}`: field `{field}` is reserved")
            }
            ModelError::InvalidDefault {
                model,
                field,
                reason,
            } => write!(f, "model `{model}`: default of field `{field}` {reason}"),
            ModelError::InvalidOption {
                model,
                field,
                reason,
            } => write!(f, "model `{model}`: field `{field}`: {reason}"),
            ModelError::UnknownReference {
                model,
                field,
                table,
            } => write!(
                f,
                "model `{model}`: field `{field}` references unknown table `{table}`"
            ),
            ModelError::DuplicateModel { name } => write!(f, "model `{name}` is declared twice"),
        }
    }
}

impl std::error::Error for ModelError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(m: &Model) -> ModelError {
        m.check().unwrap_err()
    }

    #[test]
    fn accepts_the_person_model() {
        let person = Model::new("person")
            .field("name", Field::text())
            .field("email", Field::text().unique())
            .field("email_verified", Field::boolean().default(false));
        person.check().unwrap();
    }

    #[test]
    fn rejects_bad_identifiers() {
        for bad in ["", "1a", "a-b", "a b", "é", "a\"b", &"x".repeat(64)] {
            assert!(
                matches!(
                    err(&Model::new("t").field(bad, Field::text())),
                    ModelError::InvalidIdentifier { .. }
                ),
                "{bad:?}"
            );
        }
        assert!(Model::new("x".repeat(63).as_str()).check().is_ok());
        assert!(Model::new("bad name").check().is_err());
    }

    #[test]
    fn rejects_duplicates_and_reserved_names() {
        let m = Model::new("t")
            .field("a", Field::text())
            .field("a", Field::text());
        assert!(matches!(err(&m), ModelError::DuplicateField { .. }));
        let m = Model::new("t")
            .field("a", Field::text())
            .field("A", Field::text());
        assert!(matches!(err(&m), ModelError::DuplicateField { .. }));
        let m = Model::new("t").field("ID", Field::integer());
        assert!(matches!(err(&m), ModelError::ReservedField { .. }));
        let m = Model::new("t").field("version", Field::integer());
        assert!(m.check().is_ok());
        assert!(matches!(
            err(&m.versioned()),
            ModelError::ReservedField { .. }
        ));
    }

    #[test]
    fn rejects_defaults_of_the_wrong_type() {
        let cases = [
            Field::integer().default("x"),
            Field::integer().default(1.5),
            Field::float().default(true),
            Field::text().default(3),
            Field::text().max_length(2).default("abc"),
            Field::boolean().default(0),
            Field::datetime().default("yesterday"),
            Field::text().default(serde_json::Value::Null),
        ];
        for f in cases {
            let m = Model::new("t").field("f", f.clone());
            assert!(
                matches!(err(&m), ModelError::InvalidDefault { .. }),
                "{f:?}"
            );
        }
        let ok = Model::new("t")
            .field("a", Field::integer().default(1))
            .field("b", Field::float().default(2))
            .field("c", Field::datetime().default("2020-02-29T12:00:00+02:00"))
            .field("d", Field::json().default(json!({"k": [1]})))
            .field(
                "e",
                Field::text().nullable().default(serde_json::Value::Null),
            );
        ok.check().unwrap();
    }

    #[test]
    fn checks_options_and_references() {
        let m = Model::new("t").field("a", Field::integer().max_length(3));
        assert!(matches!(err(&m), ModelError::InvalidOption { .. }));
        let m = Model::new("t").field("a", Field::text().max_length(0));
        assert!(matches!(err(&m), ModelError::InvalidOption { .. }));
        let m = Model::new("t").field("a", Field::text().read_only().write_only());
        assert!(matches!(err(&m), ModelError::InvalidOption { .. }));
        let m = Model::new("t").field("a", Field::integer().references("other"));
        assert!(matches!(err(&m), ModelError::UnknownReference { .. }));
        let m = Model::new("t").field("parent", Field::integer().nullable().references("t"));
        m.check().unwrap();
        let other = Model::new("other");
        let m = Model::new("t").field("a", Field::integer().references("other"));
        check_models(&[other.clone(), m]).unwrap();
        assert!(matches!(
            check_models(&[other.clone(), other]),
            Err(ModelError::DuplicateModel { .. })
        ));
    }

    #[test]
    fn scope_column_is_implicit_or_declared_and_read_only() {
        let m = Model::new("n")
            .scope("owner", "sub")
            .field("title", Field::text());
        assert_eq!(m.fields()[0].0, "owner");
        assert!(m.fields()[0].1.is_read_only());
        assert_eq!(m.fields()[0].1.field_type(), FieldType::Text);
        let m = Model::new("n")
            .scope("owner", "sub")
            .field("owner", Field::integer());
        assert_eq!(m.fields().len(), 1);
        assert_eq!(m.fields()[0].1.field_type(), FieldType::Integer);
        assert!(m.fields()[0].1.is_read_only());
        m.check().unwrap();
        let m = Model::new("n").scope("a", "sub").scope("b", "sub");
        assert_eq!(m.fields().len(), 1);
        assert_eq!(m.fields()[0].0, "b");
    }

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

    #[test]
    fn display_is_lowercase_without_period() {
        let e = ModelError::UnknownReference {
            model: "t".into(),
            field: "f".into(),
            table: "x".into(),
        };
        let s = e.to_string();
        assert!(s.starts_with(char::is_lowercase) && !s.ends_with('.'));
    }
}
