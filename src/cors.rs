//! CORS (the Fetch standard): allowed origins, preflight answered without
//! authentication, `Vary: Origin` on every answer that depends on it.

use std::fmt;

use crate::http::{MethodSet, Request, Response, StatusCode};

/// Default `Access-Control-Max-Age` in seconds.
pub const DEFAULT_MAX_AGE_SECS: u64 = 600;

/// Cross-origin settings.
///
/// ```
/// use lightapi::Cors;
/// let cors = Cors::new()
///     .allow_origin("https://app.example.com")
///     .allow_credentials(true);
/// assert!(cors.validate().is_ok());
/// assert!(Cors::new().allow_origin("*").allow_credentials(true).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
    credentials: bool,
    allow_headers: Vec<String>,
    expose_headers: Vec<String>,
    max_age_secs: u64,
}

impl Default for Cors {
    fn default() -> Self {
        Cors::new()
    }
}

impl Cors {
    /// No origins allowed yet; `Authorization`, `Content-Type`, `If-Match`,
    /// `If-None-Match` and `X-Request-Id` allowed as request headers;
    /// `ETag`, `Location`, `RateLimit`, `RateLimit-Policy`, `Retry-After`
    /// and `X-Request-Id` exposed.
    pub fn new() -> Cors {
        Cors {
            origins: Vec::new(),
            credentials: false,
            allow_headers: [
                "authorization",
                "content-type",
                "if-match",
                "if-none-match",
                "x-request-id",
            ]
            .map(String::from)
            .to_vec(),
            expose_headers: [
                "ETag",
                "Location",
                "RateLimit",
                "RateLimit-Policy",
                "Retry-After",
                "X-Request-Id",
            ]
            .map(String::from)
            .to_vec(),
            max_age_secs: DEFAULT_MAX_AGE_SECS,
        }
    }

    /// Allows an origin (`https://host[:port]`), or `*` for any.
    #[must_use]
    pub fn allow_origin(mut self, origin: &str) -> Cors {
        self.origins.push(origin.trim_end_matches('/').to_string());
        self
    }

    /// Allows cookies and `Authorization` from the browser
    /// (`Access-Control-Allow-Credentials: true`).
    #[must_use]
    pub fn allow_credentials(mut self, yes: bool) -> Cors {
        self.credentials = yes;
        self
    }

    /// Allows another request header in preflights.
    #[must_use]
    pub fn allow_header(mut self, name: &str) -> Cors {
        self.allow_headers.push(name.to_ascii_lowercase());
        self
    }

    /// Exposes another response header to the page's script
    /// (`Access-Control-Expose-Headers`).
    #[must_use]
    pub fn expose_header(mut self, name: &str) -> Cors {
        self.expose_headers.push(name.to_string());
        self
    }

    /// Sets `Access-Control-Max-Age`.
    #[must_use]
    pub fn max_age_secs(mut self, secs: u64) -> Cors {
        self.max_age_secs = secs;
        self
    }

    /// Checks the settings: at least one origin, each an origin as
    /// browsers send it (or `*`), `*` never with credentials, and header
    /// names that are field names (not `*`).
    ///
    /// # Errors
    /// The first [`CorsError`] found.
    pub fn validate(&self) -> Result<(), CorsError> {
        if self.origins.is_empty() {
            return Err(CorsError::NoOrigin);
        }
        if let Some(bad) = self.origins.iter().find(|o| *o != "*" && !is_origin(o)) {
            return Err(CorsError::NotAnOrigin { value: bad.clone() });
        }
        if self.credentials && self.origins.iter().any(|o| o == "*") {
            return Err(CorsError::WildcardWithCredentials);
        }
        if let Some(bad) = self
            .allow_headers
            .iter()
            .chain(&self.expose_headers)
            .find(|h| !is_field_name(h))
        {
            return Err(CorsError::NotAHeaderName { value: bad.clone() });
        }
        Ok(())
    }

    fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin)
    }

    fn allow_origin_value<'a>(&self, origin: &'a str) -> &'a str {
        if !self.credentials && self.origins.iter().any(|o| o == "*") {
            "*"
        } else {
            origin
        }
    }

    /// Whether `req` is a CORS preflight.
    pub(crate) fn is_preflight(req: &Request) -> bool {
        req.method() == crate::http::Method::Options
            && req.headers().contains("origin")
            && req.headers().contains("access-control-request-method")
    }

    /// The answer to a preflight for a route offering `allowed`.
    pub(crate) fn preflight(&self, req: &Request, allowed: MethodSet) -> Response {
        let mut r =
            Response::new(StatusCode::NO_CONTENT).with_header("Allow", allowed.to_allow_header());
        r.insert_header(
            "Vary",
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        );
        let Some(origin) = req.header("origin").filter(|o| self.allows(o)) else {
            return r;
        };
        let requested = req.header("access-control-request-method").unwrap_or("");
        let method_ok = crate::http::Method::from_bytes(requested.as_bytes())
            .is_some_and(|m| allowed.contains(m));
        let headers_ok = req
            .header("access-control-request-headers")
            .map(|h| {
                h.split(',')
                    .map(|x| x.trim().to_ascii_lowercase())
                    .filter(|x| !x.is_empty())
                    .all(|x| self.allow_headers.contains(&x))
            })
            .unwrap_or(true);
        if !(method_ok && headers_ok) {
            return r;
        }
        r.insert_header(
            "Access-Control-Allow-Origin",
            self.allow_origin_value(origin).to_string(),
        );
        r.insert_header("Access-Control-Allow-Methods", allowed.to_allow_header());
        r.insert_header(
            "Access-Control-Allow-Headers",
            self.allow_headers.join(", "),
        );
        r.insert_header("Access-Control-Max-Age", self.max_age_secs.to_string());
        if self.credentials {
            r.insert_header("Access-Control-Allow-Credentials", "true");
        }
        r
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub(crate) fn decorate(&self, req: &Request, resp: &mut Response) {
        resp.add_vary("Origin");
        // The grant is this layer's alone: never duplicated or mixed with
        // one an endpoint set.
        for h in [
            "Access-Control-Allow-Origin",
            "Access-Control-Expose-Headers",
            "Access-Control-Allow-Credentials",
        ] {
            resp.remove_header(h);
        }
        let Some(origin) = req.header("origin").filter(|o| self.allows(o)) else {
            return;
        };
        resp.insert_header(
            "Access-Control-Allow-Origin",
            self.allow_origin_value(origin).to_string(),
        );
        resp.insert_header(
            "Access-Control-Expose-Headers",
            self.expose_headers.join(", "),
        );
        if self.credentials {
            resp.insert_header("Access-Control-Allow-Credentials", "true");
        }
    }
}

/// Whether `name` is a field name (an RFC 9110 token) other than `*`,
/// which would read as a wildcard.
fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name != "*"
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `o` is an origin as a browser sends it: `scheme://host[:port]`,
/// a lower-case scheme, no user-info, path, query or trailing slash.
/// `null` (sent by sandboxed documents and local files) is not accepted:
/// allowing it would admit any of them.
fn is_origin(o: &str) -> bool {
    let Some((scheme, authority)) = o.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'));
    // The authority is what a `Host` field holds (the same grammar), but
    // never empty, and a port, when there is one, of one to five digits.
    let port_ok = match authority.rsplit_once(':') {
        Some((_, port)) if !port.contains(']') => (1..=5).contains(&port.len()),
        _ => true,
    };
    scheme_ok
        && !authority.is_empty()
        && port_ok
        && crate::http::parse::valid_host(authority.as_bytes())
}

/// A CORS setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsError {
    /// No origin is allowed.
    NoOrigin,
    /// A value that is neither an origin nor `*`.
    NotAnOrigin {
        /// The value.
        value: String,
    },
    /// `*` together with credentials, which browsers refuse.
    WildcardWithCredentials,
    /// An allowed or exposed header that is not a field name.
    NotAHeaderName {
        /// The value.
        value: String,
    },
}

impl fmt::Display for CorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsError::NoOrigin => f.write_str("no origin listed"),
            CorsError::NotAnOrigin { value } => write!(
                f,
                "{value:?} is not an origin (scheme://host[:port], no path, as browsers send \
                 it in `Origin`), nor `*`"
            ),
            CorsError::WildcardWithCredentials => f.write_str(
                "the origin `*` cannot be combined with credentials (browsers refuse \
                 `credentials: 'include'` answered with `Access-Control-Allow-Origin: *`); \
                 list the origins",
            ),
            CorsError::NotAHeaderName { value } => {
                write!(f, "{value:?} is not a header name (nor may it be `*`)")
            }
        }
    }
}

