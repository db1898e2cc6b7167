//! The models' tables: created when missing, or checked against the model
//! when they exist, under the dialect's schema lock so that several
//! processes starting at once create each table once.

use super::error::CrudError;
use crate::backend::sql;
use crate::backend::{write_with, Backend, BackendError, Conn, Dialect, Value};
use crate::model::{FieldType, Model};

/// Creates the model's table (and indexes) if it does not exist, or checks
/// that the existing table has every column with a compatible type and
/// nullability. Extra columns are ignored.
///
/// # Errors
///
/// [`CrudError::Schema`] naming the table and column that do not match
/// (or, on MySQL/MariaDB, a scope column whose collation ignores trailing
/// spaces), or a backend error.
///
/// ```
/// use lightapi::__private::backend::{connect, PoolOptions};
/// use lightapi::backend::write_with;
/// use lightapi::__private::crud::schema::ensure_table;
/// use lightapi::model::{Field, Model};
/// let db = connect("sqlite::memory:", &PoolOptions::default())?;
/// write_with(&*db, |c| c.execute("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT)", &[]))?;
/// let person = Model::new("person").field("name", Field::text()).field("email", Field::text());
/// let err = ensure_table(&*db, &person).unwrap_err();
/// assert_eq!(err.to_string(), "schema mismatch: table `person` has no column `email`");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ensure_table(backend: &dyn Backend, model: &Model) -> Result<(), CrudError> {
    let d = backend.dialect();
    let (q, types) = sql::introspect(d, model.name());
    // Looked up and created on the write connection, under the schema lock
    // (another process may be creating it at this moment): start-up opens
    // no read connection, which the first read opens when it needs one.
    let owned = model.clone();
    let (rows, padded) = write_with(backend, move |c| {
        let found = create_if_missing(c, d, &q, &types, &owned)?;
        let padded = match owned.scope_rule() {
            Some(_) if !found.is_empty() => c.space_padded_columns(owned.name())?,
            _ => Vec::new(),
        };
        Ok((found, padded))
    })?;
    if rows.is_empty() {
        return Ok(());
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
    for (name, kind) in sql::select_columns(model) {
        let Some(col) = columns.iter().find(|c| c.name == name) else {
            return Err(CrudError::Schema {
                message: format!("table `{table}` has no column `{name}`"),
            });
        };
        if !sql::type_matches(d, kind, &col.data_type) {
            return Err(CrudError::Schema {
                message: format!(
                    "table `{table}`: column `{name}` has type `{}`, which cannot hold {kind}",
                    col.data_type
                ),
            });
        }
        let nullable = model.field_named(name).is_some_and(|f| f.is_nullable());
        if nullable && !col.nullable {
            return Err(CrudError::Schema {
                message: format!(
                    "table `{table}`: column `{name}` is NOT NULL but the field is nullable"
                ),
            });
        }
    }
    Ok(())
}

/// Looks for a table (`introspect`) and creates `model`'s when it is
/// missing, all under the dialect's schema lock; answers what `introspect` found (empty when
/// it created the table).
fn create_if_missing(
    c: &mut dyn Conn,
    d: Dialect,
    introspect: &sql::Sql,
    types: &[FieldType],
    model: &Model,
) -> Result<Vec<Vec<Value>>, BackendError> {
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
        let found = c.query(&introspect.text, &introspect.params, types)?;
        if found.is_empty() {
            let collation = c.text_collation()?;
            for statement in sql::create_table(d, model, collation) {
                c.execute(&statement, &[])?;
            }
        }
        Ok(found)
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
