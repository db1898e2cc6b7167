//! Generated REST resources: a [`Model`] exposed over HTTP (SPEC §3).
//!
//! A model registered at `/person` serves the collection route `/person`
//! (`GET` list, `POST` create) and the item route `/person/{id}` (`GET`,
//! `PUT`, `PATCH`, `DELETE`), each with automatic `HEAD` and `OPTIONS`.
//! [`Resource`] restricts the verbs, sets their permissions, and lets a
//! custom [`Endpoint`] take over some verbs while the rest stay generated.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::auth::Access;
use crate::backend::sql::ListQuery;
use crate::backend::Backend;
use crate::crud::ops::{self, scope_for, Precondition, Record};
use crate::crud::validate::{validate_create, validate_patch, validate_replace};
use crate::crud::Scope;
use crate::endpoint::{offered, Endpoint, HandlerResult, Registration, Service};
use crate::error::ApiError;
use crate::http::method::{Method, MethodSet};
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::status::StatusCode;
use crate::model::Model;

/// Default number of rows in one page of a list.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A model plus how it is exposed: which verbs, who may call them, and
/// which verbs a custom endpoint handles instead.
///
/// ```
/// use lightapi::{Access, Field, Method, Model};
/// // A read-only, public catalogue.
/// let product = Model::new("product")
///     .field("title", Field::text())
///     .into_resource()
///     .methods(&[Method::Get])
///     .access(Method::Get, Access::Public);
/// # let _ = product;
/// ```
pub struct Resource {
    model: Model,
    methods: Option<Vec<Method>>,
    exclude: Vec<Method>,
    access: Vec<(Method, Access)>,
    default_access: Access,
    endpoint: Option<Arc<dyn Endpoint>>,
    page_size: u64,
    max_page_size: u64,
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("model", &self.model.name())
            .field("methods", &self.methods)
            .field("exclude", &self.exclude)
            .field("access", &self.access)
            .field("endpoint", &self.endpoint.is_some())
            .finish()
    }
}

impl Model {
    /// This model as a [`Resource`], to restrict or customise its routes.
    pub fn into_resource(self) -> Resource {
        Resource {
            model: self,
            methods: None,
            exclude: Vec::new(),
            access: Vec::new(),
            default_access: Access::Authenticated,
            endpoint: None,
            page_size: DEFAULT_PAGE_SIZE,
            max_page_size: MAX_PAGE_SIZE,
        }
    }
}

impl Resource {
    /// Offers only these verbs (the seed's `http_method_names`); the rest
    /// answer `405` with `Allow`.
    #[must_use]
    pub fn methods(mut self, methods: &[Method]) -> Resource {
        self.methods = Some(methods.to_vec());
        self
    }

    /// Withdraws these verbs (the seed's `http_exclude`).
    #[must_use]
    pub fn exclude(mut self, methods: &[Method]) -> Resource {
        self.exclude.extend_from_slice(methods);
        self
    }

    /// The permission `method` requires (default: any valid token).
    #[must_use]
    pub fn access(mut self, method: Method, access: Access) -> Resource {
        self.access.push((method, access));
        self
    }

    /// The permission of every verb not given one with [`Resource::access`].
    #[must_use]
    pub fn default_access(mut self, access: Access) -> Resource {
        self.default_access = access;
        self
    }

    /// Hands the verbs `endpoint.methods()` lists to `endpoint`; the others
    /// stay generated. Inside it, [`Request::crud`] runs the generated
    /// behaviour and [`Request::backend`] gives the database.
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Endpoint) -> Resource {
        self.endpoint = Some(Arc::new(endpoint));
        self
    }

    /// Page size when the client gives none, and the largest it may ask for.
    #[must_use]
    pub fn page_size(mut self, default: u64, max: u64) -> Resource {
        self.max_page_size = max.max(1);
        self.page_size = default.clamp(1, self.max_page_size);
        self
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    fn access_for(&self, method: Method) -> Access {
        self.access
            .iter()
            .rev()
            .find(|(m, _)| *m == method)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| self.default_access.clone())
    }
}

