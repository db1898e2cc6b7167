//! The generated behaviour of one model's routes: requests to planned model
//! operations, their results to responses. Each handler is a plan (parse,
//! validate, build the database work) and a continuation (make the answer
//! from the work's result), so the same code answers on a worker thread,
//! waiting for the database, or on the event loop, with the work run by
//! the database's own threads.

use std::sync::Arc;

use serde_json::Value;

use super::conditional::{none_match_hits, path_id, precondition};
use super::page::{
    cursor_page, offset_page, rendered_offset_page, OffsetPage, RenderedRows, Shown, Start,
};
use super::render::{
    json_response, page_response, write_row, write_row_related, write_values, written_response,
    written_rows_response,
};
use crate::auth::{AuthError, Claims, ClaimsExt};
use crate::backend::sql::{Filter, FilterOp, ListQuery, Scope};
use crate::backend::{Backend, BackendError, Dialect};
use crate::crud::bulk::{self, Resolve, UpsertLimits, UpsertRow};
use crate::crud::cursor::CursorKey;
use crate::crud::etag::{etag_of, EtagKey};
use crate::crud::hooks::Hooks;
use crate::crud::images::RowImages;
use crate::crud::keyset::{self, KeysetRequest};
use crate::crud::ops::{self, Planned, Precondition, ReferenceCheck, RowSink, WithHooks};
use crate::crud::query::{parse_list_query, Paging, QueryRules};
use crate::crud::relations::{self, Catalog, Plan, Wanted};
use crate::crud::validate::{
    check_storable, validate_create, validate_items, validate_patch, validate_replace,
};
use crate::crud::{CrudError, FieldError, Row};
use crate::endpoint::{HandlerResult, Step};
use crate::error::ApiError;
use crate::http::prefer::{Preferences, Resolution};
use crate::http::{Method, Request, Response, StatusCode};
use crate::model::{Key, Model, ServerSet};

/// The generated operations of one registered model, for custom endpoints
/// tied to it (see [`Resource::endpoint`](super::Resource::endpoint)),
/// which reach it with [`ResourceExt::crud`].
pub struct Crud {
    model: Arc<Model>,
    backend: Arc<dyn Backend>,
    page_size: u64,
    max_page_size: u64,
    /// Most bytes of the rows of one list page.
    max_page_bytes: usize,
    rules: QueryRules,
    cursor_key: CursorKey,
    etag_key: EtagKey,
    references: Vec<ScopedReference>,
    by_id: ops::ById,
    /// Whether the model has fields the server sets.
    sets_fields: bool,
    /// The hooks of the generated writes, if any.
    hooks: Option<Hooks>,
    /// The relations of every registered model.
    relations: Arc<Catalog>,
    /// Most items of one bulk write.
    max_bulk: usize,
    /// The images conditional writes left of the model's rows, where a
    /// compare-and-set can use them (PostgreSQL).
    images: Option<Arc<RowImages>>,
}

/// A foreign key of a model into a scoped model, whose rows a caller may
/// only reference within their own scope there.
#[derive(Debug, Clone)]
pub(crate) struct ScopedReference {
    /// The foreign-key field.
    pub(crate) field: String,
    /// The referenced (scoped) model.
    pub(crate) target: Arc<Model>,
}

impl ScopedReference {
    /// The foreign keys of `model` into the scoped models among `models`.
    pub(crate) fn of(model: &Model, models: &[Model]) -> Vec<ScopedReference> {
        model
            .fields()
            .iter()
            .filter_map(|(name, f)| {
                let table = f.referenced_table()?;
                let target = models.iter().find(|m| m.name() == table)?;
                target.scope_rule()?;
                Some(ScopedReference {
                    field: name.clone(),
                    target: Arc::new(target.clone()),
                })
            })
            .collect()
    }
}

/// The generated operations of the model a route serves, on the requests
/// of its routes.
///
/// ```
/// use lightapi::resource::ResourceExt;
/// use lightapi::{Method, Request};
/// assert!(Request::new(Method::Get, "/").crud().is_none());
/// ```
pub trait ResourceExt {
    /// The model's generated operations, on a route of a registered model
    /// (including verbs a custom endpoint took over).
    fn crud(&self) -> Option<&Crud>;
}

impl ResourceExt for Request {
    fn crud(&self) -> Option<&Crud> {
        self.extension::<Crud>()
    }
}

impl std::fmt::Debug for Crud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crud")
            .field("model", &self.model.name())
            .finish()
    }
}

