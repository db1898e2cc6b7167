//! SQLite values, errors and connections as the rest of the crate sees
//! them: parameters bound and columns decoded by field type, driver errors
//! mapped to [`BackendError`], and the settings every connection gets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::model::ValueRef as Borrowed;
use rusqlite::{ffi, Connection, ErrorCode, OpenFlags, ToSql};

use crate::backend::{BackendError, ConflictKind, Conn, PoolOptions, Synchronous, Value};
use crate::model::datetime::{format_rfc3339, parse_rfc3339};
use crate::model::{compare_decimal, FieldType};

/// Prepared statements kept per connection.
pub(super) const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Maps a rusqlite error to a [`BackendError`].
pub(super) fn map_err(e: rusqlite::Error) -> BackendError {
    let rusqlite::Error::SqliteFailure(err, msg) = &e else {
        return BackendError::Internal {
            cause: e.to_string(),
        };
    };
    let column = || constraint_column(msg.as_deref().unwrap_or(""));
    match err.code {
        ErrorCode::ConstraintViolation => match err.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                BackendError::Conflict {
                    field: column(),
                    kind: ConflictKind::Unique,
                }
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => BackendError::Conflict {
                field: None,
                kind: ConflictKind::ForeignKey,
            },
            ffi::SQLITE_CONSTRAINT_NOTNULL => BackendError::Constraint { field: column() },
            _ => BackendError::Constraint { field: None },
        },
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => BackendError::Busy,
        ErrorCode::CannotOpen
        | ErrorCode::NotADatabase
        | ErrorCode::PermissionDenied
        | ErrorCode::ReadOnly
        | ErrorCode::DiskFull
        | ErrorCode::SystemIoFailure
        | ErrorCode::DatabaseCorrupt
        | ErrorCode::FileLockingProtocolFailed
        | ErrorCode::NoLargeFileSupport => BackendError::Unavailable {
            cause: e.to_string(),
        },
        _ => BackendError::Internal {
            cause: e.to_string(),
        },
    }
}

/// `"UNIQUE constraint failed: person.email"` → `Some("email")`; for
/// several columns the last one (lightapi's keys of several columns are
/// per-scope keys, scope column first).
pub(super) fn constraint_column(message: &str) -> Option<String> {
    let (_, cols) = message.split_once(": ")?;
    let col = cols.rsplit(',').next()?.rsplit('.').next()?.trim();
    (!col.is_empty()).then(|| col.to_owned())
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Boolean(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::DateTime(us) => ToSqlOutput::from(format_rfc3339(*us)),
            Value::Json(j) => ToSqlOutput::from(j.to_string()),
        })
    }
}

fn decode(v: ValueRef<'_>, kind: Option<FieldType>, index: usize) -> Result<Value, BackendError> {
    match (kind, v) {
        (Some(FieldType::Json), ValueRef::Text(t)) => parse_json(t, index).map(Value::Json),
        _ => decode_borrowed(v, kind, index, &mut std::iter::empty()).map(|b| b.to_value()),
    }
}

fn bad_column(index: usize, what: &str) -> BackendError {
    BackendError::Internal {
        cause: format!("column {index}: {what}"),
    }
}

fn parse_json(text: &[u8], index: usize) -> Result<serde_json::Value, BackendError> {
    serde_json::from_slice(text).map_err(|e| bad_column(index, &format!("bad json: {e}")))
}

/// A column as its field type reads it, borrowing its text; a JSON
/// column's document is the next of `json`, parsed beforehand. Inlined
/// into the row loop, so that the value is built where it is kept.
#[inline(always)]
fn decode_borrowed<'a>(
    v: ValueRef<'a>,
    kind: Option<FieldType>,
    index: usize,
    json: &mut dyn Iterator<Item = &'a serde_json::Value>,
) -> Result<Borrowed<'a>, BackendError> {
    let text = |bytes: &'a [u8]| {
        std::str::from_utf8(bytes).map_err(|_| bad_column(index, "text is not valid utf-8"))
    };
    Ok(match (kind, v) {
        (_, ValueRef::Null) => Borrowed::Null,
        (Some(FieldType::Integer) | None, ValueRef::Integer(i)) => Borrowed::Integer(i),
        (Some(FieldType::Float) | None, ValueRef::Real(f)) => Borrowed::Float(f),
        #[allow(clippy::cast_precision_loss)]
        (Some(FieldType::Float), ValueRef::Integer(i)) => Borrowed::Float(i as f64),
        (
            Some(FieldType::Text | FieldType::Uuid | FieldType::Date | FieldType::Decimal) | None,
            ValueRef::Text(t),
        ) => Borrowed::Text(text(t)?),
        (Some(FieldType::Boolean), ValueRef::Integer(i)) => Borrowed::Boolean(i != 0),
        (Some(FieldType::DateTime), ValueRef::Text(t)) => Borrowed::DateTime(
            parse_rfc3339(text(t)?)
                .map_err(|e| bad_column(index, &format!("bad datetime: {e}")))?,
        ),
        (Some(FieldType::Json), ValueRef::Text(_)) => json
            .next()
            .map(Borrowed::Json)
            .ok_or_else(|| bad_column(index, "json column not parsed"))?,
        (kind, other) => return Err(mismatch(kind, other.data_type(), index)),
    })
}

