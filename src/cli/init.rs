//! `init --from-database URL`: a starter file from the tables a database
//! has (SQLite's `pragma_table_info`, PostgreSQL's and MySQL/MariaDB's
//! `information_schema`).

use std::fmt::Write as _;

use crate::backend::sql::{column_info, introspect, type_matches, ColumnInfo};
use crate::backend::{read_with, Backend, BackendError, Dialect, Value};
use crate::model::{check_identifier, FieldType, ID_COLUMN, VERSION_COLUMN};

/// One table as found: its name and columns.
pub(crate) type Table = (String, Vec<ColumnInfo>);

/// The tables of the database `db` is connected to, by name.
pub(crate) fn tables(db: &dyn Backend) -> Result<Vec<Table>, String> {
    let list = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        }
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             ORDER BY table_name"
        }
        Dialect::Mysql => {
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
        _ => return Err("init reads SQLite, PostgreSQL and MySQL/MariaDB databases".to_owned()),
    };
    let d = db.dialect();
    read_with(db, |c| {
        let names = c.query(list, &[], &[FieldType::Text])?;
        let mut out = Vec::new();
        for row in names {
            let Some(Value::Text(name)) = row.into_iter().next() else {
                continue;
            };
            let (q, types) = introspect(d, &name);
            let columns = c
                .query(&q.text, &q.params, &types)?
                .iter()
                .filter_map(|r| column_info(r))
                .collect();
            out.push((name, columns));
        }
        Ok::<_, BackendError>(out)
    })
    .map_err(|e| e.to_string())
}

/// The file type of a column the database reports as `reported`, when
/// the file can declare one that matches it.
fn field_type(d: Dialect, reported: &str) -> Option<&'static str> {
    let t = reported.to_ascii_uppercase();
    let has = |s: &str| t.contains(s);
    let (name, kind) = if has("BOOL") || (d == Dialect::Mysql && t == "TINYINT") {
        ("boolean", FieldType::Boolean)
    } else if has("INT") {
        ("integer", FieldType::Integer)
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        ("float", FieldType::Float)
    } else if d != Dialect::Sqlite && (has("TIMESTAMP") || has("DATETIME")) {
        ("datetime", FieldType::DateTime)
    } else if d != Dialect::Sqlite && t == "DATE" {
        ("date", FieldType::Date)
    } else if has("UUID") {
        ("uuid", FieldType::Uuid)
    } else if has("JSON") {
        ("json", FieldType::Json)
    } else if has("CHAR") || has("TEXT") || has("CLOB") {
        ("text", FieldType::Text)
    } else {
        return None;
    };
    type_matches(d, kind, reported).then_some(name)
}

/// What a table becomes in the file: its field lines, whether it is
/// versioned, and its primary key when that is not the implicit `id`.
struct Found {
    fields: Vec<String>,
    versioned: bool,
    primary_key: Option<String>,
}

/// The table's key column: its single-column primary key when it is an
/// integer, text or uuid column; else (no primary key, or a database that
/// does not say) an integer column `id`, as the implicit key.
fn key_of(d: Dialect, columns: &[ColumnInfo]) -> Result<&ColumnInfo, String> {
    let keys: Vec<&ColumnInfo> = columns
        .iter()
        .filter(|c| c.primary_key == Some(true))
        .collect();
    match keys.as_slice() {
        [key] => match field_type(d, &key.data_type) {
            Some("integer" | "text" | "uuid") => Ok(key),
            _ => Err(format!(
                "the primary key `{}` has type `{}`: it must be an integer, text or uuid column",
                key.name, key.data_type
            )),
        },
        [] => columns
            .iter()
            .find(|c| c.name == ID_COLUMN && field_type(d, &c.data_type) == Some("integer"))
            .ok_or_else(|| {
                "the table has no primary key of one integer, text or uuid column \
                 (nor an integer column `id`)"
                    .to_owned()
            }),
        _ => Err("the primary key has several columns".to_owned()),
    }
}

