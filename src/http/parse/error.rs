//! Why a request head was refused.

use std::fmt;

/// Why a request head was refused. Every refusal closes the connection,
/// since where the next request would start is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The request line plus headers exceed the limit.
    HeadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// More header fields than allowed.
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The request target exceeds the limit.
    UriTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The head is not valid HTTP/1.x syntax.
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// Framing that could be read two ways (request smuggling).
    AmbiguousFraming {
        /// What was wrong.
        reason: &'static str,
    },
    /// A missing or repeated `Host` on HTTP/1.1, or a `Host` value that is
    /// not `host[:port]` (RFC 9112 §3.2).
    BadHost {
        /// What was wrong.
        reason: &'static str,
    },
    /// A protocol version other than HTTP/1.0 or HTTP/1.1.
    UnsupportedVersion,
    /// A method lightapi does not implement.
    UnknownMethod,
    /// A transfer coding other than `chunked`.
    UnsupportedTransferCoding,
    /// An `Expect` value other than `100-continue`.
    UnsupportedExpectation,
    /// The declared body exceeds the limit.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::HeadTooLarge { limit } => {
                write!(f, "request line and headers exceed {limit} bytes")
            }
            ParseError::TooManyHeaders { limit } => write!(f, "more than {limit} header fields"),
            ParseError::UriTooLong { limit } => write!(f, "request target exceeds {limit} bytes"),
            ParseError::Malformed { reason } => write!(f, "malformed request: {reason}"),
            ParseError::AmbiguousFraming { reason } => {
                write!(f, "ambiguous message framing: {reason}")
            }
            ParseError::BadHost { reason } => write!(f, "bad Host header: {reason}"),
            ParseError::UnsupportedVersion => f.write_str("unsupported HTTP version"),
            ParseError::UnknownMethod => f.write_str("method not implemented"),
            ParseError::UnsupportedTransferCoding => {
                f.write_str("transfer coding not implemented (only chunked is)")
            }
            ParseError::UnsupportedExpectation => {
                f.write_str("only the expectation 100-continue is supported")
            }
            ParseError::BodyTooLarge { limit } => write!(f, "request body exceeds {limit} bytes"),
        }
    }
}

impl std::error::Error for ParseError {}
