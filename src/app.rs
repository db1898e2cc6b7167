//! `LightApi`: the application builder. Register models and endpoints, then
//! `run()` (or `start()` to embed).

use std::io::Read;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::json;

use crate::auth::jwt::{unix_now, JwtConfig, JwtError};
use crate::auth::login::Login;
use crate::auth::rate_limit::{RateLimitConfig, RateLimiter};
use crate::auth::{Access, Authenticator, LoginValidator};
use crate::backend::{connect, Backend, BackendError, PoolOptions, Synchronous};
use crate::config::{Config, ConfigError};
use crate::cors::{from_env_value as cors_from_env, Cors};
use crate::crud::cursor::CursorKey;
use crate::crud::resource::build_routes;
use crate::crud::tables::{is_unavailable, Tables};
use crate::dispatch::{AppState, RouteEntry};
use crate::endpoint::{Endpoint, EndpointService, HandlerResult, Registration, Service};
use crate::error::ApiError;
use crate::http::method::Method;
use crate::http::request::Request;
use crate::http::response::{Body, Response};
use crate::http::status::StatusCode;
use crate::log::Logger;
use crate::middleware::Middleware;
use crate::model::{check_models, Model, ModelError};
use crate::openapi;
use crate::router::Router;
use crate::server::{self, ServerHandle};

/// The application: configuration plus everything registered on it.
///
/// ```no_run
/// use lightapi::{Endpoint, HandlerResult, LightApi, Method, Request};
/// use serde_json::json;
///
/// struct Hello;
/// impl Endpoint for Hello {
///     fn methods(&self) -> Option<&[Method]> { Some(&[Method::Get]) }
///     fn get(&self, _req: &Request) -> HandlerResult { Ok(json!({"hello": "world"}).into()) }
/// }
///
/// fn main() -> Result<(), lightapi::ConfigError> {
///     LightApi::from_env()?.register("/hello", Hello).run()
/// }
/// ```
pub struct LightApi {
    config: Config,
    registrations: Vec<(String, Registration)>,
    login: Option<Box<dyn LoginValidator>>,
    middleware: Vec<Arc<dyn Middleware>>,
    cors: Option<Cors>,
}

