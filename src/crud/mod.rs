//! Operations on models, written once over [`Backend`](crate::backend::Backend):
//! client JSON to typed rows ([`validate`]), the list query grammar
//! ([`query`]), the table of each model ([`schema`], [`tables`]), the
//! create/read/update/delete operations with their preconditions ([`ops`]),
//! bulk creates and upserts in one transaction (`bulk`),
//! keyset paging ([`keyset`], [`cursor`]) and strong ETags ([`etag`]). No
//! HTTP here: the generated routes (`resource`) turn requests into these
//! calls and their results into responses.

pub(crate) mod bulk;
pub mod cursor;
mod error;
pub mod etag;
pub mod hooks;
pub(crate) mod images;
pub(crate) mod keyset;
pub mod ops;
pub mod query;
pub(crate) mod relations;
pub mod schema;
pub(crate) mod tables;
pub mod validate;

pub use error::CrudError;
pub use query::QueryParamError;
pub use validate::{FieldError, ItemError, Row, ValidationErrors};
