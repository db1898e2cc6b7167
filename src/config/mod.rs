//! Configuration: every setting, limit and timeout in one place, grouped by
//! concern, with documented defaults; read from `LIGHTAPI_*` environment
//! variables (see [`Config::from_env`]) and overridable in code.
//!
//! ```
//! use lightapi::config::Config;
//! let mut config = Config::default();
//! config.server.port = 0; // any free port
//! config.limits.max_body_bytes = 64 * 1024;
//! assert_eq!(config.server.host.to_string(), "127.0.0.1");
//! assert_eq!(config.database.url.as_str(), "sqlite://lightapi.db");
//! ```

pub(crate) mod descriptors;
mod env;
pub(crate) mod rate_limit;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use crate::cors::Cors;
use crate::http::{Cidr, MessageLimits};

pub use rate_limit::{
    RateLimit, RateLimitConfig, RateLimitKey, RedisFailure, DEFAULT_RATE_LIMIT_MAX_KEYS,
    DEFAULT_RATE_LIMIT_REDIS_PREFIX, DEFAULT_RATE_LIMIT_REDIS_TIMEOUT, MAX_RATE_LIMIT_NAME_BYTES,
    MAX_RATE_LIMIT_WINDOW,
};

pub use crate::http::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_URI_BYTES,
};

/// Default cap on open connections across all event loops.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16 * 1024;
/// Default cap on the request body bytes all connections together may hold
/// while they are received: 64 MiB.
pub const DEFAULT_MAX_BUFFERED_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Default cap on bytes of responses waiting to be written on one connection
/// before the server stops reading further pipelined requests from it.
pub const DEFAULT_MAX_PENDING_WRITE_BYTES: usize = 256 * 1024;
/// Default cap on the bytes of the rows of one list page: 1 MiB.
pub const DEFAULT_MAX_PAGE_BYTES: usize = 1024 * 1024;
/// Default cap on the items of one bulk write (a JSON array posted to a
/// collection).
pub const DEFAULT_MAX_BULK_ITEMS: usize = 1000;
/// Default cap on the response bytes all connections together may hold
/// unsent: 64 MiB.
pub const DEFAULT_MAX_UNSENT_BYTES: usize = 64 * 1024 * 1024;
/// Default slowest a client may take its response, in bytes per second.
pub const DEFAULT_MIN_SEND_RATE: u64 = 4 * 1024;
/// Default window over which the send rate is measured.
pub const DEFAULT_SEND_RATE_GRACE: Duration = Duration::from_secs(10);
/// Default time a client has to send a complete request head.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client has to send a complete request body.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time an idle keep-alive connection stays open.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time a client has to accept a response it stopped reading.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time limit of one database query.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time in-flight requests get to finish at shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default database URL.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://lightapi.db";
/// Default number of database connections per process.
pub const DEFAULT_DATABASE_POOL: usize = 8;
/// Default time a network database gets to accept a connection and set it
/// up (TCP, start-up and authentication, session settings).
pub const DEFAULT_DATABASE_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time a network database connection may stay silent during one
/// statement before it is given up.
pub const DEFAULT_DATABASE_SOCKET_TIMEOUT: Duration = Duration::from_secs(15);
/// How much longer than the query timeout the socket timeout always is, so
/// that a slow query is stopped by the database (`504`) before its
/// connection is given up (`503`).
pub const DATABASE_SOCKET_TIMEOUT_MARGIN: Duration = Duration::from_secs(1);
/// Minimum length of an HS256 secret.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// The whole configuration of a server, grouped by concern.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// Address and threads.
    pub server: ServerConfig,
    /// The database.
    pub database: DatabaseConfig,
    /// Token verification and issuing.
    pub jwt: JwtSettings,
    /// `POST /auth/login`.
    pub login: LoginConfig,
    /// Rate limits on every route, and where their counters live.
    pub rate_limit: RateLimitConfig,
    /// Cross-origin requests; off when `None` (the default). On with
    /// `LIGHTAPI_CORS_ORIGINS`; `LIGHTAPI_CORS_ALLOW_HEADERS` and
    /// `LIGHTAPI_CORS_EXPOSE_HEADERS` add to the defaults of
    /// [`Cors::new`], `LIGHTAPI_CORS_CREDENTIALS` (default `false`) and
    /// `LIGHTAPI_CORS_MAX_AGE_SECS` (default 600) set the rest.
    pub cors: Option<Cors>,
    /// Size limits on what clients may send and hold.
    pub limits: Limits,
    /// Timeouts of connections and shutdown.
    pub timeouts: Timeouts,
    /// How much is logged (`LIGHTAPI_LOG`, default `info`).
    pub log: LogLevel,
    /// How log lines are written (`LIGHTAPI_LOG_FORMAT`: `text`, the
    /// default, or `json`).
    pub log_format: LogFormat,
    /// The Prometheus metrics route; off by default.
    pub metrics: MetricsConfig,
}

