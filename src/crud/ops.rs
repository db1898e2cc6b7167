//! CRUD operations, written once on top of [`Backend`] and the SQL the
//! backend builds.
//!
//! Each operation is planned on the caller's thread (`Planned`): the SQL
//! is built and the work for the database made, and what turns the work's
//! output into the result is kept apart. The work can then run anywhere —
//! on the caller's thread (`Planned::run`, what the functions named after
//! the operations do), on an event loop's own connection, or queued for the
//! database's threads — and the result is finished wherever the answer is
//! made. Conditional writes (`If-Match`, versions) read the row, check it
//! and write it only if it is still as read — in one write transaction
//! under a lock, or on PostgreSQL by a compare-and-set on the row version
//! (see `plan_update`): a mismatch writes nothing. Unconditional writes on
//! PostgreSQL and MariaDB are one statement where the dialect allows it.
//!
//! Scoping fails closed: a scoped model must be given the [`Scope`] of its
//! [`crate::model::ScopeRule`] (see [`scope_for`]); another row's owner
//! sees [`CrudError::NotFound`].

use std::sync::Arc;
use std::time::Instant;

use super::error::CrudError;
use super::etag::{etag, if_match, EtagKey};
use super::hooks::{HookInputs, Hooks, WriteKind};
use super::images::RowImages;
use super::validate::Row;
use crate::auth::Claims;
use crate::backend::sql::{self, Insert, ListQuery, Scope, Sql};
use crate::backend::work::{self, Next, ReadStatement, Steps, Work};
use crate::backend::{
    Backend, BackendError, ConflictKind, Conn, Dialect, Value, ValueRef, WriteOutput,
};
use crate::model::{FieldType, Key, Model};

/// A stored row as read back: every column in the model's stored order
/// (`id`, the fields, then `version` for a versioned model).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The primary key.
    pub id: Key,
    /// Every column's value, write-only ones included.
    pub values: Vec<Value>,
}

impl Stored {
    /// The strong ETag of the row under `key`, with its quotes.
    pub fn etag(&self, key: &EtagKey) -> String {
        etag(key, &self.values)
    }
}

/// A stored row as clients see it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub struct Record {
    /// The primary key.
    pub id: Key,
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

/// A foreign key a written row sets, into a scoped model: the referenced
/// row must be one the caller could read there (within the caller's scope
/// of that model). Checked in the write's transaction, before anything is
/// written; a row that is missing and one in another scope both answer
/// [`CrudError::UnknownReference`], so other scopes cannot be probed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceCheck {
    field: String,
    table: String,
    key: String,
    id: Key,
    query: Sql,
    columns: Vec<FieldType>,
}

impl ReferenceCheck {
    /// Requires row `id` of `target` within `scope` (the caller's scope of
    /// `target`) for foreign key `field`.
    ///
    /// # Errors
    ///
    /// [`CrudError::ScopeMismatch`] if `scope` is not `target`'s.
    pub(crate) fn new(
        d: Dialect,
        field: &str,
        target: &Model,
        id: &Key,
        scope: Option<&Scope>,
    ) -> Result<ReferenceCheck, CrudError> {
        let scope = check_scope(target, scope)?;
        Ok(ReferenceCheck {
            field: field.to_owned(),
            table: target.name().to_owned(),
            key: target.key_column().to_owned(),
            query: sql::select_by_id(d, target, id, scope, false),
            id: id.clone(),
            columns: column_types(target),
        })
    }

    /// The error for a reference that names no row (with key column
    /// `key`) the caller can read.
    pub(crate) fn unknown(field: &str, table: &str, key: &str, id: &Key) -> CrudError {
        CrudError::UnknownReference {
            field: field.to_owned(),
            table: table.to_owned(),
            key: key.to_owned(),
            id: id.clone(),
        }
    }
}

/// The first of `checks` whose row the caller cannot read, run on the
/// write's connection.
pub(super) fn first_unknown(
    conn: &mut dyn crate::backend::Conn,
    checks: &[ReferenceCheck],
) -> Result<Option<CrudError>, BackendError> {
    for c in checks {
        if conn
            .query(&c.query.text, &c.query.params, &c.columns)?
            .is_empty()
        {
            return Ok(Some(ReferenceCheck::unknown(
                &c.field, &c.table, &c.key, &c.id,
            )));
        }
    }
    Ok(None)
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
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn scope_for(model: &Model, claims: &serde_json::Value) -> Result<Option<Scope>, CrudError> {
    let none = serde_json::Map::new();
    scope_in(model, claims.as_object().unwrap_or(&none))
}

/// [`scope_for`] over a token's claims as they are held.
///
/// # Errors
/// As [`scope_for`].
pub(crate) fn scope_in(
    model: &Model,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<Scope>, CrudError> {
    let Some(rule) = model.scope_rule() else {
        return Ok(None);
    };
    claim_value(model, rule.column(), rule.claim(), claims).map(Some)
}

/// The caller's `claim` as a value of `model`'s `column` (a text claim of
/// digits for an integer column, a number for a text one).
///
/// # Errors
/// [`CrudError::MissingClaim`] when the claim is missing, null, or not a
/// value of the column's type.
pub(crate) fn claim_value(
    model: &Model,
    column: &str,
    claim: &str,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<Scope, CrudError> {
    let missing = || CrudError::MissingClaim {
        claim: claim.to_owned(),
    };
    let given = claims
        .get(claim)
        .filter(|c| !c.is_null())
        .ok_or_else(missing)?;
    let field = model.field_named(column).ok_or_else(missing)?;
    let value = match (field.field_type(), given) {
        (FieldType::Integer, serde_json::Value::String(s)) => {
            Value::Integer(s.parse().map_err(|_| missing())?)
        }
        (FieldType::Text, serde_json::Value::Number(n)) => Value::Text(n.to_string()),
        _ => field.to_value(given).map_err(|_| missing())?,
    };
    Ok(Scope {
        column: column.to_owned(),
        value,
    })
}

pub(super) fn check_scope<'s>(
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

/// What turns the output of a planned operation's work into its result.
pub(crate) type Finish<T> =
    Box<dyn FnOnce(&Model, Result<WriteOutput, BackendError>) -> Result<T, CrudError> + Send>;

/// An operation planned on the caller's thread: the database work, and what
/// turns its output into the operation's result (given the same model).
pub(crate) struct Planned<T> {
    pub(crate) work: Work,
    pub(crate) finish: Finish<T>,
}

impl<T: 'static> Planned<T> {
    /// Runs the work on this thread, waiting for the database, and finishes.
    #[cfg_attr(not(feature = "__private"), allow(dead_code))]
    pub(crate) fn run(self, backend: &dyn Backend, model: &Model) -> Result<T, CrudError> {
        (self.finish)(model, work::run(backend, self.work))
    }

    /// The same work with its result turned into another.
    pub(crate) fn map<U>(
        self,
        f: impl FnOnce(&Model, T) -> Result<U, CrudError> + Send + 'static,
    ) -> Planned<U> {
        let finish = self.finish;
        Planned {
            work: self.work,
            finish: Box::new(move |model, out| {
                let t = finish(model, out)?;
                f(model, t)
            }),
        }
    }
}

/// A read job that runs `f` and returns its result boxed.
fn read_job<T: Send + 'static>(
    f: impl FnOnce(&mut dyn Conn) -> Result<T, BackendError> + Send + 'static,
) -> Work {
    Work::Read(Box::new(move |c| f(c).map(|t| Box::new(t) as WriteOutput)))
}

/// A write job that runs `f` and returns its result boxed.
pub(super) fn write_job<T: Send + 'static>(
    f: impl FnOnce(&mut dyn Conn) -> Result<T, BackendError> + Send + 'static,
) -> Work {
    Work::Write(Box::new(move |c| f(c).map(|t| Box::new(t) as WriteOutput)))
}

/// A write job run statement by statement (see
/// [`Backend::write_autocommit`]) that returns its result boxed.
fn autocommit_job<T: Send + 'static>(
    f: impl FnOnce(&mut dyn Conn) -> Result<T, BackendError> + Send + 'static,
) -> Work {
    Work::Autocommit(Box::new(move |c| f(c).map(|t| Box::new(t) as WriteOutput)))
}

/// The output of a job as the type its job returned.
pub(super) fn unbox<T: 'static>(out: Result<WriteOutput, BackendError>) -> Result<T, BackendError> {
    crate::backend::unbox_output(out?)
}

