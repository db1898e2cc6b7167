//! Statements on one row: [`insert`] (and how each dialect returns the new
//! row), [`select_by_id`], [`update`] and [`delete`], each limited to the
//! caller's [`Scope`] when one is given; and the forms a conditional write
//! sends without a transaction: [`select_by_id_with_row_version`] and the
//! [`Guard`]ed [`update_guarded`] and [`delete_guarded`], which write
//! nothing unless the row is still as it was read. For bulk writes:
//! [`insert_many`] (several rows in one statement), and for upserts
//! [`select_by_key`] and [`upsert`] (`INSERT … ON CONFLICT` /
//! `ON DUPLICATE KEY UPDATE`).

use super::columns::check_column;
use super::{select_columns, Builder, Dialect, Scope, Sql};
use crate::backend::{BackendError, Value};
use crate::model::{Key, Model, VERSION_COLUMN};

/// How to insert a row and get it back (see [`insert`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Insert {
    /// One query that returns the stored row ([`select_columns`] order).
    Returning(Sql),
    /// An insert, then a query returning the row by `LAST_INSERT_ID()`
    /// (MySQL); or, on a server that has it (MariaDB 10.5+), the same
    /// insert returning the row.
    ThenSelect {
        /// The insert.
        insert: Sql,
        /// The select of the new row.
        select: Sql,
        /// The insert with `RETURNING` (see
        /// [`Conn::supports_returning`](crate::backend::Conn::supports_returning)).
        returning: Sql,
    },
    /// An insert whose last placeholder is an out parameter receiving the id
    /// (Oracle); run with
    /// [`Conn::insert_returning_id`](crate::backend::Conn::insert_returning_id),
    /// then select by id.
    ReturningId(Sql),
}

/// What an [`update_guarded`] or [`delete_guarded`] of one row also
/// requires of the row, so that it writes nothing (zero rows) when the row
/// is no longer as it was read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Guard {
    /// Nothing more.
    None,
    /// A versioned model's `version` still holds this.
    Version(i64),
    /// The row version read by [`select_by_id_with_row_version`] is
    /// unchanged: no write has touched the row since (PostgreSQL only).
    RowVersion(Value),
}

/// The expression of a row's version: PostgreSQL's `xmin`, the
/// transaction that wrote this version of the row. Every write of a row
/// makes a new version with the writing transaction's id, and a
/// transaction id is not reused before billions of transactions, so an
/// unchanged `xmin` means an unchanged row. As text, so that it binds as a
/// plain parameter. No user column can be named `xmin` on PostgreSQL.
const PG_ROW_VERSION: &str = "xmin::text";

fn row_version(d: Dialect) -> Result<&'static str, BackendError> {
    match d {
        Dialect::Postgres => Ok(PG_ROW_VERSION),
        _ => Err(BackendError::InvalidQuery {
            message: format!("{d:?} has no row version"),
        }),
    }
}

fn push_guard(b: &mut Builder, guard: &Guard) -> Result<(), BackendError> {
    match guard {
        Guard::None => {}
        Guard::Version(v) => {
            b.push(" AND ")
                .ident(VERSION_COLUMN)
                .push(" = ")
                .param(Value::Integer(*v));
        }
        Guard::RowVersion(v) => {
            let column = row_version(b.dialect)?;
            b.push(" AND ").push(column).push(" = ").param(v.clone());
        }
    }
    Ok(())
}

fn push_scope(b: &mut Builder, scope: Option<&Scope>) {
    if let Some(s) = scope {
        b.push(" AND ")
            .ident(&s.column)
            .push(" = ")
            .param(s.value.clone());
    }
}

