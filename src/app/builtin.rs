//! The routes every application has: `/healthz`, `/readyz`,
//! `/openapi.json`, `/auth/login` when a login validator is given, and the
//! Prometheus metrics when a path is configured for them.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::auth::rate_limit::{Key, RateLimiter, RetryAfter};
use crate::auth::{unix_now, Access, AuthError, Credentials, JwtConfig, LoginValidator};
use crate::backend::{BackendError, BackendExt, Engine};
use crate::crud::CrudError;
use crate::endpoint::{Endpoint, HandlerResult};
use crate::error::ApiError;
use crate::http::forwarded::client_ip;
use crate::http::{Body, Cidr, Method, Request, Response, StatusCode};
use crate::log::Logger;
use crate::metrics::{self, HttpMetrics};

use super::fixed::Fixed;

/// `GET /healthz`: liveness, no database.
pub(super) struct Healthz;

impl Endpoint for Healthz {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"status": "ok"}).into())
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }

    fn inline(&self) -> bool {
        true
    }
}

/// Whether the models' tables are in place, as `/readyz` asks.
pub(crate) trait Ready: Send + Sync {
    /// `Ok` when every table is in place.
    ///
    /// # Errors
    /// Why a table is not in place (the database unavailable, most often).
    fn check(&self) -> Result<(), CrudError>;
}

/// `GET /readyz`: `200` when the database answers, else `503`.
pub(super) struct Readyz {
    /// The models' tables, when there are models.
    pub(super) tables: Option<Arc<dyn Ready>>,
}

impl Endpoint for Readyz {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        if let Some(db) = req.backend() {
            // Whatever stops the database from answering, it is not ready.
            db.ping().map_err(|e| BackendError::Unavailable {
                cause: e.to_string(),
            })?;
        }
        if let Some(tables) = &self.tables {
            tables.check()?;
        }
        Ok(json!({"status": "ready"}).into())
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }
}

/// `GET /openapi.json`: the document, made once at start-up.
#[derive(Default)]
pub(super) struct OpenApi {
    pub(super) document: OnceLock<Fixed>,
}

impl Endpoint for Arc<OpenApi> {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        match self.document.get() {
            Some(document) => Ok(document.answer(req)),
            None => Err(ApiError::internal("the OpenAPI document is not made yet")),
        }
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }

    fn inline(&self) -> bool {
        true
    }
}

/// `GET <metrics path>`: the Prometheus text exposition of the server's
/// and the database's metrics, read at each request.
pub(super) struct Metrics {
    /// Set once every route is registered (the table has a slot per
    /// route, this one included).
    pub(super) http: OnceLock<Arc<HttpMetrics>>,
    pub(super) engine: Option<Arc<dyn Engine>>,
    pub(super) public: bool,
}

impl Endpoint for Arc<Metrics> {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        let Some(http) = self.http.get() else {
            return Err(ApiError::internal("the metrics are not set up yet"));
        };
        let db = self.engine.as_ref().map(|e| e.stats());
        let text = metrics::render(http, db.as_ref());
        Ok(Response::new(StatusCode::OK)
            .with_header("Content-Type", metrics::CONTENT_TYPE)
            .with_body(Body::Bytes(text.into_bytes())))
    }

    fn access(&self, _method: Method) -> Access {
        if self.public {
            Access::Public
        } else {
            Access::Authenticated
        }
    }

    fn inline(&self) -> bool {
        true
    }
}

/// `POST /auth/login`: credentials checked by the application's
/// validator, answered with a signed token; rate-limited per client
/// address.
pub(super) struct Login {
    pub(super) validator: Box<dyn LoginValidator>,
    pub(super) jwt: Arc<JwtConfig>,
    pub(super) limiter: RateLimiter,
    /// Proxies believed for the client's address.
    pub(super) trusted_proxies: Vec<Cidr>,
    pub(super) ttl: Duration,
    pub(super) log: Logger,
}

impl Endpoint for Login {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Post])
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }

    fn post(&self, req: &Request) -> HandlerResult {
        let now = Instant::now();
        let refused = |retry: RetryAfter| -> ApiError {
            AuthError::TooManyAttempts {
                retry_after: retry.seconds,
            }
            .into()
        };
        let addr = req
            .peer_addr()
            .map(|peer| Key::from(client_ip(peer.ip(), req.headers(), &self.trusted_proxies)));
        if let Some(addr) = addr {
            self.limiter.check(addr, now).map_err(|retry| {
                metrics::rate_limit_refused("login");
                refused(retry)
            })?;
        }
        let body = req.json()?;
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(username), Some(password)) = (field("username"), field("password")) else {
            return Err(ApiError::bad_request(
                "expected a JSON object with string fields username and password",
            ));
        };
        // Guesses at one account from many addresses are limited too.
        let user = Key::user(&username);
        self.limiter.check(user, now).map_err(|retry| {
            metrics::rate_limit_refused("login");
            refused(retry)
        })?;
        let credentials = Credentials { username, password };
        let extra = match self.validator.validate(&credentials) {
            Ok(Some(extra)) => extra,
            Ok(None) => return Err(AuthError::InvalidCredentials.into()),
            Err(cause) => {
                self.log.error(&format!("login validator failed: {cause}"));
                return Err(AuthError::InvalidCredentials.into());
            }
        };
        // A success forgets the attempts: only failures accumulate.
        self.limiter.forgive(user);
        if let Some(addr) = addr {
            self.limiter.forgive(addr);
        }
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
