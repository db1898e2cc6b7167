//! Hooks on a model's generated writes: application code that runs inside
//! the write's transaction, on its connection, before the row is created,
//! updated or deleted (seeing the current row and the new values, setting
//! values, adding field errors, or refusing), and after each write.
//!
//! ```
//! use lightapi::resource::{HookContext, HookError, Hooks};
//! use lightapi::{StatusCode, Value};
//!
//! let hooks = Hooks::new()
//!     .before_update(|ctx: &mut HookContext<'_>| {
//!         // Done tasks stay done.
//!         if ctx.current("status") == Some(&Value::Text("done".into()))
//!             && ctx.value("status").is_some_and(|s| *s != Value::Text("done".into()))
//!         {
//!             ctx.error("status", "a done task cannot be reopened");
//!         }
//!         Ok(())
//!     })
//!     .before_delete(|ctx: &mut HookContext<'_>| {
//!         if ctx.claims().is_some_and(|c| c.is_admin()) {
//!             Ok(())
//!         } else {
//!             Err(HookError::refuse(StatusCode::FORBIDDEN, "only admins delete tasks"))
//!         }
//!     });
//! assert!(hooks.has_before_update());
//! ```

use std::fmt;
use std::sync::Arc;

use crate::auth::Claims;
use crate::backend::{BackendError, Conn, Dialect, Value};
use crate::http::StatusCode;
use crate::model::{Key, Model};

use super::validate::FieldError;

/// The write a hook runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteKind {
    /// `POST` of one row.
    Create,
    /// `PUT` or `PATCH`.
    Update,
    /// `DELETE`.
    Delete,
}

/// Why a hook stops a write; everything the write (and the hook) wrote is
/// rolled back.
#[derive(Debug, Clone, PartialEq)]
pub enum HookError {
    /// A `422` listing these fields, as validation's.
    Invalid(Vec<FieldError>),
    /// Any other answer: its status and a client-facing detail.
    Refused {
        /// The status (4xx or 5xx).
        status: StatusCode,
        /// The problem document's `detail`.
        detail: String,
    },
    /// A database error of the hook's own statements.
    Backend(BackendError),
}

impl HookError {
    /// Refuses the write with `status` (a `4xx` or `5xx`) and `detail`.
    pub fn refuse(status: StatusCode, detail: &str) -> HookError {
        HookError::Refused {
            status,
            detail: detail.to_owned(),
        }
    }

    /// As a backend error, so the write's transaction rolls back.
    pub(crate) fn into_backend(self) -> BackendError {
        match self {
            HookError::Invalid(errors) => BackendError::Refused {
                status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
                detail: String::new(),
                fields: errors.into_iter().map(|e| (e.field, e.message)).collect(),
            },
            HookError::Refused { status, detail } => BackendError::Refused {
                status: if status.as_u16() >= 400 {
                    status.as_u16()
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR.as_u16()
                },
                detail,
                fields: Vec::new(),
            },
            HookError::Backend(e) => e,
        }
    }
}

