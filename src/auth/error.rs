//! Why a caller was refused.

use std::fmt;

use super::jwt::JwtError;

/// A refusal by authentication or authorisation. The token check that
/// failed is kept for the log and never told to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No bearer token on a route that needs one.
    MissingToken,
    /// A bearer token that does not verify (or is not a token at all).
    InvalidToken {
        /// The failed check, when a token was read.
        source: Option<JwtError>,
    },
    /// A valid token without the permission the route requires.
    Forbidden,
    /// A login with a wrong username or password.
    InvalidCredentials,
    /// Too many login attempts.
    TooManyAttempts {
        /// Seconds until the client may try again.
        retry_after: u64,
    },
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::MissingToken => f.write_str("a bearer token is required"),
            AuthError::InvalidToken { .. } => f.write_str("the bearer token is invalid or expired"),
            AuthError::Forbidden => f.write_str("the token does not grant access to this resource"),
            AuthError::InvalidCredentials => f.write_str("invalid username or password"),
            AuthError::TooManyAttempts { retry_after } => {
                write!(f, "too many attempts; retry after {retry_after} s")
            }
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthError::InvalidToken { source: Some(e) } => Some(e),
            _ => None,
        }
    }
}
