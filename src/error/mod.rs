//! The one place where errors become HTTP: [`ApiError`] wraps every layer's
//! error whole (its `source()` kept), and only [`ApiError::status_code`]
//! and the problem document's `detail` choose the status and the text, so
//! one failure reads the same from every route. [`StartError`] is what
//! start-up reports.
//!
//! Layer errors know nothing about HTTP. Causes of `500`s and `503`s are
//! kept for the log and never sent.

mod start;

use std::borrow::Cow;
use std::fmt;

use serde_json::{json, Map, Value};

pub use crate::auth::AuthError;
pub use crate::backend::{BackendError, ConflictKind};
pub use crate::config::ConfigError;
pub use crate::cors::CorsError;
pub use crate::crud::{CrudError, FieldError, QueryParamError, ValidationErrors};
pub use crate::http::{BodyError, ChunkedError, ParseError, QueryError};
pub use crate::model::ModelError;
pub use crate::ratelimit::RateLimitError;
pub use crate::router::{PatternError, RouteError};
pub use start::StartError;

use crate::crud::validate::MAX_LISTED_FIELD_ERRORS;
use crate::http::{Body, MethodSet, Response, StatusCode};

/// What a cause is kept as for the log.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    /// The body is not the JSON a handler expected.
    Body(BodyError),
    /// The query string does not decode.
    Query(QueryError),
    /// No route, or the method is not allowed.
    Route(RouteError),
    /// Authentication or authorisation refused the caller.
    Auth(AuthError),
    /// A rate limit refused the request.
    RateLimit(RateLimitError),
    /// A body that failed validation.
    Validation(ValidationErrors),
    /// A list query parameter that cannot be used.
    ListQuery(QueryParamError),
    /// A model operation failed.
    Crud(CrudError),
    /// The database failed or refused.
    Backend(BackendError),
    /// Any status with a detail, chosen by a handler.
    Status {
        /// The status.
        status: StatusCode,
        /// Shown to the client.
        detail: String,
    },
    /// A handler's own failure (`500`); the cause is logged, never sent.
    Internal {
        /// The cause, for the log only.
        source: BoxError,
    },
    /// A handler panicked (`500`).
    Panic {
        /// The panic message, for the log only.
        cause: String,
    },
}

