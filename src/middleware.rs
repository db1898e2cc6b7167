//! Middleware: user code that runs before the endpoint (and may answer
//! early) and after it (and may change the response).
//!
//! Middlewares run in declared order before the endpoint and in reverse
//! order after it. An early answer skips the endpoint and the `before` of
//! later middlewares, but still passes through the `after` of those that ran.
//! `before` runs on the event loop for every request, so it must not block;
//! `after` runs wherever the response was made.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::http::{Request, Response};

/// A request/response hook.
///
/// ```
/// use lightapi::middleware::Middleware;
/// use lightapi::{LightApi, Request, Response};
///
/// /// Refuses requests without an API version header.
/// struct RequireVersion;
/// impl Middleware for RequireVersion {
///     fn before(&self, req: &mut Request) -> Option<Response> {
///         req.header("x-api-version").is_none().then(|| {
///             lightapi::ApiError::bad_request("X-Api-Version is required").into_response()
///         })
///     }
/// }
/// let _app = LightApi::new().middleware(RequireVersion);
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Runs before routing; `Some(response)` answers early.
    fn before(&self, req: &mut Request) -> Option<Response> {
        let _ = req;
        None
    }

    /// Runs on every response, the endpoint's or an early one.
    fn after(&self, req: &Request, resp: &mut Response) {
        let _ = (req, resp);
    }
}

/// Adds `Server-Timing: app;dur=<ms>` with the time from the start of
/// routing to the response.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timing;

struct Started(Instant);

impl Middleware for Timing {
    fn before(&self, req: &mut Request) -> Option<Response> {
        req.insert_extension(Started(Instant::now()));
        None
    }

    fn after(&self, req: &Request, resp: &mut Response) {
        if let Some(Started(t)) = req.extension::<Started>() {
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            resp.remove_header("Server-Timing");
            resp.insert_header("Server-Timing", format!("app;dur={ms:.3}"));
        }
    }
}

/// Gives every request an id: the client's `X-Request-Id` when it is a
/// short token, else a fresh one; echoed in the response's `X-Request-Id`.
#[derive(Debug, Default)]
pub struct RequestId {
    counter: AtomicU64,
}

/// The id [`RequestId`] gave the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIdValue(pub String);

impl Middleware for RequestId {
    fn before(&self, req: &mut Request) -> Option<Response> {
        let given = req
            .header("x-request-id")
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            })
            .map(str::to_string);
        let id = given.unwrap_or_else(|| {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            format!("{:x}-{n:x}", std::process::id())
        });
        req.insert_extension(RequestIdValue(id));
        None
    }

    fn after(&self, req: &Request, resp: &mut Response) {
        if let Some(RequestIdValue(id)) = req.extension::<RequestIdValue>() {
            resp.remove_header("X-Request-Id");
            resp.insert_header("X-Request-Id", id.clone());
        }
    }
}
