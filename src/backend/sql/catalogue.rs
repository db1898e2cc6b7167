//! Reading a whole table from the database's catalogue: its columns in
//! order (the type as the database states it, nullability, the default's
//! expression, whether the database assigns the value), its primary key,
//! its unique keys and its foreign keys. SQLite's pragmas, PostgreSQL's
//! `pg_catalog` and MySQL/MariaDB's `information_schema`; two queries per
//! table, run on a connection the caller holds.

use super::{Dialect, Sql};
use crate::backend::{BackendError, Conn, Value};
use crate::model::FieldType;

/// A column as the catalogue states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogueColumn {
    /// Column name.
    pub(crate) name: String,
    /// The type with its modifiers (`character varying(40)`,
    /// `decimal(10,2)`, `VARCHAR(20)`).
    pub(crate) data_type: String,
    /// Whether the column accepts `NULL`.
    pub(crate) nullable: bool,
    /// The default's SQL expression, as the database shows it.
    pub(crate) default: Option<String>,
    /// The database assigns the value (identity, sequence, auto-increment,
    /// SQLite's `INTEGER PRIMARY KEY`).
    pub(crate) assigned: bool,
}

#[cfg(test)]
impl CatalogueColumn {
    /// A column as the tests of the readers of a catalogue write it: the
    /// database assigns `id` only.
    pub(crate) fn of(name: &str, data_type: &str, nullable: bool, default: Option<&str>) -> Self {
        CatalogueColumn {
            name: name.into(),
            data_type: data_type.into(),
            nullable,
            default: default.map(str::to_owned),
            assigned: name == crate::model::ID_COLUMN,
        }
    }
}

/// A foreign key: its columns and the referenced table's columns, in
/// order (`None` where SQLite leaves the referenced table's primary key
/// implicit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogueForeignKey {
    pub(crate) columns: Vec<String>,
    pub(crate) table: String,
    pub(crate) referenced: Vec<Option<String>>,
}

/// A table as the catalogue states it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CatalogueTable {
    pub(crate) columns: Vec<CatalogueColumn>,
    /// The primary key's columns; empty when there is none.
    pub(crate) primary_key: Vec<String>,
    /// Each unique key (constraint or unique index without a predicate or
    /// expression) other than the primary key, as its columns.
    pub(crate) unique: Vec<Vec<String>>,
    pub(crate) foreign_keys: Vec<CatalogueForeignKey>,
}

/// The types the two queries' rows decode as.
const COLUMN_TYPES: [FieldType; 5] = [
    FieldType::Text,
    FieldType::Text,
    FieldType::Integer,
    FieldType::Text,
    FieldType::Integer,
];
const KEY_TYPES: [FieldType; 5] = [FieldType::Text; 5];

/// PostgreSQL: the table named `$1` in the current schema, or `NULL`.
const PG_TABLE: &str = "to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))";

/// The query listing the columns of `table`, in order: name, type,
/// not-null (0/1), default expression, assigned (0/1). `None` for a
/// dialect whose catalogue is not read.
pub(crate) fn columns_query(d: Dialect, table: &str) -> Option<Sql> {
    let text = match d {
        Dialect::Sqlite => {
            r#"SELECT "name", "type", "notnull", "dflt_value", 0 FROM pragma_table_info(?) ORDER BY "cid""#
                .to_owned()
        }
        Dialect::Postgres => format!(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
             a.attnotnull::int::bigint, pg_get_expr(ad.adbin, ad.adrelid), \
             (a.attidentity <> '')::int::bigint \
             FROM pg_attribute a LEFT JOIN pg_attrdef ad \
             ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
             WHERE a.attrelid = {PG_TABLE} AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum"
        ),
        Dialect::Mysql => {
            // MySQL 8 marks an expression default; shown in parentheses so
            // that it is not read as a literal.
            "SELECT column_name, column_type, IF(is_nullable = 'YES', 0, 1), \
             IF(extra LIKE '%DEFAULT_GENERATED%', CONCAT('(', column_default, ')'), column_default), \
             IF(extra LIKE '%auto_increment%', 1, 0) \
             FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
                .to_owned()
        }
        Dialect::MsSql | Dialect::Oracle => return None,
    };
    Some(Sql {
        text,
        params: vec![Value::Text(table.to_owned())],
    })
}

