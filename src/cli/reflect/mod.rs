//! `reflect = true`: a model's fields read from its existing table at
//! start-up (columns in order, types, nullability, defaults, one-column
//! unique keys and foreign keys, the primary key), the fields the file
//! declares laid over them by name, and the `unsupported` policy applied
//! to what cannot be served.

pub(crate) mod types;

use super::declare::{finish, Declared, Pending, Plan};
use super::error::CliError;
use super::file::{FieldDecl, FileError, Unsupported};
use super::models::{declared_type, nested_routes, resource_with, with_options};
use crate::backend::open::connect;
use crate::backend::sql::catalogue::{read_table, CatalogueColumn, CatalogueTable};
use crate::backend::sql::type_matches;
use crate::backend::{read_with, Dialect, PoolOptions};
use crate::config::Config;
use crate::http::Method;
use crate::model::{Field, FieldType, Model, ID_COLUMN, VERSION_COLUMN};
use types::{column_default, map_type, ColumnDefault};

/// Why a table cannot be served whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) message: String,
    /// No route could address its rows (no one-column key), so not even
    /// `read_only` serves it.
    pub(crate) blocks_reads: bool,
    /// The unmapped column, left out under `read_only`.
    pub(crate) column: Option<String>,
}

/// A table read for a model: its fields in column order (without the
/// implicit `id` and the `version` column; a key of another name is among
/// them), and what keeps it from being served whole.
#[derive(Debug)]
pub(crate) struct Reflection {
    pub(crate) fields: Vec<(String, Field)>,
    /// The key column when it is not the implicit integer `id` (its field
    /// is among `fields`).
    pub(crate) key: Option<String>,
    pub(crate) problems: Vec<Problem>,
}

/// The reflected field of `column`, from its mapped type `base`: its
/// nullability, default, one-column unique key and foreign key.
fn column_field(
    base: Field,
    column: &CatalogueColumn,
    table: &CatalogueTable,
    known: &[(String, String)],
) -> Field {
    let mut f = base;
    if column.nullable {
        f = f.nullable();
    }
    match column_default(&f, column.default.as_deref()) {
        ColumnDefault::Value(v) => f = f.default(v),
        ColumnDefault::Database => f = f.database_default(),
        ColumnDefault::None if column.assigned => f = f.database_default(),
        ColumnDefault::None => {}
    }
    if table
        .unique
        .iter()
        .any(|u| u == std::slice::from_ref(&column.name))
    {
        f = f.unique();
    }
    let reference = table.foreign_keys.iter().find(|fk| {
        fk.columns == std::slice::from_ref(&column.name)
            && known.iter().any(|(t, key)| {
                *t == fk.table
                    && fk
                        .referenced
                        .iter()
                        .all(|r| r.as_ref().is_none_or(|r| r == key))
            })
    });
    if let Some(fk) = reference {
        f = f.references(&fk.table);
    }
    f
}

/// Whether a field declared `declared` agrees with a column of type
/// `reported` that maps to `mapped`: the column can hold it, and it is
/// the mapped type or a type kept as text in a text column (a UUID in
/// `CHAR(36)`, a datetime in SQLite's `TEXT`).
fn agrees(d: Dialect, declared: FieldType, reported: &str, mapped: Option<FieldType>) -> bool {
    type_matches(d, declared, reported)
        && mapped.is_none_or(|m| m == declared || m == FieldType::Text)
}

/// A declared field whose type its column cannot hold, naming both.
fn disagreement(
    name: &str,
    field: &str,
    decl: &FieldDecl,
    table_name: &str,
    column: &CatalogueColumn,
    mapped: Option<types::Mapped>,
) -> String {
    format!(
        "model `{name}`: field `{field}` is declared `{}` but column `{}` of table \
         `{table_name}` is `{}`{}",
        decl.kind.get_ref().trim(),
        column.name,
        column.data_type,
        match mapped {
            Some(m) => format!(" ({})", m.file_name()),
            None => String::new(),
        }
    )
}

