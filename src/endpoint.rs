//! Custom endpoints: implement the verbs you need; the rest answer `405`.

use crate::auth::Access;
use crate::backend::work::{self, Work};
use crate::backend::{Backend, BackendError, WriteOutput};
use crate::error::ApiError;
use crate::http::{Method, MethodSet, Request, Response};
use crate::ratelimit::RateLimit;

/// What a handler returns: a [`Response`] (a `serde_json::Value` converts
/// into a `200` JSON response with `.into()`) or an [`ApiError`].
pub type HandlerResult = Result<Response, ApiError>;

/// A hand-written endpoint: one method per HTTP verb, each answering `405`
/// unless implemented. `HEAD` and `OPTIONS` are automatic.
///
/// An endpoint answering `GET` and `POST` only:
///
/// ```
/// use lightapi::{Endpoint, HandlerResult, Method, Request};
/// use serde_json::json;
///
/// struct Custom;
///
/// impl Endpoint for Custom {
///     fn methods(&self) -> Option<&[Method]> {
///         Some(&[Method::Get, Method::Post])
///     }
///     fn get(&self, _req: &Request) -> HandlerResult {
///         Ok(json!({"data": "ok", "message": "GET request"}).into())
///     }
///     fn post(&self, req: &Request) -> HandlerResult {
///         Ok(json!({"data": req.json()?, "message": "POST request"}).into())
///     }
/// }
/// # let r = Custom.get(&Request::new(Method::Get, "/custom")).unwrap();
/// # assert_eq!(r.status().as_u16(), 200);
/// ```
pub trait Endpoint: Send + Sync + 'static {
    /// `GET` (also serves `HEAD`).
    fn get(&self, req: &Request) -> HandlerResult {
        let _ = req;
        Err(ApiError::method_not_allowed())
    }

    /// `POST`.
    fn post(&self, req: &Request) -> HandlerResult {
        let _ = req;
        Err(ApiError::method_not_allowed())
    }

    /// `PUT`.
    fn put(&self, req: &Request) -> HandlerResult {
        let _ = req;
        Err(ApiError::method_not_allowed())
    }

    /// `PATCH`.
    fn patch(&self, req: &Request) -> HandlerResult {
        let _ = req;
        Err(ApiError::method_not_allowed())
    }

    /// `DELETE`.
    fn delete(&self, req: &Request) -> HandlerResult {
        let _ = req;
        Err(ApiError::method_not_allowed())
    }

    /// The methods offered; `None` offers
    /// all five verbs. `HEAD` follows `GET`; `OPTIONS` is always answered.
    fn methods(&self) -> Option<&[Method]> {
        None
    }

    /// Methods withdrawn from those offered.
    fn exclude(&self) -> &[Method] {
        &[]
    }

    /// Who may call `method`; authenticated callers by default.
    fn access(&self, method: Method) -> Access {
        let _ = method;
        Access::Authenticated
    }

    /// How `method` appears in `/openapi.json`: summary, parameters,
    /// request and response schemas. `None` (the default) documents it as
    /// taking and returning any JSON.
    fn doc(&self, method: Method) -> Option<OperationDoc> {
        let _ = method;
        None
    }

    /// Whether the handler is quick and never blocks, so it may run on the
    /// event loop itself instead of the worker pool (static answers, pure
    /// computation). Off by default: a blocking handler on the event loop
    /// would stall every connection that loop serves.
    fn inline(&self) -> bool {
        false
    }

    /// The rate limit of `method` (`HEAD` counts as `GET`), on top of the
    /// application's default; none by default. Unnamed, the policy is
    /// named after the verb and the route, as in `post/upload`.
    ///
    /// ```
    /// use lightapi::ratelimit::RateLimit;
    /// use lightapi::{Endpoint, HandlerResult, Method, Request};
    ///
    /// struct Upload;
    /// impl Endpoint for Upload {
    ///     fn methods(&self) -> Option<&[Method]> { Some(&[Method::Post]) }
    ///     fn post(&self, _req: &Request) -> HandlerResult { Ok(serde_json::json!({}).into()) }
    ///     fn rate_limit(&self, method: Method) -> Option<RateLimit> {
    ///         (method == Method::Post).then(|| RateLimit::per_hour(20))
    ///     }
    /// }
    /// let _app = lightapi::LightApi::new().register("/upload", Upload);
    /// ```
    fn rate_limit(&self, method: Method) -> Option<RateLimit> {
        let _ = method;
        None
    }
}

