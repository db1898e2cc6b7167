//! The models' tables: created when missing, or checked against the model
//! when they exist, under the dialect's schema lock so that several
//! processes starting at once create each table once.

use super::error::CrudError;
use crate::backend::sql;
use crate::backend::{write_with, Backend, BackendError, Conn, Dialect, Value};
use crate::model::{FieldType, Model, VERSION_COLUMN};

/// Creates the model's table (and indexes) if it does not exist, or checks
/// that the existing table has every column with a compatible type and
/// nullability. Extra columns are ignored. [`ensure_table_adding`] with
/// nothing added.
///
/// # Errors
///
/// As [`ensure_table_adding`].
///
/// ```
/// use lightapi::__private::backend::{connect, PoolOptions};
/// use lightapi::backend::write_with;
/// use lightapi::__private::crud::schema::ensure_table;
/// use lightapi::model::{Field, Model};
/// let db = connect("sqlite::memory:", &PoolOptions::default())?;
/// write_with(&*db, |c| c.execute("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT)", &[]))?;
/// let person = Model::new("person").field("name", Field::text()).field("email", Field::text());
/// let err = ensure_table(&*db, &person).unwrap_err().to_string();
/// assert!(err.starts_with("schema mismatch: table `person` has no column `email`"), "{err}");
/// assert!(err.contains(r#"ALTER TABLE "person" ADD COLUMN "email" TEXT NOT NULL DEFAULT"#), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn ensure_table(backend: &dyn Backend, model: &Model) -> Result<(), CrudError> {
    ensure_table_adding(backend, model, false).map(|_| ())
}

/// [`ensure_table`], and with `add_columns` the columns the model has and
/// the existing table lacks are added where the rows already there can
/// take them (a nullable field, or one with a default: see
/// [`sql::add_column`]), under the schema lock, when every missing column
/// can be (else none is); nothing is ever dropped or changed. Answers the
/// columns added.
///
/// # Errors
///
/// [`CrudError::Schema`] naming every column of the table that does not
/// match, with the statements that would fix them (or, on MySQL/MariaDB, a
/// scope column whose collation ignores trailing spaces), or a backend
/// error.
pub fn ensure_table_adding(
    backend: &dyn Backend,
    model: &Model,
    add_columns: bool,
) -> Result<Vec<String>, CrudError> {
    let d = backend.dialect();
    let (q, types) = sql::introspect(d, model.name());
    // Looked up and created on the write connection, under the schema lock
    // (another process may be creating it at this moment): start-up opens
    // no read connection, which the first read opens when it needs one.
    let owned = model.clone();
    let add_columns = add_columns && !model.uses_existing_table();
    let (rows, added, padded) = write_with(backend, move |c| {
        let (found, added) = create_if_missing(c, d, &q, &types, &owned, add_columns)?;
        let padded = match owned.scope_rule() {
            Some(_) if !found.is_empty() => c.space_padded_columns(owned.name())?,
            _ => Vec::new(),
        };
        Ok((found, added, padded))
    })?;
    if rows.is_empty() {
        if model.uses_existing_table() {
            return Err(CrudError::Schema {
                message: format!(
                    "table `{}` does not exist (a model read from its table never creates it)",
                    model.name()
                ),
            });
        }
        return Ok(added);
    }
    if let Some(rule) = model.scope_rule() {
        if padded.iter().any(|c| c == rule.column()) {
            // `'alice' = 'alice '` holds there: a token for `alice ` would
            // reach alice's rows.
            return Err(CrudError::Schema {
                message: format!(
                    "table `{}`: the scope column `{}` has a collation that ignores trailing \
                     spaces, so scoping would not be exact; convert the table with \
                     ALTER TABLE {} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin \
                     (MariaDB) or utf8mb4_0900_bin (MySQL 8)",
                    model.name(),
                    rule.column(),
                    model.name()
                ),
            });
        }
    }
    let columns: Vec<sql::ColumnInfo> = rows.iter().filter_map(|r| sql::column_info(r)).collect();
    let table = model.name();
    let mut problems: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    let mut addable = false;
    for (name, kind) in sql::select_columns(model) {
        let Some(col) = columns.iter().find(|c| c.name == name) else {
            problems.push(format!("table `{table}` has no column `{name}`"));
            match missing_column(d, model, name) {
                Ok(statements) => {
                    addable = true;
                    fixes.extend(statements);
                }
                Err(statement) => fixes.extend(statement),
            }
            continue;
        };
        let nullable = model.field_named(name).is_some_and(|f| f.is_nullable());
        if !sql::type_matches(d, kind, &col.data_type) {
            problems.push(format!(
                "table `{table}`: column `{name}` has type `{}`, which cannot hold {kind}",
                col.data_type
            ));
        } else if nullable && !col.nullable {
            problems.push(format!(
                "table `{table}`: column `{name}` is NOT NULL but the field is nullable"
            ));
        } else {
            continue;
        }
        fixes.extend(sql::alter_column(d, model, name));
    }
    if let Some(problem) = key_problem(model, &columns) {
        problems.push(problem);
    }
    if problems.is_empty() {
        return Ok(added);
    }
    let mut seen = std::collections::HashSet::new();
    fixes.retain(|f| seen.insert(f.clone()));
    let mut message = problems.join("; ");
    if !fixes.is_empty() {
        message.push_str("; statements that would fix it: ");
        message.push_str(&fixes.join("; "));
    }
    if addable && !add_columns {
        message.push_str(
            " (or start with LIGHTAPI_SCHEMA_ADD_COLUMNS=true to have the columns that \
             can be added to the existing rows added)",
        );
    }
    Err(CrudError::Schema { message })
}