impl std::error::Error for CorsError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn preflight(origin: &str, method: &str) -> Request {
        Request::new(Method::Options, "/x")
            .with_header("Origin", origin)
            .with_header("Access-Control-Request-Method", method)
    }

    #[test]
    fn origins_must_be_what_browsers_send() {
        for good in [
            "https://a.example",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
            "app+x://host-1.example",
            // A trailing slash is dropped by `allow_origin`.
            "http://a.com/",
        ] {
            assert!(Cors::new().allow_origin(good).validate().is_ok(), "{good}");
        }
        for bad in [
            "garbage",
            "http://a.com/path",
            "http://exa mple.com",
            "://",
            "null",
            "HTTP://A.COM",
            "http://u@a.com",
            "http://a.com:",
            "http://a.com:80x",
            "http://[::1",
        ] {
            let e = Cors::new().allow_origin(bad).validate().unwrap_err();
            assert!(matches!(e, CorsError::NotAnOrigin { .. }), "{bad}: {e}");
        }
        assert_eq!(Cors::new().validate(), Err(CorsError::NoOrigin));
        assert!(Cors::new().allow_origin("*").validate().is_ok());
    }

    #[test]
    fn preflight_for_allowed_origin_and_method() {
        let c = Cors::new().allow_origin("https://a.example");
        let allowed = MethodSet::from_slice(&[Method::Get, Method::Post]);
        let r = c.preflight(&preflight("https://a.example", "POST"), allowed);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://a.example")
        );
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = c.preflight(&preflight("https://evil.example", "POST"), allowed);
        assert_eq!(r.header("access-control-allow-origin"), None);
        let r = c.preflight(&preflight("https://a.example", "DELETE"), allowed);
        assert_eq!(r.header("access-control-allow-origin"), None);
    }

    #[test]
    fn header_names_must_be_field_names() {
        let ok = Cors::new()
            .allow_origin("https://a")
            .allow_header("X-Tenant")
            .expose_header("X-Total");
        assert!(ok.validate().is_ok());
        for bad in ["", "*", "X Tenant", "X-Tenant:"] {
            let allowed = Cors::new().allow_origin("https://a").allow_header(bad);
            let exposed = Cors::new().allow_origin("https://a").expose_header(bad);
            for c in [allowed, exposed] {
                assert!(
                    matches!(c.validate(), Err(CorsError::NotAHeaderName { .. })),
                    "{bad:?}"
                );
            }
        }
    }

    #[test]
    fn settings_show_in_answers() {
        let c = Cors::new()
            .allow_origin("https://a.example")
            .allow_header("X-Tenant")
            .expose_header("X-Total")
            .allow_credentials(true)
            .max_age_secs(60);
        let req = preflight("https://a.example", "GET")
            .with_header("Access-Control-Request-Headers", "x-tenant, authorization");
        let r = c.preflight(&req, MethodSet::from_slice(&[Method::Get]));
        assert!(r
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("x-tenant")));
        assert_eq!(r.header("access-control-max-age"), Some("60"));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        let mut resp = Response::new(StatusCode::OK);
        c.decorate(
            &Request::new(Method::Get, "/").with_header("Origin", "https://a.example"),
            &mut resp,
        );
        assert!(resp
            .header("access-control-expose-headers")
            .is_some_and(|h| h.ends_with("X-Total")));
    }

    #[test]
    fn wildcard_without_credentials_only() {
        let c = Cors::new().allow_origin("*");
        let mut resp = Response::new(StatusCode::OK);
        c.decorate(
            &Request::new(Method::Get, "/").with_header("Origin", "https://x"),
            &mut resp,
        );
        assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            c.clone().allow_credentials(true).validate(),
            Err(CorsError::WildcardWithCredentials)
        );
        assert_eq!(
            Cors::new()
                .allow_origin("https://a")
                .allow_origin("https://b/")
                .origins,
            vec!["https://a", "https://b"]
        );
    }
}
