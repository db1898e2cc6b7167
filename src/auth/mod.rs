//! Authentication and permissions.

pub mod access;

pub use access::Access;

use serde_json::{Map, Value};

/// Verified JWT claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    map: Map<String, Value>,
}

impl Claims {
    /// Claims from a JSON object.
    pub fn from_map(map: Map<String, Value>) -> Claims {
        Claims { map }
    }
    /// The `sub` claim.
    pub fn sub(&self) -> Option<&str> {
        self.map.get("sub").and_then(Value::as_str)
    }
    /// Whether `is_admin` is exactly `true`.
    pub fn is_admin(&self) -> bool {
        self.map.get("is_admin") == Some(&Value::Bool(true))
    }
    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }
}

use crate::error::ApiError;
use crate::http::request::Request;

/// Checks bearer tokens against route permissions.
#[derive(Debug, Default)]
pub(crate) struct Authenticator {}

impl Authenticator {
    pub(crate) fn authorize(&self, access: &Access, req: &mut Request) -> Result<(), ApiError> {
        if access.is_public() {
            return Ok(());
        }
        Err(ApiError::Unauthorized {
            token_sent: req.header("authorization").is_some(),
        })
    }
}
