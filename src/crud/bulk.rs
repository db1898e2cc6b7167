//! Bulk writes: many rows of one model written by one job, in one
//! transaction, all or nothing.
//!
//! - [`plan_bulk_create`] inserts validated rows. Without hooks, each run
//!   of consecutive rows setting the same columns is one multi-row
//!   `INSERT … RETURNING` (split only past [`sql::MAX_INSERT_PARAMS`]
//!   values) on SQLite, PostgreSQL and MariaDB; with hooks, or on a
//!   dialect without it, the rows are inserted one by one, each hook run
//!   for its row in the same transaction.
//! - [`plan_upsert`] inserts rows or resolves a taken unique key: the
//!   existing row is read by the key under a lock, checked against the
//!   caller's scope and write rule, then written with the database's own
//!   upsert (`INSERT … ON CONFLICT … DO UPDATE/DO NOTHING` on SQLite and
//!   PostgreSQL; `ON DUPLICATE KEY UPDATE` on MariaDB when the key is the
//!   table's one unique key, else an update of the row read).
//!
//! A failure names its item ([`CrudError::Item`]) whenever the failing
//! statement wrote one row, or (a foreign key naming no row) the item can
//! be found by looking the referenced rows up; the job then fails, so its transaction (on
//! SQLite its savepoint in the writer's group) is rolled back.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use super::error::CrudError;
use super::hooks::WriteKind;
use super::ops::{
    check_scope, column_types, fill_key, first_row, first_unknown, in_model_order, internal,
    name_fk_conflict, run_insert, set_foreign_keys, stored, stored_rows, unbox, write_job, Planned,
    ReferenceCheck, SetReference, Stored, WithHooks,
};
use super::validate::Row;
use crate::backend::sql::{self, OnConflict, Scope};
use crate::backend::{BackendError, ConflictKind, Conn, Dialect, Value};
use crate::model::{FieldType, Key, Model};

/// The item that failed inside a bulk job, and its error when it is not
/// the backend error the job returned.
#[derive(Debug)]
struct Failure {
    index: usize,
    error: Option<CrudError>,
}

/// Where a job records which item failed; the first record counts.
type Failed = Arc<OnceLock<Failure>>;

/// A row ready to insert, with what its checks and errors need.
struct Item {
    values: Vec<(String, Value)>,
    checks: Vec<ReferenceCheck>,
    fks: Vec<SetReference>,
}

/// Marks item `index` as failed with the job's error.
fn fail(failed: &Failed, index: usize, e: BackendError) -> BackendError {
    let _ = failed.set(Failure { index, error: None });
    e
}

/// Marks item `index` as failed with `error`, for a job that must roll
/// back.
fn refuse(failed: &Failed, index: usize, error: CrudError) -> BackendError {
    let _ = failed.set(Failure {
        index,
        error: Some(error),
    });
    internal("a bulk item was refused")
}

/// The items of a bulk write: the scope set, values in model order, and
/// every non-null field the database cannot default present.
fn items(model: &Model, rows: Vec<Row>, scope: Option<&Scope>) -> Result<Vec<Item>, CrudError> {
    rows.into_iter()
        .enumerate()
        .map(|(index, mut row)| {
            if let Some(s) = scope {
                row.set(&s.column, s.value.clone());
            }
            fill_key(model, &mut row).map_err(|e| CrudError::Item {
                index,
                source: Box::new(e),
            })?;
            for (name, field) in model.fields() {
                if !field.is_nullable()
                    && field.default_value().is_none()
                    && !field.has_database_default()
                    && row.get(name).is_none()
                {
                    return Err(CrudError::Item {
                        index,
                        source: Box::new(CrudError::MissingValue {
                            field: name.clone(),
                        }),
                    });
                }
            }
            let fks = set_foreign_keys(model, &row);
            let (values, checks) = row.into_parts();
            Ok(Item {
                values: in_model_order(model, values, None),
                checks,
                fks,
            })
        })
        .collect()
}

/// Every item's values of the model's unique fields, to name the item of
/// a unique conflict the database reports for a multi-row statement.
type UniqueValues = Arc<Vec<Vec<(String, Value)>>>;

