//! Who may call a route: the permission attached to each route and method.

use std::fmt;
use std::sync::Arc;

use super::Claims;
use crate::http::Request;

/// A user-supplied permission check over the claims and the request.
pub type CheckFn = dyn Fn(&Claims, &Request) -> bool + Send + Sync;

/// The permission a route and method require.
///
/// Every registered route is [`Access::Authenticated`] unless declared
/// otherwise.
///
/// ```
/// use lightapi::Access;
/// let owner_only = Access::check(|claims, req| claims.sub() == req.param("user"));
/// assert!(!owner_only.is_public());
/// assert!(Access::Public.is_public());
/// ```
#[derive(Clone, Default)]
pub enum Access {
    /// Anyone, without a token (allow-any).
    Public,
    /// Any valid token.
    #[default]
    Authenticated,
    /// A valid token whose `is_admin` claim is `true`.
    Admin,
    /// A valid token for which the check returns `true`.
    Check(Arc<CheckFn>),
}

impl Access {
    /// A custom check.
    pub fn check(f: impl Fn(&Claims, &Request) -> bool + Send + Sync + 'static) -> Access {
        Access::Check(Arc::new(f))
    }

    /// Whether no token is needed.
    pub fn is_public(&self) -> bool {
        matches!(self, Access::Public)
    }

    /// Whether verified `claims` may make `req`.
    pub fn permits(&self, claims: &Claims, req: &Request) -> bool {
        match self {
            Access::Public | Access::Authenticated => true,
            Access::Admin => claims.is_admin(),
            Access::Check(f) => f(claims, req),
        }
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Public => "Public",
            Access::Authenticated => "Authenticated",
            Access::Admin => "Admin",
            Access::Check(_) => "Check(..)",
        })
    }
}