/// The query listing the keys of `table`, one row per key column: kind
/// (`p` primary, `u` unique, `f` foreign), the key's name, the column,
/// and for a foreign key the referenced table and column.
pub(crate) fn keys_query(d: Dialect, table: &str) -> Option<Sql> {
    let name = Value::Text(table.to_owned());
    let (text, params) = match d {
        Dialect::Sqlite => (
            r#"SELECT 'p', 'primary', "name", NULL, NULL FROM pragma_table_info(?) WHERE "pk" > 0
               UNION ALL
               SELECT 'u', il."name", ii."name", NULL, NULL
               FROM pragma_index_list(?) AS il, pragma_index_info(il."name") AS ii
               WHERE il."unique" = 1 AND il."partial" = 0 AND il."origin" <> 'pk'
               UNION ALL
               SELECT 'f', CAST(fk."id" AS TEXT), fk."from", fk."table", fk."to"
               FROM pragma_foreign_key_list(?) AS fk"#
                .to_owned(),
            vec![name.clone(), name.clone(), name],
        ),
        Dialect::Postgres => (
            format!(
                "SELECT CASE WHEN i.indisprimary THEN 'p' ELSE 'u' END, ic.relname::text, \
                 a.attname::text, NULL::text, NULL::text \
                 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = {PG_TABLE} AND (i.indisprimary OR i.indisunique) \
                 AND i.indpred IS NULL AND i.indexprs IS NULL \
                 UNION ALL \
                 SELECT 'f', k.conname::text, a.attname::text, rc.relname::text, ra.attname::text \
                 FROM pg_constraint k \
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) \
                 JOIN pg_class rc ON rc.oid = k.confrelid \
                 JOIN pg_attribute ra ON ra.attrelid = k.confrelid \
                 AND ra.attnum = k.confkey[array_position(k.conkey, a.attnum)] \
                 WHERE k.conrelid = {PG_TABLE} AND k.contype = 'f'"
            ),
            vec![name],
        ),
        Dialect::Mysql => (
            "SELECT IF(index_name = 'PRIMARY', 'p', 'u'), index_name, column_name, \
             CAST(NULL AS CHAR), CAST(NULL AS CHAR) \
             FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = ? AND non_unique = 0 \
             AND sub_part IS NULL \
             UNION ALL \
             SELECT 'f', constraint_name, column_name, referenced_table_name, \
             referenced_column_name FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = ? \
             AND referenced_table_name IS NOT NULL"
                .to_owned(),
            vec![name.clone(), name],
        ),
        Dialect::MsSql | Dialect::Oracle => return None,
    };
    Some(Sql { text, params })
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

fn flag(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Integer(n)) if *n != 0)
}

/// Decodes the rows of [`columns_query`].
pub(crate) fn decode_columns(d: Dialect, rows: &[Vec<Value>]) -> Vec<CatalogueColumn> {
    rows.iter()
        .filter_map(|r| {
            let default = text(r.get(3));
            let assigned = flag(r.get(4))
                || (d == Dialect::Postgres
                    && default
                        .as_deref()
                        .is_some_and(|e| e.starts_with("nextval(")));
            Some(CatalogueColumn {
                name: text(r.first())?,
                data_type: text(r.get(1)).unwrap_or_default(),
                nullable: !flag(r.get(2)),
                default,
                assigned,
            })
        })
        .collect()
}

/// Decodes the rows of [`keys_query`] into `table`.
pub(crate) fn decode_keys(d: Dialect, rows: &[Vec<Value>], table: &mut CatalogueTable) {
    let mut unique: Vec<(String, Vec<String>)> = Vec::new();
    let mut foreign: Vec<(String, CatalogueForeignKey)> = Vec::new();
    for r in rows {
        let (Some(kind), Some(key), Some(column)) =
            (text(r.first()), text(r.get(1)), text(r.get(2)))
        else {
            continue;
        };
        match kind.as_str() {
            "p" => table.primary_key.push(column),
            "u" => match unique.iter_mut().find(|(k, _)| *k == key) {
                Some((_, cols)) => cols.push(column),
                None => unique.push((key, vec![column])),
            },
            "f" => {
                let Some(to) = text(r.get(3)) else { continue };
                let referenced = text(r.get(4));
                match foreign.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, fk)) => {
                        fk.columns.push(column);
                        fk.referenced.push(referenced);
                    }
                    None => foreign.push((
                        key,
                        CatalogueForeignKey {
                            columns: vec![column],
                            table: to,
                            referenced: vec![referenced],
                        },
                    )),
                }
            }
            _ => {}
        }
    }
    table.unique = unique.into_iter().map(|(_, c)| c).collect();
    table.foreign_keys = foreign.into_iter().map(|(_, fk)| fk).collect();
    if d == Dialect::Sqlite {
        // Only `INTEGER PRIMARY KEY`, spelled so, is the rowid SQLite assigns.
        if let [key] = table.primary_key.as_slice() {
            let key = key.clone();
            for c in &mut table.columns {
                if c.name == key && c.data_type.eq_ignore_ascii_case("INTEGER") {
                    c.assigned = true;
                }
            }
        }
    }
}

