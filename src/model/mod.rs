//! Model declaration: the table a REST resource is stored in.
//!
//! A [`Model`] is a table name plus an ordered list of [`Field`]s. Unless
//! [`Model::primary_key`] names a declared field as the key, the `id`
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

mod check;
mod constraint;
mod convert;
pub mod datetime;
mod decimal_text;
mod field;
mod key;
mod text_formats;
mod value;

pub use check::{check_identifier, check_models, ModelError};
pub(crate) use convert::{integer_text, json_kind};
pub use decimal_text::canonical_decimal;
pub(crate) use decimal_text::{compare_decimal, decimal_pattern};
pub use field::{Field, FieldType, OnDelete, ServerSet};
pub(crate) use key::random_uuid;
#[cfg(test)]
pub(crate) use key::tests::BAD_INTEGER_KEYS;
pub use key::{parse_path_key, Key, MAX_TEXT_KEY_BYTES};
pub use text_formats::{canonical_date, canonical_uuid};
#[cfg(feature = "postgres")]
pub(crate) use text_formats::{date_days, format_date, format_uuid, uuid_bytes};
pub(crate) use value::{decimal, write_integer};
pub use value::{Value, ValueRef};

/// Longest identifier accepted, in bytes (PostgreSQL's limit).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Name of the implicit primary-key column (see [`Model::primary_key`]).
pub const ID_COLUMN: &str = "id";

