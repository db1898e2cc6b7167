//! A `CustomEndpoint`: `GET` and `POST` on `/custom`, `405` for the
//! rest. Like every route, it requires a bearer token; the token to use is
//! printed at start-up.
//!
//! ```sh
//! cargo run --example custom
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/custom
//! ```

use lightapi::{Endpoint, HandlerResult, LightApi, Method, Request};
use serde_json::json;

struct CustomEndpoint;

impl Endpoint for CustomEndpoint {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get, Method::Post])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"data": "ok", "message": "GET request"}).into())
    }

    fn post(&self, req: &Request) -> HandlerResult {
        Ok(json!({"data": req.json()?, "message": "POST request"}).into())
    }
}

fn main() -> Result<(), lightapi::StartError> {
    LightApi::from_env()?
        .register("/custom", CustomEndpoint)
        .run()
}