fn unique_values(model: &Model, items: &[Item]) -> UniqueValues {
    Arc::new(
        items
            .iter()
            .map(|item| {
                item.values
                    .iter()
                    .filter(|(c, v)| {
                        *v != Value::Null
                            && (model.field_named(c).is_some_and(|f| f.is_unique())
                                || (c == model.key_column() && !model.has_generated_key()))
                    })
                    .cloned()
                    .collect()
            })
            .collect(),
    )
}

/// The first item whose `field` repeats an earlier item's value.
fn repeated(unique: &UniqueValues, field: &str) -> Option<usize> {
    let mut seen = HashSet::new();
    unique.iter().position(|values| {
        values
            .iter()
            .find(|(c, _)| c == field)
            .is_some_and(|(_, v)| !seen.insert(v.to_json().to_string()))
    })
}

/// The first of the items `range` whose unique `field` holds a value a
/// stored row has, looked up on the write's connection after a multi-row
/// insert failed on it.
fn first_taken(
    d: Dialect,
    conn: &mut dyn Conn,
    model: &Model,
    field: &str,
    unique: &UniqueValues,
    range: std::ops::Range<usize>,
) -> Option<usize> {
    let types = column_types(model);
    range.into_iter().find(|&index| {
        let value = unique
            .get(index)
            .and_then(|values| values.iter().find(|(c, _)| c == field));
        value.is_some_and(|(c, v)| {
            let q = sql::select_by_key(d, model, &[(c.clone(), v.clone())]);
            conn.query(&q.text, &q.params, &types)
                .is_ok_and(|rows| !rows.is_empty())
        })
    })
}

/// The error of a failed bulk job, naming its item when known.
fn bulk_error(
    e: BackendError,
    failed: &Failed,
    fks: &[Vec<SetReference>],
    unique: &UniqueValues,
) -> CrudError {
    if let Some(f) = failed.get() {
        let error = match &f.error {
            Some(error) => error.clone(),
            None => name_fk_conflict(e, fks.get(f.index).map_or(&[], Vec::as_slice)),
        };
        return CrudError::Item {
            index: f.index,
            source: Box::new(error),
        };
    }
    let error = name_fk_conflict(e, &[]);
    match &error {
        CrudError::Conflict {
            field: Some(field),
            kind: ConflictKind::Unique,
        } => match repeated(unique, field) {
            Some(index) => CrudError::Item {
                index,
                source: Box::new(error),
            },
            None => error,
        },
        _ => error,
    }
}

/// The first of the items `range` of `fks` (with its index) whose foreign
/// key names no row, looked up on the write's connection after a
/// multi-row insert failed on a foreign key, which the database reports
/// without the row.
fn first_missing_parent(
    d: Dialect,
    conn: &mut dyn Conn,
    fks: &[Vec<SetReference>],
    range: std::ops::Range<usize>,
) -> Option<(usize, String)> {
    for index in range {
        for r in fks.get(index).map_or(&[][..], Vec::as_slice) {
            let q = sql::row_exists(d, &r.table, &r.key, &r.id);
            if conn
                .query(&q.text, &q.params, &[FieldType::Integer])
                .is_ok_and(|rows| rows.is_empty())
            {
                return Some((index, r.field.clone()));
            }
        }
    }
    None
}

/// Whether `conn` inserts several rows in one statement and returns them.
fn inserts_many(d: Dialect, conn: &dyn Conn) -> bool {
    match d {
        Dialect::Sqlite | Dialect::Postgres => true,
        Dialect::Mysql => conn.supports_returning(),
        _ => false,
    }
}

