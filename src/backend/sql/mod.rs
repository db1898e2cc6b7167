//! The one place that builds SQL from a [`Model`], for every [`Dialect`].
//!
//! Identifiers come only from the model (and are quoted); values are always
//! bound parameters, returned beside the text in [`Sql`].
//!
//! ```
//! use lightapi::__private::backend::sql::{self, Dialect};
//! use lightapi::model::{Field, Key, Model};
//!
//! let person = Model::new("person").field("name", Field::text());
//! let q = sql::select_by_id(Dialect::Postgres, &person, &Key::Int(7), None, false);
//! assert_eq!(q.text, r#"SELECT "id", "name" FROM "person" WHERE "id" = $1"#);
//! ```

#[cfg(feature = "cli")]
pub(crate) mod catalogue;
mod columns;
mod ddl;
mod dialect;
mod dml;
mod evolve;
#[cfg(test)]
mod fixtures;
mod introspect;
mod list;
mod query;
mod references;
mod relations;

pub use columns::select_columns;
pub use ddl::{column_type_of, create_table, key_too_long, schema_lock};
// For the doc-tests and the crate's own tests.
#[cfg_attr(not(feature = "__private"), allow(unused_imports))]
pub use ddl::field_checks;
// For the SQLite driver.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "__private")),
    allow(unused_imports)
)]
pub use ddl::SQLITE_DECIMAL_COLLATION;
pub use dialect::Dialect;
pub use dml::{
    bulk_savepoint, delete, delete_guarded, delete_returning, insert, insert_many, select_by_id,
    select_by_id_with_row_version, select_by_key, update, update_guarded, upsert, Guard, Insert,
    OnConflict, MAX_INSERT_PARAMS,
};
pub use evolve::{add_column, alter_column};
pub use introspect::{column_info, introspect, type_matches, ColumnInfo};
pub use list::{count, select_list};
#[cfg_attr(not(feature = "__private"), allow(unused_imports))]
pub use query::Nulls;
pub use query::{Filter, FilterOp, Keyset, ListQuery, Order, Scope};
pub use references::{row_exists, row_referencing, sqlite_foreign_keys_into};
pub use relations::{count_children, select_children, select_in};

use super::Value;
use crate::model::Model;

/// A statement and its bound parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The statement text.
    pub text: String,
    /// The parameter values.
    pub params: Vec<Value>,
}

/// Builds a statement for one dialect: text is appended, identifiers are
/// quoted, and each value is bound as the dialect's next placeholder.
struct Builder {
    dialect: Dialect,
    text: String,
    params: Vec<Value>,
}

impl Builder {
    fn new(dialect: Dialect) -> Builder {
        Builder {
            dialect,
            text: String::with_capacity(128),
            params: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) -> &mut Builder {
        self.text.push_str(s);
        self
    }

    fn ident(&mut self, name: &str) -> &mut Builder {
        self.dialect.quote_into(name, &mut self.text);
        self
    }

    fn param(&mut self, value: Value) -> &mut Builder {
        self.params.push(value);
        self.dialect
            .placeholder_into(self.params.len(), &mut self.text);
        self
    }

    fn column_list(&mut self, model: &Model) -> &mut Builder {
        for (i, (name, _)) in select_columns(model).into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(name);
        }
        self
    }

    fn finish(self) -> Sql {
        Sql {
            text: self.text,
            params: self.params,
        }
    }
}
