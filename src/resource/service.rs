//! A model's two routes as services of the dispatcher: the collection route
//! and the item route, with their verbs, permissions and any custom
//! endpoint that took verbs over.

use std::any::Any;
use std::sync::Arc;

use super::crud::{Crud, ScopedReference};
use super::Resource;
use crate::auth::Access;
use crate::backend::Backend;
use crate::crud::cursor::CursorKey;
use crate::crud::etag::EtagKey;
use crate::crud::relations::Catalog;
use crate::crud::tables::Tables;
use crate::endpoint::{
    call_endpoint, offered, Endpoint, HandlerResult, OperationDoc, Service, Step,
};
use crate::http::{Method, MethodSet, Request};
use crate::model::Model;
use crate::ratelimit::RateLimit;

/// The verbs the item route (`true`) or the collection route serves.
pub(super) fn serves(item: bool) -> MethodSet {
    if item {
        MethodSet::from_slice(&[Method::Get, Method::Put, Method::Patch, Method::Delete])
    } else {
        MethodSet::from_slice(&[Method::Get, Method::Post])
    }
}

/// A generated route: the collection or the item route of one model.
struct CrudService {
    crud: Arc<Crud>,
    /// The same operations, as the request extension handlers read.
    crud_extension: Arc<dyn Any + Send + Sync>,
    /// Answers 503 until the model's table is in place.
    tables: Arc<Tables>,
    allowed: MethodSet,
    access: [Access; 7],
    endpoint: Option<(Arc<dyn Endpoint>, MethodSet)>,
    max_age: Option<std::time::Duration>,
    /// Each verb's rate limit, named.
    rate_limits: Vec<(Method, RateLimit)>,
}

impl Service for CrudService {
    fn allowed(&self) -> MethodSet {
        self.allowed
    }

    fn call(&self, method: Method, req: &mut Request) -> HandlerResult {
        self.tables.check()?;
        req.extensions_mut()
            .insert_shared(Arc::clone(&self.crud_extension));
        if let Some((endpoint, verbs)) = &self.endpoint {
            if verbs.contains(method) {
                return call_endpoint(&**endpoint, method, req);
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

    fn doc(&self, method: Method) -> Option<OperationDoc> {
        let (endpoint, verbs) = self.endpoint.as_ref()?;
        verbs
            .contains(method)
            .then(|| endpoint.doc(method))
            .flatten()
    }

    fn max_age(&self) -> Option<std::time::Duration> {
        // Undeclared: revalidated before each reuse, never reused on a
        // cache's own guess.
        Some(self.max_age.unwrap_or(std::time::Duration::ZERO))
    }

    fn rate_limit(&self, method: Method) -> Option<RateLimit> {
        self.rate_limits
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, limit)| limit.clone())
    }

    fn plan(&self, method: Method, req: &mut Request) -> Option<Step> {
        if let Some((_, verbs)) = &self.endpoint {
            if verbs.contains(method) {
                return None;
            }
        }
        if !self.crud.plans_cheaply(req) {
            return None;
        }
        if let Err(e) = self.tables.check() {
            return Some(Step::Done(Err(e.into())));
        }
        Some(self.crud.plan(method, req))
    }
}

/// A route's pattern suffix and its service.
pub(crate) type Route = (String, Arc<dyn Service>);

/// The two routes of a resource, `("", collection)` and `("/{id}", item)`,
/// with the model's operations they share; `models` are every registered
/// model, `relations` what each shows of the others.
pub(crate) fn build_routes(
    resource: Resource,
    backend: Arc<dyn Backend>,
    tables: Arc<Tables>,
    (max_page_bytes, max_bulk_items): (usize, usize),
    cursor_key: CursorKey,
    etag_key: EtagKey,
    (models, relations): (&[Model], Arc<Catalog>),
) -> (Arc<Crud>, Vec<Route>) {
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
    let page_sizes = (resource.page_size, resource.max_page_size);
    let max_age = resource.max_age;
    let model_name = resource.model.name().to_owned();
    let rate_limits: Vec<(Method, RateLimit)> = resource
        .rate_limits
        .iter()
        .map(|(m, limit)| {
            let name = || format!("{model_name}.{}", m.as_str().to_ascii_lowercase());
            (*m, limit.clone().or_named(name))
        })
        .collect();
    let references = ScopedReference::of(&resource.model, models);
    let crud = Arc::new(
        Crud::new(
            resource.model,
            backend,
            page_sizes,
            max_page_bytes,
            resource.rules,
            (cursor_key, etag_key),
            references,
        )
        .with_hooks(resource.hooks)
        .with_relations(relations)
        .with_max_bulk(resource.max_bulk.unwrap_or(max_bulk_items)),
    );
    let crud_extension: Arc<dyn Any + Send + Sync> = Arc::clone(&crud) as Arc<Crud>;
    let routes = [false, true]
        .into_iter()
        .map(|item| {
            let mut allowed = offered_verbs.intersect(serves(item).with(Method::Head));
            if allowed.contains(Method::Get) {
                allowed = allowed.with(Method::Head);
            }
            let service: Arc<dyn Service> = Arc::new(CrudService {
                crud: Arc::clone(&crud),
                crud_extension: Arc::clone(&crud_extension),
                tables: Arc::clone(&tables),
                allowed: allowed.with(Method::Options),
                access: access.clone(),
                endpoint: endpoint.clone(),
                max_age,
                rate_limits: rate_limits.clone(),
            });
            let suffix = if item { "/{id}" } else { "" };
            (suffix.to_string(), service)
        })
        .collect();
    (crud, routes)
}
