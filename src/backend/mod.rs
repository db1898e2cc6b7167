//! Database backends: the [`Backend`] trait, stored [`Value`]s, [`BackendError`]
//! and [`connect`].
//!
//! A backend hands out connections ([`Conn`]) for reads and runs write jobs in
//! transactions. Everything above it (`crud::ops`, custom endpoints) is
//! written once against `Arc<dyn Backend>` and the SQL built by [`sql`].
//!
//! # Custom SQL from an endpoint
//!
//! Values are always bound parameters; write the placeholders of the
//! backend's [`Dialect`] (or build them with [`Dialect::placeholder`]).
//!
//! ```
//! use lightapi::backend::{self, read_with, write_with, PoolOptions, Value};
//! use lightapi::model::FieldType;
//!
//! let db = backend::connect("sqlite::memory:", &PoolOptions::default())?;
//! write_with(&*db, |conn| {
//!     conn.execute("CREATE TABLE counter (n INTEGER NOT NULL)", &[])?;
//!     conn.execute("INSERT INTO counter (n) VALUES (?)", &[Value::Integer(41)])
//! })?;
//! let rows = read_with(&*db, |conn| {
//!     conn.query("SELECT n + 1 FROM counter", &[], &[FieldType::Integer])
//! })?;
//! assert_eq!(rows, vec![vec![Value::Integer(42)]]);
//! db.close();
//! # Ok::<(), lightapi::backend::BackendError>(())
//! ```

#[cfg(feature = "mssql")]
pub(crate) mod mssql;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "oracle")]
pub(crate) mod oracle;
#[cfg(any(
    feature = "postgres",
    feature = "mysql",
    feature = "mssql",
    feature = "oracle"
))]
mod pool;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
#[cfg(feature = "sqlite")]
mod write_queue;

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::http::Request;
use crate::model::FieldType;

pub use crate::config::Synchronous;
pub use crate::model::Value;
pub use sql::Dialect;

/// The application's database on a request: set for every handler of an
/// application that has one (any model registered).
///
/// ```
/// use lightapi::backend::BackendExt;
/// use lightapi::{Method, Request};
/// assert!(Request::new(Method::Get, "/").backend().is_none());
/// ```
pub trait BackendExt {
    /// The database, to run your own parameterised SQL with [`read_with`]
    /// and [`write_with`].
    fn backend(&self) -> Option<&Arc<dyn Backend>>;
}

impl BackendExt for Request {
    fn backend(&self) -> Option<&Arc<dyn Backend>> {
        self.extension::<Arc<dyn Backend>>()
    }
}

/// What a constraint violation reported as [`BackendError::Conflict`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// A unique (or primary key) value already exists.
    Unique,
    /// A foreign key names a row that does not exist, or a referenced row is
    /// still referenced.
    ForeignKey,
}

