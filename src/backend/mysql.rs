//! The MySQL / MariaDB backend (feature `mysql`), on the synchronous
//! [`mysql`] crate (rust-mysql-simple) built with `default-features = false`
//! and `minimal-rust` (no C libraries), with its rustls TLS on ring.
//!
//! URL: `mysql://user[:password]@host[:port]/database[?params]` (or
//! `mariadb://`), with the parameters of [`mysql::Opts`]. Connections use
//! TCP even to `127.0.0.1` (`prefer_socket=false`), report *found* rather
//! than *changed* rows (`CLIENT_FOUND_ROWS`, so an update that changes
//! nothing still finds its row), talk `utf8mb4`, and run in strict SQL mode.
//! TLS is chosen by `ssl-mode=` (or `sslmode=`) and `ssl-ca=` (or
//! `sslrootcert=`): see `tls`.
//!
//! Time limits (see [`PoolOptions`]): opening a connection — TCP, the
//! TLS and MySQL handshakes and authentication, the session settings — is
//! given up after `connect_timeout`; each read and write of the socket
//! gives up after `socket_timeout`, which fails the statement as
//! [`BackendError::Unavailable`] and closes its connection.
//!
//! Types: `BIGINT`, `DOUBLE`, `VARCHAR(n)`/`LONGTEXT`, `BOOLEAN`
//! (`TINYINT(1)`), `DATETIME(6)` holding UTC, and `JSON`. Tables are created
//! with `utf8mb4` and a binary collation without space padding
//! (`utf8mb4_nopad_bin` on MariaDB, `utf8mb4_0900_bin` on MySQL 8), so
//! comparisons and unique keys tell case, accents and trailing spaces apart
//! as on the other backends.
//!
//! Connections come from the shared pool (see `pool.rs`), each with the
//! driver's prepared-statement cache; broken connections are replaced.

use std::sync::Arc;
use std::time::Duration;

use mysql::consts::CapabilityFlags;
use mysql::prelude::Queryable;
use mysql::{Opts, OptsBuilder, Params};

use super::pool::{connect_within, Connector, PooledBackend, Session};
use super::tls::my::MyTls;
use super::{BackendError, ConflictKind, Conn, Dialect, Engine, PoolOptions, Value};
use crate::calendar::{civil_from_days, days_from_civil};
use crate::model::FieldType;

/// Prepared statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Opens a pooled MySQL/MariaDB backend for `url` and checks that it answers.
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] for a URL the driver does not accept,
/// [`BackendError::Unavailable`] when the server cannot be reached,
/// [`BackendError::Tls`] when the TLS the URL asks for cannot be set up.
pub(crate) fn open(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    let url = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => {
            format!("mysql://{rest}")
        }
        _ => url.to_owned(),
    };
    let (url, tls) = super::tls::split_params(&url)?;
    let opts = Opts::from_url(&url).map_err(|e| BackendError::InvalidUrl {
        reason: e.to_string(),
    })?;
    let label = format!(
        "mysql {}:{}/{}",
        opts.get_ip_or_hostname(),
        opts.get_tcp_port(),
        opts.get_db_name().unwrap_or("")
    );
    let opts: Opts = OptsBuilder::from_opts(opts)
        .prefer_socket(false)
        .tcp_connect_timeout(Some(options.connect_timeout))
        .read_timeout(Some(options.socket_timeout))
        .write_timeout(Some(options.socket_timeout))
        .stmt_cache_size(STATEMENT_CACHE_CAPACITY)
        .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS)
        .init(vec![
            "SET NAMES utf8mb4",
            "SET SESSION sql_mode = IF(@@SESSION.sql_mode = '', 'STRICT_ALL_TABLES', \
             CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES')), SESSION autocommit = 1",
        ])
        .into();
    let connector = MyConnector {
        tls: Arc::new(MyTls::new(opts, &tls)?),
        label,
        query_timeout: options.query_timeout,
        connect_timeout: options.connect_timeout,
    };
    Ok(Arc::new(PooledBackend::open(
        connector,
        options.max_read_connections,
        options.busy_timeout,
        options.max_queued_writes,
        options.connect_at_open,
    )?))
}

struct MyConnector {
    /// The options, with TLS.
    tls: Arc<MyTls>,
    query_timeout: Duration,
    label: String,
    /// The limit of the whole connection set-up.
    connect_timeout: Duration,
}

impl Connector for MyConnector {
    type Session = MySession;

