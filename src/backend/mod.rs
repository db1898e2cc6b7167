//! Database backends: the [`Backend`] trait, stored [`Value`]s and
//! [`BackendError`].
//!
//! A backend hands out connections ([`Conn`]) for reads and runs write jobs in
//! transactions. Everything above it (the model operations, custom
//! endpoints) is written once against `Arc<dyn Backend>`.
//!
//! # Custom SQL from an endpoint
//!
//! The application's database is on every request
//! ([`BackendExt::backend`]). Values are always bound parameters; write the
//! placeholders of the backend's [`Dialect`] (or build them with
//! [`Dialect::placeholder`]).
//!
//! ```
//! use lightapi::backend::{read_with, write_with, BackendExt, Value};
//! use lightapi::{ApiError, Endpoint, FieldType, HandlerResult, Request};
//!
//! /// `POST /counter`: counts, and answers the new count.
//! struct Counter;
//!
//! impl Endpoint for Counter {
//!     fn post(&self, req: &Request) -> HandlerResult {
//!         let db = req.backend().ok_or_else(|| ApiError::internal("no database"))?;
//!         let p = db.dialect().placeholder(1);
//!         let bump = format!("UPDATE counter SET n = n + {p}");
//!         write_with(&**db, move |conn| conn.execute(&bump, &[Value::Integer(1)]))?;
//!         let rows = read_with(&**db, |conn| {
//!             conn.query("SELECT n FROM counter", &[], &[FieldType::Integer])
//!         })?;
//!         let n = rows.first().and_then(|r| r.first()).map(Value::to_json);
//!         Ok(serde_json::json!({ "n": n }).into())
//!     }
//! }
//! # let _ = Counter;
//! ```

#[cfg(feature = "mssql")]
pub(crate) mod mssql;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
pub(crate) mod open;
#[cfg(feature = "oracle")]
pub(crate) mod oracle;
#[cfg(feature = "postgres")]
mod pg_loop;
#[cfg(feature = "postgres")]
mod pg_types;
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
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) mod tls;
pub(crate) mod work;
#[cfg(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "mssql",
    feature = "oracle"
))]
mod write_queue;

pub(crate) use open::PoolOptions;
pub(crate) use work::{Engine, LocalReader};

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::http::Request;
use crate::model::FieldType;

pub use crate::config::Synchronous;
pub use crate::model::{Value, ValueRef};
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

/// The `field` of a unique [`BackendError::Conflict`] on the primary key
/// when the database names the key rather than its column (MySQL/MariaDB's
/// `PRIMARY`); the model operations name the model's key column instead.
pub(crate) const PRIMARY_KEY_CONFLICT: &str = "PRIMARY";

