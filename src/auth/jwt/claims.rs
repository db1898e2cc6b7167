//! The verified claims a handler receives.

use std::sync::Arc;

use serde_json::{Map, Value};

/// The claims of a verified token: the payload's JSON object.
///
/// [`verify`](super::verify) is the only way a request obtains `Claims`; build them with
/// [`Claims::from_map`] in tests.
///
/// ```
/// use lightapi::auth::Claims;
/// use serde_json::json;
///
/// let map = json!({"sub": "alice", "is_admin": true, "exp": 1_900_000_000})
///     .as_object()
///     .cloned()
///     .unwrap_or_default();
/// let claims = Claims::from_map(map);
/// assert_eq!(claims.sub(), Some("alice"));
/// assert!(claims.is_admin());
/// assert_eq!(claims.exp(), Some(1_900_000_000));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claims {
    // Shared, so handing the same verified claims to many requests (see
    // the token cache in `auth`) costs no copy.
    map: Arc<Map<String, Value>>,
}

impl Claims {
    /// Wraps a claims object without verifying anything.
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self { map: Arc::new(map) }
    }

    /// The `sub` (subject) claim, when it is a string.
    pub fn sub(&self) -> Option<&str> {
        self.map.get("sub").and_then(Value::as_str)
    }

    /// Whether the `is_admin` claim is exactly the JSON value `true`.
    ///
    /// A string `"true"`, the number `1` or an absent claim are all `false`.
    pub fn is_admin(&self) -> bool {
        matches!(self.map.get("is_admin"), Some(Value::Bool(true)))
    }

    /// The `exp` (expiration) claim in unix seconds.
    ///
    /// A fractional `exp` is rounded down. `None` when the claim is absent, negative or
    /// not a number.
    pub fn exp(&self) -> Option<u64> {
        let exp = self.map.get("exp")?.as_number()?;
        if let Some(seconds) = exp.as_u64() {
            return Some(seconds);
        }
        match exp.as_f64() {
            // `as` saturates at u64::MAX for very large values.
            Some(seconds) if seconds >= 0.0 => Some(seconds as u64),
            _ => None,
        }
    }

    /// The claim called `name`, whatever its type.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// All claims.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// All claims, by value.
    pub fn into_map(self) -> Map<String, Value> {
        Arc::try_unwrap(self.map).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl From<Claims> for Map<String, Value> {
    fn from(claims: Claims) -> Self {
        claims.into_map()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        Claims::from_map(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn claims_are_send_sync_clone_debug() {
        fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
        assert_traits::<Claims>();
    }

    #[test]
    fn is_admin_requires_json_true() {
        let cases = [
            (json!({"is_admin": true}), true),
            (json!({"is_admin": false}), false),
            (json!({"is_admin": "true"}), false),
            (json!({"is_admin": 1}), false),
            (json!({"is_admin": [true]}), false),
            (json!({"admin": true}), false),
            (json!({}), false),
        ];
        for (value, expected) in cases {
            assert_eq!(claims(value.clone()).is_admin(), expected, "{value}");
        }
    }

    #[test]
    fn sub_and_exp_accessors_check_types() {
        let cases = [
            (json!({"sub": "bob", "exp": 10}), Some("bob"), Some(10)),
            (json!({"sub": 7, "exp": 10.9}), None, Some(10)),
            (json!({"exp": -1}), None, None),
            (json!({"exp": -0.5}), None, None),
            (json!({"exp": "10"}), None, None),
            (json!({"exp": 1e300}), None, Some(u64::MAX)),
            (json!({}), None, None),
        ];
        for (value, sub, exp) in cases {
            let claims = claims(value.clone());
            assert_eq!(claims.sub(), sub, "{value}");
            assert_eq!(claims.exp(), exp, "{value}");
        }
    }

    #[test]
    fn get_and_maps_expose_every_claim() {
        let claims = claims(json!({"sub": "bob", "scope": ["read"]}));
        assert_eq!(claims.get("scope"), Some(&json!(["read"])));
        assert_eq!(claims.get("missing"), None);
        assert_eq!(claims.as_map().len(), 2);
        let map: Map<String, Value> = claims.clone().into();
        assert_eq!(map, claims.into_map());
    }
}