/// A column whose stored type its field type cannot read.
#[cold]
#[inline(never)]
fn mismatch(kind: Option<FieldType>, found: rusqlite::types::Type, index: usize) -> BackendError {
    bad_column(
        index,
        &format!(
            "expected {}, found sqlite {found:?}",
            kind.map_or("a value", FieldType::name),
        ),
    )
}

/// Rows up to this wide are decoded into an array on the stack; wider
/// ones into a list kept from row to row.
const INLINE_COLUMNS: usize = 16;

/// An emptied list of borrowed values, keeping its room, for values
/// borrowed for another while (a list per row without an allocation per
/// row).
fn recycle<'b>(mut values: Vec<Borrowed<'_>>) -> Vec<Borrowed<'b>> {
    values.clear();
    values.into_iter().map(|_| Borrowed::Null).collect()
}

/// A borrowed connection implementing [`Conn`].
pub(super) struct SqliteConn<'c> {
    pub(super) conn: &'c Connection,
}

impl Conn for SqliteConn<'_> {
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        self.query_within(sql, params, columns, usize::MAX)
            .map(|(rows, _)| rows)
    }

    fn query_within(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
        max_bytes: usize,
    ) -> Result<(Vec<Vec<Value>>, bool), BackendError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while let Some(row) = rows.next().map_err(map_err)? {
            if bytes > max_bytes {
                // A row after the one that passed the budget: left unread.
                return Ok((out, true));
            }
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let v = row.get_ref(i).map_err(map_err)?;
                bytes = bytes.saturating_add(match v {
                    ValueRef::Text(b) | ValueRef::Blob(b) => b.len(),
                    _ => 8,
                });
                values.push(decode(v, columns.get(i).copied(), i)?);
            }
            out.push(values);
        }
        Ok((out, false))
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
        row: &mut dyn FnMut(&[Borrowed<'_>]) -> bool,
    ) -> Result<(), BackendError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        let json_columns: Vec<usize> = (0..width)
            .filter(|&i| columns.get(i) == Some(&FieldType::Json))
            .collect();
        let mut json: Vec<serde_json::Value> = Vec::new();
        let mut spare: Vec<Borrowed<'static>> = Vec::new();
        while let Some(r) = rows.next().map_err(map_err)? {
            json.clear();
            for &i in &json_columns {
                if let ValueRef::Text(t) = r.get_ref(i).map_err(map_err)? {
                    json.push(parse_json(t, i)?);
                }
            }
            let mut parsed = json.iter();
            // Each value is written into its slot where it is decoded:
            // handing it back in a `Result` to be copied into the slot costs
            // a stalled copy per column (a wide load of what was just
            // stored in narrower pieces).
            let mut decode_into = |slot: &mut _, i: usize| {
                let v = match r.get_ref(i) {
                    Ok(v) => v,
                    Err(e) => return Err(map_err(e)),
                };
                *slot = decode_borrowed(v, columns.get(i).copied(), i, &mut parsed)?;
                Ok(())
            };
            let more = if width <= INLINE_COLUMNS {
                let mut values = [Borrowed::Null; INLINE_COLUMNS];
                for (i, slot) in values.iter_mut().enumerate().take(width) {
                    decode_into(slot, i)?;
                }
                row(values.get(..width).unwrap_or_default())
            } else {
                let mut values = recycle(spare);
                values.resize(width, Borrowed::Null);
                for (i, slot) in values.iter_mut().enumerate() {
                    decode_into(slot, i)?;
                }
                let more = row(&values);
                spare = recycle(values);
                more
            };
            if !more {
                break;
            }
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, BackendError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn supports_returning(&self) -> bool {
        true
    }
}

/// Replaces SQLite's `lower()`, which folds ASCII letters only, with one
/// that lowercases all of Unicode, as PostgreSQL's and MySQL's do: the
/// case-insensitive `?search=` (`LOWER(col) LIKE LOWER(?)`) then finds
/// `Crème` for `CRÈME` on every backend.
pub(super) fn unicode_lower(conn: &Connection) -> Result<(), BackendError> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::{Value as Sql, ValueRef};
    conn.create_scalar_function(
        "lower",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                // Text is UTF-8 here (the connection's encoding); bytes that
                // are not are folded as the replacement character.
                ValueRef::Text(t) => Sql::Text(String::from_utf8_lossy(t).to_lowercase()),
                ValueRef::Null => Sql::Null,
                ValueRef::Integer(i) => Sql::Text(i.to_string()),
                ValueRef::Real(r) => Sql::Text(r.to_string()),
                ValueRef::Blob(b) => Sql::Blob(b.to_vec()),
            })
        },
    )
    .map_err(map_err)
}