    /// Connects and sets the session up, all within the connect timeout
    /// (the driver's own timeouts bound each TCP connect and socket read,
    /// not the handshake as a whole).
    fn connect(&self) -> Result<MySession, BackendError> {
        let (tls, query_timeout) = (Arc::clone(&self.tls), self.query_timeout);
        connect_within(self.connect_timeout, "MySQL", move || {
            let mut conn = tls.connect(map_err)?;
            let mariadb = set_query_timeout(&mut conn, query_timeout)?;
            Ok(MySession { conn, mariadb })
        })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn label(&self) -> &str {
        &self.label
    }
}

/// Sets the session's time limit per statement: MariaDB's
/// `max_statement_time` (seconds, every statement), else MySQL's
/// `max_execution_time` (milliseconds, reads only). Returns whether the
/// server is MariaDB (it knows `max_statement_time`).
fn set_query_timeout(conn: &mut mysql::Conn, limit: Duration) -> Result<bool, BackendError> {
    use mysql::prelude::Queryable;
    let ms = limit.as_millis().clamp(1, u128::from(u32::MAX));
    let mariadb = format!(
        "SET SESSION max_statement_time = {}.{:03}",
        ms / 1000,
        ms % 1000
    );
    match conn.query_drop(mariadb) {
        Ok(()) => Ok(true),
        Err(mysql::Error::MySqlError(_)) => conn
            .query_drop(format!("SET SESSION max_execution_time = {ms}"))
            .map(|()| false)
            .map_err(map_err),
        Err(e) => Err(map_err(e)),
    }
}

struct MySession {
    conn: mysql::Conn,
    /// MariaDB (10.5+, as the dialect requires) rather than MySQL: it
    /// runs `INSERT … RETURNING` and `DELETE … RETURNING`.
    mariadb: bool,
}

fn params(values: &[Value]) -> Result<Params, BackendError> {
    if values.is_empty() {
        return Ok(Params::Empty);
    }
    values
        .iter()
        .map(to_mysql)
        .collect::<Result<Vec<_>, _>>()
        .map(Params::Positional)
}

fn to_mysql(v: &Value) -> Result<mysql::Value, BackendError> {
    Ok(match v {
        Value::Null => mysql::Value::NULL,
        Value::Integer(i) => mysql::Value::Int(*i),
        Value::Float(f) => mysql::Value::Double(*f),
        Value::Text(s) => mysql::Value::Bytes(s.as_bytes().to_vec()),
        Value::Boolean(b) => mysql::Value::Int(i64::from(*b)),
        Value::DateTime(us) => {
            let days = us.div_euclid(MICROS_PER_DAY);
            let in_day = us.rem_euclid(MICROS_PER_DAY);
            let (y, mo, d) = civil_from_days(days);
            let secs = in_day / 1_000_000;
            let bad = || BackendError::InvalidValue {
                field: None,
                reason: "datetime out of the database's range".to_owned(),
            };
            let small = |n: i64| u8::try_from(n).map_err(|_| bad());
            mysql::Value::Date(
                u16::try_from(y).map_err(|_| bad())?,
                small(mo)?,
                small(d)?,
                small(secs / 3600)?,
                small(secs / 60 % 60)?,
                small(secs % 60)?,
                u32::try_from(in_day % 1_000_000).map_err(|_| bad())?,
            )
        }
        Value::Json(j) => mysql::Value::Bytes(j.to_string().into_bytes()),
    })
}

fn decode(v: mysql::Value, kind: Option<FieldType>, index: usize) -> Result<Value, BackendError> {
    let bad = |what: String| BackendError::Internal {
        cause: format!("column {index}: {what}"),
    };
    let text = |b: Vec<u8>| String::from_utf8(b).map_err(|_| bad("text is not utf-8".into()));
    Ok(match (kind, v) {
        (_, mysql::Value::NULL) => Value::Null,
        (Some(FieldType::Boolean), mysql::Value::Int(i)) => Value::Boolean(i != 0),
        (Some(FieldType::Boolean), mysql::Value::UInt(u)) => Value::Boolean(u != 0),
        #[allow(clippy::cast_precision_loss)]
        (Some(FieldType::Float), mysql::Value::Int(i)) => Value::Float(i as f64),
        (Some(FieldType::Integer) | None, mysql::Value::Int(i)) => Value::Integer(i),
        (Some(FieldType::Integer) | None, mysql::Value::UInt(u)) => {
            Value::Integer(i64::try_from(u).map_err(|_| bad("integer out of range".into()))?)
        }
        (Some(FieldType::Float) | None, mysql::Value::Double(f)) => Value::Float(f),
        (Some(FieldType::Float) | None, mysql::Value::Float(f)) => Value::Float(f.into()),
        (Some(FieldType::Json), mysql::Value::Bytes(b)) => {
            Value::Json(serde_json::from_slice(&b).map_err(|e| bad(format!("bad json: {e}")))?)
        }
        (Some(FieldType::Integer), mysql::Value::Bytes(b)) => {
            Value::Integer(text(b)?.parse().map_err(|_| bad("not an integer".into()))?)
        }
        (Some(FieldType::Float), mysql::Value::Bytes(b)) => {
            Value::Float(text(b)?.parse().map_err(|_| bad("not a float".into()))?)
        }
        (
            Some(FieldType::Text | FieldType::Uuid | FieldType::Date | FieldType::Decimal) | None,
            mysql::Value::Bytes(b),
        ) => Value::Text(text(b)?),
        (Some(FieldType::Date), mysql::Value::Date(y, mo, d, ..)) => {
            Value::Text(format!("{y:04}-{mo:02}-{d:02}"))
        }
        (Some(FieldType::DateTime) | None, mysql::Value::Date(y, mo, d, h, mi, s, us)) => {
            let days = days_from_civil(y.into(), mo.into(), d.into());
            let secs = i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
            Value::DateTime(days * MICROS_PER_DAY + secs * 1_000_000 + i64::from(us))
        }
        (kind, other) => {
            return Err(bad(format!(
                "expected {}, found {other:?}",
                kind.map_or("a value", FieldType::name)
            )))
        }
    })
}

impl Conn for MySession {
    fn query(
        &mut self,
        sql: &str,
        params_: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        let rows: Vec<mysql::Row> = self.conn.exec(sql, params(params_)?).map_err(map_err)?;
        rows.into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| decode(v, columns.get(i).copied(), i))
                    .collect()
            })
            .collect()
    }

    fn execute(&mut self, sql: &str, params_: &[Value]) -> Result<u64, BackendError> {
        if params_.is_empty() {
            // DDL and other parameterless statements: the text protocol.
            self.conn.query_drop(sql).map_err(map_err)?;
        } else {
            self.conn
                .exec_drop(sql, params(params_)?)
                .map_err(map_err)?;
        }
        Ok(self.conn.affected_rows())
    }

    fn supports_returning(&self) -> bool {
        self.mariadb
    }

    fn space_padded_columns(&mut self, table: &str) -> Result<Vec<String>, BackendError> {
        let rows: Vec<(String, String)> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
                 AND COLLATION_NAME IS NOT NULL ORDER BY ORDINAL_POSITION",
                (table,),
            )
            .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .filter(|(_, collation)| !no_pad(collation))
            .map(|(column, _)| column)
            .collect())
    }

    fn text_collation(&mut self) -> Result<Option<&'static str>, BackendError> {
        // `utf8mb4_bin` pads with spaces when comparing (`'a' = 'a '`,
        // and a unique key holds only one of them), so a row scoped to
        // `alice` would match a token for `alice `. The binary collations
        // without padding: MariaDB's `utf8mb4_nopad_bin` (10.2+), MySQL
        // 8's `utf8mb4_0900_bin`.
        let names: Vec<String> = self
            .conn
            .query(
                "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
                 WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
            )
            .map_err(map_err)?;
        Ok(Some(
            NO_PAD_COLLATIONS
                .iter()
                .find(|c| names.iter().any(|n| n == *c))
                .copied()
                .unwrap_or("utf8mb4_bin"),
        ))
    }
}