/// Reads the fields of `model` (named in the file `name`) from `table`,
/// with `overrides` (the file's fields) laid over them; `known` are the
/// tables of the models served, which foreign keys may name.
///
/// # Errors
///
/// A declared field that names no column, or whose type disagrees with
/// its column's, naming both.
pub(crate) fn reflect(
    d: Dialect,
    name: &str,
    table_name: &str,
    table: &CatalogueTable,
    overrides: &[(String, FieldDecl)],
    versioned: bool,
    known: &[(String, String)],
) -> Result<Reflection, String> {
    let mut problems = Vec::new();
    let mut problem = |message: String, blocks_reads: bool, column: Option<&str>| {
        problems.push(Problem {
            message,
            blocks_reads,
            column: column.map(str::to_owned),
        });
    };
    let key = match table.primary_key.as_slice() {
        [] => {
            problem(
                format!("table `{table_name}` has no primary key"),
                true,
                None,
            );
            None
        }
        [one] => Some(one.as_str()),
        many => {
            problem(
                format!(
                    "table `{table_name}` has a primary key of {} columns ({}); a served table \
                     needs a one-column key",
                    many.len(),
                    many.join(", ")
                ),
                true,
                None,
            );
            None
        }
    };
    // The key: the implicit integer `id`, or a column of its own name
    // (an integer the database assigns, a text or a uuid).
    let mut named_key = None;
    if let Some(key) = key {
        let column = table.columns.iter().find(|c| c.name == key);
        let ty = column.map_or("", |c| c.data_type.as_str());
        let mapped = map_type(d, ty).map(|m| m.kind);
        let integer = type_matches(d, FieldType::Integer, ty)
            && mapped.is_none_or(|m| m == FieldType::Integer);
        if !integer && !matches!(mapped, Some(FieldType::Text | FieldType::Uuid)) {
            problem(
                format!(
                    "table `{table_name}`: primary key `{key}` has type `{ty}` (a key is an \
                     integer, text or uuid column)"
                ),
                true,
                None,
            );
        } else {
            if integer && !column.is_some_and(|c| c.assigned) {
                problem(
                    format!(
                        "table `{table_name}`: primary key `{key}` is not assigned by the \
                         database (no identity, sequence or auto-increment), so a create could \
                         not store a row"
                    ),
                    false,
                    None,
                );
            }
            if !(integer && key == ID_COLUMN) {
                named_key = Some((key.to_owned(), integer));
            }
        }
    }
    for (field, _) in overrides {
        if !table.columns.iter().any(|c| c.name == *field) {
            return Err(format!(
                "model `{name}`: field `{field}` is not a column of table `{table_name}`"
            ));
        }
    }
    let mut fields = Vec::new();
    for column in &table.columns {
        let is_key = key == Some(column.name.as_str());
        if let Some((k, integer)) = named_key.as_ref().filter(|(k, _)| *k == column.name) {
            let mapped = map_type(d, &column.data_type);
            let base = if *integer {
                Field::integer()
            } else {
                mapped.map_or_else(Field::text, |m| m.field())
            };
            let field = match overrides.iter().find(|(f, _)| f == k) {
                Some((_, decl)) => {
                    let declared = declared_type(name, k, decl).map_err(|e| e.message)?;
                    if declared.field_type() != base.field_type() {
                        return Err(disagreement(name, k, decl, table_name, column, mapped));
                    }
                    let base = match base.max_length_chars() {
                        Some(n) => declared.max_length(n),
                        None => declared,
                    };
                    with_options(base, name, k, decl).map_err(|e| e.message)?
                }
                None => base,
            };
            fields.push((k.clone(), field));
            continue;
        }
        if column.name == ID_COLUMN && !is_key {
            problem(
                format!(
                    "table `{table_name}`: column `{ID_COLUMN}` is not the primary key, and the \
                     name is kept for it"
                ),
                false,
                Some(ID_COLUMN),
            );
            continue;
        }
        if is_key || (versioned && column.name == VERSION_COLUMN) {
            if let Some((field, _)) = overrides.iter().find(|(f, _)| *f == column.name) {
                return Err(format!(
                    "model `{name}`: field `{field}` is column `{}` of table `{table_name}`, \
                     which the model keeps itself (its key or version)",
                    column.name
                ));
            }
            continue;
        }
        if let Err(e) = crate::model::check_identifier(&column.name) {
            problem(
                format!("table `{table_name}`: column `{}`: {e}", column.name),
                false,
                Some(&column.name),
            );
            continue;
        }
        let mapped = map_type(d, &column.data_type);
        let declared = overrides.iter().find(|(f, _)| *f == column.name);
        let field = match (declared, mapped) {
            (Some((field, decl)), _) => {
                let base = declared_type(name, field, decl).map_err(|e| e.message)?;
                let kind = base.field_type();
                if !agrees(d, kind, &column.data_type, mapped.map(|m| m.kind)) {
                    return Err(disagreement(name, field, decl, table_name, column, mapped));
                }
                let base = match mapped.and_then(|m| m.max_length) {
                    Some(n) if kind == FieldType::Text => base.max_length(n),
                    _ => base,
                };
                let f = column_field(base, column, table, known);
                with_options(f, name, field, decl).map_err(|e| e.message)?
            }
            (None, Some(m)) => column_field(m.field(), column, table, known),
            (None, None) => {
                problem(
                    format!(
                        "table `{table_name}`: column `{}` has type `{}`, which no field type maps",
                        column.name, column.data_type
                    ),
                    false,
                    Some(&column.name),
                );
                continue;
            }
        };
        fields.push((column.name.clone(), field));
    }
    Ok(Reflection {
        fields,
        key: named_key.map(|(k, _)| k),
        problems,
    })
}

