//! The statements that bring an existing table up to its model: adding a
//! missing column when that is safe for the rows the table holds, and the
//! statements a person would run for any other difference.

use super::ddl::{column_type, field_checks, index_name, short_name};
use super::Dialect;
use crate::model::datetime::format_rfc3339;
use crate::model::{FieldType, Model, OnDelete, Value};

/// The statements that add field `name` of `model` to its existing table,
/// when the rows already there can take it: a nullable field (they get
/// `NULL`) or a field with a default (they get the default), neither of
/// them a foreign key with a default nor unique with a default. `Err`
/// says why not.
///
/// ```
/// use lightapi::__private::backend::sql::add_column;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Field, Model};
/// let m = Model::new("task")
///     .field("title", Field::text())
///     .field("done", Field::boolean().default(false))
///     .field("note", Field::text().nullable());
/// assert_eq!(
///     add_column(Dialect::Postgres, &m, "done").unwrap(),
///     [r#"ALTER TABLE "task" ADD COLUMN "done" BOOLEAN NOT NULL DEFAULT FALSE"#]
/// );
/// assert_eq!(
///     add_column(Dialect::Sqlite, &m, "note").unwrap(),
///     [r#"ALTER TABLE "task" ADD COLUMN "note" TEXT"#]
/// );
/// assert!(add_column(Dialect::Sqlite, &m, "title").is_err());
/// ```
///
/// # Errors
/// Why the column cannot be added without a person's decision.
pub fn add_column(d: Dialect, model: &Model, name: &str) -> Result<Vec<String>, String> {
    let field = model
        .field_named(name)
        .ok_or_else(|| format!("`{name}` is not a field of `{}`", model.name()))?;
    let default = match field.default_value() {
        Some(json) if !json.is_null() => Some(
            field
                .to_value(json)
                .map_err(|e| format!("the default of `{name}`: {e}"))?,
        ),
        _ => None,
    };
    if !field.is_nullable() && default.is_none() {
        return Err(format!(
            "`{name}` is required and has no default: the existing rows need a value"
        ));
    }
    let unique = field.is_unique() || field.is_unique_in_scope();
    if default.is_some() && unique {
        return Err(format!(
            "`{name}` is unique and has a default: the existing rows would all hold it"
        ));
    }
    if default.is_some() && field.referenced_table().is_some() {
        return Err(format!(
            "`{name}` is a foreign key with a default: whether it names a row cannot be known"
        ));
    }
    let table = d.quote(model.name());
    let col = d.quote(name);
    let mut column = format!("{col} {}", column_type(d, field));
    if let Some(value) = &default {
        let lit = default_literal(d, field.field_type(), value)
            .ok_or_else(|| format!("the default of `{name}` has no SQL literal"))?;
        if !field.is_nullable() {
            column.push_str(" NOT NULL");
        }
        column.push_str(" DEFAULT ");
        column.push_str(&lit);
    }
    let checks = field_checks(d, name, field);
    let mut out = Vec::new();
    let reference = field.referenced_table().map(|other| {
        let on_delete = match field.on_delete_rule() {
            OnDelete::Cascade => " ON DELETE CASCADE",
            OnDelete::SetNull => " ON DELETE SET NULL",
            _ => "",
        };
        format!(
            "REFERENCES {} ({}){on_delete}",
            d.quote(other),
            d.quote(field.referenced_column())
        )
    });
    match d {
        // SQLite adds a column with its constraints or not at all.
        Dialect::Sqlite => {
            for check in &checks {
                column.push(' ');
                column.push_str(check);
            }
            if let Some(r) = &reference {
                column.push(' ');
                column.push_str(r);
            }
            out.push(format!("ALTER TABLE {table} ADD COLUMN {column}"));
        }
        _ => {
            out.push(format!("ALTER TABLE {table} ADD COLUMN {column}"));
            for check in &checks {
                out.push(format!("ALTER TABLE {table} ADD {check}"));
            }
            if let Some(r) = &reference {
                out.push(format!("ALTER TABLE {table} ADD FOREIGN KEY ({col}) {r}"));
            }
        }
    }
    if unique {
        let scope = model
            .scope_rule()
            .filter(|_| field.is_unique_in_scope())
            .map(|s| format!("{}, ", d.quote(s.column())))
            .unwrap_or_default();
        let key = match d {
            Dialect::Mysql => name.to_owned(),
            _ => short_name(format!("uq_{}_{name}", model.name())),
        };
        out.push(format!(
            "CREATE UNIQUE INDEX {} ON {table} ({scope}{col})",
            d.quote(&key)
        ));
    } else if field.is_indexed() || field.referenced_table().is_some() {
        out.push(format!(
            "CREATE INDEX {} ON {table} ({col})",
            d.quote(&index_name(model.name(), name))
        ));
    }
    Ok(out)
}