pub(crate) fn column_types(model: &Model) -> Vec<FieldType> {
    sql::select_columns(model)
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

pub(super) fn internal(cause: &str) -> BackendError {
    BackendError::Internal {
        cause: cause.to_owned(),
    }
}

pub(super) fn first_row(rows: Vec<Vec<Value>>) -> Result<Vec<Value>, BackendError> {
    rows.into_iter()
        .next()
        .ok_or_else(|| internal("the statement returned no row"))
}

/// A row read back (values in `sql::select_columns` order), checked.
pub(crate) fn stored(model: &Model, values: Vec<Value>) -> Result<Stored, CrudError> {
    if values.len() != model.fields().len() + 1 + usize::from(model.is_versioned()) {
        return Err(internal("unexpected column count").into());
    }
    let Some(id) = values.first().and_then(Key::from_value) else {
        return Err(internal("the key column holds no key").into());
    };
    Ok(Stored { id, values })
}

pub(super) fn stored_rows(model: &Model, rows: Vec<Vec<Value>>) -> Result<Vec<Stored>, CrudError> {
    rows.into_iter().map(|r| stored(model, r)).collect()
}

impl Record {
    /// The client view of a stored row: its readable fields as JSON and its
    /// ETag under `key`.
    #[cfg_attr(not(feature = "__private"), allow(dead_code))]
    pub fn from_stored(model: &Model, key: &EtagKey, row: Stored) -> Record {
        let etag = row.etag(key);
        let mut fields = serde_json::Map::new();
        for ((name, _), value) in sql::select_columns(model).into_iter().zip(row.values) {
            if model.field_named(name).is_some_and(|f| f.is_write_only()) {
                continue;
            }
            fields.insert(name.to_owned(), value.to_json());
        }
        Record {
            id: row.id,
            fields,
            etag,
        }
    }
}

/// A foreign key a written row sets.
#[derive(Clone)]
pub(super) struct SetReference {
    pub(super) field: String,
    pub(super) table: String,
    /// The referenced table's key column.
    pub(super) key: String,
    pub(super) id: Key,
}

/// A foreign-key conflict of a write as the [`CrudError::UnknownReference`]
/// of the field that failed, when the database said which, or the row sets
/// only one.
pub(super) fn name_fk_conflict(e: BackendError, fks: &[SetReference]) -> CrudError {
    match e {
        BackendError::Conflict {
            field,
            kind: ConflictKind::ForeignKey,
        } => {
            let named = match &field {
                Some(f) => fks.iter().find(|r| &r.field == f),
                None if fks.len() == 1 => fks.first(),
                None => None,
            };
            match named {
                Some(r) => ReferenceCheck::unknown(&r.field, &r.table, &r.key, &r.id),
                None => CrudError::Conflict {
                    field,
                    kind: ConflictKind::ForeignKey,
                },
            }
        }
        other => other.into(),
    }
}

pub(super) fn set_foreign_keys(model: &Model, row: &Row) -> Vec<SetReference> {
    row.values()
        .iter()
        .filter_map(|(c, v)| {
            let field = model.field_named(c)?;
            let table = field.referenced_table()?;
            Some(SetReference {
                field: c.clone(),
                table: table.to_owned(),
                key: field.referenced_column().to_owned(),
                id: Key::from_value(v)?,
            })
        })
        .collect()
}

/// `work` with its errors passed through `name` on the write's connection.
/// Only for SQLite, where a failed statement leaves the transaction usable
/// (elsewhere it aborts it).
fn on_error_with_conn(
    work: Work,
    name: impl Fn(&mut dyn Conn, BackendError) -> BackendError + Send + 'static,
) -> Work {
    match work {
        Work::Statement {
            sql,
            params,
            columns,
        } => write_job(move |conn| {
            conn.query(&sql, &params, &columns)
                .map_err(|e| name(conn, e))
        }),
        Work::Write(job) => Work::Write(Box::new(move |conn| job(conn).map_err(|e| name(conn, e)))),
        Work::Autocommit(job) => {
            Work::Autocommit(Box::new(move |conn| job(conn).map_err(|e| name(conn, e))))
        }
        Work::Steps(steps) => on_error_with_conn(Work::Steps(steps).into_job(), name),
        read @ (Work::Read(_) | Work::Query { .. } | Work::Queries(_)) => read,
    }
}

/// SQLite does not say which foreign key failed: a write that sets several
/// looks each referenced row up after the failure, and names the first one
/// missing.
fn name_missing_parent_on_sqlite(d: Dialect, work: Work, fks: &[SetReference]) -> Work {
    if d != Dialect::Sqlite || fks.len() < 2 {
        return work;
    }
    let probes: Vec<(String, Sql)> = fks
        .iter()
        .map(|r| (r.field.clone(), sql::row_exists(d, &r.table, &r.key, &r.id)))
        .collect();
    on_error_with_conn(work, move |conn, e| match e {
        BackendError::Conflict {
            field: None,
            kind: ConflictKind::ForeignKey,
        } => {
            for (field, q) in &probes {
                if conn
                    .query(&q.text, &q.params, &[FieldType::Integer])
                    .is_ok_and(|rows| rows.is_empty())
                {
                    return BackendError::Conflict {
                        field: Some(field.clone()),
                        kind: ConflictKind::ForeignKey,
                    };
                }
            }
            e
        }
        e => e,
    })
}

/// SQLite does not say which table still references a row it could not
/// delete: looks up every foreign key into the model's table in the schema
/// and names the first table with a row pointing at `id`.
fn name_referencing_table_on_sqlite(d: Dialect, work: Work, model: &Model, id: &Key) -> Work {
    if d != Dialect::Sqlite {
        return work;
    }
    let keys = sql::sqlite_foreign_keys_into(model.name());
    let id = id.clone();
    on_error_with_conn(work, move |conn, e| match e {
        BackendError::Conflict {
            field: None,
            kind: ConflictKind::ForeignKey,
        } => {
            let by = conn
                .query(
                    &keys.text,
                    &keys.params,
                    &[FieldType::Text, FieldType::Text],
                )
                .unwrap_or_default()
                .into_iter()
                .find_map(|row| match row.as_slice() {
                    [Value::Text(table), Value::Text(column)] => {
                        let q = sql::row_referencing(d, table, column, &id);
                        conn.query(&q.text, &q.params, &[FieldType::Integer])
                            .is_ok_and(|rows| !rows.is_empty())
                            .then(|| table.clone())
                    }
                    _ => None,
                });
            BackendError::Conflict {
                field: by,
                kind: ConflictKind::Referenced,
            }
        }
        e => e,
    })
}

/// The hooks of a model's writes, with the caller's claims they see.
#[derive(Debug, Clone)]
pub(crate) struct WithHooks {
    pub(crate) hooks: Hooks,
    pub(crate) claims: Option<Claims>,
    pub(crate) dialect: Dialect,
}

impl WithHooks {
    pub(super) fn inputs<'a>(
        &'a self,
        conn: &'a mut dyn Conn,
        model: &'a Model,
        current: Option<&'a [Value]>,
    ) -> HookInputs<'a> {
        HookInputs {
            dialect: self.dialect,
            conn,
            model,
            claims: self.claims.as_ref(),
            current,
        }
    }
}

/// `values` in the model's column order, the scope column set from
/// `scope` whatever a hook did to it.
pub(super) fn in_model_order(
    model: &Model,
    mut values: Vec<(String, Value)>,
    scope: Option<&Scope>,
) -> Vec<(String, Value)> {
    if let Some(s) = scope {
        values.retain(|(c, _)| *c != s.column);
        values.push((s.column.clone(), s.value.clone()));
    }
    let position = |c: &str| model.fields().iter().position(|(n, _)| n == c);
    values.sort_by_key(|(c, _)| position(c));
    values
}

/// A unique conflict on the primary key that the database named as the
/// key rather than by its column (see
/// [`PRIMARY_KEY_CONFLICT`](crate::backend::PRIMARY_KEY_CONFLICT)), named
/// after the model's key column; any other error as it is.
pub(crate) fn name_key_conflict(model: &Model, e: CrudError) -> CrudError {
    match e {
        CrudError::Conflict {
            field: Some(field),
            kind: ConflictKind::Unique,
        } if field == crate::backend::PRIMARY_KEY_CONFLICT => CrudError::Conflict {
            field: Some(model.key_column().to_owned()),
            kind: ConflictKind::Unique,
        },
        CrudError::Item { index, source } => CrudError::Item {
            index,
            source: Box::new(name_key_conflict(model, *source)),
        },
        e => e,
    }
}

/// Gives a created row its key where the client did not: a random UUID
/// for a uuid key. A text key must have been sent.
///
/// # Errors
///
/// [`CrudError::MissingValue`] for a text key without a value; a backend
/// error when no random UUID could be made.
pub(super) fn fill_key(model: &Model, row: &mut Row) -> Result<(), CrudError> {
    if model.has_generated_key() || row.get(model.key_column()).is_some() {
        return Ok(());
    }
    match model.key_type() {
        FieldType::Uuid => {
            let uuid = crate::model::random_uuid()
                .map_err(|e| internal(&format!("no random uuid: {e}")))?;
            row.set(model.key_column(), Value::Text(uuid));
            Ok(())
        }
        _ => Err(CrudError::MissingValue {
            field: model.key_column().to_owned(),
        }),
    }
}

/// Runs an insert and reads the stored row back.
pub(super) fn run_insert(
    conn: &mut dyn Conn,
    plan: Insert,
    by_id: &Sql,
    types: &[FieldType],
) -> Result<Vec<Vec<Value>>, BackendError> {
    match plan {
        Insert::Returning(q) => conn.query(&q.text, &q.params, types),
        Insert::ThenSelect { insert, select, .. } => {
            conn.execute(&insert.text, &insert.params)?;
            conn.query(&select.text, &select.params, types)
        }
        Insert::ReturningId(q) => {
            let id = conn.insert_returning_id(&q.text, &q.params)?;
            let mut params = by_id.params.clone();
            if let Some(p) = params.first_mut() {
                *p = Value::Integer(id);
            }
            conn.query(&by_id.text, &params, types)
        }
    }
}

