//! Schema creation: `CREATE TABLE` and `CREATE INDEX` for a model (column
//! types per dialect, the identity `id` column, index names) and the lock
//! that serialises schema creation between processes.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::Dialect;
use crate::model::{
    Field, FieldType, Model, OnDelete, Value, MAX_IDENTIFIER_BYTES, VERSION_COLUMN,
};

/// The SQLite collation that orders decimal text by value (registered on
/// every connection of the SQLite backend).
pub const SQLITE_DECIMAL_COLLATION: &str = "lightapi_decimal";

/// The column type of `field` in dialect `d`, as `CREATE TABLE` gives it.
pub fn column_type_of(d: Dialect, field: &Field) -> String {
    column_type(d, field)
}

pub(super) fn column_type(d: Dialect, field: &Field) -> String {
    // A foreign key is indexed, and must fit the key it references.
    let keyed = field.is_unique()
        || field.is_unique_in_scope()
        || field.is_indexed()
        || field.referenced_table().is_some();
    let max = field.max_length_chars();
    let (precision, scale) = field.decimal_digits().unwrap_or((1, 0));
    match (d, field.field_type()) {
        (Dialect::Sqlite, FieldType::Integer | FieldType::Boolean) => "INTEGER".into(),
        (Dialect::Sqlite, FieldType::Float) => "REAL".into(),
        // Text compared by value: filters, ordering and CHECKs are numeric.
        (Dialect::Sqlite, FieldType::Decimal) => format!("TEXT COLLATE {SQLITE_DECIMAL_COLLATION}"),
        (Dialect::Sqlite, _) => "TEXT".into(),

        (Dialect::Postgres, FieldType::Integer) => "BIGINT".into(),
        (Dialect::Postgres, FieldType::Float) => "DOUBLE PRECISION".into(),
        (Dialect::Postgres, FieldType::Text) => match max {
            Some(n) if n <= 10_485_760 => format!("VARCHAR({n})"),
            _ => "TEXT".into(),
        },
        (Dialect::Postgres, FieldType::Boolean) => "BOOLEAN".into(),
        (Dialect::Postgres, FieldType::DateTime) => "TIMESTAMPTZ".into(),
        (Dialect::Postgres, FieldType::Json) => "JSONB".into(),
        (Dialect::Postgres, FieldType::Uuid) => "UUID".into(),
        (Dialect::Postgres, FieldType::Date) => "DATE".into(),
        (Dialect::Postgres, FieldType::Decimal) => format!("NUMERIC({precision},{scale})"),

        (Dialect::Mysql, FieldType::Integer) => "BIGINT".into(),
        (Dialect::Mysql, FieldType::Float) => "DOUBLE".into(),
        (Dialect::Mysql, FieldType::Text) => match max {
            Some(n) if n <= 16_383 => format!("VARCHAR({n})"),
            // An index over utf8mb4 text is limited to 3072 bytes.
            _ if keyed => "VARCHAR(768)".into(),
            _ => "LONGTEXT".into(),
        },
        (Dialect::Mysql, FieldType::Boolean) => "BOOLEAN".into(),
        (Dialect::Mysql, FieldType::DateTime) => "DATETIME(6)".into(),
        (Dialect::Mysql, FieldType::Json) => "JSON".into(),
        (Dialect::Mysql, FieldType::Uuid) => "CHAR(36)".into(),
        (Dialect::Mysql, FieldType::Date) => "DATE".into(),
        (Dialect::Mysql, FieldType::Decimal) => format!("DECIMAL({precision},{scale})"),

        (Dialect::MsSql, FieldType::Integer) => "BIGINT".into(),
        (Dialect::MsSql, FieldType::Float) => "FLOAT".into(),
        (Dialect::MsSql, FieldType::Text) => match max {
            Some(n) if n <= 4000 => format!("NVARCHAR({n})"),
            _ if keyed => "NVARCHAR(450)".into(),
            _ => "NVARCHAR(MAX)".into(),
        },
        (Dialect::MsSql, FieldType::Boolean) => "BIT".into(),
        (Dialect::MsSql, FieldType::DateTime) => "DATETIME2(6)".into(),
        (Dialect::MsSql, FieldType::Json) => "NVARCHAR(MAX)".into(),
        (Dialect::MsSql, FieldType::Uuid) => "NCHAR(36)".into(),
        (Dialect::MsSql, FieldType::Date) => "NCHAR(10)".into(),
        (Dialect::MsSql, FieldType::Decimal) => format!("DECIMAL({precision},{scale})"),

        (Dialect::Oracle, FieldType::Integer) => "NUMBER(19)".into(),
        (Dialect::Oracle, FieldType::Float) => "BINARY_DOUBLE".into(),
        (Dialect::Oracle, FieldType::Text) => match max {
            Some(n) if n <= 4000 => format!("VARCHAR2({n} CHAR)"),
            _ if keyed => "VARCHAR2(1000 CHAR)".into(),
            _ => "CLOB".into(),
        },
        (Dialect::Oracle, FieldType::Boolean) => "NUMBER(1)".into(),
        (Dialect::Oracle, FieldType::DateTime) => "TIMESTAMP(6)".into(),
        (Dialect::Oracle, FieldType::Json) => "CLOB".into(),
        (Dialect::Oracle, FieldType::Uuid) => "CHAR(36)".into(),
        (Dialect::Oracle, FieldType::Date) => "CHAR(10)".into(),
        (Dialect::Oracle, FieldType::Decimal) => format!("NUMBER({precision},{scale})"),
    }
}

