//! JSON request bodies: the media type check and the parse, with the error
//! a handler can hand back as is.

use std::fmt;

use serde_json::Value;

use super::headers::Headers;

/// Why a request body could not be read as JSON.
#[derive(Debug)]
#[non_exhaustive]
pub enum BodyError {
    /// A `Content-Type` other than JSON was sent.
    UnsupportedMediaType,
    /// No body at all.
    Empty,
    /// The body is not valid JSON.
    Invalid {
        /// The parser's reason.
        source: serde_json::Error,
    },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::UnsupportedMediaType => {
                f.write_str("request bodies must be application/json")
            }
            BodyError::Empty => {
                f.write_str("the request body is empty; a JSON document was expected")
            }
            BodyError::Invalid { source } => {
                write!(f, "the request body is not valid JSON: {source}")
            }
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BodyError::Invalid { source } => Some(source),
            _ => None,
        }
    }
}

/// Parses `body` as JSON after checking the request's `Content-Type`.
pub(crate) fn parse(headers: &Headers, body: &[u8]) -> Result<Value, BodyError> {
    if let Some(ct) = headers.get("content-type") {
        if !is_json_media_type(ct) {
            return Err(BodyError::UnsupportedMediaType);
        }
    }
    if body.is_empty() {
        return Err(BodyError::Empty);
    }
    serde_json::from_slice(body).map_err(|source| BodyError::Invalid { source })
}

/// Whether a `Content-Type` value names JSON (`application/json` or a
/// `+json` suffix), ignoring parameters.
pub(crate) fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5
            && essence
                .get(essence.len() - 5..)
                .is_some_and(|s| s.eq_ignore_ascii_case("+json"))
            && essence
                .get(..12)
                .is_some_and(|s| s.eq_ignore_ascii_case("application/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
        assert!(!is_json_media_type("text/+json"));
    }

    #[test]
    fn body_errors() {
        let mut h = Headers::new();
        assert!(matches!(parse(&h, b""), Err(BodyError::Empty)));
        assert!(matches!(parse(&h, b"{"), Err(BodyError::Invalid { .. })));
        h.push(b"Content-Type", b"text/plain");
        assert!(matches!(
            parse(&h, b"{}"),
            Err(BodyError::UnsupportedMediaType)
        ));
    }
}