/// Plans the insert of a validated row (the scope column is set from
/// `scope`); the result is the stored row with its id, defaults and ETag,
/// durable once the work has run.
///
/// # Errors
///
/// [`CrudError::MissingValue`] if a non-null read-only field was not set,
/// [`CrudError::ScopeMismatch`]; the finished result: [`CrudError::Conflict`]
/// on a unique/foreign-key violation, or a backend error.
pub(crate) fn plan_create(
    d: Dialect,
    model: &Model,
    row: Row,
    scope: Option<&Scope>,
    hooks: Option<&WithHooks>,
) -> Result<Planned<Stored>, CrudError> {
    let scope = check_scope(model, scope)?;
    let mut row = row;
    if let Some(s) = scope {
        row.set(&s.column, s.value.clone());
    }
    fill_key(model, &mut row)?;
    for (name, field) in model.fields() {
        if !field.is_nullable()
            && field.default_value().is_none()
            && !field.has_database_default()
            && row.get(name).is_none()
        {
            return Err(CrudError::MissingValue {
                field: name.clone(),
            });
        }
    }
    let fks = set_foreign_keys(model, &row);
    let (values, checks) = row.into_parts();
    let types = column_types(model);
    let by_id = sql::select_by_id(d, model, &Key::Int(0), None, false);
    if let Some(h) = hooks.filter(|h| h.hooks.any_for(WriteKind::Create)) {
        // The hook may change the values: the insert is built after it.
        let h = h.clone();
        let model = model.clone();
        let scope = scope.cloned();
        let work = write_job(move |conn| {
            if let Some(unknown) = first_unknown(conn, &checks)? {
                return Ok(Err(unknown));
            }
            let mut values = values;
            h.hooks
                .before(WriteKind::Create, h.inputs(conn, &model, None), &mut values)?;
            let values = in_model_order(&model, values, scope.as_ref());
            let plan = sql::insert(d, &model, values)?;
            let rows = run_insert(conn, plan, &by_id, &types)?;
            if let Some(row) = rows.first() {
                h.hooks
                    .after(WriteKind::Create, h.inputs(conn, &model, None), row)?;
            }
            Ok(Ok(rows))
        });
        let work = name_missing_parent_on_sqlite(d, work, &fks);
        return Ok(Planned {
            work,
            finish: Box::new(move |model, out| {
                let rows = unbox::<Result<Vec<Vec<Value>>, CrudError>>(out)
                    .map_err(|e| name_fk_conflict(e, &fks))??;
                stored(model, first_row(rows)?)
            }),
        });
    }
    let plan = sql::insert(d, model, values)?;
    let work = match plan {
        // One statement: the backend may commit it in one round trip.
        Insert::Returning(q) if checks.is_empty() => Work::Statement {
            sql: q.text,
            params: q.params,
            columns: types,
        },
        // MariaDB returns the row from the insert, committed on its own;
        // MySQL runs the insert and the select of the new row, and (its
        // connections not autocommitting jobs) in one transaction.
        Insert::ThenSelect {
            insert,
            select,
            returning,
        } if checks.is_empty() => autocommit_job(move |conn| {
            if conn.supports_returning() {
                return conn
                    .query(&returning.text, &returning.params, &types)
                    .map(Ok::<_, CrudError>);
            }
            conn.execute(&insert.text, &insert.params)?;
            conn.query(&select.text, &select.params, &types).map(Ok)
        }),
        plan => write_job(move |conn| {
            if let Some(unknown) = first_unknown(conn, &checks)? {
                return Ok(Err(unknown));
            }
            Ok(Ok(run_insert(conn, plan, &by_id, &types)?))
        }),
    };
    let statement = matches!(work, Work::Statement { .. });
    let work = name_missing_parent_on_sqlite(d, work, &fks);
    Ok(Planned {
        work,
        finish: Box::new(move |model, out| {
            let rows: Vec<Vec<Value>> = if statement {
                unbox(out).map_err(|e| name_fk_conflict(e, &fks))?
            } else {
                unbox::<Result<Vec<Vec<Value>>, CrudError>>(out)
                    .map_err(|e| name_fk_conflict(e, &fks))??
            };
            stored(model, first_row(rows)?)
        }),
    })
}

/// Inserts a validated row; see `plan_create`. The write is durable when
/// this returns.
///
/// # Errors
///
/// As `plan_create`.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn create(
    backend: &dyn Backend,
    key: &EtagKey,
    model: &Model,
    row: Row,
    scope: Option<&Scope>,
) -> Result<Record, CrudError> {
    plan_create(backend.dialect(), model, row, scope, None)?
        .run(backend, model)
        .map(|s| Record::from_stored(model, key, s))
}

/// Plans the read of one row by id within `scope` (`None` when missing).
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`]; the finished result: a backend error.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub(crate) fn plan_get(
    d: Dialect,
    model: &Model,
    id: &Key,
    scope: Option<&Scope>,
) -> Result<Planned<Option<Stored>>, CrudError> {
    plan_get_by(&ById::new(d, model), model, id, scope)
}

/// The statement that reads one row of a model by id (within the scope of
/// a scoped model), built once and reused for every read.
#[derive(Debug, Clone)]
pub(crate) struct ById {
    text: Arc<str>,
    columns: Arc<[FieldType]>,
}

impl ById {
    pub(crate) fn new(d: Dialect, model: &Model) -> ById {
        // The text does not depend on the values: the id, then the scope
        // value of a scoped model, are its parameters in that order.
        let scope = model.scope_rule().map(|r| Scope {
            column: r.column().to_owned(),
            value: Value::Null,
        });
        let q = sql::select_by_id(d, model, &Key::Int(0), scope.as_ref(), false);
        ById {
            text: q.text.into(),
            columns: column_types(model).into(),
        }
    }
}

/// `plan_get` with the model's statement built beforehand.
pub(crate) fn plan_get_by(
    by_id: &ById,
    model: &Model,
    id: &Key,
    scope: Option<&Scope>,
) -> Result<Planned<Option<Stored>>, CrudError> {
    let scope = check_scope(model, scope)?;
    let mut params = Vec::with_capacity(2);
    params.push(id.to_value());
    if let Some(s) = scope {
        params.push(s.value.clone());
    }
    let (text, columns) = (Arc::clone(&by_id.text), Arc::clone(&by_id.columns));
    Ok(Planned {
        work: Work::Query {
            sql: text,
            params,
            columns,
        },
        finish: Box::new(|model, out| {
            let rows: Vec<Vec<Value>> = unbox(out)?;
            rows.into_iter()
                .next()
                .map(|r| stored(model, r))
                .transpose()
        }),
    })
}

/// `plan_get_by`, handing the row to `each` as the driver holds it
/// (borrowed values in `sql::select_columns` order) on the thread that
/// reads it, instead of copying it out: what `each` makes of it is the
/// result. `None` when no row has the id.
pub(crate) fn plan_get_each<T: Send + 'static>(
    by_id: &ById,
    model: &Model,
    id: &Key,
    scope: Option<&Scope>,
    mut each: impl FnMut(&[ValueRef<'_>]) -> T + Send + 'static,
) -> Result<Planned<Option<T>>, CrudError> {
    let scope = check_scope(model, scope)?;
    // The id, then the scope value of a scoped model: no list allocated
    // for the common read by id alone.
    let params = match scope {
        None => Params::One([id.to_value()]),
        Some(s) => Params::Two([id.to_value(), s.value.clone()]),
    };
    let width = model.fields().len() + 1 + usize::from(model.is_versioned());
    let (text, columns) = (Arc::clone(&by_id.text), Arc::clone(&by_id.columns));
    Ok(Planned {
        work: read_job(move |c| {
            let mut out = None;
            c.query_each(&text, params.as_slice(), &columns, &mut |row| {
                let keyed = matches!(row.first(), Some(ValueRef::Integer(_) | ValueRef::Text(_)));
                out = Some(if row.len() == width && keyed {
                    Ok(each(row))
                } else {
                    Err(internal("unexpected columns in a row read by id"))
                });
                false
            })?;
            out.transpose()
        }),
        finish: Box::new(|_, out| Ok(unbox(out)?)),
    })
}

/// The parameters of a read by id: the id, and the scope value of a
/// scoped model.
enum Params {
    One([Value; 1]),
    Two([Value; 2]),
}

impl Params {
    fn as_slice(&self) -> &[Value] {
        match self {
            Params::One(p) => p,
            Params::Two(p) => p,
        }
    }
}

/// Reads one row by id within `scope`.
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`] or a backend error; a missing row is `Ok(None)`.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn get(
    backend: &dyn Backend,
    key: &EtagKey,
    model: &Model,
    id: &Key,
    scope: Option<&Scope>,
) -> Result<Option<Record>, CrudError> {
    plan_get(backend.dialect(), model, id, scope)?
        .run(backend, model)
        .map(|s| s.map(|s| Record::from_stored(model, key, s)))
}

