//! The PostgreSQL backend (feature `postgres`), on [`tokio_postgres`]
//! (rust-postgres; no extra type crates beyond `serde_json`), with TLS on
//! rustls, each connection driven by a current-thread runtime of its own,
//! so every call is bounded in time.
//!
//! URL: `postgres://user[:password]@host[:port]/database[?params]` (or
//! `postgresql://`), with the connection parameters of
//! [`tokio_postgres::Config`] (`connect_timeout`, `options`, …) plus
//! `schema=NAME`, which runs `SET search_path TO "NAME"` on every new
//! connection (handy for one schema per tenant or per test run).
//!
//! Time limits (see [`PoolOptions`]): opening a connection — TCP, TLS,
//! start-up and authentication, the session settings — is given up after
//! `connect_timeout` (the URL's `connect_timeout`, when given, bounds each
//! TCP connect within it); a call that gets no answer within
//! `socket_timeout` closes its connection and fails as
//! [`BackendError::Unavailable`]. TLS is chosen by `sslmode=` and
//! `sslrootcert=`, read by lightapi (see `tls`), not by the driver.
//!
//! Types: `BIGINT`, `DOUBLE PRECISION`, `TEXT`/`VARCHAR(n)`, `BOOLEAN`,
//! `TIMESTAMPTZ` (microseconds, UTC), `UUID`, `DATE`, `NUMERIC(p,s)`
//! (bound and read in their binary formats from and to canonical text,
//! see `pg_types.rs`) and `JSONB` (so object keys come back
//! in PostgreSQL's order, and duplicate keys collapse). PostgreSQL text
//! cannot hold U+0000: such a value is refused as
//! [`BackendError::InvalidValue`] (HTTP 422).
//!
//! Connections come from the shared pool (see `pool.rs`): at most
//! [`PoolOptions::max_read_connections`], each with a cache of prepared
//! statements; broken connections are replaced.

use std::cell::Cell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

use super::pg_loop::LoopSettings;
use super::pg_types::{
    decode_date, decode_numeric, decode_uuid, encode_date, encode_numeric, encode_uuid,
};
use super::pool::{Connector, PooledBackend, Session};
use super::tls::pg::PgTls;
use super::work::{LoopDriver, LoopSetup};
use super::{BackendError, ConflictKind, Conn, Dialect, Engine, PoolOptions, Value};
use crate::model::datetime::format_rfc3339;
use crate::model::FieldType;

/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;
/// Prepared statements kept per connection.
pub(super) const STATEMENT_CACHE_CAPACITY: usize = 64;
/// How long closing a connection that answers waits for its goodbye
/// (`Terminate`) to be sent.
const CLOSE_WAIT: Duration = Duration::from_millis(250);

type BoxError = Box<dyn StdError + Sync + Send>;

/// Opens a pooled PostgreSQL backend for `url` and checks that it answers.
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] for a URL the driver does not accept,
/// [`BackendError::Unavailable`] when the server cannot be reached,
/// [`BackendError::Tls`] when the TLS the URL asks for cannot be set up.
pub(crate) fn open(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    let (url, tls) = super::tls::split_params(url)?;
    let (url, schema) = split_schema(&url)?;
    let mut config =
        tokio_postgres::Config::from_str(&url).map_err(|e| BackendError::InvalidUrl {
            reason: e.to_string(),
        })?;
    let tls = super::tls::pg::configure(&mut config, &tls)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    let label = format!(
        "postgres {:?}/{}",
        config.get_hosts(),
        config.get_dbname().unwrap_or("")
    );
    let loop_addrs = loop_addrs(&config, tls.is_some());
    let connector = PgConnector {
        loop_addrs,
        config,
        tls,
        statement_timeout: format!(
            "SET statement_timeout = {}",
            options.query_timeout.as_millis().clamp(1, i32::MAX as u128)
        ),
        search_path: schema.map(|s| format!("SET search_path TO {}", Dialect::Postgres.quote(&s))),
        label,
        connect_timeout: options.connect_timeout,
        socket_timeout: options.socket_timeout,
    };
    Ok(Arc::new(PooledBackend::open(
        connector,
        options.max_read_connections,
        options.busy_timeout,
        options.max_queued_writes,
        options.connect_at_open,
    )?))
}

