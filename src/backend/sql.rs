//! The one place that builds SQL from a [`Model`], for every [`Dialect`].
//!
//! Identifiers come only from the model (and are quoted); values are always
//! bound parameters, returned beside the text in [`Sql`].
//!
//! ```
//! use lightapi::backend::sql::{self, Dialect};
//! use lightapi::model::{Field, Model};
//!
//! let person = Model::new("person").field("name", Field::text());
//! let q = sql::select_by_id(Dialect::Postgres, &person, 7, None, false);
//! assert_eq!(q.text, r#"SELECT "id", "name" FROM "person" WHERE "id" = $1"#);
//! ```

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::{BackendError, Value};
use crate::model::{Field, FieldType, Model, ID_COLUMN, MAX_IDENTIFIER_BYTES, VERSION_COLUMN};

/// A SQL dialect: quoting, placeholders, types and statement forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite 3.35+ (`?`, `"x"`, `RETURNING`).
    Sqlite,
    /// PostgreSQL 10+ (`$1`, `"x"`, `RETURNING`).
    Postgres,
    /// MySQL 8 / MariaDB 10.5+ (`?`, `` `x` ``, `LAST_INSERT_ID()`).
    Mysql,
    /// Microsoft SQL Server 2012+ (`@P1`, `[x]`, `OUTPUT INSERTED`).
    MsSql,
    /// Oracle 12c+ (`:1`, `"x"`, `RETURNING … INTO`).
    Oracle,
}

impl Dialect {
    /// Quotes an identifier (doubling any closing quote character).
    ///
    /// ```
    /// use lightapi::backend::Dialect;
    /// assert_eq!(Dialect::Mysql.quote("name"), "`name`");
    /// assert_eq!(Dialect::MsSql.quote("name"), "[name]");
    /// ```
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
            Dialect::MsSql => format!("[{}]", ident.replace(']', "]]")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// The placeholder of the `n`th (1-based) parameter.
    ///
    /// ```
    /// use lightapi::backend::Dialect;
    /// assert_eq!(Dialect::Postgres.placeholder(2), "$2");
    /// assert_eq!(Dialect::Oracle.placeholder(2), ":2");
    /// ```
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite | Dialect::Mysql => "?".to_owned(),
            Dialect::Postgres => format!("${n}"),
            Dialect::MsSql => format!("@P{n}"),
            Dialect::Oracle => format!(":{n}"),
        }
    }
}

/// A statement and its bound parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The statement text.
    pub text: String,
    /// The parameter values.
    pub params: Vec<Value>,
}

/// Row scoping: `column = value` is added to every statement's `WHERE`.
///
/// ```
/// use lightapi::backend::{sql::Scope, Value};
/// let s = Scope { column: "owner_id".into(), value: Value::Text("alice".into()) };
/// # assert_eq!(s.column, "owner_id");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// The scoped column (the model's [`crate::model::ScopeRule::column`]).
    pub column: String,
    /// The value it must equal (the caller's claim).
    pub value: Value,
}

/// A comparison in a list query's `WHERE`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FilterOp {
    /// `= value`
    Eq(Value),
    /// `<> value`
    Ne(Value),
    /// `< value`
    Lt(Value),
    /// `<= value`
    Lte(Value),
    /// `> value`
    Gt(Value),
    /// `>= value`
    Gte(Value),
    /// `IN (values…)`; an empty list matches nothing.
    In(Vec<Value>),
    /// `IS NULL` (`true`) or `IS NOT NULL` (`false`).
    IsNull(bool),
    /// Case-insensitive substring (text fields); `%` and `_` match literally.
    Contains(String),
    /// Any of these filters (`OR`); the enclosing [`Filter::field`] is
    /// ignored.
    Any(Vec<Filter>),
}

/// One filter of a [`ListQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// A field of the model (or `id`).
    pub field: String,
    /// The comparison.
    pub op: FilterOp,
}

/// One ordering key of a [`ListQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// A field of the model (or `id`).
    pub field: String,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// A keyset position: the ordering values and id of the last row seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// One value per [`ListQuery::order`] key (before the `id` tiebreak).
    pub values: Vec<Value>,
    /// The id of the last row seen.
    pub id: i64,
}