/// Name of the optimistic-locking column of a [`Model::versioned`] model.
pub const VERSION_COLUMN: &str = "version";

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
/// Columns are stored in this order: the key (`id`, or the field named by
/// [`Model::primary_key`]), the other fields (including an implicit scope
/// column, see [`Model::scope`]), then `version` for a versioned model.
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
    write_rule: Option<ScopeRule>,
    /// The scope column was added implicitly (not declared as a field).
    implicit_scope: bool,
    /// The table exists already and is never created or altered.
    existing_table: bool,
    /// The column named by `primary_key`, and its field once declared
    /// (kept out of `fields`).
    key: Option<(String, Option<Field>)>,
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
            write_rule: None,
            implicit_scope: false,
            existing_table: false,
            key: None,
        }
    }

    /// Names the declared field `column` as the primary key, instead of the
    /// implicit integer `id`. The field may be declared before or after
    /// this call, and must be one of:
    /// - [`Field::integer()`]: assigned by the database, as `id` is; clients
    ///   never send it;
    /// - [`Field::text()`]: sent by the client on create (required), never
    ///   changed after (a PUT or PATCH may repeat it);
    /// - [`Field::uuid()`]: sent by the client on create, or a random
    ///   version 4 UUID when absent; never changed after.
    ///
    /// The key is not nullable, has no default and is not set by the server
    /// otherwise ([`Model::check`] reports any such mistake). Rows are then
    /// addressed by the key's value: `/thing/{code}`.
    ///
    /// ```
    /// use lightapi::model::{Field, FieldType, Model};
    /// let thing = Model::new("thing")
    ///     .field("code", Field::text().max_length(20))
    ///     .field("label", Field::text())
    ///     .primary_key("code");
    /// thing.check()?;
    /// assert_eq!(thing.key_column(), "code");
    /// assert_eq!(thing.key_type(), FieldType::Text);
    /// // The key is kept apart from the other fields, but found by name.
    /// assert_eq!(thing.fields().len(), 1);
    /// assert!(thing.field_named("code").is_some());
    /// # Ok::<(), lightapi::model::ModelError>(())
    /// ```
    pub fn primary_key(mut self, column: &str) -> Model {
        if let Some((old, Some(field))) = self.key.take() {
            self.fields.push((old, field));
        }
        let field = self
            .fields
            .iter()
            .position(|(n, _)| n == column)
            .map(|pos| self.fields.remove(pos).1);
        self.key = Some((column.to_owned(), field));
        self
    }

    /// The primary-key column: `id`, or the field named by
    /// [`Model::primary_key`].
    pub fn key_column(&self) -> &str {
        self.key.as_ref().map_or(ID_COLUMN, |(n, _)| n.as_str())
    }

    /// The primary key's type: integer for the implicit `id`.
    pub fn key_type(&self) -> FieldType {
        self.key_field()
            .map_or(FieldType::Integer, Field::field_type)
    }

    /// The field named by [`Model::primary_key`], once declared; `None`
    /// for the implicit `id`.
    pub fn key_field(&self) -> Option<&Field> {
        self.key.as_ref().and_then(|(_, f)| f.as_ref())
    }

    /// Whether the database assigns the key (an integer key): clients never
    /// send it.
    pub fn has_generated_key(&self) -> bool {
        self.key_type() == FieldType::Integer
    }

    /// Whether the model names its own key with [`Model::primary_key`].
    pub(crate) fn has_declared_key(&self) -> bool {
        self.key.is_some()
    }

    /// The name given to `primary_key`, whether or not it was declared.
    pub(crate) fn declared_key(&self) -> Option<(&str, Option<&Field>)> {
        self.key.as_ref().map(|(n, f)| (n.as_str(), f.as_ref()))
    }

    /// Points every foreign key at the key column of the model it
    /// references, among `keys` (each model's table and key column).
    pub(crate) fn link_references(&mut self, keys: &[(String, String)]) {
        let own = self.key.as_mut().and_then(|(_, f)| f.as_mut());
        for field in self.fields.iter_mut().map(|(_, f)| f).chain(own) {
            if let Some(table) = &field.references {
                field.referenced_key = keys
                    .iter()
                    .find(|(t, _)| t == table)
                    .map(|(_, k)| k.clone());
            }
        }
    }

    /// Each model's table and key column, for [`Model::link_references`].
    pub(crate) fn keys_of<'m>(
        models: impl IntoIterator<Item = &'m Model>,
    ) -> Vec<(String, String)> {
        models
            .into_iter()
            .map(|m| (m.name.clone(), m.key_column().to_owned()))
            .collect()
    }

    /// The key of the path segment `raw` (percent-decoded), when it can name
    /// a row: see [`parse_path_key`].
    pub fn path_key(&self, raw: &str) -> Option<Key> {
        let Some(field) = self.key_field() else {
            return parse_path_key(FieldType::Integer, MAX_TEXT_KEY_BYTES, raw);
        };
        match field.max_length_chars() {
            // At most four bytes a character; then the characters counted.
            Some(chars) => {
                parse_path_key(field.field_type(), chars.saturating_mul(4), raw).filter(|k| match k
                {
                    Key::Text(s) => s.chars().count() <= chars,
                    Key::Int(_) => true,
                })
            }
            None => parse_path_key(field.field_type(), MAX_TEXT_KEY_BYTES, raw),
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
        if let Some((key, slot)) = &mut self.key {
            if key == name {
                if slot.is_some() {
                    self.duplicates.push(name.to_owned());
                } else {
                    *slot = Some(field);
                }
                return self;
            }
        }
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

    /// Restricts `PUT`, `PATCH` and `DELETE` to rows whose `column` equals
    /// the caller's `claim` (for example a task's `assignee` and `sub`);
    /// reads stay open to whoever may read, and callers whose token says
    /// `"is_admin": true` may write any row. The rule is checked on the row
    /// as the write finds it, in the write's transaction: with the row
    /// locked, or by a compare-and-set that fails if the row changed since
    /// it was checked, never by a separate read before the write. Another
    /// caller's row is a `403` (after a missing row's `404`, before a
    /// precondition's `428`/`412` and the body's `422`); a token without
    /// the claim too. The column must be a declared field (start-up
    /// checks). Unlike [`Model::scope`], nothing is set on create: combine
    /// it with a server-set field for that.
    ///
    /// ```
    /// use lightapi::model::{Field, Model};
    /// let task = Model::new("task")
    ///     .field("assignee", Field::text())
    ///     .restrict_writes("assignee", "sub");
    /// let rule = task.write_rule().unwrap();
    /// assert_eq!((rule.column(), rule.claim()), ("assignee", "sub"));
    /// ```
    pub fn restrict_writes(mut self, column: &str, claim: &str) -> Model {
        self.write_rule = Some(ScopeRule {
            column: column.to_owned(),
            claim: claim.to_owned(),
        });
        self
    }

    /// Serves a table that exists already (read from the database): start-up
    /// checks it as for any model, but never creates it or adds columns to
    /// it, and a missing table is a start-up error.
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) fn existing_table(mut self, existing: bool) -> Model {
        self.existing_table = existing;
        self
    }

    /// Whether the table is never created or altered (see
    /// [`Model::existing_table`]).
    pub(crate) fn uses_existing_table(&self) -> bool {
        self.existing_table
    }

    /// The write rule, if any (see [`Model::restrict_writes`]).
    pub fn write_rule(&self) -> Option<&ScopeRule> {
        self.write_rule.as_ref()
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fields in declaration order (without the key — `id` or the field
    /// named by [`Model::primary_key`] — and `version`).
    pub fn fields(&self) -> &[(String, Field)] {
        &self.fields
    }

    /// Looks a field up by name (the field named by [`Model::primary_key`]
    /// included; never the implicit `id`).
    ///
    /// ```
    /// use lightapi::model::{Field, Model};
    /// let m = Model::new("t").field("a", Field::integer());
    /// assert!(m.field_named("a").is_some());
    /// assert!(m.field_named("id").is_none());
    /// ```
    pub fn field_named(&self, name: &str) -> Option<&Field> {
        match &self.key {
            Some((k, Some(f))) if k == name => Some(f),
            _ => self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f),
        }
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
}
