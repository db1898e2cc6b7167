//! Authentication: HS256 tokens, route permissions, the caller's claims on
//! the request, login credentials and the login rate limiter.
//!
//! The pure parts ([`JwtConfig`], the rate limiter) take the clock as a
//! parameter. The server reads the `Authorization` header of a
//! request, verifies the bearer token (through a small per-thread cache),
//! checks the route's [`Access`] and attaches the [`Claims`] to the request,
//! where handlers read them with [`ClaimsExt::claims`].

mod access;
mod cache;
mod error;
pub(crate) mod jwt;
mod login;
pub(crate) mod rate_limit;

pub use access::{Access, CheckFn};
pub use error::AuthError;
pub use jwt::{unix_now, Claims, JwtConfig, JwtError, MAX_TOKEN_BYTES, MIN_SECRET_BYTES};
pub use login::{Credentials, LoginValidator};

use crate::http::Request;
use crate::log::Logger;

/// The caller's verified claims on a request.
///
/// ```
/// use lightapi::auth::{Claims, ClaimsExt};
/// use lightapi::{Method, Request};
/// let map = serde_json::json!({"sub": "alice"}).as_object().cloned().unwrap_or_default();
/// let req = Request::new(Method::Get, "/").with_extension(Claims::from_map(map));
/// assert_eq!(req.claims().and_then(|c| c.sub()), Some("alice"));
/// ```
pub trait ClaimsExt {
    /// The verified claims of the caller: on every route that needs a
    /// token, and on public routes when a valid token was sent.
    fn claims(&self) -> Option<&Claims>;
}

impl ClaimsExt for Request {
    fn claims(&self) -> Option<&Claims> {
        self.extension::<Claims>()
    }
}

/// Checks bearer tokens against route permissions.
#[derive(Debug)]
pub(crate) struct Authenticator {
    jwt: JwtConfig,
    log: Logger,
    /// Tells this server's entries in the per-thread token cache apart.
    id: u64,
}

impl Authenticator {
    pub(crate) fn new(jwt: JwtConfig, log: Logger) -> Authenticator {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Authenticator {
            jwt,
            log,
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        cache::verify(self.id, &self.jwt, token, unix_now())
    }

    /// Attaches the caller's claims to `req`, or refuses: no valid token on a
    /// protected route, or a token without the permission. Public routes
    /// accept a valid token (its claims are attached) and ignore an invalid
    /// one.
    pub(crate) fn authorize(&self, access: &Access, req: &mut Request) -> Result<(), AuthError> {
        // Only a `Bearer` credential counts as a token sent (RFC 6750 §3.1:
        // other schemes get a plain challenge without an error code).
        let header = req.headers().get_bytes("authorization").filter(|v| {
            v.get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"bearer"))
        });
        let token = header.map(bearer_token);
        if access.is_public() {
            if let Some(Some(token)) = token {
                if let Ok(claims) = self.verify(token) {
                    req.insert_extension(claims);
                }
            }
            return Ok(());
        }
        let token = match token {
            None => return Err(AuthError::MissingToken),
            Some(None) => return Err(AuthError::InvalidToken { source: None }),
            Some(Some(t)) => t,
        };
        let claims = self.verify(token).map_err(|e| {
            self.log.debug(&format!("token refused: {e}"));
            AuthError::InvalidToken { source: Some(e) }
        })?;
        if !access.permits(&claims, req) {
            return Err(AuthError::Forbidden);
        }
        req.insert_extension(claims);
        Ok(())
    }
}

/// The token of an `Authorization: Bearer <token>` value, if it has that
/// shape (the scheme is case-insensitive).
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod bearer_tests {
    use super::bearer_token;

    #[test]
    fn extracts_bearer_tokens() {
        assert_eq!(bearer_token(b"Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token(b"bearer  x"), Some("x"));
        assert_eq!(bearer_token(b"Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"Bearer a b"), None);
        assert_eq!(bearer_token(b"\xff"), None);
    }
}