/// A stored value as an SQL literal of a constraint: numbers in decimal,
/// text quoted (choices holding a backslash or NUL are refused at
/// start-up, so doubling quotes is all the escaping any dialect needs);
/// a decimal is a number literal except on SQLite, where it is text
/// compared under the column's decimal collation.
fn literal(d: Dialect, kind: FieldType, v: &Value) -> Option<String> {
    match v {
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) if f.is_finite() => Some(format!("{f:?}")),
        Value::Text(s) if kind == FieldType::Decimal && d != Dialect::Sqlite => Some(s.clone()),
        Value::Text(s) => Some(format!("'{}'", s.replace('\'', "''"))),
        _ => None,
    }
}

/// The `CHECK` constraints that let the database itself enforce a
/// field's choices, bounds and minimum length, and on SQLite, whose text
/// type has no length, its maximum length (a pattern is checked by
/// lightapi only, as the dialects share no regular-expression syntax;
/// datetime bounds too, as their literals differ).
///
/// ```
/// use lightapi::__private::backend::sql::field_checks;
/// use lightapi::backend::Dialect;
/// use lightapi::model::Field;
/// let status = Field::text().choices(&["todo", "done"]).min_length(1);
/// assert_eq!(
///     field_checks(Dialect::Postgres, "status", &status),
///     [r#"CHECK ("status" IN ('todo', 'done'))"#, r#"CHECK (char_length("status") >= 1)"#]
/// );
/// let estimate = Field::integer().min(0);
/// assert_eq!(field_checks(Dialect::Mysql, "estimate", &estimate), ["CHECK (`estimate` >= 0)"]);
/// ```
pub fn field_checks(d: Dialect, name: &str, field: &Field) -> Vec<String> {
    let col = d.quote(name);
    let kind = field.field_type();
    let mut out = Vec::new();
    let choices: Option<Vec<String>> = field.choice_values().map(|_| {
        field
            .choice_stored()
            .iter()
            .filter_map(|v| literal(d, kind, v))
            .collect()
    });
    if let Some(list) = choices.filter(|l| !l.is_empty()) {
        out.push(format!("CHECK ({col} IN ({}))", list.join(", ")));
    }
    if kind != FieldType::DateTime {
        let (min, max) = field.bounds_stored();
        for (op, bound) in [(">=", min), ("<=", max)] {
            if let Some(lit) = bound.and_then(|b| literal(d, kind, &b)) {
                out.push(format!("CHECK ({col} {op} {lit})"));
            }
        }
    }
    if let Some(n) = field.min_length_chars().filter(|n| *n > 0) {
        let length = match d {
            Dialect::Sqlite | Dialect::Oracle => "length",
            Dialect::Postgres => "char_length",
            Dialect::Mysql => "CHAR_LENGTH",
            Dialect::MsSql => "LEN",
        };
        out.push(match d {
            // SQLite's length() stops at the first NUL, which lightapi
            // stores: a text holding one is left to lightapi's check.
            Dialect::Sqlite => {
                format!("CHECK (length({col}) >= {n} OR instr(CAST({col} AS BLOB), x'00') > 0)")
            }
            _ => format!("CHECK ({length}({col}) >= {n})"),
        });
    }
    // Elsewhere the column type (`VARCHAR(n)`, …) bounds the length.
    if let (Dialect::Sqlite, Some(n)) = (d, field.max_length_chars()) {
        out.push(format!("CHECK (length({col}) <= {n})"));
    }
    out
}

