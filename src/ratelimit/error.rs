//! What a rate limit refuses.

use std::fmt;

/// A request refused by a rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The window of a policy is full (`429` with `Retry-After`).
    TooManyRequests {
        /// The policy's name.
        policy: String,
        /// Whole seconds until its window ends; at least 1.
        retry_after: u64,
    },
    /// The shared counters cannot be reached and the server is configured
    /// to refuse meanwhile (`503`).
    Unavailable,
}

impl fmt::Display for RateLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitError::TooManyRequests { retry_after, .. } => {
                write!(f, "too many requests, retry after {retry_after} s")
            }
            RateLimitError::Unavailable => f.write_str("the rate limit counters are unavailable"),
        }
    }
}

impl std::error::Error for RateLimitError {}