/// What a constraint violation reported as [`BackendError::Conflict`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// A unique (or primary key) value already exists.
    Unique,
    /// A foreign key names a row that does not exist (the conflict's
    /// `field` is the foreign key, when the database says which).
    ForeignKey,
    /// The row to delete is still referenced by a foreign key (the
    /// conflict's `field` is the referencing table, when the database says
    /// which).
    Referenced,
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
    /// The TLS session the URL asks for (`sslmode=`) could not be set up:
    /// the server offers no TLS, or its certificate is not trusted or
    /// names another host. It stops start-up; later it answers HTTP 503.
    Tls {
        /// What happened, for the log.
        cause: String,
    },
    /// The database stayed locked by another process past the busy timeout.
    Busy,
    /// The backend was closed.
    Closed,
    /// A query ran past its time limit and the database stopped it
    /// (HTTP 504).
    TimedOut,
    /// A read on an event loop ran past its time budget and was stopped;
    /// it is run again where it may take its time.
    Interrupted,
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
    /// Application code running in a write job (a model's hook) refused
    /// the write; everything the job wrote is rolled back. Answered with
    /// `status`, `detail` and, for a `422`, the field errors.
    Refused {
        /// The HTTP status (4xx or 5xx).
        status: u16,
        /// The client-facing detail (empty: the status's own).
        detail: String,
        /// Bad fields and their messages (a `422`).
        fields: Vec<(String, String)>,
    },
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind_name = |k: &ConflictKind| match k {
            ConflictKind::Unique => "unique",
            ConflictKind::ForeignKey | ConflictKind::Referenced => "foreign key",
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
            BackendError::Refused { status, detail, .. } => {
                write!(f, "write refused ({status}): {detail}")
            }
            BackendError::Tls { cause } => write!(f, "database TLS failed: {cause}"),
            BackendError::Busy => f.write_str("database busy"),
            BackendError::Closed => f.write_str("database backend closed"),
            BackendError::Interrupted => f.write_str("query interrupted: over its time budget"),
            BackendError::TimedOut => f.write_str("query stopped: over its time limit"),
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

    /// Runs a query and returns its rows up to about `max_bytes` of column
    /// data: reading stops after the row that passes it, and the flag says
    /// whether rows were left unread after it. A driver that receives the
    /// whole result anyway returns every row, as [`Conn::query`] does (the
    /// default).
    ///
    /// # Errors
    ///
    /// As [`Conn::query`].
    fn query_within(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
        max_bytes: usize,
    ) -> Result<(Vec<Vec<Value>>, bool), BackendError> {
        let _ = max_bytes;
        Ok((self.query(sql, params, columns)?, false))
    }

    /// Runs a query and hands its rows to `row` one at a time, each as
    /// values borrowed from the driver where it allows (no copy of text),
    /// until `row` returns `false`. The default reads every row with
    /// [`Conn::query`] first.
    ///
    /// ```
    /// use lightapi::backend::{Conn, ValueRef};
    /// use lightapi::FieldType;
    /// # #[allow(dead_code)]
    /// # fn names(conn: &mut dyn Conn) -> Result<usize, lightapi::backend::BackendError> {
    /// let mut bytes = 0;
    /// conn.query_each("SELECT name FROM person", &[], &[FieldType::Text], &mut |row| {
    ///     if let Some(ValueRef::Text(name)) = row.first() {
    ///         bytes += name.len();
    ///     }
    ///     true
    /// })?;
    /// # Ok(bytes) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Conn::query`].
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
        row: &mut dyn FnMut(&[ValueRef<'_>]) -> bool,
    ) -> Result<(), BackendError> {
        let rows = self.query(sql, params, columns)?;
        let mut views = Vec::new();
        for values in &rows {
            views.clear();
            views.extend(values.iter().map(Value::view));
            if !row(&views) {
                break;
            }
        }
        Ok(())
    }

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

    /// Whether the server runs `INSERT … RETURNING` and `DELETE …
    /// RETURNING` (PostgreSQL, SQLite, MariaDB 10.5+; not MySQL). `false`
    /// by default.
    fn supports_returning(&self) -> bool {
        false
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

    /// Runs `job` without an explicit transaction where the connection
    /// commits each statement on its own (PostgreSQL, MariaDB): every
    /// statement the job sends is committed when it returns, so the job
    /// must be correct statement by statement (one write, or a
    /// compare-and-set that writes nothing unless the row is as it was
    /// read). Elsewhere, the default, it runs as a [`Backend::write`] job
    /// in one transaction, which keeps it correct. It is never retried
    /// after a statement was sent.
    ///
    /// # Errors
    ///
    /// As [`Backend::write`].
    fn write_autocommit(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
        self.write(job)
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    ///
    /// [`BackendError::Unavailable`] (or another error) when it does not.
    fn ping(&self) -> Result<(), BackendError>;

    /// The statements sent to the database so far (`BEGIN`, `COMMIT`, and
    /// each query), where the backend counts them: the crate's own tests
    /// check the round trips of each operation with it.
    #[cfg(feature = "__private")]
    #[doc(hidden)]
    fn statements_sent(&self) -> Option<u64> {
        None
    }

    /// Finishes queued writes and closes every connection; later calls fail
    /// with [`BackendError::Closed`]. Idempotent.
    fn close(&self);
}

/// Runs `f` with a read connection and returns its result.
///
/// # Errors
///
/// `f`'s error or the backend's.
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
pub fn write_with<T: Send + 'static>(
    backend: &dyn Backend,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    let out = backend.write(Box::new(move |conn: &mut dyn Conn| {
        f(conn).map(|t| Box::new(t) as WriteOutput)
    }))?;
    unbox_output(out)
}

/// A write job's output as the type its job returned.
pub(crate) fn unbox_output<T: 'static>(out: WriteOutput) -> Result<T, BackendError> {
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| BackendError::Internal {
            cause: "write job returned an unexpected type".to_owned(),
        })
}

/// One statement that writes and returns rows, as a write job whose
/// output is the rows (`Vec<Vec<Value>>`).
pub(crate) fn statement_job(sql: String, params: Vec<Value>, columns: Vec<FieldType>) -> WriteJob {
    Box::new(move |conn: &mut dyn Conn| {
        conn.query(&sql, &params, &columns)
            .map(|rows| Box::new(rows) as WriteOutput)
    })
}

/// [`Backend::write_statement`] as a write job (in a transaction).
pub(crate) fn statement_as_job<B: Backend + ?Sized>(
    backend: &B,
    sql: String,
    params: Vec<Value>,
    columns: Vec<FieldType>,
) -> Result<Vec<Vec<Value>>, BackendError> {
    unbox_output(backend.write(statement_job(sql, params, columns))?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
