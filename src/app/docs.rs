//! `/docs`: an API explorer for `/openapi.json`. A page, its script and its
//! stylesheet (about 12 KB together), written for this crate and built into
//! the binary (feature `docs`): nothing is loaded from elsewhere, and a
//! strict `Content-Security-Policy` lets the page run only its own script
//! and reach only this server.

use crate::auth::Access;
use crate::endpoint::{Endpoint, HandlerResult};
use crate::http::{Body, Method, Request};

use super::fixed::Fixed;

/// What the explorer's files may do: load the page's own script and
/// stylesheet, call this origin; no inline script or style, no plugins,
/// no framing, no form posts elsewhere.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The explorer's routes (kept out of `/openapi.json`: they are not the API).
pub(super) const PATHS: [&str; 3] = ["/docs", "/docs/app.js", "/docs/app.css"];

/// One file of the explorer.
pub(super) struct DocsFile(Fixed);

impl DocsFile {
    fn new(content_type: &'static str, text: &'static str) -> DocsFile {
        DocsFile(
            Fixed::new(content_type, Body::Static(text.as_bytes()))
                .with_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                .with_header("X-Content-Type-Options", "nosniff")
                .with_header("Referrer-Policy", "no-referrer"),
        )
    }
}

/// The explorer's files, each with its route (in [`PATHS`] order).
pub(super) fn files() -> [(&'static str, DocsFile); 3] {
    [
        (
            PATHS[0],
            DocsFile::new("text/html; charset=utf-8", include_str!("docs/index.html")),
        ),
        (
            PATHS[1],
            DocsFile::new(
                "text/javascript; charset=utf-8",
                include_str!("docs/app.js"),
            ),
        ),
        (
            PATHS[2],
            DocsFile::new("text/css; charset=utf-8", include_str!("docs/app.css")),
        ),
    ]
}

impl Endpoint for DocsFile {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        Ok(self.0.answer(req))
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }

    fn inline(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_are_small_and_self_contained() {
        let total: usize = files().iter().map(|(_, f)| f.0.len()).sum();
        assert!(total < 30 * 1024, "{total} bytes");
        for text in [
            include_str!("docs/index.html"),
            include_str!("docs/app.js"),
            include_str!("docs/app.css"),
        ] {
            // Nothing from another origin, no inline script or style.
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("<style") && !text.contains("style=\""));
            assert!(!text.contains("onclick") && !text.contains("innerHTML"));
        }
        let page = include_str!("docs/index.html");
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains("<script src=\"/docs/app.js\""));
    }
}