impl From<Model> for Registration {
    fn from(model: Model) -> Self {
        model.into_resource().into()
    }
}

impl From<Resource> for Registration {
    fn from(resource: Resource) -> Self {
        Registration::resource(resource)
    }
}

/// The generated operations of one registered model, for custom endpoints
/// tied to it (see [`Resource::endpoint`]).
pub struct Crud {
    model: Model,
    backend: Arc<dyn Backend>,
    page_size: u64,
    max_page_size: u64,
}

impl std::fmt::Debug for Crud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crud")
            .field("model", &self.model.name())
            .finish()
    }
}

impl Crud {
    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The database.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Runs the generated handler for `method` on `req` (collection route
    /// when `req` has no `id` parameter, item route otherwise).
    ///
    /// # Errors
    /// The generated behaviour's errors (SPEC §3).
    pub fn handle(&self, method: Method, req: &Request) -> HandlerResult {
        match (req.param("id").is_some(), method) {
            (false, Method::Get | Method::Head) => self.list(req),
            (false, Method::Post) => self.create(req),
            (true, Method::Get | Method::Head) => self.get(req),
            (true, Method::Put) => self.update(req, false),
            (true, Method::Patch) => self.update(req, true),
            (true, Method::Delete) => self.delete(req),
            _ => Err(ApiError::method_not_allowed()),
        }
    }

    fn scope(&self, req: &Request) -> Result<Option<Scope>, ApiError> {
        if self.model.scope_rule().is_none() {
            return Ok(None);
        }
        let claims = req
            .claims()
            .map(|c| Value::Object(c.as_map().clone()))
            .ok_or(ApiError::Unauthorized { token_sent: false })?;
        Ok(scope_for(&self.model, &claims)?)
    }

    /// `POST /collection`: `201`, the stored row, `Location`, `ETag`.
    ///
    /// # Errors
    /// `400`/`415` for a body that is not a JSON object, `422` for invalid
    /// fields, `409` for a constraint violation.
    pub fn create(&self, req: &Request) -> HandlerResult {
        let body = req.json()?;
        let row = validate_create(&self.model, &body)?;
        let record = ops::create(&*self.backend, &self.model, row, self.scope(req)?.as_ref())?;
        let base = req.path().trim_end_matches('/');
        let location = format!("{base}/{}", record.id);
        Ok(record_response(StatusCode::CREATED, record).with_header("Location", location))
    }

    /// `GET /collection`: one page of rows.
    ///
    /// # Errors
    /// `400` for a query parameter other than `page` and `page_size`, or a
    /// value that is not a positive integer.
    pub fn list(&self, req: &Request) -> HandlerResult {
        let mut page = 1u64;
        let mut page_size = self.page_size;
        for (name, value) in req.query() {
            let number = || -> Result<u64, ApiError> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("`{name}` must be a positive integer"))
                    })
            };
            match name.as_str() {
                "page" => page = number()?,
                "page_size" => {
                    page_size = number()?;
                    if page_size > self.max_page_size {
                        return Err(ApiError::bad_request(format!(
                            "`page_size` must be at most {}",
                            self.max_page_size
                        )));
                    }
                }
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown query parameter `{other}`"
                    )))
                }
            }
        }
        let scope = self.scope(req)?;
        let offset = (page - 1).saturating_mul(page_size);
        let query = ListQuery {
            limit: Some(page_size),
            offset,
            ..ListQuery::default()
        };
        let rows = ops::list(&*self.backend, &self.model, &query, scope.as_ref())?;
        let count = ops::count(&*self.backend, &self.model, &[], scope.as_ref())?;
        let pages = count.div_ceil(page_size).max(1);
        let link = |p: u64| {
            let base = req.path();
            Value::from(format!("{base}?page={p}&page_size={page_size}"))
        };
        let results: Vec<Value> = rows.into_iter().map(|r| Value::Object(r.fields)).collect();
        Ok(json!({
            "count": count,
            "pages": pages,
            "next": if page < pages { link(page + 1) } else { Value::Null },
            "previous": if page > 1 { link((page - 1).min(pages)) } else { Value::Null },
            "results": results,
        })
        .into())
    }

    /// `GET /collection/{id}`: the row with its `ETag`; `304` when
    /// `If-None-Match` matches.
    ///
    /// # Errors
    /// `404` for an id that is not a positive integer or no such row.
    pub fn get(&self, req: &Request) -> HandlerResult {
        let id = path_id(req)?;
        let record = ops::get(&*self.backend, &self.model, id, self.scope(req)?.as_ref())?
            .ok_or_else(|| not_found(&self.model, id))?;
        if let Some(inm) = req.header("if-none-match") {
            if none_match_hits(inm, &record.etag) {
                return Ok(Response::new(StatusCode::NOT_MODIFIED).with_header("ETag", record.etag));
            }
        }
        Ok(record_response(StatusCode::OK, record))
    }

    /// `PUT` (full replace) or `PATCH` (partial) of `/collection/{id}`,
    /// conditional on `If-Match`.
    ///
    /// # Errors
    /// `404`, `412`, `428`, `409`, `400`/`415`/`422` as SPEC §3 says.
    pub fn update(&self, req: &Request, partial: bool) -> HandlerResult {
        let id = path_id(req)?;
        let body = req.json()?;
        let precondition = precondition(req);
        let scope = self.scope(req)?;
        let record = if partial {
            let row = validate_patch(&self.model, &body)?;
            ops::patch(
                &*self.backend,
                &self.model,
                id,
                row,
                precondition,
                scope.as_ref(),
            )
        } else {
            let row = validate_replace(&self.model, &body)?;
            ops::replace(
                &*self.backend,
                &self.model,
                id,
                row,
                precondition,
                scope.as_ref(),
            )
        }
        .map_err(|e| match e {
            ops::CrudError::NotFound => not_found(&self.model, id),
            e => e.into(),
        })?;
        Ok(record_response(StatusCode::OK, record))
    }

    /// `DELETE /collection/{id}`: `204`, conditional on `If-Match`.
    ///
    /// # Errors
    /// `404`, `412`, `428`, or `409` when the row is still referenced.
    pub fn delete(&self, req: &Request) -> HandlerResult {
        let id = path_id(req)?;
        ops::delete(
            &*self.backend,
            &self.model,
            id,
            precondition(req),
            self.scope(req)?.as_ref(),
        )
        .map_err(|e| match e {
            ops::CrudError::NotFound => not_found(&self.model, id),
            e => e.into(),
        })?;
        Ok(Response::new(StatusCode::NO_CONTENT))
    }
}