/// How to insert `values` (column, value pairs; columns must belong to the
/// model and must not include `id`). The `version` of a versioned model is
/// set to 1. The new row comes back in [`select_columns`] order.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a column the model does not have.
///
/// ```
/// use lightapi::__private::backend::sql::{insert, Insert};
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::integer());
/// let Insert::Returning(q) = insert(Dialect::Sqlite, &m, vec![("a".into(), Value::Integer(1))])? else { panic!() };
/// assert_eq!(q.text, r#"INSERT INTO "t" ("a") VALUES (?) RETURNING "id", "a""#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn insert(
    d: Dialect,
    model: &Model,
    values: Vec<(String, Value)>,
) -> Result<Insert, BackendError> {
    let mut values = values;
    for (name, _) in &values {
        if is_generated_key(model, name) || check_column(model, name)?.is_none() {
            return Err(BackendError::InvalidQuery {
                message: format!("column `{name}` is assigned by the database"),
            });
        }
    }
    if model.is_versioned() {
        values.push((VERSION_COLUMN.to_owned(), Value::Integer(1)));
    }
    let given_key = (!model.has_generated_key())
        .then(|| {
            values
                .iter()
                .find(|(n, _)| n == model.key_column())
                .map(|(_, v)| v.clone())
        })
        .flatten();
    let mut b = Builder::new(d);
    b.push("INSERT INTO ").ident(model.name());
    if values.is_empty() {
        match d {
            Dialect::Mysql => {
                b.push(" () VALUES ()");
            }
            Dialect::Oracle => {
                b.push(" (")
                    .ident(model.key_column())
                    .push(") VALUES (DEFAULT)");
            }
            Dialect::MsSql => {
                b.push(" OUTPUT ");
                push_inserted_list(&mut b, model);
                b.push(" DEFAULT VALUES");
            }
            Dialect::Sqlite | Dialect::Postgres => {
                b.push(" DEFAULT VALUES");
            }
        }
    } else {
        b.push(" (");
        for (i, (name, _)) in values.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.ident(name);
        }
        b.push(")");
        if d == Dialect::MsSql {
            b.push(" OUTPUT ");
            push_inserted_list(&mut b, model);
        }
        b.push(" VALUES (");
        for (i, (_, value)) in values.into_iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.param(value);
        }
        b.push(")");
    }
    Ok(match d {
        Dialect::Sqlite | Dialect::Postgres => {
            b.push(" RETURNING ").column_list(model);
            Insert::Returning(b.finish())
        }
        Dialect::MsSql => Insert::Returning(b.finish()),
        Dialect::Mysql => {
            let mut returning = Builder::new(d);
            returning
                .push(&b.text)
                .push(" RETURNING ")
                .column_list(model);
            returning.params.clone_from(&b.params);
            let mut s = Builder::new(d);
            s.push("SELECT ")
                .column_list(model)
                .push(" FROM ")
                .ident(model.name())
                .push(" WHERE ")
                .ident(model.key_column());
            match given_key {
                Some(key) => s.push(" = ").param(key),
                None => s.push(" = LAST_INSERT_ID()"),
            };
            Insert::ThenSelect {
                insert: b.finish(),
                select: s.finish(),
                returning: returning.finish(),
            }
        }
        Dialect::Oracle if given_key.is_some() => {
            let mut s = Builder::new(d);
            s.push("SELECT ")
                .column_list(model)
                .push(" FROM ")
                .ident(model.name())
                .push(" WHERE ")
                .ident(model.key_column())
                .push(" = ");
            if let Some(key) = given_key {
                s.param(key);
            }
            let insert = b.finish();
            Insert::ThenSelect {
                returning: insert.clone(),
                insert,
                select: s.finish(),
            }
        }
        Dialect::Oracle => {
            b.push(" RETURNING ")
                .ident(model.key_column())
                .push(" INTO ");
            let out = d.placeholder(b.params.len() + 1);
            b.push(&out);
            Insert::ReturningId(b.finish())
        }
    })
}

/// Whether `name` is a key the database assigns (an integer key): never
/// written by a statement.
fn is_generated_key(model: &Model, name: &str) -> bool {
    model.has_generated_key() && name == model.key_column()
}

fn push_inserted_list(b: &mut Builder, model: &Model) {
    for (i, (name, _)) in select_columns(model).into_iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push("INSERTED.").ident(name);
    }
}

/// `SELECT` of one row by id (and scope). With `for_update`, the row is
/// locked for the rest of the transaction where the dialect needs it
/// (`FOR UPDATE`, MS-SQL `WITH (UPDLOCK, ROWLOCK)`; SQLite writes are
/// serialised anyway).
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Dialect};
/// use lightapi::model::{Key, Model};
/// let q = sql::select_by_id(Dialect::MsSql, &Model::new("t"), &Key::Int(1), None, true);
/// assert_eq!(q.text, "SELECT [id] FROM [t] WITH (UPDLOCK, ROWLOCK) WHERE [id] = @P1");
/// ```
pub fn select_by_id(
    d: Dialect,
    model: &Model,
    id: &Key,
    scope: Option<&Scope>,
    for_update: bool,
) -> Sql {
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(model)
        .push(" FROM ")
        .ident(model.name());
    if for_update && d == Dialect::MsSql {
        b.push(" WITH (UPDLOCK, ROWLOCK)");
    }
    b.push(" WHERE ")
        .ident(model.key_column())
        .push(" = ")
        .param(id.to_value());
    push_scope(&mut b, scope);
    if for_update && matches!(d, Dialect::Postgres | Dialect::Mysql | Dialect::Oracle) {
        b.push(" FOR UPDATE");
    }
    b.finish()
}