/// The addresses an event loop connects to itself, or `None` where its
/// connections are not used: TLS, a Unix socket, several hosts, or a name
/// that does not resolve now (the pool's connections then run everything).
fn loop_addrs(config: &tokio_postgres::Config, tls: bool) -> Option<Vec<SocketAddr>> {
    if tls {
        return None;
    }
    let [tokio_postgres::config::Host::Tcp(host)] = config.get_hosts() else {
        return None;
    };
    let port = match config.get_ports() {
        [] => 5432,
        [port] => *port,
        _ => return None,
    };
    let addrs: Vec<SocketAddr> = match config.get_hostaddrs() {
        [] => (host.as_str(), port).to_socket_addrs().ok()?.collect(),
        [addr] => vec![SocketAddr::new(*addr, port)],
        _ => return None,
    };
    (!addrs.is_empty()).then_some(addrs)
}

/// Removes the `schema=` parameter from a URL's query.
fn split_schema(url: &str) -> Result<(String, Option<String>), BackendError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some("") => {
                return Err(BackendError::InvalidUrl {
                    reason: "empty schema= parameter".to_owned(),
                })
            }
            Some(s) => schema = Some(s.to_owned()),
            None => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, schema))
}

struct PgConnector {
    /// Where event loops connect themselves (see `pg_loop`); `None` when
    /// they do not.
    loop_addrs: Option<Vec<SocketAddr>>,
    config: tokio_postgres::Config,
    /// The TLS connector; `None` for plain TCP.
    tls: Option<PgTls>,
    /// Sets the session's time limit per statement.
    statement_timeout: String,
    search_path: Option<String>,
    label: String,
    /// The limit of the whole connection set-up.
    connect_timeout: Duration,
    /// The limit of each call's wait for an answer.
    socket_timeout: Duration,
}

impl Connector for PgConnector {
    type Session = PgSession;

    /// Connects, authenticates and sets the session up, all within the
    /// connect timeout: the connection's task runs on the session's
    /// runtime, which drives it whenever the session waits for an answer.
    fn connect(&self) -> Result<PgSession, BackendError> {
        let mut driver = Driver::new()?;
        let set_up = async {
            // Ends with an error when the socket does; the client's next
            // call then fails as `Unavailable`.
            let task = match &self.tls {
                Some(tls) => {
                    let (client, connection) = self.config.connect(tls.clone()).await?;
                    (client, tokio::spawn(connection))
                }
                None => {
                    let (client, connection) = self.config.connect(NoTls).await?;
                    (client, tokio::spawn(connection))
                }
            };
            let (client, task) = task;
            client.batch_execute(&self.statement_timeout).await?;
            if let Some(set) = &self.search_path {
                client.batch_execute(set).await?;
            }
            Ok((client, task))
        };
        let (client, task) = driver.within(self.connect_timeout, "connecting", set_up)?;
        driver.connection = Some(task);
        Ok(PgSession {
            client,
            statements: HashMap::new(),
            driver,
            socket_timeout: self.socket_timeout,
        })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn loop_driver(
        &self,
        setup: LoopSetup,
        pool: usize,
        sent: &Arc<AtomicU64>,
    ) -> Option<Box<dyn LoopDriver>> {
        let settings = LoopSettings {
            config: self.config.clone(),
            addrs: self.loop_addrs.clone()?,
            session: std::iter::once(self.statement_timeout.clone())
                .chain(self.search_path.clone())
                .collect(),
            connect_timeout: self.connect_timeout,
            socket_timeout: self.socket_timeout,
            sent: Arc::clone(sent),
        };
        Some(super::pg_loop::driver(Arc::new(settings), setup, pool))
    }

    fn label(&self) -> &str {
        &self.label
    }

    /// PostgreSQL text and JSONB cannot hold U+0000.
    fn refusal(&self, value: &Value) -> Option<&'static str> {
        let has_nul = match value {
            Value::Text(t) => t.contains('\0'),
            Value::Json(j) => json_has_nul(j),
            _ => false,
        };
        has_nul.then_some("the database cannot store the character U+0000 (NUL)")
    }
}