/// What a pending model becomes.
#[derive(Debug)]
enum Outcome {
    Serve(Box<Declared>, Option<String>),
    Skip(String),
}

fn policy_name(p: Unsupported) -> &'static str {
    match p {
        Unsupported::Error => "error",
        Unsupported::Skip => "skip",
        Unsupported::ReadOnly => "read_only",
    }
}

/// The model `p` declares, from its table as read (`None`: missing).
fn outcome(
    d: Dialect,
    p: &Pending,
    table: Option<&CatalogueTable>,
    known: &[(String, String)],
) -> Result<Outcome, String> {
    let name = &p.name;
    let table_name = p.table();
    let Some(table) = table else {
        return Err(format!(
            "model `{name}`: table `{table_name}` does not exist (a model with reflect = true \
             serves an existing table and never creates it)"
        ));
    };
    let r = reflect(
        d,
        name,
        table_name,
        table,
        &p.decl.fields.0,
        p.decl.versioned,
        known,
    )?;
    let policy = p
        .decl
        .unsupported
        .as_ref()
        .map_or(Unsupported::Error, |s| *s.get_ref());
    let listed = || {
        r.problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut note = None;
    let mut read_only = false;
    if !r.problems.is_empty() {
        match policy {
            Unsupported::Error => {
                return Err(format!(
                    "model `{name}`: {} (unsupported = \"skip\" or \"read_only\" serves the \
                     rest)",
                    listed()
                ))
            }
            Unsupported::Skip => {
                return Ok(Outcome::Skip(format!(
                    "model `{name}` not served (unsupported = \"skip\"): {}",
                    listed()
                )))
            }
            Unsupported::ReadOnly if r.problems.iter().any(|p| p.blocks_reads) => {
                return Ok(Outcome::Skip(format!(
                    "model `{name}` not served (unsupported = \"read_only\" serves only a table \
                     with a one-column key): {}",
                    listed()
                )))
            }
            Unsupported::ReadOnly => {
                let left_out: Vec<String> = r
                    .problems
                    .iter()
                    .filter_map(|p| p.column.as_ref().map(|c| format!("`{c}`")))
                    .collect();
                let columns = if left_out.is_empty() {
                    String::new()
                } else {
                    format!(", without column {}", left_out.join(", "))
                };
                note = Some(format!(
                    "model `{name}` served read-only (GET{columns}; unsupported = \"{}\"): {}",
                    policy_name(policy),
                    listed()
                ));
                read_only = true;
            }
        }
    }
    let mut model = Model::new(table_name).existing_table(true);
    for (field, f) in r.fields {
        model = model.field(&field, f);
    }
    if let Some(key) = &r.key {
        model = model.primary_key(key);
    }
    let placed = |e: FileError| {
        let key = e.key.map(|k| format!("{k}: ")).unwrap_or_default();
        format!("{key}{}", e.message)
    };
    let mut resource = resource_with(model, name, &p.decl).map_err(placed)?;
    let nested = nested_routes(name, &p.decl).map_err(placed)?;
    if read_only {
        resource = resource.methods(&[Method::Get]);
    }
    Ok(Outcome::Serve(
        Box::new(Declared {
            path: p.path.clone(),
            resource,
            nested,
        }),
        note,
    ))
}

/// A plan whose reflected models are read: the notes to log (models
/// skipped or served read-only) and every model that cannot be served.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) plan: Plan,
    pub(crate) notes: Vec<String>,
    pub(crate) errors: Vec<String>,
}

/// The database options for reading tables once.
fn reading(config: &Config) -> PoolOptions {
    PoolOptions {
        max_read_connections: 1,
        connect_timeout: config.database.connect_timeout,
        query_timeout: config.timeouts.query,
        socket_timeout: config
            .database
            .effective_socket_timeout(config.timeouts.query),
        ..PoolOptions::default()
    }
}