impl From<BackendError> for HookError {
    fn from(e: BackendError) -> HookError {
        HookError::Backend(e)
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookError::Invalid(errors) => write!(f, "{} invalid field(s)", errors.len()),
            HookError::Refused { status, detail } => write!(f, "{}: {detail}", status.as_u16()),
            HookError::Backend(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for HookError {}

/// A hook: runs with the write's context; `Err` stops the write.
pub type Hook = Arc<dyn Fn(&mut HookContext<'_>) -> Result<(), HookError> + Send + Sync>;

/// The hooks of one model's generated writes (see
/// [`Resource::hooks`](crate::resource::Resource::hooks)).
#[derive(Clone, Default)]
pub struct Hooks {
    before_create: Option<Hook>,
    before_update: Option<Hook>,
    before_delete: Option<Hook>,
    after_write: Option<Hook>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("before_create", &self.before_create.is_some())
            .field("before_update", &self.before_update.is_some())
            .field("before_delete", &self.before_delete.is_some())
            .field("after_write", &self.after_write.is_some())
            .finish()
    }
}

impl Hooks {
    /// No hooks.
    pub fn new() -> Hooks {
        Hooks::default()
    }

    /// Runs before a row is inserted, with the validated new values (it
    /// may change them with [`HookContext::set`]).
    #[must_use]
    pub fn before_create(
        mut self,
        f: impl Fn(&mut HookContext<'_>) -> Result<(), HookError> + Send + Sync + 'static,
    ) -> Hooks {
        self.before_create = Some(Arc::new(f));
        self
    }

    /// Runs before a row is updated, once the row is found, locked and its
    /// preconditions met: with the current row ([`HookContext::current`])
    /// and the values being written.
    #[must_use]
    pub fn before_update(
        mut self,
        f: impl Fn(&mut HookContext<'_>) -> Result<(), HookError> + Send + Sync + 'static,
    ) -> Hooks {
        self.before_update = Some(Arc::new(f));
        self
    }

    /// Runs before a row is deleted, once it is found, locked and its
    /// preconditions met, with the current row.
    #[must_use]
    pub fn before_delete(
        mut self,
        f: impl Fn(&mut HookContext<'_>) -> Result<(), HookError> + Send + Sync + 'static,
    ) -> Hooks {
        self.before_delete = Some(Arc::new(f));
        self
    }

    /// Runs after each write, in its transaction: with the stored row
    /// ([`HookContext::stored`]; for a delete, the row as it was).
    #[must_use]
    pub fn after_write(
        mut self,
        f: impl Fn(&mut HookContext<'_>) -> Result<(), HookError> + Send + Sync + 'static,
    ) -> Hooks {
        self.after_write = Some(Arc::new(f));
        self
    }

    /// Whether a hook runs before creates.
    pub fn has_before_create(&self) -> bool {
        self.before_create.is_some()
    }

    /// Whether a hook runs before updates.
    pub fn has_before_update(&self) -> bool {
        self.before_update.is_some()
    }

    /// Whether a hook runs before deletes.
    pub fn has_before_delete(&self) -> bool {
        self.before_delete.is_some()
    }

    /// Whether a hook runs after writes.
    pub fn has_after_write(&self) -> bool {
        self.after_write.is_some()
    }

    /// Whether any hook runs for `kind`.
    pub(crate) fn any_for(&self, kind: WriteKind) -> bool {
        self.after_write.is_some()
            || match kind {
                WriteKind::Create => self.before_create.is_some(),
                WriteKind::Update => self.before_update.is_some(),
                WriteKind::Delete => self.before_delete.is_some(),
            }
    }

    /// Runs the `before` hook of `kind`, if any, on `values`.
    pub(crate) fn before(
        &self,
        kind: WriteKind,
        ctx: HookInputs<'_>,
        values: &mut Vec<(String, Value)>,
    ) -> Result<(), BackendError> {
        let hook = match kind {
            WriteKind::Create => &self.before_create,
            WriteKind::Update => &self.before_update,
            WriteKind::Delete => &self.before_delete,
        };
        match hook {
            Some(h) => run(h, kind, ctx, values, None),
            None => Ok(()),
        }
    }

    /// Runs the `after_write` hook, if any, with the stored row.
    pub(crate) fn after(
        &self,
        kind: WriteKind,
        ctx: HookInputs<'_>,
        stored: &[Value],
    ) -> Result<(), BackendError> {
        match &self.after_write {
            Some(h) => run(h, kind, ctx, &mut Vec::new(), Some(stored)),
            None => Ok(()),
        }
    }
}

/// What a hook runs with besides the values.
pub(crate) struct HookInputs<'a> {
    pub(crate) dialect: Dialect,
    pub(crate) conn: &'a mut dyn Conn,
    pub(crate) model: &'a Model,
    pub(crate) claims: Option<&'a Claims>,
    pub(crate) current: Option<&'a [Value]>,
}

fn run(
    hook: &Hook,
    kind: WriteKind,
    inputs: HookInputs<'_>,
    values: &mut Vec<(String, Value)>,
    stored: Option<&[Value]>,
) -> Result<(), BackendError> {
    let columns: Vec<&str> = crate::backend::sql::select_columns(inputs.model)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let mut ctx = HookContext {
        kind,
        dialect: inputs.dialect,
        conn: inputs.conn,
        model: inputs.model,
        claims: inputs.claims,
        columns,
        current: inputs.current,
        stored,
        values,
        errors: Vec::new(),
    };
    hook(&mut ctx).map_err(HookError::into_backend)?;
    if ctx.errors.is_empty() {
        Ok(())
    } else {
        Err(HookError::Invalid(ctx.errors).into_backend())
    }
}

/// What a hook sees and may change.
pub struct HookContext<'a> {
    kind: WriteKind,
    dialect: Dialect,
    conn: &'a mut dyn Conn,
    model: &'a Model,
    claims: Option<&'a Claims>,
    columns: Vec<&'a str>,
    current: Option<&'a [Value]>,
    stored: Option<&'a [Value]>,
    values: &'a mut Vec<(String, Value)>,
    errors: Vec<FieldError>,
}

impl fmt::Debug for HookContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookContext")
            .field("kind", &self.kind)
            .field("model", &self.model.name())
            .field("values", &self.values)
            .finish()
    }
}

impl HookContext<'_> {
    /// The write this hook runs for.
    pub fn kind(&self) -> WriteKind {
        self.kind
    }

    /// The model.
    pub fn model(&self) -> &Model {
        self.model
    }

    /// The database's SQL dialect, for statements a hook writes
    /// ([`Dialect::placeholder`], [`Dialect::quote`]).
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The write's connection, inside its transaction: what a hook writes
    /// commits or rolls back with the row.
    pub fn conn(&mut self) -> &mut dyn Conn {
        self.conn
    }

    /// The caller's verified claims (none on a public route).
    pub fn claims(&self) -> Option<&Claims> {
        self.claims
    }

    /// A column of the row as stored before this update or delete (the
    /// key, fields, `version`); `None` on create or for an unknown column.
    pub fn current(&self, column: &str) -> Option<&Value> {
        let i = self.columns.iter().position(|c| *c == column)?;
        self.current?.get(i)
    }

    /// A column of the row as stored by this write (in `after_write`; for a
    /// delete, the row as it was).
    pub fn stored(&self, column: &str) -> Option<&Value> {
        let i = self.columns.iter().position(|c| *c == column)?;
        self.stored?.get(i)
    }

    /// The key of the row: as stored by this write (in `after_write`), as
    /// stored before this update or delete, or as this create sets it (a
    /// text or uuid key, in `before_create`; an integer key is not known
    /// before the row is stored).
    pub fn key(&self) -> Option<Key> {
        self.stored
            .or(self.current)
            .and_then(|row| row.first())
            .and_then(Key::from_value)
            .or_else(|| {
                self.value(self.model.key_column())
                    .and_then(Key::from_value)
            })
    }

    /// A value this write sets (in a `before` hook of a create or update).
    pub fn value(&self, field: &str) -> Option<&Value> {
        self.values.iter().find(|(c, _)| c == field).map(|(_, v)| v)
    }

    /// Sets a field's value in the row being written (in a `before` hook),
    /// converted and checked as a client's value would be.
    ///
    /// # Errors
    /// [`HookError::Refused`] (500) for a field the model lacks or a value
    /// of the wrong type: a mistake of the hook, not of the client.
    pub fn set(&mut self, field: &str, value: serde_json::Value) -> Result<(), HookError> {
        if field == self.model.key_column()
            && (self.kind != WriteKind::Create || self.model.has_generated_key())
        {
            return Err(HookError::refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "a hook set the key, which only a create may give",
            ));
        }
        let declared = self.model.field_named(field).ok_or_else(|| {
            HookError::refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "a hook set a field the model does not have",
            )
        })?;
        let value = declared.to_value(&value).map_err(|_| {
            HookError::refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "a hook set a value of the wrong type",
            )
        })?;
        match self.values.iter_mut().find(|(c, _)| c == field) {
            Some(slot) => slot.1 = value,
            None => self.values.push((field.to_owned(), value)),
        }
        Ok(())
    }

    /// Adds a field error: the write is answered `422` with every error
    /// added, once the hook returns.
    pub fn error(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        });
    }
}
