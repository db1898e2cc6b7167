//! `LightApi`: the application builder. Register models and endpoints, then
//! `run()` (or `start()` to embed).

use std::sync::Arc;

use serde_json::json;

use crate::auth::{Access, Authenticator};
use crate::config::{Config, ConfigError};
use crate::dispatch::{AppState, RouteEntry};
use crate::endpoint::{Endpoint, EndpointService, HandlerResult, Registration, Service};
use crate::http::method::Method;
use crate::http::request::Request;
use crate::log::Logger;
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
}

impl std::fmt::Debug for LightApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightApi")
            .field("config", &self.config)
            .field(
                "paths",
                &self.registrations.iter().map(|(p, _)| p).collect::<Vec<_>>(),
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
        }
    }

    /// The configuration, to change in code.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Changes the configuration (builder style).
    ///
    /// ```
    /// let app = lightapi::LightApi::new().configure(|c| c.port = 0);
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
        } = self;
        let log = Logger::new(config.log_level);
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
        for (path, reg) in registrations {
            if let Some(reason) = reg.error {
                return Err(ConfigError::Declaration {
                    reason: format!("{path}: {reason}"),
                });
            }
            let base = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(&path);
            for (suffix, service) in reg.routes {
                add(&format!("{base}{suffix}"), service)?;
            }
        }
        let app = AppState {
            router,
            auth: Authenticator::default(),
            log,
        };
        server::start(config, app, with_signals, Vec::new())
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