/// What a list request asks for. Ordering always ends with an ascending `id`
/// tiebreak (unless `id` is already an ordering key), so pages are stable.
/// `NULL` sorts before every value in ascending order on every dialect.
///
/// ```
/// use lightapi::backend::sql::{Filter, FilterOp, ListQuery, Order};
/// use lightapi::backend::Value;
/// let q = ListQuery {
///     filters: vec![Filter { field: "age".into(), op: FilterOp::Gte(Value::Integer(18)) }],
///     order: vec![Order { field: "name".into(), descending: false }],
///     limit: Some(20),
///     ..ListQuery::default()
/// };
/// # assert_eq!(q.offset, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// Filters, combined with `AND`.
    pub filters: Vec<Filter>,
    /// Ordering keys, most significant first.
    pub order: Vec<Order>,
    /// Most rows returned.
    pub limit: Option<u64>,
    /// Rows skipped.
    pub offset: u64,
    /// Only rows after this keyset position (in the query's ordering).
    pub after: Option<Keyset>,
}

/// How to insert a row and get it back (see [`insert`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Insert {
    /// One query that returns the stored row ([`select_columns`] order).
    Returning(Sql),
    /// An insert, then a query returning the row by `LAST_INSERT_ID()` (MySQL).
    ThenSelect {
        /// The insert.
        insert: Sql,
        /// The select of the new row.
        select: Sql,
    },
    /// An insert whose last placeholder is an out parameter receiving the id
    /// (Oracle); run with [`super::Conn::insert_returning_id`], then select by id.
    ReturningId(Sql),
}

/// A column reported by [`introspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Declared or data type, as the database reports it.
    pub data_type: String,
    /// Whether the column accepts `NULL`.
    pub nullable: bool,
}