/// Plans the insert of validated rows, in one transaction (the scope
/// column of each set from `scope`); the result is the stored rows in the
/// order given, durable once the work has run. Hooks run for each row in
/// turn, inside the transaction.
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`], [`CrudError::Item`] around
/// [`CrudError::MissingValue`]; the finished result: a conflict or an
/// unknown reference, in [`CrudError::Item`] when the item is known, or a
/// backend error. Nothing is written on any error.
pub(crate) fn plan_bulk_create(
    d: Dialect,
    model: &Model,
    rows: Vec<Row>,
    scope: Option<&Scope>,
    hooks: Option<&WithHooks>,
) -> Result<Planned<Vec<Stored>>, CrudError> {
    let scope = check_scope(model, scope)?;
    let items = items(model, rows, scope)?;
    let unique = unique_values(model, &items);
    let types = column_types(model);
    let by_id = sql::select_by_id(d, model, &Key::Int(0), None, false);
    let hooks = hooks
        .filter(|h| h.hooks.any_for(WriteKind::Create))
        .cloned();
    let failed: Failed = Arc::default();
    let job_failed = Arc::clone(&failed);
    let model_c = model.clone();
    let scope_c = scope.cloned();
    let (values, rest): (Vec<_>, Vec<_>) = items
        .into_iter()
        .map(|i| (i.values, (i.checks, i.fks)))
        .unzip();
    let (checks, fks): (Vec<_>, Vec<_>) = rest.into_iter().unzip();
    let job_fks = fks.clone();
    let job_unique = Arc::clone(&unique);
    let work = write_job(move |conn| {
        let failed = job_failed;
        let model = model_c;
        let fks = job_fks;
        for (index, checks) in checks.iter().enumerate() {
            if let Some(unknown) = first_unknown(conn, checks)? {
                return Err(refuse(&failed, index, unknown));
            }
        }
        let mut out = Vec::with_capacity(values.len());
        if let Some(h) = hooks {
            for (index, mut values) in values.into_iter().enumerate() {
                let row = (|| {
                    h.hooks
                        .before(WriteKind::Create, h.inputs(conn, &model, None), &mut values)?;
                    let values = in_model_order(&model, values, scope_c.as_ref());
                    let plan = sql::insert(d, &model, values)?;
                    let row = first_row(run_insert(conn, plan, &by_id, &types)?)?;
                    h.hooks
                        .after(WriteKind::Create, h.inputs(conn, &model, None), &row)?;
                    Ok(row)
                })()
                .map_err(|e| fail(&failed, index, e))?;
                out.push(row);
            }
            return Ok(out);
        }
        let many = inserts_many(d, conn);
        let mut values = values.into_iter().enumerate().peekable();
        while let Some((first, row)) = values.next() {
            let columns: Vec<String> = row.iter().map(|(c, _)| c.clone()).collect();
            let width = columns.len() + usize::from(model.is_versioned());
            let per_statement = (sql::MAX_INSERT_PARAMS / width.max(1)).max(1);
            let mut chunk = vec![row.into_iter().map(|(_, v)| v).collect::<Vec<_>>()];
            while chunk.len() < per_statement {
                let same = values.peek().is_some_and(|(_, next)| {
                    next.len() == columns.len()
                        && next.iter().zip(&columns).all(|((c, _), want)| c == want)
                });
                if !same {
                    break;
                }
                if let Some((_, next)) = values.next() {
                    chunk.push(next.into_iter().map(|(_, v)| v).collect());
                }
            }
            let n = chunk.len();
            if many && !columns.is_empty() && n > 1 {
                // Keys the client gave, in the items' order.
                let given: Option<std::collections::HashMap<Key, usize>> = columns
                    .iter()
                    .position(|c| c == model.key_column() && !model.has_generated_key())
                    .map(|at| {
                        chunk
                            .iter()
                            .enumerate()
                            .filter_map(|(i, r)| Some((r.get(at).and_then(Key::from_value)?, i)))
                            .collect()
                    });
                let q = sql::insert_many(d, &model, &columns, chunk)?;
                let range = first..first + n;
                // A foreign-key failure is pinned to its item by looking
                // the referenced rows up; PostgreSQL needs a savepoint for
                // that, the others keep the transaction usable.
                let probe = fks[range.clone()].iter().any(|f| !f.is_empty());
                let savepoint = probe && d == Dialect::Postgres;
                let (set, back, release) = sql::bulk_savepoint();
                if savepoint {
                    conn.execute(set, &[])?;
                }
                let mut rows = match conn.query(&q.text, &q.params, &types) {
                    Ok(rows) => rows,
                    Err(
                        e @ BackendError::Conflict {
                            kind: ConflictKind::ForeignKey,
                            ..
                        },
                    ) if probe => {
                        if savepoint {
                            conn.execute(back, &[])?;
                        }
                        return Err(match first_missing_parent(d, conn, &fks, range) {
                            Some((index, field)) => fail(
                                &failed,
                                index,
                                BackendError::Conflict {
                                    field: Some(field),
                                    kind: ConflictKind::ForeignKey,
                                },
                            ),
                            None => e,
                        });
                    }
                    // SQLite and MariaDB keep the transaction usable after
                    // the failed statement: the stored row is looked up.
                    Err(BackendError::Conflict {
                        field: Some(field),
                        kind: ConflictKind::Unique,
                    }) if d != Dialect::Postgres => {
                        let field = if field == crate::backend::PRIMARY_KEY_CONFLICT {
                            model.key_column().to_owned()
                        } else {
                            field
                        };
                        let e = BackendError::Conflict {
                            field: Some(field.clone()),
                            kind: ConflictKind::Unique,
                        };
                        return Err(
                            match first_taken(d, conn, &model, &field, &job_unique, range) {
                                Some(index) => fail(&failed, index, e),
                                None => e,
                            },
                        );
                    }
                    Err(e) => return Err(e),
                };
                if savepoint {
                    conn.execute(release, &[])?;
                }
                if rows.len() != n {
                    return Err(internal("a multi-row insert returned another row count"));
                }
                match &given {
                    // Back in the order of the items that gave their keys.
                    Some(keys) => rows.sort_by_key(|r| {
                        r.first()
                            .and_then(Key::from_value)
                            .and_then(|k| keys.get(&k).copied())
                            .unwrap_or(usize::MAX)
                    }),
                    // In the order the database assigned the keys.
                    None => rows.sort_by_key(|r| match r.first() {
                        Some(Value::Integer(id)) => *id,
                        _ => i64::MAX,
                    }),
                }
                out.extend(rows);
            } else {
                for (offset, row) in chunk.into_iter().enumerate() {
                    let index = first + offset;
                    let values = columns.iter().cloned().zip(row).collect();
                    let row = sql::insert(d, &model, values)
                        .and_then(|plan| run_insert(conn, plan, &by_id, &types))
                        .and_then(first_row)
                        .map_err(|e| fail(&failed, index, e))?;
                    out.push(row);
                }
            }
        }
        Ok(out)
    });
    Ok(Planned {
        work,
        finish: Box::new(move |model, out| match unbox::<Vec<Vec<Value>>>(out) {
            Ok(rows) => stored_rows(model, rows),
            Err(e) => Err(bulk_error(e, &failed, &fks, &unique)),
        }),
    })
}

/// What an upsert does with a row whose key is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolve {
    /// Update the existing row with the sent fields.
    Merge,
    /// Leave the existing row; it is not returned.
    Ignore,
}

/// One row of an upsert: its validated values, and the fields that update
/// an existing row (those the client sent, and those the server sets on
/// every update).
pub(crate) struct UpsertRow {
    pub(crate) row: Row,
    pub(crate) update: Vec<String>,
}

/// The caller's limits on an upsert.
pub(crate) struct UpsertLimits<'a> {
    /// The caller's scope of a scoped model.
    pub(crate) scope: Option<&'a Scope>,
    /// The caller's write rule ([`Model::restrict_writes`]), if any.
    pub(crate) rule: Option<&'a Scope>,
    /// The model's hooks, if any.
    pub(crate) hooks: Option<&'a WithHooks>,
}

/// A row written by an upsert, and whether it was created.
pub(crate) type Upserted = (Stored, bool);

/// The columns of the unique key `field` of `model`: the scope column and
/// the field for a field unique within the scope, else the field.
///
/// # Errors
///
/// [`CrudError::InvalidQuery`] naming `on_conflict` for a field that is
/// not unique.
pub(crate) fn conflict_key(model: &Model, field: &str) -> Result<Vec<String>, CrudError> {
    // A key the client gives is unique too.
    if field == model.key_column() && !model.has_generated_key() {
        return Ok(vec![field.to_owned()]);
    }
    let f = model
        .field_named(field)
        .filter(|f| f.is_unique() || f.is_unique_in_scope());
    match (f, model.scope_rule()) {
        (Some(f), Some(rule)) if f.is_unique_in_scope() => {
            Ok(vec![rule.column().to_owned(), field.to_owned()])
        }
        (Some(f), _) if f.is_unique() => Ok(vec![field.to_owned()]),
        _ => Err(CrudError::InvalidQuery {
            message: format!(
                "query parameter `on_conflict`: `{field}` is not a unique field of {}",
                model.name()
            ),
        }),
    }
}

/// The statements of one model's upserts, built from its declaration.
struct UpsertShape {
    key: Vec<String>,
    scope_at: Option<usize>,
    rule_at: Option<usize>,
    /// MariaDB: the key is the table's only unique key, so `ON DUPLICATE
    /// KEY UPDATE` can meet no other.
    only_key: bool,
}