/// An error from a backend. Causes are for the log, never for clients.
///
/// ```
/// use lightapi::backend::{BackendError, ConflictKind};
/// let e = BackendError::Conflict { field: Some("email".into()), kind: ConflictKind::Unique };
/// assert_eq!(e.to_string(), "unique constraint violated on `email`");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BackendError {
    /// A unique or foreign-key constraint failed (HTTP 409).
    Conflict {
        /// The column, when the database says which.
        field: Option<String>,
        /// Which kind of constraint.
        kind: ConflictKind,
    },
    /// A NOT NULL or CHECK constraint failed: the server sent a bad row.
    Constraint {
        /// The column, when known.
        field: Option<String>,
    },
    /// The database cannot store this value (PostgreSQL text with U+0000):
    /// the client sent it (HTTP 422).
    InvalidValue {
        /// The column, when known.
        field: Option<String>,
        /// Why, safe to show to clients.
        reason: String,
    },
    /// The database cannot be reached or cannot store data right now (HTTP 503).
    Unavailable {
        /// What happened, for the log.
        cause: String,
    },
    /// The database stayed locked by another process past the busy timeout.
    Busy,
    /// The backend was closed.
    Closed,
    /// The database schema does not match the model (at start-up).
    Schema {
        /// Which table and column, and how.
        message: String,
    },
    /// A list query names something the model cannot filter or order on.
    InvalidQuery {
        /// What is wrong, safe to show to clients.
        message: String,
    },
    /// The URL is not a database URL this build understands.
    InvalidUrl {
        /// Why.
        reason: String,
    },
    /// The URL needs a cargo feature this build was compiled without.
    FeatureDisabled {
        /// The URL scheme (`postgres`, `mysql`, …).
        scheme: String,
        /// The cargo feature to enable.
        feature: &'static str,
    },
    /// Anything else (a driver error, an undecodable column); logged, never shown.
    Internal {
        /// What happened, for the log.
        cause: String,
    },
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind_name = |k: &ConflictKind| match k {
            ConflictKind::Unique => "unique",
            ConflictKind::ForeignKey => "foreign key",
        };
        match self {
            BackendError::Conflict {
                field: Some(field),
                kind,
            } => write!(f, "{} constraint violated on `{field}`", kind_name(kind)),
            BackendError::Conflict { field: None, kind } => {
                write!(f, "{} constraint violated", kind_name(kind))
            }
            BackendError::Constraint { field: Some(field) } => {
                write!(f, "constraint violated on `{field}`")
            }
            BackendError::Constraint { field: None } => f.write_str("constraint violated"),
            BackendError::InvalidValue {
                field: Some(field),
                reason,
            } => write!(f, "invalid value for `{field}`: {reason}"),
            BackendError::InvalidValue {
                field: None,
                reason,
            } => write!(f, "invalid value: {reason}"),
            BackendError::Unavailable { cause } => write!(f, "database unavailable: {cause}"),
            BackendError::Busy => f.write_str("database busy"),
            BackendError::Closed => f.write_str("database backend closed"),
            BackendError::Schema { message } => write!(f, "schema mismatch: {message}"),
            BackendError::InvalidQuery { message } => write!(f, "invalid query: {message}"),
            BackendError::InvalidUrl { reason } => write!(f, "invalid database url: {reason}"),
            BackendError::FeatureDisabled { scheme, feature } => write!(
                f,
                "database url scheme `{scheme}` needs the cargo feature `{feature}` (lightapi = {{ features = [\"{feature}\"] }})"
            ),
            BackendError::Internal { cause } => write!(f, "database error: {cause}"),
        }
    }
}

impl std::error::Error for BackendError {}

/// A connection lent to a read or write closure.
///
/// `columns` gives the type of each result column, used to decode it
/// (a datetime from its stored text, a boolean from 0/1, …). Result columns
/// beyond `columns` are decoded by their native storage type.
pub trait Conn {
    /// Runs a query and returns every row.
    ///
    /// # Errors
    ///
    /// A driver error mapped to [`BackendError`], or a column that does not
    /// decode as its [`FieldType`].
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError>;

    /// Runs a statement and returns the number of rows it changed.
    ///
    /// # Errors
    ///
    /// A driver error mapped to [`BackendError`].
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, BackendError>;

    /// The collation text columns of new tables get, where the dialect
    /// needs one named (MySQL/MariaDB: a binary one that does not ignore
    /// trailing spaces, see [`sql::create_table`]); `None` elsewhere.
    ///
    /// # Errors
    ///
    /// A driver error mapped to [`BackendError`].
    fn text_collation(&mut self) -> Result<Option<&'static str>, BackendError> {
        Ok(None)
    }

    /// The text columns of `table` whose comparisons ignore trailing spaces
    /// (MySQL/MariaDB `PAD SPACE` collations such as `utf8mb4_bin`); empty
    /// where the database has no such thing.
    ///
    /// # Errors
    ///
    /// A driver error mapped to [`BackendError`].
    fn space_padded_columns(&mut self, table: &str) -> Result<Vec<String>, BackendError> {
        let _ = table;
        Ok(Vec::new())
    }

    /// Runs an insert whose id comes back through an out parameter (Oracle's
    /// `RETURNING … INTO`, see [`sql::Insert::ReturningId`]) and returns it.
    ///
    /// # Errors
    ///
    /// The default implementation returns [`BackendError::Internal`]: only
    /// backends whose dialect needs it implement it.
    fn insert_returning_id(&mut self, sql: &str, params: &[Value]) -> Result<i64, BackendError> {
        let _ = (sql, params);
        Err(BackendError::Internal {
            cause: "insert_returning_id is not supported by this backend".to_owned(),
        })
    }
}

