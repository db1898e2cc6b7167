//! `init --from-database URL`: a starter file from the tables a database
//! has, read as `reflect = true` reads them (SQLite's pragmas, PostgreSQL's
//! `pg_catalog`, MySQL/MariaDB's `information_schema`): types, nullability,
//! constant defaults, one-column unique keys and foreign keys, with a
//! comment for each thing the file cannot declare.

use std::fmt::Write as _;

use super::reflect::reflect;
use super::reflect::types::map_type;
use crate::backend::sql::catalogue::{read_table, CatalogueTable};
use crate::backend::{read_with, Backend, BackendError, Dialect, Value};
use crate::model::{check_identifier, Field, FieldType, VERSION_COLUMN};

/// One table as found: its name and what the catalogue says of it.
pub(crate) type Table = (String, CatalogueTable);

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
            if let Some(table) = read_table(c, d, &name)? {
                out.push((name, table));
            }
        }
        Ok::<_, BackendError>(out)
    })
    .map_err(|e| e.to_string())
}

/// A TOML value for a JSON default the file can write inline.
fn toml_value(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(_)
        | serde_json::Value::Number(_)
        | serde_json::Value::Bool(_) => serde_json::to_string(v).ok(),
        _ => None,
    }
}

/// The file's line declaring `field`, and a comment for what it cannot say.
fn field_line(name: &str, f: &Field) -> (String, Option<String>) {
    let kind = match (f.field_type(), f.decimal_digits()) {
        (FieldType::Decimal, Some((p, s))) => format!("decimal({p},{s})"),
        (k, _) => k.name().to_owned(),
    };
    let mut line = format!("{name} = {{ type = \"{kind}\"");
    let mut note = None;
    if f.is_nullable() {
        line.push_str(", nullable = true");
    }
    if let Some(n) = f.max_length_chars() {
        let _ = write!(line, ", max_length = {n}");
    }
    if let Some(v) = f.default_value() {
        match toml_value(v) {
            Some(t) => {
                let _ = write!(line, ", default = {t}");
            }
            None => note = Some(format!("default {v} (write it as a TOML value)")),
        }
    }
    if f.has_database_default() {
        note = Some(
            "the database computes its default: declared here it is required on create; \
             `reflect = true` leaves it to the database"
                .to_owned(),
        );
    }
    if f.is_unique() {
        line.push_str(", unique = true");
    }
    if let Some(t) = f.referenced_table() {
        let _ = write!(line, ", references = \"{t}\"");
    }
    line.push_str(" }");
    (line, note)
}