/// The Prometheus metrics route.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Where the metrics are served (`LIGHTAPI_METRICS_PATH`, e.g.
    /// `/metrics`; default `None`: not served, and nothing is counted).
    pub path: Option<String>,
    /// Whether the route answers without a token
    /// (`LIGHTAPI_METRICS_PUBLIC`, default `false`: a valid token is
    /// required, as on any route).
    pub public: bool,
}

/// Where the server listens and how many threads it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Bind address (`LIGHTAPI_HOST`, default `127.0.0.1`).
    pub host: IpAddr,
    /// Bind port (`LIGHTAPI_PORT`, default `8000`; `0` picks a free port).
    pub port: u16,
    /// Handler threads (`LIGHTAPI_WORKERS`, default: the number of cores).
    pub workers: usize,
    /// Event-loop threads (`LIGHTAPI_REACTORS`, default: the number of cores).
    pub reactors: usize,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers are believed
    /// for the client's address, as addresses or blocks
    /// (`LIGHTAPI_TRUSTED_PROXIES`, comma-separated, e.g.
    /// `10.0.0.0/8,::1`; default none: the client is the socket's peer).
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8000,
            workers: cores(),
            reactors: cores(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// The socket address to bind.
    pub fn bind_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The database and how it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseConfig {
    /// Which database (`LIGHTAPI_DATABASE_URL`, default `sqlite://lightapi.db`).
    pub url: DatabaseUrl,
    /// Database connections per process (`LIGHTAPI_DATABASE_POOL`, default 8).
    /// On PostgreSQL without TLS, each event loop also opens, as it needs
    /// them, up to its share of this many connections of its own
    /// (`pool / reactors`, rounded up), on which it sends the statements
    /// of the verbs that are one statement (`GET` by id, plain `POST`,
    /// `PATCH`/`PUT` and `DELETE`) itself; the pool's connections run the
    /// rest. So such a server may hold up to twice this many (and one more
    /// per event loop, from rounding).
    pub pool: usize,
    /// SQLite durability (`LIGHTAPI_SQLITE_SYNCHRONOUS`, default `normal`).
    pub sqlite_synchronous: Synchronous,
    /// PostgreSQL and MySQL/MariaDB: how long opening one connection may
    /// take as a whole — TCP connect, start-up and authentication, and the
    /// session settings — before it is given up as unavailable
    /// (`LIGHTAPI_DATABASE_CONNECT_TIMEOUT_MS`, default 5 s). SQLite, a
    /// local file, has none.
    pub connect_timeout: Duration,
    /// PostgreSQL and MySQL/MariaDB: how long one statement may wait for
    /// the database's answer before its connection is given up: the
    /// connection is closed, never reused, and the request answered `503`
    /// (`LIGHTAPI_DATABASE_SOCKET_TIMEOUT_MS`, default 15 s). It covers a
    /// database that stopped answering, which the query timeout (enforced
    /// by the database itself) cannot. It is never shorter than the query
    /// timeout plus one second ([`DatabaseConfig::effective_socket_timeout`]).
    /// SQLite, a local file, has none.
    pub socket_timeout: Duration,
    /// Whether start-up adds the columns a model has and its existing
    /// table lacks, where the rows already there can take them (a nullable
    /// field, or one with a default) (`LIGHTAPI_SCHEMA_ADD_COLUMNS`, default
    /// `false`). Nothing is ever dropped or changed; any other difference
    /// stops start-up with the statements that would fix it.
    pub add_columns: bool,
}

impl DatabaseConfig {
    /// The socket timeout in force with query timeout `query`:
    /// [`socket_timeout`](DatabaseConfig::socket_timeout), raised to `query`
    /// plus one second where it is shorter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use lightapi::config::DatabaseConfig;
    /// let db = DatabaseConfig::default();
    /// assert_eq!(db.effective_socket_timeout(Duration::from_secs(10)), Duration::from_secs(15));
    /// assert_eq!(db.effective_socket_timeout(Duration::from_secs(60)), Duration::from_secs(61));
    /// ```
    pub fn effective_socket_timeout(&self, query: Duration) -> Duration {
        self.socket_timeout
            .max(query.saturating_add(DATABASE_SOCKET_TIMEOUT_MARGIN))
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: DatabaseUrl(DEFAULT_DATABASE_URL.to_owned()),
            pool: DEFAULT_DATABASE_POOL,
            sqlite_synchronous: Synchronous::Normal,
            connect_timeout: DEFAULT_DATABASE_CONNECT_TIMEOUT,
            socket_timeout: DEFAULT_DATABASE_SOCKET_TIMEOUT,
            add_columns: false,
        }
    }
}