impl ApiError {
    /// `404` with a detail.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::status(StatusCode::NOT_FOUND, detail)
    }

    /// `400` with a detail.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::status(StatusCode::BAD_REQUEST, detail)
    }

    /// Any status with a detail.
    pub fn status(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError::Status {
            status,
            detail: detail.into(),
        }
    }

    /// `500`, keeping the cause for the log.
    ///
    /// ```
    /// let e = lightapi::ApiError::internal("the ledger is closed");
    /// assert_eq!(e.status_code().as_u16(), 500);
    /// ```
    pub fn internal(cause: impl Into<BoxError>) -> ApiError {
        ApiError::Internal {
            source: cause.into(),
        }
    }

    /// `422` listing bad fields.
    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        ApiError::Validation(ValidationErrors::Invalid { errors })
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
            ApiError::Body(BodyError::UnsupportedMediaType) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Chunked(_)
            | ApiError::Body(_)
            | ApiError::Query(_)
            | ApiError::ListQuery(_)
            | ApiError::Validation(ValidationErrors::NotObject { .. }) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Route(RouteError::NotFound) => StatusCode::NOT_FOUND,
            ApiError::Route(RouteError::MethodNotAllowed { .. }) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Auth(e) => match e {
                AuthError::Forbidden => StatusCode::FORBIDDEN,
                AuthError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            },
            ApiError::RateLimit(RateLimitError::TooManyRequests { .. }) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::RateLimit(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Crud(e) => crud_status(e),
            ApiError::Backend(e) => backend_status(e),
            ApiError::Status { status, .. } => *status,
            ApiError::Internal { .. } | ApiError::Panic { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the connection must close after this error: every refusal of
    /// the request framing, since the next request's start is unknown.
    pub fn must_close(&self) -> bool {
        matches!(self, ApiError::Parse(_) | ApiError::Chunked(_))
    }

    /// The cause to log for a failure that is the server's (a `5xx`).
    pub fn log_cause(&self) -> Option<String> {
        match self {
            ApiError::Panic { cause } => Some(cause.clone()),
            ApiError::Internal { source } => Some(source.to_string()),
            ApiError::Crud(e) if crud_status(e).as_u16() >= 500 => Some(e.to_string()),
            ApiError::Backend(e) if backend_status(e).as_u16() >= 500 => Some(e.to_string()),
            _ => None,
        }
    }

    /// The problem document's human `detail`.
    pub fn detail(&self) -> String {
        if self.status_code().as_u16() == 500 {
            return "internal error".into();
        }
        match self {
            ApiError::Parse(e) => e.to_string(),
            ApiError::Chunked(e) => e.to_string(),
            ApiError::Body(e) => e.to_string(),
            ApiError::Query(e) => format!("the query string does not decode: {e}"),
            ApiError::Route(RouteError::NotFound) => "no resource at this path".into(),
            ApiError::Route(RouteError::MethodNotAllowed { .. }) => {
                "this method is not allowed on this resource".into()
            }
            ApiError::Auth(e) => e.to_string(),
            ApiError::RateLimit(e) => e.to_string(),
            ApiError::Validation(ValidationErrors::Invalid { errors }) => {
                fields_detail(errors.len())
            }
            ApiError::Validation(ValidationErrors::Items { errors }) => items_detail(errors),
            ApiError::Validation(e) => e.to_string(),
            ApiError::ListQuery(e) => e.to_string(),
            ApiError::Crud(CrudError::Backend { source }) | ApiError::Backend(source) => {
                backend_detail(source)
            }
            ApiError::Crud(CrudError::Item { index, source }) => {
                let inner = ApiError::Crud((**source).clone()).detail();
                format!("item {index}: {inner}; nothing was written")
            }
            ApiError::Crud(e) => crud_detail(e),
            ApiError::Status { detail, .. } => detail.clone(),
            ApiError::Internal { .. } | ApiError::Panic { .. } => "internal error".into(),
        }
    }

    /// The bad fields a `422` lists.
    fn field_errors(&self) -> Option<Cow<'_, [FieldError]>> {
        match self {
            ApiError::Validation(ValidationErrors::Invalid { errors }) => {
                Some(Cow::Borrowed(errors))
            }
            ApiError::Crud(CrudError::Backend {
                source: BackendError::InvalidValue { field, reason },
            })
            | ApiError::Backend(BackendError::InvalidValue { field, reason }) => {
                Some(Cow::Owned(vec![FieldError {
                    field: field.clone().unwrap_or_default(),
                    message: reason.clone(),
                }]))
            }
            ApiError::Crud(CrudError::Backend {
                source: BackendError::Refused { fields, .. },
            })
            | ApiError::Backend(BackendError::Refused { fields, .. })
                if !fields.is_empty() =>
            {
                Some(Cow::Owned(
                    fields
                        .iter()
                        .take(MAX_LISTED_FIELD_ERRORS)
                        .map(|(field, message)| FieldError {
                            field: field.clone(),
                            message: message.clone(),
                        })
                        .collect(),
                ))
            }
            ApiError::Crud(CrudError::UnknownReference {
                field,
                table,
                key,
                id,
            }) => Some(Cow::Owned(vec![FieldError {
                field: field.clone(),
                message: format!("no {table} with {key} {id}"),
            }])),
            _ => None,
        }
    }

    /// The field a `409` is about, when known.
    fn conflict_field(&self) -> Option<&str> {
        match self {
            // There the conflict's `field` is the referencing table.
            ApiError::Crud(CrudError::Conflict {
                kind: ConflictKind::Referenced,
                ..
            })
            | ApiError::Crud(CrudError::Backend {
                source:
                    BackendError::Conflict {
                        kind: ConflictKind::Referenced,
                        ..
                    },
            })
            | ApiError::Backend(BackendError::Conflict {
                kind: ConflictKind::Referenced,
                ..
            }) => None,
            ApiError::Crud(CrudError::Conflict { field, .. })
            | ApiError::Crud(CrudError::Backend {
                source: BackendError::Conflict { field, .. } | BackendError::Constraint { field },
            })
            | ApiError::Backend(
                BackendError::Conflict { field, .. } | BackendError::Constraint { field },
            ) => field.as_deref(),
            ApiError::Crud(CrudError::VersionConflict { .. }) => Some("version"),
            _ => None,
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
        // One item of a bulk write: the item's own error, each entry and
        // the document naming the item's index.
        let (index, item) = match &self {
            ApiError::Crud(CrudError::Item { index, source }) => {
                (Some(*index), Some(ApiError::Crud((**source).clone())))
            }
            _ => (None, None),
        };
        let subject = item.as_ref().unwrap_or(&self);
        let entry = |index: Option<usize>, e: &FieldError| match index {
            Some(i) => json!({"index": i, "field": e.field, "message": e.message}),
            None => json!({"field": e.field, "message": e.message}),
        };
        let listed: Option<(Vec<Value>, usize)> = match &self {
            ApiError::Validation(ValidationErrors::Items { errors }) => Some((
                errors
                    .iter()
                    .take(MAX_LISTED_FIELD_ERRORS)
                    .map(|e| entry(Some(e.index), &e.error))
                    .collect(),
                errors.len(),
            )),
            _ => subject.field_errors().map(|errors| {
                let list = errors
                    .iter()
                    .take(MAX_LISTED_FIELD_ERRORS)
                    .map(|e| entry(index, e))
                    .collect();
                (list, errors.len())
            }),
        };
        if let Some((list, total)) = listed {
            doc.insert("errors".into(), Value::from(list));
            let left_out = total.saturating_sub(MAX_LISTED_FIELD_ERRORS);
            if left_out > 0 {
                doc.insert("truncated".into(), Value::from(left_out));
            }
        }
        if let Some(i) = index {
            doc.insert("index".into(), Value::from(i));
        }
        if status == StatusCode::CONFLICT {
            if let Some(field) = subject.conflict_field() {
                doc.insert("field".into(), Value::from(field));
            }
        }
        let body = serde_json::to_vec(&Value::Object(doc)).unwrap_or_default();
        // An error describes one moment: no cache keeps it (404 and 405
        // are otherwise cacheable by default).
        let mut r = Response::new(status)
            .with_header("Content-Type", "application/problem+json")
            .with_header("Cache-Control", "no-store")
            .with_body(Body::Bytes(body));
        match &self {
            ApiError::Route(RouteError::MethodNotAllowed { allow }) => {
                r.insert_header("Allow", allow.to_allow_header());
            }
            ApiError::Auth(AuthError::MissingToken) => {
                r.insert_header("WWW-Authenticate", "Bearer")
            }
            ApiError::Auth(AuthError::InvalidToken { .. }) => {
                r.insert_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
            }
            ApiError::Auth(AuthError::TooManyAttempts { retry_after })
            | ApiError::RateLimit(RateLimitError::TooManyRequests { retry_after, .. }) => {
                r.insert_header("Retry-After", retry_after.to_string());
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                r.insert_header("Retry-After", "1");
            }
            _ => {}
        }
        r
    }
}

fn crud_status(e: &CrudError) -> StatusCode {
    match e {
        CrudError::NotFound { .. } => StatusCode::NOT_FOUND,
        CrudError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        CrudError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
        CrudError::VersionConflict { .. }
        | CrudError::Conflict { .. }
        | CrudError::Referenced { .. } => StatusCode::CONFLICT,
        CrudError::InvalidCursor | CrudError::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
        CrudError::MissingClaim { .. } | CrudError::WriteRefused { .. } => StatusCode::FORBIDDEN,
        CrudError::UnknownReference { .. } | CrudError::NoItems => StatusCode::UNPROCESSABLE_ENTITY,
        CrudError::TooManyItems { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        CrudError::Item { source, .. } => crud_status(source),
        CrudError::Backend { source } => backend_status(source),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn backend_status(e: &BackendError) -> StatusCode {
    match e {
        BackendError::Conflict { .. } | BackendError::Constraint { .. } => StatusCode::CONFLICT,
        BackendError::InvalidValue { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        BackendError::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
        BackendError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        BackendError::Refused { status, .. } => StatusCode::from_u16(*status)
            .filter(|s| s.as_u16() >= 400)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        BackendError::Unavailable { .. }
        | BackendError::Tls { .. }
        | BackendError::Busy
        | BackendError::Closed
        | BackendError::Interrupted => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn crud_detail(e: &CrudError) -> String {
    match e {
        CrudError::PreconditionFailed => {
            "If-Match does not match the current version; nothing was written".into()
        }
        CrudError::PreconditionRequired => "this resource requires If-Match on writes".into(),
        CrudError::MissingClaim { .. } => AuthError::Forbidden.to_string(),
        CrudError::InvalidQuery { message } => message.clone(),
        CrudError::UnknownReference { .. } => fields_detail(1),
        e => e.to_string(),
    }
}

fn backend_detail(e: &BackendError) -> String {
    match e {
        BackendError::Conflict { field, kind } => CrudError::Conflict {
            field: field.clone(),
            kind: *kind,
        }
        .to_string(),
        BackendError::Constraint { field: Some(f) } => {
            format!("the value of `{f}` conflicts with stored data")
        }
        BackendError::Constraint { field: None } => "the request conflicts with stored data".into(),
        BackendError::InvalidValue { .. } => fields_detail(1),
        BackendError::InvalidQuery { message } => message.clone(),
        BackendError::Refused { fields, .. } if !fields.is_empty() => fields_detail(fields.len()),
        BackendError::Refused { status, detail, .. } if detail.is_empty() => {
            StatusCode::from_u16(*status).map_or("refused", |s| s.reason()).to_lowercase()
        }
        BackendError::Refused { detail, .. } => detail.clone(),
        BackendError::TimedOut => {
            "the database query ran past its time limit and was stopped; narrow the request or retry later".into()
        }
        BackendError::Unavailable { .. }
        | BackendError::Tls { .. }
        | BackendError::Busy
        | BackendError::Closed
        | BackendError::Interrupted => "the database is unavailable; retry shortly".into(),
        _ => "internal error".into(),
    }
}

/// The detail of a `422` on the items of an array body: how many fields of
/// how many items are bad.
fn items_detail(errors: &[crate::crud::ItemError]) -> String {
    let mut items: Vec<usize> = errors.iter().map(|e| e.index).collect();
    items.dedup();
    let fields = fields_detail(errors.len());
    match items.len() {
        1 => format!("{fields} in 1 item; nothing was written"),
        n => format!("{fields} in {n} items; nothing was written"),
    }
}

/// The detail of a `422`: how many fields are bad, not which (the
/// `errors` array names each once), and whether all are listed.
fn fields_detail(count: usize) -> String {
    match count {
        1 => "1 invalid field".into(),
        n if n > MAX_LISTED_FIELD_ERRORS => {
            format!("{n} invalid fields; the first {MAX_LISTED_FIELD_ERRORS} are listed")
        }
        n => format!("{n} invalid fields"),
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
            ApiError::Body(e) => Some(e),
            ApiError::Query(e) => Some(e),
            ApiError::Route(e) => Some(e),
            ApiError::Auth(e) => Some(e),
            ApiError::RateLimit(e) => Some(e),
            ApiError::Validation(e) => Some(e),
            ApiError::ListQuery(e) => Some(e),
            ApiError::Crud(e) => Some(e),
            ApiError::Backend(e) => Some(e),
            ApiError::Internal { source } => Some(&**source),
            ApiError::Status { .. } | ApiError::Panic { .. } => None,
        }
    }
}

macro_rules! wrap {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for ApiError {
            fn from(e: $ty) -> Self {
                ApiError::$variant(e)
            }
        })*
    };
}

wrap! {
    ParseError => Parse,
    ChunkedError => Chunked,
    BodyError => Body,
    QueryError => Query,
    RouteError => Route,
    AuthError => Auth,
    RateLimitError => RateLimit,
    ValidationErrors => Validation,
    QueryParamError => ListQuery,
    CrudError => Crud,
    BackendError => Backend,
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
            (BodyError::UnsupportedMediaType.into(), 415),
            (BodyError::Empty.into(), 400),
            (RouteError::NotFound.into(), 404),
            (
                RateLimitError::TooManyRequests {
                    policy: "p".into(),
                    retry_after: 3,
                }
                .into(),
                429,
            ),
            (RateLimitError::Unavailable.into(), 503),
            (ApiError::method_not_allowed(), 405),
            (ApiError::validation(vec![]), 422),
            (
                ValidationErrors::NotObject { found: "an array" }.into(),
                400,
            ),
            (AuthError::InvalidToken { source: None }.into(), 401),
            (AuthError::MissingToken.into(), 401),
            (AuthError::InvalidCredentials.into(), 401),
            (AuthError::Forbidden.into(), 403),
            (AuthError::TooManyAttempts { retry_after: 1 }.into(), 429),
            (CrudError::PreconditionFailed.into(), 412),
            (CrudError::PreconditionRequired.into(), 428),
            (
                CrudError::NotFound {
                    model: "t".into(),
                    key: "id".into(),
                    id: crate::model::Key::Int(1),
                }
                .into(),
                404,
            ),
            (CrudError::VersionConflict { current: 2 }.into(), 409),
            (
                CrudError::UnknownReference {
                    field: "account_id".into(),
                    table: "account".into(),
                    key: "id".into(),
                    id: crate::model::Key::Int(7),
                }
                .into(),
                422,
            ),
            (CrudError::InvalidCursor.into(), 400),
            (
                CrudError::MissingClaim {
                    claim: "sub".into(),
                }
                .into(),
                403,
            ),
            (BackendError::Unavailable { cause: "x".into() }.into(), 503),
            (BackendError::Tls { cause: "x".into() }.into(), 503),
            (BackendError::Busy.into(), 503),
            (BackendError::Internal { cause: "x".into() }.into(), 500),
            (ApiError::Panic { cause: "x".into() }, 500),
        ];
        for (e, code) in cases {
            assert_eq!(e.status_code().as_u16(), code, "{e:?}");
        }
    }

    #[test]
    fn bulk_errors_name_their_items() {
        use crate::crud::ItemError;
        let field = |f: &str| FieldError {
            field: f.into(),
            message: "bad".into(),
        };
        let e = ApiError::from(ValidationErrors::Items {
            errors: vec![
                ItemError {
                    index: 0,
                    error: field("a"),
                },
                ItemError {
                    index: 3,
                    error: field("b"),
                },
                ItemError {
                    index: 3,
                    error: field("c"),
                },
            ],
        });
        assert_eq!(e.status_code().as_u16(), 422);
        let doc = body(&e.into_response());
        assert_eq!(
            doc["errors"],
            json!([
                {"index": 0, "field": "a", "message": "bad"},
                {"index": 3, "field": "b", "message": "bad"},
                {"index": 3, "field": "c", "message": "bad"},
            ])
        );
        assert_eq!(
            doc["detail"],
            "3 invalid fields in 2 items; nothing was written"
        );
        // One item's conflict: its status, its field, and its index.
        let e = ApiError::from(CrudError::Item {
            index: 5,
            source: Box::new(CrudError::Conflict {
                field: Some("email".into()),
                kind: ConflictKind::Unique,
            }),
        });
        assert_eq!(e.status_code().as_u16(), 409);
        let doc = body(&e.into_response());
        assert_eq!(doc["index"], 5);
        assert_eq!(doc["field"], "email");
        assert_eq!(
            doc["detail"],
            "item 5: a row with this `email` already exists; nothing was written"
        );
        // One item's unknown reference lists the field with the index.
        let e = ApiError::from(CrudError::Item {
            index: 2,
            source: Box::new(CrudError::UnknownReference {
                field: "owner_id".into(),
                table: "owner".into(),
                key: "id".into(),
                id: crate::model::Key::Int(9),
            }),
        });
        let doc = body(&e.into_response());
        assert_eq!(
            doc["errors"],
            json!([{"index": 2, "field": "owner_id", "message": "no owner with id 9"}])
        );
        let too_many = ApiError::from(CrudError::TooManyItems { max: 10, given: 11 });
        assert_eq!(too_many.status_code().as_u16(), 413);
        assert!(too_many.detail().contains("at most 10"));
        assert_eq!(
            ApiError::from(CrudError::NoItems).status_code().as_u16(),
            422
        );
        // A single object's errors keep their shape, with no index.
        let doc = body(&ApiError::validation(vec![field("a")]).into_response());
        assert_eq!(doc["errors"], json!([{"field": "a", "message": "bad"}]));
        assert!(doc.get("index").is_none());
    }

    #[test]
    fn one_violation_reads_the_same_from_every_layer() {
        let backend = BackendError::Conflict {
            field: Some("email".into()),
            kind: ConflictKind::Unique,
        };
        let from_backend = ApiError::from(backend.clone());
        let from_crud = ApiError::from(CrudError::from(backend));
        assert_eq!(from_backend.detail(), from_crud.detail());
        assert_eq!(
            from_backend.detail(),
            "a row with this `email` already exists"
        );
        let (a, b) = (from_backend.into_response(), from_crud.into_response());
        assert_eq!(body(&a), body(&b));
        assert_eq!(body(&a)["field"], "email");
    }

    #[test]
    fn causes_are_kept_as_sources() {
        use std::error::Error as _;
        let e = ApiError::from(CrudError::from(BackendError::Internal {
            cause: "disk full".into(),
        }));
        assert!(e.source().is_some());
        assert_eq!(e.log_cause().as_deref(), Some("database error: disk full"));
        assert_eq!(e.detail(), "internal error");
    }

    #[test]
    fn problem_document_shape() {
        let r = ApiError::validation(vec![
            FieldError {
                field: "a".into(),
                message: "required".into(),
            },
            FieldError {
                field: "b".into(),
                message: "not a boolean".into(),
            },
        ])
        .into_response();
        let b = body(&r);
        assert_eq!(b["status"], 422);
        assert_eq!(b["title"], "Unprocessable Content");
        assert_eq!(b["detail"], "2 invalid fields");
        assert_eq!(b["errors"].as_array().unwrap().len(), 2);
        assert!(b.get("truncated").is_none());
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }

    #[test]
    fn long_field_lists_are_capped_and_name_each_field_once() {
        let n = MAX_LISTED_FIELD_ERRORS + 25;
        let errors: Vec<FieldError> = (0..n)
            .map(|i| FieldError {
                field: format!("unknown_key_{i}"),
                message: "unknown field".into(),
            })
            .collect();
        let e = ApiError::validation(errors);
        let r = e.into_response();
        let b = body(&r);
        assert_eq!(
            b["errors"].as_array().unwrap().len(),
            MAX_LISTED_FIELD_ERRORS
        );
        assert_eq!(b["truncated"], 25);
        assert_eq!(
            b["detail"],
            format!("{n} invalid fields; the first {MAX_LISTED_FIELD_ERRORS} are listed")
        );
        let text = String::from_utf8_lossy(r.body().as_bytes()).to_string();
        assert_eq!(text.matches("\"unknown_key_0\"").count(), 1);
        assert!(!text.contains(&format!("unknown_key_{MAX_LISTED_FIELD_ERRORS}\"")));
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
        let r = ApiError::from(AuthError::MissingToken).into_response();
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let r = ApiError::from(AuthError::InvalidToken { source: None }).into_response();
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        let r = ApiError::from(AuthError::TooManyAttempts { retry_after: 7 }).into_response();
        assert_eq!(r.header("retry-after"), Some("7"));
        let r = ApiError::from(BackendError::Closed).into_response();
        assert_eq!(r.header("retry-after"), Some("1"));
    }
}