/// The key column of `model`'s `CREATE TABLE`: the implicit `id` or a
/// declared integer key generated by the database, or a declared text or
/// uuid key as its field's type (text bounded where the dialect cannot
/// index unbounded text, as for a unique field).
fn key_column(d: Dialect, model: &Model) -> String {
    let id = d.quote(model.key_column());
    match model.key_field() {
        Some(field) if field.field_type() != FieldType::Integer => {
            let kind = column_type(d, &field.clone().unique());
            format!("{id} {kind} NOT NULL PRIMARY KEY")
        }
        _ => id_column(d, &id),
    }
}

fn id_column(d: Dialect, id: &str) -> String {
    match d {
        Dialect::Sqlite => format!("{id} INTEGER PRIMARY KEY AUTOINCREMENT"),
        Dialect::Postgres => format!("{id} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
        Dialect::Mysql => format!("{id} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"),
        Dialect::MsSql => format!("{id} BIGINT IDENTITY(1,1) PRIMARY KEY"),
        Dialect::Oracle => {
            format!("{id} NUMBER(19) GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        }
    }
}

/// An index name `ix_<table>_<column>`, shortened with a hash when too long.
pub(super) fn index_name(table: &str, column: &str) -> String {
    short_name(format!("ix_{table}_{column}"))
}

/// `name`, shortened with a hash when longer than an identifier may be.
pub(super) fn short_name(name: String) -> String {
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name;
    }
    let digest = Sha256::digest(name.as_bytes());
    let mut short: String = name.chars().take(MAX_IDENTIFIER_BYTES - 9).collect();
    short.push('_');
    for b in digest.iter().take(4) {
        let _ = write!(short, "{b:02x}");
    }
    short
}

/// Largest key InnoDB indexes, in bytes.
const MYSQL_MAX_KEY_BYTES: usize = 3072;

/// Bytes a MySQL/MariaDB key takes for a column (utf8mb4: four per
/// character); `None` for a type that cannot be indexed.
fn mysql_key_bytes(field: &Field) -> Option<usize> {
    match field.field_type() {
        FieldType::Text => column_type(Dialect::Mysql, field)
            .strip_prefix("VARCHAR(")
            .and_then(|n| n.strip_suffix(')'))
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| n * 4),
        FieldType::Json => None,
        FieldType::Uuid => Some(36 * 4),
        _ => Some(8),
    }
}

/// Why a key of the model cannot be created on `d`: on MySQL/MariaDB a
/// per-scope unique key (scope column and field together) must fit in
/// 3072 bytes, so long text columns need a `max_length`.
///
/// ```
/// use lightapi::__private::backend::sql::key_too_long;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Field, Model};
/// let m = Model::new("p").scope("owner", "sub").field("handle", Field::text().unique_in_scope());
/// assert!(key_too_long(Dialect::Mysql, &m).is_some());
/// assert!(key_too_long(Dialect::Postgres, &m).is_none());
/// let m = Model::new("p")
///     .field("owner", Field::text().max_length(200))
///     .scope("owner", "sub")
///     .field("handle", Field::text().max_length(400).unique_in_scope());
/// assert!(key_too_long(Dialect::Mysql, &m).is_none());
/// ```
pub fn key_too_long(d: Dialect, model: &Model) -> Option<String> {
    if d != Dialect::Mysql {
        return None;
    }
    let rule = model.scope_rule()?;
    let scope = model.field_named(rule.column())?;
    model
        .fields()
        .iter()
        .filter(|(_, f)| f.is_unique_in_scope())
        .find_map(|(name, field)| {
            let bytes = mysql_key_bytes(scope)
                .zip(mysql_key_bytes(field))
                .map(|(a, b)| a + b);
            match bytes {
                Some(n) if n <= MYSQL_MAX_KEY_BYTES => None,
                _ => Some(format!(
                    "table `{}`: the unique key on (`{}`, `{name}`) can exceed \
                     MySQL/MariaDB's {MYSQL_MAX_KEY_BYTES} bytes (4 per character, 8 per \
                     number): declare both fields with a max_length, at most {} characters \
                     in all",
                    model.name(),
                    rule.column(),
                    MYSQL_MAX_KEY_BYTES / 4
                )),
            }
        })
}

/// Statements that serialise schema creation between processes sharing a
/// database, so that several starting at once on an empty schema do not
/// race on `CREATE TABLE`/`CREATE INDEX`: taken before a model's table is
/// looked for again and created, released after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaLock {
    /// Takes the lock, waiting for another holder. When `reports` is set it
    /// answers one integer row, `1` once the lock is held.
    pub acquire: &'static str,
    /// Whether `acquire` answers a status row.
    pub reports: bool,
    /// Releases the lock (answering one integer row); `None` when the lock
    /// ends with the write's transaction.
    pub release: Option<&'static str>,
}