/// Whether a collation compares trailing spaces (`NO PAD`): MariaDB names
/// them `…_nopad_…`; MySQL 8's `…_0900_…` collations are all `NO PAD`.
fn no_pad(collation: &str) -> bool {
    collation.contains("_nopad_") || collation.contains("_0900_")
}

/// Binary `utf8mb4` collations that compare trailing spaces, preferred in
/// this order.
const NO_PAD_COLLATIONS: [&str; 2] = ["utf8mb4_nopad_bin", "utf8mb4_0900_bin"];

impl Session for MySession {
    fn begin(&mut self) -> Result<(), BackendError> {
        self.conn.query_drop("BEGIN").map_err(map_err)
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        self.conn.query_drop("COMMIT").map_err(map_err)
    }

    fn rollback(&mut self) -> Result<(), BackendError> {
        self.conn.query_drop("ROLLBACK").map_err(map_err)
    }

    fn ping(&mut self) -> Result<(), BackendError> {
        self.conn.query_drop("SELECT 1").map_err(map_err)
    }

    /// The session runs with `autocommit = 1` (set on connecting). Only
    /// MariaDB's sessions say so: the jobs that run statement by statement
    /// rely on `RETURNING`, which MySQL lacks, and run in a transaction
    /// there instead.
    fn autocommits(&self) -> bool {
        self.mariadb
    }
}

/// The text between the first `open` and the following `close`.
fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let rest = s.get(start..)?;
    rest.find(close).and_then(|end| rest.get(..end))
}

