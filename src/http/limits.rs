//! The limits the request parser and body decoders enforce.

/// Default cap on the request line plus headers: 8 KiB.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 8 * 1024;
/// Default cap on a request body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default cap on the number of request headers: 100.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default cap on the request target: 8 KiB.
pub const DEFAULT_MAX_URI_BYTES: usize = 8 * 1024;

/// Size limits on one request message. Exceeding one is a refusal with its
/// own status (`431`, `414`, `413`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Request line plus headers, in bytes.
    pub max_head_bytes: usize,
    /// Request body, in bytes.
    pub max_body_bytes: usize,
    /// Number of header fields.
    pub max_headers: usize,
    /// Request target, in bytes.
    pub max_uri_bytes: usize,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
        }
    }
}