/// The schema lock for `d`: a transaction-scoped advisory lock on
/// PostgreSQL, a named lock for the current database on MySQL/MariaDB
/// (their DDL commits implicitly, so it is released explicitly). None for
/// SQLite, whose single writer already orders schema creation, nor for SQL
/// Server and Oracle.
///
/// ```
/// use lightapi::__private::backend::sql::{schema_lock, Dialect};
/// assert!(schema_lock(Dialect::Sqlite).is_none());
/// let pg = schema_lock(Dialect::Postgres).unwrap();
/// assert!(pg.acquire.starts_with("SELECT pg_advisory_xact_lock("));
/// assert!(pg.release.is_none());
/// ```
pub fn schema_lock(d: Dialect) -> Option<SchemaLock> {
    match d {
        // Any fixed key: advisory locks are per database.
        Dialect::Postgres => Some(SchemaLock {
            acquire: "SELECT pg_advisory_xact_lock(4871223117)",
            reports: false,
            release: None,
        }),
        // Named locks are server-wide: the name includes the database.
        Dialect::Mysql => Some(SchemaLock {
            acquire: "SELECT GET_LOCK(CONCAT('lightapi.schema.', DATABASE()), 60)",
            reports: true,
            release: Some("SELECT RELEASE_LOCK(CONCAT('lightapi.schema.', DATABASE()))"),
        }),
        Dialect::Sqlite | Dialect::MsSql | Dialect::Oracle => None,
    }
}