/// What a write job returns: any `Send` value, downcast by [`write_with`].
pub type WriteOutput = Box<dyn Any + Send>;

/// A write job: runs in a transaction on the backend's writer, possibly on
/// another thread, which is why it is `Send + 'static`.
pub type WriteJob = Box<dyn FnOnce(&mut dyn Conn) -> Result<WriteOutput, BackendError> + Send>;

/// A database backend, shared as `Arc<dyn Backend>`.
///
/// Use [`read_with`] and [`write_with`] rather than the raw methods.
pub trait Backend: Send + Sync + fmt::Debug {
    /// The SQL dialect to build statements for.
    fn dialect(&self) -> Dialect;

    /// Why this database cannot store `value` as sent, if it cannot (a
    /// client-facing reason, so the value is refused rather than silently
    /// altered). `None` by default.
    fn refusal(&self, value: &Value) -> Option<&'static str> {
        let _ = value;
        None
    }

    /// Lends a read connection to `f`. Reads see committed data only.
    ///
    /// # Errors
    ///
    /// `f`'s error, or a failure to get a connection.
    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), BackendError>,
    ) -> Result<(), BackendError>;

    /// Runs `job` in a transaction: its writes are committed if it returns
    /// `Ok` and rolled back if it returns `Err` (or panics). `Ok` is returned
    /// only once the commit is durable. The job must not issue transaction
    /// statements (`BEGIN`, `COMMIT`, …) itself.
    ///
    /// # Errors
    ///
    /// The job's error, or the commit's.
    fn write(&self, job: WriteJob) -> Result<WriteOutput, BackendError>;

    /// Runs one statement that writes and returns rows (an `INSERT …
    /// RETURNING`), committed on its own. A database with autocommit runs
    /// it in one round trip instead of `BEGIN`, the statement and `COMMIT`;
    /// the default runs it as a [`Backend::write`] job. It is never retried
    /// after it was sent.
    ///
    /// # Errors
    ///
    /// As [`Backend::write`].
    fn write_statement(
        &self,
        sql: String,
        params: Vec<Value>,
        columns: Vec<FieldType>,
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        statement_as_job(self, sql, params, columns)
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    ///
    /// [`BackendError::Unavailable`] (or another error) when it does not.
    fn ping(&self) -> Result<(), BackendError>;

    /// Finishes queued writes and closes every connection; later calls fail
    /// with [`BackendError::Closed`]. Idempotent.
    fn close(&self);
}