/// Microseconds since the Unix epoch, now (0 before it, which a correct
/// clock never is).
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Largest body planned on the event loop; a larger one is parsed on a
/// worker, so that no connection waits for another's big body to parse.
const MAX_EVENT_LOOP_BODY_BYTES: usize = 64 * 1024;

/// `planned`'s work, answered by `respond` from its finished result.
fn query<T: 'static>(
    model: &Arc<Model>,
    planned: Planned<T>,
    respond: impl FnOnce(&Request, &Model, T) -> HandlerResult + Send + 'static,
) -> Step {
    let Planned { work, finish } = planned;
    let model = Arc::clone(model);
    Step::Query {
        work,
        then: Box::new(move |req, out| {
            let t = finish(&model, out).map_err(|e| ops::name_key_conflict(&model, e))?;
            respond(req, &model, t)
        }),
    }
}

impl Crud {
    pub(crate) fn new(
        model: Model,
        backend: Arc<dyn Backend>,
        (page_size, max_page_size): (u64, u64),
        max_page_bytes: usize,
        rules: QueryRules,
        (cursor_key, etag_key): (CursorKey, EtagKey),
        references: Vec<ScopedReference>,
    ) -> Crud {
        let backend_dialect = backend.dialect();
        Crud {
            by_id: ops::ById::new(backend_dialect, &model),
            sets_fields: model.fields().iter().any(|(_, f)| f.server_set().is_some()),
            hooks: None,
            max_bulk: crate::config::DEFAULT_MAX_BULK_ITEMS,
            model: Arc::new(model),
            backend,
            page_size,
            max_page_size,
            max_page_bytes,
            rules,
            cursor_key,
            etag_key,
            references,
            relations: Arc::default(),
            images: (backend_dialect == Dialect::Postgres).then(Arc::default),
        }
    }

    /// The same with `relations` shown on request.
    pub(crate) fn with_relations(mut self, relations: Arc<Catalog>) -> Crud {
        self.relations = relations;
        self
    }

    /// The relations of every registered model.
    pub(crate) fn relations(&self) -> &Catalog {
        &self.relations
    }

    /// Plans the reads of the relations `wanted`, each within what the
    /// caller could read of the related resource directly: `401`/`403`
    /// when the caller may not `GET` it, its scope applied.
    fn plan_relations(&self, req: &Request, wanted: Wanted) -> Result<Option<Plan>, ApiError> {
        self.relations
            .plan(wanted, self.backend.dialect(), |model, access| {
                let claims = req.claims();
                if !access.is_public() {
                    let c = claims.ok_or(AuthError::MissingToken)?;
                    if !access.permits(c, req) {
                        return Err(AuthError::Forbidden.into());
                    }
                }
                if model.scope_rule().is_none() {
                    return Ok(None);
                }
                let claims = claims.ok_or(AuthError::MissingToken)?;
                self.storable_scope(model, claims)
            })
    }

    /// The same with `hooks` run in its writes.
    pub(crate) fn with_hooks(mut self, hooks: Hooks) -> Crud {
        let any = hooks.has_before_create()
            || hooks.has_before_update()
            || hooks.has_before_delete()
            || hooks.has_after_write();
        self.hooks = any.then_some(hooks);
        self
    }

    /// The same with at most `items` items in one bulk write.
    pub(crate) fn with_max_bulk(mut self, items: usize) -> Crud {
        self.max_bulk = items.max(1);
        self
    }

    /// Most items of one bulk write.
    pub(crate) fn max_bulk(&self) -> usize {
        self.max_bulk
    }