/// The OpenAPI description of one operation of a custom endpoint (see
/// [`Endpoint::doc`]). Schemas are JSON Schema values as OpenAPI 3.1 takes
/// them. The document adds the error answers and the access the route
/// needs, as for every operation.
///
/// ```
/// use lightapi::{Endpoint, HandlerResult, Method, OperationDoc, Request};
/// use serde_json::json;
///
/// struct Stats;
///
/// impl Endpoint for Stats {
///     fn methods(&self) -> Option<&[Method]> {
///         Some(&[Method::Get])
///     }
///     fn get(&self, _req: &Request) -> HandlerResult {
///         Ok(json!({"todo": 3, "doing": 1, "done": 7}).into())
///     }
///     fn doc(&self, _method: Method) -> Option<OperationDoc> {
///         Some(
///             OperationDoc::new("Tasks per status")
///                 .query("project", json!({"type": "integer"}), "Only this project's tasks")
///                 .response(
///                     200,
///                     "Counts by status",
///                     json!({"type": "object", "additionalProperties": {"type": "integer"}}),
///                 ),
///         )
///     }
/// }
/// # assert!(Stats.doc(Method::Get).is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationDoc {
    pub(crate) summary: String,
    pub(crate) description: Option<String>,
    pub(crate) parameters: Vec<serde_json::Value>,
    pub(crate) request: Option<serde_json::Value>,
    pub(crate) responses: Vec<(u16, String, Option<serde_json::Value>)>,
}

impl OperationDoc {
    /// An operation with a one-line summary.
    pub fn new(summary: &str) -> OperationDoc {
        OperationDoc {
            summary: summary.to_owned(),
            ..OperationDoc::default()
        }
    }

    /// A longer description (CommonMark).
    #[must_use]
    pub fn description(mut self, text: &str) -> OperationDoc {
        self.description = Some(text.to_owned());
        self
    }

    /// An optional query parameter with its schema.
    #[must_use]
    pub fn query(self, name: &str, schema: serde_json::Value, description: &str) -> OperationDoc {
        self.parameter("query", name, schema, description, false)
    }

    /// A query parameter the request must carry.
    #[must_use]
    pub fn required_query(
        self,
        name: &str,
        schema: serde_json::Value,
        description: &str,
    ) -> OperationDoc {
        self.parameter("query", name, schema, description, true)
    }

    /// The schema of a `{name}` path parameter (a string by default).
    #[must_use]
    pub fn path(self, name: &str, schema: serde_json::Value, description: &str) -> OperationDoc {
        self.parameter("path", name, schema, description, true)
    }

    /// A request header with its schema.
    #[must_use]
    pub fn header(self, name: &str, schema: serde_json::Value, description: &str) -> OperationDoc {
        self.parameter("header", name, schema, description, false)
    }

    fn parameter(
        mut self,
        place: &str,
        name: &str,
        schema: serde_json::Value,
        description: &str,
        required: bool,
    ) -> OperationDoc {
        self.parameters.push(serde_json::json!({
            "name": name,
            "in": place,
            "required": required,
            "description": description,
            "schema": schema,
        }));
        self
    }

    /// The JSON request body's schema (the body is then required).
    #[must_use]
    pub fn request(mut self, schema: serde_json::Value) -> OperationDoc {
        self.request = Some(schema);
        self
    }

    /// A response: status, description and, when it has one, its JSON
    /// body's schema.
    #[must_use]
    pub fn response(
        mut self,
        status: u16,
        description: &str,
        schema: impl Into<Option<serde_json::Value>>,
    ) -> OperationDoc {
        self.responses
            .push((status, description.to_owned(), schema.into()));
        self
    }
}

/// The methods an endpoint offers, with the automatic `HEAD` and `OPTIONS`.
pub(crate) fn offered(methods: Option<&[Method]>, exclude: &[Method]) -> MethodSet {
    const VERBS: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];
    let mut set = match methods {
        Some(list) => MethodSet::from_slice(list),
        None => MethodSet::from_slice(&VERBS),
    };
    for m in exclude {
        set = set.without(*m);
    }
    if set.contains(Method::Get) && !exclude.contains(&Method::Head) {
        set = set.with(Method::Head);
    }
    set.with(Method::Options)
}

/// What makes a request's answer from the result of its database work; it
/// sees the request as it was when the work was planned.
pub(crate) type Continuation =
    Box<dyn FnOnce(&Request, Result<WriteOutput, BackendError>) -> HandlerResult + Send>;

/// A request planned without blocking: answered already, or waiting for
/// one piece of database work.
pub(crate) enum Step {
    /// The answer.
    Done(HandlerResult),
    /// Database work, and what makes the answer from its result.
    Query {
        /// The work.
        work: Work,
        /// What makes the answer.
        then: Continuation,
    },
}

