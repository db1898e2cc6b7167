//! Reading an existing table: the query listing its columns, the decoding
//! of that query's rows, and whether a reported column type can hold a
//! field type.

use super::{Dialect, Sql};
use crate::backend::Value;
use crate::model::FieldType;

/// A column reported by [`introspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Declared or data type, as the database reports it.
    pub data_type: String,
    /// Whether the column accepts `NULL`.
    pub nullable: bool,
    /// Whether the column is (part of) the table's primary key; `None` where
    /// the query does not say (SQL Server, Oracle).
    pub primary_key: Option<bool>,
}

/// The query listing a table's columns (name, type, nullability, and
/// whether it is part of the primary key) and the types of its four result
/// columns; decode each row with [`column_info`]. No rows means the table
/// does not exist.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Dialect};
/// let (q, _) = sql::introspect(Dialect::Sqlite, "person");
/// assert_eq!(q.text, r#"SELECT "name", "type", "notnull", "pk" FROM pragma_table_info(?)"#);
/// ```
pub fn introspect(d: Dialect, table: &str) -> (Sql, [FieldType; 4]) {
    let table = Value::Text(table.to_owned());
    let (text, last) = match d {
        Dialect::Sqlite => (
            r#"SELECT "name", "type", "notnull", "pk" FROM pragma_table_info(?)"#.to_owned(),
            FieldType::Integer,
        ),
        Dialect::Postgres => (
            // The columns are domains (`sql_identifier`, …): cast to plain text.
            "SELECT c.column_name::text, c.data_type::text, c.is_nullable::text, \
             (SELECT count(*) FROM information_schema.table_constraints t \
             JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name \
             AND k.table_schema = t.table_schema AND k.table_name = t.table_name \
             WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema \
             AND t.table_name = c.table_name AND k.column_name = c.column_name)::bigint \
             FROM information_schema.columns c \
             WHERE c.table_schema = current_schema() AND c.table_name = $1 \
             ORDER BY c.ordinal_position"
                .to_owned(),
            FieldType::Text,
        ),
        Dialect::Mysql => (
            "SELECT column_name, data_type, is_nullable, CAST(column_key = 'PRI' AS SIGNED) \
             FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
                .to_owned(),
            FieldType::Text,
        ),
        Dialect::MsSql => (
            "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, CAST(NULL AS BIGINT) \
             FROM INFORMATION_SCHEMA.COLUMNS \
             WHERE TABLE_SCHEMA = SCHEMA_NAME() AND TABLE_NAME = @P1 ORDER BY ORDINAL_POSITION"
                .to_owned(),
            FieldType::Text,
        ),
        Dialect::Oracle => (
            "SELECT column_name, data_type, nullable, CAST(NULL AS NUMBER(19)) \
             FROM user_tab_columns WHERE table_name = :1 ORDER BY column_id"
                .to_owned(),
            FieldType::Text,
        ),
    };
    (
        Sql {
            text,
            params: vec![table],
        },
        [FieldType::Text, FieldType::Text, last, FieldType::Integer],
    )
}

/// Decodes one row of [`introspect`]'s query.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Value};
/// let row = [Value::Text("email".into()), Value::Text("TEXT".into()), Value::Integer(1), Value::Integer(0)];
/// let info = sql::column_info(&row).unwrap();
/// assert!(!info.nullable);
/// assert_eq!(info.primary_key, Some(false));
/// ```
pub fn column_info(row: &[Value]) -> Option<ColumnInfo> {
    let name = match row.first()? {
        Value::Text(s) => s.clone(),
        _ => return None,
    };
    let data_type = match row.get(1)? {
        Value::Text(s) => s.clone(),
        Value::Null => String::new(),
        _ => return None,
    };
    let nullable = match row.get(2)? {
        Value::Integer(notnull) => *notnull == 0,
        Value::Text(s) => s.eq_ignore_ascii_case("yes") || s.eq_ignore_ascii_case("y"),
        _ => return None,
    };
    let primary_key = match row.get(3) {
        Some(Value::Integer(n)) => Some(*n > 0),
        _ => None,
    };
    Some(ColumnInfo {
        name,
        data_type,
        nullable,
        primary_key,
    })
}

