//! Keyset paging: one page of rows after (or before) a signed cursor
//! position in an ordering, with the cursors of the neighbouring pages.
//! The HTTP layer only renders the tokens as links.

use serde_json::Value as Json;

use super::cursor::{CursorKey, Position};
use super::error::CrudError;
use super::ops::{self, Planned, Stored};
use crate::backend::sql::{Filter, Keyset, ListQuery, Order, Scope};
use crate::backend::Dialect;
use crate::model::{Model, Value};

/// A page of rows and the cursor tokens of the pages around it.
#[derive(Debug)]
pub(crate) struct KeysetPage {
    /// The rows, in the requested order.
    pub(crate) rows: Vec<Stored>,
    /// The cursor of the next page, if there is one.
    pub(crate) next: Option<String>,
    /// The cursor of the previous page, if there is one.
    pub(crate) previous: Option<String>,
    /// Reading stopped at the byte budget with rows left unread: the page
    /// holds fewer rows than asked for.
    pub(crate) capped: bool,
    /// What makes the cursors of this page's ordering.
    cursors: Cursors,
}

impl KeysetPage {
    /// Ends the page after its first `keep` rows (at least one), with a
    /// `next` cursor that continues right after the last row kept.
    pub(crate) fn cut(&mut self, model: &Model, keep: usize) {
        if keep.max(1) >= self.rows.len() {
            return;
        }
        self.rows.truncate(keep.max(1));
        self.next = self.rows.last().map(|r| self.cursors.at(model, r, false));
    }
}

/// The cursors of one ordering of one model under one key.
#[derive(Debug)]
struct Cursors {
    key: CursorKey,
    signature: String,
    /// The ordering keys with the `id` tiebreak.
    order: Vec<Order>,
}

impl Cursors {
    /// The cursor of the page after `r` (before it when `backwards`).
    fn at(&self, model: &Model, r: &Stored, backwards: bool) -> String {
        let values = self
            .order
            .iter()
            .map(|o| {
                if o.field == model.key_column() {
                    r.id.to_json()
                } else {
                    column_of(model, &o.field)
                        .and_then(|i| r.values.get(i))
                        .map_or(Json::Null, Value::to_json)
                }
            })
            .collect();
        self.key.encode(
            model.name(),
            &self.signature,
            &Position {
                values,
                id: r.id.clone(),
                backwards,
            },
        )
    }
}

/// What one keyset page is asked for.
pub(crate) struct KeysetRequest<'a> {
    pub(crate) filters: &'a [Filter],
    /// The ordering keys without the `id` tiebreak.
    pub(crate) order: &'a [Order],
    /// The cursor as sent (`None`: the first page).
    pub(crate) token: Option<&'a str>,
    pub(crate) size: u64,
    pub(crate) scope: Option<&'a Scope>,
    /// Column bytes after which reading the rows stops.
    pub(crate) max_bytes: usize,
}

/// Plans the page `request` asks for.
///
/// # Errors
/// [`CrudError::InvalidCursor`] for a cursor this server did not make for
/// this ordering; the finished result: a backend error.
pub(crate) fn plan_page(
    d: Dialect,
    model: &Model,
    key: &CursorKey,
    request: &KeysetRequest<'_>,
) -> Result<Planned<KeysetPage>, CrudError> {
    let mut order = request.order.to_vec();
    if !order.iter().any(|o| o.field == model.key_column()) {
        order.push(Order::asc(model.key_column()));
    }
    let signature: Vec<String> = order.iter().map(Order::to_string).collect();
    let signature = signature.join(",");
    let position = request
        .token
        .map(|t| key.decode(model.name(), &signature, t))
        .transpose()
        .map_err(|_| CrudError::InvalidCursor)?;
    let backwards = position.as_ref().is_some_and(|p| p.backwards);
    let after = match &position {
        None => None,
        Some(p) => {
            if p.values.len() != order.len() {
                return Err(CrudError::InvalidCursor);
            }
            let mut values = Vec::with_capacity(order.len());
            for (o, v) in order.iter().zip(&p.values) {
                values.push(typed(model, &o.field, v).ok_or(CrudError::InvalidCursor)?);
            }
            // The key must be of the model's key type.
            if p.id.as_int().is_some() != model.has_generated_key() {
                return Err(CrudError::InvalidCursor);
            }
            Some(Keyset {
                values,
                id: p.id.clone(),
            })
        }
    };
    let query_order: Vec<Order> = if backwards {
        order.iter().map(Order::reversed).collect()
    } else {
        order.clone()
    };
    let query = ListQuery {
        filters: request.filters.to_vec(),
        order: query_order,
        limit: Some(request.size.saturating_add(1)),
        offset: 0,
        after,
    };
    let shape = PageShape {
        size: request.size,
        backwards,
        after_a_position: position.is_some(),
    };
    let cursors = Cursors {
        key: key.clone(),
        signature,
        order,
    };
    let planned = ops::plan_list(d, model, &query, request.scope, false, request.max_bytes)?;
    Ok(planned
        .map(move |model, (rows, _, capped)| Ok(page_of(model, rows, capped, &shape, cursors))))
}

/// What a page of rows needs to become a [`KeysetPage`].
struct PageShape {
    size: u64,
    /// Whether the rows were read backwards (a `previous` page).
    backwards: bool,
    /// Whether the page starts after a cursor position (not the first).
    after_a_position: bool,
}

/// The rows read for a page (one more than the page holds, to see whether
/// there is a next one; fewer when `capped` by the byte budget) as the
/// page with its neighbours' cursors.
fn page_of(
    model: &Model,
    mut rows: Vec<Stored>,
    capped: bool,
    shape: &PageShape,
    cursors: Cursors,
) -> KeysetPage {
    let PageShape {
        size,
        backwards,
        after_a_position,
    } = *shape;
    let more = rows.len() as u64 > size || capped;
    rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    if backwards {
        rows.reverse();
    }
    let (has_next, has_previous) = if backwards {
        (true, more)
    } else {
        (more, after_a_position)
    };
    let next = rows
        .last()
        .filter(|_| has_next)
        .map(|r| cursors.at(model, r, false));
    let previous = rows
        .first()
        .filter(|_| has_previous)
        .map(|r| cursors.at(model, r, true));
    KeysetPage {
        rows,
        next,
        previous,
        capped,
        cursors,
    }
}

/// The position of `field` among a stored row's values.
fn column_of(model: &Model, field: &str) -> Option<usize> {
    if field == model.key_column() {
        return Some(0);
    }
    model
        .fields()
        .iter()
        .position(|(n, _)| n == field)
        .map(|i| i + 1)
}

/// A cursor value back in its column's type.
fn typed(model: &Model, field: &str, v: &Json) -> Option<Value> {
    match model.field_named(field) {
        Some(f) => f.to_value(v).ok(),
        None => v.as_i64().map(Value::Integer),
    }
}
