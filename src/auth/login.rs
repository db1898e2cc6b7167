//! Login credentials and the application's check of them.

use std::fmt;

use serde_json::{Map, Value};

/// The credentials a client sent to `POST /auth/login`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Decides whether credentials are valid.
///
/// `Ok(Some(claims))`: valid; the token carries `sub` = username plus these
/// extra claims (e.g. `is_admin`). `Ok(None)`: invalid (`401`). `Err(cause)`:
/// the check itself failed; the client sees `401`, the cause is logged.
///
/// Any `Fn(&Credentials) -> Result<Option<Map<String, Value>>, String>`
/// closure is a validator:
///
/// ```
/// use lightapi::auth::Credentials;
/// use serde_json::{json, Map, Value};
///
/// let validator = |c: &Credentials| -> Result<Option<Map<String, Value>>, String> {
///     if c.username == "admin" && c.password == "secret" {
///         let mut extra = Map::new();
///         extra.insert("is_admin".into(), json!(true));
///         Ok(Some(extra))
///     } else {
///         Ok(None)
///     }
/// };
/// # use lightapi::auth::LoginValidator;
/// # let c = Credentials { username: "admin".into(), password: "secret".into() };
/// # assert!(validator.validate(&c).unwrap().is_some());
/// ```
pub trait LoginValidator: Send + Sync + 'static {
    /// Checks `credentials`.
    ///
    /// # Errors
    /// A cause to log when the check could not be made.
    fn validate(&self, credentials: &Credentials) -> Result<Option<Map<String, Value>>, String>;
}

impl<F> LoginValidator for F
where
    F: Fn(&Credentials) -> Result<Option<Map<String, Value>>, String> + Send + Sync + 'static,
{
    fn validate(&self, credentials: &Credentials) -> Result<Option<Map<String, Value>>, String> {
        self(credentials)
    }
}
