//! Configuration: every limit and timeout in one place, with documented
//! defaults, read from `LIGHTAPI_*` environment variables and overridable in
//! code.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Default cap on the request line plus headers (SPEC §7): 8 KiB.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 8 * 1024;
/// Default cap on a request body (SPEC §7): 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default cap on the number of request headers (SPEC §7): 100.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default cap on the request target (SPEC §7): 8 KiB.
pub const DEFAULT_MAX_URI_BYTES: usize = 8 * 1024;
/// Default cap on open connections across all reactors.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16 * 1024;
/// Default cap on bytes of responses waiting to be written on one connection
/// before the server stops reading further pipelined requests from it.
pub const DEFAULT_MAX_PENDING_WRITE_BYTES: usize = 256 * 1024;
/// Default time a client has to send a complete request head.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client has to send a complete request body.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time an idle keep-alive connection stays open.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time a client has to accept a response it stopped reading.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time in-flight requests get to finish at shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default database URL (SPEC §2).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://lightapi.db";

/// Size limits on what a client may send. Exceeding one is answered with the
/// status SPEC §7 names and the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Request line plus headers, in bytes (`431` beyond).
    pub max_head_bytes: usize,
    /// Request body, in bytes (`413` beyond, the body is not read).
    pub max_body_bytes: usize,
    /// Number of header fields (`431` beyond).
    pub max_headers: usize,
    /// Request target, in bytes (`414` beyond; takes precedence over `431`).
    pub max_uri_bytes: usize,
    /// Open connections across the server; further clients get a `503` and
    /// are closed instead of being left unanswered.
    pub max_connections: usize,
    /// Response bytes queued on one connection before reading pauses.
    pub max_pending_write_bytes: usize,
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
        }
    }
}

/// Timeouts of the connection state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request head to its end (`408` then close).
    pub header_read: Duration,
    /// From the end of the head to the end of the body (`408` then close).
    pub body_read: Duration,
    /// How long a keep-alive connection may sit idle between requests.
    pub idle: Duration,
    /// How long a response may wait for a client that does not read it.
    pub write: Duration,
    /// How long in-flight requests get to finish after shutdown begins.
    pub shutdown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: DEFAULT_HEADER_READ_TIMEOUT,
            body_read: DEFAULT_BODY_READ_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            write: DEFAULT_WRITE_TIMEOUT,
            shutdown: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// How much the server logs. Access lines are written at [`LogLevel::Info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing at all.
    Off,
    /// Failures only.
    Error,
    /// Failures and warnings.
    Warn,
    /// Start-up, shutdown and one access line per request (the default).
    Info,
    /// Everything, including causes of client errors.
    Debug,
}

impl LogLevel {
    fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "off" | "none" => LogLevel::Off,
            "error" => LogLevel::Error,
            "warn" | "warning" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" | "trace" => LogLevel::Debug,
            _ => return None,
        })
    }
}

