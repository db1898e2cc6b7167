//! CRUD operations, written once on top of [`Backend`] and the SQL the
//! backend builds.
//!
//! Every function takes the backend as `&dyn Backend` (pass `&*arc`). SQL is
//! built outside the write job and moved into it, so a job only does I/O on
//! the writer. Conditional writes (`If-Match`, versions) read the row, check
//! it and write it in one write transaction: a mismatch writes nothing.
//!
//! Scoping fails closed: a scoped model must be given the [`Scope`] of its
//! [`crate::model::ScopeRule`] (see [`scope_for`]); another row's owner
//! sees [`CrudError::NotFound`].

use super::error::CrudError;
use super::etag::{etag, if_match};
use super::validate::Row;
use crate::backend::sql::{self, Insert, ListQuery, Scope};
use crate::backend::{read_with, write_with, Backend, BackendError, ConflictKind, Value};
use crate::model::{FieldType, Model};

/// A stored row as clients see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The primary key.
    pub id: i64,
    /// The readable fields (`id`, every field that is not write-only, and
    /// `version` for a versioned model), as JSON.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The strong ETag of the stored row, with its quotes.
    pub etag: String,
}

/// A write precondition from `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Unconditional.
    #[default]
    None,
    /// The row's current ETag must be one of these (or `*`: any existing row).
    IfMatch(Vec<String>),
}

/// The [`Scope`] of a scoped model for a caller's claims (`None` for an
/// unscoped model).
///
/// # Errors
///
/// [`CrudError::MissingClaim`] if the claim is absent or does not fit the
/// scope column's type (a string claim for an integer column is parsed).
///
/// ```
/// use lightapi::backend::Value;
/// use lightapi::__private::crud::ops::scope_for;
/// use lightapi::model::Model;
/// let m = Model::new("note").scope("owner_id", "sub");
/// let s = scope_for(&m, &serde_json::json!({"sub": "alice"}))?.unwrap();
/// assert_eq!(s.value, Value::Text("alice".into()));
/// assert!(scope_for(&m, &serde_json::json!({})).is_err());
/// # Ok::<(), lightapi::error::CrudError>(())
/// ```
pub fn scope_for(model: &Model, claims: &serde_json::Value) -> Result<Option<Scope>, CrudError> {
    let Some(rule) = model.scope_rule() else {
        return Ok(None);
    };
    let missing = || CrudError::MissingClaim {
        claim: rule.claim().to_owned(),
    };
    let claim = claims
        .get(rule.claim())
        .filter(|c| !c.is_null())
        .ok_or_else(missing)?;
    let field = model.field_named(rule.column()).ok_or_else(missing)?;
    let value = match (field.field_type(), claim) {
        (FieldType::Integer, serde_json::Value::String(s)) => {
            Value::Integer(s.parse().map_err(|_| missing())?)
        }
        (FieldType::Text, serde_json::Value::Number(n)) => Value::Text(n.to_string()),
        _ => field.to_value(claim).map_err(|_| missing())?,
    };
    Ok(Some(Scope {
        column: rule.column().to_owned(),
        value,
    }))
}

fn check_scope<'s>(
    model: &Model,
    scope: Option<&'s Scope>,
) -> Result<Option<&'s Scope>, CrudError> {
    match (model.scope_rule(), scope) {
        (None, None) => Ok(None),
        (Some(rule), Some(s)) if rule.column() == s.column => Ok(Some(s)),
        _ => Err(CrudError::ScopeMismatch {
            model: model.name().to_owned(),
        }),
    }
}

