//! Opening a database from its URL, with the pool and writer settings.

use std::sync::Arc;
use std::time::Duration;

use super::{Backend, BackendError, Engine, Synchronous};

/// Connection and writer settings.
///
/// ```
/// use lightapi::__private::backend::PoolOptions;
/// use lightapi::config::Synchronous;
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
    /// The time limit of one query (`BackendError::TimedOut` past it).
    pub query_timeout: Duration,
    /// Network databases: how long opening one connection may take as a
    /// whole (TCP, start-up and authentication, session settings).
    pub connect_timeout: Duration,
    /// Network databases: how long one statement may wait for the
    /// database's answer before its connection is given up
    /// (`BackendError::Unavailable`). Keep it above `query_timeout`.
    pub socket_timeout: Duration,
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
            query_timeout: crate::config::DEFAULT_QUERY_TIMEOUT,
            connect_timeout: crate::config::DEFAULT_DATABASE_CONNECT_TIMEOUT,
            socket_timeout: crate::config::DEFAULT_DATABASE_SOCKET_TIMEOUT,
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
/// PostgreSQL and MySQL URLs choose TLS with `sslmode=` (`disable`, the
/// default, `prefer`, `require`, `verify-ca`, `verify-full`) and the
/// trusted roots with `sslrootcert=`; the drivers never see either.
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] for an unknown scheme or empty path,
/// [`BackendError::FeatureDisabled`] naming the cargo feature to enable, or
/// the error opening the database.
///
/// ```
/// use lightapi::__private::backend::{connect, PoolOptions};
/// use lightapi::backend::BackendError;
/// let err = connect("redis://localhost/db", &PoolOptions::default()).unwrap_err();
/// assert!(matches!(err, BackendError::InvalidUrl { .. }));
/// ```
#[cfg_attr(not(feature = "__private"), allow(dead_code))]
pub fn connect(url: &str, options: &PoolOptions) -> Result<Arc<dyn Backend>, BackendError> {
    open_engine(url, options).map(|e| e as Arc<dyn Backend>)
}

/// [`connect`], as the server drives the database.
///
/// # Errors
///
/// As [`connect`].
pub(crate) fn open_engine(
    url: &str,
    options: &PoolOptions,
) -> Result<Arc<dyn Engine>, BackendError> {
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
fn connect_postgres(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    super::postgres::open(url, options)
}

#[cfg(not(feature = "postgres"))]
fn connect_postgres(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    Err(feature_disabled(url, "postgres"))
}

#[cfg(feature = "mysql")]
fn connect_mysql(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    super::mysql::open(url, options)
}

#[cfg(not(feature = "mysql"))]
fn connect_mysql(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    Err(feature_disabled(url, "mysql"))
}

#[cfg(feature = "mssql")]
fn connect_mssql(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    super::mssql::open(url, options)
}

#[cfg(not(feature = "mssql"))]
fn connect_mssql(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    Err(feature_disabled(url, "mssql"))
}

#[cfg(feature = "oracle")]
fn connect_oracle(url: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    super::oracle::open(url, options)
}

#[cfg(not(feature = "oracle"))]
fn connect_oracle(url: &str, _options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    Err(feature_disabled(url, "oracle"))
}

#[cfg(feature = "sqlite")]
fn connect_sqlite(rest: &str, options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
    let target = if rest == ":memory:" || rest == "//:memory:" {
        super::sqlite::Target::Memory
    } else if let Some(path) = rest.strip_prefix("//") {
        if path.is_empty() {
            return Err(BackendError::InvalidUrl {
                reason: "empty sqlite path (expected sqlite://path.db)".to_owned(),
            });
        }
        super::sqlite::Target::File(path.into())
    } else {
        return Err(BackendError::InvalidUrl {
            reason: "expected sqlite://path.db or sqlite::memory:".to_owned(),
        });
    };
    Ok(Arc::new(super::sqlite::SqliteBackend::open(
        target, options,
    )?))
}

#[cfg(not(feature = "sqlite"))]
fn connect_sqlite(_rest: &str, _options: &PoolOptions) -> Result<Arc<dyn Engine>, BackendError> {
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
}
