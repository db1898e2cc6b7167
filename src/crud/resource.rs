//! Generated REST resources: a [`Model`] exposed over HTTP (SPEC §3).
//!
//! A model registered at `/person` serves the collection route `/person`
//! (`GET` list, `POST` create) and the item route `/person/{id}` (`GET`,
//! `PUT`, `PATCH`, `DELETE`), each with automatic `HEAD` and `OPTIONS`.
//! [`Resource`] restricts the verbs, sets their permissions, and lets a
//! custom [`Endpoint`] take over some verbs while the rest stay generated.

use crate::crud::tables::Tables;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::auth::Access;
use crate::backend::sql::{Keyset, ListQuery, Order};
use crate::backend::Backend;
use crate::backend::Dialect;
use crate::crud::cursor::{CursorKey, Position};
use crate::crud::ops::{self, scope_for, Precondition, Record};
use crate::crud::query::{parse_list_query, ListRequest, Paging, QueryRules};
use crate::crud::validate::{validate_create, validate_patch, validate_replace};
use crate::crud::validate::{FieldError, Row};
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
    rules: QueryRules,
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
            rules: QueryRules::default(),
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
    ///
    /// The endpoint must list its verbs with [`Endpoint::methods`]: one that
    /// does not is refused at start-up, since its handlers would otherwise
    /// never run and the generated ones would answer in their place.
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

    /// Fields clients may filter on (`?field=`, `?field__gte=`, …).
    #[must_use]
    pub fn filter_fields(mut self, fields: &[&str]) -> Resource {
        self.rules.filter = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// Text fields `?search=` looks in (case-insensitive substring).
    #[must_use]
    pub fn search_fields(mut self, fields: &[&str]) -> Resource {
        self.rules.search = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// Fields clients may order by (`?ordering=name,-price`).
    #[must_use]
    pub fn ordering_fields(mut self, fields: &[&str]) -> Resource {
        self.rules.ordering = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// The ordering when the client gives none, as in `?ordering=`
    /// (e.g. `"-created"`); `id` breaks ties.
    #[must_use]
    pub fn default_ordering(mut self, spec: &str) -> Resource {
        self.rules.default_ordering = spec
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| match k.strip_prefix('-') {
                Some(f) => Order {
                    field: f.to_string(),
                    descending: true,
                },
                None => Order {
                    field: k.to_string(),
                    descending: false,
                },
            })
            .collect();
        self
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The query whitelist.
    pub fn query_rules(&self) -> &QueryRules {
        &self.rules
    }

    /// Default and largest page size.
    pub fn page_sizes(&self) -> (u64, u64) {
        (self.page_size, self.max_page_size)
    }

    /// The verbs offered on the collection (`false`) or item (`true`) route.
    pub fn offered(&self, item: bool) -> MethodSet {
        let mut allowed = offered(self.methods.as_deref(), &self.exclude)
            .intersect(CrudService::serves(item).with(Method::Head));
        if allowed.contains(Method::Get) {
            allowed = allowed.with(Method::Head);
        }
        allowed.with(Method::Options)
    }

    /// The permission `method` requires.
    pub fn access_of(&self, method: Method) -> Access {
        self.access_for(method)
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
        let undeclared = resource
            .endpoint
            .as_ref()
            .is_some_and(|e| e.methods().is_none());
        let mut registration = Registration::resource(resource);
        if undeclared {
            registration.error = Some(
                "the endpoint given to Resource::endpoint must list the verbs it takes over \
                 with Endpoint::methods"
                    .to_owned(),
            );
        }
        registration
    }
}

/// The generated operations of one registered model, for custom endpoints
/// tied to it (see [`Resource::endpoint`]).
pub struct Crud {
    model: Model,
    backend: Arc<dyn Backend>,
    page_size: u64,
    max_page_size: u64,
    rules: QueryRules,
    cursor_key: CursorKey,
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

    /// The query whitelist.
    pub fn query_rules(&self) -> &QueryRules {
        &self.rules
    }

    /// Default and largest page size.
    pub fn page_sizes(&self) -> (u64, u64) {
        (self.page_size, self.max_page_size)
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
        self.storable(&row)?;
        let record = ops::create(&*self.backend, &self.model, row, self.scope(req)?.as_ref())?;
        let base = req.path().trim_end_matches('/');
        let location = format!("{base}/{}", record.id);
        Ok(record_response(StatusCode::CREATED, record).with_header("Location", location))
    }

    /// `GET /collection`: one page of rows, filtered, searched and ordered
    /// as the query asks (see [`crate::crud::query`]).
    ///
    /// # Errors
    /// `400` naming the parameter for anything outside the whitelist, a
    /// value of the wrong type, or an altered cursor.
    pub fn list(&self, req: &Request) -> HandlerResult {
        let lr = parse_list_query(
            &self.model,
            &self.rules,
            req.query(),
            self.page_size,
            self.max_page_size,
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let scope = self.scope(req)?;
        let body = match &lr.paging {
            &Paging::Page { page, size } => {
                let query = ListQuery {
                    filters: lr.filters.clone(),
                    order: lr.order.clone(),
                    limit: Some(size),
                    offset: (page - 1).saturating_mul(size),
                    after: None,
                };
                let rows = ops::list(&*self.backend, &self.model, &query, scope.as_ref())?;
                let count = ops::count(&*self.backend, &self.model, &lr.filters, scope.as_ref())?;
                let pages = count.div_ceil(size).max(1);
                let link =
                    |p: u64| Value::from(link_with(req, &[("page", &p.to_string())], &["cursor"]));
                json!({
                    "count": count,
                    "pages": pages,
                    "next": if page < pages { link(page + 1) } else { Value::Null },
                    "previous": if page > 1 { link((page - 1).min(pages)) } else { Value::Null },
                    "results": project(rows, lr.fields.as_deref()),
                })
            }
            Paging::Cursor { token, size } => {
                self.keyset_page(req, &lr, token.as_deref(), *size, scope.as_ref())?
            }
        };
        Ok(body.into())
    }

    fn keyset_page(
        &self,
        req: &Request,
        lr: &ListRequest,
        token: Option<&str>,
        size: u64,
        scope: Option<&Scope>,
    ) -> Result<Value, ApiError> {
        let mut order = lr.order.clone();
        if !order.iter().any(|o| o.field == "id") {
            order.push(Order {
                field: "id".into(),
                descending: false,
            });
        }
        let signature: Vec<String> = order
            .iter()
            .map(|o| format!("{}{}", if o.descending { "-" } else { "" }, o.field))
            .collect();
        let signature = signature.join(",");
        let bad_cursor =
            || ApiError::bad_request("query parameter `cursor`: invalid or altered cursor");
        let position = token
            .map(|t| self.cursor_key.decode(&signature, t))
            .transpose()
            .map_err(|_| bad_cursor())?;
        let backwards = position.as_ref().is_some_and(|p| p.backwards);
        let after = match &position {
            None => None,
            Some(p) => {
                if p.values.len() != order.len() {
                    return Err(bad_cursor());
                }
                let mut values = Vec::with_capacity(order.len());
                for (o, v) in order.iter().zip(&p.values) {
                    values.push(self.typed(&o.field, v).ok_or_else(bad_cursor)?);
                }
                Some(Keyset { values, id: p.id })
            }
        };
        let query_order: Vec<Order> = if backwards {
            order
                .iter()
                .map(|o| Order {
                    field: o.field.clone(),
                    descending: !o.descending,
                })
                .collect()
        } else {
            order.clone()
        };
        let query = ListQuery {
            filters: lr.filters.clone(),
            order: query_order,
            limit: Some(size.saturating_add(1)),
            offset: 0,
            after,
        };
        let mut rows = ops::list(&*self.backend, &self.model, &query, scope)?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        if backwards {
            rows.reverse();
        }
        let cursor_at = |r: &Record, backwards: bool| -> Value {
            let values = order
                .iter()
                .map(|o| {
                    if o.field == "id" {
                        Value::from(r.id)
                    } else {
                        r.fields.get(&o.field).cloned().unwrap_or(Value::Null)
                    }
                })
                .collect();
            let pos = Position {
                values,
                id: r.id,
                backwards,
            };
            let token = self.cursor_key.encode(&signature, &pos);
            Value::from(link_with(req, &[("cursor", &token)], &["page"]))
        };
        let (has_next, has_previous) = if backwards {
            (true, more)
        } else {
            (more, position.is_some())
        };
        let next = match rows.last() {
            Some(r) if has_next => cursor_at(r, false),
            _ => Value::Null,
        };
        let previous = match rows.first() {
            Some(r) if has_previous => cursor_at(r, true),
            _ => Value::Null,
        };
        Ok(json!({
            "next": next,
            "previous": previous,
            "results": project(rows, lr.fields.as_deref()),
        }))
    }

    /// Refuses values the database cannot store as sent: PostgreSQL text
    /// and JSONB cannot hold U+0000, so such a field is a `422` naming it
    /// rather than a silently altered value.
    fn storable(&self, row: &Row) -> Result<(), ApiError> {
        if self.backend.dialect() != Dialect::Postgres {
            return Ok(());
        }
        let errors: Vec<FieldError> = row
            .values()
            .iter()
            .filter(|(_, v)| match v {
                crate::backend::Value::Text(t) => t.contains('\0'),
                crate::backend::Value::Json(j) => json_has_nul(j),
                _ => false,
            })
            .map(|(name, _)| FieldError {
                field: name.clone(),
                message: "the database cannot store the character U+0000 (NUL)".into(),
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation { errors })
        }
    }

    /// A cursor value back in the column's type.
    fn typed(&self, field: &str, v: &Value) -> Option<crate::backend::Value> {
        match self.model.field_named(field) {
            Some(f) => f.to_value(v).ok(),
            None => v.as_i64().map(crate::backend::Value::Integer),
        }
    }

    /// `GET /collection/{id}`: the row with its `ETag`; `304` when
    /// `If-None-Match` matches.
    ///
    /// # Errors
    /// `404` for an id that is not a positive integer or no such row.
    pub fn get(&self, req: &Request) -> HandlerResult {
        let id = path_id(req)?;
        // The query is checked first: a bad one is a 400 even when the row
        // is missing or the answer would be a 304.
        if let Some(name) = req.query().iter().map(|(n, _)| n).find(|n| *n != "fields") {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{name}`"
            )));
        }
        // Only `fields` is left; the list parser refuses it repeated.
        let fields = parse_list_query(&self.model, &self.rules, req.query(), 1, 1)
            .map_err(|e| ApiError::bad_request(e.to_string()))?
            .fields;
        let record = ops::get(&*self.backend, &self.model, id, self.scope(req)?.as_ref())?
            .ok_or_else(|| not_found(&self.model, id))?;
        if let Some(inm) = req.header("if-none-match") {
            if none_match_hits(inm, &record.etag) {
                return Ok(Response::new(StatusCode::NOT_MODIFIED).with_header("ETag", record.etag));
            }
        }
        let etag = record.etag.clone();
        let body = project(vec![record], fields.as_deref())
            .pop()
            .unwrap_or(Value::Null);
        Ok(Response::json(StatusCode::OK, &body).with_header("ETag", etag))
    }

    /// `PUT` (full replace) or `PATCH` (partial) of `/collection/{id}`,
    /// conditional on `If-Match`.
    ///
    /// # Errors
    /// `404`, `412`, `428`, `409`, `400`/`415`/`422` as SPEC §3 says.
    pub fn update(&self, req: &Request, partial: bool) -> HandlerResult {
        let id = path_id(req)?;
        let precondition = precondition(req);
        let scope = self.scope(req)?;
        // Preconditions are evaluated before the content is processed
        // (RFC 9110 §13.2.1): when the body is refused too, the request is
        // answered for its precondition first.
        let row = match self.valid_row(req, partial) {
            Ok(row) => row,
            Err(e) => {
                return Err(self
                    .precondition_alone(id, &precondition, scope.as_ref())
                    .unwrap_or(e))
            }
        };
        let record = ops::patch(
            &*self.backend,
            &self.model,
            id,
            row,
            precondition,
            scope.as_ref(),
        )
        .map_err(|e| self.write_error(id, e))?;
        Ok(record_response(StatusCode::OK, record))
    }

    /// The body of a `PUT` or `PATCH` as a row to store. PUT and PATCH
    /// differ only in validation: a replace row carries every writable
    /// field, a patch row only those sent.
    fn valid_row(&self, req: &Request, partial: bool) -> Result<Row, ApiError> {
        let body = req.json()?;
        let row = if partial {
            validate_patch(&self.model, &body)?
        } else {
            validate_replace(&self.model, &body)?
        };
        self.storable(&row)?;
        Ok(row)
    }

    /// What a write's precondition alone answers, for a request whose
    /// content was refused: `404` for a missing row, `428` without a
    /// required `If-Match`, `412` when it does not match; `None` when there
    /// is no precondition or it holds, so the content's error stands.
    fn precondition_alone(
        &self,
        id: i64,
        precondition: &Precondition,
        scope: Option<&Scope>,
    ) -> Option<ApiError> {
        if *precondition == Precondition::None && !self.model.requires_if_match() {
            return None;
        }
        ops::check_precondition(&*self.backend, &self.model, id, precondition, scope)
            .err()
            .map(|e| self.write_error(id, e))
    }

    /// The answer to a failed write on row `id`.
    fn write_error(&self, id: i64, e: ops::CrudError) -> ApiError {
        match e {
            ops::CrudError::NotFound => not_found(&self.model, id),
            e => e.into(),
        }
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
        .map_err(|e| self.write_error(id, e))?;
        Ok(Response::new(StatusCode::NO_CONTENT))
    }
}

fn json_has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(json_has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// The rows as JSON objects, with only `fields` when projected.
fn project(rows: Vec<Record>, fields: Option<&[String]>) -> Vec<Value> {
    rows.into_iter()
        .map(|r| match fields {
            None => Value::Object(r.fields),
            Some(keep) => Value::Object(
                r.fields
                    .into_iter()
                    .filter(|(k, _)| keep.iter().any(|f| f == k))
                    .collect(),
            ),
        })
        .collect()
}

/// The request's path and query with `set` parameters replaced and
/// `drop` parameters removed, percent-encoded.
fn link_with(req: &Request, set: &[(&str, &str)], drop: &[&str]) -> String {
    let mut out = req.path().to_string();
    let mut sep = '?';
    let mut push = |out: &mut String, name: &str, value: &str| {
        out.push(sep);
        sep = '&';
        encode_component(out, name);
        out.push('=');
        encode_component(out, value);
    };
    for (name, value) in req.query() {
        if set.iter().any(|(n, _)| n == name) || drop.contains(&name.as_str()) {
            continue;
        }
        push(&mut out, name, value);
    }
    for (name, value) in set {
        push(&mut out, name, value);
    }
    out
}

fn encode_component(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
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
    /// Answers 503 until the model's table is in place.
    tables: Arc<Tables>,
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
        self.tables.check()?;
        if let Some((endpoint, verbs)) = &self.endpoint {
            if verbs.contains(method) {
                return match method {
                    Method::Get | Method::Head => endpoint.get(req),
                    Method::Post => endpoint.post(req),
                    Method::Put => endpoint.put(req),
                    Method::Patch => endpoint.patch(req),
                    Method::Delete => endpoint.delete(req),
                    Method::Options => Err(ApiError::method_not_allowed()),
                };
            }
        }
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

    fn crud(&self) -> Option<&Arc<Crud>> {
        Some(&self.crud)
    }

    fn doc(&self) -> crate::openapi::RouteDoc<'_> {
        if self.item {
            crate::openapi::RouteDoc::Item(&self.crud)
        } else {
            crate::openapi::RouteDoc::Collection(&self.crud)
        }
    }
}

/// Builds the two routes of a resource: `("", collection)` and
/// `("/{id}", item)`.
pub(crate) fn build_routes(
    resource: Resource,
    backend: Arc<dyn Backend>,
    tables: Arc<Tables>,
    cursor_key: CursorKey,
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
        rules: resource.rules,
        cursor_key,
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
                tables: Arc::clone(&tables),
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