/// The stored columns of a model, in order: `id`, the fields, then `version`
/// for a versioned model.
///
/// ```
/// use lightapi::backend::sql::select_columns;
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::text()).versioned();
/// let cols: Vec<_> = select_columns(&m).into_iter().map(|(n, _)| n).collect();
/// assert_eq!(cols, ["id", "a", "version"]);
/// ```
pub fn select_columns(model: &Model) -> Vec<(&str, FieldType)> {
    let mut cols = Vec::with_capacity(model.fields().len() + 2);
    cols.push((ID_COLUMN, FieldType::Integer));
    for (name, field) in model.fields() {
        cols.push((name.as_str(), field.field_type()));
    }
    if model.is_versioned() {
        cols.push((VERSION_COLUMN, FieldType::Integer));
    }
    cols
}

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
        let q = self.dialect.quote(name);
        self.text.push_str(&q);
        self
    }

    fn param(&mut self, value: Value) -> &mut Builder {
        self.params.push(value);
        let p = self.dialect.placeholder(self.params.len());
        self.text.push_str(&p);
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

fn column_type(d: Dialect, field: &Field) -> String {
    let keyed = field.is_unique() || field.is_indexed();
    let max = field.max_length_chars();
    match (d, field.field_type()) {
        (Dialect::Sqlite, FieldType::Integer | FieldType::Boolean) => "INTEGER".into(),
        (Dialect::Sqlite, FieldType::Float) => "REAL".into(),
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
    }
}

fn id_column(d: Dialect) -> String {
    let id = d.quote(ID_COLUMN);
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
fn index_name(table: &str, column: &str) -> String {
    let name = format!("ix_{table}_{column}");
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
/// use lightapi::backend::sql::{schema_lock, Dialect};
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
/// in one transaction. Unique columns get an inline `UNIQUE`; indexed,
/// scope and foreign-key columns get an index; foreign keys are table-level
/// constraints (MySQL ignores inline `REFERENCES`). Text columns that are
/// unique or indexed but have no `max_length` get a bounded type where the
/// dialect cannot index unbounded text (MySQL `VARCHAR(768)`, MS-SQL
/// `NVARCHAR(450)`, Oracle `VARCHAR2(1000 CHAR)`).
///
/// MySQL/MariaDB tables are `utf8mb4` with the binary `collation` the
/// server offers ([`Conn::text_collation`](super::Conn::text_collation);
/// `utf8mb4_bin` when `None`): comparisons and unique keys then tell case,
/// accents and trailing spaces apart, as on the other dialects. Other
/// dialects ignore `collation`.
///
/// ```
/// use lightapi::backend::{sql, Dialect};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("person").field("email", Field::text().unique());
/// let ddl = sql::create_table(Dialect::Sqlite, &m, None);
/// assert_eq!(ddl[0], r#"CREATE TABLE IF NOT EXISTS "person" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "email" TEXT NOT NULL UNIQUE)"#);
/// let my = sql::create_table(Dialect::Mysql, &m, Some("utf8mb4_nopad_bin"));
/// assert!(my[0].ends_with(" DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"));
/// ```
pub fn create_table(d: Dialect, model: &Model, collation: Option<&str>) -> Vec<String> {
    let table = d.quote(model.name());
    let if_not_exists = match d {
        Dialect::Sqlite | Dialect::Postgres | Dialect::Mysql => "IF NOT EXISTS ",
        Dialect::MsSql | Dialect::Oracle => "",
    };
    let mut cols = vec![id_column(d)];
    let mut constraints = Vec::new();
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
        if let Some(other) = field.referenced_table() {
            constraints.push(format!(
                "FOREIGN KEY ({}) REFERENCES {} ({})",
                d.quote(name),
                d.quote(other),
                d.quote(ID_COLUMN)
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

fn check_column<'m>(model: &'m Model, name: &str) -> Result<Option<&'m Field>, BackendError> {
    if name == ID_COLUMN || (model.is_versioned() && name == VERSION_COLUMN) {
        return Ok(None);
    }
    model
        .field_named(name)
        .map(Some)
        .ok_or_else(|| BackendError::InvalidQuery {
            message: format!("unknown field `{name}`"),
        })
}

fn push_scope(b: &mut Builder, scope: Option<&Scope>) {
    if let Some(s) = scope {
        b.push(" AND ")
            .ident(&s.column)
            .push(" = ")
            .param(s.value.clone());
    }
}

/// How to insert `values` (column, value pairs; columns must belong to the
/// model and must not include `id`). The `version` of a versioned model is
/// set to 1. The new row comes back in [`select_columns`] order.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a column the model does not have.
///
/// ```
/// use lightapi::backend::sql::{insert, Insert};
/// use lightapi::backend::{Dialect, Value};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::integer());
/// let Insert::Returning(q) = insert(Dialect::Sqlite, &m, vec![("a".into(), Value::Integer(1))])? else { panic!() };
/// assert_eq!(q.text, r#"INSERT INTO "t" ("a") VALUES (?) RETURNING "id", "a""#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn insert(
    d: Dialect,
    model: &Model,
    values: Vec<(String, Value)>,
) -> Result<Insert, BackendError> {
    let mut values = values;
    for (name, _) in &values {
        if name == ID_COLUMN || check_column(model, name)?.is_none() {
            return Err(BackendError::InvalidQuery {
                message: format!("column `{name}` is assigned by the database"),
            });
        }
    }
    if model.is_versioned() {
        values.push((VERSION_COLUMN.to_owned(), Value::Integer(1)));
    }
    let mut b = Builder::new(d);
    b.push("INSERT INTO ").ident(model.name());
    if values.is_empty() {
        match d {
            Dialect::Mysql => {
                b.push(" () VALUES ()");
            }
            Dialect::Oracle => {
                b.push(" (").ident(ID_COLUMN).push(") VALUES (DEFAULT)");
            }
            Dialect::MsSql => {
                b.push(" OUTPUT ");
                push_inserted_list(&mut b, model);
                b.push(" DEFAULT VALUES");
            }
            Dialect::Sqlite | Dialect::Postgres => {
                b.push(" DEFAULT VALUES");
            }
        }
    } else {
        b.push(" (");
        for (i, (name, _)) in values.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.ident(name);
        }
        b.push(")");
        if d == Dialect::MsSql {
            b.push(" OUTPUT ");
            push_inserted_list(&mut b, model);
        }
        b.push(" VALUES (");
        for (i, (_, value)) in values.into_iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.param(value);
        }
        b.push(")");
    }
    Ok(match d {
        Dialect::Sqlite | Dialect::Postgres => {
            b.push(" RETURNING ").column_list(model);
            Insert::Returning(b.finish())
        }
        Dialect::MsSql => Insert::Returning(b.finish()),
        Dialect::Mysql => {
            let mut s = Builder::new(d);
            s.push("SELECT ")
                .column_list(model)
                .push(" FROM ")
                .ident(model.name())
                .push(" WHERE ")
                .ident(ID_COLUMN)
                .push(" = LAST_INSERT_ID()");
            Insert::ThenSelect {
                insert: b.finish(),
                select: s.finish(),
            }
        }
        Dialect::Oracle => {
            b.push(" RETURNING ").ident(ID_COLUMN).push(" INTO ");
            let out = d.placeholder(b.params.len() + 1);
            b.push(&out);
            Insert::ReturningId(b.finish())
        }
    })
}

fn push_inserted_list(b: &mut Builder, model: &Model) {
    for (i, (name, _)) in select_columns(model).into_iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push("INSERTED.").ident(name);
    }
}

/// `SELECT` of one row by id (and scope). With `for_update`, the row is
/// locked for the rest of the transaction where the dialect needs it
/// (`FOR UPDATE`, MS-SQL `WITH (UPDLOCK, ROWLOCK)`; SQLite writes are
/// serialised anyway).
///
/// ```
/// use lightapi::backend::{sql, Dialect};
/// use lightapi::model::Model;
/// let q = sql::select_by_id(Dialect::MsSql, &Model::new("t"), 1, None, true);
/// assert_eq!(q.text, "SELECT [id] FROM [t] WITH (UPDLOCK, ROWLOCK) WHERE [id] = @P1");
/// ```
pub fn select_by_id(
    d: Dialect,
    model: &Model,
    id: i64,
    scope: Option<&Scope>,
    for_update: bool,
) -> Sql {
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(model)
        .push(" FROM ")
        .ident(model.name());
    if for_update && d == Dialect::MsSql {
        b.push(" WITH (UPDLOCK, ROWLOCK)");
    }
    b.push(" WHERE ")
        .ident(ID_COLUMN)
        .push(" = ")
        .param(Value::Integer(id));
    push_scope(&mut b, scope);
    if for_update && matches!(d, Dialect::Postgres | Dialect::Mysql | Dialect::Oracle) {
        b.push(" FOR UPDATE");
    }
    b.finish()
}

fn field_nullable(model: &Model, name: &str) -> bool {
    model.field_named(name).is_some_and(Field::is_nullable)
}

fn push_filter(b: &mut Builder, model: &Model, filter: &Filter) -> Result<(), BackendError> {
    if let FilterOp::Any(alternatives) = &filter.op {
        if alternatives.is_empty() {
            b.push("1 = 0");
            return Ok(());
        }
        b.push("(");
        for (i, f) in alternatives.iter().enumerate() {
            if i > 0 {
                b.push(" OR ");
            }
            push_filter(b, model, f)?;
        }
        b.push(")");
        return Ok(());
    }
    let field = check_column(model, &filter.field)?;
    if field.is_some_and(Field::is_write_only) {
        return Err(BackendError::InvalidQuery {
            message: format!("cannot filter on write-only field `{}`", filter.field),
        });
    }
    let kind = field.map_or(FieldType::Integer, Field::field_type);
    let compare = |b: &mut Builder, op: &str, v: &Value| {
        b.ident(&filter.field).push(op).param(v.clone());
    };
    match &filter.op {
        FilterOp::Eq(v) => compare(b, " = ", v),
        FilterOp::Ne(v) => compare(b, " <> ", v),
        FilterOp::Lt(v) => compare(b, " < ", v),
        FilterOp::Lte(v) => compare(b, " <= ", v),
        FilterOp::Gt(v) => compare(b, " > ", v),
        FilterOp::Gte(v) => compare(b, " >= ", v),
        FilterOp::In(values) if values.is_empty() => {
            b.push("1 = 0");
        }
        FilterOp::In(values) => {
            b.ident(&filter.field).push(" IN (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.param(v.clone());
            }
            b.push(")");
        }
        FilterOp::IsNull(true) => {
            b.ident(&filter.field).push(" IS NULL");
        }
        FilterOp::IsNull(false) => {
            b.ident(&filter.field).push(" IS NOT NULL");
        }
        FilterOp::Contains(needle) => {
            if kind != FieldType::Text {
                return Err(BackendError::InvalidQuery {
                    message: format!("`{}` is not a text field", filter.field),
                });
            }
            let mut pattern = String::with_capacity(needle.len() + 2);
            pattern.push('%');
            for c in needle.chars() {
                if matches!(c, '!' | '%' | '_' | '[') {
                    pattern.push('!');
                }
                pattern.push(c);
            }
            pattern.push('%');
            b.push("LOWER(")
                .ident(&filter.field)
                .push(") LIKE LOWER(")
                .param(Value::Text(pattern))
                .push(") ESCAPE '!'");
        }
        FilterOp::Any(_) => {}
    }
    Ok(())
}

fn push_where(
    b: &mut Builder,
    model: &Model,
    filters: &[Filter],
    scope: Option<&Scope>,
) -> Result<bool, BackendError> {
    let mut first = true;
    let mut and = |b: &mut Builder| {
        b.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    if let Some(s) = scope {
        and(b);
        b.ident(&s.column).push(" = ").param(s.value.clone());
    }
    for f in filters {
        and(b);
        push_filter(b, model, f)?;
    }
    Ok(!first)
}

/// The ordering keys with the `id` tiebreak, checked against the model:
/// (column, descending, nullable).
fn ordering<'q>(
    model: &Model,
    order: &'q [Order],
) -> Result<Vec<(&'q str, bool, bool)>, BackendError> {
    let mut keys = Vec::with_capacity(order.len() + 1);
    for o in order {
        if let Some(f) = check_column(model, &o.field)? {
            if f.field_type() == FieldType::Json || f.is_write_only() {
                return Err(BackendError::InvalidQuery {
                    message: format!("cannot order by `{}`", o.field),
                });
            }
        }
        keys.push((
            o.field.as_str(),
            o.descending,
            field_nullable(model, &o.field),
        ));
    }
    if !order.iter().any(|o| o.field == ID_COLUMN) {
        keys.push((ID_COLUMN, false, false));
    }
    Ok(keys)
}

fn push_null_rank(b: &mut Builder, column: &str) {
    b.push("CASE WHEN ")
        .ident(column)
        .push(" IS NULL THEN 0 ELSE 1 END");
}

/// `column` sorts strictly after `v` in the given direction (NULL is smallest).
fn push_after(b: &mut Builder, column: &str, desc: bool, nullable: bool, v: &Value) {
    match (desc, v.is_null()) {
        (false, true) => {
            b.ident(column).push(" IS NOT NULL");
        }
        (false, false) => {
            b.ident(column).push(" > ").param(v.clone());
        }
        (true, true) => {
            b.push("1 = 0");
        }
        (true, false) if nullable => {
            b.push("(")
                .ident(column)
                .push(" < ")
                .param(v.clone())
                .push(" OR ")
                .ident(column)
                .push(" IS NULL)");
        }
        (true, false) => {
            b.ident(column).push(" < ").param(v.clone());
        }
    }
}

fn push_keyset(
    b: &mut Builder,
    keys: &[(&str, bool, bool)],
    order_len: usize,
    after: &Keyset,
) -> Result<(), BackendError> {
    let mut values: Vec<Value> = after.values.clone();
    if values.len() != order_len {
        return Err(BackendError::InvalidQuery {
            message: "the keyset position does not match the ordering".to_owned(),
        });
    }
    if keys.len() > order_len {
        values.push(Value::Integer(after.id));
    }
    if values.len() != keys.len() {
        return Err(BackendError::InvalidQuery {
            message: "the keyset position does not match the ordering".to_owned(),
        });
    }
    // A redundant bound on the first key lets every database seek an index
    // on it instead of scanning: the expansion below alone is an `OR`.
    if let (Some((column, desc, false)), Some(v)) = (keys.first(), values.first()) {
        if keys.len() > 1 && !v.is_null() {
            b.ident(column)
                .push(if *desc { " <= " } else { " >= " })
                .param(v.clone())
                .push(" AND ");
        }
    }
    b.push("(");
    for k in 0..keys.len() {
        if k > 0 {
            b.push(" OR ");
        }
        b.push("(");
        for ((column, _, _), v) in keys.iter().zip(&values).take(k) {
            if v.is_null() {
                b.ident(column).push(" IS NULL AND ");
            } else {
                b.ident(column).push(" = ").param(v.clone()).push(" AND ");
            }
        }
        if let (Some((column, desc, nullable)), Some(v)) = (keys.get(k), values.get(k)) {
            push_after(b, column, *desc, *nullable, v);
        }
        b.push(")");
    }
    b.push(")");
    Ok(())
}

/// `SELECT` of a page of rows ([`select_columns`] order) matching `query`
/// and `scope`.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for an unknown field, a `Contains` on a
/// non-text field, an ordering on a JSON or write-only field, or a keyset
/// whose length does not match the ordering.
///
/// ```
/// use lightapi::backend::sql::{select_list, ListQuery};
/// use lightapi::backend::Dialect;
/// use lightapi::model::Model;
/// let q = ListQuery { limit: Some(10), offset: 20, ..ListQuery::default() };
/// let s = select_list(Dialect::Oracle, &Model::new("t"), &q, None)?;
/// assert_eq!(s.text, r#"SELECT "id" FROM "t" ORDER BY "id" OFFSET :1 ROWS FETCH NEXT :2 ROWS ONLY"#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn select_list(
    d: Dialect,
    model: &Model,
    query: &ListQuery,
    scope: Option<&Scope>,
) -> Result<Sql, BackendError> {
    let keys = ordering(model, &query.order)?;
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(model)
        .push(" FROM ")
        .ident(model.name());
    let has_where = push_where(&mut b, model, &query.filters, scope)?;
    if let Some(after) = &query.after {
        b.push(if has_where { " AND " } else { " WHERE " });
        push_keyset(&mut b, &keys, query.order.len(), after)?;
    }
    b.push(" ORDER BY ");
    for (i, (column, desc, nullable)) in keys.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        let dir = if *desc { " DESC" } else { "" };
        if *nullable {
            push_null_rank(&mut b, column);
            b.push(dir).push(", ");
        }
        b.ident(column).push(dir);
    }
    let clamp = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    match d {
        Dialect::Sqlite => {
            if query.limit.is_some() || query.offset > 0 {
                b.push(" LIMIT ")
                    .param(query.limit.map_or(Value::Integer(-1), clamp));
            }
            if query.offset > 0 {
                b.push(" OFFSET ").param(clamp(query.offset));
            }
        }
        Dialect::Postgres | Dialect::Mysql => {
            match query.limit {
                Some(n) => {
                    b.push(" LIMIT ").param(clamp(n));
                }
                None if d == Dialect::Mysql && query.offset > 0 => {
                    b.push(" LIMIT 18446744073709551615");
                }
                None => {}
            }
            if query.offset > 0 {
                b.push(" OFFSET ").param(clamp(query.offset));
            }
        }
        Dialect::MsSql | Dialect::Oracle => {
            if query.limit.is_some() || query.offset > 0 {
                b.push(" OFFSET ").param(clamp(query.offset)).push(" ROWS");
            }
            if let Some(n) = query.limit {
                b.push(" FETCH NEXT ").param(clamp(n)).push(" ROWS ONLY");
            }
        }
    }
    Ok(b.finish())
}

