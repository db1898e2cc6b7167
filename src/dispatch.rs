//! The request flow after parsing, and the mapping of every failure to a
//! response.
//!
//! [`AppState::admit`] decides from the head alone — `before` middlewares,
//! routing, method rules, `OPTIONS`, authentication — so a request that
//! will be refused is answered before any of its body is read.
//! [`AppState::run`] then runs an admitted request on the event loop:
//! handlers that never block answer at once; the generated routes plan
//! their database work there and either run a short read on the event
//! loop's own connection, or hand the work to the database's threads and
//! answer when it is done ([`AppState::resume`]); anything that may block
//! goes to a worker ([`AppState::execute`]). User code runs under
//! `catch_unwind` everywhere: a panic is a `500` and the server carries on.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Access, Authenticator, ClaimsExt};
use crate::backend::work::Work;
use crate::backend::{BackendError, Engine, LocalReader, WriteOutput};
use crate::cors::Cors;
use crate::endpoint::{Continuation, HandlerResult, Service, Step};
use crate::error::ApiError;
use crate::http::{Method, MethodSet, Request, Response, StatusCode};
use crate::log::Logger;
use crate::metrics::{HttpMetrics, RouteId};
use crate::middleware::Middleware;
use crate::ratelimit::{Budgets, Limiter, RateLimits};
use crate::router::{RouteError, Router};

/// How long a read may run on an event loop's own connection before it is
/// stopped and run on a worker instead: the most one slow query can delay
/// the other connections of that event loop.
pub(crate) const EVENT_LOOP_READ_BUDGET: Duration = Duration::from_millis(2);

/// A registered route.
pub(crate) struct RouteEntry {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) allowed: MethodSet,
    /// The route's slot in the metrics.
    pub(crate) metric: RouteId,
    /// The rate limits of each verb (`HEAD` as `GET`), in the order they
    /// are checked.
    pub(crate) limits: Vec<(Method, Arc<Limiter>)>,
}

/// Everything the threads of a running server share, read-only.
pub(crate) struct AppState {
    pub(crate) router: Router<RouteEntry>,
    pub(crate) auth: Authenticator,
    pub(crate) log: Logger,
    /// The application's database as the server drives it.
    pub(crate) engine: Option<Arc<dyn Engine>>,
    /// The same database (an `Arc<dyn Backend>`), attached to every request
    /// a handler sees.
    pub(crate) backend: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) middleware: Vec<Arc<dyn Middleware>>,
    pub(crate) cors: Option<Cors>,
    /// The HTTP metrics, when the metrics route is on.
    pub(crate) metrics: Option<Arc<HttpMetrics>>,
    /// The rate limit policies and their counters.
    pub(crate) rate_limits: RateLimits,
}

/// A request matched to its handler, ready to run on a worker; with its
/// planned database work when it was planned already.
pub(crate) struct Routed {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) request: Request,
    pub(crate) step: Option<Step>,
}

/// What the route a request was admitted to asks of its answer, attached
/// to the request (once, and only when something is asked) for
/// [`AppState::finish`], which applies it after the middlewares, which
/// cannot take it off.
#[derive(Default)]
struct Answering {
    /// Every answer carries `Cache-Control: no-store`
    /// ([`Service::no_store`]).
    no_store: bool,
    /// How long a `GET`/`HEAD` answer may be reused ([`Service::max_age`]).
    max_age: Option<Duration>,
    /// The method needs a token: the answer depends on `Authorization`,
    /// and says so in `Vary`.
    needs_token: bool,
    /// The rate limits counted, for the `RateLimit` headers.
    budgets: Option<Budgets>,
}

impl Answering {
    /// Attaches `self` to `req` when it asks anything.
    fn attach(self, req: &mut Request) {
        if self.no_store || self.max_age.is_some() || self.needs_token || self.budgets.is_some() {
            req.insert_extension(self);
        }
    }
}

/// What the head of a request decided.
pub(crate) enum Admission<'a> {
    /// Run this handler once the body (if any) has arrived.
    Proceed(&'a Arc<dyn Service>),
    /// Answer this at once (an error, `OPTIONS`, a middleware's answer).
    Answer(Response),
}

