//! Field declarations: a column's type and options.

use std::fmt;

use super::constraint::{Constraints, Pattern};

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
    /// A UUID: canonical hyphenated lower-case text on the wire.
    Uuid,
    /// A calendar date, `YYYY-MM-DD` text on the wire.
    Date,
    /// An exact decimal of a declared precision and scale (see
    /// [`Field::decimal`]), a JSON string on the wire.
    Decimal,
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
            FieldType::Uuid => "uuid",
            FieldType::Date => "date",
            FieldType::Decimal => "decimal",
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
    pub(super) kind: FieldType,
    pub(super) nullable: bool,
    pub(super) default: Option<serde_json::Value>,
    pub(super) unique: bool,
    pub(super) unique_in_scope: bool,
    pub(super) index: bool,
    pub(super) max_length: Option<usize>,
    pub(super) references: Option<String>,
    /// The key column of the referenced table, once linked
    /// ([`Model::link_references`](super::Model::link_references)).
    pub(super) referenced_key: Option<String>,
    pub(super) on_delete: Option<OnDelete>,
    pub(super) server_set: Option<ServerSet>,
    pub(super) read_only: bool,
    pub(super) write_only: bool,
    /// Precision and scale of a decimal field.
    pub(super) digits: Option<(u32, u32)>,
    pub(super) constraints: Constraints,
    /// The existing table fills the column when a create leaves it out.
    pub(super) database_default: bool,
}

