//! `LightApi`: the application builder. Register models and endpoints, then
//! `run()` (or `start()` to embed).

mod builtin;
mod database;
#[cfg(feature = "docs")]
mod docs;
mod fixed;
mod models;
mod registration;
mod reload;
mod secret;

use std::any::Any;
use std::sync::Arc;

pub use registration::Registration;
#[cfg(feature = "cli")]
pub(crate) use reload::{needs_restart, reload};

use crate::auth::rate_limit::{RateLimitConfig, RateLimiter};
use crate::auth::{Authenticator, LoginValidator};
use crate::config::{Config, ConfigError, JwtSecret};
use crate::cors::Cors;
use crate::dispatch::{AppState, RouteEntry};
use crate::endpoint::{EndpointService, Service};
use crate::error::StartError;
use crate::http::{Body, Method};
use crate::log::Logger;
use crate::metrics::{HttpMetrics, RouteId};
use crate::middleware::Middleware;
use crate::openapi::{self, RouteDoc, RouteKind};
use crate::ratelimit::{Limiter, RateLimits};
use crate::router::Router;
use crate::server::{self, ServerHandle};
use builtin::{Healthz, Login, Metrics, OpenApi, Readyz};
use registration::Kind;

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
/// fn main() -> Result<(), lightapi::StartError> {
///     LightApi::from_env()?.register("/hello", Hello).run()
/// }
/// ```
pub struct LightApi {
    config: Config,
    registrations: Vec<(String, Registration)>,
    login: Option<Box<dyn LoginValidator>>,
    middleware: Vec<Arc<dyn Middleware>>,
    info: openapi::Info,
    /// Parent-scoped routes: (pattern, child model, foreign key).
    nested: Vec<(String, String, String)>,
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
            info: openapi::Info::default(),
            nested: Vec::new(),
        }
    }

    /// The configuration, to change in code.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Changes the configuration (builder style).
    ///
    /// ```
    /// let _app = lightapi::LightApi::new().configure(|c| c.server.port = 0);
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

    /// Serves the rows of the registered model `child` whose foreign key
    /// `fk` names the parent row `{id}` of `pattern` (such as
    /// `/category/{id}/product`): `GET` lists them (the client's filters,
    /// paging and relations as on the child's own collection), `POST`
    /// creates one with `fk` set to `{id}` (a body naming `fk` is a `422`).
    /// A parent
    /// the caller could not read is a `404`; the child's verbs,
    /// permissions and scope apply. A child that is not registered, or a
    /// `fk` that is not its foreign key into a registered model, stops
    /// start-up.
    ///
    /// ```
    /// use lightapi::{Field, LightApi, Model};
    /// let category = Model::new("category").field("name", Field::text());
    /// let product = Model::new("product")
    ///     .field("category_id", Field::integer().references("category"));
    /// let _app = LightApi::new()
    ///     .register("/category", category)
    ///     .register("/product", product)
    ///     .register_nested("/category/{id}/product", "product", "category_id");
    /// ```
    #[must_use]
    pub fn register_nested(mut self, pattern: &str, child: &str, fk: &str) -> LightApi {
        self.nested
            .push((pattern.to_owned(), child.to_owned(), fk.to_owned()));
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

    /// The title and version `/openapi.json` gives the API (default:
    /// `lightapi` and this crate's version). Empty ones stop start-up.
    ///
    /// ```
    /// let _app = lightapi::LightApi::new()
    ///     .openapi_info("Tasks", "1.2.0")
    ///     .openapi_description("A team's tasks, projects and comments.");
    /// ```
    #[must_use]
    pub fn openapi_info(mut self, title: &str, version: &str) -> LightApi {
        self.info.title = title.to_owned();
        self.info.version = version.to_owned();
        self
    }

    /// The API's licence in `/openapi.json`: its name and SPDX identifier
    /// (none by default).
    ///
    /// ```
    /// let _app = lightapi::LightApi::new().openapi_license("MIT License", "MIT");
    /// ```
    #[must_use]
    pub fn openapi_license(mut self, name: &str, identifier: &str) -> LightApi {
        self.info.license = Some((name.to_owned(), identifier.to_owned()));
        self
    }

    /// Adds a base URL of the API to `/openapi.json`'s `servers` (by
    /// default the one relative `/`: the server the document came from).
    ///
    /// ```
    /// let _app = lightapi::LightApi::new()
    ///     .openapi_server("https://api.example.com")
    ///     .openapi_server("https://staging.example.com");
    /// ```
    #[must_use]
    pub fn openapi_server(mut self, url: &str) -> LightApi {
        self.info.servers.push(url.to_owned());
        self
    }

    /// A description of the API for `/openapi.json` (CommonMark).
    #[must_use]
    pub fn openapi_description(mut self, text: &str) -> LightApi {
        self.info.description = Some(text.to_owned());
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

    /// Serves the Prometheus metrics at `path` (replacing
    /// `LIGHTAPI_METRICS_PATH`); like any route it needs a valid token
    /// unless [`LightApi::metrics_public`] says otherwise.
    ///
    /// ```
    /// let _app = lightapi::LightApi::new().metrics("/metrics").metrics_public(true);
    /// ```
    #[must_use]
    pub fn metrics(mut self, path: &str) -> LightApi {
        self.config.metrics.path = Some(path.to_owned());
        self
    }

    /// Whether the metrics route answers without a token (replacing
    /// `LIGHTAPI_METRICS_PUBLIC`; default `false`).
    #[must_use]
    pub fn metrics_public(mut self, public: bool) -> LightApi {
        self.config.metrics.public = public;
        self
    }

    /// Enables CORS with these settings (replacing `LIGHTAPI_CORS_ORIGINS`).
    #[must_use]
    pub fn cors(mut self, cors: Cors) -> LightApi {
        self.config.cors = Some(cors);
        self
    }

    /// Binds and starts serving in background threads; returns at once.
    ///
    /// # Errors
    /// Any [`StartError`]: a bad declaration, an address that cannot be
    /// bound, a thread that cannot start, a database that cannot be
    /// prepared.
    pub fn start(self) -> Result<ServerHandle, StartError> {
        self.launch(false)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    ///
    /// # Errors
    /// As [`LightApi::start`]; and [`StartError::Crashed`] when a server
    /// thread stopped on a panic (a defect of the server's own: user code
    /// is isolated) and shut the server down, so `main` exits with a
    /// failure status.
    pub fn run(self) -> Result<(), StartError> {
        let handle = self.launch(true)?;
        match handle.join_checked() {
            Some((thread, cause)) => Err(StartError::Crashed { thread, cause }),
            None => Ok(()),
        }
    }

    /// Builds and starts serving, with the SIGINT/SIGTERM handlers when
    /// `with_signals`.
    pub(crate) fn launch(self, with_signals: bool) -> Result<ServerHandle, StartError> {
        let Built {
            config,
            app,
            on_stop,
            ..
        } = self.build()?;
        server::start(config, app, with_signals, on_stop)
    }

    /// Everything a server runs, from the declarations: the routes, the
    /// authenticator, the database with its tables, the OpenAPI document.
    pub(crate) fn build(self) -> Result<Built, StartError> {
        self.build_with(Reuse::default())
    }

    /// As [`LightApi::build`], taking over what `reuse` holds of a running
    /// application.
    pub(crate) fn build_with(self, reuse: Reuse) -> Result<Built, StartError> {
        let LightApi {
            mut config,
            mut registrations,
            login,
            middleware,
            info,
            nested,
        } = self;
        if info.servers.iter().any(|u| u.trim().is_empty())
            || info
                .license
                .as_ref()
                .is_some_and(|(n, i)| n.trim().is_empty() || i.trim().is_empty())
        {
            return Err(StartError::declaration(
                Some("OpenAPI info"),
                "a server URL or licence given to LightApi must not be empty",
            ));
        }
        if info.title.trim().is_empty() || info.version.trim().is_empty() {
            return Err(StartError::declaration(
                Some("OpenAPI info"),
                "the title and version given to LightApi::openapi_info must not be empty",
            ));
        }
        if let Some(c) = &config.cors {
            c.validate()
                .map_err(|e| StartError::declaration(Some("CORS"), e))?;
        }
        let log = Logger::new(config.log).with_format(config.log_format);
        let (jwt, signing_secret) = secret::jwt_config(&config.jwt, &log)?;
        if config.jwt.secrets.is_empty() {
            // The secret generated for this process: what a reload without
            // a secret of its own goes on with.
            config.jwt.secrets = JwtSecret::new(signing_secret.clone()).into_iter().collect();
        }
        let jwt = Arc::new(jwt);
        let mut rate_limits =
            RateLimits::new(&config.rate_limit, &config.server.trusted_proxies, log)
                .map_err(|e| StartError::declaration(Some("rate limits"), e))?;
        let mut router: Router<RouteEntry> = Router::new();
        // Route templates in the order of their metrics slots (from 1):
        // those of the table this application's metrics go on from first,
        // so each keeps its slot.
        let mut templates: Vec<String> = reuse
            .metrics
            .as_ref()
            .map(|m| m.templates().map(str::to_owned).collect())
            .unwrap_or_default();
        // Built-in routes are added without limits; the application's own
        // with theirs (`limited`).
        let mut add_route =
            |pattern: &str, service: Arc<dyn Service>, limited: bool| -> Result<(), StartError> {
                let allowed = service.allowed();
                let limits = if limited {
                    route_limits(&mut rate_limits, pattern, &*service)
                        .map_err(|e| StartError::declaration(Some(pattern), e))?
                } else {
                    Vec::new()
                };
                let slot = match templates.iter().position(|t| t == pattern) {
                    Some(slot) => slot,
                    None => {
                        templates.push(pattern.to_owned());
                        templates.len() - 1
                    }
                };
                let metric = RouteId(u32::try_from(slot + 1).unwrap_or(0));
                router
                    .insert(
                        pattern,
                        RouteEntry {
                            service,
                            allowed,
                            metric,
                            limits,
                        },
                    )
                    .map_err(|e| StartError::declaration(Some(pattern), e))?;
                Ok(())
            };
        // Health answers describe this instant: never reused.
        add_route(
            "/healthz",
            Arc::new(EndpointService::new(Healthz).never_stored()),
            false,
        )?;
        if let Some(validator) = login {
            let limiter = RateLimiter::new(RateLimitConfig {
                per_minute: config.login.per_minute,
                per_hour: config.login.per_hour,
                ..RateLimitConfig::default()
            });
            let endpoint = Login {
                validator,
                jwt: Arc::clone(&jwt),
                limiter,
                trusted_proxies: config.server.trusted_proxies.clone(),
                ttl: config.jwt.ttl,
                log,
            };
            // Neither a token nor what a login attempt was told belongs
            // in a cache.
            add_route(
                "/auth/login",
                Arc::new(EndpointService::new(endpoint).never_stored()),
                false,
            )?;
        }
        // Declaration mistakes are reported before the database is touched.
        if let Some((path, reason)) = registrations
            .iter_mut()
            .find_map(|(p, r)| r.error.take().map(|e| (p.clone(), e)))
        {
            return Err(StartError::Declaration {
                at: Some(path),
                source: reason,
            });
        }
        // The model part of the build, reached only through a model's
        // registration.
        let prepare = registrations.iter().find_map(|(_, r)| match r.kind {
            Kind::Resource(_, prepare) => Some(prepare),
            Kind::Endpoint(_) => None,
        });
        let mut models = match prepare {
            Some(prepare) => {
                let resources = registrations
                    .iter_mut()
                    .filter_map(|(_, r)| match &mut r.kind {
                        Kind::Resource(r, _) => Some(&mut **r),
                        Kind::Endpoint(_) => None,
                    })
                    .collect();
                Some(prepare(&config, resources, log, &reuse, &signing_secret)?)
            }
            None => None,
        };
        let engine = models.as_ref().map(|m| Arc::clone(m.engine()));
        // A database opened here is closed again if the build fails
        // further on (a reused one is left to its owner).
        let opened = database::Opened::new(engine.as_ref(), &reuse);
        let backend = engine
            .clone()
            .map(|e| e as Arc<dyn crate::backend::Backend>);
        add_route(
            "/readyz",
            Arc::new(
                EndpointService::new(Readyz {
                    tables: models.as_ref().map(|m| m.ready()),
                })
                .never_stored(),
            ),
            false,
        )?;
        let openapi = Arc::new(OpenApi::default());
        add_route(
            "/openapi.json",
            Arc::new(EndpointService::new(Arc::clone(&openapi))),
            false,
        )?;
        let metrics_route = config.metrics.path.as_ref().map(|path| {
            let route = Arc::new(Metrics {
                http: std::sync::OnceLock::new(),
                engine: engine.clone(),
                public: config.metrics.public,
            });
            (path.clone(), route)
        });
        if let Some((path, route)) = &metrics_route {
            add_route(
                path,
                Arc::new(EndpointService::new(Arc::clone(route)).never_stored()),
                false,
            )?;
        }
        #[cfg(feature = "docs")]
        for (pattern, file) in docs::files() {
            add_route(pattern, Arc::new(EndpointService::new(file)), false)?;
        }
        for (path, reg) in registrations {
            let base = path
                .strip_suffix('/')
                .filter(|p| !p.is_empty())
                .unwrap_or(&path);
            match reg.kind {
                Kind::Endpoint(service) => add_route(base, service, true)?,
                Kind::Resource(resource, _) => {
                    if let Some(models) = &mut models {
                        for (pattern, service) in models.routes(base, *resource) {
                            add_route(&pattern, service, true)?;
                        }
                    }
                }
            }
        }
        for (pattern, child, fk) in nested {
            let service = match &mut models {
                Some(models) => models.nested(&pattern, &child, &fk)?,
                None => {
                    return Err(StartError::declaration(
                        Some(&pattern),
                        format!("`{child}` is not a registered model"),
                    ))
                }
            };
            add_route(&pattern, service, true)?;
        }
        let described: Vec<RouteDoc<'_>> = router
            .routes()
            .filter(|(pattern, _)| {
                !is_docs_path(pattern)
                    && metrics_route.as_ref().map(|(p, _)| p.as_str()) != Some(*pattern)
            })
            .map(|(pattern, entry)| {
                let kind = models
                    .as_ref()
                    .map_or(RouteKind::Custom, |m| m.kind(pattern));
                RouteDoc {
                    pattern,
                    service: &*entry.service,
                    kind,
                    limited: entry.limits.iter().map(|(m, _)| *m).collect(),
                }
            })
            .collect();
        let body = openapi::document(&described, &info, models.as_ref().map(|m| m.docs()));
        drop(described);
        #[cfg(feature = "cli")]
        let openapi_json = body.clone();
        let _ = openapi
            .document
            .set(fixed::Fixed::new("application/json", Body::Bytes(body)));
        let backend_extension = backend
            .clone()
            .map(|db| Arc::new(db) as Arc<dyn Any + Send + Sync>);
        let http_metrics = metrics_route.map(|(_, route)| {
            let http = Arc::new(match &reuse.metrics {
                Some(running) => running.continuing(templates),
                None => HttpMetrics::new(templates),
            });
            let _ = route.http.set(Arc::clone(&http));
            http
        });
        let app = AppState {
            router,
            auth: Authenticator::new((*jwt).clone(), log),
            log,
            engine,
            backend: backend_extension,
            middleware,
            cors: config.cors.clone(),
            metrics: http_metrics,
            rate_limits,
        };
        opened.keep();
        let mut on_stop: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
        if let Some(db) = backend {
            on_stop.push(Box::new(move || db.close()));
        }
        Ok(Built {
            config,
            app,
            on_stop,
            #[cfg(feature = "cli")]
            openapi_json,
        })
    }
}

/// The rate limits of an application route, per verb: the route's own
/// first (unnamed ones named after the verb and `pattern`), usually the
/// narrower, so that what it refuses does not spend the application's
/// default, which comes next. `HEAD` is limited as `GET`, `OPTIONS` not
/// at all.
fn route_limits(
    rate_limits: &mut RateLimits,
    pattern: &str,
    service: &dyn Service,
) -> Result<Vec<(Method, Arc<Limiter>)>, String> {
    let mut limits = Vec::new();
    let methods = service
        .allowed()
        .iter()
        .filter(|m| !matches!(m, Method::Head | Method::Options));
    for method in methods {
        if let Some(limit) = service.rate_limit(method) {
            let name = || policy_name(method, pattern);
            limits.push((method, rate_limits.declare(limit.or_named(name))?));
        }
        if let Some(default) = rate_limits.default_limiter() {
            limits.push((method, Arc::clone(default)));
        }
    }
    Ok(limits)
}

/// The name of an unnamed policy of `method` on `pattern`: the verb and the
/// pattern, with what a name cannot hold left out (`post/orders/id`).
fn policy_name(method: Method, pattern: &str) -> String {
    let mut name = method.as_str().to_ascii_lowercase();
    name.extend(
        pattern
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')),
    );
    name.truncate(crate::config::MAX_RATE_LIMIT_NAME_BYTES);
    name
}

/// Whether `pattern` is a route of the API explorer, which `/openapi.json`
/// leaves out (it is not part of the API).
fn is_docs_path(pattern: &str) -> bool {
    #[cfg(feature = "docs")]
    {
        docs::PATHS.contains(&pattern)
    }
    #[cfg(not(feature = "docs"))]
    {
        let _ = pattern;
        false
    }
}

/// What a rebuilt application takes over from the running one it is to
/// replace.
#[derive(Default)]
pub(crate) struct Reuse {
    /// The running database, when the new configuration's database
    /// settings are the same: used as it is, not connected again.
    pub(crate) engine: Option<Arc<dyn crate::backend::Engine>>,
    /// The running metrics table, whose series the new one goes on
    /// counting in.
    pub(crate) metrics: Option<Arc<HttpMetrics>>,
    /// A database that does not answer fails the build, rather than
    /// starting without it (which start-up does).
    pub(crate) strict: bool,
}

/// A built application, ready to serve.
pub(crate) struct Built {
    pub(crate) config: Config,
    pub(crate) app: AppState,
    /// What to run when the server has stopped (closing the database).
    pub(crate) on_stop: Vec<Box<dyn FnOnce() + Send>>,
    /// The OpenAPI document, for `lightapi openapi`.
    #[cfg(feature = "cli")]
    pub(crate) openapi_json: Vec<u8>,
}