/// Where an admitted request goes next.
pub(crate) enum Run {
    /// Answered.
    Respond(Response),
    /// Database work for the database's own threads; the answer is made
    /// with `then` once the result is back on this event loop.
    Query { work: Work, then: Continuation },
    /// To a worker, taking the request (the connection keeps a blank one).
    Worker(Box<Routed>),
}

impl AppState {
    /// Decides from the head of `req`: the `before` middlewares, routing,
    /// method rules, CORS preflight and `OPTIONS`, authentication. `route`
    /// is set to the matched route's metrics slot.
    pub(crate) fn admit(&self, req: &mut Request, route: &mut RouteId) -> Admission<'_> {
        let decided = catch_unwind(AssertUnwindSafe(|| self.admit_inner(req, route)));
        match decided {
            Ok(Ok(service)) => Admission::Proceed(service),
            Ok(Err((mut resp, ran))) => {
                self.finish(req, &mut resp, ran);
                Admission::Answer(resp)
            }
            Err(payload) => {
                let e = panic_error(payload.as_ref());
                let mut resp = self.error_response(e, MethodSet::EMPTY, req);
                self.finish(req, &mut resp, 0);
                Admission::Answer(resp)
            }
        }
    }

    /// The handler of `req`, or the answer and how many `before`
    /// middlewares ran.
    fn admit_inner(
        &self,
        req: &mut Request,
        route: &mut RouteId,
    ) -> Result<&Arc<dyn Service>, (Response, usize)> {
        for (i, mw) in self.middleware.iter().enumerate() {
            if let Some(resp) = mw.before(req) {
                return Err((resp, i + 1));
            }
        }
        let ran = self.middleware.len();
        let method = req.method();
        if req.is_asterisk() {
            // `OPTIONS *` asks about the server as a whole (RFC 9110 §9.3.7).
            let resp = Response::new(StatusCode::NO_CONTENT)
                .with_header("Allow", MethodSet::ALL.to_allow_header());
            return Err((resp, ran));
        }
        let (entry, params) = self
            .router
            .lookup(req.path())
            .map_err(|e| (ApiError::from(e).into_response(), ran))?;
        *route = entry.metric;
        let mut answering = Answering {
            no_store: entry.service.no_store(),
            max_age: entry
                .service
                .max_age()
                .filter(|_| matches!(method, Method::Get | Method::Head)),
            ..Answering::default()
        };
        let allowed = entry.allowed;
        if method == Method::Options {
            answering.attach(req);
            return Err((self.options(&*entry.service, allowed, req), ran));
        }
        if !allowed.contains(method) {
            answering.attach(req);
            let e = ApiError::Route(RouteError::MethodNotAllowed { allow: allowed });
            return Err((e.into_response(), ran));
        }
        req.set_params(params);
        let access_method = if method == Method::Head {
            Method::Get
        } else {
            method
        };
        let access = entry.service.access(access_method);
        answering.needs_token = !access.is_public();
        let authorized = self.auth.authorize(&access, req);
        let limited = match (&authorized, entry.limits.is_empty()) {
            (Ok(()), false) => {
                let (budgets, decided) = self.limit(&entry.limits, access_method, req);
                answering.budgets = budgets;
                decided
            }
            _ => Ok(()),
        };
        answering.attach(req);
        authorized.map_err(|e| (ApiError::from(e).into_response(), ran))?;
        limited.map_err(|e| (e.into_response(), ran))?;
        Ok(&entry.service)
    }

    /// Counts `req` against the route's rate limits for `method`: the
    /// budgets, for the answer's headers, and the decision.
    fn limit(
        &self,
        limits: &[(Method, Arc<Limiter>)],
        method: Method,
        req: &Request,
    ) -> (Option<Budgets>, Result<(), ApiError>) {
        let of_method = limits
            .iter()
            .filter(|(m, _)| *m == method)
            .map(|(_, limiter)| limiter);
        let subject = req.claims().and_then(|c| c.sub());
        let (budgets, decided) =
            self.rate_limits
                .check(of_method, req, subject, std::time::Instant::now());
        (budgets, decided.map_err(ApiError::from))
    }

    /// `OPTIONS` on a route: a CORS preflight, or the route's `Allow` list
    /// — public when one of its methods is, otherwise for a valid token.
    fn options(&self, service: &dyn Service, allowed: MethodSet, req: &mut Request) -> Response {
        if let Some(cors) = &self.cors {
            if Cors::is_preflight(req) {
                return cors.preflight(req, allowed);
            }
        }
        let public = allowed
            .iter()
            .filter(|&m| m != Method::Options && m != Method::Head)
            .any(|m| service.access(m).is_public());
        if !public {
            if let Err(e) = self.auth.authorize(&Access::Authenticated, req) {
                return ApiError::from(e).into_response();
            }
        }
        Response::new(StatusCode::NO_CONTENT).with_header("Allow", allowed.to_allow_header())
    }

    /// Runs an admitted request (its body received) on the event loop, as
    /// far as it can go without blocking. `local` is the event loop's own
    /// read connection, if the database gives one.
    pub(crate) fn run(
        &self,
        service: &Arc<dyn Service>,
        req: &mut Request,
        local: Option<&dyn LocalReader>,
    ) -> Run {
        if service.inline() {
            return Run::Respond(self.execute(&**service, req));
        }
        self.prepare(req);
        let method = req.method();
        let planned = catch_unwind(AssertUnwindSafe(|| service.plan(method, req)));
        let step = match planned {
            Ok(Some(step)) => step,
            Ok(None) => return self.to_worker(service, req, None),
            Err(payload) => {
                let e = panic_error(payload.as_ref());
                return Run::Respond(self.complete(Err(e), service.allowed(), req));
            }
        };
        let (work, then) = match step {
            Step::Done(result) => {
                return Run::Respond(self.complete(result, service.allowed(), req))
            }
            Step::Query { work, then } => (work, then),
        };
        let work = match (work, local) {
            (work @ (Work::Read(_) | Work::Query { .. } | Work::Queries(_)), Some(local)) => {
                let Work::Read(job) = work.into_job() else {
                    return Run::Respond(self.complete(
                        Err(ApiError::internal("a read planned as a write")),
                        service.allowed(),
                        req,
                    ));
                };
                return match local.run(job, EVENT_LOOP_READ_BUDGET) {
                    // Too slow for the event loop: again on a worker,
                    // waiting as long as it takes.
                    Err(BackendError::Interrupted) => self.to_worker(service, req, None),
                    out => Run::Respond(self.resume(req, then, out)),
                };
            }
            (work, _) => work,
        };
        let kind = work.kind();
        match &self.engine {
            Some(engine) if engine.queues(kind) => Run::Query { work, then },
            _ => self.to_worker(service, req, Some(Step::Query { work, then })),
        }
    }

    fn to_worker(&self, service: &Arc<dyn Service>, req: &mut Request, step: Option<Step>) -> Run {
        Run::Worker(Box::new(Routed {
            service: Arc::clone(service),
            request: std::mem::replace(req, Request::blank()),
            step,
        }))
    }

    /// What every handler may expect of its request: the database attached,
    /// and `HEAD` served as the `GET` it mirrors (so headers such as
    /// `Content-Length` match GET's exactly).
    fn prepare(&self, req: &mut Request) {
        if let Some(backend) = &self.backend {
            req.extensions_mut().insert_persistent(backend);
        }
        req.serve_head_as_get();
    }

    /// Runs a request on this thread, waiting as long as it takes: its
    /// planned work, or the handler.
    pub(crate) fn execute(&self, service: &dyn Service, request: &mut Request) -> Response {
        self.prepare(request);
        let method = request.method();
        let result = catch_unwind(AssertUnwindSafe(|| service.call(method, request)))
            .unwrap_or_else(|payload| Err(panic_error(payload.as_ref())));
        self.complete(result, service.allowed(), request)
    }

    /// Runs a request's planned work here, waiting for the database, and
    /// answers it.
    pub(crate) fn execute_step(
        &self,
        step: Step,
        allowed: MethodSet,
        req: &mut Request,
    ) -> Response {
        let result = catch_unwind(AssertUnwindSafe(|| match &self.engine {
            Some(engine) => step.run(engine.as_backend(), req),
            None => Err(ApiError::internal("database work without a database")),
        }))
        .unwrap_or_else(|payload| Err(panic_error(payload.as_ref())));
        self.complete(result, allowed, req)
    }

    /// Answers a request from its database work's result.
    pub(crate) fn resume(
        &self,
        req: &Request,
        then: Continuation,
        out: Result<WriteOutput, BackendError>,
    ) -> Response {
        let result = catch_unwind(AssertUnwindSafe(|| then(req, out)))
            .unwrap_or_else(|payload| Err(panic_error(payload.as_ref())));
        self.complete(result, MethodSet::EMPTY, req)
    }

    /// A handler's result as the response sent: errors as problem
    /// documents, then the `after` middlewares and CORS.
    fn complete(&self, result: HandlerResult, allowed: MethodSet, req: &Request) -> Response {
        let mut response = match result {
            Ok(response) => response,
            Err(e) => self.error_response(e, allowed, req),
        };
        self.finish(req, &mut response, self.middleware.len());
        response
    }

    /// Passes a response through the `after` hooks of the first `ran`
    /// middlewares (in reverse), adds CORS headers, `Vary: Authorization`
    /// where a token was needed, and `Cache-Control`.
    fn finish(&self, req: &Request, resp: &mut Response, ran: usize) {
        if let Some(done) = self.middleware.get(..ran) {
            for mw in done.iter().rev() {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| mw.after(req, resp))) {
                    // What the hook had done to the response is unknown: it
                    // is replaced by the panic's `500`.
                    *resp =
                        self.error_response(panic_error(payload.as_ref()), MethodSet::EMPTY, req);
                }
            }
        }
        if let Some(cors) = &self.cors {
            if !Cors::is_preflight(req) {
                cors.decorate(req, resp);
            }
        }
        let answering = req.extension::<Answering>();
        if let Some(a) = answering {
            if a.needs_token {
                resp.add_vary("Authorization");
            }
            if let Some(budgets) = &a.budgets {
                budgets.write_into(resp);
            }
            if a.no_store {
                resp.remove_header("Cache-Control");
                resp.insert_header("Cache-Control", "no-store");
                return;
            }
        }
        if resp.status().as_u16() >= 400 || resp.header("Cache-Control").is_some() {
            return;
        }
        let private = req.claims().is_some();
        let value = match (answering.and_then(|a| a.max_age), private) {
            (Some(age), _) => match (age.as_secs(), private) {
                (0, false) => "no-cache".to_owned(),
                (0, true) => "private, no-cache".to_owned(),
                (secs, false) => format!("public, max-age={secs}"),
                (secs, true) => format!("private, max-age={secs}"),
            },
            // What a token unlocked is the caller's alone: shared caches
            // must not keep it, and the caller's own cache revalidates
            // (with the ETag, where there is one) before reusing it.
            (None, true) => "private, no-cache".to_owned(),
            (None, false) => return,
        };
        resp.insert_header("Cache-Control", value);
    }

    fn error_response(&self, e: ApiError, allowed: MethodSet, req: &Request) -> Response {
        if let Some(cause) = e.log_cause() {
            self.log
                .error(&format!("{} {} failed: {cause}", req.method(), req.path()));
        }
        match e {
            ApiError::Route(RouteError::MethodNotAllowed { allow }) if allow.is_empty() => {
                // A verb the endpoint did not implement: `Allow` comes from
                // the route, minus that verb.
                let allow = allowed.without(req.method());
                ApiError::Route(RouteError::MethodNotAllowed { allow }).into_response()
            }
            e => e.into_response(),
        }
    }
}

/// A panic of user code as the error it answers with.
fn panic_error(payload: &(dyn Any + Send)) -> ApiError {
    ApiError::Panic {
        cause: panic_message(payload),
    }
}

/// A panic's message, when it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}
