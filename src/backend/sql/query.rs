//! What a statement is asked to do, independent of the dialect: the row
//! [`Scope`] and a list request ([`ListQuery`]: filters, ordering, page and
//! keyset position).

use crate::backend::Value;

/// Row scoping: `column = value` is added to every statement's `WHERE`.
///
/// ```
/// use lightapi::__private::backend::sql::Scope;
/// use lightapi::backend::Value;
/// let s = Scope { column: "owner_id".into(), value: Value::Text("alice".into()) };
/// # assert_eq!(s.column, "owner_id");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// The scoped column (the model's [`crate::model::ScopeRule::column`]).
    pub column: String,
    /// The value it must equal (the caller's claim).
    pub value: Value,
}

/// A comparison in a list query's `WHERE`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FilterOp {
    /// `= value`
    Eq(Value),
    /// `<> value`
    Ne(Value),
    /// `< value`
    Lt(Value),
    /// `<= value`
    Lte(Value),
    /// `> value`
    Gt(Value),
    /// `>= value`
    Gte(Value),
    /// `IN (values…)`; an empty list matches nothing.
    In(Vec<Value>),
    /// `IS NULL` (`true`) or `IS NOT NULL` (`false`).
    IsNull(bool),
    /// Case-insensitive substring (text fields); `%` and `_` match literally.
    Contains(String),
    /// Any of these filters (`OR`); the enclosing [`Filter::field`] is
    /// ignored.
    Any(Vec<Filter>),
}

/// One filter of a [`ListQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// A field of the model (or `id`).
    pub field: String,
    /// The comparison.
    pub op: FilterOp,
}

/// One ordering key of a [`ListQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// A field of the model (or `id`).
    pub field: String,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// A keyset position: the ordering values and id of the last row seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// One value per [`ListQuery::order`] key (before the `id` tiebreak).
    pub values: Vec<Value>,
    /// The id of the last row seen.
    pub id: i64,
}

/// What a list request asks for. Ordering always ends with an ascending `id`
/// tiebreak (unless `id` is already an ordering key), so pages are stable.
/// `NULL` sorts before every value in ascending order on every dialect.
///
/// ```
/// use lightapi::__private::backend::sql::{Filter, FilterOp, ListQuery, Order};
/// use lightapi::backend::Value;
/// let q = ListQuery {
///     filters: vec![Filter { field: "age".into(), op: FilterOp::Gte(Value::Integer(18)) }],
///     order: vec![Order { field: "name".into(), descending: false }],
///     limit: Some(20),
///     ..ListQuery::default()
/// };
/// # assert_eq!(q.offset, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// Filters, combined with `AND`.
    pub filters: Vec<Filter>,
    /// Ordering keys, most significant first.
    pub order: Vec<Order>,
    /// Most rows returned.
    pub limit: Option<u64>,
    /// Rows skipped.
    pub offset: u64,
    /// Only rows after this keyset position (in the query's ordering).
    pub after: Option<Keyset>,
}
