//! The Oracle backend (feature `oracle`), on the [`oracle`] crate (ODPI-C,
//! compiled in; the Oracle Client libraries — OCI, e.g. Instant Client —
//! are loaded at run time, so building needs no Oracle software).
//!
//! **Not verified against a live server**: it compiles and its conversions
//! are unit-tested, but no Oracle database runs in this project's CI.
//!
//! URL: `oracle://user:password@host[:port]/service_name`, connecting to
//! the Easy Connect string `//host:port/service_name` (port 1521 by
//! default).
//!
//! Types: `NUMBER(19)`, `BINARY_DOUBLE`, `VARCHAR2(n CHAR)`/`CLOB`,
//! `NUMBER(1)` for booleans, `TIMESTAMP(6)` holding UTC, and JSON as `CLOB`.
//! Inserts return the new id through `RETURNING "id" INTO :n`. Oracle
//! treats the empty string as `NULL`, so an empty text is stored as `NULL`
//! (a documented Oracle difference).

use std::sync::Arc;

use oracle::sql_type::{OracleType, Timestamp, ToSql};

use super::pool::{parse_url, Connector, PooledBackend, Session};
use super::{BackendError, ConflictKind, Conn, Dialect, Engine, PoolOptions, Value};
use crate::calendar::{civil_from_days, days_from_civil};
use crate::model::FieldType;

const DEFAULT_PORT: u16 = 1521;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Opens a pooled Oracle backend for `url` and checks that it answers.
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] for a malformed URL,
/// [`BackendError::Unavailable`] when the server (or the Oracle Client
/// library) cannot be reached.
pub(crate) fn open(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    let parts = parse_url(url)?;
    let connect_string = format!(
        "//{}:{}/{}",
        parts.host,
        parts.port.unwrap_or(DEFAULT_PORT),
        parts.database
    );
    let label = format!("oracle {connect_string}");
    Ok(Arc::new(PooledBackend::open(
        OraConnector {
            user: parts.user,
            password: parts.password,
            connect_string,
            label,
        },
        options.max_read_connections,
        options.busy_timeout,
        options.max_queued_writes,
        options.connect_at_open,
    )?))
}

struct OraConnector {
    user: String,
    password: String,
    connect_string: String,
    label: String,
}

impl Connector for OraConnector {
    type Session = OraSession;

    fn connect(&self) -> Result<OraSession, BackendError> {
        let conn = oracle::Connection::connect(&self.user, &self.password, &self.connect_string)
            .map_err(map_err)?;
        Ok(OraSession { conn })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Oracle
    }

    fn label(&self) -> &str {
        &self.label
    }
}

struct OraSession {
    conn: oracle::Connection,
}

/// An owned bind value.
enum OraParam {
    Null,
    Integer(i64),
    Float(f64),
    Text(String),
    Timestamp(Timestamp),
}

impl OraParam {
    fn as_sql(&self) -> &dyn ToSql {
        const NULL: Option<String> = None;
        match self {
            OraParam::Null => &NULL,
            OraParam::Integer(i) => i,
            OraParam::Float(f) => f,
            OraParam::Text(s) => s,
            OraParam::Timestamp(t) => t,
        }
    }
}

fn to_param(v: &Value) -> Result<OraParam, BackendError> {
    Ok(match v {
        Value::Null => OraParam::Null,
        Value::Integer(i) => OraParam::Integer(*i),
        Value::Float(f) => OraParam::Float(*f),
        Value::Text(s) => OraParam::Text(s.clone()),
        Value::Boolean(b) => OraParam::Integer(i64::from(*b)),
        Value::DateTime(us) => OraParam::Timestamp(to_timestamp(*us)?),
        Value::Json(j) => OraParam::Text(j.to_string()),
    })
}

fn to_timestamp(us: i64) -> Result<Timestamp, BackendError> {
    let days = us.div_euclid(MICROS_PER_DAY);
    let in_day = us.rem_euclid(MICROS_PER_DAY);
    let (y, mo, d) = civil_from_days(days);
    let secs = in_day / 1_000_000;
    let bad = || BackendError::InvalidValue {
        field: None,
        reason: "datetime out of the database's range".to_owned(),
    };
    let u = |n: i64| u32::try_from(n).map_err(|_| bad());
    Timestamp::new(
        i32::try_from(y).map_err(|_| bad())?,
        u(mo)?,
        u(d)?,
        u(secs / 3600)?,
        u(secs / 60 % 60)?,
        u(secs % 60)?,
        u(in_day % 1_000_000 * 1000)?,
    )
    .map_err(|_| bad())
}

fn from_timestamp(t: &Timestamp) -> i64 {
    let days = days_from_civil(t.year().into(), t.month().into(), t.day().into());
    let secs = i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
        - i64::from(t.tz_hour_offset()) * 3600
        - i64::from(t.tz_minute_offset()) * 60;
    days * MICROS_PER_DAY + secs * 1_000_000 + i64::from(t.nanosecond() / 1000)
}