/// Plans the check of a write's precondition alone against the stored
/// row, without writing: the rule [`update`] and [`delete`] apply inside
/// their transaction, for a request refused for another reason (its body)
/// that must still be answered for its precondition first.
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`]; the finished result:
/// [`CrudError::NotFound`], [`CrudError::PreconditionRequired`],
/// [`CrudError::PreconditionFailed`], or a backend error.
pub(crate) fn plan_check_precondition(
    d: Dialect,
    key: &EtagKey,
    model: &Model,
    id: &Key,
    precondition: Precondition,
    scope: Option<&Scope>,
    rule: Option<&Scope>,
) -> Result<Planned<()>, CrudError> {
    let scope = check_scope(model, scope)?;
    let q = sql::select_by_id(d, model, id, scope, false);
    let types = column_types(model);
    let check = Precheck::new(key, model, precondition, None, rule)?;
    let id = id.clone();
    Ok(Planned {
        work: read_job(move |c| c.query(&q.text, &q.params, &types)),
        finish: Box::new(move |model, out| {
            let rows: Vec<Vec<Value>> = unbox(out)?;
            let outcome = match rows.first() {
                None => Outcome::NotFound,
                Some(current) => match check.check(current) {
                    Ok(_) => return Ok(()),
                    Err(outcome) => outcome,
                },
            };
            finish(model, &id, outcome).map(|_| ())
        }),
    })
}

/// Checks a write's precondition alone; see `plan_check_precondition`.
///
/// # Errors
///
/// As `plan_check_precondition`.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn check_precondition(
    backend: &dyn Backend,
    key: &EtagKey,
    model: &Model,
    id: &Key,
    precondition: &Precondition,
    scope: Option<&Scope>,
) -> Result<(), CrudError> {
    plan_check_precondition(
        backend.dialect(),
        key,
        model,
        id,
        precondition.clone(),
        scope,
        None,
    )?
    .run(backend, model)
}

/// Rows of a list; the count of all rows matching its filters when asked
/// for; whether reading stopped at the byte budget with rows left unread.
pub(crate) type Rows = (Vec<Stored>, Option<u64>, bool);

/// Plans the list of rows matching `query` within `scope`, and, with
/// `count`, the number of rows matching its filters (page pagination).
/// Reading stops after the row whose column data passes `max_bytes`,
/// where the database lets it (SQLite).
///
/// # Errors
///
/// [`CrudError::InvalidQuery`] for a field the model cannot filter or order
/// on, [`CrudError::ScopeMismatch`]; the finished result: a backend error.
pub(crate) fn plan_list(
    d: Dialect,
    model: &Model,
    query: &ListQuery,
    scope: Option<&Scope>,
    count: bool,
    max_bytes: usize,
) -> Result<Planned<Rows>, CrudError> {
    let (q, counting) = list_statements(d, model, query, scope, count)?;
    let types = column_types(model);
    let paging = Paging::of(query);
    Ok(Planned {
        work: read_job(move |c| {
            let (rows, capped) = c.query_within(&q.text, &q.params, &types, max_bytes)?;
            // A page cut short by its budget does not show where the rows end.
            let shown = (!capped).then_some(rows.len());
            let n = counting.map(|q| paging.count(c, &q, shown)).transpose()?;
            Ok((rows, n, capped))
        }),
        finish: Box::new(|model, out| {
            type Output = (Vec<Vec<Value>>, Option<Vec<Vec<Value>>>, bool);
            let (rows, n, capped): Output = unbox(out)?;
            Ok((stored_rows(model, rows)?, counted(n)?, capped))
        }),
    })
}

/// What a list read does with each row, as it reads it: a page rendered
/// straight from the driver's row, without a copy of its values.
pub(crate) trait RowSink: Send + 'static {
    /// Takes a row (values in `sql::select_columns` order); `false` when
    /// it was not taken and reading stops with rows left unread.
    fn take(&mut self, values: &[ValueRef<'_>]) -> bool;

    /// The rows taken.
    fn taken(&self) -> usize;

    /// Whether reading stopped with rows left unread.
    fn stopped(&self) -> bool;
}

/// Plans reading the rows matching `query` within `scope` into `sink`,
/// with their number when `count` and whether rows were left unread
/// (by `sink` or past `max_bytes` of stored data): what [`plan_list`]
/// reads, without keeping the rows.
///
/// # Errors
///
/// As `plan_list`.
pub(crate) fn plan_list_into<S: RowSink>(
    d: Dialect,
    model: &Model,
    query: &ListQuery,
    scope: Option<&Scope>,
    count: bool,
    max_bytes: usize,
    mut sink: S,
) -> Result<Planned<(S, Option<u64>, bool)>, CrudError> {
    let (q, counting) = list_statements(d, model, query, scope, count)?;
    let types = column_types(model);
    if d == Dialect::Postgres {
        return Ok(list_sent_together(q, counting, types, max_bytes, sink));
    }
    let paging = Paging::of(query);
    Ok(Planned {
        work: read_job(move |c| {
            let mut budget = PageBudget::new(max_bytes);
            c.query_each(&q.text, &q.params, &types, &mut |row| {
                budget.admits(row) && sink.take(row)
            })?;
            let capped = budget.cut || sink.stopped();
            let shown = (!capped).then_some(sink.taken());
            let n = counting.map(|q| paging.count(c, &q, shown)).transpose()?;
            Ok((sink, n, capped))
        }),
        finish: Box::new(|_, out| {
            let (sink, n, capped): (S, Option<Vec<Vec<Value>>>, bool) = unbox(out)?;
            Ok((sink, counted(n)?, capped))
        }),
    })
}

/// [`plan_list_into`] on PostgreSQL: the page and its count are sent
/// together (one round trip, which an event loop can make itself), and the
/// rows go into `sink` once both are back. The count is always the
/// database's, even for a short page that would show it.
fn list_sent_together<S: RowSink>(
    q: Sql,
    counting: Option<Sql>,
    types: Vec<FieldType>,
    max_bytes: usize,
    mut sink: S,
) -> Planned<(S, Option<u64>, bool)> {
    let page = ReadStatement {
        sql: q.text.into(),
        params: q.params,
        columns: types.into(),
    };
    let counts = counting.is_some();
    let work = match counting {
        Some(c) => Work::Queries(Box::new([
            page,
            ReadStatement {
                sql: c.text.into(),
                params: c.params,
                columns: Arc::from([FieldType::Integer].as_slice()),
            },
        ])),
        None => Work::Query {
            sql: page.sql,
            params: page.params,
            columns: page.columns,
        },
    };
    Planned {
        work,
        finish: Box::new(move |_, out| {
            let (rows, n) = if counts {
                let (rows, n): (Vec<Vec<Value>>, Vec<Vec<Value>>) = unbox(out)?;
                (rows, Some(n))
            } else {
                (unbox::<Vec<Vec<Value>>>(out)?, None)
            };
            let mut budget = PageBudget::new(max_bytes);
            let mut row_refs = Vec::new();
            for row in &rows {
                row_refs.clear();
                row_refs.extend(row.iter().map(Value::view));
                if !(budget.admits(&row_refs) && sink.take(&row_refs)) {
                    break;
                }
            }
            let capped = budget.cut || sink.stopped();
            Ok((sink, counted(n)?, capped))
        }),
    }
}

/// The stored-data budget of a list read: rows after the one whose
/// stored data passes it are left unread, as `Conn::query_within` leaves
/// them.
struct PageBudget {
    max: usize,
    stored: usize,
    /// A row was left unread for the budget.
    cut: bool,
}

impl PageBudget {
    fn new(max: usize) -> PageBudget {
        PageBudget {
            max,
            stored: 0,
            cut: false,
        }
    }

    /// Whether `row` is read; counts it if so.
    fn admits(&mut self, row: &[ValueRef<'_>]) -> bool {
        if self.stored > self.max {
            self.cut = true;
            return false;
        }
        self.stored = row.iter().fold(self.stored, |n, v| {
            n.saturating_add(match v {
                ValueRef::Text(t) => t.len(),
                _ => 8,
            })
        });
        true
    }
}

/// A list's page statement and, when `count`, its `COUNT(*)`.
fn list_statements(
    d: Dialect,
    model: &Model,
    query: &ListQuery,
    scope: Option<&Scope>,
    count: bool,
) -> Result<(Sql, Option<Sql>), CrudError> {
    let scope = check_scope(model, scope)?;
    let q = sql::select_list(d, model, query, scope)?;
    let counting = if count {
        Some(sql::count(d, model, &query.filters, scope)?)
    } else {
        None
    };
    Ok((q, counting))
}

/// How a list page was asked for, as far as its count depends on it.
#[derive(Clone, Copy)]
struct Paging {
    limit: Option<u64>,
    offset: u64,
    keyset: bool,
}

impl Paging {
    fn of(query: &ListQuery) -> Paging {
        Paging {
            limit: query.limit,
            offset: query.offset,
            keyset: query.after.is_some(),
        }
    }

    /// The number of matching rows: from the page when it shows it
    /// (`shown`: the rows read when none were left unread), else by
    /// `counting`.
    fn count(
        self,
        c: &mut dyn Conn,
        counting: &Sql,
        shown: Option<usize>,
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        match shown.and_then(|n| count_from_page(self.limit, self.offset, self.keyset, n)) {
            Some(n) => Ok(vec![vec![Value::Integer(
                i64::try_from(n).unwrap_or(i64::MAX),
            )]]),
            None => c.query(&counting.text, &counting.params, &[FieldType::Integer]),
        }
    }
}

/// The count a list read returned, if it counted.
fn counted(n: Option<Vec<Vec<Value>>>) -> Result<Option<u64>, CrudError> {
    match n {
        Some(rows) => match rows.first().and_then(|r| r.first()) {
            Some(Value::Integer(n)) => Ok(Some(u64::try_from(*n).unwrap_or(0))),
            _ => Err(internal("count returned no integer").into()),
        },
        None => Ok(None),
    }
}

/// The number of rows matching a page's filters when the page itself
/// shows it, so the `COUNT(*)` can be skipped: a short page (fewer rows
/// than its limit) reached by offset ends the matching rows, unless it is
/// empty past the first page (the rows may end anywhere before it).
fn count_from_page(limit: Option<u64>, offset: u64, keyset: bool, rows: usize) -> Option<u64> {
    let rows = u64::try_from(rows).ok()?;
    let short = limit.is_some_and(|l| rows < l);
    (short && !keyset && (rows > 0 || offset == 0)).then(|| offset.saturating_add(rows))
}

/// Lists the rows matching `query` within `scope`.
///
/// # Errors
///
/// As `plan_list`.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn list(
    backend: &dyn Backend,
    key: &EtagKey,
    model: &Model,
    query: &ListQuery,
    scope: Option<&Scope>,
) -> Result<Vec<Record>, CrudError> {
    plan_list(backend.dialect(), model, query, scope, false, usize::MAX)?
        .run(backend, model)
        .map(|(rows, _, _)| {
            rows.into_iter()
                .map(|s| Record::from_stored(model, key, s))
                .collect()
        })
}

/// Counts the rows matching `filters` within `scope`.
///
/// # Errors
///
/// As `plan_list`.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn count(
    backend: &dyn Backend,
    model: &Model,
    filters: &[sql::Filter],
    scope: Option<&Scope>,
) -> Result<u64, CrudError> {
    let scope = check_scope(model, scope)?;
    let q = sql::count(backend.dialect(), model, filters, scope)?;
    let rows = crate::backend::read_with(backend, |c| {
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
    Refused(CrudError),
}

fn finish(model: &Model, id: &Key, outcome: Outcome) -> Result<Option<Stored>, CrudError> {
    match outcome {
        Outcome::Done(values) => stored(model, values).map(Some),
        Outcome::Deleted => Ok(None),
        Outcome::NotFound => Err(CrudError::NotFound {
            model: model.name().to_owned(),
            key: model.key_column().to_owned(),
            id: id.clone(),
        }),
        Outcome::PreconditionRequired => Err(CrudError::PreconditionRequired),
        Outcome::PreconditionFailed => Err(CrudError::PreconditionFailed),
        Outcome::VersionConflict(current) => Err(CrudError::VersionConflict { current }),
        Outcome::Refused(e) => Err(e),
    }
}

/// What a write requires of the row it changes: the request's `If-Match`
/// (present, on a model that requires it) and, for a versioned model, the
/// body's `version`.
struct Precheck {
    key: EtagKey,
    /// The caller's write rule: the column, its index among the selected
    /// columns and the value it must hold (see [`Model::restrict_writes`]).
    rule: Option<(Scope, usize)>,
    pre: Precondition,
    required: bool,
    /// Where `version` is among the columns (versioned models).
    version_index: Option<usize>,
    expected_version: Option<i64>,
}

impl Precheck {
    fn new(
        key: &EtagKey,
        model: &Model,
        pre: Precondition,
        expected_version: Option<i64>,
        rule: Option<&Scope>,
    ) -> Result<Precheck, CrudError> {
        let rule = match rule {
            None => None,
            Some(r) => {
                let index = sql::select_columns(model)
                    .iter()
                    .position(|(c, _)| *c == r.column)
                    .ok_or_else(|| {
                        CrudError::from(internal("the write rule's column is not selected"))
                    })?;
                Some((r.clone(), index))
            }
        };
        Ok(Precheck {
            key: key.clone(),
            rule,
            pre,
            required: model.requires_if_match(),
            version_index: model
                .is_versioned()
                .then(|| sql::select_columns(model).len() - 1),
            expected_version,
        })
    }

    /// Whether the write depends on the row's current content (its ETag,
    /// its write rule's column, or whether it exists before a missing
    /// `If-Match` is reported), so that the row must be read before it is
    /// written.
    fn reads_first(&self) -> bool {
        self.required || self.pre != Precondition::None || self.rule.is_some()
    }

    /// Checks If-Match (present when `required`: a missing row is reported
    /// before a missing precondition) and version against the current row;
    /// the row's version, for a versioned model.
    fn check(&self, current: &[Value]) -> Result<Option<i64>, Outcome> {
        if let Some((rule, i)) = &self.rule {
            if current.get(*i) != Some(&rule.value) {
                return Err(Outcome::Refused(CrudError::WriteRefused {
                    column: rule.column.clone(),
                }));
            }
        }
        if self.required && self.pre == Precondition::None {
            return Err(Outcome::PreconditionRequired);
        }
        if let Precondition::IfMatch(tags) = &self.pre {
            if !if_match(tags, &etag(&self.key, current)) {
                return Err(Outcome::PreconditionFailed);
            }
        }
        let Some(i) = self.version_index else {
            return Ok(None);
        };
        let version = version_of(current, i);
        match self.expected_version {
            Some(expected) if expected != version => Err(Outcome::VersionConflict(version)),
            _ => Ok(Some(version)),
        }
    }

    /// Why a write guarded by scope and version changed no row: the row
    /// is missing (or out of scope), or at another version.
    fn zero_rows(&self, current: Option<&[Value]>) -> Outcome {
        match (current, self.version_index, self.expected_version) {
            (Some(row), Some(i), Some(_)) => Outcome::VersionConflict(version_of(row, i)),
            _ => Outcome::NotFound,
        }
    }
}

fn version_of(row: &[Value], i: usize) -> i64 {
    match row.get(i) {
        Some(Value::Integer(v)) => *v,
        _ => 0,
    }
}

/// The row a conditional write depends on, read and checked.
struct Current {
    values: Vec<Value>,
    /// Its `version`, for a versioned model.
    version: Option<i64>,
    /// Its row version ([`sql::Guard::RowVersion`]), when read with one.
    row_version: Option<Value>,
}

/// How a conditional write reads the row it depends on: locked for the
/// rest of the write's transaction (`SELECT … FOR UPDATE` where the
/// dialect has it), or with its row version, for a compare-and-set.
struct CurrentRead {
    select: Sql,
    types: Vec<FieldType>,
    with_row_version: bool,
}

impl CurrentRead {
    fn locked(d: Dialect, model: &Model, id: &Key, scope: Option<&Scope>) -> CurrentRead {
        CurrentRead {
            select: sql::select_by_id(d, model, id, scope, true),
            types: column_types(model),
            with_row_version: false,
        }
    }

    fn with_row_version(
        d: Dialect,
        model: &Model,
        id: &Key,
        scope: Option<&Scope>,
    ) -> Result<CurrentRead, BackendError> {
        Ok(CurrentRead {
            select: sql::select_by_id_with_row_version(d, model, id, scope)
                .ok_or_else(|| internal("the dialect has no row version"))?,
            types: column_types(model),
            with_row_version: true,
        })
    }

    /// Reads the row and checks it against `check`; `Ok(Err(outcome))`
    /// ends the write, unwritten, with that answer.
    fn run(
        &self,
        conn: &mut dyn Conn,
        check: &Precheck,
    ) -> Result<Result<Current, Outcome>, BackendError> {
        let rows = conn.query(&self.select.text, &self.select.params, &self.types)?;
        self.checked(rows, check)
    }

    /// What names the row as this read returns it, among [`RowImages`]:
    /// the statement and its parameters (the id and the scope).
    fn image_key(&self) -> String {
        format!("{}\u{0}{:?}", self.select.text, self.select.params)
    }

    /// The statement that reads the row.
    fn statement(&self) -> ReadStatement {
        ReadStatement::new(&self.select.text, self.select.params.clone(), &self.types)
    }

    /// The row `rows` hold, checked against `check` (as [`CurrentRead::run`]).
    fn checked(
        &self,
        rows: Vec<Vec<Value>>,
        check: &Precheck,
    ) -> Result<Result<Current, Outcome>, BackendError> {
        let Some(mut values) = rows.into_iter().next() else {
            return Ok(Err(Outcome::NotFound));
        };
        let row_version = if self.with_row_version {
            Some(values.pop().ok_or_else(|| internal("no row version"))?)
        } else {
            None
        };
        Ok(check.check(&values).map(|version| Current {
            values,
            version,
            row_version,
        }))
    }
}

/// Attempts of a compare-and-set write before it gives up as
/// [`BackendError::Busy`]: each failed attempt means another write of the
/// row landed between the read and the write, and left its ETag as the
/// request requires (else the next attempt answers `412`).
const COMPARE_AND_SET_ATTEMPTS: usize = 4;

/// Sets the last parameter (a guard's) of `q` to `value`.
fn with_last_param(q: &Sql, value: Value) -> Vec<Value> {
    let mut params = q.params.clone();
    if let Some(last) = params.last_mut() {
        *last = value;
    }
    params
}

/// The rows a caller may write: those of its scope (see
/// [`Model::scope`]) that meet its write rule (see
/// [`Model::restrict_writes`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WriteLimits<'a> {
    /// The caller's scope of the model.
    pub(crate) scope: Option<&'a Scope>,
    /// The value the row's write-rule column must hold.
    pub(crate) rule: Option<&'a Scope>,
    /// The model's hooks.
    pub(crate) hooks: Option<&'a WithHooks>,
    /// The images of the model's rows that conditional writes left (see
    /// [`RowImages`]), which let a compare-and-set skip its read.
    pub(crate) images: Option<&'a Arc<RowImages>>,
}

/// Plans an update with a validated row: a full replace (PUT, from
/// [`validate_replace`](super::validate::validate_replace)) or a partial
/// update (PATCH, from [`validate_patch`](super::validate::validate_patch)),
/// which differ only in validation. Conditional on `pre` and, for a
/// versioned model, on the body's `version` (an empty patch of a versioned
/// model still increments it). Nothing is written unless the row meets
/// them when it is written:
///
/// - Unconditional (no `If-Match`, none required), on PostgreSQL: one
///   `UPDATE … RETURNING`, limited to the scope and the expected version,
///   committed on its own; no row back means a missing row (or, read only
///   then, a stale version).
/// - Conditional on PostgreSQL: the ETag is an HMAC SQL cannot compute, so
///   the row is read (with its row version) and checked here, then written
///   by an `UPDATE … RETURNING` that also requires the row version read
///   (a compare-and-set), each statement committed on its own. A write
///   that lands in between makes the update change nothing, and the row
///   is read and checked again, so two racing writes with the same
///   `If-Match` have one winner. Two round trips, and no lock held across
///   them, where a `SELECT … FOR UPDATE` in a transaction costs four.
/// - Unconditional on MariaDB (no `UPDATE … RETURNING`): the update, then
///   the row read back, in one transaction.
/// - Otherwise (and on SQLite, whose writer thread commits in groups): in
///   one transaction, the row read under a lock and checked, updated, and
///   read back.
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`]; the finished result:
/// [`CrudError::NotFound`], [`CrudError::PreconditionFailed`],
/// [`CrudError::PreconditionRequired`], [`CrudError::VersionConflict`],
/// [`CrudError::Conflict`], or a backend error. Nothing is written on error.
pub(crate) fn plan_update(
    d: Dialect,
    key: &EtagKey,
    model: &Model,
    id: &Key,
    row: Row,
    pre: Precondition,
    WriteLimits {
        scope,
        rule,
        hooks,
        images,
    }: WriteLimits<'_>,
) -> Result<Planned<Stored>, CrudError> {
    let scope = check_scope(model, scope)?;
    let check = Precheck::new(key, model, pre, row.expected_version(), rule)?;
    let fks = set_foreign_keys(model, &row);
    let (values, checks) = row.into_parts();
    // References into scoped models are checked inside the transaction,
    // after the precondition: the locked path.
    // With hooks, the row is read locked, for them to see it.
    let hooked = hooks.filter(|h| h.hooks.any_for(WriteKind::Update));
    let work = match (d, check.reads_first(), checks.is_empty()) {
        _ if hooked.is_some() => {
            let hooked = hooked.cloned().ok_or_else(|| internal("no hooks"))?;
            update_with_hooks(d, model, id, values, scope, check, checks, hooked)?
        }
        (Dialect::Postgres, false, true) => {
            update_unconditionally(d, model, id, values, scope, check)?
        }
        (Dialect::Postgres, true, true) => {
            update_compare_and_set(d, model, id, values, scope, check, images.cloned())?
        }
        (Dialect::Mysql, false, true) => update_then_read(d, model, id, values, scope, check)?,
        _ => update_locked(d, model, id, values, scope, check, checks)?,
    };
    let work = name_missing_parent_on_sqlite(d, work, &fks);
    let statement = matches!(work, Work::Statement { .. });
    let id = id.clone();
    Ok(Planned {
        work,
        finish: Box::new(move |model, out| {
            let outcome = if statement {
                unbox::<Vec<Vec<Value>>>(out).map(|rows| {
                    rows.into_iter()
                        .next()
                        .map_or(Outcome::NotFound, Outcome::Done)
                })
            } else {
                unbox::<Outcome>(out)
            };
            let outcome: Outcome = outcome.map_err(|e| name_fk_conflict(e, &fks))?;
            finish(model, &id, outcome)?.ok_or_else(|| CrudError::NotFound {
                model: model.name().to_owned(),
                key: model.key_column().to_owned(),
                id: id.clone(),
            })
        }),
    })
}