/// SQLite durability level (`PRAGMA synchronous`) in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// Survives a process crash (`SIGKILL`); the last commits may be lost on
    /// power failure. The default.
    #[default]
    Normal,
    /// Survives power loss too, at the cost of an fsync per commit group.
    Full,
}

/// A database URL with a known scheme and a database named:
/// `sqlite://path.db`, `sqlite::memory:`, `postgres://…`, `mysql://…`
/// (and `mssql://…`, `oracle://…` behind their features).
///
/// ```
/// use lightapi::config::DatabaseUrl;
/// let url: DatabaseUrl = "postgres://postgres@127.0.0.1/test".parse()?;
/// assert_eq!(url.scheme(), "postgres");
/// assert!("mysql://root@127.0.0.1:3306".parse::<DatabaseUrl>().is_err());
/// # Ok::<(), lightapi::config::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Checks `url`'s shape: a known scheme and a database named.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `LIGHTAPI_DATABASE_URL`.
    pub fn new(url: &str) -> Result<DatabaseUrl, ConfigError> {
        env::validate_database_url(url.trim())?;
        Ok(DatabaseUrl(url.trim().to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme, lower-case (`sqlite`, `postgres`, `mysql`, …).
    pub fn scheme(&self) -> String {
        self.0
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    /// Whether this is a SQLite database (a local file or memory).
    pub fn is_sqlite(&self) -> bool {
        self.scheme() == "sqlite"
    }
}

impl FromStr for DatabaseUrl {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::new(s)
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_password(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `scheme://user:password@host/...` with the password replaced.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// An HS256 secret of at least [`MIN_JWT_SECRET_BYTES`] bytes; its `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    /// Checks the length of `secret`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `LIGHTAPI_JWT_SECRET` for a short secret.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<JwtSecret, ConfigError> {
        let secret = secret.into();
        if secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                variable: "LIGHTAPI_JWT_SECRET",
                reason: format!(
                    "each secret must be at least {MIN_JWT_SECRET_BYTES} bytes (got {}); \
                     generate one with: openssl rand -hex 32",
                    secret.len()
                ),
            });
        }
        Ok(JwtSecret(secret))
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret([redacted])")
    }
}

/// Token verification and issuing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtSettings {
    /// HS256 secrets (`LIGHTAPI_JWT_SECRET`, several separated by `,` for key
    /// rotation: the first signs, all verify). Empty: a random per-process
    /// secret is generated at start-up.
    pub secrets: Vec<JwtSecret>,
    /// Lifetime of tokens issued by `POST /auth/login`
    /// (`LIGHTAPI_JWT_TTL_SECS`, default 3600 s).
    pub ttl: Duration,
    /// Clock leeway for `exp` and `nbf` (`LIGHTAPI_JWT_LEEWAY_SECS`, default 60 s).
    pub leeway: Duration,
    /// Whether tokens must carry `exp` (default true).
    pub require_exp: bool,
    /// Required `iss`, if any (`LIGHTAPI_JWT_ISSUER`).
    pub issuer: Option<String>,
    /// Required `aud`, if any (`LIGHTAPI_JWT_AUDIENCE`).
    pub audience: Option<String>,
}

impl Default for JwtSettings {
    fn default() -> Self {
        JwtSettings {
            secrets: Vec::new(),
            ttl: Duration::from_secs(3600),
            leeway: Duration::from_secs(60),
            require_exp: true,
            issuer: None,
            audience: None,
        }
    }
}

/// `POST /auth/login`'s limits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginConfig {
    /// Login attempts per client address per minute
    /// (`LIGHTAPI_LOGIN_PER_MINUTE`, default 10).
    pub per_minute: u32,
    /// Login attempts per client address per hour
    /// (`LIGHTAPI_LOGIN_PER_HOUR`, default 100).
    pub per_hour: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            per_minute: 10,
            per_hour: 100,
        }
    }
}