fn json_has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(json_has_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// What drives one connection's socket: a current-thread runtime, which
/// runs the connection's task whenever the session waits on it.
struct Driver {
    runtime: Runtime,
    /// The connection's task, once connected.
    connection: Option<JoinHandle<Result<(), tokio_postgres::Error>>>,
    /// Whether a call was given up for want of an answer.
    gave_up: Cell<bool>,
}

impl Driver {
    fn new() -> Result<Driver, BackendError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BackendError::Internal {
                cause: format!("cannot start a PostgreSQL connection's runtime: {e}"),
            })?;
        Ok(Driver {
            runtime,
            connection: None,
            gave_up: Cell::new(false),
        })
    }

    /// Runs `call`, giving up after `limit`: a call given up leaves the
    /// connection unusable, and its error is `Unavailable`, so the pool
    /// closes it.
    fn within<T>(
        &self,
        limit: Duration,
        doing: &str,
        call: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, BackendError> {
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(limit, call).await });
        answer.map_or_else(
            |_| {
                self.gave_up.set(true);
                Err(BackendError::Unavailable {
                    cause: format!(
                        "no answer from PostgreSQL within {} ms {doing}",
                        limit.as_millis()
                    ),
                })
            },
            // A TLS refusal (only connecting can meet one) is told apart
            // from the network's and the server's errors.
            |result| result.map_err(|e| super::tls::pg::refusal(&e).unwrap_or_else(|| map_err(e))),
        )
    }
}

impl Drop for Driver {
    /// Dropped after its client (see [`PgSession`]): a connection that
    /// answers sends its goodbye first; a silent one is just closed.
    fn drop(&mut self) {
        if let (Some(task), false) = (self.connection.take(), self.gave_up.get()) {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(CLOSE_WAIT, task).await });
        }
    }
}

/// One connection: the client, its prepared statements, and what drives
/// its socket. Fields drop in order: the client first, which tells the
/// connection's task to say goodbye, then the driver, which lets it.
struct PgSession {
    client: Client,
    statements: HashMap<String, Statement>,
    driver: Driver,
    socket_timeout: Duration,
}

impl PgSession {
    /// Waits for `call`'s answer, at most the socket timeout.
    fn wait<T>(
        &self,
        call: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, BackendError> {
        self.driver
            .within(self.socket_timeout, "waiting for an answer", call)
    }

    fn batch_execute(&self, sql: &str) -> Result<(), BackendError> {
        self.wait(self.client.batch_execute(sql))
    }

    fn prepare(&mut self, sql: &str) -> Result<Statement, BackendError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.wait(self.client.prepare(sql))?;
        if self.statements.len() >= STATEMENT_CACHE_CAPACITY {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

impl Conn for PgSession {
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        let stmt = self.prepare(sql)?;
        let params = bind(params);
        let refs = as_sql(&params);
        let rows = self.wait(self.client.query(&stmt, &refs))?;
        decode_rows(&rows, columns)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, BackendError> {
        if params.is_empty() && !sql.contains('$') {
            // DDL and other parameterless statements: no prepare round trip.
            return self.wait(self.client.execute(sql, &[]));
        }
        let stmt = self.prepare(sql)?;
        let params = bind(params);
        let refs = as_sql(&params);
        self.wait(self.client.execute(&stmt, &refs))
    }

    fn supports_returning(&self) -> bool {
        true
    }
}

impl Session for PgSession {
    fn begin(&mut self) -> Result<(), BackendError> {
        self.batch_execute("BEGIN")
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        self.batch_execute("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), BackendError> {
        self.batch_execute("ROLLBACK")
    }

    fn ping(&mut self) -> Result<(), BackendError> {
        if self.client.is_closed() {
            return Err(BackendError::Unavailable {
                cause: "connection closed".to_owned(),
            });
        }
        self.batch_execute("SELECT 1")
    }

    /// Outside `BEGIN`, PostgreSQL commits each statement by itself.
    fn autocommits(&self) -> bool {
        true
    }
}

/// A [`Value`] bound to a parameter of whatever type PostgreSQL inferred
/// for it (an integer to `INT4`, a datetime to `TIMESTAMPTZ`, …).
#[derive(Debug)]
pub(super) struct PgParam<'a>(&'a Value);

/// `params` bound as [`PgParam`]s.
pub(super) fn bind(params: &[Value]) -> Vec<PgParam<'_>> {
    params.iter().map(PgParam).collect()
}

/// `params` as the driver takes them.
pub(super) fn as_sql<'a>(params: &'a [PgParam<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// Rows as values of `columns`' types (a column past them as its own).
pub(super) fn decode_rows(
    rows: &[tokio_postgres::Row],
    columns: &[FieldType],
) -> Result<Vec<Vec<Value>>, BackendError> {
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| decode(row, i, columns.get(i).copied()))
                .collect()
        })
        .collect()
}

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    format!("cannot bind {value:?} to a parameter of type {ty}").into()
}