/// `CREATE TABLE` and `CREATE INDEX` statements for a model, to run in order
/// in one transaction. Unique columns get an inline `UNIQUE`; constraints
/// get table-level `CHECK`s ([`field_checks`]); indexed,
/// scope and foreign-key columns get an index; foreign keys are table-level
/// constraints (MySQL ignores inline `REFERENCES`). Text columns that are
/// unique or indexed but have no `max_length` get a bounded type where the
/// dialect cannot index unbounded text (MySQL `VARCHAR(768)`, MS-SQL
/// `NVARCHAR(450)`, Oracle `VARCHAR2(1000 CHAR)`).
///
/// MySQL/MariaDB tables are `utf8mb4` with the binary `collation` the
/// server offers ([`Conn::text_collation`](crate::backend::Conn::text_collation);
/// `utf8mb4_bin` when `None`): comparisons and unique keys then tell case,
/// accents and trailing spaces apart, as on the other dialects. Other
/// dialects ignore `collation`.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Dialect};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("person").field("email", Field::text().unique());
/// let ddl = sql::create_table(Dialect::Sqlite, &m, None);
/// assert_eq!(ddl[0], r#"CREATE TABLE IF NOT EXISTS "person" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "email" TEXT NOT NULL UNIQUE)"#);
/// let my = sql::create_table(Dialect::Mysql, &m, Some("utf8mb4_nopad_bin"));
/// assert!(my[0].ends_with(" DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"));
/// // A declared text key, and a foreign key into it once the models are
/// // linked (as the application does at start-up).
/// let thing = Model::new("thing").field("code", Field::text()).primary_key("code");
/// let ddl = sql::create_table(Dialect::Postgres, &thing, None);
/// assert_eq!(ddl[0], r#"CREATE TABLE IF NOT EXISTS "thing" ("code" TEXT NOT NULL PRIMARY KEY)"#);
/// let ddl = sql::create_table(Dialect::Mysql, &thing, None);
/// assert!(ddl[0].contains("(`code` VARCHAR(768) NOT NULL PRIMARY KEY)"), "{}", ddl[0]);
/// ```
pub fn create_table(d: Dialect, model: &Model, collation: Option<&str>) -> Vec<String> {
    let table = d.quote(model.name());
    let if_not_exists = match d {
        Dialect::Sqlite | Dialect::Postgres | Dialect::Mysql => "IF NOT EXISTS ",
        Dialect::MsSql | Dialect::Oracle => "",
    };
    let mut cols = vec![key_column(d, model)];
    let mut constraints = Vec::new();
    if let Some(key) = model.key_field() {
        constraints.extend(field_checks(d, model.key_column(), key));
    }
    let mut indexes = Vec::new();
    for (name, field) in model.fields() {
        let mut col = format!("{} {}", d.quote(name), column_type(d, field));
        if !field.is_nullable() {
            col.push_str(" NOT NULL");
        }
        if field.is_unique() {
            col.push_str(" UNIQUE");
        }
        cols.push(col);
        constraints.extend(field_checks(d, name, field));
        if let (true, Some(rule)) = (field.is_unique_in_scope(), model.scope_rule()) {
            // MySQL names the key in a duplicate-entry error: the field's
            // name tells which value is taken.
            let key = match d {
                Dialect::Mysql => name.clone(),
                _ => short_name(format!("uq_{}_{name}", model.name())),
            };
            constraints.push(format!(
                "CONSTRAINT {} UNIQUE ({}, {})",
                d.quote(&key),
                d.quote(rule.column()),
                d.quote(name)
            ));
        }
        if let Some(other) = field.referenced_table() {
            let on_delete = match field.on_delete_rule() {
                OnDelete::Cascade => " ON DELETE CASCADE",
                OnDelete::SetNull => " ON DELETE SET NULL",
                _ => "",
            };
            constraints.push(format!(
                "FOREIGN KEY ({}) REFERENCES {} ({}){on_delete}",
                d.quote(name),
                d.quote(other),
                d.quote(field.referenced_column())
            ));
        }
        let scoped = model.scope_rule().is_some_and(|s| s.column() == name);
        if !field.is_unique()
            && (field.is_indexed() || scoped || field.referenced_table().is_some())
        {
            let if_not_exists = match d {
                Dialect::Sqlite | Dialect::Postgres => "IF NOT EXISTS ",
                _ => "",
            };
            indexes.push(format!(
                "CREATE INDEX {if_not_exists}{} ON {table} ({})",
                d.quote(&index_name(model.name(), name)),
                d.quote(name)
            ));
        }
    }
    if model.is_versioned() {
        let int = column_type(d, &Field::integer());
        cols.push(format!(
            "{} {int} DEFAULT 1 NOT NULL",
            d.quote(VERSION_COLUMN)
        ));
    }
    cols.extend(constraints);
    // MySQL: 4-byte UTF-8, and binary comparison so that unique keys and
    // filters are exact as on the other dialects.
    let options = match d {
        Dialect::Mysql => format!(
            " DEFAULT CHARSET=utf8mb4 COLLATE={}",
            collation.unwrap_or("utf8mb4_bin")
        ),
        _ => String::new(),
    };
    let mut out = vec![format!(
        "CREATE TABLE {if_not_exists}{table} ({}){options}",
        cols.join(", ")
    )];
    out.extend(indexes);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sql::fixtures::person;
    use crate::model::{Field, Model};

    #[test]
    fn keys_and_foreign_keys_into_them() {
        let thing = Model::new("thing")
            .field("code", Field::text().max_length(8))
            .primary_key("code");
        let mut part = Model::new("part").field("thing_id", Field::text().references("thing"));
        part.link_references(&Model::keys_of([&thing, &part]));
        assert_eq!(
            create_table(Dialect::Sqlite, &thing, None)[0],
            "CREATE TABLE IF NOT EXISTS \"thing\" (\"code\" TEXT NOT NULL PRIMARY KEY, \
             CHECK (length(\"code\") <= 8))"
        );
        let ddl = create_table(Dialect::Mysql, &part, None);
        assert!(
            ddl[0].contains("`thing_id` VARCHAR(768) NOT NULL"),
            "{}",
            ddl[0]
        );
        assert!(
            ddl[0].contains("FOREIGN KEY (`thing_id`) REFERENCES `thing` (`code`)"),
            "{}",
            ddl[0]
        );
        let num = Model::new("n")
            .field("num", Field::integer())
            .primary_key("num");
        assert_eq!(
            create_table(Dialect::Postgres, &num, None)[0],
            "CREATE TABLE IF NOT EXISTS \"n\" (\"num\" BIGINT GENERATED BY DEFAULT AS IDENTITY \
             PRIMARY KEY)"
        );
        let uuid = Model::new("u")
            .field("uid", Field::uuid())
            .primary_key("uid");
        let ddl = create_table(Dialect::Postgres, &uuid, None);
        assert!(
            ddl[0].contains("\"uid\" UUID NOT NULL PRIMARY KEY"),
            "{}",
            ddl[0]
        );
    }

    #[test]
    fn create_table_sqlite() {
        let ddl = create_table(Dialect::Sqlite, &person().versioned(), None);
        assert_eq!(
            ddl[0],
            "CREATE TABLE IF NOT EXISTS \"person\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \
             \"name\" TEXT NOT NULL, \"email\" TEXT NOT NULL UNIQUE, \"age\" INTEGER, \
             \"score\" REAL NOT NULL, \"verified\" INTEGER NOT NULL, \"born\" TEXT, \"extra\" TEXT, \
             \"team\" INTEGER, \"version\" INTEGER DEFAULT 1 NOT NULL, \
             CHECK (length(\"name\") <= 100), FOREIGN KEY (\"team\") REFERENCES \"team\" (\"id\"))"
        );
        assert_eq!(
            ddl[1],
            "CREATE INDEX IF NOT EXISTS \"ix_person_team\" ON \"person\" (\"team\")"
        );
        assert_eq!(ddl.len(), 2);
    }

    #[test]
    fn foreign_keys_carry_their_on_delete_rule() {
        let m = Model::new("task")
            .field("a", Field::integer().references("p"))
            .field(
                "b",
                Field::integer()
                    .references("p")
                    .on_delete(OnDelete::Cascade),
            )
            .field(
                "c",
                Field::integer()
                    .nullable()
                    .references("p")
                    .on_delete(OnDelete::SetNull),
            );
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let ddl = create_table(d, &m, None).join(";");
            let q = |c: &str| d.quote(c);
            let fk =
                |c: &str| format!("FOREIGN KEY ({}) REFERENCES {} ({})", q(c), q("p"), q("id"));
            assert!(ddl.contains(&format!("{}, ", fk("a"))), "{ddl}");
            assert!(
                ddl.contains(&format!("{} ON DELETE CASCADE", fk("b"))),
                "{ddl}"
            );
            assert!(
                ddl.contains(&format!("{} ON DELETE SET NULL", fk("c"))),
                "{ddl}"
            );
        }
    }

    #[test]
    fn create_table_postgres() {
        let ddl = create_table(Dialect::Postgres, &person(), None);
        assert_eq!(
            ddl[0],
            "CREATE TABLE IF NOT EXISTS \"person\" (\"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
             \"name\" VARCHAR(100) NOT NULL, \"email\" TEXT NOT NULL UNIQUE, \"age\" BIGINT, \
             \"score\" DOUBLE PRECISION NOT NULL, \"verified\" BOOLEAN NOT NULL, \"born\" TIMESTAMPTZ, \
             \"extra\" JSONB, \"team\" BIGINT, FOREIGN KEY (\"team\") REFERENCES \"team\" (\"id\"))"
        );
    }

    #[test]
    fn create_table_mysql() {
        let ddl = create_table(Dialect::Mysql, &person(), None);
        assert_eq!(
            ddl[0],
            "CREATE TABLE IF NOT EXISTS `person` (`id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
             `name` VARCHAR(100) NOT NULL, `email` VARCHAR(768) NOT NULL UNIQUE, `age` BIGINT, \
             `score` DOUBLE NOT NULL, `verified` BOOLEAN NOT NULL, `born` DATETIME(6), `extra` JSON, \
             `team` BIGINT, FOREIGN KEY (`team`) REFERENCES `team` (`id`)) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        );
        assert_eq!(ddl[1], "CREATE INDEX `ix_person_team` ON `person` (`team`)");
    }

    #[test]
    fn create_table_mssql() {
        let ddl = create_table(Dialect::MsSql, &person().versioned(), None);
        assert_eq!(
            ddl[0],
            "CREATE TABLE [person] ([id] BIGINT IDENTITY(1,1) PRIMARY KEY, [name] NVARCHAR(100) NOT NULL, \
             [email] NVARCHAR(450) NOT NULL UNIQUE, [age] BIGINT, [score] FLOAT NOT NULL, \
             [verified] BIT NOT NULL, [born] DATETIME2(6), [extra] NVARCHAR(MAX), [team] BIGINT, \
             [version] BIGINT DEFAULT 1 NOT NULL, FOREIGN KEY ([team]) REFERENCES [team] ([id]))"
        );
    }

    #[test]
    fn create_table_oracle() {
        let ddl = create_table(Dialect::Oracle, &person(), None);
        assert_eq!(
            ddl[0],
            "CREATE TABLE \"person\" (\"id\" NUMBER(19) GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
             \"name\" VARCHAR2(100 CHAR) NOT NULL, \"email\" VARCHAR2(1000 CHAR) NOT NULL UNIQUE, \
             \"age\" NUMBER(19), \"score\" BINARY_DOUBLE NOT NULL, \"verified\" NUMBER(1) NOT NULL, \
             \"born\" TIMESTAMP(6), \"extra\" CLOB, \"team\" NUMBER(19), \
             FOREIGN KEY (\"team\") REFERENCES \"team\" (\"id\"))"
        );
    }

    #[test]
    fn scope_and_index_columns_are_indexed() {
        let m = Model::new("note")
            .field("title", Field::text().index())
            .scope("owner", "sub");
        let ddl = create_table(Dialect::Postgres, &m, None);
        assert_eq!(ddl.len(), 3);
        assert!(ddl[1].contains("\"ix_note_title\""));
        assert!(ddl[2].contains("\"ix_note_owner\""));
    }

    fn tracker() -> Model {
        Model::new("task")
            .field(
                "status",
                Field::text().choices(&["todo", "doing", "it's done"]),
            )
            .field("estimate", Field::integer().min(0).max(100))
            .field("ratio", Field::float().nullable().min(0.5))
            .field("title", Field::text().min_length(2).max_length(80))
            .field("code", Field::uuid())
            .field("due", Field::date().min("2000-01-01"))
            .field("price", Field::decimal(19, 2).min(0))
            .field("at", Field::datetime().min("2000-01-01T00:00:00Z"))
    }

    #[test]
    fn new_types_per_dialect() {
        let cols = |d| {
            let ddl = create_table(d, &tracker(), None);
            ["code", "due", "price"].map(|c| {
                let q = d.quote(c);
                let at = ddl[0].find(&format!("{q} ")).unwrap() + q.len() + 1;
                ddl[0][at..].split(" NOT NULL").next().unwrap().to_owned()
            })
        };
        assert_eq!(
            cols(Dialect::Sqlite),
            ["TEXT", "TEXT", "TEXT COLLATE lightapi_decimal"]
        );
        assert_eq!(cols(Dialect::Postgres), ["UUID", "DATE", "NUMERIC(19,2)"]);
        assert_eq!(cols(Dialect::Mysql), ["CHAR(36)", "DATE", "DECIMAL(19,2)"]);
    }

    #[test]
    fn constraints_become_checks() {
        let checks = |d| {
            let ddl = create_table(d, &tracker(), None);
            ddl[0]
                .split(", CHECK (")
                .skip(1)
                .map(|c| c.split(')').next().unwrap().to_owned() + ")")
                .collect::<Vec<_>>()
        };
        assert_eq!(
            checks(Dialect::Postgres),
            [
                "\"status\" IN ('todo', 'doing', 'it''s done')",
                "\"estimate\" >= 0)",
                "\"estimate\" <= 100)",
                "\"ratio\" >= 0.5)",
                "char_length(\"title\")",
                "\"due\" >= '2000-01-01')",
                "\"price\" >= 0.00)",
            ]
        );
        let sqlite = create_table(Dialect::Sqlite, &tracker(), None);
        assert!(sqlite[0].contains(
            "CHECK (length(\"title\") >= 2 OR instr(CAST(\"title\" AS BLOB), x'00') > 0)"
        ));
        assert!(sqlite[0].contains("CHECK (length(\"title\") <= 80)"));
        assert!(sqlite[0].contains("CHECK (\"price\" >= '0.00')"));
        let my = create_table(Dialect::Mysql, &tracker(), None);
        assert!(my[0].contains("CHECK (CHAR_LENGTH(`title`) >= 2)"));
        assert!(my[0].contains("CHECK (`price` >= 0.00)"));
        // Datetime bounds are checked by lightapi only.
        assert!(!sqlite[0].contains("\"at\" >="));
    }

    #[test]
    fn long_index_names_are_shortened() {
        let table = "t".repeat(63);
        let name = index_name(&table, "column");
        assert_eq!(name.len(), 63);
        assert_ne!(name, index_name(&table, "column2"));
    }
}