/// Size limits on what a client may send and make the server hold.
/// Exceeding a message limit is answered with its own status and the
/// connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Request line plus headers, in bytes (`431` beyond;
    /// `LIGHTAPI_MAX_HEAD_BYTES`, default 8 KiB).
    pub max_head_bytes: usize,
    /// Request body, in bytes (`413` beyond, the body is not read;
    /// `LIGHTAPI_MAX_BODY_BYTES`, default 1 MiB).
    pub max_body_bytes: usize,
    /// Number of header fields (`431` beyond; `LIGHTAPI_MAX_HEADERS`,
    /// default 100).
    pub max_headers: usize,
    /// Request target, in bytes (`414` beyond, which takes precedence over
    /// `431`; `LIGHTAPI_MAX_URI_BYTES`, default 8 KiB).
    pub max_uri_bytes: usize,
    /// Open connections across the server; further clients get a `503` and
    /// are closed instead of being left unanswered
    /// (`LIGHTAPI_MAX_CONNECTIONS`, default 16,384). The server clamps it
    /// at start-up to the process's descriptor soft limit less a reserve
    /// (a tenth of the limit, at least 32 plus 4 per event loop), since
    /// every connection holds a descriptor.
    pub max_connections: usize,
    /// Response bytes queued on one connection before reading pauses
    /// (default 256 KiB).
    pub max_pending_write_bytes: usize,
    /// Bytes of the rows of one list page: a page whose rows would pass it
    /// ends after the last row that fits (always at least one), says so
    /// (`"truncated": true`) and links to the rest in `next`
    /// (`LIGHTAPI_MAX_PAGE_BYTES`, default 1 MiB).
    pub max_page_bytes: usize,
    /// Items of one bulk write, a JSON array posted to a collection: more
    /// is a `413` naming the maximum, before anything is written
    /// (`LIGHTAPI_MAX_BULK_ITEMS`, default 1,000; a resource may set its
    /// own with `Resource::max_bulk`). The body-size limit applies too.
    pub max_bulk_items: usize,
    /// Response bytes all connections together may hold unsent (beyond
    /// 16 KiB each, which every connection may hold); a response that
    /// would pass it is replaced by a `503` with `Retry-After` and its
    /// connection closed, so one response larger than the budget is never
    /// sent (`LIGHTAPI_MAX_UNSENT_BYTES`, default 64 MiB).
    pub max_unsent_bytes: usize,
    /// Request body bytes all connections together may hold while bodies
    /// are received; a body that would pass it is answered `503` and its
    /// connection closed (`LIGHTAPI_MAX_BUFFERED_BODY_BYTES`, default
    /// 64 MiB).
    pub max_buffered_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_pending_write_bytes: DEFAULT_MAX_PENDING_WRITE_BYTES,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            max_bulk_items: DEFAULT_MAX_BULK_ITEMS,
            max_unsent_bytes: DEFAULT_MAX_UNSENT_BYTES,
            max_buffered_body_bytes: DEFAULT_MAX_BUFFERED_BODY_BYTES,
        }
    }
}

impl Limits {
    /// The limits on one request message.
    pub fn message(&self) -> MessageLimits {
        MessageLimits {
            max_head_bytes: self.max_head_bytes,
            max_body_bytes: self.max_body_bytes,
            max_headers: self.max_headers,
            max_uri_bytes: self.max_uri_bytes,
        }
    }
}

