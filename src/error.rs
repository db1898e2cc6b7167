//! `ApiError`: every layer's error, and the ONE table that maps them to an
//! HTTP status and an RFC 9457 problem document (SPEC §3).
//!
//! Layer errors know nothing about HTTP; they convert into [`ApiError`] with
//! `From`. Causes of `500`s are kept for the log and never sent.

use std::fmt;

use serde_json::{json, Map, Value};

use crate::backend::BackendError;
pub use crate::crud::FieldError;
use crate::crud::{CrudError, ValidationErrors};
use crate::http::chunked::ChunkedError;
use crate::http::method::MethodSet;
use crate::http::parse::ParseError;
use crate::http::query::QueryError;
use crate::http::response::{Body, Response};
use crate::http::status::StatusCode;
use crate::router::RouteError;

/// The error type handlers return, and what every layer error becomes.
///
/// ```
/// use lightapi::{ApiError, StatusCode};
/// let e = ApiError::not_found("no such order");
/// assert_eq!(e.status_code(), StatusCode::NOT_FOUND);
/// let r = e.into_response();
/// assert_eq!(r.header("content-type"), Some("application/problem+json"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The request head was refused.
    Parse(ParseError),
    /// The chunked body was refused.
    Chunked(ChunkedError),
    /// The query string does not decode.
    Query(QueryError),
    /// No route, or the method is not allowed.
    Route(RouteError),
    /// A body or parameter a handler could not use (`400`).
    BadRequest {
        /// Shown to the client.
        detail: String,
    },
    /// A body with a `Content-Type` other than JSON (`415`).
    UnsupportedMediaType,
    /// Fields that failed validation (`422`).
    Validation {
        /// Every bad field.
        errors: Vec<FieldError>,
    },
    /// No credentials, or credentials that do not verify (`401`).
    Unauthorized {
        /// Whether a token was sent (adds `error="invalid_token"`).
        token_sent: bool,
    },
    /// A login with a wrong username or password (`401`).
    InvalidCredentials,
    /// Valid credentials without permission (`403`).
    Forbidden,
    /// Too many attempts (`429`).
    TooManyRequests {
        /// Seconds until the client may try again.
        retry_after: u64,
    },
    /// The request conflicts with stored data (`409`).
    Conflict {
        /// The field, when known.
        field: Option<String>,
        /// Shown to the client.
        detail: String,
    },
    /// `If-Match` did not match (`412`).
    PreconditionFailed,
    /// `If-Match` is required and missing (`428`).
    PreconditionRequired,
    /// The database is unreachable (`503`).
    Unavailable {
        /// The cause, for the log only.
        cause: String,
        /// Seconds to suggest in `Retry-After`.
        retry_after: u64,
    },
    /// A handler panicked (`500`).
    Panic {
        /// The panic message, for the log only.
        cause: String,
    },
    /// Anything else that is the server's fault (`500`).
    Internal {
        /// The cause, for the log only.
        cause: String,
    },
    /// Any other status with a detail, for handlers.
    Status {
        /// The status.
        status: StatusCode,
        /// Shown to the client.
        detail: String,
    },
}

