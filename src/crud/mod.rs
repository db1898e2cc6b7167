//! CRUD on models: validation of client JSON ([`validate`]), strong ETags
//! ([`etag`]) and the backend-agnostic operations ([`ops`]) the HTTP layer
//! calls.
//!
//! ```
//! use lightapi::backend::{connect, PoolOptions};
//! use lightapi::crud::{ops, validate};
//! use lightapi::model::{Field, Model};
//! use serde_json::json;
//!
//! let person = Model::new("person")
//!     .field("name", Field::text())
//!     .field("email", Field::text().unique())
//!     .field("email_verified", Field::boolean().default(false));
//! let db = connect("sqlite::memory:", &PoolOptions::default())?;
//! ops::ensure_table(&*db, &person)?;
//!
//! let row = validate::validate_create(&person, &json!({"name": "Ada", "email": "ada@example.com"}))?;
//! let created = ops::create(&*db, &person, row, None)?;
//! assert_eq!(created.fields["email_verified"], json!(false));
//!
//! let patch = validate::validate_patch(&person, &json!({"email_verified": true}))?;
//! let updated = ops::patch(&*db, &person, created.id, patch, ops::Precondition::IfMatch(vec![created.etag.clone()]), None)?;
//! assert_ne!(updated.etag, created.etag);
//! assert_eq!(updated.fields["email_verified"], json!(true));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod etag;
pub mod ops;
pub mod resource;
pub(crate) mod tables;
pub mod validate;

pub use crate::backend::sql::Scope;
pub use ops::{CrudError, Precondition, Record};
pub use resource::{Crud, Resource};
pub use validate::{FieldError, Row, ValidationErrors};
pub mod cursor;
pub mod query;
