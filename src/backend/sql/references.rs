//! Lookups that say which foreign key a failed write was about, for a
//! database (SQLite) whose error does not.

use super::{Builder, Dialect, Sql};
use crate::backend::Value;
use crate::model::Key;

/// `SELECT 1` of the row of `table` whose key column `key` is `id`: empty
/// when it does not exist.
///
/// ```
/// use lightapi::__private::backend::sql::{row_exists, Dialect};
/// use lightapi::model::Key;
/// let q = row_exists(Dialect::Sqlite, "project", "id", &Key::Int(7));
/// assert_eq!(q.text, r#"SELECT 1 FROM "project" WHERE "id" = ?"#);
/// ```
pub fn row_exists(d: Dialect, table: &str, key: &str, id: &Key) -> Sql {
    let mut b = Builder::new(d);
    b.push("SELECT 1 FROM ")
        .ident(table)
        .push(" WHERE ")
        .ident(key)
        .push(" = ")
        .param(id.to_value());
    b.finish()
}

/// `SELECT 1` of one row of `table` whose `column` is `id`: empty when none.
///
/// ```
/// use lightapi::__private::backend::sql::{row_referencing, Dialect};
/// use lightapi::model::Key;
/// let q = row_referencing(Dialect::Sqlite, "task", "project_id", &Key::Int(7));
/// assert_eq!(q.text, r#"SELECT 1 FROM "task" WHERE "project_id" = ? LIMIT 1"#);
/// ```
pub fn row_referencing(d: Dialect, table: &str, column: &str, id: &Key) -> Sql {
    let mut b = Builder::new(d);
    b.push("SELECT 1 FROM ")
        .ident(table)
        .push(" WHERE ")
        .ident(column)
        .push(" = ")
        .param(id.to_value())
        .push(" LIMIT 1");
    b.finish()
}

/// SQLite: every (table, column) with a foreign key into `table`, from the
/// schema (tables not declared as models included).
///
/// ```
/// use lightapi::__private::backend::sql::sqlite_foreign_keys_into;
/// let q = sqlite_foreign_keys_into("project");
/// assert!(q.text.contains("pragma_foreign_key_list"));
/// ```
pub fn sqlite_foreign_keys_into(table: &str) -> Sql {
    Sql {
        text: "SELECT m.name, p.\"from\" FROM sqlite_schema AS m, \
               pragma_foreign_key_list(m.name) AS p \
               WHERE m.type = 'table' AND p.\"table\" = ? ORDER BY m.name, p.\"from\""
            .to_owned(),
        params: vec![Value::Text(table.to_owned())],
    }
}
