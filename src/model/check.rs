//! Declaration checks: every mistake in a model is found at start-up and
//! reported as a [`ModelError`], never by a panic.

use std::fmt;

use super::field::{Field, FieldType, OnDelete, ServerSet};
use super::{Model, ID_COLUMN, MAX_IDENTIFIER_BYTES, VERSION_COLUMN};

impl Model {
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
        self.check_against(&[self])
    }

    /// The declared fields with the declared key first.
    fn declared_fields(&self) -> impl Iterator<Item = (&String, &Field)> {
        let key = match &self.key {
            Some((name, Some(field))) => Some((name, field)),
            _ => None,
        };
        key.into_iter()
            .chain(self.fields.iter().map(|(n, f)| (n, f)))
    }

    fn check_against(&self, models: &[&Model]) -> Result<(), ModelError> {
        check_identifier(&self.name)?;
        if let Some(dup) = self.duplicates.first() {
            return Err(ModelError::DuplicateField {
                model: self.name.clone(),
                field: dup.clone(),
            });
        }
        self.check_key()?;
        // `id` is reserved unless it is the declared key itself.
        let declared_key = self.declared_key().map(|(k, _)| k);
        for (name, field) in self.declared_fields() {
            check_identifier(name)?;
            let reserved = (name.eq_ignore_ascii_case(ID_COLUMN)
                && declared_key != Some(name.as_str()))
                || (self.versioned && name.eq_ignore_ascii_case(VERSION_COLUMN));
            if reserved {
                return Err(ModelError::ReservedField {
                    model: self.name.clone(),
                    field: name.clone(),
                });
            }
            if let Some((other, _)) = self.declared_fields().find(|(n, _)| {
                *n != name && n.eq_ignore_ascii_case(name) && n.as_str() > name.as_str()
            }) {
                return Err(ModelError::DuplicateField {
                    model: self.name.clone(),
                    field: other.clone(),
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
            if field.unique_in_scope {
                match &self.scope {
                    None => {
                        return Err(option_error(
                            "unique_in_scope needs a scoped model (Model::scope)",
                        ))
                    }
                    Some(rule) if rule.column == *name => {
                        return Err(option_error(
                            "the scope column itself cannot be unique within its scope",
                        ))
                    }
                    Some(_) if field.unique => {
                        return Err(option_error(
                            "a field is either unique or unique_in_scope, not both",
                        ))
                    }
                    Some(_) => {}
                }
            }
            if let Some(reason) = field.constraint_mistake() {
                return Err(option_error(&reason));
            }
            if field.read_only && field.write_only {
                return Err(option_error(
                    "a field cannot be both read-only and write-only",
                ));
            }
            let scoped = self.scope.as_ref().is_some_and(|s| s.column() == name);
            match (&field.server_set, field.kind) {
                (Some(_), _) if scoped => {
                    return Err(option_error(
                        "the scope column is set from its claim already",
                    ))
                }
                (Some(ServerSet::CreatedAt | ServerSet::UpdatedAt), kind)
                    if kind != FieldType::DateTime =>
                {
                    return Err(option_error(
                        "set_on_create and set_on_write apply to datetime fields only",
                    ))
                }
                (Some(ServerSet::Claim(claim)), kind) => {
                    if !matches!(kind, FieldType::Text | FieldType::Integer) {
                        return Err(option_error(
                            "from_claim applies to text and integer fields only",
                        ));
                    }
                    if claim.is_empty() {
                        return Err(option_error("from_claim needs a claim name"));
                    }
                }
                _ => {}
            }
            if field.server_set.is_some() && field.write_only {
                return Err(option_error("a field the server sets cannot be write-only"));
            }
            match (field.on_delete, &field.references) {
                (Some(_), None) => {
                    return Err(option_error("on_delete applies to foreign keys only"))
                }
                (Some(OnDelete::SetNull), Some(_)) if !field.nullable => {
                    return Err(option_error(
                        "on_delete(SetNull) needs a nullable foreign key",
                    ))
                }
                _ => {}
            }
            if let Some(table) = &field.references {
                check_identifier(table)?;
                let Some(target) = models.iter().find(|m| m.name == *table) else {
                    return Err(ModelError::UnknownReference {
                        model: self.name.clone(),
                        field: name.clone(),
                        table: table.clone(),
                    });
                };
                let key = target.key_type();
                if field.kind != key {
                    return Err(option_error(&format!(
                        "a foreign key must have the type of the key it references \
                         (`{table}`.`{}` is {key})",
                        target.key_column()
                    )));
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
        if let Some(rule) = &self.write_rule {
            let error = |reason: &str| ModelError::InvalidOption {
                model: self.name.clone(),
                field: rule.column().to_owned(),
                reason: reason.to_owned(),
            };
            match self.field_named(rule.column()) {
                None => return Err(error("restrict_writes names no declared field")),
                Some(f) if f.write_only => {
                    return Err(error("restrict_writes cannot use a write-only field"))
                }
                Some(f) if !matches!(f.kind, FieldType::Text | FieldType::Integer) => {
                    return Err(error(
                        "restrict_writes needs a text or integer field to compare with a claim",
                    ))
                }
                Some(_) => {}
            }
            if rule.claim().is_empty() {
                return Err(error("restrict_writes needs a claim name"));
            }
            if self
                .scope
                .as_ref()
                .is_some_and(|s| s.column() == rule.column())
            {
                return Err(error(
                    "restrict_writes on the scope column repeats Model::scope",
                ));
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
    let all: Vec<&Model> = models.iter().collect();
    for (i, m) in models.iter().enumerate() {
        if all
            .iter()
            .take(i)
            .any(|t| t.name.eq_ignore_ascii_case(&m.name))
        {
            return Err(ModelError::DuplicateModel {
                name: m.name.clone(),
            });
        }
        m.check_against(&all)?;
    }
    Ok(())
}

impl Model {
    /// The mistakes a declared primary key can have: see
    /// [`Model::primary_key`].
    fn check_key(&self) -> Result<(), ModelError> {
        let Some((column, field)) = self.declared_key() else {
            return Ok(());
        };
        let error = |reason: &str| ModelError::InvalidKey {
            model: self.name.clone(),
            column: column.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(field) = field else {
            return Err(error("primary_key names no declared field"));
        };
        let mistake = if !matches!(
            field.kind,
            FieldType::Integer | FieldType::Text | FieldType::Uuid
        ) {
            Some("a primary key must be an integer, text or uuid field")
        } else if field.nullable {
            Some("a primary key cannot be nullable")
        } else if field.default.is_some() {
            Some("a primary key cannot have a default (a uuid key is generated when absent)")
        } else if field.server_set.is_some() {
            Some("a primary key cannot be set by the server")
        } else if field.read_only {
            Some("a primary key cannot be read-only (an integer key is generated already)")
        } else if field.write_only {
            Some("a primary key cannot be write-only")
        } else if field.references.is_some() {
            Some("a primary key cannot be a foreign key")
        } else if field.unique || field.unique_in_scope || field.index {
            Some("a primary key is unique and indexed already")
        } else if field.kind == FieldType::Integer
            && (field.constraints.choices.is_some()
                || field.constraints.min.is_some()
                || field.constraints.max.is_some())
        {
            Some("a generated integer key cannot have choices or bounds")
        } else if self.scope.as_ref().is_some_and(|s| s.column() == column) {
            Some("the scope column cannot be the primary key")
        } else if self
            .write_rule
            .as_ref()
            .is_some_and(|s| s.column() == column)
        {
            Some("restrict_writes cannot use the primary key")
        } else {
            None
        };
        match mistake {
            Some(reason) => Err(error(reason)),
            None => Ok(()),
        }
    }
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
    /// A primary key ([`Model::primary_key`]) that cannot be one.
    InvalidKey {
        /// The model.
        model: String,
        /// The column named as the key.
        column: String,
        /// What is wrong.
        reason: String,
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
            ModelError::InvalidKey {
                model,
                column,
                reason,
            } => write!(f, "model `{model}`: primary key `{column}`: {reason}"),
        }
    }
}

impl std::error::Error for ModelError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::Field;
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
    fn primary_keys_are_checked() {
        let key = |field: Field| Model::new("t").field("k", field).primary_key("k");
        for ok in [
            Field::integer(),
            Field::text(),
            Field::text().max_length(8),
            Field::uuid(),
        ] {
            key(ok).check().unwrap();
        }
        // Declared after the call, too.
        Model::new("t")
            .primary_key("k")
            .field("k", Field::text())
            .check()
            .unwrap();
        let reason = |m: &Model| match m.check() {
            Err(ModelError::InvalidKey { column, reason, .. }) => {
                assert_eq!(column, "k");
                reason
            }
            other => panic!("{other:?}"),
        };
        let cases: Vec<(Model, &str)> = vec![
            (Model::new("t").primary_key("k"), "names no declared field"),
            (key(Field::float()), "integer, text or uuid"),
            (key(Field::datetime()), "integer, text or uuid"),
            (key(Field::text().nullable()), "nullable"),
            (key(Field::text().default("a")), "default"),
            (
                key(Field::uuid().default("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
                "default",
            ),
            (key(Field::text().from_claim("sub")), "set by the server"),
            (key(Field::text().read_only()), "read-only"),
            (key(Field::text().write_only()), "write-only"),
            (key(Field::text().unique()), "unique and indexed already"),
            (key(Field::text().index()), "unique and indexed already"),
            (key(Field::integer().references("t")), "foreign key"),
            (key(Field::integer().min(5)), "choices or bounds"),
            (key(Field::text()).scope("k", "sub"), "scope column"),
            (
                key(Field::text()).restrict_writes("k", "sub"),
                "restrict_writes",
            ),
        ];
        for (m, want) in cases {
            let got = reason(&m);
            assert!(got.contains(want), "{got:?} should say {want:?}");
        }
        let e = Model::new("t").primary_key("k").check().unwrap_err();
        assert_eq!(
            e.to_string(),
            "model `t`: primary key `k`: primary_key names no declared field"
        );
        // `id` is reserved only when it is not the key.
        Model::new("t")
            .field("id", Field::text())
            .primary_key("id")
            .check()
            .unwrap();
        assert!(matches!(
            err(&key(Field::text()).field("id", Field::integer())),
            ModelError::ReservedField { .. }
        ));
        assert!(matches!(
            err(&Model::new("t").field("id", Field::integer())),
            ModelError::ReservedField { .. }
        ));
        // A second key declared by the same name is a duplicate.
        let m = key(Field::text()).field("k", Field::text());
        assert!(matches!(err(&m), ModelError::DuplicateField { .. }));
        // Naming another key puts the first back among the fields.
        let m = key(Field::text())
            .field("j", Field::uuid())
            .primary_key("j");
        assert_eq!(m.key_column(), "j");
        assert_eq!(m.fields()[0].0, "k");
    }

    #[test]
    fn foreign_keys_must_have_the_type_of_the_key_they_reference() {
        let thing = Model::new("thing")
            .field("code", Field::text())
            .primary_key("code");
        let token = Model::new("token")
            .field("u", Field::uuid())
            .primary_key("u");
        let ok = Model::new("part")
            .field("thing_id", Field::text().references("thing"))
            .field("token_id", Field::uuid().nullable().references("token"));
        check_models(&[thing.clone(), token.clone(), ok]).unwrap();
        let bad = Model::new("part").field("thing_id", Field::integer().references("thing"));
        let e = check_models(&[thing.clone(), bad]).unwrap_err().to_string();
        assert!(
            e.contains("must have the type of the key it references (`thing`.`code` is text)"),
            "{e}"
        );
        let bad = Model::new("part").field("p", Field::text().references("plain"));
        let plain = Model::new("plain");
        assert!(check_models(&[plain, bad]).is_err());
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
        let m = Model::new("t").field("a", Field::text().unique_in_scope());
        assert!(matches!(err(&m), ModelError::InvalidOption { .. }));
        let m = Model::new("t")
            .scope("o", "sub")
            .field("a", Field::text().unique().unique_in_scope());
        assert!(matches!(err(&m), ModelError::InvalidOption { .. }));
        let m = Model::new("t")
            .field("o", Field::text().unique_in_scope())
            .scope("o", "sub");
        assert!(matches!(err(&m), ModelError::InvalidOption { .. }));
        let m = Model::new("t")
            .scope("o", "sub")
            .field("a", Field::text().unique_in_scope());
        m.check().unwrap();
        let m = Model::new("t").field("parent", Field::integer().nullable().references("t"));
        m.check().unwrap();
        let on_delete = |f: Field| Model::new("t").field("parent", f);
        let e = err(&on_delete(Field::integer().on_delete(OnDelete::Cascade)));
        assert!(e.to_string().contains("foreign keys only"), "{e}");
        let e = err(&on_delete(
            Field::integer()
                .references("t")
                .on_delete(OnDelete::SetNull),
        ));
        assert!(e.to_string().contains("nullable"), "{e}");
        on_delete(
            Field::integer()
                .nullable()
                .references("t")
                .on_delete(OnDelete::SetNull),
        )
        .check()
        .unwrap();
        let other = Model::new("other");
        let m = Model::new("t").field("a", Field::integer().references("other"));
        check_models(&[other.clone(), m]).unwrap();
        assert!(matches!(
            check_models(&[other.clone(), other]),
            Err(ModelError::DuplicateModel { .. })
        ));
    }

    #[test]
    fn checks_server_set_fields() {
        let ok = Model::new("t")
            .field("created", Field::datetime().set_on_create())
            .field("updated", Field::datetime().nullable().set_on_write())
            .field("author", Field::text().from_claim("sub"))
            .field("uid", Field::integer().from_claim("uid"));
        ok.check().unwrap();
        for (m, says) in [
            (
                Model::new("t").field("c", Field::text().set_on_create()),
                "datetime fields only",
            ),
            (
                Model::new("t").field("c", Field::boolean().from_claim("admin")),
                "text and integer",
            ),
            (
                Model::new("t").field("c", Field::text().from_claim("")),
                "needs a claim name",
            ),
            (
                Model::new("t")
                    .field("o", Field::text().from_claim("sub"))
                    .scope("o", "sub"),
                "scope column",
            ),
        ] {
            let e = err(&m).to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn checks_write_rules() {
        let base = || Model::new("task").field("assignee", Field::text());
        base().restrict_writes("assignee", "sub").check().unwrap();
        for (m, says) in [
            (
                base().restrict_writes("nope", "sub"),
                "names no declared field",
            ),
            (base().restrict_writes("assignee", ""), "needs a claim name"),
            (
                base()
                    .field("meta", Field::json())
                    .restrict_writes("meta", "sub"),
                "text or integer",
            ),
            (
                base().scope("owner", "sub").restrict_writes("owner", "sub"),
                "repeats Model::scope",
            ),
        ] {
            let e = err(&m).to_string();
            assert!(e.contains(says), "{e}");
        }
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