/// `Duplicate entry 'a@x' for key 'email'` (MariaDB) or `… for key
/// 'person.email'` (MySQL 8) → `Some("email")`; lightapi names a unique
/// index after its column.
fn duplicate_key(message: &str) -> Option<String> {
    let (_, key) = message.rsplit_once(" for key '")?;
    let key = key.strip_suffix('\'')?;
    let key = key.rsplit('.').next()?;
    // The primary key is named as such: the model operations know its column.
    (!key.is_empty()).then(|| key.to_owned())
}

/// `… FOREIGN KEY (`team`) REFERENCES …` → `Some("team")`.
fn foreign_key_column(message: &str) -> Option<String> {
    let cols = between(message, "FOREIGN KEY (", ")")?;
    (!cols.contains(',')).then(|| cols.trim_matches('`').to_owned())
}

/// `… constraint fails (`test`.`task`, CONSTRAINT …` → `Some("task")`.
fn referencing_table(message: &str) -> Option<String> {
    let table = between(message, "constraint fails (", ",")?;
    let table = table.rsplit('.').next()?.trim_matches('`');
    (!table.is_empty()).then(|| table.to_owned())
}

/// Maps a driver error to a [`BackendError`].
fn map_err(e: mysql::Error) -> BackendError {
    match &e {
        mysql::Error::MySqlError(m) => match m.code {
            1062 | 1586 => BackendError::Conflict {
                field: duplicate_key(&m.message),
                kind: ConflictKind::Unique,
            },
            1452 | 1216 => BackendError::Conflict {
                field: foreign_key_column(&m.message),
                kind: ConflictKind::ForeignKey,
            },
            1451 | 1217 => BackendError::Conflict {
                field: referencing_table(&m.message),
                kind: ConflictKind::Referenced,
            },
            1048 => BackendError::Constraint {
                field: between(&m.message, "Column '", "'").map(str::to_owned),
            },
            3819 | 4025 => BackendError::Constraint { field: None },
            1205 | 1213 => BackendError::Busy,
            // MariaDB's max_statement_time, MySQL's max_execution_time.
            1969 | 3024 => BackendError::TimedOut,
            1040 | 1053 | 1077 | 1079 | 1152 | 1184 | 1927 | 2006 | 2013 => {
                BackendError::Unavailable {
                    cause: e.to_string(),
                }
            }
            _ => BackendError::Internal {
                cause: e.to_string(),
            },
        },
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) => BackendError::Unavailable {
            cause: e.to_string(),
        },
        mysql::Error::DriverError(d) => match d {
            mysql::DriverError::MismatchedStmtParams(..)
            | mysql::DriverError::Params(_)
            | mysql::DriverError::MixedParams => BackendError::Internal {
                cause: e.to_string(),
            },
            _ => BackendError::Unavailable {
                cause: e.to_string(),
            },
        },
        mysql::Error::UrlError(_) => BackendError::InvalidUrl {
            reason: e.to_string(),
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
    fn constraint_messages_name_the_column() {
        assert_eq!(
            duplicate_key("Duplicate entry 'a@x' for key 'email'").as_deref(),
            Some("email")
        );
        assert_eq!(
            duplicate_key("Duplicate entry 'a@x' for key 'person.email'").as_deref(),
            Some("email")
        );
        assert_eq!(
            duplicate_key("Duplicate entry '1' for key 'PRIMARY'").as_deref(),
            Some(crate::backend::PRIMARY_KEY_CONFLICT)
        );
        assert_eq!(
            foreign_key_column(
                "Cannot add or update a child row: a foreign key constraint fails \
                 (`test`.`member`, CONSTRAINT `member_ibfk_1` FOREIGN KEY (`team`) \
                 REFERENCES `team` (`id`))"
            )
            .as_deref(),
            Some("team")
        );
        assert_eq!(
            referencing_table(
                "Cannot delete or update a parent row: a foreign key constraint fails \
                 (`test`.`member`, CONSTRAINT `member_ibfk_1` FOREIGN KEY (`team`) \
                 REFERENCES `team` (`id`))"
            )
            .as_deref(),
            Some("member")
        );
    }

    #[test]
    fn datetimes_convert_both_ways() {
        for us in [
            0,
            -1,
            1_709_208_000_123_456,
            253_402_300_799_999_999,
            -62_167_219_200_000_000,
        ] {
            let v = to_mysql(&Value::DateTime(us)).unwrap();
            assert_eq!(
                decode(v, Some(FieldType::DateTime), 0).unwrap(),
                Value::DateTime(us)
            );
        }
    }

    #[test]
    fn unreachable_server_is_unavailable() {
        let e = open("mysql://root@127.0.0.1:1/test", &PoolOptions::default()).unwrap_err();
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
        let e = open("mysql://root@h:notaport/x", &PoolOptions::default()).unwrap_err();
        assert!(matches!(e, BackendError::InvalidUrl { .. }), "{e:?}");
    }
}
