//! The Microsoft SQL Server backend (feature `mssql`), on [`tiberius`]
//! (TDS 7.3, `default-features = false`: no TLS, no Windows auth) driven by
//! a small tokio current-thread runtime per connection, so the rest of
//! lightapi stays synchronous.
//!
//! **Not verified against a live server**: it compiles and its conversions
//! are unit-tested, but no SQL Server runs in this project's CI.
//!
//! URL: `mssql://user:password@host[:port]/database` (or `sqlserver://`),
//! SQL Server authentication, port 1433 by default. Without TLS support
//! compiled in, the server must accept unencrypted connections
//! (`EncryptionLevel::NotSupported`).
//!
//! Types: `BIGINT`, `FLOAT`, `NVARCHAR(n|MAX)`, `BIT`, `DATETIME2(6)` holding
//! UTC, and JSON as `NVARCHAR(MAX)`. A unique violation does not name its
//! column (SQL Server names only the constraint).

use std::borrow::Cow;
use std::sync::Arc;

use tiberius::time::{Date, DateTime2, Time};
use tiberius::{AuthMethod, Client, ColumnData, EncryptionLevel, ToSql};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::pool::{parse_url, Connector, PooledBackend, Session};
use super::{BackendError, ConflictKind, Conn, Dialect, Engine, PoolOptions, Value};
use crate::model::FieldType;

const DEFAULT_PORT: u16 = 1433;
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 0001-01-01 (day 0 of `DATE`) to 1970-01-01.
const DAYS_TO_UNIX_EPOCH: i64 = 719_162;

/// Opens a pooled SQL Server backend for `url` and checks that it answers.
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] for a malformed URL,
/// [`BackendError::Unavailable`] when the server cannot be reached.
pub(crate) fn open(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    let parts = parse_url(url)?;
    let mut config = tiberius::Config::new();
    config.host(&parts.host);
    config.port(parts.port.unwrap_or(DEFAULT_PORT));
    if !parts.database.is_empty() {
        config.database(&parts.database);
    }
    config.authentication(AuthMethod::sql_server(&parts.user, &parts.password));
    config.encryption(EncryptionLevel::NotSupported);
    let label = format!("mssql {}/{}", parts.host, parts.database);
    Ok(Arc::new(PooledBackend::open(
        MsConnector { config, label },
        options.max_read_connections,
        options.busy_timeout,
        options.max_queued_writes,
        options.connect_at_open,
    )?))
}

struct MsConnector {
    config: tiberius::Config,
    label: String,
}

impl Connector for MsConnector {
    type Session = MsSession;

    fn connect(&self) -> Result<MsSession, BackendError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| BackendError::Internal {
                cause: format!("cannot start the tokio runtime: {e}"),
            })?;
        let config = self.config.clone();
        let client = runtime.block_on(async move {
            let tcp = TcpStream::connect(config.get_addr()).await.map_err(|e| {
                BackendError::Unavailable {
                    cause: e.to_string(),
                }
            })?;
            let _ = tcp.set_nodelay(true);
            Client::connect(config, tcp.compat_write())
                .await
                .map_err(map_err)
        })?;
        Ok(MsSession { runtime, client })
    }

    fn dialect(&self) -> Dialect {
        Dialect::MsSql
    }

    fn label(&self) -> &str {
        &self.label
    }
}

struct MsSession {
    runtime: Runtime,
    client: Client<Compat<TcpStream>>,
}

/// A [`Value`] as a TDS parameter.
struct MsParam(ColumnData<'static>);

impl ToSql for MsParam {
    fn to_sql(&self) -> ColumnData<'_> {
        self.0.clone()
    }
}

fn to_param(v: &Value) -> Result<MsParam, BackendError> {
    Ok(MsParam(match v {
        Value::Null => ColumnData::I64(None),
        Value::Integer(i) => ColumnData::I64(Some(*i)),
        Value::Float(f) => ColumnData::F64(Some(*f)),
        Value::Text(s) => ColumnData::String(Some(Cow::Owned(s.clone()))),
        Value::Boolean(b) => ColumnData::Bit(Some(*b)),
        Value::DateTime(us) => ColumnData::DateTime2(Some(to_datetime2(*us)?)),
        Value::Json(j) => ColumnData::String(Some(Cow::Owned(j.to_string()))),
    }))
}

fn to_datetime2(us: i64) -> Result<DateTime2, BackendError> {
    let days = us.div_euclid(MICROS_PER_DAY) + DAYS_TO_UNIX_EPOCH;
    let in_day = us.rem_euclid(MICROS_PER_DAY);
    let days = u32::try_from(days)
        .ok()
        .filter(|d| d >> 24 == 0)
        .ok_or_else(|| BackendError::InvalidValue {
            field: None,
            reason: "datetime out of the database's range".to_owned(),
        })?;
    let increments = u64::try_from(in_day).unwrap_or(0);
    Ok(DateTime2::new(Date::new(days), Time::new(increments, 6)))
}

fn from_datetime2(dt: DateTime2) -> i64 {
    let days = i64::from(dt.date().days()) - DAYS_TO_UNIX_EPOCH;
    let time = dt.time();
    let scale = u32::from(time.scale());
    let increments = i64::try_from(time.increments()).unwrap_or(i64::MAX);
    let micros = if scale >= 6 {
        increments / 10_i64.pow(scale - 6)
    } else {
        increments * 10_i64.pow(6 - scale)
    };
    days * MICROS_PER_DAY + micros
}

