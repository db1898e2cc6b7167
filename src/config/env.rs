//! Reading the `LIGHTAPI_*` variables: each one parsed to its typed value,
//! or an error naming it.

use std::net::IpAddr;
use std::time::Duration;

use super::{
    Config, ConfigError, DatabaseUrl, JwtSecret, LogFormat, LogLevel, RateLimit, RateLimitConfig,
    RateLimitKey, RedisFailure, Synchronous,
};
use crate::cors::Cors;

/// The configuration the variables `lookup` returns describe, over the
/// defaults.
pub(super) fn read(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    read_over(Config::default(), lookup)
}

/// `base` with each setting whose variable `lookup` returns replaced by
/// the variable's value; the others keep `base`'s.
pub(super) fn read_over(
    base: Config,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut c = base;
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    if let Some(v) = get("LIGHTAPI_HOST") {
        c.server.host = parse_host(&v)?;
    }
    if let Some(v) = get("LIGHTAPI_PORT") {
        c.server.port = parse_num("LIGHTAPI_PORT", &v, 0, u64::from(u16::MAX))? as u16;
    }
    if let Some(v) = get("LIGHTAPI_WORKERS") {
        c.server.workers = parse_num("LIGHTAPI_WORKERS", &v, 1, 1024)? as usize;
    }
    if let Some(v) = get("LIGHTAPI_REACTORS") {
        c.server.reactors = parse_num("LIGHTAPI_REACTORS", &v, 1, 256)? as usize;
    }
    if let Some(v) = get("LIGHTAPI_TRUSTED_PROXIES") {
        c.server.trusted_proxies = v
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.parse()
                    .map_err(|e: crate::http::CidrError| ConfigError::Invalid {
                        variable: "LIGHTAPI_TRUSTED_PROXIES",
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(v) = get("LIGHTAPI_DATABASE_URL") {
        c.database.url = DatabaseUrl::new(&v)?;
    }
    if let Some(v) = get("LIGHTAPI_DATABASE_POOL") {
        c.database.pool = parse_num("LIGHTAPI_DATABASE_POOL", &v, 1, 1024)? as usize;
    }
    if let Some(v) = get("LIGHTAPI_SQLITE_SYNCHRONOUS") {
        c.database.sqlite_synchronous = match v.trim().to_ascii_lowercase().as_str() {
            "normal" => Synchronous::Normal,
            "full" => Synchronous::Full,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: "LIGHTAPI_SQLITE_SYNCHRONOUS",
                    reason: format!("{v:?} is not normal or full"),
                })
            }
        };
    }
    if let Some(v) = lookup("LIGHTAPI_JWT_SECRET") {
        c.jwt.secrets = parse_secrets(&v)?;
    }
    if let Some(v) = get("LIGHTAPI_JWT_TTL_SECS") {
        c.jwt.ttl = Duration::from_secs(parse_num("LIGHTAPI_JWT_TTL_SECS", &v, 1, 31_536_000)?);
    }
    if let Some(v) = get("LIGHTAPI_JWT_LEEWAY_SECS") {
        c.jwt.leeway = Duration::from_secs(parse_num("LIGHTAPI_JWT_LEEWAY_SECS", &v, 0, 86_400)?);
    }
    if let Some(v) = get("LIGHTAPI_JWT_ISSUER") {
        c.jwt.issuer = Some(v);
    }
    if let Some(v) = get("LIGHTAPI_JWT_AUDIENCE") {
        c.jwt.audience = Some(v);
    }
    if let Some(v) = get("LIGHTAPI_LOGIN_PER_MINUTE") {
        c.login.per_minute = parse_num("LIGHTAPI_LOGIN_PER_MINUTE", &v, 1, 1_000_000)? as u32;
    }
    if let Some(v) = get("LIGHTAPI_LOGIN_PER_HOUR") {
        c.login.per_hour = parse_num("LIGHTAPI_LOGIN_PER_HOUR", &v, 1, 100_000_000)? as u32;
    }
    c.rate_limit = read_rate_limit(&get, c.rate_limit)?;
    if let Some(cors) = read_cors(&get)? {
        c.cors = Some(cors);
    }
    if let Some(v) = get("LIGHTAPI_LOG") {
        c.log = v.parse::<LogLevel>()?;
    }
    if let Some(v) = get("LIGHTAPI_LOG_FORMAT") {
        c.log_format = v.parse::<LogFormat>()?;
    }
    if let Some(v) = get("LIGHTAPI_METRICS_PATH") {
        let path = v.trim();
        if !path.starts_with('/') {
            return Err(ConfigError::Invalid {
                variable: "LIGHTAPI_METRICS_PATH",
                reason: format!("{v:?} is not a path starting with /"),
            });
        }
        c.metrics.path = Some(path.to_owned());
    }
    if let Some(v) = get("LIGHTAPI_SCHEMA_ADD_COLUMNS") {
        c.database.add_columns = parse_bool("LIGHTAPI_SCHEMA_ADD_COLUMNS", &v)?;
    }
    if let Some(v) = get("LIGHTAPI_METRICS_PUBLIC") {
        c.metrics.public = parse_bool("LIGHTAPI_METRICS_PUBLIC", &v)?;
    }
    let sizes: [(&'static str, &mut usize, u64); 9] = [
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
        (
            "LIGHTAPI_MAX_BUFFERED_BODY_BYTES",
            &mut c.limits.max_buffered_body_bytes,
            1 << 40,
        ),
        (
            "LIGHTAPI_MAX_PAGE_BYTES",
            &mut c.limits.max_page_bytes,
            1 << 40,
        ),
        (
            "LIGHTAPI_MAX_BULK_ITEMS",
            &mut c.limits.max_bulk_items,
            1 << 20,
        ),
        (
            "LIGHTAPI_MAX_UNSENT_BYTES",
            &mut c.limits.max_unsent_bytes,
            1 << 40,
        ),
    ];
    for (name, slot, max) in sizes {
        if let Some(v) = get(name) {
            *slot = parse_num(name, &v, 1, max)? as usize;
        }
    }
    if let Some(v) = get("LIGHTAPI_MIN_SEND_RATE") {
        c.timeouts.min_send_rate = parse_num("LIGHTAPI_MIN_SEND_RATE", &v, 0, 1 << 40)?;
    }
    let times: [(&'static str, &mut Duration); 9] = [
        ("LIGHTAPI_HEADER_TIMEOUT_MS", &mut c.timeouts.header_read),
        ("LIGHTAPI_BODY_TIMEOUT_MS", &mut c.timeouts.body_read),
        ("LIGHTAPI_IDLE_TIMEOUT_MS", &mut c.timeouts.idle),
        ("LIGHTAPI_WRITE_TIMEOUT_MS", &mut c.timeouts.write),
        (
            "LIGHTAPI_SEND_RATE_GRACE_MS",
            &mut c.timeouts.send_rate_grace,
        ),
        ("LIGHTAPI_SHUTDOWN_TIMEOUT_MS", &mut c.timeouts.shutdown),
        ("LIGHTAPI_QUERY_TIMEOUT_MS", &mut c.timeouts.query),
        (
            "LIGHTAPI_DATABASE_CONNECT_TIMEOUT_MS",
            &mut c.database.connect_timeout,
        ),
        (
            "LIGHTAPI_DATABASE_SOCKET_TIMEOUT_MS",
            &mut c.database.socket_timeout,
        ),
    ];
    for (name, slot) in times {
        if let Some(v) = get(name) {
            *slot = Duration::from_millis(parse_num(name, &v, 1, 86_400_000)?);
        }
    }
    Ok(c)
}

fn read_rate_limit(
    get: &impl Fn(&str) -> Option<String>,
    base: RateLimitConfig,
) -> Result<RateLimitConfig, ConfigError> {
    let mut r = base;
    let key = match get("LIGHTAPI_RATE_LIMIT_KEY") {
        None => RateLimitKey::Address,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "address" => RateLimitKey::Address,
            "subject" => RateLimitKey::Subject,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: "LIGHTAPI_RATE_LIMIT_KEY",
                    reason: format!("{v:?} is not address or subject"),
                })
            }
        },
    };
    match get("LIGHTAPI_RATE_LIMIT") {
        Some(v) => r.default = Some(v.parse::<RateLimit>()?.by(key)),
        None if get("LIGHTAPI_RATE_LIMIT_KEY").is_some() && r.default.is_some() => {
            r.default = r.default.take().map(|d| d.by(key));
        }
        None if get("LIGHTAPI_RATE_LIMIT_KEY").is_some() => {
            return Err(ConfigError::Invalid {
                variable: "LIGHTAPI_RATE_LIMIT_KEY",
                reason: "set without LIGHTAPI_RATE_LIMIT, the limit it would key".into(),
            })
        }
        None => {}
    }
    if let Some(v) = get("LIGHTAPI_RATE_LIMIT_MAX_KEYS") {
        r.max_keys = parse_num("LIGHTAPI_RATE_LIMIT_MAX_KEYS", &v, 1, 1 << 32)? as usize;
    }
    if let Some(v) = get("LIGHTAPI_RATE_LIMIT_REDIS_URL") {
        let v = v.trim();
        if !v.starts_with("redis://") {
            return Err(ConfigError::Invalid {
                variable: "LIGHTAPI_RATE_LIMIT_REDIS_URL",
                reason: "expected redis://host[:port][/db]".into(),
            });
        }
        r.redis_url = Some(v.to_owned());
    }
    if let Some(v) = get("LIGHTAPI_RATE_LIMIT_REDIS_PREFIX") {
        r.redis_prefix = v.trim().to_owned();
    }
    if let Some(v) = get("LIGHTAPI_RATE_LIMIT_REDIS_TIMEOUT_MS") {
        r.redis_timeout = Duration::from_millis(parse_num(
            "LIGHTAPI_RATE_LIMIT_REDIS_TIMEOUT_MS",
            &v,
            1,
            60_000,
        )?);
    }
    if let Some(v) = get("LIGHTAPI_RATE_LIMIT_REDIS_FAILURE") {
        r.redis_failure = match v.trim().to_ascii_lowercase().as_str() {
            "open" => RedisFailure::Open,
            "closed" => RedisFailure::Closed,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: "LIGHTAPI_RATE_LIMIT_REDIS_FAILURE",
                    reason: format!("{v:?} is not open or closed"),
                })
            }
        };
    }
    Ok(r)
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