/// `SELECT COUNT(*)` of the rows matching `filters` and `scope` (for page
/// pagination's `count`).
///
/// # Errors
///
/// As [`select_list`] for the filters.
///
/// ```
/// use lightapi::backend::{sql, Dialect};
/// use lightapi::model::Model;
/// let q = sql::count(Dialect::Sqlite, &Model::new("t"), &[], None)?;
/// assert_eq!(q.text, r#"SELECT COUNT(*) FROM "t""#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn count(
    d: Dialect,
    model: &Model,
    filters: &[Filter],
    scope: Option<&Scope>,
) -> Result<Sql, BackendError> {
    let mut b = Builder::new(d);
    b.push("SELECT COUNT(*) FROM ").ident(model.name());
    push_where(&mut b, model, filters, scope)?;
    Ok(b.finish())
}

/// `UPDATE` of one row by id (and scope). For a versioned model the
/// statement also increments `version`, and with `expected_version` only
/// updates a row still at that version. Returns `None` when there is nothing
/// to change (no values, not versioned).
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a column the model does not have, or
/// `id`/`version`.
///
/// ```
/// use lightapi::backend::{sql, Dialect, Value};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::integer()).versioned();
/// let q = sql::update(Dialect::Postgres, &m, 5, vec![("a".into(), Value::Integer(2))], None, Some(3))?.unwrap();
/// assert_eq!(q.text, r#"UPDATE "t" SET "a" = $1, "version" = "version" + 1 WHERE "id" = $2 AND "version" = $3"#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn update(
    d: Dialect,
    model: &Model,
    id: i64,
    values: Vec<(String, Value)>,
    scope: Option<&Scope>,
    expected_version: Option<i64>,
) -> Result<Option<Sql>, BackendError> {
    for (name, _) in &values {
        if check_column(model, name)?.is_none() {
            return Err(BackendError::InvalidQuery {
                message: format!("column `{name}` cannot be set"),
            });
        }
    }
    if values.is_empty() && !model.is_versioned() {
        return Ok(None);
    }
    let mut b = Builder::new(d);
    b.push("UPDATE ").ident(model.name()).push(" SET ");
    let n = values.len();
    for (i, (name, value)) in values.into_iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.ident(&name).push(" = ").param(value);
    }
    if model.is_versioned() {
        if n > 0 {
            b.push(", ");
        }
        b.ident(VERSION_COLUMN)
            .push(" = ")
            .ident(VERSION_COLUMN)
            .push(" + 1");
    }
    b.push(" WHERE ")
        .ident(ID_COLUMN)
        .push(" = ")
        .param(Value::Integer(id));
    push_scope(&mut b, scope);
    if let (true, Some(v)) = (model.is_versioned(), expected_version) {
        b.push(" AND ")
            .ident(VERSION_COLUMN)
            .push(" = ")
            .param(Value::Integer(v));
    }
    Ok(Some(b.finish()))
}