    /// The hooks with the caller's claims, when the model has hooks.
    fn hooks_for(&self, req: &Request) -> Option<WithHooks> {
        self.hooks.as_ref().map(|hooks| WithHooks {
            hooks: hooks.clone(),
            claims: req.claims().cloned(),
            dialect: self.backend.dialect(),
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The database.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The query whitelist.
    pub(crate) fn query_rules(&self) -> &QueryRules {
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
    /// The generated behaviour's errors.
    pub fn handle(&self, method: Method, req: &Request) -> HandlerResult {
        self.plan(method, req).run(&*self.backend, req)
    }

    /// Plans the generated handler for `method` on `req`.
    pub(crate) fn plan(&self, method: Method, req: &Request) -> Step {
        let planned = match (req.param("id").is_some(), method) {
            (false, Method::Get | Method::Head) => self.plan_list(req),
            (false, Method::Post) => self.plan_create(req),
            (true, Method::Get | Method::Head) => self.plan_get(req),
            (true, Method::Put) => self.plan_update(req, false),
            (true, Method::Patch) => self.plan_update(req, true),
            (true, Method::Delete) => self.plan_delete(req),
            _ => Err(ApiError::method_not_allowed()),
        };
        planned.unwrap_or_else(|e| Step::Done(Err(e)))
    }

    /// Whether `req` is small enough to plan on the event loop.
    pub(crate) fn plans_cheaply(&self, req: &Request) -> bool {
        req.body().len() <= MAX_EVENT_LOOP_BODY_BYTES
    }

    fn scope(&self, req: &Request) -> Result<Option<Scope>, ApiError> {
        if self.model.scope_rule().is_none() {
            return Ok(None);
        }
        let claims = req.claims().ok_or(AuthError::MissingToken)?;
        self.storable_scope(&self.model, claims)
    }

    /// The caller's scope of `model` from `claims`; a claim the database
    /// cannot hold (PostgreSQL text with U+0000) is reported on the scope
    /// column, as for a value in a body.
    fn storable_scope(&self, model: &Model, claims: &Claims) -> Result<Option<Scope>, ApiError> {
        let scope = ops::scope_in(model, claims.as_map())?;
        if let Some(scope) = &scope {
            self.refuse_unstorable(&scope.column, &scope.value)?;
        }
        Ok(scope)
    }

    /// A `422` on `column` for a value the database cannot hold.
    fn refuse_unstorable(&self, column: &str, value: &crate::model::Value) -> Result<(), ApiError> {
        match self.backend.refusal(value) {
            Some(reason) => Err(BackendError::InvalidValue {
                field: Some(column.to_owned()),
                reason: reason.to_owned(),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// Sets the fields the server sets (see [`ServerSet`]) on a row to
    /// create (`creating`) or to update.
    fn set_by_server(&self, req: &Request, row: &mut Row, creating: bool) -> Result<(), ApiError> {
        if !self.sets_fields {
            return Ok(());
        }
        let now = crate::model::Value::DateTime(now_micros());
        for (name, field) in self.model.fields() {
            match field.server_set() {
                Some(ServerSet::UpdatedAt) => row.set(name, now.clone()),
                Some(ServerSet::CreatedAt) if creating => row.set(name, now.clone()),
                Some(ServerSet::Claim(claim)) if creating => {
                    let claims = req.claims().ok_or(AuthError::MissingToken)?;
                    let value = ops::claim_value(&self.model, name, claim, claims.as_map())?.value;
                    self.refuse_unstorable(name, &value)?;
                    row.set(name, value);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The caller's write rule (see [`Model::restrict_writes`]): none for a
    /// model without one, or for an admin.
    fn write_rule(&self, req: &Request) -> Result<Option<Scope>, ApiError> {
        let Some(rule) = self.model.write_rule() else {
            return Ok(None);
        };
        let claims = req.claims().ok_or(AuthError::MissingToken)?;
        if claims.is_admin() {
            return Ok(None);
        }
        Ok(Some(ops::claim_value(
            &self.model,
            rule.column(),
            rule.claim(),
            claims.as_map(),
        )?))
    }

    /// `POST /collection`: `201`, the stored row, `Location`, `ETag`.
    ///
    /// A JSON array creates every item in one transaction, all or nothing:
    /// `201` with the stored rows in order. With `Prefer:
    /// resolution=merge-duplicates` (or `ignore-duplicates`) and
    /// `?on_conflict=field` (a unique field), an item whose key is taken
    /// updates that row with the fields sent (or leaves it, and is not
    /// returned): `201` when a row was created, else `200`. Either of the
    /// two alone is a plain create.
    ///
    /// # Errors
    /// `400`/`415` for a body that is neither a JSON object nor an array of
    /// them, or a bad `on_conflict`; `413` for more items than allowed;
    /// `422` for invalid fields (each with its item's index) or no item;
    /// `409` for a constraint violation; `403` for an existing row the
    /// caller may not change.
    pub fn create(&self, req: &Request) -> HandlerResult {
        self.plan_create(req)
            .unwrap_or_else(|e| Step::Done(Err(e)))
            .run(&*self.backend, req)
    }

    fn plan_create(&self, req: &Request) -> Result<Step, ApiError> {
        self.plan_create_setting(req, None)
    }

    /// `POST` under a parent row (see `nested`): the row's foreign key
    /// `fk` is the parent's `id`; a body that names it is a `422` on it.
    pub(crate) fn create_under(&self, req: &Request, fk: &str, id: Key) -> HandlerResult {
        self.plan_create_setting(req, Some((fk, id)))
            .unwrap_or_else(|e| Step::Done(Err(e)))
            .run(&*self.backend, req)
    }

    /// `GET` of the rows under a parent row: those whose `fk` is `id`.
    pub(crate) fn list_under(&self, req: &Request, fk: &str, id: &Key) -> HandlerResult {
        let under = Filter {
            field: fk.to_owned(),
            op: FilterOp::Eq(id.to_value()),
        };
        self.plan_list_within(req, Some(under))
            .unwrap_or_else(|e| Step::Done(Err(e)))
            .run(&*self.backend, req)
    }

    /// Whether the row `id` exists where the caller could read it.
    pub(crate) fn exists(&self, req: &Request, id: &Key) -> Result<bool, ApiError> {
        let scope = self.scope(req)?;
        let found = ops::plan_get_by(&self.by_id, &self.model, id, scope.as_ref())?
            .run(&*self.backend, &self.model)?;
        Ok(found.is_some())
    }

    fn plan_create_setting(
        &self,
        req: &Request,
        set: Option<(&str, Key)>,
    ) -> Result<Step, ApiError> {
        let mut body = req.json()?;
        if let Some((fk, id)) = set {
            if let Some(fields) = body.as_object_mut() {
                if fields.contains_key(fk) {
                    return Err(ApiError::validation(vec![FieldError {
                        field: fk.to_owned(),
                        message: "is set from the path; leave it out".to_owned(),
                    }]));
                }
                fields.insert(fk.to_owned(), id.to_json());
            }
        } else {
            let resolution = Preferences::of(req.headers()).resolution;
            let mut on_conflict = req.query().iter().filter(|(n, _)| n == "on_conflict");
            let field = on_conflict.next().map(|(_, v)| v.as_str());
            if on_conflict.next().is_some() {
                return Err(ApiError::bad_request(
                    "query parameter `on_conflict` is given more than once",
                ));
            }
            // An upsert is the preference and the key together. Either alone
            // is a plain create: the preference is not applied (RFC 7240 §2
            // lets a server ignore one), and `on_conflict` is only checked.
            match (resolution, field) {
                (Some(resolution), Some(field)) => {
                    return self.plan_upsert(req, body, resolution, field)
                }
                (None, Some(field)) => {
                    bulk::conflict_key(&self.model, field)?;
                }
                _ => {}
            }
            if let Value::Array(items) = body {
                return self.plan_bulk_create(req, &items);
            }
        }
        let mut row = validate_create(&self.model, &body)?;
        self.set_by_server(req, &mut row, true)?;
        check_storable(&*self.backend, &row)?;
        let scope = self.scope(req)?;
        let row = self.require_references(req, row)?;
        let hooks = self.hooks_for(req);
        let planned = ops::plan_create(
            self.backend.dialect(),
            &self.model,
            row,
            scope.as_ref(),
            hooks.as_ref(),
        )?;
        let key = self.etag_key.clone();
        Ok(query(&self.model, planned, move |req, model, row| {
            let base = req.path().trim_end_matches('/');
            let mut location = String::with_capacity(base.len() + 24);
            location.push_str(base);
            location.push('/');
            row.id.write_path_segment(&mut location);
            let prefs = Preferences::of(req.headers());
            Ok(
                written_response(StatusCode::CREATED, model, &key, &row, prefs)
                    .with_header("Location", location),
            )
        }))
    }

    /// The items of an array body as rows to create, as one item is
    /// checked for a single create; every bad field of every item is
    /// listed with its item's index.
    fn bulk_rows(&self, req: &Request, items: &[Value]) -> Result<Vec<crate::crud::Row>, ApiError> {
        if items.is_empty() {
            return Err(CrudError::NoItems.into());
        }
        if items.len() > self.max_bulk {
            return Err(CrudError::TooManyItems {
                max: self.max_bulk,
                given: items.len(),
            }
            .into());
        }
        let rows = validate_items(items, |_, item| {
            let row = validate_create(&self.model, item)?;
            check_storable(&*self.backend, &row)?;
            Ok(row)
        })?;
        rows.into_iter()
            .map(|mut row| {
                self.set_by_server(req, &mut row, true)?;
                self.require_references(req, row)
            })
            .collect()
    }

    /// `POST /collection` with an array: every item created in one
    /// transaction.
    fn plan_bulk_create(&self, req: &Request, items: &[Value]) -> Result<Step, ApiError> {
        let rows = self.bulk_rows(req, items)?;
        let scope = self.scope(req)?;
        let hooks = self.hooks_for(req);
        let planned = bulk::plan_bulk_create(
            self.backend.dialect(),
            &self.model,
            rows,
            scope.as_ref(),
            hooks.as_ref(),
        )?;
        Ok(query(&self.model, planned, move |req, model, rows| {
            let prefs = Preferences::of(req.headers());
            Ok(written_rows_response(
                StatusCode::CREATED,
                model,
                &rows,
                prefs,
                None,
            ))
        }))
    }

    /// `POST /collection` with `Prefer: resolution=…` and `on_conflict`:
    /// one object or an array, each item inserted or resolved on the
    /// unique key `field`.
    fn plan_upsert(
        &self,
        req: &Request,
        body: Value,
        resolution: Resolution,
        field: &str,
    ) -> Result<Step, ApiError> {
        let key = bulk::conflict_key(&self.model, field)?;
        // A merge is an update: on a model that requires If-Match for
        // those, it cannot be unconditional.
        if resolution == Resolution::Merge && self.model.requires_if_match() {
            return Err(CrudError::PreconditionRequired.into());
        }
        let single = !body.is_array();
        let items = match body {
            Value::Array(items) => items,
            one => vec![one],
        };
        let rows = if single {
            let mut row = validate_create(&self.model, &items[0])?;
            self.set_by_server(req, &mut row, true)?;
            check_storable(&*self.backend, &row)?;
            vec![self.require_references(req, row)?]
        } else {
            self.bulk_rows(req, &items)?
        };
        // An existing row takes the fields sent, and those the server
        // sets on every update.
        let server_updates: Vec<&String> = self
            .model
            .fields()
            .iter()
            .filter(|(_, f)| f.server_set() == Some(&ServerSet::UpdatedAt))
            .map(|(n, _)| n)
            .collect();
        let rows = rows
            .into_iter()
            .zip(&items)
            .map(|(row, item)| {
                let sent = item.as_object().into_iter().flat_map(|o| o.keys());
                UpsertRow {
                    row,
                    update: sent
                        .chain(server_updates.iter().copied())
                        .cloned()
                        .collect(),
                }
            })
            .collect();
        let scope = self.scope(req)?;
        let rule = self.write_rule(req)?;
        let hooks = self.hooks_for(req);
        let resolve = match resolution {
            Resolution::Merge => Resolve::Merge,
            Resolution::Ignore => Resolve::Ignore,
        };
        let planned = bulk::plan_upsert(
            self.backend.dialect(),
            &self.model,
            key,
            rows,
            resolve,
            &UpsertLimits {
                scope: scope.as_ref(),
                rule: rule.as_ref(),
                hooks: hooks.as_ref(),
            },
        )?;
        let etag_key = self.etag_key.clone();
        Ok(query(&self.model, planned, move |req, model, rows| {
            let prefs = Preferences::of(req.headers());
            let created = rows.iter().any(|(_, created)| *created);
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let applied = resolution.as_str();
            match (single, rows.first()) {
                (true, Some((row, created))) => {
                    let mut resp = written_response(status, model, &etag_key, row, prefs);
                    let rest = resp.header("preference-applied").map(str::to_owned);
                    resp.remove_header("preference-applied");
                    let all = match rest {
                        Some(r) => format!("{applied}, {r}"),
                        None => applied.to_owned(),
                    };
                    resp.insert_header("Preference-Applied", all);
                    if *created {
                        let base = req.path().trim_end_matches('/');
                        resp.insert_header("Location", format!("{base}/{}", row.id));
                    }
                    Ok(resp)
                }
                _ => {
                    let rows: Vec<_> = rows.into_iter().map(|(row, _)| row).collect();
                    if single {
                        // The one item was ignored: nothing to show.
                        let mut resp = Response::new(StatusCode::NO_CONTENT);
                        resp.insert_header("Preference-Applied", applied);
                        resp.add_vary("Prefer");
                        return Ok(resp);
                    }
                    Ok(written_rows_response(
                        status,
                        model,
                        &rows,
                        prefs,
                        Some(applied),
                    ))
                }
            }
        }))
    }

    /// `GET /collection`: one page of rows, filtered, searched and ordered
    /// as the query asks, with a weak `ETag` (`304` when `If-None-Match`
    /// matches it); a page whose rows would pass the configured byte
    /// budget (`LIGHTAPI_MAX_PAGE_BYTES`) ends after the last row that
    /// fits, with `"truncated": true` and a `next` link to the rest.
    ///
    /// # Errors
    /// `400` naming the parameter for anything outside the whitelist, a
    /// value of the wrong type, or an altered cursor.
    pub fn list(&self, req: &Request) -> HandlerResult {
        self.plan_list(req)
            .unwrap_or_else(|e| Step::Done(Err(e)))
            .run(&*self.backend, req)
    }

    fn plan_list(&self, req: &Request) -> Result<Step, ApiError> {
        self.plan_list_within(req, None)
    }

    /// A list page, with `under` added to the client's filters.
    fn plan_list_within(&self, req: &Request, under: Option<Filter>) -> Result<Step, ApiError> {
        let (wanted, params) = self.relations.parse(&self.model, req.query())?;
        let mut lr = parse_list_query(
            &self.model,
            &self.rules,
            &params,
            self.page_size,
            self.max_page_size,
        )?;
        lr.filters.extend(under);
        let scope = self.scope(req)?;
        let related = self.plan_relations(req, wanted)?;
        let d = self.backend.dialect();
        let fields = lr.fields;
        let max_bytes = self.max_page_bytes;
        let (start, size) = match lr.paging {
            Paging::Page { page, size } => (Start::Page(page), size),
            Paging::Offset { offset, size } => (Start::Offset(offset), size),
            Paging::Cursor { token, size } => {
                let planned = keyset::plan_page(
                    d,
                    &self.model,
                    &self.cursor_key,
                    &KeysetRequest {
                        filters: &lr.filters,
                        order: &lr.order,
                        token: token.as_deref(),
                        size,
                        scope: scope.as_ref(),
                        max_bytes,
                    },
                )?;
                let planned = relations::attach(planned, related);
                let key = self.etag_key.clone();
                return Ok(query(
                    &self.model,
                    planned,
                    move |req, model, (page, related)| {
                        let shown = Shown {
                            model,
                            fields: fields.as_deref(),
                            max_bytes,
                            key: &key,
                            related: related.as_ref(),
                        };
                        Ok(cursor_page(req, &shown, page))
                    },
                ));
            }
        };
        let offset = match start {
            Start::Page(page) => (page - 1).saturating_mul(size),
            Start::Offset(offset) => offset,
        };
        let q = ListQuery {
            filters: lr.filters,
            order: lr.order,
            limit: Some(size),
            offset,
            after: None,
        };
        // `Prefer: count=none`: no total, so no COUNT(*) either.
        let counted = !Preferences::of(req.headers()).count_none;
        let answer = move |resp: Response| {
            if counted {
                resp
            } else {
                resp.with_header("Preference-Applied", "count=none")
            }
        };
        let key = self.etag_key.clone();
        if related.is_none() {
            // Nothing shown beside the rows: each is rendered as it is read.
            let sink = RenderedRows::new(Arc::clone(&self.model), fields, max_bytes, size);
            let planned =
                ops::plan_list_into(d, &self.model, &q, scope.as_ref(), counted, max_bytes, sink)?;
            return Ok(query(
                &self.model,
                planned,
                move |req, _, (rows, count, capped)| {
                    let page = OffsetPage {
                        start,
                        size,
                        read: rows.taken(),
                        count: count.filter(|_| counted),
                        capped,
                    };
                    Ok(answer(rendered_offset_page(req, &key, &page, rows)))
                },
            ));
        }
        let planned = ops::plan_list(d, &self.model, &q, scope.as_ref(), counted, max_bytes)?;
        let planned = relations::attach(planned, related);
        Ok(query(
            &self.model,
            planned,
            move |req, model, ((rows, count, capped), related)| {
                let shown = Shown {
                    model,
                    fields: fields.as_deref(),
                    max_bytes,
                    key: &key,
                    related: related.as_ref(),
                };
                let page = OffsetPage {
                    start,
                    size,
                    read: rows.len(),
                    count: count.filter(|_| counted),
                    capped,
                };
                Ok(answer(offset_page(req, &shown, &page, &rows)))
            },
        ))
    }

    /// `GET /collection/{id}`: the row with its `ETag`; `304` when
    /// `If-None-Match` matches.
    ///
    /// # Errors
    /// `404` for an id that is not a positive integer or no such row.
    pub fn get(&self, req: &Request) -> HandlerResult {
        self.plan_get(req)
            .unwrap_or_else(|e| Step::Done(Err(e)))
            .run(&*self.backend, req)
    }

    fn plan_get(&self, req: &Request) -> Result<Step, ApiError> {
        let id = path_id(req, &self.model)?;
        // The query is checked first: a bad one is a 400 even when the row
        // is missing or the answer would be a 304.
        let (wanted, params) = self.relations.parse(&self.model, req.query())?;
        if let Some(name) = params.iter().map(|(n, _)| n).find(|n| *n != "fields") {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{name}`"
            )));
        }
        // Only `fields` is left; the list parser refuses it repeated.
        let fields = parse_list_query(&self.model, &self.rules, &params, 1, 1)?.fields;
        let scope = self.scope(req)?;
        let related = self.plan_relations(req, wanted)?;
        let key = self.etag_key.clone();
        // On SQLite the read runs on the event loop, where rendering inside
        // it saves copying the row; elsewhere a plain statement
        // (`Work::Query`), which a database driven by the event loop
        // (PostgreSQL) sends without leaving it.
        if related.is_none() && self.backend.dialect() == Dialect::Sqlite {
            return self.plan_get_alone(req, id, scope.as_ref(), fields, key);
        }
        let planned = ops::plan_get_by(&self.by_id, &self.model, &id, scope.as_ref())?;
        let planned = relations::attach(planned, related);
        Ok(query(
            &self.model,
            planned,
            move |req, model, (row, related)| {
                let row = row.ok_or_else(|| CrudError::NotFound {
                    model: model.name().to_owned(),
                    key: model.key_column().to_owned(),
                    id,
                })?;
                if let Some(related) = &related {
                    // Related rows change apart from the row: a weak ETag of
                    // the whole body, as for a page.
                    let mut body = Vec::with_capacity(256);
                    write_row_related(&mut body, model, &row, fields.as_deref(), Some(related));
                    return Ok(page_response(req, &key, body));
                }
                let etag = row.etag(&key);
                if let Some(inm) = req.header("if-none-match") {
                    if none_match_hits(inm, &etag) {
                        return Ok(
                            Response::new(StatusCode::NOT_MODIFIED).with_header("ETag", etag)
                        );
                    }
                }
                let mut body = Vec::with_capacity(128);
                write_row(&mut body, model, &row, fields.as_deref());
                Ok(json_response(StatusCode::OK, body).with_header("ETag", etag))
            },
        ))
    }

    /// A row without related rows: tagged and rendered where it is read,
    /// from the values as the driver holds them (no copy of the row), with
    /// `304` when `If-None-Match` holds its tag.
    fn plan_get_alone(
        &self,
        req: &Request,
        id: Key,
        scope: Option<&Scope>,
        fields: Option<Vec<String>>,
        key: EtagKey,
    ) -> Result<Step, ApiError> {
        let model = Arc::clone(&self.model);
        let if_none_match = req.header("if-none-match").map(str::to_owned);
        let planned = ops::plan_get_each(&self.by_id, &self.model, &id, scope, move |row| {
            let etag = etag_of(&key, row.iter().copied());
            if let Some(inm) = &if_none_match {
                if none_match_hits(inm, &etag) {
                    return (etag, None);
                }
            }
            let mut body = Vec::with_capacity(128);
            write_values(&mut body, &model, row, fields.as_deref());
            (etag, Some(body))
        })?;
        Ok(query(&self.model, planned, move |_, model, row| {
            let (etag, body) = row.ok_or_else(|| CrudError::NotFound {
                model: model.name().to_owned(),
                key: model.key_column().to_owned(),
                id,
            })?;
            Ok(match body {
                None => Response::new(StatusCode::NOT_MODIFIED).with_header("ETag", etag),
                Some(body) => json_response(StatusCode::OK, body).with_header("ETag", etag),
            })
        }))
    }

    /// `PUT` (full replace) or `PATCH` (partial) of `/collection/{id}`,
    /// conditional on `If-Match`.
    ///
    /// # Errors
    /// `404`, `412`, `428`, `409`, `400`/`415`/`422`.
    pub fn update(&self, req: &Request, partial: bool) -> HandlerResult {
        self.plan_update(req, partial)
            .unwrap_or_else(|e| Step::Done(Err(e)))
            .run(&*self.backend, req)
    }

    fn plan_update(&self, req: &Request, partial: bool) -> Result<Step, ApiError> {
        let id = path_id(req, &self.model)?;
        let precondition = precondition(req);
        let scope = self.scope(req)?;
        let rule = self.write_rule(req)?;
        let hooks = self.hooks_for(req);
        let d = self.backend.dialect();
        // Preconditions are evaluated before the content is processed
        // (RFC 9110 §13.2.1): when the body is refused too, the request is
        // answered for its precondition first.
        let row = match self.valid_row(req, partial, &id) {
            Ok(row) => row,
            Err(e) => {
                if precondition == Precondition::None
                    && !self.model.requires_if_match()
                    && rule.is_none()
                {
                    return Err(e);
                }
                let planned = ops::plan_check_precondition(
                    d,
                    &self.etag_key,
                    &self.model,
                    &id,
                    precondition,
                    scope.as_ref(),
                    rule.as_ref(),
                )?;
                return Ok(query(&self.model, planned, move |_, _, ()| Err(e)));
            }
        };
        let planned = ops::plan_update(
            d,
            &self.etag_key,
            &self.model,
            &id,
            row,
            precondition,
            ops::WriteLimits {
                scope: scope.as_ref(),
                rule: rule.as_ref(),
                hooks: hooks.as_ref(),
                images: self.images.as_ref(),
            },
        )?;
        let key = self.etag_key.clone();
        Ok(query(&self.model, planned, move |req, model, row| {
            let prefs = Preferences::of(req.headers());
            Ok(written_response(StatusCode::OK, model, &key, &row, prefs))
        }))
    }

    /// The body of a `PUT` or `PATCH` as a row to store. PUT and PATCH
    /// differ only in validation: a replace row carries every writable
    /// field, a patch row only those sent.
    /// A declared key sent in the body must be the row's own (`id`): keys
    /// never change.
    fn valid_row(&self, req: &Request, partial: bool, id: &Key) -> Result<Row, ApiError> {
        let body = req.json()?;
        let mut row = if partial {
            validate_patch(&self.model, &body)?
        } else {
            validate_replace(&self.model, &body)?
        };
        let column = self.model.key_column();
        if let Some(sent) = row.remove(column) {
            if Key::from_value(&sent).as_ref() != Some(id) {
                return Err(ApiError::validation(vec![FieldError {
                    field: column.to_owned(),
                    message: "the key cannot be changed".to_owned(),
                }]));
            }
        }
        self.set_by_server(req, &mut row, false)?;
        check_storable(&*self.backend, &row)?;
        self.require_references(req, row)
    }

    /// Adds to `row` a check of every foreign key it sets into a scoped
    /// model: the referenced row must be in the caller's scope there.
    fn require_references(&self, req: &Request, mut row: Row) -> Result<Row, ApiError> {
        if self.references.is_empty() {
            return Ok(row);
        }
        let claims = req.claims();
        for r in &self.references {
            let Some(id) = row.get(&r.field).and_then(Key::from_value) else {
                continue;
            };
            // Without a usable claim the caller can read no row there.
            let scope = claims
                .as_ref()
                .and_then(|c| ops::scope_in(&r.target, c.as_map()).ok().flatten())
                .filter(|s| self.backend.refusal(&s.value).is_none())
                .ok_or_else(|| {
                    ReferenceCheck::unknown(&r.field, r.target.name(), r.target.key_column(), &id)
                })?;
            let check = ReferenceCheck::new(
                self.backend.dialect(),
                &r.field,
                &r.target,
                &id,
                Some(&scope),
            )?;
            row.require_reference(check);
        }
        Ok(row)
    }

    /// `DELETE /collection/{id}`: `204`, conditional on `If-Match`.
    ///
    /// # Errors
    /// `404`, `412`, `428`, or `409` when the row is still referenced.
    pub fn delete(&self, req: &Request) -> HandlerResult {
        self.plan_delete(req)
            .unwrap_or_else(|e| Step::Done(Err(e)))
            .run(&*self.backend, req)
    }

    fn plan_delete(&self, req: &Request) -> Result<Step, ApiError> {
        let id = path_id(req, &self.model)?;
        let scope = self.scope(req)?;
        let rule = self.write_rule(req)?;
        let hooks = self.hooks_for(req);
        let planned = ops::plan_delete(
            self.backend.dialect(),
            &self.etag_key,
            &self.model,
            &id,
            precondition(req),
            ops::WriteLimits {
                scope: scope.as_ref(),
                rule: rule.as_ref(),
                hooks: hooks.as_ref(),
                images: self.images.as_ref(),
            },
        )?;
        Ok(query(&self.model, planned, |_, _, ()| {
            Ok(Response::new(StatusCode::NO_CONTENT))
        }))
    }
}