impl ToSql for PgParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let text_like = matches!(
            *ty,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
        );
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                #[allow(clippy::cast_precision_loss)]
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ if text_like => i.to_string().to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
            Value::Float(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                #[allow(clippy::cast_possible_truncation)]
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
            Value::Text(s) if text_like => s.as_str().to_sql(ty, out),
            // UUIDs, dates and decimals are canonical text inside lightapi.
            Value::Text(s) => {
                let bytes = match *ty {
                    Type::UUID => encode_uuid(s)?,
                    Type::DATE => encode_date(s)?,
                    Type::NUMERIC => encode_numeric(s)?,
                    _ => return Err(mismatch(self.0, ty)),
                };
                out.extend_from_slice(&bytes);
                Ok(IsNull::No)
            }
            Value::Boolean(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                Type::INT8 | Type::INT4 | Type::INT2 => {
                    PgParam(&Value::Integer(i64::from(*b))).to_sql(ty, out)
                }
                _ => Err(mismatch(self.0, ty)),
            },
            Value::DateTime(us) => match *ty {
                Type::TIMESTAMPTZ | Type::TIMESTAMP => us
                    .checked_sub(PG_EPOCH_OFFSET_US)
                    .ok_or("datetime out of range")?
                    .to_sql(&Type::INT8, out),
                _ if text_like => format_rfc3339(*us).to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
            Value::Json(j) => match *ty {
                Type::JSON | Type::JSONB => j.to_sql(ty, out),
                _ if text_like => j.to_string().to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A `TIMESTAMPTZ`/`TIMESTAMP` as microseconds since 1970-01-01 UTC.
struct Micros(i64);

impl<'a> FromSql<'a> for Micros {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Micros, BoxError> {
        let t = i64::from_sql(&Type::INT8, raw)?;
        if t == i64::MAX || t == i64::MIN {
            return Err("infinite timestamp".into());
        }
        Ok(Micros(
            t.checked_add(PG_EPOCH_OFFSET_US)
                .ok_or("timestamp out of range")?,
        ))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::TIMESTAMPTZ | Type::TIMESTAMP)
    }
}

/// A `UUID`, `DATE` or `NUMERIC` as the canonical text lightapi keeps.
struct AsText(String);

impl<'a> FromSql<'a> for AsText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<AsText, BoxError> {
        let text = match *ty {
            Type::UUID => decode_uuid(raw)?,
            Type::DATE => decode_date(raw)?,
            _ => decode_numeric(raw)?,
        };
        Ok(AsText(text))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::UUID | Type::DATE | Type::NUMERIC)
    }
}