fn not_found(model: &Model, id: i64) -> ApiError {
    ApiError::not_found(format!("no {} with id {id}", model.name()))
}

fn record_response(status: StatusCode, record: Record) -> Response {
    let Record { fields, etag, .. } = record;
    Response::json(status, &Value::Object(fields)).with_header("ETag", etag)
}

/// The `{id}` parameter: a positive integer in canonical form, else `404`.
fn path_id(req: &Request) -> Result<i64, ApiError> {
    let raw = req.param("id").unwrap_or("");
    let canonical = !raw.is_empty()
        && raw.len() <= 19
        && raw.bytes().all(|b| b.is_ascii_digit())
        && !raw.starts_with('0');
    canonical
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("`{raw}` is not the id of a row")))
}

fn precondition(req: &Request) -> Precondition {
    let tags: Vec<String> = req
        .headers()
        .get_all("if-match")
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if req.headers().contains("if-match") {
        Precondition::IfMatch(tags)
    } else {
        Precondition::None
    }
}

/// Weak comparison for `If-None-Match` (RFC 9110 §13.1.2).
fn none_match_hits(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// A generated route: the collection or the item route of one model.
pub(crate) struct CrudService {
    crud: Arc<Crud>,
    item: bool,
    allowed: MethodSet,
    access: [Access; 7],
    endpoint: Option<(Arc<dyn Endpoint>, MethodSet)>,
}

impl CrudService {
    fn serves(item: bool) -> MethodSet {
        if item {
            MethodSet::from_slice(&[Method::Get, Method::Put, Method::Patch, Method::Delete])
        } else {
            MethodSet::from_slice(&[Method::Get, Method::Post])
        }
    }
}

impl Service for CrudService {
    fn allowed(&self) -> MethodSet {
        self.allowed
    }

    fn call(&self, method: Method, req: &Request) -> HandlerResult {
        if let Some((endpoint, verbs)) = &self.endpoint {
            if verbs.contains(method) {
                let mut req = req.clone();
                req.crud = Some(Arc::clone(&self.crud));
                req.backend = Some(Arc::clone(&self.crud.backend));
                return match method {
                    Method::Get | Method::Head => endpoint.get(&req),
                    Method::Post => endpoint.post(&req),
                    Method::Put => endpoint.put(&req),
                    Method::Patch => endpoint.patch(&req),
                    Method::Delete => endpoint.delete(&req),
                    Method::Options => Err(ApiError::method_not_allowed()),
                };
            }
        }
        let _ = self.item;
        self.crud.handle(method, req)
    }

    fn access(&self, method: Method) -> Access {
        self.access
            .get(Method::ALL.iter().position(|m| *m == method).unwrap_or(0))
            .cloned()
            .unwrap_or_default()
    }

    fn inline(&self) -> bool {
        false
    }
}

/// Builds the two routes of a resource: `("", collection)` and
/// `("/{id}", item)`.
pub(crate) fn build_routes(
    resource: Resource,
    backend: Arc<dyn Backend>,
) -> Vec<(String, Arc<dyn Service>)> {
    let offered_verbs = offered(resource.methods.as_deref(), &resource.exclude);
    let access: [Access; 7] =
        Method::ALL.map(|m| resource.access_for(if m == Method::Head { Method::Get } else { m }));
    let endpoint = resource.endpoint.clone().map(|e| {
        let verbs = e
            .methods()
            .map(MethodSet::from_slice)
            .unwrap_or(MethodSet::EMPTY);
        (e, verbs)
    });
    let crud = Arc::new(Crud {
        model: resource.model,
        backend,
        page_size: resource.page_size,
        max_page_size: resource.max_page_size,
    });
    [false, true]
        .into_iter()
        .map(|item| {
            let mut allowed = offered_verbs.intersect(CrudService::serves(item).with(Method::Head));
            if allowed.contains(Method::Get) {
                allowed = allowed.with(Method::Head);
            }
            let service: Arc<dyn Service> = Arc::new(CrudService {
                crud: Arc::clone(&crud),
                item,
                allowed: allowed.with(Method::Options),
                access: access.clone(),
                endpoint: endpoint.clone(),
            });
            let suffix = if item { "/{id}" } else { "" };
            (suffix.to_string(), service)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_canonical_positive_integers() {
        let ok = |s: &str| path_id(&Request::new(Method::Get, "/x").with_param("id", s)).ok();
        assert_eq!(ok("1"), Some(1));
        assert_eq!(ok("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "0",
            "-1",
            "1e3",
            "01",
            "+1",
            "99999999999999999999",
            "",
            "1.0",
            " 1",
            "abc",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert!(none_match_hits("\"a\"", "\"a\""));
        assert!(none_match_hits("W/\"a\", \"b\"", "\"a\""));
        assert!(none_match_hits("*", "\"a\""));
        assert!(!none_match_hits("\"b\"", "\"a\""));
    }

    #[test]
    fn access_defaults_and_overrides() {
        let r = Model::new("t")
            .into_resource()
            .access(Method::Get, Access::Public)
            .default_access(Access::Admin);
        assert!(r.access_for(Method::Get).is_public());
        assert!(matches!(r.access_for(Method::Post), Access::Admin));
    }
}