impl UpsertShape {
    fn new(model: &Model, key: Vec<String>, limits: &UpsertLimits<'_>) -> UpsertShape {
        let position = |column: &str| {
            sql::select_columns(model)
                .iter()
                .position(|(c, _)| *c == column)
        };
        let uniques = model
            .fields()
            .iter()
            .filter(|(_, f)| f.is_unique() || f.is_unique_in_scope())
            .count()
            // A key the client gives can collide too.
            + usize::from(!model.has_generated_key());
        UpsertShape {
            scope_at: limits.scope.and_then(|s| position(&s.column)),
            rule_at: limits.rule.and_then(|r| position(&r.column)),
            only_key: uniques == 1,
            key,
        }
    }
}

/// Plans an upsert of validated rows on the unique key `key` (see
/// [`conflict_key`]), in one transaction: a row whose key is free is
/// inserted; a row whose key is taken is merged into the existing row
/// (its `update` fields set) or ignored, as `resolve` says. An existing
/// row in another owner's scope is a conflict, as for an insert, and is
/// never changed or shown; one the caller's write rule does not allow is
/// refused. The result is the rows written in the order given (ignored
/// ones left out), each with whether it was created.
///
/// # Errors
///
/// [`CrudError::ScopeMismatch`]; the finished result: [`CrudError::Item`]
/// around the conflict, [`CrudError::WriteRefused`], unknown reference or
/// backend error of the item that failed. Nothing is written on any error.
pub(crate) fn plan_upsert(
    d: Dialect,
    model: &Model,
    key: Vec<String>,
    rows: Vec<UpsertRow>,
    resolve: Resolve,
    limits: &UpsertLimits<'_>,
) -> Result<Planned<Vec<Upserted>>, CrudError> {
    let scope = check_scope(model, limits.scope)?;
    let shape = UpsertShape::new(model, key, limits);
    let (rows, updates): (Vec<Row>, Vec<Vec<String>>) =
        rows.into_iter().map(|r| (r.row, r.update)).unzip();
    let items = items(model, rows, scope)?;
    let unique = unique_values(model, &items);
    let types = column_types(model);
    let by_id = sql::select_by_id(d, model, &Key::Int(0), None, false);
    let hooks = limits.hooks.cloned();
    let (scope, rule) = (scope.cloned(), limits.rule.cloned());
    let failed: Failed = Arc::default();
    let job_failed = Arc::clone(&failed);
    let model_c = model.clone();
    let (values, rest): (Vec<_>, Vec<_>) = items
        .into_iter()
        .map(|i| (i.values, (i.checks, i.fks)))
        .unzip();
    let (checks, fks): (Vec<_>, Vec<_>) = rest.into_iter().unzip();
    let work = write_job(move |conn| {
        let failed = job_failed;
        let job = UpsertJob {
            d,
            model: &model_c,
            shape: &shape,
            types: &types,
            by_id: &by_id,
            scope: scope.as_ref(),
            rule: rule.as_ref(),
            hooks: hooks.as_ref(),
            resolve,
        };
        let mut out = Vec::with_capacity(values.len());
        for (index, (values, update)) in values.into_iter().zip(updates).enumerate() {
            if let Some(unknown) = first_unknown(conn, &checks[index])? {
                return Err(refuse(&failed, index, unknown));
            }
            match job.one(conn, values, &update) {
                Ok(Ok(Some(row))) => out.push(row),
                Ok(Ok(None)) => {}
                Ok(Err(refused)) => return Err(refuse(&failed, index, refused)),
                Err(e) => return Err(fail(&failed, index, e)),
            }
        }
        Ok(out)
    });
    Ok(Planned {
        work,
        finish: Box::new(
            move |model, out| match unbox::<Vec<(Vec<Value>, bool)>>(out) {
                Ok(rows) => rows
                    .into_iter()
                    .map(|(row, created)| Ok((stored(model, row)?, created)))
                    .collect(),
                Err(e) => Err(bulk_error(e, &failed, &fks, &unique)),
            },
        ),
    })
}