fn decode(
    v: &ColumnData<'static>,
    kind: Option<FieldType>,
    index: usize,
) -> Result<Value, BackendError> {
    let bad = |what: String| BackendError::Internal {
        cause: format!("column {index}: {what}"),
    };
    let native = match v {
        ColumnData::U8(x) => x.map(|x| Value::Integer(x.into())),
        ColumnData::I16(x) => x.map(|x| Value::Integer(x.into())),
        ColumnData::I32(x) => x.map(|x| Value::Integer(x.into())),
        ColumnData::I64(x) => x.map(Value::Integer),
        ColumnData::F32(x) => x.map(|x| Value::Float(x.into())),
        ColumnData::F64(x) => x.map(Value::Float),
        ColumnData::Bit(x) => x.map(Value::Boolean),
        ColumnData::String(x) => x.as_ref().map(|s| Value::Text(s.to_string())),
        ColumnData::DateTime2(x) => x.map(|d| Value::DateTime(from_datetime2(d))),
        // A decimal, as text with its scale's fraction digits.
        ColumnData::Numeric(x) => x.map(|n| Value::Text(n.to_string())),
        other => return Err(bad(format!("unsupported SQL Server value {other:?}"))),
    };
    let Some(native) = native else {
        return Ok(Value::Null);
    };
    Ok(match (kind, native) {
        #[allow(clippy::cast_precision_loss)]
        (Some(FieldType::Float), Value::Integer(i)) => Value::Float(i as f64),
        (Some(FieldType::Boolean), Value::Integer(i)) => Value::Boolean(i != 0),
        (Some(FieldType::Integer), Value::Boolean(b)) => Value::Integer(i64::from(b)),
        (Some(FieldType::Json), Value::Text(t)) => {
            Value::Json(serde_json::from_str(&t).map_err(|e| bad(format!("bad json: {e}")))?)
        }
        (_, v) => v,
    })
}

impl MsSession {
    fn batch(&mut self, sql: &str) -> Result<(), BackendError> {
        let client = &mut self.client;
        self.runtime.block_on(async {
            client
                .simple_query(sql)
                .await
                .map_err(map_err)?
                .into_results()
                .await
                .map_err(map_err)
                .map(|_| ())
        })
    }
}

impl Conn for MsSession {
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        let params = params.iter().map(to_param).collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let client = &mut self.client;
        let rows = self.runtime.block_on(async {
            client
                .query(sql, &refs)
                .await
                .map_err(map_err)?
                .into_first_result()
                .await
                .map_err(map_err)
        })?;
        rows.into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .map(|(i, v)| decode(&v, columns.get(i).copied(), i))
                    .collect()
            })
            .collect()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, BackendError> {
        let params = params.iter().map(to_param).collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let client = &mut self.client;
        self.runtime.block_on(async {
            client
                .execute(sql, &refs)
                .await
                .map(|r| r.total())
                .map_err(map_err)
        })
    }
}

impl Session for MsSession {
    fn begin(&mut self) -> Result<(), BackendError> {
        self.batch("BEGIN TRANSACTION")
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        self.batch("COMMIT TRANSACTION")
    }

    fn rollback(&mut self) -> Result<(), BackendError> {
        self.batch("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")
    }

    fn ping(&mut self) -> Result<(), BackendError> {
        self.batch("SELECT 1")
    }
}

/// Maps a driver error to a [`BackendError`].
fn map_err(e: tiberius::error::Error) -> BackendError {
    use tiberius::error::Error;
    match &e {
        Error::Server(t) => match t.code() {
            2627 | 2601 => BackendError::Conflict {
                field: None,
                kind: ConflictKind::Unique,
            },
            547 if t.message().contains("FOREIGN KEY") || t.message().contains("REFERENCE") => {
                BackendError::Conflict {
                    field: None,
                    kind: ConflictKind::ForeignKey,
                }
            }
            547 | 515 => BackendError::Constraint { field: None },
            1205 | 1222 => BackendError::Busy,
            4060 | 18456 | 40613 | 40197 | 40501 | 6005 => BackendError::Unavailable {
                cause: e.to_string(),
            },
            _ => BackendError::Internal {
                cause: e.to_string(),
            },
        },
        Error::Io { .. } | Error::Routing { .. } | Error::Tls(_) => BackendError::Unavailable {
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
            -62_135_596_800_000_000,
        ] {
            assert_eq!(from_datetime2(to_datetime2(us).unwrap()), us, "{us}");
        }
        // Before 0001-01-01 does not fit DATETIME2.
        assert!(to_datetime2(-62_135_596_800_000_001).is_err());
    }

    #[test]
    fn values_decode_to_the_field_type() {
        let v = decode(&ColumnData::Bit(Some(true)), Some(FieldType::Boolean), 0).unwrap();
        assert_eq!(v, Value::Boolean(true));
        let v = decode(
            &ColumnData::String(Some(Cow::Borrowed("{\"a\":1}"))),
            Some(FieldType::Json),
            0,
        )
        .unwrap();
        assert_eq!(v, Value::Json(serde_json::json!({"a": 1})));
        assert_eq!(
            decode(&ColumnData::I64(None), None, 0).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn unreachable_server_is_unavailable() {
        let e = open("mssql://sa:x@127.0.0.1:1/db", &PoolOptions::default()).unwrap_err();
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
    }
}
