//! Why a model operation failed.

use std::fmt;

use crate::backend::{BackendError, ConflictKind};
use crate::model::Key;

/// An error from a CRUD operation.
///
/// ```
/// use lightapi::error::CrudError;
/// use lightapi::model::Key;
/// let e = CrudError::NotFound { model: "person".into(), key: "id".into(), id: Key::Int(7) };
/// assert_eq!(e.to_string(), "no person with id 7");
/// let e = CrudError::NotFound { model: "thing".into(), key: "code".into(), id: Key::from("abc") };
/// assert_eq!(e.to_string(), "no thing with code \"abc\"");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CrudError {
    /// No row with that key (within the caller's scope) — HTTP 404.
    NotFound {
        /// The model.
        model: String,
        /// The model's key column.
        key: String,
        /// The key asked for.
        id: Key,
    },
    /// `If-Match` did not match the current row; nothing written — HTTP 412.
    PreconditionFailed,
    /// The model requires `If-Match` and none was given — HTTP 428.
    PreconditionRequired,
    /// The body's `version` is not the current one; nothing written — HTTP 409.
    VersionConflict {
        /// The current version.
        current: i64,
    },
    /// A unique or foreign-key constraint failed — HTTP 409.
    Conflict {
        /// The column, when known.
        field: Option<String>,
        /// Which constraint.
        kind: ConflictKind,
    },
    /// A foreign key naming no row the caller could read in the referenced
    /// model (missing, or in another owner's scope: the two are not told
    /// apart) — HTTP 422 on the field.
    UnknownReference {
        /// The foreign-key field.
        field: String,
        /// The referenced table.
        table: String,
        /// The referenced table's key column.
        key: String,
        /// The key sent.
        id: Key,
    },
    /// The row to delete is still referenced by a foreign key; nothing
    /// deleted — HTTP 409.
    Referenced {
        /// The model of the row.
        model: String,
        /// The row's key.
        id: Key,
        /// The referencing table, when known.
        by: Option<String>,
    },
    /// The model restricts writes (see
    /// [`Model::restrict_writes`](crate::model::Model::restrict_writes)) and
    /// the row's column does not hold the caller's claim; nothing written —
    /// HTTP 403.
    WriteRefused {
        /// The rule's column.
        column: String,
    },
    /// A keyset cursor this server did not make for this ordering — HTTP 400.
    InvalidCursor,
    /// A list query the model does not allow — HTTP 400.
    InvalidQuery {
        /// Client-safe description.
        message: String,
    },
    /// The scope claim is missing from the token or unusable — HTTP 403.
    MissingClaim {
        /// The claim name.
        claim: String,
    },
    /// A scoped model was used without its scope (or with another column):
    /// a server bug, refused rather than leaking rows — HTTP 500.
    ScopeMismatch {
        /// The model.
        model: String,
    },
    /// A non-null read-only field had no value on create: the server must
    /// set it — HTTP 500.
    MissingValue {
        /// The field.
        field: String,
    },
    /// The existing table does not match the model (start-up).
    Schema {
        /// Which table and column, and how.
        message: String,
    },
    /// An array body (a bulk write) with more items than allowed; nothing
    /// written — HTTP 413.
    TooManyItems {
        /// The most items allowed.
        max: usize,
        /// The items sent.
        given: usize,
    },
    /// An array body (a bulk write) with no item — HTTP 422.
    NoItems,
    /// One item of a bulk write failed, so the whole write was rolled
    /// back — the status of `source`.
    Item {
        /// The item's position in the array, from 0.
        index: usize,
        /// Why it failed.
        source: Box<CrudError>,
    },
    /// Any other backend failure (503 for `Unavailable`/`Busy`, else 500).
    Backend {
        /// The backend error.
        source: BackendError,
    },
}

impl fmt::Display for CrudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrudError::NotFound { model, key, id } => write!(f, "no {model} with {key} {id}"),
            CrudError::PreconditionFailed => f.write_str("the row has changed (etag mismatch)"),
            CrudError::PreconditionRequired => f.write_str("this resource requires if-match"),
            CrudError::VersionConflict { current } => {
                write!(f, "version conflict: the current version is {current}")
            }
            CrudError::Conflict {
                field: Some(field),
                kind: ConflictKind::Unique,
            } => write!(f, "a row with this `{field}` already exists"),
            CrudError::Conflict {
                field: Some(field),
                kind: ConflictKind::Referenced,
            } => write!(f, "the row is still referenced by rows of `{field}`"),
            CrudError::Conflict {
                field: Some(field), ..
            } => write!(f, "`{field}` references a row that does not exist"),
            CrudError::Conflict { field: None, kind } => match kind {
                ConflictKind::Unique => f.write_str("a row with these values already exists"),
                ConflictKind::Referenced => f.write_str("the row is still referenced"),
                _ => f.write_str("a referenced row does not exist"),
            },
            CrudError::UnknownReference {
                field,
                table,
                key,
                id,
            } => {
                write!(f, "`{field}`: no {table} with {key} {id}")
            }
            CrudError::Referenced {
                model,
                id,
                by: Some(by),
            } => write!(f, "{model} {id} is still referenced by rows of `{by}`"),
            CrudError::Referenced {
                model,
                id,
                by: None,
            } => {
                write!(f, "{model} {id} is still referenced by other rows")
            }
            CrudError::WriteRefused { column } => write!(
                f,
                "only the caller named by the row's `{column}` may change it"
            ),
            CrudError::InvalidCursor => {
                f.write_str("query parameter `cursor`: invalid or altered cursor")
            }
            CrudError::InvalidQuery { message } => write!(f, "invalid query: {message}"),
            CrudError::MissingClaim { claim } => {
                write!(f, "the token has no usable `{claim}` claim")
            }
            CrudError::ScopeMismatch { model } => {
                write!(f, "model `{model}` was used without its row scope")
            }
            CrudError::MissingValue { field } => {
                write!(f, "no value for read-only field `{field}`")
            }
            CrudError::Schema { message } => write!(f, "schema mismatch: {message}"),
            CrudError::TooManyItems { max, given } => write!(
                f,
                "at most {max} items may be written in one request, got {given}"
            ),
            CrudError::NoItems => f.write_str("the array holds no item to write"),
            CrudError::Item { index, source } => write!(f, "item {index}: {source}"),
            CrudError::Backend { source } => fmt::Display::fmt(source, f),
        }
    }
}

impl std::error::Error for CrudError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CrudError::Backend { source } => Some(source),
            CrudError::Item { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

impl From<BackendError> for CrudError {
    fn from(e: BackendError) -> CrudError {
        match e {
            BackendError::Conflict { field, kind } => CrudError::Conflict { field, kind },
            BackendError::InvalidQuery { message } => CrudError::InvalidQuery { message },
            BackendError::Schema { message } => CrudError::Schema { message },
            source => CrudError::Backend { source },
        }
    }
}