fn decode(
    row: &tokio_postgres::Row,
    index: usize,
    kind: Option<FieldType>,
) -> Result<Value, BackendError> {
    let bad = |what: String| BackendError::Internal {
        cause: format!("column {index}: {what}"),
    };
    let get_err = |e: tokio_postgres::Error| bad(e.to_string());
    let ty = row
        .columns()
        .get(index)
        .map(|c| c.type_().clone())
        .ok_or_else(|| bad("no such column".to_owned()))?;
    let native = match ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)
            .map_err(get_err)?
            .map(Value::Boolean),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)
            .map_err(get_err)?
            .map(|v| Value::Integer(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)
            .map_err(get_err)?
            .map(|v| Value::Integer(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)
            .map_err(get_err)?
            .map(Value::Integer),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(index)
            .map_err(get_err)?
            .map(|v| Value::Float(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(index)
            .map_err(get_err)?
            .map(Value::Float),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
            .try_get::<_, Option<String>>(index)
            .map_err(get_err)?
            .map(Value::Text),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => row
            .try_get::<_, Option<Micros>>(index)
            .map_err(get_err)?
            .map(|m| Value::DateTime(m.0)),
        Type::JSON | Type::JSONB => row
            .try_get::<_, Option<serde_json::Value>>(index)
            .map_err(get_err)?
            .map(Value::Json),
        Type::UUID | Type::DATE | Type::NUMERIC => row
            .try_get::<_, Option<AsText>>(index)
            .map_err(get_err)?
            .map(|t| Value::Text(t.0)),
        other => return Err(bad(format!("unsupported PostgreSQL type {other}"))),
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
        (None, v) => v,
        (Some(k), v) => {
            let fits = matches!(
                (k, &v),
                (FieldType::Integer, Value::Integer(_))
                    | (FieldType::Float, Value::Float(_))
                    | (FieldType::Text, Value::Text(_))
                    | (FieldType::Boolean, Value::Boolean(_))
                    | (FieldType::DateTime, Value::DateTime(_))
                    | (FieldType::Json, Value::Json(_))
                    | (
                        FieldType::Uuid | FieldType::Date | FieldType::Decimal,
                        Value::Text(_)
                    )
            );
            if !fits {
                return Err(bad(format!("expected {}, found {ty}", k.name())));
            }
            v
        }
    })
}

/// `Key (email)=(ada@x) already exists.` → `Some("email")`; for a key of
/// several columns the last one (lightapi's are per-scope keys, scope
/// column first).
fn key_column(detail: Option<&str>) -> Option<String> {
    let rest = detail?.strip_prefix("Key (")?;
    let (cols, _) = rest.split_once(")=")?;
    let col = cols.rsplit(',').next()?.trim().trim_matches('"');
    (!col.is_empty()).then(|| col.to_owned())
}

/// `Key (id)=(1) is still referenced from table "task".` → `Some("task")`.
fn referencing_table(detail: &str) -> Option<String> {
    let (_, rest) = detail.split_once("referenced from table \"")?;
    let (table, _) = rest.split_once('"')?;
    (!table.is_empty()).then(|| table.to_owned())
}

/// Maps a driver error to a [`BackendError`].
pub(super) fn map_err(e: tokio_postgres::Error) -> BackendError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        // `tokio_postgres::Error` displays as "db error" alone: keep the server's
        // message for the log and start-up errors.
        let cause = || format!("{e}: {} (SQLSTATE {code})", db.message());
        return match code {
            "23505" => BackendError::Conflict {
                field: key_column(db.detail()),
                kind: ConflictKind::Unique,
            },
            "23503" => match db.detail() {
                Some(d) if d.contains("still referenced") => BackendError::Conflict {
                    field: referencing_table(d),
                    kind: ConflictKind::Referenced,
                },
                detail => BackendError::Conflict {
                    field: key_column(detail),
                    kind: ConflictKind::ForeignKey,
                },
            },
            "23502" => BackendError::Constraint {
                field: db.column().map(str::to_owned),
            },
            "23514" | "23P01" => BackendError::Constraint { field: None },
            "22021" | "22P05" => BackendError::InvalidValue {
                field: None,
                reason: "the database cannot store this value (U+0000 in text)".to_owned(),
            },
            "40001" | "40P01" | "55P03" => BackendError::Busy,
            "57014" => BackendError::TimedOut,
            "57P01" | "57P02" | "57P03" | "53300" | "53100" => {
                BackendError::Unavailable { cause: cause() }
            }
            c if c.starts_with("08") => BackendError::Unavailable { cause: cause() },
            _ => BackendError::Internal { cause: cause() },
        };
    }
    let io = e
        .source()
        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    let text = match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    };
    if io
        || e.is_closed()
        || text.starts_with("error connecting")
        || text.starts_with("error communicating")
        || text.starts_with("timeout")
        || text.starts_with("connection closed")
    {
        BackendError::Unavailable { cause: text }
    } else {
        BackendError::Internal { cause: text }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn schema_parameter_is_taken_out_of_the_url() {
        assert_eq!(
            split_schema("postgres://u@h/db?schema=s1&connect_timeout=3").unwrap(),
            (
                "postgres://u@h/db?connect_timeout=3".to_owned(),
                Some("s1".to_owned())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db").unwrap(),
            ("postgres://u@h/db".to_owned(), None)
        );
        assert_eq!(
            split_schema("postgres://u@h/db?schema=x").unwrap().0,
            "postgres://u@h/db"
        );
        assert!(split_schema("postgres://u@h/db?schema=").is_err());
    }

    #[test]
    fn key_columns_come_from_the_detail() {
        assert_eq!(
            key_column(Some("Key (email)=(a@x) already exists.")).as_deref(),
            Some("email")
        );
        assert_eq!(
            key_column(Some("Key (a, b)=(1, 2) already exists.")).as_deref(),
            Some("b")
        );
        assert_eq!(key_column(Some("Failing row contains")), None);
        assert_eq!(
            referencing_table(r#"Key (id)=(1) is still referenced from table "task"."#).as_deref(),
            Some("task")
        );
        assert_eq!(referencing_table("Key (id)=(1) is not present"), None);
        assert_eq!(key_column(None), None);
    }

    #[test]
    fn unreachable_server_is_unavailable() {
        // Port 1 on loopback: nothing listens there.
        let e = open(
            "postgres://postgres@127.0.0.1:1/test?connect_timeout=2",
            &PoolOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
        let e = open("postgres://u@h/db?bogus_option=1", &PoolOptions::default()).unwrap_err();
        assert!(matches!(e, BackendError::InvalidUrl { .. }), "{e:?}");
    }
}
