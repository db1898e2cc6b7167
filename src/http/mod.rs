//! HTTP/1.1 without I/O, the bottom layer: head parsing, body framing, the
//! chunked coding, requests, responses. Sockets never appear here and no
//! other part of the crate is imported, so every piece is a pure function or
//! state machine that can be unit-tested, fuzzed and benchmarked on byte
//! slices.

pub(crate) mod body;
pub(crate) mod chunked;
pub(crate) mod date;
mod extensions;
mod fields;
pub(crate) mod forwarded;
mod headers;
mod json;
mod limits;
mod method;
pub(crate) mod parse;
pub(crate) mod prefer;
pub(crate) mod query;
mod request;
mod response;
mod status;

pub use chunked::ChunkedError;
pub use extensions::Extensions;
pub use forwarded::{Cidr, CidrError};
pub use headers::Headers;
pub use json::BodyError;
pub use limits::{
    MessageLimits, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_BYTES,
    DEFAULT_MAX_URI_BYTES,
};
pub use method::{Method, MethodSet};
pub use parse::{ParseError, Version};
pub use query::QueryError;
pub use request::{Params, Request};
pub(crate) use response::ConnectionHeader;
pub use response::{Body, HeaderText, Response};
pub use status::StatusCode;