/// How the existing table's primary key differs from the model's, where
/// the database says: a declared key must be the table's whole primary key;
/// for the implicit `id`, a table whose primary key is on other columns
/// differs (one without a primary key is accepted, as it always was).
fn key_problem(model: &Model, columns: &[sql::ColumnInfo]) -> Option<String> {
    if columns.iter().all(|c| c.primary_key.is_none()) {
        return None;
    }
    let keys: Vec<&str> = columns
        .iter()
        .filter(|c| c.primary_key == Some(true))
        .map(|c| c.name.as_str())
        .collect();
    let want = model.key_column();
    if keys == [want] || (keys.is_empty() && !model.has_declared_key()) {
        return None;
    }
    let has = if keys.is_empty() {
        "no primary key".to_owned()
    } else {
        let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
        format!("the primary key ({})", names.join(", "))
    };
    Some(format!(
        "table `{}` has {has}, but the model's key is `{want}`",
        model.name()
    ))
}

/// Statements adding a column: `Ok` when they are safe for the rows
/// already there, `Err` with what a person would adapt otherwise.
type Additions = Result<Vec<String>, Vec<String>>;

/// The statements adding missing column `name` of `model`.
fn missing_column(d: Dialect, model: &Model, name: &str) -> Additions {
    let table = d.quote(model.name());
    let col = d.quote(name);
    let int = || sql::column_type_of(d, &crate::model::Field::integer());
    if name == VERSION_COLUMN && model.is_versioned() {
        return Ok(vec![format!(
            "ALTER TABLE {table} ADD COLUMN {col} {} DEFAULT 1 NOT NULL",
            int()
        )]);
    }
    if name == model.key_column() {
        return Err(Vec::new());
    }
    sql::add_column(d, model, name).map_err(|_| {
        let kind = model
            .field_named(name)
            .map(|f| sql::column_type_of(d, f))
            .unwrap_or_default();
        vec![format!(
            "ALTER TABLE {table} ADD COLUMN {col} {kind} NOT NULL DEFAULT <a value for the \
             existing rows>"
        )]
    })
}

/// Looks for a table (`introspect`) and creates `model`'s when it is
/// missing, or with `add_columns` adds the columns it lacks that can be
/// added, all under the dialect's schema lock; answers what `introspect`
/// found (empty when it created the table) and the columns added.
fn create_if_missing(
    c: &mut dyn Conn,
    d: Dialect,
    introspect: &sql::Sql,
    types: &[FieldType],
    model: &Model,
    add_columns: bool,
) -> Result<(Vec<Vec<Value>>, Vec<String>), BackendError> {
    let lock = sql::schema_lock(d);
    if let Some(lock) = lock {
        if lock.reports {
            let held = c.query(lock.acquire, &[], &[FieldType::Integer])?;
            if held.first().and_then(|r| r.first()) != Some(&Value::Integer(1)) {
                return Err(BackendError::Unavailable {
                    cause: "timed out waiting for another process creating tables".to_owned(),
                });
            }
        } else {
            c.execute(lock.acquire, &[])?;
        }
    }
    let result = (|| {
        let mut found = c.query(&introspect.text, &introspect.params, types)?;
        let mut added = Vec::new();
        if found.is_empty() && !model.uses_existing_table() {
            let collation = c.text_collation()?;
            for statement in sql::create_table(d, model, collation) {
                c.execute(&statement, &[])?;
            }
        } else if add_columns {
            let present: Vec<String> = found
                .iter()
                .filter_map(|r| sql::column_info(r))
                .map(|c| c.name)
                .collect();
            // All or nothing: a column that cannot be added stops start-up,
            // and the table stays as it was.
            let missing: Vec<(&str, Additions)> = sql::select_columns(model)
                .into_iter()
                .filter(|(name, _)| !present.iter().any(|p| p == name))
                .map(|(name, _)| (name, missing_column(d, model, name)))
                .collect();
            if missing.iter().all(|(_, m)| m.is_ok()) {
                for (name, statements) in missing {
                    for statement in statements.unwrap_or_default() {
                        c.execute(&statement, &[])?;
                    }
                    added.push(name.to_owned());
                }
            }
            if !added.is_empty() {
                found = c.query(&introspect.text, &introspect.params, types)?;
            }
        }
        Ok((found, added))
    })();
    if let Some(release) = lock.and_then(|l| l.release) {
        // Ending the session would release it too; a failure here leaves
        // the result as it is.
        let _ = c.query(release, &[], &[FieldType::Integer]);
    }
    result
}

#[cfg(all(test, feature = "sqlite"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sqlite::{SqliteBackend, Target};
    use crate::backend::{read_with, PoolOptions};
    use crate::model::Field;

    #[test]
    fn start_up_opens_no_read_connection() {
        let path = std::env::temp_dir().join(format!(
            "lightapi-schema-{}-{:?}.db",
            std::process::id(),
            std::thread::current().id()
        ));
        let remove = || {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        };
        remove();
        let db = SqliteBackend::open(Target::File(path.clone()), &PoolOptions::default()).unwrap();
        let model = Model::new("person").field("name", Field::text());
        // Created on the first start, checked on the second: both through
        // the writer, so no reader is held by a server that has served
        // nothing yet.
        ensure_table(&db, &model).unwrap();
        ensure_table(&db, &model).unwrap();
        assert_eq!(db.open_readers(), 0);
        read_with(&db, |c| c.query("SELECT COUNT(*) FROM person", &[], &[])).unwrap();
        assert_eq!(db.open_readers(), 1);
        db.close();
        remove();
    }
}
