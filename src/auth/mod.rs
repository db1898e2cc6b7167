//! Authentication building blocks: HS256 JSON Web Tokens and the login rate limiter.
//!
//! Both modules are pure: no I/O, and the clock is always a parameter. The HTTP layer
//! reads the `Authorization` header, calls [`jwt::verify`] and maps every [`JwtError`]
//! to one generic `401`; `POST /auth/login` asks [`RateLimiter::check`] before checking
//! credentials and answers `429` with the [`RetryAfter`] seconds.
//!
//! - [`jwt`]: signing and strict verification of HS256 tokens ([`JwtConfig`], [`Claims`]).
//! - [`rate_limit`]: a bounded, thread-safe per-address attempt counter.

pub mod jwt;
pub mod rate_limit;

pub use jwt::{Claims, JwtConfig, JwtError};
pub use rate_limit::{RateLimitConfig, RateLimiter, RetryAfter};
pub mod access;
pub mod login;

pub use access::Access;
pub use login::{Credentials, LoginValidator};

use crate::error::ApiError;
use crate::http::request::Request;
use crate::log::Logger;

/// Checks bearer tokens against route permissions (SPEC §5).
#[derive(Debug)]
pub(crate) struct Authenticator {
    pub(crate) jwt: JwtConfig,
    pub(crate) log: Logger,
}

impl Authenticator {
    /// Attaches the caller's claims to `req`, or refuses: `401` without a
    /// valid token on a protected route, `403` when the token lacks the
    /// permission. Public routes accept a valid token (its claims are
    /// attached) and ignore an invalid one.
    pub(crate) fn authorize(&self, access: &Access, req: &mut Request) -> Result<(), ApiError> {
        // Only a `Bearer` credential counts as a token sent (RFC 6750 §3.1:
        // other schemes get a plain challenge without an error code).
        let header = req
            .headers
            .get_bytes("authorization")
            .filter(|v| v.len() >= 6 && v[..6].eq_ignore_ascii_case(b"bearer"));
        let token = header.map(bearer_token);
        if access.is_public() {
            if let Some(Some(token)) = token {
                req.claims = self.jwt.verify(token, jwt::unix_now()).ok();
            }
            return Ok(());
        }
        let token = match token {
            None => return Err(ApiError::Unauthorized { token_sent: false }),
            Some(None) => return Err(ApiError::Unauthorized { token_sent: true }),
            Some(Some(t)) => t,
        };
        let claims = self.jwt.verify(token, jwt::unix_now()).map_err(|e| {
            self.log.debug(&format!("token refused: {e}"));
            ApiError::Unauthorized { token_sent: true }
        })?;
        if !access.permits(&claims, req) {
            return Err(ApiError::Forbidden);
        }
        req.claims = Some(claims);
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
