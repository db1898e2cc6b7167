//! The request a handler receives: what came off the wire, plus typed
//! extensions the layers above attach.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;

use super::extensions::Extensions;
use super::headers::Headers;
use super::json::{self, BodyError};
use super::limits::MessageLimits;
use super::method::Method;
use super::parse::{parse_into, split_target, HeadLine, ParseError, Version};
use super::query::{parse_query, QueryError};

/// Path parameters captured by `{name}` segments, in pattern order.
pub type Params = Vec<(Arc<str>, String)>;

/// An HTTP request with its body fully received.
///
/// Handlers get the method, path, path parameters, the decoded query, the
/// headers and the body (as bytes and as JSON). What the server learns
/// about the request — the caller's verified claims, the database, a
/// middleware's data — travels as [`Extensions`], read through the
/// accessor traits of the layers that attach them (`ClaimsExt`,
/// `BackendExt`, `ResourceExt`).
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
    method: Method,
    version: Version,
    target: String,
    query: Vec<(String, String)>,
    headers: Headers,
    body: Vec<u8>,
    params: Params,
    peer: Option<SocketAddr>,
    extensions: Extensions,
}

impl Request {
    /// A request for tests and for calling endpoints directly. A query in
    /// `target` is decoded; an undecodable one is kept raw but yields no
    /// parameters.
    pub fn new(method: Method, target: &str) -> Request {
        let query = split_target(target)
            .1
            .and_then(|q| parse_query(q).ok())
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
            extensions: Extensions::default(),
        }
    }

    /// Parses a request head from the start of `input` into this request's
    /// target and header buffers (reused from the previous request), leaving
    /// them alone when the head is incomplete.
    pub(crate) fn parse_head(
        &mut self,
        input: &[u8],
        limits: &MessageLimits,
    ) -> Result<Option<(HeadLine, usize)>, ParseError> {
        parse_into(input, limits, &mut self.target, &mut self.headers)
    }

    /// Takes the request line's facts and the client's address once the
    /// head is parsed, and decodes the query.
    pub(crate) fn begin(
        &mut self,
        line: &HeadLine,
        peer: Option<SocketAddr>,
    ) -> Result<(), QueryError> {
        self.method = line.method;
        self.version = line.version;
        self.peer = peer;
        self.query.clear();
        if let Some(raw) = split_target(&self.target).1 {
            self.query = parse_query(raw)?;
        }
        Ok(())
    }

    /// Forgets everything one request carried, keeping the buffers (target,
    /// fields, and a body buffer of up to `keep_body` bytes) for the next
    /// request on the same connection.
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
        self.extensions.clear();
    }

    /// Bytes held by the reusable buffers.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.target.capacity() + self.headers.capacity_bytes() + self.body.capacity()
    }

    /// The buffer the body is decoded into.
    pub(crate) fn body_mut(&mut self) -> &mut Vec<u8> {
        &mut self.body
    }

    /// Sets the path parameters the router captured.
    pub(crate) fn set_params(&mut self, params: Params) {
        self.params = params;
    }

    /// Serves a `HEAD` request as the `GET` it mirrors, so that a handler's
    /// headers (`Content-Length` above all) match `GET`'s exactly.
    pub(crate) fn serve_head_as_get(&mut self) {
        if self.method == Method::Head {
            self.method = Method::Get;
        }
    }

    /// Whether the target is `*` (`OPTIONS *`, about the server as a whole).
    pub(crate) fn is_asterisk(&self) -> bool {
        self.target == "*"
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

    /// Sets the client's address (builder style).
    #[must_use]
    pub fn with_peer_addr(mut self, peer: SocketAddr) -> Request {
        self.peer = Some(peer);
        self
    }

    /// Attaches an extension (builder style), e.g. the claims a handler
    /// under test should see.
    ///
    /// ```
    /// use lightapi::auth::{Claims, ClaimsExt};
    /// use lightapi::{Method, Request};
    /// let map = serde_json::json!({"sub": "alice"}).as_object().cloned().unwrap_or_default();
    /// let claims = Claims::from_map(map);
    /// let req = Request::new(Method::Get, "/").with_extension(claims);
    /// assert_eq!(req.claims().and_then(|c| c.sub()), Some("alice"));
    /// ```
    #[must_use]
    pub fn with_extension<T: Any + Send + Sync>(mut self, value: T) -> Request {
        self.extensions.insert(value);
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
    /// [`BodyError`]: a `Content-Type` other than JSON (`415`), an empty
    /// body or one that is not valid JSON (`400`).
    pub fn json(&self) -> Result<Value, BodyError> {
        json::parse(&self.headers, &self.body)
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

    /// The extensions attached to this request.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The extensions, to attach values to (middleware does this).
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// Attaches a value for later middleware or the handler (one per type).
    pub fn insert_extension<T: Any + Send + Sync>(&mut self, value: T) {
        self.extensions.insert(value);
    }

    /// A value attached with [`Request::insert_extension`].
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(r.json(), Err(BodyError::Invalid { .. })));
        let r = Request::new(Method::Post, "/")
            .with_header("Content-Type", "text/plain")
            .with_body(b"{}".to_vec());
        assert!(matches!(r.json(), Err(BodyError::UnsupportedMediaType)));
    }
}