fn parse_bool(variable: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ConfigError::Invalid {
            variable,
            reason: format!("{v:?} is not true or false"),
        }),
    }
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

fn parse_secrets(v: &str) -> Result<Vec<JwtSecret>, ConfigError> {
    v.split(',')
        .map(|s| JwtSecret::new(s.trim().as_bytes().to_vec()))
        .collect()
}

/// The CORS variables: `LIGHTAPI_CORS_ORIGINS` (origins separated by
/// commas, or `*`) turns CORS on; `LIGHTAPI_CORS_ALLOW_HEADERS` and
/// `LIGHTAPI_CORS_EXPOSE_HEADERS` add header names to the defaults,
/// `LIGHTAPI_CORS_CREDENTIALS` (`true`/`false`) and
/// `LIGHTAPI_CORS_MAX_AGE_SECS` set the rest. Any of the others without
/// origins is an error: it would do nothing.
fn read_cors(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Cors>, ConfigError> {
    const OTHERS: [&str; 4] = [
        "LIGHTAPI_CORS_ALLOW_HEADERS",
        "LIGHTAPI_CORS_EXPOSE_HEADERS",
        "LIGHTAPI_CORS_CREDENTIALS",
        "LIGHTAPI_CORS_MAX_AGE_SECS",
    ];
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let Some(origins) = get("LIGHTAPI_CORS_ORIGINS") else {
        return match OTHERS.into_iter().find(|name| get(name).is_some()) {
            Some(variable) => Err(ConfigError::Invalid {
                variable,
                reason: "has no effect without LIGHTAPI_CORS_ORIGINS".to_owned(),
            }),
            None => Ok(None),
        };
    };
    let mut cors = list(&origins)
        .iter()
        .fold(Cors::new(), |c, o| c.allow_origin(o));
    let invalid = |variable: &'static str, e: crate::cors::CorsError| ConfigError::Invalid {
        variable,
        reason: e.to_string(),
    };
    cors.validate()
        .map_err(|e| invalid("LIGHTAPI_CORS_ORIGINS", e))?;
    if let Some(v) = get("LIGHTAPI_CORS_ALLOW_HEADERS") {
        cors = list(&v).iter().fold(cors, |c, h| c.allow_header(h));
        cors.validate()
            .map_err(|e| invalid("LIGHTAPI_CORS_ALLOW_HEADERS", e))?;
    }
    if let Some(v) = get("LIGHTAPI_CORS_EXPOSE_HEADERS") {
        cors = list(&v).iter().fold(cors, |c, h| c.expose_header(h));
        cors.validate()
            .map_err(|e| invalid("LIGHTAPI_CORS_EXPOSE_HEADERS", e))?;
    }
    if let Some(v) = get("LIGHTAPI_CORS_CREDENTIALS") {
        let yes = match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: "LIGHTAPI_CORS_CREDENTIALS",
                    reason: format!("{v:?} is not true or false"),
                })
            }
        };
        cors = cors.allow_credentials(yes);
        cors.validate()
            .map_err(|e| invalid("LIGHTAPI_CORS_CREDENTIALS", e))?;
    }
    if let Some(v) = get("LIGHTAPI_CORS_MAX_AGE_SECS") {
        cors = cors.max_age_secs(parse_num("LIGHTAPI_CORS_MAX_AGE_SECS", &v, 0, 86_400)?);
    }
    Ok(Some(cors))
}

