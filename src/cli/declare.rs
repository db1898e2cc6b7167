//! From the parsed file to what the Rust API declares: the configuration
//! (file over the defaults, then the `LIGHTAPI_*` variables over the file)
//! and the models with their resources.

use std::net::IpAddr;
use std::time::Duration;

use toml::Spanned;

use super::env::{has_reference, substitute};
use super::file::{
    AccessLevel, FieldDecl, FileDoc, FileError, LoginDecl, MethodName, ModelDecl, OnDelete,
    RateKey, Synchronous,
};
use crate::auth::Access;
use crate::config::{Config, DatabaseUrl, JwtSecret, LogFormat, LogLevel, RateLimit, RateLimitKey};
use crate::cors::Cors;
use crate::http::{Cidr, Method};
use crate::model::{Field, Model, OnDelete as ModelOnDelete};
use crate::resource::Resource;

/// Everything the file declares, ready to build an application from.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) config: Config,
    pub(crate) openapi: OpenApiInfo,
    /// Each model with its route, in the file's order.
    pub(crate) resources: Vec<Declared>,
    pub(crate) login: Option<LoginDecl>,
}

/// One `[models.NAME]`.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) path: String,
    pub(crate) resource: Resource,
}

/// `[openapi]` with its defaults filled.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpenApiInfo {
    pub(crate) title: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) license: Option<(String, String)>,
    pub(crate) servers: Vec<String>,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The plan `doc` declares, with `lookup` for `${VAR}` and the
/// `LIGHTAPI_*` overrides.
pub(crate) fn plan(doc: FileDoc, lookup: Lookup<'_>) -> Result<Plan, FileError> {
    let mut config = Config::default();
    apply_server(&doc, &mut config)?;
    apply_limits(&doc, &mut config)?;
    apply_database(&doc, &mut config, lookup)?;
    apply_jwt(&doc, &mut config, lookup)?;
    apply_rest(&doc, &mut config, lookup)?;
    let config = config
        .over_lookup(lookup)
        .map_err(|e| FileError::key("environment", e.to_string()))?;
    let o = doc.openapi;
    let license = match (o.license_name, o.license_id) {
        (Some(n), Some(i)) => Some((n, i)),
        (None, None) => None,
        _ => {
            return Err(FileError::key(
                "openapi",
                "license_name and license_id go together",
            ))
        }
    };
    let openapi = OpenApiInfo {
        title: o.title,
        version: o.version,
        description: o.description,
        license,
        servers: o.servers,
    };
    let mut resources = Vec::new();
    for (name, model) in doc.models.0 {
        let decl = model;
        let path = decl.path.clone().unwrap_or_else(|| format!("/{name}"));
        if !path.starts_with('/') {
            return Err(FileError::key(
                format!("models.{name}.path"),
                format!("{path:?} does not start with /"),
            ));
        }
        let resource = resource(&name, decl)?;
        resources.push(Declared { path, resource });
    }
    let models: Vec<Model> = resources
        .iter()
        .map(|d| d.resource.model().clone())
        .collect();
    crate::model::check_models(&models).map_err(|e| FileError::key("models", e.to_string()))?;
    if let Some(login) = &doc.login {
        check_login(login, &resources)?;
    }
    Ok(Plan {
        config,
        openapi,
        resources,
        login: doc.login,
    })
}

fn invalid<T>(value: &Spanned<T>, key: &str, message: impl Into<String>) -> FileError {
    FileError::at(value.span(), key, message)
}

