//! A model's stored columns: the order every statement reads a row back in,
//! and the check that a column named by a caller belongs to the model.

use crate::backend::BackendError;
use crate::model::{Field, FieldType, Model, ID_COLUMN, VERSION_COLUMN};

/// The stored columns of a model, in order: the key (`id` or the declared
/// key), the other fields, then `version` for a versioned model.
///
/// ```
/// use lightapi::__private::backend::sql::select_columns;
/// use lightapi::model::{Field, Model};
/// let m = Model::new("t").field("a", Field::text()).versioned();
/// let cols: Vec<_> = select_columns(&m).into_iter().map(|(n, _)| n).collect();
/// assert_eq!(cols, ["id", "a", "version"]);
/// ```
pub fn select_columns(model: &Model) -> Vec<(&str, FieldType)> {
    let mut cols = Vec::with_capacity(model.fields().len() + 2);
    cols.push((model.key_column(), model.key_type()));
    for (name, field) in model.fields() {
        cols.push((name.as_str(), field.field_type()));
    }
    if model.is_versioned() {
        cols.push((VERSION_COLUMN, FieldType::Integer));
    }
    cols
}

/// The model's field named `name` (the declared key included); `None` for
/// the implicit `id`, and for `version` of a versioned model.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] when the model has no such column.
pub(super) fn check_column<'m>(
    model: &'m Model,
    name: &str,
) -> Result<Option<&'m Field>, BackendError> {
    if (name == ID_COLUMN && !model.has_declared_key())
        || (model.is_versioned() && name == VERSION_COLUMN)
    {
        return Ok(None);
    }
    model
        .field_named(name)
        .map(Some)
        .ok_or_else(|| BackendError::InvalidQuery {
            message: format!("unknown field `{name}`"),
        })
}
