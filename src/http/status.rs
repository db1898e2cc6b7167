//! Status codes: a newtype with named constants, never bare integers.

use std::fmt;

/// An HTTP status code.
///
/// ```
/// use lightapi::StatusCode;
/// assert_eq!(StatusCode::NOT_FOUND.as_u16(), 404);
/// assert_eq!(StatusCode::NOT_FOUND.reason(), "Not Found");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

macro_rules! statuses {
    ($($name:ident = $code:literal, $reason:literal;)*) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                pub const $name: StatusCode = StatusCode($code);
            )*

            /// The standard reason phrase, or `""` for an unnamed code.
            pub fn reason(self) -> &'static str {
                match self.0 {
                    $($code => $reason,)*
                    _ => "",
                }
            }

            /// The whole HTTP/1.1 status line with its CRLF, followed by
            /// the name of the `Date` field every response starts with, for
            /// a named code: one copy for both.
            pub(crate) fn head_start(self) -> Option<&'static [u8]> {
                match self.0 {
                    $($code => Some(concat!("HTTP/1.1 ", $code, " ", $reason, "\r\nDate: ").as_bytes()),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    CONTINUE = 100, "Continue";
    OK = 200, "OK";
    CREATED = 201, "Created";
    ACCEPTED = 202, "Accepted";
    NO_CONTENT = 204, "No Content";
    MOVED_PERMANENTLY = 301, "Moved Permanently";
    FOUND = 302, "Found";
    SEE_OTHER = 303, "See Other";
    NOT_MODIFIED = 304, "Not Modified";
    TEMPORARY_REDIRECT = 307, "Temporary Redirect";
    BAD_REQUEST = 400, "Bad Request";
    UNAUTHORIZED = 401, "Unauthorized";
    FORBIDDEN = 403, "Forbidden";
    NOT_FOUND = 404, "Not Found";
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed";
    NOT_ACCEPTABLE = 406, "Not Acceptable";
    REQUEST_TIMEOUT = 408, "Request Timeout";
    CONFLICT = 409, "Conflict";
    GONE = 410, "Gone";
    LENGTH_REQUIRED = 411, "Length Required";
    PRECONDITION_FAILED = 412, "Precondition Failed";
    PAYLOAD_TOO_LARGE = 413, "Content Too Large";
    URI_TOO_LONG = 414, "URI Too Long";
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported Media Type";
    EXPECTATION_FAILED = 417, "Expectation Failed";
    UNPROCESSABLE_ENTITY = 422, "Unprocessable Content";
    PRECONDITION_REQUIRED = 428, "Precondition Required";
    TOO_MANY_REQUESTS = 429, "Too Many Requests";
    REQUEST_HEADER_FIELDS_TOO_LARGE = 431, "Request Header Fields Too Large";
    INTERNAL_SERVER_ERROR = 500, "Internal Server Error";
    NOT_IMPLEMENTED = 501, "Not Implemented";
    BAD_GATEWAY = 502, "Bad Gateway";
    SERVICE_UNAVAILABLE = 503, "Service Unavailable";
    GATEWAY_TIMEOUT = 504, "Gateway Timeout";
    HTTP_VERSION_NOT_SUPPORTED = 505, "HTTP Version Not Supported";
}

impl StatusCode {
    /// A status from its number, if it is a valid three-digit code (100–599).
    ///
    /// ```
    /// use lightapi::StatusCode;
    /// assert_eq!(StatusCode::from_u16(418).map(|s| s.as_u16()), Some(418));
    /// assert!(StatusCode::from_u16(99).is_none());
    /// ```
    pub fn from_u16(code: u16) -> Option<StatusCode> {
        (100..=599).contains(&code).then_some(StatusCode(code))
    }

    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether responses with this status never carry a body (1xx, 204, 304).
    pub fn is_bodiless(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }

    /// Whether this is a 2xx status.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// Whether this is a 5xx status.
    pub fn is_server_error(self) -> bool {
        self.0 >= 500
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodiless_statuses() {
        assert!(StatusCode::CONTINUE.is_bodiless());
        assert!(StatusCode::NO_CONTENT.is_bodiless());
        assert!(StatusCode::NOT_MODIFIED.is_bodiless());
        assert!(!StatusCode::OK.is_bodiless());
        assert!(!StatusCode::NOT_FOUND.is_bodiless());
    }

    #[test]
    fn display_has_reason() {
        assert_eq!(
            StatusCode::PAYLOAD_TOO_LARGE.to_string(),
            "413 Content Too Large"
        );
        assert_eq!(StatusCode::from_u16(600), None);
    }

    #[test]
    fn status_lines_match_code_and_reason() {
        for code in 100..600 {
            let Some(s) = StatusCode::from_u16(code) else {
                continue;
            };
            match s.head_start() {
                Some(line) => assert_eq!(line, format!("HTTP/1.1 {s}\r\nDate: ").as_bytes()),
                None => assert_eq!(s.reason(), "", "{code}"),
            }
        }
        assert_eq!(
            StatusCode::OK.head_start(),
            Some(&b"HTTP/1.1 200 OK\r\nDate: "[..])
        );
    }
}
