//! Documents fixed at start-up (the OpenAPI document, the explorer's
//! files): served with a strong `ETag` and `Cache-Control: no-cache`, so a
//! client keeps its copy and revalidates it (`304`) before each use.

use sha2::{Digest, Sha256};

use crate::http::{Body, Request, Response, StatusCode};
use crate::resource::none_match_hits;

/// One fixed document and the headers it is served with.
pub(super) struct Fixed {
    content_type: &'static str,
    body: Body,
    etag: String,
    headers: Vec<(&'static str, &'static str)>,
}

impl Fixed {
    /// `body` of `content_type`, its `ETag` the hex of the first 16 bytes
    /// of its SHA-256 (the document is public: no key is needed).
    pub(super) fn new(content_type: &'static str, body: Body) -> Fixed {
        let digest = Sha256::digest(body.as_bytes());
        let mut etag = String::with_capacity(34);
        etag.push('"');
        crate::hex::encode_into(&mut etag, digest.get(..16).unwrap_or_default());
        etag.push('"');
        Fixed {
            content_type,
            body,
            etag,
            headers: Vec::new(),
        }
    }

    /// Its length in bytes.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.body.len()
    }

    /// The same document, every answer also carrying `name: value`.
    #[cfg_attr(not(feature = "docs"), allow(dead_code))]
    pub(super) fn with_header(mut self, name: &'static str, value: &'static str) -> Fixed {
        self.headers.push((name, value));
        self
    }

    /// The answer to a `GET` of the document: `304` when `If-None-Match`
    /// matches its `ETag`, else `200` with it.
    pub(super) fn answer(&self, req: &Request) -> Response {
        let unchanged = req
            .header("if-none-match")
            .is_some_and(|inm| none_match_hits(inm, &self.etag));
        let mut resp = if unchanged {
            Response::new(StatusCode::NOT_MODIFIED)
        } else {
            Response::new(StatusCode::OK)
                .with_header("Content-Type", self.content_type)
                .with_body(self.body.clone())
        };
        resp.insert_header("ETag", self.etag.clone());
        resp.insert_header("Cache-Control", "no-cache");
        for (name, value) in &self.headers {
            resp.insert_header(*name, *value);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn answers_304_to_its_own_etag() {
        let doc = Fixed::new("text/plain", Body::Static(b"hello"))
            .with_header("X-Content-Type-Options", "nosniff");
        let r = doc.answer(&Request::new(Method::Get, "/"));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.body().as_bytes(), b"hello");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        let etag = r.header("etag").unwrap_or_default().to_owned();
        assert_eq!(etag.len(), 34);
        let again = Request::new(Method::Get, "/").with_header("If-None-Match", &etag);
        let r = doc.answer(&again);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(r.body().is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
    }
}