impl Step {
    /// Runs the work here, waiting for the database, and answers.
    pub(crate) fn run(self, backend: &dyn Backend, req: &Request) -> HandlerResult {
        match self {
            Step::Done(result) => result,
            Step::Query { work, then } => then(req, work::run(backend, work)),
        }
    }
}

/// A registered handler as the dispatcher sees it: generated resources and
/// custom endpoints alike.
pub(crate) trait Service: Send + Sync {
    /// Methods offered, including `HEAD` and `OPTIONS`.
    fn allowed(&self) -> MethodSet;
    /// Handles `method` (never `HEAD` or `OPTIONS`); may attach extensions
    /// for the handler it runs.
    fn call(&self, method: Method, req: &mut Request) -> HandlerResult;
    /// The permission `method` requires.
    fn access(&self, method: Method) -> Access;
    /// Whether it may run on the event loop.
    fn inline(&self) -> bool;

    /// The OpenAPI description of `method`, when the code behind it gives
    /// one (see [`Endpoint::doc`]).
    fn doc(&self, method: Method) -> Option<OperationDoc> {
        let _ = method;
        None
    }

    /// Whether every answer on this route carries `Cache-Control:
    /// no-store` (a route whose answers hold tokens or tell of
    /// credentials): the dispatcher adds it to the handler's answers and
    /// to those it makes itself (`405`, `OPTIONS`, refusals).
    fn no_store(&self) -> bool {
        false
    }

    /// How long a successful `GET`/`HEAD` answer on this route may be
    /// reused without asking again, when the route declares it; zero: it
    /// may be kept but is revalidated before each reuse (`no-cache`).
    fn max_age(&self) -> Option<std::time::Duration> {
        None
    }

    /// The rate limit the route declares for `method` (never `HEAD`).
    fn rate_limit(&self, method: Method) -> Option<RateLimit> {
        let _ = method;
        None
    }

    /// Plans `method` without blocking (parsing, validation, building the
    /// database work), for a service whose handling is database work;
    /// `None` when it can only run through [`Service::call`].
    fn plan(&self, method: Method, req: &mut Request) -> Option<Step> {
        let _ = (method, req);
        None
    }
}

/// Runs the verb `method` of `endpoint`.
pub(crate) fn call_endpoint<E: Endpoint + ?Sized>(
    endpoint: &E,
    method: Method,
    req: &Request,
) -> HandlerResult {
    match method {
        Method::Get | Method::Head => endpoint.get(req),
        Method::Post => endpoint.post(req),
        Method::Put => endpoint.put(req),
        Method::Patch => endpoint.patch(req),
        Method::Delete => endpoint.delete(req),
        Method::Options => Err(ApiError::method_not_allowed()),
    }
}

/// A custom endpoint as a [`Service`].
pub(crate) struct EndpointService<E> {
    endpoint: E,
    allowed: MethodSet,
    no_store: bool,
}

impl<E: Endpoint> EndpointService<E> {
    pub(crate) fn new(endpoint: E) -> EndpointService<E> {
        let allowed = offered(endpoint.methods(), endpoint.exclude());
        EndpointService {
            endpoint,
            allowed,
            no_store: false,
        }
    }

    /// The same service, every answer of it marked `Cache-Control:
    /// no-store` (see [`Service::no_store`]).
    pub(crate) fn never_stored(mut self) -> EndpointService<E> {
        self.no_store = true;
        self
    }
}

impl<E: Endpoint> Service for EndpointService<E> {
    fn allowed(&self) -> MethodSet {
        self.allowed
    }

    fn call(&self, method: Method, req: &mut Request) -> HandlerResult {
        call_endpoint(&self.endpoint, method, req)
    }

    fn access(&self, method: Method) -> Access {
        self.endpoint.access(method)
    }

    fn inline(&self) -> bool {
        self.endpoint.inline()
    }

    fn doc(&self, method: Method) -> Option<OperationDoc> {
        self.endpoint.doc(method)
    }

    fn no_store(&self) -> bool {
        self.no_store
    }

    fn rate_limit(&self, method: Method) -> Option<RateLimit> {
        self.endpoint.rate_limit(method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_methods_follow_declarations() {
        let s = offered(Some(&[Method::Get, Method::Post]), &[]);
        assert_eq!(s.to_allow_header(), "GET, HEAD, POST, OPTIONS");
        let s = offered(None, &[Method::Delete]);
        assert_eq!(s.to_allow_header(), "GET, HEAD, POST, PUT, PATCH, OPTIONS");
        let s = offered(Some(&[Method::Post]), &[]);
        assert_eq!(s.to_allow_header(), "POST, OPTIONS");
    }
}