/// What one upsert job holds for each of its rows.
struct UpsertJob<'a> {
    d: Dialect,
    model: &'a Model,
    shape: &'a UpsertShape,
    types: &'a [FieldType],
    by_id: &'a sql::Sql,
    scope: Option<&'a Scope>,
    rule: Option<&'a Scope>,
    hooks: Option<&'a WithHooks>,
    resolve: Resolve,
}

/// One row's outcome: written (and whether created), skipped, or refused.
type RowOutcome = Result<Result<Option<(Vec<Value>, bool)>, CrudError>, BackendError>;

impl UpsertJob<'_> {
    fn conflict(&self) -> CrudError {
        CrudError::Conflict {
            field: self.shape.key.last().cloned(),
            kind: ConflictKind::Unique,
        }
    }

    /// The columns of `values` that update an existing row: those in
    /// `update`, less the key and the scope column.
    fn update_set(&self, values: &[(String, Value)], update: &[String]) -> Vec<(String, Value)> {
        let scope_column = self.scope.map(|s| s.column.as_str());
        values
            .iter()
            .filter(|(c, _)| {
                update.contains(c)
                    && !self.shape.key.contains(c)
                    && c != self.model.key_column()
                    && Some(c.as_str()) != scope_column
            })
            .cloned()
            .collect()
    }

    /// Upserts one row.
    fn one(
        &self,
        conn: &mut dyn Conn,
        values: Vec<(String, Value)>,
        update: &[String],
    ) -> RowOutcome {
        let key: Vec<(String, Value)> = self
            .shape
            .key
            .iter()
            .map(|c| {
                let v = values.iter().find(|(n, _)| n == c).map(|(_, v)| v.clone());
                (c.clone(), v.unwrap_or(Value::Null))
            })
            .collect();
        // A null key is never taken: the row is simply inserted.
        let current = if key.iter().any(|(_, v)| *v == Value::Null) {
            None
        } else {
            let q = sql::select_by_key(self.d, self.model, &key);
            conn.query(&q.text, &q.params, self.types)?
                .into_iter()
                .next()
        };
        match current {
            None => self.insert(conn, values, update),
            Some(current) => {
                let holds = |at: Option<usize>, s: Option<&Scope>| match (at, s) {
                    (Some(i), Some(s)) => current.get(i) == Some(&s.value),
                    _ => true,
                };
                if !holds(self.shape.scope_at, self.scope) {
                    // Another owner's row: the same answer as an insert.
                    return Ok(Err(self.conflict()));
                }
                if self.resolve == Resolve::Ignore {
                    return Ok(Ok(None));
                }
                if !holds(self.shape.rule_at, self.rule) {
                    return Ok(Err(CrudError::WriteRefused {
                        column: self.rule.map(|r| r.column.clone()).unwrap_or_default(),
                    }));
                }
                self.merge(conn, values, update, &key, &current)
            }
        }
    }

    /// Inserts a row whose key was free when read.
    fn insert(
        &self,
        conn: &mut dyn Conn,
        mut values: Vec<(String, Value)>,
        update: &[String],
    ) -> RowOutcome {
        if let Some(h) = self.hooks.filter(|h| h.hooks.any_for(WriteKind::Create)) {
            h.hooks.before(
                WriteKind::Create,
                h.inputs(conn, self.model, None),
                &mut values,
            )?;
            values = in_model_order(self.model, values, self.scope);
        }
        let row = if !matches!(self.d, Dialect::Sqlite | Dialect::Postgres) {
            // MySQL/MariaDB hold a lock on the free key since the read.
            let plan = sql::insert(self.d, self.model, values)?;
            first_row(run_insert(conn, plan, self.by_id, self.types)?)?
        } else {
            // Another transaction may have taken the key meanwhile: the
            // statement resolves it as the request asked, within the
            // caller's scope and write rule.
            let on_conflict = match self.resolve {
                Resolve::Ignore => OnConflict::Nothing,
                Resolve::Merge => OnConflict::Update {
                    values: self.update_set(&values, update),
                    guard: self.scope.into_iter().chain(self.rule).cloned().collect(),
                },
            };
            let key: Vec<&str> = self.shape.key.iter().map(String::as_str).collect();
            let q = sql::upsert(self.d, self.model, &key, values, on_conflict)?;
            match conn
                .query(&q.text, &q.params, self.types)?
                .into_iter()
                .next()
            {
                Some(row) => row,
                None if self.resolve == Resolve::Ignore => return Ok(Ok(None)),
                None => return Ok(Err(self.conflict())),
            }
        };
        if let Some(h) = self.hooks {
            h.hooks
                .after(WriteKind::Create, h.inputs(conn, self.model, None), &row)?;
        }
        Ok(Ok(Some((row, true))))
    }

    /// Updates the existing row `current` (read under a lock) with the
    /// `update` fields of `values`.
    fn merge(
        &self,
        conn: &mut dyn Conn,
        values: Vec<(String, Value)>,
        update: &[String],
        key: &[(String, Value)],
        current: &[Value],
    ) -> RowOutcome {
        let scope_column = self.scope.map(|s| s.column.as_str());
        let mut set = self.update_set(&values, update);
        if let Some(h) = self.hooks.filter(|h| h.hooks.any_for(WriteKind::Update)) {
            h.hooks.before(
                WriteKind::Update,
                h.inputs(conn, self.model, Some(current)),
                &mut set,
            )?;
            set.retain(|(c, _)| {
                Some(c.as_str()) != scope_column
                    && !self.shape.key.contains(c)
                    && c != self.model.key_column()
            });
            set = in_model_order(self.model, set, None);
        }
        let Some(id) = current.first().and_then(Key::from_value) else {
            return Err(internal("the key column holds no key"));
        };
        let key_names: Vec<&str> = self.shape.key.iter().map(String::as_str).collect();
        let row = match self.d {
            Dialect::Sqlite | Dialect::Postgres => {
                let on_conflict = OnConflict::Update {
                    values: set,
                    guard: self.scope.into_iter().chain(self.rule).cloned().collect(),
                };
                let q = sql::upsert(self.d, self.model, &key_names, values, on_conflict)?;
                match conn
                    .query(&q.text, &q.params, self.types)?
                    .into_iter()
                    .next()
                {
                    Some(row) => row,
                    None => return Ok(Err(self.conflict())),
                }
            }
            _ => {
                if self.d == Dialect::Mysql && self.shape.only_key {
                    let on_conflict = OnConflict::Update {
                        values: set,
                        guard: Vec::new(),
                    };
                    let q = sql::upsert(self.d, self.model, &key_names, values, on_conflict)?;
                    conn.execute(&q.text, &q.params)?;
                } else if let Some(q) = sql::update(self.d, self.model, &id, set, None, None)? {
                    conn.execute(&q.text, &q.params)?;
                }
                let q = sql::select_by_key(self.d, self.model, key);
                first_row(conn.query(&q.text, &q.params, self.types)?)?
            }
        };
        if row.first() != current.first() {
            return Err(internal("the upsert wrote another row than the one read"));
        }
        if let Some(h) = self.hooks {
            h.hooks.after(
                WriteKind::Update,
                h.inputs(conn, self.model, Some(current)),
                &row,
            )?;
        }
        Ok(Ok(Some((row, false))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    fn item(values: &[(&str, Value)]) -> Item {
        Item {
            values: values
                .iter()
                .map(|(c, v)| ((*c).to_owned(), v.clone()))
                .collect(),
            checks: Vec::new(),
            fks: Vec::new(),
        }
    }

    #[test]
    fn a_repeated_unique_value_names_the_later_item() {
        let m = Model::new("t")
            .field("email", Field::text().unique())
            .field("n", Field::integer());
        let text = |s: &str| Value::Text(s.into());
        let items = [
            item(&[("email", text("a")), ("n", Value::Integer(1))]),
            item(&[("email", text("b")), ("n", Value::Integer(1))]),
            item(&[("email", Value::Null)]),
            item(&[("email", Value::Null)]),
            item(&[("email", text("b"))]),
        ];
        let unique = unique_values(&m, &items);
        assert_eq!(repeated(&unique, "email"), Some(4));
        assert_eq!(repeated(&unique, "n"), None);
    }

    #[test]
    fn conflict_key_takes_unique_fields_only() {
        let m = Model::new("t")
            .scope("owner", "sub")
            .field("owner", Field::text().read_only())
            .field("email", Field::text().unique())
            .field("handle", Field::text().unique_in_scope())
            .field("n", Field::integer());
        assert_eq!(conflict_key(&m, "email").unwrap(), ["email"]);
        assert_eq!(conflict_key(&m, "handle").unwrap(), ["owner", "handle"]);
        for bad in ["n", "id", "nope"] {
            let e = conflict_key(&m, bad).unwrap_err();
            assert!(e.to_string().contains("`on_conflict`"), "{e}");
        }
    }
}