/// The whole configuration of a server.
///
/// [`Config::from_env`] reads the `LIGHTAPI_*` variables of SPEC §2; every
/// field can then be changed in code.
///
/// ```
/// use lightapi::Config;
/// let mut config = Config::default();
/// config.port = 0; // any free port
/// config.limits.max_body_bytes = 64 * 1024;
/// assert_eq!(config.host.to_string(), "127.0.0.1");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Bind address (`LIGHTAPI_HOST`, default `127.0.0.1`).
    pub host: IpAddr,
    /// Bind port (`LIGHTAPI_PORT`, default `8000`; `0` picks a free port).
    pub port: u16,
    /// Database URL (`LIGHTAPI_DATABASE_URL`, default `sqlite://lightapi.db`).
    pub database_url: String,
    /// HS256 secrets (`LIGHTAPI_JWT_SECRET`, several separated by `,` for key
    /// rotation: the first signs, all verify). Empty: a random per-process
    /// secret is generated at start-up.
    pub jwt_secrets: Vec<Vec<u8>>,
    /// Lifetime of tokens issued by `POST /auth/login`
    /// (`LIGHTAPI_JWT_TTL_SECS`, default 3600).
    pub jwt_ttl: Duration,
    /// Clock leeway for `exp` and `nbf` (`LIGHTAPI_JWT_LEEWAY_SECS`, default 60).
    pub jwt_leeway: Duration,
    /// Whether tokens must carry `exp` (default true).
    pub jwt_require_exp: bool,
    /// Required `iss`, if any (`LIGHTAPI_JWT_ISSUER`).
    pub jwt_issuer: Option<String>,
    /// Required `aud`, if any (`LIGHTAPI_JWT_AUDIENCE`).
    pub jwt_audience: Option<String>,
    /// Login attempts per client address per minute
    /// (`LIGHTAPI_LOGIN_PER_MINUTE`, default 10).
    pub login_per_minute: u32,
    /// Login attempts per client address per hour
    /// (`LIGHTAPI_LOGIN_PER_HOUR`, default 100).
    pub login_per_hour: u32,
    /// Database connections per process (`LIGHTAPI_DATABASE_POOL`, default 8):
    /// SQLite read connections, or the PostgreSQL/MySQL pool size.
    pub database_pool: usize,
    /// SQLite durability (`LIGHTAPI_SQLITE_SYNCHRONOUS`): `normal` (default;
    /// acknowledged writes survive a process crash) or `full` (they also
    /// survive power loss).
    pub sqlite_synchronous_full: bool,
    /// Origins allowed by CORS (`LIGHTAPI_CORS_ORIGINS`, comma-separated;
    /// unset: CORS off).
    pub cors_origins: Option<String>,
    /// Handler threads (`LIGHTAPI_WORKERS`, default: number of cores).
    pub workers: usize,
    /// Event-loop threads (`LIGHTAPI_REACTORS`, default: number of cores).
    pub reactors: usize,
    /// Log level (`LIGHTAPI_LOG`: off, error, warn, info, debug; default info).
    pub log_level: LogLevel,
    /// Size limits.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database_url", &self.database_url)
            .field(
                "jwt_secrets",
                &format_args!("[{} redacted]", self.jwt_secrets.len()),
            )
            .field("jwt_ttl", &self.jwt_ttl)
            .field("jwt_leeway", &self.jwt_leeway)
            .field("jwt_require_exp", &self.jwt_require_exp)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("login_per_minute", &self.login_per_minute)
            .field("login_per_hour", &self.login_per_hour)
            .field("database_pool", &self.database_pool)
            .field("sqlite_synchronous_full", &self.sqlite_synchronous_full)
            .field("cors_origins", &self.cors_origins)
            .field("workers", &self.workers)
            .field("reactors", &self.reactors)
            .field("log_level", &self.log_level)
            .field("limits", &self.limits)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8000,
            database_url: DEFAULT_DATABASE_URL.to_string(),
            jwt_secrets: Vec::new(),
            jwt_ttl: Duration::from_secs(3600),
            jwt_leeway: Duration::from_secs(60),
            jwt_require_exp: true,
            jwt_issuer: None,
            jwt_audience: None,
            login_per_minute: 10,
            login_per_hour: 100,
            database_pool: 8,
            sqlite_synchronous_full: false,
            cors_origins: None,
            workers: cores(),
            reactors: cores(),
            log_level: LogLevel::Info,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
        }
    }
}

/// A configuration value that cannot be used. Its `Display` is the one line
/// start-up prints, naming the variable.
///
/// Its `Debug` output is the same single line, so `fn main() -> Result<(),
/// ConfigError>` prints `Error: LIGHTAPI_PORT: …` and no backtrace.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable's value does not parse.
    Invalid {
        /// The variable, e.g. `LIGHTAPI_PORT`.
        variable: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The server could not bind its address.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        reason: String,
    },
    /// A mistake in the application's own declarations (routes, models).
    Declaration {
        /// What was wrong.
        reason: String,
    },
    /// The database could not be prepared at start-up.
    Database {
        /// What was wrong.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid { variable, reason } => write!(f, "{variable}: {reason}"),
            ConfigError::Bind { addr, reason } => write!(
                f,
                "LIGHTAPI_HOST/LIGHTAPI_PORT: cannot listen on {addr}: {reason}"
            ),
            ConfigError::Declaration { reason } => write!(f, "invalid declaration: {reason}"),
            ConfigError::Database { reason } => write!(f, "LIGHTAPI_DATABASE_URL: {reason}"),
        }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

