//! Internals that the crate's own benchmarks, fuzz targets and integration
//! tests drive directly. Compiled only with the `__private` feature, hidden
//! from the documentation, and not part of the public API: anything here
//! may change in any release.

pub mod fuzz;
mod memory;

pub use memory::MemoryConnection;

/// The wire layer's parsers and decoders.
pub mod http {
    pub use crate::http::body::BodyDecoder;
    pub use crate::http::chunked::{reference_decode, ChunkedDecoder, Decoded};
    pub use crate::http::date::{format_imf, DateCache};
    pub use crate::http::parse::{parse_head, split_target, Framing, Head};
    pub use crate::http::query::{decode_component, parse_query, MAX_QUERY_PARAMS};
}

/// The router.
pub mod router {
    pub use crate::router::pattern::{parse_pattern, Segment};
    pub use crate::router::Router;
}

/// Opening databases and building SQL.
pub mod backend {
    pub use crate::backend::open::{connect, PoolOptions};
    /// The SQL built for each dialect.
    pub mod sql {
        pub use crate::backend::sql::*;
    }
}

/// Model operations without HTTP.
pub mod crud {
    pub use crate::crud::{cursor, etag, ops, query, schema, validate};
}

/// Token verification as the server runs it.
pub mod auth {
    pub use crate::auth::jwt::verify;
    pub use crate::auth::rate_limit::{Key, RateLimitConfig, RateLimiter, RetryAfter};
}