impl ApiError {
    /// `404` with a detail.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::Status {
            status: StatusCode::NOT_FOUND,
            detail: detail.into(),
        }
    }

    /// `400` with a detail.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            detail: detail.into(),
        }
    }

    /// Any status with a detail.
    pub fn status(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError::Status {
            status,
            detail: detail.into(),
        }
    }

    /// `500`, keeping the cause for the log.
    pub fn internal(cause: impl Into<String>) -> ApiError {
        ApiError::Internal {
            cause: cause.into(),
        }
    }

    /// `405`; the server fills in `Allow` from the route.
    pub fn method_not_allowed() -> ApiError {
        ApiError::Route(RouteError::MethodNotAllowed {
            allow: MethodSet::EMPTY,
        })
    }

    /// The status this error answers with: the one status table.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Parse(e) => match e {
                ParseError::HeadTooLarge { .. } | ParseError::TooManyHeaders { .. } => {
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
                }
                ParseError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
                ParseError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                ParseError::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                ParseError::UnknownMethod | ParseError::UnsupportedTransferCoding => {
                    StatusCode::NOT_IMPLEMENTED
                }
                ParseError::UnsupportedExpectation => StatusCode::EXPECTATION_FAILED,
                _ => StatusCode::BAD_REQUEST,
            },
            ApiError::Chunked(ChunkedError::BodyTooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Chunked(_) | ApiError::Query(_) | ApiError::BadRequest { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Route(RouteError::NotFound) => StatusCode::NOT_FOUND,
            ApiError::Route(RouteError::MethodNotAllowed { .. }) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized { .. } | ApiError::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Panic { .. } | ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Status { status, .. } => *status,
        }
    }

    /// Whether the connection must close after this error: every refusal of
    /// the request framing, since the next request's start is unknown.
    pub fn must_close(&self) -> bool {
        matches!(self, ApiError::Parse(_) | ApiError::Chunked(_))
    }

    /// The cause to log for server-side failures, if any.
    pub fn log_cause(&self) -> Option<&str> {
        match self {
            ApiError::Panic { cause }
            | ApiError::Internal { cause }
            | ApiError::Unavailable { cause, .. } => Some(cause),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Parse(e) => e.to_string(),
            ApiError::Chunked(e) => e.to_string(),
            ApiError::Query(e) => format!("the query string does not decode: {e}"),
            ApiError::Route(RouteError::NotFound) => "no resource at this path".into(),
            ApiError::Route(RouteError::MethodNotAllowed { .. }) => {
                "this method is not allowed on this resource".into()
            }
            ApiError::BadRequest { detail }
            | ApiError::Status { detail, .. }
            | ApiError::Conflict { detail, .. } => detail.clone(),
            ApiError::UnsupportedMediaType => "request bodies must be application/json".into(),
            ApiError::Validation { errors } => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("invalid fields: {}", fields.join(", "))
            }
            ApiError::Unauthorized { token_sent: false } => "a bearer token is required".into(),
            ApiError::Unauthorized { token_sent: true } => {
                "the bearer token is invalid or expired".into()
            }
            ApiError::InvalidCredentials => "invalid username or password".into(),
            ApiError::Forbidden => "the token does not grant access to this resource".into(),
            ApiError::TooManyRequests { retry_after } => {
                format!("too many attempts; retry after {retry_after} s")
            }
            ApiError::PreconditionFailed => {
                "If-Match does not match the current version; nothing was written".into()
            }
            ApiError::PreconditionRequired => "this resource requires If-Match on writes".into(),
            ApiError::Unavailable { .. } => "the database is unavailable; retry shortly".into(),
            ApiError::Panic { .. } | ApiError::Internal { .. } => "internal error".into(),
        }
    }

    /// The RFC 9457 problem document and the headers this error implies
    /// (`Allow`, `WWW-Authenticate`, `Retry-After`).
    pub fn into_response(self) -> Response {
        let status = self.status_code();
        let mut doc = Map::new();
        doc.insert("type".into(), Value::from("about:blank"));
        doc.insert("title".into(), Value::from(status.reason()));
        doc.insert("status".into(), Value::from(status.as_u16()));
        doc.insert("detail".into(), Value::from(self.detail()));
        match &self {
            ApiError::Validation { errors } => {
                let list: Vec<Value> = errors
                    .iter()
                    .map(|e| json!({"field": e.field, "message": e.message}))
                    .collect();
                doc.insert("errors".into(), Value::from(list));
            }
            ApiError::Conflict {
                field: Some(field), ..
            } => {
                doc.insert("field".into(), Value::from(field.as_str()));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&Value::Object(doc)).unwrap_or_default();
        let mut r = Response::new(status)
            .with_header("Content-Type", "application/problem+json")
            .with_body(Body::Bytes(body));
        match self {
            ApiError::Route(RouteError::MethodNotAllowed { allow }) => {
                r.insert_header("Allow", allow.to_allow_header());
            }
            ApiError::Unauthorized { token_sent } => r.insert_header(
                "WWW-Authenticate",
                if token_sent {
                    "Bearer error=\"invalid_token\""
                } else {
                    "Bearer"
                },
            ),
            ApiError::TooManyRequests { retry_after }
            | ApiError::Unavailable { retry_after, .. } => {
                r.insert_header("Retry-After", retry_after.to_string());
            }
            _ => {}
        }
        r
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status_code();
        match self.log_cause() {
            Some(cause) => write!(f, "{}: {cause}", status.as_u16()),
            None => write!(f, "{}: {}", status.as_u16(), self.detail()),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Parse(e) => Some(e),
            ApiError::Chunked(e) => Some(e),
            ApiError::Query(e) => Some(e),
            ApiError::Route(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        match e {
            ValidationErrors::NotObject { .. } => ApiError::BadRequest {
                detail: e.to_string(),
            },
            ValidationErrors::Invalid { errors } => ApiError::Validation { errors },
        }
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Conflict { field, .. } | BackendError::Constraint { field } => {
                let detail = match &field {
                    Some(f) => format!("the value of `{f}` conflicts with stored data"),
                    None => "the request conflicts with stored data".into(),
                };
                ApiError::Conflict { field, detail }
            }
            BackendError::Unavailable { .. } | BackendError::Busy | BackendError::Closed => {
                ApiError::Unavailable {
                    cause: e.to_string(),
                    retry_after: 1,
                }
            }
            BackendError::InvalidQuery { message } => ApiError::BadRequest { detail: message },
            BackendError::InvalidValue { field, reason } => ApiError::Validation {
                errors: vec![FieldError {
                    field: field.unwrap_or_default(),
                    message: reason,
                }],
            },
            other => ApiError::Internal {
                cause: other.to_string(),
            },
        }
    }
}

impl From<CrudError> for ApiError {
    fn from(e: CrudError) -> Self {
        match e {
            CrudError::NotFound => ApiError::not_found("no such row"),
            CrudError::PreconditionFailed => ApiError::PreconditionFailed,
            CrudError::PreconditionRequired => ApiError::PreconditionRequired,
            CrudError::VersionConflict { .. } => ApiError::Conflict {
                field: Some("version".into()),
                detail: e.to_string(),
            },
            CrudError::Conflict { ref field, .. } => ApiError::Conflict {
                field: field.clone(),
                detail: e.to_string(),
            },
            CrudError::InvalidQuery { message } => ApiError::BadRequest { detail: message },
            CrudError::MissingClaim { .. } => ApiError::Forbidden,
            CrudError::Backend { source } => source.into(),
            other => ApiError::Internal {
                cause: other.to_string(),
            },
        }
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError::Parse(e)
    }
}

impl From<ChunkedError> for ApiError {
    fn from(e: ChunkedError) -> Self {
        ApiError::Chunked(e)
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::Query(e)
    }
}

impl From<RouteError> for ApiError {
    fn from(e: RouteError) -> Self {
        ApiError::Route(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> Value {
        serde_json::from_slice(r.body().as_bytes()).unwrap()
    }

    #[test]
    fn status_table() {
        let cases: Vec<(ApiError, u16)> = vec![
            (ParseError::HeadTooLarge { limit: 1 }.into(), 431),
            (ParseError::TooManyHeaders { limit: 1 }.into(), 431),
            (ParseError::UriTooLong { limit: 1 }.into(), 414),
            (ParseError::BodyTooLarge { limit: 1 }.into(), 413),
            (ParseError::AmbiguousFraming { reason: "x" }.into(), 400),
            (ParseError::UnsupportedTransferCoding.into(), 501),
            (ChunkedError::BadSize.into(), 400),
            (ChunkedError::BodyTooLarge { limit: 1 }.into(), 413),
            (RouteError::NotFound.into(), 404),
            (ApiError::method_not_allowed(), 405),
            (ApiError::UnsupportedMediaType, 415),
            (ApiError::Validation { errors: vec![] }, 422),
            (ApiError::Unauthorized { token_sent: true }, 401),
            (ApiError::Forbidden, 403),
            (ApiError::PreconditionFailed, 412),
            (ApiError::PreconditionRequired, 428),
            (
                ApiError::Unavailable {
                    cause: "x".into(),
                    retry_after: 1,
                },
                503,
            ),
            (ApiError::Panic { cause: "x".into() }, 500),
        ];
        for (e, code) in cases {
            assert_eq!(e.status_code().as_u16(), code, "{e:?}");
        }
    }

    #[test]
    fn problem_document_shape() {
        let r = ApiError::Validation {
            errors: vec![
                FieldError {
                    field: "a".into(),
                    message: "required".into(),
                },
                FieldError {
                    field: "b".into(),
                    message: "not a boolean".into(),
                },
            ],
        }
        .into_response();
        let b = body(&r);
        assert_eq!(b["status"], 422);
        assert_eq!(b["title"], "Unprocessable Content");
        assert!(b["detail"].is_string());
        assert_eq!(b["errors"].as_array().unwrap().len(), 2);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let r = ApiError::internal("SELECT secret FROM users").into_response();
        let text = String::from_utf8_lossy(r.body().as_bytes()).to_string();
        assert!(!text.contains("SELECT"));
        assert_eq!(body(&r)["detail"], "internal error");
    }

    #[test]
    fn auth_headers() {
        let r = ApiError::Unauthorized { token_sent: false }.into_response();
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let r = ApiError::Unauthorized { token_sent: true }.into_response();
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        let r = ApiError::TooManyRequests { retry_after: 7 }.into_response();
        assert_eq!(r.header("retry-after"), Some("7"));
    }
}