/// Runs `f` with a read connection and returns its result.
///
/// # Errors
///
/// `f`'s error or the backend's.
///
/// ```
/// use lightapi::backend::{connect, read_with, PoolOptions, Value};
/// let db = connect("sqlite::memory:", &PoolOptions::default())?;
/// let one = read_with(&*db, |c| c.query("SELECT 1", &[], &[]))?;
/// assert_eq!(one, vec![vec![Value::Integer(1)]]);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn read_with<T>(
    backend: &dyn Backend,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, BackendError>,
) -> Result<T, BackendError> {
    let mut f = Some(f);
    let mut out = None;
    backend.read(&mut |conn| {
        if let Some(f) = f.take() {
            out = Some(f(conn)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| BackendError::Internal {
        cause: "read closure was not run".to_owned(),
    })
}

/// Runs `f` in a write transaction and returns its result (see
/// [`Backend::write`]).
///
/// # Errors
///
/// `f`'s error (its writes rolled back) or the backend's.
///
/// ```
/// use lightapi::__private::backend::{connect, PoolOptions};
/// use lightapi::backend::write_with;
/// let db = connect("sqlite::memory:", &PoolOptions::default())?;
/// let n = write_with(&*db, |c| c.execute("CREATE TABLE t (x INTEGER)", &[]))?;
/// assert_eq!(n, 0);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn write_with<T: Send + 'static>(
    backend: &dyn Backend,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    let out = backend.write(Box::new(move |conn: &mut dyn Conn| {
        f(conn).map(|t| Box::new(t) as WriteOutput)
    }))?;
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| BackendError::Internal {
            cause: "write job returned an unexpected type".to_owned(),
        })
}

/// [`Backend::write_statement`] as a write job (in a transaction).
pub(crate) fn statement_as_job<B: Backend + ?Sized>(
    backend: &B,
    sql: String,
    params: Vec<Value>,
    columns: Vec<FieldType>,
) -> Result<Vec<Vec<Value>>, BackendError> {
    let out = backend.write(Box::new(move |conn: &mut dyn Conn| {
        conn.query(&sql, &params, &columns)
            .map(|rows| Box::new(rows) as WriteOutput)
    }))?;
    out.downcast::<Vec<Vec<Value>>>()
        .map(|b| *b)
        .map_err(|_| BackendError::Internal {
            cause: "write job returned an unexpected type".to_owned(),
        })
}

/// Connection and writer settings.
///
/// ```
/// use lightapi::backend::{PoolOptions, Synchronous};
/// let opts = PoolOptions { synchronous: Synchronous::Full, ..PoolOptions::default() };
/// assert_eq!(opts.max_read_connections, 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most read connections kept open (they are opened on demand).
    pub max_read_connections: usize,
    /// How long to wait for a lock held by another process.
    pub busy_timeout: Duration,
    /// SQLite durability level.
    pub synchronous: Synchronous,
    /// Most write jobs committed together in one transaction.
    pub max_group_size: usize,
    /// Most write jobs waiting for the writer; callers block beyond it.
    pub max_queued_writes: usize,
    /// Network databases: open one connection at once, so that a bad URL
    /// or an unreachable server is an error from [`connect`] (default). When
    /// `false`, connections are only opened on demand.
    pub connect_at_open: bool,
}

/// Default for [`PoolOptions::max_read_connections`].
pub const DEFAULT_MAX_READ_CONNECTIONS: usize = 8;
/// Default for [`PoolOptions::busy_timeout`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default for [`PoolOptions::max_group_size`].
pub const DEFAULT_MAX_GROUP_SIZE: usize = 256;
/// Default for [`PoolOptions::max_queued_writes`].
pub const DEFAULT_MAX_QUEUED_WRITES: usize = 4096;

impl Default for PoolOptions {
    fn default() -> PoolOptions {
        PoolOptions {
            max_read_connections: DEFAULT_MAX_READ_CONNECTIONS,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            synchronous: Synchronous::Normal,
            max_group_size: DEFAULT_MAX_GROUP_SIZE,
            max_queued_writes: DEFAULT_MAX_QUEUED_WRITES,
            connect_at_open: true,
        }
    }
}

/// Opens a backend for a database URL.
///
/// - `sqlite://path.db` (relative), `sqlite:///abs/path.db`, `sqlite::memory:`
///   (a private in-memory database) — feature `sqlite`, on by default;
/// - `postgres://`, `postgresql://` — feature `postgres`;
/// - `mysql://`, `mariadb://` — feature `mysql`;
/// - `mssql://`, `sqlserver://` — feature `mssql`; `oracle://` — feature
///   `oracle` (both compiled, not yet verified against a live server).
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] for an unknown scheme or empty path,
/// [`BackendError::FeatureDisabled`] naming the cargo feature to enable, or
/// the error opening the database.
///
/// ```
/// use lightapi::backend::{connect, BackendError, PoolOptions};
/// let err = connect("redis://localhost/db", &PoolOptions::default()).unwrap_err();
/// assert!(matches!(err, BackendError::InvalidUrl { .. }));
/// ```
pub fn connect(url: &str, options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    let (scheme, rest) = url
        .split_once(':')
        .ok_or_else(|| BackendError::InvalidUrl {
            reason: "expected scheme:…, e.g. sqlite://lightapi.db".to_owned(),
        })?;
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => connect_sqlite(rest, options),
        "postgres" | "postgresql" => connect_postgres(url, options),
        "mysql" | "mariadb" => connect_mysql(url, options),
        "mssql" | "sqlserver" => connect_mssql(url, options),
        "oracle" => connect_oracle(url, options),
        other => Err(BackendError::InvalidUrl {
            reason: format!(
                "unknown scheme `{other}` (expected sqlite, postgres, postgresql, mysql, mariadb, \
                 mssql or oracle)"
            ),
        }),
    }
}