/// `SELECT` of one row by id (and scope), with the row's version (see
/// [`Guard::RowVersion`]) as one more column, last; `None` for a dialect
/// without row versions (all but PostgreSQL).
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Key, Model};
/// let q = sql::select_by_id_with_row_version(Dialect::Postgres, &Model::new("t"), &Key::Int(1), None).unwrap();
/// assert_eq!(q.text, r#"SELECT "id", xmin::text FROM "t" WHERE "id" = $1"#);
/// assert!(sql::select_by_id_with_row_version(Dialect::Mysql, &Model::new("t"), &Key::Int(1), None).is_none());
/// ```
pub fn select_by_id_with_row_version(
    d: Dialect,
    model: &Model,
    id: &Key,
    scope: Option<&Scope>,
) -> Option<Sql> {
    let column = row_version(d).ok()?;
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(model)
        .push(", ")
        .push(column)
        .push(" FROM ")
        .ident(model.name())
        .push(" WHERE ")
        .ident(model.key_column())
        .push(" = ")
        .param(id.to_value());
    push_scope(&mut b, scope);
    Some(b.finish())
}

/// `UPDATE` of one row by id (and scope). For a versioned model the
/// statement also increments `version`, and with `expected_version` only
/// updates a row still at that version. Returns `None` when there is nothing
/// to change (no values, not versioned).
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a column the model does not have, or
/// `id`/`version`.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Field, Key, Model};
/// let m = Model::new("t").field("a", Field::integer()).versioned();
/// let q = sql::update(Dialect::Postgres, &m, &Key::Int(5), vec![("a".into(), Value::Integer(2))], None, Some(3))?.unwrap();
/// assert_eq!(q.text, r#"UPDATE "t" SET "a" = $1, "version" = "version" + 1 WHERE "id" = $2 AND "version" = $3"#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn update(
    d: Dialect,
    model: &Model,
    id: &Key,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    expected_version: Option<i64>,
) -> Result<Option<Sql>, BackendError> {
    let guard = match (model.is_versioned(), expected_version) {
        (true, Some(v)) => Guard::Version(v),
        _ => Guard::None,
    };
    update_guarded(d, model, id, values, scope, &guard, false)
}

/// [`update`] with a [`Guard`] (its parameter last), and with
/// `returning`, the updated row back ([`select_columns`] order; PostgreSQL
/// and SQLite only, as `UPDATE … RETURNING`), followed, under a
/// [`Guard::RowVersion`], by the row version the update left. Zero rows
/// when the row is missing, out of scope or fails the guard.
///
/// # Errors
///
/// As [`update`]; [`BackendError::InvalidQuery`] for a guard the dialect
/// cannot express.
///
/// ```
/// use lightapi::__private::backend::sql::{self, Guard};
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Field, Key, Model};
/// let m = Model::new("t").field("a", Field::integer());
/// let guard = Guard::RowVersion(Value::Text("771".into()));
/// let q = sql::update_guarded(Dialect::Postgres, &m, &Key::Int(5), vec![("a".into(), Value::Integer(2))], None, &guard, true)?.unwrap();
/// assert_eq!(q.text, r#"UPDATE "t" SET "a" = $1 WHERE "id" = $2 AND xmin::text = $3 RETURNING "id", "a", xmin::text"#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn update_guarded(
    d: Dialect,
    model: &Model,
    id: &Key,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    guard: &Guard,
    returning: bool,
) -> Result<Option<Sql>, BackendError> {
    for (name, _) in &values {
        if check_column(model, name)?.is_none() {
            return Err(BackendError::InvalidQuery {
                message: format!("column `{name}` cannot be set"),
            });
        }
    }
    if values.is_empty() && !model.is_versioned() {
        return Ok(None);
    }
    let mut b = Builder::new(d);
    b.push("UPDATE ").ident(model.name()).push(" SET ");
    let n = values.len();
    for (i, (name, value)) in values.into_iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.ident(&name).push(" = ").param(value);
    }
    if model.is_versioned() {
        if n > 0 {
            b.push(", ");
        }
        b.ident(VERSION_COLUMN)
            .push(" = ")
            .ident(VERSION_COLUMN)
            .push(" + 1");
    }
    b.push(" WHERE ")
        .ident(model.key_column())
        .push(" = ")
        .param(id.to_value());
    push_scope(&mut b, scope);
    push_guard(&mut b, guard)?;
    if returning {
        b.push(" RETURNING ").column_list(model);
        if let Guard::RowVersion(_) = guard {
            b.push(", ").push(row_version(d)?);
        }
    }
    Ok(Some(b.finish()))
}

/// `DELETE` of one row by id (and scope).
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Dialect};
/// use lightapi::model::{Key, Model};
/// let q = sql::delete(Dialect::Mysql, &Model::new("t"), &Key::Int(1), None);
/// assert_eq!(q.text, "DELETE FROM `t` WHERE `id` = ?");
/// ```
pub fn delete(d: Dialect, model: &Model, id: &Key, scope: Option<&Scope>) -> Sql {
    delete_builder(d, model, id, scope).finish()
}

/// [`delete`] returning one row per row deleted, for dialects with
/// `DELETE … RETURNING` (PostgreSQL): one statement that says whether the
/// row was there.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Key, Model};
/// let q = sql::delete_returning(Dialect::Postgres, &Model::new("t"), &Key::Int(1), None);
/// assert_eq!(q.text, r#"DELETE FROM "t" WHERE "id" = $1 RETURNING 1"#);
/// ```
pub fn delete_returning(d: Dialect, model: &Model, id: &Key, scope: Option<&Scope>) -> Sql {
    let mut b = delete_builder(d, model, id, scope);
    b.push(" RETURNING 1");
    b.finish()
}