/// What a person would run for a column that exists with another type or
/// nullability than field `name` of `model` needs (never run by lightapi:
/// it may lose or refuse data).
///
/// ```
/// use lightapi::__private::backend::sql::alter_column;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Field, Model};
/// let m = Model::new("task").field("estimate", Field::float().nullable());
/// assert_eq!(
///     alter_column(Dialect::Mysql, &m, "estimate"),
///     ["ALTER TABLE `task` MODIFY COLUMN `estimate` DOUBLE NULL"]
/// );
/// ```
pub fn alter_column(d: Dialect, model: &Model, name: &str) -> Vec<String> {
    let Some(field) = model.field_named(name) else {
        return Vec::new();
    };
    let table = d.quote(model.name());
    let col = d.quote(name);
    let kind = column_type(d, field);
    match d {
        Dialect::Postgres => vec![
            format!("ALTER TABLE {table} ALTER COLUMN {col} TYPE {kind} USING {col}::{kind}"),
            format!(
                "ALTER TABLE {table} ALTER COLUMN {col} {} NOT NULL",
                if field.is_nullable() { "DROP" } else { "SET" }
            ),
        ],
        Dialect::Mysql => vec![format!(
            "ALTER TABLE {table} MODIFY COLUMN {col} {kind} {}",
            if field.is_nullable() {
                "NULL"
            } else {
                "NOT NULL"
            }
        )],
        // SQLite changes no column in place: the table is rebuilt.
        _ => {
            let new = format!("{}_new", model.name());
            let mut rebuilt = Model::new(&new);
            for (n, f) in model.fields() {
                rebuilt = rebuilt.field(n, f.clone());
            }
            if let Some(key) = model.key_field() {
                rebuilt = rebuilt
                    .field(model.key_column(), key.clone())
                    .primary_key(model.key_column());
            }
            if model.is_versioned() {
                rebuilt = rebuilt.versioned();
            }
            let mut columns: Vec<String> = vec![d.quote(model.key_column())];
            columns.extend(model.fields().iter().map(|(n, _)| d.quote(n)));
            let columns = columns.join(", ");
            let mut out = super::create_table(d, &rebuilt, None);
            out.truncate(1);
            out.push(format!(
                "INSERT INTO {} ({columns}) SELECT {columns} FROM {table}",
                d.quote(&new)
            ));
            out.push(format!("DROP TABLE {table}"));
            out.push(format!("ALTER TABLE {} RENAME TO {table}", d.quote(&new)));
            out
        }
    }
}

