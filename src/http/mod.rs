//! HTTP/1.1 without I/O: head parsing, body framing, the chunked coding,
//! requests, responses. Sockets never appear here, so every piece is a pure
//! function or state machine that can be unit-tested, fuzzed and benchmarked
//! on byte slices.

pub mod body;
pub mod chunked;
pub mod date;
mod fields;
pub mod headers;
pub mod method;
pub mod parse;
pub mod query;
pub mod request;
pub mod response;
pub mod status;