/// [`delete`] with a [`Guard`] (its parameter last): deletes nothing when
/// the row fails it. Under a [`Guard::RowVersion`] (PostgreSQL) it returns
/// one row per row deleted, as [`delete_returning`].
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a guard the dialect cannot express.
///
/// ```
/// use lightapi::__private::backend::sql::{self, Guard};
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Key, Model};
/// let guard = Guard::RowVersion(Value::Text("771".into()));
/// let q = sql::delete_guarded(Dialect::Postgres, &Model::new("t"), &Key::Int(1), None, &guard)?;
/// assert_eq!(q.text, r#"DELETE FROM "t" WHERE "id" = $1 AND xmin::text = $2 RETURNING 1"#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn delete_guarded(
    d: Dialect,
    model: &Model,
    id: &Key,
    scope: Option<&Scope>,
    guard: &Guard,
) -> Result<Sql, BackendError> {
    let mut b = delete_builder(d, model, id, scope);
    push_guard(&mut b, guard)?;
    if let Guard::RowVersion(_) = guard {
        b.push(" RETURNING 1");
    }
    Ok(b.finish())
}

fn delete_builder(d: Dialect, model: &Model, id: &Key, scope: Option<&Scope>) -> Builder {
    let mut b = Builder::new(d);
    b.push("DELETE FROM ")
        .ident(model.name())
        .push(" WHERE ")
        .ident(model.key_column())
        .push(" = ")
        .param(id.to_value());
    push_scope(&mut b, scope);
    b
}

/// The savepoint a bulk write sets around a statement whose failure it
/// must look into afterwards, on a database where a failed statement
/// aborts the transaction (PostgreSQL): `(set, back to it, release)`.
///
/// ```
/// let (set, back, release) = lightapi::__private::backend::sql::bulk_savepoint();
/// assert_eq!(set, "SAVEPOINT lightapi_bulk");
/// assert_eq!(back, "ROLLBACK TO SAVEPOINT lightapi_bulk");
/// assert_eq!(release, "RELEASE SAVEPOINT lightapi_bulk");
/// ```
pub fn bulk_savepoint() -> (&'static str, &'static str, &'static str) {
    (
        "SAVEPOINT lightapi_bulk",
        "ROLLBACK TO SAVEPOINT lightapi_bulk",
        "RELEASE SAVEPOINT lightapi_bulk",
    )
}

/// Most bound values one [`insert_many`] statement is given: below every
/// supported dialect's limit (SQLite 32,766; PostgreSQL and MySQL 65,535).
pub const MAX_INSERT_PARAMS: usize = 30_000;

/// One `INSERT` of several rows that returns them ([`select_columns`]
/// order), for SQLite, PostgreSQL and MariaDB (10.5+, `RETURNING`); every
/// row sets the same `columns`, in that order, and `version` of a
/// versioned model is set to 1. The rows come back in the order the
/// database assigned their ids, which is the order of `rows`.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a dialect without it, no column or
/// no row, a row of another length, a column the model does not have, or
/// more than [`MAX_INSERT_PARAMS`] values.
///
/// ```
/// use lightapi::__private::backend::sql::insert_many;
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::integer());
/// let rows = vec![vec![Value::Integer(1)], vec![Value::Integer(2)]];
/// let q = insert_many(Dialect::Postgres, &m, &["a".to_owned()], rows)?;
/// assert_eq!(q.text, r#"INSERT INTO "t" ("a") VALUES ($1), ($2) RETURNING "id", "a""#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn insert_many(
    d: Dialect,
    model: &Model,
    columns: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<Sql, BackendError> {
    let invalid = |message: String| BackendError::InvalidQuery { message };
    if !matches!(d, Dialect::Sqlite | Dialect::Postgres | Dialect::Mysql) {
        return Err(invalid(format!("{d:?} has no multi-row insert")));
    }
    if columns.is_empty() || rows.is_empty() {
        return Err(invalid("a multi-row insert needs columns and rows".into()));
    }
    for name in columns {
        if is_generated_key(model, name) || check_column(model, name)?.is_none() {
            return Err(invalid(format!(
                "column `{name}` is assigned by the database"
            )));
        }
    }
    let width = columns.len() + usize::from(model.is_versioned());
    if rows.iter().any(|r| r.len() != columns.len())
        || rows.len().saturating_mul(width) > MAX_INSERT_PARAMS
    {
        return Err(invalid("rows do not fit one multi-row insert".into()));
    }
    let mut b = Builder::new(d);
    b.push("INSERT INTO ").ident(model.name()).push(" (");
    for (i, name) in columns.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.ident(name);
    }
    if model.is_versioned() {
        b.push(", ").ident(VERSION_COLUMN);
    }
    b.push(") VALUES ");
    for (r, row) in rows.into_iter().enumerate() {
        b.push(if r > 0 { ", (" } else { "(" });
        for (i, value) in row.into_iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.param(value);
        }
        if model.is_versioned() {
            b.push(", ").param(Value::Integer(1));
        }
        b.push(")");
    }
    b.push(" RETURNING ").column_list(model);
    Ok(b.finish())
}