/// A default as an SQL literal of the column's type, or `None` where it
/// has none (text with U+0000).
fn default_literal(d: Dialect, kind: FieldType, v: &Value) -> Option<String> {
    let quote = |s: &str| -> Option<String> {
        if s.contains('\0') {
            return None;
        }
        let s = s.replace('\'', "''");
        // MySQL reads backslashes in literals as escapes.
        let s = if d == Dialect::Mysql {
            s.replace('\\', "\\\\")
        } else {
            s
        };
        Some(format!("'{s}'"))
    };
    match v {
        Value::Null => Some("NULL".to_owned()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) if f.is_finite() => Some(format!("{f:?}")),
        Value::Float(_) => None,
        Value::Boolean(b) => Some(
            match (d, b) {
                (Dialect::Postgres, true) => "TRUE",
                (Dialect::Postgres, false) => "FALSE",
                (_, true) => "1",
                (_, false) => "0",
            }
            .to_owned(),
        ),
        Value::Text(s) if kind == FieldType::Decimal && d != Dialect::Sqlite => Some(s.clone()),
        Value::Text(s) => quote(s),
        Value::DateTime(us) => {
            let text = format_rfc3339(*us);
            match d {
                // DATETIME(6) holds UTC without a zone.
                Dialect::Mysql => quote(&text.replace('T', " ").replace('Z', "")),
                _ => quote(&text),
            }
        }
        Value::Json(j) => quote(&j.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Field;

    fn model() -> Model {
        Model::new("t")
            .field("a", Field::text())
            .field("n", Field::integer().nullable().min(0))
            .field("s", Field::text().default("it's"))
            .field("at", Field::datetime().default("2020-01-01T00:00:00Z"))
            .field("ok", Field::boolean().default(true))
            .field("p", Field::integer().nullable().references("t"))
            .field("u", Field::text().nullable().max_length(20).unique())
            .field("r", Field::integer().references("t").default(1))
    }

    #[test]
    fn safe_columns_are_added_with_their_constraints() {
        let m = model();
        assert_eq!(
            add_column(Dialect::Sqlite, &m, "n").unwrap(),
            [r#"ALTER TABLE "t" ADD COLUMN "n" INTEGER CHECK ("n" >= 0)"#]
        );
        assert_eq!(
            add_column(Dialect::Postgres, &m, "n").unwrap(),
            [
                r#"ALTER TABLE "t" ADD COLUMN "n" BIGINT"#,
                r#"ALTER TABLE "t" ADD CHECK ("n" >= 0)"#
            ]
        );
        assert_eq!(
            add_column(Dialect::Mysql, &m, "s").unwrap(),
            ["ALTER TABLE `t` ADD COLUMN `s` LONGTEXT NOT NULL DEFAULT 'it''s'"]
        );
        assert_eq!(
            add_column(Dialect::Mysql, &m, "at").unwrap(),
            ["ALTER TABLE `t` ADD COLUMN `at` DATETIME(6) NOT NULL DEFAULT '2020-01-01 00:00:00.000000'"]
        );
        assert_eq!(
            add_column(Dialect::Sqlite, &m, "ok").unwrap(),
            [r#"ALTER TABLE "t" ADD COLUMN "ok" INTEGER NOT NULL DEFAULT 1"#]
        );
        let p = add_column(Dialect::Postgres, &m, "p").unwrap();
        assert_eq!(
            p[1],
            r#"ALTER TABLE "t" ADD FOREIGN KEY ("p") REFERENCES "t" ("id")"#
        );
        assert!(p[2].starts_with(r#"CREATE INDEX "ix_t_p""#), "{p:?}");
        let u = add_column(Dialect::Sqlite, &m, "u").unwrap();
        assert!(
            u.last().unwrap().starts_with("CREATE UNIQUE INDEX"),
            "{u:?}"
        );
    }

    #[test]
    fn unsafe_columns_are_refused_with_a_reason() {
        let m = model();
        for (name, says) in [("a", "no default"), ("r", "foreign key with a default")] {
            let e = add_column(Dialect::Sqlite, &m, name).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn other_differences_get_statements_to_run() {
        let m = model();
        let pg = alter_column(Dialect::Postgres, &m, "n");
        assert_eq!(
            pg[0],
            r#"ALTER TABLE "t" ALTER COLUMN "n" TYPE BIGINT USING "n"::BIGINT"#
        );
        assert_eq!(pg[1], r#"ALTER TABLE "t" ALTER COLUMN "n" DROP NOT NULL"#);
        let lite = alter_column(Dialect::Sqlite, &m, "n");
        assert!(
            lite[0].starts_with(r#"CREATE TABLE IF NOT EXISTS "t_new""#),
            "{lite:?}"
        );
        assert_eq!(lite[3], r#"ALTER TABLE "t_new" RENAME TO "t""#);
    }
}
