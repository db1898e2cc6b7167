//! The file's settings over the defaults, then the `LIGHTAPI_*` variables
//! over the file: one [`Config`].

use std::net::IpAddr;
use std::time::Duration;

use toml::Spanned;

use super::declare::{invalid, reason, Lookup};
use super::env::{has_reference, substitute};
use super::file::{FileDoc, FileError, RateKey, Synchronous};
use crate::config::{Config, DatabaseUrl, JwtSecret, LogFormat, LogLevel, RateLimit, RateLimitKey};
use crate::cors::Cors;
use crate::http::Cidr;

/// The configuration `doc` sets, with `lookup` for `${VAR}` and the
/// `LIGHTAPI_*` overrides.
pub(super) fn settings(doc: &FileDoc, lookup: Lookup<'_>) -> Result<Config, FileError> {
    let mut config = Config::default();
    apply_server(doc, &mut config)?;
    apply_limits(doc, &mut config)?;
    apply_database(doc, &mut config, lookup)?;
    apply_jwt(doc, &mut config, lookup)?;
    apply_rest(doc, &mut config, lookup)?;
    config
        .over_lookup(lookup)
        .map_err(|e| FileError::key("environment", e.to_string()))
}

fn apply_server(doc: &FileDoc, c: &mut Config) -> Result<(), FileError> {
    let s = &doc.server;
    if let Some(host) = &s.host {
        c.server.host = host
            .get_ref()
            .trim()
            .parse::<IpAddr>()
            .map_err(|_| invalid(host, "server.host", "not an IP address"))?;
    }
    if let Some(port) = s.port {
        c.server.port = port;
    }
    for (value, key, slot, max) in [
        (&s.workers, "server.workers", &mut c.server.workers, 1024),
        (&s.reactors, "server.reactors", &mut c.server.reactors, 256),
    ] {
        if let Some(v) = value {
            if *v.get_ref() == 0 || *v.get_ref() > max {
                return Err(invalid(v, key, format!("must be from 1 to {max}")));
            }
            *slot = *v.get_ref();
        }
    }
    if let Some(proxies) = &s.trusted_proxies {
        c.server.trusted_proxies = proxies
            .iter()
            .map(|p| {
                p.get_ref()
                    .parse::<Cidr>()
                    .map_err(|e| invalid(p, "server.trusted_proxies", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}

/// `value` when it is from `min` to `max`, else an error at it.
pub(super) fn within(
    value: &Option<Spanned<u64>>,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, FileError> {
    match value {
        None => Ok(None),
        Some(v) if (min..=max).contains(v.get_ref()) => Ok(Some(*v.get_ref())),
        Some(v) => Err(invalid(v, key, format!("must be from {min} to {max}"))),
    }
}

/// The longest time a file setting may name: one day, in milliseconds.
const MAX_MS: u64 = 86_400_000;

fn apply_limits(doc: &FileDoc, c: &mut Config) -> Result<(), FileError> {
    let l = &doc.limits;
    // The ranges of the matching LIGHTAPI_* variables.
    let limits = [
        (
            &l.max_body_bytes,
            "max_body_bytes",
            &mut c.limits.max_body_bytes,
            1 << 40,
        ),
        (
            &l.max_head_bytes,
            "max_head_bytes",
            &mut c.limits.max_head_bytes,
            1 << 20,
        ),
        (
            &l.max_headers,
            "max_headers",
            &mut c.limits.max_headers,
            10_000,
        ),
        (
            &l.max_uri_bytes,
            "max_uri_bytes",
            &mut c.limits.max_uri_bytes,
            1 << 20,
        ),
        (
            &l.max_connections,
            "max_connections",
            &mut c.limits.max_connections,
            1 << 22,
        ),
        (
            &l.max_buffered_body_bytes,
            "max_buffered_body_bytes",
            &mut c.limits.max_buffered_body_bytes,
            1 << 40,
        ),
        (
            &l.max_page_bytes,
            "max_page_bytes",
            &mut c.limits.max_page_bytes,
            1 << 40,
        ),
        (
            &l.max_unsent_bytes,
            "max_unsent_bytes",
            &mut c.limits.max_unsent_bytes,
            1 << 40,
        ),
        (
            &l.max_pending_write_bytes,
            "max_pending_write_bytes",
            &mut c.limits.max_pending_write_bytes,
            1 << 40,
        ),
    ];
    for (value, key, slot, max) in limits {
        if let Some(v) = within(value, &format!("limits.{key}"), 1, max)? {
            *slot = usize::try_from(v).unwrap_or(usize::MAX);
        }
    }
    let t = &doc.timeouts;
    let d = &doc.database;
    let times = [
        (
            &t.header_ms,
            "timeouts.header_ms",
            &mut c.timeouts.header_read,
        ),
        (&t.body_ms, "timeouts.body_ms", &mut c.timeouts.body_read),
        (&t.idle_ms, "timeouts.idle_ms", &mut c.timeouts.idle),
        (&t.write_ms, "timeouts.write_ms", &mut c.timeouts.write),
        (
            &t.shutdown_ms,
            "timeouts.shutdown_ms",
            &mut c.timeouts.shutdown,
        ),
        (&t.query_ms, "timeouts.query_ms", &mut c.timeouts.query),
        (
            &t.send_rate_grace_ms,
            "timeouts.send_rate_grace_ms",
            &mut c.timeouts.send_rate_grace,
        ),
        (
            &d.connect_timeout_ms,
            "database.connect_timeout_ms",
            &mut c.database.connect_timeout,
        ),
        (
            &d.socket_timeout_ms,
            "database.socket_timeout_ms",
            &mut c.database.socket_timeout,
        ),
    ];
    for (value, key, slot) in times {
        if let Some(ms) = within(value, key, 1, MAX_MS)? {
            *slot = Duration::from_millis(ms);
        }
    }
    if let Some(rate) = within(&t.min_send_rate, "timeouts.min_send_rate", 0, 1 << 40)? {
        c.timeouts.min_send_rate = rate;
    }
    Ok(())
}

fn apply_database(doc: &FileDoc, c: &mut Config, lookup: Lookup<'_>) -> Result<(), FileError> {
    let d = &doc.database;
    if let Some(url) = &d.url {
        let text =
            substitute(url.get_ref(), lookup).map_err(|e| invalid(url, "database.url", e))?;
        c.database.url =
            DatabaseUrl::new(&text).map_err(|e| invalid(url, "database.url", reason(e)))?;
    }
    if let Some(pool) = &d.pool {
        if *pool.get_ref() == 0 || *pool.get_ref() > 1024 {
            return Err(invalid(pool, "database.pool", "must be from 1 to 1024"));
        }
        c.database.pool = *pool.get_ref();
    }
    if let Some(add) = d.add_columns {
        c.database.add_columns = add;
    }
    if let Some(s) = d.sqlite_synchronous {
        c.database.sqlite_synchronous = match s {
            Synchronous::Normal => crate::config::Synchronous::Normal,
            Synchronous::Full => crate::config::Synchronous::Full,
        };
    }
    Ok(())
}

fn apply_jwt(doc: &FileDoc, c: &mut Config, lookup: Lookup<'_>) -> Result<(), FileError> {
    let j = &doc.jwt;
    let secrets: Vec<&Spanned<String>> = match (&j.secret, &j.secrets) {
        (Some(_), Some(list)) => {
            return Err(FileError::at(
                list.first().map_or(0..0, Spanned::span),
                "jwt",
                "secret and secrets are alternatives: write one",
            ))
        }
        (Some(one), None) => vec![one],
        (None, Some(list)) => list.iter().collect(),
        (None, None) => Vec::new(),
    };
    let mut out = Vec::new();
    for s in secrets {
        if !j.allow_literal_secret && !has_reference(s.get_ref()) {
            return Err(invalid(
                s,
                "jwt.secret",
                "a secret written in the file is refused: take it from the environment \
                 with \"${VARIABLE}\" (or set allow_literal_secret = true)",
            ));
        }
        let text = substitute(s.get_ref(), lookup).map_err(|e| invalid(s, "jwt.secret", e))?;
        if text.is_empty() {
            // `${VAR:-}` with the variable unset: no secret from the file.
            continue;
        }
        out.push(
            JwtSecret::new(text.into_bytes()).map_err(|e| invalid(s, "jwt.secret", reason(e)))?,
        );
    }
    if !out.is_empty() {
        c.jwt.secrets = out;
    }
    if let Some(ttl) = within(&j.ttl_secs, "jwt.ttl_secs", 1, 31_536_000)? {
        c.jwt.ttl = Duration::from_secs(ttl);
    }
    if let Some(leeway) = within(&j.leeway_secs, "jwt.leeway_secs", 0, 86_400)? {
        c.jwt.leeway = Duration::from_secs(leeway);
    }
    if let Some(v) = &j.issuer {
        c.jwt.issuer =
            Some(substitute(v.get_ref(), lookup).map_err(|e| invalid(v, "jwt.issuer", e))?);
    }
    if let Some(v) = &j.audience {
        c.jwt.audience =
            Some(substitute(v.get_ref(), lookup).map_err(|e| invalid(v, "jwt.audience", e))?);
    }
    Ok(())
}

fn apply_rest(doc: &FileDoc, c: &mut Config, lookup: Lookup<'_>) -> Result<(), FileError> {
    if let Some(login) = &doc.login {
        if let Some(n) = within(&login.per_minute, "login.per_minute", 1, 1_000_000)? {
            c.login.per_minute = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = within(&login.per_hour, "login.per_hour", 1, 100_000_000)? {
            c.login.per_hour = u32::try_from(n).unwrap_or(u32::MAX);
        }
    }
    if let Some(cors) = &doc.cors {
        let mut out = Cors::new();
        for o in &cors.origins {
            out = out.allow_origin(o);
        }
        for h in &cors.allow_headers {
            out = out.allow_header(h);
        }
        for h in &cors.expose_headers {
            out = out.expose_header(h);
        }
        if let Some(yes) = cors.credentials {
            out = out.allow_credentials(yes);
        }
        if let Some(secs) = within(&cors.max_age_secs, "cors.max_age_secs", 0, 86_400)? {
            out = out.max_age_secs(secs);
        }
        out.validate()
            .map_err(|e| FileError::key("cors", e.to_string()))?;
        c.cors = Some(out);
    }
    if let Some(level) = &doc.log.level {
        c.log = level
            .get_ref()
            .parse::<LogLevel>()
            .map_err(|e| invalid(level, "log.level", reason(e)))?;
    }
    if let Some(format) = &doc.log.format {
        c.log_format = format
            .get_ref()
            .parse::<LogFormat>()
            .map_err(|e| invalid(format, "log.format", reason(e)))?;
    }
    if let Some(path) = &doc.metrics.path {
        if !path.get_ref().starts_with('/') {
            return Err(invalid(path, "metrics.path", "not a path starting with /"));
        }
        c.metrics.path = Some(path.get_ref().clone());
    }
    if let Some(public) = doc.metrics.public {
        c.metrics.public = public;
    }
    let r = &doc.rate_limit;
    if let Some(limit) = &r.default {
        let key = match r.key.unwrap_or(RateKey::Address) {
            RateKey::Address => RateLimitKey::Address,
            RateKey::Subject => RateLimitKey::Subject,
        };
        c.rate_limit.default = Some(
            limit
                .get_ref()
                .parse::<RateLimit>()
                .map_err(|e| invalid(limit, "rate_limit.default", reason(e)))?
                .by(key),
        );
    } else if r.key.is_some() {
        return Err(FileError::key(
            "rate_limit.key",
            "set without rate_limit.default, the limit it would key",
        ));
    }
    if let Some(n) = within(&r.max_keys, "rate_limit.max_keys", 1, 1 << 32)? {
        c.rate_limit.max_keys = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(url) = &r.redis_url {
        let text = substitute(url.get_ref(), lookup)
            .map_err(|e| invalid(url, "rate_limit.redis_url", e))?;
        if !text.starts_with("redis://") {
            return Err(invalid(
                url,
                "rate_limit.redis_url",
                "expected redis://host[:port][/db]",
            ));
        }
        c.rate_limit.redis_url = Some(text);
    }
    if let Some(prefix) = &r.redis_prefix {
        c.rate_limit.redis_prefix = prefix.clone();
    }
    if let Some(ms) = within(
        &r.redis_timeout_ms,
        "rate_limit.redis_timeout_ms",
        1,
        60_000,
    )? {
        c.rate_limit.redis_timeout = Duration::from_millis(ms);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::declare::plan;
    use crate::cli::file::parse;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_literal_secret_is_refused_unless_allowed() {
        let text = "[jwt]\nsecret = \"0123456789abcdef0123456789abcdef\"\n";
        let err = plan(parse(text).unwrap(), &no_env).unwrap_err();
        assert!(err.message.contains("refused"), "{err:?}");
        assert!(err.render("f", text).starts_with("f:2:10: jwt.secret:"));
        let allowed = format!("{text}allow_literal_secret = true\n");
        let p = plan(parse(&allowed).unwrap(), &no_env).unwrap();
        assert_eq!(p.config.jwt.secrets.len(), 1);
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let text = "[server]\nport = 9000\nworkers = 3\n";
        let env = |n: &str| (n == "LIGHTAPI_PORT").then(|| "0".to_owned());
        let p = plan(parse(text).unwrap(), &env).unwrap();
        assert_eq!(p.config.server.port, 0);
        assert_eq!(p.config.server.workers, 3);
    }

    #[test]
    fn numbers_out_of_range_are_placed() {
        let text = "[timeouts]\nidle_ms = 0\n";
        let shown = plan(parse(text).unwrap(), &no_env)
            .unwrap_err()
            .render("f", text);
        assert_eq!(
            shown,
            "f:2:11: timeouts.idle_ms: must be from 1 to 86400000"
        );
        let text = "[limits]\nmax_headers = 10001\n";
        let shown = plan(parse(text).unwrap(), &no_env)
            .unwrap_err()
            .render("f", text);
        assert!(shown.starts_with("f:2:15: limits.max_headers:"), "{shown}");
        let text = "[limits]\nmax_body_bytes = 65536\n[timeouts]\nquery_ms = 2500\n";
        let p = plan(parse(text).unwrap(), &no_env).unwrap();
        assert_eq!(p.config.limits.max_body_bytes, 65536);
        assert_eq!(p.config.timeouts.query, Duration::from_millis(2500));
    }
}