/// Reads `table` from the catalogue through `c`: `None` when it does not
/// exist.
///
/// # Errors
///
/// A dialect whose catalogue is not read (`InvalidQuery`), or the
/// database's error.
pub(crate) fn read_table(
    c: &mut dyn Conn,
    d: Dialect,
    table: &str,
) -> Result<Option<CatalogueTable>, BackendError> {
    let unsupported = || BackendError::InvalidQuery {
        message: "tables are read from SQLite, PostgreSQL and MySQL/MariaDB only".to_owned(),
    };
    let columns = columns_query(d, table).ok_or_else(unsupported)?;
    let keys = keys_query(d, table).ok_or_else(unsupported)?;
    let rows = c.query(&columns.text, &columns.params, &COLUMN_TYPES)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out = CatalogueTable {
        columns: decode_columns(d, &rows),
        ..CatalogueTable::default()
    };
    let rows = c.query(&keys.text, &keys.params, &KEY_TYPES)?;
    decode_keys(d, &rows, &mut out);
    if d == Dialect::Mysql {
        // MariaDB's JSON is LONGTEXT with a CHECK (json_valid(…)) named
        // after the column; MySQL's catalogue has no such table column
        // (and a JSON type of its own), so an error here means MySQL.
        if let Ok(rows) = c.query(
            MARIADB_JSON,
            &[Value::Text(table.to_owned())],
            &[FieldType::Text],
        ) {
            for name in rows.iter().filter_map(|r| text(r.first())) {
                if let Some(col) = out.columns.iter_mut().find(|c| c.name == name) {
                    col.data_type = "json".to_owned();
                }
            }
        }
    }
    Ok(Some(out))
}

/// MariaDB: the columns declared `JSON` of table `?`.
const MARIADB_JSON: &str = "SELECT constraint_name FROM information_schema.check_constraints \
     WHERE constraint_schema = DATABASE() AND table_name = ? \
     AND check_clause = CONCAT('json_valid(`', constraint_name, '`)')";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn keys_are_grouped_by_their_name() {
        let rows = vec![
            vec![t("p"), t("primary"), t("id"), Value::Null, Value::Null],
            vec![t("u"), t("a_b"), t("a"), Value::Null, Value::Null],
            vec![t("u"), t("a_b"), t("b"), Value::Null, Value::Null],
            vec![t("u"), t("email_key"), t("email"), Value::Null, Value::Null],
            vec![t("f"), t("0"), t("owner"), t("person"), Value::Null],
        ];
        let mut table = CatalogueTable {
            columns: decode_columns(
                Dialect::Sqlite,
                &[vec![
                    t("id"),
                    t("INTEGER"),
                    Value::Integer(0),
                    Value::Null,
                    Value::Integer(0),
                ]],
            ),
            ..CatalogueTable::default()
        };
        decode_keys(Dialect::Sqlite, &rows, &mut table);
        assert_eq!(table.primary_key, ["id"]);
        assert_eq!(table.unique, vec![vec!["a", "b"], vec!["email"]]);
        assert_eq!(table.foreign_keys.len(), 1);
        assert_eq!(table.foreign_keys[0].table, "person");
        assert_eq!(table.foreign_keys[0].referenced, vec![None]);
        assert!(table.columns[0].assigned && table.columns[0].nullable);
    }

    #[test]
    fn a_postgres_sequence_default_is_assigned() {
        let cols = decode_columns(
            Dialect::Postgres,
            &[vec![
                t("id"),
                t("integer"),
                Value::Integer(1),
                t("nextval('t_id_seq'::regclass)"),
                Value::Integer(0),
            ]],
        );
        assert!(cols[0].assigned && !cols[0].nullable);
        assert!(columns_query(Dialect::MsSql, "t").is_none());
    }
}