/// `DELETE` of one row by id (and scope).
///
/// ```
/// use lightapi::backend::{sql, Dialect};
/// use lightapi::model::Model;
/// let q = sql::delete(Dialect::Mysql, &Model::new("t"), 1, None);
/// assert_eq!(q.text, "DELETE FROM `t` WHERE `id` = ?");
/// ```
pub fn delete(d: Dialect, model: &Model, id: i64, scope: Option<&Scope>) -> Sql {
    let mut b = Builder::new(d);
    b.push("DELETE FROM ")
        .ident(model.name())
        .push(" WHERE ")
        .ident(ID_COLUMN)
        .push(" = ")
        .param(Value::Integer(id));
    push_scope(&mut b, scope);
    b.finish()
}

/// The query listing a table's columns (name, type, nullability) and the
/// types of its three result columns; decode each row with [`column_info`].
/// No rows means the table does not exist.
///
/// ```
/// use lightapi::backend::{sql, Dialect};
/// let (q, _) = sql::introspect(Dialect::Sqlite, "person");
/// assert_eq!(q.text, r#"SELECT "name", "type", "notnull" FROM pragma_table_info(?)"#);
/// ```
pub fn introspect(d: Dialect, table: &str) -> (Sql, [FieldType; 3]) {
    let table = Value::Text(table.to_owned());
    let (text, last) = match d {
        Dialect::Sqlite => (
            r#"SELECT "name", "type", "notnull" FROM pragma_table_info(?)"#.to_owned(),
            FieldType::Integer,
        ),
        Dialect::Postgres => (
            // The columns are domains (`sql_identifier`, …): cast to plain text.
            "SELECT column_name::text, data_type::text, is_nullable::text \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
                .to_owned(),
            FieldType::Text,
        ),
        Dialect::Mysql => (
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
                .to_owned(),
            FieldType::Text,
        ),
        Dialect::MsSql => (
            "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS \
             WHERE TABLE_SCHEMA = SCHEMA_NAME() AND TABLE_NAME = @P1 ORDER BY ORDINAL_POSITION"
                .to_owned(),
            FieldType::Text,
        ),
        Dialect::Oracle => (
            "SELECT column_name, data_type, nullable FROM user_tab_columns \
             WHERE table_name = :1 ORDER BY column_id"
                .to_owned(),
            FieldType::Text,
        ),
    };
    (
        Sql {
            text,
            params: vec![table],
        },
        [FieldType::Text, FieldType::Text, last],
    )
}

/// Decodes one row of [`introspect`]'s query.
///
/// ```
/// use lightapi::backend::{sql, Value};
/// let row = [Value::Text("email".into()), Value::Text("TEXT".into()), Value::Integer(1)];
/// let info = sql::column_info(&row).unwrap();
/// assert!(!info.nullable);
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
    Some(ColumnInfo {
        name,
        data_type,
        nullable,
    })
}

/// Whether a reported column type can hold a field type. SQLite follows its
/// type-affinity rules (text must have TEXT or no affinity, so that `"123"`
/// stays text); other dialects compare type families leniently.
///
/// ```
/// use lightapi::backend::{sql, Dialect};
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
                FieldType::Text | FieldType::DateTime | FieldType::Json => {
                    matches!(affinity, 't' | 'b')
                }
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
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
