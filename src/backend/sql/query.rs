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
    /// Where rows whose value is `NULL` go.
    pub nulls: Nulls,
}

impl Order {
    /// Ascending on `field`, `NULL` as the smallest value.
    pub fn asc(field: &str) -> Order {
        Order {
            field: field.to_owned(),
            descending: false,
            nulls: Nulls::Smallest,
        }
    }

    /// The same rows in the opposite order.
    pub fn reversed(&self) -> Order {
        Order {
            field: self.field.clone(),
            descending: !self.descending,
            nulls: match self.nulls {
                Nulls::Smallest => Nulls::Smallest,
                Nulls::First => Nulls::Last,
                Nulls::Last => Nulls::First,
            },
        }
    }

    /// Whether `NULL` compares as smaller than every value for this key
    /// (first when ascending, last when descending).
    pub fn nulls_smallest(&self) -> bool {
        match self.nulls {
            Nulls::Smallest => true,
            Nulls::First => !self.descending,
            Nulls::Last => self.descending,
        }
    }

    /// Parses one key: `field`, `-field` (descending), either followed by
    /// `.nullsfirst` or `.nullslast`.
    ///
    /// ```
    /// use lightapi::__private::backend::sql::{Nulls, Order};
    /// let o = Order::parse("-due.nullslast").unwrap();
    /// assert_eq!((o.field.as_str(), o.descending, o.nulls), ("due", true, Nulls::Last));
    /// assert!(Order::parse("due.nullsmiddle").is_err());
    /// ```
    ///
    /// # Errors
    /// A message naming an unknown modifier.
    pub fn parse(key: &str) -> Result<Order, String> {
        let (key, descending) = match key.strip_prefix('-') {
            Some(f) => (f, true),
            None => (key, false),
        };
        let (field, nulls) = match key.split_once('.') {
            None => (key, Nulls::Smallest),
            Some((f, "nullsfirst")) => (f, Nulls::First),
            Some((f, "nullslast")) => (f, Nulls::Last),
            Some((_, other)) => {
                return Err(format!(
                    "unknown modifier `.{other}` (use .nullsfirst or .nullslast)"
                ))
            }
        };
        Ok(Order {
            field: field.to_owned(),
            descending,
            nulls,
        })
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(&self.field)?;
        match self.nulls {
            Nulls::Smallest => Ok(()),
            Nulls::First => f.write_str(".nullsfirst"),
            Nulls::Last => f.write_str(".nullslast"),
        }
    }
}

/// Where an ordering key puts rows whose value is `NULL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nulls {
    /// As the smallest value: first ascending, last descending (the default).
    #[default]
    Smallest,
    /// Before every value, in either direction (`.nullsfirst`).
    First,
    /// After every value, in either direction (`.nullslast`).
    Last,
}

/// A keyset position: the ordering values and id of the last row seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// One value per [`ListQuery::order`] key (before the `id` tiebreak).
    pub values: Vec<Value>,
    /// The key of the last row seen.
    pub id: crate::model::Key,
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
///     order: vec![Order::asc("name")],
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
