//! # lightapi
//!
//! Declare a database model, get a complete, secure, fast REST API; add
//! hand-written endpoints beside it.
//!
//! ```no_run
//! use lightapi::{Endpoint, HandlerResult, LightApi, Method, Request};
//! use serde_json::json;
//!
//! struct Custom;
//!
//! impl Endpoint for Custom {
//!     fn methods(&self) -> Option<&[Method]> {
//!         Some(&[Method::Get, Method::Post])
//!     }
//!     fn get(&self, _req: &Request) -> HandlerResult {
//!         Ok(json!({"data": "ok", "message": "GET request"}).into())
//!     }
//!     fn post(&self, req: &Request) -> HandlerResult {
//!         Ok(json!({"data": req.json()?, "message": "POST request"}).into())
//!     }
//! }
//!
//! fn main() -> Result<(), lightapi::ConfigError> {
//!     LightApi::from_env()?.register("/custom", Custom).run()
//! }
//! ```
//!
//! ## The data path
//!
//! ```text
//! socket ─▶ server::reactor ─▶ server::conn ─▶ http::parse ─▶ router
//!        ─▶ auth ─▶ endpoint | crud ─▶ backend ─▶ http::response ─▶ server::conn
//! ```
//!
//! Each stage is a module of the same name. `http` is pure (no I/O), so it is
//! unit-tested, fuzzed and benchmarked on byte slices.
#![doc(test(attr(deny(warnings))))]

pub mod app;
pub mod auth;
pub mod backend;
pub mod config;
pub mod cors;
pub mod crud;
pub(crate) mod dispatch;
pub mod endpoint;
pub mod error;
pub mod http;
pub(crate) mod log;
pub mod middleware;
pub mod model;
pub(crate) mod openapi;
pub mod router;
pub mod server;

#[doc(hidden)]
pub mod __fuzz;

pub use app::LightApi;
pub use auth::{Access, Claims};
pub use config::{Config, ConfigError, Limits, LogLevel, Timeouts};
pub use endpoint::{Endpoint, HandlerResult, Registration};
pub use error::{ApiError, FieldError};
pub use http::headers::Headers;
pub use http::method::{Method, MethodSet};
pub use http::request::Request;
pub use http::response::{Body, Response};
pub use http::status::StatusCode;
pub use model::{Field, Model};
pub use server::ServerHandle;