/// Why `table` cannot be a model today, or what it becomes.
fn model_of(d: Dialect, table: &Table) -> Result<Found, String> {
    let (name, columns) = table;
    check_identifier(name).map_err(|e| e.to_string())?;
    let key = key_of(d, columns)?;
    let implicit = key.name == ID_COLUMN && field_type(d, &key.data_type) == Some("integer");
    if !implicit
        && columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(ID_COLUMN))
    {
        return Err(format!(
            "the primary key is `{}`, and a column `id` that is not the key is reserved",
            key.name
        ));
    }
    let mut fields = Vec::new();
    let mut versioned = false;
    for c in columns
        .iter()
        .filter(|c| !(implicit && c.name == ID_COLUMN))
    {
        check_identifier(&c.name).map_err(|e| e.to_string())?;
        let Some(kind) = field_type(d, &c.data_type) else {
            return Err(format!(
                "column `{}` has type `{}`, which the file cannot declare",
                c.name, c.data_type
            ));
        };
        if c.name == VERSION_COLUMN && kind == "integer" && !c.nullable {
            versioned = true;
            continue;
        }
        // A key is never null, whatever the table says of it.
        let nullable = if c.nullable && c.name != key.name {
            ", nullable = true"
        } else {
            ""
        };
        fields.push(format!("{} = {{ type = \"{kind}\"{nullable} }}", c.name));
    }
    Ok(Found {
        fields,
        versioned,
        primary_key: (!implicit).then(|| key.name.clone()),
    })
}

/// `url` with its password, if any, replaced by `${DATABASE_PASSWORD}`.
fn url_without_password(url: &str) -> String {
    // A `$` of the URL itself is written `$$`, so that it stays one.
    let literal = url.replace('$', "$$");
    let Some((scheme, rest)) = url.split_once("://") else {
        return literal;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return literal;
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!(
            "{scheme}://{}:${{DATABASE_PASSWORD}}@{}{}",
            user.replace('$', "$$"),
            host.replace('$', "$$"),
            path.replace('$', "$$")
        ),
        None => literal,
    }
}