/// Why `table` cannot be a model, or its lines (model table and fields).
fn model_of(d: Dialect, table: &Table, known: &[(String, String)]) -> Result<String, String> {
    let (name, info) = table;
    check_identifier(name).map_err(|e| e.to_string())?;
    let versioned = info.columns.iter().any(|c| {
        c.name == VERSION_COLUMN
            && !c.nullable
            && map_type(d, &c.data_type).is_some_and(|m| m.kind == FieldType::Integer)
    });
    let r = reflect(d, name, name, info, &[], versioned, known)?;
    if let Some(p) = r.problems.iter().find(|p| p.blocks_reads) {
        return Err(p.message.clone());
    }
    let mut text = String::new();
    if versioned || r.key.is_some() {
        let _ = writeln!(text, "\n[models.{name}]");
    }
    if let Some(key) = &r.key {
        let _ = writeln!(text, "primary_key = \"{key}\"");
    }
    if versioned {
        let _ = writeln!(text, "versioned = true");
    }
    let _ = writeln!(text, "\n[models.{name}.fields]");
    for p in &r.problems {
        let _ = writeln!(text, "# {}", p.message);
    }
    for (field, f) in &r.fields {
        check_identifier(field).map_err(|e| e.to_string())?;
        let (line, note) = field_line(field, f);
        if let Some(note) = note {
            let _ = writeln!(text, "# `{field}`: {note}");
        }
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
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
        "# A starter file written by `lightapi init` from the database's tables:\n\
         # types, nullability, constant defaults, one-column unique keys and\n\
         # foreign keys; a comment says what the file cannot declare. Add access\n\
         # rules (see README, \"Serving without Rust\"), then run `lightapi check`.\n\
         # `reflect = true` in place of a model's fields reads them at start-up.\n\n",
    );
    let _ = writeln!(
        text,
        "[database]\nurl = \"{}\"",
        url_without_password(url)
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    );
    let mut skipped = Vec::new();
    // A foreign key into a table that is skipped is no reference.
    let known: Vec<(String, String)> = tables
        .iter()
        .filter(|t| model_of(d, t, &[]).is_ok())
        .filter_map(|(n, t)| match t.primary_key.as_slice() {
            [key] => Some((n.clone(), key.clone())),
            _ => None,
        })
        .collect();
    for table in tables {
        match model_of(d, table, &known) {
            Ok(lines) => text.push_str(&lines),
            Err(why) => {
                let _ = writeln!(text, "\n# skipped table `{}`: {why}", table.0);
                skipped.push(format!("skipped table `{}`: {why}", table.0));
            }
        }
    }
    (text, skipped)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sql::catalogue::{CatalogueColumn, CatalogueForeignKey};
    use crate::cli::{declare, file};

    fn col(name: &str, data_type: &str, nullable: bool, default: Option<&str>) -> CatalogueColumn {
        CatalogueColumn::of(name, data_type, nullable, default)
    }

    fn table(columns: Vec<CatalogueColumn>, key: &[&str]) -> CatalogueTable {
        CatalogueTable {
            columns,
            primary_key: key.iter().map(|k| (*k).to_owned()).collect(),
            ..CatalogueTable::default()
        }
    }

    #[test]
    fn a_single_column_key_of_another_name_or_type_is_declared() {
        let mut num = col("num", "integer", false, None);
        num.assigned = true;
        let tables = vec![
            (
                "thing".to_owned(),
                table(
                    vec![
                        col("code", "text", false, None),
                        col("label", "text", true, None),
                    ],
                    &["code"],
                ),
            ),
            (
                "token".to_owned(),
                table(
                    vec![
                        col("token_id", "uuid", false, None),
                        col("n", "integer", false, None),
                    ],
                    &["token_id"],
                ),
            ),
            ("num".to_owned(), table(vec![num], &["num"])),
            (
                "pair".to_owned(),
                table(
                    vec![
                        col("a", "integer", false, None),
                        col("b", "integer", false, None),
                    ],
                    &["a", "b"],
                ),
            ),
            (
                "when".to_owned(),
                table(vec![col("at", "real", false, None)], &["at"]),
            ),
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
        assert!(skipped[0].contains("2 columns"), "{skipped:?}");
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
        let mut person = table(
            vec![
                col("id", "INTEGER", false, None),
                col("name", "VARCHAR(40)", false, None),
                col("age", "INTEGER", true, None),
                col("active", "BOOLEAN", false, Some("1")),
                col("title", "TEXT", false, Some("'it''s \"new\"'")),
                col("joined", "TEXT", false, Some("CURRENT_TIMESTAMP")),
                col("photo", "BLOB", true, None),
                col("team", "INTEGER", true, None),
                col("version", "INTEGER", false, None),
            ],
            &["id"],
        );
        person.unique = vec![vec!["name".to_owned()]];
        person.foreign_keys = vec![CatalogueForeignKey {
            columns: vec!["team".to_owned()],
            table: "team".to_owned(),
            referenced: vec![Some("id".to_owned())],
        }];
        let tables = vec![
            ("person".to_owned(), person),
            (
                "team".to_owned(),
                table(vec![col("id", "INTEGER", false, None)], &["id"]),
            ),
            (
                "code".to_owned(),
                table(vec![col("code", "TEXT", false, None)], &["code"]),
            ),
            (
                "pair".to_owned(),
                table(
                    vec![
                        col("a", "INTEGER", false, None),
                        col("b", "INTEGER", false, None),
                    ],
                    &["a", "b"],
                ),
            ),
        ];
        let (text, skipped) = starter(Dialect::Sqlite, "sqlite://app.db", &tables);
        assert!(
            text.contains("name = { type = \"text\", max_length = 40, unique = true }"),
            "{text}"
        );
        assert!(
            text.contains("age = { type = \"integer\", nullable = true }"),
            "{text}"
        );
        assert!(
            text.contains("active = { type = \"boolean\", default = true }"),
            "{text}"
        );
        assert!(
            text.contains(r#"title = { type = "text", default = "it's \"new\"" }"#),
            "{text}"
        );
        assert!(text.contains("# `joined`: the database computes"), "{text}");
        assert!(
            text.contains("# table `person`: column `photo` has type `BLOB`"),
            "{text}"
        );
        assert!(
            text.contains("team = { type = \"integer\", nullable = true, references = \"team\" }"),
            "{text}"
        );
        assert!(text.contains("versioned = true"), "{text}");
        assert!(
            text.contains("[models.code]\nprimary_key = \"code\"\n"),
            "{text}"
        );
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].contains("`pair`") && skipped[0].contains("2 columns"));
        // The starter is a valid file.
        let doc = file::parse(&text).unwrap();
        let plan = declare::plan(doc, &|_| None).unwrap();
        assert_eq!(plan.resources.len(), 3);
        let person = plan.resources[0].resource.model();
        assert!(person.is_versioned());
        assert!(person.field_named("name").unwrap().is_unique());
        assert_eq!(
            person.field_named("team").unwrap().referenced_table(),
            Some("team")
        );
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