fn column_types(model: &Model) -> Vec<FieldType> {
    sql::select_columns(model)
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

fn internal(cause: &str) -> BackendError {
    BackendError::Internal {
        cause: cause.to_owned(),
    }
}

fn first_row(rows: Vec<Vec<Value>>) -> Result<Vec<Value>, BackendError> {
    rows.into_iter()
        .next()
        .ok_or_else(|| internal("the statement returned no row"))
}

/// Builds the client view of a stored row (values in
/// [`sql::select_columns`] order).
fn to_record(model: &Model, values: Vec<Value>) -> Result<Record, CrudError> {
    let columns = sql::select_columns(model);
    if values.len() != columns.len() {
        return Err(internal("unexpected column count").into());
    }
    let Some(Value::Integer(id)) = values.first() else {
        return Err(internal("the id column is not an integer").into());
    };
    let id = *id;
    let tag = etag(&values);
    let mut fields = serde_json::Map::new();
    for ((name, _), value) in columns.into_iter().zip(values) {
        if model.field_named(name).is_some_and(|f| f.is_write_only()) {
            continue;
        }
        fields.insert(name.to_owned(), value.to_json());
    }
    Ok(Record {
        id,
        fields,
        etag: tag,
    })
}

/// Names the column of a foreign-key conflict when the row sets exactly one
/// foreign key (SQLite does not say which one failed).
fn name_fk_conflict(e: BackendError, fks: &[String]) -> CrudError {
    match e {
        BackendError::Conflict {
            field: None,
            kind: ConflictKind::ForeignKey,
        } if fks.len() == 1 => CrudError::Conflict {
            field: fks.first().cloned(),
            kind: ConflictKind::ForeignKey,
        },
        other => other.into(),
    }
}

fn set_foreign_keys(model: &Model, row: &Row) -> Vec<String> {
    row.values()
        .iter()
        .filter(|(c, v)| {
            !v.is_null()
                && model
                    .field_named(c)
                    .is_some_and(|f| f.referenced_table().is_some())
        })
        .map(|(c, _)| c.clone())
        .collect()
}

/// Inserts a validated row (the scope column is set from `scope`) and
/// returns the stored row with its id, defaults and ETag. The write is
/// durable when this returns.
///
/// # Errors
///
/// [`CrudError::Conflict`] on a unique/foreign-key violation,
/// [`CrudError::MissingValue`] if a non-null read-only field was not set,
/// [`CrudError::ScopeMismatch`], or a backend error.
pub fn create(
    backend: &dyn Backend,
    model: &Model,
    row: Row,
    scope: Option<&Scope>,
) -> Result<Record, CrudError> {
    let scope = check_scope(model, scope)?;
    let mut row = row;
    if let Some(s) = scope {
        row.set(&s.column, s.value.clone());
    }
    for (name, field) in model.fields() {
        if !field.is_nullable() && field.default_value().is_none() && row.get(name).is_none() {
            return Err(CrudError::MissingValue {
                field: name.clone(),
            });
        }
    }
    let fks = set_foreign_keys(model, &row);
    let d = backend.dialect();
    let plan = sql::insert(d, model, row.into_values())?;
    let types = column_types(model);
    let by_id = sql::select_by_id(d, model, 0, None, false);
    let values = match plan {
        // One statement: the backend may commit it in one round trip.
        Insert::Returning(q) => backend
            .write_statement(q.text, q.params, types)
            .and_then(first_row),
        plan => write_with(backend, move |conn| match plan {
            Insert::Returning(q) => first_row(conn.query(&q.text, &q.params, &types)?),
            Insert::ThenSelect { insert, select } => {
                conn.execute(&insert.text, &insert.params)?;
                first_row(conn.query(&select.text, &select.params, &types)?)
            }
            Insert::ReturningId(q) => {
                let id = conn.insert_returning_id(&q.text, &q.params)?;
                let mut params = by_id.params;
                if let Some(p) = params.first_mut() {
                    *p = Value::Integer(id);
                }
                first_row(conn.query(&by_id.text, &params, &types)?)
            }
        }),
    }
    .map_err(|e| name_fk_conflict(e, &fks))?;
    to_record(model, values)
}

/// Reads one row by id within `scope`.
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`] or a backend error; a missing row is `Ok(None)`.
pub fn get(
    backend: &dyn Backend,
    model: &Model,
    id: i64,
    scope: Option<&Scope>,
) -> Result<Option<Record>, CrudError> {
    let scope = check_scope(model, scope)?;
    let q = sql::select_by_id(backend.dialect(), model, id, scope, false);
    let types = column_types(model);
    let rows = read_with(backend, |c| c.query(&q.text, &q.params, &types))?;
    rows.into_iter()
        .next()
        .map(|r| to_record(model, r))
        .transpose()
}

/// Checks a write's precondition alone against the stored row, without
/// writing: the rule [`update`] and [`delete`] apply inside
/// their transaction, for a request refused for another reason (its body)
/// that must still be answered for its precondition first.
///
/// # Errors
///
/// [`CrudError::NotFound`], [`CrudError::PreconditionRequired`],
/// [`CrudError::PreconditionFailed`], or a backend error.
pub fn check_precondition(
    backend: &dyn Backend,
    model: &Model,
    id: i64,
    precondition: &Precondition,
    scope: Option<&Scope>,
) -> Result<(), CrudError> {
    let scope = check_scope(model, scope)?;
    let q = sql::select_by_id(backend.dialect(), model, id, scope, false);
    let types = column_types(model);
    let rows = read_with(backend, |c| c.query(&q.text, &q.params, &types))?;
    let outcome = match rows.first() {
        None => Outcome::NotFound,
        Some(current) => {
            match check_current(current, precondition, model.requires_if_match(), None, None) {
                Ok(_) => return Ok(()),
                Err(outcome) => outcome,
            }
        }
    };
    finish(model, id, outcome).map(|_| ())
}

/// Lists the rows matching `query` within `scope`.
///
/// # Errors
///
/// [`CrudError::InvalidQuery`] for a field the model cannot filter or order
/// on, [`CrudError::ScopeMismatch`], or a backend error.
pub fn list(
    backend: &dyn Backend,
    model: &Model,
    query: &ListQuery,
    scope: Option<&Scope>,
) -> Result<Vec<Record>, CrudError> {
    let scope = check_scope(model, scope)?;
    let q = sql::select_list(backend.dialect(), model, query, scope)?;
    let types = column_types(model);
    let rows = read_with(backend, |c| c.query(&q.text, &q.params, &types))?;
    rows.into_iter().map(|r| to_record(model, r)).collect()
}

/// Counts the rows matching `filters` within `scope` (page pagination).
///
/// # Errors
///
/// As [`list`].
pub fn count(
    backend: &dyn Backend,
    model: &Model,
    filters: &[sql::Filter],
    scope: Option<&Scope>,
) -> Result<u64, CrudError> {
    let scope = check_scope(model, scope)?;
    let q = sql::count(backend.dialect(), model, filters, scope)?;
    let rows = read_with(backend, |c| {
        c.query(&q.text, &q.params, &[FieldType::Integer])
    })?;
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Integer(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
        _ => Err(internal("count returned no integer").into()),
    }
}

enum Outcome {
    Done(Vec<Value>),
    Deleted,
    NotFound,
    PreconditionRequired,
    PreconditionFailed,
    VersionConflict(i64),
}

fn finish(model: &Model, id: i64, outcome: Outcome) -> Result<Option<Record>, CrudError> {
    match outcome {
        Outcome::Done(values) => to_record(model, values).map(Some),
        Outcome::Deleted => Ok(None),
        Outcome::NotFound => Err(CrudError::NotFound {
            model: model.name().to_owned(),
            id,
        }),
        Outcome::PreconditionRequired => Err(CrudError::PreconditionRequired),
        Outcome::PreconditionFailed => Err(CrudError::PreconditionFailed),
        Outcome::VersionConflict(current) => Err(CrudError::VersionConflict { current }),
    }
}

/// Checks If-Match (present when `required`: a missing row is reported
/// before a missing precondition) and version against the locked current
/// row.
fn check_current(
    current: &[Value],
    pre: &Precondition,
    required: bool,
    version_index: Option<usize>,
    expected_version: Option<i64>,
) -> Result<Option<i64>, Outcome> {
    if required && *pre == Precondition::None {
        return Err(Outcome::PreconditionRequired);
    }
    if let Precondition::IfMatch(tags) = pre {
        if !if_match(tags, &etag(current)) {
            return Err(Outcome::PreconditionFailed);
        }
    }
    let Some(i) = version_index else {
        return Ok(None);
    };
    let version = match current.get(i) {
        Some(Value::Integer(v)) => *v,
        _ => 0,
    };
    match expected_version {
        Some(expected) if expected != version => Err(Outcome::VersionConflict(version)),
        _ => Ok(Some(version)),
    }
}

/// Updates a row with a validated row: a full replace (PUT, from
/// [`validate_replace`](super::validate::validate_replace)) or a partial
/// update (PATCH, from [`validate_patch`](super::validate::validate_patch)),
/// which differ only in validation. Conditional on `pre` and, for a
/// versioned model, on the body's `version` (an empty patch of a versioned
/// model still increments it); checked and written in one transaction.
///
/// # Errors
///
/// [`CrudError::NotFound`], [`CrudError::PreconditionFailed`],
/// [`CrudError::PreconditionRequired`], [`CrudError::VersionConflict`],
/// [`CrudError::Conflict`], or a backend error. Nothing is written on error.
pub fn update(
    backend: &dyn Backend,
    model: &Model,
    id: i64,
    row: Row,
    pre: Precondition,
    scope: Option<&Scope>,
) -> Result<Record, CrudError> {
    let scope = check_scope(model, scope)?;
    let required = model.requires_if_match();
    let d = backend.dialect();
    let expected_version = row.expected_version();
    let fks = set_foreign_keys(model, &row);
    let locked = sql::select_by_id(d, model, id, scope, true);
    let reread = sql::select_by_id(d, model, id, scope, false);
    // For a versioned model the version placeholder is the last parameter;
    // it is set to the version read under the lock.
    let update = sql::update(d, model, id, row.into_values(), scope, Some(0))?;
    let types = column_types(model);
    let version_index = model.is_versioned().then(|| types.len() - 1);
    let outcome = write_with(backend, move |conn| {
        let Some(current) = conn
            .query(&locked.text, &locked.params, &types)?
            .into_iter()
            .next()
        else {
            return Ok(Outcome::NotFound);
        };
        let version = match check_current(&current, &pre, required, version_index, expected_version)
        {
            Ok(v) => v,
            Err(outcome) => return Ok(outcome),
        };
        if let Some(mut update) = update {
            if let (Some(v), Some(last)) = (version, update.params.last_mut()) {
                *last = Value::Integer(v);
            }
            if conn.execute(&update.text, &update.params)? == 0 {
                return Ok(match version {
                    Some(v) => Outcome::VersionConflict(v),
                    None => Outcome::NotFound,
                });
            }
        }
        let row = conn.query(&reread.text, &reread.params, &types)?;
        Ok(Outcome::Done(first_row(row)?))
    })
    .map_err(|e| name_fk_conflict(e, &fks))?;
    finish(model, id, outcome)?.ok_or_else(|| CrudError::NotFound {
        model: model.name().to_owned(),
        id,
    })
}

/// Deletes a row, conditional on `precondition` (checked in the same
/// transaction).
///
/// # Errors
///
/// [`CrudError::NotFound`], [`CrudError::PreconditionFailed`],
/// [`CrudError::PreconditionRequired`], [`CrudError::Conflict`] (the row is
/// still referenced), or a backend error.
pub fn delete(
    backend: &dyn Backend,
    model: &Model,
    id: i64,
    precondition: Precondition,
    scope: Option<&Scope>,
) -> Result<(), CrudError> {
    let scope = check_scope(model, scope)?;
    let required = model.requires_if_match();
    let d = backend.dialect();
    let locked = sql::select_by_id(d, model, id, scope, true);
    let delete = sql::delete(d, model, id, scope);
    let types = column_types(model);
    let outcome = write_with(backend, move |conn| {
        let Some(current) = conn
            .query(&locked.text, &locked.params, &types)?
            .into_iter()
            .next()
        else {
            return Ok(Outcome::NotFound);
        };
        if let Err(outcome) = check_current(&current, &precondition, required, None, None) {
            return Ok(outcome);
        }
        Ok(match conn.execute(&delete.text, &delete.params)? {
            0 => Outcome::NotFound,
            _ => Outcome::Deleted,
        })
    })?;
    finish(model, id, outcome).map(|_| ())
}
