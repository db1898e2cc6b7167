//! Middleware: user code that runs before the endpoint (and may answer
//! early) and after it (and may change the response).
//!
//! Middlewares run in declared order before the endpoint and in reverse
//! order after it. An early answer skips the endpoint and the `before` of
//! later middlewares, but still passes through the `after` of those that ran.
//! `before` runs on the event loop for every request, so it must not block;
//! `after` runs wherever the response was made.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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
///
/// The server answers every request with an `X-Request-Id` already; this
/// middleware also hands the id to handlers ([`RequestIdValue`]). Its id
/// is then the one the response carries and the access line records.
///
/// A fresh id is 32 lowercase hexadecimal digits, the first 128 bits of
/// HMAC-SHA-256 over a counter under a key drawn once per process: ids are
/// unique within a process (the counter is the process's, shared by every
/// `RequestId`) and say nothing about it (not its process id, not how many
/// requests it has seen).
#[derive(Debug, Default)]
pub struct RequestId {
    _private: (),
}

/// How many fresh request ids this process has made.
static FRESH_IDS: AtomicU64 = AtomicU64::new(0);

/// The key fresh request ids are made with, drawn on first use.
fn request_id_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
        if read.is_err() {
            // No system randomness: what little this process can see that
            // another cannot (the time, where its stack lies).
            let marker = 0u8;
            let mut h = Sha256::new();
            h.update(format!("{:?}", SystemTime::now()).as_bytes());
            h.update(format!("{:p}", &marker).as_bytes());
            h.update(std::process::id().to_le_bytes());
            key.copy_from_slice(&h.finalize());
        }
        key
    })
}

/// The fresh id number `n`: 128 bits of HMAC-SHA-256 of `n` under `key`,
/// as 32 lowercase hexadecimal digits.
fn opaque_id(key: &[u8; 32], n: u64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(&n.to_le_bytes());
    let tag = mac.finalize().into_bytes();
    crate::hex::encode(tag.get(..16).unwrap_or_default())
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
            let n = FRESH_IDS.fetch_add(1, Ordering::Relaxed);
            opaque_id(request_id_key(), n)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_id(ids: &RequestId) -> String {
        let mut req = Request::new(crate::http::Method::Get, "/");
        assert!(ids.before(&mut req).is_none());
        req.extension::<RequestIdValue>().unwrap().0.clone()
    }

    #[test]
    fn fresh_ids_are_opaque() {
        let ids = RequestId::default();
        // The old form was `<pid in hex>-<counter in hex>`. (A random id
        // may well contain a short pid's digits somewhere, so only the form
        // is checked.)
        let old_prefix = format!("{:x}-", std::process::id());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..64 {
            let id = fresh_id(&ids);
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
            assert!(!id.starts_with(&old_prefix), "{id}");
            assert!(!id.contains('-'), "{id}");
            assert!(seen.insert(id));
        }
        // Another instance in the same process does not repeat them.
        let other = RequestId::default();
        for _ in 0..64 {
            assert!(seen.insert(fresh_id(&other)));
        }
    }

    #[test]
    fn opaque_id_depends_on_key_and_counter() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_ne!(opaque_id(&a, 0), opaque_id(&a, 1));
        assert_ne!(opaque_id(&a, 0), opaque_id(&b, 0));
        assert_eq!(opaque_id(&a, 7), opaque_id(&a, 7));
        assert_eq!(opaque_id(&a, 7).len(), 32);
    }

    #[test]
    fn a_well_formed_client_id_is_kept() {
        let ids = RequestId::default();
        let mut req =
            Request::new(crate::http::Method::Get, "/").with_header("X-Request-Id", "abc-1.X_y");
        ids.before(&mut req);
        assert_eq!(req.extension::<RequestIdValue>().unwrap().0, "abc-1.X_y");
    }
}
