//! The request flow after parsing: router → method → auth → endpoint, and the
//! mapping of every failure to a response. The first half ([`AppState::route`])
//! runs on the event loop; the second ([`AppState::execute`]) runs on a worker,
//! or inline for handlers that never block.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::auth::Authenticator;
use crate::backend::Backend;
use crate::endpoint::Service;
use crate::error::ApiError;
use crate::http::method::{Method, MethodSet};
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::status::StatusCode;
use crate::log::Logger;
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
    pub(crate) backend: Option<Arc<dyn Backend>>,
}

/// A request matched to its handler, ready to run.
pub(crate) struct Routed {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) request: Request,
}

/// What routing decided.
pub(crate) enum Plan {
    /// Answer now (errors, `OPTIONS`, inline handlers).
    Respond(Response),
    /// Run the handler on the worker pool.
    Run(Routed),
}

impl AppState {
    /// Routes `req`, applies method rules and authentication, and runs inline
    /// handlers on the spot.
    pub(crate) fn route(&self, mut req: Request) -> Plan {
        let method = req.method;
        let (entry, params) = match self.router.lookup(req.path()) {
            Ok(found) => found,
            Err(e) => return Plan::Respond(ApiError::from(e).into_response()),
        };
        let allowed = entry.allowed;
        if method == Method::Options {
            let allow = allowed.to_allow_header();
            return Plan::Respond(
                Response::new(StatusCode::NO_CONTENT).with_header("Allow", allow),
            );
        }
        if !allowed.contains(method) {
            return Plan::Respond(
                ApiError::Route(RouteError::MethodNotAllowed { allow: allowed }).into_response(),
            );
        }
        req.params = params;
        let access_method = if method == Method::Head {
            Method::Get
        } else {
            method
        };
        let access = entry.service.access(access_method);
        if let Err(e) = self.auth.authorize(&access, &mut req) {
            return Plan::Respond(e.into_response());
        }
        let routed = Routed {
            service: Arc::clone(&entry.service),
            request: req,
        };
        if entry.service.inline() {
            Plan::Respond(self.execute(routed))
        } else {
            Plan::Run(routed)
        }
    }

    /// Runs the handler; a panic becomes a `500` and the server carries on.
    pub(crate) fn execute(&self, routed: Routed) -> Response {
        let Routed {
            service,
            mut request,
        } = routed;
        if request.backend.is_none() {
            request.backend.clone_from(&self.backend);
        }
        let method = match request.method {
            Method::Head => Method::Get,
            m => m,
        };
        let allowed = service.allowed();
        let result = catch_unwind(AssertUnwindSafe(|| service.call(method, &request)));
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
        match outcome {
            Ok(response) => response,
            Err(e) => self.error_response(e, allowed, &request),
        }
    }

    fn error_response(&self, e: ApiError, allowed: MethodSet, req: &Request) -> Response {
        if let Some(cause) = e.log_cause() {
            self.log
                .error(&format!("{} {} failed: {cause}", req.method, req.path()));
        }
        match e {
            ApiError::Route(RouteError::MethodNotAllowed { allow }) if allow.is_empty() => {
                // A verb the endpoint did not implement: `Allow` comes from
                // the route, minus that verb.
                let allow = allowed.without(req.method);
                ApiError::Route(RouteError::MethodNotAllowed { allow }).into_response()
            }
            e => e.into_response(),
        }
    }
}