/// The starter file for `tables` of a `d` database at `url`, and each
/// table skipped with the reason.
pub(crate) fn starter(d: Dialect, url: &str, tables: &[Table]) -> (String, Vec<String>) {
    let mut text = String::from(
        "# A starter file written by `lightapi init` from the database's tables.\n\
         # Unique constraints, indexes, defaults, foreign keys and access rules\n\
         # are not read: add them (see README, \"Serving without Rust\"), then\n\
         # run `lightapi check`.\n\n",
    );
    let _ = writeln!(
        text,
        "[database]\nurl = \"{}\"",
        url_without_password(url)
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    );
    let mut skipped = Vec::new();
    for table in tables {
        match model_of(d, table) {
            Ok(found) => {
                if found.versioned || found.primary_key.is_some() {
                    let _ = writeln!(text, "\n[models.{}]", table.0);
                }
                if let Some(key) = &found.primary_key {
                    let _ = writeln!(text, "primary_key = \"{key}\"");
                }
                if found.versioned {
                    let _ = writeln!(text, "versioned = true");
                }
                let _ = writeln!(text, "\n[models.{}.fields]", table.0);
                for f in found.fields {
                    text.push_str(&f);
                    text.push('\n');
                }
            }
            Err(why) => {
                let _ = writeln!(text, "\n# skipped table `{}`: {why}", table.0);
                skipped.push(format!("skipped table `{}`: {why}", table.0));
            }
        }
    }
    (text, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{declare, file};

    fn col(name: &str, data_type: &str, nullable: bool) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type: data_type.into(),
            nullable,
            primary_key: None,
        }
    }

    fn key(name: &str, data_type: &str) -> ColumnInfo {
        ColumnInfo {
            primary_key: Some(true),
            ..col(name, data_type, false)
        }
    }

    #[test]
    fn a_single_column_key_of_another_name_or_type_is_declared() {
        let tables = vec![
            (
                "thing".to_owned(),
                vec![key("code", "TEXT"), col("label", "TEXT", true)],
            ),
            (
                "token".to_owned(),
                vec![key("token_id", "uuid"), col("n", "integer", false)],
            ),
            ("num".to_owned(), vec![key("num", "INTEGER")]),
            (
                "pair".to_owned(),
                vec![key("a", "INTEGER"), key("b", "INTEGER")],
            ),
            ("when".to_owned(), vec![key("at", "REAL")]),
        ];
        let (text, skipped) = starter(Dialect::Postgres, "postgres://h/db", &tables);
        assert!(
            text.contains("[models.thing]\nprimary_key = \"code\"\n"),
            "{text}"
        );
        assert!(text.contains("code = { type = \"text\" }"), "{text}");
        assert!(text.contains("primary_key = \"token_id\""), "{text}");
        assert!(text.contains("primary_key = \"num\""), "{text}");
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].contains("several columns"), "{skipped:?}");
        assert!(skipped[1].contains("`at`"), "{skipped:?}");
        let doc = file::parse(&text).unwrap();
        let plan = declare::plan(doc, &|_| None).unwrap();
        let keys: Vec<&str> = plan
            .resources
            .iter()
            .map(|d| d.resource.model().key_column())
            .collect();
        assert_eq!(keys, ["code", "token_id", "num"]);
    }

    #[test]
    fn tables_become_models_and_the_others_are_skipped_with_a_reason() {
        let tables = vec![
            (
                "person".to_owned(),
                vec![
                    col("id", "INTEGER", false),
                    col("name", "TEXT", false),
                    col("age", "INTEGER", true),
                    col("active", "BOOLEAN", false),
                    col("version", "INTEGER", false),
                ],
            ),
            ("code".to_owned(), vec![col("code", "TEXT", false)]),
            (
                "blob".to_owned(),
                vec![col("id", "INTEGER", false), col("data", "BLOB", true)],
            ),
        ];
        let (text, skipped) = starter(Dialect::Sqlite, "sqlite://app.db", &tables);
        assert!(text.contains("name = { type = \"text\" }"), "{text}");
        assert!(
            text.contains("age = { type = \"integer\", nullable = true }"),
            "{text}"
        );
        assert!(text.contains("active = { type = \"boolean\" }"), "{text}");
        assert!(text.contains("versioned = true"), "{text}");
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].contains("`code`") && skipped[0].contains("integer column `id`"));
        assert!(skipped[0].contains("no primary key"), "{skipped:?}");
        assert!(skipped[1].contains("`data`"));
        // The starter is a valid file.
        let doc = file::parse(&text).unwrap();
        let plan = declare::plan(doc, &|_| None).unwrap();
        assert_eq!(plan.resources.len(), 1);
        assert!(plan.resources[0].resource.model().is_versioned());
    }

    #[test]
    fn types_map_per_database() {
        assert_eq!(
            field_type(Dialect::Postgres, "timestamp with time zone"),
            Some("datetime")
        );
        assert_eq!(
            field_type(Dialect::Postgres, "character varying"),
            Some("text")
        );
        assert_eq!(field_type(Dialect::Postgres, "bigint"), Some("integer"));
        assert_eq!(field_type(Dialect::Postgres, "jsonb"), Some("json"));
        assert_eq!(field_type(Dialect::Postgres, "numeric"), None);
        assert_eq!(field_type(Dialect::Mysql, "tinyint"), Some("boolean"));
        assert_eq!(field_type(Dialect::Mysql, "date"), Some("date"));
        assert_eq!(field_type(Dialect::Sqlite, "DATETIME"), None);
    }

    #[test]
    fn a_password_stays_out_of_the_file() {
        assert_eq!(
            url_without_password("postgres://app:s3cret@db:5432/x?sslmode=require"),
            "postgres://app:${DATABASE_PASSWORD}@db:5432/x?sslmode=require"
        );
        assert_eq!(
            url_without_password("mysql://root@h/db"),
            "mysql://root@h/db"
        );
        assert_eq!(url_without_password("sqlite://a.db"), "sqlite://a.db");
    }
}
