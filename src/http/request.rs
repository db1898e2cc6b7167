//! The request a handler receives.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;

use super::headers::Headers;
use super::method::Method;
use super::parse::{split_target, Version};
use crate::error::ApiError;

/// Path parameters captured by `{name}` segments, in pattern order.
pub type Params = Vec<(Arc<str>, String)>;

/// An HTTP request with its body fully received.
///
/// Handlers get the method, path, path parameters, the decoded query, the
/// headers, the body as bytes and as JSON, and (with authentication on) the
/// caller's verified claims.
///
/// ```
/// use lightapi::{Method, Request};
/// let req = Request::new(Method::Post, "/person?x=1")
///     .with_header("Content-Type", "application/json")
///     .with_body(br#"{"name":"Ada"}"#.to_vec());
/// assert_eq!(req.path(), "/person");
/// assert_eq!(req.query_param("x"), Some("1"));
/// assert_eq!(req.json().unwrap()["name"], "Ada");
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) version: Version,
    pub(crate) target: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
    pub(crate) params: Params,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) claims: Option<crate::auth::Claims>,
    pub(crate) backend: Option<Arc<dyn crate::backend::Backend>>,
    pub(crate) crud: Option<Arc<crate::crud::Crud>>,
    pub(crate) extensions: crate::middleware::Extensions,
}

impl Request {
    /// A request for tests and for calling endpoints directly. A query in
    /// `target` is decoded; an undecodable one is kept raw but yields no
    /// parameters.
    pub fn new(method: Method, target: &str) -> Request {
        let query = split_target(target)
            .1
            .and_then(|q| super::query::parse_query(q).ok())
            .unwrap_or_default();
        Request {
            method,
            target: target.to_string(),
            query,
            ..Request::blank()
        }
    }

    /// A request with nothing in it, allocating nothing: the slot a
    /// connection parses its next request into.
    pub(crate) fn blank() -> Request {
        Request {
            method: Method::Get,
            version: Version::Http11,
            target: String::new(),
            query: Vec::new(),
            headers: Headers::new(),
            body: Vec::new(),
            params: Vec::new(),
            peer: None,
            claims: None,
            backend: None,
            crud: None,
            extensions: crate::middleware::Extensions::default(),
        }
    }

    /// Forgets everything one request carried, keeping the buffers (target,
    /// fields, and a body buffer of up to `keep_body` bytes) for the next
    /// request on the same connection. The application's backend stays: it
    /// is the same for every request.
    pub(crate) fn recycle(&mut self, keep_body: usize) {
        self.target.clear();
        self.query.clear();
        self.headers.clear();
        if self.body.capacity() > keep_body {
            // One large upload does not pin its buffer to the connection.
            self.body = Vec::new();
        } else {
            self.body.clear();
        }
        self.params.clear();
        self.claims = None;
        self.crud = None;
        self.extensions.clear();
    }

    /// Bytes held by the reusable buffers.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.target.capacity() + self.headers.capacity_bytes() + self.body.capacity()
    }

    /// Adds a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push(name.as_bytes(), value.as_bytes());
        self
    }

    /// Sets the body (builder style).
    #[must_use]
    pub fn with_body(mut self, body: Vec<u8>) -> Request {
        self.body = body;
        self
    }

    /// Sets a path parameter (builder style).
    #[must_use]
    pub fn with_param(mut self, name: &str, value: &str) -> Request {
        self.params.push((Arc::from(name), value.to_string()));
        self
    }

    /// Sets the caller's claims (builder style).
    #[must_use]
    pub fn with_claims(mut self, claims: crate::auth::Claims) -> Request {
        self.claims = Some(claims);
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The path, still percent-encoded as sent.
    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    /// The raw query string, without `?`.
    pub fn raw_query(&self) -> Option<&str> {
        split_target(&self.target).1
    }

    /// The decoded query parameters, in order.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// `400` when the body is empty or not valid JSON, `415` when a
    /// `Content-Type` other than JSON was sent.
    pub fn json(&self) -> Result<Value, ApiError> {
        if let Some(ct) = self.header("content-type") {
            if !is_json_media_type(ct) {
                return Err(ApiError::UnsupportedMediaType);
            }
        }
        if self.body.is_empty() {
            return Err(ApiError::BadRequest {
                detail: "the request body is empty; a JSON document was expected".into(),
            });
        }
        serde_json::from_slice(&self.body).map_err(|e| ApiError::BadRequest {
            detail: format!("the request body is not valid JSON: {e}"),
        })
    }

    /// The value of path parameter `name` (percent-decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every path parameter, in pattern order.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The client's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The application's database, in handlers of an application that has
    /// one (any model registered). Run your own parameterised SQL with
    /// [`crate::backend::read_with`] and [`crate::backend::write_with`].
    pub fn backend(&self) -> Option<&Arc<dyn crate::backend::Backend>> {
        self.backend.as_ref()
    }

    /// The generated operations of the model this endpoint is tied to (see
    /// [`crate::crud::Resource::endpoint`]).
    pub fn crud(&self) -> Option<&crate::crud::Crud> {
        self.crud.as_deref()
    }

    /// Attaches a value for later middleware or the handler (one per type).
    pub fn insert_extension<T: std::any::Any + Send + Sync>(&mut self, value: T) {
        self.extensions.insert(value);
    }

    /// A value attached with [`Request::insert_extension`].
    pub fn extension<T: std::any::Any + Send + Sync>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }

    /// The verified JWT claims of the caller, on authenticated routes.
    pub fn claims(&self) -> Option<&crate::auth::Claims> {
        self.claims.as_ref()
    }
}

/// Whether a `Content-Type` value names JSON (`application/json` or a
/// `+json` suffix), ignoring parameters.
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5
            && essence
                .get(essence.len() - 5..)
                .is_some_and(|s| s.eq_ignore_ascii_case("+json"))
            && essence
                .get(..12)
                .is_some_and(|s| s.eq_ignore_ascii_case("application/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
        assert!(!is_json_media_type("text/+json"));
    }

    #[test]
    fn recycling_clears_everything_and_drops_a_large_body_buffer() {
        const KEEP: usize = 4096;
        let mut r = Request::new(Method::Post, "/a/1?x=1")
            .with_header("X", "y")
            .with_param("id", "1")
            .with_body(vec![b'z'; 10]);
        r.insert_extension(5u8);
        r.recycle(KEEP);
        assert!(r.target.is_empty() && r.query().is_empty() && r.headers().is_empty());
        assert!(r.params().is_empty() && r.body().is_empty() && r.extension::<u8>().is_none());
        assert!(r.body.capacity() >= 10, "a small body buffer is kept");
        r.body = vec![0; KEEP + 1];
        r.recycle(KEEP);
        assert_eq!(r.body.capacity(), 0, "a large one is not");
    }

    #[test]
    fn json_errors() {
        let r = Request::new(Method::Post, "/").with_body(b"{".to_vec());
        assert!(matches!(r.json(), Err(ApiError::BadRequest { .. })));
        let r = Request::new(Method::Post, "/")
            .with_header("Content-Type", "text/plain")
            .with_body(b"{}".to_vec());
        assert!(matches!(r.json(), Err(ApiError::UnsupportedMediaType)));
    }
}