/// Whether a reported column type can hold a field type. SQLite follows its
/// type-affinity rules (text must have TEXT or no affinity, so that `"123"`
/// stays text); other dialects compare type families leniently.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Dialect};
/// use lightapi::model::FieldType;
/// assert!(sql::type_matches(Dialect::Sqlite, FieldType::Text, "VARCHAR(20)"));
/// assert!(!sql::type_matches(Dialect::Sqlite, FieldType::Text, "INTEGER"));
/// ```
pub fn type_matches(d: Dialect, kind: FieldType, reported: &str) -> bool {
    let t = reported.to_ascii_uppercase();
    let has = |s: &str| t.contains(s);
    match d {
        Dialect::Sqlite => {
            // SQLite affinity rules, in their documented order.
            let affinity = if has("INT") {
                'i'
            } else if has("CHAR") || has("CLOB") || has("TEXT") {
                't'
            } else if t.is_empty() || has("BLOB") {
                'b'
            } else if has("REAL") || has("FLOA") || has("DOUB") {
                'r'
            } else {
                'n'
            };
            match kind {
                FieldType::Integer | FieldType::Boolean => matches!(affinity, 'i' | 'n' | 'b'),
                FieldType::Float => matches!(affinity, 'r' | 'n' | 'b'),
                FieldType::Text
                | FieldType::DateTime
                | FieldType::Json
                | FieldType::Uuid
                | FieldType::Date
                | FieldType::Decimal => matches!(affinity, 't' | 'b'),
            }
        }
        _ => match kind {
            FieldType::Integer => has("INT") || has("NUMBER") || has("NUMERIC"),
            FieldType::Float => {
                has("DOUBLE") || has("FLOAT") || has("REAL") || has("NUMBER") || has("NUMERIC")
            }
            FieldType::Text => has("CHAR") || has("TEXT") || has("CLOB"),
            FieldType::Boolean => has("BOOL") || has("BIT") || has("TINYINT") || has("NUMBER"),
            FieldType::DateTime => has("TIME") || has("DATE"),
            FieldType::Json => has("JSON") || has("CHAR") || has("TEXT") || has("CLOB"),
            FieldType::Uuid => has("UUID") || has("CHAR") || has("UNIQUEIDENTIFIER"),
            FieldType::Date => has("DATE") || has("CHAR"),
            FieldType::Decimal => has("NUMERIC") || has("DECIMAL") || has("NUMBER"),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sql::fixtures::{text, ALL};

    #[test]
    fn introspection_queries() {
        for d in ALL {
            let (q, types) = introspect(d, "person");
            assert_eq!(q.params, vec![text("person")]);
            assert_eq!(types[0], FieldType::Text);
            assert!(q.text.starts_with("SELECT"));
        }
        let info = column_info(&[text("a"), text("bigint"), text("YES")]).unwrap();
        assert!(info.nullable);
        assert!(column_info(&[Value::Integer(1)]).is_none());
    }

    #[test]
    fn type_compatibility() {
        use FieldType::*;
        assert!(type_matches(Dialect::Sqlite, Integer, "INTEGER"));
        assert!(type_matches(Dialect::Sqlite, Boolean, "BOOLEAN"));
        assert!(type_matches(Dialect::Sqlite, Float, "REAL"));
        assert!(type_matches(Dialect::Sqlite, DateTime, "TEXT"));
        assert!(!type_matches(Dialect::Sqlite, DateTime, "DATETIME"));
        assert!(!type_matches(Dialect::Sqlite, Integer, "TEXT"));
        assert!(type_matches(
            Dialect::Postgres,
            DateTime,
            "timestamp with time zone"
        ));
        assert!(type_matches(Dialect::Postgres, Json, "jsonb"));
        assert!(type_matches(Dialect::Mysql, Boolean, "tinyint"));
        assert!(!type_matches(Dialect::Postgres, Integer, "text"));
        assert!(type_matches(Dialect::Postgres, Uuid, "uuid"));
        assert!(type_matches(Dialect::Postgres, Date, "date"));
        assert!(type_matches(Dialect::Postgres, Decimal, "numeric"));
        assert!(type_matches(Dialect::Mysql, Uuid, "char"));
        assert!(type_matches(Dialect::Mysql, Decimal, "decimal"));
        assert!(type_matches(Dialect::Sqlite, Decimal, "TEXT"));
        assert!(!type_matches(
            Dialect::Postgres,
            Decimal,
            "double precision"
        ));
    }
}