/// The row as it is (an update with nothing to write), or why not.
fn read_plain(
    conn: &mut dyn Conn,
    select: &Sql,
    types: &[FieldType],
) -> Result<Outcome, BackendError> {
    Ok(
        match conn
            .query(&select.text, &select.params, types)?
            .into_iter()
            .next()
        {
            Some(row) => Outcome::Done(row),
            None => Outcome::NotFound,
        },
    )
}

/// One `UPDATE … RETURNING` in autocommit (see [`plan_update`]).
fn update_unconditionally(
    d: Dialect,
    model: &Model,
    id: &Key,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    check: Precheck,
) -> Result<Work, CrudError> {
    let guard = match (check.version_index, check.expected_version) {
        (Some(_), Some(v)) => sql::Guard::Version(v),
        _ => sql::Guard::None,
    };
    let update = sql::update_guarded(d, model, id, values, scope, &guard, true)?;
    let types = column_types(model);
    let update = match update {
        // One statement, zero rows meaning no such row: the backend may
        // commit it in one round trip, from the event loop.
        Some(update) if check.expected_version.is_none() => {
            return Ok(Work::Statement {
                sql: update.text,
                params: update.params,
                columns: types,
            })
        }
        update => update,
    };
    let plain = sql::select_by_id(d, model, id, scope, false);
    Ok(autocommit_job(move |conn| {
        let Some(update) = update else {
            return read_plain(conn, &plain, &types);
        };
        let rows = conn.query(&update.text, &update.params, &types)?;
        if let Some(row) = rows.into_iter().next() {
            return Ok(Outcome::Done(row));
        }
        if check.expected_version.is_none() {
            return Ok(Outcome::NotFound);
        }
        // Missing, or at another version: only a read tells which.
        let current = conn.query(&plain.text, &plain.params, &types)?;
        Ok(check.zero_rows(current.first().map(Vec::as_slice)))
    }))
}

