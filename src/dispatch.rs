//! The request flow after parsing: router → method → auth → endpoint, and the
//! mapping of every failure to a response. The first half ([`AppState::route`])
//! runs on the event loop; the second ([`AppState::execute`]) runs on a worker,
//! or inline for handlers that never block.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::auth::{Access, Authenticator};
use crate::cors::Cors;
use crate::endpoint::Service;
use crate::error::ApiError;
use crate::http::{Method, MethodSet, Request, Response, StatusCode};
use crate::log::Logger;
use crate::middleware::Middleware;
use crate::router::{RouteError, Router};

/// A registered route.
pub(crate) struct RouteEntry {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) allowed: MethodSet,
}

/// Everything the threads of a running server share, read-only.
pub(crate) struct AppState {
    pub(crate) router: Router<RouteEntry>,
    pub(crate) auth: Authenticator,
    pub(crate) log: Logger,
    /// The application's database (an `Arc<dyn Backend>`), attached to
    /// every request a handler sees.
    pub(crate) backend: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) middleware: Vec<Arc<dyn Middleware>>,
    pub(crate) cors: Option<Cors>,
}

/// A request matched to its handler, ready to run.
pub(crate) struct Routed {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) request: Request,
}

/// Where a request goes after routing, method rules and authentication.
enum Routing<'a> {
    /// To this handler.
    Found(&'a Arc<dyn Service>),
    /// Nowhere: this answer (an error, `OPTIONS`) goes back at once.
    Answer(Response),
}

/// What routing decided.
pub(crate) enum Plan {
    /// Answer now (errors, `OPTIONS`, inline handlers).
    Respond(Response),
    /// Run the handler on the worker pool.
    Run(Box<Routed>),
}

impl AppState {
    /// Runs the `before` middlewares, routes `req`, applies method rules,
    /// CORS preflight and authentication, and runs inline handlers on the
    /// spot. A request that goes to the worker pool is taken out of `req`
    /// (leaving a blank one); otherwise `req` stays with the caller, whose
    /// buffers the next request on the connection reuses.
    pub(crate) fn route(&self, req: &mut Request) -> Plan {
        for (i, mw) in self.middleware.iter().enumerate() {
            if let Some(mut resp) = mw.before(req) {
                self.finish(req, &mut resp, i + 1);
                return Plan::Respond(resp);
            }
        }
        match self.route_inner(req) {
            Routing::Found(service) if service.inline() => {
                Plan::Respond(self.execute(&**service, req))
            }
            Routing::Found(service) => Plan::Run(Box::new(Routed {
                service: Arc::clone(service),
                request: std::mem::replace(req, Request::blank()),
            })),
            Routing::Answer(mut resp) => {
                self.finish(req, &mut resp, self.middleware.len());
                Plan::Respond(resp)
            }
        }
    }

    fn route_inner(&self, req: &mut Request) -> Routing<'_> {
        let method = req.method();
        if req.is_asterisk() {
            // `OPTIONS *` asks about the server as a whole (RFC 9110 §9.3.7).
            return Routing::Answer(
                Response::new(StatusCode::NO_CONTENT)
                    .with_header("Allow", MethodSet::ALL.to_allow_header()),
            );
        }
        let (entry, params) = match self.router.lookup(req.path()) {
            Ok(found) => found,
            Err(e) => return Routing::Answer(ApiError::from(e).into_response()),
        };
        let allowed = entry.allowed;
        if method == Method::Options {
            return self.options(&*entry.service, allowed, req);
        }
        if !allowed.contains(method) {
            let e = ApiError::Route(RouteError::MethodNotAllowed { allow: allowed });
            return Routing::Answer(e.into_response());
        }
        req.set_params(params);
        let access_method = if method == Method::Head {
            Method::Get
        } else {
            method
        };
        let access = entry.service.access(access_method);
        if let Err(e) = self.auth.authorize(&access, req) {
            return Routing::Answer(ApiError::from(e).into_response());
        }
        Routing::Found(&entry.service)
    }

    /// `OPTIONS` on a route: a CORS preflight, or the route's `Allow` list
    /// — public when one of its methods is, otherwise for a valid token.
    fn options(&self, service: &dyn Service, allowed: MethodSet, req: &mut Request) -> Routing<'_> {
        if let Some(cors) = &self.cors {
            if Cors::is_preflight(req) {
                return Routing::Answer(cors.preflight(req, allowed));
            }
        }
        let public = allowed
            .iter()
            .filter(|&m| m != Method::Options && m != Method::Head)
            .any(|m| service.access(m).is_public());
        if !public {
            if let Err(e) = self.auth.authorize(&Access::Authenticated, req) {
                return Routing::Answer(ApiError::from(e).into_response());
            }
        }
        Routing::Answer(
            Response::new(StatusCode::NO_CONTENT).with_header("Allow", allowed.to_allow_header()),
        )
    }

    /// Runs the handler; a panic becomes a `500` and the server carries on.
    pub(crate) fn execute(&self, service: &dyn Service, request: &mut Request) -> Response {
        // Handlers reach the database through the request; attached here,
        // once, for every kind of route.
        if let Some(backend) = &self.backend {
            request.extensions_mut().insert_persistent(backend);
        }
        // A HEAD request is a GET whose body is not sent: the handler sees GET
        // so that headers such as Content-Length match GET's exactly.
        request.serve_head_as_get();
        let method = request.method();
        let result = catch_unwind(AssertUnwindSafe(|| service.call(method, request)));
        let outcome = match result {
            Ok(r) => r,
            Err(payload) => {
                let cause = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "handler panicked".to_string());
                Err(ApiError::Panic { cause })
            }
        };
        let mut response = match outcome {
            Ok(response) => response,
            Err(e) => self.error_response(e, service.allowed(), request),
        };
        self.finish(request, &mut response, self.middleware.len());
        response
    }

    /// Passes a response through the `after` hooks of the first `ran`
    /// middlewares (in reverse) and adds CORS headers.
    fn finish(&self, req: &Request, resp: &mut Response, ran: usize) {
        if let Some(done) = self.middleware.get(..ran) {
            for mw in done.iter().rev() {
                let _ = catch_unwind(AssertUnwindSafe(|| mw.after(req, resp)));
            }
        }
        if let Some(cors) = &self.cors {
            if !Cors::is_preflight(req) {
                cors.decorate(req, resp);
            }
        }
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