/// `SELECT` of the row whose `key` columns hold `values` (a unique key,
/// with the scope column first for a key unique within a scope), locked
/// for the rest of the transaction where the dialect needs it
/// (`FOR UPDATE`; on MySQL/MariaDB this also locks the gap where a missing
/// row would go, so no other transaction can insert it meanwhile).
///
/// ```
/// use lightapi::__private::backend::sql::select_by_key;
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("email", Field::text().unique());
/// let q = select_by_key(Dialect::Mysql, &m, &[("email".into(), Value::Text("a@b".into()))]);
/// assert_eq!(q.text, "SELECT `id`, `email` FROM `t` WHERE `email` = ? FOR UPDATE");
/// ```
pub fn select_by_key(d: Dialect, model: &Model, key: &[(String, Value)]) -> Sql {
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(model)
        .push(" FROM ")
        .ident(model.name());
    for (i, (column, value)) in key.iter().enumerate() {
        b.push(if i == 0 { " WHERE " } else { " AND " })
            .ident(column)
            .push(" = ")
            .param(value.clone());
    }
    if matches!(d, Dialect::Postgres | Dialect::Mysql | Dialect::Oracle) {
        b.push(" FOR UPDATE");
    }
    b.finish()
}

/// What an [`upsert`] does when the row's key is taken.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OnConflict {
    /// Leave the existing row (`DO NOTHING`): the statement returns no row.
    Nothing,
    /// Set these columns of the existing row (and step a versioned model's
    /// `version`), only if each `guard` column of the existing row still
    /// holds its value (SQLite and PostgreSQL; a guarded row that fails
    /// is left and the statement returns no row).
    Update {
        /// The columns to set.
        values: Vec<(String, Value)>,
        /// What the existing row must hold to be updated.
        guard: Vec<Scope>,
    },
}