/// Read, check, and compare-and-set `UPDATE … RETURNING`, in autocommit
/// (see [`plan_update`]); the read is skipped when `images` holds an image
/// of the row that passes the check.
fn update_compare_and_set(
    d: Dialect,
    model: &Model,
    id: &Key,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    check: Precheck,
    images: Option<Arc<RowImages>>,
) -> Result<Work, CrudError> {
    let read = CurrentRead::with_row_version(d, model, id, scope)?;
    // The guard's parameter is last; each attempt sets it to the row
    // version it read. The update returns the row version it leaves, last.
    let guard = sql::Guard::RowVersion(Value::Null);
    let update = sql::update_guarded(d, model, id, values, scope, &guard, true)?;
    let types = column_types(model);
    // The image is the row as this read returns it: the read's statement
    // and parameters (id and scope) name it.
    let images = images.map(|images| (images, read.image_key()));
    Ok(Work::Steps(Box::new(CompareAndSet {
        read,
        check,
        write: update,
        deletes: false,
        types,
        attempts: 0,
        wrote: Wrote::No,
        images,
    })))
}

/// Which write [`CompareAndSet`] sent last.
#[derive(Debug, Clone, PartialEq)]
enum Wrote {
    /// None: the last statement was the read.
    No,
    /// One guarded by the row version the read returned.
    AfterRead,
    /// One guarded by the row version of a kept image (this one), without
    /// a read.
    FromImage(Value),
}

/// The statements of [`update_compare_and_set`] (and of a conditional
/// delete, [`plan_delete`]): the row read and checked, then the `UPDATE …
/// RETURNING` (or `DELETE … RETURNING`) guarded by the row version read;
/// no row back means another write landed in between, and the row is read
/// and checked again, up to [`COMPARE_AND_SET_ATTEMPTS`] times. With
/// images, an image of the row that passes the check stands for the first
/// read (no row back then only means the image was stale), and the row a
/// write returns is kept as the row's image.
struct CompareAndSet {
    read: CurrentRead,
    check: Precheck,
    /// The guarded write: an `UPDATE … RETURNING` (none when the update
    /// changes nothing), or a `DELETE … RETURNING`.
    write: Option<Sql>,
    /// Whether `write` deletes the row.
    deletes: bool,
    /// The columns `write` returns.
    types: Vec<FieldType>,
    attempts: usize,
    wrote: Wrote,
    images: Option<(Arc<RowImages>, String)>,
}

impl CompareAndSet {
    /// The first statement: the write guarded by a kept image's row
    /// version, when the image passes the check, else the read.
    fn first(&mut self) -> Next {
        if let (Some(write), Some((images, key))) = (&self.write, &self.images) {
            if let Some((values, row_version)) = images.get(key, Instant::now()) {
                if self.check.check(&values).is_ok() {
                    self.wrote = Wrote::FromImage(row_version.clone());
                    return guarded(write, row_version, &self.types);
                }
            }
        }
        Next::Run(self.read.statement())
    }
}

/// `write` guarded by `row_version`, its rows decoded as `types`.
fn guarded(write: &Sql, row_version: Value, types: &[FieldType]) -> Next {
    Next::Run(ReadStatement::new(
        &write.text,
        with_last_param(write, row_version),
        types,
    ))
}

impl Steps for CompareAndSet {
    fn next(&mut self, rows: Option<Vec<Vec<Value>>>) -> Result<Next, BackendError> {
        let done = |outcome: Outcome| Ok(Next::Done(Box::new(outcome) as WriteOutput));
        let Some(rows) = rows else {
            return Ok(self.first());
        };
        if self.wrote != Wrote::No {
            if let Some(mut row) = rows.into_iter().next() {
                if self.deletes {
                    if let Some((images, key)) = &self.images {
                        images.forget(key);
                    }
                    return done(Outcome::Deleted);
                }
                let row_version = row.pop().ok_or_else(|| internal("no row version"))?;
                if let Some((images, key)) = &self.images {
                    images.put(key.clone(), &row, row_version, Instant::now());
                }
                return done(Outcome::Done(row));
            }
            // Written by someone else since it was read (or since the
            // image was kept): check again. A stale image is forgotten,
            // unless a newer one has replaced it meanwhile.
            match std::mem::replace(&mut self.wrote, Wrote::No) {
                Wrote::FromImage(row_version) => {
                    if let Some((images, key)) = &self.images {
                        images.forget_version(key, &row_version);
                    }
                }
                _ => self.attempts += 1,
            }
            if self.attempts >= COMPARE_AND_SET_ATTEMPTS {
                return Err(BackendError::Busy);
            }
            return Ok(Next::Run(self.read.statement()));
        }
        let current = match self.read.checked(rows, &self.check)? {
            Ok(current) => current,
            Err(outcome) => return done(outcome),
        };
        let Some(write) = &self.write else {
            return done(Outcome::Done(current.values));
        };
        let guard = current.row_version.unwrap_or(Value::Null);
        self.wrote = Wrote::AfterRead;
        Ok(guarded(write, guard, &self.types))
    }
}

/// The update, then the row read back, in one transaction (see
/// [`plan_update`]).
fn update_then_read(
    d: Dialect,
    model: &Model,
    id: &Key,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    check: Precheck,
) -> Result<Work, CrudError> {
    let update = sql::update(d, model, id, values, scope, check.expected_version)?;
    let plain = sql::select_by_id(d, model, id, scope, false);
    let types = column_types(model);
    Ok(write_job(move |conn| {
        if let Some(update) = &update {
            if conn.execute(&update.text, &update.params)? == 0 {
                if check.expected_version.is_none() {
                    return Ok(Outcome::NotFound);
                }
                // Missing, or at another version: only a read tells which.
                let current = conn.query(&plain.text, &plain.params, &types)?;
                return Ok(check.zero_rows(current.first().map(Vec::as_slice)));
            }
        }
        read_plain(conn, &plain, &types)
    }))
}

