//! # lightapi
//!
//! Declare a database model, get a complete, secure, fast REST API; add
//! hand-written endpoints beside it.
//!
//! ```no_run
//! use lightapi::{Field, LightApi, Model};
//!
//! fn main() -> Result<(), lightapi::StartError> {
//!     let person = Model::new("person")
//!         .field("name", Field::text())
//!         .field("email", Field::text().unique())
//!         .field("email_verified", Field::boolean().default(false));
//!     LightApi::from_env()?.register("/person", person).run()
//! }
//! ```
//!
//! A custom endpoint implements the verbs it needs; the others answer `405`:
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
//! fn main() -> Result<(), lightapi::StartError> {
//!     LightApi::from_env()?.register("/custom", Custom).run()
//! }
//! ```
//!
//! ## The data path
//!
//! ```text
//! socket ─▶ server::reactor ─▶ server::conn ─▶ http::parse ─▶ router
//!        ─▶ auth ─▶ ratelimit ─▶ endpoint | resource ─▶ crud ─▶ backend ─▶ http::response
//!        ─▶ server::conn
//! ```
//!
//! Each stage is a module of the same name, and no module imports one
//! above it. `http` is the bottom layer and pure (no I/O), so it is
//! unit-tested, fuzzed and benchmarked on byte slices.
#![doc(test(attr(deny(warnings))))]

mod app;
pub mod auth;
pub mod backend;
mod calendar;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
mod cors;
mod crud;
mod dispatch;
mod endpoint;
pub mod error;
mod hex;
pub mod http;
#[cfg(test)]
mod layers;
mod log;
mod metrics;
pub mod middleware;
pub mod model;
mod openapi;
pub mod prelude;
pub mod ratelimit;
pub mod resource;
mod router;
mod server;
mod sync;

#[cfg(feature = "__private")]
#[doc(hidden)]
pub mod __private;

pub use app::{LightApi, Registration};
pub use auth::{Access, Claims};
pub use config::Config;
pub use cors::Cors;
pub use endpoint::{Endpoint, HandlerResult, OperationDoc};
pub use error::{ApiError, FieldError, StartError};
pub use http::{Body, Headers, Method, MethodSet, Request, Response, StatusCode};
pub use model::{Field, FieldType, Model, Value};
pub use resource::{Crud, Resource};
pub use server::ServerHandle;

/// The README's Rust examples, compiled as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