/// Registers the collation of decimal columns
/// ([`SQLITE_DECIMAL_COLLATION`](crate::backend::sql::SQLITE_DECIMAL_COLLATION)):
/// decimal texts compare by value, so filters, ordering and `CHECK`s on
/// them are numeric and exact. Other texts (written behind lightapi's
/// back) sort after every decimal, by their bytes.
pub(super) fn decimal_collation(conn: &Connection) -> Result<(), BackendError> {
    conn.create_collation(crate::backend::sql::SQLITE_DECIMAL_COLLATION, |a, b| {
        match compare_decimal(a, b) {
            Some(order) => order,
            None => {
                let rank = |s: &str| compare_decimal(s, "0").is_none();
                rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
            }
        }
    })
    .map_err(map_err)
}

pub(super) fn configure_writer(
    conn: &Connection,
    options: &PoolOptions,
) -> Result<(), BackendError> {
    conn.busy_timeout(options.busy_timeout).map_err(map_err)?;
    unicode_lower(conn)?;
    decimal_collation(conn)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(map_err)?;
    let sync = match options.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// Opens a read-only connection to the database at `path`, configured as
/// every reader is.
pub(super) fn open_reader(
    path: &std::path::Path,
    busy_timeout: std::time::Duration,
) -> Result<Connection, BackendError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
    conn.busy_timeout(busy_timeout).map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    unicode_lower(&conn)?;
    decimal_collation(&conn)?;
    Ok(conn)
}

/// SQLite virtual-machine steps between two looks at the clock.
const STEPS_BETWEEN_CHECKS: i32 = 1000;

/// A read-only connection whose reads are stopped at a deadline by a
/// progress handler.
pub(super) struct TimedReader {
    pub(super) conn: Connection,
    /// Nanoseconds after `base` at which a running read is stopped.
    deadline: Arc<AtomicU64>,
    base: Instant,
}

impl TimedReader {
    /// Opens a reader ([`open_reader`]) and installs its progress handler.
    pub(super) fn open(
        path: &std::path::Path,
        busy_timeout: Duration,
    ) -> Result<Self, BackendError> {
        let conn = open_reader(path, busy_timeout)?;
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let base = Instant::now();
        let watched = Arc::clone(&deadline);
        conn.progress_handler(
            STEPS_BETWEEN_CHECKS,
            Some(move || nanos_since(base) >= watched.load(Ordering::Relaxed)),
        );
        Ok(TimedReader {
            conn,
            deadline,
            base,
        })
    }

    /// Runs `read` for at most `limit`, then ends any transaction it left
    /// open. The result, and whether it failed past `limit` (it was
    /// stopped; a read that succeeded is not asked).
    pub(super) fn run<T>(
        &self,
        limit: Duration,
        read: impl FnOnce(&Connection) -> Result<T, BackendError>,
    ) -> (Result<T, BackendError>, bool) {
        let out = self.run_within(limit, read);
        self.end_read();
        out
    }

    /// Runs `read` for at most `limit`, in the read transaction open on the
    /// connection if there is one (which stays open).
    pub(super) fn run_within<T>(
        &self,
        limit: Duration,
        read: impl FnOnce(&Connection) -> Result<T, BackendError>,
    ) -> (Result<T, BackendError>, bool) {
        let limit = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
        self.deadline.store(
            nanos_since(self.base).saturating_add(limit),
            Ordering::Relaxed,
        );
        let result = read(&self.conn);
        // Only a failure needs the clock: a read that finished is kept
        // whenever it finished.
        let over =
            result.is_err() && nanos_since(self.base) >= self.deadline.load(Ordering::Relaxed);
        self.deadline.store(u64::MAX, Ordering::Relaxed);
        (result, over)
    }

    /// Opens a read transaction: the statements run until
    /// [`TimedReader::end_read`] read one snapshot, taken by the first.
    pub(super) fn begin_read(&self) -> Result<(), BackendError> {
        run_cached(&self.conn, "BEGIN")
    }

    /// Ends any transaction open on the connection (best effort: the
    /// connection is read-only).
    pub(super) fn end_read(&self) {
        if !self.conn.is_autocommit() {
            let _ = run_cached(&self.conn, "ROLLBACK");
        }
    }
}

/// Runs a statement that takes no parameters and returns no rows (a read
/// transaction's `BEGIN` or `ROLLBACK`, the writer's `SAVEPOINT`s) from
/// the connection's statement cache: an event loop opens and ends a read
/// transaction every turn, the writer sets a savepoint for every job, and
/// preparing the statement each time costs more than looking it up.
pub(super) fn run_cached(conn: &Connection, sql: &str) -> Result<(), BackendError> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(drop)
        .map_err(map_err)
}

fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
