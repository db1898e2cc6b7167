//! `[models.NAME]` tables to models and their resources, and the
//! `[login]` table's columns checked against them.

use std::time::Duration;

use super::declare::{invalid, reason, Declared};
use super::file::{AccessLevel, FieldDecl, FileError, LoginDecl, MethodName, ModelDecl, OnDelete};
use super::settings::within;
use crate::auth::Access;
use crate::config::RateLimit;
use crate::http::Method;
use crate::model::{Field, Model, OnDelete as ModelOnDelete};
use crate::resource::Resource;

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
    with_options(declared_type(model, name, d)?, model, name, d)
}

/// The field of the type `d` declares, without its options.
pub(super) fn declared_type(model: &str, name: &str, d: &FieldDecl) -> Result<Field, FileError> {
    let key = format!("models.{model}.fields.{name}");
    let kind = d.kind.get_ref().trim();
    Ok(match kind {
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
    })
}

/// `out` with the options `d` declares.
pub(super) fn with_options(
    mut out: Field,
    model: &str,
    name: &str,
    d: &FieldDecl,
) -> Result<Field, FileError> {
    let key = format!("models.{model}.fields.{name}");
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

pub(super) fn resource(name: &str, d: ModelDecl) -> Result<Resource, FileError> {
    let mut model = Model::new(d.table.as_deref().unwrap_or(name));
    for (field_name, f) in &d.fields.0 {
        model = model.field(field_name, field(name, field_name, f)?);
    }
    resource_with(model, name, &d)
}

/// The resource of `model` (its fields in place) with the other keys of
/// `[models.NAME]`.
pub(super) fn resource_with(
    mut model: Model,
    name: &str,
    d: &ModelDecl,
) -> Result<Resource, FileError> {
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
    if let Some(key) = d.primary_key.as_ref().filter(|_| d.reflect) {
        // A reflected model's key is its table's.
        if model.key_column() != key.get_ref() {
            return Err(invalid(
                key,
                &format!("models.{name}.primary_key"),
                format!(
                    "`{}` is not the primary key of table `{}` (`{}` is)",
                    key.get_ref(),
                    model.name(),
                    model.key_column()
                ),
            ));
        }
    } else if let Some(key) = &d.primary_key {
        let at = format!("models.{name}.primary_key");
        if !d.fields.0.iter().any(|(n, _)| n == key.get_ref()) {
            return Err(invalid(
                key,
                &at,
                format!("`{}` is not a field of the model", key.get_ref()),
            ));
        }
        model = model.primary_key(key.get_ref());
        if let Err(e @ crate::model::ModelError::InvalidKey { .. }) = model.check() {
            return Err(invalid(key, &at, e.to_string()));
        }
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
    if !d.expandable.is_empty() {
        let relations: Vec<&str> = d.expandable.iter().map(|r| r.get_ref().as_str()).collect();
        r = r.expandable(&relations);
    }
    if let Some(limit) = within(
        &d.embed_limit,
        &format!("models.{name}.embed_limit"),
        1,
        10_000,
    )? {
        r = r.embed_limit(limit);
    }
    if let Some(items) = within(&d.max_bulk, &format!("models.{name}.max_bulk"), 1, 100_000)? {
        r = r.max_bulk(usize::try_from(items).unwrap_or(usize::MAX));
    }
    Ok(r)
}

/// The model's `[[models.NAME.nested]]` routes: each path with its
/// foreign key.
pub(super) fn nested_routes(name: &str, d: &ModelDecl) -> Result<Vec<(String, String)>, FileError> {
    d.nested
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let path = n.path.get_ref();
            if !path.starts_with('/') || !path.split('/').any(|s| s == "{id}") {
                return Err(invalid(
                    &n.path,
                    &format!("models.{name}.nested[{i}].path"),
                    format!("{path:?} must start with / and hold an {{id}} segment for the parent"),
                ));
            }
            Ok((path.clone(), n.foreign_key.get_ref().clone()))
        })
        .collect()
}

/// The login's table and columns: the table, when a declared model, must
/// have the claim columns as fields.
pub(super) fn check_login(login: &LoginDecl, resources: &[Declared]) -> Result<(), FileError> {
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
    use crate::cli::declare::plan;
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
    fn a_primary_key_names_a_field_of_a_key_type() {
        let text = "[models.thing]\nprimary_key = \"code\"\n[models.thing.fields]\ncode = { type = \"text\" }\n";
        let p = plan(parse(text).unwrap(), &no_env).unwrap();
        let m = p.resources[0].resource.model();
        assert_eq!(m.key_column(), "code");
        assert_eq!(m.key_type(), crate::model::FieldType::Text);
        let text = "[models.thing]\nprimary_key = \"nope\"\n[models.thing.fields]\ncode = { type = \"text\" }\n";
        let shown = plan(parse(text).unwrap(), &no_env)
            .unwrap_err()
            .render("f", text);
        assert!(
            shown.starts_with("f:2:15: models.thing.primary_key:"),
            "{shown}"
        );
        assert!(shown.contains("`nope` is not a field"), "{shown}");
        let text = "[models.thing]\nprimary_key = \"at\"\n[models.thing.fields]\nat = { type = \"datetime\" }\n";
        let shown = plan(parse(text).unwrap(), &no_env)
            .unwrap_err()
            .render("f", text);
        assert!(
            shown.starts_with("f:2:15: models.thing.primary_key:"),
            "{shown}"
        );
        assert!(shown.contains("integer, text or uuid"), "{shown}");
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
}
