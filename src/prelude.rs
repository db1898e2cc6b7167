//! What most applications use, with the accessor traits that read the
//! server's extensions off a request: `use lightapi::prelude::*;`.
//!
//! ```
//! use lightapi::prelude::*;
//!
//! struct Me;
//! impl Endpoint for Me {
//!     fn get(&self, req: &Request) -> HandlerResult {
//!         let sub = req.claims().and_then(|c| c.sub()).unwrap_or("anonymous");
//!         Ok(serde_json::json!({"sub": sub}).into())
//!     }
//! }
//! # let _ = Me.get(&Request::new(Method::Get, "/me"));
//! ```

pub use crate::auth::ClaimsExt;
pub use crate::backend::BackendExt;
pub use crate::resource::ResourceExt;
pub use crate::{
    Access, ApiError, Endpoint, Field, HandlerResult, LightApi, Method, Model, Request, Response,
    StatusCode,
};