/// Timeouts of the connection state machine and of shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// From the first byte of a request head to its end (`408` then close;
    /// `LIGHTAPI_HEADER_TIMEOUT_MS`, default 10 s).
    pub header_read: Duration,
    /// From the end of the head to the end of the body (`408` then close;
    /// `LIGHTAPI_BODY_TIMEOUT_MS`, default 30 s).
    pub body_read: Duration,
    /// How long a keep-alive connection may sit idle between requests
    /// (`LIGHTAPI_IDLE_TIMEOUT_MS`, default 60 s).
    pub idle: Duration,
    /// How long a response may wait for a client that takes none of it
    /// (`LIGHTAPI_WRITE_TIMEOUT_MS`, default 30 s).
    pub write: Duration,
    /// Slowest a client may take a response it is sent, in bytes per
    /// second: while output waits for a client, each
    /// [`send_rate_grace`](Timeouts::send_rate_grace) it must have taken
    /// this rate times the window, or it is dropped, so reading a byte
    /// now and then does not keep a response held (`LIGHTAPI_MIN_SEND_RATE`,
    /// default 4096; `0`: no minimum).
    pub min_send_rate: u64,
    /// The window over which [`min_send_rate`](Timeouts::min_send_rate) is
    /// measured, from the moment output starts waiting for the client
    /// (`LIGHTAPI_SEND_RATE_GRACE_MS`, default 10 s).
    pub send_rate_grace: Duration,
    /// How long in-flight requests get to finish after shutdown begins
    /// (`LIGHTAPI_SHUTDOWN_TIMEOUT_MS`, default 10 s). It bounds the whole
    /// shutdown: handlers or database calls still running then are left
    /// behind (after at most 200 ms more for idle threads to end), so the
    /// process exits on time whatever the database does.
    pub shutdown: Duration,
    /// How long one database query may run before the database stops it
    /// and the request is answered `504` (`LIGHTAPI_QUERY_TIMEOUT_MS`,
    /// default 10 s): PostgreSQL's `statement_timeout`, MariaDB's
    /// `max_statement_time` (MySQL's `max_execution_time`, which covers
    /// reads), SQLite's progress handler on reads.
    pub query: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: DEFAULT_HEADER_READ_TIMEOUT,
            body_read: DEFAULT_BODY_READ_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            write: DEFAULT_WRITE_TIMEOUT,
            min_send_rate: DEFAULT_MIN_SEND_RATE,
            send_rate_grace: DEFAULT_SEND_RATE_GRACE,
            shutdown: DEFAULT_SHUTDOWN_TIMEOUT,
            query: DEFAULT_QUERY_TIMEOUT,
        }
    }
}

/// How much the server logs. Access lines are written at [`LogLevel::Info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum LogLevel {
    /// Nothing at all.
    Off,
    /// Failures only.
    Error,
    /// Failures and warnings.
    Warn,
    /// Start-up, shutdown and one access line per request (the default).
    #[default]
    Info,
    /// Everything, including causes of client errors.
    Debug,
}

impl FromStr for LogLevel {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => LogLevel::Off,
            "error" => LogLevel::Error,
            "warn" | "warning" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" | "trace" => LogLevel::Debug,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: "LIGHTAPI_LOG",
                    reason: format!("{s:?} is not one of off, error, warn, info, debug"),
                })
            }
        })
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// One line of plain ASCII text per entry (the default).
    #[default]
    Text,
    /// One JSON object per line (`ts`, `level`, then the entry's fields).
    Json,
}

impl FromStr for LogFormat {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(ConfigError::Invalid {
                variable: "LIGHTAPI_LOG_FORMAT",
                reason: format!("{s:?} is not text or json"),
            }),
        }
    }
}