/// Minimum length of an HS256 secret (SPEC §5).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

impl Config {
    /// Reads the `LIGHTAPI_*` variables over the defaults.
    ///
    /// Besides the SPEC §2 variables: `LIGHTAPI_REACTORS`, `LIGHTAPI_LOG`,
    /// `LIGHTAPI_MAX_BODY_BYTES`, `LIGHTAPI_MAX_HEAD_BYTES`,
    /// `LIGHTAPI_MAX_HEADERS`, `LIGHTAPI_MAX_URI_BYTES`,
    /// `LIGHTAPI_MAX_CONNECTIONS`, and the timeouts in milliseconds
    /// `LIGHTAPI_HEADER_TIMEOUT_MS`, `LIGHTAPI_BODY_TIMEOUT_MS`,
    /// `LIGHTAPI_IDLE_TIMEOUT_MS`, `LIGHTAPI_WRITE_TIMEOUT_MS`,
    /// `LIGHTAPI_SHUTDOWN_TIMEOUT_MS`.
    ///
    /// # Errors
    /// A [`ConfigError::Invalid`] naming the first variable that does not
    /// parse or is out of range.
    ///
    /// ```
    /// let config = lightapi::Config::from_env().expect("valid environment");
    /// assert!(config.workers >= 1);
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
    /// use lightapi::Config;
    /// let err = Config::from_lookup(|name| (name == "LIGHTAPI_PORT").then(|| "http".to_string()))
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("LIGHTAPI_PORT:"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("LIGHTAPI_HOST") {
            c.host = parse_host(&v)?;
        }
        if let Some(v) = get("LIGHTAPI_PORT") {
            c.port = parse_num("LIGHTAPI_PORT", &v, 0, u64::from(u16::MAX))? as u16;
        }
        if let Some(v) = get("LIGHTAPI_DATABASE_URL") {
            c.database_url = v.trim().to_string();
            validate_database_url(&c.database_url)?;
        }
        if let Some(v) = lookup("LIGHTAPI_JWT_SECRET") {
            c.jwt_secrets = parse_secrets(&v)?;
        }
        if let Some(v) = get("LIGHTAPI_JWT_TTL_SECS") {
            c.jwt_ttl = Duration::from_secs(parse_num("LIGHTAPI_JWT_TTL_SECS", &v, 1, 31_536_000)?);
        }
        if let Some(v) = get("LIGHTAPI_JWT_LEEWAY_SECS") {
            c.jwt_leeway =
                Duration::from_secs(parse_num("LIGHTAPI_JWT_LEEWAY_SECS", &v, 0, 86_400)?);
        }
        c.jwt_issuer = get("LIGHTAPI_JWT_ISSUER");
        c.jwt_audience = get("LIGHTAPI_JWT_AUDIENCE");
        if let Some(v) = get("LIGHTAPI_LOGIN_PER_MINUTE") {
            c.login_per_minute = parse_num("LIGHTAPI_LOGIN_PER_MINUTE", &v, 1, 1_000_000)? as u32;
        }
        if let Some(v) = get("LIGHTAPI_LOGIN_PER_HOUR") {
            c.login_per_hour = parse_num("LIGHTAPI_LOGIN_PER_HOUR", &v, 1, 100_000_000)? as u32;
        }
        if let Some(v) = get("LIGHTAPI_DATABASE_POOL") {
            c.database_pool = parse_num("LIGHTAPI_DATABASE_POOL", &v, 1, 1024)? as usize;
        }
        if let Some(v) = get("LIGHTAPI_SQLITE_SYNCHRONOUS") {
            c.sqlite_synchronous_full = match v.trim().to_ascii_lowercase().as_str() {
                "normal" => false,
                "full" => true,
                _ => {
                    return Err(ConfigError::Invalid {
                        variable: "LIGHTAPI_SQLITE_SYNCHRONOUS",
                        reason: format!("{v:?} is not normal or full"),
                    })
                }
            };
        }
        c.cors_origins = get("LIGHTAPI_CORS_ORIGINS");
        if let Some(v) = get("LIGHTAPI_WORKERS") {
            c.workers = parse_num("LIGHTAPI_WORKERS", &v, 1, 1024)? as usize;
        }
        if let Some(v) = get("LIGHTAPI_REACTORS") {
            c.reactors = parse_num("LIGHTAPI_REACTORS", &v, 1, 256)? as usize;
        }
        if let Some(v) = get("LIGHTAPI_LOG") {
            c.log_level = LogLevel::parse(v.trim()).ok_or_else(|| ConfigError::Invalid {
                variable: "LIGHTAPI_LOG",
                reason: format!("{v:?} is not one of off, error, warn, info, debug"),
            })?;
        }
        let sizes: [(&'static str, &mut usize, u64); 5] = [
            (
                "LIGHTAPI_MAX_BODY_BYTES",
                &mut c.limits.max_body_bytes,
                1 << 40,
            ),
            (
                "LIGHTAPI_MAX_HEAD_BYTES",
                &mut c.limits.max_head_bytes,
                1 << 20,
            ),
            ("LIGHTAPI_MAX_HEADERS", &mut c.limits.max_headers, 10_000),
            (
                "LIGHTAPI_MAX_URI_BYTES",
                &mut c.limits.max_uri_bytes,
                1 << 20,
            ),
            (
                "LIGHTAPI_MAX_CONNECTIONS",
                &mut c.limits.max_connections,
                1 << 22,
            ),
        ];
        for (name, slot, max) in sizes {
            if let Some(v) = get(name) {
                *slot = parse_num(name, &v, 1, max)? as usize;
            }
        }
        let times: [(&'static str, &mut Duration); 5] = [
            ("LIGHTAPI_HEADER_TIMEOUT_MS", &mut c.timeouts.header_read),
            ("LIGHTAPI_BODY_TIMEOUT_MS", &mut c.timeouts.body_read),
            ("LIGHTAPI_IDLE_TIMEOUT_MS", &mut c.timeouts.idle),
            ("LIGHTAPI_WRITE_TIMEOUT_MS", &mut c.timeouts.write),
            ("LIGHTAPI_SHUTDOWN_TIMEOUT_MS", &mut c.timeouts.shutdown),
        ];
        for (name, slot) in times {
            if let Some(v) = get(name) {
                *slot = Duration::from_millis(parse_num(name, &v, 1, 86_400_000)?);
            }
        }
        Ok(c)
    }

    /// The socket address to bind.
    pub fn bind_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

fn parse_host(v: &str) -> Result<IpAddr, ConfigError> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    v.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| ConfigError::Invalid {
            variable: "LIGHTAPI_HOST",
            reason: format!("{v:?} is not an IP address"),
        })
}

fn parse_num(variable: &'static str, v: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    let invalid = || ConfigError::Invalid {
        variable,
        reason: format!("{v:?} is not a whole number from {min} to {max}"),
    };
    let n: u64 = v.trim().parse().map_err(|_| invalid())?;
    if n < min || n > max {
        return Err(invalid());
    }
    Ok(n)
}