/// The row read under a lock and checked, updated, and read back, in one
/// transaction (see [`plan_update`]).
fn update_locked(
    d: Dialect,
    model: &Model,
    id: &Key,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    check: Precheck,
    references: Vec<ReferenceCheck>,
) -> Result<Work, CrudError> {
    let read = CurrentRead::locked(d, model, id, scope);
    let reread = sql::select_by_id(d, model, id, scope, false);
    // For a versioned model the version placeholder is the last parameter;
    // it is set to the version read under the lock.
    let update = sql::update(d, model, id, values, scope, Some(0))?;
    let types = column_types(model);
    Ok(write_job(move |conn| {
        let current = match read.run(conn, &check)? {
            Ok(current) => current,
            Err(outcome) => return Ok(outcome),
        };
        if let Some(unknown) = first_unknown(conn, &references)? {
            return Ok(Outcome::Refused(unknown));
        }
        if let Some(outcome) = run_locked_update(conn, update, &current)? {
            return Ok(outcome);
        }
        let row = conn.query(&reread.text, &reread.params, &types)?;
        Ok(Outcome::Done(first_row(row)?))
    }))
}

/// Runs `update` (none when the write changes nothing) on the row read
/// under the lock, a versioned model's update guarded by the version read;
/// the outcome when it changed no row.
fn run_locked_update(
    conn: &mut dyn Conn,
    update: Option<Sql>,
    current: &Current,
) -> Result<Option<Outcome>, BackendError> {
    let Some(update) = update else {
        return Ok(None);
    };
    let params = match current.version {
        Some(v) => with_last_param(&update, Value::Integer(v)),
        None => update.params,
    };
    if conn.execute(&update.text, &params)? > 0 {
        return Ok(None);
    }
    Ok(Some(match current.version {
        Some(v) => Outcome::VersionConflict(v),
        None => Outcome::NotFound,
    }))
}

/// [`update_locked`] with the model's hooks: the row read locked, the
/// `before_update` hook given it and the values (which it may change), the
/// update built from what the hook left, then the `after_write` hook.
#[allow(clippy::too_many_arguments)]
fn update_with_hooks(
    d: Dialect,
    model: &Model,
    id: &Key,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    check: Precheck,
    references: Vec<ReferenceCheck>,
    hooks: WithHooks,
) -> Result<Work, CrudError> {
    let read = CurrentRead::locked(d, model, id, scope);
    let reread = sql::select_by_id(d, model, id, scope, false);
    let types = column_types(model);
    let model = model.clone();
    let scope = scope.cloned();
    let id = id.clone();
    Ok(write_job(move |conn| {
        let current = match read.run(conn, &check)? {
            Ok(current) => current,
            Err(outcome) => return Ok(outcome),
        };
        if let Some(unknown) = first_unknown(conn, &references)? {
            return Ok(Outcome::Refused(unknown));
        }
        let mut values = values;
        let inputs = hooks.inputs(conn, &model, Some(&current.values));
        hooks.hooks.before(WriteKind::Update, inputs, &mut values)?;
        // The scope column is never written by an update.
        if let Some(s) = &scope {
            values.retain(|(c, _)| *c != s.column);
        }
        let values = in_model_order(&model, values, None);
        let update = sql::update(d, &model, &id, values, scope.as_ref(), Some(0))?;
        if let Some(outcome) = run_locked_update(conn, update, &current)? {
            return Ok(outcome);
        }
        let row = first_row(conn.query(&reread.text, &reread.params, &types)?)?;
        hooks.hooks.after(
            WriteKind::Update,
            hooks.inputs(conn, &model, Some(&current.values)),
            &row,
        )?;
        Ok(Outcome::Done(row))
    }))
}

/// Updates a row; see `plan_update`.
///
/// # Errors
///
/// As `plan_update`.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn update(
    backend: &dyn Backend,
    key: &EtagKey,
    model: &Model,
    id: &Key,
    row: Row,
    pre: Precondition,
    scope: Option<&Scope>,
) -> Result<Record, CrudError> {
    plan_update(
        backend.dialect(),
        key,
        model,
        id,
        row,
        pre,
        WriteLimits {
            scope,
            ..WriteLimits::default()
        },
    )?
    .run(backend, model)
    .map(|s| Record::from_stored(model, key, s))
}