/// A `ConfigError`'s reason, without the variable it names.
fn reason(e: impl ToString) -> String {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((var, rest)) if var.starts_with("LIGHTAPI_") => rest.to_owned(),
        _ => text,
    }
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
fn within(
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

fn method(m: MethodName) -> Method {
    match m {
        MethodName::Get => Method::Get,
        MethodName::Post => Method::Post,
        MethodName::Put => Method::Put,
        MethodName::Patch => Method::Patch,
        MethodName::Delete => Method::Delete,
    }
}

fn access(a: AccessLevel) -> Access {
    match a {
        AccessLevel::Public => Access::Public,
        AccessLevel::Authenticated => Access::Authenticated,
        AccessLevel::Admin => Access::Admin,
    }
}

/// The field types the file names, for messages.
const TYPES: &str = "integer, float, text, boolean, datetime, json, uuid, date, decimal(p,s)";

fn field(model: &str, name: &str, d: &FieldDecl) -> Result<Field, FileError> {
    let key = format!("models.{model}.fields.{name}");
    let kind = d.kind.get_ref().trim();
    let mut out = match kind {
        "integer" => Field::integer(),
        "float" => Field::float(),
        "text" => Field::text(),
        "boolean" => Field::boolean(),
        "datetime" => Field::datetime(),
        "json" => Field::json(),
        "uuid" => Field::uuid(),
        "date" => Field::date(),
        _ => match decimal_digits(kind) {
            Some((p, s)) => Field::decimal(p, s),
            None => {
                return Err(invalid(
                    &d.kind,
                    &format!("{key}.type"),
                    format!("unknown type {kind:?}, expected one of: {TYPES}"),
                ))
            }
        },
    };
    if d.nullable {
        out = out.nullable();
    }
    if let Some(v) = &d.default {
        out = out.default(v.clone());
    }
    if d.unique {
        out = out.unique();
    }
    if d.unique_in_scope {
        out = out.unique_in_scope();
    }
    if d.index {
        out = out.index();
    }
    if let Some(n) = d.max_length {
        out = out.max_length(n);
    }
    if let Some(n) = d.min_length {
        out = out.min_length(n);
    }
    if let Some(v) = &d.min {
        out = out.min(v.clone());
    }
    if let Some(v) = &d.max {
        out = out.max(v.clone());
    }
    if let Some(values) = &d.choices {
        out = out.choices(values);
    }
    if let Some(p) = &d.pattern {
        out = out.pattern(p);
    }
    if let Some(table) = &d.references {
        out = out.references(table);
    }
    if let Some(rule) = d.on_delete {
        out = out.on_delete(match rule {
            OnDelete::Restrict => ModelOnDelete::Restrict,
            OnDelete::Cascade => ModelOnDelete::Cascade,
            OnDelete::SetNull => ModelOnDelete::SetNull,
        });
    }
    if d.read_only {
        out = out.read_only();
    }
    if d.write_only {
        out = out.write_only();
    }
    let server_set = usize::from(d.set_on_create)
        + usize::from(d.set_on_write)
        + usize::from(d.from_claim.is_some());
    if server_set > 1 {
        return Err(FileError::key(
            key,
            "set_on_create, set_on_write and from_claim are alternatives: write one",
        ));
    }
    if d.set_on_create {
        out = out.set_on_create();
    }
    if d.set_on_write {
        out = out.set_on_write();
    }
    if let Some(claim) = &d.from_claim {
        out = out.from_claim(claim);
    }
    Ok(out)
}

/// `decimal(p,s)` → `(p, s)`.
fn decimal_digits(kind: &str) -> Option<(u32, u32)> {
    let inner = kind.strip_prefix("decimal")?.trim().strip_prefix('(')?;
    let inner = inner.strip_suffix(')')?;
    let (p, s) = inner.split_once(',')?;
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

fn names(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn resource(name: &str, d: ModelDecl) -> Result<Resource, FileError> {
    let mut model = Model::new(name);
    for (field_name, f) in &d.fields.0 {
        model = model.field(field_name, field(name, field_name, f)?);
    }
    if d.versioned {
        model = model.versioned();
    }
    if d.require_if_match {
        model = model.require_if_match();
    }
    if let Some(rule) = &d.scope {
        model = model.scope(&rule.column, &rule.claim);
    }
    if let Some(rule) = &d.restrict_writes {
        model = model.restrict_writes(&rule.column, &rule.claim);
    }
    let mut r = model.into_resource();
    if let Some(methods) = &d.methods {
        let list: Vec<Method> = methods.iter().copied().map(method).collect();
        r = r.methods(&list);
    }
    if !d.exclude.is_empty() {
        let list: Vec<Method> = d.exclude.iter().copied().map(method).collect();
        r = r.exclude(&list);
    }
    if let Some(a) = d.access.default {
        r = r.default_access(access(a));
    }
    for (level, m) in [
        (d.access.get, Method::Get),
        (d.access.post, Method::Post),
        (d.access.put, Method::Put),
        (d.access.patch, Method::Patch),
        (d.access.delete, Method::Delete),
    ] {
        if let Some(level) = level {
            r = r.access(m, access(level));
        }
    }
    if !d.filter_fields.is_empty() {
        r = r.filter_fields(&names(&d.filter_fields));
    }
    if !d.search_fields.is_empty() {
        r = r.search_fields(&names(&d.search_fields));
    }
    if !d.ordering_fields.is_empty() {
        r = r.ordering_fields(&names(&d.ordering_fields));
    }
    if let Some(spec) = &d.default_ordering {
        r = r.default_ordering(spec);
    }
    if d.page_size.is_some() || d.max_page_size.is_some() {
        let (default, max) = r.page_sizes();
        r = r.page_size(
            d.page_size.unwrap_or(default),
            d.max_page_size.unwrap_or(max),
        );
    }
    if let Some(secs) = within(
        &d.max_age_secs,
        &format!("models.{name}.max_age_secs"),
        0,
        31_536_000,
    )? {
        r = r.cache_max_age(Duration::from_secs(secs));
    }
    let limits = [
        (&d.rate_limit.get, Method::Get),
        (&d.rate_limit.post, Method::Post),
        (&d.rate_limit.put, Method::Put),
        (&d.rate_limit.patch, Method::Patch),
        (&d.rate_limit.delete, Method::Delete),
    ];
    for (limit, m) in limits {
        if let Some(text) = limit {
            let key = format!(
                "models.{name}.rate_limit.{}",
                m.as_str().to_ascii_lowercase()
            );
            let parsed = text
                .get_ref()
                .parse::<RateLimit>()
                .map_err(|e| invalid(text, &key, reason(e)))?;
            r = r.rate_limit(m, parsed);
        }
    }
    Ok(r)
}

/// The login's table and columns: the table, when a declared model, must
/// have the claim columns as fields.
fn check_login(login: &LoginDecl, resources: &[Declared]) -> Result<(), FileError> {
    for (value, key) in [
        (&login.table, "login.table"),
        (&login.username_column, "login.username_column"),
        (&login.password_column, "login.password_column"),
    ] {
        crate::model::check_identifier(value.get_ref())
            .map_err(|e| invalid(value, key, e.to_string()))?;
    }
    let model = resources
        .iter()
        .map(|d| d.resource.model())
        .find(|m| m.name() == login.table.get_ref());
    for (claim, column) in &login.claims.0 {
        crate::model::check_identifier(column.get_ref())
            .map_err(|e| invalid(column, &format!("login.claims.{claim}"), e.to_string()))?;
        if matches!(
            claim.as_str(),
            "sub" | "exp" | "iat" | "nbf" | "iss" | "aud"
        ) {
            return Err(invalid(
                column,
                &format!("login.claims.{claim}"),
                "a registered claim the server sets itself",
            ));
        }
        if let Some(m) = model {
            if m.field_named(column.get_ref()).is_none() {
                return Err(invalid(
                    column,
                    &format!("login.claims.{claim}"),
                    format!("model `{}` has no field `{}`", m.name(), column.get_ref()),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::file::parse;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn decimal_types_parse() {
        assert_eq!(decimal_digits("decimal(10,2)"), Some((10, 2)));
        assert_eq!(decimal_digits("decimal( 19 , 4 )"), Some((19, 4)));
        assert_eq!(decimal_digits("decimal"), None);
        assert_eq!(decimal_digits("decimal(1)"), None);
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

    #[test]
    fn a_bad_model_rate_limit_is_placed() {
        let text = "[models.p]\nrate_limit = { post = \"ten\" }\n";
        let shown = plan(parse(text).unwrap(), &no_env)
            .unwrap_err()
            .render("f", text);
        assert!(
            shown.starts_with("f:2:23: models.p.rate_limit.post:"),
            "{shown}"
        );
    }

    #[test]
    fn an_unknown_type_lists_the_types() {
        let text = "[models.p.fields]\nname = { type = \"string\" }\n";
        let err = plan(parse(text).unwrap(), &no_env).unwrap_err();
        let shown = err.render("f", text);
        assert!(
            shown.starts_with("f:2:17: models.p.fields.name.type:"),
            "{shown}"
        );
        assert!(shown.contains("decimal(p,s)"), "{shown}");
    }

    #[test]
    fn a_model_mistake_names_the_model() {
        let text = "[models.p.fields]\nname = { type = \"text\", max_length = 0 }\n";
        let err = plan(parse(text).unwrap(), &no_env).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("models"));
        assert!(err.message.contains("model `p`"), "{err:?}");
    }
}