impl Field {
    fn of(kind: FieldType) -> Field {
        Field {
            kind,
            nullable: false,
            default: None,
            unique: false,
            unique_in_scope: false,
            index: false,
            max_length: None,
            references: None,
            referenced_key: None,
            on_delete: None,
            server_set: None,
            read_only: false,
            write_only: false,
            digits: None,
            constraints: Constraints::default(),
            database_default: false,
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

    /// A datetime field (RFC 3339 on the wire; see [`datetime`](super::datetime)).
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

    /// A UUID field: the hyphenated form of 32 hexadecimal digits, sent in
    /// any case and stored and returned lower-cased (`uuid` on PostgreSQL,
    /// `CHAR(36)` on MySQL/MariaDB, text on SQLite).
    ///
    /// ```
    /// use lightapi::backend::Value;
    /// let f = lightapi::model::Field::uuid();
    /// let v = f.to_value(&serde_json::json!("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
    /// assert_eq!(v, Ok(Value::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())));
    /// ```
    pub fn uuid() -> Field {
        Field::of(FieldType::Uuid)
    }

    /// A calendar date field, `YYYY-MM-DD` (years 0000–9999, checked
    /// against the calendar; `DATE` on PostgreSQL and MySQL/MariaDB, text
    /// on SQLite, where the text orders as the dates do).
    ///
    /// ```
    /// let f = lightapi::model::Field::date();
    /// assert!(f.to_value(&serde_json::json!("2024-02-29")).is_ok());
    /// assert!(f.to_value(&serde_json::json!("2023-02-29")).is_err());
    /// ```
    pub fn date() -> Field {
        Field::of(FieldType::Date)
    }

    /// An exact decimal field with `precision` significant digits, `scale`
    /// of them after the point (as SQL's `DECIMAL(p, s)`; precision 1–65,
    /// scale at most 30 and at most the precision). Never converted
    /// through a float: sent and returned as a JSON string such as
    /// `"12.50"`, returned with exactly `scale` fraction digits. Stored as
    /// `NUMERIC(p,s)` on PostgreSQL, `DECIMAL(p,s)` on MySQL/MariaDB and
    /// text compared by value (a collation) on SQLite.
    ///
    /// ```
    /// use lightapi::backend::Value;
    /// let price = lightapi::model::Field::decimal(19, 2);
    /// let v = price.to_value(&serde_json::json!("12345678901234567.8"));
    /// assert_eq!(v, Ok(Value::Text("12345678901234567.80".into())));
    /// assert!(price.to_value(&serde_json::json!("1.234")).is_err());
    /// assert!(price.to_value(&serde_json::json!(1.5)).is_err());
    /// ```
    pub fn decimal(precision: u32, scale: u32) -> Field {
        let mut f = Field::of(FieldType::Decimal);
        f.digits = Some((precision, scale));
        f
    }

    /// Restricts a text or integer field to a list of values, e.g. a
    /// status of `todo`, `doing` or `done`. Checked on every write (a
    /// `CHECK (… IN (…))` constraint in the table too); listed as the
    /// schema's `enum` in the OpenAPI document.
    ///
    /// ```
    /// use lightapi::model::Field;
    /// let status = Field::text().choices(&["todo", "doing", "done"]).default("todo");
    /// assert!(status.to_value(&serde_json::json!("done")).is_ok());
    /// assert_eq!(
    ///     status.to_value(&serde_json::json!("blocked")).unwrap_err(),
    ///     "must be one of: todo, doing, done"
    /// );
    /// let priority = Field::integer().choices(&[1, 2, 3]);
    /// assert!(priority.to_value(&serde_json::json!(4)).is_err());
    /// ```
    pub fn choices<T>(mut self, values: &[T]) -> Field
    where
        T: Clone + Into<serde_json::Value>,
    {
        self.constraints.choices = Some(values.iter().cloned().map(Into::into).collect());
        self
    }

    /// The smallest value accepted, inclusive: for integer, float, decimal
    /// (a number or a decimal string), date and datetime fields.
    ///
    /// ```
    /// let estimate = lightapi::model::Field::integer().min(0);
    /// assert_eq!(
    ///     estimate.to_value(&serde_json::json!(-1)).unwrap_err(),
    ///     "must be at least 0"
    /// );
    /// ```
    pub fn min(mut self, value: impl Into<serde_json::Value>) -> Field {
        self.constraints.min = Some(value.into());
        self
    }

    /// The largest value accepted, inclusive (see [`Field::min`]).
    ///
    /// ```
    /// let ratio = lightapi::model::Field::float().min(0).max(1);
    /// assert!(ratio.to_value(&serde_json::json!(1.0)).is_ok());
    /// assert!(ratio.to_value(&serde_json::json!(1.5)).is_err());
    /// ```
    pub fn max(mut self, value: impl Into<serde_json::Value>) -> Field {
        self.constraints.max = Some(value.into());
        self
    }

    /// The shortest text accepted, in Unicode scalar values as
    /// [`Field::max_length`] counts.
    ///
    /// ```
    /// let name = lightapi::model::Field::text().min_length(1);
    /// assert!(name.to_value(&serde_json::json!("")).is_err());
    /// ```
    pub fn min_length(mut self, chars: usize) -> Field {
        self.constraints.min_length = Some(chars);
        self
    }

    /// A regular expression a text field must match (feature `pattern`,
    /// on by default; syntax of the `regex-lite` crate). As JSON Schema's
    /// `pattern`, it matches anywhere in the text unless anchored with
    /// `^…$`. An invalid expression, or a pattern without the feature, is
    /// a declaration error naming the field.
    ///
    /// ```
    /// use lightapi::model::{Field, Model};
    /// let sku = Field::text().pattern(r"^[A-Z]{3}-[0-9]{4}$");
    /// # #[cfg(feature = "pattern")]
    /// assert!(sku.to_value(&serde_json::json!("ABC-1234")).is_ok());
    /// # #[cfg(feature = "pattern")]
    /// assert!(sku.to_value(&serde_json::json!("abc-1234")).is_err());
    /// let bad = Model::new("t").field("code", Field::text().pattern("(unclosed"));
    /// assert!(bad.check().is_err());
    /// ```
    pub fn pattern(mut self, regex: &str) -> Field {
        self.constraints.pattern = Some(Pattern::new(regex));
        self
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
    /// checked by [`Model::check`](super::Model::check) (a datetime default is an
    /// RFC 3339 string).
    ///
    /// ```
    /// let f = lightapi::model::Field::integer().default(7);
    /// assert_eq!(f.default_value(), Some(&serde_json::json!(7)));
    /// ```
    pub fn default(mut self, value: impl Into<serde_json::Value>) -> Field {
        self.default = Some(value.into());
        self.database_default = false;
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

    /// Makes the value unique among the rows of one owner of a scoped model
    /// (see [`Model::scope`](super::Model::scope)): a table-level
    /// `UNIQUE (scope column, field)`. Two owners may then hold the same
    /// value, and a conflict tells a caller only about their own rows,
    /// where a [`Field::unique`] column tells anyone that a value exists.
    ///
    /// ```
    /// use lightapi::model::{Field, Model};
    /// let m = Model::new("profile")
    ///     .scope("owner", "sub")
    ///     .field("handle", Field::text().max_length(40).unique_in_scope());
    /// assert!(m.check().is_ok());
    /// let unscoped = Model::new("t").field("handle", Field::text().unique_in_scope());
    /// assert!(unscoped.check().is_err());
    /// ```
    pub fn unique_in_scope(mut self) -> Field {
        self.unique_in_scope = true;
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

    /// Makes the field a foreign key to the primary key of another model's
    /// table (`id`, or its [`Model::primary_key`](super::Model::primary_key);
    /// the field's type must be the key's).
    ///
    /// ```
    /// let author = lightapi::model::Field::integer().references("person");
    /// assert_eq!(author.referenced_table(), Some("person"));
    /// ```
    pub fn references(mut self, table: &str) -> Field {
        self.references = Some(table.to_owned());
        self
    }

    /// What deleting the referenced row does to rows whose foreign key
    /// points at it, declared in the table's `FOREIGN KEY` (default
    /// [`OnDelete::Restrict`]). Only on a foreign key; `SetNull` only on a
    /// nullable one (start-up checks both).
    ///
    /// ```
    /// use lightapi::model::{Field, OnDelete};
    /// let project = Field::integer().references("project").on_delete(OnDelete::Cascade);
    /// assert_eq!(project.on_delete_rule(), OnDelete::Cascade);
    /// ```
    pub fn on_delete(mut self, rule: OnDelete) -> Field {
        self.on_delete = Some(rule);
        self
    }

    /// Set by the server to the time of the row's creation, never changed
    /// afterwards; read-only to clients. For a datetime field.
    ///
    /// ```
    /// use lightapi::model::{Field, ServerSet};
    /// let created = Field::datetime().set_on_create();
    /// assert!(created.is_read_only());
    /// assert_eq!(created.server_set(), Some(&ServerSet::CreatedAt));
    /// ```
    pub fn set_on_create(mut self) -> Field {
        self.server_set = Some(ServerSet::CreatedAt);
        self.read_only = true;
        self
    }

    /// Set by the server to the time of every write (create, `PUT`,
    /// `PATCH`); read-only to clients. For a datetime field.
    ///
    /// ```
    /// use lightapi::model::{Field, ServerSet};
    /// let updated = Field::datetime().set_on_write();
    /// assert_eq!(updated.server_set(), Some(&ServerSet::UpdatedAt));
    /// ```
    pub fn set_on_write(mut self) -> Field {
        self.server_set = Some(ServerSet::UpdatedAt);
        self.read_only = true;
        self
    }

    /// Set by the server on create to the caller's token claim `claim` (a
    /// comment's `author` from `sub`), never changed afterwards; read-only
    /// to clients. Unlike [`Model::scope`](super::Model::scope) it does not
    /// restrict reads or writes (see
    /// [`Model::restrict_writes`](super::Model::restrict_writes) for
    /// that). A token without the claim is a `403`. For a text or integer
    /// field.
    ///
    /// ```
    /// use lightapi::model::{Field, ServerSet};
    /// let author = Field::text().from_claim("sub");
    /// assert_eq!(author.server_set(), Some(&ServerSet::Claim("sub".into())));
    /// ```
    pub fn from_claim(mut self, claim: &str) -> Field {
        self.server_set = Some(ServerSet::Claim(claim.to_owned()));
        self.read_only = true;
        self
    }

    /// How the server sets the field, if it does.
    pub fn server_set(&self) -> Option<&ServerSet> {
        self.server_set.as_ref()
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

    /// Whether the value is unique within one owner's rows (see
    /// [`Field::unique_in_scope`]).
    pub fn is_unique_in_scope(&self) -> bool {
        self.unique_in_scope
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

    /// The key column this foreign key points at: the referenced model's
    /// key once the models are linked, else `id`.
    pub(crate) fn referenced_column(&self) -> &str {
        self.referenced_key.as_deref().unwrap_or(super::ID_COLUMN)
    }

    /// What deleting the referenced row does (see [`Field::on_delete`]).
    pub fn on_delete_rule(&self) -> OnDelete {
        self.on_delete.unwrap_or_default()
    }

    /// The precision and scale of a decimal field.
    pub fn decimal_digits(&self) -> Option<(u32, u32)> {
        self.digits
    }

    /// The values allowed by [`Field::choices`], as declared.
    pub fn choice_values(&self) -> Option<&[serde_json::Value]> {
        self.constraints.choices.as_deref()
    }

    /// The inclusive minimum of [`Field::min`], as declared.
    pub fn min_value(&self) -> Option<&serde_json::Value> {
        self.constraints.min.as_ref()
    }

    /// The inclusive maximum of [`Field::max`], as declared.
    pub fn max_value(&self) -> Option<&serde_json::Value> {
        self.constraints.max.as_ref()
    }

    /// The minimum length in characters of a text field.
    pub fn min_length_chars(&self) -> Option<usize> {
        self.constraints.min_length
    }

    /// The regular expression of [`Field::pattern`].
    pub fn pattern_source(&self) -> Option<&str> {
        self.constraints.pattern.as_ref().map(Pattern::source)
    }

    /// The choices as stored values (those that fit the field).
    pub(crate) fn choice_stored(&self) -> Vec<super::Value> {
        self.choice_values()
            .unwrap_or_default()
            .iter()
            .filter_map(|c| self.convert(c).ok())
            .collect()
    }

    /// The minimum and maximum as stored values (when they fit the field).
    pub(crate) fn bounds_stored(&self) -> (Option<super::Value>, Option<super::Value>) {
        let stored = |b: Option<&serde_json::Value>| b.and_then(|b| self.bound_value(b).ok());
        (stored(self.min_value()), stored(self.max_value()))
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
        !self.read_only && !self.nullable && self.default.is_none() && !self.database_default
    }

    /// Marks a column of an existing table whose default the database
    /// computes (`CURRENT_TIMESTAMP`, a sequence, …): a create that leaves
    /// the field out leaves the column out of its `INSERT`, so the
    /// database fills it; a `PUT` that leaves it out keeps the stored
    /// value. Only for tables read from the database, which lightapi never
    /// creates.
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) fn database_default(mut self) -> Field {
        self.database_default = true;
        self
    }

    /// Whether the database fills the column when a create leaves it out
    /// (see [`Field::database_default`]).
    pub(crate) fn has_database_default(&self) -> bool {
        self.database_default
    }
}

/// A value the server sets in a field (see [`Field::set_on_create`],
/// [`Field::set_on_write`], [`Field::from_claim`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerSet {
    /// The time of the row's creation.
    CreatedAt,
    /// The time of the row's last write.
    UpdatedAt,
    /// A claim of the creating caller's token.
    Claim(String),
}

/// What deleting a referenced row does to the rows that reference it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnDelete {
    /// The delete is refused while rows reference the row: `409` naming
    /// the referencing table. The default.
    #[default]
    Restrict,
    /// The referencing rows are deleted with it.
    Cascade,
    /// The referencing rows' foreign key becomes `null`.
    SetNull,
}