#[cfg_attr(
    all(
        feature = "postgres",
        feature = "mysql",
        feature = "mssql",
        feature = "oracle"
    ),
    allow(dead_code)
)]
fn feature_disabled(url: &str, feature: &'static str) -> BackendError {
    BackendError::FeatureDisabled {
        scheme: url
            .split_once(':')
            .map_or(url, |(s, _)| s)
            .to_ascii_lowercase(),
        feature,
    }
}

#[cfg(feature = "postgres")]
fn connect_postgres(url: &str, options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    postgres::open(url, options)
}

#[cfg(not(feature = "postgres"))]
fn connect_postgres(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    Err(feature_disabled(url, "postgres"))
}

#[cfg(feature = "mysql")]
fn connect_mysql(url: &str, options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    mysql::open(url, options)
}

#[cfg(not(feature = "mysql"))]
fn connect_mysql(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    Err(feature_disabled(url, "mysql"))
}

#[cfg(feature = "mssql")]
fn connect_mssql(url: &str, options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    mssql::open(url, options)
}

#[cfg(not(feature = "mssql"))]
fn connect_mssql(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    Err(feature_disabled(url, "mssql"))
}

#[cfg(feature = "oracle")]
fn connect_oracle(url: &str, options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    oracle::open(url, options)
}

#[cfg(not(feature = "oracle"))]
fn connect_oracle(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    Err(feature_disabled(url, "oracle"))
}

#[cfg(feature = "sqlite")]
fn connect_sqlite(rest: &str, options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    let target = if rest == ":memory:" || rest == "//:memory:" {
        sqlite::Target::Memory
    } else if let Some(path) = rest.strip_prefix("//") {
        if path.is_empty() {
            return Err(BackendError::InvalidUrl {
                reason: "empty sqlite path (expected sqlite://path.db)".to_owned(),
            });
        }
        sqlite::Target::File(path.into())
    } else {
        return Err(BackendError::InvalidUrl {
            reason: "expected sqlite://path.db or sqlite::memory:".to_owned(),
        });
    };
    Ok(Arc::new(sqlite::SqliteBackend::open(target, options)?))
}

#[cfg(not(feature = "sqlite"))]
fn connect_sqlite(_rest: &str, _options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    Err(BackendError::FeatureDisabled {
        scheme: "sqlite".to_owned(),
        feature: "sqlite",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_missing_feature() {
        let o = PoolOptions::default();
        for (url, feature, enabled) in [
            ("postgres://u@h/db", "postgres", cfg!(feature = "postgres")),
            ("postgresql://h/db", "postgres", cfg!(feature = "postgres")),
            ("mysql://h/db", "mysql", cfg!(feature = "mysql")),
            ("mariadb://h/db", "mysql", cfg!(feature = "mysql")),
            ("mssql://h/db", "mssql", cfg!(feature = "mssql")),
            ("oracle://h/db", "oracle", cfg!(feature = "oracle")),
        ] {
            if enabled {
                continue;
            }
            match connect(url, &o) {
                Err(BackendError::FeatureDisabled { feature: f, .. }) => assert_eq!(f, feature),
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(matches!(
            connect("redis://x", &o),
            Err(BackendError::InvalidUrl { .. })
        ));
        assert!(matches!(
            connect("nothing", &o),
            Err(BackendError::InvalidUrl { .. })
        ));
        assert!(matches!(
            connect("sqlite://", &o),
            Err(BackendError::InvalidUrl { .. })
        ));
        assert!(matches!(
            connect("sqlite:foo.db", &o),
            Err(BackendError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn displays_are_lowercase() {
        let errors = [
            BackendError::Busy,
            BackendError::Closed,
            BackendError::Unavailable { cause: "x".into() },
            BackendError::Schema {
                message: "table `t`".into(),
            },
            BackendError::FeatureDisabled {
                scheme: "mysql".into(),
                feature: "mysql",
            },
        ];
        for e in errors {
            let s = e.to_string();
            assert!(s.starts_with(char::is_lowercase), "{s}");
            assert!(!s.ends_with('.'), "{s}");
        }
    }
}