/// Checks the shape of a database URL: a known scheme and a database named.
pub(super) fn validate_database_url(url: &str) -> Result<(), ConfigError> {
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
        read(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        assert!(env(&[]).unwrap().server.trusted_proxies.is_empty());
        let c = env(&[("LIGHTAPI_TRUSTED_PROXIES", "10.0.0.0/8, ::1,")]).unwrap();
        assert_eq!(c.server.trusted_proxies.len(), 2);
        assert!(c.server.trusted_proxies[0].contains("10.2.3.4".parse().unwrap()));
        let e = env(&[("LIGHTAPI_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")]).unwrap_err();
        assert!(e.to_string().contains("LIGHTAPI_TRUSTED_PROXIES"), "{e}");
        assert!(e.to_string().contains("proxy.local"), "{e}");
    }

    #[test]
    fn cors_is_configured_from_the_environment() {
        let c = env(&[
            (
                "LIGHTAPI_CORS_ORIGINS",
                "https://app.example, http://localhost:3000",
            ),
            ("LIGHTAPI_CORS_ALLOW_HEADERS", "X-Tenant, Prefer"),
            ("LIGHTAPI_CORS_EXPOSE_HEADERS", "X-Total,Preference-Applied"),
            ("LIGHTAPI_CORS_CREDENTIALS", "true"),
            ("LIGHTAPI_CORS_MAX_AGE_SECS", "7200"),
        ])
        .unwrap();
        let want = Cors::new()
            .allow_origin("https://app.example")
            .allow_origin("http://localhost:3000")
            .allow_header("X-Tenant")
            .allow_header("Prefer")
            .expose_header("X-Total")
            .expose_header("Preference-Applied")
            .allow_credentials(true)
            .max_age_secs(7200);
        assert_eq!(c.cors, Some(want));
        let only = env(&[("LIGHTAPI_CORS_ORIGINS", "*")]).unwrap();
        assert_eq!(only.cors, Some(Cors::new().allow_origin("*")));
        for (pairs, variable, says) in [
            (
                vec![
                    ("LIGHTAPI_CORS_ORIGINS", "*"),
                    ("LIGHTAPI_CORS_CREDENTIALS", "true"),
                ],
                "LIGHTAPI_CORS_CREDENTIALS",
                "cannot be combined with credentials",
            ),
            (
                vec![("LIGHTAPI_CORS_CREDENTIALS", "true")],
                "LIGHTAPI_CORS_CREDENTIALS",
                "without LIGHTAPI_CORS_ORIGINS",
            ),
            (
                vec![
                    ("LIGHTAPI_CORS_ORIGINS", "https://a.example"),
                    ("LIGHTAPI_CORS_ALLOW_HEADERS", "X Tenant"),
                ],
                "LIGHTAPI_CORS_ALLOW_HEADERS",
                "not a header name",
            ),
            (
                vec![
                    ("LIGHTAPI_CORS_ORIGINS", "https://a.example"),
                    ("LIGHTAPI_CORS_MAX_AGE_SECS", "forever"),
                ],
                "LIGHTAPI_CORS_MAX_AGE_SECS",
                "whole number",
            ),
        ] {
            let line = env(&pairs).unwrap_err().to_string();
            assert!(line.starts_with(variable), "{line}");
            assert!(line.contains(says), "{line}");
        }
    }

    #[test]
    fn defaults() {
        let c = env(&[]).unwrap();
        assert_eq!(c.server.bind_addr().to_string(), "127.0.0.1:8000");
        assert_eq!(c.database.url.as_str(), "sqlite://lightapi.db");
        assert_eq!(c.limits.max_head_bytes, 8192);
        assert_eq!(c.limits.max_body_bytes, 1 << 20);
        assert_eq!(c.limits.max_headers, 100);
        assert_eq!(c.limits.max_uri_bytes, 8192);
        assert_eq!(c.limits.max_page_bytes, 1 << 20);
        assert_eq!(c.limits.max_unsent_bytes, 64 << 20);
        assert_eq!(c.timeouts.min_send_rate, 4096);
        assert_eq!(c.timeouts.send_rate_grace, Duration::from_secs(10));
        assert_eq!(c.database.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.database.socket_timeout, Duration::from_secs(15));
        assert!(c.jwt.secrets.is_empty());
        assert!(c.cors.is_none());
        assert_eq!(c.log, LogLevel::Info);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.metrics.path, None);
        assert!(!c.metrics.public);
    }

    #[test]
    fn metrics_and_log_format_variables() {
        let c = env(&[
            ("LIGHTAPI_LOG_FORMAT", "JSON"),
            ("LIGHTAPI_METRICS_PATH", "/metrics"),
            ("LIGHTAPI_METRICS_PUBLIC", "true"),
        ])
        .unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.metrics.path.as_deref(), Some("/metrics"));
        assert!(c.metrics.public);
    }

    #[test]
    fn rate_limits_are_configured_from_the_environment() {
        let c = env(&[]).unwrap();
        assert_eq!(c.rate_limit, RateLimitConfig::default());
        assert_eq!(c.rate_limit.max_keys, 100_000);
        assert_eq!(c.rate_limit.redis_timeout, Duration::from_millis(50));
        assert_eq!(c.rate_limit.redis_failure, RedisFailure::Open);
        let c = env(&[
            ("LIGHTAPI_RATE_LIMIT", "100/60s"),
            ("LIGHTAPI_RATE_LIMIT_KEY", "Subject"),
            ("LIGHTAPI_RATE_LIMIT_MAX_KEYS", "500"),
            ("LIGHTAPI_RATE_LIMIT_REDIS_URL", "redis://127.0.0.1:6379/2"),
            ("LIGHTAPI_RATE_LIMIT_REDIS_PREFIX", "app1:"),
            ("LIGHTAPI_RATE_LIMIT_REDIS_TIMEOUT_MS", "20"),
            ("LIGHTAPI_RATE_LIMIT_REDIS_FAILURE", "closed"),
        ])
        .unwrap();
        let r = c.rate_limit;
        assert_eq!(
            r.default,
            Some(RateLimit::per_minute(100).by(RateLimitKey::Subject))
        );
        assert_eq!(r.max_keys, 500);
        assert_eq!(r.redis_url.as_deref(), Some("redis://127.0.0.1:6379/2"));
        assert_eq!(r.redis_prefix, "app1:");
        assert_eq!(r.redis_timeout, Duration::from_millis(20));
        assert_eq!(r.redis_failure, RedisFailure::Closed);
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
            ("LIGHTAPI_LOG_FORMAT", "xml"),
            ("LIGHTAPI_METRICS_PATH", "metrics"),
            ("LIGHTAPI_METRICS_PUBLIC", "yes"),
            ("LIGHTAPI_MAX_BODY_BYTES", "-1"),
            ("LIGHTAPI_IDLE_TIMEOUT_MS", "soon"),
            ("LIGHTAPI_MAX_PAGE_BYTES", "0"),
            ("LIGHTAPI_MAX_UNSENT_BYTES", "lots"),
            ("LIGHTAPI_MIN_SEND_RATE", "-5"),
            ("LIGHTAPI_SEND_RATE_GRACE_MS", "0"),
            ("LIGHTAPI_CORS_ORIGINS", "example.com"),
            ("LIGHTAPI_CORS_CREDENTIALS", "true"),
            ("LIGHTAPI_CORS_MAX_AGE_SECS", "600"),
            ("LIGHTAPI_SQLITE_SYNCHRONOUS", "sometimes"),
            ("LIGHTAPI_DATABASE_CONNECT_TIMEOUT_MS", "0"),
            ("LIGHTAPI_DATABASE_SOCKET_TIMEOUT_MS", "5s"),
            ("LIGHTAPI_RATE_LIMIT", "100 per minute"),
            ("LIGHTAPI_RATE_LIMIT_KEY", "token"),
            ("LIGHTAPI_RATE_LIMIT_KEY", "subject"),
            ("LIGHTAPI_RATE_LIMIT_MAX_KEYS", "0"),
            ("LIGHTAPI_RATE_LIMIT_REDIS_URL", "127.0.0.1:6379"),
            ("LIGHTAPI_RATE_LIMIT_REDIS_TIMEOUT_MS", "0"),
            ("LIGHTAPI_RATE_LIMIT_REDIS_FAILURE", "maybe"),
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
            (
                "LIGHTAPI_CORS_ORIGINS",
                "https://a.example, http://b.example:8080",
            ),
            ("LIGHTAPI_SQLITE_SYNCHRONOUS", "FULL"),
            ("LIGHTAPI_MAX_PAGE_BYTES", "65536"),
            ("LIGHTAPI_MAX_BULK_ITEMS", "50"),
            ("LIGHTAPI_MAX_UNSENT_BYTES", "1048576"),
            ("LIGHTAPI_MIN_SEND_RATE", "0"),
            ("LIGHTAPI_SEND_RATE_GRACE_MS", "2500"),
            ("LIGHTAPI_DATABASE_CONNECT_TIMEOUT_MS", "750"),
            ("LIGHTAPI_DATABASE_SOCKET_TIMEOUT_MS", "20000"),
        ])
        .unwrap();
        assert_eq!(c.database.connect_timeout, Duration::from_millis(750));
        assert_eq!(c.database.socket_timeout, Duration::from_secs(20));
        assert_eq!(c.server.port, 0);
        assert_eq!(c.server.workers, 3);
        assert_eq!(c.jwt.secrets.len(), 2);
        assert_eq!(c.timeouts.idle, Duration::from_millis(250));
        assert_eq!(c.database.sqlite_synchronous, Synchronous::Full);
        assert_eq!(c.limits.max_page_bytes, 65536);
        assert_eq!(c.limits.max_bulk_items, 50);
        assert_eq!(c.limits.max_unsent_bytes, 1 << 20);
        assert_eq!(c.timeouts.min_send_rate, 0);
        assert_eq!(c.timeouts.send_rate_grace, Duration::from_millis(2500));
        assert!(c.cors.is_some());
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }
}