/// `INSERT` of one row that resolves a taken unique `key` (its columns,
/// the scope column first for a key unique within a scope) as `on_conflict`
/// says, with the database's own statement: SQLite and PostgreSQL
/// `INSERT … ON CONFLICT (key) DO UPDATE SET … WHERE … RETURNING` (or
/// `DO NOTHING RETURNING`), returning the row written ([`select_columns`]
/// order); MySQL/MariaDB `INSERT … ON DUPLICATE KEY UPDATE`, which returns
/// nothing (read the row back by its key) and resolves a conflict on any
/// unique key of the table, so it is only for a table whose one unique key
/// is `key`.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a column the model does not have,
/// an empty row or key, or what the dialect cannot express (another
/// dialect, `DO NOTHING` or a guard on MySQL).
///
/// ```
/// use lightapi::__private::backend::sql::{upsert, OnConflict};
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("email", Field::text().unique()).field("n", Field::integer());
/// let row = vec![("email".into(), Value::Text("a@b".into())), ("n".into(), Value::Integer(1))];
/// let set = OnConflict::Update { values: vec![("n".into(), Value::Integer(1))], guard: vec![] };
/// let q = upsert(Dialect::Sqlite, &m, &["email"], row, set)?;
/// assert_eq!(
///     q.text,
///     r#"INSERT INTO "t" ("email", "n") VALUES (?, ?) ON CONFLICT ("email") DO UPDATE SET "n" = ? RETURNING "id", "email", "n""#
/// );
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn upsert(
    d: Dialect,
    model: &Model,
    key: &[&str],
    values: Vec<(String, Value)>,
    on_conflict: OnConflict,
) -> Result<Sql, BackendError> {
    let invalid = |message: String| BackendError::InvalidQuery { message };
    let native = matches!(d, Dialect::Sqlite | Dialect::Postgres);
    match (&on_conflict, d) {
        (_, Dialect::Sqlite | Dialect::Postgres) => {}
        (OnConflict::Update { guard, .. }, Dialect::Mysql) if guard.is_empty() => {}
        _ => return Err(invalid(format!("{d:?} cannot express this upsert"))),
    }
    if key.is_empty() || values.is_empty() {
        return Err(invalid("an upsert needs a key and values".into()));
    }
    for name in key
        .iter()
        .copied()
        .chain(values.iter().map(|(n, _)| n.as_str()))
    {
        if is_generated_key(model, name) || check_column(model, name)?.is_none() {
            return Err(invalid(format!(
                "column `{name}` is assigned by the database"
            )));
        }
    }
    let (Insert::Returning(insert) | Insert::ThenSelect { insert, .. }) = insert(d, model, values)?
    else {
        return Err(invalid(format!("{d:?} cannot express this upsert")));
    };
    let mut insert = insert;
    if native {
        // `insert` ended with its RETURNING list: the clause goes before it.
        let at = insert
            .text
            .rfind(" RETURNING ")
            .unwrap_or(insert.text.len());
        insert.text.truncate(at);
    }
    let mut b = Builder::new(d);
    b.text = insert.text;
    b.params = insert.params;
    if native {
        b.push(" ON CONFLICT (");
        for (i, column) in key.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.ident(column);
        }
        b.push(")");
    }
    match on_conflict {
        OnConflict::Nothing => {
            b.push(" DO NOTHING");
        }
        OnConflict::Update { values, guard } => {
            b.push(if native {
                " DO UPDATE SET "
            } else {
                " ON DUPLICATE KEY UPDATE "
            });
            let mut first = true;
            for (name, value) in values {
                if name == model.key_column()
                    || name == VERSION_COLUMN
                    || check_column(model, &name)?.is_none()
                {
                    return Err(invalid(format!("column `{name}` cannot be set")));
                }
                if !first {
                    b.push(", ");
                }
                first = false;
                b.ident(&name).push(" = ").param(value);
            }
            if model.is_versioned() {
                if !first {
                    b.push(", ");
                }
                first = false;
                b.ident(VERSION_COLUMN).push(" = ");
                if native {
                    b.ident(model.name()).push(".");
                }
                b.ident(VERSION_COLUMN).push(" + 1");
            }
            if first {
                // Nothing to set: the key set to itself, so the statement
                // still reports (and on PostgreSQL locks) the row.
                b.ident(key[0]).push(" = ");
                if native {
                    b.ident(model.name()).push(".");
                }
                b.ident(key[0]);
            }
            for (i, g) in guard.into_iter().enumerate() {
                b.push(if i == 0 { " WHERE " } else { " AND " })
                    .ident(model.name())
                    .push(".")
                    .ident(&g.column)
                    .push(" = ")
                    .param(g.value);
            }
        }
    }
    if native {
        b.push(" RETURNING ").column_list(model);
    }
    Ok(b.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sql::fixtures::{text, ALL};
    use crate::model::Field;

    #[test]
    fn insert_forms() {
        let m = Model::new("t")
            .field("a", Field::integer())
            .field("b", Field::text());
        let values = || {
            vec![
                ("a".to_owned(), Value::Integer(1)),
                ("b".to_owned(), text("x")),
            ]
        };
        let Insert::Returning(q) = insert(Dialect::Sqlite, &m, values()).unwrap() else {
            panic!()
        };
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("a", "b") VALUES (?, ?) RETURNING "id", "a", "b""#
        );
        assert_eq!(q.params, vec![Value::Integer(1), text("x")]);
        let Insert::Returning(q) = insert(Dialect::Postgres, &m, values()).unwrap() else {
            panic!()
        };
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("a", "b") VALUES ($1, $2) RETURNING "id", "a", "b""#
        );
        let Insert::Returning(q) = insert(Dialect::MsSql, &m, values()).unwrap() else {
            panic!()
        };
        assert_eq!(
            q.text,
            "INSERT INTO [t] ([a], [b]) OUTPUT INSERTED.[id], INSERTED.[a], INSERTED.[b] VALUES (@P1, @P2)"
        );
        let Insert::ThenSelect {
            insert: i,
            select,
            returning,
        } = insert(Dialect::Mysql, &m, values()).unwrap()
        else {
            panic!()
        };
        assert_eq!(i.text, "INSERT INTO `t` (`a`, `b`) VALUES (?, ?)");
        assert_eq!(
            returning.text,
            "INSERT INTO `t` (`a`, `b`) VALUES (?, ?) RETURNING `id`, `a`, `b`"
        );
        assert_eq!(returning.params, i.params);
        assert_eq!(
            select.text,
            "SELECT `id`, `a`, `b` FROM `t` WHERE `id` = LAST_INSERT_ID()"
        );
        let Insert::ReturningId(q) = insert(Dialect::Oracle, &m, values()).unwrap() else {
            panic!()
        };
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("a", "b") VALUES (:1, :2) RETURNING "id" INTO :3"#
        );
        assert_eq!(q.params.len(), 2);
    }

    #[test]
    fn insert_sets_version_and_handles_empty_rows() {
        let m = Model::new("t").versioned();
        let Insert::Returning(q) = insert(Dialect::Sqlite, &m, vec![]).unwrap() else {
            panic!()
        };
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("version") VALUES (?) RETURNING "id", "version""#
        );
        let m = Model::new("t");
        let expected = [
            r#"INSERT INTO "t" DEFAULT VALUES RETURNING "id""#,
            r#"INSERT INTO "t" DEFAULT VALUES RETURNING "id""#,
            "INSERT INTO `t` () VALUES ()",
            "INSERT INTO [t] OUTPUT INSERTED.[id] DEFAULT VALUES",
            r#"INSERT INTO "t" ("id") VALUES (DEFAULT) RETURNING "id" INTO :1"#,
        ];
        for (d, want) in ALL.into_iter().zip(expected) {
            let got = match insert(d, &m, vec![]).unwrap() {
                Insert::Returning(q) | Insert::ReturningId(q) => q.text,
                Insert::ThenSelect { insert, .. } => insert.text,
            };
            assert_eq!(got, want, "{d:?}");
        }
    }

    #[test]
    fn insert_rejects_unknown_and_assigned_columns() {
        let m = Model::new("t").field("a", Field::integer()).versioned();
        for bad in ["id", "version", "zzz"] {
            assert!(matches!(
                insert(Dialect::Sqlite, &m, vec![(bad.to_owned(), Value::Null)]),
                Err(BackendError::InvalidQuery { .. })
            ));
        }
    }

    #[test]
    fn select_by_id_all_dialects() {
        let m = Model::new("t").field("a", Field::integer());
        let scope = Scope {
            column: "a".into(),
            value: Value::Integer(9),
        };
        let expected = [
            r#"SELECT "id", "a" FROM "t" WHERE "id" = ? AND "a" = ?"#,
            r#"SELECT "id", "a" FROM "t" WHERE "id" = $1 AND "a" = $2 FOR UPDATE"#,
            "SELECT `id`, `a` FROM `t` WHERE `id` = ? AND `a` = ? FOR UPDATE",
            "SELECT [id], [a] FROM [t] WITH (UPDLOCK, ROWLOCK) WHERE [id] = @P1 AND [a] = @P2",
            r#"SELECT "id", "a" FROM "t" WHERE "id" = :1 AND "a" = :2 FOR UPDATE"#,
        ];
        for (d, want) in ALL.into_iter().zip(expected) {
            let q = select_by_id(d, &m, &Key::Int(3), Some(&scope), true);
            assert_eq!(q.text, want);
            assert_eq!(q.params, vec![Value::Integer(3), Value::Integer(9)]);
        }
    }

    #[test]
    fn update_delete() {
        let m = Model::new("t").field("a", Field::integer());
        let scope = Scope {
            column: "a".into(),
            value: Value::Integer(1),
        };
        let u = update(
            Dialect::MsSql,
            &m,
            &Key::Int(4),
            vec![("a".into(), Value::Integer(2))],
            Some(&scope),
            Some(7),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            u.text,
            "UPDATE [t] SET [a] = @P1 WHERE [id] = @P2 AND [a] = @P3"
        );
        assert!(
            update(Dialect::Sqlite, &m, &Key::Int(4), vec![], None, None)
                .unwrap()
                .is_none()
        );
        let v = update(
            Dialect::Oracle,
            &m.clone().versioned(),
            &Key::Int(4),
            vec![],
            None,
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            v.text,
            r#"UPDATE "t" SET "version" = "version" + 1 WHERE "id" = :1"#
        );
        assert!(update(
            Dialect::Sqlite,
            &m,
            &Key::Int(4),
            vec![("id".into(), Value::Integer(2))],
            None,
            None
        )
        .is_err());
        let d = delete(Dialect::Oracle, &m, &Key::Int(4), Some(&scope));
        assert_eq!(d.text, r#"DELETE FROM "t" WHERE "id" = :1 AND "a" = :2"#);
    }

    #[test]
    fn insert_many_per_dialect() {
        let m = Model::new("t")
            .field("a", Field::integer())
            .field("b", Field::text())
            .versioned();
        let cols = ["a".to_owned(), "b".to_owned()];
        let rows = || {
            vec![
                vec![Value::Integer(1), text("x")],
                vec![Value::Integer(2), text("y")],
            ]
        };
        let q = insert_many(Dialect::Sqlite, &m, &cols, rows()).unwrap();
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("a", "b", "version") VALUES (?, ?, ?), (?, ?, ?) RETURNING "id", "a", "b", "version""#
        );
        assert_eq!(
            q.params,
            vec![
                Value::Integer(1),
                text("x"),
                Value::Integer(1),
                Value::Integer(2),
                text("y"),
                Value::Integer(1)
            ]
        );
        let q = insert_many(Dialect::Postgres, &m, &cols, rows()).unwrap();
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("a", "b", "version") VALUES ($1, $2, $3), ($4, $5, $6) RETURNING "id", "a", "b", "version""#
        );
        let q = insert_many(Dialect::Mysql, &m, &cols, rows()).unwrap();
        assert_eq!(
            q.text,
            "INSERT INTO `t` (`a`, `b`, `version`) VALUES (?, ?, ?), (?, ?, ?) RETURNING `id`, `a`, `b`, `version`"
        );
        for d in [Dialect::MsSql, Dialect::Oracle] {
            assert!(insert_many(d, &m, &cols, rows()).is_err(), "{d:?}");
        }
        // Refused: no rows, a row of another width, an assigned column,
        // more values than one statement takes.
        assert!(insert_many(Dialect::Sqlite, &m, &cols, vec![]).is_err());
        let short = vec![vec![Value::Integer(1)]];
        assert!(insert_many(Dialect::Sqlite, &m, &cols, short).is_err());
        let id = ["id".to_owned()];
        assert!(insert_many(Dialect::Sqlite, &m, &id, vec![vec![Value::Integer(1)]]).is_err());
        let many = vec![vec![Value::Integer(1), text("x")]; MAX_INSERT_PARAMS / 3 + 1];
        assert!(insert_many(Dialect::Sqlite, &m, &cols, many).is_err());
    }

    #[test]
    fn upsert_per_dialect() {
        let m = Model::new("t")
            .field("owner", Field::text())
            .field("k", Field::text().unique())
            .field("n", Field::integer())
            .versioned();
        let row = || {
            vec![
                ("k".to_owned(), text("a")),
                ("n".to_owned(), Value::Integer(1)),
            ]
        };
        let set = || vec![("n".to_owned(), Value::Integer(2))];
        let guarded = || OnConflict::Update {
            values: set(),
            guard: vec![Scope {
                column: "owner".into(),
                value: text("al"),
            }],
        };
        let q = upsert(Dialect::Postgres, &m, &["k"], row(), guarded()).unwrap();
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("k", "n", "version") VALUES ($1, $2, $3) ON CONFLICT ("k") DO UPDATE SET "n" = $4, "version" = "t"."version" + 1 WHERE "t"."owner" = $5 RETURNING "id", "owner", "k", "n", "version""#
        );
        assert_eq!(
            q.params,
            vec![
                text("a"),
                Value::Integer(1),
                Value::Integer(1),
                Value::Integer(2),
                text("al")
            ]
        );
        let q = upsert(
            Dialect::Sqlite,
            &m,
            &["owner", "k"],
            row(),
            OnConflict::Nothing,
        )
        .unwrap();
        assert_eq!(
            q.text,
            r#"INSERT INTO "t" ("k", "n", "version") VALUES (?, ?, ?) ON CONFLICT ("owner", "k") DO NOTHING RETURNING "id", "owner", "k", "n", "version""#
        );
        let plain = OnConflict::Update {
            values: set(),
            guard: vec![],
        };
        let q = upsert(Dialect::Mysql, &m, &["k"], row(), plain).unwrap();
        assert_eq!(
            q.text,
            "INSERT INTO `t` (`k`, `n`, `version`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `n` = ?, `version` = `version` + 1"
        );
        // Nothing to set: the key set to itself.
        let unversioned = Model::new("u").field("k", Field::text().unique());
        let only_key = OnConflict::Update {
            values: vec![],
            guard: vec![],
        };
        let key_row = vec![("k".to_owned(), text("a"))];
        let q = upsert(Dialect::Postgres, &unversioned, &["k"], key_row, only_key).unwrap();
        assert_eq!(
            q.text,
            r#"INSERT INTO "u" ("k") VALUES ($1) ON CONFLICT ("k") DO UPDATE SET "k" = "u"."k" RETURNING "id", "k""#
        );
        // What MySQL cannot say, other dialects, bad columns.
        assert!(upsert(Dialect::Mysql, &m, &["k"], row(), OnConflict::Nothing).is_err());
        assert!(upsert(Dialect::Mysql, &m, &["k"], row(), guarded()).is_err());
        assert!(upsert(Dialect::MsSql, &m, &["k"], row(), OnConflict::Nothing).is_err());
        assert!(upsert(Dialect::Sqlite, &m, &["nope"], row(), OnConflict::Nothing).is_err());
        assert!(upsert(Dialect::Sqlite, &m, &[], row(), OnConflict::Nothing).is_err());
        let set_id = OnConflict::Update {
            values: vec![("id".to_owned(), Value::Integer(1))],
            guard: vec![],
        };
        assert!(upsert(Dialect::Sqlite, &m, &["k"], row(), set_id).is_err());
    }

    #[test]
    fn select_by_key_locks_where_needed() {
        let m = Model::new("t")
            .field("owner", Field::text())
            .field("k", Field::text());
        let key = [
            ("owner".to_owned(), text("al")),
            ("k".to_owned(), text("a")),
        ];
        assert_eq!(
            select_by_key(Dialect::Sqlite, &m, &key).text,
            r#"SELECT "id", "owner", "k" FROM "t" WHERE "owner" = ? AND "k" = ?"#
        );
        let q = select_by_key(Dialect::Postgres, &m, &key);
        assert_eq!(
            q.text,
            r#"SELECT "id", "owner", "k" FROM "t" WHERE "owner" = $1 AND "k" = $2 FOR UPDATE"#
        );
        assert_eq!(q.params, vec![text("al"), text("a")]);
    }
}