/// A configuration value that cannot be used. Its `Display` is one line
/// naming the variable; its `Debug` is the same line, so
/// `fn main() -> Result<(), _>` prints no backtrace.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable's value does not parse or is out of range.
    Invalid {
        /// The variable, e.g. `LIGHTAPI_PORT`.
        variable: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid { variable, reason } => write!(f, "{variable}: {reason}"),
        }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the `LIGHTAPI_*` variables over the defaults: `LIGHTAPI_HOST`,
    /// `LIGHTAPI_PORT`, `LIGHTAPI_WORKERS`, `LIGHTAPI_REACTORS`,
    /// `LIGHTAPI_DATABASE_URL`, `LIGHTAPI_DATABASE_POOL`,
    /// `LIGHTAPI_SQLITE_SYNCHRONOUS`, `LIGHTAPI_DATABASE_CONNECT_TIMEOUT_MS`,
    /// `LIGHTAPI_DATABASE_SOCKET_TIMEOUT_MS`, `LIGHTAPI_JWT_SECRET`,
    /// `LIGHTAPI_JWT_TTL_SECS`, `LIGHTAPI_JWT_LEEWAY_SECS`,
    /// `LIGHTAPI_JWT_ISSUER`, `LIGHTAPI_JWT_AUDIENCE`,
    /// `LIGHTAPI_LOGIN_PER_MINUTE`, `LIGHTAPI_LOGIN_PER_HOUR`,
    /// `LIGHTAPI_RATE_LIMIT`, `LIGHTAPI_RATE_LIMIT_KEY`,
    /// `LIGHTAPI_RATE_LIMIT_MAX_KEYS`, `LIGHTAPI_RATE_LIMIT_REDIS_URL`,
    /// `LIGHTAPI_RATE_LIMIT_REDIS_PREFIX`,
    /// `LIGHTAPI_RATE_LIMIT_REDIS_TIMEOUT_MS`,
    /// `LIGHTAPI_RATE_LIMIT_REDIS_FAILURE`,
    /// `LIGHTAPI_CORS_ORIGINS`, `LIGHTAPI_CORS_ALLOW_HEADERS`,
    /// `LIGHTAPI_CORS_EXPOSE_HEADERS`, `LIGHTAPI_CORS_CREDENTIALS`,
    /// `LIGHTAPI_CORS_MAX_AGE_SECS`, `LIGHTAPI_LOG`, the limits
    /// `LIGHTAPI_MAX_BODY_BYTES`, `LIGHTAPI_MAX_HEAD_BYTES`,
    /// `LIGHTAPI_MAX_HEADERS`, `LIGHTAPI_MAX_URI_BYTES`,
    /// `LIGHTAPI_MAX_CONNECTIONS`, `LIGHTAPI_MAX_BUFFERED_BODY_BYTES`,
    /// `LIGHTAPI_MAX_PAGE_BYTES`, `LIGHTAPI_MAX_BULK_ITEMS`,
    /// `LIGHTAPI_MAX_UNSENT_BYTES`, the minimum
    /// send rate `LIGHTAPI_MIN_SEND_RATE` (bytes per second), and the
    /// timeouts in milliseconds
    /// `LIGHTAPI_HEADER_TIMEOUT_MS`, `LIGHTAPI_BODY_TIMEOUT_MS`,
    /// `LIGHTAPI_IDLE_TIMEOUT_MS`, `LIGHTAPI_WRITE_TIMEOUT_MS`,
    /// `LIGHTAPI_SEND_RATE_GRACE_MS`, `LIGHTAPI_SHUTDOWN_TIMEOUT_MS`,
    /// `LIGHTAPI_QUERY_TIMEOUT_MS`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that does not parse or
    /// is out of range.
    ///
    /// ```
    /// let config = lightapi::config::Config::from_env().expect("valid environment");
    /// assert!(config.server.workers >= 1);
    /// ```
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup`
    /// (for tests and embedding).
    ///
    /// # Errors
    /// As [`Config::from_env`].
    ///
    /// ```
    /// use lightapi::config::Config;
    /// let err = Config::from_lookup(|name| (name == "LIGHTAPI_PORT").then(|| "http".to_string()))
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("LIGHTAPI_PORT:"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        env::read(lookup)
    }

    /// This configuration with the settings of the variables `lookup`
    /// returns replacing its own, as [`Config::from_lookup`] replaces the
    /// defaults (the `lightapi` command applies the environment over its
    /// file so).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) fn over_lookup(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        env::read_over(self, lookup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_over_a_configuration_replace_only_what_they_set() {
        let mut base = Config::default();
        base.server.port = 9000;
        base.jwt.issuer = Some("from-file".into());
        base.cors = Some(Cors::new().allow_origin("http://a.example"));
        base.rate_limit.default = Some(RateLimit::per_minute(5));
        let over = base
            .clone()
            .over_lookup(|n| (n == "LIGHTAPI_RATE_LIMIT_KEY").then(|| "subject".to_owned()))
            .unwrap();
        assert_eq!(over.server.port, 9000);
        assert_eq!(over.jwt.issuer.as_deref(), Some("from-file"));
        assert_eq!(over.cors, base.cors);
        let limit = over.rate_limit.default.unwrap();
        assert_eq!((limit.quota(), limit.key()), (5, RateLimitKey::Subject));
        let port = base
            .over_lookup(|n| (n == "LIGHTAPI_PORT").then(|| "0".to_owned()))
            .unwrap();
        assert_eq!(port.server.port, 0);
    }

    #[test]
    fn passwords_are_not_displayed() {
        let url: DatabaseUrl = "postgres://app:s3cret@db:5432/prod".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/prod");
        assert!(!format!("{url:?}").contains("s3cret"));
        let plain: DatabaseUrl = "sqlite://a@b.db".parse().unwrap();
        assert_eq!(plain.to_string(), "sqlite://a@b.db");
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtSecret::new(b"short".to_vec()).is_err());
        let s = JwtSecret::new(vec![b'k'; 32]).unwrap();
        assert_eq!(format!("{s:?}"), "JwtSecret([redacted])");
    }
}
