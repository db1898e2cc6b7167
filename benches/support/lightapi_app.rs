//! The benchmark job, as lightapi serves it: `GET /plaintext` and
//! `GET /json` (public, inline), plus the same two routes behind a bearer
//! token under `/protected/...` for the "with JWT" workloads.
//!
//! Shared by `examples/bench.rs`, `benches/e2e.rs` and the comparison crate
//! through `#[path]`, so every measurement runs exactly this code.

#![allow(dead_code)]

use lightapi::{
    Access, Body, Endpoint, HandlerResult, LightApi, Method, Request, Response, StatusCode,
};
use serde_json::json;

/// The plaintext body.
pub const HELLO: &[u8] = b"Hello, World!";

/// `GET /plaintext`: `Hello, World!` as `text/plain`.
pub struct Plaintext {
    /// Whether the route needs no token.
    pub public: bool,
}

impl Endpoint for Plaintext {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(Response::new(StatusCode::OK)
            .with_header("Content-Type", "text/plain")
            .with_body(Body::Static(HELLO)))
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

/// `GET /json`: `{"message":"Hello, World!"}`, serialised per request.
pub struct Json {
    /// Whether the route needs no token.
    pub public: bool,
}

impl Endpoint for Json {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"message": "Hello, World!"}).into())
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

/// Registers the benchmark job on `app`: `/plaintext` and `/json`, public.
pub fn register(app: LightApi) -> LightApi {
    // CRUD WORKLOADS GO HERE once database CRUD is merged: register the
    // Person model at `/person` (SQLite, seeded with rows 1..=10_000) so that
    // the load generator can drive `GET /person/{id}` and `POST /person`
    // (see `crud_workloads` in benches/e2e.rs). Until then they are neither
    // measured nor faked.
    app.register("/plaintext", Plaintext { public: true })
        .register("/json", Json { public: true })
}

/// Adds the same two routes requiring a bearer token:
/// `/protected/plaintext` and `/protected/json`.
pub fn register_protected(app: LightApi) -> LightApi {
    app.register("/protected/plaintext", Plaintext { public: false })
        .register("/protected/json", Json { public: false })
}
