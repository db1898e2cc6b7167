//! `POST /auth/login`: credentials checked by the application's validator,
//! answered with a signed token; rate-limited per client address.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::jwt::{unix_now, JwtConfig};
use super::rate_limit::RateLimiter;
use super::Access;
use crate::endpoint::{Endpoint, HandlerResult};
use crate::error::ApiError;
use crate::http::method::Method;
use crate::http::request::Request;
use crate::log::Logger;

/// The credentials a client sent to `POST /auth/login`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Decides whether credentials are valid.
///
/// `Ok(Some(claims))`: valid; the token carries `sub` = username plus these
/// extra claims (e.g. `is_admin`). `Ok(None)`: invalid (`401`). `Err(cause)`:
/// the check itself failed; the client sees `401`, the cause is logged.
///
/// Any `Fn(&Credentials) -> Result<Option<Map<String, Value>>, String>`
/// closure is a validator:
///
/// ```
/// use lightapi::auth::Credentials;
/// use serde_json::{json, Map, Value};
///
/// let validator = |c: &Credentials| -> Result<Option<Map<String, Value>>, String> {
///     if c.username == "admin" && c.password == "secret" {
///         let mut extra = Map::new();
///         extra.insert("is_admin".into(), json!(true));
///         Ok(Some(extra))
///     } else {
///         Ok(None)
///     }
/// };
/// # use lightapi::auth::LoginValidator;
/// # let c = Credentials { username: "admin".into(), password: "secret".into() };
/// # assert!(validator.validate(&c).unwrap().is_some());
/// ```
pub trait LoginValidator: Send + Sync + 'static {
    /// Checks `credentials`.
    ///
    /// # Errors
    /// A cause to log when the check could not be made.
    fn validate(&self, credentials: &Credentials) -> Result<Option<Map<String, Value>>, String>;
}

impl<F> LoginValidator for F
where
    F: Fn(&Credentials) -> Result<Option<Map<String, Value>>, String> + Send + Sync + 'static,
{
    fn validate(&self, credentials: &Credentials) -> Result<Option<Map<String, Value>>, String> {
        self(credentials)
    }
}

pub(crate) struct Login {
    pub(crate) validator: Box<dyn LoginValidator>,
    pub(crate) jwt: Arc<JwtConfig>,
    pub(crate) limiter: RateLimiter,
    pub(crate) ttl: Duration,
    pub(crate) log: Logger,
}

impl Endpoint for Login {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Post])
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }

    fn post(&self, req: &Request) -> HandlerResult {
        if let Some(peer) = req.peer_addr() {
            if let Err(retry) = self.limiter.check(peer.ip(), Instant::now()) {
                return Err(ApiError::TooManyRequests {
                    retry_after: retry.seconds,
                });
            }
        }
        let body = req.json()?;
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(username), Some(password)) = (field("username"), field("password")) else {
            return Err(ApiError::bad_request(
                "expected a JSON object with string fields username and password",
            ));
        };
        let credentials = Credentials { username, password };
        let extra = match self.validator.validate(&credentials) {
            Ok(Some(extra)) => extra,
            Ok(None) => return Err(ApiError::InvalidCredentials),
            Err(cause) => {
                self.log.error(&format!("login validator failed: {cause}"));
                return Err(ApiError::InvalidCredentials);
            }
        };
        let token = self
            .jwt
            .sign_subject(&credentials.username, self.ttl, unix_now(), extra);
        Ok(json!({
            "token": token,
            "token_type": "Bearer",
            "expires_in": self.ttl.as_secs(),
        })
        .into())
    }
}