/// Reads the tables of `plan`'s reflected models from its database and
/// puts the models in place, in the file's order.
///
/// # Errors
///
/// The database cannot be reached or read.
pub(crate) fn resolve(mut plan: Plan) -> Result<Resolved, CliError> {
    let pending = std::mem::take(&mut plan.reflect);
    if pending.is_empty() {
        return Ok(Resolved {
            plan,
            notes: Vec::new(),
            errors: Vec::new(),
        });
    }
    let url = plan.config.database.url.clone();
    let db = connect(url.as_str(), &reading(&plan.config))
        .map_err(|e| CliError::Runtime(format!("{}: {e}", url.scheme())))?;
    let d = db.dialect();
    let names: Vec<String> = pending.iter().map(|p| p.table().to_owned()).collect();
    let found = read_with(&*db, |c| {
        names
            .iter()
            .map(|t| read_table(c, d, t))
            .collect::<Result<Vec<_>, _>>()
    });
    db.close();
    let found = found.map_err(|e| CliError::Runtime(format!("reading the tables: {e}")))?;
    // Foreign keys may name the key of a table a model serves: decided
    // first without them (whether a model is served does not depend on
    // its foreign keys), then built against the served ones.
    let mut known: Vec<(String, String)> = plan
        .resources
        .iter()
        .map(|r| {
            let m = r.resource.model();
            (m.name().to_owned(), m.key_column().to_owned())
        })
        .collect();
    for (name, table) in names.iter().zip(&found) {
        if let Some([key]) = table.as_ref().map(|t| t.primary_key.as_slice()) {
            known.push((name.clone(), key.clone()));
        }
    }
    let first: Vec<Result<Outcome, String>> = pending
        .iter()
        .zip(&found)
        .map(|(p, t)| outcome(d, p, t.as_ref(), &known))
        .collect();
    for (p, o) in pending.iter().zip(&first) {
        if !matches!(o, Ok(Outcome::Serve(..))) {
            known.retain(|(t, _)| t != p.table());
        }
    }
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = 0;
    for (p, t) in pending.iter().zip(&found) {
        match outcome(d, p, t.as_ref(), &known) {
            Ok(Outcome::Serve(declared, note)) => {
                notes.extend(note);
                let at = (p.index - skipped).min(plan.resources.len());
                plan.resources.insert(at, *declared);
            }
            Ok(Outcome::Skip(note)) => {
                skipped += 1;
                notes.push(note);
            }
            Err(e) => {
                skipped += 1;
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        if let Err(e) = finish(&mut plan) {
            errors.push(e.render("", "").trim_start_matches(": ").to_owned());
        }
    }
    Ok(Resolved {
        plan,
        notes,
        errors,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sql::catalogue::{CatalogueColumn, CatalogueForeignKey};
    use crate::cli::file::parse;

    fn col(name: &str, data_type: &str, nullable: bool, default: Option<&str>) -> CatalogueColumn {
        CatalogueColumn::of(name, data_type, nullable, default)
    }

    fn overrides(text: &str) -> Vec<(String, FieldDecl)> {
        let doc = parse(&format!("[models.m.fields]\n{text}")).unwrap();
        doc.models.0.into_iter().next().unwrap().1.fields.0
    }

    fn note() -> CatalogueTable {
        CatalogueTable {
            columns: vec![
                col("id", "INTEGER", false, None),
                col("title", "VARCHAR(80)", false, None),
                col("at", "TEXT", false, Some("CURRENT_TIMESTAMP")),
                col("owner", "INTEGER", true, None),
                col("pic", "BLOB", true, None),
            ],
            primary_key: vec!["id".into()],
            unique: vec![vec!["title".into()]],
            foreign_keys: vec![CatalogueForeignKey {
                columns: vec!["owner".into()],
                table: "person".into(),
                referenced: vec![None],
            }],
        }
    }

    #[test]
    fn columns_become_fields_and_an_unmapped_one_is_a_problem() {
        let known = [("person".to_owned(), "id".to_owned())];
        let r = reflect(Dialect::Sqlite, "m", "note", &note(), &[], false, &known).unwrap();
        let names: Vec<&str> = r.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["title", "at", "owner"]);
        let title = &r.fields[0].1;
        assert!(title.is_unique() && title.max_length_chars() == Some(80));
        assert!(r.fields[1].1.has_database_default() && !r.fields[1].1.is_required());
        assert_eq!(r.fields[2].1.referenced_table(), Some("person"));
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].column.as_deref(), Some("pic"));
        assert!(!r.problems[0].blocks_reads);
        // A foreign key into a table no model serves is no reference.
        let r = reflect(Dialect::Sqlite, "m", "note", &note(), &[], false, &[]).unwrap();
        assert_eq!(r.fields[2].1.referenced_table(), None);
    }

    #[test]
    fn a_column_name_no_field_can_have_is_a_problem() {
        let mut t = note();
        t.columns.push(col("Bad Name", "TEXT", true, None));
        let r = reflect(Dialect::Sqlite, "m", "note", &t, &[], false, &[]).unwrap();
        let p = r
            .problems
            .iter()
            .find(|p| p.column.as_deref() == Some("Bad Name"));
        assert!(p.is_some_and(|p| !p.blocks_reads && p.message.contains("`Bad Name`")));
        assert!(r.fields.iter().all(|(n, _)| n != "Bad Name"));
    }

    #[test]
    fn a_declared_field_keeps_what_it_leaves_unsaid() {
        let o = overrides(
            "title = { type = \"text\", max_length = 5 }\nat = { type = \"datetime\" }\n\
             pic = { type = \"text\", nullable = true }\n",
        );
        let r = reflect(Dialect::Sqlite, "m", "note", &note(), &o, false, &[]).unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let title = &r.fields[0].1;
        assert!(title.is_unique() && title.max_length_chars() == Some(5));
        let at = &r.fields[1].1;
        assert_eq!(at.field_type(), FieldType::DateTime);
        assert!(at.has_database_default());
        assert_eq!(r.fields[3].0, "pic");
    }

    #[test]
    fn a_disagreeing_or_unknown_declaration_names_both() {
        let o = overrides("owner = { type = \"text\" }\n");
        let err = reflect(Dialect::Sqlite, "m", "note", &note(), &o, false, &[]).unwrap_err();
        assert_eq!(
            err,
            "model `m`: field `owner` is declared `text` but column `owner` of table `note` is \
             `INTEGER` (integer)"
        );
        let o = overrides("nope = { type = \"text\" }\n");
        let err = reflect(Dialect::Sqlite, "m", "note", &note(), &o, false, &[]).unwrap_err();
        assert!(
            err.contains("field `nope` is not a column of table `note`"),
            "{err}"
        );
        assert!(!agrees(
            Dialect::Postgres,
            FieldType::DateTime,
            "text",
            Some(FieldType::Text)
        ));
        assert!(!agrees(
            Dialect::Sqlite,
            FieldType::Integer,
            "BOOLEAN",
            Some(FieldType::Boolean)
        ));
        assert!(agrees(
            Dialect::Mysql,
            FieldType::Uuid,
            "char(36)",
            Some(FieldType::Text)
        ));
        assert!(agrees(
            Dialect::Postgres,
            FieldType::Decimal,
            "numeric",
            None
        ));
    }

    #[test]
    fn keys_other_than_an_assigned_integer_id_are_problems() {
        let mut t = note();
        t.primary_key = vec!["title".into()];
        let r = reflect(Dialect::Sqlite, "m", "note", &t, &[], false, &[]).unwrap();
        assert_eq!(r.key.as_deref(), Some("title"));
        let key = &r.fields.iter().find(|(n, _)| n == "title").unwrap().1;
        assert_eq!(key.max_length_chars(), Some(80));
        assert!(!key.is_unique() && !key.is_nullable());
        // Another column `id` is left out: the name is the implicit key's.
        assert!(r.problems.iter().all(|p| !p.blocks_reads));
        assert!(r.problems.iter().any(|p| p.column.as_deref() == Some("id")));
        t.columns[3].data_type = "REAL".into();
        t.primary_key = vec!["owner".into()];
        let r = reflect(Dialect::Sqlite, "m", "note", &t, &[], false, &[]).unwrap();
        assert!(r
            .problems
            .iter()
            .any(|p| p.blocks_reads && p.message.contains("primary key `owner` has type `REAL`")));
        t.primary_key = vec!["id".into(), "title".into()];
        let r = reflect(Dialect::Sqlite, "m", "note", &t, &[], false, &[]).unwrap();
        assert!(r
            .problems
            .iter()
            .any(|p| p.blocks_reads && p.message.contains("2 columns")));
        t.primary_key = vec!["id".into()];
        t.columns[0].assigned = false;
        let r = reflect(Dialect::Sqlite, "m", "note", &t, &[], false, &[]).unwrap();
        assert!(r
            .problems
            .iter()
            .any(|p| !p.blocks_reads && p.message.contains("not assigned by the database")));
    }
}