fn parse_secrets(v: &str) -> Result<Vec<Vec<u8>>, ConfigError> {
    let secrets: Vec<Vec<u8>> = v.split(',').map(|s| s.trim().as_bytes().to_vec()).collect();
    for s in &secrets {
        if s.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                variable: "LIGHTAPI_JWT_SECRET",
                reason: format!(
                    "each secret must be at least {MIN_JWT_SECRET_BYTES} bytes (got {}); \
                     generate one with: openssl rand -hex 32",
                    s.len()
                ),
            });
        }
    }
    Ok(secrets)
}

/// Checks the shape of a database URL: a known scheme and a non-empty rest.
///
/// # Errors
/// [`ConfigError::Invalid`] naming `LIGHTAPI_DATABASE_URL`.
pub fn validate_database_url(url: &str) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        variable: "LIGHTAPI_DATABASE_URL",
        reason,
    };
    if url == "sqlite::memory:" {
        return Ok(());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid(format!(
            "{url:?} is not a URL (expected sqlite://path.db, sqlite::memory:, postgres://… or mysql://…)"
        )));
    };
    match scheme {
        "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb" | "mssql" | "sqlserver"
        | "oracle" => {}
        other => return Err(invalid(format!("unsupported scheme {other:?}"))),
    }
    if rest.is_empty() {
        return Err(invalid(format!("{url:?} names no database")));
    }
    // MySQL/MariaDB connect without a database, but lightapi's tables need
    // one: `mysql://user@host:3306/name`.
    if matches!(scheme, "mysql" | "mariadb") {
        let name = rest
            .split_once('/')
            .map(|(_, path)| path.split(['?', '#']).next().unwrap_or_default())
            .unwrap_or_default();
        if name.is_empty() {
            return Err(invalid(format!(
                "{url:?} names no database (expected {scheme}://user@host:3306/database)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_match_spec() {
        let c = env(&[]).unwrap();
        assert_eq!(c.bind_addr().to_string(), "127.0.0.1:8000");
        assert_eq!(c.database_url, "sqlite://lightapi.db");
        assert_eq!(c.limits.max_head_bytes, 8192);
        assert_eq!(c.limits.max_body_bytes, 1 << 20);
        assert_eq!(c.limits.max_headers, 100);
        assert_eq!(c.limits.max_uri_bytes, 8192);
        assert!(c.jwt_secrets.is_empty());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&str, &str)] = &[
            ("LIGHTAPI_PORT", "80000"),
            ("LIGHTAPI_PORT", "http"),
            ("LIGHTAPI_HOST", "not a host"),
            ("LIGHTAPI_DATABASE_URL", "ftp://x"),
            ("LIGHTAPI_DATABASE_URL", "lightapi.db"),
            ("LIGHTAPI_DATABASE_URL", "mysql://root@127.0.0.1:3306"),
            (
                "LIGHTAPI_DATABASE_URL",
                "mariadb://root@127.0.0.1:3306/?x=1",
            ),
            ("LIGHTAPI_JWT_SECRET", "short"),
            ("LIGHTAPI_WORKERS", "0"),
            ("LIGHTAPI_LOG", "loud"),
            ("LIGHTAPI_MAX_BODY_BYTES", "-1"),
            ("LIGHTAPI_IDLE_TIMEOUT_MS", "soon"),
        ];
        for (var, value) in cases {
            let err = env(&[(var, value)]).unwrap_err();
            let line = err.to_string();
            assert!(line.starts_with(var), "{line}");
            assert!(!line.contains('\n'));
        }
    }

    #[test]
    fn overrides_apply() {
        let c = env(&[
            ("LIGHTAPI_HOST", "0.0.0.0"),
            ("LIGHTAPI_PORT", "0"),
            ("LIGHTAPI_WORKERS", "3"),
            (
                "LIGHTAPI_JWT_SECRET",
                "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210",
            ),
            ("LIGHTAPI_IDLE_TIMEOUT_MS", "250"),
            ("LIGHTAPI_DATABASE_URL", "sqlite::memory:"),
        ])
        .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.workers, 3);
        assert_eq!(c.jwt_secrets.len(), 2);
        assert_eq!(c.timeouts.idle, Duration::from_millis(250));
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }
}