impl std::fmt::Debug for LightApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightApi")
            .field("config", &self.config)
            .field(
                "paths",
                &self
                    .registrations
                    .iter()
                    .map(|(p, _)| p)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for LightApi {
    fn default() -> Self {
        LightApi::with_config(Config::default())
    }
}

impl LightApi {
    /// An application with [`Config::default`].
    pub fn new() -> LightApi {
        LightApi::default()
    }

    /// An application configured from the `LIGHTAPI_*` variables.
    ///
    /// # Errors
    /// The first variable that does not parse, named in the message.
    pub fn from_env() -> Result<LightApi, ConfigError> {
        Ok(LightApi::with_config(Config::from_env()?))
    }

    /// An application with an explicit configuration.
    pub fn with_config(config: Config) -> LightApi {
        LightApi {
            config,
            registrations: Vec::new(),
            login: None,
            middleware: Vec::new(),
            cors: None,
        }
    }

    /// The configuration, to change in code.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Changes the configuration (builder style).
    ///
    /// ```
    /// let _app = lightapi::LightApi::new().configure(|c| c.port = 0);
    /// ```
    #[must_use]
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> LightApi {
        f(&mut self.config);
        self
    }

    /// Registers an endpoint or a model at `path` (a pattern such as
    /// `/person` or `/orders/{id}`). Mistakes are reported by `start`/`run`.
    #[must_use]
    pub fn register(mut self, path: &str, item: impl Into<Registration>) -> LightApi {
        self.registrations.push((path.to_string(), item.into()));
        self
    }

    /// Enables `POST /auth/login`, checking credentials with `validator`.
    ///
    /// ```
    /// use lightapi::auth::Credentials;
    /// use lightapi::LightApi;
    /// let _app = LightApi::new().login(|c: &Credentials| {
    ///     Ok((c.username == "alice" && c.password == "wonderland").then(Default::default))
    /// });
    /// ```
    #[must_use]
    pub fn login(mut self, validator: impl LoginValidator) -> LightApi {
        self.login = Some(Box::new(validator));
        self
    }

    /// Adds a middleware; they run in the order added before the endpoint,
    /// and in reverse after it.
    ///
    /// ```
    /// use lightapi::middleware::{RequestId, Timing};
    /// let _app = lightapi::LightApi::new().middleware(RequestId::default()).middleware(Timing);
    /// ```
    #[must_use]
    pub fn middleware(mut self, middleware: impl Middleware) -> LightApi {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Enables CORS with these settings (replacing `LIGHTAPI_CORS_ORIGINS`).
    #[must_use]
    pub fn cors(mut self, cors: Cors) -> LightApi {
        self.cors = Some(cors);
        self
    }

    /// Binds and starts serving in background threads; returns at once.
    ///
    /// # Errors
    /// Any [`ConfigError`]: a bad declaration, an address that cannot be
    /// bound, a database that cannot be prepared.
    pub fn start(self) -> Result<ServerHandle, ConfigError> {
        self.launch(false)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    ///
    /// # Errors
    /// As [`LightApi::start`].
    pub fn run(self) -> Result<(), ConfigError> {
        let handle = self.launch(true)?;
        handle.join();
        Ok(())
    }

    fn launch(self, with_signals: bool) -> Result<ServerHandle, ConfigError> {
        let LightApi {
            config,
            registrations,
            login,
            middleware,
            cors,
        } = self;
        let cors = cors.or_else(|| config.cors_origins.as_deref().map(cors_from_env));
        if let Some(c) = &cors {
            c.validate()?;
        }
        let log = Logger::new(config.log_level);
        let (jwt, signing_secret) = jwt_config(&config, &log)?;
        let jwt = Arc::new(jwt);
        let mut router: Router<RouteEntry> = Router::new();
        let mut add = |pattern: &str, service: Arc<dyn Service>| -> Result<(), ConfigError> {
            let allowed = service.allowed();
            router
                .insert(pattern, RouteEntry { service, allowed })
                .map_err(|e| ConfigError::Declaration {
                    reason: e.to_string(),
                })
        };
        add("/healthz", Arc::new(EndpointService::new(Healthz)))?;
        if let Some(validator) = login {
            let limiter = RateLimiter::new(RateLimitConfig {
                per_minute: config.login_per_minute,
                per_hour: config.login_per_hour,
                ..RateLimitConfig::default()
            });
            let endpoint = Login {
                validator,
                jwt: Arc::clone(&jwt),
                limiter,
                ttl: config.jwt_ttl,
                log,
            };
            add("/auth/login", Arc::new(EndpointService::new(endpoint)))?;
        }
        // Declaration mistakes are reported before the database is touched.
        if let Some((path, reason)) = registrations
            .iter()
            .find_map(|(p, r)| r.error.as_ref().map(|e| (p, e)))
        {
            return Err(ConfigError::Declaration {
                reason: format!("{path}: {reason}"),
            });
        }
        let models: Vec<Model> = registrations
            .iter()
            .filter_map(|(_, r)| r.resource.as_ref().map(|r| r.model().clone()))
            .collect();
        let (backend, tables) = if models.is_empty() {
            (None, None)
        } else {
            let (db, tables) = open_database(&config, &models, log)?;
            (Some(db), Some(tables))
        };
        add(
            "/readyz",
            Arc::new(EndpointService::new(Readyz {
                tables: tables.clone(),
            })),
        )?;
        let openapi = Arc::new(OpenApi::default());
        add(
            "/openapi.json",
            Arc::new(EndpointService::new(Arc::clone(&openapi))),
        )?;
        let cursor_key = CursorKey::derive(&signing_secret);
        for (path, reg) in registrations {
            let base = path
                .strip_suffix('/')
                .filter(|p| !p.is_empty())
                .unwrap_or(&path);
            let mut routes = reg.routes;
            if let (Some(resource), Some(db), Some(tables)) = (reg.resource, &backend, &tables) {
                routes.extend(build_routes(
                    resource,
                    Arc::clone(db),
                    Arc::clone(tables),
                    cursor_key.clone(),
                ));
            }
            for (suffix, service) in routes {
                add(&format!("{base}{suffix}"), service)?;
            }
        }
        let described: Vec<(String, &dyn Service)> = router
            .routes()
            .map(|(p, e)| (p.to_string(), &*e.service))
            .collect();
        let body = openapi::document(&described, "lightapi");
        let _ = openapi.body.set(body);
        let app = AppState {
            router,
            auth: Authenticator::new((*jwt).clone(), log),
            log,
            backend: backend.clone(),
            middleware,
            cors,
        };
        let mut on_stop: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
        if let Some(db) = backend {
            on_stop.push(Box::new(move || db.close()));
        }
        server::start(config, app, with_signals, on_stop)
    }
}

/// The token verifier from the configuration; without a configured secret,
/// a random one for this process, announced with a ready-to-use token.
fn jwt_config(config: &Config, log: &Logger) -> Result<(JwtConfig, Vec<u8>), ConfigError> {
    let invalid = |e: JwtError| ConfigError::Invalid {
        variable: "LIGHTAPI_JWT_SECRET",
        reason: e.to_string(),
    };
    let generated = config.jwt_secrets.is_empty();
    let secrets = if generated {
        vec![random_secret().map_err(|e| ConfigError::Invalid {
            variable: "LIGHTAPI_JWT_SECRET",
            reason: format!("not set, and no random secret could be generated: {e}"),
        })?]
    } else {
        config.jwt_secrets.clone()
    };
    let mut iter = secrets.iter();
    let first = iter.next().map(Vec::as_slice).unwrap_or_default();
    let mut jwt = JwtConfig::new(first).map_err(invalid)?;
    for s in iter {
        jwt = jwt.with_accepted_secret(s).map_err(invalid)?;
    }
    jwt = jwt
        .with_require_exp(config.jwt_require_exp)
        .with_leeway(config.jwt_leeway);
    if let Some(iss) = &config.jwt_issuer {
        jwt = jwt.with_issuer(iss.clone());
    }
    if let Some(aud) = &config.jwt_audience {
        jwt = jwt.with_audience(aud.clone());
    }
    if generated {
        let mut extra = serde_json::Map::new();
        extra.insert("is_admin".into(), json!(true));
        let ttl = Duration::from_secs(3600);
        let token = jwt.sign_subject("dev", ttl, unix_now(), extra);
        log.warn(&format!(
            "LIGHTAPI_JWT_SECRET is not set: generated a random secret for this process only \
             (tokens stop working at restart). An admin token valid for 1 hour: {token} \
             (use: curl -H 'Authorization: Bearer {token}' ...). \
             For a persistent secret: export LIGHTAPI_JWT_SECRET=$(openssl rand -hex 32)"
        ));
    }
    Ok((jwt, first.to_vec()))
}

/// 32 random bytes from the operating system, hex-encoded.
fn random_secret() -> std::io::Result<Vec<u8>> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into_bytes())
}

/// Connects to `LIGHTAPI_DATABASE_URL`, checks the models, and creates or
/// checks their tables. A network database that does not answer is not a
/// start-up error: the server starts, and the tables are made on the first
/// request after the database answers (until then, `503`).
fn open_database(
    config: &Config,
    models: &[Model],
    log: Logger,
) -> Result<(Arc<dyn Backend>, Arc<Tables>), ConfigError> {
    let declaration = |e: ModelError| ConfigError::Declaration {
        reason: e.to_string(),
    };
    check_models(models).map_err(declaration)?;
    let options = PoolOptions {
        max_read_connections: config.database_pool,
        synchronous: if config.sqlite_synchronous_full {
            Synchronous::Full
        } else {
            Synchronous::Normal
        },
        ..PoolOptions::default()
    };
    let database = |e: &dyn std::fmt::Display| ConfigError::Database {
        reason: e.to_string(),
    };
    // SQLite is a local file: not answering is a mistake, never a wait.
    let network = !config.database_url.starts_with("sqlite:");
    let db = match connect(&config.database_url, &options) {
        Ok(db) => db,
        Err(e @ BackendError::Unavailable { .. }) if network => {
            log.warn(&format!(
                "{e}; starting anyway: model routes and /readyz answer 503 until it answers"
            ));
            let lazy = PoolOptions {
                connect_at_open: false,
                ..options
            };
            connect(&config.database_url, &lazy).map_err(|e| database(&e))?
        }
        Err(e) => return Err(database(&e)),
    };
    let ordered = creation_order(models).into_iter().cloned().collect();
    let tables = Arc::new(Tables::new(Arc::clone(&db), ordered, log));
    match tables.ensure_now() {
        Ok(()) => {}
        Err(e) if network && is_unavailable(&e) => log.warn(&format!(
            "{e}; starting anyway: the tables are made once the database answers"
        )),
        Err(e) => return Err(database(&e)),
    }
    Ok((db, tables))
}

/// The models ordered so that every table comes after the tables its
/// foreign keys reference (self-references and cycles keep declaration
/// order).
fn creation_order(models: &[Model]) -> Vec<&Model> {
    let mut done: Vec<&Model> = Vec::with_capacity(models.len());
    let mut left: Vec<&Model> = models.iter().collect();
    while !left.is_empty() {
        let ready = left.iter().position(|m| {
            m.fields().iter().all(|(_, f)| {
                f.referenced_table().is_none_or(|t| {
                    t == m.name()
                        || done.iter().any(|d| d.name() == t)
                        || !left.iter().any(|l| l.name() == t)
                })
            })
        });
        let next = left.remove(ready.unwrap_or(0));
        done.push(next);
    }
    done
}

/// `GET /readyz`: `200` when the database answers, else `503`.
struct Readyz {
    /// The models' tables, when there are models.
    tables: Option<Arc<Tables>>,
}

impl Endpoint for Readyz {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        if let Some(db) = req.backend() {
            db.ping().map_err(|e| ApiError::Unavailable {
                cause: e.to_string(),
                retry_after: 1,
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
struct OpenApi {
    body: OnceLock<Vec<u8>>,
}

impl Endpoint for Arc<OpenApi> {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        let body = self.body.get().cloned().unwrap_or_default();
        Ok(Response::new(StatusCode::OK)
            .with_header("Content-Type", "application/json")
            .with_body(Body::Bytes(body)))
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }

    fn inline(&self) -> bool {
        true
    }
}

/// `GET /healthz`: liveness, no database.
struct Healthz;

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