/// Plans the delete of a row, conditional on `precondition`, which the row
/// meets when it is deleted:
///
/// - Unconditional, on PostgreSQL and MariaDB: one `DELETE`, limited to
///   the scope, committed on its own; no row deleted means a missing row.
/// - Conditional on PostgreSQL: read (with the row version) and checked
///   here, then deleted by a compare-and-set `DELETE` that requires the
///   row version read, in autocommit, as [`plan_update`] does (and, as
///   there, at once from a kept image of the row that passes the check).
/// - Otherwise: in one transaction, the row read under a lock and checked,
///   then deleted.
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`]; the finished result:
/// [`CrudError::NotFound`], [`CrudError::PreconditionFailed`],
/// [`CrudError::PreconditionRequired`], [`CrudError::Conflict`] (the row is
/// still referenced), or a backend error.
pub(crate) fn plan_delete(
    d: Dialect,
    key: &EtagKey,
    model: &Model,
    id: &Key,
    precondition: Precondition,
    WriteLimits {
        scope,
        rule,
        hooks,
        images,
    }: WriteLimits<'_>,
) -> Result<Planned<()>, CrudError> {
    let scope = check_scope(model, scope)?;
    let check = Precheck::new(key, model, precondition, None, rule)?;
    let deleted = |n: u64| match n {
        0 => Outcome::NotFound,
        _ => Outcome::Deleted,
    };
    let hooked = hooks.filter(|h| h.hooks.any_for(WriteKind::Delete));
    let work = match (d, check.reads_first()) {
        _ if hooked.is_some() => {
            let hooks = hooked.cloned().ok_or_else(|| internal("no hooks"))?;
            let read = CurrentRead::locked(d, model, id, scope);
            let delete = sql::delete(d, model, id, scope);
            let model = model.clone();
            write_job(move |conn| {
                let current = match read.run(conn, &check)? {
                    Ok(current) => current,
                    Err(outcome) => return Ok(outcome),
                };
                let inputs = hooks.inputs(conn, &model, Some(&current.values));
                hooks
                    .hooks
                    .before(WriteKind::Delete, inputs, &mut Vec::new())?;
                let outcome = deleted(conn.execute(&delete.text, &delete.params)?);
                if matches!(outcome, Outcome::Deleted) {
                    let inputs = hooks.inputs(conn, &model, Some(&current.values));
                    hooks
                        .hooks
                        .after(WriteKind::Delete, inputs, &current.values)?;
                }
                Ok(outcome)
            })
        }
        // One statement that says whether the row was there: the backend
        // may commit it in one round trip, from the event loop.
        (Dialect::Postgres, false) => {
            let delete = sql::delete_returning(d, model, id, scope);
            Work::Statement {
                sql: delete.text,
                params: delete.params,
                columns: Vec::new(),
            }
        }
        (Dialect::Mysql, false) => {
            let delete = sql::delete(d, model, id, scope);
            autocommit_job(move |conn| Ok(deleted(conn.execute(&delete.text, &delete.params)?)))
        }
        (Dialect::Postgres, true) => {
            let read = CurrentRead::with_row_version(d, model, id, scope)?;
            // The guard's parameter is last; each attempt sets it to the
            // row version it read.
            let guard = sql::Guard::RowVersion(Value::Null);
            let delete = sql::delete_guarded(d, model, id, scope, &guard)?;
            let images = images.map(|images| (Arc::clone(images), read.image_key()));
            Work::Steps(Box::new(CompareAndSet {
                read,
                check,
                write: Some(delete),
                deletes: true,
                types: Vec::new(),
                attempts: 0,
                wrote: Wrote::No,
                images,
            }))
        }
        _ => {
            let read = CurrentRead::locked(d, model, id, scope);
            let delete = sql::delete(d, model, id, scope);
            write_job(move |conn| {
                if let Err(outcome) = read.run(conn, &check)? {
                    return Ok(outcome);
                }
                Ok(deleted(conn.execute(&delete.text, &delete.params)?))
            })
        }
    };
    let work = name_referencing_table_on_sqlite(d, work, model, id);
    let statement = matches!(work, Work::Statement { .. });
    let id = id.clone();
    Ok(Planned {
        work,
        finish: Box::new(move |model, out| {
            let outcome = if statement {
                unbox::<Vec<Vec<Value>>>(out).map(|rows| deleted(rows.len() as u64))
            } else {
                unbox::<Outcome>(out)
            };
            let outcome: Outcome = outcome.map_err(|e| match e {
                BackendError::Conflict {
                    field,
                    kind: kind @ (ConflictKind::ForeignKey | ConflictKind::Referenced),
                } => CrudError::Referenced {
                    model: model.name().to_owned(),
                    id: id.clone(),
                    by: field.filter(|_| kind == ConflictKind::Referenced),
                },
                e => e.into(),
            })?;
            finish(model, &id, outcome).map(|_| ())
        }),
    })
}

/// Deletes a row; see `plan_delete`.
///
/// # Errors
///
/// As `plan_delete`.
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn delete(
    backend: &dyn Backend,
    key: &EtagKey,
    model: &Model,
    id: &Key,
    precondition: Precondition,
    scope: Option<&Scope>,
) -> Result<(), CrudError> {
    let limits = WriteLimits {
        scope,
        ..WriteLimits::default()
    };
    plan_delete(backend.dialect(), key, model, id, precondition, limits)?.run(backend, model)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::Field;

    /// The compare-and-set statements: read, guarded update with the row
    /// version read; an update that changes nothing is read and tried
    /// again, until the attempts run out; a row that fails the check ends
    /// it unwritten.
    #[test]
    fn compare_and_set_reads_writes_and_tries_again() {
        let model = Model::new("t").field("a", Field::text());
        let key = EtagKey::derive(b"compare and set test key 0123456789");
        let check = |tags: &[&str]| {
            let pre = Precondition::IfMatch(tags.iter().map(|t| (*t).to_owned()).collect());
            Precheck::new(&key, &model, pre, None, None).unwrap()
        };
        let values = vec![("a".to_owned(), Value::Text("new".into()))];
        let plan = |pre| match update_compare_and_set(
            Dialect::Postgres,
            &model,
            &Key::Int(7),
            values.clone(),
            None,
            pre,
            None,
        ) {
            Ok(Work::Steps(steps)) => steps,
            _ => panic!("not planned as steps"),
        };
        let run = |next: Result<Next, BackendError>| match next {
            Ok(Next::Run(statement)) => statement,
            _ => panic!("no statement to run"),
        };
        let row = |a: &str, row_version: i64| {
            vec![vec![
                Value::Integer(7),
                Value::Text(a.into()),
                Value::Integer(row_version),
            ]]
        };
        let mut steps = plan(check(&["*"]));
        let read = run(steps.next(None));
        assert!(read.sql.starts_with("SELECT"), "{}", read.sql);
        for attempt in 0..COMPARE_AND_SET_ATTEMPTS {
            let update = run(steps.next(Some(row("old", 40 + attempt as i64))));
            assert!(update.sql.starts_with("UPDATE"), "{}", update.sql);
            assert_eq!(
                update.params.last(),
                Some(&Value::Integer(40 + attempt as i64))
            );
            // No row back: written in between.
            match steps.next(Some(Vec::new())) {
                Ok(Next::Run(again)) => assert_eq!(again.sql, read.sql),
                Err(BackendError::Busy) => assert_eq!(attempt + 1, COMPARE_AND_SET_ATTEMPTS),
                _ => panic!("neither read again nor given up"),
            }
        }
        // Written: the row the update returned.
        let mut steps = plan(check(&["*"]));
        run(steps.next(None));
        run(steps.next(Some(row("old", 1))));
        // `RETURNING` the selected columns, then the row version, which
        // the written row does not include.
        let written = vec![Value::Integer(7), Value::Text("new".into())];
        let mut returned = written.clone();
        returned.push(Value::Text("2".into()));
        match steps.next(Some(vec![returned])) {
            Ok(Next::Done(out)) => match *out.downcast::<Outcome>().unwrap() {
                Outcome::Done(values) => assert_eq!(values, written),
                _ => panic!("not done"),
            },
            _ => panic!("not done"),
        }
        // A tag that does not match: 412, nothing written; no row: 404.
        let mut steps = plan(check(&["\"nope\""]));
        run(steps.next(None));
        match steps.next(Some(row("old", 1))) {
            Ok(Next::Done(out)) => {
                assert!(matches!(
                    *out.downcast::<Outcome>().unwrap(),
                    Outcome::PreconditionFailed
                ));
            }
            _ => panic!("written despite the tag"),
        }
        let mut steps = plan(check(&["*"]));
        run(steps.next(None));
        match steps.next(Some(Vec::new())) {
            Ok(Next::Done(out)) => {
                assert!(matches!(
                    *out.downcast::<Outcome>().unwrap(),
                    Outcome::NotFound
                ));
            }
            _ => panic!("a missing row written"),
        }
    }

    /// With images: a write's returned row is kept; the next conditional
    /// write of the row whose tag it matches is sent without the read,
    /// guarded by the kept row version; a stale image (no row back) is
    /// forgotten and the row read, without counting an attempt; an image
    /// the tag does not match is not used; a delete from an image forgets it.
    #[test]
    fn an_image_of_the_row_stands_for_the_read() {
        let model = Model::new("t").field("a", Field::text());
        let key = EtagKey::derive(b"row image test key 0123456789abcdef");
        let images = Arc::new(RowImages::default());
        let if_match = |tag: String| Precondition::IfMatch(vec![tag]);
        let plan = |pre| {
            let check = Precheck::new(&key, &model, pre, None, None).unwrap();
            let values = vec![("a".to_owned(), Value::Text("new".into()))];
            let id = Key::Int(7);
            match update_compare_and_set(
                Dialect::Postgres,
                &model,
                &id,
                values,
                None,
                check,
                Some(Arc::clone(&images)),
            ) {
                Ok(Work::Steps(steps)) => steps,
                _ => panic!("not planned as steps"),
            }
        };
        let run = |next: Result<Next, BackendError>| match next {
            Ok(Next::Run(statement)) => statement,
            _ => panic!("no statement to run"),
        };
        let outcome = |next: Result<Next, BackendError>| match next {
            Ok(Next::Done(out)) => *out.downcast::<Outcome>().unwrap(),
            _ => panic!("not done"),
        };
        let stored = |a: &str| vec![Value::Integer(7), Value::Text(a.into())];
        let returned = |a: &str, rv: &str| {
            let mut row = stored(a);
            row.push(Value::Text(rv.into()));
            vec![row]
        };
        let tag = |a: &str| etag(&key, &stored(a));
        // A write with the tag of "old" that reads the row ("old" at
        // `read`) first, then writes "new" at `written`, which is kept.
        let read_then_write = |read: &str, written: &str| {
            let mut steps = plan(if_match(tag("old")));
            assert!(run(steps.next(None)).sql.starts_with("SELECT"));
            run(steps.next(Some(returned("old", read))));
            assert!(matches!(
                outcome(steps.next(Some(returned("new", written)))),
                Outcome::Done(_)
            ));
        };

        // Nothing kept: read, write; the written row is kept.
        read_then_write("40", "41");

        // Its tag: the update at once, guarded by the kept row version.
        let mut steps = plan(if_match(tag("new")));
        let update = run(steps.next(None));
        assert!(update.sql.starts_with("UPDATE"), "{}", update.sql);
        assert_eq!(update.params.last(), Some(&Value::Text("41".into())));
        assert!(matches!(
            outcome(steps.next(Some(returned("new", "42")))),
            Outcome::Done(_)
        ));

        // Stale (written elsewhere): no row back, the image is forgotten
        // and the row read; the attempts are all still there.
        let mut steps = plan(if_match(tag("new")));
        assert!(run(steps.next(None)).sql.starts_with("UPDATE"));
        assert!(run(steps.next(Some(Vec::new()))).sql.starts_with("SELECT"));
        assert!(images.get(&first_key(&model), Instant::now()).is_none());
        for _ in 1..COMPARE_AND_SET_ATTEMPTS {
            run(steps.next(Some(returned("new", "50"))));
            assert!(run(steps.next(Some(Vec::new()))).sql.starts_with("SELECT"));
        }
        run(steps.next(Some(returned("new", "50"))));
        assert!(matches!(
            steps.next(Some(Vec::new())),
            Err(BackendError::Busy)
        ));

        // A kept image the tag does not match: read, and answered by the row.
        read_then_write("60", "61");
        let mut steps = plan(if_match(tag("old")));
        assert!(run(steps.next(None)).sql.starts_with("SELECT"));
        assert!(matches!(
            outcome(steps.next(Some(returned("new", "61")))),
            Outcome::PreconditionFailed
        ));
        // A write after a read that changes nothing leaves the kept image
        // alone (it may be newer than that read).
        let mut steps = plan(if_match(tag("old")));
        assert!(run(steps.next(None)).sql.starts_with("SELECT"));
        run(steps.next(Some(returned("old", "59"))));
        assert!(run(steps.next(Some(Vec::new()))).sql.starts_with("SELECT"));
        assert_eq!(
            images
                .get(&first_key(&model), Instant::now())
                .map(|(_, v)| v),
            Some(Value::Text("61".into()))
        );

        // A delete with the kept image's tag: at once, and forgotten.
        let delete = plan_delete(
            Dialect::Postgres,
            &key,
            &model,
            &Key::Int(7),
            if_match(tag("new")),
            WriteLimits {
                images: Some(&images),
                ..WriteLimits::default()
            },
        )
        .unwrap();
        let Work::Steps(mut steps) = delete.work else {
            panic!("not planned as steps");
        };
        let delete = run(steps.next(None));
        assert!(delete.sql.starts_with("DELETE"), "{}", delete.sql);
        assert_eq!(delete.params.last(), Some(&Value::Text("61".into())));
        assert!(matches!(
            outcome(steps.next(Some(vec![vec![Value::Integer(1)]]))),
            Outcome::Deleted
        ));
        assert!(images.get(&first_key(&model), Instant::now()).is_none());
    }

    /// The image key of row 7 of `model`, unscoped.
    fn first_key(model: &Model) -> String {
        CurrentRead::with_row_version(Dialect::Postgres, model, &Key::Int(7), None)
            .unwrap()
            .image_key()
    }

    #[test]
    fn the_prepared_read_by_id_is_the_built_one() {
        let plain = Model::new("t").field("a", Field::text());
        let scoped = Model::new("n")
            .field("b", Field::integer())
            .scope("o", "sub");
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            for (m, scope) in [
                (&plain, None),
                (
                    &scoped,
                    Some(Scope {
                        column: "o".into(),
                        value: Value::Text("alice".into()),
                    }),
                ),
            ] {
                let built = sql::select_by_id(d, m, &Key::Int(42), scope.as_ref(), false);
                let by_id = ById::new(d, m);
                assert_eq!(&*by_id.text, built.text);
                let mut params = vec![Value::Integer(42)];
                params.extend(scope.map(|s| s.value));
                assert_eq!(params, built.params);
                assert_eq!(&*by_id.columns, column_types(m).as_slice());
            }
        }
    }

    #[test]
    fn a_short_page_gives_the_count() {
        assert_eq!(count_from_page(Some(20), 0, false, 0), Some(0));
        assert_eq!(count_from_page(Some(20), 0, false, 7), Some(7));
        assert_eq!(count_from_page(Some(20), 40, false, 3), Some(43));
    }

    #[test]
    fn a_full_empty_or_keyset_page_needs_the_count() {
        assert_eq!(count_from_page(Some(20), 0, false, 20), None);
        assert_eq!(count_from_page(Some(20), 40, false, 0), None);
        assert_eq!(count_from_page(Some(20), 0, true, 3), None);
        assert_eq!(count_from_page(None, 0, false, 3), None);
    }
}