fn decode(
    v: &oracle::SqlValue<'_>,
    kind: Option<FieldType>,
    index: usize,
) -> Result<Value, BackendError> {
    let bad = |e: oracle::Error| BackendError::Internal {
        cause: format!("column {index}: {e}"),
    };
    if v.is_null().map_err(bad)? {
        return Ok(Value::Null);
    }
    let kind = match kind {
        Some(k) => k,
        None => match v.oracle_type().map_err(bad)? {
            OracleType::Number(_, 0) | OracleType::Int64 | OracleType::UInt64 => FieldType::Integer,
            OracleType::Number(..)
            | OracleType::BinaryDouble
            | OracleType::BinaryFloat
            | OracleType::Float(_) => FieldType::Float,
            OracleType::Timestamp(_)
            | OracleType::TimestampTZ(_)
            | OracleType::TimestampLTZ(_)
            | OracleType::Date => FieldType::DateTime,
            _ => FieldType::Text,
        },
    };
    Ok(match kind {
        FieldType::Integer => Value::Integer(v.get().map_err(bad)?),
        FieldType::Float => Value::Float(v.get().map_err(bad)?),
        FieldType::Text | FieldType::Uuid | FieldType::Date | FieldType::Decimal => {
            Value::Text(v.get().map_err(bad)?)
        }
        FieldType::Boolean => Value::Boolean(v.get::<i64>().map_err(bad)? != 0),
        FieldType::DateTime => Value::DateTime(from_timestamp(&v.get().map_err(bad)?)),
        FieldType::Json => {
            let text: String = v.get().map_err(bad)?;
            Value::Json(
                serde_json::from_str(&text).map_err(|e| BackendError::Internal {
                    cause: format!("column {index}: bad json: {e}"),
                })?,
            )
        }
    })
}

fn params(values: &[Value]) -> Result<Vec<OraParam>, BackendError> {
    values.iter().map(to_param).collect()
}

impl Conn for OraSession {
    fn query(
        &mut self,
        sql: &str,
        params_: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        let owned = params(params_)?;
        let refs: Vec<&dyn ToSql> = owned.iter().map(OraParam::as_sql).collect();
        let rows = self.conn.query(sql, &refs).map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let row = row.map_err(map_err)?;
            let values = row
                .sql_values()
                .iter()
                .enumerate()
                .map(|(i, v)| decode(v, columns.get(i).copied(), i))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params_: &[Value]) -> Result<u64, BackendError> {
        let owned = params(params_)?;
        let refs: Vec<&dyn ToSql> = owned.iter().map(OraParam::as_sql).collect();
        let stmt = self.conn.execute(sql, &refs).map_err(map_err)?;
        stmt.row_count().map_err(map_err)
    }

    fn insert_returning_id(&mut self, sql: &str, params_: &[Value]) -> Result<i64, BackendError> {
        let owned = params(params_)?;
        let mut stmt = self.conn.statement(sql).build().map_err(map_err)?;
        for (i, p) in owned.iter().enumerate() {
            stmt.bind(i + 1, p.as_sql()).map_err(map_err)?;
        }
        let out = owned.len() + 1;
        stmt.bind(out, &OracleType::Int64).map_err(map_err)?;
        stmt.execute(&[]).map_err(map_err)?;
        stmt.bind_value(out).map_err(map_err)
    }
}

impl Session for OraSession {
    fn begin(&mut self) -> Result<(), BackendError> {
        // Oracle starts a transaction implicitly; lightapi never autocommits.
        Ok(())
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        self.conn.commit().map_err(map_err)
    }

    fn rollback(&mut self) -> Result<(), BackendError> {
        self.conn.rollback().map_err(map_err)
    }

    fn ping(&mut self) -> Result<(), BackendError> {
        self.conn.ping().map_err(map_err)
    }
}

/// Maps a driver error to a [`BackendError`].
fn map_err(e: oracle::Error) -> BackendError {
    let Some(db) = e.db_error() else {
        return BackendError::Internal {
            cause: e.to_string(),
        };
    };
    match db.code() {
        1 => BackendError::Conflict {
            field: None,
            kind: ConflictKind::Unique,
        },
        2291 | 2292 => BackendError::Conflict {
            field: None,
            kind: ConflictKind::ForeignKey,
        },
        1400 | 1407 | 2290 => BackendError::Constraint { field: None },
        60 | 54 | 30006 => BackendError::Busy,
        1012 | 1033 | 1034 | 1089 | 1090 | 3113 | 3114 | 3135 | 12170 | 12514 | 12537 | 12541
        | 12543 | 12547 | 28547 => BackendError::Unavailable {
            cause: e.to_string(),
        },
        // DPI-1047: the Oracle Client library could not be loaded.
        1047 if e.to_string().contains("DPI-1047") => BackendError::Unavailable {
            cause: e.to_string(),
        },
        _ => BackendError::Internal {
            cause: e.to_string(),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_convert_both_ways() {
        for us in [
            0,
            -1,
            1_709_208_000_123_456,
            253_402_300_799_999_999,
            -62_167_219_200_000_000,
        ] {
            assert_eq!(from_timestamp(&to_timestamp(us).unwrap()), us, "{us}");
        }
    }
}
