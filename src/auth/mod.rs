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
